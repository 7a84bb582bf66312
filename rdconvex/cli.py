"""The ``rdconvex`` command: a thin layer over the public API, on problem files.

Exit status: 0 ok, 2 bad input (with the message), 3 solver failure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from .errors import RDConvexError, SolverError
from .io import load_problem


def _result_dict(result) -> dict:
    c = result.certificate
    return {"rate": result.rate, "distortion": result.distortion, "D": result.D,
            "slope": result.slope if math.isfinite(result.slope) else "inf",
            "units": result.units, "status": result.status.value, "solver": result.solver,
            "iterations": result.iterations, "solve_time": result.solve_time,
            "certificate": {"upper": c.upper, "lower": c.lower, "gap": c.gap},
            "channel": np.asarray(result.channel).tolist(),
            "output_pmf": np.asarray(result.output_pmf).tolist()}


def _cmd_solve(args) -> int:
    spec = load_problem(args.problem)
    values = ([args.D] if args.D is not None else
              list(np.atleast_1d(spec.queries.get("D", []))))
    if args.slope is None and not values:
        raise RDConvexError(f"{args.problem}: give --D or --slope (the file has no queries.D).")
    solver = args.solver or spec.queries.get("solver", "clarabel")
    targets = [("slope", args.slope)] if args.slope is not None else [("D", v) for v in values]
    results = [spec.problem.solve(**{key: value}, solver=solver) for key, value in targets]
    if args.json:
        print(json.dumps([_result_dict(r) for r in results], indent=2))
        return 0
    print(f"{spec.name}: {spec.description}".rstrip(": "))
    for r in results:
        c = r.certificate
        print(f"  D = {r.D:.6g}: R = {r.rate:.10g} {r.units}  certified in "
              f"[{c.lower:.10g}, {c.upper:.10g}] (gap {c.gap:.1e}), distortion "
              f"{r.distortion:.6g}, slope {r.slope:.6g}, {r.solver} {r.status.value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdconvex",
        description="Certified rate-distortion computations on problem files (TOML).")
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="solve R(D) at one or more D (or a slope), certified")
    solve.add_argument("problem", help="problem file (see docs/problem-files.md)")
    solve.add_argument("--D", type=float, help="target distortion (default: the file's queries.D)")
    solve.add_argument("--slope", type=float, help="solve at this slope -dR/dD instead of a D")
    solve.add_argument("--solver", help="clarabel | scs | ecos | mosek | ba (default clarabel)")
    solve.add_argument("--json", action="store_true", help="print JSON instead of text")
    solve.set_defaults(func=_cmd_solve)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SolverError as exc:
        print(f"rdconvex: solver failure: {exc}", file=sys.stderr)
        return 3
    except RDConvexError as exc:
        print(f"rdconvex: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
