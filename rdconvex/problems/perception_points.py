"""How a point of ``R(D, Gamma)`` (33) is obtained and certified, whatever the solver.

Every solver works on the shifted data of the source (``d' = d - r_x``,
``D' = D - D_min``, :class:`~rdconvex.rigorous.ShiftedProblem`) divided by the
conditioning scale ``max d'`` (:func:`~rdconvex.certify.perfect_perception.conditioning`):
a constant offset in ``d`` never meets a large slope, and ``1e-12`` and ``1e6``
distortions are solved alike. A conic solve that fails (or returns a non-finite
joint) is retried once in a second form — symbols of probability below ``1e-9`` of the
largest dropped (their rows are certified with the rest) and ``p`` renormalised — before
a :class:`~rdconvex.errors.SolverError` is raised. Certificates are proven on the exact
problem (:mod:`rdconvex.certify.perception`, :mod:`rdconvex.certify.perfect_perception`)
and the status is set by :func:`~rdconvex.problems.base.finish` from the certified gap
and the caller's ``tol``.
"""

from __future__ import annotations

import dataclasses
import math

import flint
import numpy as np

from ..certify import perception as certify
from ..certify import perfect_perception as perfect
from ..certify.perception_bounds import coupling_bounds
from ..errors import InfeasibleDistortionError, SolverError
from ..numerics import min_distortion_channel, normalise_rows
from ..programs import perception as programs
from ..results import RawSolution, SolveInfo, Status
from ..rigorous import PRECISION, upper_end
from ..solvers import get_solver
from .base import CertifiedPoint, finish

#: Symbols below this share of the largest probability are dropped in the retried form.
NEGLIGIBLE = 1e-9


def _conditioned(problem, Gamma: float):
    """``(scale, ground, Gamma)``: the conditioning scale of ``d'`` and the ground cost
    and budget of ``wasserstein`` divided by the ground cost's own scale."""
    scale = perfect.conditioning(problem.source.exact)
    ground = problem.ground_metric
    if ground is not None:  # the transport budget is conditioned the same way
        finite = ground[np.isfinite(ground)]
        ground_scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        ground, Gamma = ground / ground_scale, Gamma / ground_scale
    return scale, ground, Gamma


def shifted_program(problem, D: float, Gamma: float, keep=None):
    """Program (33) on the shifted, scaled data (rows ``keep`` only, ``p`` renormalised
    over them; the dropped symbols leave the reference pmf too, as chi^2 divides by it)."""
    src = problem.source
    exact = src.exact
    scale, ground, Gamma = _conditioned(problem, Gamma)
    p, p_out, excess = src.p, src.p_full, exact.excess
    if keep is not None:
        total = p[keep].sum()
        p, excess = p[keep] / total, excess[keep]
        p_out = p_out / total
        p_out[np.setdiff1d(src.support, src.support[keep])] = 0.0
    D_scaled = max(0.0, float(exact.excess_of(D).mid()) / scale)
    return programs.primal(p, p_out, excess / scale, D_scaled, Gamma, problem.divergence,
                           ground)


def distortion_floor(problem, Gamma: float, solver=None) -> float:
    """The smallest distortion compatible with ``Gamma`` (a float estimate: a conic
    program on the shifted, scaled data, solver accuracy); raises SolverError."""
    src = problem.source
    scale, ground, Gamma = _conditioned(problem, Gamma)
    with np.errstate(over="ignore", divide="ignore"):  # 1 / p of a subnormal p
        floor = programs.distortion_floor(src.p, src.p_full, src.exact.excess / scale, Gamma,
                                          problem.divergence, ground)
    try:
        info = get_solver(solver, task="program").solve(floor)
    except ValueError as exc:  # cvxpy rejects the data (e.g. 1 / p overflows)
        raise SolverError(f"min_distortion: {exc}", partial=None) from exc
    value = floor.read_point() if info.status.has_point else None
    if value is None:
        raise SolverError(f"min_distortion: {info.message}", partial=None)
    return src.D_min + max(0.0, value) * scale


def solve(problem, adapter, D: float, Gamma: float, tol, max_iter, solver_options,
          verbose, with_transport: bool = False):
    """Solve and certify ``R(D, Gamma)`` (``D`` in nats, checked ``>= D_min``)."""
    zero = _rate_zero_point(problem, D, Gamma)
    if zero is not None:
        raw, joint = zero
        if Gamma == 0.0:
            # lam = 0, f = g = 0 proves the bound 0 (the independent coupling's mass is 1).
            zero_dual = [perfect.DualCandidate(0.0, np.zeros(problem.source.p.size),
                                               np.zeros(problem.source.n))]
            result = _finish_perfect(problem, D, raw, joint, zero_dual, (), adapter.NAME, tol)
            return (result, (0.0, None, None)) if with_transport else result
        return _finish_perception(problem, D, Gamma, raw, None, adapter.NAME, tol)
    if adapter.KIND == "iterative":
        raw, joint, candidates, partners, root = _solve_sinkhorn(problem, adapter, D, tol,
                                                                 max_iter)
        result = _finish_perfect(problem, D, raw, joint, candidates, partners, adapter.NAME,
                                 tol)
        return (result, root) if with_transport else result
    raw, joint, potentials = _solve_conic(problem, adapter, D, Gamma, tol, max_iter,
                                          solver_options, verbose)
    if Gamma == 0.0:
        candidates, partners = _conic_dual_candidates(problem, D, raw.slope)
        if problem.source.at_D_min(D):
            raw = dataclasses.replace(raw, slope=math.inf)
        return _finish_perfect(problem, D, raw, joint, candidates, partners, adapter.NAME, tol)
    return _finish_perception(problem, D, Gamma, raw, potentials, adapter.NAME, tol)


# ---------------------------------------------------------------- obtaining a point


def independent_distortion(src) -> float:
    """A float ``>=`` the distortion of ``p~ p~^T`` with a margin of two ulps over the
    proven bound of its shifted part, so that ``D' >= `` that bound is proven at it."""
    bounds = coupling_bounds(src.exact, src.p_full, np.zeros(src.exact.excess.shape))
    excess = bounds.distortion_excess
    if not math.isfinite(excess):
        return math.inf
    excess = math.nextafter(math.nextafter(excess, math.inf), math.inf)
    with flint.ctx.workprec(PRECISION):
        return upper_end(src.exact.d_min + flint.arb(excess))


def _rate_zero_point(problem, D: float, Gamma: float):
    """``(raw, joint)`` of rate 0 without a solve: the independent coupling (the zero
    coupling rounds to it exactly) once ``D >= D_independent``; the best constant output
    when it meets ``Gamma``. None otherwise."""
    src = problem.source
    if D >= problem._D_independent():
        W = np.tile(src.p_full, (src.p.size, 1))
        joint = np.zeros(W.shape)
        message = "D >= D_independent: the independent coupling p p^T has rate 0 and q = p"
    elif D >= src.D_max and Gamma > 0.0:
        W = src.rate_zero(D).channel
        if certify.divergence_value(problem._divergence, src.p_full, src.p @ W,
                                    problem.ground_metric) > Gamma:
            return None
        joint = src.p[:, None] * W
        message = "D >= D_max and the constant output meets Gamma: rate 0"
    else:
        return None
    info = SolveInfo(Status.OPTIMAL, 0, 0.0, message + " (no solve needed)")
    return RawSolution(W, 0.0, src.p @ W, info), joint


def _solve_conic(problem, adapter, D, Gamma, tol, max_iter, solver_options, verbose):
    """(33) by a conic solver on the shifted, scaled data, retried once in the second
    form (module docstring). Returns ``(raw, joint, potentials)`` in true units."""
    src = problem.source
    scale = perfect.conditioning(src.exact)
    small = src.p < NEGLIGIBLE * src.p.max()
    forms = [None, np.flatnonzero(~small)]
    for keep in forms:
        with np.errstate(over="ignore", divide="ignore"):  # 1 / p of a subnormal p
            prog = shifted_program(problem, D, Gamma, keep)
        try:
            info = adapter.solve(prog, tol, max_iter, solver_options, verbose)
        except ValueError as exc:  # cvxpy rejects the data (e.g. 1 / p overflows)
            info = SolveInfo(Status.FAILED, 0, 0.0, f"failed: {exc}")
            continue
        if info.status is Status.INFEASIBLE:
            _check_feasible_conic(problem, D, Gamma)
        joint = prog.variables_by_name["J"].value if info.status.has_point else None
        if joint is not None and np.all(np.isfinite(joint)):
            break
    else:
        raise adapter.failed(info)
    full = np.zeros(src.exact.excess.shape)
    if keep is None:
        full[:] = joint
        alpha = prog["source marginal"].dual_value
        potentials = None if alpha is None else -np.asarray(alpha, dtype=float)
    else:
        full[keep] = joint * src.p[keep].sum()
        dropped = np.flatnonzero(small)
        full[dropped] = src.p[dropped, None] * _own_or_argmin(src, dropped)
        potentials = None
        info = SolveInfo(info.status, info.iterations, info.solve_time,
                         f"{info.message}; retried with {dropped.size} negligible symbols "
                         "dropped after the first form failed")
    dual = prog["distortion"].dual_value
    slope = float(dual) / scale if dual is not None and np.isfinite(dual) else 0.0
    q = prog.variables_by_name["q"].value
    full = np.clip(full, 0.0, None)
    # Rows of the joint normalised (J / p overflows for a subnormal p).
    channel = normalise_rows(full.copy(), min_distortion_channel(src.exact.excess))
    return RawSolution(channel, max(slope, 0.0), q, info), full, potentials


def _own_or_argmin(src, rows) -> np.ndarray:
    """Rows sending ``x`` to itself where ``d'(x, x) = 0``, else to its argmin outputs."""
    excess = src.exact.excess[rows]
    W = min_distortion_channel(excess)
    own = src.support[rows]
    for i, (row, y) in enumerate(zip(rows, own)):
        if src.exact.excess[row, y] == 0.0:
            W[i] = 0.0
            W[i, y] = 1.0
    return W


def _check_feasible_conic(problem, D, Gamma) -> None:
    """Raise InfeasibleDistortionError if ``D`` is below the distortion floor of
    ``Gamma`` (when the floor cannot be computed, the caller's SolverError stands)."""
    try:
        floor = problem.min_distortion(problem._Gamma_out(Gamma))
    except SolverError:
        return
    if problem._units.D_out(D) < floor:
        raise InfeasibleDistortionError(
            f"D={problem._units.D_out(D)!r} is below the smallest distortion "
            f"{floor!r} compatible with {problem.divergence} <= "
            f"Gamma={problem._Gamma_out(Gamma):.10g}; raise D or Gamma.")


def _check_perfect_floor(problem, D: float, floor_excess: float) -> None:
    src = problem.source
    D_excess = float(src.exact.excess_of(D).mid())
    if D_excess < floor_excess - 1e-9 * max(perfect.conditioning(src.exact), floor_excess):
        floor = problem._units.D_out(src.D_min + floor_excess)
        raise InfeasibleDistortionError(
            f"D={problem._units.D_out(D)!r} is below the smallest distortion "
            f"{floor!r} of a channel with output pmf p_x (the optimal-transport cost of "
            "p_x to itself): perfect perception is infeasible there. Raise D.")


def _solve_sinkhorn(problem, adapter, D, tol, max_iter):
    """``R(D, 0)`` by Sinkhorn on the shifted, scaled data. Returns ``(raw, joint, dual
    candidates, partners, (lam, f, g) at the root)``."""
    src = problem.source
    exact = src.exact
    scale = perfect.conditioning(exact)
    a, b = perfect.float_pmfs(exact, src.p_full)
    diagonal = certify.diagonal_is_min(exact, src.support)
    at_min = src.at_D_min(D)
    cost = np.where(exact.excess == 0.0, 0.0, np.inf) if at_min else exact.excess / scale
    D_scaled = 0.0 if at_min else float(exact.excess_of(D).mid()) / scale
    info, solution = adapter.solve_perfect_perception(a, b, cost, D_scaled, tol=tol,
                                                      max_iter=max_iter)
    if at_min:
        info = SolveInfo(info.status, info.iterations, info.solve_time,
                         "D = D_min: Sinkhorn on the exact minimisers (d' = 0)")
    if not solution.converged and not diagonal:
        _check_perfect_floor(problem, D, certify.transport_plan(a, b, exact.excess)[1])
    if at_min:
        candidates = [_argmin_candidate(exact, solution.f, solution.g)]
        root = (candidates[0].lam, solution.f, solution.g)
    else:
        candidates = [perfect.DualCandidate(lam / scale, f, g)
                      for lam, f, g in solution.potentials]
        root = (solution.lam / scale, solution.f, solution.g)
    partners = _partners(problem, root[0], at_min, diagonal)
    channel = normalise_rows(solution.coupling.copy(), min_distortion_channel(exact.excess))
    raw = RawSolution(channel, math.inf if at_min else root[0],
                      src.p_full.copy(), info)
    return raw, solution.coupling, candidates, partners, root


def _argmin_candidate(exact, f, g) -> perfect.DualCandidate:
    """At ``D' = 0``: potentials of the coupling on the exact minimisers, with a
    multiplier so large that every other pair's term underflows (``lam D' = 0``)."""
    positive = exact.excess[(exact.excess > 0) & np.isfinite(exact.excess)]
    if positive.size == 0:
        return perfect.DualCandidate(0.0, f, g)
    spread = 1600.0 + 2.0 * (np.max(np.abs(f)) + np.max(np.abs(g)))
    return perfect.DualCandidate(float(spread / positive.min()), f, g)


def _partners(problem, lam: float, at_min: bool, diagonal: bool) -> tuple:
    """Couplings of smaller distortion to repair with (computed only if needed): the
    Sinkhorn couplings at slightly and at much larger multipliers, then an
    optimal-transport plan of ``p`` to itself (the identity is always tried last)."""
    src = problem.source
    exact = src.exact
    a, b = perfect.float_pmfs(exact, src.p_full)
    scale = perfect.conditioning(exact)

    def at(factor):
        def make():
            sol = get_solver("sinkhorn", task="perfect_perception").scale(
                a, b, exact.excess / scale, lam * scale * factor, tol=1e-14, max_iter=5000)
            return np.exp(sol.log_coupling)
        return make

    found = [] if at_min or not lam > 0 else [at(1.05), at(4.0)]
    if not diagonal:
        found.append(lambda: certify.transport_plan(a, b, exact.excess)[0])
    return tuple(found)


def _conic_dual_candidates(problem, D, slope: float):
    """Dual candidates and partners for a conic solver's ``R(D, 0)`` point: one Sinkhorn
    scaling at its slope (at ``D_min``: on the exact minimisers)."""
    src = problem.source
    exact = src.exact
    diagonal = certify.diagonal_is_min(exact, src.support)
    if src.at_D_min(D):
        a, b = perfect.float_pmfs(exact, src.p_full)
        sol = get_solver("sinkhorn", task="perfect_perception").scale(
            a, b, np.where(exact.excess == 0.0, 0.0, np.inf), 0.0, tol=1e-14, max_iter=5000)
        return [_argmin_candidate(exact, sol.f, sol.g)], _partners(problem, 0.0, True, diagonal)
    candidates = [perfect.scaling_candidate(exact, src.p_full, slope)]
    return candidates, _partners(problem, slope, False, diagonal)


# ---------------------------------------------------------------- certifying it


def _finish_perfect(problem, D, raw, joint, candidates, partners, solver, tol):
    """Certify (:func:`rdconvex.certify.perfect_perception.certify_perfect`), finish, and
    record the certificate file (``"perfect_perception"``)."""
    src = problem.source
    point = perfect.certify_perfect(src.exact, src.p_full, src.support, D, joint, candidates,
                                    partners)
    proof = None
    if point.dual is not None and math.isfinite(point.certificate.upper):
        coupling = np.zeros((src.n, src.n))
        coupling[src.support] = point.coupling
        f = np.zeros(src.n)
        f[src.support] = point.dual.f
        proof = ("perfect_perception", {}, {"coupling": coupling},
                 {"slope": point.dual.lam, "f": f, "g": point.dual.g})
    certified = CertifiedPoint(point.channel, point.distortion, point.certificate,
                               float(raw.slope), proof)
    return _finish(problem, raw, certified, D, 0.0, 0.0, point.note, point.dual_value,
                   solver, tol)


def _finish_perception(problem, D, Gamma, raw, potentials, solver, tol):
    """Certify (:func:`rdconvex.certify.perception.certify_perception`), finish, and
    record the certificate file (``"perception"``, closed-form divergences)."""
    src = problem.source
    point = certify.certify_perception(
        src.exact, src.p_full, D, Gamma, problem.divergence, problem.ground_metric,
        raw.channel, raw.slope, raw.output_pmf, potentials=potentials,
        safe=problem._safe_channel)
    certified = CertifiedPoint(point.channel, point.distortion, point.certificate,
                               point.slope, point.proof)
    return _finish(problem, raw, certified, D, Gamma, point.perception, point.note,
                   point.proof_lower, solver, tol)


def _finish(problem, raw, point, D, Gamma, perception, note, proof_lower, solver, tol):
    if note:
        info = raw.info
        raw = RawSolution(raw.channel, raw.slope, raw.output_pmf,
                          SolveInfo(info.status, info.iterations, info.solve_time,
                                    f"{info.message}; {note}"))
    extras = {"Gamma": problem._Gamma_out(Gamma), "divergence": problem.divergence,
              "perception": problem._Gamma_out(perception)}
    result = finish(problem.source, problem._units, raw, D=D, solver=solver,
                    certify=lambda _raw, _D: point, result_type=problem.result_type,
                    extras=extras, stacklevel=5, tol=tol)
    if result.proof is not None:
        # The file claims what its own dual point proves (the support-function bound of
        # R(D, Gamma) has no file format; R(D, 0)'s certificate floors its bound at 0).
        result = dataclasses.replace(result, proof=dataclasses.replace(
            result.proof, lower=min(proof_lower, result.proof.lower)))
    return result
