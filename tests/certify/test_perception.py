"""The certificate layer of R(D, Gamma) on its own, against independent arb/mpmath
references (:mod:`rdconvex.certify.perception_bounds`, :mod:`.perception_support`,
:mod:`.perfect_perception`, :mod:`.perception`).

References, written here and independent of the code under test:

* ``awr_round_arb`` — Altschuler–Weed–Rigollet's ``round`` in python-flint ``arb`` at
  300 bits, as docs/certificate-format.md specifies it, with the KL divergence and
  distortion of the rounded coupling; ``check_proof`` re-derives a certificate record's
  bounds from the record alone (a small checker of the format).
* binary Hamming sources with ``d = c + eps * Hamming`` (``eps`` as the floats make it):
  ``R(D, 0) = 2 h(p) - H([[p0 - a, a], [a, p1 - a]])`` with ``a = D' / (2 eps)``, and
  ``R(D, Gamma) = min_r R_r(D)`` over output pmfs ``Ber(r)`` in the divergence ball
  (one coupling parameter per ``r``; golden-section search in mpmath at 50 digits);
  ``p`` is the exact pmf the floats define, ``p / sum p``.
* support functions by brute force over a fine grid of the simplex (mpmath).
"""

from __future__ import annotations

import math

import flint
import mpmath as mp
import numpy as np
import pytest

from rdconvex.certify.perception import perception_upper
from rdconvex.certify.perception_bounds import (
    coupling_bounds,
    entropic_dual_bound,
    output_enclosure,
)
from rdconvex.certify.perception_support import support_lower_bound, support_upper
from rdconvex.certify.perfect_perception import (
    absorb_forbidden,
    identity_coupling,
    perfect_bounds,
    prepare_coupling,
)
from rdconvex.rigorous import ShiftedProblem

P = np.array([0.7, 0.3])
HAMMING = 1.0 - np.eye(2)
CLOSED_FORM = ("tv", "kl", "reverse_kl", "hellinger", "chi2")
BITS = 300


# ----------------------------------------------------------------------- references


def exact_pmf(p):
    """``p / sum p`` in mpmath (50 digits)."""
    with mp.workdps(50):
        total = mp.fsum(mp.mpf(float(x)) for x in p)
        return [mp.mpf(float(x)) / total for x in p]


def _entropy(*probabilities):
    return -mp.fsum(x * mp.log(x) for x in probabilities if x > 0)


def binary_perfect_reference(p, d, D):
    """``R(D, 0)`` for the binary source ``p`` and ``d = c + eps * Hamming`` (2x2 floats)."""
    with mp.workdps(50):
        p0, p1 = exact_pmf(p)
        c = mp.mpf(float(d[0][0]))
        eps = mp.mpf(float(d[0][1])) - c
        a = (mp.mpf(float(D)) - c) / (2 * eps)
        if a >= p0 * p1:
            return mp.mpf(0)
        return 2 * _entropy(p0, p1) - _entropy(p0 - a, a, a, p1 - a)


def _binary_ball(divergence, p0, p1, Gamma):
    """The interval of ``r1`` with ``gamma((p0, p1), (1 - r1, r1)) <= Gamma`` (bisection)."""
    def gamma(r1):
        r0 = 1 - r1
        if divergence == "tv":
            return abs(r1 - p1)
        if divergence == "kl":
            return p0 * mp.log(p0 / r0) + p1 * mp.log(p1 / r1)
        raise ValueError(divergence)

    def edge(inside, outside):
        for _ in range(200):
            mid = (inside + outside) / 2
            inside, outside = (mid, outside) if gamma(mid) <= Gamma else (inside, mid)
        return inside

    tiny = mp.mpf(10) ** -40
    lo = tiny if gamma(tiny) <= Gamma else edge(p1, tiny)
    hi = 1 - tiny if gamma(1 - tiny) <= Gamma else edge(p1, 1 - tiny)
    return lo, hi


def binary_perception_reference(p, d, D, Gamma, divergence):
    """``R(D, Gamma)`` for the binary source (module docstring)."""
    with mp.workdps(50):
        p0, p1 = exact_pmf(p)
        c = mp.mpf(float(d[0][0]))
        delta = (mp.mpf(float(D)) - c) / (mp.mpf(float(d[0][1])) - c)

        def rate(r1):
            r0 = 1 - r1
            t = min(p0 * r1, (delta - r0 + p0) / 2)
            if t < max(0, p0 - r0):
                return mp.inf
            J = [[p0 - t, t], [r0 - p0 + t, r1 - t]]
            return mp.fsum(J[x][y] * mp.log(J[x][y] / ((p0, p1)[x] * (r0, r1)[y]))
                           for x in range(2) for y in range(2) if J[x][y] > 0)

        lo, hi = _binary_ball(divergence, p0, p1, mp.mpf(float(Gamma)))
        golden = (mp.sqrt(5) - 1) / 2
        a, b = lo, hi
        for _ in range(220):
            x1, x2 = b - golden * (b - a), a + golden * (b - a)
            if rate(x1) <= rate(x2):
                b = x2
            else:
                a = x1
        return min(rate(lo), rate(hi), rate((a + b) / 2))


def _arb(x):
    return flint.arb(float(x))


def awr_round_arb(K, a, b):
    """AWR's round of the float matrix ``K`` to the marginals ``a``, ``b`` (arb lists).

    A row or column scaled down ends with exactly its marginal, so its deficit is set to
    an exact 0 (ball arithmetic alone would leave a tiny ball around 0 there, and the
    rank-one correction would then seem to touch forbidden pairs)."""
    n, m = K.shape
    J = [[_arb(K[x, y]) for y in range(m)] for x in range(n)]
    row_scaled = [False] * n
    for x in range(n):
        r = sum(J[x], flint.arb(0))
        if r > a[x]:
            J[x] = [v * a[x] / r for v in J[x]]
            row_scaled[x] = True
    col_scaled = [False] * m
    for y in range(m):
        c = sum((J[x][y] for x in range(n)), flint.arb(0))
        if c > b[y]:
            for x in range(n):
                J[x][y] = J[x][y] * b[y] / c
            col_scaled[y] = True
    e_r = [flint.arb(0) if row_scaled[x] and not any(col_scaled[y] and K[x, y] > 0
                                                     for y in range(m))
           else a[x] - sum(J[x], flint.arb(0)) for x in range(n)]
    e_c = [flint.arb(0) if col_scaled[y] or b[y] == 0
           else b[y] - sum((J[x][y] for x in range(n)), flint.arb(0)) for y in range(m)]
    s = sum(e_r, flint.arb(0))
    if not s == 0:
        J = [[J[x][y] + (e_r[x] * e_c[y] / s if not (e_r[x] == 0 or e_c[y] == 0)
                         else flint.arb(0)) for y in range(m)] for x in range(n)]
    return J


def rounded_coupling_values(p, p_out, d, K, D):
    """``(KL(J' || p p^T), <J', d'>, D')`` in arb for the AWR rounding ``J'`` of ``K``
    (rows: the entries of ``p``; ``inf`` distortion if ``J'`` may touch a forbidden pair)."""
    with flint.ctx.workprec(BITS):
        total = sum((_arb(x) for x in p), flint.arb(0))
        a = [_arb(x) / total for x in p]
        b = [_arb(x) / total for x in p_out]
        J = awr_round_arb(np.asarray(K, float), a, b)
        rows = [min(float(v) for v in row if math.isfinite(v)) for row in d]
        kl, dist = flint.arb(0), flint.arb(0)
        for x in range(len(a)):
            for y in range(len(b)):
                if J[x][y] == 0:
                    continue
                if not math.isfinite(d[x][y]):
                    return kl, flint.arb("inf"), None
                kl += J[x][y] * (J[x][y] / (a[x] * b[y])).log()
                dist += J[x][y] * (_arb(d[x][y]) - _arb(rows[x]))
        d_min = sum((ax * _arb(r) for ax, r in zip(a, rows)), flint.arb(0))
        return kl, dist, _arb(D) - d_min


# ----------------------------------------------------------------------- couplings


def _random_coupling(rng, p, noise, forbidden=None):
    J = np.outer(p, p) * (1 + noise * rng.normal(size=(p.size, p.size)))
    J = np.abs(J)
    if forbidden is not None:
        J[forbidden] = 0.0
    return J


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("noise", [1e-13, 1e-3])
def test_coupling_bounds_enclose_the_arb_rounding(seed, noise):
    rng = np.random.default_rng(seed)
    n = 4
    p = rng.dirichlet(np.ones(n))
    p[0] = 1e-9  # a small symbol
    p = p / p.sum()
    d = rng.random((n, n)) + 3.0  # an offset the shift must remove
    problem = ShiftedProblem.from_distortion(p, d)
    K = _random_coupling(rng, p, noise)
    bounds = coupling_bounds(problem, p, K)
    kl, dist, _ = rounded_coupling_values(p, p, d, K, 0.0)
    assert kl < bounds.rate and dist < bounds.distortion_excess
    # ... and tight for a coupling near its marginals (the rounding's correction, of
    # mass ~ the marginal error, is bounded by its mass).
    slack = 1e-12 if noise < 1e-9 else 10 * noise
    assert bounds.rate - float(kl.mid()) < slack
    assert bounds.distortion_excess - float(dist.mid()) < slack


def test_zero_coupling_is_the_independent_coupling():
    p = np.array([0.5, 0.3, 0.2])
    d = 1 - np.eye(3)
    problem = ShiftedProblem.from_distortion(p, d)
    bounds = coupling_bounds(problem, p, np.zeros((3, 3)))
    kl, dist, _ = rounded_coupling_values(p, p, d, np.zeros((3, 3)), 0.0)
    assert bounds.rate == 0.0 and kl == 0
    assert dist < bounds.distortion_excess <= float(dist.mid()) * (1 + 1e-14)


def test_identity_coupling_rounds_exactly():
    p = np.array([0.5, 0.3, 0.2, 0.0])
    d = 2.0 + (1 - np.eye(4))
    support = np.flatnonzero(p > 0)
    problem = ShiftedProblem.from_distortion(p[support], d[support])
    K = identity_coupling(problem, p, support)
    _, bounds = perfect_bounds(problem, p, K)
    assert bounds.distortion_excess == 0.0
    entropy = _entropy(*exact_pmf(p[support]))
    assert entropy <= bounds.rate <= float(entropy) + 1e-15


def test_forbidden_pairs_are_kept_empty_by_the_rounding():
    # Column 1 is allowed everywhere; the 3-cycle of forbidden pairs sits in 0 and 2.
    p = np.array([0.45, 0.35, 0.2])
    d = np.array([[0.0, 1.0, np.inf], [1.0, 0.0, 1.0], [np.inf, 1.0, 0.0]])
    problem = ShiftedProblem.from_distortion(p, d)
    rng = np.random.default_rng(3)
    J = _random_coupling(rng, p, 1e-3, ~np.isfinite(d))
    K = prepare_coupling(problem, p, J)
    stored = absorb_forbidden(problem, p, K)
    bounds = coupling_bounds(problem, p, stored)
    kl, dist, _ = rounded_coupling_values(p, p, d, stored, 0.0)
    assert math.isfinite(bounds.distortion_excess) and dist.is_finite()
    assert kl < bounds.rate and dist < bounds.distortion_excess


# ----------------------------------------------------------------------- dual bounds


@pytest.mark.parametrize("seed", range(3))
def test_entropic_dual_is_below_the_exact_rate_for_any_potentials(seed):
    rng = np.random.default_rng(seed)
    for c, eps in ((0.0, 1.0), (1e3, 1e-9)):
        d = c + eps * HAMMING
        problem = ShiftedProblem.from_distortion(P, d)
        eps_ = d[0, 1] - c
        for share in (0.05, 0.3):
            D = c + share * eps_
            reference = binary_perfect_reference(P, d, D)
            D_excess = problem.excess_of(D)
            for _ in range(5):
                f, g = rng.normal(size=2), rng.normal(size=2)
                lam = rng.uniform(0.0, 5.0) / eps_
                assert entropic_dual_bound(problem, P, D_excess, lam, f, g) <= reference


def test_entropic_dual_matches_arb():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(4))
    d = rng.random((4, 4))
    d[0, 2] = np.inf
    problem = ShiftedProblem.from_distortion(p, d)
    f, g, lam, D = rng.normal(size=4), rng.normal(size=4), 2.5, 0.4
    bound = entropic_dual_bound(problem, p, problem.excess_of(D), lam, f, g)
    with flint.ctx.workprec(BITS):
        total = sum((_arb(x) for x in p), flint.arb(0))
        a = [_arb(x) / total for x in p]
        rows = [min(v for v in row if math.isfinite(v)) for row in d]
        value = sum((a[x] * (_arb(f[x]) + _arb(g[x])) for x in range(4)), flint.arb(0)) + 1
        value -= _arb(lam) * (_arb(D) - sum((a[x] * _arb(rows[x]) for x in range(4)),
                                            flint.arb(0)))
        for x in range(4):
            for y in range(4):
                if math.isfinite(d[x, y]):
                    value -= a[x] * a[y] * (_arb(f[x]) + _arb(g[y]) - _arb(lam) * (
                        _arb(d[x, y]) - _arb(rows[x]))).exp()
    assert bound < value and float(value.mid()) - bound < 1e-13


@pytest.mark.parametrize("divergence", [*CLOSED_FORM, "wasserstein"])
@pytest.mark.parametrize("seed", range(2))
def test_support_bound_is_below_the_rate_for_any_dual_point(divergence, seed):
    rng = np.random.default_rng(seed)
    problem = ShiftedProblem.from_distortion(P, HAMMING)
    measured = "tv" if divergence == "wasserstein" else divergence  # W1 = TV on Hamming
    for D in (0.05, 0.1):
        Gamma = 0.01
        if measured in ("tv", "kl"):
            reference = binary_perception_reference(P, HAMMING, D, Gamma, measured)
        else:
            reference = binary_perfect_reference(P, HAMMING, D)  # R(D, Gamma) <= R(D, 0)
        for _ in range(4):
            f, slope = rng.normal(size=2), rng.uniform(0.0, 5.0)
            bound = support_lower_bound(problem, P, problem.excess_of(D), slope, f, divergence,
                                        Gamma, HAMMING if divergence == "wasserstein" else None)
            assert bound <= reference


def _divergence_mp(name, p, q):
    terms = []
    for py, qy in zip(p, q):
        if name == "tv":
            terms.append(abs(py - qy) / 2)
        elif name == "kl":
            terms.append(py * mp.log(py / qy) if py > 0 else 0)
        elif name == "reverse_kl":
            terms.append(qy * mp.log(qy / py) if qy > 0 else 0)
        elif name == "hellinger":
            terms.append((mp.sqrt(py) - mp.sqrt(qy)) ** 2 / 2)
        else:
            terms.append((qy - py) ** 2 / py)
    return mp.fsum(terms)


@pytest.mark.parametrize("divergence", CLOSED_FORM)
def test_support_upper_is_above_the_brute_force_maximum(divergence):
    problem = ShiftedProblem.from_distortion(P, HAMMING)
    c = np.array([0.0, -0.7])
    with mp.workdps(40):
        p0, p1 = exact_pmf(P)
        for Gamma in (0.01, 0.1):
            best = -mp.inf
            for k in range(1, 4000):
                r1 = mp.mpf(k) / 4000
                if _divergence_mp(divergence, (p0, p1), (1 - r1, r1)) <= Gamma:
                    best = max(best, (1 - r1) * c[0] + r1 * c[1])
            assert support_upper(divergence, problem, P, c, Gamma) >= best


@pytest.mark.parametrize("divergence", CLOSED_FORM)
def test_divergence_upper_is_above_the_exact_divergence(divergence):
    rng = np.random.default_rng(5)
    p = np.array([0.5, 0.3, 0.2])
    problem = ShiftedProblem.from_distortion(p, 1 - np.eye(3))
    for _ in range(5):
        w = rng.random((3, 3))
        bound = perception_upper(divergence, problem, p, w)
        with mp.workdps(50):
            pt = exact_pmf(p)
            W = [[mp.mpf(float(v)) / mp.fsum(mp.mpf(float(u)) for u in row) for v in row]
                 for row in w]
            q = [mp.fsum(pt[x] * W[x][y] for x in range(3)) for y in range(3)]
            exact = _divergence_mp(divergence, pt, q)
        assert exact <= bound <= exact + 1e-13
        enclosure = output_enclosure(problem, w)
        assert all(enclosure.lo[y] <= q[y] <= enclosure.hi[y] for y in range(3))


# ----------------------------------------------------------------------- a small checker


def _shifted_arb(p, d, D):
    """``(p~, d', D')`` as arb lists (rows/columns of positive probability are used;
    ``D = "D_min"`` is ``D' = 0`` exactly)."""
    total = sum((_arb(x) for x in p), flint.arb(0))
    pt = [_arb(x) / total for x in p]
    rows = [min((v for v in row if math.isfinite(v)), default=math.inf) for row in d]
    shifted = [[(_arb(v) - _arb(rows[x])) if math.isfinite(v) else None for v in row]
               for x, row in enumerate(d)]
    d_min = sum((pt[x] * _arb(rows[x]) for x in range(len(p)) if p[x] > 0), flint.arb(0))
    return pt, shifted, flint.arb(0) if D == "D_min" else _arb(D) - d_min


def _classical_dual_arb(pt, shifted, D_excess, slope, log_c):
    live = [x for x in range(len(pt)) if pt[x] > 0]
    worst = None
    for y in range(len(shifted[0])):
        column = flint.arb(0)
        for x in live:
            cost = shifted[x][y]
            if cost is None:
                continue
            if math.isinf(slope):
                column += pt[x] * _arb(log_c[x]).exp() if cost == 0 else 0
            else:
                column += pt[x] * (_arb(log_c[x]) - _arb(slope) * cost).exp()
        worst = column if worst is None else flint.arb.max(worst, column)
    value = sum((pt[x] * _arb(log_c[x]) for x in live), flint.arb(0)) - worst.log()
    if math.isinf(slope):
        return value if D_excess == 0 else flint.arb("-inf")
    return value - _arb(slope) * D_excess


def _divergence_arb(name, pt, q):
    total = flint.arb(0)
    for b, qy in zip(pt, q):
        if b == 0:
            if name in ("reverse_kl", "chi2") and not qy == 0:
                return flint.arb("inf")
            total += qy / 2 if name in ("tv", "hellinger") else 0
            continue
        if name == "tv":
            total += abs(b - qy) / 2
        elif name == "kl":
            total += b * (b / qy).log() if b > 0 else 0
        elif name == "reverse_kl":
            if qy > 0:
                total += qy * (qy / b).log()
        elif name == "hellinger":
            total += (b.sqrt() - qy.sqrt()) * (b.sqrt() - qy.sqrt()) / 2
        else:
            total += (qy - b) * (qy - b) / b
    return total


def check_proof(proof):
    """Re-derive a perception certificate record in arb (docs/certificate-format.md).
    Returns ``(lower_proven, upper_proven)``."""
    p = [float(x) for x in proof.problem["p"]]
    d = [[float(v) for v in row] for row in proof.problem["d"]]
    n = len(p)
    live = [x for x in range(n) if p[x] > 0]
    with flint.ctx.workprec(BITS):
        pt, shifted, D_excess = _shifted_arb(p, d, proof.parameters["D"])
        if proof.quantity == "perfect_perception":
            J = awr_round_arb(np.asarray(proof.primal["coupling"], float)[live],
                              [pt[x] for x in live], pt)
            # KL = sum J' log J' - 2 sum p log p (exact marginals); entries are exactly
            # >= 0 and tiny ones are balls around 0: t log t on [0, top] (top < 1/e)
            # lies in [top log top, 0].
            kl = -2 * sum((pt[x] * pt[x].log() for x in live), flint.arb(0))
            dist, feasible = flint.arb(0), True
            for i, x in enumerate(live):
                for y in range(n):
                    if J[i][y] == 0:
                        continue
                    if shifted[x][y] is None:
                        feasible = False
                        continue
                    if J[i][y] > 0:
                        kl += J[i][y] * J[i][y].log()
                    else:
                        top = J[i][y].upper()
                        kl += flint.arb(0).union(top * top.log())
                    dist += J[i][y] * shifted[x][y]
            if not np.any(np.asarray(proof.primal["coupling"], float)[live]):
                kl = flint.arb(0)  # the zero coupling rounds to p p^T exactly
            upper_ok = feasible and dist <= D_excess and kl <= _arb(proof.upper)
            lam = float(proof.dual["slope"])
            f, g = proof.dual["f"], proof.dual["g"]
            value = sum((pt[x] * _arb(f[x]) for x in live), flint.arb(0)) + 1
            value += sum((pt[y] * _arb(g[y]) for y in range(n) if p[y] > 0), flint.arb(0))
            value -= _arb(lam) * D_excess
            for x in live:
                for y in range(n):
                    if p[y] > 0 and shifted[x][y] is not None:
                        value -= pt[x] * pt[y] * (_arb(f[x]) + _arb(g[y])
                                                  - _arb(lam) * shifted[x][y]).exp()
            return bool(value >= _arb(proof.lower)), bool(upper_ok)
        W = np.asarray(proof.primal["channel"], float)
        rows = {x: [_arb(v) / sum((_arb(u) for u in W[x]), flint.arb(0)) for v in W[x]]
                for x in live}
        q = [sum((pt[x] * rows[x][y] for x in live), flint.arb(0)) for y in range(n)]
        info, dist, feasible = flint.arb(0), flint.arb(0), True
        for x in live:
            for y in range(n):
                if W[x, y] == 0:
                    continue
                if shifted[x][y] is None:
                    feasible = False
                    continue
                info += pt[x] * rows[x][y] * (rows[x][y] / q[y]).log()
                dist += pt[x] * rows[x][y] * shifted[x][y]
        if all(np.array_equal(W[x] / W[x].sum(), W[live[0]] / W[live[0]].sum()) for x in live):
            info = flint.arb(0)  # identical rows: Y is independent of X
        divergence = _divergence_arb(proof.parameters["divergence"], pt, q)
        upper_ok = (feasible and dist <= D_excess and info <= _arb(proof.upper)
                    and divergence <= _arb(proof.parameters["Gamma"]))
        value = _classical_dual_arb(pt, shifted, D_excess, float(proof.dual["slope"]),
                                    proof.dual["log_c"])
        return bool(value >= _arb(proof.lower)), bool(upper_ok)
