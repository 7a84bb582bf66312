r"""Rate–distortion under log-likelihood loss (Sections II–III of the paper).

Given a source ``X ~ p`` and a conditional pmf ``A = P_{X|U}`` (rows ``x``, columns
``u``; every column a pmf), the log-likelihood loss (1) is

.. math:: d_{\ell\ell}(x, u) = -\log A[x, u] \qquad (+\infty \text{ where } A[x,u] = 0)

and ``R_ll(D)`` is the classical rate–distortion function (2) with that distortion, so
:class:`LogLikelihood` is a :class:`~rdconvex.RateDistortion` (same solvers, same
certificates) with three extras from Theorem 1:

* :meth:`LogLikelihood.rate_at_D_min` -- program (8), the randomised
  maximum-likelihood decoder at ``D_min``;
* :meth:`LogLikelihood.special_points` -- the interval ``[D1, D2]`` of special
  operating points ``D* = H(X|U)`` over every ``P_U`` consistent with ``(X, A)``, on
  which ``R_ll(D) = H(X) - D`` (Theorem 1-(iii), Corollary 1);
* :meth:`LogLikelihood.distortion_decomposition` -- the two forms (4) and (5) of the
  expected distortion of a channel.

:func:`log_loss_rate` is ``R_l(D) = H(X) - D``, the log-loss function (9)–(10) that
lower-bounds ``R_ll`` (Theorem 2).

Everything is computed in nats; ``units="bits"`` converts rates *and* distortions (a
log-likelihood is measured in the same unit as a rate) at the edges.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.special import entr, rel_entr, xlogy

from . import closed_forms
from ._validation import (
    SUM_TOL,
    _as_float_array,
    check_channel,
    check_pmf,
    check_scalar,
    check_units,
)
from .atoms import expected_distortion
from .certify import safe_log
from .errors import InvalidArgumentError, InvalidChannelError, SolverError
from .programs import loglik as loglik_programs
from .ratedistortion import RateDistortion
from .results import Result, Status
from .solvers import CONIC, get_solver
from .solvers.base import RawSolution, SolveInfo

#: Default relative tie tolerance: ``u`` is in ``T(x)`` when
#: ``A[x,u] >= (1 - tie_tol) * max_u' A[x,u']``.
TIE_TOL = 1e-9

#: Relative slack with which a ``D`` counts as inside the special-point interval.
SPECIAL_TOL = 1e-9

#: Solver names accepted by :meth:`LogLikelihood.special_points` besides the conic ones.
LP_SOLVERS = ("highs",)


def check_likelihood(A, n: int, normalize: bool = False,
                     name: str = "p_x_given_u") -> np.ndarray:
    """Validate ``P_{X|U}``: shape ``(n, k)``, finite, ``>= 0``, every column a pmf.

    Returns a float64 copy whose columns sum to 1 exactly (up to rounding).
    """
    A = _as_float_array(A, name, InvalidChannelError)
    if A.ndim != 2 or A.shape[0] != n or A.shape[1] == 0:
        hint = (" (it looks transposed: rows must be source symbols x, columns u)"
                if A.ndim == 2 and A.shape[1] == n and A.shape[0] != n else "")
        raise InvalidChannelError(
            f"{name} must be a 2-D array of shape (n, k) = ({n}, k) with k >= 1: one row per "
            f"source symbol x, one column per u; got shape {A.shape}{hint}.")
    if not np.all(np.isfinite(A)):
        x, u = np.argwhere(~np.isfinite(A))[0]
        raise InvalidChannelError(
            f"{name}[{x}, {u}] = {float(A[x, u])!r}; every entry must be a finite probability.")
    if np.any(A < 0):
        x, u = np.argwhere(A < 0)[0]
        raise InvalidChannelError(
            f"{name}[{x}, {u}] = {float(A[x, u])!r} is negative; column {u} (the pmf "
            f"P_X|U(.|u={u})) must have entries >= 0.")
    sums = A.sum(axis=0)
    bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOL)
    if bad.size and (not normalize or np.any(sums <= 0)):
        u = int(bad[0]) if not normalize else int(np.flatnonzero(sums <= 0)[0])
        fix = ("give it some positive mass" if sums[u] <= 0 else
               "fix the values or pass normalize=True to rescale every column")
        raise InvalidChannelError(
            f"column {u} of {name} sums to {float(sums[u])!r}, not 1; each column P_X|U(.|u) must "
            f"be a probability distribution over the {n} source symbols: {fix}.")
    return A / sums[None, :]


def _column_entropy(A: np.ndarray) -> np.ndarray:
    """``H(A[:,u])`` in nats for every column."""
    return entr(A).sum(axis=0)


def _ml_channel(Q: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """Randomised ML decoder: row ``x`` is ``Q`` restricted to ``T(x)``, renormalised
    (uniform on ``T(x)`` where ``Q`` vanishes on it)."""
    W = np.where(ties, Q[None, :], 0.0)
    sums = W.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    W[empty] = ties[empty]
    sums[empty] = ties[empty].sum(axis=1, keepdims=True)
    return W / sums


#: Multiplicative (EM) polishing steps applied to the solver's minimiser of (8).
POLISH_STEPS = 500


def _tie_objective(p: np.ndarray, ties: np.ndarray, Q: np.ndarray) -> float:
    """The objective of (8) at ``Q``, in nats (``inf`` if ``Q`` vanishes on some ``T(x)``)."""
    mass = np.where(ties, Q[None, :], 0.0).sum(axis=1)
    return float(p @ -safe_log(mass))


def _polish_tie_randomization(p: np.ndarray, ties: np.ndarray, Q) -> np.ndarray:
    r"""Polish a minimiser of (8) by the EM update ``Q_u <- Q_u sum_{x: u in T(x)} p_x /
    sum_{T(x)} Q``, which never increases (8) (it is EM for mixture weights).

    Interior-point solvers meet the objective to ~1e-8, but (8) is flat at its
    minimiser, so ``Q`` itself is only good to ~1e-4; the updates fix the digits.
    """
    Q = np.clip(np.asarray(Q, dtype=float), 0.0, None)
    k = ties.shape[1]
    Q = Q / Q.sum() if Q.sum() > 0 else np.full(k, 1.0 / k)
    value = _tie_objective(p, ties, Q)
    if not np.isfinite(value):
        # Q vanishes on some T(x), and EM never revives a zero: start from a floor.
        Q = 0.999 * Q + 0.001 / k
        value = _tie_objective(p, ties, Q)
    B = ties.astype(float)
    for _ in range(POLISH_STEPS):
        new = Q * (B.T @ (p / (B @ Q)))
        new /= new.sum()
        new_value = _tie_objective(p, ties, new)
        if not new_value <= value:
            break
        done = float(np.max(np.abs(new - Q))) <= 1e-15
        Q, value = new, new_value
        if done:
            break
    return Q


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class DMinResult(Result):
    """A :class:`~rdconvex.Result` at ``D = D_min`` with the optimal tie randomisation.

    Attributes (besides those of :class:`~rdconvex.Result`)
    ----------
    tie_randomization : ndarray (k,)
        The minimiser ``Q`` of (8), a pmf on ``U``.
    ties : ndarray (n, k) of bool
        ``ties[x, u]``: ``u`` is in ``T(x)``, the maximum-likelihood set of ``x``.

    ``channel`` is the randomised ML decoder ``W(u|x) = Q_u / sum_{T(x)} Q`` on
    ``T(x)`` (zero elsewhere) -- for every ``x``, including zero-probability ones.
    """

    tie_randomization: np.ndarray | None = None
    ties: np.ndarray | None = None

    def __post_init__(self):
        super().__post_init__()
        for name in ("tie_randomization", "ties"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def __repr__(self) -> str:
        with np.printoptions(precision=6, suppress=True):
            return (f"DMinResult({Result.__repr__(self)[7:-1]}, "
                    f"tie_randomization={self.tie_randomization})")


@dataclass(frozen=True)
class SpecialPoints:
    r"""The special operating points of ``(X, P_{X|U})``: the interval ``[D1, D2]``.

    A ``P_U`` is *consistent* with ``(X, A)`` when ``Q >= 0``, ``sum Q = 1`` and
    ``A Q = p``; its special point is ``D* = H(X|U) = sum_u Q_u H(A[:,u])``. These
    form the interval ``[D1, D2]``, on which ``R_ll(D) = H(X) - D`` (Theorem 1-(iii),
    Corollary 1), attained by the posterior channel ``P_{U|X}`` (so ``Y ~ P_U``).

    **No consistent P_U.** Then ``interval``, ``P_U`` and ``bounds`` are ``None``,
    :attr:`exists` is false, and ``farkas`` holds a certificate: a vector ``y`` with
    ``A^T y >= 0`` and ``p^T y < 0`` (so no ``Q >= 0`` has ``A Q = p``).

    Attributes
    ----------
    interval : (float, float) or None
        ``(D1, D2)`` in ``units`` (``D1 == D2`` when there is one special point).
    P_U : (ndarray, ndarray) or None
        A consistent ``P_U`` attaining ``D1`` and one attaining ``D2`` (LP vertices
        with the default solver).
    entropy : float
        ``H(X)`` in ``units``.
    bounds : ((float, float), (float, float)) or None
        Enclosures from LP duality: ``D1 in [lower, value]`` and ``D2 in [value,
        upper]``. The dual sides (``D1``'s lower, ``D2``'s upper) are exact bounds; the
        primal sides hold for the returned ``P_U``, which satisfies ``A Q = p`` up to
        ``residual``.
    residual : float or None
        ``max_x |sum_u A[x,u] Q_u - p_x|`` over both returned ``P_U``.
    farkas : ndarray or None
        The infeasibility certificate described above (``None`` when points exist).
    column_entropy : ndarray (k,)
        ``H(A[:,u])`` in ``units``.
    units, solver, message : str
    """

    interval: tuple[float, float] | None
    P_U: tuple[np.ndarray, np.ndarray] | None
    entropy: float
    bounds: tuple[tuple[float, float], tuple[float, float]] | None
    residual: float | None
    farkas: np.ndarray | None
    column_entropy: np.ndarray
    units: str
    solver: str
    message: str
    p_x: np.ndarray = field(repr=False)
    p_x_given_u: np.ndarray = field(repr=False)

    def __post_init__(self):
        for value in (self.farkas, self.column_entropy, self.p_x, self.p_x_given_u,
                      *(self.P_U or ())):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def exists(self) -> bool:
        """Whether some ``P_U`` is consistent with ``(X, P_{X|U})``."""
        return self.interval is not None

    def contains(self, D) -> bool:
        """Whether ``D`` (in ``units``) lies in ``[D1, D2]`` (relative slack 1e-9)."""
        D = check_scalar(D, "D")
        if not self.exists:
            return False
        D1, D2 = self.interval
        slack = SPECIAL_TOL * max(1.0, abs(D1), abs(D2))
        return D1 - slack <= D <= D2 + slack

    def _check_inside(self, D) -> float:
        D = check_scalar(D, "D")
        if not self.exists:
            raise InvalidArgumentError(
                "this (X, P_X|U) has no special operating point (no P_U is consistent with "
                "it), so R_ll(D) = H(X) - D holds nowhere; use LogLikelihood.solve(D).")
        if not self.contains(D):
            D1, D2 = self.interval
            raise InvalidArgumentError(
                f"D={D!r} is outside the special-point interval [D1, D2] = [{D1:.10g}, "
                f"{D2:.10g}] ({self.units}); R_ll(D) = H(X) - D is only guaranteed there "
                "(elsewhere R_ll(D) > H(X) - D): use LogLikelihood.solve(D).")
        return D

    def rate_at(self, D) -> float:
        """``R_ll(D) = H(X) - D`` for ``D`` in ``[D1, D2]`` (Corollary 1), in ``units``."""
        return self.entropy - self._check_inside(D)

    def P_U_at(self, D) -> np.ndarray:
        """A consistent ``P_U`` with ``H(X|U) = D``: the mixture of the two ends."""
        D = self._check_inside(D)
        D1, D2 = self.interval
        t = 0.0 if D2 <= D1 else min(1.0, max(0.0, (D - D1) / (D2 - D1)))
        return (1.0 - t) * self.P_U[0] + t * self.P_U[1]

    def channel_at(self, D) -> np.ndarray:
        r"""The optimal channel at ``D`` in ``[D1, D2]``: the posterior
        ``P_{U|X}(u|x) = A[x,u] Q_u / p_x`` of ``Q = P_U_at(D)``.

        Rows of zero-probability symbols are uniform on ``argmax_u A[x,u]``.
        """
        Q = self.P_U_at(D)
        A, p = self.p_x_given_u, self.p_x
        joint = A * Q[None, :]
        row = joint.sum(axis=1, keepdims=True)
        ml = (A >= A.max(axis=1, keepdims=True)).astype(float)
        W = np.where(p[:, None] > 0, joint / np.where(row > 0, row, 1.0), 0.0)
        W[p <= 0] = ml[p <= 0] / ml[p <= 0].sum(axis=1, keepdims=True)
        return W

    def __str__(self) -> str:
        with np.printoptions(precision=6, suppress=True):
            if not self.exists:
                return ("no special operating point: no P_U is consistent with (X, P_X|U) "
                        f"({self.message}); R_ll(D) > H(X) - D for every D")
            (D1, D2), (Q1, Q2) = self.interval, self.P_U
            (lo1, hi1), (lo2, hi2) = self.bounds
            return (f"special operating points D* in [D1, D2] = [{D1:.10g}, {D2:.10g}] "
                    f"{self.units}; R_ll(D) = H(X) - D there, H(X) = {self.entropy:.10g}\n"
                    f"  P_U at D1: {Q1}\n  P_U at D2: {Q2}\n"
                    f"  certified by LP duality: D1 in [{lo1:.12g}, {hi1:.12g}], "
                    f"D2 in [{lo2:.12g}, {hi2:.12g}]; A P_U = p to {self.residual:.1e}\n"
                    f"  ({self.message})")


@dataclass(frozen=True)
class DistortionDecomposition:
    r"""The expected log-likelihood loss of a channel, written as in (4) and (5).

    .. math::
        \mathbb E\, d_{\ell\ell}(X,Y)
        = \underbrace{H(X|Y) + \mathbb E_Y\, D_{\mathrm{KL}}(W_{X|Y}\,\|\,A_{\cdot Y})}_{(4)}
        = \underbrace{\mathbb E_Y\, \mathrm{CE}(W_{X|Y}\,\|\,A_{\cdot Y})}_{(5)}

    All in ``units``; ``inf`` when the channel puts mass on a pair with ``A = 0``.
    """

    conditional_entropy: float
    kl_divergence: float
    cross_entropy: float
    distortion: float
    mutual_information: float
    units: str


# ---------------------------------------------------------------------------
# The problem class
# ---------------------------------------------------------------------------


class LogLikelihood(RateDistortion):
    r"""``R_ll(D)``: rate–distortion under log-likelihood loss (3).

    .. math::
        R_{\ell\ell}(D) = \min_{W_{Y|X}:\ \mathbb E[-\log A(X|Y)] \le D} I(X;Y),
        \qquad A = P_{X|U}

    A :class:`~rdconvex.RateDistortion` with ``d(x,u) = -log A[x,u]`` (``+inf``, a
    forbidden pair, where ``A[x,u] = 0``); :meth:`solve` takes every solver.
    ``D``, distortions and rates are all in ``units``.

    Parameters
    ----------
    p_x : array_like (n,)
        Source pmf (zero entries allowed).
    p_x_given_u : array_like (n, k)
        ``P_{X|U}``: column ``u`` is the pmf ``P_{X|U}(.|u)``; zeros are allowed.
    units : {"nats", "bits"}
    normalize : bool
        Rescale ``p_x`` and every column of ``p_x_given_u`` to sum to 1 instead of
        rejecting them.
    tie_tol : float
        Relative tie tolerance, ``0 <= tie_tol < 1``: ``u`` belongs to the
        maximum-likelihood set ``T(x)`` when ``A[x,u] >= (1 - tie_tol) max_u' A[x,u']``.
        The ``u`` in ``T(x)`` are then treated as exactly tied: their distortion is set
        to ``min_u' d(x,u')`` (a change of at most ``-log(1 - tie_tol)`` nats), so that
        ``D_min``, :meth:`solve` at ``D_min`` and program (8) agree. The default 1e-9
        only absorbs floating-point noise (e.g. ``1 - 0.9`` vs ``0.1``).

    Examples
    --------
    >>> import rdconvex as rdc
    >>> ll = rdc.LogLikelihood([0.75, 0.25], [[0.9, 0.1], [0.1, 0.9]], units="bits")
    >>> round(ll.entropy, 4), round(ll.D_min, 4), round(ll.D_max, 4)
    (0.8113, 0.152, 0.9445)
    >>> sp = ll.special_points()
    >>> [round(D, 4) for D in sp.interval], sp.P_U[0].round(4).tolist()
    ([0.469, 0.469], [0.8125, 0.1875])
    """

    _log_distortion = True
    _distortion_name = "p_x_given_u"

    def __init__(self, p_x, p_x_given_u, units: str = "nats", normalize: bool = False,
                 tie_tol: float = TIE_TOL):
        check_units(units)
        p_full = check_pmf(p_x, "p_x", normalize=normalize)
        A = check_likelihood(p_x_given_u, p_full.size, normalize=normalize)
        tie_tol = check_scalar(tie_tol, "tie_tol", minimum=0.0)
        if tie_tol >= 1.0:
            raise InvalidArgumentError(f"tie_tol={tie_tol!r} must be < 1 (it is relative to the "
                                       "row maximum of p_x_given_u).")
        row_max = A.max(axis=1)
        dead = np.flatnonzero((p_full > 0) & (row_max <= 0))
        if dead.size:
            x = int(dead[0])
            raise InvalidChannelError(
                f"row {x} of p_x_given_u is all zero, but p_x[{x}] = {float(p_full[x])!r} > 0: "
                "no u can produce this source symbol (its log-likelihood loss is inf for every "
                "u). Give some u positive probability of x, or give x probability 0.")
        ties = (A >= (1.0 - tie_tol) * row_max[:, None]) & (A > 0)
        # Rows of zero-probability symbols may be all zero: then every u is "tied".
        ties[row_max <= 0] = True
        d = -safe_log(A) + 0.0  # + 0.0 turns -0.0 into 0.0
        row_min = -safe_log(row_max)[:, None] + 0.0
        d = np.where(ties & np.isfinite(row_min), row_min, d)
        self.tie_tol = tie_tol
        super().__init__(p_full, d, units=units)
        A.flags.writeable = False
        ties.flags.writeable = False
        self.p_x_given_u = A
        self.ties = ties
        self._A = A[self._support]
        self._ties = ties[self._support]

    # ------------------------------------------------------------- properties
    @property
    def k(self) -> int:
        """Number of values of ``u`` (columns of ``P_{X|U}``)."""
        return self.m

    @property
    def entropy(self) -> float:
        """``H(X)`` in ``units``."""
        return self._rate_out(float(entr(self._p).sum()))

    @property
    def D_min(self) -> float:
        """(6): ``D_min = E_X[min_u -log A(X|u)]`` in ``units``."""
        return super().D_min

    @property
    def D_max(self) -> float:
        """(7): ``D_max = min_u E_X[-log A(X|u)]`` in ``units`` (``inf`` if every column
        vanishes on some source symbol with positive probability)."""
        return super().D_max

    # ------------------------------------------------------------- D = D_min
    def rate_at_D_min_program(self):
        """Program (8) over the tie randomisation ``Q``, unsolved (a
        :class:`~rdconvex.programs.base.Program`; ``print()`` it to read the math).

        Built over the source symbols with positive probability."""
        return loglik_programs.rate_at_d_min(self._p, self._ties)

    def rate_at_D_min(self, solver: str = "clarabel", *, tol: float | None = None,
                      max_iter: int | None = None, solver_options: dict | None = None,
                      verbose: bool = False) -> DMinResult:
        r"""``R_ll(D_min)`` by program (8), with the randomised ML decoder (Thm 1-(i)).

        .. math::
            R_{\ell\ell}(D_{\min}) = \min_{Q \in \Delta(\mathcal U)}
            \mathbb E_X\Big[-\log \sum_{u \in T(X)} Q_u\Big],\qquad
            T(x) = \arg\max_u A[x,u]

        A conic solver solves (8) itself; an iterative solver (e.g. ``"ba"``) solves
        the classical program restricted to the pairs ``u in T(x)`` and ``Q`` is its
        output pmf. Either way the channel is the randomised ML decoder
        ``W(u|x) = Q_u 1[u in T(x)] / sum_{T(x)} Q``, whose mutual information equals
        the objective of (8) at an optimal ``Q``.

        Certificate: ``upper`` is the mutual information of that channel (its
        distortion is ``D_min``); ``lower`` is the Csiszár dual bound of
        :mod:`rdconvex.certify` at a large finite slope ``s`` with output pmf ``Q``.
        As ``s -> inf`` that bound tends to the dual of (8) (``log c_x - s d_min(x) ->
        -log sum_{T(x)} Q``), so it certifies (8) -- and it bounds ``R_ll(D_min)``
        directly, without relying on Theorem 1. The slope is chosen so that the
        neglected non-ML terms weigh less than ``exp(-60)``.

        The solver's ``Q`` is polished by the EM update of (8). Where (8) is
        degenerate (an unused ``u`` whose KKT multiplier vanishes) EM converges slowly
        and ``Q`` may be off by ~1e-4 there; the rate and its certificate are not
        affected (the objective is flat at the minimiser).

        Returns
        -------
        DMinResult
            A Result with ``D = distortion = D_min``, ``slope = inf`` (when
            ``D_min < D_max``), plus ``tie_randomization`` (``Q``) and ``ties``.
        """
        adapter = get_solver(solver)
        _check_iteration_args(tol, max_iter)
        if adapter.kind == "conic":
            prog = self.rate_at_D_min_program()
            info = adapter.solve(prog, tol, max_iter, solver_options, verbose)
            Q = prog.variables_by_name["Q"].value
            if not info.status.has_point or Q is None or not np.all(np.isfinite(Q)):
                self._raise_failed(info, adapter.NAME)
            how = "program (8)"
        else:
            raw = self._solve_at_D_min(adapter, tol, max_iter, solver_options, verbose)
            Q, info = raw.output_pmf, raw.info
            how = "the classical program on the ML pairs"
        Q = _polish_tie_randomization(self._p, self._ties, Q)
        message = (f"{info.message}; D = D_min by {how}: channel = randomised ML decoder "
                   "W(u|x) = Q_u / sum_{T(x)} Q on T(x)")
        raw = RawSolution(_ml_channel(Q, self._ties), self._large_slope(), Q,
                          SolveInfo(info.status, info.iterations, info.solve_time, message))
        res = self._finish(raw, self._D_min, adapter.NAME)
        channel = np.array(res.channel)
        zero = np.setdiff1d(np.arange(self.n), self._support)
        channel[zero] = _ml_channel(Q, self.ties[zero])
        fields = {f.name: getattr(res, f.name) for f in dataclasses.fields(Result)}
        fields["channel"] = channel
        return DMinResult(**fields, tie_randomization=Q, ties=self.ties)

    # ------------------------------------------------------- special points
    def special_point_programs(self) -> dict:
        """The two LPs of :meth:`special_points`, unsolved: ``{"min": ..., "max": ...}``
        (:class:`~rdconvex.programs.base.Program`, in nats)."""
        h = _column_entropy(self.p_x_given_u)
        return {sense: loglik_programs.special_point_lp(self.p_x, self.p_x_given_u, h, sense)
                for sense in ("min", "max")}

    def special_points(self, solver: str = "highs", *, tol: float | None = None,
                       verbose: bool = False) -> SpecialPoints:
        r"""The special operating points ``[D1, D2]`` (Theorem 1-(iii), Corollary 1).

        .. math::
            D_1 = \min_{Q \in \mathcal P} \sum_u Q_u H(A_{\cdot u}),\quad
            D_2 = \max_{Q \in \mathcal P} \sum_u Q_u H(A_{\cdot u}),\quad
            \mathcal P = \{Q \ge 0,\ \textstyle\sum_u Q_u = 1,\ A Q = p\}

        ``D* = H(X|U)`` is linear in the consistent ``P_U = Q``, so the special points
        are exactly ``[D1, D2]``; on it ``R_ll(D) = H(X) - D``, the optimal channel
        is the posterior ``P_{U|X}`` and ``Y ~ P_U``.

        Parameters
        ----------
        solver : str
            ``"highs"`` (default: :func:`scipy.optimize.linprog`, a simplex vertex, so
            ``P_U`` has exact zeros) or any installed conic solver (``"clarabel"``,
            ``"scs"``, ``"ecos"``, ...) on the programs of
            :meth:`special_point_programs`.
        tol : float, optional
            Conic solvers only: the generic tolerance.

        Returns
        -------
        SpecialPoints
            With ``interval = None`` (and a Farkas certificate in ``farkas``) when no
            ``P_U`` is consistent with ``(X, A)``. Both ends are certified by LP
            duality (``bounds``), computed in float64 from the solver's dual values.
        """
        if not isinstance(solver, str):
            raise InvalidArgumentError(f"solver must be a string such as 'highs', got {solver!r}.")
        key = solver.lower()
        if tol is not None:
            check_scalar(tol, "tol", minimum=0.0)
        A, p = self.p_x_given_u, self.p_x
        h = _column_entropy(A)
        if key in LP_SOLVERS:
            ends = [_lp_highs(A, p, h, sense) for sense in ("min", "max")]
            name = "highs"
        else:
            adapter = get_solver(solver, allowed=tuple(CONIC))
            programs = self.special_point_programs()
            ends = [_lp_conic(programs[sense], adapter, A, p, h, sense, tol, verbose)
                    for sense in ("min", "max")]
            name = adapter.NAME
        scale = self._rate_scale
        common = dict(entropy=self.entropy, column_entropy=h * scale, units=self.units,
                      solver=name, p_x=self.p_x, p_x_given_u=self.p_x_given_u)
        if any(end is None for end in ends):
            farkas = _farkas(A, p)
            margin = -float(p @ farkas) if farkas is not None else 0.0
            message = (f"{name}: the LP is infeasible; "
                       + (f"certified: y has A^T y >= 0 and p^T y = {-margin:.3e} < 0"
                          if margin > 0 else "no Farkas certificate found (p sits on the "
                                             "boundary of the cone of the columns)"))
            return SpecialPoints(interval=None, P_U=None, bounds=None, residual=None,
                                 farkas=farkas if margin > 0 else None, message=message,
                                 **common)
        (Q1, lower1), (Q2, upper2) = ends
        D1, D2 = float(h @ Q1), float(h @ Q2)
        if D1 > D2:  # a single point, up to rounding
            D1 = D2 = 0.5 * (D1 + D2)
        residual = max(float(np.max(np.abs(A @ Q - p))) for Q in (Q1, Q2))
        bounds = ((min(lower1, D1) * scale, D1 * scale), (D2 * scale, max(upper2, D2) * scale))
        return SpecialPoints(interval=(D1 * scale, D2 * scale), P_U=(Q1, Q2), bounds=bounds,
                             residual=residual, farkas=None,
                             message=f"{name}: both LPs optimal", **common)

    # ------------------------------------------------------ decomposition
    def distortion_decomposition(self, channel) -> DistortionDecomposition:
        r"""The expected loss of ``channel`` in the forms (4) and (5).

        .. math::
            \mathbb E\, d_{\ell\ell} = H(X|Y) + \sum_y q_y\, D_{\mathrm{KL}}(W_{X|Y=y} \|
            A_{\cdot y}) = \sum_y q_y\, \mathrm{CE}(W_{X|Y=y} \| A_{\cdot y})

        Parameters
        ----------
        channel : array_like (n, k)
            ``W_{Y|X}`` (rows sum to 1; rows of zero-probability symbols are ignored).

        Returns
        -------
        DistortionDecomposition
            ``conditional_entropy`` (H(X|Y)), ``kl_divergence`` (the averaged KL term
            of (4)), ``cross_entropy`` (5), ``distortion`` (``E d(X,Y)`` of this
            problem's distortion matrix, computed directly) and ``mutual_information``,
            all in ``units``. The first two add up to the third, which equals the
            fourth up to the tie snapping (``<= -log(1 - tie_tol)``). The KL term and
            ``H(X|Y)`` are clipped at 0 (float rounding can leave them at -1e-16).
        """
        W = check_channel(channel, (self.n, self.k), "channel")
        joint = self.p_x[:, None] * W
        q = joint.sum(axis=0)
        A = self.p_x_given_u
        conditional = -float(np.sum(rel_entr(joint, np.broadcast_to(q, joint.shape))))
        kl = float(np.sum(rel_entr(joint, q[None, :] * A)))
        cross = -float(np.sum(xlogy(joint, A)))
        distortion = expected_distortion(self._p, W[self._support], self._d)
        information = float(entr(self._p).sum()) - conditional
        s = self._rate_scale
        return DistortionDecomposition(conditional_entropy=max(conditional, 0.0) * s,
                                       kl_divergence=max(kl, 0.0) * s,
                                       cross_entropy=cross * s,
                                       distortion=distortion * s,
                                       mutual_information=max(information, 0.0) * s,
                                       units=self.units)


def _check_iteration_args(tol, max_iter) -> None:
    if tol is not None:
        check_scalar(tol, "tol", minimum=0.0)
    if max_iter is not None and (isinstance(max_iter, bool) or not isinstance(max_iter, int)
                                 or max_iter < 1):
        raise InvalidArgumentError(f"max_iter={max_iter!r} must be a positive integer.")


# ---------------------------------------------------------------------------
# LP helpers (special points)
# ---------------------------------------------------------------------------


def _dual_lower_bound(A_eq: np.ndarray, b_eq: np.ndarray, c: np.ndarray, y) -> float:
    r"""A valid lower bound on ``min c^T Q s.t. A_eq Q = b_eq, Q >= 0`` from any ``y``.

    Weak duality: ``b^T y <= c^T Q`` whenever ``A_eq^T y <= c``. The last row of
    ``A_eq`` is all ones (``sum Q = 1``), so lowering its multiplier by the largest
    violation makes any ``y`` feasible. Both signs of ``y`` are tried (solvers differ in
    their sign conventions); each repaired candidate is a valid bound.
    """
    best = -math.inf
    y = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(y)):
        return best
    for candidate in (y, -y):
        candidate = candidate.copy()
        violation = float(np.max(A_eq.T @ candidate - c))
        candidate[-1] -= max(violation, 0.0)
        best = max(best, float(b_eq @ candidate))
    return best


def _lp_data(A, p, h, sense):
    A_eq = np.vstack([A, np.ones(A.shape[1])])
    b_eq = np.append(p, 1.0)
    c = h if sense == "min" else -h
    return A_eq, b_eq, c


def _clean(Q) -> np.ndarray:
    Q = np.clip(np.asarray(Q, dtype=float), 0.0, None)
    return Q / Q.sum()


def _finish_end(Q, y, A, p, h, sense):
    """``(Q, bound)``: the cleaned P_U and the dual bound on its end (min: lower bound on
    D1; max: upper bound on D2), in nats."""
    A_eq, b_eq, c = _lp_data(A, p, h, sense)
    bound = _dual_lower_bound(A_eq, b_eq, c, y)
    return _clean(Q), (bound if sense == "min" else -bound)


def _lp_highs(A, p, h, sense):
    """Solve one end with HiGHS; ``None`` when the polytope is empty."""
    A_eq, b_eq, c = _lp_data(A, p, h, sense)
    res = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status == 2:
        return None
    if res.status != 0 or res.x is None:
        raise SolverError(f"highs could not solve the special-point LP ({res.message}); try "
                          "solver='clarabel'.", partial=None)
    return _finish_end(res.x, res.eqlin.marginals, A, p, h, sense)


def _lp_conic(program, adapter, A, p, h, sense, tol, verbose):
    """Solve one end's Program with a conic solver; ``None`` when infeasible."""
    info = adapter.solve(program, tol, None, None, verbose)
    if info.status is Status.INFEASIBLE:
        return None
    Q = program.variables_by_name["Q"].value
    if not info.status.has_point or Q is None or not np.all(np.isfinite(Q)):
        raise SolverError(f"solver {adapter.NAME!r} could not solve the special-point LP "
                          f"({info.message}); try solver='highs'.", partial=None)
    y = np.append(program["consistency"].dual_value, program["simplex"].dual_value)
    return _finish_end(Q, y, A, p, h, sense)


def _farkas(A, p) -> np.ndarray | None:
    r"""``y`` with ``A^T y >= 0`` and ``p^T y < 0`` (no ``Q >= 0`` has ``A Q = p``).

    Found by HiGHS (``min p^T y`` over ``A^T y >= 0``, ``|y| <= 1``) and repaired so
    ``A^T y >= 0`` holds in float64: columns of ``A`` sum to 1, so adding a constant to
    ``y`` adds it to ``A^T y`` and to ``p^T y``.
    """
    n, k = A.shape
    res = linprog(p, A_ub=-A.T, b_ub=np.zeros(k), bounds=(-1, 1), method="highs")
    if res.status != 0 or res.x is None:
        return None
    y = res.x
    for _ in range(3):  # the shift itself rounds; one more ulp-sized step settles it
        low = float(np.min(A.T @ y))
        if low >= 0:
            break
        y = y - low + 4 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(y))))
    return y if float(np.min(A.T @ y)) >= 0 and float(p @ y) < 0 else None


# ---------------------------------------------------------------------------
# Log-loss
# ---------------------------------------------------------------------------


def log_loss_rate(p_x, D, units: str = "nats", normalize: bool = False):
    r"""``R_l(D)``, the rate–distortion function under log-loss (9)–(10).

    .. math:: R_\ell(D) = \max\{H(X) - D,\ 0\}, \qquad D \ge 0

    (``H(X) - D`` on ``[0, H(X)]``, zero beyond). It lower-bounds ``R_ll`` for every
    ``P_{X|U}`` (Theorem 2).

    Parameters
    ----------
    p_x : array_like (n,)
        Source pmf.
    D : float or array_like
        Distortion(s) ``>= 0`` in ``units``.
    units : {"nats", "bits"}
    normalize : bool
        Rescale ``p_x`` to sum to 1 instead of rejecting it.

    Returns
    -------
    float or ndarray
        ``R_l(D)`` in ``units`` (an array when ``D`` is one).

    Examples
    --------
    >>> import rdconvex as rdc
    >>> round(rdc.log_loss_rate([0.75, 0.25], 0.469, units="bits"), 4)
    0.3423
    """
    p = check_pmf(p_x, "p_x", normalize=normalize)
    units = check_units(units)
    if np.ndim(D) == 0:
        return closed_forms.log_loss_rate(p, check_scalar(D, "D", minimum=0.0), units)
    values = _as_float_array(D, "D", InvalidArgumentError)
    if values.ndim != 1:
        raise InvalidArgumentError(f"D must be a number or a 1-D array, got shape {values.shape}.")
    for i, value in enumerate(values):
        check_scalar(float(value), f"D[{i}]", minimum=0.0)
    return np.array([closed_forms.log_loss_rate(p, float(value), units) for value in values])


__all__ = ["LogLikelihood", "SpecialPoints", "DMinResult", "DistortionDecomposition",
           "log_loss_rate", "check_likelihood", "TIE_TOL"]
