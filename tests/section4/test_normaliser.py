"""The solvers of (13) one by one, and the readers of the Section IV programs.

References: Newton's canonical solution (accurate to rounding) against the concave
program solved by a conic solver (accurate to its tolerance); the LP normaliser against
the closed form mu = 1/(1+e^-lam) of Example 1; the bound of certify against (22)'s
closed form h(p) - h(D) at lam* = log((1-D)/D).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rdconvex import closed_forms as cf
from rdconvex.certify.single_parameter import dual_objective_bound
from rdconvex.programs import single_parameter as programs
from rdconvex.section4 import NoTranslationError
from rdconvex.section4.interval import coupling
from rdconvex.section4.normaliser import (
    canonical_normaliser,
    lp_normaliser,
    newton_normaliser,
    solve_normaliser,
)
from rdconvex.solvers import get_solver

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


def test_program_readers():
    lam = 2.0
    at = programs.at_lambda(np.array([0.8, 0.2]), HAMMING, lam)
    info = get_solver("clarabel", task="program").solve(at)
    assert info.status.has_point
    point = at.read_point()
    np.testing.assert_allclose(point.mu, cf.example1_mu(lam), rtol=1e-7)
    np.testing.assert_allclose(point.log_mu, np.log(point.mu), rtol=1e-12)
    likelihood = solve_normaliser(np.array([0.8, 0.2]), HAMMING, lam, 1e-10).likelihood
    prog = programs.coupling(np.array([0.8, 0.2]), likelihood)
    get_solver("clarabel", task="program").solve(prog)
    _, Q_lp = coupling(np.array([0.8, 0.2]), likelihood)
    np.testing.assert_allclose(prog.read_point(), Q_lp, atol=1e-7)


def test_dual_objective_bound_is_22_at_lam_star():
    """At lam* = log((1-D)/D), Example 1's (22) is h(p) - h(D); a perturbed nu (not a
    solution of (13)) still gives a bound below it."""
    p, D = np.array([0.8, 0.2]), 0.1
    lam = cf.example1_slope(D)
    r, kernel = programs.scaled_kernel(HAMMING, lam)
    nu = np.full(2, cf.example1_mu(lam))
    exact = cf.binary_hamming_rate(0.2, D)
    assert dual_objective_bound(p, D, lam, nu, kernel, r) == pytest.approx(exact, abs=1e-14)
    for factor in (0.5, 1.3):
        assert dual_objective_bound(p, D, lam, nu * [1.0, factor], kernel, r) < exact
    assert dual_objective_bound(p, D, lam, np.array([nu[0], 0.0]), kernel, r) == -math.inf
