"""Information measures as cvxpy expressions, and their float64 numpy evaluators.

The cvxpy atoms compose ``rel_entr``, ``entr``, ``log`` and ``log_sum_exp``; each
docstring states its curvature so programs built from them are DCP by construction.
The numpy evaluators use ``scipy.special.xlogy``/``rel_entr`` so ``0 log 0 = 0``
without warnings. All logarithms are natural.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
from scipy.special import entr as _entr
from scipy.special import rel_entr as _rel_entr
from scipy.special import xlogy

# ---------------------------------------------------------------------------
# cvxpy expressions
# ---------------------------------------------------------------------------


def mutual_information(joint: cp.Expression, p: np.ndarray, q: cp.Expression) -> cp.Expression:
    r"""``I(X;Y) = sum_{x,y} rel_entr(J[x,y], p[x] q[y])``. Convex in ``(J, q)``.

    ``q`` must be tied to ``joint`` by the linear constraint ``q == J^T 1`` in the
    program: keeping ``q`` its own variable gives O(nm) nonzeros, where writing the
    column sums inline gives O(n^2 m).

    .. math:: I(X;Y) = \sum_{x,y} J_{xy} \log \frac{J_{xy}}{p_x q_y}
    """
    n, m = joint.shape
    return cp.sum(cp.rel_entr(joint, cp.reshape(p, (n, 1), order="C") @ cp.reshape(q, (1, m), order="C")))


def entropy(p: cp.Expression) -> cp.Expression:
    r"""``H(p) = -sum p log p``. Concave in ``p``."""
    return cp.sum(cp.entr(p))


def kl_divergence(p: cp.Expression, q: cp.Expression) -> cp.Expression:
    r"""``KL(p || q) = sum rel_entr(p, q)``. Jointly convex in ``(p, q)``."""
    return cp.sum(cp.rel_entr(p, q))


def cross_entropy(p: np.ndarray, q: cp.Expression) -> cp.Expression:
    r"""``CE(p || q) = -sum p log q`` for constant ``p``. Convex in ``q``."""
    p = np.asarray(p, dtype=float)
    mask = p > 0
    return -cp.sum(cp.multiply(p[mask], cp.log(q[np.flatnonzero(mask)])))


def neg_log_affine(a: np.ndarray, x: cp.Expression, b: float = 0.0) -> cp.Expression:
    r"""``-log(a^T x + b)``. Convex in ``x`` (``-log`` of an affine expression)."""
    return -cp.log(a @ x + b)


# ---------------------------------------------------------------------------
# numpy evaluators (float64)
# ---------------------------------------------------------------------------


def entropy_value(p) -> float:
    """``H(p)`` in nats; zeros contribute 0."""
    return float(np.sum(_entr(np.asarray(p, dtype=float))))


def kl_value(p, q) -> float:
    """``KL(p || q)`` in nats (``inf`` when ``p`` is not absolutely continuous w.r.t. ``q``)."""
    return float(np.sum(_rel_entr(np.asarray(p, dtype=float), np.asarray(q, dtype=float))))


def cross_entropy_value(p, q) -> float:
    """``-sum p log q`` in nats; ``0 log 0 = 0``."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    return float(-np.sum(xlogy(p, q)))


def mutual_information_value(joint) -> float:
    """``I(X;Y)`` in nats of a joint pmf (rows X, columns Y), exact in float64."""
    joint = np.asarray(joint, dtype=float)
    p = joint.sum(axis=1)
    keep = p > 0
    return channel_mutual_information(p[keep], joint[keep] / p[keep, None])


def channel_mutual_information(p, channel) -> float:
    """``I(X;Y) = sum_x p_x KL(W(.|x) || q)`` in nats for source ``p`` and channel ``W``.

    Written per row so that tiny probabilities (down to 1e-300) never form the product
    ``p_x q_y``, which would underflow to 0 and make ``rel_entr`` infinite.
    """
    p = np.asarray(p, dtype=float)
    W = np.asarray(channel, dtype=float)
    q = p @ W
    rows = p > 0  # a zero-probability row may use outputs with q_y = 0
    return max(0.0, float(p[rows] @ np.sum(_rel_entr(W[rows], q[None, :]), axis=1)))


def expected_distortion(p, channel, d) -> float:
    """``E[d(X,Y)] = sum p_x W(y|x) d(x,y)``; pairs with zero mass never touch ``d``.

    Returns ``inf`` when positive mass sits on a forbidden (``inf``) pair.
    """
    joint = np.asarray(p, dtype=float)[:, None] * np.asarray(channel, dtype=float)
    d = np.asarray(d, dtype=float)
    forbidden = ~np.isfinite(d)
    if not forbidden.any():  # the common case: no masks, one fused product-sum
        return float(np.einsum("ij,ij->", joint, d))
    mass = joint > 0
    if np.any(mass & forbidden):
        return float("inf")
    return float(np.sum(joint[mass] * d[mass]))

