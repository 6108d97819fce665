"""Physical tests with known answers, for any predictor of trajectories: a trained model, the reference solver, or
persistence. The framework (setting, predictors, registry) is :mod:`pihamno.evaluation.physical_registry`, the
built-in tests :mod:`pihamno.evaluation.physical_cases`; this module runs them.

A test makes initial conditions on the data's grid, lets the reference solver (:func:`fem.solvers.simulate`, on the
data's own mesh, element, PDE parameters and dt) give the first ``T_in`` frames and the reference trajectory, lets
the predictor roll out from those frames, and measures a physical quantity on both (:mod:`.observables`). It
returns :class:`Check` rows -- the model's value, the reference's, the known answer where one exists, the stated
tolerance and whether the model passes -- and series for the plots. A model failing a test is a result, not an
error.

:func:`tests_for` lists what runs for a PDE (generic tests first), :func:`run_physical_tests` runs them and returns
the report written to ``physical_tests.json``, :func:`format_table` prints it. The registry's names are
re-exported here (``from pihamno.evaluation.physical_tests import register_physical_test, Check, TestResult``).
"""

from __future__ import annotations

import math
from dataclasses import asdict

import pihamno.evaluation.physical_cases  # noqa: F401 - registers the built-in tests
from pihamno.errors import InputError
from pihamno.evaluation.physical_registry import (
    Check,
    PhysicalTest,
    Predictor,
    Setting,
    TestResult,
    model_predictor,
    persistence_predictor,
    register_physical_test,
    solver_predictor,
    tests_for,
    unregister_physical_test,
)

__all__ = ["Check", "PhysicalTest", "Predictor", "Setting", "TestResult", "format_table", "model_predictor",
           "persistence_predictor", "register_physical_test", "run_physical_tests", "select_tests", "solver_predictor",
           "tests_for", "unregister_physical_test"]


def select_tests(pde: str, names: list[str] | None = None) -> list[PhysicalTest]:
    """:func:`tests_for` ``pde``, or those of them named in ``names`` (an unknown name is refused)."""
    available = tests_for(pde)
    if names is None:
        return available
    known = {t.name for t in available}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"unknown physical test {unknown[0]!r} for {pde}; expected one of {', '.join(sorted(known))}")
    return [t for t in available if t.name in names]


# --------------------------------------------------------------------------------------------- running
def run_physical_tests(setting: Setting, predict: Predictor, names: list[str] | None = None, log=None) -> dict:
    """Run the tests for the setting's PDE (all of :func:`tests_for`, or those in ``names``) on ``predict``.

    Returns ``{"setting", "tests", "checks" (rows of :class:`Check`), "series", "passed", "failed"}``.
    """
    available = select_tests(setting.params.pde, names)
    checks, series = [], {}
    for test in available:
        if log is not None:
            log(f"  {test.name}: {test.title}")
        result = test.fn(setting, predict)
        checks += result.checks
        series |= result.series
    verdicts = [c.passed for c in checks if c.passed is not None]
    p = setting.params
    return {"setting": {"pde": p.pde, "eps": p.eps, "L": p.L, "dt": p.dt, "n": setting.n, "frames": setting.frames,
                        "T_in": setting.T_in, "mesh": setting.spec.mesh_file or setting.spec.split,
                        "element": setting.spec.element, "text": setting.describe()},
            "tests": [{"name": t.name, "pde": t.pde, "title": t.title} for t in available],
            "checks": [asdict(c) for c in checks], "series": series,
            "passed": sum(v is True for v in verdicts), "failed": sum(v is False for v in verdicts)}


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.4g}"


def format_table(report: dict, title: str = "") -> str:
    """The console table of a report: one row per check, pass / FAIL / info."""
    rows = [(c["test"], c["case"], c["quantity"], _cell(c["model"]), _cell(c["reference"]), c["known"] or "-",
             c["tolerance"] or "-", {True: "pass", False: "FAIL", None: "info"}[c["passed"]]) for c in report["checks"]]
    head = ("test", "case", "quantity", "model", "reference", "known", "pass when", "result")
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda r: "  " + "  ".join(f"{x:<{w}}" for x, w in zip(r, widths))  # noqa: E731
    out = [title or f"physical tests: {report['setting']['text']}", line(head)] + [line(r) for r in rows]
    out.append(f"  {report['passed']} passed, {report['failed']} failed")
    return "\n".join(out)
