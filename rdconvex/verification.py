r"""Verification of outside claims about a rate–distortion quantity (above the problems).

A claim — a rate, a channel, or a curve (a pair of arrays, an rdconvex ``Curve``, or
another tool's curve object such as dit's ``RDCurve``, duck-typed) — is checked against
the certified bounds of a solve of the same problem (any family:
:class:`~rdconvex.RateDistortion`, :class:`~rdconvex.LogLikelihood`,
:class:`~rdconvex.RateDistortionPerception` with its ``Gamma``), and a channel
additionally against its own rate and distortion. docs/verify.md shows every kind.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ._validation import UNITS, check_scalar, check_units
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
#: Envelopes kept for curve claims (a band depends only on the data and its options; an
#: envelope at eps = 1e-6 costs hundreds of solves, a second claim on it none).
ENVELOPE_CACHE = 8
_envelopes: OrderedDict = OrderedDict()


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
        Why, in words: what was checked, the certified interval, and by how much the
        claim misses it.
    D : float or ndarray
        The distortion(s) of the claim (problem units).
    lower, upper : float or ndarray
        Certified bounds ``lower <= R(D) <= upper`` from a solve (``inf`` below
        ``D_min``).
    claimed_rate : float, ndarray or None
        In the problem's units (converted from ``claim_units``).
    channel_valid : bool or None
        For a channel claim: whether it is a stochastic matrix of the right shape.
    achieved_rate, achieved_distortion : float or None
        For a valid channel: its mutual information and expected distortion.
    tol, rtol : float
        The claim is accepted within ``tol + rtol * |claimed rate|`` of the interval.
    units, claim_units : str
        The problem's units (of every number here), and the claim's when not those.
    points : tuple of Verification
        For a curve claim: the verdict at each point.
    miss : float, ndarray or None
        How far the claimed rate lies outside ``[lower, upper]`` (0 inside; ``inf``
        below ``D_min``); ``None`` for a channel claim.
    quantity, Gamma :
        ``"R(D)"``, ``"R_ll(D)"`` or ``"R(D, Gamma)"``, and the perception budget.
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
    rtol: float = 0.0
    miss: object = None
    quantity: str = "R(D)"
    Gamma: float | None = None
    claim_units: str | None = None

    @property
    def valid(self) -> bool:
        """``True`` when the claim is accepted."""
        return self.verdict == "accepted"

    def at(self, D) -> str:
        """The quantity at ``D`` as text, e.g. ``R(0.1)`` or ``R(0.1, 0)``."""
        value = f"{float(D):.10g}"
        if self.Gamma is not None:
            return f"{self.quantity.split('(')[0]}({value}, {self.Gamma:.10g})"
        return f"{self.quantity.split('(')[0]}({value})"

    def __str__(self) -> str:
        lines = [f"{self.verdict}: {self.reason}"]
        if self.claim_units:
            lines.append(f"  (the claim was given in {self.claim_units}, shown in {self.units})")
        if self.points:
            lines += [f"  D={point.D:.10g}: {point.verdict}: {point.reason}"
                      for point in self.points]
            return "\n".join(lines)
        if self.achieved_rate is not None:
            lines.append(f"  channel: rate {self.achieved_rate:.10g} {self.units}, distortion "
                         f"{self.achieved_distortion:.10g}")
        if self.claimed_rate is not None:
            lines.append(f"  claimed rate: {self.claimed_rate:.10g} {self.units}")
        lines.append(f"  certified: {self.lower:.10g} <= {self.at(self.D)} <= "
                     f"{self.upper:.10g} {self.units} (tolerance {self.tol:.1e} + "
                     f"{self.rtol:g} x |claim|)")
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


def _miss(rate: float, lower: float, upper: float) -> float:
    """How far ``rate`` lies outside ``[lower, upper]`` (0 inside)."""
    if not math.isfinite(lower):
        return math.inf
    return max(lower - rate, rate - upper, 0.0)


def _rate_verdict(D, rate, lower, upper, tol, rtol, units, D_min):
    """``(verdict, reason, miss)`` for the claim ``R(D) = rate``."""
    if not math.isfinite(rate):
        return "rejected", f"the claimed rate {rate!r} is not a finite number", math.inf
    if not math.isfinite(lower):
        return "rejected", (f"D={D:.10g} is below D_min={D_min:.10g}: no channel attains it, "
                            "R(D) is infinite"), math.inf
    allowed = tol + rtol * abs(rate)
    miss = _miss(rate, lower, upper)
    interval = f"[{lower:.10g}, {upper:.10g}] {units}"
    within = f"allowed {allowed:.3g} = tol {tol:.3g} + rtol {rtol:.3g} x |claim|"
    if rate < lower - allowed:
        return "rejected", (f"the claimed rate {rate:.10g} is below the certified lower bound "
                            f"of {interval} by {miss:.3g} ({within}): no channel with "
                            f"distortion <= {D:.10g} has so small a rate"), miss
    if rate > upper + allowed:
        return "rejected", (f"the claimed rate {rate:.10g} is above the certified upper bound "
                            f"of {interval} by {miss:.3g} ({within}): a channel with "
                            f"distortion <= {D:.10g} achieves {upper:.10g}, so R(D) is "
                            "smaller"), miss
    if miss == 0.0:
        return "accepted", (f"the claimed rate {rate:.10g} lies within the certified "
                            f"interval {interval}"), miss
    return "accepted", (f"the claimed rate {rate:.10g} misses the certified interval "
                        f"{interval} by {miss:.3g}, within the tolerance ({within})"), miss


def _claim_scales(problem, units) -> tuple[float, float]:
    """``(rate factor, D factor)`` taking a claim in ``units`` to the problem's units
    (distortions convert only for log-likelihood problems, whose D is a log-loss)."""
    if units is None or units == problem.units:
        return 1.0, 1.0
    factor = UNITS[problem.units] / UNITS[check_units(units)]
    return factor, (factor if hasattr(problem, "p_x_given_u") else 1.0)


def verify(problem, D=None, *, channel=None, rate=None, curve=None, tol: float = VERIFY_TOL,
           rtol: float = 0.0, units: str | None = None, solver: str | None = None,
           Gamma=None, **solve_options) -> Verification:
    r"""Check an outside claim about ``R(D)`` against certified bounds.

    Three kinds of claim:

    - ``channel=W`` (optionally with ``rate=r``): ``W`` must be an ``n x m``
      stochastic matrix (rows summing to 1 within ``ROW_SUM_TOL``) with expected
      distortion :math:`\sum_x p_x W(y|x) d(x,y) \le D` (within ``DISTORTION_TOL``
      times the problem's own distortion scale, :func:`distortion_scale`); a claimed
      ``r`` must equal its mutual information within ``tol + rtol |r|``. The channel's
      rate is always an upper bound on ``R(D)``; the certified bounds from a solve are
      reported next to it.
    - ``rate=r``: a claim of the value :math:`R(D) = r`. Accepted when

      .. math:: \mathrm{lower} - (\mathrm{tol} + \mathrm{rtol}\,|r|) \le r \le
                \mathrm{upper} + (\mathrm{tol} + \mathrm{rtol}\,|r|)

      for the certified bounds of a solve at ``D`` (so a rate below what any channel
      can achieve, or above what a certified channel achieves, is rejected); the
      verdict says by how much ``r`` misses ``[lower, upper]``.
    - ``curve=...``: every point checked as a rate claim against one certified
      envelope of the whole curve with gap at most the smallest allowance
      (:meth:`~rdconvex.RateDistortion.envelope`; for perception problems a
      warm-started curve at the claimed distortions); accepted when every point is.
      A curve is a pair ``(D_values, rates)``, a mapping with ``"D"`` and ``"rate"``,
      an rdconvex :class:`~rdconvex.results.Curve`, or, duck-typed, an object with
      ``distortions`` and ``rates`` (dit's ``RDCurve``; its rates are in bits), or
      a sequence of points with ``rate`` and ``distortion`` (dit's
      ``RateDistortionResult``).

    An invalid claim is *reported* (verdict ``"rejected"`` with the reason); malformed
    arguments raise :class:`~rdconvex.errors.InvalidArgumentError`.

    Parameters
    ----------
    problem : RateDistortion, LogLikelihood or RateDistortionPerception
        The problem.
    D : float
        The distortion budget of a channel or rate claim.
    channel, rate, curve :
        The claim (see above).
    tol, rtol : float
        Absolute and relative tolerance on rates: a claimed rate ``r`` may miss the
        certified interval by ``tol + rtol * |r|`` (default ``1e-6`` and ``0``; a
        rate printed to four digits verifies with ``rtol=1e-3``).
    units : {"nats", "bits"}, optional
        The units of the claim (default: the curve's own, e.g. bits for dit's objects,
        else the problem's); rates (and a log-likelihood problem's distortions) are
        converted to the problem's units, in which the verdict is given.
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
    >>> rdc.verify(prob, D=0.1, rate=0.2858, rtol=1e-3).valid   # four printed digits
    True
    """
    if not (hasattr(problem, "solve") and hasattr(problem, "p_x") and hasattr(problem, "d")):
        raise InvalidArgumentError(f"problem must be a RateDistortion, LogLikelihood or "
                                   f"RateDistortionPerception, got {type(problem).__name__}.")
    tol = check_scalar(tol, "tol", minimum=0.0)
    rtol = check_scalar(rtol, "rtol", minimum=0.0)
    options = {"solver": solver, **solve_options, **_perception_budget(problem, Gamma)}
    context = {"tol": tol, "rtol": rtol, "units": problem.units,
               "quantity": _quantity(problem), "Gamma": options.get("Gamma")}
    if curve is not None:
        if D is not None or channel is not None or rate is not None:
            raise InvalidArgumentError("give curve=(D_values, rates) alone, without D, rate "
                                       "or channel.")
        D_values, rates, own_units = curve_points(curve)
        units = units if units is not None else own_units
        return _verify_curve(problem, D_values, rates, options, context, units)
    if D is None:
        raise InvalidArgumentError("give the distortion budget D of the claim.")
    rate_scale, D_scale = _claim_scales(problem, units)
    D = check_scalar(D, "D") * D_scale
    if channel is None and rate is None:
        raise InvalidArgumentError("nothing to verify: give channel=..., rate=... or "
                                   "curve=(D_values, rates).")
    if rate is not None:
        rate = check_scalar(rate, "rate", allow_inf=True) * rate_scale
    lower, upper = _bounds(problem, D, options)
    context["claim_units"] = units if units not in (None, problem.units) else None
    common = dict(D=D, lower=lower, upper=upper, claimed_rate=rate, **context)
    if channel is None:
        verdict, reason, miss = _rate_verdict(D, rate, lower, upper, tol, rtol,
                                              problem.units, problem.D_min)
        return Verification(verdict, reason, miss=miss, **common)
    return _verify_channel(problem, channel, D, rate, lower, common)


def _quantity(problem) -> str:
    ll, rdp = hasattr(problem, "p_x_given_u"), hasattr(problem, "divergence_of")
    return "R_ll(D)" if ll else ("R(D, Gamma)" if rdp else "R(D)")


def _verify_channel(problem, channel, D, rate, lower, common) -> Verification:
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
                            f"{achieved_distortion:.10g} exceeds D={D:.10g} by "
                            f"{achieved_distortion - D:.3g}", **common)
    Gamma = common["Gamma"]
    if Gamma is not None:
        achieved_perception = problem.divergence_of(problem.p_x @ W)
        if achieved_perception > Gamma + DISTORTION_TOL * max(1.0, abs(Gamma)):
            return Verification("rejected", f"over the perception budget: the channel's "
                                f"output is at divergence {achieved_perception:.10g} from "
                                f"p_x, above Gamma={Gamma:.10g}", **common)
    allowed = common["tol"] + common["rtol"] * abs(rate if rate is not None else 0.0)
    if rate is not None and abs(rate - achieved_rate) > allowed:
        return Verification("rejected", f"the claimed rate {rate:.10g} differs from the "
                            f"channel's mutual information {achieved_rate:.10g} "
                            f"{problem.units} by {abs(rate - achieved_rate):.3g} (allowed "
                            f"{allowed:.3g})", **common)
    if achieved_rate < lower - common["tol"]:  # cannot happen for a feasible channel
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


def _is_dit(obj) -> bool:  # dit's rate-distortion objects are in bits
    return type(obj).__module__.split(".")[0] == "dit"


def curve_points(curve) -> tuple:
    """``(D_values, rates, units)`` of a curve claim, duck-typed (see :func:`verify`);
    ``units`` is the curve's own (``"bits"`` for dit's objects) or ``None``."""
    units = None
    if isinstance(curve, dict):
        if "D" not in curve or "rate" not in curve:
            raise InvalidArgumentError('a curve given as a mapping needs "D" and "rate".')
        pair, units = (curve["D"], curve["rate"]), curve.get("units")
    elif hasattr(curve, "D") and hasattr(curve, "rate"):            # rdconvex Curve
        pair, units = (curve.D, curve.rate), getattr(curve, "units", None)
    elif hasattr(curve, "distortions") and hasattr(curve, "rates"):  # dit RDCurve
        pair, units = (curve.distortions, curve.rates), ("bits" if _is_dit(curve) else None)
    elif hasattr(curve, "distortion") and hasattr(curve, "rate"):    # one point
        pair, units = ([curve.distortion], [curve.rate]), ("bits" if _is_dit(curve) else None)
    elif (isinstance(curve, (list, tuple)) and curve
          and all(hasattr(p, "distortion") and hasattr(p, "rate") for p in curve)):
        pair = ([p.distortion for p in curve], [p.rate for p in curve])
        units = "bits" if _is_dit(curve[0]) else None
    else:
        pair = curve
    try:
        D_values, rates = pair
        D_values = np.array(D_values, dtype=float).ravel()
        rates = np.array(rates, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InvalidArgumentError("curve must be a pair (D_values, rates) of equal-length "
                                   "numeric arrays, a Curve, or an object with distortions "
                                   "and rates (e.g. dit's RDCurve).") from None
    if D_values.size != rates.size or D_values.size == 0:
        raise InvalidArgumentError(f"curve has {D_values.size} distortions and {rates.size} "
                                   "rates; give equally many (at least one).")
    if not np.all(np.isfinite(D_values)):
        raise InvalidArgumentError("curve distortions must be finite numbers.")
    return D_values, rates, units


def _curve_bounds(problem, D_values, allowed, options):
    """Certified ``(lower, upper)`` arrays at ``D_values`` (``inf`` below D_min)."""
    lower, upper = np.full(D_values.size, math.inf), np.full(D_values.size, math.inf)
    exact = problem.source.exact
    feasible = np.array([exact.position(problem._units.D_in(float(D))) >= 0
                         for D in D_values])
    # R(D), R_ll(D): one envelope; perception problems: each point at its own Gamma.
    if feasible.any() and not hasattr(problem, "divergence_of"):
        # One certified band valid at every D, as tight as the smallest allowance: no
        # solve per claimed point.
        band_options = {k: v for k, v in options.items()
                        if k in ("solver", "max_iter", "solver_options")}
        band = _envelope(problem, max(float(np.min(allowed)), 1e-9), band_options)
        lower[feasible] = band.lower(D_values[feasible])
        upper[feasible] = band.upper(D_values[feasible])
    elif feasible.any():
        solved = problem.curve(D=D_values[feasible], **options)
        order = np.argsort(D_values[feasible], kind="stable")
        lower[np.flatnonzero(feasible)[order]] = solved.lower
        upper[np.flatnonzero(feasible)[order]] = solved.upper
    return lower, upper


def _envelope(problem, eps: float, options: dict):
    """``problem.envelope(eps, **options)``, remembered for the same data and options."""
    data = problem.p_x_given_u if hasattr(problem, "p_x_given_u") else problem.d
    digest = hashlib.sha256(np.ascontiguousarray(problem.p_x, "<f8").tobytes()
                            + np.ascontiguousarray(data, "<f8").tobytes()).hexdigest()
    key = (type(problem).__name__, digest, data.shape, problem.units, eps,
           repr(sorted(options.items())))
    if key not in _envelopes:
        _envelopes[key] = problem.envelope(eps=eps, **options)
        while len(_envelopes) > ENVELOPE_CACHE:
            _envelopes.popitem(last=False)
    _envelopes.move_to_end(key)
    return _envelopes[key]


def _verify_curve(problem, D_values, rates, options, context, units) -> Verification:
    rate_scale, D_scale = _claim_scales(problem, units)
    D_values, rates = D_values * D_scale, rates * rate_scale
    context["claim_units"] = units if units not in (None, problem.units) else None
    tol, rtol = context["tol"], context["rtol"]
    finite = np.where(np.isfinite(rates), np.abs(rates), 0.0)
    lower, upper = _curve_bounds(problem, D_values, tol + rtol * finite, options)
    points = []
    for D, rate, lo, up in zip(D_values, rates, lower, upper):
        verdict, reason, miss = _rate_verdict(float(D), float(rate), lo, up, tol, rtol,
                                              problem.units, problem.D_min)
        points.append(Verification(verdict, reason, D=float(D), lower=float(lo),
                                   upper=float(up), claimed_rate=float(rate), miss=miss,
                                   **context))
    misses = np.array([pt.miss for pt in points])
    worst = int(np.argmax(misses))
    largest = (f"the largest miss is {misses[worst]:.3g} {problem.units} at "
               f"D={points[worst].D:.10g}")
    rejected = [pt for pt in points if not pt.valid]
    if rejected:
        verdict = "rejected"
        reason = (f"{len(rejected)} of {len(points)} points rejected (first at "
                  f"D={rejected[0].D:.10g}: {rejected[0].reason}); {largest}")
    else:
        verdict = "accepted"
        reason = (f"all {len(points)} claimed rates lie within the certified bounds "
                  f"(tolerance {tol:.1e} + {rtol:g} x |claim| {problem.units}); "
                  + (largest if misses[worst] > 0 else "none misses them"))
    return Verification(verdict, reason, D=D_values, lower=lower, upper=upper,
                        claimed_rate=rates, points=tuple(points), miss=misses, **context)
