r"""Certificates: certified upper and lower bounds on R(D) from any returned point.

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

is feasible for the dual, so ``sum_x p_x g_x - s D`` is a lower bound. Exponentials
are taken in log space (``logsumexp``), so large slopes do not underflow.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from .atoms import channel_mutual_information, expected_distortion
from .results import Certificate

#: Relative size of float64 rounding in the bound computations.
ROUNDING = 1e-12


def log_kernel(d: np.ndarray, slope: float) -> np.ndarray:
    """``-s d`` with ``-inf`` on forbidden pairs (never ``0 * inf``)."""
    allowed = np.isfinite(d)
    out = np.full(d.shape, -np.inf)
    out[allowed] = -slope * d[allowed]
    return out


def safe_log(x: np.ndarray) -> np.ndarray:
    """``log x`` with ``log 0 = -inf`` and no warning."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, -np.inf)
    pos = x > 0
    out[pos] = np.log(x[pos])
    return out


def min_distortion_channel(d: np.ndarray) -> np.ndarray:
    """Row ``x`` uniform on ``argmin_y d(x, y)``: the channel with distortion ``D_min``."""
    row_min = d.min(axis=1, keepdims=True)
    W = (d <= row_min).astype(float)
    return W / W.sum(axis=1, keepdims=True)


def _normalise_rows(W: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    sums = W.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    W[empty] = fallback[empty]
    sums[empty] = 1.0
    return W / sums


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
    fallback = min_distortion_channel(d)
    W = _normalise_rows(W, fallback)
    distortion = expected_distortion(p, W, d)
    if D is None or distortion <= D:
        return W, distortion
    argmin = fallback > 0
    W_low = _normalise_rows(np.where(argmin, W, 0.0), fallback)
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
    log_p = np.log(p)
    q = np.clip(np.asarray(q, dtype=float), 0.0, None)
    q = q / q.sum() if q.sum() > 0 else np.full(d.shape[1], 1.0 / d.shape[1])
    kernel = log_kernel(d, slope)
    log_c = -logsumexp(safe_log(q)[None, :] + kernel, axis=1)
    if not np.all(np.isfinite(log_c)):
        # q vanishes on every allowed output of some x: mix in a little uniform mass.
        q = (1.0 - 1e-12) * q + 1e-12 / q.size
        log_c = -logsumexp(np.log(q)[None, :] + kernel, axis=1)
    log_M = np.max(logsumexp((log_p + log_c)[:, None] + kernel, axis=0))
    return float(p @ log_c - log_M - slope * D)


def ba_step(p: np.ndarray, d: np.ndarray, slope: float, q) -> np.ndarray:
    """One Blahut–Arimoto update of the output pmf at slope ``s`` (log space)."""
    kernel = log_kernel(d, slope)
    log_q = safe_log(q)
    log_c = -logsumexp(log_q[None, :] + kernel, axis=1)
    log_new = log_q + logsumexp((np.log(p) + log_c)[:, None] + kernel, axis=0)
    new = np.exp(log_new - logsumexp(log_new))
    return new


def best_lower_bound(p: np.ndarray, d: np.ndarray, D: float, slope: float, q,
                     polish: int = 5, refine_slope: bool = True) -> float:
    """The best lower bound from ``(s, q)``: ``polish`` Blahut–Arimoto steps on ``q`` at
    ``s``, then (if ``refine_slope``) a bounded 1-D search over ``s`` near the given one.
    Every candidate is a feasible dual point, so the maximum is a valid bound."""
    best_q, best = q, lower_bound(p, d, D, slope, q)
    for _ in range(polish):
        q = ba_step(p, d, slope, q)
        value = lower_bound(p, d, D, slope, q)
        if value > best:
            best_q, best = q, value
    if refine_slope:
        hi = 2.0 * slope if slope > 0 else 1.0
        search = minimize_scalar(lambda s: -lower_bound(p, d, D, s, best_q),
                                 bounds=(0.5 * slope, hi), method="bounded",
                                 options={"xatol": 1e-12 * max(1.0, slope)})
        if np.isfinite(search.fun):
            best = max(best, -float(search.fun))
    return best


def certify(p: np.ndarray, d: np.ndarray, D: float, channel, slope: float, q,
            polish: int = 5, refine_slope: bool = True) -> tuple[np.ndarray, float, Certificate]:
    """Certify a returned point for ``R(D)``.

    Returns the repaired channel, its distortion and the certificate (nats). The lower
    bound is the best of :func:`best_lower_bound` from the given ``(s, q)`` and from
    the output pmf of the repaired channel.
    """
    W, distortion = repair_channel(p, d, channel, D)
    upper = channel_mutual_information(p, W)
    slope = float(max(0.0, slope)) if np.isfinite(slope) else 0.0
    candidates = [p @ W] + ([q] if q is not None else [])
    lower = max(best_lower_bound(p, d, D, slope, c, polish, refine_slope) for c in candidates)
    # R(D) >= 0; and a lower bound above the upper one by float rounding only is the
    # same number computed twice (e.g. rate 0): report them equal.
    lower = max(lower, 0.0)
    if upper < lower <= upper + ROUNDING * (1.0 + abs(upper)):
        lower = upper
    return W, distortion, Certificate(upper=upper, lower=lower)
