r"""The single-parameter dual (22) (Theorem 3).

.. math::
    R(D) = \max_{\lambda \in \mathcal I}\; H(X) + \sum_x p_x \log \mu(x,\lambda)
    - \lambda D. \qquad (22)

Why (22) is a lower bound everywhere and exact when its maximiser is inside ``I``:
with ``mu_x = p_x e^{g_x}`` the objective is the Gallager/Csiszár dual objective at
slope ``lam`` and (13) makes every dual constraint *tight*; any ``mu >= 0`` with
``V^T mu <= 1`` is dual feasible, so every value is a lower bound on ``R(D)``
(:func:`rdconvex.certify.single_parameter.dual_objective_bound`). For ``lam`` in ``I``
Jensen's inequality shows the coupled ``mu`` maximises ``sum_x p_x log mu_x`` over all
of ``V^T mu <= 1``, so on ``I`` the objective *equals* the (concave) Lagrange dual
function of (2) in the distortion multiplier; a stationary point inside ``I`` is
therefore its global maximum, ``R(D)``.

:func:`single_parameter_dual` maximises (22) over the computed ``I``
(:mod:`rdconvex.section4.interval`) and checks it against the classical solver;
:func:`single_parameter_bound` evaluates (22)'s objective at one ``lam``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import entr

from .._validation import UNITS, check_scalar, check_units
from ..certify.single_parameter import dual_objective_bound
from ..errors import InvalidArgumentError, NoTranslationError
from ..numerics import finite_part
from ..programs import single_parameter as programs
from ..results import Result
from ..rigorous import ShiftedProblem, in_bits
from ._common import TOL, check_lam, check_tol, expand, reduced, validated
from .interval import GRID, XTOL, LambdaIntervals, membership, translation_interval
from .normaliser import solve_normaliser

#: Slack (in multiples of ``tol``, nats) within which (22) "reaches" a certified bound.
EXACT_SLACK = 10.0


def objective(exact: ShiftedProblem, d: np.ndarray, D: float, lam: float,
              tol: float) -> float:
    """(22)'s objective at ``lam`` on a reduced problem (``exact`` its shifted data,
    ``d`` its distortion), in nats, as a proven lower bound on ``R(D)`` (raises
    :class:`NoTranslationError` if (13) has no ``mu >= 0``)."""
    sol = solve_normaliser(exact.p, d, lam, tol)
    return dual_objective_bound(exact, D, lam, sol.nu)


def _in_units(lower: float, units: str) -> float:
    """A lower bound in nats converted to ``units``, rounding down."""
    return in_bits(lower, lower)[0] if units == "bits" else lower


def single_parameter_bound(p_x, d, D, lam, *, units: str = "nats", tol: float = TOL,
                           normalize: bool = False) -> float:
    r"""The objective of (22) at one ``lam``: a certified lower bound on ``R(D)``.

    .. math:: H(X) + \sum_x p_x \log \mu(x, \lambda) - \lambda D \;\le\; R(D)

    Valid for every ``lam`` at which (13) has a solution ``mu >= 0`` (coupling is
    not needed): ``mu_x = p_x e^{g_x}`` is a feasible point of the Gallager/Csiszár
    dual. The value is proven for the problem the input floats define: ``mu`` is
    divided by ``max_y sum_x mu_x exp(-lam d[x,y])`` (``1 + residual`` of (13)) and
    everything is evaluated on shifted data with outward rounding (see
    :func:`rdconvex.certify.single_parameter.dual_objective_bound`); ``bits`` are
    converted rounding down.

    Parameters
    ----------
    p_x : array_like, shape (n,)
        Source pmf.
    d : array_like, shape (n, m)
        Distortion, entries in ``[0, inf]``.
    D : float
        Distortion (units of ``d``).
    lam : float
        ``lam > 0``.
    units : {"nats", "bits"}
        Units of the bound.
    tol : float
        Accepted residual of (13).

    Returns
    -------
    float

    Raises
    ------
    NoTranslationError
        (13) has no nonnegative solution at ``lam``.

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.section4 import single_parameter_bound
    >>> round(single_parameter_bound([0.8, 0.2], 1 - np.eye(2), 0.1, np.log(9)), 9)
    0.17531945
    """
    units = check_units(units)
    p, d = validated(p_x, d, normalize)
    p, d, _ = reduced(p, d)
    D = check_scalar(D, "D")
    value = objective(ShiftedProblem.from_distortion(p, d), d, D, check_lam(lam),
                      check_tol(tol))
    return _in_units(value, units)


@dataclass(frozen=True, eq=False)
class SingleParameterDual:
    r"""The single-parameter dual (22) at one ``D``.

    Attributes
    ----------
    rate : float
        (22)'s value at ``lam``, in ``units``: a certified lower bound on ``R(D)``,
        equal to it when ``exact``.
    lam : float
        The maximiser ``lam*`` over the computed ``I`` (per unit of ``d``).
    mu : ndarray, shape (n,)
        ``mu(., lam*)`` of (13).
    output_pmf : ndarray, shape (m,)
        The coupled ``Q_Y`` at ``lam*`` (the optimal output pmf when exact).
    I : tuple of (float, float)
        The computed intervals of ``I`` (``search`` says how).
    exact : bool
        Whether (22) equals ``R(D)`` here: the maximiser is interior to ``I`` (then
        Theorem 3 applies), or its value reaches the reference certificate's lower
        bound (within ``EXACT_SLACK * tol`` nats).
    interior : bool
        Whether ``lam*`` is a stationary point strictly inside its interval (the
        coupled channel at ``lam*`` has distortion ``D``).
    reason : str
        Why ``exact`` is what it is.
    reference : Result
        ``RateDistortion(p_x, d).solve(D)`` with its certificate, for comparison.
    search : LambdaIntervals
        How ``I`` was computed (range, grid, tolerance).
    """

    rate: float
    lam: float
    mu: np.ndarray
    output_pmf: np.ndarray
    I: tuple
    exact: bool
    interior: bool
    reason: str
    D: float
    units: str
    entropy: float
    reference: Result
    search: LambdaIntervals
    p_x: np.ndarray
    d: np.ndarray

    @property
    def slope(self) -> float:
        """``lam*`` in rate ``units`` per unit of distortion (``-dR/dD`` when exact)."""
        return self.lam * UNITS[self.units]

    def formulation(self) -> programs.Formulation:
        """(22) at this ``D`` as printable math, with the computed ``I``."""
        lo, hi = self.search.lam_range
        return programs.formulation(
            self.p_x, self.d, self.D, self.I, intervals_text=self.search.text(),
            note=(f"(grid of {self.search.num} on [{lo:.4g}, {hi:.4g}], tol "
                  f"{self.search.tol:.0e}; '..' = continues past the range)"))

    def __repr__(self) -> str:
        c = self.reference.certificate
        return (f"SingleParameterDual(rate={self.rate:.10g} {self.units}, lam={self.lam:.10g}, "
                f"exact={self.exact}, I={self.search}, reference=[{c.lower:.10g}, "
                f"{c.upper:.10g}])")


# ---------------------------------------------------------------------------
# The maximisation of (22) over the computed I
# ---------------------------------------------------------------------------


class _Objective:
    """(22)'s objective and, on ``I``, its derivative, for one reduced problem and ``D``."""

    def __init__(self, p, d, D, tol):
        self.p, self.d, self.D, self.tol = p, d, D, tol
        self._d_finite = finite_part(d)
        self.exact = ShiftedProblem.from_distortion(p, d)

    def value(self, lam: float) -> float:
        """The objective in nats, proven ``<= R(D)`` (``-inf`` where (13) has no
        ``mu >= 0``)."""
        try:
            return objective(self.exact, self.d, self.D, lam, self.tol)
        except NoTranslationError:
            return -math.inf

    def derivative(self, lam: float) -> float:
        """``E d - D`` under the coupled joint ``Q_y mu_x V[x,y]``: the derivative on
        ``I`` (envelope theorem: there (22) is the Lagrange dual function of (2))."""
        member = membership(self.p, self.d, lam, self.tol)
        if not member.member:
            raise NoTranslationError(f"lam={lam:.10g} inside a computed interval is not in I")
        joint = member.likelihood * member.output_pmf[None, :]
        return float((joint * self._d_finite).sum()) - self.D


class _Maximiser(NamedTuple):
    rate: float          # nats
    lam: float
    interval: tuple      # (lo, hi) of I holding lam
    interior: bool       # a stationary point inside the interval


def _stationary_point(f: _Objective, lo: float, hi: float) -> float:
    """The root of the (monotone, by concavity) derivative in ``[lo, hi]``, found to
    rounding on ``log lam`` (the value alone pins ``lam*`` only to ~sqrt(eps))."""
    t = brentq(lambda t: f.derivative(math.exp(t)), math.log(lo), math.log(hi),
               xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return min(max(math.exp(t), lo), hi)


def _candidates(f: _Objective, lo: float, hi: float, xtol: float) -> list[tuple]:
    """``(lam, stationary)`` pairs that may maximise (22) on ``[lo, hi]``."""
    try:
        slope_lo, slope_hi = f.derivative(lo), f.derivative(hi)
        if slope_lo > 0 > slope_hi:
            return [(_stationary_point(f, lo, hi), True)]
        return [(lo if slope_lo <= 0 else hi, False)]
    except NoTranslationError:
        # A gap of I narrower than the grid: fall back to the values.
        candidates = [(lo, False), (hi, False)]
        if hi > lo * (1 + 4 * xtol):
            opt = minimize_scalar(lambda t: -f.value(math.exp(t)),
                                  bounds=(math.log(lo), math.log(hi)), method="bounded",
                                  options={"xatol": xtol})
            candidates.append((min(max(math.exp(float(opt.x)), lo), hi), False))
        return candidates


def _maximise(p, d, D, search: LambdaIntervals, tol: float, xtol: float) -> _Maximiser:
    """The maximiser of (22) over the computed intervals of ``I``."""
    f = _Objective(p, d, D, tol)
    best = _Maximiser(-math.inf, math.nan, (math.nan, math.nan), False)
    for lo, hi in search.intervals:
        for lam, stationary in _candidates(f, lo, hi, xtol):
            value = f.value(lam)
            if value > best.rate:
                best = _Maximiser(value, lam, (lo, hi), stationary)
    if not math.isfinite(best.rate):  # pragma: no cover - the ends are verified members
        raise NoTranslationError("(13) failed at every candidate lam in I.")
    return best


# ---------------------------------------------------------------------------
# single_parameter_dual
# ---------------------------------------------------------------------------


def _reference(p, d, D, units, solver) -> Result:
    """``R(D)`` with its certificate, by the classical problem class."""
    from ..problems.classical import RateDistortion

    return RateDistortion(p, d, units=units).solve(D=D, solver=solver)


def _search_of(p, d, interval, lam_range, num, tol, xtol) -> LambdaIntervals:
    """The given ``interval`` (checked), or ``I`` computed on ``lam_range``."""
    if interval is None:
        return translation_interval(p, d, lam_range=lam_range, num=num, tol=tol, xtol=xtol)
    if isinstance(interval, LambdaIntervals):
        return interval
    raise InvalidArgumentError(
        f"interval={interval!r} must be the LambdaIntervals returned by "
        "translation_interval(p_x, d) for this problem (or None to compute it).")


def _empty_interval_error(search, reference, D, units) -> NoTranslationError:
    c = reference.certificate
    return NoTranslationError(
        f"I is empty on the searched range: {search}. For no lam there does (13) have "
        "a nonnegative solution mu that couples with p, so Theorem 3 does not apply and "
        f"(22) gives nothing here. The solver gives R({D:g}) in [{c.lower:.10g}, "
        f"{c.upper:.10g}] {units}; widen lam_range or use RateDistortion.solve.")


def _exactness(best: _Maximiser, reference: Result, tol: float,
               units: str) -> tuple[bool, str]:
    """Whether (22) equals ``R(D)``, and why: an interior maximiser is (Theorem 3); an
    end of ``I`` only if its value reaches the reference's certified lower bound."""
    scale = UNITS[units]
    rate, cert = best.rate * scale, reference.certificate
    slack = EXACT_SLACK * tol * scale
    lo, hi = best.interval
    where = f"the maximiser lam*={best.lam:.10g}"
    if rate > cert.upper + slack:  # pragma: no cover - would be a bug
        warnings.warn(f"(22) = {rate:.10g} exceeds the certified upper bound "
                      f"{cert.upper:.10g}: a tolerance problem; tighten tol.", RuntimeWarning,
                      stacklevel=3)
    if best.interior:
        return True, (
            f"{where} is inside I's interval [{lo:.10g}, {hi:.10g}]: a stationary point of "
            "the concave dual function (the coupled channel has distortion D), so (22) = "
            "R(D) (Theorem 3)")
    if rate >= cert.lower - slack:
        return True, (
            f"{where} is an end of I's interval [{lo:.10g}, {hi:.10g}], but (22) = "
            f"{rate:.10g} reaches the certified lower bound {cert.lower:.10g} of R(D) "
            f"({reference.solver})")
    return False, (
        f"{where} is an end of I's interval [{lo:.10g}, {hi:.10g}] and (22) = {rate:.10g} "
        f"< R(D) in [{cert.lower:.10g}, {cert.upper:.10g}] ({reference.solver}): the slope "
        f"of R at D ({reference.slope:.6g} {units}/unit) lies outside I, so (22) is only a "
        "lower bound here")


def single_parameter_dual(p_x, d, D, *, units: str = "nats", lam_range=None,
                          num: int = GRID, tol: float = TOL, xtol: float = XTOL,
                          solver: str | None = None, normalize: bool = False,
                          interval: LambdaIntervals | None = None) -> SingleParameterDual:
    r"""``R(D)`` by the single-parameter dual (22) (Theorem 3), checked against a solver.

    .. math::
        R(D) = \max_{\lambda \in \mathcal I}\; H(X) + \sum_x p_x \log \mu(x,\lambda)
        - \lambda D \qquad (22)

    1. ``I`` is computed by :func:`~rdconvex.section4.interval.translation_interval`
       (grid + bisection on the exact-up-to-``tol`` membership test; the range, grid
       and ``tol`` are in ``result.search``).
    2. On ``I`` the objective is the concave Lagrange dual function of (2), whose
       derivative is ``E d - D`` under the coupled joint ``Q_y mu_x V[x,y]`` (envelope
       theorem). On each interval: if that derivative changes sign, its root (SciPy
       ``brentq`` on ``log lam``, to rounding) is the maximiser; otherwise the end in
       the ascent direction is. (If a point inside a computed interval fails the
       membership test, a bounded scalar search on the values is used instead.)
    3. ``R(D)`` is solved by ``RateDistortion(p_x, d).solve(D, solver=solver)`` with its
       certificate, and ``exact`` is decided: an interior maximiser is a stationary
       point of the concave dual function, hence ``R(D)`` (Theorem 3); a maximiser at
       an end of ``I`` is exact only if its value reaches the certified lower bound.

    **(22) is a lower bound for every lam** at which (13) has a solution ``mu >= 0``,
    in particular for every ``lam`` in ``I`` (see :func:`single_parameter_bound`): when
    the true slope of ``R`` at ``D`` lies outside ``I``, (22) is strictly below
    ``R(D)`` and ``exact`` is ``False``.

    Parameters
    ----------
    p_x : array_like, shape (n,)
        Source pmf.
    d : array_like, shape (n, m)
        Distortion, entries in ``[0, inf]``.
    D : float
        Distortion (units of ``d``), ``D >= D_min``.
    units : {"nats", "bits"}
        Units of ``rate``.
    lam_range, num, tol, xtol :
        The search of ``I`` (see :func:`~rdconvex.section4.interval.translation_interval`).
    solver : str, optional
        Solver of the reference ``R(D)`` (default ``None``: the default of the
        ``"rate_distortion"`` task, see :data:`rdconvex.solvers.DEFAULTS`).
    interval : LambdaIntervals, optional
        ``I`` from ``translation_interval`` for this same problem, to reuse it across
        many ``D`` (then ``lam_range``, ``num``, ``tol``, ``xtol`` are its own).

    Returns
    -------
    SingleParameterDual

    Raises
    ------
    InfeasibleDistortionError
        ``D < D_min``.
    NoTranslationError
        ``I`` is empty on the searched range: Theorem 3 does not apply (the message
        gives the solver's ``R(D)``).

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> res = rdc.single_parameter_dual([0.8, 0.2], 1 - np.eye(2), D=0.1)
    >>> round(res.rate, 6), round(res.lam, 6), res.exact   # h(0.2) - h(0.1), log 9
    (0.175319, 2.197225, True)
    """
    units = check_units(units)
    p, d = validated(p_x, d, normalize)
    D = check_scalar(D, "D")
    reference = _reference(p, d, D, units, solver)
    search = _search_of(p, d, interval, lam_range, num, tol, xtol)
    if not search:
        raise _empty_interval_error(search, reference, D, units)
    p_s, d_s, support = reduced(p, d)
    best = _maximise(p_s, d_s, D, search, search.tol, search.xtol)
    exact, reason = _exactness(best, reference, search.tol, units)
    # lam* has a finite value, so (13) is solvable there and the test returns mu and Q.
    member = membership(p_s, d_s, best.lam, search.tol)
    mu, Q = expand(member.mu, support, p.size), member.output_pmf
    for arr in (mu, Q, p, d):
        arr.flags.writeable = False
    return SingleParameterDual(
        rate=_in_units(best.rate, units), lam=best.lam, mu=mu, output_pmf=Q, I=search.intervals,
        exact=exact, interior=best.interior, reason=reason, D=D, units=units,
        entropy=float(entr(p_s).sum()) * UNITS[units], reference=reference, search=search,
        p_x=p, d=d)


__all__ = ["EXACT_SLACK", "SingleParameterDual", "objective", "single_parameter_bound",
           "single_parameter_dual"]
