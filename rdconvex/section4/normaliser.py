r"""The normalising weights ``mu`` of (13), the first step of every Section IV computation.

For ``lam > 0`` find ``mu >= 0`` with

.. math:: \sum_x \mu_x e^{-\lambda d(x,y)} = 1 \quad \text{for every } y. \qquad (13)

Rows are scaled in log space first (:func:`~rdconvex.programs.single_parameter.scaled_kernel`:
``mu_x = e^{lam r_x} nu_x``, ``r_x = min_y d(x,y)``, so ``0 <= nu <= 1``). Then, in order:

1. a square system with condition number below :data:`COND_MAX`: one linear solve (the
   only candidate; a negative entry means no ``mu >= 0`` exists);
2. otherwise Newton's method on the dual of ``max sum_x p_x log mu_x`` subject to (13)
   (:func:`newton_normaliser`: when (13) has many solutions this is the one Theorem 3
   can use, found to rounding);
3. if that fails, an LP (HiGHS, :func:`lp_normaliser`) decides whether any ``mu >= 0``
   solves (13) to ``tol``; a non-unique LP solution is refined by the concave program
   :func:`~rdconvex.programs.single_parameter.at_lambda` (a conic solver, accurate to
   its tolerance only: the last resort).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import NoTranslationError
from ..numerics import safe_log
from ..programs import single_parameter as programs
from ..results import Status
from ..solvers import get_solver

#: A square ``V`` (rows scaled to maximum 1) with a larger condition number is treated as
#: numerically singular: (13) is then decided by Newton's method or an LP.
COND_MAX = 1e8

#: HiGHS primal and dual feasibility tolerance of the Section IV LPs (normaliser, coupling).
LP_TOL = 1e-10

#: Newton's method on the dual of (13)'s canonical solution: iterations and stopping
#: gradient (the equations sum_x mu_x V[x,y] = 1 hold to about this).
NEWTON_ITER = 200
NEWTON_TOL = 1e-12


@dataclass(frozen=True, eq=False)
class Normaliser:
    """A solution of (13) at one ``lam``, in row-scaled form (see the module docstring)."""

    log_mu: np.ndarray      # (n,), -inf where mu = 0
    nu: np.ndarray          # mu = exp(lam r) nu, 0 <= nu <= 1
    kernel: np.ndarray      # V'[x,y] = exp(-lam (d - r[x]))
    row_min: np.ndarray     # r[x] = min_y d[x,y]
    residual: float         # max_y |sum_x mu_x V[x,y] - 1|
    unique: bool
    method: str

    @property
    def likelihood(self) -> np.ndarray:
        """``diag(mu) exp(-lam d)``: the translated ``P_{X|U}``."""
        return self.nu[:, None] * self.kernel


def lp_normaliser(M: np.ndarray) -> np.ndarray:
    """``argmin_{0 <= nu <= 1} ||M nu - 1||_1`` (an LP, HiGHS)."""
    m, n = M.shape
    cost = np.r_[np.zeros(n), np.ones(2 * m)]
    A_eq = np.hstack([M, np.eye(m), -np.eye(m)])
    bounds = [(0.0, 1.0)] * n + [(0.0, None)] * (2 * m)
    sol = get_solver("highs", task="lp").solve_lp(cost, A_eq=A_eq, b_eq=np.ones(m),
                                                  bounds=bounds, tol=LP_TOL)
    if sol.x is None:  # pragma: no cover - the LP is always feasible (nu = 0)
        return np.zeros(n)
    return np.clip(sol.x[:n], 0.0, 1.0)


def canonical_normaliser(p, d, lam, tol, fallback) -> tuple[np.ndarray, str]:
    """The ``nu`` of (13) with the largest ``sum_x p_x log mu_x``, by the program
    :func:`~rdconvex.programs.single_parameter.at_lambda` (the default conic solver;
    ``fallback`` if it fails)."""
    program = programs.at_lambda(p, d, lam, tol=tol)
    adapter = get_solver(None, task="program")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = adapter.solve(program)
    solved = all(v.value is not None for v in program.variables_by_name.values())
    if info.status not in (Status.OPTIMAL, Status.OPTIMAL_INACCURATE) or not solved:
        return fallback, "LP (the concave refinement failed)"
    return (program.read_point().nu,
            f"LP + max sum_x p_x log mu_x over the solutions ({adapter.NAME}, solver "
            "accuracy)")


def _dual_function(kernel: np.ndarray, p: np.ndarray, Q: np.ndarray) -> float:
    KQ = kernel @ Q
    if np.any(KQ <= 0):
        return math.inf
    return float(Q.sum() - p @ np.log(KQ))


def _newton_step(kernel, p, Q, value, step, decrement):
    """Backtracking (Armijo) along ``step``: ``(Q, value)`` after it, or None."""
    if decrement < 1e-10 and np.all(kernel @ (Q + step) > 0):
        # Inside the region of quadratic convergence the decrease is below the rounding
        # of the dual function, so a line search cannot see it: take the full step.
        return Q + step, _dual_function(kernel, p, Q + step)
    t = 1.0
    while t > 1e-12:
        trial = _dual_function(kernel, p, Q + t * step)
        if trial <= value - 0.25 * t * decrement:
            return Q + t * step, trial
        t *= 0.5
    return None


def newton_normaliser(p: np.ndarray, kernel: np.ndarray):
    r"""``nu = p / (K Q)`` with ``Q`` minimising the convex dual
    ``phi(Q) = sum_y Q_y - sum_x p_x log (K Q)_x`` (rows with ``p_x > 0`` only).

    ``phi`` is the Lagrange dual of ``max sum_x p_x log nu_x s.t. K^T nu = 1``: its
    stationarity ``sum_x p_x K[x,y] / (K Q)_x = 1`` is (13) with ``nu = p / (K Q)``,
    and the multiplier ``Q`` is the coupled output pmf when it is ``>= 0``. Newton's
    method converges quadratically, so ``nu`` is accurate to rounding (a first-order
    or interior-point solver would leave the maximiser accurate only to about the
    square root of its tolerance). Returns ``(nu, Q)``, or ``None`` if ``phi`` has no
    minimiser (no positive solution of (13) on these rows) or Newton stalls.
    """
    Q = np.full(kernel.shape[1], 1.0 / kernel.shape[1])
    value = _dual_function(kernel, p, Q)
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
        moved = _newton_step(kernel, p, Q, value, step, decrement)
        if moved is None:
            return None
        Q, value = moved
        if value < -1e8:  # unbounded below: (13) has no positive solution
            return None
    return None


def _residual(M: np.ndarray, nu_active: np.ndarray) -> float:
    return float(np.abs(M @ nu_active - 1.0).max())


def _check_columns(kernel: np.ndarray, lam: float, tol: float) -> None:
    """Each ``nu[x] <= 1`` (the equation of ``x``'s nearest output), so an output whose
    column of ``V'`` sums to less than 1 can never be normalised."""
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


def _square_solution(M, active, r, lam, tol, cond) -> np.ndarray:
    """The one solution of a square, well-conditioned (13) on the active rows."""
    sol = np.linalg.solve(M, np.ones(M.shape[0]))
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
    return np.clip(sol, 0.0, 1.0)


def _newton_solution(p, kernel, M, active, tol, unique) -> tuple[np.ndarray | None, str]:
    """Newton's canonical solution if it solves (13) to ``tol``, else ``(None, "")``."""
    support = np.flatnonzero(p > 0)
    newton = newton_normaliser(p[support], kernel[support])
    if newton is None:
        return None, ""
    nu = np.zeros(p.size)
    nu[support] = np.clip(newton[0], 0.0, 1.0)
    if _residual(M, nu[active]) > tol:
        return None, ""
    return nu, ("Newton's method on the dual of max sum_x p_x log mu_x subject to (13)"
                + (" (the solution is unique)" if unique else ""))


def _lp_solution(p, d, lam, tol, M, active, unique) -> tuple[np.ndarray, str]:
    """The LP's ``nu`` (refined to the canonical one when not unique), or raise."""
    nu = np.zeros(p.size)
    nu[active] = lp_normaliser(M)
    residual = _residual(M, nu[active])
    if residual > tol:
        raise NoTranslationError(
            f"at lam={lam:.10g}, (13) has no nonnegative solution: the best mu >= 0 "
            f"(an LP, HiGHS) leaves max_y |sum_x mu[x] exp(-lam d[x,y]) - 1| = "
            f"{residual:.3g} > tol={tol:.3g}. Try another lam (see "
            "translation_interval for where solutions exist).")
    if unique:
        return nu, "LP (the solution is unique: V has full rank)"
    refined, method = canonical_normaliser(p, d, lam, tol, nu)
    if _residual(M, refined[active]) <= tol:
        return refined, method
    return nu, "LP (the concave refinement missed the tolerance)"


def solve_normaliser(p: np.ndarray, d: np.ndarray, lam: float, tol: float) -> Normaliser:
    """Solve (13) for ``mu >= 0`` (see the module docstring for how), or raise
    :class:`NoTranslationError` saying why there is none."""
    r, kernel = programs.scaled_kernel(d, lam)
    _check_columns(kernel, lam, tol)
    active = np.flatnonzero(np.isfinite(d).any(axis=1))
    M = kernel[active].T
    square = M.shape[0] == M.shape[1]
    cond = np.linalg.cond(M) if square else math.inf
    if square and cond < COND_MAX:
        nu = np.zeros(p.size)
        nu[active] = _square_solution(M, active, r, lam, tol, cond)
        unique, method = True, f"linear solve (condition number {cond:.3g})"
    else:
        unique = bool(np.linalg.matrix_rank(M) == active.size and not square)
        nu, method = _newton_solution(p, kernel, M, active, tol, unique)
        if nu is None:
            nu, method = _lp_solution(p, d, lam, tol, M, active, unique)
    log_mu = safe_log(nu) + lam * r
    dead = np.flatnonzero((p > 0) & (nu <= 0))
    if dead.size:
        x = int(dead[0])
        raise NoTranslationError(
            f"at lam={lam:.10g}, every nonnegative solution of (13) found has mu[{x}] = 0 "
            f"although p_x[{x}] = {p[x]:.6g} > 0: then P_X|U(x|u) = 0 for every u and "
            "the log-likelihood loss of x is infinite. Try another lam.")
    return Normaliser(log_mu, nu, kernel, r, _residual(M, nu[active]), unique, method)


__all__ = ["COND_MAX", "LP_TOL", "NEWTON_ITER", "NEWTON_TOL", "Normaliser", "lp_normaliser",
           "canonical_normaliser", "newton_normaliser", "solve_normaliser"]
