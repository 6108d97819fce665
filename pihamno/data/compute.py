"""Computing trajectories of a :class:`~pihamno.data.DatasetSpec`: what every worker runs, wherever it runs.

:func:`pihamno.data.generate` writes the file; :mod:`pihamno.data.scheduling` decides where trajectories are
computed; this module computes them, one result dict per trajectory (what the writer commits):

* :func:`worker_state` -- the assembled operators and the solver of a spec, built once per worker;
* :func:`setup_worker` / :func:`init_worker` -- that state for this process (in-process, or as the initialiser
  of a process pool, which first loads the plugins of the parent process and imports the modules of the PDE
  and the initial-condition family, :func:`load_worker_modules`, so that what a plugin registered exists in
  the worker too);
* :func:`compute_trajectory` -- trajectory ``index``: its initial condition from ``trajectory_rng(seed, index)``,
  then the reference solver; the result depends on (spec, index) only;
* :func:`compute_on_device` -- trajectories a batch at a time with the torch solver on a device.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pihamno.data.spec import DatasetSpec

#: this process's worker state (:func:`setup_worker`), and the error of a failed setup
_WORKER: dict = {}


def worker_state(spec: DatasetSpec) -> dict:
    """What computing trajectories of ``spec`` needs, assembled once per worker: ``{"spec", "ops", "stepper"}``."""
    from fem.solvers import Stepper

    ops = spec.operators()
    return dict(spec=spec, ops=ops, stepper=Stepper(spec.params, ops, spec.preconditioner, spec.rtol))


def setup_worker(spec: DatasetSpec) -> None:
    """Assemble once per process (:func:`worker_state`) into this process's state."""
    _WORKER.update(worker_state(spec), error=None)


def worker_modules(spec: DatasetSpec) -> tuple[str, ...]:
    """The modules that define the PDE and the initial-condition family of ``spec`` (outside ``fem`` and
    ``pihamno``): each worker imports them, after the plugins, so that what a plugin registered exists there."""
    from pihamno.data.initial_conditions import FAMILIES

    found = (type(spec.params.equation).__module__, FAMILIES[spec.ic_family].fn.__module__)
    return tuple(dict.fromkeys(m for m in found if m.split(".")[0] not in ("fem", "pihamno")))


def load_worker_modules(plugins: tuple[str, ...] | list[str], modules: tuple[str, ...]) -> None:
    """In a worker process: the installed plugins' entry points, the explicit ``plugins`` of the process that
    started it (:func:`pihamno.plugins.loaded_plugins`), then ``modules`` (:func:`worker_modules`)."""
    from pihamno.plugins import load_plugins

    load_plugins(plugins, environment=False)
    for module in modules:
        importlib.import_module(module)


def init_worker(spec: DatasetSpec, plugins: tuple[str, ...], modules: tuple[str, ...]) -> None:
    """Process-pool initialiser: :func:`load_worker_modules`, then :func:`setup_worker`. An error is kept and
    raised by :func:`compute_trajectory`: a pool whose initialiser raises restarts its workers forever."""
    try:
        load_worker_modules(plugins, modules)
        setup_worker(spec)
    except Exception as exc:
        _WORKER["error"] = exc


def clear_worker() -> None:
    """Forget this process's worker state (tests)."""
    _WORKER.clear()


def compute_trajectory(index: int, state: dict | None = None) -> dict:
    """Trajectory ``index``: its initial condition from ``trajectory_rng(seed, index)``, then the solver.

    ``state`` (:func:`worker_state`) defaults to this process's, set up by :func:`setup_worker` /
    :func:`init_worker`. The result depends on (spec, index) only, never on which worker computes it or in
    which order.
    """
    from fem.solvers import simulate

    if state is None:
        if _WORKER.get("error") is not None:
            raise _WORKER["error"]
        state = _WORKER
    spec, ops, stepper = state["spec"], state["ops"], state["stepper"]
    u0 = spec.initial_condition(index)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tr = simulate(spec.params, ops, u0, spec.frames, stepper=stepper)
    return trajectory_result(index, tr, caught)


def trajectory_result(index: int, tr, caught, j=...) -> dict:
    """What the writer commits for trajectory ``index``: column ``j`` of a batched trajectory ``tr`` (or all of a
    single one), and the warnings ``caught`` while computing it."""
    return dict(
        index=index,
        u=tr.u[j].astype(np.float32),
        energy=tr.energy[j],
        mass=tr.mass[j],
        cg_iterations=tr.iterations[j].astype(np.int32),
        solver_residual=tr.residual[j],
        max_abs=float(tr.max_abs[j]),
        warnings=[str(w.message) for w in caught],
    )


def compute_on_device(spec: DatasetSpec, todo: list[int], device, batch: int):
    """Yield the results of trajectories ``todo``, ``batch`` at a time, from the torch solver on ``device``
    (:class:`fem.solvers_torch.TorchStepper`: the same scheme and tolerance; frames agree with the numpy solver's
    to the solver tolerance, not bitwise)."""
    from fem.solvers import simulate
    from fem.solvers_torch import TorchStepper

    ops = spec.operators()
    stepper = TorchStepper(spec.params, ops, spec.preconditioner, spec.rtol, device=device)
    for i in range(0, len(todo), batch):
        chunk = todo[i : i + batch]
        u0 = np.stack([spec.initial_condition(k) for k in chunk])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tr = simulate(spec.params, ops, u0, spec.frames, stepper=stepper, dtype=np.float32)
        for j, k in enumerate(chunk):
            yield trajectory_result(k, tr, caught, j)
