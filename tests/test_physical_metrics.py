"""Every evaluation sees the physics: bounds, the residual indicator and persistence in metrics.json, per_frame.csv
and the rollout file, for the model's rollout and for the reference, checked against hand computations."""

import csv
import json

import numpy as np
import pytest
import torch
from test_evaluation import scaled_model
from test_training import T_IN, A, decay_data, register_test_model, write_dataset

from fem.pde import get_pde
from fem.schemes import preset
from pihamno.data import DatasetSpec, generate
from pihamno.evaluation.evaluate import evaluate_model
from pihamno.evaluation.report import build_metrics
from pihamno.evaluation.rollout_io import read_rollout
from pihamno.stepping import FieldProcessor, persistence

FRAMES = 12


@pytest.fixture(autouse=True)
def _test_model(monkeypatch):
    register_test_model(monkeypatch)


@pytest.fixture(scope="module")
def solver_data(tmp_path_factory):
    """AC reference data from the solver (n = 8, dt 1e-3, 12 frames, 3 trajectories)."""
    spec = DatasetSpec(preset("ac", dt=1e-3), 8, frames=FRAMES, trajectories=3, seed=4)
    return str(generate(spec, tmp_path_factory.mktemp("ac") / "ac.h5", progress=False))


def test_persistence_is_the_last_given_frame_held():
    u = torch.arange(2 * 6 * 8, dtype=torch.float32).reshape(2, 6, 2, 2, 2)
    held = persistence(u, 3)
    assert torch.equal(held[:, :3], u[:, :3]) and all(torch.equal(held[:, f], u[:, 2]) for f in range(3, 6))
    with pytest.raises(Exception, match="1 <= T_in <= F"):
        persistence(u, 7)


def test_persistence_and_bounds_of_a_decaying_field_match_the_hand_computation(tmp_path):
    """u_f = A^f u_0: persistence's rel-L2 at frame f is A^(T_in - 1 - f) - 1, in any norm; max|u| is A^f max|u_0|."""
    u = decay_data(n_traj=3, frames=FRAMES)
    data = write_dataset(tmp_path / "decay.h5", u)
    m = evaluate_model(scaled_model(0.05), FieldProcessor(), T_IN, data, tmp_path / "ev", "all", device="cpu", quiet=True)
    f = np.arange(T_IN, FRAMES)
    expect = A ** (T_IN - 1.0 - f) - 1
    assert m["persistence"]["rel_l2_final"]["mean"] == pytest.approx(expect[-1], rel=1e-5)
    assert m["persistence"]["rel_l2_mean"]["mean"] == pytest.approx(expect.mean(), rel=1e-5)
    peak0 = np.abs(u[:, 0]).reshape(3, -1).max(axis=1)
    b = m["bounds"]
    assert b["maximum_principle"] == 1.0 and b["stability_bound"] == pytest.approx(get_pde("ac").stability_bound(preset("ac")))
    # both decay (the model by 1.05 A < 1 per step from frame T_in - 1): the largest predicted frame is frame T_in
    assert b["max_abs_ref"]["max"] == pytest.approx(float((A**T_IN * peak0).max()), rel=1e-5)
    grown = (A ** (T_IN - 1) * peak0 * 1.05 * A).max()
    assert grown > 1.0  # so the model leaves the maximum principle's bound and the reference (A^T_in max|u_0|) does not
    assert b["max_abs_pred"]["max"] == pytest.approx(float(grown), rel=1e-5)
    assert b["overshoot_pred"]["max"] == pytest.approx(max(float(grown) - 1.0, 0.0), abs=1e-5)
    r = read_rollout(tmp_path / "ev" / "rollout.h5")
    np.testing.assert_allclose(r.curves["rel_l2_persistence"][:, T_IN:], np.broadcast_to(expect, (3, len(f))), rtol=1e-5)
    assert np.isnan(r.curves["indicator_pred"][:, :T_IN]).all() and np.isfinite(r.curves["indicator_pred"][:, T_IN:]).all()
    rows = list(csv.DictReader(open(tmp_path / "ev" / "per_frame.csv")))
    assert rows[0]["indicator_pred_mean"] == "" and float(rows[-1]["rel_l2_persistence_mean"]) == pytest.approx(expect[-1], rel=1e-5)
    assert float(rows[T_IN]["max_abs_pred_max"]) == pytest.approx(float(grown), rel=1e-5)


def test_on_solver_data_the_reference_sits_at_its_floor_and_a_persistence_model_at_one(tmp_path, solver_data):
    still = scaled_model(1.0 / A - 1.0)  # u_next = u_last: persistence as a model
    m = evaluate_model(still, FieldProcessor(), T_IN, solver_data, tmp_path / "ev", "all", device="cpu", quiet=True)
    ind = m["indicator"]
    assert ind["max_ref"]["max"] < 1e-4 and ind["above_one_ref"]["max"] == 0.0  # float32 storage floor
    assert ind["mean_pred"]["min"] == pytest.approx(1.0, abs=1e-6) and ind["max_pred"]["max"] == pytest.approx(1.0, abs=1e-6)
    assert m["rollout"]["rel_l2_final"]["mean"] == pytest.approx(m["persistence"]["rel_l2_final"]["mean"], rel=1e-5)
    assert m["bounds"]["overshoot_ref"]["max"] == 0.0 and m["bounds"]["max_abs_ref"]["max"] <= 1.0  # the maximum principle
    assert m["energy"]["increase_count_pred"]["max"] == 0.0
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert set(saved) >= {"bounds", "indicator", "persistence", "energy", "mass"}


def test_the_solver_step_scores_zero_and_a_wrong_step_does_not(solver_data):
    """The report's indicator entries are what the curves say: the reference's own steps scored as a rollout are
    at the float32 floor; a rollout 1% off every frame is not, and counts its steps above 1 correctly."""
    from pihamno.data import load_trajectories, read_description
    from pihamno.evaluation.physical_curves import FieldCurves

    u = np.asarray(load_trajectories(solver_data, [0, 1]), dtype=np.float32)
    curves = FieldCurves(read_description(solver_data), 8, device="cpu")
    exact = curves.curves(u, "pred", T_IN) | curves.curves(u, "ref", T_IN)
    off = curves.curves(u * np.float32(1.01), "pred", T_IN) | curves.curves(u, "ref", T_IN)
    rel = np.zeros((2, FRAMES))
    m0, m1 = build_metrics(T_IN, rel, rel, exact, curves.bounds()), build_metrics(T_IN, rel, rel, off, curves.bounds())
    assert m0["indicator"]["max_pred"]["max"] < 1e-4
    ind = off["indicator_pred"][:, T_IN:]
    assert ind.min() > 1e-3
    assert m1["indicator"]["above_one_pred"]["mean"] == pytest.approx(float((ind > 1).mean()))
    assert m1["indicator"]["mean_pred"]["mean"] == pytest.approx(float(ind.mean()))


@pytest.mark.parametrize("pde, bound", [("ac", 1.0), ("ch", None), ("sh", None)])
def test_the_pde_declares_its_maximum_principle(pde, bound):
    assert get_pde(pde).maximum_principle(preset(pde)) == bound
    if pde == "ac":  # only with the lumped mass and eps^2/tau + S >= 2
        assert get_pde("ac").maximum_principle(preset("ac", dt=1e-2, S=0.0)) is None
        assert get_pde("ac").maximum_principle(preset("ac", mass="consistent")) is None
