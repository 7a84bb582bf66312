"""The ``rdconvex`` command: a thin layer over the public API, on problem files.

Exit status: 0 ok, 1 a verified claim was rejected, 2 bad input (one line on standard
error names the file, field or option and the fix), 3 the computation failed (a solver
failure; with ``--strict`` a result that is not optimal). No traceback is ever shown:
every error and warning is one line, ``rdconvex: error: ...`` or ``rdconvex: warning:
...``; output piped into a reader that stops early (``| head``) ends quietly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings

from . import cli_commands as commands
from .cli_commands import (
    EXIT_BAD_INPUT,
    EXIT_NOT_OPTIMAL,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_SOLVER,
    drop_stdout,
    emit,
    error,
    one_line,
    show_warning,
)
from .errors import InaccurateSolutionWarning, RDConvexError, SolverError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_NOT_OPTIMAL",
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_SOLVER",
    "build_parser",
    "main",
]


class UsageError(Exception):
    """A mistake in the command line itself (reported in one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage block becomes one line
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ------------------------------------------------------------------ argument types
def _real(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError("nan is not a number")
    return value


def _nonnegative(text: str) -> float:
    value = _real(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def _integer(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}")
        return value

    parse.__name__ = "integer"
    return parse


# ------------------------------------------------------------------------- parser
class _Version(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print the versions and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from ._version import versions

        found = versions()
        rest = ", ".join(f"{k} {v}" for k, v in found.items() if k != "rdconvex")
        emit(f"rdconvex {found['rdconvex']} ({rest})")
        parser.exit()


def _solver_args(p, tol_help: str = "solver tolerance (generic, translated per solver)"):
    p.add_argument("--solver", help="ba | sinkhorn | clarabel | scs | ecos | mosek (default: "
                                    "the file's queries.solver, else auto: ba for R(D) and "
                                    "R_ll, sinkhorn for R(D, 0), clarabel for R(D, Gamma))")
    if tol_help:
        p.add_argument("--tol", type=_nonnegative, help=tol_help)
    p.add_argument("--max-iter", dest="max_iter", type=_integer(1), help="iteration cap")


def _command(sub, name: str, help_text: str, func, problem: bool = True, json: bool = True):
    p = sub.add_parser(name, help=help_text, description=help_text)
    if problem:
        p.add_argument("problem", help="problem file, or the name of a shipped problem "
                                       "(e.g. fig3; see docs/problem-files.md)")
    if json:
        p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=func)
    return p


def _strict(p) -> None:
    p.add_argument("--strict", action="store_true",
                   help="exit 3 when a result is not optimal (its certified gap exceeds the "
                        "tolerance) instead of warning")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rdconvex",
        description="Certified rate-distortion computations on TOML problem files. Every "
                    "rate comes with a certificate [lower, upper]; see docs/tutorial.md.",
        epilog="exit status: 0 ok, 1 claim rejected (verify) or not proven (check), 2 bad "
               "input, 3 solver failure (or, with --strict, a result not optimal)")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    solve = _command(sub, "solve", "certified R(D) at one or more D, or at a slope", commands.cmd_solve)
    target = solve.add_mutually_exclusive_group()
    target.add_argument("--D", type=_real, action="append",
                        help="target distortion; repeat for several (default: queries.D)")
    target.add_argument("--slope", type=_real, help="solve at this slope -dR/dD instead")
    solve.add_argument("--Gamma", type=_nonnegative, help="perception budget (perception "
                                                          "problems only)")
    solve.add_argument("--certificate", metavar="PATH",
                       help="write the certificate file here (JSON, docs/certificate-format.md;"
                            " several targets: PATH-1.json, PATH-2.json, ...)")
    _solver_args(solve)
    _strict(solve)

    check = _command(sub, "check", "prove a certificate file's bounds independently (ball "
                                   "arithmetic); exit 0 proven, 1 not proven, 2 malformed",
                     commands.cmd_check, problem=False, json=False)
    check.add_argument("certificate", help="certificate file (rdconvex solve --certificate)")

    curve = _command(sub, "curve", "the whole certified curve; --plot, --csv", commands.cmd_curve)
    grid = curve.add_mutually_exclusive_group()
    grid.add_argument("--num", type=_integer(2),
                      help="number of points (default: queries.curve.num or 50)")
    grid.add_argument("--D", type=_real, nargs="+", help="explicit distortion grid")
    curve.add_argument("--plot", help="write a figure here (.png, .pdf, .svg, ...)")
    curve.add_argument("--csv", help="write the points as CSV here (a '# provenance:' line "
                                     "first)")
    curve.add_argument("--Gamma", type=_nonnegative, help="perception budget (perception "
                                                          "problems only)")
    curve.add_argument("--no-progress", dest="progress", action="store_false",
                       help="hide the progress bar")
    _solver_args(curve)
    _strict(curve)

    verify = _command(sub, "verify", "check a claimed rate, channel or curve against "
                                     "certified bounds; exit 0 accepted, 1 rejected, 2 "
                                     "malformed", commands.cmd_verify)
    verify.add_argument("claim", help='a file (JSON or CSV), inline JSON such as \'{"D": 0.1, '
                                      '"rate": 0.2858}\', or - for standard input; rdconvex '
                                      "solve/curve outputs are claims too (docs/verify.md)")
    verify.add_argument("--tol", type=_nonnegative, default=1e-6,
                        help="absolute tolerance on rates (problem units; default 1e-6)")
    verify.add_argument("--rtol", type=_nonnegative, default=0.0,
                        help="relative tolerance: accept within tol + rtol * |claim| of the "
                             "certified interval (a four-digit rate: --rtol 1e-3)")
    _solver_args(verify, tol_help="")

    show = _command(sub, "show", "print a convex program of the problem as math", commands.cmd_show,
                    json=False)
    show.add_argument("--program", default="primal",
                      choices=["primal", "dual", "dmin", "special-min", "special-max",
                               "single-parameter"],
                      help="which formulation (dmin, special-* need a [loglik] problem)")
    at = show.add_mutually_exclusive_group()
    at.add_argument("--D", type=_real, help="distortion to show it at (default: queries.D[0])")
    at.add_argument("--slope", type=_real, help="show the Lagrangian form at this slope")
    show.add_argument("--Gamma", type=_nonnegative, help="perception budget (perception "
                                                         "problems only)")
    show.add_argument("--latex", action="store_true", help="print LaTeX instead of text")

    _command(sub, "special-points", "special operating points [D1, D2] of a [loglik] problem",
             commands.cmd_special_points)

    reproduce = _command(sub, "reproduce", "regenerate every number and figure of the paper "
                                           "we cover (table, figures, JSON) into --out",
                         commands.cmd_reproduce, problem=False)
    reproduce.add_argument("--out", default="out", help="output folder (default: out)")
    reproduce.add_argument("--problems", help="folder of problem files (default: the shipped "
                                              "ones)")
    reproduce.add_argument("--quiet", action="store_true", help="no progress lines")
    _strict(reproduce)
    return parser


def _run(argv) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as exc:
        error(exc)
    except BrokenPipeError:
        drop_stdout()
        return EXIT_OK
    except SolverError as exc:
        print(f"rdconvex: solver failure: {one_line(exc)}", file=sys.stderr)
        return EXIT_SOLVER
    except (RDConvexError, ImportError) as exc:  # ImportError: an optional extra is missing
        error(exc)
    except OSError as exc:
        error(f"{exc.filename}: {exc.strerror or exc}" if exc.filename else exc)
    return EXIT_BAD_INPUT


def main(argv=None) -> int:
    """Run ``rdconvex`` with ``argv`` (default: the command line); returns the exit
    status. Set ``RDCONVEX_DEBUG=1`` to see the traceback of an internal error."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        # Statuses are reported once per command (see _status_exit), not per point.
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        warnings.showwarning = show_warning
        try:
            return _run(argv)
        except KeyboardInterrupt:
            error("interrupted")
            return 130
        except Exception as exc:  # a bug: one line, never a traceback
            if os.environ.get("RDCONVEX_DEBUG"):
                raise
            error(f"internal error ({type(exc).__name__}: {exc}); this is a bug in rdconvex, "
                   "please report it with the command line (RDCONVEX_DEBUG=1 shows the "
                   "traceback)")
            return EXIT_SOLVER


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
