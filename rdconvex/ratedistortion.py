"""`RateDistortion`: the classical R(D) of a finite source, solved and certified."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.special import logsumexp

from . import certify as _certify
from . import screening
from ._validation import (
    UNITS,
    check_distortion,
    check_pmf,
    check_rows_finite,
    check_scalar,
    check_units,
)
from .errors import (
    InaccurateSolutionWarning,
    InfeasibleDistortionError,
    InvalidArgumentError,
    SolverError,
)
from .programs import classical
from .results import Certificate, Result, Status
from .solvers import get_solver
from .solvers.base import RawSolution, SolveInfo

#: Relative tolerance within which a requested D counts as exactly D_min or D_max.
D_SNAP = 1e-12

#: At D = D_min the slope is infinite; the lower bound uses a finite slope large
#: enough that the neglected terms are below exp(-LARGE_SLOPE_MARGIN).
LARGE_SLOPE_MARGIN = 60.0


class RateDistortion:
    r"""The classical rate–distortion function (2) of a finite source.

    .. math::
        R(D) = \min_{W_{Y|X}:\ \mathbb E\, d(X,Y) \le D} I(X;Y)

    Parameters
    ----------
    p_x : array_like, shape (n,)
        Source pmf. Zero entries are allowed (those symbols are dropped from the
        programs; their channel rows follow the rule in :meth:`solve`).
    d : array_like, shape (n, m)
        Distortion, entries in ``[0, inf]``; ``inf`` marks a forbidden pair.
    units : {"nats", "bits"}
        Units of rates (and of slopes, per unit of distortion).
    normalize : bool
        Rescale ``p_x`` to sum to 1 instead of rejecting it.

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> prob = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    >>> res = prob.solve(D=0.1)
    >>> round(res.rate, 6), res.certificate.gap < 1e-6
    (0.285781, True)
    """

    #: distortion values are converted with the rate units (log-likelihood) or not.
    _log_distortion = False

    def __init__(self, p_x, d, units: str = "nats", normalize: bool = False):
        self.units = check_units(units)
        p_full = check_pmf(p_x, "p_x", normalize=normalize)
        d_full = check_distortion(d, p_full.size, self._distortion_name)
        check_rows_finite(d_full, p_full, self._distortion_name)
        p_full.flags.writeable = False
        d_full.flags.writeable = False
        self.p_x = p_full
        self.d = d_full
        self._support = np.flatnonzero(p_full > 0)
        self._p = p_full[self._support]
        self._d = d_full[self._support]
        self._D_min = float(self._p @ self._d.min(axis=1))
        with np.errstate(invalid="ignore"):
            column_mean = np.where(np.isfinite(self._d), self._d, np.inf)
            column_mean = np.array([self._p @ column_mean[:, y] for y in range(self.m)])
        self._best_column = int(np.argmin(column_mean))
        finite = self._d[np.isfinite(self._d)]
        self._scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        self._D_max = float(column_mean[self._best_column])

    _distortion_name = "d"

    # ------------------------------------------------------------------ units
    @property
    def _rate_scale(self) -> float:
        return UNITS[self.units]

    @property
    def _distortion_scale(self) -> float:
        return UNITS[self.units] if self._log_distortion else 1.0

    def _D_in(self, D) -> float:
        return check_scalar(D, "D") / self._distortion_scale

    def _D_out(self, D: float) -> float:
        return D * self._distortion_scale

    def _rate_out(self, rate: float) -> float:
        return rate * self._rate_scale

    def _slope_out(self, slope: float) -> float:
        return slope * self._rate_scale / self._distortion_scale

    # ------------------------------------------------------------- properties
    @property
    def n(self) -> int:
        """Number of source symbols (including zero-probability ones)."""
        return self.d.shape[0]

    @property
    def m(self) -> int:
        """Number of reconstruction symbols."""
        return self.d.shape[1]

    @property
    def D_min(self) -> float:
        """``sum_x p_x min_y d(x,y)``: the smallest achievable distortion."""
        return self._D_out(self._D_min)

    @property
    def D_max(self) -> float:
        """``min_y sum_x p_x d(x,y)``: from here on ``R(D) = 0`` (``inf`` if no column
        is allowed for every source symbol)."""
        return self._D_out(self._D_max)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n={self.n}, m={self.m}, units={self.units!r}, "
                f"D_min={self.D_min:.6g}, D_max={self.D_max:.6g})")

    # --------------------------------------------------------------- programs
    def program(self, D=None, *, slope=None):
        """The primal program (2) at ``D`` (or its Lagrangian at ``slope``), unsolved.

        Returns a :class:`~rdconvex.programs.base.Program` (a ``cvxpy.Problem``) in
        nats over the source symbols with positive probability; ``print()`` it to
        read the math. Named constraints: ``source marginal``, ``output marginal``,
        ``distortion``, ``forbidden``.
        """
        D_int, slope_int = self._check_target(D, slope, allow_any_D=True)
        return classical.primal(self._p, self._d, D=D_int, slope=slope_int)

    def dual_program(self, D):
        """The Gallager/Csiszár dual at ``D``, unsolved (DCP in ``(g, s)``), in nats."""
        D_int, _ = self._check_target(D, None, allow_any_D=True)
        return classical.dual(self._p, self._d, D_int)

    # ------------------------------------------------------------------ solve
    def _check_target(self, D, slope, allow_any_D=False):
        if (D is None) == (slope is None):
            raise InvalidArgumentError("give exactly one of D=... or slope=....")
        if slope is not None:
            slope_user = check_scalar(slope, "slope", minimum=0.0)
            return None, slope_user * self._distortion_scale / self._rate_scale
        D_int = self._D_in(D)
        if D_int < self._D_min - D_SNAP * max(1.0, abs(self._D_min)):
            raise InfeasibleDistortionError(
                f"D={D!r} is below D_min={self.D_min:.10g}"
                f"{' (' + self.units + ')' if self._log_distortion else ''} for this source: "
                "no channel has so small an expected distortion. Use D >= D_min.")
        if not allow_any_D:
            D_int = max(D_int, self._D_min)
        return D_int, None

    def solve(self, D=None, *, slope=None, solver: str = "clarabel", tol: float | None = None,
              max_iter: int | None = None, solver_options: dict | None = None,
              formulation: str = "primal", screen="auto", verbose: bool = False,
              callback=None, warm_start=None) -> Result:
        """Solve ``R(D)`` (or the curve point at ``slope``) and certify the answer.

        Parameters
        ----------
        D : float
            Target distortion (``>= D_min``). ``D >= D_max`` returns rate 0 at once.
        slope : float
            Instead of ``D``: the point where ``-dR/dD = slope`` (``slope >= 0``).
        solver : str
            ``"clarabel"``, ``"scs"``, ``"ecos"``, ``"mosek"`` (if installed) or an
            iterative solver such as ``"ba"``; see :func:`rdconvex.installed_solvers`.
        tol, max_iter : optional
            Generic tolerance and iteration cap, translated per solver.
        solver_options : dict, optional
            Passed to the solver untouched (wins over the translated options).
        formulation : {"primal", "dual"}
            Conic solvers only: solve the primal (2) or the Gallager dual.
        screen : {"auto", True, False}
            Conic solvers only: solve on a screened output support and certify the
            excluded outputs by their dual constraints (:mod:`rdconvex.screening`);
            ``"auto"`` screens problems with at least 2500 distortion entries.
        callback : callable, optional
            Iterative solvers only: called with their progress after each check.
        warm_start : Result, optional
            Iterative solvers only: start from this result's slope and output pmf
            (e.g. the previous point of a sweep, as :meth:`curve` does).

        Returns
        -------
        Result
            Rate, distortion, slope, channel, output pmf and a certificate. Channel
            rows of zero-probability source symbols follow the parametric rule
            ``W(y|x) ∝ q_y exp(-s d(x,y))`` at the returned slope (uniform on
            ``argmin_y d(x,y)`` when that is empty or the slope is infinite).

        Raises
        ------
        InfeasibleDistortionError
            ``D < D_min``.
        SolverError
            The solver returned no usable point (``.partial`` has what there was).
        """
        D_int, slope_int = self._check_target(D, slope)
        if formulation not in ("primal", "dual"):
            raise InvalidArgumentError(
                f"formulation={formulation!r} is not supported; use 'primal' or 'dual'.")
        adapter = get_solver(solver)
        if tol is not None:
            check_scalar(tol, "tol", minimum=0.0)
        if max_iter is not None and (isinstance(max_iter, bool) or not isinstance(max_iter, int)
                                     or max_iter < 1):
            raise InvalidArgumentError(f"max_iter={max_iter!r} must be a positive integer.")

        if slope_int == 0.0 or (D_int is not None and D_int >= self._D_max):
            return self._rate_zero(D_int if D_int is not None else self._D_max, adapter.NAME)
        at_D_min = D_int is not None and D_int <= self._D_min + D_SNAP * max(1.0, self._D_min)
        if at_D_min:
            raw = self._solve_at_D_min(adapter, tol, max_iter, solver_options, verbose)
            D_int = self._D_min
        elif adapter.kind == "conic" and self._screens(screen, formulation):
            raw = self._solve_conic_screened(adapter, D_int, slope_int, tol, max_iter,
                                             solver_options, verbose)
        elif adapter.kind == "conic":
            raw = self._solve_conic(adapter, D_int, slope_int, tol, max_iter, solver_options,
                                    formulation, verbose)
        else:
            raw = adapter.solve_rate_distortion(self._p, self._d, D=D_int, slope=slope_int,
                                                tol=tol, max_iter=max_iter,
                                                solver_options=solver_options,
                                                callback=callback,
                                                warm_start=self._warm_start(warm_start))
        return self._finish(raw, D_int, adapter.NAME,
                            certify_options=getattr(adapter, "certify_options", None))

    def _warm_start(self, result):
        """``(slope, output_pmf)`` in internal units from a previous Result (or None)."""
        if result is None:
            return None
        slope = getattr(result, "slope", None)
        q = getattr(result, "output_pmf", None)
        if slope is None or q is None or not np.isfinite(slope) or slope <= 0:
            return None
        return slope * self._distortion_scale / self._rate_scale, np.asarray(q, dtype=float)

    def curve(self, num: int | None = None, *, D=None, solver: str = "ba",
              tol: float | None = None, max_iter: int | None = None,
              solver_options: dict | None = None, progress: bool = False):
        """The certified curve: ``R(D)`` at ``num`` points from ``D_min`` to ``D_max``
        (or at the distortions ``D``), warm-started point to point.

        Every point is a :meth:`solve` with its own certificate. When ``D_max`` is
        infinite the grid ends where the curve is flat (see :mod:`rdconvex.curve`).

        Parameters
        ----------
        num : int, optional
            Number of equally spaced points (default 50, at least 2).
        D : array_like, optional
            Instead of ``num``: the distortions (each ``>= D_min``).
        solver : str
            Any installed solver (default ``"ba"``, warm-started).
        tol, max_iter, solver_options :
            As in :meth:`solve`, for every point.
        progress : bool
            Show a progress bar.

        Returns
        -------
        Curve
            ``.D``, ``.rate``, ``.lower``, ``.upper``, ``.slope``, ``.results``, ``.plot()``.

        Examples
        --------
        >>> import numpy as np, rdconvex as rdc
        >>> curve = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).curve(num=5)
        >>> bool(np.all(np.diff(curve.rate) <= 0)), float(curve.rate[-1])
        (True, 0.0)
        """
        from .curve import rate_distortion_curve

        return rate_distortion_curve(self, num, D, solver=solver, tol=tol, max_iter=max_iter,
                                     solver_options=solver_options, progress=progress)

    def _screens(self, screen, formulation) -> bool:
        if screen not in ("auto", True, False):
            raise InvalidArgumentError(f"screen={screen!r} must be 'auto', True or False.")
        if screen == "auto":
            return formulation == "primal" and self._d.size >= screening.AUTO_SIZE
        if screen and formulation != "primal":
            raise InvalidArgumentError("screen=True works with formulation='primal' only.")
        return bool(screen)

    def _solve_conic_screened(self, adapter, D, slope, tol, max_iter, solver_options,
                              verbose) -> RawSolution:
        """Conic solves on a growing output support until no excluded output violates
        its Gallager constraint (then the full-problem certificate is as tight)."""
        support, estimate = screening.initial_support(self._p, self._d, D, slope)
        iterations, elapsed = 0, 0.0
        for rounds in range(1, screening.MAX_ROUNDS + 1):
            try:
                raw = self._solve_conic(adapter, D, slope, tol, max_iter, solver_options,
                                        "primal", verbose, d=self._d[:, support])
            except SolverError as exc:
                if estimate is None:
                    raise
                # What we had: the iterative screening estimate, certified like any point.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", InaccurateSolutionWarning)
                    partial = self._finish(estimate, D, "ba")
                raise SolverError(f"{exc} The screening estimate (solver 'ba', certified gap "
                                  f"{partial.certificate.gap:.1e}) is attached as .partial; "
                                  "solver='ba' solves this size directly.",
                                  partial=partial) from exc
            iterations += raw.info.iterations
            elapsed += raw.info.solve_time
            q = np.zeros(self.m)
            q[support] = np.clip(raw.output_pmf, 0.0, None)
            violated = screening.violated_outputs(self._p, self._d, raw.slope, q, support)
            if violated.size == 0:
                break
            support = np.union1d(support, violated[:max(10, support.size)])
        channel = np.zeros((self._p.size, self.m))
        channel[:, support] = raw.channel
        info = SolveInfo(raw.info.status, iterations, elapsed,
                         f"{raw.info.message}; screened: conic program on {support.size} of "
                         f"{self.m} outputs ({rounds} round{'s' * (rounds > 1)}), the others "
                         f"certified by their dual constraints"
                         + ("" if violated.size == 0 else
                            f" except {violated.size} still violated (bound loosened)"))
        return RawSolution(channel, raw.slope, q, info)

    def _solve_conic(self, adapter, D, slope, tol, max_iter, solver_options, formulation,
                     verbose, d=None) -> RawSolution:
        # Conic solvers use absolute tolerances: solve with d scaled to max 1 (and D,
        # slope to match), so 1e-6 and 1e6 distortions are equally accurate. The
        # channel is unchanged by the scaling; the slope scales back.
        d = (self._d if d is None else d) / self._scale
        D = None if D is None else D / self._scale
        slope = None if slope is None else slope * self._scale
        raw = self._solve_conic_scaled(adapter, D, slope, tol, max_iter, solver_options,
                                       formulation, verbose, d)
        return RawSolution(raw.channel, raw.slope / self._scale, raw.output_pmf, raw.info)

    def _solve_conic_scaled(self, adapter, D, slope, tol, max_iter, solver_options,
                            formulation, verbose, d) -> RawSolution:
        if formulation == "dual" and slope is None:
            prog = classical.dual(self._p, d, D)
            info = adapter.solve(prog, tol, max_iter, solver_options, verbose)
            if not info.status.has_point or prog.variables_by_name["s"].value is None:
                self._raise_failed(info, adapter.NAME)
            s = float(prog.variables_by_name["s"].value)
            q = np.clip(np.asarray(prog["output"].dual_value, dtype=float), 0, None)
            if not np.all(np.isfinite(q)) or q.sum() <= 0:
                self._raise_failed(info, adapter.NAME)
            q = q / q.sum()
            return RawSolution(self._parametric_channel(d, s, q), s, q, info)
        prog = classical.primal(self._p, d, D=D, slope=slope)
        info = adapter.solve(prog, tol, max_iter, solver_options, verbose)
        joint = prog.variables_by_name["J"].value
        if not info.status.has_point or joint is None or not np.all(np.isfinite(joint)):
            self._raise_failed(info, adapter.NAME)
        channel = joint / self._p[:, None]
        if slope is None:
            dual = prog["distortion"].dual_value
            slope = float(dual) if dual is not None and np.isfinite(dual) else 0.0
        return RawSolution(channel, slope, joint.sum(axis=0), info)

    def _solve_at_D_min(self, adapter, tol, max_iter, solver_options, verbose) -> RawSolution:
        """At ``D_min`` only argmin pairs may carry mass: minimise I(X;Y) over them."""
        row_min = self._d.min(axis=1, keepdims=True)
        tied = self._d <= row_min
        restricted = np.where(tied, 0.0, np.inf)
        slope = self._large_slope()
        if not np.any(tied.sum(axis=1) > 1):
            # No ties: the argmin channel is the only feasible one.
            W = _certify.min_distortion_channel(self._d)
            info = SolveInfo(Status.OPTIMAL, 0, 0.0, "D = D_min: the argmin channel is unique")
            return RawSolution(W, slope, self._p @ W, info)
        if adapter.kind == "conic":
            prog = classical.primal(self._p, restricted, D=0.0)
            info = adapter.solve(prog, tol, max_iter, solver_options, verbose)
            joint = prog.variables_by_name["J"].value
            if not info.status.has_point or joint is None or not np.all(np.isfinite(joint)):
                self._raise_failed(info, adapter.NAME)
            W = joint / self._p[:, None]
            return RawSolution(W, slope, joint.sum(axis=0), info)
        raw = adapter.solve_rate_distortion(self._p, restricted, D=0.0, tol=tol,
                                            max_iter=max_iter, solver_options=solver_options)
        return RawSolution(raw.channel, slope, raw.output_pmf, raw.info)

    def _large_slope(self) -> float:
        """A slope so large that non-argmin pairs weigh less than exp(-margin)."""
        d = np.where(np.isfinite(self._d), self._d, np.inf)
        excess = d - d.min(axis=1, keepdims=True)
        positive = excess[(excess > 0) & np.isfinite(excess)]
        gap = float(positive.min()) if positive.size else 1.0
        return LARGE_SLOPE_MARGIN / gap

    @staticmethod
    def _parametric_channel(d: np.ndarray, slope: float, q: np.ndarray) -> np.ndarray:
        """``W(y|x) ∝ q_y exp(-s d(x,y))`` in log space; argmin rule where it is empty."""
        logits = _certify.safe_log(q)[None, :] + _certify.log_kernel(d, slope)
        norm = logsumexp(logits, axis=1, keepdims=True)
        ok = np.isfinite(norm[:, 0])
        W = _certify.min_distortion_channel(d)
        W[ok] = np.exp(logits[ok] - norm[ok])
        return W

    def _raise_failed(self, info: SolveInfo, name: str):
        raise SolverError(
            f"solver {name!r} returned no usable point ({info.message}, status "
            f"{info.status.value}); try another solver, a looser tol or a larger max_iter.",
            partial=None)

    def _rate_zero(self, D: float, solver: str) -> Result:
        W = np.zeros((self._p.size, self.m))
        W[:, self._best_column] = 1.0
        info = SolveInfo(Status.OPTIMAL, 0, 0.0,
                         "D >= D_max: the constant output attains rate 0 (no solve needed)")
        return self._finish(RawSolution(W, 0.0, W[0].copy(), info), D, solver)

    def _finish(self, raw: RawSolution, D: float | None, solver: str,
                certify_options: dict | None = None) -> Result:
        """Certify a raw point, expand to all source symbols, convert units, warn.

        ``certify_options`` (an adapter's ``certify_options``) go to
        :func:`rdconvex.certify.certify`, e.g. no polishing for a solver whose point
        already closes the gap."""
        slope = float(raw.slope) if raw.slope is not None else 0.0
        slope_target = D is None
        if slope_target:
            W, distortion = _certify.repair_channel(self._p, self._d, raw.channel)
            D = distortion
        W, distortion, cert = _certify.certify(self._p, self._d, D, raw.channel, slope,
                                               raw.output_pmf, **(certify_options or {}))
        # At D_min the slope is infinite (the certificate used a large finite one).
        at_D_min = not slope_target and math.isclose(
            D, self._D_min, rel_tol=0, abs_tol=D_SNAP * max(1, self._D_min))
        reported_slope = math.inf if at_D_min and self._D_max > self._D_min else slope
        q = self._p @ W
        full = self._expand_channel(W, slope if np.isfinite(reported_slope) else math.inf, q)
        status = raw.info.status
        if not status.is_exact:
            warnings.warn(f"{solver}: {raw.info.message}; the answer is certified but the solver "
                          f"stopped at status {status.value} (gap {cert.gap:.2e} nats).",
                          InaccurateSolutionWarning, stacklevel=3)
        scale = self._rate_scale
        certificate = Certificate(upper=cert.upper * scale, lower=cert.lower * scale,
                                  units=self.units)
        return Result(
            rate=cert.upper * scale, distortion=self._D_out(distortion),
            slope=self._slope_out(reported_slope) if np.isfinite(reported_slope) else math.inf,
            channel=full, output_pmf=q, status=status, solver=solver,
            iterations=raw.info.iterations, solve_time=raw.info.solve_time,
            certificate=certificate, D=self._D_out(D), units=self.units,
            message=raw.info.message)

    def _expand_channel(self, W: np.ndarray, slope: float, q: np.ndarray) -> np.ndarray:
        if self._support.size == self.n:
            return W
        full = np.empty((self.n, self.m))
        full[self._support] = W
        zero = np.setdiff1d(np.arange(self.n), self._support)
        d_zero = self.d[zero]
        if np.isfinite(slope):
            full[zero] = self._parametric_channel(d_zero, slope, q)
        else:
            full[zero] = _certify.min_distortion_channel(np.where(np.isfinite(d_zero), d_zero,
                                                                  np.inf))
        return full
