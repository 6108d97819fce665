"""One model step in physical units, autoregressive rollouts and teacher-forced one-step predictions (batched).

Frame convention: a trajectory has F frames ``u_0 .. u_{F-1}``; the model sees ``T_in`` consecutive frames
and predicts the next. Both functions return full-length arrays whose first ``T_in`` frames are copies of
the given reference frames (the model's inputs), so frame f of the output is comparable with frame f of
the reference; metrics exclude those given frames from aggregates.
"""

from __future__ import annotations

import torch

from pihamno.errors import InputError
from pihamno.stepping.processor import FieldProcessor


def predict_next(model: torch.nn.Module, processor: FieldProcessor, window: torch.Tensor,
                 bf16: bool = False) -> torch.Tensor:
    """One model step in physical units: ``constrain(window[:, -1], post(model(pre(window))))``.

    window: (B, T_in, n, n, n) -> next frame (B, n, n, n), float32. ``bf16`` runs the model forward under
    bf16 autocast (CUDA); its output is cast back to float32 before ``post``. The processor's constraint
    (e.g. exact mass conservation) acts on the step from the last input frame, so every caller (training,
    validation, rollouts, evaluation) predicts under it.
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
    return processor.constrain(window[:, -1], processor.post(out[:, 0].float()))


@torch.no_grad()
def rollout(model: torch.nn.Module, processor: FieldProcessor, given: torch.Tensor, frames: int,
            bf16: bool = False) -> torch.Tensor:
    """Roll out from ``given`` (B, T_in, n, n, n) to ``frames`` frames in total -> (B, frames, n, n, n).

    Frame f >= T_in is ``predict_next`` of frames f - T_in .. f - 1 of the output itself.
    """
    T_in = given.shape[1]
    if frames < T_in:
        raise InputError(f"a rollout of {frames} frames is shorter than the {T_in} given frames")
    out = torch.empty((given.shape[0], frames) + tuple(given.shape[2:]), dtype=torch.float32, device=given.device)
    out[:, :T_in] = given
    for f in range(T_in, frames):
        out[:, f] = predict_next(model, processor, out[:, f - T_in : f], bf16=bf16)
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
