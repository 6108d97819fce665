"""The framework of the physical tests: the setting, the predictors, what a test returns, and the registry.

A physical test (:mod:`pihamno.evaluation.physical_cases` has the built-in ones) is a function
``fn(setting, predictor) -> TestResult`` registered with ``@register_physical_test(name, pde=None)``: generic
(``pde=None``, runs for every PDE, plugins included) or for one PDE by its registry name (``pde="ac"``; a plugin
PDE adds its own the same way). It lets the reference solver give the first ``T_in`` frames and the reference
trajectory (:meth:`Setting.pair`), lets the predictor roll out from them, and returns :class:`Check` rows and series
for the plots.

**Predictors** ``predict(given, frames) -> trajectories``: ``given`` (B, T_in, n, n, n) float32 numpy, the result
(B, frames, n, n, n) with the given frames first (:func:`model_predictor`, :func:`solver_predictor`,
:func:`persistence_predictor`). :mod:`pihamno.evaluation.physical_tests` runs the registered tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pihamno.errors import InputError

Predictor = Callable[[np.ndarray, int], np.ndarray]


@dataclass
class Check:
    """One row of the table: what was measured on the model's rollout and on the reference, and the verdict.

    ``passed`` is None for a row that only informs (no tolerance).
    """

    test: str
    case: str
    quantity: str
    model: float | str | None
    reference: float | str | None
    known: str = ""
    tolerance: str = ""
    passed: bool | None = None


@dataclass
class TestResult:
    """What one test returns: its checks and its series (``{name: {"x", "xlabel", "ylabel", "curves": {label: y}}}``)."""

    checks: list[Check] = field(default_factory=list)
    series: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Setting:
    """The data's discretisation and PDE, the rollout length and where the model runs.

    ``spec`` is a :class:`pihamno.data.DatasetSpec` of the training data's settings (its ``ic_family`` and
    ``ic_params`` the in-distribution initial conditions); ``frames`` the length of every trajectory (the data's,
    by default); ``T_in`` the frames given to the predictor.
    """

    spec: object
    frames: int
    T_in: int

    @classmethod
    def for_data(cls, data, T_in: int, frames: int | None = None) -> "Setting":
        """From a :class:`pihamno.data.DataDescription` (a file's, or a checkpoint's ``data.meta``)."""
        from pihamno.data import DatasetSpec

        if data.pde is None or data.eps is None or data.L is None or data.dt is None:
            raise InputError("the data's attributes lack the PDE or its eps, L, dt: physical tests need them")
        frames = data.frames if frames is None else int(frames)
        if frames < T_in + 3:
            raise InputError(f"physical tests need at least T_in + 3 = {T_in + 3} frames, got {frames}; pass --frames")
        spec = DatasetSpec(data.params, data.n, frames=frames, ic_family=data.ic_family, ic_params=dict(data.ic_params),
                           split=data.mesh.split, mesh_file=data.mesh.file, element=data.element, rtol=1e-10)
        return cls(spec, frames, int(T_in))

    @property
    def description(self):
        """The :class:`pihamno.data.DataDescription` of data made with these settings."""
        from pihamno.data import DataDescription

        return DataDescription.from_attrs(self.spec.attrs(""))

    @property
    def params(self):
        return self.spec.params

    @property
    def n(self) -> int:
        return self.spec.n

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.frames) * self.params.dt

    def initial_conditions(self, family: str | None = None, count: int = 2, seed: int = 1_000_003, **params) -> np.ndarray:
        """``count`` initial conditions (count, n, n, n) of ``family`` (default: the data's, with its parameters;
        another family: its per-PDE defaults with ``params``), from a seed no dataset of the examples uses."""
        from dataclasses import replace

        same = family is None or family == self.spec.ic_family
        spec = replace(self.spec, seed=seed, ic_family=self.spec.ic_family if same else family,
                       ic_params={**(self.spec.ic_params if same else {}), **params})
        return np.stack([spec.initial_condition(i) for i in range(count)])

    def out_of_family(self) -> str:
        """An initial-condition family other than the data's (the first of spheres, ellipsoid, phase, grf)."""
        return next(f for f in ("spheres", "ellipsoid", "phase", "grf") if f != self.spec.ic_family)

    def reference(self, u0: np.ndarray) -> np.ndarray:
        """The reference trajectories (B, frames, n, n, n) from ``u0`` (B, n, n, n), float32 as datasets store them."""
        from fem.solvers import simulate

        return simulate(self.params, _operators(self.spec), u0, self.frames, rtol=self.spec.rtol, dtype=np.float32).u

    def pair(self, u0: np.ndarray, predict: Predictor) -> tuple[np.ndarray, np.ndarray]:
        """``(reference, prediction)``, both (B, frames, n, n, n): the predictor rolls out from the reference's first
        ``T_in`` frames."""
        ref = self.reference(u0)
        pred = np.asarray(predict(ref[:, : self.T_in].copy(), self.frames), dtype=np.float32)
        if pred.shape != ref.shape:
            raise InputError(f"the predictor returned {pred.shape}, expected {ref.shape}")
        return ref, pred

    def describe(self) -> str:
        p, s = self.params, self.spec
        mesh = f"mesh {s.mesh_file}" if s.mesh_file else f"{s.split} mesh"
        return (f"{p.equation.title}, eps = {p.eps:g}, L = {p.L:g}, dt = {p.dt:g}, n = {s.n}, {mesh} {s.element}, "
                f"{self.frames} frames, {self.T_in} given")


_OPS: dict = {}


def _operators(spec):
    """The solver's assembled operators of ``spec`` (cached per mesh, n, L and element)."""
    key = (spec.split, spec.mesh_file, spec.n, spec.params.L, spec.element)
    if key not in _OPS:
        _OPS.clear()
        _OPS[key] = spec.operators()
    return _OPS[key]


# --------------------------------------------------------------------------------------------- predictors
def model_predictor(model, processor, device, batch_size: int = 8) -> Predictor:
    """A trained model's autoregressive rollout (:func:`pihamno.stepping.rollout`) on ``device``."""
    import torch

    from pihamno.stepping import rollout

    def predict(given: np.ndarray, frames: int) -> np.ndarray:
        out = []
        for i in range(0, len(given), batch_size):
            g = torch.as_tensor(given[i : i + batch_size], device=device)
            out.append(rollout(model, processor, g, frames).cpu().numpy())
        return np.concatenate(out)

    return predict


def solver_predictor(setting: Setting) -> Predictor:
    """The reference scheme itself, stepping from the last given frame (it passes its own tests up to float32)."""
    from fem.solvers import simulate

    def predict(given: np.ndarray, frames: int) -> np.ndarray:
        T_in = given.shape[1]
        rest = simulate(setting.params, _operators(setting.spec), given[:, -1].astype(np.float64), frames - T_in + 1,
                        rtol=setting.spec.rtol, dtype=np.float32).u
        return np.concatenate([given, rest[:, 1:]], axis=1)

    return predict


def persistence_predictor() -> Predictor:
    """Doing nothing: the last given frame held (:func:`pihamno.stepping.persistence`)."""
    import torch

    from pihamno.stepping import persistence

    def predict(given: np.ndarray, frames: int) -> np.ndarray:
        g = torch.as_tensor(given)
        full = torch.cat([g, g[:, -1:].expand(-1, frames - g.shape[1], *g.shape[2:])], dim=1)
        return persistence(full, g.shape[1]).numpy()

    return predict


# --------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class PhysicalTest:
    name: str
    pde: str | None
    fn: Callable[[Setting, Predictor], TestResult]
    title: str


_TESTS: dict[str, PhysicalTest] = {}


def register_physical_test(name: str, pde: str | None = None, title: str = ""):
    """Decorator: register ``fn(setting, predictor) -> TestResult`` as the physical test ``name``, for every PDE
    (``pde=None``) or for the PDE of that registry name. Registering a name again replaces it (a module reload)."""
    def deco(fn):
        _TESTS[name] = PhysicalTest(name, pde, fn, title or (fn.__doc__ or name).strip().splitlines()[0])
        return fn

    return deco


def unregister_physical_test(name: str) -> None:
    """Remove the physical test ``name`` from the registry (plugins and tests)."""
    if name not in _TESTS:
        raise InputError(f"no physical test {name!r} is registered")
    del _TESTS[name]


def tests_for(pde: str) -> list[PhysicalTest]:
    """The tests registered for ``pde``: the generic ones, then those for it by name (the built-in ones once
    :mod:`pihamno.evaluation.physical_tests` or :mod:`~pihamno.evaluation.physical_cases` is imported)."""
    return [t for t in _TESTS.values() if t.pde is None] + [t for t in _TESTS.values() if t.pde == pde]
