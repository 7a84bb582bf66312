"""Linear programs given as arrays, solved by HiGHS (through :func:`scipy.optimize.linprog`).

The LPs of rdconvex (the special-point interval, Farkas certificates, transport plans,
the normaliser and coupling LPs of Section IV) are small and sparse; HiGHS returns a
vertex with its duals, which the certificate layer turns into bounds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from ..results import SolveInfo, Status
from .base import Adapter

_HIGHS_STATUS = {0: Status.OPTIMAL, 1: Status.MAX_ITERATIONS, 2: Status.INFEASIBLE,
                 3: Status.UNBOUNDED, 4: Status.FAILED}


@dataclass(frozen=True)
class LPSolution:
    """A solved LP: the point ``x`` (None without one), its objective, the duals of the
    equality and inequality rows (HiGHS's marginals, ``None`` when absent) and the info."""

    x: np.ndarray | None
    objective: float
    eq_duals: np.ndarray | None
    ub_duals: np.ndarray | None
    info: SolveInfo


class HiGHS(Adapter):
    """``solver="highs"``: the dual simplex / IPM of HiGHS, for linear programs."""

    NAME, KIND, MODULE = "highs", "lp", "scipy"
    DEFAULT_TOL, DEFAULT_MAX_ITER = 1e-9, 100_000

    def solve_lp(self, c, *, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=(0, None),
                 tol: float | None = None, max_iter: int | None = None,
                 solver_options: dict | None = None) -> LPSolution:
        r"""Solve :math:`\min c^T x` s.t. :math:`A_{ub} x \le b_{ub}`,
        :math:`A_{eq} x = b_{eq}`, ``bounds`` (as :func:`scipy.optimize.linprog`)."""
        tol, max_iter = self.settings(tol, max_iter)
        options = {"primal_feasibility_tolerance": tol, "dual_feasibility_tolerance": tol,
                   "maxiter": max_iter, **(solver_options or {})}
        start = time.perf_counter()
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                      method="highs", options=options)
        status = _HIGHS_STATUS.get(res.status, Status.FAILED)
        info = SolveInfo(status, int(getattr(res, "nit", 0) or 0), time.perf_counter() - start,
                         str(res.message))
        x = None if res.x is None else np.asarray(res.x, dtype=float)
        eq = getattr(res, "eqlin", None)
        ub = getattr(res, "ineqlin", None)
        return LPSolution(
            x, float(res.fun) if res.fun is not None else float("nan"),
            None if eq is None or x is None else np.asarray(eq.marginals, dtype=float),
            None if ub is None or x is None else np.asarray(ub.marginals, dtype=float), info)
