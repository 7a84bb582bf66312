"""GridSource: the grid path against the dense path, closed forms, failure paths."""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.errors import (
    InaccurateSolutionWarning,
    InfeasibleDistortionError,
    InvalidArgumentError,
    InvalidDistortionError,
    InvalidDistributionError,
)

warnings.simplefilter("ignore", InaccurateSolutionWarning)


def _gaussian(n, L):
    x = np.linspace(-L, L, n)
    return x, np.exp(-x ** 2 / 2)


def _dense(x, w, f):
    h = (x[-1] - x[0]) / (x.size - 1)
    offsets = (np.arange(x.size)[:, None] - np.arange(x.size)[None, :]) * h
    return rdc.RateDistortion(w / w.sum(), f(offsets), normalize=True)


DISTORTIONS = {"squared": lambda t: t * t, "absolute": np.abs,
               "huber": lambda t: np.where(np.abs(t) < 0.5, t * t, np.abs(t) - 0.25)}


@pytest.mark.parametrize("name", sorted(DISTORTIONS))
def test_matches_the_dense_path(name):
    x, w = _gaussian(61, 3.0)
    f = DISTORTIONS[name]
    grid = rdc.GridSource(x, w, name if name != "huber" else f)
    dense = _dense(x, w, f)
    for D in (0.3 * grid.D_max, 0.6 * grid.D_max):
        g, d = grid.solve(D=D), dense.solve(D=D)
        assert g.certificate.lower <= d.certificate.upper + 1e-12
        assert d.certificate.lower <= g.certificate.upper + 1e-12
        # Blahut–Arimoto converges sublinearly at a support boundary (docs/grid.md).
        assert g.certificate.gap < 1e-3 and abs(g.rate - d.rate) < 1e-3
        assert g.distortion <= D


def test_fft_and_banded_paths_agree():
    x, w = _gaussian(81, 4.0)
    results = [rdc.GridSource(x, w, "absolute", method=m).solve(D=0.2)
               for m in ("fft", "direct")]
    a, b = (r.certificate for r in results)
    assert a.lower <= b.upper and b.lower <= a.upper and abs(a.upper - b.upper) < 1e-7


def test_row_minima_and_D_min_of_a_callable():
    x = np.linspace(0, 1, 40)
    w = np.random.default_rng(0).random(40) + 0.1
    f = lambda t: (t - 0.3) ** 2 + 0.1  # minimum off the diagonal
    src = rdc.GridSource(x, w, f)
    d = _dense(x, w, f)
    assert abs(src.D_min - d.D_min) < 1e-12 and src.D_min >= d.D_min
    assert abs(src.D_max - d.D_max) < 1e-12
    res, ref = src.solve(D=d.D_min + 0.02), d.solve(D=d.D_min + 0.02)
    assert res.certificate.lower <= ref.certificate.upper + 1e-12
    assert ref.certificate.lower <= res.certificate.upper + 1e-12


@pytest.mark.parametrize("D", [0.1, 0.3])
def test_gaussian_against_half_log(D):
    """|R_grid(D) - 1/2 log(1/D)| <= h^2 / (4 D) + tail (docs/grid.md); observed it is far
    smaller (Poisson summation: a sampled Gaussian's moments are exact to e^{-2 pi^2/h^2})
    and at the level of the certified gap for both grids."""
    for n in (121, 241):
        x, w = _gaussian(n, 6.0)
        h = x[1] - x[0]
        res = rdc.GridSource(x, w, "squared").solve(D=D)
        assert res.certificate.gap < 1e-5
        error = abs(res.rate - 0.5 * math.log(1 / D))
        assert error <= h * h / (4 * D) + 1e-7
        assert error <= res.certificate.gap + 1e-7
        # The proven lower side (docs/grid.md): R_grid(D) >= H(p) + log h
        # - 1/2 log(2 pi e (D + h^2/12)), from dithering X_h by U[-h/2, h/2] and the
        # Shannon lower bound of the continuous X_h + U; computed here in mpmath.
        p = [mp.mpf(v) for v in w / w.sum()]
        H = -mp.fsum(v * mp.log(v) for v in p if v > 0)
        floor = H + mp.log(h) - mp.log(2 * mp.pi * mp.e * (D + mp.mpf(h) ** 2 / 12)) / 2
        assert res.certificate.upper >= float(floor)


def test_uniform_squared_error_shannon_lower_bound_and_D_max():
    n = 200
    x = np.linspace(0, 1, n)
    src = rdc.GridSource(x, np.ones(n), "squared")
    h = 1 / (n - 1)  # n even: the best constant output is h/2 from the mean 1/2
    assert abs(src.D_max - ((n + 1) / (12 * (n - 1)) + h * h / 4)) < 1e-12
    excess = []
    for D in (0.04, 0.01, 0.002):
        res = src.solve(D=D)
        slb = -0.5 * math.log(2 * math.pi * math.e * D)
        # R_grid >= SLB - slack (h^2 / D small here); the excess over the SLB closes as
        # D -> 0 (while D stays well above h^2).
        assert res.certificate.upper >= slb - 1e-3
        excess.append(res.certificate.upper - slb)
    assert excess[0] > excess[1] > excess[2] and excess[2] < 0.04
    assert src.solve(D=src.D_max).rate == 0.0


def test_laplacian_absolute_error():
    lam = 1.0
    x = np.linspace(-12, 12, 481)
    src = rdc.GridSource(x, np.exp(-lam * np.abs(x)), "absolute")
    for D in (0.3, 0.6):
        res = src.solve(D=D)
        assert abs(res.rate + math.log(lam * D)) < 3e-3


def test_slope_and_distortion_solves_agree():
    x, w = _gaussian(101, 5.0)
    src = rdc.GridSource(x, w, "squared")
    by_slope = src.solve(slope=2.0)
    by_D = src.solve(D=by_slope.distortion)
    assert by_D.certificate.lower <= by_slope.certificate.upper + 1e-9
    assert by_slope.certificate.lower <= by_D.certificate.upper + 1e-9
    bits = rdc.GridSource(x, w, "squared", units="bits").solve(D=by_slope.distortion)
    assert abs(bits.rate - by_D.rate / math.log(2)) < 1e-6


def test_curve_is_monotone_and_certified():
    x, w = _gaussian(61, 4.0)
    curve = rdc.GridSource(x, w, "squared").curve(num=4, max_iter=1000)
    assert np.all(np.diff(curve.rate) <= 1e-12)
    assert np.all(curve.lower <= curve.upper) and curve.rate[-1] == 0.0


def test_envelope_brackets_dense_solves():
    x, w = _gaussian(25, 3.0)
    src = rdc.GridSource(x, w, "squared")
    band = src.envelope(eps=1e-2, max_solves=80, max_iter=1000)
    assert band.max_gap <= 1e-2
    dense = _dense(x, w, lambda t: t * t)
    for D in (0.02, 0.1, 0.5):
        ref = dense.solve(D=D)
        assert band.lower(D) <= ref.certificate.upper + 1e-12
        assert ref.certificate.lower <= band.upper(D) + 1e-12


def test_failure_paths():
    x = np.linspace(0, 1, 10)
    w = np.ones(10)
    with pytest.raises(InvalidArgumentError, match="uniformly spaced"):
        rdc.GridSource(np.r_[x[:-1], 1.5], w)
    with pytest.raises(InvalidDistributionError, match="negative"):
        rdc.GridSource(x, np.r_[w[:-1], -1.0])
    with pytest.raises(InvalidDistributionError, match="one weight per grid point"):
        rdc.GridSource(x, w[:-1])
    with pytest.raises(InvalidDistortionError, match="negative, NaN"):
        rdc.GridSource(x, w, lambda t: t - 0.5)
    with pytest.raises(InvalidDistortionError, match="negative, NaN"):
        rdc.GridSource(x, w, lambda t: np.where(t > 0, np.nan, 0.0))
    with pytest.raises(InvalidDistortionError, match="shape"):
        rdc.GridSource(x, w, lambda t: t[:3] ** 2)
    with pytest.raises(InvalidDistortionError, match="squared"):
        rdc.GridSource(x, w, "cubic")
    with pytest.raises(InvalidArgumentError, match="units"):
        rdc.GridSource(x, w, units="hartleys")
    src = rdc.GridSource(x, w, lambda t: t * t + 0.5)
    with pytest.raises(InfeasibleDistortionError, match="below D_min"):
        src.solve(D=0.4)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        src.solve()
