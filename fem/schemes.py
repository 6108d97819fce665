"""Time-discrete schemes of the three phase-field PDEs, written once for numpy/scipy and for torch.

This module is the consistency contract of the project (DESIGN section 4): the reference solver
(:mod:`fem.solvers`) solves exactly ``residual(params, ops, u0, u1) = 0`` for ``u1``, and the physics
losses evaluate the same function on torch tensors. Every formula below uses only

    ops.M @ X,   ops.K @ X,   ops.lumped * X,   X / ops.lumped,   + - * /,   X**3

on nodal matrices ``X`` of shape ``(N, B)`` (one column per field, N dofs; for the structured cube
mesh the C-order flattening of the ``(n, n, n)`` node grid), with ``ops.lumped`` an ``(N, 1)`` column.
So the same code runs on :class:`SchemeOperators` (scipy CSR + numpy) and on
:class:`fem.schemes_torch.TorchSchemeOperators` (``fem.torch_bridge.SparseOperator`` + torch).

Notation: ``M`` consistent mass, ``M_L = diag(lumped)`` lumped mass, ``K`` stiffness (weak -Laplacian,
natural Neumann), ``d = u1 - u0``, ``tau = dt / substeps`` the step, ``M_t`` the mass of the time
derivative and of the explicit load (``M_L`` by default, ``M`` with ``mass="consistent"``).
Nonlinearities are interpolated nodally (load ``M_t f(u)``, DESIGN section 4).

Schemes (stabilised linearly implicit IMEX Euler; the residual is written in increment form
``r = g(u0) + A d`` with ``g(u0) = r(u0, u0)`` the *explicit residual* and ``A`` the SPD step matrix):

* AC  ``u_t = Lap u - f(u)/eps^2``, ``f(u) = u^3 - u``::

      r = M_t d/tau + K u1 + M_t (f(u0) + S d)/eps^2
      A = M_t (1/tau + S/eps^2) + K,            g(u) = K u + M_t f(u)/eps^2

* CH  ``u_t = Lap mu``, ``mu = -eps^2 Lap u + f(u)``, mu eliminated with the lumped mass::

      mu1 = M_L^-1 eps^2 K u1 + f(u0) + S d,    r = M_t d/tau + K mu1
      A = M_t/tau + eps^2 K M_L^-1 K + S K,     g(u) = K (M_L^-1 eps^2 K u + f(u))

* SH  ``u_t = eps u - (1 + Lap)^2 u - u^3``, ``w = (1 + Lap) u = M_L^-1 (M_L - K) u``::

      r = M_t d/tau + (M_L - K) M_L^-1 (M_L - K) u1 + M_t (u0^3 - eps u0 + S d)
      A = M_t (1/tau + S) + (M_L - K) M_L^-1 (M_L - K),   g(u) = (M_L - K) w + M_t (u^3 - eps u)

  The destabilising ``-eps u`` (concave part of the energy) is explicit, unlike the scheme first
  tried in DESIGN section 4: that makes ``A`` SPD for every tau and S >= 0 and enlarges the stability region.

Scale of the residual: ``r_i ~ int (u_t - F(u)) phi_i dx``, an assembled weak residual (a dual vector)
of size ``m_i |u_t|`` with ``m_i ~ h^3``. ``r / ops.lumped`` is a nodal (strong-form-like) residual in units
of u_t; :func:`dual_norm` ``sqrt(r^T M_L^-1 r)`` approximates the L2 norm of ``u_t - F(u)`` and does not
depend on n. :func:`relative_residual` divides it by the dual norm of ``g(u0)`` (the residual of
standing still); the solver stops on exactly that quantity.

Energy stability (lumped mass, proof by testing the scheme with d; :mod:`fem.energy` has the energies):
with ``E_h = (stiffness part) + sum_i m_i F(u_i)`` and ``F'' <= F''_max`` on the segment [u0, u1] at every node,

* AC: E1 - E0 = -(1/tau + S/eps^2) |d|_ML^2 - |d|_K^2/2 + sum m (F(u1)-F(u0)-f(u0)d)/eps^2
  <= 0 whenever ``1/tau + S/eps^2 >= F''_max/(2 eps^2)``, F = (u^2-1)^2/4, F'' = 3u^2 - 1;
* CH: E1 - E0 <= -tau |mu1|_K^2 - eps^2 |d|_K^2/2 - (S - F''_max/2) |d|_ML^2 <= 0 whenever ``S >= F''_max/2``;
* SH: E1 - E0 <= -(1/tau + S - F''_max/2) |d|_ML^2 - |d|_G^2/2 <= 0 whenever ``1/tau + S >= F''_max/2``,
  F = u^4/4 - eps u^2/2, F'' = 3u^2 - eps.

:func:`stability_bound` turns these into a bound U on |u| below which decay is guaranteed. Default S
(``S=None``): AC ``max(0, 2 - eps^2/tau)``, which also gives a discrete maximum principle |u| <= 1 on
non-obtuse meshes (Kuhn, five; then the bound above holds for free); CH 2 (|u| <= 1.29); SH
``max(0, (6.75 - eps)/2 - 1/tau)``, the smallest S that guarantees decay for |u| <= 1.5 -- three times the
saturation amplitude 2 sqrt(eps/3) ~ 0.45 of SH patterns and above the ~5-sigma tails of the default
initial condition. At the paper's dt = 0.05 the bound is |u| <= 3.7 even with S = 0, so S = 0 there: any
S > 0 would only add the O(S tau) lag of the stabilisation (5% at S = 1).

Example (standing still, the residual is the explicit residual g(u0)):

>>> import numpy as np
>>> from fem import assemble, cube_mesh
>>> p = preset("ac", dt=1e-3)
>>> ops = SchemeOperators.from_fem(assemble(cube_mesh(5, p.L)))
>>> u0 = np.zeros((125, 1)); u0[:60] = 1.0
>>> r = residual(p, ops, u0, u0)
>>> r.shape, bool(np.allclose(r, explicit_residual(p, ops, u0)))
((125, 1), True)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from fem.errors import InputError

PDES = ("ac", "ch", "sh")
MASS_KINDS = ("lumped", "consistent")
SCHEME_VERSION = "imex-stab-v1"


@dataclass(frozen=True)
class PDEParams:
    """Parameters of one PDE and of its time discretisation.

    Parameters
    ----------
    pde : ``"ac"``, ``"ch"`` or ``"sh"``.
    eps : interface parameter (AC, CH) or bifurcation parameter (SH).
    L : side of the cube [0, L]^3.
    dt : time between saved frames; one scheme step is ``tau = dt / substeps``.
    substeps : scheme steps per saved frame (1 = the residual of consecutive frames vanishes).
    S : stabilisation constant; ``None`` picks the per-PDE default of the module docstring (resolved
        at construction, so ``params.S`` is always a number and ``replace`` keeps it).
    mass : ``"lumped"`` (default, provably energy stable) or ``"consistent"`` (the DESIGN section 4 form).
    """

    pde: str
    eps: float
    L: float
    dt: float
    substeps: int = 1
    S: float | None = None
    mass: str = "lumped"

    def __post_init__(self):
        if self.pde not in PDES:
            raise InputError(f"unknown PDE {self.pde!r}; expected one of {', '.join(PDES)}")
        for name in ("eps", "L", "dt"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) or v <= 0:
                raise InputError(f"{name} must be a positive number, got {v!r}")
            object.__setattr__(self, name, float(v))
        if not isinstance(self.substeps, (int, np.integer)) or isinstance(self.substeps, bool) or self.substeps < 1:
            raise InputError(f"substeps must be an integer >= 1, got {self.substeps!r}")
        object.__setattr__(self, "substeps", int(self.substeps))
        if self.mass not in MASS_KINDS:
            raise InputError(f"unknown mass {self.mass!r}; expected one of {', '.join(MASS_KINDS)}")
        S = default_stabilisation(self.pde, self.eps, self.tau) if self.S is None else self.S
        if not isinstance(S, (int, float, np.floating, np.integer)) or not math.isfinite(S) or S < 0:
            raise InputError(f"stabilisation S must be a number >= 0, got {S!r}")
        object.__setattr__(self, "S", float(S))

    @property
    def tau(self) -> float:
        """Scheme step ``dt / substeps``."""
        return self.dt / self.substeps

    @property
    def scheme(self) -> str:
        """Name recorded in datasets, e.g. ``"imex-stab-v1/ac/lumped"``."""
        return f"{SCHEME_VERSION}/{self.pde}/{self.mass}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PDEParams":
        """Rebuild from :meth:`to_dict` output or dataset attributes (extra keys are ignored)."""
        keys = ("pde", "eps", "L", "dt", "substeps", "S", "mass")
        missing = [k for k in keys[:4] if k not in d]
        if missing:
            raise InputError(f"PDE parameters lack {', '.join(missing)}")
        kw = {k: d[k] for k in keys if k in d}
        kw["pde"] = str(kw["pde"])
        if "mass" in kw:
            kw["mass"] = str(kw["mass"])
        for k in ("eps", "L", "dt", "S"):
            if k in kw:
                kw[k] = float(kw[k])
        if "substeps" in kw:
            kw["substeps"] = int(kw["substeps"])
        return cls(**kw)

    def frame_level(self) -> "PDEParams":
        """The same scheme with one step per frame (tau = dt), S kept: the residual between saved frames."""
        return replace(self, substeps=1)


def default_stabilisation(pde: str, eps: float, tau: float) -> float:
    """Per-PDE default S (module docstring): AC max(0, 2 - eps^2/tau), CH 2, SH max(0, (6.75-eps)/2 - 1/tau)."""
    if pde == "ac":
        return max(0.0, 2.0 - eps**2 / tau)
    if pde == "ch":
        return 2.0
    return max(0.0, (3.0 * 1.5**2 - eps) / 2.0 - 1.0 / tau)


#: DESIGN section 3 (the HAMNO paper's setup); frames = 101 is a dataset setting.
PRESETS = {
    "ac": dict(pde="ac", eps=0.1, L=2.0, dt=1e-4),
    "ch": dict(pde="ch", eps=0.05, L=2.0, dt=1e-3),
    "sh": dict(pde="sh", eps=0.15, L=15.0, dt=5e-2),
}


def preset(pde: str, **overrides) -> PDEParams:
    """The DESIGN section 3 parameters of ``pde`` with any field overridden (``None`` values are ignored)."""
    if pde not in PRESETS:
        raise InputError(f"unknown PDE {pde!r}; expected one of {', '.join(PDES)}")
    kw = dict(PRESETS[pde])
    kw.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(kw) - {"pde", "eps", "L", "dt", "substeps", "S", "mass"}
    if unknown:
        raise InputError(f"unknown PDE parameter(s) {', '.join(sorted(unknown))}")
    return PDEParams(**kw)


@dataclass(frozen=True)
class SchemeOperators:
    """The operators the schemes use, numpy/scipy side: ``M``, ``K`` (scipy CSR) and ``lumped`` (N, 1).

    Build it from assembled operators with :meth:`from_fem`; the torch twin is
    :class:`fem.schemes_torch.TorchSchemeOperators`.
    """

    M: object
    K: object
    lumped: np.ndarray

    @classmethod
    def from_fem(cls, ops) -> "SchemeOperators":
        """From :class:`fem.assembly.Operators` (its ``lumped`` vector becomes an (N, 1) column)."""
        return cls(M=ops.M, K=ops.K, lumped=np.asarray(ops.lumped, dtype=float).reshape(-1, 1))

    @property
    def ndofs(self) -> int:
        return self.lumped.shape[0]


def nonlinearity(params: PDEParams, u):
    """The explicit (nodally interpolated) force: f(u) = u^3 - u (AC, CH), u^3 - eps u (SH)."""
    if params.pde == "sh":
        return u**3 - params.eps * u
    return u**3 - u


def _mt(params: PDEParams, ops, X):
    """The mass of the time derivative and explicit load applied to X: M_L X or M X."""
    return ops.lumped * X if params.mass == "lumped" else ops.M @ X


def swift_hohenberg_operator(ops, X):
    """(M_L - K) M_L^-1 (M_L - K) X, the discrete weak form of (1 + Lap)^2 (symmetric, PSD)."""
    W = X - (ops.K @ X) / ops.lumped
    return ops.lumped * W - ops.K @ W


def step_operator(params: PDEParams, ops, X):
    """``A X`` with A the SPD matrix of one step (module docstring); X, result: (N, B)."""
    tau, eps, S = params.tau, params.eps, params.S
    if params.pde == "ac":
        return _mt(params, ops, X) * (1.0 / tau + S / eps**2) + ops.K @ X
    if params.pde == "ch":
        return _mt(params, ops, X) / tau + ops.K @ (eps**2 * (ops.K @ X) / ops.lumped + S * X)
    return _mt(params, ops, X) * (1.0 / tau + S) + swift_hohenberg_operator(ops, X)


def explicit_residual(params: PDEParams, ops, u):
    """``g(u) = r(u, u)``, the residual of standing still (for AC and SH the gradient of E_h): (N, B)."""
    if params.pde == "ac":
        return ops.K @ u + _mt(params, ops, nonlinearity(params, u)) / params.eps**2
    if params.pde == "ch":
        return ops.K @ (params.eps**2 * (ops.K @ u) / ops.lumped + nonlinearity(params, u))
    return swift_hohenberg_operator(ops, u) + _mt(params, ops, nonlinearity(params, u))


def residual(params: PDEParams, ops, u0, u1):
    """Residual of one step of size ``tau = params.tau`` from ``u0`` to ``u1``: ``r = g(u0) + A (u1 - u0)``.

    Parameters
    ----------
    params : :class:`PDEParams`.
    ops : :class:`SchemeOperators` (numpy) or :class:`fem.schemes_torch.TorchSchemeOperators` (torch).
    u0, u1 : nodal matrices (N, B) (numpy arrays or torch tensors, same backend as ``ops``).

    Returns the assembled weak residual (N, B), e.g. for AC ``M_t (u1-u0)/tau + K u1 + M_t (f(u0) + S (u1-u0))/eps^2``;
    it vanishes (to solver tolerance) on consecutive reference steps. The increment ``u1 - u0`` is formed
    first, so the float32 cancellation of ``M u1/tau - M u0/tau`` is avoided.
    """
    return explicit_residual(params, ops, u0) + step_operator(params, ops, u1 - u0)


def dual_norm(ops, R):
    """``sqrt(R^T M_L^-1 R)`` per column: (N, B) -> (B,). Independent of n for a fixed continuous residual."""
    return ((R * R) / ops.lumped).sum(0) ** 0.5


def relative_residual(params: PDEParams, ops, u0, u1):
    """``|r(u0, u1)|_* / |r(u0, u0)|_*`` per column (B,): the quantity the solver drives below ``rtol``."""
    return dual_norm(ops, residual(params, ops, u0, u1)) / dual_norm(ops, explicit_residual(params, ops, u0))


def stability_bound(params: PDEParams) -> float | None:
    """U such that a step with |u0|, |u1| <= U at every node cannot increase E_h (lumped mass; module docstring).

    AC ``sqrt((2 (eps^2/tau + S) + 1)/3)``, CH ``sqrt((2 S + 1)/3)``, SH ``sqrt((2 (1/tau + S) + eps)/3)``.
    ``None`` for the consistent mass, for which no such bound is proved.
    """
    if params.mass != "lumped":
        return None
    tau, eps, S = params.tau, params.eps, params.S
    if params.pde == "ac":
        return math.sqrt((2.0 * (eps**2 / tau + S) + 1.0) / 3.0)
    if params.pde == "ch":
        return math.sqrt((2.0 * S + 1.0) / 3.0)
    return math.sqrt((2.0 * (1.0 / tau + S) + eps) / 3.0)


def step_diagonal(params: PDEParams, fem_ops) -> np.ndarray:
    """diag(A), shape (N,), from scipy matrices (for the Jacobi preconditioner). ``fem_ops``: M, K, lumped."""
    m = np.asarray(fem_ops.lumped, dtype=float).ravel()
    K = fem_ops.K.tocsr()
    mt = m if params.mass == "lumped" else fem_ops.M.diagonal()
    tau, eps, S = params.tau, params.eps, params.S
    if params.pde == "ac":
        return mt * (1.0 / tau + S / eps**2) + K.diagonal()
    if params.pde == "ch":
        return mt / tau + eps**2 * (K.multiply(K) @ (1.0 / m)) + S * K.diagonal()
    import scipy.sparse as sp

    B = (sp.diags(m) - K).tocsr()
    return mt * (1.0 / tau + S) + B.multiply(B) @ (1.0 / m)


def symbol(params: PDEParams, lam: np.ndarray) -> np.ndarray:
    """Eigenvalue of ``M_L^-1 A`` on a Laplacian eigenmode with ``-Lap phi = lam phi`` (lumped mass):

    AC ``1/tau + S/eps^2 + lam``, CH ``1/tau + S lam + eps^2 lam^2``, SH ``1/tau + S + (1 - lam)^2``.
    Exact on a uniform grid with the 7-point Laplacian, where the DCT diagonalises it (preconditioner).
    """
    tau, eps, S = params.tau, params.eps, params.S
    if params.pde == "ac":
        return 1.0 / tau + S / eps**2 + lam
    if params.pde == "ch":
        return 1.0 / tau + S * lam + eps**2 * lam**2
    return 1.0 / tau + S + (1.0 - lam) ** 2
