"""Errors a user can cause (bad mesh file, bad parameter).

Every layer raises :class:`InputError` with one sentence that names the offending value and what was
expected; the ``pihamno`` CLI prints that sentence without a traceback and exits with status 2.
:func:`input_file` is the one check of a file to read (mesh, dataset, config, checkpoint): it says what the
path is instead of a file (missing, a folder, a symbolic link in a loop or to nothing).
"""


class InputError(ValueError):
    """A user-supplied value (file, parameter, tensor shape) is not acceptable."""


class MeshError(InputError):
    """A mesh file is missing, unreadable, not tetrahedral, or has inverted/degenerate cells."""


def input_file(path, what: str, error: type = InputError):
    """``path`` as a :class:`~pathlib.Path` when it is a file that can be opened, else ``error`` with one sentence
    that says what it is instead: missing, a folder, a symbolic link to nothing or in a loop, not a regular file.

    >>> input_file("/", "dataset")
    Traceback (most recent call last):
    ...
    fem.errors.InputError: dataset '/' is a folder, not a file
    """
    import errno
    import os
    import stat
    from pathlib import Path

    path = Path(path)
    name = f"{what} {str(path)!r}"
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{name} is a symbolic link in a loop ({os.readlink(path)!r}); point it at a file") from None
        if path.is_symlink():
            raise error(f"{name} is a symbolic link to {os.readlink(path)!r}, which does not exist") from None
        if exc.errno == errno.ENOENT:
            raise error(f"{name} does not exist") from None
        raise error(f"{name} cannot be opened: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise error(f"{name} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise error(f"{name} is not a regular file")
    if not os.access(path, os.R_OK):
        raise error(f"{name} is not readable (permission denied)")
    return path
