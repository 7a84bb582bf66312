"""The certificate layer of R(D) on its own: repair, lower bounds, certify.

References are closed forms (binary Hamming: R(D) = h(p) - h(D), Cover & Thomas
Thm 10.3.1), independent of the package's solvers.
"""

from __future__ import annotations

import numpy as np
import pytest

from rdconvex.certify.classical import (
    best_lower_bound,
    certify,
    lower_bound,
    lower_bounds,
    repair_channel,
)
from rdconvex.closed_forms import binary_hamming_rate
from rdconvex.numerics import parametric_channel

P = np.array([0.7, 0.3])
HAMMING = 1.0 - np.eye(2)


@pytest.mark.parametrize("slope", [0.0, 0.5, 2.0, 10.0, 1e3])
@pytest.mark.parametrize("seed", range(3))
def test_any_dual_point_is_a_lower_bound(slope, seed):
    q = np.random.default_rng(seed).dirichlet(np.ones(2))
    for D in (0.01, 0.1, 0.2, 0.29):
        assert lower_bound(P, HAMMING, D, slope, q) <= binary_hamming_rate(0.3, D) + 1e-12


@pytest.mark.parametrize("D", [0.02, 0.1, 0.25])
def test_certify_brackets_the_closed_form(D):
    slope = np.log((1 - D) / D)
    q = np.array([(0.7 - D) / (1 - 2 * D), (0.3 - D) / (1 - 2 * D)])
    W = parametric_channel(HAMMING, slope, q)
    channel, distortion, cert = certify(P, HAMMING, D, W, slope, q)
    truth = binary_hamming_rate(0.3, D)
    assert cert.lower <= truth + 1e-12 and truth <= cert.upper + 1e-12
    assert cert.gap < 1e-9 and distortion <= D
    assert np.allclose(channel.sum(axis=1), 1.0)


def test_certify_of_a_poor_point_is_loose_but_valid():
    D = 0.1
    channel, distortion, cert = certify(P, HAMMING, D, np.full((2, 2), 0.5), 1.0,
                                        np.array([0.5, 0.5]), polish=0, refine_slope=False)
    truth = binary_hamming_rate(0.3, D)
    assert distortion <= D + 1e-15  # repaired: mixed toward the argmin channel
    assert cert.lower <= truth <= cert.upper and cert.gap > 1e-3


def test_rate_zero_channel_is_its_own_certificate():
    W = np.array([[1.0, 0.0], [1.0, 0.0]])
    _, distortion, cert = certify(P, HAMMING, 0.5, W, 0.0, W[0])
    assert (cert.lower, cert.upper, distortion) == (0.0, 0.0, 0.3)


def test_repair_zeroes_forbidden_pairs_and_meets_the_budget():
    d = np.array([[0.0, 1.0, np.inf], [1.0, 0.0, 0.5]])
    W = np.array([[0.2, 0.3, 0.5], [0.1, -0.1, 1.0]])
    repaired, distortion = repair_channel(P, d, W, D=0.2)
    assert repaired[0, 2] == 0.0 and np.all(repaired >= 0)
    assert np.allclose(repaired.sum(axis=1), 1.0)
    assert distortion <= 0.2


def test_polishing_never_lowers_the_bound():
    q = np.array([0.9, 0.1])
    plain = lower_bounds(P, HAMMING, 0.1, 2.0, [q])[0]
    assert best_lower_bound(P, HAMMING, 0.1, 2.0, q, polish=50) >= plain


def test_large_slopes_and_forbidden_pairs_stay_finite():
    d = np.array([[0.0, 1.0, np.inf], [np.inf, 0.0, 1.0], [1.0, np.inf, 0.0]])
    p = np.full(3, 1 / 3)
    for slope in (1e2, 1e4, 1e6):
        value = lower_bound(p, d, 1e-3, slope, np.full(3, 1 / 3))
        assert np.isfinite(value) and value <= np.log(3) + 1e-12
