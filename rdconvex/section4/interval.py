r"""The set ``I`` of Theorem 3: the ``lam > 0`` at which some output pmf couples with ``p``.

``lam`` is in ``I`` when (13) has a solution ``mu >= 0`` and some output pmf ``Q``
satisfies ``sum_y Q_y mu_x V[x,y] = p_x`` for every ``x`` (``V = exp(-lam d)``). With
the translated ``A = diag(mu) V`` that is ``A Q = p``: the translated log-likelihood
problem has a special operating point (Theorem 1-(iii)).

:func:`in_interval` tests one ``lam`` (exact up to ``tol``); :func:`translation_interval`
computes ``I`` on a range as :class:`LambdaIntervals` (a geometric grid, every change
of membership bisected to relative width ``xtol``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError, NoTranslationError
from ..numerics import row_minima
from ..solvers import get_solver
from ._common import TOL, check_lam, check_tol, expand, reduced, validated
from .normaliser import LP_TOL, solve_normaliser

#: Default number of geometric grid points for the search of ``I``.
GRID = 120

#: Relative width to which the ends of ``I`` are bisected.
XTOL = 1e-10


@dataclass(frozen=True, eq=False)
class Membership:
    """The membership test of ``I`` at one ``lam`` (see :func:`in_interval`)."""

    lam: float
    member: bool
    reason: str
    mu: np.ndarray | None = None
    output_pmf: np.ndarray | None = None
    normalisation_residual: float = math.inf
    coupling_residual: float = math.inf
    likelihood: np.ndarray | None = None


def _polished(likelihood: np.ndarray, p: np.ndarray, Q: np.ndarray, residual: float):
    """A least-squares solve on the LP's support meets ``A Q = p`` to rounding (the LP
    only to its feasibility tolerance): keep it if it is a better pmf."""
    m = likelihood.shape[1]
    support = np.flatnonzero(Q > 1e-12 * Q.max())
    polished = np.zeros(m)
    polished[support] = np.linalg.lstsq(likelihood[:, support], p, rcond=None)[0]
    if polished.min() >= 0 and polished.sum() > 0:
        polished /= polished.sum()
        polished_residual = float(np.abs(likelihood @ polished - p).sum())
        if polished_residual < residual:
            return polished_residual, polished
    return residual, Q


def coupling(p: np.ndarray, likelihood: np.ndarray) -> tuple[float, np.ndarray]:
    r"""``min_{Q in simplex} ||A Q - p||_1`` and its ``Q`` (an LP, HiGHS; the LP of
    :func:`~rdconvex.programs.single_parameter.coupling`), recomputed in float64."""
    n, m = likelihood.shape
    cost = np.r_[np.zeros(m), np.ones(2 * n)]
    A_eq = np.vstack([np.hstack([likelihood, np.eye(n), -np.eye(n)]),
                      np.r_[np.ones(m), np.zeros(2 * n)][None, :]])
    sol = get_solver("highs", task="lp").solve_lp(cost, A_eq=A_eq, b_eq=np.r_[p, 1.0],
                                                  bounds=(0.0, None), tol=LP_TOL)
    if sol.x is None:  # pragma: no cover - always feasible (any pmf Q)
        return math.inf, np.full(m, 1.0 / m)
    Q = np.clip(sol.x[:m], 0.0, None)
    Q /= Q.sum()
    return _polished(likelihood, p, Q, float(np.abs(likelihood @ Q - p).sum()))


def membership(p: np.ndarray, d: np.ndarray, lam: float, tol: float) -> Membership:
    """The membership test on a reduced problem (every ``p_x > 0``), unchecked."""
    try:
        sol = solve_normaliser(p, d, lam, tol)
    except NoTranslationError as exc:
        return Membership(lam, False, str(exc))
    likelihood = sol.likelihood
    residual, Q = coupling(p, likelihood)
    with np.errstate(over="ignore"):
        mu = np.exp(sol.log_mu)
    if residual <= tol:
        reason = (f"(13) holds to {sol.residual:.1e} and Q couples with p to "
                  f"{residual:.1e} (L1)")
    else:
        reason = (f"(13) holds, but no output pmf couples with p: min_Q ||diag(mu) V Q - "
                  f"p||_1 = {residual:.3g} > tol={tol:.3g}")
    return Membership(lam, residual <= tol, reason, mu, Q, sol.residual, residual, likelihood)


def in_interval(p_x, d, lam, *, tol: float = TOL, normalize: bool = False) -> Membership:
    r"""Whether ``lam`` is in ``I`` (Theorem 3), with the evidence.

    ``lam`` is in ``I`` iff (13) has a solution ``mu >= 0`` (residual
    ``max_y |sum_x mu_x V[x,y] - 1| <= tol``, found as in
    :func:`~rdconvex.section4.translation.translate`) and some output pmf ``Q`` couples
    with ``p``:

    .. math:: \min_{Q \in \Delta} \sum_x \Big| \sum_y Q_y \mu_x V[x,y] - p_x \Big|
              \le \mathrm{tol}

    (an LP, HiGHS, whose optimum is recomputed in float64 from the returned ``Q``).

    Parameters
    ----------
    p_x : array_like, shape (n,)
        Source pmf. Symbols with ``p_x = 0`` are dropped first (they change neither
        ``R(D)`` nor (22)); their ``mu`` is reported as 0.
    d : array_like, shape (n, m)
        Distortion, entries in ``[0, inf]``.
    lam : float
        ``lam > 0``.
    tol : float
        Membership tolerance.

    Returns
    -------
    Membership
        ``member``, ``reason``, ``mu``, ``output_pmf``, both residuals and
        ``likelihood`` (``diag(mu) exp(-lam d)``, the translated ``P_{X|U}``).

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.section4 import in_interval
    >>> in_interval([0.8, 0.2], 1 - np.eye(2), 2.0).member    # I = [log 4, inf)
    True
    """
    p, d = validated(p_x, d, normalize)
    p_s, d_s, support = reduced(p, d)
    member = membership(p_s, d_s, check_lam(lam), check_tol(tol))
    if member.mu is None:
        return member
    likelihood = np.zeros((p.size, d.shape[1]))
    likelihood[support] = member.likelihood
    return Membership(member.lam, member.member, member.reason,
                      expand(member.mu, support, p.size), member.output_pmf,
                      member.normalisation_residual, member.coupling_residual, likelihood)


@dataclass(frozen=True, eq=False)
class LambdaIntervals:
    """The computed ``I``: disjoint intervals ``[lo, hi]`` of ``lam``, and how they
    were found.

    Attributes
    ----------
    intervals : tuple of (float, float)
        Each end is a verified member (bisected to relative width ``xtol``); the
        points between are members at every grid point.
    lam_range : (float, float)
        The searched range. ``I`` may extend beyond it where ``open_left`` /
        ``open_right`` say an interval touches it.
    num : int
        Geometric grid points on ``lam_range``. ``I`` may have pieces or gaps
        narrower than the grid spacing ``(hi/lo)**(1/(num-1))`` that are not seen.
    tol : float
        Membership tolerance (see :func:`in_interval`).
    xtol : float
        Relative bisection width of the ends.
    """

    intervals: tuple
    lam_range: tuple
    num: int
    tol: float
    xtol: float
    open_left: tuple
    open_right: tuple

    def __iter__(self):
        return iter(self.intervals)

    def __len__(self) -> int:
        return len(self.intervals)

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def contains(self, lam: float) -> bool:
        """Whether ``lam`` lies in one of the computed intervals."""
        return any(lo <= lam <= hi for lo, hi in self.intervals)

    def text(self) -> str:
        """The intervals, ``'..'`` marking an end at the searched range."""
        if not self.intervals:
            return "empty"
        parts = []
        for (lo, hi), ol, orr in zip(self.intervals, self.open_left, self.open_right):
            parts.append(f"{'(..' if ol else '['}{lo:.10g}, {hi:.10g}{'..)' if orr else ']'}")
        return " u ".join(parts)

    def __str__(self) -> str:
        body = self.text()
        return (f"I = {body}   (searched lam in [{self.lam_range[0]:.6g}, "
                f"{self.lam_range[1]:.6g}], {self.num} geometric grid points, tol {self.tol:.0e}"
                f"; '..' marks an end at the searched range)")

    __repr__ = __str__


def default_lam_range(d: np.ndarray, p: np.ndarray | None = None) -> tuple[float, float]:
    """``(0.01 / e_max, 60 / e_min)`` with ``e`` the positive finite excesses
    ``d[x,y] - min_y' d[x,y']`` (rows with ``p_x > 0``): from slopes where every
    distortion difference is negligible to slopes where the smallest one costs a
    factor ``exp(-60)``."""
    rows = d if p is None else d[p > 0]
    with np.errstate(invalid="ignore"):  # inf - inf on an all-inf row: not finite, dropped
        excess = rows - row_minima(rows)[:, None]
    positive = excess[np.isfinite(excess) & (excess > 0)]
    if positive.size == 0:
        return (1e-3, 1e3)
    return (0.01 / float(positive.max()), 60.0 / float(positive.min()))


def _check_range(lam_range, d, p) -> tuple[float, float]:
    if lam_range is None:
        return default_lam_range(d, p)
    try:
        lo, hi = lam_range
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"lam_range={lam_range!r} must be a pair (lo, hi) with "
                                   "0 < lo < hi < inf.") from None
    lo, hi = check_lam(lo, "lam_range[0]"), check_lam(hi, "lam_range[1]")
    if not lo < hi:
        raise InvalidArgumentError(f"lam_range={lam_range!r} needs lo < hi.")
    return lo, hi


def _bisect(test, inside: float, outside: float, xtol: float) -> float:
    """The member end between a member ``inside`` and a non-member ``outside``."""
    while abs(math.log(outside / inside)) > xtol:
        mid = math.sqrt(inside * outside)
        if test(mid):
            inside = mid
        else:
            outside = mid
    return inside


def _runs(member: list[bool]):
    """``(i, j)`` for every maximal run ``member[i..j]`` of True."""
    i, num = 0, len(member)
    while i < num:
        if not member[i]:
            i += 1
            continue
        j = i
        while j + 1 < num and member[j + 1]:
            j += 1
        yield i, j
        i = j + 1


def _search(p, d, lam_range, num, tol, xtol) -> LambdaIntervals:
    grid = np.geomspace(lam_range[0], lam_range[1], num)
    cache: dict[float, bool] = {}

    def test(lam: float) -> bool:
        if lam not in cache:
            cache[lam] = membership(p, d, lam, tol).member
        return cache[lam]

    member = [test(float(lam)) for lam in grid]
    intervals, open_left, open_right = [], [], []
    for i, j in _runs(member):
        left = float(grid[0]) if i == 0 else _bisect(test, float(grid[i]),
                                                     float(grid[i - 1]), xtol)
        right = float(grid[-1]) if j == num - 1 else _bisect(test, float(grid[j]),
                                                             float(grid[j + 1]), xtol)
        intervals.append((left, right))
        open_left.append(i == 0)
        open_right.append(j == num - 1)
    return LambdaIntervals(tuple(intervals), tuple(lam_range), num, tol, xtol,
                           tuple(open_left), tuple(open_right))


def translation_interval(p_x, d, *, lam_range=None, num: int = GRID, tol: float = TOL,
                         xtol: float = XTOL, normalize: bool = False) -> LambdaIntervals:
    r"""The set ``I`` of Theorem 3 on a range of ``lam``, as intervals.

    Procedure: the membership test :func:`in_interval` (exact up to ``tol``: (13)
    solved to residual ``tol`` and the coupling LP's optimum ``<= tol``) on ``num``
    geometric grid points of ``lam_range``; every change of membership between
    neighbouring grid points is bisected (geometrically) to relative width ``xtol``,
    keeping the member side, so each reported end is itself a verified member.

    Parameters
    ----------
    p_x : array_like, shape (n,)
        Source pmf.
    d : array_like, shape (n, m)
        Distortion, entries in ``[0, inf]``.
    lam_range : (float, float), optional
        Default :func:`default_lam_range`.
    num : int
        Grid points (>= 2).
    tol, xtol : float
        Membership tolerance and relative bisection width.

    Returns
    -------
    LambdaIntervals
        Possibly empty. Pieces of ``I`` narrower than the grid spacing may be missed;
        an interval touching ``lam_range`` may continue beyond it (``open_left`` /
        ``open_right``).

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.section4 import translation_interval
    >>> I = translation_interval([0.8, 0.2], 1 - np.eye(2))
    >>> round(I.intervals[0][0], 6), float(np.log(4)).__round__(6)   # (25): log((1-p)/p)
    (1.386294, 1.386294)
    """
    p, d = validated(p_x, d, normalize)
    p, d, _ = reduced(p, d)
    lam_range = _check_range(lam_range, d, p)
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 2:
        raise InvalidArgumentError(f"num={num!r} must be an integer >= 2 (grid points).")
    tol = check_tol(tol)
    xtol = check_tol(xtol, "xtol")
    if xtol <= 0:
        raise InvalidArgumentError(f"xtol={xtol!r} must be > 0.")
    return _search(p, d, lam_range, int(num), tol, xtol)


__all__ = ["GRID", "XTOL", "Membership", "LambdaIntervals", "coupling", "membership",
           "in_interval", "translation_interval", "default_lam_range"]
