r"""Blahut–Arimoto on a uniform grid with a translation-invariant distortion.

The distortion between grid points ``i`` (source) and ``j`` (reproduction) is
``F[i - j]``, a function of the offset only; with :math:`G_t = F_t - \min F \ge 0` the
Blahut–Arimoto sums at slope :math:`s` are correlations with the kernel
:math:`k_t = e^{-s G_t}`,

.. math::
    Z_i = \sum_j q_j k_{i-j}, \qquad c_j = \sum_i \frac{p_i}{Z_i} k_{i-j}, \qquad
    q \leftarrow q \circ c,

applied by FFT (O(n log n)) or by banded direct sums when the kernel is numerically
banded (O(n b)) (:mod:`rdconvex.convolution`): no ``n x n`` matrix is formed. The
iteration is accelerated by SQUAREM (as in :mod:`rdconvex.iterative.ba_slope`) and stops
when :math:`\log\max_j c_j \le` ``tol`` (Csiszár's bound on the gap at that slope). A
target distortion is reached by a secant search on :math:`\log s` that keeps the two
slopes bracketing it (their channels are mixed by the certificate,
:mod:`rdconvex.certify.grid`).

References
----------
.. [1] R. Blahut, IEEE Trans. IT 18(4), 1972; S. Arimoto, IEEE Trans. IT 18(1), 1972.
.. [2] R. Varadhan and C. Roland, Scand. J. Stat. 35(2), 2008 (SQUAREM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .. import convolution as conv
from ..rigorous import FUNCTION_REL, TINY, U

#: Default certified-gap estimate at which a slope solve stops (nats).
DEFAULT_TOL = 1e-9
#: Default cap on Blahut–Arimoto maps (each: two correlations).
DEFAULT_MAX_ITER = 5_000  # per slope
#: Floor on Z_i in the float iteration (rows the output pmf does not reach).
Z_FLOOR = 1e-290
#: Slopes tried by one target-distortion search at most.
MAX_SLOPES = 12
#: The slope search stops once its bracket leaves at most this much gap (nats).
SEARCH_GAP = 1e-8
#: Relative margin below the target distortion that the search aims for.
FEASIBLE_MARGIN = 1e-9


#: A forward sum is accurate enough when its enclosure is this narrow (relative): for
#: the certificate, and for the float iteration (where tails matter little).
REL_TARGET = 1e-12
ITERATION_TARGET = 1e-7
#: Tilts tried per slope at most (FFT path).
MAX_TILTS = 8


class ForwardBox(NamedTuple):
    """Enclosures of the forward sums per row: ``log Z`` in ``[log_lo, log_hi]`` (float
    estimate ``log_value``) and the mean shifted distortion of the row's channel,
    ``M_i / Z_i`` in ``[ratio_lo, ratio_hi]``; ``ok``: rows whose lower ends are usable
    (``Z`` proven positive and the relative width below 1/2)."""

    log_lo: np.ndarray
    log_hi: np.ndarray
    log_value: np.ndarray
    ratio_lo: np.ndarray
    ratio_hi: np.ndarray
    ok: np.ndarray


class SlopeKernels:
    r"""The kernels of one slope and the correlations with them, float and enclosed.

    Forward sums ``Z_i = sum_j q_j k_{i-j}`` (and the moments with ``G_t k_t``) of an
    output pmf with a wide dynamic range lose the rows where ``Z`` is small to the FFT's
    absolute error. They are computed under *exponential tilts*: for any real
    :math:`\tau`, :math:`A`, :math:`B`,

    .. math:: Z_i = e^{-\tau i + A + B} \sum_j \big(q_j e^{\tau j - A}\big)
              \big(k_{i-j} e^{\tau (i-j) - B}\big),

    exactly, and each row takes the tilt whose enclosure is narrowest (tilts follow the
    log-slope of ``p``, the shape ``Z`` takes). Banded (direct) sums are accurate
    relative to each entry and need no tilt. Transposed sums are used only through
    their maximum (and the float iteration): no tilt."""

    def __init__(self, G: np.ndarray, slope: float, *, G_rel: float = 0.0,
                 method: str = "auto", symmetric: bool = False, log_slope=None):
        self.G, self.G_rel, self.slope = G, G_rel, float(slope)
        self.n = (G.size + 1) // 2
        self.base = conv.exp_kernel(G, self.slope, G_rel)
        if method == "auto":
            band = conv.band_of(self.base.kernel)
            method = "direct" if 2 * band + 1 <= conv.DIRECT_BAND else "fft"
        self.method = method
        self.symmetric = symmetric
        self.log_slope = log_slope
        self._tilted = {0.0: self.base}
        self._fft: dict[tuple, conv.FFTKernel] = {}
        self.tilts = [0.0]
        self.choice = np.zeros(self.n, dtype=int)  # the tilt of each row (FFT forward)

    # ---------------------------------------------------------------- kernels
    def _exp(self, tilt: float) -> conv.ExpKernel:
        if tilt not in self._tilted:
            self._tilted[tilt] = conv.exp_kernel(self.G, self.slope, self.G_rel, tilt)
        return self._tilted[tilt]

    def _array(self, name: str, tilt: float = 0.0) -> np.ndarray:
        exp = self._exp(tilt)
        base = exp.moment if name == "moment" else exp.kernel
        return base[::-1] if name == "kernelT" and not self.symmetric else base

    def _spectrum(self, name: str, tilt: float = 0.0) -> conv.FFTKernel:
        key = (name, tilt)
        if key not in self._fft:
            self._fft[key] = conv.FFTKernel(self._array(name, tilt))
        return self._fft[key]

    def _raw(self, a, name, tilt=0.0) -> np.ndarray:
        if self.method == "direct":
            return conv.direct(a, self._array(name, tilt))
        return self._spectrum(name, tilt).apply(a)

    def _box(self, a, name, tilt=0.0) -> conv.Enclosure:
        exp = self._exp(tilt)
        moment = name == "moment"
        fft = self._spectrum(name, tilt) if self.method == "fft" else None
        return conv.correlate(a, self._array(name, tilt), method=self.method,
                              tail=exp.moment_tail if moment else exp.tail,
                              kernel_rel=exp.moment_rel if moment else exp.rel,
                              fft_kernel=fft)

    def _tilted_input(self, q, tilt):
        """``(q e^{tau j - A}, A, rel)``: the tilted vector (max factor 1) and its error."""
        if tilt == 0.0:
            return q, 0.0, 0.0
        index = np.arange(self.n, dtype=float)
        positive = np.flatnonzero(q > 0)
        A = float(tilt * index[positive[-1 if tilt > 0 else 0]]) if positive.size else 0.0
        exponent = tilt * index - A
        rel = (math.expm1((4.01 * U) * (float(np.max(np.abs(tilt * index))) + abs(A)))
               + FUNCTION_REL + 2 * U) * 1.01
        return q * np.exp(exponent), A, rel

    # ------------------------------------------------------------- float sums
    def forward(self, q: np.ndarray, name: str = "kernel") -> np.ndarray:
        """Float ``sum_j q_j k_{i-j}`` (``name`` "moment": with ``G_t k_t``), each row
        under its chosen tilt."""
        if self.method == "direct" or len(self.tilts) == 1:
            return self._raw(q, name) * math.exp(self.base.shift)
        tilts = np.array(self.tilts)
        choice = np.argmin(np.abs(self.log_slope[:, None] - tilts), axis=1)
        out = np.zeros(self.n)
        for index, tilt in enumerate(self.tilts):
            rows = choice == index
            if not rows.any():
                continue
            tilted, A, _ = self._tilted_input(q, tilt)
            values = self._raw(tilted, name, tilt)[rows]
            factor = -tilt * np.flatnonzero(rows) + A + self._exp(tilt).shift
            with np.errstate(over="ignore", under="ignore"):
                out[rows] = values * np.exp(factor)
        return out

    def transpose(self, b: np.ndarray) -> np.ndarray:
        """Float ``c_j = sum_i b_i k_{i-j}`` (untilted kernel, shift ``B = 0``)."""
        return self._raw(b, "kernelT")

    def enclose_transpose(self, b: np.ndarray) -> conv.Enclosure:
        return self._box(b, "kernelT")

    # -------------------------------------------------------- enclosed sums
    def enclose_forward(self, q: np.ndarray, p: np.ndarray | None = None,
                        target: float = REL_TARGET) -> ForwardBox:
        """Rigorous :class:`ForwardBox` of ``q`` (``q >= 0``); on the FFT path tilts are
        added while rows of positive ``p`` stay wider than :data:`REL_TARGET`."""
        best = None
        candidates = [0.0]
        while candidates:
            tilt = candidates.pop()
            box = self._forward_box(q, tilt)
            if best is None:
                best, choice = box, np.zeros(self.n, dtype=int)
            else:
                better = _width(box) < _width(best)
                best = ForwardBox(*(np.where(better, new, old) for new, old in zip(box, best)))
                choice = np.where(better, len(self.tilts) - 1, choice)
            if self.method == "direct" or self.log_slope is None or p is None:
                break
            wide = (p > 0) & (_width(best) > target)
            if not wide.any() or len(self.tilts) >= MAX_TILTS:
                break
            # The wide row whose log-slope is farthest from every tilt so far.
            distance = np.min(np.abs(self.log_slope[:, None] - np.array(self.tilts)), axis=1)
            new = float(self.log_slope[int(np.argmax(np.where(wide, distance, -1.0)))])
            if any(abs(new - t) <= 1e-6 * max(1.0, abs(t)) for t in self.tilts):
                break
            self.tilts.append(new)
            candidates.append(new)
        self.choice = choice
        return best

    def _forward_box(self, q: np.ndarray, tilt: float) -> ForwardBox:
        tilted, A, rel = self._tilted_input(q, tilt)
        Zb = self._box(tilted, "kernel", tilt)
        Mb = self._box(tilted, "moment", tilt)
        kernel_sum = float(self._array("kernel", tilt).sum()) * 1.01 + 1.0
        moment_sum = float(self._array("moment", tilt).sum()) * 1.01 + 1.0
        # The tilted input's own error: relative rel, absolute TINY per entry.
        Z_lo = Zb.lo * (1 - rel) - TINY * kernel_sum
        Z_hi = Zb.hi * (1 + rel) + TINY * kernel_sum
        M_lo = np.maximum(Mb.lo * (1 - rel) - TINY * moment_sum, 0.0)
        M_hi = Mb.hi * (1 + rel) + TINY * moment_sum
        ok = Z_lo > 0.5 * Z_hi
        safe_lo = np.where(ok, Z_lo, 1.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio_hi = np.nextafter(M_hi / safe_lo * (1 + 2 * U), np.inf)
            ratio_lo = np.nextafter(M_lo / np.where(ok, Z_hi, 1.0) * (1 - 2 * U), -np.inf)
            factor = -tilt * np.arange(self.n, dtype=float) + A + self._exp(tilt).shift
            scale = (np.abs(factor) + abs(tilt) * self.n + abs(A) + abs(self._exp(tilt).shift))
            log_lo_c, log_hi_c = np.log(safe_lo), np.log(np.where(ok, Z_hi, 1.0))
            slack = (FUNCTION_REL + 4 * U) * (np.abs(log_lo_c) + np.abs(log_hi_c) + scale) \
                + 4 * TINY
            log_lo = np.nextafter(factor + log_lo_c - slack, -np.inf)
            log_hi = np.nextafter(factor + log_hi_c + slack, np.inf)
            log_value = factor + np.log(np.maximum(Zb.value, 1e-320))
        return ForwardBox(log_lo, log_hi, log_value, np.maximum(ratio_lo, 0.0), ratio_hi, ok)


def _width(box: ForwardBox) -> np.ndarray:
    return np.where(box.ok, box.log_hi - box.log_lo, np.inf)


@dataclass
class GridPoint:
    """A solved slope: output pmf ``q``, ``Z = k * q``, the Gallager sums ``c`` and the
    float estimates of the gap bound ``log max c`` and of the shifted distortion."""

    slope: float
    q: np.ndarray
    Z: np.ndarray
    c: np.ndarray
    log_M: float
    distortion: float
    iterations: int
    converged: bool
    kernels: SlopeKernels = field(repr=False)


class GridBA:
    """Blahut–Arimoto on one grid problem: pmf ``p`` (sums to 1), offsets ``G`` (2n - 1)."""

    def __init__(self, p: np.ndarray, G: np.ndarray, *, G_rel: float = 0.0,
                 method: str = "auto", symmetric: bool = False):
        self.p, self.G, self.G_rel = p, G, G_rel
        self.method, self.symmetric = method, symmetric
        self.n = p.size
        self.maps = 0
        self.log_slope = log_slopes(p)

    def kernels(self, slope: float) -> SlopeKernels:
        return SlopeKernels(self.G, slope, G_rel=self.G_rel, method=self.method,
                            symmetric=self.symmetric, log_slope=self.log_slope)

    # ------------------------------------------------------------ one slope
    def _gallager(self, K: SlopeKernels, q: np.ndarray):
        Z = np.maximum(K.forward(q), Z_FLOOR)
        c = np.maximum(K.transpose(self.p / Z), 0.0)
        self.maps += 1
        return Z, c

    def _map(self, K, q, Z=None, c=None):
        if c is None:
            Z, c = self._gallager(K, q)
        new = q * c
        total = new.sum()
        if not (total > 0 and math.isfinite(total)):
            return q, Z, c
        return new / total, Z, c

    def _objective(self, K, q) -> float:
        Z = np.maximum(K.forward(q), Z_FLOOR)
        return float(-(self.p @ np.log(Z)))

    def _squarem(self, K, q, Z, c, step_max):
        """One SQUAREM step (scheme S3, monotone safeguard)."""
        q1, _, _ = self._map(K, q, Z, c)
        q2, _, _ = self._map(K, q1)
        r, v = q1 - q, q2 - 2 * q1 + q
        vv = float(v @ v)
        if vv <= 0:
            return q2, step_max
        alpha = min(step_max, max(1.0, math.sqrt(float(r @ r) / vv)))
        trial = np.maximum(q + 2 * alpha * r + alpha * alpha * v, 1e-3 * q)
        trial, _, _ = self._map(K, trial / trial.sum())
        if not self._objective(K, trial) <= self._objective(K, q2) + 1e-15:
            return q2, max(1.0, step_max / 4)
        return trial, step_max * 4 if alpha >= step_max else step_max

    def solve_slope(self, slope: float, q0=None, *, tol: float = DEFAULT_TOL,
                    max_iter: int = DEFAULT_MAX_ITER, acceleration: bool = True) -> GridPoint:
        """Minimise :math:`-\\sum_i p_i \\log Z_i(q)` over output pmfs at ``slope`` until
        ``log max_j c_j <= tol`` (or ``max_iter`` maps)."""
        K = self.kernels(slope)
        q = np.full(self.n, 1.0 / self.n) if q0 is None else np.clip(q0, 0.0, None)
        q = np.maximum(q, 1e-300)  # no output starts at exactly zero weight
        q = q / q.sum()
        start = self.maps
        step_max = 1.0
        retilt, steps = {0, 100}, 0
        while True:
            if K.method == "fft" and self.maps - start in retilt:
                K.enclose_forward(q, self.p, ITERATION_TARGET)  # tilts for this q
            Z, c = self._gallager(K, q)
            top = float(c.max())
            log_M = math.log(top) if top > 0 and math.isfinite(top) else math.inf
            converged = log_M <= tol
            steps += 1
            if not converged and log_M < 1e-2 and steps % 5 == 0:
                converged = polished_gap(K, self.p, q, Z) <= tol
            if converged or self.maps - start >= max_iter:
                break
            if acceleration:
                q, step_max = self._squarem(K, q, Z, c, step_max)
            else:
                q, _, _ = self._map(K, q, Z, c)
        return GridPoint(float(slope), q, Z, c, log_M, self.distortion(K, q, Z),
                         self.maps - start, converged, K)

    def distortion(self, K: SlopeKernels, q, Z) -> float:
        """Float estimate of :math:`\\sum_i p_i \\sum_j W_{ij} G_{i-j}`."""
        return float(self.p @ (np.maximum(K.forward(q, "moment"), 0.0) / Z))

    # ------------------------------------------------------- target distortion
    def solve_distortion(self, target: float, *, tol: float = DEFAULT_TOL,
                         max_iter: int = DEFAULT_MAX_ITER, slope0: float | None = None,
                         q0=None) -> tuple[GridPoint | None, GridPoint, list[GridPoint]]:
        """``(low, high, all)``: solved slopes bracketing the shifted distortion
        ``target`` (``low.distortion > target >= high.distortion``; ``low`` None when
        ``high`` alone is close enough: ``s (target - E) <= tol / 4``), found by a
        safeguarded secant search in ``log s``."""
        def solve(s, q):
            point = self.solve_slope(s, q, tol=tol, max_iter=max_iter)
            tried.append(point)
            return point

        tried: list[GridPoint] = []
        close = max(tol, SEARCH_GAP) / 4
        # Aim a little inside: the certificate's enclosure of E is ~1e-12 wide.
        target = target * (1.0 - FEASIBLE_MARGIN)
        s = slope0 if slope0 and slope0 > 0 else 1.0 / target
        point = solve(s, q0)
        low = high = None
        sides: list[bool] = []
        while len(tried) < MAX_SLOPES:
            sides.append(point.distortion > target)
            if point.distortion > target:
                low = point if low is None or point.slope > low.slope else low
            else:
                high = point if high is None or point.slope < high.slope else high
            if high is not None and high.slope * (target - high.distortion) <= close:
                return None, high, tried
            if low is not None and high is not None and \
                    (high.slope - low.slope) * (low.distortion - high.distortion) <= close:
                return low, high, tried
            if high is None:
                s = low.slope * 2.0
            elif low is None:
                s = high.slope / 2.0
            elif len(sides) >= 3 and sides[-1] == sides[-2] == sides[-3]:
                s = math.sqrt(low.slope * high.slope)  # the secant creeps: bisect
            else:  # aim just below the target: a point there closes the gap alone
                aim = target - tol / (8.0 * math.sqrt(low.slope * high.slope))
                s = _secant(low, high, aim if aim > high.distortion else target)
            nearest = min(tried, key=lambda t: abs(math.log(t.slope / s)))
            point = solve(s, nearest.q)
        if high is None:  # never reached the target: the steepest slope tried
            high = max(tried, key=lambda t: t.slope)
        return low, high, tried


#: Passes of the dual polish (each one transposed correlation).
POLISH_PASSES = 4


def polish_dual(K: SlopeKernels, p: np.ndarray, log_Z: np.ndarray):
    r"""``(ell, C)``: Csiszár's dual variables :math:`\ell_i = -\log Z_i - \delta_i` and
    their column sums :math:`C_j = \sum_i p_i e^{\ell_i} k_{i-j}` (float).

    Outputs far in the tails (weight ~1e-15) converge slowly under Blahut–Arimoto and
    keep :math:`\max_j c_j` above 1 long after the rate has converged. Lowering
    :math:`\ell_i` by the largest excess :math:`\log^+ C_j` among the columns within
    the kernel's reach of row ``i`` costs only :math:`\sum_i p_i \delta_i` (tail rows
    carry tiny ``p``) and removes that excess from the maximum. Any ``ell`` gives a
    valid bound; this only makes it tighter."""
    from scipy.ndimage import maximum_filter1d

    reach = max(1, conv.band_of(np.where(K.base.kernel >= 1e-3, K.base.kernel, 0.0)))
    ell = -log_Z
    weight = p * 0.0
    positive = p > 0
    for _ in range(POLISH_PASSES + 1):
        with np.errstate(over="ignore"):
            weight[positive] = np.exp(np.log(p[positive]) + ell[positive])
        C = np.maximum(K.transpose(weight), 0.0)
        excess = np.log(np.maximum(C, 1e-300))
        if float(excess.max()) <= 1e-15:
            break
        np.maximum(excess, 0.0, out=excess)
        ell = ell - maximum_filter1d(excess, size=2 * reach + 1)
    return ell, C


def polished_gap(K: SlopeKernels, p, q, Z) -> float:
    """Float estimate of the certified gap at a slope solve's own distortion: the rate
    bound of the Blahut–Arimoto channel minus the polished Csiszár bound."""
    log_Z = np.log(Z)
    ell, C = polish_dual(K, p, log_Z)
    delta = -log_Z - ell
    return float(p @ delta) + math.log(float(C.max())) + math.log(float(q.sum()))


def log_slopes(p: np.ndarray) -> np.ndarray:
    """Minus the local slope of ``log p`` per index (over a window): the tilt that makes
    a row central (:class:`SlopeKernels`)."""
    n = p.size
    w = max(1, n // 400)
    log_p = np.log(np.maximum(p, 1e-300 * float(p.max())))
    padded = np.concatenate([np.full(w, log_p[0]), log_p, np.full(w, log_p[-1])])
    return -(padded[2 * w:] - padded[:-2 * w]) / (2.0 * w)


def _secant(low: GridPoint, high: GridPoint, target: float) -> float:
    """The secant of ``log E`` against ``log s`` between the bracket, kept inside it."""
    a, b = math.log(low.slope), math.log(high.slope)
    Ea, Eb = low.distortion, high.distortion
    if Ea > 0 and Eb > 0 and target > 0:
        fa, fb, ft = math.log(Ea), math.log(Eb), math.log(target)
    else:
        fa, fb, ft = Ea, Eb, target
    x = a + (b - a) * (fa - ft) / (fa - fb) if fa != fb else 0.5 * (a + b)
    x = min(max(x, a + 1e-3 * (b - a)), b - 1e-3 * (b - a))
    return math.exp(x)
