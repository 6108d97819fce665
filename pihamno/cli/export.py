"""``pihamno export``: a rollout or dataset trajectory as a ParaView time series (.pvd + .vti/.vtu)."""

from __future__ import annotations

import argparse

from pihamno.choices import SPLITS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write one trajectory as a ParaView time series (.pvd of .vti or .vtu files)",
        description="Write the reference, prediction and error (prediction - reference) of one rollout "
        "trajectory -- or the field u of one dataset trajectory -- as a ParaView time series: OUT/<name>.pvd "
        "listing one VTK file per frame at its physical time frame * dt. On the grid (default) the files are "
        "image data (.vti, spacing h = L/(n-1)); on a mesh they are unstructured grids (.vtu): the structured "
        "--split of the same nodes, or any tetrahedral mesh of the cube (--mesh FILE), with the values "
        "interpolated trilinearly at its nodes. The folder is written atomically.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--rollout", metavar="FILE", help="rollout file written by 'pihamno evaluate'")
    src.add_argument("--data", metavar="FILE", help="dataset HDF5 file with u (trajectories, frames, n, n, n)")
    p.add_argument("--trajectory", type=int, default=0, metavar="K", help="trajectory index in the file (default 0)")
    p.add_argument("--frames", default="all",
                   help="frames to write: 'all' (default), a list '0,5,10', a slice '0:101:10' (stop exclusive) or a mix '0:10,50'")
    p.add_argument("--on", choices=["grid", "mesh"], default=None,
                   help="write on the node grid (.vti, default) or on a tetrahedral mesh (.vtu)")
    p.add_argument("--split", choices=SPLITS, default=None,
                   help="with --on mesh: split of each grid cell into tetrahedra (default kuhn)")
    p.add_argument("--mesh", metavar="FILE", default=None,
                   help="write on this tetrahedral mesh of the cube (read with meshio; implies --on mesh)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (must not exist unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder of an earlier export")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fem.mesh import MeshChoice
    from pihamno.errors import InputError
    from pihamno.export import dataset_series, export_series, mesh_target, rollout_series

    on = args.on or ("mesh" if args.mesh or args.split else "grid")
    if on == "grid" and (args.mesh or args.split):
        raise InputError("--mesh and --split apply to --on mesh, not --on grid")
    if args.mesh and args.split:
        raise InputError("give either --split (a structured mesh of the grid) or --mesh FILE, not both")
    if args.rollout:
        series, stem = rollout_series(args.rollout, args.trajectory, args.frames), "rollout"
    else:
        series, stem = dataset_series(args.data, args.trajectory, args.frames), "data"
    target = None if on == "grid" else mesh_target(series.n, series.L, MeshChoice(split=args.split, file=args.mesh))
    pvd = export_series(series, args.out, target=target, stem=stem, overwrite=args.overwrite, progress=not args.quiet)
    where = f"the {series.n}^3 grid (h = {series.spacing:.4g})" if target is None else target.description
    print(f"wrote {len(series.frames)} frames of {series.description} "
          f"({', '.join(series.fields)}) on {where}, t = {series.times[0]:.4g} .. {series.times[-1]:.4g}")
    print(f"open in ParaView: {pvd}")
    return 0
