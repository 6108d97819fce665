"""Scaling of `pihamno generate` with the number of workers (docs/scaling.md).

Generates the same dataset (AC, n^3, --trajectories, --frames) with each backend / worker count, the
configurations interleaved and repeated, and prints the wall time of each (median over repeats) and its
ratio to the serial run of the same session; checks that every file holds the serial run's data.

    python scripts/scaling_generate.py --n 32 --trajectories 8 --frames 41 --workers 1 2 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--trajectories", type=int, default=8)
    ap.add_argument("--frames", type=int, default=41)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--backends", nargs="+", default=["processes", "dask"])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate
    from pihamno.data.scheduling import have_dask

    spec = DatasetSpec(params=preset("ac"), n=args.n, frames=args.frames, trajectories=args.trajectories, seed=0)
    configs = [("serial", 1)] + [(b, w) for b in args.backends if b != "dask" or have_dask() for w in args.workers]
    times: dict = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        reference = None
        for rep in range(args.repeats):
            for backend, workers in configs:
                out = Path(tmp) / f"{backend}{workers}.h5"
                t0 = time.perf_counter()
                generate(spec, out, workers=workers, backend=backend, overwrite=True, progress=False)
                times[(backend, workers)].append(time.perf_counter() - t0)
                with h5py.File(out) as f:
                    u = f["u"][:]
                if reference is None:
                    reference = u
                assert np.array_equal(u, reference), f"{backend} x{workers} differs from the serial data"
                print(f"repeat {rep}: {backend:9s} x{workers}: {times[(backend, workers)][-1]:6.1f} s "
                      f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    base = statistics.median(times[("serial", 1)])
    print(f"\nAC n={args.n}, {args.trajectories} trajectories x {args.frames} frames, {os.cpu_count()} cores; "
          "median wall time, ratio to serial, identical data in every run")
    for (backend, workers), ts in times.items():
        med = statistics.median(ts)
        print(f"  {backend:9s} workers={workers}: {med:6.1f} s   {med / base:5.2f} x serial")


if __name__ == "__main__":
    main()
