"""The training objective (docs/design.md section 5.5, docs/physics.md "Balance").

    loss = S [(1 - lam) Lhat_data + lam (w_strong Lhat_strong + w_weak Lhat_weak)]

* ``L_data`` compares the predicted and true next frames, (B, n, n, n) each, as the model's ``view`` shows them
  (:meth:`pihamno.stepping.FieldProcessor.loss_view`: the physical frames, or for a model that predicts the
  increment the normalised increments ``(u - u_prev - inc_mean) / inc_std``):
  ``"mse"``    mean((pred - true)^2) over batch and grid (the paper's choice);
  ``"rel_l2"`` mean over the batch of ||pred - true||_2 / ||true||_2 (grid sums).
* ``L_strong``, ``L_weak`` come from a physics object called as ``phys(u_prev, u_next)`` on pairs of
  consecutive frames, (P, n, n, n) each, returning ``{"strong": scalar, "weak": scalar}`` (batch means;
  :class:`pihamno.physics.PhysicsLoss`, built by :func:`pihamno.config.build.build_physics`). By default the pairs
  are (last input frame, prediction); the trainer may pass more (unrolled steps, unlabeled inputs), all
  averaged into the two terms. With ``lam = 0`` no physics object is built and none is evaluated.
* **Balance** (``balance``, a :class:`~pihamno.training.balance.LossBalance`): ``Lhat_i = L_i / s_i`` with
  ``s_i`` the bias-corrected running mean of ``L_i``, so ``Lhat_i`` is about 1 and, with
  ``w_strong + w_weak = 1``, lam is the physics share of the objective. The common detached factor
  ``S = (1 - lam) s_data + lam (w_strong s_strong + w_weak s_weak)`` changes no share and no direction;
  it keeps the loss on the scale of the raw terms (so ``lr`` and ``grad_clip`` keep their meaning, at
  lam = 1 too, where it is the physics terms' own scale). Without a balance ``Lhat_i = L_i`` and ``S = 1`` (the raw
  objective). With ``lam = 0`` the loss is ``L_data`` itself, bit for bit, and the balance is never updated.
  ``physics_only=True`` (config ``balance = "physics"``) divides only the physics terms by their running means
  and keeps the data term raw, with ``S = 1``: ``(1 - lam) L_data + lam (w_strong Lhat_strong + w_weak
  Lhat_weak)``, O(1) physics terms next to a raw MSE -- the HAMNO authors' setting (their residuals are
  normalised per sample by detached norms; docs/paper.md section 5), where lam is not the share.

All terms are computed in float32; the physics terms always on physical (un-normalised) fields, the data term on
physical fields too unless the model predicts the increment (above).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pihamno.choices import DATA_LOSSES, DataLoss  # noqa: F401 - re-exported
from pihamno.errors import InputError

#: the raw terms, in the order they are logged
TERMS = ("data", "strong", "weak")


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


@dataclass
class Terms:
    """One evaluation of the objective: ``data_part + physics_part = total`` (0-d tensors with graph), and
    ``parts``, detached 0-d tensors: the raw terms ``data``, ``strong``, ``weak`` and their shares of the
    objective ``share_data``, ``share_strong``, ``share_weak``, ``share_physics`` (physics parts are 0 when
    ``lam == 0``; the data term is computed and logged even when ``lam == 1``, where it has no weight)."""

    data_part: torch.Tensor
    physics_part: torch.Tensor | None
    parts: dict

    @property
    def total(self) -> torch.Tensor:
        return self.data_part if self.physics_part is None else self.data_part + self.physics_part


class Objective:
    """Callable ``(u_prev, pred, true, pairs=None) -> (loss, parts)`` (module docstring); :meth:`terms` gives
    the data and physics parts separately (the trainer measures their gradients).

    u_prev, pred, true: (B, n, n, n) -- last input frame, prediction, true next frame. ``pairs``: optional
    ``(prev, next)``, (P, n, n, n) each, the frame pairs the physics terms average over instead of
    ``(u_prev, pred)`` (they should include it). ``balance``: a
    :class:`~pihamno.training.balance.LossBalance` over :data:`TERMS`, or None for the raw terms;
    ``physics_only``: the balance scales the physics terms only (module docstring); ``view``: ``(u_prev, u) ->``
    what the data term compares (default the frames themselves; the trainer's builder passes the processor's
    :meth:`~pihamno.stepping.FieldProcessor.loss_view`).
    """

    def __init__(self, lam: float, w_strong: float, w_weak: float, data_kind: str = "mse", physics=None,
                 balance=None, physics_only: bool = False, view=None):
        if not 0.0 <= lam <= 1.0:
            raise InputError(f"lambda must lie in [0, 1], got {lam}")
        if lam > 0 and physics is None:
            raise InputError(f"[physics] lam = {lam} needs a physics loss object, none was built")
        if balance is not None and tuple(balance.names) != TERMS:
            raise InputError(f"the balance must run over the terms {TERMS}, got {tuple(balance.names)}")
        self.lam, self.w_strong, self.w_weak = float(lam), float(w_strong), float(w_weak)
        self.data_kind, self.physics = data_kind, physics
        self.balance = balance if lam > 0 else None
        self.physics_only = bool(physics_only)
        self.view = view

    def terms(self, u_prev: torch.Tensor, pred: torch.Tensor, true: torch.Tensor, pairs=None) -> Terms:
        """The objective's parts for one batch (see :class:`Terms`); updates the balance (once per call)."""
        pred = pred.float()
        if self.view is None:
            data = data_loss(pred, true.float(), self.data_kind)
        else:
            data = data_loss(self.view(u_prev.float(), pred), self.view(u_prev.float(), true.float()), self.data_kind)
        zero = data.new_zeros(())
        if self.lam == 0:
            raw = {"data": data, "strong": zero, "weak": zero}
            shares = {"share_data": data.new_ones(()), "share_strong": zero, "share_weak": zero, "share_physics": zero}
            return Terms(data, None, {k: v.detach() for k, v in (raw | shares).items()})
        prev, nxt = (u_prev, pred) if pairs is None else pairs
        phys = self.physics(prev.float(), nxt.float())
        raw = {"data": data, "strong": phys["strong"], "weak": phys["weak"]}
        lam, w = self.lam, {"data": 1.0, "strong": self.w_strong, "weak": self.w_weak}
        if self.balance is None:  # the raw objective
            coef = {"data": 1.0 - lam, "strong": lam * self.w_strong, "weak": lam * self.w_weak}
            data_part = (1.0 - lam) * data
            physics_part = lam * (self.w_strong * phys["strong"] + self.w_weak * phys["weak"])
        else:
            s = self.balance.update(raw)
            if self.physics_only:  # the data term raw, S = 1
                s = s | {"data": torch.ones_like(s["data"])}
                common = torch.ones_like(s["data"])
            else:
                common = (1.0 - lam) * s["data"] + lam * (w["strong"] * s["strong"] + w["weak"] * s["weak"])
            coef = {k: ((1.0 - lam if k == "data" else lam * w[k]) * common / s[k]).float() for k in TERMS}
            data_part = coef["data"] * data
            physics_part = coef["strong"] * phys["strong"] + coef["weak"] * phys["weak"]
        total = (data_part + physics_part).detach()
        denom = torch.where(total > 0, total, torch.ones_like(total))
        shares = {f"share_{k}": (coef[k] * raw[k]).detach() / denom for k in TERMS}
        shares["share_physics"] = physics_part.detach() / denom
        return Terms(data_part, physics_part, {k: v.detach() for k, v in raw.items()} | shares)

    def __call__(self, u_prev: torch.Tensor, pred: torch.Tensor, true: torch.Tensor, pairs=None):
        t = self.terms(u_prev, pred, true, pairs)
        return t.total, t.parts

    def state_dict(self) -> dict | None:
        """The balance's state (None without one): stored in training checkpoints."""
        return None if self.balance is None else self.balance.state_dict()

    def load_state_dict(self, state: dict | None) -> None:
        if self.balance is None:
            return
        if state is None:
            raise InputError("the checkpoint was trained without the balance of the physics terms; resume it with "
                             "[physics] balance = \"none\"")
        self.balance.load_state_dict(state)
