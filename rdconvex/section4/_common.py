"""What every Section IV module shares: its tolerance and its input checks (its error,
:class:`~rdconvex.errors.NoTranslationError`, is defined with the others)."""

from __future__ import annotations

import numpy as np

from .._validation import check_distortion, check_pmf, check_rows_finite, check_scalar
from ..errors import InvalidArgumentError

#: Default membership tolerance: (13) holds when ``max_y |sum_x mu_x V[x,y] - 1| <= TOL``
#: and ``p`` is coupled when ``min_Q sum_x |(A Q)_x - p_x| <= TOL`` (both dimensionless).
TOL = 1e-10


def validated(p_x, d, normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(p, d)`` checked: a pmf, an ``n x m`` distortion, a finite entry per used row."""
    p = check_pmf(p_x, "p_x", normalize=normalize)
    d = check_distortion(d, p.size, "d")
    check_rows_finite(d, p, "d")
    return p, d


def reduced(p: np.ndarray, d: np.ndarray):
    """The problem on the symbols with ``p_x > 0`` (they alone determine ``R(D)``)."""
    support = np.flatnonzero(p > 0)
    return p[support], d[support], support


def expand(values: np.ndarray, support: np.ndarray, n: int) -> np.ndarray:
    """``values`` on ``support`` as a length-``n`` vector, 0 elsewhere."""
    full = np.zeros(n)
    full[support] = values
    return full


def check_lam(lam, name: str = "lam") -> float:
    """A finite ``lam > 0``."""
    lam = check_scalar(lam, name)
    if lam <= 0:
        raise InvalidArgumentError(f"{name}={lam!r} must be > 0 (V = exp(-lam d) needs a "
                                   "positive exponent).")
    return lam


def check_tol(tol, name: str = "tol") -> float:
    """A finite ``tol >= 0``."""
    return check_scalar(tol, name, minimum=0.0)
