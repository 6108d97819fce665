"""The balance of the objective's terms: each divided by the running mean of its own detached value.

For terms ``L_i`` (``data``, ``strong``, ``weak``; 0-d tensors) seen at optimiser steps t = 1, 2, ... the
state is an exponential moving average with bias correction (as Adam's moments)::

    m_i <- beta m_i + (1 - beta) L_i.detach()          s_i = m_i / (1 - beta^t)          Lhat_i = L_i / s_i

The current value is folded in before it is used, so at t = 1 every ``Lhat_i`` is exactly 1, and after that
``Lhat_i`` is about 1 whatever the size of ``L_i``: a term's weight in the objective is then its share.
``1 / (1 - beta)`` steps is the memory of the mean (beta = 0.9, the default: about 10 steps). The scales are
detached: they change how much each term counts, never the direction of its gradient.

Under DDP every rank must use the same scales: :attr:`LossBalance.sync` (set by the trainer) averages the
values over ranks before they enter the mean, so the state is the same everywhere and the checkpoint of
rank 0 resumes every rank exactly. The state is float64 tensors (``state_dict`` / ``load_state_dict``),
stored in training checkpoints under ``balance``.

Example:

>>> import torch
>>> b = LossBalance(("data", "physics"), beta=0.5)
>>> [round(float(v), 6) for v in b.update({"data": torch.tensor(4.0), "physics": torch.tensor(1e-3)}).values()]
[4.0, 0.001]
>>> [round(float(v), 6) for v in b.update({"data": torch.tensor(2.0), "physics": torch.tensor(1e-3)}).values()]
[2.666667, 0.001]
"""

from __future__ import annotations

from typing import Callable

import torch

from pihamno.errors import InputError

#: scales below this are taken as this (a term that is exactly zero stays zero instead of 0 / 0)
TINY = 1e-30


class LossBalance:
    """Bias-corrected running means of named loss terms (module docstring); ``update`` returns the scales."""

    def __init__(self, names: tuple[str, ...] = ("data", "strong", "weak"), beta: float = 0.9):
        if not 0.0 < float(beta) < 1.0:
            raise InputError(f"the balance's beta must lie in (0, 1), got {beta!r}")
        self.names, self.beta = tuple(names), float(beta)
        self.steps = torch.zeros((), dtype=torch.int64)
        self.means = torch.zeros(len(self.names), dtype=torch.float64)
        self.sync: Callable[[torch.Tensor], torch.Tensor] | None = None  #: averages a vector over ranks (DDP)

    def update(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Fold the detached ``values`` in and return the scales ``s_i`` (float64 0-d tensors, >= TINY)."""
        v = torch.stack([values[k].detach().to(torch.float64) for k in self.names])
        if self.sync is not None:
            v = self.sync(v)
        if self.means.device != v.device:
            self.means, self.steps = self.means.to(v.device), self.steps.to(v.device)
        self.steps = self.steps + 1
        self.means = self.beta * self.means + (1.0 - self.beta) * v
        scales = (self.means / (1.0 - self.beta ** self.steps.to(torch.float64))).clamp_min(TINY)
        return dict(zip(self.names, scales))

    def state_dict(self) -> dict:
        return {"names": list(self.names), "beta": self.beta, "steps": self.steps.cpu().clone(),
                "means": self.means.cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        if list(state["names"]) != list(self.names) or float(state["beta"]) != self.beta:
            raise InputError(f"the checkpoint's balance ({state['names']}, beta {state['beta']}) differs from "
                             f"this run's ({list(self.names)}, beta {self.beta})")
        device = self.means.device
        self.steps, self.means = state["steps"].clone().to(device), state["means"].clone().to(device)


def gradient_shares(total: list, physics: list) -> dict:
    """Norms of the data and physics parts of the gradient (data = total - physics), the physics share
    ``|g_p| / (|g_d| + |g_p|)`` and the cosine between the two."""
    gp = torch.cat([g.reshape(-1).double() for g in physics])
    gd = torch.cat([g.reshape(-1).double() for g in total]) - gp
    nd, np_ = gd.norm(), gp.norm()
    both = nd + np_
    return {"grad_data": nd, "grad_physics": np_,
            "grad_share": np_ / both if both > 0 else both,
            "grad_cos": (gd @ gp) / (nd * np_) if nd * np_ > 0 else nd * 0}
