r"""Result records of the log-likelihood family: :class:`DMinResult` (``R_ll(D_min)``
with its tie randomisation), :class:`SpecialPoints` (the interval ``[D1, D2]`` of
Theorem 1-(iii) and Corollary 1) and :class:`DistortionDecomposition` ((4) and (5)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_scalar
from ..errors import InvalidArgumentError
from ..results import Result

#: Relative slack with which a ``D`` counts as inside the special-point interval.
SPECIAL_TOL = 1e-9


@dataclass(frozen=True, repr=False)
class DMinResult(Result):
    """A :class:`~rdconvex.Result` at ``D = D_min`` with the optimal tie randomisation.

    Besides the fields of :class:`~rdconvex.Result`:

    Attributes
    ----------
    tie_randomization : ndarray (k,)
        The minimiser ``Q`` of (8), a pmf on ``U``.
    ties : ndarray (n, k) of bool
        ``ties[x, u]``: ``u`` is in ``T(x)``, the maximum-likelihood set of ``x`` (the
        exact argmax of row ``x`` of ``A``: float equality, no tolerance).

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
    ``A^T y >= 0`` and ``p^T y < 0``, both proven for the floats (so no ``Q >= 0``
    has ``A Q = p``).

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
        ``((lower1, upper1), (lower2, upper2))`` in ``units``: ``lower1 <= D1`` and
        ``D2 <= upper2`` are proven for the exact ``p / sum p`` and ``A`` (LP duality,
        evaluated with outward rounding); ``upper1`` and ``lower2`` are proven
        enclosures of ``H(X|U)`` at the returned ``P_U``, which satisfies ``A Q = p``
        up to ``residual`` only.
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
        """Whether ``D`` (in ``units``) lies in ``[D1, D2]`` (relative slack :data:`SPECIAL_TOL`)."""
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
