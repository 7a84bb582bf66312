"""Special operating points (Theorem 1-(iii), Corollary 1) and Theorem 2 as a property.

Reference instances and where their numbers come from: :mod:`tests.problems.loglik_cases`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import entr

import rdconvex as rdc
from rdconvex.closed_forms import binary_entropy as h
from rdconvex.problems.loglik import SpecialPoints
from rdconvex.solvers import get_solver

from ..conftest import CONIC, TOLERANCE
from .loglik_cases import (
    CYCLIC,
    FIG3,
    FIG4,
    FIG4_D1,
    FIG4_D2,
    LN2,
    entropy,
    mutual_information,
    random_instance,
)


@pytest.fixture(autouse=True)
def _quiet_inaccurate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        yield


# ---------------------------------------------------------------------------
# Special operating points (Theorem 1-(iii), Corollary 1)
# ---------------------------------------------------------------------------


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
    get_solver("clarabel", task="program").solve(programs["max"])
    assert programs["max"].value == pytest.approx(FIG4_D2, abs=1e-7)


def test_posterior_channel_attains_the_log_loss_bound():
    """At D* in [D1, D2] the posterior P_{U|X} of the consistent P_U has distortion D*
    and rate H(X) - D* (Theorem 1-(iii)), exactly, and its output law is P_U."""
    ll = rdc.LogLikelihood(**FIG4)
    sp = ll.special_points()
    p, d = ll.p_x, -np.log(ll.p_x_given_u)
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
    consistent P_U, rdconvex.certify's bound at slope 1 reproduces it up to rounding."""
    from rdconvex.certify import lower_bound

    ll = rdc.LogLikelihood(**FIG4)
    p, d = ll.p_x, ll.d
    g = -np.log(p)
    constraint = (p[:, None] * np.exp(g[:, None] - d)).sum(axis=0)
    np.testing.assert_allclose(constraint, 1.0, rtol=1e-14)
    sp = ll.special_points()
    for D in (ll.D_min, 0.55, ll.D_max):
        bound = lower_bound(ll.source.exact, D, 1.0, sp.P_U[0])
        # Proven (outward rounded), so equal to H(X) - D up to rounding only.
        assert bound == pytest.approx(ll.entropy - D, abs=1e-14)


# ---------------------------------------------------------------------------
# Properties: Theorem 2 and Corollary 1 on random small instances
# ---------------------------------------------------------------------------


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
    p, A = random_instance(seed, n, k, consistent)
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


# ---------------------------------------------------------------------------
# The default solver certifies the true R_ll (what verify() relies on)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", [FIG3, FIG4])
@pytest.mark.parametrize("units", ["nats", "bits"])
def test_default_solver_brackets_the_true_rate(case, units):
    """True values from closed forms: R_ll(D_min) = H(X) (no ties, injective ML map),
    R_ll = H(X) - D on [D1, D2] (Cor. 1, interval from loglik_cases), R_ll(D_max) = 0.
    ``solve`` and ``curve`` with the default solver must bracket each of them (up to
    float64 rounding of the true value itself)."""
    scale = 1.0 if units == "nats" else 1.0 / LN2
    ll = rdc.LogLikelihood(**case, units=units)
    H = entropy(case["p_x"]) * scale
    D1, D2 = ((h(0.1), h(0.1)) if case is FIG3 else (FIG4_D1, FIG4_D2))
    claims = {ll.D_min: H, D1 * scale: H - D1 * scale, D2 * scale: H - D2 * scale,
              ll.D_max: 0.0}
    rounding = 1e-12
    for D, true in claims.items():
        res = ll.solve(D=D)
        assert res.solver == "ba"
        assert res.certificate.contains(true, tol=rounding), (D, true, res.certificate)
    curve = ll.curve(D=sorted(claims))
    assert curve.solver == "ba"
    for D, lower, upper in zip(curve.D, curve.lower, curve.upper):
        assert lower - rounding <= claims[D] <= upper + rounding
