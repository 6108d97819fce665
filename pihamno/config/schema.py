"""The training configuration: typed sections (pydantic v2), read from TOML, written with tomli-w.

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
    target = "state"            # what the model outputs: "state" (the next frame; the HAMNO authors') |
                                # "increment" (u_next - u_prev, normalised by the mean/std of the training
                                # increments; every model, pihamno.stepping.processor)
    conserve_mass = false       # project every predicted increment to zero mass (lumped mass of the data's
                                # mesh): exact mass conservation in training and every rollout; PDEs that
                                # conserve mass only (CH), refused for the others
    on_device = true            # keep the training trajectories on the device (else on the host)
    unlabeled = "data/u0.h5"    # optional unlabeled inputs (a dataset with frames >= T_in, e.g. made with
                                # --frames T_in): scored with physics only (absent: none)

    [model]                     # name + the model's keyword arguments (pihamno.models.build_model)
    name = "hamno"
    width = 12
    modes = 8

    [optim]
    optimizer = "adamw"         # "adamw" | "adam" (weight decay coupled: added to the gradient, the HAMNO authors')
    lr = 1e-3                   # peak learning rate
    weight_decay = 0.0          # decoupled (adamw) or coupled (adam)
    epochs = 50
    steps_per_epoch = 10        # optimiser steps per epoch, each on a fresh batch of windows
    batch_size = 8              # global batch (split across ranks under DDP)
    grad_clip = 1.0             # max global gradient norm (0: no clipping)
    warmup_steps = 0            # linear warm-up, then cosine decay per step to min_lr_ratio * lr
    min_lr_ratio = 0.0
    data_loss = "mse"           # "mse" | "rel_l2"

    [physics]                   # loss = (1 - lam) Lhat_data + lam (w_strong Lhat_strong + w_weak Lhat_weak)
    lam = 0.0                   # 0: pure data (HAMNO; the physics object is never built, nothing is scaled)
    w_strong = 0.5              # split of the physics share between the terms (w_strong + w_weak = 1: lam is
    w_weak = 0.5                # the physics share of the objective)
    balance = "running_mean"    # Lhat = L / (bias-corrected running mean of L); "physics": only the physics
                                # terms so (the HAMNO authors' setting); "none": Lhat = L (raw terms)
    balance_beta = 0.9          # decay of the running means (memory about 1 / (1 - beta) = 10 steps)
    unroll = 0                  # physics also on k more steps of the model's own rollout (no labels needed)
    unroll_detach = true        # each unrolled step from a detached input (false: backprop through the unroll)
    unlabeled_batch = 4         # unlabeled windows per step (absent: optim.batch_size); needs [data] unlabeled
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
    channels_last = false       # weights and inputs as channels_last_3d (0.9x the CPU step time; docs/performance.md)
    pushforward = 0             # extra unrolled steps before the supervised one (0: teacher forcing)
    pushforward_detach = true   # unrolled steps without gradient (pushforward trick) or through them
    val_metric = "rollout"      # "rollout" (mean rel-L2 of a full rollout) | "one_step"
    val_every = 1               # epochs between validations
    val_rollout_every = 10      # with val_metric "rollout": full rollouts every this many validations and at the
                                # end (only they choose best.pt); the others score one-step windows (cheap)
    log_every = 10              # optimiser steps between TensorBoard points
    tensorboard = true          # write TensorBoard events if the package is installed

With ``lam > 0`` and ``balance = "running_mean"`` each term is divided by the bias-corrected running mean of
its own detached value (docs/physics.md, "Balance"), and the whole by a common detached factor that keeps
the objective on the scale of the raw terms; with ``lam = 0`` the objective is the raw data loss, exactly.
``unroll``, ``unlabeled`` and ``unlabeled_batch`` need ``lam > 0``.

Types are strict (``epochs = 2.5`` or ``bf16 = 1`` are refused; an integer is accepted where a number is
expected), choices are ``Literal`` types owned by the module that implements them, and every refusal is one
sentence naming the key, the value, what was expected and where it came from (file or ``--set``).

In Python, build configs from data and change them with :meth:`TrainConfig.updated` (validated again); the
command line is the only place where ``--set SECTION.KEY=VALUE`` strings are parsed (:func:`parse_override`).

Example:

>>> cfg = load_config(text='[data]\\npath = "d.h5"\\n[optim]\\nlr = 1e-2')
>>> cfg.optim.lr, cfg.model.name, cfg.updated(model={"width": 8}).model.options
(0.01, 'hamno', {'width': 8})
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Optional

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pihamno.choices import Balance, DataLoss, Element, Normalization, Optimizer, Split, Target, ValMetric, WeakKind
from pihamno.errors import InputError, input_file, unknown_name, validation_error
from pihamno.plugins import HINT

_STRICT = ConfigDict(extra="forbid", strict=True, validate_assignment=True)


class DataConfig(BaseModel):
    """``[data]``: the dataset, its split by trajectory and the training windows."""

    model_config = _STRICT
    path: str = ""
    n_train: int = Field(50, gt=0)
    n_val: int = Field(5, ge=0)
    n_test: int = Field(50, ge=0)
    split_seed: int = 0
    train_frames: Optional[int] = None
    T_in: int = Field(5, gt=0)
    normalize: Normalization = "none"
    target: Target = "state"
    conserve_mass: bool = False
    on_device: bool = True
    unlabeled: Optional[str] = None

    @model_validator(mode="after")
    def _val_from_pool(self):
        if self.n_val >= self.n_train:
            raise ValueError(f"[data] n_val = {self.n_val} must be smaller than n_train = {self.n_train} (it is carved from it)")
        return self


class ModelConfig(BaseModel):
    """``[model]``: ``name`` (a registered model) and that model's keyword arguments (``options``)."""

    model_config = ConfigDict(extra="allow", strict=True, validate_assignment=True)
    name: str = "hamno"

    @property
    def options(self) -> dict:
        """The model's keyword arguments (every key of ``[model]`` but ``name``)."""
        return dict(self.model_extra or {})


class OptimConfig(BaseModel):
    """``[optim]``: the optimiser (AdamW or Adam), its cosine schedule, the batch and the number of steps."""

    model_config = _STRICT
    optimizer: Optimizer = "adamw"
    lr: float = Field(1e-3, gt=0, allow_inf_nan=False)
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False)
    epochs: int = Field(50, gt=0)
    steps_per_epoch: int = Field(10, gt=0)
    batch_size: int = Field(8, gt=0)
    grad_clip: float = Field(1.0, ge=0, allow_inf_nan=False)
    warmup_steps: int = Field(0, ge=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1, allow_inf_nan=False)
    data_loss: DataLoss = "mse"


class PhysicsConfig(BaseModel):
    """``[physics]``: the weight of the physics losses and the discretisation of their weak form."""

    model_config = _STRICT
    lam: float = Field(0.0, ge=0, le=1, allow_inf_nan=False)
    w_strong: float = Field(0.5, ge=0, allow_inf_nan=False)
    w_weak: float = Field(0.5, ge=0, allow_inf_nan=False)
    balance: Balance = "running_mean"
    balance_beta: float = Field(0.9, gt=0, lt=1, allow_inf_nan=False)
    unroll: int = Field(0, ge=0)
    unroll_detach: bool = True
    unlabeled_batch: Optional[int] = Field(None, gt=0)
    weak: WeakKind = "assembled"
    split: Optional[Split] = None
    mesh: Optional[str] = None
    element: Optional[Element] = None


class RunConfig(BaseModel):
    """``[run]``: where and how the run happens (folder, seed, device, switches, validation, logs)."""

    model_config = _STRICT
    out: str = "runs/run"
    seed: int = Field(42, ge=0)
    device: str = "auto"
    threads: int | None = Field(None, gt=0)
    bf16: bool = False
    compile: bool = False
    channels_last: bool = False
    pushforward: int = Field(0, ge=0)
    pushforward_detach: bool = True
    val_metric: ValMetric = "rollout"
    val_every: int = Field(1, gt=0)
    val_rollout_every: int = Field(10, gt=0)
    log_every: int = Field(10, gt=0)
    tensorboard: bool = True


class TrainConfig(BaseModel):
    """A whole run: ``data``, ``model``, ``optim``, ``physics``, ``run`` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    physics: PhysicsConfig = Field(default_factory=PhysicsConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @model_validator(mode="after")
    def _consistent(self):
        d, r = self.data, self.run
        if d.train_frames is not None and d.train_frames < d.T_in + 1 + r.pushforward:
            raise ValueError(
                f"[data] train_frames = {d.train_frames} leaves no window: it needs at least "
                f"T_in + 1 + pushforward = {d.T_in + 1 + r.pushforward} frames"
            )
        p = self.physics
        if p.lam == 0:
            for key, on in (("[physics] unroll", p.unroll > 0), ("[data] unlabeled", d.unlabeled is not None),
                            ("[physics] unlabeled_batch", p.unlabeled_batch is not None)):
                if on:
                    raise ValueError(f"{key} acts through the physics loss and needs [physics] lam > 0, got lam = 0")
        elif p.unlabeled_batch is not None and d.unlabeled is None:
            raise ValueError("[physics] unlabeled_batch is set but [data] unlabeled is not set: set [data] unlabeled = FILE")
        t_model = self.model.options.get("T_in", d.T_in)
        if t_model != d.T_in:
            raise ValueError(f"[model] T_in = {t_model!r} differs from [data] T_in = {d.T_in}; set [data] T_in only")
        return self

    def to_dict(self) -> dict:
        """Plain nested dict (str/int/float/bool/list/dict only; ``None`` values dropped): safe for
        ``torch.load(weights_only=True)`` and for :func:`dump_toml`. ``[model]`` is flat: name + options."""
        out = {}
        for section in SECTIONS:
            table = getattr(self, section).model_dump()
            out[section] = {k: v for k, v in table.items() if v is not None}
        return out

    def updated(self, source: str = "Python", replace: bool = False, **sections: dict) -> "TrainConfig":
        """A validated copy with keys of sections changed: ``cfg.updated(physics={"lam": 0.25})``; with
        ``replace=True`` the given sections are replaced as a whole (e.g. another model and its options)."""
        data = self.to_dict()
        for section, changes in sections.items():
            if section not in SECTIONS:
                raise unknown_name(section, SECTIONS, "section", source)
            data[section] = dict(changes) if replace else {**data[section], **changes}
        return from_dict(data, source)


SECTIONS = ("data", "model", "optim", "physics", "run")
_SECTION_MODELS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "physics": PhysicsConfig,
                   "run": RunConfig}


def _error(exc: pydantic.ValidationError, source: str) -> InputError:
    def name_of(loc):
        return f"[{loc[0]}] {'.'.join(map(str, loc[1:]))}".rstrip() if loc else "config"

    def known(loc):
        return list(_SECTION_MODELS[loc[0]].model_fields) if loc else list(SECTIONS)

    def where(loc):
        return f"section [{loc[0]}] of {source}" if loc else source

    err = validation_error(exc, name_of, known, "section" if exc.errors()[0]["loc"][:-1] == () else "key", where)
    msg = str(err)
    return InputError(msg if msg.startswith("unknown ") else f"{msg} (in {source})")


def _check_model(cfg: TrainConfig, source: str) -> None:
    """The ``[model]`` options against the model's own signature (without building it)."""
    from pihamno.models import registry

    if cfg.model.name not in registry.available_models():
        raise InputError(f"{unknown_name(cfg.model.name, registry.available_models(), 'model', f'[model] name of {source}')}; "
                         f"{HINT}")
    try:
        registry.validate_model_options(cfg.model.name, {**cfg.model.options, "T_in": cfg.data.T_in})
    except InputError as exc:
        raise InputError(f"[model] {str(exc).removeprefix('model ')} (in {source})") from None


def from_dict(data: dict, source: str = "config", overrides: list[str] | tuple = ()) -> TrainConfig:
    """A checked :class:`TrainConfig` from a nested dict (as parsed from TOML), then ``--set`` overrides.

    All overrides are applied before the config is checked as a whole; a refusal names the override that
    set the offending key, else ``source``.
    """
    for section, table in data.items():
        if section not in SECTIONS:
            raise unknown_name(section, SECTIONS, "section", source)
        if not isinstance(table, dict):
            raise InputError(f"[{section}] must be a table, got {table!r} (in {source})")
    nested = {s: dict(t) for s, t in data.items()}
    origin = {}
    for item in overrides:
        section, key, value = parse_override(item)
        if section not in SECTIONS:
            raise unknown_name(section, SECTIONS, "section", f"--set {item}")
        nested.setdefault(section, {})[key] = value
        origin[(section, key)] = f"--set {item}"
    try:
        cfg = TrainConfig.model_validate(nested)
    except pydantic.ValidationError as exc:
        loc = tuple(exc.errors()[0]["loc"][:2])
        raise _error(exc, origin.get(loc, source)) from None
    _check_model(cfg, source)
    return cfg


def parse_override(item: str) -> tuple[str, str, Any]:
    """``"optim.lr=1e-3"`` -> ``("optim", "lr", 0.001)``; the value is a TOML literal or a bare string.

    This is the command line's ``--set``; Python code changes configs with :meth:`TrainConfig.updated`.
    """
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


def load_config(path: str | Path | None = None, overrides: list[str] | tuple = (), text: str | None = None) -> TrainConfig:
    """Read a TOML config file (or ``text``; neither: the defaults) and apply ``--set`` ``overrides``."""
    data, source = {}, "defaults"
    if text is None and path is not None:
        path = input_file(path, "config file")
        text, source = path.read_text(), str(path)
    elif text is not None:
        source = str(path) if path else "config text"
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{source} is not valid TOML: {exc}") from None
    return from_dict(data, source, overrides)


def dump_toml(cfg: TrainConfig) -> str:
    """The config as TOML text that :func:`load_config` reads back to an equal config."""
    import tomli_w

    def finite(v):
        if isinstance(v, float) and not math.isfinite(v):
            raise InputError(f"cannot write {v!r} to TOML")
        return v

    data = {s: {k: finite(v) for k, v in t.items()} for s, t in cfg.to_dict().items()}
    return tomli_w.dumps(data)


def diff_configs(a: dict, b: dict) -> list[str]:
    """Keys ``section.key`` whose values differ between two :meth:`TrainConfig.to_dict` dicts."""
    keys = sorted({(s, k) for d in (a, b) for s, t in d.items() for k in t})
    return [f"{s}.{k}" for s, k in keys if a.get(s, {}).get(k) != b.get(s, {}).get(k)]
