"""Plugins: PDEs, models and initial-condition families defined outside pihamno, loaded by every command.

A plugin is a Python module whose import registers something with the decorators and functions of pihamno's
registries -- :func:`fem.pde.register_pde` (a PDE class), :func:`pihamno.models.register_model` (a model class),
:func:`pihamno.data.initial_conditions.register_family` (an initial-condition family). Nothing else is asked
of it. :func:`load_plugins` imports the plugins from three sources, in this order:

1. **installed packages**: every entry point of the groups :data:`ENTRY_POINT_GROUPS` (``pihamno.pdes``,
   ``pihamno.models``, ``pihamno.initial_conditions``) that an installed distribution declares, e.g. in its
   ``pyproject.toml``::

       [project.entry-points."pihamno.pdes"]
       cac = "conserved_ac.pde"            # module imported; its @register_pde runs

2. the environment variable :data:`ENV_VAR` (``PIHAMNO_PLUGINS``): module names or ``.py`` files separated
   by ``os.pathsep`` (``:`` on Linux);
3. the plugins passed in, e.g. ``pihamno --plugin MODULE_OR_FILE`` (repeatable, before the verb).

A module name is imported as usual; a file is imported under its stem (``my/cac.py`` -> module ``cac``), so that
worker processes that load the same file give its classes the same module name. Loading is idempotent: a plugin
already loaded in this process is not imported again. A plugin that fails to import is one
:class:`~pihamno.errors.InputError` sentence naming it (``plugin 'cac.py' failed to import: ...``).

**Workers.** The processes of ``generate --workers N`` (a spawned pool) are given :func:`loaded_plugins` and
load the same list in their initialiser (entry points load there by themselves). A Dask worker loads the entry
points of its own environment; a plugin *file* is shipped to the workers (``UploadFile`` worker plugin of
``dask.distributed``, :func:`pihamno.data.scheduling`), where it is imported by its module name; a plugin
*module* must be importable on the workers (installed, or on their ``PYTHONPATH``). docs/plugins.md has the
whole story.

>>> load_plugins(entry_points=False, environment=False)
[]
>>> try:
...     load_plugin("no_such_plugin_module")
... except InputError as exc:
...     print(str(exc).split(" (")[0])
plugin 'no_such_plugin_module' failed to import: ModuleNotFoundError: No module named 'no_such_plugin_module'
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from fem.pde import PLUGIN_HINT
from pihamno.errors import InputError

__all__ = ["ENTRY_POINT_GROUPS", "ENV_VAR", "HINT", "is_file_plugin", "load_plugin", "load_plugins",
           "loaded_plugins", "module_name", "worker_can_import"]

#: The entry-point groups an installed package declares its plugins in (what each registers).
ENTRY_POINT_GROUPS = {
    "pihamno.pdes": "PDEs (fem.pde.register_pde)",
    "pihamno.models": "models (pihamno.models.register_model)",
    "pihamno.initial_conditions": "initial-condition families (pihamno.data.initial_conditions.register_family)",
}
#: Environment variable with plugins to load: module names or .py files separated by os.pathsep.
ENV_VAR = "PIHAMNO_PLUGINS"
#: What to do about a name that no registered PDE, model or family has (appended to such errors).
HINT = PLUGIN_HINT

_LOADED: dict[str, ModuleType] = {}   # explicit plugin (module name or absolute file path) -> its module
_ENTRY_POINTS: dict[str, ModuleType] = {}  # "group:name=value" -> the entry point's module


def is_file_plugin(spec: str) -> bool:
    """Whether ``spec`` names a file (ends in ``.py`` or contains a path separator) rather than a module."""
    return spec.endswith(".py") or "/" in spec or os.sep in spec


def module_name(spec: str) -> str:
    """The module a plugin is imported as: a file's stem, or the module name itself."""
    return Path(spec).stem if is_file_plugin(spec) else spec


def _failed(what: str, exc: BaseException, advice: str = "") -> InputError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return InputError(f"plugin {what} failed to import: {type(exc).__name__}: {text}{advice}")


def _import_file(path: Path, spec_text: str) -> ModuleType:
    name = path.stem
    if not name.isidentifier():
        raise InputError(f"plugin file {spec_text!r}: its name {name!r} is not a Python identifier; rename the file")
    existing = sys.modules.get(name)
    if existing is not None:
        where = getattr(existing, "__file__", None)
        if where and Path(where).resolve() == path:
            return existing  # imported before (e.g. from PYTHONPATH): the same module
        raise InputError(f"plugin file {spec_text!r} would be imported as module {name!r}, which is already "
                         f"{where or 'a built-in module'}; rename the file")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before it runs: dataclasses and pickling look their module up
    try:
        spec.loader.exec_module(module)
    except InputError as exc:
        del sys.modules[name]
        raise InputError(f"plugin {spec_text!r}: {exc}") from None
    except Exception as exc:
        del sys.modules[name]
        raise _failed(repr(spec_text), exc) from exc
    return module


def load_plugin(spec: str) -> ModuleType:
    """Import one plugin (a module name or a ``.py`` file) once; returns its module.

    A refusal of a registry (e.g. a PDE name already taken) and any error while importing become one
    :class:`InputError` naming the plugin."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"a plugin is a module name or a .py file, got {spec!r}")
    spec = spec.strip()
    if is_file_plugin(spec):
        path = Path(spec).expanduser().resolve()
        key = str(path)
        if key in _LOADED:
            return _LOADED[key]
        if not path.is_file():
            raise InputError(f"plugin file {spec!r} does not exist")
        if path.suffix != ".py":
            raise InputError(f"plugin file {spec!r} is not a .py file")
        module = _import_file(path, spec)
    else:
        key = spec
        if key in _LOADED:
            return _LOADED[key]
        try:
            module = importlib.import_module(spec)
        except InputError as exc:
            raise InputError(f"plugin {spec!r}: {exc}") from None
        except ModuleNotFoundError as exc:
            advice = (f" (install its package, put its folder on PYTHONPATH, or pass its file: --plugin "
                      f"path/to/{spec.rsplit('.', 1)[-1]}.py)") if exc.name == spec.split(".")[0] else ""
            raise _failed(repr(spec), exc, advice) from exc
        except Exception as exc:
            raise _failed(repr(spec), exc) from exc
    _LOADED[key] = module
    return module


def _load_entry_points() -> None:
    for group in ENTRY_POINT_GROUPS:
        for ep in importlib.metadata.entry_points(group=group):
            key = f"{group}:{ep.name}={ep.value}"
            if key in _ENTRY_POINTS:
                continue
            package = f" of package {ep.dist.name!r}" if getattr(ep, "dist", None) is not None else ""
            what = f"{ep.name!r} (entry point {ep.value!r} in group {group!r}{package})"
            try:
                ep.load()
            except InputError as exc:
                raise InputError(f"plugin {what}: {exc}") from None
            except Exception as exc:
                raise _failed(what, exc) from exc
            _ENTRY_POINTS[key] = sys.modules.get(ep.module)


def _from_environment() -> list[str]:
    value = os.environ.get(ENV_VAR, "")
    return [s.strip() for s in value.split(os.pathsep) if s.strip()]


def load_plugins(plugins: Iterable[str] = (), *, entry_points: bool = True, environment: bool = True) -> list[str]:
    """Load the installed packages' entry points (``entry_points``), the plugins of :data:`ENV_VAR`
    (``environment``) and ``plugins``, each once per process (module docstring).

    Returns the explicit plugins now loaded in this process (:func:`loaded_plugins`): what worker processes are
    given to load the same."""
    if entry_points:
        _load_entry_points()
    for spec in [*(_from_environment() if environment else []), *plugins]:
        load_plugin(spec)
    return loaded_plugins()


def loaded_plugins() -> list[str]:
    """The explicit plugins loaded in this process, in load order: module names and absolute file paths."""
    return list(_LOADED)


def worker_can_import(module: str) -> bool:
    """Whether a process started from this one (same ``sys.path``, the plugins of :func:`loaded_plugins`
    loaded) can import ``module``: a loaded plugin's module, or one found on ``sys.path``. A module that was
    executed from a file without going through :func:`load_plugin` cannot."""
    if module in {m.__name__ for m in _LOADED.values()}:
        return True
    top = module.split(".")[0]
    if top in sys.builtin_module_names:
        return True
    return importlib.machinery.PathFinder.find_spec(top, sys.path) is not None
