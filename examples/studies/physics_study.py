"""Does physics help HAMNO? A multi-seed CPU study of PI-HAMNO on AC, CH and SH (issue 9, docs/results.md).

Question: with the physics terms consistent (they vanish on the reference data) and balanced (lambda is the
physics share of the objective), does physics improve a small HAMNO where labels are scarce, on initial
conditions of another family (out of distribution), and on rollouts twice as long as the training horizon?

Design (every arm the same budget: epochs x steps x batch of labeled windows; seeds 0..S-1 per arm):

* data per PDE (n = 16, one scheme step per frame, the example's PDE settings): a labeled set
  (max size + 2 validation + 8 test trajectories of F frames), an out-of-distribution test set (another
  initial-condition family), and an unlabeled pool (initial conditions with only their first T_in frames);
* training sees frames [0, F/2) only (``train_frames``); rollouts are scored over all F frames (2x horizon);
* arms: HAMNO (lambda 0); PI-HAMNO (lambda 0.25, balanced); + unrolled physics (unroll 2); + the unlabeled
  pool; physics only (lambda 1); FNO (lambda 0);
* sizes: 4 / 16 / 64 labeled training trajectories (``--sizes``);
* metrics: rollout rel-L2 at the last frame and at the training horizon, on the 8 test trajectories and on
  the OOD set; mass drift, energy increases and the residual indicator of the predicted steps (docs/evaluation.md);
  the persistence baseline (the last given frame held) as a row of every table;
* comparison: per (PDE, size, seed) the difference of each arm to HAMNO, mean +- std over seeds and a 95%
  t-interval of the paired difference.

    python examples/studies/physics_study.py --out runs/physics_study            # ~4 h on 2 cores, or:
    python examples/studies/physics_study.py --out runs/physics_study --data-only
    python examples/studies/physics_study.py --out runs/physics_study --shard 0/2 &   # then two shards
    python examples/studies/physics_study.py --out runs/physics_study --shard 1/2 &
    wait; python examples/studies/physics_study.py --out runs/physics_study --report-only
    python examples/studies/physics_study.py --out /tmp/ps --quick --seeds 0 1   # minutes: checks the chain

Reruns reuse every finished dataset, run and evaluation (the stages of pihamno.workflows).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fem.schemes import preset
from pihamno import workflows as wf
from pihamno.config import shipped_config
from pihamno.data import DatasetSpec

T_IN, N_VAL, N_TEST, N_OOD, N_POOL = 5, 2, 8, 8, 64


@dataclass(frozen=True)
class PDECase:
    """One PDE of the study: its settings (those of its example script), frames and the OOD family."""

    pde: str
    params: dict
    frames: int        # scored rollout length: twice the training horizon
    ic_params: dict
    ood: str           # out-of-distribution initial-condition family
    lr: float          # peak learning rate (every arm of this PDE)
    max_labeled: int   # labeled training trajectories in the data file: the largest size the study runs

    @property
    def horizon(self) -> int:
        """Frames the training windows lie in: [0, horizon)."""
        return (self.frames + 1) // 2


#: SH takes the HAMNO authors' SH learning rate, 1e-3: at 1e-2 (a first pass, docs/results.md) 6 of 10 finished
#: SH runs (n = 4) collapsed to a constant field (3) or ended above rel-L2 1 (3), HAMNO as well as PI-HAMNO
CASES = {
    "ac": PDECase("ac", dict(eps=0.1, L=2.0, dt=1e-3), 41, {}, "spheres", 1e-2, 64),
    "ch": PDECase("ch", dict(eps=0.1, L=2.0, dt=5e-3), 41, dict(length_scale=0.4), "phase-coarse", 1e-2, 64),
    "sh": PDECase("sh", dict(eps=0.15, L=15.0, dt=0.3), 61, {}, "grf-coarse", 1e-3, 64),
}
HAMNO = dict(name="hamno", width=4, modes=4, n_layers=1, expansion=2, width_q=8)
FNO = dict(name="fno", width=8, modes=6, n_layers=2, width_q=8)
#: arm -> (model, [physics] changes, uses the unlabeled pool)
ARMS = {
    "HAMNO": (HAMNO, {"lam": 0.0}, False),
    "PI-HAMNO": (HAMNO, {"lam": 0.25}, False),
    "PI-HAMNO + unroll": (HAMNO, {"lam": 0.25, "unroll": 2}, False),
    "PI-HAMNO + pool": (HAMNO, {"lam": 0.25}, True),
    "physics only": (HAMNO, {"lam": 1.0}, False),
    "FNO": (FNO, {"lam": 0.0}, False),
}
#: compute controls, run on request (--arms): the pool and unroll arms take the same steps and labeled windows
#: as HAMNO but cost about 2x (pool: a second batch of 8 unlabeled windows) and 2.5x (unroll) per step; this
#: HAMNO trains twice the epochs, so a gain of theirs is not just more compute
CONTROLS = {"HAMNO 2x steps": (HAMNO, {"lam": 0.0}, False)}
EPOCH_FACTOR = {"HAMNO 2x steps": 2}
BUDGET = dict(epochs=16, steps_per_epoch=20, batch_size=8)
QUICK = dict(epochs=2, steps_per_epoch=3, batch_size=4)


def slug(text: str) -> str:
    return text.lower().replace(" + ", "_").replace(" ", "_").replace("-", "")


# ----------------------------------------------------------------------------------------------- data
def datasets(case: PDECase, out: Path) -> dict[str, Path]:
    """The labeled set (``case.max_labeled`` + validation + test trajectories: the same file, hence the same
    test split, whichever sizes a command runs), the OOD test set and the unlabeled pool."""
    params = preset(case.pde, **case.params)
    folder = out / case.pde
    specs = {
        "data": DatasetSpec(params=params, n=16, frames=case.frames, trajectories=case.max_labeled + N_VAL + N_TEST,
                            ic_params=case.ic_params, seed=0),
        "ood": DatasetSpec(params=params, n=16, frames=case.frames, trajectories=N_OOD, ic_family=case.ood, seed=100),
        "pool": DatasetSpec(params=params, n=16, frames=T_IN, trajectories=N_POOL, ic_params=case.ic_params, seed=200),
    }
    paths = {}
    for name, spec in specs.items():
        paths[name] = wf.make_data(spec, folder / f"{name}.h5", quiet=True)
    wf.check_data(paths["data"], folder, quiet=True)
    return paths


# ----------------------------------------------------------------------------------------------- runs
def run_config(case: PDECase, arm: str, size: int, seed: int, paths: dict, out: Path, budget: dict, device: str):
    """The config of one run: the shipped ``<pde>_small`` with this arm's model and physics, ``size`` labeled
    trajectories (+ 2 validation), the same 8 test trajectories for every run, windows in the first half."""
    model, physics, pool = (ARMS | CONTROLS)[arm]
    data = {"path": str(paths["data"]), "n_train": size + N_VAL, "n_val": N_VAL, "n_test": N_TEST, "split_seed": 0,
            "train_frames": case.horizon}
    if pool:
        data["unlabeled"] = str(paths["pool"])
        physics = {**physics, "unlabeled_batch": budget["batch_size"]}
    cfg = shipped_config(f"{case.pde}_small").updated(source="the study", replace=True, model=model)
    optim = {**budget, "epochs": budget["epochs"] * EPOCH_FACTOR.get(arm, 1), "lr": case.lr}
    return cfg.updated(
        source="the study", data=data, optim=optim, physics=physics,
        run={"out": str(out / case.pde / f"n{size}" / f"{slug(arm)}_s{seed}"), "seed": seed, "device": device,
             "val_every": 1, "val_rollout_every": 2, "tensorboard": False, "log_every": min(10, budget["steps_per_epoch"])},
    )


def run_one(case: PDECase, arm: str, size: int, seed: int, paths: dict, out: Path, budget: dict, device: str) -> dict:
    """Train (or reuse) one run and evaluate it on the test split and on the OOD set."""
    cfg = run_config(case, arm, size, seed, paths, out, budget, device)
    folder = Path(cfg.run.out)
    t0 = time.perf_counter()
    ckpt = wf.train_model(cfg, arm, quiet=True)
    test = wf.evaluate(ckpt, paths["data"], folder / "eval", device=device, quiet=True)
    ood = wf.evaluate(ckpt, paths["ood"], folder / "eval_ood", device=device, quiet=True, trajectories=None)
    return {"test": test, "ood": ood, "seconds": time.perf_counter() - t0, "folder": str(folder)}


def plan(pdes, sizes_of, arms, seeds):
    """Every (pde, size, arm, seed) of the study, in a fixed order."""
    return [(p, s, a, k) for p in pdes for s in sizes_of[p] for a in arms for k in seeds]


# ----------------------------------------------------------------------------------------------- analysis
def per_frame(folder: Path, name: str, column: str = "rel_l2_mean") -> np.ndarray:
    """A column of per_frame.csv (default: the mean rel-L2 per frame over the scored trajectories)."""
    with open(folder / name / "per_frame.csv", newline="") as f:
        return np.array([float(r[column]) if r.get(column) not in ("", None) else np.nan for r in csv.DictReader(f)])


def persistence(folder: Path, name: str, path: Path, which: np.ndarray | None) -> np.ndarray:
    """Rel-L2 per frame of the persistence baseline (the last given frame held), mean over trajectories: the
    evaluation's own column, or computed from the data for an evaluation written before it had one."""
    with open(folder / name / "per_frame.csv") as f:
        if "rel_l2_persistence_mean" in f.readline():
            return per_frame(folder, name, "rel_l2_persistence_mean")
    import torch

    from pihamno.data import load_trajectories, read_description
    from pihamno.stepping import grid_weights, rel_l2
    from pihamno.stepping import persistence as held

    u = torch.from_numpy(load_trajectories(path, which))
    return rel_l2(held(u, T_IN), u, grid_weights(u.shape[-1], read_description(path).L)).mean(0).numpy()


def physics_diagnostics(folder: Path) -> dict:
    """Mean over logged steps of the physics share of the objective and of the gradient, and of the cosine
    between the data and physics gradients (steps.csv; lam > 0 only)."""
    path = folder / "steps.csv"
    if not path.is_file():
        return {}
    rows = list(csv.DictReader(open(path, newline="")))
    out = {}
    for k in ("share_physics", "grad_share", "grad_cos"):
        vals = [float(r[k]) for r in rows if r.get(k) not in ("", None)]
        if vals:
            out[k] = float(np.mean(vals))
    return out


def stats(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return {"mean": float(v.mean()), "std": sd, "n": int(v.size), "values": v.tolist()}


def t_interval(values, level: float = 0.95) -> dict:
    """Mean, std and the Student-t interval of the mean at ``level`` (NaN bounds for one value)."""
    from scipy.stats import t

    s = stats(values)
    half = t.ppf(0.5 + level / 2, s["n"] - 1) * s["std"] / math.sqrt(s["n"]) if s["n"] > 1 else float("nan")
    return s | {"ci95": [s["mean"] - half, s["mean"] + half]}


def paired(arm_vals, base_vals) -> dict:
    """Paired difference arm - HAMNO over seeds: mean, std and the 95% t-interval."""
    return t_interval(np.asarray(arm_vals, dtype=np.float64) - np.asarray(base_vals, dtype=np.float64))


def pooled_ratios(results: dict, arm: str, keys, metric, base: str = "HAMNO") -> dict:
    """The error of ``arm`` relative to ``base``'s, pooled over paired runs ``keys`` = [(pde, size, seed)]:
    the t-interval of log(err_arm / err_HAMNO), returned as ratios (``ratio``, ``ci95``) -- a scale-free
    comparison across PDEs and sizes whose errors differ by factors of 2-3."""
    d = [math.log(metric(results[(p, n, arm, k)]) / metric(results[(p, n, base, k)])) for p, n, k in keys]
    s = t_interval(d)
    return {"n": s["n"], "ratio": math.exp(s["mean"]), "ci95": [math.exp(x) for x in s["ci95"]]}


def pooled_table(results: dict, pdes, sizes_of, arms, seeds) -> tuple[list[str], list[dict]]:
    """Markdown rows (and their data): each arm against HAMNO, pooled over PDEs at the smallest labeled set
    and over every (PDE, size); test and OOD errors at the last frame."""
    def test(r):
        return r["test"]["rollout"]["rel_l2_final"]["mean"]

    def ood(r):
        return r["ood"]["rollout"]["rel_l2_final"]["mean"]

    smallest = min(min(sizes_of[p]) for p in pdes)
    groups = {f"{smallest} labeled": [(p, smallest, k) for p in pdes if smallest in sizes_of[p] for k in seeds],
              "every size": [(p, n, k) for p in pdes for n in sizes_of[p] for k in seeds]}
    if len(groups["every size"]) == len(groups[f"{smallest} labeled"]):  # one size only: one group
        del groups["every size"]
    if len(pdes) > 1:  # and each PDE alone at the smallest size
        groups |= {f"{p.upper()} alone, {smallest} labeled": [(p, smallest, k) for k in seeds]
                   for p in pdes if smallest in sizes_of[p]}
    lines = [f"**Pooled over {' + '.join(p.upper() for p in pdes)}**: the error of each arm / the baseline's "
             "(HAMNO, and the compute control when it ran), the geometric mean over paired runs (same PDE, size and "
             "seed) with its 95% t-interval; below 1 is better than the baseline.",
             "", "| arm | baseline | group | paired runs | test, last frame | OOD, last frame |", "|---|---|---|---|---|---|"]
    data = []
    bases = ["HAMNO"] + [c for c in CONTROLS if c in arms]
    for base in bases:
        for arm in (a for a in arms if a not in bases[: bases.index(base) + 1]):
            for name, keys in groups.items():
                t, o = pooled_ratios(results, arm, keys, test, base), pooled_ratios(results, arm, keys, ood, base)
                data.append({"arm": arm, "baseline": base, "group": name, "test": t, "ood": o})
                lines.append(f"| {arm} | {base} | {name} | {t['n']} | {t['ratio']:.2f} [{t['ci95'][0]:.2f}, "
                             f"{t['ci95'][1]:.2f}] | {o['ratio']:.2f} [{o['ci95'][0]:.2f}, {o['ci95'][1]:.2f}] |")
    return lines + [""], data


def report(out: Path, pdes, sizes_of, arms, seeds, results: dict, paths_of: dict, name: str = "results") -> str:
    """The markdown tables (``<name>.md``, ``<name>.json``; plots ``curves_<pde>.png``) of the study."""
    lines, blob = [], {"arms": list(arms), "seeds": list(seeds), "rows": []}
    for pde in pdes:
        case = CASES[pde]
        data = paths_of[pde]["data"]
        folder0 = Path(results[(pde, sizes_of[pde][0], arms[0], seeds[0])]["folder"])
        test_idx = json.loads((folder0 / "eval" / "metrics.json").read_text())["trajectories"]
        pers_test = persistence(folder0, "eval", data, np.asarray(test_idx))
        pers_ood = persistence(folder0, "eval_ood", paths_of[pde]["ood"], None)
        h = case.horizon - 1
        first = results[(pde, sizes_of[pde][0], arms[0], seeds[0])]["test"]
        ref_drift = first.get("mass", {}).get("max_drift_ref", {}).get("mean", float("nan")) / case.params["L"] ** 3
        lines += [f"### {pde.upper()} (n = 16, {case.frames} frames, training windows in the first {case.horizon}, "
                  f"lr {case.lr:g})", "",
                  f"Persistence baseline (last given frame held): test {pers_test[-1]:.3f} at the last frame, "
                  f"{pers_test[h]:.3f} at the training horizon; OOD ({case.ood}) {pers_ood[-1]:.3f}. "
                  f"The reference's max drift of mean u: {ref_drift:.2g}.", ""]
        for size in sizes_of[pde]:
            lines += [f"**{size} labeled training trajectories** (mean +- std over {len(seeds)} seeds; paired "
                      "difference to HAMNO with its 95% t-interval)", "",
                      "| arm | test, last frame | vs HAMNO | test, frame " + str(h) + " | OOD, last frame | vs HAMNO |"
                      " max drift of mean u | energy increases | residual indicator (mean / > 1) |"
                      " physics share (obj. / grad), grad cos |",
                      "|---|---|---|---|---|---|---|---|---|---|",
                      f"| persistence | {pers_test[-1]:.3f} | - | {pers_test[h]:.3f} | {pers_ood[-1]:.3f} | - | 0 | 0 | 1 / 0% | - |"]
            base = [results[(pde, size, "HAMNO", k)] for k in seeds]
            for arm in arms:
                rs = [results[(pde, size, arm, k)] for k in seeds]
                last = [r["test"]["rollout"]["rel_l2_final"]["mean"] for r in rs]
                hor = [per_frame(Path(r["folder"]), "eval")[h] for r in rs]
                ood = [r["ood"]["rollout"]["rel_l2_final"]["mean"] for r in rs]
                # max_f |m(f) - m(0)| / L^3: the drift of the spatial mean of u (u in [-1, 1]); a relative drift
                # would divide by m(0), which is near 0 for these initial conditions
                vol = case.params["L"] ** 3
                drift = [r["test"].get("mass", {}).get("max_drift_pred", {}).get("mean", float("nan")) / vol for r in rs]
                incr = [r["test"].get("energy", {}).get("increase_count_pred", {}).get("mean", float("nan")) for r in rs]
                ind = [r["test"].get("indicator", {}).get("mean_pred", {}).get("mean", float("nan")) for r in rs]
                above = [r["test"].get("indicator", {}).get("above_one_pred", {}).get("mean", float("nan")) for r in rs]
                diag = [physics_diagnostics(Path(r["folder"])) for r in rs]
                row = {"pde": pde, "size": size, "arm": arm, "test_last": stats(last), "test_horizon": stats(hor),
                       "ood_last": stats(ood), "mass_drift": stats(drift), "energy_increases": stats(incr),
                       "indicator_mean": stats(ind), "indicator_above_one": stats(above), "diagnostics": diag}
                if arm != "HAMNO":
                    row["vs_hamno_test"] = paired(last, [b["test"]["rollout"]["rel_l2_final"]["mean"] for b in base])
                    row["vs_hamno_ood"] = paired(ood, [b["ood"]["rollout"]["rel_l2_final"]["mean"] for b in base])
                blob["rows"].append(row)

                def ms(s):
                    return f"{s['mean']:.3f} +- {s['std']:.3f}"

                def ci(p):
                    lo, hi = p["ci95"]
                    return f"{p['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}]"

                vs_t = ci(row["vs_hamno_test"]) if arm != "HAMNO" else "-"
                vs_o = ci(row["vs_hamno_ood"]) if arm != "HAMNO" else "-"
                d = [x for x in diag if x.get("share_physics", 0.0) > 0.0]  # arms without physics: "-"
                cos = np.mean([x.get("grad_cos", np.nan) for x in d]) if d else np.nan
                only = d and all(x.get("share_physics") >= 1.0 for x in d)  # no data gradient: no cosine
                dg = "-" if not d else (f"{np.mean([x.get('share_physics', np.nan) for x in d]):.2f} / "
                                        f"{np.mean([x.get('grad_share', np.nan) for x in d]):.2f}, "
                                        + ("-" if only else f"{cos:+.2f}"))
                lines.append(f"| {arm} | {ms(row['test_last'])} | {vs_t} | {ms(row['test_horizon'])} | "
                             f"{ms(row['ood_last'])} | {vs_o} | {np.nanmean(drift):.3f} | {np.nanmean(incr):.1f} | "
                             f"{np.nanmean(ind):.3g} / {np.nanmean(above):.0%} | {dg} |")
            lines.append("")
        blob.setdefault("persistence", {})[pde] = {"test": pers_test.tolist(), "ood": pers_ood.tolist()}
        plot_curves(out, pde, sizes_of[pde], arms, seeds, results, pers_test)
    pooled, blob["pooled"] = pooled_table(results, pdes, sizes_of, arms, seeds)
    lines += pooled
    (out / f"{name}.json").write_text(json.dumps(blob, indent=1))
    text = "\n".join(lines)
    (out / f"{name}.md").write_text(text + "\n")
    return text


def plot_curves(out: Path, pde: str, sizes, arms, seeds, results, pers) -> None:
    """Per-frame test rel-L2 (mean over seeds) of every arm and the persistence baseline, one panel per size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sizes), figsize=(4.2 * len(sizes), 3.4), sharey=True, squeeze=False)
    for ax, size in zip(axes[0], sizes):
        for arm in arms:
            curves = np.stack([per_frame(Path(results[(pde, size, arm, k)]["folder"]), "eval") for k in seeds])
            m = curves.mean(0)
            f = np.arange(m.size)
            ax.plot(f[T_IN:], m[T_IN:], label=arm)
        ax.plot(np.arange(pers.size)[T_IN:], pers[T_IN:], "k--", label="persistence")
        ax.axvline(CASES[pde].horizon - 1, color="grey", lw=0.8, ls=":")
        ax.set_title(f"{pde.upper()}, {size} labeled trajectories")
        ax.set_xlabel("frame")
    axes[0][0].set_ylabel("test rel-L2 (mean over seeds)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / f"curves_{pde}.png", dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/physics_study", help="output folder (default runs/physics_study)")
    ap.add_argument("--pdes", nargs="+", default=["ac", "ch", "sh"], choices=sorted(CASES))
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 16, 64], help="labeled trajectories (default 4 16 64)")
    ap.add_argument("--sizes-ch-sh", type=int, nargs="+", default=[4, 16],
                    help="labeled trajectories for CH and SH (default 4 16)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS | CONTROLS),
                    help=f"default: the six arms; {', '.join(CONTROLS)} on request (a compute control)")
    ap.add_argument("--quick", action="store_true", help="a tiny budget (minutes): checks the pipeline, no science")
    ap.add_argument("--shard", default="0/1", help="K/N: run every N-th run starting at K (parallel processes)")
    ap.add_argument("--data-only", action="store_true", help="make the datasets and stop (before parallel shards)")
    ap.add_argument("--report-only", action="store_true", help="only the tables of finished runs")
    ap.add_argument("--report-name", default="results", help="report files OUT/NAME.md and NAME.json (default results)")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    import torch

    torch.set_num_threads(1)
    out = Path(a.out)
    budget = QUICK if a.quick else BUDGET
    arms = ["HAMNO"] + [x for x in a.arms if x != "HAMNO"]
    sizes_of = {p: (a.sizes if p == "ac" else a.sizes_ch_sh) for p in a.pdes}
    for p in a.pdes:
        if max(sizes_of[p]) > CASES[p].max_labeled:
            ap.error(f"{p}: at most {CASES[p].max_labeled} labeled trajectories (the data file's), got {max(sizes_of[p])}")
    paths_of = {p: datasets(CASES[p], out) for p in a.pdes}
    if a.data_only:
        return 0
    todo = plan(a.pdes, sizes_of, arms, a.seeds)
    k, n = (int(x) for x in a.shard.split("/"))
    results = {}
    t0 = time.perf_counter()
    for i, (pde, size, arm, seed) in enumerate(todo):
        if i % n != k and not a.report_only:
            continue
        r = run_one(CASES[pde], arm, size, seed, paths_of[pde], out, budget, a.device)
        results[(pde, size, arm, seed)] = r
        print(f"[{i + 1}/{len(todo)}] {pde} n_train={size} {arm} seed {seed}: test last frame "
              f"{r['test']['rollout']['rel_l2_final']['mean']:.3f}, OOD {r['ood']['rollout']['rel_l2_final']['mean']:.3f} "
              f"({r['seconds']:.0f} s; {time.perf_counter() - t0:.0f} s so far)", flush=True)
    if n == 1 or a.report_only:
        print(report(out, a.pdes, sizes_of, arms, a.seeds, results, paths_of, a.report_name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
