"""The programs of the log-likelihood family: (8) and the special-point LPs, their
readers, and the array form of the LP against the Program form.

References: the tied instance and Fig. 4 of tests/problems/loglik_cases.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import entr

from rdconvex.programs.loglik import (
    SpecialPointLP,
    d_min_objective,
    decoder_channel,
    rate_at_d_min,
    special_point_lp,
    special_point_lp_arrays,
)
from rdconvex.solvers import get_solver

from ..problems.loglik_cases import (
    CYCLIC_A,
    CYCLIC_P,
    CYCLIC_RATE,
    CYCLIC_TIES,
    FIG4,
    FIG4_D1,
    FIG4_D2,
)

P, A, TIES = CYCLIC_P, CYCLIC_A, CYCLIC_TIES


def test_program8_reads_back_Q():
    program = rate_at_d_min(P, TIES)
    assert program.read_point() is None  # not solved yet
    info = get_solver("clarabel", task="program").solve(program)
    assert info.status.has_point
    Q = program.read_point()
    assert Q.shape == (3,)
    assert d_min_objective(P, TIES, Q) == pytest.approx(CYCLIC_RATE, abs=1e-7)


def test_decoder_channel_is_Q_on_the_ties():
    W = decoder_channel([0.4, 0.6, 0.0], TIES)
    np.testing.assert_allclose(W, [[0.4, 0.6, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    # Q vanishing on T(x): uniform on T(x).
    W = decoder_channel([1.0, 0.0, 0.0], TIES)
    np.testing.assert_allclose(W[1], [0.0, 0.5, 0.5])
    assert d_min_objective(P, TIES, [1.0, 0.0, 0.0]) == np.inf


@pytest.mark.parametrize("sense, value", [("min", FIG4_D1), ("max", FIG4_D2)])
def test_special_point_lp_program_and_arrays_agree(sense, value):
    p, likelihood = np.array(FIG4["p_x"]), np.array(FIG4["p_x_given_u"])
    h = entr(likelihood).sum(axis=0)
    program = special_point_lp(p, likelihood, h, sense)
    get_solver("clarabel", task="program").solve(program)
    point = program.read_point()
    assert isinstance(point, SpecialPointLP) and point.duals.shape == (3,)
    assert float(h @ point.Q) == pytest.approx(value, abs=1e-7)
    c, A_eq, b_eq = special_point_lp_arrays(p, likelihood, h, sense)
    solution = get_solver("highs", task="lp").solve_lp(c, A_eq=A_eq, b_eq=b_eq)
    assert abs(solution.objective) == pytest.approx(value, abs=1e-12)
    np.testing.assert_allclose(A_eq @ point.Q, b_eq, atol=1e-7)
