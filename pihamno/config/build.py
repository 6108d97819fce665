"""The one place where a typed config becomes objects: model, data, physics, objective, optimiser, trainer.

Everything below this module takes objects (:class:`pihamno.training.Trainer`,
:func:`pihamno.evaluation.evaluate_model`, the workflow stages); everything above it (the command line, the
example scripts, the studies) builds a :class:`~pihamno.config.schema.TrainConfig` in Python and calls:

* :func:`train` -- build (or resume, or reuse) a run and train it: the ONE resume mechanism, for every caller;
* :func:`load_trained` -- a trained model with its normalisation, ``T_in`` and split, from a checkpoint;
* :func:`evaluate_checkpoint` -- :func:`pihamno.evaluation.evaluate_model` of a checkpoint.

Resuming (``resume=``):

==========  ===============================================================================================
``"never"``  a fresh run; a ``run.out`` that already holds ``last.pt`` is refused unless ``overwrite``
``"auto"``   continue ``run.out/last.pt`` if it is there, reuse it as is when it already reached
             ``optim.epochs``, start fresh otherwise (the examples and studies)
a path       continue that checkpoint (a run folder means its ``last.pt``; ``pihamno train --resume``)
==========  ===============================================================================================

A run is continued only with a config equal to the checkpoint's up to :data:`RESUME_FREE` keys (which do
not change what was learned so far); anything else is refused with one sentence naming the keys.

Under ``torchrun`` (docs/scaling.md): ``[optim] batch_size`` is the global batch (each of the W ranks
trains on ``batch_size / W`` windows of it), rank 0 alone reads the checkpoint and decides for every rank,
rank 0 alone writes checkpoints, ``metrics.csv`` and ``config.toml``, and a checkpoint written by any
number of processes continues under any other (the world size is recorded in it as ``world_size``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from pihamno.config.schema import TrainConfig, diff_configs, dump_toml, from_dict
from pihamno.errors import InputError

log = logging.getLogger(__name__)

#: Keys that may differ from the checkpoint's on resume (they do not change what was learned so far).
RESUME_FREE = ("data.path", "optim.epochs", "run.device", "run.out", "run.log_every", "run.tensorboard",
               "run.compile", "run.bf16", "run.val_every", "run.val_rollout_every", "run.channels_last")


# --------------------------------------------------------------------------------------------- pieces
def build_model_for(cfg: TrainConfig) -> torch.nn.Module:
    """``build_model([model] name, T_in = [data] T_in, **[model] options)``."""
    from pihamno.models import build_model

    return build_model(cfg.model.name, **{**cfg.model.options, "T_in": cfg.data.T_in})


def build_physics(cfg: TrainConfig, meta: dict, n: int, device: torch.device):
    """The :class:`pihamno.physics.PhysicsLoss` of the dataset's PDE, or ``None`` when ``[physics] lam == 0``.

    Unset ``split`` / ``mesh`` / ``element`` follow the dataset (its ``split`` or ``mesh_file``, its
    ``element``), so the weak residual is the reference solver's own and vanishes on the data.
    """
    p = cfg.physics
    if p.lam == 0:
        return None
    from fem.mesh import MeshChoice
    from pihamno.physics import PhysicsLoss

    if p.mesh is None and p.split is None:
        mesh = MeshChoice.from_attrs(meta)
    else:
        mesh = MeshChoice(split=p.split, file=p.mesh)
    return PhysicsLoss.from_metadata(
        meta, n, mesh=mesh, element=p.element or meta.get("element") or "P1", weak=p.weak, device=device,
        dtype=torch.float32,
    )


def build_objective(cfg: TrainConfig, physics=None):
    """``(1 - lam) L_data + lam (w_strong L_strong + w_weak L_weak)`` with the config's weights."""
    from pihamno.training.losses import Objective

    p = cfg.physics
    return Objective(p.lam, p.w_strong, p.w_weak, cfg.optim.data_loss, physics)


def load_training_data(cfg: TrainConfig, rank: int = 0, world: int = 1):
    """:class:`~pihamno.training.windows.SplitData` of ``[data]`` (this rank's share of validation)."""
    from pihamno.training.windows import load_split

    d = cfg.data
    return load_split(d.path, d.n_train, d.n_val, d.n_test, d.split_seed, d.train_frames, rank_slice=(rank, world))


def loop_settings(cfg: TrainConfig):
    """The :class:`~pihamno.training.trainer.LoopSettings` of ``[optim]`` and ``[run]``."""
    from pihamno.training.trainer import LoopSettings

    o, r = cfg.optim, cfg.run
    return LoopSettings(
        epochs=o.epochs, steps_per_epoch=o.steps_per_epoch, batch_size=o.batch_size, T_in=cfg.data.T_in,
        grad_clip=o.grad_clip, pushforward=r.pushforward, pushforward_detach=r.pushforward_detach,
        val_metric=r.val_metric, val_every=r.val_every, log_every=r.log_every, tensorboard=r.tensorboard,
        seed=r.seed, val_rollout_every=r.val_rollout_every,
    )


def _resumable(cfg: TrainConfig, state: dict, checkpoint: Path) -> TrainConfig:
    """``cfg`` if it differs from the checkpoint's config in :data:`RESUME_FREE` keys only."""
    saved = from_dict(state["config"], f"the config of {checkpoint}")
    changed = diff_configs(saved.to_dict(), cfg.to_dict())
    locked = [k for k in changed if k not in RESUME_FREE]
    if locked:
        raise InputError(
            f"cannot resume with a different {', '.join(locked)} than the checkpoint's; "
            "start a new run (another run.out) or drop those overrides"
        )
    if "optim.epochs" in changed:
        log.warning("optim.epochs changed on resume: the cosine schedule is rescaled from here on")
    return cfg


def build_trainer(cfg: TrainConfig, *, state: dict | None = None, checkpoint: Path | None = None, env=None,
                  quiet: bool = False, model: torch.nn.Module | None = None, physics=None):
    """A :class:`~pihamno.training.Trainer` for ``cfg`` (continuing ``state``, a training checkpoint's payload,
    when given). ``model`` / ``physics`` replace the ones the config names (tests, custom models)."""
    from pihamno.stepping import FieldProcessor
    from pihamno.training.distributed import init_distributed
    from pihamno.training.optim import build_optimizer
    from pihamno.training.trainer import Trainer

    env = env or init_distributed(cfg.run.device)
    if state is not None:
        cfg = _resumable(cfg, state, checkpoint or Path(cfg.run.out) / "last.pt")
    torch.manual_seed(cfg.run.seed)
    data = load_training_data(cfg, env.rank, env.world)
    if state is not None and any(list(map(int, data.indices[k])) != list(state["split"][k]) for k in data.indices):
        raise InputError(f"cannot resume: the trajectory split of {cfg.data.path!r} differs from the checkpoint's")
    processor = (FieldProcessor.from_state(state["processor"]) if state is not None
                 else FieldProcessor.fit(cfg.data.normalize, data.train))
    model = build_model_for(cfg) if model is None else model
    if physics is None:
        physics = build_physics(cfg, data.meta, int(data.train.shape[-1]), env.device)
    o = cfg.optim
    model = model.to(env.device)
    opt, sched = build_optimizer(model, o.lr, o.weight_decay, o.epochs * o.steps_per_epoch, o.warmup_steps,
                                 o.min_lr_ratio, o.optimizer)
    trainer = Trainer(model, data, build_objective(cfg, physics), opt, sched, loop=loop_settings(cfg),
                      processor=processor, out=cfg.run.out, env=env, bf16=cfg.run.bf16, compile=cfg.run.compile,
                      data_on_device=cfg.data.on_device, channels_last=cfg.run.channels_last,
                      record={"config": cfg.to_dict(), "data": {"path": str(cfg.data.path)}, "world_size": env.world},
                      quiet=quiet)
    if state is not None:
        saved_world = int(state.get("world_size", 1))
        if saved_world != env.world and env.is_main:
            log.info(f"resuming a run trained by {saved_world} process(es) with {env.world}: every rank draws the same "
                     f"global batch of {cfg.optim.batch_size} windows, so the run continues as it would have")
        trainer.load_state(state)
    return trainer


def write_run_config(trainer, cfg: TrainConfig) -> Path:
    """``run.out/config.toml``: the config, headed by the effective device switches (rank 0 writes)."""
    from pihamno.io import atomic_path

    path = Path(cfg.run.out) / "config.toml"
    if trainer.env.is_main:
        eff = (f"# effective on {trainer.device}: bf16 = {str(trainer.bf16).lower()}, compile = "
               f"{str(trainer.compile).lower()}, world size {trainer.env.world}\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(eff + dump_toml(cfg))
    return path


# --------------------------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    """What :func:`train` did: the run folder, counters, best validation score, last epoch's means, and the
    checkpoint to evaluate (``best.pt`` when validation chose one, else ``last.pt``)."""

    out: Path
    epoch: int
    step: int
    best: dict
    last: dict
    checkpoint: Path
    status: str  #: "trained", "resumed" or "reused" (already finished: nothing was trained)
    start_epoch: int = 0


def resolve_checkpoint(resume: str | Path, out: str | Path) -> Path:
    """A resume target: a checkpoint file, or a run folder (its ``last.pt``)."""
    p = Path(resume)
    if p.is_dir():
        p = p / "last.pt"
    if not p.is_file():
        raise InputError(f"cannot resume: checkpoint {str(p)!r} does not exist")
    return p


def train(cfg: TrainConfig, *, resume: str | Path = "never", overwrite: bool = False, env=None, quiet: bool = False,
          model: torch.nn.Module | None = None, physics=None) -> TrainResult:
    """Train the run ``cfg`` describes, resuming as ``resume`` says (module docstring); returns a :class:`TrainResult`.

    ``overwrite`` starts over in a folder that holds another run. Raises :class:`~pihamno.errors.TrainingDiverged`
    when the loss becomes non-finite (the last good checkpoint is kept). Under ``torchrun`` rank 0 decides
    (and reads the checkpoint) for every rank; a checkpoint continues under any world size (module docstring of
    :mod:`pihamno.training.distributed`).
    """
    import os

    from pihamno.training.distributed import init_distributed, on_main

    out = Path(cfg.run.out)
    if env is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: join the group to decide
        env = init_distributed(cfg.run.device)
    state, checkpoint, reused = on_main(lambda: _plan(cfg, resume, overwrite), env)
    if reused is not None:
        return reused
    trainer = build_trainer(cfg, state=state, checkpoint=checkpoint, env=env, quiet=quiet, model=model,
                            physics=physics)
    write_run_config(trainer, cfg)
    start = trainer.epoch
    result = trainer.fit()
    return TrainResult(out, result["epoch"], result["step"], result["best"], result["last"], _to_evaluate(out),
                       "resumed" if state is not None else "trained", start)


def _plan(cfg: TrainConfig, resume: str | Path, overwrite: bool):
    """``(state, checkpoint, reused)``: the checkpoint payload to continue (or None), its path, and the
    :class:`TrainResult` of a run that is already finished (``resume="auto"``; else None)."""
    from pihamno.training.checkpoint import load_training_checkpoint

    out = Path(cfg.run.out)
    last = out / "last.pt"
    state, checkpoint = None, None
    if resume not in ("never", "auto"):
        checkpoint = resolve_checkpoint(resume, out)
    elif resume == "auto" and last.is_file() and not overwrite:
        checkpoint = last
    elif last.exists() and not overwrite:
        raise InputError(
            f"run folder {str(out)!r} already holds last.pt; pass --resume to continue it, --overwrite to "
            "start over, or choose another --out"
        )
    if checkpoint is not None:
        state = load_training_checkpoint(checkpoint)
        if resume == "auto":
            saved = from_dict(state["config"], f"the config of {checkpoint}")
            changed = [k for k in diff_configs(saved.to_dict(), cfg.to_dict()) if k not in RESUME_FREE]
            if changed:
                raise InputError(f"{out} holds a run with other settings ({', '.join(changed[:4])}); "
                                 "pass --overwrite or choose another --out")
            if int(state["epoch"]) >= cfg.optim.epochs:
                best = {"score": float(state["best"]["score"]), "epoch": int(state["best"]["epoch"])}
                return None, checkpoint, TrainResult(out, int(state["epoch"]), int(state["step"]), best, {},
                                                     _to_evaluate(out), "reused", int(state["epoch"]))
    return state, checkpoint, None


def _to_evaluate(out: Path) -> Path:
    return out / "best.pt" if (out / "best.pt").is_file() else out / "last.pt"


# --------------------------------------------------------------------------------------------- evaluation
@dataclass
class Trained:
    """A trained model from a checkpoint: the network (eval mode), its normalisation, ``T_in``, the trajectory
    split it was trained with (``{"train", "val", "test"}`` or empty) and the raw payload."""

    model: torch.nn.Module
    processor: object
    T_in: int
    split: dict
    payload: dict

    @property
    def name(self) -> str:
        return str(self.payload.get("model_name", ""))


def load_trained(checkpoint: str | Path, device=None) -> Trained:
    """:class:`Trained` from a model or training checkpoint, read with ``torch.load(weights_only=True)``."""
    from pihamno.device import resolve_device
    from pihamno.models.checkpoint import load_checkpoint
    from pihamno.stepping import FieldProcessor

    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    model, payload = load_checkpoint(checkpoint, map_location=dev)
    T_in = int(payload.get("T_in", payload.get("config", {}).get("data", {}).get("T_in", 5)))
    return Trained(model, FieldProcessor.from_state(payload.get("processor")), T_in, dict(payload.get("split", {})),
                   payload)


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path, out: str | Path, trajectories: str | None = None,
                        device=None, batch_size: int = 8, quiet: bool = False) -> dict:
    """:func:`pihamno.evaluation.evaluate_model` of a checkpoint on ``data``; writes ``rollout.h5``,
    ``metrics.json``, ``per_frame.csv`` to ``out`` and returns the metrics.

    ``trajectories`` defaults to ``"test"`` (the checkpoint's test split) when ``data`` is the file the model was
    trained on, else ``"all"``.
    """
    import os

    from pihamno.device import resolve_device
    from pihamno.evaluation import evaluate_model

    dev = resolve_device(device)
    trained = load_trained(checkpoint, dev)
    test_split = trained.split.get("test")
    if trajectories is None:
        trained_on = trained.payload.get("data", {}).get("path")
        try:
            same = bool(trained_on) and os.path.samefile(trained_on, data)
        except OSError:
            same = False
        trajectories = "test" if test_split is not None and same else "all"
    return evaluate_model(trained.model, trained.processor, trained.T_in, data, out, trajectories,
                          test_split=test_split, device=dev, batch_size=batch_size, quiet=quiet,
                          info={"checkpoint": str(checkpoint), "model": trained.name})
