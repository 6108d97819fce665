"""From per-frame curves to the evaluation report: ``metrics.json`` and ``per_frame.csv``.

Inputs are arrays over T trajectories and F frames; frames ``< n_given`` are the model's inputs (copies of
the reference) and are excluded from every aggregate. Statistics over trajectories are those of
:func:`pihamno.evaluation.statistics.summary` (mean, std, median, quartiles, min, max).

``metrics.json``::

    rollout.rel_l2_mean    per trajectory: mean rel-L2 over the predicted frames; then stats
    rollout.rel_l2_final   rel-L2 at the last frame (the paper's t = 100 figure)
    rollout.rel_l2_mid     rel-L2 at frame (F - 1) // 2 (the paper's t = 50)
    one_step.rel_l2_mean   teacher-forced one-step rel-L2, mean over the predicted frames
    energy.rel_error_final |E_pred - E_ref| / |E_ref| at the last frame
    energy.rel_error_mean  the same, mean over the predicted frames
    energy.increase_fraction_pred / _ref  fraction of predicted steps where E grows (a gradient flow never does)
    energy.increase_count_pred / _ref     number of predicted steps where E grows
    energy.increase_max_pred / _ref       largest growth max_f (E(f+1) - E(f)), 0 when E never grows
    energy.increase_max_rel_pred / _ref   the same relative to |E(f)|
    mass.drift_final_pred / _ref          |m(F-1) - m(0)|
    mass.max_drift_pred / _ref            max_f |m(f) - m(0)|
    mass.rel_drift_max_pred / _ref        max_f |m(f) - m(0)| / |m(0)| (null when m(0) = 0)

The predicted steps are f -> f + 1 for f >= n_given - 1 (the first one leaves the last given frame). The
reference's entries show its floor: float32 storage makes a reference energy "grow" by rounding (sizes
about 1e-7 relative), and its mass drift is the solver's (CH: round-off).
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from pihamno.evaluation.statistics import summary
from pihamno.io import atomic_path, plain


def _pred(a: np.ndarray, n_given: int) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)[:, n_given:]


def build_metrics(n_given: int, rel: np.ndarray, rel_one_step: np.ndarray, curves: dict) -> dict:
    """The metrics dict. ``rel``, ``rel_one_step``: (T, F); ``curves``: optional (T, F) arrays named
    ``energy_ref``, ``energy_pred``, ``mass_ref``, ``mass_pred``."""
    F = rel.shape[1]
    mid = (F - 1) // 2
    out = {
        "rollout": {
            "rel_l2_mean": summary(_pred(rel, n_given).mean(axis=1)),
            "rel_l2_final": summary(rel[:, -1]),
            "rel_l2_mid": summary(rel[:, mid]) if mid >= n_given else None,
            "mid_frame": mid,
        },
        "one_step": {"rel_l2_mean": summary(_pred(rel_one_step, n_given).mean(axis=1))},
    }
    if "energy_ref" in curves and "energy_pred" in curves:
        e_ref, e_pred = (np.asarray(curves[k], dtype=np.float64) for k in ("energy_ref", "energy_pred"))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel_e = np.abs(e_pred - e_ref) / np.abs(e_ref)
        out["energy"] = {
            "rel_error_final": summary(rel_e[:, -1]),
            "rel_error_mean": summary(_pred(rel_e, n_given).mean(axis=1)),
        }
        for tag, e in (("pred", e_pred), ("ref", e_ref)):
            out["energy"] |= {f"{k}_{tag}": summary(v) for k, v in energy_increases(e, n_given).items()}
    if "mass_ref" in curves and "mass_pred" in curves:
        out["mass"] = {}
        for tag in ("pred", "ref"):
            m = np.asarray(curves[f"mass_{tag}"], dtype=np.float64)
            drift = np.abs(m - m[:, :1])
            out["mass"][f"drift_final_{tag}"] = summary(drift[:, -1])
            out["mass"][f"max_drift_{tag}"] = summary(drift.max(axis=1))
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(m[:, 0] != 0, drift.max(axis=1) / np.abs(m[:, 0]), np.nan)
            out["mass"][f"rel_drift_max_{tag}"] = summary(rel)
    return out


def energy_increases(energy: np.ndarray, n_given: int) -> dict:
    """Per trajectory, over the predicted steps of energy curves (T, F): ``increase_fraction``,
    ``increase_count`` (steps where E grows), ``increase_max`` (largest growth, 0 if none) and
    ``increase_max_rel`` (largest growth relative to |E| before the step)."""
    e = np.asarray(energy, dtype=np.float64)[:, max(n_given - 1, 0):]
    de = np.diff(e, axis=1)
    up = de > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(up, de / np.abs(e[:, :-1]), 0.0)
    return {"increase_fraction": up.mean(axis=1), "increase_count": up.sum(axis=1).astype(np.float64),
            "increase_max": np.where(up, de, 0.0).max(axis=1, initial=0.0), "increase_max_rel": rel.max(axis=1, initial=0.0)}


PER_FRAME_COLUMNS = ["frame", "time", "given", "rel_l2_mean", "rel_l2_median", "rel_l2_q25", "rel_l2_q75",
                     "one_step_mean", "energy_ref_mean", "energy_pred_mean", "mass_ref_mean", "mass_pred_mean"]


def per_frame_rows(n_given: int, dt: float, rel: np.ndarray, rel_one_step: np.ndarray, curves: dict) -> list[dict]:
    """One row per frame: statistics over trajectories of each curve (given frames flagged ``given = 1``;
    their one-step entry is empty)."""
    s, s1 = summary(rel), summary(rel_one_step)
    means = {k: np.mean(np.asarray(v, dtype=np.float64), axis=0) for k, v in curves.items()}
    rows = []
    for f in range(rel.shape[1]):
        row = {"frame": f, "time": f * dt, "given": int(f < n_given), "rel_l2_mean": s["mean"][f],
               "rel_l2_median": s["median"][f], "rel_l2_q25": s["q25"][f], "rel_l2_q75": s["q75"][f],
               "one_step_mean": None if f < n_given else s1["mean"][f]}
        for k in ("energy_ref", "energy_pred", "mass_ref", "mass_pred"):
            row[f"{k}_mean"] = float(means[k][f]) if k in means else None
        rows.append(row)
    return rows


def write_json(path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (NaN/inf written as null)."""
    text = json.dumps(plain(obj, nonfinite=None), indent=2)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def write_csv(path, rows: list[dict], columns: list[str]) -> None:
    """Write ``rows`` with ``columns`` atomically (``None`` -> empty cell, floats with 8 significant digits)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns)
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else (f"{r[k]:.8g}" if isinstance(r[k], float) else r[k]) for k in columns})
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())
