r"""Verification of outside claims about a rate–distortion quantity (above the problems).

A claim — a rate, a channel, or a curve — is checked against the certified bounds of
a solve of the same problem (any family: :class:`~rdconvex.RateDistortion`,
:class:`~rdconvex.LogLikelihood`, :class:`~rdconvex.RateDistortionPerception` with its
``Gamma``), and a channel additionally against its own rate and distortion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validation import check_scalar
from .atoms import channel_mutual_information
from .errors import InfeasibleDistortionError, InvalidArgumentError

#: Default tolerance (in the problem's rate units) within which a claimed rate counts
#: as consistent with the certified bounds or with a channel's achieved rate.
VERIFY_TOL = 1e-6
#: A claimed channel's rows may miss 1 by this much (rounded numbers in a file); they are
#: renormalised before its rate and distortion are computed.
ROW_SUM_TOL = 1e-6
#: A claimed channel may exceed the budget D by this fraction of the problem's own
#: distortion scale (``D_max - D_min``, or the smallest positive excess distortion when
#: ``D_max`` is infinite): rounding in a file, never an absolute amount.
DISTORTION_TOL = 1e-9


def distortion_scale(problem) -> float:
    """The problem's own distortion scale (problem units): ``D_max - D_min``, or the
    smallest positive ``d(x,y) - min_y' d(x,y')`` when ``D_max`` is infinite."""
    if math.isfinite(problem.D_max) and problem.D_max > problem.D_min:
        return problem.D_max - problem.D_min
    excess = problem.source.exact.excess
    positive = excess[(excess > 0) & np.isfinite(excess)]
    scale = float(positive.min()) if positive.size else 1.0
    return problem._units.D_out(scale)


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
           solver: str | None = None, Gamma=None, **solve_options) -> Verification:
    r"""Check an outside claim about ``R(D)`` against certified bounds.

    Three kinds of claim:

    - ``channel=W`` (optionally with ``rate=r``): ``W`` must be an ``n x m``
      stochastic matrix (rows summing to 1 within ``ROW_SUM_TOL``) with expected
      distortion :math:`\sum_x p_x W(y|x) d(x,y) \le D` (within ``DISTORTION_TOL``
      times the problem's own distortion scale, :func:`distortion_scale`); a claimed ``r`` must equal its mutual information within ``tol``.
      The channel's rate is always an upper bound on ``R(D)``; the certified bounds
      from a solve are reported next to it.
    - ``rate=r``: a claim of the value :math:`R(D) = r`. Accepted when
      ``lower - tol <= r <= upper + tol`` for the certified bounds of a solve at ``D``
      (so a rate below what any channel can achieve, or above what a certified channel
      achieves, is rejected).
    - ``curve=(D_values, rates)``: every point checked as a rate claim against one
      certified envelope of the whole curve with gap ``<= tol``
      (:meth:`~rdconvex.RateDistortion.envelope`; for perception problems a warm-started
      curve at the claimed distortions); accepted when every point is.

    An invalid claim is *reported* (verdict ``"rejected"`` with the reason), never
    raised; malformed arguments (a non-numeric ``D``, no claim, mismatched curve
    arrays) raise :class:`~rdconvex.errors.InvalidArgumentError`.

    Parameters
    ----------
    problem : RateDistortion, LogLikelihood or RateDistortionPerception
        The problem; units are its units.
    D : float
        The distortion budget of a channel or rate claim.
    channel, rate, curve :
        The claim (see above).
    tol : float
        Tolerance on rates, in the problem's units (default ``1e-6``).
    solver : str, optional
        Solver for the certified bounds (default: the problem's default solver, see
        :data:`rdconvex.solvers.DEFAULTS`).
    Gamma : float, optional
        The perception budget of the claim (perception problems only, where it is
        required).
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
    if not (hasattr(problem, "solve") and hasattr(problem, "p_x") and hasattr(problem, "d")):
        raise InvalidArgumentError(f"problem must be a RateDistortion, LogLikelihood or "
                                   f"RateDistortionPerception, got {type(problem).__name__}.")
    tol = check_scalar(tol, "tol", minimum=0.0)
    options = {"solver": solver, **solve_options, **_perception_budget(problem, Gamma)}
    Gamma = options.get("Gamma")
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

    return _verify_channel(problem, channel, D, rate, Gamma, tol, lower, common)


def _verify_channel(problem, channel, D, rate, Gamma, tol, lower, common) -> Verification:
    """The verdict on a claimed channel (and its claimed rate, if any)."""
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
    units = problem._units
    achieved_rate = units.rate_out(channel_mutual_information(problem.p_x, W))
    # Compared on shifted data (d - row minima against D - D_min), so an offset in d
    # never swamps a small budget.
    source = problem.source
    excess = source.exact.excess
    W_rows = W[source.support]
    achieved_excess = float(source.p @ np.einsum(
        "ij,ij->i", W_rows, np.where(np.isfinite(excess), excess, 0.0)))
    budget_excess = float(source.exact.excess_of(units.D_in(D)).mid())
    achieved_distortion = units.D_out(source.D_min + achieved_excess)
    common.update(channel_valid=True, achieved_rate=achieved_rate,
                  achieved_distortion=achieved_distortion)
    slack = DISTORTION_TOL * units.D_in(distortion_scale(problem))
    if achieved_excess > budget_excess + slack:
        return Verification("rejected", f"over budget: the channel's distortion "
                            f"{achieved_distortion:.10g} exceeds D={D:.10g}", **common)
    if Gamma is not None:
        achieved_perception = problem.divergence_of(problem.p_x @ W)
        if achieved_perception > Gamma + DISTORTION_TOL * max(1.0, abs(Gamma)):
            return Verification("rejected", f"over the perception budget: the channel's "
                                f"output is at divergence {achieved_perception:.10g} from "
                                f"p_x, above Gamma={Gamma:.10g}", **common)
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


def _perception_budget(problem, Gamma) -> dict:
    """``{"Gamma": ...}`` for a perception problem (where it is required), else ``{}``."""
    if hasattr(problem, "divergence_of"):
        if Gamma is None:
            raise InvalidArgumentError("a perception problem's claim needs its budget: "
                                       "verify(problem, D=..., Gamma=..., ...).")
        return {"Gamma": check_scalar(Gamma, "Gamma", minimum=0.0)}
    if Gamma is not None:
        raise InvalidArgumentError(f"Gamma={Gamma!r} is a perception budget, but this "
                                   f"{type(problem).__name__} has no perception constraint; "
                                   "drop Gamma.")
    return {}


def _verify_curve(problem, curve, tol, options) -> Verification:
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
    exact = problem.source.exact
    feasible = np.array([exact.position(problem._units.D_in(float(D))) >= 0
                         for D in D_values])
    if feasible.any() and hasattr(problem, "envelope"):
        # One certified band valid at every D (eps = tol): no solve per claimed point.
        band_options = {k: v for k, v in options.items()
                        if k in ("solver", "max_iter", "solver_options")}
        band = problem.envelope(eps=max(tol, 1e-9), **band_options)
        lower[feasible] = band.lower(D_values[feasible])
        upper[feasible] = band.upper(D_values[feasible])
    elif feasible.any():
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
