"""The classical R(D) against closed forms, across solvers; D_min, D_max; certificates.

References: binary Hamming R(D) = h(p) - h(D) (Cover & Thomas, Thm 10.3.1).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.closed_forms import binary_entropy, binary_hamming_rate

from ..conftest import REQUIRED, TOLERANCE, random_problem


def test_required_solvers_installed():
    missing = [s for s in REQUIRED if s not in rdc.installed_solvers()]
    assert not missing, f"solvers required in CI are missing: {missing}"


def test_issue_acceptance_binary_hamming_clarabel():
    prob = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    res = prob.solve(D=0.1, solver="clarabel")
    exact = binary_entropy(0.3) - binary_entropy(0.1)
    assert abs(res.rate - exact) <= 1e-7
    assert res.certificate.gap <= 1e-6
    assert res.certificate.lower <= exact + 1e-12 <= res.certificate.upper + 2e-12
    assert res.status is rdc.Status.OPTIMAL


@pytest.mark.parametrize("p, D", [(0.3, 0.1), (0.5, 0.25), (0.1, 0.02), (0.45, 0.3)])
def test_binary_hamming(solver, p, D):
    prob = rdc.RateDistortion([1 - p, p], 1 - np.eye(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        res = prob.solve(D=D, solver=solver)
    exact = binary_hamming_rate(p, D)
    tol = TOLERANCE[solver]
    assert res.rate == pytest.approx(exact, abs=tol)
    assert res.certificate.lower <= exact + 1e-10
    assert exact <= res.certificate.upper + 1e-10
    assert res.certificate.gap <= tol
    assert res.distortion <= D + 1e-12
    if D < min(p, 1 - p):
        assert res.slope == pytest.approx(math.log((1 - D) / D), rel=1e-2)
    np.testing.assert_allclose(res.channel.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(res.output_pmf, prob.p_x @ res.channel, atol=1e-12)


def test_bits_convert_at_edges():
    nats = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).solve(D=0.1)
    bits = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2), units="bits").solve(D=0.1)
    assert bits.rate == pytest.approx(nats.rate / math.log(2), rel=1e-9)
    assert bits.certificate.upper == pytest.approx(nats.certificate.upper / math.log(2))
    assert bits.distortion == pytest.approx(nats.distortion)  # d keeps its own units
    assert bits.slope == pytest.approx(nats.slope / math.log(2), rel=1e-6)
    assert bits.units == bits.certificate.units == "bits"


ASYM = np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 1.0], [0.5, 4.0, 0.0]])
P3 = np.array([0.5, 0.3, 0.2])


def _reference(p, d, D):
    """A tight Clarabel solve used as the reference for the other solvers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        return rdc.RateDistortion(p, d).solve(D=D, solver="clarabel", tol=1e-10)


@pytest.mark.parametrize("D", [0.1, 0.3, 0.5])
def test_asymmetric_3x3(solver, D):
    prob = rdc.RateDistortion(P3, ASYM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        res = prob.solve(D=D, solver=solver)
    ref = _reference(P3, ASYM, D)
    assert ref.certificate.gap < 1e-7
    assert res.rate == pytest.approx(ref.rate, abs=TOLERANCE[solver])
    # Certificates of different solvers bracket the same number.
    assert res.certificate.lower <= ref.certificate.upper + 1e-9
    assert ref.certificate.lower <= res.certificate.upper + 1e-9


def test_forbidden_pairs(solver):
    d = np.array([[0.0, 1.0, np.inf], [np.inf, 0.0, 1.0], [1.0, np.inf, 0.0]])
    prob = rdc.RateDistortion(P3, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        res = prob.solve(D=0.2, solver=solver)
    assert np.all(res.channel[~np.isfinite(d)] == 0.0)
    assert res.distortion <= 0.2 + 1e-12
    ref = _reference(P3, d, 0.2)
    assert res.rate == pytest.approx(ref.rate, abs=TOLERANCE[solver])
    assert res.certificate.lower <= res.certificate.upper + 1e-12


def test_D_min_D_max_values():
    prob = rdc.RateDistortion(P3, ASYM)
    assert prob.D_min == pytest.approx(0.0)
    assert prob.D_max == pytest.approx(min(P3 @ ASYM))
    d = np.array([[1.0, np.inf], [2.0, 0.5]])
    prob = rdc.RateDistortion([0.5, 0.5], d)
    assert prob.D_min == pytest.approx(0.75)
    assert prob.D_max == pytest.approx(1.5)  # column 0; column 1 is forbidden for x=0


def test_at_D_min_and_D_max(conic_solver):
    prob = rdc.RateDistortion(P3, ASYM)
    at_min = prob.solve(D=prob.D_min, solver=conic_solver)
    # no ties: the argmin channel (identity) is the only feasible one
    assert at_min.rate == pytest.approx(-np.sum(P3 * np.log(P3)), abs=1e-9)
    assert at_min.slope == math.inf
    assert at_min.certificate.gap <= 1e-9
    at_max = prob.solve(D=prob.D_max, solver=conic_solver)
    above = prob.solve(D=prob.D_max + 1.0, solver=conic_solver)
    # The float D_max may lie a rounding below the exact one: then a rate of a few ulps
    # is the honest answer (rate 0 would need distortion <= D proven).
    assert at_max.rate <= 1e-14 and at_max.certificate.lower == 0.0
    assert above.rate == 0.0 and above.certificate.lower == 0.0 and above.slope == 0.0
    for res in (at_max, above):
        assert res.distortion == pytest.approx(prob.D_max)


def test_D_min_with_ties(conic_solver):
    # x=0 is equally well served by outputs 0 and 1: the optimum merges it with x=1.
    d = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    prob = rdc.RateDistortion(P3, d)
    res = prob.solve(D=0.0, solver=conic_solver)
    exact = -np.sum([0.8 * math.log(0.8), 0.2 * math.log(0.2)])
    assert res.rate == pytest.approx(exact, abs=TOLERANCE[conic_solver])
    assert res.certificate.lower <= exact + 1e-9 and res.certificate.gap < 1e-4


def test_between_and_monotone(rng):
    p, d = random_problem(rng, 6, 5, inf_fraction=0.2)
    prob = rdc.RateDistortion(p, d)
    Ds = np.linspace(prob.D_min, min(prob.D_max, prob.D_min + 1), 7)[1:-1]
    rates = [prob.solve(D=D).rate for D in Ds]
    assert all(a >= b - 1e-7 for a, b in zip(rates, rates[1:]))
    # convexity of R(D)
    second = np.diff(rates, 2)
    assert np.all(second >= -1e-6)


def test_zero_probability_symbols():
    d = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    full = rdc.RateDistortion([0.5, 0.0, 0.5], d).solve(D=0.3)
    reduced = rdc.RateDistortion([0.5, 0.5], d[[0, 2]]).solve(D=0.3)
    assert full.rate == pytest.approx(reduced.rate, abs=1e-7)
    assert full.channel.shape == (3, 3)
    np.testing.assert_allclose(full.channel.sum(axis=1), 1.0)


def test_slope_solve_matches_D_solve():
    prob = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    at_slope = prob.solve(slope=2.0)
    assert at_slope.D == pytest.approx(1 / (1 + math.e ** 2), abs=1e-5)
    at_D = prob.solve(D=at_slope.D)
    assert at_slope.rate == pytest.approx(at_D.rate, abs=1e-7)
    assert prob.solve(slope=0.0).rate == 0.0


def test_primal_and_dual_programs_agree():
    prob = rdc.RateDistortion(P3, ASYM)
    primal = prob.program(D=0.3)
    dual = prob.dual_program(D=0.3)
    primal.solve(solver="CLARABEL")
    dual.solve(solver="CLARABEL")
    assert primal.value == pytest.approx(dual.value, abs=1e-7)
    # the slope of the primal is the dual variable s
    assert primal["distortion"].dual_value == pytest.approx(
        dual.variables_by_name["s"].value, rel=1e-4)


def test_primal_and_dual_formulations_agree(conic_solver):
    prob = rdc.RateDistortion(P3, ASYM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        by_primal = prob.solve(D=0.3, solver=conic_solver, formulation="primal")
        by_dual = prob.solve(D=0.3, solver=conic_solver, formulation="dual")
    # Both are certified: their rates differ by at most the sum of their gaps, and the
    # gaps are small. (The dual's channel is rebuilt from its multipliers, so its upper
    # bound is the looser one.)
    gaps = by_primal.certificate.gap + by_dual.certificate.gap
    assert abs(by_primal.rate - by_dual.rate) <= gaps + 1e-12
    assert gaps <= 10 * TOLERANCE[conic_solver]
    assert by_dual.certificate.lower <= by_primal.certificate.upper + 1e-12
    assert by_primal.certificate.lower <= by_dual.certificate.upper + 1e-12


def test_program_prints_as_math():
    text = str(rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).program(0.1))
    for needle in ("minimize", "I(X;Y)", "log(J[x,y] / (p[x] q[y]))", "[distortion]",
                   "<= D", "D = 0.1", "[source marginal]", "[output marginal]"):
        assert needle in text
    latex = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).dual_program(0.1).latex()
    assert r"\max" in latex and r"\log" in latex


def test_result_is_frozen():
    res = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).solve(D=0.1)
    with pytest.raises(AttributeError):
        res.rate = 1.0
    with pytest.raises(ValueError):
        res.channel[0, 0] = 0.5
