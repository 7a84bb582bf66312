"""Solvers: one registry (:mod:`.registry`) of adapters with one interface (:mod:`.base`).

Nothing outside this package calls a solver: problems, certificates and Section IV ask
:func:`get_solver` for an adapter and hand it a program, an LP or arrays.
"""

from .base import Adapter, IterativeAdapter, RateDistortionAdapter
from .conic import ConicSolver
from .lp import LPSolution
from .registry import DEFAULTS, REGISTRY, TASKS, get_solver, installed_solvers

__all__ = ["Adapter", "ConicSolver", "IterativeAdapter", "RateDistortionAdapter",
           "LPSolution", "DEFAULTS", "REGISTRY", "TASKS", "get_solver", "installed_solvers"]
