"""The certificate layer of R(D, Gamma) on its own (:mod:`rdconvex.certify.perception`).

References, independent of the package's solvers: for X ~ Ber(0.3) with Hamming
distortion and Gamma = 0 both marginals are Ber(0.3), so P(X != Y) = D fixes the joint
[[0.7 - D/2, D/2], [D/2, 0.3 - D/2]] and R(D, 0) = 2 h(0.3) - H(joint); support
functions by brute force over a fine grid of the simplex.
"""

from __future__ import annotations

import numpy as np
import pytest

from rdconvex.atoms.divergences import DIVERGENCES
from rdconvex.certify.perception import (
    divergence_value,
    perception_lower_bound,
    support_upper_bound,
)

P = np.array([0.7, 0.3])
HAMMING = 1.0 - np.eye(2)


def _entropy(*probabilities):
    return float(-sum(x * np.log(x) for x in probabilities if x > 0))


def _perfect_perception_rate(D):
    return 2 * _entropy(0.7, 0.3) - _entropy(0.7 - D / 2, D / 2, D / 2, 0.3 - D / 2)


@pytest.mark.parametrize("divergence", sorted(DIVERGENCES))
@pytest.mark.parametrize("seed", range(3))
def test_any_dual_point_bounds_the_perfect_perception_rate(divergence, seed):
    rng = np.random.default_rng(seed)
    for D in (0.05, 0.1, 0.3):
        f, slope = rng.normal(size=2), rng.uniform(0.0, 5.0)
        bound = perception_lower_bound(P, P, HAMMING, D, 0.0, slope, f, divergence,
                                       HAMMING if divergence == "wasserstein" else None)
        assert bound <= _perfect_perception_rate(D) + 1e-12


@pytest.mark.parametrize("divergence", sorted(DIVERGENCES))
def test_support_bound_is_above_the_brute_force_maximum(divergence):
    ground = HAMMING if divergence == "wasserstein" else None
    c = np.array([0.0, -0.7])
    grid = np.linspace(1e-6, 1 - 1e-6, 2001)
    # W1 under the Hamming ground metric is the total variation (no transport LP needed).
    measured = "tv" if divergence == "wasserstein" else divergence
    for Gamma in (0.01, 0.1):
        inside = [q for q in grid
                  if divergence_value(measured, P, np.array([q, 1 - q])) <= Gamma]
        brute = max(c[0] * q + c[1] * (1 - q) for q in inside)
        assert support_upper_bound(divergence, P, c, Gamma, ground) >= brute - 1e-12


def test_divergence_values_against_their_definitions():
    q = np.array([0.5, 0.5])
    assert divergence_value("tv", P, q) == pytest.approx(0.2)
    assert divergence_value("kl", P, q) == pytest.approx(0.7 * np.log(1.4) + 0.3 * np.log(0.6))
    assert divergence_value("chi2", P, q) == pytest.approx(0.04 / 0.7 + 0.04 / 0.3)
    assert divergence_value("wasserstein", P, q, HAMMING) == pytest.approx(0.2)
