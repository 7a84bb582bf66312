"""Problem files (TOML): load, validate, and report the file and field at fault.

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

    [queries]                           # what `rdconvex reproduce`/`solve` compute
    D = [0.1, 0.2]
    curve = { num = 50 }
    solver = "clarabel"
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ProblemFileError, RDConvexError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_TOP_KEYS = {"name", "description", "units", "source", "distortion", "loglik", "perception",
             "queries", "reference"}


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
    except (TypeError, ValueError):
        raise ProblemFileError(f"{where} must be {'a list' if ndim == 1 else 'a matrix'} of "
                               f"numbers, got {value!r}.") from None
    if arr.ndim != ndim:
        raise ProblemFileError(f"{where} must be {ndim}-D, got shape {arr.shape}.")
    return arr


def load_problem(path) -> ProblemSpec:
    """Read and validate a TOML problem file; errors name the file and the field."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ProblemFileError(f"{path}: no such problem file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProblemFileError(f"{path}: not valid TOML: {exc}.") from None
    return problem_from_dict(data, path)


def problem_from_dict(data: dict, path="<problem>") -> ProblemSpec:
    """Build a :class:`ProblemSpec` from an already-parsed mapping."""
    path = Path(path)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ProblemFileError(f"{path}: unknown top-level field(s) {sorted(unknown)}; "
                               f"allowed: {sorted(_TOP_KEYS)}.")
    if "source" not in data:
        raise ProblemFileError(f"{path}: missing field 'source' (the source pmf p_x).")
    units = data.get("units", "nats")
    has_d, has_ll = "distortion" in data, "loglik" in data
    if has_d == has_ll:
        raise ProblemFileError(f"{path}: give exactly one of the tables [distortion] or "
                               "[loglik].")
    try:
        source = _array(data["source"], f"{path}: source", ndim=1)
        if has_ll:
            table = data["loglik"]
            if not isinstance(table, dict) or "p_x_given_u" not in table:
                raise ProblemFileError(f"{path}: [loglik] needs p_x_given_u = [[...]].")
            A = _array(table["p_x_given_u"], f"{path}: loglik.p_x_given_u", ndim=2)
            from .problems.loglik import LogLikelihood

            problem = LogLikelihood(source, A, units=units)
        else:
            table = data["distortion"]
            if not isinstance(table, dict):
                raise ProblemFileError(f"{path}: [distortion] must be a table.")
            if "matrix" in table:
                d = _array(table["matrix"], f"{path}: distortion.matrix", ndim=2)
            elif "kind" in table:
                d = named_distortion(table["kind"], source.size, table, f"{path}: distortion")
            else:
                raise ProblemFileError(f"{path}: [distortion] needs matrix = [[...]] or "
                                       "kind = 'hamming' | 'squared_error'.")
            perception = data.get("perception")
            if perception is not None:
                from .problems.perception import RateDistortionPerception

                if not isinstance(perception, dict):
                    raise ProblemFileError(f"{path}: [perception] must be a table with "
                                           "divergence = ... and Gamma = ....")
                unknown = set(perception) - {"divergence", "Gamma", "ground_metric"}
                if unknown:
                    raise ProblemFileError(f"{path}: unknown field(s) {sorted(unknown)} in "
                                           "[perception]; allowed: divergence, Gamma, "
                                           "ground_metric.")
                metric = perception.get("ground_metric")
                if metric is not None:
                    metric = _array(metric, f"{path}: perception.ground_metric", ndim=2)
                problem = RateDistortionPerception(
                    source, d, divergence=perception.get("divergence", "tv"),
                    ground_metric=metric, units=units)
            else:
                from .problems.classical import RateDistortion

                problem = RateDistortion(source, d, units=units)
    except ProblemFileError:
        raise
    except RDConvexError as exc:
        raise ProblemFileError(f"{path}: {exc}") from exc
    return ProblemSpec(path=path, name=str(data.get("name", path.stem)),
                       description=str(data.get("description", "")), problem=problem,
                       queries=dict(data.get("queries", {})),
                       reference=dict(data.get("reference", {})),
                       perception=data.get("perception"))
