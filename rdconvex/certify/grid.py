r"""Certificates of a grid source's ``R(D)`` (:class:`rdconvex.GridSource`), never forming
an ``n x n`` matrix: every O(n^2) sum is a correlation enclosed by
:mod:`rdconvex.convolution` (one assumption on the FFT, stated there), every O(n) sum a
ball of ``arb`` (:func:`rdconvex.rigorous.arb_dot`).

Notation: weights ``w`` (the pmf is ``w / sum w``, the sum enclosed), offsets
:math:`G_t = F_t - \min F` (``F`` the distortion at offset ``t``), ``k_t = e^{-sG_t}``.

*Upper bound.* For any output weights ``q >= 0`` the channel
:math:`W_{ij} = q_j k_{i-j} / Z_i`, :math:`Z_i = \sum_j q_j k_{i-j}` (exact reals) is a
channel, and by the golden formula with :math:`\tilde q = q / \sum q`

.. math::
    I(p, W) \le \sum_i p_i D(W_i \| \tilde q)
      = -s\,\mathbb E_W[G] - \sum_i p_i \log Z_i + \log \textstyle\sum_j q_j .

Rows whose ``Z_i`` cannot be enclosed to within a factor 2 (far tails under the FFT's
absolute error) get the deterministic row :math:`W_i = \delta_{j^*}` instead (``j*`` the
nearest output of non-negligible weight): :math:`D(\delta_{j^*}\|\tilde q) =
\log\sum q - \log q_{j^*}`, distortion :math:`G_{i-j^*}`. The channel's distortion is
:math:`\min F + \mathbb E_W[G]`, enclosed from above (feasibility) and below (the rate).

*Target D.* Two slopes whose channels bracket ``D`` are mixed: the mixture
:math:`tW_{hi} + (1-t)W_{lo}` has rate :math:`\le tU_{hi} + (1-t)U_{lo}` (convexity of
``I`` in ``W``) and distortion :math:`\le tE_{hi} + (1-t)E_{lo}`, ``t`` the smallest that
proves ``<= D``.

*Lower bound* (Csiszár 1974). With :math:`\ell_i` any reals,
:math:`R(D) \ge \sum_i p_i\ell_i - \log\max_j \sum_i p_i e^{\ell_i - s d'_{ij}} - sD'`;
with :math:`\ell_i = -s(r_i - \min F) + \lambda_i` (``r_i`` the row minima,
:math:`\lambda_i` floats) the offsets cancel and

.. math:: R(D) \ge \sum_i p_i \lambda_i - \log \max_j \sum_i p_i e^{\lambda_i} k_{i-j}
          - s\,(D - \min F).

:math:`\lambda = -\log Z` polished (:func:`rdconvex.iterative.grid.polish_dual`); the
column maximum is bounded from above by an enclosed correlation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import flint
import numpy as np

from ..iterative.grid import SlopeKernels, polish_dual
from ..rigorous import FUNCTION_REL, PRECISION, TINY, U, arb_dot, lower_end, upper_end

#: Outputs with at least this fraction of the largest weight may serve a tail row.
HEAVY = 1e-3


@dataclass(frozen=True)
class GridData:
    """The exact problem: weights ``w`` (float, as given), the offsets ``G`` (floats within
    ``G_rel`` of :math:`F_t - \\min F`), ``F_min``, and balls of ``1 / sum w`` and
    ``D_min`` (nats, problem distortion units)."""

    w: np.ndarray
    p: np.ndarray
    G: np.ndarray
    G_rel: float
    F_min: float
    inv_total: flint.arb
    d_min: flint.arb

    def excess(self, D: float) -> flint.arb:
        """``D - min F`` as a ball."""
        with flint.ctx.workprec(PRECISION):
            return flint.arb(D) - flint.arb(self.F_min)

    def mean(self, values: np.ndarray, rows=None) -> flint.arb:
        """``sum_i p_i values_i`` over ``rows`` (all by default) as a ball."""
        w = self.w if rows is None else self.w[rows]
        with flint.ctx.workprec(PRECISION):
            return arb_dot(w, values) * self.inv_total


@dataclass(frozen=True)
class PointBounds:
    """A certified slope point: the channel's shifted distortion
    :math:`\\mathbb E_W[G] \\in [E_lo, E_hi]`, its rate ``<= U``, and Csiszár's line
    :math:`R(D) \\ge A - s (D - \\min F)` (``A`` a float ``<=`` the intercept)."""

    slope: float
    E_lo: float
    E_hi: float
    U: float
    A: float
    tail_rows: int

    def line_at(self, data: GridData, D: float) -> float:
        with flint.ctx.workprec(PRECISION):
            return lower_end(flint.arb(self.A) - flint.arb(self.slope) * data.excess(D))


def _up(x: np.ndarray, rel: float) -> np.ndarray:
    return np.nextafter(x + (rel + 2 * U) * np.abs(x), np.inf)


def point_bounds(data: GridData, kernels: SlopeKernels, q: np.ndarray) -> PointBounds:
    """Both bounds of the channel of ``q`` at ``kernels.slope`` (module docstring)."""
    s, w, G = kernels.slope, data.w, data.G
    n = w.size
    q = np.clip(np.asarray(q, float), 0.0, None)
    box = kernels.enclose_forward(q, data.p)
    tail = (w > 0) & ~box.ok
    good = (w > 0) & box.ok
    with flint.ctx.workprec(PRECISION):
        q_total = arb_dot(q, np.ones(n))
        log_q_total = q_total.log()
        E_hi = data.mean(box.ratio_hi[good], good)
        E_lo = data.mean(box.ratio_lo[good], good)
        rate = data.mean(_up(-box.log_lo[good], 0.0), good)
        if tail.any():
            heavy = np.flatnonzero(q >= HEAVY * q.max())
            rows = np.flatnonzero(tail)
            at = np.clip(np.searchsorted(heavy, rows), 1, max(1, heavy.size - 1))
            left, right = heavy[at - 1], heavy[np.minimum(at, heavy.size - 1)]
            target = np.where(np.abs(rows - left) <= np.abs(rows - right), left, right)
            cost = G[rows - target + n - 1]
            E_hi += data.mean(_up(cost, data.G_rel + 2 * U), tail)
            E_lo += data.mean(np.maximum(cost * (1 - data.G_rel - 4 * U), 0.0), tail)
            rate += data.mean(_up(-np.log(q[target]), FUNCTION_REL), tail)
        upper = rate - flint.arb(s) * E_lo + log_q_total
        A = _intercept(data, kernels, box.log_value)
        return PointBounds(s, max(0.0, lower_end(E_lo)), upper_end(E_hi),
                           max(0.0, upper_end(upper)), A, int(tail.sum()))


def _intercept(data: GridData, kernels: SlopeKernels, log_Z: np.ndarray) -> float:
    """A float ``<=`` :math:`\\sum p\\lambda - \\log\\max_j \\sum_i p_i e^{\\lambda_i}k_{i-j}`."""
    w = data.w
    positive = w > 0
    log_Z = np.where(positive, log_Z, 0.0)
    ell, _ = polish_dual(kernels, data.p, log_Z)
    ell = np.where(positive, ell, 0.0)
    log_w = np.log(np.where(positive, w, 1.0))
    exponent = _up(_up(log_w, FUNCTION_REL) + ell, 0.0)
    with np.errstate(over="ignore"):
        b = np.where(positive, np.exp(exponent), 0.0)
    b = np.nextafter(b * (1 + FUNCTION_REL) * (1 + 2 * U) + TINY, np.inf)
    if not np.all(np.isfinite(b)):
        return -math.inf
    column = kernels.enclose_transpose(b)
    top = float(column.hi.max())
    with flint.ctx.workprec(PRECISION):
        M = flint.arb(upper_end(flint.arb(top) * data.inv_total))
        if not M > 0:
            return -math.inf
        value = arb_dot(w, ell) * data.inv_total - M.log()
        return lower_end(value)


@dataclass(frozen=True)
class Certified:
    """The certificate at ``D``: ``upper``/``lower`` (nats), the mixture
    ``((slope, weight), ...)``, the channel's proven distortion (``<= D``) and the
    slope of the best line."""

    upper: float
    lower: float
    mixture: tuple
    distortion: float
    slope: float


def certify_at(data: GridData, points: list[PointBounds], D: float) -> Certified:
    """Upper: the best proven-feasible mixture of two points (or one point); lower: the
    best line of all ``points`` at ``D`` (and 0)."""
    budget = lower_end(data.excess(D))
    lines = [(pt.line_at(data, D), pt.slope) for pt in points]
    lower, best_slope = max(lines + [(0.0, 0.0)])
    feasible = [pt for pt in points if pt.E_hi <= budget]
    if not feasible:
        return Certified(math.inf, lower, (), math.inf, best_slope)
    best = min(feasible, key=lambda pt: pt.U)
    choice = (best.U, ((best.slope, 1.0),), best.E_hi)
    for hi in feasible:
        for lo in points:
            if lo.E_hi <= budget or lo.U >= hi.U:
                continue
            with flint.ctx.workprec(PRECISION):
                # t E_hi(hi) + (1 - t) E_hi(lo) <= budget, t rounded up.
                t = flint.arb(lo.E_hi - budget) / (flint.arb(lo.E_hi) - flint.arb(hi.E_hi))
                t = min(1.0, upper_end(t))
                rate = upper_end(flint.arb(t) * hi.U + (1 - flint.arb(t)) * lo.U)
                dist = upper_end(flint.arb(t) * hi.E_hi + (1 - flint.arb(t)) * lo.E_hi)
            if rate < choice[0] and dist <= budget:
                choice = (rate, ((hi.slope, t), (lo.slope, 1.0 - t)), dist)
    upper, mixture, dist = choice
    with flint.ctx.workprec(PRECISION):
        distortion = upper_end(flint.arb(dist) + flint.arb(data.F_min))
    return Certified(upper, lower, mixture, min(distortion, D), best_slope)
