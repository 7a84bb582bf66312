"""GridSource at scale: time, peak RSS, rate, certified gap, |R - 1/2 log(1/D)| for a
discretised N(0, 1) on [-8, 8] with squared error, and the dense path where feasible.

Each case runs in its own subprocess (peak RSS by resource.getrusage). Prints a markdown
table. Usage: python benchmarks/bench_grid.py [--max-iter K] [--sizes 1e4,1e5,...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASE = r"""
import json, math, resource, sys, time, warnings
import numpy as np
import rdconvex as rdc
warnings.simplefilter("ignore")
n, D, max_iter, path = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
x = np.linspace(-8, 8, n)
w = np.exp(-x ** 2 / 2)
start = time.perf_counter()
if path == "grid":
    res = rdc.GridSource(x, w, "squared").solve(D=D, max_iter=max_iter)
else:
    h = x[1] - x[0]
    d = ((np.arange(n)[:, None] - np.arange(n)[None, :]) * h) ** 2
    res = rdc.RateDistortion(w / w.sum(), d, normalize=True).solve(D=D)
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"n": n, "path": path, "time": elapsed, "rss_mb": rss, "rate": res.rate,
                  "gap": res.certificate.gap, "error": abs(res.rate - 0.5 * math.log(1 / D)),
                  "status": str(res.status), "iterations": res.iterations}))
"""


def run(n: int, D: float, max_iter: int, path: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CASE, str(n), str(D), str(max_iter), path],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--D", type=float, default=0.1)
    parser.add_argument("--max-iter", type=int, default=2000)
    parser.add_argument("--sizes", default="1e4,1e5,2e5,1e6")
    parser.add_argument("--dense", default="2000,5000")
    args = parser.parse_args()
    rows = []
    for n in [int(float(s)) for s in args.dense.split(",") if s]:
        rows.append(run(n, args.D, args.max_iter, "grid"))
        rows.append(run(n, args.D, args.max_iter, "dense"))
    for n in [int(float(s)) for s in args.sizes.split(",") if s]:
        rows.append(run(n, args.D, args.max_iter, "grid"))
    print(f"D = {args.D}, max_iter = {args.max_iter} maps per slope\n")
    print("| n | path | time (s) | peak RSS (MB) | rate (nats) | certified gap | "
          "abs(R - 1/2 log 1/D) | status | BA maps |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']} | {r['path']} | {r['time']:.1f} | {r['rss_mb']:.0f} | "
              f"{r['rate']:.10f} | {r['gap']:.2e} | {r['error']:.2e} | {r['status']} | "
              f"{r['iterations']} |")


if __name__ == "__main__":
    main()
