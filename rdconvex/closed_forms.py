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
