r"""Certificates of the log-likelihood family: ``R_ll(D_min)`` by program (8), the
special-point interval ``[D1, D2]`` by LP duality, and a Farkas certificate when no
``P_U`` is consistent with ``(X, A)``.

Every bound holds for the problem the user's numbers define (``p`` normalised exactly,
``A`` as given): it is evaluated with outward rounding, by :mod:`rdconvex.rigorous` or
by the a-priori error bounds below, never with an absolute float tolerance.

*Program (8).* ``T(x)`` is the *exact* argmax of row ``x`` of ``A`` (float equality):
the pairs whose shifted distortion ``d'(x,u) = log(max_u' A[x,u'] / A[x,u])`` is
exactly 0 (:attr:`rdconvex.rigorous.ShiftedProblem.minimisers`). For a tie
randomisation ``Q`` let :math:`\ell_x = -\log \sum_{u \in T(x)} Q_u`. For every ``Q'``
in the simplex, Jensen's inequality gives

.. math::
    \sum_x p_x \Big(-\log \sum_{u\in T(x)} Q'_u\Big)
    \;\ge\; \sum_x p_x \ell_x - \log \max_u \sum_{x:\,u \in T(x)} p_x e^{\ell_x},

the dual of (8): Csiszár's bound at slope ``s = +inf`` and ``D' = 0``, evaluated by
:func:`rdconvex.rigorous.dual_lower_bound`. It equals the objective of (8) at ``Q``
exactly when ``Q`` satisfies the KKT conditions. The upper bound is the proven mutual
information (:func:`rdconvex.rigorous.channel_bounds`) of the randomised ML decoder of
``Q``, a channel on the exact argmax pairs, so of shifted distortion exactly 0. Both
bound ``R_ll(D_min)``: a channel of distortion ``D_min`` puts mass on those pairs only.

*Special points.* ``D1 = min h^T Q`` and ``D2 = max h^T Q`` over ``A Q = p``,
``sum Q = 1``, ``Q >= 0`` (``h_u = H(A[:,u])``). Weak duality: ``b^T y <= c^T Q``
whenever ``A_eq^T y <= c``; any dual vector is made feasible by lowering the multiplier
of ``sum Q = 1`` (the all-ones row) by a proven upper bound on its largest violation,
so the solver's duals always give a proven bound on the dual side of each end.

*Farkas.* ``y`` with ``A^T y >= 0`` and ``p^T y < 0`` (both proven) shows that no
``Q >= 0`` has ``A Q = p``.

*Error bounds* (Higham 2002, §2-3): a length-``k`` dot product is within
:math:`\gamma_k \sum |a_i b_i|` of the exact one; numpy's ``log`` within
:data:`~rdconvex.rigorous.FUNCTION_REL` (relative), the one assumption of
:mod:`rdconvex.rigorous`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import flint
import numpy as np
from scipy.special import entr

from ..programs.loglik import d_min_objective, decoder_channel
from ..results import Certificate, Status
from ..rigorous import (
    FUNCTION_REL,
    PRECISION,
    TINY,
    ShiftedProblem,
    U,
    arb_dot,
    channel_bounds,
    dual_lower_bound,
    gamma,
    log_c_of,
    lower_end,
    upper_end,
)
from ..solvers import get_solver

#: Multiplicative (EM) polishing steps applied to a minimiser of (8).
POLISH_STEPS = 500
#: Mass mixed uniformly into a ``Q`` that vanishes on some ``T(x)`` (EM never revives a
#: zero, and the dual of (8) needs every ``sum_{T(x)} Q > 0``).
TIE_FLOOR = 1e-3
#: EM never increases (8): a step that raises its float value by more than this
#: (relative, per source symbol) is not rounding, and polishing stops. A search
#: heuristic only: no bound depends on it.
POLISH_ROUNDING = 16 * np.finfo(float).eps


def polish_tie_randomization(p: np.ndarray, ties: np.ndarray, Q) -> np.ndarray:
    r"""Polish a minimiser ``Q`` of (8) by the EM update, which never increases (8).

    .. math:: Q_u \leftarrow Q_u \sum_{x:\,u \in T(x)} \frac{p_x}{\sum_{u'\in T(x)} Q_{u'}}

    Interior-point solvers meet the objective to ~1e-8, but (8) is flat at its
    minimiser, so ``Q`` itself is only good to ~1e-4; the updates fix the digits.
    Where (8) is degenerate (an unused ``u`` whose KKT multiplier vanishes) EM
    converges slowly; the objective, and so the certificate, is not affected.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.2])
    >>> ties = np.array([[True, True, False], [False, True, True], [True, False, True]])
    >>> Q = polish_tie_randomization(p, ties, [0.3, 0.5, 0.2])
    >>> Q.round(2).tolist(), round(d_min_objective(p, ties, Q), 5)
    ([0.4, 0.6, 0.0], 0.33651)
    """
    Q = _floored(ties, Q)
    value = d_min_objective(p, ties, Q)
    B = ties.astype(float)
    for _ in range(POLISH_STEPS):
        new = Q * (B.T @ (p / (B @ Q)))
        new /= new.sum()
        new_value = d_min_objective(p, ties, new)
        if not new_value <= value + POLISH_ROUNDING * (1.0 + abs(value)) * p.size:
            break
        done = float(np.max(np.abs(new - Q))) <= 1e-15
        Q, value = new, new_value
        if done:
            break
    return Q


def _floored(ties: np.ndarray, Q) -> np.ndarray:
    """``Q`` clipped and normalised, with :data:`TIE_FLOOR` uniform mass mixed in when
    it vanishes on some ``T(x)``."""
    k = ties.shape[1]
    Q = np.clip(np.nan_to_num(np.asarray(Q, dtype=float), nan=0.0, posinf=0.0), 0.0, None)
    Q = Q / Q.sum() if Q.sum() > 0 else np.full(k, 1.0 / k)
    if not np.all(np.where(ties, Q[None, :], 0.0).sum(axis=1) > 0):
        Q = (1.0 - TIE_FLOOR) * Q + TIE_FLOOR / k
    return Q


def d_min_dual_point(problem: ShiftedProblem, Q) -> np.ndarray:
    r"""``l_x = -log sum_{u in T(x)} Q_u`` on the reduced rows: the dual point of (8)
    at ``Q`` (Csiszár's ``log c`` at slope ``+inf``)."""
    return log_c_of(problem, math.inf, _floored(problem.minimisers, Q))


def d_min_lower_bound(problem: ShiftedProblem, Q) -> float:
    """The dual of (8) at ``Q`` (see the module docstring), proven: a float ``<=``
    ``R_ll(D_min)`` for any ``Q``, tight at a minimiser of (8)."""
    return dual_lower_bound(problem, flint.arb(0), math.inf, d_min_dual_point(problem, Q))


class DMinCertified(NamedTuple):
    """The randomised ML decoder of ``Q`` (reduced rows), the certificate (nats) and
    the dual point ``log_c`` of its lower bound (slope ``+inf``)."""

    channel: np.ndarray
    certificate: Certificate
    log_c: np.ndarray


def certify_d_min(problem: ShiftedProblem, Q) -> DMinCertified:
    """Certify ``R_ll(D_min)`` from a tie randomisation ``Q`` (reduced rows, nats).

    ``upper`` is the proven mutual information of the randomised ML decoder of ``Q``
    (its distortion is exactly ``D_min``: it uses exact argmax pairs only); ``lower``
    the proven dual of (8) at ``Q`` (:func:`d_min_lower_bound`), at least 0.

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.rigorous import ShiftedProblem
    >>> exact = ShiftedProblem.from_likelihood(np.array([0.75, 0.25]),
    ...                                        np.array([[0.9, 0.1], [0.1, 0.9]]))
    >>> W, cert, log_c = certify_d_min(exact, [0.75, 0.25])
    >>> W.tolist(), round(cert.upper, 6), cert.gap < 1e-14
    ([[1.0, 0.0], [0.0, 1.0]], 0.562335, True)
    """
    ties = problem.minimisers
    W = decoder_channel(np.clip(np.nan_to_num(np.asarray(Q, dtype=float)), 0.0, None), ties)
    bounds = channel_bounds(problem, W)
    log_c = d_min_dual_point(problem, Q)
    lower = dual_lower_bound(problem, flint.arb(0), math.inf, log_c)
    return DMinCertified(W, Certificate(upper=bounds.rate, lower=max(lower, 0.0)), log_c)


# ---------------------------------------------------------------------------
# Special points: LP duality with outward rounding
# ---------------------------------------------------------------------------


class ColumnEntropy(NamedTuple):
    """``h_u = H(A[:,u])`` (nats) in float64 with a proven bound ``|h - value| <= error``."""

    value: np.ndarray
    error: np.ndarray


def column_entropy(likelihood: np.ndarray) -> ColumnEntropy:
    """The column entropies of ``A`` with their error bound: each ``-a log a`` within
    ``FUNCTION_REL + u`` (plus an absolute ``TINY`` below the normal range), the sum of
    ``n`` terms within :math:`\\gamma_n` of the sum of their absolute values (an entry
    a little above 1, allowed by the column-sum tolerance, has a negative term)."""
    n = likelihood.shape[0]
    terms = entr(likelihood)
    relative = (FUNCTION_REL + 2 * U + gamma(n)) * 1.01
    return ColumnEntropy(terms.sum(axis=0), relative * np.abs(terms).sum(axis=0) + 2 * n * TINY)


def _dot_error(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Bounds on ``|fl(matrix^T vector) - matrix^T vector|`` per column."""
    n = matrix.shape[0]
    return gamma(n) * 1.01 * (np.abs(matrix).T @ np.abs(vector)) + 2 * n * TINY


def lp_lower_bound(p: np.ndarray, likelihood: np.ndarray, entropy: ColumnEntropy,
                   sense: str, y) -> float:
    r"""A proven lower bound on ``min c^T Q`` s.t. ``A Q = p~``, ``sum Q = 1``,
    ``Q >= 0`` (``p~ = p / sum p``; ``c = h`` for ``sense="min"``, ``-h`` for
    ``"max"``) from any dual vector ``y = (y_A, y_1)`` (``y_1`` multiplies the simplex
    row).

    Weak duality: ``p~^T y_A + y_1 - v <= c^T Q`` once ``A^T y_A + y_1 - v <= c``, and
    ``v`` is a proven upper bound on the largest violation ``max_u (A^T y_A + y_1 -
    c)_u`` (0 if none). Both signs of ``y`` are tried (solvers differ in their sign
    conventions); each repaired candidate is valid. ``-inf`` for a non-finite ``y``.
    """
    y = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(y)) or y.size != likelihood.shape[0] + 1:
        return -math.inf
    c = entropy.value if sense == "min" else -entropy.value
    best = -math.inf
    for candidate in (y, -y):
        y_A, y_1 = candidate[:-1], float(candidate[-1])
        products = likelihood.T @ y_A
        violation = products + y_1 - c
        # Rounding of the product, of c, and of the two additions (each <= u |result|
        # of magnitude <= |products| + |y_1| + |c|); 1.01 absorbs the rounding of this
        # very error estimate.
        error = (_dot_error(likelihood, y_A) + entropy.error
                 + 2.0 * U * (np.abs(products) + abs(y_1) + np.abs(c))) * 1.01
        worst = float(np.max(violation + error))
        shift = max(math.nextafter(worst, math.inf), 0.0) if math.isfinite(worst) else math.inf
        if not math.isfinite(shift):
            continue
        with flint.ctx.workprec(PRECISION):
            total = arb_dot(p, np.ones_like(p))
            value = arb_dot(p, y_A) / total + flint.arb(y_1) - flint.arb(shift)
            best = max(best, lower_end(value))
    return best


class SpecialPointEnclosure(NamedTuple):
    """The special-point interval in nats with its LP-duality enclosures."""

    interval: tuple[float, float]
    P_U: tuple[np.ndarray, np.ndarray]
    bounds: tuple[tuple[float, float], tuple[float, float]]
    residual: float


def _objective_range(Q: np.ndarray, entropy: ColumnEntropy) -> tuple[float, float]:
    """A proven enclosure of ``h^T Q`` for the float vector ``Q >= 0``."""
    with flint.ctx.workprec(PRECISION):
        centre = arb_dot(Q, entropy.value)
        spread = arb_dot(Q, entropy.error)
        return lower_end(centre - spread), upper_end(centre + spread)


def certify_special_points(p: np.ndarray, likelihood: np.ndarray,
                           ends) -> SpecialPointEnclosure:
    r"""Certify the ends of ``[D1, D2]`` from the solved LPs.

    Parameters
    ----------
    p : ndarray (n,)
        Source pmf (all symbols).
    likelihood : ndarray (n, k)
        ``A = P_{X|U}``.
    ends : ((Q1, y1), (Q2, y2))
        The points and duals of the ``min`` and the ``max`` LP (duals of
        ``[A; 1^T] Q = [p; 1]``).

    Returns
    -------
    SpecialPointEnclosure
        ``P_U`` (clipped, renormalised), ``interval = (h^T Q1, h^T Q2)`` (float),
        ``bounds`` ``((lower1, upper1), (lower2, upper2))``: ``lower1 <= D1`` and
        ``D2 <= upper2`` are proven (LP duality, outward rounded); ``upper1`` and
        ``lower2`` are proven enclosures of ``h^T Q`` at the returned ``P_U``, which
        satisfies ``A Q = p`` up to ``residual = max |A Q - p|`` only (so they bound
        ``D1`` and ``D2`` up to that residual).
    """
    entropy = column_entropy(likelihood)
    points, duals, ranges = [], [], []
    for sense, (Q, y) in zip(("min", "max"), ends):
        Q = np.clip(np.asarray(Q, dtype=float), 0.0, None)
        Q = Q / Q.sum()
        points.append(Q)
        ranges.append(_objective_range(Q, entropy))
        bound = lp_lower_bound(p, likelihood, entropy, sense, y)
        duals.append(bound if sense == "min" else -bound)
    D1, D2 = (float(entropy.value @ Q) for Q in points)
    if D1 > D2:  # one special point: the two float estimates of it straddle each other
        D1 = D2 = 0.5 * (D1 + D2)
    residual = max(float(np.max(np.abs(likelihood @ Q - p))) for Q in points)
    upper1, lower2 = ranges[0][1], ranges[1][0]
    bounds = ((min(duals[0], upper1), upper1), (lower2, max(duals[1], lower2)))
    return SpecialPointEnclosure((D1, D2), (points[0], points[1]), bounds, residual)


# ---------------------------------------------------------------------------
# Farkas
# ---------------------------------------------------------------------------


def proves_no_consistent_pmf(likelihood: np.ndarray, p: np.ndarray, y) -> bool:
    """Whether ``A^T y >= 0`` and ``p^T y < 0`` hold *exactly* for the float ``y``
    (proven with the dot-product error bound and ball arithmetic)."""
    y = np.asarray(y, dtype=float)
    if y.shape != p.shape or not np.all(np.isfinite(y)):
        return False
    products = likelihood.T @ y
    if not np.all(products >= _dot_error(likelihood, y)):  # float comparisons are exact
        return False
    with flint.ctx.workprec(PRECISION):
        return bool(arb_dot(p, y) < 0)


def farkas_certificate(likelihood: np.ndarray, p: np.ndarray) -> np.ndarray | None:
    r"""``y`` with ``A^T y >= 0`` and ``p^T y < 0`` proven (no ``Q >= 0`` has
    ``A Q = p``), or ``None`` when none is found.

    Solved by HiGHS (``min p^T y`` over ``A^T y >= 0``, ``|y| <= 1``), then repaired
    so that :func:`proves_no_consistent_pmf` holds: columns of ``A`` sum to ``1`` (to
    ``1e-9``), so adding a constant ``t`` to ``y`` adds about ``t`` to ``A^T y`` and
    ``t sum p`` to ``p^T y``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.9, 0.1], [0.1, 0.9]])
    >>> y = farkas_certificate(A, np.array([0.95, 0.05]))
    >>> bool(np.all(A.T @ y >= 0)), bool(np.array([0.95, 0.05]) @ y < 0)
    (True, True)
    """
    k = likelihood.shape[1]
    solution = get_solver("highs", task="lp").solve_lp(
        p, A_ub=-likelihood.T, b_ub=np.zeros(k), bounds=(-1, 1))
    if solution.info.status is not Status.OPTIMAL or solution.x is None:
        return None
    y = np.asarray(solution.x, dtype=float)
    for _ in range(4):
        if proves_no_consistent_pmf(likelihood, p, y):
            return y
        deficit = float(np.max(_dot_error(likelihood, y) - likelihood.T @ y))
        column = float(np.min(likelihood.sum(axis=0)))
        if not column > 0:
            return None
        y = y + (max(deficit, 0.0) / column * 1.01
                 + 4 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(y)))))
    return None
