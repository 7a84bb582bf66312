"""The certified envelope of R(D, 0) against the binary closed form (mpmath, exact floats).

Reference: for X ~ Ber(p) under Hamming distortion the optimal coupling with both
marginals p is J = [[p0 - D/2, D/2], [D/2, p1 - D/2]] for D <= 2 p0 p1, so
R(D, 0) = KL(J || p p^T) = 2 H(p) - H(J) (docs/perception.md)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import rdconvex as rdc


def _h(x):
    return -x * mpmath.log(x) if x > 0 else mpmath.mpf(0)


def truth(p1: float, D: float):
    p1, a = mpmath.mpf(p1), mpmath.mpf(D) / 2
    p0 = 1 - p1
    if D >= 2 * p0 * p1:
        return mpmath.mpf(0)
    return 2 * (_h(p0) + _h(p1)) - (_h(p0 - a) + 2 * _h(a) + _h(p1 - a))


@pytest.mark.parametrize("units", ["nats", "bits"])
def test_band_brackets_the_closed_form_everywhere(units):
    rdp = rdc.RateDistortionPerception([0.7, 0.3], 1 - np.eye(2), units=units)
    band = rdp.envelope(eps=1e-3)
    assert band.max_gap <= 1e-3 and band.solves < 60
    scale = 1 / mpmath.log(2) if units == "bits" else 1
    for D in np.random.default_rng(3).uniform(0.0, 0.5, 400):
        lower, upper = float(band.lower(D)), float(band.upper(D))
        assert lower <= truth(0.3, D) * scale <= upper
        assert upper - lower <= 1e-3 or D > 0.42
    assert float(band.upper(0.43)) == 0.0


def test_band_refuses_positive_Gamma_and_bad_eps():
    rdp = rdc.RateDistortionPerception([0.7, 0.3], 1 - np.eye(2))
    with pytest.raises(rdc.InvalidArgumentError, match="Gamma"):
        rdp.envelope(eps=1e-3, Gamma=0.1)
    with pytest.raises(rdc.InvalidArgumentError, match="eps"):
        rdp.envelope(eps=0.0)
