"""Reference solver benchmark: the FEM step against a node-grid DCT-I spectral step, and seconds per saved frame.

    python bench/bench_solvers.py                       # FEM / spectral step ratios at n = 32 and 64, all PDEs
    python bench/bench_solvers.py --n 32 --steps 20
    python bench/bench_solvers.py --parts               # + the parts of a step against what they replaced
    python bench/bench_solvers.py --per-frame           # + the old table: s/frame and CG iterations, jacobi vs dct
    python bench/bench_solvers.py --full                # + one 101-frame n = 32 trajectory per PDE (default setup)

**Step ratios** (the default). Each row: the PDE at the paper's parameters (fem.schemes.PRESETS, substeps 1,
rtol 1e-10) on the Kuhn mesh of the n^3 grid, from the PDE's default initial condition advanced a few frames;
the median time of a step as :func:`fem.solvers.simulate` takes it, ``Stepper.advance`` (solve, residual check
and the next step's explicit residual, which share products; float64), for

* ``exact``  -- ``preconditioner="auto"`` as shipped: the edge-corrected DCT solve (fem.capacitance), one
  solve per step;
* ``before`` -- the previous default: Jacobi CG for AC, CG with the plain DCT preconditioner for CH and SH;
* ``gen``    -- the step as generation runs it: :func:`fem.solvers.simulate` of a few frames with the exact
  solve (one ``Stepper`` reused, no setup), per saved frame: the step, max |u|, the frame on the grid, its
  free energy and mass (``generate`` records them for every frame);
* ``gen0``   -- the same with the frame energy as computed before issue 20 (:func:`energy_as_before`: SH's
  potential ``U**4 / 4``, ``u^T Q u`` from ``Q u`` with two products with K);

against a **DCT-I spectral step** of the same scheme on the same grid: the nodal scheme with the 7-point
Neumann Laplacian diagonalised by DCT-I (the FEM scheme with the Kuhn stiffness's edge rows replaced by the
mirror-ghost ones), written as well as we can: the transform of the state is carried from step to step, so
a step is one forward DCT of the nonlinearity, a division by the symbol and one inverse DCT (float64, the
cube written ``u * u * u``). The columns are the ratios FEM step / spectral step measured in this run (the
three are timed in interleaved rounds), and the largest difference of one step's increment between the two
discretisations relative to the increment, everywhere (the Kuhn edge rows differ) and n/4 nodes or more
from every edge (where they are the same scheme).

One BLAS/OpenMP thread unless ``--threads``: on a shared machine OpenBLAS's spinning threads make the small
matrix products of the edge correction up to 100x slower. Timings on a loaded machine swing; the ratios of
one run are what to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

if __name__ == "__main__" and "--threads" not in sys.argv:  # before numpy is imported
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402

from fem.assembly import assemble, clear_cache  # noqa: E402
from fem.grid import grid_eigenvalues  # noqa: E402
from fem.mesh import cube_mesh  # noqa: E402
from fem.schemes import explicit_residual, preset  # noqa: E402
from fem.solvers import Stepper, simulate  # noqa: E402
from pihamno.data.initial_conditions import default_family, resolve_params, sample, trajectory_rng  # noqa: E402

#: the spectral form of the built-in schemes: g^ = a(lam) u^ + b(lam) f(u)^ (lumped mass = the trapezoid weights)
SPECTRAL_G = {
    "ac": lambda p, lam: (lam, 1.0 / p.eps**2 + 0 * lam),
    "ch": lambda p, lam: (p.eps**2 * lam**2, lam),
    "sh": lambda p, lam: ((1.0 - lam) ** 2, 1.0 + 0 * lam),
}


class SpectralStep:
    """``u^_1 = u^_0 - (a u^_0 + b DCT(f(u_0))) / p(lam)``, ``u_1 = IDCT(u^_1)``: one DCT-I pair per step."""

    def __init__(self, params, n: int):
        lam = grid_eigenvalues(n, params.L)
        a, b = SPECTRAL_G[params.pde](params, lam)
        p = params.equation.symbol(params, lam)
        self.params, self.keep, self.force = params, 1.0 - a / p, b / p

    def start(self, u: np.ndarray) -> np.ndarray:
        return scipy.fft.dctn(u, type=1)

    def step(self, u: np.ndarray, uh: np.ndarray):
        fh = scipy.fft.dctn(self.params.equation.nonlinearity(self.params, u), type=1)
        uh = self.keep * uh - self.force * fh
        return scipy.fft.idctn(uh, type=1), uh


def initial_condition(pde: str, n: int, L: float) -> np.ndarray:
    fam = default_family(pde)
    return sample(fam, trajectory_rng(0, 0), n, L, resolve_params(fam, pde))


def _interleaved_medians(fns: dict, repeats: int) -> dict:
    """Median seconds of each callable, timed in interleaved rounds (a load change hits every variant alike)."""
    times = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def edge_distance(n: int) -> np.ndarray:
    """Nodes from the nearest cube edge, (n, n, n): the second smallest distance to a face."""
    ijk = np.indices((n, n, n))
    return np.sort(np.minimum(ijk, n - 1 - ijk), axis=0)[1]


#: steps per timed call of simulate in the generation columns (the call's first frame and setup are spread over them)
GENERATION_STEPS = 10


@contextlib.contextmanager
def energy_as_before(pde):
    """The frame energy as :func:`fem.solvers.simulate` computed it before issue 20: ``u^T Q u`` from ``Q u`` (SH: two
    products with K; the PDE's ``quadratic_form`` is bypassed) and SH's potential written ``U**4 / 4`` (numpy's
    generic power). AC and CH computed theirs as now, so their two generation columns time the same code."""
    cls = type(pde)
    saved = {k: cls.__dict__[k] for k in ("quadratic_form", "potential") if k in cls.__dict__}
    cls.quadratic_form = lambda self, params, ops, U: (U * self.quadratic(params, ops, U)).sum(0)
    if cls.name == "sh":
        cls.potential = lambda self, params, U: U**4 / 4.0 - params.eps * U**2 / 2.0
    try:
        yield
    finally:
        for k in ("quadratic_form", "potential"):
            if k in saved:
                setattr(cls, k, saved[k])
            elif k in cls.__dict__:
                delattr(cls, k)


def step_ratios(pde: str, n: int, steps: int) -> dict:
    """Median step times (s) of the exact FEM step, the previous default and the spectral step; the step as
    generation runs it (``simulate`` with the frame's energy and mass, per step), now and with the energy as
    computed before (:func:`energy_as_before`); CG iterations; the relative difference of one step's increment
    between FEM and spectral, everywhere and n/4 from the edges."""
    p = preset(pde)
    ops = assemble(cube_mesh(n, p.L))
    t0 = time.perf_counter()
    exact = Stepper(p, ops, "auto")
    setup = time.perf_counter() - t0
    before = Stepper(p, ops, "jacobi" if pde == "ac" else "dct", edge_correction=False)
    u = simulate(p, ops, initial_condition(pde, n, p.L), 3, stepper=exact).u[-1]
    X = u.reshape(-1, 1)
    spec = SpectralStep(p, n)
    uh = spec.start(u)
    out = {"setup": setup, "k": exact.exact.k if exact.exact is not None else 0}
    g = explicit_residual(p, exact.sops, X)  # inside simulate each step gets g(u0) from the step before
    k = GENERATION_STEPS

    def generation():  # what generate does per saved frame (substeps 1): the step, max |u|, the frame, E and mass
        simulate(p, ops, u, k + 1, stepper=exact)

    def generation_before():
        with energy_as_before(p.equation):
            generation()

    out |= _interleaved_medians({"spectral": lambda: spec.step(u, uh), "exact": lambda: exact.advance(X, g),
                                 "before": lambda: before.advance(X, g), "generation": generation,
                                 "generation_before": generation_before}, steps)
    out["generation"] /= k
    out["generation_before"] /= k
    X1, its, _ = exact.step(X)
    out["it_exact"], out["it_before"] = int(its[0]), int(before.step(X)[1][0])
    d_fem = X1.reshape(u.shape) - u
    diff = np.abs(spec.step(u, uh)[0] - u - d_fem) / np.abs(d_fem).max()
    out["diff_all"], out["diff_inner"] = float(diff.max()), float(diff[edge_distance(n) >= n // 4].max())
    return out


def part_ratios(pde: str, n: int, steps: int) -> dict:
    """Median times (s) of the parts of a step, each against what it replaced: a product with K stored by
    diagonals against CSR (fem.banded); the capacitance solve by symmetry blocks against one k x k LU
    (fem.cube_symmetry); the step's check and next explicit residual fused (PDE.residual_and_next) against
    ``g0 + A d`` and ``g(u1)``, both with K by diagonals (all in one interleaved run)."""
    import scipy.linalg

    from fem.capacitance import NUMPY
    from fem.cube_symmetry import solve_blocks
    from fem.pde import PDE

    p = preset(pde)
    ops = assemble(cube_mesh(n, p.L))
    st = Stepper(p, ops, "auto")
    rng = np.random.default_rng(0)
    x, u0 = rng.normal(size=(n**3, 1)), 0.5 * rng.normal(size=(n**3, 1))
    u1 = u0 + 1e-3 * rng.normal(size=(n**3, 1))
    g0 = explicit_residual(p, st.sops, u0)
    ec = st.exact
    whole = scipy.linalg.lu_factor(ec.C, check_finite=False)
    z = rng.normal(size=(ec.k, 1))
    fused, plain = p.equation.residual_and_next, PDE.residual_and_next

    def blocks():
        return solve_blocks(ec.lu, z, NUMPY.zeros, NUMPY.lu_solve)

    return _interleaved_medians({
        "K diagonals": lambda: st.sops.K @ x, "K csr": lambda: ops.K @ x,
        "C blocks": blocks, "C whole": lambda: scipy.linalg.lu_solve(whole, z, check_finite=False),
        "fused": lambda: fused(p, st.sops, u0, u1, g0), "plain": lambda: plain(p.equation, p, st.sops, u0, u1, g0),
    }, steps) | {"blocks": len(ec.lu.blocks), "k": ec.k}


def per_frame(pde: str, n: int, frames: int, preconditioner: str) -> tuple[float, float]:
    """(seconds per saved frame, mean CG iterations per frame), after one warm-up frame."""
    p = preset(pde)
    ops = assemble(cube_mesh(n, p.L))
    stepper = Stepper(p, ops, preconditioner)
    u0 = simulate(p, ops, initial_condition(pde, n, p.L), 2, stepper=stepper).u[-1]
    t0 = time.perf_counter()
    tr = simulate(p, ops, u0, frames + 1, stepper=stepper)
    return (time.perf_counter() - t0) / frames, float(tr.iterations.mean())


def _table(header: str, args, measure, row) -> None:
    """Print ``header``, then one row per grid size and PDE: ``pde n`` and ``row(measure(pde, n, args.steps))``."""
    print(header)
    for n in args.n:
        clear_cache()
        for pde in args.pde:
            print(f"{pde:<4} {n:>4} " + row(measure(pde, n, args.steps)), flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[32, 64], help="grid sizes (default 32 64)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per case (median; default 10)")
    ap.add_argument("--pde", nargs="+", default=["ac", "ch", "sh"])
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads (default 1; set before start)")
    ap.add_argument("--parts", action="store_true",
                    help="also the parts of a step against what they replaced: K by diagonals vs CSR, the "
                         "capacitance solve by symmetry blocks vs one LU, the fused check vs the plain one")
    ap.add_argument("--per-frame", action="store_true", help="also the s/frame table, jacobi vs dct")
    ap.add_argument("--frames", type=int, default=4, help="timed frames per case of --per-frame (default 4)")
    ap.add_argument("--full", action="store_true", help="also time a full 101-frame n = 32 trajectory per PDE")
    args = ap.parse_args(argv)

    print(f"# FEM step / DCT-I spectral step (medians of {args.steps} steps, float64, "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')} BLAS thread(s), load average "
          f"{os.getloadavg()[0]:.1f})")
    _table(f"{'pde':<4} {'n':>4} {'band k':>6} {'setup s':>7} {'spectral ms':>11} {'exact ms':>9} {'it':>3} "
           f"{'before ms':>9} {'it':>4} {'exact/spec':>10} {'before/spec':>11} {'gen ms':>7} {'gen/spec':>8} "
           f"{'gen0 ms':>7} {'gen0/spec':>9} {'diff all':>8} {'n/4 in':>8}",
           args, step_ratios,
           lambda r: f"{r['k']:>6} {r['setup']:>7.2f} {r['spectral'] * 1e3:>11.2f} {r['exact'] * 1e3:>9.2f} "
                     f"{r['it_exact']:>3} {r['before'] * 1e3:>9.2f} {r['it_before']:>4} "
                     f"{r['exact'] / r['spectral']:>9.2f}x {r['before'] / r['spectral']:>10.2f}x "
                     f"{r['generation'] * 1e3:>7.2f} {r['generation'] / r['spectral']:>7.2f}x "
                     f"{r['generation_before'] * 1e3:>7.2f} {r['generation_before'] / r['spectral']:>8.2f}x "
                     f"{r['diff_all']:>8.1e} {r['diff_inner']:>8.1e}")
    print("gen: the step as generation runs it (fem.solvers.simulate per saved frame: the step, max |u|, the frame "
          "on the grid, its energy and mass); gen0: the same with the frame energy as computed before issue 20 "
          "(SH: U**4 and two products with K; AC and CH: the same code, so gen0/gen shows the noise)")
    if args.parts:
        _table(f"\n{'pde':<4} {'n':>4} {'K diag ms':>9} {'K csr ms':>8} {'ratio':>6} {'blocks':>6} {'C blocks ms':>11} "
               f"{'C whole ms':>10} {'ratio':>6} {'fused ms':>8} {'plain ms':>8} {'ratio':>6}",
               args, part_ratios,
               lambda r: f"{r['K diagonals'] * 1e3:>9.2f} {r['K csr'] * 1e3:>8.2f} "
                         f"{r['K csr'] / r['K diagonals']:>5.2f}x {r['blocks']:>6} {r['C blocks'] * 1e3:>11.2f} "
                         f"{r['C whole'] * 1e3:>10.2f} {r['C whole'] / r['C blocks']:>5.2f}x {r['fused'] * 1e3:>8.2f} "
                         f"{r['plain'] * 1e3:>8.2f} {r['plain'] / r['fused']:>5.2f}x")
    if args.per_frame:
        print(f"\n{'pde':<4} {'n':>4} {'precond':<7} {'s/frame':>8} {'CG it/frame':>11} {'vs jacobi':>9}")
        for n in args.n:
            clear_cache()
            t0 = time.perf_counter()
            assemble(cube_mesh(n, 2.0))
            print(f"# n = {n}: assembly (mesh + M, K, M_L) {time.perf_counter() - t0:.2f} s")
            for pde in args.pde:
                base = None
                for pc in ("jacobi", "dct"):
                    sec, its = per_frame(pde, n, args.frames, pc)
                    base = base or (sec if pc == "jacobi" else None)
                    print(f"{pde:<4} {n:>4} {pc:<7} {sec:>8.3f} {its:>11.1f} {base / sec:>8.2f}x", flush=True)
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
