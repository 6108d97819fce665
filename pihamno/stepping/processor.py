"""Pre/post-processing of fields around the model: the only place normalisation lives.

The model works on ``pre(u)`` and its output is mapped back with ``post``; losses (data and physics),
rollouts and metrics always see physical fields. A processor may also carry a hard constraint on the step
(:mod:`pihamno.stepping.constraints`: exact mass conservation), applied by :meth:`FieldProcessor.constrain`
to every prediction :func:`pihamno.stepping.predict_next` makes, in training and in every rollout. The
processor's state is a plain dict stored in the checkpoint (``payload["processor"]``, with the constraint
under ``"constraint"`` when there is one), so evaluation applies exactly what training used.

Kinds:

* ``"none"``     -- identity (the default; phase fields already lie in about [-1, 1]).
* ``"standard"`` -- one scalar mean/std over all training frames: ``pre(u) = (u - mean) / std``,
  ``post(v) = v * std + mean``.

Example:

>>> import torch
>>> p = FieldProcessor.fit("standard", torch.tensor([1.0, 3.0]))
>>> p.mean, p.std, p.pre(torch.tensor([3.0])).item(), FieldProcessor.from_state(p.state_dict()).post(torch.tensor([1.0])).item()
(2.0, 1.0, 1.0, 3.0)
"""

from __future__ import annotations

import torch

from pihamno.choices import NORMALIZATIONS, Normalization  # noqa: F401 - re-exported
from pihamno.errors import InputError


class FieldProcessor:
    """Scalar affine map ``u -> (u - mean) / std`` applied to model inputs and inverted on outputs, and an
    optional ``constraint`` on the predicted step (e.g. :class:`~pihamno.stepping.constraints.MassProjection`)."""

    def __init__(self, kind: str = "none", mean: float = 0.0, std: float = 1.0, constraint=None):
        if kind not in NORMALIZATIONS:
            raise InputError(f"unknown normalisation {kind!r}; expected one of {', '.join(NORMALIZATIONS)}")
        if not std > 0:
            raise InputError(f"normalisation std must be positive, got {std!r}")
        self.kind, self.mean, self.std = kind, float(mean), float(std)
        self.constraint = constraint

    def with_constraint(self, constraint) -> "FieldProcessor":
        """The same normalisation with ``constraint`` (None: without one)."""
        return FieldProcessor(self.kind, self.mean, self.std, constraint)

    @classmethod
    def fit(cls, kind: str, frames: torch.Tensor) -> "FieldProcessor":
        """Fit on training frames of any shape (float64 accumulation)."""
        if kind == "none":
            return cls()
        x = frames.detach().to(torch.float64)
        std = float(x.std(correction=0))
        return cls(kind, float(x.mean()), std if std > 0 else 1.0)

    def pre(self, u: torch.Tensor) -> torch.Tensor:
        return u if self.kind == "none" else (u - self.mean) / self.std

    def post(self, v: torch.Tensor) -> torch.Tensor:
        return v if self.kind == "none" else v * self.std + self.mean

    def constrain(self, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """The predicted step ``u_prev -> u_next`` (physical fields) under the constraint (identity without)."""
        return u_next if self.constraint is None else self.constraint(u_prev, u_next)

    def state_dict(self) -> dict:
        state = {"kind": self.kind, "mean": self.mean, "std": self.std}
        if self.constraint is not None:
            state["constraint"] = self.constraint.state_dict()
        return state

    @classmethod
    def from_state(cls, state: dict | None) -> "FieldProcessor":
        """Rebuild from :meth:`state_dict` (``None`` -> identity, for checkpoints without one)."""
        if not state:
            return cls()
        constraint = None
        if state.get("constraint"):
            from pihamno.stepping.constraints import MassProjection

            constraint = MassProjection.from_state(state["constraint"])
        return cls(state["kind"], state["mean"], state["std"], constraint)

    def __repr__(self) -> str:
        extra = "" if self.constraint is None else f", constraint={self.constraint!r}"
        return f"FieldProcessor({self.kind!r}, mean={self.mean:.4g}, std={self.std:.4g}{extra})"
