"""Finite-element operators of a tetrahedral mesh, assembled once with scikit-fem and cached.

For a mesh and a Lagrange element (``"P1"`` or ``"P2"``) :func:`assemble` returns :class:`Operators` with

* ``M``  consistent mass, ``M_ij = int phi_i phi_j`` (scipy CSR, float64, symmetric positive definite);
* ``K``  stiffness, ``K_ij = int grad phi_i . grad phi_j`` (symmetric positive semi-definite, ``K 1 = 0``);
* ``lumped`` the diagonal of the lumped mass ``M_L`` as a vector (ndofs,). P1: row sums of ``M``
  (= |supp phi_i| / 4 > 0). P2: row sums are not positive for quadratic tetrahedra, so the HRZ
  (diagonal-scaling) lumping is used, ``M_L,ii = M_ii * |Omega| / sum_k M_kk``, positive and exact for
  the total volume.

Nonlinear terms are interpolated nodally: the load of f(u) is ``M_t f(u)`` (``M_t`` the lumped mass by
default, or ``M``; :mod:`fem.schemes`) with ``f`` applied to the dof values (docs/design.md section 4.1).
That keeps the residual a pair of sparse products, identical in the reference solvers and in the torch
physics losses, so no quadrature-point evaluation matrix is needed.

Example:

>>> from fem.mesh import cube_mesh
>>> ops = assemble(cube_mesh(5, L=2.0))
>>> ops.ndofs, round(float(ops.lumped.sum()), 12)
(125, 8.0)
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import skfem

from fem.choices import ELEMENTS, Element  # noqa: F401 - re-exported: the choices are owned by fem.choices
from fem.errors import InputError
from fem.forms import mass, stiffness

#: Lagrange elements on tetrahedra, and their scikit-fem classes.
ELEMENT_CLASSES = {"P1": skfem.ElementTetP1, "P2": skfem.ElementTetP2}

_CACHE: "OrderedDict[tuple[str, str], Operators]" = OrderedDict()
_CACHE_SIZE = 4


@dataclass(eq=False)
class Operators:
    """Assembled operators of one (mesh, element) pair. Matrices are scipy CSR, float64."""

    mesh: skfem.MeshTet
    element: Element
    basis: skfem.Basis
    M: sp.csr_matrix
    K: sp.csr_matrix
    lumped: np.ndarray
    _probes: dict = field(default_factory=dict, repr=False)
    _products: dict = field(default_factory=dict, repr=False)

    def for_products(self, name: str):
        """``M`` or ``K`` (``name``) stored for fast products (:func:`fem.banded.fast_products`: by diagonals on
        a structured grid, else the CSR matrix), converted once per operators object."""
        if name not in self._products:
            from fem.banded import fast_products

            self._products[name] = fast_products(getattr(self, name))
        return self._products[name]

    @property
    def ndofs(self) -> int:
        """Number of degrees of freedom (a Python int)."""
        return int(self.basis.N)

    @property
    def doflocs(self) -> np.ndarray:
        """Coordinates of the degrees of freedom, shape ``(3, ndofs)`` (mesh nodes first for P1 and P2)."""
        return self.basis.doflocs

    def summary(self) -> str:
        m = self.mesh
        return (
            f"{self.element} on {m.p.shape[1]} nodes / {m.t.shape[1]} tetrahedra: {self.ndofs} dofs, "
            f"M nnz={self.M.nnz}, K nnz={self.K.nnz}, volume={self.lumped.sum():.6g}"
        )


def mesh_key(mesh: skfem.MeshTet) -> str:
    """Content hash of a mesh (points and cells), used as the assembly cache key."""
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(mesh.p, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(mesh.t, dtype=np.int64).tobytes())
    return h.hexdigest()


def assemble(mesh: skfem.MeshTet, element: Element = "P1") -> Operators:
    """Assemble (or fetch from the cache) M, K and the lumped mass of ``mesh`` for ``element``.

    The cache holds the last few (mesh content, element) pairs, so calling this repeatedly for the same
    mesh is free.
    """
    if element not in ELEMENTS:
        raise InputError(f"unknown element {element!r}; expected one of {', '.join(ELEMENTS)}")
    key = (mesh_key(mesh), element)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    basis = skfem.Basis(mesh, ELEMENT_CLASSES[element]())
    # Symmetric forms come out symmetric only up to round-off (summation order); symmetrise exactly so
    # the torch bridge can use A^T = A in the backward pass.
    M, K = (_symmetrised(form.assemble(basis)) for form in (mass, stiffness))
    lumped = np.asarray(M.sum(axis=1)).ravel()
    if element != "P1":
        diag = M.diagonal()
        lumped = diag * (lumped.sum() / diag.sum())
    ops = Operators(mesh=mesh, element=element, basis=basis, M=M, K=K, lumped=lumped)
    _CACHE[key] = ops
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return ops


def _symmetrised(A: sp.spmatrix) -> sp.csr_matrix:
    A = sp.csr_matrix(A)
    A = ((A + A.T) * 0.5).tocsr()
    A.sort_indices()
    return A


def clear_cache() -> None:
    """Forget every cached assembly."""
    _CACHE.clear()
