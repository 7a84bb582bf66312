"""The cost of proofs (issue 14): a Blahut–Arimoto solve with its outward-rounded bounds
against the same solve in the tree before proofs (float64 bounds), in the same run.

The baseline tree is exported from git (``--baseline``, default the last commit before
issue 14) into a temporary folder and run in a child process on the same seeded
instances; both report seconds (best of ``--repeat`` in one process) and the certified
gap. Goal: the ratio stays within 1.5 at n = m = 1000. Also times the independent
checker (``rdconvex check``) on the certificate file of the same solve (goal < 5 s).

    python benchmarks/bench_proofs.py [--sizes 300 1000 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
# An editable install's import hook would shadow PYTHONPATH: drop it, import the tree.
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, sys.argv[3])
import numpy as np
import rdconvex as rdc
n, repeat = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(n)
p = rng.dirichlet(np.ones(n)); d = rng.random((n, n))
prob = rdc.RateDistortion(p, d)
D = prob.D_min + 0.3 * (prob.D_max - prob.D_min)
out = {}
for task, kwargs in (("D", {"D": D}), ("slope 10", {"slope": 10.0})):
    best, gap = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        res = prob.solve(solver="ba", **kwargs)
        best = min(best, time.perf_counter() - start)
        gap = res.certificate.gap
    out[task] = (best, gap)
out["module"] = rdc.__file__
print(json.dumps(out))
"""


def run(tree: Path, n: int, repeat: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(repeat), str(tree)],
                          env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def checker_time(n: int) -> tuple[float, bool]:
    import numpy as np

    import rdconvex as rdc

    rng = np.random.default_rng(n)
    p = rng.dirichlet(np.ones(n))
    d = rng.random((n, n))
    prob = rdc.RateDistortion(p, d)
    res = prob.solve(D=prob.D_min + 0.3 * (prob.D_max - prob.D_min))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cert.json"
        res.save_certificate(path)
        start = time.perf_counter()
        verdict = rdc.check_certificate(path)
        return time.perf_counter() - start, verdict.proven


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", default="b62c1be")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; baseline tree {args.baseline}")
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline,
                                  "rdconvex"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        print(f"{'n = m':>6} {'task':>9} {'before s':>9} {'after s':>9} {'ratio':>6} "
              f"{'gap before':>11} {'gap after':>10}")
        for n in args.sizes:
            before = run(Path(folder), n, args.repeat)
            after = run(ROOT, n, args.repeat)
            assert before.pop("module").startswith(folder), "baseline tree not imported"
            after.pop("module")
            for task in before:
                (t0, g0), (t1, g1) = before[task], after[task]
                print(f"{n:>6} {task:>9} {t0:>9.3f} {t1:>9.3f} {t1 / t0:>6.2f} "
                      f"{g0:>11.1e} {g1:>10.1e}")
    print("\nindependent checker (rdconvex check) on the certificate of the D solve:")
    for n in args.sizes:
        seconds, proven = checker_time(n)
        print(f"{n:>6} {seconds:>8.2f} s  proven={proven}")


if __name__ == "__main__":
    main()
