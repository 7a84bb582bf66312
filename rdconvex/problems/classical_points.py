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
    d = source.exact.excess  # exact minimisers: d' == 0 (for A: A == max_u A exactly)
    tied = source.exact.minimisers
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
                   verbose) -> RawSolution:
    """Conic solves on a growing output support until no excluded output violates its
    Gallager constraint (then the full-problem certificate is as tight); on the shifted
    data, ``D`` the shifted target."""
    p, d, m = source.p, source.exact.excess, source.m
    scale = conditioning_scale(d)  # of the whole problem, as program() prints it
    support, _ = screening.initial_support(p, d, D, slope)
    iterations, elapsed = 0, 0.0
    for rounds in range(1, screening.MAX_ROUNDS + 1):
        raw = adapter.solve_rate_distortion(p, d[:, support], D=D, slope=slope, tol=tol,
                                            max_iter=max_iter, solver_options=solver_options,
                                            verbose=verbose, scale=scale)
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


def solve_conic(source: Source, adapter, D, slope, tol, max_iter, solver_options,
                formulation: str, verbose: bool, screened: bool, finish_estimate) -> RawSolution:
    """A conic solve on the shifted data (``d - min_y d``, ``D - D_min``: no offset) that a
    numerical failure does not end: the requested form first (screened or whole, primal
    or dual), then better-conditioned forms of the same problem — scaled to its own
    budget ``D - D_min``, its dual, a looser solver tolerance — before a
    :class:`SolverError` is raised with Blahut–Arimoto's certified estimate attached as
    ``.partial``."""
    p, d = source.p, source.exact.excess
    failures = []
    target = None if D is None else max(0.0, source.excess(D))

    def whole(form, tolerance, scale=None):
        return adapter.solve_rate_distortion(p, d, D=target, slope=slope, tol=tolerance,
                                             max_iter=max_iter, solver_options=solver_options,
                                             formulation=form, verbose=verbose, scale=scale)

    # Then scaled to the problem's own budget: d' / D' (or s d' for a slope solve) puts
    # the distortion constraint at O(1) however close D is to D_min.
    budget = target if D is not None else (1.0 / slope if slope > 0 else None)
    budget = budget if budget and math.isfinite(budget) and budget > 0 else None
    loose = 100.0 * (tol if tol is not None else adapter.DEFAULT_TOL)
    attempts = [("scaled to D - D_min", lambda: whole("primal", tol, budget)),
                ("the dual", lambda: whole("dual", tol, budget)),
                ("tol x100", lambda: whole("primal", loose, budget))]
    if screened:
        first = ("screened", lambda: solve_screened(source, adapter, target, slope, tol,
                                                    max_iter, solver_options, verbose))
    else:
        first = (formulation, lambda: whole(formulation, tol))
    for name, attempt in [first] + attempts:
        if name == "the dual" and D is None:
            continue
        try:
            raw = attempt()
        except SolverError as exc:
            failures.append(f"{name} failed")
            continue
        if failures:
            note = f"{raw.info.message}; solved on {name} after " + "; ".join(failures)
            raw = RawSolution(raw.channel, raw.slope, raw.output_pmf,
                              SolveInfo(raw.info.status, raw.info.iterations,
                                        raw.info.solve_time, note))
        return raw
    estimate = screening.initial_support(p, d, target, slope)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        partial = finish_estimate(estimate)
    raise SolverError(f"solver {adapter.NAME!r} returned no usable point in any form tried ("
                      + ", ".join(failures) + f"). Blahut–Arimoto's estimate (certified gap "
                      f"{partial.certificate.gap:.1e}) is attached as .partial; solver='ba' "
                      "solves this problem directly.", partial=partial)


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
        target = None
        if D is None:  # a slope solve: its own (proven) distortion is the target
            W = certify_classical.repair_channel(exact.excess, raw.channel)
            D = target = certify_classical.distortion_upper_end(exact, W)
        at_D_min = source.at_D_min(D) and source.D_max > source.D_min
        point = certify_classical.certify(exact, D, raw.channel, slope, raw.output_pmf,
                                          **options)
        dual = point.dual
        proof = ("rate_distortion", {},
                 {"channel": point.channel},
                 {"slope": dual.slope, "log_c": dual.log_c})
        return CertifiedPoint(point.channel, point.distortion, point.certificate,
                              math.inf if at_D_min else slope, proof, target)

    return certify
