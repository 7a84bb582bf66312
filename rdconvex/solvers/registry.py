"""The one registry of solvers, and the one default-solver policy.

Every solver rdconvex can use is an adapter class listed here: Clarabel, SCS, ECOS and
MOSEK (conic, through cvxpy), HiGHS (linear programs), Blahut–Arimoto (``"ba"``) and
Sinkhorn (``"sinkhorn"``). Each declares the *tasks* it can do; a caller names the task
and optionally a solver, and :func:`get_solver` returns a ready adapter or a typed error.

Default policy (``solver=None`` or ``"auto"``, the default of every ``solve``, ``curve``,
``verify`` and of the command line): the fastest certified method for the task,
:data:`DEFAULTS`.
"""

from __future__ import annotations

from ..errors import UnknownSolverError
from .ba import BlahutArimoto
from .conic import ECOS, SCS, Clarabel, Mosek
from .lp import HiGHS
from .sinkhorn import Sinkhorn

#: What each task is, and which solver kinds (or names) can do it.
TASKS = {
    "rate_distortion": "the classical program (2) at D or at a slope",
    "perception": "the rate-distortion-perception program (33) at (D, Gamma)",
    "perfect_perception": "R(D, 0): (33) at Gamma = 0",
    "program": "any cvxpy Program (e.g. (8), distortion floors)",
    "lp": "a linear program given as arrays",
}

#: The default solver of each task (``solver=None`` or ``"auto"``).
DEFAULTS = {"rate_distortion": "ba", "perception": "clarabel",
            "perfect_perception": "sinkhorn", "program": "clarabel", "lp": "highs"}

_CONIC_TASKS = frozenset({"rate_distortion", "perception", "perfect_perception", "program",
                          "lp"})
#: Adapter class by name, with the tasks it can do.
REGISTRY = {cls.NAME: cls for cls in (Clarabel, SCS, ECOS, Mosek, HiGHS, BlahutArimoto,
                                      Sinkhorn)}
_TASKS_OF = {"clarabel": _CONIC_TASKS, "scs": _CONIC_TASKS, "ecos": _CONIC_TASKS,
             "mosek": _CONIC_TASKS, "highs": frozenset({"lp"}),
             "ba": frozenset({"rate_distortion"}), "sinkhorn": frozenset({"perfect_perception"})}


def installed_solvers(kind: str | None = None, task: str | None = None) -> list[str]:
    """Names of the solvers usable here.

    Parameters
    ----------
    kind : {"conic", "lp", "iterative"}, optional
        Only solvers of this kind.
    task : str, optional
        Only solvers that can do this task (a key of :data:`TASKS`).
    """
    return [name for name, cls in REGISTRY.items()
            if (kind is None or cls.KIND == kind)
            and (task is None or task in _TASKS_OF[name]) and cls.is_installed()]


def get_solver(name=None, task: str = "rate_distortion"):
    """A ready adapter for ``name`` on ``task`` (``None``/``"auto"``: the task's default).

    Raises :class:`~rdconvex.errors.UnknownSolverError` naming the usable solvers when
    ``name`` is unknown, not installed or cannot do the task."""
    if name is None or name == "auto":
        name = DEFAULTS[task]
    if not isinstance(name, str):
        raise UnknownSolverError(f"solver must be a string such as 'clarabel', got {name!r}.")
    usable = installed_solvers(task=task)
    key = name.lower()
    if key in usable:
        return REGISTRY[key]()
    if key in REGISTRY and not REGISTRY[key].is_installed():
        raise UnknownSolverError(
            f"solver={name!r} is not installed on this machine; installed solvers for this "
            f"problem: {usable}. Install it (e.g. pip install {REGISTRY[key].MODULE}) or pick "
            "one of those.")
    raise UnknownSolverError(
        f"solver={name!r} is not available for this problem; choose one of {usable}.")
