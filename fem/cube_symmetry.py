"""Solve with a matrix that commutes with the symmetries of the Kuhn cube, block by block.

The ``kuhn`` split cuts every cell along the diagonal (0,0,0)-(1,1,1), so its operators commute with the
12 maps of the node grid that keep that diagonal: the 6 permutations of the axes, each with or without the
central inversion ``x -> n - 1 - x``. So does the capacitance matrix ``C`` of :mod:`fem.capacitance` on the
band of nodes around the edges (a set these maps keep). A matrix that commutes with a group of permutations
``Pi_g`` keeps every eigenspace of each combination ``X = sum_g c_g (Pi_g + Pi_g^T)``; with random weights
``c_g`` those eigenspaces are the pieces of the isotypic decomposition (the 4 one-dimensional irreducible
representations of this group and the two eigenspaces of each of its 2 two-dimensional ones). ``X`` only
mixes nodes of one orbit (at most 12 nodes), so its eigenvectors are found orbit by orbit and are sparse;
in the orthonormal basis ``Q`` they form::

    C = Q diag(B_1, ..., B_m) Q^T,        C^-1 b = Q diag(B_1^-1, ..., B_m^-1) Q^T b

about 8 blocks of k/12 to k/6 rows (m = 8 when the orbits are generic), whose LU solves read about a
seventh of the k^2 entries of C's: 2.7x faster than one LU at k = 2216 (CH and SH at n = 64; ``python
bench/bench_solvers.py --parts``), equal at k = 752, so bands below ``MIN_BLOCKED`` nodes are factored whole.

Nothing is assumed: :func:`factor_blocks` checks that the band is mapped onto itself and that ``Q^T C Q`` is
block diagonal to round-off, and otherwise factors C whole (one block, no basis change).

>>> import numpy as np
>>> n = 6
>>> R = np.flatnonzero((np.indices((n, n, n)) == 0).sum(axis=0) >= 2)   # the 3 edges through the origin
>>> perms = band_permutations(R, n)
>>> len(perms), bool(all(np.array_equal(np.sort(p), np.arange(len(R))) for p in perms))
(6, True)
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

log = logging.getLogger(__name__)

#: off-diagonal blocks of Q^T C Q above this (relative to max |C|) mean the symmetry does not hold
BLOCK_TOL = 1e-12
#: below this many band nodes one LU solve is as fast as the blocks with their basis changes (``bench/bench_solvers.py
#: --parts``: equal at k = 752, the blocks 2.7x faster at k = 2216)
MIN_BLOCKED = 1000


def cube_maps():
    """The 12 maps of an n^3 node grid that keep the diagonal (0,0,0)-(n-1,n-1,n-1): ``(axis order, invert)``,
    the image of node ``x`` being ``x[axis order]``, then ``n - 1 -`` that if ``invert``."""
    return [(order, invert) for order in itertools.permutations(range(3)) for invert in (False, True)]


def band_permutations(R: np.ndarray, n: int) -> list[np.ndarray] | None:
    """For each grid map that sends the node set R (flat C indices, sorted) onto itself, the permutation of
    positions in R it induces (``perm[i]`` is the position of the image of ``R[i]``); None if no map but the
    identity does."""
    ijk = np.stack(np.unravel_index(R, (n, n, n)), axis=1)
    pos = np.full(n**3, -1)
    pos[R] = np.arange(len(R))
    perms = []
    for order, invert in cube_maps():
        img = ijk[:, list(order)]
        if invert:
            img = n - 1 - img
        p = pos[np.ravel_multi_index(tuple(img.T), (n, n, n))]
        if (p >= 0).all():
            perms.append(p)
    return perms if len(perms) > 1 else None


def symmetry_basis(perms: list[np.ndarray], seed: int = 0) -> tuple[sp.csr_matrix, list[slice]]:
    """``(Q, blocks)``: an orthonormal basis (k x k CSR, columns supported on single orbits) ordered so that
    the columns of each slice in ``blocks`` span one eigenspace of ``X = sum_g c_g (Pi_g + Pi_g^T)`` (random
    ``c_g``), i.e. a subspace every matrix commuting with the ``Pi_g`` maps to itself (module docstring)."""
    k = len(perms[0])
    c = np.random.default_rng(seed).uniform(1.0, 2.0, size=len(perms))
    rows = np.concatenate([np.arange(k)] * len(perms) + list(perms))
    cols = np.concatenate(list(perms) + [np.arange(k)] * len(perms))
    X = sp.csr_matrix((np.concatenate([c.repeat(k)] * 2), (rows, cols)), shape=(k, k))
    n_orbits, label = connected_components(X, directed=False)
    values, vec_rows, vec_vals, vec_cols = [], [], [], []
    col = 0
    for o in range(n_orbits):
        nodes = np.flatnonzero(label == o)
        lam, V = np.linalg.eigh(X[nodes][:, nodes].toarray())
        for j in range(len(nodes)):
            values.append(lam[j])
            vec_rows.append(nodes)
            vec_vals.append(V[:, j])
            vec_cols.append(np.full(len(nodes), col))
            col += 1
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    scale = max(1.0, float(np.abs(values).max()))
    cuts = np.flatnonzero(np.diff(values[order]) > 1e-8 * scale) + 1
    bounds = np.r_[0, cuts, k]
    new_col = np.empty(k, dtype=np.int64)
    new_col[order] = np.arange(k)
    Q = sp.csr_matrix((np.concatenate(vec_vals), (np.concatenate(vec_rows), new_col[np.concatenate(vec_cols)])),
                      shape=(k, k))
    return Q, [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


@dataclass
class BlockFactors:
    """``C = Q diag(B_i) Q^T`` with the LU factors of each ``B_i`` (scipy's ``lu_factor``); ``QT = Q^T``;
    ``Q = QT = None`` when C is factored whole (one block)."""

    Q: sp.csr_matrix | None
    QT: sp.csr_matrix | None
    blocks: list[slice]
    factors: list[tuple]

    @property
    def sizes(self) -> list[int]:
        return [b.stop - b.start for b in self.blocks]


def factor_blocks(C: np.ndarray, R: np.ndarray, n: int, min_size: int | None = None) -> BlockFactors:
    """Factor the dense k x k matrix C on the band R of the n^3 grid, block by block where it commutes with the
    cube maps that keep R (module docstring) and k >= ``min_size`` (default :data:`MIN_BLOCKED`), else whole."""
    k = C.shape[0]
    perms = band_permutations(R, n) if k >= (MIN_BLOCKED if min_size is None else min_size) else None
    if perms is None:
        return _whole(C)
    Q, blocks = symmetry_basis(perms)
    QT = Q.T.tocsr()
    B = np.asarray(QT @ np.asarray(C @ Q))  # (Q^T C Q), dense
    inside = np.zeros((k, k), dtype=bool)
    for b in blocks:
        inside[b, b] = True
    off = float(np.abs(B[~inside]).max(initial=0.0))
    if off > BLOCK_TOL * float(np.abs(C).max()):
        log.info("capacitance matrix: cube symmetry off by %.1e; factored whole", off)
        return _whole(C)
    factors = [scipy.linalg.lu_factor(B[b, b], check_finite=False) for b in blocks]
    return BlockFactors(Q, QT, blocks, factors)


def _whole(C: np.ndarray) -> BlockFactors:
    """C as one block (no basis change)."""
    return BlockFactors(None, None, [slice(0, C.shape[0])], [scipy.linalg.lu_factor(C, check_finite=False)])


def solve_blocks(bf, b, zeros, lu_solve):
    """``C^-1 b`` (k, B) from :class:`BlockFactors` (or its torch twin): ``Q`` and ``QT`` apply with ``@``,
    ``zeros(shape, like)`` and ``lu_solve(factors, rhs)`` are the backend's."""
    if bf.Q is None:
        return lu_solve(bf.factors[0], b)
    w = bf.QT @ b
    y = zeros(tuple(w.shape), w)
    for blk, f in zip(bf.blocks, bf.factors):
        y[blk] = lu_solve(f, w[blk])
    return bf.Q @ y
