"""The model registry: every model by name, built from plain keyword options.

>>> from pihamno.models import build_model, available_models
>>> available_models()
['deeponet', 'ffno', 'fno', 'hamno', 'ufno', 'unet', 'uno']
>>> model = build_model("fno", width=4, modes=2)
>>> model.name, model.config["width"], model.config["n_layers"]
('fno', 4, 2)

Every model maps ``(B, T_in, n, n, n) -> (B, 1, n, n, n)`` and keeps ``model.name`` and ``model.config`` (its
constructor options with defaults filled in, plain values only), so ``build_model(model.name, **model.config)``
rebuilds it -- which is what :mod:`.checkpoint` does.
"""

from __future__ import annotations

import difflib

from torch import nn

from fem.errors import InputError

from .deeponet import DeepONet
from .ffno import FFNO
from .fno import FNO
from .hamno import HAMNO
from .ufno import UFNO
from .unet import UNet
from .uno import UNO

MODELS: dict[str, type] = {cls.name: cls for cls in (HAMNO, FNO, FFNO, UNet, UNO, UFNO, DeepONet)}


def available_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(MODELS)


def build_model(name: str, **config) -> nn.Module:
    """The model registered as ``name`` built with keyword ``config`` (unknown names/options raise InputError)."""
    if name not in MODELS:
        close = difflib.get_close_matches(str(name), MODELS, n=1)
        hint = f"; did you mean {close[0]!r}" if close else ""
        raise InputError(f"unknown model {name!r}{hint} (available: {', '.join(available_models())})")
    return MODELS[name](**config)
