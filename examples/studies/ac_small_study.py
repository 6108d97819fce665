"""A small CPU study: does the physics loss help when data is scarce?  (issue 5, docs/results.md)

Allen-Cahn at n = 16 (eps 0.1, L 2, frame dt 1e-3 = 10x the paper's so interfaces move within 41 frames),
three models -- HAMNO (lambda = 0), PI-HAMNO (lambda = 0.25, assembled weak + strong residuals) and FNO --
trained on 8 or 32 trajectories, 2 seeds each, same budget (epochs x steps x batch), best checkpoint on
2 validation trajectories, evaluated by autoregressive rollout on the same 8 test trajectories.
Prints a markdown table of the rollout relative L2 at the last frame (mean over test trajectories,
then mean +- std over seeds), with the persistence baseline (the last given frame held) as a row, and writes it
to OUT/results.md.

    python examples/studies/ac_small_study.py --out runs/study_ac        # ~15-25 min on 2 cores
    python examples/studies/ac_small_study.py --out runs/s --epochs 1 --sizes 8 --seeds 0   # quick check

Reruns reuse finished runs (dataset, checkpoints, evaluations) in OUT: configs are built in Python from the
shipped ``ac_small`` config, and every stage is a :mod:`pihamno.workflows` call that reuses its output.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fem.schemes import preset
from pihamno import workflows as wf
from pihamno.config import shipped_config
from pihamno.data import DatasetSpec

HAMNO = dict(name="hamno", width=4, modes=4, n_layers=1, expansion=2, width_q=8)
FNO = dict(name="fno", width=8, modes=6, n_layers=2, width_q=8)
MODELS = {  # (model section, lambda); everything else from the shipped config ac_small
    "HAMNO (lambda 0)": (HAMNO, 0.0),
    "PI-HAMNO (lambda 0.25)": (HAMNO, 0.25),
    "FNO (lambda 0)": (FNO, 0.0),
}
N_TEST, N_VAL = 8, 2


def run_config(out: Path, data: Path, model: dict, lam: float, size: int, seed: int, epochs: int, device: str):
    """ac_small with this model, lambda, training-set size, seed and budget."""
    tag = f"{model['name']}_lam{lam:g}_n{size}_s{seed}"
    return shipped_config("ac_small").updated(model=model, replace=True).updated(
        source="the study",
        data={"path": str(data), "n_train": size + N_VAL, "n_val": N_VAL, "n_test": N_TEST, "split_seed": 0},
        optim={"epochs": epochs}, physics={"lam": lam},
        run={"out": str(out / tag), "seed": seed, "device": device, "val_every": 3},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/study_ac", help="output folder (default runs/study_ac)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 32], help="training trajectories (default 8 32)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds (default 0 1)")
    ap.add_argument("--epochs", type=int, default=12, help="epochs per run (default 12, 10 steps of batch 4 each)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    out = Path(args.out)
    spec = DatasetSpec(params=preset("ac", dt=1e-3), n=16, frames=41, trajectories=max(args.sizes) + N_VAL + N_TEST,
                       seed=0)
    data = wf.make_data(spec, out / "ac_n16.h5", quiet=True)
    wf.check_data(data, out, quiet=True)
    results: dict[str, dict[int, list[float]]] = {}
    t0 = time.perf_counter()
    for size in args.sizes:
        for name, (model, lam) in MODELS.items():
            for seed in args.seeds:
                cfg = run_config(out, data, model, lam, size, seed, args.epochs, args.device)
                ckpt = wf.train_model(cfg, name, quiet=True)
                m = wf.evaluate(ckpt, data, Path(cfg.run.out) / "eval", device=args.device, quiet=True)
                results.setdefault(name, {}).setdefault(size, []).append(m["rollout"]["rel_l2_final"]["mean"])
                if "persistence" in m and seed == args.seeds[0]:  # the last given frame held: one test set per size
                    results.setdefault("persistence", {})[size] = [m["persistence"]["rel_l2_final"]["mean"]]
    lines = ["| model | " + " | ".join(f"{s} training trajectories" for s in args.sizes) + " |",
             "|---|" + "---|" * len(args.sizes)]
    for name, by_size in results.items():
        cells = []
        for s in args.sizes:
            v = np.array(by_size.get(s, [np.nan]))  # an evaluation written before persistence was scored: nan
            cells.append(f"{v.mean():.3f} +- {v.std(ddof=1) if v.size > 1 else 0.0:.3f} ({', '.join(f'{x:.3f}' for x in v)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    print(f"study time {time.perf_counter() - t0:.0f} s (training + evaluation)")
    (out / "results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
