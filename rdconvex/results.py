"""Result types: one frozen result for every solve, whatever the solver."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Status(enum.Enum):
    """Outcome of a solve, in tiers (as Clarabel and SCS report them).

    ``OPTIMAL`` met the requested tolerance. ``OPTIMAL_INACCURATE`` and
    ``MAX_ITERATIONS`` returned a point that is certified (the bounds hold) but the
    solver did not reach its tolerance; a warning is always emitted with them.
    ``INFEASIBLE``/``UNBOUNDED``/``FAILED`` come with no usable point and are raised
    as :class:`~rdconvex.errors.SolverError`.
    """

    OPTIMAL = "optimal"
    OPTIMAL_INACCURATE = "optimal_inaccurate"
    MAX_ITERATIONS = "max_iterations"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    FAILED = "failed"

    @property
    def is_exact(self) -> bool:
        return self is Status.OPTIMAL

    @property
    def has_point(self) -> bool:
        return self in (Status.OPTIMAL, Status.OPTIMAL_INACCURATE, Status.MAX_ITERATIONS)


@dataclass(frozen=True)
class Certificate:
    """Certified bounds ``lower <= R(D) <= upper`` and ``gap = upper - lower``.

    ``upper`` is the mutual information of a repaired channel whose distortion is
    ``<= D``; ``lower`` is the dual objective of a feasible dual point. Both are
    recomputed in float64 from the returned point (see :mod:`rdconvex.certify`).
    """

    upper: float
    lower: float
    gap: float = field(init=False)
    units: str = "nats"

    def __post_init__(self):
        object.__setattr__(self, "gap", float(self.upper - self.lower))

    def contains(self, value: float, tol: float = 0.0) -> bool:
        """Whether ``value`` lies in ``[lower - tol, upper + tol]``."""
        return self.lower - tol <= value <= self.upper + tol


@dataclass(frozen=True)
class Result:
    """The answer of one solve: a certified point of the rate–distortion curve.

    Attributes
    ----------
    rate : float
        Certified upper bound on ``R(D)``: the mutual information of ``channel``.
    distortion : float
        Expected distortion of ``channel`` (``<= D`` for a target-``D`` solve).
    slope : float
        ``s = -dR/dD >= 0`` (the distortion multiplier); ``inf`` at ``D_min``.
    channel : ndarray (n, m)
        ``W_{Y|X}``, rows sum to 1, zero on forbidden pairs.
    output_pmf : ndarray (m,)
        ``q_Y = p_X^T W``.
    D : float
        The target distortion (for a slope solve: the distortion reached).
    """

    rate: float
    distortion: float
    slope: float
    channel: np.ndarray
    output_pmf: np.ndarray
    status: Status
    solver: str
    iterations: int
    solve_time: float
    certificate: Certificate
    D: float
    units: str = "nats"
    message: str = ""

    def __post_init__(self):
        for name in ("channel", "output_pmf"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def __repr__(self) -> str:
        c = self.certificate
        return (f"Result(rate={self.rate:.10g} {self.units}, distortion={self.distortion:.10g}, "
                f"D={self.D:.10g}, slope={self.slope:.6g}, status={self.status.value}, "
                f"solver={self.solver!r}, certificate=[{c.lower:.10g}, {c.upper:.10g}] "
                f"gap={c.gap:.2e})")
