"""Result types: one frozen result for every solve, whatever the solver."""

from __future__ import annotations

import dataclasses
import enum
import html
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _serialize as ser
from ._version import versions

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
        """Whether this is ``OPTIMAL`` (the certified gap met the tolerance)."""
        return self is Status.OPTIMAL

    @property
    def has_point(self) -> bool:
        """Whether a result with this status carries a certified point."""
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "gap", float(self.upper - self.lower))

    def contains(self, value: float, tol: float = 0.0) -> bool:
        """Whether ``value`` lies in ``[lower - tol, upper + tol]``."""
        return self.lower - tol <= value <= self.upper + tol

    def to_dict(self) -> dict[str, Any]:
        """``{"upper", "lower", "units", "gap"}``, JSON-ready (``gap`` is derived, and
        recomputed by :meth:`from_dict`)."""
        return {**ser.record_to_dict(self), "gap": ser.to_plain(self.gap)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Certificate:
        """The certificate :meth:`to_dict` wrote."""
        return ser.record_from_dict(cls, data, ignore=("gap",))


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
        from .certificate_file import make_document

        return make_document(self.quantity, self.problem, self.parameters, self.primal,
                             self.dual, self.lower, self.upper, units=units,
                             versions=versions(), info=info or {})

    def to_dict(self) -> dict[str, Any]:
        """The record, JSON-ready (arrays as nested lists)."""
        return ser.record_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proof:
        """The record :meth:`to_dict` wrote; every list in its data and points is an
        array again."""
        arrays = ser.arrays_from_plain
        return ser.record_from_dict(cls, data, {"problem": arrays, "parameters": arrays,
                                                "primal": arrays, "dual": arrays})


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
    status : Status
        ``"optimal"`` when the certified gap met the tolerance (see :attr:`success`).
    solver : str
        The solver that produced the point.
    iterations : int
        Iterations the solver reported.
    solve_time : float
        Seconds the solver reported.
    certificate : Certificate
        The proven bounds ``lower <= R(D) <= upper``.
    D : float
        The target distortion (for a slope solve: the distortion reached).
    units : str
        ``"nats"`` or ``"bits"``: units of the rates.
    message : str
        The solver's own message.
    proof : Proof or None
        What the certificate file records (:meth:`save_certificate`).
    provenance : dict or None
        ``{"solver", "versions"}`` of a result read back by :meth:`from_dict`; ``None``
        for a fresh one, which :meth:`to_dict` stamps with :func:`provenance`.
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
    provenance: dict | None = field(default=None, repr=False, compare=False)

    @property
    def success(self) -> bool:
        """``True`` iff :attr:`status` is ``"optimal"``: the certified gap met the
        tolerance (SciPy's ``OptimizeResult.success``)."""
        return self.status is Status.OPTIMAL

    def save_certificate(self, path: str | os.PathLike) -> None:
        """Write the certificate file of this result (docs/certificate-format.md), which
        ``rdconvex check`` (:func:`rdconvex.check_certificate`) proves independently.

        Raises :class:`~rdconvex.errors.InvalidArgumentError` for a quantity with no
        certificate file format."""
        from .certificate_file import write_document
        from .errors import InvalidArgumentError

        if self.proof is None:
            raise InvalidArgumentError(
                "this result has no certificate file format (only R(D), R_ll(D), the "
                "decoder of (8), R(D, Gamma) and R(D, 0) results have one).")
        info = {"solver": self.solver, "status": self.status.value,
                "iterations": self.iterations, "solve_time": self.solve_time}
        write_document(self.proof.document(self.units, info), path)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready, with ``"kind"`` (the class) first and
        ``"provenance"`` last; :meth:`from_dict` gives the result back exactly.

        Floats are numbers written by ``repr``; ``+inf``, ``-inf`` and NaN are
        ``{"float": "inf"}``, ``{"float": "-inf"}``, ``{"float": "nan"}``; ``null`` is
        ``None``; arrays are nested lists; ``status`` is its string;
        ``certificate`` and ``proof`` are objects of their fields (docs/api/results.md).
        """
        data = {"kind": ser.kind_of(type(self)), **ser.record_to_dict(self, ("provenance",))}
        data["provenance"] = self.provenance or provenance(self.solver)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """The result :meth:`to_dict` wrote, of the class its ``"kind"`` names (a
        subclass of ``cls``; ``cls`` itself when there is no ``"kind"``).

        Raises
        ------
        InvalidArgumentError
            For an unknown kind, an unknown key or a missing field.
        """
        target = ser.resolve_kind(cls, data["kind"]) if "kind" in data else cls
        return ser.record_from_dict(target, data, _RECORD_FIELDS, ignore=("kind",))

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON text."""
        return ser.dumps(self.to_dict(), indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Result:
        """The result :meth:`to_json` wrote."""
        return cls.from_dict(ser.loads(text))

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
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

    def _repr_html_(self) -> str:
        c, units = self.certificate, html.escape(self.units)
        rows = [("rate", f"{self.rate:.10g} {units}"),
                ("certificate", f"[{c.lower:.10g}, {c.upper:.10g}] {units}"),
                ("gap", f"{c.gap:.2e}"), ("status", ser.badge(self.status.value)),
                ("D", f"{self.D:.10g}"), ("distortion", f"{self.distortion:.10g}"),
                ("slope", f"{self.slope:.6g}"), ("solver", html.escape(self.solver)),
                ("units", units)]
        own = {f.name for f in dataclasses.fields(Result)}
        for f in dataclasses.fields(self):  # a subclass's scalar fields (Gamma, ...)
            value = getattr(self, f.name)
            if f.name not in own and isinstance(value, (int, float, str)):
                rows.append((f.name, html.escape(f"{value:.6g}" if isinstance(value, float)
                                                 else str(value))))
        return ser.html_fields(type(self).__name__, rows)


_RECORD_FIELDS = {"certificate": Certificate.from_dict, "proof": Proof.from_dict,
                  "status": Status}


def provenance(solver: str) -> dict[str, Any]:
    """What every written result carries: the solver and :func:`rdconvex._version.versions`
    (rdconvex, Python and the numerical stack)."""
    return {"solver": solver, "versions": versions()}


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
    provenance : dict or None
        As for :class:`Result`: set on a curve read back by :meth:`from_dict`.
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
    provenance: dict | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
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
    def statuses(self) -> tuple[Status, ...]:
        """The :class:`Status` of each point."""
        return tuple(r.status for r in self.results)

    def __len__(self) -> int:
        return int(self.D.size)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the curve (and its certified band where it is visible) on ``ax``.

        See :func:`rdconvex.plot.plot_curve` for the keyword arguments. Needs
        matplotlib (the ``plot`` extra). Returns the axes.
        """
        from .plot import plot_curve

        return plot_curve(self, ax=ax, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready, as :meth:`Result.to_dict` (``results``: a list of
        result objects); :meth:`from_dict` gives the curve back exactly."""
        data = {"kind": ser.kind_of(type(self)), **ser.record_to_dict(self, ("provenance",))}
        data["provenance"] = self.provenance or provenance(self.solver)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Curve:
        """The curve :meth:`to_dict` wrote."""
        target = ser.resolve_kind(cls, data["kind"]) if "kind" in data else cls
        results = {"results": lambda items: tuple(Result.from_dict(r) for r in items)}
        return ser.record_from_dict(target, data, results, ignore=("kind",))

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON text."""
        return ser.dumps(self.to_dict(), indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Curve:
        """The curve :meth:`to_json` wrote."""
        return cls.from_dict(ser.loads(text))

    def columns(self) -> dict[str, list]:
        """The table of points: ``D, rate, lower, upper, gap, slope, distortion, status,
        units`` (``status`` empty for a curve built without its results)."""
        k = len(self)
        statuses = [s.value for s in self.statuses] if len(self.results) == k else [""] * k
        table = {name: [float(v) for v in getattr(self, name)]
                 for name in ("D", "rate", "lower", "upper", "gap", "slope", "distortion")}
        return {**table, "status": statuses, "units": [self.units] * k}

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write :meth:`columns` as CSV: one comment line ``# rdconvex curve; provenance:
        {...}`` (JSON: solver and versions), the header, one row per point; floats by
        ``repr`` (``inf`` at ``D_min``). Read back with
        ``pandas.read_csv(path, comment="#")``."""
        record = self.provenance or provenance(self.solver)
        ser.write_csv(path, self.columns(), f"rdconvex curve; provenance: {ser.dumps(record)}")

    def to_pandas(self) -> Any:
        """:meth:`columns` as a :class:`pandas.DataFrame`, provenance in ``.attrs``.

        Raises
        ------
        ImportError
            When pandas (not a dependency of rdconvex) is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Curve.to_pandas() needs pandas, which rdconvex does not "
                              "install: pip install pandas") from None
        frame = pd.DataFrame(self.columns())
        frame.attrs["provenance"] = self.provenance or provenance(self.solver)
        return frame

    def __repr__(self) -> str:
        if not len(self):
            return f"Curve(0 points, solver={self.solver!r})"
        return (f"Curve({len(self)} points, D in [{self.D[0]:.6g}, {self.D[-1]:.6g}], rate in "
                f"[{self.rate.min():.6g}, {self.rate.max():.6g}] {self.units}, max gap "
                f"{float(np.max(self.gap)):.2e}, solver={self.solver!r})")

    def _repr_html_(self) -> str:
        k, table = len(self), self.columns()
        shown = list(range(k)) if k <= 10 else [*range(5), None, *range(k - 5, k)]
        names = ("D", "rate", "lower", "upper", "gap", "slope", "status")

        def cell(name: str, i: int) -> str:
            value = table[name][i]
            if name == "status":
                return ser.badge(value) if value else ""
            return f"{value:.6g}"

        rows = [["&hellip;"] * len(names) if i is None else [cell(n, i) for n in names]
                for i in shown]
        gap = f", max gap {float(np.max(self.gap)):.2e} {self.units}" if k else ""
        return ser.html_grid(f"Curve: {k} points{gap}, solver {self.solver}", names, rows)
