"""Small helpers shared by every writer: nothing is ever left half-written, and what is written is plain.

* :func:`check_output`, :func:`atomic_path` -- output checks and atomic writing (temporary file, rename);
* :func:`plain` -- any value of ours (numpy scalars and arrays, tuples, bytes, nested dicts) as plain Python:
  what ``torch.load(weights_only=True)``, TOML, JSON and HDF5 attributes all accept.

>>> import numpy as np
>>> plain({"a": np.float32(0.5), "b": (1, np.int64(2)), "c": np.arange(2), "d": b"x"})
{'a': 0.5, 'b': [1, 2], 'c': [0, 1], 'd': 'x'}
>>> plain([float("nan"), 1.0], nonfinite=None)
[None, 1.0]
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from pihamno.errors import InputError

_KEEP = object()


def check_output(path: str | Path, overwrite: bool) -> Path:
    """Make sure ``path`` can be written: not an existing file unless ``overwrite``, not a folder, its
    parent folder created and writable. Returns the parent folder; raises :class:`InputError` otherwise."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"output {str(path)!r} is a directory; expected a file name")
    if path.exists() and not overwrite:
        raise InputError(f"output {str(path)!r} already exists; pass --overwrite to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {str(parent)!r}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise InputError(f"output folder {str(parent)!r} is not writable")
    return parent


@contextlib.contextmanager
def atomic_path(path: str | Path, overwrite: bool = True):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on error delete it.

    Use it for any file a job writes (HDF5 datasets, checkpoints, VTK, PNG, JSON)::

        with atomic_path("out.h5") as tmp:
            write_everything(tmp)
    """
    path = Path(path)
    parent = check_output(path, overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=parent)
    os.close(fd)
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private (0600); outputs are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def plain(obj, nonfinite=_KEEP):
    """``obj`` with numpy scalars/arrays, tuples and bytes turned into Python values and lists, recursively.

    ``nonfinite``: the value that replaces NaN and +-inf floats (e.g. ``None`` for JSON); by default they stay.
    Objects of any other type become their ``str``.
    """
    if isinstance(obj, dict):
        return {str(k): plain(v, nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v, nonfinite) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist(), nonfinite)
    if isinstance(obj, np.generic):
        return plain(obj.item(), nonfinite)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, float) and nonfinite is not _KEEP and not math.isfinite(obj):
        return nonfinite
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)
