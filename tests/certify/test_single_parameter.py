"""The bound of (22) at a given lambda (:mod:`rdconvex.certify.single_parameter`).

Reference: Example 1's closed form h(p) - h(D) at lam* = log((1-D)/D).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rdconvex import closed_forms as cf
from rdconvex.certify.single_parameter import dual_objective_bound
from rdconvex.programs import single_parameter as programs

HAMMING = 1.0 - np.eye(2)


def test_dual_objective_bound_is_22_at_lam_star():
    """At lam* = log((1-D)/D), Example 1's (22) is h(p) - h(D); a perturbed nu (not a
    solution of (13)) still gives a bound below it."""
    p, D = np.array([0.8, 0.2]), 0.1
    lam = cf.example1_slope(D)
    r, kernel = programs.scaled_kernel(HAMMING, lam)
    nu = np.full(2, cf.example1_mu(lam))
    exact = cf.binary_hamming_rate(0.2, D)
    assert dual_objective_bound(p, D, lam, nu, kernel, r) == pytest.approx(exact, abs=1e-14)
    for factor in (0.5, 1.3):
        assert dual_objective_bound(p, D, lam, nu * [1.0, factor], kernel, r) < exact
    assert dual_objective_bound(p, D, lam, np.array([nu[0], 0.0]), kernel, r) == -math.inf
