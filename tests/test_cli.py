"""The rdconvex command: every subcommand, --json, and the exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rdconvex.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REJECTED, EXIT_SOLVER, main
from rdconvex.closed_forms import binary_hamming_rate

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
SHIPPED = sorted(PROBLEMS.glob("*.toml"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_at_least_eight_shipped_problems():
    names = {p.stem for p in SHIPPED}
    assert len(names) >= 8
    assert {"binary_hamming", "fig3", "fig4", "example1", "gaussian", "ternary_perception",
            "forbidden_pairs", "random_40"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_problem_solves(capsys, path):
    code, out, err = run(capsys, "solve", path, "--json")
    assert code == EXIT_OK, err
    for result in json.loads(out):
        assert result["certificate"]["lower"] <= result["certificate"]["upper"] + 1e-9
        assert result["certificate"]["gap"] < 1e-4


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_problem_shows(capsys, path):
    code, out, _ = run(capsys, "show", path)
    assert code == EXIT_OK and "subject to" in out


def test_solve_text_and_several_D(capsys):
    code, out, _ = run(capsys, "solve", PROBLEMS / "binary_hamming.toml", "--D", "0.1",
                       "--D", "0.2")
    assert code == EXIT_OK
    assert "certified in" in out and out.count("D = ") == 2


def test_solve_slope(capsys):
    code, out, _ = run(capsys, "solve", PROBLEMS / "binary_hamming.toml", "--slope", "2",
                       "--json")
    (result,) = json.loads(out)
    assert code == EXIT_OK and result["slope"] == pytest.approx(2.0)


@pytest.mark.parametrize("program", ["dual", "dmin", "special-min", "special-max"])
def test_show_programs(capsys, program):
    code, out, _ = run(capsys, "show", PROBLEMS / "fig4.toml", "--program", program)
    assert code == EXIT_OK and ("minimize" in out or "maximize" in out)


def test_show_latex_and_single_parameter(capsys):
    code, out, _ = run(capsys, "show", PROBLEMS / "binary_hamming.toml", "--latex")
    assert code == EXIT_OK and r"\begin{aligned}" in out
    code, out, _ = run(capsys, "show", PROBLEMS / "example1.toml", "--program",
                       "single-parameter")
    assert code == EXIT_OK and "(22)" in out


def test_special_points(capsys):
    code, out, _ = run(capsys, "special-points", PROBLEMS / "fig4.toml", "--json")
    data = json.loads(out)
    assert code == EXIT_OK
    assert data["interval"][0] < data["interval"][1]
    code, out, _ = run(capsys, "special-points", PROBLEMS / "fig3.toml")
    assert code == EXIT_OK and "0.46899" in out


def test_special_points_needs_loglik(capsys):
    code, _, err = run(capsys, "special-points", PROBLEMS / "binary_hamming.toml")
    assert code == EXIT_BAD_INPUT and "[loglik]" in err


@pytest.mark.parametrize("content, match", [
    ('source = [0.5, 0.6]\n[distortion]\nkind = "hamming"\n', "sums to"),
    ('source = [0.5, 0.5]\n', "exactly one of the tables"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "cosine"\n', "distortion.kind"),
    ('source = [0.5, 0.5]\n[distortion]\nmatrix = [[0, 1]]\n', "shape"),
    ('source = [0.5, 0.5\n', "not valid TOML"),
    ('source = [0.5, 0.5]\ncolour = 1\n[distortion]\nkind = "hamming"\n', "unknown top-level"),
    ('source = [0.5, 0.5]\n[distortion]\nkind = "hamming"\n[perception]\nGama = 0\n',
     "unknown field"),
])
def test_bad_problem_files_exit_2(capsys, tmp_path, content, match):
    bad = tmp_path / "bad.toml"
    bad.write_text(content)
    code, _, err = run(capsys, "solve", bad, "--D", "0.1")
    assert code == EXIT_BAD_INPUT
    assert "bad.toml" in err and match in err


def test_missing_file_and_bad_D_exit_2(capsys):
    code, _, err = run(capsys, "solve", "no/such.toml", "--D", "0.1")
    assert code == EXIT_BAD_INPUT and "no such problem file" in err
    code, _, err = run(capsys, "solve", PROBLEMS / "fig3.toml", "--D", "0.01")
    assert code == EXIT_BAD_INPUT and "below D_min" in err


def test_solver_failure_exit_3(capsys, monkeypatch):
    from rdconvex.results import SolveInfo, Status
    from rdconvex.solvers.conic import Clarabel

    monkeypatch.setattr(Clarabel, "solve", lambda self, *a, **k: SolveInfo(
        Status.FAILED, 0, 0.0, "clarabel: solver_error"))
    code, _, err = run(capsys, "solve", PROBLEMS / "binary_hamming.toml", "--D", "0.1",
                       "--solver", "clarabel")
    assert code == EXIT_SOLVER and "solver failure" in err


def test_help_reads_well(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for command in ("solve", "curve", "verify", "show", "special-points", "reproduce"):
        assert command in out
    assert "exit status" in out


def test_curve_csv_plot_json(capsys, tmp_path):
    csv_path, png_path = tmp_path / "c.csv", tmp_path / "c.png"
    code, out, _ = run(capsys, "curve", PROBLEMS / "binary_hamming.toml", "--num", "12",
                       "--csv", csv_path, "--plot", png_path, "--no-progress", "--json")
    assert code == EXIT_OK
    data = json.loads(out)
    D, rate = np.array(data["D"]), np.array(data["rate"])
    assert len(D) == 12 and np.all(np.diff(rate) <= 1e-9)
    exact = [binary_hamming_rate(0.3, x) for x in D]
    np.testing.assert_allclose(rate, exact, atol=1e-7)
    assert np.all(np.array(data["lower"]) <= np.array(data["upper"]) + 1e-12)
    rows = np.loadtxt(csv_path, delimiter=",", skiprows=1)
    assert rows.shape == (12, 5)
    assert png_path.stat().st_size > 1000


def _claim(tmp_path, obj):
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.parametrize("claim, expected", [
    ({"D": 0.1, "rate": 0.2857813}, EXIT_OK),
    ({"D": 0.1, "rate": 0.25}, EXIT_REJECTED),                       # below the lower bound
    ({"D": 0.1, "channel": [[0.9, 0.1], [0.1, 0.9]]}, EXIT_OK),       # feasible, suboptimal
    ({"D": 0.1, "channel": [[0.8, 0.2], [0.2, 0.8]]}, EXIT_REJECTED),  # over budget D
    ({"curve": {"D": [0.05, 0.1], "rate": [0.4123491, 0.2857813]}}, EXIT_OK),
    ({"curve": {"D": [0.05, 0.1], "rate": [0.4123491, 0.2]}}, EXIT_REJECTED),
])
def test_verify_exit_status(capsys, tmp_path, claim, expected):
    code, out, _ = run(capsys, "verify", PROBLEMS / "binary_hamming.toml",
                       _claim(tmp_path, claim), "--json")
    assert code == expected
    assert json.loads(out)["valid"] is (expected == EXIT_OK)


@pytest.mark.parametrize("claim", [[1, 2], {"rate": 0.3}, {"D": 0.1, "colour": 1},
                                   {"curve": [0.1, 0.2]}])
def test_verify_bad_claim_exit_2(capsys, tmp_path, claim):
    code, _, err = run(capsys, "verify", PROBLEMS / "binary_hamming.toml",
                       _claim(tmp_path, claim))
    assert code == EXIT_BAD_INPUT and "claim" in err or "expected keys" in err


def test_verify_claim_not_json(capsys, tmp_path):
    path = tmp_path / "claim.json"
    path.write_text("{rate: 0.3")
    code, _, err = run(capsys, "verify", PROBLEMS / "binary_hamming.toml", path)
    assert code == EXIT_BAD_INPUT and "not valid JSON" in err


def test_curve_of_a_perception_problem(capsys):
    code, out, _ = run(capsys, "curve", PROBLEMS / "ternary_perception.toml", "--num", "4",
                       "--no-progress", "--json")
    data = json.loads(out)
    assert code == EXIT_OK and len(data["D"]) == 4
    assert data["rate"][-1] == pytest.approx(0.0, abs=1e-9)   # at D_independent
    assert np.all(np.diff(data["rate"]) <= 1e-9)
