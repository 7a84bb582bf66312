r"""Section IV: a general ``(X, d)`` as a log-likelihood problem, and the dual (22).

*Translation* (13)–(21). For ``lam > 0`` let ``V = exp(-lam d)``. If ``mu >= 0`` solves

.. math:: \sum_x \mu_x e^{-\lambda d(x,y)} = 1 \quad \text{for every } y \qquad (13)

then ``A = diag(mu) V`` is a valid ``P_{X|U}`` (every column a pmf), its
log-likelihood loss is ``-log A = lam d - log mu_x`` (16), and

.. math::
    R_{\ell\ell}(\tilde D) = R(D), \qquad
    \tilde D = \lambda D - \textstyle\sum_x p_x \log \mu_x \qquad (20),\ (21).

:func:`translate` finds ``mu`` and returns a :class:`Translation` (its ``.loglik`` is
the :class:`~rdconvex.LogLikelihood` problem; ``to_loglik``/``from_loglik`` are (21)
and its inverse).

*Single-parameter dual* (22), Theorem 3. ``I`` is the set of ``lam > 0`` for which, in
addition, some output pmf ``Q`` couples with ``p``:
``sum_y Q_y mu_x V[x,y] = p_x``. Then

.. math::
    R(D) = \max_{\lambda \in \mathcal I}\; H(X) + \sum_x p_x \log \mu(x,\lambda)
    - \lambda D. \qquad (22)

:func:`translation_interval` computes ``I`` and :func:`single_parameter_dual` (22).
Why (22) is a lower bound everywhere and exact when its maximiser is inside ``I``:
with ``mu_x = p_x e^{g_x}`` the objective is the Gallager/Csiszár dual objective at
slope ``lam`` and (13) makes every dual constraint *tight*; any ``mu >= 0`` with
``V^T mu <= 1`` is dual feasible, so every value is a lower bound on ``R(D)``. For
``lam`` in ``I`` Jensen's inequality shows the coupled ``mu`` maximises
``sum_x p_x log mu_x`` over all of ``V^T mu <= 1``, so on ``I`` the objective *equals*
the (concave) Lagrange dual function of (2) in the distortion multiplier; a
stationary point inside ``I`` is therefore its global maximum, ``R(D)``.

Units: ``lam`` is always the exponent in ``exp(-lam d)`` per unit of ``d`` (the
paper's ``lambda``, i.e. the slope of ``R`` in nats). Rates and log-likelihood
distortions ``Dt`` are in ``units``; the classical ``D`` is in the units of ``d``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from scipy.optimize import brentq, linprog, minimize_scalar
from scipy.special import entr, logsumexp

from ._validation import (
    UNITS,
    check_distortion,
    check_pmf,
    check_rows_finite,
    check_scalar,
    check_units,
)
from .errors import InvalidArgumentError, RDConvexError
from .programs import single_parameter as programs
from .results import Result

#: Default membership tolerance: (13) holds when ``max_y |sum_x mu_x V[x,y] - 1| <= TOL``
#: and ``p`` is coupled when ``min_Q sum_x |(A Q)_x - p_x| <= TOL`` (both dimensionless).
TOL = 1e-10

#: A square ``V`` (rows scaled to maximum 1) with a larger condition number is treated as
#: numerically singular: (13) is then decided by an LP instead of a linear solve.
COND_MAX = 1e8

#: Default number of geometric grid points for the search of ``I``.
GRID = 120

#: Relative width to which the ends of ``I`` are bisected.
XTOL = 1e-10

#: Smallest ``log`` of a normal float64: a likelihood below it underflows.
LOG_TINY = math.log(np.finfo(float).tiny)

_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


class NoTranslationError(RDConvexError):
    """(13) has no usable nonnegative solution at this ``lam``, or ``I`` is empty on
    the searched range (Theorem 3 does not apply there)."""


# ---------------------------------------------------------------------------
# (13): the normalising mu
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Normaliser:
    log_mu: np.ndarray      # (n,), -inf where mu = 0
    nu: np.ndarray          # mu = exp(lam r) nu, 0 <= nu <= 1
    kernel: np.ndarray      # V'[x,y] = exp(-lam (d - r[x]))
    residual: float
    unique: bool
    method: str


def _lp_normaliser(M: np.ndarray) -> np.ndarray:
    """``argmin_{0 <= nu <= 1} ||M nu - 1||_1`` (HiGHS)."""
    m, n = M.shape
    cost = np.r_[np.zeros(n), np.ones(2 * m)]
    A_eq = np.hstack([M, np.eye(m), -np.eye(m)])
    bounds = [(0.0, 1.0)] * n + [(0.0, None)] * (2 * m)
    res = linprog(cost, A_eq=A_eq, b_eq=np.ones(m), bounds=bounds, method="highs",
                  options=_HIGHS)
    if res.x is None:  # pragma: no cover - the LP is always feasible (nu = 0)
        return np.zeros(n)
    return np.clip(res.x[:n], 0.0, 1.0)


def _canonical_normaliser(p, d, lam, tol, fallback):
    """The ``mu`` of (13) with the largest ``sum_x p_x log mu_x`` by the program
    :func:`~rdconvex.programs.single_parameter.at_lambda` (Clarabel; accurate to the
    solver's tolerance only: the last resort when Newton's method does not apply)."""
    prog = programs.at_lambda(p, d, lam, tol=tol)
    var = next(iter(prog.variables_by_name.values()))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prog.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        return fallback, "LP (the concave refinement failed)"
    if prog.status not in ("optimal", "optimal_inaccurate") or var.value is None:
        return fallback, "LP (the concave refinement failed)"
    return (np.clip(np.asarray(var.value, dtype=float), 0.0, 1.0),
            "LP + max sum_x p_x log mu_x over the solutions (Clarabel, solver accuracy)")


#: Newton's method on the dual of (13)'s canonical solution: iterations and stopping
#: gradient (the equations sum_x mu_x V[x,y] = 1 hold to about this).
NEWTON_ITER = 200
NEWTON_TOL = 1e-12


def _newton_normaliser(p: np.ndarray, kernel: np.ndarray):
    r"""``nu = p / (K Q)`` with ``Q`` minimising the convex dual
    ``phi(Q) = sum_y Q_y - sum_x p_x log (K Q)_x`` (rows with ``p_x > 0`` only).

    ``phi`` is the Lagrange dual of ``max sum_x p_x log nu_x s.t. K^T nu = 1``: its
    stationarity ``sum_x p_x K[x,y] / (K Q)_x = 1`` is (13) with ``nu = p / (K Q)``,
    and the multiplier ``Q`` is the coupled output pmf when it is ``>= 0``. Newton's
    method converges quadratically, so ``nu`` is accurate to rounding (a first-order
    or interior-point solver would leave the maximiser accurate only to about the
    square root of its tolerance). Returns ``(nu, Q)`` or ``None`` if ``phi`` has no
    minimiser (no positive solution of (13) on these rows) or Newton stalls.
    """
    n, m = kernel.shape
    Q = np.full(m, 1.0 / m)

    def phi(Q):
        KQ = kernel @ Q
        if np.any(KQ <= 0):
            return math.inf
        return float(Q.sum() - p @ np.log(KQ))

    value = phi(Q)
    for _ in range(NEWTON_ITER):
        KQ = kernel @ Q
        w = p / KQ
        grad = 1.0 - kernel.T @ w
        if np.abs(grad).max() <= NEWTON_TOL:
            return p / KQ, Q
        hess = kernel.T @ ((w / KQ)[:, None] * kernel)
        step = np.linalg.lstsq(hess, -grad, rcond=None)[0]
        decrement = float(-grad @ step)
        if not np.isfinite(decrement) or decrement <= 0:
            return None
        t = 1.0
        if decrement < 1e-10 and np.all(kernel @ (Q + step) > 0):
            # Inside the region of quadratic convergence the decrease is below the
            # rounding of phi, so a line search cannot see it: take the full step.
            trial = phi(Q + step)
        else:
            while t > 1e-12:
                trial = phi(Q + t * step)
                if trial <= value - 0.25 * t * decrement:
                    break
                t *= 0.5
            else:
                return None
        Q, value = Q + t * step, trial
        if value < -1e8:  # unbounded below: (13) has no positive solution
            return None
    return None


def _normaliser(p: np.ndarray, d: np.ndarray, lam: float, tol: float) -> _Normaliser:
    """Solve (13) for ``mu >= 0`` or raise :class:`NoTranslationError` saying why."""
    n, m = d.shape
    r, kernel = programs.scaled_kernel(d, lam)
    active = np.flatnonzero(np.isfinite(d).any(axis=1))
    # Each nu[x] <= 1 (the equation of x's nearest output), so an output whose column of
    # V' sums to less than 1 can never be normalised.
    column = kernel.sum(axis=0)
    short = np.flatnonzero(column < 1.0 - tol)
    if short.size:
        y = int(short[np.argmin(column[short])])
        raise NoTranslationError(
            f"at lam={lam:.10g}, output y={y} cannot be normalised: mu[x] <= exp(lam "
            f"min_y' d[x,y']) for every x (from the equation of x's nearest output), so "
            f"sum_x mu[x] exp(-lam d[x,y]) <= {column[y]:.6g} < 1 for every mu >= 0. "
            "(13) has no nonnegative solution; try a smaller lam, or drop outputs that "
            "are far from every source symbol.")
    M = kernel[active].T
    nu = np.zeros(n)
    unique, method = False, ""
    square = M.shape[0] == M.shape[1]
    cond = np.linalg.cond(M) if square else math.inf
    if square and cond < COND_MAX:
        sol = np.linalg.solve(M, np.ones(m))
        scale = max(1.0, float(np.abs(sol).max()))
        if sol.min() < -tol * scale:
            i = int(np.argmin(sol))
            x = int(active[i])
            raise NoTranslationError(
                f"at lam={lam:.10g}, (13) has exactly one solution (V = exp(-lam d) is "
                f"square and nonsingular, condition number {cond:.3g}) and it is "
                f"negative: mu[{x}] = {sol[i] * math.exp(lam * r[x]):.6g}. No "
                "nonnegative mu exists at this lam; try a larger lam (V tends to the "
                "identity pattern as lam grows).")
        nu[active] = np.clip(sol, 0.0, 1.0)
        unique, method = True, f"linear solve (condition number {cond:.3g})"
    else:
        rank = np.linalg.matrix_rank(M)
        unique = rank == active.size and (not square or cond < COND_MAX)
        support = np.flatnonzero(p > 0)
        newton = _newton_normaliser(p[support], kernel[support])
        if newton is not None:
            nu[support] = np.clip(newton[0], 0.0, 1.0)
            if float(np.abs(M @ nu[active] - 1.0).max()) <= tol:
                method = ("Newton's method on the dual of max sum_x p_x log mu_x subject to "
                          "(13)" + (" (the solution is unique)" if unique else ""))
            else:
                nu[:] = 0.0
        if not method:
            nu[active] = _lp_normaliser(M)
            residual = float(np.abs(M @ nu[active] - 1.0).max())
            if residual > tol:
                raise NoTranslationError(
                    f"at lam={lam:.10g}, (13) has no nonnegative solution: the best mu >= 0 "
                    f"(an LP, HiGHS) leaves max_y |sum_x mu[x] exp(-lam d[x,y]) - 1| = "
                    f"{residual:.3g} > tol={tol:.3g}. Try another lam (see "
                    "translation_interval for where solutions exist).")
            if unique:
                method = "LP (the solution is unique: V has full rank)"
            else:
                refined, method = _canonical_normaliser(p, d, lam, tol, nu)
                if float(np.abs(M @ refined[active] - 1.0).max()) <= tol:
                    nu = refined
                else:
                    method = "LP (the concave refinement missed the tolerance)"
    residual = float(np.abs(M @ nu[active] - 1.0).max())
    with np.errstate(divide="ignore"):
        log_mu = np.where(nu > 0, np.log(np.where(nu > 0, nu, 1.0)) + lam * r, -np.inf)
    dead = np.flatnonzero((p > 0) & (nu <= 0))
    if dead.size:
        x = int(dead[0])
        raise NoTranslationError(
            f"at lam={lam:.10g}, every nonnegative solution of (13) found has mu[{x}] = 0 "
            f"although p_x[{x}] = {p[x]:.6g} > 0: then P_X|U(x|u) = 0 for every u and "
            "the log-likelihood loss of x is infinite. Try another lam.")
    return _Normaliser(log_mu, nu, kernel, residual, unique, method)


def _coupling(p: np.ndarray, likelihood: np.ndarray) -> tuple[float, np.ndarray]:
    """``min_{Q in simplex} ||A Q - p||_1`` and its ``Q`` (HiGHS), recomputed in float64."""
    n, m = likelihood.shape
    cost = np.r_[np.zeros(m), np.ones(2 * n)]
    A_eq = np.vstack([np.hstack([likelihood, np.eye(n), -np.eye(n)]),
                      np.r_[np.ones(m), np.zeros(2 * n)][None, :]])
    res = linprog(cost, A_eq=A_eq, b_eq=np.r_[p, 1.0], bounds=(0.0, None), method="highs",
                  options=_HIGHS)
    if res.x is None:  # pragma: no cover - always feasible (any pmf Q)
        return math.inf, np.full(m, 1.0 / m)
    Q = np.clip(res.x[:m], 0.0, None)
    Q /= Q.sum()
    residual = float(np.abs(likelihood @ Q - p).sum())
    # Polish on the LP's support: the LP meets its equations only to its feasibility
    # tolerance, a least-squares solve on the same columns to rounding.
    support = np.flatnonzero(Q > 1e-12 * Q.max())
    polished = np.zeros(m)
    polished[support] = np.linalg.lstsq(likelihood[:, support], p, rcond=None)[0]
    if polished.min() >= 0 and polished.sum() > 0:
        polished /= polished.sum()
        polished_residual = float(np.abs(likelihood @ polished - p).sum())
        if polished_residual < residual:
            return polished_residual, polished
    return residual, Q


# ---------------------------------------------------------------------------
# translate
# ---------------------------------------------------------------------------


def _validated(p_x, d, normalize=False):
    p = check_pmf(p_x, "p_x", normalize=normalize)
    d = check_distortion(d, p.size, "d")
    check_rows_finite(d, p, "d")
    return p, d


def _reduced(p: np.ndarray, d: np.ndarray):
    """The problem on the symbols with ``p_x > 0`` (they alone determine ``R(D)``)."""
    support = np.flatnonzero(p > 0)
    return p[support], d[support], support


def _expand(values: np.ndarray, support: np.ndarray, n: int) -> np.ndarray:
    full = np.zeros(n)
    full[support] = values
    return full


def _check_lam(lam, name="lam") -> float:
    lam = check_scalar(lam, name)
    if lam <= 0:
        raise InvalidArgumentError(f"{name}={lam!r} must be > 0 (V = exp(-lam d) needs a "
                                   "positive exponent).")
    return lam


@dataclass(frozen=True, eq=False)
class Translation:
    r"""``(X, d)`` at ``lam`` as the log-likelihood problem ``(X, P_{X|U})``, (13)–(21).

    Attributes
    ----------
    lam : float
        The exponent in ``V = exp(-lam d)`` (per unit of ``d``; the paper's lambda).
    mu : ndarray (n,)
        The normalising weights of (13), ``mu >= 0`` (``inf`` only if
        ``lam * min_y d[x,y]`` overflows; use ``log_mu`` then).
    log_mu : ndarray (n,)
        ``log mu`` (``-inf`` where ``mu = 0``), computed without overflow.
    loglik : LogLikelihood
        The problem with ``P_{X|U} = diag(mu) exp(-lam d)`` (columns renormalised by
        at most ``residual``), in ``units``.
    residual : float
        ``max_y |sum_x mu_x exp(-lam d[x,y]) - 1|`` of the returned ``mu``.
    unique : bool
        Whether (13) has no other nonnegative solution. When it has several, ``mu``
        maximises ``sum_x p_x log mu_x`` among them (the only one that can satisfy
        Theorem 3's coupling, see :func:`~rdconvex.programs.single_parameter.at_lambda`).
    method : str
        How ``mu`` was found.
    units : str
        Units of rates and of log-likelihood distortions ``Dt``.
    """

    lam: float
    mu: np.ndarray
    log_mu: np.ndarray
    loglik: object
    residual: float
    unique: bool
    method: str
    units: str
    p_x: np.ndarray
    d: np.ndarray

    @property
    def offset(self) -> float:
        """``-sum_x p_x log mu_x`` in ``units``: ``Dt = lam D (in units) + offset``."""
        return self._offset_nats * UNITS[self.units]

    @property
    def _offset_nats(self) -> float:
        support = self.p_x > 0
        return float(-(self.p_x[support] @ self.log_mu[support]))

    def to_loglik(self, D) -> float:
        r"""(21): ``Dt = lam D - sum_x p_x log mu_x`` (``D`` in the units of ``d``,
        ``Dt`` in ``units``), so that ``R_ll(Dt) = R(D)``."""
        D = check_scalar(D, "D")
        return (self.lam * D + self._offset_nats) * UNITS[self.units]

    def from_loglik(self, Dt) -> float:
        """The inverse of (21): the classical ``D`` whose translate is ``Dt`` (``Dt`` in
        ``units``)."""
        Dt = check_scalar(Dt, "Dt") / UNITS[self.units]
        return (Dt - self._offset_nats) / self.lam

    def __repr__(self) -> str:
        return (f"Translation(lam={self.lam:.10g}, mu={np.array2string(self.mu, precision=6)}, "
                f"offset={self.offset:.10g} {self.units}, residual={self.residual:.1e}, "
                f"unique={self.unique})")


def translate(p_x, d, lam, *, units: str = "nats", normalize: bool = False,
              tol: float = TOL) -> Translation:
    r"""Write ``(X, d)`` at ``lam`` as a log-likelihood problem (13)–(21).

    Finds ``mu >= 0`` with

    .. math:: \sum_x \mu_x e^{-\lambda d(x,y)} = 1 \quad \forall y \qquad (13)

    and returns the :class:`Translation` with ``P_{X|U} = diag(mu) exp(-lam d)``, for
    which ``R_ll(lam D - sum_x p_x log mu_x) = R(D)`` (20)–(21).

    How ``mu`` is found: rows are scaled in log space (``mu_x = exp(lam r_x) nu_x``,
    ``r_x = min_y d(x,y)``, so ``0 <= nu <= 1`` and large ``lam d`` does not underflow).
    A square, well-conditioned system (condition number below ``COND_MAX``) is solved
    directly (its solution is the only candidate). Otherwise an LP (HiGHS) finds the
    nonnegative ``mu`` closest to solving (13) in L1; if it solves (13) to ``tol``
    and is not unique, the solution with the largest ``sum_x p_x log mu_x`` is taken
    (the only one Theorem 3 can use).

    Parameters
    ----------
    p_x : array_like (n,)
        Source pmf.
    d : array_like (n, m)
        Distortion, entries in ``[0, inf]``.
    lam : float
        ``lam > 0``.
    units : {"nats", "bits"}
        Units of the log-likelihood problem (rates and ``Dt``).
    normalize : bool
        Rescale ``p_x`` to sum to 1.
    tol : float
        Accepted residual ``max_y |sum_x mu_x V[x,y] - 1|``.

    Returns
    -------
    Translation

    Raises
    ------
    NoTranslationError
        (13) has no nonnegative solution at ``lam`` (the message says why), or every
        solution vanishes on a symbol with positive probability.
    InvalidArgumentError
        ``lam <= 0``, or ``lam`` so large that ``P_{X|U}`` underflows float64 on a pair
        ``d`` allows (the log-likelihood problem would forbid it).

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> tr = rdc.translate([0.8, 0.2], 1 - np.eye(2), lam=2.0)
    >>> tr.mu.round(6).tolist(), round(tr.to_loglik(0.1), 6)
    ([0.880797, 0.880797], 0.326928)
    """
    units = check_units(units)
    p, d = _validated(p_x, d, normalize)
    lam = _check_lam(lam)
    tol = check_scalar(tol, "tol", minimum=0.0)
    sol = _normaliser(p, d, lam, tol)
    likelihood = sol.nu[:, None] * sol.kernel
    with np.errstate(divide="ignore"):
        log_likelihood = np.log(sol.nu)[:, None] + np.log(sol.kernel)
    lost = np.isfinite(d) & (sol.nu[:, None] > 0) & (log_likelihood < LOG_TINY)
    if lost.any():
        x, y = np.argwhere(lost)[0]
        finite = np.isfinite(d)
        spread = float((d - programs.row_minima(d)[:, None])[finite].max())
        raise InvalidArgumentError(
            f"lam={lam!r} is too large for this d: P_X|U[{x}, {y}] = exp({log_likelihood[x, y]:.1f})"
            f" underflows float64, so the log-likelihood problem would forbid the pair "
            f"({x}, {y}) that d allows. Use lam <= {-LOG_TINY / spread:.6g} (or mark far "
            "pairs as inf in d).")
    from .loglik import LogLikelihood

    loglik = LogLikelihood(p, likelihood, units=units, normalize=True)
    with np.errstate(over="ignore"):
        mu = np.exp(sol.log_mu)
    for arr in (mu, sol.log_mu, p, d):
        arr.flags.writeable = False
    return Translation(lam=lam, mu=mu, log_mu=sol.log_mu, loglik=loglik,
                       residual=sol.residual, unique=sol.unique, method=sol.method,
                       units=units, p_x=p, d=d)


# ---------------------------------------------------------------------------
# The set I
# ---------------------------------------------------------------------------


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


def _membership(p, d, lam, tol) -> Membership:
    try:
        sol = _normaliser(p, d, lam, tol)
    except NoTranslationError as exc:
        return Membership(lam, False, str(exc))
    likelihood = sol.nu[:, None] * sol.kernel
    residual, Q = _coupling(p, likelihood)
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
    ``max_y |sum_x mu_x V[x,y] - 1| <= tol``, found as in :func:`translate`) and some
    output pmf ``Q`` couples with ``p``:

    .. math:: \min_{Q \in \Delta} \sum_x \Big| \sum_y Q_y \mu_x V[x,y] - p_x \Big|
              \le \mathrm{tol}

    (an LP, HiGHS, whose optimum is recomputed in float64 from the returned ``Q``).
    Source symbols with ``p_x = 0`` are dropped first (they change neither ``R(D)``
    nor (22)); their ``mu`` is reported as 0. Returns a :class:`Membership` with
    ``member``, ``reason``, ``mu``, ``output_pmf``, both residuals and ``likelihood``
    (``diag(mu) exp(-lam d)``, the translated ``P_{X|U}``).
    """
    p, d = _validated(p_x, d, normalize)
    p_s, d_s, support = _reduced(p, d)
    member = _membership(p_s, d_s, _check_lam(lam), check_scalar(tol, "tol", minimum=0.0))
    if member.mu is None:
        return member
    likelihood = np.zeros((p.size, d.shape[1]))
    likelihood[support] = member.likelihood
    return Membership(member.lam, member.member, member.reason,
                      _expand(member.mu, support, p.size), member.output_pmf,
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
    excess = rows - programs.row_minima(rows)[:, None]
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
    lo, hi = _check_lam(lo, "lam_range[0]"), _check_lam(hi, "lam_range[1]")
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


def _search(p, d, lam_range, num, tol, xtol) -> LambdaIntervals:
    lo, hi = lam_range
    grid = np.geomspace(lo, hi, num)
    cache: dict[float, bool] = {}

    def test(lam: float) -> bool:
        if lam not in cache:
            cache[lam] = _membership(p, d, lam, tol).member
        return cache[lam]

    member = [test(float(lam)) for lam in grid]
    intervals, open_left, open_right = [], [], []
    i = 0
    while i < num:
        if not member[i]:
            i += 1
            continue
        j = i
        while j + 1 < num and member[j + 1]:
            j += 1
        left = float(grid[0]) if i == 0 else _bisect(test, float(grid[i]),
                                                     float(grid[i - 1]), xtol)
        right = float(grid[-1]) if j == num - 1 else _bisect(test, float(grid[j]),
                                                             float(grid[j + 1]), xtol)
        intervals.append((left, right))
        open_left.append(i == 0)
        open_right.append(j == num - 1)
        i = j + 1
    return LambdaIntervals(tuple(intervals), (lo, hi), num, tol, xtol, tuple(open_left),
                           tuple(open_right))


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
    p_x, d : array_like
        The problem ``(X, d)``.
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
    """
    p, d = _validated(p_x, d, normalize)
    p, d, _ = _reduced(p, d)
    lam_range = _check_range(lam_range, d, p)
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 2:
        raise InvalidArgumentError(f"num={num!r} must be an integer >= 2 (grid points).")
    tol = check_scalar(tol, "tol", minimum=0.0)
    xtol = check_scalar(xtol, "xtol", minimum=0.0)
    if xtol <= 0:
        raise InvalidArgumentError(f"xtol={xtol!r} must be > 0.")
    return _search(p, d, lam_range, int(num), tol, xtol)


# ---------------------------------------------------------------------------
# (22)
# ---------------------------------------------------------------------------


def _objective(p, d, D, lam, tol) -> tuple[float, _Normaliser]:
    """(22)'s objective at ``lam`` in nats, made a certified lower bound: ``mu`` is
    divided by ``M = max_y sum_x mu_x V[x,y]`` so that ``V^T mu <= 1`` exactly."""
    sol = _normaliser(p, d, lam, tol)
    support = p > 0
    r = programs.row_minima(d)
    log_mu_scaled = np.log(sol.nu[support]) + lam * r[support]
    with np.errstate(divide="ignore"):
        log_columns = logsumexp(np.log(sol.nu)[:, None] + np.log(sol.kernel), axis=0)
    log_M = float(log_columns.max())
    entropy = float(entr(p).sum())
    value = entropy + float(p[support] @ log_mu_scaled) - log_M - lam * D
    return value, sol


def single_parameter_bound(p_x, d, D, lam, *, units: str = "nats", tol: float = TOL,
                           normalize: bool = False) -> float:
    r"""The objective of (22) at one ``lam``: a certified lower bound on ``R(D)``.

    .. math:: H(X) + \sum_x p_x \log \mu(x, \lambda) - \lambda D \;\le\; R(D)

    Valid for every ``lam`` at which (13) has a solution ``mu >= 0`` (coupling is
    not needed): ``mu_x = p_x e^{g_x}`` is a feasible point of the Gallager/Csiszár
    dual. To make the bound exact in floating point, ``mu`` is first divided by
    ``max_y sum_x mu_x exp(-lam d[x,y])`` (``1 + residual``).

    Raises
    ------
    NoTranslationError
        (13) has no nonnegative solution at ``lam``.
    """
    units = check_units(units)
    p, d = _validated(p_x, d, normalize)
    p, d, _ = _reduced(p, d)
    D = check_scalar(D, "D")
    value, _ = _objective(p, d, D, _check_lam(lam), check_scalar(tol, "tol", minimum=0.0))
    return value * UNITS[units]


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
    mu : ndarray (n,)
        ``mu(., lam*)`` of (13).
    output_pmf : ndarray (m,)
        The coupled ``Q_Y`` at ``lam*`` (the optimal output pmf when exact).
    I : tuple of (float, float)
        The computed intervals of ``I`` (``search`` says how).
    exact : bool
        Whether (22) equals ``R(D)`` here: the maximiser is interior to ``I`` (then
        Theorem 3 applies), or its value reaches the reference certificate's lower
        bound (within ``10 tol`` nats).
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


def single_parameter_dual(p_x, d, D, *, units: str = "nats", lam_range=None,
                          num: int = GRID, tol: float = TOL, xtol: float = XTOL,
                          solver: str = "clarabel", normalize: bool = False,
                          interval: LambdaIntervals | None = None) -> SingleParameterDual:
    r"""``R(D)`` by the single-parameter dual (22) (Theorem 3), checked against a solver.

    .. math::
        R(D) = \max_{\lambda \in \mathcal I}\; H(X) + \sum_x p_x \log \mu(x,\lambda)
        - \lambda D \qquad (22)

    1. ``I`` is computed by :func:`translation_interval` (grid + bisection on the
       exact-up-to-``tol`` membership test; the range, grid and ``tol`` are in
       ``result.search``).
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
    p_x, d : array_like
        The problem ``(X, d)``.
    D : float
        Distortion (units of ``d``), ``D >= D_min``.
    units : {"nats", "bits"}
        Units of ``rate``.
    lam_range, num, tol, xtol :
        The search of ``I`` (see :func:`translation_interval`).
    solver : str
        Solver of the reference ``R(D)``.
    interval : LambdaIntervals, optional
        ``I`` from :func:`translation_interval` for this same problem, to reuse it
        across many ``D`` (then ``lam_range``, ``num``, ``tol``, ``xtol`` are its own).

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
    from .ratedistortion import RateDistortion

    units = check_units(units)
    p, d = _validated(p_x, d, normalize)
    D = check_scalar(D, "D")
    prob = RateDistortion(p, d, units=units)
    reference = prob.solve(D=D, solver=solver)
    if interval is None:
        search = translation_interval(p, d, lam_range=lam_range, num=num, tol=tol, xtol=xtol)
    elif isinstance(interval, LambdaIntervals):
        search = interval
        tol, xtol = search.tol, search.xtol
    else:
        raise InvalidArgumentError(
            f"interval={interval!r} must be the LambdaIntervals returned by "
            "translation_interval(p_x, d) for this problem (or None to compute it).")
    n = p.size
    p_full, d_full = p, d
    p, d, support = _reduced(p, d)
    scale = UNITS[units]
    if not search:
        c = reference.certificate
        raise NoTranslationError(
            f"I is empty on the searched range: {search}. For no lam there does (13) have "
            "a nonnegative solution mu that couples with p, so Theorem 3 does not apply and "
            f"(22) gives nothing here. The solver gives R({D:g}) in [{c.lower:.10g}, "
            f"{c.upper:.10g}] {units}; widen lam_range or use RateDistortion.solve.")

    def value(lam):
        try:
            return _objective(p, d, D, lam, tol)[0]
        except NoTranslationError:
            return -math.inf

    d_finite = np.where(np.isfinite(d), d, 0.0)

    def derivative(lam):
        """d(22)/dlam on I = E d under the coupled joint Q_y mu_x V[x,y], minus D (the
        envelope theorem: on I (22) is the Lagrange dual function of (2))."""
        member = _membership(p, d, lam, tol)
        if not member.member:
            raise NoTranslationError(f"lam={lam:.10g} inside a computed interval is not in I")
        joint = member.likelihood * member.output_pmf[None, :]
        return float((joint * d_finite).sum()) - D

    best = (-math.inf, None, None, False)
    for lo, hi in search.intervals:
        candidates = []
        try:
            slope_lo, slope_hi = derivative(lo), derivative(hi)
            if slope_lo > 0 > slope_hi:
                # The derivative is monotone (concavity): its root is lam*, found to
                # rounding (the value alone pins lam* only to ~sqrt(eps)).
                t = brentq(lambda t: derivative(math.exp(t)), math.log(lo), math.log(hi),
                           xtol=1e-15, rtol=4 * np.finfo(float).eps)
                candidates.append((min(max(math.exp(t), lo), hi), True))
            else:
                candidates.append((lo if slope_lo <= 0 else hi, False))
        except NoTranslationError:
            # A gap of I narrower than the grid: fall back to the values.
            candidates += [(lo, False), (hi, False)]
            if hi > lo * (1 + 4 * xtol):
                opt = minimize_scalar(lambda t: -value(math.exp(t)),
                                      bounds=(math.log(lo), math.log(hi)), method="bounded",
                                      options={"xatol": xtol})
                candidates.append((min(max(math.exp(float(opt.x)), lo), hi), False))
        for lam, stationary in candidates:
            v = value(lam)
            if v > best[0]:
                best = (v, lam, (lo, hi), stationary)
    rate_nats, lam_star, (lo, hi), interior = best
    if not math.isfinite(rate_nats):  # pragma: no cover - the ends are verified members
        raise NoTranslationError("(13) failed at every candidate lam in I.")
    cert = reference.certificate
    slack = 10 * tol * scale
    if interior:
        exact, reason = True, (
            f"the maximiser lam*={lam_star:.10g} is inside I's interval [{lo:.10g}, "
            f"{hi:.10g}]: a stationary point of the concave dual function (the coupled "
            f"channel has distortion D), so (22) = R(D) (Theorem 3)")
    elif rate_nats * scale >= cert.lower - slack:
        exact, reason = True, (
            f"the maximiser lam*={lam_star:.10g} is an end of I's interval [{lo:.10g}, "
            f"{hi:.10g}], but (22) = {rate_nats * scale:.10g} reaches the certified lower "
            f"bound {cert.lower:.10g} of R(D) ({reference.solver})")
    else:
        exact, reason = False, (
            f"the maximiser lam*={lam_star:.10g} is an end of I's interval [{lo:.10g}, "
            f"{hi:.10g}] and (22) = {rate_nats * scale:.10g} < R(D) in [{cert.lower:.10g}, "
            f"{cert.upper:.10g}] ({reference.solver}): the slope of R at D "
            f"({reference.slope:.6g} {units}/unit) lies outside I, so (22) is only a lower "
            "bound here")
    if rate_nats * scale > cert.upper + slack:  # pragma: no cover - would be a bug
        warnings.warn(f"(22) = {rate_nats * scale:.10g} exceeds the certified upper bound "
                      f"{cert.upper:.10g}: a tolerance problem; tighten tol.", RuntimeWarning,
                      stacklevel=2)
    # lam* has a finite value, so (13) is solvable there and the test returns mu and Q.
    member = _membership(p, d, lam_star, tol)
    mu, Q = _expand(member.mu, support, n), member.output_pmf
    for arr in (mu, Q, p_full, d_full):
        arr.flags.writeable = False
    return SingleParameterDual(
        rate=rate_nats * scale, lam=lam_star, mu=mu, output_pmf=Q, I=search.intervals,
        exact=exact, interior=interior, reason=reason, D=D, units=units,
        entropy=float(entr(p).sum()) * scale, reference=reference, search=search,
        p_x=p_full, d=d_full)


__all__ = ["translate", "Translation", "NoTranslationError", "in_interval", "Membership",
           "translation_interval", "LambdaIntervals", "default_lam_range",
           "single_parameter_bound", "single_parameter_dual", "SingleParameterDual"]
