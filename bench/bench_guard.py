"""What the rollout guard costs and how often it fires, per model: rollouts with and without it, in one run.

    python bench/bench_guard.py                                    # random-weight models on fresh AC, CH, SH data
    python bench/bench_guard.py --checkpoints 'runs/study17/*/n16/*_s0/best.pt'     # trained checkpoints

For every model (a checkpoint on the test split of its own training data, or with ``--random`` defaults every
registered model at a small size with random weights on reference data made here) and every PDE:

* ``raw`` -- wall time of the rollout of ``--trajectories`` trajectories in one batch (median of ``--repeats``);
* ``guarded`` -- the same rollout through :class:`pihamno.stepping.RolloutGuard` (energy and bound checks, or
  ``--guard SPEC``), timed alternately with ``raw`` in the same process; ``ratio`` = guarded / raw;
* ``replaced`` -- the share of predicted steps the guard replaced by the reference solver's step, ``clipped`` --
  the share it clipped to the maximum-principle bound (AC), ``held`` -- steps held (the replacement failed its
  own check; expected 0);
* ``reference`` -- the reference solver (the guard's stepper) alone over the same steps, for scale.

An untrained model is replaced at nearly every step: its row is the guard's worst-case cost. One thread by
default (``--threads``); the device from ``--device``.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

#: the data of the random-model mode: the physics study's PDE settings (examples/studies/physics_study.py)
CASES = {"ac": dict(eps=0.1, L=2.0, dt=1e-3), "ch": dict(eps=0.1, L=2.0, dt=5e-3), "sh": dict(eps=0.15, L=15.0, dt=0.3)}
#: small configurations of every registered model (random weights)
SMALL = {"hamno": dict(width=4, modes=4, n_layers=1, width_q=8), "fno": dict(width=8, modes=6, n_layers=2, width_q=8),
         "ffno": dict(width=8, modes=6, n_layers=2, width_q=16), "unet": dict(width=8), "uno": dict(width=4, modes=6),
         "ufno": dict(width=8, modes=6, n_fourier=1, n_ufourier=1, width_q=16),
         "deeponet": dict(width=32, branch_width=8, latent=32, n_basis=32)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(model, processor, ref: torch.Tensor, T_in: int, description, settings, repeats: int) -> dict:
    """Alternate raw and guarded rollouts of ``ref`` (B, F, n, n, n); time the reference solver alone too."""
    from pihamno.stepping import RolloutGuard, rollout

    dev = ref.device
    guard = RolloutGuard.for_data(description, ref.shape[-1], settings, dev)
    given, F = ref[:, :T_in], ref.shape[1]
    times = {"raw": [], "guarded": [], "reference": []}

    def run_reference():
        X, g = guard._nodal(given[:, -1]), None
        for _ in range((F - T_in) * guard.params.substeps):
            X, _, _, g = guard.stepper.advance(X, g)

    for _ in range(repeats + 1):  # the first round warms up
        for name, fn in (("raw", lambda: rollout(model, processor, given, F)),
                         ("guarded", lambda: rollout(model, processor, given, F, guard=guard)),
                         ("reference", run_reference)):
            _sync(dev)
            t0 = time.perf_counter()
            fn()
            _sync(dev)
            times[name].append(time.perf_counter() - t0)
    c = guard.totals()
    steps = float(sum(c["steps"]))
    med = {k: statistics.median(v[1:]) for k, v in times.items()}
    return med | {"ratio": med["guarded"] / med["raw"], "replaced": sum(c["replaced"]) / steps,
                  "clipped": sum(c["clipped"]) / steps, "held": int(sum(c["held"])), "steps": int(steps)}


def random_rows(args, dev) -> list[tuple[str, str, dict]]:
    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate, load_trajectories, read_description
    from pihamno.models import available_models, build_model
    from pihamno.stepping import FieldProcessor

    rows = []
    folder = Path(args.data or tempfile.mkdtemp(prefix="bench_guard_"))
    for pde in args.pdes:
        path = folder / f"{pde}_n{args.n}.h5"
        if not path.is_file():
            generate(DatasetSpec(params=preset(pde, **CASES[pde]), n=args.n, frames=args.frames,
                                 trajectories=args.trajectories, seed=0), path, progress=False)
        desc, ref = read_description(path), torch.from_numpy(load_trajectories(path)).to(dev)
        for name in args.models or available_models():
            torch.manual_seed(0)
            model = build_model(name, T_in=5, **SMALL.get(name, {})).to(dev).eval()
            rows.append((f"{name} (random)", pde, measure(model, FieldProcessor(), ref, 5, desc, args.settings,
                                                          args.repeats)))
    return rows


def checkpoint_rows(args, dev) -> list[tuple[str, str, dict]]:
    from pihamno.config import record
    from pihamno.data import load_trajectories, read_description
    from pihamno.evaluation import load_trained

    rows = []
    paths = sorted({p for pattern in args.checkpoints for p in (glob.glob(pattern) or [pattern])})
    for ckpt in paths:
        t = load_trained(ckpt, dev)
        data = args.data or record.locate_data(t.payload, Path(ckpt))
        desc = read_description(str(data))
        idx = np.asarray(t.subsets.get("test", []))[: args.trajectories] if not args.data else np.arange(args.trajectories)
        ref = torch.from_numpy(load_trajectories(str(data), idx)).to(dev)
        label = f"{Path(ckpt).parent.name} ({t.name}, {t.processor.target})"
        rows.append((label, str(desc.pde), measure(t.model.eval(), t.processor, ref, t.T_in, desc,
                                                          args.settings, args.repeats)))
    return rows


def main(argv=None) -> int:
    from pihamno.device import resolve_device
    from pihamno.stepping import GuardSettings

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoints", nargs="+", help="checkpoints (glob patterns allowed); default: random models")
    ap.add_argument("--models", nargs="+", help="random mode: these registered models (default: all)")
    ap.add_argument("--pdes", nargs="+", default=["ac", "ch", "sh"], choices=sorted(CASES))
    ap.add_argument("--n", type=int, default=16, help="random mode: grid (default 16)")
    ap.add_argument("--frames", type=int, default=41, help="random mode: frames per trajectory (default 41)")
    ap.add_argument("--trajectories", type=int, default=4, help="trajectories per rollout batch (default 4)")
    ap.add_argument("--data", help="random mode: folder for the data made here; checkpoints: a dataset to use")
    ap.add_argument("--guard", default="on", help="guard settings (pihamno evaluate --guard; default on)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.settings = GuardSettings.parse(args.guard) or GuardSettings()
    dev = resolve_device(args.device)
    rows = checkpoint_rows(args, dev) if args.checkpoints else random_rows(args, dev)
    print(f"rollouts of {args.trajectories} trajectories in one batch on {dev} ({args.threads} thread(s)), guard "
          f"{args.settings.describe()}; medians of {args.repeats}, raw and guarded alternated in one process")
    print(f"{'model':44s} {'pde':4s} {'raw s':>8s} {'guarded s':>10s} {'ratio':>6s} {'reference s':>12s} "
          f"{'replaced':>9s} {'clipped':>8s} {'held':>5s}")
    for label, pde, r in rows:
        print(f"{label[:44]:44s} {pde:4s} {r['raw']:8.3f} {r['guarded']:10.3f} {r['ratio']:6.2f} "
              f"{r['reference']:12.3f} {r['replaced']:9.1%} {r['clipped']:8.1%} {r['held']:5d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
