"""Shared fixtures: the solvers every test is parametrized over, with tolerances.

A required solver that is missing is a failure (see test_solvers_installed), never a
silent skip. MOSEK joins the list only where it is importable.
"""

from __future__ import annotations

import numpy as np
import pytest

import rdconvex as rdc

#: Absolute tolerance (nats) on rates for each solver, and the certified gap it must
#: reach on the small reference problems.
TOLERANCE = {"clarabel": 1e-6, "ecos": 1e-5, "mosek": 1e-6, "scs": 5e-4, "ba": 1e-7}
REQUIRED = ("clarabel", "scs", "ecos", "ba")
CONIC = [s for s in rdc.installed_solvers("conic")]
ALL = [s for s in rdc.installed_solvers() if s in TOLERANCE]


@pytest.fixture(params=CONIC)
def conic_solver(request):
    return request.param


@pytest.fixture(params=ALL)
def solver(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


def random_problem(rng, n, m, inf_fraction=0.0):
    p = rng.dirichlet(np.ones(n))
    d = rng.random((n, m))
    if inf_fraction:
        mask = rng.random((n, m)) < inf_fraction
        mask[np.arange(n), rng.integers(0, m, n)] = False  # keep one allowed output per row
        d[mask] = np.inf
    return p, d


@pytest.fixture(autouse=True)
def _high_precision_references():
    """Every test computes its mpmath references at 60 digits, whatever precision another
    module set at import (mpmath's precision is global)."""
    import mpmath

    saved = mpmath.mp.dps
    mpmath.mp.dps = 60
    yield
    mpmath.mp.dps = saved
