r"""A certified envelope of the perfect-perception curve :math:`R(D, 0)`.

Every solve at a target ``D_i`` gives a certified point, :math:`R(D_i, 0) \le U_i`
(the rounded coupling's rate, its distortion proven ``<= D_i``), and a line: its
entropic optimal-transport dual point :math:`(\lambda_i, f, g)` proves
:math:`L_i \le R(D_i, 0)` with :math:`L(D) = A - \lambda_i (D - D_{\min})` affine in
``D``, so :math:`R(D, 0) \ge L_i - \lambda_i (D - D_i)` at *every* ``D``
(docs/perception.md, docs/certificate-format.md). ``R(., 0)`` is convex and
non-increasing, so a chord between two certified points is an upper bound between them,
the last point's rate an upper bound after it; at ``D >= D_independent`` the
independent coupling has rate exactly 0. Below the first point (the smallest
distortion any coupling of ``(p, p)`` reaches, up to the solver's accuracy) the upper
bound is ``+inf``.

The sandwich: solve where the gap between the chords and the lines is largest (a
segment end or a crossing of two lines), until it is at most ``eps``. Upper bounds
are rounded up, lower bounds down (ball arithmetic for every evaluation).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import flint
import numpy as np

from .._validation import check_scalar
from ..errors import InaccurateSolutionWarning, InvalidArgumentError
from ..certify.envelope import chord_values, line_hull, line_values, point_hull
from ..rigorous import PRECISION, in_bits, lower_end


@dataclass(frozen=True)
class PerceptionBand:
    """``lower(D) <= R(D, 0) <= upper(D)`` at every ``D`` (rate units of the problem).

    ``points``: rows ``(D, upper)`` (nats); ``lines``: rows ``(slope, intercept)`` (nats)
    meaning ``R(D, 0) >= intercept - slope D``; ``max_gap``: the largest
    ``upper - lower`` on ``[points[0, 0], inf)`` (``upper`` is ``+inf`` to the left of
    the first point)."""

    points: np.ndarray
    lines: np.ndarray
    max_gap: float
    eps: float
    solves: int
    units: str

    def upper(self, D):
        value = _upper(self.points, np.asarray(D, float))
        return value if self.units == "nats" else _bits(value, up=True)

    def lower(self, D):
        value = _lower(self.lines, np.asarray(D, float))
        return value if self.units == "nats" else _bits(value, up=False)

    def __repr__(self) -> str:
        return (f"PerceptionBand(D from {self.points[0, 0]:.6g}, {len(self.points)} points, "
                f"{len(self.lines)} lines, max gap {self.max_gap:.2e} {self.units} "
                f"(eps {self.eps:.1e}), {self.solves} solves)")


def _bits(value, up: bool):
    convert = np.vectorize(lambda v: in_bits(v, v)[1 if up else 0] if math.isfinite(v) else v)
    return convert(value)


def _upper(points: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Nats, rounded up: chords of the certified points' lower convex hull, flat after
    it, ``inf`` left of the first point."""
    vertices = point_hull(points[:, 0], points[:, 1])
    VE, VU = points[vertices, 0], points[vertices, 1]
    if VE.size < 2:
        value = np.full(D.shape, VU[0])
    else:
        index = np.searchsorted(VE, D, side="right") - 1
        i = np.clip(index, 0, VE.size - 2)
        chord = chord_values(VE[i], VU[i], VE[i + 1], VU[i + 1], D)
        value = np.where(index < VE.size - 1, chord, VU[-1])
    return np.where(D >= VE[0], value, np.inf)


def _lower(lines: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Nats, rounded down: the best line at ``D``, and 0."""
    if not len(lines):
        return np.zeros(D.shape)
    values = line_values(lines[:, :1], lines[:, 1:], D.reshape(1, -1).clip(0.0))
    return np.maximum(values.max(axis=0), 0.0).reshape(D.shape)


def _gap(points: np.ndarray, lines: np.ndarray) -> tuple[float, float]:
    """``(largest gap, where)`` on ``[first point, last point]``: the gap is piecewise
    linear with kinks at the hull's vertices and the lower envelope's breaks, so it
    peaks at one of them (a margin covers each break's float position)."""
    s, b = np.r_[lines[:, 0], 0.0], np.r_[lines[:, 1], 0.0]
    _, _, breaks = line_hull(s, b)
    D = np.unique(np.r_[points[:, 0], breaks])
    D = D[(D >= points[0, 0]) & (D <= points[-1, 0])]
    gaps = _upper(points, D) - _lower(lines, D)
    k = int(np.argmax(gaps))
    steepest = float(s.max())
    return float(gaps[k]) + 8 * steepest * math.ulp(max(float(D[k]), 1e-300)), float(D[k])


def perfect_perception_envelope(problem, eps: float = 1e-6, *, solver: str | None = None,
                                tol: float | None = None, max_iter: int | None = None,
                                max_solves: int = 2000) -> PerceptionBand:
    """The certified band of ``R(D, 0)`` for a :class:`~rdconvex.RateDistortionPerception`
    (see the module docstring); ``eps`` in the problem's rate units."""
    eps = check_scalar(eps, "eps", minimum=0.0)
    if eps <= 0.0:
        raise InvalidArgumentError(f"eps={eps!r} must be > 0 (the largest gap wanted).")
    units = problem._units
    eps_nats = eps / units.rate_scale
    tol = min(eps_nats / 8.0, 1e-6) if tol is None else tol
    D_first = units.D_in(problem.min_distortion(0.0))
    D_last = problem._D_independent()
    points = {D_last: 0.0}  # the independent coupling: rate exactly 0
    lines: list[tuple[float, float]] = []
    solves = 0

    def solve(D: float) -> None:
        nonlocal solves
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InaccurateSolutionWarning)
            result = problem.solve(D=units.D_out(D), Gamma=0.0, solver=solver, tol=tol,
                                   max_iter=max_iter)
        solves += 1
        proof = result.proof
        points[D] = min(points.get(D, math.inf), proof.upper)
        slope = float(proof.dual["slope"])
        if proof.lower is not None and math.isfinite(slope) and math.isfinite(proof.lower):
            with flint.ctx.workprec(PRECISION):  # R >= L_i - s (D - D_i) = b - s D
                b = lower_end(flint.arb(proof.lower) + flint.arb(slope) * flint.arb(D))
            lines.append((slope, b))

    if D_first < D_last:
        solve(D_first)
    while True:
        table = np.array(sorted(points.items()), float)
        lined = np.array(lines, float).reshape(-1, 2)
        gap, where = _gap(table, lined) if len(table) > 1 else (0.0, D_last)
        if gap <= eps_nats or solves >= max_solves or where in points:
            if gap > eps_nats:
                warnings.warn(f"envelope: the band is certified but its largest gap is "
                              f"{gap:.2e} nats > eps = {eps_nats:.1e} nats.",
                              InaccurateSolutionWarning, stacklevel=2)
            max_gap = gap if units.name == "nats" else float(_bits(np.array(gap), True))
            return PerceptionBand(table, lined, max_gap, eps, solves, units.name)
        solve(where)
