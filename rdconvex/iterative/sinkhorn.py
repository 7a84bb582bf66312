r"""Log-domain Sinkhorn for the rate at a fixed output pmf: ``R(D, 0)`` as entropic OT.

With the output pmf fixed to ``b`` (for perfect perception ``b = p``), the mutual
information of a coupling ``J`` with marginals ``(a, b)`` is ``KL(J || a b^T)``, so

.. math::
    R_b(D) = \min_{J \in \Pi(a, b),\ \langle J, d\rangle \le D} \mathrm{KL}(J \,\|\, a b^\top)

is an entropic optimal-transport problem. At multiplier ``lam >= 0`` its solution is
``J = diag(a e^f) exp(-lam d) diag(b e^g)`` (Sinkhorn scaling, computed here with
potentials ``f, g`` in log space so large ``lam`` does not underflow), and the
distortion ``D(lam) = <J_lam, d>`` decreases from the independent coupling's
``a^T d b`` at ``lam = 0`` to the optimal-transport cost as ``lam -> inf``; a
safeguarded (Brent) root search on ``lam`` hits a target ``D``.

What it hands to the certificate layer (:mod:`rdconvex.certify.perfect_perception`,
which proves every bound, with outward rounding, for the exact problem):

* the potentials ``(lam, f, g)`` of every multiplier the search evaluated (each gives
  an entropic-dual **lower** bound);
* the coupling at the root, rounded in float64 with Altschuler–Weed–Rigollet's
  ``round`` (so its marginals are ``(a, b)`` up to float64 rounding), mixed with the
  rounded coupling from the other side of the bracket so its float distortion is
  ``<= D``: the certificate rounds it again to the *exact* marginals and bounds the
  mutual information of that coupling (the **upper** bound).

Callers pass shifted, scaled data (``d - min_y d`` over ``max``), so the multiplier is
of order 1/D whatever offset or scale the distortion has.

References
----------
.. [1] M. Cuturi, "Sinkhorn distances: lightspeed computation of optimal transport",
   NeurIPS 2013.
.. [2] J. Altschuler, J. Weed, P. Rigollet, "Near-linear time approximation algorithms
   for optimal transport via Sinkhorn iteration", NeurIPS 2017 (Algorithm 2, ROUND).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

from ..errors import InvalidArgumentError
from ..numerics import log_kernel, safe_log

#: Default marginal tolerance (l1 norm of the row-marginal error) of one Sinkhorn solve.
DEFAULT_TOL = 1e-12
#: Default cap on Sinkhorn sweeps per multiplier.
DEFAULT_MAX_ITER = 20_000
#: Sinkhorn sweeps before switching to Newton steps on the semi-dual.
NEWTON_AFTER = 100
#: Largest multiplier tried when the target D is close to the optimal-transport cost.
DEFAULT_LAM_MAX = 1e4


@dataclass(frozen=True)
class SinkhornPotentials:
    """Potentials of one entropic-OT solve: ``J = exp(log a + log b + f + g - lam C)``."""

    lam: float
    f: np.ndarray
    g: np.ndarray
    log_coupling: np.ndarray
    marginal_error: float
    iterations: int
    converged: bool


def sinkhorn(a, b, cost, lam: float, *, f0=None, tol: float = DEFAULT_TOL,
             max_iter: int = DEFAULT_MAX_ITER,
             newton_after: int = NEWTON_AFTER) -> SinkhornPotentials:
    r"""Log-domain Sinkhorn scaling for marginals ``(a, b)`` at multiplier ``lam``.

    Finds potentials with ``J_{xy} = a_x b_y \exp(f_x + g_y - \lambda C_{xy})``,
    ``J 1 = a`` and ``J^T 1 = b``, i.e. the minimiser of
    ``KL(J || a b^T) + lam <J, C>`` over couplings of ``a`` and ``b``:

    .. math::
        f_x \leftarrow -\log\sum_y b_y e^{g_y - \lambda C_{xy}},\qquad
        g_y \leftarrow -\log\sum_x a_x e^{f_x - \lambda C_{xy}}.

    Parameters
    ----------
    a : ndarray (n,)
        Row marginal, every entry > 0.
    b : ndarray (m,)
        Column marginal, entries >= 0 (zero columns carry no mass).
    cost : ndarray (n, m)
        Entries in ``[0, inf]``; ``inf`` pairs get no mass.
    lam : float
        Multiplier ``>= 0``.
    f0 : ndarray (n,), optional
        Warm start for ``f``.
    tol : float
        Stop when the l1 error of the row marginal (columns are exact after each
        sweep) is ``<= tol``.
    max_iter : int
        Cap on sweeps (a Newton step counts as one).
    newton_after : int
        If the sweeps have not met ``tol`` after this many, polish with damped Newton
        steps on the semi-dual (Sinkhorn–Newton, Brauer et al. 2017); ``0`` disables.

    Returns
    -------
    SinkhornPotentials
        ``converged`` says whether ``tol`` was met.

    Examples
    --------
    >>> import numpy as np
    >>> sol = sinkhorn(np.array([0.5, 0.5]), np.array([0.5, 0.5]), 1 - np.eye(2), 1.0)
    >>> J = np.exp(sol.log_coupling)
    >>> np.allclose(J.sum(axis=1), 0.5), round(float(J[0, 1]), 6)
    (True, 0.134471)
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    log_a, log_b = np.log(a), safe_log(b)
    kernel = log_kernel(np.asarray(cost, dtype=float), float(lam))
    f = np.zeros(a.size) if f0 is None else np.array(f0, dtype=float)
    error, it, stalls = math.inf, 0, 0
    while it < max_iter:
        start_error = error
        # Sweeps in the linear domain on the current coupling (two matrix-vector
        # products each, no exponentials), absorbed back into f before the scalings
        # leave a safe range; the log-domain sweep below takes over when they cannot.
        f, error, done = _linear_sweeps(log_a, log_b, a, b, kernel, f, tol,
                                        min(max_iter - it, newton_after or max_iter))
        it += done
        if error <= tol or it >= max_iter:
            break
        it += 1
        f, error = _sweep(log_a, log_b, a, kernel, f)
        if error <= tol:
            break
        if newton_after and it >= newton_after:
            # Sinkhorn is linear with a rate that degrades like exp(-lam * spread):
            # finish with Newton steps on the semi-dual (quadratic near the optimum).
            f, error, steps = _newton(log_a, log_b, a, b, kernel, f, error, tol,
                                      max_iter - it)
            it += steps
            if error <= tol:
                break
        # A round of sweeps and Newton steps that no longer halves the error has met
        # the floating-point floor (or an infeasible support): stop, unconverged.
        stalls = stalls + 1 if not error < 0.5 * start_error else 0
        if stalls >= 3:
            break
    g = _column_update(log_a, f, kernel)
    log_coupling = (log_a + f)[:, None] + (log_b + g)[None, :] + kernel
    return SinkhornPotentials(float(lam), f, g, log_coupling, error, it, error <= tol)


#: Absorb the linear-domain scalings into the potentials once |log| exceeds this.
ABSORB = 30.0


def _linear_sweeps(log_a, log_b, a, b, kernel, f, tol, budget):
    """Up to ``budget`` Sinkhorn sweeps as ``J = diag(u) K diag(v)`` with ``K`` the
    coupling at ``f`` (columns exact). Returns ``(f, row error, sweeps done)``; stops
    early (for the log-domain sweep to continue) when a scaling leaves ``e^+-ABSORB``
    or a row or column of ``K`` has underflowed to zero."""
    if budget <= 0:
        return f, math.inf, 0
    g = _column_update(log_a, f, kernel)
    K = np.exp((log_a + f)[:, None] + kernel + (log_b + g)[None, :])
    cols = b > 0
    u, v = np.ones(a.size), np.ones(b.size)
    error, done = math.inf, 0
    while done < budget:
        row = u * (K @ v)
        if not np.all(row > 0) or not np.all(np.isfinite(row)):
            break
        error = float(np.sum(np.abs(row - a)))
        if error <= tol:
            break
        done += 1
        u = u * (a / row)
        col = v * (u @ K)
        if not np.all(col[cols] > 0):
            break
        v[cols] = v[cols] * (b[cols] / col[cols])
        if np.max(np.abs(np.log(u))) > ABSORB or np.max(np.abs(np.log(v[cols]))) > ABSORB:
            break
    f = f + np.log(u)  # g is recomputed from f (columns exact) by every caller
    if error > tol:
        error = _row_error(log_a, log_b, a, kernel, f)
    return f, error, max(done, 1)


def _sweep(log_a, log_b, a, kernel, f):
    """One Sinkhorn sweep (columns, then rows); returns the new f and the row error
    of the coupling *before* the row update (columns exact)."""
    g = _column_update(log_a, f, kernel)
    row = logsumexp(kernel + (log_b + g)[None, :], axis=1)
    with np.errstate(over="ignore"):  # a huge error is still an error (inf)
        error = float(np.sum(np.abs(np.expm1(f + row) * a)))
    return (f if error == 0.0 else -row), error


def _row_error(log_a, log_b, a, kernel, f):
    g = _column_update(log_a, f, kernel)
    row = logsumexp(kernel + (log_b + g)[None, :], axis=1)
    with np.errstate(over="ignore"):
        return float(np.sum(np.abs(np.expm1(f + row) * a)))


def _newton(log_a, log_b, a, b, kernel, f, error, tol, budget):
    r"""Damped Newton ascent on the semi-dual ``a.f - sum_y b_y log sum_x a_x
    e^{f_x - lam C_xy}`` (concave; Hessian ``-(diag(J 1) - J diag(1/b) J^T)``, null
    direction ``1``), each step accepted only if it lowers the row-marginal error."""
    cols = b > 0
    steps = 0
    while steps < min(budget, 50) and error > tol:
        steps += 1
        logits = kernel[:, cols] + (log_a + f)[:, None]
        post = np.exp(logits - logsumexp(logits, axis=0, keepdims=True))
        J = post * b[cols][None, :]
        r = J.sum(axis=1)
        hess = np.diag(r) - (post * b[cols][None, :]) @ post.T
        hess += np.full(hess.shape, float(np.mean(r)))  # fix the shift direction
        try:
            delta = np.linalg.solve(hess, a - r)
        except np.linalg.LinAlgError:
            break
        t, improved = 1.0, False
        for _ in range(30):
            trial = f + t * delta
            trial_error = _row_error(log_a, log_b, a, kernel, trial)
            if trial_error < error:
                f, error, improved = trial, trial_error, True
                break
            t *= 0.5
        if not improved:
            break
    return f, error, steps


def _column_update(log_a, f, kernel):
    col = logsumexp(kernel + (log_a + f)[:, None], axis=0)
    # A column with no allowed pair has col = -inf; its b_y must then be 0 (checked by
    # the caller), and any finite g_y leaves the coupling unchanged.
    return np.where(np.isfinite(col), -col, 0.0)


def scale_to_marginals(J, a, b, *, tol: float = 1e-15, max_iter: int = 200) -> np.ndarray:
    """Alternate row and column scaling of a nonnegative ``J`` toward marginals
    ``(a, b)`` (matrix-scaling Sinkhorn; zeros stay zeros). Stops when the largest
    marginal error is ``<= tol`` or after ``max_iter`` sweeps; rows or columns with no
    mass are left alone. Use before :func:`round_to_coupling` when ``J`` is already
    close, so the rounding's rank-one correction is negligible."""
    F = np.clip(np.array(J, dtype=float), 0.0, None)
    for _ in range(max_iter):
        rows = F.sum(axis=1)
        F *= np.divide(a, rows, out=np.ones_like(rows), where=rows > 0)[:, None]
        cols = F.sum(axis=0)
        F *= np.divide(b, cols, out=np.ones_like(cols), where=cols > 0)[None, :]
        if max(np.max(np.abs(F.sum(axis=1) - a)), np.max(np.abs(F.sum(axis=0) - b))) <= tol:
            break
    return F


def round_to_coupling(J, a, b) -> np.ndarray:
    r"""Altschuler–Weed–Rigollet ``round``: a coupling of ``(a, b)`` close to ``J``.

    Scale rows down to at most ``a``, then columns down to at most ``b``, then add the
    rank-one correction ``err_a err_b^T / ||err_a||_1`` (both errors are >= 0 with
    equal sums), so the marginals are exact up to float64 rounding and
    ``||round(J) - J||_1 <= 2 (||J 1 - a||_1 + ||J^T 1 - b||_1)``.
    """
    F = np.clip(np.array(J, dtype=float), 0.0, None)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    rows = F.sum(axis=1)
    F *= np.where(rows > a, a / np.where(rows > 0, rows, 1.0), 1.0)[:, None]
    cols = F.sum(axis=0)
    F *= np.where(cols > b, b / np.where(cols > 0, cols, 1.0), 1.0)[None, :]
    err_a = np.clip(a - F.sum(axis=1), 0.0, None)
    err_b = np.clip(b - F.sum(axis=0), 0.0, None)
    total = err_a.sum()
    if total > 0:
        F += np.outer(err_a, err_b) / total
    return F


@dataclass(frozen=True)
class FixedOutputSolution:
    """What :func:`fixed_output_rate` returns (nats; the caller certifies the upper side).

    Attributes
    ----------
    coupling : ndarray (n, m)
        Marginals ``a`` and ``b`` (up to float64 rounding), distortion ``<= D`` unless
        ``D`` is below every coupling's reach (then ``feasible`` is False).
    lam : float
        Multiplier at the root of ``D(lam) = D`` (0 when the independent coupling
        already meets ``D``).
    f, g : ndarray
        Potentials at ``lam``.
    potentials : tuple of (lam, f, g)
        Every multiplier evaluated with its potentials (for the entropic-dual lower
        bound, :func:`rdconvex.certify.perfect_perception.best_dual`).
    bracket : tuple[float, float]
        Final ``(lam_lo, lam_hi)`` with ``D(lam_lo) >= D >= D(lam_hi)``.
    iterations : int
        Total Sinkhorn sweeps.
    converged : bool
        Every Sinkhorn solve met its tolerance and the root search ended.
    message : str
    """

    coupling: np.ndarray
    lam: float
    f: np.ndarray
    g: np.ndarray
    potentials: tuple
    bracket: tuple
    iterations: int
    converged: bool
    message: str
    evaluations: int = 0
    distortion_curve: tuple = field(default=(), repr=False)


def fixed_output_rate(a, b, cost, D: float, *, tol: float = DEFAULT_TOL,
                      max_iter: int = DEFAULT_MAX_ITER, lam_max: float = DEFAULT_LAM_MAX,
                      xtol: float = 1e-13) -> FixedOutputSolution:
    r"""Solve ``min KL(J || a b^T)`` over couplings of ``(a, b)`` with ``<J, C> <= D``.

    For ``b = a = p`` and a square distortion this is the rate–distortion function with
    perfect perception ``R(D, 0)``. The multiplier is found by Brent's method on
    ``D(lam) - D`` (bracketed, so safeguarded), every Sinkhorn solve warm-started from
    the nearest multiplier already evaluated.

    Parameters
    ----------
    a, b : ndarray
        Marginals (``a > 0``; ``b >= 0``), each summing to 1.
    cost : ndarray (n, m)
        Distortion, entries in ``[0, inf]``.
    D : float
        Target distortion.
    tol, max_iter : optional
        Per-solve Sinkhorn tolerance (l1 marginal error) and sweep cap.
    lam_max : float
        Largest multiplier tried; if ``D(lam_max) > D`` the result is the coupling at
        ``lam_max`` mixed with nothing (``converged`` False, message says so).
    xtol : float
        Relative tolerance on ``lam`` for the root search.

    Returns
    -------
    FixedOutputSolution

    Raises
    ------
    InvalidArgumentError
        Negative ``D`` or inconsistent shapes.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    cost = np.asarray(cost, dtype=float)
    if cost.shape != (a.size, b.size):
        raise InvalidArgumentError(f"cost must have shape ({a.size}, {b.size}) to match the "
                                   f"marginals, got {cost.shape}.")
    if not D >= 0:
        raise InvalidArgumentError(f"D={D!r} must be >= 0.")
    cache: dict[float, tuple[SinkhornPotentials, float]] = {}
    sweeps = [0]

    def solve_at(lam: float):
        if lam in cache:
            return cache[lam]
        warm = None
        if cache:
            nearest = min(cache, key=lambda l: abs(math.log1p(l) - math.log1p(lam)))
            warm = cache[nearest][0].f
        sol = sinkhorn(a, b, cost, lam, f0=warm, tol=tol, max_iter=max_iter)
        sweeps[0] += sol.iterations
        coupling = np.exp(sol.log_coupling)
        distortion = float(np.sum(coupling[coupling > 0] * cost[coupling > 0]))
        cache[lam] = (sol, distortion)
        return cache[lam]

    _, d0 = solve_at(0.0)
    if d0 <= D:
        lam_lo = lam_hi = 0.0
        message = "D >= the independent coupling's distortion: lam = 0, rate 0"
    else:
        finite = cost[np.isfinite(cost)]
        spread = float(finite.max() - finite.min()) if finite.size else 1.0
        lam_hi = 1.0 / spread if spread > 0 else 1.0
        while solve_at(lam_hi)[1] > D and lam_hi < lam_max:
            lam_hi = min(4.0 * lam_hi, lam_max)
        if solve_at(lam_hi)[1] > D:
            sol, dist = solve_at(lam_hi)
            coupling = rounded_coupling(sol, a, b, cost)
            return FixedOutputSolution(
                coupling, lam_hi, sol.f, sol.g, _potentials(cache), (lam_hi, lam_hi),
                sweeps[0], False,
                f"D={D:.10g} is not reached by lam <= {lam_max:g} (distortion "
                f"{dist:.10g}): D is at or below the optimal-transport cost",
                len(cache), tuple(sorted((l, v[1]) for l, v in cache.items())))
        lam_lo = max([l for l, (_, v) in cache.items() if v > D], default=0.0)
        brentq(lambda lam: solve_at(lam)[1] - D, lam_lo, lam_hi, xtol=xtol * lam_hi,
               rtol=4 * np.finfo(float).eps, maxiter=200)
        lam_lo = max(l for l, (_, v) in cache.items() if v > D)
        lam_hi = min(l for l, (_, v) in cache.items() if v <= D)
        message = f"root search on lam: bracket [{lam_lo:.12g}, {lam_hi:.12g}]"
    # The upper-bound coupling: the two bracket ends, rounded to exact marginals and
    # mixed so the distortion is D. Rounding moves the distortion by up to about
    # 2 * tol * max d, so the high end is pushed up until its rounded coupling meets D.
    J_hi = rounded_coupling(cache[lam_hi][0], a, b, cost)
    step = max(1e-12, 1e-9 * lam_hi)
    while _distortion(J_hi, cost) > D and lam_hi < lam_max:
        lam_hi = min(lam_hi + step, lam_max)
        step *= 4.0
        J_hi = rounded_coupling(solve_at(lam_hi)[0], a, b, cost)
    coupling = J_hi
    dist_hi = _distortion(J_hi, cost)
    if lam_lo != lam_hi and dist_hi < D:
        J_lo = rounded_coupling(cache[lam_lo][0], a, b, cost)
        dist_lo = _distortion(J_lo, cost)
        if dist_lo > D:
            t = smallest_feasible_weight(
                lambda t: _distortion((1.0 - t) * J_lo + t * J_hi, cost) <= D,
                (dist_lo - D) / (dist_lo - dist_hi))
            coupling = (1.0 - t) * J_lo + t * J_hi
        else:
            coupling = J_lo
    # The root is whichever end is closer in distortion.
    lam_root = min((lam_lo, lam_hi), key=lambda l: abs(cache[l][1] - D))
    sol = cache[lam_root][0]
    converged = all(s.converged for s, _ in cache.values())
    if not converged:
        message += "; some Sinkhorn solves stopped at max_iter before the marginal tol"
    return FixedOutputSolution(coupling, lam_root, sol.f, sol.g, _potentials(cache),
                               (lam_lo, lam_hi), sweeps[0], converged, message, len(cache),
                               tuple(sorted((l, v[1]) for l, v in cache.items())))


def smallest_feasible_weight(feasible, guess: float = 0.0) -> float:
    """The smallest ``t`` in ``[0, 1]`` (to float64 resolution) with ``feasible(t)``,
    given that ``feasible(1)`` holds and feasibility is monotone in ``t`` (a convex
    constraint along a segment whose end ``t = 1`` satisfies it). ``guess`` is tried
    first (an exact-arithmetic answer that float rounding may have missed)."""
    guess = min(max(float(guess), 0.0), 1.0)
    if feasible(guess):
        lo, hi = 0.0, guess
        if guess == 0.0:
            return 0.0
    else:
        lo, hi = guess, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if feasible(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _potentials(cache) -> tuple:
    return tuple((lam, sol.f, sol.g) for lam, (sol, _) in sorted(cache.items()))


def rounded_coupling(sol: SinkhornPotentials, a, b, cost) -> np.ndarray:
    """The Sinkhorn coupling rounded to exact marginals; the rank-one correction's
    (float-rounding-sized) mass on forbidden pairs is dropped."""
    J = round_to_coupling(np.exp(sol.log_coupling), a, b)
    J[~np.isfinite(cost)] = 0.0
    return J


def _distortion(J: np.ndarray, cost: np.ndarray) -> float:
    mass = J > 0
    if np.any(mass & ~np.isfinite(cost)):
        return math.inf
    return float(np.sum(J[mass] * cost[mass]))
