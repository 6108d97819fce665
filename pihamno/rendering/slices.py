"""2D contour plots of the central slice z = L/2: reference, prediction and |prediction - reference|.

Grid convention (docs/design.md section 2): fields are (n, n, n) arrays on the node grid of [0, L]^3, C order,
``u[i, j, k]`` at (i h, j h, k h), h = L / (n - 1). The slice z = L/2 is the plane k = (n - 1)/2; for even n
it lies between two grid planes and is their average (the trilinear interpolant there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pihamno.errors import InputError
from pihamno.rendering.backend import save_png, short_label

#: Diverging map for u (phases +-1 around the interface u = 0), sequential map for the error magnitude.
FIELD_CMAP = "RdBu_r"
ERROR_CMAP = "viridis"


def central_slice(u: np.ndarray) -> np.ndarray:
    """Values on the plane z = L/2 of grid fields ``u`` (..., n, n, n), shape (..., n, n) indexed [i, j]."""
    u = np.asarray(u)
    n = u.shape[-1]
    lo, hi = (n - 1) // 2, n // 2
    return u[..., lo] if lo == hi else 0.5 * (u[..., lo] + u[..., hi])


def _zero_line(ax, X, Y, s, **style) -> bool:
    """Draw the u = 0 contour of slice ``s`` if it changes sign; True when drawn."""
    if s.min() < 0.0 < s.max():
        ax.contour(X, Y, s, levels=[0.0], **style)
        return True
    return False


def plot_slices(
    reference: np.ndarray,
    prediction: np.ndarray,
    times: np.ndarray,
    L: float,
    path: str | Path,
    overwrite: bool = True,
    given=None,
    label: str = "",
) -> Path:
    """PNG of central slices z = L/2, one row per frame: reference | prediction | |prediction - reference|.

    ``reference`` and ``prediction`` have shape (k, n, n, n), ``times`` (k,). u is drawn with a diverging
    map symmetric about 0 and its interface u = 0 as a black line; the error panel shows |error| with a
    sequential map and both interfaces (reference solid, prediction dashed). ``given`` (k,) marks rows whose
    "prediction" is a frame given to the model (titled "given input"); ``label`` names the model in the titles.
    Returns ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reference, prediction = np.asarray(reference, float), np.asarray(prediction, float)
    if reference.ndim != 4 or reference.shape != prediction.shape:
        raise InputError(
            f"reference {reference.shape} and prediction {prediction.shape} must both have shape (k, n, n, n)"
        )
    k, n = reference.shape[0], reference.shape[-1]
    given = np.zeros(k, bool) if given is None else np.asarray(given, bool)
    ref_s, pred_s = central_slice(reference), central_slice(prediction)
    err_s = np.abs(pred_s - ref_s)
    x = np.linspace(0.0, L, n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    umax = float(max(np.abs(ref_s).max(), np.abs(pred_s).max())) or 1.0
    u_levels = np.linspace(-umax, umax, 21)
    e_levels = np.linspace(0.0, float(err_s.max()) or 1.0, 11)

    fig, axes = plt.subplots(k, 3, figsize=(10.0, 3.1 * k + 1.0), squeeze=False, layout="constrained")
    for r in range(k):
        right = "given input (= reference)" if given[r] else f"{short_label(label)} prediction".strip()
        for c, (title, s) in enumerate([("reference", ref_s[r]), (right, pred_s[r])]):
            ax = axes[r, c]
            cu = ax.contourf(X, Y, s, levels=u_levels, cmap=FIELD_CMAP, extend="both")
            has = _zero_line(ax, X, Y, s, colors="black", linewidths=1.2)
            ax.set_title(f"{title}, t = {times[r]:.4g}" + ("" if has else " (no interface)"), fontsize=10)
        ax = axes[r, 2]
        ce = ax.contourf(X, Y, err_s[r], levels=e_levels, cmap=ERROR_CMAP, extend="max")
        _zero_line(ax, X, Y, ref_s[r], colors="white", linewidths=1.2)
        _zero_line(ax, X, Y, pred_s[r], colors="white", linewidths=1.2, linestyles="dashed")
        ax.set_title(f"|prediction - reference|, t = {times[r]:.4g}" + (" (0: given)" if given[r] else ""), fontsize=10)
        for c, ax in enumerate(axes[r]):
            ax.set_aspect("equal")
            ax.set_xlim(0, L)
            ax.set_ylim(0, L)
            if r == k - 1:
                ax.set_xlabel("x")
            if c == 0:
                ax.set_ylabel("y")
    fig.colorbar(cu, ax=axes[:, :2], location="bottom", label="u", shrink=0.7, aspect=40,
                 ticks=np.linspace(-umax, umax, 5), format="%.2g")
    fig.colorbar(ce, ax=axes[:, 2], location="bottom", label="|prediction - reference|", shrink=0.9, aspect=20,
                 ticks=np.linspace(0.0, e_levels[-1], 3), format="%.2g")
    fig.suptitle(f"{label + ': ' if label else ''}central slice z = L/2 = {L / 2:.4g}  (interface u = 0: reference "
                 "solid, prediction dashed)", fontsize=10)
    try:
        return save_png(path, fig, overwrite=overwrite)
    finally:
        plt.close(fig)
