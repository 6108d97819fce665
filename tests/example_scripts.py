"""Import an example or study script by path (``examples/`` is not a package), for the tests that drive them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relpath: str, name: str):
    """The module of ``ROOT/relpath``, registered as ``name`` (dataclasses look their module up while the file runs)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relpath)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
