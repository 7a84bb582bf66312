"""`rdconvex reproduce`: the numbers of Figures 3 and 4, computed and certified, and
compared with what the paper prints at the paper's precision.

Independent references: closed forms of the binary instances (see test_loglik.py's
module docstring): Fig. 3 H = h(.25), D_min = -log .9, D_max = .75(-log .9) + .25(-log .1),
D* = h(.1) with U ~ Ber(.1875); Fig. 4 H = h(.35), D_min = -log .8, D_max = .65(-log .8)
+ .35(-log .2), [D1, D2] = [h(.2), h(.2) + .375 (h(.4) - h(.2))]; all in bits. The
printed numbers come from the [reference] tables of problems/fig3.toml and fig4.toml
(provenance notes; the code under test never reads them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.cli import main
from rdconvex.closed_forms import binary_entropy
from rdconvex.reproduce import FigureReport, figure_numbers, reproduce_figure

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"
LN2 = math.log(2.0)


def hb(p):
    return binary_entropy(p) / LN2


EXPECTED = {
    "fig3": dict(entropy=hb(0.25), D_min=-math.log2(0.9),
                 D_max=0.75 * -math.log2(0.9) + 0.25 * -math.log2(0.1),
                 interval=(hb(0.1), hb(0.1)), P_U=([0.8125, 0.1875], [0.8125, 0.1875])),
    "fig4": dict(entropy=hb(0.35), D_min=-math.log2(0.8),
                 D_max=0.65 * -math.log2(0.8) + 0.35 * -math.log2(0.2),
                 interval=(hb(0.2), hb(0.2) + 0.375 * (hb(0.4) - hb(0.2))),
                 P_U=([0.75, 0.0, 0.25], [0.625, 0.375, 0.0])),
}

#: Where the computed value does not round to the printed one (documented in
#: docs/loglik.md): Fig. 3 D_max = 0.94448 (printed 0.945); Fig. 4 D1 = 0.72193 (printed
#: 0.718) and D2 = 0.81531 (printed 0.816).
KNOWN_DIFFERENCES = {("fig3", "D_max"), ("fig4", "D1"), ("fig4", "D2")}


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    assert main(["reproduce", "--out", str(out), "--problems", str(PROBLEMS)]) == 0
    return out, {name: json.loads((out / f"{name}.json").read_text()) for name in EXPECTED}


def test_files_written(reproduced):
    out, _ = reproduced
    for name in EXPECTED:
        png = (out / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 300_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_caption_numbers_match_closed_forms(reproduced, name):
    numbers = reproduced[1][name]
    expected = EXPECTED[name]
    assert numbers["units"] == "bits"
    for key in ("entropy", "D_min", "D_max"):
        assert numbers[key]["value"] == pytest.approx(expected[key], rel=1e-13), key
    special = numbers["special_points"]
    assert special["exists"]
    assert special["interval"] == pytest.approx(expected["interval"], abs=1e-12)
    for got, want in zip(special["P_U"], expected["P_U"]):
        np.testing.assert_allclose(got, want, atol=1e-12)
    (lo1, hi1), (lo2, hi2) = special["bounds"]
    D1, D2 = expected["interval"]
    assert lo1 <= D1 + 1e-12 and D2 <= hi2 + 1e-12
    # No ties and an injective ML map in both figures: R_ll(D_min) = H(X).
    dmin = numbers["rate_at_D_min"]
    assert dmin["lower"] - 1e-12 <= expected["entropy"] <= dmin["upper"] + 1e-12
    if name == "fig3":
        assert special["U_law"] == ["Ber(0.1875)"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_curve_point_is_certified(reproduced, name):
    numbers = reproduced[1][name]
    curve = numbers["curve"]
    H = numbers["entropy"]["value"]
    D = np.array(curve["D"])
    lower, rate, upper = (np.array(curve[k]) for k in ("lower", "rate", "upper"))
    assert D.size >= 41
    assert D[0] == pytest.approx(numbers["D_min"]["value"])
    assert D[-1] == pytest.approx(numbers["D_max"]["value"])
    assert np.all(lower <= rate + 1e-15) and np.all(rate <= upper + 1e-15)
    assert np.max(upper - lower) <= 1e-5
    assert curve["max_gap"] == pytest.approx(np.max(upper - lower))
    assert np.all(upper >= H - D - 1e-12)                 # Theorem 2
    assert np.all(np.diff(upper) <= 1e-6)                 # non-increasing
    for point in numbers["rate_at_special_points"]:       # Corollary 1
        assert point["lower"] - 1e-9 <= point["H(X) - D"] <= point["upper"] + 1e-9
        assert point["rate"] == pytest.approx(point["H(X) - D"], abs=1e-6)


def _printed_digits(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_against_the_papers_printed_numbers(reproduced, name):
    """Each printed caption number against the computed one at the printed precision;
    the known differences are asserted too (so the documentation stays true)."""
    numbers = reproduced[1][name]
    printed = rdc.load_problem(PROBLEMS / f"{name}.toml").reference["printed"]
    computed = {"H(X)": numbers["entropy"]["value"], "D_min": numbers["D_min"]["value"],
                "D_max": numbers["D_max"]["value"]}
    D1, D2 = numbers["special_points"]["interval"]
    if name == "fig3":
        computed["D*"] = D1
        computed["U ~ Ber"] = numbers["special_points"]["P_U"][0][1]
        keys = {k: k for k in computed}
    else:
        printed = {**printed, "D1": printed["special interval"][0],
                   "D2": printed["special interval"][1]}
        computed.update(D1=D1, D2=D2)
        keys = {k: k for k in computed}
    for key in keys:
        value, shown = computed[key], printed[key]
        digits = _printed_digits(shown)
        agrees = round(value, digits) == pytest.approx(shown, abs=1e-12)
        assert agrees == ((name, key) not in KNOWN_DIFFERENCES), (name, key, value, shown)
    if name == "fig3":
        assert round(computed["D_max"], 3) == 0.944
    else:
        assert (round(D1, 3), round(D2, 3)) == (0.722, 0.815)


def test_reproduce_figure_returns_a_printable_report(tmp_path):
    report = reproduce_figure(PROBLEMS / "fig3.toml", tmp_path, num=5)
    assert isinstance(report, FigureReport) and isinstance(report, dict)
    text = str(report)
    assert "H(X) = 0.8112781245 bits" in text and "U ~ Ber(0.1875)" in text
    assert (tmp_path / "fig3.png").exists()
    assert json.loads((tmp_path / "fig3.json").read_text())["name"] == "fig3"


def test_reproduce_needs_a_loglikelihood_problem(tmp_path):
    with pytest.raises(rdc.InvalidArgumentError, match=r"needs a log-likelihood problem"):
        reproduce_figure(PROBLEMS / "binary_hamming.toml", tmp_path)
    ll = rdc.LogLikelihood([0.75, 0.25], [[0.9, 0.1], [0.1, 0.9]])
    with pytest.raises(rdc.InvalidArgumentError, match=r"num=1 must be an integer >= 2"):
        figure_numbers(ll, num=1)


def test_no_special_point_figure(tmp_path):
    """A problem with no consistent P_U still reproduces (with its Farkas certificate)."""
    ll = rdc.LogLikelihood([0.5, 0.3, 0.2],
                           [[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0.4, 0.2, 0.4]], units="bits")
    numbers = figure_numbers(ll, num=4)
    assert not numbers["special_points"]["exists"]
    assert numbers["special_points"]["farkas"] is not None
    assert numbers["rate_at_special_points"] == []
