"""How a point of the classical problem (2) is obtained and certified, whatever the solver.

Three special strategies besides an adapter's own ``solve_rate_distortion``: the rate-0
point at ``D >= D_max`` (:meth:`~rdconvex.problems.base.Source.rate_zero`), the point
at ``D = D_min`` (only argmin pairs may carry mass), and the screened conic solve (a
conic program on a growing output support, the rest certified by their dual
constraints, :mod:`rdconvex.certify.screening`). :func:`certifier` is the classical
quantity's certifier for :func:`rdconvex.problems.base.finish`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..certify import classical as certify_classical
from ..certify import screening
from ..errors import InaccurateSolutionWarning, SolverError
from ..numerics import LARGE_SLOPE_MARGIN, large_slope, min_distortion_channel
from ..programs.classical import conditioning_scale
from ..results import RawSolution, SolveInfo, Status
from .base import CertifiedPoint, Source


def solve_at_D_min(source: Source, adapter, tol, max_iter, solver_options,
                   verbose) -> RawSolution:
    """At ``D_min`` only argmin pairs may carry mass: minimise I(X;Y) over them."""
    d = source.d
    tied = d <= d.min(axis=1, keepdims=True)
    slope = large_slope(d, LARGE_SLOPE_MARGIN)
    if not np.any(tied.sum(axis=1) > 1):
        W = min_distortion_channel(d)
        info = SolveInfo(Status.OPTIMAL, 0, 0.0, "D = D_min: the argmin channel is unique")
        return RawSolution(W, slope, source.p @ W, info)
    restricted = np.where(tied, 0.0, np.inf)
    options = {} if adapter.KIND == "iterative" else {"verbose": verbose}
    raw = adapter.solve_rate_distortion(source.p, restricted, D=0.0, tol=tol,
                                        max_iter=max_iter, solver_options=solver_options,
                                        **options)
    return RawSolution(raw.channel, slope, raw.output_pmf, raw.info)


def solve_screened(source: Source, adapter, D, slope, tol, max_iter, solver_options,
                   verbose, finish_estimate) -> RawSolution:
    """Conic solves on a growing output support until no excluded output violates its
    Gallager constraint (then the full-problem certificate is as tight).

    ``finish_estimate(raw)`` certifies Blahut–Arimoto's screening estimate into a
    Result, attached to the :class:`~rdconvex.errors.SolverError` if the conic solver
    fails."""
    p, d, m = source.p, source.d, source.m
    scale = conditioning_scale(d)  # of the whole problem, as program() prints it
    support, estimate = screening.initial_support(p, d, D, slope)
    iterations, elapsed = 0, 0.0
    for rounds in range(1, screening.MAX_ROUNDS + 1):
        try:
            raw = adapter.solve_rate_distortion(p, d[:, support], D=D, slope=slope, tol=tol,
                                                max_iter=max_iter,
                                                solver_options=solver_options,
                                                verbose=verbose, scale=scale)
        except SolverError as exc:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InaccurateSolutionWarning)
                partial = finish_estimate(estimate)
            raise SolverError(f"{exc} The screening estimate (solver 'ba', certified gap "
                              f"{partial.certificate.gap:.1e}) is attached as .partial; "
                              "solver='ba' solves this size directly.",
                              partial=partial) from exc
        iterations += raw.info.iterations
        elapsed += raw.info.solve_time
        q = np.zeros(m)
        q[support] = np.clip(raw.output_pmf, 0.0, None)
        violated = screening.violated_outputs(p, d, raw.slope, q, support)
        if violated.size == 0:
            break
        support = np.union1d(support, violated[:max(10, support.size)])
    channel = np.zeros((p.size, m))
    channel[:, support] = raw.channel
    info = SolveInfo(raw.info.status, iterations, elapsed,
                     f"{raw.info.message}; screened: conic program on {support.size} of "
                     f"{m} outputs ({rounds} round{'s' * (rounds > 1)}), the others "
                     f"certified by their dual constraints"
                     + ("" if violated.size == 0 else
                        f" except {violated.size} still violated (bound loosened)"))
    return RawSolution(channel, raw.slope, q, info)


def certifier(source: Source, certify_options: dict | None = None):
    """The certifier of R(D) for :func:`~rdconvex.problems.base.finish`: repaired
    channel and Csiszár dual point, proven on the exact shifted data
    (:func:`rdconvex.certify.classical.certify`); the slope reported is infinite at
    ``D_min``. A slope solve (``D`` None) is certified at the proven upper end of its
    channel's distortion."""
    options = certify_options or {}
    exact = source.exact

    def certify(raw: RawSolution, D: float | None) -> CertifiedPoint:
        slope = float(raw.slope) if raw.slope is not None else 0.0
        if D is None:  # a slope solve: its own (proven) distortion is the target
            W = certify_classical.repair_channel(exact.excess, raw.channel)
            D = certify_classical.distortion_upper_end(exact, W)
        at_D_min = source.at_D_min(D) and source.D_max > source.D_min
        point = certify_classical.certify(exact, D, raw.channel, slope, raw.output_pmf,
                                          **options)
        dual = point.dual
        proof = ("rate_distortion", {},
                 {"channel": point.channel},
                 {"slope": dual.slope, "log_c": dual.log_c})
        return CertifiedPoint(point.channel, point.distortion, point.certificate,
                              math.inf if at_D_min else slope, proof)

    return certify
