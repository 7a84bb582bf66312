"""Program (33) and the dual of R(D, 0): built, solved through the registry, read back.

Reference: X ~ Ber(0.3), Hamming, Gamma = 0: the joint is fixed by P(X != Y) = D, so
R(D, 0) = 2 h(0.3) - H([[0.7 - D/2, D/2], [D/2, 0.3 - D/2]]).
"""

from __future__ import annotations

import numpy as np
import pytest

from rdconvex.programs import perception as programs
from rdconvex.solvers import get_solver

P = np.array([0.7, 0.3])
HAMMING = 1.0 - np.eye(2)


def _truth(D):
    joint = np.array([0.7 - D / 2, D / 2, D / 2, 0.3 - D / 2])
    h = -(P * np.log(P)).sum()
    return 2 * h + float((joint * np.log(joint)).sum())


def test_dual_of_perfect_perception_reads_a_dual_point():
    prog = programs.perfect_perception_dual(P, P, HAMMING, 0.1)
    info = get_solver(None, task="program").solve(prog)
    point = prog.read_point()
    assert info.status.has_point and point.slope >= 0 and point.potentials.shape == (2,)
    assert prog.value == pytest.approx(_truth(0.1), abs=1e-6)


@pytest.mark.parametrize("divergence", ["tv", "kl"])
def test_primal_at_gamma_zero_reads_the_joint(divergence):
    prog = programs.primal(P, P, HAMMING, 0.1, 0.0, divergence)
    get_solver(None, task="perception").solve(prog)
    point = prog.read_point()
    assert np.allclose(point.output_pmf, P, atol=1e-6)
    assert prog.value == pytest.approx(_truth(0.1), abs=1e-6)
