"""Explicit adversarial cases: every class of the issue, one case at a time.

Each case is solved by every applicable solver and judged by
:func:`~tests.adversarial.strategies.judge` against an independent mpmath reference
(:mod:`tests.adversarial.reference`): only documented typed errors, no NaN, the bounds
bracket the truth exactly, ``"optimal"`` only with ``gap <= tol``. The first block checks
the references themselves against closed forms and a second algorithm.
"""

from __future__ import annotations

import math
import os

import mpmath
import numpy as np
import pytest
from mpmath import mp, mpf

import rdconvex as rdc

from ..conftest import ALL
from . import reference as ref
from .strategies import (
    Case,
    as_tuple,
    call,
    check_case,
    column_ok,
    describe,
    exact_pmf,
    judge,
)

FULL = os.environ.get("RDCONVEX_ADVERSARIAL", "").strip().lower() == "full"
PERCEPTION = [s for s in rdc.installed_solvers(task="perfect_perception")]
H2 = 1 - np.eye(2)
HALF = (0.5, 0.5)
P73 = tuple(exact_pmf([7, 3]))          # ~ (0.7, 0.3), summing to exactly 1
P532 = tuple(exact_pmf([5, 3, 2]))
THIRDS = tuple(exact_pmf([1, 1, 1]))
INF = math.inf


def below(x: float, k: int = 1) -> float:
    for _ in range(k):
        x = float(np.nextafter(x, -INF))
    return x


def above(x: float, k: int = 1) -> float:
    for _ in range(k):
        x = float(np.nextafter(x, INF))
    return x


def rd(label, p, d, D):
    return Case("rd", label, tuple(float(v) for v in p), as_tuple(d), D)


def ll(label, p, A, D=None):
    A = np.asarray(A, dtype=float)
    assert column_ok(A), f"{label}: columns of A must sum to exactly 1"
    return Case("ll" if D is not None else "ll_dmin", label, tuple(float(v) for v in p),
                as_tuple(A), D)


def pp(label, p, d, D):
    return Case("pp", label, tuple(float(v) for v in p), as_tuple(d), D)


def params(cases):
    return [pytest.param(c, id=c.family) for c in cases]


def assert_ok(problems):
    assert not problems, "\n".join(problems)


# ============================================================ the references themselves
def _agree(a: ref.Ref, b: ref.Ref):
    assert a.infeasible == b.infeasible, (a, b)
    if a.infeasible:
        return
    assert a.width < ref.WIDTH and b.width < ref.WIDTH, (a, b)
    assert max(a.lo, b.lo) <= min(a.hi, b.hi), f"references disagree: {a} vs {b}"


@pytest.mark.parametrize("p, scale, offset, D_rel", [
    (HALF, 1e-12, 0.0, 0.25), (P73, 1.0, 0.0, 0.1), (P73, 1e-10, 1e6, 0.1),
    (P73, 1e-6, 1e3, 0.2999), (P73, 1e-8, 1.0, 1e-9), (P73, 1e9, 0.0, 0.05),
])
def test_reference_binary_closed_form(p, scale, offset, D_rel):
    d = offset + scale * H2
    D = offset + scale * D_rel
    _agree(ref.binary_symmetric_rate(p, d, D), ref.classical_rate(p, d, D))


@pytest.mark.parametrize("n, seed, D_rel", [(4, 3, 0.05), (4, 3, 0.5), (8, 4, 1e-6),
                                             (8, 5, 0.9)])
def test_reference_circulant_vs_general(n, seed, D_rel):
    rng = np.random.default_rng(seed)
    f = np.concatenate([[0.0], rng.random(n - 1)])
    d = np.array([[f[(y - x) % n] for y in range(n)] for x in range(n)])
    D = float(D_rel * f.mean())
    _agree(ref.circulant_uniform_rate(f, D), ref.classical_rate([1.0 / n] * n, d, D))


@pytest.mark.parametrize("n, scale, D_rel", [(4, 1e-9, 0.3), (4, 1.0, 1e-12), (8, 1e6, 0.5)])
def test_reference_uniform_hamming(n, scale, D_rel):
    d = scale * (1 - np.eye(n))
    D = scale * D_rel
    _agree(ref.uniform_hamming_rate(n, scale, D), ref.classical_rate([1.0 / n] * n, d, D))


def test_reference_second_algorithm():
    """Plain bisection + Blahut-Arimoto (no Newton) against the reference on 3x3."""
    rng = np.random.default_rng(11)
    p = exact_pmf(rng.dirichlet(np.ones(3)))
    d = rng.random((3, 3))
    data = ref.classical_data(p, d)
    D = float(data.D_min + (data.D_max - data.D_min) / 2)
    plain = ref.ba_plain_rate(p, d, D)
    main = ref.classical_rate(p, d, D)
    assert plain.width < mpf("1e-12")
    assert plain.lo <= main.lo and main.hi <= plain.hi, (plain, main)


@pytest.mark.parametrize("a", [0.9, 0.5 + 1e-6, 0.5 + 2 ** -40])
@pytest.mark.parametrize("theta", [0.5, 0.01])
def test_reference_bsc_loglik(a, theta):
    A = [[a, 1 - a], [1 - a, a]]
    with mp.workdps(ref.DPS):
        step = mpmath.log(mpf(a) / (1 - mpf(a)))
        D = float(ref.loglik_D_min(P73, A) + theta * mpf(P73[1]) * step)
    _agree(ref.bsc_loglik_rate(P73, a, D), ref.loglik_rate(P73, A, D))


@pytest.mark.parametrize("which", ["loglik-tie-1ulp", "classical-asymmetric",
                                   "classical-offset-asymmetric"])
def test_reference_binary_search(which):
    """Binary sources with an asymmetric distortion: a direct 1-D search."""
    with mp.workdps(ref.DPS):
        if which == "loglik-tie-1ulp":
            A = [[0.6, below(0.6)], [1 - 0.6, 1 - below(0.6)]]
            D = above(_ll_dmin_float(HALF, A))
            a = mpmath.log(mpf(A[0][0]) / mpf(A[0][1]))
            b = mpmath.log(mpf(A[1][1]) / mpf(A[1][0]))
            Dp = mpf(D) - ref.loglik_D_min(HALF, A)
            got, p = ref.loglik_rate(HALF, A, D), HALF
        else:
            c = 0.0 if which == "classical-asymmetric" else 1e3
            d = [[c, c + 1e-6], [c + 3e-6, c]]
            D = c + 0.2e-6
            a, b = mpf(d[0][1]) - mpf(d[0][0]), mpf(d[1][0]) - mpf(d[1][1])
            Dp, p = mpf(D) - mpf(c), P73
            got = ref.classical_rate(p, d, D)
        searched = ref.binary_rate_by_search(p, a, b, Dp)
        assert got.lo - mpf("1e-30") <= searched <= got.hi + mpf("1e-30"), (got, searched)


def test_reference_restricted_problems():
    A = [[0.6, 0.6 - 1e-10], [0.4, 1 - (0.6 - 1e-10)]]
    _agree(ref.singleton_rate(HALF, [0, 1]), ref.loglik_rate_at_D_min(HALF, A))
    _agree(ref.singleton_rate(P532, [0, 0, 1]),
           ref.classical_rate_at_D_min(P532, [[0, 0.1, 1], [0, 1, 1], [1, 2, 0]]))
    cycle = [[0, 1, INF], [INF, 0, 1], [1, INF, 0]]
    limit = ref.classical_rate_limit([0.25, 0.25, 0.5], cycle)  # not uniform: solve it
    assert limit.width < ref.WIDTH
    with mp.workdps(ref.DPS):
        exact = mpmath.log(mpf(3) / 2)
        uniform = ref.classical_rate_limit(THIRDS, cycle)
        # THIRDS is ~1e-17 from uniform, where the limit is exactly ln(3/2)
        assert abs(uniform.lo - exact) < mpf("1e-15")


def test_reference_straight_piece():
    """Fig. 4 of the paper: on the special-point interval R_ll(D) = H(X) - D exactly."""
    p = tuple(exact_pmf([35, 65]))
    A = np.array([[0.8, 1 - 0.6, 1 - 0.8], [1 - 0.8, 0.6, 0.8]])  # columns sum to exactly 1
    assert column_ok(A)
    with mp.workdps(ref.DPS):
        HX = -mpmath.fsum(mpf(v) * mpmath.log(mpf(v)) for v in p)
        for D in (0.55, 0.6):
            r = ref.loglik_rate(p, A, D)
            assert r.lo <= HX - mpf(D) <= r.hi, r


@pytest.mark.parametrize("p, d, D", [
    (HALF, H2, 0.1), (P73, H2, 0.01), (P73, H2, 0.3), (P73, 1 + 1e-9 * H2, 1 + 1e-10),
    (P73, [[0.0, 1.0], [3.0, 0.5]], 0.9),
])
def test_reference_binary_perception(p, d, D):
    _agree(ref.binary_perception_rate(p, d, D), ref.perception_rate_sinkhorn(p, d, D))


@pytest.mark.parametrize("n, scale, D_rel", [(2, 1.0, 0.05), (4, 1e-9, 0.3), (4, 1e6, 0.5),
                                             (4, 1.0, 1e-12)])
def test_reference_hamming_perception(n, scale, D_rel):
    p = [1.0 / n] * n
    D = scale * D_rel
    _agree(ref.uniform_hamming_perception_rate(n, scale, D),
           ref.perception_rate_sinkhorn(p, scale * (1 - np.eye(n)), D))


# ======================================================= 1. absolute snap windows
D21 = np.array([[1.0, 2.0], [2.0, 1.0]])
SNAP = [rd(f"binary-uniform-scale{s:g}", HALF, s * H2, 0.25 * s)
        for s in (1e-12, 1e-9, 1e-6, 1e6, 1e12)]
SNAP += [
    rd("below-Dmin-scale1e-6", P73, 1e-6 * D21, 1e-6 * (1 - 1e-13)),
    rd("prev-float-Dmin-scale1e-6", P73, 1e-6 * D21, below(1e-6)),
    rd("prev-float-Dmin-scale1", P73, D21, below(1.0)),
    rd("below-Dmin-scale1e6", P73, 1e6 * D21, 1e6 * (1 - 1e-13)),
    rd("Dmin+9e-13-scale1", HALF, H2, 9e-13),
    rd("Dmin+9e-13-offset1", P73, D21, 1 + 9e-13),
    rd("Dmin(1+1e-12)-scale1e3", P73, 1e3 * D21, 1e3 * (1 + 1e-12)),
    rd("Dmax-1ulp-scale1e-12", P73, 1e-12 * H2, below(float(P73[1]) * 1e-12)),
    rd("Dmax(1-1e-12)-scale1e-12", P73, 1e-12 * H2, float(P73[1]) * 1e-12 * (1 - 1e-12)),
]
SNAP += [rd(f"Dmin+{k}ulp-scale{s:g}", P73, s * D21, above(s, k))
         for s, k in ((1e-6, 1), (1.0, 4), (1e6, 1))]
SNAP += [rd("Dmin+1ulp-zero-Dmin", P73, H2, 5e-324)]


@pytest.mark.parametrize("case", params(SNAP))
@pytest.mark.parametrize("solver", ALL)
def test_snap_windows(case, solver):
    assert_ok(check_case(case, solver))


# ============================================================= 2. constant offsets
M3 = np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 1.0], [0.5, 4.0, 0.0]])
OFFSET = [rd(f"c{c:g}+eps{eps:g}*hamming", P73, c + eps * H2, c + 0.1 * eps)
          for c in (1.0, 1e3, 1e6) for eps in (1e-6, 1e-8, 1e-10)]
OFFSET += [rd(f"c{c:g}+eps{eps:g}*M3", P532, c + eps * M3, c + 0.8 * eps)
           for c, eps in ((1.0, 1e-10), (1e3, 1e-8), (1e6, 1e-6), (1e6, 1e-10))]


@pytest.mark.parametrize("case", params(OFFSET))
@pytest.mark.parametrize("solver", ALL)
def test_constant_offsets(case, solver):
    assert_ok(check_case(case, solver))


def _bsc(delta):
    a = 0.5 + delta
    return np.array([[a, 1 - a], [1 - a, a]])


def _ll_target(p, A, theta):
    with mp.workdps(ref.DPS):
        D_min = ref.loglik_D_min(p, A)
        D_max = min(-mpmath.fsum(mpf(px) * mpmath.log(mpf(A[x][u])) for x, px in enumerate(p))
                    for u in range(len(A[0])))
        return float(D_min + theta * (D_max - D_min))


UNINFORMATIVE = [ll(f"bsc-delta{delta:g}-mid", P73, _bsc(delta), _ll_target(P73, _bsc(delta), 0.5))
                 for delta in (1e-3, 1e-6, 1e-9, 1e-12, 2.0 ** -50)]
# the float nearest to the (transcendental) D_min, whichever side it falls, and 1 ulp up
UNINFORMATIVE += [ll(f"bsc-delta{delta:g}-D=fl(Dmin)+{k}ulp", P73, _bsc(delta),
                     above(_ll_target(P73, _bsc(delta), 0.0), k))
                  for delta in (1e-12, 2.0 ** -50) for k in (0, 1)]
UNINFORMATIVE += [ll(f"bsc-delta{delta:g}-Dmin-program", P73, _bsc(delta))
                  for delta in (1e-3, 1e-9, 1e-12, 2.0 ** -50)]


@pytest.mark.parametrize("case", params(UNINFORMATIVE))
@pytest.mark.parametrize("solver", ALL)
def test_uninformative_loglik(case, solver):
    assert_ok(check_case(case, solver))


PERCEPTION_CASES = [
    pp("1+1e-9*hamming-D=1+1e-10", P73, 1 + 1e-9 * H2, 1 + 1e-10),
    pp("1+1e-9*hamming-D=1+2e-10", P73, 1 + 1e-9 * H2, 1 + 2e-10),
    pp("1+1e-9*hamming-D=1+1ulp", P73, 1 + 1e-9 * H2, above(1.0)),
    pp("1+1e-9*hamming-D=1-1ulp", P73, 1 + 1e-9 * H2, below(1.0)),
    pp("1e6+1e-6*hamming", HALF, 1e6 + 1e-6 * H2, 1e6 + 1e-7),
    pp("asymmetric-binary", P73, [[0.0, 1.0], [3.0, 0.5]], 0.9),
    pp("ternary-hamming-1e-9", THIRDS, 1e-9 * (1 - np.eye(3)), 0.3e-9),
    pp("ternary-hamming-1e9", THIRDS, 1e9 * (1 - np.eye(3)), 0.05e9),
    pp("ternary-offset", P532, 1e3 + 1e-8 * np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]]),
       1e3 + 1e-9),
    pp("4-ary-hamming-Dmin+1ulp", (0.25,) * 4, 1 - np.eye(4), 5e-324),
]


@pytest.mark.parametrize("case", params(PERCEPTION_CASES))
@pytest.mark.parametrize("solver", PERCEPTION)
def test_perfect_perception(case, solver):
    assert_ok(check_case(case, solver))


@pytest.mark.parametrize("divergence", ["kl", "hellinger", "chi2"])
def test_perfect_perception_any_divergence(divergence):
    """Gamma = 0 means q = p whatever the divergence: the same R(D, 0)."""
    p, d, D = P73, 1 + 1e-9 * H2, 1 + 1e-10
    truth = ref.perception_rate(p, d, D)
    problems = []
    for solver in PERCEPTION:
        outcome = call(lambda solver=solver: rdc.RateDistortionPerception(
            p, d, divergence=divergence).solve(D=D, Gamma=0.0, solver=solver))
        problems += [f"[{solver}] {divergence}: {m} | got {describe(outcome)} | truth {truth}"
                     for m in judge(outcome, truth)]
    assert_ok(problems)


# ================================================================ 3. near-ties
def _tie_A(delta_kind):
    if delta_kind == "1ulp":
        a = below(0.6)
    elif delta_kind == "exact":
        a = 0.6
    else:
        a = 0.6 - float(delta_kind)
    return np.array([[0.6, a], [1 - 0.6, 1 - a]])


TIE_KINDS = ["1ulp", "1e-15", "1e-12", "1e-10", "5e-10", "1e-8", "exact"]


def _ll_dmin_float(p, A):
    with mp.workdps(ref.DPS):
        return float(ref.loglik_D_min(p, A))


TIES = [ll(f"tie-{k}-Dmin-program", HALF, _tie_A(k)) for k in TIE_KINDS]
TIES += [ll(f"tie-{k}-D=Dmin+{j}ulp", HALF, _tie_A(k), above(_ll_dmin_float(HALF, _tie_A(k)), j))
         for k, j in (("1ulp", 1), ("1e-10", 8))]
_A3 = np.array([[0.5, 0.5 - 2 ** -40, 0.25], [0.25, 0.25 + 2 ** -40, 0.25], [0.25, 0.25, 0.5]])
TIES += [ll("3x3-tie-2^-40-Dmin-program", P532, _A3),
         ll("3x3-tie-2^-40-D=Dmin+1e-12", P532, _A3, _ll_dmin_float(P532, _A3) + 1e-12)]
CLASSICAL_TIES = [
    rd("classical-tie-1ulp-at-Dmin", HALF, [[1.0, above(1.0)], [above(1.0), 1.0]], 1.0),
    rd("classical-tie-1e-10-at-Dmin", P532,
       [[0.0, 1e-10, 1.0], [1.0, 0.0, 1e-10], [1e-10, 1.0, 0.0]], 0.0),
    rd("classical-tie-1e-10-Dmin+1e-13", P532,
       [[0.0, 1e-10, 1.0], [1.0, 0.0, 1e-10], [1e-10, 1.0, 0.0]], 1e-13),
]


@pytest.mark.parametrize("case", params(TIES + CLASSICAL_TIES))
@pytest.mark.parametrize("solver", ALL)
def test_near_ties(case, solver):
    assert_ok(check_case(case, solver))


# ============================================== 4. slope 0 with D_max = +inf
CYCLE = np.array([[0.0, 1.0, INF], [INF, 0.0, 1.0], [1.0, INF, 0.0]])


def _ring(n, width, values=None):
    d = np.full((n, n), INF)
    for x in range(n):
        for k in range(width + 1):
            d[x, (x + k) % n] = float(k) if values is None else values[x][k]
    return d


SLOPE0 = [
    Case("rd_slope0", "3-cycle-uniform", THIRDS, as_tuple(CYCLE)),
    Case("rd_slope0", "3-cycle-skewed", tuple(exact_pmf([1, 2, 5])), as_tuple(CYCLE)),
    Case("rd_slope0", "4-ring", (0.25,) * 4, as_tuple(_ring(4, 1))),
    Case("rd_slope0", "5-ring-width2", tuple(exact_pmf([1, 2, 3, 4, 5])),
         as_tuple(_ring(5, 2))),
    Case("rd_slope0", "3-cycle-scale1e-9", THIRDS, as_tuple(1e-9 * CYCLE)),
]
LARGE_D = [rd(f"3-cycle-D={D:g}", THIRDS, CYCLE, D) for D in (0.5, 10.0, 1e6)]
LARGE_D += [rd("4-ring-D=1", (0.25,) * 4, _ring(4, 1), 1.0)]


@pytest.mark.parametrize("case", params(SLOPE0 + LARGE_D))
@pytest.mark.parametrize("solver", ALL)
def test_slope_zero_and_infinite_D_max(case, solver):
    assert_ok(check_case(case, solver))


# ====================================================== 5. verify()
VERIFY_PROBLEMS = {
    "snap-1e-12": (HALF, 1e-12 * H2, 0.25e-12),
    "offset-1e6": (P73, 1e6 + 1e-8 * H2, 1e6 + 1e-9),
    "near-Dmin": (P73, D21, 1 + 9e-13),
    "cycle": (THIRDS, CYCLE, 10.0),
}


@pytest.mark.parametrize("name", sorted(VERIFY_PROBLEMS))
@pytest.mark.parametrize("solver", ALL)
def test_verify_accepts_the_true_rate(name, solver):
    p, d, D = VERIFY_PROBLEMS[name]
    truth = ref.classical_rate(p, d, D)
    outcome = call(lambda: rdc.verify(rdc.RateDistortion(p, d), D=D, rate=truth.value,
                                      solver=solver))
    assert outcome.error is None, describe(outcome)
    assert outcome.result.valid, f"true rate {truth} rejected: {outcome.result.reason}"


@pytest.mark.parametrize("name", sorted(VERIFY_PROBLEMS))
@pytest.mark.parametrize("solver", [None, "clarabel"])
@pytest.mark.parametrize("offset", [-1e-3, 1e-3])
def test_verify_rejects_a_false_claim(name, solver, offset):
    p, d, D = VERIFY_PROBLEMS[name]
    truth = ref.classical_rate(p, d, D)
    claim = truth.value + offset
    if claim < 0:
        claim = truth.value + abs(offset)
    outcome = call(lambda: rdc.verify(rdc.RateDistortion(p, d), D=D, rate=claim,
                                      solver=solver))
    assert outcome.error is None, describe(outcome)
    assert not outcome.result.valid, (f"false claim {claim!r} accepted (truth {truth}): "
                                      f"{outcome.result.reason}")


@pytest.mark.parametrize("scale", [1e-12, 1e-9, 1e-6])
def test_verify_rejects_channel_ten_times_over_budget(scale):
    prob = rdc.RateDistortion(HALF, scale * H2)
    W = np.array([[0.9, 0.1], [0.1, 0.9]])  # distortion 0.1 * scale
    D = 0.01 * scale                          # budget: ten times smaller
    outcome = call(lambda: rdc.verify(prob, D=D, channel=W))
    assert outcome.error is None, describe(outcome)
    v = outcome.result
    assert not v.valid, (f"scale {scale:g}: channel with distortion {v.achieved_distortion!r} "
                         f"accepted for D = {D!r}: {v.reason}")


@pytest.mark.parametrize("scale", [1e-12, 1e-9, 1.0, 1e9])
def test_verify_accepts_channel_within_budget(scale):
    prob = rdc.RateDistortion(HALF, scale * H2)
    W = np.array([[0.75, 0.25], [0.25, 0.75]])  # distortion exactly 0.25 * scale
    outcome = call(lambda: rdc.verify(prob, D=0.25 * scale * (1 + 1e-15), channel=W))
    assert outcome.error is None, describe(outcome)
    assert outcome.result.valid, outcome.result.reason


def test_verify_rejects_finite_claim_below_D_min():
    prob = rdc.RateDistortion(P73, 1e-6 * D21)
    outcome = call(lambda: rdc.verify(prob, D=below(1e-6), rate=0.5))
    assert outcome.error is None, describe(outcome)
    assert not outcome.result.valid, outcome.result.reason


# ================================================= 6. subnormal probabilities
H3 = 1 - np.eye(3)
SUBNORMAL = [
    rd("p=[.5,.5,5e-324]-D=0.1", (0.5, 0.5, 5e-324), H3, 0.1),
    rd("p=[.5,.5,5e-324]-D=Dmin", (0.5, 0.5, 5e-324), H3, 0.0),
    rd("p=[.5,.5,5e-324]-D=1ulp", (0.5, 0.5, 5e-324), H3, 5e-324),
    rd("p=[1,5e-324]-D=0", (1.0, 5e-324), H2, 0.0),
    rd("p=[1,5e-324]-D=1e-300", (1.0, 5e-324), H2, 1e-300),
    rd("p=[1,5e-324]-D=0.25", (1.0, 5e-324), H2, 0.25),
    rd("p=[.75,.25,1e-310]-offset", (0.75, 0.25, 1e-310), 1e3 + 1e-6 * H3, 1e3 + 1e-7),
    rd("p=[.5,2.5e-320,.5]-M3", (0.5, 2.5e-320, 0.5), M3, 0.3),
]
SUBNORMAL_LL = [ll("ll-p=[.5,.5,5e-324]", (0.5, 0.5, 5e-324),
                   np.array([[0.5, 0.25], [0.25, 0.5], [0.25, 0.25]]), 1.2),
                ll("ll-p=[.5,.5,5e-324]-Dmin-program", (0.5, 0.5, 5e-324),
                   np.array([[0.5, 0.25], [0.25, 0.5], [0.25, 0.25]]))]


@pytest.mark.parametrize("case", params(SUBNORMAL + SUBNORMAL_LL))
@pytest.mark.parametrize("solver", ALL)
def test_subnormal_probabilities(case, solver):
    assert_ok(check_case(case, solver))


# ================================================ 7. status "optimal" means gap <= tol
def _random_case(seed, n=5, m=5, theta=0.5):
    rng = np.random.default_rng(seed)
    p = exact_pmf(rng.dirichlet(np.ones(n)))
    d = rng.random((n, m))
    data = ref.classical_data(p, d)
    D = float(data.D_min + (data.D_max - data.D_min) * type(data.D_min)(theta))
    return rd(f"random{n}x{m}-seed{seed}-theta{theta:g}", p, d, D)


STATUS = [_random_case(seed) for seed in range(2)] + [_random_case(9, 6, 6, 1e-3)]


@pytest.mark.parametrize("case", params(STATUS))
@pytest.mark.parametrize("solver", ALL)
@pytest.mark.parametrize("tol", [None, 1e-9])
def test_status_optimal_means_gap_within_tol(case, solver, tol):
    options = {} if tol is None else {"tol": tol}
    assert_ok(check_case(case, solver, **options))


# ============================================ 8. medium problems near D_min
def _circulant(n, seed):
    rng = np.random.default_rng(seed)
    f = np.concatenate([[0.0], rng.random(n - 1)])
    return f, np.array([[f[(y - x) % n] for y in range(n)] for x in range(n)])


def _classes_40(seed):
    """40 x 40, dense random values, eight distinct rows and columns (exactly reducible
    to 8 x 8 for the reference)."""
    rng = np.random.default_rng(seed)
    B = rng.random((8, 8))
    d = np.array([[B[x % 8, (3 * y) % 8] for y in range(40)] for x in range(40)])
    return exact_pmf(rng.dirichlet(np.ones(40))), d


MEDIUM_SOLVERS = ["clarabel", "ecos", "ba"] + (["scs"] if FULL else [])
MEDIUM = []
for _n, _seed, _thetas in ((32, 1, (1e-2, 1e-3, 1e-6)),
                           (64, 2, (1e-2, 1e-3, 1e-6) if FULL else (1e-6,))):
    _f, _d = _circulant(_n, _seed)
    for _theta in _thetas:
        _D = float(_theta * _f.mean())
        MEDIUM.append(pytest.param(rd(f"circulant{_n}-theta{_theta:g}", [1.0 / _n] * _n, _d, _D),
                                   ref.circulant_uniform_rate(_f, _D),
                                   id=f"circulant{_n}-theta{_theta:g}"))
for _theta in (1e-3, 1e-6):
    _p, _d = _classes_40(5)
    _data = ref.classical_data(_p, _d)
    _D = float(_data.D_min + (_data.D_max - _data.D_min) * type(_data.D_min)(_theta))
    MEDIUM.append(pytest.param(rd(f"classes40-theta{_theta:g}", _p, _d, _D), None,
                               id=f"classes40-theta{_theta:g}"))


@pytest.mark.parametrize("case, truth", MEDIUM)
@pytest.mark.parametrize("solver", MEDIUM_SOLVERS)
def test_medium_problems_near_D_min(case, truth, solver):
    """No SolverError here: an honest (possibly inaccurate) certified answer is due."""
    assert_ok(check_case(case, solver, truth, allow_solver_error=False))


# ================================================== 9. warm starts of the wrong size
@pytest.mark.parametrize("solver", ALL)
def test_warm_start_of_wrong_size_is_a_typed_error(solver):
    prob = rdc.RateDistortion(P73, H2)
    other = rdc.RateDistortion(P532, M3).solve(D=0.3, solver="ba")
    for warm in (other, (1.0, np.ones(3) / 3)):
        outcome = call(lambda warm=warm: prob.solve(D=0.1, solver=solver, warm_start=warm))
        exc = outcome.error
        if solver == "ba":
            assert isinstance(exc, rdc.RDConvexError), (
                f"warm start of the wrong size: expected a typed RDConvexError, got "
                f"{describe(outcome)}")
        else:  # conic solvers may reject the option (typed) or ignore it
            assert exc is None or isinstance(exc, rdc.RDConvexError), describe(outcome)
            if exc is None:
                truth = ref.classical_rate(P73, H2, 0.1)
                assert_ok(judge(outcome, truth))


# ============================== 10. inputs that once defeated the reference itself
# (found by running the reference alone over thousands of generated cases: tiny
# probabilities next to huge slopes, near-duplicate outputs, 1e-300 rows on forbidden
# rings, distortions spanning 1e-320 ... 1e-12); judged like every other case
INF6 = math.inf
HARD = [
    rd("near-duplicate-outputs", (0.19025825404108676, 0.33015478253512054,
                                  0.058828732701511455, 0.2396306627907081,
                                  0.18112756793157314),
       [[1e-06, 2e-06, 2e-06], [2e-06, 1e-06, 1.0000000000000002e-06],
        [2e-06, 1.00000001e-06, 1e-06], [2e-06, 2e-06, 2e-06], [2e-06, 2e-06, 2e-06]],
       1.6110164847633679e-06),
    rd("p=1e-200-row-D=1ulp", (1e-200, 0.22055369976438421, 0.32760964962244876,
                               0.0019780372852125083, 0.4016205100574365, 0.04823810327051803),
       1e-12 * (1 - np.eye(6)), 5e-324),
    rd("disparate-2x2", (0.9999884241138354, 1.1575886164627569e-05),
       [[0.09999999999999999, 4.578387516668311e-74], [2.220446049250313e-10, 403540.7842856324]],
       0.009356488329182774),
    rd("offset-1e6-p=1e-100", (0.991403158740215, 1.1102230246251565e-16, 1e-100,
                               0.0017296580484189583, 0.006864167033356017,
                               3.0161780099069446e-06),
       [[2e6, 8e6, 2000000.0000000105, 9e6], [4e6, 5e6, 8e6, 5e6], [3e6, 7e6, 3e6, 4e6],
        [5e6, 9e6, 8e6, 1e6], [1e7, 5e6, 3e6, 9e6], [4e6, 5e6, 9e6, 7e6]], 2005140.541340958),
    rd("astronomical-slope", (0.5059760956175299, 0.4940239043824701),
       [[159.3132118592138, 183.93413722256182, 804.890242916071, 790.177195932597,
         1.8560313519542437e-217],
        [9.999999999999999e-05, 6.279375482258992e-50, 500.0, 379.5658444963522,
         2.220446049250313e-13]], 1.0969534267201733e-13),
    rd("subnormal-distortions", (1e-300, 0.6, 0.4),
       [[7.966997236298751e-13, 2.5917312359181405e-13, 3.25420951354647e-14],
        [1.246191122677647e-13, 1.1126e-320, 7.646347108070803e-13],
        [2.5e-323, 2.2253e-320, 2.2253e-320]], 3.707472257e-314),
    Case("rd_slope0", "ring-with-p=1e-300",
         (0.3333333333333335, 0.16666666666666663, 1e-300, 0.16666666666666663,
          0.16666666666666663, 0.16666666666666663),
         as_tuple([[7e-06, 6e-06, INF6, INF6, INF6, 4e-06],
                   [9e-06, 1e-06, 4.9999999999999996e-06, INF6, INF6, INF6],
                   [INF6, 7e-06, 7e-06, 8e-06, INF6, INF6], [INF6, INF6, 6e-06, 1e-06, 2e-06, INF6],
                   [INF6, INF6, INF6, 4e-06, 0.0, 8e-06], [7e-06, INF6, INF6, INF6, 6e-06, 7e-06]])),
    ll("ll-p=1e-16-rows", (0.4999999999999998, 1.1102230246251565e-16, 0.5, 1.1102230246251565e-16),
       [[0.31976744186046513, 0.1575757575757576, 0.10256410256410253, 0.2931034482758621,
         0.2359154929577465],
        [0.11046511627906974, 0.36363636363636365, 0.36630036630036633, 0.31034482758620685,
         0.2640845070422535],
        [0.436046511627907, 0.08484848484848484, 0.18681318681318682, 0.3448275862068966,
         0.3063380281690141],
        [0.13372093023255816, 0.3939393939393939, 0.3443223443223443, 0.051724137931034475,
         0.19366197183098588]], 0.9850838274290623),
    rd("offset-1ulp-tie-p=2.5e-320", (0.029111636291500376, 0.9281627138027075,
                                       0.0011510832229477685, 0.041574566682844316, 2.5e-320),
       [[3.7, 3.70000001, 3.7000000000000006, 3.70000000000037, 3.70000001],
        [3.70000001, 3.7, 3.70000001, 3.70000001, 3.70000001],
        [3.70000001, 3.70000001, 3.7, 3.70000001, 3.70000001],
        [3.70000001, 3.70000001, 3.70000001, 3.7, 3.70000001],
        [3.7000000000000126, 3.70000001, 3.70000001, 3.70000001, 3.7]], 3.7000000000000015),
    ll("ll-straight-piece-ending-at-Dmax", HALF,
       [[0.5, 0.13043478260869568, 0.9775280898876404],
        [0.5, 0.8695652173913043, 0.022471910112359605]], 0.6931471805599453),
    pp("pp-nearly-diagonal-kernel", (0.2817564035546263, 0.5227391531625718,
                                     0.03972817564035547, 0.15577626764244645),
       [[5.925876803331177e-13, 1.0060280599450946e-12, 1.093081182353717e-12,
         1.7227734819750017e-12],
        [5.414125340096606e-13, 9.324409460184868e-239, 1.1500323725698254e-12, 2.5e-13],
        [1.3735254717200997e-12, 9.040312256069284e-13, 0.0, 8.63090004321987e-13],
        [2.3316471821033744e-12, 2.0522940420202733e-12, 2.1095644929506294e-12,
         7.273699162442194e-13]], 2.802723443493614e-13),
]


@pytest.mark.parametrize("case", params(HARD))
@pytest.mark.parametrize("solver", ALL)
def test_hard_inputs(case, solver):
    if case.kind == "pp":
        solver = {"ba": "sinkhorn"}.get(solver, solver)
    assert_ok(check_case(case, solver))
