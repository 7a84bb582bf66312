r"""The curve and the certified envelope of a :class:`~rdconvex.problems.grid.GridSource`.

The curve is :func:`rdconvex.problems.curve.rate_distortion_curve` on distortions
strictly above ``D_min`` (a grid solve needs ``D > D_min``). The envelope is the
sandwich of :mod:`rdconvex.problems.envelope` on the same certified objects
(:class:`~rdconvex.certify.envelope.Envelope`, :class:`~rdconvex.problems.envelope.Band`):
points ``(E_k, U_k)`` from the certified channels of slope solves, lines ``(s_k, b_k)``
from their Csiszár duals, refined at the chord slope of every segment whose gap exceeds
``eps`` (the slope at least doubles where the gap is at ``D_min``). Its left end is the
point ``(D_min, H(p))`` of the identity channel, valid when ``F`` is smallest at offset 0
(every row's minimiser is its own grid point, e.g. squared and absolute error).
"""

from __future__ import annotations

import math
import warnings

import flint
import numpy as np

from ..certify.envelope import Envelope, Frame
from ..errors import InaccurateSolutionWarning, InvalidArgumentError
from ..rigorous import FUNCTION_REL, PRECISION, U, arb_dot, lower_end, upper_end
from .curve import DEFAULT_NUM, rate_distortion_curve
from .envelope import Band


def grid_curve(source, num=None, D=None, *, tol=None, max_iter=None, progress=False):
    """Certified ``R(D)`` at ``num`` equally spaced ``D`` in ``(D_min, D_max]`` (or at
    ``D``), warm-started from the largest ``D`` down."""
    if D is None:
        num = DEFAULT_NUM if num is None else num
        if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 2:
            raise InvalidArgumentError(f"num={num!r} must be an integer >= 2.")
        D = np.linspace(source.D_min, source.D_max, int(num) + 1)[1:]
    return rate_distortion_curve(source, D=D, tol=tol, max_iter=max_iter,
                                 progress=progress)


class _Exact:
    """What :class:`~rdconvex.certify.envelope.Frame` needs of the exact problem."""

    def __init__(self, d_min):
        self.d_min = d_min

    def position(self, D: float) -> int:
        with flint.ctx.workprec(PRECISION):
            gap = flint.arb(D) - self.d_min
        return 1 if gap > 0 else -1 if gap < 0 else 0


def _entropy_upper(data) -> float:
    """A float ``>= H(p)`` (nats)."""
    w = data.w
    positive = w > 0
    log_p = np.log(data.p[positive])
    # p_float = w / sum w within 2u; log within FUNCTION_REL.
    terms = -log_p + (FUNCTION_REL + 4 * U) * np.abs(log_p) + 4 * U
    with flint.ctx.workprec(PRECISION):
        return upper_end(arb_dot(w[positive], terms) * data.inv_total)


def grid_envelope(source, eps: float, *, tol=None, max_iter=None, max_solves=200) -> Band:
    """The sandwich (module docstring); ``upper - lower <= eps`` (rate units) or a warning."""
    data, units = source._data, source._units
    if not eps > 0:
        raise InvalidArgumentError(f"eps={eps!r} must be > 0.")
    if int(np.argmin(source.F)) != source.n - 1:
        raise InvalidArgumentError("envelope() needs F smallest at offset 0 (the identity "
                                   "channel attains D_min); use curve() instead.")
    eps_nats = eps / units.rate_scale
    tol = min(eps_nats / 8, 1e-6) if tol is None else tol
    with flint.ctx.workprec(PRECISION):
        offset = data.d_min - flint.arb(data.F_min)  # D_min - F_min >= 0
    E, Upts, slopes, s_lines, b_lines = [0.0], [_entropy_upper(data)], [math.inf], [], []
    with flint.ctx.workprec(PRECISION):
        E_max = upper_end(flint.arb(source.D_max) - data.d_min)
    E.append(E_max); Upts.append(0.0); slopes.append(math.nan)
    solves, tried = 0, set()

    def solve(slope, warm):
        result = source.solve(slope=units.slope_out(slope), tol=tol, max_iter=max_iter,
                              warm_start=warm)
        bounds = source._last_bounds
        with flint.ctx.workprec(PRECISION):
            E.append(upper_end(flint.arb(bounds.E_hi) - offset))
            b_lines.append(lower_end(flint.arb(bounds.A) - flint.arb(slope) * offset))
        Upts.append(bounds.U); slopes.append(slope); s_lines.append(slope)
        return result

    warm = None
    frame = Frame.of(_Exact(data.d_min), units.rate_scale, 1.0)
    while True:
        env = Envelope.build(E, Upts, s_lines, b_lines, -math.inf, slopes)
        gap = env.max_gap()
        if gap <= eps_nats or solves >= max_solves:
            break
        steps = []
        for i, g, where in env.segment_gaps():
            if g <= eps_nats or i >= env.vertex_E.size - 1:
                continue
            VE, VU = env.vertex_E, env.vertex_U
            chord = float((VU[i] - VU[i + 1]) / (VE[i + 1] - VE[i]))
            if i == 0 and where == 0.0:
                chord = max(chord, 2.0 * max(s_lines, default=0.0))
            key = round(math.log(chord), 9) if chord > 0 else None
            if key is not None and key not in tried:
                tried.add(key)
                steps.append(chord)
        if not steps:
            break
        for slope in steps[:max_solves - solves]:
            warm = solve(slope, warm)
            solves += 1
    if gap > eps_nats:
        warnings.warn(f"envelope: the band is certified but its largest gap is "
                      f"{gap * units.rate_scale:.2e} > eps = {eps:.1e}.",
                      InaccurateSolutionWarning, stacklevel=3)
    order = np.argsort(E, kind="stable")
    points = np.column_stack([frame.D_up(np.asarray(E)[order]),
                              frame.rate_up(np.asarray(Upts)[order]),
                              [units.slope_out(s) if math.isfinite(s) else s
                               for s in np.asarray(slopes)[order]]])
    lines = np.column_stack([[units.slope_out(s) for s in env.slope],
                             frame.rate_down(env.intercept)])
    return Band(points=points, lines=lines, max_gap=float(frame.rate_up(gap)), eps=eps,
                solves=solves, units=source.units, D_min=source.D_min,
                D_end=float(frame.D_up(E_max)), _envelope=env, _frame=frame)
