"""``pihamno evaluate``: autoregressive rollouts of a checkpoint on a dataset, or the aggregate of several runs."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="roll a checkpoint out over whole trajectories and score it (or aggregate several evaluations)",
        description="Give the first T_in frames of each trajectory, predict the rest autoregressively, and write "
        "rollout.h5 (fields + rel-L2/energy/mass curves), metrics.json (statistics over trajectories) and "
        "per_frame.csv to --out. With --aggregate DIR ..., combine the metrics of several evaluations "
        "(seeds) into aggregate.json / aggregate_per_frame.csv (mean, std, coefficient of variation).",
    )
    p.add_argument("--checkpoint", help="checkpoint (best.pt or last.pt of a run)")
    p.add_argument("--data", help="HDF5 dataset to evaluate on (any file: the training one, an OOD set, ...)")
    p.add_argument("--trajectories", default=None,
                   help="'test' (the checkpoint's test split; default on its training file), 'all' (default on "
                   "another file) or a selection like '0,3,10:20' (indices and start:stop slices)")
    p.add_argument("--out", help="output folder")
    p.add_argument("--device", default="auto", help="'auto' (cuda if present), 'cpu', 'cuda', 'cuda:N'")
    p.add_argument("--batch-size", type=int, default=8, help="trajectories rolled out together (default 8)")
    p.add_argument("--aggregate", nargs="+", metavar="DIR", help="evaluation folders to combine instead")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pihamno.errors import InputError

    if not args.out:
        raise InputError("pihamno evaluate needs --out DIR")
    if args.aggregate:
        from pihamno.evaluation.aggregate import aggregate

        result = aggregate(args.aggregate, args.out)
        for key in ("rollout.rel_l2_final.mean", "rollout.rel_l2_mean.mean", "one_step.rel_l2_mean.mean"):
            if key in result["metrics"]:
                m = result["metrics"][key]
                cv = "-" if m["cv"] is None else f"{m['cv']:.3g}"
                print(f"{key}: mean {m['mean']:.4g}, std {m['std']:.3g}, cv {cv} over {result['count']} runs")
        print(f"wrote {args.out}/aggregate.json")
        return 0
    if not args.checkpoint or not args.data:
        raise InputError("pihamno evaluate needs --checkpoint CKPT and --data FILE (or --aggregate DIR ...)")
    from pihamno.config import evaluate_checkpoint

    m = evaluate_checkpoint(args.checkpoint, args.data, args.out, args.trajectories, args.device, args.batch_size)
    r = m["rollout"]
    print(f"{len(m['trajectories'])} trajectories ({m['selection']}), {m['frames']} frames, {m['n_given']} given")
    print(f"rollout rel-L2: mean over frames {r['rel_l2_mean']['mean']:.4g} "
          f"(median {r['rel_l2_mean']['median']:.4g}), last frame {r['rel_l2_final']['mean']:.4g}")
    print(f"one-step rel-L2: {m['one_step']['rel_l2_mean']['mean']:.4g}")
    if "mass" in m:
        print(f"mass drift at last frame: pred {m['mass']['drift_final_pred']['mean']:.3g}, "
              f"ref {m['mass']['drift_final_ref']['mean']:.3g}")
    print(f"wrote {args.out}/rollout.h5, metrics.json, per_frame.csv")
    return 0
