"""``pihamno render``: PNG pictures of a rollout (interfaces in 3D, central slices, error/energy/mass curves) and of
a run's training curves."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render",
        help="render PNGs of a rollout (u = 0 interfaces, central slices, error/energy/mass curves) and training curves",
        description="Render one trajectory of a rollout off-screen (no display needed; VTK uses Mesa EGL) "
        "into OUT/trajK_<what>.png: 'interfaces' -- the u = 0 isosurfaces, reference beside prediction, the "
        "prediction coloured by |prediction - reference|, one row per chosen frame, with an x/y/z marker; "
        "'slices' -- contour plots of the central slice z = L/2 (reference, prediction, |error|); 'curves' -- "
        "relative L2 error vs time, and free energy and mass vs time when the rollout file has them; 'training' "
        "-- OUT/training_curves.png, the loss and each of its terms and the validation rel-L2 per epoch, from "
        "the metrics.csv of the run the rollout was made from (or of --run). Pictures name the model and its "
        "lambda; frames given to the model are titled 'given input'. With --run alone, only the training curves.",
    )
    p.add_argument("--rollout", metavar="FILE", help="rollout file written by 'pihamno evaluate'")
    p.add_argument("--run", metavar="DIR", help="a training run folder (or its metrics.csv) for the training curves "
                   "(default: the run of the rollout's checkpoint)")
    p.add_argument("--trajectory", type=int, default=0, metavar="K", help="trajectory index in the file (default 0)")
    p.add_argument("--frames", default=None,
                   help="frames for interfaces/slices, one row each: a list '0,50,100' or a slice '0:101:25' "
                   "(default: first, middle and last frame; at most 8)")
    p.add_argument("--what", default="interfaces,slices,curves,training",
                   help="comma-separated pictures to make (default interfaces,slices,curves,training)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if needed)")
    p.add_argument("--overwrite", action="store_true", help="replace existing PNGs of the same names")
    p.add_argument("--quiet", action="store_true", help="no list of the files written, no notes")
    p.set_defaults(func=run)


def _training_log(run: str):
    """``(metrics.csv, model label)`` of a run folder (or of a metrics.csv beside its config.toml)."""
    from pathlib import Path

    from pihamno.rendering.render import model_label

    path = Path(run)
    csv = path / "metrics.csv" if path.is_dir() else path
    label = ""
    config = csv.parent / "config.toml"
    if config.is_file():
        from pihamno.config import load_config

        cfg = load_config(config)
        label = model_label({"model": cfg.model.name, "lam": cfg.physics.lam})
    return csv, label


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pihamno.errors import InputError
    from pihamno.rendering import parse_what, render_rollout

    log = (lambda s: None) if args.quiet else print  # the files written: this verb's output
    what = parse_what(args.what)
    metrics, label = _training_log(args.run) if args.run else (None, None)
    if args.rollout:
        from pihamno.evaluation.rollout_io import read_rollout

        rollout = read_rollout(args.rollout)
        render_rollout(rollout, args.out, trajectory=args.trajectory, frames=args.frames, what=what,
                       overwrite=args.overwrite, log=log, metrics=metrics, label=label or None)
        return 0
    if not args.run:
        raise InputError("pihamno render needs --rollout FILE (pictures of a rollout) or --run DIR (training curves)")
    from pihamno.rendering.training import plot_training

    target = Path(args.out) / "training_curves.png"
    if target.exists() and not args.overwrite:
        raise InputError(f"output {str(target)!r} already exists; pass --overwrite to replace it")
    log(f"wrote {plot_training(metrics, target, label=label, overwrite=args.overwrite)}")
    return 0
