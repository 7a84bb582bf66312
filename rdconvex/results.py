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
class SolveInfo:
    """What a solver adapter reports besides the point itself."""

    status: Status
    iterations: int
    solve_time: float
    message: str


@dataclass(frozen=True)
class RawSolution:
    """An uncertified point of the reduced problem (nats), as a solver adapter hands it up:
    the problem layer certifies it (:mod:`rdconvex.certify`) and finishes it into a
    :class:`Result` (:func:`rdconvex.problems.base.finish`)."""

    channel: np.ndarray
    slope: float
    output_pmf: np.ndarray
    info: SolveInfo


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


@dataclass(frozen=True)
class Curve:
    """A certified rate–distortion curve: one :class:`Result` per distortion.

    Attributes
    ----------
    D : ndarray (k,)
        Target distortions, increasing.
    rate : ndarray (k,)
        Certified upper bounds on ``R(D)`` (the rates of the returned channels).
    lower, upper : ndarray (k,)
        Certified bounds ``lower <= R(D) <= upper`` at each ``D``.
    slope : ndarray (k,)
        ``-dR/dD`` at each point (``inf`` at ``D_min``, 0 from ``D_max`` on).
    distortion : ndarray (k,)
        Expected distortion of each returned channel (``<= D``).
    units : str
        Units of rates (and of log-distortions for log-likelihood problems).
    solver : str
        The solver that produced the points.
    results : tuple of Result
        The full result of every point (channel, output pmf, status, timings).
    """

    D: np.ndarray
    rate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    slope: np.ndarray
    distortion: np.ndarray
    units: str
    solver: str
    results: tuple = ()

    def __post_init__(self):
        for name in ("D", "rate", "lower", "upper", "slope", "distortion"):
            value = np.array(getattr(self, name), dtype=float)
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        object.__setattr__(self, "results", tuple(self.results))

    @property
    def gap(self) -> np.ndarray:
        """``upper - lower`` at each point."""
        return self.upper - self.lower

    @property
    def statuses(self) -> tuple:
        """The :class:`Status` of each point."""
        return tuple(r.status for r in self.results)

    def __len__(self) -> int:
        return int(self.D.size)

    def plot(self, ax=None, **kwargs):
        """Draw the curve (and its certified band where it is visible) on ``ax``.

        See :func:`rdconvex.plot.plot_curve` for the keyword arguments. Needs
        matplotlib (the ``plot`` extra). Returns the axes.
        """
        from .plot import plot_curve

        return plot_curve(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        if not len(self):
            return f"Curve(0 points, solver={self.solver!r})"
        return (f"Curve({len(self)} points, D in [{self.D[0]:.6g}, {self.D[-1]:.6g}], rate in "
                f"[{self.rate.min():.6g}, {self.rate.max():.6g}] {self.units}, max gap "
                f"{float(np.max(self.gap)):.2e}, solver={self.solver!r})")
