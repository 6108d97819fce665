"""The built-in physical tests (registered with :func:`pihamno.evaluation.physical_registry.register_physical_test`).

Every test lets the reference solver give the first ``T_in`` frames and the reference trajectory and compares the
predictor's rollout with it (docs/evaluation.md has the known answers and why each tolerance is what it is):

=================  ======  ====================================================================================
test               PDE     what is measured, and when the model passes
=================  ======  ====================================================================================
``energy_decay``   any     from two states of another initial-condition family than the data's: the steps
                           where the free energy rises by more than 1e-6 relative (a gradient flow never
                           does; pass: none), and the final energy (pass: within 20% of the reference's energy
                           drop over the predicted frames; no verdict where the reference does not drop)
``sphere``         ac      a sphere ``u = tanh((R0 - r) / (sqrt 2 eps))`` centred in the cube, R0 = 0.25 L and
                           0.3 L (0.5 and 0.6 at L = 2): R from the volume of the + phase, the slope of R^2
                           against t over the predicted frames (sharp-interface law -4; pass: within 15% of the
                           reference's), and whether R decreases monotonically (pass: it does)
``mass``           ch      two states of the data's family (an unseen seed): the largest drift of the mean of u
                           over the predicted frames (pass: <= 1e-4; the scheme conserves it to round-off)
``coarsening``     ch      the same states: the length ``2 pi / k_1`` (first moment of the radially averaged
                           structure factor) grows over the predicted frames; pass: the model's growth is
                           within 50% of the reference's (no verdict where the reference does not grow)
``wavelength``     sh      two states of the data's family: the dominant wavenumber of the radially averaged
                           structure factor at the last frame (linear theory: 1, wavelength 2 pi); pass:
                           within one shell (pi / L) of the reference's
=================  ======  ====================================================================================
"""

from __future__ import annotations

import math

import numpy as np

from pihamno.evaluation import observables as obs
from pihamno.evaluation.physical_registry import Check, Predictor, Setting, TestResult, register_physical_test

#: A step "raises the energy" when E(f + 1) > E(f) + ENERGY_ROUNDOFF |E(f)| (float32 frames: ~1e-7 relative).
ENERGY_ROUNDOFF = 1e-6
FINAL_ENERGY_TOLERANCE = 0.2
SPHERE_SLOPE_TOLERANCE = 0.15
MASS_DRIFT_TOLERANCE = 1e-4
COARSENING_TOLERANCE = 0.5


def _series(x, xlabel: str, ylabel: str, cases: list[str], model, ref, given: float | None = None) -> dict:
    curves = {f"{who}, {c}": np.asarray(y[i], dtype=float).tolist()
              for i, c in enumerate(cases) for who, y in (("reference", ref), ("model", model))}
    return {"x": np.asarray(x, dtype=float).tolist(), "xlabel": xlabel, "ylabel": ylabel, "curves": curves, "given": given}


def _predicted(setting: Setting) -> slice:
    """The frames after the given ones."""
    return slice(setting.T_in, setting.frames)


# --------------------------------------------------------------------------------------------- generic
def energy_rises(e: np.ndarray, start: int) -> np.ndarray:
    """Per trajectory, the number of steps f -> f + 1 (f >= start) with E(f + 1) > E(f) + 1e-6 |E(f)|."""
    e = np.asarray(e, dtype=np.float64)[:, start:]
    return (np.diff(e, axis=1) > ENERGY_ROUNDOFF * np.abs(e[:, :-1])).sum(axis=1)


@register_physical_test("energy_decay")
def energy_decay(setting: Setting, predict: Predictor) -> TestResult:
    """Energy decay from out-of-family states: no rise, and the final energy of the reference."""
    from pihamno.evaluation.physical_curves import FieldCurves

    family = setting.out_of_family()
    ref, pred = setting.pair(setting.initial_conditions(family), predict)
    curves = FieldCurves(setting.description, setting.n)  # the energy evaluate reports
    e_ref, e_pred = curves.energy(ref), curves.energy(pred)
    start = setting.T_in - 1
    checks = []
    for i in range(len(ref)):
        case = f"{family} #{i}"
        rises_m, rises_r = int(energy_rises(e_pred[i : i + 1], start)[0]), int(energy_rises(e_ref[i : i + 1], start)[0])
        checks.append(Check("energy_decay", case, f"steps where E rises (of {setting.frames - setting.T_in})", rises_m,
                            rises_r, "0 (gradient flow)", "0 rises > 1e-6 rel.", rises_m == 0))
        drop = e_ref[i, start] - e_ref[i, -1]
        if drop > 0:
            tol = f"within {FINAL_ENERGY_TOLERANCE:.0%} of the ref. drop {drop:.3g}"
            ok = bool(abs(e_pred[i, -1] - e_ref[i, -1]) <= FINAL_ENERGY_TOLERANCE * drop)
        else:  # a reference at rest: no scale to judge the final energy by
            tol, ok = "none: the reference's energy does not drop", None
        checks.append(Check("energy_decay", case, "final energy", float(e_pred[i, -1]), float(e_ref[i, -1]), "", tol, ok))
    cases = [f"{family} #{i}" for i in range(len(ref))]
    return TestResult(checks, {"energy": _series(setting.times, "t", "free energy E", cases, e_pred, e_ref,
                                                 given=float(setting.times[start]))})


# --------------------------------------------------------------------------------------------- Allen-Cahn
@register_physical_test("sphere", pde="ac")
def shrinking_sphere(setting: Setting, predict: Predictor) -> TestResult:
    """AC shrinking sphere: d(R^2)/dt against the reference's (sharp interface: -4), R monotone."""
    from pihamno.data.initial_conditions import grid_coordinates

    p, L = setting.params, setting.params.L
    X, Y, Z = grid_coordinates(setting.n, L)
    r = np.sqrt((X - L / 2) ** 2 + (Y - L / 2) ** 2 + (Z - L / 2) ** 2)
    radii = (0.25 * L, 0.3 * L)
    u0 = np.stack([np.tanh((R0 - r) / (math.sqrt(2.0) * p.eps)) for R0 in radii])
    ref, pred = setting.pair(u0, predict)
    R_ref, R_pred = obs.sphere_radius(ref, L), obs.sphere_radius(pred, L)
    t, later = setting.times, _predicted(setting)
    checks, cases = [], [f"R0 = {R0:g}" for R0 in radii]
    for i, case in enumerate(cases):
        s_ref, s_pred = obs.slope(t[later], R_ref[i, later] ** 2), obs.slope(t[later], R_pred[i, later] ** 2)
        ok = abs(s_pred - s_ref) <= SPHERE_SLOPE_TOLERANCE * abs(s_ref)
        checks.append(Check("sphere", case, "d(R^2)/dt", s_pred, s_ref, "-4 (sharp interface)",
                            f"within {SPHERE_SLOPE_TOLERANCE:.0%} of the reference", bool(ok)))
        mono = lambda R: bool(np.all(np.diff(R[setting.T_in - 1 :]) < 0))  # noqa: E731
        checks.append(Check("sphere", case, "R decreases monotonically", "yes" if mono(R_pred[i]) else "no",
                            "yes" if mono(R_ref[i]) else "no", "yes", "yes", mono(R_pred[i])))
    return TestResult(checks, {"sphere_radius": _series(t, "t", "R (volume of the + phase)", cases, R_pred, R_ref,
                                                        given=float(t[setting.T_in - 1]))})


# --------------------------------------------------------------------------------------------- Cahn-Hilliard
def _mean_u(u: np.ndarray, L: float) -> np.ndarray:
    from pihamno.stepping import lumped_mass

    m = lumped_mass(u.shape[-1], L, "kuhn").numpy()
    return (np.asarray(u, dtype=np.float64) * m).sum(axis=(-3, -2, -1)) / L**3


@register_physical_test("mass", pde="ch")
def mass_conservation(setting: Setting, predict: Predictor) -> TestResult:
    """CH mass: the mean of u stays where it started."""
    ref, pred = setting.pair(setting.initial_conditions(), predict)
    L = setting.params.L
    m_ref, m_pred = _mean_u(ref, L), _mean_u(pred, L)
    drift = lambda m: np.abs(m[:, setting.T_in:] - m[:, :1]).max(axis=1)  # noqa: E731
    d_ref, d_pred = drift(m_ref), drift(m_pred)
    cases = [f"{setting.spec.ic_family} #{i}" for i in range(len(ref))]
    checks = [Check("mass", c, "max drift of mean u", float(d_pred[i]), float(d_ref[i]), "0 (conserved)",
                    f"<= {MASS_DRIFT_TOLERANCE:g}", bool(d_pred[i] <= MASS_DRIFT_TOLERANCE)) for i, c in enumerate(cases)]
    return TestResult(checks, {"mean_u": _series(setting.times, "t", "mean of u", cases, m_pred, m_ref,
                                                 given=float(setting.times[setting.T_in - 1]))})


@register_physical_test("coarsening", pde="ch")
def coarsening(setting: Setting, predict: Predictor) -> TestResult:
    """CH coarsening: the characteristic length 2 pi / k_1 grows as the reference's does."""
    ref, pred = setting.pair(setting.initial_conditions(), predict)
    L = setting.params.L
    ell_ref, ell_pred = (2 * math.pi / obs.mean_wavenumber(*obs.structure_factor(u, L)) for u in (ref, pred))
    start = setting.T_in - 1
    cases = [f"{setting.spec.ic_family} #{i}" for i in range(len(ref))]
    checks = []
    for i, c in enumerate(cases):
        g_ref, g_pred = ell_ref[i, -1] - ell_ref[i, start], ell_pred[i, -1] - ell_pred[i, start]
        if g_ref > 0:
            tol, ok = f"within {COARSENING_TOLERANCE:.0%} of the reference", abs(g_pred - g_ref) <= COARSENING_TOLERANCE * g_ref
        else:  # no coarsening over this horizon: nothing to compare with
            tol, ok = "none: the reference does not coarsen here", None
        checks.append(Check("coarsening", c, "growth of 2 pi / k_1", float(g_pred), float(g_ref), "> 0 (coarsening)",
                            tol, None if ok is None else bool(ok)))
        checks.append(Check("coarsening", c, "2 pi / k_1 at the last frame", float(ell_pred[i, -1]),
                            float(ell_ref[i, -1])))
    return TestResult(checks, {"length": _series(setting.times, "t", "2 pi / k_1", cases, ell_pred, ell_ref,
                                                 given=float(setting.times[start]))})


# --------------------------------------------------------------------------------------------- Swift-Hohenberg
@register_physical_test("wavelength", pde="sh")
def pattern_wavelength(setting: Setting, predict: Predictor) -> TestResult:
    """SH pattern wavelength: the dominant wavenumber at the last frame (linear theory 1)."""
    ref, pred = setting.pair(setting.initial_conditions(), predict)
    L = setting.params.L
    k, S_ref = obs.structure_factor(ref[:, -1], L)
    _, S_pred = obs.structure_factor(pred[:, -1], L)
    k_ref, k_pred = obs.dominant_wavenumber(k, S_ref), obs.dominant_wavenumber(k, S_pred)
    shell = math.pi / L
    cases = [f"{setting.spec.ic_family} #{i}" for i in range(len(ref))]
    checks = [Check("wavelength", c, "dominant wavenumber", float(k_pred[i]), float(k_ref[i]), "1 (wavelength 2 pi)",
                    f"within one shell ({shell:.3g}) of the reference", bool(abs(k_pred[i] - k_ref[i]) <= shell * (1 + 1e-9)))
              for i, c in enumerate(cases)]
    return TestResult(checks, {"structure_factor": _series(k, "k", "S(k) at the last frame", cases, S_pred, S_ref)})
