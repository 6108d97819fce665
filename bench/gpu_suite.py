"""The device suite: tests, training, inference and reference-solver speed on one GPU, as a JSON + Markdown report.

    python bench/gpu_suite.py                                  # on a CUDA machine: everything, < 8 min on one H100/H200
    python bench/gpu_suite.py --device cpu --tiny              # the same code path on the CPU in under a minute (CI)
    python bench/gpu_suite.py --checkpoint runs/ac/best.pt --data data/ac.h5   # + speed and accuracy on a dataset
    python bench/gpu_suite.py --sections rollout solver --budget 300 --plot

Sections (``--sections``; each item is skipped with a note once the ``--budget`` seconds are spent, an error is
recorded in its row and the suite goes on; the report is rewritten after every section):

==========  =====================================================================================================
tests       ``pytest -m gpu`` on CUDA (the ``gpu``-marked tests and the CUDA runs of every test taking the
            ``device`` fixture: model, physics, stepping, training, solver, generation); on the CPU
            ``-m "devices and not gpu and not slow"``
train       paper-size HAMNO (``--tiny``: width 4) with the PI-HAMNO objective (lam = 0.25) at n = 32, batch 8,
            ``pihamno.training.build_trainer`` on an AC dataset the torch solver generated on the device; ~200 steps
            each in fp32, TF32, TF32 + channels-last, bf16 autocast, bf16 + ``torch.compile``: step time, peak
            memory, physics share (forward + backward of the physics terms / step)
rollout     frames/s of ``pihamno.stepping.stream_rollout`` (inference_mode, window-only memory) at n = 32 and 64,
            batch 1, 8, 64, fp32 / bf16 / compiled (CUDA graphs) / both; against the FEM solver's frames/s on this
            machine's CPU (numpy, one trajectory per process) and on the device (torch, batched)
scaling     n = 64 and 128: training step time and memory at batches 1, 2, 4, ... until one does not fit
solver      the reference solver per PDE: numpy on the CPU against torch on the device, per step and batched
accuracy    with ``--checkpoint`` and ``--data`` (``--tiny``: on its own data, untrained): rel-L2 at the last frame
            and frames/s of the surrogate against the FEM solver at the data's dt and 2, 4, 8 times it (the
            solver's own speed/accuracy trade-off)
==========  =====================================================================================================

Output in ``--out`` (default ``runs/gpu_suite``): ``report.json``, ``report.md``, and with ``--plot`` the
speed/accuracy picture ``speed_accuracy.png`` (needs the accuracy section). Threads: one BLAS thread (the
solver's small matrix products; see bench/bench_solvers.py); torch keeps its default on the GPU machine,
``--threads`` sets it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import suite_sections as sec  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("tests", "train", "rollout", "solver", "accuracy", "scaling")  # the floors' measurements first

#: sizes of the full suite (one H100/H200) and of --tiny (the CPU, < 1 min); *_budget: seconds an item may need
# Planned on paper for one H100/H200 (nothing of it has run on a GPU yet): tests <= 150 s; train 5 x 200 steps
# (~10-30 ms each) plus one compilation (~1-2 min); rollout: 3 compilations (~30-60 s each) and 9 eager cases;
# solver at n = 64, 128 (assembly on the CPU: ~10 s and ~60 s). Items are skipped once the budget is short.
FULL = dict(
    n=32, batch=8, model={}, gen_traj=6, gen_frames=12, train_steps=200, train_budget=40, compile_budget=150,
    rollout_cases=[(64, 64, "bf16 + compiled"), (64, 64, "fp32"), (64, 64, "bf16"), (32, 64, "bf16 + compiled"),
                   (32, 1, "fp32"), (32, 1, "compiled"), (32, 8, "fp32"), (32, 8, "bf16"), (32, 64, "fp32"),
                   (32, 64, "bf16"), (64, 8, "fp32"), (64, 8, "bf16")],
    rollout_steps=20, rollout_budget=15, solver_n=[64, 128], cpu_solver_n=[32, 64], solver_batch=16, solver_steps=5,
    solver_budget=25, scaling_n=[64, 128], scaling_max_batch=64, scaling_steps=3, scaling_budget=15,
    accuracy_traj=8, accuracy_dt_factors=[1, 2, 4, 8], test_timeout=150,
)
TINY = dict(
    n=8, batch=2, model=dict(width=4, modes=2, width_q=4, n_layers=1), gen_traj=3, gen_frames=9, train_steps=3,
    train_budget=5, compile_budget=10, rollout_cases=[(8, 2, "compiled"), (8, 1, "fp32"), (8, 2, "fp32"), (8, 2, "bf16")],
    rollout_steps=3, rollout_budget=3, solver_n=[8], cpu_solver_n=[8], solver_batch=2, solver_steps=2,
    solver_budget=2, scaling_n=[8], scaling_max_batch=2, scaling_steps=1, scaling_budget=2,
    accuracy_traj=2, accuracy_dt_factors=[1, 2], test_timeout=150,  # a loaded 2-core runner: ~20 s idle
)


def tests(ctx: sec.Context) -> dict:
    """The gpu-marked tests and the device runs, in a pytest subprocess; rows: passed/failed/skipped counts."""
    marker = "gpu" if ctx.cuda else "devices and not gpu and not slow"
    targets = ["tests"] if ctx.cuda else ["tests/test_devices.py"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker, *targets]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    timeout = max(10, min(ctx.sizes["test_timeout"], ctx.left() - 5))
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        tail = [ln for ln in done.stdout.splitlines() if ln.strip()][-15:]
        counts = _counts(tail[-1] if tail else "")
        row = {"selection": f'-m "{marker}" {" ".join(targets)}', "exit": done.returncode, **counts}
    except subprocess.TimeoutExpired:
        row, tail = {"selection": f'-m "{marker}"', "exit": "timeout", "seconds_limit": timeout}, []
    row["seconds"] = time.perf_counter() - t0
    return {"rows": [row], "notes": [ln for ln in tail if "FAILED" in ln or "Error" in ln][:10]}


def _counts(summary: str) -> dict:
    out = {}
    for part in summary.replace("=", " ").split(","):
        words = part.split()
        if len(words) >= 2 and words[0].isdigit():
            out[words[1]] = int(words[0])
    return out


def environment(device: torch.device) -> dict:
    info = {"device": str(device), "torch": torch.__version__, "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(), "host": platform.node()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info |= {"gpu": props.name, "gpu_memory_gib": round(props.total_memory / 2**30, 1), "cuda": torch.version.cuda}
    return info


# --------------------------------------------------------------------------------------------- report
def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def _table(rows: list[dict]) -> list[str]:
    if not rows:
        return ["(no rows)"]
    cols = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return lines


def markdown(report: dict) -> str:
    env = report["environment"]
    out = [f"# Device suite: {env.get('gpu', env['device'])}", "",
           f"torch {env['torch']}, Python {env['python']}, {env['cpu_count']} CPUs, {'tiny' if report['tiny'] else 'full'} sizes, "
           f"{report['seconds']:.0f} s of a {report['budget']:.0f} s budget. Ratios compare rows of this run only.", ""]
    for name, part in report["sections"].items():
        out += [f"## {name}", "", " ".join(part.get("doc", "").split("\n\n")[0].split()), ""]
        for key in ("rows", "vs_solver"):
            if key in part:
                out += _table(part[key]) + [""]
        out += [f"- {note}" for note in part.get("notes", [])] + ([""] if part.get("notes") else [])
        if "error" in part:
            out += [f"**error**: {part['error']}", ""]
    return "\n".join(out)


def plot(report: dict, path: Path) -> bool:
    rows = report["sections"].get("accuracy", {}).get("rows", [])
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    groups = {}
    for r in rows:
        if "frames_per_s" in r:
            kind = "surrogate" if r["method"].startswith("surrogate") else f"FEM solver ({r['device']}, {r['backend']})"
            groups.setdefault(kind, []).append(r)
    for kind, rs in groups.items():
        rs.sort(key=lambda r: r["frames_per_s"])
        ax.plot([r["frames_per_s"] for r in rs], [max(r["rel_l2_last"], 1e-9) for r in rs],
                "o" if kind == "surrogate" else "s-", label=kind)
        for r in rs:
            ax.annotate(r["method"].replace("FEM solver ", ""), (r["frames_per_s"], max(r["rel_l2_last"], 1e-9)),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
    where = report["environment"].get("gpu", report["environment"]["device"])
    ax.set(xscale="log", yscale="log", xlabel="frames per second (dataset frames covered)",
           ylabel="rel-L2 at the last frame", title=f"speed and accuracy on {where}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, help="cuda | cuda:N | cpu (default: cuda, which must be present)")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes: the whole code path in under a minute on a CPU")
    ap.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    ap.add_argument("--budget", type=float, default=None, help="seconds for the whole suite (default 450; tiny 50)")
    ap.add_argument("--out", default="runs/gpu_suite", help="report folder (default runs/gpu_suite)")
    ap.add_argument("--checkpoint", default=None, help="a trained model for the rollout and accuracy sections")
    ap.add_argument("--data", default=None, help="a dataset for the accuracy section (with --checkpoint)")
    ap.add_argument("--compile-backend", default=None, help="torch.compile backend (default inductor; eager on the CPU)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default torch's; 1 with --tiny)")
    ap.add_argument("--plot", action="store_true", help="write speed_accuracy.png from the accuracy section")
    ap.add_argument("--rollout-cases", nargs="+", default=None, metavar="N:BATCH:VARIANT",
                    help="replace the rollout cases, e.g. 32:1:fp32 32:8:fp32 (variants: fp32, bf16, compiled, "
                    "'bf16 + compiled')")
    args = ap.parse_args(argv)

    dev = torch.device(args.device or "cuda")
    if dev.type == "cuda" and not torch.cuda.is_available():
        ap.error("CUDA is not available here: pass --device cpu (with --tiny for the CI-sized run)")
    if args.threads or args.tiny:
        torch.set_num_threads(args.threads or 1)
    sizes = dict(TINY if args.tiny else FULL)
    if args.rollout_cases:
        sizes["rollout_cases"] = [(int(c.split(":")[0]), int(c.split(":")[1]), c.split(":", 2)[2]) for c in args.rollout_cases]
    budget = args.budget or (50.0 if args.tiny else 450.0)
    backend = args.compile_backend or ("inductor" if dev.type == "cuda" else "eager")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    # accuracy needs a trained model and its data; --tiny runs its code path on the generated data anyway
    wanted = [s for s in args.sections if s != "accuracy" or (args.checkpoint and args.data) or args.tiny]
    report = {"environment": environment(dev), "tiny": args.tiny, "budget": budget, "sections": {}, "seconds": 0.0,
              "compile_backend": backend, "sections_run": wanted}
    with tempfile.TemporaryDirectory(prefix="gpu_suite_") as tmp:
        ctx = sec.Context(dev, sizes, t_start + budget, Path(tmp), backend, args.checkpoint, args.data)
        funcs = {"tests": tests, "train": sec.train, "rollout": sec.rollout, "scaling": sec.scaling,
                 "solver": sec.solver, "accuracy": sec.accuracy}
        for name in wanted:
            t0 = time.perf_counter()
            print(f"[gpu_suite] {name} ...", flush=True)
            try:
                part = funcs[name](ctx)
            except Exception as exc:
                part = {"rows": [], "error": f"{type(exc).__name__}: {str(exc)[:500]}"}
            part["seconds"] = time.perf_counter() - t0
            part["doc"] = (funcs[name].__doc__ or "").strip()
            report["sections"][name] = part
            report["seconds"] = time.perf_counter() - t_start
            (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
            (out / "report.md").write_text(markdown(report))
            print(f"[gpu_suite] {name}: {part['seconds']:.1f} s", flush=True)
    if args.plot and plot(report, out / "speed_accuracy.png"):
        print(f"[gpu_suite] wrote {out / 'speed_accuracy.png'}")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
