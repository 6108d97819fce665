"""Small helpers shared by every writer: nothing is ever left half-written, and what is written is plain.

* :func:`check_output`, :func:`atomic_path`, :func:`atomic_dir` -- output checks and atomic writing
  (temporary file or folder, then rename);
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
import shutil
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


def check_output_dir(path: str | Path, overwrite: bool, marker: str = "*.pvd", what: str = "an earlier export") -> Path:
    """The checks of :func:`atomic_dir`, to be made before any work: ``path`` must not exist unless ``overwrite``,
    and then be a folder that is empty or holds a ``marker`` file (``what`` names such a folder)."""
    path = Path(path)
    if path.exists():
        if not overwrite:
            raise InputError(f"output {str(path)!r} already exists; pass --overwrite to replace it")
        if not path.is_dir():
            raise InputError(f"output {str(path)!r} exists and is not a folder; expected {what} folder")
        if any(path.iterdir()) and not any(path.glob(marker)):
            raise InputError(f"output folder {str(path)!r} holds no {marker} file; refusing to replace a folder "
                             f"that is not {what}")
    return path


@contextlib.contextmanager
def atomic_dir(path: str | Path, overwrite: bool = False, marker: str = "*.pvd", what: str = "an earlier export"):
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path``, on error it is deleted.

    An existing ``path`` is refused unless ``overwrite``, and even then replaced only if it looks like an earlier
    output of the same kind (empty, or holding a file matching ``marker``, which ``what`` names), so a mistyped
    ``--out`` cannot delete unrelated data.
    """
    path = check_output_dir(path, overwrite, marker, what)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=parent))
        umask = os.umask(0o022)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private (0700); the output is an ordinary folder
    except OSError as exc:
        raise InputError(f"cannot create a folder in {str(parent)!r}: {exc.strerror}") from None
    try:
        yield tmp
        if not path.exists():
            os.replace(tmp, path)
            return
        # Replacing a folder takes two renames: move the old one aside, move the new one in, then delete.
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=parent))
        os.replace(path, old / path.name)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(old / path.name, path)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
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
