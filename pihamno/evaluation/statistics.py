"""Statistics of a metric over trajectories: mean, std, median, quartiles, min, max (NaNs ignored).

Example:

>>> summary([1.0, 2.0, 3.0])["mean"], summary([[1.0, 2.0], [3.0, 4.0]])["max"]
(2.0, [3.0, 4.0])
"""

from __future__ import annotations

import math

import numpy as np


def summary(values) -> dict:
    """Statistics over the first axis of ``values`` (NaNs ignored): mean, std (ddof 0), median, q25, q75,
    min, max, count. A 1-D input gives floats; a 2-D input (T, F) gives lists of length F."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or np.all(np.isnan(v)):
        nan = float("nan") if v.ndim <= 1 else [math.nan] * v.shape[1]
        return {k: nan for k in ("mean", "std", "median", "q25", "q75", "min", "max")} | {"count": 0}
    with np.errstate(all="ignore"):
        out = {
            "mean": np.nanmean(v, axis=0), "std": np.nanstd(v, axis=0), "median": np.nanmedian(v, axis=0),
            "q25": np.nanpercentile(v, 25, axis=0), "q75": np.nanpercentile(v, 75, axis=0),
            "min": np.nanmin(v, axis=0), "max": np.nanmax(v, axis=0),
        }
    out = {k: (x.tolist() if isinstance(x, np.ndarray) else float(x)) for k, x in out.items()}
    out["count"] = int(np.sum(~np.isnan(v), axis=0).max()) if v.ndim > 1 else int(np.sum(~np.isnan(v)))
    return out
