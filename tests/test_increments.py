"""Increment prediction (``[data] target = "increment"``): the statistics, the map back to a frame, every
caller (training with pushforward and unrolled physics, rollouts, checkpoints, evaluation) applying it, and
old checkpoints loading unchanged.

Synthetic "decay" data u_{f+1} = A u_f (tests/test_training.py): the increment is (A - 1) u_f, which the
linear stand-in model represents exactly in increment form (last weight (A - 1)/inc_std, bias -inc_mean/inc_std).
"""

import csv

import numpy as np
import pytest
import torch
from test_training import (
    T_IN,
    A,
    _test_model,  # noqa: F401 - autouse fixture: registers the linear model
    decay_data,
    make_config,
    make_trainer,
    write_dataset,
)

from pihamno.errors import InputError
from pihamno.stepping import FieldProcessor, predict_next, rollout


class Zero(torch.nn.Module):
    """Outputs 0 whatever the input: the mean increment under the increment target (its one weight is unused)."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.zeros_like(x[:, :1]) + 0.0 * self.unused


def test_increment_statistics_are_those_of_the_predicted_steps():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(3, 9, 4, 4, 4, generator=g, dtype=torch.float64)
    p = FieldProcessor.fit("none", u.float(), target="increment", first=T_IN)
    d = u.float().double()[:, T_IN:] - u.float().double()[:, T_IN - 1 : -1]  # steps into frames T_in .. 8 only
    assert p.inc_mean == pytest.approx(float(d.mean()), rel=1e-12)
    assert p.inc_std == pytest.approx(float(d.std(correction=0)), rel=1e-12)
    assert p.mean == 0.0 and p.std == 1.0 and p.kind == "none"  # the inputs are not normalised
    both = FieldProcessor.fit("standard", u.float(), target="increment", first=T_IN)
    assert both.mean == pytest.approx(float(u.float().double().mean())) and both.inc_std == p.inc_std
    # the map back: u_prev + v inc_std + inc_mean, whatever the input normalisation
    prev, v = torch.randn(2, 4, 4, 4, generator=g), torch.randn(2, 4, 4, 4, generator=g)
    assert torch.allclose(both.next_frame(prev, v), prev + v * p.inc_std + p.inc_mean, atol=1e-6)
    with pytest.raises(InputError, match="increment statistics need trajectories"):
        FieldProcessor.fit("none", u[:, :T_IN].float(), target="increment", first=T_IN)
    with pytest.raises(InputError, match="unknown model target 'delta'"):
        FieldProcessor(target="delta")


def test_state_dicts_old_and_new():
    state = FieldProcessor.fit("standard", torch.tensor([1.0, 3.0])).state_dict()
    assert state == {"kind": "standard", "mean": 2.0, "std": 1.0}  # the "state" target writes what it always wrote
    old = FieldProcessor.from_state(state)  # a checkpoint written before the target existed
    assert old.target == "state" and old.next_frame(torch.zeros(1), torch.tensor([1.0])).item() == 3.0
    inc = FieldProcessor("none", target="increment", inc_mean=0.5, inc_std=0.25)
    back = FieldProcessor.from_state(inc.state_dict())
    assert (back.target, back.inc_mean, back.inc_std) == ("increment", 0.5, 0.25)
    assert back.with_constraint(None).target == "increment"


def test_a_zero_output_steps_by_the_mean_increment_in_every_caller():
    proc = FieldProcessor("none", target="increment", inc_mean=0.125, inc_std=2.0)
    given = torch.randn(2, T_IN, 4, 4, 4)
    assert torch.equal(predict_next(Zero(), proc, given), given[:, -1] + 0.125)
    out = rollout(Zero(), proc, given, T_IN + 3)
    assert torch.allclose(out[:, -1], given[:, -1] + 3 * 0.125)


def test_pushforward_and_unrolled_physics_step_in_increments(tmp_path):
    """Under pushforward k the unrolled steps use the increment map too: with a zero model the scored
    prediction is u_{T-1} + (k + 1) inc_mean, and the data loss is its MSE against frame T + k in the model's
    units, the normalised increment (physical MSE / inc_std^2)."""
    data = write_dataset(tmp_path / "d.h5", decay_data())
    win = torch.from_numpy(decay_data(2, 12)[:, : T_IN + 3]).float()
    for k in (0, 2):
        tr = make_trainer(make_config(tmp_path, data, **{"data.target": '"increment"', "run.pushforward": k}),
                          model=Zero())
        m = tr.processor.inc_mean
        assert tr.processor.target == "increment" and m < 0  # decaying data: the mean step is negative
        loss = float(tr.loss_on(win[:, : T_IN + k + 1])[0].detach())
        expected = float(((win[:, T_IN - 1] + (k + 1) * m - win[:, T_IN + k]) ** 2).mean()) / tr.processor.inc_std**2
        assert loss == pytest.approx(expected, rel=1e-5)
        assert float(tr.loss_on(win[:, : T_IN + k + 1])[1]["data"]) == pytest.approx(expected, rel=1e-5)  # logged so
    # unrolled physics (lam > 0) sees the increment-mapped frames as its pairs
    tr = make_trainer(make_config(tmp_path, data, **{"data.target": '"increment"', "physics.lam": 0.25,
                                                      "physics.unroll": 2, "physics.balance": '"none"'}), model=Zero())
    seen = []
    tr.objective.physics = lambda prev, nxt: seen.append((prev, nxt)) or {"strong": prev.sum() * 0,
                                                                          "weak": prev.sum() * 0}
    tr.loss_on(win[:, : T_IN + 1])
    prev, nxt = seen[0]
    m = tr.processor.inc_mean
    assert torch.allclose(nxt - prev, torch.full_like(prev, m), atol=1e-6) and prev.shape[0] == 3 * 2


def test_increment_training_with_pushforward_learns_and_round_trips(tmp_path):
    """A linear model trained on increments with pushforward reaches the exact decay; the checkpoint
    restores the processor, and evaluation rolls out with it."""
    from pihamno.evaluation import evaluate_checkpoint, load_trained

    data = write_dataset(tmp_path / "d.h5", decay_data())
    # the exact increment weights are O(1 / inc_std) ~ 2 (the state form's: A = 0.9): a larger lr than
    # test_training's overfit test reaches them in the same 80 steps
    cfg = make_config(tmp_path, data, **{"data.target": '"increment"', "run.pushforward": 1, "optim.epochs": 8,
                                         "optim.steps_per_epoch": 10, "optim.lr": 1e-1})
    tr = make_trainer(cfg)
    res = tr.fit()
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    # validation rollout rel-L2 (mean over predicted frames); holding the last given frame scores
    # mean_k (1 - A^k) = 0.35 over the 7 predicted frames of these trajectories
    persistence = float(np.mean([1 - A**k for k in range(1, 12 - T_IN + 1)]))
    assert res["best"]["score"] < 0.05 < persistence / 5
    p = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert p["processor"]["target"] == "increment" and p["processor"]["inc_std"] == tr.processor.inc_std
    trained = load_trained(tmp_path / "run" / "last.pt")
    assert trained.processor.target == "increment" and trained.processor.inc_mean == tr.processor.inc_mean
    ref = torch.from_numpy(decay_data(1, 12, seed=5)).float()
    assert torch.equal(rollout(trained.model, trained.processor, ref[:, :T_IN], 12),
                       rollout(tr.model.eval(), tr.processor, ref[:, :T_IN], 12))
    m = evaluate_checkpoint(tmp_path / "run" / "last.pt", data, tmp_path / "eval", trajectories="all",
                            include_training=True, device="cpu", quiet=True)
    assert m["rollout"]["rel_l2_final"]["max"] < 0.1
    # the target is part of what was learned: a resume may not change it
    with pytest.raises(InputError, match="cannot resume with a different data.target"):
        make_trainer(make_config(tmp_path, data, **{"run.pushforward": 1, "optim.epochs": 8,
                                                     "optim.steps_per_epoch": 10, "optim.lr": 1e-1}),
                     resume=tmp_path / "run" / "last.pt")
