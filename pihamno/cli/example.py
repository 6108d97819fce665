"""``pihamno example PDE``: the examples' whole pipeline for any registered PDE, with the PDE's own settings."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from fem.pde import pde_names

    p = sub.add_parser(
        "example",
        help="the whole pipeline for any registered PDE: data, check-data, HAMNO and PI-HAMNO, rollouts, ParaView, PNGs",
        description="Run the recipe of the example scripts (examples/*.py, pihamno.workflows.recipe) for PDE with the "
        "PDE object's own settings (its preset eps, L and dt, its default initial conditions), 41 frames at n = 16: "
        "reference data checked with check-data, HAMNO (lambda 0) and PI-HAMNO (lambda 0.25) trained from the shipped "
        "config PDE_small, autoregressive rollouts of the held-out test trajectories, a ParaView export, PNGs and a "
        "summary table. 'pihamno example PDE --help' lists the flags (--smoke, --scale paper, --out, --split or "
        "--mesh, --element, --weak, ...). A plugin's PDE: pihamno --plugin FILE example PDE (docs/plugins.md).",
    )
    p.add_argument("pde", metavar="PDE", help=f"a registered PDE: {', '.join(pde_names())}")
    p.add_argument("flags", nargs=argparse.REMAINDER, metavar="FLAGS ...",
                   help="the example's flags ('pihamno example PDE --help' lists them)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pihamno.workflows import Example, run_example

    return run_example(Example(pde=args.pde), args.flags, prog=f"pihamno example {args.pde}")
