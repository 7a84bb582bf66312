"""Program (2) and its dual: printed as math, exactly as solved, read back by read_point."""

from __future__ import annotations

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.programs import classical


def test_the_printed_program_is_the_solved_one():
    prob = rdc.RateDistortion([0.7, 0.3], 5.0 * (1 - np.eye(2)))
    text = str(prob.program(D=0.5))
    assert "scale = 5" in text and "(D = 0.1)" in text  # d / 5 and D / 5, shown
    unscaled = str(rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).program(D=0.1))
    assert "scale" not in unscaled


@pytest.mark.parametrize("builder", ["primal", "dual"])
def test_read_point_undoes_the_scaling(builder):
    p, d = np.array([0.7, 0.3]), 4.0 * (1 - np.eye(2))
    scale = classical.conditioning_scale(d)
    prog = getattr(classical, builder)(p, d, 0.4, scale=scale)
    prog.solve(solver="CLARABEL")  # a test may drive cvxpy directly
    point = prog.read_point()
    assert point.slope == pytest.approx(np.log(9) / 4.0, rel=1e-3)
    assert np.allclose(point.channel.sum(axis=1), 1.0, atol=1e-7)
    assert np.allclose(point.output_pmf, [0.75, 0.25], atol=1e-4)


def test_unsolved_program_reads_no_point():
    prog = classical.primal(np.array([0.5, 0.5]), 1 - np.eye(2), D=0.1)
    assert prog.read_point() is None


def test_conditioning_scale():
    assert classical.conditioning_scale(np.array([[0.0, np.inf], [2.0, 0.0]])) == 2.0
    assert classical.conditioning_scale(np.zeros((2, 2))) == 1.0
