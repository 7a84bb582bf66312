"""A dask sweep against the serial loop (issue 16): one command, one markdown table.

    python benchmarks/bench_dask.py [--count 200] [--size 100] [--workers 2]
                                    [--chunksize 10] [--repeat 5] [--threads 1]
                                    [--fraction 0.3] [--quick]

Instances: ``--count`` seeded problems, p ~ Dirichlet(1), d ~ U[0, 1), n = m = ``--size``,
each solved at D = D_min + 0.3 (D_max - D_min) by Blahut–Arimoto (``solver="ba"``, its
default tolerance). Rows, all in this run on the same instances:

- ``serial loop``: ``rdc.sweep(problems, D=...)`` in this process, one after another;
- ``ProcessPoolExecutor``: the same sweep on a local pool of ``--workers`` processes
  (spawned, the plain standard-library baseline);
- ``dask LocalCluster``: the same sweep on ``--workers`` dask worker processes (one
  thread each) through ``client.get_executor()``, one problem per task and then
  ``--chunksize`` problems per task (``rdc.sweep(..., chunksize=)``: a dask task costs
  milliseconds of round trips, as much as one of these solves).

Start-up (starting the pool or the cluster and a first tiny solve on each worker, which
imports the solver modules) is timed apart. The sweeps then run round-robin, one of each
row per round, ``--repeat`` rounds (default 5), and each row reports its best time: on
a shared machine every row sees the same load, and load only adds time. Each row also
reports the speedup over the serial loop, the largest certified gap of its answers
(rdconvex.certify on the returned points, so a fast wrong answer cannot win) and whether
every answer equals the serial one to the bit (rates, certificates, channels). BLAS
threads are ``--threads`` (default 1) here and in the workers alike; the machine load is
printed before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _option(argv, name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def _set_threads(argv):
    # BLAS reads these at import: set them before numpy is imported (workers inherit them).
    threads = _option(argv, "--threads", "1")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads
    return threads


THREADS = _set_threads(sys.argv)

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rdconvex as rdc


def instances(count: int, size: int, fraction: float, seed: int = 16):
    rng = np.random.default_rng(seed)
    problems, targets = [], []
    for _ in range(count):
        problem = rdc.RateDistortion(rng.dirichlet(np.ones(size)), rng.random((size, size)))
        problems.append(problem)
        targets.append(problem.D_min + fraction * (problem.D_max - problem.D_min))
    return problems, targets


def identical(results, reference) -> bool:
    return all(a.rate == b.rate and a.certificate == b.certificate and a.slope == b.slope
               and np.array_equal(a.channel, b.channel) for a, b in zip(results, reference))


def timed_sweep(problems, targets, executor=None, chunksize=1):
    start = time.perf_counter()
    results = rdc.sweep(problems, D=targets, solver="ba", executor=executor,
                        chunksize=chunksize)
    return time.perf_counter() - start, results


def _first_solve(*_):
    # A worker's first solve imports the solver and certificate modules: start-up.
    rdc.RateDistortion([0.5, 0.5], 1 - np.eye(2)).solve(D=0.1, solver="ba")
    return os.getpid()


@contextlib.contextmanager
def executors(workers: int):
    """``(pool, dask executor, pool start-up s, cluster start-up s)``."""
    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        list(pool.map(_first_solve, range(workers)))
        pool_startup = time.perf_counter() - start
        start = time.perf_counter()
        # CRITICAL: workers still heartbeating while the cluster closes log harmless errors.
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster, \
                Client(cluster) as client:
            client.run(_first_solve)
            yield pool, client.get_executor(), pool_startup, time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunksize", type=int, default=10,
                        help="problems per dask task in the chunked row")
    parser.add_argument("--repeat", type=int, default=5,
                        help="rounds of sweeps; each row reports its best")
    parser.add_argument("--threads", default=THREADS)
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--quick", action="store_true", help="20 instances of 60 x 60")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.size, args.repeat = 20, 60, 2
    problems, targets = instances(args.count, args.size, args.fraction)
    print(f"# {args.count} problems, n = m = {args.size}, D = D_min + {args.fraction} "
          f"(D_max - D_min), solver ba; {args.workers} workers, BLAS threads {THREADS}, "
          f"{os.cpu_count()} cores, best of {args.repeat} rounds; "
          f"load before {os.getloadavg()[0]:.2f}\n")
    with executors(args.workers) as (pool, dask, pool_startup, dask_startup):
        rows = {"serial loop": (None, 1, None),
                "ProcessPoolExecutor, chunksize 1": (pool, 1, pool_startup),
                "dask LocalCluster, chunksize 1": (dask, 1, dask_startup),
                f"dask LocalCluster, chunksize {args.chunksize}": (dask, args.chunksize, None)}
        best = dict.fromkeys(rows, math.inf)
        answers = {}
        for _ in range(args.repeat):
            for name, (executor, chunksize, _) in rows.items():
                seconds, answers[name] = timed_sweep(problems, targets, executor, chunksize)
                best[name] = min(best[name], seconds)
    serial = answers["serial loop"]
    print("| run | start-up s | sweep s | speedup | per solve ms | max certified gap (nats) "
          "| identical to serial |")
    print("|---|---|---|---|---|---|---|")
    for name, (_, _, startup) in rows.items():
        results, seconds = answers[name], best[name]
        gap = max(r.certificate.gap for r in results)
        shown = "" if startup is None else f"{startup:.2f}"
        print(f"| {name} | {shown} | {seconds:.2f} | {best['serial loop'] / seconds:.2f} | "
              f"{1e3 * seconds / len(results):.1f} | {gap:.1e} | "
              f"{'yes' if identical(results, serial) else 'NO'} |")
    print(f"\n# load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
