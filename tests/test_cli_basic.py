"""The README's main command works on a shipped problem file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rdconvex.cli import main
from rdconvex.closed_forms import binary_hamming_rate

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def test_solve_binary_hamming_json(capsys):
    assert main(["solve", str(PROBLEMS / "binary_hamming.toml"), "--D", "0.1", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["rate"] == pytest.approx(binary_hamming_rate(0.3, 0.1), abs=1e-7)
    assert result["certificate"]["gap"] <= 1e-6


def test_bad_input_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('source = [0.5, 0.6]\n[distortion]\nkind = "hamming"\n')
    assert main(["solve", str(bad), "--D", "0.1"]) == 2
    assert "sums to" in capsys.readouterr().err
