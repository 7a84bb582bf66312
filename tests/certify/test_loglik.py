"""The certificates of the log-likelihood family, tested directly: the dual of (8), the
LP-duality bounds of the special-point interval and the Farkas certificate.

References: the tied instance of tests/problems/loglik_cases.py (KKT point Q = (.4, .6, 0)
of (8), optimum .3 log(1/.6) + .2 log(1/.4)); Fig. 4's interval [h(.2), h(.2) + .375
(h(.4) - h(.2))] (closed form, see that module).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import entr

from rdconvex.certify.loglik import (
    certify_d_min,
    certify_special_points,
    d_min_lower_bound,
    farkas_certificate,
    lp_lower_bound,
    polish_tie_randomization,
)
from rdconvex.programs.loglik import d_min_objective, special_point_lp_arrays

from ..problems.loglik_cases import (
    CYCLIC_A,
    CYCLIC_P,
    CYCLIC_RATE,
    CYCLIC_TIES,
    FIG4,
    FIG4_D1,
    FIG4_D2,
)

P, A, TIES = CYCLIC_P, CYCLIC_A, CYCLIC_TIES
D = -np.log(A)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(weights=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3))
def test_dual_of_8_is_a_lower_bound_from_any_Q(weights):
    Q = np.array(weights)
    assert d_min_lower_bound(P, TIES, Q) <= CYCLIC_RATE + 1e-15
    if Q.sum() > 0 and np.all(TIES @ Q > 0):
        # ... and never above the objective of (8) at the same Q (weak duality).
        assert d_min_lower_bound(P, TIES, Q) <= d_min_objective(P, TIES, Q / Q.sum()) + 1e-15


def test_dual_of_8_is_tight_at_the_kkt_point():
    assert d_min_lower_bound(P, TIES, [0.4, 0.6, 0.0]) == pytest.approx(CYCLIC_RATE, abs=1e-15)


def test_certify_d_min_closes_the_gap_after_polishing():
    # T(0) = {0, 1}, T(1) = {1}, T(2) = {0}: the minimiser (.4, .6) is interior, so EM
    # converges linearly and the certificate closes to rounding.
    ties = np.array([[True, True], [False, True], [True, False]])
    d = np.where(ties, 0.0, 1.0)
    Q = polish_tie_randomization(P, ties, [0.5, 0.5])
    W, distortion, cert = certify_d_min(P, d, ties, Q)
    assert cert.lower <= CYCLIC_RATE + 1e-15 and CYCLIC_RATE <= cert.upper + 1e-15
    assert cert.gap <= 1e-14
    np.testing.assert_allclose(W, [[0.4, 0.6], [0.0, 1.0], [1.0, 0.0]], atol=1e-12)
    assert distortion == 0.0


def test_certify_d_min_on_a_degenerate_program():
    # CYCLIC: u = 2 is unused at the optimum but its multiplier vanishes, so EM from the
    # uniform Q converges sublinearly; the certificate still brackets the optimum.
    Q = polish_tie_randomization(P, TIES, [1 / 3, 1 / 3, 1 / 3])
    W, distortion, cert = certify_d_min(P, D, TIES, Q)
    assert cert.lower <= CYCLIC_RATE + 1e-15 and CYCLIC_RATE <= cert.upper + 1e-15
    assert cert.gap <= 1e-4
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-15)
    assert np.all(W[~TIES] == 0)
    assert distortion == pytest.approx(float(P @ D.min(axis=1)), rel=1e-14)


def test_certify_d_min_from_a_poor_Q_is_still_valid():
    W, _, cert = certify_d_min(P, D, TIES, [0.0, 0.1, 0.9])
    assert cert.lower <= CYCLIC_RATE <= cert.upper
    assert cert.gap > 1e-3


def test_lp_lower_bound_repairs_any_dual_vector():
    p, likelihood = np.array(FIG4["p_x"]), np.array(FIG4["p_x_given_u"])
    h = entr(likelihood).sum(axis=0)
    c, A_eq, b_eq = special_point_lp_arrays(p, likelihood, h, "min")
    rng = np.random.default_rng(7)
    for _ in range(20):
        assert lp_lower_bound(c, A_eq, b_eq, rng.normal(size=3)) <= FIG4_D1 + 1e-15
    assert lp_lower_bound(c, A_eq, b_eq, [np.nan, 0.0, 0.0]) == -np.inf


def test_certify_special_points_encloses_fig4():
    p, likelihood = np.array(FIG4["p_x"]), np.array(FIG4["p_x_given_u"])
    h = entr(likelihood).sum(axis=0)
    # Exact vertices; duals deliberately off (zero), so only the repair makes them valid.
    ends = [(np.array([0.75, 0.0, 0.25]), np.zeros(3)),
            (np.array([0.625, 0.375, 0.0]), np.zeros(3))]
    enclosure = certify_special_points(p, likelihood, h, ends)
    (lo1, D1), (D2, hi2) = enclosure.bounds
    assert (D1, D2) == pytest.approx((FIG4_D1, FIG4_D2), abs=1e-15)
    assert lo1 <= FIG4_D1 + 1e-15 and FIG4_D2 <= hi2 + 1e-15
    assert enclosure.residual <= 1e-15


def test_farkas_certificate_proves_infeasibility_or_is_none():
    y = farkas_certificate(A, P)  # p lies outside the cone of the columns
    assert y is not None and np.all(A.T @ y >= 0) and P @ y < 0
    # A consistent source has no Farkas vector.
    assert farkas_certificate(A, A @ np.array([0.2, 0.5, 0.3])) is None
