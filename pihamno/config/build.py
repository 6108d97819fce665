"""The one place where a typed config becomes objects: model, data, physics, objective, optimiser, trainer.

Everything below this module takes objects (:class:`pihamno.training.Trainer`,
:func:`pihamno.evaluation.evaluate_model`, the workflow stages); everything above it (the command line, the
example scripts, the studies) builds a :class:`~pihamno.config.schema.TrainConfig` in Python and calls:

* :func:`train` -- build (or resume, or reuse) a run and train it: the ONE resume mechanism, for every caller;
* :func:`config_for_resume` -- the config a checkpoint continues with from any working directory;
* :func:`load_trained` -- a trained model with its normalisation, ``T_in`` and split, from a checkpoint;
* :func:`evaluate_checkpoint` -- :func:`pihamno.evaluation.evaluate_model` of a checkpoint, on the data and
  trajectories its run record (:mod:`pihamno.config.record`) allows.

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

import csv
import logging
import os
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


def physics_choices(cfg: TrainConfig, meta: dict):
    """``(mesh, element, weak)`` of the physics loss: a :class:`fem.mesh.MeshChoice`, ``"P1"``/``"P2"`` and the
    weak form; unset ``split`` / ``mesh`` / ``element`` follow the dataset (its ``split`` or ``mesh_file``, its
    ``element``), so the weak residual is the reference solver's own and vanishes on the data."""
    from fem.mesh import MeshChoice

    p = cfg.physics
    mesh = MeshChoice.from_attrs(meta) if p.mesh is None and p.split is None else MeshChoice(split=p.split, file=p.mesh)
    return mesh, p.element or meta.get("element") or "P1", p.weak


def describe_physics(cfg: TrainConfig, meta: dict) -> str:
    """The objective in words, for the console: ``"physics loss: assembled weak form, P2 test functions on ..."``."""
    if cfg.physics.lam == 0:
        return "data loss only (lambda = 0: no physics loss)"
    mesh, element, weak = physics_choices(cfg, meta)
    return (f"physics loss (lambda = {cfg.physics.lam:g}): {weak} weak form with {element} test functions on the "
            f"{mesh.describe()}, strong (nodal) residual on the data's own mesh")


def build_physics(cfg: TrainConfig, meta: dict, n: int, device: torch.device):
    """The :class:`pihamno.physics.PhysicsLoss` of the dataset's PDE on :func:`physics_choices`, or ``None``
    when ``[physics] lam == 0``."""
    if cfg.physics.lam == 0:
        return None
    from pihamno.physics import PhysicsLoss

    mesh, element, weak = physics_choices(cfg, meta)
    return PhysicsLoss.from_metadata(meta, n, mesh=mesh, element=element, weak=weak, device=device,
                                     dtype=torch.float32)


def build_objective(cfg: TrainConfig, physics=None):
    """``(1 - lam) Lhat_data + lam (w_strong Lhat_strong + w_weak Lhat_weak)`` with the config's weights and
    balance (:mod:`pihamno.training.losses`; no balance when lam = 0 or ``balance = "none"``)."""
    from pihamno.training.balance import LossBalance
    from pihamno.training.losses import TERMS, Objective

    p = cfg.physics
    balance = None
    if p.lam > 0 and p.balance != "none":
        balance = LossBalance(TERMS, p.balance_beta)
        if p.balance == "running_mean" and abs(p.w_strong + p.w_weak - 1.0) > 1e-6:
            log.warning(f"[physics] w_strong + w_weak = {p.w_strong + p.w_weak:g}: under the balance lam = {p.lam:g} "
                        "is the physics share of the objective only when they sum to 1")
    return Objective(p.lam, p.w_strong, p.w_weak, cfg.optim.data_loss, physics, balance,
                     physics_only=p.balance == "physics")


def load_training_data(cfg: TrainConfig, rank: int = 0, world: int = 1):
    """:class:`~pihamno.training.windows.SplitData` of ``[data]`` (this rank's share of validation, and the
    unlabeled pool of ``[data] unlabeled`` when set)."""
    from pihamno.training.windows import load_pool, load_split

    d = cfg.data
    data = load_split(d.path, d.n_train, d.n_val, d.n_test, d.split_seed, d.train_frames, rank_slice=(rank, world))
    if d.unlabeled is not None:
        data.pool = load_pool(d.unlabeled, data.meta, d.T_in)
    return data


def mass_constraint(cfg: TrainConfig, meta: dict):
    """The :class:`~pihamno.stepping.MassProjection` of ``[data] conserve_mass`` on the dataset's mesh (None
    when off); refused for a PDE that does not conserve mass."""
    if not cfg.data.conserve_mass:
        return None
    from fem.mesh import MeshChoice
    from fem.pde import get_pde
    from pihamno.stepping import MassProjection

    pde = get_pde(str(meta.get("pde", "")).lower())
    if not pde.conserves_mass:
        raise InputError(f"[data] conserve_mass = true, but the {pde.title} equation of {cfg.data.path!r} does not "
                         "conserve mass; set it for mass-conserving PDEs only (e.g. Cahn-Hilliard)")
    choice = MeshChoice.from_attrs(meta)
    return MassProjection("kuhn" if choice.is_file else choice.split, float(meta["L"]))


def loop_settings(cfg: TrainConfig):
    """The :class:`~pihamno.training.trainer.LoopSettings` of ``[optim]`` and ``[run]``."""
    from pihamno.training.trainer import LoopSettings

    o, r = cfg.optim, cfg.run
    return LoopSettings(
        epochs=o.epochs, steps_per_epoch=o.steps_per_epoch, batch_size=o.batch_size, T_in=cfg.data.T_in,
        grad_clip=o.grad_clip, pushforward=r.pushforward, pushforward_detach=r.pushforward_detach,
        val_metric=r.val_metric, val_every=r.val_every, log_every=r.log_every, tensorboard=r.tensorboard,
        seed=r.seed, unroll=cfg.physics.unroll, unroll_detach=cfg.physics.unroll_detach,
        val_rollout_every=r.val_rollout_every,
        pool_batch=0 if cfg.data.unlabeled is None else (cfg.physics.unlabeled_batch or o.batch_size),
    )


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


def build_trainer(cfg: TrainConfig, *, state: dict | None = None, checkpoint: Path | None = None, env=None,
                  quiet: bool = False, model: torch.nn.Module | None = None, physics=None):
    """A :class:`~pihamno.training.Trainer` for ``cfg`` (continuing ``state``, a training checkpoint's payload,
    when given). ``model`` / ``physics`` replace the ones the config names (tests, custom models)."""
    from pihamno.config.record import content_differences, data_record, fingerprint, same_data, stored_fingerprint
    from pihamno.data import read_metadata
    from pihamno.stepping import FieldProcessor
    from pihamno.training.distributed import init_distributed
    from pihamno.training.optim import build_optimizer
    from pihamno.training.trainer import Trainer

    env = env or init_distributed(cfg.run.device)
    stored = stored_fingerprint(state) if state is not None else None
    if stored is not None and cfg.data.path:  # the same data (wherever the file is), before reading it
        if not same_data(stored, fingerprint(cfg.data.path)):
            diff = content_differences(state["data"].get("meta") or {}, read_metadata(cfg.data.path))
            raise InputError(f"cannot resume: {cfg.data.path!r} is not the data this run was trained on "
                             f"({', '.join(diff[:4]) or 'another shape'}); pass the run's own data with --data")
    if state is not None:
        cfg = _resumable(cfg, state, checkpoint or Path(cfg.run.out) / "last.pt")
    torch.manual_seed(cfg.run.seed)
    data = load_training_data(cfg, env.rank, env.world)
    record = data_record(cfg.data.path, cfg.run.out)
    if state is not None:
        if any(list(map(int, data.indices[k])) != list(state["split"][k]) for k in data.indices):
            raise InputError(f"cannot resume: the trajectory split of {cfg.data.path!r} differs from the checkpoint's")
    processor = (FieldProcessor.from_state(state["processor"]) if state is not None
                 else FieldProcessor.fit(cfg.data.normalize, data.train).with_constraint(mass_constraint(cfg, data.meta)))
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
                      record={"config": cfg.to_dict(), "data": record, "world_size": env.world}, quiet=quiet)
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
               f"{str(trainer.compile).lower()}, world size {trainer.env.world}\n"
               f"# data.path is {os.path.abspath(cfg.data.path)} (from this folder: "
               f"{os.path.relpath(os.path.abspath(cfg.data.path), os.path.abspath(cfg.run.out))})\n")
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


def resolve_checkpoint(resume: str | Path, out: str | Path | None = None) -> Path:
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

    from pihamno.training.distributed import barrier, init_distributed, on_main

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
    # every rank waits for rank 0's last checkpoint writes: a rank that left early and tore down the gloo
    # group while rank 0 still worked aborted the job ("terminate called without an active exception")
    barrier(trainer.env)
    return TrainResult(out, result["epoch"], result["step"], result["best"], result["last"], _to_evaluate(out),
                       "resumed" if state is not None else "trained", start)


def _plan(cfg: TrainConfig, resume: str | Path, overwrite: bool):
    """``(state, checkpoint, reused)``: the checkpoint payload to continue (or None), its path, and the
    :class:`TrainResult` of a run that is already finished (else None)."""
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
    from pihamno.config.record import locate_data
    from pihamno.training.checkpoint import load_training_checkpoint

    checkpoint = Path(checkpoint)
    state = load_training_checkpoint(checkpoint)
    saved = {s: dict(t) for s, t in state["config"].items()}
    given = {o.split("=", 1)[0].strip() for o in overrides}
    saved.setdefault("run", {})["out"] = str(checkpoint.parent)
    if "data.path" not in given:
        saved.setdefault("data", {})["path"] = str(locate_data(state, checkpoint))
    return from_dict(saved, f"the config of {checkpoint}", overrides)


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

    @property
    def lam(self) -> float | None:
        """``[physics] lam`` of the run (``None`` for a bare model checkpoint)."""
        lam = (self.payload.get("config") or {}).get("physics", {}).get("lam", 0.0 if "config" in self.payload else None)
        return None if lam is None else float(lam)


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


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path | None, out: str | Path,
                        trajectories: str | None = None, device=None, batch_size: int = 8, quiet: bool = False, *,
                        overwrite: bool = False, allow_mismatch: bool = False, include_training: bool = False) -> dict:
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
    """
    from pihamno.config import record as rec
    from pihamno.device import resolve_device
    from pihamno.evaluation import evaluate_model
    from pihamno.evaluation.evaluate import MARKER, WHAT
    from pihamno.io import check_output_dir

    check_output_dir(out, overwrite, MARKER, WHAT)  # before any work
    if batch_size < 1:
        raise InputError(f"--batch-size must be positive, got {batch_size}")
    dev = resolve_device(device)
    trained = load_trained(checkpoint, dev)
    stored = rec.stored_fingerprint(trained.payload)
    if data is None:
        if stored is None:
            raise InputError(f"checkpoint {str(checkpoint)!r} records no training data; pass --data FILE")
        data = rec.locate_data(trained.payload, checkpoint)
    fp = rec.fingerprint(data)
    if not fp["shape"]:
        raise InputError(f"dataset {str(data)!r} has no 'u' dataset")
    same = stored is not None and rec.same_data(stored, fp)
    problems = [] if same or stored is None else rec.mismatches(stored, fp)
    if problems and not allow_mismatch:
        raise InputError(f"{str(data)!r} does not fit the data {str(checkpoint)!r} was trained on: {'; '.join(problems)}; "
                         "pass --allow-mismatch to evaluate anyway (deliberate transfer, e.g. to a finer n)")
    spec, _, scored = rec.choose_trajectories(trajectories, fp["shape"][0], trained.split, same, include_training,
                                              str(data))
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
                          splits=trained.split if same else None, device=dev, batch_size=batch_size, quiet=quiet,
                          overwrite=overwrite, info=info)
