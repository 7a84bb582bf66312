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
from ..numerics import expand_rows
from ..results import DEFAULT_GAP_TOL, Certificate, Proof, RawSolution, Result, SolveInfo, Status
from ..rigorous import ShiftedProblem, in_bits


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

    ``p``, ``d`` are the reduced data (every solver works on them); ``support`` indexes
    them in ``p_full``/``d_full``; ``exact`` is the shifted data every certificate is
    proven on (:class:`~rdconvex.rigorous.ShiftedProblem`, built from the likelihood
    ``A`` itself when the distortion is ``-log A``). ``D_min`` is the smallest float
    ``>=`` the exact value; :meth:`at_D_min` and :meth:`check_D` decide ``D`` against
    the exact one."""

    p_full: np.ndarray
    d_full: np.ndarray
    support: np.ndarray
    p: np.ndarray
    d: np.ndarray
    D_min: float
    D_max: float
    best_column: int
    exact: ShiftedProblem
    likelihood: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, p_full: np.ndarray, d_full: np.ndarray,
                    likelihood: np.ndarray | None = None) -> "Source":
        p_full.flags.writeable = False
        d_full.flags.writeable = False
        support = np.flatnonzero(p_full > 0)
        if support.size == p_full.size:  # the common case: no copy of a big d
            p, d = p_full, d_full
        else:
            p, d = p_full[support], d_full[support]
        if likelihood is None:
            exact = ShiftedProblem.from_distortion(p, d)
        else:
            exact = ShiftedProblem.from_likelihood(p, likelihood[support])
        D_min = exact.d_min_float()
        column_mean = p @ d  # every p > 0: inf exactly where a column forbids some x
        best = int(np.argmin(column_mean))
        return cls(p_full, d_full, support, p, d, D_min, float(column_mean[best]), best,
                   exact, likelihood)

    def excess(self, D: float) -> float:
        """``D - D_min`` (nats) to float precision *relative to itself* (the exact
        ``D_min``, not its rounding): the target solvers get on shifted data."""
        return float(self.exact.excess_of(D).mid())

    def provable_excess(self, D: float) -> float:
        """The target an iterative solver is given: :meth:`excess` less the rounding
        allowance of the certificate's distortion bound
        (:meth:`~rdconvex.rigorous.ShiftedProblem.distortion_allowance`), so that a
        channel meeting it in float64 is *proven* to meet ``D`` as it is."""
        return max(0.0, self.excess(D) * (1.0 - self.exact.distortion_allowance()))

    def at_D_min(self, D: float) -> bool:
        """Whether ``D`` is exactly ``D_min`` (:meth:`ShiftedProblem.position`)."""
        return self.exact.position(D) == 0

    @property
    def n(self) -> int:
        return self.d_full.shape[0]

    @property
    def m(self) -> int:
        return self.d_full.shape[1]

    def check_D(self, D: float, units: Units) -> float:
        """``D`` (nats) if ``D >= D_min`` exactly (:meth:`ShiftedProblem.position`), the
        float ``D_min`` when ``D`` equals it."""
        position = self.exact.position(D)
        if position < 0:
            raise InfeasibleDistortionError(
                f"D={units.D_out(D)!r} is below D_min={units.D_out(self.D_min):.10g}"
                f"{' (' + units.name + ')' if units.distortion_scale != 1.0 else ''} for this "
                "source: no channel has so small an expected distortion. Use D >= D_min.")
        return self.D_min if position == 0 else D

    def rate_zero(self, D: float | None = None) -> RawSolution:
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
    #: ``(quantity, parameters, primal, dual)`` of the certificate file (full rows
    #: filled in by :func:`finish`), or None when the quantity has no file format.
    proof: tuple | None = None
    #: The ``D`` certified at when the caller gave none (a slope solve): a proven
    #: upper end of the channel's distortion.
    target: float | None = None


def finish(source: Source, units: Units, raw: RawSolution, *, D: float | None, solver: str,
           certify: Callable[[RawSolution, float | None], CertifiedPoint],
           result_type: type = Result, extras: dict | None = None,
           stacklevel: int = 3, tol: float | None = None) -> Result:
    """Certify ``raw`` → expand rows → convert units → status and warning → Result.

    ``certify(raw, D)`` is the quantity's certifier (:mod:`rdconvex.certify`); ``D`` is
    the target in nats (``None`` for a slope solve: the distortion reached is the
    target). The status is ``"optimal"`` exactly when the certified gap is at most
    ``tol`` (default :data:`~rdconvex.results.DEFAULT_GAP_TOL` nats), whatever the solver
    reported. ``extras`` become further fields of ``result_type``."""
    point = certify(raw, D)
    q_reduced = source.p @ point.channel
    full = expand_rows(point.channel, source.support, source.d_full, point.slope, q_reduced)
    cert = point.certificate
    status = honest_status(raw.info.status, cert.gap, tol)
    if not status.is_exact:
        warnings.warn(f"{solver}: {raw.info.message}; the answer is certified but its gap "
                      f"{cert.gap:.2e} nats exceeds the tolerance "
                      f"{DEFAULT_GAP_TOL if tol is None else tol:.1e} "
                      f"(status {status.value}).",
                      InaccurateSolutionWarning, stacklevel=stacklevel)
    lower, upper = cert.lower, cert.upper
    if units.rate_scale != 1.0:
        lower, upper = in_bits(lower, upper)
    certificate = Certificate(upper=upper, lower=lower, units=units.name)
    target = D if D is not None else (
        point.target if point.target is not None else point.distortion)
    proof = _proof(source, point, full, target)
    return result_type(
        rate=certificate.upper, distortion=units.D_out(point.distortion),
        slope=units.slope_out(point.slope), channel=full, output_pmf=q_reduced,
        status=status, solver=solver, iterations=raw.info.iterations,
        solve_time=raw.info.solve_time, certificate=certificate, D=units.D_out(target),
        units=units.name, message=raw.info.message, proof=proof, **(extras or {}))


def honest_status(reported: Status, gap: float, tol: float | None) -> Status:
    """``OPTIMAL`` iff the certified ``gap`` meets ``tol``; otherwise the solver's own
    non-optimal status, or ``OPTIMAL_INACCURATE`` where it claimed optimality."""
    tol = DEFAULT_GAP_TOL if tol is None else tol
    if reported.has_point and gap <= tol:
        return Status.OPTIMAL
    return Status.OPTIMAL_INACCURATE if reported is Status.OPTIMAL else reported


def _proof(source: Source, point: CertifiedPoint, full_channel: np.ndarray,
           D: float) -> Proof | None:
    """The certificate-file record: reduced rows expanded (``log_c`` 0 on rows of
    probability 0, which the checker ignores)."""
    if point.proof is None:
        return None
    quantity, parameters, primal, dual = point.proof
    primal = dict(primal)
    if "channel" in primal:
        primal["channel"] = full_channel
    dual = dict(dual)
    if "log_c" in dual:
        log_c = np.zeros(source.n)
        log_c[source.support] = dual["log_c"]
        dual["log_c"] = log_c
    data = {"p": source.p_full}
    if source.likelihood is not None:
        data["A"] = source.likelihood
    else:
        data["d"] = source.d_full
    # Exactly D_min is written as such (no float equals an irrational D_min).
    exact_D = "D_min" if math.isfinite(D) and source.at_D_min(D) else D
    parameters = {"D": exact_D, **parameters}
    return Proof(quantity, data, parameters, primal, dual, point.certificate.lower,
                 point.certificate.upper)
