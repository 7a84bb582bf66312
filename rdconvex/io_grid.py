"""The ``[grid]`` table of a problem file: a :class:`~rdconvex.problems.grid.GridSource`
(a source on a uniform grid, a translation-invariant distortion; docs/grid.md).

Format (docs/problem-files.md, "Grid sources")::

    units = "nats"                      # top level, as for every problem file

    [grid]
    points = { start = -8.0, stop = 8.0, num = 4001 }   # or an explicit list
    weights = { density = "gaussian", mean = 0.0, std = 1.0 }
    #   or { density = "laplacian", mean = 0.0, scale = 1.0 },
    #   or { density = "uniform" }, or an explicit list (one weight per point)
    distortion = "squared"              # or "absolute"
    # method = "auto"                   # "auto" | "fft" | "direct"

A density is evaluated at the points (up to a constant factor) and the values are the
weights; :class:`GridSource` normalises them, so the source is the sampled density,
normalised. A callable distortion cannot come from a file.
"""

from __future__ import annotations

import difflib
import math

import numpy as np

from .errors import ProblemFileError

#: The fields of ``[grid]``.
GRID_KEYS = {"points": "a table { start, stop, num } or a list of uniformly spaced numbers",
             "weights": "a table { density = \"gaussian\" | \"laplacian\" | \"uniform\", "
                        "... } or a list of numbers >= 0",
             "distortion": "\"squared\" or \"absolute\"",
             "method": "\"auto\", \"fft\" or \"direct\""}
_POINT_KEYS = {"start", "stop", "num"}
#: Each density's parameters and their defaults.
DENSITIES = {"gaussian": {"mean": 0.0, "std": 1.0},
             "laplacian": {"mean": 0.0, "scale": 1.0},
             "uniform": {}}
DISTORTIONS = ("squared", "absolute")
METHODS = ("auto", "fft", "direct")
#: The most grid points a file may ask for (about 1 GB per 10^6 points is needed).
MAX_POINTS = 10**8
#: Solvers a grid problem accepts in ``[queries]`` (its own Blahut–Arimoto).
GRID_SOLVERS = ("auto", "ba")


def _unknown(key, valid, where: str) -> ProblemFileError:
    """As :func:`rdconvex.io._unknown_key` (a typo names the closest valid key)."""
    close = difflib.get_close_matches(str(key), list(valid), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ProblemFileError(f"{where}: unknown field {key!r}{hint}; valid: "
                            f"{', '.join(sorted(valid))}.")


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProblemFileError(f"{where} must be a finite number, got {value!r}.")
    return float(value)


def _table(value, where: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise ProblemFileError(f"{where} must be {what}, got {value!r}.")
    return value


def grid_points(value, where: str) -> np.ndarray:
    """``points``: ``{start, stop, num}`` (``numpy.linspace``) or an explicit list,
    increasing and uniformly spaced to the tolerance of :class:`GridSource`."""
    from .problems.grid import SPACING_TOL

    if isinstance(value, dict):
        for key in value:
            if key not in _POINT_KEYS:
                raise _unknown(key, _POINT_KEYS, where)
        missing = sorted(_POINT_KEYS - set(value))
        if missing:
            raise ProblemFileError(f"{where} is missing {', '.join(missing)}; give "
                                   "{ start = ..., stop = ..., num = ... }.")
        start = _number(value["start"], f"{where}.start")
        stop = _number(value["stop"], f"{where}.stop")
        num = value["num"]
        if isinstance(num, bool) or not isinstance(num, int) or not 2 <= num <= MAX_POINTS:
            raise ProblemFileError(f"{where}.num must be an integer >= 2 (at most "
                                   f"{MAX_POINTS:.0e}), got {num!r}.")
        if not stop > start:
            raise ProblemFileError(f"{where}.stop = {stop!r} must be greater than "
                                   f"start = {start!r}.")
        return np.linspace(start, stop, num)
    if not isinstance(value, list):
        raise ProblemFileError(f"{where} must be {GRID_KEYS['points']}, got {value!r}.")
    x = _list(value, where)
    if x.size < 2:
        raise ProblemFileError(f"{where} must have at least 2 points, got {x.size}.")
    steps = np.diff(x)
    h = (x[-1] - x[0]) / (x.size - 1)
    if not h > 0 or np.any(np.abs(steps - h) > SPACING_TOL * h):
        worst = int(np.argmax(np.abs(steps - h)))
        raise ProblemFileError(f"{where} must be increasing and uniformly spaced (to "
                               f"{SPACING_TOL:g} relative); step {worst} is "
                               f"{steps[worst]!r}, the mean step {h!r}. Use [distortion] "
                               "for a general alphabet.")
    return x


def _list(value, where: str) -> np.ndarray:
    if not all(not isinstance(v, bool) and isinstance(v, (int, float)) for v in value):
        raise ProblemFileError(f"{where} must be a list of numbers, got {value!r}.")
    x = np.array(value, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ProblemFileError(f"{where} contains NaN or inf.")
    return x


def grid_weights(value, points: np.ndarray, where: str) -> np.ndarray:
    """``weights``: a density evaluated at ``points`` (scaled so the largest is 1) or an
    explicit list, nonnegative with a positive sum."""
    if isinstance(value, list):
        w = _list(value, where)
        if w.size != points.size:
            raise ProblemFileError(f"{where} has {w.size} entries but there are "
                                   f"{points.size} points; give one weight per point.")
        if np.any(w < 0) or not w.sum() > 0:
            raise ProblemFileError(f"{where} must be >= 0 with a positive sum.")
        return w
    table = _table(value, where, GRID_KEYS["weights"])
    if "density" not in table:
        raise ProblemFileError(f"{where} needs density = "
                               f"{' | '.join(repr(d) for d in DENSITIES)}.")
    name = table["density"]
    if not isinstance(name, str) or name not in DENSITIES:
        raise ProblemFileError(f"{where}.density = {name!r} is unknown; use "
                               f"{', '.join(repr(d) for d in DENSITIES)}.")
    params = dict(DENSITIES[name])
    for key, entry in table.items():
        if key == "density":
            continue
        if key not in params:
            raise _unknown(key, {"density", *params}, f"{where} ({name})")
        params[key] = _number(entry, f"{where}.{key}")
    for key in ("std", "scale"):
        if key in params and not params[key] > 0:
            raise ProblemFileError(f"{where}.{key} must be > 0, got {params[key]!r}.")
    if name == "uniform":
        return np.ones(points.size)
    with np.errstate(all="ignore"):
        if name == "gaussian":
            log_w = -0.5 * ((points - params["mean"]) / params["std"]) ** 2
        else:
            log_w = -np.abs(points - params["mean"]) / params["scale"]
        w = np.exp(log_w - log_w.max())  # the normalising constant cancels
    if not np.all(np.isfinite(w)) or not w.sum() > 0:
        raise ProblemFileError(f"{where}: the {name} density cannot be evaluated on these "
                               f"points (parameters {params}); bring the mean nearer the "
                               "grid or widen it.")
    return w


def grid_source(table, path, units: str):
    """The :class:`~rdconvex.problems.grid.GridSource` of a ``[grid]`` table."""
    where = f"{path}: grid"
    table = _table(table, f"{path}: [grid]", "a table")
    for key in table:
        if key not in GRID_KEYS:
            raise _unknown(key, GRID_KEYS, f"{path}: [grid]")
    for key in ("points", "weights", "distortion"):
        if key not in table:
            raise ProblemFileError(f"{path}: [grid] needs {key} = {GRID_KEYS[key]}.")
    distortion = table["distortion"]
    if not isinstance(distortion, str) or distortion not in DISTORTIONS:
        raise ProblemFileError(f"{where}.distortion = {distortion!r} is unknown; use "
                               "'squared' or 'absolute' (a callable distortion cannot come "
                               "from a file: use rdc.GridSource in Python).")
    method = table.get("method", "auto")
    if not isinstance(method, str) or method not in METHODS:
        raise ProblemFileError(f"{where}.method = {method!r} is unknown; use "
                               f"{', '.join(repr(m) for m in METHODS)}.")
    points = grid_points(table["points"], f"{where}.points")
    weights = grid_weights(table["weights"], points, f"{where}.weights")
    from .problems.grid import GridSource

    return GridSource(points, weights, distortion, units=units, method=method)


def check_grid_queries(queries: dict, path) -> None:
    """A grid problem is solved by its own Blahut–Arimoto: ``queries.solver`` and
    ``queries.curve.solver`` may only be ``"ba"`` or ``"auto"``."""
    solvers = [("queries.solver", queries.get("solver"))]
    curve = queries.get("curve", {})
    solvers.append(("queries.curve.solver", curve.get("solver")))
    for where, solver in solvers:
        if solver is not None and solver not in GRID_SOLVERS:
            raise ProblemFileError(f"{path}: {where} = {solver!r}: a [grid] problem is "
                                   "solved by its own Blahut–Arimoto; use 'ba' or 'auto', "
                                   "or drop it.")
