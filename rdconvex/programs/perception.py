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

Divergences (``p`` = source pmf, ``q`` = output pmf):

===============  ===========================================================  ========
name             definition                                                   DCP form
===============  ===========================================================  ========
``tv``           ``1/2 sum |p - q|`` (total variation)                        ``norm1``
``kl``           ``KL(p || q) = sum p log(p/q)``                              ``rel_entr``
``reverse_kl``   ``KL(q || p) = sum q log(q/p)``                              ``rel_entr``
``hellinger``    ``1/2 sum (sqrt p - sqrt q)^2 = 1 - sum sqrt(p q)``, in [0, 1]  ``sqrt``
``chi2``         Pearson ``chi^2(q || p) = sum (q - p)^2 / p``                ``square``
``wasserstein``  ``min_pi <pi, c>`` over couplings ``pi`` of ``(p, q)``       LP
===============  ===========================================================  ========

``wasserstein`` is W1 when the ground cost ``c`` is a metric; any cost with a zero
diagonal and positive off-diagonal entries (``inf`` = forbidden move) is accepted.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from .. import atoms
from .base import Program, Row

#: Divergence names, in the order the docs list them.
DIVERGENCES = ("tv", "kl", "reverse_kl", "hellinger", "chi2", "wasserstein")

_TEXT = {
    "tv": ("TV(p, q) = 1/2 sum_y |p[y] - q[y]| <= Gamma",
           r"\tfrac12\textstyle\sum_y |p_y - q_y| \le \Gamma"),
    "kl": ("KL(p || q) = sum_y p[y] log(p[y] / q[y]) <= Gamma",
           r"\textstyle\sum_y p_y \log\frac{p_y}{q_y} \le \Gamma"),
    "reverse_kl": ("KL(q || p) = sum_y q[y] log(q[y] / p[y]) <= Gamma",
                   r"\textstyle\sum_y q_y \log\frac{q_y}{p_y} \le \Gamma"),
    "hellinger": ("H^2(p, q) = 1 - sum_y sqrt(p[y] q[y]) <= Gamma",
                  r"1 - \textstyle\sum_y \sqrt{p_y q_y} \le \Gamma"),
    "chi2": ("chi^2(q || p) = sum_y (q[y] - p[y])^2 / p[y] <= Gamma",
             r"\textstyle\sum_y \frac{(q_y - p_y)^2}{p_y} \le \Gamma"),
    "wasserstein": ("sum_{y,y'} pi[y,y'] c[y,y'] <= Gamma",
                    r"\langle \pi, c\rangle \le \Gamma"),
}


def _finite(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    allowed = np.isfinite(d)
    return np.where(allowed, d, 0.0), allowed


def _perception(divergence: str, p_out: np.ndarray, q: cp.Variable, Gamma: float,
                ground: np.ndarray | None):
    """Constraints (by name), rows and extra variables of ``gamma(p, q) <= Gamma``."""
    m = p_out.size
    pos = p_out > 0
    zero = np.flatnonzero(~pos)
    constraints: dict[str, cp.Constraint] = {}
    rows: list[Row] = []
    variables: dict[str, cp.Variable] = {}
    variable_text: dict[str, str] = {}
    text, latex = _TEXT[divergence]
    g = f"   (Gamma = {Gamma:.10g})"
    if Gamma == 0.0:
        constraints["perception"] = q == p_out
        rows.append(Row("perception", "q[y] = p[y]  for every y   (Gamma = 0: every "
                        "divergence vanishes only at q = p)", r"q = p \;(\Gamma = 0)"))
        return constraints, rows, variables, variable_text
    if divergence == "tv":
        constraints["perception"] = 0.5 * cp.norm1(q - p_out) <= Gamma
    elif divergence == "kl":
        constraints["perception"] = atoms.kl_divergence(p_out[pos], q[np.flatnonzero(pos)]) <= Gamma
    elif divergence == "reverse_kl":
        constraints["perception"] = atoms.kl_divergence(q[np.flatnonzero(pos)], p_out[pos]) <= Gamma
    elif divergence == "hellinger":
        affinity = cp.sum(cp.multiply(np.sqrt(p_out[pos]), cp.sqrt(q[np.flatnonzero(pos)])))
        constraints["perception"] = 1.0 - affinity <= Gamma
    elif divergence == "chi2":
        idx = np.flatnonzero(pos)
        constraints["perception"] = cp.sum(
            cp.multiply(1.0 / p_out[pos], cp.square(q[idx] - p_out[pos]))) <= Gamma
    elif divergence == "wasserstein":
        c_fin, c_allowed = _finite(ground)
        plan = cp.Variable((m, m), nonneg=True, name="pi")
        variables["pi"] = plan
        variable_text["pi"] = f"{m}x{m} transport plan from p to q"
        constraints["transport source"] = cp.sum(plan, axis=1) == p_out
        constraints["transport target"] = cp.sum(plan, axis=0) == q
        rows.append(Row("transport source", "sum_y' pi[y,y'] = p[y]  for every y",
                        r"\textstyle\sum_{y'} \pi_{yy'} = p_y \;\forall y"))
        rows.append(Row("transport target", "sum_y pi[y,y'] = q[y']  for every y'",
                        r"\textstyle\sum_{y} \pi_{yy'} = q_{y'} \;\forall y'"))
        constraints["perception"] = cp.sum(cp.multiply(c_fin, plan)) <= Gamma
        blocked = np.argwhere(~c_allowed)
        if blocked.size:
            constraints["transport forbidden"] = plan[blocked[:, 0], blocked[:, 1]] == 0
            rows.append(Row("transport forbidden", f"pi[y,y'] = 0 where c[y,y'] = inf   "
                            f"({len(blocked)} pairs)", r"\pi_{yy'} = 0 \;\text{where } "
                            r"c_{yy'} = \infty"))
    else:  # pragma: no cover - the problem class validates the name
        raise ValueError(divergence)
    rows.append(Row("perception", text + g, latex + rf",\; \Gamma = {Gamma:.10g}"))
    if divergence in ("reverse_kl", "chi2") and zero.size:
        # Both are +inf unless q vanishes where p does.
        constraints["perception support"] = q[zero] == 0
        rows.append(Row("perception support", f"q[y] = 0 where p[y] = 0   ({zero.size} "
                        "symbols)", r"q_y = 0 \;\text{where } p_y = 0"))
    return constraints, rows, variables, variable_text


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
        One of :data:`DIVERGENCES`.
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
    """
    n, m = d.shape
    d_fin, allowed = _finite(d)
    joint = cp.Variable((n, m), nonneg=True, name="J")
    q = cp.Variable(m, nonneg=True, name="q")
    rate = atoms.mutual_information(joint, p, q)
    D_param = cp.Parameter(nonneg=True, name="D", value=float(D))
    constraints = {
        "source marginal": cp.sum(joint, axis=1) == p,
        "output marginal": q == cp.sum(joint, axis=0),
        "distortion": cp.sum(cp.multiply(d_fin, joint)) <= D_param,
    }
    rows = [Row("source marginal", "sum_y J[x,y] = p[x]  for every x",
                r"\textstyle\sum_y J_{xy} = p_x \;\forall x"),
            Row("output marginal", "q[y] = sum_x J[x,y]  for every y",
                r"q_y = \textstyle\sum_x J_{xy} \;\forall y"),
            Row("distortion", f"sum_{{x,y}} J[x,y] d[x,y] <= D   (D = {float(D):.10g})",
                rf"\langle J, d\rangle \le D = {float(D):.10g}")]
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
    obj_row = Row("objective", "I(X;Y) = sum_{x,y} J[x,y] log(J[x,y] / (p[x] q[y]))",
                  r"\sum_{x,y} J_{xy}\log\frac{J_{xy}}{p_x q_y}")
    data = {"p": p_out, "d": d}
    if ground is not None and divergence == "wasserstein":
        data["c"] = ground
    return Program(cp.Minimize(rate), constraints,
                   title=(f"R(D, Gamma): rate-distortion-perception (33), divergence "
                          f"{divergence!r}, n={n} source symbols, m={m} outputs"),
                   sense_text="minimize", sense_latex="min", objective_row=obj_row,
                   variables={"J": joint, "q": q, **extra_vars},
                   variable_text={"J": f"{n}x{m} joint pmf", "q": f"{m} output pmf",
                                  **extra_text},
                   rows=rows, data=data, parameters={"D": D_param})


def perfect_perception_dual(p: np.ndarray, p_out: np.ndarray, d: np.ndarray,
                            D: float) -> Program:
    r"""The dual of ``R(D, 0)`` (entropic optimal transport), built and unsolved.

    .. math::
        R(D, 0) = \max_{s \ge 0,\, f} \sum_x p_x f_x - s D
        - \sum_y p_y \log \sum_x p_x e^{f_x - s\, d_{xy}}

    (the output potential ``g_y = -log sum_x p_x e^{f_x - s d_xy}`` eliminated). DCP:
    ``-log_sum_exp`` of affine is concave. Any feasible ``(s, f)`` is a lower bound.
    Handles: variables ``f``, ``s``; parameter ``D``.
    """
    n, m = d.shape
    _, allowed = _finite(d)
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
                   data={"p": p_out, "d": d}, parameters={"D": D_param})
