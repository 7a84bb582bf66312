"""Log-likelihood loss (Sections II-III): LogLikelihood, program (8), the decomposition
(4)/(5), log_loss_rate, problem files, and the default solver's certificates.

Reference instances and where their numbers come from: :mod:`tests.problems.loglik_cases`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import entr, rel_entr, xlogy

import rdconvex as rdc
from rdconvex.closed_forms import binary_entropy as h
from rdconvex.problems.loglik import DMinResult, check_likelihood
from rdconvex.solvers import get_solver

from ..conftest import TOLERANCE
from .loglik_cases import (
    CYCLIC,
    CYCLIC_RATE,
    FIG3,
    FIG4,
    LN2,
    SPARSE,
    entropy,
    mp_cyclic_rate,
    mp_entropy,
    mutual_information,
    program8_value,
)


@pytest.fixture(autouse=True)
def _quiet_inaccurate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        yield


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


def test_ties_are_the_exact_argmax_and_nothing_is_snapped():
    """T(x) is the exact argmax: 0.3 and 0.1 + 0.2 = 0.30000000000000004 are not tied,
    and -log A is never rewritten (issue 14: a tolerance certified another problem)."""
    A = [[0.3, 0.1 + 0.2], [0.7, 0.7]]
    ll = rdc.LogLikelihood([0.5, 0.5], A)
    assert ll.ties.tolist() == [[False, True], [True, True]]
    assert ll.d[0, 0] == -math.log(0.3) and ll.d[0, 1] == -math.log(0.1 + 0.2)
    assert ll.d[0, 0] > ll.d[0, 1]
    near = rdc.LogLikelihood([0.5, 0.5], [[0.6, 0.6 - 1e-12], [0.4, 0.4 + 1e-12]])
    assert near.ties.tolist() == [[True, False], [False, True]]
    assert np.array_equal(near.p_x_given_u, [[0.6, 0.6 - 1e-12], [0.4, 0.4 + 1e-12]])


def test_tie_tol_is_gone():
    with pytest.raises(TypeError, match="tie_tol"):
        rdc.LogLikelihood(**FIG3, tie_tol=1e-9)
    from rdconvex.problems import loglik

    assert not hasattr(loglik, "TIE_TOL")


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


def test_check_likelihood_keeps_the_given_floats_unless_normalize():
    given = [[0.9, 0.1], [0.1, 0.9 + 1e-12]]
    A = check_likelihood(given, 2)
    assert np.array_equal(A, given)  # within SUM_TOL: the problem is these floats
    B = check_likelihood(given, 2, normalize=True)
    np.testing.assert_allclose(B.sum(axis=0), 1.0, rtol=0, atol=2.3e-16)


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
    (FIG3, mp_entropy(FIG3["p_x"])),      # no ties, ML map injective: R = H(X)
    (FIG4, mp_entropy(FIG4["p_x"])),      # no ties; u = 1 is never ML
    (CYCLIC, mp_cyclic_rate()),           # ties: the KKT point of (8), see module doc
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
    assert res.rate == pytest.approx(float(reference), abs=tol)
    # A proof: the bounds bracket the 60-digit reference with no tolerance.
    assert res.certificate.lower <= reference <= res.certificate.upper
    assert res.certificate.gap <= tol
    assert res.D == pytest.approx(ll.D_min, rel=1e-12)
    assert res.distortion == pytest.approx(ll.D_min, rel=1e-12)
    assert res.slope == math.inf


def test_rate_at_D_min_matches_program_value_and_generic_solve():
    ll = rdc.LogLikelihood(**CYCLIC)
    prog = ll.rate_at_D_min_program()
    get_solver("clarabel", task="program").solve(prog)
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
    np.testing.assert_array_equal(res.proof.primal["channel"], res.channel)
    assert res.proof.dual["log_c"][2] == 0.0  # a row of probability 0: ignored
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

    spec = rdc.load_problem(Path(__file__).resolve().parents[2] / "problems" / f"{name}.toml")
    assert isinstance(spec.problem, rdc.LogLikelihood)
    assert spec.problem.units == "bits"
    np.testing.assert_allclose(spec.problem.p_x, case["p_x"])
    np.testing.assert_allclose(spec.problem.p_x_given_u, case["p_x_given_u"])
