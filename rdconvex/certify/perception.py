r"""Certificates of ``R(D, Gamma)`` (33): every perception bound, from any returned point.

All arithmetic is float64 in nats on the reduced problem (``p`` = source symbols of
positive probability, ``p_out`` = the full source pmf on the reconstruction alphabet,
``d`` = their rows of the square distortion).

*Upper bound.* The returned channel is repaired into one that is feasible for
``(D, Gamma)`` (:func:`repair_perception`): at ``Gamma = 0`` the joint is first
rounded to exact marginals ``(p, p)`` (Altschuler–Weed–Rigollet's ``round``); rows are
clipped, forbidden pairs zeroed, rows renormalised; if the divergence exceeds
``Gamma`` the output is post-processed toward ``p`` (data processing: the rate cannot
rise); if the distortion still exceeds ``D`` the channel is mixed with a *safe* channel
whose output pmf is ``p`` (the identity when ``d(x,x) = min_y d(x,y)``, else an optimal
transport plan of ``p`` to itself), with the smallest weight that meets both. The upper
bound is the mutual information of the repaired channel. At ``Gamma = 0`` the output
pmf equals ``p`` only up to float64 rounding, so the divergence is checked against
``Gamma + PERCEPTION_ROUNDING``.

*Lower bound.* For any slope ``s >= 0`` and potentials ``f`` (one per source symbol),

.. math::
    R(D, \Gamma) \ge \sum_x p_x f_x - s D - \sigma_\Gamma(c),\qquad
    c_y = \log \sum_x p_x e^{f_x - s\, d(x,y)},\qquad
    \sigma_\Gamma(c) = \max\{ c^\top q : q \in \Delta,\ \gamma(p, q) \le \Gamma \}.

Proof: for a fixed output pmf ``q``, the entropic-OT dual of
``min {KL(J || p q^T) : J in Pi(p, q), <J,d> <= D}`` with the output potential chosen
pointwise (``g_y = -c_y``) gives ``sum p f - s D - q^T c``; the minimum over ``q`` in
the divergence ball of a max is at least the max of the minimum. ``sigma_Gamma`` is
replaced by a certified *upper* bound (:func:`support_upper_bound`, each divergence's
:meth:`~rdconvex.atoms.divergences.Divergence.support_bound`), so the result stays a
valid lower bound. At ``Gamma = 0``, ``sigma_0(c) = p^T c`` exactly: the entropic-OT
dual (:func:`entropic_dual_bound`). The classical bound ``R(D, Gamma) >= R(D)``
(:func:`rdconvex.certify.classical.best_lower_bound`) is evaluated too; the largest
candidate is reported.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from ..atoms import channel_mutual_information, expected_distortion
from ..atoms.divergences import DIVERGENCES, Divergence
from ..iterative.sinkhorn import (
    round_to_coupling,
    rounded_coupling,
    scale_to_marginals,
    smallest_feasible_weight,
)
from ..numerics import log_kernel, safe_log
from ..results import Certificate, RawSolution, Status
from ..solvers import get_solver
from .classical import best_dual_point, repair_channel  # noqa: F401 (being ported)
ROUNDING = 1e-12

#: At ``Gamma = 0`` the output pmf of a rounded coupling equals ``p`` only up to float64
#: rounding; its divergence is accepted up to this absolute amount (nats for KL).
PERCEPTION_ROUNDING = 1e-12


def _divergence(divergence) -> Divergence:
    return DIVERGENCES[divergence] if isinstance(divergence, str) else divergence


# ------------------------------------------------------------------ divergence values


def transport_plan(a, b, cost) -> tuple[np.ndarray | None, float]:
    """An optimal transport plan of ``a`` to ``b`` (a linear program, HiGHS), rounded to
    exact marginals. Returns ``(plan, lp_value)``; ``(None, inf)`` when no plan avoids
    the forbidden (``inf``) moves."""
    a, b, cost = (np.asarray(x, dtype=float) for x in (a, b, cost))
    n, m = cost.shape
    allowed = np.isfinite(cost)
    c = np.where(allowed, cost, 0.0).ravel()
    A_eq = sp.vstack([sp.kron(sp.eye(n), np.ones((1, m))),
                      sp.kron(np.ones((1, n)), sp.eye(m))]).tocsr()
    bounds = np.where(allowed.ravel()[:, None], [0.0, np.inf], [0.0, 0.0])
    sol = get_solver("highs", task="lp").solve_lp(c, A_eq=A_eq, b_eq=np.concatenate([a, b]),
                                                  bounds=bounds)
    if sol.info.status is not Status.OPTIMAL or sol.x is None:
        return None, math.inf
    plan = round_to_coupling(sol.x.reshape(n, m), a, b)
    plan[~allowed] = 0.0
    return plan, sol.objective


def divergence_value(divergence, p, q, ground=None) -> float:
    r"""``gamma(p, q)`` in float64 (nats for the KL divergences).

    ``divergence`` is a name of :data:`~rdconvex.atoms.divergences.DIVERGENCES` or the
    object. ``wasserstein`` is the cost of an explicit transport plan (an LP's plan
    rounded to exact marginals): an upper bound on the optimal cost, tight to the LP
    tolerance, so a check ``gamma <= Gamma`` with it is conservative.
    """
    div = _divergence(divergence)
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    plan = None
    if div.needs_plan and not np.array_equal(p, q):
        plan = transport_plan(p, q, ground)[0]
    return div.value(p, q, ground=ground, plan=plan)


# ------------------------------------------------------------------ lower bounds


def support_upper_bound(divergence, p, c, Gamma: float, ground=None) -> float:
    r"""A certified upper bound on ``sigma(c) = max {c^T q : q in simplex, gamma(p, q) <= Gamma}``.

    Exact at ``Gamma = 0`` (``p^T c``) and for ``tv``; otherwise the divergence's
    Lagrangian dual value (:meth:`~rdconvex.atoms.divergences.Divergence.support_bound`),
    never more than ``max_y c_y``. ``c`` may contain ``-inf`` (outputs no source symbol
    can reach); the result is ``-inf`` when no ``q`` in the ball avoids them.
    """
    div = _divergence(divergence)
    p = np.asarray(p, dtype=float)
    c = np.asarray(c, dtype=float)
    pos = p > 0
    # Outputs where q must vanish (p = 0 and gamma infinite otherwise).
    usable = pos if div.needs_support else np.ones(p.size, bool)
    finite = usable & np.isfinite(c)
    if not np.any(finite):
        return -math.inf
    shift = float(np.max(c[finite]))
    c = c - shift
    if Gamma == 0.0:
        if np.any(pos & ~np.isfinite(c)):
            return -math.inf
        return shift + float(p[pos] @ c[pos])
    # 0 = the max over usable outputs of the shifted c: sigma never exceeds it.
    return shift + min(0.0, div.support_bound(p, c, Gamma, ground))


def perception_lower_bound(p, p_out, d, D: float, Gamma: float, slope: float, f,
                           divergence, ground=None) -> float:
    r"""The lower bound ``sum p f - s D - sigma_Gamma(c)`` on ``R(D, Gamma)`` (nats).

    ``c_y = log sum_x p_x e^{f_x - s d(x,y)}`` (log space); ``sigma_Gamma`` is replaced
    by :func:`support_upper_bound`. Valid for every ``s >= 0`` and every ``f``.
    """
    c = logsumexp((np.log(p) + f)[:, None] + log_kernel(d, slope), axis=0)
    sigma = support_upper_bound(divergence, p_out, c, Gamma, ground)
    value = float(p @ f - slope * D - sigma)
    return value if np.isfinite(value) else -math.inf


def entropic_dual_bound(a, b, cost, lam: float, f, g, D: float) -> float:
    r"""Lower bound on ``min {KL(J || a b^T) : J in Pi(a, b), <J, C> <= D}`` from any
    potentials ``(f, g)`` and multiplier ``lam >= 0`` (weak duality; Fenchel–Young on
    ``j log(j/k) - j + k``, then the best constant shift of ``f``):

    .. math::
        \sum_x a_x f_x + \sum_y b_y g_y - \lambda D
        - \log \sum_{x,y} a_x b_y e^{f_x + g_y - \lambda C_{xy}}

    For ``b = a = p`` it bounds ``R(D, 0)``. Computed in log space.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    kernel = log_kernel(np.asarray(cost, dtype=float), float(lam))
    mass = logsumexp((np.log(a) + f)[:, None] + (safe_log(b) + g)[None, :] + kernel)
    pos = b > 0
    value = float(a @ f + b[pos] @ np.asarray(g)[pos] - lam * D - mass)
    return value if np.isfinite(value) else -math.inf


def sinkhorn_lower_bound(a, b, cost, D: float, solution) -> float:
    """The best :func:`entropic_dual_bound` over every multiplier a Sinkhorn root search
    evaluated (``solution.potentials`` of a
    :class:`~rdconvex.iterative.sinkhorn.FixedOutputSolution`)."""
    return max((entropic_dual_bound(a, b, cost, lam, f, g, D)
                for lam, f, g in solution.potentials), default=-math.inf)


def candidate_lower_bound(p, p_out, d, D, Gamma, slope, candidates, divergence,
                          ground=None) -> float:
    """The best lower bound from output pmfs ``candidates`` at slope ``s``: for each,
    potentials from one Sinkhorn scaling of ``(p, q)`` (:func:`perception_lower_bound`)
    and Csiszár's classical bound ``R(D, Gamma) >= R(D)`` from the same ``(s, q)``."""
    sinkhorn = get_solver("sinkhorn", task="perfect_perception")
    best = -math.inf
    for q in candidates:
        if q is None:
            continue
        q = np.clip(np.asarray(q, dtype=float), 0.0, None)
        if q.sum() <= 0 or not np.all(np.isfinite(q)):
            continue
        q = q / q.sum()
        pot = sinkhorn.scale(p, q, d, slope, tol=1e-13, max_iter=2000)
        best = max(best, perception_lower_bound(p, p_out, d, D, Gamma, slope, pot.f,
                                                divergence, ground))
        best = max(best, best_lower_bound(p, d, D, slope, q))
    return best


# ------------------------------------------------------------------ repair (upper bound)


def diagonal_is_min(d, support) -> bool:
    """Whether ``d(x, x)`` is each row's minimum (``d`` = the rows ``support``)."""
    diag = d[np.arange(d.shape[0]), support]
    return bool(np.all(diag <= d.min(axis=1)))


def safe_channel(p, p_out, d, support) -> tuple[np.ndarray | None, float]:
    """A channel with output pmf ``p`` (to rounding) and the least distortion: the
    identity when ``d(x,x)`` is each row's minimum, else an optimal transport plan of
    ``p`` to itself. ``(None, inf)`` when no coupling of ``p`` with itself avoids the
    forbidden pairs."""
    if diagonal_is_min(d, support):
        W = np.zeros((p.size, p_out.size))
        W[np.arange(p.size), support] = 1.0
    else:
        plan, _ = transport_plan(p, p_out, d)
        W = None if plan is None else plan / plan.sum(axis=1, keepdims=True)
    return W, math.inf if W is None else expected_distortion(p, W, d)


def sinkhorn_partner(p, p_out, d, solution):
    """A repair partner with output pmf ``p`` and less distortion than a Sinkhorn
    solution: the rounded coupling at twice its multiplier (one warm-started scaling),
    so a rounding excess is fixed without the transport LP. ``None`` if unconverged."""
    if not solution.converged:
        return None
    partner = get_solver("sinkhorn", task="perfect_perception").scale(
        p, p_out, d, 2.0 * solution.lam, f0=solution.f)
    W = rounded_coupling(partner, p, p_out, d) / p[:, None]
    return W, expected_distortion(p, W, d)


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


def _exact_marginals(p, p_out, d, W) -> np.ndarray:
    # Scaling rows and columns keeps zeros (forbidden pairs stay empty) and drives the
    # marginal error to rounding level, so the rank-one correction of `round` puts only
    # ~1e-30 mass anywhere (dropped on forbidden pairs).
    J = np.clip(np.nan_to_num(p[:, None] * W, nan=0.0), 0.0, None)
    J[~np.isfinite(d)] = 0.0
    J = round_to_coupling(scale_to_marginals(J, p, p_out), p, p_out)
    J[~np.isfinite(d)] = 0.0
    return J / p[:, None]


def repair_perception(p, p_out, d, channel, D: float, Gamma: float, divergence,
                      ground=None, safe: Callable | None = None, partner: Callable | None = None):
    """A channel feasible for ``(D, Gamma)`` near ``channel`` (see the module docstring).

    ``safe()`` and ``partner()`` (called only when needed) return ``(channel,
    distortion)`` of channels with output pmf ``p``; ``partner`` is tried first.
    Returns ``(W, distortion, perception, note)``; ``W`` is None when no certified
    repair exists (the note says why)."""
    slack = PERCEPTION_ROUNDING if Gamma == 0.0 else 0.0
    div = _divergence(divergence)

    def perception_of(M):
        return divergence_value(div, p_out, p @ M, ground)

    def feasible(M):
        return expected_distortion(p, M, d) <= D and perception_of(M) <= Gamma + slack

    W = np.array(channel, dtype=float)
    if Gamma == 0.0:
        W = _exact_marginals(p, p_out, d, W)  # the divergence vanishes only there
    if div.needs_support:
        # Infinite unless q vanishes where p does: drop that (solver-noise) mass first.
        W = np.where((p_out > 0)[None, :], W, 0.0)
    W, distortion = repair_channel(p, d, W)
    perception = perception_of(W)
    if distortion <= D and perception <= Gamma + slack:
        return W, distortion, perception, ""
    notes = []
    toward_p = None
    if perception > Gamma + slack:
        # Post-process Y with T (q T = p): I(X;Y) cannot increase (data processing) and
        # the divergence falls along the segment (convexity). Mass T sends onto a
        # forbidden pair is dropped, so that end is kept only if it is within Gamma.
        toward_p = W @ _transport_to(p @ W, p_out)
        if not np.all(np.isfinite(d)):
            toward_p, _ = repair_channel(p, d, toward_p)
            if perception_of(toward_p) > Gamma + slack:
                toward_p = None
    if toward_p is not None:
        t = smallest_feasible_weight(
            lambda t: perception_of((1.0 - t) * W + t * toward_p) <= Gamma + slack,
            1.0 - Gamma / perception if perception > 0 else 0.0)
        W = (1.0 - t) * W + t * toward_p
        distortion, perception = expected_distortion(p, W, d), perception_of(W)
        notes.append(f"output post-processed toward p (weight {t:.3g})")
        if distortion <= D:
            return W, distortion, perception, "repaired: " + "; ".join(notes)
    pair = partner() if partner is not None else None
    if pair is None or not feasible(pair[0]):
        pair = safe() if safe is not None else (None, math.inf)
    other, d_other = pair
    if other is not None and feasible(other):
        guess = (distortion - D) / (distortion - d_other) if distortion > max(D, d_other) else 0.0
        if perception > Gamma > 0:
            guess = max(guess, 1.0 - Gamma / perception)
        t = smallest_feasible_weight(lambda t: feasible((1.0 - t) * W + t * other), guess)
        M = (1.0 - t) * W + t * other
        notes.append(f"mixed with a channel of output pmf p (weight {t:.3g})")
        return (M, expected_distortion(p, M, d), perception_of(M),
                "repaired: " + "; ".join(notes))
    return (None, distortion, perception,
            f"upper bound not certified: the returned channel has distortion "
            f"{distortion:.6g} (D = {D:.6g}) and divergence {perception:.3g} "
            f"(Gamma = {Gamma:.3g}), and no channel with output pmf p has distortion "
            f"<= D to repair it with (the safe channel's distortion is {d_other:.6g})")


# ------------------------------------------------------------------ the certificate


class PerceptionCertificate(NamedTuple):
    """What :func:`certify_perception` returns (nats, reduced rows): the repaired
    channel, its distortion, the certificate, the slope to report, the divergence the
    channel reaches and a note on the repair (empty if none was needed)."""

    channel: np.ndarray
    distortion: float
    certificate: Certificate
    slope: float
    perception: float
    note: str


def certify_perception(p, p_out, d, D: float, Gamma: float, divergence, ground,
                       raw: RawSolution, *, potentials=None, transport=None,
                       safe: Callable | None = None) -> PerceptionCertificate:
    """Certify a returned point for ``R(D, Gamma)`` (see the module docstring).

    Parameters
    ----------
    p, p_out, d : ndarray
        Reduced source pmf, full source pmf, reduced square distortion (nats).
    D, Gamma : float
        Budgets (nats for the KL divergences).
    divergence : str or Divergence
    ground : ndarray or None
        Ground cost (``wasserstein``).
    raw : RawSolution
        The solver's point; ``raw.slope`` is the distortion multiplier.
    potentials : ndarray, optional
        Potentials ``f`` from the solver (e.g. minus the conic multipliers of the
        source marginals): one more lower-bound candidate.
    transport : FixedOutputSolution, optional
        A Sinkhorn solution (``Gamma = 0``): its entropic-dual bound is a candidate and
        its doubled-multiplier coupling a repair partner.
    safe : callable, optional
        ``safe() -> (channel, distortion)``, see :func:`safe_channel` (cache it).
    """
    partner = None if transport is None else (lambda: sinkhorn_partner(p, p_out, d, transport))
    W, distortion, perception, note = repair_perception(
        p, p_out, d, raw.channel, D, Gamma, divergence, ground, safe=safe, partner=partner)
    slope = float(raw.slope) if raw.slope is not None and np.isfinite(raw.slope) else 0.0
    if W is None:
        upper = math.inf
        W, distortion = repair_channel(p, d, raw.channel)
    elif np.all(W == W[0]):
        # Identical rows: Y is independent of X and I(X;Y) = 0 exactly (evaluating
        # q = p W in float64 would leave a rounding residue).
        upper = 0.0
    else:
        upper = channel_mutual_information(p, W)
    lower = candidate_lower_bound(p, p_out, d, D, Gamma, slope, [raw.output_pmf, p @ W],
                                  divergence, ground)
    if potentials is not None:
        lower = max(lower, perception_lower_bound(p, p_out, d, D, Gamma, max(slope, 0.0),
                                                  potentials, divergence, ground))
    if transport is not None:
        lower = max(lower, sinkhorn_lower_bound(p, p_out, d, D, transport))
    # R(D, Gamma) >= 0; a lower bound above the upper one by float rounding only is the
    # same number computed twice: report them equal.
    lower = max(lower, 0.0)
    if upper < lower <= upper + ROUNDING * (1.0 + abs(upper)):
        lower = upper
    return PerceptionCertificate(W, distortion, Certificate(upper=upper, lower=lower), slope,
                                 perception, note)
