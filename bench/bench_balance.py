"""The physics share of the objective and of the gradient, measured over small training runs per PDE.

    python bench/bench_balance.py                        # AC, CH, SH at n = 16, lambda 0.25, balanced
    python bench/bench_balance.py --balance none --weights 0.02 0.02   # the raw objective, for comparison
    python bench/bench_balance.py --pde ch --steps 400 --unroll 2

For each PDE: a tiny dataset made on the fly (``pihamno.data.generate``: the PDE's preset parameters, n = 16,
21 frames, 10 trajectories), then a small HAMNO (width 4, modes 4, one level; the ``*_small`` configs'
model) trained for ``--steps`` optimiser steps at ``--lam`` through :func:`pihamno.training.train`, logging
every ``--log-every`` steps. Printed per PDE, averaged over all logged steps of the run (``steps.csv``):

* ``objective``: the physics share of the objective, ``lam (w_s Lhat_s + w_w Lhat_w) / loss``;
* ``gradient``: the physics share of the gradient, ``|g_phys| / (|g_data| + |g_phys|)`` (parameter
  gradients of the two parts of the objective, before clipping);
* ``cos``: the mean cosine between the data and physics gradients;
* the raw terms at the start and the end (first and last logged step).

``--unroll-cost`` instead measures what ``[physics] unroll = k`` costs per step (AC data, the same model,
batch 4): forward + backward time of the objective (fastest of 7, measured round robin) and the bytes autograd saves for the backward
(``torch.autograd.graph.saved_tensors_hooks``), as ratios to k = 0, for ``unroll_detach`` true and false.

Floor (issue 9): at lambda = 0.25 both shares lie in [0.15, 0.35] for every PDE. ``--threads 1`` (default)
keeps it reproducible on a shared machine; the run takes about a minute per PDE there.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

import torch

SMALL_MODEL = {"name": "hamno", "width": 4, "modes": 4, "n_layers": 1, "expansion": 2, "width_q": 8}
#: learning rates of the shipped *_small configs
LR = {"ac": 1e-2, "ch": 2e-3, "sh": 2e-3}


def make_data(pde: str, folder: Path, n: int, trajectories: int, frames: int, seed: int) -> Path:
    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate

    return generate(DatasetSpec(params=preset(pde), n=n, frames=frames, trajectories=trajectories, seed=seed),
                    folder / f"{pde}.h5", progress=False)


def run(pde: str, folder: Path, args) -> dict:
    from pihamno.config import TrainConfig
    from pihamno.training import train

    data = make_data(pde, folder, args.n, args.trajectories, args.frames, args.seed)
    steps_per_epoch = args.log_every * 4
    epochs = max(1, round(args.steps / steps_per_epoch))
    physics = {"lam": args.lam, "w_strong": args.weights[0], "w_weak": args.weights[1], "balance": args.balance,
               "unroll": args.unroll}
    if args.beta is not None:
        physics["balance_beta"] = args.beta
    cfg = TrainConfig.model_validate({
        "data": {"path": str(data), "n_train": args.trajectories - 2, "n_val": 0, "n_test": 2},
        "model": SMALL_MODEL,
        "optim": {"lr": args.lr or LR[pde], "epochs": epochs, "steps_per_epoch": steps_per_epoch, "batch_size": 4},
        "physics": physics,
        "run": {"out": str(folder / f"run_{pde}"), "device": "cpu", "tensorboard": False, "log_every": args.log_every,
                "seed": args.seed},
    })
    t0 = time.perf_counter()
    train(cfg, overwrite=True, quiet=True)
    seconds = time.perf_counter() - t0
    rows = list(csv.DictReader(open(folder / f"run_{pde}" / "steps.csv")))
    mean = lambda k: statistics.fmean(float(r[k]) for r in rows if r[k] != "")  # noqa: E731
    return {"pde": pde, "steps": epochs * steps_per_epoch, "logged": len(rows), "objective": mean("share_physics"),
            "gradient": mean("grad_share"), "cos": mean("grad_cos"), "first": rows[0], "last": rows[-1],
            "seconds": seconds}


def unroll_cost(folder: Path, args) -> None:
    from pihamno.config import TrainConfig
    from pihamno.training import build_trainer
    from pihamno.training.windows import gather_windows

    data = make_data("ac", folder, args.n, args.trajectories, args.frames, args.seed)
    cases = [(0, True)] + [(k, d) for k in (1, 2, 4) for d in (True, False)]
    runs = {}
    for k, detach in cases:
        cfg = TrainConfig.model_validate({
            "data": {"path": str(data), "n_train": args.trajectories - 2, "n_val": 0, "n_test": 2},
            "model": SMALL_MODEL, "optim": {"batch_size": 4},
            "physics": {"lam": 0.25, "unroll": k, "unroll_detach": detach},
            "run": {"out": str(folder / "cost"), "device": "cpu", "tensorboard": False}})
        tr = build_trainer(cfg, quiet=True)
        traj, start = tr.sampler.draw(4)
        runs[k, detach] = (tr, gather_windows(tr.train_trajs, traj, start, tr.span))

    def step(case):
        tr, win = runs[case]
        tr.model.zero_grad()
        tr.loss_on(win)[0].backward()

    memory = {}
    for case in cases:
        saved = []

        def pack(t, saved=saved):
            saved.append(t.numel() * t.element_size() if t.layout == torch.strided else 0)
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            step(case)
        memory[case] = sum(saved)
    times = {case: [] for case in cases}
    for _ in range(7):  # round robin, the fastest of 7: every case sees the same load of a shared machine
        for case in cases:
            t0 = time.perf_counter()
            step(case)
            times[case].append(time.perf_counter() - t0)
    base_t, base_m = min(times[0, True]), memory[0, True]
    print(f"unroll cost (AC, n = {args.n}, batch 4, small HAMNO, {args.threads} thread(s)); k = 0: "
          f"{base_t * 1e3:.0f} ms, {base_m / 2**20:.1f} MiB saved for backward")
    print(f"{'k':>2} {'detach':>6} {'time':>6} {'memory':>7}")
    for k, detach in cases[1:]:
        print(f"{k:>2} {str(detach).lower():>6} {min(times[k, detach]) / base_t:>5.2f}x "
              f"{memory[k, detach] / base_m:>6.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pde", nargs="+", default=["ac", "ch", "sh"], choices=["ac", "ch", "sh"])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lam", type=float, default=0.25)
    ap.add_argument("--weights", type=float, nargs=2, default=None, metavar=("W_STRONG", "W_WEAK"),
                    help="default: the shipped configs' (AC, SH 0.5/0.5; CH 1/3, 2/3)")
    ap.add_argument("--balance", default="running_mean", choices=["running_mean", "none"])
    ap.add_argument("--beta", type=float, default=None, help="balance_beta (default: the config default)")
    ap.add_argument("--unroll", type=int, default=0)
    ap.add_argument("--lr", type=float, default=None, help="default: the shipped *_small configs' per PDE")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--frames", type=int, default=21)
    ap.add_argument("--trajectories", type=int, default=10)
    ap.add_argument("--log-every", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", default=None, help="folder to keep the data and runs in (default: a temporary one)")
    ap.add_argument("--unroll-cost", action="store_true", help="measure the cost of [physics] unroll instead")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.unroll_cost:
        with tempfile.TemporaryDirectory() as tmp:
            unroll_cost(Path(args.keep or tmp), args)
        return 0
    shipped = {"ac": (0.5, 0.5), "ch": (1 / 3, 2 / 3), "sh": (0.5, 0.5)}
    print(f"lambda {args.lam}, balance {args.balance}, unroll {args.unroll}, n = {args.n}, {args.steps} steps, "
          f"{args.threads} thread(s); shares averaged over the logged steps (every {args.log_every})")
    print(f"{'PDE':<4} {'objective':>9} {'gradient':>9} {'cos':>6}   {'data':>17} {'strong':>17} {'weak':>17}  "
          f"{'time':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for pde in args.pde:
            a = argparse.Namespace(**vars(args))
            a.weights = args.weights or shipped[pde]
            r = run(pde, folder, a)
            f, la = r["first"], r["last"]
            terms = "  ".join(f"{float(f[k]):.1e}->{float(la[k]):.1e}" for k in ("data", "strong", "weak"))
            print(f"{pde:<4} {r['objective']:>9.3f} {r['gradient']:>9.3f} {r['cos']:>6.2f}   {terms}  "
                  f"{r['seconds']:>5.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
