"""Log-likelihood loss (Sections II-III): LogLikelihood, program (8), special points,
the decomposition (4)/(5), log_loss_rate, and Theorem 2 / Corollary 1 as properties.

References (all independent of the code under test):
* Fig. 3 instance, X ~ Ber(0.25), A = BSC(0.1): D_min = -log 0.9, D_max = 0.75(-log 0.9)
  + 0.25(-log 0.1); the only consistent P_U solves A Q = p: Q = (0.8125, 0.1875), and
  D* = h(0.1) (both columns have entropy h(0.1)).
* Fig. 4 instance, X ~ Ber(0.35), A columns (.8,.2), (.4,.6), (.2,.8): consistent Q =
  (a, b, c) satisfy .6a + .2b = .45 and a + b + c = 1, i.e. a = .75 - b/3, c = .25 - 2b/3,
  b in [0, .375]; D*(b) = h(.2) + b (h(.4) - h(.2)), so [D1, D2] = [h(.2), h(.2) +
  .375 (h(.4) - h(.2))], attained at (.75, 0, .25) and (.625, .375, 0).
* A tied instance (CYCLIC): T(0) = {0,1}, T(1) = {1,2}, T(2) = {0,2}, p = (.5,.3,.2).
  Q = (.4, .6, 0) satisfies the KKT conditions of (8) (sum_{x: u in T(x)} p_x / sum_{T(x)} Q
  = 1 for every u), so R_ll(D_min) = .3 log(1/.6) + .2 log(1/.4).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import entr, rel_entr, xlogy

import rdconvex as rdc
from rdconvex.closed_forms import binary_entropy as h
from rdconvex.loglik import DMinResult, SpecialPoints, check_likelihood

from .conftest import CONIC, TOLERANCE

LN2 = math.log(2.0)
FIG3 = dict(p_x=[0.75, 0.25], p_x_given_u=[[0.9, 0.1], [0.1, 0.9]])
FIG4 = dict(p_x=[0.65, 0.35], p_x_given_u=[[0.8, 0.4, 0.2], [0.2, 0.6, 0.8]])
CYCLIC = dict(p_x=[0.5, 0.3, 0.2],
              p_x_given_u=[[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0.4, 0.2, 0.4]])
CYCLIC_RATE = 0.3 * math.log(1 / 0.6) + 0.2 * math.log(1 / 0.4)
# Zeros in A (forbidden pairs) and a zero-probability source symbol.
SPARSE = dict(p_x=[0.6, 0.4, 0.0],
              p_x_given_u=[[0.5, 0.0, 0.3], [0.5, 0.6, 0.0], [0.0, 0.4, 0.7]])


@pytest.fixture(autouse=True)
def _quiet_inaccurate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        yield


def entropy(p) -> float:
    return float(np.sum(entr(np.asarray(p, dtype=float))))


def mutual_information(p, W) -> float:
    """Independent float64 evaluation of I(X;Y) = sum p W log(W / q)."""
    p, W = np.asarray(p, dtype=float), np.asarray(W, dtype=float)
    q = p @ W
    keep = p > 0
    return float(np.sum(p[keep, None] * rel_entr(W[keep], q[None, :])))


def program8_value(p, ties, Q) -> float:
    """Objective of (8) at Q, in nats."""
    mass = (np.asarray(ties) * Q[None, :]).sum(axis=1)
    keep = np.asarray(p) > 0
    return float(-np.asarray(p)[keep] @ np.log(mass[keep]))


# ---------------------------------------------------------------------------
# Construction, D_min (6), D_max (7), entropy, units
# ---------------------------------------------------------------------------


def test_fig3_quantities_closed_form():
    ll = rdc.LogLikelihood(**FIG3, units="bits")
    assert ll.entropy == pytest.approx(h(0.25) / LN2, rel=1e-14)
    assert ll.D_min == pytest.approx(-math.log2(0.9), rel=1e-14)
    assert ll.D_max == pytest.approx(0.75 * -math.log2(0.9) + 0.25 * -math.log2(0.1), rel=1e-14)
    assert (ll.k, ll.n) == (2, 2)


def test_distortion_is_minus_log_with_inf_on_zeros_and_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll = rdc.LogLikelihood(**SPARSE)
    A = np.array(SPARSE["p_x_given_u"])
    expected = np.full(A.shape, np.inf)
    expected[A > 0] = -np.log(A[A > 0])
    np.testing.assert_allclose(ll.d, expected, rtol=1e-15)
    assert np.all(ll.d >= 0) and not np.any(np.signbit(ll.d))  # no -0.0 from -log(1)


def test_D_min_D_max_and_entropy_match_definitions_on_random_instances(rng):
    for _ in range(5):
        A = rng.dirichlet(np.ones(4), size=3).T
        p = rng.dirichlet(np.ones(4))
        ll = rdc.LogLikelihood(p, A, units="bits")
        d = -np.log2(A)
        assert ll.D_min == pytest.approx(p @ d.min(axis=1), rel=1e-12)
        assert ll.D_max == pytest.approx((p @ d).min(), rel=1e-12)
        assert ll.entropy == pytest.approx(entropy(p) / LN2, rel=1e-12)


def test_units_convert_D_rate_and_slope():
    nats = rdc.LogLikelihood(**FIG4)
    bits = rdc.LogLikelihood(**FIG4, units="bits")
    assert bits.D_min == pytest.approx(nats.D_min / LN2, rel=1e-14)
    assert bits.D_max == pytest.approx(nats.D_max / LN2, rel=1e-14)
    r_nats = nats.solve(D=0.45)
    r_bits = bits.solve(D=0.45 / LN2)
    assert r_bits.rate == pytest.approx(r_nats.rate / LN2, rel=1e-6)
    assert r_bits.distortion == pytest.approx(r_nats.distortion / LN2, rel=1e-9)
    # A log-likelihood is in the rate's unit, so the slope -dR/dD is unit-free.
    assert r_bits.slope == pytest.approx(r_nats.slope, rel=1e-3)


def test_normalize_rescales_columns_and_source():
    ll = rdc.LogLikelihood([3, 1], [[9, 1], [1, 9]], normalize=True)
    np.testing.assert_allclose(ll.p_x_given_u, [[0.9, 0.1], [0.1, 0.9]], rtol=1e-15)
    np.testing.assert_allclose(ll.p_x, [0.75, 0.25], rtol=1e-15)


def test_inputs_are_read_only():
    ll = rdc.LogLikelihood(**FIG3)
    with pytest.raises(ValueError):
        ll.p_x_given_u[0, 0] = 0.5
    with pytest.raises(ValueError):
        ll.ties[0, 0] = False


def test_tie_tolerance_is_relative_and_snaps_the_distortion():
    A = [[0.3, 0.1 + 0.2], [0.7, 0.7]]  # 0.1 + 0.2 = 0.30000000000000004
    ll = rdc.LogLikelihood([0.5, 0.5], A)
    assert ll.ties.tolist() == [[True, True], [True, True]]
    assert ll.d[0, 0] == ll.d[0, 1]
    exact = rdc.LogLikelihood([0.5, 0.5], A, tie_tol=0.0)
    assert exact.ties.tolist() == [[False, True], [True, True]]
    # 0.595 >= (1 - 0.01) 0.6 is a tie; 0.4 < (1 - 0.01) 0.405 is not.
    loose = rdc.LogLikelihood([0.5, 0.5], [[0.6, 0.595], [0.4, 0.405]], tie_tol=0.01)
    assert loose.ties.tolist() == [[True, True], [False, True]]
    assert loose.d[0, 1] == -math.log(0.6)  # snapped to the row minimum
    assert loose.d[1, 0] == -math.log(0.4)


# ---------------------------------------------------------------------------
# Failure paths
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("A, match", [
    ([[0.5, 0.5], [0.4, 0.5]], r"column 0 of p_x_given_u sums to 0\.9, not 1"),
    ([[0.5, 0.5, 0.5]], r"p_x_given_u must be a 2-D array of shape \(n, k\) = \(2, k\)"),
    ([[1, 0], [0, 1], [0, 0]], r"looks transposed"),
    ([0.5, 0.5], r"shape \(2,\)"),
    ([[0, 0.5], [0, 0.5]], r"column 0 of p_x_given_u sums to 0\.0.*positive mass"),
    ([[np.nan, 1], [1, 0]], r"p_x_given_u\[0, 0\] = nan"),
    ([[np.inf, 0], [1, 1]], r"p_x_given_u\[0, 0\] = inf"),
    ([[-0.1, 1], [1.1, 0]], r"p_x_given_u\[0, 0\] = -0\.1 is negative; column 0"),
    ("abc", r"p_x_given_u must be numeric"),
    ([[0.5, "x"], [0.5, 1]], r"p_x_given_u must be an array of numbers"),
])
def test_invalid_likelihood(A, match):
    with pytest.raises(rdc.InvalidChannelError, match=match):
        rdc.LogLikelihood([0.5, 0.5], A)


def test_all_zero_row_needs_zero_probability():
    with pytest.raises(rdc.InvalidChannelError, match=r"row 2 of p_x_given_u is all zero"):
        rdc.LogLikelihood([0.4, 0.4, 0.2], [[0.5, 0.5], [0.5, 0.5], [0, 0]])
    ll = rdc.LogLikelihood([0.5, 0.5, 0.0], [[0.5, 0.5], [0.5, 0.5], [0, 0]])
    assert ll.D_min == pytest.approx(math.log(2))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(p_x=[0.5, 0.6]), rdc.InvalidDistributionError, r"p_x sums to 1\.1"),
    (dict(units="bytes"), rdc.InvalidArgumentError, r"units='bytes' is not supported"),
    (dict(tie_tol=1.0), rdc.InvalidArgumentError, r"tie_tol=1\.0 must be < 1"),
    (dict(tie_tol=-1e-3), rdc.InvalidArgumentError, r"tie_tol=-0\.001 must be >= 0"),
])
def test_invalid_arguments(kwargs, error, match):
    args = dict(FIG3, **kwargs)
    with pytest.raises(error, match=match):
        rdc.LogLikelihood(**args)


def test_D_below_D_min_names_units():
    ll = rdc.LogLikelihood(**FIG3, units="bits")
    with pytest.raises(rdc.InfeasibleDistortionError, match=r"below D_min=0\.15200.*\(bits\)"):
        ll.solve(D=0.1)


def test_unknown_solvers():
    ll = rdc.LogLikelihood(**FIG3)
    with pytest.raises(rdc.UnknownSolverError, match="nope"):
        ll.rate_at_D_min(solver="nope")
    with pytest.raises(rdc.UnknownSolverError, match="nope"):
        ll.special_points(solver="nope")
    with pytest.raises(rdc.InvalidArgumentError, match="solver must be a string"):
        ll.special_points(solver=3)
    with pytest.raises(rdc.InvalidArgumentError, match=r"max_iter=0 must be a positive"):
        ll.rate_at_D_min(max_iter=0)


def test_check_likelihood_returns_exact_columns():
    A = check_likelihood([[0.9, 0.1], [0.1, 0.9 + 1e-12]], 2)
    np.testing.assert_allclose(A.sum(axis=0), 1.0, rtol=0, atol=1e-16)


# ---------------------------------------------------------------------------
# Program (8): R_ll(D_min) and the randomised ML decoder
# ---------------------------------------------------------------------------


def _check_ml_decoder(res: DMinResult, ll):
    Q = res.tie_randomization
    assert Q.shape == (ll.k,) and np.all(Q >= 0) and Q.sum() == pytest.approx(1.0, abs=1e-12)
    mass = (ll.ties * Q[None, :]).sum(axis=1, keepdims=True)
    expected = np.where(ll.ties, Q[None, :], 0.0)
    expected[mass[:, 0] == 0] = ll.ties[mass[:, 0] == 0]  # Q vanishes on T(x): uniform
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(res.channel, expected, atol=1e-12)


@pytest.mark.parametrize("case, reference", [
    (FIG3, entropy(FIG3["p_x"])),         # no ties, ML map injective: R = H(X)
    (FIG4, entropy(FIG4["p_x"])),         # no ties; u = 1 is never ML
    (CYCLIC, CYCLIC_RATE),                # ties: the KKT point of (8), see module doc
])
def test_rate_at_D_min(solver, case, reference):
    ll = rdc.LogLikelihood(**case)
    res = ll.rate_at_D_min(solver=solver)
    tol = TOLERANCE[solver]
    assert isinstance(res, DMinResult)
    _check_ml_decoder(res, ll)
    # The ML decoder's mutual information equals the objective of (8) at Q, and both
    # equal the reference optimum.
    assert mutual_information(ll.p_x, res.channel) == pytest.approx(
        program8_value(ll.p_x, ll.ties, res.tie_randomization), abs=1e-9)
    assert res.rate == pytest.approx(reference, abs=tol)
    assert res.certificate.lower - 1e-12 <= reference <= res.certificate.upper + 1e-12
    assert res.certificate.gap <= tol
    assert res.D == pytest.approx(ll.D_min, rel=1e-12)
    assert res.distortion == pytest.approx(ll.D_min, rel=1e-12)
    assert res.slope == math.inf


def test_rate_at_D_min_matches_program_value_and_generic_solve():
    ll = rdc.LogLikelihood(**CYCLIC)
    prog = ll.rate_at_D_min_program()
    prog.solve(solver="CLARABEL")
    res = ll.rate_at_D_min()
    assert prog.value == pytest.approx(CYCLIC_RATE, abs=1e-7)
    assert res.rate == pytest.approx(prog.value, abs=1e-7)
    generic = ll.solve(D=ll.D_min)  # the classical program on the ML pairs
    assert generic.rate == pytest.approx(res.rate, abs=1e-6)


@pytest.mark.parametrize("case", [CYCLIC, FIG3, SPARSE])
def test_generic_solvers_approach_rate_at_D_min(conic_solver, case):
    ll = rdc.LogLikelihood(**case)
    target = ll.rate_at_D_min().rate
    rates = [ll.solve(D=ll.D_min + eps, solver=conic_solver).certificate.upper
             for eps in (1e-1, 1e-2, 1e-3, 1e-5)]
    # R is non-increasing in D, bounded by R(D_min), and continuous at D_min.
    slack = 10 * TOLERANCE[conic_solver]
    assert all(r <= target + slack for r in rates)
    assert all(a <= b + slack for a, b in zip(rates, rates[1:]))
    assert target - rates[-1] <= 2e-3


def test_rate_at_D_min_zero_probability_rows_follow_the_ml_rule():
    ll = rdc.LogLikelihood(**SPARSE)
    res = ll.rate_at_D_min()
    _check_ml_decoder(res, ll)
    assert res.channel[2].tolist() == [0.0, 0.0, 1.0]  # T(2) = {2}
    # No ties: the argmin channel; Q is the law of the ML map t(X) = (0 w.p. .6, 1 w.p. .4).
    np.testing.assert_allclose(res.tie_randomization, [0.6, 0.4, 0.0], atol=1e-9)
    assert res.rate == pytest.approx(entropy([0.6, 0.4]), abs=1e-9)


def test_rate_at_D_min_when_D_min_equals_D_max():
    # Columns sum to 1, so a u that is ML for every x forces identical columns.
    ll = rdc.LogLikelihood([0.5, 0.5], [[0.3, 0.3], [0.7, 0.7]])
    assert ll.ties.all() and ll.D_min == pytest.approx(ll.D_max)
    res = ll.rate_at_D_min()
    assert res.rate == pytest.approx(0.0, abs=1e-9)


def test_program8_prints_as_math():
    ll = rdc.LogLikelihood(**CYCLIC)
    text = str(ll.rate_at_D_min_program())
    assert "program (8)" in text and "-log sum_{u in T(x)} Q[u]" in text
    assert "T(x) = argmax_u A[x,u] = {0, 1} for x = 0; {1, 2} for x = 1; {0, 2} for x = 2" in text
    assert r"-\log \sum_{u \in T(x)} Q_u" in ll.rate_at_D_min_program().latex()
    assert ll.rate_at_D_min_program().is_dcp()


def test_dmin_result_repr_and_frozen():
    res = rdc.LogLikelihood(**CYCLIC).rate_at_D_min()
    assert repr(res).startswith("DMinResult(rate=") and "tie_randomization=" in repr(res)
    with pytest.raises(ValueError):
        res.tie_randomization[0] = 1.0
    with pytest.raises(AttributeError):
        res.rate = 0.0


# ---------------------------------------------------------------------------
# Special operating points (Theorem 1-(iii), Corollary 1)
# ---------------------------------------------------------------------------

FIG4_D1 = h(0.2)
FIG4_D2 = h(0.2) + 0.375 * (h(0.4) - h(0.2))


@pytest.mark.parametrize("lp_solver", ["highs", *CONIC])
def test_special_points_fig3_and_fig4(lp_solver):
    sp3 = rdc.LogLikelihood(**FIG3).special_points(solver=lp_solver)
    tol = 1e-8 if lp_solver != "scs" else 1e-5
    assert isinstance(sp3, SpecialPoints) and sp3.exists
    assert sp3.interval == pytest.approx((h(0.1), h(0.1)), abs=tol)
    for Q in sp3.P_U:
        np.testing.assert_allclose(Q, [0.8125, 0.1875], atol=tol)
    sp4 = rdc.LogLikelihood(**FIG4).special_points(solver=lp_solver)
    assert sp4.interval == pytest.approx((FIG4_D1, FIG4_D2), abs=tol)
    np.testing.assert_allclose(sp4.P_U[0], [0.75, 0.0, 0.25], atol=10 * tol)
    np.testing.assert_allclose(sp4.P_U[1], [0.625, 0.375, 0.0], atol=10 * tol)
    # LP duality encloses the exact ends.
    (lo1, hi1), (lo2, hi2) = sp4.bounds
    assert lo1 <= FIG4_D1 + 1e-12 and FIG4_D2 <= hi2 + 1e-12
    assert hi1 - lo1 <= tol and hi2 - lo2 <= tol
    assert sp4.residual <= tol


def test_special_points_in_bits():
    sp = rdc.LogLikelihood(**FIG4, units="bits").special_points()
    assert sp.interval == pytest.approx((FIG4_D1 / LN2, FIG4_D2 / LN2), rel=1e-12)
    assert sp.entropy == pytest.approx(entropy(FIG4["p_x"]) / LN2, rel=1e-14)
    assert sp.rate_at(0.75) == pytest.approx(sp.entropy - 0.75, rel=1e-14)
    assert sp.units == "bits"


def test_no_special_points_has_a_farkas_certificate():
    ll = rdc.LogLikelihood(**CYCLIC)  # p = (.5,.3,.2) is outside the cone of the columns
    for lp_solver in ("highs", "clarabel"):
        sp = ll.special_points(solver=lp_solver)
        assert not sp.exists and sp.interval is None and sp.P_U is None
        y = sp.farkas
        A, p = ll.p_x_given_u, ll.p_x
        assert np.all(A.T @ y >= 0) and p @ y < -1e-3
        assert "no special operating point" in str(sp)
        with pytest.raises(rdc.InvalidArgumentError, match="no special operating point"):
            sp.rate_at(0.5)
        assert not sp.contains(0.5)


def test_rate_at_outside_interval_is_an_error():
    sp = rdc.LogLikelihood(**FIG4).special_points()
    with pytest.raises(rdc.InvalidArgumentError, match=r"outside the special-point interval"):
        sp.rate_at(0.2)
    with pytest.raises(rdc.InvalidArgumentError, match=r"D must be a real number"):
        sp.rate_at("0.5")


def test_special_point_programs_print_as_math():
    programs = rdc.LogLikelihood(**FIG4).special_point_programs()
    assert set(programs) == {"min", "max"}
    assert "minimize" in str(programs["min"]) and "maximize" in str(programs["max"])
    assert "sum_u A[x,u] Q[u] = p[x]" in str(programs["min"])
    programs["max"].solve(solver="CLARABEL")
    assert programs["max"].value == pytest.approx(FIG4_D2, abs=1e-7)


def test_posterior_channel_attains_the_log_loss_bound():
    """At D* in [D1, D2] the posterior P_{U|X} of the consistent P_U has distortion D*
    and rate H(X) - D* (Theorem 1-(iii)), exactly, and its output law is P_U."""
    ll = rdc.LogLikelihood(**FIG4)
    sp = ll.special_points()
    A, p, d = ll.p_x_given_u, ll.p_x, -np.log(ll.p_x_given_u)
    for D in np.linspace(*sp.interval, 5):
        W = sp.channel_at(D)
        Q = sp.P_U_at(D)
        np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-14)
        np.testing.assert_allclose(p @ W, Q, atol=1e-14)          # Y ~ P_U
        assert float(np.sum(p[:, None] * W * d)) == pytest.approx(D, abs=1e-13)
        assert mutual_information(p, W) == pytest.approx(entropy(p) - D, abs=1e-13)


@pytest.mark.parametrize("case", [FIG3, FIG4])
def test_solvers_on_the_special_interval(solver, case):
    """R_ll(D*) = H(X) - D* and any optimal output pmf is a consistent P_U with
    H(X|U) = D* whose posterior is the channel (the converse of Theorem 1-(iii): equality
    forces the KL term of (4) to vanish). The optimal output need not be unique when the
    polytope has dimension > 1, so that property -- not equality to sp.P_U_at -- is
    what is checked."""
    ll = rdc.LogLikelihood(**case, units="bits")
    sp = ll.special_points()
    A, p = ll.p_x_given_u, ll.p_x
    column_entropy = entr(A).sum(axis=0) / LN2
    tol = TOLERANCE[solver] / LN2
    for D in sorted({*np.linspace(*sp.interval, 3)}):
        res = ll.solve(D=D, solver=solver)
        assert res.rate == pytest.approx(sp.rate_at(D), abs=2 * tol)
        assert res.certificate.contains(ll.entropy - D, tol=1e-9)
        q = res.output_pmf
        np.testing.assert_allclose(A @ q, p, atol=2e-3)
        assert column_entropy @ q == pytest.approx(D, abs=2e-3)
        posterior = A * q[None, :] / p[:, None]
        np.testing.assert_allclose(res.channel, posterior, atol=2e-3)


def test_log_loss_line_is_a_dual_certificate():
    """Theorem 2 as a dual point: s = 1, g = -log p is feasible for the Gallager/Csiszar
    dual (its constraint for u is sum_x A[x,u] <= 1) with value H(X) - D; from a
    consistent P_U, rdconvex.certify's bound at slope 1 reproduces it exactly."""
    from rdconvex.certify import lower_bound

    ll = rdc.LogLikelihood(**FIG4)
    p, d = ll.p_x, ll.d
    g = -np.log(p)
    constraint = (p[:, None] * np.exp(g[:, None] - d)).sum(axis=0)
    np.testing.assert_allclose(constraint, 1.0, rtol=1e-14)
    sp = ll.special_points()
    for D in (ll.D_min, 0.55, ll.D_max):
        bound = lower_bound(p, d, D, 1.0, sp.P_U[0])
        assert bound == pytest.approx(ll.entropy - D, abs=1e-14)


# ---------------------------------------------------------------------------
# The decomposition (4) / (5)
# ---------------------------------------------------------------------------


def test_decomposition_adds_up(rng):
    for units in ("nats", "bits"):
        ll = rdc.LogLikelihood(**SPARSE, units=units)
        scale = 1.0 if units == "nats" else 1 / LN2
        allowed = np.isfinite(ll.d)
        for _ in range(5):
            W = rng.random((3, 3)) * allowed
            W /= W.sum(axis=1, keepdims=True)
            parts = ll.distortion_decomposition(W)
            joint = ll.p_x[:, None] * W
            direct = float(np.sum(joint[joint > 0] * ll.d[joint > 0])) * scale
            assert parts.distortion == pytest.approx(direct, rel=1e-12)
            assert parts.cross_entropy == pytest.approx(direct, rel=1e-12)
            assert parts.conditional_entropy + parts.kl_divergence == pytest.approx(direct,
                                                                                    rel=1e-12)
            assert parts.kl_divergence >= 0 and parts.conditional_entropy >= 0
            assert parts.mutual_information == pytest.approx(
                mutual_information(ll.p_x, W) * scale, abs=1e-12)
            assert parts.units == units


def test_decomposition_of_the_posterior_has_zero_kl():
    ll = rdc.LogLikelihood(**FIG4)
    sp = ll.special_points()
    parts = ll.distortion_decomposition(sp.channel_at(0.55))
    assert parts.kl_divergence == pytest.approx(0.0, abs=1e-14)
    assert parts.conditional_entropy == pytest.approx(0.55, abs=1e-13)


def test_decomposition_with_mass_on_a_zero_likelihood_is_infinite():
    ll = rdc.LogLikelihood(**SPARSE)
    parts = ll.distortion_decomposition(np.full((3, 3), 1 / 3))
    assert parts.distortion == parts.cross_entropy == parts.kl_divergence == math.inf
    assert math.isfinite(parts.conditional_entropy)


def test_decomposition_rejects_bad_channels():
    ll = rdc.LogLikelihood(**FIG4)
    with pytest.raises(rdc.InvalidChannelError, match=r"channel must have shape \(2, 3\)"):
        ll.distortion_decomposition(np.eye(2))
    with pytest.raises(rdc.InvalidChannelError, match=r"row 0 of channel sums to"):
        ll.distortion_decomposition([[0.5, 0.4, 0.0], [0.0, 0.0, 1.0]])


# ---------------------------------------------------------------------------
# log_loss_rate (9)-(10)
# ---------------------------------------------------------------------------


def test_log_loss_rate_values():
    H = entropy([0.75, 0.25]) / LN2
    assert rdc.log_loss_rate([0.75, 0.25], 0.0, units="bits") == pytest.approx(H, rel=1e-14)
    assert rdc.log_loss_rate([0.75, 0.25], 0.3, units="bits") == pytest.approx(H - 0.3)
    assert rdc.log_loss_rate([0.75, 0.25], 5.0, units="bits") == 0.0
    values = rdc.log_loss_rate([0.75, 0.25], [0.0, 0.3, 5.0], units="bits")
    np.testing.assert_allclose(values, [H, H - 0.3, 0.0], rtol=1e-14)
    assert rdc.log_loss_rate([3, 1], 0.1, normalize=True) == pytest.approx(
        entropy([0.75, 0.25]) - 0.1)


@pytest.mark.parametrize("p, D, units, error, match", [
    ([0.5, 0.5], -0.1, "nats", rdc.InvalidArgumentError, r"D=-0\.1 must be >= 0"),
    ([0.5, 0.5], [0.1, -1.0], "nats", rdc.InvalidArgumentError, r"D\[1\]=-1\.0 must be >= 0"),
    ([0.5, 0.5], np.nan, "nats", rdc.InvalidArgumentError, r"D=nan is not finite"),
    ([0.5, 0.5], [[0.1]], "nats", rdc.InvalidArgumentError, r"1-D array"),
    ([0.5, 0.6], 0.1, "nats", rdc.InvalidDistributionError, r"p_x sums to 1\.1"),
    ([0.5, 0.5], 0.1, "dits", rdc.InvalidArgumentError, r"units='dits'"),
])
def test_log_loss_rate_rejects(p, D, units, error, match):
    with pytest.raises(error, match=match):
        rdc.log_loss_rate(p, D, units=units)


# ---------------------------------------------------------------------------
# Properties: Theorem 2 and Corollary 1 on random small instances
# ---------------------------------------------------------------------------


def _random_instance(seed: int, n: int, k: int, consistent: bool):
    """Dirichlet columns; when ``consistent`` the source is A Q for a random P_U, so
    special points exist."""
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.ones(n), size=k).T
    if consistent:
        p = A @ rng.dirichlet(np.ones(k))
    else:
        p = rng.dirichlet(np.ones(n))
    return p / p.sum(), A


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 3), k=st.integers(2, 4),
       consistent=st.booleans())
def test_theorem2_and_corollary1(seed, n, k, consistent):
    """R_ll(D) >= H(X) - D on [D_min, D_max] (Thm 2), with equality exactly on [D1, D2]
    (Cor 1 and its converse). Equality is checked with the certified rate; strictness
    outside with the certified *lower* bound, at points at least 5% of the range away
    from the interval (R_ll - (H - D) is convex and vanishes only on [D1, D2], so it
    can be arbitrarily small right next to it)."""
    p, A = _random_instance(seed, n, k, consistent)
    ll = rdc.LogLikelihood(p, A)
    sp = ll.special_points()
    H = ll.entropy
    if consistent:
        assert sp.exists
    grid = list(np.linspace(ll.D_min, ll.D_max, 6))
    if sp.exists:
        grid += list(np.linspace(*sp.interval, 3))
    margin = 0.05 * (ll.D_max - ll.D_min)
    for D in grid:
        res = ll.solve(D=D)
        cert = res.certificate
        # Theorem 2: the certified upper bound is the mutual information of a channel
        # with distortion <= D, so it can never fall below H(X) - D.
        assert cert.upper >= H - D - 1e-12
        assert cert.lower >= H - D - 10 * TOLERANCE["clarabel"]
        if sp.contains(D):
            assert res.rate == pytest.approx(H - D, abs=10 * TOLERANCE["clarabel"])
            assert sp.rate_at(D) == pytest.approx(H - D)
        elif not sp.exists or D < sp.interval[0] - margin or D > sp.interval[1] + margin:
            assert cert.lower > H - D, (D, sp.interval, cert)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 4), k=st.integers(1, 4))
def test_decomposition_property(seed, n, k):
    """(4) = (5) = E[d_ll] for any channel, with numpy evaluators written here."""
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.ones(n), size=k).T
    p = rng.dirichlet(np.ones(n))
    W = rng.dirichlet(np.ones(k), size=n)
    ll = rdc.LogLikelihood(p, A)
    parts = ll.distortion_decomposition(W)
    joint = p[:, None] * W
    q = joint.sum(axis=0)
    posterior = joint / q[None, :]
    conditional = float(np.sum(q * entr(posterior).sum(axis=0)))
    kl = float(np.sum(q * rel_entr(posterior, A).sum(axis=0)))
    cross = float(np.sum(q * -xlogy(posterior, A).sum(axis=0)))
    expected = float(np.sum(joint * -np.log(A)))
    assert parts.conditional_entropy == pytest.approx(conditional, rel=1e-10, abs=1e-14)
    assert parts.kl_divergence == pytest.approx(kl, rel=1e-10, abs=1e-14)
    assert parts.cross_entropy == pytest.approx(cross, rel=1e-10)
    assert conditional + kl == pytest.approx(expected, rel=1e-10)
    assert parts.distortion == pytest.approx(expected, rel=1e-10)


# ---------------------------------------------------------------------------
# Problem files
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, case", [("fig3", FIG3), ("fig4", FIG4)])
def test_problem_files_load_as_loglikelihood(name, case):
    from pathlib import Path

    spec = rdc.load_problem(Path(__file__).resolve().parents[1] / "problems" / f"{name}.toml")
    assert isinstance(spec.problem, rdc.LogLikelihood)
    assert spec.problem.units == "bits"
    np.testing.assert_allclose(spec.problem.p_x, case["p_x"])
    np.testing.assert_allclose(spec.problem.p_x_given_u, case["p_x_given_u"])
