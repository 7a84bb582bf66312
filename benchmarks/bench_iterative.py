"""Iterative-core benchmark (issues 4 and 9): one command, one markdown table.

    python benchmarks/bench_iterative.py [--sizes 100 300 1000 2000] [--limit 120]
                                         [--threads 1] [--curve-size 500] [--quick]

Instances: p ~ Dirichlet(1), d ~ U[0, 1) (seeded), n = m. Tasks, all to a certified
gap of 1e-9 nats (rdconvex.certify on the returned point, so a fast wrong answer cannot
win):

- ``slope 10``: the curve point at slope s = 10 (the example of MATH.md "Pitfalls").
  Baselines at the same slope: dit's ``blahut_arimoto`` (beta = s / ln 2, one start,
  ``max_iters`` 10^7) twice: with its own stopping rule (``np.isclose`` of successive
  distortions, which stops it early and loose) and "run on" (the same iteration with
  that test tightened to a change below 1e-16, for an equal-accuracy time), and plain
  Blahut–Arimoto (this package with screening, acceleration and Newton off: the
  textbook iteration, stopped on the same certified gap), both with the certified gap of
  what they returned; Clarabel through the conic path (``solve(slope=...)``).
- ``D = D_min + 0.2 (D_max - D_min)``: a target distortion; Clarabel as the baseline
  (dit has no target-D mode).
- a 100-point certified curve at n = m = ``--curve-size``.

Every run is a separate process stopped after ``--limit`` seconds (then the table says
"skipped"). Times are wall-clock inside the process, after the instance is built; the
machine load is printed because the machine may be shared. BLAS threads are set by
``--threads`` (default 1) for every method alike.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import sys
import time
import warnings
from pathlib import Path


def _set_threads(argv):
    # BLAS reads these at import: set them before numpy is imported.
    threads = "1"
    if "--threads" in argv:
        threads = argv[argv.index("--threads") + 1]
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads
    return threads


THREADS = _set_threads(sys.argv)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rdconvex as rdc  # noqa: E402
from rdconvex import certify  # noqa: E402

SLOPE = 10.0
D_FRACTION = 0.2
TOL = 1e-9


def instance(n: int, seed: int = 0):
    rng = np.random.default_rng(seed + n)
    return rng.dirichlet(np.ones(n)), rng.random((n, n))


def target_D(p, d):
    prob = rdc.RateDistortion(p, d)
    return prob.D_min + D_FRACTION * (prob.D_max - prob.D_min)


# ----------------------------------------------------------------- measured tasks
# Each returns (seconds, certified gap, note).

def ours(p, d, D, slope):
    prob = rdc.RateDistortion(p, d)
    start = time.perf_counter()
    res = prob.solve(D=D, slope=slope, solver="ba", tol=TOL)
    seconds = time.perf_counter() - start
    support = int(np.count_nonzero(res.output_pmf > 0))
    return seconds, res.certificate.gap, f"{res.iterations} / support {support}"


def plain_ba(p, d, slope):
    prob = rdc.RateDistortion(p, d)
    options = {"screening": False, "acceleration": None, "newton": False}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prob.solve(slope=slope, solver="ba", tol=TOL, max_iter=10**7,
                         solver_options=options)
    return time.perf_counter() - start, res.certificate.gap, f"{res.iterations} sweeps"


def dit_ba(p, d, slope, strict=False):
    """dit's Blahut–Arimoto, one start. ``strict``: the same iteration with its stopping
    test (``np.isclose`` of successive distortions, rtol 1e-5) tightened to an absolute
    change below 1e-16, so it runs as long as the iteration keeps moving (equal-accuracy
    comparison); the gap of what it returns is certified either way."""
    import types

    from dit.rate_distortion import blahut_arimoto as module

    if strict:
        # Only dit's own module sees the stricter test (this is a separate process).
        shim = types.ModuleType("numpy_strict")
        shim.__dict__.update(np.__dict__)
        shim.isclose = lambda a, b: abs(a - b) <= 1e-16
        module.np = shim
    start = time.perf_counter()
    _, joint = module.blahut_arimoto(p, slope / math.log(2), distortion=lambda p_x, q: d,
                                     max_iters=10**7, restarts=1)
    seconds = time.perf_counter() - start
    channel = joint / p[:, None]
    distortion = float(np.sum(joint * d))
    _, _, cert = certify.certify(p, d, distortion, channel, slope, joint.sum(axis=0),
                                 polish=0, refine_slope=False)
    return seconds, cert.gap, ""


def clarabel(p, d, D, slope):
    prob = rdc.RateDistortion(p, d)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prob.solve(D=D, slope=slope, solver="clarabel")
    return time.perf_counter() - start, res.certificate.gap, res.status.value


def curve(n, num):
    p, d = instance(n, seed=1)
    prob = rdc.RateDistortion(p, d)
    start = time.perf_counter()
    result = prob.curve(num=num, solver="ba", tol=TOL)
    return time.perf_counter() - start, float(np.max(result.gap)), f"{num} points"


# ----------------------------------------------------------------------- harness

def _child(queue, func, args):
    try:
        queue.put(("ok", func(*args)))
    except Exception as exc:  # reported in the table
        queue.put(("error", f"{type(exc).__name__}: {exc}"[:80]))


def timed(func, args, limit):
    """``func(*args)`` in a child process: (seconds, gap, note) or (None, None, reason)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, func, args))
    proc.start()
    proc.join(limit)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None, None, f"skipped: over {limit:.0f} s"
    kind, value = queue.get() if not queue.empty() else ("error", "no result")
    if kind == "error":
        return None, None, value
    return value


def _cell(measured, reference=None):
    seconds, gap, note = measured
    if seconds is None:
        return [note, "", ""]
    ratio = "" if not reference else (f"{seconds / reference:.0f}x" if seconds >= 10 * reference
                                      else f"{seconds / reference:.2g}x")
    return [f"{seconds:.3f}", f"{gap:.1e}", ratio]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000, 2000])
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--threads", default=THREADS, help="BLAS threads for every method")
    parser.add_argument("--curve-size", type=int, default=500)
    parser.add_argument("--curve-points", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="sizes 100 300, limit 20 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.limit, args.curve_size = [100, 300], 20.0, 200
    try:
        import dit  # noqa: F401
        have_dit = True
    except ImportError:
        have_dit = False
    load = os.getloadavg()
    header = ["n = m", "task", "ours (s)", "our gap", "passes / support", "dit BA, its stop (s)",
              "gap", "dit / ours", "dit BA, run on (s)", "gap", "dit / ours", "plain BA (s)",
              "gap", "plain / ours", "Clarabel (s)", "gap", "Clarabel / ours"]
    rows = []
    for n in args.sizes:
        p, d = instance(n)
        D = target_D(p, d)
        for task, D_arg, slope_arg in ((f"slope {SLOPE:g}", None, SLOPE),
                                       (f"D = D_min + {D_FRACTION} range", D, None)):
            mine = timed(ours, (p, d, D_arg, slope_arg), args.limit)
            reference = mine[0]
            row = [n, task, *(_cell(mine)[:2]), mine[2]]
            if slope_arg is None:
                row += ["n/a (no target-D mode)", "", "", "n/a", "", "", "n/a", "", ""]
            else:
                for strict in (False, True):
                    row += (_cell(timed(dit_ba, (p, d, SLOPE, strict), args.limit), reference)
                            if have_dit else ["not installed", "", ""])
                row += _cell(timed(plain_ba, (p, d, SLOPE), args.limit), reference)
            row += _cell(timed(clarabel, (p, d, D_arg, slope_arg), args.limit), reference)
            rows.append(row)
            print("  " + " | ".join(str(c) for c in row), file=sys.stderr, flush=True)
    curve_run = timed(curve, (args.curve_size, args.curve_points), args.limit)
    print(f"Load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on "
          f"{os.cpu_count()} cores; BLAS threads {args.threads}; tol {TOL:g} nats.\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    seconds, gap, note = curve_run
    print(f"\nCertified curve, n = m = {args.curve_size}, {args.curve_points} points: "
          + (f"{seconds:.2f} s, max gap {gap:.1e} nats" if seconds is not None else note))
    end_load = os.getloadavg()
    print(f"Load average at end {end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f}.")


if __name__ == "__main__":
    main()
