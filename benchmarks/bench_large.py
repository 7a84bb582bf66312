"""Scale (issue 16): one table — dense n = m = 1000 … 10^4 against the path before
working sets, grid sources n = 10^4 … 10^6, and a dask sweep of 200 instances on 2
local workers against the serial loop; every row with its certified gap.

    python benchmarks/bench_large.py [--dense 1000 2000 5000 10000] [--baseline a4efd2a]
                                     [--grid 10000 100000 200000 1000000]
                                     [--grid-dense 2000] [--limit 400] [--sweep 200]
                                     [--skip-dask]

Dense rows: p ~ Dirichlet(1), d ~ U[0, 1), D = D_min + 0.3 (D_max - D_min), tol 1e-9;
time is ``RateDistortion(p, d)`` plus ``solve(D=...)`` (validation, the shifted copy,
the solve and the proven certificate), each run in its own process with one BLAS thread,
peak memory the process's peak resident set (``getrusage``; the caller's own ``d`` is
included: 8 n m bytes). The baseline is the tree before working sets, exported from git
and run the same way in the same session. A run over ``--limit`` seconds is stopped and
reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_dask  # noqa: E402  (sets one BLAS thread before numpy loads)
import bench_grid  # noqa: E402

DENSE_CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
import rdconvex as rdc
n = int(sys.argv[1])
rng = np.random.default_rng(n)
p, d = rng.dirichlet(np.ones(n)), rng.random((n, n))
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    prob = rdc.RateDistortion(p, d)
    res = prob.solve(D=prob.D_min + 0.3 * (prob.D_max - prob.D_min), solver="ba", tol=1e-9)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KiB -> GiB
print(json.dumps({"seconds": seconds, "peak_gb": peak, "gap": res.certificate.gap,
                  "rate": res.rate, "status": str(res.status.value),
                  "module": rdc.__file__}))
"""


def _child(code: str, args: list[str], tree: Path, limit: float) -> dict | str:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        # (cwd = the tree: ``python -c`` puts the working directory first on sys.path)
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=tree,
                              capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return f"over {limit:.0f} s"
    if done.returncode != 0:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out.pop("module").startswith(str(tree)), "the wrong tree was imported"
    return out


def dense_rows(sizes, baseline: str, limit: float) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", baseline, "rdconvex"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        for n in sizes:
            after = _child(DENSE_CHILD, [str(n)], ROOT, limit)
            before = _child(DENSE_CHILD, [str(n)], Path(folder), limit)
            for name, run in (("before (" + baseline + ")", before), ("after (this tree)", after)):
                if isinstance(run, str):
                    rows.append(f"| dense {n}×{n} | {name} | {run} | | | |")
                    continue
                ratio = ""
                if name.startswith("after") and isinstance(before, dict):
                    ratio = f"{before['seconds'] / run['seconds']:.1f}× faster, " \
                            f"{before['peak_gb'] / run['peak_gb']:.1f}× less memory"
                rows.append(f"| dense {n}×{n} | {name} | {run['seconds']:.1f} s | "
                            f"{run['peak_gb']:.2f} GB | {run['gap']:.1e} | {ratio} |")
    return rows


#: Grid points of the Gaussian curve rows (issue 16: 2 x 10^5).
CURVE_POINTS = 200_000
#: Blahut–Arimoto maps per slope for the grid rows (GridSource's default is 5000).
GRID_MAX_ITER = 2000


def grid_rows(sizes, dense, curve, D: float = 0.1) -> list[str]:
    """``rdc.GridSource`` on N(0, 1) sampled on [-8, 8] (squared error) at ``D``, own
    process per run (:mod:`bench_grid`), the dense ``RateDistortion`` on the same
    matrix at the ``dense`` sizes, and more points of the curve (``curve``) on
    :data:`CURVE_POINTS` points; the error against 1/2 log(1/D) is reported too."""
    rows = []
    runs = [(n, "dense", D) for n in dense] + [(n, "grid", D) for n in sizes]
    runs += [(CURVE_POINTS, "grid", other) for other in curve]
    for n, path, D in sorted(runs):
        r = bench_grid.run(n, D, GRID_MAX_ITER, path)
        name = "GridSource (FFT)" if path == "grid" else "dense RateDistortion, same matrix"
        rows.append(f"| N(0,1) on {n} grid points, D = {D} | {name} | {r['time']:.1f} s | "
                    f"{r['rss_mb'] / 1024:.2f} GB | {r['gap']:.1e} | "
                    f"abs(R - ½ log 1/D) = {r['error']:.1e}, {r['status']} |")
    return rows


def dask_rows(count: int, size: int, repeat: int) -> list[str]:
    """The serial loop and a 2-worker dask LocalCluster (chunks of 10 problems) on the
    same ``count`` instances, best of ``repeat`` rounds each."""
    problems, targets = bench_dask.instances(count, size, 0.3)
    best, answers = {}, {}
    with bench_dask.executors(2) as (_, dask, _, startup):
        for _ in range(repeat):
            for name, executor, chunks in (("serial loop", None, 1),
                                           ("dask, 2 local workers", dask, 10)):
                seconds, answers[name] = bench_dask.timed_sweep(problems, targets, executor,
                                                                chunks)
                best[name] = min(best.get(name, float("inf")), seconds)
    rows = []
    for name in best:
        gap = max(r.certificate.gap for r in answers[name])
        same = bench_dask.identical(answers[name], answers["serial loop"])
        ratio = f"{best['serial loop'] / best[name]:.2f}× the serial loop" + (
            f" (cluster start-up {startup:.1f} s apart)" if name != "serial loop" else "")
        rows.append(f"| sweep of {count} × ({size}×{size}) | {name} | {best[name]:.1f} s | "
                    f"| {gap:.1e} | {ratio}{'' if same else ', ANSWERS DIFFER'} |")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense", type=int, nargs="*", default=[1000, 2000, 5000, 10000])
    parser.add_argument("--baseline", default="a4efd2a")
    parser.add_argument("--limit", type=float, default=400.0)
    parser.add_argument("--sweep", type=int, default=200, help="instances in the dask sweep")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--grid", type=int, nargs="*", default=[10_000, 100_000, 200_000,
                                                                1_000_000])
    parser.add_argument("--grid-dense", type=int, nargs="*", default=[2000])
    parser.add_argument("--grid-curve", type=float, nargs="*", default=[0.05, 0.3])
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}; one BLAS thread per process\n")
    print("| problem | method | time | peak memory | certified gap (nats) | same-run ratio |")
    print("|---|---|---|---|---|---|")
    for row in dense_rows(args.dense, args.baseline, args.limit):
        print(row, flush=True)
    for row in grid_rows(args.grid, args.grid_dense, args.grid_curve):
        print(row, flush=True)
    if not args.skip_dask:
        for row in dask_rows(args.sweep, 100, 2):
            print(row, flush=True)


if __name__ == "__main__":
    main()
