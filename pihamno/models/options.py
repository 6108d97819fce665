"""Model options: keyword signatures checked by pydantic, in one place for every model.

A model declares its options as keyword-only constructor parameters with type annotations and defaults, and
documents them in its class docstring::

    class FNO(OperatorModel):
        def __init__(self, *, T_in: PositiveInt = 5, width: PositiveInt = 12, modes: Modes = 8, ...,
                     spectral: Basis = "fft"): ...

so ``help(FNO)`` and ``inspect.signature(FNO)`` show them. :func:`options_model` turns such a signature into a
pydantic model and :func:`validate_options` checks keyword options against it:

* strict types: no ``True`` and no ``2.5`` (nor ``2.0``) where an int is annotated; an int is fine where a
  float is; a list (TOML has no tuples) is accepted where a tuple is annotated, its items stay strict;
* ranges and choices from the annotations (:data:`PositiveInt`, :data:`NonNegativeInt`, :data:`Modes`, ``Literal``);
* unknown names refused with a did-you-mean.

The first problem becomes one :class:`~pihamno.errors.InputError` sentence
(:func:`pihamno.errors.validation_error`). :class:`~pihamno.models.base.OperatorModel` applies this to every
model's ``__init__``; :func:`pihamno.models.registry.validate_model_options` applies it without building.

>>> def init(self, *, width: PositiveInt = 12, modes: Modes = 8, n_refine: NonNegativeInt = 1): ...
>>> from pihamno.io import plain
>>> plain(validate_options(init, {"modes": [8, 6, 4]}, "demo"))
{'width': 12, 'modes': [8, 6, 4], 'n_refine': 1}
>>> for bad in ({"width": 0}, {"width": 2.5}, {"n_refine": -1}, {"modes": [8, 6]}, {"widht": 4}):
...     try:
...         validate_options(init, bad, "demo")
...     except InputError as exc:
...         print(exc)
model 'demo' option 'width' must be positive, got 0
model 'demo' option 'width' must be an integer, got 2.5
model 'demo' option 'n_refine' must be non-negative, got -1
model 'demo' option 'modes' must be a positive integer or three positive integers, got [8, 6]
unknown option 'widht' (did you mean 'width'?) in model 'demo'; expected one of width, modes, n_refine
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Union

import pydantic
from pydantic import NonNegativeInt, PositiveInt, Strict, Tag

from pihamno.errors import InputError, validation_error

__all__ = ["Modes", "NonNegativeInt", "PositiveInt", "options_model", "validate_options"]

# PositiveInt (``Annotated[int, Gt(0)]``: widths, depths, layer counts, ``T_in``) and NonNegativeInt
# (``Annotated[int, Ge(0)]``: counts that may be zero, e.g. HAMNO's ``n_refine``) are pydantic's.

#: Spectral modes: one positive int, or three (a list or tuple; their meaning -- per axis or per level -- is
#: the model's). The tags name the two forms in error messages.
Modes = (
    Annotated[PositiveInt, Tag("a positive integer")]
    | Annotated[tuple[PositiveInt, PositiveInt, PositiveInt], Tag("three positive integers")]
)

_CONFIG = dict(strict=True, validate_default=True, arbitrary_types_allowed=True, protected_namespaces=())


def _lists_for_tuples(hint):
    """``hint`` with every tuple type (also inside a union or ``Annotated``) accepting a list: strict mode
    refuses lists for tuples, and TOML arrays arrive as lists. The items keep their strict types."""
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *metadata = typing.get_args(hint)
        return Annotated[(_lists_for_tuples(base), *metadata)]
    if origin in (Union, types.UnionType):
        return Union[tuple(_lists_for_tuples(h) for h in typing.get_args(hint))]  # noqa: UP007 (built at run time)
    if origin is tuple:
        return Annotated[hint, Strict(False)]
    return hint


def options_model(init: Callable) -> type[pydantic.BaseModel]:
    """A pydantic model of the keyword parameters of a constructor ``init(self, ...)`` (wrappers unwrapped).

    Annotated parameters get their annotation (unannotated ones accept anything), parameters without a default
    are required; a ``**kwargs`` parameter lets unknown names through (to the constructor that handles them).
    Built once per constructor.
    """
    return _options_model(inspect.unwrap(init))


@functools.cache
def _options_model(init: Callable) -> type[pydantic.BaseModel]:
    hints = typing.get_type_hints(init, include_extras=True)
    fields, extra = {}, "forbid"
    for p in list(inspect.signature(init).parameters.values())[1:]:  # [0] is self
        if p.kind is p.VAR_KEYWORD:
            extra = "allow"
        elif p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            default = ... if p.default is p.empty else p.default
            fields[p.name] = (_lists_for_tuples(hints.get(p.name, Any)), default)
    config = pydantic.ConfigDict(**_CONFIG, extra=extra)
    return pydantic.create_model(f"{init.__qualname__.split('.')[0]}Options", __config__=config, **fields)


def validate_options(init: Callable, options: dict, model_name: str) -> dict:
    """``options`` checked against the keyword signature of ``init``: every parameter by name, defaults filled
    in, Python values (tuples stay tuples); the first problem raises one :class:`InputError` sentence."""
    model = options_model(init)
    if not isinstance(options, dict):
        raise InputError(f"model {model_name!r} options must be a table of named options, got {options!r}")
    try:
        values = model.model_validate(options)
    except pydantic.ValidationError as exc:
        names = list(model.model_fields)

        def name_of(loc: tuple) -> str:  # ("modes", 1) -> "model 'fno' option 'modes'[1]"
            return f"model {model_name!r} option {loc[0]!r}" + "".join(f"[{i}]" for i in loc if isinstance(i, int))

        raise validation_error(
            exc,
            name_of,
            known=lambda loc: names,
            unknown_kind="option",
            unknown_where=lambda loc: f"model {model_name!r}",
        ) from None
    return dict(values)  # the validated values themselves (fields, then any names a **kwargs let through)
