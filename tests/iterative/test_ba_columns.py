"""Blahut–Arimoto on working sets of outputs (column generation, issue 16): the same
certified answers as the whole-matrix path, on every kind of input, and the blockwise
helpers it rests on agree with their whole-matrix counterparts.

References: the whole-matrix Blahut–Arimoto (tests/iterative/test_ba.py checks it
against the conic solvers and closed forms) and the binary Hamming closed form
R(D) = h(p) - h(D) (Cover & Thomas, Thm 10.3.1).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex import numerics
from rdconvex.certify.classical import repair_channel
from rdconvex.closed_forms import binary_hamming_rate
from rdconvex.errors import InvalidArgumentError
from rdconvex.iterative import ba_columns

ON = {"working_set": True}


def _instance(n, m, seed, forbidden=0.0, zero_rows=0, offset=0.0):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n))
    if zero_rows:
        p[:zero_rows] = 0.0
        p /= p.sum()
    d = rng.random((n, m)) + offset * rng.random((n, 1))
    if forbidden:
        mask = rng.random((n, m)) < forbidden
        mask[np.arange(n), d.argmin(axis=1)] = False  # every row keeps an output
        d[mask] = np.inf
    return p, d


def _solve(prob, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", rdc.InaccurateSolutionWarning)
        return prob.solve(solver="ba", **kwargs)


def _agree(a, b):
    """Both certified, each one's bounds containing the other's value."""
    for r in (a, b):
        assert r.status == "optimal" and r.certificate.gap <= 1e-9
    assert a.certificate.lower <= b.rate + 1e-12 and b.certificate.lower <= a.rate + 1e-12


@pytest.mark.parametrize("n, m, forbidden, zero_rows, offset, where", [
    (200, 300, 0.0, 0, 0.0, 0.3),
    (150, 400, 0.3, 0, 0.0, 0.5),
    (300, 200, 0.0, 5, 1e6, 0.05),
    (100, 500, 0.1, 3, 0.0, 0.95),
])
def test_target_D_matches_the_whole_matrix_path(n, m, forbidden, zero_rows, offset, where):
    p, d = _instance(n, m, n + m, forbidden, zero_rows, offset)
    prob = rdc.RateDistortion(p, d)
    end = prob.D_max if math.isfinite(prob.D_max) else prob.D_min + 1.0
    D = prob.D_min + where * (end - prob.D_min)
    columns = _solve(prob, D=D, solver_options=ON)
    whole = _solve(prob, D=D, solver_options={"working_set": False})
    _agree(columns, whole)
    assert "working set" in columns.message
    assert columns.distortion <= D * (1 + 1e-12)
    assert np.all(columns.channel[:, columns.output_pmf == 0] == 0)


@pytest.mark.parametrize("slope", [0.5, 5.0, 80.0])
def test_fixed_slope_matches_the_whole_matrix_path(slope):
    p, d = _instance(120, 400, 7, forbidden=0.2)
    prob = rdc.RateDistortion(p, d)
    columns = _solve(prob, slope=slope, solver_options=ON)
    whole = _solve(prob, slope=slope, solver_options={"working_set": False})
    assert columns.certificate.gap <= 1e-9 and whole.certificate.gap <= 1e-9
    # Same slope, same point of the curve: distortions and rates agree closely.
    assert abs(columns.distortion - whole.distortion) <= 1e-6 * max(1.0, whole.distortion)
    assert abs(columns.rate - whole.rate) <= 1e-8


def test_binary_hamming_closed_form():
    prob = rdc.RateDistortion([0.3, 0.7], 1 - np.eye(2))
    for D in (0.01, 0.1, 0.25):
        result = _solve(prob, D=D, solver_options=ON)
        reference = binary_hamming_rate(0.3, D)
        assert result.certificate.lower - 1e-15 <= reference <= result.certificate.upper + 1e-15


def test_ends_of_the_curve_and_D_min():
    p, d = _instance(80, 200, 3)
    prob = rdc.RateDistortion(p, d)
    assert _solve(prob, D=prob.D_max, solver_options=ON).rate <= 1e-12
    at_min = _solve(prob, D=prob.D_min, solver_options=ON)
    whole = _solve(prob, D=prob.D_min, solver_options={"working_set": False})
    _agree(at_min, whole)


def test_working_set_grows_from_a_poor_first_set(monkeypatch):
    """A first set of 2 outputs: column generation must add the rest it needs."""
    monkeypatch.setattr(ba_columns, "FIRST_SET", 2)
    p, d = _instance(150, 300, 11)
    prob = rdc.RateDistortion(p, d)
    D = prob.D_min + 0.2 * (prob.D_max - prob.D_min)
    _agree(_solve(prob, D=D, solver_options=ON),
           _solve(prob, D=D, solver_options={"working_set": False}))


def test_bad_option_is_a_typed_error():
    prob = rdc.RateDistortion([0.5, 0.5], 1 - np.eye(2))
    with pytest.raises(InvalidArgumentError, match="working_set"):
        prob.solve(D=0.1, solver="ba", solver_options={"working_set": "yes"})


# --------------------------------------------------------- blockwise helpers

@pytest.mark.parametrize("forbidden", [0.0, 0.3])
def test_blockwise_dual_value_equals_the_kernel_path(forbidden, monkeypatch):
    p, d = _instance(90, 70, 5, forbidden)
    d = d - d.min(axis=1, keepdims=True)
    q = np.random.default_rng(1).dirichlet(np.ones(70))
    q[::3] = 0.0
    monkeypatch.setattr(numerics, "BLOCK_ENTRIES", 500)  # many blocks
    for slope in (0.0, 1.0, 30.0):
        K = numerics.shifted_kernel(d, slope).K
        Z = K @ (q / q.sum())
        plain = float(-(p @ np.log(Z)) - np.log(np.max(K.T @ (p / Z))) - slope * 0.2)
        assert numerics.dual_value(p, d, 0.2, slope, q) == pytest.approx(plain, abs=1e-12)
        # With the kernel at hand the row variables are polished: never worse.
        assert numerics.dual_value(p, d, 0.2, slope, q, numerics.shifted_kernel(d, slope)) \
            >= plain - 1e-12


def test_blockwise_large_slope_and_gallager_pass(monkeypatch):
    p, d = _instance(60, 50, 9, 0.2)
    monkeypatch.setattr(numerics, "BLOCK_ENTRIES", 300)
    excess = d - d.min(axis=1, keepdims=True)
    gap = excess[(excess > 0) & np.isfinite(excess)].min()
    assert numerics.large_slope(d, 60.0) == 60.0 / gap
    row_min = d.min(axis=1)
    K = numerics.shifted_kernel(d, 3.0).K
    Z = K @ np.full(50, 0.02)
    c = numerics.gallager_pass(p, d, row_min, 3.0, Z)
    np.testing.assert_allclose(c, K.T @ (p / Z), rtol=1e-13)


def test_a_channel_is_certified_without_a_copy():
    _, d = _instance(30, 20, 2)
    W = np.full((30, 20), 1 / 20)
    assert repair_channel(d, W) is W
    W[0, 0] = -1e-3  # not a channel: repaired on a copy
    assert repair_channel(d, W) is not W


def test_iterative_core_at_and_beyond_D_max():
    """The public core on working sets returns the constant output beyond D_max."""
    from rdconvex.iterative.ba import blahut_arimoto_distortion

    p, d = _instance(40, 60, 4)
    raw = blahut_arimoto_distortion(p, d, D=10.0, solver_options=ON)
    assert raw.channel.shape == (40, 60)
    assert np.all(raw.channel == raw.channel[:1]) and raw.info.status == "optimal"


def test_curve_warm_starts_on_working_sets():
    """A curve warm-starts each point from the last: the working set starts from the
    warm output pmf's support, and every point matches the whole-matrix curve."""
    p, d = _instance(100, 250, 21)
    prob = rdc.RateDistortion(p, d)
    columns = prob.curve(num=6, solver="ba", solver_options=ON)
    whole = prob.curve(num=6, solver="ba", solver_options={"working_set": False})
    assert np.all(columns.gap <= 1e-9)
    assert np.all(columns.lower <= whole.upper + 1e-12)
    assert np.all(whole.lower <= columns.upper + 1e-12)
