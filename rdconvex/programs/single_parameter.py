r"""Section IV programs: the single-parameter dual (22) and its two inner problems.

(22) is a one-dimensional problem over ``lam``,

.. math::
    R(D) = \max_{\lambda \in \mathcal I}\; H(X) + \sum_x p_x \log \mu(x, \lambda)
    - \lambda D,

whose objective needs, at each ``lam``, the normalising ``mu`` of (13) and whose
feasible set ``I`` needs a coupling test. So there are three printable objects here:

* :func:`formulation` -- (22) itself, a :class:`Formulation` with ``.text()`` /
  ``.latex()`` (a 1-D maximisation is not a cvxpy problem: it is solved by a bounded
  scalar search, see :func:`rdconvex.section4.dual.single_parameter_dual`);
* :func:`at_lambda` -- at a fixed ``lam``, the best ``mu`` solving (13): a concave
  maximisation with linear constraints (a :class:`~rdconvex.programs.base.Program`);
* :func:`coupling` -- at a fixed ``lam`` and ``mu``, the LP that decides whether some
  output pmf ``Q`` couples with ``p`` (condition (ii) of Theorem 3).

All builders take validated data in nats (``p`` a pmf, ``d`` an ``n x m`` matrix in
``[0, inf]``) and return unsolved objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cvxpy as cp
import numpy as np

from ..numerics import log_kernel, normalised_pmf, row_minima, safe_log
from .base import Program, Row, _fmt


def scaled_kernel(d: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """``(r, V')`` with ``V'[x,y] = exp(-lam (d[x,y] - r[x]))`` (0 where ``d = inf``).

    ``r[x] = min_y d[x,y]`` over finite entries (0 for an all-``inf`` row). Every row of
    ``V'`` with a finite entry has maximum exactly 1, so nothing that matters underflows
    for large ``lam * d``: ``mu[x] = exp(lam r[x]) nu[x]`` turns (13) into
    ``sum_x nu[x] V'[x,y] = 1`` with ``0 <= nu <= 1``.
    """
    r = row_minima(d)
    r = np.where(np.isfinite(r), r, 0.0)
    return r, np.exp(log_kernel(d - r[:, None], lam))


def at_lambda(p: np.ndarray, d: np.ndarray, lam: float, D: float | None = None,
              tol: float = 0.0) -> Program:
    r"""The objective of (22) at a fixed ``lam``, maximised over the ``mu`` of (13).

    .. math::
        \max_{\mu \ge 0}\; H(X) + \sum_x p_x \log \mu_x - \lambda D
        \quad\text{s.t.}\quad \sum_x \mu_x e^{-\lambda d(x,y)} = 1 \;\;\forall y

    When (13) has a single nonnegative solution this just evaluates it; when it has
    many, the maximiser is the only ``mu`` that can satisfy the coupling condition of
    Theorem 3 (by Jensen's inequality: a coupled ``mu`` maximises
    ``sum_x p_x log mu_x`` even over ``V^T mu <= 1``), so it is the one (22) uses.

    For numerical range the variable is ``nu`` with ``mu[x] = exp(lam r[x]) nu[x]``,
    ``r[x] = min_y d[x,y]`` (:func:`scaled_kernel`); when every ``r[x] = 0`` (a
    distortion with a zero in each row) ``nu`` *is* ``mu`` and is printed as such.
    ``0 <= nu <= 1`` is implied by (13) (the equation of ``x``'s nearest output) and is
    stated as a constraint to help the solver.

    Parameters
    ----------
    p : ndarray (n,)
        Source pmf (zero entries allowed: they do not enter the objective).
    d : ndarray (n, m)
        Distortion in ``[0, inf]``.
    lam : float
        ``lam > 0``.
    D : float, optional
        Distortion level in the objective (omitted: the objective is
        ``H(X) + sum_x p_x log mu_x``).
    tol : float
        ``0`` for the equality (13); ``> 0`` relaxes it to ``|sum_x ... - 1| <= tol``
        (how :mod:`rdconvex.section4.normaliser` solves it when ``V`` is nearly singular).

    Returns
    -------
    Program
        Variable ``mu`` (or ``nu``); constraints ``normalisation (13)``, ``bound``.
        Once solved, ``read_point()`` gives an :class:`AtLambdaPoint` (``mu``,
        ``log_mu``, ``nu``).
    """
    n, m = d.shape
    r, kernel = scaled_kernel(d, lam)
    scaled = bool(np.any(r != 0))
    name = "nu" if scaled else "mu"
    var = cp.Variable(n, nonneg=True, name=name)
    support = np.flatnonzero(p > 0)
    entropy = float(-(p[support] @ np.log(p[support])))
    constant = entropy + float(lam * (p @ r)) - (0.0 if D is None else float(lam * D))
    objective = cp.Maximize(constant + p[support] @ cp.log(var[support]))
    column_sums = kernel.T @ var
    if tol > 0:
        normalisation = cp.abs(column_sums - 1.0) <= tol
    else:
        normalisation = column_sums == 1.0
    constraints = {"normalisation (13)": normalisation, "bound": var <= 1.0}
    objective_row, rows = _at_lambda_rows(scaled, name, lam, D, tol)
    data = {"p": p, "d": d, "lam": float(lam), "H(X) (nats)": entropy}
    if scaled:
        data["r = row minima of d"] = r

    def reader(program: Program) -> AtLambdaPoint:
        nu = np.clip(np.asarray(var.value, dtype=float), 0.0, 1.0)
        log_mu = safe_log(nu) + lam * r
        with np.errstate(over="ignore"):
            return AtLambdaPoint(np.exp(log_mu), log_mu, nu)

    return Program(objective, constraints,
                   title=(f"(22) at fixed lam: the normalising mu of (13) with the largest "
                          f"sum_x p[x] log mu[x], n={n} source symbols, m={m} outputs"),
                   sense_text="maximize", sense_latex="max", objective_row=objective_row,
                   variables={name: var},
                   variable_text={name: f"{n} normalising weights"},
                   rows=rows, data=data, parameters={}, reader=reader)


class AtLambdaPoint(NamedTuple):
    """A solved :func:`at_lambda` in the problem's terms: ``mu`` (``inf`` only on
    overflow), ``log mu`` and the row-scaled ``nu = mu exp(-lam r)`` in ``[0, 1]``."""

    mu: np.ndarray
    log_mu: np.ndarray
    nu: np.ndarray


def _at_lambda_rows(scaled: bool, name: str, lam: float, D, tol: float):
    """The objective row and the constraint rows of :func:`at_lambda`, as text/LaTeX."""
    if tol > 0:
        eq_text, eq_latex = f"|... - 1| <= {tol:.3g}", rf"\in [1 \pm {tol:.3g}]"
    else:
        eq_text, eq_latex = "= 1", "= 1"
    if scaled:
        norm_text = (f"sum_x nu[x] exp(-lam (d[x,y] - r[x])) {eq_text}  for every y   "
                     "(mu[x] = exp(lam r[x]) nu[x])")
        norm_latex = (rf"\textstyle\sum_x \nu_x e^{{-\lambda (d_{{xy}} - r_x)}} {eq_latex}"
                      r" \;\forall y")
        obj_text = "H(X) + sum_x p[x] (lam r[x] + log nu[x]) - lam D"
        obj_latex = r"H(X) + \sum_x p_x (\lambda r_x + \log \nu_x) - \lambda D"
    else:
        norm_text = f"sum_x mu[x] exp(-lam d[x,y]) {eq_text}  for every y"
        norm_latex = rf"\textstyle\sum_x \mu_x e^{{-\lambda d_{{xy}}}} {eq_latex} \;\forall y"
        obj_text = "H(X) + sum_x p[x] log mu[x] - lam D"
        obj_latex = r"H(X) + \sum_x p_x \log \mu_x - \lambda D"
    if D is None:
        obj_text = obj_text.replace(" - lam D", "")
        obj_latex = obj_latex.replace(r" - \lambda D", "")
    else:
        obj_text += f"   (lam = {lam:.10g}, D = {float(D):.10g})"
        obj_latex += rf",\; \lambda = {lam:.10g},\; D = {float(D):.10g}"
    rows = [Row("normalisation (13)", norm_text, norm_latex),
            Row("bound", f"{name} <= 1  (implied by (13))", rf"\{name} \le 1"),
            Row("nonnegative", f"{name} >= 0", rf"\{name} \ge 0")]
    return Row("objective", obj_text, obj_latex), rows


def coupling(p: np.ndarray, likelihood: np.ndarray) -> Program:
    r"""Condition (ii) of Theorem 3 at a fixed ``lam``: does some ``Q`` couple with ``p``?

    .. math::
        \min_{Q \ge 0} \sum_x \Big|\sum_y A_{xy} Q_y - p_x\Big|
        \quad\text{s.t.}\quad \textstyle\sum_y Q_y = 1,
        \qquad A = \operatorname{diag}(\mu)\, e^{-\lambda d}

    The optimum is 0 exactly when ``lam`` is in ``I`` (given the ``mu`` of (13)).
    ``A`` is the translated ``P_{X|U}``, so this is the polytope of ``P_U`` consistent
    with ``(X, A)`` (Theorem 1-(iii)): ``lam`` is in ``I`` iff the translated
    log-likelihood problem has a special operating point.

    Returns
    -------
    Program
        Variable ``Q``; constraints ``simplex``, ``nonnegative``. Once solved,
        ``read_point()`` gives ``Q`` clipped at 0 and renormalised.
    """
    n, m = likelihood.shape
    Q = cp.Variable(m, nonneg=True, name="Q")
    objective = cp.Minimize(cp.norm1(likelihood @ Q - p))
    rows = [Row("simplex", "sum_y Q[y] = 1", r"\textstyle\sum_y Q_y = 1"),
            Row("nonnegative", "Q >= 0", r"Q \ge 0")]
    obj_row = Row("objective",
                  "sum_x | sum_y mu[x] exp(-lam d[x,y]) Q[y] - p[x] |   (0 iff Q couples)",
                  r"\sum_x \Big|\sum_y \mu_x e^{-\lambda d_{xy}} Q_y - p_x\Big|")
    return Program(objective, {"simplex": cp.sum(Q) == 1},
                   title=(f"Theorem 3 (ii) at fixed lam: an output pmf Q coupling with p "
                          f"through P_X|Y = diag(mu) exp(-lam d), n={n}, m={m}"),
                   sense_text="minimize", sense_latex="min", objective_row=obj_row,
                   variables={"Q": Q}, variable_text={"Q": f"{m} output pmf"}, rows=rows,
                   data={"p": p, "A = diag(mu) exp(-lam d)": likelihood},
                   reader=lambda program: normalised_pmf(Q.value, m))


@dataclass(frozen=True, eq=False)
class Formulation:
    """(22) written out: a 1-D maximisation over ``lam`` in ``I`` (printable, not a
    cvxpy problem). ``at(lam)`` gives the inner program :func:`at_lambda`."""

    p: np.ndarray
    d: np.ndarray
    D: float
    intervals: tuple | None = None
    note: str = ""
    intervals_text: str | None = None

    def at(self, lam: float) -> Program:
        """The program in ``mu`` at a fixed ``lam`` (:func:`at_lambda`)."""
        return at_lambda(self.p, self.d, lam, self.D)

    def _rows(self) -> list[Row]:
        rows = [Row("normalisation (13)",
                    "mu(., lam) >= 0 solves sum_x mu(x, lam) exp(-lam d[x,y]) = 1 for every y",
                    r"\mu(\cdot,\lambda) \ge 0,\; \textstyle\sum_x \mu(x,\lambda) "
                    r"e^{-\lambda d_{xy}} = 1 \;\forall y"),
                Row("coupling (Thm 3)",
                    "I = {lam > 0: some Q >= 0 has sum_y Q[y] mu(x, lam) exp(-lam d[x,y]) "
                    "= p[x] for every x}",
                    r"\mathcal I = \{\lambda > 0 : \exists Q \ge 0,\; \textstyle\sum_y Q_y "
                    r"\mu(x,\lambda) e^{-\lambda d_{xy}} = p_x \;\forall x\}")]
        if self.intervals is not None:
            text = self.intervals_text or _intervals_text(self.intervals)
            latex = (_text_to_latex(self.intervals_text) if self.intervals_text
                     else _intervals_latex(self.intervals))
            rows.append(Row("I (computed)", text + (f"   {self.note}" if self.note else ""),
                            r"\mathcal I \approx " + latex))
        return rows

    def text(self) -> str:
        n, m = self.d.shape
        rows = self._rows()
        width = max(len(r.name) for r in rows) + 2
        lines = [f"R(D): single-parameter dual (22), n={n} source symbols, m={m} outputs",
                 f"  {'maximize':<10} H(X) + sum_x p[x] log mu(x, lam) - lam D"
                 f"   (D = {self.D:.10g})",
                 "  over       lam in I (scalar)",
                 "  subject to"]
        lines += [f"    {('[' + r.name + ']'):<{width + 1}} {r.text}" for r in rows]
        lines.append(f"  where p = {_fmt(self.p)}")
        lines.append(f"  where d = {_fmt(self.d)}")
        return "\n".join(lines)

    def latex(self) -> str:
        lines = [r"\begin{aligned}",
                 rf"&\max_{{\lambda \in \mathcal I}} && H(X) + \sum_x p_x \log \mu(x,\lambda)"
                 rf" - \lambda D,\; D = {self.D:.10g} \\",
                 r"&\text{s.t.} && \\"]
        lines += [rf"& && {r.latex} && \text{{({r.name})}} \\" for r in self._rows()]
        lines.append(r"\end{aligned}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def formulation(p: np.ndarray, d: np.ndarray, D: float, intervals=None,
                note: str = "", intervals_text: str | None = None) -> Formulation:
    """(22) at distortion ``D`` as a printable :class:`Formulation` (``intervals``: the
    computed ``I`` as ``(lo, hi)`` pairs, printed when given, as ``intervals_text`` if
    that is given; ``note``: how it was computed)."""
    return Formulation(np.asarray(p, dtype=float), np.asarray(d, dtype=float), float(D),
                       None if intervals is None else tuple(intervals), note, intervals_text)


def _intervals_text(intervals) -> str:
    if not intervals:
        return "empty"
    return " u ".join(f"[{lo:.10g}, {hi:.10g}]" for lo, hi in intervals)


def _intervals_latex(intervals) -> str:
    if not intervals:
        return r"\emptyset"
    return r" \cup ".join(f"[{lo:.6g}, {hi:.6g}]" for lo, hi in intervals)


def _text_to_latex(text: str) -> str:
    return (text.replace(" u ", r" \cup ").replace("..)", r"\,\ldots)")
            .replace("(..", r"(\ldots\,").replace("empty", r"\emptyset"))
