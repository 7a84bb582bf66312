"""The certificates of the log-likelihood family, tested directly: the dual of (8), the
LP-duality bounds of the special-point interval and the Farkas certificate.

References: the tied instance of tests/problems/loglik_cases.py (KKT point Q = (.4, .6, 0)
of (8), optimum .3 log(1/.6) + .2 log(1/.4), at 60 digits by mpmath); Fig. 4's interval
[h(.2), h(.2) + .375 (h(.4) - h(.2))] (closed form, see that module). Every bound must
hold with no tolerance.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdconvex.certify.loglik import (
    certify_d_min,
    certify_special_points,
    column_entropy,
    d_min_lower_bound,
    farkas_certificate,
    lp_lower_bound,
    polish_tie_randomization,
    proves_no_consistent_pmf,
)
from rdconvex.rigorous import ShiftedProblem

from ..problems.loglik_cases import (
    CYCLIC_A,
    CYCLIC_P,
    CYCLIC_TIES,
    FIG4,
    mp_binary_entropy,
    mp_cyclic_rate,
)

P, A, TIES = CYCLIC_P, CYCLIC_A, CYCLIC_TIES
EXACT = ShiftedProblem.from_likelihood(P, A)
RATE = mp_cyclic_rate()


def test_exact_argmax_is_the_tie_set():
    assert np.array_equal(EXACT.minimisers, TIES)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(weights=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3))
def test_dual_of_8_is_a_lower_bound_from_any_Q(weights):
    Q = np.array(weights)
    bound = d_min_lower_bound(EXACT, Q)
    assert bound <= RATE
    if Q.sum() > 0 and np.all(TIES @ Q > 0):
        # ... and never above the objective of (8) at the same Q (weak duality; the
        # objective in mpmath for the float Q / sum Q).
        Qn = [mpmath.mpf(v) / mpmath.fsum(Q.tolist()) for v in Q.tolist()]
        objective = -mpmath.fsum(
            mpmath.mpf(P[x]) * mpmath.log(mpmath.fsum(Qn[u] for u in np.flatnonzero(TIES[x])))
            for x in range(3))
        assert bound <= objective


def test_dual_of_8_is_tight_at_the_kkt_point():
    bound = d_min_lower_bound(EXACT, [0.4, 0.6, 0.0])
    assert bound <= RATE and RATE - bound <= 1e-14


def test_certify_d_min_closes_the_gap_after_polishing():
    # T(0) = {0, 1}, T(1) = {1}, T(2) = {0} (distortion data): the minimiser (.4, .6) is
    # interior, so EM converges linearly and the certificate closes to rounding.
    ties = np.array([[True, True], [False, True], [True, False]])
    exact = ShiftedProblem.from_distortion(P, np.where(ties, 0.0, 1.0))
    Q = polish_tie_randomization(P, ties, [0.5, 0.5])
    W, cert, log_c = certify_d_min(exact, Q)
    assert cert.lower <= RATE <= cert.upper
    assert cert.gap <= 1e-14
    np.testing.assert_allclose(W, [[0.4, 0.6], [0.0, 1.0], [1.0, 0.0]], atol=1e-12)
    assert np.all(W[~ties] == 0)  # shifted distortion exactly 0: D = D_min
    assert np.all(np.isfinite(log_c))


def test_certify_d_min_on_a_degenerate_program():
    # CYCLIC: u = 2 is unused at the optimum but its multiplier vanishes, so EM from the
    # uniform Q converges sublinearly; the certificate still brackets the optimum.
    Q = polish_tie_randomization(P, TIES, [1 / 3, 1 / 3, 1 / 3])
    W, cert, _ = certify_d_min(EXACT, Q)
    assert cert.lower <= RATE <= cert.upper
    assert cert.gap <= 1e-4
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-15)
    assert np.all(W[~TIES] == 0)


def test_certify_d_min_from_a_poor_Q_is_still_valid():
    _, cert, _ = certify_d_min(EXACT, [0.0, 0.1, 0.9])
    assert cert.lower <= RATE <= cert.upper
    assert cert.gap > 1e-3


@pytest.mark.parametrize("ulps", [1, 2, 1000])
def test_certify_d_min_near_ties_are_not_ties(ulps):
    """Entries a few ulp below the row maximum are not in T(x): the decoder is the
    identity and the bounds bracket H(X) (ln 2), with no tolerance."""
    below = above = 0.5
    for _ in range(ulps):
        below, above = math.nextafter(below, 0.0), math.nextafter(above, 1.0)
    likelihood = np.array([[0.5, below], [0.5, above]])
    exact = ShiftedProblem.from_likelihood(np.array([0.5, 0.5]), likelihood)
    assert exact.minimisers.tolist() == [[True, False], [False, True]]
    W, cert, _ = certify_d_min(exact, [0.5, 0.5])
    np.testing.assert_array_equal(W, np.eye(2))
    assert cert.lower <= mpmath.log(2) <= cert.upper and cert.gap <= 1e-14


#: Fig. 4's decimal data are not exactly floats (0.8 + 0.2 > 1 as rationals), so the
#: closed-form ends are those of a problem ~1e-16 away from the float one.
DECIMAL = 1e-15


def test_lp_lower_bound_repairs_any_dual_vector():
    p, likelihood = np.array(FIG4["p_x"]), np.array(FIG4["p_x_given_u"])
    entropy = column_entropy(likelihood)
    D1 = mp_binary_entropy(0.2)
    D2 = mp_binary_entropy(0.2) + mpmath.mpf(0.375) * (mp_binary_entropy(0.4)
                                                       - mp_binary_entropy(0.2))
    rng = np.random.default_rng(7)
    for _ in range(20):
        y = rng.normal(size=3)
        assert lp_lower_bound(p, likelihood, entropy, "min", y) <= D1 + DECIMAL
        assert -lp_lower_bound(p, likelihood, entropy, "max", y) >= D2 - DECIMAL
    assert lp_lower_bound(p, likelihood, entropy, "min", [np.nan, 0.0, 0.0]) == -np.inf


def test_column_entropy_encloses_the_exact_value():
    likelihood = np.array([[0.8, 0.4, 0.2, 1e-310], [0.2, 0.6, 0.8, 1.0]])
    entropy = column_entropy(likelihood)
    for u in range(4):
        exact = -mpmath.fsum(mpmath.mpf(a) * mpmath.log(a) for a in likelihood[:, u] if a > 0)
        assert abs(exact - entropy.value[u]) <= entropy.error[u]


def test_certify_special_points_encloses_fig4():
    p, likelihood = np.array(FIG4["p_x"]), np.array(FIG4["p_x_given_u"])
    # Exact vertices; duals deliberately off (zero), so only the repair makes them valid.
    ends = [(np.array([0.75, 0.0, 0.25]), np.zeros(3)),
            (np.array([0.625, 0.375, 0.0]), np.zeros(3))]
    enclosure = certify_special_points(p, likelihood, ends)
    (lo1, hi1), (lo2, hi2) = enclosure.bounds
    D1, D2 = enclosure.interval
    assert (D1, D2) == pytest.approx((float(mp_binary_entropy(0.2)), 0.5652), abs=1e-4)
    assert lo1 <= D1 <= hi1 and lo2 <= D2 <= hi2
    assert lo1 <= mp_binary_entropy(0.2) + DECIMAL
    assert enclosure.residual <= 1e-15


def test_farkas_certificate_proves_infeasibility_or_is_none():
    y = farkas_certificate(A, P)  # p lies outside the cone of the columns
    assert y is not None and proves_no_consistent_pmf(A, P, y)
    assert np.all(A.T @ y >= 0) and P @ y < 0
    # ... checked exactly here, with rationals.
    from fractions import Fraction

    for u in range(3):
        assert sum(Fraction(A[x, u]) * Fraction(y[x]) for x in range(3)) >= 0
    assert sum(Fraction(P[x]) * Fraction(y[x]) for x in range(3)) < 0
    # A consistent source has no Farkas vector.
    assert farkas_certificate(A, A @ np.array([0.2, 0.5, 0.3])) is None
    # Neither 0 (p^T y = 0) nor -y (A^T y < 0) is a proof.
    assert not proves_no_consistent_pmf(A, P, np.zeros(3))
    assert not proves_no_consistent_pmf(A, P, -y)
