"""Combine the evaluations of several runs (seeds): mean, standard deviation, coefficient of variation.

Each run folder holds the ``metrics.json`` and ``per_frame.csv`` of ``pihamno evaluate``. For every numeric
entry of ``metrics.json`` present in all runs (flattened to dotted keys, e.g.
``rollout.rel_l2_final.mean``), over the R runs:

    mean = sum_r x_r / R,    std = sqrt(sum_r (x_r - mean)^2 / (R - 1))  (sample std; 0 for R = 1),
    cv = std / |mean|  (null when mean = 0)

and the same per frame for ``rel_l2_mean`` and ``one_step_mean`` of ``per_frame.csv``. Written to
``out``: ``aggregate.json`` and ``aggregate_per_frame.csv``.

Example:

>>> combine([1.0, 3.0])
{'mean': 2.0, 'std': 1.4142135623730951, 'cv': 0.7071067811865476, 'values': [1.0, 3.0]}
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from pihamno.errors import InputError
from pihamno.evaluation.report import write_csv, write_json

SKIP = {"trajectories", "n_given", "frames", "dt", "mid_frame"}


def combine(values) -> dict:
    """mean, sample std (ddof 1), coefficient of variation std/|mean| of a list of numbers."""
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return {"mean": mean, "std": std, "cv": std / abs(mean) if mean != 0 else None, "values": v.tolist()}


def flatten(d: dict, prefix: str = "") -> dict:
    """Numeric leaves of a nested dict as ``{"a.b.c": float}`` (lists, strings and :data:`SKIP` keys dropped)."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if k in SKIP:
            continue
        if isinstance(v, dict):
            out |= flatten(v, key + ".")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = float(v)
    return out


def _read_run(folder: Path) -> tuple[dict, list[dict]]:
    mpath, cpath = folder / "metrics.json", folder / "per_frame.csv"
    if not mpath.is_file():
        raise InputError(f"{str(folder)!r} has no metrics.json; run 'pihamno evaluate' there first")
    try:
        metrics = json.loads(mpath.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{str(mpath)!r} is not valid JSON: {exc}") from None
    rows = []
    if cpath.is_file():
        with open(cpath, newline="") as f:
            rows = list(csv.DictReader(f))
    return metrics, rows


def aggregate(runs: list[str | Path], out: str | Path | None = None) -> dict:
    """Aggregate the evaluation folders ``runs``; write the result to ``out`` when given; return it."""
    if len(runs) < 1:
        raise InputError("--aggregate needs at least one evaluation folder")
    read = [_read_run(Path(r)) for r in runs]
    flat = [flatten(m) for m, _ in read]
    keys = [k for k in flat[0] if all(k in f and f[k] is not None and math.isfinite(f[k]) for f in flat)]
    result = {"runs": [str(r) for r in runs], "count": len(runs), "metrics": {k: combine([f[k] for f in flat]) for k in keys}}
    frames = {len(rows) for _, rows in read}
    per_frame = []
    if len(frames) == 1 and read[0][1]:
        for i, row in enumerate(read[0][1]):
            out_row = {"frame": int(row["frame"]), "time": float(row["time"]), "given": int(row["given"])}
            for col in ("rel_l2_mean", "one_step_mean"):
                vals = [rows[i].get(col, "") for _, rows in read]
                if all(v not in ("", None) for v in vals):
                    c = combine([float(v) for v in vals])
                    out_row |= {f"{col}_mean": c["mean"], f"{col}_std": c["std"]}
            per_frame.append(out_row)
    elif len(frames) > 1:
        raise InputError(f"the runs have different numbers of frames ({sorted(frames)}); cannot aggregate per frame")
    if out is not None:
        out = Path(out)
        write_json(out / "aggregate.json", result)
        if per_frame:
            cols = ["frame", "time", "given", "rel_l2_mean_mean", "rel_l2_mean_std", "one_step_mean_mean", "one_step_mean_std"]
            write_csv(out / "aggregate_per_frame.csv", per_frame, cols)
    return result
