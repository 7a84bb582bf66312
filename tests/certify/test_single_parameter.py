"""The bound of (22) at a given lambda (:mod:`rdconvex.certify.single_parameter`).

Reference: Example 1's closed form R(D) = h(p~) - h(D) for D <= p~ (binary source,
Hamming distortion; Cover & Thomas Thm 10.3.1), evaluated in mpmath for the floats
given (p~ = p / sum p exactly: 0.8 + 0.2 is not 1 as rationals), and its (13) solution
mu = 1/(1 + e^-lam). Every bound must be <= the reference with no tolerance.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from rdconvex import closed_forms as cf
from rdconvex.certify.single_parameter import dual_objective_bound, dual_point
from rdconvex.rigorous import ShiftedProblem

from ..problems.loglik_cases import mp_binary_entropy, mp_pmf

HAMMING = 1.0 - np.eye(2)


def example1_rate(p, D) -> mpmath.mpf:
    """h(p~_1) - h(D) for D <= min(p~), else 0."""
    p1 = min(mp_pmf(p))
    D = mpmath.mpf(D)
    return mp_binary_entropy(p1) - mp_binary_entropy(D) if D < p1 else mpmath.mpf(0)


@pytest.mark.parametrize("p", [[0.8, 0.2], [0.7, 0.3], [0.99, 0.01]])
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.95])
def test_bound_is_below_example1_and_tight_at_lam_star(p, fraction):
    """At lam* = log((1-D)/D) with the exact-up-to-rounding mu of (13), (22) is h(p) -
    h(D) up to rounding, and never above it; at every other lam (in I or below it, where
    (13) still has mu >= 0) it is a bound too."""
    p = np.array(p)
    problem = ShiftedProblem.from_distortion(p, HAMMING)
    D = fraction * float(min(p))
    reference = example1_rate(p, D)
    lam_star = cf.example1_slope(D)
    at_star = dual_objective_bound(problem, D, lam_star, np.full(2, cf.example1_mu(lam_star)))
    assert at_star <= reference
    assert reference - at_star <= 1e-14
    for lam in np.geomspace(0.01, 50.0, 40):
        nu = np.full(2, cf.example1_mu(lam))
        assert dual_objective_bound(problem, D, lam, nu) <= reference


def test_a_perturbed_nu_is_still_a_bound():
    """nu that does not solve (13) (or vanishes) gives a smaller (or no) bound."""
    p, D = np.array([0.8, 0.2]), 0.1
    problem = ShiftedProblem.from_distortion(p, HAMMING)
    lam = cf.example1_slope(D)
    nu = np.full(2, cf.example1_mu(lam))
    exact = example1_rate(p, D)
    for factor in (0.5, 1.3, 1e-30, 1e30):
        assert dual_objective_bound(problem, D, lam, nu * [1.0, factor]) < exact
    assert dual_objective_bound(problem, D, lam, np.array([nu[0], 0.0])) == -math.inf


def test_the_shift_moves_the_constant():
    """d = 1e6 + Hamming (an offset on every pair): r_x = 1e6, mu_x = e^{1e6 lam} nu_x
    and D_min = 1e6, so the bound at D = 1e6 + D0 is the Hamming bound at the exact D'
    of the floats (1e6 + 0.1 rounds by ~1e-11): the offset never meets the slope."""
    p, D0 = np.array([0.8, 0.2]), 0.1
    lam = cf.example1_slope(D0)
    nu = np.full(2, cf.example1_mu(lam))
    plain = dual_objective_bound(ShiftedProblem.from_distortion(p, HAMMING), D0, lam, nu)
    problem = ShiftedProblem.from_distortion(p, 1e6 + HAMMING)
    D = 1e6 + D0
    shifted = dual_objective_bound(problem, D, lam, nu)
    assert shifted <= example1_rate(p, mpmath.mpf(D) - 10 ** 6)
    assert abs(shifted - plain) <= 1e-9
    np.testing.assert_allclose(dual_point(problem, nu), np.log(nu) - np.log(p), rtol=1e-15)


def test_tiny_differences_at_a_large_offset():
    """d = 1 + eps * Hamming with eps = 1e-9: R(D) = h(p) - h((D - 1) / eps) (the shifted
    problem is eps x Hamming); slope lam = log((1-t)/t) / eps ~ 2e9 meets only d'."""
    p, eps = np.array([0.8, 0.2]), 1e-9
    d = 1.0 + eps * HAMMING
    problem = ShiftedProblem.from_distortion(p, d)
    excess = mpmath.mpf(float(d[0, 1])) - 1  # d' exactly (1 + eps rounded, minus 1)
    for t in (0.02, 0.1, 0.19):
        D = 1.0 + t * float(excess)
        target = (mpmath.mpf(D) - 1) / excess
        reference = mp_binary_entropy(min(mp_pmf(p))) - mp_binary_entropy(target)
        lam = math.log((1 - t) / t) / float(excess)
        nu = np.full(2, 1.0 / (1.0 + math.exp(-lam * float(excess))))
        bound = dual_objective_bound(problem, D, lam, nu)
        assert bound <= reference and reference - bound <= 1e-6
