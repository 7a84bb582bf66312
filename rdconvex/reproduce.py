r"""Reproduce the paper's Figures 3 and 4 by computation, with certificates.

For a log-likelihood problem file (``[loglik]`` table) :func:`reproduce_figure`
computes every number of the figure's caption -- ``H(X)``, ``D_min`` (6), ``D_max``
(7), ``R_ll(D_min)`` by program (8), the special operating points ``[D1, D2]`` with
the consistent ``P_U`` (Theorem 1-(iii), Corollary 1) -- and the curve ``R_ll(D)`` on
a grid of ``[D_min, D_max]``, each point a certified :class:`~rdconvex.Result`. It
draws ``R_ll`` against the log-loss line ``R_l(D) = H(X) - D`` (9)–(10) with the
special points marked, and writes ``<name>.png`` and ``<name>.json``.

Nothing here reads the ``[reference]`` table of a problem file: the paper's printed
numbers are provenance notes only (see ``docs/loglik.md`` for the comparison).

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

import json
import math
import warnings
from pathlib import Path

import numpy as np

from .errors import InaccurateSolutionWarning, InvalidArgumentError
from .io import ProblemSpec, load_problem
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


def _json_ready(value):
    """Floats, arrays, tuples and nested dicts as JSON (inf as the string "inf")."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return _json_ready(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    return value


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
    curve = {key: [p[key] for p in points] for key in ("D", "rate", "lower", "upper", "slope")}
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


def plot_figure(problem: LogLikelihood, numbers: dict, path, title: str | None = None):
    """Draw ``R_ll`` (certified points) against ``R_l`` with the special points marked.

    Writes a PNG (or any format matplotlib infers from ``path``) with the Agg backend.
    """
    from .plot import pyplot

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
    ax.set_xlabel(f"D ({units})")
    ax.set_ylabel(f"rate ({units})")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.95)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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
                     num: int | None = None) -> FigureReport:
    """Compute a figure's numbers (certified), draw it, and write PNG + JSON.

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
    out.mkdir(parents=True, exist_ok=True)
    figure = plot_figure(spec.problem, numbers, out / f"{spec.name}.png", title=_title(spec))
    report = FigureReport(name=spec.name, description=spec.description,
                          problem_file=str(spec.path), source=spec.problem.p_x,
                          p_x_given_u=spec.problem.p_x_given_u, **numbers,
                          files={"figure": str(figure), "numbers": str(out / f"{spec.name}.json")})
    report = FigureReport(_json_ready(report))
    with open(out / f"{spec.name}.json", "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    return report


def reproduce_paper(out_dir="out", problems_dir="problems", *,
                    solver: str | None = None) -> dict:
    """Reproduce Figures 3 and 4: ``{"fig3": FigureReport, "fig4": FigureReport}``.

    Reads ``problems_dir/fig3.toml`` and ``fig4.toml`` and writes ``fig3.png``,
    ``fig3.json``, ``fig4.png``, ``fig4.json`` into ``out_dir``.
    """
    problems = Path(problems_dir)
    return {name: reproduce_figure(problems / f"{name}.toml", out_dir, solver=solver)
            for name in PAPER_FIGURES}


__all__ = ["reproduce_paper", "reproduce_figure", "figure_numbers", "plot_figure",
           "FigureReport", "PAPER_FIGURES"]
