"""The named choices of pihamno, each defined once (a ``Literal`` type and its tuple), with those of the
finite-element layer (:mod:`fem.choices`) re-exported: what configs validate against, what command lines
offer as ``choices=``, and what the implementing modules accept. Imports nothing heavy.

>>> WEAK_KINDS, NORMALIZATIONS, DATA_LOSSES, VAL_METRICS
(('assembled', 'element_local'), ('none', 'standard'), ('mse', 'rel_l2'), ('rollout', 'one_step'))
"""

from __future__ import annotations

from typing import Literal, get_args

from fem.choices import ELEMENTS, MASS_KINDS, PRECONDITIONERS, SPLITS, Element, MassKind, Preconditioner, Split

__all__ = ["BALANCES", "DATA_LOSSES", "ELEMENTS", "GUARD_CHECKS", "MASS_KINDS", "NORMALIZATIONS", "OPTIMIZERS",
           "PRECONDITIONERS", "SPLITS", "TARGETS", "VAL_METRICS", "WEAK_KINDS", "Balance", "DataLoss", "Element",
           "GuardCheck", "MassKind", "Normalization", "Optimizer", "Preconditioner", "Split", "Target", "ValMetric",
           "WeakKind"]

#: weak residual of the physics loss (:class:`pihamno.physics.PhysicsLoss`)
WeakKind = Literal["assembled", "element_local"]
WEAK_KINDS: tuple[str, ...] = get_args(WeakKind)

#: normalisation around the model (:class:`pihamno.stepping.FieldProcessor`)
Normalization = Literal["none", "standard"]
NORMALIZATIONS: tuple[str, ...] = get_args(Normalization)

#: what the model's output stands for (:class:`pihamno.stepping.FieldProcessor`): the next frame, or the
#: increment to it normalised by the increments' own statistics
Target = Literal["state", "increment"]
TARGETS: tuple[str, ...] = get_args(Target)

#: the checks of the rollout guard (:class:`pihamno.stepping.GuardSettings`; ``residual`` takes a tolerance)
GuardCheck = Literal["energy", "bound", "residual"]
GUARD_CHECKS: tuple[str, ...] = get_args(GuardCheck)

#: data misfit of the training objective (:func:`pihamno.training.losses.data_loss`)
DataLoss = Literal["mse", "rel_l2"]
DATA_LOSSES: tuple[str, ...] = get_args(DataLoss)

#: validation score that selects best.pt (:class:`pihamno.training.Trainer`)
ValMetric = Literal["rollout", "one_step"]
VAL_METRICS: tuple[str, ...] = get_args(ValMetric)

#: optimiser (:func:`pihamno.training.optim.build_optimizer`): AdamW (decoupled weight decay) or Adam (coupled)
Optimizer = Literal["adamw", "adam"]
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)

#: scaling of the objective's terms (:class:`pihamno.training.balance.LossBalance`)
Balance = Literal["running_mean", "physics", "none"]
BALANCES: tuple[str, ...] = get_args(Balance)
