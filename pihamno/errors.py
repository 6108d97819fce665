"""Errors a user can cause, and how pihamno says them.

:class:`InputError` is the one error type for a bad value, file, shape or option anywhere in pihamno: one
sentence that names the offending value and what was expected; the ``pihamno`` command line prints that
sentence without a traceback and exits with status 2. The class itself is defined in :mod:`fem.errors`
because the finite-element layer is importable on its own (it never imports ``pihamno``); pihamno code
imports it from here.

Typed settings (training configs, model options) are validated with pydantic;
:func:`validation_error` turns a ``pydantic.ValidationError`` into one :class:`InputError` sentence in the
same words the rest of pihamno uses ("must be an integer, got 2.5").

Example:

>>> from typing import Literal
>>> import pydantic
>>> class Optim(pydantic.BaseModel):
...     model_config = pydantic.ConfigDict(extra="forbid", strict=True)
...     lr: float = pydantic.Field(1e-3, gt=0)
...     kind: Literal["mse", "rel_l2"] = "mse"
>>> try:
...     Optim(lr=-1.0)
... except pydantic.ValidationError as exc:
...     print(validation_error(exc, lambda loc: f"[optim] {loc[0]}"))
[optim] lr must be positive, got -1.0
>>> try:
...     Optim(kind="l1")
... except pydantic.ValidationError as exc:
...     print(validation_error(exc, lambda loc: f"[optim] {loc[0]}"))
[optim] kind = 'l1' is not allowed; expected one of mse, rel_l2
"""

from __future__ import annotations

import difflib
from typing import Callable

from fem.errors import InputError, MeshError, input_file

__all__ = ["InputError", "MeshError", "input_file", "TrainingDiverged", "validation_error", "unknown_name"]


class TrainingDiverged(RuntimeError):
    """The loss or the gradient norm became NaN/Inf; training stopped and the last good checkpoint was kept."""


_TYPES = {
    "int": "an integer", "float": "a number", "bool": "true/false", "str": "a string", "dict": "a table",
    "list": "a list", "tuple": "a list", "model": "a table", "literal": "one of the allowed values",
}


def _expected_type(err: dict) -> str | None:
    kind = err["type"].split("_")[0]
    if err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return "a table"
    return _TYPES.get(kind)


def _union_alternatives(errors: list[dict]) -> str:
    names = []
    for e in errors:
        loc = e["loc"]
        label = str(loc[1]) if len(loc) > 1 and isinstance(loc[1], str) else None
        if label and label.startswith("list["):
            names.append(f"a list of {_TYPES.get(label[5:-1], label[5:-1])}s".replace("an integers", "integers")
                         .replace("a numbers", "numbers"))
        elif label:
            names.append(_TYPES.get(label, label))
    seen = list(dict.fromkeys(n for n in names if n))
    return " or ".join(seen)


def unknown_name(name: str, known, kind: str, where: str) -> InputError:
    """``unknown key 'lrr' (did you mean 'lr'?) in section [optim] of c.toml; expected one of lr, epochs``."""
    known = list(known)
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return InputError(f"unknown {kind} {name!r}{hint} in {where}; expected one of {', '.join(known)}")


def validation_error(exc, name_of: Callable[[tuple], str], known: Callable[[tuple], list] | None = None,
                     unknown_kind: str = "key", unknown_where: Callable[[tuple], str] | None = None) -> InputError:
    """One :class:`InputError` sentence for the first problem of a ``pydantic.ValidationError``.

    ``name_of(loc)`` names the offending setting from pydantic's location tuple (e.g. ``("optim", "lr")`` ->
    ``"[optim] lr"``). For an unknown key, ``known(loc)`` lists the accepted names (for a did-you-mean hint)
    and ``unknown_where(loc)`` says where it was found.
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = first["loc"][:1] if first["loc"] else ()
    same = [e for e in errors if e["loc"][:1] == field]
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        loc = first["loc"]
        where = unknown_where(loc[:-1]) if unknown_where else name_of(loc[:-1])
        return unknown_name(loc[-1], known(loc[:-1]) if known else [], unknown_kind, where)
    name = name_of(_clean_loc(first["loc"]))
    if len(same) > 1 and any(len(e["loc"]) > 1 and isinstance(e["loc"][1], str) for e in same):
        alternatives = _union_alternatives(same)
        if alternatives:
            return InputError(f"{name} must be {alternatives}, got {_input_of(same, field)!r}")
    ctx = first.get("ctx") or {}
    t = first["type"]
    if t == "missing":
        return InputError(f"{name} is required")
    if t == "literal_error":
        allowed = [a.strip().strip("'") for a in ctx.get("expected", "").replace(" or ", ", ").split(",")]
        return InputError(f"{name} = {value!r} is not allowed; expected one of {', '.join(a for a in allowed if a)}")
    if t in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()))
        if t == "greater_than" and bound == 0:
            return InputError(f"{name} must be positive, got {value!r}")
        if t == "greater_than_equal" and bound == 0:
            return InputError(f"{name} must be non-negative, got {value!r}")
        words = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[t]
        return InputError(f"{name} must be {words} {bound}, got {value!r}")
    if t in ("finite_number",):
        return InputError(f"{name} must be a finite number, got {value!r}")
    if t == "value_error":
        text = str(ctx.get("error", first["msg"]))
        return InputError(text if text.startswith("[") or not name else f"{name} {text}")
    expected = _expected_type(first)
    if expected:
        return InputError(f"{name} must be {expected}, got {value!r}")
    return InputError(f"{name}: {first['msg']}, got {value!r}")


def _clean_loc(loc: tuple) -> tuple:
    """pydantic's location without the union-member labels (``('modes', 'list[int]', 1)`` -> ``('modes', 1)``)."""
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in _TYPES)))


def _input_of(errors: list[dict], field: tuple):
    for e in errors:
        if tuple(e["loc"][:1]) == field and len(e["loc"]) == 2:
            return e.get("input")
    return errors[0].get("input")
