"""Every bad input to the foundation raises a typed RDConvexError naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.errors import (
    InfeasibleDistortionError,
    InvalidArgumentError,
    InvalidDistortionError,
    InvalidDistributionError,
    UnknownSolverError,
)

H = 1 - np.eye(2)


@pytest.mark.parametrize("p, match", [
    ([[0.5, 0.5]], "p_x must be a 1-D"),
    ([0.5, -0.5, 1.0], "negative entry"),
    ([0.5, np.nan], "NaN or inf"),
    ([0.5, np.inf], "NaN or inf"),
    ([0.5, 0.6], r"sums to 1\.1.*normalize=True"),
    ([], "empty"),
    (["a", "b"], "p_x must be"),
    ("ab", "string"),
])
def test_bad_source(p, match):
    with pytest.raises(InvalidDistributionError, match=match):
        rdc.RateDistortion(p, np.zeros((max(1, len(p)), 2)))


def test_normalize_opt_in():
    prob = rdc.RateDistortion([1.0, 3.0], H, normalize=True)
    np.testing.assert_allclose(prob.p_x, [0.25, 0.75])


@pytest.mark.parametrize("d, match", [
    (np.zeros((3, 2)), r"shape \(n, m\) = \(2, m\)"),
    (np.zeros(2), "2-D"),
    (np.array([[0.0, -1.0], [1.0, 0.0]]), "negative"),
    (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN"),
    (np.array([[np.inf, np.inf], [1.0, 0.0]]), "row 0 of d has no finite entry"),
])
def test_bad_distortion(d, match):
    with pytest.raises(InvalidDistortionError, match=match):
        rdc.RateDistortion([0.5, 0.5], d)


def test_forbidden_row_ok_when_probability_zero():
    prob = rdc.RateDistortion([1.0, 0.0], np.array([[0.0, 1.0], [np.inf, np.inf]]))
    res = prob.solve(D=0.5)
    assert res.rate == 0.0
    np.testing.assert_allclose(res.channel.sum(axis=1), 1.0)


def test_below_D_min_names_D_min():
    prob = rdc.RateDistortion([0.5, 0.5], np.array([[1.0, 2.0], [1.0, 0.5]]))
    with pytest.raises(InfeasibleDistortionError, match=r"below D_min=0\.75"):
        prob.solve(D=0.5)


@pytest.mark.parametrize("D", [np.nan, np.inf, -np.inf, "0.1", None])
def test_bad_D(D):
    prob = rdc.RateDistortion([0.5, 0.5], H)
    with pytest.raises(InvalidArgumentError, match="D=|D must|exactly one"):
        prob.solve(D=D)


@pytest.mark.parametrize("slope", [-1.0, np.nan, np.inf])
def test_bad_slope(slope):
    with pytest.raises(InvalidArgumentError, match="slope"):
        rdc.RateDistortion([0.5, 0.5], H).solve(slope=slope)


def test_both_D_and_slope():
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        rdc.RateDistortion([0.5, 0.5], H).solve(D=0.1, slope=1.0)


def test_unknown_units():
    with pytest.raises(InvalidArgumentError, match="units='decibels'"):
        rdc.RateDistortion([0.5, 0.5], H, units="decibels")


def test_unknown_solver_lists_installed():
    with pytest.raises(UnknownSolverError, match="clarabel"):
        rdc.RateDistortion([0.5, 0.5], H).solve(D=0.1, solver="gurobi")


def test_missing_solver_says_not_installed(monkeypatch):
    from rdconvex.solvers import REGISTRY

    monkeypatch.setattr(REGISTRY["mosek"], "is_installed", classmethod(lambda cls: False))
    with pytest.raises(UnknownSolverError, match="not installed.*installed solvers"):
        rdc.RateDistortion([0.5, 0.5], H).solve(D=0.1, solver="mosek")


@pytest.mark.parametrize("kwargs, match", [
    ({"tol": -1.0}, "tol"), ({"max_iter": 0}, "max_iter"), ({"max_iter": 2.5}, "max_iter"),
    ({"formulation": "both"}, "formulation"),
])
def test_bad_solve_options(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        rdc.RateDistortion([0.5, 0.5], H).solve(D=0.1, **kwargs)


def test_errors_are_value_errors():
    assert issubclass(rdc.RDConvexError, ValueError)
    for cls in (InvalidDistributionError, InvalidDistortionError, InfeasibleDistortionError,
                UnknownSolverError, rdc.SolverError):
        assert issubclass(cls, rdc.RDConvexError)


def test_inaccurate_solve_warns_and_says_so():
    prob = rdc.RateDistortion([0.5, 0.3, 0.2], np.array([[0, 1, 3], [2, 0, 1], [0.5, 4, 0.0]]))
    with pytest.warns(rdc.InaccurateSolutionWarning, match="max_iterations"):
        res = prob.solve(D=0.3, solver="clarabel", max_iter=3)
    assert res.status is rdc.Status.MAX_ITERATIONS
    assert res.certificate.lower <= res.certificate.upper
    assert np.isfinite(res.rate) and res.distortion <= 0.3 + 1e-12
