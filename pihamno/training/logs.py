"""Training logs: one CSV row per epoch (``metrics.csv``), one per log step (``steps.csv``) and, when the
package is installed, TensorBoard.

Columns (:data:`COLUMNS`, :data:`STEP_COLUMNS`): the objective ``loss``; the raw terms ``data``, ``strong``,
``weak``; their shares of the objective ``share_physics`` (= ``share_strong + share_weak``), ``share_strong``,
``share_weak``; the clipped-before gradient norm ``grad_norm``; and, measured on log steps when lam > 0, the
norms of the data and physics parts of the gradient ``grad_data``, ``grad_physics``, the physics share of the
gradient ``grad_share = grad_physics / (grad_data + grad_physics)`` and the cosine ``grad_cos`` between the
two parts. ``metrics.csv`` holds epoch means (the gradient columns: over that epoch's log steps; empty when
it had none); ``steps.csv`` the values of each log step.

TensorBoard is never required: if ``torch.utils.tensorboard`` cannot be imported (no ``tensorboard``
package), only the CSVs are written and one log line says so (once per process). On resume the CSVs are
truncated to the epochs / steps the checkpoint has completed, then appended to, so they never hold rows of a
lost epoch twice.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

log = logging.getLogger(__name__)
_NOTED = False  # the TensorBoard note is given once per process

_TERMS = ["loss", "data", "strong", "weak", "share_physics", "share_strong", "share_weak", "grad_norm", "grad_data",
          "grad_physics", "grad_share", "grad_cos"]
COLUMNS = ["epoch", "step", "lr", *_TERMS, "val_score", "val_one_step", "best", "seconds"]
STEP_COLUMNS = ["step", "epoch", "lr", *_TERMS]


def _keep(path: Path, key: str, last: int | None) -> list[dict]:
    """The rows of an existing CSV whose ``key`` is at most ``last`` (None: no rows)."""
    if last is None or not path.is_file():
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if int(r[key]) <= last]


def _start(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


class MetricsLog:
    """Writes ``metrics.csv`` (epoch rows), ``steps.csv`` (log-step rows) and TensorBoard scalars under ``out``
    (rank 0 only)."""

    def __init__(self, out: str | Path, tensorboard: bool = True, resume_epoch: int | None = None,
                 purge_step: int | None = None, quiet: bool = False):
        self.path = Path(out) / "metrics.csv"
        self.steps_path = Path(out) / "steps.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _start(self.path, COLUMNS, _keep(self.path, "epoch", resume_epoch))
        _start(self.steps_path, STEP_COLUMNS, _keep(self.steps_path, "step", None if purge_step is None else purge_step - 1))
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                global _NOTED
                if not (quiet or _NOTED):
                    log.info("tensorboard is not installed; logging to metrics.csv only")
                    _NOTED = True
            else:
                # on resume, events past the checkpoint's step (from the lost part of the run) are purged
                self.writer = SummaryWriter(str(Path(out) / "tensorboard"), purge_step=purge_step)

    def scalars(self, step: int, values: dict, prefix: str = "train") -> None:
        """TensorBoard points ``prefix/name`` at global ``step`` (no-op without TensorBoard)."""
        if self.writer is not None:
            for k, v in values.items():
                if v is not None:
                    self.writer.add_scalar(f"{prefix}/{k}", float(v), step)

    def step(self, step: int, epoch: int, values: dict) -> None:
        """One log step: a ``steps.csv`` row and TensorBoard points ``train/name`` (``values``: 0-d tensors or
        numbers, keys from :data:`STEP_COLUMNS`)."""
        row = {k: float(v) for k, v in values.items() if v is not None}
        with open(self.steps_path, "a", newline="") as f:
            csv.DictWriter(f, STEP_COLUMNS).writerow({k: _fmt(v) for k, v in
                                                      ({"step": step, "epoch": epoch} | row).items() if k in STEP_COLUMNS})
        self.scalars(step, row)

    def epoch(self, row: dict) -> None:
        """Append one epoch row (keys from :data:`COLUMNS`; missing ones left empty)."""
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, COLUMNS).writerow({k: _fmt(row.get(k)) for k in COLUMNS})
        self.scalars(int(row["step"]), {k: row.get(k) for k in ("loss", "data", "strong", "weak", "share_physics",
                                                                 "grad_share", "val_score", "val_one_step")}, "epoch")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return v
