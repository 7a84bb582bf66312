"""Scale benchmark (issue 9): one command, one markdown table, one CSV.

    python benchmarks/bench_scale.py [--sizes 30 60 100 200 300] [--limit 120]
                                     [--ba-sizes 100 300 1000 2000]
                                     [--sinkhorn-sizes 100 300 1000]
                                     [--csv benchmarks/results/scale.csv] [--quick]

Rows, all measured in this run on the same seeded instances (p ~ Dirichlet(1),
d ~ U[0, 1), target D = D_min + 0.3 (D_max - D_min)):
- conic primal (rdconvex, screened output support) and full, conic dual, each with
  Clarabel and SCS;
- the textbook formulation (column sums of J written inline in the mutual information,
  the way hand-written CVXPY scripts do it) as the baseline, skipped (and said so) past
  ``--limit`` seconds or once it failed at a smaller size;
- Blahut–Arimoto (ours) vs dit's ``blahut_arimoto`` at slope 10 (dit from the ``bench``
  extra; said so when it is missing), n = m up to 2000;
- R(D, 0) by Sinkhorn (n = m up to 1000) and by the conic program (n <= 100).
``benchmarks/bench_iterative.py`` has the finer iterative comparison (plain BA, dit
with a strict stop, target-D solves, curves); this script reuses its harness.
Every time comes with the certified gap of the answer it produced (rdconvex.certify on
the returned point), so a fast wrong answer cannot win. Ratios are baseline / ours.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench_iterative sets BLAS threads before numpy loads and owns the shared harness
# (separate process per run, a time limit, certified gaps).
import bench_iterative as iterative  # noqa: E402
import cvxpy as cp  # noqa: E402
import numpy as np  # noqa: E402

import rdconvex as rdc  # noqa: E402
from rdconvex import certify  # noqa: E402


def instance(n: int, seed: int = 0):
    p, d = iterative.instance(n, seed)
    prob = rdc.RateDistortion(p, d)
    return p, d, prob.D_min + 0.3 * (prob.D_max - prob.D_min)


def textbook(p, d, D, solver):
    """The formulation people write first: q = J^T 1 inline inside rel_entr."""
    n, m = d.shape
    joint = cp.Variable((n, m), nonneg=True)
    q = cp.sum(joint, axis=0)
    rate = cp.sum(cp.rel_entr(joint, cp.reshape(p, (n, 1), order="C")
                              @ cp.reshape(q, (1, m), order="C")))
    distortion = cp.sum(cp.multiply(d, joint)) <= D
    problem = cp.Problem(cp.Minimize(rate), [cp.sum(joint, axis=1) == p, distortion])
    start = time.perf_counter()
    problem.solve(solver=solver)
    seconds = time.perf_counter() - start
    if joint.value is None:
        raise RuntimeError(f"textbook formulation: {problem.status}")
    slope = float(distortion.dual_value or 0.0)
    _, _, cert = certify.certify(p, d, D, joint.value / p[:, None], slope, joint.value.sum(0))
    return seconds, cert.gap, problem.status


def ours(p, d, D, solver, formulation, screen):
    prob = rdc.RateDistortion(p, d)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prob.solve(D=D, solver=solver, formulation=formulation, screen=screen)
    return time.perf_counter() - start, res.certificate.gap, res.status.value


def perfect_perception(p, d, D, solver):
    prob = rdc.RateDistortionPerception(p, d)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prob.solve(D=D, Gamma=0.0, solver=solver)
    return time.perf_counter() - start, res.certificate.gap, res.status.value


def _row(label, solver, n, measured, baseline=None):
    seconds, gap, note = measured
    ratio = f"{baseline / seconds:.1f}x" if baseline and seconds else ""
    return [label, solver, n, "" if seconds is None else f"{seconds:.2f}", note,
            "" if gap is None else f"{gap:.1e}", ratio]


def conic_rows(sizes, limit):
    rows, dead = [], set()  # (method, solver) that failed or timed out at a smaller n
    methods = [("textbook", None, None), ("ours: primal, screened", "primal", True),
               ("ours: primal, full", "primal", False), ("ours: dual", "dual", False)]
    for n in sizes:
        p, d, D = instance(n)
        for solver in ("clarabel", "scs"):
            baseline = None
            for label, formulation, screen in methods:
                if (label, solver) in dead:
                    rows.append([label, solver, n, "", "skipped: failed or over the limit "
                                 "at a smaller n", "", ""])
                    continue
                if label == "textbook":
                    measured = iterative.timed(textbook, (p, d, D, solver.upper()), limit)
                    baseline = measured[0]
                else:
                    measured = iterative.timed(ours, (p, d, D, solver, formulation, screen),
                                               limit)
                if measured[0] is None:
                    dead.add((label, solver))
                rows.append(_row(label, solver, n, measured, baseline))
                _progress(rows[-1])
    return rows


def iterative_rows(sizes, limit):
    """Blahut–Arimoto (ours) against dit's at slope 10, certified gaps of both."""
    rows = []
    for n in sizes:
        p, d = iterative.instance(n)
        measured = iterative.timed(iterative.ours, (p, d, None, iterative.SLOPE), limit)
        rows.append(_row("BA (ours), slope 10", "ba", n, measured))
        _progress(rows[-1])
        try:
            import dit  # noqa: F401
        except ImportError:
            rows.append(["BA (dit), slope 10", "dit", n, "", "skipped: dit not installed "
                         "(pip install '.[bench]')", "", ""])
            continue
        ours_seconds = measured[0]
        for label, strict in (("BA (dit, its own stop)", False),
                              ("BA (dit, run to equal accuracy)", True)):
            dit_measured = iterative.timed(iterative.dit_ba, (p, d, iterative.SLOPE, strict),
                                           limit)
            row = _row(f"{label}, slope 10", "dit", n, dit_measured)
            if strict and dit_measured[0] and ours_seconds:
                row[-1] = f"ours {dit_measured[0] / ours_seconds:.2g}x faster"
            rows.append(row)
            _progress(rows[-1])
    return rows


def perception_rows(sizes, conic_limit_n, limit):
    """R(D, 0): Sinkhorn at every size, Clarabel where the size allows."""
    rows = []
    for n in sizes:
        p, d = iterative.instance(n)
        D = 0.2 * float(p @ d @ p)   # a fifth of the independent coupling's distortion
        sink = iterative.timed(perfect_perception, (p, d, D, "sinkhorn"), limit)
        rows.append(_row("R(D, 0): Sinkhorn", "sinkhorn", n, sink))
        _progress(rows[-1])
        if n <= conic_limit_n:
            conic = iterative.timed(perfect_perception, (p, d, D, "clarabel"), limit)
            row = _row("R(D, 0): conic", "clarabel", n, conic)
            if conic[0] and sink[0]:
                row[-1] = f"Sinkhorn {conic[0] / sink[0]:.0f}x faster"
            rows.append(row)
            _progress(rows[-1])
    return rows


def _progress(row):
    print("  " + " | ".join(str(c) for c in row), file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 60, 100, 200, 300])
    parser.add_argument("--ba-sizes", type=int, nargs="+", default=[100, 300, 1000, 2000])
    parser.add_argument("--sinkhorn-sizes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--threads", default="1", help="BLAS threads (set before numpy)")
    parser.add_argument("--csv", default=str(Path(__file__).parent / "results" / "scale.csv"))
    parser.add_argument("--quick", action="store_true", help="small sizes, 30 s limit")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.ba_sizes, args.sinkhorn_sizes, args.limit = [30, 60], [100], [100], 30.0
    rows = (conic_rows(args.sizes, args.limit) + iterative_rows(args.ba_sizes, args.limit)
            + perception_rows(args.sinkhorn_sizes, 100, args.limit))
    header = ["method", "solver", "n = m", "seconds", "status / note",
              "certified gap (nats)", "ratio"]
    print(f"machine load: {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())}")
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
