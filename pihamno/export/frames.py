"""Frame selections from the command line: ``"all"``, ``"7"``, ``"0,5,10"``, ``"0:101:10"``, ``"-1"``.

Used by ``pihamno export`` and ``pihamno render``.

>>> parse_frames("0:101:10", 101).tolist()
[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
>>> parse_frames("5,-1,0", 11).tolist()
[0, 5, 10]
>>> parse_frames(None, 3).tolist()
[0, 1, 2]
"""

from __future__ import annotations

import numpy as np

from fem.errors import InputError


def _index(token: str, spec: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise InputError(
            f"bad frame selection {spec!r}: {token!r} is not an integer; expected e.g. 'all', '7', "
            "'0,5,10' or 'start:stop:step'"
        ) from None


def parse_frames(spec: str | None, nframes: int) -> np.ndarray:
    """Frame indices selected by ``spec`` among ``nframes`` frames, sorted and unique, shape (S,).

    ``spec`` is ``None``/``"all"`` (every frame), a comma-separated list of indices, or one Python slice
    ``start:stop[:step]`` (stop exclusive). Negative indices count from the end, as in Python.
    Raises :class:`InputError` for malformed text, an index outside ``[-nframes, nframes)``, or an empty
    selection.
    """
    if spec is None or spec.strip().lower() in ("", "all", ":"):
        return np.arange(nframes)
    text = spec.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) > 3 or "," in text:
            raise InputError(f"bad frame selection {spec!r}: expected one slice 'start:stop[:step]'")
        values = [_index(p, spec) if p.strip() else None for p in parts]
        if len(values) == 3 and values[2] == 0:
            raise InputError(f"bad frame selection {spec!r}: the step must not be zero")
        chosen = np.arange(nframes)[slice(*values)]
    else:
        chosen = []
        for token in text.split(","):
            i = _index(token.strip(), spec)
            if not -nframes <= i < nframes:
                raise InputError(
                    f"bad frame selection {spec!r}: frame {i} is out of range; the file has {nframes} frames "
                    f"(0 to {nframes - 1})"
                )
            chosen.append(i % nframes)
    chosen = np.unique(np.asarray(chosen, dtype=np.int64))
    if chosen.size == 0:
        raise InputError(f"frame selection {spec!r} selects no frame of the {nframes} frames (0 to {nframes - 1})")
    return chosen
