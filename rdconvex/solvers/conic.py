"""Conic solver adapters: one small class per solver, all behind cvxpy.

Each adapter has a ``NAME`` (what users pass as ``solver=``), the cvxpy solver name,
the module it needs, its default tolerance, and :meth:`options`, which translates the
generic ``tol``/``max_iter`` into that solver's own options. ``solver_options`` are
passed through untouched and win over the translated ones. cvxpy's status strings are
mapped to one :class:`~rdconvex.results.Status`.
"""

from __future__ import annotations

import abc
import functools
import importlib.util
import time
import warnings

import cvxpy as cp
import numpy as np

from ..errors import InvalidArgumentError
from ..programs import classical
from ..results import RawSolution, SolveInfo, Status
from .base import Adapter

_CVXPY_STATUS = {
    cp.OPTIMAL: Status.OPTIMAL,
    cp.OPTIMAL_INACCURATE: Status.OPTIMAL_INACCURATE,
    cp.USER_LIMIT: Status.MAX_ITERATIONS,
    cp.INFEASIBLE: Status.INFEASIBLE,
    cp.INFEASIBLE_INACCURATE: Status.INFEASIBLE,
    cp.UNBOUNDED: Status.UNBOUNDED,
    cp.UNBOUNDED_INACCURATE: Status.UNBOUNDED,
    cp.SOLVER_ERROR: Status.FAILED,
}


@functools.cache
def _cvxpy_solvers() -> frozenset:
    """cvxpy's installed solvers, asked once per process (the question costs ~3 ms)."""
    return frozenset(cp.installed_solvers())


class ConicSolver(Adapter):
    """Base adapter. Subclasses set the class attributes and :meth:`options`."""

    KIND = "conic"
    CVXPY_NAME: str = ""

    @classmethod
    def is_installed(cls) -> bool:
        return (importlib.util.find_spec(cls.MODULE) is not None
                and cls.CVXPY_NAME in _cvxpy_solvers())

    @abc.abstractmethod
    def options(self, tol: float, max_iter: int) -> dict:
        """This solver's own options for the generic ``tol`` and ``max_iter``."""

    def solve(self, problem: cp.Problem, tol: float | None = None,
              max_iter: int | None = None, solver_options: dict | None = None,
              verbose: bool = False, warm_start: bool = False) -> SolveInfo:
        """Solve ``problem`` in place and report the mapped status."""
        opts = self.options(*self.settings(tol, max_iter))
        opts.update(solver_options or {})
        start = time.perf_counter()
        try:
            # cvxpy's "may be inaccurate" warning is replaced by ours, which also reports
            # the certified gap; cvxpy evaluating log at a returned 0 (a vanishing
            # probability) is not an error: the point is certified on its own.
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                problem.solve(solver=self.CVXPY_NAME, verbose=verbose,
                              warm_start=warm_start, **opts)
            status = _CVXPY_STATUS.get(problem.status, Status.FAILED)
            message = f"status {problem.status}"
        except cp.error.SolverError as exc:
            status, message = Status.FAILED, f"failed: {exc}"
        elapsed = time.perf_counter() - start
        stats = problem.solver_stats
        iterations = int(stats.num_iters) if stats is not None and stats.num_iters else 0
        return SolveInfo(status, iterations, elapsed, message)


    def solve_rate_distortion(self, p, d, *, D=None, slope=None, tol=None, max_iter=None,
                              solver_options=None, formulation: str = "primal",
                              verbose: bool = False, scale: float | None = None) -> RawSolution:
        """Program (2) (or its Gallager dual) on the reduced data, built with the
        conditioning ``scale`` (default :func:`rdconvex.programs.classical.conditioning_scale`
        of ``d``), solved and read back (:meth:`~rdconvex.programs.base.Program.read_point`)."""
        if formulation not in ("primal", "dual"):
            raise InvalidArgumentError(
                f"formulation={formulation!r} is not supported; use 'primal' or 'dual'.")
        scale = classical.conditioning_scale(d) if scale is None else scale
        if formulation == "dual" and slope is None:
            prog = classical.dual(p, d, D, scale=scale)
        else:
            prog = classical.primal(p, d, D=D, slope=slope, scale=scale)
        info = self.solve(prog, tol, max_iter, solver_options, verbose)
        point = prog.read_point() if info.status.has_point else None
        if point is None:
            raise self.failed(info)
        return RawSolution(point.channel, point.slope, point.output_pmf, info)


class Clarabel(ConicSolver):
    NAME, CVXPY_NAME, MODULE = "clarabel", "CLARABEL", "clarabel"
    DEFAULT_TOL, DEFAULT_MAX_ITER = 1e-8, 200

    def options(self, tol, max_iter):
        return {"tol_gap_abs": tol, "tol_gap_rel": tol, "tol_feas": tol,
                "tol_ktratio": min(1e-6, tol), "max_iter": int(max_iter)}


class SCS(ConicSolver):
    NAME, CVXPY_NAME, MODULE = "scs", "SCS", "scs"
    DEFAULT_TOL, DEFAULT_MAX_ITER = 1e-6, 20_000

    def options(self, tol, max_iter):
        return {"eps_abs": tol, "eps_rel": tol, "max_iters": int(max_iter)}


class ECOS(ConicSolver):
    NAME, CVXPY_NAME, MODULE = "ecos", "ECOS", "ecos"
    DEFAULT_TOL, DEFAULT_MAX_ITER = 1e-8, 200

    def options(self, tol, max_iter):
        return {"abstol": tol, "reltol": tol, "feastol": tol, "max_iters": int(max_iter)}


class Mosek(ConicSolver):
    NAME, CVXPY_NAME, MODULE = "mosek", "MOSEK", "mosek"
    DEFAULT_TOL, DEFAULT_MAX_ITER = 1e-10, 400

    def options(self, tol, max_iter):
        return {"mosek_params": {"MSK_DPAR_INTPNT_CO_TOL_REL_GAP": tol,
                                 "MSK_DPAR_INTPNT_CO_TOL_PFEAS": tol,
                                 "MSK_DPAR_INTPNT_CO_TOL_DFEAS": tol,
                                 "MSK_IPAR_INTPNT_MAX_ITERATIONS": int(max_iter)}}
