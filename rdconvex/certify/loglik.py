r"""Certificates of the log-likelihood family: ``R_ll(D_min)`` by program (8), the
special-point interval ``[D1, D2]`` by LP duality, and a Farkas certificate when no
``P_U`` is consistent with ``(X, A)``.

All arithmetic is float64 in nats on the reduced problem (source symbols with
positive probability), as in :mod:`rdconvex.certify.classical`.

*Program (8).* For a tie randomisation ``Q`` let ``z_x = sum_{u in T(x)} Q_u``,
``c_x = 1 / z_x`` and ``M_u = sum_x p_x c_x 1[u in T(x)]``. For every ``Q'`` in the
simplex, Jensen's inequality gives

.. math::
    \sum_x p_x \Big(-\log \sum_{u\in T(x)} Q'_u\Big)
    \;\ge\; \sum_x p_x \log c_x - \log \sum_u Q'_u M_u
    \;\ge\; \sum_x p_x \log c_x - \log \max_u M_u ,

the dual of (8) (the ``s -> inf`` limit of Csiszár's bound); it equals the objective of
(8) at ``Q`` exactly when ``Q`` satisfies the KKT conditions (``M_u <= 1``). The upper
bound is the mutual information of the randomised ML decoder of ``Q``, a channel of
distortion ``D_min``. Both bound ``R_ll(D_min)``: a channel of distortion ``D_min``
puts mass on ML pairs only, and then ``I(X;Y) >= sum_x p_x -log q_Y(T(x))``.

*Special points.* ``D1 = min h^T Q`` and ``D2 = max h^T Q`` over ``A Q = p``,
``sum Q = 1``, ``Q >= 0``. Weak duality: ``b^T y <= c^T Q`` whenever ``A_eq^T y <= c``;
any dual vector is made feasible by lowering the multiplier of ``sum Q = 1`` (the
all-ones row) by its largest violation, so the solver's duals always give a valid
bound on the dual side of each end.

*Farkas.* ``y`` with ``A^T y >= 0`` and ``p^T y < 0`` proves that no ``Q >= 0`` has
``A Q = p``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..atoms import channel_mutual_information, expected_distortion
from ..numerics import safe_log
from ..programs.loglik import d_min_objective, decoder_channel, special_point_lp_arrays
from ..results import Certificate, Status
from ..solvers import get_solver
ROUNDING = 1e-12  # (being replaced by rdconvex.rigorous)

#: Multiplicative (EM) polishing steps applied to a minimiser of (8).
POLISH_STEPS = 500
#: Mass mixed uniformly into a ``Q`` that vanishes on some ``T(x)`` (EM never revives a
#: zero, and the dual of (8) needs every ``z_x > 0``).
TIE_FLOOR = 1e-3


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
    k = ties.shape[1]
    Q = np.clip(np.asarray(Q, dtype=float), 0.0, None)
    Q = Q / Q.sum() if Q.sum() > 0 else np.full(k, 1.0 / k)
    value = d_min_objective(p, ties, Q)
    if not np.isfinite(value):
        Q = (1.0 - TIE_FLOOR) * Q + TIE_FLOOR / k
        value = d_min_objective(p, ties, Q)
    B = ties.astype(float)
    for _ in range(POLISH_STEPS):
        new = Q * (B.T @ (p / (B @ Q)))
        new /= new.sum()
        new_value = d_min_objective(p, ties, new)
        if not new_value <= value + ROUNDING * (1.0 + abs(value)):
            break  # EM never increases (8): anything more is not rounding
        done = float(np.max(np.abs(new - Q))) <= 1e-15
        Q, value = new, new_value
        if done:
            break
    return Q


def d_min_lower_bound(p: np.ndarray, ties: np.ndarray, Q) -> float:
    """The dual of (8) at ``Q`` (see the module docstring): a lower bound on
    ``R_ll(D_min)`` for any pmf ``Q``, tight at a minimiser of (8)."""
    k = ties.shape[1]
    Q = np.clip(np.asarray(Q, dtype=float), 0.0, None)
    Q = Q / Q.sum() if Q.sum() > 0 else np.full(k, 1.0 / k)
    B = ties.astype(float)
    z = B @ Q
    if not np.all(z > 0):
        Q = (1.0 - TIE_FLOOR) * Q + TIE_FLOOR / k
        z = B @ Q
    M = B.T @ (p / z)
    return float(p @ -safe_log(z) - math.log(float(np.max(M))))


def certify_d_min(p: np.ndarray, d: np.ndarray, ties: np.ndarray,
                  Q) -> tuple[np.ndarray, float, Certificate]:
    """Certify ``R_ll(D_min)`` from a tie randomisation ``Q`` (reduced rows, nats).

    Returns the randomised ML decoder of ``Q``, its distortion (``D_min`` up to
    rounding) and the certificate: ``upper`` its mutual information, ``lower`` the dual
    of (8) at ``Q`` (:func:`d_min_lower_bound`).

    Examples
    --------
    >>> import numpy as np
    >>> p, ties = np.array([0.75, 0.25]), np.eye(2, dtype=bool)
    >>> d = -np.log([[0.9, 0.1], [0.1, 0.9]])
    >>> W, distortion, cert = certify_d_min(p, d, ties, [0.75, 0.25])
    >>> W.tolist(), round(cert.upper, 6), round(cert.gap, 12)
    ([[1.0, 0.0], [0.0, 1.0]], 0.562335, 0.0)
    """
    W = decoder_channel(Q, ties)
    distortion = expected_distortion(p, W, d)
    upper = channel_mutual_information(p, W)
    if upper <= 0.0:
        return W, distortion, Certificate(upper=0.0, lower=0.0)
    lower = max(d_min_lower_bound(p, ties, Q), 0.0)
    if upper < lower <= upper + ROUNDING * (1.0 + abs(upper)):
        lower = upper  # the same number computed twice
    return W, distortion, Certificate(upper=upper, lower=lower)


def lp_lower_bound(c: np.ndarray, A_eq: np.ndarray, b_eq: np.ndarray, y) -> float:
    r"""A valid lower bound on ``min c^T Q`` s.t. ``A_eq Q = b_eq``, ``Q >= 0`` from any
    ``y`` whose last entry multiplies an all-ones row of ``A_eq``.

    Weak duality: ``b^T y <= c^T Q`` whenever ``A_eq^T y <= c``; lowering the last
    multiplier by the largest violation makes any ``y`` feasible. Both signs of ``y`` are
    tried (solvers differ in their sign conventions); each repaired candidate is valid.
    """
    best = -math.inf
    y = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(y)):
        return best
    for candidate in (y, -y):
        candidate = candidate.copy()
        violation = float(np.max(A_eq.T @ candidate - c))
        candidate[-1] -= max(violation, 0.0)
        best = max(best, float(b_eq @ candidate))
    return best


class SpecialPointEnclosure(NamedTuple):
    """The special-point interval in nats with its LP-duality enclosures."""

    interval: tuple[float, float]
    P_U: tuple[np.ndarray, np.ndarray]
    bounds: tuple[tuple[float, float], tuple[float, float]]
    residual: float


def certify_special_points(p: np.ndarray, likelihood: np.ndarray,
                           column_entropy: np.ndarray, ends) -> SpecialPointEnclosure:
    r"""Certify the ends of ``[D1, D2]`` from the solved LPs.

    Parameters
    ----------
    p : ndarray (n,)
        Source pmf (all symbols).
    likelihood : ndarray (n, k)
        ``A = P_{X|U}``.
    column_entropy : ndarray (k,)
        ``H(A[:,u])`` in nats.
    ends : ((Q1, y1), (Q2, y2))
        The points and duals of the ``min`` and the ``max`` LP (duals of
        ``[A; 1^T] Q = [p; 1]``).

    Returns
    -------
    SpecialPointEnclosure
        ``P_U`` (clipped, renormalised), ``interval = (h^T Q1, h^T Q2)``, ``bounds``
        ``((lower1, D1), (D2, upper2))`` (the dual sides are exact bounds on the LP
        values; the primal sides hold for the returned ``P_U``, which satisfies
        ``A Q = p`` up to ``residual = max |A Q - p|``).
    """
    points, duals = [], []
    for sense, (Q, y) in zip(("min", "max"), ends):
        Q = np.clip(np.asarray(Q, dtype=float), 0.0, None)
        points.append(Q / Q.sum())
        c, A_eq, b_eq = special_point_lp_arrays(p, likelihood, column_entropy, sense)
        bound = lp_lower_bound(c, A_eq, b_eq, y)
        duals.append(bound if sense == "min" else -bound)
    D1, D2 = (float(column_entropy @ Q) for Q in points)
    if D1 > D2:  # a single point, up to rounding
        D1 = D2 = 0.5 * (D1 + D2)
    residual = max(float(np.max(np.abs(likelihood @ Q - p))) for Q in points)
    bounds = ((min(duals[0], D1), D1), (D2, max(duals[1], D2)))
    return SpecialPointEnclosure((D1, D2), (points[0], points[1]), bounds, residual)


def farkas_certificate(likelihood: np.ndarray, p: np.ndarray) -> np.ndarray | None:
    r"""``y`` with ``A^T y >= 0`` and ``p^T y < 0`` (no ``Q >= 0`` has ``A Q = p``), or
    ``None`` when none is found.

    Solved by HiGHS (``min p^T y`` over ``A^T y >= 0``, ``|y| <= 1``) and repaired so
    ``A^T y >= 0`` holds in float64: columns of ``A`` sum to 1, so adding a constant to
    ``y`` adds it to ``A^T y`` and to ``p^T y``.

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
    y = solution.x
    for _ in range(3):  # the shift itself rounds; one more ulp-sized step settles it
        low = float(np.min(likelihood.T @ y))
        if low >= 0:
            break
        y = y - low + 4 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(y))))
    return y if float(np.min(likelihood.T @ y)) >= 0 and float(p @ y) < 0 else None
