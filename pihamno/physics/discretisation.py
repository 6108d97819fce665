"""One finite-element discretisation of the cube seen from the n^3 grid: operators on torch and the grid -> dof map.

A :class:`Discretisation` is a mesh (:class:`fem.mesh.MeshChoice`) and a Lagrange element as the physics losses
use it: the assembled operators (:class:`fem.schemes_torch.TorchSchemeOperators`) on which
:func:`fem.schemes.residual` runs, and the map from grid fields to the dofs, :func:`fem.interpolation.samples_to_dofs`
(the left inverse of the solver's dof -> grid sampling) on torch, differentiable:

* ``identity`` -- P1 on the grid mesh (``kuhn``/``five``): no product;
* ``selection`` -- P2 on the vertex grid (:func:`fem.mesh.structured_vertices`): a sparse 0/1 matrix;
* ``least_squares`` -- a mesh file: ``G^-1 (Q^T W g)``, a sparse product then two dense triangular solves with
  the Cholesky factor of G (ndofs, ndofs);
* ``interpolation`` -- the fallback (trilinear), not exact: the residual of grid samples has a floor.

So on reference data made with the same discretisation the nodal values the loss sees ARE the solver's
(``exact``), and the scheme's residual vanishes on them.

Example (P2 on the 5^3 vertex grid of a 9^3 grid: the dofs are the 729 grid nodes):

>>> import torch
>>> from fem.mesh import MeshChoice
>>> d = Discretisation(MeshChoice("kuhn"), "P2", 9, 2.0, device="cpu", dtype=torch.float64)
>>> d.fem.ndofs, d.inverse.kind, d.exact, tuple(d.nodal(torch.zeros(3, 9, 9, 9, dtype=torch.float64)).shape)
(729, 'selection', True, (729, 3))
"""

from __future__ import annotations

import logging

import torch

from fem.assembly import assemble
from fem.interpolation import samples_to_dofs
from fem.mesh import MeshChoice
from fem.schemes_torch import TorchSchemeOperators
from fem.torch_bridge import SparseOperator

log = logging.getLogger(__name__)


class Discretisation:
    """Mesh + element of the scheme as seen from grid fields of ``n^3`` nodes (module docstring).

    Attributes: ``mesh`` (MeshChoice), ``element``, ``fem`` (:class:`fem.assembly.Operators`), ``ops``
    (torch operators), ``inverse`` (:class:`fem.interpolation.SampleInverse`), ``exact`` (whether grid samples of
    a finite-element function map back to its dofs).
    """

    def __init__(self, mesh: MeshChoice, element: str, n: int, L: float, *, device, dtype: torch.dtype):
        self.mesh, self.element, self.n = mesh, element, int(n)
        self.fem = assemble(mesh.build(self.n, L, element), element)
        self.ops = TorchSchemeOperators.from_fem(self.fem, device=device, dtype=dtype)
        self.inverse = samples_to_dofs(self.fem, self.n)
        inv = self.inverse
        self._matrix = None if inv.matrix is None else SparseOperator(inv.matrix, device, dtype, symmetric=False)
        self._chol = self._scale = None
        if inv.cholesky is not None:
            self._chol = torch.as_tensor(inv.cholesky, device=device, dtype=dtype)
            self._scale = torch.as_tensor(inv.scale, device=device, dtype=dtype)
        if not inv.exact:
            log.warning(f"{self.describe()}: grid fields reach the dofs by {inv.describe()}; the physics loss has an "
                        "interpolation floor on reference data (pihamno check-data reports it)")

    @property
    def exact(self) -> bool:
        return self.inverse.exact

    def same_as(self, mesh: MeshChoice, element: str) -> bool:
        return self.mesh == mesh and self.element == element

    def nodal(self, u: torch.Tensor) -> torch.Tensor:
        """Grid fields ``u`` (B, n, n, n) -> nodal matrix (ndofs, B) on this discretisation."""
        X = u.reshape(u.shape[0], -1).T  # (n^3, B), C order = the grid mesh numbering
        if self._matrix is not None:
            X = self._matrix @ X
        if self._chol is not None:
            X = self._scale * torch.cholesky_solve(X, self._chol)
        return X

    def describe(self) -> str:
        return f"{self.element} on the {self.mesh.describe()} ({self.fem.ndofs} dofs)"
