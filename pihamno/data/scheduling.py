"""Where :func:`pihamno.data.dataset.generate` computes trajectories: here, in a process pool, or on Dask.

Every backend yields the results of :func:`pihamno.data.compute.compute_trajectory` (one dict per trajectory, in the
order they finish) to the caller, the one process that writes the HDF5 file. A trajectory depends on
``(spec, index)`` only (its initial condition on ``trajectory_rng(seed, index)``), so the data do not depend
on the backend, the number of workers or the order of completion (docs/scaling.md).

==============  ===============================================================================================
``serial``      this process (one worker)
``processes``   a ``multiprocessing`` pool of ``workers`` spawned processes on this machine; a failure stops the run
``dask``        ``dask.distributed`` (the optional extra ``pip install pihamno[distributed]``): a ``LocalCluster``
                of ``workers`` single-threaded processes, or an existing cluster (``scheduler``: an address
                ``tcp://HOST:PORT``, a scheduler file written by ``dask scheduler --scheduler-file``, a
                ``Client``, or a cluster object such as ``dask_jobqueue.SLURMCluster``). Each task is retried
                ``retries`` times (a lost worker's tasks are rescheduled by Dask itself); a task that still
                fails is left out, the others are committed, and the first failure is raised at the end
                (running the same command again computes what is missing)
``auto``        ``dask`` when a ``scheduler`` is given, or ``workers > 1`` and Dask is installed; ``processes``
                for ``workers > 1`` without Dask; ``serial`` otherwise
==============  ===============================================================================================

**Plugins** (docs/plugins.md): the pool's workers load the plugins of this process
(:func:`pihamno.plugins.loaded_plugins`) in their initialiser; Dask workers load their own environment's entry
points and the plugins given, a plugin file shipped to them first (``UploadFile``), a plugin module imported by
name (it must be installed there).

All trajectories to compute are submitted at once, so Dask balances them over the workers there are and an
adaptive cluster (``cluster.adapt(...)``) sees the whole queue; the writer takes each result as it completes
(a result waits on its worker until then) and cancels the rest when it stops.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import numbers
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from pihamno.data import compute
from pihamno.errors import InputError

log = logging.getLogger(__name__)

BACKENDS = ("auto", "serial", "processes", "dask")


def have_dask() -> bool:
    """Whether ``dask.distributed`` is importable (the ``distributed`` extra)."""
    return importlib.util.find_spec("distributed") is not None


@dataclass(frozen=True)
class Schedule:
    """How to compute trajectories (module docstring); checked on construction.

    >>> Schedule("serial").name
    'serial'
    >>> Schedule("auto", workers=2, scheduler=None).name in ("dask", "processes")
    True
    """

    backend: str = "auto"
    workers: int = 1
    scheduler: object = None
    retries: int = 2

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise InputError(f"unknown backend {self.backend!r}; expected one of {', '.join(BACKENDS)}")
        for name, lo in (("workers", 1), ("retries", 0)):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
                raise InputError(f"{name} must be an integer >= {lo}, got {v!r}")
        if self.scheduler is not None and self.backend not in ("auto", "dask"):
            raise InputError(f"a scheduler ({self.scheduler!r}) needs the dask backend, not {self.backend!r}")
        if self.name == "dask" and not have_dask():
            raise InputError("the dask backend needs dask.distributed: pip install 'pihamno[distributed]' "
                             "(or use --backend processes)")

    @property
    def name(self) -> str:
        """The backend that runs: ``auto`` resolved."""
        if self.backend != "auto":
            return self.backend
        if self.scheduler is not None:
            return "dask"
        if self.workers == 1:
            return "serial"
        return "dask" if have_dask() else "processes"

    @property
    def remote(self) -> bool:
        """Whether trajectories are computed in other processes (which must import the PDE's module)."""
        return self.name != "serial"

    @contextlib.contextmanager
    def results(self, spec, todo: list[int], plugins: tuple[str, ...] = (), modules: tuple[str, ...] = (),
                key: str = "") -> Iterator[Iterator[dict]]:
        """A context whose value iterates over the results of trajectories ``todo`` as they finish; leaving
        it (also by an exception of the caller) stops the workers. Each worker first loads ``plugins`` and imports
        ``modules`` (:func:`pihamno.data.compute.load_worker_modules`); ``key`` identifies the spec (task names)."""
        name = self.name
        log.info("computing %d trajectories: %s", len(todo), self.describe())
        if name == "serial":
            yield _serial(spec, todo)
        elif name == "processes":
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(min(self.workers, len(todo)), compute.init_worker,
                                              (spec, tuple(plugins), tuple(modules))) as pool:
                yield pool.imap_unordered(compute.compute_trajectory, todo)
        else:
            with _dask_client(self.scheduler, min(self.workers, len(todo))) as client:
                yield _dask_results(client, spec, todo, _ship_plugins(client, plugins), modules, key, self.retries)

    def describe(self) -> str:
        name = self.name
        if name == "dask":
            where = "an existing cluster" if self.scheduler is not None else f"a LocalCluster of {self.workers} processes"
            return f"dask on {where} (retries {self.retries})"
        return "this process" if name == "serial" else f"a pool of {self.workers} processes"


def _serial(spec, todo):
    compute.setup_worker(spec)
    for i in todo:
        yield compute.compute_trajectory(i)  # looked up at call time (tests replace it)


# --------------------------------------------------------------------------------------------- dask
@contextlib.contextmanager
def _dask_client(scheduler, workers: int):
    """A ``distributed.Client``: of a new LocalCluster (closed on exit), or of ``scheduler``."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        environ = dict(os.environ)  # the nannies set OMP_NUM_THREADS, MALLOC_TRIM_THRESHOLD_, ... in this process
        try:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            with cluster, Client(cluster) as client:
                yield client
        finally:
            os.environ.clear()
            os.environ.update(environ)
    elif isinstance(scheduler, Client):
        yield scheduler  # the caller's: left open
    elif isinstance(scheduler, str):
        kind = "scheduler_file" if scheduler.endswith(".json") else "address"
        try:
            if kind == "scheduler_file":
                _wait_for_file(scheduler)  # a scheduler started just before may not have written it yet
            client = Client(**{kind: scheduler})  # waits distributed.comm.timeouts.connect (30 s)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler {scheduler!r} ({exc}); expected tcp://HOST:PORT "
                             "or a scheduler file (*.json) of a running scheduler") from None
        with client:
            yield client
    else:  # a cluster object (LocalCluster, dask_jobqueue.SLURMCluster, ...): the caller's, left open
        with Client(scheduler) as client:
            yield client


def _wait_for_file(path: str) -> None:
    """Wait up to Dask's connect timeout for ``path`` to appear (``Client`` alone would wait forever)."""
    import time

    import dask
    from dask.utils import parse_timedelta

    deadline = time.monotonic() + parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise OSError(f"the scheduler file {path!r} did not appear")
        time.sleep(0.5)


def _ship_plugins(client, plugins) -> tuple[str, ...]:
    """Send the plugin files among ``plugins`` to the Dask workers (an ``UploadFile`` worker plugin: every worker,
    also one that joins later, writes the file into its local directory, which is on its ``sys.path``); returns
    the plugins as the workers load them: files by their module name, modules as they are (those must be
    importable on the workers: installed there, or on their PYTHONPATH)."""
    from distributed.diagnostics.plugin import UploadFile

    from pihamno.plugins import is_file_plugin, module_name

    for plugin in plugins:
        if is_file_plugin(plugin):
            client.register_plugin(UploadFile(plugin, load=False), name=f"pihamno-plugin-{module_name(plugin)}")
    return tuple(module_name(p) for p in plugins)


def _dask_results(client, spec, todo, plugins, modules, key, retries):
    """Submit the trajectories; yield results as they complete (``as_completed``)."""
    from distributed import as_completed

    token = hashlib.sha1(key.encode()).hexdigest()
    run = uuid.uuid4().hex[:8]  # fresh task names: a cluster keeps the results (and errors) of names it has seen
    index = {client.submit(dask_task, spec, token, plugins, modules, i, key=f"pihamno-{run}-trajectory-{i}", retries=retries,
                           pure=False): i for i in todo}
    running, failures = as_completed(list(index)), []
    try:
        for fut in running:
            i = index.pop(fut)
            if fut.status == "finished":
                result = fut.result()
                fut.release()
                yield result
            else:  # "error" after the retries, or "cancelled" / "lost" with the scheduler
                try:
                    exc = fut.exception()
                except Exception as cancelled:
                    exc = cancelled
                log.error("trajectory %d failed (%s) after %d retries: %s", i, fut.status, retries, exc)
                failures.append((i, exc))
    finally:
        for fut in list(running.futures):
            fut.cancel()
    if failures:
        exc = failures[0][1]
        exc.add_note(f"pihamno: trajectories {sorted(f[0] for f in failures)} failed after {retries} retries; the "
                     "others are committed to the partial file, and running the same command again computes the rest")
        raise exc


_CACHE: dict = {}
_LOCK = threading.Lock()


def dask_task(spec, key: str, plugins: tuple[str, ...], modules: tuple[str, ...], index: int) -> dict:
    """Trajectory ``index`` on a Dask worker, which loads ``plugins`` and ``modules`` and assembles once per spec
    ``key`` (cached; thread-safe)."""
    with _LOCK:
        state = _CACHE.get(key)
        if state is None:
            _reuse_freed_memory()
            try:
                compute.load_worker_modules(plugins, modules)
            except (InputError, ImportError) as exc:
                raise InputError(f"on a Dask worker: {exc}; a plugin module must be installed on the workers (or on "
                                 "their PYTHONPATH), a plugin file is shipped to them (docs/plugins.md)") from None
            state = compute.worker_state(spec)
            _CACHE.clear()  # one spec at a time per worker process
            _CACHE[key] = state
    return compute.compute_trajectory(index, state)


def _reuse_freed_memory() -> None:
    """Undo the effect of ``MALLOC_TRIM_THRESHOLD_`` (which Dask's nannies set for their workers) on glibc.

    Setting it turns off glibc's adaptive mmap threshold, so every array above 128 KiB (one field at n = 32)
    is mapped and unmapped afresh and its pages faulted in again: the solver ran 2-4x slower in such a
    worker (measured, docs/scaling.md). Large arrays are then taken from the heap again (up to 32 MiB) and
    the heap is trimmed above 256 MiB of free memory. A no-op without glibc or without the variable.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass
