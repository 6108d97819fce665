"""scipy sparse matrices -> torch sparse CSR operators that act on batches of fields, with autograd.

With :mod:`fem.schemes_torch` (which builds on it), the only module of :mod:`fem` that imports torch.

Conventions (docs/design.md sections 2.1-2.2):

* nodal matrices have shape ``(N, B)``: one column per field of the batch;
* grid fields have shape ``(B, n, n, n)`` and reshape to ``(B, N)`` in C order with ``N = n**3``.

Why CSR and a custom autograd function (measured on the 2-core CPU, see ``bench/bench_fem.py``): CSR
products are ~25x faster than COO; torch's built-in backward of a CSR product re-transposes the matrix at
every call (fwd+bwd ~25x the forward), and a gradient with respect to the matrix values densifies it.
:class:`SparseOperator` therefore stores ``A`` and ``A^T`` (the same tensor when ``A`` is symmetric, as
``M`` and ``K`` are) and differentiates only with respect to the dense operand:
``d(A X)/dX^T g = A^T g``.

Example:

>>> import scipy.sparse as sp, torch
>>> op = SparseOperator(sp.diags([1.0, 2.0, 3.0]).tocsr(), dtype=torch.float64)
>>> op @ torch.ones(3, 2, dtype=torch.float64)
tensor([[1., 1.],
        [2., 2.],
        [3., 3.]], dtype=torch.float64)
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch

from fem.errors import InputError


def to_torch_csr(A: sp.spmatrix, device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A scipy sparse matrix as a torch sparse CSR tensor (int32 indices when they fit)."""
    A = sp.csr_matrix(A)
    A.sort_indices()
    index_dtype = torch.int32 if A.nnz < 2**31 - 1 and max(A.shape) < 2**31 - 1 else torch.int64
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
        return torch.sparse_csr_tensor(
            torch.as_tensor(A.indptr, dtype=index_dtype),
            torch.as_tensor(A.indices, dtype=index_dtype),
            torch.as_tensor(A.data, dtype=dtype),
            size=A.shape,
            dtype=dtype,
            device=device,
            check_invariants=False,
        )


class _SparseMatmul(torch.autograd.Function):
    """Y = A X with dX = A^T dY; no gradient for A (it is a fixed operator)."""

    @staticmethod
    def forward(ctx, X, A, AT):  # noqa: D401 - autograd API
        ctx.AT = AT
        return A @ X

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.AT @ grad_out.contiguous(), None, None


class SparseOperator:
    """A fixed sparse matrix ``A`` (rows x cols) applied to torch tensors, differentiable in the operand.

    Parameters
    ----------
    A : scipy sparse matrix.
    device, dtype : where and in what precision the products run (float32 by default; float64 for tests).
    symmetric : whether ``A == A^T``; ``None`` checks it once (exactly, on the scipy matrix).
    """

    def __init__(self, A: sp.spmatrix, device=None, dtype: torch.dtype = torch.float32, symmetric: bool | None = None):
        A = sp.csr_matrix(A)
        if symmetric is None:
            symmetric = A.shape[0] == A.shape[1] and (A - A.T).count_nonzero() == 0
        self.shape = A.shape
        self.symmetric = bool(symmetric)
        self._scipy = A
        self.A = to_torch_csr(A, device, dtype)
        self.AT = self.A if self.symmetric else to_torch_csr(A.T, device, dtype)

    @property
    def device(self) -> torch.device:
        return self.A.device

    @property
    def dtype(self) -> torch.dtype:
        return self.A.dtype

    def to(self, device=None, dtype: torch.dtype | None = None) -> "SparseOperator":
        """A copy on another device and/or dtype (built from the stored scipy matrix)."""
        return SparseOperator(self._scipy, device or self.device, dtype or self.dtype, self.symmetric)

    def __matmul__(self, X: torch.Tensor) -> torch.Tensor:
        """``A @ X`` for a nodal matrix ``X`` of shape ``(cols, B)`` or a vector ``(cols,)``."""
        if X.shape[0] != self.shape[1] or X.dim() not in (1, 2):
            raise InputError(
                f"operand of shape {tuple(X.shape)} does not match the operator: expected "
                f"({self.shape[1]}, batch) or ({self.shape[1]},)"
            )
        vec = X.dim() == 1
        X = X.to(self.dtype)
        X = X.unsqueeze(1) if vec else X.contiguous()
        Y = _SparseMatmul.apply(X, self.A, self.AT) if X.requires_grad else self.A @ X
        return Y.squeeze(1) if vec else Y

    def apply_batch(self, u: torch.Tensor) -> torch.Tensor:
        """Apply to a batch of fields ``u`` of shape ``(B, ...)`` with ``prod(...) == cols``: returns ``(B, rows)``.

        For grid fields ``(B, n, n, n)`` on a C-ordered grid mesh this is ``(A @ u.reshape(B, -1).T).T``.
        """
        B = u.shape[0]
        flat = u.reshape(B, -1)
        if flat.shape[1] != self.shape[1]:
            raise InputError(
                f"fields of shape {tuple(u.shape)} have {flat.shape[1]} values each; the operator expects {self.shape[1]}"
            )
        return (self @ flat.T).T

    def __repr__(self) -> str:
        return (
            f"SparseOperator(shape={self.shape}, nnz={self._scipy.nnz}, symmetric={self.symmetric}, "
            f"dtype={self.dtype}, device={self.device})"
        )


def diagonal_tensor(d: np.ndarray, device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A diagonal (e.g. the lumped mass) as a dense ``(N, 1)`` column that broadcasts over a batch."""
    return torch.as_tensor(np.asarray(d), dtype=dtype, device=device).reshape(-1, 1)
