r"""A certified envelope of the whole rate–distortion curve, by the sandwich algorithm.

:func:`envelope` returns a :class:`Band`: piecewise-linear functions ``lower(D)`` and
``upper(D)`` with

.. math:: \mathrm{lower}(D) \le R(D) \le \mathrm{upper}(D)
    \quad\text{for every } D \ge D_{\min}\ \text{(not only at sampled points)},

and ``upper - lower <= eps`` everywhere. The math (and the outward rounding) lives in
:mod:`rdconvex.certify.envelope`; this module runs the solves.

*Certificates.* Every solve gives a point and a line. The point: the returned channel's
proven distortion ``D_i`` and rate ``U_i``, so ``R(D_i) <= U_i``; chords between points
and the flat continuation to the right are upper bounds (``R`` is convex and
non-increasing). The line: the Csiszár dual point ``(s, log c)`` of the certificate,
evaluated at ``D' = 0``, is :math:`R(D) \ge b(s) - s (D - D_{\min})` for all ``D`` at
once.

*The sandwich* (Rote 1992). It starts from the point at ``D_min`` (``solve(D=D_min)``,
slope ``+inf``) and the rate-0 point at ``D_max`` (the constant output: no solve), then
repeats: for every segment of the upper envelope whose gap exceeds ``eps``, solve at the
slope of its chord. That slope's tangent point lies inside the segment and its line cuts
the triangle between the chord and the old lines where it is deepest; each split cuts
the gap about fourfold. Two refinements: where the largest gap of the first segment is
its limit at ``D_min+`` (the curve is steep there) the slope at least doubles (the chord
rule would creep up by about 1 per solve); and a segment between two tangent points
that looks quadratic (its gap within :data:`QUADRATIC` of :math:`\Delta s\,\Delta D/4`)
is split at once into ``k`` equal slope steps, ``k`` chosen for a gap of
:data:`SPLIT_TARGET` ``* eps`` each, instead of overshooting by halves.

A band of width :math:`\epsilon` made of chords and tangents needs about
:math:`\int \sqrt{R''(D) / (4\epsilon)}\, dD` points (a quadratic piece of width
:math:`h` leaves a gap :math:`R'' h^2/4`), so the count grows like
:math:`1/\sqrt{\epsilon}`: hundreds of solves for :math:`\epsilon = 10^{-6}` even on a
binary source (docs/envelope.md). Each solve is warm-started from the nearest slope.

*Infinite* ``D_max`` (no output is allowed for every source symbol): ``R`` decreases to
``min I(X;Y)`` over channels on the allowed pairs and is flat from some ``D_0`` on. A
slope-0 solve gives a channel of that rate and its dual line of slope 0, which bounds
``R`` from below at every ``D``; the band then covers all of ``[D_min, inf)`` with the
same ``eps``, the upper envelope flat after that channel's distortion.

References
----------
.. [1] G. Rote, "The convergence rate of the sandwich algorithm for approximating convex
   functions", Computing 48 (1992) 337–361.
.. [2] I. Csiszár, "On the computation of rate-distortion functions", IEEE Trans. Inf.
   Theory 20 (1974) 122–124.
"""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from dataclasses import dataclass

import flint
import numpy as np

from .._validation import check_scalar
from ..certify.envelope import Envelope, Frame, up
from ..errors import InaccurateSolutionWarning, InvalidArgumentError
from ..results import DEFAULT_GAP_TOL
from ..rigorous import channel_bounds, dual_lower_bound
from ..solvers import get_solver
from . import classical_points

#: Cap on the number of solves when ``max_solves`` is not given.
DEFAULT_MAX_SOLVES = 5000
#: Two slopes closer than this (relative) are the same solve.
SAME_SLOPE = 1e-9
#: A quadratic-looking segment is split into pieces of about this fraction of ``eps``...
SPLIT_TARGET = 0.9
#: ... into at most this many at once ...
MAX_SPLIT = 16
#: ... when its gap is within this fraction of the quadratic model's.
QUADRATIC = 0.2


@dataclass(frozen=True, repr=False, eq=False)
class Band:
    r"""A certified band around the whole curve: ``lower(D) <= R(D) <= upper(D)`` at
    every ``D`` (piecewise linear, outward-rounded), ``upper - lower <= max_gap``.

    Attributes
    ----------
    points : ndarray, shape (k, 3)
        The certified points, by ``D``: columns ``D`` (a proven upper end of the
        channel's distortion; ``D_min`` for the first), ``upper`` (a proven upper bound
        on ``R(D)``), ``slope`` (of the solve; ``inf`` at ``D_min``). The upper envelope is their lower convex
        hull, flat after its lowest vertex.
    lines : ndarray, shape (K, 2)
        The lines forming the lower envelope, steepest first: columns ``slope`` and
        ``intercept``, meaning :math:`R(D) \ge \mathrm{intercept} - \mathrm{slope}\,(D -
        D_{\min})` for every ``D``. The lower envelope is their maximum (and 0).
    max_gap : float
        A proven bound on ``upper(D) - lower(D)`` over every ``D >= D_min``.
    eps : float
        The gap asked for.
    solves : int
        Solves run (the rate-0 point at a finite ``D_max`` needs none).
    units : str
        Units of rates (and of log-distortions for log-likelihood problems).
    D_min, D_end : float
        ``D_min`` and the last certified point's distortion (a proven upper end of
        ``D_max`` when that is finite); the band holds beyond ``D_end`` too (flat there).
    """

    points: np.ndarray
    lines: np.ndarray
    max_gap: float
    eps: float
    solves: int
    units: str
    D_min: float
    D_end: float
    _envelope: Envelope
    _frame: Frame

    def __post_init__(self):
        for name in ("points", "lines"):
            getattr(self, name).flags.writeable = False

    def upper(self, D):
        """Proven upper bounds on ``R(D)`` (array_like ``D``, in the problem's units;
        ``inf`` below ``D_min``, where no channel exists)."""
        return self._evaluate(D, upper=True)

    def lower(self, D):
        """Proven lower bounds on ``R(D)`` (``inf`` below ``D_min``)."""
        return self._evaluate(D, upper=False)

    def _evaluate(self, D, upper: bool):
        scalar = np.ndim(D) == 0
        D = np.array(D, dtype=float, ndmin=1)
        E_lo, E_hi, state = self._frame.shift(D)
        if upper:
            value = self._frame.rate_up(self._envelope.upper(np.nan_to_num(E_lo)))
        else:
            value = self._frame.rate_down(self._envelope.lower(
                np.nan_to_num(E_hi, posinf=np.inf), at_min=state == 0))
        value = np.where(state < 0, np.inf, value)
        value = np.where(np.isnan(state), np.nan, value)
        return float(value[0]) if scalar else value

    def plot(self, ax=None, *, label=None, points: bool = True, band_alpha: float = 0.3,
             **line_kwargs):
        """Draw the band on ``ax``: the upper envelope, the lower one (shaded between)
        and the certified points. Needs matplotlib (the ``plot`` extra). Returns the
        axes."""
        from ..plot import pyplot

        if ax is None:
            ax = pyplot().gca()
        frame, env = self._frame, self._envelope
        knots = np.concatenate([self.points[:, 0], frame.D_up(env.breaks)])
        grid = np.unique(np.clip(np.r_[knots, np.linspace(self.D_min, self.D_end, 200)],
                                 self.D_min, self.D_end))
        (line,) = ax.plot(grid, self.upper(grid), label=label, **line_kwargs)
        ax.fill_between(grid, self.lower(grid), self.upper(grid), color=line.get_color(),
                        alpha=band_alpha, linewidth=0)
        if points:
            ax.plot(self.points[:, 0], self.points[:, 1], ".", color=line.get_color(),
                    markersize=3)
        ax.set_xlabel("D")
        ax.set_ylabel(f"R(D) [{self.units}]")
        return ax

    def __repr__(self) -> str:
        return (f"Band(D in [{self.D_min:.6g}, {self.D_end:.6g}], {len(self.points)} points, "
                f"{len(self.lines)} lines, max gap {self.max_gap:.2e} {self.units} "
                f"(eps {self.eps:.1e}), {self.solves} solves)")


class _Sandwich:
    """The certified points and lines gathered so far (shifted distortion, nats)."""

    def __init__(self, problem, options: dict):
        self.problem, self.options = problem, options
        self.source, self.exact = problem.source, problem.source.exact
        self.E, self.U, self.point_slope, self.tangent = [], [], [], []
        self.s, self.b = [], []
        self.at_min = -math.inf
        self.warm_slopes: list[float] = []  # sorted; output pmfs in self.warm_pmf
        self.warm_pmf: dict[float, np.ndarray] = {}
        self.tried_slopes: list[float] = []  # sorted
        self.tried_E: set[float] = set()
        self.solves = 0

    # ------------------------------------------------------------ certificates
    def add_point(self, E: float, U: float, slope: float, tangent: bool = True) -> None:
        """``tangent``: ``slope`` is the slope of ``R`` at the point (not at ``D_min``, at
        the rate-0 point or on the flat part, where only a subgradient is known)."""
        self.E.append(float(E))
        self.U.append(float(U))
        self.point_slope.append(float(slope))
        self.tangent.append(float(slope) if tangent and math.isfinite(slope) else math.nan)

    def add_line(self, slope: float, log_c: np.ndarray) -> None:
        """Csiszár's bound at ``D' = 0``: the intercept of a line valid at every ``D``."""
        b = dual_lower_bound(self.exact, flint.arb(0), slope, log_c)
        if math.isinf(slope):
            self.at_min = max(self.at_min, b)
        elif math.isfinite(b):
            self.s.append(float(slope))
            self.b.append(float(b))

    def add_result(self, result, at_D_min: bool = False, tangent: bool = True) -> None:
        """The point and the line of a solve's certificate, recomputed on the exact
        shifted data (nats, whatever the problem's units)."""
        src = self.source
        W = np.asarray(result.channel)[src.support]
        bounds = channel_bounds(self.exact, W)
        # At D_min the channel lives on the exact minimisers: shifted distortion exactly 0.
        exact_min = at_D_min and not np.any(W[~self.exact.minimisers])
        slope = float(result.proof.dual["slope"])
        self.add_point(0.0 if exact_min else bounds.distortion_excess, bounds.rate,
                       math.inf if at_D_min else slope, tangent and not at_D_min)
        self.add_line(slope, np.asarray(result.proof.dual["log_c"], float)[src.support])
        if math.isfinite(slope) and slope > 0 and slope not in self.warm_pmf:
            bisect.insort(self.warm_slopes, slope)
            self.warm_pmf[slope] = np.asarray(result.output_pmf)

    # ------------------------------------------------------------------ solves
    def _options(self) -> dict:
        o = self.options
        return {"tol": o["tol"], "max_iter": o["max_iter"],
                "solver_options": o["solver_options"]}

    def solve_D_min(self) -> None:
        """``R(D_min)``: only exact minimisers carry mass (slope ``+inf``)."""
        adapter = get_solver(self.options["solver"], task="rate_distortion")
        o = self._options()
        raw = classical_points.solve_at_D_min(self.source, adapter, o["tol"], o["max_iter"],
                                              o["solver_options"], False)
        self.solves += 1
        self.add_result(self.problem._finish(raw, self.source.D_min, adapter), at_D_min=True)

    def add_rate_zero(self) -> None:
        """The constant output ``argmin_y E d(X, y)``: rate exactly 0 at ``D_max``."""
        W = np.zeros(self.source.d.shape)
        W[:, self.source.best_column] = 1.0
        self.add_point(channel_bounds(self.exact, W).distortion_excess, 0.0, 0.0, False)

    def solve_flat(self) -> None:
        """``D_max = inf``: the slope-0 solve (the least rate on the allowed pairs) and
        its dual point as a line of slope exactly 0."""
        result = self.problem.solve(slope=0.0, solver=self.options["solver"],
                                    **self._options())
        self.solves += 1
        self.add_result(result, tangent=False)
        self.add_line(0.0, np.asarray(result.proof.dual["log_c"], float)[self.source.support])
        bisect.insort(self.tried_slopes, 0.0)

    def solve_slope(self, slope: float) -> None:
        units = self.problem._units
        result = self.problem.solve(slope=units.slope_out(slope),
                                    solver=self.options["solver"],
                                    warm_start=self._warm(slope), **self._options())
        self.solves += 1
        bisect.insort(self.tried_slopes, slope)
        self.add_result(result)

    def solve_at(self, E: float) -> None:
        units = self.problem._units
        D = float(self.exact.d_min.mid()) + E
        result = self.problem.solve(D=units.D_out(D), solver=self.options["solver"],
                                    **self._options())
        self.solves += 1
        self.tried_E.add(E)
        self.add_result(result)

    def _warm(self, slope: float):
        """``(slope, output pmf)`` of the nearest solved slope (log scale), or None."""
        near = self.warm_slopes[max(0, bisect.bisect(self.warm_slopes, slope) - 1):][:2]
        if not near or slope <= 0:
            return None
        best = min(near, key=lambda s: abs(math.log(s / slope)))
        return best, self.warm_pmf[best]

    def tried(self, slope: float) -> bool:
        i = bisect.bisect(self.tried_slopes, slope)
        return any(abs(slope - t) <= SAME_SLOPE * max(abs(slope), abs(t))
                   for t in self.tried_slopes[max(0, i - 1):i + 1])

    # --------------------------------------------------------------- envelope
    def envelope(self) -> Envelope:
        return Envelope.build(self.E, self.U, self.s, self.b, self.at_min, self.tangent)

    def plan(self, env: Envelope, eps_nats: float) -> tuple[list, float]:
        """``(steps, stuck)``: ``("slope", s)`` or ``("D", E)`` steps for every segment
        whose gap exceeds ``eps_nats``, and the largest gap no step can reduce."""
        steps, stuck = [], 0.0
        for i, gap, where in env.segment_gaps():
            if gap <= eps_nats:
                continue
            slopes = [] if i == env.vertex_E.size - 1 else \
                [s for s in self.split(env, i, gap, where, eps_nats) if not self.tried(s)]
            if slopes:
                steps += [("slope", s) for s in slopes]
            elif 0.0 < where < math.inf and where not in self.tried_E:
                steps.append(("D", where))
            else:
                stuck = max(stuck, gap)
        return steps, stuck

    def split(self, env: Envelope, i: int, gap: float, where: float, eps_nats: float):
        """New slopes inside segment ``i``. The chord's slope (its tangent point cuts the
        deepest part of the gap); at the limit ``D_min+`` at least twice the steepest
        line so far; and where both ends are tangent points, ``k`` equally spaced slopes
        (a quadratic piece's gap falls as ``1/k^2``) aiming at ``SPLIT_TARGET * eps``."""
        VE, VU, VS = env.vertex_E, env.vertex_U, env.vertex_slope
        chord = float((VU[i] - VU[i + 1]) / (VE[i + 1] - VE[i]))
        if i == 0 and where == 0.0:
            return [max(chord, 2.0 * max((s for s in self.s), default=0.0))]
        left, right = VS[i], VS[i + 1]
        pieces = min(MAX_SPLIT, math.ceil(math.sqrt(gap / (SPLIT_TARGET * eps_nats))))
        quadratic = 0.25 * (left - right) * (VE[i + 1] - VE[i])  # the gap if R'' is constant
        if not left > right or pieces <= 2 or not abs(gap / quadratic - 1) < QUADRATIC:
            return [chord]  # NaN (unknown slopes) compares false
        return [float(left + (right - left) * j / pieces) for j in range(1, pieces)]


def _band(sandwich: _Sandwich, frame: Frame, eps: float) -> Band:
    """The Band of the current certificates (``max_gap`` in the problem's units, with
    the widening of ``D -> D - D_min`` and of the unit conversions)."""
    problem, env = sandwich.problem, sandwich.envelope()
    E_end = float(env.vertex_E[-1])
    D_end_nats = up(E_end + frame.d_min_hi)
    width = (frame.d_min_hi - frame.d_min_lo) + D_end_nats * (frame.D_hi - frame.D_lo) \
        + 8 * math.ulp(max(D_end_nats, 1e-300))
    gap = up(env.max_gap() + env.steepest() * width * (1.0 + 1e-9))
    top = float(env.vertex_U[0])
    gap = up(frame.rate_up(gap) + top * (frame.rate_hi - frame.rate_lo) + 4 * math.ulp(top))
    order = np.argsort(sandwich.E, kind="stable")
    E = np.asarray(sandwich.E)[order]
    D = np.where(E == 0.0, problem.D_min, frame.D_up(E))
    units = problem._units
    slopes = [units.slope_out(s) for s in np.asarray(sandwich.point_slope)[order]]
    points = np.column_stack([D, frame.rate_up(np.asarray(sandwich.U)[order]), slopes])
    lines = np.column_stack([[units.slope_out(s) for s in env.slope],
                             frame.rate_down(env.intercept)])
    return Band(points=points, lines=lines, max_gap=float(gap), eps=eps,
                solves=sandwich.solves, units=problem.units, D_min=problem.D_min,
                D_end=float(frame.D_up(E_end)) if E_end > 0 else problem.D_min,
                _envelope=env, _frame=frame)


def envelope(problem, eps: float = 1e-6, *, solver: str | None = None,
             tol: float | None = None, max_iter: int | None = None,
             solver_options: dict | None = None,
             max_solves: int = DEFAULT_MAX_SOLVES) -> Band:
    r"""A certified band around the whole curve :math:`R(D)`, ``upper - lower <= eps``.

    .. math::
        \max\Big(0, \max_k\, b_k - s_k (D - D_{\min})\Big) \;\le\; R(D) \;\le\;
        \operatorname{hull}\{(D_i, U_i)\}(D)

    (the lines from the dual points of the solves, the lower convex hull from their
    channels; see the module docstring and :mod:`rdconvex.certify.envelope`).

    Parameters
    ----------
    problem : RateDistortion
        Any classical problem (a :class:`~rdconvex.LogLikelihood` too).
    eps : float
        The largest gap ``upper(D) - lower(D)`` wanted, in the problem's rate units.
    solver, tol, max_iter, solver_options :
        As in :meth:`RateDistortion.solve`, for every solve; ``tol`` defaults to
        ``min(eps / 8, 1e-6)`` nats (each solve's certified gap is the band's gap at its
        point).
    max_solves : int
        Stop (with an :class:`~rdconvex.errors.InaccurateSolutionWarning`) after this
        many solves; the band is still certified, only wider than ``eps``.

    Returns
    -------
    Band
        ``lower(D)``, ``upper(D)`` (vectorised), ``points``, ``lines``, ``max_gap``,
        ``solves``, ``plot()``.

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> from rdconvex.problems.envelope import envelope
    >>> band = envelope(rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)), eps=1e-3)
    >>> band.max_gap <= 1e-3, band.lower(0.1) <= band.upper(0.1)  # R(0.1) = 0.2857...
    (True, True)
    >>> band.lower([0.0, 0.3]).round(4).tolist(), band.upper(0.31)  # 0 from D_max on
    ([0.6109, 0.0], 0.0)
    """
    eps = check_scalar(eps, "eps", minimum=0.0)
    if eps <= 0.0:
        raise InvalidArgumentError(f"eps={eps!r} must be > 0 (the largest gap wanted).")
    if isinstance(max_solves, bool) or not isinstance(max_solves, numbers.Integral) \
            or max_solves < 1:
        raise InvalidArgumentError(f"max_solves={max_solves!r} must be an integer >= 1.")
    eps_nats = eps / problem._units.rate_scale
    if tol is None:
        tol = min(eps_nats / 8.0, DEFAULT_GAP_TOL)
    sandwich = _Sandwich(problem, {"solver": solver, "tol": tol, "max_iter": max_iter,
                                   "solver_options": solver_options})
    units = problem._units
    frame = Frame.of(sandwich.exact, units.rate_scale, units.distortion_scale)
    sandwich.solve_D_min()
    if math.isfinite(sandwich.source.D_max):
        sandwich.add_rate_zero()
    else:
        sandwich.solve_flat()
    while True:
        band = _band(sandwich, frame, eps)
        if band.max_gap <= eps:
            return band
        steps, stuck = sandwich.plan(band._envelope, eps_nats)
        if not steps or sandwich.solves >= max_solves:
            why = (f"max_solves={max_solves} reached" if steps else
                   f"no solve can close a gap of {stuck:.2e} nats (raise eps, or lower "
                   "tol to tighten every solve's certificate)")
            warnings.warn(f"envelope: {why}; the band is certified but its largest gap is "
                          f"{band.max_gap:.2e} {problem.units} > eps = {eps:.1e}.",
                          InaccurateSolutionWarning, stacklevel=2)
            return band
        for kind, value in steps[:max_solves - sandwich.solves]:
            if kind == "slope":
                sandwich.solve_slope(value)
            else:
                sandwich.solve_at(value)
