r"""Certified piecewise-linear envelopes of a rate–distortion curve: the sandwich's math.

Coordinates are shifted, :math:`E = D - D_{\min} \ge 0`, and rates are in nats. Two kinds
of certificate enter, both proven by :mod:`rdconvex.rigorous`:

* a **point** :math:`(E_i, U_i)`: a channel whose shifted distortion is proven
  :math:`\le E_i` and whose mutual information is proven :math:`\le U_i`, so
  :math:`R(D_{\min} + E_i) \le U_i`;
* a **line** :math:`(s_k, b_k)`: a Csiszár dual point evaluated at :math:`D' = 0`
  (:func:`rdconvex.rigorous.dual_lower_bound`). The bound is affine in :math:`D'` with
  slope :math:`-s_k`, so one evaluation gives a line valid at *every* distortion:

  .. math:: R(D_{\min} + E) \ge b_k - s_k E \qquad (E \ge 0).

Because :math:`R` is convex and non-increasing, the chord between two certified points
bounds it from above between them, and :math:`R(D) \le U_i` for :math:`E \ge E_i`. So

.. math::
    \ell(E) = \max\big(0, \max_k\, b_k - s_k E\big) \;\le\; R(D_{\min}+E) \;\le\; u(E),

with :math:`u` the lower convex hull of the points, flat after its lowest vertex (the
*upper envelope*) and :math:`\ell` convex (the *lower envelope*). Between consecutive
breakpoints of the two, both are affine, so the gap :math:`u - \ell` is affine there and
its supremum is attained at a breakpoint: :meth:`Envelope.max_gap` evaluates exactly
those, with the same outward rounding as the evaluators.

Evaluation is float64 with directed rounding: after each correctly rounded operation
the result is moved one ulp outward (``np.nextafter``), which covers the half-ulp error
of IEEE round-to-nearest. Only non-negative quantities are multiplied or divided.

References
----------
.. [1] G. Rote, "The convergence rate of the sandwich algorithm for approximating convex
   functions", Computing 48 (1992) 337–361.
.. [2] I. Csiszár, "On the computation of rate-distortion functions", IEEE Trans. Inf.
   Theory 20 (1974) 122–124.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import flint
import numpy as np

from ..rigorous import PRECISION, ShiftedProblem, lower_end, upper_end


def up(x):
    """``x`` moved one ulp towards ``+inf`` (an upper bound of the exact operation that
    produced the correctly rounded ``x``)."""
    return np.nextafter(x, np.inf)


def down(x):
    """``x`` moved one ulp towards ``-inf``."""
    return np.nextafter(x, -np.inf)


def point_hull(E, U) -> np.ndarray:
    """Indices of the upper envelope's vertices: the lower convex hull of the points
    ``(E, U)`` (``E`` ascending), cut after its lowest vertex (flat from there on).

    Any subset of certified points gives a valid envelope, so the hull is float64 and
    approximate; only its evaluation is rounded outward."""
    E, U = np.asarray(E, float), np.asarray(U, float)
    order = np.lexsort((U, E))
    hull: list[int] = []
    for i in order:
        if hull and E[hull[-1]] == E[i]:
            continue  # same E: the first (lowest U) wins
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (E[b] - E[a]) * (U[i] - U[a]) - (U[b] - U[a]) * (E[i] - E[a])
            if cross > 0:
                break
            hull.pop()
        hull.append(i)
    vertices = np.array(hull, dtype=int)
    lowest = int(np.argmin(U[vertices]))  # the first lowest: every slope before it < 0
    return vertices[:lowest + 1]


def line_hull(slope, intercept) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(s, b, breaks)``: the lines that form ``max_k b_k - s_k E`` on ``E >= 0``, steepest
    first, and the ``E > 0`` where each hands over to the next (``len(s) - 1`` of them).

    Float64 and approximate (any line is a valid bound wherever it is used)."""
    s, b = np.asarray(slope, float), np.asarray(intercept, float)
    order = np.lexsort((-b, -s))  # steepest first; equal slopes: highest first
    kept: list[int] = []
    for k in order:
        if kept and s[kept[-1]] == s[k]:
            continue
        while kept:
            j = kept[-1]
            cross = (b[j] - b[k]) / (s[j] - s[k])  # L_j >= L_k iff E <= cross
            if cross <= 0.0:
                kept.pop()  # L_k is above L_j on all of E >= 0
                continue
            if len(kept) >= 2:
                i = kept[-2]
                if (b[i] - b[j]) / (s[i] - s[j]) >= cross:
                    kept.pop()  # L_j is never strictly on top
                    continue
            break
        kept.append(k)
    lines = np.array(kept, dtype=int)
    s, b = s[lines], b[lines]
    breaks = (b[:-1] - b[1:]) / (s[:-1] - s[1:])
    return s, b, breaks


def line_values(slope, intercept, E) -> np.ndarray:
    """``b - s E`` rounded down (``s >= 0``, ``E >= 0`` or ``inf``; ``s = 0`` gives ``b``)."""
    s, b, E = np.broadcast_arrays(np.asarray(slope, float), np.asarray(intercept, float),
                                  np.asarray(E, float))
    with np.errstate(invalid="ignore", over="ignore"):
        product = np.where(s == 0.0, 0.0, up(s * E))
        return down(b - product)


def chord_values(E_a, U_a, E_b, U_b, E) -> np.ndarray:
    """``U_b + (U_a - U_b)(E_b - E)/(E_b - E_a)`` rounded up, for ``E_a <= E <= E_b`` and
    ``U_a >= U_b`` (never above ``U_a``, also a bound since ``R`` is non-increasing)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rise = up(U_a - U_b)
        run = up(np.clip(E_b - E, 0.0, None))
        width = down(E_b - E_a)
        value = up(U_b + up(up(rise * run) / width))
    return np.where(width > 0, np.minimum(value, U_a), U_a)


@dataclass(frozen=True)
class Envelope:
    """Upper and lower envelopes of ``R(D_min + E)`` from certified points and lines.

    ``vertex_E``/``vertex_U``: the upper envelope's vertices (``E`` ascending, ``U``
    decreasing; flat after the last) and ``vertex_slope``, the slope of ``R`` known
    there (NaN where unknown; it only steers the sandwich). ``slope``/``intercept``/
    ``breaks``: the lower envelope's lines (steepest first) and where each hands over
    to the next; the last line has slope 0 (``R >= 0`` is always one of the lines).
    ``at_min``: a lower bound valid at ``E = 0`` exactly (an infinite-slope dual
    point), else ``-inf``."""

    vertex_E: np.ndarray
    vertex_U: np.ndarray
    vertex_slope: np.ndarray
    slope: np.ndarray
    intercept: np.ndarray
    breaks: np.ndarray
    at_min: float = -math.inf

    @classmethod
    def build(cls, point_E, point_U, line_slope, line_intercept,
              at_min: float = -math.inf, point_slope=None) -> Envelope:
        """From all certified points (with the slope of ``R`` there, if known) and
        finite-slope lines (the line ``(0, 0)`` is added: ``R >= 0``)."""
        point_E, point_U = np.asarray(point_E, float), np.asarray(point_U, float)
        known = np.full(point_E.size, np.nan) if point_slope is None else \
            np.asarray(point_slope, float)
        vertices = point_hull(point_E, point_U)
        s, b, breaks = line_hull(np.r_[line_slope, 0.0], np.r_[line_intercept, 0.0])
        return cls(point_E[vertices], point_U[vertices], known[vertices], s, b, breaks,
                   float(at_min))

    def upper(self, E_lo) -> np.ndarray:
        """Proven upper bounds on ``R(D_min + E)`` for every ``E >= E_lo`` (``E_lo >= 0``)."""
        E_lo = np.asarray(E_lo, float)
        VE, VU = self.vertex_E, self.vertex_U
        if VE.size < 2:
            return np.full(E_lo.shape, VU[0])
        index = np.searchsorted(VE, E_lo, side="right") - 1  # callers clip E_lo at 0
        i = np.clip(index, 0, VE.size - 2)
        chord = chord_values(VE[i], VU[i], VE[i + 1], VU[i + 1], E_lo)
        return np.where(index < VE.size - 1, chord, VU[-1])

    def line_index(self, E) -> np.ndarray:
        """The lower envelope's line in force just right of ``E``."""
        return np.searchsorted(self.breaks, np.asarray(E, float), side="right")

    def lower(self, E_hi, at_min=None) -> np.ndarray:
        """Proven lower bounds on ``R(D_min + E)`` for every ``E <= E_hi``; where
        ``at_min`` (boolean) is true, ``E`` is exactly 0 and :attr:`at_min` counts too."""
        E_hi = np.clip(np.asarray(E_hi, float), 0.0, None)
        k = self.line_index(E_hi)
        value = np.maximum(line_values(self.slope[k], self.intercept[k], E_hi), 0.0)
        if at_min is not None:
            value = np.where(at_min, np.maximum(value, self.at_min), value)
        return value

    def candidates(self) -> np.ndarray:
        """Every breakpoint of either envelope (and 0), ascending: between consecutive
        ones both envelopes are affine."""
        points = np.concatenate([[0.0], self.vertex_E, self.breaks])
        return np.unique(points[np.isfinite(points) & (points >= 0.0)])

    def interval_gaps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(left, right, at_left, at_right)``: for each interval between consecutive
        candidates (the last one unbounded), ``upper - line in force`` at its two ends,
        outward-rounded; the gap is affine in between, so their maximum bounds it there."""
        c = self.candidates()
        left, right = c, np.r_[c[1:], np.inf]
        k = self.line_index(left)
        s, b = self.slope[k], self.intercept[k]
        at_left = up(self.upper(left) - line_values(s, b, left))
        finite = np.isfinite(right)
        ends = np.where(finite, right, 0.0)
        at_right = up(self.upper(ends) - line_values(s, b, ends))
        # The unbounded interval: the upper envelope is flat, the line in force has slope 0.
        at_right[~finite] = up(self.vertex_U[-1] - self.intercept[-1])
        return left, right, at_left, at_right

    def rounding_slack(self) -> float:
        """How far the evaluators may stray (inward) from the exact envelopes between the
        candidates: a few ulp of the largest quantity they add up."""
        E_end = float(self.vertex_E[-1]) if self.vertex_E.size else 0.0
        scale = max(1.0, float(np.max(np.abs(self.vertex_U))),
                    float(np.max(np.abs(self.intercept) + self.slope * E_end)))
        return 16.0 * math.ulp(scale)

    def max_gap(self) -> float:
        """A proven bound on ``sup_E upper(E) - lower(E)`` over ``E >= 0`` (the vertical
        line at ``E = 0`` ignored: the gap's limit at ``0+`` counts)."""
        _, _, at_left, at_right = self.interval_gaps()
        return float(up(max(np.max(at_left), np.max(at_right)) + self.rounding_slack()))

    def steepest(self) -> float:
        """The largest slope of either envelope (``|du/dE|`` or a line's ``s``)."""
        VE, VU = self.vertex_E, self.vertex_U
        chords = (VU[:-1] - VU[1:]) / np.maximum(VE[1:] - VE[:-1], np.finfo(float).tiny)
        return float(max(np.max(self.slope), np.max(chords, initial=0.0)))

    def segment_gaps(self) -> list[tuple[int, float, float]]:
        """``(segment, gap, where)`` for each segment ``[vertex_E[i], vertex_E[i+1]]`` of
        the upper envelope (``i = len - 1``: the flat ray): its largest gap and where it
        is attained (to steer the sandwich)."""
        left, right, at_left, at_right = self.interval_gaps()
        segment = np.searchsorted(self.vertex_E, left, side="right") - 1
        gap = np.maximum(at_left, at_right)
        where = np.where(at_left >= at_right, left, right)
        found = []
        for i in np.unique(segment):
            mine = np.flatnonzero(segment == i)
            j = mine[int(np.argmax(gap[mine]))]
            found.append((int(i), float(gap[j]), float(where[j])))
        return found


@dataclass(frozen=True)
class Frame:
    """How a problem's units map to the envelope's coordinates (shifted distortion,
    nats): every factor as an enclosing pair of floats, ``D_min`` as one too."""

    d_min_lo: float
    d_min_hi: float
    D_lo: float  # user D times [D_lo, D_hi] = D in nats (1.0 unless log-loss in bits)
    D_hi: float
    rate_lo: float  # nats times [rate_lo, rate_hi] = rate in units
    rate_hi: float
    distortion_scale: float  # the problem's own float conversion (for D_min decisions)
    exact: ShiftedProblem

    @classmethod
    def of(cls, exact: ShiftedProblem, rate_scale: float = 1.0,
           distortion_scale: float = 1.0) -> Frame:
        """For shifted data ``exact`` whose rates are shown times ``rate_scale`` (1 or
        ``1/ln 2``) and distortions times ``distortion_scale`` (the same for log-losses
        in bits), both meant exactly: the factors are enclosed, not rounded."""
        with flint.ctx.workprec(PRECISION):
            log2 = flint.arb(2).log()
            D_factor = log2 if distortion_scale != 1.0 else flint.arb(1)
            rate_factor = 1 / log2 if rate_scale != 1.0 else flint.arb(1)
            return cls(lower_end(exact.d_min), upper_end(exact.d_min),
                       _low(D_factor), _high(D_factor), _low(rate_factor),
                       _high(rate_factor), distortion_scale, exact)

    def shift(self, D: np.ndarray):
        """``(E_lo, E_hi, state)``: ``D - D_min`` enclosed in nats; ``state`` -1 below
        ``D_min``, 0 at it (:meth:`ShiftedProblem.position`), 1 above, NaN for NaN."""
        with np.errstate(invalid="ignore", over="ignore"):
            D_lo = D if self.D_lo == 1.0 else down(D * self.D_lo)
            D_hi = D if self.D_hi == 1.0 else up(D * self.D_hi)
            E_lo, E_hi = down(D_lo - self.d_min_hi), up(D_hi - self.d_min_lo)
        state = np.where(E_lo > 0, 1.0, np.where(E_hi < 0, -1.0, np.nan))
        state[np.isnan(D)] = np.nan
        for i in np.flatnonzero(np.isnan(state) & ~np.isnan(D)):
            state.flat[i] = self.exact.position(float(D.flat[i]) / self.distortion_scale)
        return np.where(state >= 0, np.maximum(E_lo, 0.0), np.nan), E_hi, state

    def rate_up(self, rate):
        return rate if self.rate_hi == 1.0 else up(rate * self.rate_hi)

    def rate_down(self, rate):
        return rate if self.rate_lo == 1.0 else down(rate * self.rate_lo)

    def D_up(self, E):
        """An upper end of ``D_min + E`` in the problem's units."""
        D = up(E + self.d_min_hi)
        return D if self.D_lo == 1.0 else up(D / self.D_lo)


def _low(x) -> float:
    return 1.0 if x == 1 else lower_end(x)


def _high(x) -> float:
    return 1.0 if x == 1 else upper_end(x)
