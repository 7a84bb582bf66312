"""Problem files with a [grid] table (a GridSource): every form of points and weights,
each failure a one-line ProblemFileError naming the file and the key, the provenance
hash, and the command line on the shipped problems/gaussian_grid.toml (solve and curve
work; commands that need a matrix exit 2 with one line)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rdconvex as rdc
from rdconvex.cli import EXIT_BAD_INPUT, EXIT_OK, main
from rdconvex.errors import ProblemFileError
from rdconvex.io import problem_from_dict, problem_sha256, provenance, quantity_of
from rdconvex.problems.grid import GridSource

ROOT = Path(__file__).resolve().parents[1]
GRID_FILE = ROOT / "problems" / "gaussian_grid.toml"
POINTS = {"start": -4.0, "stop": 4.0, "num": 81}


def grid(**table):
    base = {"points": dict(POINTS), "weights": {"density": "gaussian"},
            "distortion": "squared"}
    base.update(table)
    return {"grid": base}


def load(data, path="g.toml"):
    return problem_from_dict(data, path)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ----------------------------------------------------------------------- the forms
def test_linspace_points_and_gaussian_density():
    spec = load({"name": "g", "units": "bits", **grid(weights={
        "density": "gaussian", "mean": 0.5, "std": 2.0})})
    src = spec.problem
    x = np.linspace(-4, 4, 81)
    assert isinstance(src, GridSource) and src.units == "bits" and spec.perception is None
    np.testing.assert_array_equal(src.points, x)
    density = np.exp(-0.5 * ((x - 0.5) / 2.0) ** 2)
    np.testing.assert_allclose(src.p_x, density / density.sum(), rtol=1e-13)
    assert src.distortion == "squared" and src.method == "auto"


def test_laplacian_uniform_absolute_and_method():
    src = load(grid(weights={"density": "laplacian", "mean": -1.0, "scale": 0.5},
                    distortion="absolute", method="direct")).problem
    x = np.linspace(-4, 4, 81)
    density = np.exp(-np.abs(x + 1.0) / 0.5)
    np.testing.assert_allclose(src.p_x, density / density.sum(), rtol=1e-13)
    assert src.distortion == "absolute" and src.method == "direct"
    flat = load(grid(weights={"density": "uniform"})).problem
    np.testing.assert_allclose(flat.p_x, np.full(81, 1 / 81), rtol=1e-14)


def test_density_defaults_are_standard():
    a = load(grid(weights={"density": "gaussian"})).problem
    b = load(grid(weights={"density": "gaussian", "mean": 0, "std": 1})).problem
    np.testing.assert_array_equal(a.p_x, b.p_x)
    c = load(grid(weights={"density": "laplacian"})).problem
    d = load(grid(weights={"density": "laplacian", "mean": 0.0, "scale": 1.0})).problem
    np.testing.assert_array_equal(c.p_x, d.p_x)


def test_explicit_points_and_weights():
    spec = load(grid(points=[0, 0.5, 1.0, 1.5], weights=[1, 2, 3, 0]))
    np.testing.assert_array_equal(spec.problem.points, [0, 0.5, 1, 1.5])
    np.testing.assert_allclose(spec.problem.p_x, [1 / 6, 2 / 6, 3 / 6, 0])
    # a density on explicit points, and explicit weights on a linspace
    spec = load(grid(points=[-1.0, 0.0, 1.0]))
    assert spec.problem.n == 3
    spec = load(grid(points={"start": 0, "stop": 1, "num": 3}, weights=[1, 1, 2]))
    np.testing.assert_allclose(spec.problem.p_x, [0.25, 0.25, 0.5])


@pytest.mark.filterwarnings("ignore::rdconvex.InaccurateSolutionWarning")  # coarse grid
def test_queries_and_solve():
    spec = load({**grid(), "queries": {"D": [0.25], "solver": "ba", "curve": {"num": 3}}})
    assert spec.queries["D"] == [0.25]
    res = spec.problem.solve(D=0.25)
    assert res.certificate.lower <= 0.5 * math.log(4) + 1e-3
    assert res.certificate.upper >= 0.5 * math.log(4) - 1e-3


def test_provenance_and_hash():
    src = load(grid()).problem
    assert quantity_of(src) == "R(D)"
    data = (np.asarray(src.p_x, "<f8").tobytes() + np.asarray(src.points, "<f8").tobytes()
            + b"squared")
    assert problem_sha256(src) == hashlib.sha256(data).hexdigest()
    record = provenance(src, name="g", file="g.toml", solver="ba")
    assert record["problem"]["family"] == "GridSource"
    assert record["problem"]["hashed"].startswith("p_x, points")
    other = load(grid(distortion="absolute")).problem
    assert problem_sha256(other) != problem_sha256(src)
    custom = GridSource(src.points, src.p_x, lambda t: t ** 2)
    assert problem_sha256(custom) != problem_sha256(src)  # F hashed for a callable


# -------------------------------------------------------------------- the failures
@pytest.mark.parametrize("data, match", [
    (grid(colour=1), r"\[grid\]: unknown field 'colour'"),
    (grid(weight={"density": "uniform"}), "did you mean 'weights'"),
    ({"grid": {"points": POINTS, "distortion": "squared"}}, r"\[grid\] needs weights"),
    ({"grid": {"weights": [1], "distortion": "squared"}}, r"\[grid\] needs points"),
    ({"grid": {"points": POINTS, "weights": {"density": "uniform"}}},
     r"\[grid\] needs distortion"),
    ({"grid": [1, 2]}, r"\[grid\] must be a table"),
    (grid(distortion="cosine"), "grid.distortion = 'cosine' is unknown"),
    (grid(distortion=3), "a callable distortion cannot come from a file"),
    (grid(method="gpu"), "grid.method = 'gpu' is unknown"),
    (grid(points={"start": 0, "stop": 1}), "grid.points is missing num"),
    (grid(points={"start": 0, "stop": 1, "num": 5, "step": 1}),
     "grid.points: unknown field 'step'"),
    (grid(points={"start": 0, "stop": 1, "num": 1}), "grid.points.num must be an integer >= 2"),
    (grid(points={"start": 0, "stop": 1, "num": 2.5}), "grid.points.num must be an integer"),
    (grid(points={"start": 0, "stop": 1, "num": True}), "grid.points.num must be an integer"),
    (grid(points={"start": 0, "stop": 1, "num": 10**12}), r"at most 1e\+08"),
    (grid(points={"start": 1, "stop": 1, "num": 5}), "stop = 1.0 must be greater than start"),
    (grid(points={"start": 2, "stop": 1, "num": 5}), "must be greater than start"),
    (grid(points={"start": "0", "stop": 1, "num": 5}), "grid.points.start must be a finite"),
    (grid(points={"start": 0, "stop": math.inf, "num": 5}), "grid.points.stop must be a finite"),
    (grid(points=[0.0, 1.0, 3.0]), "grid.points must be increasing and uniformly spaced"),
    (grid(points=[2.0, 1.0, 0.0]), "grid.points must be increasing and uniformly spaced"),
    (grid(points=[1.0]), "grid.points must have at least 2 points"),
    (grid(points=[0.0, math.nan]), "grid.points contains NaN"),
    (grid(points=[0, "1"]), "grid.points must be a list of numbers"),
    (grid(points="linspace"), "grid.points must be a table"),
    (grid(weights=[1, 1]), "grid.weights has 2 entries but there are 81 points"),
    (grid(weights=[-1.0] + [1.0] * 80), "grid.weights must be >= 0"),
    (grid(weights=[0.0] * 81), "positive sum"),
    (grid(weights=[[1.0]] * 81), "grid.weights must be a list of numbers"),
    (grid(weights="gaussian"), "grid.weights must be a table"),
    (grid(weights={"mean": 0}), "grid.weights needs density"),
    (grid(weights={"density": "cauchy"}), "grid.weights.density = 'cauchy' is unknown"),
    (grid(weights={"density": "gaussian", "std": -1.0}), "grid.weights.std must be > 0"),
    (grid(weights={"density": "gaussian", "std": 0}), "grid.weights.std must be > 0"),
    (grid(weights={"density": "laplacian", "scale": -2}), "grid.weights.scale must be > 0"),
    (grid(weights={"density": "gaussian", "scale": 1}),
     r"grid.weights \(gaussian\): unknown field 'scale'"),
    (grid(weights={"density": "uniform", "mean": 1}), "unknown field 'mean'"),
    (grid(weights={"density": "gaussian", "mean": "0"}), "grid.weights.mean must be a finite"),
    (grid(weights={"density": "gaussian", "mean": 1e308, "std": 1e-300}),
     "cannot be evaluated on these points"),
    ({"source": [1.0], **grid()}, "drop source"),
    ({**grid(), "distortion": {"kind": "hamming"}}, r"drop \[distortion\]"),
    ({**grid(), "perception": {"Gamma": 0}}, r"drop \[perception\]"),
    ({**grid(), "queries": {"solver": "clarabel"}}, "queries.solver = 'clarabel'"),
    ({**grid(), "queries": {"curve": {"num": 3, "solver": "scs"}}}, "queries.curve.solver"),
    ({**grid(), "queries": {"DD": 1}}, "did you mean 'D'"),
    ({"units": "bats", **grid()}, "bats"),
])
def test_bad_grid_tables(data, match):
    with pytest.raises(ProblemFileError, match=match) as info:
        load(data, "bad_grid.toml")
    text = str(info.value)
    assert text.startswith("bad_grid.toml") and "\n" not in text


junk = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**9), st.text(max_size=4),
                 st.floats(allow_nan=True, allow_infinity=True),
                 st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4),
                 st.dictionaries(st.sampled_from(["start", "stop", "num", "density", "mean",
                                                  "std", "scale", "x"]),
                                 st.one_of(st.integers(-3, 5), st.floats(-5, 5),
                                           st.sampled_from(["gaussian", "uniform"])),
                                 max_size=4))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(table=st.dictionaries(st.sampled_from(["points", "weights", "distortion", "method",
                                              "other"]), junk, max_size=4))
def test_fuzzed_grid_tables_raise_only_problem_file_errors(table):
    try:
        load({"grid": table}, "fuzz.toml")
    except ProblemFileError as exc:
        assert str(exc).startswith("fuzz.toml") and "\n" not in str(exc)


# ------------------------------------------------------------------ command line
def test_shipped_grid_file_loads():
    spec = rdc.load_problem("gaussian_grid")
    assert isinstance(spec.problem, GridSource) and spec.problem.n == 4001
    assert spec.problem.h == pytest.approx(0.004)
    assert "1/2 log(1/D)" in spec.description


def test_cli_solve_matches_the_gaussian(capsys):
    code, out, err = run(capsys, "solve", GRID_FILE, "--D", "0.25", "--json")
    assert code == EXIT_OK, err
    data = json.loads(out)
    assert data["provenance"]["problem"]["family"] == "GridSource"
    assert data["provenance"]["problem"]["sha256"] == problem_sha256(
        rdc.load_problem(GRID_FILE).problem)
    (result,) = data["results"]
    lower, upper = result["certificate"]["lower"], result["certificate"]["upper"]
    exact, h = 0.5 * math.log(1 / 0.25), 0.004
    slack = h ** 2 / (4 * 0.25) + 1e-7  # the discretisation tolerance of docs/grid.md
    assert lower - slack <= exact <= upper + slack
    assert upper - lower < 1e-6 and result["status"] == "optimal"
    assert result["channel"] is None


def test_cli_solve_text_slope_and_curve(capsys, tmp_path):
    code, out, err = run(capsys, "solve", GRID_FILE, "--slope", "2")
    assert code == EXIT_OK, err
    assert "D = 0.25: R = 0.69314" in out and "certified in" in out
    csv = tmp_path / "g.csv"
    code, out, err = run(capsys, "curve", GRID_FILE, "--D", "0.25", "--csv", csv,
                         "--solver", "ba")
    assert code == EXIT_OK, err
    assert "1 certified points" in out and csv.read_text().startswith("# provenance: ")


@pytest.mark.parametrize("argv, match", [
    (["solve", GRID_FILE, "--D", "0.25", "--certificate", "c.json"],
     "--certificate (a certificate file) is not available for a [grid] problem"),
    (["solve", GRID_FILE, "--D", "0.25", "--solver", "clarabel"], "own Blahut"),
    (["solve", GRID_FILE, "--D", "0.25", "--Gamma", "0"], "drop --Gamma"),
    (["solve", GRID_FILE, "--D", "-1"], "below D_min"),
    (["curve", GRID_FILE, "--D", "0.25", "--solver", "scs"], "--solver scs: a [grid] problem"),
    (["verify", GRID_FILE, '{"D": 0.25, "rate": 0.69}'],
     "verify is not available for a [grid] problem"),
    (["show", GRID_FILE], "show (a convex program) is not available for a [grid] problem"),
    (["show", GRID_FILE, "--program", "dual"], "not available for a [grid] problem"),
    (["special-points", GRID_FILE], "needs a log-likelihood problem"),
])
def test_unsupported_commands_exit_2_in_one_line(capsys, tmp_path, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == EXIT_BAD_INPUT and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rdconvex: error: "), err
    assert match in lines[0] and "Traceback" not in err
    assert not (tmp_path / "c.json").exists()


def test_bad_grid_file_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[grid]\npoints = { start = 0.0, stop = 1.0, num = 1 }\n'
                   'weights = { density = "uniform" }\ndistortion = "squared"\n')
    code, _, err = run(capsys, "solve", bad, "--D", "0.1")
    assert code == EXIT_BAD_INPUT
    assert err.count("\n") == 1 and "bad.toml" in err and "grid.points.num" in err
