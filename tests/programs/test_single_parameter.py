"""The Section IV programs read back in their own terms (``read_point``).

References: Example 1's closed form mu = 1/(1+e^-lam); the coupling LP solved by HiGHS.
"""

from __future__ import annotations

import numpy as np

from rdconvex import closed_forms as cf
from rdconvex.programs import single_parameter as programs
from rdconvex.section4.interval import coupling
from rdconvex.section4.normaliser import solve_normaliser
from rdconvex.solvers import get_solver

HAMMING = 1.0 - np.eye(2)


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
