r"""Output screening for the conic path: solve on a small support, certify the rest.

Most outputs of a rate–distortion problem are unused at the optimum. Given a candidate
support ``S``, the conic program restricted to the columns ``S`` is solved; its slope
``s`` and output pmf ``q`` (zero off ``S``) define the Csiszár dual point of the *full*
problem. An excluded output ``y`` is certified unused when its Gallager constraint

.. math:: \sum_x p_x c_x e^{-s d(x,y)} \le 1, \qquad c_x = 1 / \sum_{y'} q_{y'} e^{-s d(x,y')}

holds; violated outputs join ``S`` and the program is solved again. The final answer is
certified on the full problem by :func:`rdconvex.certify.classical.certify`, so the shortcut never
weakens a certificate: a missed output only loosens the lower bound.
"""

from __future__ import annotations

import numpy as np

from ..numerics import gallager_log_sums
from ..solvers import get_solver

#: An excluded output joins the support when its Gallager sum exceeds 1 + this.
VIOLATION_TOL = 1e-9
#: Support threshold on an iterative estimate of the output pmf (relative to its max).
SUPPORT_THRESHOLD = 1e-7
#: Screening pays off from this many distortion entries on.
AUTO_SIZE = 2500
#: Conic solves before giving up on growing the support (the answer stays certified).
MAX_ROUNDS = 8


def violated_outputs(p, d, slope, q, support: np.ndarray, limit: int | None = None):
    """Excluded outputs whose Gallager constraint fails, most violated first."""
    sums = gallager_log_sums(p, d, slope, q)
    excluded = np.setdiff1d(np.arange(d.shape[1]), support)
    bad = excluded[sums[excluded] > np.log1p(VIOLATION_TOL)]
    bad = bad[np.argsort(-sums[bad])]
    return bad if limit is None else bad[:limit]


def initial_support(p: np.ndarray, d: np.ndarray, D: float | None, slope: float | None):
    """A support guess: the outputs a loose Blahut–Arimoto solve uses, with each row's
    best output (so the restriction is feasible). Returns ``(support, estimate)``, the
    estimate being Blahut–Arimoto's ``RawSolution``."""
    rows_best = np.argmin(d, axis=1)
    support = set(rows_best.tolist())
    support.add(int(np.argmin(p @ d)))
    raw = get_solver("ba").solve_rate_distortion(p, d, D=D, slope=slope, tol=1e-6,
                                                 max_iter=20_000)
    q = np.asarray(raw.output_pmf, dtype=float)
    support |= set(np.flatnonzero(q > SUPPORT_THRESHOLD * q.max()).tolist())
    return np.array(sorted(support)), raw
