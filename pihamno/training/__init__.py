"""Training of the neural operators: a run from a config, windows, objective, optimiser, the loop, checkpoints,
logs, DDP.

Modules, one job each: :mod:`.run` (a run from a :class:`~pihamno.config.TrainConfig`: :func:`train`, the
resume policy, the trainer's builder), :mod:`.windows` (trajectory splits, random windows, the unlabeled inputs),
:mod:`.losses` (data + physics objective), :mod:`.balance` (running means that make lambda the physics
share), :mod:`.optim` (AdamW + cosine schedule), :mod:`.run_state` (the training checkpoint: everything to
continue a run, ``weights_only``-safe), :mod:`.logs` (metrics.csv, steps.csv, TensorBoard), :mod:`.distributed` (torchrun / DDP),
:mod:`.trainer` (the loop, over ready objects). The model and the physics loss a config names are built by
:mod:`pihamno.config.build`; the normalisation and the rollout used for validation are :mod:`pihamno.stepping`'s.
"""

from pihamno.training.losses import Objective
from pihamno.training.run import RESUME_FREE, TrainResult, build_trainer, config_for_resume, resolve_checkpoint, train
from pihamno.training.trainer import LoopSettings, Trainer

__all__ = ["RESUME_FREE", "LoopSettings", "Objective", "TrainResult", "Trainer", "build_trainer", "config_for_resume",
           "resolve_checkpoint", "train"]
