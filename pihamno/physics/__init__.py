"""Physics losses: weak (the assembled Galerkin residual of the reference solver's own scheme) and strong (its
nodal residual on the data's discretisation) on torch sparse operators, both zero on reference data; the paper's
element-local residual for comparison; the 7-point finite-difference operators of the former strong loss."""

from pihamno.physics.finite_difference import FiniteDifferenceOperators, laplacian_mirror, mirror_laplacian_matrix
from pihamno.physics.loss import WEAK_KINDS, PhysicsLoss, WeakKind, combine_losses

__all__ = ["PhysicsLoss", "combine_losses", "WEAK_KINDS", "WeakKind", "FiniteDifferenceOperators", "laplacian_mirror",
           "mirror_laplacian_matrix"]
