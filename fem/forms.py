"""Weak forms, written the scikit-fem way: one short function per bilinear form.

A new PDE needs only its forms here; :mod:`fem.assembly` turns them into sparse matrices.
All boundary terms vanish under homogeneous Neumann conditions (natural), so no surface forms are needed.
"""

from skfem import BilinearForm
from skfem.helpers import dot, grad


@BilinearForm
def mass(u, v, _):
    """M_ij = int phi_j phi_i dx."""
    return u * v


@BilinearForm
def stiffness(u, v, _):
    """K_ij = int grad phi_j . grad phi_i dx (the weak -Laplacian with natural Neumann conditions)."""
    return dot(grad(u), grad(v))
