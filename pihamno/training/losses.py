"""The training objective (docs/design.md section 5.5).

    loss = (1 - lam) * L_data + lam * (w_strong * L_strong + w_weak * L_weak)

* ``L_data`` compares the predicted and true next frames, (B, n, n, n) each:
  ``"mse"``    mean((pred - true)^2) over batch and grid (the paper's choice);
  ``"rel_l2"`` mean over the batch of ||pred - true||_2 / ||true||_2 (grid sums).
* ``L_strong``, ``L_weak`` come from a physics object called as ``phys(u_prev, u_next)`` on the last
  input frame and the prediction, (B, n, n, n) each, returning ``{"strong": scalar, "weak": scalar}``
  (:class:`pihamno.physics.PhysicsLoss`, built by :func:`pihamno.config.build_physics`). With ``lam = 0`` no
  physics object is built and the physics terms are not evaluated.
All terms are computed in float32 on physical (un-normalised) fields.
"""

from __future__ import annotations

import torch

from pihamno.choices import DATA_LOSSES, DataLoss  # noqa: F401 - re-exported
from pihamno.errors import InputError


def data_loss(pred: torch.Tensor, true: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Scalar data misfit of ``pred`` vs ``true``, both (B, n, n, n)."""
    if pred.shape != true.shape:
        raise InputError(f"prediction {tuple(pred.shape)} and target {tuple(true.shape)} shapes differ")
    if kind == "mse":
        return torch.mean((pred - true) ** 2)
    if kind == "rel_l2":
        err = (pred - true).flatten(1).norm(dim=1)
        return torch.mean(err / true.flatten(1).norm(dim=1).clamp_min(1e-12))
    raise InputError(f"unknown data loss {kind!r}; expected one of {', '.join(DATA_LOSSES)}")


class Objective:
    """Callable ``(u_prev, pred, true) -> (loss, parts)``; ``parts`` holds detached 0-d tensors
    ``data``, ``strong``, ``weak`` (physics parts are 0 when ``lam == 0``; the data part is computed and
    logged even when ``lam == 1``, where it has no weight).

    u_prev, pred, true: (B, n, n, n) -- last input frame, prediction, true next frame. The weighting is
    :func:`pihamno.physics.combine_losses`.
    """

    def __init__(self, lam: float, w_strong: float, w_weak: float, data_kind: str = "mse", physics=None):
        if lam > 0 and physics is None:
            raise InputError(f"[physics] lam = {lam} needs a physics loss object, none was built")
        self.lam, self.w_strong, self.w_weak = float(lam), float(w_strong), float(w_weak)
        self.data_kind, self.physics = data_kind, physics

    def __call__(self, u_prev: torch.Tensor, pred: torch.Tensor, true: torch.Tensor):
        from pihamno.physics.loss import combine_losses

        pred = pred.float()
        data = data_loss(pred, true.float(), self.data_kind)
        phys = self.physics(u_prev.float(), pred) if self.lam > 0 else None
        total = combine_losses(data, phys, self.lam, self.w_strong, self.w_weak)
        zero = data.new_zeros(())
        parts = {"data": data, "strong": phys["strong"] if phys else zero, "weak": phys["weak"] if phys else zero}
        return total, {k: v.detach() for k, v in parts.items()}
