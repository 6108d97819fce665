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
