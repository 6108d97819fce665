"""``pihamno train``: train a model from a TOML config (see :mod:`pihamno.config.schema` and docs/training.md)."""

from __future__ import annotations

import argparse
import json

#: ``threads`` is the global ``pihamno --threads N`` (the verb's namespace holds it too)
SHORTCUTS = {"epochs": "optim.epochs", "device": "run.device", "out": "run.out", "data": "data.path", "seed": "run.seed",
             "threads": "run.threads"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train HAMNO / PI-HAMNO (or a baseline) on a dataset, from a TOML config",
        description="Train a neural operator on windows of T_in frames -> next frame, with the data loss, the "
        "physics losses or both ([physics] lam). Writes last.pt every epoch, best.pt on the best validation "
        "score, metrics.csv, config.toml and (if installed) TensorBoard events under run.out. "
        "Multi-GPU: torchrun --nproc_per_node=G -m pihamno train --config FILE.",
    )
    p.add_argument("--config", help="TOML config file, or the name of a shipped config, PDE_VARIANT for every registered "
                   "PDE (ac, ch, sh, a plugin's) and variant small, hamno, pihamno, physics_only, e.g. ac_pihamno; "
                   "composed from pihamno/configs/base.toml and pdes/PDE.toml; optional with --resume")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config key, value as a TOML literal (repeatable), e.g. --set optim.lr=1e-3")
    p.add_argument("--epochs", type=int, help="shortcut for --set optim.epochs=N")
    p.add_argument("--device", help="shortcut for --set run.device=... ('auto', 'cpu', 'cuda', 'cuda:N')")
    p.add_argument("--out", help="shortcut for --set run.out=DIR (the run folder)")
    p.add_argument("--data", help="shortcut for --set data.path=FILE")
    p.add_argument("--seed", type=int, help="shortcut for --set run.seed=N")
    p.add_argument("--resume", nargs="?", const="auto", metavar="CKPT_OR_DIR",
                   help="continue a run exactly from its last.pt (default: RUN_OUT/last.pt); from any folder: "
                   "without --config the run continues in its own folder, on its own data (found from the run record)")
    p.add_argument("--auto-resume", action="store_true",
                   help="continue RUN_OUT/last.pt when it exists (same settings), else start: the same command then "
                   "both starts and continues a run (e.g. under torchrun --max-restarts or a requeued batch job)")
    p.add_argument("--overwrite", action="store_true", help="start a fresh run in a folder that already holds one")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no notes; only the result line")
    p.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> list[str]:
    out = list(args.overrides)
    for flag, key in SHORTCUTS.items():
        value = getattr(args, flag, None)
        if value is not None:
            out.append(f"{key}={json.dumps(value)}")  # a JSON string is a TOML basic string
    return out


def run(args: argparse.Namespace) -> int:
    import os
    import sys
    from pathlib import Path

    from pihamno.config.shipped import config_from_argument, data_recipe
    from pihamno.errors import InputError, TrainingDiverged, input_file
    from pihamno.training.distributed import init_distributed, shutdown
    from pihamno.training.run import config_for_resume, resolve_checkpoint, train

    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {args.seed}")
    overrides = _overrides(args)
    resume = "never"
    if args.auto_resume and (args.resume is not None or args.overwrite):
        raise InputError("--auto-resume decides by itself whether to continue; drop --resume / --overwrite")
    if args.auto_resume:
        if args.config is None:
            raise InputError("--auto-resume needs --config (the run to start or continue)")
        cfg, resume = config_from_argument(args.config, overrides), "auto"
    elif args.resume is not None:
        if args.config is None and args.resume == "auto" and args.out is None:
            raise InputError("--resume without a checkpoint needs --config or --out to find RUN_OUT/last.pt")
        if args.resume == "auto":
            out = args.out if args.out is not None else config_from_argument(args.config, overrides).run.out
            resume = resolve_checkpoint(out)
        else:
            resume = resolve_checkpoint(args.resume)
        if args.config is None:  # the run's own config, folder and data, wherever this command runs
            cfg = config_for_resume(resume, overrides)
        else:
            cfg = config_from_argument(args.config, overrides)
    elif args.config is None:
        raise InputError("pihamno train needs --config FILE.toml or a shipped config name (or --resume RUN_DIR)")
    else:
        cfg = config_from_argument(args.config, overrides)

    if args.config is not None:  # the data file, before anything is printed or made
        try:
            input_file(cfg.data.path, "dataset")
        except InputError as exc:
            recipe = None if os.path.lexists(cfg.data.path) else data_recipe(args.config, cfg.data.path)
            raise InputError(f"{exc}; make it first with: {recipe}" if recipe else str(exc)) from None
    env = init_distributed(cfg.run.device)
    try:
        if env.is_main and not args.quiet:
            state = {"never": "starting", "auto": "starting or continuing"}.get(str(resume), f"resuming {resume}")
            print(f"pihamno train: {state}; {cfg.model.name} on {env.device} (x{env.world}), out {cfg.run.out}, "
                  f"data {cfg.data.path}", file=sys.stderr)
            if cfg.data.path and Path(cfg.data.path).is_file():
                from pihamno.config import describe_physics
                from pihamno.data import read_description

                print(f"pihamno train: {describe_physics(cfg, read_description(cfg.data.path))}", file=sys.stderr)
        result = train(cfg, resume=resume, overwrite=args.overwrite, env=env, quiet=args.quiet)
    except TrainingDiverged as exc:
        if env.is_main:
            print(f"pihamno: error: {exc}", file=sys.stderr)
        return 3
    finally:
        shutdown(env)
    if env.is_main:
        best = result.best
        best_txt = f"best val {best['score']:.4g} at epoch {best['epoch']}" if best["epoch"] > 0 else "no validation"
        loss = result.last.get("loss")
        loss_txt = f", last epoch's loss {loss:.4g}" if loss is not None else ""
        if result.status == "reused":
            print(f"pihamno train: nothing to train, the run already finished {result.epoch} of optim.epochs = "
                  f"{cfg.optim.epochs} epochs ({result.step} steps{loss_txt}, {best_txt}); pass --epochs N "
                  f"(more than {result.epoch}) to train further; checkpoints in {result.out}")
        else:
            print(f"pihamno train: done, {result.epoch} epochs / {result.step} steps{loss_txt}, {best_txt}; "
                  f"checkpoints in {result.out}")
    return 0
