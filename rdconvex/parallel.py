"""Sweeps over many problem instances on any :class:`concurrent.futures.Executor`.

Each task is ``problem.solve(D=..., **solve_options)`` (or a chunk of them) run
wherever the executor puts it: in-process (``executor=None``), a local
``ProcessPoolExecutor``, or a dask cluster through
``dask.distributed.Client(...).get_executor()`` (the ``dask`` extra). Problems and
results, certificate records included, are plain picklable objects, so nothing else is
needed; docs/scaling.md shows a cluster run and how failures surface.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np

from ._progress import progress_bar
from .errors import InvalidArgumentError


def _solve_task(problem, key: str, value: float, options: dict):
    return problem.solve(**{key: value}, **options)


def _solve_task_safe(problem, key: str, value: float, options: dict):
    try:
        return _solve_task(problem, key, value, options)
    except Exception as exc:  # noqa: BLE001 -- the caller asked for errors="return"
        return exc


def _solve_chunk(task, problems: list, key: str, values: list, options: dict) -> list:
    return [task(problem, key, value, options) for problem, value in zip(problems, values)]


def _outcomes(futures: list, errors: str):
    """The futures' result lists in order. With ``errors="return"`` a future that
    failed outside the solves (its worker died, its pool broke) gives its exception for
    each of its slots; with ``"raise"`` the first failure cancels the futures not
    started yet and propagates."""
    for index, (future, size) in enumerate(futures):
        if errors == "return":
            failure = future.exception()
            yield future.result() if failure is None else [failure] * size
            continue
        try:
            yield future.result()
        except BaseException:
            for later, _ in futures[index + 1:]:
                later.cancel()
            raise


def sweep(problems: Sequence, D=None, *, slope=None, executor: Executor | None = None,
          errors: str = "raise", chunksize: int = 1, progress: bool = False,
          **solve_options) -> list:
    """Solve many instances, optionally in parallel, and return their Results in order.

    Parameters
    ----------
    problems : sequence of problems
        ``RateDistortion`` (or any subclass / object with ``solve``) instances.
    D, slope : float or sequence of floats
        One target for all problems, or one per problem (give exactly one of them).
    executor : concurrent.futures.Executor, optional
        Where to run the solves (``None``: here, one after another). Any executor
        works: ``ProcessPoolExecutor``, ``ThreadPoolExecutor``, or a dask cluster via
        ``client.get_executor()``. Every ``solve`` is independent (no warm start
        from another problem), so the results are the same, to the bit, wherever and
        in whatever chunks they run.
    errors : {"raise", "return"}
        ``"raise"``: re-raise the first failure (in the order of ``problems``) and
        cancel the tasks not started yet. ``"return"``: put the exception object in
        its slot and go on; this covers a ``solve`` that raised (its own exception,
        e.g. :class:`~rdconvex.errors.InfeasibleDistortionError`) and a task the
        executor lost (``distributed.KilledWorker`` when a dask worker died,
        ``BrokenProcessPool`` for a process pool; every slot of its chunk).
    chunksize : int
        Problems per task submitted to the executor (as in ``Executor.map``). Solves
        of a few milliseconds are dominated by the executor's cost per task (a dask
        round trip, ~1-10 ms); chunks of 10-50 amortise it. Results do not depend on it.
    progress : bool
        Show a tqdm progress bar as results arrive, on a terminal (never in logs or CI).
    **solve_options
        Passed to every ``problem.solve`` (``solver=``, ``tol=``, ...).

    Returns
    -------
    list of Result (or exceptions with ``errors="return"``), in the order of ``problems``.

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> problems = [rdc.RateDistortion([1 - p, p], 1 - np.eye(2)) for p in (0.1, 0.2)]
    >>> out = rdc.sweep(problems, D=[0.05, -1.0], errors="return")
    >>> round(out[0].rate, 6), type(out[1]).__name__
    (0.126568, 'InfeasibleDistortionError')
    """
    problems = list(problems)
    if (D is None) == (slope is None):
        raise InvalidArgumentError("sweep needs exactly one of D=... or slope=....")
    if errors not in ("raise", "return"):
        raise InvalidArgumentError(f"errors={errors!r} must be 'raise' or 'return'.")
    key, value = ("D", D) if D is not None else ("slope", slope)
    values = np.atleast_1d(np.asarray(value, dtype=object))
    if values.size == 1:
        values = np.repeat(values, len(problems))
    if values.size != len(problems):
        raise InvalidArgumentError(
            f"{key} has {values.size} values for {len(problems)} problems; give one value or "
            "one per problem.")
    if isinstance(chunksize, bool) or not isinstance(chunksize, numbers.Integral) \
            or chunksize < 1:
        raise InvalidArgumentError(f"chunksize={chunksize!r} must be an integer >= 1.")
    task = _solve_task if errors == "raise" else _solve_task_safe
    if executor is None:
        results_iter = (task(prob, key, val, solve_options) for prob, val in zip(problems, values))
    else:
        size = int(chunksize)
        chunks = [(problems[start:start + size], list(values[start:start + size]))
                  for start in range(0, len(problems), size)]
        futures = [(executor.submit(_solve_chunk, task, chunk, key, targets, solve_options),
                    len(chunk)) for chunk, targets in chunks]
        results_iter = (result for chunk in _outcomes(futures, errors) for result in chunk)
    results_iter = progress_bar(results_iter, len(problems), "sweep", progress)
    return list(results_iter)
