r"""Numeric kernels shared by every layer: log-safe exponentials of ``-s d``, row-shifted
kernels, the parametric channel, row expansion and the Csiszár dual objective in float64.

Nothing here decides what is *certified* (that is :mod:`rdconvex.certify`); these are
the formulas, written once, that the iterative solvers, the certificates and the
problem classes evaluate.

*Row shift.* At slope ``s`` the kernel :math:`e^{-s d(x,y)}` underflows for large
``s``. Every function here works with the row-shifted kernel
:math:`K_{xy} = e^{-s (d(x,y) - \min_{y'} d(x,y'))}` (row maximum 1), so slopes of
``1e4`` and more are safe; a row sum that still underflows is recomputed in log space.

*Csiszár's dual objective* (Csiszár 1974; Gallager 1968, Thm 9.4.1). For any slope
``s >= 0`` and output pmf ``q``

.. math::
    c_x = \Big(\sum_y q_y e^{-s d(x,y)}\Big)^{-1},\quad
    M = \max_y \sum_x p_x c_x e^{-s d(x,y)},\quad
    R(D) \ge \sum_x p_x \log c_x - \log M - s D.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp

#: Shifted-kernel entries below this (the row maximum is 1) are flushed to 0: they cannot
#: move a sum by more than m * 1e-300, and subnormal numbers make BLAS slow.
FLUSH = 1e-300
#: A shifted row sum below this is recomputed in log space.
UNDERFLOW = 1e-200
#: Relative window within which a requested D counts as exactly D_min.
D_SNAP = 1e-12
#: At D = D_min the slope is infinite; bounds and solvers use a finite slope large enough
#: that pairs outside each row's argmin weigh less than exp(-LARGE_SLOPE_MARGIN).
LARGE_SLOPE_MARGIN = 60.0


#: Entries per row block of the passes over a full ``n x m`` matrix (32 MB of float64):
#: large problems are swept block by block, never with full-size temporaries.
BLOCK_ENTRIES = 1 << 22


def row_blocks(n: int, m: int):
    """Slices of consecutive rows holding about :data:`BLOCK_ENTRIES` entries each."""
    rows = max(1, BLOCK_ENTRIES // max(1, m))
    for start in range(0, n, rows):
        yield slice(start, min(n, start + rows))


def block_kernel(d: np.ndarray, row_min: np.ndarray, slope: float,
                 out: np.ndarray | None = None) -> np.ndarray:
    """``exp(-s (d - min_y d))`` of a block of rows (row minima given), in ``out`` if
    given: 0 on forbidden pairs, entries below ``FLUSH`` flushed, never ``0 * inf``."""
    out = np.empty(d.shape) if out is None else out[:d.shape[0]]
    if slope == 0.0:
        out[...] = np.isfinite(d)
        return out
    np.subtract(d, row_min[:, None], out=out)
    out *= -slope
    np.exp(out, out=out)
    out[out < FLUSH] = 0.0
    return out


def kernel_rowsums(d: np.ndarray, row_min: np.ndarray, slope: float,
                   q: np.ndarray) -> np.ndarray:
    """``Z_x = sum_y q_y K_xy`` (``K`` the shifted kernel at ``slope``): on the outputs
    ``q`` charges when they are few, else by row blocks."""
    n, m = d.shape
    support = np.flatnonzero(q > 0)
    if 2 * support.size <= m:
        return block_kernel(d[:, support], row_min, slope) @ q[support]
    Z = np.empty(n)
    buffer = np.empty((min(n, max(1, BLOCK_ENTRIES // max(1, m))), m))
    for rows in row_blocks(n, m):
        Z[rows] = block_kernel(d[rows], row_min[rows], slope, buffer) @ q
    return Z


def gallager_pass(p: np.ndarray, d: np.ndarray, row_min: np.ndarray, slope: float,
                  Z: np.ndarray) -> np.ndarray:
    """``c_y = sum_x p_x K_xy / Z_x`` for every output, ``K`` the shifted kernel at
    ``slope``, in one pass over row blocks (``Z`` the rows' sums, from wherever ``q``
    lives)."""
    n, m = d.shape
    weights = p / Z
    c = np.zeros(m)
    buffer = np.empty((min(n, max(1, BLOCK_ENTRIES // max(1, m))), m))
    for rows in row_blocks(n, m):
        K = block_kernel(d[rows], row_min[rows], slope, buffer)
        c += weights[rows] @ K
    return c


def safe_log(x) -> np.ndarray:
    """``log x`` with ``log 0 = -inf`` and no warning."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, -np.inf)
    pos = x > 0
    out[pos] = np.log(x[pos])
    return out


def log_kernel(d: np.ndarray, slope: float) -> np.ndarray:
    """``-s d`` with ``-inf`` on forbidden pairs (never ``0 * inf``)."""
    allowed = np.isfinite(d)
    out = np.full(d.shape, -np.inf)
    out[allowed] = -slope * d[allowed]
    return out


def finite_part(d: np.ndarray) -> np.ndarray:
    """``d`` with its forbidden (``inf``) pairs set to 0: safe to multiply by a mass that
    is 0 there."""
    return np.where(np.isfinite(d), d, 0.0)


def row_minima(d: np.ndarray) -> np.ndarray:
    """``min_y d(x, y)`` over the finite entries of each row (``inf`` for an empty row)."""
    return d.min(axis=1)  # forbidden pairs are +inf: never a minimum of an allowed row


def min_distortion_channel(d: np.ndarray) -> np.ndarray:
    """Row ``x`` uniform on ``argmin_y d(x, y)``: the channel with distortion ``D_min``."""
    row_min = d.min(axis=1, keepdims=True)
    W = (d <= row_min).astype(float)
    return W / W.sum(axis=1, keepdims=True)


def normalise_rows(W: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Rows of ``W`` divided by their sums; an empty row takes ``fallback``'s row."""
    sums = W.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    W[empty] = fallback[empty]
    sums[empty] = 1.0
    return W / sums


def normalised_pmf(q, m: int) -> np.ndarray:
    """``q`` clipped at 0 and normalised (uniform on ``m`` outputs if it has no mass)."""
    q = np.clip(np.asarray(q, dtype=float), 0.0, None)
    total = q.sum()
    return q / total if total > 0 else np.full(m, 1.0 / m)


class ShiftedKernel(NamedTuple):
    """``K = exp(-s (d - min_y d))`` per row (maximum 1, zero on forbidden pairs, entries
    below ``FLUSH`` flushed), the row shifts ``-s min_y d`` and the row minima."""

    K: np.ndarray | None
    shift: np.ndarray
    row_min: np.ndarray


def shifted_kernel(d: np.ndarray, slope: float) -> ShiftedKernel:
    """The row-shifted kernel at ``slope`` (``K`` is None if a row allows no output)."""
    row_min = row_minima(d)
    shift = -slope * row_min
    if not np.all(np.isfinite(row_min)):
        return ShiftedKernel(None, shift, row_min)
    K = np.exp(log_kernel(d, slope) - shift[:, None])
    K[K < FLUSH] = 0.0
    return ShiftedKernel(K, shift, row_min)


def parametric_channel(d: np.ndarray, slope: float, q) -> np.ndarray:
    """``W(y|x) ∝ q_y exp(-s d(x,y))`` in log space; the argmin rule where it is empty."""
    logits = safe_log(q)[None, :] + log_kernel(d, slope)
    norm = logsumexp(logits, axis=1, keepdims=True)
    ok = np.isfinite(norm[:, 0])
    W = min_distortion_channel(d)
    W[ok] = np.exp(logits[ok] - norm[ok])
    return W


def expand_rows(W: np.ndarray, support: np.ndarray, d_full: np.ndarray, slope: float,
                q) -> np.ndarray:
    """A channel on all ``n`` source symbols from one on ``support`` (those of positive
    probability): a zero-probability row follows the parametric rule at ``slope`` (the
    argmin rule when the slope is infinite or the row's allowed outputs carry no mass)."""
    n = d_full.shape[0]
    if support.size == n:
        return W
    full = np.empty((n, d_full.shape[1]))
    full[support] = W
    zero = np.setdiff1d(np.arange(n), support)
    d_zero = d_full[zero]
    if np.isfinite(slope):
        full[zero] = parametric_channel(d_zero, slope, q)
    else:
        full[zero] = min_distortion_channel(d_zero)
    return full


def _dual_value_log(p, d, D, slope, q, row_min) -> float:
    """The dual objective entirely in log space (any ``q``, any slope)."""
    log_p = np.log(p)
    # Shift each row by s min_y d (the s D_min - s D term then never cancels two large
    # numbers at large slopes).
    row_min = np.where(np.isfinite(row_min), row_min, 0.0)
    kernel = log_kernel(d, slope) + slope * row_min[:, None]
    log_c = -logsumexp(safe_log(q)[None, :] + kernel, axis=1)
    if not np.all(np.isfinite(log_c)):
        # q vanishes on every allowed output of some x: mix in a little uniform mass.
        q = (1.0 - 1e-12) * q + 1e-12 / q.size
        log_c = -logsumexp(np.log(q)[None, :] + kernel, axis=1)
    log_M = np.max(logsumexp((log_p + log_c)[:, None] + kernel, axis=0))
    return float(p @ log_c - log_M + slope * (p @ row_min - D))


#: Passes of the dual polish (:func:`polish_log_c`).
POLISH_PASSES = 8
#: A row is charged for a violated output it contributes at least this share of.
POLISH_SHARE = 1e-2


def polish_log_c(p: np.ndarray, log_c: np.ndarray, K: np.ndarray,
                 passes: int = POLISH_PASSES) -> tuple[np.ndarray, np.ndarray]:
    r"""``(log_c', C')``: Csiszár's row variables :math:`\ell_x` lowered where that
    tightens his bound, and their column sums :math:`C_y = \sum_x p_x e^{\ell_x} K_{xy}`.

    Outputs whose optimal weight is tiny (the tails of a discretised continuous source)
    converge slowly under Blahut–Arimoto and keep :math:`\max_y C_y` above 1 long after
    the rate has converged. Lowering :math:`\ell_x` by the largest excess
    :math:`\log C_y` among the violated outputs ``x`` carries at least
    :data:`POLISH_SHARE` of costs :math:`\sum_x p_x \delta_x` (such rows carry little
    probability) and removes most of that excess. Any :math:`\ell` gives a valid bound;
    this only chooses a better one (the bound itself is proven elsewhere)."""
    log_p = np.log(p)
    with np.errstate(over="ignore"):
        weight = np.exp(log_p + log_c)
    C = K.T @ weight
    for _ in range(passes):
        violated = np.flatnonzero(C > 1.0)
        if not violated.size:
            break
        excess = np.log(C[violated])
        carries = weight[:, None] * K[:, violated] >= POLISH_SHARE * C[violated]
        delta = np.max(np.where(carries, excess, 0.0), axis=1)
        if not np.any(delta > 0):
            break
        log_c = log_c - delta
        with np.errstate(over="ignore"):
            weight = np.exp(log_p + log_c)
        C = K.T @ weight
    return log_c, C


def polished_log_max(p: np.ndarray, K: np.ndarray, Z: np.ndarray, c: np.ndarray) -> float:
    """The gap term of Csiszár's bound at ``q`` (``Z = K q``, ``c = K^T (p / Z)``):
    ``log max c``, or after :func:`polish_log_c` the smaller
    ``sum_x p_x delta_x + log max C'``."""
    top = float(np.max(c))
    plain = math.log(top) if top > 0 and math.isfinite(top) else math.inf
    if plain <= 1e-12 or not math.isfinite(plain) or not np.all(Z > 0):
        return plain  # (the polish gains at most ``plain``)
    log_c = -np.log(Z)
    polished, C = polish_log_c(p, log_c, K)
    top = float(np.max(C))
    if not (top > 0 and math.isfinite(top)):
        return plain
    return min(plain, float(p @ (log_c - polished)) + math.log(top))


def _dual_value_blocks(p, d, D, slope, q) -> float:
    """:func:`dual_value` without a kernel at hand: ``Z`` from the outputs ``q`` charges,
    ``max_y c_y`` by one pass over row blocks (no ``n x m`` temporaries)."""
    row_min = d.min(axis=1)
    if not np.all(np.isfinite(row_min)):
        return _dual_value_log(p, d, D, slope, q, row_min)
    Z = kernel_rowsums(d, row_min, slope, q)
    if not np.all(Z > UNDERFLOW):
        return _dual_value_log(p, d, D, slope, q, row_min)
    with np.errstate(over="ignore"):
        M = float(np.max(gallager_pass(p, d, row_min, slope, Z)))
    return float(-(p @ np.log(Z)) - np.log(M) + slope * (p @ row_min - D))


def dual_value(p: np.ndarray, d: np.ndarray, D: float, slope: float, q,
               kernel: ShiftedKernel | None = None) -> float:
    """Csiszár's dual objective at ``(s, q)`` in float64 (see the module docstring).

    ``q`` is clipped and normalised first; ``kernel`` (the shifted kernel at ``slope``)
    may be passed to share it between calls."""
    q = normalised_pmf(q, d.shape[1])
    if kernel is None:
        return _dual_value_blocks(p, d, D, slope, q)
    K, _, row_min = kernel
    Z = K @ q if K is not None else None
    if Z is None or not np.all(Z > UNDERFLOW):
        return _dual_value_log(p, d, D, slope, q, row_min)
    # With Z_x = sum_y q_y K_xy: log c_x = -log Z_x + s min_y d(x, y) and
    # M_y = sum_x p_x K_xy / Z_x (no overflow: K <= 1, Z > UNDERFLOW).
    log_M = polished_log_max(p, K, Z, K.T @ (p / Z))
    return float(-(p @ np.log(Z)) - log_M + slope * (p @ row_min - D))


def gallager_log_sums(p: np.ndarray, d: np.ndarray, slope: float, q) -> np.ndarray:
    """``log sum_x p_x c_x e^{-s d(x,y)}`` for every output ``y`` (``<= 0`` is feasible)."""
    kernel = log_kernel(d, slope)
    log_c = -logsumexp(safe_log(q)[None, :] + kernel, axis=1)
    return logsumexp((np.log(p) + log_c)[:, None] + kernel, axis=0)


def ba_step(p: np.ndarray, d: np.ndarray, slope: float, q,
            kernel: ShiftedKernel | None = None) -> np.ndarray:
    """One Blahut–Arimoto update ``q <- q * c(q)`` of the output pmf at slope ``s``."""
    K = (shifted_kernel(d, slope) if kernel is None else kernel).K
    q = normalised_pmf(q, d.shape[1])
    Z = K @ q if K is not None else None
    if Z is not None and np.all(Z > UNDERFLOW):
        new = q * (K.T @ (p / Z))
        return new / new.sum()
    log_k = log_kernel(d, slope)
    log_q = safe_log(q)
    log_c = -logsumexp(log_q[None, :] + log_k, axis=1)
    if not np.all(np.isfinite(log_c)):
        # q vanishes on every allowed output of some x: mix in a little uniform mass.
        log_q = np.log((1.0 - 1e-12) * q + 1e-12 / q.size)
        log_c = -logsumexp(log_q[None, :] + log_k, axis=1)
    log_new = log_q + logsumexp((np.log(p) + log_c)[:, None] + log_k, axis=0)
    return np.exp(log_new - logsumexp(log_new))


def large_slope(d: np.ndarray, margin: float) -> float:
    """A slope so large that non-argmin pairs weigh less than ``exp(-margin)``: margin
    over the smallest positive excess distortion ``d(x,y) - min_y' d(x,y')`` (row
    blocks: no ``n x m`` temporaries)."""
    gap = math.inf
    for rows in row_blocks(*d.shape):
        block = d[rows]
        excess = block - block.min(axis=1, keepdims=True)
        positive = excess[(excess > 0) & np.isfinite(excess)]
        if positive.size:
            gap = min(gap, float(positive.min()))
    return margin / (gap if math.isfinite(gap) else 1.0)
