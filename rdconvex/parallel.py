"""Sweeps over many problem instances on any :class:`concurrent.futures.Executor`.

Each task is ``problem.solve(D=..., **solve_options)`` run wherever the executor puts
it: in-process (``executor=None``), a local ``ProcessPoolExecutor``, or a cluster via
``dask.distributed.Client(...).get_executor()``. Problems and results are plain
picklable objects, so nothing else is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np

from .errors import InvalidArgumentError


def _solve_task(problem, key: str, value: float, options: dict):
    return problem.solve(**{key: value}, **options)


def _solve_task_safe(problem, key: str, value: float, options: dict):
    try:
        return _solve_task(problem, key, value, options)
    except Exception as exc:  # returned to the caller, who asked for errors="return"
        return exc


def sweep(problems: Sequence, D=None, *, slope=None, executor: Executor | None = None,
          errors: str = "raise", progress: bool = False, **solve_options) -> list:
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
        ``client.get_executor()``.
    errors : {"raise", "return"}
        Re-raise the first failure, or put the exception object in its slot.
    progress : bool
        Show a tqdm progress bar as results arrive.
    **solve_options
        Passed to every ``problem.solve`` (``solver=``, ``tol=``, ...).

    Returns
    -------
    list of Result (or exceptions with ``errors="return"``), in the order of ``problems``.
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
    task = _solve_task if errors == "raise" else _solve_task_safe
    if executor is None:
        results_iter = (task(prob, key, val, solve_options) for prob, val in zip(problems, values))
    else:
        futures = [executor.submit(task, prob, key, val, solve_options)
                   for prob, val in zip(problems, values)]
        results_iter = (future.result() for future in futures)
    if progress:
        from tqdm.auto import tqdm

        results_iter = tqdm(results_iter, total=len(problems), desc="sweep")
    return list(results_iter)
