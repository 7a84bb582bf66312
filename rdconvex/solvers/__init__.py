"""Solver registry: conic adapters (through cvxpy) and the iterative core.

``get_solver(name)`` returns an adapter instance; ``installed_solvers()`` lists the
names usable on this machine. Iterative solvers (``"ba"``, ``"sinkhorn"``) register
themselves here from :mod:`rdconvex.iterative`.
"""

from __future__ import annotations

from ..errors import UnknownSolverError
from .base import IterativeSolver, RawSolution, SolveInfo
from .conic import ECOS, SCS, Clarabel, ConicSolver, Mosek

CONIC = {cls.NAME: cls for cls in (Clarabel, SCS, ECOS, Mosek)}
ITERATIVE: dict[str, type] = {}


def register_iterative(cls):
    """Class decorator: make an iterative solver available by its ``NAME``."""
    ITERATIVE[cls.NAME] = cls
    return cls


def _load_iterative() -> None:
    # The iterative adapters live beside their algorithms; importing registers them.
    from .. import iterative  # noqa: F401


def installed_solvers(kind: str | None = None) -> list[str]:
    """Names of the solvers usable here (``kind``: ``"conic"``, ``"iterative"`` or all)."""
    _load_iterative()
    names = []
    if kind in (None, "conic"):
        names += [name for name, cls in CONIC.items() if cls.is_installed()]
    if kind in (None, "iterative"):
        names += list(ITERATIVE)
    return names


def get_solver(name, allowed: tuple[str, ...] | None = None):
    """Adapter instance for ``name``; a clear error if unknown or not installed."""
    _load_iterative()
    usable = installed_solvers()
    if allowed is not None:
        usable = [s for s in usable if s in allowed]
    if not isinstance(name, str):
        raise UnknownSolverError(f"solver must be a string such as 'clarabel', got {name!r}.")
    key = name.lower()
    if key in usable:
        return (CONIC.get(key) or ITERATIVE[key])()
    if key in CONIC and not CONIC[key].is_installed():
        raise UnknownSolverError(
            f"solver={name!r} is not installed on this machine; installed solvers for this "
            f"problem: {usable}. Install it (e.g. pip install {CONIC[key].MODULE}) or pick one "
            "of those.")
    raise UnknownSolverError(
        f"solver={name!r} is not available for this problem; choose one of {usable}.")


__all__ = ["ConicSolver", "IterativeSolver", "RawSolution", "SolveInfo", "CONIC", "ITERATIVE", "get_solver",
           "installed_solvers", "register_iterative"]
