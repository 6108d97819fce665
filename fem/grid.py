"""The n^3 node grid of the cube [0, L]^3 as the solvers and the interpolation see it (docs/design.md section 2.1):
the trapezoidal lumped mass of its nodes and the eigenvalues of its 7-point Neumann Laplacian.

Spacing ``h = L / (n - 1)``; node (i, j, k) is the point (i h, j h, k h), numbered in C order.

>>> float(trapezoid_weights(3, 2.0).sum())  # the volume of the cube
8.0
>>> float(grid_eigenvalues(3, 2.0)[0, 0, 0])  # the constant mode
0.0
"""

from __future__ import annotations

import numpy as np


def grid_eigenvalues(n: int, L: float) -> np.ndarray:
    """Eigenvalues ``lambda_i + lambda_j + lambda_k`` (n, n, n) of the 7-point Neumann Laplacian ``-L_h``.

    1D: ``lambda_k = (4/h^2) sin^2(pi k / (2 (n-1)))``, eigenvector ``cos(pi k i / (n-1))`` (DCT-I), h = L/(n-1).
    """
    h = L / (n - 1)
    lam = 4.0 / h**2 * np.sin(np.pi * np.arange(n) / (2 * (n - 1))) ** 2
    return lam[:, None, None] + lam[None, :, None] + lam[None, None, :]


def trapezoid_weights(n: int, L: float) -> np.ndarray:
    """Lumped mass of the node grid by the trapezoidal rule, ``h^3 w_i w_j w_k`` (w = 1/2 at the ends), (N, 1)."""
    w = np.ones(n)
    w[0] = w[-1] = 0.5
    h = L / (n - 1)
    return (h**3 * w[:, None, None] * w[None, :, None] * w[None, None, :]).reshape(-1, 1)
