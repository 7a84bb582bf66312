"""The documentation site (mkdocs.yml) builds with every warning an error.

Needs the ``docs`` extra (MkDocs Material, mkdocstrings); skipped without it, so
``.ci/run`` (the ``test`` extra only) stays fast. ``.ci/docs`` installs the extra and
builds the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_docs_page_is_in_the_nav():
    """A page left out of the nav is a warning, and an orphan for readers."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from pages(value)
        elif isinstance(node, list):
            for item in node:
                yield from pages(item)

    listed = set(pages(config["nav"]))
    present = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert present - listed == set(), "add these pages to the nav of mkdocs.yml"
    assert listed - present == set(), "the nav of mkdocs.yml names missing pages"


def test_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
         str(tmp_path / "site")],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    api = tmp_path / "site" / "api" / "results" / "index.html"
    assert "rdconvex.results.Result.to_json" in api.read_text(encoding="utf-8")
