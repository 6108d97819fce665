"""The PDEs as objects: one class per PDE owns everything that differs between PDEs.

A :class:`PDE` owns its name and title, its preset (the HAMNO paper's eps, L, dt), the terms of its
time-discrete scheme, its discrete free energy, the stability bound and default stabilisation S, whether it
conserves mass, the preconditioner ``"auto"`` picks, and its default initial-condition settings. The rest of
the code asks the object (``params.equation`` of :class:`fem.schemes.PDEParams`, or :func:`get_pde`) and
never switches on the PDE's name, so a new PDE is one class in one file (``tests/plugins/heat_equation.py``)::

    from fem.pde import PDE, register_pde

    @register_pde
    class Heat(PDE):
        name, title = "heat", "heat equation"
        preset = dict(eps=0.1, L=2.0, dt=1e-3)
        ...                                   # the abstract methods below

Registry: :func:`register_pde` (a class decorator), :func:`get_pde`, :func:`pde_names`,
:func:`unregister_pde`. Built in: :class:`AllenCahn` ``"ac"``, :class:`CahnHilliard` ``"ch"``,
:class:`SwiftHohenberg` ``"sh"``.

**Contract of the scheme methods** (the consistency contract of :mod:`fem.schemes`, whose docstring has
the notation). Every method receives the numbers of a :class:`fem.schemes.PDEParams` (``params.eps``,
``.tau``, ``.S``, ``.mass``) and an operator object ``ops``, and uses only

    ops.M @ X,   ops.K @ X,   ops.lumped * X,   X / ops.lumped,   + - * /,   X**3

on nodal matrices ``X`` of shape ``(N, B)`` (``ops.lumped`` an ``(N, 1)`` column), so the same code runs on
numpy/scipy (:class:`fem.schemes.SchemeOperators`), on torch (:class:`fem.schemes_torch.TorchSchemeOperators`)
and on the finite-difference operators of the strong loss. The scheme is a stabilised linearly implicit
IMEX Euler step in increment form ``r(u0, u1) = g(u0) + A d``, ``d = u1 - u0``:

* :meth:`PDE.explicit_residual` ``g(u) = r(u, u)`` and :meth:`PDE.step_operator` ``A X`` (A symmetric positive
  definite: the reference solver runs CG on ``A d = -g(u0)``);
* :meth:`PDE.step_diagonal` ``diag(A)`` from scipy matrices (Jacobi) and :meth:`PDE.symbol`, the eigenvalue of
  ``M_L^-1 A`` on a Laplacian eigenmode (DCT preconditioner; only needed when that preconditioner is used);
* :meth:`PDE.scheme_terms` ``(a, b, c)`` with ``r = M_t a + K b + M_L c`` (the paper's element-local residual);
* the energy ``E_h = u^T Q u / 2 + sum_i m_i F(u_i)`` (:mod:`fem.energy`): :meth:`PDE.quadratic` ``Q X``,
  :meth:`PDE.potential` ``F`` and :meth:`PDE.potential_derivative` ``F'`` (nodal, elementwise), and
  :meth:`PDE.quadratic_form` ``u^T Q u`` (by default from :meth:`PDE.quadratic`; the reference solver records
  the energy of every saved frame, so its cost counts);
* :meth:`PDE.stability_bound` (lumped mass) and :meth:`PDE.default_stabilisation`.

Energy stability is proved per PDE by testing the scheme with ``d`` (lumped mass, ``F'' <= F''_max`` on the
segment [u0, u1] at every node); each class's docstring has its proof and the bound it gives.

``fem`` never imports ``pihamno``: the default initial condition is plain data (a family name and parameter
values) that :mod:`pihamno.data.initial_conditions` interprets.

>>> pde_names()[:3]
('ac', 'ch', 'sh')
>>> get_pde("ch").title, get_pde("ch").conserves_mass, get_pde("sh").preset
('Cahn-Hilliard', True, {'eps': 0.15, 'L': 15.0, 'dt': 0.05})
>>> get_pde("kdv")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
fem.errors.InputError: unknown PDE 'kdv'; expected one of ac, ch, sh; if a plugin defines it, load the plugin: ...
"""

from __future__ import annotations

import abc
import math
import re
from typing import ClassVar, Protocol

import numpy as np

from fem.errors import InputError


class SchemeNumbers(Protocol):
    """What a PDE's methods read of their ``params``: the numbers of a :class:`fem.schemes.PDEParams` (which
    builds and checks them, and knows the PDE by name; this module needs only the numbers, so it imports
    nothing from the schemes)."""

    eps: float
    L: float
    dt: float
    substeps: int
    S: float
    mass: str

    @property
    def tau(self) -> float: ...


def time_mass(params: SchemeNumbers, ops, X):
    """The mass of the time derivative and of the explicit load applied to X (N, B): ``M_L X`` or ``M X``."""
    return ops.lumped * X if params.mass == "lumped" else ops.M @ X


def time_mass_diagonal(params: SchemeNumbers, fem_ops) -> np.ndarray:
    """``diag(M_t)``, shape (N,), from scipy matrices: the lumped masses or the diagonal of ``M``."""
    return np.asarray(fem_ops.lumped, dtype=float).ravel() if params.mass == "lumped" else fem_ops.M.diagonal()


class PDE(abc.ABC):
    """A PDE and its time discretisation; subclass it and decorate with :func:`register_pde`.

    Class attributes (plain data):

    * ``name`` -- the key of the registry and of dataset attributes (lower case, e.g. ``"ac"``);
      ``title`` -- the name printed for people (``"Allen-Cahn"``).
    * ``preset`` -- ``{"eps": ..., "L": ..., "dt": ...}``, the defaults of :func:`fem.schemes.preset`.
    * ``conserves_mass`` -- the scheme conserves ``1^T M_t u`` exactly: the solver projects each increment
      onto zero mass and ``check-data`` checks the mass drift against float32 rounding.
    * ``auto_preconditioner`` -- what ``preconditioner="auto"`` uses on a P1 grid mesh (``"dct"`` needs
      :meth:`symbol`; elsewhere ``"jacobi"``).
    * ``initial_condition`` -- the in-distribution family (``"family"``) and the values of the family
      parameters left at ``None`` (length scales in units of L, ``level``, ``amplitude``, radii);
      :func:`pihamno.data.initial_conditions.resolve_params` fills them in.

    Methods take ``params`` (:class:`fem.schemes.PDEParams`) and ``ops`` (see the module docstring); nodal
    inputs and outputs are (N, B) (numpy or torch). Abstract: :meth:`explicit_residual`,
    :meth:`step_operator`, :meth:`quadratic`, :meth:`potential`, :meth:`potential_derivative`.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    preset: ClassVar[dict] = {}
    conserves_mass: ClassVar[bool] = False
    auto_preconditioner: ClassVar[str] = "jacobi"
    initial_condition: ClassVar[dict] = {}

    # ----------------------------------------------------------------------------------- the scheme
    def nonlinearity(self, params: SchemeNumbers, u):
        """The explicit, nodally interpolated force f(u) (elementwise; zero unless overridden)."""
        return u * 0.0

    @abc.abstractmethod
    def explicit_residual(self, params: SchemeNumbers, ops, u):
        """``g(u) = r(u, u)``, the residual of standing still: (N, B)."""

    @abc.abstractmethod
    def step_operator(self, params: SchemeNumbers, ops, X):
        """``A X`` with A the symmetric positive definite matrix of one step: (N, B)."""

    def residual_and_next(self, params: SchemeNumbers, ops, u0, u1, g0):
        """``(r, g1)``: the residual ``r = g(u0) + A (u1 - u0)`` of the step u0 -> u1, given ``g0 = g(u0)``, and
        ``g1 = g(u1)``, the explicit residual of the next step: what the solver needs after each step (its
        check and its next right-hand side). Both are (N, B).

        This default costs one :meth:`step_operator` and one :meth:`explicit_residual`. A PDE whose residual
        and next explicit residual share sparse products overrides it (AC, CH, SH: the ``K u1`` terms); an
        override computes ``r`` from u0 and u1 as :func:`fem.schemes.residual` does and may ignore ``g0``.
        """
        return g0 + self.step_operator(params, ops, u1 - u0), self.explicit_residual(params, ops, u1)

    def step_diagonal(self, params: SchemeNumbers, fem_ops) -> np.ndarray:
        """``diag(A)``, shape (N,), from scipy matrices ``fem_ops.M``, ``.K``, ``.lumped`` (Jacobi)."""
        raise InputError(f"the {self.title} PDE does not define step_diagonal, which the Jacobi preconditioner needs")

    def symbol(self, params: SchemeNumbers, lam: np.ndarray) -> np.ndarray:
        """Eigenvalue of ``M_L^-1 A`` on a mode with ``-Lap phi = lam phi`` (lumped mass; DCT preconditioner)."""
        raise InputError(f"the {self.title} PDE does not define symbol, which the DCT preconditioner needs; use 'jacobi'")

    def scheme_terms(self, params: SchemeNumbers, ops, u0, u1):
        """``(a, b, c)`` with ``residual(params, ops, u0, u1) == M_t a + K b + M_L c``; (N, B) each, c may be None."""
        raise InputError(f"the {self.title} PDE does not define scheme_terms, which the element-local residual needs")

    # ----------------------------------------------------------------------------------- the energy
    @abc.abstractmethod
    def quadratic(self, params: SchemeNumbers, ops, U):
        """``Q U``, the symmetric operator of the quadratic part ``u^T Q u / 2`` of E_h: (N, B)."""

    def quadratic_form(self, params: SchemeNumbers, ops, U):
        """``u^T Q u`` of each column of U: (B,). Default ``sum(U * Q U)``; a PDE whose Q factors overrides it
        with fewer sparse products (SH: ``|w|_ML^2``, one product with K instead of two)."""
        return (U * self.quadratic(params, ops, U)).sum(0)

    @abc.abstractmethod
    def potential(self, params: SchemeNumbers, U):
        """The nodal potential F(u) of ``E_h = u^T Q u / 2 + sum_i m_i F(u_i)`` (elementwise; products, not
        ``U**4``: numpy's generic power is ~50x slower than two multiplications)."""

    @abc.abstractmethod
    def potential_derivative(self, params: SchemeNumbers, U):
        """``F'(u)`` (elementwise), so that ``dE_h/du = Q u + M_L F'(u)``."""

    # ----------------------------------------------------------------------------------- stability
    def stability_bound(self, params: SchemeNumbers) -> float | None:
        """U such that a lumped-mass step with |u0|, |u1| <= U cannot increase E_h (None: no bound proved)."""
        return None

    def maximum_principle(self, params: SchemeNumbers) -> float | None:
        """The bound B with |u1| <= B at every node whenever |u0| <= B, if the scheme proves one (None: none).

        A pointwise bound the discrete solution respects, which evaluation reports overshoots of and an
        inference guard may clip to; the reason is stated in the overriding class's docstring. (The
        energy-stability bound :meth:`stability_bound` is another thing: a range of u in which the energy
        cannot rise, not one the solution stays in.)
        """
        return None

    def default_stabilisation(self, eps: float, tau: float) -> float:
        """The S that ``PDEParams(S=None)`` resolves to (0 unless overridden)."""
        return 0.0

    def __repr__(self) -> str:
        return f"<PDE {self.name!r}: {self.title}>"


# --------------------------------------------------------------------------------------------- registry
_REGISTRY: dict[str, PDE] = {}
#: Appended to the refusal of an unknown name: how a PDE defined outside the package gets registered (the
#: ``pihamno`` command line loads plugins, docs/plugins.md; ``fem`` itself only keeps the registry).
PLUGIN_HINT = ("if a plugin defines it, load the plugin: pihamno --plugin MODULE_OR_FILE VERB ..., the PIHAMNO_PLUGINS "
               "environment variable, or install its package (docs/plugins.md)")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def _check_class(cls) -> None:
    """Refuse a PDE class whose plain data is incomplete (one sentence per problem)."""
    if not (isinstance(cls, type) and issubclass(cls, PDE)):
        raise InputError(f"register_pde expects a subclass of fem.pde.PDE, got {cls!r}")
    where = f"PDE class {cls.__qualname__}"
    if not isinstance(cls.name, str) or not _NAME.match(cls.name):
        raise InputError(f"{where} needs a lower-case identifier as its name, got {cls.name!r}")
    if not isinstance(cls.title, str) or not cls.title:
        raise InputError(f"{where} needs a title, got {cls.title!r}")
    for key in ("eps", "L", "dt"):
        v = cls.preset.get(key) if isinstance(cls.preset, dict) else None
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            raise InputError(f"{where}: preset[{key!r}] must be a positive number, got {v!r}")
    if not isinstance(cls.initial_condition, dict) or not isinstance(cls.initial_condition.get("family"), str):
        raise InputError(f"{where}: initial_condition must be a dict with a 'family' name")
    if cls.auto_preconditioner not in ("dct", "jacobi"):
        raise InputError(f"{where}: auto_preconditioner must be 'dct' or 'jacobi', got {cls.auto_preconditioner!r}")
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise InputError(f"{where} does not define {', '.join(missing)}")


def register_pde(cls: type[PDE]) -> type[PDE]:
    """Register a :class:`PDE` subclass under its ``name`` (usable as a class decorator); returns ``cls``.

    A name taken by another class is refused; registering the same class again (a module reload) replaces it.
    """
    _check_class(cls)
    old = _REGISTRY.get(cls.name)
    if old is not None and (type(old).__module__, type(old).__qualname__) != (cls.__module__, cls.__qualname__):
        raise InputError(f"PDE name {cls.name!r} is already registered by {type(old).__module__}.{type(old).__qualname__}")
    _REGISTRY[cls.name] = cls()
    return cls


def unregister_pde(name: str) -> None:
    """Remove the PDE ``name`` from the registry (plugins and tests)."""
    get_pde(name)
    del _REGISTRY[name]


def get_pde(name: str | PDE) -> PDE:
    """The registered PDE object of ``name`` (a PDE object is returned as is); :class:`InputError` if unknown."""
    if isinstance(name, PDE):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown PDE {name!r}; expected one of {', '.join(_REGISTRY)}; {PLUGIN_HINT}") from None


def pde_names() -> tuple[str, ...]:
    """Names of the registered PDEs, in registration order (the built-in ``ac``, ``ch``, ``sh`` first)."""
    return tuple(_REGISTRY)



# --------------------------------------------------------------------------------------------- built-in PDEs
def swift_hohenberg_operator(ops, X):
    """(M_L - K) M_L^-1 (M_L - K) X, the discrete weak form of (1 + Lap)^2 (symmetric, PSD)."""
    W = X - (ops.K @ X) / ops.lumped
    return ops.lumped * W - ops.K @ W


@register_pde
class AllenCahn(PDE):
    """Allen-Cahn ``u_t = Lap u - f(u)/eps^2``, ``f(u) = u^3 - u = F'(u)``, ``F(u) = (u^2 - 1)^2 / 4``.

    Scheme (stabilised linearly implicit IMEX Euler)::

        r = M_t d/tau + K u1 + M_t (f(u0) + S d)/eps^2
        A = M_t (1/tau + S/eps^2) + K,            g(u) = K u + M_t f(u)/eps^2

    Element-local split ``a = d/tau + (f(u0) + S d)/eps^2, b = u1``. DCT symbol ``1/tau + S/eps^2 + lam``.

    Energy ``E = u^T K u / 2 + sum_i m_i (u_i^2 - 1)^2 / (4 eps^2)``; with the lumped mass ``g = dE/du``.

    Energy stability (lumped mass, test the scheme with d)::

        E1 - E0 = -(1/tau + S/eps^2) |d|_ML^2 - |d|_K^2/2 + sum m (F(u1)-F(u0)-f(u0)d)/eps^2

    ``<= 0`` whenever ``1/tau + S/eps^2 >= F''_max/(2 eps^2)``, ``F'' = 3u^2 - 1``: the bound
    ``U = sqrt((2 (eps^2/tau + S) + 1)/3)``. Default ``S = max(0, 2 - eps^2/tau)``, which also gives a
    discrete maximum principle |u| <= 1 on non-obtuse meshes (Kuhn, five; then the bound holds for free).

    Maximum principle (:meth:`maximum_principle`, lumped mass): the step solves
    ``(c M_L + K) u1 = M_L phi(u0)`` with ``c = 1/tau + S/eps^2`` and ``phi(u) = (c + 1/eps^2) u - u^3/eps^2``.
    ``phi`` is increasing on [-1, 1] when ``c + 1/eps^2 >= 3/eps^2``, i.e. ``eps^2/tau + S >= 2``, so
    ``|phi(u0)| <= phi(1) = c`` for ``|u0| <= 1``; on a non-obtuse mesh (off-diagonal ``K_ij <= 0``: Kuhn, five)
    ``c M_L + K`` is an M-matrix with row sums ``c m_i``, hence ``|u1| <= 1``. A mesh file need not be
    non-obtuse: there the bound is what the scheme aims at, and the reference data show whether it holds.

    Preconditioner ``"auto"``: DCT (with the edge correction of :mod:`fem.capacitance` one exact solve per step,
    cheaper than the ~8-14 Jacobi iterations). Initial condition: ``phase`` (+-1 phases, length scale 0.4).
    """

    name, title = "ac", "Allen-Cahn"
    preset = {"eps": 0.1, "L": 2.0, "dt": 1e-4}
    auto_preconditioner = "dct"
    initial_condition = dict(family="phase", length_scale=0.4, level=0.0, amplitude=1.0, radius=0.5, rmin=0.25, rmax=0.6)

    def nonlinearity(self, params, u):
        return u * u * u - u  # not u**3: numpy's generic power is ~10x slower

    def explicit_residual(self, params, ops, u):
        return ops.K @ u + time_mass(params, ops, self.nonlinearity(params, u)) / params.eps**2

    def step_operator(self, params, ops, X):
        tau, eps, S = params.tau, params.eps, params.S
        return time_mass(params, ops, X) * (1.0 / tau + S / eps**2) + ops.K @ X

    def residual_and_next(self, params, ops, u0, u1, g0):
        # r = K u1 + M_t ((1/tau + S/eps^2) d + f(u0)/eps^2),  g1 = K u1 + M_t f(u1)/eps^2: one product with K
        tau, eps, S = params.tau, params.eps, params.S
        Ku1 = ops.K @ u1
        r = Ku1 + time_mass(params, ops, (u1 - u0) * (1.0 / tau + S / eps**2) + self.nonlinearity(params, u0) / eps**2)
        return r, Ku1 + time_mass(params, ops, self.nonlinearity(params, u1) / eps**2)

    def step_diagonal(self, params, fem_ops):
        tau, eps, S = params.tau, params.eps, params.S
        return time_mass_diagonal(params, fem_ops) * (1.0 / tau + S / eps**2) + fem_ops.K.tocsr().diagonal()

    def symbol(self, params, lam):
        return 1.0 / params.tau + params.S / params.eps**2 + lam

    def scheme_terms(self, params, ops, u0, u1):
        tau, eps, S = params.tau, params.eps, params.S
        d = u1 - u0
        return d / tau + (self.nonlinearity(params, u0) + S * d) / eps**2, u1, None

    def quadratic(self, params, ops, U):
        return ops.K @ U

    def potential(self, params, U):
        return (U**2 - 1.0) ** 2 / 4.0 / params.eps**2

    def potential_derivative(self, params, U):
        return self.nonlinearity(params, U) / params.eps**2

    def stability_bound(self, params):
        return math.sqrt((2.0 * (params.eps**2 / params.tau + params.S) + 1.0) / 3.0)

    def maximum_principle(self, params):
        """1 for data in [-1, 1] when the scheme has the lumped mass and ``eps^2/tau + S >= 2`` (class docstring)."""
        ok = params.mass == "lumped" and params.eps**2 / params.tau + params.S >= 2.0 * (1.0 - 1e-12)
        return 1.0 if ok else None

    def default_stabilisation(self, eps, tau):
        return max(0.0, 2.0 - eps**2 / tau)


@register_pde
class CahnHilliard(PDE):
    """Cahn-Hilliard ``u_t = Lap mu``, ``mu = -eps^2 Lap u + f(u)``, ``f(u) = u^3 - u``; mu is eliminated with
    the lumped mass::

        mu1 = M_L^-1 eps^2 K u1 + f(u0) + S d,    r = M_t d/tau + K mu1
        A = M_t/tau + eps^2 K M_L^-1 K + S K,     g(u) = K (M_L^-1 eps^2 K u + f(u))

    Element-local split ``a = d/tau, b = mu1``. DCT symbol ``1/tau + S lam + eps^2 lam^2``.

    Energy ``E = eps^2 u^T K u / 2 + sum_i m_i (u_i^2 - 1)^2 / 4``; ``g = K M_L^-1 dE/du`` (an H^-1
    gradient flow). Mass ``1^T M_t u`` is conserved exactly, since ``1^T K = 0``.

    Energy stability (lumped mass, test with d)::

        E1 - E0 <= -tau |mu1|_K^2 - eps^2 |d|_K^2/2 - (S - F''_max/2) |d|_ML^2 <= 0   whenever S >= F''_max/2,

    the bound ``U = sqrt((2 S + 1)/3)``. Default ``S = 2`` (|u| <= 1.29).

    No maximum principle (:meth:`maximum_principle` is None): a fourth-order flow overshoots the wells near
    curved interfaces (the reference does too: |u| slightly above 1); U bounds where decay is guaranteed, it is
    not a bound the solution must stay under, and evaluation reports max|u| against it.

    Preconditioner ``"auto"``: DCT (CH at 64^3: one exact solve with the edge correction of
    :mod:`fem.capacitance`; ~11 CG iterations with the plain DCT, ~210 with Jacobi). Initial
    condition: ``phase`` with ``level = 0.25`` (about 40% of the +1 phase, mean ~ -0.2), length scale 0.25.
    """

    name, title = "ch", "Cahn-Hilliard"
    preset = {"eps": 0.05, "L": 2.0, "dt": 1e-3}
    conserves_mass = True
    auto_preconditioner = "dct"
    initial_condition = dict(family="phase", length_scale=0.25, level=0.25, amplitude=1.0, radius=0.5, rmin=0.2, rmax=0.5)

    def nonlinearity(self, params, u):
        return u * u * u - u  # not u**3: numpy's generic power is ~10x slower

    def explicit_residual(self, params, ops, u):
        return ops.K @ (params.eps**2 * (ops.K @ u) / ops.lumped + self.nonlinearity(params, u))

    def step_operator(self, params, ops, X):
        tau, eps, S = params.tau, params.eps, params.S
        return time_mass(params, ops, X) / tau + ops.K @ (eps**2 * (ops.K @ X) / ops.lumped + S * X)

    def residual_and_next(self, params, ops, u0, u1, g0):
        # r = M_t d/tau + K mu1 with mu1 = eps^2 M_L^-1 K u1 + f(u0) + S d,  g1 = K (eps^2 M_L^-1 K u1 + f(u1)):
        # three products with K instead of four
        tau, eps, S = params.tau, params.eps, params.S
        d = u1 - u0
        w = eps**2 * (ops.K @ u1) / ops.lumped
        r = time_mass(params, ops, d) / tau + ops.K @ (w + self.nonlinearity(params, u0) + S * d)
        return r, ops.K @ (w + self.nonlinearity(params, u1))

    def step_diagonal(self, params, fem_ops):
        tau, eps, S = params.tau, params.eps, params.S
        m, K = np.asarray(fem_ops.lumped, dtype=float).ravel(), fem_ops.K.tocsr()
        return time_mass_diagonal(params, fem_ops) / tau + eps**2 * (K.multiply(K) @ (1.0 / m)) + S * K.diagonal()

    def symbol(self, params, lam):
        return 1.0 / params.tau + params.S * lam + params.eps**2 * lam**2

    def scheme_terms(self, params, ops, u0, u1):
        tau, eps, S = params.tau, params.eps, params.S
        d = u1 - u0
        return d / tau, eps**2 * (ops.K @ u1) / ops.lumped + self.nonlinearity(params, u0) + S * d, None

    def quadratic(self, params, ops, U):
        return params.eps**2 * (ops.K @ U)

    def potential(self, params, U):
        return (U**2 - 1.0) ** 2 / 4.0

    def potential_derivative(self, params, U):
        return self.nonlinearity(params, U)

    def stability_bound(self, params):
        return math.sqrt((2.0 * params.S + 1.0) / 3.0)

    def default_stabilisation(self, eps, tau):
        return 2.0


@register_pde
class SwiftHohenberg(PDE):
    """Swift-Hohenberg ``u_t = eps u - (1 + Lap)^2 u - u^3``, with ``w = (1 + Lap) u = M_L^-1 (M_L - K) u``::

        r = M_t d/tau + (M_L - K) M_L^-1 (M_L - K) u1 + M_t (u0^3 - eps u0 + S d)
        A = M_t (1/tau + S) + (M_L - K) M_L^-1 (M_L - K),   g(u) = (M_L - K) w + M_t (u^3 - eps u)

    The destabilising ``-eps u`` (concave part of the energy) is explicit, unlike the scheme first tried:
    that makes ``A`` SPD for every tau and S >= 0 and enlarges the stability region. Element-local split
    ``a = d/tau + f(u0) + S d, b = -w1, c = w1`` with ``w1 = u1 - M_L^-1 K u1``, since
    ``(M_L - K) M_L^-1 (M_L - K) u1 = M_L w1 - K w1``. DCT symbol ``1/tau + S + (1 - lam)^2``.

    Energy ``E = u^T G u / 2 + sum_i m_i (u_i^4/4 - eps u_i^2/2)`` with ``G = (M_L - K) M_L^-1 (M_L - K)``
    (``u^T G u = |w|_ML^2``); with the lumped mass ``g = dE/du``.

    Energy stability (lumped mass, test with d), ``F = u^4/4 - eps u^2/2``, ``F'' = 3u^2 - eps``::

        E1 - E0 <= -(1/tau + S - F''_max/2) |d|_ML^2 - |d|_G^2/2 <= 0   whenever 1/tau + S >= F''_max/2,

    the bound ``U = sqrt((2 (1/tau + S) + eps)/3)``. Default ``S = max(0, (6.75 - eps)/2 - 1/tau)``, the
    smallest S that guarantees decay for |u| <= 1.5 -- three times the saturation amplitude
    ``2 sqrt(eps/3) ~ 0.45`` of SH patterns and above the ~5-sigma tails of the default initial condition. At
    the paper's dt = 0.05 the bound is |u| <= 3.7 even with S = 0, so S = 0 there: any S > 0 would only add
    the O(S tau) lag of the stabilisation (5% at S = 1).

    No maximum principle (:meth:`maximum_principle` is None): the amplitude of SH patterns is set by eps
    (about ``2 sqrt(eps/3)``), not by a comparison argument; evaluation reports max|u| against U.

    Preconditioner ``"auto"``: DCT. Initial condition: ``grf`` of amplitude 0.25 (small noise that organises
    into stripes/hexagons), length scale 1.
    """

    name, title = "sh", "Swift-Hohenberg"
    preset = {"eps": 0.15, "L": 15.0, "dt": 5e-2}
    auto_preconditioner = "dct"
    initial_condition = dict(family="grf", length_scale=1.0, level=0.0, amplitude=0.25, radius=2.0, rmin=1.5, rmax=4.0)

    def nonlinearity(self, params, u):
        return u * u * u - params.eps * u

    def explicit_residual(self, params, ops, u):
        return swift_hohenberg_operator(ops, u) + time_mass(params, ops, self.nonlinearity(params, u))

    def step_operator(self, params, ops, X):
        return time_mass(params, ops, X) * (1.0 / params.tau + params.S) + swift_hohenberg_operator(ops, X)

    def residual_and_next(self, params, ops, u0, u1, g0):
        # r = G u1 + M_t ((1/tau + S) d + f(u0)),  g1 = G u1 + M_t f(u1): the two products of G u1 shared
        Gu1 = swift_hohenberg_operator(ops, u1)
        r = Gu1 + time_mass(params, ops, (u1 - u0) * (1.0 / params.tau + params.S) + self.nonlinearity(params, u0))
        return r, Gu1 + time_mass(params, ops, self.nonlinearity(params, u1))

    def step_diagonal(self, params, fem_ops):
        import scipy.sparse as sp

        m = np.asarray(fem_ops.lumped, dtype=float).ravel()
        B = (sp.diags(m) - fem_ops.K.tocsr()).tocsr()
        return time_mass_diagonal(params, fem_ops) * (1.0 / params.tau + params.S) + B.multiply(B) @ (1.0 / m)

    def symbol(self, params, lam):
        return 1.0 / params.tau + params.S + (1.0 - lam) ** 2

    def scheme_terms(self, params, ops, u0, u1):
        d = u1 - u0
        w1 = u1 - (ops.K @ u1) / ops.lumped
        return d / params.tau + self.nonlinearity(params, u0) + params.S * d, -w1, w1

    def quadratic(self, params, ops, U):
        return swift_hohenberg_operator(ops, U)

    def quadratic_form(self, params, ops, U):
        # u^T G u = |w|_ML^2 with w = M_L^-1 (M_L - K) u: one product with K (quadratic() takes two)
        W = U - (ops.K @ U) / ops.lumped
        return (ops.lumped * W * W).sum(0)

    def potential(self, params, U):
        U2 = U * U  # not U**4: numpy's generic power took 40% of a step at n = 64 (issue 20)
        return U2 * (0.25 * U2 - 0.5 * params.eps)

    def potential_derivative(self, params, U):
        return self.nonlinearity(params, U)

    def stability_bound(self, params):
        return math.sqrt((2.0 * (1.0 / params.tau + params.S) + params.eps) / 3.0)

    def default_stabilisation(self, eps, tau):
        return max(0.0, (3.0 * 1.5**2 - eps) / 2.0 - 1.0 / tau)
