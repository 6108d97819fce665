"""``pihamno physical-tests``: physical tests with known answers on a checkpoint (or on the solver / persistence)."""

from __future__ import annotations

import argparse

MARKER, WHAT = "physical_tests.json", "earlier physical tests"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "physical-tests",
        help="physical tests with known answers on a checkpoint: AC shrinking sphere, energy decay, CH mass and "
        "coarsening, SH pattern wavelength",
        description="Let the reference solver make the given frames and the reference trajectory of test cases "
        "with known answers, roll the model out from those frames, and compare: the Allen-Cahn shrinking sphere "
        "(slope of R^2 against t; sharp-interface law -4; pass within 15% of the solver's at the same n and dt), "
        "energy decay from states of another initial-condition family (any PDE), Cahn-Hilliard mass and "
        "coarsening, the Swift-Hohenberg pattern wavelength. The PDE, its parameters, n, dt, the mesh and the "
        "number of frames are those of the checkpoint's training data (its run record), or of --data FILE. "
        "Prints a table (a model failing a test is a result: exit 0), writes physical_tests.json and one PNG per "
        "measured curve (model vs reference solver) to --out. docs/evaluation.md lists the tests and tolerances.",
    )
    p.add_argument("--checkpoint", help="checkpoint (best.pt or last.pt of a run)")
    p.add_argument("--baseline", choices=("solver", "persistence"),
                   help="score a baseline instead of a checkpoint: the reference solver itself, or persistence (the "
                   "last given frame held); needs --data")
    p.add_argument("--data", help="a dataset whose PDE, parameters, n, mesh and frames to use (default: the "
                   "checkpoint's training data; only its attributes are read)")
    p.add_argument("--frames", type=int, help="frames per test trajectory (default: the data's)")
    p.add_argument("--t-in", type=int, default=5, help="frames given to a baseline (a checkpoint uses its own T_in)")
    p.add_argument("--tests", help="comma-separated test names (default: every test for the PDE)")
    p.add_argument("--out", help="output folder (must not exist unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace earlier physical tests in --out")
    p.add_argument("--no-plots", action="store_true", help="write physical_tests.json only")
    p.add_argument("--device", default="auto", help="'auto' (cuda if present), 'cpu', 'cuda', 'cuda:N'")
    p.add_argument("--quiet", action="store_true", help="only the table")
    p.set_defaults(func=run)


def _setting_and_predictor(args):
    """``(setting, predictor, label)`` from the arguments (checks every input before any work)."""
    from pihamno.data import DataDescription, read_description
    from pihamno.errors import InputError
    from pihamno.evaluation import physical_tests as pt

    if bool(args.checkpoint) == bool(args.baseline):
        raise InputError("pihamno physical-tests needs --checkpoint CKPT or --baseline solver|persistence (one of them)")
    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be positive, got {args.frames}")
    if args.baseline:
        if not args.data:
            raise InputError(f"--baseline {args.baseline} needs --data FILE (whose PDE and grid to test)")
        if args.t_in < 1:
            raise InputError(f"--t-in must be positive, got {args.t_in}")
        setting = pt.Setting.for_data(read_description(args.data), args.t_in, args.frames)
        if args.baseline == "solver":
            return setting, pt.solver_predictor(setting), "reference solver"
        return setting, pt.persistence_predictor(), "persistence"
    from pihamno.device import resolve_device
    from pihamno.evaluation.trained import load_trained

    dev = resolve_device(args.device)
    trained = load_trained(args.checkpoint, dev)
    if args.data:
        data = read_description(args.data)
    else:
        meta = (trained.payload.get("data") or {}).get("meta")
        if not meta:
            raise InputError(f"checkpoint {args.checkpoint!r} records no training data; pass --data FILE")
        data = DataDescription.from_attrs(meta)
    setting = pt.Setting.for_data(data, trained.T_in, args.frames)
    lam = trained.lam
    label = f"{trained.name or 'model'}" + ("" if lam is None else f", lambda {lam:g}")  # kept whole in the plots
    return setting, pt.model_predictor(trained.model, trained.processor, dev), label


def run(args: argparse.Namespace) -> int:
    import logging

    from pihamno.errors import InputError
    from pihamno.evaluation import physical_tests as pt
    from pihamno.evaluation.report import write_json
    from pihamno.io import atomic_dir, check_output_dir

    if not args.out:
        raise InputError("pihamno physical-tests needs --out DIR")
    check_output_dir(args.out, args.overwrite, MARKER, WHAT)
    setting, predict, label = _setting_and_predictor(args)
    names = None if not args.tests else [t.strip() for t in args.tests.split(",") if t.strip()]
    pt.select_tests(setting.params.pde, names)  # an unknown name: refused before any work
    log = logging.getLogger("pihamno.physical_tests")
    if not args.quiet:
        log.info(f"physical tests of {label}: {setting.describe()}")
    report = pt.run_physical_tests(setting, predict, names, log=None if args.quiet else log.info)
    report |= {"model": label, "checkpoint": args.checkpoint, "baseline": args.baseline}
    with atomic_dir(args.out, args.overwrite, MARKER, WHAT) as tmp:
        write_json(tmp / MARKER, report)
        pngs = []
        if not args.no_plots:
            from pihamno.rendering.physical_tests import plot_physical_tests

            pngs = plot_physical_tests(report, tmp, label)
    print(pt.format_table(report, f"physical tests of {label}: {setting.describe()}"))
    print(f"wrote {args.out}/{MARKER}" + (f" and {len(pngs)} PNGs" if pngs else ""))
    return 0
