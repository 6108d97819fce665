"""Physics losses: weak (assembled FEM, the reference solver's own scheme) and strong (finite-difference)
residuals on torch sparse operators, and the paper's element-local residual for comparison."""

from pihamno.physics.finite_difference import FiniteDifferenceOperators, laplacian_mirror, mirror_laplacian_matrix
from pihamno.physics.loss import WEAK_KINDS, PhysicsLoss, WeakKind, combine_losses

__all__ = ["PhysicsLoss", "combine_losses", "WEAK_KINDS", "WeakKind", "FiniteDifferenceOperators", "laplacian_mirror",
           "mirror_laplacian_matrix"]
