"""The torch side of :mod:`fem.schemes`: operators on which ``fem.schemes.residual`` runs unchanged.

``fem.schemes`` writes every scheme with ``ops.M @ X``, ``ops.K @ X``, ``ops.lumped * X``,
``X / ops.lumped`` and elementwise arithmetic; :class:`TorchSchemeOperators` provides exactly these on
torch tensors (``M`` and ``K`` as :class:`fem.torch_bridge.SparseOperator`, differentiable in the
operand; ``lumped`` as an ``(N, 1)`` column). The physics losses call::

    from fem.schemes import residual, dual_norm
    tops = TorchSchemeOperators.from_fem(assemble(mesh), device="cuda", dtype=torch.float32)
    r = residual(params, tops, u0, u1)        # u0, u1: (N, B) tensors; r: (N, B)
    loss = dual_norm(tops, r) ** 2            # r^T M_L^-1 r per column, (B,)

Example:

>>> import numpy as np, torch
>>> from fem import assemble, cube_mesh
>>> from fem.schemes import SchemeOperators, preset, residual
>>> fops = assemble(cube_mesh(4, 2.0))
>>> p = preset("ch")
>>> u0, u1 = np.cos(np.arange(64.0)).reshape(64, 1), np.sin(np.arange(64.0)).reshape(64, 1)
>>> r_np = residual(p, SchemeOperators.from_fem(fops), u0, u1)
>>> r_t = residual(p, TorchSchemeOperators.from_fem(fops, dtype=torch.float64), torch.tensor(u0), torch.tensor(u1))
>>> bool(np.allclose(r_t.numpy(), r_np, rtol=1e-12, atol=1e-12 * np.abs(r_np).max()))
True
"""

from __future__ import annotations

import torch

from fem.torch_bridge import SparseOperator, diagonal_tensor


class TorchSchemeOperators:
    """``M``, ``K`` (:class:`SparseOperator`) and ``lumped`` (a torch ``(N, 1)`` column) on one device/dtype."""

    def __init__(self, M: SparseOperator, K: SparseOperator, lumped: torch.Tensor):
        if lumped.dim() != 2 or lumped.shape[1] != 1 or lumped.shape[0] != K.shape[0]:
            raise ValueError(f"lumped must be a ({K.shape[0]}, 1) column, got {tuple(lumped.shape)}")
        self.M, self.K, self.lumped = M, K, lumped

    @classmethod
    def from_fem(cls, ops, device=None, dtype: torch.dtype = torch.float32) -> "TorchSchemeOperators":
        """From :class:`fem.assembly.Operators` (M and K are symmetric, so A^T = A is reused in backward)."""
        return cls(
            SparseOperator(ops.M, device, dtype, symmetric=True),
            SparseOperator(ops.K, device, dtype, symmetric=True),
            diagonal_tensor(ops.lumped, device, dtype),
        )

    @property
    def ndofs(self) -> int:
        return self.lumped.shape[0]

    @property
    def device(self) -> torch.device:
        return self.lumped.device

    @property
    def dtype(self) -> torch.dtype:
        return self.lumped.dtype

    def to(self, device=None, dtype: torch.dtype | None = None) -> "TorchSchemeOperators":
        """A copy on another device and/or dtype."""
        return TorchSchemeOperators(
            self.M.to(device, dtype), self.K.to(device, dtype), self.lumped.to(device=device or self.device, dtype=dtype or self.dtype)
        )

    def __repr__(self) -> str:
        return f"TorchSchemeOperators(N={self.ndofs}, dtype={self.dtype}, device={self.device})"
