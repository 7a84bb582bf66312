r"""Certificates of the classical R(D): proven upper and lower bounds from any returned point.

One place for every solver (conic, Blahut–Arimoto, Sinkhorn) and for the log-likelihood
family (the same bound on ``d = -log A``). The bounds hold for the problem the user's
numbers define, in exact arithmetic: they are evaluated on shifted data with outward
rounding by :mod:`rdconvex.rigorous` (see its docstring and docs/certificates.md).

*Upper bound.* Take the channel, zero the forbidden pairs, clip negatives, renormalise
rows; if its distortion is not *proven* ``<= D``, mix it with the minimum-distortion
channel (shifted distortion exactly 0) by the smallest weight that proves it. The
proven upper end of the mutual information of that float channel (rows divided by their
exact sums) is the upper bound.

*Lower bound.* From any slope ``s >= 0`` and output pmf ``q`` (Csiszár 1974),
:math:`\ell_x = -\log\sum_y q_y e^{-s d'(x,y)}` gives

.. math::
    R(D) \ge \sum_x p_x \ell_x - \log \max_y \sum_x p_x e^{\ell_x - s d'(x,y)} - s D'.

The search for a good ``(s, q)`` (a few Blahut–Arimoto steps, a 1-D search over ``s``)
is plain float64 on the shifted data; only the chosen point is evaluated rigorously.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize_scalar

import flint

from ..numerics import (
    BLOCK_ENTRIES,
    LARGE_SLOPE_MARGIN,
    ba_step,
    dual_value,
    large_slope,
    min_distortion_channel,
    normalise_rows,
    polish_log_c,
    row_blocks,
    shifted_kernel,
)
from ..results import Certificate
from ..rigorous import (
    PRECISION,
    ShiftedProblem,
    distortion_bound,
    dual_lower_bound,
    log_c_of,
    rate_bound,
    upper_end,
)


class DualPoint(NamedTuple):
    """A Csiszár dual point: slope and ``log c`` (one per reduced source row)."""

    slope: float
    log_c: np.ndarray


class Certified(NamedTuple):
    """A certified point: the float channel whose exact row-normalisation the upper
    bound is about, its distortion (float estimate, original units), the certificate
    (nats) and the dual point of the lower bound."""

    channel: np.ndarray
    distortion: float
    certificate: Certificate
    dual: DualPoint


def repair_channel(d: np.ndarray, channel) -> np.ndarray:
    """``channel`` made a float channel: finite, ``>= 0``, zero on forbidden pairs, rows
    normalised (an empty row takes the minimum-distortion row). A channel that is one
    already (rows summing to 1 within ``1e-12``) is returned as it is, not copied."""
    if _is_channel(d, channel):
        return channel
    W = np.array(channel, dtype=float, copy=True)
    W[~np.isfinite(W)] = 0.0
    np.clip(W, 0.0, None, out=W)
    W[~np.isfinite(d)] = 0.0
    return normalise_rows(W, min_distortion_channel(d))


def _is_channel(d: np.ndarray, channel) -> bool:
    """Whether ``channel`` is a float64 array of ``d``'s shape, ``>= 0``, zero on
    forbidden pairs, rows summing to 1 within ``1e-12`` (checked by row blocks)."""
    if not (isinstance(channel, np.ndarray) and channel.dtype == np.float64
            and channel.shape == d.shape):
        return False
    for rows in row_blocks(*d.shape):
        W = channel[rows]
        if not (np.all(W >= 0) and np.all(np.isfinite(W))):  # (NaN fails W >= 0)
            return False
        if np.any((W > 0) & np.isinf(d[rows])):
            return False
        if not np.all(np.abs(W.sum(axis=1) - 1.0) <= 1e-12):
            return False
    return True


def _argmin_channel(problem: ShiftedProblem, W: np.ndarray) -> np.ndarray:
    """``W`` restricted to the exact minimisers (shifted distortion exactly 0)."""
    tied = problem.minimisers
    fallback = tied / tied.sum(axis=1, keepdims=True)
    return normalise_rows(np.where(tied, W, 0.0), fallback)


def feasible_channel(problem: ShiftedProblem, W: np.ndarray, D_excess):
    """``(channel, distortion upper end, estimate)``: ``W`` mixed with its argmin
    restriction by the smallest weight whose shifted distortion is *proven* ``<= D'``
    (weight 1 gives distortion exactly 0)."""
    bound, estimate = distortion_bound(problem, W)
    if D_excess.is_finite():
        budget = float(D_excess.lower())
        budget = math.nextafter(budget, -math.inf) if budget > 0 else 0.0
    else:  # D = +inf: the curve's limit (slope 0 with D_max infinite)
        budget = math.inf
    if bound <= budget:
        return W, bound, estimate
    low = _argmin_channel(problem, W)
    # The mixture's distortion is (1 - t) times W's up to rounding: start just past
    # the weight that closes the excess, double the margin until it is proven.
    need = 1.0 - budget / bound if bound > 0 else 1.0
    margin = 2.0 * problem.distortion_allowance()
    while True:
        t = min(1.0, need + margin)
        mixed = low if t == 1.0 else (1.0 - t) * W + t * low
        bound, estimate = distortion_bound(problem, mixed)
        if bound <= budget or t == 1.0:
            return mixed, bound, estimate
        margin *= 4.0


#: Work budget (distortion entries x Blahut–Arimoto steps) for polishing a lower bound
#: when ``polish`` is not given: many steps on small problems, a few on large ones.
POLISH_BUDGET = 30_000_000
MAX_POLISH = 500


def polish_steps(d: np.ndarray) -> int:
    """Default number of polishing steps for a problem of this size."""
    return int(min(MAX_POLISH, max(5, POLISH_BUDGET // max(1, d.size))))


def _estimate(problem, D_float, slope, q, kernel=None) -> float:
    if math.isinf(D_float):  # the limit D -> inf: only slope 0 bounds it
        return dual_value(problem.p, problem.excess, 0.0, 0.0, q) if slope == 0 else -math.inf
    return dual_value(problem.p, problem.excess, D_float, slope, q, kernel)


def best_dual_point(problem: ShiftedProblem, D_excess: float, slope: float, q,
                    polish: int = 5, refine_slope: bool = True, kernel=None,
                    target: float = -math.inf) -> tuple[float, np.ndarray]:
    """A good ``(s, q)`` for the bound at shifted target ``D_excess`` (float search):
    up to ``polish`` Blahut–Arimoto steps on ``q`` at ``s`` (stopping once a step gains
    less than 1e-14), then (if ``refine_slope`` and the estimate is still more than
    1e-13 below ``target``, e.g. the upper bound) a bounded 1-D search over ``s``."""
    excess = problem.excess
    if kernel is None and (polish or excess.size <= BLOCK_ENTRIES):
        kernel = shifted_kernel(excess, slope)
    best_q, best = q, _estimate(problem, D_excess, slope, q, kernel)
    for _ in range(polish):
        q = ba_step(problem.p, excess, slope, q, kernel)
        value = _estimate(problem, D_excess, slope, q, kernel)
        if value > best:
            gain = value - best
            best_q, best = q, value
            if gain < 1e-14 * (1.0 + abs(value)):
                break
    best_slope = slope
    if refine_slope and best < target - 1e-13 * (1.0 + abs(target)):
        hi = 2.0 * slope if slope > 0 else 1.0
        search = minimize_scalar(lambda s: -_estimate(problem, D_excess, s, best_q),
                                 bounds=(0.5 * slope, hi), method="bounded",
                                 options={"xatol": 1e-12 * max(1.0, slope)})
        if np.isfinite(search.fun) and -float(search.fun) > best:
            best_slope = float(search.x)
    return best_slope, best_q


def _polished(problem: ShiftedProblem, point: DualPoint, kernel=None) -> DualPoint | None:
    """``point`` with its ``log c`` polished (:func:`~rdconvex.numerics.polish_log_c`),
    when some output's column sum exceeds 1 and the kernel fits in memory (None
    otherwise)."""
    if problem.excess.size > BLOCK_ENTRIES or not math.isfinite(point.slope):
        return None
    if kernel is None:
        kernel = shifted_kernel(problem.excess, point.slope)
    if kernel.K is None:
        return None
    log_c, _ = polish_log_c(problem.p, point.log_c, kernel.K)
    if not np.any(log_c != point.log_c):
        return None
    return DualPoint(point.slope, log_c)


def lower_bound(problem: ShiftedProblem, D: float, slope: float, q) -> float:
    """Csiszár's proven lower bound on ``R(D)`` at slope ``s`` from output pmf ``q``."""
    log_c = log_c_of(problem, slope, np.asarray(q, dtype=float))
    return dual_lower_bound(problem, problem.excess_of(D), slope, log_c)


def distortion_upper_end(problem: ShiftedProblem, W: np.ndarray) -> float:
    """A float ``D`` with ``E_W[d] <= D`` proven (``W`` a float channel, rows divided by
    their exact sums)."""
    bound, _ = distortion_bound(problem, W)
    with flint.ctx.workprec(PRECISION):
        return upper_end(problem.d_min + flint.arb(bound))


def certify(problem: ShiftedProblem, D: float, channel, slope: float, q,
            polish: int | None = None, refine_slope: bool = True) -> Certified:
    """Certify a returned point for ``R(D)`` (nats).

    The lower bound is the best of the dual points found from the given ``(s, q)`` and
    from the output pmf of the repaired channel; at ``D = D_min`` (exactly) the slope is
    infinite and only exact minimisers count."""
    D_excess = problem.excess_of(D)
    W = repair_channel(problem.excess, channel)
    W, _, estimate = feasible_channel(problem, W, D_excess)
    upper = rate_bound(problem, W)
    distortion = estimate + float(problem.d_min.mid())
    if upper <= 0.0:
        return Certified(W, distortion, Certificate(upper=0.0, lower=0.0),
                         DualPoint(0.0, np.zeros(problem.p.size)))
    at_min = D_excess.is_exact() and D_excess == 0
    p = problem.p
    candidates = [p @ W]
    if q is not None:  # a solver's output pmf, if it is one (a failed solve may be NaN)
        q = np.asarray(q, dtype=float)
        if q.shape == (W.shape[1],) and np.all(np.isfinite(q)) and q.sum() > 0:
            candidates.append(np.clip(q, 0.0, None))
    if at_min:
        points = [DualPoint(math.inf, log_c_of(problem, math.inf, c)) for c in candidates]
        values = [dual_lower_bound(problem, D_excess, pt.slope, pt.log_c) for pt in points]
        best = points[int(np.argmax(values))]
        lower = max(values)
    else:
        # Search in float64, prove once: the best candidate by its float estimate.
        slope = float(max(0.0, slope)) if np.isfinite(slope) else 0.0
        polish = polish_steps(problem.excess) if polish is None else polish
        D_float = float(D_excess.mid())
        steep = large_slope(problem.excess, LARGE_SLOPE_MARGIN)
        if steep > slope and steep * D_float < 1e-3 * (1e-9 + upper):
            # D is so close to D_min that a slope steep enough to neglect every
            # non-argmin pair costs almost nothing in s D': try it too.
            kernel = shifted_kernel(problem.excess, steep)
            if max(_estimate(problem, D_float, steep, c, kernel) for c in candidates) > \
                    max(_estimate(problem, D_float, slope, c) for c in candidates):
                slope = steep
        # (a large problem is evaluated by row blocks instead of through an n x m kernel)
        kernel = shifted_kernel(problem.excess, slope) \
            if problem.excess.size <= BLOCK_ENTRIES else None
        start = max(candidates, key=lambda c: _estimate(problem, D_float, slope, c, kernel))
        s, c = best_dual_point(problem, D_float, slope, start, polish, refine_slope, kernel,
                               target=upper)
        best = DualPoint(s, log_c_of(problem, s, c, kernel if s == slope else None))
        lower = dual_lower_bound(problem, D_excess, best.slope, best.log_c)
        # (a gap already below 1e-10 nats is not worth another proven pass)
        polished = None if upper - lower <= 1e-10 else _polished(
            problem, best, kernel if s == slope else None)
        if polished is not None:
            value = dual_lower_bound(problem, D_excess, polished.slope, polished.log_c)
            if value > lower:
                best, lower = polished, value
    # R(D) >= 0 always.
    return Certified(W, distortion, Certificate(upper=upper, lower=max(lower, 0.0)), best)
