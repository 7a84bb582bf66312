r"""Rigorous correlations of nonnegative vectors with a translation-invariant kernel.

For ``a`` of length ``n`` and a kernel ``k`` on the ``2n - 1`` offsets
``t = -(n-1), ..., n-1`` (stored as ``k[t + n - 1]``) :func:`correlate` encloses

.. math:: y_i = \sum_{j=0}^{n-1} a_j\, k_{i-j}, \qquad i = 0, \dots, n-1,

returning floats ``lo <= y <= hi`` elementwise, in O(n log n) (FFT) or O(n b) (a band of
``b`` offsets), never forming an ``n x n`` matrix. The transposed map
:math:`c_j = \sum_i b_i k_{i-j}` is the same operation with the kernel reversed.

*Direct (banded) sums.* Every ``y_i`` is a sum of at most ``2B + 1`` nonnegative
products: by Higham (2002) §3.1 the computed sum is within :math:`\gamma_{2B+1}` of the
exact one (relative), plus ``TINY`` per product for gradual underflow.

*The kernel's own error.* The caller passes ``kernel_rel`` (the true kernel is within
that relative error of the floats given) and ``tail``, a float ``>=`` every true kernel
entry whose float is 0 (flushed, or beyond the band); ``tail * sum(a)`` is added to the
upper end.

*FFT.* **One assumption** (besides :mod:`rdconvex.rigorous`'s): scipy.fft's ``rfft`` and
``irfft`` (pocketfft) at a power-of-two length ``N`` satisfy Higham (2002), Theorem 24.2,

.. math::
    \|\mathrm{fl}(F x) - F x\|_2 \le \epsilon_N \|F x\|_2,\quad
    \epsilon_N = \frac{\log_2 N\,\eta}{1 - \log_2 N\,\eta},\quad
    \eta = \mu + \gamma_4(\sqrt 2 + \mu),

with the twiddle factors accurate to :math:`\mu` = ``FUNCTION_REL``. With
:math:`\|F x\|_2 = \sqrt N \|x\|_2`, Cauchy–Schwarz and
:math:`|\mathrm{fl}(xy) - xy| \le \sqrt 2 \gamma_2 |x||y|` for the complex products,
the circular correlation ``y = F^{-1}(\hat a \odot \hat k)`` of zero-padded vectors
(no aliasing for ``N >= 2n - 1``) satisfies

.. math::
    \|\mathrm{fl}(y) - y\|_\infty \le \big(2\epsilon_N + \epsilon_N^2
      + \sqrt2\gamma_2 (1 + \epsilon_N)^2\big) \|a\|_2 \|k\|_2
      + \epsilon_N \|z\|_2 / \sqrt N,

``z`` the computed product spectrum (its norm is measured, rounded up); the scaling by
``1/N`` is exact. Computed values are clipped at 0 (``y >= 0``) and the bound added
outward. Entries whose bound exceeds their value get a lower end of 0: the caller
decides what to do with them (:mod:`rdconvex.certify.grid` gives such rows a different,
exactly evaluable channel row).

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM
   2002, §3.1 and Theorem 24.2.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.fft

from .rigorous import FUNCTION_REL, TINY, U, gamma

#: Bands up to this many offsets (2B + 1) are summed directly in "auto" mode.
DIRECT_BAND = 96


class Enclosure(NamedTuple):
    """``lo <= exact <= hi`` elementwise, and the float estimate ``value``."""

    value: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def fft_length(n: int) -> int:
    """The power of two ``>= 2n - 1`` (a linear correlation without aliasing)."""
    return 1 << max(1, (2 * n - 2).bit_length())


def fft_epsilon(N: int) -> float:
    """:math:`\\epsilon_N` of the module docstring, rounded up."""
    levels = max(1, int(N).bit_length() - 1)
    eta = FUNCTION_REL + gamma(4) * (math.sqrt(2.0) + FUNCTION_REL)
    eta *= 1.0 + 4 * U
    return levels * eta / (1.0 - levels * eta) * (1.0 + 8 * U)


def band_of(kernel: np.ndarray) -> int:
    """The smallest ``B`` with ``kernel`` zero beyond offset ``±B``."""
    n = (kernel.size + 1) // 2
    nonzero = np.flatnonzero(kernel)
    if nonzero.size == 0:
        return 0
    return int(max(abs(nonzero[0] - (n - 1)), abs(nonzero[-1] - (n - 1))))


def _norm2_up(x: np.ndarray) -> float:
    """A float ``>= ||x||_2``."""
    total = float(np.dot(x, x))
    bound = total * (1.0 + gamma(x.size + 1)) + x.size * TINY
    return math.nextafter(math.sqrt(bound) * (1.0 + 2 * U), math.inf)


class FFTKernel:
    """A kernel's spectrum at the FFT length of ``n``, computed once per kernel."""

    def __init__(self, kernel: np.ndarray):
        self.n = (kernel.size + 1) // 2
        self.N = fft_length(self.n)
        circular = np.zeros(self.N)
        n = self.n
        circular[:n] = kernel[n - 1:]          # offsets 0 .. n-1
        circular[self.N - (n - 1):] = kernel[:n - 1]  # offsets -(n-1) .. -1 (wrapped)
        self.spectrum = scipy.fft.rfft(circular)
        self.norm2 = _norm2_up(kernel)

    def apply(self, a: np.ndarray) -> np.ndarray:
        """The float correlation (not clipped, no bound)."""
        spectrum = scipy.fft.rfft(a, n=self.N)
        spectrum *= self.spectrum
        return scipy.fft.irfft(spectrum, n=self.N)[:self.n]

    def enclose(self, a: np.ndarray) -> Enclosure:
        """``a >= 0``: the correlation and its rigorous bound (module docstring)."""
        spectrum = scipy.fft.rfft(a, n=self.N)
        spectrum *= self.spectrum
        # ||z||_2 over the full (Hermitian) spectrum, from the half spectrum.
        magnitudes = np.abs(spectrum)
        squares = magnitudes * magnitudes
        full = 2.0 * float(squares.sum()) - float(squares[0]) - float(squares[-1])
        z_norm = math.sqrt(max(full, 0.0) * (1.0 + gamma(self.N + 4)) * (1.0 + 8 * FUNCTION_REL)
                           + self.N * TINY)
        value = scipy.fft.irfft(spectrum, n=self.N)[:self.n]
        eps = fft_epsilon(self.N)
        products = 2 * eps + eps * eps + math.sqrt(2.0) * gamma(2) * (1 + eps) ** 2
        error = products * _norm2_up(a) * self.norm2 + eps * z_norm / math.sqrt(self.N)
        error = (error * (1.0 + 1e-6) + 4 * self.N * TINY)
        np.maximum(value, 0.0, out=value)
        return _outward(value, error, 0.0)


def _outward(value: np.ndarray, error, extra_hi) -> Enclosure:
    lo = np.nextafter(value - error, -np.inf)
    np.maximum(lo, 0.0, out=lo)
    hi = np.nextafter(value + error + extra_hi, np.inf)
    return Enclosure(value, lo, hi)


def direct(a: np.ndarray, kernel: np.ndarray, band: int | None = None) -> np.ndarray:
    """The float correlation by banded direct sums: O(n (2B + 1))."""
    n = a.size
    B = band_of(kernel) if band is None else int(band)
    B = min(B, n - 1)
    out = np.zeros(n)
    for t in range(-B, B + 1):
        weight = kernel[t + n - 1]
        if weight == 0.0:
            continue
        if t >= 0:  # y_i += a_{i-t} k_t for i >= t
            out[t:] += weight * a[:n - t]
        else:
            out[:n + t] += weight * a[-t:]
    return out


def enclose_direct(a: np.ndarray, kernel: np.ndarray, band: int | None = None) -> Enclosure:
    """Banded direct sums with Higham's bound (entries beyond the band are zero)."""
    n = a.size
    B = min(band_of(kernel) if band is None else int(band), n - 1)
    value = direct(a, kernel, B)
    terms = 2 * B + 1
    g = gamma(terms + 1)
    # Exact S <= fl / (1 - g): error <= g / (1 - g) fl, plus underflow per product.
    error = value * (g / (1.0 - g)) * (1.0 + 4 * U) + terms * TINY
    return _outward(value, error, 0.0)


def correlate(a, kernel, *, method: str = "auto", tail: float = 0.0,
              kernel_rel: float = 0.0, fft_kernel: FFTKernel | None = None) -> Enclosure:
    r"""Enclose :math:`y_i = \sum_j a_j k_{i-j}` for ``a >= 0``, ``kernel >= 0``.

    Parameters
    ----------
    a : ndarray, shape (n,)
        Nonnegative floats.
    kernel : ndarray, shape (2n - 1,)
        Nonnegative floats on the offsets ``-(n-1) .. n-1``: the computed kernel.
    method : {"auto", "fft", "direct"}
        ``"auto"``: direct sums when the kernel's band has at most
        :data:`DIRECT_BAND` offsets, else the FFT.
    tail : float
        A float ``>=`` every true kernel entry whose computed value is 0 (flushed or
        beyond the band); ``tail * sum(a)`` is added to the upper end.
    kernel_rel : float
        The true kernel is within ``kernel_rel`` (relative) of ``kernel``.
    fft_kernel : FFTKernel, optional
        The kernel's spectrum, if already computed.

    Returns
    -------
    Enclosure
        ``value`` (float estimate), ``lo`` and ``hi`` with ``lo <= y_exact <= hi``.
    """
    a = np.asarray(a, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if method == "auto":
        method = "direct" if 2 * band_of(kernel) + 1 <= DIRECT_BAND else "fft"
    if method == "direct":
        box = enclose_direct(a, kernel)
    elif method == "fft":
        box = (fft_kernel or FFTKernel(kernel)).enclose(a)
    else:
        raise ValueError(f"method={method!r}: use 'auto', 'fft' or 'direct'")
    if kernel_rel > 0.0:
        lo = np.nextafter(box.lo * (1.0 - kernel_rel) * (1.0 - 2 * U), -np.inf)
        hi = np.nextafter(box.hi * (1.0 + kernel_rel) * (1.0 + 2 * U), np.inf)
        box = Enclosure(box.value, np.maximum(lo, 0.0), hi)
    if tail > 0.0:
        extra = tail * float(a.sum()) * (1.0 + gamma(a.size + 1)) * (1 + 2 * U) + TINY
        box = Enclosure(box.value, box.lo, np.nextafter(box.hi + extra, np.inf))
    return box


#: Kernel entries more than this below the kernel's maximum (in the exponent) are
#: flushed to 0 (e^-700 ~ 1e-304).
CUT = 700.0


class ExpKernel(NamedTuple):
    r"""The tilted kernel :math:`e^{-s G_t + \tau t - B}` on the offsets (``B`` its largest
    exponent, entries more than :data:`CUT` below flushed), with ``rel`` and ``tail``
    for :func:`correlate`, and the same for ``G_t`` times it (``moment*``)."""

    kernel: np.ndarray
    rel: float
    tail: float
    moment: np.ndarray
    moment_rel: float
    moment_tail: float
    tilt: float = 0.0
    shift: float = 0.0


def exp_kernel(G: np.ndarray, slope: float, G_rel: float = 0.0,
               tilt: float = 0.0) -> ExpKernel:
    r"""The kernel :math:`e^{-s G_t + \tau t - B}` (``t`` the offset index, :math:`\tau` =
    ``tilt``) of floats ``G >= 0`` within ``G_rel`` (relative) of the true :math:`G^*_t`,
    and bounds on its error: the true value is within ``rel`` of the float where that is
    nonzero and ``<= tail`` where it is 0. Each exponent is formed with at most three
    roundings, so it is within ``(G_rel + 4u)(s G + |tau t| + |B|)`` of the true one;
    ``exp`` is within ``FUNCTION_REL`` (the assumption of :mod:`rdconvex.rigorous`)."""
    s, tau = float(slope), float(tilt)
    n = (G.size + 1) // 2
    offsets = np.arange(-(n - 1), n, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        cost = s * G
        exponent = -cost + tau * offsets if tau != 0.0 else -cost
    shift = float(np.max(exponent))
    exponent -= shift
    keep = exponent >= -CUT
    kernel = np.zeros(G.size)
    kernel[keep] = np.exp(exponent[keep])
    magnitude = cost[keep] + np.abs(tau * offsets[keep]) + abs(shift)
    largest = float(magnitude.max()) if keep.any() else 0.0
    drift = (G_rel + 4.01 * U) * largest * (1.0 + 1e-9)
    rel = (math.expm1(drift) * (1.0 + 1e-9) + FUNCTION_REL) * 1.01
    flushed = not keep.all()
    # Flushed entries: true exponent < -(CUT - 1) (the drift is far below 1).
    tail = math.exp(-(CUT - 1.0)) if flushed else 0.0
    moment = G * kernel
    moment_rel = (rel + G_rel + 2 * U) * 1.01
    moment_tail = float(G.max()) * 1.01 * tail
    return ExpKernel(kernel, rel, tail, moment, moment_rel, moment_tail, tau, shift)
