"""pihamno.data.initial_conditions: seeded families, the cosine-basis spectrum, per-PDE defaults, OOD shapes."""

import math

import numpy as np
import pytest
import scipy.fft

from fem import InputError
from pihamno.data.initial_conditions import (
    FAMILIES,
    cosine_spectrum,
    default_family,
    gaussian_random_field,
    grid_coordinates,
    parse_param,
    pointwise_std,
    resolve_params,
    sample,
    trajectory_rng,
)

L = {"ac": 2.0, "ch": 2.0, "sh": 15.0}


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_is_seeded_finite_and_shaped(family, pde):
    params = resolve_params(family, pde)
    a = sample(family, trajectory_rng(7, 3), 9, L[pde], params)
    b = sample(family, trajectory_rng(7, 3), 9, L[pde], params)
    assert a.shape == (9, 9, 9) and a.dtype == np.float64 and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    if family != "sphere":  # the sphere is deterministic
        assert not np.array_equal(a, sample(family, trajectory_rng(7, 4), 9, L[pde], params))
    if family not in ("grf", "grf-fine", "grf-coarse"):
        assert np.abs(a).max() <= 1.0


def test_grf_is_a_cosine_series_with_the_requested_spectrum():
    """Undoing the pointwise normalisation, the DCT-I coefficients divided by the amplitude spectrum are white
    noise; a spectrum one power off would not be."""
    n, Lx, ell, decay = 24, 2.0, 0.3, 3.0
    amp = cosine_spectrum(n, Lx, ell, decay)
    g = gaussian_random_field(np.random.default_rng(1), n, Lx, ell, decay)
    c = scipy.fft.dctn(g * pointwise_std(amp), type=1)
    kappa = np.pi * np.arange(n) / Lx
    k2 = kappa[:, None, None] ** 2 + kappa[None, :, None] ** 2 + kappa[None, None, :] ** 2
    assert abs(c[0, 0, 0]) < 1e-9 * np.abs(c).max()  # no mean mode
    white = c[k2 > 0] / amp[k2 > 0]
    shells = np.sqrt(k2[k2 > 0])
    low, high = white[shells < np.median(shells)], white[shells >= np.median(shells)]
    assert np.std(high) / np.std(low) == pytest.approx(1.0, abs=0.1)
    wrong = (c / (1 + ell**2 * k2) ** (-(decay - 1) / 2))[k2 > 0]  # one power off: clearly not white
    assert np.std(wrong[shells >= np.median(shells)]) / np.std(wrong[shells < np.median(shells)]) < 0.7


def test_grf_has_unit_variance_at_every_node_corners_included():
    """A raw cosine series has 8x the variance at the corners; the normalised field is N(0, 1) everywhere."""
    n, samples = 7, 600
    S = np.stack([gaussian_random_field(np.random.default_rng(i), n, 2.0, 0.3, 3.0) for i in range(samples)])
    var = S.var(axis=0)
    tol = 4 * np.sqrt(2 / samples)  # 4 sigma of a variance estimate
    for where in [(0, 0, 0), (0, 0, 3), (0, 3, 3), (3, 3, 3), (6, 6, 6)]:
        assert var[where] == pytest.approx(1.0, abs=tol), where
    raw = np.stack([scipy.fft.idctn(cosine_spectrum(n, 2.0, 0.3, 3.0) * np.random.default_rng(i).standard_normal((n,) * 3), type=1)
                    for i in range(samples)]).var(axis=0)
    assert raw[0, 0, 0] / raw[3, 3, 3] > 4  # what the normalisation removes


def test_length_scale_shifts_for_the_ood_families():
    """Gradient rms scales like 1 / length: x 0.5 (fine) and x 2 (coarse) give a ratio of about 4 between them."""
    def grad_rms(family):
        g = []
        for i in range(3):
            u = sample(family, trajectory_rng(0, i), 33, 15.0, resolve_params(family, "sh"))
            g.append(np.sqrt(np.mean(sum(d**2 for d in np.gradient(u, 15.0 / 32)))))
        return np.mean(g)

    ratio = grad_rms("grf-fine") / grad_rms("grf-coarse")
    assert 2.5 < ratio < 5.0
    assert grad_rms("grf-fine") > grad_rms("grf") > grad_rms("grf-coarse")


def test_phase_defaults_ac_symmetric_ch_shifted_sh_small():
    means = {pde: np.mean([sample(default_family(pde), trajectory_rng(0, i), 20, L[pde],
                                  resolve_params(default_family(pde), pde)).mean() for i in range(4)]) for pde in L}
    assert abs(means["ac"]) < 0.15 and -0.35 < means["ch"] < -0.1
    sh = np.stack([sample("grf", trajectory_rng(0, i), 20, 15.0, resolve_params("grf", "sh")) for i in range(4)])
    assert sh.std() == pytest.approx(0.25, rel=0.1) and np.abs(sh).max() < 1.5
    hard = sample("phase", trajectory_rng(0, 0), 12, 2.0, resolve_params("phase", "ac", {"width": 0}))
    assert set(np.unique(hard)) == {-1.0, 1.0}


def test_phase_interface_has_the_equilibrium_width():
    """Across the zero level set |grad u| ~ 1/width (tanh profile of width sqrt(2) eps): median within 40%."""
    n, Lx = 49, 2.0
    p = resolve_params("phase", "ac", {"length_scale": 0.6})
    u = sample("phase", trajectory_rng(2, 0), n, Lx, p)
    grad = np.sqrt(sum(d**2 for d in np.gradient(u, Lx / (n - 1))))
    slope = np.median(grad[np.abs(u) < 0.1])
    assert p["width"] == pytest.approx(math.sqrt(2) * 0.1)
    assert slope * p["width"] == pytest.approx(1.0, rel=0.4)


def test_sphere_profile_and_volume():
    n, Lx, R, eps = 41, 2.0, 0.5, 0.05
    p = resolve_params("sphere", "ch", eps=eps)
    assert p["radius"] == 0.5 and p["width"] == pytest.approx(math.sqrt(2) * eps)
    u = sample("sphere", trajectory_rng(0, 0), n, Lx, p)
    X, Y, Z = grid_coordinates(n, Lx)
    r = np.sqrt((X - 1) ** 2 + (Y - 1) ** 2 + (Z - 1) ** 2)
    np.testing.assert_allclose(u, np.tanh((R - r) / (math.sqrt(2) * eps)), rtol=0, atol=1e-15)
    volume = np.sum(u > 0) * (Lx / (n - 1)) ** 3
    assert volume == pytest.approx(4 / 3 * math.pi * R**3, rel=0.05)
    off = sample("sphere", None, n, Lx, resolve_params("sphere", "ac", {"cx": 0.0, "cy": 0.0, "cz": 0.0}))
    assert off[0, 0, 0] > 0.99 and off[-1, -1, -1] < -0.99


def test_resolve_params_errors_and_overrides():
    p = resolve_params("spheres", "ac", {"count": 2.0, "rmin": 0.1})
    assert p["count"] == 2 and isinstance(p["count"], int) and p["rmin"] == 0.1 and p["rmax"] == 0.6
    assert resolve_params("phase", "sh")["length_scale"] == 1.0
    for fam, pde, over, match in [
        ("blob", "ac", {}, "unknown initial-condition family"),
        ("grf", "kdv", {}, "unknown PDE"),
        ("grf", "ac", {"radius": 1.0}, "has no parameter 'radius'"),
        ("grf", "ac", {"length_scale": -1.0}, "positive number"),
        ("sphere", "ac", {"radius": 0.0}, "positive number"),
        ("ellipsoid", "ac", {"rmin": 0.9, "rmax": 0.5}, "exceeds rmax"),
    ]:
        with pytest.raises(InputError, match=match):
            resolve_params(fam, pde, over)
    with pytest.raises(InputError, match="n must be"):
        sample("grf", trajectory_rng(0, 0), 2, 1.0, resolve_params("grf", "ac"))


def test_parse_param():
    assert parse_param("count=3") == ("count", 3)
    assert parse_param(" level = -0.25 ") == ("level", -0.25)
    assert parse_param("cx=none") == ("cx", None)
    for bad in ["level", "=1", "level=", "level=abc"]:
        with pytest.raises(InputError):
            parse_param(bad)
