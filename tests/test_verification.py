"""rdc.verify: correct claims are accepted, each kind of wrong claim is rejected with
its reason, malformed arguments raise.

Reference: binary Hamming with X ~ Ber(p), D < p: R(D) = h(p) - h(D), attained by the
backward test channel X = Y xor N, N ~ Ber(D), Y ~ Ber((p - D) / (1 - 2D)) (Cover &
Thomas, Thm 10.3.1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.closed_forms import binary_hamming_rate

P, D = 0.3, 0.1
HAMMING = 1 - np.eye(2)


def optimal_channel(p=P, D=D):
    """The forward channel W(y|x) of the backward test channel (closed form)."""
    r = (p - D) / (1 - 2 * D)
    joint = np.array([[(1 - r) * (1 - D), r * D], [(1 - r) * D, r * (1 - D)]])
    return joint / joint.sum(axis=1, keepdims=True)


@pytest.fixture
def prob():
    return rdc.RateDistortion([1 - P, P], HAMMING)


def test_accepts_the_true_rate_and_the_optimal_channel(prob):
    exact = binary_hamming_rate(P, D)
    verdict = rdc.verify(prob, D=D, rate=round(exact, 7))
    assert verdict.valid and verdict.verdict == "accepted"
    assert verdict.lower <= exact <= verdict.upper + 1e-15
    W = optimal_channel()
    verdict = rdc.verify(prob, D=D, channel=W, rate=exact)
    assert verdict.valid and verdict.channel_valid
    assert verdict.achieved_rate == pytest.approx(exact, abs=1e-14)
    assert verdict.achieved_distortion == pytest.approx(D, abs=1e-15)
    assert isinstance(verdict, rdc.Verification) and "accepted" in str(verdict)


def test_accepts_a_suboptimal_but_valid_channel(prob):
    # Any feasible channel is a valid achievability claim; its excess is reported.
    verdict = rdc.verify(prob, D=D, channel=[[0.95, 0.05], [0.2, 0.8]])
    assert verdict.valid
    assert verdict.achieved_rate > verdict.upper + 1e-3


def test_rejects_a_rate_below_the_lower_bound(prob):
    exact = binary_hamming_rate(P, D)
    verdict = rdc.verify(prob, D=D, rate=exact - 1e-4)
    assert not verdict.valid and verdict.verdict == "rejected"
    assert "below the certified lower bound" in verdict.reason
    # within the stated tolerance it is accepted; a tighter tolerance rejects it
    assert rdc.verify(prob, D=D, rate=exact - 1e-7).valid
    assert not rdc.verify(prob, D=D, rate=exact - 1e-7, tol=1e-8).valid


def test_rejects_a_rate_above_the_upper_bound(prob):
    verdict = rdc.verify(prob, D=D, rate=binary_hamming_rate(P, D) + 1e-3)
    assert not verdict.valid and "above the certified upper bound" in verdict.reason


def test_rejects_a_perturbed_channel_with_the_optimal_rate_claimed(prob):
    W = optimal_channel()
    W[0] = [W[0, 0] + 0.01, W[0, 1] - 0.01]  # lower distortion, higher rate
    verdict = rdc.verify(prob, D=D, channel=W, rate=binary_hamming_rate(P, D))
    assert not verdict.valid and verdict.channel_valid
    assert "differs from the channel's mutual information" in verdict.reason
    assert verdict.achieved_rate > binary_hamming_rate(P, D) + 1e-4


def test_rejects_a_channel_over_budget(prob):
    verdict = rdc.verify(prob, D=D, channel=[[0.8, 0.2], [0.2, 0.8]])
    assert not verdict.valid and verdict.channel_valid
    assert "over budget" in verdict.reason and verdict.achieved_distortion > D


@pytest.mark.parametrize("channel, reason", [
    ([[0.9, 0.1]], "shape"),
    ([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]], "shape"),
    ([[0.9, 0.2], [0.1, 0.9]], "sums to"),
    ([[1.1, -0.1], [0.1, 0.9]], "negative"),
    ([[float("nan"), 1.0], [0.1, 0.9]], "not a finite probability"),
    ([["a", "b"], ["c", "d"]], "not a numeric matrix"),
    ("identity", "string"),
])
def test_rejects_invalid_channels_with_a_reason(prob, channel, reason):
    verdict = rdc.verify(prob, D=D, channel=channel)
    assert not verdict.valid and verdict.channel_valid is False
    assert reason in verdict.reason and verdict.reason.startswith("invalid channel")


def test_rejects_mass_on_a_forbidden_pair():
    d = np.array([[0.0, np.inf], [1.0, 0.0]])
    prob = rdc.RateDistortion([0.5, 0.5], d)
    verdict = rdc.verify(prob, D=0.4, channel=[[0.9, 0.1], [0.5, 0.5]])
    assert not verdict.valid and "forbidden pair (x=0, y=1)" in verdict.reason
    assert rdc.verify(prob, D=0.4, channel=[[1.0, 0.0], [0.5, 0.5]]).valid


def test_rejects_claims_below_D_min():
    prob = rdc.RateDistortion([0.5, 0.5], HAMMING + 0.2)
    verdict = rdc.verify(prob, D=0.1, rate=1.0)
    assert not verdict.valid and "below D_min" in verdict.reason
    assert verdict.lower == math.inf
    verdict = rdc.verify(prob, D=0.1, channel=np.eye(2))
    assert not verdict.valid and "over budget" in verdict.reason


def test_rounded_rows_are_accepted_and_renormalised(prob):
    W = np.round(optimal_channel(), 7)
    verdict = rdc.verify(prob, D=D + 1e-6, channel=W)
    assert verdict.valid


def test_curve_claims_per_point():
    prob = rdc.RateDistortion([1 - P, P], HAMMING)
    Ds = np.array([0.05, 0.1, 0.2, 0.3, 0.4])
    rates = np.array([binary_hamming_rate(P, x) for x in Ds])
    verdict = rdc.verify(prob, curve=(Ds, rates))
    assert verdict.valid and len(verdict.points) == 5
    assert all(pt.valid for pt in verdict.points)
    # one certified band of width tol = 1e-6 (the envelope), valid at every D
    assert np.all(verdict.lower <= rates) and np.all(rates <= verdict.upper)
    assert np.all(verdict.upper - verdict.lower <= 1e-6)
    wrong = rates.copy()
    wrong[2] -= 0.01
    verdict = rdc.verify(prob, curve=(Ds[::-1], wrong[::-1]))  # any order
    assert not verdict.valid and "1 of 5 points rejected" in verdict.reason
    assert [pt.valid for pt in verdict.points] == [True, True, False, True, True]
    assert verdict.points[2].D == pytest.approx(0.2)
    shifted = rdc.RateDistortion([0.5, 0.5], HAMMING + 0.2)
    verdict = rdc.verify(shifted, curve=([0.1, 0.3], [1.0, 0.5]))
    assert [pt.valid for pt in verdict.points][0] is False
    assert "below D_min" in verdict.points[0].reason


def test_bits():
    prob = rdc.RateDistortion([1 - P, P], HAMMING, units="bits")
    exact_bits = binary_hamming_rate(P, D, units="bits")
    assert rdc.verify(prob, D=D, rate=exact_bits).valid
    assert not rdc.verify(prob, D=D, rate=binary_hamming_rate(P, D)).valid  # nats != bits
    verdict = rdc.verify(prob, D=D, channel=optimal_channel())
    assert verdict.achieved_rate == pytest.approx(exact_bits, abs=1e-13)


def test_malformed_arguments_raise(prob):
    with pytest.raises(rdc.InvalidArgumentError, match="D must be a real number"):
        rdc.verify(prob, D="0.1", rate=0.3)
    with pytest.raises(rdc.InvalidArgumentError, match="nothing to verify"):
        rdc.verify(prob, D=0.1)
    with pytest.raises(rdc.InvalidArgumentError, match="distortion budget D"):
        rdc.verify(prob, rate=0.3)
    with pytest.raises(rdc.InvalidArgumentError, match="alone"):
        rdc.verify(prob, D=0.1, curve=([0.1], [0.3]))
    with pytest.raises(rdc.InvalidArgumentError, match="equally many"):
        rdc.verify(prob, curve=([0.1, 0.2], [0.3]))
    with pytest.raises(rdc.InvalidArgumentError, match="pair"):
        rdc.verify(prob, curve=[0.1, 0.2, 0.3])
    with pytest.raises(rdc.InvalidArgumentError, match="RateDistortion"):
        rdc.verify("hamming", D=0.1, rate=0.3)
    with pytest.raises(rdc.InvalidArgumentError, match="rate"):
        rdc.verify(prob, D=0.1, rate="0.3")


# ------------------------------------------------- every family, default solvers
def _entropy(*probabilities) -> float:
    return float(-sum(x * np.log(x) for x in probabilities if x > 0))


def test_true_perfect_perception_claim_is_accepted_with_the_default_solver():
    # X ~ Ber(0.3), Hamming, Gamma = 0: both marginals are Ber(0.3), so P(X != Y) = D
    # fixes the joint [[0.65, 0.05], [0.05, 0.25]] and R(0.1, 0) = 2 h(0.3) - H(joint).
    rdp = rdc.RateDistortionPerception([0.7, 0.3], 1 - np.eye(2))
    truth = 2 * _entropy(0.7, 0.3) - _entropy(0.65, 0.05, 0.05, 0.25)
    assert rdc.verify(rdp, D=0.1, Gamma=0.0, rate=truth, tol=1e-7).valid
    assert not rdc.verify(rdp, D=0.1, Gamma=0.0, rate=truth - 1e-4, tol=1e-7).valid
    assert rdc.verify(rdp, curve=([0.1], [truth]), Gamma=0.0, tol=1e-7).valid
    with pytest.raises(rdc.InvalidArgumentError, match="needs its budget"):
        rdc.verify(rdp, D=0.1, rate=truth)


def test_true_loglik_claim_is_accepted_with_the_default_solver():
    # Fig. 3: X ~ Ber(0.25), A = BSC(0.1). U ~ Ber(0.1875) is consistent, so
    # D* = H(X|U) = h(0.1) is a special point with R_ll(D*) = h(0.25) - h(0.1) (Thm 1-iii).
    ll = rdc.LogLikelihood([0.75, 0.25], [[0.9, 0.1], [0.1, 0.9]])
    D, truth = _entropy(0.9, 0.1), _entropy(0.75, 0.25) - _entropy(0.9, 0.1)
    assert rdc.verify(ll, D=D, rate=truth, tol=1e-7).valid
    assert not rdc.verify(ll, D=D, rate=truth + 1e-4, tol=1e-7).valid
    with pytest.raises(rdc.InvalidArgumentError, match="no perception constraint"):
        rdc.verify(ll, D=D, rate=truth, Gamma=0.0)
