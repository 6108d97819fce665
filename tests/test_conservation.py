"""Hard mass conservation (the increment projected to zero lumped mass) in training and every rollout, and the
conservation metrics of evaluation (mass drift, energy increases) and of the examples' summary table."""

import numpy as np
import pytest
import torch
from test_training import (
    T_IN,
    LinearStep,
    _test_model,  # noqa: F401 - autouse fixture: registers the linear model
    make_config,
    make_trainer,
)

from pihamno.errors import InputError
from pihamno.stepping import FieldProcessor, MassProjection, lumped_mass, rollout


@pytest.fixture(scope="module")
def ch_data(tmp_path_factory):
    """Cahn-Hilliard reference trajectories, n = 8, 101 frames (about 2 s)."""
    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate

    return generate(DatasetSpec(params=preset("ch"), n=8, frames=101, trajectories=5, seed=1),
                    tmp_path_factory.mktemp("ch") / "ch.h5", progress=False)


def mass(u: torch.Tensor, split: str = "kuhn", L: float = 2.0) -> torch.Tensor:
    return (lumped_mass(u.shape[-1], L, split) * u.double()).sum(dim=(-3, -2, -1))


@pytest.mark.parametrize("split", ["kuhn", "five"])
def test_projection_keeps_the_mass_and_leaves_conserving_steps_alone(split):
    g = torch.Generator().manual_seed(0)
    u0, u1 = torch.rand(3, 8, 8, 8, generator=g), torch.rand(3, 8, 8, 8, generator=g)
    c = MassProjection(split, 2.0)
    out = c(u0, u1)
    assert out.dtype == torch.float32
    assert torch.allclose(mass(out, split), mass(u0, split), rtol=1e-7, atol=0)
    assert not torch.allclose(mass(u1, split), mass(u0, split), rtol=1e-3)  # the raw step did change it
    assert torch.allclose(c(u0, out), out, atol=1e-6)  # a conserving step is kept
    # linear, so gradients flow through it: the mass of the result does not depend on u_next at all, the
    # field itself does (d out / d u1 = I - 1 m^T / m^T 1)
    u1 = u1.double().requires_grad_(True)
    mass(c(u0.double(), u1), split).sum().backward()
    assert float(u1.grad.abs().max()) < 1e-15
    u1.grad = None
    c(u0.double(), u1)[0, 0, 0, 0].backward()
    m = lumped_mass(8, 2.0, split)
    assert torch.allclose(u1.grad[0], -m / m.sum() + (torch.arange(512) == 0).reshape(8, 8, 8), atol=1e-15)
    with pytest.raises(InputError, match="unknown split 'hex'"):
        MassProjection("hex", 2.0)


@pytest.mark.slow
def test_random_hamno_rollout_on_ch_conserves_mass_to_round_off(ch_data):
    """The floor of issue 9: a CH rollout of 96 predicted steps drifts in mass by <= 1e-6 (relative) with the
    projection, against O(1) without it, for an untrained (random) HAMNO."""
    from pihamno.data import load_trajectories
    from pihamno.models import build_model

    ref = torch.from_numpy(load_trajectories(ch_data, [0, 1]))
    torch.manual_seed(0)
    model = build_model("hamno", T_in=T_IN, width=2, modes=2, n_layers=1, width_q=4).eval()
    plain = FieldProcessor()
    conserving = plain.with_constraint(MassProjection("kuhn", 2.0))
    m0 = mass(ref[:, 0])
    drift = {}
    for name, proc in (("plain", plain), ("projected", conserving)):
        pred = rollout(model, proc, ref[:, :T_IN], 101)
        assert pred.shape[1] - T_IN == 96
        drift[name] = float(((mass(pred) - m0[:, None]).abs().max(dim=1).values / m0.abs()).max())
    assert drift["projected"] <= 1e-6, drift  # measured: 1.1e-7 (float32 rounding of the nodal values)
    assert drift["plain"] > 1e-3, drift  # measured: 3.0 for this random model
    ref_drift = float(((mass(ref) - m0[:, None]).abs().max(dim=1).values / m0.abs()).max())
    assert ref_drift <= 1e-6  # the reference itself (float32 storage)


@pytest.mark.slow
def test_training_and_evaluation_apply_the_stored_projection(ch_data, tmp_path):
    from pihamno.evaluation import evaluate_checkpoint, load_trained

    cfg = make_config(tmp_path, ch_data, **{"data.conserve_mass": "true", "data.n_train": 3, "data.n_test": 2,
                                            "optim.epochs": 1, "optim.steps_per_epoch": 2})
    torch.manual_seed(1)
    tr = make_trainer(cfg, model=LinearStep())
    assert isinstance(tr.processor.constraint, MassProjection)
    win = tr.train_trajs[:2, :T_IN]
    pred = tr._predict(win)  # the training prediction is projected too
    assert torch.allclose(mass(pred), mass(win[:, -1]), rtol=1e-7)
    tr.fit()
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["processor"]["constraint"] == {"kind": "mass", "split": "kuhn", "L": 2.0}
    assert isinstance(load_trained(tmp_path / "run" / "last.pt").processor.constraint, MassProjection)
    metrics = evaluate_checkpoint(tmp_path / "run" / "last.pt", ch_data, tmp_path / "eval", trajectories="all",
                                  include_training=True, device="cpu", quiet=True)
    assert metrics["mass"]["rel_drift_max_pred"]["max"] <= 1e-6
    for key in ("increase_count_pred", "increase_max_pred", "increase_max_rel_pred", "increase_count_ref"):
        assert key in metrics["energy"]


def test_projection_is_refused_for_pdes_that_do_not_conserve_mass(tmp_path):
    from test_training import decay_data, write_dataset

    for pde, title in (("ac", "Allen-Cahn"), ("sh", "Swift-Hohenberg")):
        data = write_dataset(tmp_path / f"{pde}.h5", decay_data(), pde=pde)
        with pytest.raises(InputError, match=f"the {title} equation .* does not conserve mass"):
            make_trainer(make_config(tmp_path, data, **{"data.conserve_mass": "true"}))


def test_energy_increases_and_mass_drift_in_the_metrics():
    from pihamno.evaluation.report import build_metrics, energy_increases

    e = np.array([[5.0, 4.0, 3.0, 3.5, 2.0, 2.2],    # predicted steps 1->2 .. 4->5: grows twice (+0.5, +0.2)
                  [5.0, 9.0, 4.0, 3.0, 2.0, 1.0]])   # grows only inside the given frames: not counted
    inc = energy_increases(e, n_given=2)
    assert inc["increase_count"].tolist() == [2.0, 0.0] and inc["increase_fraction"].tolist() == [0.5, 0.0]
    assert inc["increase_max"] == pytest.approx([0.5, 0.0]) and inc["increase_max_rel"] == pytest.approx([0.5 / 3, 0])
    rel = np.zeros((2, 6))
    m = np.array([[2.0, 2.0, 2.1, 1.9, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1e-3]])
    out = build_metrics(2, rel, rel, {"energy_ref": e, "energy_pred": e, "mass_ref": m, "mass_pred": m})
    assert out["energy"]["increase_count_pred"]["mean"] == 1.0
    assert out["mass"]["max_drift_pred"]["max"] == pytest.approx(0.1)
    assert out["mass"]["rel_drift_max_pred"]["mean"] == pytest.approx(0.05)  # the zero-mass row is left out


def test_summary_table_shows_the_physics_for_models_persistence_and_reference():
    from pihamno.workflows.session import conservation, format_summary

    stat = {"mean": 0.1, "std": 0.01, "max": 0.2}
    metrics = {"mass": {"max_drift_pred": {"mean": 0.61}, "max_drift_ref": {"mean": 2e-9}},
               "energy": {"increase_count_pred": {"mean": 3.5}, "increase_max_rel_pred": {"max": 1.2e-3},
                          "increase_count_ref": {"mean": 0.0}, "increase_max_rel_ref": {"max": 0.0}},
               "bounds": {"max_abs_pred": {"max": 1.0421}, "max_abs_ref": {"max": 0.9998}},
               "indicator": {"mean_pred": {"mean": 0.314}, "above_one_pred": {"mean": 0.25},
                             "mean_ref": {"mean": 1.8e-6}, "above_one_ref": {"mean": 0.0}}}
    held = {"rel_l2_final": {"mean": 0.2345, "std": 0.02}, "rel_l2_mean": {"mean": 0.1234}}
    rows = [{"model": "HAMNO", "lambda": 0.0, "rel_l2_final": stat, "rel_l2_mean": stat, "one_step": stat,
             "test_trajectories": 4, **conservation(metrics, "pred")},
            {"model": "PI-HAMNO", "lambda": 0.25, "rel_l2_final": stat, "rel_l2_mean": stat, "one_step": stat,
             "test_trajectories": 4, **conservation({}, "pred")}]
    s = {"title": "Cahn-Hilliard", "scale": "smoke", "dataset": {"n": 16, "trajectories": 12, "frames": 21, "dt": 1e-3},
         "models": rows, "reference": conservation(metrics, "ref"), "persistence": held, "stage_seconds": {"train": 1.0},
         "total_seconds": 2.0, "files": {"data": "d", "check": "c", "hamno_checkpoint": "h", "pihamno_checkpoint": "p",
                                         "hamno_metrics": "hm", "pihamno_metrics": "pm", "vtk": ["a.pvd", "b.vti"],
                                         "png": ["x/y/z.png"]}}
    lines = format_summary(s).splitlines()
    assert "mass drift" in lines[1] and "E grows" in lines[1] and "max|u|" in lines[1] and "indicator" in lines[1]
    assert lines[2].split()[-6:] == ["6.10e-01", "3.5", "1.2e-03", "1.042", "0.314", "25%"]
    assert lines[3].split()[-6:] == ["-"] * 6  # not computed: a dash, not a number
    # persistence: a row of the table, its rel-L2 and the indicator of standing still (1 by definition)
    assert lines[4].split()[:6] == ["persistence", "0.2345", "+-", "0.0200", "0.1234", "-"]
    assert lines[4].split()[-6:] == ["-", "-", "-", "-", "1", "0%"]
    assert lines[5].split()[0] == "reference" and lines[5].split()[-6:] == ["2.00e-09", "0.0", "0.0e+00", "1.000", "1.8e-06", "0%"]
