r"""Rigorous (outward-rounded) evaluation of the two bounds every certificate rests on.

The problem is the one the user's numbers define: the pmf :math:`\tilde p = p / \sum p`
(exactly) and the distortion ``d`` (or the likelihood ``A``, ``d = -log A``) as the
floats given. Everything here works on **shifted data**

.. math::
    r_x = \min_y d(x,y),\qquad d'(x,y) = d(x,y) - r_x \ge 0,\qquad
    D' = D - D_{\min},\quad D_{\min} = \sum_x \tilde p_x r_x,

so a constant offset in ``d`` never meets a large slope. ``d'`` is stored in float64
with a known *relative* error bound ``rel`` (``d - r_x`` is one correctly rounded
subtraction; ``log(A_max / A)`` is ``log1p`` of an exactly formed ratio excess), and is
exactly 0 on each row's minimisers. ``D_min`` and ``D'`` are balls of python-flint's
``arb`` (O(n) work).

The O(nm) work is float64 with an a-priori error bound added outward: the standard
bounds of Higham, *Accuracy and Stability of Numerical Algorithms* (2002), §2–3
(``|fl(a op b) - a op b| <= u |a op b|``, a length-k sum or dot product within
:math:`\gamma_k = ku/(1-ku)` of the sum of absolute values), gradual underflow, and
**one assumption**: numpy's float64 ``exp``, ``log`` and ``log1p`` are within
:data:`FUNCTION_ULPS` units in the last place (numpy documents at most 4 ulp for its
SIMD implementations). The independent checker :mod:`rdconvex.check` assumes nothing
but ``arb``; tests cross-check the two.

*Lower bound* (Csiszár 1974): for any ``s >= 0`` and any reals :math:`\ell_x`,

.. math::
    R(D) \ge \sum_x \tilde p_x \ell_x - \log \max_y \sum_x \tilde p_x
    e^{\ell_x - s d'(x,y)} - s D'.

*Upper bound*: the rate of the channel whose rows are the float rows ``w_x`` divided by
their exact sums, once its distortion is proven ``<= D'``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import flint
import numpy as np

from .numerics import BLOCK_ENTRIES, row_blocks

#: Unit roundoff of float64.
U = 2.0 ** -53
#: The smallest positive (subnormal) float64.
TINY = 5e-324
#: Assumed accuracy (ulp) of numpy's float64 exp, log and log1p.
FUNCTION_ULPS = 4
#: The same as a relative error bound (one ulp of x is at most 2u |x|).
FUNCTION_REL = 2 * FUNCTION_ULPS * U
#: Working precision (bits) of the O(n) ball arithmetic.
PRECISION = 128


def gamma(k: int) -> float:
    """Higham's :math:`\\gamma_k = ku / (1 - ku)`, rounded up."""
    return math.nextafter(k * U / (1.0 - k * U), math.inf) * (1.0 + 4 * U)


def ball(x: float, rel: float = 0.0, absolute: float = 0.0) -> flint.arb:
    """The ball ``x (1 ± rel) ± absolute`` (``x`` a float)."""
    return flint.arb(x, abs(x) * rel + absolute)


def lower_end(x: flint.arb) -> float:
    """A float ``<=`` every point of the ball."""
    if not x.is_finite():
        return -math.inf
    return math.nextafter(float(x.lower()), -math.inf)


def upper_end(x: flint.arb) -> float:
    """A float ``>=`` every point of the ball."""
    if not x.is_finite():
        return math.inf
    return math.nextafter(float(x.upper()), math.inf)


def arb_dot(a, b) -> flint.arb:
    """``sum_i a_i b_i`` of floats as a ball (each product exact at :data:`PRECISION`)."""
    with flint.ctx.workprec(PRECISION):
        total = flint.arb(0)
        for x, y in zip(np.asarray(a, float).tolist(), np.asarray(b, float).tolist()):
            if x != 0.0 and y != 0.0:
                total += flint.arb(x) * flint.arb(y)
        return total


@dataclass(frozen=True)
class ShiftedProblem:
    """Shifted data of a finite source (rows of positive probability only).

    ``excess`` is ``d'`` (``inf`` on forbidden pairs, exactly 0 on each row's
    minimisers) within relative error ``rel``; ``d_min`` encloses ``D_min``;
    ``inv_total`` encloses ``1 / sum p`` (the pmf is ``p * inv_total``)."""

    p: np.ndarray
    excess: np.ndarray
    rel: float
    d_min: flint.arb
    inv_total: flint.arb
    #: ``r_x`` (distortion data) or ``max_u A[x,u]`` (likelihood data), exact floats.
    reference: np.ndarray
    likelihood: bool = False

    @classmethod
    def from_distortion(cls, p: np.ndarray, d: np.ndarray) -> "ShiftedProblem":
        row_min = d.min(axis=1)
        with np.errstate(invalid="ignore"):
            excess = d - row_min[:, None]  # inf - finite = inf; one rounding: rel <= u
        inv_total = _inverse_total(p)
        with flint.ctx.workprec(PRECISION):
            d_min = arb_dot(p, row_min) * inv_total
        return cls(p, excess, U, d_min, inv_total, row_min)

    @classmethod
    def from_likelihood(cls, p: np.ndarray, A: np.ndarray) -> "ShiftedProblem":
        """``d = -log A``: ``d' = log1p((A_max - A) / A)``, formed so that its relative
        error is at most ``FUNCTION_REL + 3u`` however close ``A`` is to ``A_max``
        (``A_max - A`` is exact when ``A >= A_max / 2``, Sterbenz)."""
        best = A.max(axis=1)
        allowed = A > 0
        excess = np.full(A.shape, np.inf)
        ratio = (best[:, None] - A)[allowed] / A[allowed]
        excess[allowed] = np.log1p(ratio)
        excess[allowed & (A == best[:, None])] = 0.0
        inv_total = _inverse_total(p)
        with flint.ctx.workprec(PRECISION):
            d_min = flint.arb(0)
            for px, bx in zip(p.tolist(), best.tolist()):
                d_min -= flint.arb(px) * flint.arb(bx).log()
            d_min *= inv_total
        return cls(p, excess, FUNCTION_REL + 3 * U, d_min, inv_total, best, True)

    def excess_of(self, D: float) -> flint.arb:
        """``D' = D - D_min`` as a ball (exactly 0 when :meth:`position` is 0)."""
        if self.position(D) == 0:
            return flint.arb(0)
        with flint.ctx.workprec(PRECISION):
            return flint.arb(D) - self.d_min

    def position(self, D: float) -> int:
        """The sign of ``D - D_min``, decided exactly: rational arithmetic for distortion
        data; for likelihood data (``D_min`` is a sum of logarithms) balls at rising
        precision (0 only when ``|D - D_min| < 2^-400``, i.e. ``D_min`` is the float
        ``D`` itself, e.g. 0 when every ``max_u A[x,u] = 1``)."""
        if math.isinf(D):
            return 1 if D > 0 else -1
        with flint.ctx.workprec(PRECISION):
            gap = flint.arb(D) - self.d_min
            if gap > 0 or gap < 0:
                return 1 if gap > 0 else -1
        if self.likelihood:
            with flint.ctx.workprec(4 * PRECISION):
                total = sum((flint.arb(x) for x in self.p.tolist()), flint.arb(0))
                d_min = -sum((flint.arb(x) * flint.arb(a).log() for x, a in
                              zip(self.p.tolist(), self.reference.tolist())),
                             flint.arb(0)) / total
                gap = flint.arb(D) - d_min
                return 1 if gap > 0 else -1 if gap < 0 else 0
        from fractions import Fraction  # D_min is rational: decide exactly

        total = sum(Fraction(x) for x in self.p.tolist())
        dot = sum(Fraction(x) * Fraction(r) for x, r in
                  zip(self.p.tolist(), self.reference.tolist()))
        difference = Fraction(D) * total - dot
        return (difference > 0) - (difference < 0)

    def d_min_float(self) -> float:
        """The smallest float ``>= D_min`` (``D_min`` itself when it is a float): the
        ``D_min`` a problem reports, so that ``solve(D=problem.D_min)`` is feasible."""
        value = float(self.d_min.mid())
        while self.position(value) < 0:
            value = math.nextafter(value, math.inf)
        return value

    def distortion_allowance(self) -> float:
        """The relative rounding allowance of :func:`distortion_bound` (twice its
        a-priori relative error at ``m`` outputs): a channel whose float64 shifted
        distortion is ``<= D' (1 - allowance)`` is proven ``<= D'``."""
        m = self.excess.shape[1]
        return 2.02 * (_rho(m) + self.rel + gamma(m + 1) + 2 * U)

    def __reduce__(self):
        # arb balls do not pickle: send them as enclosing decimal strings (arb's own
        # printing is an enclosure, and parsing one back is outward).
        balls = tuple(x.str(40, radius=True, more=True) for x in (self.d_min, self.inv_total))
        return (_rebuild, (self.p, self.excess, self.rel, balls, self.reference,
                           self.likelihood))

    @property
    def minimisers(self) -> np.ndarray:
        """Boolean ``(n, m)``: the exact argmin pairs (``d' = 0``)."""
        return self.excess == 0.0


def _rebuild(p, excess, rel, balls, reference, likelihood) -> ShiftedProblem:
    with flint.ctx.workprec(PRECISION):
        d_min, inv_total = (flint.arb(text) for text in balls)
    return ShiftedProblem(p, excess, rel, d_min, inv_total, reference, likelihood)


def _inverse_total(p: np.ndarray) -> flint.arb:
    with flint.ctx.workprec(PRECISION):
        total = flint.arb(0)
        for x in p.tolist():
            total += flint.arb(x)
        return 1 / total


def _exponent_upper(log_c: np.ndarray, excess: np.ndarray, slope: float, rel: float):
    """Floats ``>= log_c_x - s d'_true(x,y)`` for floats ``log_c`` (``-inf`` on forbidden
    pairs; at ``s = inf`` only the exact minimisers survive)."""
    if math.isinf(slope):
        return np.where(excess == 0.0, log_c[:, None], -np.inf)
    if slope == 0.0:
        return np.where(np.isfinite(excess), log_c[:, None], -np.inf)
    # s d'_true >= fl(s d') (1 - rel - 2u) up to subnormal rounding; the nextafter below
    # absorbs the rest (it moves every result up by >= u |result| and >= TINY).
    with np.errstate(over="ignore", invalid="ignore"):
        lower_cost = (slope * excess) * (1.0 - (rel + 4 * U))
        z = log_c[:, None] - lower_cost
        z += 2 * U * np.abs(z)
    np.nextafter(z, np.inf, out=z)
    z[np.isnan(z)] = -np.inf  # forbidden pairs and overflowing costs: -inf - (+inf)
    return z


def _upward(x: np.ndarray, rel: float) -> np.ndarray:
    """Floats ``>= y`` for every real ``y`` with ``|y - x| <= rel |x|``."""
    out = x + (rel + 2 * U) * np.abs(x)
    return np.nextafter(out, np.inf, out=out)


def dual_lower_bound(problem: ShiftedProblem, D_excess: flint.arb, slope: float,
                     log_c: np.ndarray) -> float:
    r"""A float ``<=`` Csiszár's bound at ``(s, \ell)`` (the module docstring): valid
    for any ``s >= 0`` (``inf`` allowed, then ``D' = 0`` is required) and any finite
    ``log_c``. Each term :math:`p_x e^{\ell_x - s d'}` is formed as one exponential of
    ``log p_x + l_x - s d'`` (no overflow when ``l_x`` is large because ``p_x`` is tiny)
    with every exponent rounded up."""
    p, excess = problem.p, problem.excess
    n, m = excess.shape
    if not np.all(np.isfinite(log_c)) or slope < 0 or math.isnan(slope):
        return -math.inf
    # log p (FUNCTION_REL), then + l (one rounding): both rounded up.
    log_weight = _upward(_upward(np.log(p), FUNCTION_REL) + log_c, 0.0)
    column = np.zeros(m)
    for rows in row_blocks(n, m):
        with np.errstate(over="ignore", invalid="ignore"):
            column += np.exp(_exponent_upper(log_weight[rows], excess[rows], slope,
                                             problem.rel)).sum(axis=0)
    if not np.all(np.isfinite(column)):
        return -math.inf
    # exp within FUNCTION_REL (or FUNCTION_ULPS * TINY absolute below the normal
    # range); the column sums within gamma(n), the block sums within gamma(#blocks).
    blocks = len(range(0, n, max(1, BLOCK_ENTRIES // max(1, m))))
    relative = FUNCTION_REL / (1 - FUNCTION_REL) + gamma(n) + gamma(blocks + 1)
    worst = float(column.max())
    with flint.ctx.workprec(PRECISION):
        M = ball(worst, relative * 1.01, 2 * FUNCTION_ULPS * TINY * n) * problem.inv_total
        M_upper = flint.arb(upper_end(M))
        if not M_upper > 0:
            return -math.inf
        value = arb_dot(p, log_c) * problem.inv_total - M_upper.log()
        if math.isinf(slope):
            if not (D_excess.is_exact() and D_excess == 0):
                return -math.inf
        elif slope > 0:
            value -= flint.arb(slope) * D_excess
        return lower_end(value)


def log_c_of(problem: ShiftedProblem, slope: float, q: np.ndarray,
             kernel=None) -> np.ndarray:
    r"""The usual choice :math:`\ell_x = -\log \sum_y q_y e^{-s d'(x,y)}` (float, in log
    space; any value is valid, this one makes the bound tight at an optimal ``q``).
    ``kernel``: the row-shifted kernel ``exp(-s d')`` at this slope, if at hand."""
    from scipy.special import logsumexp

    if kernel is not None and kernel.K is not None:
        Z = kernel.K @ np.clip(q, 0.0, None)
        if np.all(Z > 1e-200):
            return -np.log(Z)  # d' has row minimum 0: no shift to undo

    q = np.clip(q, 0.0, None)
    support = np.flatnonzero(q > 0)  # outputs without mass add exp(-inf) = 0
    log_c = -logsumexp(np.log(q[support])[None, :] +
                       _log_kernel(problem.excess[:, support], slope), axis=1)
    if not np.all(np.isfinite(log_c)):
        # q vanishes on every allowed output of some row: mix in uniform mass.
        mixed = np.log((1.0 - 1e-12) * q + 1e-12 / q.size)
        log_c = -logsumexp(mixed[None, :] + _log_kernel(problem.excess, slope), axis=1)
    return log_c


def _log_kernel(excess: np.ndarray, slope: float) -> np.ndarray:
    """``-s d'`` (``-inf`` on forbidden pairs; at ``s = inf``, 0 on the minimisers)."""
    if math.isinf(slope):
        return np.where(excess == 0.0, 0.0, -np.inf)
    return np.where(np.isfinite(excess), -slope * np.where(np.isfinite(excess), excess, 0.0),
                    -np.inf)


@dataclass(frozen=True)
class ChannelBounds:
    """Outward bounds on the channel ``w_x / sum_y w_xy`` (rows of ``w``): its shifted
    distortion ``E' <= distortion_excess`` and its mutual information ``<= rate``."""

    rate: float
    distortion_excess: float
    distortion_estimate: float  # E' in float64 (for display)


def channel_bounds(problem: ShiftedProblem, w: np.ndarray) -> ChannelBounds:
    """Both bounds of the channel ``w / rowsums`` (:func:`distortion_bound`,
    :func:`rate_bound`)."""
    distortion, estimate = distortion_bound(problem, w)
    return ChannelBounds(rate_bound(problem, w), distortion, estimate)


def _active(problem: ShiftedProblem, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(w, d')`` on the outputs ``w`` uses: a column of zeros adds exactly 0 to every
    row sum, distortion and mutual-information term, so the bounds are those of the
    columns that carry mass (copies of ``n x k``; the arrays themselves when ``k`` is
    most of ``m``)."""
    m = w.shape[1]
    used = np.zeros(m, dtype=bool)
    for block in row_blocks(*w.shape):
        used |= np.any(w[block] != 0, axis=0)
    if 2 * int(used.sum()) > m:
        return w, problem.excess
    columns = np.flatnonzero(used)
    return w[:, columns], problem.excess[:, columns]


def _normalised(w: np.ndarray) -> np.ndarray:
    """The float quotient ``W_f`` of the rows by their float sums; with ``rho`` of
    :func:`_rho`, ``|W_true / W_f - 1| <= rho`` (row sum gamma(m), quotient u; a quotient
    in the subnormal range carries an absolute error below TINY instead)."""
    return w / w.sum(axis=1)[:, None]


def _rho(m: int) -> float:
    return gamma(m) + 2 * U


def distortion_bound(problem: ShiftedProblem, w: np.ndarray) -> tuple[float, float]:
    """``(upper, estimate)``: a float ``>=`` the shifted distortion ``E_W[d']`` of the
    channel ``W = w / rowsums`` (exact quotients), and its float64 estimate. Row blocks:
    O(block) temporary memory."""
    p = problem.p
    w, excess = _active(problem, w)
    n, m = w.shape
    if not np.any((w > 0) & (excess != 0)):  # on exact minimisers only: E = 0 exactly
        return 0.0, 0.0
    rows, largest = np.empty(n), 0.0
    for block in row_blocks(n, m):
        finite = np.where(np.isfinite(excess[block]), excess[block], 0.0)
        rows[block] = np.einsum("ij,ij->i", _normalised(w[block]), finite)
        largest = max(largest, float(finite.max()) if finite.size else 0.0)
    estimate = math.fsum((p * rows).tolist())
    # Nonnegative terms: W (rho), d' (rel), the row dot products (gamma(m)), the
    # products with p and the exactly rounded sum (2u).
    relative = _rho(m) + problem.rel + gamma(m + 1) + 2 * U
    with flint.ctx.workprec(PRECISION):
        dist = ball(estimate, relative * 1.01, 2 * n * m * TINY * largest) \
            * problem.inv_total
    return upper_end(dist), estimate


def rate_bound(problem: ShiftedProblem, w: np.ndarray) -> float:
    r"""A float ``>=`` the mutual information :math:`I(\tilde p, W)` of ``W = w / rowsums``.

    ``w`` must be ``>= 0`` with positive row sums. With :math:`W_f` the float quotient
    and :math:`q_f = p W_f`,

    .. math::
        I = \frac{1}{S}\sum_{x,y} p_x W_{xy}\big(\log W_{f,xy} - \log q_{f,y}\big)
            + \log S + \epsilon,

    every rounding (quotients, row sums, logs, products, the row sums of the terms and
    their exactly rounded total ``math.fsum``) bounded relative to
    :math:`H = \sum p W_f(|\log W_f| + |\log q_f|)`; a channel with one repeated row
    has ``I = 0`` exactly. Two passes over row blocks: O(block) temporary memory.
    """
    p = problem.p
    if np.all(w == w[:1]):
        return 0.0
    w, _ = _active(problem, w)
    n, m = w.shape
    blocks = list(row_blocks(n, m))
    q = np.zeros(m)
    for block in blocks:
        q += p[block] @ _normalised(w[block])
    with np.errstate(divide="ignore"):
        log_q = np.log(q)
    log_q[q == 0] = 0.0
    terms, magnitudes = np.empty(n), np.empty(n)
    for block in blocks:
        W = _normalised(w[block])
        with np.errstate(divide="ignore"):
            log_W = np.log(W)
        log_W[W == 0] = 0.0
        weighted = p[block, None] * W
        terms[block] = (weighted * (log_W - log_q)).sum(axis=1)
        np.abs(log_W, out=log_W)
        log_W += np.abs(log_q)
        magnitudes[block] = (weighted * log_W).sum(axis=1)
    total = math.fsum(terms.tolist())
    H = math.fsum(magnitudes.tolist())
    # Relative to H: W (rho) and q (rho + gamma(n + blocks)) inside the logs, the logs
    # (FUNCTION_REL), the products and subtraction (4u), the row sums of the terms
    # (gamma(m)); the weights p W (rho + u) multiply logs bounded by H. Absolute:
    # log(1 + alpha) - log(1 + beta) weighted by sum p W = 1; fsum adds u |total|;
    # subnormal quotients and products below TINY * 800.
    rho, rho_q = _rho(m), _rho(m) + gamma(n + len(blocks))
    rel_H = rho + rho_q + gamma(m) + FUNCTION_REL + 5 * U
    absolute = 2 * n * m * TINY * 800.0 + 2 * (rho + rho_q)
    with flint.ctx.workprec(PRECISION):
        S_inv = problem.inv_total
        error = ball(0.0, 0.0, rel_H * H * 1.01 + U * abs(total) + absolute)
        rate = flint.arb(total) * S_inv - S_inv.log() + error
    return max(0.0, upper_end(rate))


def in_bits(lower: float, upper: float) -> tuple[float, float]:
    """``[lower, upper]`` nats converted to bits, rounded outward."""
    with flint.ctx.workprec(PRECISION):
        log2 = flint.arb(2).log()
        low = lower_end(flint.arb(lower) / log2) if math.isfinite(lower) else lower
        high = upper_end(flint.arb(upper) / log2) if math.isfinite(upper) else upper
    return (0.0 if lower == 0.0 else low), (0.0 if upper == 0.0 else high)
