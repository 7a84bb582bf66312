"""rdconvex.convolution: the enclosures contain the exact correlation (exact rational sums
of the float inputs), on random inputs with a wide dynamic range, by FFT and by bands."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from rdconvex import convolution


def _exact(a, kernel):
    n = a.size
    A = [Fraction(float(x)) for x in a]
    K = [Fraction(float(x)) for x in kernel]
    return [sum((A[j] * K[i - j + n - 1] for j in range(n)), Fraction(0)) for i in range(n)]


def _contains(box, exact):
    for lo, hi, y in zip(box.lo.tolist(), box.hi.tolist(), exact):
        assert Fraction(lo) <= y <= Fraction(hi), (lo, float(y), hi)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", ["fft", "direct"])
def test_enclosure_contains_exact_sums(seed, method):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    # Wide dynamic range: magnitudes over 200 decades, a Gaussian kernel of any width.
    a = np.exp(rng.uniform(-230, 0, n)) * (rng.random(n) < 0.8)
    t = np.arange(-(n - 1), n)
    kernel = np.exp(-rng.uniform(0.01, 30) * (t / 4.0) ** 2)
    kernel[kernel < 1e-300] = 0.0
    box = convolution.correlate(a, kernel, method=method)
    _contains(box, _exact(a, kernel))
    assert np.all(box.lo <= box.hi)


def test_fft_and_direct_agree_and_are_tight():
    rng = np.random.default_rng(7)
    n = 300
    a = rng.random(n)
    t = np.arange(-(n - 1), n)
    kernel = np.exp(-0.05 * t.astype(float) ** 2)
    fft = convolution.correlate(a, kernel, method="fft")
    band = convolution.correlate(a, kernel, method="direct")
    assert np.allclose(fft.value, band.value, rtol=1e-12, atol=1e-13)
    assert np.max((fft.hi - fft.lo) / fft.value) < 1e-11
    assert np.max((band.hi - band.lo) / band.value) < 1e-13


def test_kernel_error_and_tail_widen_outward():
    a = np.array([1.0, 2.0, 3.0])
    kernel = np.array([0.0, 0.5, 1.0, 0.5, 0.0])
    plain = convolution.correlate(a, kernel, method="direct")
    wide = convolution.correlate(a, kernel, method="direct", kernel_rel=1e-3, tail=1e-6)
    assert np.all(wide.lo < plain.lo) and np.all(wide.hi > plain.hi + 6e-6 - 1e-12)
    # The true kernel may be 1e-6 at offsets +-2: the exact sum with it is enclosed.
    true = np.array([0.0 + 1e-6 * 3, 0, 0])
    assert np.all(wide.hi >= plain.value + true)


def test_asymmetric_kernel_orientation():
    a = np.array([1.0, 0.0, 0.0, 0.0])
    kernel = np.zeros(7)
    kernel[3 + 1] = 1.0  # offset +1: y_i = a_{i-1}
    for method in ("fft", "direct"):
        y = convolution.correlate(a, kernel, method=method).value
        assert np.allclose(y, [0, 1, 0, 0], atol=1e-15)


def test_fft_length_has_no_aliasing():
    for n in (1, 2, 3, 17, 1024, 1025):
        assert convolution.fft_length(n) >= 2 * n - 1
