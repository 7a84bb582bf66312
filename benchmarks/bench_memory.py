"""Peak memory at n = m = 2000 (issue 9): a BA solve at a fixed D and at a slope, a
10-point curve, and a Sinkhorn R(D, 0) solve, each in its own process, reported with the
process's peak resident set size (``resource.getrusage``). The goal is < 2 GB: no dense
n x m x k temporaries anywhere.

    python benchmarks/bench_memory.py [--n 2000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _task(kind: str, n: int, queue) -> None:
    import numpy as np

    import rdconvex as rdc

    rng = np.random.default_rng(n)
    p, d = rng.dirichlet(np.ones(n)), rng.random((n, n))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "ba, fixed D":
            prob = rdc.RateDistortion(p, d)
            gap = prob.solve(D=prob.D_min + 0.2 * (prob.D_max - prob.D_min), solver="ba")
            gap = gap.certificate.gap
        elif kind == "ba, slope 10":
            gap = rdc.RateDistortion(p, d).solve(slope=10.0, solver="ba").certificate.gap
        elif kind == "ba, 10-point curve":
            gap = float(np.max(rdc.RateDistortion(p, d).curve(num=10).gap))
        else:
            D = 0.2 * float(p @ d @ p)
            gap = rdc.RateDistortionPerception(p, d).solve(
                D=D, Gamma=0.0, solver="sinkhorn").certificate.gap
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    queue.put((seconds, gap, peak_mb))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")  # a fresh process: its peak is this task's alone
    print(f"| task (n = m = {args.n}) | seconds | certified gap | peak RSS (MB) | < 2 GB |")
    print("|---|---|---|---|---|")
    for kind in ("ba, fixed D", "ba, slope 10", "ba, 10-point curve", "sinkhorn R(D, 0)"):
        queue = ctx.Queue()
        proc = ctx.Process(target=_task, args=(kind, args.n, queue))
        proc.start()
        seconds, gap, peak = queue.get()
        proc.join()
        print(f"| {kind} | {seconds:.2f} | {gap:.1e} | {peak:.0f} | "
              f"{'yes' if peak < 2048 else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
