"""Device selection: from a flag or config, default CUDA when present. Nothing reads a global device.

CPU threads: :func:`set_cpu_threads` (the ``pihamno --threads N`` flag and ``[run] threads``). torch's default
is one thread per physical core. On a machine shared with other jobs, or with several processes per machine
(torchrun, process pools), fewer are faster: OpenMP threads spin while they wait for each other, and one
``ac_small`` epoch took 32 s on two threads of a busy 2-core machine against 3 s on one (docs/training.md).
"""

from __future__ import annotations

import torch

from pihamno.errors import InputError


def resolve_device(name: str | None = None) -> torch.device:
    """``None``/``"auto"`` -> ``cuda`` if available else ``cpu``; otherwise the named device, validated."""
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {name!r} was requested but CUDA is not available on this machine")
    return dev


def set_cpu_threads(threads: int | None) -> int:
    """Set torch's CPU (intra-op) threads to ``threads`` (None: leave them); returns the number before, so that a
    caller can put it back. Also ``OMP_NUM_THREADS`` for the processes this one starts."""
    import os

    before = torch.get_num_threads()
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InputError(f"threads must be a positive integer, got {threads!r}")
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
    return before


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); a no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn, repeats: int, device: torch.device, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls, each synchronised on
    ``device`` (benchmarks and time estimates; never an assert)."""
    import statistics
    import time

    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
