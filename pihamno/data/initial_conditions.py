"""Initial conditions on the n^3 node grid of [0, L]^3: a registry of named, seeded families.

Every family is a function ``(rng, n, L, **params) -> (n, n, n) float64`` registered with its parameters
and their defaults; a default of ``None`` is filled per PDE by :func:`resolve_params` from the PDE object's
``initial_condition`` settings (:class:`fem.pde.PDE`: length scales depend on the PDE) and its ``eps`` (the
interface width is the equilibrium one, ``sqrt(2) eps``).

Gaussian random fields live in the cosine (Neumann) basis of the node grid, i.e. DCT-I modes
``cos(pi k_x x / L) cos(pi k_y y / L) cos(pi k_z z / L)``, ``0 <= k < n``, with independent N(0, 1)
coefficients times the amplitude spectrum ``(1 + (l kappa)^2)^(-decay/2)``, ``kappa = pi |k| / L``
(a Matern-like field of correlation length ``l``; ``decay > 5/2`` keeps the gradient finite as n grows).
The mean mode is dropped and the field is divided by its exact pointwise standard deviation
(:func:`pointwise_std`): a raw cosine series has 2x / 4x / 8x the variance on faces / edges / corners (every
cosine is 1 there), which would put spikes in the corners; after the division every node is N(0, 1).

Families (in-distribution defaults: AC ``phase``, CH ``phase`` with a mean shift, SH ``grf``):

* ``grf``      ``u = mean + amplitude g`` (SH: small amplitude noise that organises into stripes/hexagons).
* ``phase``    ``u = tanh((g - level) / (width |grad g|_rms))``: a thresholded GRF with a tanh interface of
  width ``width`` (the +-1 phases of AC/CH); ``width = 0`` gives the hard threshold ``sign(g - level)``.
  ``level > 0`` shifts the mean towards -1 (CH default 0.25: about 40% of the +1 phase, mean ~ -0.2).
* ``*-fine`` / ``*-coarse``  out of distribution: the same with the length scale times 0.5 / 2 (``scale``).
* ``sphere``   ``u = tanh((R - r) / width)`` around ``(cx, cy, cz)`` (default the centre): OOD, and the
  analytic test case of AC (``R^2 = R0^2 - 4 t``).
* ``spheres``  union (max) of ``count`` spheres with random centres and radii in [rmin, rmax]: OOD.
* ``ellipsoid`` a randomly rotated ellipsoid with semi-axes in [rmin, rmax] around the centre: OOD.

More families register with :func:`register_family` (a plugin's: docs/plugins.md).

Seeding: trajectory ``i`` of a dataset with seed ``s`` uses ``trajectory_rng(s, i)``
(``numpy.random.default_rng([s, i])``), so any trajectory can be regenerated alone.

Example:

>>> u = sample("phase", trajectory_rng(0, 3), 17, 2.0, resolve_params("phase", "ac"))
>>> u.shape, bool(np.abs(u).max() <= 1.0)
((17, 17, 17), True)
"""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.fft

from fem.pde import get_pde
from pihamno.errors import InputError
from pihamno.plugins import HINT


def trajectory_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of trajectory ``index`` of a dataset with ``seed`` (independent streams via SeedSequence)."""
    return np.random.default_rng([int(seed), int(index)])


def grid_coordinates(n: int, L: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, Y, Z of the node grid, each (n, n, n), ``indexing="ij"`` (index (i, j, k) is (i h, j h, k h))."""
    x = np.linspace(0.0, L, n)
    return np.meshgrid(x, x, x, indexing="ij")


def cosine_spectrum(n: int, L: float, length_scale: float, decay: float) -> np.ndarray:
    """Amplitudes ``(1 + (l kappa)^2)^(-decay/2)`` of the DCT-I modes, (n, n, n), with the mean mode set to 0."""
    kappa = np.pi * np.arange(n) / L
    k2 = kappa[:, None, None] ** 2 + kappa[None, :, None] ** 2 + kappa[None, None, :] ** 2
    amp = (1.0 + length_scale**2 * k2) ** (-decay / 2.0)
    amp[0, 0, 0] = 0.0
    return amp


def pointwise_std(amp: np.ndarray) -> np.ndarray:
    """Standard deviation at each node of ``idctn(amp * xi, type=1)`` with xi ~ N(0, 1) i.i.d., (n, n, n).

    ``var(x) = sum_k amp_k^2 prod_d B(k_d, x_d)^2`` with the DCT-I basis ``B(k, i) = w_k cos(pi k i/(n-1)) / (2(n-1))``
    (``w = 1`` at k = 0, n-1, else 2): every cosine is 1 on the boundary, so the raw field has twice the
    variance on faces, 4x on edges and 8x at corners -- dividing by this makes it uniform.
    """
    n = amp.shape[0]
    w = np.full(n, 2.0)
    w[[0, -1]] = 1.0
    B2 = (w[:, None] * np.cos(np.pi * np.outer(np.arange(n), np.arange(n)) / (n - 1)) / (2 * (n - 1))) ** 2
    return np.sqrt(np.einsum("abc,ai,bj,ck->ijk", amp**2, B2, B2, B2, optimize=True))


def gaussian_random_field(rng: np.random.Generator, n: int, L: float, length_scale: float, decay: float) -> np.ndarray:
    """Cosine-series GRF on the node grid, zero mean and unit variance at every node (module docstring), (n, n, n)."""
    amp = cosine_spectrum(n, L, length_scale, decay)
    std = pointwise_std(amp)
    if not np.all(std > 0):
        raise InputError(f"the random field is degenerate on a {n}^3 grid; use a larger n or a smaller length_scale")
    return scipy.fft.idctn(amp * rng.standard_normal((n, n, n)), type=1) / std


def _grf(rng, n, L, *, length_scale, decay, scale, amplitude, mean):
    g = gaussian_random_field(rng, n, L, length_scale * scale, decay)
    return mean + amplitude * g


def _phase(rng, n, L, *, length_scale, decay, scale, level, width):
    g = gaussian_random_field(rng, n, L, length_scale * scale, decay)
    if width == 0:
        return np.where(g >= level, 1.0, -1.0)
    grad = np.gradient(g, L / (n - 1))
    grad_rms = math.sqrt(float(np.mean(sum(gi**2 for gi in grad))))
    return np.tanh((g - level) / (width * grad_rms))


def _interface(signed_distance: np.ndarray, width: float) -> np.ndarray:
    return np.sign(signed_distance) if width == 0 else np.tanh(signed_distance / width)


def _sphere(rng, n, L, *, radius, cx, cy, cz, width):
    X, Y, Z = grid_coordinates(n, L)
    c = [L / 2 if v is None else v for v in (cx, cy, cz)]
    r = np.sqrt((X - c[0]) ** 2 + (Y - c[1]) ** 2 + (Z - c[2]) ** 2)
    return _interface(radius - r, width)


def _spheres(rng, n, L, *, count, rmin, rmax, width):
    X, Y, Z = grid_coordinates(n, L)
    d = np.full((n, n, n), -np.inf)
    for _ in range(int(count)):
        c = rng.uniform(0.0, L, 3)
        R = rng.uniform(rmin, rmax)
        d = np.maximum(d, R - np.sqrt((X - c[0]) ** 2 + (Y - c[1]) ** 2 + (Z - c[2]) ** 2))
    return _interface(d, width)


def _ellipsoid(rng, n, L, *, rmin, rmax, width):
    X, Y, Z = grid_coordinates(n, L)
    axes = rng.uniform(rmin, rmax, 3)
    Q, R = np.linalg.qr(rng.standard_normal((3, 3)))
    Q = Q * np.sign(np.diag(R))  # a uniformly random rotation (up to reflection)
    x = np.stack([X - L / 2, Y - L / 2, Z - L / 2], axis=-1) @ Q
    rho = np.sqrt(((x / axes) ** 2).sum(-1))
    return _interface(axes.mean() * (1.0 - rho), width)  # ~ signed distance near the surface


@dataclass(frozen=True)
class Family:
    """A named initial-condition family: ``fn(rng, n, L, **params)`` and its parameters' defaults."""

    name: str
    fn: Callable
    defaults: dict
    description: str
    ood: bool = False
    fixed: dict = field(default_factory=dict)


_GRF = dict(length_scale=None, decay=3.0, scale=1.0)
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("grf", _grf, {**_GRF, "amplitude": None, "mean": 0.0}, "mean + amplitude * GRF (SH default)"),
        Family("phase", _phase, {**_GRF, "level": None, "width": None}, "tanh-thresholded GRF, +-1 phases (AC/CH default)"),
        Family("grf-fine", _grf, {**_GRF, "scale": 0.5, "amplitude": None, "mean": 0.0}, "grf, length scale x 0.5", True),
        Family("grf-coarse", _grf, {**_GRF, "scale": 2.0, "amplitude": None, "mean": 0.0}, "grf, length scale x 2", True),
        Family("phase-fine", _phase, {**_GRF, "scale": 0.5, "level": None, "width": None}, "phase, length scale x 0.5", True),
        Family("phase-coarse", _phase, {**_GRF, "scale": 2.0, "level": None, "width": None}, "phase, length scale x 2", True),
        Family("sphere", _sphere, dict(radius=None, cx=None, cy=None, cz=None, width=None), "one tanh sphere", True),
        Family("spheres", _spheres, dict(count=4, rmin=None, rmax=None, width=None), "union of random tanh spheres", True),
        Family("ellipsoid", _ellipsoid, dict(rmin=None, rmax=None, width=None), "a random tanh ellipsoid", True),
    ]
}

_FAMILY_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")


def register_family(name: str, defaults: dict, description: str = "", ood: bool = False):
    """Register an initial-condition family (a function decorator; a plugin's, docs/plugins.md)::

        @register_family("blobs", dict(count=3, width=None), "random tanh blobs")
        def blobs(rng, n, L, *, count, width): ...      # -> (n, n, n) on the node grid of [0, L]^3

    ``defaults`` names every keyword parameter of the function; a ``None`` default is filled per PDE
    (:func:`resolve_params`: ``width`` from eps, the others from the PDE's ``initial_condition``). A name taken by
    another function is refused; registering the same function again (a module reload) replaces it.
    """
    def decorate(fn: Callable) -> Callable:
        if not isinstance(name, str) or not _FAMILY_NAME.match(name):
            raise InputError(f"an initial-condition family needs a lower-case name (letters, digits, -, _), got {name!r}")
        if not callable(fn) or not isinstance(defaults, dict):
            raise InputError(f"initial-condition family {name!r}: register_family(name, defaults) decorates a function")
        params = list(inspect.signature(fn).parameters)
        if set(params[3:]) != set(defaults):
            raise InputError(f"initial-condition family {name!r}: the function takes ({', '.join(params)}), expected "
                             f"(rng, n, L, *, {', '.join(defaults)}) as its defaults name them")
        old = FAMILIES.get(name)
        if old is not None and (old.fn.__module__, old.fn.__qualname__) != (fn.__module__, fn.__qualname__):
            raise InputError(f"initial-condition family {name!r} is already registered by "
                             f"{old.fn.__module__}.{old.fn.__qualname__}")
        FAMILIES[name] = Family(name, fn, dict(defaults), description, ood)
        return fn

    return decorate


def unregister_family(name: str) -> None:
    """Remove the initial-condition family ``name`` (plugins and tests)."""
    _family(name)
    del FAMILIES[name]


def _family(name: str) -> Family:
    if name not in FAMILIES:
        raise InputError(f"unknown initial-condition family {name!r}; expected one of {', '.join(FAMILIES)}; {HINT}")
    return FAMILIES[name]


#: Parameters whose ``None`` default is a per-PDE value (:attr:`fem.pde.PDE.initial_condition`).
_PER_PDE = ("length_scale", "level", "amplitude", "radius", "rmin", "rmax")


def pde_defaults(pde: str) -> dict:
    """The PDE's default initial-condition settings: ``family`` and the values of the ``None`` defaults
    (lengths in the units of L; ``width`` is sqrt(2) eps unless given), from :attr:`fem.pde.PDE.initial_condition`."""
    return dict(get_pde(pde).initial_condition)


def default_family(pde: str) -> str:
    """The in-distribution family of ``pde``."""
    return pde_defaults(pde)["family"]


def resolve_params(family: str, pde: str, overrides: dict | None = None, eps: float | None = None) -> dict:
    """All parameters of ``family`` for ``pde``: family defaults <- per-PDE values <- ``overrides``.

    The per-PDE values come from the PDE object (:func:`pde_defaults`); ``eps`` (default: the PDE preset's)
    sets the interface ``width = sqrt(2) eps``. Unknown families, unknown parameter names, per-PDE values the
    PDE does not give, and non-finite or negative lengths raise :class:`InputError`.
    """
    fam = _family(family)
    equation = get_pde(pde)
    defaults = equation.initial_condition
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(fam.defaults))
    if unknown:
        raise InputError(
            f"initial-condition family {family!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are {', '.join(fam.defaults)}"
        )
    eps = float(equation.preset["eps"]) if eps is None else float(eps)
    params = {}
    for key, default in fam.defaults.items():
        value = overrides.get(key, default)
        if value is None and key == "width":
            value = math.sqrt(2.0) * eps
        elif value is None and key in defaults:
            value = defaults[key]
        elif value is None and key in _PER_PDE:
            raise InputError(f"the {pde} PDE gives no default for parameter {key} of initial-condition family {family!r}; pass it")
        params[key] = value
    for key in ("length_scale", "scale", "radius", "rmin", "rmax", "width", "decay", "count"):
        v = params.get(key)
        if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (v == 0 and key != "width")):
            raise InputError(f"initial-condition parameter {key} must be a positive number, got {v!r}")
    params = {k: (None if v is None else int(v) if k == "count" else float(v)) for k, v in params.items()}
    if "rmin" in params and params["rmin"] > params["rmax"]:
        raise InputError(f"rmin = {params['rmin']} exceeds rmax = {params['rmax']}")
    return params


def sample(family: str, rng: np.random.Generator, n: int, L: float, params: dict) -> np.ndarray:
    """One initial condition of ``family`` with complete ``params`` (:func:`resolve_params`): (n, n, n) float64."""
    fam = _family(family)
    if not isinstance(n, (int, np.integer)) or n < 3:
        raise InputError(f"n must be an integer >= 3 grid nodes per side, got {n!r}")
    u = fam.fn(rng, int(n), float(L), **params)
    return np.ascontiguousarray(u, dtype=np.float64)


def parse_param(text: str) -> tuple[str, object]:
    """``"KEY=VALUE"`` -> (key, number) (int if it looks like one, else float; ``none`` -> None)."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value:
        raise InputError(f"initial-condition parameter {text!r} is not of the form KEY=VALUE")
    if value.lower() == "none":
        return key, None
    try:
        return key, int(value)
    except ValueError:
        pass
    try:
        return key, float(value)
    except ValueError:
        raise InputError(f"initial-condition parameter {key} = {value!r} is not a number") from None
