"""Physics-loss cost against a HAMNO training step, and the assembled weak residual against the paper's
element-local one, measured side by side in one run.

    python bench/bench_physics.py                       # n = 32, batch 8, AC, CPU (+ CUDA when present)
    python bench/bench_physics.py --pde ch --device cuda

Prints, per device: HAMNO forward+backward (the baseline, paper size: width 12, modes 8); strong + weak
(assembled) physics losses forward+backward and their fraction of the baseline (floor: <= 10%); the
assembled against the element-local weak residual, time and peak memory (floor: >= 3x faster).
Peak memory: ``torch.cuda.max_memory_allocated`` on CUDA; on CPU the bytes of the tensors saved for
backward plus the output (``torch.autograd.graph.saved_tensors_hooks``), since CPU allocations are not
tracked by torch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from fem.schemes import preset
from pihamno.physics import PhysicsLoss


def timeit(fn, repeats: int, device: torch.device) -> float:
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_bytes(fn, device: torch.device) -> int:
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size() if not t.is_sparse_csr else 0)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(saved)


def bench(device: torch.device, args) -> None:
    n, B = args.n, args.batch
    print(f"\n== {device}: {args.pde.upper()}, n = {n}, batch {B} ==")
    params = preset(args.pde)
    u0 = torch.rand(B, n, n, n, device=device) * 2 - 1
    u1 = (u0 + 0.01 * torch.randn_like(u0)).requires_grad_(True)

    baseline = None
    try:
        from pihamno.models import build_model

        model = build_model("hamno", width=args.width, modes=8, n_layers=2, expansion=2, width_q=12, T_in=5).to(device)
        x = torch.randn(B, 5, n, n, n, device=device)

        def hamno_step():
            model.zero_grad(set_to_none=True)
            model(x).square().mean().backward()

        baseline = timeit(hamno_step, args.repeats_model, device)
        print(f"HAMNO (width {args.width}) fwd+bwd: {baseline * 1e3:.0f} ms (baseline)")
    except Exception as exc:  # models not installed: still report the physics numbers
        print(f"HAMNO baseline unavailable ({type(exc).__name__}: {exc})")

    losses = {kind: PhysicsLoss(params, n, weak=kind, device=device) for kind in ("assembled", "element_local")}

    def physics(kind, which=("strong", "weak")):
        def run():
            u1.grad = None
            out = losses[kind](u0, u1)
            sum(out[k] for k in which).backward()
        return run

    t_both = timeit(physics("assembled"), args.repeats, device)
    frac = f" = {t_both / baseline:.1%} of the HAMNO step (floor <= 10%)" if baseline else ""
    print(f"strong + weak (assembled) fwd+bwd: {t_both * 1e3:.1f} ms{frac}")
    t_as = timeit(physics("assembled", ("weak",)), args.repeats, device)
    t_el = timeit(physics("element_local", ("weak",)), args.repeats, device)
    m_as = peak_bytes(physics("assembled", ("weak",)), device)
    m_el = peak_bytes(physics("element_local", ("weak",)), device)
    print(f"weak residual fwd+bwd: assembled {t_as * 1e3:.1f} ms, element-local {t_el * 1e3:.1f} ms "
          f"-> assembled {t_el / t_as:.1f}x faster (floor >= 3x)")
    print(f"weak residual memory: assembled {m_as / 2**20:.1f} MiB, element-local {m_el / 2**20:.1f} MiB "
          f"-> {m_el / max(m_as, 1):.1f}x less")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pde", choices=["ac", "ch", "sh"], default="ac")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--width", type=int, default=12, help="HAMNO width of the baseline (paper: 12)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--repeats-model", type=int, default=3)
    ap.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    for d in devices:
        if d == "cpu" or torch.cuda.is_available():
            bench(torch.device(d), args)


if __name__ == "__main__":
    main()
