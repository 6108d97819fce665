"""The import graph follows the data's path: every import (module level or inside a function) runs down the
layers of docs/design.md section 1, never up, and sibling packages never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: bottom to top; a module may import its own layer's package or any lower layer
LAYERS = [
    ["fem"],
    ["pihamno.errors", "pihamno.io", "pihamno.locks", "pihamno.device", "pihamno.selection", "pihamno.choices", "pihamno.plugins"],
    ["pihamno.data"],
    ["pihamno.models", "pihamno.physics"],
    ["pihamno.stepping"],
    ["pihamno.config"],  # parses configs and builds what they name; the run lifecycle is training's/evaluation's
    ["pihamno.training", "pihamno.evaluation"],
    ["pihamno.export"],
    ["pihamno.rendering"],  # draws the VTK objects export builds
    ["pihamno.workflows"],
    ["pihamno.cli", "pihamno.__main__"],
]
#: packages on one layer that must not import each other
SIBLINGS = [("pihamno.training", "pihamno.evaluation"), ("pihamno.models", "pihamno.physics")]


def unit_of(module: str) -> str | None:
    """The layer unit (package) a dotted module name belongs to."""
    for layer in LAYERS:
        for unit in layer:
            if module == unit or module.startswith(unit + "."):
                return unit
    return None


def level(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement of a source file, relative ones resolved."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if path.name == "__init__.py":
        module = module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((name, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] in ("fem", "pihamno")]


def violations() -> list[str]:
    bad = []
    for top in ("fem", "pihamno"):
        for path in sorted((ROOT / top).rglob("*.py")):
            here = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            unit = unit_of(here)
            if unit is None:  # pihamno/__init__.py: the lazy front door may name anything
                continue
            for name, line in imports_of(path):
                target = unit_of(name)
                if target is None or target == unit:
                    continue
                where = f"{path.relative_to(ROOT)}:{line} imports {name}"
                if level(target) > level(unit):
                    bad.append(f"{where} (up: {unit} is below {target})")
                elif any({unit, target} == set(pair) for pair in SIBLINGS):
                    bad.append(f"{where} (siblings {unit} and {target} must not import each other)")
    return bad


def test_every_module_has_a_layer():
    for top in ("fem", "pihamno"):
        for path in (ROOT / top).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            assert name == "pihamno" or unit_of(name) is not None, f"{name} is on no layer of tests/test_layers.py"


def test_imports_run_down_the_layers():
    assert violations() == []


def test_fem_never_imports_pihamno():
    for path in (ROOT / "fem").rglob("*.py"):
        assert not [n for n, _ in imports_of(path) if n.startswith("pihamno")], path


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The test above can fail: an import from evaluation into training is reported."""
    fake = ROOT / "pihamno" / "evaluation" / "_layers_probe.py"
    fake.write_text("from pihamno.training.trainer import Trainer\n")
    try:
        found = violations()
    finally:
        fake.unlink()
    assert any("_layers_probe.py:1 imports pihamno.training.trainer (siblings" in v for v in found)
