r"""`GridSource`: ``R(D)`` of a source on a uniform grid with a translation-invariant
distortion, solved and certified in O(n log n) memory-light passes (docs/grid.md).

The problem is the one the floats define: grid points ``x_0 + i h`` with
``h = fl((x_{n-1} - x_0) / (n - 1))``, reproduction alphabet the same grid, the pmf
``w / sum w`` (the sum enclosed), and the distortion between points ``i`` and ``j``

.. math:: d_{ij} = F_{i-j}, \qquad F_t = f(\mathrm{fl}(t h)) \ \text{(float64)},

with ``f(t) = t**2`` (``"squared"``), ``|t|`` (``"absolute"``) or a callable evaluated once
on the ``2n - 1`` offsets.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import flint
import numpy as np
from scipy.ndimage import minimum_filter1d

from .._validation import as_float_array, check_iteration_args
from ..certify.grid import GridData, certify_at, point_bounds
from ..convolution import FFTKernel
from ..errors import (
    InaccurateSolutionWarning,
    InfeasibleDistortionError,
    InvalidArgumentError,
    InvalidDistortionError,
    InvalidDistributionError,
)
from ..iterative.grid import DEFAULT_MAX_ITER, DEFAULT_TOL, GridBA
from ..results import DEFAULT_GAP_TOL, Certificate, Result, Status
from ..rigorous import PRECISION, U, arb_dot, in_bits, upper_end
from .base import Units, honest_status, one_target

#: Relative tolerance on the uniformity of the grid spacing.
SPACING_TOL = 1e-9


@dataclass(frozen=True, repr=False)
class GridResult(Result):
    """A :class:`~rdconvex.Result` of a :class:`GridSource`. ``channel`` is ``None``: the
    ``n x n`` channel is never formed (:meth:`GridSource.channel_rows` gives rows of it).

    Attributes
    ----------
    mixture : tuple of (slope, weight)
        The certified channel is ``sum weight * W_slope`` with ``W_s(j|i) ∝ q_s(j)
        exp(-s d_ij)`` (the Blahut–Arimoto channel of the output pmf solved at ``s``);
        rows of the far tails whose normaliser could not be enclosed are sent to the
        nearest heavy output instead (docs/grid.md).
    tail_rows : int
        How many rows were so replaced (largest over the mixture).
    """

    mixture: tuple = ()
    tail_rows: int = 0


class GridSource:
    r"""Rate–distortion function of a source on a uniform grid, ``d(x_i, y_j) = f(x_i - y_j)``.

    .. math:: R(D) = \min_{W:\ \mathbb E\, f(X - Y) \le D} I(X; Y), \quad X, Y \in
              \{x_0 + i h\}

    Parameters
    ----------
    points : array_like, shape (n,)
        Increasing, uniformly spaced (to 1e-9 relative) grid points, ``n >= 2``.
    weights : array_like, shape (n,)
        Nonnegative, positive sum; the pmf is ``weights / sum(weights)`` exactly.
    distortion : {"squared", "absolute"} or callable
        ``f``; a callable maps an array of offsets to an array of values ``>= 0``
        (called once, on the ``2n - 1`` offsets ``t h``).
    units : {"nats", "bits"}
        Units of rates.
    method : {"auto", "fft", "direct"}
        How the kernel sums are applied: FFT, banded direct sums, or by the kernel's
        band at each slope.

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> x = np.linspace(-6, 6, 1201)
    >>> src = rdc.GridSource(x, np.exp(-x**2 / 2), "squared")
    >>> res = src.solve(D=0.25)
    >>> bool(abs(res.rate - 0.5 * np.log(1 / 0.25)) < 1e-3), res.certificate.gap < 1e-6
    (True, True)
    """

    def __init__(self, points, weights, distortion="squared", units: str = "nats",
                 method: str = "auto"):
        self._units = Units(units)
        x = as_float_array(points, "points", InvalidArgumentError)
        w = as_float_array(weights, "weights", InvalidDistributionError)
        self.points, n = _check_points(x), x.size
        if w.shape != x.shape:
            raise InvalidDistributionError(
                f"weights has shape {w.shape} but points has shape {x.shape}; give one "
                "weight per grid point.")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise InvalidDistributionError(
                "weights must be finite and >= 0 with a positive sum (a negative, NaN or "
                "all-zero weight was given).")
        if method not in ("auto", "fft", "direct"):
            raise InvalidArgumentError(f"method={method!r}: use 'auto', 'fft' or 'direct'.")
        self.h = float((x[-1] - x[0]) / (n - 1))
        F = _offset_values(distortion, np.arange(-(n - 1), n) * self.h)
        self.F, self.method, self.distortion = F, method, distortion
        self._data = _data(w, F)
        self._ba = GridBA(self._data.p, self._data.G, G_rel=self._data.G_rel, method=method,
                          symmetric=bool(np.array_equal(F, F[::-1])))
        self._D_max, self._best = _constant_output(self._data, F)
        self._D_min = _smallest_float_above(self._data.d_min)

    # ------------------------------------------------------------- properties
    @property
    def n(self) -> int:
        """Number of grid points."""
        return self.points.size

    @property
    def units(self) -> str:
        return self._units.name

    @property
    def p_x(self) -> np.ndarray:
        """The pmf (float64; the exact pmf is ``weights / sum(weights)``)."""
        return self._data.p

    @property
    def D_min(self) -> float:
        """The smallest float ``>= sum_i p_i min_j d_ij`` (0 for squared and absolute)."""
        return self._D_min

    @property
    def D_max(self) -> float:
        """A proven upper end of the distortion of the best constant output (``R = 0``
        from there on)."""
        return self._D_max

    def __repr__(self) -> str:
        name = self.distortion if isinstance(self.distortion, str) else "callable"
        return (f"GridSource(n={self.n}, h={self.h:.6g}, distortion={name!r}, "
                f"units={self.units!r}, D_min={self.D_min:.6g}, D_max={self.D_max:.6g})")

    # ------------------------------------------------------------------ solve
    def solve(self, D=None, *, slope=None, tol: float | None = None,
              max_iter: int | None = None, warm_start=None, solver: str | None = None,
              solver_options: dict | None = None) -> GridResult:
        """Solve ``R(D)`` (or the curve point at ``slope``) and certify it.

        Parameters
        ----------
        D : float
            Target distortion, ``> D_min`` (``>= D_max`` returns rate 0 at once).
        slope : float
            Instead of ``D``: the point where ``-dR/dD = slope > 0``.
        tol : float, optional
            Stopping tolerance of each slope solve (default 1e-9 nats) and the gap the
            status ``"optimal"`` requires (default 1e-6 nats).
        max_iter : int, optional
            Blahut–Arimoto maps per slope (default 5000).
        warm_start : Result, optional
            A previous result of this source (its slope and output pmf).
        solver, solver_options :
            Accepted for :meth:`curve` compatibility: ``None``/``"ba"``/``"grid"`` only.

        Returns
        -------
        GridResult
            ``channel`` is ``None`` (see :meth:`channel_rows`); ``mixture`` records the
            slopes and weights of the certified channel.
        """
        if solver not in (None, "auto", "ba", "grid"):
            raise InvalidArgumentError(f"solver={solver!r}: a GridSource is solved by its own "
                                       "Blahut–Arimoto ('ba').")
        check_iteration_args(tol, max_iter)
        one_target(D, slope)
        ba_tol = DEFAULT_TOL if tol is None else max(float(tol), 1e-15)
        cap = DEFAULT_MAX_ITER if max_iter is None else int(max_iter)
        slope0, q0 = _warm(warm_start, self.n)
        slope0 = None if slope0 is None else self._units.slope_in(slope0)
        started = time.perf_counter()
        if slope is not None:
            s = self._units.slope_in(slope)
            if s == 0.0:
                return self._rate_zero(None, started, tol)
            point = self._ba.solve_slope(s, q0, tol=ba_tol, max_iter=cap)
            bounds = point_bounds(self._data, point.kernels, point.q)
            self._last_bounds = bounds  # read by the envelope (grid_curve)
            D_int = upper_end(flint.arb(bounds.E_hi) + flint.arb(self._data.F_min))
            tried = [(point, bounds)]
        else:
            D_int = self._units.D_in(D)
            self._check_D(D_int)
            if D_int >= self._D_max:
                return self._rate_zero(D_int, started, tol)
            target = max(float((self._data.excess(D_int)).mid()), 0.0)
            low, high, points = self._ba.solve_distortion(
                target, tol=ba_tol, max_iter=cap, slope0=slope0, q0=q0)
            chosen = [pt for pt in (high, low) if pt is not None]
            tried = [(pt, point_bounds(self._data, pt.kernels, pt.q)) for pt in chosen]
        cert = certify_at(self._data, [b for _, b in tried], D_int)
        return self._result(cert, tried, D_int, started, tol)

    def _check_D(self, D: float) -> None:
        with flint.ctx.workprec(PRECISION):
            below = flint.arb(D) < self._data.d_min
            at = not (flint.arb(D) > self._data.d_min)
        if below:
            raise InfeasibleDistortionError(
                f"D={self._units.D_out(D)!r} is below D_min={self.D_min:.10g} for this grid "
                "source: no channel has so small an expected distortion. Use D > D_min.")
        if at:
            raise InvalidArgumentError(
                f"D={D!r} is D_min (or within rounding of it): the grid solver needs "
                "D > D_min (the curve's slope is infinite there).")

    def _result(self, cert, tried, D_int, started, tol) -> GridResult:
        iterations = sum(pt.iterations for pt, _ in tried)
        converged = all(pt.converged for pt, _ in tried)
        gap = cert.upper - cert.lower
        status = honest_status(Status.OPTIMAL if converged else Status.MAX_ITERATIONS,
                               gap, tol)
        message = (f"grid Blahut–Arimoto ({tried[0][0].kernels.method}), "
                   f"{len(tried)} slope(s) certified")
        if not status.is_exact:
            warnings.warn(f"grid: the answer is certified but its gap {gap:.2e} nats exceeds "
                          f"the tolerance {DEFAULT_GAP_TOL if tol is None else tol:.1e} "
                          f"(status {status.value}).", InaccurateSolutionWarning, stacklevel=3)
        weights = dict(cert.mixture)
        output = np.zeros(self.n)
        for point, _ in tried:
            share = weights.get(point.slope, 0.0)
            if share:
                output += share * point.q * point.c
        output /= output.sum() if output.sum() > 0 else 1.0
        return self._make(cert.lower, cert.upper, cert.distortion, cert.slope, output,
                          status, iterations, started, D_int, message,
                          tuple((float(s), float(t)) for s, t in cert.mixture),
                          max(b.tail_rows for _, b in tried))

    def _make(self, lower, upper, distortion, slope, output, status, iterations, started,
              D_int, message, mixture, tail_rows) -> GridResult:
        if self._units.rate_scale != 1.0:
            lower, upper = in_bits(lower, upper)
        certificate = Certificate(upper=upper, lower=lower, units=self.units)
        return GridResult(rate=upper, distortion=distortion, slope=self._units.slope_out(slope),
                          channel=None, output_pmf=output, status=status, solver="ba",
                          iterations=iterations, solve_time=time.perf_counter() - started,
                          certificate=certificate, D=self._units.D_out(D_int),
                          units=self.units, message=message, mixture=mixture,
                          tail_rows=tail_rows)

    def _rate_zero(self, D_int, started, tol) -> GridResult:
        output = np.zeros(self.n)
        output[self._best] = 1.0
        D_int = self._D_max if D_int is None else D_int
        return self._make(0.0, 0.0, self._D_max, 0.0, output, Status.OPTIMAL, 0, started,
                          D_int, "D >= D_max: the constant output attains rate 0",
                          ((0.0, 1.0),), 0)

    # ------------------------------------------------------------- channel
    def channel_rows(self, result: GridResult, rows) -> np.ndarray:
        """Rows ``rows`` of the certified channel's Blahut–Arimoto part (float, each
        O(n)): ``sum_s weight_s q_s(j) exp(-s d_ij) / Z_i`` with ``q_s`` re-solved at
        each slope of ``result.mixture`` from ``result.output_pmf``."""
        rows = np.atleast_1d(np.asarray(rows, dtype=int))
        out = np.zeros((rows.size, self.n))
        for s, weight in result.mixture:
            q = self._ba.solve_slope(s, result.output_pmf).q if s > 0 else result.output_pmf
            for k, i in enumerate(rows):
                row = q * np.exp(-s * self._data.G[i - np.arange(self.n) + self.n - 1])
                out[k] += weight * row / row.sum()
        return out

    # ------------------------------------------------------ curve, envelope
    def curve(self, num: int | None = None, *, D=None, tol=None, max_iter=None,
              progress: bool = False):
        """The certified curve at ``num`` points from just above ``D_min`` to ``D_max``
        (or at ``D``), warm-started point to point (:mod:`rdconvex.problems.curve`)."""
        from .grid_curve import grid_curve

        return grid_curve(self, num, D, tol=tol, max_iter=max_iter, progress=progress)

    def envelope(self, eps: float = 1e-4, *, tol=None, max_iter=None,
                 max_solves: int = 200):
        """A certified :class:`~rdconvex.problems.envelope.Band` around the whole curve
        with ``upper - lower <= eps`` (rate units) wherever the band is defined
        (:mod:`rdconvex.problems.grid_curve`)."""
        from .grid_curve import grid_envelope

        return grid_envelope(self, eps, tol=tol, max_iter=max_iter, max_solves=max_solves)


def _check_points(x: np.ndarray) -> np.ndarray:
    if x.ndim != 1 or x.size < 2:
        raise InvalidArgumentError(f"points must be a 1-D array of at least 2 grid points, "
                                   f"got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise InvalidArgumentError("points contains NaN or inf.")
    steps = np.diff(x)
    h = (x[-1] - x[0]) / (x.size - 1)
    if not h > 0 or np.any(np.abs(steps - h) > SPACING_TOL * h):
        worst = int(np.argmax(np.abs(steps - h))) if h > 0 else 0
        raise InvalidArgumentError(
            f"points must be increasing and uniformly spaced (to {SPACING_TOL:g} relative); "
            f"step {worst} is {steps[worst]!r}, the mean step {h!r}. Use "
            "rdc.RateDistortion for a general alphabet.")
    return x


def _offset_values(distortion, offsets: np.ndarray) -> np.ndarray:
    if isinstance(distortion, str):
        if distortion == "squared":
            return offsets * offsets
        if distortion == "absolute":
            return np.abs(offsets)
        raise InvalidDistortionError(f"distortion={distortion!r}: use 'squared', 'absolute' "
                                     "or a callable f(offsets) -> values >= 0.")
    if not callable(distortion):
        raise InvalidDistortionError("distortion must be 'squared', 'absolute' or a callable.")
    values = as_float_array(distortion(offsets.copy()), "distortion(offsets)",
                            InvalidDistortionError)
    if values.shape != offsets.shape:
        raise InvalidDistortionError(
            f"distortion(offsets) returned shape {values.shape}; it must return one value "
            f"per offset, shape {offsets.shape}.")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InvalidDistortionError("distortion(offsets) returned a negative, NaN or "
                                     "infinite value; distortions must be finite and >= 0.")
    return values


def _data(w: np.ndarray, F: np.ndarray) -> GridData:
    n = w.size
    F_min = float(F.min())
    G = F - F_min  # one rounding: relative error <= u (exact when F_min = 0)
    # Row minima r_i = min_{t in [i-n+1, i]} F_t: a sliding window over the offsets.
    r = minimum_filter1d(F, size=n, mode="nearest", origin=-(n // 2))[:n] if n > 1 else F
    with flint.ctx.workprec(PRECISION):
        total = arb_dot(w, np.ones(n))
        inv_total = 1 / total
        d_min = arb_dot(w, r) * inv_total
    return GridData(w, w / w.sum(), G, 0.0 if F_min == 0.0 else U, F_min, inv_total, d_min)


def _constant_output(data: GridData, F: np.ndarray) -> tuple[float, int]:
    """``(D_max, j)``: the best constant output (float search) and a proven upper end
    of its distortion."""
    n = data.w.size
    means = FFTKernel(F[::-1]).apply(data.p)  # sum_i p_i F_{i-j}
    best = int(np.argmin(means))
    with flint.ctx.workprec(PRECISION):
        value = arb_dot(data.w, F[np.arange(n) - best + n - 1]) * data.inv_total
    return upper_end(value), best


def _smallest_float_above(ball) -> float:
    value = upper_end(ball)
    return 0.0 if ball == 0 else value


def _warm(warm_start, n: int):
    if warm_start is None:
        return None, None
    slope = getattr(warm_start, "slope", None)
    q = getattr(warm_start, "output_pmf", None)
    q = None if q is None or np.size(q) != n else np.asarray(q, float)
    slope = float(slope) if slope is not None and math.isfinite(slope) and slope > 0 else None
    return slope, q
