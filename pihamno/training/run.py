"""A training run from a config: build (or resume, or reuse) it and train it -- the ONE resume mechanism.

Every caller (the command line, the example scripts, the studies, the tests) builds a
:class:`~pihamno.config.TrainConfig` in Python and calls:

* :func:`train` -- build, resume or reuse the run ``cfg`` describes and train it; returns a :class:`TrainResult`;
* :func:`config_for_resume` -- the config a checkpoint continues with from any working directory;
* :func:`build_trainer` -- the :class:`~pihamno.training.Trainer` :func:`train` runs (tests, benchmarks).

The pieces that do not need training (model, physics loss, mass constraint) are built by
:mod:`pihamno.config.build`; the objective, the training data and the loop settings, which only training
uses, are built here.

Resuming (``resume=``):

==========  ===============================================================================================
``"never"``  a fresh run; a ``run.out`` that already holds ``last.pt`` is refused unless ``overwrite``
``"auto"``   continue ``run.out/last.pt`` if it is there, reuse it as is when it already reached
             ``optim.epochs``, start fresh otherwise (the examples and studies)
a path       continue that checkpoint (a run folder means its ``last.pt``; ``pihamno train --resume``)
==========  ===============================================================================================

A run is continued only with a config equal to the checkpoint's up to :data:`RESUME_FREE` keys (which do
not change what was learned so far; with lam = 0 on both sides, no ``[physics]`` key matters either) and with
the same data (its fingerprint, :mod:`pihamno.config.record`); anything else is refused with one sentence
naming the keys. A run that already reached ``optim.epochs`` is not trained again (``status = "reused"``).

Under ``torchrun`` (docs/scaling.md): ``[optim] batch_size`` is the global batch (each of the W ranks
trains on ``batch_size / W`` windows of it), rank 0 alone reads the checkpoint and decides for every rank,
rank 0 alone writes checkpoints, ``metrics.csv`` and ``config.toml``, and a checkpoint written by any
number of processes continues under any other (the world size is recorded in it as ``world_size``).
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from pihamno.config import record
from pihamno.config.build import build_model_for, build_physics, mass_constraint
from pihamno.config.schema import TrainConfig, diff_configs, dump_toml, from_dict
from pihamno.data import read_metadata
from pihamno.data.checks import require_sound
from pihamno.device import set_cpu_threads
from pihamno.errors import InputError, input_file
from pihamno.io import atomic_path, write_failure
from pihamno.locks import hold
from pihamno.models.checkpoint import checkpoint_in
from pihamno.stepping import FieldProcessor
from pihamno.training.balance import LossBalance
from pihamno.training.distributed import barrier, init_distributed, on_main
from pihamno.training.losses import TERMS, Objective
from pihamno.training.optim import build_optimizer
from pihamno.training.run_state import load_training_checkpoint
from pihamno.training.trainer import LoopSettings, Trainer
from pihamno.training.windows import TrainingData, load_subsets, load_unlabeled

log = logging.getLogger(__name__)

#: the run folder's lock file (:func:`pihamno.locks.hold`): a second run into a busy folder is refused
LOCK_FILE = ".lock"

#: Keys that may differ from the checkpoint's on resume (they do not change what was learned so far).
RESUME_FREE = ("data.path", "optim.epochs", "run.device", "run.threads", "run.out", "run.log_every", "run.tensorboard",
               "run.compile", "run.bf16", "run.val_every", "run.val_rollout_every", "run.channels_last")


# --------------------------------------------------------------------------------------------- training's pieces
def build_objective(cfg: TrainConfig, physics=None, processor=None) -> Objective:
    """``(1 - lam) Lhat_data + lam (w_strong Lhat_strong + w_weak Lhat_weak)`` with the config's weights and
    balance (:mod:`pihamno.training.losses`; no balance when lam = 0 or ``balance = "none"``); the data term
    compares what ``processor.loss_view`` shows (the normalised increments of an increment-target model)."""
    p = cfg.physics
    balance = None
    if p.lam > 0 and p.balance != "none":
        balance = LossBalance(TERMS, p.balance_beta)
        if p.balance == "running_mean" and abs(p.w_strong + p.w_weak - 1.0) > 1e-6:
            log.warning(f"[physics] w_strong + w_weak = {p.w_strong + p.w_weak:g}: under the balance lam = {p.lam:g} "
                        "is the physics share of the objective only when they sum to 1")
    view = processor.loss_view if processor is not None and processor.target != "state" else None
    return Objective(p.lam, p.w_strong, p.w_weak, cfg.optim.data_loss, physics, balance,
                     physics_only=p.balance == "physics", view=view)


def load_training_data(cfg: TrainConfig, rank: int = 0, world: int = 1) -> TrainingData:
    """:class:`~pihamno.training.windows.TrainingData` of ``[data]`` (this rank's share of validation, and the
    unlabeled inputs of ``[data] unlabeled`` when set)."""
    d = cfg.data
    data = load_subsets(d.path, d.n_train, d.n_val, d.n_test, d.split_seed, d.train_frames, rank_slice=(rank, world))
    if d.unlabeled is not None:
        data.unlabeled = load_unlabeled(d.unlabeled, data.description, d.T_in)
    return data


def loop_settings(cfg: TrainConfig) -> LoopSettings:
    """The :class:`~pihamno.training.trainer.LoopSettings` of ``[optim]`` and ``[run]``."""
    o, r = cfg.optim, cfg.run
    return LoopSettings(
        epochs=o.epochs, steps_per_epoch=o.steps_per_epoch, batch_size=o.batch_size, T_in=cfg.data.T_in,
        grad_clip=o.grad_clip, pushforward=r.pushforward, pushforward_detach=r.pushforward_detach,
        val_metric=r.val_metric, val_every=r.val_every, log_every=r.log_every, tensorboard=r.tensorboard,
        seed=r.seed, unroll=cfg.physics.unroll, unroll_detach=cfg.physics.unroll_detach,
        val_rollout_every=r.val_rollout_every,
        unlabeled_batch=0 if cfg.data.unlabeled is None else (cfg.physics.unlabeled_batch or o.batch_size),
    )


# --------------------------------------------------------------------------------------------- resume policy
def locked_changes(saved: TrainConfig, cfg: TrainConfig) -> tuple[list[str], list[str]]:
    """(keys that differ, those of them that a resume may not change): everything but :data:`RESUME_FREE`,
    and, when lam = 0 in both, nothing of ``[physics]`` (no physics object is built, so none of it was used)."""
    changed = diff_configs(saved.to_dict(), cfg.to_dict())
    idle = saved.physics.lam == 0 and cfg.physics.lam == 0
    return changed, [k for k in changed if k not in RESUME_FREE and not (idle and k.startswith("physics."))]


def _resumable(cfg: TrainConfig, state: dict, checkpoint: Path) -> TrainConfig:
    """``cfg`` if it differs from the checkpoint's config in :data:`RESUME_FREE` keys only."""
    saved = from_dict(state["config"], f"the config of {checkpoint}")
    changed, locked = locked_changes(saved, cfg)
    if locked:
        raise InputError(
            f"cannot resume with a different {', '.join(locked)} than the checkpoint's; "
            "start a new run (another run.out) or drop those overrides"
        )
    if "optim.epochs" in changed:
        log.warning("optim.epochs changed on resume: the cosine schedule is rescaled from here on")
    return cfg


def _check_same_data(cfg: TrainConfig, state: dict) -> None:
    """Refuse to continue ``state`` on data other than its own (wherever the file is), before reading them."""
    stored = record.stored_fingerprint(state)
    if stored is not None and cfg.data.path and not record.same_data(stored, record.fingerprint(cfg.data.path)):
        diff = record.content_differences(state["data"].get("meta") or {}, read_metadata(cfg.data.path))
        raise InputError(f"cannot resume: {cfg.data.path!r} is not the data this run was trained on "
                         f"({', '.join(diff[:4]) or 'another shape'}); pass the run's own data with --data")


def build_trainer(cfg: TrainConfig, *, state: dict | None = None, checkpoint: Path | None = None, env=None,
                  quiet: bool = False, model: torch.nn.Module | None = None, physics=None) -> Trainer:
    """A :class:`~pihamno.training.Trainer` for ``cfg`` (continuing ``state``, a training checkpoint's payload,
    when given). ``model`` / ``physics`` replace the ones the config names (tests, custom models)."""
    env = env or init_distributed(cfg.run.device)
    if state is not None:
        _check_same_data(cfg, state)
        cfg = _resumable(cfg, state, checkpoint or Path(cfg.run.out) / "last.pt")
    torch.manual_seed(cfg.run.seed)
    data = load_training_data(cfg, env.rank, env.world)
    data_record = record.data_record(cfg.data.path, cfg.run.out)
    if state is not None:
        if any(list(map(int, data.subsets[k])) != list(state["split"][k]) for k in data.subsets):
            raise InputError(f"cannot resume: the trajectory split of {cfg.data.path!r} differs from the checkpoint's")
    processor = (FieldProcessor.from_state(state["processor"]) if state is not None
                 else FieldProcessor.fit(cfg.data.normalize, data.train, cfg.data.target, cfg.data.T_in)
                 .with_constraint(mass_constraint(cfg, data.description)))
    model = build_model_for(cfg) if model is None else model
    if physics is None:
        physics = build_physics(cfg, data.description, int(data.train.shape[-1]), env.device)
    o = cfg.optim
    model = model.to(env.device)
    opt, sched = build_optimizer(model, o.lr, o.weight_decay, o.epochs * o.steps_per_epoch, o.warmup_steps,
                                 o.min_lr_ratio, o.optimizer)
    trainer = Trainer(model, data, build_objective(cfg, physics, processor), opt, sched, loop=loop_settings(cfg),
                      processor=processor, out=cfg.run.out, env=env, bf16=cfg.run.bf16, compile=cfg.run.compile,
                      data_on_device=cfg.data.on_device, channels_last=cfg.run.channels_last,
                      record={"config": cfg.to_dict(), "data": data_record, "world_size": env.world}, quiet=quiet)
    if state is not None:
        saved_world = int(state.get("world_size", 1))
        if saved_world != env.world and env.is_main:
            log.info(f"resuming a run trained by {saved_world} process(es) with {env.world}: every rank draws the same "
                     f"global batch of {cfg.optim.batch_size} windows, so the run continues as it would have")
        try:
            trainer.load_state(state)
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:  # weights, optimiser, schedule, counters
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            why = first if isinstance(exc, InputError) else f"its training state does not fit the run ({first})"
            raise InputError(f"cannot resume {str(checkpoint)!r}: {why}") from None
    return trainer


def write_run_config(trainer: Trainer, cfg: TrainConfig) -> Path:
    """``run.out/config.toml``: the config, headed by the effective device switches (rank 0 writes)."""
    path = Path(cfg.run.out) / "config.toml"
    if trainer.env.is_main:
        eff = (f"# effective on {trainer.device}: bf16 = {str(trainer.bf16).lower()}, compile = "
               f"{str(trainer.compile).lower()}, world size {trainer.env.world}\n"
               f"# data.path is {os.path.abspath(cfg.data.path)} (from this folder: "
               f"{os.path.relpath(os.path.abspath(cfg.data.path), os.path.abspath(cfg.run.out))})\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(eff + dump_toml(cfg))
    return path


# --------------------------------------------------------------------------------------------- the run
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


def resolve_checkpoint(resume: str | Path) -> Path:
    """A resume target: a checkpoint file, or a run folder (its ``last.pt``)."""
    try:
        return checkpoint_in(resume, ("last.pt",))
    except InputError as exc:
        raise InputError(f"cannot resume: {exc}") from None


def train(cfg: TrainConfig, *, resume: str | Path = "never", overwrite: bool = False, env=None, quiet: bool = False,
          model: torch.nn.Module | None = None, physics=None) -> TrainResult:
    """Train the run ``cfg`` describes, resuming as ``resume`` says (module docstring); returns a :class:`TrainResult`.

    ``overwrite`` starts over in a folder that holds another run. Raises :class:`~pihamno.errors.TrainingDiverged`
    when the loss becomes non-finite (the last good checkpoint is kept). Under ``torchrun`` rank 0 decides
    (and reads the checkpoint) for every rank; a checkpoint continues under any world size (module docstring of
    :mod:`pihamno.training.distributed`).
    """
    out = Path(cfg.run.out)
    if env is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: join the group to decide
        env = init_distributed(cfg.run.device)
    threads = set_cpu_threads(cfg.run.threads)
    try:
        with contextlib.ExitStack() as held:  # rank 0 holds the run folder's lock until the run ends
            state, checkpoint, reused = on_main(lambda: _prepare(cfg, resume, overwrite, held), env)
            if reused is not None:
                return reused
            trainer = build_trainer(cfg, state=state, checkpoint=checkpoint, env=env, quiet=quiet, model=model,
                                    physics=physics)
            write_run_config(trainer, cfg)
            start = trainer.epoch
            result = trainer.fit()
            # every rank waits for rank 0's last checkpoint writes: a rank that left early and tore down the gloo
            # group while rank 0 still worked aborted the job ("terminate called without an active exception")
            barrier(trainer.env)
    finally:
        torch.set_num_threads(threads)
    return TrainResult(out, result["epoch"], result["step"], result["best"], result["last"], _to_evaluate(out),
                       "resumed" if state is not None else "trained", start)


def _prepare(cfg: TrainConfig, resume: str | Path, overwrite: bool, held: contextlib.ExitStack):
    """Rank 0: :func:`_plan` the run under the run folder's lock (:func:`pihamno.locks.hold` on ``RUN/.lock``,
    entered into ``held``), after checking the data (:func:`pihamno.data.checks.require_sound`); a run folder
    that does not exist yet is created only once the data passed."""
    out = Path(cfg.run.out)
    if out.is_dir():
        _lock(out, held)
    plan = _plan(cfg, resume, overwrite)
    if plan[2] is not None:  # finished: nothing is trained, the data are not needed
        return plan
    require_sound(input_file(cfg.data.path, "dataset"))
    if not out.is_dir():
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create run folder {str(out)!r}: {write_failure(exc)}") from None
        _lock(out, held)
        plan = _plan(cfg, resume, overwrite)  # another run may have started in it meanwhile
    return plan


def _lock(out: Path, held: contextlib.ExitStack) -> None:
    """Hold ``out/.lock`` until ``held`` closes; a run folder in use, or one that cannot be written, is refused."""
    try:
        held.enter_context(hold(out / LOCK_FILE, f"run folder {str(out)!r}", "wait for that run to finish, stop it, "
                                "or choose another --out"))
    except OSError as exc:
        raise InputError(f"cannot write in run folder {str(out)!r}: {write_failure(exc)}") from None


def _plan(cfg: TrainConfig, resume: str | Path, overwrite: bool):
    """``(state, checkpoint, reused)``: the checkpoint payload to continue (or None), its path, and the
    :class:`TrainResult` of a run that is already finished (else None)."""
    out = Path(cfg.run.out)
    last = out / "last.pt"
    state, checkpoint = None, None
    if resume not in ("never", "auto"):
        checkpoint = resolve_checkpoint(resume)
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
            changed = locked_changes(saved, cfg)[1]
            if changed:
                raise InputError(f"{out} holds a run with other settings ({', '.join(changed[:4])}); "
                                 "pass --overwrite or choose another --out")
        if int(state["epoch"]) >= cfg.optim.epochs:  # finished: nothing to train
            if resume != "auto":
                _resumable(cfg, state, checkpoint)
            best = {"score": float(state["best"]["score"]), "epoch": int(state["best"]["epoch"])}
            folder = checkpoint.parent
            return None, checkpoint, TrainResult(folder, int(state["epoch"]), int(state["step"]), best,
                                                 last_epoch(folder), _to_evaluate(folder), "reused", int(state["epoch"]))
    return state, checkpoint, None


def _to_evaluate(out: Path) -> Path:
    return out / "best.pt" if (out / "best.pt").is_file() else out / "last.pt"


def last_epoch(out: str | Path) -> dict:
    """The last row of ``out/metrics.csv`` as numbers (every numeric column; ``{}`` when there is none)."""
    try:
        with open(Path(out) / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return {}
    row = {}
    for k, v in (rows[-1] if rows else {}).items():
        try:
            row[k] = float(v)
        except (TypeError, ValueError):
            pass
    return row


def config_for_resume(checkpoint: str | Path, overrides: list[str] | tuple = ()) -> TrainConfig:
    """The config to continue ``checkpoint`` with when no config file is given, from any working directory:
    the checkpoint's own, with ``run.out`` its folder and ``data.path`` its training data found again
    (:func:`pihamno.config.record.locate_data`), then the ``--set`` ``overrides`` (which may name others)."""
    checkpoint = Path(checkpoint)
    state = load_training_checkpoint(checkpoint)
    saved = {s: dict(t) for s, t in state["config"].items()}
    given = {o.split("=", 1)[0].strip() for o in overrides}
    saved.setdefault("run", {})["out"] = str(checkpoint.parent)
    if "data.path" not in given:
        saved.setdefault("data", {})["path"] = str(record.locate_data(state, checkpoint))
    return from_dict(saved, f"the config of {checkpoint}", overrides)
