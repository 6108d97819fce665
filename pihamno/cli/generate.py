"""``pihamno generate``: reference trajectories of AC, CH or SH written to an HDF5 dataset (resumable)."""

from __future__ import annotations

import argparse

from pihamno.choices import ELEMENTS, MASS_KINDS, PRECONDITIONERS, SPLITS


def _presets() -> str:
    """``AC eps 0.1 L 2 dt 1e-4; CH ...`` from the registered PDEs (their own presets)."""
    from fem.pde import get_pde, pde_names

    parts = []
    for name in pde_names():
        pr = get_pde(name).preset
        parts.append(f"{name.upper()} eps {pr['eps']:g} L {pr['L']:g} dt {pr['dt']:g}")
    return "; ".join(parts)


def register(sub: argparse._SubParsersAction) -> None:
    from fem.pde import pde_names
    from pihamno.data.initial_conditions import FAMILIES

    p = sub.add_parser(
        "generate",
        help="solve a registered PDE (AC, CH, SH, a plugin's) from random initial conditions and write an HDF5 dataset "
        "(resumable)",
        description="Generate reference data: initial conditions of a named family, the stabilised IMEX finite-element "
        "scheme of fem.schemes solved to --rtol, frames sampled on the n^3 node grid, written to an HDF5 file. "
        f"Unset PDE parameters take the PDE's preset, the HAMNO paper's values ({_presets()}). An interrupted "
        "run leaves OUT.partial; the same command resumes it.",
    )
    p.add_argument("--pde", required=True, help=f"the PDE: {', '.join(pde_names())} (any registered fem.pde.PDE; "
                   "a plugin's: pihamno --plugin FILE generate ..., docs/plugins.md)")
    p.add_argument("--n", type=int, default=32, help="grid nodes per side (default 32)")
    p.add_argument("--L", type=float, default=None, help="cube side (default: the PDE's)")
    p.add_argument("--eps", type=float, default=None, help="interface/bifurcation parameter (default: the PDE's)")
    p.add_argument("--dt", type=float, default=None, help="time between saved frames (default: the PDE's)")
    p.add_argument("--frames", type=int, default=101, help="saved frames per trajectory incl. the initial one (default 101)")
    p.add_argument("--substeps", type=int, default=1, help="scheme steps per frame (default 1: frames satisfy the scheme exactly)")
    p.add_argument("--S", type=float, default=None, help="stabilisation constant (default: per PDE, see fem.schemes)")
    p.add_argument("--mass", choices=MASS_KINDS, default="lumped", help="mass of the time derivative (default lumped)")
    p.add_argument("--trajectories", type=int, default=1, help="number of trajectories (default 1)")
    p.add_argument("--ic", default=None, metavar="FAMILY",
                   help=f"initial-condition family: {', '.join(FAMILIES)} (default: the PDE's own)")
    p.add_argument("--ic-param", action="append", default=[], metavar="KEY=VALUE", help="family parameter, repeatable")
    p.add_argument("--seed", type=int, default=0, help="trajectory i uses the generator seeded by (seed, i) (default 0)")
    mesh = p.add_mutually_exclusive_group()
    mesh.add_argument("--split", choices=SPLITS, default="kuhn", help="structured mesh of the grid (default kuhn)")
    mesh.add_argument("--mesh", default=None, metavar="FILE", help="tetrahedral mesh file of the cube instead (meshio)")
    p.add_argument("--element", choices=ELEMENTS, default="P1", help="Lagrange element (default P1)")
    p.add_argument("--rtol", type=float, default=1e-10, help="solver tolerance on the relative step residual (default 1e-10)")
    p.add_argument("--preconditioner", choices=PRECONDITIONERS, default="auto", help="CG preconditioner (default auto)")
    p.add_argument("--workers", type=int, default=1, help="processes computing trajectories (default 1)")
    p.add_argument("--backend", choices=("auto", "serial", "processes", "dask"), default="auto",
                   help="where trajectories are computed: auto (default: dask with --scheduler, or with --workers > 1 "
                   "when dask.distributed is installed, else a process pool), serial, processes (a local pool), dask "
                   "(a LocalCluster of --workers processes, or --scheduler); see docs/scaling.md")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask cluster: tcp://HOST:PORT or a scheduler file (*.json); this process "
                   "still writes OUT (pip install 'pihamno[distributed]')")
    p.add_argument("--retries", type=int, default=2, help="dask: retries of a failed trajectory (default 2)")
    p.add_argument("--device", default=None, metavar="DEV",
                   help="run the torch solver on DEV (cuda, cuda:N or cpu), --batch trajectories at a time, in one "
                   "process; frames agree with the default numpy solver to the solver tolerance (default: numpy)")
    p.add_argument("--batch", type=int, default=8, help="trajectories solved together with --device (default 8)")
    p.add_argument("--out", required=True, metavar="PATH", help="output HDF5 file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output (and a mismatching partial file)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from fem.schemes import preset
    from pihamno.data.dataset import generate
    from pihamno.data.initial_conditions import parse_param
    from pihamno.data.spec import DatasetSpec

    pde = str(args.pde).lower()
    params = preset(pde, eps=args.eps, L=args.L, dt=args.dt, substeps=args.substeps, S=args.S, mass=args.mass)
    if params.S * params.tau > 1.0:
        import sys

        print(
            f"pihamno generate: warning: the stabilisation S = {params.S:g} exceeds 1/tau = {1 / params.tau:g}; the "
            f"scheme then moves like a step of about {1 / (1 / params.tau + params.S):.3g} per step, so frames lag "
            "the dynamics they are labelled with (energy stays stable). Use a smaller --dt or more --substeps.",
            file=sys.stderr,
        )
    overrides = dict(parse_param(t) for t in args.ic_param)
    spec = DatasetSpec(
        params=params, n=args.n, frames=args.frames, trajectories=args.trajectories, ic_family=args.ic,
        ic_params=overrides, seed=args.seed, split=args.split, mesh_file=args.mesh, element=args.element,
        rtol=args.rtol, preconditioner=args.preconditioner,
    )
    device = None
    if args.device is not None:
        from pihamno.device import resolve_device

        device = resolve_device(args.device)
    t0 = time.perf_counter()
    out = generate(spec, args.out, workers=args.workers, overwrite=args.overwrite, progress=not args.quiet,
                   backend=args.backend, scheduler=args.scheduler, retries=args.retries, device=device, batch=args.batch)
    where = spec.mesh_choice.describe()
    print(
        f"wrote {out}: {spec.trajectories} x {spec.frames} frames of {spec.n}^3 ({pde}, eps={params.eps:g}, L={params.L:g}, "
        f"dt={params.dt:g}, substeps={params.substeps}, S={params.S:g}, {where}, {spec.element}, ic={spec.ic_family}) "
        f"in {time.perf_counter() - t0:.1f} s{'' if device is None else f' (torch solver on {device})'}"
    )
    return 0
