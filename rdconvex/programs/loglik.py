r"""Programs of the log-likelihood loss family (Section III of the paper).

Both builders take validated data in nats and return an unsolved
:class:`~rdconvex.programs.base.Program`:

* :func:`rate_at_d_min` -- program (8), ``R_ll(D_min)`` as a minimisation over the
  tie-randomisation ``Q`` on ``U``: a sum of ``-log`` of affine expressions (DCP,
  exponential cone).
* :func:`special_point_lp` -- the two linear programs whose values are the ends of the
  interval ``[D1, D2]`` of special operating points (Theorem 1-(iii), Corollary 1):
  extremes of ``D*(Q) = sum_u Q_u H(A[:,u])`` over the polytope of ``P_U`` consistent
  with ``(X, A)``.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from .. import atoms
from .base import Program, Row


def _tie_sets_text(ties: np.ndarray) -> str:
    sets = ["{" + ", ".join(str(u) for u in np.flatnonzero(row)) + "}" for row in ties]
    return "; ".join(f"{s} for x = {x}" for x, s in enumerate(sets))


def rate_at_d_min(p: np.ndarray, ties: np.ndarray) -> Program:
    r"""Program (8): ``R_ll(D_min)`` over the tie-randomisation ``Q``, built and unsolved.

    .. math::
        R_{\ell\ell}(D_{\min}) = \min_{Q \in \Delta(\mathcal U)}
        \sum_x p_x \Big(-\log \sum_{u \in T(x)} Q_u\Big)

    where ``T(x)`` is the set of maximum-likelihood ``u`` for ``x`` (row ``x`` of
    ``ties``). Each term is ``-log`` of an affine function of ``Q``, so the program is
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
        Variable ``Q``; constraints ``simplex`` and ``nonnegative``.
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
                   rows=rows, data={"p": p, "T(x) = argmax_u A[x,u]": _tie_sets_text(ties)})


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
        ``nonnegative``.
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
                   data={"p": p, "A = P_X|U": likelihood, "H(A[:,u]) (nats)": column_entropy})
