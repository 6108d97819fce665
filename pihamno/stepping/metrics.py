"""Error metrics of fields on the n^3 node grid: the lumped-mass L2 norm and the relative L2 error.

Norms are discrete L2(Omega) norms with the P1 lumped mass of the structured ``kuhn`` mesh as quadrature
weights w (shape (n, n, n), ``sum(w) = L^3``; h^3 inside, h^3/2 on faces, less on edges and corners):

    ||u||^2 = sum_i w_i u_i^2,        rel_l2(pred, ref) = ||pred - ref|| / ||ref||

(the rollout file's ``rel_l2`` curve). The weighted norm is the plain grid norm times h^3 up to the
boundary layer, so errors do not depend on n. Energy, mass, max|u| and residual-indicator curves are in
:mod:`pihamno.evaluation.physical_curves`; the persistence baseline is :func:`pihamno.stepping.persistence`.

Example:

>>> import torch
>>> w = grid_weights(3, 2.0)
>>> round(float(w.sum()), 12), round(float(rel_l2(1.1 * torch.ones(3, 3, 3), torch.ones(3, 3, 3), w)), 6)
(8.0, 0.1)
"""

from __future__ import annotations

import torch


def grid_weights(n: int, L: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """P1 lumped mass of the ``kuhn`` cube mesh on the node grid, shape (n, n, n) (C order of (i, j, k))."""
    from pihamno.stepping.constraints import lumped_mass

    return lumped_mass(n, L, "kuhn").to(dtype)


def _w(weights: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return weights.to(device=like.device, dtype=torch.float64)


def sq_norm(u: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_i w_i u_i^2 over the last three dims: (..., n, n, n) -> (...), float64."""
    return (u.double() ** 2 * _w(weights, u)).sum(dim=(-3, -2, -1))


def rel_l2(pred: torch.Tensor, ref: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """||pred - ref|| / ||ref|| per field: (..., n, n, n) twice -> (...), float64 (0/0 -> 0)."""
    num = sq_norm(pred.double() - ref.double(), weights).sqrt()
    den = sq_norm(ref, weights).sqrt()
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.where(num > 0, torch.inf, 0.0))
