"""Small helpers shared by every writer: nothing is ever left half-written, and what is written is plain.

* :func:`check_output`, :func:`atomic_path`, :func:`atomic_dir` -- output checks and atomic writing
  (temporary file or folder, then rename); a write the system refuses (disk full, ``ulimit -f``, read-only)
  is one :class:`InputError` naming the file, and nothing is replaced;
* :func:`remove_stale_temporaries` -- temporaries are named ``.NAME.HOST-PID.RANDOM.part``; the next writer of
  ``NAME`` removes those whose process is gone (``kill -9``), so no rerun leaves them behind;
* :func:`write_failure` -- why a write failed, in words (disk full, ``ulimit -f``, read-only, immutable);
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
import errno
import glob
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from pihamno.errors import InputError
from pihamno.locks import is_stale, owner_tag

_KEEP = object()

#: what a failed write means, by errno
_WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EFBIG: "the file-size limit (ulimit -f) is reached",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted (an immutable or append-only folder?)",
    errno.EIO: "an input/output error of the disk",
}


def error_number(exc: BaseException) -> int | None:
    """The errno of an OS error, also where a library only wrote it into the text (HDF5: ``errno = 27``)."""
    number = getattr(exc, "errno", None)
    if number is None:
        found = re.search(r"errno = (\d+)", str(exc))
        number = int(found.group(1)) if found else None
    return number


def write_failure(exc: BaseException) -> str:
    """Why a write failed, in a few words: ``the disk is full``, ``the file-size limit (ulimit -f) is reached``.

    >>> write_failure(OSError(28, "No space left on device"))
    'the disk is full'
    >>> write_failure(RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed"))
    'the disk is full or the file-size limit (ulimit -f) is reached'
    """
    number = error_number(exc)
    if number in _WRITE_ERRORS:
        return _WRITE_ERRORS[number]
    if number:
        return os.strerror(number)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "write failed" in text or "failed writing" in text:
        return "the disk is full or the file-size limit (ulimit -f) is reached"
    return text


def check_output(path: str | Path, overwrite: bool) -> Path:
    """Make sure ``path`` can be written: not an existing file unless ``overwrite``, not a folder, its
    parent folder created and writable. Returns the parent folder; raises :class:`InputError` otherwise."""
    path = Path(path)
    remove_stale_temporaries(path)
    if path.is_symlink() and not path.exists():
        raise InputError(f"output {str(path)!r} is a symbolic link to {os.readlink(path)!r}, which leads nowhere (a "
                         "loop or a missing target); remove the link or choose another name")
    if path.is_dir():
        raise InputError(f"output {str(path)!r} is a directory; expected a file name")
    if path.exists() and not overwrite:
        raise InputError(f"output {str(path)!r} already exists; pass --overwrite to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    blocking = next((p for p in [parent, *parent.parents] if p.exists() or p.is_symlink()), None)
    if blocking is not None and not blocking.is_dir():
        raise InputError(f"cannot create output folder {str(parent)!r}: {str(blocking)!r} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {str(parent)!r}: {write_failure(exc)}") from None
    if not os.access(parent, os.W_OK):
        raise InputError(f"output folder {str(parent)!r} is not writable (read-only, immutable or another user's); "
                         "choose another")
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
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".part", dir=parent)
    except OSError as exc:
        raise InputError(f"cannot write {str(path)!r}: {write_failure(exc)}") from None
    os.close(fd)
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private (0600); outputs are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if _failed_write(exc):  # disk full, ulimit -f, read-only: one line naming the file
            raise InputError(f"cannot write {str(path)!r}: {write_failure(exc)}; nothing was replaced (free space or "
                             "raise the limit, then run again)") from None
        raise


def _failed_write(exc: BaseException) -> bool:
    """Whether ``exc`` is the operating system refusing a write (and not a bug or a user error)."""
    if isinstance(exc, InputError):
        return False
    if isinstance(exc, OSError):
        return error_number(exc) in _WRITE_ERRORS
    return isinstance(exc, RuntimeError) and write_failure(exc).startswith("the disk is full")


def _temporary_prefix(path: Path) -> str:
    """``.NAME.HOST-PID.``: temporary files and folders beside ``path`` name their writer
    (:func:`pihamno.locks.owner_tag`), so that a later writer can remove those of a killed one."""
    return f".{path.name}.{owner_tag()}."


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete the temporary files and folders of ``path`` left by writers that were killed (their process is gone,
    :func:`pihamno.locks.is_stale`); a folder moved aside while an output was being replaced is moved back
    first when the output is missing. Returns what was removed. Temporaries of live writers are kept."""
    path = Path(path)
    removed = []
    head = f".{path.name}."
    for p in sorted(path.parent.glob(f".{glob.escape(path.name)}.*")) if path.parent.is_dir() else []:
        rest, kind = p.name[len(head):], p.suffix
        if kind not in (".part", ".old") or "." not in rest or not is_stale(rest.split(".", 1)[0]):
            continue
        if kind == ".old" and (p / path.name).exists() and not path.exists():
            os.replace(p / path.name, path)  # killed between the two renames of atomic_dir: put it back
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        removed.append(p)
    return removed


def check_output_dir(path: str | Path, overwrite: bool, marker: str = "*.pvd", what: str = "an earlier export") -> Path:
    """The checks of :func:`atomic_dir`, to be made before any work: ``path`` must not exist unless ``overwrite``,
    and then be a folder that is empty or holds a ``marker`` file (``what`` names such a folder)."""
    path = Path(path)
    remove_stale_temporaries(path)
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
        tmp = Path(tempfile.mkdtemp(prefix=_temporary_prefix(path), suffix=".part", dir=parent))
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
        old = Path(tempfile.mkdtemp(prefix=_temporary_prefix(path), suffix=".old", dir=parent))
        os.replace(path, old / path.name)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(old / path.name, path)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, InputError) and str(tmp) in str(exc):  # a file of the folder: name it where it belongs
            raise InputError(str(exc).replace(str(tmp), str(path))) from None
        if _failed_write(exc):
            raise InputError(f"cannot write {str(path)!r}: {write_failure(exc)}; nothing was replaced (free space or "
                             "raise the limit, then run again)") from None
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
