"""Model benchmark: forward+backward time and peak memory of every registered model, as ratios to FNO.

    python bench/bench_models.py                         # n = 32, batch 8, CUDA if present else CPU
    python bench/bench_models.py --device cpu --repeats 2 --models fno hamno
    python bench/bench_models.py --device cuda --scaling --bf16 --compile   # + HAMNO at n = 32, 64, 128
    python bench/bench_models.py --device cpu --models hamno --scaling --scaling-n 32 --channels-last
    python bench/bench_models.py --spectral --threads 1 --repeats 6   # fft branch: corner slices vs flat index

Each model is built at its default (paper-sized) configuration and trained for one step on a random batch
``(batch, 5, n, n, n)``: ``loss = mean(model(u)^2)``, ``loss.backward()``. Time is the median of ``--repeats``
steps after ``--warmup`` steps (CUDA synchronised). Every model runs in its own fresh process, so that its
memory figure is not polluted by the others:

* CUDA: ``torch.cuda.max_memory_allocated`` during the steps minus the memory held before them (parameters and
  the input) -- the activations, gradients and workspaces the step needs (tensor memory, not the caching
  allocator's reserve).
* CPU: growth of the process's peak resident set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) across the
  steps -- everything the step touched (tensors, allocator caches, oneDNN workspaces); ``tracemalloc`` does
  not see torch's allocations. Coarser than the CUDA figure, comparable between models of one run.

``--spectral`` compares, in one process with interleaved steps, HAMNO (default size) with the fft spectral
convolution as it is -- kept modes gathered and scattered by flat index (``SpectralConv3d._fft``) -- against the
corner-by-corner slicing it replaced (:func:`legacy_fft`, kept here as the reference): the forward outputs must
be bit-identical, and it prints the step times, their ratio and the bytes allocated during ``backward()``
(torch profiler: positive self allocations, tensor memory).

Ratios are against FNO measured in the same run. ``--scaling`` adds HAMNO at n = 32, 64, 128 (``--scaling-n``) in
float32, and with ``--bf16`` (bf16 autocast; spectral layers stay float32) and/or ``--compile``
(``torch.compile``) and/or ``--channels-last`` (weights and input as ``channels_last_3d``, the trainer's
``run.channels_last``); it is meant for CUDA (on CPU it runs, slowly: compiling HAMNO takes minutes there).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import time


def _step_stats(name: str, n: int, batch: int, device: str, repeats: int, warmup: int, bf16: bool, compile_: bool,
                threads: int | None = None, channels_last: bool = False):
    """Runs in a child process: (params, median step seconds, peak step memory in MiB) or an error string."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from pihamno.device import median_seconds
    from pihamno.models import build_model, count_parameters

    torch.manual_seed(0)
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    model = build_model(name).to(dev)
    params = count_parameters(model)
    u = torch.randn(batch, model.T_in, n, n, n, device=dev)
    if channels_last:
        model, u = model.to(memory_format=torch.channels_last_3d), u.contiguous(memory_format=torch.channels_last_3d)
    net = torch.compile(model) if compile_ else model

    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            loss = net(u).float().square().mean()
        loss.backward()
        model.zero_grad(set_to_none=True)

    try:
        if cuda:
            torch.cuda.reset_peak_memory_stats(dev)
            base = torch.cuda.memory_allocated(dev)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        median = median_seconds(step, repeats, dev, warmup=warmup)
        if cuda:
            mem = (torch.cuda.max_memory_allocated(dev) - base) / 2**20
        else:
            mem = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    except torch.OutOfMemoryError:
        return params, None, "OOM"
    return params, median, mem


def legacy_fft(self, x, size_in, size_out):
    """The fft branch of ``SpectralConv3d`` before the flat-index gather/scatter: each of the four corners sliced
    out of the spectrum and copied into a zero spectrum. Its backward allocates a spectrum-sized zero buffer per
    corner slice and a spectrum-sized clone per corner copy. Band truncation only (the default)."""
    import torch

    from pihamno.models.layers.spectral import _float32
    from pihamno.models.layers.transforms import fft_mode_caps

    modes = tuple(min(m, c) for m, c in zip(self.modes, fft_mode_caps(size_in, size_out)))
    small = tuple(min(i, o) for i, o in zip(size_in, size_out))
    (m0, m1, m2), (M0, M1, _) = modes, self.modes
    corners = []
    for idx, (neg0, neg1) in enumerate(((False, False), (True, False), (False, True), (True, True))):
        if (neg0 and small[0] == 1) or (neg1 and small[1] == 1):
            continue
        spec = (slice(-m0, None) if neg0 else slice(0, m0), slice(-m1, None) if neg1 else slice(0, m1), slice(0, m2))
        wts = (slice(M0 - m0, M0) if neg0 else slice(0, m0), slice(M1 - m1, M1) if neg1 else slice(0, m1), slice(0, m2))
        corners.append((idx, spec, wts))
    X = torch.fft.rfftn(x, dim=(-3, -2, -1), norm="forward")
    W = torch.view_as_complex(_float32(self.weight))
    Y = X.new_zeros(x.shape[0], self.out_channels, size_out[0], size_out[1], size_out[2] // 2 + 1)
    Xc = torch.stack([X[(..., *spec)] for _, spec, _ in corners])
    Wc = torch.stack([W[(idx, ..., *wts)] for idx, _, wts in corners])
    Yc = torch.einsum("cbixyz,cioxyz->cboxyz", Xc, Wc)
    for c, (_, spec, _) in enumerate(corners):
        Y[(..., *spec)] = Yc[c]
    return torch.fft.irfftn(Y, s=size_out, dim=(-3, -2, -1), norm="forward")


def spectral_comparison(n: int, batch: int, device: str, repeats: int, warmup: int) -> None:
    """HAMNO steps with :func:`legacy_fft` and with the current fft branch, interleaved (module docstring)."""
    import torch

    from pihamno.models import build_model
    from pihamno.models.layers.spectral import SpectralConv3d

    torch.manual_seed(0)
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = build_model("hamno").to(dev)
    u = torch.randn(batch, model.T_in, n, n, n, device=dev)
    current = SpectralConv3d._fft
    variants = {"corner slices (before)": legacy_fft, "flat index (now)": current}

    def step():
        loss = model(u).square().mean()
        loss.backward()
        model.zero_grad(set_to_none=True)

    def backward_bytes():
        from torch.profiler import ProfilerActivity, profile

        loss = model(u).square().mean()
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
        with profile(activities=acts, profile_memory=True) as prof:
            loss.backward()
        model.zero_grad(set_to_none=True)
        attr = "self_device_memory_usage" if dev.type == "cuda" else "self_cpu_memory_usage"
        return sum(max(0, getattr(e, attr, 0) or 0) for e in prof.key_averages())

    outputs, times, mem = {}, {k: [] for k in variants}, {}
    try:
        for name, fn in variants.items():
            SpectralConv3d._fft = fn
            with torch.no_grad():
                outputs[name] = model(u)
            mem[name] = backward_bytes() / 2**20
        for r in range(warmup + repeats):
            for name, fn in variants.items():
                SpectralConv3d._fft = fn
                sync()
                t0 = time.perf_counter()
                step()
                sync()
                if r >= warmup:
                    times[name].append(time.perf_counter() - t0)
    finally:
        SpectralConv3d._fft = current
    before, now = variants
    same = torch.equal(outputs[before], outputs[now])
    print(f"# HAMNO (default size) forward+backward, n = {n}, batch {batch}, {device}, {torch.get_num_threads()} "
          f"threads, median of {repeats} interleaved steps after {warmup} warm-up; forward outputs bit-identical: {same}")
    print("# backward MiB: bytes allocated during loss.backward() (profiler, positive self allocations)\n")
    print("| spectral fft branch | step time | ratio | backward MiB | ratio |")
    print("|---|---:|---:|---:|---:|")
    t_ref = statistics.median(times[before])
    for name in variants:
        t = statistics.median(times[name])
        print(f"| {name} | {t * 1e3:.0f} ms | {t / t_ref:.3f} | {mem[name]:.0f} | {mem[name] / mem[before]:.3f} |")


def _child(queue, args):
    try:
        queue.put(_step_stats(*args))
    except BaseException as exc:  # report, never hang the parent
        queue.put((None, None, f"{type(exc).__name__}: {exc}"))


def measure(*args):
    """``_step_stats`` in a fresh spawned process (own memory high-water mark, own CUDA context)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, args))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _fmt(value, unit="", digits=0):
    return f"{value:.{digits}f}{unit}" if isinstance(value, (int, float)) else str(value)


def main(argv=None) -> int:
    import torch

    from pihamno.models import available_models

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=32, help="grid nodes per axis (default 32)")
    p.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: cuda if available else cpu)")
    p.add_argument("--repeats", type=int, default=None, help="timed steps per model (default 10 on CUDA, 2 on CPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3 on CUDA, 1 on CPU)")
    p.add_argument("--models", nargs="+", default=None, help=f"subset of {available_models()} (FNO is always run)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per model process (default: torch's)")
    p.add_argument("--scaling", action="store_true", help="also HAMNO at several n (meant for CUDA; slow on CPU)")
    p.add_argument("--scaling-n", type=int, nargs="+", default=[32, 64, 128], help="grids of --scaling (default 32 64 128)")
    p.add_argument("--bf16", action="store_true", help="with --scaling: add bf16-autocast runs")
    p.add_argument("--compile", action="store_true", help="with --scaling: add torch.compile runs")
    p.add_argument("--channels-last", action="store_true", help="with --scaling: add channels_last_3d runs")
    p.add_argument("--spectral", action="store_true",
                   help="only compare HAMNO steps with the old corner-sliced fft branch and the current one")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.startswith("cuda")
    repeats = args.repeats or (10 if cuda else 2)
    warmup = args.warmup if args.warmup is not None else (3 if cuda else 1)
    if args.spectral:
        spectral_comparison(args.n, args.batch, device, repeats, warmup)
        return 0
    names = args.models or available_models()
    names = ["fno"] + [m for m in names if m != "fno"]
    unknown = [m for m in names if m not in available_models()]
    if unknown:
        p.error(f"unknown model(s) {unknown}; choose from {available_models()}")

    mem_what = "peak CUDA tensor memory of a step" if cuda else "peak RSS growth over the steps"
    print(f"# models, forward+backward, n = {args.n}, batch {args.batch}, {device}, "
          f"median of {repeats} after {warmup} warm-up, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"# memory: {mem_what} (MiB); ratios against FNO of this run\n")
    print("| model | parameters | step time | x FNO | memory (MiB) | x FNO |")
    print("|---|---:|---:|---:|---:|---:|")
    ref = None
    for name in names:
        params, t, mem = measure(name, args.n, args.batch, device, repeats, warmup, False, False, args.threads)
        if name == "fno":
            ref = (t, mem)
        rt = t / ref[0] if isinstance(t, float) and isinstance(ref[0], float) else "-"
        rm = mem / ref[1] if isinstance(mem, float) and isinstance(ref[1], float) and ref[1] > 0 else "-"
        print(f"| {name} | {params if params is not None else '-':,} | {_fmt(t * 1e3 if t else t, ' ms')} | "
              f"{_fmt(rt, '', 2)} | {_fmt(mem)} | {_fmt(rm, '', 2)} |", flush=True)

    if args.scaling:
        variants = [("fp32", False, False, False)]
        variants += [("fp32+channels_last", False, False, True)] if args.channels_last else []
        variants += [("bf16", True, False, False)] if args.bf16 else []
        variants += [("fp32+compile", False, True, False)] if args.compile else []
        variants += [("bf16+compile", True, True, False)] if args.bf16 and args.compile else []
        print(f"\n# HAMNO scaling, batch {args.batch}; ratios against fp32 eager at the same n\n")
        print("| n | variant | step time | x fp32 | memory (MiB) | x fp32 |")
        print("|---:|---|---:|---:|---:|---:|")
        for n in args.scaling_n:
            base = None
            for label, bf16, comp, cl in variants:
                _, t, mem = measure("hamno", n, args.batch, device, repeats, warmup, bf16, comp, args.threads, cl)
                if base is None:
                    base = (t, mem)
                rt = t / base[0] if isinstance(t, float) and isinstance(base[0], float) else "-"
                rm = mem / base[1] if isinstance(mem, float) and isinstance(base[1], float) else "-"
                print(f"| {n} | {label} | {_fmt(t * 1e3 if t else t, ' ms')} | {_fmt(rt, '', 2)} | {_fmt(mem)} | "
                      f"{_fmt(rm, '', 2)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
