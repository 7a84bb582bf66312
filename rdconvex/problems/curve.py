r"""The whole certified rate–distortion curve, warm-started point to point.

:func:`rate_distortion_curve` is what ``RateDistortion.curve`` runs. Points are solved
from the largest distortion down (the support of the optimal output pmf grows as the
slope rises, so each solve starts from the previous one's slope and output pmf), and
every point is certified by the problem class exactly like a single ``solve``.

Grid: ``num`` points equally spaced on ``[D_min, D_end]``. ``D_end = D_max`` when it
is finite. When it is not (no output is allowed for every source symbol) ``R(D)`` never
reaches 0: it decreases to the smallest rate of a channel on the allowed pairs and is
flat beyond the distortion :math:`D_0` of that channel. The grid then ends at the
distortion of the curve point with slope

.. math:: s_{\mathrm{end}} = 10^{-3} / (\max d - \min d) \quad \text{(finite entries)},

where the remaining drop of the rate, at most :math:`s_{\mathrm{end}} (D_0 - D_{\mathrm{end}})`,
is below a thousandth of the rate per unit of the distortion range.

Distributed: with ``executor=`` (any :class:`concurrent.futures.Executor`, e.g. a dask
cluster's ``client.get_executor()``) every point is an independent cold solve submitted
to the executor, so the curve is, to the bit, the serial ``warm=False`` curve (the same
solves); warm starts would chain the points one after another.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._progress import progress_bar
from ..errors import InvalidArgumentError
from ..results import Curve

#: Points of a curve when neither ``num`` nor ``D`` is given.
DEFAULT_NUM = 50
#: Slope (times the spread of the finite distortions) that ends the grid when D_max = inf.
END_SLOPE = 1e-3


def _grid(problem, num, D, solve_options) -> np.ndarray:
    if num is not None and D is not None:
        raise InvalidArgumentError("give either num=... or D=[...] to curve(), not both.")
    if D is not None:
        if isinstance(D, (str, bytes)):
            raise InvalidArgumentError(f"D must be a list of numbers, got the string {D!r}.")
        try:
            grid = np.array(D, dtype=float).ravel()
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"D must be a list of numbers, got {D!r}.") from None
        if grid.size == 0:
            raise InvalidArgumentError("D is empty; give at least one distortion.")
        if not np.all(np.isfinite(grid)):
            raise InvalidArgumentError(f"D contains NaN or inf: {grid.tolist()}; give finite "
                                       "distortions (>= D_min).")
        return grid
    num = DEFAULT_NUM if num is None else num
    if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 2:
        raise InvalidArgumentError(f"num={num!r} must be an integer >= 2 (points of the grid).")
    return np.linspace(problem.D_min, _end(problem, solve_options), int(num))


def _end(problem, solve_options) -> float:
    """``D_max``, or where the curve is flat to within the END_SLOPE rule."""
    if math.isfinite(problem.D_max):
        return problem.D_max
    d = problem.source.d  # internal units (nats for log-distortions)
    finite = d[np.isfinite(d)]
    spread = float(finite.max() - finite.min()) or 1.0
    slope = problem._units.slope_out(END_SLOPE / spread)
    return problem.solve(slope=slope, **solve_options).distortion


def _solve_at(problem, D: float, options: dict):
    return problem.solve(D=D, **options)


def _gather(futures: list, progress: bool) -> list:
    """Results in order; the first failure cancels the tasks not started yet."""
    arriving = progress_bar(futures, len(futures), "R(D) curve", progress, unit="point")
    results = []
    for index, future in enumerate(arriving):
        try:
            results.append(future.result())
        except BaseException:
            for later in futures[index + 1:]:
                later.cancel()
            raise
    return results


def _solve_points(problem, grid, options, warm: bool, executor, progress: bool) -> list:
    if executor is not None:  # independent points, submitted at once
        return _gather([executor.submit(_solve_at, problem, float(D), options) for D in grid],
                       progress)
    results = [None] * grid.size
    order = range(grid.size - 1, -1, -1)  # largest D first: small supports first
    order = progress_bar(order, grid.size, "R(D) curve", progress, unit="point")
    previous = None
    for i in order:
        warm_start = {"warm_start": previous} if warm else {}
        results[i] = previous = problem.solve(D=float(grid[i]), **warm_start, **options)
    return results


def rate_distortion_curve(problem, num=None, D=None, *, solver: str | None = None, tol=None,
                          max_iter=None, solver_options=None, progress: bool = False,
                          extra=None, warm: bool | None = None, executor=None) -> Curve:
    r"""Certified :math:`R(D)` on a grid of distortions (see the module docstring).

    Parameters
    ----------
    problem : RateDistortion
        The problem (any subclass, e.g. a log-likelihood problem).
    num : int, optional
        Number of equally spaced points from ``D_min`` to ``D_max`` (default 50).
    D : array_like, optional
        Instead of ``num``: the distortions to solve at (each ``>= D_min``).
    solver : str, optional
        Any installed solver (default: the problem's default); iterative ones are
        warm-started point to point.
    tol, max_iter, solver_options :
        As in :meth:`RateDistortion.solve`, for every point.
    progress : bool
        Show a tqdm progress bar on a terminal (never in logs, notebooks or CI).
    extra : dict, optional
        More keyword arguments for every ``solve`` (e.g. ``Gamma`` for perception).
    warm : bool, optional
        Pass each result to the next solve as ``warm_start`` (default: ``True``, or
        ``False`` with an ``executor``, whose points are independent).
    executor : concurrent.futures.Executor, optional
        Solve the points there, all at once, as independent cold solves (e.g.
        ``dask.distributed.Client(...).get_executor()``; docs/scaling.md). The curve
        equals the serial ``warm=False`` one to the bit. The problem and the options
        must pickle for a process or cluster executor.

    Returns
    -------
    Curve
        Points sorted by ``D``, each with its certificate.

    Raises
    ------
    InvalidArgumentError
        ``warm=True`` with an ``executor``; a bad ``num`` or ``D``.

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from rdconvex.problems.curve import rate_distortion_curve
    >>> problem = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    >>> with ThreadPoolExecutor(max_workers=2) as pool:
    ...     spread = rate_distortion_curve(problem, num=5, executor=pool)
    >>> bool(np.all(spread.rate == rate_distortion_curve(problem, num=5, warm=False).rate))
    True
    """
    if warm and executor is not None:
        raise InvalidArgumentError(
            "warm=True chains the points one after another; with an executor the points "
            "are independent cold solves: drop warm= or pass warm=False.")
    warm = executor is None if warm is None else bool(warm)
    options = {"solver": solver, "tol": tol, "max_iter": max_iter,
               "solver_options": solver_options, **(extra or {})}
    grid = np.sort(_grid(problem, num, D, options))
    results = _solve_points(problem, grid, options, warm, executor, progress)
    return Curve(D=grid, rate=[r.rate for r in results],
                 lower=[r.certificate.lower for r in results],
                 upper=[r.certificate.upper for r in results],
                 slope=[r.slope for r in results],
                 distortion=[r.distortion for r in results],
                 units=problem.units, solver=results[0].solver, results=tuple(results))
