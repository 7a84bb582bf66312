"""The one solver registry: every solver listed, one default policy, typed errors."""

from __future__ import annotations

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.results import Status
from rdconvex.solvers import DEFAULTS, REGISTRY, TASKS, get_solver, installed_solvers


def test_every_solver_is_listed():
    names = installed_solvers()
    for name in ("clarabel", "scs", "ecos", "highs", "ba", "sinkhorn"):
        assert name in names
    assert set(installed_solvers(kind="conic")) <= {"clarabel", "scs", "ecos", "mosek"}
    assert installed_solvers(kind="lp") == ["highs"]
    assert set(installed_solvers(kind="iterative")) == {"ba", "sinkhorn"}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_default_policy(task):
    adapter = get_solver(None, task=task)
    assert adapter.NAME == DEFAULTS[task] == get_solver("auto", task=task).NAME
    assert adapter.NAME in installed_solvers(task=task)


def test_a_solver_outside_its_task_is_refused():
    with pytest.raises(rdc.UnknownSolverError, match="not available for this problem"):
        get_solver("sinkhorn", task="rate_distortion")
    with pytest.raises(rdc.UnknownSolverError, match="not available for this problem"):
        get_solver("ba", task="lp")
    with pytest.raises(rdc.UnknownSolverError, match="solver must be a string"):
        get_solver(3, task="lp")


def test_adapters_validate_generic_settings():
    with pytest.raises(rdc.InvalidArgumentError, match="max_iter=0"):
        get_solver("clarabel").settings(None, 0)
    assert get_solver("scs").settings(None, None) == (REGISTRY["scs"].DEFAULT_TOL,
                                                     REGISTRY["scs"].DEFAULT_MAX_ITER)


def test_highs_solves_an_lp_with_duals():
    # min x0 + 2 x1  s.t.  x0 + x1 = 1, x >= 0: x = (1, 0), objective 1, dual 1.
    sol = get_solver("highs", task="lp").solve_lp(np.array([1.0, 2.0]),
                                                  A_eq=np.array([[1.0, 1.0]]),
                                                  b_eq=np.array([1.0]))
    assert sol.info.status is Status.OPTIMAL
    assert np.allclose(sol.x, [1.0, 0.0]) and sol.objective == pytest.approx(1.0)
    assert sol.eq_duals == pytest.approx([1.0])


def test_highs_reports_infeasibility():
    sol = get_solver("highs", task="lp").solve_lp(np.array([1.0]), A_eq=np.array([[1.0]]),
                                                  b_eq=np.array([-1.0]))
    assert sol.info.status is Status.INFEASIBLE and sol.x is None


@pytest.mark.parametrize("name", ["clarabel", "ecos", "scs"])
def test_conic_adapters_return_the_point_in_the_callers_units(name):
    # d scaled by 1e3: the channel is the same, the slope scales back by 1e-3.
    p, d = np.array([0.7, 0.3]), 1e3 * (1 - np.eye(2))
    raw = get_solver(name).solve_rate_distortion(p, d, D=100.0)
    assert raw.slope == pytest.approx(np.log(9) / 1e3, rel=1e-3)
    assert np.allclose(raw.channel.sum(axis=1), 1.0, atol=1e-6)
