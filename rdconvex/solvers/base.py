"""What every solver adapter hands back to the problem classes."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from ..results import Status


@dataclass(frozen=True)
class SolveInfo:
    """What a solve reports besides the point itself."""

    status: Status
    iterations: int
    solve_time: float
    message: str


@dataclass(frozen=True)
class RawSolution:
    """An uncertified point of the reduced problem (nats): the problem class certifies it."""

    channel: np.ndarray
    slope: float
    output_pmf: np.ndarray
    info: SolveInfo


class IterativeSolver(abc.ABC):
    """Adapter for a numpy solver of the classical problem (``"ba"``, ...)."""

    NAME: str = ""
    kind = "iterative"
    DEFAULT_TOL: float = 1e-9
    DEFAULT_MAX_ITER: int = 100_000

    @abc.abstractmethod
    def solve_rate_distortion(self, p: np.ndarray, d: np.ndarray, *, D: float | None = None,
                              slope: float | None = None, tol: float | None = None,
                              max_iter: int | None = None, solver_options: dict | None = None,
                              callback=None, warm_start=None) -> RawSolution:
        """Solve the reduced classical problem at target ``D`` or at ``slope`` (nats)."""
