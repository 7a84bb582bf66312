r"""The support-function lower bound on ``R(D, Gamma)``, evaluated with outward rounding.

For any slope ``s >= 0`` and potentials ``f`` (one per reduced source row),

.. math::
    R(D, \Gamma) \ge \sum_x \tilde p_x f_x - s D' - \sigma_\Gamma(c),\qquad
    c_y = \log \sum_x \tilde p_x e^{f_x - s d'(x,y)},\qquad
    \sigma_\Gamma(c) = \max\{ c^\top q : q \in \Delta,\ \gamma(\tilde p, q) \le \Gamma \}.

Proof: for a fixed output pmf ``q`` the entropic-OT dual of
``min {KL(J || p~ q^T) : J in Pi(p~, q), <J, d'> <= D'}`` with the output potential
chosen pointwise (``g_y = -c_y``) is ``sum p~ f - s D' - q^T c``; the minimum over the
divergence ball of a maximum is at least the maximum of the minimum.

``sigma_Gamma`` is increasing in ``c``, so it is bounded at a proven upper enclosure of
``c`` (:func:`column_log_sums_upper`), by the value of a Lagrangian dual point of its
defining problem, evaluated in ``arb``: any dual point is an upper bound, so the float
search that picks it (:func:`support_multipliers`) decides only how tight it is.

===============  ==================================================================
divergence       dual value (``b = p~``, any multipliers in the stated domain)
===============  ==================================================================
``tv``           ``c_max - t + 2 t Gamma + sum_y b_y max(c_y - c_max + t, -t)``, ``t >= 0``
``kl``           ``alpha + eta Gamma - eta + eta log eta - eta sum_y b_y log(alpha - c_y)``
``reverse_kl``   ``eta Gamma + eta log sum_y b_y e^{c_y / eta}``, ``eta > 0``
``hellinger``    ``alpha - eta (1 - Gamma) + eta^2 / 4 sum_y b_y / (alpha - c_y)``
``chi2``         ``alpha + eta Gamma + sum_y max_{q >= 0} [(c_y - alpha) q - eta (q - b_y)^2 / b_y]``
``wasserstein``  ``eta Gamma + sum_x b_x max_y (c_y - eta c(x, y))``, ``eta >= 0``
===============  ==================================================================

(``alpha > c_y`` where ``b_y > 0`` and ``alpha >= c_y`` elsewhere; ``reverse_kl`` and
``chi2`` force ``q_y = 0`` where ``b_y = 0``.) Never more than ``max c`` over the outputs
``q`` may use, which is also returned when it is smaller.
"""

from __future__ import annotations

import math

import flint
import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import logsumexp

from ..rigorous import PRECISION, ShiftedProblem, arb_dot, lower_end, upper_end
from .perception_bounds import (
    down,
    exp_upper,
    exponents_upper,
    mul_upper,
    sum_upper,
    up,
)

#: Divergences whose ball forces ``q_y = 0`` where ``p_y = 0``.
NEEDS_SUPPORT = ("reverse_kl", "chi2")


def column_log_sums_upper(problem: ShiftedProblem, f: np.ndarray, slope: float) -> np.ndarray:
    """Floats ``>= c_y = log sum_x p~_x e^{f_x - s d'(x,y)}`` (``-inf`` for no mass)."""
    terms = mul_upper(problem.p[:, None],
                      exp_upper(exponents_upper(f, np.zeros(problem.excess.shape[1]),
                                                problem, slope)))
    sums = sum_upper(terms, 0)
    c = np.full(sums.size, -np.inf)
    with flint.ctx.workprec(PRECISION):
        for y in np.flatnonzero(sums > 0):
            c[y] = upper_end((flint.arb(float(sums[y])) * problem.inv_total).log())
    return c


def _bounded_argmin(fun, lo, hi):
    """The best point of a bounded golden-section search and its two ends."""
    res = minimize_scalar(fun, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12 * max(1.0, abs(hi - lo)), "maxiter": 500})
    points = [lo, hi, float(res.x)]
    values = [fun(x) for x in points]
    values = [v if np.isfinite(v) or v == -math.inf else math.inf for v in values]
    return points[int(np.argmin(values))]


def _alpha_floor(b, c) -> float:
    finite = np.isfinite(c)
    return float(np.max(c[finite])) if np.any(finite) else 0.0


def support_multipliers(name: str, b: np.ndarray, c: np.ndarray, Gamma: float,
                        ground=None) -> tuple:
    """A good dual point of ``sigma_Gamma(c)`` (float search; ``b`` = the float pmf)."""
    pos = b > 0
    if name == "tv":
        c_max = float(np.max(c[np.isfinite(c)]))
        gaps = (c_max - c[np.isfinite(c)]) / 2.0
        candidates = np.unique(np.concatenate([[0.0], gaps]))
        shifted = np.where(np.isfinite(c), c - c_max, -np.inf)
        values = [c_max - t + 2 * t * Gamma + float(b @ np.maximum(shifted + t, -t))
                  for t in candidates]
        return (float(candidates[int(np.argmin(values))]),)
    if name == "wasserstein":
        allowed = np.isfinite(ground) & np.isfinite(c)[None, :]
        rows = b > 0

        def value(eta):
            gain = np.where(allowed, c[None, :] - eta * np.where(allowed, ground, 0.0), -np.inf)
            return eta * Gamma + float(b[rows] @ gain[rows].max(axis=1))

        positive = ground[allowed & (ground > 0)]
        finite = c[np.isfinite(c)]
        spread = float(finite.max() - finite.min()) if finite.size else 0.0
        hi = spread / float(positive.min()) if positive.size and spread > 0 else 1.0
        return (_bounded_argmin(value, 0.0, max(hi, 1e-12)),)
    if name == "reverse_kl":
        log_b, cc = np.log(b[pos]), c[pos]
        return (math.exp(_bounded_argmin(
            lambda u: math.exp(u) * (Gamma + float(logsumexp(log_b + cc / math.exp(u)))),
            -40.0, 40.0)),)
    alpha_min = _alpha_floor(b, c)
    if name in ("kl", "hellinger"):
        cc, bb = c[pos], b[pos]

        def alpha_eta(u):
            alpha = alpha_min + math.exp(u)
            gaps = alpha - cc
            if not np.all(gaps > 0):
                return alpha, 0.0, math.inf
            if name == "kl":
                eta = math.exp(float(bb @ np.log(gaps)) - Gamma)
                return alpha, eta, alpha - eta
            S = float(np.sum(bb / gaps))
            eta = 2.0 * (1.0 - Gamma) / S
            return alpha, eta, alpha - (1.0 - Gamma) ** 2 / S

        return alpha_eta(_bounded_argmin(lambda u: alpha_eta(u)[2], -40.0, 40.0))[:2]
    # chi2
    bb, cc = b[pos], c[pos]
    finite = np.isfinite(cc)

    def chi2_value(x):
        eta, alpha = math.exp(x[0]), x[1]
        gain = np.where(finite, cc - alpha, -np.inf)
        safe = np.where(finite, gain, 0.0)
        inner = np.where(bb + bb * gain / (2 * eta) >= 0, bb * safe + bb * safe ** 2 / (4 * eta),
                         -eta * bb)
        return alpha + eta * Gamma + float(np.sum(inner))

    mean = float(bb[finite] @ cc[finite]) if np.all(finite) else alpha_min
    var = float(bb[finite] @ (cc[finite] - mean) ** 2) if np.all(finite) else 1.0
    start = np.array([math.log(math.sqrt(max(var, 1e-300) / (4.0 * Gamma))), mean])
    res = minimize(chi2_value, start, method="Nelder-Mead",
                   options={"xatol": 1e-13, "fatol": 1e-15, "maxiter": 4000})
    best = res.x if chi2_value(res.x) <= chi2_value(start) else start
    return math.exp(float(best[0])), float(best[1])


def _dual_value(name: str, problem: ShiftedProblem, p_out, c, Gamma: float, multipliers,
                ground) -> flint.arb:
    """The dual value (module table) at ``multipliers``, as a ball (``+inf`` outside the
    domain)."""
    inv = problem.inv_total
    infinite = flint.arb("inf")
    live = [(y, flint.arb(w) * inv, float(c[y])) for y, w in enumerate(p_out.tolist()) if w > 0]
    if name == "tv":
        (t,) = multipliers
        c_max = float(np.max(c[np.isfinite(c)]))
        with np.errstate(invalid="ignore"):
            gain = np.where(np.isfinite(c), up(up(c - c_max) + t), -t)
        gain = np.maximum(gain, -t)
        return c_max - flint.arb(t) + 2 * flint.arb(t) * Gamma + arb_dot(p_out, gain) * inv
    if name == "wasserstein":
        (eta,) = multipliers
        allowed = np.isfinite(ground) & np.isfinite(c)[None, :]
        with np.errstate(invalid="ignore"):
            gain = np.where(allowed, up(c[None, :] - down(eta * np.where(allowed, ground, 0.0))),
                            -np.inf)
        best = gain.max(axis=1)
        rows = p_out > 0
        if np.any(~np.isfinite(best[rows])):
            return infinite
        return flint.arb(eta) * Gamma + arb_dot(p_out[rows], best[rows]) * inv
    if name == "reverse_kl":
        (eta,) = multipliers
        eta = flint.arb(eta)
        mass = sum((b * (flint.arb(cy) / eta).exp() for _, b, cy in live if cy > -math.inf),
                   flint.arb(0))
        return eta * Gamma + eta * mass.log() if mass > 0 else infinite
    if name == "chi2":
        eta, alpha = (flint.arb(x) for x in multipliers)
        total = alpha + eta * Gamma
        for _, b, cy in live:
            if cy == -math.inf:
                total -= eta * b
                continue
            g = flint.arb(cy) - alpha
            total += -eta * b if g < -2 * eta else b * g + b * g * g / (4 * eta)
        return total
    alpha, eta = multipliers
    if not (eta > 0 if name == "kl" else eta >= 0) or not math.isfinite(eta):
        return infinite
    values = c.tolist()
    if any(cy >= alpha for _, _, cy in live) or any(
            values[y] > alpha for y in range(len(values)) if p_out[y] == 0):
        return infinite
    if any(cy == -math.inf for _, _, cy in live):
        return infinite  # q_y > 0 is forced where c_y = -inf: leave it to the trivial bound
    alpha_b, eta_b = flint.arb(alpha), flint.arb(eta)
    if name == "kl":
        logs = sum((b * (alpha_b - cy).log() for _, b, cy in live), flint.arb(0))
        return alpha_b + eta_b * Gamma - eta_b + eta_b * eta_b.log() - eta_b * logs
    S = sum((b / (alpha_b - cy) for _, b, cy in live), flint.arb(0))
    return alpha_b - eta_b * (1 - flint.arb(Gamma)) + eta_b * eta_b / 4 * S


def support_upper(name: str, problem: ShiftedProblem, p_out: np.ndarray, c: np.ndarray,
                  Gamma: float, ground=None) -> float:
    """A float ``>= sigma_Gamma(c)`` for the exact pmf ``p~`` (``c`` exact floats, e.g.
    the upper enclosure of :func:`column_log_sums_upper`)."""
    usable = (p_out > 0) if name in NEEDS_SUPPORT else np.ones(p_out.size, bool)
    finite = usable & np.isfinite(c)
    if not np.any(finite):
        return -math.inf
    trivial = float(np.max(c[finite]))
    if Gamma >= 1.0 and name in ("tv", "hellinger"):
        return trivial
    b = p_out / p_out.sum()
    cc = np.where(usable, c, -np.inf)
    try:
        multipliers = support_multipliers(name, b, cc, Gamma, ground)
        with flint.ctx.workprec(PRECISION):
            value = _dual_value(name, problem, p_out, cc, Gamma, multipliers, ground)
            bound = upper_end(value) if value.is_finite() else math.inf
    except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError):
        bound = math.inf
    return min(trivial, bound)


def support_lower_bound(problem: ShiftedProblem, p_out: np.ndarray, D_excess, slope: float,
                        f: np.ndarray, name: str, Gamma: float, ground=None) -> float:
    """A float ``<= sum p~ f - s D' - sigma_Gamma(c)`` (the module docstring): valid for
    every ``s >= 0`` (``inf`` only at ``D' = 0``) and every finite ``f``."""
    if not np.all(np.isfinite(f)) or not slope >= 0:
        return -math.inf
    if math.isinf(slope) and not (D_excess.is_exact() and D_excess == 0):
        return -math.inf
    sigma = support_upper(name, problem, p_out, column_log_sums_upper(problem, f, slope),
                          Gamma, ground)
    if not math.isfinite(sigma):
        return -math.inf
    with flint.ctx.workprec(PRECISION):
        value = arb_dot(problem.p, f) * problem.inv_total - flint.arb(sigma)
        if 0 < slope < math.inf:
            value -= flint.arb(slope) * D_excess
        return lower_end(value)
