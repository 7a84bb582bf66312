"""Problem files (TOML): load, validate, and report the file and field at fault; the
shipped problems; and the provenance every output carries.

Format (every key but ``source`` and one of the problem tables is optional)::

    name = "binary-hamming"
    description = "X ~ Ber(0.3), Hamming distortion"
    units = "bits"                      # "nats" (default) or "bits"
    source = [0.7, 0.3]                 # p_x

    [distortion]                        # classical (X, d): one of
    matrix = [[0, 1], [1, 0]]           #   an n x m matrix (inf = forbidden pair)
    kind = "hamming"                    #   or a named distortion: "hamming",
    # kind = "squared_error"            #   "squared_error" with points = [...]
    # points = [-1.0, 0.0, 1.0]         #   (and optional outputs = [...])

    [loglik]                            # or log-likelihood loss (X, P_{X|U})
    p_x_given_u = [[0.9, 0.1], [0.1, 0.9]]   # rows x, columns u

    [perception]                        # optional, with [distortion]
    divergence = "tv"                   # tv | kl | reverse_kl | hellinger | chi2 | wasserstein
    Gamma = 0.0
    # ground_metric = [[...]]           # wasserstein only (default: the distortion)

    [grid]                              # or, instead of source and [distortion], a
    points = { start = -8.0, stop = 8.0, num = 4001 }  # GridSource (rdconvex.io_grid)
    weights = { density = "gaussian", mean = 0.0, std = 1.0 }
    distortion = "squared"

    [queries]                           # what `rdconvex reproduce`/`solve` compute
    D = [0.1, 0.2]
    curve = { num = 50 }
    solver = "clarabel"
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import enum
import hashlib
import io as _io
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._version import versions
from .errors import InvalidArgumentError, ProblemFileError, RDConvexError
from .io_grid import check_grid_queries, grid_source

_TOP_KEYS = {"name", "description", "units", "source", "distortion", "loglik", "perception",
             "grid", "queries", "reference"}
_TABLE_KEYS = {"distortion": {"matrix", "kind", "points", "outputs"},
               "loglik": {"p_x_given_u"},
               "perception": {"divergence", "Gamma", "ground_metric"}}
#: The fields of ``[queries]`` and what each must be.
QUERY_KEYS = {"D": "a number or a list of numbers (the distortions `solve` answers)",
              "solver": "a solver name (see `rdconvex solve --help`)",
              "curve": "a table { num = 50, solver = \"...\" }",
              "special_points": "true or false", "rate_at_D_min": "true or false"}
_CURVE_KEYS = {"num", "solver"}

#: The importable package that holds the shipped problem files in an installed wheel
#: (the repository's ``problems/`` folder, mapped by pyproject's ``package-dir``).
SHIPPED_PACKAGE = "rdconvex.problem_files"


@dataclass(frozen=True)
class ProblemSpec:
    """A loaded problem file: the problem object plus its queries."""

    path: Path
    name: str
    description: str
    problem: object
    queries: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)
    perception: dict | None = None


# ------------------------------------------------------------------ shipped problems
def shipped_problems_dir():
    """The folder of the shipped problem files: the package data
    ``rdconvex.problem_files`` of an installed wheel, else the repository's
    ``problems/`` folder next to the package (a source checkout or an editable install);
    ``None`` when neither exists. A :class:`pathlib.Path` or an
    :class:`importlib.resources.abc.Traversable`."""
    try:
        from importlib.resources import files

        folder = files(SHIPPED_PACKAGE)
        if folder.is_dir():
            return folder
    except (ImportError, TypeError, OSError):
        pass
    repo = Path(__file__).resolve().parent.parent / "problems"
    return repo if repo.is_dir() else None


def shipped_problems() -> dict:
    """``{name: file}`` of every shipped problem file (``name`` without ``.toml``)."""
    folder = shipped_problems_dir()
    if folder is None:
        return {}
    return {entry.name.removesuffix(".toml"): entry for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".toml") and entry.is_file()}


def _locate(path):
    """The file ``path`` names: itself when it exists, else a shipped problem of that
    name (``fig3``, ``fig3.toml`` or ``problems/fig3.toml``)."""
    if not isinstance(path, (str, Path)):
        return path  # a Traversable (shipped file inside a package)
    given = Path(path)
    if given.is_dir():
        inside = sorted(p.name for p in given.glob("*.toml"))[:3]
        hint = f", e.g. {given / inside[0]}" if inside else ""
        raise ProblemFileError(f"{given}: is a directory; give one problem file (.toml)"
                               f"{hint}.")
    if given.exists():
        return given
    shipped = shipped_problems()
    stem = given.name.removesuffix(".toml")
    if stem in shipped and str(given.parent) in (".", "problems"):
        return shipped[stem]
    names = ", ".join(shipped) or "none found"
    raise ProblemFileError(f"{given}: no such problem file; give a path, or the name of a "
                           f"shipped problem ({names}).")


# ------------------------------------------------------------------------- loading
def named_distortion(kind: str, n: int, table: dict, where: str) -> np.ndarray:
    """Build a named distortion matrix (``hamming`` or ``squared_error``)."""
    if kind == "hamming":
        return 1.0 - np.eye(n)
    if kind == "squared_error":
        if "points" not in table:
            raise ProblemFileError(f"{where}: kind = 'squared_error' needs points = [...] "
                                   f"(one real number per source symbol, {n} of them).")
        points = _array(table["points"], f"{where}.points", ndim=1)
        outputs = _array(table.get("outputs", table["points"]), f"{where}.outputs", ndim=1)
        if points.size != n:
            raise ProblemFileError(f"{where}.points has {points.size} entries but the source "
                                   f"has {n} symbols.")
        return (points[:, None] - outputs[None, :]) ** 2
    raise ProblemFileError(f"{where}.kind = {kind!r} is unknown; use 'hamming' or "
                           "'squared_error', or give matrix = [[...]].")


def _array(value, where: str, ndim: int) -> np.ndarray:
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ProblemFileError(f"{where} must be {'a list' if ndim == 1 else 'a matrix'} of "
                               f"numbers, got {value!r}.") from None
    if arr.ndim != ndim:
        raise ProblemFileError(f"{where} must be {ndim}-D, got shape {arr.shape}.")
    return arr


def load_problem(path) -> ProblemSpec:
    """Read and validate a TOML problem file; errors name the file and the field.

    ``path`` is a file, or the name of a shipped problem (``"fig3"``; see
    :func:`shipped_problems`) when no such file exists."""
    source = _locate(path)
    where = Path(str(source))
    try:
        text = source.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ProblemFileError(f"{where}: no such problem file.") from None
    except UnicodeDecodeError:
        raise ProblemFileError(f"{where}: not UTF-8 text; a problem file is TOML "
                               "(docs/problem-files.md).") from None
    except OSError as exc:
        raise ProblemFileError(f"{where}: cannot read it: {exc.strerror or exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProblemFileError(f"{where}: not valid TOML: {exc}.") from None
    return problem_from_dict(data, where)


def _check_table(data: dict, key: str, path) -> dict:
    table = data[key]
    if not isinstance(table, dict):
        raise ProblemFileError(f"{path}: [{key}] must be a table, got {table!r}.")
    unknown = set(table) - _TABLE_KEYS[key]
    if unknown:
        raise ProblemFileError(f"{path}: unknown field(s) {sorted(unknown)} in [{key}]; "
                               f"allowed: {', '.join(sorted(_TABLE_KEYS[key]))}.")
    return table


def _text_fields(data: dict, path) -> None:
    for key in ("name", "description", "units"):
        if key in data and not isinstance(data[key], str):
            raise ProblemFileError(f"{path}: {key} must be a string, got {data[key]!r}.")
    if not isinstance(data.get("reference", {}), dict):
        raise ProblemFileError(f"{path}: [reference] must be a table of notes.")


def problem_from_dict(data: dict, path="<problem>") -> ProblemSpec:
    """Build a :class:`ProblemSpec` from an already-parsed mapping."""
    path = Path(str(path))
    if not isinstance(data, dict):
        raise ProblemFileError(f"{path}: a problem file is a TOML table, got {data!r}.")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ProblemFileError(f"{path}: unknown top-level field(s) {sorted(unknown)}; "
                               f"allowed: {sorted(_TOP_KEYS)}.")
    has_grid = "grid" in data
    if has_grid:
        _grid_alone(data, path)
    elif "source" not in data:
        raise ProblemFileError(f"{path}: missing field 'source' (the source pmf p_x), or "
                               "give a [grid] table.")
    _text_fields(data, path)
    units = data.get("units", "nats")
    has_d, has_ll = "distortion" in data, "loglik" in data
    if has_d == has_ll and not has_grid:
        raise ProblemFileError(f"{path}: give exactly one of the tables [distortion] or "
                               "[loglik] (or [grid], without source).")
    if has_ll and "perception" in data:
        raise ProblemFileError(f"{path}: [perception] goes with [distortion], not [loglik].")
    queries = check_queries(data.get("queries", {}), path)
    if has_grid:
        check_grid_queries(queries, path)
    try:
        problem, perception = _build(data, path, units)
    except ProblemFileError:
        raise
    except RDConvexError as exc:
        raise ProblemFileError(f"{path}: {exc}") from exc
    return ProblemSpec(path=path, name=str(data.get("name", path.stem)),
                       description=str(data.get("description", "")), problem=problem,
                       queries=queries, reference=dict(data.get("reference", {})),
                       perception=perception)


def _grid_alone(data: dict, path) -> None:
    """A ``[grid]`` table is the whole problem: no ``source``, no other problem table."""
    others = [f"[{key}]" if key != "source" else key
              for key in ("source", "distortion", "loglik", "perception") if key in data]
    if others:
        raise ProblemFileError(f"{path}: [grid] is the whole problem (its points, weights "
                               f"and distortion); drop {', '.join(others)}.")


def _build(data: dict, path, units: str):
    """The problem object of a validated mapping, and its ``[perception]`` table."""
    if "grid" in data:
        return grid_source(data["grid"], path, units), None
    source = _array(data["source"], f"{path}: source", ndim=1)
    if "loglik" in data:
        table = _check_table(data, "loglik", path)
        if "p_x_given_u" not in table:
            raise ProblemFileError(f"{path}: [loglik] needs p_x_given_u = [[...]].")
        A = _array(table["p_x_given_u"], f"{path}: loglik.p_x_given_u", ndim=2)
        from .problems.loglik import LogLikelihood

        return LogLikelihood(source, A, units=units), None
    table = _check_table(data, "distortion", path)
    if "matrix" in table:
        d = _array(table["matrix"], f"{path}: distortion.matrix", ndim=2)
    elif "kind" in table:
        d = named_distortion(table["kind"], source.size, table, f"{path}: distortion")
    else:
        raise ProblemFileError(f"{path}: [distortion] needs matrix = [[...]] or "
                               "kind = 'hamming' | 'squared_error'.")
    if "perception" not in data:
        from .problems.classical import RateDistortion

        return RateDistortion(source, d, units=units), None
    from .problems.perception import RateDistortionPerception

    perception = _check_table(data, "perception", path)
    Gamma = perception.get("Gamma", 0.0)
    if (isinstance(Gamma, bool) or not isinstance(Gamma, (int, float))
            or not math.isfinite(Gamma) or Gamma < 0):
        raise ProblemFileError(f"{path}: perception.Gamma must be a number >= 0, got "
                               f"{Gamma!r}.")
    metric = perception.get("ground_metric")
    if metric is not None:
        metric = _array(metric, f"{path}: perception.ground_metric", ndim=2)
    problem = RateDistortionPerception(source, d, divergence=perception.get("divergence", "tv"),
                                       ground_metric=metric, units=units)
    return problem, dict(perception)


# ------------------------------------------------------------------------- queries
def _unknown_key(key: str, valid, where: str) -> ProblemFileError:
    close = difflib.get_close_matches(str(key), list(valid), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ProblemFileError(f"{where}: unknown field {key!r}{hint}; valid: "
                            f"{', '.join(sorted(valid))}.")


def _real(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value))


def _check_solver(value, where: str) -> None:
    from .solvers import REGISTRY

    names = sorted(REGISTRY)
    if not isinstance(value, str) or value not in (*names, "auto"):
        raise ProblemFileError(f"{where} = {value!r} is not a solver; use one of "
                               f"{', '.join(names)} or 'auto'.")


def check_queries(queries, path) -> dict:
    """The ``[queries]`` table validated: known keys only (a typo names the valid
    ones), each of the right type (:data:`QUERY_KEYS`)."""
    where = f"{path}: queries"
    if not isinstance(queries, dict):
        raise ProblemFileError(f"{path}: [queries] must be a table, got {queries!r}.")
    for key, value in queries.items():
        if key not in QUERY_KEYS:
            raise _unknown_key(key, QUERY_KEYS, f"{path}: [queries]")
        if key == "D":
            values = value if isinstance(value, list) else [value]
            if not values or not all(_real(v) for v in values):
                raise ProblemFileError(f"{where}.D must be {QUERY_KEYS['D']}, got {value!r}.")
        elif key == "solver":
            _check_solver(value, f"{where}.solver")
        elif key == "curve":
            if not isinstance(value, dict):
                raise ProblemFileError(f"{where}.curve must be {QUERY_KEYS['curve']}, got "
                                       f"{value!r}.")
            for name, entry in value.items():
                if name not in _CURVE_KEYS:
                    raise _unknown_key(name, _CURVE_KEYS, f"{where}.curve")
                if name == "solver":
                    _check_solver(entry, f"{where}.curve.solver")
                elif isinstance(entry, bool) or not isinstance(entry, int) or entry < 2:
                    raise ProblemFileError(f"{where}.curve.num must be an integer >= 2, "
                                           f"got {entry!r}.")
        elif not isinstance(value, bool):
            raise ProblemFileError(f"{where}.{key} must be true or false, got {value!r}.")
    return dict(queries)


# ---------------------------------------------------------------------- provenance
def quantity_of(problem) -> str:
    """The name of the quantity a problem computes: ``"R(D)"``, ``"R_ll(D)"`` or
    ``"R(D, Gamma)"``."""
    if hasattr(problem, "p_x_given_u"):
        return "R_ll(D)"
    if hasattr(problem, "divergence_of"):
        return "R(D, Gamma)"
    return "R(D)"


def _hashed(problem) -> tuple:
    """What :func:`problem_sha256` hashes: the arrays, then (a grid source) the name of
    its distortion, or for a callable one its offset values ``F``."""
    f8 = " as little-endian float64"
    if hasattr(problem, "p_x_given_u"):
        return (problem.p_x, problem.p_x_given_u), "p_x, A" + f8
    if not hasattr(problem, "F"):
        return (problem.p_x, problem.d), "p_x, d" + f8
    if isinstance(problem.distortion, str):
        return ((problem.p_x, problem.points, problem.distortion),
                f"p_x, points{f8}, then the distortion name as UTF-8")
    return (problem.p_x, problem.points, problem.F), "p_x, points, F (the offset values)" + f8


def problem_sha256(problem) -> str:
    """sha256 of the problem's data: the bytes of ``p_x`` then of ``d`` (or, for a
    log-likelihood problem, of ``A = P_{X|U}``), each as little-endian float64 in
    row-major order; for a grid source, ``p_x`` then its ``points`` then the distortion
    name in UTF-8 (docs/problem-files.md)."""
    digest = hashlib.sha256()
    for item in _hashed(problem)[0]:
        digest.update(item.encode("utf-8") if isinstance(item, str)
                      else np.ascontiguousarray(item, dtype="<f8").tobytes())
    return digest.hexdigest()


def provenance(problem, *, name: str | None = None, file=None, solver=None,
               solver_options: dict | None = None, **parameters) -> dict:
    """What every output of the command line and of ``reproduce`` records: the versions
    (:func:`rdconvex._version.versions`), the problem (name, file, family, data hash),
    the quantity and its units, the solver and its options, and ``parameters`` (e.g.
    ``Gamma``)."""
    record = {
        "versions": versions(),
        "problem": {"name": name, "file": None if file is None else str(file),
                    "family": type(problem).__name__,
                    "sha256": problem_sha256(problem),
                    "hashed": _hashed(problem)[1]},
        "quantity": quantity_of(problem),
        "units": problem.units,
    }
    if hasattr(problem, "divergence"):
        record["divergence"] = problem.divergence
    record.update(parameters)
    record["solver"] = solver
    record["solver_options"] = dict(solver_options or {})
    return record


def spec_provenance(spec: ProblemSpec, **kwargs) -> dict:
    """:func:`provenance` of a loaded problem file."""
    return provenance(spec.problem, name=spec.name, file=spec.path, **kwargs)


# ----------------------------------------------------------------- writing outputs
#: Fields of a result that are not written (the certificate file carries the proof).
_SKIPPED = ("proof", "provenance")


def json_ready(value):
    """A JSON-ready copy: numpy scalars and arrays as numbers and lists, enums as their
    values, dataclasses as objects of their fields, and every non-finite float as
    ``null`` (JSON has no infinity; in rdconvex's outputs it stands for ``+inf``)."""
    if isinstance(value, enum.Enum):
        return json_ready(value.value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_ready(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in _SKIPPED}
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(value, indent: int | None = 2) -> str:
    """:func:`json_ready` as JSON text (strict JSON: no ``Infinity``)."""
    return json.dumps(json_ready(value), indent=indent, allow_nan=False)


def csv_text(columns: dict, record: dict) -> str:
    """A table as CSV: the line ``# provenance: {json}``, the header, one row per
    entry; floats by ``repr`` (``inf`` for an infinity)."""
    buffer = _io.StringIO()
    buffer.write("# provenance: " + dumps(record, indent=None) + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(columns))
    for row in zip(*columns.values()):
        writer.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v
                         for v in row])
    return buffer.getvalue()


def write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` (folders created); an unwritable path is an
    :class:`~rdconvex.errors.InvalidArgumentError` naming it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidArgumentError(f"cannot write {path}: {exc.strerror or exc}; choose "
                                   "another path.") from None
    return path


def curve_columns(curve) -> dict:
    """The table of a :class:`~rdconvex.results.Curve`: ``D, rate, lower, upper, gap,
    slope, distortion, status``."""
    statuses = [r.status.value for r in curve.results] or [""] * len(curve.D)
    return {"D": list(curve.D), "rate": list(curve.rate), "lower": list(curve.lower),
            "upper": list(curve.upper), "gap": list(curve.upper - curve.lower),
            "slope": list(curve.slope), "distortion": list(curve.distortion),
            "status": statuses}
