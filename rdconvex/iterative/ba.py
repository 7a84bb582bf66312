r"""Blahut–Arimoto, fast and certified: at a fixed slope and at a target distortion.

At slope :math:`s \ge 0` the curve point is the minimiser of the Blahut–Arimoto
objective over output pmfs :math:`q`,

.. math::
    f_s(q) = -\sum_x p_x \log \sum_y q_y e^{-s\,d(x,y)}, \qquad
    c_y(q) = \sum_x \frac{p_x e^{-s d(x,y)}}{\sum_{y'} q_{y'} e^{-s d(x,y')}},

with optimality exactly when :math:`c_y \le 1` for every output, with equality on the
support (Gallager's conditions). For any :math:`q` the Csiszár dual point gives
:math:`\min f_s \ge f_s(q) - \log \max_y c_y(q)`, so :math:`\log\max_y c_y(q)` bounds the
certified gap of the Blahut–Arimoto channel of :math:`q`; the solvers stop on it
(and confirm with :mod:`rdconvex.certify`), never on the change of the objective.

Plain Blahut–Arimoto (:math:`q \leftarrow q \circ c(q)`) is slow where it matters, so
this module uses the structure of the problem:

1. **Kernel in linear space, rows shifted.** :math:`K_{xy} = e^{-s(d(x,y) - \min_y d(x,y))}`
   has row maximum 1, so no row underflows at any slope (``1e4`` is fine); ``+inf``
   distortions give exact zeros; entries below ``1e-300`` are flushed (subnormals slow
   BLAS and cannot move a sum).
2. **Accelerated sweeps** (SQUAREM, Varadhan & Roland 2008) from a cold start, until
   the outputs still in play are few.
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
4. **Second-order finish on the support.** On a working set of outputs the
   Lagrangian form :math:`h(q) = -\sum_x p_x \log (Kq)_x + \sum_y q_y`, :math:`q \ge 0`
   (same minimiser; it sums to 1 by itself) is minimised by projected Newton
   (Bertsekas 1982) with an Armijo search; the full problem is checked after each
   round and violated outputs join the working set (column generation).

A target distortion is reached by searching the slope (Newton steps on
:math:`D(s)` with the exact derivative :math:`D'(s) = -\sum_x p_x \mathrm{Var}_x(d) -
b^\top H^{-1} b` from the support's Hessian, safeguarded by a bracket, with tangent
(Kelley) steps at kinks). On a straight piece of :math:`R(D)` one slope covers a whole
segment and the distortion jumps there: the two channels bracketing the target are
mixed to hit :math:`D` exactly (the mixture is feasible; its mutual information is the
upper bound).

References: Blahut (1972); Arimoto (1972); Csiszár (1974); Gallager (1968, Thm 9.4.1);
Varadhan & Roland (2008), SQUAREM; Bertsekas (1982), projected Newton; Chen et al.
(arXiv 2305.02650), constrained BA with a multiplier update per sweep.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from .. import certify as _certify
from .._validation import check_distortion, check_pmf, check_rows_finite, check_scalar
from ..atoms import expected_distortion
from ..errors import InfeasibleDistortionError, InvalidArgumentError
from ..results import Status
from ..solvers import register_iterative
from ..solvers.base import IterativeSolver, RawSolution, SolveInfo

#: Certified gap (nats) the solvers stop at unless told otherwise.
DEFAULT_TOL = 1e-9
#: Cap on passes over the kernel (sweeps, Newton steps and full checks together).
DEFAULT_MAX_ITER = 100_000
#: Weights below this are flushed to exact zeros (subnormals make BLAS slow).
FLUSH = _certify.FLUSH
#: Flops (n k^2) one Newton step may spend on its Hessian; larger working sets are
#: finished by accelerated sweeps instead.
NEWTON_BUDGET = 3e9
#: After the sweeps, outputs with q_y >= IN_PLAY * max q form the working set.
IN_PLAY = 1e-4
#: Accelerated sweeps before the working set is read off the output pmf.
MIN_SWEEPS = 20
#: An excluded output is re-admitted when c_y > 1 + this.
VIOLATION = 1e-13
#: Relative tolerance within which a target D counts as D_min.
D_SNAP = 1e-12
#: At D_min the lower bound uses a slope that weighs non-argmin pairs below e^-60.
LARGE_SLOPE_MARGIN = 60.0
#: Slope searches give up after this many slope solves (the answer stays certified).
MAX_SLOPE_SOLVES = 200

_OPTIONS = {"screening", "newton", "acceleration", "initial_slope"}


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


class _Budget:
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


class _Kernel:
    """``K = exp(-s (d - min_y d))`` per row (row max 1, flushed) and its row shift
    ``-s min_y d`` (:func:`rdconvex.certify.shifted_kernel`)."""

    def __init__(self, d: np.ndarray, slope: float):
        self.slope = float(slope)
        self.K, self.shift, self.row_min = _certify.shifted_kernel(d, self.slope)
        self.best = np.argmax(self.K, axis=1)


@dataclass
class _Point:
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
    kernel: _Kernel

    def lower(self, D: float) -> float:
        """Csiszár's lower bound on ``R(D)`` from this point (linear-space estimate)."""
        return self.objective - self.log_M - self.slope * (D - self.D_min)


# --------------------------------------------------------------------------- helpers

def _objective(p, Z) -> float:
    with np.errstate(divide="ignore"):
        return float(-(p @ np.log(Z)))


def _lagrangian(p, Z, q) -> float:
    """``h(q) = -sum p log Z + sum q``; ``inf`` when a row lost all its mass."""
    if not np.all(Z > 0):
        return math.inf
    return float(-(p @ np.log(Z)) + q.sum())


def _gallager(K, p, q):
    """``Z = K q`` and ``c = K^T (p / Z)``."""
    Z = K @ q
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = K.T @ (p / Z)
    return Z, c


def _safe_log_max(c) -> float:
    top = float(np.max(c))
    return math.log(top) if top > 0 and math.isfinite(top) else math.inf


class _Solver:
    """The fixed-slope and target-``D`` algorithms on one reduced problem (``p > 0``)."""

    def __init__(self, p: np.ndarray, d: np.ndarray, budget: _Budget, options: dict):
        self.p = p
        self.d = d
        self.n, self.m = d.shape
        self.budget = budget
        self.screening = bool(options.get("screening", True))
        self.newton = bool(options.get("newton", True))
        self.acceleration = options.get("acceleration", "squarem")
        if self.acceleration not in ("squarem", None, "none"):
            raise InvalidArgumentError(
                f"solver_options['acceleration']={self.acceleration!r}: use 'squarem' or None.")
        finite = np.isfinite(d)
        self.d_finite = np.where(finite, d, 0.0)
        self.row_min = np.where(finite, d, np.inf).min(axis=1)
        self.D_min = float(p @ self.row_min)
        means = p @ np.where(finite, d, np.inf)  # inf where a column forbids some x
        self.best_column = int(np.argmin(means))
        self.D_max = float(means[self.best_column])

    # ------------------------------------------------------------ fixed slope
    def solve_slope(self, kernel: _Kernel, q0=None, working=None, tol=DEFAULT_TOL,
                    derivative=False) -> _Point:
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
            Z, c = _gallager(K, p, q)
            self.budget.tick()
            log_M = _safe_log_max(c)
        converged = log_M <= tol
        rounds = 0
        while not converged and not self.budget.exhausted:
            rounds += 1
            working = self._cover(K, q, np.asarray(working, dtype=int))
            q = self._finish_on(K, q, working, tol)
            Z, c = _gallager(K, p, q)
            self.budget.tick()
            log_M = _safe_log_max(c)
            converged = log_M <= tol
            if self.screening and math.isfinite(log_M):
                dead = self._screen(K, p, Z, c, log_M) & alive
                if dead.any():
                    # Certified unused at this slope: out for good (zero weight).
                    alive &= ~dead
                    if np.any(q[dead] > 0):
                        q[dead] = 0.0
                        q /= q.sum()
                        Z, c = _gallager(K, p, q)
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
        return self._point(kernel, q, Z, c, log_M, converged, alive, derivative)

    def _sweeps(self, kernel, q, alive, tol):
        """Cold start: accelerated BA sweeps with certified screening until the
        outputs in play are few enough for Newton (or the gap is met)."""
        K, p, n = kernel.K, self.p, self.n
        step_max = 1.0
        Z, c = _gallager(K, p, q)
        self.budget.tick()
        sweeps = 0
        while True:
            log_M = _safe_log_max(c)
            if log_M <= tol:
                return q, alive, np.flatnonzero(q > 0), log_M, c, Z
            if self.budget.exhausted:
                return q, alive, np.flatnonzero(alive), log_M, c, Z
            # After a few accelerated sweeps the mass sits on a small superset of the
            # optimal support; outputs left out re-enter through their violated c_y > 1.
            in_play = alive & (q >= IN_PLAY * q.max())
            k = int(in_play.sum())
            if self.newton and sweeps >= MIN_SWEEPS and n * k * k <= NEWTON_BUDGET:
                return q, alive, np.flatnonzero(in_play), log_M, c, Z
            if self.screening and sweeps % 10 == 0 and log_M < 0.1:
                dead = self._screen(K, p, Z, c, log_M) & alive
                if dead.any():
                    # Certified unused at this slope: out for good (zero weight).
                    alive &= ~dead
                    q[dead] = 0.0
                    q /= q.sum()
                    Z, c = _gallager(K, p, q)
            if sweeps % 10 == 0:
                self.budget.report(BAProgress(self.budget.used, kernel.slope, log_M,
                                              int(np.count_nonzero(q)), int(alive.sum())))
            q, step_max = self._accelerated_step(K, q, c, Z, step_max)
            Z, c = _gallager(K, p, q)
            self.budget.tick(4 if self.acceleration == "squarem" else 1)
            sweeps += 1

    def _ba_map(self, K, q, c=None, Z=None):
        if c is None:
            Z, c = _gallager(K, self.p, q)
        new = q * c
        new[new < FLUSH] = 0.0
        return new / new.sum(), Z, c

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

    def _screen(self, K, p, Z, c, log_M) -> np.ndarray:
        """Outputs certified outside every optimal support (see the module docstring)."""
        eps = max(log_M, 0.0)
        if not math.isfinite(eps) or not np.all(Z > _certify.UNDERFLOW):
            # (the flushed kernel entries, < 1e-300, then move no sum beyond 1e-100)
            return np.zeros(self.m, dtype=bool)
        with np.errstate(over="ignore", invalid="ignore"):
            # A tiny Z_x (an output pmf far from this row's outputs) may overflow the
            # bound to inf/nan: such outputs are simply not screened.
            U = K * (1.0 / Z)[:, None]
            second = (U * U).T @ p
            largest = U.max(axis=0)
            bound = c + np.sqrt(2.0 * eps * second) + eps * largest
        # Float rounding in c is ~1e-15 relative: keep a margin well above it.
        return bound < 1.0 - 1e-10

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
            qw = self._newton(Kw, qw, tol)
        else:
            qw = qw / qw.sum()
            Z, c = _gallager(Kw, self.p, qw)
            step_max = 1.0
            for _ in range(200):
                if _safe_log_max(c) <= 0.25 * tol or self.budget.exhausted:
                    break
                qw, step_max = self._accelerated_step(Kw, qw, c, Z, step_max)
                Z, c = _gallager(Kw, self.p, qw)
                self.budget.tick(3)
        out = np.zeros(self.m)
        out[working] = np.clip(qw, 0.0, None)
        return out / out.sum()

    def _newton(self, K, q, tol, max_steps=100) -> np.ndarray:
        """Projected Newton (Bertsekas 1982) on ``h(q) = -sum p log Kq + sum q, q >= 0``.

        Outputs at (or, relative to the largest weight, near) zero whose gradient
        pushes outwards are held at zero; Newton's direction on the others is followed
        along the projection arc with an Armijo search.
        """
        p = self.p
        sqrt_p = np.sqrt(p)
        Z = K @ q
        h = _lagrangian(p, Z, q)
        target = 0.1 * tol
        for _ in range(max_steps):
            if self.budget.exhausted:
                break
            with np.errstate(divide="ignore", over="ignore"):
                c = K.T @ (p / Z)
            g = 1.0 - c
            positive = q > 0
            kkt = max(float(np.max(np.abs(g[positive]), initial=0.0)),
                      float(np.max(-g[~positive], initial=0.0)))
            if kkt <= target:
                break
            self.budget.tick()
            residual = float(np.linalg.norm(q - np.maximum(q - g, 0.0)))
            step = None
            # Levenberg–Marquardt damping: H is singular when the working set is larger
            # than the source alphabet or has duplicate columns; the damping vanishes
            # with the gradient, so the local rate stays quadratic.
            damping = min(1.0, kkt)
            for eps in (min(1e-3, residual) * float(q.max()), 0.0):
                active = (q <= eps) & (g > 0)
                step = self._newton_step(K, q, g, h, active, sqrt_p / Z, damping)
                if step is not None:
                    break
            if step is None:
                # No descent along the Newton arc: one BA step instead, with a little
                # mass for violated outputs at zero (a multiplicative step cannot
                # revive them).
                trial = q * c
                revive = (q == 0) & (g < 0)
                trial[revive] = 1e-3 * float(q.max()) * (c[revive] - 1.0)
                Zt = K @ trial
                if not np.all(Zt > 0):
                    break
                step = trial, Zt, _lagrangian(p, Zt, trial)
            q, Z, h = step
        return q

    def _newton_step(self, K, q, g, h, active, row_scale, damping):
        free = np.flatnonzero(~active)
        A = K[:, free] * row_scale[:, None]
        direction = self._newton_direction(A.T @ A, g[free], damping)
        alpha = 1.0
        while alpha >= 1e-10:
            trial = q.copy()
            trial[active] = 0.0
            trial[free] = np.maximum(q[free] + alpha * direction, 0.0)
            Zt = K @ trial
            ht = _lagrangian(self.p, Zt, trial)
            predicted = float(g @ (trial - q))
            # Near the optimum h changes below its rounding: accept a step that does not
            # increase h beyond that; the KKT test decides convergence.
            if predicted < 0 and ht <= h + 1e-4 * predicted + 4e-16 * abs(h):
                return trial, Zt, ht
            alpha *= 0.5
        return None

    @staticmethod
    def _newton_direction(H, g, damping=0.0):
        scale = float(np.max(np.diag(H), initial=1.0))
        ridge = max(1e-13, 1e-2 * damping) * scale
        for _ in range(6):
            try:
                factor = cho_factor(H + ridge * np.eye(H.shape[0]), check_finite=False)
                direction = -cho_solve(factor, g, check_finite=False)
                if np.all(np.isfinite(direction)):
                    return direction
            except (LinAlgError, ValueError):
                pass
            ridge *= 1e3
        return -g / np.maximum(np.diag(H), 1e-300)

    def _point(self, kernel, q, Z, c, log_M, converged, alive, derivative) -> _Point:
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
        strict = (qs >= 1e-12 * qs.max()) & (np.abs(cs - 1.0) <= 1e-8)
        if derivative and self.n * int(strict.sum()) ** 2 <= NEWTON_BUDGET and np.all(
                Z > _certify.UNDERFLOW):
            variance = np.sum(W * ds * ds, axis=1) - mean * mean
            U = Ks[:, strict] / Z[:, None]
            b = U.T @ (p * mean) - (U * ds[:, strict]).T @ p
            A = Ks[:, strict] * (np.sqrt(p) / Z)[:, None]
            H = A.T @ A
            try:
                factor = cho_factor(H + 1e-13 * max(np.max(np.diag(H)), 1.0)
                                    * np.eye(H.shape[0]), check_finite=False)
                curvature = float(b @ cho_solve(factor, b, check_finite=False))
            except (LinAlgError, ValueError):
                curvature = 0.0
            slope_derivative = -(float(p @ np.maximum(variance, 0.0)) + max(curvature, 0.0))
        return _Point(s, q, log_M, objective, self.D_min, distortion, rate, slope_derivative,
                      support, converged, int(alive.sum()), kernel)

    # ------------------------------------------------------------- target D
    def large_slope(self) -> float:
        excess = self.d - self.row_min[:, None]
        positive = excess[(excess > 0) & np.isfinite(excess)]
        return LARGE_SLOPE_MARGIN / (float(positive.min()) if positive.size else 1.0)

    def solve_at_D_min(self, tol) -> tuple[np.ndarray, float, np.ndarray, bool]:
        """Only argmin pairs may carry mass: minimise I(X;Y) over them (slope-0 BA on
        the argmin pattern). Returns channel, slope (large, for the bound), q, converged."""
        tied = np.isfinite(self.d) & (self.d <= self.row_min[:, None])
        kernel = _Kernel(np.where(tied, 0.0, np.inf), 0.0)
        point = self.solve_slope(kernel, tol=tol)
        return self.channel(kernel, point.q), self.large_slope(), point.q, point.converged

    def channel(self, kernel: _Kernel, q: np.ndarray) -> np.ndarray:
        """The Blahut–Arimoto channel ``W(y|x) = q_y K(x,y) / (Kq)_x``."""
        W = kernel.K * q[None, :]
        sums = W.sum(axis=1, keepdims=True)
        empty = sums[:, 0] <= 0
        if empty.any():  # cannot happen for a covered q; fall back to the best output
            W[empty] = 0.0
            W[empty, kernel.best[empty]] = 1.0
            sums[empty] = 1.0
        return W / sums

    def initial_slope(self, D: float) -> float:
        width = D - self.D_min
        guess = 1.0 / width
        if math.isfinite(self.D_max):
            guess -= 1.0 / (self.D_max - self.D_min)
        return max(guess, 1e-3 / width)

    def solve_distortion(self, D: float, tol: float, slope0=None, q0=None):
        """Search the slope until the mixture of the bracketing channels is certified
        within ``tol`` at ``D``. Returns (channel, slope, q, converged, solves)."""
        inner = 0.25 * tol
        s = slope0 if slope0 is not None and slope0 > 0 else self.initial_slope(D)
        lo = hi = None            # points with distortion > D, <= D
        warm_q, warm_set = q0, None
        last_gap, stalls = math.inf, 0
        solves = 0
        best = None
        while solves < MAX_SLOPE_SOLVES and not self.budget.exhausted:
            solves += 1
            kernel = _Kernel(self.d, s)
            point = self.solve_slope(kernel, warm_q, warm_set, inner, derivative=True)
            if point.distortion > D:
                if lo is None or point.slope > lo.slope:
                    lo = point
            elif hi is None or point.slope < hi.slope:
                hi = point
            upper, lower, mix = self._estimate(lo, hi, D)
            gap = upper - lower
            if best is None or gap < best[0]:
                best = (gap, lo, hi, mix)
            if gap <= 0.5 * tol and (lo is None or lo.converged) and (
                    hi is None or hi.converged):
                break
            # Newton while the gap falls fast; a stall means a kink (tangent step)
            # or an unreliable derivative (bisection).
            stalls = stalls + 1 if gap > 0.25 * last_gap and lo and hi else 0
            last_gap = gap
            s = self._next_slope(point, lo, hi, D, ("newton", "kelley", "bisect")[stalls % 3])
            if s is None:
                break
            warm_q, warm_set = point.q, point.support
        gap, lo, hi, mix = best
        return self._assemble(lo, hi, D, mix) + (gap <= tol, solves)

    def _estimate(self, lo, hi, D):
        """Certified-gap estimate at D from the bracket: (upper, lower, mix weight)."""
        lower = max([pt.lower(D) for pt in (lo, hi) if pt is not None])
        if hi is None:
            return math.inf, lower, None
        if lo is None or hi.distortion >= D:
            return hi.rate, lower, None
        t = (lo.distortion - D) / (lo.distortion - hi.distortion)  # weight of hi
        return t * hi.rate + (1 - t) * lo.rate, lower, t

    def _next_slope(self, point, lo, hi, D, rule):
        s = point.slope
        if lo is not None and hi is not None:
            a, b = lo.slope, hi.slope
            if not b > a * (1 + 1e-15):
                return None
            candidate = None
            if rule == "kelley":
                # Tangents of the concave dual phi(s) = G(s) - sD at both ends meet at
                # the kink of a straight piece (one step there).
                slope_lo, slope_hi = lo.distortion - D, hi.distortion - D
                if slope_lo > slope_hi:
                    candidate = (hi.lower(D) - lo.lower(D) + slope_lo * a - slope_hi * b) / (
                        slope_lo - slope_hi)
            elif rule == "newton" and point.derivative < 0:
                candidate = s - (point.distortion - D) / point.derivative
            if candidate is not None and a < candidate < b:
                return candidate
            return math.sqrt(a * b) if a > 0 else 0.5 * b
        # One side only: Newton in log s, at least 10% and at most a factor 4 towards
        # the target, so a bracket forms fast even with a poor derivative.
        direction = 1.0 if hi is None else -1.0   # distortion too large: raise s
        step = math.log(4.0)
        if point.derivative < 0 and math.isfinite(point.derivative):
            newton = -(point.distortion - D) / (s * point.derivative)
            if newton * direction > 0:
                step = min(math.log(4.0), max(math.log(1.1), abs(newton)))
        return s * math.exp(direction * step)

    def _assemble(self, lo, hi, D, mix):
        """The returned point: a single channel, or the mixture at D of lo and hi; the
        slope and q of whichever gives the better lower bound at D."""
        candidates = [pt for pt in (lo, hi) if pt is not None]
        dual = max(candidates, key=lambda pt: pt.lower(D))
        if hi is None:
            channel = self.channel(lo.kernel, lo.q)
        elif mix is None:
            channel = self.channel(hi.kernel, hi.q)
        else:
            channel = mix * self.channel(hi.kernel, hi.q) + (1 - mix) * self.channel(lo.kernel,
                                                                                    lo.q)
        return channel, dual.slope, dual.q


# ------------------------------------------------------------------ public API

@dataclass
class _Setup:
    """Validated inputs of one public solve, reduced to positive-probability symbols."""

    p_full: np.ndarray
    d_full: np.ndarray
    keep: np.ndarray
    p: np.ndarray
    d: np.ndarray
    tol: float
    options: dict
    budget: "_Budget"
    solver: "_Solver"


def _prepare(p, d, tol, max_iter, solver_options, callback) -> _Setup:
    p = check_pmf(p, "p")
    d = check_distortion(d, p.size, "d")
    check_rows_finite(d, p, "d")
    tol = DEFAULT_TOL if tol is None else check_scalar(tol, "tol", minimum=0.0)
    if max_iter is None:
        max_iter = DEFAULT_MAX_ITER
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InvalidArgumentError(f"max_iter={max_iter!r} must be a positive integer.")
    options = _check_options(solver_options)
    keep = p > 0
    budget = _Budget(int(max_iter), callback)
    return _Setup(p, d, keep, p[keep], d[keep], tol, options, budget,
                  _Solver(p[keep], d[keep], budget, options))


def _check_options(solver_options) -> dict:
    options = dict(solver_options or {})
    unknown = set(options) - _OPTIONS
    if unknown:
        raise InvalidArgumentError(
            f"solver_options {sorted(unknown)} are not options of 'ba'; known: "
            f"{sorted(_OPTIONS)}.")
    return options


def _expand(p_full, keep, d_full, channel, slope, q):
    """Channel rows for zero-probability symbols: the parametric rule at the slope."""
    if keep.all():
        return channel
    full = np.empty((p_full.size, d_full.shape[1]))
    full[keep] = channel
    logits = _certify.safe_log(q)[None, :] + _certify.log_kernel(d_full[~keep], slope)
    top = logits.max(axis=1, keepdims=True)
    fallback = _certify.min_distortion_channel(np.where(np.isfinite(d_full[~keep]),
                                                        d_full[~keep], np.inf))
    rows = np.isfinite(top[:, 0])
    weights = np.exp(logits[rows] - top[rows])
    fallback[rows] = weights / weights.sum(axis=1, keepdims=True)
    full[~keep] = fallback
    return full


def _status(gap, tol, budget, slope_times_D, message):
    """OPTIMAL when the certified gap met tol; MAX_ITERATIONS when the budget ran out
    (or the callback stopped); else OPTIMAL_INACCURATE (the search stalled, usually at
    the floor float64 rounding of the dual bound's ``s D`` term puts on the gap)."""
    if abs(gap) <= tol:  # (a lower bound above the upper one is rounding, too)
        return Status.OPTIMAL, message
    if budget.exhausted:
        return Status.MAX_ITERATIONS, f"stopped after {budget.used} kernel passes; " + message
    return Status.OPTIMAL_INACCURATE, (
        message + f"; tol {tol:.1e} not reached when the search stalled (float64 rounding "
        f"of slope * D = {slope_times_D:.3g} nats alone limits the gap to about "
        f"{np.finfo(float).eps * abs(slope_times_D):.0e})")


def _certified_gap(p, d, D, channel, slope, q) -> float:
    """The gap :func:`rdconvex.certify.certify` reports for this point (no polishing)."""
    _, _, certificate = _certify.certify(p, d, D, channel, slope, q, polish=0,
                                         refine_slope=False)
    return certificate.gap


def blahut_arimoto(p, d, slope, *, tol=None, max_iter=None, callback=None, output_pmf=None,
                   solver_options=None) -> RawSolution:
    r"""Blahut–Arimoto at a fixed slope, stopped on a certified gap.

    Minimises :math:`I(X;Y) + s\,\mathbb E\,d(X,Y)` over channels, i.e. the point of
    the curve where :math:`-dR/dD = s`, and stops when the Csiszár lower bound at the
    returned channel's distortion is within ``tol`` of its mutual information:

    .. math::
        I(W_q) - \Big[f_s(q) - \log\max_y c_y(q) - s\,D(W_q)\Big] \le \mathrm{tol}.

    Parameters
    ----------
    p : array_like, shape (n,)
        Source pmf (zero entries allowed).
    d : array_like, shape (n, m)
        Distortion in ``[0, inf]``; ``inf`` forbids a pair.
    slope : float
        ``s >= 0``, nats per unit of distortion (``1e4`` and more are fine).
    tol : float, optional
        Certified gap in nats (default ``1e-9``).
    max_iter : int, optional
        Cap on passes over the ``n x m`` kernel (default 100000).
    callback : callable, optional
        Called with a :class:`BAProgress` after each full-problem check; raise
        ``StopIteration`` in it to stop (status ``MAX_ITERATIONS``).
    output_pmf : array_like, shape (m,), optional
        Warm start.
    solver_options : dict, optional
        ``screening`` (bool, default True), ``newton`` (bool, default True),
        ``acceleration`` (``"squarem"`` or None).

    Returns
    -------
    RawSolution
        ``channel`` (n x m), ``slope``, ``output_pmf`` (the ``q`` of the dual bound)
        and ``info`` (status ``OPTIMAL`` when the certified gap met ``tol``).

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.iterative.ba import blahut_arimoto
    >>> raw = blahut_arimoto([0.7, 0.3], 1 - np.eye(2), slope=2.0)
    >>> raw.info.status.value
    'optimal'
    """
    start = time.perf_counter()
    setup = _prepare(p, d, tol, max_iter, solver_options, callback)
    slope = check_scalar(slope, "slope", minimum=0.0)
    p, d, tol, budget, solver = setup.p, setup.d, setup.tol, setup.budget, setup.solver
    kernel = _Kernel(d, slope)
    q0 = None if output_pmf is None else np.asarray(output_pmf, dtype=float)
    target = 0.5 * tol
    point = solver.solve_slope(kernel, q0, tol=target)
    while True:
        channel = solver.channel(kernel, point.q)
        distortion = expected_distortion(p, channel, d)
        gap = _certified_gap(p, d, distortion, channel, slope, point.q)
        if gap <= tol or budget.exhausted or target < 1e-15:
            break
        target *= 0.1  # rounding between the estimate and the certificate: go tighter
        point = solver.solve_slope(kernel, point.q, point.support, tol=target)
    message = (f"certified gap {gap:.2e} nats at slope {slope:.6g}; support "
               f"{point.support.size} of {d.shape[1]} outputs, {d.shape[1] - point.alive} "
               f"certified unused")
    status, message = _status(gap, tol, budget, slope * distortion, message)
    info = SolveInfo(status, budget.used, time.perf_counter() - start, message)
    channel = _expand(setup.p_full, setup.keep, setup.d_full, channel, slope, point.q)
    return RawSolution(channel, slope, point.q, info)


def blahut_arimoto_distortion(p, d, D, *, tol=None, max_iter=None, callback=None,
                              slope=None, output_pmf=None, solver_options=None) -> RawSolution:
    r"""Constrained Blahut–Arimoto: ``R(D)`` at a target distortion, certified.

    Searches the slope :math:`s` with :math:`D(s) = D` (Newton steps with the exact
    derivative of the distortion along the curve, kept inside a bracket; tangent steps
    at kinks), each slope solved by :func:`blahut_arimoto`'s fast core and warm-started
    from the previous one. The returned channel has distortion :math:`\le D`: when
    :math:`D` falls between the distortions of two nearby slopes (always true on a
    straight piece of :math:`R(D)`, where the distortion jumps), the two channels are
    mixed to hit :math:`D` exactly; the mixture is feasible and, :math:`I` being convex
    in the channel, its rate is at most the chord. It stops when

    .. math::
        I(W) - \max_{s \in \{s_-, s_+\}} \Big[f_s(q_s) - \log\max_y c_y(q_s) - sD\Big]
        \le \mathrm{tol}.

    Parameters
    ----------
    p, d : array_like
        Source pmf and distortion (as in :func:`blahut_arimoto`).
    D : float
        Target distortion, ``>= D_min``.
    tol, max_iter, callback, solver_options :
        As in :func:`blahut_arimoto` (``max_iter`` counts passes over all slopes);
        ``solver_options`` may also set ``initial_slope``, the first slope tried.
    slope, output_pmf : optional
        Warm start: a slope near the answer and its output pmf.

    Returns
    -------
    RawSolution
        ``slope`` and ``output_pmf`` are the dual point of the best lower bound.

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.iterative.ba import blahut_arimoto_distortion
    >>> raw = blahut_arimoto_distortion([0.7, 0.3], 1 - np.eye(2), D=0.1)
    >>> round(raw.slope, 6), raw.info.status.value   # log((1 - D) / D)
    (2.197225, 'optimal')
    """
    start = time.perf_counter()
    setup = _prepare(p, d, tol, max_iter, solver_options, callback)
    D = check_scalar(D, "D")
    p, d, tol, budget, solver = setup.p, setup.d, setup.tol, setup.budget, setup.solver
    options = setup.options
    if D < solver.D_min - D_SNAP * max(1.0, abs(solver.D_min)):
        raise InfeasibleDistortionError(
            f"D={D!r} is below D_min={solver.D_min:.10g}: no channel has so small an "
            "expected distortion. Use D >= D_min.")
    q0 = None if output_pmf is None else np.asarray(output_pmf, dtype=float)
    initial = options.get("initial_slope", slope)
    if D >= solver.D_max:
        channel = np.zeros(d.shape)
        channel[:, solver.best_column] = 1.0
        slope_out, q = 0.0, channel[0].copy()
        gap, message = 0.0, "D >= D_max: the constant output attains rate 0"
        status = Status.OPTIMAL
    elif D <= solver.D_min + D_SNAP * max(1.0, abs(solver.D_min)):
        channel, slope_out, q, converged = solver.solve_at_D_min(0.5 * tol)
        gap = _certified_gap(p, d, solver.D_min, channel, slope_out, q)
        status, message = _status(gap, tol, budget, 0.0,
                                  f"D = D_min: argmin pairs only; certified gap {gap:.2e} nats")
    else:
        channel, slope_out, q, converged, solves = solver.solve_distortion(
            D, tol, initial, q0)
        gap = _certified_gap(p, d, D, channel, slope_out, q)
        retries = 0
        while gap > tol and not budget.exhausted and retries < 3:
            # The linear-space estimate and the log-space certificate disagree at the
            # rounding level: search again, tighter, from where we are.
            retries += 1
            channel, slope_out, q, converged, more = solver.solve_distortion(
                D, tol * 0.1 ** retries, slope_out, q)
            solves += more
            gap = _certified_gap(p, d, D, channel, slope_out, q)
        message = (f"certified gap {gap:.2e} nats at D={D:.10g} after {solves} slope "
                   f"solve{'s' * (solves != 1)}; slope {slope_out:.6g}")
        status, message = _status(gap, tol, budget, slope_out * D, message)
    info = SolveInfo(status, budget.used, time.perf_counter() - start, message)
    channel = _expand(setup.p_full, setup.keep, setup.d_full, channel, slope_out, q)
    return RawSolution(channel, slope_out, q, info)


@register_iterative
class BlahutArimoto(IterativeSolver):
    """``solver="ba"``: the certified fast Blahut–Arimoto of this module."""

    NAME = "ba"
    DEFAULT_TOL = DEFAULT_TOL
    DEFAULT_MAX_ITER = DEFAULT_MAX_ITER
    #: The returned (slope, q) already closes the gap to ``tol``: the problem class
    #: certifies without polishing (which would cost dozens of log-space passes).
    certify_options = {"polish": 0, "refine_slope": False}

    def solve_rate_distortion(self, p, d, *, D=None, slope=None, tol=None, max_iter=None,
                              solver_options=None, callback=None, warm_start=None):
        if (D is None) == (slope is None):
            raise InvalidArgumentError("give exactly one of D=... or slope=....")
        warm_slope, warm_q = _warm(warm_start)
        if slope is not None:
            return blahut_arimoto(p, d, slope, tol=tol, max_iter=max_iter, callback=callback,
                                  output_pmf=warm_q, solver_options=solver_options)
        return blahut_arimoto_distortion(p, d, D, tol=tol, max_iter=max_iter,
                                         callback=callback, slope=warm_slope,
                                         output_pmf=warm_q, solver_options=solver_options)


def _warm(warm_start):
    """``(slope, output_pmf)`` from a RawSolution, a Result-like object or a pair (nats)."""
    if warm_start is None:
        return None, None
    if isinstance(warm_start, tuple) and len(warm_start) == 2:
        slope, q = warm_start
    else:
        slope = getattr(warm_start, "slope", None)
        q = getattr(warm_start, "output_pmf", None)
    slope = float(slope) if slope is not None and np.isfinite(slope) and slope > 0 else None
    q = None if q is None else np.asarray(q, dtype=float)
    return slope, q
