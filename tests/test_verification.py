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
    assert verdict.points[0].valid is False
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


# ------------------------------------------- tolerances, units, the miss (issue 15)
def test_rtol_accepts_a_rate_printed_to_four_digits(prob):
    exact = binary_hamming_rate(P, D)                   # 0.28578132866...
    printed = round(exact, 4)                           # 0.2858
    verdict = rdc.verify(prob, D=D, rate=printed)
    assert not verdict.valid
    assert verdict.miss == pytest.approx(printed - exact, abs=1e-12)
    assert f"by {printed - exact:.3g}" in verdict.reason
    assert f"[{verdict.lower:.10g}, {verdict.upper:.10g}] nats" in verdict.reason
    verdict = rdc.verify(prob, D=D, rate=printed, rtol=1e-3)
    assert verdict.valid and verdict.rtol == 1e-3
    assert "misses the certified interval" in verdict.reason and "within the tolerance" \
        in verdict.reason
    # the rule: lower - (tol + rtol |r|) <= r <= upper + (tol + rtol |r|)
    allowed = 1e-6 + 1e-5 * printed
    assert rdc.verify(prob, D=D, rate=verdict.upper + 0.99 * allowed, rtol=1e-5).valid
    assert not rdc.verify(prob, D=D, rate=verdict.upper + 1.01 * allowed, rtol=1e-5).valid
    assert not rdc.verify(prob, D=D, rate=verdict.lower - 1.01 * allowed, rtol=1e-5).valid
    with pytest.raises(rdc.InvalidArgumentError, match="rtol"):
        rdc.verify(prob, D=D, rate=printed, rtol=-1e-3)


def test_inside_the_interval_the_miss_is_zero(prob):
    verdict = rdc.verify(prob, D=D, rate=binary_hamming_rate(P, D))
    assert verdict.valid and verdict.miss == 0.0
    assert "lies within the certified interval" in verdict.reason
    assert "certified:" in str(verdict) and "R(0.1)" in str(verdict)


def test_claims_in_other_units_are_converted(prob):
    bits = binary_hamming_rate(P, D, units="bits")
    verdict = rdc.verify(prob, D=D, rate=bits, units="bits")
    assert verdict.valid and verdict.claim_units == "bits" and verdict.units == "nats"
    assert verdict.claimed_rate == pytest.approx(binary_hamming_rate(P, D), abs=1e-15)
    assert "given in bits" in str(verdict)
    # a log-likelihood problem's D is a log-loss: it converts too (fig. 3, in bits)
    ll = rdc.LogLikelihood([0.75, 0.25], [[0.9, 0.1], [0.1, 0.9]], units="bits")
    D_star, truth = _entropy(0.9, 0.1), _entropy(0.75, 0.25) - _entropy(0.9, 0.1)  # nats
    verdict = rdc.verify(ll, D=D_star, rate=truth, units="nats", tol=1e-7)
    assert verdict.valid and verdict.D == pytest.approx(D_star / math.log(2))
    with pytest.raises(rdc.InvalidArgumentError, match="units"):
        rdc.verify(prob, D=D, rate=0.3, units="hats")


def test_channel_rate_within_rtol(prob):
    W = optimal_channel()
    exact = binary_hamming_rate(P, D)
    assert not rdc.verify(prob, D=D, channel=W, rate=round(exact, 4)).valid
    assert rdc.verify(prob, D=D, channel=W, rate=round(exact, 4), rtol=1e-3).valid


class _Points:
    """Another tool's curve: only ``distortions`` and ``rates`` (units unknown)."""

    def __init__(self, distortions, rates):
        self.distortions, self.rates = distortions, rates


def test_curve_claims_are_duck_typed(prob):
    Ds = np.array([0.05, 0.1, 0.2])
    rates = np.array([binary_hamming_rate(P, x) for x in Ds])
    curve = prob.curve(D=Ds)                                        # an rdconvex Curve
    for claim in (curve, {"D": Ds, "rate": rates}, (Ds, rates), _Points(Ds, rates)):
        verdict = rdc.verify(prob, curve=claim)
        assert verdict.valid and len(verdict.points) == 3, type(claim)
        assert verdict.claim_units is None and np.all(verdict.miss <= 1e-6)
    bits = rdc.verify(prob, curve={"D": Ds, "rate": rates / math.log(2), "units": "bits"})
    assert bits.valid and bits.claim_units == "bits"
    assert not rdc.verify(prob, curve=_Points(Ds, rates / math.log(2))).valid  # nats assumed


def test_curve_verdict_names_the_largest_miss(prob):
    Ds = [0.05, 0.1, 0.2]
    rates = [binary_hamming_rate(P, x) for x in Ds]
    rates[1] += 0.01
    verdict = rdc.verify(prob, curve=(Ds, rates))
    assert not verdict.valid
    assert "the largest miss is 0.01 nats at D=0.1" in verdict.reason
    assert verdict.miss[1] == pytest.approx(0.01, abs=1e-6)


def test_curve_envelopes_are_remembered(prob, monkeypatch):
    from rdconvex import verification

    verification._envelopes.clear()
    calls = []
    real = type(prob).envelope
    monkeypatch.setattr(type(prob), "envelope",
                        lambda self, *a, **k: calls.append(k) or real(self, *a, **k))
    claim = ([0.05, 0.1], [binary_hamming_rate(P, 0.05), binary_hamming_rate(P, 0.1)])
    assert rdc.verify(prob, curve=claim).valid
    assert rdc.verify(rdc.RateDistortion([1 - P, P], HAMMING), curve=claim).valid
    assert len(calls) == 1                          # same data, same band
    assert rdc.verify(prob, curve=claim, tol=1e-4).valid
    assert len(calls) == 2                          # another eps, another band


def test_dit_curves_and_points():
    """dit's RDCurve (bits) and its RateDistortionResult points, duck-typed; dit is an
    optional dependency, imported only here."""
    dit = pytest.importorskip("dit")
    from dit.rate_distortion import RDCurve
    from dit.rate_distortion.blahut_arimoto import blahut_arimoto

    prob = rdc.RateDistortion([1 - P, P], HAMMING)           # nats
    curve = RDCurve(dit.Distribution(["0", "1"], [1 - P, P]), beta_num=5, beta_max=8)
    verdict = rdc.verify(prob, curve=curve)
    assert verdict.valid and verdict.claim_units == "bits" and len(verdict.points) == 5
    np.testing.assert_allclose(verdict.claimed_rate, curve.rates * math.log(2))
    np.random.seed(7)                                        # dit's restarts are random
    point, _ = blahut_arimoto(np.array([1 - P, P]), beta=3.0, restarts=2)
    exact = binary_hamming_rate(P, float(point.distortion), units="bits")
    assert abs(point.rate - exact) < 1e-6
    assert rdc.verify(prob, curve=point).valid                # one point
    assert rdc.verify(prob, curve=[point, point]).valid       # a sequence of points
    wrong = type(point)(point.rate + 0.01, point.distortion)
    verdict = rdc.verify(prob, curve=[point, wrong])
    assert [p.valid for p in verdict.points] == [True, False]
    assert verdict.miss[1] == pytest.approx(0.01 * math.log(2), rel=1e-3)


def test_verification_module_does_not_import_dit():
    import ast
    from pathlib import Path

    from rdconvex import verification

    tree = ast.parse(Path(verification.__file__).read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              and node.module}
    assert not any(name.startswith("dit") for name in names)
