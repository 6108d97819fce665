"""Training of the neural operators: windows, objective, optimiser, the loop, checkpoints, logs, DDP.

Modules, one job each: :mod:`.windows` (trajectory splits, random windows, the unlabeled pool),
:mod:`.losses` (data + physics objective), :mod:`.balance` (running means that make lambda the physics
share), :mod:`.optim` (AdamW + cosine schedule), :mod:`.checkpoint` (resumable, ``weights_only``-safe
checkpoints), :mod:`.logs` (metrics.csv, steps.csv, TensorBoard), :mod:`.distributed` (torchrun / DDP),
:mod:`.trainer` (the loop, over ready objects). Configs become these objects in
:mod:`pihamno.config.build`; the normalisation and the rollout used for validation are :mod:`pihamno.stepping`'s.
"""

from pihamno.training.losses import Objective
from pihamno.training.trainer import LoopSettings, Trainer

__all__ = ["LoopSettings", "Objective", "Trainer"]
