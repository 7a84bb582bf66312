"""The one adapter interface every solver implements, whatever it solves.

An adapter is a small class with a ``NAME`` (what users pass as ``solver=``), a
``KIND`` (``"conic"``: cvxpy programs; ``"lp"``: linear programs given as arrays;
``"iterative"``: the numpy algorithms of :mod:`rdconvex.iterative`), the module it
needs, its default ``tol``/``max_iter`` and :meth:`is_installed`. What each kind solves
is one method: :meth:`ConicAdapter.solve` (a :class:`~rdconvex.programs.base.Program`),
:meth:`LPAdapter.solve_lp` (arrays), or the iterative adapters' own entry points
(``solve_rate_distortion`` for ``"ba"``, ``solve_perfect_perception`` for
``"sinkhorn"``). All return points with a :class:`~rdconvex.results.SolveInfo` whose
status is one :class:`~rdconvex.results.Status`.
"""

from __future__ import annotations

import abc
import importlib.util

import numpy as np

from .._validation import check_iteration_args
from ..results import RawSolution, SolveInfo


class Adapter(abc.ABC):
    """Base of every solver adapter."""

    NAME: str = ""
    KIND: str = ""
    MODULE: str = ""
    DEFAULT_TOL: float = 1e-9
    DEFAULT_MAX_ITER: int = 500

    @classmethod
    def is_installed(cls) -> bool:
        return not cls.MODULE or importlib.util.find_spec(cls.MODULE) is not None

    def settings(self, tol, max_iter) -> tuple[float, int]:
        """Validated generic settings, this solver's defaults filled in."""
        check_iteration_args(tol, max_iter)
        return (self.DEFAULT_TOL if tol is None else float(tol),
                self.DEFAULT_MAX_ITER if max_iter is None else int(max_iter))

    def failed(self, info: SolveInfo):
        """The :class:`~rdconvex.errors.SolverError` for a solve without a usable point."""
        from ..errors import SolverError

        return SolverError(
            f"solver {self.NAME!r} returned no usable point ({info.message}, status "
            f"{info.status.value}); try another solver, a looser tol or a larger max_iter.",
            partial=None)


class IterativeAdapter(Adapter):
    """Adapter of a numpy algorithm of :mod:`rdconvex.iterative`."""

    KIND = "iterative"
    #: Options for :func:`rdconvex.certify.classical.certify` (e.g. no polishing when the
    #: returned dual point already closes the gap).
    certify_options: dict = {}


class RateDistortionAdapter(IterativeAdapter):
    """An iterative solver of the classical problem (2) on the reduced problem."""

    @abc.abstractmethod
    def solve_rate_distortion(self, p: np.ndarray, d: np.ndarray, *, D: float | None = None,
                              slope: float | None = None, tol: float | None = None,
                              max_iter: int | None = None, solver_options: dict | None = None,
                              callback=None, warm_start=None) -> RawSolution:
        """Solve the reduced classical problem at target ``D`` or at ``slope`` (nats)."""
