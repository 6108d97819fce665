"""Products with the sparse matrices of a structured grid, stored by diagonals where that is cheaper.

On the ``kuhn`` P1 mesh of the n^3 grid (C-order node numbering) the stiffness ``K`` has 7 diagonals (offsets
0, +-1, +-n, +-n^2) and the consistent mass ``M`` 15. Stored by diagonals (scipy's DIA format) a product
reads no column indices and walks the vector contiguously: ``python bench/bench_solvers.py --parts`` measures
it against CSR (docs/performance.md section 2).
scipy's DIA product with a matrix of several columns is slower than CSR's, so :class:`DiagonalMatrix` applies
the diagonals to one column at a time.

The sums run in the same order as CSR's with sorted column indices (by increasing column, from zero), so for
finite X the products agree with CSR's to the last bit (``tests/test_fast_step.py`` checks it; a zero
stored as padding adds ``+0.0``; an inf or NaN in X can reach one more row through a padding zero).

Where the diagonals are many (a mesh file, P2) :func:`fast_products` keeps the CSR matrix itself.

>>> import numpy as np
>>> from fem import assemble, cube_mesh
>>> K = assemble(cube_mesh(6, 2.0)).K
>>> D = fast_products(K)
>>> type(D).__name__, len(D.offsets)
('DiagonalMatrix', 7)
>>> x = np.random.default_rng(0).normal(size=(216, 2))
>>> bool(np.array_equal(D @ x, K @ x))
True
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: store by diagonals when the diagonals hold at most this many entries per stored nonzero
MAX_PADDING = 1.25


class DiagonalMatrix:
    """A square sparse matrix stored by diagonals; ``A @ X`` for X (N,) or (N, B) as scipy CSR gives it.

    Build it with :func:`fast_products`. ``offsets`` are the diagonals (column - row, increasing); ``shape``
    and ``nnz`` as the CSR matrix's.
    """

    def __init__(self, dia: sp.dia_matrix, nnz: int):
        self.dia, self.shape, self.nnz, self.dtype = dia, dia.shape, nnz, dia.dtype

    @property
    def offsets(self) -> np.ndarray:
        return self.dia.offsets

    def __matmul__(self, X: np.ndarray) -> np.ndarray:
        if X.ndim == 1:
            return self.dia @ X
        if X.shape[1] == 1:
            return (self.dia @ X[:, 0])[:, None]
        XT = np.ascontiguousarray(X.T)
        out = np.empty(XT.shape, dtype=np.result_type(self.dtype, XT.dtype))  # as CSR: float64 for float32 X
        for j in range(XT.shape[0]):
            out[j] = self.dia @ XT[j]
        return np.ascontiguousarray(out.T)

    def tocsr(self) -> sp.csr_matrix:
        return self.dia.tocsr()

    def __repr__(self) -> str:
        return f"DiagonalMatrix(shape={self.shape}, diagonals={len(self.offsets)}, nnz={self.nnz})"


def fast_products(A: sp.spmatrix):
    """A as a :class:`DiagonalMatrix` when its diagonals hold at most ``MAX_PADDING`` entries per stored
    nonzero (a structured-grid stencil), else A as a CSR matrix. O(nnz): the diagonals are counted with a
    bincount, not a sort (scipy's ``todia`` sorts, ~0.15 s per matrix at 64^3)."""
    csr = sp.csr_matrix(A, copy=True)
    N = csr.shape[0]
    if csr.shape[0] != csr.shape[1] or csr.nnz == 0:
        return csr
    csr.sum_duplicates()  # canonical: sorted column indices, the order of the diagonal sums
    rows = np.repeat(np.arange(N), np.diff(csr.indptr))
    off = csr.indices.astype(np.int64) - rows + (N - 1)
    present = np.bincount(off, minlength=2 * N - 1) > 0
    offsets = np.flatnonzero(present)
    if len(offsets) * N > MAX_PADDING * csr.nnz:
        return csr
    slot = np.full(2 * N - 1, -1)
    slot[offsets] = np.arange(len(offsets))
    data = np.zeros((len(offsets), N), dtype=csr.dtype)
    data[slot[off], csr.indices] = csr.data  # DIA layout: data[k, j] = A[j - offsets[k], j]
    return DiagonalMatrix(sp.dia_matrix((data, offsets - (N - 1)), shape=csr.shape), csr.nnz)
