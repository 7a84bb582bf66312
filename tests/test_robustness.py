"""Robustness (issue 10): malformed inputs only ever raise RDConvexError subclasses that
name the argument; extreme but valid inputs get correct certified answers; solver
failure paths warn or raise as documented and never return NaN."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rdconvex as rdc
from rdconvex.closed_forms import binary_entropy, binary_hamming_rate
from rdconvex.io import problem_from_dict

from .conftest import TOLERANCE

floats_any = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, np.nan, np.inf, -np.inf]),
)
junk = st.one_of(st.none(), st.text(max_size=3), st.booleans(), floats_any,
                 st.lists(floats_any, max_size=4),
                 st.lists(st.lists(floats_any, max_size=3), max_size=3),
                 st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _names_argument(message: str, names) -> bool:
    """Whether ``message`` names one of the arguments as a whole word (so that a message
    merely containing the letter ``d`` does not pass for naming ``d``)."""
    return re.search(r"(?<![\w.])(" + "|".join(map(re.escape, names)) + r")(?![\w])",
                     message) is not None


def _run_counted(label: str, property_test, capsys) -> None:
    """Run a hypothesis property test and report how many cases it tried (a local
    count: no test depends on another's order or on a global counter)."""
    tried = [0]
    original = property_test.hypothesis.inner_test

    def counted(*args, **kwargs):
        tried[0] += 1
        return original(*args, **kwargs)

    property_test.hypothesis.inner_test = counted
    try:
        property_test()
    finally:
        property_test.hypothesis.inner_test = original
    with capsys.disabled():
        print(f"\n[robustness] {label}: {tried[0]} malformed cases tried")
    assert tried[0] > 0


def test_names_argument_needs_a_whole_word():
    assert _names_argument("d must be a matrix", ("d",))
    assert _names_argument("row 2 of d has no finite entry", ("d",))
    assert not _names_argument("the distortion is bad", ("d",))


@SETTINGS
@given(p=junk, d=junk, units=st.one_of(st.sampled_from(["nats", "bits"]), junk))
def _constructor_inputs(p, d, units):
    try:
        rdc.RateDistortion(p, d, units=units)
    except rdc.RDConvexError as exc:
        assert _names_argument(str(exc), ("p_x", "d", "units")), str(exc)


def test_malformed_constructor_inputs(capsys):
    _run_counted("constructor", _constructor_inputs, capsys)


@SETTINGS
@given(D=junk, slope=junk, solver=st.one_of(st.sampled_from(["clarabel", "ba", "nope"]), junk),
       tol=st.one_of(st.none(), floats_any), max_iter=st.one_of(st.none(), st.integers(-5, 5)))
def _solve_arguments(D, slope, solver, tol, max_iter):
    prob = rdc.RateDistortion([0.6, 0.4], 1 - np.eye(2))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
            res = prob.solve(D=D, slope=slope, solver=solver, tol=tol, max_iter=max_iter)
    except rdc.RDConvexError as exc:
        assert _names_argument(str(exc), ("D", "slope", "solver", "tol", "max_iter")), str(exc)
    else:
        assert np.isfinite(res.rate) and np.all(np.isfinite(res.channel))
        assert res.certificate.lower <= res.certificate.upper + 1e-9


def test_malformed_solve_arguments(capsys):
    _run_counted("solve", _solve_arguments, capsys)


problem_tables = st.fixed_dictionaries(
    {"source": junk},
    optional={"distortion": st.one_of(junk, st.fixed_dictionaries(
        {}, optional={"matrix": junk, "kind": st.one_of(junk, st.sampled_from(
            ["hamming", "squared_error", "cosine"])), "points": junk})),
        "loglik": st.one_of(junk, st.fixed_dictionaries({}, optional={"p_x_given_u": junk})),
        "units": junk, "queries": junk, "extra": junk})


@SETTINGS
@given(data=problem_tables)
def _problem_files(data):
    try:
        problem_from_dict(data, "fuzz.toml")
    except rdc.ProblemFileError as exc:
        assert "fuzz.toml" in str(exc)


def test_malformed_problem_files(capsys):
    _run_counted("problem file", _problem_files, capsys)


# ----------------------------------------------------------------- extreme inputs
def _quiet_solve(prob, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        return prob.solve(**kwargs)


def test_probabilities_down_to_1e_300(solver):
    prob = rdc.RateDistortion([1 - 1e-300, 1e-300], 1 - np.eye(2))
    res = _quiet_solve(prob, D=0.0, solver=solver)
    # R(0) = H(X) ~ 7e-298: proven bounds carry an absolute rounding allowance ~1e-15.
    truth = 1e-300 * (math.log(1e300) + 1.0)
    assert res.certificate.lower <= truth <= res.certificate.upper < 1e-14
    res = _quiet_solve(rdc.RateDistortion([0.5 - 1e-300, 0.5, 1e-300], 1 - np.eye(3)),
                       D=0.1, solver=solver)
    # the 1e-300 symbol is invisible at float64: R is the binary one at p = 1/2
    assert res.rate == pytest.approx(binary_hamming_rate(0.5, 0.1), abs=TOLERANCE[solver])


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_distortion_scaling(solver, scale):
    prob = rdc.RateDistortion([0.7, 0.3], (1 - np.eye(2)) * scale)
    res = _quiet_solve(prob, D=0.1 * scale, solver=solver)
    assert res.rate == pytest.approx(binary_hamming_rate(0.3, 0.1), abs=TOLERANCE[solver])
    assert res.slope == pytest.approx(math.log(9) / scale, rel=1e-2)
    assert res.distortion <= 0.1 * scale * (1 + 1e-12)


@pytest.mark.parametrize("slope", [1e2, 1e3, 1e4])
def test_large_slopes(solver, slope):
    d = np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 1.0], [0.5, 4.0, 0.0]])
    p = np.array([0.5, 0.3, 0.2])
    res = _quiet_solve(rdc.RateDistortion(p, d), slope=slope, solver=solver)
    assert res.rate == pytest.approx(-np.sum(p * np.log(p)), abs=max(TOLERANCE[solver], 1e-6))
    assert np.all(np.isfinite(res.channel)) and res.slope == slope
    assert res.certificate.lower <= res.certificate.upper + 1e-12


@pytest.mark.parametrize("p, d, D, rate", [
    ([1.0], [[0.5, 1.0]], 0.5, 0.0),                       # n = 1
    ([0.5, 0.5], [[0.5], [1.0]], 0.75, 0.0),               # m = 1
    ([0.5, 0.5], np.zeros((2, 2)), 0.0, 0.0),              # all-zero distortion
    ([0.7, 0.3], np.hstack([1 - np.eye(2)] * 2), 0.1, binary_hamming_rate(0.3, 0.1)),
    ([0.7, 0.3], np.hstack([1 - np.eye(2), 2 * np.ones((2, 1))]), 0.1,
     binary_hamming_rate(0.3, 0.1)),                        # dominated column
    ([0.7, 0.3], 1 - np.eye(2), 0.3, 0.0),                  # exactly D_max
    ([0.7, 0.3], 1 - np.eye(2), 0.0, binary_entropy(0.3)),  # exactly D_min
])
def test_degenerate_shapes(solver, p, d, D, rate):
    res = _quiet_solve(rdc.RateDistortion(p, d), D=D, solver=solver)
    assert res.rate == pytest.approx(rate, abs=TOLERANCE[solver])
    assert res.certificate.lower <= rate + 1e-9 and rate <= res.certificate.upper + 1e-9


def test_many_forbidden_pairs(solver):
    n = 6
    d = np.full((n, n), np.inf)
    np.fill_diagonal(d, 0.0)
    for i in range(n):  # a ring: each symbol may also be reproduced by its neighbour
        d[i, (i + 1) % n] = 1.0
    p = np.full(n, 1 / n)
    res = _quiet_solve(rdc.RateDistortion(p, d), D=0.2, solver=solver)
    ref = _quiet_solve(rdc.RateDistortion(p, d), D=0.2, solver="clarabel", tol=1e-10)
    assert np.all(res.channel[~np.isfinite(d)] == 0.0)
    assert res.rate == pytest.approx(ref.rate, abs=TOLERANCE[solver])


# ----------------------------------------------------------- solver failure paths
def test_max_iter_returns_certified_partial_with_warning():
    prob = rdc.RateDistortion([0.5, 0.3, 0.2], np.array([[0, 1, 3], [2, 0, 1], [0.5, 4, 0.0]]))
    with pytest.warns(rdc.InaccurateSolutionWarning):
        res = prob.solve(D=0.3, solver="ecos", max_iter=2)
    assert res.status in (rdc.Status.MAX_ITERATIONS, rdc.Status.OPTIMAL_INACCURATE)
    assert np.isfinite(res.rate) and np.isfinite(res.certificate.lower)
    assert res.certificate.lower <= res.certificate.upper


def test_solver_error_carries_partial(monkeypatch):
    from rdconvex.results import SolveInfo, Status
    from rdconvex.solvers.conic import Clarabel

    monkeypatch.setattr(Clarabel, "solve", lambda self, *a, **k: SolveInfo(
        Status.FAILED, 0, 0.0, "clarabel: solver_error"))
    prob = rdc.RateDistortion([0.5, 0.5], 1 - np.eye(2))
    with pytest.raises(rdc.SolverError, match="no usable point") as info:
        prob.solve(D=0.1, solver="clarabel")
    # Every form failed: Blahut–Arimoto's certified estimate comes with the error.
    partial = info.value.partial
    truth = binary_hamming_rate(0.5, 0.1)
    assert partial.solver == "ba" and partial.certificate.contains(truth, tol=1e-12)


# ------------------------------------------------------------ adversarial verify()
def test_verify_adversarial_claims():
    prob = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    exact = binary_hamming_rate(0.3, 0.1)
    # a claim off by 1e-6 is rejected once the tolerance is below it (the certified
    # gap is ~1e-9), and the exact value is accepted at that tolerance
    assert not rdc.verify(prob, D=0.1, rate=exact - 1e-6, tol=1e-8).valid
    assert not rdc.verify(prob, D=0.1, rate=exact + 1e-6, tol=1e-8).valid
    assert rdc.verify(prob, D=0.1, rate=exact, tol=1e-8).valid
    # the optimal backward-channel, with float noise of the kinds files carry
    r = (0.3 - 0.1) / (1 - 0.2)
    joint = np.array([[(1 - r) * 0.9, r * 0.1], [(1 - r) * 0.1, r * 0.9]])
    W = joint / joint.sum(axis=1, keepdims=True)
    noisy = W.copy()
    noisy[0] *= 1 + 1e-9                       # a row summing to 1 + 1e-9
    verdict = rdc.verify(prob, D=0.1, channel=noisy)
    assert verdict.channel_valid and verdict.achieved_rate == pytest.approx(exact, abs=1e-8)
    with_negative_zero = np.array([[1.0, -0.0], [-0.0, 1.0]])
    verdict = rdc.verify(prob, D=0.1, channel=with_negative_zero)
    assert verdict.channel_valid and verdict.valid  # -0.0 is a probability of zero
    assert verdict.achieved_rate == pytest.approx(binary_entropy(0.3))
    verdict = rdc.verify(prob, D=0.1, channel=W.T[:, :1])
    assert not verdict.valid and "shape" in verdict.reason
    verdict = rdc.verify(prob, D=0.1, channel=W * (1 + 1e-3))
    assert not verdict.valid and "sums to" in verdict.reason
    verdict = rdc.verify(prob, D=0.1 - 1e-6, channel=W)  # over budget by 1e-6
    assert not verdict.valid and "distortion" in verdict.reason


# ---------------------------------------- malformed inputs to the other entry points
def _entry_points():
    from rdconvex.schemes import cp_factor, perception_scheme

    # Each entry point with the names of the arguments the fuzzed values go to: an
    # error must name one of them.
    return {
        "LogLikelihood": (lambda a, b: rdc.LogLikelihood(a, b), ("p_x", "p_x_given_u")),
        "RateDistortionPerception": (lambda a, b: rdc.RateDistortionPerception(a, b),
                                     ("p_x", "d")),
        "translate": (lambda a, b: rdc.translate(a, b, 1.0), ("p_x", "d")),
        "log_loss_rate": (lambda a, b: rdc.log_loss_rate(a, b), ("p_x", "D")),
        "perception_scheme": (lambda a, b: perception_scheme(a, 1 - np.eye(2), b),
                              ("p_x", "p_z_given_x")),
        "cp_factor": (lambda a, b: cp_factor(a), ("V",)),
        "verify": (lambda a, b: rdc.verify(rdc.RateDistortion([0.5, 0.5], 1 - np.eye(2)),
                                           D=a, rate=b), ("D", "rate")),
    }


@pytest.mark.parametrize("name", sorted(_entry_points()))
def test_malformed_inputs_to_every_entry_point(name, capsys):
    call, names = _entry_points()[name]

    @SETTINGS
    @given(a=junk, b=junk)
    def check(a, b):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
                call(a, b)
        except rdc.RDConvexError as exc:
            assert _names_argument(str(exc), names), str(exc)

    _run_counted(name, check, capsys)
