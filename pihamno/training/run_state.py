"""The state of a run: training checkpoints, everything to continue a run exactly, loadable with
``torch.load(weights_only=True)``.

A training checkpoint is a model checkpoint of :mod:`pihamno.models.checkpoint` (``model_name``,
``model_config``, ``state_dict``; so :func:`pihamno.models.checkpoint.load_checkpoint` rebuilds the model
from it) plus these keys, all tensors or plain Python values:

==============  ==================================================================================
``format``      ``"pihamno-train/1"``
``config``      the run's :class:`~pihamno.config.TrainConfig` as a nested dict
``epoch``       epochs completed; ``step`` optimiser steps completed
``optimizer``   ``optimizer.state_dict()`` (AdamW moments); ``scheduler`` ``LambdaLR.state_dict()``
``rng``         ``{"torch": ByteTensor, "sampler": ByteTensor, "cuda": [ByteTensor, ...]}`` (+ ``"unlabeled"``,
                the unlabeled windows' sampler, when there are unlabeled inputs; ``"pool"`` in older checkpoints)
``balance``     the objective's :class:`~pihamno.training.balance.LossBalance` state (None without one)
``best``        ``{"score": float, "epoch": int}`` of the validation metric (lower is better)
``processor``   :meth:`FieldProcessor.state_dict` (normalisation applied around the model)
``split``       ``{"train": [...], "val": [...], "test": [...]}`` trajectory indices
``data``        ``{"meta": dict}`` -- the dataset's attributes (plain values), plus the entries the caller
                records (:func:`pihamno.training.train`: the path as given, absolute and relative to the
                run folder, and the data's fingerprint; :mod:`pihamno.config.record`)
``T_in``        input frames of the model
``world_size``  processes that trained it (information: a run continues under any world size)
==============  ==================================================================================

``last.pt`` is rewritten (atomically) after every epoch; ``best.pt`` when the validation score improves.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pihamno.errors import InputError

FORMAT = "pihamno-train/1"


def capture_rng(sampler, unlabeled=None) -> dict:
    """RNG states as tensors: torch CPU, every CUDA device, the window sampler's generator (and the unlabeled one's)."""
    state = {"torch": torch.get_rng_state(), "sampler": sampler.generator.get_state(), "cuda": []}
    if unlabeled is not None:
        state["unlabeled"] = unlabeled.generator.get_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def restore_rng(state: dict, sampler, unlabeled=None) -> None:
    torch.set_rng_state(state["torch"])
    sampler.generator.set_state(state["sampler"])
    if unlabeled is not None:
        if "unlabeled" not in state:
            raise InputError("the checkpoint has no state of the unlabeled windows' sampler; it was trained without "
                             "[data] unlabeled")
        unlabeled.generator.set_state(state["unlabeled"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_checkpoint(path: str | Path, model: torch.nn.Module, **state) -> None:
    """Write ``model`` (through the models' checkpoint format) plus the training ``state`` keys atomically."""
    from pihamno.models.checkpoint import save_checkpoint

    save_checkpoint(path, model, format=FORMAT, **state)


def load_training_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """The payload dict of a training checkpoint, read with ``weights_only=True``."""
    from pihamno.models.checkpoint import read_payload

    payload = read_payload(path, map_location)
    if payload.get("format") != FORMAT:
        raise InputError(f"{str(path)!r} is not a pihamno training checkpoint (format {FORMAT!r}); cannot resume from it")
    return _upgrade(payload)


def _upgrade(payload: dict) -> dict:
    """Read older checkpoints as what they were: a run with lam > 0 and no ``balance`` key (written before the
    balance of the physics terms existed) trained the raw objective, ``[physics] balance = "none"``; the
    unlabeled sampler's state was stored as ``rng["pool"]`` before the code took the config's word."""
    physics = payload.get("config", {}).get("physics")
    if isinstance(physics, dict) and physics.get("lam", 0) > 0 and "balance" not in physics and "balance" not in payload:
        physics["balance"] = "none"
    rng = payload.get("rng")
    if isinstance(rng, dict) and "pool" in rng and "unlabeled" not in rng:
        rng["unlabeled"] = rng.pop("pool")
    return payload
