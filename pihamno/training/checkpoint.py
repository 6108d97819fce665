"""Training checkpoints: everything to continue a run exactly, loadable with ``torch.load(weights_only=True)``.

A training checkpoint is a model checkpoint of :mod:`pihamno.models.checkpoint` (``model_name``,
``model_config``, ``state_dict``; so :func:`pihamno.models.checkpoint.load_checkpoint` rebuilds the model
from it) plus these keys, all tensors or plain Python values:

==============  ==================================================================================
``format``      ``"pihamno-train/1"``
``config``      the run's :class:`~pihamno.config.TrainConfig` as a nested dict
``epoch``       epochs completed; ``step`` optimiser steps completed
``optimizer``   ``optimizer.state_dict()`` (AdamW moments); ``scheduler`` ``LambdaLR.state_dict()``
``rng``         ``{"torch": ByteTensor, "sampler": ByteTensor, "cuda": [ByteTensor, ...]}``
``best``        ``{"score": float, "epoch": int}`` of the validation metric (lower is better)
``processor``   :meth:`FieldProcessor.state_dict` (normalisation applied around the model)
``split``       ``{"train": [...], "val": [...], "test": [...]}`` trajectory indices
``data``        ``{"path": str, "meta": dict}`` -- the dataset and its attributes (plain values)
``T_in``        input frames of the model
``world_size``  processes that trained it (information: a run continues under any world size)
==============  ==================================================================================

``last.pt`` is rewritten (atomically) after every epoch; ``best.pt`` when the validation score improves.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pihamno.errors import InputError
from pihamno.io import plain  # noqa: F401 - re-exported: checkpoints store plain values

FORMAT = "pihamno-train/1"


def capture_rng(sampler) -> dict:
    """RNG states as tensors: torch CPU, every CUDA device, and the window sampler's generator."""
    state = {"torch": torch.get_rng_state(), "sampler": sampler.generator.get_state(), "cuda": []}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def restore_rng(state: dict, sampler) -> None:
    torch.set_rng_state(state["torch"])
    sampler.generator.set_state(state["sampler"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_checkpoint(path: str | Path, model: torch.nn.Module, **state) -> None:
    """Write ``model`` (through the models' checkpoint format) plus the training ``state`` keys atomically."""
    from pihamno.models.checkpoint import save_checkpoint

    save_checkpoint(path, model, format=FORMAT, **state)


def load_training_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """The payload dict of a training checkpoint, read with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle/zip errors of a truncated or foreign file
        raise InputError(f"{str(path)!r} could not be read as a checkpoint: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{str(path)!r} is not a pihamno training checkpoint (format {FORMAT!r}); cannot resume from it")
    return payload


def resolve_resume(resume: str, out: str) -> Path:
    """``--resume`` value -> checkpoint path: ``"auto"`` -> ``OUT/last.pt``; a folder -> its ``last.pt``."""
    p = Path(out) / "last.pt" if resume == "auto" else Path(resume)
    if p.is_dir():
        p = p / "last.pt"
    if not p.is_file():
        raise InputError(f"cannot resume: checkpoint {str(p)!r} does not exist")
    return p
