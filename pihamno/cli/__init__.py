"""The ``pihamno`` command line.

Each verb lives in its own module of this package and exposes ``register(subparsers)``, which adds its
sub-parser and sets ``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
Heavy imports (torch, scikit-fem, pyvista) happen inside ``func`` so that ``pihamno --help`` stays fast.

User errors (:class:`fem.errors.InputError`, missing/unwritable files) are printed as one line
``pihamno: error: ...`` and exit with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules (relative to this package) that define a verb, in the order ``--help`` lists them.
VERB_MODULES = [
    "assemble",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pihamno",
        description="Physics-informed hierarchical neural operators (HAMNO / PI-HAMNO) for 3D phase-field "
        "PDEs on finite elements. Run 'pihamno VERB --help' for each verb.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for user errors")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from fem.errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
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
