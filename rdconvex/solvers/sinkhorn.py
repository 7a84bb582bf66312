"""``solver="sinkhorn"``: R(D, 0) as entropic optimal transport
(:mod:`rdconvex.iterative.sinkhorn`)."""

from __future__ import annotations

import time

import numpy as np

from ..iterative import sinkhorn as _sinkhorn
from ..results import SolveInfo, Status
from .base import IterativeAdapter


class Sinkhorn(IterativeAdapter):
    """Log-domain Sinkhorn with a root search on the multiplier of the distortion."""

    NAME = "sinkhorn"
    MODULE = ""
    DEFAULT_TOL = _sinkhorn.DEFAULT_TOL
    DEFAULT_MAX_ITER = _sinkhorn.DEFAULT_MAX_ITER

    def solve_transport(self, a, b, cost, D: float, *, tol=None, max_iter=None):
        """``min KL(J || a b^T)`` over couplings of ``(a, b)`` with ``<J, cost> <= D``
        (:func:`rdconvex.iterative.sinkhorn.fixed_output_rate`)."""
        tol, max_iter = self.settings(tol, max_iter)
        return _sinkhorn.fixed_output_rate(a, b, cost, D, tol=tol, max_iter=max_iter)

    def solve_perfect_perception(self, a: np.ndarray, b: np.ndarray, cost: np.ndarray,
                                 D: float, *, tol=None, max_iter=None):
        """``R(D, 0)`` as entropic optimal transport: couplings of ``a`` (the source
        symbols of positive probability) and ``b`` (the full source pmf) with
        ``<J, cost> <= D`` (the caller passes shifted, scaled data). Returns
        ``(info, solution)``: the :class:`~rdconvex.results.SolveInfo` and the
        :class:`~rdconvex.iterative.sinkhorn.FixedOutputSolution` (the coupling, and the
        potentials of every multiplier evaluated, for the certificate)."""
        start = time.perf_counter()
        solution = self.solve_transport(a, b, cost, D, tol=tol, max_iter=max_iter)
        status = Status.OPTIMAL if solution.converged else Status.MAX_ITERATIONS
        info = SolveInfo(status, solution.iterations, time.perf_counter() - start,
                         solution.message)
        return info, solution

    def scale(self, a, b, cost, lam: float, *, f0=None, tol=None, max_iter=None):
        """One Sinkhorn scaling at multiplier ``lam``
        (:func:`rdconvex.iterative.sinkhorn.sinkhorn`)."""
        tol, max_iter = self.settings(tol, max_iter)
        return _sinkhorn.sinkhorn(a, b, cost, lam, f0=f0, tol=tol, max_iter=max_iter)
