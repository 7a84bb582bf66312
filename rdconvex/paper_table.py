r"""The paper's numbers against the computed ones (part of ``rdconvex reproduce``).

* :func:`example1_section` -- Example 1 of Section IV (``X ~ Ber(p)``, Hamming):
  ``R(D) = h(p) - h(D)`` (28), the single-parameter dual (22) and its maximiser
  ``lam* = log((1-D)/D)`` (26), the start ``log((1-p)/p)`` of ``I`` (25), and the
  translated curve (32) of the log-likelihood problem at ``lam0 = 2``.
* :func:`perception_section` -- Section V: ``R(D, 0)`` certified against the rate of the
  Theorem 4 scheme (34) (ternary Hamming, Lemma 1) and against the closed form of a
  binary source, ``2 h(p) - H(1-p-D/2, D/2, D/2, p-D/2)`` (docs/perception.md).
* :func:`write_table` -- every row, with Figures 3 and 4 (the numbers the captions
  print), as ``paper_table.md`` and ``paper_table.csv``.

Each row has the paper's value (``printed``: a number of a caption; otherwise the
paper's formula evaluated in float64), the computed value, its certified interval where
there is one, and whether they agree: a printed number agrees when the computed value
rounds to it at the printed digits; a formula agrees when its value lies in the
certified interval (or, without one, within ``CLOSE`` relative of the computed value),
up to ``CLOSE`` for the float64 evaluation of the formula.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import closed_forms as cf
from ._version import versions
from .io import csv_text, dumps, json_ready, spec_provenance, write_text

#: Slack (relative, at least absolute 1e-9) for a formula against a computed value.
CLOSE = 1e-9
#: The multiplier of the translation (32) (Example 1 continued), as in docs/section4.md.
LAM0 = 2.0


class SectionReport(dict):
    """A JSON-ready ``dict`` (rows, files, provenance) that prints as one line."""

    def __str__(self) -> str:
        return self.get("summary", "")


def printed_digits(value: float) -> int:
    """Digits after the decimal point of a printed number (``0.8113`` -> 4)."""
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def row(source: str, quantity: str, paper: float, computed: float, units: str, *,
        kind: str, lower=None, upper=None, criterion: str = "interval") -> dict:
    """One row of the table; ``criterion`` is ``"printed"`` (rounds to the printed
    digits), ``"interval"`` (the paper's value in the certified interval) or
    ``"close"`` (within :data:`CLOSE`)."""
    slack = CLOSE * max(1.0, abs(paper))
    if criterion == "printed":
        digits = printed_digits(paper)
        agrees = math.isclose(round(computed, digits), paper, abs_tol=1e-12)
    elif criterion == "interval":
        agrees = lower - slack <= paper <= upper + slack
    else:
        agrees = abs(computed - paper) <= slack
    return {"source": source, "quantity": quantity, "paper": paper, "paper_kind": kind,
            "computed": computed, "lower": lower, "upper": upper, "units": units,
            "criterion": criterion, "agrees": bool(agrees)}


def _status(label: str, result) -> dict:
    return {"where": label, "status": result.status.value, "gap": result.certificate.gap}


def _outward(ball) -> tuple[float, float]:
    """Floats around an arb ball, one ulp outside its ends."""
    return (math.nextafter(float(ball.lower()), -math.inf),
            math.nextafter(float(ball.upper()), math.inf))


def closed_form_enclosures(p_x, A, units: str) -> dict:
    """Proven enclosures (arb, 128 bits) of ``H(X)``, ``D_min`` (6) and ``D_max`` (7) of
    the log-likelihood problem the floats ``p_x`` (normalised exactly) and ``A`` define,
    in ``units``."""
    import flint
    from flint import arb

    with flint.ctx.workprec(128):
        p = [arb(v) for v in p_x]
        total = sum(p, arb(0))
        p = [v / total for v in p]
        scale = arb(1) if units == "nats" else 1 / arb(2).log()
        entropy = -sum((v * v.log() for v in p if v > 0), arb(0))
        rows = [[arb(a) for a in row] for row in A]
        d_min = sum((v * -max(r, key=float).log() for v, r in zip(p, rows) if v > 0), arb(0))
        columns = [sum((v * -r[u].log() for v, r in zip(p, rows) if v > 0), arb(0))
                   for u in range(len(rows[0])) if all(r[u] > 0 for v, r in zip(p, rows)
                                                       if v > 0)]
        d_max = columns[0]
        for column in columns[1:]:
            d_max = d_max.min(column)
        return {key: _outward(value * scale) for key, value in
                (("H(X)", entropy), ("D_min", d_min), ("D_max", d_max))}


def figure_rows(report: dict) -> list[dict]:
    """The rows of Figure 3 or 4 from its :class:`~rdconvex.reproduce.FigureReport`."""
    name, units, printed = report["name"], report["units"], report.get("paper_printed", {})
    source = f"Fig. {name[3:]}" if name.startswith("fig") else name
    special = report["special_points"]
    computed = {"H(X)": report["entropy"]["value"], "D_min": report["D_min"]["value"],
                "D_max": report["D_max"]["value"]}
    bounds = closed_form_enclosures(report["source"], report["p_x_given_u"], units)
    if special["exists"]:
        (D1, D2), (b1, b2) = special["interval"], special["bounds"]
        computed.update({"D*": D1, "D1": D1, "D2": D2, "U ~ Ber": special["P_U"][0][1]})
        bounds.update({"D*": b1, "D1": b1, "D2": b2})
    if "special interval" in printed:
        printed = {**printed, "D1": printed["special interval"][0],
                   "D2": printed["special interval"][1]}
    rows = []
    for key, shown in printed.items():
        if key in computed and not isinstance(shown, list):
            low, high = bounds.get(key, (None, None))
            rows.append(row(source, key, float(shown), float(computed[key]),
                            "" if key == "U ~ Ber" else units, kind="printed", lower=low,
                            upper=high, criterion="printed"))
    for point in report["rate_at_special_points"]:
        rows.append(row(source, f"R_ll(D) = H(X) - D at D = {point['D']:.10g} (Thm 1, Cor. 1)",
                        point["H(X) - D"], point["rate"], units, kind="formula",
                        lower=point["lower"], upper=point["upper"]))
    return rows


def _example1_rows(spec, solver):
    from .section4 import single_parameter_dual, translate, translation_interval

    problem, units = spec.problem, spec.problem.units
    p_x, d = problem.p_x, problem.d
    p = float(min(p_x))
    interval = translation_interval(p_x, d)
    rows = [row("Example 1", "start of I = log((1-p)/p) (25)", cf.example1_interval_start(p),
                float(interval.intervals[0][0]), "per unit of d", kind="formula",
                criterion="close")]
    statuses, translation = [], translate(p_x, d, LAM0, units=units)
    for D in spec.queries.get("D", [0.1]):
        result = problem.solve(D=D, solver=solver)
        statuses.append(_status(f"example1 R({D:g})", result))
        closed = cf.binary_hamming_rate(p, D, units=units)
        c = result.certificate
        rows.append(row("Example 1", f"R({D:g}) = h(p) - h(D) (28)", closed, result.rate, units,
                        kind="formula", lower=c.lower, upper=c.upper))
        dual = single_parameter_dual(p_x, d, D, units=units, interval=interval)
        rows.append(row("Example 1", f"(22) at D = {D:g}", closed, dual.rate, units,
                        kind="formula", criterion="close"))
        rows.append(row("Example 1", f"lam* = log((1-D)/D) at D = {D:g} (26)",
                        cf.example1_slope(D), dual.lam, "per unit of d", kind="formula",
                        criterion="close"))
        Dt = translation.to_loglik(D)
        image = translation.loglik.solve(D=Dt, solver=solver)
        statuses.append(_status(f"example1 R_ll({Dt:.6g})", image))
        rows.append(row("Example 1, (32)", f"R_ll({Dt:.6g}), lam0 = {LAM0:g}, D~ = lam0 D + "
                        "log(1 + e^-lam0) (31)",
                        cf.example1_translated_rate(p, LAM0, Dt, units=units), image.rate,
                        units, kind="formula", lower=image.certificate.lower,
                        upper=image.certificate.upper))
    return rows, statuses, translation


def example1_section(spec, out_dir, formats=("png", "pdf")) -> SectionReport:
    """Example 1 and the translation (32): rows, statuses and the figure
    ``example1.{png,pdf}`` (``R(D)`` against (28), ``R_ll`` against (32))."""
    problem, units = spec.problem, spec.problem.units
    solver = spec.queries.get("solver")
    rows, statuses, translation = _example1_rows(spec, solver)
    p = float(min(problem.p_x))
    curve = problem.curve(num=25, solver=solver)
    image = translation.loglik.curve(num=25, solver=solver)
    statuses += [_status(f"example1 curve D={r.D:.6g}", r) for r in (*curve.results,
                                                                       *image.results)]
    from .plot import axis_labels, pyplot, save_figure

    plt = pyplot(headless=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    grid = np.linspace(1e-6, p, 200)
    curve.plot(ax=left, label="certified $R(D)$", marker=".", ls="none")
    left.plot(grid, [cf.binary_hamming_rate(p, D, units=units) for D in grid], "-",
              color="tab:gray", lw=1, label="(28) $h(p) - h(D)$")
    axis_labels(left, "$R(D)$", units, "Hamming distortion: P(X != Y)")
    lo, hi = cf.example1_translated_range(p, LAM0, units=units)
    tilde = np.linspace(lo + 1e-9, hi, 200)
    image.plot(ax=right, label=r"certified $R_{\ell\ell}(\tilde D)$", marker=".", ls="none")
    right.plot(tilde, [cf.example1_translated_rate(p, LAM0, t, units=units) for t in tilde],
               "-", color="tab:gray", lw=1, label=f"(32), $\\lambda_0 = {LAM0:g}$")
    axis_labels(right, r"$R_{\ell\ell}(\tilde D)$", units, f"{units}, log-likelihood loss")
    for ax, title in ((left, f"Example 1: X ~ Ber({p:g}), Hamming"),
                      (right, "its translation (29)-(32)")):
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    figures = save_figure(fig, Path(out_dir) / "example1.png", formats, dpi=110)
    plt.close(fig)
    agree = sum(r["agrees"] for r in rows)
    return SectionReport(json_ready({
        "rows": rows, "statuses": statuses, "files": [str(f) for f in figures],
        "provenance": spec_provenance(spec, solver=solver),
        "summary": f"{agree} of {len(rows)} numbers agree with (25), (26), (28), (22) and "
                   f"(32); wrote {', '.join(str(f) for f in figures)}"}))


def _binary_perfect_perception(p: float, D: float) -> float:
    """``R(D, 0) = 2 h(p) - H(1-p-D/2, D/2, D/2, p-D/2)`` (nats), ``D <= 2p(1-p)``."""
    joint = np.array([1 - p - D / 2, D / 2, D / 2, p - D / 2])
    return float(2 * cf.binary_entropy(p) + np.sum(joint * np.log(joint)))


def perception_section(ternary, binary, out_dir, formats=("png", "pdf")) -> SectionReport:
    """``R(D, 0)`` against the Theorem 4 scheme (``ternary``, a perception problem file)
    and the binary closed form (``binary``, a classical Hamming file, whose problem is
    read as a perception problem); figure ``perception.{png,pdf}``."""
    from .problems.classical import RateDistortion
    from .problems.perception import RateDistortionPerception
    from .schemes import theorem4_scheme

    rdp, units = ternary.problem, ternary.problem.units
    rows, statuses, schemes = [], [], []
    for D in ternary.queries.get("D", [0.2]):
        built = theorem4_scheme(rdp.p_x, rdp.d, D, units=units)
        scheme = built.scheme
        check = rdp.solve(D=scheme.distortion, Gamma=0.0)
        statuses.append(_status(f"perception R({D:g}, 0)", check))
        schemes.append(scheme)
        rows.append(row("Section V", f"R({D:g}, 0) = rate of the Theorem 4 scheme (34)",
                        scheme.rate, check.rate, units, kind="Theorem 4 scheme",
                        lower=check.certificate.lower, upper=check.certificate.upper))
    p = float(binary.problem.p_x[1])
    binary_rdp = RateDistortionPerception(binary.problem.p_x, binary.problem.d, units="nats")
    for D in binary.queries.get("D", [0.1]):
        if D <= 2 * p * (1 - p):
            result = binary_rdp.solve(D=D, Gamma=0.0)
            statuses.append(_status(f"binary R({D:g}, 0)", result))
            rows.append(row("Section V", f"R({D:g}, 0), X ~ Ber({p:g}), Hamming (binary "
                            "coupling)", _binary_perfect_perception(p, D), result.rate, "nats",
                            kind="formula", lower=result.certificate.lower,
                            upper=result.certificate.upper))
    classical = RateDistortion(rdp.p_x, rdp.d, units=units).curve(num=20)
    perfect = rdp.curve(num=20, Gamma=0.0)
    statuses += [_status(f"perception curve D={r.D:.6g}", r)
                 for r in (*classical.results, *perfect.results)]
    from .plot import axis_labels, pyplot, save_figure

    plt = pyplot(headless=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    classical.plot(ax=ax, label="$R(D)$")
    perfect.plot(ax=ax, label=r"$R(D, \Gamma = 0)$")
    ax.plot([s.distortion for s in schemes], [s.rate for s in schemes], "ko", mfc="none",
            label="Theorem 4 scheme (34)")
    axis_labels(ax, r"$R(D)$, $R(D, \Gamma=0)$", units, "Hamming distortion: P(X != Y)")
    ax.set_title(f"{ternary.name}: perfect perception costs rate", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    figures = save_figure(fig, Path(out_dir) / "perception.png", formats, dpi=110)
    plt.close(fig)
    agree = sum(r["agrees"] for r in rows)
    return SectionReport(json_ready({
        "rows": rows, "statuses": statuses, "files": [str(f) for f in figures],
        "provenance": spec_provenance(ternary, Gamma=0.0),
        "summary": f"{agree} of {len(rows)} R(D, 0) values agree with the Theorem 4 scheme "
                   f"and the binary closed form; wrote {', '.join(str(f) for f in figures)}"}))


def _cell(value) -> str:
    return "" if value is None else f"{value:.10g}"


def markdown(rows: list[dict], record: dict) -> str:
    """The table as Markdown, with a line of provenance."""
    about = ("Yadav, Song, Shkel, Ozgur, *Log-Likelihood Loss for Semantic Compression* "
             "(arXiv 2601.16461). \"printed\": a number of the paper; \"formula\": the "
             "paper's formula evaluated in float64. A printed number agrees when the computed "
             "value rounds to it at the printed digits; a formula when its value lies in the "
             "certified interval.")
    made = (f"Computed by rdconvex {record['versions']['rdconvex']} (provenance: the first "
            "line of paper_table.csv).")
    lines = ["# The paper's numbers against the computed ones", "", about, "", made, "",
             "| source | quantity | paper | computed | certified interval | units | agrees |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        interval = ("" if r["lower"] is None
                    else f"[{_cell(r['lower'])}, {_cell(r['upper'])}]")
        lines.append(f"| {r['source']} | {r['quantity']} | {_cell(r['paper'])} "
                     f"({r['paper_kind']}) | {_cell(r['computed'])} | {interval} | "
                     f"{r['units']} | {'yes' if r['agrees'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def write_table(summary: dict, out_dir) -> SectionReport:
    """``paper_table.md`` and ``paper_table.csv`` (``# provenance:`` line first) from the
    reports of :func:`rdconvex.reproduce.reproduce_paper`."""
    rows = [*figure_rows(summary["fig3"]), *figure_rows(summary["fig4"]),
            *summary["example1"]["rows"], *summary["perception"]["rows"]]
    problems = {report["provenance"]["problem"]["name"]: report["provenance"]["problem"]
                for report in summary.values() if "provenance" in report}
    record = {"versions": versions(), "command": "rdconvex reproduce", "problems": problems}
    out = Path(out_dir)
    columns = {key: [r[key] for r in rows] for key in rows[0]}
    columns = {key: ["" if v is None else v for v in values] for key, values in columns.items()}
    md = write_text(out / "paper_table.md", markdown(rows, record))
    table = write_text(out / "paper_table.csv", csv_text(columns, record))
    write_text(out / "paper_table.json", dumps({"provenance": record, "rows": rows}) + "\n")
    agree = sum(r["agrees"] for r in rows)
    differ = [f"{r['source']} {r['quantity']}" for r in rows if not r["agrees"]]
    return SectionReport(json_ready({
        "rows": rows, "files": [str(md), str(table)], "provenance": record,
        "summary": f"{agree} of {len(rows)} numbers agree"
                   + (f" (differ: {'; '.join(differ)})" if differ else "")
                   + f"; wrote {md}, {table}"}))


def not_optimal(summary: dict) -> list[str]:
    """Every point of the reproduction whose certified gap did not meet the tolerance."""
    found = []
    for key in ("fig3", "fig4"):
        curve = summary[key]["curve"]
        found += [f"{key} D={D:.6g}: {status}" for D, status in zip(curve["D"], curve["status"])
                  if status != "optimal"]
    for key in ("example1", "perception"):
        found += [f"{s['where']}: {s['status']} (gap {s['gap']:.1e})"
                  for s in summary[key]["statuses"] if s["status"] != "optimal"]
    return found
