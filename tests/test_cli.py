"""The rdconvex command: every subcommand, --json and its provenance, the exit statuses,
one-line errors and warnings (never a traceback: the argv and the problem-file fields
are fuzzed), quiet broken pipes, and every command of docs/verify.md."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rdconvex as rdc
from rdconvex.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REJECTED, EXIT_SOLVER, main
from rdconvex.closed_forms import binary_hamming_rate
from rdconvex.io import problem_sha256

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"
SHIPPED = sorted(PROBLEMS.glob("*.toml"))
#: The shipped files with a matrix: a [grid] file (a GridSource) has no convex program
#: to show (`show` exits 2 on it; tests/test_io_grid.py).
WITH_MATRIX = [p for p in SHIPPED if "[grid]" not in p.read_text(encoding="utf-8")]
HAMMING = PROBLEMS / "binary_hamming.toml"
EXITS = {EXIT_OK, EXIT_REJECTED, EXIT_BAD_INPUT, EXIT_SOLVER}


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # --help, --version
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(err: str, fragment: str = "") -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rdconvex: error: ") and "Traceback" not in err, err
    assert fragment in lines[0], (fragment, err)


# ------------------------------------------------------------------ the commands
def test_at_least_eight_shipped_problems():
    names = {p.stem for p in SHIPPED}
    assert len(names) >= 8
    assert {"binary_hamming", "fig3", "fig4", "example1", "gaussian", "ternary_perception",
            "forbidden_pairs", "random_40"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_problem_solves(capsys, path):
    code, out, err = run(capsys, "solve", path, "--json")
    assert code == EXIT_OK, err
    data = json.loads(out)
    assert data["provenance"]["problem"]["file"] == str(path)
    for result in data["results"]:
        assert result["certificate"]["lower"] <= result["certificate"]["upper"] + 1e-9
        assert result["certificate"]["gap"] < 1e-4
        assert result["status"] in ("optimal", "optimal_inaccurate", "max_iterations")


@pytest.mark.parametrize("path", WITH_MATRIX, ids=lambda p: p.stem)
def test_every_shipped_problem_shows(capsys, path):
    code, out, _ = run(capsys, "show", path)
    assert code == EXIT_OK and "subject to" in out


def test_solve_text_and_several_D(capsys):
    code, out, _ = run(capsys, "solve", HAMMING, "--D", "0.1", "--D", "0.2")
    assert code == EXIT_OK
    assert "certified in" in out and out.count("D = ") == 2


def test_solve_slope(capsys):
    code, out, _ = run(capsys, "solve", HAMMING, "--slope", "2", "--json")
    (result,) = json.loads(out)["results"]
    assert code == EXIT_OK and result["slope"] == pytest.approx(2.0)


@pytest.mark.parametrize("program", ["dual", "dmin", "special-min", "special-max"])
def test_show_programs(capsys, program):
    code, out, _ = run(capsys, "show", PROBLEMS / "fig4.toml", "--program", program)
    assert code == EXIT_OK and ("minimize" in out or "maximize" in out)


def test_show_latex_and_single_parameter(capsys):
    code, out, _ = run(capsys, "show", HAMMING, "--latex")
    assert code == EXIT_OK and r"\begin{aligned}" in out
    code, out, _ = run(capsys, "show", PROBLEMS / "example1.toml", "--program",
                       "single-parameter")
    assert code == EXIT_OK and "(22)" in out


def test_special_points(capsys):
    code, out, _ = run(capsys, "special-points", PROBLEMS / "fig4.toml", "--json")
    data = json.loads(out)
    assert code == EXIT_OK
    assert data["interval"][0] < data["interval"][1]
    assert data["provenance"]["quantity"] == "R_ll(D)"
    code, out, _ = run(capsys, "special-points", PROBLEMS / "fig3.toml")
    assert code == EXIT_OK and "0.46899" in out


def test_special_points_needs_loglik(capsys):
    code, _, err = run(capsys, "special-points", HAMMING)
    assert code == EXIT_BAD_INPUT and "[loglik]" in err


def test_shipped_problems_by_name_from_any_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("binary_hamming", "binary_hamming.toml", "problems/binary_hamming.toml"):
        code, out, err = run(capsys, "solve", name, "--D", "0.1")
        assert code == EXIT_OK and "certified in" in out, err
    code, _, err = run(capsys, "solve", "no_such_problem", "--D", "0.1")
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, "shipped problem (binary_hamming, example1")


def test_solver_failure_exit_3(capsys, monkeypatch):
    from rdconvex.results import SolveInfo, Status
    from rdconvex.solvers.conic import Clarabel

    monkeypatch.setattr(Clarabel, "solve", lambda self, *a, **k: SolveInfo(
        Status.FAILED, 0, 0.0, "clarabel: solver_error"))
    code, _, err = run(capsys, "solve", HAMMING, "--D", "0.1", "--solver", "clarabel")
    assert code == EXIT_SOLVER and "solver failure" in err and len(err.splitlines()) == 1


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("solve", "curve", "verify", "show", "special-points", "reproduce"):
        assert command in out
    assert "exit status" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith(f"rdconvex {rdc.__version__} (") and "numpy" in out


def test_curve_of_a_perception_problem(capsys):
    code, out, _ = run(capsys, "curve", PROBLEMS / "ternary_perception.toml", "--num", "4",
                       "--no-progress", "--json")
    data = json.loads(out)
    assert code == EXIT_OK and len(data["D"]) == 4
    assert data["provenance"]["quantity"] == "R(D, Gamma)"
    assert data["provenance"]["Gamma"] == 0.0 and data["provenance"]["divergence"] == "tv"
    assert data["rate"][-1] == pytest.approx(0.0, abs=1e-9)   # at D_independent
    assert np.all(np.diff(data["rate"]) <= 1e-9)


# ------------------------------------------------------------------ provenance
def test_solve_json_carries_provenance_and_null_for_inf(capsys):
    code, out, _ = run(capsys, "solve", HAMMING, "--D", "0", "--D", "0.1", "--tol", "1e-8",
                       "--json")
    data = json.loads(out)
    record = data["provenance"]
    assert code == EXIT_OK and "Infinity" not in out
    assert record["versions"]["rdconvex"] == rdc.__version__
    assert {"numpy", "cvxpy", "clarabel"} <= set(record["versions"])
    assert record["quantity"] == "R(D)" and record["units"] == "nats"
    assert record["solver"] == "clarabel" and record["solver_options"] == {"tol": 1e-8}
    problem = rdc.load_problem(HAMMING).problem
    data_bytes = (np.asarray(problem.p_x, "<f8").tobytes()
                  + np.asarray(problem.d, "<f8").tobytes())
    assert record["problem"]["sha256"] == hashlib.sha256(data_bytes).hexdigest()
    assert record["problem"]["name"] == "binary-hamming"
    at_D_min, regular = data["results"]
    assert at_D_min["slope"] is None                       # +inf, written as null
    assert regular["status"] == "optimal" and "proof" not in regular


def test_loglik_hash_is_of_p_and_A():
    problem = rdc.load_problem(PROBLEMS / "fig3.toml").problem
    expected = hashlib.sha256(np.asarray(problem.p_x, "<f8").tobytes()
                              + np.asarray(problem.p_x_given_u, "<f8").tobytes())
    assert problem_sha256(problem) == expected.hexdigest()


def test_curve_csv_plot_json(capsys, tmp_path):
    csv_path, png_path, pdf_path = tmp_path / "c.csv", tmp_path / "c.png", tmp_path / "c.pdf"
    code, out, _ = run(capsys, "curve", HAMMING, "--num", "12",
                       "--csv", csv_path, "--plot", png_path, "--no-progress", "--json")
    assert code == EXIT_OK
    data = json.loads(out)
    D, rate = np.array(data["D"]), np.array(data["rate"])
    assert len(D) == 12 and np.all(np.diff(rate) <= 1e-9)
    exact = [binary_hamming_rate(0.3, x) for x in D]
    np.testing.assert_allclose(rate, exact, atol=1e-7)
    assert np.all(np.array(data["lower"]) <= np.array(data["upper"]) + 1e-12)
    assert data["status"] == ["optimal"] * 12 and data["slope"][0] is None
    first, header, *rows = csv_path.read_text().splitlines()
    assert first.startswith("# provenance: ")
    assert json.loads(first[len("# provenance: "):]) == data["provenance"]
    assert header == "D,rate,lower,upper,gap,slope,distortion,status"
    assert len(rows) == 12 and rows[0].split(",")[5] == "inf"
    np.testing.assert_array_equal([float(r.split(",")[1]) for r in rows], rate)
    assert png_path.stat().st_size > 1000
    code, _, _ = run(capsys, "curve", HAMMING, "--num", "3", "--plot", pdf_path)
    assert code == EXIT_OK and pdf_path.read_bytes()[:4] == b"%PDF"


def test_plot_axes_name_quantity_and_units(monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    from rdconvex.cli_commands import _plot

    labels = {}
    monkeypatch.setattr(plt, "close", lambda fig: labels.update(
        x=fig.axes[0].get_xlabel(), y=fig.axes[0].get_ylabel()))
    for name, x, y in (("fig3", "D [bits]", r"$R_{\ell\ell}(D)$ [bits]"),
                       ("ternary_perception", "D [units of d]", r"$R(D, \Gamma=0)$ [nats]"),
                       ("binary_hamming", "D [units of d]", "R(D) [nats]")):
        spec = rdc.load_problem(PROBLEMS / f"{name}.toml")
        budget = {"Gamma": 0.0} if spec.perception is not None else {}
        curve = spec.problem.curve(num=3, **budget)
        _plot(curve, spec, budget, tmp_path / f"{name}.png")
        assert labels == {"x": x, "y": y}


# -------------------------------------------------------- one-line errors, exit 2
@pytest.mark.parametrize("content, match", [
    ('source = [0.5, 0.6]\n[distortion]\nkind = "hamming"\n', "sums to"),
    ('source = [0.5, 0.5]\n', "exactly one of the tables"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "cosine"\n', "distortion.kind"),
    ('source = [0.5, 0.5]\n[distortion]\nmatrix = [[0, 1]]\n', "shape"),
    ('source = [0.5, 0.5\n', "not valid TOML"),
    ('source = [0.5, 0.5]\ncolour = 1\n[distortion]\nkind = "hamming"\n', "unknown top-level"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[perception]\nGama = 0\n',
     "unknown field"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\nmatirx = [[0, 1], [1, 0]]\n',
     "unknown field(s) ['matirx'] in [distortion]"),
    ('name = 3\nsource = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n', "name must be a string"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[queries]\nDD = [0.1]\n',
     ("unknown field 'DD' (did you mean 'D'?); valid: D, curve, rate_at_D_min, solver, "
      "special_points")),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[queries]\nD = "0.1"\n',
     "queries.D must be a number or a list of numbers"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[queries]\nsolver = 3\n',
     "queries.solver = 3 is not a solver"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[queries]\ncurve = { num = 1 }\n',
     "queries.curve.num must be an integer >= 2"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[queries]\ncurve = { nmu = 5 }\n',
     "did you mean 'num'?"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[queries]\nspecial_points = 1\n',
     "queries.special_points must be true or false"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[perception]\nGamma = -1\n',
     "perception.Gamma must be a number >= 0"),
])
def test_bad_problem_files_exit_2(capsys, tmp_path, content, match):
    bad = tmp_path / "bad.toml"
    bad.write_text(content)
    code, _, err = run(capsys, "solve", bad, "--D", "0.1")
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, match)
    assert "bad.toml" in err


def test_missing_file_and_bad_D_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "solve", "no/such.toml", "--D", "0.1")
    assert code == EXIT_BAD_INPUT and "no such problem file" in err
    code, _, err = run(capsys, "solve", PROBLEMS / "fig3.toml", "--D", "0.01")
    assert code == EXIT_BAD_INPUT and "below D_min" in err
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00source")
    code, _, err = run(capsys, "solve", binary, "--D", "0.1")
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, "not UTF-8 text")


@pytest.mark.parametrize("argv, match", [
    (["solve", HAMMING, "--D", "0.1", "--slope", "2"], "--slope: not allowed with argument --D"),
    (["curve", HAMMING, "--num", "0"], "--num: 0 must be at least 2"),
    (["curve", HAMMING, "--num", "3", "--D", "0.1"], "not allowed with argument --num"),
    (["solve", HAMMING, "--Gamma", "0.1", "--D", "0.1"], "no [perception] table: drop --Gamma"),
    (["curve", HAMMING, "--Gamma", "0", "--num", "3"], "drop --Gamma"),
    (["show", HAMMING, "--Gamma", "0.1"], "drop --Gamma"),
    (["solve", PROBLEMS, "--D", "0.1"], "is a directory; give one problem file"),
    (["curve", HAMMING, "--num", "3", "--plot", "out.xyz"], "unknown figure format .xyz"),
    (["solve", HAMMING, "--D", "nan"], "--D: nan is not a number"),
    (["solve", HAMMING, "--D", "abc"], "--D: 'abc' is not a number"),
    (["solve", HAMMING, "--D", "0.1", "--tol", "-1"], "--tol: '-1' must be a finite number"),
    (["solve", HAMMING, "--D", "0.1", "--max-iter", "0"], "--max-iter: 0 must be at least 1"),
    (["solve", HAMMING, "--D", "0.1", "--solver", "nope"], "nope"),
    (["solve", PROBLEMS / "ternary_perception.toml", "--slope", "2"], "slope"),
    (["show", HAMMING, "--program", "dual", "--slope", "2"], "--slope applies to --program"),
    (["show", PROBLEMS / "fig3.toml", "--program", "dmin", "--D", "0.3"], "takes no --D"),
    (["solve", HAMMING, "--D", "0.1", "--bogus"], "unrecognized arguments: --bogus"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
    (["solve"], "the following arguments are required: problem"),
    (["reproduce", "--problems", "no/such/dir"], "not a folder of problem files"),
    (["verify", HAMMING, "{bad json"], "not valid JSON"),
    (["verify", HAMMING, '{"D": 0.1, "rate": 0.3}', "--rtol", "-1"], "--rtol"),
    (["check", "no/such/cert.json"], "no/such/cert.json: cannot read it"),
    (["check", HAMMING], "malformed certificate: document: not JSON text"),
])
def test_every_mistake_is_one_line_and_exit_2(capsys, argv, match):
    code, _, err = run(capsys, *argv)
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, match)


def test_unwritable_outputs_are_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "curve", HAMMING, "--num", "3", "--csv", tmp_path)
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, f"cannot write {tmp_path}")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "reproduce", "--out", blocker)
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, "is a file; give a folder")


# ------------------------------------------------ warnings, statuses, pipes, bugs
def test_not_optimal_warns_and_strict_exits_3(capsys):
    argv = ["solve", HAMMING, "--D", "0.1", "--solver", "ba", "--max-iter", "1"]
    code, out, err = run(capsys, *argv)
    assert code == EXIT_OK and "max_iterations" in out
    assert err.startswith("rdconvex: warning: 1 of 1 results are not optimal (max_iterations")
    assert len(err.splitlines()) == 1
    code, _, err = run(capsys, *argv, "--strict")
    assert code == EXIT_SOLVER
    assert_one_line_error(err, "1 of 1 results are not optimal")
    code, _, err = run(capsys, "curve", HAMMING, "--num", "3", "--solver", "ba", "--max-iter",
                       "1", "--strict", "--json")
    assert code == EXIT_SOLVER and "results are not optimal" in err


def test_warnings_are_one_line(capsys, monkeypatch):
    import warnings

    from rdconvex import cli_commands

    real = cli_commands.load_problem

    def noisy(path):
        warnings.warn("first line\nsecond line", RuntimeWarning, stacklevel=1)
        return real(path)

    monkeypatch.setattr(cli_commands, "load_problem", noisy)
    code, _, err = run(capsys, "solve", HAMMING, "--D", "0.1")
    assert code == EXIT_OK
    assert err == "rdconvex: warning: first line second line\n"


def test_internal_errors_are_one_line(capsys, monkeypatch):
    from rdconvex import cli_commands

    monkeypatch.setattr(cli_commands, "load_problem", lambda path: 1 / 0)
    code, _, err = run(capsys, "solve", HAMMING, "--D", "0.1")
    assert code == EXIT_SOLVER
    assert_one_line_error(err, "internal error (ZeroDivisionError")


class _ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_is_quiet(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    code = main(["solve", str(HAMMING), "--D", "0.1", "--D", "0.2"])
    assert code == EXIT_OK
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["verify", str(HAMMING), '{"D": 0.1, "rate": 0.25}']) == EXIT_REJECTED


def test_output_piped_into_head_is_quiet():
    """``rdconvex ... | head -1``: the reader goes away, the command ends quietly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rdconvex", "solve", str(HAMMING), "--D", "0.05", "--D", "0.1",
         "--D", "0.2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()            # like `head` exiting before anything is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == EXIT_OK
    assert err == "", err


# ------------------------------------------------------------------ verify
def _claim(tmp_path, obj):
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.parametrize("claim, expected", [
    ({"D": 0.1, "rate": 0.2857813}, EXIT_OK),
    ({"D": 0.1, "rate": 0.25}, EXIT_REJECTED),                       # below the lower bound
    ({"D": 0.1, "rate": 0.2858}, EXIT_REJECTED),                     # four digits, no rtol
    ({"D": 0.1, "rate": 0.4123, "units": "bits"}, EXIT_REJECTED),
    ({"D": 0.1, "channel": [[0.9, 0.1], [0.1, 0.9]]}, EXIT_OK),       # feasible, suboptimal
    ({"D": 0.1, "channel": [[0.8, 0.2], [0.2, 0.8]]}, EXIT_REJECTED),  # over budget D
    ({"curve": {"D": [0.05, 0.1], "rate": [0.4123491, 0.2857813]}}, EXIT_OK),
    ({"curve": {"D": [0.05, 0.1], "rate": [0.4123491, 0.2]}}, EXIT_REJECTED),
    ({"D": [0.05, 0.1], "rate": [0.4123491, 0.2857813]}, EXIT_OK),
    ({"results": [{"D": 0.1, "rate": 0.2857813}]}, EXIT_OK),
])
def test_verify_exit_status(capsys, tmp_path, claim, expected):
    code, out, _ = run(capsys, "verify", HAMMING, _claim(tmp_path, claim), "--json")
    assert code == expected
    data = json.loads(out)
    assert data["valid"] is (expected == EXIT_OK)
    assert data["provenance"]["problem"]["sha256"] == problem_sha256(
        rdc.load_problem(HAMMING).problem)


def test_verify_tolerances_and_the_miss(capsys):
    claim = '{"D": 0.1, "rate": 0.2858}'
    code, out, _ = run(capsys, "verify", HAMMING, claim)
    assert code == EXIT_REJECTED
    assert "above the certified upper bound of [0.2857813287, 0.2857813287] nats by 1.87e-05" \
        in out
    code, out, _ = run(capsys, "verify", HAMMING, claim, "--rtol", "1e-3")
    assert code == EXIT_OK and "misses the certified interval" in out and "1.87e-05" in out
    code, _, _ = run(capsys, "verify", HAMMING, claim, "--tol", "2e-5")
    assert code == EXIT_OK
    code, out, _ = run(capsys, "verify", HAMMING, '{"D": 0.1, "rate": 0.4123, "units": "bits"}',
                       "--rtol", "1e-3", "--json")
    data = json.loads(out)
    assert code == EXIT_OK and data["claim_units"] == "bits" and data["units"] == "nats"
    assert data["miss"] == pytest.approx(0.4123 * math.log(2) - 0.2857813287, abs=1e-9)


def test_verify_reads_stdin_and_inline_json(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"D": 0.1, "rate": 0.2857813}'))
    code, out, _ = run(capsys, "verify", HAMMING, "-")
    assert code == EXIT_OK and out.startswith("accepted")
    code, _, _ = run(capsys, "verify", HAMMING, ' {"D": 0.1, "rate": 0.2857813}')
    assert code == EXIT_OK


def test_verify_reads_back_solve_and_curve_outputs(capsys, tmp_path):
    for argv in (["solve", HAMMING, "--D", "0.05", "--D", "0.1", "--json"],
                 ["solve", HAMMING, "--D", "0.1", "--json"],
                 ["curve", HAMMING, "--num", "6", "--json", "--csv", tmp_path / "c.csv"],
                 ["solve", PROBLEMS / "ternary_perception.toml", "--json"],
                 ["solve", PROBLEMS / "fig3.toml", "--json"],
                 ["curve", PROBLEMS / "fig4.toml", "--num", "4", "--json"]):
        code, out, _ = run(capsys, *argv)
        assert code == EXIT_OK
        claim = tmp_path / "out.json"
        claim.write_text(out)
        code, verdict, err = run(capsys, "verify", argv[1], claim)
        assert code == EXIT_OK and err == "", (argv, verdict, err)
    code, verdict, err = run(capsys, "verify", HAMMING, tmp_path / "c.csv")
    assert code == EXIT_OK and "all 6 claimed rates" in verdict
    code, _, err = run(capsys, "verify", PROBLEMS / "example1.toml", tmp_path / "c.csv")
    assert code == EXIT_REJECTED and "different problem data" in err


def test_verify_reads_result_and_curve_records(capsys, tmp_path):
    """What ``Result.to_json``, ``Curve.to_json`` and ``Curve.to_csv`` write (infinities
    as ``{"float": "inf"}`` markers) are claims too."""
    problem = rdc.load_problem(HAMMING).problem
    records = {"result.json": problem.solve(D=0.1).to_json(),
               "curve.json": problem.curve(num=4).to_json()}
    for name, text in records.items():
        (tmp_path / name).write_text(text)
    problem.curve(num=4).to_csv(tmp_path / "curve.csv")
    for name in ("result.json", "curve.json", "curve.csv"):
        code, out, err = run(capsys, "verify", HAMMING, tmp_path / name)
        assert code == EXIT_OK and err == "", (name, out, err)


def test_verify_csv_from_another_tool(capsys, tmp_path):
    path = tmp_path / "other.csv"
    rates = [binary_hamming_rate(0.3, D, units="bits") for D in (0.05, 0.1)]
    path.write_text(f"# written by hand\nD,rate_bits\n0.05,{rates[0]}\n0.1,{rates[1]}\n")
    code, out, _ = run(capsys, "verify", HAMMING, path)
    assert code == EXIT_OK and "given in bits" in out
    path.write_text("D,rate\n0.05,abc\n")
    code, _, err = run(capsys, "verify", HAMMING, path)
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, "row 2: D and rate must be numbers")


def test_verify_a_perception_claim_uses_the_files_budget(capsys):
    problem = PROBLEMS / "ternary_perception.toml"
    code, out, _ = run(capsys, "solve", problem, "--D", "0.2", "--json")
    rate = json.loads(out)["results"][0]["rate"]
    code, out, _ = run(capsys, "verify", problem, json.dumps({"D": 0.2, "rate": rate}))
    assert code == EXIT_OK and "R(0.2, 0)" in out
    code, _, err = run(capsys, "verify", HAMMING, '{"D": 0.1, "rate": 0.3, "Gamma": 0}')
    assert code == EXIT_BAD_INPUT and "drop Gamma" in err


@pytest.mark.parametrize("claim, match", [
    ([1, 2], "results[0] must be an object with D and rate"),
    ({"rate": 0.3}, "expected keys D and rate"),
    ({"D": 0.1, "colour": 1}, "unknown key(s) ['colour']"),
    ({"curve": [0.1, 0.2]}, "curve must be"),
    ({"D": 0.1, "rate": "0.3"}, "rate must be a number"),
    ({"D": 0.1, "rate": 0.3, "units": "hats"}, '"units" must be "nats" or "bits"'),
    ({"results": []}, '"results" must be a non-empty list'),
    ({"D": [0.1, 0.2], "rate": [0.3]}, "equally many"),
])
def test_verify_bad_claim_exit_2(capsys, tmp_path, claim, match):
    code, _, err = run(capsys, "verify", HAMMING, _claim(tmp_path, claim))
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, match)


def test_verify_claim_not_json_or_missing(capsys, tmp_path):
    path = tmp_path / "claim.json"
    path.write_text("{rate: 0.3")
    code, _, err = run(capsys, "verify", HAMMING, path)
    assert code == EXIT_BAD_INPUT and "not valid JSON" in err
    code, _, err = run(capsys, "verify", HAMMING, tmp_path / "none.json")
    assert code == EXIT_BAD_INPUT
    assert_one_line_error(err, "no such claim file")
    code, _, err = run(capsys, "verify", HAMMING, tmp_path)
    assert_one_line_error(err, "is a directory")


# ----------------------------------------------------- the examples of docs/verify.md
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _run_shell_line(line: str, monkeypatch) -> None:
    """One command line of the docs: ``rdconvex ...`` stages joined by ``|``, an ``echo``
    first stage, ``> file`` at the end; ``# exit N`` says the expected exit status."""
    expected = re.search(r"#\s*exit\s+(\d)\s*$", line)
    words = shlex.split(line, comments=True)
    if not words:
        return
    target = None
    if ">" in words:
        words, target = words[:words.index(">")], words[words.index(">") + 1]
    stages = [[]]
    for word in words:
        if word == "|":
            stages.append([])
        else:
            stages[-1].append(word)
    text, code = "", None
    for stage in stages:
        if stage[0] == "echo":
            text, code = " ".join(stage[1:]) + "\n", EXIT_OK
            continue
        assert stage[0] == "rdconvex", line
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(stage[1:])
        text = buffer.getvalue()
        if stage is not stages[-1]:
            assert code == EXIT_OK, line
    if target:
        Path(target).write_text(text)
    assert code == (int(expected.group(1)) if expected else EXIT_OK), line


def test_every_example_of_verify_md_runs(tmp_path, monkeypatch, capsys):
    """Python and shell blocks in order, in one folder; each command exits as the
    trailing ``# exit N`` says (0 when it says nothing)."""
    pytest.importorskip("dit")
    (tmp_path / "problems").symlink_to(PROBLEMS)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    shell = 0
    for lang, body in FENCE.findall((ROOT / "docs" / "verify.md").read_text()):
        if lang == "python":
            exec(compile(body, "verify.md:python", "exec"), namespace)  # noqa: S102
        elif lang in ("shell", "bash"):
            for line in body.splitlines():
                if line.strip().startswith("rdconvex") or line.strip().startswith("echo"):
                    _run_shell_line(line, monkeypatch)
                    shell += 1
    assert shell >= 15
    assert "Traceback" not in capsys.readouterr().err


# ------------------------------------------------------------------ fuzzing
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

_VALUES = ["0.1", "0", "-1", "nan", "inf", "-inf", "abc", "", "2", "0.35", "1e308", "3",
           '{"D": 0.1, "rate": 0.3}', '{"D": [0.1], "rate": [0.3]}', "{", "-", "x.png",
           "x.xyz", "x.csv", "ba", "clarabel", "nope", "dual", "dmin", "primal"]
_OPTIONS = ["--D", "--slope", "--Gamma", "--num", "--tol", "--rtol", "--max-iter", "--solver",
            "--program", "--plot", "--csv", "--json", "--strict", "--latex", "--no-progress",
            "--bogus", "--help", "--version", "-"]
_FILES = [HAMMING, PROBLEMS / "fig3.toml", PROBLEMS / "ternary_perception.toml",
          "binary_hamming", "no/such.toml", PROBLEMS, "-"]


def _assert_clean(code, out: str, err: str) -> None:
    assert code in EXITS, (code, err)
    assert "Traceback" not in out + err and "internal error" not in err, err
    for line in err.splitlines():
        assert line.startswith("rdconvex: "), err


_GOOD = [("--D", "0.1"), ("--D", "0.3"), ("--slope", "2"), ("--Gamma", "0"), ("--num", "3"),
         ("--tol", "1e-6"), ("--rtol", "1e-3"), ("--max-iter", "1"), ("--solver", "ba"),
         ("--solver", "clarabel"), ("--program", "dual"), ("--program", "dmin"),
         ("--json", None), ("--strict", None), ("--latex", None), ("--plot", "x.png"),
         ("--csv", "x.csv"), ("--no-progress", None)]


@st.composite
def _argv(draw):
    command = draw(st.sampled_from(["solve", "curve", "verify", "show", "special-points",
                                    "check", "reproduce", "--json", "bogus"]))
    argv = [command]
    if command not in ("reproduce", "--json", "bogus"):
        argv.append(str(draw(st.sampled_from(_FILES))))
    if command == "verify":
        argv.append(draw(st.sampled_from(_VALUES)))
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.integers(0, 3)):        # mostly sensible pairs, in any combination
            option, value = draw(st.sampled_from(_GOOD))
            argv += [option] if value is None else [option, value]
        else:
            argv.append(draw(st.sampled_from(_OPTIONS)))
            if draw(st.booleans()):
                argv.append(draw(st.sampled_from(_VALUES)))
    if command == "curve":      # keep every run cheap
        argv += ["--num", "3"]
    if command == "reproduce":  # never a whole reproduction
        argv += ["--problems", "no/such/dir"]
    return argv


def test_no_argv_ever_shows_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    @FUZZ
    @given(argv=_argv())
    def check(argv):
        code, out, err = run(capsys, *argv)
        _assert_clean(code, out, err)

    check()


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=3)
_JUNK = st.one_of(_TEXT, st.booleans(), st.integers(-3, 3),
                  st.floats(allow_nan=True, allow_infinity=True),
                  st.lists(st.floats(-2, 2), max_size=3),
                  st.lists(st.lists(st.floats(-1, 2), max_size=3), max_size=3),
                  st.dictionaries(_TEXT, st.integers(), max_size=2))
_QUERY = st.dictionaries(
    st.sampled_from(["D", "DD", "solver", "curve", "special_points", "rate_at_D_min", "num"]),
    st.one_of(_JUNK, st.sampled_from([0.1, [0.1, 0.2], 0.01, "ba", "nope", True,
                                      {"num": 3}, {"num": 1}, {"nmu": 3}])), max_size=3)
_BASES = [
    {"source": [0.7, 0.3], "distortion": {"kind": "hamming"}, "queries": {"D": [0.1]}},
    {"source": [0.75, 0.25], "units": "bits", "loglik": {"p_x_given_u": [[0.9, 0.1],
                                                                         [0.1, 0.9]]},
     "queries": {"D": [0.3]}},
    {"source": [0.5, 0.3, 0.2], "distortion": {"kind": "hamming"},
     "perception": {"divergence": "tv", "Gamma": 0.0}, "queries": {"D": [0.2]}},
]
#: One valid problem of each family, and what may replace each of its fields.
_FIELDS = {
    "source": st.one_of(st.sampled_from([[0.7, 0.3], [0.5, 0.3, 0.2], [1.0, 0.0]]), _JUNK),
    "distortion": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={
        "kind": st.one_of(st.sampled_from(["hamming", "squared_error", "cosine"]), _JUNK),
        "matrix": st.one_of(st.sampled_from([[[0, 1], [1, 0]], [[0, math.inf], [1, 0]]]),
                            _JUNK),
        "points": _JUNK, "matirx": _JUNK})),
    "loglik": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={
        "p_x_given_u": st.one_of(st.just([[0.9, 0.1], [0.1, 0.9]]), _JUNK)})),
    "perception": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={
        "divergence": st.one_of(st.sampled_from(["tv", "kl", "js"]), _JUNK),
        "Gamma": st.one_of(st.sampled_from([0.0, 0.05, -1.0]), _JUNK),
        "ground_metric": _JUNK})),
    "queries": st.one_of(_QUERY, _JUNK),
    "units": st.one_of(st.sampled_from(["nats", "bits", "hats"]), _JUNK),
    "name": _JUNK, "reference": _JUNK, "extra": _JUNK,
}


@st.composite
def _problem_files(draw):
    data = dict(draw(st.sampled_from(_BASES)))
    for key in draw(st.lists(st.sampled_from(sorted(_FIELDS)), max_size=2, unique=True)):
        data[key] = draw(_FIELDS[key])
    return data


def _toml(value) -> str:
    """A TOML value (inline tables for tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else
                                                "-inf" if value == -math.inf else repr(value))
    if isinstance(value, str):
        return "inf" if value == "inf" else json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


def test_no_problem_file_ever_shows_a_traceback(tmp_path, capsys):
    path = tmp_path / "fuzz.toml"

    @FUZZ
    @given(data=_problem_files(), command=st.sampled_from(["solve", "show", "special-points"]))
    def check(data, command):
        path.write_text("\n".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in data.items()))
        code, out, err = run(capsys, command, path, *(["--json"] if command == "solve" else []))
        _assert_clean(code, out, err)
        if code == EXIT_BAD_INPUT:
            assert "fuzz.toml" in err or "--" in err, err

    check()
