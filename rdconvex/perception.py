r"""Section V: rate–distortion–perception, the Theorem 4 scheme and CP factorisations.

.. math::
    R(D, \Gamma) = \min_{W_{Y|X}:\ \mathbb E\, d(X,Y) \le D,\ \gamma(P_X, Q_Y) \le \Gamma}
    I(X;Y) \qquad (33)

``Y`` lives on the alphabet of ``X`` (``d`` is square). :class:`RateDistortionPerception`
solves (33) as a convex program for six divergences (:mod:`rdconvex.programs.perception`)
and, at ``Gamma = 0``, also as entropic optimal transport with log-domain Sinkhorn
(:mod:`rdconvex.iterative.sinkhorn`). Every answer is certified:

*Upper bound.* The returned channel is repaired into one that is feasible for
``(D, Gamma)``: rows clipped, forbidden pairs zeroed, rows renormalised (at
``Gamma = 0`` the joint is first rounded to exact marginals ``(p, p)`` with
Altschuler–Weed–Rigollet's ``round``); if its distortion exceeds ``D`` or its divergence
exceeds ``Gamma``, it is mixed with a *safe* channel whose output pmf is ``p`` (the
identity when ``d(x,x) = min_y d(x,y)``, else an optimal transport plan of ``p`` to
itself), with the smallest weight that meets both. By convexity of the divergence the
mixture's divergence is at most ``(1-t)`` times the channel's, so this always
succeeds when the safe channel's distortion is ``<= D``. The upper bound is the
mutual information of the repaired channel, computed in float64. At ``Gamma = 0`` the
output pmf equals ``p`` up to float64 rounding (``|q - p| ~ 1e-16``): the divergence
is checked against ``Gamma + PERCEPTION_ROUNDING``.

*Lower bound.* For any slope ``s >= 0`` and potentials ``f`` (one per source symbol),

.. math::
    R(D, \Gamma) \ge \sum_x p_x f_x - s D - \sigma_\Gamma(c),\qquad
    c_y = \log \sum_x p_x e^{f_x - s\, d(x,y)},\qquad
    \sigma_\Gamma(c) = \max\{ c^\top q : q \in \Delta,\ \gamma(p, q) \le \Gamma \}.

Proof: for a fixed output pmf ``q``, the entropic-OT dual of
``min {KL(J || p q^T) : J in Pi(p, q), <J,d> <= D}`` with the output potential chosen
pointwise (``g_y = -c_y``) gives ``sum p f - s D - q^T c``; the minimum over ``q`` in
the divergence ball of a max is at least the max of the minimum. The support function
``sigma_Gamma`` is replaced by a certified *upper* bound — exact for total variation
(a greedy mass move), and a Lagrangian dual value otherwise (any dual point is an
upper bound, :func:`support_upper_bound`), so the result stays a valid lower bound.
``s`` is the solver's distortion multiplier and ``f`` comes from Sinkhorn on
``(p, q)`` with the solver's output pmf ``q``; at an optimum the bound is tight. At
``Gamma = 0`` ``sigma_0(c) = p^T c`` exactly and this is the entropic-OT dual. The
classical bound ``R(D, Gamma) >= R(D)`` (Csiszár's, :func:`rdconvex.certify.best_lower_bound`)
is also evaluated and the larger of the two is reported.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog, minimize, minimize_scalar
from scipy.special import logsumexp, rel_entr

from . import certify as _certify
from ._validation import (
    UNITS,
    check_channel,
    check_distortion,
    check_pmf,
    check_scalar,
    check_units,
)
from .atoms import channel_mutual_information, expected_distortion, mutual_information_value
from .errors import (
    InaccurateSolutionWarning,
    InfeasibleDistortionError,
    InvalidArgumentError,
    InvalidChannelError,
    InvalidDistortionError,
    SolverError,
)
from .iterative import sinkhorn as _sinkhorn
from .programs import perception as _programs
from .ratedistortion import D_SNAP, RateDistortion
from .results import Certificate, Result, Status
from .solvers import CONIC, get_solver
from .solvers.base import RawSolution, SolveInfo

#: At ``Gamma = 0`` the output pmf of a rounded coupling equals ``p`` only up to float64
#: rounding; its divergence is accepted up to this absolute amount (nats for KL).
PERCEPTION_ROUNDING = 1e-12

#: The divergence names ``RateDistortionPerception`` accepts.
DIVERGENCES = _programs.DIVERGENCES

#: Divergences measured in nats (converted with ``units``); the others are unitless
#: (``wasserstein`` is in the units of the ground cost).
_INFORMATION_DIVERGENCES = ("kl", "reverse_kl")


# ---------------------------------------------------------------------------------
# divergences in float64
# ---------------------------------------------------------------------------------


def divergence_value(divergence: str, p, q, ground=None) -> float:
    r"""``gamma(p, q)`` in float64 (nats for the KL divergences).

    ``hellinger`` is ``1/2 sum (sqrt p - sqrt q)^2`` (= ``1 - sum sqrt(p q)``, computed
    in the first form to avoid cancellation), ``chi2`` is ``chi^2(q || p)``
    (``inf`` if ``q > 0`` where ``p = 0``), ``wasserstein`` is the cost of an explicit
    transport plan (a linear program's plan rounded to exact marginals, so the value
    is an upper bound on the optimal cost, tight to the LP tolerance).
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if divergence == "tv":
        return float(0.5 * np.sum(np.abs(p - q)))
    # KL >= 0; a float sum of rel_entr terms can land a few ulps below it.
    if divergence == "kl":
        return max(0.0, float(np.sum(rel_entr(p, q))))
    if divergence == "reverse_kl":
        return max(0.0, float(np.sum(rel_entr(q, p))))
    if divergence == "hellinger":
        return float(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2))
    if divergence == "chi2":
        pos = p > 0
        if np.any(q[~pos] > 0):
            return math.inf
        return float(np.sum((q[pos] - p[pos]) ** 2 / p[pos]))
    if divergence == "wasserstein":
        return transport_cost(p, q, ground)
    raise InvalidArgumentError(f"divergence={divergence!r} is unknown; use one of "
                               f"{list(DIVERGENCES)}.")


def _transport_plan(a, b, cost) -> tuple[np.ndarray, float]:
    """An optimal transport plan of ``a`` to ``b`` (HiGHS), rounded to exact marginals.

    Returns ``(plan, lp_value)``; ``plan`` is ``None`` when no plan exists."""
    n, m = cost.shape
    allowed = np.isfinite(cost)
    c = np.where(allowed, cost, 0.0).ravel()
    A_rows = sp.kron(sp.eye(n), np.ones((1, m)))
    A_cols = sp.kron(np.ones((1, n)), sp.eye(m))
    bounds = np.where(allowed.ravel()[:, None], [0.0, np.inf], [0.0, 0.0])
    res = linprog(c, A_eq=sp.vstack([A_rows, A_cols]).tocsr(), b_eq=np.concatenate([a, b]),
                  bounds=bounds, method="highs")
    if res.status != 0:
        return None, math.inf
    plan = _sinkhorn.round_to_coupling(res.x.reshape(n, m), a, b)
    plan[~allowed] = 0.0
    return plan, float(res.fun)


def transport_cost(p, q, ground) -> float:
    """Cost of an explicit plan moving ``p`` to ``q`` under ``ground`` (an upper bound
    on the optimal-transport cost, equal to it up to the LP tolerance); ``0`` when
    ``q == p`` exactly and the diagonal of ``ground`` is zero."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    ground = np.asarray(ground, dtype=float)
    if np.array_equal(p, q) and np.all(np.diag(ground) == 0):
        return 0.0
    plan, _ = _transport_plan(p, q, ground)
    if plan is None:
        return math.inf
    mass = plan > 0
    if np.any(mass & ~np.isfinite(ground)):
        return math.inf
    return float(np.sum(plan[mass] * ground[mass]))


# ---------------------------------------------------------------------------------
# support functions of the divergence balls (certified upper bounds)
# ---------------------------------------------------------------------------------


def support_upper_bound(divergence: str, p, c, Gamma: float, ground=None) -> float:
    r"""A certified upper bound on ``sigma(c) = max {c^T q : q in simplex, gamma(p, q) <= Gamma}``.

    Exact for ``tv`` (move ``min(Gamma, 1 - p_max)`` mass from the smallest ``c`` to the
    largest) and ``Gamma = 0`` (``p^T c``). Otherwise the value of a Lagrangian dual
    point, minimised numerically (every evaluated point is an upper bound by weak
    duality; the smallest is returned, and never more than ``max_y c_y``):

    * ``kl`` (``KL(p||q) <= Gamma``): ``alpha - exp(sum_y p_y log(alpha - c_y) - Gamma)``
      for ``alpha > max c`` (the multiplier of the divergence eliminated in closed form);
    * ``reverse_kl``: ``eta Gamma + eta log sum_y p_y e^{c_y / eta}`` for ``eta > 0``
      (Donsker–Varadhan);
    * ``hellinger``: ``alpha - (1 - Gamma)^2 / sum_y p_y / (alpha - c_y)``, ``alpha > max c``;
    * ``chi2``: ``alpha + eta Gamma + sum_y max_{q_y >= 0} [(c_y - alpha) q_y -
      eta (q_y - p_y)^2 / p_y]`` over ``(eta > 0, alpha)``;
    * ``wasserstein``: ``eta Gamma + sum_x p_x max_y (c_y - eta c(x, y))``, ``eta >= 0``.

    ``c`` may contain ``-inf`` (outputs no source symbol can reach); the KL divergence
    then gives ``-inf`` when ``p`` puts mass there (no feasible ``q``).
    """
    p = np.asarray(p, dtype=float)
    c = np.asarray(c, dtype=float)
    pos = p > 0
    # Outputs where q must vanish (p = 0 and gamma infinite otherwise).
    usable = np.ones(p.size, bool) if divergence not in ("reverse_kl", "chi2") else pos
    finite = usable & np.isfinite(c)
    if not np.any(finite):
        return -math.inf
    shift = float(np.max(c[finite]))
    c = c - shift
    if Gamma == 0.0:
        if np.any(pos & ~np.isfinite(c)):
            return -math.inf
        return shift + float(p[pos] @ c[pos])
    trivial = 0.0  # max over usable outputs of the shifted c
    bound = {"tv": _support_tv, "kl": _support_kl, "reverse_kl": _support_reverse_kl,
             "hellinger": _support_hellinger, "chi2": _support_chi2,
             "wasserstein": _support_wasserstein}[divergence](p, c, Gamma, usable, ground)
    return shift + min(trivial, bound)


def _support_tv(p, c, Gamma, usable, ground):
    q = p.copy()
    top = int(np.argmax(np.where(np.isfinite(c), c, -np.inf)))
    budget = min(Gamma, 1.0 - p[top])
    for y in np.argsort(c, kind="stable"):
        if budget <= 0:
            break
        if y == top or p[y] == 0:
            continue
        move = min(p[y], budget)
        q[y] -= move
        q[top] += move
        budget -= move
    mass = q > 0
    if np.any(mass & ~np.isfinite(c)):
        return -math.inf
    return float(q[mass] @ c[mass])


def _bounded_min(fun, lo, hi, extra=()):
    """Smallest value of ``fun`` seen over a bounded golden-section search in
    ``[lo, hi]`` plus the points ``extra`` (every evaluation is a valid bound)."""
    seen = [fun(x) for x in (lo, hi, *extra)]
    res = minimize_scalar(fun, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12 * max(1.0, abs(hi - lo)), "maxiter": 500})
    seen.append(float(res.fun))
    seen = [v for v in seen if np.isfinite(v) or v == -math.inf]
    return min(seen) if seen else math.inf


def _support_kl(p, c, Gamma, usable, ground):
    pos = p > 0
    if np.any(pos & ~np.isfinite(c)):
        return -math.inf
    alpha_min = float(np.max(c[pos]))
    zero_max = float(np.max(c[~pos])) if np.any(~pos & np.isfinite(c)) else -math.inf

    def value(u):
        alpha = alpha_min + math.exp(u)
        if alpha < zero_max:
            return math.inf
        return alpha - math.exp(float(p[pos] @ np.log(alpha - c[pos])) - Gamma)

    return _bounded_min(value, -40.0, 40.0)


def _support_reverse_kl(p, c, Gamma, usable, ground):
    pos = p > 0
    log_p = np.log(p[pos])

    def value(u):
        eta = math.exp(u)
        return eta * Gamma + eta * float(logsumexp(log_p + c[pos] / eta))

    return _bounded_min(value, -40.0, 40.0)


def _support_hellinger(p, c, Gamma, usable, ground):
    if Gamma >= 1.0:
        return 0.0
    pos = p > 0
    finite = pos & np.isfinite(c)
    alpha_min = float(np.max(c[finite]))
    zero_max = float(np.max(c[~pos])) if np.any(~pos & np.isfinite(c)) else -math.inf

    def value(u):
        alpha = alpha_min + math.exp(u)
        if alpha < zero_max:
            return math.inf
        S = float(np.sum(p[finite] / (alpha - c[finite])))
        return alpha - (1.0 - Gamma) ** 2 / S

    return _bounded_min(value, -40.0, 40.0)


def _support_chi2(p, c, Gamma, usable, ground):
    pos = p > 0
    pp, cc = p[pos], c[pos]

    def value(x):
        eta, alpha = math.exp(x[0]), x[1]
        gain = np.where(np.isfinite(cc), cc - alpha, -np.inf)
        q_hat = pp + pp * gain / (2.0 * eta)
        inner = np.where(q_hat >= 0,
                         pp * np.where(np.isfinite(gain), gain, 0.0)
                         + pp * np.where(np.isfinite(gain), gain, 0.0) ** 2 / (4.0 * eta),
                         -eta * pp)
        return alpha + eta * Gamma + float(np.sum(inner))

    finite = np.isfinite(cc)
    mean = float(pp[finite] @ cc[finite]) if np.all(finite) else 0.0
    var = float(pp[finite] @ (cc[finite] - mean) ** 2) if np.all(finite) else 1.0
    eta0 = math.sqrt(max(var, 1e-300) / (4.0 * Gamma))
    start = np.array([math.log(eta0), mean])
    best = value(start)
    res = minimize(value, start, method="Nelder-Mead",
                   options={"xatol": 1e-13, "fatol": 1e-15, "maxiter": 4000})
    return min(best, value(res.x))


def _support_wasserstein(p, c, Gamma, usable, ground):
    rows = p > 0
    cost = np.asarray(ground, dtype=float)[rows]
    allowed = np.isfinite(cost) & np.isfinite(c)[None, :]
    p_rows = p[rows]

    def value(eta):
        gain = np.where(allowed, c[None, :] - eta * np.where(allowed, cost, 0.0), -np.inf)
        return eta * Gamma + float(p_rows @ gain.max(axis=1))

    positive = cost[allowed & (cost > 0)]
    spread = float(np.max(c[np.isfinite(c)]) - np.min(c[np.isfinite(c)]))
    hi = spread / float(positive.min()) if positive.size and spread > 0 else 1.0
    return _bounded_min(value, 0.0, max(hi, 1e-12))


def perception_lower_bound(p, p_out, d, D: float, Gamma: float, slope: float, f,
                           divergence: str, ground=None) -> float:
    r"""The lower bound ``sum p f - s D - sigma_Gamma(c)`` on ``R(D, Gamma)`` (nats).

    ``c_y = log sum_x p_x e^{f_x - s d(x,y)}`` (log space); ``sigma_Gamma`` is replaced
    by :func:`support_upper_bound`. Valid for every ``s >= 0`` and every ``f``.
    """
    kernel = _certify.log_kernel(d, slope)
    c = logsumexp((np.log(p) + f)[:, None] + kernel, axis=0)
    sigma = support_upper_bound(divergence, p_out, c, Gamma, ground)
    value = float(p @ f - slope * D - sigma)
    return value if np.isfinite(value) else -math.inf


# ---------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class PerceptionResult(Result):
    """A :class:`~rdconvex.Result` for ``R(D, Gamma)``; adds the perception budget.

    Attributes
    ----------
    Gamma : float
        The perception budget asked for (problem units for ``kl``/``reverse_kl``).
    divergence : str
    perception : float
        ``gamma(p, output_pmf)`` of the returned (repaired) channel, ``<= Gamma``
        (``<= PERCEPTION_ROUNDING`` at ``Gamma = 0``).
    """

    Gamma: float = 0.0
    divergence: str = "tv"
    perception: float = 0.0

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + (f", Gamma={self.Gamma:.6g}, divergence="
                                          f"{self.divergence!r}, perception={self.perception:.3g})")


# ---------------------------------------------------------------------------------
# the problem class
# ---------------------------------------------------------------------------------


class RateDistortionPerception(RateDistortion):
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
        optimal-transport cost ``min_pi <pi, ground_metric>`` (W1 for a metric).
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
    >>> res = rdp.solve(D=0.1, Gamma=0.0, solver="sinkhorn")
    >>> round(res.rate, 6), res.certificate.gap < 1e-9
    (0.295573, True)
    """

    def __init__(self, p_x, d, divergence: str = "tv", ground_metric=None,
                 units: str = "nats", normalize: bool = False):
        p_checked = check_pmf(p_x, "p_x", normalize=normalize)
        d_checked = check_distortion(d, p_checked.size, "d")
        n = p_checked.size
        if d_checked.shape != (n, n):
            raise InvalidDistortionError(
                f"d must be square, shape ({n}, {n}): in rate-distortion-perception Y takes "
                f"values in the alphabet of X (the divergence compares P_X with Q_Y), got "
                f"shape {d_checked.shape}. For reconstructions outside the source "
                "alphabet (no perception constraint) use RateDistortion.")
        if not isinstance(divergence, str) or divergence not in DIVERGENCES:
            raise InvalidArgumentError(
                f"divergence={divergence!r} is unknown; use one of {list(DIVERGENCES)}.")
        super().__init__(p_checked, d_checked, units=units, normalize=False)
        self.divergence = divergence
        self.ground_metric = None
        if divergence == "wasserstein":
            ground = d_checked if ground_metric is None else check_distortion(
                ground_metric, n, "ground_metric")
            name = "ground_metric" if ground_metric is not None else "ground_metric (default d)"
            if ground.shape != (n, n):
                raise InvalidDistortionError(f"{name} must have shape ({n}, {n}), got "
                                             f"{ground.shape}.")
            if np.any(np.diag(ground) != 0):
                raise InvalidDistortionError(
                    f"{name} has a nonzero diagonal entry ({float(np.max(np.diag(ground)))!r}); "
                    "a ground cost needs c(y, y) = 0 so that gamma(p, p) = 0. Pass "
                    "ground_metric=... explicitly.")
            off = ~np.eye(n, dtype=bool)
            if np.any(ground[off] <= 0):
                raise InvalidDistortionError(
                    f"{name} has a zero off-diagonal entry; with c(y, y') = 0 for y != y' the "
                    "transport cost vanishes for some q != p. Use positive off-diagonal costs.")
            ground = np.array(ground, dtype=float)
            ground.flags.writeable = False
            self.ground_metric = ground
        elif ground_metric is not None:
            raise InvalidArgumentError(
                f"ground_metric is used only by divergence='wasserstein', not {divergence!r}; "
                "drop it or change the divergence.")
        self._safe = None

    # ---------------------------------------------------------------- units
    def _Gamma_in(self, Gamma) -> float:
        if Gamma is None:
            raise InvalidArgumentError("Gamma is required: give the perception budget, e.g. "
                                       "solve(D=0.1, Gamma=0.0).")
        value = check_scalar(Gamma, "Gamma", minimum=0.0)
        if self.divergence in _INFORMATION_DIVERGENCES:
            value /= UNITS[self.units]
        return value

    def _Gamma_out(self, value: float) -> float:
        if self.divergence in _INFORMATION_DIVERGENCES:
            return value * UNITS[self.units]
        return value

    # ----------------------------------------------------------- properties
    @property
    def D_independent(self) -> float:
        """``sum_{x,y} p_x p_y d(x,y)``: the distortion of the independent coupling
        ``p p^T``; ``R(D, Gamma) = 0`` for every ``Gamma`` once ``D`` reaches it."""
        return self._D_out(self._D_independent())

    def _D_independent(self) -> float:
        weights = np.outer(self._p, self.p_x)
        mass = weights > 0
        if np.any(mass & ~np.isfinite(self._d)):
            return math.inf
        return float(np.sum(weights[mass] * self._d[mass]))

    def divergence_of(self, output_pmf) -> float:
        """``gamma(p_x, output_pmf)`` in the problem's units (see ``divergence``)."""
        q = check_pmf(output_pmf, "output_pmf")
        if q.size != self.n:
            raise InvalidArgumentError(f"output_pmf has {q.size} entries; the alphabet has "
                                       f"{self.n}.")
        return self._Gamma_out(divergence_value(self.divergence, self.p_x, q,
                                                self.ground_metric))

    def __repr__(self) -> str:
        return (f"RateDistortionPerception(n={self.n}, divergence={self.divergence!r}, "
                f"units={self.units!r}, D_min={self.D_min:.6g}, "
                f"D_independent={self.D_independent:.6g})")

    # ------------------------------------------------------------- programs
    def program(self, D=None, *, Gamma=None, slope=None):
        """The program (33) at ``(D, Gamma)``, unsolved, in nats over the source
        symbols of positive probability; ``print()`` it to read the math. See
        :func:`rdconvex.programs.perception.primal` for the named handles."""
        if slope is not None:
            raise InvalidArgumentError("RateDistortionPerception.program takes D=..., "
                                       "Gamma=... (no slope form).")
        D_int, _ = self._check_target(D, None, allow_any_D=True)
        Gamma_int = self._Gamma_in(Gamma)
        return _programs.primal(self._p, self.p_x, self._d, D_int, Gamma_int,
                                self.divergence, self.ground_metric)

    def dual_program(self, D, Gamma=0.0):
        """The entropic-OT dual of ``R(D, 0)``, unsolved (only ``Gamma = 0``; for
        ``Gamma > 0`` the lower bound is computed from the primal point, see the
        module docstring)."""
        if self._Gamma_in(Gamma) != 0.0:
            raise InvalidArgumentError(
                f"dual_program is available for Gamma = 0 only (got Gamma={Gamma!r}); for "
                "Gamma > 0 the certificate's lower bound is computed from the primal point.")
        D_int, _ = self._check_target(D, None, allow_any_D=True)
        return _programs.perfect_perception_dual(self._p, self.p_x, self._d, D_int)

    def curve(self, num: int | None = None, *, D=None, Gamma=None, solver: str = "clarabel",
              tol: float | None = None, max_iter: int | None = None,
              solver_options: dict | None = None, progress: bool = False):
        """The certified curve ``D -> R(D, Gamma)`` at a fixed ``Gamma``: ``num`` points
        from the smallest distortion compatible with ``Gamma`` to ``D_independent`` (where
        the rate is 0), or at the distortions ``D``. Returns a
        :class:`~rdconvex.results.Curve` whose ``results`` are ``PerceptionResult``.

        Examples
        --------
        >>> import numpy as np, rdconvex as rdc
        >>> rdp = rdc.RateDistortionPerception([0.7, 0.3], 1 - np.eye(2))
        >>> curve = rdp.curve(num=4, Gamma=0.0)
        >>> bool(np.all(np.diff(curve.rate) <= 1e-12)), float(curve.rate[-1])
        (True, 0.0)
        """
        from .curve import rate_distortion_curve

        if Gamma is None:
            raise InvalidArgumentError("Gamma is required: curve(num=..., Gamma=0.0) traces "
                                       "R(D, Gamma) at that perception budget.")
        if D is None:
            num = 50 if num is None else num
            if isinstance(num, bool) or not isinstance(num, int) or num < 2:
                raise InvalidArgumentError(f"num={num!r} must be an integer >= 2.")
            D = np.linspace(self.min_distortion(Gamma), self.D_independent, num)
        return rate_distortion_curve(self, D=D, solver=solver, tol=tol, max_iter=max_iter,
                                     solver_options=solver_options, progress=progress,
                                     extra={"Gamma": Gamma}, warm=False)

    def min_distortion(self, Gamma, solver: str = "clarabel") -> float:
        """The smallest distortion compatible with ``gamma(p, q) <= Gamma`` (a linear or
        conic program: ``min <J, d>`` over channels with that output constraint);
        below it ``R(D, Gamma)`` is infeasible. Solver accuracy (about 1e-8)."""
        Gamma_int = self._Gamma_in(Gamma)
        if self._diagonal_is_min():
            return self._D_out(self._D_min)
        prog = _programs.primal(self._p, self.p_x, self._d, 0.0, Gamma_int, self.divergence,
                                self.ground_metric)
        joint = prog.variables_by_name["J"]
        d_fin = np.where(np.isfinite(self._d), self._d, 0.0)
        constraints = [c for name, c in prog.constraints_by_name.items()
                       if name not in ("distortion",)]
        floor = cp.Problem(cp.Minimize(cp.sum(cp.multiply(d_fin, joint))), constraints)
        adapter = get_solver(solver, allowed=tuple(CONIC))
        info = adapter.solve(floor)
        if not info.status.has_point:
            raise SolverError(f"min_distortion: {info.message}", partial=None)
        return self._D_out(max(float(floor.value), self._D_min))

    # ---------------------------------------------------------------- solve
    def solve(self, D=None, Gamma=None, *, solver: str = "clarabel", tol: float | None = None,
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
        solver : str
            ``"clarabel"``, ``"scs"``, ``"ecos"``, ``"mosek"`` (if installed), or
            ``"sinkhorn"`` for ``Gamma = 0`` only (entropic optimal transport).
        tol, max_iter : optional
            Generic tolerance and iteration cap (per Sinkhorn solve for ``"sinkhorn"``).
        solver_options : dict, optional
            Passed to a conic solver untouched.

        Returns
        -------
        PerceptionResult
            ``rate`` = certified upper bound (mutual information of the repaired
            channel, feasible for ``(D, Gamma)``), ``certificate.lower`` = the perception
            dual bound or the classical ``R(D)`` bound, whichever is larger; ``slope`` =
            the distortion multiplier; ``perception`` = the divergence achieved.

        Raises
        ------
        InvalidArgumentError
            Missing or negative ``Gamma``, ``solver="sinkhorn"`` with ``Gamma > 0``.
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
        if D is None:
            raise InvalidArgumentError("D is required: solve(D=..., Gamma=...).")
        D_int, _ = self._check_target(D, None)
        Gamma_int = self._Gamma_in(Gamma)
        if tol is not None:
            check_scalar(tol, "tol", minimum=0.0)
        if max_iter is not None and (isinstance(max_iter, bool) or not isinstance(max_iter, int)
                                     or max_iter < 1):
            raise InvalidArgumentError(f"max_iter={max_iter!r} must be a positive integer.")
        if isinstance(solver, str) and solver.lower() == "sinkhorn":
            if Gamma_int != 0.0:
                raise InvalidArgumentError(
                    f"solver='sinkhorn' solves Gamma = 0 only (perfect perception as entropic "
                    f"optimal transport), got Gamma={Gamma!r}; use a conic solver such as "
                    "'clarabel' for Gamma > 0.")
            raw, lower, sol = self._solve_sinkhorn(D_int, tol, max_iter)
            return self._finish_perception(raw, D_int, 0.0, "sinkhorn", extra_lower=lower,
                                           partner=self._sinkhorn_partner(sol))
        adapter = get_solver(solver, allowed=tuple(CONIC))
        zero = self._rate_zero_point(D_int, Gamma_int)
        if zero is not None:
            return self._finish_perception(zero, D_int, Gamma_int, adapter.NAME)
        raw, lower = self._solve_conic_perception(adapter, D_int, Gamma_int, tol, max_iter,
                                                  solver_options, verbose)
        return self._finish_perception(raw, D_int, Gamma_int, adapter.NAME, extra_lower=lower)

    # --------------------------------------------------------------- pieces
    def _diagonal_is_min(self) -> bool:
        diag = self._d[np.arange(self._p.size), self._support]
        return bool(np.all(diag <= self._d.min(axis=1)))

    def _safe_channel(self):
        """A channel with output pmf ``p`` (to rounding) and the least distortion:
        the identity when ``d(x,x)`` is each row's minimum, else an optimal
        transport plan of ``p`` to itself. Returns ``(channel, distortion)`` or
        ``(None, inf)`` when no coupling of ``p`` with itself avoids forbidden pairs."""
        if self._safe is None:
            if self._diagonal_is_min():
                W = np.zeros((self._p.size, self.n))
                W[np.arange(self._p.size), self._support] = 1.0
            else:
                plan, _ = _transport_plan(self._p, self.p_x, self._d)
                W = None if plan is None else plan / plan.sum(axis=1, keepdims=True)
            self._safe = (W, math.inf if W is None else expected_distortion(self._p, W, self._d))
        return self._safe

    def _perception_of(self, W) -> float:
        return divergence_value(self.divergence, self.p_x, self._p @ W, self.ground_metric)

    def _rate_zero_point(self, D: float, Gamma: float):
        """Rate 0 without a solve: the independent coupling ``p p^T`` (output ``p``)
        once ``D >= D_independent``; the best constant output when it meets ``Gamma``."""
        if D >= self._D_independent():
            W = np.tile(self.p_x, (self._p.size, 1))
            message = "D >= D_independent: the independent coupling p p^T has rate 0 and q = p"
        elif D >= self._D_max:
            W = np.zeros((self._p.size, self.n))
            W[:, self._best_column] = 1.0
            if self._perception_of(W) > Gamma:
                return None
            message = "D >= D_max and the constant output meets Gamma: rate 0"
        else:
            return None
        info = SolveInfo(Status.OPTIMAL, 0, 0.0, message + " (no solve needed)")
        return RawSolution(W, 0.0, self._p @ W, info)

    def _solve_conic_perception(self, adapter, D, Gamma, tol, max_iter, solver_options,
                                verbose) -> RawSolution:
        prog = _programs.primal(self._p, self.p_x, self._d, D, Gamma, self.divergence,
                                self.ground_metric)
        info = adapter.solve(prog, tol, max_iter, solver_options, verbose)
        joint = prog.variables_by_name["J"].value
        if info.status is Status.INFEASIBLE:
            floor = self.min_distortion(self._Gamma_out(Gamma))
            if self._D_out(D) < floor:
                raise InfeasibleDistortionError(
                    f"D={self._D_out(D):.10g} is below the smallest distortion {floor:.10g} "
                    f"compatible with {self.divergence} <= Gamma={self._Gamma_out(Gamma):.10g}; "
                    "raise D or Gamma.")
        if not info.status.has_point or joint is None or not np.all(np.isfinite(joint)):
            self._raise_failed(info, adapter.NAME)
        channel = joint / self._p[:, None]
        dual = prog["distortion"].dual_value
        slope = float(dual) if dual is not None and np.isfinite(dual) else 0.0
        q = prog.variables_by_name["q"].value
        nu = prog["perception"].dual_value
        if nu is not None and np.size(nu) == 1 and np.isfinite(nu):
            info = SolveInfo(info.status, info.iterations, info.solve_time,
                             f"{info.message}; perception multiplier {float(nu):.6g}")
        # The solver's multipliers of the source-marginal rows are the potentials up to
        # sign and shift (KKT: J = p q^T exp(-1 - alpha_x + beta_y - s d)); the bound is
        # shift-invariant, so f = -alpha is a candidate (often more accurate than the
        # primal q, e.g. where the TV ball's kinks make q loose).
        lower = []
        alpha = prog["source marginal"].dual_value
        if alpha is not None and np.all(np.isfinite(alpha)):
            lower.append(perception_lower_bound(
                self._p, self.p_x, self._d, D, Gamma, max(slope, 0.0),
                -np.asarray(alpha, dtype=float), self.divergence, self.ground_metric))
        return RawSolution(channel, max(slope, 0.0), q, info), lower

    def _sinkhorn_partner(self, sol):
        """A repair partner with output pmf p and less distortion than the solution:
        the rounded coupling at twice the final multiplier (one warm-started Sinkhorn
        solve), so rounding excess is fixed without the n^2-variable transport LP."""
        if not sol.converged:
            return None
        partner = _sinkhorn.sinkhorn(self._p, self.p_x, self._d, 2.0 * sol.lam, f0=sol.f)
        J = _sinkhorn._rounded(partner, self._p, self.p_x, self._d)
        W = J / self._p[:, None]
        return W, expected_distortion(self._p, W, self._d)

    def _check_perfect_perception_floor(self, D: float, floor: float) -> None:
        if D < floor - 1e-9 * max(1.0, floor):
            raise InfeasibleDistortionError(
                f"D={self._D_out(D):.10g} is below the smallest distortion "
                f"{self._D_out(floor):.10g} of a channel with output pmf p_x (the "
                "optimal-transport cost of p_x to itself): perfect perception is "
                "infeasible there. Raise D.")

    def _solve_sinkhorn(self, D, tol, max_iter):
        """``R(D, 0)`` by Sinkhorn; returns ``(raw, lower, solution)``."""
        start = time.perf_counter()
        # The exact floor (the optimal-transport cost of p to itself) is an n^2-variable
        # LP unless the identity is optimal; it is only needed when Sinkhorn cannot
        # reach D, so it is computed then (keeps large problems fast and small in memory).
        if self._diagonal_is_min():
            self._check_perfect_perception_floor(D, self._safe_channel()[1])
        sol = _sinkhorn.fixed_output_rate(
            self._p, self.p_x, self._d, D,
            tol=_sinkhorn.DEFAULT_TOL if tol is None else tol,
            max_iter=_sinkhorn.DEFAULT_MAX_ITER if max_iter is None else max_iter)
        if not sol.converged and not self._diagonal_is_min():
            self._check_perfect_perception_floor(
                D, _transport_plan(self._p, self.p_x, self._d)[1])
        status = Status.OPTIMAL if sol.converged else Status.MAX_ITERATIONS
        info = SolveInfo(status, sol.iterations, time.perf_counter() - start,
                         f"sinkhorn: {sol.message}")
        channel = sol.coupling / self._p[:, None]
        return RawSolution(channel, sol.lam, self.p_x.copy(), info), [sol.lower], sol

    # ---------------------------------------------------------- certificates
    def _repair(self, channel, D: float, Gamma: float, partner=None):
        """Feasible channel for ``(D, Gamma)`` near ``channel``: ``(W, distortion,
        perception, note)``; ``W`` is None when no certified repair exists. ``partner``
        (``(channel, distortion)`` with output pmf p) is tried before the least-distortion
        channel of :meth:`_safe_channel`."""
        slack = PERCEPTION_ROUNDING if Gamma == 0.0 else 0.0
        W = np.array(channel, dtype=float)
        if Gamma == 0.0:
            # Exact marginals (p, p) first: the divergence vanishes only there.
            # Scaling rows and columns keeps zeros (forbidden pairs stay empty) and
            # drives the marginal error to rounding level, so the rank-one correction of
            # `round` puts only ~1e-30 mass anywhere (dropped on forbidden pairs).
            J = np.clip(np.nan_to_num(self._p[:, None] * W, nan=0.0), 0.0, None)
            J[~np.isfinite(self._d)] = 0.0
            J = _sinkhorn.scale_to_marginals(J, self._p, self.p_x)
            J = _sinkhorn.round_to_coupling(J, self._p, self.p_x)
            J[~np.isfinite(self._d)] = 0.0
            W = J / self._p[:, None]
        if self.divergence in ("reverse_kl", "chi2"):
            # Both are infinite unless q vanishes where p does: drop that (solver-noise)
            # mass before anything else.
            W = np.where((self.p_x > 0)[None, :], W, 0.0)
        W, distortion = _certify.repair_channel(self._p, self._d, W)
        perception = self._perception_of(W)

        def feasible(M):
            return (expected_distortion(self._p, M, self._d) <= D
                    and self._perception_of(M) <= Gamma + slack)

        if distortion <= D and perception <= Gamma + slack:
            return W, distortion, perception, ""
        notes = []
        toward_p = None
        if perception > Gamma + slack:
            # First move the output pmf toward p by post-processing Y with a channel T
            # (q T = p, moving only the surplus mass): I(X;Y) cannot increase (data
            # processing) and the divergence falls along the segment (convexity). Where
            # T would send mass onto a forbidden pair it is dropped (rows renormalised),
            # so that end is kept only if it is itself within Gamma.
            toward_p = W @ self._transport_to_p(self._p @ W)
            if not np.all(np.isfinite(self._d)):
                toward_p, _ = _certify.repair_channel(self._p, self._d, toward_p)
                if self._perception_of(toward_p) > Gamma + slack:
                    toward_p = None
        if toward_p is not None:
            guess = 1.0 - Gamma / perception if perception > 0 else 0.0
            t = _sinkhorn.smallest_feasible_weight(
                lambda t: self._perception_of((1.0 - t) * W + t * toward_p) <= Gamma + slack,
                guess)
            W = (1.0 - t) * W + t * toward_p
            distortion, perception = (expected_distortion(self._p, W, self._d),
                                      self._perception_of(W))
            notes.append(f"output post-processed toward p (weight {t:.3g})")
            if distortion <= D:
                return W, distortion, perception, "repaired: " + "; ".join(notes)
        if partner is not None and feasible(partner[0]):
            safe, d_safe = partner
        else:
            safe, d_safe = self._safe_channel()
        if safe is not None and feasible(safe):
            guess = 0.0
            if distortion > D and distortion > d_safe:
                guess = (distortion - D) / (distortion - d_safe)
            if perception > Gamma and Gamma > 0:
                guess = max(guess, 1.0 - Gamma / perception)
            t = _sinkhorn.smallest_feasible_weight(
                lambda t: feasible((1.0 - t) * W + t * safe), guess)
            M = (1.0 - t) * W + t * safe
            notes.append(f"mixed with a channel of output pmf p (weight {t:.3g})")
            return (M, expected_distortion(self._p, M, self._d), self._perception_of(M),
                    "repaired: " + "; ".join(notes))
        return (None, distortion, perception,
                f"upper bound not certified: the returned channel has distortion "
                f"{distortion:.6g} (D = {D:.6g}) and divergence {perception:.3g} "
                f"(Gamma = {Gamma:.3g}), and no channel with output pmf p has distortion "
                f"<= D to repair it with (the safe channel's distortion is {d_safe:.6g})")

    def _transport_to_p(self, q) -> np.ndarray:
        """A channel ``T`` on the output alphabet with ``q T = p``: symbol ``y`` keeps
        ``min(q_y, p_y)`` and sends its surplus to the deficits in proportion."""
        surplus = np.clip(q - self.p_x, 0.0, None)
        deficit = np.clip(self.p_x - q, 0.0, None)
        T = np.eye(self.n)
        if deficit.sum() <= 0:
            return T
        move = np.divide(surplus, q, out=np.zeros_like(q), where=q > 0)
        T *= (1.0 - move)[:, None]
        T += move[:, None] * (deficit / deficit.sum())[None, :]
        return T

    def _lower_bounds(self, D: float, Gamma: float, slope: float, candidates) -> float:
        best = -math.inf
        for q in candidates:
            if q is None:
                continue
            q = np.clip(np.asarray(q, dtype=float), 0.0, None)
            if q.sum() <= 0 or not np.all(np.isfinite(q)):
                continue
            q = q / q.sum()
            pot = _sinkhorn.sinkhorn(self._p, q, self._d, slope, tol=1e-13, max_iter=2000)
            best = max(best, perception_lower_bound(self._p, self.p_x, self._d, D, Gamma,
                                                    slope, pot.f, self.divergence,
                                                    self.ground_metric))
            # R(D, Gamma) >= R(D): Csiszár's bound from the same (s, q).
            best = max(best, _certify.best_lower_bound(self._p, self._d, D, slope, q))
        return best

    def _finish_perception(self, raw: RawSolution, D: float, Gamma: float, solver: str,
                           extra_lower=(), partner=None) -> PerceptionResult:
        W, distortion, perception, note = self._repair(raw.channel, D, Gamma, partner)
        slope = float(raw.slope) if raw.slope is not None and np.isfinite(raw.slope) else 0.0
        if W is None:
            upper = math.inf
            W, distortion = _certify.repair_channel(self._p, self._d, raw.channel)
        else:
            upper = channel_mutual_information(self._p, W)
        lower = max([self._lower_bounds(D, Gamma, slope, [raw.output_pmf, self._p @ W]),
                     *extra_lower])
        lower = max(lower, 0.0)
        if upper < lower <= upper + _certify.ROUNDING * (1.0 + abs(upper)):
            lower = upper
        q = self._p @ W
        full = self._expand_channel(W, slope, q)
        status = raw.info.status
        message = raw.info.message + (f"; {note}" if note else "")
        if not status.is_exact:
            warnings.warn(f"{solver}: {raw.info.message}; the answer is certified but the "
                          f"solver stopped at status {status.value} (gap {upper - lower:.2e} "
                          "nats).", InaccurateSolutionWarning, stacklevel=3)
        scale = self._rate_scale
        certificate = Certificate(upper=upper * scale, lower=lower * scale, units=self.units)
        return PerceptionResult(
            rate=upper * scale, distortion=self._D_out(distortion),
            slope=self._slope_out(slope), channel=full, output_pmf=self.p_x @ full,
            status=status, solver=solver, iterations=raw.info.iterations,
            solve_time=raw.info.solve_time, certificate=certificate, D=self._D_out(D),
            units=self.units, message=message, Gamma=self._Gamma_out(Gamma),
            divergence=self.divergence, perception=self._Gamma_out(perception))


# ---------------------------------------------------------------------------------
# the scheme behind Theorem 4
# ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PerceptionScheme:
    r"""The perfect-perception scheme ``W = P_X P_{Z|X} P_{X|Z}`` (36) and what it attains.

    Attributes
    ----------
    p_z_given_x : ndarray (n, k)
        The pre-processing channel (columns ``z`` with ``P_Z(z) = 0`` dropped).
    p_z : ndarray (k,)
        ``P_Z = p^T P_{Z|X}``.
    joint : ndarray (n, n)
        ``W_XY = P_XZ diag(1/P_Z) P_XZ^T`` (symmetric; both marginals ``p``).
    channel : ndarray (n, n)
        ``W_{Y|X}(y|x) = sum_z P_{Z|X}(z|x) P_{X|Z}(y|z)`` (every row, also for
        zero-probability ``x``).
    output_pmf : ndarray (n,)
        ``q = W_XY^T 1``.
    rate : float
        ``I(X;Y)`` of ``joint`` in ``units`` (exact float64).
    distortion : float
        ``<W_XY, d>``.
    perception_error : float
        ``max_y |q_y - p_y|`` (zero in exact arithmetic; float64 rounding here).
    perfect_perception : bool
        ``perception_error <= 1e-12``.
    units : str
    """

    p_z_given_x: np.ndarray
    p_z: np.ndarray
    joint: np.ndarray
    channel: np.ndarray
    output_pmf: np.ndarray
    rate: float
    distortion: float
    perception_error: float
    perfect_perception: bool
    units: str = "nats"

    def __post_init__(self):
        for name in ("p_z_given_x", "p_z", "joint", "channel", "output_pmf"):
            getattr(self, name).flags.writeable = False


def _square_distortion(p_x, d, normalize=False):
    p = check_pmf(p_x, "p_x", normalize=normalize)
    d = check_distortion(d, p.size, "d")
    if d.shape != (p.size, p.size):
        raise InvalidDistortionError(
            f"d must be square, shape ({p.size}, {p.size}): Y takes values in the alphabet "
            f"of X, got shape {d.shape}.")
    return p, d


def perception_scheme(p_x, d, p_z_given_x, units: str = "nats") -> PerceptionScheme:
    r"""Rate and distortion of the perfect-perception scheme of Section V (36).

    Pass ``X`` through ``P_{Z|X}``, then compress ``Z`` under the log-likelihood loss
    ``-log P_{Z|X}`` at ``H(Z|X)``: the reconstruction is a sample of the posterior
    ``P_{X|Z}``, so end to end

    .. math::
        W_{XY}(x, y) = \sum_z P_X(x) P_{Z|X}(z|x) \frac{P_X(y) P_{Z|X}(z|y)}{P_Z(z)},
        \qquad \text{both marginals } P_X,

    and the scheme attains ``(distortion, rate) = (<W_XY, d>, I(X;Y))`` with perfect
    perception. Any ``P_{Z|X}`` gives an upper bound on ``R(<W_XY, d>, 0)``.

    Parameters
    ----------
    p_x : array_like (n,)
    d : array_like (n, n)
    p_z_given_x : array_like (n, k)
        Rows are distributions over ``z`` (rows of zero-probability ``x`` too).
    units : {"nats", "bits"}

    Returns
    -------
    PerceptionScheme

    Examples
    --------
    >>> import numpy as np
    >>> s = perception_scheme([0.5, 0.5], 1 - np.eye(2), np.eye(2))
    >>> round(s.rate, 6), s.distortion, s.perfect_perception
    (0.693147, 0.0, True)
    """
    units = check_units(units)
    p, d = _square_distortion(p_x, d)
    P = np.asarray(p_z_given_x, dtype=float) if not isinstance(p_z_given_x, str) else None
    if P is None or P.ndim != 2:
        raise InvalidChannelError(
            f"p_z_given_x must be a 2-D array of shape (n, k) = ({p.size}, k), got "
            f"{p_z_given_x if P is None else P.shape}.")
    P = check_channel(P, (p.size, P.shape[1]), "p_z_given_x")
    joint_xz = p[:, None] * P
    p_z = joint_xz.sum(axis=0)
    keep = p_z > 0
    P, joint_xz, p_z = P[:, keep], joint_xz[:, keep], p_z[keep]
    posterior = joint_xz / p_z[None, :]            # P_{X|Z}(y|z), columns sum to 1
    channel = P @ posterior.T
    joint = p[:, None] * channel
    q = joint.sum(axis=0)
    error = float(np.max(np.abs(q - p)))
    scale = UNITS[units]
    return PerceptionScheme(
        p_z_given_x=P, p_z=p_z, joint=joint, channel=channel, output_pmf=q,
        rate=mutual_information_value(joint) * scale,
        distortion=expected_distortion(p, channel, d), perception_error=error,
        perfect_perception=error <= PERCEPTION_ROUNDING, units=units)


# ---------------------------------------------------------------------------------
# completely positive factorisations
# ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CPFactorization:
    r"""A nonnegative ``B`` with ``V ≈ B B^T``, and how good it is.

    Attributes
    ----------
    B : ndarray (n, k)
        Entries ``>= 0`` (all-zero columns removed).
    residual : float
        ``max_ij |V - B B^T|_ij``, computed in float64.
    residual_fro : float
        ``||V - B B^T||_F``.
    method : str
        ``"diagonal_plus_constant"`` (Lemma 1, Hamming: exact), ``"gaussian_quadrature"``
        (Lemma 1, squared Euclidean distance: trapezoid rule in ``t``) or
        ``"symmetric_nmf"`` (numerical, no guarantee).
    exact : bool
        ``B B^T = V`` in exact arithmetic.
    quadrature_error : float or None
        A-priori bound on the relative quadrature error of each entry (Gaussian only).
    message : str
    """

    B: np.ndarray
    residual: float
    residual_fro: float
    method: str
    exact: bool
    quadrature_error: float | None
    message: str

    def __post_init__(self):
        self.B.flags.writeable = False


_CP_METHODS = ("auto", "hamming", "gaussian", "nmf")


def cp_factor(V, method: str = "auto", *, points=None, lam=None, rank: int | None = None,
              tol: float = 1e-14, max_iter: int = 20_000, seed: int = 0) -> CPFactorization:
    r"""A completely positive factorisation ``V ≈ B B^T`` with ``B >= 0``, and its residual.

    Methods (``method="auto"`` tries them in this order):

    * ``"hamming"`` — ``V = diag(a) + b 1 1^T`` with ``a >= 0, b >= 0`` (e.g.
      ``exp(-lam d_H)`` with ``a = 1 - e^{-lam}``, ``b = e^{-lam}``):
      ``B = [diag(sqrt a) | sqrt(b) 1]``, exact (Lemma 1).
    * ``"gaussian"`` — ``V = exp(-lam ||x_i - x_j||^2)`` on a finite point set (given
      as ``points`` and ``lam``, or recovered from ``-log V`` by classical
      multidimensional scaling, with ``lam = 1``). Per coordinate,

      .. math::
          e^{-\lambda (x_i - x_j)^2} = \int 2\sqrt{\lambda/\pi}\;
          e^{-2\lambda (x_i - t)^2} e^{-2\lambda (x_j - t)^2}\, dt,

      discretised by the trapezoid rule (spectrally accurate for Gaussians) with
      spacing and range chosen so the aliasing and truncation errors are below
      ``tol`` (relative, per coordinate): ``B[i, k] = sqrt(w_k c) e^{-2 lam (x_i -
      t_k)^2}``, one column per node (a tensor grid over coordinates).
    * ``"nmf"`` — symmetric nonnegative matrix factorisation: minimise
      ``||V - B B^T||_F^2`` over ``B >= 0`` with ``rank`` columns (default ``n``) by
      bound-constrained L-BFGS-B (SciPy) from a seeded positive start. Numerical: a
      small residual is evidence, not a proof, of complete positivity (and a local
      minimum may leave a residual even when ``V`` is CP).

    Parameters
    ----------
    V : array_like (n, n)
        Symmetric, nonnegative, finite.
    method : {"auto", "hamming", "gaussian", "nmf"}
    points : array_like (n,) or (n, k), optional
        Points of the Gaussian kernel (with ``lam``).
    lam : float, optional
        Kernel parameter for ``points``.
    rank : int, optional
        Columns for ``"nmf"``.
    tol : float
        Target relative quadrature error (``"gaussian"``) or projected-gradient
        tolerance (``"nmf"``).
    max_iter : int
        L-BFGS-B iterations (``"nmf"``).
    seed : int
        Seed of the ``"nmf"`` initial point.

    Returns
    -------
    CPFactorization

    Examples
    --------
    >>> import numpy as np
    >>> f = cp_factor(np.exp(-2.0 * (1 - np.eye(3))))
    >>> f.method, f.B.shape, f.exact, f.residual < 1e-15
    ('diagonal_plus_constant', (3, 4), True, True)
    """
    if method not in _CP_METHODS:
        raise InvalidArgumentError(f"method={method!r} is unknown; use one of "
                                   f"{list(_CP_METHODS)}.")
    V = _check_kernel(V)
    scale = max(1.0, float(np.max(np.abs(V))))
    if method in ("auto", "hamming"):
        factor = _cp_diagonal_plus_constant(V, scale)
        if factor is not None:
            return factor
        if method == "hamming":
            raise InvalidArgumentError(
                "V is not of the form diag(a) + b 1 1^T with a, b >= 0 (the Hamming kernel "
                "structure of Lemma 1); use method='gaussian' or 'nmf'.")
    if method in ("auto", "gaussian"):
        if (points is None) != (lam is None):
            raise InvalidArgumentError("give both points=... and lam=... (or neither, to "
                                       "recover the points from -log V).")
        if points is not None:
            z = _check_points(points, V.shape[0]) * math.sqrt(check_scalar(lam, "lam",
                                                                            minimum=0.0))
            kernel = np.exp(-_sqdist(z))
            if np.max(np.abs(kernel - V)) > 1e-9 * scale:
                raise InvalidArgumentError(
                    "V does not equal exp(-lam ||x_i - x_j||^2) for the given points and lam "
                    f"(max difference {np.max(np.abs(kernel - V)):.3g}).")
        else:
            z = _euclidean_points(V)
        if z is not None:
            return _cp_gaussian(V, z, tol)
        if method == "gaussian":
            raise InvalidArgumentError(
                "V is not a Gaussian kernel exp(-||x_i - x_j||^2) of any finite point set "
                "(-log V is not a squared Euclidean distance matrix); pass points and lam, "
                "or use method='nmf'.")
    return _cp_nmf(V, rank, tol, max_iter, seed)


def _check_kernel(V) -> np.ndarray:
    try:
        V = np.array(V, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"V must be a square matrix of numbers, got {V!r}.") from None
    if V.ndim != 2 or V.shape[0] != V.shape[1] or V.shape[0] == 0:
        raise InvalidArgumentError(f"V must be a square matrix, got shape {V.shape}.")
    if not np.all(np.isfinite(V)):
        raise InvalidArgumentError("V has NaN or inf entries; a CP matrix is finite.")
    if np.any(V < 0):
        i, j = np.argwhere(V < 0)[0]
        raise InvalidArgumentError(f"V[{i}, {j}] = {V[i, j]!r} is negative; a completely "
                                   "positive matrix is entrywise nonnegative.")
    if np.max(np.abs(V - V.T)) > 1e-12 * max(1.0, float(np.max(V))):
        raise InvalidArgumentError("V is not symmetric; B B^T always is.")
    return 0.5 * (V + V.T)


def _finish_factor(V, B, method, exact, quad, message) -> CPFactorization:
    B = B[:, np.any(B > 0, axis=0)] if B.size else B
    R = V - B @ B.T
    return CPFactorization(B=B, residual=float(np.max(np.abs(R))),
                           residual_fro=float(np.linalg.norm(R)), method=method,
                           exact=exact, quadrature_error=quad, message=message)


def _cp_diagonal_plus_constant(V, scale):
    n = V.shape[0]
    off = V[~np.eye(n, dtype=bool)]
    b = float(off.mean()) if off.size else 0.0
    if off.size and np.max(np.abs(off - b)) > 1e-12 * scale:
        return None
    a = np.diag(V) - b
    if np.any(a < -1e-12 * scale):
        return None
    B = np.hstack([np.diag(np.sqrt(np.clip(a, 0.0, None))), np.full((n, 1), math.sqrt(b))])
    return _finish_factor(V, B, "diagonal_plus_constant", True, None,
                          "Lemma 1: V = diag(a) + b 1 1^T, B = [diag(sqrt a) | sqrt(b) 1] "
                          "(exact; the residual is float64 rounding)")


def _check_points(points, n) -> np.ndarray:
    z = np.asarray(points, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2 or z.shape[0] != n or not np.all(np.isfinite(z)):
        raise InvalidArgumentError(f"points must be {n} finite points (shape ({n},) or "
                                   f"({n}, k)), got shape {np.shape(points)}.")
    return z


def _sqdist(z) -> np.ndarray:
    return np.sum((z[:, None, :] - z[None, :, :]) ** 2, axis=2)


def _euclidean_points(V):
    """Points ``z`` with ``V = exp(-||z_i - z_j||^2)`` by classical MDS, or None."""
    if np.any(V <= 0) or np.max(np.abs(np.diag(V) - 1.0)) > 1e-12:
        return None
    sq = -np.log(V)
    np.fill_diagonal(sq, 0.0)
    n = V.shape[0]
    H = np.eye(n) - 1.0 / n
    gram = -0.5 * H @ sq @ H
    values, vectors = np.linalg.eigh(gram)
    top = max(float(values.max()), 1e-300)
    if values.min() < -1e-9 * top:
        return None
    keep = values > 1e-10 * top
    z = vectors[:, keep] * np.sqrt(values[keep])[None, :]
    if z.shape[1] == 0:
        z = np.zeros((n, 1))
    if np.max(np.abs(_sqdist(z) - sq)) > 1e-8 * max(1.0, float(sq.max())):
        return None
    return z


def _cp_gaussian(V, z, tol):
    from scipy.special import erfc, erfcinv

    # exp(-(z_i - z_j)^2) = int (2/sqrt(pi)) e^{-2(z_i-t)^2} e^{-2(z_j-t)^2} dt (lam = 1 in
    # the scaled coordinates). Trapezoid spacing h: aliasing <= 2 exp(-pi^2 / (4 h^2));
    # margin L beyond the points: truncation <= erfc(2 L) (+ the discrete tail).
    h = math.pi / (2.0 * math.sqrt(math.log(8.0 / tol)))
    L = 0.5 * float(erfcinv(tol / 4.0))
    per_dim = (2.0 * math.exp(-math.pi ** 2 / (4.0 * h * h)) + float(erfc(2.0 * L))
               + 2.0 * h / math.sqrt(math.pi) * math.exp(-4.0 * L * L))
    factors = []
    for k in range(z.shape[1]):
        lo, hi = float(z[:, k].min()) - L, float(z[:, k].max()) + L
        nodes = lo + h * np.arange(int(math.ceil((hi - lo) / h)) + 1)
        factors.append(math.sqrt(h * 2.0 / math.sqrt(math.pi))
                       * np.exp(-2.0 * (z[:, k][:, None] - nodes[None, :]) ** 2))
    columns = int(np.prod([f.shape[1] for f in factors]))
    if columns > 200_000:
        raise InvalidArgumentError(
            f"the quadrature grid would have {columns} columns (points in {z.shape[1]} "
            "dimensions); use method='nmf' or fewer dimensions.")
    B = factors[0]
    for f in factors[1:]:
        B = (B[:, :, None] * f[:, None, :]).reshape(B.shape[0], -1)
    quad = (1.0 + per_dim) ** z.shape[1] - 1.0
    return _finish_factor(V, B, "gaussian_quadrature", False, quad,
                          f"Lemma 1: Gaussian kernel on {z.shape[0]} points in "
                          f"{z.shape[1]} dimension(s); trapezoid rule, {B.shape[1]} nodes, "
                          f"a-priori relative error <= {quad:.1e}")


def _cp_nmf(V, rank, tol, max_iter, seed):
    n = V.shape[0]
    k = n if rank is None else rank
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidArgumentError(f"rank={rank!r} must be a positive integer.")
    rng = np.random.default_rng(seed)
    start = math.sqrt(max(float(V.mean()), 1e-300) / k) * (0.5 + rng.random((n, k)))

    def objective(b):
        B = b.reshape(n, k)
        R = B @ B.T - V
        return float(np.sum(R * R)), (4.0 * R @ B).ravel()

    res = minimize(objective, start.ravel(), jac=True, method="L-BFGS-B",
                   bounds=[(0.0, None)] * (n * k),
                   options={"maxiter": max_iter, "maxfun": 4 * max_iter, "ftol": tol ** 2,
                            "gtol": tol})
    B = np.clip(res.x.reshape(n, k), 0.0, None)
    return _finish_factor(V, B, "symmetric_nmf", False, None,
                          f"symmetric NMF: min ||V - B B^T||_F^2 over B >= 0 with {k} "
                          f"columns by L-BFGS-B ({res.nit} iterations, seed {seed}): "
                          "numerical, not a proof of complete positivity")


# ---------------------------------------------------------------------------------
# Theorem 4 made concrete
# ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Theorem4Scheme:
    """The scheme of Theorem 4 built from the ``R(D, 0)`` optimum.

    Attributes
    ----------
    scheme : PerceptionScheme
        What the scheme attains (rate, distortion, joint, perfect perception).
    result : PerceptionResult
        The certified ``R(D, 0)`` at the requested ``D`` (Sinkhorn).
    factor : CPFactorization
        ``V = exp(-lam d) ≈ B B^T``.
    lam : float
        The multiplier of the optimum ``J* = diag(a) V diag(a)``.
    a : ndarray (n,)
    joint_error : float
        ``max |W_XY - J*|``: zero for an exact factor, of the order of the factor's
        residual for a quadrature factor.
    """

    scheme: PerceptionScheme
    result: PerceptionResult
    factor: CPFactorization
    lam: float
    a: np.ndarray
    joint_error: float

    @property
    def p_z_given_x(self) -> np.ndarray:
        return self.scheme.p_z_given_x


def theorem4_scheme(p_x, d, D, *, units: str = "nats", method: str = "auto",
                    **factor_options) -> Theorem4Scheme:
    r"""Theorem 4 made concrete: a ``P_{Z|X}`` whose scheme attains ``R(D, 0)``.

    Solve ``R(D, 0)`` by Sinkhorn: ``J* = diag(a) V diag(a)`` with ``V = exp(-lam d)``
    (``d`` symmetric). Factor ``V ≈ B B^T`` (:func:`cp_factor`), set ``F = diag(a) B``
    and

    .. math:: P_{Z|X}(z|x) = F_{xz} \Big(\sum_{x'} F_{x'z}\Big) / p_x,

    so that ``P_XZ diag(1/P_Z) P_XZ^T = F F^T = J*``: the scheme (36) reproduces the
    optimum exactly for an exact factor, and up to the factor's residual otherwise.

    Parameters
    ----------
    p_x, d : array_like
        Source pmf and a symmetric square distortion.
    D : float
        Target distortion.
    units : {"nats", "bits"}
    method, **factor_options
        Passed to :func:`cp_factor`.

    Returns
    -------
    Theorem4Scheme
    """
    p, d_full = _square_distortion(p_x, d)
    if not np.array_equal(d_full, d_full.T):
        raise InvalidDistortionError("theorem4_scheme needs a symmetric d (J* = diag(a) V "
                                     "diag(a) with V = exp(-lam d) symmetric).")
    rdp = RateDistortionPerception(p, d_full, units=units)
    D_int, _ = rdp._check_target(D, None)
    raw, lower, sol = rdp._solve_sinkhorn(D_int, None, None)
    result = rdp._finish_perception(raw, D_int, 0.0, "sinkhorn", extra_lower=lower)
    support = rdp._support
    a = np.zeros(p.size)
    a[support] = p[support] * np.exp(0.5 * (sol.f + sol.g[support]))
    V = np.exp(_certify.log_kernel(d_full, sol.lam))
    factor = cp_factor(V, method=method, **factor_options)
    F = a[:, None] * factor.B
    weight = F.sum(axis=0)
    P = np.zeros_like(F)
    P[support] = F[support] * weight[None, :] / p[support, None]
    rows = P.sum(axis=1, keepdims=True)
    # Sinkhorn and the factor leave the rows a rounding away from 1; zero-probability
    # symbols get the posterior-free choice "z uniform over the used columns".
    used = weight > 0
    P[rows[:, 0] <= 0] = used / used.sum()
    P = P / P.sum(axis=1, keepdims=True)
    scheme = perception_scheme(p, d_full, P, units=units)
    J_star = a[:, None] * V * a[None, :]
    return Theorem4Scheme(scheme=scheme, result=result, factor=factor, lam=sol.lam, a=a,
                          joint_error=float(np.max(np.abs(scheme.joint - J_star))))
