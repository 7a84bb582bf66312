"""Reference instances of the log-likelihood family, with where each number comes from,
and float64 evaluators written independently of the code under test.

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

import numpy as np
from scipy.special import entr, rel_entr

from rdconvex.closed_forms import binary_entropy as h

LN2 = math.log(2.0)
FIG3 = dict(p_x=[0.75, 0.25], p_x_given_u=[[0.9, 0.1], [0.1, 0.9]])
FIG4 = dict(p_x=[0.65, 0.35], p_x_given_u=[[0.8, 0.4, 0.2], [0.2, 0.6, 0.8]])
CYCLIC = dict(p_x=[0.5, 0.3, 0.2],
              p_x_given_u=[[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0.4, 0.2, 0.4]])
CYCLIC_RATE = 0.3 * math.log(1 / 0.6) + 0.2 * math.log(1 / 0.4)
#: The cyclic instance as arrays, with its exact maximum-likelihood sets T(x) of (8).
CYCLIC_P = np.array(CYCLIC["p_x"])
CYCLIC_A = np.array(CYCLIC["p_x_given_u"])
CYCLIC_TIES = CYCLIC_A >= CYCLIC_A.max(axis=1, keepdims=True)
# Zeros in A (forbidden pairs) and a zero-probability source symbol.
SPARSE = dict(p_x=[0.6, 0.4, 0.0],
              p_x_given_u=[[0.5, 0.0, 0.3], [0.5, 0.6, 0.0], [0.0, 0.4, 0.7]])

#: Fig. 4's special-point interval in nats (see the module docstring).
FIG4_D1 = h(0.2)
FIG4_D2 = h(0.2) + 0.375 * (h(0.4) - h(0.2))


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


def random_instance(seed: int, n: int, k: int, consistent: bool):
    """Dirichlet columns; when ``consistent`` the source is A Q for a random P_U, so
    special points exist."""
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.ones(n), size=k).T
    if consistent:
        p = A @ rng.dirichlet(np.ones(k))
    else:
        p = rng.dirichlet(np.ones(n))
    return p / p.sum(), A


# ---------------------------------------------------------------------------
# Independent high-precision references (mpmath), for the problem the floats define:
# p~ = p / sum p and A exactly as given, d = -log A. Nothing here calls rdconvex.
# ---------------------------------------------------------------------------

import mpmath  # noqa: E402

mpmath.mp.dps = 60


def mp_pmf(p):
    """``p / sum p`` with the floats taken exactly."""
    values = [mpmath.mpf(float(v)) for v in p]
    total = mpmath.fsum(values)
    return [v / total for v in values]


def mp_entropy(p) -> mpmath.mpf:
    return -mpmath.fsum(v * mpmath.log(v) for v in mp_pmf(p) if v > 0)


def mp_rate_at_D_min_singletons(p, A) -> mpmath.mpf:
    """(8) when every T(x) (the exact argmax of row x, float comparison) is a single u:
    the optimum is the entropy of the law of the ML map t(X)."""
    A = np.asarray(A, dtype=float)
    law: dict[int, mpmath.mpf] = {}
    for x, px in enumerate(mp_pmf(p)):
        if px == 0:
            continue
        (u,) = np.flatnonzero(A[x] == A[x].max())
        law[int(u)] = law.get(int(u), mpmath.mpf(0)) + px
    return -mpmath.fsum(q * mpmath.log(q) for q in law.values())


def mp_cyclic_rate() -> mpmath.mpf:
    """CYCLIC at D_min: Q = (a, b, 0) with b = p1 / (p1 + p2), a = p2 / (p1 + p2)
    satisfies the KKT conditions of (8) for the floats p (p1 + p2 = p0 = 1/2 exactly,
    so both active multipliers and the unused one equal 1)."""
    _, p1, p2 = mp_pmf(CYCLIC["p_x"])
    return -p1 * mpmath.log(p1 / (p1 + p2)) - p2 * mpmath.log(p2 / (p1 + p2))


def mp_binary_entropy(t) -> mpmath.mpf:
    t = mpmath.mpf(t)
    if t <= 0 or t >= 1:
        return mpmath.mpf(0)
    return -t * mpmath.log(t) - (1 - t) * mpmath.log(1 - t)


def mp_shifted(p, A, D):
    """``(p~, e0, e1, D')`` of a 2 x 2 likelihood whose row maxima are on the diagonal:
    ``d'`` = [[0, e0], [e1, 0]], ``D' = D - sum_x p~_x (-log max_u A[x,u])``."""
    A = [[mpmath.mpf(float(v)) for v in row] for row in np.asarray(A, dtype=float)]
    assert A[0][0] > A[0][1] and A[1][1] > A[1][0], "row maxima must be on the diagonal"
    pt = mp_pmf(p)
    e0, e1 = mpmath.log(A[0][0] / A[0][1]), mpmath.log(A[1][1] / A[1][0])
    D_min = -pt[0] * mpmath.log(A[0][0]) - pt[1] * mpmath.log(A[1][1])
    return pt, e0, e1, mpmath.mpf(float(D)) - D_min


def mp_bsc_rate(p, A, D) -> mpmath.mpf:
    """R_ll(D) of a BSC likelihood [[a, b], [b, a]] (a > b): d' = log(a/b) x Hamming, so
    R = h(p~_0) - h(D' / log(a/b)) while D' / log(a/b) <= min(p~), else 0 (the binary
    Hamming rate-distortion function, Cover & Thomas Thm 10.3.1)."""
    pt, e0, e1, excess = mp_shifted(p, A, D)
    assert e0 == e1
    t = excess / e0
    assert t >= 0
    if t >= min(pt):
        return mpmath.mpf(0)
    return mp_binary_entropy(pt[0]) - mp_binary_entropy(t)


def mp_two_by_two_rate(p, A, D) -> mpmath.mpf:
    """R(D) of a 2 x 2 problem with d' = [[0, e0], [e1, 0]] by its parametric form:
    at slope s (a_i = exp(-s e_i)) both Gallager constraints are tight, so
    p~_0 c_0 = (1 - a_1) / (1 - a_0 a_1), p~_1 c_1 = (1 - a_0) / (1 - a_0 a_1); the
    output pmf q solves 1/c_0 = q_0 + a_0 q_1, 1/c_1 = a_1 q_0 + q_1; the distortion is
    D'(s) = p~_0 c_0 q_1 a_0 e_0 + p~_1 c_1 q_0 a_1 e_1 (decreasing in s) and
    R = sum_x p~_x log c_x - s D'. The slope hitting the target is found by bisection
    on log s (300 steps at 60 digits)."""
    pt, e0, e1, target = mp_shifted(p, A, D)
    assert target >= 0
    if target >= min(pt[1] * e1, pt[0] * e0):
        return mpmath.mpf(0)

    def point(s):
        a0, a1 = mpmath.exp(-s * e0), mpmath.exp(-s * e1)
        det = 1 - a0 * a1
        c0, c1 = (1 - a1) / det / pt[0], (1 - a0) / det / pt[1]
        q0 = (1 / c0 - a0 / c1) / det
        q1 = (1 / c1 - a1 / c0) / det
        distortion = pt[0] * c0 * q1 * a0 * e0 + pt[1] * c1 * q0 * a1 * e1
        return q0, q1, distortion, pt[0] * mpmath.log(c0) + pt[1] * mpmath.log(c1)

    scale = 1 / min(e0, e1)
    lo, hi = mpmath.log(scale * mpmath.mpf(10) ** -6), mpmath.log(scale * 10 ** 6)
    for _ in range(300):
        mid = (lo + hi) / 2
        q0, q1, distortion, _ = point(mpmath.exp(mid))
        if q0 < 0 or q1 < 0 or distortion > target:
            lo = mid
        else:
            hi = mid
    s = mpmath.exp((lo + hi) / 2)
    q0, q1, distortion, value = point(s)
    assert q0 >= 0 and q1 >= 0 and abs(distortion - target) <= mpmath.mpf(10) ** -45 * target
    return value - s * distortion
