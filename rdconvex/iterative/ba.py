r"""Blahut–Arimoto, fast and certified: at a fixed slope and at a target distortion.

At slope :math:`s \ge 0` the curve point is the minimiser of the Blahut–Arimoto
objective [1]_ over output pmfs :math:`q`,

.. math::
    f_s(q) = -\sum_x p_x \log \sum_y q_y e^{-s\,d(x,y)}, \qquad
    c_y(q) = \sum_x \frac{p_x e^{-s d(x,y)}}{\sum_{y'} q_{y'} e^{-s d(x,y')}},

with optimality exactly when :math:`c_y \le 1` for every output, with equality on the
support (Gallager's conditions [3]_). For any :math:`q` the Csiszár dual point [2]_ gives
:math:`\min f_s \ge f_s(q) - \log \max_y c_y(q)`, so :math:`\log\max_y c_y(q)` bounds the
certified gap of the Blahut–Arimoto channel of :math:`q`; the solvers stop on it
(and confirm with the float64 dual objective, :func:`rdconvex.numerics.dual_value`),
never on the change of the objective. The returned point is certified once, by
:mod:`rdconvex.certify`.

One slope is solved by :class:`~rdconvex.iterative.ba_slope.SlopeSolver` (shifted
kernel, SQUAREM sweeps [4]_, certified screening of outputs, projected Newton [5]_ on
the support: see :mod:`rdconvex.iterative.ba_slope` and
:mod:`rdconvex.iterative.ba_newton`).

A target distortion is reached by searching the slope (:class:`DistortionSearch`:
Newton steps on :math:`D(s)` with the exact derivative :math:`D'(s) = -\sum_x p_x
\mathrm{Var}_x(d) - b^\top H^{-1} b` from the support's Hessian, safeguarded by a
bracket, with tangent (Kelley) steps at kinks). On a straight piece of :math:`R(D)` one
slope covers a whole segment and the distortion jumps there: the two channels
bracketing the target are mixed to hit :math:`D` exactly (the mixture is feasible; its
mutual information is the upper bound). This is a constrained Blahut–Arimoto in the
spirit of [6]_, with the multiplier found by a safeguarded Newton search.

References
----------
.. [1] R. Blahut, "Computation of channel capacity and rate-distortion functions",
   IEEE Trans. IT 18(4), 1972; S. Arimoto, IEEE Trans. IT 18(1), 1972.
.. [2] I. Csiszár, "On the computation of rate-distortion functions", IEEE Trans. IT
   20(1), 1974.
.. [3] R. G. Gallager, *Information Theory and Reliable Communication*, Wiley 1968,
   Thm 9.4.1.
.. [4] R. Varadhan and C. Roland, SQUAREM, Scand. J. Stat. 35(2), 2008.
.. [5] D. P. Bertsekas, projected Newton, SIAM J. Control Optim. 20(2), 1982.
.. [6] L. Chen et al., constrained Blahut–Arimoto with a multiplier update per sweep,
   arXiv 2305.02650.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .._validation import (
    check_distortion,
    check_iteration_args,
    check_pmf,
    check_rows_finite,
    check_scalar,
)
from ..errors import InfeasibleDistortionError, InvalidArgumentError
from ..numerics import D_SNAP, LARGE_SLOPE_MARGIN, expand_rows, large_slope
from ..results import RawSolution, SolveInfo, Status
from .ba_columns import LARGE, WorkingSetSolver
from .ba_slope import BAProgress, Budget, SlopeSolver

__all__ = ["BAProgress", "DEFAULT_MAX_ITER", "DEFAULT_TOL", "blahut_arimoto",
           "blahut_arimoto_distortion"]

#: Certified gap (nats) the solvers stop at unless told otherwise.
DEFAULT_TOL = 1e-9
#: Cap on passes over the kernel (sweeps, Newton steps and full checks together).
DEFAULT_MAX_ITER = 100_000
#: Slope searches give up after this many slope solves (the answer stays certified).
MAX_SLOPE_SOLVES = 200
#: ... or after this many solves in a row without a 1% gain in the gap estimate.
SEARCH_STALL = 12

_OPTIONS = {"screening", "newton", "acceleration", "initial_slope", "working_set"}


class DistortionSearch:
    """The slope search for a target ``D`` on one reduced problem, composing a
    :class:`~rdconvex.iterative.ba_slope.SlopeSolver` that solves each slope."""

    def __init__(self, slopes: SlopeSolver):
        self.slopes = slopes
        self.budget = slopes.budget
        self.stalled = False
        self.d = d = slopes.d
        self.D_min = slopes.D_min
        means = slopes.p @ d  # inf: a column forbids some x
        self.best_column = int(np.argmin(means))
        self.D_max = float(means[self.best_column])

    @property
    def scale(self) -> float:
        """The problem's distortion scale: ``D_max - D_min``, or (``D_max`` infinite) the
        smallest positive excess ``d(x,y) - min_y' d(x,y')``."""
        if math.isfinite(self.D_max) and self.D_max > self.D_min:
            return self.D_max - self.D_min
        excess = self.d - self.d.min(axis=1, keepdims=True)
        positive = excess[(excess > 0) & np.isfinite(excess)]
        return float(positive.min()) if positive.size else 1.0

    def solve_at_D_min(self, tol) -> tuple[np.ndarray, float, np.ndarray, bool]:
        """Only argmin pairs may carry mass: minimise I(X;Y) over them (slope-0 BA on
        the argmin pattern). Returns channel, slope (large, for the bound), q, converged."""
        channel, q, converged = self.slopes.at_D_min(tol)
        return channel, large_slope(self.d, LARGE_SLOPE_MARGIN), q, converged

    def initial_slope(self, D: float) -> float:
        width = D - self.D_min
        guess = 1.0 / width
        if math.isfinite(self.D_max):
            guess -= 1.0 / (self.D_max - self.D_min)
        return max(guess, 1e-3 / width)

    def solve_distortion(self, D: float, tol: float, slope0=None, q0=None):
        """Search the slope until the mixture of the bracketing channels is certified
        within ``tol`` at ``D``. Returns (channel, slope, q, converged, solves)."""
        inner = 0.25 * tol
        s = slope0 if slope0 is not None and slope0 > 0 else self.initial_slope(D)
        lo = hi = None            # points with distortion > D, <= D
        warm_q, warm_set = q0, None
        last_gap, stalls = math.inf, 0
        solves = since_gain = 0
        best = None
        while solves < MAX_SLOPE_SOLVES and not self.budget.exhausted:
            solves += 1
            kernel = self.slopes.kernel(s)
            point = self.slopes.solve_slope(kernel, warm_q, warm_set, tol=inner,
                                            derivative=True)
            if point.distortion > D:
                if lo is None or point.slope > lo.slope:
                    lo = point
            elif hi is None or point.slope < hi.slope:
                hi = point
            upper, lower, mix = self._estimate(lo, hi, D)
            gap = upper - lower
            if best is None or gap < 0.99 * best[0]:
                since_gain = 0
            else:
                since_gain += 1
            if best is None or gap < best[0]:
                best = (gap, lo, hi, mix)
            if since_gain >= SEARCH_STALL:
                self.stalled = True  # no 1% gain in so many solves: no retries either
                break
            if gap <= 0.5 * tol and (lo is None or lo.converged) and (
                    hi is None or hi.converged):
                break
            # Newton while the gap falls fast; a stall means a kink (tangent step)
            # or an unreliable derivative (bisection).
            stalls = stalls + 1 if gap > 0.25 * last_gap and lo and hi else 0
            last_gap = gap
            s = self._next_slope(point, lo, hi, D, ("newton", "kelley", "bisect")[stalls % 3])
            if s is None:
                break
            warm_q, warm_set = point.q, point.support
        gap, lo, hi, mix = best
        return self._assemble(lo, hi, D, mix) + (gap <= tol, solves)

    def _estimate(self, lo, hi, D):
        """Certified-gap estimate at D from the bracket: (upper, lower, mix weight)."""
        lower = max([pt.lower(D) for pt in (lo, hi) if pt is not None])
        if hi is None:
            return math.inf, lower, None
        if lo is None or hi.distortion >= D:
            return hi.rate, lower, None
        t = (lo.distortion - D) / (lo.distortion - hi.distortion)  # weight of hi
        return t * hi.rate + (1 - t) * lo.rate, lower, t

    def _next_slope(self, point, lo, hi, D, rule):
        s = point.slope
        if lo is not None and hi is not None:
            a, b = lo.slope, hi.slope
            if not b > a * (1 + 1e-15):
                return None
            candidate = None
            if rule == "kelley":
                # Tangents of the concave dual phi(s) = G(s) - sD at both ends meet at
                # the kink of a straight piece (one step there).
                slope_lo, slope_hi = lo.distortion - D, hi.distortion - D
                if slope_lo > slope_hi:
                    candidate = (hi.lower(D) - lo.lower(D) + slope_lo * a - slope_hi * b) / (
                        slope_lo - slope_hi)
            elif rule == "newton" and point.derivative < 0:
                candidate = s - (point.distortion - D) / point.derivative
            if candidate is not None and a < candidate < b:
                return candidate
            return math.sqrt(a * b) if a > 0 else 0.5 * b
        # One side only: Newton in log s, at least 10% and at most a factor 4 towards
        # the target, so a bracket forms fast even with a poor derivative.
        direction = 1.0 if hi is None else -1.0   # distortion too large: raise s
        step = math.log(4.0)
        if point.derivative < 0 and math.isfinite(point.derivative):
            newton = -(point.distortion - D) / (s * point.derivative)
            if newton * direction > 0:
                step = min(math.log(4.0), max(math.log(1.1), abs(newton)))
        return s * math.exp(direction * step)

    def _assemble(self, lo, hi, D, mix):
        """The returned point: a single channel, or the mixture at D of lo and hi; the
        slope and q of whichever gives the better lower bound at D."""
        candidates = [pt for pt in (lo, hi) if pt is not None]
        dual = max(candidates, key=lambda pt: pt.lower(D))
        if hi is None:
            channel = self.slopes.channel(lo.kernel, lo.q)
        elif mix is None:
            channel = self.slopes.channel(hi.kernel, hi.q)
        else:
            channel = (mix * self.slopes.channel(hi.kernel, hi.q)
                       + (1 - mix) * self.slopes.channel(lo.kernel, lo.q))
        return channel, dual.slope, dual.q


# ------------------------------------------------------------------ public API

@dataclass
class _Setup:
    """Validated inputs of one public solve, reduced to positive-probability symbols
    (``d`` is the caller's array itself when every symbol has positive probability)."""

    p_full: np.ndarray
    d_full: np.ndarray
    support: np.ndarray   # indices of the symbols with p > 0
    p: np.ndarray
    d: np.ndarray
    tol: float
    options: dict
    budget: Budget

    @property
    def large(self) -> bool:
        """Solved by column generation (:mod:`rdconvex.iterative.ba_columns`)."""
        choice = self.options.get("working_set", "auto")
        if choice == "auto":
            return self.d.size > LARGE and self.options.get("screening", True)
        return bool(choice)

    def slope_solver(self) -> SlopeSolver | WorkingSetSolver:
        """The solver of one slope: on working sets of outputs for large problems."""
        kind = WorkingSetSolver if self.large else SlopeSolver
        return kind(self.p, self.d, self.budget, self.options)


def _prepare(p, d, tol, max_iter, solver_options, callback) -> _Setup:
    p = check_pmf(p, "p")
    d = check_distortion(d, p.size, "d", copy=False)  # read only: no copy of a big d
    check_rows_finite(d, p, "d")
    check_iteration_args(tol, max_iter)
    tol = DEFAULT_TOL if tol is None else float(tol)
    max_iter = DEFAULT_MAX_ITER if max_iter is None else int(max_iter)
    options = _check_options(solver_options)
    keep = p > 0
    budget = Budget(max_iter, callback)
    if keep.all():
        return _Setup(p, d, np.arange(p.size), p, d, tol, options, budget)
    return _Setup(p, d, np.flatnonzero(keep), p[keep], d[keep], tol, options, budget)


def _check_options(solver_options) -> dict:
    options = dict(solver_options or {})
    unknown = set(options) - _OPTIONS
    if unknown:
        raise InvalidArgumentError(
            f"solver_options {sorted(unknown)} are not options of 'ba'; known: "
            f"{sorted(_OPTIONS)}.")
    if options.get("working_set", "auto") not in ("auto", True, False):
        raise InvalidArgumentError(
            f"solver_options['working_set']={options['working_set']!r}: use 'auto', True "
            "or False.")
    acceleration = options.get("acceleration", "squarem")
    if acceleration not in ("squarem", None, "none"):
        raise InvalidArgumentError(
            f"solver_options['acceleration']={acceleration!r}: use 'squarem' or None.")
    return options


def _status(gap, tol, budget, slope_times_D, message):
    """OPTIMAL when the certified gap met tol; MAX_ITERATIONS when the budget ran out
    (or the callback stopped); else OPTIMAL_INACCURATE (the search stalled, usually at
    the floor float64 rounding of the dual bound's ``s D`` term puts on the gap)."""
    if abs(gap) <= tol:  # (a lower bound above the upper one is rounding, too)
        return Status.OPTIMAL, message
    if budget.exhausted:
        return Status.MAX_ITERATIONS, f"stopped after {budget.used} kernel passes; " + message
    return Status.OPTIMAL_INACCURATE, (
        message + f"; tol {tol:.1e} not reached when the search stalled (float64 rounding "
        f"of slope * D = {slope_times_D:.3g} nats alone limits the gap to about "
        f"{np.finfo(float).eps * abs(slope_times_D):.0e})")


def blahut_arimoto(p, d, slope, *, tol=None, max_iter=None, callback=None, output_pmf=None,
                   solver_options=None) -> RawSolution:
    r"""Blahut–Arimoto at a fixed slope, stopped on a certified gap.

    Minimises :math:`I(X;Y) + s\,\mathbb E\,d(X,Y)` over channels, i.e. the point of
    the curve where :math:`-dR/dD = s`, and stops when the Csiszár lower bound at the
    returned channel's distortion is within ``tol`` of its mutual information:

    .. math::
        I(W_q) - \Big[f_s(q) - \log\max_y c_y(q) - s\,D(W_q)\Big] \le \mathrm{tol}.

    Parameters
    ----------
    p : array_like, shape (n,)
        Source pmf (zero entries allowed).
    d : array_like, shape (n, m)
        Distortion in ``[0, inf]``; ``inf`` forbids a pair.
    slope : float
        ``s >= 0``, nats per unit of distortion (``1e4`` and more are fine).
    tol : float, optional
        Certified gap in nats (default ``1e-9``).
    max_iter : int, optional
        Cap on passes over the ``n x m`` kernel (default 100000).
    callback : callable, optional
        Called with a :class:`BAProgress` after each full-problem check; raise
        ``StopIteration`` in it to stop (status ``MAX_ITERATIONS``).
    output_pmf : array_like, shape (m,), optional
        Warm start.
    solver_options : dict, optional
        ``screening`` (bool, default True), ``newton`` (bool, default True),
        ``acceleration`` (``"squarem"`` or None), ``working_set`` (``"auto"``, the
        default, True or False: solve on a growing working set of outputs, touching
        the full matrix only in one blockwise check per slope; ``"auto"`` does so
        above 2^23 distortion entries, see :mod:`rdconvex.iterative.ba_columns`).

    Returns
    -------
    RawSolution
        ``channel`` (n x m), ``slope``, ``output_pmf`` (the ``q`` of the dual bound)
        and ``info`` (status ``OPTIMAL`` when the certified gap met ``tol``).

    See Also
    --------
    blahut_arimoto_distortion : the same at a target distortion.
    rdconvex.certify.certify : the certificate of the returned point.

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.iterative.ba import blahut_arimoto
    >>> raw = blahut_arimoto([0.7, 0.3], 1 - np.eye(2), slope=2.0)
    >>> raw.info.status.value
    'optimal'
    """
    start = time.perf_counter()
    setup = _prepare(p, d, tol, max_iter, solver_options, callback)
    slope = check_scalar(slope, "slope", minimum=0.0)
    p, d, tol, budget = setup.p, setup.d, setup.tol, setup.budget
    slopes = setup.slope_solver()
    kernel = slopes.kernel(slope)
    q0 = None if output_pmf is None else np.asarray(output_pmf, dtype=float)
    target = 0.5 * tol
    point = slopes.solve_slope(kernel, q0, tol=target)
    while True:
        channel = slopes.channel(kernel, point.q)
        distortion = point.distortion
        gap = slopes.gap(None, channel, slope, point.q)
        if gap <= tol or budget.exhausted or target < 1e-15:
            break
        target *= 0.1  # rounding between the estimate and the certificate: go tighter
        point = slopes.solve_slope(kernel, point.q, point.support, tol=target)
    message = (f"certified gap {gap:.2e} nats at slope {slope:.6g}; "
               + slopes.describe(point))
    status, message = _status(gap, tol, budget, slope * distortion, message)
    info = SolveInfo(status, budget.used, time.perf_counter() - start, message)
    channel = expand_rows(slopes.full_channel(channel), setup.support, setup.d_full, slope,
                          point.q)
    return RawSolution(channel, slope, point.q, info)


def blahut_arimoto_distortion(p, d, D, *, tol=None, max_iter=None, callback=None,
                              slope=None, output_pmf=None, solver_options=None) -> RawSolution:
    r"""Constrained Blahut–Arimoto: ``R(D)`` at a target distortion, certified.

    Searches the slope :math:`s` with :math:`D(s) = D` (Newton steps with the exact
    derivative of the distortion along the curve, kept inside a bracket; tangent steps
    at kinks), each slope solved by :func:`blahut_arimoto`'s fast core and warm-started
    from the previous one. The returned channel has distortion :math:`\le D`: when
    :math:`D` falls between the distortions of two nearby slopes (always true on a
    straight piece of :math:`R(D)`, where the distortion jumps), the two channels are
    mixed to hit :math:`D` exactly; the mixture is feasible and, :math:`I` being convex
    in the channel, its rate is at most the chord. It stops when

    .. math::
        I(W) - \max_{s \in \{s_-, s_+\}} \Big[f_s(q_s) - \log\max_y c_y(q_s) - sD\Big]
        \le \mathrm{tol}.

    Parameters
    ----------
    p, d : array_like
        Source pmf and distortion (as in :func:`blahut_arimoto`).
    D : float
        Target distortion, ``>= D_min``.
    tol, max_iter, callback, solver_options :
        As in :func:`blahut_arimoto` (``max_iter`` counts passes over all slopes);
        ``solver_options`` may also set ``initial_slope``, the first slope tried.
    slope, output_pmf : optional
        Warm start: a slope near the answer and its output pmf.

    Returns
    -------
    RawSolution
        ``slope`` and ``output_pmf`` are the dual point of the best lower bound.

    See Also
    --------
    blahut_arimoto : one fixed slope.

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.iterative.ba import blahut_arimoto_distortion
    >>> raw = blahut_arimoto_distortion([0.7, 0.3], 1 - np.eye(2), D=0.1)
    >>> round(raw.slope, 6), raw.info.status.value   # log((1 - D) / D)
    (2.197225, 'optimal')
    """
    start = time.perf_counter()
    setup = _prepare(p, d, tol, max_iter, solver_options, callback)
    D = check_scalar(D, "D")
    p, d, tol, budget = setup.p, setup.d, setup.tol, setup.budget
    search = DistortionSearch(setup.slope_solver())
    options = setup.options
    # Windows relative to the problem's own scale (never to 1): D_max - D_min, or the
    # smallest positive excess distortion when D_max is infinite.
    window = D_SNAP * search.scale
    if D < search.D_min - window:
        raise InfeasibleDistortionError(
            f"D={D!r} is below D_min={search.D_min:.10g}: no channel has so small an "
            "expected distortion. Use D >= D_min.")
    q0 = None if output_pmf is None else np.asarray(output_pmf, dtype=float)
    initial = options.get("initial_slope", slope)
    if D >= search.D_max:
        channel = np.zeros(d.shape)
        channel[:, search.best_column] = 1.0
        slope_out, q = 0.0, channel[0].copy()
        gap, message = 0.0, "D >= D_max: the constant output attains rate 0"
        status = Status.OPTIMAL
    elif D <= search.D_min + window:
        channel, slope_out, q, converged = search.solve_at_D_min(0.5 * tol)
        gap = search.slopes.gap(search.D_min, channel, slope_out, q)
        status, message = _status(gap, tol, budget, 0.0,
                                  f"D = D_min: argmin pairs only; certified gap {gap:.2e} nats")
    else:
        channel, slope_out, q, converged, solves = search.solve_distortion(
            D, tol, initial, q0)
        gap = search.slopes.gap(D, channel, slope_out, q)
        retries = 0
        while gap > tol and not budget.exhausted and retries < 3 and not search.stalled:
            # The linear-space estimate and the log-space certificate disagree at the
            # rounding level: search again, tighter, from where we are.
            retries += 1
            channel, slope_out, q, converged, more = search.solve_distortion(
                D, tol * 0.1 ** retries, slope_out, q)
            solves += more
            gap = search.slopes.gap(D, channel, slope_out, q)
        message = (f"certified gap {gap:.2e} nats at D={D:.10g} after {solves} slope "
                   f"solve{'s' * (solves != 1)}; slope {slope_out:.6g}; "
                   + search.slopes.describe_search())
        status, message = _status(gap, tol, budget, slope_out * D, message)
    info = SolveInfo(status, budget.used, time.perf_counter() - start, message)
    channel = expand_rows(search.slopes.full_channel(channel), setup.support, setup.d_full,
                          slope_out, q)
    return RawSolution(channel, slope_out, q, info)

