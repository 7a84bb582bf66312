"""Input validation shared by every public entry point (one place, one wording)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import (
    InvalidArgumentError,
    InvalidChannelError,
    InvalidDistortionError,
    InvalidDistributionError,
)

#: Accepted ``units`` and the factor that converts nats into them.
UNITS = {"nats": 1.0, "bits": 1.0 / math.log(2.0)}

#: How far from 1 a probability vector may sum before ``normalize=True`` is required.
SUM_TOL = 1e-9


def check_units(units) -> str:
    if not isinstance(units, str) or units not in UNITS:
        raise InvalidArgumentError(
            f"units={units!r} is not supported; use one of {sorted(UNITS)}."
        )
    return units


def as_float_array(value, name: str, error, copy: bool = True) -> np.ndarray:
    """``value`` as a float64 array (a copy unless ``copy`` is False and it already is
    one), or ``error`` naming ``name`` when it is not numeric."""
    if isinstance(value, (str, bytes)):
        raise error(f"{name} must be numeric, got the string {value!r}.")
    try:
        arr = np.array(value, dtype=float, copy=True if copy else None)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} must be an array of numbers: {exc}.") from None
    return arr


def check_pmf(p, name: str = "p_x", normalize: bool = False) -> np.ndarray:
    """Validate a probability vector and return it as a float64 copy."""
    p = as_float_array(p, name, InvalidDistributionError)
    if p.ndim != 1:
        raise InvalidDistributionError(
            f"{name} must be a 1-D probability vector, got an array of shape {p.shape}."
        )
    if p.size == 0:
        raise InvalidDistributionError(f"{name} is empty; give at least one probability.")
    if not np.all(np.isfinite(p)):
        raise InvalidDistributionError(
            f"{name} contains NaN or inf at index {int(np.flatnonzero(~np.isfinite(p))[0])}; "
            "every probability must be a finite number."
        )
    if np.any(p < 0):
        i = int(np.flatnonzero(p < 0)[0])
        raise InvalidDistributionError(
            f"{name} has a negative entry {p[i]!r} at index {i}; probabilities must be >= 0."
        )
    total = float(p.sum())
    if total <= 0:
        raise InvalidDistributionError(f"{name} sums to 0; it needs positive mass.")
    if abs(total - 1.0) > SUM_TOL:
        if not normalize:
            raise InvalidDistributionError(
                f"{name} sums to {total!r}, not 1; fix the values or pass normalize=True "
                "to rescale it."
            )
    return p / total


def check_distortion(d, n: int, name: str = "d", copy: bool = True) -> np.ndarray:
    """Validate an ``n x m`` distortion matrix with entries in ``[0, +inf]`` (a float64
    copy, or the array itself when ``copy`` is False and no conversion is needed)."""
    d = as_float_array(d, name, InvalidDistortionError, copy)
    if d.ndim != 2 or d.shape[0] != n or d.shape[1] == 0:
        raise InvalidDistortionError(
            f"{name} must be a 2-D array of shape (n, m) = ({n}, m) with m >= 1 "
            f"(one row per source symbol), got shape {d.shape}."
        )
    if np.any(np.isnan(d)):
        i, j = np.argwhere(np.isnan(d))[0]
        raise InvalidDistortionError(f"{name}[{i}, {j}] is NaN; distortions must be numbers.")
    if np.any(d < 0):
        i, j = np.argwhere(d < 0)[0]
        raise InvalidDistortionError(
            f"{name}[{i}, {j}] = {d[i, j]!r} is negative; distortions must lie in [0, inf] "
            "(shift the matrix by a row constant if it came from a score)."
        )
    return d


def check_rows_finite(d: np.ndarray, p: np.ndarray, name: str = "d") -> None:
    """A source symbol with positive probability needs at least one finite distortion."""
    bad = np.flatnonzero((p > 0) & ~np.any(np.isfinite(d), axis=1))
    if bad.size:
        raise InvalidDistortionError(
            f"row {int(bad[0])} of {name} has no finite entry, but that source symbol has "
            f"probability {p[bad[0]]!r}: every reconstruction is forbidden for it. "
            "Allow at least one output for it or give it probability 0."
        )


def check_scalar(value, name: str, *, minimum: float | None = None,
                 allow_inf: bool = False) -> float:
    """A real scalar, finite unless ``allow_inf``, and >= ``minimum`` when given."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise InvalidArgumentError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise InvalidArgumentError(f"{name}={value!r} is not finite; give a finite number.")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{name}={value!r} must be >= {minimum}.")
    return value


def check_channel(W, shape: tuple[int, int], name: str = "channel",
                  tol: float = SUM_TOL) -> np.ndarray:
    """Validate a row-stochastic matrix of the given shape (rows = inputs)."""
    W = as_float_array(W, name, InvalidChannelError)
    if W.shape != tuple(shape):
        raise InvalidChannelError(
            f"{name} must have shape {tuple(shape)} (rows = source symbols, columns = "
            f"outputs), got {W.shape}."
        )
    if not np.all(np.isfinite(W)):
        raise InvalidChannelError(f"{name} contains NaN or inf; entries must be probabilities.")
    if np.any(W < 0):
        i, j = np.argwhere(W < 0)[0]
        raise InvalidChannelError(f"{name}[{i}, {j}] = {W[i, j]!r} is negative.")
    sums = W.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > tol)
    if bad.size:
        raise InvalidChannelError(
            f"row {int(bad[0])} of {name} sums to {sums[bad[0]]!r}, not 1; each row must be a "
            "probability distribution over the outputs."
        )
    return W


def check_iteration_args(tol, max_iter) -> None:
    """The generic ``tol`` (>= 0) and ``max_iter`` (a positive integer), when given."""
    if tol is not None:
        check_scalar(tol, "tol", minimum=0.0)
    if max_iter is not None and (isinstance(max_iter, bool)
                                 or not isinstance(max_iter, (int, np.integer)) or max_iter < 1):
        raise InvalidArgumentError(f"max_iter={max_iter!r} must be a positive integer.")


def check_warm_start(warm_start, m: int):
    """``(slope, output_pmf)`` from a previous Result, a RawSolution or a pair, or
    ``(None, None)``; an output pmf of the wrong length is a typed error."""
    if warm_start is None:
        return None, None
    if isinstance(warm_start, tuple) and len(warm_start) == 2:
        slope, q = warm_start
    else:
        slope = getattr(warm_start, "slope", None)
        q = getattr(warm_start, "output_pmf", None)
        if slope is None and q is None:
            raise InvalidArgumentError(
                f"warm_start must be a previous Result (or a pair (slope, output_pmf)), got "
                f"{type(warm_start).__name__}.")
    try:
        slope = None if slope is None else float(slope)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"warm_start slope {slope!r} is not a number.") from None
    if slope is not None and not (math.isfinite(slope) and slope > 0):
        slope = None
    if q is not None:
        q = as_float_array(q, "warm_start output_pmf", InvalidArgumentError)
        if q.shape != (m,) or not np.all(np.isfinite(q)) or np.any(q < 0) or q.sum() <= 0:
            raise InvalidArgumentError(
                f"warm_start output_pmf must be a nonnegative vector of length {m} with "
                f"positive mass, got shape {q.shape}; pass a Result of this problem.")
    return slope, q
