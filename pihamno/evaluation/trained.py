"""A trained model from its checkpoint, and the evaluation of a checkpoint on the data its run record allows.

* :func:`load_trained` -- a :class:`Trained`: the network (eval mode), its normalisation, ``T_in`` and the
  trajectory split it was trained with, from a model or training checkpoint;
* :func:`choose_trajectories` -- which trajectories ``evaluate`` scores, given the checkpoint's split and
  whether the data are its training data;
* :func:`evaluate_checkpoint` -- :func:`pihamno.evaluation.evaluate_model` of a checkpoint, on the data and
  trajectories its run record (:mod:`pihamno.config.record`) allows.

>>> spec, idx, scored = choose_trajectories(None, 6, {"train": [0, 1], "val": [2], "test": [4, 5]}, True, False, "a.h5")
>>> spec, idx, scored["test"], scored["seen_in_training"]
('test', [4, 5], 2, 0)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from pihamno.config import record
from pihamno.device import resolve_device
from pihamno.errors import InputError
from pihamno.evaluation.evaluate import MARKER, WHAT, evaluate_model, parse_trajectories
from pihamno.io import check_output_dir
from pihamno.models.checkpoint import checkpoint_in, load_checkpoint
from pihamno.stepping import FieldProcessor

log = logging.getLogger(__name__)


@dataclass
class Trained:
    """A trained model from a checkpoint: the network (eval mode), its normalisation, ``T_in``, the trajectory
    subsets of its run (``{"train", "val", "test"}`` -> indices, or empty; the checkpoint's ``split``) and the raw
    payload."""

    model: torch.nn.Module
    processor: FieldProcessor
    T_in: int
    subsets: dict
    payload: dict

    @property
    def name(self) -> str:
        return str(self.payload.get("model_name", ""))

    @property
    def lam(self) -> float | None:
        """``[physics] lam`` of the run (``None`` for a bare model checkpoint)."""
        lam = (self.payload.get("config") or {}).get("physics", {}).get("lam", 0.0 if "config" in self.payload else None)
        return None if lam is None else float(lam)


def load_trained(checkpoint: str | Path, device=None) -> Trained:
    """:class:`Trained` from a model or training checkpoint, read with ``torch.load(weights_only=True)``."""
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    model, payload = load_checkpoint(checkpoint, map_location=dev)
    T_in = int(payload.get("T_in", payload.get("config", {}).get("data", {}).get("T_in", 5)))
    return Trained(model, FieldProcessor.from_state(payload.get("processor")), T_in, dict(payload.get("split", {})),
                   payload)


def choose_trajectories(spec: str | None, n_total: int, subsets: dict, same: bool, include_training: bool,
                        data_name: str) -> tuple[str, list[int], dict]:
    """The trajectory selection ``evaluate`` scores: ``(spec, indices, scored)``.

    ``spec`` None is the default: the checkpoint's test split when the data is its training data (``same``),
    else every trajectory. On the training data, trajectories of the training or validation split are scored
    only with ``include_training``; ``scored`` counts the scored trajectories per split and says it in ``text``.
    """
    subsets = {k: [int(i) for i in v] for k, v in (subsets or {}).items()} if same else {}
    if spec is None:
        spec = "test" if subsets.get("test") else "all"
    spec = str(spec).strip()
    if spec in ("test", "val", "train") and not subsets:
        why = "is not the data the checkpoint was trained on" if not same else "has no recorded split in the checkpoint"
        raise InputError(f"--trajectories {spec} names a split of the training data, but {data_name} {why}; "
                         "give 'all' or indices")
    idx = [int(i) for i in parse_trajectories(spec, n_total, subsets)]
    member = {i: k for k in ("test", "val", "train") for i in subsets.get(k, ())}
    counts = {k: sum(member.get(i) == k for i in idx) for k in ("test", "val", "train")}
    counts["other"] = len(idx) - sum(counts.values())
    seen = counts["train"] + counts["val"]
    if seen and not include_training:
        raise InputError(
            f"--trajectories {spec} includes {counts['train']} training and {counts['val']} validation trajectories of "
            f"{data_name}, which the model saw in training; pass --include-training to score them anyway (the "
            "output says so), or score the test split (the default)")
    k = f"{len(idx)} {'trajectory' if len(idx) == 1 else 'trajectories'}"
    if not same:
        text = f"{k} of {data_name} (not the training data: none was seen in training)"
    elif seen:
        text = (f"{k} of {data_name}, the training data, INCLUDING {counts['train']} training and {counts['val']} "
                f"validation trajectories seen in training ({counts['test']} held-out test)")
    elif counts["other"]:
        text = (f"{k} of {data_name}, the training data, none seen in training ({counts['test']} of the test split, "
                f"{counts['other']} in no split)")
    else:
        text = f"{k} of {data_name} held out for testing (the checkpoint's test split of its training data)"
    return spec, idx, {"training_data": same, "seen_in_training": seen, **counts, "text": text}


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path | None, out: str | Path,
                        trajectories: str | None = None, device=None, batch_size: int = 8, quiet: bool = False, *,
                        overwrite: bool = False, allow_mismatch: bool = False, include_training: bool = False,
                        guard="on") -> dict:
    """:func:`pihamno.evaluation.evaluate_model` of a checkpoint on ``data``; writes ``rollout.h5``,
    ``metrics.json``, ``per_frame.csv`` to the folder ``out`` (refused when it exists, unless ``overwrite``) and
    returns the metrics.

    What is scored follows the checkpoint's run record (:mod:`pihamno.config.record`):

    * ``data`` ``None`` is the training data, found from any working directory;
    * data that differ from the training data in PDE, eps, L, dt, n or mesh are refused unless
      ``allow_mismatch`` (deliberate transfer, e.g. to a finer n; recorded in ``metrics.json``);
    * ``trajectories`` ``None`` is the test split on the training data (the same content, wherever the file
      is) and every trajectory of any other file; trajectories seen in training (training or validation
      split) are scored only with ``include_training``. ``metrics["scored"]`` says what was scored.

    ``guard`` adds the guarded rollout beside the raw one (``metrics["guard"]``, :mod:`pihamno.evaluation.guarded`;
    the raw rollout's entries are unchanged): a :class:`pihamno.stepping.GuardSettings` or its command-line
    spelling (``"on"``, the default: energy and bound; ``"off"`` or None: the raw rollout only;
    ``"energy,bound,residual=0.5"``).
    """
    from pihamno.stepping.guard import GuardSettings

    if not isinstance(guard, GuardSettings):
        guard = GuardSettings.parse(guard)
    check_output_dir(out, overwrite, MARKER, WHAT)  # before any work
    if batch_size < 1:
        raise InputError(f"--batch-size must be positive, got {batch_size}")
    dev = resolve_device(device)
    checkpoint = checkpoint_in(checkpoint)  # a file, or a run folder: its best.pt
    trained = load_trained(checkpoint, dev)
    stored = record.stored_fingerprint(trained.payload)
    if data is None:
        if stored is None:
            raise InputError(f"checkpoint {str(checkpoint)!r} records no training data; pass --data FILE")
        data = record.locate_data(trained.payload, checkpoint)
    fp = record.fingerprint(data)
    if not fp["shape"]:
        raise InputError(f"dataset {str(data)!r} has no 'u' dataset")
    same = stored is not None and record.same_data(stored, fp)
    problems = [] if same or stored is None else record.mismatches(stored, fp)
    if problems and not allow_mismatch:
        raise InputError(f"{str(data)!r} does not fit the data {str(checkpoint)!r} was trained on: {'; '.join(problems)}; "
                         "pass --allow-mismatch to evaluate anyway (deliberate transfer, e.g. to a finer n)")
    spec, _, scored = choose_trajectories(trajectories, fp["shape"][0], trained.subsets, same, include_training, str(data))
    check = {"same_as_training": same, "mismatch": problems, "allow_mismatch": bool(allow_mismatch and problems)}
    if stored is None:
        check["note"] = "the checkpoint records no training data: compatibility not checked"
        log.warning(f"{check['note']} ({checkpoint})")
    elif problems:
        log.warning(f"evaluating on data that do not fit the training data (--allow-mismatch): {'; '.join(problems)}")
    if not quiet:
        log.info(f"scoring {scored['text']}")
    info = {"checkpoint": os.path.abspath(checkpoint), "model": trained.name, "lam": trained.lam, "scored": scored,
            "data_check": check}
    return evaluate_model(trained.model, trained.processor, trained.T_in, data, out, spec,
                          subsets=trained.subsets if same else None, device=dev, batch_size=batch_size, quiet=quiet,
                          overwrite=overwrite, info=info, guard=guard)
