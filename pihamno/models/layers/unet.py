"""A small 3D U-Net core (Ronneberger et al.), shared by the U-Net baseline and U-FNO's U-Fourier layers.

``UNetCore(C_in, C_out, width, depth)`` maps ``(B, C_in, n) -> (B, C_out, n)`` for n a multiple of ``2**depth``::

    e_0 = ConvBlock(C_in -> width)(x)                                    at n
    e_l = ConvBlock(width 2^(l-1) -> width 2^l)(maxpool2(e_{l-1}))        at n / 2^l,  l = 1..depth
    d_depth = e_depth
    d_l = ConvBlock(2 width 2^l -> width 2^l)([convT2(d_{l+1}), e_l])     l = depth-1..0
    y   = conv1(width -> C_out)(d_0)

``ConvBlock`` is the normalised double convolution (conv3 - GroupNorm - GELU, twice); down-sampling is max
pooling, up-sampling a transposed convolution (kernel 2, stride 2) halving the channels.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvBlock, conv1, up2


class UNetCore(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, width: int, depth: int, padding_mode: str = "replicate"):
        super().__init__()
        widths = [width * 2**level for level in range(depth + 1)]
        self.encoders = nn.ModuleList(
            ConvBlock(c_in, c_out, padding_mode, normalized=True) for c_in, c_out in zip([in_channels, *widths[:-1]], widths)
        )
        self.ups = nn.ModuleList(up2(widths[level + 1], widths[level]) for level in reversed(range(depth)))
        self.decoders = nn.ModuleList(
            ConvBlock(2 * widths[level], widths[level], padding_mode, normalized=True) for level in reversed(range(depth))
        )
        self.pool = nn.MaxPool3d(2)
        self.out = conv1(width, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(self.pool(x) if level else x)
            skips.append(x)
        skips.pop()
        for up, decoder in zip(self.ups, self.decoders):
            x = decoder(torch.cat([up(x), skips.pop()], dim=1))
        return self.out(x)
