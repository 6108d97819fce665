"""Pre/post-processing of fields around the model: the only place normalisation lives.

The model works on ``pre(u)`` and its output ``v`` is mapped back to the next frame by :meth:`FieldProcessor.next_frame`;
losses (data and physics), rollouts and metrics always see physical fields. A processor may also carry a hard
constraint on the step (:mod:`pihamno.stepping.constraints`: exact mass conservation), applied to every
prediction :func:`pihamno.stepping.predict_next` makes, in training and in every rollout. The processor's
state is a plain dict stored in the checkpoint (``payload["processor"]``, with the constraint under
``"constraint"`` when there is one), so evaluation applies exactly what training used.

Input normalisation (``kind``, ``[data] normalize``):

* ``"none"``     -- identity (the default; phase fields already lie in about [-1, 1]).
* ``"standard"`` -- one scalar mean/std over all training frames: ``pre(u) = (u - mean) / std``.

What the output stands for (``target``, ``[data] target``), with ``u_prev`` the last input frame:

* ``"state"``     -- the next frame, in the inputs' units: ``u_next = v std + mean`` (the default; what the
  HAMNO authors' models do).
* ``"increment"`` -- the increment ``u_next - u_prev``, normalised by the increments' own scalar statistics
  (``inc_mean``, ``inc_std``, fitted on the training trajectories: every increment ``u_{t+1} - u_t`` with
  ``t + 1 >= T_in``, i.e. every step a training window predicts): ``u_next = u_prev + v inc_std + inc_mean``.
  An output of 0 is then the mean step, so an untrained model starts near persistence, and the model's
  output is O(1) where the step itself is small against u (SH: |d| ~ 1e-2 |u|).

Checkpoints written before ``target`` existed have no such key and load as ``"state"``; a ``"state"``
processor writes exactly the dict it always wrote.

Example:

>>> import torch
>>> p = FieldProcessor.fit("standard", torch.tensor([1.0, 3.0]))
>>> p.mean, p.std, p.pre(torch.tensor([3.0])).item(), FieldProcessor.from_state(p.state_dict()).post(torch.tensor([1.0])).item()
(2.0, 1.0, 1.0, 3.0)
>>> u = torch.tensor([[0.0, 1.0, 3.0]]).reshape(1, 3, 1)  # one trajectory of 3 frames (steps +1, +2)
>>> q = FieldProcessor.fit("none", u, target="increment", first=1)
>>> q.inc_mean, q.inc_std, q.next_frame(torch.tensor([3.0]), torch.tensor([1.0])).item()  # 3 + 1 * 0.5 + 1.5
(1.5, 0.5, 5.0)
"""

from __future__ import annotations

import torch

from pihamno.choices import NORMALIZATIONS, TARGETS, Normalization, Target  # noqa: F401 - re-exported
from pihamno.errors import InputError


def _scalar_stats(x: torch.Tensor) -> tuple[float, float]:
    """(mean, population std) of all values of ``x`` in float64; a std of 0 becomes 1 (nothing to scale)."""
    x = x.detach().to(torch.float64)
    std = float(x.std(correction=0)) if x.numel() else 0.0
    return (float(x.mean()) if x.numel() else 0.0), (std if std > 0 else 1.0)


class FieldProcessor:
    """Scalar affine map ``u -> (u - mean) / std`` applied to model inputs, the map of the model's output to the
    next frame (``target``, module docstring) and an optional ``constraint`` on the predicted step (e.g.
    :class:`~pihamno.stepping.constraints.MassProjection`)."""

    def __init__(self, kind: str = "none", mean: float = 0.0, std: float = 1.0, constraint=None,
                 target: str = "state", inc_mean: float = 0.0, inc_std: float = 1.0):
        if kind not in NORMALIZATIONS:
            raise InputError(f"unknown normalisation {kind!r}; expected one of {', '.join(NORMALIZATIONS)}")
        if target not in TARGETS:
            raise InputError(f"unknown model target {target!r}; expected one of {', '.join(TARGETS)}")
        for name, value in (("std", std), ("increment std", inc_std)):
            if not value > 0:
                raise InputError(f"normalisation {name} must be positive, got {value!r}")
        self.kind, self.mean, self.std = kind, float(mean), float(std)
        self.target, self.inc_mean, self.inc_std = target, float(inc_mean), float(inc_std)
        self.constraint = constraint

    def with_constraint(self, constraint) -> "FieldProcessor":
        """The same normalisation and target with ``constraint`` (None: without one)."""
        return FieldProcessor(self.kind, self.mean, self.std, constraint, self.target, self.inc_mean, self.inc_std)

    @classmethod
    def fit(cls, kind: str, frames: torch.Tensor, target: str = "state", first: int = 1) -> "FieldProcessor":
        """Fit on training data (float64 accumulation): the input statistics on all values of ``frames`` (any
        shape); for ``target = "increment"`` also the increment statistics, which need trajectories
        ``frames`` (N, F, ...) and take the increments ``u_{t+1} - u_t`` with ``t + 1 >= first`` (``T_in``)."""
        mean, std = _scalar_stats(frames) if kind != "none" else (0.0, 1.0)
        if target != "increment":
            return cls(kind, mean, std, target=target)
        if frames.ndim < 2 or frames.shape[1] <= max(int(first), 1):
            raise InputError(f"increment statistics need trajectories (N, F, ...) with more than T_in = {first} frames, "
                             f"got shape {tuple(frames.shape)}")
        start = max(int(first), 1)
        x = frames.detach().to(torch.float64)
        inc_mean, inc_std = _scalar_stats(x[:, start:] - x[:, start - 1 : -1])
        return cls(kind, mean, std, target=target, inc_mean=inc_mean, inc_std=inc_std)

    def pre(self, u: torch.Tensor) -> torch.Tensor:
        return u if self.kind == "none" else (u - self.mean) / self.std

    def post(self, v: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`pre` (a field in the inputs' units)."""
        return v if self.kind == "none" else v * self.std + self.mean

    def next_frame(self, u_prev: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The physical next frame from the model's output ``v`` and the last input frame ``u_prev`` (both
        (B, n, n, n)), under the constraint: ``constrain(u_prev, post(v))`` or, for the increment target,
        ``constrain(u_prev, u_prev + v inc_std + inc_mean)``."""
        if self.target == "increment":
            u_next = u_prev + (v * self.inc_std + self.inc_mean)
        else:
            u_next = self.post(v)
        return self.constrain(u_prev, u_next)

    def loss_view(self, u_prev: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """What the data loss compares for a next frame ``u`` (B, n, n, n) after ``u_prev``: the physical frame for
        the ``"state"`` target (the loss the HAMNO authors take), the normalised increment
        ``(u - u_prev - inc_mean) / inc_std`` for the ``"increment"`` target. (For the MSE that is the physical
        MSE / inc_std^2: with the physical loss of small increments, ~1e-5 on SH, the gradients fall below
        Adam's epsilon and the model does not move; docs/training.md "Increment prediction".)"""
        if self.target == "increment":
            return (u - u_prev - self.inc_mean) / self.inc_std
        return u

    def constrain(self, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """The predicted step ``u_prev -> u_next`` (physical fields) under the constraint (identity without)."""
        return u_next if self.constraint is None else self.constraint(u_prev, u_next)

    def state_dict(self) -> dict:
        state = {"kind": self.kind, "mean": self.mean, "std": self.std}
        if self.target != "state":
            state |= {"target": self.target, "inc_mean": self.inc_mean, "inc_std": self.inc_std}
        if self.constraint is not None:
            state["constraint"] = self.constraint.state_dict()
        return state

    @classmethod
    def from_state(cls, state: dict | None) -> "FieldProcessor":
        """Rebuild from :meth:`state_dict` (``None`` -> identity, for checkpoints without one; no ``target`` ->
        ``"state"``, for checkpoints written before it existed)."""
        if not state:
            return cls()
        constraint = None
        if state.get("constraint"):
            from pihamno.stepping.constraints import MassProjection

            constraint = MassProjection.from_state(state["constraint"])
        return cls(state["kind"], state["mean"], state["std"], constraint, state.get("target", "state"),
                   state.get("inc_mean", 0.0), state.get("inc_std", 1.0))

    def __repr__(self) -> str:
        extra = "" if self.target == "state" else f", target='increment' ({self.inc_mean:.3g} +- {self.inc_std:.3g})"
        extra += "" if self.constraint is None else f", constraint={self.constraint!r}"
        return f"FieldProcessor({self.kind!r}, mean={self.mean:.4g}, std={self.std:.4g}{extra})"
