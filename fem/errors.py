"""Errors a user can cause (bad mesh file, bad parameter).

Every layer raises :class:`InputError` with one sentence that names the offending value and what was
expected; the ``pihamno`` CLI prints that sentence without a traceback and exits with status 2.
"""


class InputError(ValueError):
    """A user-supplied value (file, parameter, tensor shape) is not acceptable."""


class MeshError(InputError):
    """A mesh file is missing, unreadable, not tetrahedral, or has inverted/degenerate cells."""
