"""Sparse maps between the n^3 node grid and a finite-element space on any mesh of the cube.

* :func:`grid_to_points` -- trilinear interpolation of a grid field at arbitrary points, a sparse matrix
  ``P`` of shape ``(npoints, n**3)`` with 8 weights per row summing to one. Exact for trilinear functions.
  With the dof locations of a basis as the points, ``P`` maps a grid field to the finite-element
  coefficients (nodal interpolation of the trilinear interpolant).
* :func:`dofs_to_grid` -- evaluation of a finite-element function at the grid nodes (scikit-fem
  ``Basis.probes``), shape ``(n**3, ndofs)``.

* :func:`samples_to_dofs` -- a left inverse of :func:`dofs_to_grid`: the finite-element coefficients of a
  function from its grid samples, ``P`` with ``P Q = I`` (:class:`SampleInverse`). This is the map of the
  physics losses and of ``check-data``: data solved on a mesh and sampled to the grid are recovered
  exactly, so the scheme's residual vanishes on them again.

On a structured cube mesh with P1 elements all are the identity; they return ``None`` there so callers
skip the product. When every dof sits on a grid node (P2 on the vertex grid of :func:`fem.mesh.structured_vertices`)
:func:`grid_to_dofs` is the exact selection of those nodes.

Example (P1 on a gmsh mesh of [0, 2]^3 with 144 nodes, sampled on the 9^3 grid):

>>> from fem.assembly import assemble
>>> from fem.mesh import load_mesh
>>> ops = assemble(load_mesh("meshes/cube_gmsh_h0.5_L2.msh"))
>>> inv = samples_to_dofs(ops, 9)
>>> inv.kind, inv.exact
('least_squares', True)
>>> x = np.random.default_rng(0).standard_normal((ops.ndofs, 2))
>>> bool(np.allclose(inv @ (dofs_to_grid(ops, 9) @ x), x, rtol=0, atol=1e-12))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from fem.assembly import Operators
from fem.errors import InputError
from fem.grid import trapezoid_weights
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


def grid_node_selection(points: np.ndarray, n: int, L: float, atol: float = 1e-9) -> sp.csr_matrix | None:
    """The 0/1 matrix (npoints, n**3) picking the grid node at each point when every point is a node of the
    n^3 grid (to ``atol`` h), else ``None``."""
    s = np.asarray(points, dtype=float) / (L / (n - 1))
    idx = np.rint(s)
    if np.abs(s - idx).max(initial=0.0) > atol or idx.min(initial=0) < 0 or idx.max(initial=0) > n - 1:
        return None
    i, j, k = idx.astype(np.int64)
    cols = (i * n + j) * n + k
    npts = cols.size
    return sp.csr_matrix((np.ones(npts), (np.arange(npts), cols)), shape=(npts, n**3))


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
    """Grid field -> finite-element coefficients, ``(ndofs, n**3)``; ``None`` when it is the identity.

    Trilinear interpolation at the dof locations; the exact selection when every dof is a grid node."""

    def build(L):
        sel = grid_node_selection(ops.doflocs, n, L)
        return grid_to_points(ops.doflocs, n, L) if sel is None else sel

    return _grid_map(ops, n, "grid_to_dofs", build)


def dofs_to_grid(ops: Operators, n: int) -> sp.csr_matrix | None:
    """Finite-element function -> its values at the n^3 grid nodes, ``(n**3, ndofs)``; ``None`` if identity."""
    return _grid_map(ops, n, "dofs_to_grid", lambda L: probes(ops, grid_points(n, L)))


def locate_cells(ops: Operators, points: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Index of a tetrahedron containing each point (3, npoints), in chunks of ``chunk`` points.

    Candidates are the cells with the nearest centroids (8, then 64, then all, per point still unplaced), tested
    with barycentric coordinates >= -1e-12; memory O(chunk x candidates), where scikit-fem's own finder forms
    (3, candidates of all points, npoints) arrays (3.6 GiB for P2 on 12^3 cells at 25^3 points). Refuses
    points outside the mesh.
    """
    from scipy.spatial import cKDTree

    mesh, mapping = ops.mesh, ops.basis.mapping
    invA, b = mapping.invA, mapping.b  # (3, 3, ncells), (3, ncells)
    ncells = mesh.t.shape[1]
    tree = cKDTree(mesh.p[:, mesh.t].mean(axis=1).T)
    cells = np.full(points.shape[1], -1, dtype=np.int64)
    for start in range(0, points.shape[1], chunk):
        idx = np.arange(start, min(start + chunk, points.shape[1]))
        for k in (8, 64, ncells):
            if idx.size == 0:
                break
            k = min(k, ncells)
            x = points[:, idx]
            cand = tree.query(x.T, k)[1].reshape(idx.size, k)  # (m, k)
            for lo in range(0, k, 64):  # bounded memory: 64 candidates at a time
                c = cand[:, lo:lo + 64]
                y = x[:, :, None] - b[:, c]  # (3, m, kk)
                lam = np.einsum("ijmk,jmk->imk", invA[:, :, c], y)
                inside = (lam >= -1e-12).all(axis=0) & (1.0 - lam.sum(axis=0) >= -1e-12)
                hit = inside.any(axis=1) & (cells[idx] < 0)
                cells[idx[hit]] = c[hit, inside[hit].argmax(axis=1)]
            idx = idx[cells[idx] < 0]
        if idx.size:
            raise InputError(f"{idx.size} points lie outside the mesh, e.g. {points[:, idx[0]].tolist()}")
    return cells


def probes(ops: Operators, points: np.ndarray) -> sp.csr_matrix:
    """Values of the finite-element functions at ``points`` (3, npoints): the (npoints, ndofs) matrix of
    scikit-fem's ``Basis.probes``, with the cells found by :func:`locate_cells`."""
    basis = ops.basis
    cells = locate_cells(ops, points)
    ref = basis.mapping.invF(points[:, :, None], tind=cells)
    phis = np.array([basis.elem.gbasis(basis.mapping, ref, k, tind=cells)[0] for k in range(basis.Nbfun)]).reshape(
        basis.Nbfun, -1)
    rows = np.tile(np.arange(points.shape[1]), basis.Nbfun)
    cols = basis.element_dofs[:, cells].ravel()
    return sp.csr_matrix((phis.ravel(), (rows, cols)), shape=(points.shape[1], basis.N))


#: Largest number of dofs for which :func:`samples_to_dofs` forms the dense Cholesky factor of the Gram matrix
#: (N^2 floats: 200 MB in float64, 100 MB in float32 at this size); above it the map falls back to interpolation.
MAX_LEAST_SQUARES_DOFS = 5000
#: Largest condition number of the Jacobi-scaled Gram matrix Q^T W Q accepted as full column rank.
MAX_GRAM_CONDITION = 1e8


@dataclass(eq=False)
class SampleInverse:
    """Grid samples -> finite-element coefficients: ``X = P g`` for grid fields ``g`` (n^3, B) -> (ndofs, B).

    ``kind`` (and ``P``):

    * ``"identity"`` -- P1 on a mesh whose nodes are the grid (:func:`dofs_to_grid` is the identity);
    * ``"selection"`` -- every dof is a grid node: ``P`` picks those nodes (``matrix``);
    * ``"least_squares"`` -- ``P = G^-1 Q^T W`` with ``Q`` = :func:`dofs_to_grid`, ``W`` the trapezoid weights
      of the grid and ``G = Q^T W Q``: the finite-element function closest to the grid field in the grid's
      discrete L2 norm. Stored Jacobi-scaled, ``D = diag(G)^1/2``, ``G_s = D^-1 G D^-1 = C C^T``:
      ``P g = D^-1 C^-T C^-1 (matrix g)`` with ``matrix = D^-1 Q^T W`` (sparse), ``cholesky = C`` (dense lower
      triangular) and ``scale = D^-1`` (ndofs, 1). Needs Q of full column rank (checked: cond(G_s) <=
      :data:`MAX_GRAM_CONDITION`) and ndofs <= :data:`MAX_LEAST_SQUARES_DOFS`;
    * ``"interpolation"`` -- the fallback, :func:`grid_to_dofs` (trilinear; ``reason`` says why).

    ``exact``: ``P Q = I``, so grid samples of a finite-element function are mapped back to its coefficients
    (all kinds but ``"interpolation"``; for ``"selection"`` because the samples at the dofs are the dofs).
    """

    kind: str
    exact: bool
    ndofs: int
    n: int
    matrix: sp.csr_matrix | None = None
    cholesky: np.ndarray | None = None
    scale: np.ndarray | None = None
    reason: str = ""

    def __matmul__(self, g: np.ndarray) -> np.ndarray:
        import scipy.linalg

        if self.kind == "identity":
            return g
        y = self.matrix @ g
        if self.cholesky is None:
            return y
        return self.scale.reshape((-1,) + (1,) * (y.ndim - 1)) * scipy.linalg.cho_solve((self.cholesky, True), y)

    def describe(self) -> str:
        """One line: the kind, and why it is not exact when it is not."""
        return {"identity": "identity (the mesh nodes are the grid)",
                "selection": "selection of the grid nodes that are dofs (exact)",
                "least_squares": f"least-squares left inverse of the mesh -> grid sampling (exact, {self.reason})",
                "interpolation": f"trilinear interpolation (not exact: {self.reason})"}[self.kind]


def samples_to_dofs(ops: Operators, n: int) -> SampleInverse:
    """The left inverse of :func:`dofs_to_grid` for the n^3 grid (:class:`SampleInverse`), built once per (ops, n).

    Identity for P1 on the grid mesh, the selection when every dof is a grid node, else the weighted
    least-squares inverse ``(Q^T W Q)^-1 Q^T W`` when Q has full column rank and the mesh has at most
    :data:`MAX_LEAST_SQUARES_DOFS` dofs; otherwise trilinear interpolation, with the reason in ``reason``
    (e.g. fewer grid nodes than dofs). Building the least-squares map costs a dense Cholesky factorisation
    of G (measured ~0.1 s at 718 dofs, ~7 s at 4702 dofs on the loaded 2-core machine).
    """
    if grid_to_dofs(ops, n) is None:
        return SampleInverse("identity", True, ops.ndofs, n)
    key = ("samples_to_dofs", n)
    if key in ops._probes:
        return ops._probes[key]
    L = cube_side(ops.mesh)
    sel = grid_node_selection(ops.doflocs, n, L)
    if sel is not None:
        inv = SampleInverse("selection", True, ops.ndofs, n, matrix=sel)
    else:
        inv = _least_squares(ops, n, L)
    ops._probes[key] = inv
    return inv


def _least_squares(ops: Operators, n: int, L: float) -> SampleInverse:
    import scipy.linalg


    N = ops.ndofs

    def fallback(reason: str) -> SampleInverse:
        return SampleInverse("interpolation", False, N, n, matrix=grid_to_dofs(ops, n), reason=reason)

    if N > n**3:
        return fallback(f"the mesh has {N} dofs, more than the {n ** 3} grid nodes that sample it")
    if N > MAX_LEAST_SQUARES_DOFS:
        return fallback(f"the mesh has {N} dofs, above the {MAX_LEAST_SQUARES_DOFS} of the dense least-squares map")
    Q = dofs_to_grid(ops, n)
    QtW = sp.csr_matrix(Q.T.multiply(trapezoid_weights(n, L).reshape(1, -1)))
    G = (QtW @ Q).toarray()
    d = np.sqrt(np.clip(np.diag(G), 0.0, None))
    if np.any(d == 0):
        return fallback(f"{int((d == 0).sum())} dofs have no grid node in their support")
    Gs = G / d[:, None] / d[None, :]
    try:
        C = scipy.linalg.cholesky(Gs, lower=True)
    except np.linalg.LinAlgError:
        return fallback("the grid samples do not determine the mesh function (Q^T W Q is singular)")
    rcond, info = scipy.linalg.lapack.dpocon(C.T, float(np.abs(Gs).sum(0).max()))  # 1-norm estimate, from U = C^T
    cond = 1.0 / rcond if info == 0 and rcond > 0 else float("inf")
    if cond > MAX_GRAM_CONDITION:
        return fallback(f"the grid samples barely determine the mesh function (cond(Q^T W Q) = {cond:.1e})")
    return SampleInverse("least_squares", True, N, n, matrix=sp.csr_matrix(sp.diags(1.0 / d) @ QtW),
                         cholesky=C, scale=(1.0 / d).reshape(-1, 1), reason=f"cond(Q^T W Q) = {cond:.1f}")
