"""envelope(): a certified band around the whole curve, valid at every D.

References (independent of the package, mpmath at 30 digits, from the floats exactly):
binary Hamming R(D) = h(p) - h(D) for D < p <= 1/2, else 0 (Cover & Thomas, Thm
10.3.1), with p the exact normalisation of the given floats; the 3-cycle with one
forbidden pair per row and an exactly uniform source, R(D) = ln 3 - h(D) for D <= 1/2
and ln(3/2) beyond (each row is a binary choice at cost 0 or 1, the uniform output is
optimal by symmetry). The bands must bracket them *exactly*: they are proofs.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import matplotlib
import mpmath
import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.errors import InaccurateSolutionWarning, InvalidArgumentError
from rdconvex.problems.envelope import Band, envelope

matplotlib.use("Agg")
mpmath.mp.dps = 30
INF = np.inf
CYCLE = np.array([[0.0, 1.0, INF], [INF, 0.0, 1.0], [1.0, INF, 0.0]])


def h(x):
    x = mpmath.mpf(x)
    if x <= 0 or x >= 1:
        return mpmath.mpf(0)
    return -x * mpmath.log(x) - (1 - x) * mpmath.log(1 - x)


def binary_truth(D, p=(0.7, 0.3)):
    p1 = mpmath.mpf(p[1]) / (mpmath.mpf(p[0]) + mpmath.mpf(p[1]))
    D = mpmath.mpf(D)
    return h(p1) - h(D) if D < p1 else mpmath.mpf(0)


def cycle_truth(D):
    D = mpmath.mpf(D)
    return mpmath.log(3) - h(D) if D <= 0.5 else mpmath.log(mpmath.mpf(3) / 2)


def assert_brackets(band, grid, truth, scale=1):
    lower, upper = band.lower(grid), band.upper(grid)
    for D, lo, hi in zip(grid, lower, upper):
        value = truth(D) * scale
        assert mpmath.mpf(lo) <= value <= mpmath.mpf(hi), (D, lo, value, hi)
    return lower, upper


@pytest.fixture(scope="module", params=[1e-3, 1e-6])
def binary(request):
    problem = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    return problem, envelope(problem, eps=request.param)


def test_binary_band_brackets_the_closed_form_at_every_D(binary):
    _, band = binary
    grid = np.sort(np.random.default_rng(7).uniform(0.0, 0.3, 1000))
    grid = np.r_[0.0, grid, band.points[:, 0], 0.3, 0.31, 5.0]
    lower, upper = assert_brackets(band, grid, binary_truth)
    assert np.all(upper - lower <= band.max_gap)
    assert band.max_gap <= band.eps


def test_binary_solve_counts_are_those_of_a_sandwich(binary):
    # Any piecewise-linear band of width eps built from certified points needs about
    # int sqrt(R''/(4 eps)) dD = 580 points at eps = 1e-6 (docs/envelope.md).
    _, band = binary
    assert band.solves < (60 if band.eps >= 1e-3 else 1000)
    assert len(band.points) == band.solves + 1  # the rate-0 point costs no solve


def test_band_api(binary):
    _, band = binary
    assert isinstance(band, Band)
    assert isinstance(band.upper(0.1), float) and isinstance(band.lower(0.1), float)
    assert band.upper(np.array([[0.1, 0.2]])).shape == (1, 2)
    assert band.lower(-0.1) == band.upper(-0.1) == math.inf  # below D_min: no channel
    assert math.isnan(band.lower(math.nan)) and math.isnan(band.upper(math.nan))
    assert band.lower(math.inf) == band.upper(math.inf) == 0.0
    assert band.upper(0.0) == band.points[0, 1] and band.points[0, 2] == math.inf
    assert np.all(np.diff(band.points[:, 0]) >= 0)
    assert np.all(np.diff(band.lines[:, 0]) < 0)  # steepest first
    assert band.D_min == 0.0 and band.D_end == pytest.approx(0.3)
    assert band.units == "nats" and "solves" in repr(band)
    with pytest.raises(dataclasses.FrozenInstanceError):
        band.solves = 0  # type: ignore[misc]
    ax = band.plot()
    assert ax.get_ylabel() == "R(D) [nats]"


def test_lines_and_points_are_certificates(binary):
    _, band = binary
    grid = np.linspace(0.0, 0.3, 301)
    truth = np.array([float(binary_truth(D)) for D in grid])
    for slope, intercept in band.lines:
        assert np.all(intercept - slope * grid <= truth + 1e-15)
    for D, upper, _ in band.points:
        assert float(binary_truth(D)) <= upper


def test_bits():
    problem = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2), units="bits")
    band = envelope(problem, eps=1e-4)
    assert band.units == "bits" and band.max_gap <= 1e-4
    grid = np.r_[np.linspace(0.0, 0.3, 301), band.points[:, 0]]
    assert_brackets(band, grid, binary_truth, scale=1 / mpmath.log(2))


@pytest.fixture(scope="module", params=[("nats", 1e-6), ("bits", 1e-5)])
def fig3(request):
    # problems/fig3.toml: X ~ Ber(0.25), P_X|U = BSC(0.1).
    units, eps = request.param
    problem = rdc.LogLikelihood([0.75, 0.25], [[0.9, 0.1], [0.1, 0.9]], units=units)
    return problem, envelope(problem, eps=eps)


def test_loglik_fig3_band_agrees_with_a_dense_certified_grid(fig3):
    problem, band = fig3
    assert band.max_gap <= band.eps and band.units == problem.units
    curve = problem.curve(num=41)
    assert np.all(curve.lower <= band.upper(curve.D))
    assert np.all(band.lower(curve.D) <= curve.upper)
    assert band.D_min == pytest.approx(problem.D_min)
    assert band.D_end == pytest.approx(problem.D_max)
    # Theorem 2: R_ll(D) >= H(X) - D, with equality at the special point D* = H(X|U).
    special = problem.special_points().interval[0]
    assert band.upper(special) >= problem.entropy - special
    assert band.lower(special) <= problem.entropy - special + 1e-12


def test_loglik_fig4_straight_piece():
    # problems/fig4.toml: R_ll(D) = H(X) - D on the whole special interval (Cor. 1).
    problem = rdc.LogLikelihood([0.65, 0.35], [[0.8, 0.4, 0.2], [0.2, 0.6, 0.8]])
    band = envelope(problem, eps=1e-5)
    assert band.max_gap <= 1e-5
    low, high = problem.special_points().interval
    grid = np.linspace(low, high, 50)
    line = problem.entropy - grid
    assert np.all(band.lower(grid) <= line + 1e-12)
    assert np.all(line <= band.upper(grid) + 1e-12)
    assert np.all(band.upper(grid) - line <= 1e-5)


def test_infinite_D_max_brackets_the_flat_limit():
    problem = rdc.RateDistortion([1.0, 1.0, 1.0], CYCLE, normalize=True)  # exactly uniform
    assert problem.D_max == math.inf
    band = envelope(problem, eps=1e-4)
    assert band.max_gap <= 1e-4
    assert band.D_end == pytest.approx(0.5)
    grid = np.r_[np.linspace(0.0, 0.5, 501), band.points[:, 0], 0.7, 3.0, 1e6]
    assert_brackets(band, grid, cycle_truth)
    # Beyond D_end the band is flat around ln(3/2), with the same gap.
    flat = math.log(1.5)
    assert band.lower(math.inf) <= flat <= band.upper(math.inf) <= band.lower(math.inf) + 1e-4


def test_max_solves_stops_with_a_warning_and_a_valid_band():
    problem = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    with pytest.warns(InaccurateSolutionWarning, match="max_solves=4"):
        band = envelope(problem, eps=1e-9, max_solves=4)
    assert band.solves == 4 and band.max_gap > 1e-9
    assert_brackets(band, np.linspace(0.0, 0.3, 101), binary_truth)


def test_random_problem_band_is_consistent_with_solves():
    rng = np.random.default_rng(3)
    problem = rdc.RateDistortion(rng.dirichlet(np.ones(6)), rng.random((6, 5)))
    band = envelope(problem, eps=1e-4)
    assert band.max_gap <= 1e-4
    for D in np.linspace(problem.D_min, problem.D_max, 9):
        cert = problem.solve(D=D).certificate
        assert cert.lower <= band.upper(D) and band.lower(D) <= cert.upper


@pytest.mark.parametrize("kwargs, match", [({"eps": 0.0}, "eps"), ({"eps": -1.0}, "eps"),
                                           ({"eps": "x"}, "eps"),
                                           ({"max_solves": 0}, "max_solves")])
def test_bad_arguments(kwargs, match):
    problem = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    with pytest.raises(InvalidArgumentError, match=match):
        envelope(problem, **kwargs)


def test_no_warning_on_success():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        envelope(rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)), eps=1e-3)
