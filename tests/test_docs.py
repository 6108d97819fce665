"""The docs cannot drift silently from the code: every Python name and every file they cite exists.

Read: README.md, docs/*.md and examples/README.md, in backticks (inline spans and fenced code blocks). Checked:

* every dotted reference that starts with a package of this repository (``fem.mesh.MeshChoice``,
  ``pihamno.training.train``, ``pihamno.data.DataDescription.loss_discretisation``): the longest prefix that is a
  module is imported and the rest looked up attribute by attribute;
* every ``from fem... import a, b`` / ``from pihamno... import a, b``: each name exists in that module;
* every repository file (``pihamno/...``, ``fem/...``, ``tests/...``, ``bench/...``, ``examples/...``,
  ``scripts/...``, ``meshes/...``, ``docs/...`` with a file suffix) exists, and a ``tests/x.py::test_name`` names a
  function of that file (globs and ``<placeholders>`` are skipped; so are folders, which may name the outputs of
  a run, such as ``pihamno/eval/`` under an example's output folder).

The names of the plugins' entry-point groups (``pihamno.pdes``, ...: :data:`pihamno.plugins.ENTRY_POINT_GROUPS`)
look like module paths and are not checked as such.

The docstrings of ``fem`` and ``pihamno`` are held to the same rule for their Sphinx roles
(``:func:`pihamno.training.train```, ``:class:`~fem.mesh.MeshChoice```).

A failure lists every broken reference as ``file:line: reference (why)``, so a move that leaves a citation
behind is caught where it is made.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from pihamno.plugins import ENTRY_POINT_GROUPS

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "examples" / "README.md"]
PACKAGES = ("fem", "pihamno")
FOLDERS = ("pihamno", "fem", "tests", "bench", "examples", "scripts", "meshes", "docs")

FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
SPAN = re.compile(r"`([^`\n]+)`")
DOTTED = re.compile(r"(?<![\w./-])((?:%s)(?:\.[A-Za-z_]\w*)+)" % "|".join(PACKAGES))
FROM_IMPORT = re.compile(r"\bfrom\s+((?:%s)(?:\.\w+)*)\s+import\s+(?:\(([^)]*)\)|([\w \t,]+))" % "|".join(PACKAGES))
ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc):`~?((?:%s)(?:\.\w+)+)`" % "|".join(PACKAGES))
PATH = re.compile(r"(?<![\w./-])((?:%s)/[\w./-]*\.[A-Za-z]\w*(?:::\w+)?)" % "|".join(FOLDERS))


def snippets(text: str):
    """``(line, code)`` of every fenced block and every inline backtick span of a Markdown text."""
    for m in FENCE.finditer(text):
        yield text.count("\n", 0, m.start()) + 2, m.group(1)
    rest = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for m in SPAN.finditer(rest):
        yield rest.count("\n", 0, m.start()) + 1, m.group(1)


def resolve(dotted: str) -> str | None:
    """None when ``dotted`` names a module or an attribute reachable from one, else why not.

    A function or class cited through a plain module (not a package's ``__init__``) must be defined there or
    be in its ``__all__`` (a deliberate re-export): a name that module only imports is cited at its old home
    (``fem.solvers.grid_eigenvalues`` after the function moved to ``fem.grid``)."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:k]))
        except ModuleNotFoundError:
            continue
        obj = module
        for i, name in enumerate(parts[k:], start=k):
            try:
                obj = getattr(obj, name)
            except AttributeError:
                return f"{'.'.join(parts[:i])} has no {name!r}"
        if k < len(parts) and not hasattr(module, "__path__") and parts[k] not in getattr(module, "__all__", ()):
            home = getattr(getattr(module, parts[k]), "__module__", None)
            if isinstance(home, str) and home.split(".")[0] in PACKAGES and home != module.__name__:
                return f"defined in {home}, only imported by {module.__name__}"
        return None
    return "no such module"


def defined_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def check_path(ref: str) -> str | None:
    if any(c in ref for c in "*<>{}"):
        return None
    file, _, name = ref.partition("::")
    path = ROOT / file.rstrip(".")
    if not path.exists():
        return "no such file or folder"
    if name and name not in defined_names(path):
        return f"{file} defines no {name!r}"
    return None


def broken_references(docs=DOCS) -> list[str]:
    bad = []
    for doc in docs:
        where = doc.relative_to(ROOT)
        for line, code in snippets(doc.read_text()):
            for m in FROM_IMPORT.finditer(code):
                names = [n.strip() for n in (m.group(2) or m.group(3)).replace("\n", " ").split(",") if n.strip()]
                for name in names:
                    why = resolve(f"{m.group(1)}.{name.split()[0]}")
                    if why:
                        bad.append(f"{where}:{line}: from {m.group(1)} import {name} ({why})")
            for ref in dict.fromkeys(DOTTED.findall(code)):
                if ref in ENTRY_POINT_GROUPS:  # the names of the plugins' entry-point groups are not modules
                    continue
                why = resolve(ref)
                if why:
                    bad.append(f"{where}:{line}: {ref} ({why})")
            for ref in dict.fromkeys(PATH.findall(code)):
                why = check_path(ref)
                if why:
                    bad.append(f"{where}:{line}: {ref} ({why})")
    return bad


def test_every_reference_in_the_docs_resolves():
    bad = broken_references()
    assert not bad, "references in the docs that do not resolve:\n" + "\n".join(bad)


def test_every_reference_in_the_docstrings_resolves():
    bad = []
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            text = path.read_text()
            for m in ROLE.finditer(text):
                why = resolve(m.group(1))
                if why:
                    bad.append(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(1)} ({why})")
    assert not bad, "docstring references that do not resolve:\n" + "\n".join(bad)


def test_the_checker_sees_a_dangling_reference(tmp_path, monkeypatch):
    """The test above can fail: a moved function, a missing file and a missing test are each reported."""
    doc = ROOT / "docs" / "_probe.md"
    doc.write_text("Moved: `pihamno.config.train`, `from pihamno.config import evaluate_checkpoint`, `fem.solvers.trapezoid_weights`,\n"
                   "`tests/no_such_file.py`, `tests/test_docs.py::no_such_test`; fine: `pihamno.training.train`,\n"
                   "```python\nfrom fem.mesh import MeshChoice, no_such_name\n```\n")
    try:
        found = broken_references([doc])
    finally:
        doc.unlink()
    assert found == [
        "docs/_probe.md:4: from fem.mesh import no_such_name (fem.mesh has no 'no_such_name')",
        "docs/_probe.md:1: pihamno.config.train (pihamno.config has no 'train')",
        "docs/_probe.md:1: from pihamno.config import evaluate_checkpoint (pihamno.config has no 'evaluate_checkpoint')",
        "docs/_probe.md:1: fem.solvers.trapezoid_weights (defined in fem.grid, only imported by fem.solvers)",
        "docs/_probe.md:2: tests/no_such_file.py (no such file or folder)",
        "docs/_probe.md:2: tests/test_docs.py::no_such_test (tests/test_docs.py defines no 'no_such_test')",
    ], found
