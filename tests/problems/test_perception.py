"""Section V: R(D, Gamma) for every divergence and solver, R(D, 0) by Sinkhorn, the
Theorem 4 scheme, and the failure paths.

References (computed independently of the code under test):

* binary Hamming, perfect perception: both marginals are Ber(p), so the coupling has one
  free parameter ``a = J[0,1] = J[1,0]``, distortion ``2a`` and mutual information
  ``2 h(p) - H(1-p-a, a, a, p-a)``, decreasing in ``a`` up to independence
  (``a = p(1-p)``). Hence ``R(D, 0) = 2 h(p) - H(1-p-D/2, D/2, D/2, p-D/2)`` for
  ``D <= 2p(1-p)`` and 0 beyond.
* binary Hamming, any divergence: with ``q = Ber(r)`` a coupling has one free parameter
  ``t = J[0,1]``, so ``R(D, Gamma) = min_r min_t I(t)`` over ``r`` with
  ``gamma(p, Ber(r)) <= Gamma`` (an interval, found by root finding on the divergence
  written out below) and ``t`` with distortion ``<= D``: two nested bounded 1-D
  searches (both objectives convex), no conic solver involved.
* classical R(D): ``h(p) - h(D)`` (Cover & Thomas, Thm 10.3.1).
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar
from scipy.special import entr, rel_entr

import rdconvex as rdc
from rdconvex.closed_forms import binary_hamming_rate
from rdconvex.problems.perception import RateDistortionPerception
from rdconvex.schemes import perception_scheme, theorem4_scheme

from ..conftest import CONIC, TOLERANCE

DIVERGENCES = ("tv", "kl", "reverse_kl", "hellinger", "chi2", "wasserstein")
TOL = {**TOLERANCE, "sinkhorn": 1e-9}
HAMMING2 = 1 - np.eye(2)
POINTS = np.linspace(-2.0, 2.0, 5)
SQUARED = (POINTS[:, None] - POINTS[None, :]) ** 2
P5 = np.array([0.1, 0.2, 0.4, 0.2, 0.1])


def _solve(rdp, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        return rdp.solve(**kwargs)


def _binary_perfect(p, D):
    if D >= 2 * p * (1 - p):
        return 0.0
    a = D / 2
    return float(2 * (entr(p) + entr(1 - p)) - entr(np.array([1 - p - a, a, a, p - a])).sum())


def _binary_divergence(name, p, r):
    P, Q = np.array([1 - p, p]), np.array([1 - r, r])
    return {"tv": abs(p - r), "wasserstein": abs(p - r),
            "kl": float(rel_entr(P, Q).sum()), "reverse_kl": float(rel_entr(Q, P).sum()),
            "hellinger": float(0.5 * np.sum((np.sqrt(P) - np.sqrt(Q)) ** 2)),
            "chi2": float(np.sum((Q - P) ** 2 / P))}[name]


def _binary_fixed_output(p, r, D):
    """min I over couplings of Ber(p), Ber(r) with distortion <= D (t = J[0, 1])."""
    lo, hi = max(0.0, r - p), min(1 - p, r, (D - p + r) / 2)
    if hi < lo:
        return math.inf

    def info(t):
        J = np.array([[1 - p - t, t], [p - r + t, r - t]])
        return float(rel_entr(J, np.outer([1 - p, p], [1 - r, r])).sum())

    res = minimize_scalar(info, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
    return min(res.fun, info(lo), info(hi))


def _binary_reference(name, p, D, Gamma):
    """R(D, Gamma) for Ber(p), Hamming, by the nested 1-D searches described above."""
    g = lambda r: _binary_divergence(name, p, r) - Gamma  # noqa: E731
    r_lo = 1e-15 if g(1e-15) <= 0 else brentq(g, 1e-15, p, xtol=1e-15)
    r_hi = 1 - 1e-15 if g(1 - 1e-15) <= 0 else brentq(g, p, 1 - 1e-15, xtol=1e-15)
    res = minimize_scalar(lambda r: _binary_fixed_output(p, r, D), bounds=(r_lo, r_hi),
                          method="bounded", options={"xatol": 1e-12})
    return min(res.fun, _binary_fixed_output(p, r_lo, D), _binary_fixed_output(p, r_hi, D))


def _check_feasible(res, D, Gamma):
    assert res.distortion <= D + 1e-12
    assert res.perception <= Gamma  # a proven bound (0 at Gamma = 0: exact marginals)
    np.testing.assert_allclose(res.channel.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(res.channel >= 0)
    assert res.certificate.lower <= res.certificate.upper
    assert res.rate == res.certificate.upper


# --------------------------------------------------------------------- references


@pytest.mark.parametrize("solver", [*CONIC, "sinkhorn"])
@pytest.mark.parametrize("p, D", [(0.3, 0.05), (0.3, 0.2), (0.5, 0.3), (0.1, 0.15)])
def test_binary_perfect_perception_closed_form(solver, p, D):
    rdp = RateDistortionPerception([1 - p, p], HAMMING2)
    res = _solve(rdp, D=D, Gamma=0.0, solver=solver)
    exact = _binary_perfect(p, D)
    tol = TOL[solver]
    assert res.rate == pytest.approx(exact, abs=tol)
    assert res.certificate.lower <= exact + 1e-10
    assert exact <= res.certificate.upper + 1e-10
    assert res.certificate.gap <= tol
    _check_feasible(res, D, 0.0)
    np.testing.assert_allclose(res.output_pmf, [1 - p, p], atol=1e-14)


@pytest.mark.parametrize("solver", CONIC)
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_binary_every_divergence_against_nested_search(solver, divergence):
    p, D = 0.3, 0.1
    rdp = RateDistortionPerception([1 - p, p], HAMMING2, divergence=divergence)
    # The classical optimum outputs Ber((p - D) / (1 - 2D)); budgets below its divergence
    # bind.
    classical = _binary_divergence(divergence, p, (p - D) / (1 - 2 * D))
    for Gamma in (0.1 * classical, 0.6 * classical):
        reference = _binary_reference(divergence, p, D, Gamma)
        res = _solve(rdp, D=D, Gamma=Gamma, solver=solver)
        tol = TOL[solver]
        assert res.rate == pytest.approx(reference, abs=tol), (Gamma, res)
        assert res.certificate.lower <= reference + 1e-9
        assert reference <= res.certificate.upper + 1e-9
        assert res.certificate.gap <= tol
        _check_feasible(res, D, Gamma)
        # The perception budget binds here: R(D) < R(D, Gamma) < R(D, 0).
        assert binary_hamming_rate(p, D) < reference < _binary_perfect(p, D)


TERNARY_P = np.array([0.5, 0.3, 0.2])
TERNARY_D = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_ternary_divergences_agree_across_solvers(divergence):
    rdp = RateDistortionPerception(TERNARY_P, TERNARY_D, divergence=divergence)
    for Gamma in (0.01, 0.1):
        results = {s: _solve(rdp, D=0.3, Gamma=Gamma, solver=s) for s in CONIC}
        for a, ra in results.items():
            _check_feasible(ra, 0.3, Gamma)
            assert ra.certificate.gap <= TOL[a]
            for b, rb in results.items():
                # Every lower bound is below every upper bound (all are certified) ...
                assert ra.certificate.lower <= rb.certificate.upper + 1e-12
                # ... and the answers agree within the solvers' tolerances.
                assert abs(ra.rate - rb.rate) <= TOL[a] + TOL[b]


# --------------------------------------------------------------------- properties


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_rate_non_increasing_in_Gamma(divergence):
    rdp = RateDistortionPerception(P5, SQUARED, divergence=divergence)
    rates = [_solve(rdp, D=0.5, Gamma=G, solver="clarabel") for G in (0.0, 0.01, 0.05, 0.3)]
    for before, after in zip(rates, rates[1:]):
        # R(D, G2) <= R(D, G1) for G2 > G1, up to the certified gaps.
        assert after.certificate.lower <= before.certificate.upper + 1e-12
        assert after.rate <= before.rate + TOL["clarabel"]
    assert rates[-1].rate < rates[0].rate - 1e-3  # the budget matters on this example


def test_perfect_perception_costs_rate_on_squared_error():
    classical = rdc.RateDistortion(P5, SQUARED)
    rdp = RateDistortionPerception(P5, SQUARED)
    for D in (0.1, 0.5, 1.0):
        r_D = classical.solve(D=D)
        r_D0 = rdp.solve(D=D, Gamma=0.0, solver="sinkhorn")
        # R(D, 0) >= R(D): certified, and strict on this example.
        assert r_D0.certificate.lower > r_D.certificate.upper + 1e-3
        # The perception certificate's lower bound also dominates the classical one.
        assert r_D0.certificate.lower >= r_D.certificate.lower


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_large_Gamma_recovers_classical(divergence):
    D = 0.3
    classical = rdc.RateDistortion(P5, SQUARED).solve(D=D, solver="clarabel", tol=1e-10)
    assert classical.output_pmf.min() > 0  # so every divergence of it is finite
    rdp = RateDistortionPerception(P5, SQUARED, divergence=divergence)
    # Once Gamma admits the classical optimum's output pmf, R(D, Gamma) = R(D).
    Gamma = 1.5 * rdp.divergence_of(classical.output_pmf) + 1e-3
    res = _solve(rdp, D=D, Gamma=Gamma, solver="clarabel")
    assert res.rate == pytest.approx(classical.rate, abs=2 * TOL["clarabel"])
    assert res.certificate.lower <= classical.certificate.upper + 1e-12
    assert classical.certificate.lower <= res.certificate.upper + 1e-12


@pytest.mark.parametrize("solver", ["clarabel", "sinkhorn"])
def test_rate_zero_from_the_independent_coupling(solver):
    rdp = RateDistortionPerception(P5, SQUARED)
    D_ind = float(P5 @ SQUARED @ P5)
    # D_independent is the float just above the proven distortion of p p^T: there the
    # independent coupling is certified (rate 0 exactly); at a float a few ulps below,
    # the certificate can only bound the rate by a tiny positive number.
    assert D_ind <= rdp.D_independent <= D_ind * (1 + 1e-14)
    res = rdp.solve(D=rdp.D_independent, Gamma=0.0, solver=solver)
    assert res.rate == 0.0 and res.certificate.lower == 0.0
    np.testing.assert_allclose(res.output_pmf, P5, atol=1e-15)
    near = _solve(rdp, D=D_ind, Gamma=0.0, solver=solver)
    assert near.certificate.lower == 0.0 and near.rate <= 1e-8
    below = rdp.solve(D=0.95 * D_ind, Gamma=0.0, solver=solver)
    assert below.certificate.lower > 1e-5  # certified positive just below it


def test_sinkhorn_agrees_with_conic():
    for p, d in ((P5, SQUARED), (TERNARY_P, TERNARY_D), ([0.7, 0.3], HAMMING2)):
        rdp = RateDistortionPerception(p, d)
        for D in (0.05, 0.2, 0.6):
            if D >= rdp.D_independent:
                continue
            sk = rdp.solve(D=D, Gamma=0.0, solver="sinkhorn")
            for solver in ("clarabel", "ecos"):
                conic = _solve(rdp, D=D, Gamma=0.0, solver=solver)
                assert sk.certificate.lower <= conic.certificate.upper + 1e-12
                assert conic.certificate.lower <= sk.certificate.upper + 1e-12
                assert abs(sk.rate - conic.rate) <= TOL[solver]
            assert sk.certificate.gap <= 1e-9
            assert sk.slope > 0


def test_dual_program_at_Gamma_zero_matches_sinkhorn():
    rdp = RateDistortionPerception(TERNARY_P, TERNARY_D)
    dual = rdp.dual_program(D=0.3)
    dual.solve(solver="CLARABEL")
    res = rdp.solve(D=0.3, Gamma=0.0, solver="sinkhorn")
    assert dual.value == pytest.approx(res.rate, abs=1e-7)
    assert float(dual.variables_by_name["s"].value) == pytest.approx(res.slope, rel=1e-4)


def test_zero_probability_symbol():
    # p = (0.6, 0.4, 0): KL(q||p) and chi^2(q||p) force q_2 = 0, so the problem is the
    # binary one on {0, 1} (reference: the nested search).
    d = 1 - np.eye(3)
    for divergence in ("reverse_kl", "chi2"):
        rdp = RateDistortionPerception([0.6, 0.4, 0.0], d, divergence=divergence)
        res = _solve(rdp, D=0.1, Gamma=0.01, solver="clarabel")
        reference = _binary_reference(divergence, 0.4, 0.1, 0.01)
        assert res.rate == pytest.approx(reference, abs=1e-6)
        assert res.output_pmf[2] <= 1e-12
        assert res.channel.shape == (3, 3)
        np.testing.assert_allclose(res.channel.sum(axis=1), 1.0, atol=1e-12)
    rdp = RateDistortionPerception([0.6, 0.4, 0.0], d)
    sk = rdp.solve(D=0.1, Gamma=0.0, solver="sinkhorn")
    assert sk.rate == pytest.approx(_binary_perfect(0.4, 0.1), abs=1e-9)


def test_units_bits_convert_rate_and_kl_budget():
    nats = RateDistortionPerception(P5, SQUARED, divergence="kl")
    bits = RateDistortionPerception(P5, SQUARED, divergence="kl", units="bits")
    r_n = nats.solve(D=0.5, Gamma=0.02, solver="clarabel")
    r_b = bits.solve(D=0.5, Gamma=0.02 / math.log(2), solver="clarabel")
    assert r_b.rate == pytest.approx(r_n.rate / math.log(2), abs=1e-6)
    assert r_b.perception == pytest.approx(r_n.perception / math.log(2), abs=1e-6)
    assert r_b.Gamma == pytest.approx(0.02 / math.log(2))
    assert r_b.units == r_b.certificate.units == "bits"


def test_program_is_readable():
    rdp = RateDistortionPerception(TERNARY_P, TERNARY_D, divergence="wasserstein")
    prog = rdp.program(D=0.3, Gamma=0.1)
    text, latex = str(prog), prog.latex()
    for name in ("perception", "transport source", "transport target", "distortion"):
        assert f"[{name}]" in text and f"({name})" in latex
    assert prog.is_dcp()
    assert set(prog.variables_by_name) == {"J", "q", "pi"}
    zero = rdp.program(D=0.3, Gamma=0.0)
    assert "q[y] = p[y]" in str(zero) and "pi" not in zero.variables_by_name
    for divergence in DIVERGENCES:
        prog = RateDistortionPerception([0.5, 0.5, 0.0], 1 - np.eye(3),
                                        divergence=divergence).program(D=0.2, Gamma=0.1)
        assert prog.is_dcp(), divergence


def test_problem_file_loads_and_solves():
    spec = rdc.load_problem("problems/ternary_perception.toml")
    assert isinstance(spec.problem, RateDistortionPerception)
    Gamma = spec.perception["Gamma"]
    for D in spec.queries["D"]:
        a = spec.problem.solve(D=D, Gamma=Gamma, solver="clarabel")
        b = spec.problem.solve(D=D, Gamma=Gamma, solver="sinkhorn")
        assert a.certificate.lower <= b.certificate.upper + 1e-12
        assert b.certificate.lower <= a.certificate.upper + 1e-12


# --------------------------------------------------------------------- Theorem 4


def test_scheme_basics():
    p = np.array([0.5, 0.3, 0.2])
    d = 1 - np.eye(3)
    identity = perception_scheme(p, d, np.eye(3))
    assert identity.rate == pytest.approx(float(entr(p).sum()), abs=1e-14)
    assert identity.distortion == 0.0 and identity.perfect_perception
    constant = perception_scheme(p, d, np.ones((3, 1)))
    assert constant.rate == pytest.approx(0.0, abs=1e-15)
    assert constant.distortion == pytest.approx(float(p @ d @ p), abs=1e-15)
    rng = np.random.default_rng(7)
    rdp = RateDistortionPerception(p, d)
    for _ in range(3):
        P = rng.dirichlet(np.ones(4), size=3)
        s = perception_scheme(p, d, P, units="bits")
        assert s.perfect_perception
        np.testing.assert_allclose(s.joint, s.joint.T, atol=1e-15)
        # Any scheme is feasible for R(distortion, 0): its rate is above the certified
        # lower bound.
        bound = rdp.solve(D=s.distortion, Gamma=0.0, solver="sinkhorn").certificate.lower
        assert s.rate >= bound / math.log(2) - 1e-12
        assert s.units == "bits"


@pytest.mark.parametrize("p, d, D", [
    ([0.7, 0.3], HAMMING2, 0.1),
    ([0.5, 0.3, 0.2], 1 - np.eye(3), 0.2),
    ([0.5, 0.3, 0.2], 1 - np.eye(3), 0.5),
    (P5, SQUARED, 0.1),
    (P5, SQUARED, 0.8),
])
def test_theorem4_scheme_attains_R_D0(p, d, D):
    t4 = theorem4_scheme(p, d, D)
    s = t4.scheme
    assert s.perfect_perception
    # The scheme reproduces J* = diag(a) V diag(a): exactly for the Hamming factor, up
    # to the quadrature residual for the Gaussian one.
    slack = 1e-12 + 10 * t4.factor.residual
    assert t4.joint_error <= slack
    assert t4.factor.method == ("diagonal_plus_constant" if d is not SQUARED
                                else "gaussian_quadrature")
    # Its point lies on the certified R(D, 0) curve at its own distortion.
    at = RateDistortionPerception(p, d).solve(D=s.distortion, Gamma=0.0, solver="sinkhorn")
    assert at.certificate.lower - 1e-10 <= s.rate <= at.certificate.upper + 1e-10 + 100 * slack
    assert abs(s.distortion - D) <= 1e-9
    assert s.rate == pytest.approx(t4.result.rate, abs=1e-8)


# --------------------------------------------------------------------- failures


def test_failure_paths():
    with pytest.raises(rdc.InvalidArgumentError, match="divergence='js' is unknown"):
        RateDistortionPerception([0.5, 0.5], HAMMING2, divergence="js")
    with pytest.raises(rdc.InvalidDistortionError, match="d must be square"):
        RateDistortionPerception([0.5, 0.5], np.ones((2, 3)))
    rdp = RateDistortionPerception([0.5, 0.5], HAMMING2)
    with pytest.raises(rdc.InvalidArgumentError, match="Gamma=-0.1 must be >= 0"):
        rdp.solve(D=0.1, Gamma=-0.1)
    with pytest.raises(rdc.InvalidArgumentError, match="Gamma is required"):
        rdp.solve(D=0.1)
    with pytest.raises(rdc.InvalidArgumentError, match="solver='sinkhorn' solves Gamma = 0 only"):
        rdp.solve(D=0.1, Gamma=0.05, solver="sinkhorn")
    with pytest.raises(rdc.UnknownSolverError, match="not available"):
        rdp.solve(D=0.1, Gamma=0.05, solver="ba")
    with pytest.raises(rdc.InvalidArgumentError, match="ground_metric is used only"):
        RateDistortionPerception([0.5, 0.5], HAMMING2, ground_metric=HAMMING2)
    with pytest.raises(rdc.InvalidDistortionError, match="nonzero diagonal"):
        RateDistortionPerception([0.5, 0.5], [[1.0, 2.0], [2.0, 1.0]], divergence="wasserstein")
    with pytest.raises(rdc.InvalidArgumentError, match="Gamma = 0 only"):
        rdp.dual_program(D=0.1, Gamma=0.1)


def test_distortion_below_the_perfect_perception_floor():
    # Both rows have their minimum at y = 0, so the classical D_min is 0; a coupling of
    # p = (1/2, 1/2) with itself is [[1/2 - a, a], [a, 1/2 - a]] with distortion
    # 3a + (1/2 - a) = 1/2 + 2a >= 1/2: perfect perception needs D >= 1/2.
    p, d = [0.5, 0.5], [[0.0, 3.0], [0.0, 1.0]]
    rdp = RateDistortionPerception(p, d)
    assert rdp.D_min == 0.0
    with pytest.raises(rdc.InfeasibleDistortionError, match="perfect perception is infeasible"):
        rdp.solve(D=0.2, Gamma=0.0, solver="sinkhorn")
    with pytest.raises(rdc.InfeasibleDistortionError, match="below the smallest distortion"):
        rdp.solve(D=0.2, Gamma=0.0, solver="clarabel")
    assert rdp.min_distortion(0.0) == pytest.approx(0.5, abs=1e-7)
    ok = rdp.solve(D=0.7, Gamma=0.0, solver="sinkhorn")
    conic = rdp.solve(D=0.7, Gamma=0.0, solver="clarabel")
    assert abs(ok.rate - conic.rate) <= 1e-6
    _check_feasible(ok, 0.7, 0.0)


# --------------------------------------------------------------------- certificates are proofs
# References: exact mpmath values for the binary Hamming source on the floats as given
# (tests/certify/test_perception.py); the bounds must bracket them exactly.

from ..certify.test_perception import (
    binary_perception_reference,
    binary_perfect_reference,
    check_proof,
    exact_pmf,
)

ALL_PERFECT = [*CONIC, "sinkhorn"]
OFFSETS = [(1.0, 1e-6), (1.0, 1e-9), (1e3, 1e-6), (1e3, 1e-9)]


def _bracket(res, reference):
    c = res.certificate
    assert c.lower <= reference <= c.upper, (c, reference)
    assert res.rate == c.upper


@pytest.mark.parametrize("solver", ALL_PERFECT)
@pytest.mark.parametrize("c, eps", OFFSETS)
def test_offset_distortion_perfect_perception_is_bracketed(solver, c, eps):
    # d = c + eps * Hamming: the shift removes c exactly, whatever the slope (~1/eps).
    d = c + eps * HAMMING2
    eps_ = d[0, 1] - c  # what the floats hold
    rdp = RateDistortionPerception([0.7, 0.3], d)
    for share in (0.05, 0.2):
        D = c + share * eps_
        res = _solve(rdp, D=D, Gamma=0.0, solver=solver)
        _bracket(res, binary_perfect_reference([0.7, 0.3], d, D))
        assert res.certificate.gap <= TOL[solver]
        assert res.status == "optimal" and res.perception == 0.0
        assert all(check_proof(res.proof))


@pytest.mark.parametrize("solver", CONIC)
@pytest.mark.parametrize("c, eps", OFFSETS)
@pytest.mark.parametrize("divergence", ["tv", "kl"])
def test_offset_distortion_perception_is_bracketed(solver, c, eps, divergence):
    d = c + eps * HAMMING2
    eps_ = d[0, 1] - c
    rdp = RateDistortionPerception([0.7, 0.3], d, divergence=divergence)
    D, Gamma = c + 0.1 * eps_, 0.01
    res = _solve(rdp, D=D, Gamma=Gamma, solver=solver)
    _bracket(res, binary_perception_reference([0.7, 0.3], d, D, Gamma, divergence))
    assert res.certificate.gap <= TOL[solver]
    assert res.perception <= Gamma
    assert all(check_proof(res.proof))


@pytest.mark.parametrize("scale", [1e-12, 1e6])
def test_tiny_and_huge_distortion_scales(scale):
    d = scale * HAMMING2
    D = 0.1 * scale
    reference = binary_perfect_reference([0.7, 0.3], d, D)
    tv = binary_perception_reference([0.7, 0.3], d, D, 0.01, "tv")
    for solver in ALL_PERFECT:
        res = _solve(RateDistortionPerception([0.7, 0.3], d), D=D, Gamma=0.0, solver=solver)
        _bracket(res, reference)
        assert res.certificate.gap <= TOL[solver]
    for solver in CONIC:
        for divergence, Gamma in (("tv", 0.01), ("wasserstein", 0.01 * scale)):
            rdp = RateDistortionPerception([0.7, 0.3], d, divergence=divergence)
            res = _solve(rdp, D=D, Gamma=Gamma, solver=solver)
            _bracket(res, tv)  # W1 with the Hamming ground metric is the total variation
            assert res.certificate.gap <= TOL[solver]


@pytest.mark.parametrize("solver", ALL_PERFECT)
def test_subnormal_probability(solver):
    # A symbol of probability 5e-324: finite certified bounds (once: rate inf, "optimal").
    # Its effect on R is ~1e-321, far below float resolution, so the binary reference
    # lies strictly inside the certified interval.
    p = [0.6, 0.4, 5e-324]
    rdp = RateDistortionPerception(p, 1 - np.eye(3))
    res = _solve(rdp, D=0.1, Gamma=0.0, solver=solver)
    reference = binary_perfect_reference([0.6, 0.4], HAMMING2, 0.1)
    assert res.certificate.lower < reference < res.certificate.upper
    assert res.certificate.gap <= TOL[solver] and res.status == "optimal"
    assert np.all(np.isfinite(res.channel)) and res.channel.shape == (3, 3)
    assert all(check_proof(res.proof))
    if solver == "sinkhorn":
        return
    results = {}
    for divergence in ("tv", "kl", "reverse_kl"):
        rdp = RateDistortionPerception(p, 1 - np.eye(3), divergence=divergence)
        results[divergence] = res = _solve(rdp, D=0.1, Gamma=0.01, solver=solver)
        assert np.isfinite(res.rate) and res.certificate.gap <= TOL[solver]
        assert res.status == "optimal" and all(check_proof(res.proof))
    # KL(p || q) and KL(q || p) pick the same optimum here.
    assert results["kl"].certificate.lower <= results["reverse_kl"].certificate.upper


def test_status_follows_the_certified_gap():
    rdp = RateDistortionPerception([0.7, 0.3], HAMMING2)
    loose = {"eps_abs": 1e-3, "eps_rel": 1e-3}
    with pytest.warns(rdc.InaccurateSolutionWarning, match="exceeds the tolerance"):
        res = rdp.solve(D=0.1, Gamma=0.05, solver="scs", tol=1e-12, solver_options=loose)
    assert res.status == "optimal_inaccurate" and res.certificate.gap > 1e-12
    assert res.certificate.lower <= binary_perception_reference(
        [0.7, 0.3], HAMMING2, 0.1, 0.05, "tv") <= res.certificate.upper
    with warnings.catch_warnings():
        warnings.simplefilter("error", rdc.InaccurateSolutionWarning)
        ok = rdp.solve(D=0.1, Gamma=0.05, solver="scs", tol=1e-2, solver_options=loose)
    assert ok.status == "optimal" and ok.certificate.gap <= 1e-2
    with pytest.warns(rdc.InaccurateSolutionWarning):
        tight = rdp.solve(D=0.1, Gamma=0.0, solver="sinkhorn", tol=1e-20)
    assert tight.status != "optimal"


def test_conic_failure_is_retried_in_a_second_form(monkeypatch):
    from rdconvex.results import SolveInfo, Status
    from rdconvex.solvers.conic import Clarabel

    calls = []
    original = Clarabel.solve

    def failing_once(self, problem, *args, **kwargs):
        calls.append(problem)
        if len(calls) == 1:
            return SolveInfo(Status.FAILED, 0, 0.0, "failed: numerical trouble")
        return original(self, problem, *args, **kwargs)

    monkeypatch.setattr(Clarabel, "solve", failing_once)
    p = [0.6, 0.4 - 1e-12, 1e-12]
    rdp = RateDistortionPerception(p, 1 - np.eye(3))
    res = _solve(rdp, D=0.1, Gamma=0.01, solver="clarabel")
    assert len(calls) == 2 and "retried" in res.message
    assert res.certificate.gap <= 1e-6 and all(check_proof(res.proof))
    calls.clear()
    monkeypatch.setattr(Clarabel, "solve", lambda self, *a, **k: calls.append(1) or SolveInfo(
        Status.FAILED, 0, 0.0, "failed"))
    with pytest.raises(rdc.SolverError, match="no usable point"):
        rdp.solve(D=0.1, Gamma=0.01, solver="clarabel")
    assert len(calls) == 2


@pytest.mark.parametrize("solver", ALL_PERFECT)
def test_forbidden_pairs_perfect_perception(solver):
    # Output 1 is allowed for every source symbol; 0 <-> 2 is forbidden both ways.
    p = [0.45, 0.35, 0.2]
    d = np.array([[0.0, 1.0, np.inf], [1.0, 0.0, 1.0], [np.inf, 1.0, 0.0]])
    rdp = RateDistortionPerception(p, d)
    res = _solve(rdp, D=0.3, Gamma=0.0, solver=solver)
    assert res.certificate.gap <= TOL[solver] and res.status == "optimal"
    assert np.all(res.channel[~np.isfinite(d)] == 0.0)
    assert all(check_proof(res.proof))
    reference = _solve(rdp, D=0.3, Gamma=0.0, solver="sinkhorn")
    assert res.certificate.lower <= reference.certificate.upper
    assert reference.certificate.lower <= res.certificate.upper


@pytest.mark.parametrize("solver", ALL_PERFECT)
def test_perfect_perception_at_D_min(solver):
    # Hamming at D = 0: the identity is the only coupling, R(0, 0) = H(p).
    p = [0.5, 0.3, 0.2]
    res = _solve(RateDistortionPerception(p, 1 - np.eye(3)), D=0.0, Gamma=0.0, solver=solver)
    with mp.workdps(50):
        entropy = -mp.fsum(x * mp.log(x) for x in exact_pmf(p))
    _bracket(res, entropy)
    assert res.slope == math.inf and res.certificate.gap <= 1e-12
    assert all(check_proof(res.proof))


@pytest.mark.parametrize("divergence", ["tv", "kl", "reverse_kl", "hellinger", "chi2"])
def test_proof_records(divergence):
    p = [0.5, 0.3, 0.2, 0.0]
    d = 1 - np.eye(4)
    rdp = RateDistortionPerception(p, d, divergence=divergence)
    res = _solve(rdp, D=0.3, Gamma=0.02, solver="clarabel")
    proof = res.proof
    assert proof.quantity == "perception"
    assert proof.parameters == {"D": 0.3, "Gamma": 0.02, "divergence": divergence}
    assert proof.primal["channel"].shape == (4, 4) and len(proof.dual["log_c"]) == 4
    assert proof.lower <= res.certificate.lower and proof.upper == res.certificate.upper
    assert all(check_proof(proof))
    zero = _solve(RateDistortionPerception(p, d), D=0.3, Gamma=0.0, solver="sinkhorn").proof
    assert zero.quantity == "perfect_perception" and zero.parameters == {"D": 0.3}
    assert zero.primal["coupling"].shape == (4, 4) and not zero.primal["coupling"][3].any()
    assert len(zero.dual["f"]) == len(zero.dual["g"]) == 4
    assert zero.dual["f"][3] == zero.dual["g"][3] == 0.0
    assert all(check_proof(zero))
    wasserstein = RateDistortionPerception(p, d, divergence="wasserstein")
    assert _solve(wasserstein, D=0.3, Gamma=0.02, solver="clarabel").proof is None


def test_save_certificate(tmp_path):
    pytest.importorskip("rdconvex.check", reason="the independent checker is not in yet")
    from rdconvex.check import check_certificate

    rdp = RateDistortionPerception([0.5, 0.3, 0.2], 1 - np.eye(3), divergence="kl")
    for Gamma, solver in ((0.0, "sinkhorn"), (0.0, "clarabel"), (0.02, "clarabel")):
        res = _solve(rdp, D=0.3, Gamma=Gamma, solver=solver)
        res.save_certificate(tmp_path / "cert.json")
        verdict = check_certificate(tmp_path / "cert.json")
        assert verdict.lower_proven and verdict.upper_proven
