"""Model checkpoints that rebuild their model and load with ``torch.load(weights_only=True)``.

A payload is a plain dict::

    {"model_name": "hamno",                       # registry name (pihamno.models.available_models())
     "model_config": {"width": 12, ...},          # model.config: constructor options, plain values
     "state_dict": {"lift.weight": Tensor, ...},  # model.state_dict()
     ...}                                         # extra keys of the caller (trainer: optimizer, epoch, ...)

Only tensors, str, int, float, bool, None, lists/tuples and dicts of them are allowed anywhere in it, so no
pickled class is ever needed to read it back. A checkpoint of another model, with another configuration
than the one expected, or whose weights do not fit the model its config builds, is refused with one
:class:`~pihamno.errors.InputError` sentence; so is a file that is not such a checkpoint at all
(:func:`read_payload`: truncated, foreign, or holding pickled Python objects), in plain words and without
torch's multi-line advice.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DataParallel, DistributedDataParallel

from pihamno.errors import InputError, input_file
from pihamno.io import atomic_path
from pihamno.plugins import HINT

from .registry import available_models, build_model, validate_model_options

KEYS = ("model_name", "model_config", "state_dict")


def unwrap(model: nn.Module) -> nn.Module:
    """The registered model inside ``torch.compile`` (``_orig_mod``) and DDP/DataParallel (``module``) wrappers."""
    while True:
        if isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        elif isinstance(model, (DistributedDataParallel, DataParallel)):
            model = model.module
        else:
            return model


def _check_plain(value, where: str) -> None:
    if value is None or isinstance(value, (torch.Tensor, str, int, float, bool)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise InputError(f"checkpoint entry {where} has a key of type {type(k).__name__}; "
                                 "only str/int keys load with weights_only=True")
            _check_plain(v, f"{where}[{k!r}]")
        return
    raise InputError(
        f"checkpoint entry {where} is a {type(value).__name__}; only tensors, str, int, float, bool, None, lists and "
        f"dicts load with weights_only=True"
    )


def model_payload(model: nn.Module) -> dict:
    """``{"model_name", "model_config", "state_dict"}`` of a registered model (compile/DDP wrappers are unwrapped)."""
    model = unwrap(model)
    name = getattr(model, "name", None)
    if name not in available_models() or not isinstance(getattr(model, "config", None), dict):
        raise InputError(f"cannot checkpoint a {type(model).__name__}: only models built by pihamno.models.build_model "
                         "carry a name and config")
    return {"model_name": name, "model_config": dict(model.config), "state_dict": model.state_dict()}


def _config_difference(name: str, actual: dict, expected: dict) -> list[str]:
    """``key=actual (expected value)`` for each option that differs, both sides with defaults filled in."""
    full_actual = validate_model_options(name, actual)
    full_expected = validate_model_options(name, expected)
    return [f"{k}={full_actual.get(k)!r} (expected {v!r})" for k, v in full_expected.items() if full_actual.get(k) != v]


def model_from_payload(payload: dict, expect_name: str | None = None, expect_config: dict | None = None) -> nn.Module:
    """Rebuild the model of ``payload`` and load its weights (strictly).

    ``expect_name`` / ``expect_config`` (options, defaults filled in) make a checkpoint of another model or
    configuration an error instead of a silent switch.
    """
    if not isinstance(payload, dict) or any(k not in payload for k in KEYS):
        have = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise InputError(f"not a pihamno model checkpoint: expected keys {list(KEYS)}, found {have}")
    name, config, state = payload["model_name"], payload["model_config"], payload["state_dict"]
    if not isinstance(name, str) or name not in available_models():
        raise InputError(f"checkpoint holds unknown model {name!r}; available: {', '.join(available_models())}; {HINT}")
    if expect_name is not None and name != expect_name:
        raise InputError(f"checkpoint holds a {name!r} model, expected {expect_name!r}")
    if not isinstance(config, dict):
        raise InputError(f"checkpoint model_config must be a dict, found {type(config).__name__}")
    if expect_config is not None:
        diff = _config_difference(name, config, expect_config)
        if diff:
            raise InputError(f"checkpoint {name!r} model has another configuration than expected: {', '.join(diff)}")
    model = build_model(name, **config)
    result = _load_strict(model, state)
    if result:
        raise InputError(f"checkpoint weights do not fit a {name!r} model with config {config}: {result}")
    return model


def _load_strict(model: nn.Module, state) -> str:
    """Load ``state`` into ``model``; return '' or a description of the first mismatch."""
    if not isinstance(state, dict):
        return f"state_dict is a {type(state).__name__}, not a dict"
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        more = lambda names: "..." if len(names) > 3 else ""  # noqa: E731
        return f"missing {missing[:3]}{more(missing)}, unexpected {unexpected[:3]}{more(unexpected)}"
    for k, v in own.items():
        if not isinstance(state[k], torch.Tensor) or tuple(state[k].shape) != tuple(v.shape):
            got = tuple(state[k].shape) if isinstance(state[k], torch.Tensor) else type(state[k]).__name__
            return f"{k} has shape {got}, the model needs {tuple(v.shape)}"
    model.load_state_dict(state, strict=True)
    return ""


def load_weights(model: nn.Module, state, what: str = "the checkpoint's weights") -> None:
    """Load the weights ``state`` strictly into ``model``; a mismatch is one :class:`~pihamno.errors.InputError`
    sentence (``{what} do not fit the model: w has shape (2,), the model needs (4,)``)."""
    problem = _load_strict(model, state)
    if problem:
        raise InputError(f"{what} do not fit the model: {problem}")


def save_checkpoint(path: str | Path, model: nn.Module, **extra) -> None:
    """Write ``model_payload(model)`` plus ``extra`` keys (weights_only-safe values) to ``path`` atomically.

    Serialised in memory, then written by Python: a write the system refuses (disk full, ``ulimit -f``) is then
    an ``OSError`` with its errno (one line naming the file, :func:`pihamno.io.atomic_path`), where torch's own
    file writer reports it in words that vary ("unexpected pos", "file write failed")."""
    clash = [k for k in extra if k in KEYS]
    if clash:
        raise InputError(f"extra checkpoint keys {clash} would overwrite the model entries {list(KEYS)}")
    payload = model_payload(model)
    for key, value in extra.items():
        _check_plain(value, key)
    payload.update(extra)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def _why_unreadable(path: Path, exc: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, as the end of one sentence (no torch advice)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # torch colours part of its advice
    with open(path, "rb") as f:
        head = f.read(4)
    pickled = "Weights only load failed" in text or "Unsupported global" in text
    if not head:
        return "the file is empty"
    if head.startswith(b"PK") or head[:1] == b"\x80":  # torch's zip format, or a pickle (old torch format)
        if pickled:
            name = re.search(r"GLOBAL ([\w.]+)", text)
            return (f"it holds pickled Python objects{f' ({name.group(1)})' if name else ''}, which pihamno never "
                    "loads; only checkpoints of tensors and plain values, as pihamno writes them, are read")
        if head.startswith(b"PK"):
            return "it is damaged or truncated (its zip archive is incomplete); use another copy, or last.pt"
        return "it is a plain pickle or an old torch.save format, not a checkpoint written by pihamno"
    return "it is not a PyTorch checkpoint (not a zip archive); expected a checkpoint written by pihamno"


def checkpoint_in(path: str | Path, names: tuple[str, ...] = ("best.pt", "last.pt")) -> Path:
    """A checkpoint file, or a run folder's first checkpoint of ``names`` (default its best.pt, else its last.pt);
    anything else is one :class:`~pihamno.errors.InputError` sentence (:func:`pihamno.errors.input_file`)."""
    path = Path(path)
    if path.is_dir():
        found = next((path / name for name in names if (path / name).is_file()), None)
        if found is None:
            raise InputError(f"run folder {str(path)!r} holds no {' or '.join(names)}; give a checkpoint file or "
                             "the folder of a training run")
        return found
    return input_file(path, "checkpoint")


def read_payload(path: str | Path, map_location="cpu") -> dict:
    """The payload dict of a checkpoint file, read with ``torch.load(weights_only=True)``; a missing, damaged or
    foreign file is one :class:`~pihamno.errors.InputError` sentence."""
    path = input_file(path, "checkpoint")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated file, foreign pickle, not a zip archive
        raise InputError(f"checkpoint {str(path)!r} could not be read: {_why_unreadable(path, exc)}") from None
    if not isinstance(payload, dict):
        raise InputError(f"checkpoint {str(path)!r} holds a {type(payload).__name__}, not a pihamno checkpoint "
                         "(a dict with model_name, model_config and state_dict)")
    return payload


def load_checkpoint(path: str | Path, map_location="cpu", expect_name: str | None = None, expect_config: dict | None = None):
    """``(model, payload)`` from a checkpoint file read with ``weights_only=True``; the model is on
    ``map_location`` (a device or its name) and in eval mode."""
    path = Path(path)
    payload = read_payload(path, map_location)
    try:
        model = model_from_payload(payload, expect_name, expect_config)
    except InputError as exc:
        raise InputError(f"{str(path)!r}: {exc}") from None
    if isinstance(map_location, (str, torch.device)):
        model = model.to(map_location)
    return model.eval(), payload
