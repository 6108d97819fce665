"""An exact fast solve of the step matrix on the Kuhn grid: DCT-I plus a capacitance correction at the edges.

The plain DCT preconditioner (:class:`fem.solvers.DCTPreconditioner`) inverts ``P = W p(-L_h)`` (W the
trapezoidal lumped mass, ``L_h`` the 7-point Neumann Laplacian, ``p`` the :func:`fem.schemes.symbol` of the
scheme, a polynomial in the Laplacian's eigenvalue). On the ``kuhn`` P1 mesh the step matrix ``A`` equals ``P``
except in the rows and columns of a thin band around the cube's 12 edges (docs/facts.md section 6: AC the
12(n-2)+8 edge and corner nodes, CH and SH one node further in), so

    A = P + E D E^T,     D = (A - P)_RR (k x k, sparse),  E = the columns of the identity at the band R

and the Woodbury identity in push-through form (D may be singular) gives A^-1 exactly::

    A^-1 = P^-1 - P^-1 E C^-1 D E^T P^-1,        C = I + D G,   G = E^T P^-1 E = (P^-1)_RR  (k x k)

Applied to r with two full transforms, as cheap as the plain preconditioner up to O(n^3) terms::

    z^ = DCT(r / W) / p                       full forward transform        (spectral z = P^-1 r)
    z_R = IDCT(z^) at the band                 partial inverse: the band lies on 3 * (2w)^2 grid lines
    y = C^-1 D z_R                             sparse product + LU solves (C factored once, by symmetry blocks)
    x = IDCT(z^ - DCT(E y / W) / p)            partial forward transform of the band values, full inverse

The band lies on the grid lines whose two fixed coordinates are within ``w`` of a face (``w`` the degree of
p: 1 for AC, 2 for CH and SH), so the partial transforms are small tensor contractions (about ``12 w n^3``
multiply-adds each) and ``G`` is assembled line block by line block from the separable 1D factors
``H[x, y, a] = IDCT[x, a] DCT[a, y]`` (about ``1000 n^3``), never from k full solves.

Nothing is assumed about the PDE beyond its :meth:`fem.pde.PDE.symbol`: the band and ``D`` are found by
probing ``A - P`` with coloured indicator vectors (colours ``(i, j, k) mod (2w + 1)``, so two probed columns
never share a row), then verified on a random vector; when the symbol is not a polynomial of degree <= 2,
the band is not on those lines (the consistent mass, the ``five`` split) or the check fails,
:func:`edge_correction` returns ``None`` and the solver keeps the plain DCT preconditioner.

The arrays here are numpy; :class:`EdgeCorrection` applies itself on numpy (``fem.solvers``) or, through
:meth:`EdgeCorrection.torch_data`, on torch tensors (``fem.solvers_torch``), with the same code
(:func:`apply_correction`).

>>> import numpy as np
>>> from fem import assemble, cube_mesh
>>> from fem.schemes import SchemeOperators, preset, step_operator
>>> p = preset("ch", dt=1e-2)
>>> ops = assemble(cube_mesh(10, p.L))
>>> ec = edge_correction(p, ops, 10, p.L)
>>> ec.k, ec.w                                   # 36 n - 88 band nodes for CH, width 2
(272, 2)
>>> b = np.random.default_rng(0).normal(size=(1000, 2))
>>> x = ec.solve(b)
>>> bool(np.abs(step_operator(p, SchemeOperators.from_fem(ops), x) - b).max() < 1e-9 * np.abs(b).max())
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.sparse as sp

from fem.cube_symmetry import BlockFactors, factor_blocks, solve_blocks
from fem.grid import grid_eigenvalues, trapezoid_weights

log = logging.getLogger(__name__)

#: largest band handled (k x k LU); above it the plain DCT preconditioner is kept
MAX_BAND = 12000


def dct1_matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(F, I)``: scipy's unnormalised DCT-I as an (n, n) matrix and its inverse ``I = F / (2 (n - 1))``."""
    F = scipy.fft.dct(np.eye(n), type=1, axis=0)
    return F, F / (2.0 * (n - 1))


def symbol_polynomial(params, lam_max: float) -> np.ndarray | None:
    """Coefficients ``(c0, c1, c2)`` with ``symbol(lam) = c0 + c1 lam + c2 lam^2`` on [0, lam_max], or None."""
    probe = np.array([0.0, 0.5, 1.0]) * lam_max
    try:
        vals = np.asarray(params.equation.symbol(params, probe), dtype=float)
    except Exception:  # a PDE without a symbol: no DCT at all, the caller decides
        return None
    c = np.linalg.solve(np.vander(probe, 3, increasing=True), vals)
    check = np.array([0.1, 0.3, 0.77, 0.93]) * lam_max
    got = np.asarray(params.equation.symbol(params, check), dtype=float)
    if np.abs(np.polyval(c[::-1], check) - got).max() > 1e-10 * np.abs(got).max():
        return None
    return c


def neumann_laplacian(n: int, L: float) -> sp.csr_matrix:
    """``-L_h``: the 7-point Neumann Laplacian (mirror ghosts) on the n^3 grid in C order, a nonsymmetric CSR."""
    h = L / (n - 1)
    T = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="lil")
    T[0, 1] = T[n - 1, n - 2] = -2.0
    T = sp.csr_matrix(T) / h**2
    eye = sp.identity(n, format="csr")
    return (sp.kron(sp.kron(T, eye), eye) + sp.kron(sp.kron(eye, T), eye) + sp.kron(sp.kron(eye, eye), T)).tocsr()


# --------------------------------------------------------------------------------------------- the band's lines
def _fixed_axes(d: int) -> tuple[int, int]:
    return tuple(m for m in range(3) if m != d)  # type: ignore[return-value]


def line_coordinates(R: np.ndarray, n: int, F: np.ndarray) -> np.ndarray | None:
    """Each band node (flat C index) on one grid line: rows ``(axis d, p, q, t)`` with the node at coordinate t
    along d and at ``F[p]``, ``F[q]`` on the two other axes (in increasing axis order); None if one is not."""
    ijk = np.stack(np.unravel_index(R, (n, n, n)), axis=1)
    pos = np.full(n, -1)
    pos[F] = np.arange(len(F))
    where = pos[ijk]  # (k, 3): index into F or -1
    out = np.empty((len(R), 4), dtype=np.int64)
    done = np.zeros(len(R), dtype=bool)
    for d in (2, 1, 0):  # prefer lines along the last axis (any choice works)
        m1, m2 = _fixed_axes(d)
        ok = ~done & (where[:, m1] >= 0) & (where[:, m2] >= 0)
        out[ok] = np.stack([np.full(ok.sum(), d), where[ok, m1], where[ok, m2], ijk[ok, d]], axis=1)
        done |= ok
    return out if done.all() else None


def _band_greens(inv_symbol: np.ndarray, F: np.ndarray, Fm: np.ndarray, Im: np.ndarray, lines: np.ndarray,
                 W_R: np.ndarray) -> np.ndarray:
    """``G = (P^-1)_RR`` (k x k) from the separable factors, one block per pair of line axes (module docstring)."""
    n = Fm.shape[0]
    H = Im[:, None, :] * Fm.T[None, :, :]  # H[x, y, a] = I[x, a] F[a, y]
    k = len(lines)
    G = np.empty((k, k))
    nf = len(F)
    idx = [np.flatnonzero(lines[:, 0] == d) for d in range(3)]
    for di in range(3):
        for dj in range(di, 3):
            if not (len(idx[di]) and len(idx[dj])):
                continue
            ops, subs = [], []
            for m, letter in zip(range(3), "abc"):
                si = "t" if m == di else ("p" if m == _fixed_axes(di)[0] else "q")
                sj = "T" if m == dj else ("P" if m == _fixed_axes(dj)[0] else "Q")
                rows = slice(None) if m == di else F
                cols = slice(None) if m == dj else F
                ops.append(H[rows][:, cols])
                subs.append(si + sj + letter)
            block = np.einsum(f"{subs[0]},{subs[1]},{subs[2]},abc->pqtPQT", *ops, inv_symbol, optimize=True)
            block = block.reshape(nf * nf * n, nf * nf * n)
            ri = (lines[idx[di], 1] * nf + lines[idx[di], 2]) * n + lines[idx[di], 3]
            rj = (lines[idx[dj], 1] * nf + lines[idx[dj], 2]) * n + lines[idx[dj], 3]
            sub = block[np.ix_(ri, rj)] / W_R[idx[dj]].reshape(1, -1)  # P^-1 = (...) W^-1 is symmetric
            G[np.ix_(idx[di], idx[dj])] = sub
            if dj != di:
                G[np.ix_(idx[dj], idx[di])] = sub.T
    return G


# --------------------------------------------------------------------------------------------- probing A - P
def _probe_band(apply_D, n: int, w: int, candidates: np.ndarray, scale: float, chunk: int = 8):
    """Band rows R (sorted flat indices) and D_RR (CSR) of the symmetric ``D = A - P`` from coloured probes of
    the candidate columns; None when D has rows outside the candidates. Keeps only the candidate rows of the
    probes (memory ``|candidates| (2w+1)^3``, not ``n^3 (2w+1)^3``)."""
    N, q = n**3, 2 * w + 1
    ijk = np.stack(np.unravel_index(candidates, (n, n, n)), axis=1)
    colour = (ijk[:, 0] % q) * q * q + (ijk[:, 1] % q) * q + ijk[:, 2] % q
    outside = np.ones(N, dtype=bool)
    outside[candidates] = False
    Yc = np.zeros((len(candidates), q**3))  # the probes' values in the candidate rows
    out_max = top = 0.0
    for c0 in range(0, q**3, chunk):
        cols = np.arange(c0, min(c0 + chunk, q**3))
        X = np.zeros((N, len(cols)))
        sel = (colour >= cols[0]) & (colour <= cols[-1])
        X[candidates[sel], colour[sel] - cols[0]] = 1.0
        Y = apply_D(X)
        Yc[:, cols] = Y[candidates]
        out_max, top = max(out_max, float(np.abs(Y[outside]).max(initial=0.0))), max(top, float(np.abs(Y).max()))
    tol = 1e-11 * max(scale, top)
    if out_max > tol:
        return None
    R = candidates[np.abs(Yc).max(axis=1) > tol]
    if R.size == 0:
        return None
    row_of = np.full(N, -1)  # flat node index -> row of Yc
    row_of[candidates] = np.arange(len(candidates))
    pos = np.full(N, -1)
    pos[R] = np.arange(len(R))
    rij = np.stack(np.unravel_index(R, (n, n, n)), axis=1)
    rows, cols, vals = [], [], []
    rng = range(-w, w + 1)
    for o in np.array([(a, b, c) for a in rng for b in rng for c in rng]):
        jc = rij + o
        ok = ((jc >= 0) & (jc < n)).all(axis=1)
        j = np.where(ok, np.ravel_multi_index(tuple(np.clip(jc, 0, n - 1).T), (n, n, n)), 0)
        ok &= pos[j] >= 0
        jcol = (jc[ok, 0] % q) * q * q + (jc[ok, 1] % q) * q + jc[ok, 2] % q
        v = Yc[row_of[R[ok]], jcol]
        keep = np.abs(v) > tol
        rows.append(np.flatnonzero(ok)[keep])
        cols.append(pos[j[ok]][keep])
        vals.append(v[keep])
    D = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(R), len(R)))
    return R, D


# --------------------------------------------------------------------------------------------- the correction
@dataclass
class EdgeCorrection:
    """The data of the exact solve (module docstring), numpy arrays; :meth:`solve` applies ``A^-1`` on numpy.

    ``n`` grid size, ``w`` band width, ``R`` band nodes (flat C indices, sorted), ``lines`` their rows
    ``(d, p, q, t)``, ``F`` the fixed coordinates of the lines, ``W`` the trapezoid column (N, 1), ``inv_symbol``
    (n, n, n), ``Fm`` / ``Im`` the 1D DCT-I and its inverse, ``D = (A - P)_RR`` (k x k CSR), ``C = I + D G``
    (dense) and its factors ``lu`` (:class:`fem.cube_symmetry.BlockFactors`: block by block where C has the
    Kuhn cube's symmetry, else whole).
    """

    n: int
    w: int
    R: np.ndarray
    lines: np.ndarray
    F: np.ndarray
    W: np.ndarray
    inv_symbol: np.ndarray
    Fm: np.ndarray
    Im: np.ndarray
    D: sp.csr_matrix
    C: np.ndarray
    lu: BlockFactors

    def __post_init__(self):
        self.on_axis = [np.flatnonzero(self.lines[:, 0] == d) for d in range(3)]  # band nodes per line axis
        self.W_R = self.W[self.R]  # (k, 1)
        self.ImF, self.FmF = self.Im[self.F], self.Fm[:, self.F]  # the DCT rows / columns of the band's lines

    @property
    def k(self) -> int:
        """Number of band nodes."""
        return len(self.R)

    def solve(self, Rhs: np.ndarray) -> np.ndarray:
        """``A^-1 Rhs`` for Rhs (N, B), float64."""
        return apply_correction(self, Rhs, NUMPY)


class Backend:
    """The array operations :func:`apply_correction` needs: numpy/scipy (:data:`NUMPY`) or torch (``fem.solvers_torch``)."""

    def __init__(self, dctn, idctn, zeros, lu_solve):
        self.dctn, self.idctn, self.zeros, self.lu_solve = dctn, idctn, zeros, lu_solve


NUMPY = Backend(
    dctn=lambda V: scipy.fft.dctn(V, type=1, axes=(0, 1, 2)),
    idctn=lambda V: scipy.fft.idctn(V, type=1, axes=(0, 1, 2)),
    zeros=lambda shape, like: np.zeros(shape, dtype=like.dtype),
    lu_solve=lambda lu, b: scipy.linalg.lu_solve(lu, b, check_finite=False),
)


def _contract(T, M, axis: int):
    """``out[.., x, ..] = sum_a M[x, a] T[.., a, ..]`` along grid axis ``axis`` of T (n0, n1, n2, B): one batched matmul."""
    shape = tuple(T.shape)
    before = 1
    for s in shape[:axis]:
        before *= s
    out = M @ T.reshape(before, shape[axis], -1)
    return out.reshape(shape[:axis] + (M.shape[0],) + shape[axis + 1:])


def _eval_lines(V, ec, d: int, first: dict):
    """Values of ``idctn(V)`` on the lines along axis d: (n, n, n, B) -> (|F|, |F|, n, B), fixed axes first.
    ``first`` caches the first partial transform (along the first fixed axis m1), which the line axes with the
    same m1 share (d = 1 and d = 2): two passes over V for the three axes, not three."""
    m1, m2 = _fixed_axes(d)
    if m1 not in first:
        first[m1] = _contract(V, ec.ImF, m1)
    T = _contract(_contract(first[m1], ec.ImF, m2), ec.Im, d)
    return T.permute(m1, m2, d, 3) if hasattr(T, "permute") else T.transpose(m1, m2, d, 3)


def _spread_lines(Lv, ec, d: int):
    """``dctn`` of a field that lives on the lines along axis d, (|F|, |F|, n, B), but for the last transform:
    returns ``(m1, T)`` with T (n, n, n, B) except |F| along the first fixed axis m1 (still the lines'
    coordinates). The caller sums the axes with the same m1 and applies that transform once."""
    m1, m2 = _fixed_axes(d)
    order = [0, 0, 0]
    order[m1], order[m2], order[d] = 0, 1, 2
    T = Lv.permute(*order, 3) if hasattr(Lv, "permute") else Lv.transpose(*order, 3)
    return m1, _contract(_contract(T, ec.Fm, d), ec.FmF, m2)


def apply_correction(ec, Rhs, be):
    """``A^-1 Rhs`` (N, B) with the data ``ec`` (:class:`EdgeCorrection` or its torch twin) on backend ``be``."""
    n, B, nf, lines = ec.n, Rhs.shape[1], len(ec.F), ec.lines
    inv = ec.inv_symbol[..., None]
    Zh = be.dctn((Rhs / ec.W).reshape(n, n, n, B))
    Zh *= inv
    zR = be.zeros((len(lines), B), Rhs)
    first = {}
    for d, sel in enumerate(ec.on_axis):
        if len(sel):
            zR[sel] = _eval_lines(Zh, ec, d, first)[lines[sel, 1], lines[sel, 2], lines[sel, 3]]
    del first
    yw = solve_blocks(ec.lu, ec.D @ zR, be.zeros, be.lu_solve) / ec.W_R
    partial = {}
    for d, sel in enumerate(ec.on_axis):
        if len(sel):
            Lv = be.zeros((nf, nf, n, B), Rhs)
            Lv[lines[sel, 1], lines[sel, 2], lines[sel, 3]] = yw[sel]
            m1, part = _spread_lines(Lv, ec, d)
            if m1 in partial:
                partial[m1] += part
            else:
                partial[m1] = part
    for m1, part in partial.items():  # Zh -= (sum of the spread parts) * inv
        full = _contract(part, ec.FmF, m1)
        full *= inv
        Zh -= full
    return be.idctn(Zh).reshape(n**3, B)


def edge_correction(params, ops, n: int, L: float) -> EdgeCorrection | None:
    """The exact solve of the step matrix of ``params`` on P1 grid operators ``ops`` (n^3 nodes, side L), or None
    when it does not apply (module docstring)."""
    from fem.schemes import SchemeOperators, step_operator

    lam3 = grid_eigenvalues(n, L)
    c = symbol_polynomial(params, 3 * lam3[-1, 0, 0])  # 3 x the largest 1D eigenvalue
    if c is None:
        return None
    w = 2 if abs(c[2]) > 0 else 1
    F = np.unique(np.r_[np.arange(w), np.arange(n - w, n)])
    inv_symbol = 1.0 / np.asarray(params.equation.symbol(params, lam3), dtype=float)
    W = trapezoid_weights(n, L)
    negL = neumann_laplacian(n, L)
    sops = SchemeOperators.from_fem(ops)

    def apply_P(X):
        LX = negL @ X
        out = c[0] * X + c[1] * LX
        if w == 2:
            out = out + c[2] * (negL @ LX)
        return W * out

    def apply_D(X):
        return step_operator(params, sops, X) - apply_P(X)

    grid = np.indices((n, n, n)).reshape(3, -1).T
    infix = np.isin(grid, F)
    candidates = np.flatnonzero(infix.sum(axis=1) >= 2)
    if len(candidates) > MAX_BAND:
        log.info("edge correction: %d candidate band nodes exceed %d; plain DCT preconditioner", len(candidates), MAX_BAND)
        return None
    scale = float(np.abs(apply_P(np.ones((n**3, 1)))).max())
    probed = _probe_band(apply_D, n, w, candidates, scale)
    if probed is None:
        return None
    R, D = probed
    lines = line_coordinates(R, n, F)
    if lines is None:
        return None
    # verify A - P = E D E^T on a random vector (catches anything the probes missed, e.g. a non-local mass)
    x = np.random.default_rng(0).normal(size=(n**3, 1))
    lhs = apply_D(x)
    rhs = np.zeros_like(x)
    rhs[R] = D @ x[R]
    if np.abs(lhs - rhs).max() > 1e-9 * max(np.abs(lhs).max(), scale * 1e-6):
        return None
    Fm, Im = dct1_matrices(n)
    G = _band_greens(inv_symbol, F, Fm, Im, lines, W.reshape(-1)[R])
    C = np.eye(len(R)) + D @ G
    return EdgeCorrection(n, w, R, lines, F, W, inv_symbol, Fm, Im, D, C, factor_blocks(C, R, n))
