"""Small file helpers shared by every writer: nothing is ever left half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from fem.errors import InputError


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
