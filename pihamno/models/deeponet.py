"""DeepONet baseline, in the form the HAMNO paper actually uses ("DeepONet3D_Robust": a CNN with FiLM).

A branch network encodes the whole input into a latent code ``z``; a trunk network evaluates basis functions at
every node from the coordinates and local input features, modulated by ``z`` (FiLM); the output is their
inner product, as in DeepONet ``G(u)(x) = sum_k b_k(u) t_k(x) + b_0``. Shapes ``(B, T_in, n0, n1, n2) ->
(B, 1, n0, n1, n2)``, any grid of at least 2 nodes per axis::

    v      = [frames, x, y, z]                                                  (B, T_in + 3, n)
    branch z = MLP(mean_space(GELU(conv3_s2(GELU(conv3_s2(GELU(conv3_s2(v))))))))   (B, latent)
           channels T_in + 3 -> c -> 2c -> 4c (c = branch_width), MLP 4c -> latent -> latent
    trunk  h = conv3(GELU(conv3(v)))                                            (B, w, n)
           h = GELU(conv1(h)) * (1 + gamma_l(z)) + beta_l(z)       l = 1..n_layers, [gamma, beta] = Linear(z)
           t = conv1(w -> n_basis)(h)                                           (B, p, n)
    output y = sum_k b_k(z) t_k + b_0,   b = Linear(latent -> n_basis)(z)       (B, 1, n)

Defaults (``width=64, branch_width=48, latent=128, n_layers=4, n_basis=128``): 906,065 real scalars, no complex
weights (the paper's DeepONet3D_Robust: 907,969).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import OperatorModel
from .layers.blocks import ConvBlock, PaddingMode, conv1, conv3
from .options import PositiveInt
from .registry import register_model


@register_model("deeponet")
class DeepONet(OperatorModel):
    """Branch/trunk operator network with FiLM conditioning ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``, any grid of
    at least 2 nodes per axis (see :mod:`pihamno.models.deeponet`).

    Parameters
    ----------
    T_in : input frames (channels of ``u``), positive.
    width : channels ``w`` of the trunk, positive.
    branch_width : channels ``c`` of the branch CNN's first level (``2c``, ``4c`` after), positive.
    latent : size of the branch's latent code ``z``, positive.
    n_layers : FiLM-modulated trunk layers, positive.
    n_basis : basis functions ``p`` of the trunk (and coefficients of the branch), positive.
    padding_mode : ghost layer of the 3x3x3 convolutions: ``"replicate"`` (default) or ``"reflect"``.
    """

    min_grid = 2

    def __init__(
        self,
        *,
        T_in: PositiveInt = 5,
        width: PositiveInt = 64,
        branch_width: PositiveInt = 48,
        latent: PositiveInt = 128,
        n_layers: PositiveInt = 4,
        n_basis: PositiveInt = 128,
        padding_mode: PaddingMode = "replicate",
    ):
        super().__init__()
        pad, c, w = padding_mode, branch_width, width
        c_in = T_in + 3
        self.branch_cnn = nn.Sequential(
            conv3(c_in, c, pad, stride=2), nn.GELU(),
            conv3(c, 2 * c, pad, stride=2), nn.GELU(),
            conv3(2 * c, 4 * c, pad, stride=2), nn.GELU(),
        )  # fmt: skip
        self.branch_mlp = nn.Sequential(nn.Linear(4 * c, latent), nn.GELU(), nn.Linear(latent, latent))
        self.trunk_in = ConvBlock(c_in, w, pad)
        self.trunk = nn.ModuleList(conv1(w, w) for _ in range(n_layers))
        self.film = nn.Linear(latent, 2 * w * n_layers)
        self.basis = conv1(w, n_basis)
        self.coefficients = nn.Linear(latent, n_basis)
        self.bias = nn.Parameter(torch.zeros(1))
        self.act = nn.GELU()

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        v = self.with_coordinates(u)
        z = self.branch_mlp(self.branch_cnn(v).mean(dim=(-3, -2, -1)))  # (B, latent)
        film = self.film(z)[..., None, None, None].chunk(2 * len(self.trunk), dim=1)  # each (B, w, 1, 1, 1)
        h = self.trunk_in(v)
        for layer, (gamma, beta) in enumerate(zip(film[0::2], film[1::2])):
            h = self.act(self.trunk[layer](h)) * (1 + gamma) + beta
        t = self.basis(h)  # (B, n_basis, *grid)
        b = self.coefficients(z)[..., None, None, None]  # (B, n_basis, 1, 1, 1)
        return (b * t).sum(dim=1, keepdim=True) + self.bias
