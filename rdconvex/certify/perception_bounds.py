r"""Proven (outward-rounded) bounds of Section V: couplings, the entropic-OT dual, divergences.

Everything is evaluated on the shifted data of :class:`~rdconvex.rigorous.ShiftedProblem`
(``d' = d - r_x``, ``D' = D - D_min``) for the pmf the user's floats define,
:math:`\tilde p = p / \sum p` (rows: the reduced source; columns: the full alphabet,
``p_out``). O(n) work is done in python-flint's ``arb``; O(n^2) work in float64 as
*interval arithmetic*: every correctly rounded ``+ - * /`` is followed by
``nextafter`` outward, sums of ``k`` nonnegative terms are widened by Higham's
:math:`2\gamma_k`, ``exp``/``log`` by the accuracy assumed in :mod:`rdconvex.rigorous`
(:data:`~rdconvex.rigorous.FUNCTION_ULPS` ulp).

*The rounded coupling* (:func:`round_enclosure`). The certificate format
(docs/certificate-format.md, ``"perfect_perception"``) stores a float coupling ``K``
and the checker rounds it to exact marginals ``(a, b)`` with Altschuler, Weed and
Rigollet's ``round``: :math:`J'' = \mathrm{diag}(\beta)`-scaled columns of the
:math:`\mathrm{diag}(\alpha)`-scaled rows, :math:`\alpha_x = \min(1, a_x / r_x)`,
:math:`\beta_y = \min(1, b_y / c_y)`, then :math:`J' = J'' + e_r e_c^\top / s` with the
deficits :math:`e_r, e_c \ge 0` and :math:`s = 1 - \sum J''`. The bounds here hold for
that exact :math:`J'`: the scalings are enclosed entrywise; the correction has total
mass ``s``, so (all entries ``<= 1``, ``t log t`` convex)

.. math::
    \sum J' \log J' \le \sum J'' \log J'' + s,\qquad
    \langle J', d'\rangle \le \langle J'', d'\rangle + s \max_{e_{r,x} e_{c,y} > 0} d'_{xy}.

The correction puts mass on every pair whose row and column deficits may be positive;
a forbidden pair there makes the distortion bound infinite (a deficit is proven 0 for
a column scaled down, :math:`c_y > b_y`, and for a row scaled down none of whose
columns was).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import flint
import numpy as np

from ..rigorous import (
    FUNCTION_ULPS,
    PRECISION,
    TINY,
    ShiftedProblem,
    U,
    arb_dot,
    gamma,
    lower_end,
    upper_end,
)

#: Relative error bound of numpy's exp/log results (FUNCTION_ULPS ulp <= 2 FUNCTION_ULPS u).
REL_FUNCTION = (2 * FUNCTION_ULPS + 2) * U


# ------------------------------------------------------------------ interval helpers


def down(x):
    """The next float below (elementwise)."""
    return np.nextafter(x, -np.inf)


def up(x):
    """The next float above (elementwise)."""
    return np.nextafter(x, np.inf)


def mul_lower(a, b):
    """``<= a * b`` for ``a, b >= 0``; exact zeros stay zero."""
    with np.errstate(invalid="ignore", over="ignore"):
        product = a * b
    return np.where(product > 0, down(product), 0.0)


def mul_upper(a, b):
    """``>= a * b`` for ``a, b >= 0``; exact zeros stay zero (``0 * inf`` = 0)."""
    with np.errstate(invalid="ignore", over="ignore"):
        product = a * b
    product = np.where(np.isnan(product), 0.0, product)
    return np.where(product > 0, up(product), 0.0)


def sum_upper(A, axis=None):
    """``>=`` the exact sum of the nonnegative floats ``A`` (Higham: ``gamma_k``)."""
    k = A.size if axis is None else A.shape[axis]
    total = np.sum(A, axis=axis)
    # A float sum of nonnegative terms is 0 only if every term is (no underflow in +).
    return np.where(total > 0, up(total * (1.0 + 2.0 * gamma(max(k, 2)))), 0.0)


def sum_lower(A, axis=None):
    """``<=`` the exact sum of the nonnegative floats ``A``."""
    k = A.size if axis is None else A.shape[axis]
    return np.maximum(0.0, down(np.sum(A, axis=axis) * (1.0 - 2.0 * gamma(max(k, 2)))))


def exp_upper(z):
    """``>= exp(z)`` for the exact floats ``z`` (``-inf`` gives 0)."""
    with np.errstate(over="ignore", under="ignore"):
        value = up(np.exp(z) * (1.0 + REL_FUNCTION))
        value = up(value + FUNCTION_ULPS * TINY)
    return np.where(z == -np.inf, 0.0, value)


def log_upper(x):
    """``>= log(x)`` for floats ``x > 0``."""
    value = np.log(x)
    return up(value + up(np.abs(value) * REL_FUNCTION))


def fsum_upper(values) -> float:
    """``>=`` the exact sum of the floats (``math.fsum`` is correctly rounded)."""
    flat = np.asarray(values, dtype=float).ravel()
    if flat.size == 0:
        return 0.0
    if np.any(np.isnan(flat)) or np.any(flat == np.inf):
        return math.inf
    total = math.fsum(flat.tolist())
    # The exact sum is a multiple of TINY, so a correctly rounded 0 is exact.
    return total if total == 0.0 else math.nextafter(total, math.inf)


def fsum_lower(values) -> float:
    """``<=`` the exact sum of the floats."""
    return -fsum_upper(-np.asarray(values, dtype=float))


def pmf_enclosure(problem: ShiftedProblem, weights: np.ndarray):
    """``(lo, hi)`` floats around ``weights / sum p`` (``weights`` = ``p`` or ``p_out``)."""
    lo, hi = np.zeros(weights.size), np.zeros(weights.size)
    with flint.ctx.workprec(PRECISION):
        for i, w in enumerate(weights.tolist()):
            if w > 0:
                value = flint.arb(w) * problem.inv_total
                lo[i], hi[i] = lower_end(value), upper_end(value)
    return lo, hi


def excess_lower(problem: ShiftedProblem) -> np.ndarray:
    """Floats ``<= d'`` (``inf`` on forbidden pairs)."""
    factor = 1.0 - (problem.rel + 2 * U)
    return np.maximum(0.0, down(problem.excess * factor))


def excess_upper(problem: ShiftedProblem) -> np.ndarray:
    """Floats ``>= d'`` (``inf`` on forbidden pairs)."""
    factor = up(1.0 + problem.rel + 2 * U)
    return np.where(problem.excess > 0, up(problem.excess * factor), 0.0)


def exponents_upper(row, col, problem: ShiftedProblem, slope: float) -> np.ndarray:
    """Floats ``>= row_x + col_y - s d'(x,y)`` (``-inf`` on forbidden pairs; at
    ``s = inf`` only the exact minimisers ``d' = 0`` survive)."""
    excess = problem.excess
    with np.errstate(invalid="ignore", over="ignore"):
        base = up(row[:, None] + col[None, :])
        if math.isinf(slope):
            return np.where(excess == 0.0, base, -np.inf)
        if slope == 0.0:
            return np.where(np.isfinite(excess), base, -np.inf)
        cost = down(slope * excess_lower(problem))
        z = up(base - cost)
    return np.where(np.isfinite(excess) & ~np.isnan(z), z, -np.inf)


# ------------------------------------------------------------------ rounded couplings


class Rounded(NamedTuple):
    """Entrywise bounds on ``J''`` (the two scalings of ``round``), an upper bound on
    the correction's mass ``s`` and which rows/columns may carry a deficit."""

    lo: np.ndarray
    hi: np.ndarray
    slack: float
    rows: np.ndarray
    cols: np.ndarray


def round_enclosure(K: np.ndarray, a_lo, a_hi, b_lo, b_hi) -> Rounded:
    """Enclose Altschuler–Weed–Rigollet's ``round`` of the float ``K >= 0`` to exact
    marginals ``a, b`` (each summing to 1) known within ``[lo, hi]``."""
    r_lo, r_hi = sum_lower(K, 1), sum_upper(K, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha_lo = np.where(r_hi > 0, np.minimum(1.0, down(a_lo / r_hi)), 1.0)
        alpha_hi = np.where(r_lo > 0, np.minimum(1.0, up(a_hi / r_lo)), 1.0)
    A_lo, A_hi = mul_lower(alpha_lo[:, None], K), mul_upper(alpha_hi[:, None], K)
    c_lo, c_hi = sum_lower(A_lo, 0), sum_upper(A_hi, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta_lo = np.where(c_hi > 0, np.minimum(1.0, down(b_lo / c_hi)), 1.0)
        beta_hi = np.where(c_lo > 0, np.minimum(1.0, up(b_hi / c_lo)), 1.0)
    beta_lo = np.where(b_hi == 0, 0.0, beta_lo)
    beta_hi = np.where(b_hi == 0, 0.0, beta_hi)
    J_lo, J_hi = mul_lower(A_lo, beta_lo[None, :]), mul_upper(A_hi, beta_hi[None, :])
    col_exact = (c_lo > b_hi) | (b_hi == 0)           # scaled down to b_y exactly
    col_untouched = c_hi <= b_lo                        # beta_y = 1
    touched = ((K > 0) & ~col_untouched[None, :]).any(axis=1)
    row_exact = (r_lo > a_hi) & ~touched               # a_x exactly, never scaled again
    slack = max(0.0, math.nextafter(1.0 - fsum_lower(J_lo), math.inf))
    return Rounded(J_lo, J_hi, slack, ~row_exact, ~col_exact)


def cost_upper(rounded: Rounded, cost_hi: np.ndarray) -> float:
    """``>= <J', cost>`` for the rounded coupling (``cost_hi >= cost``, ``inf`` forbidden)."""
    finite = np.isfinite(cost_hi)
    if np.any(rounded.hi[~finite] > 0):
        return math.inf
    main = fsum_upper(sum_upper(mul_upper(rounded.hi, np.where(finite, cost_hi, 0.0)), 1))
    block = cost_hi[np.ix_(rounded.rows, rounded.cols)]
    if block.size == 0 or rounded.slack == 0.0:
        return main
    largest = float(block.max())
    if math.isinf(largest):
        return math.inf
    return math.nextafter(main + math.nextafter(rounded.slack * largest, math.inf), math.inf)


def _t_log_t_upper(t):
    """``>= t log t`` for floats ``t >= 0``."""
    positive = t > 0
    safe = np.where(positive, t, 1.0)
    return np.where(positive, up(safe * log_upper(safe)), 0.0)


def neg_entropy_upper(rounded: Rounded) -> float:
    """``>= sum J' log J'`` (``t log t`` is convex: its max over an interval is at an end)."""
    ends = np.maximum(_t_log_t_upper(rounded.lo), _t_log_t_upper(rounded.hi))
    return math.nextafter(fsum_upper(ends) + rounded.slack, math.inf)


class CouplingBounds(NamedTuple):
    """Proven bounds for the rounded coupling ``J'`` of a stored float coupling:
    ``KL(J' || p p^T) <= rate``, ``<J', d'> <= distortion_excess`` (``inf`` when the
    rounding may put mass on a forbidden pair) and a float estimate of ``<J', d'>``."""

    rate: float
    distortion_excess: float
    distortion_estimate: float


def coupling_bounds(problem: ShiftedProblem, p_out: np.ndarray, K: np.ndarray) -> CouplingBounds:
    """Bounds for ``round(K)`` to exact marginals ``(p~, p~)`` (rows: the reduced source,
    columns: ``p_out``). ``K`` is ``>= 0``, zero on forbidden pairs. An all-zero ``K``
    rounds to the independent coupling exactly (rate 0)."""
    a_lo, a_hi = pmf_enclosure(problem, problem.p)
    b_lo, b_hi = pmf_enclosure(problem, p_out)
    cost_hi = excess_upper(problem)
    if not np.any(K):
        independent = Rounded(np.outer(a_lo, b_lo), mul_upper(a_hi[:, None], b_hi[None, :]),
                              0.0, np.zeros(a_lo.size, bool), np.zeros(b_lo.size, bool))
        estimate = float(np.sum(np.outer(a_lo, b_lo)[np.isfinite(cost_hi)]
                                * problem.excess[np.isfinite(cost_hi)]))
        return CouplingBounds(0.0, cost_upper(independent, cost_hi), estimate)
    rounded = round_enclosure(K, a_lo, a_hi, b_lo, b_hi)
    distortion = cost_upper(rounded, cost_hi)
    finite = np.isfinite(problem.excess)
    estimate = float(np.sum(rounded.hi[finite] * problem.excess[finite]))
    with flint.ctx.workprec(PRECISION):
        marginal = flint.arb(0)
        for weights in (problem.p, p_out):
            for w in weights.tolist():
                if w > 0:
                    value = flint.arb(w) * problem.inv_total
                    marginal += value * value.log()
        rate = upper_end(flint.arb(neg_entropy_upper(rounded)) - marginal)
    return CouplingBounds(max(0.0, rate), distortion, estimate)


# ------------------------------------------------------------------ the entropic-OT dual


def entropic_dual_bound(problem: ShiftedProblem, p_out: np.ndarray, D_excess, lam: float,
                        f: np.ndarray, g: np.ndarray) -> float:
    r"""A float ``<=`` the entropic-OT dual of ``R(D, 0)`` at ``(lam, f, g)``:

    .. math::
        \sum_x \tilde p_x f_x + \sum_y \tilde p_y g_y - \lambda D' + 1
        - \sum_{x,y} \tilde p_x \tilde p_y e^{f_x + g_y - \lambda d'(x,y)}

    (weak duality: Fenchel–Young on :math:`j \log(j/k) - j + k`, valid for every
    ``lam >= 0`` and all finite ``f``, ``g``). ``g`` is indexed like ``p_out``."""
    live = p_out > 0
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(g[live]))) or not lam >= 0 \
            or math.isinf(lam):
        return -math.inf
    col = np.where(live, g, -np.inf)
    terms = mul_upper(mul_upper(problem.p[:, None], p_out[None, :]),
                      exp_upper(exponents_upper(f, col, problem, lam)))
    mass = fsum_upper(sum_upper(terms, 1))
    if math.isinf(mass):
        return -math.inf
    with flint.ctx.workprec(PRECISION):
        inv = problem.inv_total
        value = (arb_dot(problem.p, f) + arb_dot(p_out[live], g[live])) * inv + 1
        value -= flint.arb(mass) * inv * inv
        if lam > 0:
            value -= flint.arb(lam) * D_excess
        return lower_end(value)


# ------------------------------------------------------------------ output pmf and divergences


class OutputEnclosure(NamedTuple):
    """``q = p~ W`` enclosed: floats ``lo <= q <= hi`` and one ``arb`` ball per output
    (None where ``q_y = 0`` exactly)."""

    lo: np.ndarray
    hi: np.ndarray
    balls: list


def output_enclosure(problem: ShiftedProblem, w: np.ndarray) -> OutputEnclosure:
    """Enclose ``q = p~ W`` for ``W`` = the rows of ``w >= 0`` divided by their exact
    sums (as the checker reads a channel). Outputs whose float enclosure is loose
    (products in the subnormal range) are recomputed in ``arb``."""
    s_lo, s_hi = sum_lower(w, 1), sum_upper(w, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        W_lo = np.where(w > 0, np.maximum(0.0, down(w / s_hi[:, None])), 0.0)
        W_hi = np.where(w > 0, up(w / s_lo[:, None]), 0.0)
    q_lo = sum_lower(mul_lower(problem.p[:, None], W_lo), 0)
    q_hi = sum_upper(mul_upper(problem.p[:, None], W_hi), 0)
    lo, hi, balls = np.zeros(q_lo.size), np.zeros(q_hi.size), [None] * q_lo.size
    sums = None
    with flint.ctx.workprec(PRECISION):
        for y in range(q_lo.size):
            if q_hi[y] == 0:
                continue
            if q_lo[y] > 0.5 * q_hi[y]:
                value = flint.arb(float(q_lo[y])).union(flint.arb(float(q_hi[y])))
            else:
                if sums is None:
                    sums = [flint.arb(float(t), float(t) * 2 * gamma(max(w.shape[1], 2)))
                            for t in w.sum(axis=1).tolist()]
                value = flint.arb(0)
                for x in np.flatnonzero(w[:, y] > 0).tolist():
                    value += flint.arb(float(problem.p[x])) * float(w[x, y]) / sums[x]
            value *= problem.inv_total
            balls[y] = value
            lo[y], hi[y] = max(0.0, lower_end(value)), upper_end(value)
    return OutputEnclosure(lo, hi, balls)


def _term(name: str, b, q):
    """The divergence's term at output ``y`` (``b = p~_y``, ``q = q_y`` balls, ``b > 0``)."""
    if name == "tv":
        return abs(b - q) / 2
    if name == "kl":
        return b * (b / q).log()
    if name == "reverse_kl":
        return q * (q / b).log() if q > 0 else flint.arb(0)
    # (x * x, not x ** 2: python-flint's power of a ball centred at 0 is nan)
    if name == "hellinger":
        root = b.sqrt() - q.sqrt()
        return root * root / 2
    return (q - b) * (q - b) / b  # chi2


def divergence_upper(name: str, problem: ShiftedProblem, p_out: np.ndarray,
                     q: OutputEnclosure) -> float:
    """``>= gamma(p~, q)`` for every ``q`` in the enclosure (closed-form divergences; each
    term is convex in ``q_y``, so its maximum is at an end of the ball)."""
    with flint.ctx.workprec(PRECISION):
        total = flint.arb(0)
        for y, w in enumerate(p_out.tolist()):
            ball = q.balls[y]
            if w == 0.0:
                if ball is None:
                    continue
                if name in ("reverse_kl", "chi2"):
                    return math.inf
                if name in ("tv", "hellinger"):
                    total += ball.upper() / 2
                continue
            b = flint.arb(w) * problem.inv_total
            ends = [flint.arb(0)] if ball is None else [ball.lower(), ball.upper()]
            if name == "kl" and not ends[0] > 0:
                return math.inf
            terms = [_term(name, b, end) for end in ends]
            if not all(t.is_finite() for t in terms):
                return math.inf
            total += flint.arb(max(upper_end(t) for t in terms))
        return upper_end(total)
