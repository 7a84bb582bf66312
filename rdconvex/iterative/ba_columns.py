r"""Blahut–Arimoto on large dense problems by column generation.

The optimal output pmf of a rate–distortion problem is sparse: at ``n = m = 10^4`` with
random distortions a few hundred outputs carry all the mass. So the sweeps, the Newton
steps and the slope search all run on a *working set* ``S`` of outputs (an ``n x |S|``
copy of the distortion), and the full ``n x m`` matrix is touched only by one pass over
row blocks per round: Gallager's check

.. math::
    c_y(q) = \sum_x \frac{p_x e^{-s d(x,y)}}{\sum_{y' \in S} q_{y'} e^{-s d(x,y')}}
    \qquad (\text{every } y),

at the restricted optimum ``q`` (zero off ``S``). If no output outside ``S`` violates
:math:`c_y \le 1`, Csiszár's bound at ``(s, q)`` holds on the full problem as it does on
``S`` and the restricted channel (zero off ``S``) is feasible there with the same rate:
the restricted answer *is* the full answer, with the same certified gap. Otherwise the
most violated outputs join ``S`` and the slope is solved again, warm. This is the
classical column-generation (working-set) scheme for linear programs applied to the
Gallager dual; every pass is float64, O(block) temporary memory.

:class:`WorkingSetSolver` has the interface of
:class:`~rdconvex.iterative.ba_slope.SlopeSolver`, so the slope search of
:mod:`rdconvex.iterative.ba` runs on it unchanged; the working set only grows, so the
channels of all solved slopes live on the current one. The first working set comes from
two Blahut–Arimoto sweeps on the full problem (one pass each) at the first slope.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..atoms import channel_mutual_information, expected_distortion
from ..numerics import BLOCK_ENTRIES, block_kernel, gallager_pass, row_blocks
from .ba_slope import VIOLATION, Budget, Kernel, SlopePoint, SlopeSolver

#: Problems with more distortion entries than this are solved on working sets.
LARGE = 1 << 23
#: Outputs taken into the first working set.
FIRST_SET = 256
#: Sweeps on the full problem that pick the first working set.
FIRST_SWEEPS = 2
#: Working-set rounds per slope before giving up (the answer stays certified).
MAX_ROUNDS = 30


class SetKernel:
    """The kernel of one slope on a working set ``S`` (``n x |S|``, formed when first
    needed: the first working set is picked at the first solve)."""

    def __init__(self, d: np.ndarray, slope: float, S: np.ndarray):
        self.d, self.slope, self.S = d, float(slope), S
        self._restricted = None

    @property
    def restricted(self) -> Kernel:
        if self._restricted is None:
            self._restricted = Kernel(self.d[:, self.S], self.slope)
        return self._restricted


class WorkingSetSolver:
    """Minimises ``f_s`` at any slope of a large ``n x m`` problem on a growing working
    set of outputs (a :class:`SlopeSolver` on ``d[:, S]``), each slope closed by one
    blockwise full check. Output pmfs are full length; channels live on ``S``
    (:meth:`full_channel` expands one)."""

    def __init__(self, p: np.ndarray, d: np.ndarray, budget: Budget, options: dict):
        self.p, self.d, self.budget, self.options = p, d, budget, options
        self.n, self.m = d.shape
        self.row_min = d.min(axis=1)
        self.D_min = float(p @ self.row_min)
        self.S = np.zeros(0, dtype=int)
        self._solver = None
        self.rounds = 0
        #: Gallager's c of every solved slope's returned q (the full passes are the cost).
        self._checked: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------ full passes
    def _sweeps(self, slope: float, sweeps: int) -> np.ndarray:
        """``sweeps`` Blahut–Arimoto steps on the full problem from the uniform pmf, one
        pass over row blocks each (the kernel block serves both ``Z`` and ``c``)."""
        p, d, n, m = self.p, self.d, self.n, self.m
        q = np.full(m, 1.0 / m)
        buffer = np.empty((min(n, max(1, BLOCK_ENTRIES // m)), m))
        for _ in range(sweeps):
            c = np.zeros(m)
            for rows in row_blocks(n, m):
                K = block_kernel(d[rows], self.row_min[rows], slope, buffer)
                Z = K @ q
                with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                    c += np.nan_to_num(p[rows] / Z) @ K
            self.budget.tick()
            q = q * c
            q /= q.sum()
        return q

    def check(self, kernel: Kernel, q_S: np.ndarray) -> np.ndarray:
        """Gallager's ``c_y`` for every output at ``q`` (on the current ``S``): one full
        pass, with the restricted rows' shift so that ``Z`` never underflows."""
        Z = kernel.K @ q_S
        self.budget.tick()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return gallager_pass(self.p, self.d, kernel.row_min, kernel.slope, Z)

    # ------------------------------------------------------------ working sets
    def _start(self, slope: float, q0) -> None:
        """The first working set: the heaviest outputs of a warm start (its support, at
        most ``4 FIRST_SET``), else those after :data:`FIRST_SWEEPS` full sweeps."""
        if q0 is not None and np.any(q0 > 0):
            q, k = q0, min(int(np.count_nonzero(q0 > 0)), 4 * FIRST_SET)
        else:
            q, k = self._sweeps(slope, FIRST_SWEEPS), min(self.m, FIRST_SET)
        # (a warm start's support, capped: a full-support pmf must not copy all of d)
        S = np.argpartition(-q, k - 1)[:k] if k < self.m else np.arange(self.m)
        self._set(np.union1d(S, self._uncovered(S)))

    def _uncovered(self, S: np.ndarray) -> np.ndarray:
        """The best outputs of rows with no allowed output in ``S``."""
        missing = ~np.isfinite(self.d[:, S].min(axis=1)) if S.size else np.ones(self.n, bool)
        return self.d[missing].argmin(axis=1) if missing.any() else np.zeros(0, int)

    def _set(self, S: np.ndarray) -> None:
        self.S = S
        self._solver = SlopeSolver(self.p, self.d[:, S], self.budget, self.options)

    def _grow(self, c: np.ndarray) -> int:
        """Add the most violated outsiders to ``S``; how many were added."""
        outside = np.ones(self.m, dtype=bool)
        outside[self.S] = False
        violated = np.flatnonzero(outside & (c > 1.0 + VIOLATION))
        if violated.size:
            violated = violated[np.argsort(-c[violated])][:max(64, self.S.size)]
            self._set(np.union1d(self.S, violated))
        return violated.size

    # ------------------------------------------- the SlopeSolver interface
    def kernel(self, slope: float) -> SetKernel:
        return SetKernel(self.d, slope, self.S)

    def solve_slope(self, kernel: SetKernel, q0=None, working=None, *, tol: float,
                    derivative=False) -> SlopePoint:
        """:meth:`SlopeSolver.solve_slope` on the working set, grown until no output
        outside it violates Gallager's condition (or the rounds run out)."""
        q = None if q0 is None else np.asarray(q0, dtype=float)
        if not self.S.size:
            self._start(kernel.slope, q)
        for _ in range(MAX_ROUNDS):
            self.rounds += 1
            if kernel.S is not self.S:
                kernel = SetKernel(self.d, kernel.slope, self.S)
            q_S = None if q is None or not np.any(q[self.S] > 0) else q[self.S]
            point = self._solver.solve_slope(kernel.restricted, q_S, tol=tol,
                                             derivative=derivative)
            c = self.check(kernel.restricted, point.q)
            q = np.zeros(self.m)
            q[self.S] = point.q
            if self.budget.exhausted or not self._grow(c):
                break
        self._checked[kernel.slope] = (q, c)  # for gap() at the returned point
        log_M = math.log(float(np.max(c))) if np.max(c) > 0 else math.inf
        return replace(point, q=q, support=kernel.S[point.support], kernel=kernel,
                       log_M=max(point.log_M, log_M) if math.isfinite(log_M) else math.inf,
                       converged=point.converged and log_M <= tol)

    def at_D_min(self, tol: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """:meth:`SlopeSolver.at_D_min` on the outputs that are some row's argmin (the
        others carry no mass at ``D_min``); the working set becomes those outputs."""
        used = np.zeros(self.m, dtype=bool)
        for rows in row_blocks(self.n, self.m):
            used |= np.any(self.d[rows] <= self.row_min[rows, None], axis=0)
        S = np.flatnonzero(used)
        tied = np.where(self.d[:, S] <= self.row_min[:, None], 0.0, np.inf)
        kind = WorkingSetSolver if tied.size > LARGE else SlopeSolver
        inner = kind(self.p, tied, self.budget, self.options)
        kernel = inner.kernel(0.0)
        point = inner.solve_slope(kernel, tol=tol)
        channel = inner.full_channel(inner.channel(kernel, point.q))
        self.S, self._solver = S, None
        q = np.zeros(self.m)
        q[S] = point.q
        return channel, q, point.converged

    def channel(self, kernel: SetKernel, q: np.ndarray) -> np.ndarray:
        """The Blahut–Arimoto channel of ``q`` at the kernel's slope, on the current
        ``S`` (``n x |S|``; :meth:`full_channel` expands it)."""
        restricted = SetKernel(self.d, kernel.slope, self.S).restricted
        return self._solver.channel(restricted, q[self.S])

    def full_channel(self, channel: np.ndarray) -> np.ndarray:
        """A channel on ``S`` as the ``n x m`` array (zero off ``S``), filled row block by
        row block."""
        if channel.shape[1] == self.m:  # already on every output (e.g. D >= D_max)
            return channel
        full = np.zeros((self.n, self.m))
        for rows in row_blocks(self.n, self.m):
            full[rows][:, self.S] = channel[rows]  # (10x faster than full[rows, S] = ...)
        return full

    def describe_search(self) -> str:
        return f"working set {self.S.size} of {self.m} outputs after {self.rounds} rounds"

    def describe(self, point: SlopePoint) -> str:
        return (f"support {point.support.size} of {self.m} outputs; working set "
                f"{self.S.size} after {self.rounds} rounds")

    def gap(self, D: float | None, channel: np.ndarray, slope: float, q) -> float:
        """The float64 certified-gap estimate on the full problem: the channel's rate
        (on ``S``) minus Csiszár's bound at ``(s, q)`` with ``max c`` over every output;
        ``D`` None: at the channel's own distortion."""
        p, d_S = self.p, self.d[:, self.S]
        upper = channel_mutual_information(p, channel)
        if upper <= 0.0:
            return 0.0
        D = expected_distortion(p, channel, d_S) if D is None else D
        kernel = Kernel(d_S, slope)
        if kernel.K is None:
            return math.inf
        q_S = np.asarray(q, dtype=float)[self.S]
        Z = kernel.K @ q_S
        done = self._checked.get(float(slope))
        # c_y does not depend on the rows' shift: a check of this very q is reused.
        c = done[1] if done is not None and np.array_equal(done[0], q) else \
            self.check(kernel, q_S)
        top = float(np.max(c))
        if not (top > 0 and math.isfinite(top) and np.all(Z > 0)):
            return math.inf
        lower = float(-(p @ np.log(Z)) - math.log(top) + slope * (p @ kernel.row_min - D))
        return upper - max(lower, 0.0)
