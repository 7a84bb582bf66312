"""Screened conic solves: same certified answer as the full program, fewer columns."""

from __future__ import annotations

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.certify import screening

from ..conftest import random_problem


@pytest.mark.parametrize("inf_fraction", [0.0, 0.3])
def test_screened_matches_full(rng, inf_fraction):
    p, d = random_problem(rng, 40, 60, inf_fraction)
    prob = rdc.RateDistortion(p, d)
    D = prob.D_min + 0.2 * (min(prob.D_max, prob.D_min + 1.0) - prob.D_min)
    full = prob.solve(D=D, screen=False, solver="clarabel")
    screened = prob.solve(D=D, screen=True, solver="clarabel")
    assert "screened" in screened.message
    assert screened.rate == pytest.approx(full.rate, abs=1e-6)
    assert screened.certificate.gap <= 1e-6
    # each certificate brackets the other's rate
    assert screened.certificate.lower <= full.certificate.upper + 1e-12
    assert full.certificate.lower <= screened.certificate.upper + 1e-12


def test_violated_outputs_detects_missing_column():
    # Outputs 0 and 2 are needed (x=0 and x=2 are far apart); screening only output 0
    # must flag output 2 as violated.
    p = np.array([0.5, 0.5])
    d = np.array([[0.0, 0.5, 4.0], [4.0, 0.5, 0.0]])
    q = np.array([1.0, 0.0, 0.0])
    bad = screening.violated_outputs(p, d, slope=3.0, q=q, support=np.array([0]))
    assert 2 in bad


def test_screen_argument_validated():
    prob = rdc.RateDistortion([0.5, 0.5], 1 - np.eye(2))
    with pytest.raises(rdc.InvalidArgumentError, match="screen"):
        prob.solve(D=0.1, screen="yes")
    with pytest.raises(rdc.InvalidArgumentError, match="screen=True"):
        prob.solve(D=0.1, screen=True, formulation="dual", solver="clarabel")
    with pytest.raises(rdc.InvalidArgumentError, match="conic solvers only"):
        prob.solve(D=0.1, screen=True, solver="ba")


def test_failed_conic_solve_carries_the_screening_estimate(rng, monkeypatch):
    from rdconvex.results import SolveInfo, Status
    from rdconvex.solvers.conic import Clarabel

    p, d = random_problem(rng, 40, 60)
    prob = rdc.RateDistortion(p, d)
    D = prob.D_min + 0.2 * (prob.D_max - prob.D_min)
    monkeypatch.setattr(Clarabel, "solve", lambda self, *a, **k: SolveInfo(
        Status.FAILED, 0, 0.0, "clarabel: solver_error"))
    with pytest.raises(rdc.SolverError, match="estimate") as info:
        prob.solve(D=D, screen=True, solver="clarabel")
    partial = info.value.partial
    assert isinstance(partial, rdc.Result) and partial.solver == "ba"
    assert partial.distortion <= D + 1e-12
    assert partial.certificate.lower <= partial.certificate.upper
    assert partial.certificate.gap < 1e-5
