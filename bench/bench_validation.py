"""What share of a training epoch goes to validation: the shipped paper-size AC config on a tiny stand-in dataset.

    python bench/bench_validation.py                 # ac_pihamno (HAMNO paper size, n = 32, lam 0.25), one thread
    python bench/bench_validation.py --config ac_hamno --threads 2

The stand-in: 5 validation + 2 training AC trajectories of 101 frames at n = 32 (the config's frames, grid and
n_val; generated once into ``--data``), so one epoch's training (``steps_per_epoch`` steps of ``batch_size``) and
its validation cost what they cost with the full dataset. Timed in one process:

* ``train``: one epoch of ``Trainer.train_step`` (after one warm-up step);
* ``one_step``: ``Trainer.validate("one_step")``, the fixed windows (about 8 per trajectory, full batches);
* ``rollout``: ``Trainer.validate("rollout")``, the full streamed rollout of the 5 trajectories in one batch;
* ``old``: what every epoch validated before: a rollout of the 5 trajectories in batches of 4 (4 + 1).

and the shares they give over the config's epochs with the schedule (``val_rollout_every``) and without it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import torch  # noqa: E402


def stand_in(path: Path, n: int, frames: int, trajectories: int) -> Path:
    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate

    if not path.is_file():
        generate(DatasetSpec(params=preset("ac"), n=n, frames=frames, trajectories=trajectories, seed=0), path,
                 progress=False)
    return path


def timed(fn, repeats: int = 1) -> float:
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="ac_pihamno", help="a shipped config name or a TOML file (default ac_pihamno)")
    ap.add_argument("--data", default=None, help="stand-in dataset (default: a temporary folder)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from pihamno.config import load_config, shipped_config, shipped_names
    from pihamno.stepping import rollout
    from pihamno.training import build_trainer

    cfg = shipped_config(args.config) if args.config in shipped_names() else load_config(args.config)
    n_val, frames = cfg.data.n_val, 101
    with tempfile.TemporaryDirectory() as tmp:
        data = stand_in(Path(args.data or Path(tmp) / "ac.h5"), 32, frames, n_val + 2)
        cfg = cfg.updated(data={"path": str(data), "n_train": n_val + 2, "n_test": 0},
                          run={"out": str(Path(tmp) / "run"), "device": "cpu", "tensorboard": False})
        tr = build_trainer(cfg, quiet=True)
        o = cfg.optim
        tr.train_step()
        t = {"train": timed(tr.train_step, o.steps_per_epoch) * o.steps_per_epoch}
        tr._flush_guard()
        t["one_step"] = timed(lambda: tr.validate("one_step"))
        t["rollout"] = timed(lambda: tr.validate("rollout"))
        T = cfg.data.T_in
        old = lambda: [rollout(tr.model.eval(), tr.processor, tr.val_trajs[i : i + 4, :T], frames)  # noqa: E731
                       for i in range(0, n_val, 4)]
        t["old"] = timed(old)
    E, every = o.epochs, cfg.run.val_rollout_every
    n_roll = len({e for e in range(1, E + 1) if e % (cfg.run.val_every * every) == 0} | {E})
    val_new = n_roll * t["rollout"] + (E - n_roll) * t["one_step"]
    print(f"# {args.config}: HAMNO {cfg.model.options or 'paper size'}, n = 32, batch {o.batch_size}, "
          f"{o.steps_per_epoch} steps/epoch, {n_val} validation trajectories x {frames} frames, {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f}")
    for k, v in t.items():
        print(f"{k:>9}: {v:7.1f} s")
    print("per epoch, validation / (training + validation):")
    print(f"  old (rollout every epoch, batches 4 + 1):    {t['old'] / (t['train'] + t['old']):6.1%}")
    print(f"  full rollout in one batch, every epoch:      {t['rollout'] / (t['train'] + t['rollout']):6.1%}")
    print(f"  one-step windows (most epochs):              {t['one_step'] / (t['train'] + t['one_step']):6.1%}")
    print(f"  schedule over {E} epochs ({n_roll} rollouts):       {val_new / (E * t['train'] + val_new):6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
