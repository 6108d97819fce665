"""The ``pihamno`` command line.

Each verb lives in its own module of this package and exposes ``register(subparsers)``, which adds its
sub-parser and sets ``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
Verb modules are discovered automatically (every module here that defines ``register``), listed in
:data:`VERB_ORDER` first and then alphabetically.
Heavy imports (torch, scikit-fem, pyvista) happen inside ``func`` so that ``pihamno --help`` stays fast.

User errors (:class:`pihamno.errors.InputError`, missing/unwritable files) are printed as one line
``pihamno: error: ...`` and exit with status 2; ``--debug`` shows the traceback instead. A flag argparse
cannot read is one line too (``pihamno VERB: error: ... (see --help)``, status 2), and a negative number in any
notation is read as a value, so that the verb refuses it with its range
(:class:`pihamno.workflows.options.ArgumentParser`). The library logs
through :mod:`logging` (loggers ``pihamno.*`` and ``fem.*``); :func:`setup_logging` sends those records to
stderr as ``pihamno: message`` lines.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

#: Verbs listed first by ``--help`` (the data's path); any other verb module follows alphabetically.
VERB_ORDER = ["assemble", "generate", "check_data", "train", "evaluate", "export", "render"]


def verb_modules() -> list[str]:
    """Names of the modules of this package that define a verb."""
    import pkgutil

    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    return [n for n in VERB_ORDER if n in found] + sorted(found - set(VERB_ORDER))


def build_parser() -> argparse.ArgumentParser:
    from pihamno.workflows.options import ArgumentParser

    parser = ArgumentParser(
        prog="pihamno",
        description="Physics-informed hierarchical neural operators (HAMNO / PI-HAMNO) for 3D phase-field "
        "PDEs on finite elements. Run 'pihamno VERB --help' for each verb.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for user errors")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in verb_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to the *current* ``sys.stderr`` (redirections made after setup, e.g. by pytest, are honoured)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def setup_logging(debug: bool = False, quiet: bool = False) -> None:
    """Library log records (``pihamno.*``, ``fem.*``) to stderr as ``pihamno: message`` (INFO and above; WARNING
    and above for a verb run with ``--quiet``).

    Idempotent: calling it again (``main`` twice in one process) adds no second handler.
    """
    for name in ("pihamno", "fem"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("pihamno: %(message)s"))
            logger.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    from pihamno.errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.debug, getattr(args, "quiet", False))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (InputError, FileNotFoundError, PermissionError, IsADirectoryError, FileExistsError) as exc:
        if args.debug:
            raise
        print(f"pihamno: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pihamno: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
