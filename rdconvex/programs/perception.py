r"""The rate–distortion–perception program (33), built and unsolved.

.. math::
    R(D, \Gamma) = \min_{J \ge 0,\, q} \sum_{x,y} J_{xy}\log\frac{J_{xy}}{p_x q_y}
    \quad\text{s.t.}\quad J\mathbf 1 = p,\; q = J^\top \mathbf 1,\;
    \langle J, d\rangle \le D,\; \gamma(p, q) \le \Gamma

``Y`` lives on the alphabet of ``X``, so the output pmf ``q`` is compared with the
source pmf ``p`` over all ``n`` symbols (``p`` may have zeros there; the joint has one
row per source symbol of positive probability). Every divergence is convex in ``q``
and written with DCP atoms; at ``Gamma = 0`` every one of them vanishes only at
``q = p``, so the perception constraint is the linear ``q == p`` instead.

Every divergence is a :class:`~rdconvex.atoms.divergences.Divergence` object (its
constraint, value, support-function bound and text in one place; the table of the six
is in :mod:`rdconvex.atoms.divergences`): the builders here contain no per-divergence
code. ``wasserstein`` adds a transport-plan variable ``pi`` with linear constraints.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import cvxpy as cp
import numpy as np

from .. import atoms
from ..atoms.divergences import DIVERGENCES
from ..numerics import finite_part
from .base import Program, Row


class PerceptionPoint(NamedTuple):
    """A solved program (33) read in the problem's terms (nats, reduced rows).

    ``channel`` = ``J / p`` (rows of positive-probability symbols), ``slope`` = the
    multiplier of ``distortion`` (``>= 0``), ``output_pmf`` = ``q``,
    ``perception_multiplier`` = the multiplier of ``perception`` (None if absent) and
    ``potentials`` = minus the multipliers of ``source marginal`` (KKT: ``J = p q^T
    exp(f_x + g_y - s d)`` up to a shift; None if absent)."""

    channel: np.ndarray
    slope: float
    output_pmf: np.ndarray
    perception_multiplier: float | None
    potentials: np.ndarray | None


def _read_primal(prog: Program, p: np.ndarray):
    joint = prog.variables_by_name["J"].value
    if joint is None or not np.all(np.isfinite(joint)):
        return None
    dual = prog["distortion"].dual_value
    slope = float(dual) if dual is not None and np.isfinite(dual) else 0.0
    nu = prog["perception"].dual_value
    nu = float(nu) if nu is not None and np.size(nu) == 1 and np.isfinite(nu) else None
    alpha = prog["source marginal"].dual_value
    potentials = (-np.asarray(alpha, dtype=float)
                  if alpha is not None and np.all(np.isfinite(alpha)) else None)
    return PerceptionPoint(joint / p[:, None], max(slope, 0.0),
                           prog.variables_by_name["q"].value, nu, potentials)


def _read_value(prog: Program):
    return None if prog.value is None or not np.isfinite(prog.value) else float(prog.value)


def _perception(divergence: str, p_out: np.ndarray, q: cp.Variable, Gamma: float,
                ground: np.ndarray | None):
    """Constraints (by name), rows and extra variables of ``gamma(p, q) <= Gamma``."""
    if Gamma == 0.0:
        return ({"perception": q == p_out},
                [Row("perception", "q[y] = p[y]  for every y   (Gamma = 0: every "
                     "divergence vanishes only at q = p)", r"q = p \;(\Gamma = 0)")], {}, {})
    block = DIVERGENCES[divergence].constraints(p_out, q, Gamma, ground)
    constraints = {row.name: row.constraint for row in block.rows}
    rows = [Row(row.name, row.text, row.latex) for row in block.rows]
    return constraints, rows, block.variables, block.variable_text


def _feasible_set(p, p_out, d, D, Gamma, divergence, ground):
    """Variables, named constraints and rows of (33); without the distortion
    constraint when ``D`` is None."""
    n, m = d.shape
    allowed = np.isfinite(d)
    joint = cp.Variable((n, m), nonneg=True, name="J")
    q = cp.Variable(m, nonneg=True, name="q")
    constraints = {"source marginal": cp.sum(joint, axis=1) == p,
                   "output marginal": q == cp.sum(joint, axis=0)}
    rows = [Row("source marginal", "sum_y J[x,y] = p[x]  for every x",
                r"\textstyle\sum_y J_{xy} = p_x \;\forall x"),
            Row("output marginal", "q[y] = sum_x J[x,y]  for every y",
                r"q_y = \textstyle\sum_x J_{xy} \;\forall y")]
    parameters = {}
    if D is not None:
        parameters["D"] = cp.Parameter(nonneg=True, name="D", value=float(D))
        constraints["distortion"] = (cp.sum(cp.multiply(np.where(allowed, d, 0.0), joint))
                                     <= parameters["D"])
        rows.append(Row("distortion", f"sum_{{x,y}} J[x,y] d[x,y] <= D   (D = {float(D):.10g})",
                        rf"\langle J, d\rangle \le D = {float(D):.10g}"))
    extra, extra_rows, extra_vars, extra_text = _perception(divergence, p_out, q,
                                                            float(Gamma), ground)
    constraints.update(extra)
    rows += extra_rows
    forbidden = np.argwhere(~allowed)
    if forbidden.size:
        constraints["forbidden"] = joint[forbidden[:, 0], forbidden[:, 1]] == 0
        rows.append(Row("forbidden", f"J[x,y] = 0 where d[x,y] = inf   ({len(forbidden)} pairs)",
                        r"J_{xy} = 0 \;\text{where } d_{xy} = \infty"))
    rows.append(Row("nonnegative", "J >= 0, q >= 0" + (", pi >= 0" if extra_vars else ""),
                    r"J \ge 0,\; q \ge 0" + (r",\; \pi \ge 0" if extra_vars else "")))
    variables = {"J": joint, "q": q, **extra_vars}
    variable_text = {"J": f"{n}x{m} joint pmf", "q": f"{m} output pmf", **extra_text}
    data = {"p": p_out, "d": d}
    if ground is not None and divergence == "wasserstein":
        data["c"] = ground
    return dict(constraints=constraints, rows=rows, variables=variables,
                variable_text=variable_text, data=data, parameters=parameters)


def primal(p: np.ndarray, p_out: np.ndarray, d: np.ndarray, D: float, Gamma: float,
           divergence: str, ground: np.ndarray | None = None) -> Program:
    r"""The rate–distortion–perception program (33), built and unsolved.

    Parameters
    ----------
    p : ndarray (n,)
        Source pmf restricted to its positive entries (the rows of ``J``).
    p_out : ndarray (m,)
        The full source pmf on the reconstruction alphabet (the reference of the
        divergence; zeros allowed).
    d : ndarray (n, m)
        Distortion, ``inf`` = forbidden pair.
    D, Gamma : float
        Distortion and perception budgets (nats for the KL divergences).
    divergence : str
        A key of :data:`~rdconvex.atoms.divergences.DIVERGENCES`.
    ground : ndarray (m, m), optional
        Ground cost for ``"wasserstein"``.

    Returns
    -------
    Program
        Variables ``J``, ``q`` (and ``pi`` for ``wasserstein``); constraints
        ``source marginal``, ``output marginal``, ``distortion`` (its dual value is
        the slope), ``perception`` (its dual value is the perception multiplier),
        ``forbidden``, and for some divergences ``perception support``,
        ``transport source``/``transport target``/``transport forbidden``.
        :meth:`~rdconvex.programs.base.Program.read_point` gives a
        :class:`PerceptionPoint`.
    """
    n, m = d.shape
    parts = _feasible_set(p, p_out, d, D, Gamma, divergence, ground)
    joint, q = parts["variables"]["J"], parts["variables"]["q"]
    obj_row = Row("objective", "I(X;Y) = sum_{x,y} J[x,y] log(J[x,y] / (p[x] q[y]))",
                  r"\sum_{x,y} J_{xy}\log\frac{J_{xy}}{p_x q_y}")
    return Program(cp.Minimize(atoms.mutual_information(joint, p, q)), parts["constraints"],
                   title=(f"R(D, Gamma): rate-distortion-perception (33), divergence "
                          f"{divergence!r}, n={n} source symbols, m={m} outputs"),
                   sense_text="minimize", sense_latex="min", objective_row=obj_row,
                   variables=parts["variables"], variable_text=parts["variable_text"],
                   rows=parts["rows"], data=parts["data"], parameters=parts["parameters"],
                   reader=partial(_read_primal, p=p))


def distortion_floor(p: np.ndarray, p_out: np.ndarray, d: np.ndarray, Gamma: float,
                     divergence: str, ground: np.ndarray | None = None) -> Program:
    r"""The smallest distortion compatible with ``gamma(p, q) <= Gamma``, unsolved.

    .. math::
        \min_{J \ge 0,\, q} \langle J, d\rangle \quad\text{s.t.}\quad
        J\mathbf 1 = p,\; q = J^\top \mathbf 1,\; \gamma(p, q) \le \Gamma

    (the constraints of :func:`primal` without ``distortion``); below its value
    ``R(D, Gamma)`` is infeasible. ``read_point()`` gives the floor (a float).
    """
    n, m = d.shape
    parts = _feasible_set(p, p_out, d, None, Gamma, divergence, ground)
    joint = parts["variables"]["J"]
    expected = cp.sum(cp.multiply(finite_part(d), joint))
    obj_row = Row("objective", "sum_{x,y} J[x,y] d[x,y]", r"\langle J, d\rangle")
    return Program(cp.Minimize(expected), parts["constraints"],
                   title=(f"min E d(X,Y) s.t. {divergence} <= Gamma (the distortion floor of "
                          f"(33)), n={n} source symbols, m={m} outputs"),
                   sense_text="minimize", sense_latex="min", objective_row=obj_row,
                   variables=parts["variables"], variable_text=parts["variable_text"],
                   rows=parts["rows"], data=parts["data"],
                   reader=_read_value)


def perfect_perception_dual(p: np.ndarray, p_out: np.ndarray, d: np.ndarray,
                            D: float) -> Program:
    r"""The dual of ``R(D, 0)`` (entropic optimal transport), built and unsolved.

    .. math::
        R(D, 0) = \max_{s \ge 0,\, f} \sum_x p_x f_x - s D
        - \sum_y p_y \log \sum_x p_x e^{f_x - s\, d_{xy}}

    (the output potential ``g_y = -log sum_x p_x e^{f_x - s d_xy}`` eliminated). DCP:
    ``-log_sum_exp`` of affine is concave. Any feasible ``(s, f)`` is a lower bound.
    Handles: variables ``f``, ``s``; parameter ``D``; ``read_point()`` gives a
    :class:`DualPoint`.
    """
    n, m = d.shape
    allowed = np.isfinite(d)
    f = cp.Variable(n, name="f")
    s = cp.Variable(nonneg=True, name="s")
    D_param = cp.Parameter(nonneg=True, name="D", value=float(D))
    terms = []
    for y in np.flatnonzero(p_out > 0):
        rows_y = np.flatnonzero(allowed[:, y])
        terms.append(p_out[y] * cp.log_sum_exp(np.log(p[rows_y]) + f[rows_y]
                                               - s * d[rows_y, y]))
    objective = p @ f - s * D_param - cp.sum(cp.hstack(terms))
    obj_row = Row("objective", f"sum_x p[x] f[x] - s D - sum_y p[y] log sum_x p[x] "
                  f"exp(f[x] - s d[x,y])   (D = {float(D):.10g})",
                  r"\sum_x p_x f_x - sD - \sum_y p_y \log\sum_x p_x e^{f_x - s d_{xy}}")
    return Program(cp.Maximize(objective), {"slope": s >= 0},
                   title=f"R(D, 0): entropic-OT dual of the perfect-perception program, "
                         f"n={n}, m={m}",
                   sense_text="maximize", sense_latex="max", objective_row=obj_row,
                   variables={"f": f, "s": s},
                   variable_text={"f": f"{n} potentials", "s": "slope >= 0"},
                   rows=[Row("slope", "s >= 0", r"s \ge 0")],
                   data={"p": p_out, "d": d}, parameters={"D": D_param},
                   reader=_read_dual_point)


class DualPoint(NamedTuple):
    """A solved dual of ``R(D, 0)``: the slope ``s`` and the source potentials ``f``
    (any such pair gives a lower bound, :mod:`rdconvex.certify.perception`)."""

    slope: float
    potentials: np.ndarray


def _read_dual_point(prog: Program):
    s, f = prog.variables_by_name["s"].value, prog.variables_by_name["f"].value
    if s is None or f is None or not np.all(np.isfinite(f)):
        return None
    return DualPoint(float(s), np.asarray(f, dtype=float))
