"""The ``pihamno`` command line.

Each verb lives in its own module of this package and exposes ``register(subparsers)``, which adds its
sub-parser and sets ``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
Verb modules are discovered automatically (every module here that defines ``register``), listed in
:data:`VERB_ORDER` first and then alphabetically.
Heavy imports (torch, scikit-fem, pyvista) happen inside ``func`` so that ``pihamno --help`` stays fast.

User errors (:class:`pihamno.errors.InputError`) and what the system refuses (a missing or unwritable file,
a full disk, an immutable folder, memory) are printed as one line ``pihamno: error: ...`` and exit with
status 2; ``--debug`` shows the traceback instead. Ctrl-C exits with 130 and SIGTERM with 143, both after
removing temporary files and releasing locks; a closed pipe (``| head``) ends quietly. A flag argparse
cannot read is one line too (``pihamno VERB: error: ... (see --help)``, status 2), and a negative number in any
notation is read as a value, so that the verb refuses it with its range
(:class:`pihamno.workflows.command_line.ArgumentParser`).

Plugins (:mod:`pihamno.plugins`, docs/plugins.md): before the parser is built, :func:`main` loads the installed
packages' entry points, the ``PIHAMNO_PLUGINS`` environment variable and every ``--plugin MODULE_OR_FILE`` given
before the verb, so that every verb -- and its ``--help`` -- sees the PDEs, models and initial-condition
families they register; a plugin that fails to import is one ``pihamno: error: plugin ...`` line. The library logs
through :mod:`logging` (loggers ``pihamno.*`` and ``fem.*``); :func:`setup_logging` sends those records to
stderr as ``pihamno: message`` lines.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

#: Verbs listed first by ``--help`` (the data's path); any other verb module follows alphabetically.
VERB_ORDER = ["assemble", "generate", "check_data", "train", "evaluate", "physical_tests", "export", "render"]


def verb_modules() -> list[str]:
    """Names of the modules of this package that define a verb."""
    import pkgutil

    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    return [n for n in VERB_ORDER if n in found] + sorted(found - set(VERB_ORDER))


def verb_names() -> list[str]:
    """The verbs as typed (``check_data`` -> ``check-data``)."""
    return [name.replace("_", "-") for name in verb_modules()]


def global_options(argv: list[str]) -> tuple[list[str], bool]:
    """``(plugins, debug)``: the ``--plugin`` values and ``--debug`` given before the verb (read before the parser
    is built, because the verbs' choices and help list what the plugins register)."""
    plugins, debug, verbs, i = [], False, set(verb_names()), 0
    while i < len(argv) and argv[i] not in verbs:
        token = argv[i]
        if token == "--plugin" and i + 1 < len(argv):
            plugins.append(argv[i + 1])
            i += 1
        elif token.startswith("--plugin="):
            plugins.append(token.split("=", 1)[1])
        elif token == "--debug":
            debug = True
        i += 1
    return plugins, debug


def build_parser() -> argparse.ArgumentParser:
    from pihamno.plugins import ENV_VAR
    from pihamno.workflows.command_line import ArgumentParser

    parser = ArgumentParser(
        prog="pihamno",
        description="Physics-informed hierarchical neural operators (HAMNO / PI-HAMNO) for 3D phase-field "
        "PDEs on finite elements. Run 'pihamno VERB --help' for each verb.",
        epilog=f"plugins: PDEs, models and initial-condition families from installed packages (entry points) load "
        f"by themselves; a module or a single file with --plugin (before the verb) or the {ENV_VAR} environment "
        "variable (several separated by ':'). See docs/plugins.md.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for user errors")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch's CPU threads (default: torch's own, one per physical core); use 1 or 2 on a "
                        "machine shared with other jobs or with several processes: waiting threads spin (one "
                        "ac_small epoch: 32 s on 2 threads of a busy 2-core machine, 3 s on 1). For train it is "
                        "[run] threads")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE_OR_FILE",
                        help="import this module or .py file first, for the PDEs, models and initial-condition "
                        "families it registers (repeatable; before the verb; also in the workers of generate)")
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
    and above for a verb run with ``--quiet``; errors only on the ranks other than 0 under ``torchrun``, where
    every rank would print the same notes).

    Idempotent: calling it again (``main`` twice in one process) adds no second handler.
    """
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    if os.environ.get("RANK", "0") not in ("", "0"):
        level = logging.ERROR
    for name in ("pihamno", "fem"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("pihamno: %(message)s"))
            logger.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    from pihamno.errors import InputError
    from pihamno.plugins import load_plugins

    argv = sys.argv[1:] if argv is None else list(argv)
    plugins, debug = global_options(argv)
    try:
        load_plugins(plugins)
    except InputError as exc:
        if debug:
            raise
        print(f"pihamno: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.debug, getattr(args, "quiet", False))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be a positive integer, got {args.threads}")
    restore = _terminate_like_interrupt()
    threads = None
    try:
        if args.threads is not None:
            from pihamno.device import set_cpu_threads

            threads = set_cpu_threads(args.threads)
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as other command-line tools do
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
    except (InputError, OSError, MemoryError) as exc:
        if args.debug:
            raise
        print(f"pihamno: error: {describe_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"pihamno: {'terminated' if isinstance(exc, Terminated) else 'interrupted'}", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        restore()
        if threads is not None:  # main called in a process that goes on (tests, notebooks)
            from pihamno.device import set_cpu_threads

            set_cpu_threads(threads)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch system's time limit), raised where the process is, as Ctrl-C is: temporary
    files are removed, locks released, and a rerun continues."""


def _terminate_like_interrupt():
    """Turn SIGTERM into :class:`Terminated` (main thread, default handler only); returns the undo."""
    import signal
    import threading

    def raise_terminated(signum, frame):
        raise Terminated

    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        return lambda: None
    signal.signal(signal.SIGTERM, raise_terminated)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)


def describe_error(exc: BaseException) -> str:
    """One line for a user error, or for what the system refused: ``'run/x': the operation is not permitted``."""
    from pihamno.errors import InputError
    from pihamno.io import write_failure

    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"out of memory ({exc or 'numpy or torch could not allocate'}); use smaller sizes (--n, batch sizes)"
    names = [repr(str(f)) for f in (exc.filename, exc.filename2) if f is not None]
    return f"{' -> '.join(names)}: {write_failure(exc)}" if names else write_failure(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
