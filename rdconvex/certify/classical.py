r"""Certificates of the classical R(D): certified upper and lower bounds from any returned point.

One place for every solver (conic, Blahut–Arimoto, Sinkhorn). All arithmetic is float64
in nats on the reduced problem (source symbols with positive probability).

*Upper bound.* Take the channel, zero the forbidden pairs, clip negatives, renormalise
rows; if its distortion exceeds ``D``, mix it with the minimum-distortion channel
(distortion ``D_min <= D``) just enough to meet ``D``. The mutual information of the
repaired channel, computed exactly, is an upper bound on ``R(D)``.

*Lower bound.* From any slope ``s >= 0`` and output pmf ``q`` (Csiszár 1974),

.. math::
    c_x = \Big(\sum_y q_y e^{-s d(x,y)}\Big)^{-1},\quad
    M = \max_y \sum_x p_x c_x e^{-s d(x,y)},\quad
    g = \log c - \log M

is feasible for the dual, so ``sum_x p_x g_x - s D`` is a lower bound. The kernel is
shifted per row, :math:`e^{-s(d(x,y) - \min_{y'} d(x,y'))}` (row maximum 1), so large
slopes (``1e4`` and more) do not underflow; a row whose sum would still underflow (``q``
vanishing near its best outputs) is computed in log space (``logsumexp``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from ..atoms import channel_mutual_information, expected_distortion
from ..numerics import (
    ShiftedKernel,
    ba_step,
    dual_value,
    min_distortion_channel,
    normalise_rows,
    shifted_kernel,
)
from ..results import Certificate

#: Relative size of float64 rounding in the bound computations.
ROUNDING = 1e-12


def repair_channel(p: np.ndarray, d: np.ndarray, channel, D: float | None = None):
    """Make ``channel`` a valid channel with zero mass on forbidden pairs and
    distortion ``<= D`` (``D >= D_min`` assumed). Returns ``(channel, distortion)``.

    An excess distortion is removed by mixing with the channel's own projection on
    the argmin pairs (rows renormalised; distortion exactly ``D_min``), the smallest
    move along a segment of feasible channels.
    """
    W = np.array(channel, dtype=float, copy=True)
    W[~np.isfinite(W)] = 0.0
    np.clip(W, 0.0, None, out=W)
    W[~np.isfinite(d)] = 0.0
    sums = W.sum(axis=1, keepdims=True)
    if np.all(sums > 0):
        W /= sums
        fallback = None
    else:
        fallback = min_distortion_channel(d)
        W = normalise_rows(W, fallback)
    distortion = expected_distortion(p, W, d)
    if D is None or distortion <= D:
        return W, distortion
    if fallback is None:
        fallback = min_distortion_channel(d)
    argmin = fallback > 0
    W_low = normalise_rows(np.where(argmin, W, 0.0), fallback)
    d_low = expected_distortion(p, W_low, d)
    t = 1.0 if distortion <= d_low else min(1.0, (distortion - D) / (distortion - d_low))
    # Rounding can leave the mix a hair above D: step t up until it is not (doubling
    # steps, so a rounding excess far above one ulp of t takes a few dozen tries).
    step = 4 * np.finfo(float).eps * max(t, 1e-3)
    while True:
        mixed = (1.0 - t) * W + t * W_low
        mixed_distortion = expected_distortion(p, mixed, d)
        if mixed_distortion <= D or t >= 1.0:
            return mixed, mixed_distortion
        t = min(1.0, t + step)
        step *= 2.0


def lower_bound(p: np.ndarray, d: np.ndarray, D: float, slope: float, q) -> float:
    """Csiszár's dual lower bound on ``R(D)`` at slope ``s`` from output pmf ``q``."""
    return lower_bounds(p, d, D, slope, [q])[0]


def lower_bounds(p: np.ndarray, d: np.ndarray, D: float, slope: float, qs,
                 kernel: ShiftedKernel | None = None) -> list[float]:
    """:func:`lower_bound` for several output pmfs at one slope (one kernel)."""
    kernel = shifted_kernel(d, slope) if kernel is None else kernel
    return [dual_value(p, d, D, slope, q, kernel) for q in qs]


#: Work budget (distortion entries x Blahut–Arimoto steps) for polishing a lower bound
#: when ``polish`` is not given: many steps on small problems, a few on large ones.
POLISH_BUDGET = 30_000_000
MAX_POLISH = 500


def polish_steps(d: np.ndarray) -> int:
    """Default number of polishing steps for a problem of this size."""
    return int(min(MAX_POLISH, max(5, POLISH_BUDGET // max(1, d.size))))


def best_lower_bound(p: np.ndarray, d: np.ndarray, D: float, slope: float, q,
                     polish: int = 5, refine_slope: bool = True, kernel=None) -> float:
    """The best lower bound from ``(s, q)``: up to ``polish`` Blahut–Arimoto steps on
    ``q`` at ``s`` (stopping once a step gains less than 1e-14), then (if
    ``refine_slope``) a bounded 1-D search over ``s`` near the given one. Every
    candidate is a feasible dual point, so the maximum is a valid bound."""
    kernel = shifted_kernel(d, slope) if kernel is None else kernel
    best_q, best = q, lower_bounds(p, d, D, slope, [q], kernel)[0]
    for _ in range(polish):
        q = ba_step(p, d, slope, q, kernel)
        value = lower_bounds(p, d, D, slope, [q], kernel)[0]
        if value > best:
            gain = value - best
            best_q, best = q, value
            if gain < 1e-14 * (1.0 + abs(value)):
                break
    if refine_slope:
        hi = 2.0 * slope if slope > 0 else 1.0
        search = minimize_scalar(lambda s: -lower_bound(p, d, D, s, best_q),
                                 bounds=(0.5 * slope, hi), method="bounded",
                                 options={"xatol": 1e-12 * max(1.0, slope)})
        if np.isfinite(search.fun):
            best = max(best, -float(search.fun))
    return best


def certify(p: np.ndarray, d: np.ndarray, D: float, channel, slope: float, q,
            polish: int | None = None,
            refine_slope: bool = True) -> tuple[np.ndarray, float, Certificate]:
    """Certify a returned point for ``R(D)``.

    Returns the repaired channel, its distortion and the certificate (nats). The lower
    bound is the best of :func:`best_lower_bound` from the given ``(s, q)`` and from
    the output pmf of the repaired channel.
    """
    W, distortion = repair_channel(p, d, channel, D)
    upper = channel_mutual_information(p, W)
    if upper <= 0.0:
        # R(D) >= 0 always: a rate-0 channel is its own exact certificate.
        return W, distortion, Certificate(upper=0.0, lower=0.0)
    slope = float(max(0.0, slope)) if np.isfinite(slope) else 0.0
    polish = polish_steps(d) if polish is None else polish
    candidates = [p @ W] + ([q] if q is not None else [])
    kernel = shifted_kernel(d, slope)
    lower = max(best_lower_bound(p, d, D, slope, c, polish, refine_slope, kernel)
                for c in candidates)
    # R(D) >= 0; and a lower bound above the upper one by float rounding only is the
    # same number computed twice (e.g. rate 0): report them equal.
    lower = max(lower, 0.0)
    if upper < lower <= upper + ROUNDING * (1.0 + abs(upper)):
        lower = upper
    return W, distortion, Certificate(upper=upper, lower=lower)
