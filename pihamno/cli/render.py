"""``pihamno render``: PNG pictures of a rollout (interfaces in 3D, central slices, error/energy/mass curves)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render",
        help="render PNGs of a rollout: u = 0 interfaces, central slices, error/energy/mass curves",
        description="Render one trajectory of a rollout file off-screen (no display needed; VTK uses Mesa EGL) "
        "into OUT/trajK_<what>.png: 'interfaces' -- the u = 0 isosurfaces, reference beside prediction, the "
        "prediction coloured by |prediction - reference|, one row per chosen frame; 'slices' -- contour plots "
        "of the central slice z = L/2 (reference, prediction, |error|); 'curves' -- relative L2 error vs time, "
        "and free energy and mass vs time when the rollout file has them.",
    )
    p.add_argument("--rollout", required=True, metavar="FILE", help="rollout file written by 'pihamno evaluate'")
    p.add_argument("--trajectory", type=int, default=0, metavar="K", help="trajectory index in the file (default 0)")
    p.add_argument("--frames", default=None,
                   help="frames for interfaces/slices, one row each: a list '0,50,100' or a slice '0:101:25' "
                   "(default: first, middle and last frame; at most 8)")
    p.add_argument("--what", default="interfaces,slices,curves",
                   help="comma-separated pictures to make (default interfaces,slices,curves)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if needed)")
    p.add_argument("--overwrite", action="store_true", help="replace existing PNGs of the same names")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pihamno.evaluation.rollout_io import read_rollout
    from pihamno.rendering import parse_what, render_rollout

    what = parse_what(args.what)
    rollout = read_rollout(args.rollout)
    render_rollout(rollout, args.out, trajectory=args.trajectory, frames=args.frames, what=what,
                   overwrite=args.overwrite, log=print)  # the files written: this verb's output
    return 0
