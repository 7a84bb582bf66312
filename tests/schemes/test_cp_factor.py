"""Completely positive factorisations V = B B^T (Lemma 1) and their failure paths.

References: Lemma 1's Hamming factor ``[sqrt(1 - e^-lam) I | sqrt(e^-lam) 1]`` (exact);
the Gaussian integral ``exp(-lam (x - y)^2) = int 2 sqrt(lam/pi) exp(-2 lam (x-t)^2)
exp(-2 lam (y-t)^2) dt``; a random ``A A^T`` with ``A >= 0`` is CP by construction.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.schemes.cp_factor import cp_factor


@pytest.mark.parametrize("n", [2, 3, 6])
@pytest.mark.parametrize("lam", [0.05, 1.0, 30.0])
def test_hamming_kernel_exact(n, lam):
    V = np.exp(-lam * (1 - np.eye(n)))
    f = cp_factor(V)
    assert f.method == "diagonal_plus_constant" and f.exact
    assert f.B.shape == (n, n + 1) and np.all(f.B >= 0)
    expected = np.hstack([math.sqrt(-math.expm1(-lam)) * np.eye(n),
                          np.full((n, 1), math.exp(-lam / 2))])
    # B is read off V's entries (1 - e^-lam loses digits for small lam): 1e-13 relative.
    np.testing.assert_allclose(f.B, expected, rtol=1e-13)
    assert f.residual <= 4e-16


@pytest.mark.parametrize("lam", [0.05, 1.0, 8.0])
def test_gaussian_kernel_on_the_line(lam):
    x = np.array([-2.0, -0.5, 0.0, 1.3, 2.0])
    V = np.exp(-lam * (x[:, None] - x[None, :]) ** 2)
    given = cp_factor(V, points=x, lam=lam)
    inferred = cp_factor(V)  # points recovered from -log V by MDS
    for f in (given, inferred):
        assert f.method == "gaussian_quadrature" and not f.exact
        assert np.all(f.B >= 0)
        assert f.quadrature_error <= 1e-13
        assert f.residual <= 1e-13


def test_gaussian_kernel_in_the_plane(rng):
    z = rng.normal(size=(4, 2))
    V = np.exp(-np.sum((z[:, None] - z[None]) ** 2, axis=2))
    f = cp_factor(V)
    assert f.method == "gaussian_quadrature"
    assert f.residual <= 1e-13 and np.all(f.B >= 0)


def test_numerical_nmf_on_a_cp_matrix(rng):
    A = rng.random((5, 3))
    V = A @ A.T
    f = cp_factor(V, method="nmf", rank=3)
    assert f.method == "symmetric_nmf" and not f.exact
    assert np.all(f.B >= 0) and f.B.shape == (5, 3)
    assert f.residual <= 1e-10
    assert "not a proof" in f.message


def test_failure_paths():
    with pytest.raises(rdc.InvalidArgumentError, match="square matrix"):
        cp_factor(np.ones((2, 3)))
    with pytest.raises(rdc.InvalidArgumentError, match="negative"):
        cp_factor([[1.0, -0.1], [-0.1, 1.0]])
    with pytest.raises(rdc.InvalidArgumentError, match="not symmetric"):
        cp_factor([[1.0, 0.2], [0.1, 1.0]])
    with pytest.raises(rdc.InvalidArgumentError, match="NaN or inf"):
        cp_factor([[1.0, np.nan], [np.nan, 1.0]])
    with pytest.raises(rdc.InvalidArgumentError, match="method='svd' is unknown"):
        cp_factor(np.eye(2), method="svd")
    with pytest.raises(rdc.InvalidArgumentError, match="not of the form diag"):
        cp_factor([[1.0, 0.5, 0.1], [0.5, 1.0, 0.5], [0.1, 0.5, 1.0]], method="hamming")
    with pytest.raises(rdc.InvalidArgumentError, match="not a Gaussian kernel"):
        cp_factor([[2.0, 1.0], [1.0, 2.0]], method="gaussian")
    with pytest.raises(rdc.InvalidArgumentError, match="give both points"):
        cp_factor(np.eye(2), method="gaussian", points=[0.0, 1.0])
    with pytest.raises(rdc.InvalidArgumentError, match="does not equal"):
        cp_factor(np.exp(-(1 - np.eye(2))), method="gaussian", points=[0.0, 3.0], lam=1.0)
    with pytest.raises(rdc.InvalidArgumentError, match="rank=0"):
        cp_factor([[1.0, 0.5, 0.1], [0.5, 1.0, 0.5], [0.1, 0.5, 1.0]], method="nmf", rank=0)
