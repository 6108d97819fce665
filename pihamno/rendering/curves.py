"""Time curves of a rollout: relative L2 error, free energy and mass (matplotlib, Agg backend).

The rollout file may carry these curves (``rel_l2``, ``energy_ref``/``energy_pred``, ``mass_ref``/``mass_pred``,
each (T, F)); the relative L2 error is recomputed from the fields (n^3 node grid of [0, L]^3, h = L / (n - 1))
when absent, with the evaluation's own metric.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pihamno.rendering.backend import save_png, short_label


def relative_l2(reference: np.ndarray, prediction: np.ndarray, L: float) -> np.ndarray:
    """||prediction - reference|| / ||reference|| per frame: (..., n, n, n) twice -> (...).

    The same measure as the rollout file's ``rel_l2`` curve (:func:`pihamno.stepping.rel_l2`,
    L2 norms with the lumped P1 mass of the ``kuhn`` mesh of the node grid as quadrature weights).
    """
    import torch

    from pihamno.stepping import grid_weights, rel_l2

    weights = grid_weights(np.shape(reference)[-1], L)
    return rel_l2(torch.as_tensor(np.asarray(prediction)), torch.as_tensor(np.asarray(reference)), weights).numpy()


def _axes(title: str, ylabel: str, times: np.ndarray, n_given: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    if 0 < n_given <= len(times):
        if n_given > 1:
            ax.axvspan(times[0], times[n_given - 1], color="0.92", lw=0)
        ax.axvline(times[n_given - 1], color="0.45", ls=":", lw=1.2, label=f"last of {n_given} given frame(s)")
    ax.set_xlabel("t")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.set_xlim(times[0], times[-1])
    ax.grid(alpha=0.3)
    return fig, ax


def _save(fig, path, overwrite) -> Path:
    import matplotlib.pyplot as plt

    try:
        return save_png(path, fig, overwrite=overwrite)
    finally:
        plt.close(fig)


def plot_rel_l2(times: np.ndarray, rel_l2: np.ndarray, trajectory: int, n_given: int, path: str | Path,
                computed: bool = False, overwrite: bool = True, label: str = "") -> Path:
    """Relative L2 error vs time: ``rel_l2`` (T, F) for all trajectories, ``trajectory`` highlighted.

    Other trajectories are drawn thin and grey with their mean dashed. ``computed`` notes in the title that
    the curve was recomputed from the fields rather than read from the file; ``label`` names the model.
    """
    rel_l2 = np.atleast_2d(rel_l2)
    source = "recomputed from the fields" if computed else "from the rollout file"
    ylabel = r"$\|u_\mathrm{pred} - u_\mathrm{ref}\|\,/\,\|u_\mathrm{ref}\|$"
    fig, ax = _axes(f"{label + ': ' if label else ''}relative L2 error of the rollout ({source})", ylabel, times, n_given)
    if rel_l2.shape[0] > 1:
        for row in rel_l2:
            ax.plot(times, row, color="0.65", lw=0.7)
        ax.plot(times, np.nanmean(rel_l2, axis=0), color="black", ls="--", lw=1.2,
                label=f"mean of {rel_l2.shape[0]} trajectories")
    ax.plot(times, rel_l2[trajectory], color="tab:red", lw=2.0, label=f"trajectory {trajectory}")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path, overwrite)


def plot_pair(times: np.ndarray, ref: np.ndarray | None, pred: np.ndarray | None, quantity: str, trajectory: int,
              n_given: int, path: str | Path, overwrite: bool = True, label: str = "") -> Path:
    """One quantity (e.g. free energy or mass) of the reference and the prediction vs time, each (F,) or None."""
    fig, ax = _axes(f"{label + ': ' if label else ''}{quantity}, trajectory {trajectory}", quantity, times, n_given)
    if ref is not None:
        ax.plot(times, ref, color="black", lw=1.8, label="reference")
    if pred is not None:
        ax.plot(times, pred, color="tab:red", lw=1.8, ls="--", label=f"{short_label(label)} prediction".strip())
    ax.legend(fontsize=8)
    return _save(fig, path, overwrite)
