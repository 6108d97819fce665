"""Physical observables of grid fields with known answers: the radius of a sphere, the structure factor and its
wavenumbers, and least-squares slopes of time series.

Fields live on the n^3 node grid of [0, L]^3 (docs/design.md section 2.1); arrays are numpy, any leading shape.

* :func:`sphere_radius` -- the radius of the + phase of a one-sphere field from its volume, with the lumped
  weights m of the ``kuhn`` grid mesh: ``V = sum_i m_i (1 + clip(u_i, -1, 1)) / 2``, ``R = (3 V / (4 pi))^(1/3)``
  (a sphere centred in the cube, entirely inside it);
* :func:`structure_factor` -- the radially averaged power spectrum of ``u - mean(u)`` in the cosine (Neumann)
  basis of the node grid, the DCT-I modes ``cos(pi a x / L) cos(pi b y / L) cos(pi c z / L)`` (the basis of the
  initial conditions, :mod:`pihamno.data.initial_conditions`): shell ``s = round(sqrt(a^2 + b^2 + c^2))``,
  ``s >= 1``, at wavenumber ``k_s = pi s / L`` (shell width ``pi / L``), ``S(k_s)`` the mean squared amplitude of
  its modes;
* :func:`dominant_wavenumber` (the shell of largest S) and :func:`mean_wavenumber` (the first moment
  ``k_1 = sum k S / sum S``; ``2 pi / k_1`` is a characteristic length of a coarsening pattern);
* :func:`slope` -- least-squares slope of y against t.

>>> import numpy as np
>>> from pihamno.data.initial_conditions import grid_coordinates
>>> X, Y, Z = grid_coordinates(33, 2.0)
>>> r = np.sqrt((X - 1) ** 2 + (Y - 1) ** 2 + (Z - 1) ** 2)
>>> round(float(sphere_radius(np.tanh((0.5 - r) / 0.02), 2.0)), 2)
0.5
>>> k, S = structure_factor(np.cos(np.pi * 4 * X / 2.0), 2.0)
>>> float(dominant_wavenumber(k, S)) == np.pi * 4 / 2.0
True
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.fft


@functools.lru_cache(maxsize=8)
def _weights(n: int, L: float) -> np.ndarray:
    from pihamno.stepping import lumped_mass

    return lumped_mass(n, L, "kuhn").numpy()


def sphere_radius(u, L: float) -> np.ndarray:
    """Radius of the + phase from its volume (module docstring): fields (..., n, n, n) -> (...)."""
    u = np.asarray(u, dtype=np.float64)
    m = _weights(u.shape[-1], float(L))
    volume = (m * (1.0 + np.clip(u, -1.0, 1.0)) / 2.0).sum(axis=(-3, -2, -1))
    return np.cbrt(3.0 * volume / (4.0 * math.pi))


@functools.lru_cache(maxsize=8)
def _shells(n: int) -> np.ndarray:
    a = np.arange(n)
    A, B, C = np.meshgrid(a, a, a, indexing="ij")
    return np.rint(np.sqrt(A**2 + B**2 + C**2)).astype(np.int64)


@functools.lru_cache(maxsize=8)
def _dct_scale(n: int) -> np.ndarray:
    """What scipy's unnormalised DCT-I gives per mode for a unit amplitude: (n - 1), twice that at k = 0 and n - 1."""
    w = np.full(n, n - 1.0)
    w[[0, -1]] *= 2.0
    return w[:, None, None] * w[None, :, None] * w[None, None, :]


def structure_factor(u, L: float) -> tuple[np.ndarray, np.ndarray]:
    """``(k, S)``: the shells' wavenumbers (n_shells,) and the radially averaged power of ``u - mean`` (..., n_shells)
    (module docstring): the squared amplitudes ``a^2`` of ``u = sum a_abc cos(pi a x / L) cos(pi b y / L) cos(pi c z / L)``
    on the node grid (exact: the DCT-I), averaged over the modes of each shell."""
    u = np.asarray(u, dtype=np.float64)
    n = u.shape[-1]
    c = scipy.fft.dctn(u, type=1, axes=(-3, -2, -1)) / _dct_scale(n)
    c[..., 0, 0, 0] = 0.0  # the mean
    shell = _shells(n).ravel()
    power = (c * c).reshape(*u.shape[:-3], -1)
    count = np.bincount(shell)
    sums = np.stack([np.bincount(shell, weights=p, minlength=count.size) for p in power.reshape(-1, power.shape[-1])])
    S = (sums / np.maximum(count, 1)).reshape(*u.shape[:-3], count.size)[..., 1:]
    k = math.pi * np.arange(1, count.size) / float(L)
    return k, S


def dominant_wavenumber(k: np.ndarray, S: np.ndarray) -> np.ndarray:
    """The wavenumber of the shell with the largest S: (..., n_shells) -> (...)."""
    return np.asarray(k)[np.argmax(S, axis=-1)]


def mean_wavenumber(k: np.ndarray, S: np.ndarray) -> np.ndarray:
    """The first moment ``sum k S / sum S``: (..., n_shells) -> (...)."""
    return (S * k).sum(axis=-1) / S.sum(axis=-1)


def slope(t, y) -> float:
    """Least-squares slope of y (F,) against t (F,)."""
    t, y = np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64)
    tc = t - t.mean()
    return float((tc * (y - y.mean())).sum() / (tc * tc).sum())
