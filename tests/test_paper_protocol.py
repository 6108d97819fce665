"""examples/studies/paper_protocol.py: the authors' protocol (their optimiser, steps, pool, final model, plain
rel-L2) next to pihamno's; the Adam-with-coupled-decay option it needs; --tiny end to end and --dry-run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from example_scripts import load_script

from pihamno.config import load_config
from pihamno.errors import InputError
from pihamno.training.optim import build_optimizer

pp = load_script("examples/studies/paper_protocol.py", "paper_protocol")


# ------------------------------------------------------------------------------------------------ optimiser
def one_step(optimizer: str, wd: float) -> float:
    """A parameter p = 1 with zero loss gradient after one step of lr 0.1: AdamW decays it decoupled,
    p (1 - lr wd); Adam adds wd p to the gradient, and its first step is lr sign(g): p - lr."""
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    opt, _ = build_optimizer(model, lr=0.1, weight_decay=wd, total_steps=10, optimizer=optimizer)
    (0 * model.weight.sum()).backward()
    opt.step()
    return model.weight.item()


def test_adam_couples_the_weight_decay_and_adamw_decouples_it():
    assert one_step("adamw", 0.01) == pytest.approx(1 - 0.1 * 0.01, rel=1e-6)
    assert one_step("adam", 0.01) == pytest.approx(1 - 0.1, rel=1e-5)
    assert one_step("adam", 0.0) == 1.0
    model = torch.nn.Linear(1, 1)
    assert type(build_optimizer(model, 1e-3)[0]) is torch.optim.AdamW
    assert type(build_optimizer(model, 1e-3, optimizer="adam")[0]) is torch.optim.Adam
    with pytest.raises(InputError, match="optimizer must be one of adamw, adam, got 'sgd'"):
        build_optimizer(model, 1e-3, optimizer="sgd")


def test_optimizer_key_of_the_config():
    assert load_config(text='[data]\npath = "d.h5"').optim.optimizer == "adamw"
    assert load_config(text='[data]\npath = "d.h5"\n[optim]\noptimizer = "adam"').optim.optimizer == "adam"
    with pytest.raises(InputError, match=r"\[optim\] optimizer.*'sgd'.*adamw, adam"):
        load_config(text='[data]\npath = "d.h5"\n[optim]\noptimizer = "sgd"')


# ------------------------------------------------------------------------------------------------ the protocol
@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
def test_authors_protocol_configs_are_their_release(pde, tmp_path):
    lr, wd, epochs, steps, ws, ww = {"ac": (1e-2, 1e-3, 50, 10, 0.02, 0.02), "ch": (5e-4, 5e-6, 100, 25, 0.02, 0.04),
                                     "sh": (1e-3, 5e-6, 170, 25, 0.005, 0.005)}[pde]
    for lam in (0.0, 0.25, 1.0):
        cfg = pp.run_config(pde, lam, "authors", pp.PAPER, tmp_path, 42, "cpu")
        o, d, m, p = cfg.optim, cfg.data, cfg.model.options, cfg.physics
        assert (o.optimizer, o.lr, o.weight_decay, o.epochs, o.batch_size, o.grad_clip) == ("adam", lr, wd, epochs, 8, 1.0)
        assert o.steps_per_epoch == (7 if lam == 0 else steps)  # ceil(50 / 8) = 7: one pass at lambda 0
        assert (d.n_test, d.n_val, d.n_train) == (50, 0, 550 if lam == 1 else 50)  # no validation: last.pt
        assert m == dict(width=12, modes=8, n_layers=2, expansion=2, width_q=12, variant="authors")
        assert (p.lam, p.w_strong, p.w_weak) == (lam, ws, ww)
        assert cfg.run.seed == 42 and cfg.run.out.endswith(f"{pde}/authors_lam{lam:g}_s42")
        ours = pp.run_config(pde, lam, "pihamno", pp.PAPER, tmp_path, 42, "cpu")
        assert (ours.optim.optimizer, ours.optim.steps_per_epoch, ours.data.n_train, ours.data.n_val) == ("adamw", steps, 50, 5)
        assert ours.data.path == cfg.data.path and ours.data.split_seed == cfg.data.split_seed  # same test split
        assert "variant" not in ours.model.options and ours.optim.lr == lr and ours.optim.epochs == epochs


def test_plain_rel_l2_is_the_unweighted_field_norm(tmp_path):
    from pihamno.evaluation.rollout_io import Rollout, write_rollout

    rng = np.random.default_rng(0)
    ref = rng.standard_normal((2, 3, 4, 4, 4)).astype(np.float32)
    pred = ref.copy()
    pred[:, 2, 0] += 1.0  # one face of the last frame: a boundary error the lumped mass would weight by 1/2
    write_rollout(tmp_path / "rollout.h5", Rollout(ref, pred, np.arange(2), {"pde": "ac", "L": 1.0, "dt": 1.0, "n_given": 1}))
    got = pp.plain_rel_l2(tmp_path / "rollout.h5")
    want = np.sqrt(16.0) / np.linalg.norm(ref[:, 2].reshape(2, -1), axis=1)
    assert got.shape == (2, 3) and np.allclose(got[:, :2], 0) and np.allclose(got[:, 2], want, rtol=1e-6)
    assert (tmp_path / "plain_rel_l2.json").is_file() and np.allclose(pp.plain_rel_l2(tmp_path / "rollout.h5"), got)


def test_bad_flags_are_one_line(capsys):
    for argv, msg in ((["--lam", "0.5"], "--lam 0.5 is not one of the paper's lambdas"),
                      (["--seed", "-1"], "--seed must be a non-negative integer"),
                      (["--pde", "kdv"], "invalid choice: 'kdv'")):
        with pytest.raises(SystemExit) as exc:
            pp.parse_args(argv)
        assert exc.value.code == 2 and msg in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "pp"
    assert pp.main(["--tiny", "--pde", "ac", "--out", str(out), "--quiet", "--workers", "1"]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert [(r["lam"], r["protocol"]) for r in rows] == [(lam, p) for lam in (0.0, 0.25, 1.0) for p in ("authors", "pihamno")]
    for r in rows:
        folder = out / "ac" / f"{r['protocol']}_lam{r['lam']:g}_s42"
        assert (folder / "last.pt").is_file() and (folder / "eval" / "plain_rel_l2.json").is_file()
        assert (folder / "best.pt").is_file() == (r["protocol"] == "pihamno")  # the authors' have no validation
        assert r["checkpoint"] == ("last.pt" if r["protocol"] == "authors" else "best.pt")
        assert all(math.isfinite(r[k]) for k in ("plain_mid", "plain_last", "lumped_last")) and r["test_trajectories"] == 2
        assert r["fitted"] == {"authors": 6 if r["lam"] == 1 else 2, "pihamno": 1}[r["protocol"]]
        ckpt = torch.load(folder / "last.pt", weights_only=True)
        assert ckpt["config"]["optim"]["optimizer"] == ("adam" if r["protocol"] == "authors" else "adamw")
    table = (out / "results.md").read_text()
    assert "| AC | 1 | authors | last.pt |" in table and "| AC | 0.25 | pihamno | best.pt |" in table
    capsys.readouterr()
    assert pp.main(["--tiny", "--pde", "ac", "--out", str(out), "--quiet", "--workers", "1"]) == 0  # all reused
    again = capsys.readouterr().out
    assert again.count("reusing") >= 1 + 6 + 6 and json.loads((out / "results.json").read_text()) == rows


@pytest.mark.slow
def test_dry_run_prints_data_steps_and_times(tmp_path, capsys):
    assert pp.main(["--tiny", "--dry-run", "--pde", "ac", "ch", "--lam", "0", "1", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "AC: 8 trajectories x 10 frames at n = 8" in text and "CH: 8 trajectories" in text and "SH:" not in text
    assert "lambda 0    authors  adam" in text and "1 epochs x  1 =     1 steps" in text  # ceil(2 / 2) = 1 at lambda 0
    assert "lambda 1    authors  adam" in text and "  6 fitted" in text and "eval best.pt" in text
    assert "total ~" in text and not (tmp_path / "ac").exists()  # nothing was written
