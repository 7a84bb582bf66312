"""RateDistortion.curve: certified, monotone, convex; grids, units, plotting, errors.

Reference: binary Hamming R(D) = h(p) - h(D) for D < min(p, 1-p), else 0 (Cover &
Thomas, Thm 10.3.1).
"""

from __future__ import annotations

import math
import warnings

import matplotlib
import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.closed_forms import binary_hamming_rate
from rdconvex.problems.curve import END_SLOPE

from ..conftest import random_problem

matplotlib.use("Agg")


def _check_shape(curve, tol=1e-9):
    """Certified, non-increasing, convex (up to the certified gaps)."""
    assert np.all(curve.lower <= curve.upper)
    assert np.all(curve.gap <= tol)
    np.testing.assert_array_equal(curve.rate, curve.upper)
    assert np.all(np.diff(curve.D) > 0)
    assert np.all(np.diff(curve.rate) <= tol)
    # Convexity: every interior point lies below the chord of its neighbours.
    D, R = curve.D, curve.rate
    chord = R[:-2] + (R[2:] - R[:-2]) * (D[1:-1] - D[:-2]) / (D[2:] - D[:-2])
    assert np.all(R[1:-1] <= chord + 2 * tol)
    assert np.all(curve.distortion <= curve.D + 1e-12)


def test_binary_hamming_curve_matches_closed_form():
    p = 0.3
    prob = rdc.RateDistortion([1 - p, p], 1 - np.eye(2))
    curve = prob.curve(num=25)
    assert len(curve) == 25 and curve.solver == "ba" and curve.units == "nats"
    assert curve.D[0] == prob.D_min and curve.D[-1] == prob.D_max
    exact = np.array([binary_hamming_rate(p, D) for D in curve.D])
    np.testing.assert_allclose(curve.rate, exact, atol=1e-9)
    assert np.all(curve.lower <= exact + 1e-12) and np.all(exact <= curve.upper + 1e-12)
    _check_shape(curve)
    assert curve.slope[0] == math.inf and curve.slope[-1] == 0.0
    inner = (curve.D > 0) & (curve.D < p)
    np.testing.assert_allclose(curve.slope[inner], np.log((1 - curve.D[inner]) / curve.D[inner]),
                               rtol=1e-6)
    assert all(s is rdc.Status.OPTIMAL for s in curve.statuses)
    assert all(isinstance(r, rdc.Result) for r in curve.results)


@pytest.mark.parametrize("seed, forbidden", [(1, 0.0), (2, 0.25)])
def test_random_curve_is_certified_monotone_convex(seed, forbidden):
    rng = np.random.default_rng(seed)
    p, d = random_problem(rng, 30, 20, inf_fraction=forbidden)
    curve = rdc.RateDistortion(p, d).curve(num=30)
    _check_shape(curve)
    for result in curve.results:
        assert np.all(result.channel[~np.isfinite(d)] == 0.0)


def test_explicit_grid_any_solver_and_order():
    rng = np.random.default_rng(3)
    p, d = random_problem(rng, 8, 6)
    prob = rdc.RateDistortion(p, d)
    grid = prob.D_min + (prob.D_max - prob.D_min) * np.array([0.7, 0.1, 0.4])
    ba = prob.curve(D=grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        conic = prob.curve(D=grid, solver="clarabel")
    np.testing.assert_allclose(ba.D, np.sort(grid))
    np.testing.assert_allclose(ba.rate, conic.rate, atol=1e-6)
    assert np.all(ba.lower <= conic.upper + 1e-12) and np.all(conic.lower <= ba.upper + 1e-12)
    assert conic.solver == "clarabel"


def test_infinite_D_max_ends_where_the_curve_is_flat():
    # x0 and x1 each have one allowed output; x2 may use either: no output serves all.
    d = np.array([[0.0, np.inf], [np.inf, 0.0], [1.0, 2.0]])
    prob = rdc.RateDistortion([0.3, 0.3, 0.4], d)
    assert prob.D_max == math.inf
    curve = prob.curve(num=12)
    _check_shape(curve)
    assert math.isfinite(curve.D[-1]) and curve.D[-1] > prob.D_min
    spread = 2.0 - 0.0
    assert curve.slope[-1] <= 1.1 * END_SLOPE / spread  # a dual slope of a 1e-9 certificate
    # beyond the end the rate can only drop by slope * extra distortion
    further = prob.solve(D=curve.D[-1] + 1.0, solver="ba")
    assert curve.rate[-1] - further.rate <= END_SLOPE / spread * 1.0 + 1e-9


def test_bits_and_progress_bar(capsys, monkeypatch):
    nats = rdc.RateDistortion([0.6, 0.4], 1 - np.eye(2)).curve(num=6)
    bits = rdc.RateDistortion([0.6, 0.4], 1 - np.eye(2), units="bits").curve(num=6,
                                                                           progress=True)
    assert bits.units == "bits"
    np.testing.assert_allclose(bits.rate, nats.rate / math.log(2), atol=1e-12)
    np.testing.assert_allclose(bits.D, nats.D)
    assert "R(D) curve" not in capsys.readouterr().err  # not a terminal: no bar in logs
    import rdconvex._progress as progress

    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    rdc.RateDistortion([0.6, 0.4], 1 - np.eye(2)).curve(num=3, progress=True)
    assert "R(D) curve" in capsys.readouterr().err


def test_plot_draws_the_band_only_where_visible():
    import matplotlib.pyplot as plt

    curve = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).curve(num=8)
    fig, ax = plt.subplots()
    assert curve.plot(ax=ax, label="hamming") is ax
    assert len(ax.lines) == 1 and not ax.collections  # certified to 1e-9: no band
    wide = rdc.Curve(D=curve.D, rate=curve.rate, lower=curve.lower - 0.05, upper=curve.upper,
                     slope=curve.slope, distortion=curve.distortion, units="nats",
                     solver="ba")
    wide.plot(ax=ax)
    assert len(ax.collections) == 1
    assert ax.get_ylabel() == "R(D) [nats]"
    plt.close(fig)


def test_curve_is_frozen():
    curve = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).curve(num=3)
    with pytest.raises(AttributeError):
        curve.rate = None
    with pytest.raises(ValueError):
        curve.rate[0] = 1.0
    assert "3 points" in repr(curve)


def test_curve_errors():
    prob = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    with pytest.raises(rdc.InvalidArgumentError, match="num=1 must be an integer >= 2"):
        prob.curve(num=1)
    with pytest.raises(rdc.InvalidArgumentError, match="not both"):
        prob.curve(num=5, D=[0.1])
    with pytest.raises(rdc.InvalidArgumentError, match="NaN or inf"):
        prob.curve(D=[0.1, float("nan")])
    with pytest.raises(rdc.InvalidArgumentError, match="empty"):
        prob.curve(D=[])
    with pytest.raises(rdc.InvalidArgumentError, match="list of numbers"):
        prob.curve(D="0.1")
    with pytest.raises(rdc.InfeasibleDistortionError, match="below D_min"):
        rdc.RateDistortion([0.5, 0.5], 1 - np.eye(2) + 0.5).curve(D=[0.1, 0.8])
    with pytest.raises(rdc.UnknownSolverError):
        prob.curve(num=3, solver="nope")
