"""``pihamno evaluate``: autoregressive rollouts of a checkpoint on a dataset, or the aggregate of several runs."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="roll a checkpoint out over whole trajectories and score it (or aggregate several evaluations)",
        description="Give the first T_in frames of each trajectory, predict the rest autoregressively, and write "
        "rollout.h5 (fields + rel-L2/energy/mass curves), metrics.json (statistics over trajectories) and "
        "per_frame.csv to the folder --out (written atomically; an existing one is refused without --overwrite). "
        "By default the checkpoint's own held-out test trajectories of its training data are scored (the data "
        "file is found from the run record, from any folder); another dataset is scored whole, and refused when "
        "its PDE, eps, L, dt, n or mesh differ from the training data's (--allow-mismatch for deliberate "
        "transfer). Trajectories seen in training are scored only with --include-training, and the output says "
        "what was scored. With --aggregate DIR ..., combine the metrics of several evaluations (seeds) into "
        "aggregate.json / aggregate_per_frame.csv (mean, std, coefficient of variation).",
    )
    p.add_argument("--checkpoint", help="checkpoint (best.pt or last.pt of a run), or a run folder (its best.pt, else last.pt)")
    p.add_argument("--data", help="HDF5 dataset to evaluate on (default: the checkpoint's training data; any file "
                   "works: an out-of-distribution set, a finer grid with --allow-mismatch, ...)")
    p.add_argument("--trajectories", default=None,
                   help="'test' (the checkpoint's test split; the default on its training data), 'all' (the default "
                   "on another file), 'val', 'train', or a selection like '0,3,10:20' (indices and start:stop slices)")
    p.add_argument("--include-training", action="store_true",
                   help="allow scoring trajectories of the training or validation split (labelled in the output)")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="evaluate on data whose PDE, eps, L, dt, n or mesh differ from the training data's "
                   "(recorded in metrics.json)")
    p.add_argument("--out", help="output folder (must not exist unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier evaluation in --out")
    p.add_argument("--device", default="auto", help="'auto' (cuda if present), 'cpu', 'cuda', 'cuda:N'")
    p.add_argument("--batch-size", type=int, default=8, help="trajectories rolled out together (default 8)")
    p.add_argument("--guard", default="on", metavar="SPEC",
                   help="also roll out through the rollout guard and report it beside the raw model (whose numbers "
                   "stay the headline): 'on' (the default: energy and bound checks), 'off' (the raw rollout only), "
                   "or a comma list of energy, bound, residual=TOL. A guarded step that raises the free energy "
                   "beyond round-off, leaves the bound (AC: clipped to |u| <= 1; CH, SH: the stability bound U) or "
                   "whose residual indicator exceeds TOL is replaced by the reference solver's step; metrics.json "
                   "records the settings and the replaced steps per trajectory under 'guard'")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no notes; only the results")
    p.add_argument("--aggregate", nargs="+", metavar="DIR", help="evaluation folders to combine instead")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pihamno.errors import InputError

    if not args.out:
        raise InputError("pihamno evaluate needs --out DIR")
    if args.aggregate:
        from pihamno.evaluation.aggregate import aggregate

        if (Path(args.out) / "aggregate.json").exists() and not args.overwrite:
            raise InputError(f"output {str(Path(args.out) / 'aggregate.json')!r} already exists; pass --overwrite "
                             "to replace it")
        result = aggregate(args.aggregate, args.out)
        for key in ("rollout.rel_l2_final.mean", "rollout.rel_l2_mean.mean", "one_step.rel_l2_mean.mean"):
            if key in result["metrics"]:
                m = result["metrics"][key]
                cv = "-" if m["cv"] is None else f"{m['cv']:.3g}"
                print(f"{key}: mean {m['mean']:.4g}, std {m['std']:.3g}, cv {cv} over {result['count']} runs")
        print(f"wrote {args.out}/aggregate.json")
        return 0
    if not args.checkpoint:
        raise InputError("pihamno evaluate needs --checkpoint CKPT (and optionally --data FILE), or --aggregate DIR ...")
    from pihamno.evaluation import evaluate_checkpoint
    from pihamno.stepping.guard import GuardSettings

    guard = GuardSettings.parse(args.guard)
    m = evaluate_checkpoint(args.checkpoint, args.data, args.out, args.trajectories, args.device, args.batch_size,
                            args.quiet, overwrite=args.overwrite, allow_mismatch=args.allow_mismatch,
                            include_training=args.include_training, guard=guard)
    r = m["rollout"]
    print(f"scored {m['scored']['text']}; {m['frames']} frames, {m['n_given']} given")
    if m["data_check"]["mismatch"]:
        print(f"note: the data do not fit the training data ({'; '.join(m['data_check']['mismatch'])}); "
              "evaluated with --allow-mismatch")
    print(f"rollout rel-L2: mean over frames {r['rel_l2_mean']['mean']:.4g} "
          f"(median {r['rel_l2_mean']['median']:.4g}), last frame {r['rel_l2_final']['mean']:.4g}")
    print(f"one-step rel-L2: {m['one_step']['rel_l2_mean']['mean']:.4g}")
    if "persistence" in m:
        print(f"persistence (the last given frame held) rel-L2: mean over frames "
              f"{m['persistence']['rel_l2_mean']['mean']:.4g}, last frame {m['persistence']['rel_l2_final']['mean']:.4g}")
    for line in physics_lines(m):
        print(line)
    if "guard" in m:
        g = m["guard"]
        replaced, steps = sum(g["counts"]["replaced"]), sum(g["counts"]["steps"])
        print(f"guarded ({guard.describe()}): {replaced} of {steps} steps replaced by the reference solver "
              f"({g['replaced_fraction']['mean']:.1%} per trajectory on average); rollout rel-L2 last frame "
              f"{g['rollout']['rel_l2_final']['mean']:.4g}; rollout time {g['seconds']['guarded']:.3g} s against "
              f"{g['seconds']['raw']:.3g} s raw")
    print(f"wrote {args.out}/rollout.h5, metrics.json, per_frame.csv")


def physics_lines(m: dict) -> list[str]:
    """The physical metrics of an evaluation in words, model against reference (means over trajectories)."""
    lines = []
    if "energy" in m:
        e = m["energy"]
        lines.append(f"free-energy rises per trajectory: pred {e['increase_count_pred']['mean']:.3g} (largest "
                     f"{e['increase_max_rel_pred']['max']:.2g} relative), ref {e['increase_count_ref']['mean']:.3g}")
    if "mass" in m:
        lines.append(f"mass drift at last frame: pred {m['mass']['drift_final_pred']['mean']:.3g}, "
                     f"ref {m['mass']['drift_final_ref']['mean']:.3g}")
    if "bounds" in m:
        b = m["bounds"]
        B, U = b["maximum_principle"], b["stability_bound"]
        text = f"max|u| over the predicted frames: pred {b['max_abs_pred']['max']:.4g}, ref {b['max_abs_ref']['max']:.4g}"
        text += f"; maximum principle |u| <= {B:g}" if B is not None else "; no maximum principle"
        if U is not None:
            text += f"; energy-stability bound U = {U:.3g}"
        lines.append(text)
    if "indicator" in m:
        i = m["indicator"]
        lines.append(f"residual indicator of the predicted steps (0: the scheme's step, 1: standing still): pred mean "
                     f"{i['mean_pred']['mean']:.3g}, max {i['max_pred']['max']:.3g}, above 1 in "
                     f"{i['above_one_pred']['mean']:.0%} of steps; ref mean {i['mean_ref']['mean']:.2g}")
    return lines
    return 0
