"""The model registry: every model by name, registered with :func:`register_model`, built from keyword options.

>>> from pihamno.models import build_model, available_models, validate_model_options
>>> available_models()
['deeponet', 'ffno', 'fno', 'hamno', 'ufno', 'unet', 'uno']
>>> model = build_model("fno", width=4, modes=2)
>>> model.name, model.config["width"], model.config["n_layers"]
('fno', 4, 2)
>>> validate_model_options("unet", {"width": 8})
{'T_in': 5, 'width': 8, 'depth': 2, 'padding_mode': 'replicate'}

A model class registers itself with a decorator, the built-in ones as well as a plugin's (docs/plugins.md)::

    @register_model("fno")
    class FNO(OperatorModel):
        def __init__(self, *, T_in: PositiveInt = 5, width: PositiveInt = 12, ...): ...

The decorator sets the class's ``name`` (what checkpoints record). Every model maps
``(B, T_in, n, n, n) -> (B, 1, n, n, n)`` and keeps ``model.name`` and ``model.config`` (its constructor options
with defaults filled in, plain values only), so ``build_model(model.name, **model.config)`` rebuilds it -- which
is what :mod:`.checkpoint` does. The options of every model are checked in one place (:mod:`.options`), also
without building it (:func:`validate_model_options`): an :class:`~pihamno.models.base.OperatorModel` checks them
itself, any other registered ``nn.Module`` is checked against its constructor's signature by :func:`build_model`.
"""

from __future__ import annotations

import inspect
import re

from torch import nn

from pihamno.errors import InputError, unknown_name
from pihamno.io import plain
from pihamno.plugins import HINT

from .base import OperatorModel
from .options import options_model, validate_options

_MODELS: dict[str, type] = {}
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def _check_class(cls, name: str) -> None:
    """Refuse a class that cannot be a registered model (one sentence per problem)."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise InputError(f"register_model expects a torch.nn.Module subclass, got {cls!r}")
    where = f"model class {cls.__qualname__}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"{where} needs a lower-case identifier as its name, got {name!r}")
    own = cls.__dict__.get("name", "")
    if own and own != name:
        raise InputError(f"{where} is named {own!r} in its body but registered as {name!r}; give one name")
    params = inspect.signature(cls.__init__).parameters
    if "T_in" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise InputError(f"{where} must take the option T_in (input frames per sample) in its __init__")
    try:
        options_model(cls.__init__)
    except Exception as exc:  # e.g. an annotation pydantic cannot check
        raise InputError(f"{where}: its __init__ options cannot be checked ({type(exc).__name__}: {exc})") from None


def register_model(name: str | type | None = None):
    """Register a model class under ``name`` (a class decorator: ``@register_model("fno")``); sets ``cls.name``.

    Bare ``@register_model`` takes the class's own ``name`` attribute. The class must be a ``torch.nn.Module``
    whose ``__init__`` takes keyword options with annotations (checked like the built-in models'), ``T_in``
    among them. A name taken by another class is refused; registering the same class again (a module reload)
    replaces it.
    """
    def decorate(cls: type, name: str | None) -> type:
        if name is None:
            name = getattr(cls, "name", None)
        _check_class(cls, name)
        old = _MODELS.get(name)
        if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
            raise InputError(f"model name {name!r} is already registered by {old.__module__}.{old.__qualname__}")
        cls.name = name
        _MODELS[name] = cls
        return cls

    if isinstance(name, type):  # bare @register_model
        return decorate(name, None)
    return lambda cls: decorate(cls, name)


def unregister_model(name: str) -> None:
    """Remove the model ``name`` from the registry (plugins and tests)."""
    model_class(name)
    del _MODELS[name]


def available_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_MODELS)


def model_class(name: str) -> type:
    """The class registered as ``name``; an unknown name raises one :class:`InputError` (with a did-you-mean)."""
    if not isinstance(name, str) or name not in _MODELS:
        raise InputError(f"{unknown_name(name, available_models(), 'model', 'pihamno.models')}; {HINT}")
    return _MODELS[name]


def validate_model_options(name: str, options: dict) -> dict:
    """The full configuration ``build_model(name, **options)`` would keep as ``model.config`` -- every option,
    defaults filled in, plain values (tuples as lists) -- without building the model. Unknown names, wrong types,
    values out of range or not among the choices raise the same one-sentence :class:`InputError` as building."""
    return plain(validate_options(model_class(name).__init__, options, name))


def build_model(name: str, **options) -> nn.Module:
    """The model registered as ``name`` built with keyword ``options`` (unknown names/options raise InputError)."""
    cls = model_class(name)
    if not issubclass(cls, OperatorModel):  # not an OperatorModel: check its options here (OperatorModel does itself)
        options = validate_options(cls.__init__, options, name)
    return cls(**options)
