"""The balance of the objective: lambda is the physics share (of the objective and of the gradient), the raw
terms and the shares are logged, the state resumes exactly, and lambda = 0 is left alone.

Uses the synthetic "decay" data and the linear model of test_training (u_{f+1} = A u_f). Its stand-in physics
(``StubPhysics``: strong = mean (u_next - A u_prev)^2, weak = 2 strong) equals the data MSE on that data up to
float32 rounding, so the balanced terms are equal and every share is exactly predictable.
"""

import csv
import math

import pytest
import torch
from test_training import (
    StubPhysics,
    _test_model,  # noqa: F401 - autouse: registers the linear model
    decay_data,
    make_config,
    make_trainer,
    write_dataset,
)

from pihamno.errors import InputError
from pihamno.training.balance import LossBalance, gradient_shares
from pihamno.training.losses import TERMS, Objective


def test_running_means_are_bias_corrected_and_resume_exactly():
    b = LossBalance(("a", "b"), beta=0.9)
    values = [(3.0, 1e-6), (1.0, 0.0), (2.0, 5e-6)]
    for a, z in values:
        s = b.update({"a": torch.tensor(a), "b": torch.tensor(z)})
    # hand computation: m_t = sum_k 0.1 * 0.9^(t-k) v_k, s = m_t / (1 - 0.9^t)
    expect = sum(0.1 * 0.9 ** (3 - k) * v[0] for k, v in enumerate(values, start=1)) / (1 - 0.9**3)
    assert float(s["a"]) == pytest.approx(expect, rel=1e-14)
    assert float(LossBalance(("z",)).update({"z": torch.tensor(0.0)})["z"]) == 1e-30  # a zero term stays finite
    c = LossBalance(("a", "b"), beta=0.9)
    c.load_state_dict(b.state_dict())
    nxt = {"a": torch.tensor(7.0), "b": torch.tensor(1.0)}
    sb, sc = b.update(nxt), c.update(nxt)
    assert all(torch.equal(sb[k], sc[k]) for k in sb) and int(c.steps) == 4
    with pytest.raises(InputError, match="differs from this run's"):
        LossBalance(("a", "b"), beta=0.5).load_state_dict(b.state_dict())
    with pytest.raises(InputError, match="beta must lie in"):
        LossBalance(("a",), beta=1.0)


def test_lambda_is_the_share_whatever_the_sizes_of_the_terms():
    """Terms of sizes 1, 1e-6 and 1e3: the raw objective puts ~1e-6 of it on strong; balanced, the shares are
    lam * w from the first step on, and stay there while the terms stay put."""
    prev, true = torch.zeros(2, 3, 3, 3), torch.zeros(2, 3, 3, 3)
    pred = torch.ones(2, 3, 3, 3, requires_grad=True)  # data MSE = 1

    def physics(u_prev, u_next):
        s = (u_next**2).mean()
        return {"strong": 1e-6 * s, "weak": 1e3 * s}

    raw = Objective(0.25, 0.5, 0.5, "mse", physics)
    loss, parts = raw(prev, pred, true)
    assert float(loss.detach()) == pytest.approx(0.75 + 0.25 * 0.5 * (1e-6 + 1e3))
    assert float(parts["share_strong"]) < 1e-8 and float(parts["share_weak"]) > 0.99
    bal = Objective(0.25, 0.3, 0.7, "mse", physics, LossBalance(TERMS))
    for _ in range(5):
        loss, parts = bal(prev, pred, true)
        assert float(parts["share_physics"]) == pytest.approx(0.25, rel=1e-6)
        assert float(parts["share_strong"]) == pytest.approx(0.25 * 0.3, rel=1e-6)
        assert float(parts["share_data"]) == pytest.approx(0.75, rel=1e-6)
        assert float(parts["strong"]) == pytest.approx(1e-6) and float(parts["weak"]) == pytest.approx(1e3)  # raw
    # the common factor keeps the raw terms' scale: S = 0.75 * 1 + 0.25 * (0.3e-6 + 0.7e3)
    assert float(loss.detach()) == pytest.approx(0.75 + 0.25 * (0.3e-6 + 0.7e3), rel=1e-6)
    # lam = 0: the raw data loss, bit for bit; the balance is dropped and never updated
    zero = Objective(0.0, 0.5, 0.5, "mse", None, LossBalance(TERMS))
    assert zero.balance is None and torch.equal(zero(prev, pred, true)[0], ((pred - true) ** 2).mean())


def test_measured_shares_of_objective_and_gradient(tmp_path):
    """On the decay data the balanced strong, weak and data terms are one function: the physics part is
    exactly lam of the objective and of the gradient, and parallel to the data part (cos = 1)."""
    data = write_dataset(tmp_path / "d.h5", decay_data())
    cfg = make_config(tmp_path, data, **{"physics.lam": 0.25, "optim.epochs": 2, "optim.steps_per_epoch": 6,
                                         "run.log_every": 3, "optim.lr": 1e-3})
    make_trainer(cfg, physics=StubPhysics()).fit()
    steps = list(csv.DictReader(open(tmp_path / "run" / "steps.csv")))
    assert [int(r["step"]) for r in steps] == [3, 6, 9, 12] and [int(r["epoch"]) for r in steps] == [1, 1, 2, 2]
    for r in steps:
        assert float(r["share_physics"]) == pytest.approx(0.25, abs=1e-4)
        assert float(r["share_strong"]) == pytest.approx(0.125, abs=1e-4)
        assert float(r["grad_share"]) == pytest.approx(0.25, abs=1e-3)
        assert float(r["grad_cos"]) == pytest.approx(1.0, abs=1e-4)
        assert float(r["weak"]) == pytest.approx(2 * float(r["strong"]), rel=1e-5)  # raw values
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert len(rows) == 2 and float(rows[0]["grad_share"]) == pytest.approx(0.25, abs=1e-3)
    # the raw objective at the paper's factors: physics is ~1% of it
    cfg = make_config(tmp_path / "raw", data, **{"physics.lam": 0.25, "physics.balance": '"none"',
                                                 "physics.w_strong": 0.02, "physics.w_weak": 0.02,
                                                 "optim.epochs": 1, "optim.steps_per_epoch": 3, "run.log_every": 3})
    make_trainer(cfg, physics=StubPhysics()).fit()
    r = list(csv.DictReader(open(tmp_path / "raw" / "run" / "steps.csv")))[-1]
    assert float(r["share_physics"]) == pytest.approx(0.25 * 0.06 / (0.75 + 0.25 * 0.06), rel=1e-3)
    assert float(r["grad_share"]) == pytest.approx(float(r["share_physics"]), rel=1e-3)


def test_lambda_zero_measures_nothing_and_logs_no_physics(tmp_path):
    data = write_dataset(tmp_path / "d.h5", decay_data())
    tr = make_trainer(make_config(tmp_path, data, **{"optim.epochs": 1, "run.log_every": 1}))
    assert tr.objective.balance is None and tr.objective.physics is None
    out = tr.train_step()
    assert "grad_share" not in out and float(out["share_physics"]) == 0.0


def test_resume_is_exact_with_balance_unroll_and_unlabeled_inputs(tmp_path, monkeypatch):
    """The running means, the unlabeled windows' sampler and the unrolled steps continue bit for bit after a kill."""
    from pihamno.training.trainer import Trainer

    data = write_dataset(tmp_path / "d.h5", decay_data())
    unlabeled = write_dataset(tmp_path / "pool.h5", decay_data(n_traj=5, frames=5, seed=7))
    over = {"optim.epochs": 4, "physics.lam": 0.5, "physics.unroll": 1, "data.unlabeled": f'"{unlabeled}"',
            "physics.unlabeled_batch": 2, "run.log_every": 2}
    full = make_trainer(make_config(tmp_path / "a", data, **over), physics=StubPhysics())
    full.fit()
    real_save = Trainer._save

    def save_then_die(self, name):
        real_save(self, name)
        if name == "last.pt" and self.epoch == 2:
            raise KeyboardInterrupt

    cfg = make_config(tmp_path / "b", data, **over)
    monkeypatch.setattr(Trainer, "_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        make_trainer(cfg, physics=StubPhysics()).fit()
    monkeypatch.setattr(Trainer, "_save", real_save)
    state = torch.load(tmp_path / "b" / "run" / "last.pt", weights_only=True)
    assert int(state["balance"]["steps"]) == 8 and "unlabeled" in state["rng"]
    resumed = make_trainer(cfg, resume=tmp_path / "b" / "run" / "last.pt", physics=StubPhysics())
    resumed.fit()
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    assert torch.equal(full.objective.balance.means, resumed.objective.balance.means)
    for name in ("metrics.csv", "steps.csv"):
        a, b = (list(csv.DictReader(open(tmp_path / x / "run" / name))) for x in ("a", "b"))
        assert [{k: v for k, v in r.items() if k != "seconds"} for r in a] == \
               [{k: v for k, v in r.items() if k != "seconds"} for r in b]
    # a checkpoint written before the code took the config's word (the unlabeled sampler under rng["pool"])
    # continues the same
    legacy = dict(state, rng={**{k: v for k, v in state["rng"].items() if k != "unlabeled"}, "pool": state["rng"]["unlabeled"]})
    torch.save(legacy, tmp_path / "legacy.pt")
    again = make_trainer(cfg.updated(run={"out": str(tmp_path / "d")}), resume=tmp_path / "legacy.pt", physics=StubPhysics())
    again.fit()
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k
    # a checkpoint trained without the balance cannot be continued with it ...
    del state["balance"]
    torch.save(state, tmp_path / "old.pt")
    with pytest.raises(InputError, match="without the balance"):
        make_trainer(cfg, resume=tmp_path / "old.pt", physics=StubPhysics())
    # ... and one written before the balance existed reads as what it was, the raw objective
    from pihamno.config import from_dict
    from pihamno.training.run_state import load_training_checkpoint

    del state["config"]["physics"]["balance"], state["config"]["physics"]["balance_beta"]
    torch.save(state, tmp_path / "older.pt")
    saved = from_dict(load_training_checkpoint(tmp_path / "older.pt")["config"])
    assert saved.physics.balance == "none"
    old = make_trainer(saved.updated(run={"out": str(tmp_path / "c")}), resume=tmp_path / "older.pt",
                       physics=StubPhysics())
    assert old.objective.balance is None and old.step == 8


def test_new_keys_are_checked():
    from pihamno.config import load_config

    base = '[data]\npath = "d.h5"\n'
    for text, msg in ((base + "[physics]\nunroll = 2", r"\[physics\] unroll acts through the physics loss"),
                      (base + 'unlabeled = "p.h5"', r"\[data\] unlabeled acts through the physics loss"),
                      (base + "[physics]\nlam = 0.5\nunlabeled_batch = 2", "not set"),
                      (base + "[physics]\nbalance = \"gradnorm\"", "not allowed; expected one of running_mean, physics, none"),
                      (base + "[physics]\nbalance_beta = 1.0", r"balance_beta must be < 1"),
                      (base + "[physics]\nunroll = 1.5", r"unroll"),
                      (base + "conserve_mass = 1", r"conserve_mass")):
        with pytest.raises(InputError, match=msg):
            load_config(text=text)
    cfg = load_config(text=base)
    assert (cfg.physics.w_strong, cfg.physics.w_weak, cfg.physics.balance, cfg.physics.balance_beta) == \
           (0.5, 0.5, "running_mean", 0.9)
    assert (cfg.physics.unroll, cfg.physics.unroll_detach, cfg.data.conserve_mass, cfg.data.unlabeled) == \
           (0, True, False, None)


def test_gradient_shares_of_known_vectors():
    total = [torch.tensor([3.0, 0.0]), torch.tensor([4.0])]
    phys = [torch.tensor([0.0, 0.0]), torch.tensor([4.0])]  # data part = (3, 0, 0): orthogonal to physics
    s = gradient_shares(total, phys)
    assert float(s["grad_data"]) == 3.0 and float(s["grad_physics"]) == 4.0
    assert float(s["grad_share"]) == pytest.approx(4 / 7) and float(s["grad_cos"]) == 0.0
    assert math.isfinite(float(gradient_shares(total, [torch.zeros(2), torch.zeros(1)])["grad_cos"]))



def test_physics_keys_do_not_lock_a_resume_at_lambda_zero(tmp_path):
    """A HAMNO run (lam = 0) never used [physics]: it resumes under other weights (e.g. a run made before the
    shipped weights changed), but not under lam > 0."""
    data = write_dataset(tmp_path / "d.h5", decay_data())
    make_trainer(make_config(tmp_path, data, **{"optim.epochs": 1, "physics.w_strong": 0.02})).fit()
    last = tmp_path / "run" / "last.pt"
    tr = make_trainer(make_config(tmp_path, data, **{"optim.epochs": 2}), resume=last)
    assert tr.epoch == 1
    with pytest.raises(InputError, match="cannot resume with a different physics.lam, physics.w_strong"):
        make_trainer(make_config(tmp_path, data, **{"optim.epochs": 2, "physics.lam": 0.25}), resume=last,
                     physics=StubPhysics())


def test_physics_only_balance_keeps_the_data_term_raw():
    """balance = "physics": the physics terms are divided by their running means (O(1), the HAMNO authors'
    normalised residuals), the data MSE stays raw and the common factor is 1."""
    from pihamno.training.balance import LossBalance
    from pihamno.training.losses import TERMS, Objective

    class Fixed:
        def __call__(self, prev, nxt):
            return {"strong": torch.tensor(1e-4), "weak": torch.tensor(4e-4)}

    prev, true = torch.zeros(2, 3, 3, 3), torch.zeros(2, 3, 3, 3)
    pred = torch.full((2, 3, 3, 3), 0.1)  # MSE 0.01
    obj = Objective(0.25, 0.02, 0.02, "mse", Fixed(), LossBalance(TERMS, 0.9), physics_only=True)
    loss, parts = obj(prev, pred, true)
    # first step: each physics term's running mean is its value, so Lhat = 1 for both
    assert torch.allclose(loss, torch.tensor(0.75 * 0.01 + 0.25 * (0.02 + 0.02)))
    assert torch.allclose(parts["share_physics"], torch.tensor(0.01 / (0.0075 + 0.01)))
