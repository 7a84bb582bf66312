"""Log-domain Sinkhorn for the fixed-output rate (entropic OT) and its certificates.

References: the 2x2 Hamming coupling at multiplier lam with uniform marginals is
``[[1, e^-lam], [e^-lam, 1]] / (2 (1 + e^-lam))`` (symmetric, equal row sums);
the binary perfect-perception rate ``2 h(p) - H(1-p-D/2, D/2, D/2, p-D/2)`` (derivation
in test_perception.py); a Clarabel solve of the same entropic-OT program written
directly in cvxpy for rectangular marginals; the entropic-OT dual written out below
(weak duality: any potentials give a lower bound; the certified version is tested in
tests/certify/test_perception.py).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.special import entr, logsumexp, rel_entr

from rdconvex.iterative.sinkhorn import (
    fixed_output_rate,
    round_to_coupling,
    sinkhorn,
    smallest_feasible_weight,
)


def _kl(J, a, b):
    return float(rel_entr(J, np.outer(a, b)).sum())


def entropic_dual_bound(a, b, cost, lam, f, g, D):
    """sum a f + sum b g - lam D - log sum a_x b_y e^{f_x + g_y - lam C_xy} (float)."""
    kernel = np.where(np.isfinite(cost), -lam * np.where(np.isfinite(cost), cost, 0), -np.inf)
    mass = logsumexp((np.log(a) + f)[:, None] + (np.log(b) + g)[None, :] + kernel)
    return float(a @ f + b @ g - lam * D - mass)


def sinkhorn_lower_bound(a, b, cost, D, solution):
    return max(entropic_dual_bound(a, b, cost, lam, f, g, D)
               for lam, f, g in solution.potentials)


def test_sinkhorn_2x2_closed_form():
    lam = 1.7
    sol = sinkhorn(np.array([0.5, 0.5]), np.array([0.5, 0.5]), 1 - np.eye(2), lam)
    J = np.exp(sol.log_coupling)
    e = np.exp(-lam)
    np.testing.assert_allclose(J, np.array([[1, e], [e, 1]]) / (2 * (1 + e)), atol=1e-15)
    assert sol.converged


@pytest.mark.parametrize("lam", [0.0, 0.5, 5.0, 40.0])
def test_sinkhorn_marginals_large_and_small_lam(rng, lam):
    a, b = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(4))
    cost = rng.random((6, 4))
    cost[0, 1] = np.inf
    sol = sinkhorn(a, b, cost, lam, tol=1e-13)
    J = np.exp(sol.log_coupling)
    assert sol.converged
    np.testing.assert_allclose(J.sum(axis=1), a, atol=1e-13)
    np.testing.assert_allclose(J.sum(axis=0), b, atol=1e-13)
    assert J[0, 1] == 0.0


def test_newton_polish_agrees_with_plain_sweeps(rng):
    a, b = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
    cost = rng.random((5, 5))
    plain = sinkhorn(a, b, cost, 3.0, newton_after=0, tol=1e-14, max_iter=100_000)
    newton = sinkhorn(a, b, cost, 3.0, newton_after=5, tol=1e-14)
    assert plain.converged and newton.converged
    np.testing.assert_allclose(np.exp(plain.log_coupling), np.exp(newton.log_coupling),
                               atol=1e-13)


def test_dual_bound_is_below_the_optimum_for_any_potentials(rng):
    a = np.array([0.2, 0.3, 0.5])
    d = 1 - np.eye(3)
    D = 0.2
    sol = fixed_output_rate(a, a, d, D)
    optimum = _kl(sol.coupling, a, a)
    assert sinkhorn_lower_bound(a, a, d, D, sol) == pytest.approx(optimum, abs=1e-12)
    for _ in range(20):
        f, g, lam = rng.normal(size=3), rng.normal(size=3), rng.exponential(3.0)
        assert entropic_dual_bound(a, a, d, lam, f, g, D) <= optimum + 1e-12


def test_round_to_coupling(rng):
    a, b = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(3))
    J = np.outer(a, b) * (1 + 0.05 * rng.normal(size=(5, 3)))
    R = round_to_coupling(J, a, b)
    assert np.all(R >= 0)
    np.testing.assert_allclose(R.sum(axis=1), a, atol=1e-15)
    np.testing.assert_allclose(R.sum(axis=0), b, atol=1e-15)
    # Altschuler et al., Lemma 7: ||R - J||_1 <= 2 (||J1 - a||_1 + ||J^T 1 - b||_1).
    err = np.abs(J.sum(axis=1) - a).sum() + np.abs(J.sum(axis=0) - b).sum()
    assert np.abs(R - J).sum() <= 2 * err + 1e-15


@pytest.mark.parametrize("p, D", [(0.3, 0.0), (0.3, 1e-7), (0.3, 0.1), (0.45, 0.4), (0.2, 0.5)])
def test_fixed_output_rate_binary_perfect_perception(p, D):
    a = np.array([1 - p, p])
    sol = fixed_output_rate(a, a, 1 - np.eye(2), D)
    if D >= 2 * p * (1 - p):
        exact = 0.0
    else:
        t = D / 2
        exact = float(2 * (entr(p) + entr(1 - p)) - entr(np.array([1 - p - t, t, t, p - t])).sum())
    J = sol.coupling
    assert _kl(J, a, a) == pytest.approx(exact, abs=1e-11)
    assert sinkhorn_lower_bound(a, a, 1 - np.eye(2), D, sol) <= exact + 1e-12
    assert float(np.sum(J * (1 - np.eye(2)))) <= D
    np.testing.assert_allclose(J.sum(axis=0), a, atol=1e-15)
    np.testing.assert_allclose(J.sum(axis=1), a, atol=1e-15)
    assert sol.converged


def test_fixed_output_rate_rectangular_against_cvxpy(rng):
    a, b = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(3))
    cost = rng.random((4, 3))
    D = 0.8 * float(a @ cost @ b)
    sol = fixed_output_rate(a, b, cost, D)
    J = cp.Variable((4, 3), nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.sum(cp.rel_entr(J, np.outer(a, b)))),
                      [cp.sum(J, axis=1) == a, cp.sum(J, axis=0) == b,
                       cp.sum(cp.multiply(cost, J)) <= D])
    prob.solve(solver="CLARABEL")
    upper = _kl(sol.coupling, a, b)
    lower = sinkhorn_lower_bound(a, b, cost, D, sol)
    assert lower <= prob.value + 1e-7
    assert upper == pytest.approx(prob.value, abs=1e-7)
    assert upper - lower <= 1e-10
    assert sol.lam > 0 and sol.bracket[0] <= sol.lam <= sol.bracket[1]


def test_smallest_feasible_weight():
    assert smallest_feasible_weight(lambda t: t >= 0.3, 0.0) == pytest.approx(0.3, abs=1e-15)
    assert smallest_feasible_weight(lambda t: t >= 0.3, 0.9) == pytest.approx(0.3, abs=1e-15)
    assert smallest_feasible_weight(lambda t: True, 0.5) <= 1e-15
    assert smallest_feasible_weight(lambda t: t >= 1.0, 0.2) == 1.0
