r"""Certificates of the perfect-perception rate ``R(D, 0)``, proven for every solver.

With ``q = p~`` fixed, ``R(D, 0) = min {KL(J || p~ p~^T) : J in Pi(p~, p~), <J, d'> <= D'}``
(shifted data, :mod:`rdconvex.rigorous`).

*Upper bound.* The solver's joint (Sinkhorn's coupling or a conic program's ``J``) is
made a float coupling ``K``: clipped, zero on forbidden pairs and on outputs of
probability 0, scaled toward the marginals in float64. The certificate is about
``J' = round(K)``, Altschuler–Weed–Rigollet's rounding to the *exact* marginals
``(p~, p~)`` that the checker of docs/certificate-format.md performs in ball
arithmetic; :func:`rdconvex.certify.perception_bounds.coupling_bounds` encloses its
distortion and ``KL(J' || p~ p~^T)``. If the distortion is not proven ``<= D'`` the
coupling is mixed with a partner of smaller distortion (the coupling at a larger
multiplier, the identity when ``d(x, x)`` is each row's minimum, an optimal-transport
plan of ``p`` to itself) by a weight that proves it. The rounding's rank-one correction
would put mass on forbidden pairs, so with forbidden pairs the columns that contain one
are first made to overflow (a ``2^-36`` share of each row moved to them from the other
columns), so that ``round`` scales them down to exact marginals and leaves them no
deficit. A coupling with one entry per row, ``p_x (1 + 2^-30)`` on a permutation of
equal weights (the identity), rounds exactly to ``diag(p~)``.

*Lower bound.* The entropic-OT dual at ``(lam, f, g)``
(:func:`~rdconvex.certify.perception_bounds.entropic_dual_bound`), from Sinkhorn
potentials (every multiplier a Sinkhorn root search evaluated, or one scaling at a
conic solver's slope), the constant shift of ``f`` chosen so the bound is tight.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import flint
import numpy as np
from scipy.special import logsumexp

from ..iterative.sinkhorn import scale_to_marginals
from ..numerics import min_distortion_channel, normalise_rows
from ..results import Certificate
from ..rigorous import PRECISION, ShiftedProblem, upper_end
from ..solvers import get_solver
from .perception_bounds import (
    CouplingBounds,
    Rounded,
    cost_upper,
    coupling_bounds,
    entropic_dual_bound,
    excess_upper,
    pmf_enclosure,
)

#: Share of each row moved onto the columns with a forbidden pair (see the docstring).
FORBIDDEN_SHIFT = 2.0 ** -36
#: Over-fill of the identity coupling, so that ``round`` only scales its rows.
IDENTITY_OVERFILL = 2.0 ** -30


class DualCandidate(NamedTuple):
    """A point of the entropic-OT dual: multiplier and potentials (``g`` over all
    outputs)."""

    lam: float
    f: np.ndarray
    g: np.ndarray


class PerfectPoint(NamedTuple):
    """A certified ``R(D, 0)`` point (nats, reduced rows): the stored coupling ``K``
    (whose rounding the upper bound is about), its rows as a channel, the distortion
    estimate (original units), the certificate and the dual point of the lower bound
    (None if none) with the value it proves, and a note on any repair."""

    coupling: np.ndarray
    channel: np.ndarray
    distortion: float
    certificate: Certificate
    dual: DualCandidate | None
    dual_value: float
    note: str


def conditioning(problem: ShiftedProblem) -> float:
    """The largest finite shifted distortion (1 if none): Sinkhorn and the conic
    programs work on ``d' / scale``."""
    finite = problem.excess[np.isfinite(problem.excess)]
    top = float(finite.max()) if finite.size else 0.0
    return top if top > 0 else 1.0


def float_pmfs(problem: ShiftedProblem, p_out: np.ndarray):
    """``(p, p_out)`` divided by their float total (targets of the float work)."""
    total = math.fsum(problem.p.tolist())
    return problem.p / total, p_out / total


def prepare_coupling(problem: ShiftedProblem, p_out: np.ndarray, joint) -> np.ndarray:
    """A float coupling near ``joint``: finite, ``>= 0``, zero on forbidden pairs and on
    outputs with ``p_out = 0``, rows and columns scaled toward the float pmfs."""
    K = np.array(joint, dtype=float, copy=True)
    K[~np.isfinite(K)] = 0.0
    np.clip(K, 0.0, None, out=K)
    K[~np.isfinite(problem.excess)] = 0.0
    K[:, p_out <= 0] = 0.0
    if not K.any():
        return K  # the zero coupling: round() gives the independent coupling exactly
    a, b = float_pmfs(problem, p_out)
    empty = K.sum(axis=1) <= 0
    if np.any(empty):  # e.g. a row of subnormal probability that a solver left empty
        K[empty] = a[empty, None] * min_distortion_channel(problem.excess[empty])
    return scale_to_marginals(K, a, b)


def identity_coupling(problem: ShiftedProblem, p_out: np.ndarray, support) -> np.ndarray | None:
    """``p_x (1 + 2^-30)`` on the diagonal, when ``d(x, x)`` is each row's minimum (its
    rounding is ``diag(p~)`` exactly: distortion 0); else None."""
    rows = np.arange(problem.p.size)
    if not np.all(problem.excess[rows, support] == 0.0):
        return None
    K = np.zeros(problem.excess.shape)
    K[rows, support] = problem.p * (1.0 + IDENTITY_OVERFILL)
    return K


def _is_overfull_permutation(problem: ShiftedProblem, p_out: np.ndarray, K) -> bool:
    """One positive entry per row, on distinct columns of equal weight, every row
    proven over-full: ``round`` then scales the rows to exact marginals and stops."""
    nonzero = K > 0
    if not np.all(nonzero.sum(axis=1) == 1) or np.any(nonzero.sum(axis=0) > 1):
        return False
    columns = np.argmax(nonzero, axis=1)
    if np.any(p_out[columns] != problem.p) or np.count_nonzero(p_out) != problem.p.size:
        return False
    _, a_hi = pmf_enclosure(problem, problem.p)
    return bool(np.all(K[np.arange(K.shape[0]), columns] > a_hi))


def _permutation_bounds(problem: ShiftedProblem, K) -> CouplingBounds:
    """Bounds of an over-full permutation coupling: ``J' = diag(p~)`` up to the
    permutation, rate ``H(p~)``, distortion ``sum p~_x d'(x, sigma(x))``."""
    a_lo, a_hi = pmf_enclosure(problem, problem.p)
    lo, hi = np.zeros(K.shape), np.zeros(K.shape)
    rows, cols = np.arange(K.shape[0]), np.argmax(K > 0, axis=1)
    lo[rows, cols], hi[rows, cols] = a_lo, a_hi
    none = np.zeros(K.shape[0], bool)
    rounded = Rounded(lo, hi, 0.0, none, np.zeros(K.shape[1], bool))
    distortion = cost_upper(rounded, excess_upper(problem))
    with flint.ctx.workprec(PRECISION):
        entropy = flint.arb(0)
        for w in problem.p.tolist():
            value = flint.arb(w) * problem.inv_total
            entropy -= value * value.log()
        rate = upper_end(entropy)
    estimate = float(np.sum(a_lo * problem.excess[rows, cols]))
    return CouplingBounds(rate, distortion, estimate)


def absorb_forbidden(problem: ShiftedProblem, p_out: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Move a :data:`FORBIDDEN_SHIFT` share of each row onto the columns that contain a
    forbidden pair, from the row's other columns (mixing in the coupling of ``p`` with
    itself on the allowed pairs first where a row has too little there), so that
    ``round`` scales those columns to exact marginals (module docstring)."""
    live = p_out > 0
    forbidden = ~np.isfinite(problem.excess) & live[None, :]
    if not forbidden.any():
        return K
    F = forbidden.any(axis=0)
    N = live & ~F
    if not N.any():
        return K  # the rounding may reach a forbidden pair: the bound will say so
    need = 2.0 * FORBIDDEN_SHIFT * K[:, F].sum(axis=1)
    have = K[:, N].sum(axis=1)
    if np.any(have < 2.0 * need):
        a, b = float_pmfs(problem, p_out)
        allowed = np.where(np.isfinite(problem.excess), 0.0, np.inf)
        spread = get_solver("sinkhorn", task="perfect_perception").scale(a, b, allowed, 0.0)
        M = np.exp(spread.log_coupling)
        M_have = M[:, N].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            eta = float(np.max(np.where(M_have > 0, (4.0 * need - have) / M_have, 0.0)))
        eta = min(max(eta, 0.0) * 2.0, 1.0)
        K = (1.0 - eta) * K + eta * M
        need = 2.0 * FORBIDDEN_SHIFT * K[:, F].sum(axis=1)
        have = K[:, N].sum(axis=1)
    K = K.copy()
    K[:, F] *= 1.0 + 2.0 * FORBIDDEN_SHIFT
    with np.errstate(over="ignore"):  # need / have overflows for a subnormal have: keep 0
        keep = np.clip(1.0 - need / np.where(have > 0, have, 1.0), 0.0, 1.0)
    K[:, N] *= keep[:, None]
    return K


def perfect_bounds(problem: ShiftedProblem, p_out: np.ndarray, K: np.ndarray):
    """``(stored coupling, bounds)``: the float coupling the certificate stores (``K``
    after :func:`absorb_forbidden`) and the proven bounds of its rounding."""
    if _is_overfull_permutation(problem, p_out, K):
        return K, _permutation_bounds(problem, K)
    stored = absorb_forbidden(problem, p_out, K)
    return stored, coupling_bounds(problem, p_out, stored)


def _budget(D_excess) -> float:
    """The largest float proven ``<= D'``."""
    value = float(D_excess.lower()) if D_excess.is_finite() else 0.0
    return math.nextafter(value, -math.inf) if value > 0 else 0.0


def mix_to_budget(bound: Callable, K, partner, budget: float, current=None):
    """``(weight, stored, bounds)`` for the mixture ``(1 - t) K + t partner`` with the
    smallest ``t`` found (a guess from the two bounds, then growing) whose rounded
    distortion is proven ``<= budget``; None if even the partner fails."""
    stored, bounds = current if current is not None else bound(K)
    if bounds.distortion_excess <= budget:
        return 0.0, stored, bounds
    p_stored, p_bounds = bound(partner)
    if not p_bounds.distortion_excess <= budget:
        return None
    high, low = bounds.distortion_excess, p_bounds.distortion_excess
    guess = (high - budget) / (high - low) if math.isfinite(high) and high > low else 1.0
    t, step = min(1.0, guess * (1.0 + 1e-9) + 1e-15), max(1e-15, 1e-9 * guess)
    while t < 1.0:
        stored, bounds = bound((1.0 - t) * K + t * partner)
        if bounds.distortion_excess <= budget:
            return t, stored, bounds
        t, step = t + step, step * 8.0
    return 1.0, p_stored, p_bounds


def dual_from_potentials(problem: ShiftedProblem, p_out: np.ndarray, lam: float, f, g,
                         D_float: float) -> tuple[float, DualCandidate]:
    """The candidate with ``f`` shifted so that the bound's mass term is 1 (its best
    constant shift), with its float value."""
    a, b = float_pmfs(problem, p_out)
    live = b > 0
    g = np.where(live, np.asarray(g, dtype=float), 0.0)
    finite = np.isfinite(problem.excess)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = np.where(finite, -lam * np.where(finite, problem.excess, 0.0), -np.inf)
        logits = (np.log(a) + f)[:, None] + np.where(live, np.log(b) + g, -np.inf)[None, :] \
            + kernel
    mass = float(logsumexp(logits))
    if not np.isfinite(mass):
        return -math.inf, DualCandidate(lam, np.asarray(f, float), g)
    f = np.asarray(f, dtype=float) - mass
    return float(a @ f + b[live] @ g[live] - lam * D_float), DualCandidate(lam, f, g)


def best_dual(problem: ShiftedProblem, p_out: np.ndarray, D_excess,
              candidates: list[DualCandidate], keep: int = 3):
    """``(value, candidate)``: the largest proven entropic-OT bound among the ``keep``
    candidates with the largest float values."""
    D_float = float(D_excess.mid())
    scored = []
    for c in candidates:
        if np.all(np.isfinite(c.f)) and np.isfinite(c.lam) and c.lam >= 0:
            scored.append(dual_from_potentials(problem, p_out, c.lam, c.f, c.g, D_float))
    scored.sort(key=lambda item: -item[0])
    best_value, best = -math.inf, None
    for _, candidate in scored[:keep]:
        value = entropic_dual_bound(problem, p_out, D_excess, candidate.lam, candidate.f,
                                    candidate.g)
        if value > best_value:
            best_value, best = value, candidate
    return best_value, best


def scaling_candidate(problem: ShiftedProblem, p_out: np.ndarray, lam: float) -> DualCandidate:
    """Potentials of one Sinkhorn scaling of ``(p, p)`` at multiplier ``lam``."""
    a, b = float_pmfs(problem, p_out)
    scale = conditioning(problem)
    sol = get_solver("sinkhorn", task="perfect_perception").scale(
        a, b, problem.excess / scale, lam * scale, tol=1e-14, max_iter=5000)
    return DualCandidate(lam, sol.f, sol.g)


def certify_perfect(problem: ShiftedProblem, p_out: np.ndarray, support: np.ndarray, D: float,
                    joint, candidates: list[DualCandidate],
                    partners: tuple[Callable, ...] = ()) -> PerfectPoint:
    """Certify a returned joint for ``R(D, 0)`` (module docstring). ``partners`` are
    called in turn (only if needed) for couplings of smaller distortion."""
    D_excess = problem.excess_of(D)
    budget = _budget(D_excess)
    K = prepare_coupling(problem, p_out, joint)
    current = perfect_bounds(problem, p_out, K)
    note = ""
    if not current[1].distortion_excess <= budget:
        identity = identity_coupling(problem, p_out, support)
        found = None
        for make in (*partners, lambda: identity):
            partner = make()
            if partner is None:
                continue
            partner = partner if partner is identity else prepare_coupling(problem, p_out, partner)
            found = mix_to_budget(lambda M: perfect_bounds(problem, p_out, M), K, partner,
                                  budget, current)
            if found is not None:
                break
        if found is None:
            note = ("upper bound not certified: no coupling of p with itself found whose "
                    f"rounded distortion is proven <= D (estimate {current[1].distortion_estimate:.6g} "
                    f"above D_min)")
            stored, bounds = current[0], CouplingBounds(math.inf, current[1].distortion_excess,
                                                        current[1].distortion_estimate)
        else:
            t, stored, bounds = found
            note = f"repaired: mixed with a coupling of smaller distortion (weight {t:.3g})"
    else:
        stored, bounds = current
    value, dual = best_dual(problem, p_out, D_excess, candidates)
    lower = max(value, 0.0)
    upper = bounds.rate
    if stored.any():
        channel = normalise_rows(stored.copy(), min_distortion_channel(problem.excess))
    else:  # the zero coupling stands for p p^T: every row is p
        channel = np.tile(float_pmfs(problem, p_out)[1], (problem.p.size, 1))
    distortion = bounds.distortion_estimate + float(problem.d_min.mid())
    return PerfectPoint(stored, channel, distortion, Certificate(upper=upper, lower=lower),
                        dual, value, note)
