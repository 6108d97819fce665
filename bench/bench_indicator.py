"""What the residual indicator adds to an evaluation: its cost per predicted step against the model's step, measured
side by side in one run.

    python bench/bench_indicator.py                      # AC, CH, SH at n = 16 and 32, batch 8, CPU, 1 thread
    python bench/bench_indicator.py --n 32 --device cuda

Prints, per PDE and n: the indicator of one step of ``batch`` fields (float64, the data's Kuhn P1 mesh; median of
``--repeats``) and the baseline, a forward pass of the examples' HAMNO (width 8, 1 layer) on the same batch, and the
ratio of the two (what evaluating the indicator adds to a rollout step, once for the rollout and once for the
reference).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from fem.schemes import preset
from pihamno.models import build_model
from pihamno.physics import ResidualIndicator


def median_time(fn, repeats: int, device: torch.device) -> float:
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pdes", nargs="+", default=["ac", "ch", "sh"])
    ap.add_argument("--n", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"indicator of one step vs a HAMNO forward (width 8), batch {args.batch}, {device}, {args.threads} thread(s)")
    print(f"{'PDE':<4} {'n':>3}  {'indicator':>10}  {'HAMNO fwd':>10}  {'ratio':>6}")
    for n in args.n:
        model = build_model("hamno", T_in=5, width=8, modes=6, n_layers=1, expansion=2, width_q=8).to(device).eval()
        x = torch.rand(args.batch, 5, n, n, n, device=device)
        with torch.no_grad():
            t_model = median_time(lambda m=model, x=x: m(x), args.repeats, device)
        for pde in args.pdes:
            ind = ResidualIndicator(preset(pde), n, device=device)
            u = torch.rand(args.batch, n, n, n, device=device) * 2 - 1
            t_ind = median_time(lambda ind=ind, u=u: ind(u, 0.9 * u), args.repeats, device)
            print(f"{pde:<4} {n:>3}  {t_ind * 1e3:>7.1f} ms  {t_model * 1e3:>7.0f} ms  {t_ind / t_model:>6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
