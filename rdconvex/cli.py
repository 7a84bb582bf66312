"""The ``rdconvex`` command: a thin layer over the public API, on problem files.

Exit status: 0 ok, 1 a verified claim was rejected, 2 bad input (the message says
which file/field/argument and how to fix it), 3 solver failure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from .errors import InvalidArgumentError, RDConvexError, SolverError
from .io import load_problem

EXIT_OK, EXIT_REJECTED, EXIT_BAD_INPUT, EXIT_SOLVER = 0, 1, 2, 3


def _jsonable(value):
    """Numbers, arrays and dataclasses as JSON (inf as the string "inf")."""
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (np.floating, np.integer)):
        return _jsonable(value.item())
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()] if value.ndim else _jsonable(value.item())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "value") and hasattr(value, "name"):  # enums
        return value.value
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def result_dict(result) -> dict:
    """A Result as a JSON-ready dict."""
    return _jsonable(result)


def _print_json(obj) -> None:
    print(json.dumps(_jsonable(obj), indent=2))


def _solve_options(args) -> dict:
    options = {}
    for name in ("tol", "max_iter"):
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
    return options


def _result_line(r) -> str:
    c = r.certificate
    return (f"  D = {r.D:.6g}: R = {r.rate:.10g} {r.units}, certified in [{c.lower:.10g}, "
            f"{c.upper:.10g}] (gap {c.gap:.1e}); distortion {r.distortion:.6g}, slope "
            f"{r.slope:.6g}; {r.solver}: {r.status.value}")


def _cmd_solve(args) -> int:
    spec = load_problem(args.problem)
    problem = spec.problem
    solver = args.solver or spec.queries.get("solver")  # None: the default policy
    extra = _solve_options(args)
    if args.Gamma is not None or spec.perception is not None:
        gamma = args.Gamma if args.Gamma is not None else spec.perception.get("Gamma", 0.0)
        extra["Gamma"] = gamma
    if args.slope is not None:
        targets = [("slope", args.slope)]
    else:
        values = args.D if args.D else list(np.atleast_1d(spec.queries.get("D", [])))
        if not values:
            raise InvalidArgumentError(
                f"{args.problem}: give --D (or --slope); the file has no queries.D.")
        targets = [("D", float(v)) for v in values]
    results = [problem.solve(**{key: value}, solver=solver, **extra) for key, value in targets]
    if args.certificate:
        _write_certificates(results, args.certificate)
    if args.json:
        _print_json([result_dict(r) for r in results])
        return EXIT_OK
    print(f"{spec.name}: {spec.description}".rstrip(": "))
    for r in results:
        print(_result_line(r))
        if r.message and r.message != f"{r.solver}: {r.status.value}":
            print(f"    ({r.message})")
    return EXIT_OK


def _write_certificates(results, path: str) -> None:
    """One certificate file per result: ``path`` itself for one, ``stem-1.json``, ... for
    several."""
    from pathlib import Path

    target = Path(path)
    for i, result in enumerate(results, start=1):
        where = target if len(results) == 1 else target.with_name(
            f"{target.stem}-{i}{target.suffix or '.json'}")
        try:
            result.save_certificate(where)
        except OSError as exc:
            raise InvalidArgumentError(f"cannot write the certificate to {where}: "
                                       f"{exc.strerror or exc}.") from None


def _cmd_check(args) -> int:
    from .check import main as check_main

    return check_main([args.certificate])


def _cmd_curve(args) -> int:
    spec = load_problem(args.problem)
    query = dict(spec.queries.get("curve", {}))
    num = args.num or query.get("num", 50)
    solver = args.solver or query.get("solver", spec.queries.get("solver"))
    kwargs = {"solver": solver, "progress": args.progress, **_solve_options(args)}
    if spec.perception is not None:
        kwargs["Gamma"] = args.Gamma if args.Gamma is not None else spec.perception.get("Gamma",
                                                                                        0.0)
    if args.D:
        curve = spec.problem.curve(D=args.D, **kwargs)
    else:
        curve = spec.problem.curve(num=num, **kwargs)
    if args.csv:
        path = Path(args.csv)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = np.column_stack([curve.D, curve.rate, curve.lower, curve.upper, curve.slope])
        header = f"D,rate_{curve.units},lower,upper,slope"
        np.savetxt(path, rows, delimiter=",", header=header, comments="")
    if args.plot:
        from .plot import pyplot

        plt = pyplot(headless=True)

        fig, ax = plt.subplots(figsize=(6, 4))
        curve.plot(ax=ax, label=spec.name)
        ax.set_title(spec.name)
        ax.legend()
        fig.tight_layout()
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=150)
        plt.close(fig)
    if args.json:
        _print_json({"D": curve.D, "rate": curve.rate, "lower": curve.lower,
                     "upper": curve.upper, "slope": curve.slope, "units": curve.units})
        return EXIT_OK
    print(f"{spec.name}: {len(curve.D)} certified points, max gap "
          f"{float(np.max(curve.upper - curve.lower)):.1e} {curve.units}")
    print(f"  {'D':>12} {'rate':>14} {'lower':>14} {'upper':>14} {'slope':>10}")
    for row in zip(curve.D, curve.rate, curve.lower, curve.upper, curve.slope):
        print("  " + " ".join(f"{v:>{w}.8g}" for v, w in zip(row, (12, 14, 14, 14, 10))))
    for target, label in ((args.csv, "csv"), (args.plot, "plot")):
        if target:
            print(f"  wrote {label}: {target}")
    return EXIT_OK


def _load_claim(path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            claim = json.load(handle)
    except FileNotFoundError:
        raise InvalidArgumentError(f"{path}: no such claim file.") from None
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"{path}: not valid JSON: {exc}.") from None
    if not isinstance(claim, dict):
        raise InvalidArgumentError(f"{path}: the claim must be a JSON object such as "
                                   '{"D": 0.1, "rate": 0.3} or {"D": 0.1, "channel": [[...]]}.')
    return claim


def _claim_budget(spec, claim) -> dict:
    """The claim's ``Gamma`` (or the file's) for a perception problem."""
    if spec.perception is None:
        return {"Gamma": claim["Gamma"]} if "Gamma" in claim else {}
    return {"Gamma": claim.get("Gamma", spec.perception.get("Gamma", 0.0))}


def _cmd_verify(args) -> int:
    from .verification import verify

    spec = load_problem(args.problem)
    claim = _load_claim(args.claim)
    if "curve" in claim:
        curve = claim["curve"]
        if not isinstance(curve, dict) or "D" not in curve or "rate" not in curve:
            raise InvalidArgumentError(f"{args.claim}: curve must be "
                                       '{"D": [...], "rate": [...]}.')
        verdict = verify(spec.problem, curve=(curve["D"], curve["rate"]),
                         **_claim_budget(spec, claim))
    else:
        allowed = {"D", "rate", "channel", "Gamma"}
        unknown = set(claim) - allowed
        if unknown or "D" not in claim or not ({"rate", "channel"} & set(claim)):
            raise InvalidArgumentError(
                f"{args.claim}: expected keys D and rate and/or channel (or curve), got "
                f"{sorted(claim)}.")
        verdict = verify(spec.problem, **{**claim, **_claim_budget(spec, claim)})
    if args.json:
        _print_json({"valid": verdict.valid, **_jsonable(verdict)})
    else:
        print(verdict)
    return EXIT_OK if verdict.valid else EXIT_REJECTED


def _cmd_show(args) -> int:
    spec = load_problem(args.problem)
    problem = spec.problem
    which = args.program
    # perception problems take the budget Gamma as well (flag, else the file's value)
    extra = {}
    if spec.perception is not None:
        extra["Gamma"] = args.Gamma if args.Gamma is not None else spec.perception.get("Gamma", 0.0)
    if which == "primal":
        if args.slope is not None:
            program = problem.program(slope=args.slope, **extra)
        else:
            program = problem.program(D=args.D if args.D is not None else _default_D(spec),
                                      **extra)
    elif which == "dual":
        program = problem.dual_program(D=args.D if args.D is not None else _default_D(spec),
                                       **extra)
    elif which == "dmin":
        program = _require(problem, "rate_at_D_min_program", which)()
    elif which in ("special-min", "special-max"):
        programs = _require(problem, "special_point_programs", which)()
        program = programs[which.split("-")[1]]
    else:
        from .section4 import single_parameter_dual

        D = args.D if args.D is not None else _default_D(spec)
        program = single_parameter_dual(problem.p_x, problem.d, D,
                                        units=problem.units).formulation()
    print(program.latex() if args.latex else program)
    return EXIT_OK


def _require(problem, method: str, which: str):
    if not hasattr(problem, method):
        raise InvalidArgumentError(f"--program {which} needs a log-likelihood problem "
                                   "(a [loglik] table in the problem file).")
    return getattr(problem, method)


def _default_D(spec) -> float:
    values = list(np.atleast_1d(spec.queries.get("D", [])))
    if values:
        return float(values[0])
    problem = spec.problem
    upper = problem.D_max if math.isfinite(problem.D_max) else problem.D_min + 1.0
    return 0.5 * (problem.D_min + upper)


def _cmd_special_points(args) -> int:
    spec = load_problem(args.problem)
    method = _require(spec.problem, "special_points", "special-points")
    points = method()
    if args.json:
        _print_json(points)
    else:
        print(f"{spec.name}:")
        print(points)
    return EXIT_OK


def _cmd_reproduce(args) -> int:
    from .reproduce import reproduce_paper

    summary = reproduce_paper(args.out, problems_dir=args.problems)
    if args.json:
        _print_json(summary)
    else:
        print(f"reproduced into {args.out}:")
        for key, value in summary.items():
            print(f"  {key}: {value}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdconvex",
        description="Certified rate-distortion computations on TOML problem files. Every "
                    "rate comes with a certificate [lower, upper]; see docs/tutorial.md.",
        epilog="exit status: 0 ok, 1 claim rejected (verify) or not proven (check), 2 bad "
               "input, 3 solver failure")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p):
        p.add_argument("problem", help="problem file (see docs/problem-files.md)")
        p.add_argument("--json", action="store_true", help="print JSON instead of text")
        return p

    def solver_args(p):
        p.add_argument("--solver", help="ba | sinkhorn | clarabel | scs | ecos | mosek (default: "
                                        "the file's queries.solver, else auto: ba for R(D) and "
                                        "R_ll, sinkhorn for R(D, 0), clarabel for R(D, Gamma))")
        p.add_argument("--tol", type=float, help="solver tolerance (generic, translated per solver)")
        p.add_argument("--max-iter", dest="max_iter", type=int, help="iteration cap")

    solve = common(sub.add_parser("solve", help="certified R(D) at one or more D, or at a slope"))
    solve.add_argument("--D", type=float, action="append",
                       help="target distortion; repeat for several (default: queries.D)")
    solve.add_argument("--slope", type=float, help="solve at this slope -dR/dD instead")
    solve.add_argument("--Gamma", type=float, help="perception budget (perception problems)")
    solve.add_argument("--certificate", metavar="PATH",
                       help="write the certificate file here (JSON, docs/certificate-format.md;"
                            " several targets: PATH-1.json, PATH-2.json, ...)")
    solver_args(solve)
    solve.set_defaults(func=_cmd_solve)

    check = sub.add_parser(
        "check", help="prove a certificate file's bounds independently (ball arithmetic); "
                      "exit 0 proven, 1 not proven, 2 malformed")
    check.add_argument("certificate", help="certificate file (rdconvex solve --certificate)")
    check.set_defaults(func=_cmd_check)

    curve = common(sub.add_parser("curve", help="the whole certified curve; --plot, --csv"))
    curve.add_argument("--num", type=int, help="number of points (default: queries.curve.num or 50)")
    curve.add_argument("--D", type=float, nargs="+", help="explicit distortion grid")
    curve.add_argument("--plot", help="write a PNG/SVG plot here")
    curve.add_argument("--csv", help="write the points as CSV here")
    curve.add_argument("--Gamma", type=float, help="perception budget (perception problems)")
    curve.add_argument("--no-progress", dest="progress", action="store_false",
                       help="hide the progress bar")
    solver_args(curve)
    curve.set_defaults(func=_cmd_curve)

    verify = common(sub.add_parser(
        "verify", help="check a claimed rate, channel or curve (JSON) against certified bounds"))
    verify.add_argument("claim", help='JSON: {"D": .., "rate": ..} | {"D": .., "channel": '
                                      '[[..]]} | {"curve": {"D": [..], "rate": [..]}}')
    verify.set_defaults(func=_cmd_verify)

    show = sub.add_parser("show", help="print a convex program of the problem as math")
    show.add_argument("problem", help="problem file")
    show.add_argument("--program", default="primal",
                      choices=["primal", "dual", "dmin", "special-min", "special-max",
                               "single-parameter"],
                      help="which formulation (dmin, special-* need a [loglik] problem)")
    show.add_argument("--D", type=float, help="distortion to show it at (default: queries.D[0])")
    show.add_argument("--slope", type=float, help="show the Lagrangian form at this slope")
    show.add_argument("--Gamma", type=float, help="perception budget (perception problems)")
    show.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    show.set_defaults(func=_cmd_show)

    special = common(sub.add_parser("special-points",
                                    help="special operating points [D1, D2] of a [loglik] problem"))
    special.set_defaults(func=_cmd_special_points)

    reproduce = sub.add_parser("reproduce",
                               help="regenerate every number and figure of the paper we cover")
    reproduce.add_argument("--out", default="out", help="output folder (default: out)")
    reproduce.add_argument("--problems", default="problems", help="folder of problem files")
    reproduce.add_argument("--json", action="store_true", help="print the summary as JSON")
    reproduce.set_defaults(func=_cmd_reproduce)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SolverError as exc:
        print(f"rdconvex: solver failure: {exc}", file=sys.stderr)
        return EXIT_SOLVER
    except (RDConvexError, ImportError) as exc:  # ImportError: an optional extra is missing
        print(f"rdconvex: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
