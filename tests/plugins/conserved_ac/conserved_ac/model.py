"""A tiny model as a pihamno plugin: ``u_next = u_last + conv(gelu(conv([frames, coordinates])))``.

``@register_model("tiny_conv")`` puts it into pihamno's model registry, where its keyword options are checked
like the built-in models' (``[model] name = "tiny_conv"``, ``width = 4`` in a training config) and its
checkpoints save and load like theirs.
"""

from __future__ import annotations

import torch
from torch import nn

from pihamno.models import OperatorModel, register_model
from pihamno.models.options import PositiveInt


@register_model("tiny_conv")
class TinyConv(OperatorModel):
    """Two 3x3x3 convolutions around the last frame: ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``.

    Options
    -------
    T_in : int
        input frames per sample (default 5)
    width : int
        channels between the two convolutions (default 4)
    """

    def __init__(self, *, T_in: PositiveInt = 5, width: PositiveInt = 4):
        super().__init__()
        self.lift = nn.Conv3d(T_in + 3, width, 3, padding=1, padding_mode="replicate")
        self.project = nn.Conv3d(width, 1, 3, padding=1, padding_mode="replicate")

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        return u[:, -1:] + self.project(nn.functional.gelu(self.lift(self.with_coordinates(u))))
