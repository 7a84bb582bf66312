r"""Programs of the log-likelihood loss family (Section III of the paper).

Both builders take validated data in nats and return an unsolved
:class:`~rdconvex.programs.base.Program`:

* :func:`rate_at_d_min` -- program (8), ``R_ll(D_min)`` as a minimisation over the
  tie-randomisation ``Q`` on ``U``: a sum of ``-log`` of affine expressions (DCP,
  exponential cone).
* :func:`special_point_lp` -- the two linear programs whose values are the ends of the
  interval ``[D1, D2]`` of special operating points (Theorem 1-(iii), Corollary 1):
  extremes of ``D*(Q) = sum_u Q_u H(A[:,u])`` over the polytope of ``P_U`` consistent
  with ``(X, A)``; :func:`special_point_lp_arrays` is the same LP as arrays (for an LP
  solver and for its duality certificate).

Their values in the problem's terms: :func:`d_min_objective` (the objective of (8) at a
``Q``) and :func:`decoder_channel` (the randomised maximum-likelihood decoder of a
``Q``); ``Program.read_point()`` gives ``Q`` for (8) and a :class:`SpecialPointLP` for
the special-point LPs.
"""

from __future__ import annotations

from typing import NamedTuple

import cvxpy as cp
import numpy as np

from .. import atoms
from ..numerics import safe_log
from .base import Program, Row


class SpecialPointLP(NamedTuple):
    """A solved special-point LP read back: the consistent ``P_U`` and the duals of
    ``[A; 1^T] Q = [p; 1]`` (consistency rows, then the simplex row)."""

    Q: np.ndarray
    duals: np.ndarray


def d_min_objective(p: np.ndarray, ties: np.ndarray, Q) -> float:
    """The objective of (8) at ``Q``, in nats (``inf`` if ``Q`` vanishes on some ``T(x)``)."""
    mass = np.where(ties, np.asarray(Q, dtype=float)[None, :], 0.0).sum(axis=1)
    return float(p @ -safe_log(mass))


def decoder_channel(Q, ties: np.ndarray) -> np.ndarray:
    r"""The randomised maximum-likelihood decoder of a tie randomisation ``Q``.

    .. math:: W(u|x) = \frac{Q_u\, 1[u \in T(x)]}{\sum_{u' \in T(x)} Q_{u'}}

    (uniform on ``T(x)`` where ``Q`` vanishes on it). At a minimiser of (8) its mutual
    information equals the optimum of (8).
    """
    W = np.where(ties, np.asarray(Q, dtype=float)[None, :], 0.0)
    sums = W.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    W[empty] = ties[empty]
    sums[empty] = ties[empty].sum(axis=1, keepdims=True)
    return W / sums


def _read_tie_randomization(program: Program) -> np.ndarray | None:
    Q = program.variables_by_name["Q"].value
    if Q is None or not np.all(np.isfinite(Q)):
        return None
    return np.asarray(Q, dtype=float)


def _read_special_point(program: Program) -> SpecialPointLP | None:
    Q = _read_tie_randomization(program)
    consistency, simplex = program["consistency"].dual_value, program["simplex"].dual_value
    if Q is None or consistency is None or simplex is None:
        return None
    return SpecialPointLP(Q, np.append(consistency, simplex).astype(float))


def _tie_sets_text(ties: np.ndarray) -> str:
    sets = ["{" + ", ".join(str(u) for u in np.flatnonzero(row)) + "}" for row in ties]
    return "; ".join(f"{s} for x = {x}" for x, s in enumerate(sets))


def rate_at_d_min(p: np.ndarray, ties: np.ndarray) -> Program:
    r"""Program (8): ``R_ll(D_min)`` over the tie-randomisation ``Q``, built and unsolved.

    .. math::
        R_{\ell\ell}(D_{\min}) = \min_{Q \in \Delta(\mathcal U)}
        \sum_x p_x \Big(-\log \sum_{u \in T(x)} Q_u\Big)

    where ``T(x)`` is the set of maximum-likelihood ``u`` for ``x`` (row ``x`` of
    ``ties``: the exact argmax of row ``x`` of ``A``, no tolerance). Each term is ``-log`` of an affine function of ``Q``, so the program is
    convex (DCP). At the optimum the randomised ML decoder ``W(u|x) = Q_u 1[u in T(x)]
    / sum_{T(x)} Q`` attains ``R_ll(D_min)``.

    Parameters
    ----------
    p : ndarray (n,)
        Source pmf with positive entries (nats-free: only probabilities).
    ties : ndarray (n, k) of bool
        ``ties[x, u]`` is true when ``u`` is in ``T(x)``; every row has a true entry.

    Returns
    -------
    Program
        Variable ``Q``; constraints ``simplex`` and ``nonnegative``;
        ``read_point()`` is ``Q`` (``None`` without a finite point).

    Examples
    --------
    >>> import numpy as np
    >>> ties = np.array([[True, True, False], [False, True, True], [True, False, True]])
    >>> print(rate_at_d_min(np.array([0.5, 0.3, 0.2]), ties).text().splitlines()[1])
      minimize   sum_x p[x] * ( -log sum_{u in T(x)} Q[u] )
    """
    n, k = ties.shape
    B = ties.astype(float)
    Q = cp.Variable(k, nonneg=True, name="Q")
    objective = cp.Minimize(p @ atoms.neg_log_affine(B, Q))
    constraints = {"simplex": cp.sum(Q) == 1}
    rows = [Row("simplex", "sum_u Q[u] = 1", r"\textstyle\sum_u Q_u = 1"),
            Row("nonnegative", "Q >= 0", r"Q \ge 0")]
    obj_row = Row("objective", "sum_x p[x] * ( -log sum_{u in T(x)} Q[u] )",
                  r"\sum_x p_x \Big(-\log \sum_{u \in T(x)} Q_u\Big)")
    return Program(objective, constraints,
                   title=(f"R_ll(D_min): program (8), randomised maximum-likelihood decoder, "
                          f"n={n} source symbols, k={k} values of u"),
                   sense_text="minimize", sense_latex="min", objective_row=obj_row,
                   variables={"Q": Q}, variable_text={"Q": f"{k} tie-randomisation pmf on U"},
                   rows=rows, data={"p": p, "T(x) = argmax_u A[x,u]": _tie_sets_text(ties)},
                   reader=_read_tie_randomization)


def special_point_lp_arrays(p: np.ndarray, likelihood: np.ndarray,
                            column_entropy: np.ndarray, sense: str):
    """:func:`special_point_lp` as arrays ``(c, A_eq, b_eq)`` of ``min c^T Q`` s.t.
    ``A_eq Q = b_eq``, ``Q >= 0`` (``c = -H(A)`` for ``sense="max"``); the last row of
    ``A_eq`` is the simplex row ``sum_u Q_u = 1``."""
    A_eq = np.vstack([likelihood, np.ones(likelihood.shape[1])])
    b_eq = np.append(p, 1.0)
    c = column_entropy if sense == "min" else -column_entropy
    return c, A_eq, b_eq


def special_point_lp(p: np.ndarray, likelihood: np.ndarray, column_entropy: np.ndarray,
                     sense: str) -> Program:
    r"""One end of the special-point interval: an LP over the consistent ``P_U``.

    .. math::
        D_1 = \min_Q \sum_u Q_u H(A_{\cdot u}) \quad\text{or}\quad
        D_2 = \max_Q \sum_u Q_u H(A_{\cdot u})
        \quad\text{s.t.}\quad A Q = p,\; \textstyle\sum_u Q_u = 1,\; Q \ge 0

    Every feasible ``Q`` is a ``P_U`` consistent with ``(X, P_{X|U})`` and its value
    ``H(X|U)`` is a special operating point ``D*``; the objective is linear in ``Q``,
    so the special points form the interval ``[D1, D2]`` (empty when the LP is
    infeasible).

    Parameters
    ----------
    p : ndarray (n,)
        Source pmf, *all* symbols (a zero ``p_x`` forces ``Q_u = 0`` wherever
        ``A[x,u] > 0``).
    likelihood : ndarray (n, k)
        ``A = P_{X|U}``, columns are pmfs.
    column_entropy : ndarray (k,)
        ``H(A[:,u])`` in nats.
    sense : {"min", "max"}

    Returns
    -------
    Program
        Variable ``Q``; constraints ``consistency`` (``A Q = p``), ``simplex``,
        ``nonnegative``; ``read_point()`` is a :class:`SpecialPointLP` (``None``
        without a point).
    """
    n, k = likelihood.shape
    Q = cp.Variable(k, nonneg=True, name="Q")
    value = column_entropy @ Q
    objective = cp.Minimize(value) if sense == "min" else cp.Maximize(value)
    constraints = {"consistency": likelihood @ Q == p, "simplex": cp.sum(Q) == 1}
    rows = [Row("consistency", "sum_u A[x,u] Q[u] = p[x]  for every x",
                r"\textstyle\sum_u A_{xu} Q_u = p_x \;\forall x"),
            Row("simplex", "sum_u Q[u] = 1", r"\textstyle\sum_u Q_u = 1"),
            Row("nonnegative", "Q >= 0", r"Q \ge 0")]
    obj_row = Row("objective", "H(X|U) = sum_u Q[u] H(A[:,u])",
                  r"H(X|U) = \sum_u Q_u H(A_{\cdot u})")
    end = "D1 (smallest)" if sense == "min" else "D2 (largest)"
    return Program(objective, constraints,
                   title=(f"{end} special operating point D* = H(X|U) over the P_U consistent "
                          f"with (X, P_X|U) (Thm 1-iii, Cor 1), n={n}, k={k}"),
                   sense_text="minimize" if sense == "min" else "maximize",
                   sense_latex="min" if sense == "min" else "max", objective_row=obj_row,
                   variables={"Q": Q}, variable_text={"Q": f"{k} pmf P_U"}, rows=rows,
                   data={"p": p, "A = P_X|U": likelihood, "H(A[:,u]) (nats)": column_entropy},
                   reader=_read_special_point)
