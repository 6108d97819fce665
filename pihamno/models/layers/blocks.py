"""Convolution building blocks shared by the models (channels-first tensors ``(B, C, n0, n1, n2)``).

Every 3x3x3 convolution pads by one node with ``padding_mode``: ``"replicate"`` (the HAMNO paper's choice,
the cell-centred Neumann ghost ``u[-1] = u[0]``) or ``"reflect"`` (the node-grid mirror ghost
``u[-1] = u[1]`` of docs/design.md section 2.5, the consistent one for our fields).
"""

from __future__ import annotations

from typing import Literal, get_args

from torch import nn

from pihamno.errors import InputError

#: Ghost layer of the 3x3x3 convolutions (a model option; see the module docstring).
PaddingMode = Literal["replicate", "reflect"]
PADDING_MODES: tuple[str, ...] = get_args(PaddingMode)


def check_padding(padding_mode: str) -> str:
    if padding_mode not in PADDING_MODES:
        raise InputError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    return padding_mode


def conv1(in_channels: int, out_channels: int) -> nn.Conv3d:
    """Pointwise linear map over channels, ``y[:, o] = sum_i W[o, i] x[:, i] + b[o]`` at every node."""
    return nn.Conv3d(in_channels, out_channels, 1)


def conv3(in_channels: int, out_channels: int, padding_mode: str = "replicate", stride: int = 1) -> nn.Conv3d:
    """3x3x3 convolution, one ghost layer of ``padding_mode``: grid size preserved (stride 1) or
    ``n -> ceil(n/2)`` (stride 2)."""
    return nn.Conv3d(in_channels, out_channels, 3, stride=stride, padding=1, padding_mode=check_padding(padding_mode))


def down2(in_channels: int, out_channels: int) -> nn.Conv3d:
    """Learned 2x down-sampling, kernel 2 stride 2: ``(B, C_in, n) -> (B, C_out, n/2)`` (n even)."""
    return nn.Conv3d(in_channels, out_channels, 2, stride=2)


def up2(in_channels: int, out_channels: int) -> nn.ConvTranspose3d:
    """Learned 2x up-sampling, transposed kernel 2 stride 2: ``(B, C_in, n) -> (B, C_out, 2n)``."""
    return nn.ConvTranspose3d(in_channels, out_channels, 2, stride=2)


def norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with one group (normalises over channels and space per sample; affine, 2C parameters)."""
    return nn.GroupNorm(1, channels)


class PointwiseMLP(nn.Sequential):
    """Node-wise MLP ``C_in -> h_1 -> ... -> C_out``, GELU between layers (none after the last).

    Used for lifts, heads (``w -> width_q -> width_q -> 1``), HAMNO's gate and channel MLPs.
    """

    def __init__(self, in_channels: int, hidden: list[int] | tuple[int, ...], out_channels: int):
        sizes = [in_channels, *hidden, out_channels]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                layers.append(nn.GELU())
            layers.append(conv1(a, b))
        super().__init__(*layers)


class ConvBlock(nn.Sequential):
    """Two 3x3x3 convolutions: ``conv3 -> [norm] -> GELU -> conv3 -> [norm -> GELU]``.

    ``normalized=False`` is HAMNO's local branch (``conv3 - GELU - conv3``, linear output); ``normalized=True`` is
    the U-Net double convolution (GroupNorm and GELU after each convolution).
    """

    def __init__(self, in_channels: int, out_channels: int, padding_mode: str = "replicate", normalized: bool = False):
        layers: list[nn.Module] = [conv3(in_channels, out_channels, padding_mode)]
        layers += [norm(out_channels)] if normalized else []
        layers += [nn.GELU(), conv3(out_channels, out_channels, padding_mode)]
        layers += [norm(out_channels), nn.GELU()] if normalized else []
        super().__init__(*layers)
