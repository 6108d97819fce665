"""Reference solver benchmark: seconds per saved frame and CG iterations per PDE, preconditioner and grid size.

    python bench/bench_solvers.py                       # n = 32 and 64, 4 frames each, both preconditioners
    python bench/bench_solvers.py --n 32 --frames 11
    python bench/bench_solvers.py --full                # + one 101-frame n = 32 trajectory per PDE (default setup)

Each row: the PDE at the paper's parameters (fem.schemes.PRESETS, substeps 1, rtol 1e-10) on the Kuhn mesh of
the n^3 grid, from the PDE's default initial condition (pihamno.data.initial_conditions); the time per saved
frame excludes assembly (reported separately) and the first frame (warm-up); ratios are against Jacobi in
the same run. ``--full`` times what ``pihamno generate`` does for one trajectory, assembly included.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fem.assembly import assemble, clear_cache
from fem.mesh import cube_mesh
from fem.schemes import preset
from fem.solvers import Stepper, simulate
from pihamno.data.initial_conditions import default_family, resolve_params, sample, trajectory_rng


def initial_condition(pde: str, n: int, L: float) -> np.ndarray:
    fam = default_family(pde)
    return sample(fam, trajectory_rng(0, 0), n, L, resolve_params(fam, pde))


def per_frame(pde: str, n: int, frames: int, preconditioner: str) -> tuple[float, float]:
    """(seconds per saved frame, mean CG iterations per frame), after one warm-up frame."""
    p = preset(pde)
    ops = assemble(cube_mesh(n, p.L))
    stepper = Stepper(p, ops, preconditioner)
    u0 = simulate(p, ops, initial_condition(pde, n, p.L), 2, stepper=stepper).u[-1]
    t0 = time.perf_counter()
    tr = simulate(p, ops, u0, frames + 1, stepper=stepper)
    return (time.perf_counter() - t0) / frames, float(tr.iterations.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[32, 64], help="grid sizes (default 32 64)")
    ap.add_argument("--frames", type=int, default=4, help="timed frames per case (default 4)")
    ap.add_argument("--pde", nargs="+", default=["ac", "ch", "sh"])
    ap.add_argument("--preconditioner", nargs="+", default=["jacobi", "dct"])
    ap.add_argument("--full", action="store_true", help="also time a full 101-frame n = 32 trajectory per PDE")
    args = ap.parse_args()

    print(f"{'pde':<4} {'n':>4} {'precond':<7} {'s/frame':>8} {'CG it/frame':>11} {'vs jacobi':>9}")
    for n in args.n:
        clear_cache()
        t0 = time.perf_counter()
        assemble(cube_mesh(n, 2.0))
        print(f"# n = {n}: assembly (mesh + M, K, M_L) {time.perf_counter() - t0:.2f} s")
        for pde in args.pde:
            base = None
            for pc in args.preconditioner:
                sec, its = per_frame(pde, n, args.frames, pc)
                base = base or (sec if pc == "jacobi" else None)
                ratio = f"{base / sec:.2f}x" if base else "-"
                print(f"{pde:<4} {n:>4} {pc:<7} {sec:>8.3f} {its:>11.1f} {ratio:>9}", flush=True)
    if args.full:
        print("# one 101-frame trajectory at n = 32 (auto preconditioner, assembly included)")
        for pde in args.pde:
            clear_cache()
            p = preset(pde)
            t0 = time.perf_counter()
            tr = simulate(p, assemble(cube_mesh(32, p.L)), initial_condition(pde, 32, p.L), 101)
            dt = time.perf_counter() - t0
            print(f"{pde}: {dt:.1f} s, CG iterations per frame {tr.iterations.mean():.1f}, "
                  f"energy {tr.energy[0]:.4g} -> {tr.energy[-1]:.4g}, max|u| {tr.max_abs:.3f}", flush=True)


if __name__ == "__main__":
    main()
