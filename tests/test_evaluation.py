"""Evaluation: rollouts, metrics against hand computations, report files, aggregation of runs, CLI."""

import csv
import json

import numpy as np
import pytest
import torch
from test_training import T_IN, A, LinearStep, decay_data, register_test_model, write_dataset

from pihamno.errors import InputError
from pihamno.evaluation.aggregate import aggregate, combine
from pihamno.evaluation.evaluate import evaluate_model, parse_trajectories
from pihamno.evaluation.rollout_io import read_rollout
from pihamno.evaluation.statistics import summary
from pihamno.stepping import FieldProcessor, grid_weights, rel_l2

FRAMES = 12


@pytest.fixture(autouse=True)
def _test_model(monkeypatch):
    register_test_model(monkeypatch)


@pytest.fixture
def dataset(tmp_path):
    return write_dataset(tmp_path / "decay.h5", decay_data(n_traj=5, frames=FRAMES))


def scaled_model(delta: float) -> LinearStep:
    """The exact decay model with its weight scaled by (1 + delta): one-step error delta."""
    m = LinearStep(init="exact")
    with torch.no_grad():
        m.w[-1] = A * (1 + delta)
    return m


def test_exact_model_has_zero_error(tmp_path, dataset):
    m = evaluate_model(scaled_model(0.0), FieldProcessor(), T_IN, dataset, tmp_path / "ev", "all", device="cpu", quiet=True)
    assert m["rollout"]["rel_l2_final"]["max"] < 1e-6 and m["one_step"]["rel_l2_mean"]["max"] < 1e-6
    assert m["energy"]["rel_error_final"]["max"] < 1e-5
    assert m["mass"]["max_drift_pred"]["max"] == pytest.approx(m["mass"]["max_drift_ref"]["max"], rel=1e-5)


def test_known_perturbation_matches_hand_computation(tmp_path, dataset):
    delta = 0.01
    m = evaluate_model(scaled_model(delta), FieldProcessor(), T_IN, dataset, tmp_path / "ev", "1:4",
                       device="cpu", batch_size=2, quiet=True)
    # frame f >= T_in is (A(1+delta))^(f-T_in+1) u_{T_in-1}: rel-L2 = (1+delta)^(f-T_in+1) - 1, in any norm
    k = np.arange(1, FRAMES - T_IN + 1)
    expect = (1 + delta) ** k - 1
    assert m["trajectories"] == [1, 2, 3]
    assert m["rollout"]["rel_l2_final"]["mean"] == pytest.approx(expect[-1], rel=1e-4)
    assert m["rollout"]["rel_l2_mean"]["median"] == pytest.approx(expect.mean(), rel=1e-4)
    assert m["rollout"]["rel_l2_mid"]["mean"] == pytest.approx(expect[(FRAMES - 1) // 2 - T_IN], rel=1e-4)
    assert m["one_step"]["rel_l2_mean"]["mean"] == pytest.approx(delta, rel=1e-4)
    # mass is linear: m_pred(f) = (1+delta)^(f-T_in+1) m_ref(f)
    r = read_rollout(tmp_path / "ev" / "rollout.h5")
    assert r.prediction.shape == r.reference.shape == (3, FRAMES, 6, 6, 6)
    assert r.attrs["n_given"] == T_IN and r.attrs["pde"] == "ac" and list(r.trajectory) == [1, 2, 3]
    np.testing.assert_allclose(r.curves["mass_pred"][:, T_IN:] / r.curves["mass_ref"][:, T_IN:],
                               np.broadcast_to((1 + delta) ** k, (3, len(k))), rtol=1e-5)
    np.testing.assert_array_equal(r.prediction[:, :T_IN], r.reference[:, :T_IN])  # given frames are copies
    np.testing.assert_allclose(r.curves["rel_l2"][:, T_IN:], np.broadcast_to(expect, (3, len(k))), rtol=1e-4)
    rows = list(csv.DictReader(open(tmp_path / "ev" / "per_frame.csv")))
    assert len(rows) == FRAMES and rows[0]["given"] == "1" and rows[0]["one_step_mean"] == ""
    assert float(rows[-1]["rel_l2_mean"]) == pytest.approx(expect[-1], rel=1e-4)
    assert float(rows[-1]["one_step_mean"]) == pytest.approx(delta, rel=1e-4)
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["frames"] == FRAMES


def test_rel_l2_weights_and_summary():
    w = grid_weights(4, 3.0)
    assert float(w.sum()) == pytest.approx(27.0) and float(w[1, 1, 1]) == pytest.approx(1.0)
    assert float(w[0, 1, 1]) == pytest.approx(0.5)  # face nodes: half a cell
    ref = torch.ones(4, 4, 4)
    pred = ref.clone()
    pred[1, 1, 1] += 1.0  # one interior node off by 1: ||e|| = sqrt(w) = 1, ||ref|| = sqrt(27)
    assert float(rel_l2(pred, ref, w)) == pytest.approx(1 / np.sqrt(27))
    s = summary([1.0, 2.0, 3.0, 4.0, np.nan])
    assert s["mean"] == 2.5 and s["median"] == 2.5 and s["q25"] == 1.75 and s["q75"] == 3.25 and s["count"] == 4


def test_parse_trajectories():
    assert parse_trajectories("all", 3).tolist() == [0, 1, 2]
    assert parse_trajectories("4, 0:3,1", 5).tolist() == [0, 1, 2, 4]
    assert parse_trajectories("test", 9, {"test": [7, 3]}).tolist() == [3, 7]
    with pytest.raises(InputError, match="trajectory 5 does not exist: there are 5 trajectories"):
        parse_trajectories("5", 5)
    with pytest.raises(InputError, match="'first' is not an integer"):
        parse_trajectories("first", 5)
    with pytest.raises(InputError, match="needs a training checkpoint"):
        parse_trajectories("test", 5)


def _fake_run(folder, final, one, frames=3):
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({
        "rollout": {"rel_l2_final": {"mean": final, "median": final}, "mid_frame": 1},
        "one_step": {"rel_l2_mean": {"mean": one}}, "frames": frames, "data": "x.h5"}))
    with open(folder / "per_frame.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["frame", "time", "given", "rel_l2_mean", "one_step_mean"])
        w.writeheader()
        for i in range(frames):
            w.writerow({"frame": i, "time": 0.1 * i, "given": int(i == 0), "rel_l2_mean": final * i,
                        "one_step_mean": "" if i == 0 else one})


def test_aggregate_two_runs(tmp_path):
    _fake_run(tmp_path / "s1", 0.10, 0.01)
    _fake_run(tmp_path / "s2", 0.30, 0.03)
    res = aggregate([tmp_path / "s1", tmp_path / "s2"], tmp_path / "agg")
    m = res["metrics"]["rollout.rel_l2_final.mean"]
    assert m["mean"] == pytest.approx(0.2) and m["std"] == pytest.approx(np.sqrt(0.02)) and m["values"] == [0.1, 0.3]
    assert m["cv"] == pytest.approx(np.sqrt(0.02) / 0.2)
    assert "frames" not in res["metrics"] and "rollout.mid_frame" not in res["metrics"]
    rows = list(csv.DictReader(open(tmp_path / "agg" / "aggregate_per_frame.csv")))
    assert float(rows[2]["rel_l2_mean_mean"]) == pytest.approx(0.4) and rows[0]["one_step_mean_mean"] == ""
    assert json.loads((tmp_path / "agg" / "aggregate.json").read_text())["count"] == 2
    assert combine([2.0]) == {"mean": 2.0, "std": 0.0, "cv": 0.0, "values": [2.0]}
    with pytest.raises(InputError, match="has no metrics.json"):
        aggregate([tmp_path / "nowhere"])


def test_cli_evaluate_aggregate_and_errors(tmp_path, capsys):
    from pihamno.cli import main

    _fake_run(tmp_path / "s1", 0.10, 0.01)
    _fake_run(tmp_path / "s2", 0.20, 0.02)
    assert main(["evaluate", "--aggregate", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "a")]) == 0
    assert "rollout.rel_l2_final.mean: mean 0.15" in capsys.readouterr().out
    assert main(["evaluate", "--out", str(tmp_path / "x")]) == 2
    assert "needs --checkpoint CKPT" in capsys.readouterr().err  # --data is optional: the run record names it
