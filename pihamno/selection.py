"""Index selections from the command line, one syntax for every verb (frames, trajectories).

A selection is ``"all"`` or a comma-separated list of items, each an index or a Python slice
``start:stop[:step]`` (stop exclusive); negative numbers count from the end, as in Python. The result is
sorted and unique.

>>> select("0:101:10", 101).tolist()
[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
>>> select("5,-1,0", 11).tolist()
[0, 5, 10]
>>> select("0:3, 7", 10, "trajectory").tolist()
[0, 1, 2, 7]
>>> select(None, 3).tolist()
[0, 1, 2]
"""

from __future__ import annotations

import numpy as np

from pihamno.errors import InputError

SYNTAX = "'all', an index '7', a list '0,5,10', a slice 'start:stop[:step]' (stop exclusive), or a mix '0:3,7'"


def _int(token: str, spec: str, what: str) -> int:
    try:
        return int(token)
    except ValueError:
        a, dash, b = token.partition("-")
        hint = ""
        if dash and a.strip().isdigit() and b.strip().isdigit():
            hint = f" (for {what}s {a.strip()} to {b.strip()} write '{a.strip()}:{int(b) + 1}')"
        raise InputError(f"bad {what} selection {spec!r}: {token!r} is not an integer{hint}; expected {SYNTAX}") from None


def select(spec: str | None, count: int, what: str = "frame") -> np.ndarray:
    """Indices in ``range(count)`` selected by ``spec`` (module docstring): sorted, unique, shape (S,), int64.

    ``what`` names the items in error messages ("frame", "trajectory"). Raises :class:`InputError` for
    malformed text, an index outside ``[-count, count)``, a zero step, or an empty selection.
    """
    plural = f"{what}s" if not what.endswith("y") else f"{what[:-1]}ies"
    if spec is None or str(spec).strip().lower() in ("", "all", ":"):
        return np.arange(count)
    text = str(spec).strip()
    chosen: list[int] = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            raise InputError(f"bad {what} selection {spec!r}: an empty item; expected {SYNTAX}")
        if ":" in item:
            parts = item.split(":")
            if len(parts) > 3:
                raise InputError(f"bad {what} selection {spec!r}: {item!r} is not a slice 'start:stop[:step]'")
            values = [_int(p, spec, what) if p.strip() else None for p in parts]
            if len(values) == 3 and values[2] == 0:
                raise InputError(f"bad {what} selection {spec!r}: the step must not be zero")
            part = np.arange(count)[slice(*values)].tolist()
            if not part:
                raise InputError(f"{what} selection {spec!r}: {item!r} selects no {what} of the {count} "
                                 f"(0 to {count - 1})")
            chosen += part
        else:
            i = _int(item, spec, what)
            if not -count <= i < count:
                raise InputError(f"{what} {i} does not exist: there are {count} {plural} (0 to {count - 1}); "
                                 f"bad {what} selection {spec!r}")
            chosen.append(i % count)
    out = np.unique(np.asarray(chosen, dtype=np.int64))
    if out.size == 0:
        raise InputError(f"{what} selection {spec!r} selects no {what} of the {count} (0 to {count - 1})")
    return out
