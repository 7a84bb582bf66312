"""Speed of the independent certificate checker (rdconvex/check.py) at scale.

    python benchmarks/bench_checker.py [--sizes 300 1000] [--seed 0] [--keep DIR]

For each n: a seeded random problem with n = m (p ~ Dirichlet(1), d ~ U[0, 1)) at
D = D_min + 0.3 (D_max - D_min), and two points, each written as a format-1 certificate
file: a dense channel with its dual point from Blahut-Arimoto written here in numpy
(fixed slope, warm starts, the slope bisected so that the distortion is just below D:
the worst case for the checker, every channel entry positive), and rdconvex's own
optimal solve (``rdc.RateDistortion(p, d).solve(D=D)``: channel, output pmf and slope,
log c_x = -log sum_y q_y exp(-s (d_xy - r_x))). Timed: ``check_certificate`` on the
file, reading and parsing included (wall clock, and the process's CPU time, which moves
less with the machine's load). The target is under 5 s at n = m = 1000.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from rdconvex.check import check_certificate, make_document, write_document


def blahut_arimoto(p, d, slope, q=None, iterations=200):
    """Output pmf and channel of BA at a fixed slope (log space, rows shifted by r_x)."""
    shifted = d - d.min(axis=1, keepdims=True)
    kernel = np.exp(-slope * shifted)
    q = np.full(d.shape[1], 1.0 / d.shape[1]) if q is None else q
    for _ in range(iterations):
        z = kernel @ q
        q = q * (kernel.T @ (p / z))
        q /= q.sum()
    channel = kernel * q
    channel /= channel.sum(axis=1, keepdims=True)
    return q, channel, shifted


def xlogx(values):
    """Entrywise v log v with 0 log 0 = 0."""
    return values * np.log(np.where(values > 0, values, 1.0))


def instance(n: int, seed: int):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n))
    d = rng.random((n, n))
    d_min = float(p @ d.min(axis=1))
    return p, d, d_min + 0.3 * (float((p @ d).min()) - d_min)


def ba_point(p, d, D):
    """Dense channel, output pmf and slope from numpy BA, the slope bisected (warm
    starts) so that the channel's distortion is just below D."""
    low, high, q, point = 0.0, 100.0, None, None
    for _ in range(30):               # distortion decreases in the slope
        slope = 0.5 * (low + high)
        q, channel, _ = blahut_arimoto(p, d, slope, q, iterations=20)
        if float(np.sum(p[:, None] * channel * d)) > D:
            low = slope
        else:
            high, point = slope, (channel, q)
    return point[0], point[1], high


def solver_point(p, d, D):
    """The optimal channel, output pmf and slope of rdconvex's own solve (sparse channel)."""
    import rdconvex as rdc

    result = rdc.RateDistortion(p, d).solve(D=D)
    return result.channel, result.output_pmf, result.slope


def certificate(p, d, D, channel, q, slope) -> dict:
    """The format-1 document of a point: log c_x = -log sum_y q_y e^{-s (d_xy - r_x)};
    the claims are the float values of the two bounds widened by 1e-9 (the checker
    must prove them; the point itself need not be optimal)."""
    kernel = np.exp(-slope * (d - d.min(axis=1, keepdims=True)))
    log_c = -np.log(kernel @ q)
    d_min = float(p @ d.min(axis=1))
    lower = float(p @ log_c - np.log(((p * np.exp(log_c)) @ kernel).max()) - slope * (D - d_min))
    rate = float(p @ xlogx(channel).sum(axis=1) - xlogx(p @ channel).sum())
    return make_document("rate_distortion", {"p": p, "d": d}, {"D": D},
                         {"channel": channel}, {"slope": slope, "log_c": log_c},
                         lower=lower - 1e-9, upper=rate + 1e-9,
                         info={"generator": "benchmarks/bench_checker.py"})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder to keep the certificate files in")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="rdconvex-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    print("|     n | point     | nonzeros in W | check (s) | cpu (s) | file (MB) | claimed gap | "
          "lower width | upper width | proven |")
    print("|------:|:----------|--------------:|----------:|--------:|----------:|------------:|"
          "------------:|------------:|:------:|")
    for n in args.sizes:
        p, d, D = instance(n, args.seed)
        for name, point in (("BA, dense", ba_point), ("rdconvex", solver_point)):
            try:
                channel, q, slope = point(p, d, D)
            except Exception as exc:  # noqa: BLE001 - the other engineers' API may change
                print(f"| {n:5d} | {name:9} | unavailable: {type(exc).__name__}: {exc} |")
                continue
            path = folder / f"certificate-{n}-{name.split(',')[0]}.json"
            write_document(certificate(p, d, D, channel, q, slope), path)
            start, cpu = time.perf_counter(), time.process_time()
            result = check_certificate(path)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            widths = [b[1] - b[0] for b in (result.lower_enclosure, result.upper_enclosure)]
            print(f"| {n:5d} | {name:9} | {np.count_nonzero(channel):13d} | {elapsed:9.2f} | "
                  f"{cpu:7.2f} | "
                  f"{path.stat().st_size / 1e6:9.1f} | "
                  f"{result.claimed_upper - result.claimed_lower:11.1e} | "
                  f"{widths[0]:11.1e} | {widths[1]:11.1e} | {result.proven!s:^6} |")

if __name__ == "__main__":
    main()
