"""Optimiser and learning-rate schedule: AdamW (or Adam) with linear warm-up then cosine decay, per step.

``optimizer="adamw"`` decays the weights decoupled from the gradient (``p -= lr wd p`` next to the Adam step);
``"adam"`` is :class:`torch.optim.Adam` with coupled decay (``g += wd p`` before the moments), the HAMNO
authors' choice (docs/paper.md section 6).

    lr(s) = lr * (s + 1) / W                                                  for s < W (warm-up steps)
    lr(s) = lr * (r + (1 - r) * (1 + cos(pi * (s - W) / max(1, S - W))) / 2)  afterwards

with S the total number of optimiser steps (epochs x steps_per_epoch) and r = ``min_lr_ratio``. The
scheduler is a :class:`torch.optim.lr_scheduler.LambdaLR`; its state (step count, base rates) is a plain
dict, so checkpoints holding it still load with ``weights_only=True``.

Example:

>>> f = cosine_warmup(total_steps=10, warmup_steps=2, min_ratio=0.0)
>>> [round(f(s), 3) for s in (0, 1, 2, 6, 10)]
[0.5, 1.0, 1.0, 0.5, 0.0]
"""

from __future__ import annotations

import math

import torch


def cosine_warmup(total_steps: int, warmup_steps: int = 0, min_ratio: float = 0.0):
    """The multiplier ``lr(s) / lr`` of the module formula, as a function of the step ``s``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def build_optimizer(model: torch.nn.Module, lr: float, weight_decay: float = 0.0, total_steps: int = 1,
                    warmup_steps: int = 0, min_lr_ratio: float = 0.0, optimizer: str = "adamw"):
    """AdamW (or Adam: ``optimizer="adam"``) on the model's trainable parameters and its per-step schedule
    (module formula): ``(torch.optim.AdamW | torch.optim.Adam, torch.optim.lr_scheduler.LambdaLR)``. Fused (one
    kernel per step) when the parameters are on CUDA."""
    from pihamno.choices import OPTIMIZERS
    from pihamno.errors import InputError

    if optimizer not in OPTIMIZERS:
        raise InputError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    kind = torch.optim.AdamW if optimizer == "adamw" else torch.optim.Adam
    fused = bool(params) and all(p.is_cuda for p in params)
    opt = kind(params, lr=lr, weight_decay=weight_decay, **({"fused": True} if fused else {}))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_warmup(total_steps, warmup_steps, min_lr_ratio))
    return opt, sched
