"""The cvxpy atoms are DCP and agree with their numpy evaluators."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from rdconvex import atoms


def test_mutual_information_atom_matches_numpy(rng):
    p = rng.dirichlet(np.ones(4))
    W = rng.dirichlet(np.ones(3), size=4)
    J = cp.Variable((4, 3))
    q = cp.Variable(3)
    expr = atoms.mutual_information(J, p, q)
    assert expr.is_convex()
    J.value = p[:, None] * W
    q.value = J.value.sum(axis=0)
    assert expr.value == pytest.approx(atoms.channel_mutual_information(p, W), rel=1e-12)


def test_entropy_kl_cross_entropy(rng):
    p = rng.dirichlet(np.ones(5))
    q = rng.dirichlet(np.ones(5))
    x = cp.Variable(5)
    x.value = q
    assert atoms.entropy(x).is_concave()
    assert atoms.entropy(x).value == pytest.approx(scipy_entropy(q))
    assert atoms.kl_divergence(cp.Constant(p), x).value == pytest.approx(scipy_entropy(p, q))
    ce = atoms.cross_entropy(p, x)
    assert ce.is_convex()
    assert ce.value == pytest.approx(atoms.cross_entropy_value(p, q))
    assert atoms.cross_entropy_value(p, q) == pytest.approx(
        atoms.entropy_value(p) + atoms.kl_value(p, q))
    nla = atoms.neg_log_affine(p, x)
    assert nla.is_convex() and nla.value == pytest.approx(-np.log(p @ q))


def test_numpy_evaluators_handle_zeros_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert atoms.entropy_value([1.0, 0.0]) == 0.0
        assert atoms.kl_value([0.0, 1.0], [0.5, 0.5]) == pytest.approx(np.log(2))
        assert atoms.kl_value([0.5, 0.5], [1.0, 0.0]) == np.inf
        assert atoms.mutual_information_value(np.array([[0.5, 0.0], [0.0, 0.5]])) == \
            pytest.approx(np.log(2))
        d = np.array([[0.0, np.inf], [np.inf, 0.0]])
        assert atoms.expected_distortion([0.5, 0.5], np.eye(2), d) == 0.0
        assert atoms.expected_distortion([0.5, 0.5], np.ones((2, 2)) / 2, d) == np.inf
