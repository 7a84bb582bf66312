"""Result types: one frozen result for every solve, whatever the solver."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


#: The certified gap (nats) a result must meet to be reported ``"optimal"`` when the
#: caller gives no ``tol`` — the same for every solver (docs/certificates.md).
DEFAULT_GAP_TOL = 1e-6


class Status(str, enum.Enum):
    """Outcome of a solve, in tiers (as Clarabel and SCS report them); a ``str`` enum, so
    ``status == "optimal"`` holds.

    ``OPTIMAL``: the *certified* gap met the requested tolerance (``tol``, default
    :data:`DEFAULT_GAP_TOL`), whatever the solver said. ``OPTIMAL_INACCURATE`` and
    ``MAX_ITERATIONS`` returned a point that is certified (the bounds hold) but the
    gap is wider than requested; a warning is always emitted with them.
    ``INFEASIBLE``/``UNBOUNDED``/``FAILED`` come with no usable point and are raised
    as :class:`~rdconvex.errors.SolverError`.
    """

    OPTIMAL = "optimal"
    OPTIMAL_INACCURATE = "optimal_inaccurate"
    MAX_ITERATIONS = "max_iterations"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

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
    """Proven bounds ``lower <= R(D) <= upper`` and ``gap = upper - lower``.

    ``upper`` is the mutual information of a channel whose distortion is proven
    ``<= D``; ``lower`` is the dual objective of a dual point. Both are evaluated from
    the returned points with outward rounding on shifted data, so they hold in exact
    arithmetic for the problem the input floats define (:mod:`rdconvex.rigorous`,
    docs/certificates.md).
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
class Proof:
    """What a certificate file records besides the bounds (docs/certificate-format.md):
    the quantity, the problem data as given, the parameters (nats) and the primal and
    dual points the bounds were evaluated from."""

    quantity: str
    problem: dict
    parameters: dict
    primal: dict
    dual: dict
    lower: float
    upper: float

    def document(self, units: str = "nats", info: dict | None = None) -> dict:
        """The format-1 certificate document (JSON-ready)."""
        from ._version import versions
        from .check import make_document

        return make_document(self.quantity, self.problem, self.parameters, self.primal,
                             self.dual, self.lower, self.upper, units=units,
                             versions=versions(), info=info or {})


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
    proof: Proof | None = field(default=None, repr=False, compare=False)

    def save_certificate(self, path) -> None:
        """Write the certificate file of this result (docs/certificate-format.md), which
        ``rdconvex check`` (:func:`rdconvex.check_certificate`) proves independently.

        Raises :class:`~rdconvex.errors.InvalidArgumentError` for a quantity with no
        certificate file format."""
        from .check import write_document
        from .errors import InvalidArgumentError

        if self.proof is None:
            raise InvalidArgumentError(
                "this result has no certificate file format (only R(D), R_ll(D), the "
                "decoder of (8), R(D, Gamma) and R(D, 0) results have one).")
        info = {"solver": self.solver, "status": self.status.value,
                "iterations": self.iterations, "solve_time": self.solve_time}
        write_document(self.proof.document(self.units, info), path)

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
