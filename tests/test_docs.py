"""Every code example in README.md and docs/*.md runs as written.

```python blocks of one file run in order in one namespace; lines of ```bash blocks
that call ``rdconvex`` run through the CLI's ``main`` and must exit 0 (``pip install``
prefixes are dropped; the README's own test command is not re-entered). Each file runs
in a fresh folder that links ``problems/`` and ``docs/``, so outputs land there.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import matplotlib
import pytest

from rdconvex.cli import main

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)


def blocks(path: Path):
    return [(lang, body) for lang, body in FENCE.findall(path.read_text(encoding="utf-8"))]


def shell_commands(body: str):
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for part in line.split("&&"):
            words = shlex.split(part.strip())
            if words and words[0] == "rdconvex":
                yield words[1:]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_examples_run(path, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    for name in ("problems", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    for lang, body in blocks(path):
        if lang == "python":
            exec(compile(body, f"{path.name}:python", "exec"), namespace)
            ran += 1
        elif lang in ("bash", "console", "sh"):
            for argv in shell_commands(body):
                assert main(argv) == 0, f"{path.name}: rdconvex {' '.join(argv)}"
                ran += 1
    if path.name != "README.md":
        assert ran > 0 or not blocks(path), f"{path.name} has code blocks but none ran"


def test_readme_has_exactly_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = [body.strip() for lang, body in FENCE.findall(setup) if lang == "bash"]
    assert len(commands) == 2
    assert commands[1] == 'pip install ".[test]" && python -m pytest -q'
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci and '".[test]"' in ci
