"""Issue 14: a certificate is a proof for the problem the user's floats define.

Near-ties (entries 1e-10 or one ulp apart: different maximum-likelihood sets, not ties)
and nearly uninformative likelihoods (a BSC with crossover 1/2 - delta: a -log A offset
of log 2 and differences of 4 delta) against 60-digit mpmath references written in
:mod:`tests.problems.loglik_cases` (closed forms and a parametric 2 x 2 solution, which
agree with each other). ``lower <= reference <= upper`` is checked with no tolerance,
for every installed solver.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import rdconvex as rdc

from ..conftest import TOLERANCE
from .loglik_cases import (
    mp_bsc_rate,
    mp_entropy,
    mp_rate_at_D_min_singletons,
    mp_two_by_two_rate,
)

ULP_BELOW_HALF = math.nextafter(0.5, 0.0)
ULP_ABOVE_HALF = math.nextafter(0.5, 1.0)

#: Two likelihoods whose rows have distinct exact maxima 1e-10 and one ulp apart.
NEAR_TIES = {
    "1e-10": [[0.5, 0.5 - 1e-10], [0.5, 0.5 + 1e-10]],
    "1 ulp": [[0.5, ULP_BELOW_HALF], [0.5, ULP_ABOVE_HALF]],
}
DELTAS = (1e-6, 1e-7, 1e-8, 1e-9)


def bsc(delta: float) -> list:
    return [[0.5 + delta, 0.5 - delta], [0.5 - delta, 0.5 + delta]]


@pytest.fixture(autouse=True)
def _quiet_inaccurate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        yield


def assert_brackets(result, reference):
    cert = result.certificate
    assert cert.lower <= reference <= cert.upper, (float(reference), cert)


# ---------------------------------------------------------------------------
# Near-ties at D_min: (8) with exact argmax sets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NEAR_TIES))
@pytest.mark.parametrize("p", [[0.5, 0.5], [0.3, 0.7]])
def test_near_ties_rate_at_D_min(solver, name, p):
    """T(0) = {0} and T(1) = {1} exactly, so the ML decoder is the identity and
    R_ll(D_min) = H(X) (ln 2 for the uniform source), not 0 as with a tie tolerance."""
    A = NEAR_TIES[name]
    ll = rdc.LogLikelihood(p, A)
    assert ll.ties.tolist() == [[True, False], [False, True]]
    reference = mp_rate_at_D_min_singletons(p, A)
    assert reference == mp_entropy(p)
    res = ll.rate_at_D_min(solver=solver)
    np.testing.assert_array_equal(res.channel, np.eye(2))
    assert_brackets(res, reference)
    assert res.certificate.gap <= TOLERANCE[solver]
    assert res.status == "optimal"


@pytest.mark.parametrize("name", sorted(NEAR_TIES))
def test_near_ties_solve_at_D_min(solver, name):
    # The exact D_min is irrational (a log): rate_at_D_min certifies it exactly; the float
    # ll.D_min lies just above it, where the near-tie makes the curve drop steeply.
    ll = rdc.LogLikelihood([0.5, 0.5], NEAR_TIES[name])
    res = ll.rate_at_D_min(solver=solver)
    assert_brackets(res, mp_entropy([0.5, 0.5]))
    res = ll.solve(D=ll.D_min, solver=solver)
    assert_brackets(res, mp_two_by_two_rate([0.5, 0.5], NEAR_TIES[name], ll.D_min))


@pytest.mark.parametrize("name", sorted(NEAR_TIES))
def test_near_ties_verify_accepts_the_true_claim(name):
    """Issue 14's report: verify rejected R_ll(D_min) = ln 2 (and accepted 0)."""
    ll = rdc.LogLikelihood([0.5, 0.5], NEAR_TIES[name])
    truth = float(mp_two_by_two_rate([0.5, 0.5], NEAR_TIES[name], ll.D_min))
    assert rdc.verify(ll, D=ll.D_min, rate=truth).verdict == "accepted"
    assert rdc.verify(ll, D=ll.D_min, rate=truth + 0.01).verdict == "rejected"


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.7])
def test_near_ties_solve(solver, fraction):
    """Inside (D_min, D_max) (a window of 1e-10 nats at an offset of log 2) the bounds
    bracket the parametric 2 x 2 solution. Conic solvers meet the distortion constraint
    only to ~1e-8 here, so their certificates are honest but wide."""
    p, A = [0.5, 0.5], NEAR_TIES["1e-10"]
    ll = rdc.LogLikelihood(p, A)
    D = ll.D_min + fraction * (ll.D_max - ll.D_min)
    reference = mp_two_by_two_rate(p, A, D)
    assert 0 < reference < math.log(2)
    res = ll.solve(D=D, solver=solver)
    assert_brackets(res, reference)
    if solver == "ba":
        assert res.certificate.gap <= 1e-6


@pytest.mark.parametrize("name", sorted(NEAR_TIES))
@pytest.mark.parametrize("p", [[0.5, 0.5], [0.75, 0.25]])
def test_rate_at_D_min_certificate_file(tmp_path, name, p):
    """The proof of (8)'s certificate: A data, D exactly D_min, the decoder and slope
    inf; the independent checker proves both claims."""
    ll = rdc.LogLikelihood(p, NEAR_TIES[name])
    res = ll.rate_at_D_min()
    proof = res.proof
    assert proof.quantity == "rate_distortion"
    assert np.array_equal(proof.problem["A"], ll.p_x_given_u) and "d" not in proof.problem
    assert proof.parameters == {"D": "D_min"}
    assert proof.dual["slope"] == math.inf
    np.testing.assert_array_equal(proof.primal["channel"], res.channel)
    assert (proof.lower, proof.upper) == (res.certificate.lower, res.certificate.upper)
    path = tmp_path / "dmin.json"
    res.save_certificate(path)
    assert path.read_text().count('"slope": null') == 1
    verdict = rdc.check_certificate(path)
    assert verdict.lower_proven and verdict.upper_proven, verdict.message


# ---------------------------------------------------------------------------
# Nearly uninformative BSC likelihoods: offsets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("delta", DELTAS)
@pytest.mark.parametrize("t", [0.01, 0.1, 0.2])
def test_bsc_offsets_solve(solver, delta, t, tmp_path):
    """d = -log A is log 2 + O(delta) while d' = log((1/2 + delta)/(1/2 - delta)) x
    Hamming: R_ll(D) = h(p) - h(D'/log ratio). The target D' = t log ratio is ~1e-9 at
    an offset of ~0.69 (float64 resolves it to ~1e-7 relative; the reference uses the
    float D exactly)."""
    p, A = [0.25, 0.75], bsc(delta)
    ll = rdc.LogLikelihood(p, A)
    ratio = math.log(A[0][0] / A[0][1])
    D = ll.D_min + t * ratio
    reference = mp_bsc_rate(p, A, D)
    assert abs(reference - mp_two_by_two_rate(p, A, D)) < 1e-40
    res = ll.solve(D=D, solver=solver)
    assert_brackets(res, reference)
    if solver == "ba":
        assert res.certificate.gap <= 1e-5
    # The independent checker (ball arithmetic from the file alone) agrees.
    res.save_certificate(tmp_path / "bsc.json")
    verdict = rdc.check_certificate(tmp_path / "bsc.json")
    assert verdict.lower_proven and verdict.upper_proven, verdict.message


@pytest.mark.parametrize("delta", DELTAS)
def test_bsc_offsets_rate_at_D_min_and_curve(delta):
    p, A = [0.25, 0.75], bsc(delta)
    ll = rdc.LogLikelihood(p, A)
    assert_brackets(ll.rate_at_D_min(), mp_entropy(p))
    ratio = math.log(A[0][0] / A[0][1])
    Ds = [ll.D_min + t * ratio for t in (0.05, 0.15, 0.24)]
    curve = ll.curve(D=Ds)
    for D, lower, upper in zip(curve.D, curve.lower, curve.upper):
        assert lower <= mp_bsc_rate(p, A, D) <= upper
