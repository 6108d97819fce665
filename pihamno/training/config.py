"""Training configuration: a TOML file mapped onto nested dataclasses, with command-line overrides.

A run is described by five sections (every key optional except ``data.path``; defaults below)::

    [data]                      # which trajectories, how they are split and windowed
    path = "data/ac.h5"         # HDF5 dataset (u: trajectories x frames x n x n x n)
    n_train = 50                # training pool (trajectories); the validation split is carved from it
    n_val = 5                   # of the pool, held out to select best.pt (0: no validation, no best.pt)
    n_test = 50                 # held out for `pihamno evaluate` (never seen in training or selection)
    split_seed = 0              # permutation of trajectory indices -> test | val | train
    train_frames = 101          # training windows lie inside frames [0, train_frames) (absent: all)
    T_in = 5                    # input frames per window; the target is the next frame
    normalize = "none"          # "none" | "standard" (one scalar mean/std of the training frames)
    on_device = true            # keep the training trajectories on the device (else on the host)

    [model]                     # name + free-form keyword arguments for pihamno.models.build_model
    name = "hamno"
    width = 12
    modes = 8

    [optim]
    lr = 1e-3                   # peak learning rate of AdamW
    weight_decay = 0.0          # decoupled (AdamW)
    epochs = 50
    steps_per_epoch = 10        # optimiser steps per epoch, each on a fresh batch of windows
    batch_size = 8              # global batch (split across ranks under DDP)
    grad_clip = 1.0             # max global gradient norm (0: no clipping)
    warmup_steps = 0            # linear warm-up, then cosine decay per step to min_lr_ratio * lr
    min_lr_ratio = 0.0
    data_loss = "mse"           # "mse" | "rel_l2"

    [physics]                   # loss = (1 - lam) L_data + lam (w_strong L_strong + w_weak L_weak)
    lam = 0.0                   # 0: pure data (HAMNO; the physics object is never built)
    w_strong = 0.02
    w_weak = 0.02
    weak = "assembled"          # "assembled" | "element_local" (the paper's, for comparison)
    split = "kuhn"              # structured split "kuhn" | "five"      } absent: the dataset's own
    mesh = "meshes/x.msh"       # or a tetrahedral mesh file of the cube } discretisation (its split or
    element = "P1"              # "P1" | "P2"                           } mesh file, and its element)

    [run]
    out = "runs/run"            # output folder (checkpoints, metrics.csv, config.toml, tensorboard/)
    seed = 42
    device = "auto"             # "auto" (cuda when present) | "cpu" | "cuda" | "cuda:N"
    bf16 = false                # bf16 autocast of the model forward, CUDA only (ignored with a warning on CPU)
    compile = false             # torch.compile the model, CUDA only (ignored with a warning on CPU)
    pushforward = 0             # extra unrolled steps before the supervised one (0: teacher forcing)
    pushforward_detach = true   # unrolled steps without gradient (pushforward trick) or through them
    val_metric = "rollout"      # "rollout" (mean rel-L2 of a full rollout) | "one_step"
    val_every = 1               # epochs between validations
    log_every = 10              # optimiser steps between TensorBoard points
    tensorboard = true          # write TensorBoard events if the package is installed

Any key is overridden from the command line with ``--set SECTION.KEY=VALUE``, the value parsed as a TOML
literal (``1e-3``, ``true``, ``[8, 6, 4]``, ``"cuda:1"``; an unparsable value is taken as a bare string).
Unknown sections/keys and values of the wrong type are refused with one sentence naming them.

Example:

>>> cfg = load_config(text='[data]\\npath = "d.h5"\\n[optim]\\nlr = 1e-2', overrides=["model.width=8"])
>>> cfg.optim.lr, cfg.model.name, cfg.model.options
(0.01, 'hamno', {'width': 8})
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from fem.errors import InputError


@dataclass
class DataConfig:
    path: str = ""
    n_train: int = 50
    n_val: int = 5
    n_test: int = 50
    split_seed: int = 0
    train_frames: Optional[int] = None
    T_in: int = 5
    normalize: str = "none"
    on_device: bool = True


@dataclass
class ModelConfig:
    name: str = "hamno"
    options: dict = field(default_factory=dict)


@dataclass
class OptimConfig:
    lr: float = 1e-3
    weight_decay: float = 0.0
    epochs: int = 50
    steps_per_epoch: int = 10
    batch_size: int = 8
    grad_clip: float = 1.0
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    data_loss: str = "mse"


@dataclass
class PhysicsConfig:
    lam: float = 0.0
    w_strong: float = 0.02
    w_weak: float = 0.02
    weak: str = "assembled"
    split: Optional[str] = None
    mesh: Optional[str] = None
    element: Optional[str] = None


@dataclass
class RunConfig:
    out: str = "runs/run"
    seed: int = 42
    device: str = "auto"
    bf16: bool = False
    compile: bool = False
    pushforward: int = 0
    pushforward_detach: bool = True
    val_metric: str = "rollout"
    val_every: int = 1
    log_every: int = 10
    tensorboard: bool = True


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict:
        """Plain nested dict (str/int/float/bool/list/dict only; ``None`` values dropped) -- safe for
        ``torch.load(weights_only=True)`` and for :func:`dump_toml`. ``[model]`` is flattened back."""
        out = {}
        for f in dataclasses.fields(self):
            sec = dataclasses.asdict(getattr(self, f.name))
            if f.name == "model":
                sec = {"name": sec["name"], **sec["options"]}
            out[f.name] = {k: v for k, v in sec.items() if v is not None}
        return out


SECTIONS = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
_CHOICES = {
    ("data", "normalize"): ("none", "standard"),
    ("optim", "data_loss"): ("mse", "rel_l2"),
    ("physics", "weak"): ("assembled", "element_local"),
    ("physics", "split"): ("kuhn", "five"),
    ("physics", "element"): ("P1", "P2"),
    ("run", "val_metric"): ("rollout", "one_step"),
}


def _section_class(name: str) -> type:
    return typing.get_type_hints(TrainConfig)[name]


def _type_name(tp) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string", dict: "a table"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(value: Any, tp, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (int, float, bool, str, dict, Optional[...])."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _coerce(value, args[0], where)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
        dict: isinstance(value, dict),
    }[tp]
    if not ok:
        raise InputError(f"{where} must be {_type_name(tp)}, got {value!r}")
    return float(value) if tp is float else value


def _unknown(key: str, known, kind: str, where: str) -> InputError:
    """``unknown key 'lrr' (did you mean 'lr'?) in section [optim] of c.toml; expected one of ...``"""
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return InputError(f"unknown {kind} {key!r}{hint} in {where}; expected one of {', '.join(known)}")


def _set_key(cfg: TrainConfig, section: str, key: str, value: Any, source: str) -> None:
    """Assign ``cfg.<section>.<key> = value`` after checking the section, key and type."""
    if section not in SECTIONS:
        raise _unknown(section, SECTIONS, "section", source)
    sec = getattr(cfg, section)
    if section == "model":
        if key == "name":
            sec.name = _coerce(value, str, f"[model] name in {source}")
        else:
            sec.options[key] = value  # free-form: build_model checks its own arguments
        return
    hints = typing.get_type_hints(type(sec))
    if key not in hints:
        raise _unknown(key, hints, "key", f"section [{section}] of {source}")
    setattr(sec, key, _coerce(value, hints[key], f"[{section}] {key} in {source}"))


def _validate(cfg: TrainConfig) -> TrainConfig:
    """Value checks that go beyond types: choices, ranges, consistency."""
    for (sec, key), allowed in _CHOICES.items():
        v = getattr(getattr(cfg, sec), key)
        if v is not None and v not in allowed:
            raise InputError(f"[{sec}] {key} = {v!r} is not allowed; expected one of {', '.join(allowed)}")
    d, o, p, r = cfg.data, cfg.optim, cfg.physics, cfg.run
    positive = {
        "[data] n_train": d.n_train, "[data] T_in": d.T_in, "[optim] lr": o.lr, "[optim] epochs": o.epochs,
        "[optim] steps_per_epoch": o.steps_per_epoch, "[optim] batch_size": o.batch_size,
        "[run] val_every": r.val_every, "[run] log_every": r.log_every,
    }
    for name, v in positive.items():
        if not (v > 0 and math.isfinite(v)):
            raise InputError(f"{name} must be positive, got {v!r}")
    non_negative = {
        "[data] n_val": d.n_val, "[data] n_test": d.n_test, "[optim] weight_decay": o.weight_decay,
        "[optim] grad_clip": o.grad_clip, "[optim] warmup_steps": o.warmup_steps,
        "[optim] min_lr_ratio": o.min_lr_ratio, "[physics] w_strong": p.w_strong,
        "[physics] w_weak": p.w_weak, "[run] pushforward": r.pushforward,
    }
    for name, v in non_negative.items():
        if not (v >= 0 and math.isfinite(v)):
            raise InputError(f"{name} must be >= 0, got {v!r}")
    if d.n_val >= d.n_train:
        raise InputError(f"[data] n_val = {d.n_val} must be smaller than n_train = {d.n_train} (it is carved from it)")
    if not 0.0 <= p.lam <= 1.0:
        raise InputError(f"[physics] lam must lie in [0, 1], got {p.lam!r}")
    if o.min_lr_ratio > 1.0:
        raise InputError(f"[optim] min_lr_ratio must lie in [0, 1], got {o.min_lr_ratio!r}")
    if d.train_frames is not None and d.train_frames < d.T_in + 1 + r.pushforward:
        raise InputError(
            f"[data] train_frames = {d.train_frames} leaves no window: it needs at least "
            f"T_in + 1 + pushforward = {d.T_in + 1 + r.pushforward} frames"
        )
    return cfg


def parse_override(item: str) -> tuple[str, str, Any]:
    """``"optim.lr=1e-3"`` -> ``("optim", "lr", 0.001)``; the value is a TOML literal or a bare string."""
    if "=" not in item or "." not in item.split("=", 1)[0]:
        raise InputError(f"override {item!r} is not of the form SECTION.KEY=VALUE (e.g. optim.lr=1e-3)")
    path, raw = item.split("=", 1)
    section, key = (s.strip() for s in path.split(".", 1))
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return section, key, value


def from_dict(data: dict, source: str = "config", overrides: list[str] | tuple = ()) -> TrainConfig:
    """Build a checked :class:`TrainConfig` from a nested dict (as parsed from TOML) plus overrides."""
    cfg = TrainConfig()
    for section, table in data.items():
        if not isinstance(table, dict):
            if section in SECTIONS:
                raise InputError(f"[{section}] in {source} must be a table, got {table!r}")
            raise _unknown(section, SECTIONS, "section", source)
        for key, value in table.items():
            _set_key(cfg, section, key, value, source)
    for item in overrides:
        section, key, value = parse_override(item)
        _set_key(cfg, section, key, value, f"--set {item}")
    return _validate(cfg)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple = (), text: str | None = None) -> TrainConfig:
    """Read a TOML config file (or ``text``) and apply ``overrides`` (``["optim.lr=1e-3", ...]``)."""
    if text is None:
        if path is None:
            data, source = {}, "defaults"
        else:
            path = Path(path)
            if not path.is_file():
                raise InputError(f"config file {str(path)!r} does not exist")
            text, source = path.read_text(), str(path)
    else:
        source = str(path) if path else "config text"
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{source} is not valid TOML: {exc}") from None
    return from_dict(data, source, overrides)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise InputError(f"cannot write {v!r} to TOML")


def dump_toml(cfg: TrainConfig) -> str:
    """The config as TOML text that :func:`load_config` reads back to an equal config."""
    lines = []
    for section, table in cfg.to_dict().items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
        lines.append("")
    return "\n".join(lines)


def diff_configs(a: dict, b: dict) -> list[str]:
    """Keys ``section.key`` whose values differ between two :meth:`TrainConfig.to_dict` dicts."""
    keys = sorted({(s, k) for d in (a, b) for s, t in d.items() for k in t})
    return [f"{s}.{k}" for s, k in keys if a.get(s, {}).get(k) != b.get(s, {}).get(k)]
