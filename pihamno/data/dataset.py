"""Reference datasets: HDF5 files of solver trajectories, written resumably and atomically (docs/design.md section 7).

Layout of one file (h5py)::

    u              (trajectories, frames, n, n, n) float32, one chunk per trajectory; u[i, 0] = initial condition
    done           (trajectories,) uint8            1 once trajectory i is written (resume bookkeeping)
    energy, mass   (trajectories, frames) float64   E_h and int u of each frame, from the float64 solution
    cg_iterations  (trajectories, frames-1) int32   CG iterations per saved frame (summed over substeps)
    solver_residual (trajectories, frames-1)        largest fem.schemes.relative_residual of the frame's steps
    max_abs        (trajectories,) float64          max |u| over all steps (vs. fem.schemes.stability_bound of the scheme)

and attributes recording everything needed to reproduce it (:meth:`pihamno.data.spec.DatasetSpec.attrs`):
``pde, eps, L, dt, substeps, S, mass, scheme`` (:class:`fem.schemes.PDEParams`), ``n, frames, trajectories``,
the mesh (``split`` or ``mesh_file``, and ``mesh_hash``, the content hash of points and cells), ``element``,
``ic_family`` and ``ic_params`` (JSON, complete), ``seed``, ``rtol``, ``preconditioner``, ``pihamno_version``,
``format``/``format_version``.

Writing (:func:`generate`): trajectories go into ``<out>.partial``, each committed (data, then its ``done`` flag,
file closed) by this process, the one writer, as soon as it is computed (:mod:`pihamno.data.compute`) -- here,
in a process pool or on a Dask cluster (:mod:`pihamno.data.scheduling`); when all are done the file is renamed
to ``<out>``. Killing the job and running the same command again resumes: finished trajectories stay, the rest are computed (trajectory i
always uses ``trajectory_rng(seed, i)``, so the result is the same as an uninterrupted run). A partial file
made with different parameters is refused (or discarded with ``overwrite=True``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pihamno.data.spec import DatasetSpec
from pihamno.errors import InputError, input_file
from pihamno.io import check_output, plain, write_failure

if TYPE_CHECKING:  # imported lazily at run time (keeps the command line's start fast)
    from pihamno.data.description import DataDescription

log = logging.getLogger(__name__)

#: attributes that do not take part in the settings comparison (resume, reuse)
_NOT_FINGERPRINT = {"created", "pihamno_version"}


def partial_path(out: str | Path) -> Path:
    """Where :func:`generate` keeps the unfinished file: ``<out>.partial``."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


# --------------------------------------------------------------------------------------------- writer
def _create(path: Path, spec: DatasetSpec, attrs: dict) -> None:
    """The empty partial file, every byte of it allocated now: all datasets are allocated at creation (``u``
    without writing a fill value), then the file's blocks are reserved (``posix_fallocate``), so the commits
    only overwrite bytes in place. A full disk or the file-size limit then stops the job here, before any
    work, rather than half-way through a write (which the HDF5 library does not survive)."""
    import h5py

    T, F, n = spec.trajectories, spec.frames, spec.n

    def early():
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        return dcpl

    try:
        with h5py.File(path, "w") as f:
            f.create_dataset("u", shape=(T, F, n, n, n), dtype=np.float32, chunks=(1, F, n, n, n), dcpl=early(),
                             fill_time="never")
            f.create_dataset("done", shape=(T,), dtype=np.uint8, fillvalue=0, dcpl=early())
            for name, shape, dtype in (
                ("energy", (T, F), np.float64),
                ("mass", (T, F), np.float64),
                ("cg_iterations", (T, F - 1), np.int32),
                ("solver_residual", (T, F - 1), np.float64),
                ("max_abs", (T,), np.float64),
            ):
                f.create_dataset(name, shape=shape, dtype=dtype, fillvalue=np.nan if dtype == np.float64 else 0,
                                 dcpl=early())
            f.attrs.update(attrs)
            f.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with open(path, "r+b") as fh:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)
    except (OSError, RuntimeError) as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise InputError(f"cannot write {str(path)!r}: {write_failure(exc)}; free space or write elsewhere") from None


def _resume(path: Path, attrs: dict, overwrite: bool) -> np.ndarray | None:
    """The done flags of a compatible partial file; None when there is none (or it was discarded)."""
    import h5py

    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as f:
            old = {k: plain(v) for k, v in f.attrs.items()}
            done = f["done"][:].astype(bool)
    except (OSError, KeyError) as exc:
        if "unable to lock file" in str(exc):  # HDF5's own lock: another program has the file open
            raise InputError(f"partial file {str(path)!r} is open in another program; close it and run again") from None
        if overwrite:
            path.unlink()
            return None
        raise InputError(f"partial file {str(path)!r} is damaged ({_hdf5_reason(exc)}: the job that wrote it was "
                         "killed while writing or ran out of disk); pass --overwrite to start it again") from None
    diff = _differences(old, attrs)
    if diff:
        if overwrite:
            path.unlink()
            return None
        what = ", ".join(diff[:3])
        raise InputError(
            f"refusing to resume {str(path)!r}: it was made with different parameters ({what}); "
            "delete it or pass --overwrite"
        )
    return done


def _hdf5_reason(exc: BaseException) -> str:
    """The reason inside HDF5's message: ``Unable to ... (truncated file: eof = 1, ...)`` -> ``truncated file``."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    inner = text.rsplit("(", 1)[-1].rstrip(")")
    return inner.split(":")[0].split(",")[0].strip() or text


def _differences(old: dict, new: dict) -> list[str]:
    """``"key: old in the file, new now"`` for every fingerprint attribute that differs."""
    return [f"{k}: {old.get(k)!r} in the file, {plain(new[k])!r} now" for k in new
            if k not in _NOT_FINGERPRINT and old.get(k) != plain(new[k])]


def settings_differences(path: str | Path, spec: DatasetSpec) -> list[str]:
    """How the dataset at ``path`` differs from what ``spec`` would write (empty: the same settings)."""
    from fem.assembly import mesh_key

    with _open(path) as f:
        old = {k: plain(v) for k, v in f.attrs.items()}
    return _differences(old, spec.attrs(mesh_key(spec.mesh())))


def _commit(path: Path, result: dict) -> None:
    """Write one trajectory, then (after a flush) its done flag; the file is closed after each trajectory."""
    import h5py

    i = result["index"]
    try:
        with h5py.File(path, "r+") as f:
            f["u"][i] = result["u"]
            for name in ("energy", "mass", "cg_iterations", "solver_residual", "max_abs"):
                f[name][i] = result[name]
            f.flush()
            f["done"][i] = 1
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot write trajectory {i} to {str(path)!r}: {write_failure(exc)}; the trajectories "
                         "written before it are kept: run the same command again to continue") from None


def generate(
    spec: DatasetSpec,
    out: str | Path,
    *,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    on_commit=None,
    backend: str = "auto",
    scheduler=None,
    retries: int = 2,
    device=None,
    batch: int = 8,
) -> Path:
    """Write the dataset ``spec`` to ``out`` (resuming ``<out>.partial`` if present); returns ``out``.

    Where trajectories are computed (:mod:`pihamno.data.scheduling`, docs/scaling.md): ``backend`` ``"serial"``
    (this process), ``"processes"`` (a local pool of ``workers`` processes), ``"dask"`` (a ``dask.distributed``
    ``LocalCluster`` of ``workers`` processes, or the existing cluster ``scheduler``: an address
    ``tcp://HOST:PORT``, a scheduler file, a ``Client`` or a cluster object) or ``"auto"`` (Dask when a
    ``scheduler`` is given or ``workers > 1`` and Dask is installed, the process pool when it is not, serial for
    one worker). Dask retries a failed trajectory ``retries`` times. Whatever the backend, this process is the
    one writer and the data are the same (each trajectory depends on ``(seed, index)`` only).
    ``device`` (``"cuda"``, ``"cpu"``, a torch.device) runs the torch solver there instead, ``batch``
    trajectories at a time in this process (:mod:`fem.solvers_torch`; frames agree with the numpy solver's to
    the solver tolerance, not bitwise). ``on_commit(index)`` is called after each trajectory is committed
    (progress hooks, tests).
    """
    from fem.assembly import mesh_key
    from pihamno.data.compute import worker_modules
    from pihamno.data.estimate import check_resources, estimate
    from pihamno.data.scheduling import Schedule
    from pihamno.locks import hold
    from pihamno.plugins import loaded_plugins, worker_can_import

    out = Path(out)
    schedule = Schedule(backend, workers, scheduler, retries)
    if device is not None and schedule.remote:
        raise InputError("a device runs the torch solver in this process, batch trajectories at a time; it does not "
                         "combine with several workers, a process pool or Dask")
    if not isinstance(batch, (int, np.integer)) or isinstance(batch, bool) or batch < 1:
        raise InputError(f"batch must be an integer >= 1, got {batch!r}")
    check_output(out, overwrite)
    plugins, modules = tuple(loaded_plugins()), worker_modules(spec)  # what each worker loads first
    for module in modules if schedule.remote else ():
        if not worker_can_import(module):
            raise InputError(f"the PDE or initial-condition family of this dataset is defined in module {module!r}, "
                             "which worker processes cannot import; load it as a plugin (pihamno --plugin FILE, or "
                             "pihamno.plugins.load_plugins([FILE]) in Python), make it importable, or use workers = 1")

    part = partial_path(out)
    with hold(lock_path(out), f"dataset {str(out)!r}", "wait for that generate to finish or stop it (a rerun "
              "continues its partial file)"):
        cost = estimate(spec, schedule.workers if schedule.remote else 1, batch if device is not None else 1)
        name = f"dataset {str(out)!r} (n = {spec.n}, {spec.trajectories} x {spec.frames} frames)"
        check_resources(cost, out, name, memory=schedule.scheduler is None, disk=False)  # before the mesh is built
        if cost.large:
            log.info(f"generate {out}: {cost.text} (an estimate)")
        attrs = spec.attrs(mesh_key(spec.mesh()))
        done = _resume(part, attrs, overwrite)
        if done is None:
            check_resources(cost, out, name, memory=False)
            _create(part, spec, attrs)
            done = np.zeros(spec.trajectories, dtype=bool)
        _write(spec, out, part, done, schedule, (plugins, modules), attrs, progress, on_commit, device, batch)
    return out


def lock_path(out: str | Path) -> Path:
    """The lock file :func:`generate` holds while it writes ``out``: ``<out>.lock`` (:func:`pihamno.locks.hold`)."""
    out = Path(out)
    return out.with_name(out.name + ".lock")


def _write(spec, out, part, done, schedule, worker_imports, attrs, progress, on_commit, device, batch) -> None:
    """Compute the trajectories not ``done``, commit each to ``part``, then rename ``part`` to ``out``.
    ``worker_imports``: ``(plugins, modules)`` each worker loads first (:func:`pihamno.data.compute.load_worker_modules`)."""
    from pihamno.data.compute import compute_on_device

    todo = [int(i) for i in np.flatnonzero(~done)]

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=spec.trajectories, initial=spec.trajectories - len(todo), unit="traj",
                   desc=f"{spec.params.pde} n={spec.n}", dynamic_ncols=True)

    def commit(result):
        _commit(part, result)
        for msg in result["warnings"]:
            log.warning(f"trajectory {result['index']}: {msg}")
        if bar is not None:
            bar.update(1)
        if on_commit is not None:
            on_commit(result["index"])

    try:
        if todo and device is not None:
            for result in compute_on_device(spec, todo, device, int(batch)):
                commit(result)
        elif todo:
            with schedule.results(spec, todo, *worker_imports, key=json.dumps(attrs, sort_keys=True)) as results:
                for result in results:
                    commit(result)
    finally:
        if bar is not None:
            bar.close()
    os.replace(part, out)


# --------------------------------------------------------------------------------------------- readers

def _open(path: str | Path):
    import h5py

    path = input_file(path, "dataset")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"dataset {str(path)!r} is not a readable HDF5 file ({exc})") from None


def read_metadata(path: str | Path) -> dict:
    """The attributes of a dataset as a dict of plain values (:func:`pihamno.data.description.decode_attrs`);
    what interprets them reads :func:`read_description` instead."""
    from pihamno.data.description import decode_attrs

    with _open(path) as f:
        return decode_attrs(f.attrs)


def read_description(path: str | Path) -> DataDescription:
    """The :class:`~pihamno.data.description.DataDescription` of the dataset file ``path``: its attributes, with
    the shape of ``u`` where they lack ``n``, ``frames`` or ``trajectories``."""
    from pihamno.data.description import DataDescription

    with _open(path) as f:
        attrs, shape = dict(f.attrs), (tuple(f["u"].shape) if "u" in f else None)
    return DataDescription.from_attrs(attrs, shape)


def load_trajectories(path: str | Path, indices=None) -> np.ndarray:
    """Trajectories ``indices`` (None = all; int, sequence or array, any order, repeats allowed) as a float32
    array ``(k, frames, n, n, n)``. Refuses trajectories that are not written yet (a ``.partial`` file)."""
    with _open(path) as f:
        if "u" not in f:
            raise InputError(f"dataset {str(path)!r} has no 'u' dataset")
        u, T = f["u"], f["u"].shape[0]
        idx = np.arange(T) if indices is None else np.atleast_1d(np.asarray(indices, dtype=np.int64))
        if idx.ndim != 1 or (idx.size and (idx.min() < -T or idx.max() >= T)):
            raise InputError(f"trajectory indices {indices!r} out of range for {T} trajectories")
        idx = np.where(idx < 0, idx + T, idx)
        if "done" in f:
            done = f["done"][:].astype(bool)
            if not done[idx].all():
                missing = idx[~done[idx]]
                raise InputError(f"dataset {str(path)!r}: trajectories {missing[:5].tolist()} are not written yet")
        uniq, inverse = np.unique(idx, return_inverse=True)
        data = u[uniq] if uniq.size else np.empty((0,) + u.shape[1:], np.float32)
    return np.asarray(data[inverse], dtype=np.float32)


def dataset_info(path: str | Path) -> dict:
    """Summary: path, shape, dtype, trajectories done, file size, and the metadata (:func:`read_metadata`)."""
    meta = read_metadata(path)
    with _open(path) as f:
        shape = tuple(f["u"].shape) if "u" in f else None
        dtype = str(f["u"].dtype) if "u" in f else None
        done = int(f["done"][:].sum()) if "done" in f else None
    return {
        "path": str(path),
        "shape": shape,
        "dtype": dtype,
        "trajectories_done": done,
        "complete": shape is not None and done == shape[0],
        "size_bytes": Path(path).stat().st_size,
        "metadata": meta,
    }
