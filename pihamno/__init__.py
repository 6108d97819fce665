"""pihamno: physics-informed hierarchical neural operators for 3D phase-field PDEs on finite elements.

Data path: ``fem`` (meshes -> operators -> reference solvers) -> ``pihamno.data`` -> ``pihamno.models`` /
``pihamno.physics`` -> ``pihamno.stepping`` -> ``pihamno.training`` / ``pihamno.evaluation`` ->
``pihamno.export`` / ``pihamno.rendering``; ``pihamno.config`` parses configs and builds the pieces they
name, ``pihamno.training.train`` runs one, and ``pihamno.workflows`` strings the stages together
(docs/design.md section 1).

The main entry points are available here, imported on first use (so ``pihamno --help`` stays fast)::

    import pihamno
    spec = pihamno.DatasetSpec(params=pihamno.preset("ac"), n=16, frames=21, trajectories=12)
    pihamno.generate(spec, "data/ac_n16.h5")
    cfg = pihamno.shipped_config("ac_small").updated(data={"path": "data/ac_n16.h5"})
    result = pihamno.train(cfg)                                   # resumes/reuses with resume="auto"
    metrics = pihamno.evaluate_checkpoint(result.checkpoint, "data/ac_n16.h5", "runs/ac_small/eval")

>>> import pihamno
>>> sorted(pihamno.__all__)[:4]
['DatasetSpec', 'InputError', 'PhysicsLoss', 'TrainConfig']
>>> pihamno.build_model("fno", width=4, modes=2).name
'fno'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: name -> module that defines it (imported lazily by :func:`__getattr__`)
_ENTRY_POINTS = {
    "InputError": "pihamno.errors",
    "preset": "fem.schemes",
    "DatasetSpec": "pihamno.data",
    "generate": "pihamno.data",
    "load_trajectories": "pihamno.data",
    "build_model": "pihamno.models",
    "available_models": "pihamno.models",
    "register_model": "pihamno.models",
    "load_plugins": "pihamno.plugins",
    "PhysicsLoss": "pihamno.physics",
    "rollout": "pihamno.stepping",
    "TrainConfig": "pihamno.config",
    "load_config": "pihamno.config",
    "shipped_config": "pihamno.config",
    "train": "pihamno.training",
    "load_trained": "pihamno.evaluation",
    "evaluate_checkpoint": "pihamno.evaluation",
    "evaluate_model": "pihamno.evaluation",
}

__all__ = sorted(_ENTRY_POINTS)


def __getattr__(name: str):
    if name in _ENTRY_POINTS:
        value = getattr(importlib.import_module(_ENTRY_POINTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pihamno' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
