"""The smallest training run the CLI and library tests drive: a width-2 HAMNO on 4 + 1 + 2 trajectories."""

from __future__ import annotations

import tomli_w


def tiny_run_toml(data, out, *, epochs: int = 1, steps_per_epoch: int = 2, lam: float | None = None) -> str:
    """A run config as TOML text; ``lam`` adds a ``[physics]`` section (None: the config's default, no physics)."""
    cfg = {
        "data": {"path": str(data), "n_train": 4, "n_val": 1, "n_test": 2},
        "model": {"name": "hamno", "width": 2, "modes": 2, "n_layers": 1, "width_q": 4},
        "optim": {"lr": 1e-2, "epochs": epochs, "steps_per_epoch": steps_per_epoch, "batch_size": 2},
        "run": {"out": str(out), "device": "cpu", "tensorboard": False},
    }
    if lam is not None:
        cfg["physics"] = {"lam": lam}
    return tomli_w.dumps(cfg)
