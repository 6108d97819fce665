"""What every model shares: its configuration as data, the input contract, and the grid coordinates.

Input/output convention of every registered model::

    forward(u: (B, T_in, n0, n1, n2)) -> (B, 1, n0, n1, n2)

``u`` holds the last ``T_in`` frames of a trajectory on the node grid (channels first). Models that see
coordinates append the three channels ``x/L, y/L, z/L`` of the node grid normalised to [0, 1]: node
``(i, j, k)`` of an ``n0 x n1 x n2`` grid gets ``(i/(n0-1), j/(n1-1), k/(n2-1))`` -- channel 0 varies along
dim -3 (x), channel 2 along dim -1 (z). Coordinates do not depend on L or n, so a model runs on any grid it
accepts (spectral layers are resolution-independent; 3x3x3 convolutions are not, they see one node spacing).

Configuration: each model class declares a ``Config`` dataclass; ``Model(**options)`` checks the options
(unknown names and wrong types are refused with an :class:`~fem.errors.InputError`) and keeps
``model.config`` -- a dict of plain values (ints, floats, strs, bools, lists) -- so that
``build_model(model.name, **model.config)`` rebuilds the same architecture from a checkpoint.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import ClassVar

import torch
from torch import nn

from fem.errors import InputError


def _type_ok(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, (list, tuple)) and all(_type_ok(v, item) for v in value)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def make_config(config_cls, options: dict, model_name: str):
    """``config_cls(**options)`` with every option checked by name and type; lists stay lists."""
    hints = {f.name: typing.get_type_hints(config_cls)[f.name] for f in dataclasses.fields(config_cls)}
    names = list(hints)
    for key, value in options.items():
        if key not in hints:
            close = difflib.get_close_matches(key, names, n=1)
            suggestion = f"; did you mean {close[0]!r}" if close else ""
            raise InputError(f"model {model_name!r} has no option {key!r}{suggestion} (options: {', '.join(names)})")
        if not _type_ok(value, hints[key]):
            raise InputError(
                f"model {model_name!r} option {key!r} must be of type {getattr(hints[key], '__name__', hints[key])}, "
                f"got {value!r}"
            )
    cfg = config_cls(**{k: _plain(v) for k, v in options.items()})
    zero_ok = getattr(config_cls, "may_be_zero", ())
    for name, hint in hints.items():
        v = getattr(cfg, name)
        ints = [x for x in (v if isinstance(v, list) else [v]) if isinstance(x, int) and not isinstance(x, bool)]
        if any(x < (0 if name in zero_ok else 1) for x in ints):
            least = "non-negative" if name in zero_ok else "positive"
            raise InputError(f"model {model_name!r} option {name!r} must be {least}, got {v!r}")
    return cfg


def node_coordinates(size, device=None, dtype=torch.float32) -> torch.Tensor:
    """``(1, 3, n0, n1, n2)``: the node grid's coordinates normalised to [0, 1] (0 at a 1-node axis)."""
    axes = [torch.linspace(0.0, 1.0, n, device=device, dtype=dtype) if n > 1 else torch.zeros(1, device=device, dtype=dtype) for n in size]
    return torch.stack(torch.meshgrid(*axes, indexing="ij")).unsqueeze(0)


class OperatorModel(nn.Module):
    """Base of the registered models: ``config``, input validation and coordinate channels.

    Subclasses set ``name``, ``Config`` (a dataclass with a ``T_in`` field), ``grid_multiple`` (each spatial size
    must be a multiple of it: 4 for a hierarchy that halves the grid twice) and ``min_grid``.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type]
    grid_multiple: ClassVar[int] = 1
    min_grid: ClassVar[int] = 1

    def __init__(self, **options):
        super().__init__()
        self.cfg = make_config(self.Config, options, self.name)
        self.config: dict = {k: _plain(v) for k, v in dataclasses.asdict(self.cfg).items()}

    @property
    def T_in(self) -> int:
        return self.cfg.T_in

    def expected_shape(self) -> str:
        m = self.grid_multiple
        rule = f"n a multiple of {m}, at least {max(m, self.min_grid)}" if m > 1 else f"n >= {self.min_grid}"
        return f"(B, {self.T_in}, n, n, n) with {rule}"

    def check_input(self, u: torch.Tensor) -> None:
        """Refuse a tensor that is not ``(B, T_in, n0, n1, n2)`` with every ``n`` allowed by the hierarchy."""
        if not isinstance(u, torch.Tensor):
            raise InputError(f"{self.name} expects a tensor of shape {self.expected_shape()}, got {type(u).__name__}")
        shape = tuple(u.shape)
        if u.dim() != 5:
            raise InputError(f"{self.name} expects input of shape {self.expected_shape()}, got rank {u.dim()} shape {shape}")
        if shape[1] != self.T_in:
            raise InputError(f"{self.name} expects input of shape {self.expected_shape()}, got {shape[1]} channels (shape {shape})")
        m, lo = self.grid_multiple, max(self.grid_multiple, self.min_grid)
        if any(n % m or n < lo for n in shape[2:]):
            raise InputError(f"{self.name} expects input of shape {self.expected_shape()}, got grid {shape[2:]}")
        if not u.is_floating_point():
            raise InputError(f"{self.name} expects a floating-point input, got dtype {u.dtype}")

    def with_coordinates(self, u: torch.Tensor) -> torch.Tensor:
        """``(B, T_in, *grid) -> (B, T_in + 3, *grid)``: the frames followed by the normalised node coordinates."""
        xyz = node_coordinates(u.shape[-3:], device=u.device, dtype=u.dtype)
        return torch.cat([u, xyz.expand(u.shape[0], -1, -1, -1, -1)], dim=1)


def count_parameters(model: nn.Module, complex_once: bool = False) -> int:
    """Real scalars in ``model``'s parameters; ``complex_once=True`` counts each complex spectral weight (stored as a
    (re, im) pair) once, as the HAMNO paper's scripts print it."""
    total = sum(p.numel() for p in model.parameters())
    if complex_once:
        for module in model.modules():
            for name in getattr(module, "complex_weights", ()):
                total -= getattr(module, name).numel() // 2
    return total
