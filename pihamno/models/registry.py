"""The model registry: every model by name, built from plain keyword options.

>>> from pihamno.models import build_model, available_models, validate_model_options
>>> available_models()
['deeponet', 'ffno', 'fno', 'hamno', 'ufno', 'unet', 'uno']
>>> model = build_model("fno", width=4, modes=2)
>>> model.name, model.config["width"], model.config["n_layers"]
('fno', 4, 2)
>>> validate_model_options("unet", {"width": 8})
{'T_in': 5, 'width': 8, 'depth': 2, 'padding_mode': 'replicate'}

Every model maps ``(B, T_in, n, n, n) -> (B, 1, n, n, n)`` and keeps ``model.name`` and ``model.config`` (its
constructor options with defaults filled in, plain values only), so ``build_model(model.name, **model.config)``
rebuilds it -- which is what :mod:`.checkpoint` does. The options of every model are checked in one place
(:mod:`.options`), also without building it (:func:`validate_model_options`). A class registered by hand
(``MODELS[name] = cls``) is checked against its constructor's signature the same way.
"""

from __future__ import annotations

from torch import nn

from pihamno.errors import unknown_name
from pihamno.io import plain

from .base import OperatorModel
from .deeponet import DeepONet
from .ffno import FFNO
from .fno import FNO
from .hamno import HAMNO
from .options import validate_options
from .ufno import UFNO
from .unet import UNet
from .uno import UNO

MODELS: dict[str, type] = {cls.name: cls for cls in (HAMNO, FNO, FFNO, UNet, UNO, UFNO, DeepONet)}


def available_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(MODELS)


def model_class(name: str) -> type:
    """The class registered as ``name``; an unknown name raises one :class:`InputError` (with a did-you-mean)."""
    if not isinstance(name, str) or name not in MODELS:
        raise unknown_name(name, available_models(), "model", "pihamno.models")
    return MODELS[name]


def validate_model_options(name: str, options: dict) -> dict:
    """The full configuration ``build_model(name, **options)`` would keep as ``model.config`` -- every option,
    defaults filled in, plain values (tuples as lists) -- without building the model. Unknown names, wrong types,
    values out of range or not among the choices raise the same one-sentence :class:`InputError` as building."""
    return plain(validate_options(model_class(name).__init__, options, name))


def build_model(name: str, **options) -> nn.Module:
    """The model registered as ``name`` built with keyword ``options`` (unknown names/options raise InputError)."""
    cls = model_class(name)
    if not issubclass(cls, OperatorModel):  # registered by hand: check its options here (OperatorModel does itself)
        options = validate_options(cls.__init__, options, name)
    return cls(**options)
