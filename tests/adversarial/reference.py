r"""Independent high-precision references for the adversarial tier (mpmath, 80 digits).

Nothing here imports rdconvex. Every reference is an interval :class:`Ref` ``[lo, hi]``
that contains the exact value of the quantity *for the problem the float inputs
define* (a float is an exact dyadic rational: ``fractions.Fraction(float)`` and
``mpmath.mpf(float)`` are exact), with ``hi - lo < WIDTH = 1e-20`` nats. Both ends are
proved, not estimated; the only inexactness is the rounding of 80-digit arithmetic
(relative ~1e-80 per operation), covered by padding both ends by ``PAD = 1e-50``.

Exact preprocessing (rational arithmetic, classical problems)
-------------------------------------------------------------
``p`` is renormalised exactly (zero-probability symbols dropped). Each row is shifted
by its minimum over finite entries, ``d'(x,y) = d(x,y) - r_x`` (exact), and
``D' = D - D_min`` with ``D_min = sum_x p_x r_x`` (exact), so offsets such as
``d = 1e6 + 1e-10 M`` cost nothing. ``D' < 0`` is infeasible (``R = +inf``),
``D' >= D'_max = min_y sum_x p_x d'(x,y)`` gives ``R = 0`` (decided exactly), ``D' = 0``
is the restricted problem (c) below. ``+inf`` entries are forbidden pairs (their kernel
entry is exactly 0). Identical columns and identical rows are merged (see
:func:`_merge_rows`), all-forbidden columns dropped, and
``d'`` and ``D'`` are divided by the largest finite ``d'`` (the rate is scale free); only
then are they rounded to 80 digits. Log-likelihood problems take ``d' = log(max_u
A[x,u] / A[x,u])`` (the ratio exact, one rounded log) and
``D_min = -sum_x p_x log max_u A[x,u]``, a transcendental number unless every row
maximum is 1, so the sign of ``D' = D - D_min`` is decided at 80 digits (a
:class:`ReferenceFailure` if ``|D'|`` were below 1e-55, which a float D cannot reach in
practice).

(a) Classical R(D), 0 < D' < D'_max
-----------------------------------
For a slope ``s`` and output pmf ``q`` let ``K = exp(-s d')``, ``v = K q`` and
``c = 1 / v``. Then (Csiszar 1974)

    R(D) >= L(s, q) = sum_x p_x log c_x - log max_y sum_x p_x c_x K[x,y] - s D'

for every ``s >= 0`` and ``q`` (no optimality needed), and every channel
``W(y|x) = q_y K[x,y] / v_x`` is an explicit channel whose mutual information is an
upper bound wherever its distortion is ``<= D'``. The algorithm:

1. Inner problem at fixed ``s``: ``min_q -sum_x p_x log (K q)_x`` over the simplex
   (the Blahut-Arimoto problem at slope ``s``), by Blahut-Arimoto sweeps
   ``q <- q * K^T (p / K q)`` globalising an active-set Newton method (Levenberg
   regularised, monotone in the objective), until ``max_y r_y - 1 <= 1e-48`` with
   ``r = K^T (p / K q)``; that number is exactly the slack of ``L`` for this ``s``.
   Newton steps are damped by backtracking; an output whose ratio exceeds 1.5 (its
   weight far too small, perhaps by 1e-300 next to a 1e-300 probability) gets the exact
   coordinate-wise optimal weight instead; outputs with negligible weight and ratio
   below 1/2 are pruned.
2. Slope: the distortion ``D(s)`` of the channel at ``s`` decreases in ``s``; a bracket
   ``D(s_a) >= D' >= D(s_b)`` is found by doubling steps in ``log s`` and refined by the
   Illinois (regula falsi) method on ``log D(s) - log D'``; near the root a Newton
   method on the joint optimality system (``r_y = 1`` on the support, ``D(s) = D'``) in
   ``(q, log s)`` polishes the point to 1e-60.
3. Certificate: ``lo = max L(s, q)`` over all points evaluated; ``hi`` = mutual
   information of the best feasible channel among: every evaluated channel with
   distortion ``<= D'``, and the joint-pmf mixtures hitting ``D'(1 - 1e-60)`` of each
   of the two nearest channels above ``D'`` with every channel below it (including a
   zero-distortion, ``D_min``, channel). ``I`` is convex in the joint pmf, so a
   mixture's rate is at most the chord, which is quadratically close to the curve and
   exact on straight pieces of it. Iteration stops at width 1e-32.
   When ``D'_max = +inf`` and ``D(s) <= D'`` already at ``s <= 1e-30`` (the flat end of
   the curve) the lower bound is ``L(0, q)`` of the ``s = 0`` inner problem.

(b) R_ll(D) is (a) with ``d = -log A``.

(c) R(D_min), the slope-0 limit and program (8): the restricted problem
``min I(X;Y)`` over channels supported on a 0/1 pattern ``T`` (exact argmin pairs of
``d``; the exact argmax of each row of ``A``; the allowed pairs for the slope-0 limit
``lim_{D -> inf} R(D)``) equals ``min_q -sum_x p_x log q(T(x))``: step 1 with
``K = 1[T]``; ``lo = L(0, q)``, ``hi`` = mutual information of the decoder
``W(y|x) = q_y 1[y in T(x)] / q(T(x))``.

(d) Perfect perception R(D, 0) = min KL(J || p p^T) over couplings ``J`` of ``(p, p)``
with ``<J, d> <= D``. Requires every row minimum on the diagonal and positive shifted
off-diagonal costs, so ``D_min = sum_x p_x d(x,x)`` (the diagonal coupling; below it
is infeasible) and ``R(D_min, 0) = H(p)``; from ``D_ind = sum p_x p_y d(x,y)`` on
``R = 0``. In between, for ``lam >= 0`` and any ``a, b > 0`` the entropic-OT dual gives

    R(D, 0) >= sum_x p_x log(a_x/p_x) + sum_y p_y log(b_y/p_y) - lam D'
               + 1 - sum_{x,y} a_x exp(-lam d'(x,y)) b_y,

and ``J = diag(a) exp(-lam d') diag(b)`` with Sinkhorn-scaled ``a, b`` (Sinkhorn
sweeps, then Newton on ``(log a, log b)`` for the row sums and, for each edge of a
maximum spanning tree of the flows, the log-ratio of the two flows across the cut it
defines -- well scaled even when a cut carries 1e-130 of the mass -- to marginals exact
to 1e-70) is a coupling
whose ``KL(J || p p^T)`` is an upper bound when its cost is ``<= D'``. ``lam`` is found
by the same bracket / Illinois search (a scaling that fails from the previous
multiplier's solution is reached by continuation through intermediate multipliers), the
certificate mixes the two couplings bracketing ``D'`` (and the diagonal coupling).
Binary sources use the exact closed form instead (:func:`binary_perception_rate`).

Closed forms used to cross-check (a)-(d) (tests/adversarial/test_explicit.py):
binary sources with symmetric shifted distortion (``R = h(p_min) - h(D'/a)``), uniform
sources with circulant distortion (``R = log n - H(w_s)``, ``w_s`` a Gibbs pmf, a 1-D
root), singleton argmax sets (``R(D_min) = H(f(X))``), binary perfect perception over
the one-parameter family of couplings, uniform n-ary Hamming perfect perception, binary
sources with any 2x2 distortion by a direct 1-D search (:func:`binary_rate_by_search`);
and a plain bisection + Blahut-Arimoto implementation (:func:`ba_plain_rate`) with no
Newton step at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import mpmath
from mpmath import mp, mpf

#: Working precision (significant decimal digits) of every reference.
DPS = 80
#: Every reference interval is narrower than this (nats).
WIDTH = mpf("1e-20")
_GOAL = "1e-32"      # the search stops at this certified width (before padding)
_PAD = "1e-50"       # rounding pad added to both ends
_INNER_TOL = "1e-48"  # max_y r_y - 1 at which an inner problem counts as solved


class ReferenceFailure(RuntimeError):
    """The reference could not certify a narrow enough interval (a bug here, not in
    the package under test)."""


@dataclass(frozen=True)
class Ref:
    """``lo <= truth <= hi`` (mpf, nats); ``lo = hi = +inf`` when infeasible."""

    lo: object
    hi: object
    method: str

    @property
    def infeasible(self) -> bool:
        return self.lo == mpmath.inf

    @property
    def width(self):
        return mpf(0) if self.infeasible else self.hi - self.lo

    @property
    def value(self) -> float:
        """A float inside (or next to) the interval, for claims and messages."""
        if self.infeasible:
            return math.inf
        with mp.workdps(DPS):
            return float((self.lo + self.hi) / 2)

    def __str__(self) -> str:
        if self.infeasible:
            return f"+inf ({self.method})"
        return (f"[{mpmath.nstr(self.lo, 25)}, {mpmath.nstr(self.hi, 25)}] "
                f"(width {mpmath.nstr(self.width, 3)}, {self.method})")


# ------------------------------------------------------------------ exact inputs
def _fr(x):
    """The exact rational value of a float (``None`` for +inf)."""
    x = float(x)
    if math.isnan(x) or x == -math.inf:
        raise ValueError(f"not a valid entry: {x!r}")
    return None if x == math.inf else Fraction(x)


def _mp(value):
    """A Fraction (or int) as an mpf at the current precision (at most two roundings)."""
    value = Fraction(value)
    return mpf(value.numerator) / value.denominator


def exact(x) -> Fraction:
    """The exact rational value of a finite float."""
    return Fraction(float(x))


def _source(p_x):
    """``(keep, p)``: indices of positive entries and the exactly renormalised pmf."""
    p = [_fr(v) for v in p_x]
    if any(v is None or v < 0 for v in p):
        raise ValueError("p_x must be finite and nonnegative")
    keep = [i for i, v in enumerate(p) if v > 0]
    total = sum(p[i] for i in keep)
    return keep, [p[i] / total for i in keep]


def _ref(lo, hi, method: str) -> Ref:
    pad = mpf(_PAD)
    lo, hi = max(lo - pad, mpf(0)), hi + pad
    if not hi - lo < WIDTH:
        raise ReferenceFailure(f"{method}: width {mpmath.nstr(hi - lo, 5)} >= {WIDTH}")
    return Ref(lo, hi, method)


def _point(value, method: str) -> Ref:
    pad = mpf(_PAD)
    return Ref(max(value - pad, mpf(0)), value + pad, method)


INFEASIBLE = Ref(mpmath.inf, mpmath.inf, "D < D_min: no channel, R = +inf")


def infeasible(shortfall, D) -> Ref:
    """``R = +inf``: ``D`` is below ``D_min`` by ``shortfall`` (reported in ulp of D)."""
    ulps = float(mpf(shortfall) / mpf(math.ulp(float(D)))) if float(D) else math.inf
    return Ref(mpmath.inf, mpmath.inf, f"D < D_min by {float(mpf(shortfall)):.3g} = "
                                       f"{ulps:.3g} ulp of D: no channel, R = +inf")


# ------------------------------------------------------------- small linear algebra
def _lsolve(A, b):
    """Gaussian elimination with partial pivoting; ``None`` if exactly singular."""
    n = len(b)
    M = [list(row) + [b[i]] for i, row in enumerate(A)]
    for k in range(n):
        piv = max(range(k, n), key=lambda i: abs(M[i][k]))
        if M[piv][k] == 0:
            return None
        M[k], M[piv] = M[piv], M[k]
        for i in range(k + 1, n):
            f = M[i][k] / M[k][k]
            if f:
                row_i, row_k = M[i], M[k]
                for j in range(k, n + 1):
                    row_i[j] -= f * row_k[j]
    x = [mpf(0)] * n
    for k in range(n - 1, -1, -1):
        x[k] = (M[k][n] - mpmath.fsum(M[k][j] * x[j] for j in range(k + 1, n))) / M[k][k]
    return x


# ------------------------------------------------------- the classical machinery
def _kernel(dn, s):
    zero = mpf(0)
    return [[zero if v is None else mpmath.exp(-s * v) for v in row] for row in dn]


def _pattern(rows, test):
    return [[mpf(1) if test(v) else mpf(0) for v in row] for row in rows]


def _Kq(K, q):
    return [mpmath.fsum(k * qy for k, qy in zip(row, q) if qy and k) for row in K]


def _objective(p, K, q):
    v = _Kq(K, q)
    if any(vx <= 0 for vx in v):
        return mpmath.inf
    return -mpmath.fsum(px * mpmath.log(vx) for px, vx in zip(p, v))


def _ratios(p, K, v):
    n, m = len(K), len(K[0])
    w = [p[x] / v[x] for x in range(n)]
    return [mpmath.fsum(w[x] * K[x][y] for x in range(n)) for y in range(m)]


def _newton_step(p, K, q, v, r, rmax):
    """One active-set Newton step of the inner problem, or ``None`` (take a BA sweep)."""
    n, m = len(K), len(K[0])
    enter = 1 + mpf(_INNER_TOL)
    S = [y for y in range(m) if q[y] > 0 or r[y] > enter]
    hv = [p[x] / v[x] ** 2 for x in range(n)]
    reg = min(rmax - 1, mpf("1e-3"))
    for _ in range(m + 1):
        k = len(S)
        if k == 0:
            return None
        H = [[mpmath.fsum(hv[x] * K[x][a] * K[x][b] for x in range(n)) for b in S] for a in S]
        A = [H[i][:] + [mpf(1)] for i in range(k)] + [[mpf(1)] * k + [mpf(0)]]
        for i in range(k):  # Marquardt: relative to each diagonal entry (scales differ)
            A[i][i] += reg * H[i][i]
        sol = _lsolve(A, [r[y] for y in S] + [1 - mpmath.fsum(q[y] for y in S)])
        if sol is None:
            return None
        step = sol[:k]
        bad = [S[i] for i in range(k) if q[S[i]] == 0 and step[i] <= 0]
        if not bad:
            break
        S = [y for y in S if y not in bad]
    else:
        return None
    alpha, block = mpf(1), None
    for i, y in enumerate(S):
        if step[i] < 0 and q[y] > 0 and q[y] + step[i] <= 0:
            a = q[y] / -step[i]
            if a < alpha:
                alpha, block = a, y
    sweep = False
    if block is not None and r[block] >= 1 and q[block] > mpf("1e-12") * max(q):
        # a weight that still wants mass (ratio >= 1) is not dropped: stop short of 0,
        # and follow with a Blahut-Arimoto sweep (Newton's model is poor there)
        alpha, block, sweep = alpha * mpf("0.9"), None, True
    new = [mpf(0)] * m
    for i, y in enumerate(S):
        new[y] = max(q[y] + alpha * step[i], mpf(0))
    if block is not None:  # leaves the support (revived by _revive if it must come back)
        new[block] = mpf(0)
        if any(vx <= 0 for vx in _Kq(K, new)):  # ... unless a row needs it: then its
            new[block] = _revive(p, K, new, block)  # coordinate optimum
    total = mpmath.fsum(new)
    if total <= 0:
        return None
    new = [x / total for x in new]
    if any(vx <= 0 for vx in _Kq(K, new)):
        return None
    return new, sweep


def _revive(p, K, q, y):
    """The weight ``z > 0`` of output ``y`` minimising the objective with the other
    weights fixed: the root of ``sum_x p_x K[x,y] / (v_x + z K[x,y]) = 1``, ``v`` the
    mixture without ``y`` (bisection on ``log z`` after a search with doubling exponent:
    its scale may be anything, e.g. 1e-300)."""
    n = len(p)
    v = [mpmath.fsum(K[x][j] * q[j] for j in range(len(q)) if j != y and q[j] and K[x][j])
         for x in range(n)]

    def g(log_z):
        z = mpmath.exp(log_z)
        return mpmath.fsum(p[x] * K[x][y] / (v[x] + z * K[x][y]) for x in range(n)
                           if K[x][y]) - 1

    if all(v[x] > 0 for x in range(n) if K[x][y]) and mpmath.fsum(
            p[x] * K[x][y] / v[x] for x in range(n) if K[x][y]) <= 1:
        return mpf(0)  # the objective increases with z from z = 0 on
    hi, step = mpf(0), mpf(1)
    while g(hi) > 0:
        hi, step = hi + step, step * 2
    lo, step = hi - 1, mpf(1)
    while g(lo) <= 0:
        lo, step = lo - step, step * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if g(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < mpf("1e-30"):
            break
    return mpmath.exp(lo)


def _inner(p, K, q0=None, maxit=600):
    """``q`` minimising ``-sum_x p_x log (K q)_x`` on the simplex, to r_max - 1 <= 1e-48."""
    m = len(K[0])
    floor = mpf("1e-20")
    if q0 is None:
        q = [mpf(1) / m] * m
    else:
        q = [(1 - floor) * x + floor / m for x in q0]
    tol = mpf(_INNER_TOL)
    slack = 10 ** mpf(-(mp.dps - 10))
    for _ in range(maxit):
        v = _Kq(K, q)
        r = _ratios(p, K, v)
        rmax = max(r)
        if rmax - 1 <= tol:
            return q
        dead = [y for y in range(len(q)) if r[y] > mpf("1.5")]
        if dead:  # badly under-weighted outputs (maybe by 1e-300): exact coordinate step
            for y in dead:
                q[y] = _revive(p, K, q, y)
            total = mpmath.fsum(q)
            q = [x / total for x in q]
            continue
        for y in range(len(q)):  # prune hopeless outputs (tiny weight, ratio < 1/2) ...
            if 0 < q[y] < mpf("1e-30") and r[y] < mpf("0.5"):
                keep, q[y] = q[y], mpf(0)
                if any(vx <= 0 for vx in _Kq(K, q)):  # ... unless a row needs them
                    q[y] = keep
        v = _Kq(K, q)
        r = _ratios(p, K, v)
        rmax = max(r)
        F = -mpmath.fsum(px * mpmath.log(vx) for px, vx in zip(p, v))
        found = _newton_step(p, K, q, v, r, rmax)
        new, sweep = found if found is not None else (None, False)
        accepted = False
        t = mpf(1)
        while new is not None and t > mpf("1e-12"):  # damped Newton (backtracking)
            trial = new if t == 1 else [a + t * (b - a) for a, b in zip(q, new)]
            if _objective(p, K, trial) <= F + slack * (1 + abs(F)):
                q, accepted = trial, True
                break
            t /= 4
        if accepted and not sweep:
            continue
        if accepted:
            v = _Kq(K, q)
            r = _ratios(p, K, v)
        q = [qy * ry for qy, ry in zip(q, r)]
        total = mpmath.fsum(q)
        q = [x / total for x in q]
    raise ReferenceFailure("inner Blahut-Arimoto/Newton did not converge")


def _lower(p, K, q, s, Dn):
    """Csiszar's lower bound L(s, q) (any s >= 0, any q: always valid)."""
    v = _Kq(K, q)
    c = [1 / vx for vx in v]
    n, m = len(K), len(K[0])
    M = max(mpmath.fsum(p[x] * c[x] * K[x][y] for x in range(n)) for y in range(m))
    return (mpmath.fsum(px * mpmath.log(cx) for px, cx in zip(p, c)) - mpmath.log(M)
            - (s * Dn if s else 0))


def _joint(p, K, q):
    v = _Kq(K, q)
    return [[p[x] * q[y] * K[x][y] / v[x] if K[x][y] and q[y] else mpf(0)
             for y in range(len(q))] for x in range(len(p))]


def _distortion(J, dn):
    total = []
    for Jrow, drow in zip(J, dn):
        for j, dv in zip(Jrow, drow):
            if j:
                if dv is None:
                    return mpmath.inf
                total.append(j * dv)
    return mpmath.fsum(total)


def _information(J, p):
    """I(X;Y) of the joint pmf J (rows of J sum to p)."""
    m = len(J[0])
    Q = [mpmath.fsum(row[y] for row in J) for y in range(m)]
    return mpmath.fsum(j * mpmath.log(j / (p[x] * Q[y]))
                       for x, row in enumerate(J) for y, j in enumerate(row) if j)


def _mix(Ja, Jb, t):
    return [[(1 - t) * a + t * b for a, b in zip(ra, rb)] for ra, rb in zip(Ja, Jb)]


def _mixture_upper(Ja, Da, Jb, Db, Dn, info):
    """Rate of the mixture of joint ``Ja`` (distortion above ``Dn``) with ``Jb`` (at or
    below) that provably meets ``Dn``; ``+inf`` if rounding defeats it."""
    target = Dn * (1 - mpf("1e-60"))
    t = min(mpf(1), max(mpf(0), (Da - target) / (Da - Db)))
    for _ in range(5):
        J = _mix(Ja, Jb, t)
        if _distortion(J, info[1]) <= Dn:
            return info[0](J)
        t = min(mpf(1), t + mpf("1e-55"))
    return mpmath.inf


class _Points:
    """Evaluated points of a parametric family and the certificate they give."""

    def __init__(self, Dn, dn, information, zero_joint):
        self.Dn, self.dn, self.information = Dn, dn, information
        self.lowers = []
        self.channels = []  # (distortion, joint, rate)
        if zero_joint is not None:
            self.channels.append((mpf(0), zero_joint, information(zero_joint)))

    def add(self, lower, joint=None):
        self.lowers.append(lower)
        if joint is not None:
            D = _distortion(joint, self.dn)
            self.channels.append((D, joint, self.information(joint)))

    def certificate(self):
        lo = max(self.lowers) if self.lowers else mpf(0)
        Dn = self.Dn
        feasible = [c for c in self.channels if c[0] <= Dn]
        hi = min((c[2] for c in feasible), default=mpmath.inf)
        above = sorted((c for c in self.channels if c[0] > Dn), key=lambda c: c[0])
        info = (self.information, self.dn)
        for a in above[:2]:  # the chord from the nearest points above to every point below
            for b in feasible:
                hi = min(hi, _mixture_upper(a[1], a[0], b[1], b[0], Dn, info))
        return lo, hi


def _illinois(evaluate, t0, points, polish=None, max_iter=400):
    """Find the root in ``t`` of the decreasing ``f = evaluate(t)`` by doubling steps and
    the Illinois method, until ``points.certificate()`` is narrower than the goal.

    ``evaluate`` returns ``f(t)`` or ``None`` when the flat end is reached (then the
    caller's certificate is complete). ``polish()`` may add a Newton-polished point
    started from the last evaluated one.
    """
    goal = mpf(_GOAL)
    fa = evaluate(t0)
    if fa is None:
        return points.certificate()
    ta, step = t0, mpf(2)
    if fa > 0:
        while True:
            tb = ta + step
            fb = evaluate(tb)
            if fb <= 0:
                break
            ta, fa, step = tb, fb, step * 2
            if step > 1e6:
                raise ReferenceFailure("no slope reaches D")
    elif fa < 0:
        tb, fb = ta, fa
        while True:
            ta = tb - step
            fa = evaluate(ta)
            if fa is None:
                return points.certificate()
            if fa >= 0:
                break
            tb, fb, step = ta, fa, step * 2
    else:
        fb, tb = fa, ta
    side, last_polish = 0, mpmath.inf
    for _ in range(max_iter):
        lo, hi = points.certificate()
        if hi - lo < goal:
            return lo, hi
        if fa == 0 or fb == 0:
            raise ReferenceFailure("root hit exactly but certificate still wide")
        closest = min(abs(fa), abs(fb))
        if polish is not None and closest < 1e-3 and closest < last_polish * mpf("1e-6"):
            last_polish = closest
            polish()
            continue
        tc = (ta * fb - tb * fa) / (fb - fa)
        span = tb - ta
        if not (ta + span / 64 < tc < tb - span / 64):
            tc = (ta + tb) / 2
        fc = evaluate(tc)
        if fc >= 0:
            ta, fa = tc, fc
            if side == 1:
                fb /= 2
            side = 1
        else:
            tb, fb = tc, fc
            if side == -1:
                fa /= 2
            side = -1
        if fc == 0:
            lo, hi = points.certificate()
            if hi - lo < goal:
                return lo, hi
    lo, hi = points.certificate()
    if hi - lo < mpf("1e-22"):
        return lo, hi
    raise ReferenceFailure(f"slope search stalled at width {mpmath.nstr(hi - lo, 5)}")


def _joint_system(p, dn, S, xv, logDn, jacobian=True):
    """Residuals (and Jacobian) of r_y = 1 (y in S), log D(s) = log D' in (q_S, log s)."""
    n, k = len(p), len(S)
    if abs(xv[k]) > 1000:  # log s out of any sensible range: refuse (no huge exp)
        return None, None
    q, s = xv[:k], mpmath.exp(xv[k])
    K = [[mpf(0) if dn[x][y] is None else mpmath.exp(-s * dn[x][y]) for y in S]
         for x in range(n)]
    dd = [[mpf(0) if dn[x][y] is None else dn[x][y] for y in S] for x in range(n)]
    v = [mpmath.fsum(K[x][i] * q[i] for i in range(k)) for x in range(n)]
    if any(vx <= 0 for vx in v):
        return None, None
    u = [mpmath.fsum(K[x][i] * q[i] * dd[x][i] for i in range(k)) for x in range(n)]
    D = mpmath.fsum(p[x] * u[x] / v[x] for x in range(n))
    if D <= 0:
        return None, None
    res = [mpmath.fsum(p[x] * K[x][i] / v[x] for x in range(n)) - 1 for i in range(k)]
    res.append(mpmath.log(D) - logDn)
    if not jacobian:
        return res, None
    w2 = [mpmath.fsum(K[x][i] * q[i] * dd[x][i] ** 2 for i in range(k)) for x in range(n)]
    e = [u[x] / v[x] for x in range(n)]
    J = []
    for i in range(k):
        row = [-mpmath.fsum(p[x] * K[x][i] * K[x][j] / v[x] ** 2 for x in range(n))
               for j in range(k)]
        row.append(s * mpmath.fsum(p[x] * K[x][i] * (e[x] - dd[x][i]) / v[x]
                                   for x in range(n)))
        J.append(row)
    row = [mpmath.fsum(p[x] * K[x][j] * (dd[x][j] - e[x]) / v[x] for x in range(n)) / D
           for j in range(k)]
    row.append(-s * mpmath.fsum(p[x] * (w2[x] / v[x] - e[x] ** 2) for x in range(n)) / D)
    J.append(row)
    return res, J


def _joint_newton(p, dn, Dn, s, q):
    """Newton on the joint optimality system from ``(s, q)``; ``(s, q)`` or ``None``."""
    m = len(q)
    qmax = max(q)
    S = [y for y in range(m) if q[y] > qmax * mpf("1e-30")]
    xv = [q[y] for y in S] + [mpmath.log(s)]
    logDn = mpmath.log(Dn)
    tol = 10 ** mpf(-(mp.dps - 15))
    for _ in range(60):
        res, J = _joint_system(p, dn, S, xv, logDn)
        if res is None:
            return None
        norm = max(abs(e) for e in res)
        if norm <= tol:
            full = [mpf(0)] * m
            total = mpmath.fsum(xv[:-1])
            for i, y in enumerate(S):
                full[y] = xv[i] / total
            return mpmath.exp(xv[-1]), full
        step = _lsolve(J, [-e for e in res])
        if step is None:
            return None
        alpha = min(mpf(1), 2 / abs(step[-1])) if step[-1] else mpf(1)  # |d log s| <= 2
        for _ in range(40):
            cand = [a + alpha * b for a, b in zip(xv, step)]
            if all(c > 0 for c in cand[:-1]):
                new, _unused = _joint_system(p, dn, S, cand, logDn, jacobian=False)
                if new is not None and max(abs(e) for e in new) < norm * (1 - alpha / 8):
                    xv = cand
                    break
            alpha /= 2
        else:
            return None
    return None


def _zero_joint(p, dn):
    """A zero-distortion (D_min) channel's joint pmf: each x to its first zero of d'."""
    return [[p[x] if y == row.index(mpf(0)) else mpf(0) for y in range(len(row))]
            for x, row in enumerate(dn)]


def _rd_general(p, dn, Dn):
    """Certified ``[lo, hi]`` for R at shifted, normalised ``dn`` and 0 < Dn < Dn_max."""
    info = (lambda J: _information(J, p))
    pts = _Points(Dn, dn, info, _zero_joint(p, dn))
    state = {"q": None}
    logDn = mpmath.log(Dn)
    flat = mpf("1e-30")

    def add_point(s, q, K=None):
        K = _kernel(dn, s) if K is None else K
        J = _joint(p, K, q)
        pts.add(_lower(p, K, q, s, Dn), J)
        return _distortion(J, dn)

    def evaluate(t):
        s = mpmath.exp(t)
        K = _kernel(dn, s)
        q = _inner(p, K, state["q"])
        state["q"], state["s"] = q, s
        D = add_point(s, q, K)
        if D <= Dn and s < flat:
            K0 = _kernel(dn, 0)
            q0 = _inner(p, K0, q)
            pts.add(_lower(p, K0, q0, 0, Dn))
            return None
        return mpmath.log(D) - logDn

    def polish():
        found = _joint_newton(p, dn, Dn, state["s"], state["q"])
        if found is not None:
            s, q = found
            add_point(s, q)

    # starting slope: the large-slope asymptote D ~ exp(-s * delta) when D' is tiny
    positive = [v for row in dn for v in row if v]
    delta = min(positive)
    t0 = mpf(0)
    if Dn < mpf("1e-4"):
        t0 = mpmath.log(max(mpf(1), -mpmath.log(Dn) / delta))
    return _illinois(evaluate, t0, pts, polish)


def _restricted(p, K):
    """``[lo, hi]`` of min I(X;Y) over channels supported on the 0/1 pattern K."""
    q = _inner(p, K)
    lo = _lower(p, K, q, 0, 0)
    hi = _information(_joint(p, K, q), p)
    return lo, hi


def _reduce_columns(rows):
    """Drop all-forbidden columns and merge identical columns (same rate function)."""
    m = len(rows[0])
    seen, keep = set(), []
    for y in range(m):
        col = tuple(row[y] for row in rows)
        if all(v is None for v in col) or col in seen:
            continue
        seen.add(col)
        keep.append(y)
    return [[row[y] for y in keep] for row in rows]


def _merge_rows(p, rows):
    """Merge source symbols with identical distortion rows (probabilities added): some
    optimal channel depends on x only through its row (average the rows' channels: the
    joint of (row class, Y) and the distortion are unchanged, and I(X;Y) >= I(class;Y)
    with equality for a class-only channel), so the rate function is unchanged."""
    merged = {}
    for px, row in zip(p, rows):
        key = tuple(row)
        merged[key] = merged.get(key, Fraction(0)) + px
    return list(merged.values()), [list(key) for key in merged]


# --------------------------------------------------------------- classical front end
@dataclass(frozen=True)
class ClassicalData:
    """Exact shifted data of a classical problem (rows with p > 0 only)."""

    p: list
    dp: list          # shifted distortion, Fractions, None = forbidden
    D_min: Fraction   # exact
    Dp_max: object    # exact D'_max (Fraction) or None (= +inf)

    @property
    def D_max(self):
        return None if self.Dp_max is None else self.D_min + self.Dp_max


def classical_data(p_x, d) -> ClassicalData:
    keep, p = _source(p_x)
    rows = [[_fr(v) for v in d[i]] for i in keep]
    p, rows = _merge_rows(p, rows)
    dp = []
    D_min = Fraction(0)
    for px, row in zip(p, rows):
        finite = [v for v in row if v is not None]
        if not finite:
            raise ValueError("a row with positive probability has no finite entry")
        r = min(finite)
        D_min += px * r
        dp.append([None if v is None else v - r for v in row])
    dp = _reduce_columns(dp)
    columns = [sum(p[x] * dp[x][y] for x in range(len(p)))
               for y in range(len(dp[0])) if all(row[y] is not None for row in dp)]
    return ClassicalData(p, dp, D_min, min(columns) if columns else None)


def classical_D_min(p_x, d) -> Fraction:
    """Exact ``D_min = sum_x p_x min_y d(x,y)``."""
    return classical_data(p_x, d).D_min


def classical_D_max(p_x, d):
    """Exact ``D_max`` (Fraction) or ``None`` for ``+inf``."""
    return classical_data(p_x, d).D_max


def _classical_core(p, dp, Dp, Dp_max, method):
    """Shared by the classical and log-likelihood front ends (exact or mpf data)."""
    if Dp < 0:
        return INFEASIBLE
    if Dp_max is not None and Dp >= Dp_max:
        return Ref(mpf(0), mpf(0), method + ": D >= D_max, R = 0 exactly")
    finite = [v for row in dp for v in row if v is not None]
    sigma = max(finite)
    P = [_mp(v) if isinstance(v, Fraction) else v for v in p]
    if Dp == 0 or sigma == 0:
        lo, hi = _restricted(P, _pattern(dp, lambda v: v == 0))
        return _ref(lo, hi, method + ": restricted problem on the exact argmin pairs")
    conv = (lambda v: _mp(v / sigma)) if isinstance(sigma, Fraction) else (lambda v: v / sigma)
    dn = [[None if v is None else conv(v) for v in row] for row in dp]
    Dn = conv(Dp)
    lo, hi = _rd_general(P, dn, Dn)
    return _ref(lo, hi, method + ": BA/Newton at the certified slope")


def classical_rate(p_x, d, D) -> Ref:
    """R(D) of the classical problem the floats ``p_x, d, D`` define."""
    with mp.workdps(DPS):
        data = classical_data(p_x, d)
        Dp = exact(D) - data.D_min
        if Dp < 0:
            return infeasible(_mp(-Dp), D)
        return _classical_core(data.p, data.dp, Dp, data.Dp_max, "classical")


def classical_rate_at_D_min(p_x, d) -> Ref:
    """R(D_min): min I over channels on the exact argmin pairs."""
    with mp.workdps(DPS):
        data = classical_data(p_x, d)
        lo, hi = _restricted([_mp(v) for v in data.p], _pattern(data.dp, lambda v: v == 0))
        return _ref(lo, hi, "R(D_min), restricted problem")


def classical_rate_limit(p_x, d) -> Ref:
    """``lim_{D -> inf} R(D)`` (the slope-0 point): min I over channels avoiding the
    forbidden pairs (0 when some output is allowed for every source symbol)."""
    with mp.workdps(DPS):
        data = classical_data(p_x, d)
        lo, hi = _restricted([_mp(v) for v in data.p],
                             _pattern(data.dp, lambda v: v is not None))
        return _ref(lo, hi, "slope-0 limit, restricted to allowed pairs")


# ------------------------------------------------------- log-likelihood front end
def _loglik_rows(p_x, A):
    keep, p = _source(p_x)
    rows = [[_fr(v) for v in A[i]] for i in keep]
    for row in rows:
        if any(v is None or v < 0 for v in row) or max(row) <= 0:
            raise ValueError("A must be finite, nonnegative, with a positive entry per row")
    return p, rows


def loglik_D_min(p_x, A):
    """``D_min = -sum_x p_x log max_u A[x,u]`` (mpf at the current precision, exact 0
    when every row maximum is 1)."""
    p, rows = _loglik_rows(p_x, A)
    if all(max(row) == 1 for row in rows):
        return mpf(0)
    return -mpmath.fsum(_mp(px) * mpmath.log(_mp(max(row))) for px, row in zip(p, rows))


def _loglik_shifted(p_x, A, D):
    p, rows = _loglik_rows(p_x, A)
    P = [_mp(v) for v in p]
    dp = []
    for row in rows:
        top = max(row)
        dp.append([None if v == 0 else (mpf(0) if v == top else mpmath.log(_mp(top / v)))
                   for v in row])
    dp = _reduce_columns(dp)
    columns = [mpmath.fsum(P[x] * dp[x][y] for x in range(len(P)))
               for y in range(len(dp[0])) if all(row[y] is not None for row in dp)]
    Dp_max = min(columns) if columns else None
    Dp = None if D is None else (exact(D) if all(max(r) == 1 for r in rows)
                                 else mpf(float(D)) - loglik_D_min(p_x, A))
    return P, rows, dp, Dp, Dp_max


def loglik_rate(p_x, A, D) -> Ref:
    """R_ll(D) (nats) for ``d = -log A`` with ``A = P_{X|U}`` exactly as given."""
    with mp.workdps(DPS):
        P, _rows, dp, Dp, Dp_max = _loglik_shifted(p_x, A, D)
        if isinstance(Dp, Fraction):
            Dp = _mp(Dp) if Dp != 0 else mpf(0)
        else:  # D_min is transcendental: D' != 0, but its sign must be clear at 80 digits
            guard = 10 ** mpf(-(DPS - 25)) * (1 + abs(mpf(float(D))))
            if abs(Dp) < guard or (Dp_max is not None and abs(Dp - Dp_max) < guard):
                raise ReferenceFailure("cannot decide D against D_min / D_max at 80 digits")
        if Dp < 0:
            return infeasible(-Dp, D)
        return _classical_core(P, dp, Dp, Dp_max, "log-likelihood")


def loglik_rate_at_D_min(p_x, A) -> Ref:
    """R_ll(D_min) = program (8) with T(x) the EXACT argmax of row x of A."""
    with mp.workdps(DPS):
        p, rows = _loglik_rows(p_x, A)
        K = [[mpf(1) if v == max(row) else mpf(0) for v in row] for row in rows]
        lo, hi = _restricted([_mp(v) for v in p], K)
        return _ref(lo, hi, "R_ll(D_min), program (8) on exact argmax sets")


# --------------------------------------------------------- perfect perception R(D, 0)
def _kl_coupling(J, p):
    return mpmath.fsum(j * mpmath.log(j / (p[x] * p[y]))
                       for x, row in enumerate(J) for y, j in enumerate(row) if j)


def _scale(p, K, a=None, b=None):
    """Sinkhorn then Newton: ``a, b`` with ``diag(a) K diag(b)`` of marginals ``(p, p)``
    (from the warm start ``a, b``, and from scratch if that fails)."""
    if a is not None:
        try:
            return _scale_from(p, K, a, b)
        except ReferenceFailure:
            pass
    return _scale_from(p, K, None, None)


def _scale_path(p, dn, t_from, ab, t_to, depth=14):
    """Scaling at ``lam = exp(t_to)``; when the direct solve from the solution ``ab`` at
    ``t_from`` fails, continue along intermediate multipliers (halving the step)."""
    K = _kernel(dn, mpmath.exp(t_to))
    try:
        return _scale(p, K, *ab) if ab is not None else _scale(p, K)
    except ReferenceFailure:
        if depth == 0 or t_from is None:
            raise
    t_mid = (t_from + t_to) / 2
    a, b, _J = _scale_path(p, dn, t_from, ab, t_mid, depth - 1)
    return _scale_path(p, dn, t_mid, (a, b), t_to, depth - 1)


def _scale_from(p, K, a, b):
    n = len(p)
    a = [mpf(1)] * n if a is None else list(a)
    b = [mpf(1)] * n if b is None else list(b)
    for _ in range(300):  # a start for Newton (damped: converges from anywhere here)
        a = [p[x] / mpmath.fsum(K[x][y] * b[y] for y in range(n)) for x in range(n)]
        b = [p[y] / mpmath.fsum(K[x][y] * a[x] for x in range(n)) for y in range(n)]
        rows = [a[x] * mpmath.fsum(K[x][y] * b[y] for y in range(n)) for x in range(n)]
        if max(abs(rows[x] / p[x] - 1) for x in range(n)) < mpf("1e-6"):
            break
    u = [mpmath.log(x) for x in a]
    w = [mpmath.log(x) for x in b]
    logp = [mpmath.log(x) for x in p]
    tol = 10 ** mpf(-(mp.dps - 10))
    # gauge: the anchor (largest mass) has its b fixed. Balance: for each edge of a
    # maximum spanning tree of the symmetric flows J_xy + J_yx, the flows across the cut
    # the edge defines balance (log-ratio): well scaled even when a cut carries 1e-130
    # of the mass (per-symbol balances would drown such a cut in rounding).
    anchor = max(range(n), key=lambda x: p[x])
    free = [y for y in range(n) if y != anchor]

    def flows(u, w):
        return [[K[x][y] * mpmath.exp(u[x] + w[y]) for y in range(n)] for x in range(n)]

    def cuts_of(J):
        inside, sides = {anchor}, []
        edges = []
        while len(inside) < n:
            x, y = max(((x, y) for x in inside for y in range(n) if y not in inside),
                       key=lambda e: J[e[0]][e[1]] + J[e[1]][e[0]])
            inside.add(y)
            edges.append((x, y))
        for _x, y in edges:  # the side of the tree hanging below y
            below, grew = {y}, True
            while grew:
                grew = False
                for a, b in edges:
                    if a in below and b not in below:
                        below.add(b)
                        grew = True
            sides.append(below)
        return sides

    def residual(u, w, sides):
        J = flows(u, w)
        row = [mpmath.fsum(J[x]) for x in range(n)]
        res = [mpmath.log(row[x]) - logp[x] for x in range(n)]
        cut = []
        for A in sides:
            out = mpmath.fsum(J[x][y] for x in A for y in range(n) if y not in A)
            inn = mpmath.fsum(J[x][y] for x in range(n) if x not in A for y in A)
            res.append(mpmath.log(out) - mpmath.log(inn))
            cut.append((out, inn))
        return res, J, row, cut

    sides = cuts_of(flows(u, w))
    res, J, row, cut = residual(u, w, sides)
    for _ in range(200):
        norm = max(abs(e) for e in res)
        if norm <= tol:
            break
        M = []
        for x in range(n):
            M.append([mpf(1) if i == x else mpf(0) for i in range(n)]
                     + [J[x][y] / row[x] for y in free])
        for A, (out, inn) in zip(sides, cut):
            du = [(mpmath.fsum(J[i][y] for y in range(n) if y not in A) / out) if i in A
                  else -(mpmath.fsum(J[i][y] for y in A) / inn) for i in range(n)]
            dw = [-(mpmath.fsum(J[x][j] for x in range(n) if x not in A) / inn) if j in A
                  else (mpmath.fsum(J[x][j] for x in A) / out) for j in free]
            M.append(du + dw)
        step = _lsolve(M, [-e for e in res])
        if step is None:
            raise ReferenceFailure("singular Sinkhorn-Newton system")
        alpha = mpf(1)
        for _ in range(60):
            u2 = [u[x] + alpha * step[x] for x in range(n)]
            w2 = list(w)
            for i, y in enumerate(free):
                w2[y] = w[y] + alpha * step[n + i]
            res2, J2, _row2, _cut2 = residual(u2, w2, sides)
            if max(abs(e) for e in res2) < norm:
                u, w = u2, w2
                sides = cuts_of(J2)
                res, J, row, cut = residual(u, w, sides)
                break
            alpha /= 2
        else:
            raise ReferenceFailure("Sinkhorn-Newton stalled")
    else:
        raise ReferenceFailure("Sinkhorn-Newton did not converge")
    return [mpmath.exp(x) for x in u], [mpmath.exp(y) for y in w], J


def _pp_general(p, dn, Dn):
    n = len(p)
    info = (lambda J: _kl_coupling(J, p))
    diag = [[p[x] if x == y else mpf(0) for y in range(n)] for x in range(n)]
    pts = _Points(Dn, dn, info, diag)
    state = {"t": None, "ab": None}
    logDn = mpmath.log(Dn)

    def evaluate(t):
        lam = mpmath.exp(t)
        a, b, J = _scale_path(p, dn, state["t"], state["ab"], t)
        state["t"], state["ab"] = t, (a, b)
        lower = (mpmath.fsum(p[x] * mpmath.log(a[x] / p[x]) for x in range(n))
                 + mpmath.fsum(p[y] * mpmath.log(b[y] / p[y]) for y in range(n))
                 - lam * Dn + 1 - mpmath.fsum(j for row in J for j in row))
        pts.add(lower, J)
        return mpmath.log(_distortion(J, dn)) - logDn

    positive = [v for row in dn for v in row if v]
    t0 = mpf(0)
    if Dn < mpf("1e-4"):
        t0 = mpmath.log(max(mpf(1), -mpmath.log(Dn) / min(positive)))
    return _illinois(evaluate, t0, pts)


def perception_data(p_x, d):
    """``(p, shifted d', D_min, D'_ind)`` exactly; requires row minima on the diagonal
    and positive shifted off-diagonal costs (finite)."""
    keep, p = _source(p_x)
    rows = [[_fr(d[i][j]) for j in keep] for i in keep]
    n = len(keep)
    dp, D_min = [], Fraction(0)
    for x, row in enumerate(rows):
        if any(v is None for v in row):
            raise NotImplementedError("perception reference: finite d only")
        if row[x] != min(row) or any(row[y] == row[x] for y in range(n) if y != x):
            raise NotImplementedError("perception reference: strict diagonal row minima")
        D_min += p[x] * row[x]
        dp.append([v - row[x] for v in row])
    D_ind = sum(p[x] * p[y] * dp[x][y] for x in range(n) for y in range(n))
    return p, dp, D_min, D_ind


def perception_D_min(p_x, d) -> Fraction:
    return perception_data(p_x, d)[2]


def perception_rate(p_x, d, D) -> Ref:
    """R(D, 0) (perfect perception) of the problem the floats define: the closed form
    :func:`binary_perception_rate` for two symbols of positive probability, else the
    Sinkhorn/Newton search of (d)."""
    keep, _p = _source(p_x)
    if len(keep) == 2:
        perception_data(p_x, d)  # the same preconditions
        return binary_perception_rate([p_x[i] for i in keep],
                                      [[d[i][j] for j in keep] for i in keep], D)
    return perception_rate_sinkhorn(p_x, d, D)


def perception_rate_sinkhorn(p_x, d, D) -> Ref:
    """R(D, 0) by the Sinkhorn/Newton search (d) for any small source."""
    with mp.workdps(DPS):
        p, dp, D_min, D_ind = perception_data(p_x, d)
        Dp = exact(D) - D_min
        P = [_mp(v) for v in p]
        if Dp < 0:
            return infeasible(_mp(-Dp), D)
        if len(p) == 1 or Dp >= D_ind:
            return Ref(mpf(0), mpf(0), "perception: D >= D_independent, R = 0 exactly")
        if Dp == 0:
            H = -mpmath.fsum(x * mpmath.log(x) for x in P)
            return _point(H, "perception: D = D_min, diagonal coupling, R = H(p)")
        sigma = max(v for row in dp for v in row)
        dn = [[_mp(v / sigma) for v in row] for row in dp]
        lo, hi = _pp_general(P, dn, _mp(Dp / sigma))
        return _ref(lo, hi, "perception: Sinkhorn/Newton at the certified multiplier")


# ------------------------------------------------------------------ closed forms
def h(x):
    """Binary entropy (nats) of an mpf."""
    x = mpf(x)
    if x <= 0 or x >= 1:
        return mpf(0)
    return -x * mpmath.log(x) - (1 - x) * mpmath.log(1 - x)


def binary_symmetric_rate(p_x, d, D) -> Ref:
    """Closed form for a binary source whose shifted distortion is ``[[0, a], [a, 0]]``:
    ``R = h(p_min) - h(D'/a)`` for ``D' <= a p_min``."""
    with mp.workdps(DPS):
        p = [exact(v) for v in p_x]
        total = sum(p)
        p = [v / total for v in p]
        d = [[exact(v) for v in row] for row in d]
        if not (d[0][0] <= d[0][1] and d[1][1] <= d[1][0]
                and d[0][1] - d[0][0] == d[1][0] - d[1][1] > 0):
            raise ValueError("not a symmetric binary distortion")
        a = d[0][1] - d[0][0]
        Dp = exact(D) - p[0] * d[0][0] - p[1] * d[1][1]
        pmin = min(p)
        if Dp < 0:
            return INFEASIBLE
        if Dp >= a * pmin:
            return Ref(mpf(0), mpf(0), "binary closed form, R = 0")
        value = h(_mp(pmin)) - h(_mp(Dp / a))
        return _point(value, "binary closed form h(p) - h(D'/a)")


def bsc_loglik_rate(p_x, a, D) -> Ref:
    """Closed form of R_ll for ``A = [[a, 1-a], [1-a, a]]`` (a > 1/2 a float, 1 - a exact):
    binary Hamming with step ``log(a/(1-a))`` and ``D_min = -log a``."""
    with mp.workdps(DPS):
        a = exact(a)
        b = 1 - a
        p = [exact(v) for v in p_x]
        total = sum(p)
        p = [v / total for v in p]
        step = mpmath.log(_mp(a / b))
        Dp = mpf(float(D)) + mpmath.log(_mp(a))
        if Dp < 0:
            return INFEASIBLE
        pmin = _mp(min(p))
        if Dp >= step * pmin:
            return Ref(mpf(0), mpf(0), "BSC log-likelihood closed form, R = 0")
        return _point(h(pmin) - h(Dp / step), "BSC log-likelihood closed form")


def circulant_uniform_rate(f, D) -> Ref:
    """Uniform source on Z_n, ``d(x, y) = f[(y - x) mod n]`` with ``f >= 0`` and
    ``f[0] = 0``: ``R(D) = log n - H(w_s)``, ``w_s(k) ~ exp(-s f_k)`` with ``E f = D``
    (Shannon lower bound, tight for difference distortions on a group). Interval from
    ``lo = log n - log Z(s) - s D`` (valid for every s) and the channel
    ``W(y|x) = w_s(y - x)`` at an ``s`` with ``E_{w_s} f <= D``."""
    with mp.workdps(DPS):
        fr = [exact(v) for v in f]
        n = len(fr)
        if fr[0] != 0 or min(fr) < 0:
            raise ValueError("need f[0] = 0 <= f")
        Dq = exact(D)
        zeros = sum(1 for v in fr if v == 0)
        if Dq < 0:
            return INFEASIBLE
        if Dq >= sum(fr) / n:
            return Ref(mpf(0), mpf(0), "circulant closed form, R = 0")
        if Dq == 0:
            return _point(mpmath.log(mpf(n) / zeros), "circulant, R(D_min) = log(n/|zeros|)")
        F = [_mp(v) for v in fr]
        Dm = _mp(Dq)

        def stats(s):
            w = [mpmath.exp(-s * v) for v in F]
            Z = mpmath.fsum(w)
            E = mpmath.fsum(wi * v for wi, v in zip(w, F)) / Z
            V = mpmath.fsum(wi * v * v for wi, v in zip(w, F)) / Z - E * E
            return Z, E, V

        lo_s, hi_s = mpf(0), mpf(1)
        while stats(hi_s)[1] > Dm:
            lo_s, hi_s = hi_s, hi_s * 2
        s = (lo_s + hi_s) / 2
        for _ in range(400):
            Z, E, V = stats(s)
            if abs(E - Dm) <= Dm * mpf("1e-75"):
                break
            if E > Dm:
                lo_s = s
            else:
                hi_s = s
            s_new = s + (E - Dm) / V
            s = s_new if lo_s < s_new < hi_s else (lo_s + hi_s) / 2
        else:
            raise ReferenceFailure("circulant: no slope found")
        while stats(s)[1] > Dm:  # the channel must meet the budget: nudge s up
            s *= 1 + mpf("1e-65")
        Z, E, V = stats(s)
        hi = mpmath.log(n) - mpmath.log(Z) - s * E
        lo = mpmath.log(n) - mpmath.log(Z) - s * Dm
        return _ref(lo, hi, "circulant closed form log n - H(w_s)")


def uniform_hamming_rate(n, scale, D) -> Ref:
    """Uniform n-ary source, ``d = scale * (1 - I)``:
    ``R = log n - h(t) - t log(n - 1)``, ``t = D / scale <= 1 - 1/n``."""
    with mp.workdps(DPS):
        t = exact(D) / exact(scale)
        if t < 0:
            return INFEASIBLE
        if t >= 1 - Fraction(1, n):
            return Ref(mpf(0), mpf(0), "uniform Hamming closed form, R = 0")
        tm = _mp(t)
        value = mpmath.log(n) - h(tm) - (tm * mpmath.log(n - 1) if t else 0)
        return _point(value, "uniform Hamming closed form")


def singleton_rate(p_x, f) -> Ref:
    """``H(f(X))``: R(D_min) when every argmin (argmax) set is the singleton {f(x)}."""
    with mp.workdps(DPS):
        keep, p = _source(p_x)
        mass = {}
        for i, px in zip(keep, p):
            mass[f[i]] = mass.get(f[i], Fraction(0)) + px
        value = -mpmath.fsum(_mp(v) * mpmath.log(_mp(v)) for v in mass.values())
        return _point(value, "H(f(X)) closed form")


def binary_perception_rate(p_x, d, D) -> Ref:
    """R(D, 0) for a binary source: couplings of (p, p) are ``[[p0-t, t], [t, p1-t]]``,
    ``t in [0, min p]``, cost ``base + kappa t``, rate ``KL(J_t || p p^T)`` (decreasing
    on [0, p0 p1], increasing after)."""
    if len(p_x) != 2:
        raise ValueError("binary_perception_rate takes a 2-symbol source")
    with mp.workdps(DPS):
        _keep, p = _source(p_x)
        if len(p) < 2:
            return Ref(mpf(0), mpf(0), "binary perception: one symbol")
        p0, p1 = p
        d = [[exact(v) for v in row] for row in d]
        base = p0 * d[0][0] + p1 * d[1][1]
        kappa = d[0][1] + d[1][0] - d[0][0] - d[1][1]
        Dq = exact(D)
        tmax, tind = min(p0, p1), p0 * p1

        def rate(t):
            J = [[_mp(p0 - t), _mp(t)], [_mp(t), _mp(p1 - t)]]
            return _kl_coupling(J, [_mp(p0), _mp(p1)])

        if kappa > 0:
            if Dq < base:
                return infeasible(_mp(base - Dq), D)
            t = (Dq - base) / kappa
            if t >= tind:
                return Ref(mpf(0), mpf(0), "binary perception closed form, R = 0")
            return _point(rate(t), "binary perception closed form")
        if kappa == 0:
            return INFEASIBLE if Dq < base else Ref(mpf(0), mpf(0), "binary perception, R = 0")
        if Dq < base + kappa * tmax:
            return INFEASIBLE
        t = (base - Dq) / -kappa
        if t <= tind:
            return Ref(mpf(0), mpf(0), "binary perception closed form, R = 0")
        return _point(rate(t), "binary perception closed form (kappa < 0)")


def uniform_hamming_perception_rate(n, scale, D) -> Ref:
    """R(D, 0) for a uniform n-ary source and ``d = scale * (1 - I)``: by symmetry and
    convexity the optimal coupling is ``J_xx = alpha``, ``J_xy = beta`` with
    ``alpha + (n-1) beta = 1/n`` and ``n (n-1) beta scale = D``."""
    with mp.workdps(DPS):
        beta = exact(D) / exact(scale) / (n * (n - 1))
        if beta < 0:
            return INFEASIBLE
        if beta >= Fraction(1, n * n):
            return Ref(mpf(0), mpf(0), "uniform Hamming perception, R = 0")
        alpha = Fraction(1, n) - (n - 1) * beta
        A, B = _mp(alpha), _mp(beta)
        value = n * A * mpmath.log(n * n * A) + (n * (n - 1) * B * mpmath.log(n * n * B)
                                                 if beta else 0)
        return _point(value, "uniform Hamming perception closed form")


def binary_rate_by_search(p, a, b, Dp):
    """R for a binary source with shifted distortion ``[[0, a], [b, 0]]`` (mpf or floats,
    ``a, b > 0``) at ``D' = Dp``, by direct search: below ``D'_max`` the optimal channel
    ``[[1-al, al], [be, 1-be]]`` meets the budget with equality, so ``R`` is the minimum
    over ``al`` of the convex function ``I(al, be(al))``, found by golden section (every
    evaluated value is the rate of a feasible channel). A cross-check only."""
    with mp.workdps(DPS):
        p0, p1 = mpf(p[0]), mpf(p[1])
        a, b, Dp = mpf(a), mpf(b), mpf(Dp)
        if Dp < 0:
            raise ValueError("D' < 0: infeasible")
        if Dp >= min(p0 * a, p1 * b):
            return mpf(0)

        def rate(al):
            be = (Dp - p0 * al * a) / (p1 * b)
            W = [[1 - al, al], [be, 1 - be]]
            q = [p0 * W[0][y] + p1 * W[1][y] for y in range(2)]
            return mpmath.fsum(px * W[x][y] * mpmath.log(W[x][y] / q[y])
                               for x, px in enumerate((p0, p1)) for y in range(2) if W[x][y])

        lo = max(mpf(0), (Dp - p1 * b) / (p0 * a))
        hi = min(mpf(1), Dp / (p0 * a))
        g = (mpmath.sqrt(5) - 1) / 2
        x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
        f1, f2 = rate(x1), rate(x2)
        for _ in range(400):
            if f1 < f2:
                hi, x2, f2 = x2, x1, f1
                x1 = hi - g * (hi - lo)
                f1 = rate(x1)
            else:
                lo, x1, f1 = x1, x2, f2
                x2 = lo + g * (hi - lo)
                f2 = rate(x2)
        return min(f1, f2)


# --------------------------------------------- a second, plain algorithm (cross-check)
def ba_plain_rate(p_x, d, D, dps=40, gap="1e-16") -> Ref:
    """R(D) by plain Blahut-Arimoto sweeps (no Newton, no Illinois): bisection on
    ``log s`` over [-40, 40], BA from the previous ``q`` at each slope until the
    Csiszar gap is below ``gap``; bounds as in (a) from the final bracket. Slow and
    less accurate (width ~1e-14); used only to cross-check :func:`classical_rate`.
    Requires 0 < D' < D'_max."""
    with mp.workdps(dps):
        data = classical_data(p_x, d)
        Dp = exact(D) - data.D_min
        if not (0 < Dp and (data.Dp_max is None or Dp < data.Dp_max)):
            raise ValueError("ba_plain_rate needs D_min < D < D_max")
        p = [_mp(v) for v in data.p]
        dn = [[None if v is None else _mp(v) for v in row] for row in data.dp]
        Dn = _mp(Dp)
        m = len(dn[0])
        info = (lambda J: _information(J, p))
        pts = _Points(Dn, dn, info, _zero_joint(p, dn))
        q = [mpf(1) / m] * m
        lo_t, hi_t = mpf(-40), mpf(40)
        tol = mpf(gap)
        for _ in range(70):
            t = (lo_t + hi_t) / 2
            s = mpmath.exp(t)
            K = _kernel(dn, s)
            for _sweep in range(200000):
                v = _Kq(K, q)
                r = _ratios(p, K, v)
                if max(r) - 1 < tol:
                    break
                q = [qy * ry for qy, ry in zip(q, r)]
                total = mpmath.fsum(q)
                q = [x / total for x in q]
            J = _joint(p, K, q)
            pts.add(_lower(p, K, q, s, Dn), J)
            if _distortion(J, dn) > Dn:
                lo_t = t
            else:
                hi_t = t
        lo, hi = pts.certificate()
        return Ref(max(lo - mpf("1e-30"), mpf(0)), hi + mpf("1e-30"), "plain BA + bisection")
