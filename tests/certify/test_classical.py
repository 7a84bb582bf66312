"""The certificate layer of R(D) on its own: repair, proven lower bounds, certify.

References are closed forms (binary Hamming: R(D) = h(p) - h(D), Cover & Thomas
Thm 10.3.1) evaluated in mpmath at 40 digits, independent of the package. The bounds
must bracket them *exactly* (no tolerance): they are proofs.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from rdconvex.certify.classical import (
    best_dual_point,
    certify,
    distortion_upper_end,
    lower_bound,
    repair_channel,
)
from rdconvex.numerics import parametric_channel
from rdconvex.rigorous import ShiftedProblem, log_c_of

mpmath.mp.dps = 40
P = np.array([0.7, 0.3])
HAMMING = 1.0 - np.eye(2)


def h(x):
    x = mpmath.mpf(x)
    return -x * mpmath.log(x) - (1 - x) * mpmath.log(1 - x)


def binary_truth(p1, D, scale=1.0, offset=0.0):
    """R(D) of Ber(p1) under offset + scale * Hamming, exactly from the floats."""
    Dp = (mpmath.mpf(D) - mpmath.mpf(offset)) / mpmath.mpf(scale)
    return h(p1) - h(Dp) if Dp < min(p1, 1 - p1) else mpmath.mpf(0)


@pytest.mark.parametrize("slope", [0.0, 0.5, 2.0, 10.0, 1e3])
@pytest.mark.parametrize("seed", range(3))
def test_any_dual_point_is_a_lower_bound(slope, seed):
    q = np.random.default_rng(seed).dirichlet(np.ones(2))
    problem = ShiftedProblem.from_distortion(P, HAMMING)
    for D in (0.01, 0.1, 0.2, 0.29):
        assert lower_bound(problem, D, slope, q) <= binary_truth(0.3, D)


@pytest.mark.parametrize("offset, scale", [(0.0, 1.0), (1.0, 1e-6), (1e3, 1e-9),
                                           (0.0, 1e-12), (0.0, 1e12), (1e6, 1.0)])
@pytest.mark.parametrize("fraction", [0.01, 0.3, 0.9])
def test_certify_brackets_the_truth_exactly(offset, scale, fraction):
    d = offset + scale * HAMMING
    problem = ShiftedProblem.from_distortion(P, d)
    D = offset + fraction * 0.3 * scale
    scale = d[0, 1] - d[0, 0]  # the excess the floats define (exact subtraction)
    Dp = (D - d[0, 0]) / scale
    if not 0 < Dp < 0.3:
        pytest.skip("the float D rounds outside the curve")
    slope = math.log((1 - Dp) / Dp) / scale
    q = np.array([(0.7 - Dp) / (1 - 2 * Dp), (0.3 - Dp) / (1 - 2 * Dp)])
    W = parametric_channel(problem.excess, slope, q)
    point = certify(problem, D, W, slope, q)
    # The problem the floats define: offset d[0, 0], excess d[0, 1] - d[0, 0] (exact).
    truth = binary_truth(0.3, D, mpmath.mpf(d[0, 1]) - mpmath.mpf(d[0, 0]), d[0, 0])
    assert point.certificate.lower <= truth <= point.certificate.upper
    assert point.certificate.gap < 1e-9


def test_certify_of_a_poor_point_is_loose_but_valid():
    D = 0.1
    problem = ShiftedProblem.from_distortion(P, HAMMING)
    point = certify(problem, D, np.full((2, 2), 0.5), 1.0, np.array([0.5, 0.5]), polish=0,
                    refine_slope=False)
    cert = point.certificate
    assert point.distortion <= D  # mixed toward the argmin channel until proven
    assert cert.lower <= binary_truth(0.3, D) <= cert.upper and cert.gap > 1e-3


def test_rate_zero_channel_is_its_own_certificate():
    W = np.array([[1.0, 0.0], [1.0, 0.0]])
    problem = ShiftedProblem.from_distortion(P, HAMMING)
    point = certify(problem, 0.5, W, 0.0, W[0])
    assert (point.certificate.lower, point.certificate.upper) == (0.0, 0.0)


def test_repair_zeroes_forbidden_pairs():
    d = np.array([[0.0, 1.0, np.inf], [1.0, 0.0, 0.5]])
    repaired = repair_channel(d, np.array([[0.2, 0.3, 0.5], [0.1, -0.1, 1.0]]))
    assert repaired[0, 2] == 0.0 and np.all(repaired >= 0)
    assert np.allclose(repaired.sum(axis=1), 1.0)


def test_proven_distortion_is_an_upper_end():
    problem = ShiftedProblem.from_distortion(P, 1.0 + 1e-9 * HAMMING)
    W = np.array([[0.9, 0.1], [0.2, 0.8]])
    exact = (mpmath.mpf(0.7) * mpmath.mpf(0.1) + mpmath.mpf(0.3) * mpmath.mpf(0.2))
    truth = 1 + mpmath.mpf(1e-9) * exact / (mpmath.mpf(0.7) + mpmath.mpf(0.3))
    assert distortion_upper_end(problem, W) >= truth


def test_polishing_never_lowers_the_bound():
    problem = ShiftedProblem.from_distortion(P, HAMMING)
    q = np.array([0.9, 0.1])
    slope, polished = best_dual_point(problem, 0.1, 2.0, q, polish=50)
    assert lower_bound(problem, 0.1, slope, polished) >= lower_bound(problem, 0.1, 2.0, q)


def test_large_slopes_and_forbidden_pairs_stay_finite():
    d = np.array([[0.0, 1.0, np.inf], [np.inf, 0.0, 1.0], [1.0, np.inf, 0.0]])
    p = np.full(3, 1 / 3)
    problem = ShiftedProblem.from_distortion(p, d)
    for slope in (1e2, 1e4, 1e6, math.inf):
        D = 0.0 if math.isinf(slope) else 1e-3
        value = lower_bound(problem, D, slope, np.full(3, 1 / 3))
        assert np.isfinite(value) and value <= math.log(3)


def test_slope_zero_with_forbidden_rings_bounds_the_flat_limit():
    # Every column forbids one x: D_max = inf and the curve flattens at ln(3/2) (uniform
    # p, each x allowed on two outputs: the best channel is uniform on them).
    d = np.array([[0.0, 1.0, np.inf], [np.inf, 0.0, 1.0], [1.0, np.inf, 0.0]])
    p = np.full(3, 1 / 3)
    problem = ShiftedProblem.from_distortion(p, d)
    q = np.full(3, 1 / 3)
    value = lower_bound(problem, 50.0, 0.0, q)
    assert value <= mpmath.log(mpmath.mpf(3) / 2) and value > 0.40
    W = np.where(np.isfinite(d), 0.5, 0.0)
    point = certify(problem, 50.0, W, 0.0, q)
    assert point.certificate.lower <= mpmath.log(1.5) <= point.certificate.upper
    assert point.certificate.gap < 1e-12


def test_log_c_choice_is_finite_when_q_misses_a_row():
    problem = ShiftedProblem.from_distortion(P, np.array([[0.0, np.inf], [np.inf, 0.0]]))
    assert np.all(np.isfinite(log_c_of(problem, 1.0, np.array([1.0, 0.0]))))
