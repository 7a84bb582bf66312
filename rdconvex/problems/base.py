"""What every problem class shares: units, the reduced source, targets and one ``finish``.

A problem class is thin: it validates its inputs into a :class:`Source` and a
:class:`Units`, asks :func:`rdconvex.solvers.get_solver` for an adapter, hands the
adapter's :class:`~rdconvex.results.RawSolution` to :func:`finish` with the certifier of
its quantity (from :mod:`rdconvex.certify`), and returns the :class:`~rdconvex.results.Result`.

``finish`` is the one pipeline: certify → expand rows (zero-probability symbols) →
units → status and warning → Result.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from .._validation import UNITS, check_scalar, check_units
from ..errors import (
    InaccurateSolutionWarning,
    InfeasibleDistortionError,
    InvalidArgumentError,
)
from ..numerics import D_SNAP, expand_rows, finite_part, row_minima
from ..results import Certificate, RawSolution, Result, SolveInfo, Status


def snaps_to(D: float, value: float) -> bool:
    """Whether ``D`` is within :data:`D_SNAP` (relative) of ``value``."""
    return abs(D - value) <= D_SNAP * max(1.0, abs(value))


class Units:
    """Conversions between nats (inside) and the problem's ``units`` (at the edges).

    ``log_distortion``: distortions are log-losses (log-likelihood problems), so ``D``
    converts with the rate units too."""

    def __init__(self, units: str, log_distortion: bool = False):
        self.name = check_units(units)
        self.rate_scale = UNITS[self.name]
        self.distortion_scale = self.rate_scale if log_distortion else 1.0

    def D_in(self, D, name: str = "D") -> float:
        return check_scalar(D, name) / self.distortion_scale

    def D_out(self, D: float) -> float:
        return D * self.distortion_scale

    def rate_out(self, rate: float) -> float:
        return rate * self.rate_scale

    def slope_in(self, slope, name: str = "slope") -> float:
        value = check_scalar(slope, name, minimum=0.0)
        return value * self.distortion_scale / self.rate_scale

    def slope_out(self, slope: float) -> float:
        if not math.isfinite(slope):
            return math.inf
        return slope * self.rate_scale / self.distortion_scale


@dataclass(frozen=True)
class Source:
    """A validated source and distortion, full and reduced to positive-probability rows.

    ``p``, ``d`` are the reduced data (every solver and certificate works on them);
    ``support`` indexes them in ``p_full``/``d_full``."""

    p_full: np.ndarray
    d_full: np.ndarray
    support: np.ndarray
    p: np.ndarray
    d: np.ndarray
    D_min: float
    D_max: float
    best_column: int

    @classmethod
    def from_arrays(cls, p_full: np.ndarray, d_full: np.ndarray) -> "Source":
        p_full.flags.writeable = False
        d_full.flags.writeable = False
        support = np.flatnonzero(p_full > 0)
        p, d = p_full[support], d_full[support]
        D_min = float(p @ row_minima(d))
        column_mean = p @ finite_part(d)
        column_mean[np.any(~np.isfinite(d), axis=0)] = np.inf
        best = int(np.argmin(column_mean))
        return cls(p_full, d_full, support, p, d, D_min, float(column_mean[best]), best)

    @property
    def n(self) -> int:
        return self.d_full.shape[0]

    @property
    def m(self) -> int:
        return self.d_full.shape[1]

    def check_D(self, D: float, units: Units) -> float:
        """``D`` (nats) if feasible, raised to ``D_min`` when it is a rounding below it."""
        if D < self.D_min and not snaps_to(D, self.D_min):
            raise InfeasibleDistortionError(
                f"D={units.D_out(D)!r} is below D_min={units.D_out(self.D_min):.10g}"
                f"{' (' + units.name + ')' if units.distortion_scale != 1.0 else ''} for this "
                "source: no channel has so small an expected distortion. Use D >= D_min.")
        return max(D, self.D_min)

    def rate_zero(self, D: float) -> RawSolution:
        """The constant output ``argmin_y E d(X, y)``: rate 0, distortion ``D_max``."""
        W = np.zeros((self.p.size, self.m))
        W[:, self.best_column] = 1.0
        info = SolveInfo(Status.OPTIMAL, 0, 0.0,
                         "D >= D_max: the constant output attains rate 0 (no solve needed)")
        return RawSolution(W, 0.0, W[0].copy(), info)


class SourceProblem:
    """The read-only face every problem class shares: its validated :class:`Source`
    (``source``), its :class:`Units` (``_units``) and the properties below. Only data:
    each family defines its own ``solve`` (composition where signatures differ)."""

    source: Source
    _units: Units

    @property
    def units(self) -> str:
        """``"nats"`` or ``"bits"``: units of rates (and of log-distortions)."""
        return self._units.name

    @property
    def p_x(self) -> np.ndarray:
        """The source pmf as given (read-only)."""
        return self.source.p_full

    @property
    def d(self) -> np.ndarray:
        """The distortion as given (read-only)."""
        return self.source.d_full

    @property
    def n(self) -> int:
        """Number of source symbols (including zero-probability ones)."""
        return self.source.n

    @property
    def m(self) -> int:
        """Number of reconstruction symbols."""
        return self.source.m

    @property
    def D_min(self) -> float:
        """``sum_x p_x min_y d(x,y)``: the smallest distortion of any channel."""
        return self._units.D_out(self.source.D_min)

    @property
    def D_max(self) -> float:
        """``min_y sum_x p_x d(x,y)``: from here on the classical ``R(D) = 0`` (``inf`` if
        no output is allowed for every source symbol)."""
        return self._units.D_out(self.source.D_max)


def one_target(D, slope) -> None:
    """Exactly one of ``D`` and ``slope``."""
    if (D is None) == (slope is None):
        raise InvalidArgumentError("give exactly one of D=... or slope=....")


class CertifiedPoint(NamedTuple):
    """What a certifier returns (nats, reduced rows): the repaired channel, its
    distortion, the certificate and the slope to report (``inf`` at ``D_min``)."""

    channel: np.ndarray
    distortion: float
    certificate: Certificate
    slope: float


def finish(source: Source, units: Units, raw: RawSolution, *, D: float | None, solver: str,
           certify: Callable[[RawSolution, float | None], CertifiedPoint],
           result_type: type = Result, extras: dict | None = None,
           stacklevel: int = 3) -> Result:
    """Certify ``raw`` → expand rows → convert units → status and warning → Result.

    ``certify(raw, D)`` is the quantity's certifier (:mod:`rdconvex.certify`); ``D`` is
    the target in nats (``None`` for a slope solve: the distortion reached is the
    target). ``extras`` become further fields of ``result_type``."""
    point = certify(raw, D)
    q_reduced = source.p @ point.channel
    full = expand_rows(point.channel, source.support, source.d_full, point.slope, q_reduced)
    status = raw.info.status
    cert = point.certificate
    if not status.is_exact:
        warnings.warn(f"{solver}: {raw.info.message}; the answer is certified but the solver "
                      f"stopped at status {status.value} (gap {cert.gap:.2e} nats).",
                      InaccurateSolutionWarning, stacklevel=stacklevel)
    scale = units.rate_scale
    certificate = Certificate(upper=cert.upper * scale, lower=cert.lower * scale,
                              units=units.name)
    target = point.distortion if D is None else D
    return result_type(
        rate=certificate.upper, distortion=units.D_out(point.distortion),
        slope=units.slope_out(point.slope), channel=full, output_pmf=q_reduced,
        status=status, solver=solver, iterations=raw.info.iterations,
        solve_time=raw.info.solve_time, certificate=certificate, D=units.D_out(target),
        units=units.name, message=raw.info.message, **(extras or {}))
