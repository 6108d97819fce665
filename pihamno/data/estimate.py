"""What generating a dataset will take -- memory, disk, time -- said before the work, and refused when impossible.

:func:`estimate` sizes a :class:`~pihamno.data.DatasetSpec` from measured costs per grid node (below);
:func:`check_resources` compares the estimate with this machine (physical memory, free disk, the file-size
limit ``ulimit -f``) and raises :class:`InputError` with one line when it cannot fit: a ``--n 100000`` is
refused at once instead of failing inside numpy, and a dataset larger than the disk or the file-size limit
never starts writing (the HDF5 library can crash when a write fails half-way). :attr:`Estimate.text` is the
sentence ``pihamno generate`` prints before long work.

Costs, measured on the 2-core development machine (2026-12, ``pihamno generate`` of AC and SH on the Kuhn mesh
at n = 32, 48, 64, P1, one BLAS thread, other jobs running): peak resident memory 110 MB + 8.1 kB per grid node
(assembly of M, K and the lumped mass dominates; 338 MB at n = 32, 973 MB at 48, 2.24 GB at 64), plus the frames
of the trajectories in flight (float64 and their float32 copy, 12 bytes per node and frame); setup (mesh,
assembly, the exact solve's correction) 64 us per node (17 s at n = 64); one step of the exact DCT solve with
the energy of the frame ~85 ns per node (22 ms at n = 64). Where the exact solve does not apply (a mesh file, P2,
the Jacobi preconditioner) conjugate gradients take ~10 iterations per step: ten times that. Estimates, not
promises: a loaded machine is slower.

>>> from fem.schemes import preset
>>> from pihamno.data import DatasetSpec
>>> e = estimate(DatasetSpec(params=preset("ac"), n=64, frames=101, trajectories=10))
>>> round(e.disk_bytes / 1e9, 2), round(e.memory_bytes / 1e9, 1), round(e.seconds / 60, 1)
(1.06, 2.7, 0.7)
"""

from __future__ import annotations

import os
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

from pihamno.errors import InputError

BASE_BYTES = 110e6  #: python, numpy, scipy, scikit-fem and h5py loaded
BYTES_PER_NODE = 8.5e3  #: the assembly's peak per grid node (P1 on a split; P2 and mesh files: see _dofs)
FRAME_BYTES_PER_NODE = 12  #: a frame in flight: float64 and its float32 copy
SETUP_SECONDS_PER_NODE = 64e-6  #: mesh, assembly and the exact solve's setup
STEP_SECONDS_PER_NODE = 85e-9  #: one step with the exact DCT solve and the frame's energy
CG_FACTOR = 10  #: steps solved by conjugate gradients instead (about ten iterations)
#: above these an estimate is printed before the work starts
LONG_SECONDS, LARGE_BYTES = 60.0, 2e9


@dataclass(frozen=True)
class Estimate:
    """Memory (peak, all processes of this machine), disk (the HDF5 file) and wall time of a dataset."""

    memory_bytes: float
    disk_bytes: float
    seconds: float
    workers: int

    @property
    def large(self) -> bool:
        """Worth saying before the work starts."""
        return self.seconds > LONG_SECONDS or max(self.memory_bytes, self.disk_bytes) > LARGE_BYTES

    @property
    def text(self) -> str:
        """``about 2.5 GB of memory, 1.1 GB of disk and 1 min on 1 worker``."""
        on = f"{self.workers} worker{'s' if self.workers > 1 else ''}"
        return (f"about {size(self.memory_bytes)} of memory, {size(self.disk_bytes)} of disk and "
                f"{duration(self.seconds)} on {on}")


def size(nbytes: float) -> str:
    """``12 MB``, ``3.4 GB``, ``7.1 PB``: decimal units, two significant digits."""
    for unit, scale in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale or unit == "MB":
            return f"{nbytes / scale:.2g} {unit}" if nbytes / scale < 100 else f"{nbytes / scale:.0f} {unit}"
    raise AssertionError  # pragma: no cover


def duration(seconds: float) -> str:
    """``40 s``, ``12 min``, ``3.5 h``, ``41 days``."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.2g} h"
    return f"{seconds / 86400:.0f} days"


def assembly_bytes(n: int, element: str = "P1") -> float:
    """Peak memory of one process that assembles the operators of the n^3 grid (P2 rows hold ~3x the entries)."""
    return BASE_BYTES + BYTES_PER_NODE * (3.0 if element == "P2" else 1.0) * float(n) ** 3


def estimate(spec, workers: int = 1, batch: int = 1) -> Estimate:
    """The :class:`Estimate` of generating ``spec`` from scratch with ``workers`` processes (``batch``
    trajectories at a time with the torch solver)."""
    nodes = grid = float(spec.n) ** 3
    exact = spec.element == "P1" and bool(spec.split) and spec.preconditioner in ("auto", "dct")
    per_process = assembly_bytes(spec.n, spec.element) - BASE_BYTES + FRAME_BYTES_PER_NODE * spec.frames * grid * max(1, batch)
    memory = BASE_BYTES + workers * per_process
    # u (float32) + energy, mass, residuals (float64) + cg iterations (int32) + flags, and HDF5's metadata
    disk = spec.trajectories * (spec.frames * grid * 4 + spec.frames * 28 + 9) + 64e3
    steps = spec.trajectories * (spec.frames - 1) * spec.params.substeps
    step = STEP_SECONDS_PER_NODE * nodes * (1 if exact else CG_FACTOR)
    seconds = SETUP_SECONDS_PER_NODE * nodes + steps * step / max(1, min(workers, spec.trajectories))
    return Estimate(memory, disk, seconds, workers)


def check_assembly_memory(n: int, element: str = "P1") -> None:
    """Refuse (one line) assembling the n^3 grid mesh where it needs more memory than this machine has."""
    ram, need = physical_memory(), assembly_bytes(n, element)
    if ram is not None and need > ram:
        raise InputError(f"assembling the n = {n} grid mesh needs about {size(need)} of memory, more than this "
                         f"machine's {size(ram)}; use a smaller --n")


def physical_memory() -> float | None:
    """Bytes of RAM of this machine (None where the system does not say)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE")) * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_resources(est: Estimate, out: str | Path, what: str, memory: bool = True, disk: bool = True) -> None:
    """Refuse (:class:`InputError`, one line naming ``what``) what this machine cannot hold: ``memory`` beyond
    its RAM (when the work runs here), ``disk``: a file ``out`` beyond the free disk or the file-size limit."""
    out = Path(out)
    advice = "use a smaller --n, fewer --frames or --trajectories"
    ram = physical_memory()
    if memory and ram is not None and est.memory_bytes > ram:
        raise InputError(f"{what} needs about {size(est.memory_bytes)} of memory, more than this machine's "
                         f"{size(ram)}; {advice}")
    if not disk:
        return
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and est.disk_bytes > limit:
        raise InputError(f"{what} would be a file of about {size(est.disk_bytes)}, above the file-size limit of "
                         f"{size(limit)} (ulimit -f); raise the limit or {advice}")
    folder = next((p for p in [out.parent, *out.parent.parents] if p.exists()), Path("."))
    free = shutil.disk_usage(folder).free
    if est.disk_bytes > free:
        raise InputError(f"{what} would be a file of about {size(est.disk_bytes)}, more than the {size(free)} "
                         f"free on its disk; free space, write elsewhere or {advice}")
