"""Certified envelope of the whole curve (issue 14, item 4): solves and time to a band of
width eps, one markdown table.

    python benchmarks/bench_envelope.py [--eps 1e-3 1e-6] [--threads 1] [--quick]

Instances (all with the default solver, Blahut–Arimoto):

- ``binary``: Ber(0.3), Hamming distortion (closed form h(p) - h(D));
- ``fig3``: problems/fig3.toml, X ~ Ber(0.25), P_X|U = BSC(0.1) (log-likelihood loss);
- ``fig4``: problems/fig4.toml, X ~ Ber(0.35), columns (0.8, 0.2), (0.4, 0.6), (0.2, 0.8);
- ``random 100x100``: p ~ Dirichlet(1), d ~ U[0, 1), numpy seed 0.

Columns: solves; the *ideal* count of a chord-and-tangent band (the sum over the final
segments of sqrt(ds * dD) / (2 sqrt(eps)), i.e. the integral of sqrt(R''/(4 eps)) dD:
what equally spaced tangent points on the true curve would need); the proven max gap;
wall-clock seconds and the part of them spent resolving the solver name
(``rdconvex.solvers.get_solver``, called once per solve). Both log-likelihood figures
are run in nats and in bits (eps is then in bits: smaller in nats, more solves).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rdconvex as rdc
from rdconvex.problems import classical as classical_module
from rdconvex.problems.envelope import envelope


def instances(quick: bool):
    rng = np.random.default_rng(0)
    p, d = rng.dirichlet(np.ones(100)), rng.random((100, 100))
    fig3 = ([0.75, 0.25], [[0.9, 0.1], [0.1, 0.9]])
    fig4 = ([0.65, 0.35], [[0.8, 0.4, 0.2], [0.2, 0.6, 0.8]])
    found = [("binary", lambda: rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))),
             ("fig3", lambda: rdc.LogLikelihood(*fig3)),
             ("fig3 (bits)", lambda: rdc.LogLikelihood(*fig3, units="bits")),
             ("fig4", lambda: rdc.LogLikelihood(*fig4)),
             ("fig4 (bits)", lambda: rdc.LogLikelihood(*fig4, units="bits")),
             ("random 100x100", lambda: rdc.RateDistortion(p, d))]
    return found[:2] + found[-1:] if quick else found


class RegistryClock:
    """Time spent in ``get_solver`` as the problem classes call it."""

    def __init__(self):
        self.seconds = 0.0
        self._original = classical_module.get_solver

    def __enter__(self):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self._original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        classical_module.get_solver = timed
        return self

    def __exit__(self, *exc):
        classical_module.get_solver = self._original


def ideal_solves(band, eps_nats: float, units) -> float:
    """sum sqrt(ds dD) / (2 sqrt(eps)) over consecutive finite-slope points (nats)."""
    points = band.points[np.isfinite(band.points[:, 2])]
    D = points[:, 0] / units.distortion_scale
    slope = points[:, 2] * units.distortion_scale / units.rate_scale
    steps = np.abs(np.diff(slope)) * np.diff(D)
    return float(np.sum(np.sqrt(np.clip(steps, 0.0, None))) / (2 * math.sqrt(eps_nats)))


def run(name, make, eps):
    problem = make()
    with RegistryClock() as clock:
        start = time.perf_counter()
        band = envelope(problem, eps=eps)
        seconds = time.perf_counter() - start
    units = problem._units
    ideal = ideal_solves(band, eps / units.rate_scale, units)
    return [name, band.units, f"{eps:.0e}", band.solves, f"{ideal:.0f}", f"{band.max_gap:.2e}",
            f"{seconds:.2f}", f"{clock.seconds:.2f}", f"{1e3 * seconds / band.solves:.1f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eps", type=float, nargs="+", default=[1e-3, 1e-6])
    parser.add_argument("--threads", default=THREADS, help="BLAS threads")
    parser.add_argument("--quick", action="store_true",
                        help="binary, fig3 (nats) and the random instance only")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    header = ["problem", "units", "eps", "solves", "ideal", "max gap", "seconds",
              "of which get_solver", "ms / solve"]
    rows = []
    for eps in args.eps:
        for name, make in instances(args.quick):
            rows.append(run(name, make, eps))
            print("  " + " | ".join(str(c) for c in rows[-1]), file=sys.stderr, flush=True)
    print(f"Load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{args.threads} BLAS thread(s).\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    end = os.getloadavg()
    print(f"\nLoad average at end {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}.")


if __name__ == "__main__":
    main()
