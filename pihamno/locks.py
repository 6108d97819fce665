"""One writer at a time: a lock file that names its owner, and the owner test of leftovers.

:func:`hold` keeps a second process out of an output (a run folder, a dataset being written): it creates the
lock file, takes an exclusive ``fcntl.flock`` on it and writes the owner into it (pid, host, start time,
command); a second process finds the lock taken and is refused with one line naming the first. The kernel
drops the lock when its process dies (``kill -9`` included), so a lock file left behind by a dead process is
stale: the next process takes it over silently. On a clean exit the owner deletes the file.

:func:`owner_tag` and :func:`is_stale` do the same for temporary files: writers put the tag (host and pid) into
the names of their temporary files (:func:`pihamno.io.atomic_path`, :func:`pihamno.io.atomic_dir`), and a
later writer of the same output removes the ones whose process is gone.

>>> import tempfile, pathlib
>>> lock = pathlib.Path(tempfile.mkdtemp()) / "run.lock"
>>> with hold(lock, "run folder 'r'"):
...     owner(lock)["pid"] == os.getpid()
True
>>> lock.exists()  # deleted on release
False
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from pihamno.errors import InputError


def owner_tag() -> str:
    """``host-pid`` of this process, as it appears in the names of temporary files (no dots)."""
    return f"{socket.gethostname().split('.')[0]}-{os.getpid()}"


def is_stale(tag: str) -> bool:
    """Whether the process of an :func:`owner_tag` is gone: same host and no such pid. Tags of other hosts (a
    shared file system) are never stale: their process cannot be asked."""
    host, _, pid = tag.rpartition("-")
    if host != socket.gethostname().split(".")[0] or not pid.isdigit():
        return False
    return not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def owner(lock_file: str | Path) -> dict:
    """What the lock file says about its owner (empty when unreadable)."""
    try:
        return json.loads(Path(lock_file).read_text())
    except (OSError, ValueError):
        return {}


def describe(info: dict) -> str:
    """``pid 123 on host, started 2026-12-07 23:40:01 (pihamno train ...)`` from :func:`owner`'s dict."""
    if not info:
        return "a process that left no details"
    text = f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')}"
    return text + (f" ({info['command']})" if info.get("command") else "")


@contextlib.contextmanager
def hold(lock_file: str | Path, what: str, advice: str = "wait for it to finish or stop it"):
    """Hold ``lock_file`` for the body; a lock held by a live process raises :class:`InputError`:
    ``{what} is in use by pid 123 on host, started ... (command); {advice}``.

    A file system without ``flock`` (some network mounts) is used without the lock.
    """
    lock_file = Path(lock_file)
    while True:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(f"{what} is in use by {describe(owner(lock_file))}; {advice}") from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                os.close(fd)
                raise
        try:  # the previous owner may have deleted the file between our open and our lock: lock the new one
            same = os.fstat(fd).st_ino == os.stat(lock_file).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": " ".join(["pihamno" if i == 0 and a.endswith("pihamno") else a
                                     for i, a in enumerate(sys.argv)])[:300]}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        yield lock_file
    finally:
        with contextlib.suppress(OSError):
            lock_file.unlink()
        os.close(fd)
