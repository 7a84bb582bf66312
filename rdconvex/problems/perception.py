r"""Section V: rate–distortion–perception ``R(D, Gamma)`` (33), solved and certified.

.. math::
    R(D, \Gamma) = \min_{W_{Y|X}:\ \mathbb E\, d(X,Y) \le D,\ \gamma(P_X, Q_Y) \le \Gamma}
    I(X;Y) \qquad (33)

``Y`` lives on the alphabet of ``X`` (``d`` is square). :class:`RateDistortionPerception`
is a thin class: it validates into a :class:`~rdconvex.problems.base.Source`; the
points are obtained in :mod:`.perception_points` — (33) built with
:func:`rdconvex.programs.perception.primal` on the shifted, scaled data (six
divergences, each a :class:`~rdconvex.atoms.divergences.Divergence`) and solved through
:func:`rdconvex.solvers.get_solver` (a conic solver, or Sinkhorn at ``Gamma = 0``:
entropic optimal transport) — certified by :mod:`rdconvex.certify.perception` and
:mod:`rdconvex.certify.perfect_perception`, and finished by
:func:`~rdconvex.problems.base.finish`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import (
    check_distortion,
    check_iteration_args,
    check_pmf,
    check_rows_finite,
    check_scalar,
)
from ..atoms.divergences import DIVERGENCES
from ..certify import perception as certify
from ..errors import InvalidArgumentError, InvalidDistortionError
from ..programs import perception as programs
from ..results import Result
from ..solvers import get_solver
from . import perception_points as points
from .base import Source, SourceProblem, Units
from .curve import rate_distortion_curve


@dataclass(frozen=True, repr=False)
class PerceptionResult(Result):
    """A :class:`~rdconvex.Result` for ``R(D, Gamma)``; adds the perception budget.

    Attributes
    ----------
    Gamma : float
        The perception budget asked for (problem units for ``kl``/``reverse_kl``).
    divergence : str
    perception : float
        A proven upper bound on ``gamma(p, output_pmf)`` of the returned (repaired)
        channel, ``<= Gamma`` (0 at ``Gamma = 0``: the certified coupling has the exact
        marginals ``(p, p)``).
    """

    Gamma: float = 0.0
    divergence: str = "tv"
    perception: float = 0.0

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + (f", Gamma={self.Gamma:.6g}, divergence="
                                          f"{self.divergence!r}, perception={self.perception:.3g})")


def _check_ground(ground_metric, d: np.ndarray, divergence: str):
    """The validated ground cost of ``wasserstein`` (default ``d``), else None."""
    n = d.shape[0]
    if divergence != "wasserstein":
        if ground_metric is not None:
            raise InvalidArgumentError(
                f"ground_metric is used only by divergence='wasserstein', not {divergence!r}; "
                "drop it or change the divergence.")
        return None
    ground = d if ground_metric is None else check_distortion(ground_metric, n, "ground_metric")
    name = "ground_metric" if ground_metric is not None else "ground_metric (default d)"
    if ground.shape != (n, n):
        raise InvalidDistortionError(f"{name} must have shape ({n}, {n}), got {ground.shape}.")
    if np.any(np.diag(ground) != 0):
        raise InvalidDistortionError(
            f"{name} has a nonzero diagonal entry ({float(np.max(np.diag(ground)))!r}); "
            "a ground cost needs c(y, y) = 0 so that gamma(p, p) = 0. Pass "
            "ground_metric=... explicitly.")
    if np.any(ground[~np.eye(n, dtype=bool)] <= 0):
        raise InvalidDistortionError(
            f"{name} has a zero off-diagonal entry; with c(y, y') = 0 for y != y' the "
            "transport cost vanishes for some q != p. Use positive off-diagonal costs.")
    ground = np.array(ground, dtype=float)
    ground.flags.writeable = False
    return ground


class RateDistortionPerception(SourceProblem):
    r"""Rate–distortion–perception (33) of a finite source, solved and certified.

    .. math::
        R(D, \Gamma) = \min I(X;Y)\ \text{ s.t. }\ \mathbb E\, d(X,Y) \le D,\
        \gamma(P_X, Q_Y) \le \Gamma

    Parameters
    ----------
    p_x : array_like, shape (n,)
        Source pmf (zeros allowed).
    d : array_like, shape (n, n)
        Distortion on the alphabet of ``X`` (``Y`` takes values there too), entries in
        ``[0, inf]``.
    divergence : {"tv", "kl", "reverse_kl", "hellinger", "chi2", "wasserstein"}
        The perception measure ``gamma(p, q)``: total variation ``1/2 ||p - q||_1``;
        ``KL(p || q)``; ``KL(q || p)``; squared Hellinger ``1/2 sum (sqrt p - sqrt q)^2``
        (in ``[0, 1]``); Pearson ``chi^2(q || p) = sum (q - p)^2 / p``; the
        optimal-transport cost ``min_pi <pi, ground_metric>`` (W1 for a metric). See
        :mod:`rdconvex.atoms.divergences`.
    ground_metric : array_like (n, n), optional
        Ground cost for ``"wasserstein"`` (default: ``d``). Zero diagonal, positive
        off-diagonal entries (``inf`` = forbidden move).
    units : {"nats", "bits"}
        Units of rates, and of ``Gamma`` for the two KL divergences.
    normalize : bool
        Rescale ``p_x`` to sum to 1.

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> rdp = rdc.RateDistortionPerception([0.7, 0.3], 1 - np.eye(2))
    >>> res = rdp.solve(D=0.1, Gamma=0.0)
    >>> res.solver, round(res.rate, 6), res.certificate.gap < 1e-9
    ('sinkhorn', 0.295573, True)
    """

    #: The result class of :meth:`solve` (``Result`` plus the perception fields).
    result_type = PerceptionResult

    def __init__(self, p_x, d, divergence: str = "tv", ground_metric=None,
                 units: str = "nats", normalize: bool = False):
        p_full = check_pmf(p_x, "p_x", normalize=normalize)
        d_full = check_distortion(d, p_full.size, "d")
        n = p_full.size
        if d_full.shape != (n, n):
            raise InvalidDistortionError(
                f"d must be square, shape ({n}, {n}): in rate-distortion-perception Y takes "
                f"values in the alphabet of X (the divergence compares P_X with Q_Y), got "
                f"shape {d_full.shape}. For reconstructions outside the source "
                "alphabet (no perception constraint) use RateDistortion.")
        if not isinstance(divergence, str) or divergence not in DIVERGENCES:
            raise InvalidArgumentError(
                f"divergence={divergence!r} is unknown; use one of {list(DIVERGENCES)}.")
        self._units = Units(units)
        check_rows_finite(d_full, p_full, "d")
        self.source = Source.from_arrays(p_full, d_full)
        self.divergence = divergence
        self._divergence = DIVERGENCES[divergence]
        self.ground_metric = _check_ground(ground_metric, d_full, divergence)
        self._safe = None
        self._independent = None

    # ------------------------------------------------------------- properties
    @property
    def D_independent(self) -> float:
        """``sum_{x,y} p_x p_y d(x,y)``: the distortion of the independent coupling
        ``p p^T`` (the nearest float above it, proven); ``R(D, Gamma) = 0`` for every
        ``Gamma`` once ``D`` reaches it."""
        return self._units.D_out(self._D_independent())

    def _D_independent(self) -> float:
        """A float proven ``>=`` the independent coupling's distortion, so that at
        ``D = D_independent`` the rate-0 certificate holds (computed once)."""
        if self._independent is None:
            self._independent = points.independent_distortion(self.source)
        return self._independent

    def _Gamma_in(self, Gamma) -> float:
        if Gamma is None:
            raise InvalidArgumentError("Gamma is required: give the perception budget, e.g. "
                                       "solve(D=0.1, Gamma=0.0).")
        value = check_scalar(Gamma, "Gamma", minimum=0.0)
        return value / self._units.rate_scale if self._divergence.information_units else value

    def _Gamma_out(self, value: float) -> float:
        return value * self._units.rate_scale if self._divergence.information_units else value

    def _D_in(self, D) -> float:
        if D is None:
            raise InvalidArgumentError("D is required: solve(D=..., Gamma=...).")
        return self.source.check_D(self._units.D_in(D), self._units)

    def divergence_of(self, output_pmf) -> float:
        """``gamma(p_x, output_pmf)`` in the problem's units (see ``divergence``)."""
        q = check_pmf(output_pmf, "output_pmf")
        if q.size != self.n:
            raise InvalidArgumentError(f"output_pmf has {q.size} entries; the alphabet has "
                                       f"{self.n}.")
        return self._Gamma_out(certify.divergence_value(self._divergence, self.p_x, q,
                                                        self.ground_metric))

    def __repr__(self) -> str:
        return (f"RateDistortionPerception(n={self.n}, divergence={self.divergence!r}, "
                f"units={self.units!r}, D_min={self.D_min:.6g}, "
                f"D_independent={self.D_independent:.6g})")

    # --------------------------------------------------------------- programs
    def program(self, D=None, Gamma=None, *, slope=None):
        """The program (33) at ``(D, Gamma)``, unsolved: exactly the program a conic
        solver is given, in nats over the source symbols of positive probability, on the
        shifted data ``d'(x,y) = d(x,y) - min_y' d(x,y')``, ``D' = D - D_min``, both divided
        by the conditioning scale ``max d'`` (same channels and rates, no offsets; the
        slope scales back). ``print()`` it to read the math. See
        :func:`rdconvex.programs.perception.primal` for the named handles."""
        if slope is not None:
            raise InvalidArgumentError("RateDistortionPerception.program takes D=..., "
                                       "Gamma=... (no slope form).")
        return points.shifted_program(self, self._D_in(D), self._Gamma_in(Gamma))

    def dual_program(self, D, Gamma=0.0):
        """The entropic-OT dual of ``R(D, 0)``, unsolved (only ``Gamma = 0``; for
        ``Gamma > 0`` the lower bound is computed from the primal point, see
        :mod:`rdconvex.certify.perception`)."""
        if self._Gamma_in(Gamma) != 0.0:
            raise InvalidArgumentError(
                f"dual_program is available for Gamma = 0 only (got Gamma={Gamma!r}); for "
                "Gamma > 0 the certificate's lower bound is computed from the primal point.")
        src = self.source
        return programs.perfect_perception_dual(src.p, src.p_full, src.d, self._D_in(D))

    def min_distortion(self, Gamma, solver: str | None = None) -> float:
        """The smallest distortion compatible with ``gamma(p, q) <= Gamma``
        (:func:`rdconvex.programs.perception.distortion_floor`, a conic program on the
        shifted, scaled data; default solver as for any program); below it
        ``R(D, Gamma)`` is infeasible. Solver accuracy (about 1e-8 of ``max d'``)."""
        Gamma_int = self._Gamma_in(Gamma)
        src = self.source
        if certify.diagonal_is_min(src.exact, src.support):
            return self._units.D_out(src.D_min)
        return self._units.D_out(points.distortion_floor(self, Gamma_int, solver))

    # ------------------------------------------------------------------ solve
    def solve(self, D=None, Gamma=None, *, solver: str | None = None, tol: float | None = None,
              max_iter: int | None = None, solver_options: dict | None = None,
              verbose: bool = False, slope=None, **unsupported) -> PerceptionResult:
        r"""Solve ``R(D, Gamma)`` and certify the answer.

        Parameters
        ----------
        D : float
            Target distortion (``>= D_min``).
        Gamma : float
            Perception budget ``>= 0`` (nats/bits for the KL divergences, unitless
            otherwise, distortion units for ``wasserstein``).
        solver : str, optional
            ``None``/``"auto"``: ``"sinkhorn"`` at ``Gamma = 0`` (entropic optimal
            transport), ``"clarabel"`` otherwise (:data:`rdconvex.solvers.DEFAULTS`);
            or any installed conic solver (``"clarabel"``, ``"scs"``, ``"ecos"``,
            ``"mosek"``); ``"sinkhorn"`` for ``Gamma = 0`` only.
        tol, max_iter : optional
            Generic tolerance and iteration cap (per Sinkhorn solve for ``"sinkhorn"``);
            ``tol`` is also the certified gap (nats) an ``"optimal"`` status needs.
        solver_options : dict, optional
            Passed to a conic solver untouched.
        verbose : bool
            Solver output (conic solvers).

        Returns
        -------
        PerceptionResult
            ``certificate.lower <= R(D, Gamma) <= certificate.upper`` proven for the
            problem the floats define (outward rounding on shifted data, see
            docs/perception.md); ``rate`` = ``certificate.upper`` (the rate of the
            repaired channel, or at ``Gamma = 0`` of the coupling rounded to the exact
            marginals ``(p, p)``); ``slope`` = the distortion multiplier (``inf`` at
            ``D_min``); ``perception`` = a proven bound on the divergence reached.
            ``status`` is ``"optimal"`` only when the certified gap is ``<= tol``
            (default 1e-6 nats), else ``"optimal_inaccurate"`` with a warning.
            ``save_certificate`` writes the certificate file (not for Wasserstein).

        Raises
        ------
        InvalidArgumentError
            Missing or negative ``Gamma``, a ``slope``, ``solver="sinkhorn"`` with
            ``Gamma > 0``.
        InfeasibleDistortionError
            ``D`` below the smallest distortion compatible with ``Gamma``.
        SolverError
            The solver returned no usable point.
        """
        if slope is not None:
            raise InvalidArgumentError("RateDistortionPerception.solve takes D=... (a slope "
                                       "form is not offered); give D and Gamma.")
        if unsupported:
            raise InvalidArgumentError(f"unsupported argument(s) {sorted(unsupported)} for "
                                       "RateDistortionPerception.solve.")
        D_int = self._D_in(D)
        Gamma_int = self._Gamma_in(Gamma)
        check_iteration_args(tol, max_iter)
        if Gamma_int != 0.0 and isinstance(solver, str) and solver.lower() == "sinkhorn":
            raise InvalidArgumentError(
                f"solver='sinkhorn' solves Gamma = 0 only (perfect perception as entropic "
                f"optimal transport), got Gamma={Gamma!r}; use a conic solver such as "
                "'clarabel' for Gamma > 0.")
        adapter = get_solver(solver, task="perfect_perception" if Gamma_int == 0.0
                             else "perception")
        return points.solve(self, adapter, D_int, Gamma_int, tol, max_iter, solver_options,
                            verbose)

    def envelope(self, eps: float = 1e-6, *, Gamma=0.0, solver: str | None = None,
                 tol: float | None = None, max_iter: int | None = None,
                 max_solves: int = 2000):
        """A certified envelope of the perfect-perception curve ``R(D, 0)``: ``lower(D) <=
        R(D, 0) <= upper(D)`` at every ``D`` with ``upper - lower <= eps`` (rate units),
        by the sandwich of :mod:`rdconvex.problems.envelope_perfect`. ``Gamma = 0`` only.

        Examples
        --------
        >>> import numpy as np, rdconvex as rdc
        >>> band = rdc.RateDistortionPerception([0.3, 0.7], 1 - np.eye(2)).envelope(eps=1e-3)
        >>> bool(band.max_gap <= 1e-3), bool(band.lower(0.2) <= band.upper(0.2))
        (True, True)
        """
        from .envelope_perfect import perfect_perception_envelope

        if self._Gamma_in(Gamma) != 0.0:
            raise InvalidArgumentError(
                f"envelope covers R(D, 0) (Gamma = 0), got Gamma={Gamma!r}; use curve() for "
                "Gamma > 0.")
        return perfect_perception_envelope(self, eps, solver=solver, tol=tol,
                                           max_iter=max_iter, max_solves=max_solves)

    def curve(self, num: int | None = None, *, D=None, Gamma=None, solver: str | None = None,
              tol: float | None = None, max_iter: int | None = None,
              solver_options: dict | None = None, progress: bool = False):
        """The certified curve ``D -> R(D, Gamma)`` at a fixed ``Gamma``: ``num`` points
        (default 50) from the smallest distortion compatible with ``Gamma`` to
        ``D_independent`` (where the rate is 0), or at the distortions ``D``. ``solver``
        as in :meth:`solve`. Returns a :class:`~rdconvex.results.Curve` whose
        ``results`` are ``PerceptionResult``.

        Examples
        --------
        >>> import numpy as np, rdconvex as rdc
        >>> rdp = rdc.RateDistortionPerception([0.7, 0.3], 1 - np.eye(2))
        >>> curve = rdp.curve(num=4, Gamma=0.0)
        >>> bool(np.all(np.diff(curve.rate) <= 1e-12)), float(curve.rate[-1])
        (True, 0.0)
        """
        if Gamma is None:
            raise InvalidArgumentError("Gamma is required: curve(num=..., Gamma=0.0) traces "
                                       "R(D, Gamma) at that perception budget.")
        if D is None:
            num = 50 if num is None else num
            if isinstance(num, bool) or not isinstance(num, int) or num < 2:
                raise InvalidArgumentError(f"num={num!r} must be an integer >= 2.")
            D = np.linspace(self.min_distortion(Gamma), self.D_independent, num)
            num = None
        return rate_distortion_curve(self, num=num, D=D, solver=solver, tol=tol,
                                     max_iter=max_iter, solver_options=solver_options,
                                     progress=progress, extra={"Gamma": Gamma}, warm=False)

    # ----------------------------------------------------------------- pieces
    def _safe_channel(self):
        """:func:`rdconvex.certify.perception.safe_channel`, computed once."""
        if self._safe is None:
            src = self.source
            self._safe = certify.safe_channel(src.exact, src.p_full, src.support)
        return self._safe

    def _solve_perfect(self, D):
        """``R(D, 0)`` by Sinkhorn, with ``(lam, f, g)`` of the coupling at the root
        multiplier on the shifted data (Theorem 4 needs them)."""
        D_int = self._D_in(D)
        adapter = get_solver("sinkhorn", task="perfect_perception")
        return points.solve(self, adapter, D_int, 0.0, None, None, None, False,
                            with_transport=True)
