"""What every model shares: its configuration as data, the input contract, and the grid coordinates.

Input/output convention of every registered model::

    forward(u: (B, T_in, n0, n1, n2)) -> (B, 1, n0, n1, n2)

``u`` holds the last ``T_in`` frames of a trajectory on the node grid (channels first). Models that see
coordinates append the three channels ``x/L, y/L, z/L`` of the node grid normalised to [0, 1]: node
``(i, j, k)`` of an ``n0 x n1 x n2`` grid gets ``(i/(n0-1), j/(n1-1), k/(n2-1))`` -- channel 0 varies along
dim -3 (x), channel 2 along dim -1 (z). Coordinates do not depend on L or n, so a model runs on any grid it
accepts (spectral layers are resolution-independent; 3x3x3 convolutions are not, they see one node spacing).

Options: each model takes keyword-only constructor parameters with annotations and defaults (documented in
its class docstring, shown by ``help``). :class:`OperatorModel` checks them for every subclass in one place
(:mod:`.options`: pydantic, strict types, ranges, choices, unknown names refused with one
:class:`~pihamno.errors.InputError` sentence) and keeps ``model.config`` -- every option with defaults filled
in, as plain values (ints, floats, strs, bools, lists) -- so that ``build_model(model.name, **model.config)``
rebuilds the same architecture from a checkpoint.

>>> from pihamno.models import FNO
>>> model = FNO(width=4, modes=[2, 2, 1])
>>> model.name, model.config
('fno', {'T_in': 5, 'width': 4, 'modes': [2, 2, 1], 'n_layers': 2, 'width_q': 48, 'spectral': 'fft'})
"""

from __future__ import annotations

import functools
import inspect
from typing import ClassVar

import torch
from torch import nn

from pihamno.errors import InputError
from pihamno.io import plain

from .options import validate_options


def node_coordinates(size, device=None, dtype=torch.float32) -> torch.Tensor:
    """``(1, 3, n0, n1, n2)``: the node grid's coordinates normalised to [0, 1] (0 at a 1-node axis)."""
    axes = [torch.linspace(0.0, 1.0, n, device=device, dtype=dtype) if n > 1 else torch.zeros(1, device=device, dtype=dtype) for n in size]
    return torch.stack(torch.meshgrid(*axes, indexing="ij")).unsqueeze(0)


class OperatorModel(nn.Module):
    """Base of the registered models: checked options, ``config``, input validation and coordinate channels.

    Subclasses set ``name``, ``grid_multiple`` (each spatial size must be a multiple of it: 4 for a hierarchy
    that halves the grid twice) and ``min_grid``, and define ``__init__(self, *, T_in: PositiveInt = 5, ...)``
    with keyword-only, annotated parameters. Every such ``__init__`` is wrapped (:meth:`__init_subclass__`):
    the options are validated against its signature (:func:`.options.validate_options`) before it runs, and
    ``self.config`` is set to their plain values afterwards.
    """

    name: ClassVar[str] = ""
    grid_multiple: ClassVar[int] = 1
    min_grid: ClassVar[int] = 1
    config: dict

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        positional = [p.name for p in list(inspect.signature(init).parameters.values())[1:]
                      if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD)]
        if positional:
            raise TypeError(f"{cls.__qualname__}.__init__ must take keyword-only options (after '*'), not {positional}")

        @functools.wraps(init)
        def checked_init(self, **options):
            values = validate_options(init, options, type(self).name or type(self).__name__)
            init(self, **values)
            self.config = plain(values)

        cls.__init__ = checked_init

    @property
    def T_in(self) -> int:
        """Input frames per sample (the ``T_in`` option)."""
        return self.config["T_in"]

    def expected_shape(self) -> str:
        m = self.grid_multiple
        rule = f"n a multiple of {m}, at least {max(m, self.min_grid)}" if m > 1 else f"n >= {self.min_grid}"
        return f"(B, {self.T_in}, n, n, n) with {rule}"

    def check_input(self, u: torch.Tensor) -> None:
        """Refuse a tensor that is not ``(B, T_in, n0, n1, n2)`` with every ``n`` allowed by the hierarchy.

        Skipped while ``torch.compile`` traces the model (the checks would only add guards to the graph; a wrong
        shape then fails inside the graph with torch's own message)."""
        if torch.compiler.is_compiling():
            return
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
