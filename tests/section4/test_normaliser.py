"""The solvers of (13) one by one.

References: Newton's canonical solution (accurate to rounding) against the concave
program solved by a conic solver (accurate to its tolerance); the LP normaliser against
the closed form mu = 1/(1+e^-lam) of Example 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from rdconvex import closed_forms as cf
from rdconvex.programs import single_parameter as programs
from rdconvex.section4 import NoTranslationError
from rdconvex.section4.normaliser import (
    canonical_normaliser,
    lp_normaliser,
    newton_normaliser,
    solve_normaliser,
)

HAMMING = 1.0 - np.eye(2)
P32 = np.array([0.5, 0.3, 0.2])
D32 = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])


def test_canonical_program_agrees_with_newton():
    """Underdetermined (13): the conic refinement and Newton pick the same mu."""
    lam = 2.0
    r, kernel = programs.scaled_kernel(D32, lam)
    newton_nu, Q = newton_normaliser(P32, kernel)
    nu, method = canonical_normaliser(P32, D32, lam, 1e-10, fallback=np.zeros(3))
    assert "clarabel" in method
    np.testing.assert_allclose(nu, newton_nu, atol=1e-5)
    assert Q.min() >= 0 and Q.sum() == pytest.approx(1.0)


def test_lp_normaliser_example1():
    lam = 1.5
    _, kernel = programs.scaled_kernel(HAMMING, lam)
    np.testing.assert_allclose(lp_normaliser(kernel.T), cf.example1_mu(lam), rtol=1e-9)


def test_solve_normaliser_methods():
    square = solve_normaliser(np.array([0.8, 0.2]), HAMMING, 2.0, 1e-10)
    assert square.unique and square.method.startswith("linear solve")
    line = solve_normaliser(P32, D32, 2.0, 1e-10)
    assert not line.unique and "Newton" in line.method
    np.testing.assert_allclose(line.likelihood.sum(axis=0), 1.0, atol=1e-12)
    with pytest.raises(NoTranslationError, match="cannot be normalised"):
        solve_normaliser(np.array([0.5, 0.5]), np.array([[0.0, 1.0, 5.0], [1.0, 0.0, 5.0]]),
                         2.0, 1e-10)
