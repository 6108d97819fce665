"""Physics losses: weak (the assembled Galerkin residual of the reference solver's own scheme) and strong (its
nodal residual on the data's discretisation) on torch sparse operators, both zero on reference data; the paper's
element-local residual for comparison. Mixing them into the training objective is
:class:`pihamno.training.Objective`'s job. The residual indicator: the scheme's relative residual of a predicted
step, a label-free local error (:mod:`.indicator`)."""

from pihamno.physics.indicator import ResidualIndicator
from pihamno.physics.loss import WEAK_KINDS, PhysicsLoss, WeakKind

__all__ = ["PhysicsLoss", "ResidualIndicator", "WEAK_KINDS", "WeakKind"]
