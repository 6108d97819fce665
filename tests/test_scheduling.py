"""pihamno.data.scheduling: the backends of ``generate`` give the same data as the serial run; Dask retries a
failed trajectory, leaves one that keeps failing for resume, and an interrupted run resumes to the same data.

"The same data": every dataset of the file (u, done, energy, mass, cg_iterations, solver_residual, max_abs)
equal bit for bit, and the same attributes except the creation time. (The file's bytes differ: chunks are
placed in the order trajectories arrive, and ``created`` is a timestamp.)
"""

import os
import threading

import h5py
import numpy as np
import pytest

from fem.schemes import preset
from pihamno.cli import main
from pihamno.data import DatasetSpec, generate, partial_path
from pihamno.data.scheduling import Schedule, have_dask
from pihamno.errors import InputError


def spec_of(n=8, frames=3, trajectories=4, pde="ac", seed=5):
    return DatasetSpec(params=preset(pde), n=n, frames=frames, trajectories=trajectories, seed=seed)


def contents(path) -> tuple[dict, dict]:
    with h5py.File(path) as f:
        data = {k: f[k][:] for k in f}
        attrs = {k: v for k, v in f.attrs.items() if k != "created"}
    return data, attrs


def assert_same_data(a, b):
    (da, aa), (db, ab) = contents(a), contents(b)
    assert sorted(da) == sorted(db) == ["cg_iterations", "done", "energy", "mass", "max_abs", "solver_residual", "u"]
    for k in da:
        np.testing.assert_array_equal(da[k], db[k], err_msg=k)  # bit for bit (NaN only where both have it)
    assert aa.keys() == ab.keys() and all(np.array_equal(aa[k], ab[k]) for k in aa)


def test_schedule_choices_and_errors():
    assert Schedule().name == "serial" and not Schedule().remote
    assert Schedule("auto", workers=2).name == ("dask" if have_dask() else "processes")
    assert Schedule("processes", workers=3).describe() == "a pool of 3 processes"
    for kw, match in [(dict(backend="mpi"), "unknown backend 'mpi'"), (dict(workers=0), "workers must be"),
                      (dict(retries=-1), "retries must be"), (dict(workers=2.0), "workers must be"),
                      (dict(backend="processes", scheduler="tcp://h:1"), "needs the dask backend")]:
        with pytest.raises(InputError, match=match):
            Schedule(**kw)


def test_processes_backend_gives_the_serial_data(tmp_path):
    spec = spec_of(trajectories=3)
    one = generate(spec, tmp_path / "one.h5", progress=False, backend="serial")
    pool = generate(spec, tmp_path / "pool.h5", progress=False, backend="processes", workers=2)
    assert_same_data(one, pool)


# --------------------------------------------------------------------------------------------- dask
needs_dask = pytest.mark.skipif(not have_dask(), reason="needs the distributed extra (pip install .[distributed])")


@pytest.fixture(scope="module")
def threads_cluster():
    """An in-process cluster (one worker, two threads, tcp): fast to start, and replacing a function of this
    process reaches its workers, so failures can be injected."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", dashboard_address=None) as c, \
            Client(c) as client:
        yield client


@needs_dask
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_local_cluster_of_two_processes_is_bit_identical_to_serial(tmp_path):
    """The floor of issue 13: 8 trajectories at n = 32 on a 2-worker LocalCluster == the serial run."""
    spec = spec_of(n=32, frames=3, trajectories=8)
    serial = generate(spec, tmp_path / "serial.h5", progress=False, backend="serial")
    environ = dict(os.environ)
    dask2 = generate(spec, tmp_path / "dask2.h5", progress=False, backend="dask", workers=2)
    assert_same_data(serial, dask2)
    assert dict(os.environ) == environ  # the nannies' settings for their workers do not stay in this process


@needs_dask
def test_dask_retries_a_failed_task_and_leaves_a_failing_one_for_resume(tmp_path, monkeypatch, threads_cluster):
    import pihamno.data.compute as ds

    spec = spec_of()
    clean = generate(spec, tmp_path / "clean.h5", progress=False, backend="serial")
    compute, calls, lock = ds.compute_trajectory, {}, threading.Lock()

    def flaky(index, state=None):
        with lock:
            calls[index] = calls.get(index, 0) + 1
            attempt = calls[index]
        if index == 1 and attempt == 1:
            raise RuntimeError("worker hiccup")  # once: the retry succeeds
        if index == 2:
            raise RuntimeError("always broken")  # every time: left for resume
        return compute(index, state)

    monkeypatch.setattr(ds, "compute_trajectory", flaky)
    out = tmp_path / "d.h5"
    with pytest.raises(RuntimeError, match="always broken") as info:
        generate(spec, out, progress=False, scheduler=threads_cluster, retries=1)
    assert "trajectories [2] failed after 1 retries" in "".join(info.value.__notes__)
    assert calls == {0: 1, 1: 2, 2: 2, 3: 1}  # retries = 1: two tries of the failing ones
    with h5py.File(partial_path(out)) as f:
        assert f["done"][:].tolist() == [1, 1, 0, 1]  # the others are committed
    monkeypatch.setattr(ds, "compute_trajectory", compute)
    rerun = []
    generate(spec, out, progress=False, scheduler=threads_cluster, on_commit=rerun.append)
    assert rerun == [2]
    assert_same_data(clean, out)


@needs_dask
def test_dask_interrupted_writer_resumes_to_the_same_data(tmp_path, threads_cluster):
    spec = spec_of(pde="ch", trajectories=5)
    clean = generate(spec, tmp_path / "clean.h5", progress=False, backend="serial")
    out, committed = tmp_path / "d.h5", []

    def stop_after_two(i):
        committed.append(i)
        if len(committed) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the writer: the running tasks are cancelled

    with pytest.raises(KeyboardInterrupt):
        generate(spec, out, progress=False, scheduler=threads_cluster, on_commit=stop_after_two)
    with h5py.File(partial_path(out)) as f:
        assert sorted(np.flatnonzero(f["done"][:]).tolist()) == sorted(committed)
    rerun = []
    generate(spec, out, progress=False, backend="dask", scheduler=threads_cluster, on_commit=rerun.append)
    assert sorted(rerun) == sorted(set(range(5)) - set(committed))
    assert_same_data(clean, out)


@needs_dask
def test_cli_scheduler_address(tmp_path, threads_cluster, capsys):
    address = threads_cluster.scheduler.address
    assert address.startswith("tcp://")
    args = ["generate", "--pde", "sh", "--n", "8", "--frames", "3", "--trajectories", "3", "--quiet"]
    assert main(args + ["--scheduler", address, "--out", str(tmp_path / "a.h5")]) == 0
    assert main(args + ["--backend", "serial", "--out", str(tmp_path / "b.h5")]) == 0
    assert_same_data(tmp_path / "a.h5", tmp_path / "b.h5")
    assert main(args + ["--backend", "processes", "--scheduler", address, "--out", str(tmp_path / "c.h5")]) == 2
    assert "needs the dask backend" in capsys.readouterr().err
