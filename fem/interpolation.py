"""Sparse maps between the n^3 node grid and a finite-element space on any mesh of the cube.

* :func:`grid_to_points` -- trilinear interpolation of a grid field at arbitrary points, a sparse matrix
  ``P`` of shape ``(npoints, n**3)`` with 8 weights per row summing to one. Exact for trilinear functions.
  With the dof locations of a basis as the points, ``P`` maps a grid field to the finite-element
  coefficients (nodal interpolation of the trilinear interpolant).
* :func:`dofs_to_grid` -- evaluation of a finite-element function at the grid nodes (scikit-fem
  ``Basis.probes``), shape ``(n**3, ndofs)``.

On a structured cube mesh with P1 elements both are the identity; :func:`grid_to_dofs` returns ``None``
there so callers skip the product.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fem.assembly import Operators
from fem.errors import InputError
from fem.mesh import cube_side, grid_points, is_grid_mesh


def grid_to_points(points: np.ndarray, n: int, L: float) -> sp.csr_matrix:
    """Trilinear interpolation matrix from the n^3 node grid of [0, L]^3 to ``points`` (3, npoints).

    Row r holds the weights prod_d (1 - |x_d - x_{i_d}| / h) of the 8 grid nodes around point r,
    h = L / (n - 1), nodes in C order. Points outside the cube (beyond a round-off margin) are refused.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[0] != 3:
        raise InputError(f"points must have shape (3, npoints), got {points.shape}")
    if n < 2:
        raise InputError(f"n must be >= 2, got {n}")
    h = L / (n - 1)
    if np.any(points < -1e-9 * L) or np.any(points > L * (1 + 1e-9)):
        raise InputError(f"points lie outside the cube [0, {L}]^3 of the grid")
    s = np.clip(points / h, 0.0, n - 1.0)
    i0 = np.minimum(np.floor(s).astype(np.int64), n - 2)
    w = s - i0  # (3, npoints) in [0, 1]
    npts = points.shape[1]
    rows, cols, vals = [], [], []
    for di in (0, 1):
        for dj in (0, 1):
            for dk in (0, 1):
                wt = (
                    (w[0] if di else 1 - w[0])
                    * (w[1] if dj else 1 - w[1])
                    * (w[2] if dk else 1 - w[2])
                )
                idx = ((i0[0] + di) * n + (i0[1] + dj)) * n + (i0[2] + dk)
                rows.append(np.arange(npts))
                cols.append(idx)
                vals.append(wt)
    P = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(npts, n**3)
    )
    P.eliminate_zeros()
    P.sort_indices()
    return P


def _grid_map(ops: Operators, n: int, name: str, build) -> sp.csr_matrix | None:
    """The map ``name`` between the n^3 grid and the dofs of ``ops``, built once by ``build(L)`` and cached
    on ``ops``; ``None`` for P1 on a mesh whose nodes are that grid (the map is the identity)."""
    L = cube_side(ops.mesh)
    if ops.element == "P1" and is_grid_mesh(ops.mesh, n, L):
        return None
    key = (name, n)
    if key not in ops._probes:
        ops._probes[key] = build(L)
    return ops._probes[key]


def grid_to_dofs(ops: Operators, n: int) -> sp.csr_matrix | None:
    """Grid field -> finite-element coefficients, ``(ndofs, n**3)``; ``None`` when it is the identity."""
    return _grid_map(ops, n, "grid_to_dofs", lambda L: grid_to_points(ops.doflocs, n, L))


def dofs_to_grid(ops: Operators, n: int) -> sp.csr_matrix | None:
    """Finite-element function -> its values at the n^3 grid nodes, ``(n**3, ndofs)``; ``None`` if identity."""
    return _grid_map(ops, n, "dofs_to_grid", lambda L: sp.csr_matrix(ops.basis.probes(grid_points(n, L))))
