"""Section IV translation (13)-(21): (X, d) at lam as a log-likelihood problem.

References: Example 1 of the paper (mu = 1/(1+e^-lam), the translated likelihood (29),
the translated curve (32)), closed form h(p) - h(D) (Cover & Thomas Thm 10.3.1); for
the other problems the reference is the classical solver on (X, d) itself, so every
check compares two independent computations (R on d, R_ll on -log diag(mu) V).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex import closed_forms as cf
from rdconvex.section4 import NoTranslationError, in_interval, translate

from ..conftest import TOLERANCE

HAMMING = 1.0 - np.eye(2)
#: A non-symmetric 3-symbol distortion (no two rows or columns alike).
P3 = np.array([0.5, 0.3, 0.2])
D3 = np.array([[0.0, 1.0, 3.0],
               [2.0, 0.0, 1.0],
               [1.0, 2.0, 0.0]])
#: 3 source symbols, 2 outputs: (13) is underdetermined (a line of solutions).
P32 = np.array([0.5, 0.3, 0.2])
D32 = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])


def solve_quietly(prob, solver, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rdc.InaccurateSolutionWarning)
        return prob.solve(solver=solver, **kwargs)


# --------------------------------------------------------------- Example 1


@pytest.mark.parametrize("lam", [0.3, 1.3862943611198906, 2.0, 7.5])
def test_example1_mu_and_likelihood_closed_form(lam):
    tr = translate([0.8, 0.2], HAMMING, lam)
    assert tr.unique
    np.testing.assert_allclose(tr.mu, cf.example1_mu(lam), rtol=1e-14)
    # (29): P_X|U = [[1, e^-lam], [e^-lam, 1]] / (1 + e^-lam)
    expected = np.array([[1.0, math.exp(-lam)], [math.exp(-lam), 1.0]]) / (1 + math.exp(-lam))
    np.testing.assert_allclose(tr.loglik.p_x_given_u, expected, rtol=1e-14)
    # (31): Dt = lam D + log(1 + e^-lam)
    assert tr.to_loglik(0.1) == pytest.approx(lam * 0.1 + math.log1p(math.exp(-lam)), rel=1e-14)
    assert tr.from_loglik(tr.to_loglik(0.1)) == pytest.approx(0.1, rel=1e-13)


@pytest.mark.parametrize("D", [0.02, 0.1, 0.17])
def test_example1_translated_curve_32(solver, D):
    """(20) and (32): R_ll(Dt) = R(D) = h(p) - h(D) on Dt's stated range, by the solver."""
    p, lam0 = 0.2, 2.0
    tr = translate([1 - p, p], HAMMING, lam0)
    Dt = tr.to_loglik(D)
    lo, hi = cf.example1_translated_range(p, lam0)
    assert lo <= Dt <= hi
    res_ll = solve_quietly(tr.loglik, solver, D=Dt)
    res = solve_quietly(rdc.RateDistortion([1 - p, p], HAMMING), solver, D=D)
    closed = cf.example1_translated_rate(p, lam0, Dt)
    assert closed == pytest.approx(cf.binary_hamming_rate(p, D), abs=1e-14)
    tol = TOLERANCE[solver]
    assert res_ll.rate == pytest.approx(closed, abs=tol)
    assert res_ll.certificate.lower - 1e-10 <= closed <= res_ll.certificate.upper + 1e-10
    assert res_ll.rate == pytest.approx(res.rate, abs=2 * tol)
    # The translated channel is the classical one: same distortion after the map.
    assert tr.from_loglik(res_ll.distortion) == pytest.approx(res.distortion, abs=10 * tol)


def test_example1_translated_range_ends():
    """(32)'s range is the image of D in [0, p]: D_min of the translated problem is its
    left end, and R_ll reaches 0 at its right end."""
    p, lam0 = 0.2, 2.0
    tr = translate([1 - p, p], HAMMING, lam0)
    lo, hi = cf.example1_translated_range(p, lam0)
    assert tr.loglik.D_min == pytest.approx(lo, rel=1e-12)
    assert tr.to_loglik(0.0) == pytest.approx(lo, rel=1e-14)
    assert tr.to_loglik(p) == pytest.approx(hi, rel=1e-14)
    assert tr.loglik.D_max == pytest.approx(hi, rel=1e-12)
    assert cf.example1_translated_rate(p, lam0, hi) == pytest.approx(0.0, abs=1e-15)


def test_example1_units_bits():
    p, lam0, D = 0.2, 2.0, 0.1
    nats = translate([1 - p, p], HAMMING, lam0)
    bits = translate([1 - p, p], HAMMING, lam0, units="bits")
    assert bits.to_loglik(D) == pytest.approx(nats.to_loglik(D) / math.log(2), rel=1e-14)
    assert bits.from_loglik(bits.to_loglik(D)) == pytest.approx(D, rel=1e-13)
    assert bits.offset == pytest.approx(nats.offset / math.log(2), rel=1e-14)
    assert bits.loglik.units == "bits"
    res_bits = bits.loglik.solve(D=bits.to_loglik(D))
    assert res_bits.rate == pytest.approx(cf.binary_hamming_rate(p, D, units="bits"), abs=1e-6)
    assert cf.example1_translated_rate(p, lam0, bits.to_loglik(D), units="bits") == \
        pytest.approx(cf.binary_hamming_rate(p, D, units="bits"), abs=1e-14)


def test_special_points_of_translation_are_the_D_with_slope_lam():
    """lam in I <=> the translated problem has a consistent P_U (Thm 1-iii); its special
    point is the image of the D whose slope is lam: Example 1, D = 1/(1 + e^lam)."""
    p = 0.2
    for lam in (2.0, 3.0):
        tr = translate([1 - p, p], HAMMING, lam)
        sp = tr.loglik.special_points()
        assert sp.exists and in_interval([1 - p, p], HAMMING, lam).member
        D = 1.0 / (1.0 + math.exp(lam))
        assert sp.interval[0] == pytest.approx(tr.to_loglik(D), abs=1e-9)
        assert sp.interval[1] == pytest.approx(tr.to_loglik(D), abs=1e-9)
        # and there R_ll = H(X) - D* (Thm 1-iii) = R(D)
        assert sp.rate_at(sp.interval[0]) == pytest.approx(cf.binary_hamming_rate(p, D), abs=1e-9)
    below = translate([1 - p, p], HAMMING, 1.0)  # 1 < log 4: outside I
    assert not below.loglik.special_points().exists
    assert not in_interval([1 - p, p], HAMMING, 1.0).member


# ------------------------------------------------- non-symmetric distortions


@pytest.mark.parametrize("lam", [0.5, 2.0])
@pytest.mark.parametrize("D", [0.15, 0.4, 0.7])
def test_nonsymmetric_3_symbol_translation(solver, lam, D):
    """R_ll(to_loglik(D)) = R(D) for a d with no symmetry (any lam with mu >= 0)."""
    tr = translate(P3, D3, lam)
    assert tr.unique and np.all(tr.mu > 0) and tr.residual <= 1e-12
    res = solve_quietly(rdc.RateDistortion(P3, D3), solver, D=D)
    res_ll = solve_quietly(tr.loglik, solver, D=tr.to_loglik(D))
    tol = TOLERANCE[solver]
    assert res_ll.rate == pytest.approx(res.rate, abs=2 * tol)
    # certified intervals of the two problems overlap (the same number, twice bracketed)
    assert res_ll.certificate.lower <= res.certificate.upper + 1e-9
    assert res.certificate.lower <= res_ll.certificate.upper + 1e-9


def test_translation_maps_D_min_and_D_max():
    """(21) is affine, so it maps D_min and D_max of (X, d) to those of (X, P_X|U)."""
    for lam in (0.5, 2.0):
        tr = translate(P3, D3, lam)
        prob = rdc.RateDistortion(P3, D3)
        assert tr.loglik.D_min == pytest.approx(tr.to_loglik(prob.D_min), rel=1e-9)
        assert tr.loglik.D_max == pytest.approx(tr.to_loglik(prob.D_max), rel=1e-9)


def test_log_likelihood_loss_is_affine_in_d():
    """(16): -log P_X|U(x|u) = lam d(x,u) - log mu_x."""
    tr = translate(P3, D3, 1.3)
    loss = -np.log(tr.loglik.p_x_given_u)
    np.testing.assert_allclose(loss, 1.3 * D3 - tr.log_mu[:, None], atol=1e-12)


def test_underdetermined_system_takes_the_gallager_optimal_mu(conic_solver):
    """3 sources, 2 outputs: (13) has a line of solutions; the one chosen maximises
    sum p log mu, which equals p / (V q) for the optimal output q at slope lam (the
    Gallager dual optimum) -- an independent computation by the solver."""
    lam = 2.0
    tr = translate(P32, D32, lam)
    assert not tr.unique and "Newton" in tr.method
    res = solve_quietly(rdc.RateDistortion(P32, D32), conic_solver, slope=lam)
    q = np.asarray(res.output_pmf)
    gallager_mu = P32 / (np.exp(-lam * D32) @ q)
    np.testing.assert_allclose(tr.mu, gallager_mu, rtol=50 * TOLERANCE[conic_solver])
    # and the translation identity holds there as well
    D = 0.3
    res_d = solve_quietly(rdc.RateDistortion(P32, D32), conic_solver, D=D)
    res_ll = solve_quietly(tr.loglik, conic_solver, D=tr.to_loglik(D))
    assert res_ll.rate == pytest.approx(res_d.rate, abs=2 * TOLERANCE[conic_solver])


def test_large_lam_scaled_in_log_space():
    """A distortion with large row minima: mu = exp(lam r) nu would overflow; log_mu is
    exact and the translation identity still holds."""
    d = D3 + np.array([[400.0], [500.0], [600.0]])  # every entry >= 400
    lam = 3.0
    tr = translate(P3, d, lam)
    ref = translate(P3, D3, lam)
    np.testing.assert_allclose(tr.log_mu, ref.log_mu + lam * np.array([400.0, 500.0, 600.0]),
                               rtol=1e-14)
    assert np.all(np.isinf(tr.mu[1:]))  # exp(1500) overflows; log_mu does not
    np.testing.assert_allclose(tr.loglik.p_x_given_u, ref.loglik.p_x_given_u, rtol=1e-12)
    D = 500.0
    assert tr.to_loglik(D) == pytest.approx(ref.to_loglik(D - P3 @ [400, 500, 600]), rel=1e-12)


def test_zero_probability_symbol_keeps_literal_13():
    """translate solves (13) over every source symbol, p_x = 0 ones included."""
    p = [0.7, 0.3, 0.0]
    tr = translate(p, D3, 2.0)
    ref = np.linalg.solve(np.exp(-2.0 * D3).T, np.ones(3))
    np.testing.assert_allclose(tr.mu, ref, rtol=1e-12)
    assert tr.to_loglik(0.2) == pytest.approx(2.0 * 0.2 - (0.7 * math.log(ref[0])
                                                           + 0.3 * math.log(ref[1])))


# ---------------------------------------------------------------- failures


def test_negative_unique_solution_is_reported():
    points = np.array([0.0, 0.5, 1.0, 1.5])
    d = (points[:, None] - points[None, :]) ** 2
    with pytest.raises(NoTranslationError, match=r"exactly one solution .* negative: mu\["):
        translate(np.full(4, 0.25), d, 1.0)


def test_output_that_cannot_be_normalised():
    d = np.array([[0.0, 1.0, 5.0], [1.0, 0.0, 5.0]])
    with pytest.raises(NoTranslationError, match=r"output y=2 cannot be normalised"):
        translate([0.5, 0.5], d, 2.0)


def test_overdetermined_system_without_solution():
    """2 sources, 3 outputs: mu = 1/(1+e^-lam) from the first two outputs; the third
    (d = 1/4 from both) is normalised only where 2 e^(-lam/4) = 1 + e^-lam, i.e.
    t = e^(-lam/4) solves t^3 + t^2 + t = 1."""
    d = np.array([[0.0, 1.0, 0.25], [1.0, 0.0, 0.25]])
    with pytest.raises(NoTranslationError, match=r"lam=1, .*no nonnegative solution.*LP"):
        translate([0.5, 0.5], d, 1.0)
    t = min(r.real for r in np.roots([1, 1, 1, -1]) if abs(r.imag) < 1e-12 and r.real > 0)
    lam = -4 * math.log(t)
    tr = translate([0.5, 0.5], d, lam)
    assert tr.residual <= 1e-9
    np.testing.assert_allclose(tr.mu, cf.example1_mu(lam), rtol=1e-8)


def test_bad_arguments():
    with pytest.raises(rdc.InvalidArgumentError, match=r"lam=0.0 must be > 0"):
        translate([0.5, 0.5], HAMMING, 0.0)
    with pytest.raises(rdc.InvalidArgumentError, match=r"lam=nan is not finite"):
        translate([0.5, 0.5], HAMMING, float("nan"))
    with pytest.raises(rdc.InvalidDistributionError, match=r"p_x sums to"):
        translate([0.5, 0.6], HAMMING, 1.0)
    with pytest.raises(rdc.InvalidDistortionError, match=r"shape \(n, m\) = \(2, m\)"):
        translate([0.5, 0.5], np.zeros(3), 1.0)
    with pytest.raises(rdc.InvalidArgumentError, match=r"units='furlongs'"):
        translate([0.5, 0.5], HAMMING, 1.0, units="furlongs")
    tr = translate([0.5, 0.5], HAMMING, 1.0)
    with pytest.raises(rdc.InvalidArgumentError, match=r"D must be a real number"):
        tr.to_loglik("0.1")
    with pytest.raises(rdc.InvalidArgumentError, match=r"Dt=inf is not finite"):
        tr.from_loglik(math.inf)


def test_lam_too_large_for_float64():
    with pytest.raises(rdc.InvalidArgumentError, match=r"too large for this d.*underflows"):
        translate([0.5, 0.5], HAMMING, 800.0)
    translate([0.5, 0.5], HAMMING, 700.0)  # exp(-700) is still a normal float


def test_translation_is_frozen():
    tr = translate([0.5, 0.5], HAMMING, 1.0)
    with pytest.raises(AttributeError):
        tr.lam = 2.0
    with pytest.raises(ValueError):
        tr.mu[0] = 1.0


# ------------------------------------------------- printed outputs in docs


DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def doc_outputs(path: Path):
    """Run the ```python blocks of a doc in order (one namespace, from the repo root)
    and pair each with the ```text/```latex block right after it, if any. Returns
    ``[(start, end, shown, produced)]`` with the character span of the shown output."""
    text = path.read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(text))
    namespace: dict = {"__name__": "__docs__"}
    pairs = []
    cwd = os.getcwd()
    os.chdir(path.parents[1])
    try:
        for i, block in enumerate(blocks):
            if block.group(1) != "python":
                continue
            out = io.StringIO()
            with contextlib.redirect_stdout(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(block.group(2), f"{path.name}:python", "exec"), namespace)
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if nxt is not None and nxt.group(1) in ("text", "latex") and \
                    not text[block.end():nxt.start()].strip():
                pairs.append((nxt.start(2), nxt.end(2), nxt.group(2), out.getvalue()))
    finally:
        os.chdir(cwd)
    return pairs


def regenerate(path: Path) -> None:
    """Rewrite the output blocks of ``path`` with what its code prints now."""
    text = path.read_text(encoding="utf-8")
    for start, end, _, produced in reversed(doc_outputs(path)):
        text = text[:start] + produced.rstrip("\n") + "\n" + text[end:]
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("name", ["programs.md", "section4.md"])
def test_doc_outputs_are_what_the_code_prints(name):
    """The outputs shown in the docs are generated, never typed: re-run and compare.
    (Regenerate with ``python -m tests.section4.test_translation``.)"""
    pairs = doc_outputs(DOCS / name)
    assert pairs, f"{name} shows no outputs"
    for _, _, shown, produced in pairs:
        assert shown.rstrip("\n") == produced.rstrip("\n")


if __name__ == "__main__":
    for doc in ("programs.md", "section4.md"):
        regenerate(DOCS / doc)
