"""The classical rate–distortion program (2) and its Gallager/Csiszár dual.

Both builders take validated data in nats: ``p`` (n,) with positive entries, ``d``
(n, m) with entries in ``[0, inf]``; ``inf`` pairs are forbidden (their joint mass is
a fixed zero, and ``inf`` is never multiplied into an expression).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from .. import atoms
from .base import Program, Row


def _finite(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    allowed = np.isfinite(d)
    return np.where(allowed, d, 0.0), allowed


def primal(p: np.ndarray, d: np.ndarray, D: float | None = None,
           slope: float | None = None) -> Program:
    r"""The rate–distortion program (2), built and unsolved.

    .. math::
        R(D) = \min_{J \ge 0,\, q} \sum_{x,y} J_{xy}\log\frac{J_{xy}}{p_x q_y}
        \quad\text{s.t.}\quad J\mathbf 1 = p,\; q = J^\top \mathbf 1,\;
        \langle J, d\rangle \le D

    With ``slope=s`` instead of ``D`` the distortion constraint moves into the
    objective: ``min I(X;Y) + s <J, d>`` (the curve point with slope ``s``).
    Handles: variables ``J``, ``q``; constraints ``source marginal``, ``output
    marginal``, ``distortion`` (its dual value is the slope), ``forbidden``;
    parameter ``D``.
    """
    n, m = d.shape
    d_fin, allowed = _finite(d)
    joint = cp.Variable((n, m), nonneg=True, name="J")
    q = cp.Variable(m, nonneg=True, name="q")
    rate = atoms.mutual_information(joint, p, q)
    constraints = {
        "source marginal": cp.sum(joint, axis=1) == p,
        "output marginal": q == cp.sum(joint, axis=0),
    }
    rows = [Row("source marginal", "sum_y J[x,y] = p[x]  for every x",
                r"\textstyle\sum_y J_{xy} = p_x \;\forall x"),
            Row("output marginal", "q[y] = sum_x J[x,y]  for every y",
                r"q_y = \textstyle\sum_x J_{xy} \;\forall y")]
    parameters = {}
    expected = cp.sum(cp.multiply(d_fin, joint))
    if slope is None:
        D_param = cp.Parameter(nonneg=True, name="D", value=float(D))
        constraints["distortion"] = expected <= D_param
        rows.append(Row("distortion", f"sum_{{x,y}} J[x,y] d[x,y] <= D   (D = {float(D):.10g})",
                        rf"\langle J, d\rangle \le D = {float(D):.10g}"))
        parameters["D"] = D_param
        objective = cp.Minimize(rate)
        obj_row = Row("objective", "I(X;Y) = sum_{x,y} J[x,y] log(J[x,y] / (p[x] q[y]))",
                      r"\sum_{x,y} J_{xy}\log\frac{J_{xy}}{p_x q_y}")
        title = f"R(D): classical rate-distortion (2), n={n} source symbols, m={m} outputs"
    else:
        objective = cp.Minimize(rate + float(slope) * expected)
        obj_row = Row("objective",
                      f"I(X;Y) + s * sum_{{x,y}} J[x,y] d[x,y]   (slope s = {float(slope):.10g})",
                      rf"\sum_{{x,y}} J_{{xy}}\log\frac{{J_{{xy}}}}{{p_x q_y}} + "
                      rf"{float(slope):.10g}\,\langle J, d\rangle")
        title = (f"R(D) at slope s: Lagrangian form of (2), n={n} source symbols, "
                 f"m={m} outputs")
    forbidden = np.argwhere(~allowed)
    if forbidden.size:
        constraints["forbidden"] = joint[forbidden[:, 0], forbidden[:, 1]] == 0
        rows.append(Row("forbidden", f"J[x,y] = 0 where d[x,y] = inf   ({len(forbidden)} pairs)",
                        r"J_{xy} = 0 \;\text{where } d_{xy} = \infty"))
    rows.append(Row("nonnegative", "J >= 0, q >= 0", r"J \ge 0,\; q \ge 0"))
    return Program(objective, constraints, title=title, sense_text="minimize",
                   sense_latex="min", objective_row=obj_row,
                   variables={"J": joint, "q": q},
                   variable_text={"J": f"{n}x{m} joint pmf", "q": f"{m} output pmf"},
                   rows=rows, data={"p": p, "d": d}, parameters=parameters)


def dual(p: np.ndarray, d: np.ndarray, D: float) -> Program:
    r"""The Gallager/Csiszár dual of (2), built and unsolved. DCP in ``(g, s)``.

    .. math::
        R(D) = \max_{s\ge 0,\, g} \sum_x p_x g_x - sD \quad\text{s.t.}\quad
        \sum_x p_x e^{g_x - s\,d(x,y)} \le 1 \;\forall y

    (the constraint is ``log sum_x exp(log p_x + g_x - s d(x,y)) <= 0``, written with
    one exponential per allowed pair). The dual values of the ``output`` constraints
    are the optimal output pmf ``q``. Handles: variables ``g``, ``s``; constraint
    ``output``; parameter ``D``.
    """
    n, m = d.shape
    _, allowed = _finite(d)
    rows_idx, cols_idx = np.nonzero(allowed)
    g = cp.Variable(n, name="g")
    s = cp.Variable(nonneg=True, name="s")
    D_param = cp.Parameter(nonneg=True, name="D", value=float(D))
    exponent = g[rows_idx] - s * d[rows_idx, cols_idx]
    column_sum = sp.csr_matrix((p[rows_idx], (cols_idx, np.arange(rows_idx.size))),
                               shape=(m, rows_idx.size))
    constraints = {"output": column_sum @ cp.exp(exponent) <= 1}
    obj_row = Row("objective", f"sum_x p[x] g[x] - s D   (D = {float(D):.10g})",
                  rf"\sum_x p_x g_x - s D,\; D = {float(D):.10g}")
    rows = [Row("output", "log sum_x exp(log p[x] + g[x] - s d[x,y]) <= 0  for every y "
                "(sum over d[x,y] < inf)",
                r"\log\textstyle\sum_x e^{\log p_x + g_x - s\,d_{xy}} \le 0 \;\forall y"),
            Row("nonnegative", "s >= 0", r"s \ge 0")]
    return Program(cp.Maximize(p @ g - s * D_param), constraints,
                   title=f"R(D): Gallager/Csiszar dual of (2), n={n}, m={m}",
                   sense_text="maximize", sense_latex="max", objective_row=obj_row,
                   variables={"g": g, "s": s},
                   variable_text={"g": f"{n} potentials", "s": "slope >= 0"},
                   rows=rows, data={"p": p, "d": d}, parameters={"D": D_param})
