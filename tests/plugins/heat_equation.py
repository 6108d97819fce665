"""A fourth PDE from one file outside the package: the heat equation ``u_t = eps Lap u`` (a plugin example).

Importing this module registers :class:`HeatEquation` as ``"heat"`` (:func:`fem.pde.register_pde`); from then
on ``fem.schemes.preset("heat")``, ``pihamno.data.generate``, ``check-data`` and ``pihamno.physics.PhysicsLoss``
handle it like the built-in PDEs, with no edit to the package.

Scheme (implicit Euler, written like the phase-field ones with a stabilisation S of a zero explicit force)::

    r = M_t (1/tau + S) d + eps K u1
    A = M_t (1/tau + S) + eps K,        g(u) = eps K u

Element-local split ``a = (1/tau + S) d, b = eps u1``; DCT symbol ``1/tau + S + eps lam``.

Energy ``E = eps u^T K u / 2`` (no potential, F = 0), with ``g = dE/du``. Testing the scheme with d gives
``E1 - E0 = -(1/tau + S) |d|_Mt^2 - eps |d|_K^2 / 2 <= 0`` for every tau and S >= 0: unconditionally
stable (stability bound infinity), default S = 0. ``1^T K = 0`` (natural Neumann), so ``1^T M_t u`` is
conserved exactly.
"""

from __future__ import annotations

import math

from fem.pde import PDE, register_pde, time_mass, time_mass_diagonal


@register_pde
class HeatEquation(PDE):
    """``u_t = eps Lap u`` on [0, L]^3 with natural (Neumann) boundary conditions (module docstring)."""

    name, title = "heat", "heat equation"
    preset = {"eps": 0.1, "L": 2.0, "dt": 1e-2}
    conserves_mass = True
    auto_preconditioner = "dct"
    initial_condition = dict(family="grf", length_scale=0.4, amplitude=1.0, level=0.0, radius=0.5, rmin=0.25, rmax=0.6)

    def explicit_residual(self, params, ops, u):
        return params.eps * (ops.K @ u)

    def step_operator(self, params, ops, X):
        return time_mass(params, ops, X) * (1.0 / params.tau + params.S) + params.eps * (ops.K @ X)

    def step_diagonal(self, params, fem_ops):
        return time_mass_diagonal(params, fem_ops) * (1.0 / params.tau + params.S) + params.eps * fem_ops.K.diagonal()

    def symbol(self, params, lam):
        return 1.0 / params.tau + params.S + params.eps * lam

    def scheme_terms(self, params, ops, u0, u1):
        return (1.0 / params.tau + params.S) * (u1 - u0), params.eps * u1, None

    def quadratic(self, params, ops, U):
        return params.eps * (ops.K @ U)

    def potential(self, params, U):
        return U * 0.0

    def potential_derivative(self, params, U):
        return U * 0.0

    def stability_bound(self, params):
        return math.inf
