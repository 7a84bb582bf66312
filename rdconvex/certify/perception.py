r"""Certificates of ``R(D, Gamma)`` (33): proven bounds from any returned point.

Every bound holds, in exact arithmetic, for the problem the user's floats define
(:math:`\tilde p = p / \sum p`, the distortion as given); it is evaluated on shifted
data (``d' = d - r_x``, ``D' = D - D_min``, :mod:`rdconvex.rigorous`) with outward
rounding. ``Gamma = 0`` is :mod:`.perfect_perception` (a rounded coupling and the
entropic-OT dual); ``Gamma > 0`` is here.

*Upper bound* (``Gamma > 0``). The returned channel is repaired (clipped, forbidden pairs
and, for ``reverse_kl``/``chi2``, outputs of probability 0 emptied, rows renormalised);
the certificate is about the float channel ``W`` with rows divided by their exact sums,
as the checker of docs/certificate-format.md reads it. Its distortion and rate are
proven by :func:`rdconvex.rigorous.channel_bounds`, and ``gamma(p~, p~ W) <= Gamma`` by
:func:`perception_upper` (an enclosure of ``q = p~ W``; each closed-form divergence's
terms are convex in ``q_y``; Wasserstein: the cost of an LP transport plan rounded to
the exact marginals). If a budget is not proven, ``Y`` is first post-processed toward
``p`` (data processing: the rate cannot rise), then the channel is mixed with a *safe*
channel whose output pmf is ``p`` (the identity when ``d(x, x)`` is each row's minimum,
else an optimal-transport plan of ``p`` to itself), by weights that prove both.

*Lower bound.* The larger of Csiszár's classical bound (``R(D, Gamma) >= R(D)``,
:mod:`.classical`; the certificate file's dual point) and the support-function bound
of :mod:`.perception_support`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..atoms.divergences import DIVERGENCES, Divergence
from ..iterative.sinkhorn import round_to_coupling
from ..numerics import min_distortion_channel, normalise_rows
from ..results import Certificate, Status
from ..rigorous import ShiftedProblem, channel_bounds, dual_lower_bound, log_c_of
from ..solvers import get_solver
from .classical import DualPoint, best_dual_point, polish_steps, repair_channel
from .perception_bounds import (
    cost_upper,
    divergence_upper,
    output_enclosure,
    pmf_enclosure,
    round_enclosure,
)
from .perception_support import support_lower_bound
from .perfect_perception import conditioning, float_pmfs

#: Divergences the certificate file format (``"perception"``) covers.
FILE_DIVERGENCES = ("tv", "kl", "reverse_kl", "hellinger", "chi2")


def _divergence(divergence) -> Divergence:
    return DIVERGENCES[divergence] if isinstance(divergence, str) else divergence


def transport_plan(a, b, cost) -> tuple[np.ndarray | None, float]:
    """An optimal transport plan of ``a`` to ``b`` (a linear program, HiGHS), rounded to
    the float marginals. Returns ``(plan, lp_value)``; ``(None, inf)`` when no plan
    avoids the forbidden (``inf``) moves."""
    a, b, cost = (np.asarray(x, dtype=float) for x in (a, b, cost))
    n, m = cost.shape
    allowed = np.isfinite(cost)
    # LP tolerances are absolute: solve with costs of order 1 (1e-12 costs would all
    # look optimal).
    top = float(cost[allowed].max()) if allowed.any() else 0.0
    scale = top if top > 0 else 1.0
    c = np.where(allowed, cost / scale, 0.0).ravel()
    A_eq = sp.vstack([sp.kron(sp.eye(n), np.ones((1, m))),
                      sp.kron(np.ones((1, n)), sp.eye(m))]).tocsr()
    bounds = np.where(allowed.ravel()[:, None], [0.0, np.inf], [0.0, 0.0])
    sol = get_solver("highs", task="lp").solve_lp(c, A_eq=A_eq, b_eq=np.concatenate([a, b]),
                                                  bounds=bounds)
    if sol.info.status is not Status.OPTIMAL or sol.x is None:
        return None, math.inf
    plan = round_to_coupling(np.clip(sol.x.reshape(n, m), 0.0, None), a, b)
    plan[~allowed] = 0.0
    return plan, sol.objective * scale


def divergence_value(divergence, p, q, ground=None) -> float:
    r"""``gamma(p, q)`` in float64 (nats for the KL divergences): for display and for the
    repair's guesses; the certificate proves its own bound (:func:`perception_upper`).
    ``wasserstein`` is the cost of an LP plan (HiGHS)."""
    div = _divergence(divergence)
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    plan = None
    if div.needs_plan and not np.array_equal(p, q):
        plan = transport_plan(p, q, ground)[0]
    with np.errstate(all="ignore"):  # e.g. chi^2 with a subnormal p_y: inf is the answer
        return div.value(p, q, ground=ground, plan=plan)


def perception_upper(name: str, problem: ShiftedProblem, p_out: np.ndarray, W: np.ndarray,
                     ground=None) -> float:
    """A float ``>= gamma(p~, p~ W)`` for ``W`` = the rows of the float ``W`` divided by
    their exact sums."""
    q = output_enclosure(problem, W)
    if name != "wasserstein":
        return divergence_upper(name, problem, p_out, q)
    q_lo, q_hi = q.lo, q.hi
    # The cost of a transport plan rounded to the exact marginals (p~, q).
    mid = np.clip((q_lo + q_hi) / 2, 0.0, None)
    plan, _ = transport_plan(p_out / p_out.sum(), mid / mid.sum(), ground)
    if plan is None:
        return math.inf
    b_lo, b_hi = pmf_enclosure(problem, p_out)
    return cost_upper(round_enclosure(plan, b_lo, b_hi, q_lo, q_hi),
                      np.asarray(ground, dtype=float))


def diagonal_is_min(problem: ShiftedProblem, support) -> bool:
    """Whether ``d(x, x)`` is each row's minimum (``d'(x, x) = 0`` exactly)."""
    return bool(np.all(problem.excess[np.arange(problem.p.size), support] == 0.0))


def safe_channel(problem: ShiftedProblem, p_out: np.ndarray, support) -> tuple:
    """``(channel, distortion excess)`` of a channel with output pmf ``p`` (to rounding)
    and the least distortion: the identity when ``d(x,x)`` is each row's minimum, else
    an optimal transport plan of ``p`` to itself; ``(None, inf)`` if none exists."""
    if diagonal_is_min(problem, support):
        W = np.zeros(problem.excess.shape)
        W[np.arange(problem.p.size), support] = 1.0
        return W, 0.0
    a, b = float_pmfs(problem, p_out)
    plan, value = transport_plan(a, b, problem.excess)
    if plan is None:
        return None, math.inf
    return normalise_rows(plan, min_distortion_channel(problem.excess)), value


def _transport_to(q, target) -> np.ndarray:
    """A channel ``T`` with ``q T = target``: symbol ``y`` keeps ``min(q_y, target_y)``
    and sends its surplus to the deficits in proportion."""
    surplus = np.clip(q - target, 0.0, None)
    deficit = np.clip(target - q, 0.0, None)
    T = np.eye(q.size)
    if deficit.sum() <= 0:
        return T
    move = np.divide(surplus, q, out=np.zeros_like(q), where=q > 0)
    T *= (1.0 - move)[:, None]
    T += move[:, None] * (deficit / deficit.sum())[None, :]
    return T


def proven_weight(check: Callable, guess: float):
    """The smallest weight ``t`` in ``[0, 1]`` found with ``check(t)`` (a proof): the
    guess (an exact-arithmetic estimate), then growing steps, then 1. None if 1 fails."""
    t = min(1.0, max(0.0, guess) * (1.0 + 1e-9) + 1e-15)
    step = max(1e-15, 1e-9 * t)
    while t < 1.0:
        if check(t):
            return t
        t, step = t + step, step * 8.0
    return 1.0 if check(1.0) else None


class Repaired(NamedTuple):
    """A channel proven feasible for ``(D, Gamma)`` (None if no repair was proven),
    its :class:`~rdconvex.rigorous.ChannelBounds`, the proven divergence bound and a note."""

    channel: np.ndarray | None
    bounds: object
    perception: float
    note: str


def repair_perception(problem: ShiftedProblem, p_out: np.ndarray, channel, budget: float,
                      Gamma: float, name: str, ground=None, safe: Callable | None = None
                      ) -> Repaired:
    """A channel proven feasible near ``channel`` (module docstring). ``budget`` is a
    float ``<= D'``; ``safe()`` gives :func:`safe_channel` (called only if needed)."""
    W = np.array(channel, dtype=float, copy=True)
    if _divergence(name).needs_support:
        W[:, p_out <= 0] = 0.0
    W = repair_channel(problem.excess, W)
    a, b = float_pmfs(problem, p_out)

    def estimate(M):
        return divergence_value(name, b, a @ M, ground)

    def proven(M):
        bounds = channel_bounds(problem, M)
        if not bounds.distortion_excess <= budget:
            return None
        value = perception_upper(name, problem, p_out, M, ground)
        return (bounds, value) if value <= Gamma else None

    result = proven(W)
    if result is not None:
        return Repaired(W, *result, "")
    notes = []
    if estimate(W) > Gamma:
        # Post-process Y toward p: I(X;Y) cannot rise; the divergence falls (convexity).
        toward = repair_channel(problem.excess, W @ _transport_to(a @ W, b))
        start, end = estimate(W), estimate(toward)
        if end < Gamma:
            t = proven_weight(lambda t: perception_upper(
                name, problem, p_out, (1 - t) * W + t * toward, ground) <= Gamma,
                (start - Gamma) / (start - end))
            if t is not None:
                W = (1 - t) * W + t * toward
                notes.append(f"output post-processed toward p (weight {t:.3g})")
        result = proven(W)
        if result is not None:
            return Repaired(W, *result, "repaired: " + "; ".join(notes))
    other, other_excess = safe() if safe is not None else (None, math.inf)
    if other is None or proven(other) is None:
        bounds = channel_bounds(problem, W)
        return Repaired(None, bounds, math.inf,
                        f"upper bound not certified: the returned channel's distortion "
                        f"(excess {bounds.distortion_estimate:.6g} over D_min) or divergence "
                        f"({estimate(W):.3g}) is not proven within the budgets, and no "
                        "channel with output pmf p proves them")
    excess = channel_bounds(problem, W).distortion_excess
    guess = (excess - budget) / (excess - other_excess) if excess > budget else 0.0
    t = proven_weight(lambda t: proven((1 - t) * W + t * other) is not None, guess)
    W = (1 - t) * W + t * other
    notes.append(f"mixed with a channel of output pmf p (weight {t:.3g})")
    return Repaired(W, *proven(W), "repaired: " + "; ".join(notes))


class PerceptionPoint(NamedTuple):
    """A certified ``R(D, Gamma)`` point (nats, reduced rows): channel, distortion
    (original units, estimate), certificate, slope, the proven bound on the divergence
    of its output, the certificate-file record (None if the quantity has no format),
    the lower bound that record's dual point proves, and a note on any repair."""

    channel: np.ndarray
    distortion: float
    certificate: Certificate
    slope: float
    perception: float
    proof: tuple | None
    proof_lower: float
    note: str


def classical_dual(problem: ShiftedProblem, D_excess, slope: float, candidates) -> tuple:
    """``(value, DualPoint)``: Csiszár's bound ``R(D) <= R(D, Gamma)`` at the best of the
    candidate output pmfs (polished as :func:`rdconvex.certify.classical.certify` does)."""
    at_min = D_excess.is_exact() and D_excess == 0
    best = (-math.inf, DualPoint(0.0, np.zeros(problem.p.size)))
    for q in candidates:
        if q is None or not np.all(np.isfinite(q)) or np.sum(np.clip(q, 0, None)) <= 0:
            continue
        q = np.clip(np.asarray(q, dtype=float), 0.0, None)
        if at_min:
            point = DualPoint(math.inf, log_c_of(problem, math.inf, q))
        else:
            s, q = best_dual_point(problem, float(D_excess.mid()), max(slope, 0.0), q,
                                   polish_steps(problem.excess), True)
            point = DualPoint(s, log_c_of(problem, s, q))
        value = dual_lower_bound(problem, D_excess, point.slope, point.log_c)
        if value > best[0]:
            best = (value, point)
    return best


def support_candidates(problem: ShiftedProblem, slope: float, outputs, potentials):
    """Potentials ``f`` for the support-function bound: the solver's own, and one
    Sinkhorn scaling of ``(p, q)`` at the slope for each candidate output pmf ``q``."""
    found = [] if potentials is None else [np.asarray(potentials, dtype=float)]
    if not math.isfinite(slope):
        return found
    a = problem.p / problem.p.sum()
    scale = conditioning(problem)
    sinkhorn = get_solver("sinkhorn", task="perfect_perception")
    for q in outputs:
        if q is None or not np.all(np.isfinite(q)):
            continue
        q = np.clip(np.asarray(q, dtype=float), 0.0, None)
        if q.sum() <= 0:
            continue
        sol = sinkhorn.scale(a, q / q.sum(), problem.excess / scale, slope * scale,
                             tol=1e-13, max_iter=2000)
        found.append(sol.f)
    return found


def certify_perception(problem: ShiftedProblem, p_out: np.ndarray, D: float, Gamma: float,
                       name: str, ground, channel, slope: float, output_pmf, *,
                       potentials=None, safe: Callable | None = None) -> PerceptionPoint:
    """Certify a returned point for ``R(D, Gamma)``, ``Gamma > 0`` (module docstring).

    ``channel``, ``slope`` (the distortion multiplier, true units) and ``output_pmf``
    come from the solver; ``potentials`` are minus the solver's multipliers of the
    source marginals (one more lower-bound candidate); ``safe()`` as in
    :func:`repair_perception`."""
    D_excess = problem.excess_of(D)
    value = float(D_excess.lower()) if D_excess.is_finite() else 0.0
    budget = math.nextafter(value, -math.inf) if value > 0 else 0.0
    repaired = repair_perception(problem, p_out, channel, budget, Gamma, name, ground, safe)
    W = repaired.channel if repaired.channel is not None else repair_channel(
        problem.excess, np.array(channel, dtype=float))
    upper = repaired.bounds.rate if repaired.channel is not None else math.inf
    slope = float(slope) if slope is not None and np.isfinite(slope) else 0.0
    at_min = D_excess.is_exact() and D_excess == 0
    outputs = [output_pmf, problem.p @ W]
    classical_value, dual = classical_dual(problem, D_excess, slope, outputs)
    lower = classical_value
    s = math.inf if at_min else slope
    for f in support_candidates(problem, s, outputs, potentials) + [dual.log_c]:
        lower = max(lower, support_lower_bound(problem, p_out, D_excess, s, f, name,
                                               Gamma, ground))
    lower = max(lower, 0.0)
    proof = None
    if name in FILE_DIVERGENCES and repaired.channel is not None:
        proof = ("perception", {"Gamma": Gamma, "divergence": name}, {"channel": W},
                 {"slope": dual.slope, "log_c": dual.log_c})
    distortion = repaired.bounds.distortion_estimate + float(problem.d_min.mid())
    return PerceptionPoint(W, distortion, Certificate(upper=upper, lower=lower),
                           math.inf if at_min else slope, repaired.perception, proof,
                           classical_value, repaired.note)
