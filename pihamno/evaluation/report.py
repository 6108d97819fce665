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
    bounds.maximum_principle              the pointwise bound B the PDE's scheme proves (AC: 1), or null
    bounds.stability_bound                the energy-stability bound U (docs/design.md section 4.3), or null
    bounds.max_abs_pred / _ref            max over the predicted frames of max|u|
    bounds.overshoot_pred / _ref          max(0, max|u| - B) (when B exists)
    bounds.above_stability_pred / _ref    fraction of predicted frames with max|u| > U (when U exists)
    indicator.mean_pred / _ref            residual indicator of the predicted steps (docs/physics.md): mean,
    indicator.max_pred / _ref             largest,
    indicator.above_one_pred / _ref       fraction of steps above 1 (further from the scheme's step than standing still)
    persistence.rel_l2_final / _mean      the last given frame held: rel-L2 at the last frame / mean over frames

The predicted steps are f -> f + 1 for f >= n_given - 1 (the first one leaves the last given frame); the
model's steps start from its own previous state. The reference's entries show its floor: float32 storage
makes a reference energy "grow" by rounding (sizes about 1e-7 relative) and gives its indicator ~1e-6, and
its mass drift is the solver's (CH: round-off).
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


def build_metrics(n_given: int, rel: np.ndarray, rel_one_step: np.ndarray, curves: dict,
                  bounds: dict | None = None) -> dict:
    """The metrics dict. ``rel``, ``rel_one_step``: (T, F); ``curves``: optional (T, F) arrays named
    ``<quantity>_ref`` / ``<quantity>_pred`` for energy, mass, max_abs and indicator
    (:meth:`pihamno.evaluation.physical_curves.FieldCurves.curves`) and ``rel_l2_persistence``; ``bounds`` those of
    :meth:`~pihamno.evaluation.physical_curves.FieldCurves.bounds`."""
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
    return out | physical_metrics(n_given, curves, bounds) | persistence_metrics(n_given, curves)


def physical_metrics(n_given: int, curves: dict, bounds: dict | None) -> dict:
    """``bounds`` and ``indicator`` entries (module docstring) from the ``max_abs_*`` / ``indicator_*`` curves."""
    out = {}
    if "max_abs_pred" in curves and "max_abs_ref" in curves:
        b = dict(bounds or {})
        B, U = b.get("maximum_principle"), b.get("stability_bound")
        out["bounds"] = {"maximum_principle": B, "stability_bound": U}
        for tag in ("pred", "ref"):
            peak = _pred(curves[f"max_abs_{tag}"], n_given)
            out["bounds"][f"max_abs_{tag}"] = summary(peak.max(axis=1, initial=0.0))
            if B is not None:
                out["bounds"][f"overshoot_{tag}"] = summary(np.maximum(peak.max(axis=1, initial=0.0) - B, 0.0))
            if U is not None and np.isfinite(U):
                out["bounds"][f"above_stability_{tag}"] = summary((peak > U).mean(axis=1))
    if "indicator_pred" in curves and "indicator_ref" in curves:
        out["indicator"] = {}
        for tag in ("pred", "ref"):
            ind = _pred(curves[f"indicator_{tag}"], n_given)
            out["indicator"] |= {f"mean_{tag}": summary(ind.mean(axis=1)), f"max_{tag}": summary(ind.max(axis=1)),
                                 f"above_one_{tag}": summary((ind > 1.0).mean(axis=1))}
    return out


def persistence_metrics(n_given: int, curves: dict) -> dict:
    """``persistence`` entries from the ``rel_l2_persistence`` curve (the last given frame held)."""
    if "rel_l2_persistence" not in curves:
        return {}
    rel = np.asarray(curves["rel_l2_persistence"], dtype=np.float64)
    return {"persistence": {"rel_l2_final": summary(rel[:, -1]), "rel_l2_mean": summary(_pred(rel, n_given).mean(axis=1))}}


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


#: Curves whose per-frame mean over trajectories goes to ``per_frame.csv`` (as ``<name>_mean``), and those whose
#: maximum does (``<name>_max``).
MEAN_CURVES = ("energy_ref", "energy_pred", "mass_ref", "mass_pred", "indicator_ref", "indicator_pred", "rel_l2_persistence")
MAX_CURVES = ("max_abs_ref", "max_abs_pred")
PER_FRAME_COLUMNS = (["frame", "time", "given", "rel_l2_mean", "rel_l2_median", "rel_l2_q25", "rel_l2_q75", "one_step_mean"]
                     + [f"{k}_mean" for k in MEAN_CURVES] + [f"{k}_max" for k in MAX_CURVES])


def per_frame_rows(n_given: int, dt: float, rel: np.ndarray, rel_one_step: np.ndarray, curves: dict) -> list[dict]:
    """One row per frame: statistics over trajectories of each curve (given frames flagged ``given = 1``;
    their one-step and indicator entries are empty)."""
    s, s1 = summary(rel), summary(rel_one_step)
    means = {k: np.mean(np.asarray(v, dtype=np.float64), axis=0) for k, v in curves.items()}
    maxima = {k: np.max(np.asarray(v, dtype=np.float64), axis=0) for k, v in curves.items() if k in MAX_CURVES}
    rows = []
    for f in range(rel.shape[1]):
        row = {"frame": f, "time": f * dt, "given": int(f < n_given), "rel_l2_mean": s["mean"][f],
               "rel_l2_median": s["median"][f], "rel_l2_q25": s["q25"][f], "rel_l2_q75": s["q75"][f],
               "one_step_mean": None if f < n_given else s1["mean"][f]}
        for k in MEAN_CURVES:
            row[f"{k}_mean"] = float(means[k][f]) if k in means and np.isfinite(means[k][f]) else None
        for k in MAX_CURVES:
            row[f"{k}_max"] = float(maxima[k][f]) if k in maxima else None
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
