"""Physical tests with known answers (pihamno.evaluation.physical_tests): the observables against analytic answers,
the reference solver passing its own tests, persistence failing the sphere, a plugin PDE and its own test, and the
``pihamno physical-tests`` command end to end on a tiny checkpoint."""

import importlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from pihamno.data import DataDescription
from pihamno.data.initial_conditions import grid_coordinates
from pihamno.evaluation import observables as obs
from pihamno.evaluation import physical_tests as pt

# the examples' PDE settings (examples/*.py) at a test's grid size
EXAMPLES = {"ac": dict(eps=0.1, L=2.0, dt=1e-3, ic_family="phase"),
            "ch": dict(eps=0.1, L=2.0, dt=5e-3, ic_family="phase", ic_params='{"length_scale": 0.4}'),
            "sh": dict(eps=0.15, L=15.0, dt=0.3, ic_family="grf")}


def setting(pde, n=8, frames=12, T_in=5, **extra):
    attrs = dict(pde=pde, n=n, frames=frames, trajectories=1, split="kuhn", element="P1", **EXAMPLES.get(pde, {}), **extra)
    return pt.Setting.for_data(DataDescription.from_attrs(attrs), T_in)


def verdicts(report, test=None):
    return [c["passed"] for c in report["checks"] if c["passed"] is not None and (test is None or c["test"] == test)]


# ----------------------------------------------------------------------------------------------- observables
def test_sphere_radius_structure_factor_and_slope_have_their_analytic_values():
    X, Y, Z = grid_coordinates(33, 2.0)
    r = np.sqrt((X - 1) ** 2 + (Y - 1) ** 2 + (Z - 1) ** 2)
    R = obs.sphere_radius(np.stack([np.where(r < R0, 1.0, -1.0) for R0 in (0.4, 0.6)]), 2.0)
    np.testing.assert_allclose(R, [0.4, 0.6], rtol=0.03)  # a voxelised ball at h = 1/16
    assert float(obs.sphere_radius(-np.ones((9, 9, 9)), 2.0)) == 0.0
    # one DCT-I mode: all its power in shell 5, k = 5 pi / L; two modes: the first moment is the power-weighted mean
    u = np.cos(np.pi * 3 * X / 2.0) * np.cos(np.pi * 4 * Y / 2.0)
    k, S = obs.structure_factor(u, 2.0)
    assert float(obs.dominant_wavenumber(k, S)) == pytest.approx(5 * np.pi / 2.0) and np.count_nonzero(S > 1e-20) == 1
    a = np.arange(33)
    counts = np.bincount(np.rint(np.sqrt(a[:, None, None] ** 2 + a[None, :, None] ** 2 + a[None, None, :] ** 2)).astype(int).ravel())
    assert float(S.max()) == pytest.approx(1.0 / counts[5])  # amplitude 1, one mode of the shell
    two = np.cos(np.pi * 2 * X / 2.0) + 2.0 * np.cos(np.pi * 6 * Z / 2.0)
    k, S = obs.structure_factor(two, 2.0)
    w2, w6 = 1.0 / counts[2], 4.0 / counts[6]  # shell means: power / number of modes in the shell
    assert float(obs.mean_wavenumber(k, S)) == pytest.approx((2 * w2 + 6 * w6) / (w2 + w6) * np.pi / 2.0)
    t = np.linspace(0, 1, 7)
    assert obs.slope(t, 3.0 - 4.0 * t) == pytest.approx(-4.0)


def test_the_reference_solver_at_n16_gives_the_documented_sphere_slopes():
    """docs/evaluation.md: -3.67 and -3.61 at n = 16, dt 1e-3 (the sharp-interface law is -4)."""
    s = setting("ac", n=16, frames=41)
    rep = pt.run_physical_tests(s, pt.solver_predictor(s), ["sphere"])
    slopes = [c["reference"] for c in rep["checks"] if c["quantity"] == "d(R^2)/dt"]
    np.testing.assert_allclose(slopes, [-3.672, -3.610], atol=2e-3)


# ----------------------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("pde, n", [("ac", 8), ("ch", 8), ("sh", 12)])
def test_the_reference_solver_passes_its_own_physical_tests(pde, n):
    s = setting(pde, n=n)
    rep = pt.run_physical_tests(s, pt.solver_predictor(s))
    names = {t["name"] for t in rep["tests"]}
    assert names == {"energy_decay"} | {"ac": {"sphere"}, "ch": {"mass", "coarsening"}, "sh": {"wavelength"}}[pde]
    assert rep["failed"] == 0 and rep["passed"] >= 4, pt.format_table(rep)
    json.dumps(rep)  # the report is plain data


def test_persistence_fails_the_sphere_and_the_final_energy():
    s = setting("ac")
    rep = pt.run_physical_tests(s, pt.persistence_predictor())
    assert verdicts(rep, "sphere") == [False] * 4  # no slope, no monotone shrinking, both radii
    final = [c for c in rep["checks"] if c["quantity"] == "final energy"]
    assert all(c["passed"] is False for c in final)
    rises = [c for c in rep["checks"] if c["quantity"].startswith("steps where E rises")]
    assert all(c["model"] == 0 and c["passed"] for c in rises)  # doing nothing never raises the energy


def test_a_model_that_raises_the_energy_fails_and_says_by_how_much():
    s = setting("ac")
    solver = pt.solver_predictor(s)

    def noisy(given, frames):  # the solver's rollout with growing noise on every predicted frame
        out = solver(given, frames)
        rng = np.random.default_rng(0)
        out[:, given.shape[1]:] += 0.05 * rng.standard_normal(out[:, given.shape[1]:].shape).astype(np.float32)
        return out

    rep = pt.run_physical_tests(s, noisy, ["energy_decay"])
    rises = [c for c in rep["checks"] if c["quantity"].startswith("steps where E rises")]
    assert all(c["model"] > 0 and c["reference"] == 0 and c["passed"] is False for c in rises)


def test_the_coarsening_check_needs_a_coarsening_reference():
    s = setting("ch")
    rep = pt.run_physical_tests(s, pt.persistence_predictor(), ["coarsening", "mass"])
    growth = [c for c in rep["checks"] if c["quantity"].startswith("growth")]
    assert all(c["model"] == 0.0 for c in growth)
    assert all(c["passed"] is (False if c["reference"] > 0 else None) for c in growth)
    assert verdicts(rep, "mass") == [True, True]  # persistence conserves mass exactly


def test_unknown_test_names_and_short_rollouts_are_refused():
    s = setting("ac")
    with pytest.raises(Exception, match="unknown physical test 'wavelength' for ac"):
        pt.run_physical_tests(s, pt.persistence_predictor(), ["wavelength"])
    with pytest.raises(Exception, match="at least T_in \\+ 3 = 8 frames"):
        setting("ac", frames=7)


def test_a_plugin_pde_gets_the_generic_tests_and_can_register_its_own():
    sys.path.insert(0, str(Path(__file__).parent / "plugins"))
    from fem.pde import unregister_pde

    importlib.import_module("heat_equation")
    try:
        @pt.register_physical_test("heat_mean", pde="heat")
        def heat_mean(setting, predict):
            """Heat: int u is conserved."""
            from pihamno.stepping import lumped_mass

            ref, pred = setting.pair(setting.initial_conditions(count=1), predict)
            m = lumped_mass(setting.n, setting.params.L).numpy()
            drift = float(abs((m * pred[0, -1]).sum() - (m * pred[0, 0]).sum()))
            return pt.TestResult([pt.Check("heat_mean", "grf #0", "drift of int u", drift, 0.0, "0", "<= 1e-4",
                                           drift <= 1e-4)])

        s = setting("heat", dt=1e-2, eps=0.1, L=2.0)
        assert [t.name for t in pt.tests_for("heat")] == ["energy_decay", "heat_mean"]
        assert [t.name for t in pt.tests_for("ac")] == ["energy_decay", "sphere"]
        rep = pt.run_physical_tests(s, pt.solver_predictor(s))
        assert rep["failed"] == 0 and {c["test"] for c in rep["checks"]} == {"energy_decay", "heat_mean"}
    finally:
        pt.unregister_physical_test("heat_mean")
        unregister_pde("heat")
        sys.modules.pop("heat_equation", None)
        sys.path.remove(str(Path(__file__).parent / "plugins"))


# ----------------------------------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A width-2 HAMNO trained for 2 steps on AC data (n = 8, dt 1e-3, 12 frames)."""
    from tiny_runs import tiny_run_toml

    from fem.schemes import preset
    from pihamno.cli import main
    from pihamno.data import DatasetSpec, generate

    root = tmp_path_factory.mktemp("tiny")
    data = generate(DatasetSpec(preset("ac", dt=1e-3), 8, frames=12, trajectories=7), root / "ac.h5", progress=False)
    (root / "tiny.toml").write_text(tiny_run_toml(data, root / "run"))
    assert main(["train", "--config", str(root / "tiny.toml"), "--quiet"]) == 0
    return root


def test_the_command_runs_end_to_end_on_a_tiny_checkpoint(tiny_checkpoint, capsys):
    from pihamno.cli import main

    root = tiny_checkpoint
    out = root / "physical"
    assert main(["physical-tests", "--checkpoint", str(root / "run" / "best.pt"), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "physical tests of hamno, lambda 0: Allen-Cahn" in text and "d(R^2)/dt" in text
    rep = json.loads((out / "physical_tests.json").read_text())
    assert rep["setting"]["n"] == 8 and rep["setting"]["T_in"] == 5 and rep["setting"]["frames"] == 12
    assert {c["test"] for c in rep["checks"]} == {"energy_decay", "sphere"}
    assert sorted(p.name for p in out.glob("*.png")) == ["physical_energy.png", "physical_sphere_radius.png"]
    # the baselines on the same data, one test, no plots
    assert main(["physical-tests", "--baseline", "solver", "--data", str(root / "ac.h5"), "--tests", "sphere",
                 "--out", str(root / "solver"), "--no-plots", "--quiet"]) == 0
    solver = json.loads((root / "solver" / "physical_tests.json").read_text())
    assert solver["failed"] == 0 and solver["model"] == "reference solver" and not list((root / "solver").glob("*.png"))


@pytest.mark.parametrize("argv, message", [
    (["--out", "X"], "needs --checkpoint CKPT or --baseline"),
    (["--baseline", "persistence", "--out", "X"], "needs --data FILE"),
    (["--checkpoint", "CKPT", "--baseline", "solver", "--out", "X"], "one of them"),
    (["--checkpoint", "CKPT"], "needs --out DIR"),
    (["--checkpoint", "CKPT", "--tests", "wavelength", "--out", "X"], "unknown physical test 'wavelength' for ac"),
])
def test_the_command_refuses_bad_input_with_one_line_and_writes_nothing(tiny_checkpoint, capsys, argv, message):
    from pihamno.cli import main

    root = tiny_checkpoint
    argv = [str(root / "run" / "best.pt") if a == "CKPT" else str(root / "bad") if a == "X" else a for a in argv]
    assert main(["physical-tests", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (root / "bad").exists()


def test_an_existing_output_is_kept_without_overwrite(tiny_checkpoint, capsys):
    from pihamno.cli import main

    root = tiny_checkpoint
    args = ["physical-tests", "--baseline", "persistence", "--data", str(root / "ac.h5"), "--tests", "sphere",
            "--no-plots", "--quiet", "--out", str(root / "keep")]
    assert main(args) == 0
    before = (root / "keep" / "physical_tests.json").read_text()
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert (root / "keep" / "physical_tests.json").read_text() == before
    assert main([*args, "--overwrite"]) == 0
    assert math.isclose(json.loads(before)["failed"], 4)
