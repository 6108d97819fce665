"""``pihamno check-data``: check datasets against their own scheme (residual, mass, energy, metadata)."""

from __future__ import annotations

import argparse

from pihamno.choices import ELEMENTS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-data",
        help="check a dataset: discrete residual, mass drift, energy decay, NaN/Inf, metadata",
        description="Evaluate the scheme the data was generated with on its stored frames: the relative discrete "
        "residual of consecutive frames (at solver tolerance when substeps = 1), the mass drift (CH: round-off), "
        "the free-energy decay, finiteness, and the consistency of shape and attributes; where the physics loss cannot "
        "vanish on the frames (substeps > 1, --element other than the data's) its floor. Exit status 1 when a check fails.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="HDF5 dataset(s) written by 'pihamno generate'")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("--max-trajectories", type=int, default=None, metavar="K", help="check only the first K trajectories")
    p.add_argument("--element", choices=ELEMENTS, default=None,
                   help="also report the floor of the physics loss with these test functions on the data "
                   "(e.g. P2 on P1 data)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from pihamno.data.checks import check_dataset, format_report
    from pihamno.errors import InputError

    if args.max_trajectories is not None and args.max_trajectories < 1:
        raise InputError(f"--max-trajectories must be positive, got {args.max_trajectories}")
    reports = [check_dataset(f, args.max_trajectories, progress=not (args.quiet or args.json), loss_element=args.element)
               for f in args.files]
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2, default=str))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0 if all(r["ok"] for r in reports) else 1
