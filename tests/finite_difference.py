"""Test helper: finite-difference operators on the node grid, shaped like the FEM operators the schemes use.

These were the strong loss before the consistency contract (docs/design.md section 5.3); the strong loss is
now the nodal residual ``M_L^-1 r`` of the data's own discretisation, which equals the finite-difference
residual below at interior and face nodes of the Kuhn grid and differs at its edges (where this one does
not vanish on the solver's frames) and everywhere on ``five``. Kept as a reference: tests compare the two
(``tests/test_physics.py``) and check the stencil's order.

:func:`fem.schemes.residual` is written with ``ops.M @ X``, ``ops.K @ X``, ``ops.lumped * X`` and
``X / ops.lumped`` only. Substituting

    M = I,    M_L = I,    K = -Lap_h   (7-point Laplacian, mirror ghosts u[-1] = u[1]: Neumann)

turns the *same* scheme into its strong (finite-difference) form on the n^3 node grid, h = L / (n - 1):
for Allen-Cahn ``R = (u1 - u0)/tau - Lap_h u1 + (f(u0) + S (u1 - u0))/eps^2``; for Cahn-Hilliard
``R = (u1 - u0)/tau - Lap_h mu1`` with ``mu1 = -eps^2 Lap_h u1 + f(u0) + S (u1 - u0)``; for
Swift-Hohenberg ``(1 + Lap_h)^2 u1`` appears as ``(M_L - K) M_L^-1 (M_L - K) u1``. So this residual and the
scheme can never drift apart in form. On the Kuhn mesh ``M_L^-1 K`` equals ``-Lap_h`` at interior and face
nodes, so there this residual is ``M_L^-1 r`` (today's strong residual) exactly when the scheme uses the
lumped mass (the default); they differ at the cube's edges and corners (``tests/test_assembly.py``,
``tests/test_physics.py``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from fem.torch_bridge import SparseOperator
from pihamno.errors import InputError


def laplacian_mirror(u: torch.Tensor, h: float) -> torch.Tensor:
    """7-point Laplacian of grid fields ``u`` (B, n, n, n) with mirror ghosts (torch ``reflect`` padding).

    ``(Lap_h u)_ijk = (u_{i+1} + u_{i-1} + u_{j+1} + u_{j-1} + u_{k+1} + u_{k-1} - 6 u_ijk) / h^2`` with
    ``u_{-1} = u_1`` and ``u_n = u_{n-2}`` (second order, homogeneous Neumann at the boundary nodes).
    """
    if u.dim() != 4:
        raise InputError(f"expected grid fields of shape (B, n, n, n), got {tuple(u.shape)}")
    p = F.pad(u.unsqueeze(1), (1, 1, 1, 1, 1, 1), mode="reflect").squeeze(1)
    c = p[:, 1:-1, 1:-1, 1:-1]
    return (
        p[:, 2:, 1:-1, 1:-1] + p[:, :-2, 1:-1, 1:-1] + p[:, 1:-1, 2:, 1:-1]
        + p[:, 1:-1, :-2, 1:-1] + p[:, 1:-1, 1:-1, 2:] + p[:, 1:-1, 1:-1, :-2] - 6.0 * c
    ) / (h * h)


def mirror_laplacian_matrix(n: int, h: float) -> sp.csr_matrix:
    """The 7-point mirror-ghost Laplacian of :func:`laplacian_mirror` as a sparse (n^3, n^3) matrix, C order.

    ``Lap_h = (D x I x I + I x D x I + I x I x D) / h^2`` (Kronecker products) with the 1-D second difference
    ``D`` whose first and last rows read ``[-2, 2]`` and ``[2, -2]`` (mirror ghosts). Not symmetric; it is
    symmetric in the trapezoidal inner product.
    """
    main = np.full(n, -2.0)
    upper = np.ones(n - 1)
    lower = np.ones(n - 1)
    upper[0] = 2.0
    lower[-1] = 2.0
    D = sp.diags([lower, main, upper], [-1, 0, 1], format="csr")
    eye = sp.identity(n, format="csr")
    lap = sp.kron(sp.kron(D, eye), eye) + sp.kron(sp.kron(eye, D), eye) + sp.kron(sp.kron(eye, eye), D)
    return (lap / h**2).tocsr()


class _Identity:
    def __matmul__(self, X: torch.Tensor) -> torch.Tensor:
        return X


class FiniteDifferenceOperators:
    """The scheme operators of the strong form on the n^3 grid of [0, L]^3: ``M = I``, ``lumped = 1``,
    ``K = -Lap_h`` (a :class:`fem.torch_bridge.SparseOperator`; CSR products are ~50x faster than the
    padded-slice stencil with its backward on the CPU, measured in ``bench/bench_physics.py``'s setting).
    Acts on nodal matrices (n^3, B) in the C order of the grid."""

    def __init__(self, n: int, L: float, device=None, dtype: torch.dtype = torch.float32):
        if n < 3:
            raise InputError(f"the finite-difference Laplacian needs n >= 3 nodes per side, got {n}")
        self.n, self.L, self.h = n, float(L), float(L) / (n - 1)
        self.M = _Identity()
        self.K = SparseOperator(-mirror_laplacian_matrix(n, self.h), device, dtype, symmetric=False)
        self.lumped = 1.0
