r"""Rate–distortion under log-likelihood loss (Sections II–III of the paper).

Given a source ``X ~ p`` and a conditional pmf ``A = P_{X|U}`` (rows ``x``, columns
``u``; every column a pmf), the log-likelihood loss (1) is

.. math:: d_{\ell\ell}(x, u) = -\log A[x, u] \qquad (+\infty \text{ where } A[x,u] = 0)

and ``R_ll(D)`` is the classical rate–distortion function (2) with that distortion, so
:class:`LogLikelihood` is a :class:`~rdconvex.RateDistortion` (same ``solve`` and
``curve``, same solvers, same certificates) with three extras from Theorem 1:

* :meth:`LogLikelihood.rate_at_D_min` -- program (8), the randomised
  maximum-likelihood decoder at ``D_min`` (certified by
  :func:`rdconvex.certify.loglik.certify_d_min`);
* :meth:`LogLikelihood.special_points` -- the interval ``[D1, D2]`` of special
  operating points ``D* = H(X|U)`` over every ``P_U`` consistent with ``(X, A)``, on
  which ``R_ll(D) = H(X) - D`` (Theorem 1-(iii), Corollary 1), certified by LP duality
  or, when empty, by a Farkas vector (:mod:`rdconvex.certify.loglik`);
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

import numpy as np
from scipy.special import entr, rel_entr, xlogy

from .. import closed_forms
from .._validation import (
    SUM_TOL,
    as_float_array,
    check_channel,
    check_iteration_args,
    check_pmf,
    check_scalar,
    check_units,
)
from ..atoms import entropy_value, expected_distortion
from ..certify.loglik import (
    certify_d_min,
    certify_special_points,
    farkas_certificate,
    polish_tie_randomization,
)
from ..errors import InvalidArgumentError, InvalidChannelError, SolverError
from ..numerics import LARGE_SLOPE_MARGIN, large_slope, safe_log
from ..programs.loglik import (
    decoder_channel,
    rate_at_d_min,
    special_point_lp,
    special_point_lp_arrays,
)
from ..results import RawSolution, SolveInfo, Status
from ..rigorous import in_bits
from ..solvers import get_solver, installed_solvers
from . import classical_points
from .base import CertifiedPoint, Source, Units, finish
from .classical import RateDistortion
from .loglik_results import DistortionDecomposition, DMinResult, SpecialPoints


def check_likelihood(A, n: int, normalize: bool = False,
                     name: str = "p_x_given_u") -> np.ndarray:
    """Validate ``P_{X|U}``: shape ``(n, k)``, finite, ``>= 0``, every column a pmf.

    Returns a float64 copy: the entries exactly as given when every column sums to 1
    within :data:`~rdconvex._validation.SUM_TOL` (the problem is the one these floats
    define: nothing is rounded away), or divided by their column sums when
    ``normalize`` is true.

    Examples
    --------
    >>> check_likelihood([[9, 1], [1, 9]], 2, normalize=True).tolist()
    [[0.9, 0.1], [0.1, 0.9]]
    >>> float(check_likelihood([[0.9, 0.1], [0.1, 0.9 + 1e-12]], 2)[1, 1]) == 0.9 + 1e-12
    True
    """
    A = as_float_array(A, name, InvalidChannelError)
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
    return A / sums[None, :] if normalize else A.copy()


def maximum_likelihood_sets(A: np.ndarray) -> np.ndarray:
    """``T(x) = argmax_u A[x,u]``, exactly (float equality): boolean ``(n, k)``.

    No tolerance: entries ``1e-10`` or one ulp below the row maximum are not in
    ``T(x)`` (the problem is the one the floats define). An all-zero row (a symbol of
    probability 0) has every ``u`` in its set."""
    row_max = A.max(axis=1, keepdims=True)
    ties = (A == row_max) & (A > 0)
    ties[row_max[:, 0] <= 0] = True
    return ties


def _log_loss(A: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``d = -log A`` (``+inf`` where ``A = 0``) in float64, after checking that every
    symbol of positive probability is produced by some ``u``."""
    dead = np.flatnonzero((p > 0) & (A.max(axis=1) <= 0))
    if dead.size:
        x = int(dead[0])
        raise InvalidChannelError(
            f"row {x} of p_x_given_u is all zero, but p_x[{x}] = {float(p[x])!r} > 0: "
            "no u can produce this source symbol (its log-likelihood loss is inf for every "
            "u). Give some u positive probability of x, or give x probability 0.")
    return -safe_log(A) + 0.0  # + 0.0 turns -0.0 into 0.0


class LogLikelihood(RateDistortion):
    r"""``R_ll(D)``: rate–distortion under log-likelihood loss (3).

    .. math::
        R_{\ell\ell}(D) = \min_{W_{Y|X}:\ \mathbb E[-\log A(X|Y)] \le D} I(X;Y),
        \qquad A = P_{X|U}

    A :class:`~rdconvex.RateDistortion` with ``d(x,u) = -log A[x,u]`` (``+inf``, a
    forbidden pair, where ``A[x,u] = 0``); :meth:`solve` and :meth:`curve` take every
    solver (default ``"ba"``). ``D``, distortions and rates are all in ``units``.

    Parameters
    ----------
    p_x : array_like, shape (n,)
        Source pmf (zero entries allowed).
    p_x_given_u : array_like, shape (n, k)
        ``P_{X|U}``: column ``u`` is the pmf ``P_{X|U}(.|u)``; zeros are allowed.
    units : {"nats", "bits"}
    normalize : bool
        Rescale ``p_x`` and every column of ``p_x_given_u`` to sum to 1 instead of
        rejecting them.

    Notes
    -----
    The problem is the one these floats define: ``p_x / sum p_x`` and ``A`` exactly as
    given (columns are rescaled only with ``normalize=True``). The maximum-likelihood
    sets ``T(x)`` of (8) are the *exact* row maxima of ``A`` (:attr:`ties`): two
    entries ``1e-10`` or one ulp apart are not tied. Every certificate is proven on
    ``d' = log(max_u A[x,u] / A[x,u])`` formed from ``A`` itself
    (:meth:`rdconvex.rigorous.ShiftedProblem.from_likelihood`), so a nearly
    uninformative ``A`` (a large ``-log A`` offset, tiny differences) gives true bounds.

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

    def __init__(self, p_x, p_x_given_u, units: str = "nats", normalize: bool = False):
        # RateDistortion.__init__ with the likelihood kept: the certificates' exact data
        # (Source.exact) are built from A itself, not from the rounded -log A.
        self._units = Units(units, log_distortion=self._log_distortion)
        p_full = check_pmf(p_x, "p_x", normalize=normalize)
        A = check_likelihood(p_x_given_u, p_full.size, normalize=normalize)
        d_full = _log_loss(A, p_full)
        A.flags.writeable = False
        self.source = Source.from_arrays(p_full, d_full, likelihood=A)
        self.p_x_given_u = A
        ties = maximum_likelihood_sets(A)
        ties.flags.writeable = False
        #: ``ties[x, u]``: ``u`` is in ``T(x)``, the exact argmax of row ``x`` of ``A``.
        self.ties = ties

    # ------------------------------------------------------------- properties
    @property
    def k(self) -> int:
        """Number of values of ``u`` (columns of ``P_{X|U}``)."""
        return self.m

    @property
    def entropy(self) -> float:
        """``H(X)`` in ``units``."""
        return self._units.rate_out(entropy_value(self.source.p))

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
        return rate_at_d_min(self.source.p, self.ties[self.source.support])

    def rate_at_D_min(self, solver: str | None = "clarabel", *, tol: float | None = None,
                      max_iter: int | None = None, solver_options: dict | None = None,
                      verbose: bool = False) -> DMinResult:
        r"""``R_ll(D_min)`` by program (8), with the randomised ML decoder (Thm 1-(i)).

        .. math::
            R_{\ell\ell}(D_{\min}) = \min_{Q \in \Delta(\mathcal U)}
            \mathbb E_X\Big[-\log \sum_{u \in T(X)} Q_u\Big],\qquad
            T(x) = \arg\max_u A[x,u]

        ``T(x)`` is the exact argmax (float equality, :attr:`ties`). A conic solver
        (default ``"clarabel"``; ``None`` is the ``"program"`` default of
        :data:`rdconvex.solvers.DEFAULTS`) solves (8) itself; an iterative solver
        (``"ba"``) solves the classical program restricted to the pairs ``u in T(x)``
        and ``Q`` is its output pmf. Either way ``Q`` is polished by EM steps of (8)
        and the channel is the randomised ML decoder
        ``W(u|x) = Q_u 1[u in T(x)] / sum_{T(x)} Q``.

        Certificate (:func:`rdconvex.certify.loglik.certify_d_min`), proven for the
        exact ``p`` and ``A``: ``upper`` is the mutual information of that decoder (its
        distortion is exactly ``D_min``), ``lower`` the dual of (8) at ``Q``
        (Csiszár's bound at slope ``+inf``). ``result.proof`` is its certificate file
        (``Result.save_certificate``). Where (8) is degenerate (an unused ``u`` whose
        KKT multiplier vanishes) ``Q`` may be off by ~1e-4 there; the rate and its
        certificate are not affected (the objective is flat at the minimiser).

        Parameters
        ----------
        solver : str, optional
            Any installed solver.
        tol : float, optional
            The solver's tolerance, and the certified gap (nats) below which the
            status is ``"optimal"`` (default :data:`~rdconvex.results.DEFAULT_GAP_TOL`).
        max_iter, solver_options, verbose :
            As in :meth:`solve`.

        Returns
        -------
        DMinResult
            A Result with ``D = distortion = D_min``, ``slope = inf`` (when
            ``D_min < D_max``), plus ``tie_randomization`` (``Q``) and ``ties``.
        """
        iterative = (isinstance(solver, str)
                     and solver.lower() in installed_solvers(kind="iterative"))
        adapter = get_solver(solver, task="rate_distortion" if iterative else "program")
        check_iteration_args(tol, max_iter)
        src = self.source
        ties = src.exact.minimisers  # the exact argmax pairs of the reduced rows
        if iterative:  # the classical program on the exact ML pairs
            raw = classical_points.solve_at_D_min(src, adapter, tol, max_iter,
                                                  solver_options, verbose)
            Q, info, how = raw.output_pmf, raw.info, "the classical program on the ML pairs"
        else:
            program = rate_at_d_min(src.p, ties)
            info = adapter.solve(program, tol, max_iter, solver_options, verbose)
            Q, how = program.read_point(), "program (8)"
            if not info.status.has_point or Q is None:
                raise adapter.failed(info)
        Q = polish_tie_randomization(src.p, ties, Q)
        message = (f"{info.message}; D = D_min by {how}: channel = randomised ML decoder "
                   "W(u|x) = Q_u / sum_{T(x)} Q on T(x)")
        # The slope is infinite at D_min, unless the curve is one point: D_min = D_max
        # exactly when some u is in every T(x) (decided on the exact ties, not floats).
        one_point = bool(np.any(ties.all(axis=0)))
        slope = large_slope(src.d, LARGE_SLOPE_MARGIN) if one_point else math.inf
        raw = RawSolution(decoder_channel(Q, ties), slope, Q,
                          SolveInfo(info.status, info.iterations, info.solve_time, message))

        def certify(raw: RawSolution, D) -> CertifiedPoint:
            point = certify_d_min(src.exact, raw.output_pmf)
            proof = ("rate_distortion", {"D": "D_min"}, {"channel": point.channel},
                     {"slope": math.inf, "log_c": point.log_c})
            return CertifiedPoint(point.channel, src.D_min, point.certificate, slope, proof)

        result = finish(src, self._units, raw, D=src.D_min, solver=adapter.NAME,
                        certify=certify, result_type=DMinResult, tol=tol,
                        extras={"tie_randomization": Q, "ties": self.ties})
        if src.support.size == self.n:
            return result
        # Zero-probability symbols get the ML rule of the same Q, not the argmin rule.
        channel = np.array(result.channel)
        zero = np.setdiff1d(np.arange(self.n), src.support)
        channel[zero] = decoder_channel(Q, self.ties[zero])
        proof = dataclasses.replace(result.proof, primal={"channel": channel})
        return dataclasses.replace(result, channel=channel, proof=proof)

    # ------------------------------------------------------- special points
    def special_point_programs(self) -> dict:
        """The two LPs of :meth:`special_points`, unsolved: ``{"min": ..., "max": ...}``
        (:class:`~rdconvex.programs.base.Program`, in nats)."""
        h = entr(self.p_x_given_u).sum(axis=0)
        return {sense: special_point_lp(self.p_x, self.p_x_given_u, h, sense)
                for sense in ("min", "max")}

    def special_points(self, solver: str | None = "highs", *, tol: float | None = None,
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
        solver : str, optional
            ``"highs"`` (default, also ``None``: a simplex vertex, so ``P_U`` has exact
            zeros) or any installed conic solver (``"clarabel"``, ``"scs"``,
            ``"ecos"``, ...) on the programs of :meth:`special_point_programs`.
        tol : float, optional
            The generic tolerance of the solver.

        Returns
        -------
        SpecialPoints
            With ``interval = None`` (and a Farkas certificate in ``farkas``) when no
            ``P_U`` is consistent with ``(X, A)``. Both ends are certified by LP
            duality (``bounds``, :func:`rdconvex.certify.loglik.certify_special_points`).
        """
        if solver is not None and not isinstance(solver, str):
            raise InvalidArgumentError(f"solver must be a string such as 'highs', got {solver!r}.")
        adapter = get_solver(solver, task="lp")
        check_iteration_args(tol, None)
        A, p = self.p_x_given_u, self.p_x
        h = entr(A).sum(axis=0)
        ends = [_special_point_lp(adapter, p, A, h, sense, tol, verbose)
                for sense in ("min", "max")]
        scale, name = self._units.rate_scale, adapter.NAME
        common = dict(entropy=self.entropy, column_entropy=h * scale, units=self.units,
                      solver=name, p_x=p, p_x_given_u=A)
        if any(end is None for end in ends):
            farkas = farkas_certificate(A, p)
            message = (f"{name}: the LP is infeasible; " + (
                f"certified: y has A^T y >= 0 and p^T y = {float(p @ farkas):.3e} < 0"
                if farkas is not None else
                "no Farkas certificate found (p sits on the boundary of the cone of the "
                "columns)"))
            return SpecialPoints(interval=None, P_U=None, bounds=None, residual=None,
                                 farkas=farkas, message=message, **common)
        enclosure = certify_special_points(p, A, ends)
        D1, D2 = enclosure.interval
        bounds = tuple(in_bits(*end) if scale != 1.0 else end for end in enclosure.bounds)
        return SpecialPoints(interval=(D1 * scale, D2 * scale), P_U=enclosure.P_U,
                             bounds=bounds, residual=enclosure.residual, farkas=None,
                             message=f"{name}: both LPs optimal", **common)

    # ------------------------------------------------------ decomposition
    def distortion_decomposition(self, channel) -> DistortionDecomposition:
        r"""The expected loss of ``channel`` in the forms (4) and (5).

        .. math::
            \mathbb E\, d_{\ell\ell} = H(X|Y) + \sum_y q_y\, D_{\mathrm{KL}}(W_{X|Y=y} \|
            A_{\cdot y}) = \sum_y q_y\, \mathrm{CE}(W_{X|Y=y} \| A_{\cdot y})

        Parameters
        ----------
        channel : array_like, shape (n, k)
            ``W_{Y|X}`` (rows sum to 1; rows of zero-probability symbols are ignored).

        Returns
        -------
        DistortionDecomposition
            ``conditional_entropy`` (H(X|Y)), ``kl_divergence`` (the averaged KL term
            of (4)), ``cross_entropy`` (5), ``distortion`` (``E d(X,Y)`` of this
            problem's distortion matrix, computed directly) and ``mutual_information``,
            all in ``units``. The first two add up to the third, which equals the
            fourth up to rounding. The KL term and
            ``H(X|Y)`` are clipped at 0 (float rounding can leave them at -1e-16).
        """
        W = check_channel(channel, (self.n, self.k), "channel")
        joint = self.p_x[:, None] * W
        q = joint.sum(axis=0)
        A, src = self.p_x_given_u, self.source
        conditional = -float(np.sum(rel_entr(joint, np.broadcast_to(q, joint.shape))))
        kl = float(np.sum(rel_entr(joint, q[None, :] * A)))
        cross = -float(np.sum(xlogy(joint, A)))
        distortion = expected_distortion(src.p, W[src.support], src.d)
        information = entropy_value(src.p) - conditional
        s = self._units.rate_scale
        return DistortionDecomposition(conditional_entropy=max(conditional, 0.0) * s,
                                       kl_divergence=max(kl, 0.0) * s,
                                       cross_entropy=cross * s,
                                       distortion=distortion * s,
                                       mutual_information=max(information, 0.0) * s,
                                       units=self.units)


def _special_point_lp(adapter, p, A, h, sense, tol, verbose):
    """Solve one end's LP: ``(Q, duals)``, or ``None`` when the polytope is empty."""
    if adapter.KIND == "lp":
        c, A_eq, b_eq = special_point_lp_arrays(p, A, h, sense)
        solution = adapter.solve_lp(c, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), tol=tol)
        info, usable = solution.info, solution.info.status.is_exact
        point = (None if solution.x is None or solution.eq_duals is None
                 else (solution.x, solution.eq_duals))
        fallback = "clarabel"
    else:
        program = special_point_lp(p, A, h, sense)
        info = adapter.solve(program, tol, None, None, verbose)
        usable, point, fallback = info.status.has_point, program.read_point(), "highs"
    if info.status is Status.INFEASIBLE:
        return None
    if not usable or point is None or not np.all(np.isfinite(point[0])):
        raise SolverError(f"solver {adapter.NAME!r} could not solve the special-point LP "
                          f"({info.message}); try solver={fallback!r}.", partial=None)
    return point


def log_loss_rate(p_x, D, units: str = "nats", normalize: bool = False):
    r"""``R_l(D)``, the rate–distortion function under log-loss (9)–(10).

    .. math:: R_\ell(D) = \max\{H(X) - D,\ 0\}, \qquad D \ge 0

    (``H(X) - D`` on ``[0, H(X)]``, zero beyond). It lower-bounds ``R_ll`` for every
    ``P_{X|U}`` (Theorem 2).

    Parameters
    ----------
    p_x : array_like, shape (n,)
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
    values = as_float_array(D, "D", InvalidArgumentError)
    if values.ndim != 1:
        raise InvalidArgumentError(f"D must be a number or a 1-D array, got shape {values.shape}.")
    for i, value in enumerate(values):
        check_scalar(float(value), f"D[{i}]", minimum=0.0)
    return np.array([closed_forms.log_loss_rate(p, float(value), units) for value in values])


__all__ = ["LogLikelihood", "log_loss_rate", "check_likelihood", "maximum_likelihood_sets",
           "SpecialPoints", "DMinResult", "DistortionDecomposition"]
