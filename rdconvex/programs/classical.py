"""The classical rate–distortion program (2) and its Gallager/Csiszár dual.

Both builders take validated data in nats: ``p`` (n,) with positive entries, ``d``
(n, m) with entries in ``[0, inf]``; ``inf`` pairs are forbidden (their joint mass is
a fixed zero, and ``inf`` is never multiplied into an expression).
"""

from __future__ import annotations

from typing import NamedTuple

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from .. import atoms
from ..numerics import finite_part, min_distortion_channel, normalise_rows, parametric_channel
from .base import Program, Row


class ClassicalPoint(NamedTuple):
    """A solved program (2) (or its dual) read in the problem's terms: the channel
    ``W_{Y|X}`` on the given rows, the slope ``-dR/dD`` in the caller's distortion
    units (the conditioning scale undone) and the output pmf."""

    channel: np.ndarray
    slope: float
    output_pmf: np.ndarray


def conditioning_scale(d: np.ndarray) -> float:
    """The largest finite distortion (1 if there is none or it is 0).

    Conic solvers use absolute tolerances, so the programs are built with ``d`` divided
    by this scale (and ``D``, the slope to match): 1e-6 and 1e6 distortions are then
    solved equally accurately. The channel is unchanged; the slope scales back."""
    finite = d[np.isfinite(d)]
    top = float(finite.max()) if finite.size else 0.0
    return top if top > 0 else 1.0


def _scaling_note(scale: float) -> dict:
    return {} if scale == 1.0 else {
        "scale": f"{scale:.10g} (d, D and 1/s above are in units of it: d = d_input / "
                 f"scale; the channel is unchanged, the slope is s / scale)"}


def _read_primal(prog: Program):
    joint = prog.variables_by_name["J"].value
    if joint is None or not np.all(np.isfinite(joint)):
        return None
    scale = prog.parameters_by_name["scale"]
    # Rows of the joint over their own sums (= p up to the solver's tolerance): no
    # overflow when p is subnormal; an empty row takes the argmin row.
    joint = np.clip(joint, 0.0, None)
    channel = normalise_rows(joint, min_distortion_channel(prog.data["d"]))
    if "slope" in prog.parameters_by_name:
        slope = prog.parameters_by_name["slope"]
    else:
        dual = prog["distortion"].dual_value
        slope = float(dual) if dual is not None and np.isfinite(dual) else 0.0
    return ClassicalPoint(channel, slope / scale, joint.sum(axis=0))


def _read_dual(prog: Program):
    s = prog.variables_by_name["s"].value
    q = prog["output"].dual_value
    if s is None or q is None:
        return None
    q = np.clip(np.asarray(q, dtype=float), 0.0, None)
    if not np.all(np.isfinite(q)) or q.sum() <= 0:
        return None
    q = q / q.sum()
    d, scale = prog.data["d"], prog.parameters_by_name["scale"]
    return ClassicalPoint(parametric_channel(d, float(s), q), float(s) / scale, q)


def primal(p: np.ndarray, d: np.ndarray, D: float | None = None,
           slope: float | None = None, scale: float = 1.0) -> Program:
    r"""The rate–distortion program (2), built and unsolved.

    .. math::
        R(D) = \min_{J \ge 0,\, q} \sum_{x,y} J_{xy}\log\frac{J_{xy}}{p_x q_y}
        \quad\text{s.t.}\quad J\mathbf 1 = p,\; q = J^\top \mathbf 1,\;
        \langle J, d\rangle \le D

    With ``slope=s`` instead of ``D`` the distortion constraint moves into the
    objective: ``min I(X;Y) + s <J, d>`` (the curve point with slope ``s``).
    Handles: variables ``J``, ``q``; constraints ``source marginal``, ``output
    marginal``, ``distortion`` (its dual value is the slope), ``forbidden``;
    parameter ``D``. With ``scale`` (see :func:`conditioning_scale`) the program is
    built, printed and solved with ``d / scale``, ``D / scale`` and ``s * scale``;
    :meth:`~rdconvex.programs.base.Program.read_point` gives a :class:`ClassicalPoint`
    in the caller's units.
    """
    d = d / scale
    D = None if D is None else D / scale
    slope = None if slope is None else slope * scale
    n, m = d.shape
    d_fin, allowed = finite_part(d), np.isfinite(d)
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
    parameters: dict = {"scale": scale}
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
        parameters["slope"] = float(slope)
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
                   rows=rows, data={"p": p, "d": d, **_scaling_note(scale)},
                   parameters=parameters, reader=_read_primal)


def dual(p: np.ndarray, d: np.ndarray, D: float, scale: float = 1.0) -> Program:
    r"""The Gallager/Csiszár dual of (2), built and unsolved. DCP in ``(g, s)``.

    .. math::
        R(D) = \max_{s\ge 0,\, g} \sum_x p_x g_x - sD \quad\text{s.t.}\quad
        \sum_x p_x e^{g_x - s\,d(x,y)} \le 1 \;\forall y

    (the constraint is ``log sum_x exp(log p_x + g_x - s d(x,y)) <= 0``, written with
    one exponential per allowed pair). The dual values of the ``output`` constraints
    are the optimal output pmf ``q``. Handles: variables ``g``, ``s``; constraint
    ``output``; parameter ``D``. ``scale`` as in :func:`primal`.
    """
    d = d / scale
    D = D / scale
    n, m = d.shape
    allowed = np.isfinite(d)
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
                   rows=rows, data={"p": p, "d": d, **_scaling_note(scale)},
                   parameters={"D": D_param, "scale": scale}, reader=_read_dual)
