"""The conserved Allen-Cahn equation ``u_t = Lap u - (f(u) - <f(u)>) / eps^2`` (a pihamno plugin PDE).

``f(u) = u^3 - u`` and ``<f> = int f / |Omega|``: Allen-Cahn with the Lagrange multiplier that keeps ``int u``
fixed (Rubinstein-Sternberg), the L2 gradient flow of the Allen-Cahn energy on the functions of fixed mass.
Discretised like :class:`fem.pde.AllenCahn` (stabilised IMEX Euler, ``M_t`` the time mass), the mean explicit::

    r = M_t d/tau + K u1 + (M_t f(u0) - fbar M_t 1 + S M_t d) / eps^2,     fbar = 1^T M_t f(u0) / 1^T M_t 1
    A = M_t (1/tau + S/eps^2) + K                                          (AC's step matrix)

Since ``1^T K = 0`` and ``1^T (M_t f - fbar M_t 1) = 0``, ``1^T M_t d = 0``: the scheme conserves ``1^T M_t u``
(``conserves_mass``: the solver projects each increment, check-data checks the drift). Testing with ``d``
gives AC's energy inequality (the mean term drops out, ``1^T M_t d = 0``), hence AC's stability bound and
default S. Only ``ops.K @``, the time mass and a sum over the nodes (``X.sum(0)``, numpy and torch alike) are
used, so the reference solver, check-data and the physics losses run it unchanged.

Also registers the initial-condition family ``"slab"``: a tanh interface ``u = tanh((x - a) / width)``
across the x axis at a random ``a`` in [L/4, 3L/4].
"""

from __future__ import annotations

import numpy as np

from fem.pde import AllenCahn, register_pde, time_mass
from pihamno.data.initial_conditions import grid_coordinates, register_family


@register_pde
class ConservedAllenCahn(AllenCahn):
    """``u_t = Lap u - (f(u) - <f(u)>)/eps^2`` (module docstring); everything else is Allen-Cahn's."""

    name, title = "cac", "conserved Allen-Cahn"
    preset = {"eps": 0.1, "L": 2.0, "dt": 1e-3}
    conserves_mass = True
    initial_condition = dict(AllenCahn.initial_condition, level=0.25)  # about 40% of the +1 phase

    def _force(self, params, ops, u):
        """``M_t f(u) - fbar M_t 1``: the load of the force with its mean removed, (N, B)."""
        Mf = time_mass(params, ops, self.nonlinearity(params, u))
        M1 = time_mass(params, ops, u[:, :1] * 0.0 + 1.0)  # (N, 1)
        return Mf - (Mf.sum(0) / M1.sum()) * M1

    def explicit_residual(self, params, ops, u):
        return ops.K @ u + self._force(params, ops, u) / params.eps**2

    def residual_and_next(self, params, ops, u0, u1, g0):
        r = self.explicit_residual(params, ops, u0) + self.step_operator(params, ops, u1 - u0)
        return r, self.explicit_residual(params, ops, u1)

    def scheme_terms(self, params, ops, u0, u1):
        # r = M_t a + K b: the mean is a multiple of M_t 1, so it moves into a as fbar
        tau, eps, S = params.tau, params.eps, params.S
        d, f = u1 - u0, self.nonlinearity(params, u0)
        M1 = time_mass(params, ops, u0[:, :1] * 0.0 + 1.0)
        fbar = time_mass(params, ops, f).sum(0) / M1.sum()
        return d / tau + (f - fbar + S * d) / eps**2, u1, None


@register_family("slab", {"width": None})
def slab(rng: np.random.Generator, n: int, L: float, *, width: float) -> np.ndarray:
    """A flat interface ``tanh((x - a) / width)`` at ``a`` uniform in [L/4, 3L/4]: (n, n, n) on the node grid."""
    X, _, _ = grid_coordinates(n, L)
    return np.tanh((X - rng.uniform(0.25 * L, 0.75 * L)) / width)
