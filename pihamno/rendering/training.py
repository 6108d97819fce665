"""Training curves of a run, from its ``metrics.csv`` (one row per epoch), as one PNG (matplotlib, Agg).

The columns are read generically, so columns added to the log later are drawn too:

* **losses** (log scale): ``loss``, ``data`` and every physics term -- the columns named in :data:`LOSSES` or
  containing ``loss`` or ``residual`` -- each the mean over the epoch's steps;
* **validation** (the rollout rel-L2 that selects ``best.pt``): ``val_score``, and ``best`` so far (dashed);
* **other**: every other numeric column (gradient norm, physics shares, ...), one curve each, log scale when
  positive.

Columns that are empty or zero in every row (the physics terms of a lambda = 0 run) are left out; ``epoch``,
``step``, ``lr`` and ``seconds`` are the axes and bookkeeping, not curves.

>>> split_columns(["epoch", "step", "lr", "loss", "data", "strong", "weak", "grad_norm", "val_score", "best",
...                "seconds", "share_weak"])
(['loss', 'data', 'strong', 'weak'], ['val_score', 'best'], ['grad_norm', 'share_weak'])
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from pihamno.errors import InputError, input_file
from pihamno.rendering.backend import save_png

#: Loss columns known by name (others are recognised by "loss" or "residual" in their name).
LOSSES = ("loss", "data", "strong", "weak")
VALIDATION = ("val_score", "best")
BOOKKEEPING = ("epoch", "step", "lr", "seconds")


def split_columns(columns: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``(losses, validation, other)`` column names of a metrics.csv header, in the file's order."""
    cols = [c for c in columns if c not in BOOKKEEPING]
    losses = [c for c in cols if c in LOSSES or "loss" in c or "residual" in c]
    validation = [c for c in cols if c in VALIDATION]
    return losses, validation, [c for c in cols if c not in losses and c not in validation]


def read_metrics(path: str | Path) -> dict[str, np.ndarray]:
    """Every column of a metrics.csv as a float array (empty or non-numeric cells are NaN), in header order."""
    path = input_file(path, "training log (metrics.csv)")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    if not rows:
        raise InputError(f"training log {str(path)!r} has no epoch rows yet")

    def number(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return np.nan

    return {c: np.array([number(r.get(c)) for r in rows]) for c in header}


def _drawn(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and bool(np.any(finite != 0))


def plot_training(metrics_csv: str | Path, path: str | Path, label: str = "", overwrite: bool = True) -> Path:
    """PNG of the training curves in ``metrics_csv`` (module docstring) against the epoch; returns ``path``.

    ``label`` names the model (e.g. "PI-HAMNO (hamno, lambda = 0.25)") in the title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = read_metrics(metrics_csv)
    epoch = cols.get("epoch")
    x = epoch if epoch is not None and np.all(np.isfinite(epoch)) else np.arange(1, len(next(iter(cols.values()))) + 1)
    losses, validation, other = (([c for c in group if _drawn(cols[c])]) for group in split_columns(list(cols)))
    panels = [("training loss and its terms (epoch means)", losses, True),
              ("validation: rollout rel-L2 (selects best.pt)", validation, False)]
    if other:
        panels.append(("other logged quantities", other, True))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), layout="constrained", squeeze=False)
    for ax, (title, names, log) in zip(axes[0], panels):
        for c in names:
            y = cols[c]
            ok = np.isfinite(y)
            style = {"ls": "--", "color": "0.4"} if c == "best" else {}
            ax.plot(x[ok], y[ok], marker="o" if ok.sum() < 30 else None, ms=3, lw=1.6, label=c, **style)
        if not names:
            ax.text(0.5, 0.5, "nothing logged", ha="center", va="center", transform=ax.transAxes, color="0.4")
        elif log and all(np.all(cols[c][np.isfinite(cols[c])] > 0) for c in names):
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if names:
            ax.legend(fontsize=8)
    fig.suptitle(f"{label + ': ' if label else ''}training curves from {Path(metrics_csv).name}", fontsize=10)
    try:
        return save_png(path, fig, overwrite=overwrite)
    finally:
        plt.close(fig)
