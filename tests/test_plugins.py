"""pihamno.plugins in one process: the three sources (an installed package's entry points, PIHAMNO_PLUGINS,
explicit plugins), loading once, and one sentence naming a plugin that fails. Each plugin here registers an
initial-condition family under a fresh name, and every test undoes what it loaded."""

from __future__ import annotations

import sys

import pytest

import pihamno.plugins as plugins
from pihamno.data.initial_conditions import FAMILIES, unregister_family
from pihamno.errors import InputError

PLUGIN = '''
from pihamno.data.initial_conditions import register_family

COUNT = globals().get("COUNT", 0) + 1   # how often this module's code ran


@register_family("{name}", {{"amplitude": 1.0}})
def field(rng, n, L, *, amplitude):
    return amplitude * rng.standard_normal((n, n, n))
'''


@pytest.fixture
def fresh(monkeypatch):
    """No plugin loaded yet in this test; afterwards the families and modules the test loaded are gone again."""
    monkeypatch.setattr(plugins, "_LOADED", {})
    monkeypatch.setattr(plugins, "_ENTRY_POINTS", {})
    monkeypatch.delenv(plugins.ENV_VAR, raising=False)
    families, modules = set(FAMILIES), set(sys.modules)
    yield
    for name in set(FAMILIES) - families:
        unregister_family(name)
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def write_plugin(folder, stem: str, family: str):
    path = folder / f"{stem}.py"
    path.write_text(PLUGIN.format(name=family))
    return path


def test_a_file_a_module_and_the_environment_each_load_once(fresh, tmp_path, monkeypatch):
    one = write_plugin(tmp_path, "plugin_one", "family-one")
    (tmp_path / "mods").mkdir()
    write_plugin(tmp_path / "mods", "plugin_two", "family-two")
    three = write_plugin(tmp_path, "plugin_three", "family-three")
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    monkeypatch.setenv(plugins.ENV_VAR, f"{three}:plugin_two")

    loaded = plugins.load_plugins([str(one)], entry_points=False)
    assert loaded == [str(three), "plugin_two", str(one)]  # the environment first, then the explicit ones
    assert {"family-one", "family-two", "family-three"} <= set(FAMILIES)
    assert sys.modules["plugin_one"].__file__ == str(one)  # a file is imported under its stem

    assert plugins.load_plugins([str(one), "plugin_two"], entry_points=False) == loaded  # idempotent
    assert sys.modules["plugin_one"].COUNT == 1 and sys.modules["plugin_two"].COUNT == 1
    assert plugins.worker_can_import("plugin_one") and plugins.worker_can_import("plugin_two")
    assert not plugins.worker_can_import("no_such_module_anywhere") and plugins.worker_can_import("fem.pde")


def test_an_installed_packages_entry_points_load_by_themselves(fresh, tmp_path, monkeypatch):
    import importlib

    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "fake_plugin_pkg", "family-entry")
    info = site / "fake_plugin_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pihamno.initial_conditions]\nentry = fake_plugin_pkg\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()

    assert plugins.load_plugins() == []  # nothing explicit; the entry point was loaded
    assert "family-entry" in FAMILIES and FAMILIES["family-entry"].fn.__module__ == "fake_plugin_pkg"
    plugins.load_plugins()
    assert sys.modules["fake_plugin_pkg"].COUNT == 1

    (site / "fake_plugin_pkg.py").write_text("raise ImportError('cannot load its extension')\n")
    del sys.modules["fake_plugin_pkg"]
    monkeypatch.setattr(plugins, "_ENTRY_POINTS", {})
    with pytest.raises(InputError, match=r"^plugin 'entry' \(entry point 'fake_plugin_pkg' in group "
                       r"'pihamno.initial_conditions' of package 'fake-plugin-pkg'\) failed to import: ImportError: "
                       r"cannot load its extension$"):
        plugins.load_plugins()


def test_refusals_name_the_plugin(fresh, tmp_path):
    with pytest.raises(InputError, match="^plugin file 'nowhere/x.py' does not exist$"):
        plugins.load_plugin("nowhere/x.py")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(InputError, match="is not a .py file"):
        plugins.load_plugin(str(tmp_path / "notes.txt"))
    clash = tmp_path / "json.py"  # would shadow the standard library's module
    clash.write_text("")
    with pytest.raises(InputError, match="would be imported as module 'json', which is already .*; rename the file"):
        plugins.load_plugin(str(clash))

    taken = write_plugin(tmp_path, "takes_grf", "grf")  # a family name the package already has
    with pytest.raises(InputError, match=r"^plugin '.*takes_grf.py': initial-condition family 'grf' is already "
                       r"registered by pihamno.data.initial_conditions._grf$"):
        plugins.load_plugin(str(taken))
    assert "takes_grf" not in sys.modules and FAMILIES["grf"].fn.__module__ == "pihamno.data.initial_conditions"

    broken = tmp_path / "broken_plugin.py"
    broken.write_text("x = 1 / 0\n")
    with pytest.raises(InputError, match="^plugin '.*broken_plugin.py' failed to import: ZeroDivisionError: division by zero$"):
        plugins.load_plugin(str(broken))
    assert plugins.loaded_plugins() == []


def test_the_command_line_loads_plugins_before_the_verb(fresh, tmp_path, capsys):
    from pihamno.cli import global_options, main

    one = write_plugin(tmp_path, "plugin_cli", "family-cli")
    assert global_options(["--plugin", "a.py", "--debug", "--plugin=b", "generate", "--plugin", "c"]) == (["a.py", "b"], True)
    with pytest.raises(SystemExit) as exc:
        main(["--plugin", str(one), "generate", "--help"])
    assert exc.value.code == 0 and "family-cli" in capsys.readouterr().out  # the verb's help lists the family
    assert main(["--plugin", str(tmp_path / "missing.py"), "generate", "--help"]) == 2
    assert capsys.readouterr().err.strip() == f"pihamno: error: plugin file {str(tmp_path / 'missing.py')!r} does not exist"
