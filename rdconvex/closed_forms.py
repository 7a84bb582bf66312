"""Closed forms used as references (nats unless ``units`` says otherwise)."""

from __future__ import annotations

import numpy as np
from scipy.special import entr

from ._validation import UNITS, check_units


def binary_entropy(p) -> np.ndarray | float:
    """``h(p) = -p log p - (1-p) log(1-p)`` in nats (0 at p in {0, 1})."""
    p = np.asarray(p, dtype=float)
    value = entr(p) + entr(1.0 - p)
    return float(value) if value.ndim == 0 else value


def binary_hamming_rate(p: float, D: float, units: str = "nats") -> float:
    """``R(D) = h(p) - h(D)`` for ``D < min(p, 1-p)``, else 0 (Cover & Thomas Thm 10.3.1)."""
    scale = UNITS[check_units(units)]
    if D >= min(p, 1.0 - p):
        return 0.0
    return float(binary_entropy(p) - binary_entropy(D)) * scale


def log_loss_rate(p_x, D: float, units: str = "nats") -> float:
    """``R_l(D) = max(H(X) - D, 0)`` for ``D >= 0`` ((9)-(10)), ``D`` in ``units``."""
    scale = UNITS[check_units(units)]
    H = float(np.sum(entr(np.asarray(p_x, dtype=float)))) * scale
    return max(H - D, 0.0)


# ---------------------------------------------------------------------------
# Section IV: Example 1 (binary source, Hamming distortion) and the Gaussian source
# ---------------------------------------------------------------------------


def example1_mu(lam) -> np.ndarray | float:
    """Example 1 (24): ``mu(0, lam) = mu(1, lam) = 1 / (1 + e^-lam)`` (both symbols)."""
    lam = np.asarray(lam, dtype=float)
    value = 1.0 / (1.0 + np.exp(-lam))
    return float(value) if value.ndim == 0 else value


def example1_interval_start(p: float) -> float:
    """Example 1: ``I = [log((1-p)/p), inf)`` for ``X ~ Ber(p)``, ``p <= 1/2`` (the
    paper's case); by symmetry ``log(max(p,1-p) / min(p,1-p))`` for any ``p`` in
    ``(0, 1)``. Below it the coupled ``Q_Y = Ber(q)`` would need ``q < 0``, with
    ``q = (p (1 + e^lam) - 1) / (e^lam - 1)``."""
    small = min(p, 1.0 - p)
    return float(np.log((1.0 - small) / small))


def example1_slope(D) -> np.ndarray | float:
    """Example 1: the maximiser of (26), ``lam* = log((1-D)/D)`` (``0 < D < 1/2``)."""
    D = np.asarray(D, dtype=float)
    value = np.log((1.0 - D) / D)
    return float(value) if value.ndim == 0 else value


def example1_translated_range(p: float, lam0: float, units: str = "nats") -> tuple:
    """Example 1: the range of (32), ``Dt in [log(1+e^-lam0), lam0 p + log(1+e^-lam0)]``
    (the image of ``D in [0, p]`` under (31)), in ``units``."""
    scale = UNITS[check_units(units)]
    offset = float(np.log1p(np.exp(-lam0)))
    return offset * scale, (lam0 * p + offset) * scale


def example1_translated_rate(p: float, lam0: float, Dt, units: str = "nats") -> float:
    """Example 1 (32): ``R_ll(Dt) = h(p) - h((Dt - log(1+e^-lam0)) / lam0)`` for the
    translated problem ``P_X|U = P^lam0_X|Y`` (29), on :func:`example1_translated_range`.
    ``Dt`` and the rate are in ``units``; ``p <= 1/2``."""
    scale = UNITS[check_units(units)]
    D = (Dt / scale - float(np.log1p(np.exp(-lam0)))) / lam0
    return float(binary_entropy(p) - binary_entropy(D)) * scale


def gaussian_rate(variance: float, D, units: str = "nats") -> float:
    """``R(D) = max(0, 1/2 log(sigma^2 / D))``: Gaussian source, squared error (Cover &
    Thomas Thm 10.3.2)."""
    scale = UNITS[check_units(units)]
    return max(0.0, 0.5 * float(np.log(variance / D))) * scale


def discretised_gaussian(num: int, width: float = 4.0, variance: float = 1.0) -> tuple:
    """A Gaussian ``N(0, variance)`` discretised on ``num`` equally spaced points of
    ``[-width sigma, width sigma]``: ``p_i = P(X in cell i)`` with cells split at the
    midpoints and the two tails lumped into the end points. Returns
    ``(points, p)``."""
    from scipy.stats import norm

    sigma = float(np.sqrt(variance))
    points = np.linspace(-width * sigma, width * sigma, int(num))
    edges = np.r_[-np.inf, 0.5 * (points[1:] + points[:-1]), np.inf]
    p = np.diff(norm.cdf(edges, scale=sigma))
    return points, p / p.sum()


def lattice_max_entropy(spacing: float, D: float, terms: int = 4000) -> float:
    """The largest entropy (nats) of a random variable ``Z`` on the lattice
    ``spacing * Z`` with ``E Z^2 <= D``: the discrete Gaussian ``P(z) ∝ exp(-t z^2)``
    with ``t`` solving ``E Z^2 = D`` (sum truncated at ``|z| <= terms * spacing``).

    Used in the Shannon lower bound for a lattice source with squared error,
    ``R(D) >= H(X) - lattice_max_entropy(h, D)``, valid whenever ``X - Y`` lives on
    the lattice (source and reproduction on the same grid): ``I(X;Y) = H(X) -
    H(X - Y | Y) >= H(X) - H(X - Y)``.
    """
    from scipy.optimize import brentq
    from scipy.special import logsumexp

    z = spacing * np.arange(-terms, terms + 1)

    def log_weights(t):
        logw = -t * z ** 2
        return logw - logsumexp(logw)

    def second_moment(t):
        return float(np.exp(log_weights(t)) @ z ** 2)

    t = brentq(lambda t: second_moment(t) - D, 1e-12 / spacing ** 2, 1e4 / spacing ** 2,
               xtol=1e-15, rtol=1e-14)
    logw = log_weights(t)
    return float(-(np.exp(logw) @ logw))
