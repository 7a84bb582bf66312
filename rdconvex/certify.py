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

is feasible for the dual, so ``sum_x p_x g_x - s D`` is a lower bound. The kernel is
shifted per row, :math:`e^{-s(d(x,y) - \min_{y'} d(x,y'))}` (row maximum 1), so large
slopes (``1e4`` and more) do not underflow; a row whose sum would still underflow (``q``
vanishing near its best outputs) is computed in log space (``logsumexp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from .atoms import channel_mutual_information, expected_distortion
from .results import Certificate

#: Relative size of float64 rounding in the bound computations.
ROUNDING = 1e-12
#: Shifted-kernel entries below this (the row maximum is 1) are flushed to 0: they cannot
#: move a sum by more than m * 1e-300, and subnormal numbers make BLAS slow.
FLUSH = 1e-300
#: A shifted row sum below this is recomputed in log space.
UNDERFLOW = 1e-200


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
    sums = W.sum(axis=1, keepdims=True)
    if np.all(sums > 0):
        W /= sums
        fallback = None
    else:
        fallback = min_distortion_channel(d)
        W = _normalise_rows(W, fallback)
    distortion = expected_distortion(p, W, d)
    if D is None or distortion <= D:
        return W, distortion
    if fallback is None:
        fallback = min_distortion_channel(d)
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


class ShiftedKernel(NamedTuple):
    """``K = exp(-s (d - min_y d))`` per row (maximum 1, zero on forbidden pairs, entries
    below ``FLUSH`` flushed), the row shifts ``-s min_y d`` and the row minima."""

    K: np.ndarray | None
    shift: np.ndarray
    row_min: np.ndarray


def shifted_kernel(d: np.ndarray, slope: float) -> ShiftedKernel:
    """The row-shifted kernel at ``slope`` (``K`` is None if a row allows no output)."""
    row_min = np.where(np.isfinite(d), d, np.inf).min(axis=1)
    shift = -slope * row_min
    if not np.all(np.isfinite(row_min)):
        return ShiftedKernel(None, shift, row_min)
    K = np.exp(log_kernel(d, slope) - shift[:, None])
    K[K < FLUSH] = 0.0
    return ShiftedKernel(K, shift, row_min)


def _normalised(q, m: int) -> np.ndarray:
    q = np.clip(np.asarray(q, dtype=float), 0.0, None)
    total = q.sum()
    return q / total if total > 0 else np.full(m, 1.0 / m)


def _lower_bound_log(p, d, D, slope, q, row_min) -> float:
    """The bound entirely in log space (any ``q``, any slope)."""
    log_p = np.log(p)
    # Shift each row by s min_y d (the bound's s D_min - s D then never cancels two
    # large numbers at large slopes).
    row_min = np.where(np.isfinite(row_min), row_min, 0.0)
    kernel = log_kernel(d, slope) + slope * row_min[:, None]
    log_c = -logsumexp(safe_log(q)[None, :] + kernel, axis=1)
    if not np.all(np.isfinite(log_c)):
        # q vanishes on every allowed output of some x: mix in a little uniform mass.
        q = (1.0 - 1e-12) * q + 1e-12 / q.size
        log_c = -logsumexp(np.log(q)[None, :] + kernel, axis=1)
    log_M = np.max(logsumexp((log_p + log_c)[:, None] + kernel, axis=0))
    return float(p @ log_c - log_M + slope * (p @ row_min - D))


def _lower_bound_kernel(p, d, D, slope, q, kernel) -> float:
    K, _, row_min = kernel
    Z = K @ q if K is not None else None
    if Z is None or not np.all(Z > UNDERFLOW):
        return _lower_bound_log(p, d, D, slope, q, row_min)
    # With Z_x = sum_y q_y K_xy: log c_x = -log Z_x + s min_y d(x, y) and
    # M_y = sum_x p_x K_xy / Z_x (no overflow: K <= 1, Z > UNDERFLOW).
    M = float(np.max(K.T @ (p / Z)))
    return float(-(p @ np.log(Z)) - np.log(M) + slope * (p @ row_min - D))


def lower_bound(p: np.ndarray, d: np.ndarray, D: float, slope: float, q) -> float:
    """Csiszár's dual lower bound on ``R(D)`` at slope ``s`` from output pmf ``q``."""
    return lower_bounds(p, d, D, slope, [q])[0]


def lower_bounds(p: np.ndarray, d: np.ndarray, D: float, slope: float, qs,
                 kernel=None) -> list[float]:
    """:func:`lower_bound` for several output pmfs at one slope (one kernel)."""
    kernel = shifted_kernel(d, slope) if kernel is None else kernel
    return [_lower_bound_kernel(p, d, D, slope, _normalised(q, d.shape[1]), kernel)
            for q in qs]


def ba_step(p: np.ndarray, d: np.ndarray, slope: float, q, kernel=None) -> np.ndarray:
    """One Blahut–Arimoto update ``q <- q * c(q)`` of the output pmf at slope ``s``."""
    K = (shifted_kernel(d, slope) if kernel is None else kernel).K
    q = _normalised(q, d.shape[1])
    Z = K @ q if K is not None else None
    if Z is not None and np.all(Z > UNDERFLOW):
        new = q * (K.T @ (p / Z))
        return new / new.sum()
    log_k = log_kernel(d, slope)
    log_q = safe_log(q)
    log_c = -logsumexp(log_q[None, :] + log_k, axis=1)
    log_new = log_q + logsumexp((np.log(p) + log_c)[:, None] + log_k, axis=0)
    return np.exp(log_new - logsumexp(log_new))


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


# --------------------------------------------------------------------------- verify

#: Default tolerance (in the problem's rate units) within which a claimed rate counts
#: as consistent with the certified bounds or with a channel's achieved rate.
VERIFY_TOL = 1e-6
#: A claimed channel's rows may miss 1 by this much (rounded numbers in a file); they are
#: renormalised before its rate and distortion are computed.
ROW_SUM_TOL = 1e-6
#: A claimed channel may exceed the budget D by this relative amount (float rounding).
DISTORTION_TOL = 1e-9


@dataclass(frozen=True)
class Verification:
    """The verdict on an outside claim about ``R(D)`` (see :func:`verify`).

    Attributes
    ----------
    verdict : {"accepted", "rejected"}
    reason : str
        Why, in words (what was checked, what failed).
    D : float or ndarray
        The distortion(s) of the claim.
    lower, upper : float or ndarray
        Certified bounds ``lower <= R(D) <= upper`` from a solve (``inf`` below
        ``D_min``).
    claimed_rate : float, ndarray or None
    channel_valid : bool or None
        For a channel claim: whether it is a stochastic matrix of the right shape.
    achieved_rate, achieved_distortion : float or None
        For a valid channel: its mutual information and expected distortion.
    tol : float
        Tolerance on rates used for the verdict (problem units).
    units : str
    points : tuple of Verification
        For a curve claim: the verdict at each point.
    """

    verdict: str
    reason: str
    D: object
    lower: object
    upper: object
    claimed_rate: object = None
    channel_valid: bool | None = None
    achieved_rate: float | None = None
    achieved_distortion: float | None = None
    tol: float = VERIFY_TOL
    units: str = "nats"
    points: tuple = ()

    @property
    def valid(self) -> bool:
        """``True`` when the claim is accepted."""
        return self.verdict == "accepted"

    def __str__(self) -> str:
        lines = [f"{self.verdict}: {self.reason}"]
        if self.points:
            for point in self.points:
                lines.append(f"  D={point.D:.10g}: {point.verdict}: {point.reason}")
            return "\n".join(lines)
        if self.achieved_rate is not None:
            lines.append(f"  channel: rate {self.achieved_rate:.10g} {self.units}, distortion "
                         f"{self.achieved_distortion:.10g}")
        if self.claimed_rate is not None:
            lines.append(f"  claimed rate: {self.claimed_rate:.10g} {self.units}")
        lines.append(f"  certified: {self.lower:.10g} <= R({self.D:.10g}) <= {self.upper:.10g} "
                     f"{self.units} (tolerance {self.tol:.1e})")
        return "\n".join(lines)


def _claimed_channel(problem, channel):
    """``(W, None)`` for a valid channel (rows renormalised), ``(None, reason)`` if not."""
    if isinstance(channel, (str, bytes)):
        return None, f"channel is the string {channel!r}, not a matrix of probabilities"
    try:
        W = np.array(channel, dtype=float)
    except (TypeError, ValueError) as exc:
        return None, f"channel is not a numeric matrix ({exc})"
    expected = (problem.n, problem.m)
    if W.shape != expected:
        return None, (f"channel has shape {W.shape}, expected {expected} (rows = source "
                      "symbols, columns = outputs)")
    if not np.all(np.isfinite(W)):
        i, j = np.argwhere(~np.isfinite(W))[0]
        return None, f"channel[{i}, {j}] = {W[i, j]!r} is not a finite probability"
    if np.any(W < 0):
        i, j = np.argwhere(W < 0)[0]
        return None, f"channel[{i}, {j}] = {W[i, j]!r} is negative"
    sums = W.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOL)
    if bad.size:
        return None, (f"row {int(bad[0])} of the channel sums to {sums[bad[0]]!r}, not 1 "
                      f"(tolerance {ROW_SUM_TOL:g}); each row must be a distribution")
    return W / sums[:, None], None


def _bounds(problem, D, solve_options):
    """Certified ``(lower, upper)`` on R(D) in problem units; ``inf`` below D_min."""
    from .errors import InfeasibleDistortionError

    try:
        result = problem.solve(D=D, **solve_options)
    except InfeasibleDistortionError:
        return math.inf, math.inf
    return result.certificate.lower, result.certificate.upper


def _rate_verdict(D, rate, lower, upper, tol, units, D_min):
    if not math.isfinite(rate):
        return "rejected", f"the claimed rate {rate!r} is not a finite number"
    if not math.isfinite(lower):
        return "rejected", (f"D={D:.10g} is below D_min={D_min:.10g}: no channel attains it, "
                            "R(D) is infinite")
    if rate < lower - tol:
        return "rejected", (f"the claimed rate {rate:.10g} is below the certified lower bound "
                            f"{lower:.10g} {units} by more than {tol:.1e}: no channel with "
                            f"distortion <= {D:.10g} has so small a rate")
    if rate > upper + tol:
        return "rejected", (f"the claimed rate {rate:.10g} is above the certified upper bound "
                            f"{upper:.10g} {units} by more than {tol:.1e}: a channel with "
                            f"distortion <= {D:.10g} achieves {upper:.10g}, so R(D) is smaller")
    return "accepted", (f"the claimed rate {rate:.10g} lies within the certified bounds "
                        f"[{lower:.10g}, {upper:.10g}] {units} (tolerance {tol:.1e})")


def verify(problem, D=None, *, channel=None, rate=None, curve=None, tol: float = VERIFY_TOL,
           solver: str = "ba", **solve_options) -> Verification:
    r"""Check an outside claim about ``R(D)`` against certified bounds.

    Three kinds of claim:

    - ``channel=W`` (optionally with ``rate=r``): ``W`` must be an ``n x m``
      stochastic matrix (rows summing to 1 within ``ROW_SUM_TOL``) with expected
      distortion :math:`\sum_x p_x W(y|x) d(x,y) \le D` (within ``DISTORTION_TOL``
      relative); a claimed ``r`` must equal its mutual information within ``tol``.
      The channel's rate is always an upper bound on ``R(D)``; the certified bounds
      from a solve are reported next to it.
    - ``rate=r``: a claim of the value :math:`R(D) = r`. Accepted when
      ``lower - tol <= r <= upper + tol`` for the certified bounds of a solve at ``D``
      (so a rate below what any channel can achieve, or above what a certified channel
      achieves, is rejected).
    - ``curve=(D_values, rates)``: every point checked as a rate claim (solved as one
      warm-started :meth:`~rdconvex.RateDistortion.curve`); accepted when every point is.

    An invalid claim is *reported* (verdict ``"rejected"`` with the reason), never
    raised; malformed arguments (a non-numeric ``D``, no claim, mismatched curve
    arrays) raise :class:`~rdconvex.errors.InvalidArgumentError`.

    Parameters
    ----------
    problem : RateDistortion
        The problem (or a subclass such as ``LogLikelihood``); units are its units.
    D : float
        The distortion budget of a channel or rate claim.
    channel, rate, curve :
        The claim (see above).
    tol : float
        Tolerance on rates, in the problem's units (default ``1e-6``).
    solver : str
        Solver for the certified bounds (default ``"ba"``).
    **solve_options
        Passed to :meth:`~rdconvex.RateDistortion.solve` for the bounds, e.g.
        ``max_iter`` or ``solver_options`` (``tol`` here is the claim's tolerance).

    Returns
    -------
    Verification

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> prob = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    >>> rdc.verify(prob, D=0.1, rate=0.2857813).verdict
    'accepted'
    >>> rdc.verify(prob, D=0.1, rate=0.25).valid
    False
    """
    from ._validation import check_scalar
    from .errors import InvalidArgumentError

    if not (hasattr(problem, "solve") and hasattr(problem, "p_x") and hasattr(problem, "d")):
        raise InvalidArgumentError(f"problem must be a RateDistortion (or subclass), got "
                                   f"{type(problem).__name__}.")
    tol = check_scalar(tol, "tol", minimum=0.0)
    options = {"solver": solver, **solve_options}
    if curve is not None:
        if D is not None or channel is not None or rate is not None:
            raise InvalidArgumentError("give curve=(D_values, rates) alone, without D, rate "
                                       "or channel.")
        return _verify_curve(problem, curve, tol, options)
    if D is None:
        raise InvalidArgumentError("give the distortion budget D of the claim.")
    D = check_scalar(D, "D")
    if channel is None and rate is None:
        raise InvalidArgumentError("nothing to verify: give channel=..., rate=... or "
                                   "curve=(D_values, rates).")
    if rate is not None:
        rate = check_scalar(rate, "rate", allow_inf=True)
    lower, upper = _bounds(problem, D, options)
    common = dict(D=D, lower=lower, upper=upper, claimed_rate=rate, tol=tol,
                  units=problem.units)
    if channel is None:
        verdict, reason = _rate_verdict(D, rate, lower, upper, tol, problem.units,
                                        problem.D_min)
        return Verification(verdict, reason, **common)

    W, invalid_reason = _claimed_channel(problem, channel)
    if W is None:
        return Verification("rejected", f"invalid channel: {invalid_reason}",
                            channel_valid=False, **common)
    rows = problem.p_x > 0
    forbidden = rows[:, None] & (W > 0) & ~np.isfinite(problem.d)
    if forbidden.any():
        i, j = np.argwhere(forbidden)[0]
        return Verification("rejected", f"the channel puts mass {W[i, j]:.3g} on the forbidden "
                            f"pair (x={i}, y={j}) (d = inf), so its distortion is infinite",
                            channel_valid=True, achieved_distortion=math.inf, **common)
    achieved_rate = channel_mutual_information(problem.p_x, W) * problem._rate_scale
    achieved_distortion = problem._D_out(expected_distortion(problem.p_x, W, problem.d))
    common.update(channel_valid=True, achieved_rate=achieved_rate,
                  achieved_distortion=achieved_distortion)
    if achieved_distortion > D + DISTORTION_TOL * max(1.0, abs(D)):
        return Verification("rejected", f"over budget: the channel's distortion "
                            f"{achieved_distortion:.10g} exceeds D={D:.10g}", **common)
    if rate is not None and abs(rate - achieved_rate) > tol:
        return Verification("rejected", f"the claimed rate {rate:.10g} differs from the "
                            f"channel's mutual information {achieved_rate:.10g} "
                            f"{problem.units} by more than {tol:.1e}", **common)
    if achieved_rate < lower - tol:  # cannot happen for a feasible channel: rounding guard
        return Verification("rejected", f"the channel's rate {achieved_rate:.10g} is below the "
                            f"certified lower bound {lower:.10g}", **common)
    excess = achieved_rate - lower
    return Verification("accepted", f"a valid channel with distortion {achieved_distortion:.10g}"
                        f" <= D={D:.10g} and rate {achieved_rate:.10g} {problem.units} "
                        f"({excess:.2e} above the certified lower bound on R(D))"
                        + ("" if rate is None else "; the claimed rate matches it"), **common)


def _verify_curve(problem, curve, tol, options) -> Verification:
    from .errors import InvalidArgumentError

    try:
        D_values, rates = curve
        D_values = np.array(D_values, dtype=float).ravel()
        rates = np.array(rates, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InvalidArgumentError("curve must be a pair (D_values, rates) of equal-length "
                                   "numeric arrays.") from None
    if D_values.size != rates.size or D_values.size == 0:
        raise InvalidArgumentError(f"curve has {D_values.size} distortions and {rates.size} "
                                   "rates; give equally many (at least one).")
    if not np.all(np.isfinite(D_values)):
        raise InvalidArgumentError("curve distortions must be finite numbers.")
    lower = np.full(D_values.size, math.inf)
    upper = np.full(D_values.size, math.inf)
    feasible = D_values >= problem.D_min - 1e-12 * max(1.0, abs(problem.D_min))
    if feasible.any():
        solved = problem.curve(D=D_values[feasible], **options)
        order = np.argsort(D_values[feasible], kind="stable")
        lower[np.flatnonzero(feasible)[order]] = solved.lower
        upper[np.flatnonzero(feasible)[order]] = solved.upper
    points = []
    for D, rate, lo, up in zip(D_values, rates, lower, upper):
        verdict, reason = _rate_verdict(float(D), float(rate), lo, up, tol, problem.units,
                                        problem.D_min)
        points.append(Verification(verdict, reason, D=float(D), lower=float(lo),
                                   upper=float(up), claimed_rate=float(rate), tol=tol,
                                   units=problem.units))
    rejected = [pt for pt in points if not pt.valid]
    if rejected:
        verdict = "rejected"
        reason = (f"{len(rejected)} of {len(points)} points rejected (first at "
                  f"D={rejected[0].D:.10g}: {rejected[0].reason})")
    else:
        verdict = "accepted"
        reason = (f"all {len(points)} claimed rates lie within the certified bounds "
                  f"(tolerance {tol:.1e} {problem.units})")
    return Verification(verdict, reason, D=D_values, lower=lower, upper=upper,
                        claimed_rate=rates, tol=tol, units=problem.units, points=tuple(points))
