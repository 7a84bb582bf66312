r"""Reproduce the paper's numbers and figures by computation, with certificates.

:func:`reproduce_paper` is ``rdconvex reproduce``: Figures 3 and 4 (below), Example 1
and the translation (32) of Section IV, and ``R(D, 0)`` against the Theorem 4 scheme
(:mod:`rdconvex.paper_table`), and the table of every number the paper states against
the computed one, its certified interval and whether they agree
(``paper_table.md``, ``paper_table.csv``). Every output records its provenance.

For a log-likelihood problem file (``[loglik]`` table) :func:`reproduce_figure`
computes every number of the figure's caption -- ``H(X)``, ``D_min`` (6), ``D_max``
(7), ``R_ll(D_min)`` by program (8), the special operating points ``[D1, D2]`` with
the consistent ``P_U`` (Theorem 1-(iii), Corollary 1) -- and the curve ``R_ll(D)`` on
a grid of ``[D_min, D_max]``, each point a certified :class:`~rdconvex.Result`. It
draws ``R_ll`` against the log-loss line ``R_l(D) = H(X) - D`` (9)–(10) with the
special points marked, and writes ``<name>.png`` and ``<name>.json``.

The ``[reference]`` table of a problem file (the numbers the paper prints) is read only
to be compared with in the table, never used in a computation.

How each number is backed:

* ``H(X)``, ``D_min``, ``D_max``: closed-form sums evaluated in float64 (no
  optimisation, so no certificate is needed; rounding is ~1e-16 relative).
* ``R_ll(D_min)`` and every curve point: ``[lower, upper]`` from
  :mod:`rdconvex.certify` (a feasible dual point and the mutual information of a
  feasible channel).
* ``[D1, D2]`` and ``P_U``: LP values with LP-duality enclosures (``bounds``) and the
  consistency residual ``max |A P_U - p|``; no special point comes with a Farkas
  certificate.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from .errors import InaccurateSolutionWarning, InvalidArgumentError, ProblemFileError
from .io import (
    ProblemSpec,
    dumps,
    json_ready,
    load_problem,
    shipped_problems,
    spec_provenance,
    write_text,
)
from .problems.loglik import LogLikelihood, log_loss_rate

#: The figures :func:`reproduce_paper` regenerates (problem files in ``problems/``).
PAPER_FIGURES = ("fig3", "fig4")

#: Fractions of ``[D_min, D_max]`` added next to ``D_min``, where ``R_ll`` is steepest
#: (its slope is infinite at ``D_min``).
NEAR_D_MIN = (1e-4, 1e-3, 4e-3, 1e-2, 2.5e-2)


class FigureReport(dict):
    """The numbers of one figure (a plain, JSON-ready ``dict``) that prints as a
    short summary."""

    def __str__(self) -> str:
        u = self["units"]
        sp = self["special_points"]
        dmin = self["rate_at_D_min"]
        if sp["exists"]:
            D1, D2 = sp["interval"]
            where = (f"D* = {D1:.10g}" if D1 == D2 else f"D* in [{D1:.10g}, {D2:.10g}]")
            laws = "; ".join(sp["U_law"]) if sp["U_law"] else ""
            special = f"{where} {u}" + (f" with U ~ {laws}" if laws else "")
        else:
            special = "no special operating point"
        curve = self["curve"]
        return (f"H(X) = {self['entropy']['value']:.10g} {u}, D_min = "
                f"{self['D_min']['value']:.10g}, D_max = {self['D_max']['value']:.10g}, "
                f"R_ll(D_min) = {dmin['rate']:.10g} (certified in [{dmin['lower']:.10g}, "
                f"{dmin['upper']:.10g}]), {special}; {len(curve['D'])} certified curve points "
                f"(max gap {curve['max_gap']:.1e}); wrote {self['files']['figure']}, "
                f"{self['files']['numbers']}")


def _point(result) -> dict:
    c = result.certificate
    return {"D": result.D, "rate": result.rate, "lower": c.lower, "upper": c.upper,
            "gap": c.gap, "slope": result.slope, "distortion": result.distortion,
            "solver": result.solver, "status": result.status.value}


def _bernoulli(Q: np.ndarray) -> str | None:
    """``"Ber(q)"`` for a pmf on two values, else ``None``."""
    return f"Ber({float(Q[1]):.10g})" if Q.size == 2 else None


def _laws(special) -> list[str]:
    """Distinct ``Ber(q)`` laws of the consistent P_U at the ends (binary U only)."""
    if not special.exists:
        return []
    laws = [_bernoulli(Q) for Q in special.P_U]
    return [law for i, law in enumerate(laws) if law and law not in laws[:i]]


def _grid(problem: LogLikelihood, num: int, special) -> np.ndarray:
    D_min, D_max = problem.D_min, problem.D_max
    span = D_max - D_min
    grid = [*np.linspace(D_min, D_max, num), *(D_min + f * span for f in NEAR_D_MIN)]
    if special.exists:
        grid += list(special.interval)
    return np.unique(np.clip(grid, D_min, D_max))


def figure_numbers(problem: LogLikelihood, *, num: int = 41, solver: str = "clarabel") -> dict:
    """Every caption number of a log-likelihood figure, and the certified curve.

    Parameters
    ----------
    problem : LogLikelihood
    num : int
        Evenly spaced points of ``[D_min, D_max]`` (more are added next to ``D_min``
        and at the special points).
    solver : str
        Solver for ``R_ll`` (any installed one).

    Returns
    -------
    dict
        ``entropy``, ``D_min``, ``D_max`` (``{"value", "how"}``), ``rate_at_D_min``,
        ``special_points``, ``rate_at_special_points`` and ``curve``, all in the
        problem's units.
    """
    if not isinstance(problem, LogLikelihood):
        raise InvalidArgumentError(
            f"reproducing a figure needs a log-likelihood problem (a [loglik] table), got "
            f"{type(problem).__name__}.")
    if isinstance(num, bool) or not isinstance(num, int) or num < 2:
        raise InvalidArgumentError(f"num={num!r} must be an integer >= 2.")
    units = problem.units
    special = problem.special_points()
    dmin = problem.rate_at_D_min(solver="clarabel")
    points = []
    for D in _grid(problem, num, special):
        if D <= problem.D_min:
            points.append(_point(dmin))
        else:
            points.append(_point(problem.solve(D=float(D), solver=solver)))
    on_special = []
    if special.exists:
        D1, D2 = special.interval
        for D in sorted({D1, 0.5 * (D1 + D2), D2}):
            res = problem.solve(D=D, solver=solver)
            on_special.append({**_point(res), "H(X) - D": problem.entropy - D})
    curve = {key: [p[key] for p in points]
             for key in ("D", "rate", "lower", "upper", "slope", "status")}
    curve["max_gap"] = max(p["gap"] for p in points)
    curve["solver"] = solver
    return {
        "units": units,
        "entropy": {"value": problem.entropy,
                    "how": "H(X) = -sum p log p, evaluated in float64 (closed form)"},
        "D_min": {"value": problem.D_min,
                  "how": "(6) D_min = sum_x p_x min_u -log A[x,u], evaluated in float64"},
        "D_max": {"value": problem.D_max,
                  "how": "(7) D_max = min_u sum_x -p_x log A[x,u], evaluated in float64"},
        "rate_at_D_min": {
            "rate": dmin.rate, "lower": dmin.certificate.lower,
            "upper": dmin.certificate.upper, "gap": dmin.certificate.gap,
            "tie_randomization": dmin.tie_randomization,
            "how": "program (8) (randomised ML decoder); certified by rdconvex.certify"},
        "special_points": {
            "exists": special.exists,
            "interval": special.interval,
            "bounds": special.bounds,
            "P_U": special.P_U,
            "U_law": _laws(special),
            "consistency_residual": special.residual,
            "farkas": special.farkas,
            "how": ("two LPs over {Q >= 0, sum Q = 1, A Q = p} (HiGHS); bounds by LP "
                    "duality"),
        },
        "rate_at_special_points": on_special,
        "curve": curve,
    }


def plot_figure(problem: LogLikelihood, numbers: dict, path, title: str | None = None,
                formats=None) -> list:
    """Draw ``R_ll`` (certified points) against ``R_l`` with the special points marked.

    Writes ``path`` (any format matplotlib infers from it), or one file per format in
    ``formats`` (e.g. ``("png", "pdf")``), with the Agg backend; returns the paths.
    """
    from .plot import axis_labels, pyplot, save_figure

    plt = pyplot(headless=True)

    units = numbers["units"]
    H = numbers["entropy"]["value"]
    D_min, D_max = numbers["D_min"]["value"], numbers["D_max"]["value"]
    curve = numbers["curve"]
    D = np.asarray(curve["D"], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    D_l = np.linspace(0.0, H, 200)
    ax.plot(D_l, log_loss_rate(problem.p_x, D_l, units=units), "--", color="tab:gray",
            lw=1.6, label=r"$R_\ell(D) = H(X) - D$ (log-loss)")
    ax.fill_between(D, curve["lower"], curve["upper"], color="tab:blue", alpha=0.25, lw=0)
    ax.plot(D, curve["rate"], "-", color="tab:blue", lw=2.0,
            label=r"$R_{\ell\ell}(D)$ (certified points)")
    ax.plot(D, curve["rate"], ".", color="tab:blue", ms=3)
    special = numbers["special_points"]
    if special["exists"]:
        D1, D2 = special["interval"]
        if D2 > D1:
            seg = np.linspace(D1, D2, 20)
            ax.plot(seg, H - seg, "-", color="tab:red", lw=5, alpha=0.8, solid_capstyle="butt",
                    label=rf"special points $D^* \in [{D1:.3f}, {D2:.3f}]$")
            ax.plot([D1, D2], [H - D1, H - D2], "o", color="tab:red", ms=5)
        else:
            laws = ", ".join(special["U_law"])
            ax.plot([D1], [H - D1], "o", color="tab:red", ms=8,
                    label=rf"special point $D^* = {D1:.3f}$" + (f" (U ~ {laws})" if laws else ""))
    for value, name in ((D_min, r"$D_{\min}$"), (D_max, r"$D_{\max}$"), (H, r"$H(X)$")):
        ax.axvline(value, color="black", lw=0.7, ls=":")
        # Vertical labels left of each line, low enough to miss both curves.
        ax.text(value, 0.12 * H, f"{name} = {value:.4f}", rotation=90, ha="right",
                va="bottom", fontsize=8)
    ax.set_xlim(0.0, 1.04 * max(D_max, H))
    ax.set_ylim(0.0, 1.08 * H)
    axis_labels(ax, r"$R_{\ell\ell}(D)$, $R_\ell(D)$", units, f"{units}, log-likelihood loss")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.95)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    written = save_figure(fig, path, formats, dpi=110)
    plt.close(fig)
    return written


def _title(spec: ProblemSpec) -> str:
    problem = spec.problem
    p = problem.p_x
    source = f"X ~ Ber({p[1]:g})" if p.size == 2 else f"P_X = {np.round(p, 4).tolist()}"
    columns = ", ".join("(" + ", ".join(f"{v:g}" for v in col) + ")"
                        for col in problem.p_x_given_u.T)
    name = spec.name
    label = f"Fig. {name[3:]}" if name.startswith("fig") and name[3:].isdigit() else name
    return f"{label}: {source}, P_X|U columns {columns}"


def reproduce_figure(spec_or_path, out_dir="out", *, solver: str | None = None,
                     num: int | None = None, formats=("png", "pdf")) -> FigureReport:
    """Compute a figure's numbers (certified), draw it, and write the figure (PNG and
    PDF) and its numbers (JSON, with provenance).

    Parameters
    ----------
    spec_or_path : ProblemSpec or path
        A loaded problem file or its path (a ``[loglik]`` problem).
    out_dir : path
        Folder for ``<name>.png`` and ``<name>.json`` (created if needed).
    solver : str, optional
        Solver for the curve (default: the file's ``queries.solver`` or
        ``"clarabel"``).
    num : int, optional
        Evenly spaced curve points (default: ``queries.curve.num`` or 41).
    formats : tuple of str
        Figure formats written (``<name>.png``, ``<name>.pdf``, ...).

    Returns
    -------
    FigureReport
        A ``dict`` (JSON-ready) with ``name``, ``units``, the numbers of
        :func:`figure_numbers` and ``files``; ``str()`` gives a one-line summary.
    """
    spec = spec_or_path if isinstance(spec_or_path, ProblemSpec) else load_problem(spec_or_path)
    queries = spec.queries
    solver = solver or queries.get("solver", "clarabel")
    curve_query = queries.get("curve", {})
    num = num if num is not None else int(curve_query.get("num", 41))
    with warnings.catch_warnings():
        # An inaccurate solve is still certified; its bounds are in the output.
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        numbers = figure_numbers(spec.problem, num=num, solver=solver)
    out = Path(out_dir)
    figures = plot_figure(spec.problem, numbers, out / f"{spec.name}.png", title=_title(spec),
                          formats=formats)
    report = FigureReport(name=spec.name, description=spec.description,
                          problem_file=str(spec.path), source=spec.problem.p_x,
                          p_x_given_u=spec.problem.p_x_given_u, **numbers,
                          files={"figure": str(figures[0]),
                                 "figures": [str(f) for f in figures],
                                 "numbers": str(out / f"{spec.name}.json")},
                          paper_printed=spec.reference.get("printed", {}),
                          provenance=spec_provenance(spec, solver=solver))
    report = FigureReport(json_ready(report))
    write_text(out / f"{spec.name}.json", dumps(report) + "\n")
    return report


def problem_file(name: str, problems_dir=None):
    """The problem file ``name`` (``"fig3"``): in ``problems_dir`` when given, else the
    shipped one (:func:`rdconvex.io.shipped_problems`)."""
    if problems_dir is not None:
        return Path(problems_dir) / f"{name}.toml"
    shipped = shipped_problems()
    if name not in shipped:
        raise ProblemFileError(f"the shipped problem file {name}.toml was not found (is "
                               "rdconvex installed with its package data?); pass "
                               "problems_dir= (rdconvex reproduce --problems DIR).")
    return shipped[name]


def reproduce_paper(out_dir="out", problems_dir=None, *, solver: str | None = None,
                    progress=None, formats=("png", "pdf")) -> dict:
    """Reproduce every number and figure of the paper we cover, into ``out_dir``.

    Figures 3 and 4 (:func:`reproduce_figure`), Example 1 and the translation (32)
    (:func:`rdconvex.paper_table.example1_section`), ``R(D, 0)`` against the Theorem 4
    scheme (:func:`rdconvex.paper_table.perception_section`), and the table of the
    paper's numbers against the computed ones (``paper_table.md``, ``paper_table.csv``).

    Parameters
    ----------
    out_dir : path
        Output folder (created if needed).
    problems_dir : path, optional
        Folder of the problem files ``fig3.toml``, ``fig4.toml``, ``example1.toml``,
        ``binary_hamming.toml``, ``ternary_perception.toml`` (default: the shipped ones).
    solver : str, optional
        Solver for the log-likelihood curves (default: each file's ``queries.solver``).
    progress : callable, optional
        Called with one line of text before each step (``rdconvex reproduce`` prints
        them on standard error).
    formats : tuple of str
        Figure formats written.

    Returns
    -------
    dict
        ``fig3``, ``fig4``, ``example1``, ``perception``, ``table`` (reports whose
        ``str()`` is a one-line summary), ``not_optimal`` (the points whose certified
        gap did not meet the tolerance) and ``provenance``.
    """
    from . import paper_table

    def load(name: str) -> ProblemSpec:
        return load_problem(problem_file(name, problems_dir))

    steps = [
        ("fig3", "Fig. 3: H(X), D_min, D_max, D*, U ~ Ber(0.1875), the R_ll curve",
         lambda: reproduce_figure(load("fig3"), out_dir, solver=solver, formats=formats)),
        ("fig4", "Fig. 4: the special-point interval [0.718, 0.816], the R_ll curve",
         lambda: reproduce_figure(load("fig4"), out_dir, solver=solver, formats=formats)),
        ("example1", "Example 1 / Section IV: R(D) = h(p) - h(D), (22), the translation (32)",
         lambda: paper_table.example1_section(load("example1"), out_dir, formats)),
        ("perception", "Section V: R(D, 0) against the Theorem 4 scheme and a closed form",
         lambda: paper_table.perception_section(load("ternary_perception"),
                                                load("binary_hamming"), out_dir, formats)),
    ]
    summary, started = {}, time.perf_counter()
    for number, (key, label, step) in enumerate(steps, start=1):
        if progress:
            progress(f"[{number}/{len(steps) + 1}] {label} ...")
        with warnings.catch_warnings():
            # An inaccurate solve is still certified; its status is in the output.
            warnings.simplefilter("ignore", InaccurateSolutionWarning)
            summary[key] = step()
    if progress:
        progress(f"[{len(steps) + 1}/{len(steps) + 1}] the table: paper against computed ...")
    summary["table"] = paper_table.write_table(summary, out_dir)
    summary["not_optimal"] = paper_table.not_optimal(summary)
    summary["provenance"] = {"versions": summary["table"]["provenance"]["versions"],
                             "problems": "shipped" if problems_dir is None
                             else str(problems_dir)}
    if progress:
        progress(f"done in {time.perf_counter() - started:.1f} s: {out_dir}")
    return summary


__all__ = ["PAPER_FIGURES", "FigureReport", "figure_numbers", "plot_figure", "problem_file",
           "reproduce_figure", "reproduce_paper"]
