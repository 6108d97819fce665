"""The training loop: windows -> model -> objective -> AdamW step, with checkpoints, validation and logs.

One epoch is ``steps_per_epoch`` optimiser steps; each step draws a fresh global batch of windows
(:class:`~pihamno.training.windows.WindowSampler`) from the training trajectories, capped to the first
``train_frames`` frames (the epoch's draws are made at its start and moved to the device at once; the
trajectories stay in device memory with ``data.on_device``). After every epoch: validation (every
``val_every`` epochs and at the last, on the schedule below), ``last.pt`` (always), ``best.pt`` (when the
validation score improves; lower is better), one row of ``metrics.csv``. Everything a run writes is under
``run.out``; only rank 0 writes. No step waits for the device: losses stay on it until a log step.

Choices, documented:

* **Validation, not test, selects best.pt.** The validation split is carved from the training pool
  (``data.n_val`` trajectories); its score is the mean relative L2 (lumped-mass norm) over the predicted
  frames of a full autoregressive rollout of every validation trajectory (``run.val_metric = "rollout"``)
  or over teacher-forced one-step predictions of a fixed set of validation windows (``"one_step"``:
  about 8 per trajectory, evenly spread over trajectories and start frames). With ``n_val = 0`` there is
  no ``best.pt``. The test split is never read here.
* **Validation schedule** (it must cost a small fraction of training): with ``val_metric = "rollout"`` the
  full rollout runs every ``val_rollout_every`` validations and at the last epoch, and only those epochs
  can choose ``best.pt``; the validations between score the cheap one-step windows (``val_one_step`` in
  ``metrics.csv``, for the curve). Both are batched in near-equal batches of at most the training batch
  (no batch-1 remainders: a lone sample takes torch's slow conv3d path), in ``inference_mode``, and the
  rollout keeps only its ``T_in``-frame window (:func:`pihamno.stepping.stream_rollout`).
* **Pushforward** (``run.pushforward = k > 0``): each window holds ``T_in + k + 1`` frames; the model is
  unrolled k steps from the first ``T_in`` frames, then the loss is taken on step k + 1 only. With
  ``pushforward_detach = true`` (default) the k unrolled steps run without gradient (the "pushforward trick":
  the model learns to correct its own input distribution, memory of one step); with ``false`` gradients
  flow through the whole unroll (backprop through time, k + 1 times the activation memory).
  The physics loss uses the last (possibly predicted) input frame as ``u_prev``.
* **Unrolled physics** (``unroll = k > 0``, needs lam > 0): after the scored prediction the model makes k
  more steps from its own outputs; the physics terms average over all k + 1 consecutive pairs
  (last input, prediction), (prediction, step 2), ..., labels are never needed. With ``unroll_detach``
  (default) every unrolled step starts from a detached window, so each pair's gradient reaches only its own
  newest step (the pushforward idea, applied to physics); otherwise gradients flow back through the whole
  unroll. Either way the k extra forwards keep their activations for the backward: about k + 1 times the
  activation memory and time of a step (docs/training.md has the measured ratios).
* **Unlabeled inputs** (``unlabeled_batch > 0``, data from ``[data] unlabeled``): every step also draws
  ``unlabeled_batch`` windows of ``T_in`` frames from them (their own seeded sampler, saved in checkpoints);
  they go through the model in the same batch as the labeled inputs and are scored with physics only
  (their pairs, and their unrolled pairs, join the physics average).
* **Balance and shares**: the objective (:class:`~pihamno.training.losses.Objective`) scales its terms;
  every step logs the raw terms and their shares of the objective. Every ``log_every`` steps (lam > 0) the
  gradient of the physics part is also taken alone (one extra backward pass on those steps only), giving the
  gradient norms of the data and physics parts, the physics share of the gradient
  ``|g_phys| / (|g_data| + |g_phys|)`` and their cosine, all before clipping.
* **bf16 / compile** act on CUDA only: on another device they are ignored with one warning and the run
  is fp32 eager (the effective values are written to ``config.toml``'s comment line and the log). Autocast
  covers the model forward only; losses and physics residuals are float32.
* **NaN/Inf guard**: every step's loss and gradient norm are kept on the device; at each log step and at
  the end of every epoch (before anything is saved) they are checked in one transfer, and a non-finite
  value stops the run with :class:`TrainingDiverged` naming the first bad step. The optimiser steps in
  between are not held back (that would cost a host sync per step), so the weights in memory may be
  spoilt, but no non-finite update reaches a checkpoint: the checkpoints of the last completed epoch stay
  as they were.
* **Device switches**: ``channels_last`` stores the model's weights and inputs as ``channels_last_3d``
  (measured 0.9x the step time of the default layout on CPU, docs/performance.md); AdamW is fused on CUDA
  (:func:`pihamno.training.optim.build_optimizer`).
* **Resume** restores model, optimiser, scheduler, epoch/step, RNG states (torch, CUDA, window sampler),
  best score, normalisation and split from ``last.pt``, so an interrupted run continues exactly as the
  uninterrupted one would (bit-for-bit on CPU).
* **DDP** (under ``torchrun``): every rank draws the same global batch and trains on its share
  (``rank::world``); gradients are averaged by DDP; validation trajectories are sharded and the score is
  all-reduced. ``optim.batch_size`` is the global batch and must be divisible by the world size.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from pihamno.errors import InputError, TrainingDiverged
from pihamno.io import plain
from pihamno.models.checkpoint import load_weights
from pihamno.stepping import FieldProcessor, grid_weights, predict_next, rel_l2, stream_rollout
from pihamno.training import run_state
from pihamno.training.balance import gradient_shares
from pihamno.training.distributed import DistEnv, all_reduce_sum
from pihamno.training.losses import Objective
from pihamno.training.windows import TrainingData, WindowSampler, even_batches, gather_windows, spread_windows

__all__ = ["LoopSettings", "Trainer", "TrainingDiverged"]


#: the unlabeled window sampler is seeded with ``seed + UNLABELED_SEED`` (independent of the labeled windows)
UNLABELED_SEED = 7919
#: logged every step (epoch means in metrics.csv)
STEP_KEYS = ("loss", "data", "strong", "weak", "share_physics", "share_strong", "share_weak", "grad_norm")
#: logged on gradient-measurement steps only (lam > 0, every log_every steps)
GRAD_KEYS = ("grad_data", "grad_physics", "grad_share", "grad_cos")


@dataclass(frozen=True)
class LoopSettings:
    """The numbers of the training loop (see the module docstring).

    ``batch_size`` is the global batch (split across ranks); ``grad_clip = 0`` disables clipping;
    ``pushforward`` extra unrolled steps (``pushforward_detach``: without gradient); validation every
    ``val_every`` epochs with ``val_metric`` ``"rollout"`` or ``"one_step"``; TensorBoard points every
    ``log_every`` steps when ``tensorboard``; ``seed`` seeds the window sampler; ``unroll`` extra
    physics-only steps (``unroll_detach``: each from a detached input); ``unlabeled_batch`` unlabeled windows
    per step (global, needs unlabeled inputs in the data); with ``val_metric = "rollout"`` the full rollout runs every
    ``val_rollout_every`` validations and at the last epoch (module docstring).
    """

    epochs: int
    steps_per_epoch: int
    batch_size: int
    T_in: int
    grad_clip: float = 1.0
    pushforward: int = 0
    pushforward_detach: bool = True
    val_metric: str = "rollout"
    val_every: int = 1
    log_every: int = 10
    tensorboard: bool = True
    seed: int = 42
    unroll: int = 0
    unroll_detach: bool = True
    unlabeled_batch: int = 0
    val_rollout_every: int = 10

    @property
    def span(self) -> int:
        """Frames per training window: ``T_in`` inputs, ``pushforward`` unrolled, one target."""
        return self.T_in + 1 + self.pushforward


class Trainer:
    """The training loop over ready objects; :meth:`fit` trains to ``loop.epochs``.

    Parameters
    ----------
    model : the network ``(B, T_in, n, n, n) -> (B, 1, n, n, n)`` (a registered model, so checkpoints rebuild it).
    data : :class:`~pihamno.training.windows.TrainingData` -- training (and validation) trajectories, their subsets,
        the data's description
        (and the unlabeled inputs, used when ``loop.unlabeled_batch > 0``).
    objective : :class:`~pihamno.training.losses.Objective` -- ``terms(u_prev, pred, true, pairs)`` (its data and
        physics parts, raw terms and shares) and the balance's ``state_dict`` / ``load_state_dict``.
    optimizer, scheduler : e.g. from :func:`pihamno.training.optim.build_optimizer` (stepped once per step).
    loop : :class:`LoopSettings`.
    processor : normalisation around the model (fitted on the training frames).
    out : run folder (``last.pt``, ``best.pt``, ``metrics.csv``, TensorBoard); only rank 0 writes.
    env : :class:`~pihamno.training.distributed.DistEnv` -- rank, world size and device.
    bf16, compile : switches, effective on CUDA only (ignored with one warning elsewhere).
    channels_last : store weights and inputs as ``channels_last_3d`` (module docstring).
    data_on_device : keep the training trajectories on the device (else on the host, pinned on CUDA).
    record : extra plain entries stored in every checkpoint (the builder stores the config and the data path).

    Build one from a config with :func:`pihamno.training.build_trainer`, which also resumes (:meth:`load_state`).
    """

    def __init__(self, model: torch.nn.Module, data: TrainingData, objective: Objective, optimizer: torch.optim.Optimizer,
                 scheduler, *, loop: LoopSettings, processor: FieldProcessor | None = None, out: str | Path,
                 env: DistEnv | None = None, bf16: bool = False, compile: bool = False, data_on_device: bool = True,
                 record: dict | None = None, quiet: bool = False, channels_last: bool = False):
        self.env = env or DistEnv()
        self.device, self.quiet = self.env.device, quiet or not self.env.is_main
        if loop.batch_size % self.env.world:
            raise InputError(f"[optim] batch_size = {loop.batch_size} must be divisible by the {self.env.world} processes")
        cuda = self.device.type == "cuda"
        self.bf16, self.compile = bf16 and cuda, compile and cuda
        for flag, on in (("bf16", bf16), ("compile", compile)):
            if on and not cuda:
                self._warn(f"[run] {flag} = true acts on CUDA only; running without it on {self.device}")
        self.loop, self.record, self._out = loop, dict(record or {}), Path(out)
        self.description, self.subsets = data.description, data.subsets
        self.n = int(data.train.shape[-1])
        self.span = loop.span
        self.sampler = WindowSampler(data.train.shape[0], data.train.shape[1], self.span, seed=loop.seed)
        self.processor = processor or FieldProcessor()
        self.train_trajs = data.train.to(self.device) if data_on_device else (
            data.train.pin_memory() if cuda else data.train)
        self.val_trajs = data.val.to(self.device) if data_on_device else data.val
        self.unlabeled_sampler, self.unlabeled_trajs = None, None
        if loop.unlabeled_batch:
            if data.unlabeled is None:
                raise InputError("unlabeled_batch > 0 needs unlabeled trajectories ([data] unlabeled)")
            if loop.unlabeled_batch % self.env.world:
                raise InputError(f"[physics] unlabeled_batch = {loop.unlabeled_batch} must be divisible by the "
                                 f"{self.env.world} processes")
            self.unlabeled_sampler = WindowSampler(data.unlabeled.shape[0], data.unlabeled.shape[1], loop.T_in,
                                              seed=loop.seed + UNLABELED_SEED)
            self.unlabeled_trajs = data.unlabeled.to(self.device) if data_on_device else (
                data.unlabeled.pin_memory() if cuda else data.unlabeled)
        self.has_validation = len(data.subsets.get("val", ())) > 0
        self.channels_last = bool(channels_last)
        self.model = model.to(self.device, memory_format=torch.channels_last_3d) if channels_last else model.to(self.device)
        self.objective, self.opt, self.sched = objective, optimizer, scheduler
        self.epoch, self.step, self.best = 0, 0, {"score": math.inf, "epoch": -1}

        self.net = self.model
        if self.env.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.net = DDP(self.model, device_ids=[self.device.index] if cuda else None)
        if self.compile:
            self.net = torch.compile(self.net)
        self._weights = None
        balance = getattr(objective, "balance", None)
        if balance is not None and self.env.enabled:
            world = self.env.world
            balance.sync = lambda v: all_reduce_sum(v.clone(), self.env) / world
        self._guard: list = []  # (epoch, step, what, value, parts) of the steps not checked yet
        self._windows: list = []  # the rest of the epoch's drawn windows (traj, start) on the device

    def _warn(self, msg: str) -> None:
        if not self.quiet:
            warnings.warn(msg, stacklevel=3)

    def load_state(self, state: dict) -> None:
        """Continue from a training checkpoint's payload: weights, optimiser, schedule, counters, best score, RNGs."""
        load_weights(self.model, state["state_dict"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.best = {"score": float(state["best"]["score"]), "epoch": int(state["best"]["epoch"])}
        run_state.restore_rng(state["rng"], self.sampler, self.unlabeled_sampler)
        self.objective.load_state_dict(state.get("balance"))

    @property
    def out(self) -> Path:
        return self._out

    @property
    def weights(self) -> torch.Tensor:
        """Lumped-mass quadrature weights (n, n, n) used by the validation metric."""
        if self._weights is None:
            self._weights = grid_weights(self.n, self.description.L or 1.0).to(self.device)
        return self._weights

    # ------------------------------------------------------------------ one step
    def _predict(self, window: torch.Tensor, net: torch.nn.Module | None = None) -> torch.Tensor:
        """One model step with the run's switches: ``net`` (default the training network) on ``window``."""
        if self.channels_last:
            window = window.contiguous(memory_format=torch.channels_last_3d)
        return predict_next(self.net if net is None else net, self.processor, window, bf16=self.bf16)

    def terms_on(self, win: torch.Tensor, unlabeled: torch.Tensor | None = None):
        """:class:`~pihamno.training.losses.Terms` of windows (B, span, n, n, n): unroll ``pushforward`` steps,
        score the next one; with ``unlabeled`` (B_u, T_in, n, n, n) and/or ``unroll`` the physics pairs grow."""
        T, k = self.loop.T_in, self.loop.pushforward
        x = win[:, :T]
        if k:
            ctx = torch.no_grad() if self.loop.pushforward_detach else contextlib.nullcontext()
            with ctx:
                for _ in range(k):
                    x = torch.cat([x[:, 1:], self._predict(x)[:, None]], dim=1)
        if unlabeled is None and not self.loop.unroll:
            return self.objective.terms(x[:, -1], self._predict(x), win[:, T + k])
        B = x.shape[0]
        inputs = x if unlabeled is None else torch.cat([x, unlabeled.to(x.dtype)], dim=0)
        out = self._predict(inputs)
        prev, nxt = [inputs[:, -1]], [out]
        for _ in range(self.loop.unroll):
            inputs = torch.cat([inputs[:, 1:], out[:, None]], dim=1)
            if self.loop.unroll_detach:
                inputs = inputs.detach()
            out = self._predict(inputs)
            prev.append(inputs[:, -1])
            nxt.append(out)
        pairs = (torch.cat(prev), torch.cat(nxt))
        return self.objective.terms(x[:, -1], nxt[0][:B], win[:, T + k], pairs=pairs)

    def loss_on(self, win: torch.Tensor, unlabeled: torch.Tensor | None = None):
        """``(loss, parts)`` of :meth:`terms_on`."""
        t = self.terms_on(win, unlabeled)
        return t.total, t.parts

    def _draw_unlabeled(self) -> torch.Tensor | None:
        if self.unlabeled_sampler is None:
            return None
        traj, start = self.unlabeled_sampler.draw(self.loop.unlabeled_batch, self.env.rank, self.env.world)
        return gather_windows(self.unlabeled_trajs, traj, start, self.loop.T_in).to(self.device, non_blocking=True)

    def _physics_gradient(self, physics_part: torch.Tensor, params: list) -> list[torch.Tensor]:
        """The gradient of the physics part alone (graph kept for the step's backward), averaged over ranks."""
        grads = torch.autograd.grad(physics_part, params, retain_graph=True, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        if self.env.enabled:
            flat = all_reduce_sum(torch.cat([g.reshape(-1) for g in grads]), self.env) / self.env.world
            grads = list(torch.split(flat, [g.numel() for g in grads]))
        return grads

    def _check_finite(self, what: str, value: torch.Tensor, parts: dict | None = None) -> None:
        """Remember ``value`` of this step for :meth:`_flush_guard` (no host sync here)."""
        self._guard.append((self.epoch, self.step, what, value.detach(), dict(parts or {})))

    def _flush_guard(self) -> None:
        """Check the remembered values in one transfer (all ranks); raise :class:`TrainingDiverged` at the first
        non-finite one. Called at log steps and at the end of every epoch, before anything is saved."""
        if not self._guard:
            return
        pending, self._guard = self._guard, []
        bad = torch.stack([~torch.isfinite(v) for *_, v, _ in pending]).to(torch.float32)
        bad = all_reduce_sum(bad, self.env).cpu()
        if not bool(bad.any()):
            return
        epoch, step, what, value, parts = pending[int(torch.nonzero(bad)[0, 0])]
        detail = ", ".join(f"{k}={float(v):.3g}" for k, v in parts.items())
        where = f"epoch {epoch + 1}, step {step + 1}"
        kept = self.out / "last.pt"
        kept_msg = f"the last good checkpoint is {kept}" if kept.is_file() else "no checkpoint was written yet"
        raise TrainingDiverged(
            f"non-finite {what} ({float(value):.3g}{'; ' + detail if detail else ''}) at {where}; training stopped, "
            f"{kept_msg}. Lower [optim] lr, set [optim] grad_clip, or check the data."
        )

    def _draw_epoch(self, steps: int) -> None:
        """Draw the windows of the next ``steps`` steps now (the sampler's sequence is unchanged) and move them to
        the device in one transfer."""
        draws = [self.sampler.draw(self.loop.batch_size, self.env.rank, self.env.world) for _ in range(steps)]
        idx = torch.stack([torch.stack(d) for d in draws])  # (steps, 2, B)
        if self.device.type == "cuda":
            idx = idx.pin_memory()
        self._windows = list(idx.to(self.train_trajs.device, non_blocking=True).unbind(0))[::-1]

    def _next_window(self) -> torch.Tensor:
        """The next step's windows (B, span, n, n, n) on the device."""
        if not self._windows:
            self._draw_epoch(1)
        traj, start = self._windows.pop()
        return gather_windows(self.train_trajs, traj, start, self.span).to(self.device, non_blocking=True)

    def train_step(self) -> dict:
        """One optimiser step on a fresh batch; returns detached loss parts and the gradient norm."""
        o = self.loop
        win = self._next_window()
        terms = self.terms_on(win, self._draw_unlabeled())
        loss, parts = terms.total, terms.parts
        self._check_finite("loss", loss.detach(), parts)
        self.opt.zero_grad(set_to_none=True)
        measure = terms.physics_part is not None and (self.step + 1) % o.log_every == 0
        if measure:
            trainable = [p for p in self.model.parameters() if p.requires_grad]
            g_phys = self._physics_gradient(terms.physics_part, trainable)
        loss.backward()
        if measure:
            total = [torch.zeros_like(p) if p.grad is None else p.grad for p in trainable]
            parts = parts | {k: v.detach() for k, v in gradient_shares(total, g_phys).items()}
        params = [p for p in self.model.parameters() if p.grad is not None]
        gn = torch.nn.utils.clip_grad_norm_(params, o.grad_clip if o.grad_clip > 0 else math.inf)
        self._check_finite("gradient norm", gn.detach(), parts)
        self.opt.step()
        self.sched.step()
        self.step += 1
        return {"loss": loss.detach(), **parts, "grad_norm": gn.detach()}

    def _global_row(self, out: dict) -> dict:
        """A log step's values over all ranks: the terms averaged, the shares of the summed objectives
        (``sum_r share_r loss_r / sum_r loss_r``); the gradient entries are global already."""
        row = {k: out[k] for k in STEP_KEYS + GRAD_KEYS if k in out}
        if not self.env.enabled:
            return row
        shares = [k for k in STEP_KEYS if k.startswith("share_")]
        plain = [k for k in STEP_KEYS if k not in shares]
        vec = torch.stack([row[k].double() for k in plain] + [row[k].double() * row["loss"].double() for k in shares])
        vec = all_reduce_sum(vec, self.env) / self.env.world
        glob = dict(zip(plain + shares, vec))
        total = glob["loss"]
        for k in shares:
            glob[k] = glob[k] / total if total > 0 else glob[k] * 0
        return row | glob

    # ------------------------------------------------------------------ validation
    @property
    def val_batch(self) -> int:
        """Largest validation batch: this rank's training batch (inference needs less memory than training), >= 2."""
        return max(2, self.loop.batch_size // self.env.world)

    def val_windows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed one-step validation windows ``(traj, start)``: about 8 per trajectory (rounded up to full
        batches), evenly spread over (trajectory, start frame) pairs, the same at every epoch."""
        return spread_windows(self.val_trajs.shape[0], self.val_trajs.shape[1], self.loop.T_in, self.val_batch)

    @torch.no_grad()
    def validate(self, kind: str | None = None) -> float | None:
        """Mean relative L2 on the validation split, or ``None`` without one: ``kind = "rollout"`` (full rollouts
        of every trajectory, mean over the predicted frames) or ``"one_step"`` (the fixed :meth:`val_windows`);
        default the configured ``val_metric``. Batched in near-equal batches of at most :attr:`val_batch`."""
        if not self.has_validation:
            return None
        kind, T = kind or self.loop.val_metric, self.loop.T_in
        self.model.eval()
        acc = torch.zeros(2, dtype=torch.float64, device=self.device)

        def add(err):
            acc.add_(torch.stack([err.sum(), torch.full((), float(err.numel()), dtype=torch.float64, device=self.device)]))

        try:
            if kind == "rollout":
                for a, b in even_batches(self.val_trajs.shape[0], self.val_batch):
                    ref = self.val_trajs[a:b].to(self.device)
                    for f, frame in stream_rollout(self.model, self.processor, ref[:, :T], ref.shape[1], bf16=self.bf16,
                                                   channels_last=self.channels_last):
                        add(rel_l2(frame, ref[:, f], self.weights))
            else:
                traj, start = self.val_windows()
                for a, b in even_batches(len(traj), self.val_batch):
                    win = gather_windows(self.val_trajs, traj[a:b], start[a:b], T + 1).to(self.device)
                    with torch.inference_mode():
                        add(rel_l2(self._predict(win[:, :T], self.model), win[:, T], self.weights))
        finally:
            self.model.train()
        all_reduce_sum(acc, self.env)
        return float(acc[0] / acc[1])

    def _scheduled_validation(self) -> tuple[float | None, float | None]:
        """This epoch's validation on the schedule (module docstring): ``(score that may choose best.pt, one-step
        score)``, either may be None. Depends on the epoch only, so a resumed run validates as an unbroken one."""
        o, e = self.loop, self.epoch
        last = e == o.epochs
        if not self.has_validation or not (e % o.val_every == 0 or last):
            return None, None
        if o.val_metric != "rollout":
            score = self.validate("one_step")
            return score, score
        if last or e % (o.val_every * o.val_rollout_every) == 0:
            return self.validate("rollout"), None
        return None, self.validate("one_step")

    # ------------------------------------------------------------------ checkpoints
    def _save(self, name: str) -> None:
        record = dict(self.record)
        data = {**record.pop("data", {}), "meta": plain(dict(self.description.attrs))}
        state = dict(
            record, epoch=self.epoch, step=self.step,
            optimizer=self.opt.state_dict(), scheduler=self.sched.state_dict(),
            rng=run_state.capture_rng(self.sampler, self.unlabeled_sampler), best=dict(self.best),
            processor=self.processor.state_dict(), balance=self.objective.state_dict(),
            split={k: [int(i) for i in v] for k, v in self.subsets.items()}, data=data, T_in=self.loop.T_in,
        )
        run_state.save_training_checkpoint(self.out / name, self.model, **state)

    # ------------------------------------------------------------------ the loop
    def fit(self) -> dict:
        """Train from the current epoch to ``loop.epochs``; returns ``{"epoch", "step", "best", "last"}``."""
        from tqdm.auto import tqdm

        from pihamno.training.logs import MetricsLog

        o = r = self.loop
        log = None
        if self.env.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            resumed = self.epoch > 0
            log = MetricsLog(self.out, r.tensorboard, resume_epoch=self.epoch if resumed else None,
                             purge_step=self.step + 1 if resumed else None, quiet=self.quiet)
        last = {}
        try:
            self.model.train()
            bar = tqdm(total=o.epochs * o.steps_per_epoch, initial=self.step, disable=self.quiet,
                       desc="train", unit="step", dynamic_ncols=True)
            nk = len(STEP_KEYS)
            while self.epoch < o.epochs:
                t0 = time.perf_counter()
                self._draw_epoch(o.steps_per_epoch)
                sums = torch.zeros(nk + len(GRAD_KEYS) + 1, dtype=torch.float64, device=self.device)
                for _ in range(o.steps_per_epoch):
                    out = self.train_step()
                    sums[:nk] += torch.stack([out[k].double() for k in STEP_KEYS])
                    if GRAD_KEYS[0] in out:
                        sums[nk:-1] += torch.stack([out[k].double() for k in GRAD_KEYS])
                        sums[-1] += 1
                    bar.update(1)
                    if self.step % r.log_every == 0:
                        self._flush_guard()
                        row = self._global_row(out)
                        if log is not None:
                            log.step(self.step, self.epoch + 1, row | {"lr": self.sched.get_last_lr()[0]})
                self._flush_guard()
                step_sums = all_reduce_sum(sums[:nk].clone(), self.env) / (o.steps_per_epoch * self.env.world)
                means = dict(zip(STEP_KEYS, step_sums.tolist()))
                sums = sums.tolist()  # the gradient measurements are global already (all-reduced gradients)
                if sums[-1]:
                    means |= dict(zip(GRAD_KEYS, (v / sums[-1] for v in sums[nk:-1])))
                self.epoch += 1
                val, val_one_step = self._scheduled_validation()
                improved = val is not None and val < self.best["score"]
                if improved:
                    self.best = {"score": val, "epoch": self.epoch}
                last = dict(means)
                last |= {"epoch": self.epoch, "step": self.step, "lr": self.sched.get_last_lr()[0],
                         "val_score": val, "val_one_step": val_one_step,
                         "best": self.best["score"] if math.isfinite(self.best["score"]) else None,
                         "seconds": time.perf_counter() - t0}
                if self.env.is_main:  # the CSV row first: a resume drops rows past the checkpoint's epoch
                    log.epoch(last)
                    if improved:
                        self._save("best.pt")
                    self._save("last.pt")
                    bar.set_postfix(loss=f"{last['loss']:.3g}", val="-" if val is None else f"{val:.3g}")
            bar.close()
        finally:
            if log is not None:
                log.close()
        return {"epoch": self.epoch, "step": self.step, "best": dict(self.best), "last": last}
