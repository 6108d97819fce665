"""Discrete free energies and mass of the PDEs, with the operators of the schemes (numpy).

With ``m = lumped`` (row sums of M, so ``sum_i m_i F(u_i) = int I_h F(u_h)`` for P1) the energy of a PDE is

    E_h(u) = u^T Q u / 2 + sum_i m_i F(u_i),        dE_h/du = Q u + M_L F'(u)

with the symmetric operator ``Q`` (:meth:`fem.pde.PDE.quadratic`) and the nodal potential ``F``
(:meth:`fem.pde.PDE.potential`, its derivative :meth:`fem.pde.PDE.potential_derivative`) owned by the PDE
object; the docstrings of :mod:`fem.pde` give them, e.g.

* AC  ``E = u^T K u / 2 + sum_i m_i (u_i^2 - 1)^2 / (4 eps^2)``
* CH  ``E = eps^2 u^T K u / 2 + sum_i m_i (u_i^2 - 1)^2 / 4``
* SH  ``E = u^T G u / 2 + sum_i m_i (u_i^4/4 - eps u_i^2/2)``  (``G = (M_L - K) M_L^-1 (M_L - K)``, ``u^T G u = |w|_ML^2``)
* mass ``int u = sum_i m_i u_i`` (``= 1^T M u``; conserved exactly by the CH scheme since ``1^T K = 0``).

These are the energies the schemes dissipate (docs/design.md section 3; proofs in :mod:`fem.pde`):
:func:`energy_gradient` is ``dE/du``, and ``fem.schemes.explicit_residual`` equals it for AC and SH and
equals ``K M_L^-1 dE/du`` for CH (an H^-1 gradient flow), which the tests check.

Shapes: ``U`` may be a nodal vector ``(N,)``, a nodal matrix ``(N, B)`` (columns = fields), a stack of
nodal vectors ``(..., N)`` such as a trajectory ``(frames, N)``, or grid fields ``(..., n, n, n)`` on a grid
mesh (C order). The result has the leading shape: ``()``, ``(B,)``, ``(...)``.

Example:

>>> import numpy as np
>>> from fem import assemble, cube_mesh
>>> from fem.schemes import preset
>>> ops = assemble(cube_mesh(5, 2.0))
>>> round(float(free_energy(preset("ac"), ops, np.zeros(125))), 9)  # int (0 - 1)^2 / (4 eps^2) = 8 / 0.04
200.0
>>> mass(ops, np.ones((3, 5, 5, 5)))  # a trajectory of 3 grid frames
array([8., 8., 8.])
"""

from __future__ import annotations

import numpy as np

from fem.errors import InputError
from fem.schemes import PDEParams, SchemeOperators


def as_columns(U, N: int) -> tuple[np.ndarray, tuple]:
    """``U`` as a nodal matrix ``(N, B)`` and the leading shape to give results (see module docstring)."""
    U = np.asarray(U, dtype=float)
    if U.ndim == 1 and U.shape[0] == N:
        return U.reshape(N, 1), ()
    if U.ndim == 2 and U.shape[0] == N and U.shape[1] != N:
        return U, (U.shape[1],)
    if U.ndim >= 1 and U.shape[-1] == N:
        lead = U.shape[:-1]
    elif U.ndim >= 3 and int(np.prod(U.shape[-3:])) == N:
        lead = U.shape[:-3]
    else:
        raise InputError(f"fields of shape {U.shape} do not match {N} dofs: expected (N,), (N, B), (..., N) or (..., n, n, n)")
    return U.reshape(-1, N).T, lead


def _scheme_ops(ops) -> SchemeOperators:
    return ops if isinstance(ops, SchemeOperators) else SchemeOperators.from_fem(ops)


def free_energy(params: PDEParams, ops, U) -> np.ndarray:
    """Discrete free energy E_h of each field of ``U`` (module docstring); ``ops``: assembled or scheme operators."""
    sops = _scheme_ops(ops)
    X, lead = as_columns(U, sops.ndofs)
    return energy_of_columns(params, sops, X).reshape(lead)


def energy_of_columns(params: PDEParams, sops, X):
    """E_h of the columns of a nodal matrix X (N, B) -> (B,), on scheme operators of either backend (numpy or
    :class:`fem.schemes_torch.TorchSchemeOperators` with torch X: the torch solver's energy curves)."""
    pde = params.equation
    return 0.5 * pde.quadratic_form(params, sops, X) + (sops.lumped * pde.potential(params, X)).sum(0)


def energy_gradient(params: PDEParams, ops, X: np.ndarray) -> np.ndarray:
    """``dE_h/du`` for a nodal matrix X (N, B): ``Q u + m F'(u)`` (a dual vector, like a residual)."""
    return energy_gradient_of_columns(params, _scheme_ops(ops), X)


def energy_gradient_of_columns(params: PDEParams, sops, X):
    """:func:`energy_gradient` on scheme operators of either backend (numpy, or torch with torch X)."""
    pde = params.equation
    return pde.quadratic(params, sops, X) + sops.lumped * pde.potential_derivative(params, X)


def mass(ops, U) -> np.ndarray:
    """``int u_h = sum_i m_i u_i`` of each field of ``U``."""
    sops = _scheme_ops(ops)
    X, lead = as_columns(U, sops.ndofs)
    return (sops.lumped * X).sum(0).reshape(lead)


def rounding_tolerance(params: PDEParams, ops, U, unit: float = 2.0**-24) -> np.ndarray:
    """Bound on |E_h(fl(u)) - E_h(u)| to first order when every value is rounded with relative error ``unit``.

    ``sum_i |dE/du_i| |u_i| unit`` (float32: unit = 2^-24); the slack of an energy-decay check on stored data.
    """
    sops = _scheme_ops(ops)
    X, lead = as_columns(U, sops.ndofs)
    return rounding_tolerance_of_columns(params, sops, X, unit).reshape(lead)


def rounding_tolerance_of_columns(params: PDEParams, sops, X, unit: float = 2.0**-24):
    """:func:`rounding_tolerance` of the columns of X (N, B) -> (B,), on scheme operators of either backend
    (numpy, or :class:`fem.schemes_torch.TorchSchemeOperators` with torch X: the rollout guard's slack)."""
    return (abs(energy_gradient_of_columns(params, sops, X)) * abs(X)).sum(0) * unit
