"""Training logs: one CSV row per epoch (``metrics.csv``) and, when the package is installed, TensorBoard.

TensorBoard is never required: if ``torch.utils.tensorboard`` cannot be imported (no ``tensorboard``
package), only the CSV is written and one log line says so (once per process). On resume the CSV is truncated to the epochs
the checkpoint has completed, then appended to, so it never holds rows of a lost epoch twice.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

log = logging.getLogger(__name__)
_NOTED = False  # the TensorBoard note is given once per process

COLUMNS = ["epoch", "step", "lr", "loss", "data", "strong", "weak", "grad_norm", "val_score", "val_one_step", "best", "seconds"]


class MetricsLog:
    """Writes ``metrics.csv`` (epoch rows) and TensorBoard scalars under ``out`` (rank 0 only)."""

    def __init__(self, out: str | Path, tensorboard: bool = True, resume_epoch: int | None = None,
                 purge_step: int | None = None, quiet: bool = False):
        self.path = Path(out) / "metrics.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_epoch is not None and self.path.is_file():
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= resume_epoch]
        else:
            rows = []
        with open(self.path, "w", newline="") as f:
            w = csv.DictWriter(f, COLUMNS)
            w.writeheader()
            w.writerows(rows)
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

    def epoch(self, row: dict) -> None:
        """Append one epoch row (keys from :data:`COLUMNS`; missing ones left empty)."""
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, COLUMNS).writerow({k: _fmt(row.get(k)) for k in COLUMNS})
        self.scalars(int(row["step"]), {k: row.get(k) for k in ("loss", "data", "strong", "weak", "val_score", "val_one_step")},
                     "epoch")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return v
