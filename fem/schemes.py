"""Time-discrete schemes of the PDEs of :mod:`fem.pde` (AC, CH, SH built in), written once for numpy/scipy and torch.

This module is the consistency contract of the project (docs/design.md section 4.5): the reference solver
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
Nonlinearities are interpolated nodally (load ``M_t f(u)``, docs/design.md section 4.1).

Schemes (stabilised linearly implicit IMEX Euler): the residual is written in increment form
``r = g(u0) + A d`` with ``g(u0) = r(u0, u0)`` the *explicit residual* and ``A`` the SPD step matrix. Each PDE
is an object of :mod:`fem.pde` that owns its terms (``g``, ``A``, ``diag(A)``, the DCT symbol), its energy,
stability bound and default S; the formulas and the energy-stability proofs are in the docstrings of
:class:`fem.pde.AllenCahn` (AC ``u_t = Lap u - f(u)/eps^2``), :class:`fem.pde.CahnHilliard` (CH
``u_t = Lap mu``, ``mu = -eps^2 Lap u + f(u)``) and :class:`fem.pde.SwiftHohenberg` (SH
``u_t = eps u - (1 + Lap)^2 u - u^3``). The functions below take the :class:`PDEParams` and delegate to
``params.equation``, so a PDE registered with :func:`fem.pde.register_pde` runs through the same code.

Scale of the residual: ``r_i ~ int (u_t - F(u)) phi_i dx``, an assembled weak residual (a dual vector)
of size ``m_i |u_t|`` with ``m_i ~ h^3``. ``r / ops.lumped`` is a nodal (strong-form-like) residual in units
of u_t; :func:`dual_norm` ``sqrt(r^T M_L^-1 r)`` approximates the L2 norm of ``u_t - F(u)`` and does not
depend on n. :func:`relative_residual` divides it by the dual norm of ``g(u0)`` (the residual of
standing still); the solver stops on exactly that quantity.

Energy stability (lumped mass; :mod:`fem.energy` has the energies): testing the scheme with d bounds
``E_h(u1) - E_h(u0)`` by a non-positive quantity whenever ``F'' <= F''_max`` on the segment [u0, u1] at every
node and S is large enough; :func:`stability_bound` turns this into a bound U on |u| below which decay is
guaranteed, and ``PDEParams(S=None)`` takes the PDE's default S (:meth:`fem.pde.PDE.default_stabilisation`).

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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from fem.choices import MASS_KINDS, MassKind  # noqa: F401 - re-exported: the choices are owned by fem.choices
from fem.errors import InputError
from fem.pde import PDE, get_pde, pde_names, swift_hohenberg_operator, time_mass  # noqa: F401 (re-exported)

#: Mass of the time derivative and of the explicit load.
SCHEME_VERSION = "imex-stab-v1"
_FIELDS = ("pde", "eps", "L", "dt", "substeps", "S", "mass")


class _RegisteredNames(Sequence):
    """The names of the registered PDEs, read live from :func:`fem.pde.pde_names` (a plugin shows up here)."""

    def __getitem__(self, i):
        return pde_names()[i]

    def __len__(self) -> int:
        return len(pde_names())

    def __repr__(self) -> str:
        return repr(pde_names())


class _Presets(Mapping):
    """``{name: dict(pde=name, eps=..., L=..., dt=...)}`` of the registered PDEs, read live from their ``preset``."""

    def __getitem__(self, name):
        if name not in pde_names():
            raise KeyError(name)
        return dict(pde=name, **get_pde(name).preset)

    def __iter__(self):
        return iter(pde_names())

    def __len__(self) -> int:
        return len(pde_names())

    def __repr__(self) -> str:
        return repr(dict(self))


#: Names of the registered PDEs (a live view; prefer :func:`fem.pde.pde_names`).
PDES = _RegisteredNames()
#: docs/design.md section 3 (the HAMNO paper's setup, docs/paper.md section 2) per PDE: each PDE class's
#: ``preset`` (a live view); frames = 101 is a dataset setting.
PRESETS = _Presets()


@dataclass(frozen=True)
class PDEParams:
    """Parameters of one PDE and of its time discretisation.

    Parameters
    ----------
    pde : the name of a registered PDE (:func:`fem.pde.pde_names`; built in ``"ac"``, ``"ch"``, ``"sh"``);
        a :class:`fem.pde.PDE` object is replaced by its name. :attr:`equation` is the PDE object.
    eps : interface parameter (AC, CH) or bifurcation parameter (SH).
    L : side of the cube [0, L]^3.
    dt : time between saved frames; one scheme step is ``tau = dt / substeps``.
    substeps : scheme steps per saved frame (1 = the residual of consecutive frames vanishes).
    S : stabilisation constant; ``None`` picks the PDE's default (:meth:`fem.pde.PDE.default_stabilisation`,
        resolved at construction, so ``params.S`` is always a number and ``replace`` keeps it).
    mass : ``"lumped"`` (default, provably energy stable) or ``"consistent"`` (docs/design.md section 4.6).
    """

    pde: str
    eps: float
    L: float
    dt: float
    substeps: int = 1
    S: float | None = None
    mass: MassKind = "lumped"

    def __post_init__(self):
        if isinstance(self.pde, PDE):
            object.__setattr__(self, "pde", self.pde.name)
        equation = get_pde(self.pde)
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
        S = equation.default_stabilisation(self.eps, self.tau) if self.S is None else self.S
        if not isinstance(S, (int, float, np.floating, np.integer)) or not math.isfinite(S) or S < 0:
            raise InputError(f"stabilisation S must be a number >= 0, got {S!r}")
        object.__setattr__(self, "S", float(S))

    @property
    def equation(self) -> PDE:
        """The PDE object (:class:`fem.pde.PDE`) of ``pde``: scheme terms, energy, stability, defaults."""
        return get_pde(self.pde)

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
        missing = [k for k in _FIELDS[:4] if k not in d]
        if missing:
            raise InputError(f"PDE parameters lack {', '.join(missing)}")
        kw = {k: d[k] for k in _FIELDS if k in d}
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
    """The PDE's default S (:meth:`fem.pde.PDE.default_stabilisation`), e.g. AC ``max(0, 2 - eps^2/tau)``, CH 2."""
    return get_pde(pde).default_stabilisation(eps, tau)


def preset(pde: str, **overrides) -> PDEParams:
    """The PDE's preset parameters (docs/design.md section 3) with any field overridden (``None`` values are ignored)."""
    kw = dict(pde=get_pde(pde).name, **get_pde(pde).preset)
    kw.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(kw) - set(_FIELDS)
    if unknown:
        raise InputError(f"unknown PDE parameter(s) {', '.join(sorted(unknown))}")
    return PDEParams(**kw)


@dataclass(frozen=True)
class SchemeOperators:
    """The operators the schemes use, numpy/scipy side: ``M``, ``K`` and ``lumped`` (N, 1).

    Build it from assembled operators with :meth:`from_fem`, which stores ``M`` and ``K`` by diagonals on a
    structured grid (:func:`fem.banded.fast_products`: the same products, bit for bit, ~1.4x faster at 64^3)
    and as scipy CSR elsewhere; only ``@`` is used on them. The torch twin is
    :class:`fem.schemes_torch.TorchSchemeOperators`.
    """

    M: object
    K: object
    lumped: np.ndarray

    @classmethod
    def from_fem(cls, ops) -> "SchemeOperators":
        """From :class:`fem.assembly.Operators` (its ``lumped`` vector becomes an (N, 1) column; M and K as
        :meth:`fem.assembly.Operators.for_products` stores them, converted once per operators object)."""
        return cls(M=ops.for_products("M"), K=ops.for_products("K"), lumped=np.asarray(ops.lumped, dtype=float).reshape(-1, 1))

    @property
    def ndofs(self) -> int:
        return self.lumped.shape[0]


def nonlinearity(params: PDEParams, u):
    """The explicit (nodally interpolated) force, e.g. f(u) = u^3 - u (AC, CH), u^3 - eps u (SH)."""
    return params.equation.nonlinearity(params, u)


def step_operator(params: PDEParams, ops, X):
    """``A X`` with A the SPD matrix of one step (:meth:`fem.pde.PDE.step_operator`); X, result: (N, B)."""
    return params.equation.step_operator(params, ops, X)


def explicit_residual(params: PDEParams, ops, u):
    """``g(u) = r(u, u)``, the residual of standing still (for AC and SH the gradient of E_h): (N, B)."""
    return params.equation.explicit_residual(params, ops, u)


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
    """U such that a step with |u0|, |u1| <= U at every node cannot increase E_h (lumped mass; :mod:`fem.pde`).

    AC ``sqrt((2 (eps^2/tau + S) + 1)/3)``, CH ``sqrt((2 S + 1)/3)``, SH ``sqrt((2 (1/tau + S) + eps)/3)``.
    ``None`` for the consistent mass, for which no such bound is proved (and for a PDE that proves none).
    """
    if params.mass != "lumped":
        return None
    return params.equation.stability_bound(params)


def step_diagonal(params: PDEParams, fem_ops) -> np.ndarray:
    """diag(A), shape (N,), from scipy matrices (for the Jacobi preconditioner). ``fem_ops``: M, K, lumped."""
    return params.equation.step_diagonal(params, fem_ops)


def symbol(params: PDEParams, lam: np.ndarray) -> np.ndarray:
    """Eigenvalue of ``M_L^-1 A`` on a Laplacian eigenmode with ``-Lap phi = lam phi`` (lumped mass):

    AC ``1/tau + S/eps^2 + lam``, CH ``1/tau + S lam + eps^2 lam^2``, SH ``1/tau + S + (1 - lam)^2``.
    Exact on a uniform grid with the 7-point Laplacian, where the DCT diagonalises it (preconditioner).
    """
    return params.equation.symbol(params, lam)
