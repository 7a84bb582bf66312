"""The commands of ``rdconvex`` (parsed by :mod:`rdconvex.cli`): each loads a problem
file, calls the public API and writes text or JSON with its provenance; one-line errors
and warnings, and a standard output that a reader may close early."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from .errors import InvalidArgumentError
from .io import (
    csv_text,
    curve_columns,
    dumps,
    json_ready,
    load_problem,
    spec_provenance,
    write_text,
)

EXIT_OK, EXIT_REJECTED, EXIT_BAD_INPUT, EXIT_SOLVER = 0, 1, 2, 3
#: ``--strict``: a result that is not optimal is a failure of the computation.
EXIT_NOT_OPTIMAL = EXIT_SOLVER


def one_line(text) -> str:
    """``text`` on one line (runs of whitespace, newlines included, become one space)."""
    return " ".join(str(text).split())


def error(text) -> None:
    """``rdconvex: error: ...`` on standard error, one line."""
    print(f"rdconvex: error: {one_line(text)}", file=sys.stderr)


def warn(text) -> None:
    """``rdconvex: warning: ...`` on standard error, one line."""
    print(f"rdconvex: warning: {one_line(text)}", file=sys.stderr)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A Python warning as one :func:`warn` line (for ``warnings.showwarning``)."""
    warn(message)


def emit(text: str = "") -> None:
    """Print to standard output; once the reader has gone (a broken pipe, e.g. ``| head``),
    the rest of the output is dropped quietly and the command still ends normally."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        drop_stdout()


def drop_stdout() -> None:
    """Point standard output at the null device (the reader has gone)."""
    try:  # so that the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# ------------------------------------------------------------------------ helpers
def _load(args):
    """The problem file, with ``--Gamma`` checked against it."""
    spec = load_problem(args.problem)
    if getattr(args, "Gamma", None) is not None and spec.perception is None:
        raise InvalidArgumentError(f"--Gamma is a perception budget, but {args.problem} has "
                                   "no [perception] table: drop --Gamma.")
    return spec


def _is_grid(spec) -> bool:
    from .problems.grid import GridSource

    return isinstance(spec.problem, GridSource)


def _no_grid(spec, args, what: str,
             fix: str = "use 'rdconvex solve' or 'rdconvex curve' on it") -> None:
    """What a :class:`~rdconvex.GridSource` does not support: exit 2, one line."""
    if _is_grid(spec):
        raise InvalidArgumentError(
            f"{args.problem}: {what} is not available for a [grid] problem (a GridSource "
            f"never forms its n x n matrix; docs/grid.md); {fix}.")


def _check_grid_solver(solver) -> None:
    """A grid problem's only solver is its own Blahut–Arimoto (its ``curve`` takes no
    ``solver``)."""
    if solver not in (None, "auto", "ba", "grid"):
        raise InvalidArgumentError(f"--solver {solver}: a [grid] problem is solved by its "
                                   "own Blahut–Arimoto; use --solver ba or drop --solver.")


def _budget(args, spec) -> dict:
    """``{"Gamma": ...}`` for a perception problem (the flag, else the file's value)."""
    if spec.perception is None:
        return {}
    gamma = getattr(args, "Gamma", None)
    return {"Gamma": gamma if gamma is not None else spec.perception.get("Gamma", 0.0)}


def _solve_options(args) -> dict:
    return {name: getattr(args, name) for name in ("tol", "max_iter")
            if getattr(args, name, None) is not None}


def _quantity_label(spec, budget: dict) -> str:
    problem = spec.problem
    if hasattr(problem, "p_x_given_u"):
        return r"$R_{\ell\ell}(D)$"
    if budget:
        return rf"$R(D, \Gamma={budget['Gamma']:g})$"
    return "R(D)"


def _distortion_units(spec) -> str:
    return spec.problem.units if hasattr(spec.problem, "p_x_given_u") else "units of d"


def _status_exit(results, args, units: str) -> int:
    """One line when some result is not optimal: a warning, or with ``--strict`` an
    error and exit status 3."""
    loose = [r for r in results if r.status != "optimal"]
    if not loose:
        return EXIT_OK
    statuses = ", ".join(sorted({r.status.value for r in loose}))
    worst = max(loose, key=lambda r: r.certificate.gap)
    text = (f"{len(loose)} of {len(results)} results are not optimal ({statuses}; largest "
            f"certified gap {worst.certificate.gap:.1e} {units} at D={worst.D:.6g}): the "
            "bounds hold but are looser than the tolerance; raise --max-iter, loosen --tol "
            "or try another --solver")
    if getattr(args, "strict", False):
        error(text)
        return EXIT_NOT_OPTIMAL
    warn(text)
    return EXIT_OK


def _result_line(r) -> str:
    c = r.certificate
    return (f"  D = {r.D:.6g}: R = {r.rate:.10g} {r.units}, certified in [{c.lower:.10g}, "
            f"{c.upper:.10g}] (gap {c.gap:.1e}); distortion {r.distortion:.6g}, slope "
            f"{r.slope:.6g}; {r.solver}: {r.status.value}")


# ----------------------------------------------------------------------- commands
def cmd_solve(args) -> int:
    """``rdconvex solve``: certified points at ``--D`` (or ``queries.D``) or ``--slope``."""
    spec = _load(args)
    solver = args.solver or spec.queries.get("solver")  # None: the default policy
    options = _solve_options(args)
    budget = _budget(args, spec)
    if args.slope is not None:
        targets = [("slope", args.slope)]
    else:
        values = args.D if args.D else list(np.atleast_1d(spec.queries.get("D", [])))
        if not values:
            raise InvalidArgumentError(
                f"{args.problem}: give --D (or --slope); the file has no queries.D.")
        targets = [("D", float(v)) for v in values]
    if args.certificate:
        _no_grid(spec, args, "--certificate (a certificate file)", "drop --certificate")
    results = [spec.problem.solve(**{key: value}, solver=solver, **options, **budget)
               for key, value in targets]
    if args.certificate:
        _write_certificates(results, args.certificate)
    if args.json:
        record = spec_provenance(spec, solver=results[0].solver, solver_options=options,
                                 **budget)
        emit(dumps({"provenance": record, "results": results}))
    else:
        emit(f"{spec.name}: {spec.description}".rstrip(": "))
        for r in results:
            emit(_result_line(r))
            if r.message and r.message != f"{r.solver}: {r.status.value}":
                emit(f"    ({one_line(r.message)})")
    return _status_exit(results, args, spec.problem.units)


def _write_certificates(results, path: str) -> None:
    """One certificate file per result: ``path`` itself for one, ``stem-1.json``, ... for
    several."""
    target = Path(path)
    for i, result in enumerate(results, start=1):
        where = target if len(results) == 1 else target.with_name(
            f"{target.stem}-{i}{target.suffix or '.json'}")
        try:
            result.save_certificate(where)
        except OSError as exc:
            raise InvalidArgumentError(f"cannot write the certificate to {where}: "
                                       f"{exc.strerror or exc}.") from None


def cmd_check(args) -> int:
    """``rdconvex check``: the independent checker of :mod:`rdconvex.check`."""
    from .check import MalformedCertificateError, check_certificate

    try:
        result = check_certificate(args.certificate)
    except MalformedCertificateError as exc:
        raise InvalidArgumentError(f"{args.certificate}: malformed certificate: {exc}.") from None
    except OSError as exc:
        raise InvalidArgumentError(f"{args.certificate}: cannot read it: "
                                   f"{exc.strerror or exc}.") from None
    emit(result.message)
    return EXIT_OK if result.proven else EXIT_REJECTED


def _check_plot_path(path: str) -> None:
    from .plot import figure_formats

    suffix = Path(path).suffix.lower().lstrip(".")
    formats = figure_formats()
    if suffix not in formats:
        raise InvalidArgumentError(f"--plot {path}: unknown figure format "
                                   f"{'.' + suffix if suffix else '(no extension)'}; end the "
                                   f"name with one of {', '.join('.' + f for f in formats)}.")


def _plot(curve, spec, budget: dict, path: str) -> None:
    from .plot import pyplot, save_figure

    plt = pyplot(headless=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    curve.plot(ax=ax, label=spec.name, quantity=_quantity_label(spec, budget),
               distortion_units=_distortion_units(spec))
    ax.set_title(spec.name)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def cmd_curve(args) -> int:
    """``rdconvex curve``: the certified curve, as text or JSON, CSV and a figure."""
    spec = _load(args)
    if args.plot:
        _check_plot_path(args.plot)  # before the computation, not after it
    query = dict(spec.queries.get("curve", {}))
    solver = args.solver or query.get("solver", spec.queries.get("solver"))
    options = _solve_options(args)
    budget = _budget(args, spec)
    from ._progress import on_terminal

    # A bar only where someone watches it (never in a log or a pipe).
    kwargs = {"solver": solver, "progress": args.progress and on_terminal(), **options,
              **budget}
    if _is_grid(spec):
        _check_grid_solver(kwargs.pop("solver"))
    if args.D:
        curve = spec.problem.curve(D=args.D, **kwargs)
    else:
        curve = spec.problem.curve(num=args.num or query.get("num", 50), **kwargs)
    record = spec_provenance(spec, solver=curve.solver, solver_options=options, **budget)
    if args.csv:
        write_text(args.csv, csv_text(curve_columns(curve), record))
    if args.plot:
        _plot(curve, spec, budget, args.plot)
    if args.json:
        emit(dumps({"provenance": record, "units": curve.units, **curve_columns(curve)}))
    else:
        emit(f"{spec.name}: {len(curve.D)} certified points, max gap "
              f"{float(np.max(curve.upper - curve.lower)):.1e} {curve.units}")
        emit(f"  {'D':>12} {'rate':>14} {'lower':>14} {'upper':>14} {'slope':>10}")
        for row in zip(curve.D, curve.rate, curve.lower, curve.upper, curve.slope):
            emit("  " + " ".join(f"{v:>{w}.8g}" for v, w in zip(row, (12, 14, 14, 14, 10))))
        for target, label in ((args.csv, "csv"), (args.plot, "plot")):
            if target:
                emit(f"  wrote {label}: {target}")
    return _status_exit(curve.results, args, curve.units)


def cmd_verify(args) -> int:
    """``rdconvex verify``: a claim (:mod:`rdconvex.cli_claims`) against certified bounds."""
    from .cli_claims import read_claim
    from .io import problem_sha256
    from .verification import verify

    spec = _load(args)
    _no_grid(spec, args, "verify")
    claim = read_claim(args.claim, stdin=sys.stdin)
    about = claim.provenance.get("problem")
    claimed_hash = about.get("sha256") if isinstance(about, dict) else None
    if claimed_hash and claimed_hash != problem_sha256(spec.problem):
        warn(f"{claim.source} was computed for different problem data (sha256 "
              f"{claimed_hash[:12]}...) than {args.problem}; verifying it against this file")
    Gamma = claim.Gamma
    if Gamma is None and spec.perception is not None:
        Gamma = spec.perception.get("Gamma", 0.0)
    verdict = verify(spec.problem, **claim.arguments, units=claim.units, Gamma=Gamma,
                     tol=args.tol, rtol=args.rtol, solver=args.solver,
                     **({"max_iter": args.max_iter} if args.max_iter else {}))
    if args.json:
        record = spec_provenance(spec, solver=args.solver, claim=claim.source,
                                 claim_form=claim.form)
        emit(dumps({"valid": verdict.valid, **json_ready(verdict), "provenance": record}))
    else:
        emit(str(verdict))
    return EXIT_OK if verdict.valid else EXIT_REJECTED


def cmd_show(args) -> int:
    """``rdconvex show``: a convex program of the problem, as text or LaTeX."""
    spec = _load(args)
    _no_grid(spec, args, "show (a convex program)")
    problem = spec.problem
    which = args.program
    if args.slope is not None and which != "primal":
        raise InvalidArgumentError(f"--slope applies to --program primal only, not {which}.")
    if args.D is not None and which in ("dmin", "special-min", "special-max"):
        raise InvalidArgumentError(f"--program {which} takes no --D: drop it.")
    extra = _budget(args, spec)
    D = args.D if args.D is not None else _default_D(spec)
    if which == "primal":
        target = {"slope": args.slope} if args.slope is not None else {"D": D}
        program = problem.program(**target, **extra)
    elif which == "dual":
        program = problem.dual_program(D=D, **extra)
    elif which == "dmin":
        program = _require(problem, "rate_at_D_min_program", which)()
    elif which in ("special-min", "special-max"):
        programs = _require(problem, "special_point_programs", which)()
        program = programs[which.split("-")[1]]
    else:
        from .section4 import single_parameter_dual

        program = single_parameter_dual(problem.p_x, problem.d, D,
                                        units=problem.units).formulation()
    emit(program.latex() if args.latex else str(program))
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


def cmd_special_points(args) -> int:
    """``rdconvex special-points``: the special operating points of a [loglik] problem."""
    spec = _load(args)
    points = _require(spec.problem, "special_points", "special-points")()
    if args.json:
        emit(dumps({"provenance": spec_provenance(spec, solver="highs"),
                     **json_ready(points)}))
    else:
        emit(f"{spec.name}:")
        emit(str(points))
    return EXIT_OK


def cmd_reproduce(args) -> int:
    """``rdconvex reproduce``: every number and figure of the paper we cover."""
    from .reproduce import reproduce_paper

    if args.problems is not None and not Path(args.problems).is_dir():
        raise InvalidArgumentError(f"--problems {args.problems}: not a folder of problem "
                                   "files; drop --problems to use the shipped ones.")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InvalidArgumentError(f"--out {args.out}: is a file; give a folder.")

    def progress(line: str) -> None:
        print(f"rdconvex reproduce: {line}", file=sys.stderr, flush=True)

    summary = reproduce_paper(args.out, problems_dir=args.problems,
                              progress=None if args.quiet else progress)
    if args.json:
        emit(dumps(summary))
    else:
        emit(f"reproduced into {args.out}:")
        for key in ("fig3", "fig4", "example1", "perception", "table"):
            emit(f"  {key}: {summary[key]}")
    loose = summary["not_optimal"]
    if loose:
        text = (f"{len(loose)} computed points are not optimal (first: {loose[0]}); their "
                "bounds hold but are looser than the tolerance")
        if args.strict:
            error(text)
            return EXIT_NOT_OPTIMAL
        warn(text)
    return EXIT_OK
