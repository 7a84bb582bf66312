r"""Blahut–Arimoto at one fixed slope: shifted kernel, accelerated sweeps, certified
screening of outputs, and a second-order finish on the support.

At slope :math:`s \ge 0` the solver minimises over output pmfs :math:`q`

.. math::
    f_s(q) = -\sum_x p_x \log \sum_y q_y e^{-s\,d(x,y)}, \qquad
    c_y(q) = \sum_x \frac{p_x e^{-s d(x,y)}}{\sum_{y'} q_{y'} e^{-s d(x,y')}},

optimal exactly when :math:`c_y \le 1` for every output, with equality on the support
(Gallager's conditions [3]_), and stops when :math:`\log\max_y c_y(q) \le` ``tol``
(an upper bound on :math:`f_s(q) - \min f_s` by Csiszár's dual [2]_).

1. **Kernel in linear space, rows shifted.** :math:`K_{xy} = e^{-s(d(x,y) - \min_y d(x,y))}`
   has row maximum 1, so no row underflows at any slope (``1e4`` is fine); ``+inf``
   distortions give exact zeros; entries below ``1e-300`` are flushed (subnormals slow
   BLAS and cannot move a sum).
2. **Accelerated sweeps** (SQUAREM [4]_) of the Blahut–Arimoto map
   :math:`q \leftarrow q \circ c(q)` [1]_ from a cold start, until the outputs still in
   play are few.
3. **Certified screening.** With :math:`\varepsilon = \log\max_y c_y(q) \ge f_s(q) - \min f_s`,
   :math:`u_{xy} = K_{xy}/(Kq)_x`, every optimum :math:`q^*` satisfies

   .. math::
       c_y(q^*) \le c_y(q) + \sqrt{2\varepsilon \textstyle\sum_x p_x u_{xy}^2}
                  + \varepsilon \max_x u_{xy},

   (from :math:`\sum_x p_x \phi(Z_x/Z^*_x) \le \varepsilon` with
   :math:`\phi(r) = r - 1 - \log r` and weak duality for the resulting 1-D bound), so
   an output whose right-hand side is below 1 is outside every optimal support and is
   dropped. Outputs whose Gallager constraint is violated (:math:`c_y > 1`) are
   re-admitted: a dropped or underflowed output is an explicit zero, never lost.
4. **Second-order finish on the support** (:mod:`rdconvex.iterative.ba_newton`):
   projected Newton on a working set; the full problem is checked after each round and
   violated outputs join the working set (column generation).

References
----------
.. [1] R. Blahut, "Computation of channel capacity and rate-distortion functions",
   IEEE Trans. IT 18(4), 1972; S. Arimoto, IEEE Trans. IT 18(1), 1972.
.. [2] I. Csiszár, "On the computation of rate-distortion functions", IEEE Trans. IT
   20(1), 1974.
.. [3] R. G. Gallager, *Information Theory and Reliable Communication*, Wiley 1968,
   Thm 9.4.1.
.. [4] R. Varadhan and C. Roland, "Simple and globally convergent methods for
   accelerating the convergence of any EM algorithm", Scand. J. Stat. 35(2), 2008.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..atoms import channel_mutual_information, expected_distortion
from ..numerics import (
    BLOCK_ENTRIES,
    FLUSH,
    UNDERFLOW,
    dual_value,
    finite_part,
    polished_log_max,
    row_minima,
    shifted_kernel,
)
from .ba_newton import NEWTON_BUDGET, distortion_derivative, projected_newton

#: After the sweeps, outputs with q_y >= IN_PLAY * max q form the working set.
IN_PLAY = 1e-4
#: Accelerated sweeps before the working set is read off the output pmf.
MIN_SWEEPS = 20
#: An excluded output is re-admitted when c_y > 1 + this.
VIOLATION = 1e-13
#: Newton rounds in a row that do not halve the gap bound before the sweeps take over.
STALL_ROUNDS = 3
#: Newton steps per round (a working-set round).
NEWTON_STEPS = 40


@dataclass(frozen=True)
class BAProgress:
    """What a ``callback`` receives after each full-problem check.

    Attributes
    ----------
    iteration : int
        Passes over the kernel so far.
    slope : float
        Current slope (nats per unit of distortion).
    gap : float
        Certified gap bound ``log max_y c_y`` at this slope (nats).
    support : int
        Outputs with positive weight.
    alive : int
        Outputs not yet certified unused.
    """

    iteration: int
    slope: float
    gap: float
    support: int
    alive: int


class Budget:
    """Counts passes over the kernel, calls the callback, knows when to stop."""

    def __init__(self, max_iter: int, callback):
        self.max_iter = int(max_iter)
        self.used = 0
        self.callback = callback
        self.stopped = False

    def tick(self, count: int = 1) -> None:
        self.used += count

    @property
    def exhausted(self) -> bool:
        return self.stopped or self.used >= self.max_iter

    def report(self, progress: BAProgress) -> None:
        if self.callback is None:
            return
        try:
            self.callback(progress)
        except StopIteration:
            self.stopped = True


class Kernel:
    """``K = exp(-s (d - min_y d))`` per row (row max 1, flushed) and its row shift
    ``-s min_y d`` (:func:`rdconvex.numerics.shifted_kernel`)."""

    def __init__(self, d: np.ndarray, slope: float):
        self.slope = float(slope)
        self.K, self.shift, self.row_min = shifted_kernel(d, self.slope)
        self.best = np.argmax(self.K, axis=1)


@dataclass
class SlopePoint:
    """A solved slope: output pmf, certified gap bound and what the slope search needs."""

    slope: float
    q: np.ndarray
    log_M: float
    objective: float      # f_s(q) + s D_min = -sum_x p_x log Z_x (shifted kernel)
    D_min: float
    distortion: float     # of the Blahut–Arimoto channel of q
    rate: float           # its mutual information (I = f - sD - KL(q c || q))
    derivative: float     # dD/ds on the support (nan when not computed)
    support: np.ndarray
    converged: bool
    alive: int
    kernel: Kernel

    def lower(self, D: float) -> float:
        """Csiszár's lower bound on ``R(D)`` from this point (linear-space estimate)."""
        return self.objective - self.log_M - self.slope * (D - self.D_min)


def _objective(p, Z) -> float:
    with np.errstate(divide="ignore"):
        return float(-(p @ np.log(Z)))


def gallager(K, p, q):
    """``Z = K q`` and ``c = K^T (p / Z)``."""
    Z = K @ q
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = K.T @ (p / Z)
    return Z, c


def _safe_log_max(c) -> float:
    top = float(np.max(c))
    return math.log(top) if top > 0 and math.isfinite(top) else math.inf


def screen(K, p, Z, c, log_M) -> np.ndarray:
    """Outputs certified outside every optimal support (see the module docstring)."""
    eps = max(log_M, 0.0)
    if not math.isfinite(eps) or not np.all(Z > UNDERFLOW):
        # (the flushed kernel entries, < 1e-300, then move no sum beyond 1e-100)
        return np.zeros(K.shape[1], dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        # A tiny Z_x (an output pmf far from this row's outputs) may overflow the
        # bound to inf/nan: such outputs are simply not screened.
        U = K * (1.0 / Z)[:, None]
        second = (U * U).T @ p
        largest = U.max(axis=0)
        bound = c + np.sqrt(2.0 * eps * second) + eps * largest
    # Float rounding in c is ~1e-15 relative: keep a margin well above it.
    return bound < 1.0 - 1e-10


class SlopeSolver:
    """Minimises ``f_s`` at any slope on one reduced problem (``p > 0``).

    ``options`` are the validated ``solver_options`` (``screening``, ``newton``,
    ``acceleration``); ``budget`` is shared by every slope solved.
    """

    def __init__(self, p: np.ndarray, d: np.ndarray, budget: Budget, options: dict):
        self.p = p
        # Output weights below this are flushed to 0 (subnormals slow BLAS) — never
        # near the source's own smallest probability, whose outputs it may need.
        self.flush = min(FLUSH, float(p.min()) * 1e-6)
        self.d = d
        self.n, self.m = d.shape
        self.budget = budget
        self.screening = bool(options.get("screening", True))
        self.newton = bool(options.get("newton", True))
        self.acceleration = options.get("acceleration", "squarem")
        self.d_finite = finite_part(d)
        self.row_min = row_minima(d)
        self.D_min = float(p @ self.row_min)

    def solve_slope(self, kernel: Kernel, q0=None, working=None, *, tol: float,
                    derivative=False) -> SlopePoint:
        """Minimise ``f_s`` to a certified gap ``<= tol`` (as far as the budget allows)."""
        K, p, m = kernel.K, self.p, self.m
        if q0 is None:
            q = (K.sum(axis=0) > 0).astype(float)
        else:
            q = np.clip(np.asarray(q0, dtype=float), 0.0, None)
        if q.sum() <= 0:
            q = np.ones(m)
        q = q / q.sum()
        alive = np.ones(m, dtype=bool)
        if working is None and q0 is not None:
            support = np.flatnonzero(q > 0)
            if self.newton and self.n * support.size ** 2 <= NEWTON_BUDGET:
                working = support  # a warm start with a small support: Newton at once
        if working is None:
            q, alive, working, log_M, c, Z = self._sweeps(kernel, q, alive, tol)
        else:
            Z, c = gallager(K, p, q)
            self.budget.tick()
            log_M = _safe_log_max(c)
        log_M = self._gap_term(K, Z, c, log_M, tol)
        converged = log_M <= tol
        rounds, best, stalled = 0, log_M, 0
        while not converged and not self.budget.exhausted:
            rounds += 1
            working = self._cover(K, q, np.asarray(working, dtype=int))
            q = self._finish_on(K, q, working, tol)
            Z, c = gallager(K, p, q)
            self.budget.tick()
            log_M = _safe_log_max(c)
            # An ill-conditioned problem (a discretised continuous source) stalls Newton:
            # STALL_ROUNDS rounds in a row that do not halve the gap bound. Polishing
            # (a few passes) is tried only once a round stops halving it.
            stalled = 0 if log_M < 0.5 * best else stalled + 1
            best = min(best, log_M)
            converged = log_M <= tol or (
                stalled > 0 and self._gap_term(K, Z, c, log_M, tol) <= tol)
            if stalled >= STALL_ROUNDS and not converged:
                # Newton stalls on an ill-conditioned support: sweep instead, from a
                # point that gives every output in play some weight (a multiplicative
                # step cannot revive a zero).
                self.newton = False  # for every later slope of this problem too
                q = np.where(alive, (1.0 - 1e-9) * q + 1e-9 / max(1, int(alive.sum())), 0.0)
                q /= q.sum()
                q, alive, _, log_M, c, Z = self._sweeps(kernel, q, alive, tol, newton=False)
                converged = log_M <= tol
                break
            if self.screening and math.isfinite(log_M):
                dead = screen(K, p, Z, c, log_M) & alive
                if dead.any():
                    # Certified unused at this slope: out for good (zero weight).
                    alive &= ~dead
                    if np.any(q[dead] > 0):
                        q[dead] = 0.0
                        q /= q.sum()
                        Z, c = gallager(K, p, q)
                        log_M = _safe_log_max(c)
                        converged = log_M <= tol
            self.budget.report(BAProgress(self.budget.used, kernel.slope, log_M,
                                          int(np.count_nonzero(q)), int(alive.sum())))
            if converged:
                break
            keep = working[alive[working] & (q[working] > 0)]
            violated = np.flatnonzero(alive & (c > 1.0 + VIOLATION))
            violated = violated[np.argsort(-c[violated])][:max(50, keep.size)]
            working = np.union1d(keep, violated)
            if rounds > 50 and not violated.size:
                break  # stuck at rounding level; the certificate reports the truth
        log_M = self._gap_term(K, Z, c, log_M, tol)
        return self._point(kernel, q, Z, c, log_M, log_M <= tol, alive, derivative)

    def _gap_term(self, K, Z, c, log_M: float, tol: float) -> float:
        """``log max c``, polished (:func:`~rdconvex.numerics.polished_log_max`) when it
        misses ``tol`` on a kernel small enough to polish."""
        if log_M <= tol or K is None or K.size > BLOCK_ENTRIES:
            return log_M
        return polished_log_max(self.p, K, Z, c)

    def _sweeps(self, kernel, q, alive, tol, newton: bool = True):
        """Accelerated BA sweeps with certified screening until the outputs in play are
        few enough for Newton (unless ``newton`` is False), the gap is met (polished
        every 10 sweeps), or the polished gap stalls (no 1% gain in 20 checks)."""
        K, p, n = kernel.K, self.p, self.n
        step_max = 1.0
        Z, c = gallager(K, p, q)
        self.budget.tick()
        sweeps, best, stalled = 0, math.inf, 0
        while True:
            log_M = _safe_log_max(c)
            if sweeps % 10 == 0 and (log_M < 0.1 or not newton):
                log_M = self._gap_term(K, Z, c, log_M, tol)
                stalled = 0 if log_M < 0.99 * best else stalled + 1
                best = min(best, log_M)
            if log_M <= tol or stalled >= 20:
                return q, alive, np.flatnonzero(q > 0), log_M, c, Z
            if self.budget.exhausted:
                return q, alive, np.flatnonzero(alive), log_M, c, Z
            # After a few accelerated sweeps the mass sits on a small superset of the
            # optimal support; outputs left out re-enter through their violated c_y > 1.
            in_play = alive & (q >= IN_PLAY * q.max())
            k = int(in_play.sum())
            if newton and self.newton and sweeps >= MIN_SWEEPS and n * k * k <= NEWTON_BUDGET:
                return q, alive, np.flatnonzero(in_play), log_M, c, Z
            if self.screening and sweeps % 10 == 0 and log_M < 0.1:
                dead = screen(K, p, Z, c, log_M) & alive
                if dead.any():
                    # Certified unused at this slope: out for good (zero weight).
                    alive &= ~dead
                    q[dead] = 0.0
                    q /= q.sum()
                    Z, c = gallager(K, p, q)
            if sweeps % 10 == 0:
                self.budget.report(BAProgress(self.budget.used, kernel.slope, log_M,
                                              int(np.count_nonzero(q)), int(alive.sum())))
            q, step_max = self._accelerated_step(K, q, c, Z, step_max)
            Z, c = gallager(K, p, q)
            self.budget.tick(4 if self.acceleration == "squarem" else 1)
            sweeps += 1

    def _ba_map(self, K, q, c=None, Z=None):
        if c is None:
            Z, c = gallager(K, self.p, q)
        with np.errstate(invalid="ignore", over="ignore"):
            new = q * c  # a row whose outputs all vanished gives inf * 0: dropped below
        new[~np.isfinite(new) | (new < self.flush)] = 0.0
        total = new.sum()
        if not total > 0:  # nothing usable left: keep the current point
            return q, Z, c
        return new / total, Z, c

    def _accelerated_step(self, K, q, c, Z, step_max):
        """One SQUAREM step (scheme S3, monotone safeguard) or one plain BA step."""
        q1, _, _ = self._ba_map(K, q, c, Z)
        if self.acceleration in (None, "none"):
            return q1, step_max
        p = self.p
        q2, _, _ = self._ba_map(K, q1)
        f2 = -(p @ np.log(np.maximum(K @ q2, FLUSH)))
        r = q1 - q
        v = q2 - q1 - r
        vv = float(v @ v)
        if vv <= 0:
            return q2, step_max
        alpha = min(step_max, max(1.0, math.sqrt(float(r @ r) / vv)))
        trial = q + 2 * alpha * r + alpha * alpha * v
        # Extrapolation may overshoot to negative weights; keep a relative floor so an
        # output is never killed by one extrapolation (BA can still shrink it).
        trial = np.maximum(trial, 1e-3 * q)
        trial /= trial.sum()
        trial, _, _ = self._ba_map(K, trial)
        Zt = K @ trial
        ft = -(p @ np.log(Zt)) if np.all(Zt > 0) else math.inf
        if not ft <= f2 + 1e-15 * abs(f2):
            return q2, max(1.0, step_max / 4)
        if alpha >= step_max:
            step_max *= 4
        return trial, step_max

    def _cover(self, K, q, working):
        """Working set such that every source row keeps an allowed output."""
        covered = (K[:, working] > 0).any(axis=1) if working.size else np.zeros(self.n, bool)
        if not covered.all():
            working = np.union1d(working, np.unique(np.argmax(K[~covered], axis=1)))
        return working

    def _finish_on(self, K, q, working, tol) -> np.ndarray:
        """Minimise on the working set: Newton when affordable, else accelerated BA."""
        Kw = K[:, working]
        qw = q[working].copy()
        # Newcomers (zero weight) get a little mass so every row keeps Z > 0.
        floor = 1e-6 * max(qw.max(), 1.0 / working.size)
        Z = Kw @ qw
        if not np.all(Z > 0):
            qw = np.maximum(qw, floor)
        k = working.size
        if self.newton and self.n * k * k <= NEWTON_BUDGET:
            qw = projected_newton(Kw, self.p, qw, tol, self.budget, NEWTON_STEPS)
        else:
            qw = qw / qw.sum()
            Z, c = gallager(Kw, self.p, qw)
            step_max = 1.0
            for _ in range(200):
                if _safe_log_max(c) <= 0.25 * tol or self.budget.exhausted:
                    break
                qw, step_max = self._accelerated_step(Kw, qw, c, Z, step_max)
                Z, c = gallager(Kw, self.p, qw)
                self.budget.tick(3)
        out = np.zeros(self.m)
        out[working] = np.clip(qw, 0.0, None)
        return out / out.sum()

    def _point(self, kernel, q, Z, c, log_M, converged, alive, derivative) -> SlopePoint:
        K, p = kernel.K, self.p
        s = kernel.slope
        support = np.flatnonzero(q > 0)
        Ks = K[:, support]
        qs = q[support]
        ds = np.where(Ks > 0, self.d_finite[:, support], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            # (a row without mass only happens when the budget ran out mid-round)
            W = np.nan_to_num((Ks * qs[None, :]) / Z[:, None])
        mean = np.sum(W * ds, axis=1)
        distortion = float(p @ mean)
        objective = _objective(p, Z)
        cs = c[support]
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = float(np.sum(qs * cs * np.log(np.where(cs > 0, cs, 1.0))))
        rate = objective - s * (distortion - self.D_min) - kl
        slope_derivative = math.nan
        # The implicit derivative lives on the strict support (weight not negligible,
        # Gallager constraint tight); dying outputs would make H nearly singular.
        strict = (qs >= 1e-12 * (qs.max() if qs.size else 0.0)) & (np.abs(cs - 1.0) <= 1e-8)
        if derivative and self.n * int(strict.sum()) ** 2 <= NEWTON_BUDGET and np.all(
                Z > UNDERFLOW):
            slope_derivative = distortion_derivative(p, Z, W, ds, mean, Ks[:, strict],
                                                     ds[:, strict])
        return SlopePoint(s, q, log_M, objective, self.D_min, distortion, rate,
                          slope_derivative, support, converged, int(alive.sum()), kernel)

    def at_D_min(self, tol: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """Only argmin pairs may carry mass: minimise I(X;Y) over them (slope-0 BA on
        the argmin pattern). Returns channel, q, converged."""
        tied = np.isfinite(self.d) & (self.d <= self.row_min[:, None])
        kernel = Kernel(np.where(tied, 0.0, np.inf), 0.0)
        point = self.solve_slope(kernel, tol=tol)
        return self.channel(kernel, point.q), point.q, point.converged

    def kernel(self, slope: float) -> Kernel:
        return Kernel(self.d, slope)

    def full_channel(self, channel: np.ndarray) -> np.ndarray:
        return channel

    def describe_search(self) -> str:
        return f"{self.m} outputs"

    def describe(self, point: SlopePoint) -> str:
        return (f"support {point.support.size} of {self.m} outputs, "
                f"{self.m - point.alive} certified unused")

    def gap(self, D: float | None, channel: np.ndarray, slope: float, q) -> float:
        """The gap between the channel's rate and the float64 dual bound at ``(s, q)``
        (or at the channel's own output pmf), at ``D`` (None: the channel's own
        distortion): the stopping test; the certificate itself is computed once, by
        :mod:`rdconvex.certify`, on the returned point."""
        p, d = self.p, self.d
        upper = channel_mutual_information(p, channel)
        if upper <= 0.0:
            return 0.0
        D = expected_distortion(p, channel, d) if D is None else D
        slope = float(slope) if np.isfinite(slope) else 0.0
        kernel = shifted_kernel(d, slope)
        lower = max(dual_value(p, d, D, slope, q, kernel),
                    dual_value(p, d, D, slope, p @ channel, kernel), 0.0)
        return upper - lower

    def channel(self, kernel: Kernel, q: np.ndarray) -> np.ndarray:
        """The Blahut–Arimoto channel ``W(y|x) = q_y K(x,y) / (Kq)_x``."""
        W = kernel.K * q[None, :]
        sums = W.sum(axis=1, keepdims=True)
        empty = sums[:, 0] <= 0
        if empty.any():  # cannot happen for a covered q; fall back to the best output
            W[empty] = 0.0
            W[empty, kernel.best[empty]] = 1.0
            sums[empty] = 1.0
        return W / sums
