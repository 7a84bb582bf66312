"""The shape of the package (docs/architecture.md), checked on its source.

Layers whose imports only point down, no import circle, no solver called outside
``rdconvex/solvers/``, and the size limits: no module over 500 lines, no function over
120, no class over 300. Read from the source with :mod:`ast`; nothing is imported.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rdconvex"

#: Layer of each top-level module or subpackage, bottom (0) to top. An import may point
#: to the same layer or below, never above.
LAYERS = {
    "errors": 0, "_validation": 0,
    "check": 0, "certificate_file": 0, "_version": 0, "_progress": 0, "_serialize": 1,
    "numerics": 1, "rigorous": 1, "results": 1, "plot": 1, "closed_forms": 1, "convolution": 1,
    "atoms": 2,
    "programs": 3,
    "iterative": 4,
    "solvers": 5,
    "certify": 6,
    "problems": 7,
    "section4": 8, "schemes": 8,
    "verification": 9,
    "io": 10, "io_grid": 10, "parallel": 10,
    "reproduce": 11, "paper_table": 11,
    "cli": 12, "cli_commands": 12, "cli_claims": 12,
    "__main__": 13, "__init__": 13,
}

MAX_MODULE, MAX_FUNCTION, MAX_CLASS = 500, 120, 300


def _modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts): path
            for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def _imports(module: str, path: Path) -> set[str]:
    """Every rdconvex module ``module`` imports, at top level or inside functions."""
    tree = ast.parse(path.read_text())
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("rdconvex")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("rdconvex"):
                continue
            modules = _modules()
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in modules or
                          f"{candidate}.__init__" in modules else target)
    return {name for name in found if name != module}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        key = name.removesuffix(".__init__")
        edges = set()
        for target in _imports(name, path):
            target = target.removesuffix(".__init__")
            if target in known or f"{target}.__init__" in known:
                edges.add(target)
        graph[key] = edges
    return graph


def test_every_module_has_a_layer():
    missing = sorted({m for m in _modules() if m.split(".")[1:2] and
                      m.split(".")[1] not in LAYERS})
    assert not missing, f"add these to LAYERS (and docs/architecture.md): {missing}"


def test_imports_point_down():
    upward = []
    for module, targets in _graph().items():
        for target in targets:
            # A package's face (__init__) hands its own modules' names on.
            if module.split(".")[:2] == target.split(".")[:2]:
                continue
            if _layer(target) > _layer(module):
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that point up: " + ", ".join(sorted(upward))


def test_no_import_circle():
    graph = _graph()
    # Tarjan's strongly connected components; a package face importing its own modules
    # is not a circle of the house, so __init__ edges into the package are dropped.
    edges = {m: {t for t in ts if not (t.startswith(m + ".") and m.count(".") >= 1)}
             for m, ts in graph.items()}
    index, low, stack, on, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


SOLVER_CALLS = re.compile(r"\blinprog\b|\bmilp\b|cp\.(CLARABEL|SCS|ECOS|MOSEK|HIGHS)\b|"
                          r"^\s*import (clarabel|scs|ecos|mosek|highspy)\b|"
                          r"\.solve\(\s*solver\s*=\s*cp\.", re.MULTILINE)


def test_no_solver_call_outside_solvers():
    offenders = [f"{name}: {match.group(0).strip()}"
                 for name, path in _modules().items() if ".solvers." not in name + "."
                 for match in SOLVER_CALLS.finditer(path.read_text())]
    assert not offenders, offenders


@pytest.mark.parametrize("module", sorted(_modules()))
def test_size_limits(module):
    path = _modules()[module]
    source = path.read_text()
    lines = source.count("\n")
    assert lines <= MAX_MODULE, f"{module} has {lines} lines (limit {MAX_MODULE})"
    for node in ast.walk(ast.parse(source)):
        size = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) + 1
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert size <= MAX_FUNCTION, f"{module}.{node.name}: {size} lines"
        elif isinstance(node, ast.ClassDef):
            assert size <= MAX_CLASS, f"{module}.{node.name}: {size} lines"


def test_the_checks_can_fail(tmp_path):
    """The import reader sees relative imports (else every check would pass vacuously)."""
    graph = _graph()
    assert "rdconvex.numerics" in graph["rdconvex.certify.classical"]
    assert "rdconvex.solvers" in graph["rdconvex.problems.classical"]
    assert SOLVER_CALLS.search("res = linprog(c)")
