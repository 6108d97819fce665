"""Physics losses: weak (the assembled Galerkin residual of the reference solver's own scheme) and strong (its
nodal residual on the data's discretisation) on torch sparse operators, both zero on reference data; the paper's
element-local residual for comparison. Mixing them into the training objective is
:class:`pihamno.training.Objective`'s job."""

from pihamno.physics.loss import WEAK_KINDS, PhysicsLoss, WeakKind

__all__ = ["PhysicsLoss", "WEAK_KINDS", "WeakKind"]
