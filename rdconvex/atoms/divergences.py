r"""Perception divergences ``gamma(p, q)`` of Section V (33): one object per divergence.

Each :class:`Divergence` keeps in one place what the rest of the package needs of it
(as CVXPY's atoms keep expression, value and curvature together):

* :meth:`Divergence.constraints` — the DCP constraint ``gamma(p, q) <= Gamma`` on the
  output pmf variable ``q`` (convex in ``q``), with its plain-text and LaTeX rows;
* :meth:`Divergence.value` — ``gamma(p, q)`` in float64;
* ``text``/``latex`` and ``information_units`` (``Gamma`` is in nats/bits: the two KL).

The support function of the divergence ball, which the lower bound of ``R(D, Gamma)``
needs, is bounded with outward rounding in :mod:`rdconvex.certify.perception_support`
(a proven Lagrangian dual per divergence, in ``arb``).

===============  ===========================================================  ========
name             definition (``p`` = source pmf, ``q`` = output pmf)          DCP form
===============  ===========================================================  ========
``tv``           ``1/2 sum |p - q|`` (total variation)                        ``norm1``
``kl``           ``KL(p || q) = sum p log(p/q)``                              ``rel_entr``
``reverse_kl``   ``KL(q || p) = sum q log(q/p)``                              ``rel_entr``
``hellinger``    ``1/2 sum (sqrt p - sqrt q)^2 = 1 - sum sqrt(p q)``          ``sqrt``
``chi2``         Pearson ``chi^2(q || p) = sum (q - p)^2 / p``                ``square``
``wasserstein``  ``min_pi <pi, c>`` over couplings ``pi`` of ``(p, q)``       LP
===============  ===========================================================  ========

The Wasserstein value needs an optimal transport plan (a linear program); atoms do not
solve programs, so :meth:`Wasserstein.value` takes the plan, and
:func:`rdconvex.certify.perception.divergence_value` solves for it.
"""

from __future__ import annotations

import abc
import math
from typing import NamedTuple

import cvxpy as cp
import numpy as np
from scipy.special import rel_entr

from .information import kl_divergence


class ConstraintRow(NamedTuple):
    """One named constraint of a divergence with its plain text and LaTeX."""

    name: str
    constraint: cp.Constraint
    text: str
    latex: str


class DivergenceBlock(NamedTuple):
    """What ``gamma(p, q) <= Gamma`` adds to a program: rows and extra variables."""

    rows: list
    variables: dict
    variable_text: dict


class Divergence(abc.ABC):
    """Base of the perception divergences (see the module docstring)."""

    #: Registry key (``divergence=`` of :class:`~rdconvex.RateDistortionPerception`).
    name: str = ""
    #: ``gamma(p, q)`` written out, plain text and LaTeX.
    text: str = ""
    latex: str = ""
    #: ``Gamma`` is an amount of information (converted with the problem's units).
    information_units: bool = False
    #: ``gamma = +inf`` unless ``q`` vanishes where ``p`` does.
    needs_support: bool = False
    #: :meth:`value` needs a transport plan of ``p`` to ``q`` (a solved LP).
    needs_plan: bool = False

    @abc.abstractmethod
    def constraints(self, p: np.ndarray, q: cp.Expression, Gamma: float,
                    ground: np.ndarray | None = None) -> DivergenceBlock:
        """The named constraints of ``gamma(p, q) <= Gamma`` (``Gamma > 0``)."""

    @abc.abstractmethod
    def value(self, p, q, *, ground=None, plan=None) -> float:
        """``gamma(p, q)`` in float64 (nats for the KL divergences)."""


class ExpressionDivergence(Divergence):
    """A divergence with a closed-form cvxpy expression: its constraint is
    ``expression(p, q) <= Gamma`` (and ``q = 0`` off the support of ``p`` when
    ``needs_support``)."""

    @abc.abstractmethod
    def expression(self, p: np.ndarray, q: cp.Expression) -> cp.Expression:
        """``gamma(p, q)`` as a cvxpy expression, convex in ``q``."""

    def constraints(self, p: np.ndarray, q: cp.Expression, Gamma: float,
                    ground: np.ndarray | None = None) -> DivergenceBlock:
        g = f"   (Gamma = {Gamma:.10g})"
        rows = [ConstraintRow("perception", self.expression(p, q) <= Gamma,
                              f"{self.text} <= Gamma" + g,
                              self.latex + rf" \le \Gamma,\; \Gamma = {Gamma:.10g}")]
        zero = np.flatnonzero(p <= 0)
        if self.needs_support and zero.size:
            rows.append(ConstraintRow(
                "perception support", q[zero] == 0,
                f"q[y] = 0 where p[y] = 0   ({zero.size} symbols)",
                r"q_y = 0 \;\text{where } p_y = 0"))
        return DivergenceBlock(rows, {}, {})


class TotalVariation(ExpressionDivergence):
    name = "tv"
    text = "TV(p, q) = 1/2 sum_y |p[y] - q[y]|"
    latex = r"\tfrac12\textstyle\sum_y |p_y - q_y|"

    def expression(self, p, q):
        return 0.5 * cp.norm1(q - p)

    def value(self, p, q, *, ground=None, plan=None):
        return float(0.5 * np.sum(np.abs(np.asarray(p, float) - np.asarray(q, float))))


class KL(ExpressionDivergence):
    name = "kl"
    text = "KL(p || q) = sum_y p[y] log(p[y] / q[y])"
    latex = r"\textstyle\sum_y p_y \log\frac{p_y}{q_y}"
    information_units = True

    def expression(self, p, q):
        pos = p > 0
        return kl_divergence(p[pos], q[np.flatnonzero(pos)])

    def value(self, p, q, *, ground=None, plan=None):
        # KL >= 0; a float sum of rel_entr terms can land a few ulps below it.
        return max(0.0, float(np.sum(rel_entr(np.asarray(p, float), np.asarray(q, float)))))


class ReverseKL(ExpressionDivergence):
    name = "reverse_kl"
    text = "KL(q || p) = sum_y q[y] log(q[y] / p[y])"
    latex = r"\textstyle\sum_y q_y \log\frac{q_y}{p_y}"
    information_units = True
    needs_support = True

    def expression(self, p, q):
        pos = p > 0
        return kl_divergence(q[np.flatnonzero(pos)], p[pos])

    def value(self, p, q, *, ground=None, plan=None):
        return max(0.0, float(np.sum(rel_entr(np.asarray(q, float), np.asarray(p, float)))))


class Hellinger(ExpressionDivergence):
    name = "hellinger"
    text = "H^2(p, q) = 1 - sum_y sqrt(p[y] q[y])"
    latex = r"1 - \textstyle\sum_y \sqrt{p_y q_y}"

    def expression(self, p, q):
        pos = p > 0
        return 1.0 - cp.sum(cp.multiply(np.sqrt(p[pos]), cp.sqrt(q[np.flatnonzero(pos)])))

    def value(self, p, q, *, ground=None, plan=None):
        # The squared-difference form: 1 - sum sqrt(p q) cancels for q near p.
        p, q = np.asarray(p, float), np.asarray(q, float)
        return float(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2))


class ChiSquared(ExpressionDivergence):
    name = "chi2"
    text = "chi^2(q || p) = sum_y (q[y] - p[y])^2 / p[y]"
    latex = r"\textstyle\sum_y \frac{(q_y - p_y)^2}{p_y}"
    needs_support = True

    def expression(self, p, q):
        pos = p > 0
        return cp.sum(cp.multiply(1.0 / p[pos], cp.square(q[np.flatnonzero(pos)] - p[pos])))

    def value(self, p, q, *, ground=None, plan=None):
        p, q = np.asarray(p, float), np.asarray(q, float)
        pos = p > 0
        if np.any(q[~pos] > 0):
            return math.inf
        return float(np.sum((q[pos] - p[pos]) ** 2 / p[pos]))


class Wasserstein(Divergence):
    name = "wasserstein"
    text = "sum_{y,y'} pi[y,y'] c[y,y']"
    latex = r"\langle \pi, c\rangle"
    needs_plan = True

    def constraints(self, p, q, Gamma, ground=None):
        """A transport plan ``pi`` from ``p`` to ``q`` (extra variable) with cost
        ``<pi, c> <= Gamma``; ``pi = 0`` where ``c = inf``."""
        m = p.size
        allowed = np.isfinite(ground)
        plan = cp.Variable((m, m), nonneg=True, name="pi")
        rows = [
            ConstraintRow("transport source", cp.sum(plan, axis=1) == p,
                          "sum_y' pi[y,y'] = p[y]  for every y",
                          r"\textstyle\sum_{y'} \pi_{yy'} = p_y \;\forall y"),
            ConstraintRow("transport target", cp.sum(plan, axis=0) == q,
                          "sum_y pi[y,y'] = q[y']  for every y'",
                          r"\textstyle\sum_{y} \pi_{yy'} = q_{y'} \;\forall y'"),
        ]
        blocked = np.argwhere(~allowed)
        if blocked.size:
            rows.append(ConstraintRow(
                "transport forbidden", plan[blocked[:, 0], blocked[:, 1]] == 0,
                f"pi[y,y'] = 0 where c[y,y'] = inf   ({len(blocked)} pairs)",
                r"\pi_{yy'} = 0 \;\text{where } c_{yy'} = \infty"))
        cost = cp.sum(cp.multiply(np.where(allowed, ground, 0.0), plan))
        rows.append(ConstraintRow(
            "perception", cost <= Gamma, f"{self.text} <= Gamma   (Gamma = {Gamma:.10g})",
            self.latex + rf" \le \Gamma,\; \Gamma = {Gamma:.10g}"))
        return DivergenceBlock(rows, {"pi": plan}, {"pi": f"{m}x{m} transport plan from p to q"})

    def value(self, p, q, *, ground=None, plan=None):
        """The cost of ``plan`` (a coupling of ``p`` and ``q``; an upper bound on the
        optimal cost); ``0`` when ``q == p`` exactly and the diagonal of ``ground`` is
        zero, ``inf`` when ``plan`` is None (no coupling avoids the forbidden moves)."""
        ground = np.asarray(ground, dtype=float)
        if np.array_equal(np.asarray(p, float), np.asarray(q, float)) \
                and np.all(np.diag(ground) == 0):
            return 0.0
        if plan is None:
            return math.inf
        mass = plan > 0
        if np.any(mass & ~np.isfinite(ground)):
            return math.inf
        return float(np.sum(plan[mass] * ground[mass]))


#: Every divergence by name, in the order the docs list them.
DIVERGENCES: dict[str, Divergence] = {
    cls.name: cls() for cls in (TotalVariation, KL, ReverseKL, Hellinger, ChiSquared,
                                Wasserstein)}
