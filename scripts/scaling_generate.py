"""Scaling of `pihamno generate` with the number of workers (docs/scaling.md).

Generates the same dataset (AC, n^3, --trajectories, --frames) with each backend / worker count, the
configurations interleaved and repeated, and prints per configuration (medians over repeats): the wall
time, the time to the first committed trajectory (start-up: processes, imports, assembly, one trajectory)
and the time per trajectory after it (throughput), each also as a ratio to the serial run of the same
session; checks that every file holds the serial run's data.

    python scripts/scaling_generate.py --n 32 --trajectories 8 --frames 101 --workers 1 2 --repeats 3
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
                stamps = []
                t0 = time.perf_counter()
                generate(spec, out, workers=workers, backend=backend, overwrite=True, progress=False,
                         on_commit=lambda i, s=stamps: s.append(time.perf_counter()))
                total = time.perf_counter() - t0
                per = (stamps[-1] - stamps[0]) / max(len(stamps) - 1, 1)
                times[(backend, workers)].append((total, stamps[0] - t0, per))
                with h5py.File(out) as f:
                    u = f["u"][:]
                if reference is None:
                    reference = u
                assert np.array_equal(u, reference), f"{backend} x{workers} differs from the serial data"
                total, first, per = times[(backend, workers)][-1]
                print(f"repeat {rep}: {backend:9s} x{workers}: {total:6.1f} s, first after {first:5.1f} s, then "
                      f"{per:5.2f} s per trajectory (load average {os.getloadavg()[0]:.1f})", flush=True)

    def med(key, k):
        return statistics.median(t[k] for t in times[key])

    print(f"\nAC n={args.n}, {args.trajectories} trajectories x {args.frames} frames, {os.cpu_count()} cores; medians "
          "of wall time, time to the first trajectory, time per trajectory after it (x: ratio to serial); "
          "identical data in every run")
    print("| backend | workers | wall time | first trajectory | per trajectory after it |")
    print("|---|---|---|---|---|")
    base = [med(("serial", 1), k) for k in range(3)]
    for key in times:
        cells = [f"{med(key, k):.1f} s ({med(key, k) / base[k]:.2f}x)" if k < 2 else
                 f"{med(key, k):.2f} s ({med(key, k) / base[k]:.2f}x)" for k in range(3)]
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
