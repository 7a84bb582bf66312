"""The shared numeric kernels: log-safe, row-shifted, and consistent with each other."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from rdconvex import numerics


def test_safe_log_and_log_kernel_never_multiply_inf():
    assert numerics.safe_log([0.0, 1.0]).tolist() == [-np.inf, 0.0]
    d = np.array([[0.0, np.inf]])
    assert numerics.log_kernel(d, 0.0).tolist() == [[0.0, -np.inf]]


def test_parametric_channel_rows_are_distributions_at_any_slope():
    d = np.array([[0.0, 1.0, np.inf], [2.0, 0.0, 1.0]])
    for slope in (0.0, 1.0, 1e5):
        W = numerics.parametric_channel(d, slope, np.array([0.2, 0.3, 0.5]))
        assert np.allclose(W.sum(axis=1), 1.0) and W[0, 2] == 0.0
    # the output pmf vanishes on every allowed output of row 0: the argmin rule
    W = numerics.parametric_channel(d, 1.0, np.array([0.0, 0.0, 1.0]))
    assert W[0].tolist() == [1.0, 0.0, 0.0]


def test_expand_rows_fills_zero_probability_symbols():
    d_full = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.0]])
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    full = numerics.expand_rows(W, np.array([0, 1]), d_full, np.inf, np.array([0.5, 0.5]))
    assert full[2].tolist() == [0.0, 1.0]
    full = numerics.expand_rows(W, np.array([0, 1]), d_full, 0.0, np.array([0.5, 0.5]))
    assert full[2].tolist() == [0.5, 0.5]


@pytest.mark.parametrize("slope", [0.5, 5.0, 50.0])
def test_dual_value_matches_its_definition(slope):
    rng = np.random.default_rng(3)
    p, d, q = rng.dirichlet(np.ones(4)), rng.random((4, 5)), rng.dirichlet(np.ones(5))
    log_c = -logsumexp(np.log(q)[None, :] - slope * d, axis=1)
    log_M = np.max(logsumexp((np.log(p) + log_c)[:, None] - slope * d, axis=0))
    expected = p @ log_c - log_M - slope * 0.3
    assert numerics.dual_value(p, d, 0.3, slope, q) == pytest.approx(expected, abs=1e-12)


def test_dual_value_survives_underflowing_rows():
    # q puts 1e-250 on the only cheap output of row 0: the kernel path underflows.
    p, d = np.array([0.5, 0.5]), np.array([[0.0, 1.0], [1.0, 0.0]])
    q = np.array([1e-250, 1.0 - 1e-250])
    value = numerics.dual_value(p, d, 0.2, 600.0, q)
    assert np.isfinite(value)


def test_ba_step_keeps_a_distribution():
    p, d = np.array([0.7, 0.3]), 1 - np.eye(2)
    q = numerics.ba_step(p, d, 2.0, np.array([0.5, 0.5]))
    assert q.sum() == pytest.approx(1.0) and np.all(q > 0)


def test_large_slope_is_relative_to_the_smallest_excess():
    d = np.array([[0.0, 1e-6], [3.0, 0.0]])
    assert numerics.large_slope(d, numerics.LARGE_SLOPE_MARGIN) == pytest.approx(6e7)
