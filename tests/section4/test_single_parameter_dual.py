"""The set I and the single-parameter dual (22) (Theorem 3), and the Gaussian source.

References: Example 1 closed forms (I = [log((1-p)/p), inf), lam* = log((1-D)/D),
R = h(p) - h(D)); the asymmetric binary source's I from the sign conditions of
Q = A^{-1} p written out by hand (below); the classical solver on (X, d) with its
certificate for everything else; the Gaussian R(D) = 1/2 log(sigma^2/D) (Cover &
Thomas Thm 10.3.2) with the discretisation error explained in test_gaussian_grid.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.special import entr

import rdconvex as rdc
from rdconvex import closed_forms as cf
from rdconvex.programs import single_parameter as programs
from rdconvex.section4 import (
    NoTranslationError,
    in_interval,
    single_parameter_bound,
    single_parameter_dual,
    translate,
    translation_interval,
)
from rdconvex.solvers import get_solver

from ..conftest import ALL, TOLERANCE
from ..problems.loglik_cases import mp_binary_entropy, mp_pmf

HAMMING = 1.0 - np.eye(2)
P3 = np.array([0.5, 0.3, 0.2])
D3 = np.array([[0.0, 1.0, 3.0],
               [2.0, 0.0, 1.0],
               [1.0, 2.0, 0.0]])
P_ASYM = np.array([0.4, 0.6])
A_COST, B_COST = 1.0, 2.0
D_ASYM = np.array([[0.0, A_COST], [B_COST, 0.0]])


@pytest.fixture(scope="module")
def example1_interval():
    return translation_interval([0.8, 0.2], HAMMING)


@pytest.fixture(scope="module")
def d3_interval():
    return translation_interval(P3, D3)


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        return fn(*args, **kwargs)


def lams_in(search, per_interval=15):
    out = []
    for lo, hi in search.intervals:
        out += list(np.geomspace(lo, hi, per_interval))
    return out


# --------------------------------------------------------------- Example 1


def test_example1_interval(example1_interval):
    (lo, hi), = example1_interval.intervals
    assert lo == pytest.approx(cf.example1_interval_start(0.2), abs=1e-6)  # log 4
    assert example1_interval.open_right == (True,) and example1_interval.open_left == (False,)
    assert hi == example1_interval.lam_range[1]
    assert not in_interval([0.8, 0.2], HAMMING, lo * (1 - 1e-4)).member
    # symmetric extension: p > 1/2 gives the same I
    (lo_sym, _), = translation_interval([0.2, 0.8], HAMMING).intervals
    assert lo_sym == pytest.approx(lo, abs=1e-6)


@pytest.mark.parametrize("D", [0.02, 0.1, 0.15, 0.19])
def test_example1_single_parameter_dual(solver, example1_interval, D):
    """(26)-(28): lam* = log((1-D)/D), R = h(p) - h(D), exact with an interior maximiser."""
    res = quietly(single_parameter_dual, [0.8, 0.2], HAMMING, D, solver=solver,
                  interval=example1_interval)
    exact = cf.binary_hamming_rate(0.2, D)
    assert res.rate == pytest.approx(exact, abs=1e-9)
    # A proven lower bound: below the 60-digit closed form for p~ = p / sum p exactly.
    assert res.rate <= mp_example1_rate([0.8, 0.2], D)
    assert res.lam == pytest.approx(cf.example1_slope(D), rel=1e-9)
    assert res.exact and res.interior and "inside I" in res.reason
    np.testing.assert_allclose(res.mu, cf.example1_mu(res.lam), rtol=1e-12)
    # the coupled output pmf is Ber(q), q = (p (1 + e^lam) - 1) / (e^lam - 1)
    e = math.exp(res.lam)
    assert res.output_pmf[1] == pytest.approx((0.2 * (1 + e) - 1) / (e - 1), abs=1e-8)
    cert = res.reference.certificate
    tol = TOLERANCE[solver]
    assert cert.lower - tol <= res.rate <= cert.upper + 1e-10
    assert res.reference.solver == solver


def test_example1_units_bits(example1_interval):
    nats = single_parameter_dual([0.8, 0.2], HAMMING, 0.1, interval=example1_interval)
    bits = single_parameter_dual([0.8, 0.2], HAMMING, 0.1, units="bits",
                                 interval=example1_interval)
    assert bits.rate == pytest.approx(nats.rate / math.log(2), rel=1e-12)
    assert bits.lam == pytest.approx(nats.lam, rel=1e-9)  # lam is per unit of d
    assert bits.slope == pytest.approx(nats.lam / math.log(2), rel=1e-9)
    assert bits.entropy == pytest.approx(cf.binary_entropy(0.2) / math.log(2))


def test_example1_at_D_max_and_beyond(example1_interval):
    """At D = p, R = 0 and the maximiser is I's left end log 4, where the coupled
    output is Ber(0) and its distortion is exactly D: still a stationary point."""
    res = single_parameter_dual([0.8, 0.2], HAMMING, 0.2, interval=example1_interval)
    assert res.rate == pytest.approx(0.0, abs=1e-12)
    assert res.lam == pytest.approx(math.log(4), rel=1e-9)
    assert res.exact and res.interior and "stationary point" in res.reason
    assert res.output_pmf[1] == pytest.approx(0.0, abs=1e-9)
    # beyond D_max the slope of R is 0, outside I: the maximiser over I is its end
    # log 4 (derivative < 0 on all of I) and (22) = -0.1 log 4 < R = 0.
    beyond = single_parameter_dual([0.8, 0.2], HAMMING, 0.3, interval=example1_interval)
    assert beyond.lam == pytest.approx(math.log(4), rel=1e-9) and not beyond.interior
    assert beyond.rate < 0 and not beyond.exact


# ----------------------------------------------------------- lower bound


@pytest.mark.parametrize("name", ["example1", "d3", "asym", "d32"])
def test_every_lam_in_I_gives_a_lower_bound(name, example1_interval, d3_interval):
    """(22)'s objective at any sampled lam in I is <= the certified upper bound of R(D)."""
    problems = {
        "example1": ([0.8, 0.2], HAMMING, example1_interval, (0.05, 0.15)),
        "d3": (P3, D3, d3_interval, (0.1, 0.5, 0.7)),
        "asym": (P_ASYM, D_ASYM, None, (0.1, 0.3)),
        "d32": ([0.5, 0.3, 0.2], np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]), None,
                (0.15, 0.3)),
    }
    p, d, search, Ds = problems[name]
    search = search or translation_interval(p, d, num=60)
    prob = rdc.RateDistortion(p, d)
    for D in Ds:
        cert = prob.solve(D=D).certificate
        values = [single_parameter_bound(p, d, D, lam) for lam in lams_in(search)]
        assert max(values) <= cert.upper  # both proven: no tolerance
        # and the maximisation of (22) beats every sample
        dual = single_parameter_dual(p, d, D, interval=search)
        assert dual.rate >= max(values) - 1e-12
        assert dual.rate <= cert.upper


def test_lower_bound_also_outside_I():
    """Where (13) has mu >= 0 but no coupling (lam below I), the value is still a bound."""
    p, d = [0.5, 0.3, 0.2], np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    lam = 0.3  # I starts at log(5/3) = 0.51
    assert not in_interval(p, d, lam).member
    upper = rdc.RateDistortion(p, d).solve(D=0.3).certificate.upper
    assert single_parameter_bound(p, d, 0.3, lam) <= upper


# ------------------------------------- non-symmetric: exact and inexact regimes


@pytest.mark.parametrize("D", [0.1, 0.3])
def test_d3_exact_where_slope_in_I(solver, d3_interval, D):
    res = quietly(single_parameter_dual, P3, D3, D, solver=solver, interval=d3_interval)
    assert res.exact and res.interior
    tol = TOLERANCE[solver]
    assert res.rate == pytest.approx(res.reference.rate, abs=2 * tol)
    assert res.lam == pytest.approx(res.reference.slope, rel=100 * tol)
    np.testing.assert_allclose(res.output_pmf, res.reference.output_pmf, atol=100 * tol)


@pytest.mark.parametrize("D", [0.5, 0.7])
def test_d3_not_exact_where_slope_below_I(d3_interval, D):
    """At these D output 2 is unused (its Gallager constraint is slack), the slope of R
    lies below I, and (22) is a strict lower bound, reported as not exact."""
    res = single_parameter_dual(P3, D3, D, interval=d3_interval)
    (lo, _), = res.I
    cert = res.reference.certificate
    assert res.reference.slope < lo
    assert not res.exact and not res.interior and "only a lower" in res.reason
    assert res.lam == pytest.approx(lo)
    assert res.rate < cert.lower - 1e-3
    assert res.reference.output_pmf[2] < 1e-6


# ------------------------------------------------------- asymmetric binary


def asym_interval_start():
    """I's left end for d = [[0, a], [b, 0]] written out by hand: with
    alpha = e^-lam a, beta = e^-lam b, (13) gives mu0 = (1-beta)/(1-alpha beta),
    mu1 = (1-alpha)/(1-alpha beta) > 0, and Q = A^{-1} p >= 0 iff
    p0/mu0 >= alpha p1/mu1 and p1/mu1 >= beta p0/mu0."""
    p0, p1 = P_ASYM

    def conditions(lam):
        alpha, beta = math.exp(-lam * A_COST), math.exp(-lam * B_COST)
        mu0, mu1 = (1 - beta) / (1 - alpha * beta), (1 - alpha) / (1 - alpha * beta)
        return p0 / mu0 - alpha * p1 / mu1, p1 / mu1 - beta * p0 / mu0

    roots = [brentq(lambda lam, i=i: conditions(lam)[i], 1e-6, 50.0)
             for i in (0, 1) if conditions(1e-6)[i] < 0]
    return max(roots)


def test_asymmetric_binary_interval_and_translation(solver):
    search = translation_interval(P_ASYM, D_ASYM)
    (lo, _), = search.intervals
    assert search.open_right == (True,)
    assert lo == pytest.approx(asym_interval_start(), abs=1e-6)
    # translation at a lam in I: R_ll(to_loglik(D)) = R(D)
    tr = translate(P_ASYM, D_ASYM, 1.5)
    prob = rdc.RateDistortion(P_ASYM, D_ASYM)
    tol = TOLERANCE[solver]
    for D in (0.1, 0.25):
        res = quietly(prob.solve, D=D, solver=solver)
        res_ll = quietly(tr.loglik.solve, D=tr.to_loglik(D), solver=solver)
        assert res_ll.rate == pytest.approx(res.rate, abs=2 * tol)
    # (22) against the solver, through D_max = 0.4 (R = 0)
    for D in (0.05, 0.2, 0.35, 0.4):
        dual = quietly(single_parameter_dual, P_ASYM, D_ASYM, D, solver=solver,
                       interval=search)
        assert dual.exact
        assert dual.rate == pytest.approx(dual.reference.rate, abs=2 * tol)
        assert dual.rate <= dual.reference.certificate.upper + 1e-10


# ------------------------------------------------------------ Gaussian grid


GAUSS_SOLVERS = [s for s in ("clarabel", "ba") if s in ALL]


@pytest.fixture(scope="module")
def gaussian_grid():
    points, p = cf.discretised_gaussian(41, width=4.0)
    return points, p, (points[:, None] - points[None, :]) ** 2


@pytest.mark.parametrize("solver_name", GAUSS_SOLVERS)
@pytest.mark.parametrize("D", [0.1, 0.25, 0.5])
def test_gaussian_grid_rate_within_discretisation_error(gaussian_grid, solver_name, D):
    r"""N(0, 1) on 41 points of [-4, 4] (h = 0.2), squared error, reproduction on the
    same grid, against 1/2 log(1/D).

    Error bound used (all computable):
    * rigorous lower side: the lattice Shannon lower bound
      ``R_h(D) >= H(X_h) - H*(D)``, ``H*(D)`` the largest entropy of a variable on
      ``hZ`` with second moment ``<= D`` (valid because ``X - Y`` lies on ``hZ``);
    * upper side: ``R_h(D) <= 1/2 log(Var(X_h)/D)``, the Gaussian upper bound (any
      source of that variance, reproduction on the real line; restricting the
      reproduction to the grid adds an error of order ``exp(-2 pi^2 D / h^2)``, below
      1e-20 here);
    so ``|R_h(D) - 1/2 log(1/D)| <= e_h + G_h`` with ``e_h = 1/2 log Var(X_h)``
    (Sheppard: ``Var(X_h) ~ 1 + h^2/12``) and ``G_h`` the width of the sandwich.
    ECOS and SCS are left out: on this ill-conditioned kernel at 41x41 they stop
    with gaps of 5e-3 and 2e-2 (SCS after ~12 s).
    """
    points, p, d = gaussian_grid
    h = points[1] - points[0]
    res = quietly(rdc.RateDistortion(p, d).solve, D=D, solver=solver_name)
    cert = res.certificate
    variance = float(p @ points ** 2)
    slb = float(entr(p).sum()) - cf.lattice_max_entropy(h, D)
    gaussian_upper = 0.5 * math.log(variance / D)
    assert slb <= cert.upper + 1e-12                 # rigorous
    assert cert.lower <= gaussian_upper + 1e-9       # Gaussian upper bound
    e_h = 0.5 * math.log(variance)
    G_h = gaussian_upper - slb
    assert 0 < G_h < 1e-4 and 0 < e_h < 2e-3
    assert abs(res.rate - cf.gaussian_rate(1.0, D)) <= e_h + G_h + cert.gap
    assert res.slope == pytest.approx(1 / (2 * D), rel=1e-3)


def test_gaussian_grid_interval_and_22(gaussian_grid):
    """On the truncated grid, (13) has mu >= 0 with a coupling only for lam >~ 21.3
    (for smaller lam the unique solution of the square system oscillates in sign at
    the grid's edges, whose outputs the optimal channel leaves unused): (22) is exact
    for D where the slope is in I, and only a lower bound in the Gaussian regime."""
    points, p, d = gaussian_grid
    search = translation_interval(p, d, lam_range=(1.0, 200.0), num=30)
    (lo, hi), = search.intervals
    assert 15 < lo < 30 and search.open_right == (True,)
    small = single_parameter_dual(p, d, 0.01, interval=search)
    assert small.exact and small.interior
    assert small.rate == pytest.approx(small.reference.rate, abs=2e-6)
    large = single_parameter_dual(p, d, 0.25, interval=search)
    assert not large.exact and large.lam == pytest.approx(lo)
    assert large.rate < large.reference.certificate.lower
    assert not in_interval(p, d, 1.0 / (2 * 0.25)).member


# ---------------------------------------------------------- formulation


def test_formulation_prints_22_with_I(example1_interval):
    res = single_parameter_dual([0.8, 0.2], HAMMING, 0.1, interval=example1_interval)
    text = str(res.formulation())
    assert "single-parameter dual (22)" in text
    assert "[normalisation (13)]" in text and "[coupling (Thm 3)]" in text
    assert f"[{example1_interval.intervals[0][0]:.10g}, 60..)" in text
    latex = res.formulation().latex()
    assert r"\max_{\lambda \in \mathcal I}" in latex and latex.startswith(r"\begin{aligned}")


def test_program_at_lambda_solves_to_translate_mu():
    """The printable program in mu at fixed lam, solved by cvxpy, reproduces translate's
    mu and (22)'s value at that lam."""
    p = np.array([0.5, 0.3, 0.2])
    d = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.7]])  # 3 unknowns, 2 equations
    lam, D = 2.0, 0.3
    assert not translate(p, d, lam).unique
    prog = programs.at_lambda(p, d, lam, D)
    assert "[normalisation (13)]" in str(prog) and r"\mu_x" in prog.latex()
    get_solver("clarabel", task="program").solve(prog)
    mu = prog.variables_by_name["mu"].value
    tr = translate(p, d, lam)
    # An interior-point maximiser of a flat concave objective is accurate to ~1e-5 only
    # (translate uses Newton's method on the dual, accurate to rounding): compare the
    # points loosely and the values tightly; Newton's value is at least as good.
    np.testing.assert_allclose(mu, tr.mu, atol=1e-5)
    newton_value = single_parameter_bound(p, d, D, lam)
    assert prog.value == pytest.approx(newton_value, abs=1e-8)
    assert newton_value >= prog.value - 1e-9 and tr.residual <= 1e-12


def test_program_at_lambda_scaled_rows_and_coupling():
    d = D3 + 2.0  # row minima 2: the program is written in nu = mu exp(-lam r)
    prog = programs.at_lambda(P3, d, 1.5)
    assert "nu" in prog.variables_by_name and "r = row minima of d" in str(prog)
    get_solver("clarabel", task="program").solve(prog)
    nu = prog.variables_by_name["nu"].value
    np.testing.assert_allclose(nu * math.exp(1.5 * 2.0), translate(P3, d, 1.5).mu, rtol=1e-6)
    for lam, member in ((2.0, True), (0.5, False)):
        tr = translate(P3, D3, lam)
        coupling = programs.coupling(P3, np.asarray(tr.loglik.p_x_given_u))
        get_solver("clarabel", task="program").solve(coupling)
        assert (coupling.value < 1e-7) == member == in_interval(P3, D3, lam).member


# ------------------------------------------------------------- failures


def test_failure_paths(example1_interval):
    with pytest.raises(rdc.InfeasibleDistortionError, match=r"D=-0.1 is below D_min"):
        single_parameter_dual([0.8, 0.2], HAMMING, -0.1, interval=example1_interval)
    d_no_I = np.array([[0.0, 1.0, np.inf], [1.0, 0.0, 2.0]])  # output 2 never normalised
    with pytest.raises(NoTranslationError, match=r"I is empty on the searched range.*R\(0.2\)"):
        single_parameter_dual([0.6, 0.4], d_no_I, 0.2, num=10)
    with pytest.raises(rdc.InvalidArgumentError, match=r"lam_range=\(2, 1\) needs lo < hi"):
        translation_interval([0.8, 0.2], HAMMING, lam_range=(2, 1))
    with pytest.raises(rdc.InvalidArgumentError, match=r"lam_range\[0\]=0.0 must be > 0"):
        translation_interval([0.8, 0.2], HAMMING, lam_range=(0.0, 1.0))
    with pytest.raises(rdc.InvalidArgumentError, match=r"lam_range=3 must be a pair"):
        translation_interval([0.8, 0.2], HAMMING, lam_range=3)
    with pytest.raises(rdc.InvalidArgumentError, match=r"num=1 must be an integer >= 2"):
        translation_interval([0.8, 0.2], HAMMING, num=1)
    with pytest.raises(rdc.InvalidArgumentError, match=r"interval=.* must be the LambdaIntervals"):
        single_parameter_dual([0.8, 0.2], HAMMING, 0.1, interval=[(1.0, 2.0)])
    with pytest.raises(NoTranslationError, match=r"exactly one solution"):
        single_parameter_bound([0.25] * 4, (np.arange(4)[:, None] / 2 - np.arange(4) / 2) ** 2,
                               0.1, 1.0)


def test_zero_probability_symbols_are_dropped_for_I():
    """p_x = 0 symbols change neither R(D) nor (22): I is that of the reduced problem."""
    full = translation_interval([0.8, 0.2, 0.0], np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 0.3]]))
    reduced = translation_interval([0.8, 0.2], HAMMING)
    assert full.intervals[0][0] == pytest.approx(reduced.intervals[0][0], abs=1e-9)
    res = single_parameter_dual([0.8, 0.2, 0.0], np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 0.3]]),
                                0.1, interval=full)
    assert res.mu[2] == 0.0 and res.exact
    assert res.rate == pytest.approx(cf.binary_hamming_rate(0.2, 0.1), abs=1e-9)


# ------------------------------------------------------------ problem files


def test_problem_files_match_their_generators():
    root = __import__("pathlib").Path(__file__).resolve().parents[2] / "problems"
    example1 = rdc.load_problem(root / "example1.toml").problem
    np.testing.assert_array_equal(example1.p_x, [0.8, 0.2])
    np.testing.assert_array_equal(example1.d, HAMMING)
    gaussian = rdc.load_problem(root / "gaussian.toml").problem
    points, p = cf.discretised_gaussian(41, width=4.0)
    np.testing.assert_allclose(gaussian.p_x, p, rtol=1e-15)
    np.testing.assert_allclose(gaussian.d, (points[:, None] - points[None, :]) ** 2, atol=1e-14)
    # the description's claim: within 1.7e-3 nats of 1/2 log(1/D) on [0.1, 0.5]
    for D in (0.1, 0.25, 0.5):
        res = gaussian.solve(D=D)
        assert abs(res.rate - cf.gaussian_rate(1.0, D)) <= 1.7e-3


def mp_example1_rate(p, D) -> mpmath.mpf:
    """h(p~_1) - h(D) at 60 digits (Cover & Thomas Thm 10.3.1), p~ = p / sum p exactly."""
    p1 = min(mp_pmf(p))
    D = mpmath.mpf(D)
    return mp_binary_entropy(p1) - mp_binary_entropy(D) if D < p1 else mpmath.mpf(0)


@pytest.mark.parametrize("units", ["nats", "bits"])
def test_example1_bounds_are_proven(example1_interval, units):
    """single_parameter_bound at every sampled lam (in I and below it) is <= R(D), and
    at lam* within rounding of it, in nats and (rounded down) in bits."""
    scale = 1.0 if units == "nats" else 1 / mpmath.log(2)
    for D in (0.02, 0.1, 0.19):
        reference = mp_example1_rate([0.8, 0.2], D) * scale
        lams = [*np.geomspace(0.05, 1.3, 5), *lams_in(example1_interval, 8)]
        for lam in lams:
            bound = single_parameter_bound([0.8, 0.2], HAMMING, D, lam, units=units)
            assert bound <= reference
        at_star = single_parameter_bound([0.8, 0.2], HAMMING, D, cf.example1_slope(D),
                                         units=units)
        assert reference - at_star <= 1e-14


# ------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(2, 4), m=st.integers(2, 4),
       lam=st.floats(0.2, 20.0), fraction=st.floats(0.05, 0.95))
def test_property_22_objective_is_a_lower_bound(seed, n, m, lam, fraction):
    """On random problems, wherever (13) has mu >= 0 (in I or not), the objective of (22)
    is <= the certified upper bound on R(D), and the translated problem has the same
    R(D) (independent solves on d and on -log diag(mu) V)."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n))
    d = rng.random((n, m)) * 2
    d[np.arange(n), np.arange(n) % m] = 0.0  # a zero per row: (13) is often solvable
    prob = rdc.RateDistortion(p, d)
    D = prob.D_min + fraction * (prob.D_max - prob.D_min)
    try:
        tr = translate(p, d, lam)
    except NoTranslationError:
        return
    res = quietly(prob.solve, D=D)
    assert single_parameter_bound(p, d, D, lam) <= res.certificate.upper  # both proven
    res_ll = quietly(tr.loglik.solve, D=tr.to_loglik(D))
    assert res_ll.rate == pytest.approx(res.rate, abs=1e-5)
