"""The fault suite: what a user can get wrong or have go wrong, through the command line and the examples.

Every case asserts the exit status, the one line that explains it (no traceback, no ANSI colours, no advice
to disable ``weights_only``) and that no existing file changed (contents and mtimes of the whole folder, no
file added). The world is tiny (n = 8, a width-2 HAMNO) and built once: a run trained from its parent folder
with relative paths, exactly the situation in which a checkpoint's data path used to depend on the folder
``evaluate`` ran in.

Kill/resume: the trainer-level exact resume is tested in tests/test_training.py, the generator's in
tests/test_dataset.py and the export's in tests/test_export.py; here the same interruptions go through the
command line and an example script (exit status 130, one line, the rerun continues to the uninterrupted result).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_runs import tiny_run_toml

from fem.schemes import preset
from pihamno.cli import main
from pihamno.data import DatasetSpec, generate, load_trajectories


# ----------------------------------------------------------------------------- helpers
def cli(capsys, *argv) -> tuple[int, str, str]:
    """``pihamno ARGV``: (exit status, stdout, stderr); argparse's own exits are caught too."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str, *words: str) -> str:
    """``err`` is exactly one plain line holding every word (returned for more checks)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "\x1b" not in err and "Traceback" not in err and "weights_only" not in err, err
    for w in words:
        assert w in err, (w, err)
    return lines[0]


def snapshot(root: Path) -> dict:
    """Every file under ``root``: (mtime in ns, sha256 of the content)."""
    return {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Datasets, one trained run (made from ``base`` with relative paths) and an evaluation of it."""
    base = tmp_path_factory.mktemp("faults")
    ac = preset("ac")
    specs = {"ac": DatasetSpec(params=ac, n=8, frames=8, trajectories=6, seed=1),
             "ch": DatasetSpec(params=preset("ch"), n=8, frames=8, trajectories=2),
             "ac_n12": DatasetSpec(params=ac, n=12, frames=8, trajectories=2),
             "ac_L3": DatasetSpec(params=preset("ac", L=3.0), n=8, frames=8, trajectories=2),
             "ac_ood": DatasetSpec(params=ac, n=8, frames=8, trajectories=2, ic_family="sphere")}
    for name, spec in specs.items():
        generate(spec, base / "data" / f"{name}.h5", progress=False)
    (base / "run.toml").write_text(tiny_run_toml("data/ac.h5", "run", epochs=1))
    (base / "elsewhere").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(base)
        assert main(["train", "--config", "run.toml", "--quiet"]) == 0
        assert main(["evaluate", "--checkpoint", "run/best.pt", "--data", "data/ac.h5", "--out", "run/eval",
                     "--quiet"]) == 0
    return base


@pytest.fixture
def elsewhere(world, monkeypatch):
    """Run the case from another folder than the one training ran in."""
    monkeypatch.chdir(world / "elsewhere")
    return world


# ----------------------------------------------------------------------------- evaluate scores the right data
def test_evaluate_scores_the_test_split_from_any_folder(world, elsewhere, capsys, tmp_path):
    split = torch.load(world / "run" / "best.pt", weights_only=True)["split"]
    here = json.loads((world / "run" / "eval" / "metrics.json").read_text())
    before = snapshot(world)
    # absolute paths from another folder, and no --data at all: the run record finds the data
    for extra in (["--data", world / "data" / "ac.h5"], []):
        out = tmp_path / f"ev{len(extra)}"
        code, text, err = cli(capsys, "evaluate", "--checkpoint", world / "run" / "best.pt", *extra, "--out", out)
        assert code == 0, err
        m = json.loads((out / "metrics.json").read_text())
        assert m["trajectories"] == split["test"] == here["trajectories"] and m["selection"] == "test"
        assert m["rollout"]["rel_l2_final"]["mean"] == pytest.approx(here["rollout"]["rel_l2_final"]["mean"])
        assert m["scored"]["training_data"] and m["scored"]["seen_in_training"] == 0
        assert "held out for testing" in text.splitlines()[0] and "held out for testing" in err
    assert snapshot(world) == before
    # another dataset is scored whole, and said to be another dataset
    code, text, _ = cli(capsys, "evaluate", "--checkpoint", world / "run" / "best.pt", "--data",
                        world / "data" / "ac_ood.h5", "--out", tmp_path / "ood", "--quiet")
    m = json.loads((tmp_path / "ood" / "metrics.json").read_text())
    assert code == 0 and m["trajectories"] == [0, 1] and not m["scored"]["training_data"]
    assert "not the training data" in text


def test_scoring_seen_trajectories_needs_a_flag_and_is_labelled(world, capsys, tmp_path):
    ckpt, data = world / "run" / "best.pt", world / "data" / "ac.h5"
    before = snapshot(world)
    for spec in ("all", "train", "val"):
        code, _, err = cli(capsys, "evaluate", "--checkpoint", ckpt, "--data", data, "--trajectories", spec,
                           "--out", tmp_path / spec)
        assert code == 2
        one_line(err, "which the model saw in training", "--include-training")
        assert not (tmp_path / spec).exists()
    code, _, err = cli(capsys, "evaluate", "--checkpoint", ckpt, "--data", world / "data" / "ac_ood.h5",
                       "--trajectories", "test", "--out", tmp_path / "t")
    assert code == 2
    one_line(err, "not the data the checkpoint was trained on")
    assert snapshot(world) == before
    code, text, _ = cli(capsys, "evaluate", "--checkpoint", ckpt, "--data", data, "--trajectories", "all",
                        "--include-training", "--out", tmp_path / "all", "--quiet")
    m = json.loads((tmp_path / "all" / "metrics.json").read_text())
    assert code == 0 and m["trajectories"] == list(range(6)) and m["scored"]["seen_in_training"] == 4
    assert m["scored"]["train"] == 3 and m["scored"]["val"] == 1 and "INCLUDING 3 training" in text


@pytest.mark.parametrize("name, words", [
    ("ch", ["pde 'ch' (the training data: 'ac')", "eps 0.05", "--allow-mismatch"]),
    ("ac_n12", ["n 12 (the training data: 8)"]),
    ("ac_L3", ["L 3 (the training data: 2)"]),
])
def test_mismatched_data_are_refused(world, capsys, tmp_path, name, words):
    before = snapshot(world)
    code, _, err = cli(capsys, "evaluate", "--checkpoint", world / "run" / "best.pt", "--data",
                       world / "data" / f"{name}.h5", "--out", tmp_path / "ev")
    assert code == 2
    one_line(err, "does not fit the data", *words)
    assert snapshot(world) == before and not (tmp_path / "ev").exists()


def test_allow_mismatch_evaluates_and_records_it(world, capsys, tmp_path):
    code, text, err = cli(capsys, "evaluate", "--checkpoint", world / "run" / "best.pt", "--data",
                          world / "data" / "ac_n12.h5", "--out", tmp_path / "sr", "--allow-mismatch", "--quiet")
    assert code == 0
    m = json.loads((tmp_path / "sr" / "metrics.json").read_text())
    assert m["data_check"] == {"same_as_training": False, "mismatch": ["n 12 (the training data: 8)"],
                               "allow_mismatch": True}
    assert np.isfinite(m["rollout"]["rel_l2_final"]["mean"]) and "--allow-mismatch" in text
    one_line(err, "do not fit the training data")  # the one warning


def test_a_bare_model_checkpoint_is_evaluated_with_a_note(world, capsys, tmp_path):
    from pihamno.models.checkpoint import load_checkpoint, save_checkpoint

    model, _ = load_checkpoint(world / "run" / "best.pt")
    save_checkpoint(tmp_path / "bare.pt", model, T_in=5)
    code, _, err = cli(capsys, "evaluate", "--checkpoint", tmp_path / "bare.pt", "--out", tmp_path / "a")
    assert code == 2
    one_line(err, "records no training data; pass --data FILE")
    code, _, err = cli(capsys, "evaluate", "--checkpoint", tmp_path / "bare.pt", "--data", world / "data" / "ac.h5",
                       "--out", tmp_path / "b", "--quiet")
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert code == 0 and m["selection"] == "all" and "compatibility not checked" in m["data_check"]["note"]
    one_line(err, "records no training data")


# ----------------------------------------------------------------------------- evaluate never overwrites
def test_evaluate_refuses_an_existing_output(world, capsys, tmp_path):
    ckpt, out = world / "run" / "best.pt", world / "run" / "eval"
    before = snapshot(world)
    code, _, err = cli(capsys, "evaluate", "--checkpoint", ckpt, "--out", out, "--trajectories", "test")
    assert code == 2
    one_line(err, "already exists; pass --overwrite")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.tex").write_text("precious")
    code, _, err = cli(capsys, "evaluate", "--checkpoint", ckpt, "--out", tmp_path / "thesis", "--overwrite")
    assert code == 2
    one_line(err, "holds no metrics.json file; refusing to replace")
    assert (tmp_path / "thesis" / "thesis.tex").read_text() == "precious"
    code, _, err = cli(capsys, "evaluate", "--checkpoint", ckpt, "--out", out, "--batch-size", "-1")
    assert code == 2  # checked before any work, however the output stands
    assert snapshot(world) == before
    # --overwrite replaces an earlier evaluation, as a whole
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "metrics.json").write_text("{}")
    (tmp_path / "ev" / "stale.csv").write_text("old")
    assert cli(capsys, "evaluate", "--checkpoint", ckpt, "--out", tmp_path / "ev", "--overwrite", "--quiet")[0] == 0
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == ["metrics.json", "per_frame.csv", "rollout.h5"]


def test_an_interrupted_evaluation_leaves_no_output(world, capsys, tmp_path, monkeypatch):
    import pihamno.evaluation.evaluate as ev

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ev, "rollout", killed)
    before = snapshot(world)
    code, _, err = cli(capsys, "evaluate", "--checkpoint", world / "run" / "best.pt", "--out", tmp_path / "ev",
                       "--quiet")
    assert code == 130
    one_line(err, "interrupted")
    assert list(tmp_path.iterdir()) == [] and snapshot(world) == before


# ----------------------------------------------------------------------------- unreadable checkpoints
def _pickled(path):
    torch.save({"model_name": "hamno", "hook": print}, path)


@pytest.mark.parametrize("name, make, words", [
    ("truncated.pt", None, ["damaged or truncated"]),
    ("notes.pt", lambda p: p.write_text("hello"), ["not a PyTorch checkpoint"]),
    ("pickled.pt", _pickled, ["holds pickled Python objects (print)", "never loads"]),
    ("empty.pt", lambda p: p.write_bytes(b""), ["is empty"]),
    ("plain.pt", lambda p: torch.save({"w": torch.zeros(2)}, p), ["not a pihamno model checkpoint"]),
])
def test_unreadable_checkpoints_are_one_plain_line(world, capsys, tmp_path, name, make, words):
    path = tmp_path / name
    if make is None:
        path.write_bytes((world / "run" / "best.pt").read_bytes()[:3000])
    else:
        make(path)
    before = snapshot(world) | snapshot(tmp_path)
    code, _, err = cli(capsys, "evaluate", "--checkpoint", path, "--out", tmp_path / "ev")
    assert code == 2
    one_line(err, *words)
    if name != "plain.pt":  # a dict without a format is not a training checkpoint either
        code, _, err = cli(capsys, "train", "--resume", path)
        assert code == 2
        one_line(err, *words)
    assert snapshot(world) | snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- train: resume from anywhere
@pytest.fixture
def fresh_run(world, tmp_path):
    """A run trained in a project folder (relative paths) that was then moved: its old absolute data path is
    gone, the data beside it is found through the path relative to the run folder."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree(world / "data", project / "data")
    shutil.copy(world / "run.toml", project / "run.toml")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        assert main(["train", "--config", "run.toml", "--quiet"]) == 0
    moved = tmp_path / "moved"
    project.rename(moved)
    return moved


def test_resume_works_from_any_folder_and_a_finished_run_is_left_alone(world, fresh_run, elsewhere, capsys):
    run = fresh_run / "run"
    code, text, err = cli(capsys, "train", "--resume", run, "--epochs", "2")
    assert code == 0, err
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 2
    assert f"data {fresh_run / 'data' / 'ac.h5'}" in err  # beside the moved run, found by the run record
    assert not (world / "elsewhere" / "run").exists() and list((world / "elsewhere").iterdir()) == []
    # finished: nothing is trained or written, and no "last loss nan"
    before = snapshot(fresh_run)
    code, text, err = cli(capsys, "train", "--resume", run, "--epochs", "2")
    assert code == 0
    line = one_line(text, "nothing to train", "finished 2 of optim.epochs = 2", "--epochs N")
    assert "nan" not in line and "last epoch's loss" in line
    assert snapshot(fresh_run) == before


def test_resume_refuses_other_data(fresh_run, capsys):
    before = snapshot(fresh_run)
    code, _, err = cli(capsys, "train", "--resume", fresh_run / "run", "--epochs", "2", "--quiet", "--data",
                       fresh_run / "data" / "ac_ood.h5")
    assert code == 2
    one_line(err, "cannot resume", "is not the data this run was trained on", "ic_family")
    assert snapshot(fresh_run) == before


def test_killed_training_resumes_to_the_uninterrupted_run(tmp_path, capsys, monkeypatch):
    from pihamno.training.trainer import Trainer

    data = generate(DatasetSpec(params=preset("ac"), n=8, frames=8, trajectories=6, seed=1), tmp_path / "d.h5",
                    progress=False)
    for folder in ("full", "killed"):
        (tmp_path / f"{folder}.toml").write_text(tiny_run_toml(data, tmp_path / folder, epochs=3))
    assert cli(capsys, "train", "--config", tmp_path / "full.toml", "--quiet")[0] == 0
    real_save = Trainer._save

    def save_then_die(self, name):
        real_save(self, name)
        if name == "last.pt" and self.epoch == 2:
            raise KeyboardInterrupt  # killed right after epoch 2's checkpoint

    monkeypatch.setattr(Trainer, "_save", save_then_die)
    code, _, err = cli(capsys, "train", "--config", tmp_path / "killed.toml", "--quiet")
    assert code == 130
    one_line(err, "interrupted")
    monkeypatch.setattr(Trainer, "_save", real_save)
    code, _, err = cli(capsys, "train", "--config", tmp_path / "killed.toml", "--quiet")  # no --resume: refused
    assert code == 2
    one_line(err, "already holds last.pt; pass --resume")
    # the same command with --auto-resume continues it (what torchrun --max-restarts or a requeued job runs)
    assert cli(capsys, "train", "--config", tmp_path / "killed.toml", "--quiet", "--auto-resume")[0] == 0
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "killed" / "last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and on a fresh folder it starts; combined with --resume or --overwrite it is refused
    (tmp_path / "new.toml").write_text((tmp_path / "full.toml").read_text().replace(str(tmp_path / "full"),
                                                                                      str(tmp_path / "new")))
    assert cli(capsys, "train", "--config", tmp_path / "new.toml", "--quiet", "--auto-resume")[0] == 0
    assert (tmp_path / "new" / "last.pt").is_file()
    code, _, err = cli(capsys, "train", "--config", tmp_path / "new.toml", "--auto-resume", "--overwrite")
    assert code == 2
    one_line(err, "--auto-resume decides by itself")


# ----------------------------------------------------------------------------- generate: kill, rerun, numbers
def test_killed_generate_resumes_to_the_uninterrupted_dataset(tmp_path, capsys, monkeypatch):
    import pihamno.data.dataset as dataset

    argv = ["generate", "--pde", "ac", "--n", "8", "--frames", "4", "--trajectories", "4", "--quiet"]
    assert cli(capsys, *argv, "--out", tmp_path / "clean.h5")[0] == 0
    (tmp_path / "keep.txt").write_text("unrelated")
    calls = []

    def dying(i):
        calls.append(i)
        if len(calls) == 2:
            raise KeyboardInterrupt

    real = dataset.generate
    monkeypatch.setattr(dataset, "generate", functools.partial(real, on_commit=dying))
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, *argv, "--out", tmp_path / "d.h5")
    assert code == 130
    one_line(err, "interrupted")
    assert not (tmp_path / "d.h5").exists() and (tmp_path / "d.h5.partial").exists()
    assert {p: v for p, v in snapshot(tmp_path).items() if p.name != "d.h5.partial"} == before
    monkeypatch.setattr(dataset, "generate", real)
    assert cli(capsys, *argv, "--out", tmp_path / "d.h5")[0] == 0
    np.testing.assert_array_equal(load_trajectories(tmp_path / "d.h5"), load_trajectories(tmp_path / "clean.h5"))


@pytest.mark.parametrize("argv, words", [
    (["generate", "--pde", "ac", "--dt", "-1e-3", "--out", "x.h5"], ["dt must be a positive number, got -0.001"]),
    (["generate", "--pde", "ac", "--eps", "-2.5E-2", "--out", "x.h5"], ["eps must be a positive number, got -0.025"]),
    (["generate", "--pde", "ac", "--frames", "-3", "--out", "x.h5"], ["frames must be an integer >= 2, got -3"]),
    (["generate", "--pde", "ac", "--out"], ["argument --out: expected one argument", "(see --help)"]),
    (["train", "--config", "ac_small", "--seed", "-1"], ["--seed must be a non-negative integer, got -1"]),
    (["train", "--config", "ac_small", "--epochs", "-1"], ["epochs must be positive, got -1"]),
    (["check-data", "data/ac.h5", "--max-trajectories", "-1"], ["--max-trajectories must be positive, got -1"]),
    (["render", "--rollout", "run/eval/rollout.h5", "--out", "figs", "--trajectory", "-1"],
     ["trajectory -1 is out of range", "(0 to 1)"]),
    (["export", "--rollout", "run/eval/rollout.h5", "--out", "vtk", "--trajectory", "-1"],
     ["trajectory -1 is out of range", "(0 to 1)"]),
    (["export", "--data", "data/ac.h5", "--out", "vtk", "--trajectory", "-2"], ["trajectory -2 is out of range", "(0 to 5)"]),
])
def test_negative_numbers_parse_and_are_refused_with_the_range(world, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(world)
    before = snapshot(world)
    code, _, err = cli(capsys, *argv)
    assert code == 2
    one_line(err, *words)
    assert snapshot(world) == before


# ----------------------------------------------------------------------------- quiet, tidy stderr, clean output
def test_quiet_long_verbs_print_nothing_on_stderr(world, capsys, tmp_path):
    rollout = world / "run" / "eval" / "rollout.h5"
    for argv in (["generate", "--pde", "ac", "--n", "8", "--frames", "3", "--out", tmp_path / "q.h5"],
                 ["check-data", world / "data" / "ch.h5"],
                 ["export", "--rollout", rollout, "--out", tmp_path / "vtk"],
                 ["render", "--rollout", rollout, "--out", tmp_path / "png", "--what", "curves,training"]):
        code, out, err = cli(capsys, *argv, "--quiet")
        assert code == 0 and err == "", (argv, err)
    assert out == "" and {p.name for p in (tmp_path / "png").iterdir()} >= {"traj0_rel_l2.png", "training_curves.png"}
    # the ParaView times are frame * dt, written without float round-off
    pvd = (tmp_path / "vtk" / "rollout.pvd").read_text()
    assert 'timestep="0.0003"' in pvd and "00000000" not in pvd


def test_a_gmsh_mesh_loads_without_scikit_fem_noise(caplog):
    from fem.mesh import load_mesh

    mesh_file = Path(__file__).resolve().parents[1] / "meshes" / "cube_gmsh_h0.25_L2.msh"
    with caplog.at_level("DEBUG"):
        mesh = load_mesh(mesh_file)
    assert mesh.t.shape[1] > 1000 and mesh.t.flags["C_CONTIGUOUS"]
    assert not [r for r in caplog.records if "C_CONTIGUOUS" in r.getMessage()]


def test_render_draws_the_training_curves_of_a_run(world, capsys, tmp_path):
    code, out, _ = cli(capsys, "render", "--run", world / "run", "--out", tmp_path)
    assert code == 0 and (tmp_path / "training_curves.png").is_file() and "training_curves.png" in out
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "render", "--run", world / "run", "--out", tmp_path)
    assert code == 2
    one_line(err, "already exists; pass --overwrite")
    code, _, err = cli(capsys, "render", "--out", tmp_path)
    assert code == 2
    one_line(err, "needs --rollout FILE", "--run DIR")
    assert snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- the examples
def test_paper_scale_on_a_cpu_states_its_cost_and_asks_for_yes(tmp_path, capsys):
    from test_examples import run_example

    with pytest.raises(SystemExit) as exc:
        run_example("allen_cahn", "--scale", "paper", "--device", "cpu", "--out", str(tmp_path / "paper"))
    assert exc.value.code == 2
    line = one_line(capsys.readouterr().err, "--scale paper on the CPU takes about", "hours", "GB of disk", "--yes")
    assert "GPU" in line and not (tmp_path / "paper").exists()


@pytest.mark.slow
def test_killed_example_continues_and_keeps_what_was_finished(tmp_path, capsys, monkeypatch, caplog):
    from test_examples import run_example

    from pihamno.training.trainer import Trainer

    caplog.set_level("WARNING", logger="pihamno")  # as in a process of its own (earlier cases ran the CLI's logging)
    out = tmp_path / "ac"
    real_save = Trainer._save

    def save_then_die(self, name):
        real_save(self, name)
        if name == "last.pt" and "pihamno" in self.out.name:
            raise KeyboardInterrupt  # killed while training the second model

    monkeypatch.setattr(Trainer, "_save", save_then_die)
    assert run_example("allen_cahn", "--smoke", "--quiet", "--out", str(out)) == 130
    one_line(capsys.readouterr().err, "interrupted; run the same command again")
    finished = {p: v for p, v in snapshot(out).items() if "pihamno" not in p.relative_to(out).parts}
    monkeypatch.setattr(Trainer, "_save", real_save)
    assert run_example("allen_cahn", "--smoke", "--quiet", "--out", str(out)) == 0
    text = capsys.readouterr().out
    assert "reusing" in text and "loss nan" not in text
    assert all(snapshot(out)[p] == v for p, v in finished.items() if p.parent.name != "figures")
    assert (out / "figures" / "pihamno" / "training_curves.png").is_file()
    assert os.path.isfile(out / "summary.json")


# ----------------------------------------------------------------------------- generate: crashes, locks, sizes
GEN = ["generate", "--pde", "ac", "--n", "8", "--frames", "4", "--trajectories", "3", "--quiet"]


def test_a_damaged_partial_file_is_named_and_replaced_with_overwrite(tmp_path, capsys):
    """Issue 20 item 1: a partial file truncated by a crash was 'in use by another process' forever (the check
    matched 'sblock' in HDF5's message); now it is named as damaged and --overwrite starts again."""
    assert cli(capsys, *GEN, "--out", tmp_path / "clean.h5")[0] == 0
    (tmp_path / "j.h5.partial").write_bytes((tmp_path / "clean.h5").read_bytes()[:3000])
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, *GEN, "--out", tmp_path / "j.h5")
    assert code == 2
    one_line(err, "partial file", "j.h5.partial' is damaged (truncated file", "pass --overwrite")
    assert "in use" not in err and snapshot(tmp_path) == before
    assert cli(capsys, *GEN, "--out", tmp_path / "j.h5", "--overwrite")[0] == 0
    np.testing.assert_array_equal(load_trajectories(tmp_path / "j.h5"), load_trajectories(tmp_path / "clean.h5"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.h5", "j.h5"]


def test_a_second_generate_into_the_same_file_is_refused_and_a_stale_lock_taken_over(tmp_path, capsys):
    from pihamno.data.dataset import lock_path
    from pihamno.locks import hold

    out = tmp_path / "d.h5"
    with hold(lock_path(out), "test"):  # a generate still running (flock: a second open file conflicts)
        before = snapshot(tmp_path)
        code, _, err = cli(capsys, *GEN, "--out", out)
        assert code == 2
        one_line(err, f"dataset {str(out)!r} is in use by pid {os.getpid()}", "started", "wait for that generate")
        assert snapshot(tmp_path) == before
    # a lock file left by a killed generate (no process holds it) is stale: taken over, then removed
    lock_path(out).write_text('{"pid": 999999999, "host": "gone", "started": "yesterday"}')
    assert cli(capsys, *GEN, "--out", out)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]


@pytest.mark.parametrize("argv, words", [
    (["--n", "100000"], ["(n = 100000, 1 x 101 frames) needs about", "PB of memory, more than this machine's",
                         "use a smaller --n"]),
    (["--n", "1000"], ["needs about 9.7 TB of memory"]),
])
def test_huge_datasets_are_refused_before_any_work(tmp_path, capsys, argv, words):
    """Issue 20 item 4: --n 100000 died in numpy with a traceback (7.11 PiB); --n 1000 ran silently."""
    (tmp_path / "keep.txt").write_text("x")
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "generate", "--pde", "ac", *argv, "--out", tmp_path / "x.h5")
    assert code == 2
    one_line(err, *words)
    assert snapshot(tmp_path) == before


def test_a_dataset_beyond_the_file_size_limit_or_the_free_disk_never_starts(tmp_path, capsys, monkeypatch):
    """Issue 20 item 1's crash: under ``ulimit -f 2000`` the HDF5 library died half-way (rc 139) and left a
    truncated partial file. The size is known before the work: refused, nothing written."""
    import resource

    import pihamno.data.estimate as estimate

    argv = ["generate", "--pde", "ac", "--n", "16", "--frames", "21", "--trajectories", "8", "--out", tmp_path / "j.h5"]
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000 * 1024, hard))  # ulimit -f 2000
    try:
        code, _, err = cli(capsys, *argv)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert code == 2
    one_line(err, "would be a file of about 2.8 MB, above the file-size limit of 2 MB (ulimit -f)")
    monkeypatch.setattr(estimate.shutil, "disk_usage", lambda p: type("U", (), {"free": 10**6})())
    code, _, err = cli(capsys, *argv)
    assert code == 2
    one_line(err, "would be a file of about 2.8 MB, more than the 1 MB free on its disk")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_is_one_line_and_the_rerun_continues(tmp_path, capsys, monkeypatch):
    """The partial file is allocated whole when it is created; should a write still fail (a disk error), the
    trajectories written before are kept and the same command continues."""
    import h5py

    real, calls = h5py.File, []

    def failing(path, mode="r", *args, **kwargs):
        if mode == "r+":
            calls.append(path)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(h5py, "File", failing)
    code, _, err = cli(capsys, *GEN, "--out", tmp_path / "d.h5")
    assert code == 2
    one_line(err, "cannot write trajectory 1 to", "d.h5.partial': the disk is full", "run the same command again")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5.partial"]
    monkeypatch.setattr(h5py, "File", real)
    assert cli(capsys, *GEN, "--out", tmp_path / "d.h5")[0] == 0
    assert cli(capsys, *GEN, "--out", tmp_path / "clean.h5")[0] == 0
    np.testing.assert_array_equal(load_trajectories(tmp_path / "d.h5"), load_trajectories(tmp_path / "clean.h5"))


def test_long_work_is_announced_with_its_estimate(tmp_path, capsys, monkeypatch):
    import pihamno.data.estimate as estimate

    monkeypatch.setattr(estimate, "LONG_SECONDS", 0.0)
    code, _, err = cli(capsys, *GEN[:-1], "--out", tmp_path / "d.h5")
    assert code == 0
    line = next(x for x in err.splitlines() if "(an estimate)" in x)
    assert "of memory" in line and "of disk and" in line and "on 1 worker" in line


# ----------------------------------------------------------------------------- train: one run per folder, sound data
def test_a_second_training_into_a_busy_run_folder_is_refused(world, capsys, tmp_path):
    """Issue 20 item 2: two trainings into one folder both exited 0 and interleaved metrics.csv."""
    from pihamno.locks import hold
    from pihamno.training.run import LOCK_FILE

    (tmp_path / "run").mkdir()
    toml = tmp_path / "r.toml"
    toml.write_text(tiny_run_toml(world / "data" / "ac.h5", tmp_path / "run"))
    with hold(tmp_path / "run" / LOCK_FILE, "test"):  # the first training, still running
        before = snapshot(tmp_path)
        for extra in ([], ["--overwrite"], ["--auto-resume"]):
            code, _, err = cli(capsys, "train", "--config", toml, "--quiet", *extra)
            assert code == 2
            one_line(err, f"run folder {str(tmp_path / 'run')!r} is in use by pid {os.getpid()}", "started",
                     "wait for that run to finish, stop it, or choose another --out")
            assert snapshot(tmp_path) == before
    # a lock left by a killed training (no process holds it) is taken over; the run removes it at the end
    (tmp_path / "run" / LOCK_FILE).write_text('{"pid": 999999999, "host": "gone"}')
    assert cli(capsys, "train", "--config", toml, "--quiet")[0] == 0
    assert LOCK_FILE not in {p.name for p in (tmp_path / "run").iterdir()}


def _bad_data(world, tmp_path, kind: str) -> Path:
    import shutil

    import h5py

    path = tmp_path / f"{kind}.h5"
    shutil.copy(world / "data" / "ac.h5", path)
    with h5py.File(path, "r+") as f:
        if kind == "nan":
            f["u"][1, 3, 2, 2, 2] = np.nan
        elif kind == "dims":
            u = f["u"][:, :, :, :, 0]
            del f["u"]
            f["u"] = u  # (T, F, n, n): one dimension short
        else:
            del f.attrs["dt"]
    return path


@pytest.mark.parametrize("kind, words", [
    ("nan", ["fails check-data's finite check (1 non-finite values in 6 trajectories checked (the first in "
             "trajectory 1))"]),
    ("dims", ["fails check-data's metadata check (u has shape (6, 8, 8, 8), the attributes say (6, 8, 8, 8, 8))"]),
    ("meta", ["fails check-data's metadata check (attribute 'dt' missing"]),
])
def test_training_checks_its_data_before_it_starts(world, capsys, tmp_path, kind, words):
    """Issue 20 item 3: a NaN trained until 'non-finite loss' (rc 3), a u of the wrong shape failed inside the
    model without naming the file; both left a run folder. Now: check-data's checks first, nothing created."""
    data = _bad_data(world, tmp_path, kind)
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "train", "--config", world / "run.toml", "--data", data, "--out", tmp_path / "run",
                       "--quiet")
    assert code == 2
    one_line(err, f"dataset {str(data)!r}", *words, f"run pihamno check-data {data}")
    assert snapshot(tmp_path) == before and not (tmp_path / "run").exists()


def test_check_data_reports_the_trajectories_it_checked_when_it_stops_early(world, capsys, tmp_path):
    data = _bad_data(world, tmp_path, "nan")
    code, out, _ = cli(capsys, "check-data", data)
    assert code == 1 and "checked 6" in out.splitlines()[0] and "(the first in trajectory 1)" in out


# ----------------------------------------------------------------------------- train: what used to be tracebacks
def test_resuming_a_checkpoint_with_weights_of_other_shapes_is_one_line(world, fresh_run, capsys):
    """Issue 20 item 4: 'Error(s) in loading state_dict' as a traceback."""
    run = fresh_run / "run"
    state = torch.load(run / "last.pt", weights_only=True)
    key = next(k for k, v in state["state_dict"].items() if v.ndim >= 1)
    state["state_dict"][key] = torch.zeros(3, 3)
    torch.save(state, run / "last.pt")
    before = snapshot(fresh_run)
    code, _, err = cli(capsys, "train", "--resume", run, "--epochs", "2", "--quiet")
    assert code == 2
    assert err.splitlines()[0].endswith("the cosine schedule is rescaled from here on")  # the one note
    one_line(err.split("\n", 1)[1], f"cannot resume {str(run / 'last.pt')!r}: the checkpoint's weights do not fit "
             f"the model: {key} has shape (3, 3)")
    assert snapshot(fresh_run) == before


def test_training_under_a_file_size_limit_stops_with_one_line(world, capsys, tmp_path, monkeypatch):
    """Issue 20 item 4: under ``ulimit -f 200`` torch's write error was a traceback; the checkpoint is written
    to a temporary file first, so nothing half-written is left under the real name."""
    import resource

    monkeypatch.chdir(world)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20 * 1024, hard))  # ulimit -f 20: smaller than a checkpoint
    try:
        code, _, err = cli(capsys, "train", "--config", world / "run.toml", "--out", tmp_path / "run", "--quiet")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert code == 2
    one_line(err, f"cannot write {str(tmp_path / 'run' / 'best.pt')!r}: the file-size limit (ulimit -f) is "
             "reached; nothing was replaced (free space or raise the limit, then run again)")
    assert not [p for p in (tmp_path / "run").iterdir() if p.suffix in (".pt", ".part")]


# ----------------------------------------------------------------------------- files that are not files
@pytest.fixture
def odd_paths(tmp_path):
    """A folder, a symbolic link in a loop and one to nothing."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dangling").symlink_to("gone.h5")
    return tmp_path


@pytest.mark.parametrize("argv, what", [
    (["check-data", "{p}"], "dataset"),
    (["train", "--config", "{world}/run.toml", "--data", "{p}", "--out", "{tmp}/r"], "dataset"),
    (["train", "--config", "{p}"], "config file"),
    (["generate", "--pde", "ac", "--n", "8", "--mesh", "{p}", "--out", "{tmp}/x.h5"], "mesh file"),
    (["assemble", "--mesh", "{p}"], "mesh file"),
    (["evaluate", "--checkpoint", "{world}/run/best.pt", "--data", "{p}", "--out", "{tmp}/e"], "dataset"),
    (["render", "--rollout", "{p}", "--out", "{tmp}/f"], "rollout file"),
])
@pytest.mark.parametrize("name, words", [
    ("folder", ["is a folder, not a file"]),
    ("loop", ["is a symbolic link in a loop ('loop'); point it at a file"]),
    ("dangling", ["is a symbolic link to 'gone.h5', which does not exist"]),
])
def test_a_folder_or_a_broken_link_where_a_file_is_expected_says_so(world, odd_paths, capsys, argv, what, name,
                                                                     words):
    """Issue 20 item 5: all of these said 'does not exist'."""
    p = odd_paths / name
    argv = [a.format(p=p, world=world, tmp=odd_paths) for a in argv]
    before = snapshot(world) | snapshot(odd_paths)
    code, _, err = cli(capsys, *argv)
    assert code == 2
    one_line(err, f"{what} {str(p)!r}", *words)
    assert snapshot(world) | snapshot(odd_paths) == before


def test_evaluate_takes_a_run_folder_as_train_resume_does(world, capsys, tmp_path):
    code, _, err = cli(capsys, "evaluate", "--checkpoint", world / "run", "--out", tmp_path / "ev", "--quiet")
    assert code == 0, err
    a = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    b = json.loads((world / "run" / "eval" / "metrics.json").read_text())
    assert a["rollout"]["rel_l2_final"]["mean"] == pytest.approx(b["rollout"]["rel_l2_final"]["mean"])
    code, _, err = cli(capsys, "evaluate", "--checkpoint", world / "data", "--out", tmp_path / "e2")
    assert code == 2
    one_line(err, "holds no best.pt or last.pt; give a checkpoint file or the folder of a training run")


def test_an_output_onto_a_broken_symbolic_link_is_refused(odd_paths, capsys):
    """Issue 20 item 5: generate --out onto a symlink loop silently replaced the link."""
    before = snapshot(odd_paths)
    for name in ("loop", "dangling"):
        code, _, err = cli(capsys, *GEN, "--out", odd_paths / name)
        assert code == 2
        one_line(err, f"output {str(odd_paths / name)!r} is a symbolic link to", "which leads nowhere",
                 "remove the link or choose another name")
    assert snapshot(odd_paths) == before and (odd_paths / "loop").is_symlink()


def test_an_immutable_folder_is_named_with_what_to_do(world, capsys, tmp_path, monkeypatch):
    """Issue 20 item 5: train into an immutable folder printed the raw '[Errno 1] Operation not permitted'."""
    import subprocess

    folder = tmp_path / "frozen"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i needs root and a file system that has it")
    monkeypatch.chdir(world)
    try:
        code, _, err = cli(capsys, "train", "--config", world / "run.toml", "--out", folder, "--quiet")
        code2, _, err2 = cli(capsys, *GEN, "--out", folder / "d.h5")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert code == 2 and code2 == 2
    one_line(err, f"cannot write in run folder {str(folder)!r}: the operation is not permitted (an immutable")
    one_line(err2, f"output folder {str(folder)!r} is not writable (read-only, immutable or another user's); "
             "choose another")
    assert list(folder.iterdir()) == []


# ----------------------------------------------------------------------------- leftovers, noise, hints
def _killed_writer(out: Path, make_dir: bool) -> None:
    """A process that dies (as kill -9 would: no cleanup) while it writes ``out``."""
    import multiprocessing

    from pihamno.io import atomic_dir, atomic_path

    def write():
        with (atomic_dir(out) if make_dir else atomic_path(out)) as tmp:
            (tmp / "frame.vti" if make_dir else tmp).write_bytes(b"x" * 1000)
            os._exit(9)

    child = multiprocessing.get_context("fork").Process(target=write)
    child.start()
    child.join()
    assert child.exitcode == 9


def test_a_rerun_removes_what_a_killed_export_or_render_left(world, capsys, tmp_path):
    """Issue 20 item 6: kill -9 of export left a hidden .OUT.<random>.part folder that no rerun removed."""
    from pihamno.locks import owner_tag

    rollout = world / "run" / "eval" / "rollout.h5"
    _killed_writer(tmp_path / "vtk", make_dir=True)
    _killed_writer(tmp_path / "png" / "traj0_rel_l2.png", make_dir=False)
    live = tmp_path / f".vtk.{owner_tag()}.x1.part"  # a writer still running (this process): kept
    live.mkdir()
    hidden = sorted(p.name for p in tmp_path.rglob(".*.part"))
    assert len(hidden) == 3, hidden
    assert cli(capsys, "export", "--rollout", rollout, "--out", tmp_path / "vtk", "--quiet")[0] == 0
    assert cli(capsys, "render", "--rollout", rollout, "--out", tmp_path / "png", "--what", "curves", "--quiet")[0] == 0
    assert sorted(p.name for p in tmp_path.rglob(".*.part")) == [live.name]
    assert (tmp_path / "vtk" / "rollout.pvd").is_file() and (tmp_path / "png" / "traj0_rel_l2.png").is_file()


def test_a_folder_moved_aside_by_a_killed_export_is_put_back(world, capsys, tmp_path):
    """Killed between atomic_dir's two renames, the earlier output lives only in .OUT.*.old: the next writer
    restores it before anything else, so --overwrite's check still sees the earlier export."""
    import subprocess

    from pihamno.locks import owner_tag

    rollout = world / "run" / "eval" / "rollout.h5"
    assert cli(capsys, "export", "--rollout", rollout, "--out", tmp_path / "vtk", "--quiet")[0] == 0
    before = snapshot(tmp_path / "vtk")
    dead = subprocess.Popen(["true"])  # a process that is gone
    dead.wait()
    aside = tmp_path / f".vtk.{owner_tag().rsplit('-', 1)[0]}-{dead.pid}.ab12.old"
    aside.mkdir()
    (tmp_path / "vtk").rename(aside / "vtk")
    code, _, err = cli(capsys, "export", "--rollout", rollout, "--out", tmp_path / "vtk")
    assert code == 2
    one_line(err, "already exists; pass --overwrite")
    assert snapshot(tmp_path / "vtk") == before and not aside.exists()


def test_ranks_other_than_zero_log_errors_only(monkeypatch):
    """Issue 20 item 6: under torchrun every rank printed the same warnings."""
    import logging

    from pihamno.cli import setup_logging

    monkeypatch.setenv("RANK", "1")
    setup_logging()
    assert logging.getLogger("pihamno").level == logging.ERROR
    monkeypatch.setenv("RANK", "0")
    setup_logging()
    assert logging.getLogger("pihamno").level == logging.INFO


def test_a_shipped_config_without_its_data_says_how_to_make_it(tmp_path, capsys, monkeypatch):
    """Issue 20 item 6: the command was only in the TOML's comment."""
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "train", "--config", "ac_small")
    assert code == 2
    one_line(err, "dataset 'data/ac_n16.h5' does not exist; make it first with: pihamno generate --pde ac --n 16 "
             "--frames 21 --trajectories 12 --out data/ac_n16.h5")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- threads
def test_threads_flag_and_config_key(world, capsys, tmp_path, monkeypatch):
    """Issue 20 item 7: the CPU thread count is a flag (``pihamno --threads N``) and ``[run] threads``; torch's
    own count is back after the run."""
    from pihamno.cli import build_parser

    monkeypatch.chdir(world)
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", ""))  # restored after the test
    text = build_parser().format_help()
    assert "--threads N" in text and "default: torch's own" in text
    threads = torch.get_num_threads()
    code, _, err = cli(capsys, "--threads", "2", "train", "--config", "run.toml", "--out", tmp_path / "r", "--quiet")
    assert code == 0, err
    assert "threads = 2" in (tmp_path / "r" / "config.toml").read_text() and torch.get_num_threads() == threads
    code, _, err = cli(capsys, "--threads", "0", "check-data", "data/ac.h5")
    assert code == 2
    one_line(err, "--threads must be a positive integer, got 0")
    code, _, err = cli(capsys, "train", "--config", "run.toml", "--set", "run.threads=0")
    assert code == 2
    one_line(err, "[run] threads must be positive, got 0")


# ----------------------------------------------------------------------------- signals and pipes
@pytest.mark.slow
def test_sigterm_stops_generate_like_ctrl_c_and_the_rerun_continues(tmp_path):
    import re
    import signal
    import subprocess
    import sys
    import threading

    argv = [sys.executable, "-m", "pihamno", "generate", "--pde", "ac", "--n", "16", "--frames", "21",
            "--trajectories", "400", "--out", str(tmp_path / "d.h5")]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    # signal only once the progress bar says a trajectory is written (a fixed wait failed on a loaded machine)
    err_parts, one_done = [], threading.Event()

    def read_stderr():
        for chunk in iter(lambda: proc.stderr.read(1), ""):
            err_parts.append(chunk)
            if chunk in "\r\n" and re.search(r"\b([1-9]\d*)/400\b", "".join(err_parts[-200:])):
                one_done.set()
        one_done.set()  # the process ended: let the assertions below say why

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    assert one_done.wait(timeout=300), "no trajectory finished within 300 s"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    reader.join(timeout=60)
    err = "".join(err_parts).replace("\r", "\n").strip().splitlines()
    assert proc.returncode == 143 and err[-1] == "pihamno: terminated", err[-5:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5.partial"]  # no lock left, the partial kept
    import h5py

    with h5py.File(tmp_path / "d.h5.partial") as f:
        done = int(f["done"][:].sum())
    assert 0 < done < 400
    rerun = subprocess.run([*argv, "--quiet"], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]
    with h5py.File(tmp_path / "d.h5") as f:
        assert f["u"].shape[0] == 400


def test_a_closed_pipe_ends_quietly(world, capsys, monkeypatch):
    import pihamno.data.checks as checks

    def closed(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(checks, "format_report", closed)
    code, _, err = cli(capsys, "check-data", world / "data" / "ac.h5", "--quiet")
    assert code == 141 and err == ""


# ----------------------------------------------------------------------------- the other verbs: full disks, sizes
@pytest.fixture
def file_size_limit():
    """``ulimit -f KB`` for the body (the soft limit; Python ignores SIGXFSZ, so writes fail with EFBIG)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    @contextlib.contextmanager
    def limit(kb):
        resource.setrlimit(resource.RLIMIT_FSIZE, (kb * 1024, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    return limit


@pytest.mark.parametrize("argv, name", [
    (["export", "--rollout", "{rollout}", "--out", "{tmp}/vtk"], "vtk"),
    (["evaluate", "--checkpoint", "{world}/run/best.pt", "--out", "{tmp}/ev"], "ev/rollout.h5"),
    (["render", "--rollout", "{rollout}", "--out", "{tmp}/png", "--what", "curves"], "png/traj0_rel_l2.png"),
])
def test_a_full_disk_in_export_evaluate_render_is_one_line_and_leaves_nothing(world, capsys, tmp_path,
                                                                             file_size_limit, argv, name):
    """Export wrote truncated .vti files under ``ulimit -f`` and exited 0 (VTK's failure was only logged);
    evaluate died in the HDF5 library (segmentation fault, rc 139). Now: one line naming the file, exit 2,
    no output and no temporary left."""
    rollout = world / "run" / "eval" / "rollout.h5"
    argv = [a.format(rollout=rollout, world=world, tmp=tmp_path) for a in argv]
    before = snapshot(world)
    with file_size_limit(2):
        code, _, err = cli(capsys, *argv, "--quiet")
    assert code == 2
    one_line(err, f"cannot write {str(tmp_path / name)!r}: the file-size limit (ulimit -f) is reached; nothing was "
             "replaced")
    assert snapshot(world) == before and list(tmp_path.rglob("*")) in ([], [tmp_path / "png"])


def test_assemble_refuses_a_mesh_larger_than_the_memory(capsys):
    code, _, err = cli(capsys, "assemble", "--n", "100000")
    assert code == 2
    one_line(err, "assembling the n = 100000 grid mesh needs about", "PB of memory, more than this machine's")


def test_an_output_folder_blocked_by_a_file_is_named(world, capsys, tmp_path):
    (tmp_path / "f.png").write_text("a picture")
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "render", "--rollout", world / "run" / "eval" / "rollout.h5", "--out",
                       tmp_path / "f.png" / "sub")
    assert code == 2
    one_line(err, f"{str(tmp_path / 'f.png')!r} is a file, not a folder")
    assert snapshot(tmp_path) == before
