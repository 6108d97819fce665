"""Training of the neural operators: windows, objective, optimiser, the loop, checkpoints, logs, DDP.

Modules, one job each: :mod:`.windows` (trajectory splits and random windows), :mod:`.losses` (data +
physics objective), :mod:`.optim` (AdamW + cosine schedule), :mod:`.checkpoint` (resumable,
``weights_only``-safe checkpoints), :mod:`.logs` (metrics.csv, TensorBoard), :mod:`.distributed` (torchrun /
DDP), :mod:`.trainer` (the loop, over ready objects). Configs become these objects in
:mod:`pihamno.config.build`; the normalisation and the rollout used for validation are :mod:`pihamno.stepping`'s.
"""

from pihamno.training.losses import Objective
from pihamno.training.trainer import LoopSettings, Trainer

__all__ = ["LoopSettings", "Objective", "Trainer"]
