"""The result records: Status, success, exact JSON round trips (every family), CSV and
pandas tables, notebook displays; and the terminal-only progress bars."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rdconvex as rdc
from rdconvex import _progress
from rdconvex import _serialize as ser
from rdconvex.errors import InvalidArgumentError
from rdconvex.results import Certificate, Curve, Result, Status

ROOT = Path(__file__).resolve().parents[1]
HAMMING = 1 - np.eye(2)


# ------------------------------------------------------------------- helpers
def same_float(a, b) -> bool:
    """Bit-identical floats (any NaN equals any NaN: NaN has one JSON form)."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack("<d", a) == struct.pack("<d", b)


def assert_same(a, b, where="value"):
    """``a`` and ``b`` equal exactly: same classes, arrays of the same shape and dtype,
    floats bit for bit (a dataclass's ``provenance`` is compared elsewhere)."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert (a.shape, a.dtype) == (b.shape, b.dtype), where
        assert all(same_float(x, y) if a.dtype.kind == "f" else x == y
                   for x, y in zip(a.ravel().tolist(), b.ravel().tolist())), where
    elif dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            if f.name != "provenance":
                assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        assert isinstance(b, float) and same_float(a, b), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, np.generic):  # a numpy scalar comes back as the Python one
        assert type(b) is type(a.item()) and a == b, f"{where}: {a!r} != {b!r}"
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def round_trips(res):
    """Through the dict and through the JSON text, both ways."""
    data = res.to_dict()
    json.dumps(data, allow_nan=False)  # JSON-ready as it is
    for back in (type(res).from_dict(data), Result.from_dict(data),
                 Result.from_json(res.to_json()), Result.from_json(res.to_json(indent=2))):
        assert_same(res, back)
        assert back.provenance == data["provenance"]
        assert back.to_dict() == data
    text = res.to_json()
    assert Result.from_json(text).to_json() == text
    assert "Infinity" not in text and "NaN" not in text
    return Result.from_json(text)


@pytest.fixture(scope="module")
def classical():
    return rdc.RateDistortion([0.7, 0.3], HAMMING)


# ------------------------------------------------------------------- Status
def test_status_is_a_str_enum():
    assert Status.OPTIMAL == "optimal" and isinstance(Status.OPTIMAL, str)
    assert str(Status.OPTIMAL_INACCURATE) == "optimal_inaccurate"
    assert f"{Status.MAX_ITERATIONS}" == "max_iterations"
    assert json.dumps(Status.FAILED) == '"failed"'
    assert Status("optimal") is Status.OPTIMAL
    assert {s.value for s in Status} == {"optimal", "optimal_inaccurate", "max_iterations",
                                         "infeasible", "unbounded", "failed"}


def test_success_iff_optimal(classical):
    res = classical.solve(D=0.1)
    assert res.status == "optimal" and res.success is True
    for status in Status:
        other = dataclasses.replace(res, status=status)
        assert other.success is (status == "optimal")
    # a plain string is taken as the Status it names
    assert dataclasses.replace(res, status="max_iterations").status is Status.MAX_ITERATIONS


# ------------------------------------------------------------ round trips
@pytest.mark.parametrize("units", ["nats", "bits"])
@pytest.mark.parametrize("solver", ["ba", "clarabel"])
def test_classical_result_round_trips_exactly(units, solver):
    prob = rdc.RateDistortion([0.5, 0.3, 0.2], [[0, 1, 4], [1, 0, 1], [4, 1, 0]],
                              units=units)
    res = prob.solve(D=0.4, solver=solver)
    back = round_trips(res)
    assert back.units == units and back.solver == solver
    assert not back.channel.flags.writeable


def test_inf_slope_at_D_min_and_its_marker(classical):
    res = classical.solve(D=classical.D_min)
    assert res.slope == math.inf
    data = res.to_dict()
    assert data["slope"] == {"float": "inf"}
    assert data["proof"]["parameters"]["D"] == "D_min"
    round_trips(res)


def test_forbidden_pairs_in_the_proof_data():
    """``+inf`` distortions (forbidden pairs) are markers inside the proof's arrays."""
    prob = rdc.RateDistortion([0.6, 0.4], [[0.0, np.inf], [1.0, 0.0]])
    res = prob.solve(D=0.2)
    assert res.to_dict()["proof"]["problem"]["d"][0][1] == {"float": "inf"}
    back = round_trips(res)
    assert back.proof.problem["d"][0, 1] == math.inf


def test_loaded_result_writes_the_same_certificate(classical, tmp_path):
    res = classical.solve(D=0.1)
    back = Result.from_json(res.to_json())
    res.save_certificate(tmp_path / "a.json")
    back.save_certificate(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert rdc.check_certificate(tmp_path / "b.json").proven


def test_perception_result_round_trips():
    rdp = rdc.RateDistortionPerception([0.7, 0.3], HAMMING, divergence="tv")
    res = rdp.solve(D=0.1, Gamma=0.05)
    assert type(res).__name__ == "PerceptionResult"
    data = res.to_dict()
    assert data["kind"] == "rdconvex.problems.perception.PerceptionResult"
    assert data["Gamma"] == 0.05 and data["divergence"] == "tv"
    back = round_trips(res)
    assert type(back) is type(res) and back.perception == res.perception


def test_perfect_perception_result_round_trips(tmp_path):
    rdp = rdc.RateDistortionPerception([0.7, 0.3], HAMMING)
    res = rdp.solve(D=0.1, Gamma=0.0)
    back = round_trips(res)
    back.save_certificate(tmp_path / "p.json")
    assert rdc.check_certificate(tmp_path / "p.json").proven


def test_dmin_result_round_trips_with_its_bool_array():
    ll = rdc.LogLikelihood([0.5, 0.3, 0.2], [[0.6, 0.6, 0.1], [0.2, 0.2, 0.1],
                                             [0.2, 0.2, 0.8]], units="bits")
    res = ll.rate_at_D_min()
    assert type(res).__name__ == "DMinResult" and res.ties.dtype == bool
    back = round_trips(res)
    assert back.ties.dtype == bool and back.tie_randomization.dtype == np.float64


def test_kind_resolves_a_module_not_imported_yet(classical):
    """A fresh interpreter reads a PerceptionResult without importing its module first."""
    rdp = rdc.RateDistortionPerception([0.7, 0.3], HAMMING)
    text = rdp.solve(D=0.1, Gamma=0.05).to_json()
    code = ("import sys, rdconvex as rdc\n"
            "assert 'rdconvex.problems.perception' not in sys.modules\n"
            "res = rdc.Result.from_json(sys.stdin.read())\n"
            "print(type(res).__name__, res.Gamma)")
    out = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["PerceptionResult", "0.05"]


def test_non_finite_values_round_trip(classical):
    res = classical.solve(D=0.1)
    odd = dataclasses.replace(
        res, D=math.nan, iterations=np.int64(7), solve_time=np.float64(-0.0),
        certificate=Certificate(upper=math.inf, lower=-math.inf, units="nats"),
        channel=np.array([[math.nan, -math.inf], [math.inf, -0.0]]))
    data = odd.to_dict()
    assert data["D"] == {"float": "nan"} and data["iterations"] == 7
    assert data["certificate"] == {"upper": {"float": "inf"}, "lower": {"float": "-inf"},
                                   "units": "nats", "gap": {"float": "inf"}}
    assert data["channel"] == [[{"float": "nan"}, {"float": "-inf"}], [{"float": "inf"}, -0.0]]
    back = Result.from_json(odd.to_json())
    assert_same(odd, back)
    assert math.copysign(1.0, back.solve_time) == -1.0


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=8))
def test_every_float_reads_back_bit_for_bit(values):
    text = ser.dumps({"x": ser.to_plain(values), "a": ser.to_plain(np.array(values))})
    data = ser.loads(text)
    assert all(same_float(a, b) for a, b in zip(values, ser.from_plain(data["x"])))
    array = ser.array_from_plain(data["a"])
    assert array.shape == (len(values),)
    assert all(same_float(a, b) for a, b in zip(values, array.tolist()))


def test_provenance_names_the_solver_and_versions(classical):
    res = classical.solve(D=0.1, solver="clarabel")
    prov = res.to_dict()["provenance"]
    assert prov["solver"] == "clarabel"
    assert prov["versions"]["rdconvex"] == rdc.__version__
    assert {"python", "numpy", "cvxpy"} <= set(prov["versions"])
    # a loaded result keeps the provenance it was written with
    old = {**res.to_dict(), "provenance": {"solver": "clarabel", "versions": {"numpy": "1.0"}}}
    assert Result.from_dict(old).to_dict()["provenance"]["versions"] == {"numpy": "1.0"}


def test_bad_documents_raise_named_errors(classical):
    data = classical.solve(D=0.1).to_dict()
    with pytest.raises(InvalidArgumentError, match="names no Result class"):
        Result.from_dict({**data, "kind": "somewhere.Else"})
    with pytest.raises(InvalidArgumentError, match=r"unknown key\(s\) \['rates'\]"):
        Result.from_dict({**data, "rates": 1.0})
    with pytest.raises(InvalidArgumentError, match=r"needs the key\(s\) \['rate'\]"):
        Result.from_dict({k: v for k, v in data.items() if k != "rate"})
    perception = sys.modules.get("rdconvex.problems.perception") or pytest.importorskip(
        "rdconvex.problems.perception")
    with pytest.raises(InvalidArgumentError, match="names no PerceptionResult"):
        perception.PerceptionResult.from_dict(data)  # a plain Result is not one
    with pytest.raises(InvalidArgumentError, match="not JSON"):
        Result.from_json(classical.solve(D=0.1).to_json().replace('0.1,', "Infinity,", 1))
    with pytest.raises(InvalidArgumentError, match="not a float marker"):
        ser.from_plain({"float": "infinity"})
    with pytest.raises(InvalidArgumentError, match="not a JSON document"):
        Result.from_json("{")
    with pytest.raises(InvalidArgumentError, match="object has no JSON form"):
        ser.to_plain(object())


def test_result_without_kind_is_read_as_the_class_asked(classical):
    data = classical.solve(D=0.1).to_dict()
    del data["kind"]
    assert type(Result.from_dict(data)) is Result


# --------------------------------------------------------------------- Curve
@pytest.fixture(scope="module")
def curve(classical):
    return classical.curve(num=5)


def test_curve_round_trips_exactly(curve):
    data = curve.to_dict()
    assert data["kind"] == "rdconvex.results.Curve" and len(data["results"]) == 5
    assert data["slope"][0] == {"float": "inf"}
    for back in (Curve.from_dict(data), Curve.from_json(curve.to_json())):
        assert_same(curve, back)
        assert back.to_dict() == data
    assert Curve.from_json(curve.to_json()).to_json() == curve.to_json()


def test_curve_csv(curve, tmp_path):
    path = tmp_path / "curve.csv"
    curve.to_csv(path)
    lines = path.read_text().splitlines()
    comment = re.fullmatch(r"# rdconvex curve; provenance: (.*)", lines[0])
    assert json.loads(comment.group(1)) == {"solver": curve.solver,
                                            "versions": rdc._version.versions()}
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert list(rows[0]) == ["D", "rate", "lower", "upper", "gap", "slope", "distortion",
                             "status", "units"]
    assert len(rows) == len(curve)
    for name in ("D", "rate", "lower", "upper", "gap", "slope", "distortion"):
        assert all(same_float(float(r[name]), v) for r, v in zip(rows, getattr(curve, name)))
    assert rows[0]["slope"] == "inf"
    assert {r["status"] for r in rows} == {"optimal"} and {r["units"] for r in rows} == {"nats"}


def test_curve_to_pandas(curve, tmp_path):
    pd = pytest.importorskip("pandas")
    frame = curve.to_pandas()
    assert list(frame.columns) == ["D", "rate", "lower", "upper", "gap", "slope",
                                   "distortion", "status", "units"]
    assert frame.attrs["provenance"]["solver"] == curve.solver
    assert np.array_equal(frame["rate"].to_numpy(), curve.rate)
    curve.to_csv(tmp_path / "c.csv")
    read = pd.read_csv(tmp_path / "c.csv", comment="#")
    assert np.array_equal(read["upper"].to_numpy(), curve.upper)
    assert read["slope"].iloc[0] == math.inf


def test_to_pandas_without_pandas_says_how_to_install(curve, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(ImportError, match=r"pip install pandas"):
        curve.to_pandas()


def test_curve_without_results_has_empty_statuses():
    bare = Curve(D=[0.1, 0.2], rate=[0.5, 0.3], lower=[0.5, 0.3], upper=[0.5, 0.3],
                 slope=[2.0, 1.0], distortion=[0.1, 0.2], units="bits", solver="x")
    assert bare.columns()["status"] == ["", ""]
    assert_same(bare, Curve.from_json(bare.to_json()))
    assert "0.5" in bare._repr_html_()


# ---------------------------------------------------------- notebook displays
def test_result_html(classical):
    res = classical.solve(D=0.1)
    page = res._repr_html_()
    for text in ("rate", "certificate", "gap", "optimal", "slope", "ba", "nats",
                 f"{res.rate:.10g}", f"{res.certificate.lower:.10g}"):
        assert text in page
    assert "#2e7d32" in page  # green badge
    inaccurate = dataclasses.replace(res, status=Status.MAX_ITERATIONS)._repr_html_()
    assert "#ef6c00" in inaccurate


def test_subclass_html_shows_its_own_fields():
    rdp = rdc.RateDistortionPerception([0.7, 0.3], HAMMING)
    page = rdp.solve(D=0.1, Gamma=0.05)._repr_html_()
    assert "PerceptionResult" in page and "Gamma" in page and "divergence" in page


def test_curve_html_elides_long_curves(classical, curve):
    assert curve._repr_html_().count("<tr>") == 1 + len(curve)
    long = classical.curve(num=12)
    page = long._repr_html_()
    assert page.count("<tr>") == 1 + 11 and "&hellip;" in page
    assert f"max gap {float(np.max(long.gap)):.2e}" in page


def test_program_latex_for_notebooks(classical):
    program = classical.program(D=0.1)
    latex = program._repr_latex_()
    assert latex.startswith("$$\n\\begin{aligned}") and latex.endswith("\\end{aligned}\n$$")
    assert program.latex() in latex


# --------------------------------------------------------------- docs page
def test_results_page_examples_run(tmp_path, monkeypatch):
    """The code of docs/api/results.md (not collected by tests/test_docs.py)."""
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "api" / "results.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert blocks
    namespace: dict = {}
    for body in blocks:
        exec(compile(body, "results.md", "exec"), namespace)  # noqa: S102 - the docs run


# ------------------------------------------------------------ packaging
def test_package_ships_its_type_hints_and_license():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (ROOT / "rdconvex" / "py.typed").exists()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["rdconvex"]
    assert project["project"]["license"] == "MIT"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    floor = re.search(r"setuptools>=(\d+)", " ".join(project["build-system"]["requires"]))
    assert int(floor.group(1)) >= 77  # PEP 639 license strings


# ------------------------------------------------------------ progress bars
class _Terminal(io.StringIO):
    def isatty(self):
        return True


def on_a_terminal(monkeypatch):
    # In the test body: pytest's capture resets sys.stderr after fixtures are set up.
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def test_progress_bar_off_unless_asked_and_on_a_terminal(monkeypatch):
    items = [1, 2, 3]
    assert _progress.progress_bar(items, 3, "x", enabled=False) is items
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log file, not a terminal
    monkeypatch.delenv("CI", raising=False)
    assert _progress.progress_bar(items, 3, "x", enabled=True) is items


def test_progress_bar_on_a_terminal(monkeypatch):
    on_a_terminal(monkeypatch)
    bar = _progress.progress_bar(range(3), 3, "curve", enabled=True, unit="point")
    assert type(bar).__name__ == "tqdm" and list(bar) == [0, 1, 2]
    assert "curve" in sys.stderr.getvalue()


@pytest.mark.parametrize("env", [{"CI": "true"}, {"CI": "1"}, {"TERM": "dumb"}])
def test_progress_bar_off_in_ci_and_dumb_terminals(monkeypatch, env):
    on_a_terminal(monkeypatch)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    items = iter([1])
    assert _progress.progress_bar(items, 1, "x", enabled=True) is items


def test_progress_bar_without_a_usable_stderr(monkeypatch):
    monkeypatch.setattr(sys, "stderr", None)
    assert not _progress.on_terminal()
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    assert not _progress.on_terminal()
