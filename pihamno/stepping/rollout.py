"""One model step in physical units, autoregressive rollouts and teacher-forced one-step predictions (batched).

Frame convention: a trajectory has F frames ``u_0 .. u_{F-1}``; the model sees ``T_in`` consecutive frames
and predicts the next. :func:`rollout` and :func:`one_step` return full-length arrays whose first ``T_in``
frames are copies of the given reference frames (the model's inputs), so frame f of the output is comparable
with frame f of the reference; metrics exclude those given frames from aggregates.

The fast path for many trajectories at once is :func:`stream_rollout`: a generator of the predicted frames
under ``torch.inference_mode``, holding only the ``T_in``-frame window (memory ``B T_in n^3`` however long the
rollout), optionally with bf16 autocast, channels-last inputs and a compiled model
(:func:`inference_model`: ``torch.compile``, with CUDA graphs on CUDA). :func:`rollout` is built on it;
training's validation and ``bench/gpu_suite.py`` consume the stream directly.
"""

from __future__ import annotations

import torch

from pihamno.errors import InputError
from pihamno.stepping.processor import FieldProcessor


def predict_next(model: torch.nn.Module, processor: FieldProcessor, window: torch.Tensor,
                 bf16: bool = False) -> torch.Tensor:
    """One model step in physical units: ``processor.next_frame(window[:, -1], model(pre(window)))``, i.e.
    ``constrain(u_prev, post(v))``, or ``constrain(u_prev, u_prev + v inc_std + inc_mean)`` for a processor
    whose target is the increment (:mod:`pihamno.stepping.processor`).

    window: (B, T_in, n, n, n) -> next frame (B, n, n, n), float32. ``bf16`` runs the model forward under
    bf16 autocast (CUDA); its output is cast back to float32 before it is mapped back. The processor's
    constraint (e.g. exact mass conservation) acts on the step from the last input frame, so every caller
    (training, validation, rollouts, evaluation) predicts under it.
    """
    if window.ndim != 5:
        raise InputError(f"model input must have shape (B, T_in, n, n, n), got {tuple(window.shape)}")
    with torch.autocast(device_type=window.device.type, dtype=torch.bfloat16, enabled=bf16):
        out = model(processor.pre(window))
    if out.ndim != 5 or out.shape[1] != 1 or out.shape[2:] != window.shape[2:]:
        raise InputError(
            f"model output must have shape (B, 1, n, n, n) = {(window.shape[0], 1) + tuple(window.shape[2:])}, "
            f"got {tuple(out.shape)}"
        )
    return processor.next_frame(window[:, -1].float(), out[:, 0].float())


def stream_rollout(model: torch.nn.Module, processor: FieldProcessor, given: torch.Tensor, frames: int,
                   bf16: bool = False, channels_last: bool = False, guard=None):
    """Yield ``(f, frame)`` for f = T_in .. frames - 1: the rollout from ``given`` (B, T_in, n, n, n), one
    ``(B, n, n, n)`` float32 frame at a time, under ``torch.inference_mode``; only the window is kept.

    Frame f is ``predict_next`` of the previous ``T_in`` frames (given ones first), passed through ``guard``
    when one is given (a :class:`pihamno.stepping.guard.RolloutGuard`: started on the last given frame, its
    ``counts`` hold the guard's work per trajectory afterwards). A yielded frame is a view of the current
    window: copy it (or reduce it to a metric) before asking for the next one.
    """
    T_in = given.shape[1]
    if frames < T_in:
        raise InputError(f"a rollout of {frames} frames is shorter than the {T_in} given frames")
    return _stream(model, processor, given, frames, bf16, channels_last, guard)


@torch.inference_mode()  # the decorator re-enters inference mode at every resume, the caller keeps its own mode
def _stream(model, processor, given, frames, bf16, channels_last, guard):
    mark_step = getattr(torch.compiler, "cudagraph_mark_step_begin", None) if given.device.type == "cuda" else None
    window = given.float()
    if guard is not None:
        guard.start(window[:, -1])
    for f in range(given.shape[1], frames):
        if mark_step is not None:
            mark_step()  # a CUDA-graph replay may reuse its output buffer: the window below is our own copy
        x = window.contiguous(memory_format=torch.channels_last_3d) if channels_last else window
        nxt = predict_next(model, processor, x, bf16=bf16)
        if guard is not None:
            nxt = guard.step(nxt)
        window = torch.cat([window[:, 1:], nxt[:, None]], dim=1)
        yield f, window[:, -1]


def inference_model(model: torch.nn.Module, compile: bool = False, cudagraphs: bool = True,
                    backend: str = "inductor") -> torch.nn.Module:
    """``model`` in eval mode, ``torch.compile``-d when ``compile`` (static shapes; ``mode="reduce-overhead"``, i.e.
    CUDA graphs, on CUDA when ``cudagraphs``; ``backend="eager"`` only traces, e.g. to check a CPU run for graph
    breaks without a C++ build). Compiling HAMNO takes about a minute; it pays for long rollouts."""
    model = model.eval()
    if not compile:
        return model
    cuda = next(model.parameters()).device.type == "cuda"
    mode = "reduce-overhead" if cuda and cudagraphs and backend == "inductor" else None
    return torch.compile(model, dynamic=False, mode=mode, backend=backend)


@torch.no_grad()
def rollout(model: torch.nn.Module, processor: FieldProcessor, given: torch.Tensor, frames: int,
            bf16: bool = False, guard=None) -> torch.Tensor:
    """Roll out from ``given`` (B, T_in, n, n, n) to ``frames`` frames in total -> (B, frames, n, n, n).

    Frame f >= T_in is ``predict_next`` of frames f - T_in .. f - 1 of the output itself, through ``guard``
    when given (:func:`stream_rollout`, collected).
    """
    T_in = given.shape[1]
    if frames < T_in:
        raise InputError(f"a rollout of {frames} frames is shorter than the {T_in} given frames")
    out = torch.empty((given.shape[0], frames) + tuple(given.shape[2:]), dtype=torch.float32, device=given.device)
    out[:, :T_in] = given
    for f, frame in stream_rollout(model, processor, given, frames, bf16=bf16, guard=guard):
        out[:, f] = frame
    return out


@torch.no_grad()
def one_step(model: torch.nn.Module, processor: FieldProcessor, reference: torch.Tensor, T_in: int,
             bf16: bool = False) -> torch.Tensor:
    """Teacher-forced predictions: frame f >= T_in from the *reference* frames f - T_in .. f - 1.

    reference: (B, F, n, n, n) -> (B, F, n, n, n) with frames < T_in copied from ``reference``.
    """
    if reference.shape[1] <= T_in:
        raise InputError(f"trajectories of {reference.shape[1]} frames leave nothing to predict after {T_in} given")
    out = reference.clone().float()
    for f in range(T_in, reference.shape[1]):
        out[:, f] = predict_next(model, processor, reference[:, f - T_in : f], bf16=bf16)
    return out


def persistence(reference: torch.Tensor, T_in: int) -> torch.Tensor:
    """The persistence baseline ("doing nothing"): every frame f >= T_in is the last given frame T_in - 1.

    reference: (B, F, n, n, n) -> a view of the same shape (frames < T_in are the given ones, as in :func:`rollout`),
    the rollout a surrogate must beat to be worth running.
    """
    if reference.ndim < 2 or not 1 <= T_in <= reference.shape[1]:
        raise InputError(f"persistence needs trajectories (B, F, ...) with 1 <= T_in <= F, got {tuple(reference.shape)} "
                         f"and T_in = {T_in}")
    held = reference[:, T_in - 1 : T_in].expand_as(reference)
    return torch.cat([reference[:, :T_in], held[:, T_in:]], dim=1)
