"""The HAMNO authors' released protocol next to pihamno's own, per PDE and lambda (issue 9, item 6).

Two protocols train the same width-12 HAMNO on the same reference data and are scored on the same 50 test
trajectories (the facts of the authors' release: docs/paper.md sections 3-8, networks.py / config.py /
main.py / Trainer.py of MBamdad/HAMNO):

========================  ============================================  ==============================================
                          ``authors`` (their released protocol)         ``pihamno`` (the shipped <pde>_* configs)
========================  ============================================  ==============================================
model                     HAMNO ``variant="authors"`` (Xavier lift,     HAMNO (default variant)
                          their modes per level and FFT corners)
optimiser                 Adam, COUPLED weight decay: AC 1e-3, CH 5e-6,  AdamW, decoupled weight decay 1e-4
                          SH 5e-6 (``[optim] optimizer = "adam"``)
lr, epochs                AC 1e-2 / 50, CH 5e-4 / 100, SH 1e-3 / 170     the same
steps per epoch           ceil(50 / 8) = 7 at lambda 0; AC 10, CH 25,    AC 10, CH 25, SH 25 at every lambda
                          SH 25 at lambda 0.25 and 1
training trajectories     50; at lambda 1 the whole non-test pool (550)  45 fitted + 5 validation, at every lambda
evaluated checkpoint      the FINAL model (last.pt)                      best.pt, chosen on the 5 validation ones
error metric              plain Euclidean rel-L2 over the field          lumped-mass rel-L2 (both are reported)
========================  ============================================  ==============================================

Shared: n = 32, 101 frames, batch 8, gradient clipping 1.0, cosine decay per step, T_in = 5 given frames and 96
predicted, one-step teacher forcing, seed 42 (``--seed``), 600 trajectories per PDE (50 test, the rest the
pool; the test split is the same for every row). The authors' loss factors (w_strong, w_weak): AC 0.02/0.02,
CH 0.02/0.04, SH 0.005/0.005. The authors apply them to per-sample residuals normalised by detached norms
of their terms (dimensionless, O(1)); the authors' protocol reproduces that with ``[physics] balance =
"physics"`` (pihamno's physics terms divided by their running means, the data MSE raw). pihamno's protocol
keeps the shipped configs' balance (every term divided by its running mean, lambda = the physics share, w =
the paper's strong : weak ratio summing to 1).
What stays different from their code either way: pihamno's data, solver, grid and physics losses
(docs/paper.md section 10) and fresh windows every step (their ``itertools.cycle`` replays one window per
trajectory).

    python examples/studies/paper_protocol.py --dry-run                    # data, steps and time per row
    python examples/studies/paper_protocol.py --pde ac --device cuda       # the AC row, both protocols
    python examples/studies/paper_protocol.py --tiny --out runs/pp_tiny    # n = 8, a few steps: seconds (tests)

Output (``--out``, default runs/paper_protocol): ``<pde>/data.h5`` and ``check.json``, one run folder per row
``<pde>/<protocol>_lam<lambda>_s<seed>/`` (config.toml, last.pt, metrics.csv, eval/ with rollout.h5,
metrics.json and plain_rel_l2.json) and ``results.md`` / ``results.json``. Every stage reuses its finished
output, so the same command continues after a kill (data.h5.partial, last.pt).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pihamno import workflows as wf
from pihamno.config import shipped_config

log = logging.getLogger("pihamno.workflows")

PDES = ("ac", "ch", "sh")
LAMBDAS = (0.0, 0.25, 1.0)
PROTOCOLS = ("authors", "pihamno")
SHIPPED = {0.0: "hamno", 0.25: "pihamno", 1.0: "physics_only"}  # shipped configs <pde>_<name> (pihamno/configs/)
#: The authors' per-PDE settings (config.py of MBamdad/HAMNO; docs/paper.md sections 5-6).
AUTHORS = {
    "ac": dict(lr=1e-2, weight_decay=1e-3, epochs=50, steps_per_epoch=10, w_strong=0.02, w_weak=0.02),
    "ch": dict(lr=5e-4, weight_decay=5e-6, epochs=100, steps_per_epoch=25, w_strong=0.02, w_weak=0.04),
    "sh": dict(lr=1e-3, weight_decay=5e-6, epochs=170, steps_per_epoch=25, w_strong=0.005, w_weak=0.005),
}
#: Published HAMNO mean rollout rel-L2 at t = 100, lambda 0 / 0.25 / 1 (docs/paper.md section 8).
PUBLISHED = {"ac": (0.13, 0.04, 0.06), "ch": (0.18, 0.05, 0.06), "sh": (0.19, 0.05, 0.09)}


@dataclass(frozen=True)
class Sizes:
    """The sizes of a preset: the grid and data, the split, the model, and (tiny only) the training budget."""

    n: int
    frames: int
    trajectories: int
    n_test: int
    n_train: int          # the authors' labelled training set (lambda 0 and 0.25); lambda 1 uses the whole pool
    n_val: int            # pihamno's validation trajectories, carved from its n_train
    batch: int
    model: dict = field(default_factory=dict)
    epochs: int | None = None           # None: the authors' per PDE
    steps_per_epoch: int | None = None  # None: the authors' per PDE


PAPER = Sizes(32, 101, 600, 50, 50, 5, 8, dict(width=12, modes=8, n_layers=2, expansion=2, width_q=12))
TINY = Sizes(8, 10, 8, 2, 2, 1, 2, dict(width=2, modes=2, n_layers=1, expansion=2, width_q=4), 1, 2)


def authors_steps(pde: str, lam: float, size: Sizes) -> tuple[int, int]:
    """(epochs, steps per epoch) of the authors' protocol: one pass ceil(n_train / batch) at lambda 0 (their
    main.py), their fixed STEPS_PER_EPOCH otherwise (at lambda 1 independent of the 550 pool)."""
    a = AUTHORS[pde]
    epochs = size.epochs or a["epochs"]
    if lam == 0:
        return epochs, math.ceil(size.n_train / size.batch)
    return epochs, size.steps_per_epoch or a["steps_per_epoch"]


def run_config(pde: str, lam: float, protocol: str, size: Sizes, out: Path, seed: int, device: str):
    """The :class:`~pihamno.config.TrainConfig` of one row, built in Python from the shipped config."""
    cfg = shipped_config(f"{pde}_{SHIPPED[lam]}")
    folder = out / pde / f"{protocol}_lam{lam:g}_s{seed}"
    data = {"path": str(out / pde / "data.h5"), "n_test": size.n_test}
    run = {"out": str(folder), "seed": seed, "device": device}
    if protocol == "pihamno":
        changes = {"data": {**data, "n_train": size.n_train, "n_val": size.n_val}, "run": run}
        if size is not PAPER:
            changes["model"] = size.model
            changes["optim"] = {"epochs": size.epochs, "steps_per_epoch": size.steps_per_epoch, "batch_size": size.batch}
        return cfg.updated(source="the pihamno protocol", **changes)
    a = AUTHORS[pde]
    epochs, steps = authors_steps(pde, lam, size)
    pool = size.trajectories - size.n_test
    cfg = cfg.updated(source="the authors' protocol", replace=True, model={"name": "hamno", **size.model, "variant": "authors"})
    return cfg.updated(
        source="the authors' protocol",
        data={**data, "n_train": pool if lam == 1 else size.n_train, "n_val": 0, "train_frames": None},
        optim={"optimizer": "adam", "lr": a["lr"], "weight_decay": a["weight_decay"], "epochs": epochs,
               "steps_per_epoch": steps, "batch_size": size.batch, "grad_clip": 1.0, "warmup_steps": 0,
               "min_lr_ratio": 0.0, "data_loss": "mse"},
        # their factors multiply O(1) physics terms (per-sample residuals normalised by detached norms) next to
        # a raw MSE: balance = "physics" divides pihamno's physics terms by their running means, the data raw
        physics={"lam": lam, "w_strong": a["w_strong"], "w_weak": a["w_weak"], "balance": "physics"},
        run=run,
    )


def dataset(pde: str, size: Sizes):
    """The reference data of a PDE: the PDE's paper preset (eps, L, dt), its default initial conditions."""
    from fem.schemes import preset
    from pihamno.data import DatasetSpec

    return DatasetSpec(params=preset(pde), n=size.n, frames=size.frames, trajectories=size.trajectories, seed=0)


# ------------------------------------------------------------------------------------------------ metrics
def plain_rel_l2(rollout: Path) -> np.ndarray:
    """``(T, F)``: ||pred - ref|| / (||ref|| + 1e-12) over the whole field of each frame, as the authors'
    ``relative_l2_scalar`` (unweighted, unlike pihamno's lumped-mass rel-L2); cached next to the rollout."""
    from pihamno.evaluation.rollout_io import read_rollout, rollout_size

    cache = rollout.parent / "plain_rel_l2.json"
    if cache.is_file() and cache.stat().st_mtime >= rollout.stat().st_mtime:
        return np.asarray(json.loads(cache.read_text())["rel_l2"])
    rows = []
    for i in range(rollout_size(rollout)):  # one trajectory at a time (2 x 13 MB at n = 32)
        r = read_rollout(rollout, trajectories=[i])
        F = r.reference.shape[1]
        ref, pred = r.reference[0].reshape(F, -1).astype(np.float64), r.prediction[0].reshape(F, -1).astype(np.float64)
        rows.append(np.linalg.norm(pred - ref, axis=1) / (np.linalg.norm(ref, axis=1) + 1e-12))
    out = np.stack(rows)
    cache.write_text(json.dumps({"rel_l2": out.tolist()}))
    return out


def run_row(pde: str, lam: float, protocol: str, size: Sizes, args, data: Path) -> dict:
    """Train (or reuse) one row, evaluate the protocol's checkpoint, return its summary."""
    cfg = run_config(pde, lam, protocol, size, Path(args.out), args.seed, args.device)
    label = f"{pde.upper()} {protocol} lambda {lam:g}"
    log.info(f"[{label}] {cfg.optim.optimizer} lr {cfg.optim.lr:g} wd {cfg.optim.weight_decay:g}, "
             f"{cfg.optim.epochs} x {cfg.optim.steps_per_epoch} steps, {cfg.data.n_train - cfg.data.n_val} fitted")
    best_or_last = wf.train_model(cfg, label, quiet=args.quiet)
    ckpt = Path(cfg.run.out) / "last.pt" if protocol == "authors" else best_or_last
    m = wf.evaluate(ckpt, data, Path(cfg.run.out) / "eval", device=args.device, quiet=args.quiet)
    plain = plain_rel_l2(Path(cfg.run.out) / "eval" / "rollout.h5")
    last = plain.shape[1] - 1
    mid = max(cfg.data.T_in, last // 2)  # the authors report t = 50 and t = 100
    return {"pde": pde, "lam": lam, "protocol": protocol, "checkpoint": ckpt.name, "seed": args.seed,
            "steps": cfg.optim.epochs * cfg.optim.steps_per_epoch, "fitted": cfg.data.n_train - cfg.data.n_val,
            "test_trajectories": len(m["trajectories"]), "frames": [mid, last],
            "plain_mid": float(plain[:, mid].mean()), "plain_last": float(plain[:, last].mean()),
            "plain_last_std": float(plain[:, last].std()), "lumped_last": float(m["rollout"]["rel_l2_final"]["mean"]),
            "published": PUBLISHED[pde][LAMBDAS.index(lam)],
            "indicator_mean": m.get("indicator", {}).get("mean_pred", {}).get("mean"),
            "indicator_above_one": m.get("indicator", {}).get("above_one_pred", {}).get("mean"),
            "persistence_last": m.get("persistence", {}).get("rel_l2_final", {}).get("mean")}


def results_table(rows: list[dict]) -> str:
    """The rows, and after each PDE's rows its persistence baseline (the last given frame held, the same test
    trajectories); the residual indicator of the predicted steps: mean and share of steps above 1."""
    def num(v, fmt):
        return "-" if v is None else format(v, fmt)

    lines = ["| PDE | lambda | protocol | evaluated | steps | rel-L2 t=mid (plain) | rel-L2 t=last (plain) | "
             "rel-L2 t=last (lumped-mass) | residual indicator (mean / > 1) | paper's HAMNO t=100 |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(rows):
        lines.append(f"| {r['pde'].upper()} | {r['lam']:g} | {r['protocol']} | {r['checkpoint']} | {r['steps']} | "
                     f"{r['plain_mid']:.3f} | {r['plain_last']:.3f} +- {r['plain_last_std']:.3f} | "
                     f"{r['lumped_last']:.3f} | {num(r.get('indicator_mean'), '.3g')} / "
                     f"{num(r.get('indicator_above_one'), '.0%')} | {r['published']:.2f} |")
        if i + 1 == len(rows) or rows[i + 1]["pde"] != r["pde"]:
            held = next((x["persistence_last"] for x in rows if x["pde"] == r["pde"] and x.get("persistence_last") is not None),
                        None)
            lines.append(f"| {r['pde'].upper()} | - | persistence | - | - | - | - | {num(held, '.3f')} | 1 / 0% | - |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ dry run
def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def measure_model(size: Sizes, device: str) -> dict:
    """Seconds per training step (forward, backward, Adam) and per forward pass of the authors' HAMNO at the
    preset's n and batch: measured there on CUDA; on CPU measured on one thread (two threads on a shared
    machine are erratic: examples README) at half the grid and a quarter of the batch (at least 1), scaled by
    the ratio of voxels x batch."""
    import torch

    from pihamno.device import median_seconds, resolve_device
    from pihamno.models import build_model

    dev = resolve_device(device)
    cuda = dev.type == "cuda"
    n, b = (size.n, size.batch) if cuda or size.n <= 8 else (max(8, size.n // 2), max(1, size.batch // 4))
    scale = (size.n / n) ** 3 * size.batch / b
    torch.manual_seed(0)
    model = build_model("hamno", **size.model, variant="authors").to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    u = torch.randn(b, 5, n, n, n, device=dev)
    threads = torch.get_num_threads()
    if not cuda:
        torch.set_num_threads(1)

    def step():
        opt.zero_grad(set_to_none=True)
        model(u).square().mean().backward()
        opt.step()

    def forward():
        with torch.no_grad():
            model(u)

    try:
        t_step, t_forward = median_seconds(step, 2, dev) * scale, median_seconds(forward, 2, dev) * scale
    finally:
        torch.set_num_threads(threads)
    where = f"n = {n}, batch {b}, {dev}" + ("" if cuda else ", 1 thread") + (f", scaled x{scale:g}" if scale != 1 else "")
    return {"step": t_step, "forward": t_forward, "measured": where}


def measure_solver(pde: str, size: Sizes) -> dict:
    """Seconds of assembly and per saved frame of the reference solver (one trajectory, 3 frames, the preset's n)."""
    from fem import assemble, cube_mesh
    from fem.solvers import simulate
    from pihamno.data.initial_conditions import default_family, resolve_params, sample, trajectory_rng

    spec = dataset(pde, size)
    t0 = time.perf_counter()
    ops = assemble(cube_mesh(size.n, spec.params.L))
    t1 = time.perf_counter()
    family = default_family(pde)
    u0 = sample(family, trajectory_rng(0, 0), size.n, spec.params.L, resolve_params(family, pde, {}, eps=spec.params.eps))
    simulate(spec.params, ops, u0, 3)
    return {"assembly": t1 - t0, "frame": (time.perf_counter() - t1) / 2}


def dry_run(args, size: Sizes) -> str:
    """The plan: per PDE the data to generate, per row the steps, and time estimates (measured on the fly)."""
    model = measure_model(size, args.device)
    workers = max(1, args.workers)
    lines = [f"# paper protocol plan: n = {size.n}, {size.frames} frames, seed {args.seed}, device {args.device}",
             f"# model step {model['step']:.3f} s, forward {model['forward']:.3f} s (authors' HAMNO, measured at "
             f"{model['measured']}; the physics losses add < 1% per step, docs/physics.md)",
             "# data: one solver run per trajectory on the CPU, in parallel over --workers", ""]
    total = 0.0
    # evaluation: a rollout and the teacher-forced one-step predictions, batches of 8 test trajectories
    eval_s = 2 * math.ceil(size.n_test / 8) * (size.frames - 5) * model["forward"] * 8 / size.batch
    for pde in args.pde:
        spec = dataset(pde, size)
        s = measure_solver(pde, size)
        t_data = s["assembly"] + spec.trajectories * (size.frames - 1) * s["frame"] / workers  # workers in parallel
        gb = spec.trajectories * size.frames * size.n**3 * 4 / 1e9
        data = Path(args.out) / pde / "data.h5"
        state = "exists" if data.is_file() else ("partial" if data.with_name("data.h5.partial").exists() else "to make")
        lines.append(f"{pde.upper()}: {spec.trajectories} trajectories x {size.frames} frames at n = {size.n} "
                     f"(eps {spec.params.eps:g}, L {spec.params.L:g}, dt {spec.params.dt:g}) -> {data} ({gb:.2f} GB, "
                     f"{state}): ~{_duration(t_data)} on {workers} workers (assembly {s['assembly']:.2f} s, "
                     f"{s['frame'] * 1e3:.0f} ms per frame)")
        total += 0 if state == "exists" else t_data
        for lam in args.lam:
            for protocol in args.protocol:
                cfg = run_config(pde, lam, protocol, size, Path(args.out), args.seed, args.device)
                o = cfg.optim
                steps = o.epochs * o.steps_per_epoch
                t = steps * model["step"] + eval_s
                total += t
                ckpt = "last.pt" if protocol == "authors" else "best.pt"
                lines.append(f"  lambda {lam:<4g} {protocol:<8} {o.optimizer:<5} lr {o.lr:<6g} wd {o.weight_decay:<6g} "
                             f"{o.epochs:>3} epochs x {o.steps_per_epoch:>2} = {steps:>5} steps, "
                             f"{cfg.data.n_train - cfg.data.n_val:>3} fitted, eval {ckpt}: ~{_duration(t)}")
    lines += ["", f"total ~{_duration(total)} (data not yet made + training + evaluation of {size.n_test} test "
              "trajectories per row), one seed"]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring for the two protocols and what differs.")
    p.add_argument("--pde", nargs="+", choices=PDES, default=list(PDES), help="PDEs (default: all three)")
    p.add_argument("--lam", nargs="+", type=float, default=list(LAMBDAS), help="lambdas among 0 0.25 1 (default: all)")
    p.add_argument("--protocol", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS), help="default: both")
    p.add_argument("--seed", type=int, default=42, help="training seed (default 42, the authors'); data are seed-free")
    p.add_argument("--out", default="runs/paper_protocol", help="output folder (default runs/paper_protocol)")
    p.add_argument("--device", default="auto", help="auto (cuda when present) | cpu | cuda | cuda:N")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes generating the data")
    p.add_argument("--tiny", action="store_true", help="n = 8, 8 trajectories x 10 frames, width 2, one epoch of "
                   "2 steps: the whole chain in seconds")
    p.add_argument("--dry-run", action="store_true", help="print the plan (data, steps, time estimate) and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    bad = [x for x in args.lam if x not in LAMBDAS]
    if bad:
        p.error(f"--lam {bad[0]:g} is not one of the paper's lambdas 0, 0.25, 1")
    if args.seed < 0:
        p.error(f"--seed must be a non-negative integer, got {args.seed}")
    args.lam = sorted(set(args.lam))
    return args


def main(argv=None) -> int:
    import torch

    from pihamno.errors import InputError

    args = parse_args(argv)
    size = TINY if args.tiny else PAPER
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    if args.tiny:
        torch.set_num_threads(1)
    try:
        if args.dry_run:
            print(dry_run(args, size))
            return 0
        out = Path(args.out)
        rows = []
        for pde in args.pde:
            (out / pde).mkdir(parents=True, exist_ok=True)
            data = wf.make_data(dataset(pde, size), out / pde / "data.h5", workers=args.workers, quiet=args.quiet)
            wf.check_data(data, out / pde, max_trajectories=8, quiet=args.quiet)
            for lam in args.lam:
                for protocol in args.protocol:
                    rows.append(run_row(pde, lam, protocol, size, args, data))
        table = results_table(rows)
        (out / "results.md").write_text(table + "\n")
        (out / "results.json").write_text(json.dumps(rows, indent=1))
        print(table)
        return 0
    except InputError as exc:
        print(f"paper_protocol: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("paper_protocol: interrupted; the same command continues where it stopped", file=sys.stderr)
        return 130
    finally:
        log.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
