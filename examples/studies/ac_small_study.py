"""A small CPU study: does the physics loss help when data is scarce?  (issue 5, docs/results.md)

Allen-Cahn at n = 16 (eps 0.1, L 2, frame dt 1e-3 = 10x the paper's so interfaces move within 41 frames),
three models -- HAMNO (lambda = 0), PI-HAMNO (lambda = 0.25, assembled weak + strong residuals) and FNO --
trained on 8 or 32 trajectories, 2 seeds each, same budget (epochs x steps x batch), best checkpoint on
2 validation trajectories, evaluated by autoregressive rollout on the same 8 test trajectories.
Prints a markdown table of the rollout relative L2 at the last frame (mean over test trajectories,
then mean +- std over seeds) and writes it to OUT/results.md.

    python examples/studies/ac_small_study.py --out runs/study_ac        # ~15-25 min on 2 cores
    python examples/studies/ac_small_study.py --out runs/s --epochs 1 --sizes 8 --seeds 0   # quick check

Reruns reuse finished runs (dataset, checkpoints, evaluations) in OUT.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from pihamno.cli import main as cli

BASE_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ac_small.toml"
HAMNO = dict(name="hamno", width=4, modes=4, n_layers=1, expansion=2, width_q=8)
FNO = dict(name="fno", width=8, modes=6, n_layers=2, width_q=8)
MODELS = {  # (model section, lambda); everything else from examples/configs/ac_small.toml
    "HAMNO (lambda 0)": (HAMNO, 0.0),
    "PI-HAMNO (lambda 0.25)": (HAMNO, 0.25),
    "FNO (lambda 0)": (FNO, 0.0),
}


def write_config(path: Path, model: dict, lam: float) -> None:
    """ac_small.toml with this model section and lambda, validated and written as TOML."""
    import tomllib

    from pihamno.training.config import dump_toml, from_dict

    cfg = tomllib.loads(BASE_CONFIG.read_text())
    cfg["model"] = dict(model)
    cfg["physics"]["lam"] = lam
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_toml(from_dict(cfg, source=str(BASE_CONFIG))))


def run(argv: list[str]) -> None:
    code = cli(argv)
    if code:
        sys.exit(f"study: 'pihamno {' '.join(argv)}' failed with exit code {code}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/study_ac", help="output folder (default runs/study_ac)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 32], help="training trajectories (default 8 32)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds (default 0 1)")
    ap.add_argument("--epochs", type=int, default=12, help="epochs per run (default 12, 10 steps of batch 4 each)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    out = Path(args.out)
    data = out / "ac_n16.h5"
    n_test, n_val = 8, 2
    total = max(args.sizes) + n_val + n_test
    if not data.exists():
        run(["generate", "--pde", "ac", "--n", "16", "--dt", "1e-3", "--frames", "41", "--trajectories", str(total),
             "--seed", "0", "--out", str(data), "--quiet"])
    run(["check-data", str(data)])
    results: dict[str, dict[int, list[float]]] = {}
    t0 = time.perf_counter()
    for size in args.sizes:
        for name, (model, lam) in MODELS.items():
            for seed in args.seeds:
                tag = f"{model['name']}_lam{lam:g}_n{size}_s{seed}"
                run_dir = out / tag
                if not (run_dir / "best.pt").exists() or not (run_dir / "DONE").exists():
                    config = out / "configs" / f"{tag}.toml"
                    write_config(config, model, lam)
                    run(["train", "--config", str(config), "--data", str(data),
                         "--out", str(run_dir), "--seed", str(seed), "--epochs", str(args.epochs),
                         "--device", args.device, "--overwrite",
                         "--set", f"data.n_train={size + n_val}", "--set", f"data.n_val={n_val}",
                         "--set", f"data.n_test={n_test}", "--set", "data.split_seed=0", "--set", "run.val_every=3"])
                    (run_dir / "DONE").write_text("trained\n")
                eval_dir = run_dir / "eval"
                if not (eval_dir / "metrics.json").exists():
                    run(["evaluate", "--checkpoint", str(run_dir / "best.pt"), "--data", str(data),
                         "--out", str(eval_dir), "--device", args.device])
                m = json.loads((eval_dir / "metrics.json").read_text())
                results.setdefault(name, {}).setdefault(size, []).append(m["rollout"]["rel_l2_final"]["mean"])
    lines = ["| model | " + " | ".join(f"{s} training trajectories" for s in args.sizes) + " |",
             "|---|" + "---|" * len(args.sizes)]
    for name, by_size in results.items():
        cells = []
        for s in args.sizes:
            v = np.array(by_size[s])
            cells.append(f"{v.mean():.3f} +- {v.std(ddof=1) if v.size > 1 else 0.0:.3f} ({', '.join(f'{x:.3f}' for x in v)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    print(f"study time {time.perf_counter() - t0:.0f} s (training + evaluation)")
    (out / "results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
