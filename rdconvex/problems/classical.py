"""`RateDistortion`: the classical R(D) of a finite source, solved and certified."""

from __future__ import annotations

import math

import numpy as np

from .._validation import (
    check_distortion,
    check_iteration_args,
    check_pmf,
    check_rows_finite,
)
from ..certify.screening import AUTO_SIZE
from ..errors import InvalidArgumentError
from ..programs import classical as programs
from ..results import Result
from ..solvers import get_solver
from . import classical_points as points
from .base import Source, SourceProblem, Units, finish, one_target


class RateDistortion(SourceProblem):
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

    #: Distortions are log-losses converted with the rate units (log-likelihood) or not.
    _log_distortion = False
    _distortion_name = "d"

    def __init__(self, p_x, d, units: str = "nats", normalize: bool = False):
        self._units = Units(units, log_distortion=self._log_distortion)
        p_full = check_pmf(p_x, "p_x", normalize=normalize)
        d_full = check_distortion(d, p_full.size, self._distortion_name)
        check_rows_finite(d_full, p_full, self._distortion_name)
        self.source = Source.from_arrays(p_full, d_full)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n={self.n}, m={self.m}, units={self.units!r}, "
                f"D_min={self.D_min:.6g}, D_max={self.D_max:.6g})")

    # --------------------------------------------------------------- programs
    def program(self, D=None, *, slope=None):
        """The primal program (2) at ``D`` (or its Lagrangian at ``slope``), unsolved:
        exactly the program a conic solver is given.

        Returns a :class:`~rdconvex.programs.base.Program` (a ``cvxpy.Problem``) in
        nats over the source symbols with positive probability, with ``d`` divided by
        its conditioning scale (printed with the program, see
        :func:`rdconvex.programs.classical.conditioning_scale`); ``print()`` it to read
        the math. It is built on shifted data, ``d - min_y d`` per row and
        ``D - D_min`` (the same channels and rates, no offset; printed as a note).
        Named constraints: ``source marginal``, ``output marginal``, ``distortion``,
        ``forbidden``.
        """
        D_int, slope_int = self._target(D, slope, clip=False)
        d = self.source.exact.excess
        D_int = None if D_int is None else self.source.excess(D_int)
        return self._noted(programs.primal(self.source.p, d, D=D_int, slope=slope_int,
                                           scale=programs.conditioning_scale(d)))

    def dual_program(self, D):
        """The Gallager/Csiszár dual at ``D``, unsolved (DCP in ``(g, s)``), in nats, as
        a conic solver is given it (``formulation="dual"``)."""
        D_int, _ = self._target(D, None, clip=False)
        d = self.source.exact.excess
        return self._noted(programs.dual(self.source.p, d, self.source.excess(D_int),
                                         scale=programs.conditioning_scale(d)))

    def _noted(self, program):
        """The program with a note of the shift it was built on (when there is one)."""
        if self.source.likelihood is not None or np.any(self.source.exact.reference != 0):
            program.data["shift"] = (
                "d and D above are shifted: d = d_input - min_y d_input(x, y) per row, "
                "D = D_input - D_min (the same channels and rates, no offset to amplify)")
        return program

    # ------------------------------------------------------------------ solve
    def _target(self, D, slope, clip: bool = True):
        """``(D, slope)`` in nats, exactly one of them given; ``D >= D_min`` checked."""
        one_target(D, slope)
        if slope is not None:
            return None, self._units.slope_in(slope)
        D_int = self._units.D_in(D)
        checked = self.source.check_D(D_int, self._units)
        return (checked if clip else D_int), None

    def solve(self, D=None, *, slope=None, solver: str | None = None, tol: float | None = None,
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
        solver : str, optional
            ``"ba"`` (the default, ``None`` or ``"auto"``: see
            :data:`rdconvex.solvers.DEFAULTS`), ``"clarabel"``, ``"scs"``, ``"ecos"``,
            ``"mosek"`` (if installed); see :func:`rdconvex.installed_solvers`.
        tol, max_iter : optional
            Generic tolerance and iteration cap, translated per solver.
        solver_options : dict, optional
            Passed to the solver untouched (wins over the translated options).
        formulation : {"primal", "dual"}
            Conic solvers only: solve the primal (2) or the Gallager dual.
        screen : {"auto", True, False}
            Conic solvers only: solve on a screened output support and certify the
            excluded outputs by their dual constraints (:mod:`rdconvex.certify.screening`);
            ``"auto"`` screens problems with at least 2500 distortion entries.
        callback : callable, optional
            Iterative solvers only: called with their progress after each check.
        warm_start : Result, optional
            Iterative solvers only: start from this result's slope and output pmf
            (e.g. the previous point of a sweep, as :meth:`curve` does); an output pmf
            of the wrong length is an :class:`~rdconvex.errors.InvalidArgumentError`.

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
        D_int, slope_int = self._target(D, slope)
        adapter = get_solver(solver, task="rate_distortion")
        check_iteration_args(tol, max_iter)
        conic = adapter.KIND == "conic"
        if formulation not in ("primal", "dual"):
            raise InvalidArgumentError(
                f"formulation={formulation!r} is not supported; use 'primal' or 'dual'.")
        screened = self._screens(screen, formulation, conic)
        src = self.source
        flat_limit = slope_int == 0.0 and not math.isfinite(src.D_max)
        if not flat_limit and (slope_int == 0.0 or (D_int is not None and D_int >= src.D_max)):
            # A slope solve is certified at its channel's proven distortion (None).
            return self._finish(src.rate_zero(), D_int, adapter, tol)
        if D_int is not None and src.at_D_min(D_int):
            raw = points.solve_at_D_min(src, adapter, tol, max_iter, solver_options, verbose)
        elif conic:
            raw = points.solve_conic(src, adapter, D_int, slope_int, tol, max_iter,
                                     solver_options, formulation, verbose, screened,
                                     lambda est: self._finish(est, D_int, get_solver("ba"),
                                                              tol))
        else:  # on shifted data (d - row minima, D - D_min): offsets never meet slopes
            raw = adapter.solve_rate_distortion(src.p, src.exact.excess,
                                                D=None if D_int is None
                                                else src.provable_excess(D_int),
                                                slope=slope_int, tol=tol, max_iter=max_iter,
                                                solver_options=solver_options,
                                                callback=callback, warm_start=warm_start)
        if flat_limit:  # certified as R(+inf) = the flat limit, not R at D reached
            D_int = math.inf
        return self._finish(raw, D_int, adapter, tol)

    def _finish(self, raw, D, adapter, tol=None) -> Result:
        certify = points.certifier(self.source, getattr(adapter, "certify_options", None))
        return finish(self.source, self._units, raw, D=D, solver=adapter.NAME,
                      certify=certify, stacklevel=4, tol=tol)

    def _screens(self, screen, formulation, conic: bool) -> bool:
        if screen not in ("auto", True, False):
            raise InvalidArgumentError(f"screen={screen!r} must be 'auto', True or False.")
        if not conic:
            if screen is True or formulation != "primal":
                raise InvalidArgumentError(
                    "screen=True and formulation='dual' apply to conic solvers only; pass "
                    "solver='clarabel' (or another conic solver) or drop them.")
            return False
        if screen == "auto":
            return formulation == "primal" and self.source.d.size >= AUTO_SIZE
        if screen and formulation != "primal":
            raise InvalidArgumentError("screen=True works with formulation='primal' only.")
        return bool(screen)

    def envelope(self, eps: float = 1e-6, *, solver: str | None = None,
                 tol: float | None = None, max_iter: int | None = None,
                 solver_options: dict | None = None, max_solves: int = 5000):
        """A certified envelope of the whole curve: piecewise-linear ``lower(D) <= R(D) <=
        upper(D)`` at *every* ``D >= D_min``, with ``upper - lower <= eps`` everywhere
        (rate units), by the sandwich algorithm (:mod:`rdconvex.problems.envelope`).

        Returns a :class:`~rdconvex.problems.envelope.Band` (``lower(D)``, ``upper(D)``,
        ``points``, ``lines``, ``max_gap``, ``solves``, ``plot()``).

        Examples
        --------
        >>> import numpy as np, rdconvex as rdc
        >>> band = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2)).envelope(eps=1e-3)
        >>> bool(band.max_gap <= 1e-3), bool(band.lower(0.1) <= band.upper(0.1))
        (True, True)
        """
        from .envelope import envelope

        return envelope(self, eps, solver=solver, tol=tol, max_iter=max_iter,
                        solver_options=solver_options, max_solves=max_solves)

    def curve(self, num: int | None = None, *, D=None, solver: str | None = None,
              tol: float | None = None, max_iter: int | None = None,
              solver_options: dict | None = None, progress: bool = False):
        """The certified curve: ``R(D)`` at ``num`` points from ``D_min`` to ``D_max``
        (or at the distortions ``D``), warm-started point to point.

        Every point is a :meth:`solve` with its own certificate. When ``D_max`` is
        infinite the grid ends where the curve is flat (see :mod:`rdconvex.problems.curve`).

        Parameters
        ----------
        num : int, optional
            Number of equally spaced points (default 50, at least 2).
        D : array_like, optional
            Instead of ``num``: the distortions (each ``>= D_min``).
        solver : str, optional
            Any installed solver (default: as :meth:`solve`, ``"ba"``, warm-started).
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
        >>> bool(np.all(np.diff(curve.rate) <= 0)), bool(curve.rate[-1] < 1e-12)
        (True, True)
        """
        from .curve import rate_distortion_curve

        return rate_distortion_curve(self, num, D, solver=solver, tol=tol, max_iter=max_iter,
                                     solver_options=solver_options, progress=progress)
