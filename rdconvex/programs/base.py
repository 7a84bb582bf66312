"""`Program`: a :class:`cvxpy.Problem` that knows its names and prints as math."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np


@dataclass(frozen=True)
class Row:
    """One named constraint (or the objective) written as plain text and LaTeX."""

    name: str
    text: str
    latex: str


class Program(cp.Problem):
    """A cvxpy problem with named variables and constraints, readable as math.

    It *is* a :class:`cvxpy.Problem`, built but not solved (rdconvex solves it through a
    solver adapter, :mod:`rdconvex.solvers`). ``variables_by_name`` and
    ``constraints_by_name`` give the handles; ``str(program)`` prints the formulation as
    plain-text math and :meth:`latex` as LaTeX (a notebook shows it rendered);
    :meth:`read_point` turns the solved program into the problem's own values with the
    builder's ``reader``, a callable ``reader(program)`` returning the point (``None``
    when the solver left none).
    """

    def __init__(self, objective: cp.Minimize | cp.Maximize,
                 constraints: dict[str, cp.Constraint | None], *, title: str,
                 sense_text: str, sense_latex: str, objective_row: Row,
                 variables: dict[str, cp.Variable], variable_text: dict[str, str],
                 rows: list[Row], data: dict[str, object] | None = None,
                 parameters: dict[str, object] | None = None,
                 reader: Callable[[Program], Any]) -> None:
        super().__init__(objective, [c for c in constraints.values() if c is not None])
        self.title = title
        self.constraints_by_name = {k: c for k, c in constraints.items() if c is not None}
        self.variables_by_name = variables
        self._variable_text = variable_text
        self._sense = (sense_text, sense_latex)
        self._objective_row = objective_row
        self._rows = rows
        self.data = data or {}
        self.parameters_by_name = parameters or {}
        self._reader = reader

    def read_point(self) -> Any:
        """The solved program's point in the problem's own terms (like CVXPY's
        ``invert``): what the builder's reader makes of the variable and dual values,
        ``None`` when the solver left no usable point."""
        return self._reader(self)

    def __getitem__(self, name: str) -> cp.Constraint:
        return self.constraints_by_name[name]

    def text(self) -> str:
        """The formulation as plain-text math."""
        width = max([len(r.name) for r in self._rows] + [0]) + 2
        lines = [self.title, f"  {self._sense[0]:<10} {self._objective_row.text}"]
        if self._variable_text:
            lines.append("  over       " + ", ".join(
                f"{k} ({v})" for k, v in self._variable_text.items()))
        if self._rows:
            lines.append("  subject to")
            for row in self._rows:
                lines.append(f"    {('[' + row.name + ']'):<{width + 1}} {row.text}")
        for key, value in self.data.items():
            lines.append(f"  where {key} = {_fmt(value)}")
        return "\n".join(lines)

    def latex(self) -> str:
        """The formulation as a LaTeX ``aligned`` block."""
        lines = [r"\begin{aligned}",
                 (rf"&\{self._sense[1]}_{{{', '.join(self._variable_text)}}} "
                  rf"&& {self._objective_row.latex} \\")]
        if self._rows:
            lines.append(r"&\text{s.t.} && \\")
            for row in self._rows:
                lines.append(rf"& && {row.latex} && \text{{({row.name})}} \\")
        lines.append(r"\end{aligned}")
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        # Jupyter renders this (MathJax) in place of the plain-text repr.
        return f"$$\n{self.latex()}\n$$"

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Program {self.title.splitlines()[0]!r}: {len(self.constraints)} constraints>"


def _fmt(value: object) -> str:
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, suppress=True, threshold=40, edgeitems=3,
                             linewidth=100):
            text = np.array2string(value, separator=", ")
        return text.replace("\n", "\n" + " " * 12)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
