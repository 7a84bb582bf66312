r"""The translation (13)–(21): a general ``(X, d)`` at ``lam`` as a log-likelihood problem.

For ``lam > 0`` let ``V = exp(-lam d)``. If ``mu >= 0`` solves

.. math:: \sum_x \mu_x e^{-\lambda d(x,y)} = 1 \quad \text{for every } y \qquad (13)

then ``A = diag(mu) V`` is a valid ``P_{X|U}`` (every column a pmf), its
log-likelihood loss is ``-log A = lam d - log mu_x`` (16), and

.. math::
    R_{\ell\ell}(\tilde D) = R(D), \qquad
    \tilde D = \lambda D - \textstyle\sum_x p_x \log \mu_x \qquad (20),\ (21).

:func:`translate` finds ``mu`` (:mod:`rdconvex.section4.normaliser`) and returns a
:class:`Translation`: its ``.loglik`` is the
:class:`~rdconvex.problems.loglik.LogLikelihood` problem, ``to_loglik``/``from_loglik``
are (21) and its inverse.

Units: ``lam`` is always the exponent in ``exp(-lam d)`` per unit of ``d`` (the
paper's ``lambda``, i.e. the slope of ``R`` in nats). Rates and log-likelihood
distortions ``Dt`` are in ``units``; the classical ``D`` is in the units of ``d``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import UNITS, check_scalar, check_units
from ..errors import InvalidArgumentError
from ..numerics import row_minima, safe_log
from ._common import TOL, check_lam, check_tol, validated
from .normaliser import Normaliser, solve_normaliser

#: Smallest ``log`` of a normal float64: a likelihood below it underflows.
LOG_TINY = math.log(np.finfo(float).tiny)


@dataclass(frozen=True, eq=False)
class Translation:
    r"""``(X, d)`` at ``lam`` as the log-likelihood problem ``(X, P_{X|U})``, (13)–(21).

    Attributes
    ----------
    lam : float
        The exponent in ``V = exp(-lam d)`` (per unit of ``d``; the paper's lambda).
    mu : ndarray, shape (n,)
        The normalising weights of (13), ``mu >= 0`` (``inf`` only if
        ``lam * min_y d[x,y]`` overflows; use ``log_mu`` then).
    log_mu : ndarray, shape (n,)
        ``log mu`` (``-inf`` where ``mu = 0``), computed without overflow.
    loglik : LogLikelihood
        The problem with ``P_{X|U} = diag(mu) exp(-lam d)`` (columns renormalised by
        at most ``residual``), in ``units``.
    residual : float
        ``max_y |sum_x mu_x exp(-lam d[x,y]) - 1|`` of the returned ``mu``.
    unique : bool
        Whether (13) has no other nonnegative solution. When it has several, ``mu``
        maximises ``sum_x p_x log mu_x`` among them (the only one that can satisfy
        Theorem 3's coupling, see :func:`~rdconvex.programs.single_parameter.at_lambda`).
    method : str
        How ``mu`` was found.
    units : str
        Units of rates and of log-likelihood distortions ``Dt``.
    """

    lam: float
    mu: np.ndarray
    log_mu: np.ndarray
    loglik: object
    residual: float
    unique: bool
    method: str
    units: str
    p_x: np.ndarray
    d: np.ndarray

    @property
    def offset(self) -> float:
        """``-sum_x p_x log mu_x`` in ``units``: ``Dt = lam D (in units) + offset``."""
        return self._offset_nats * UNITS[self.units]

    @property
    def _offset_nats(self) -> float:
        support = self.p_x > 0
        return float(-(self.p_x[support] @ self.log_mu[support]))

    def to_loglik(self, D) -> float:
        r"""(21): ``Dt = lam D - sum_x p_x log mu_x`` (``D`` in the units of ``d``,
        ``Dt`` in ``units``), so that ``R_ll(Dt) = R(D)``."""
        D = check_scalar(D, "D")
        return (self.lam * D + self._offset_nats) * UNITS[self.units]

    def from_loglik(self, Dt) -> float:
        """The inverse of (21): the classical ``D`` whose translate is ``Dt`` (``Dt`` in
        ``units``)."""
        Dt = check_scalar(Dt, "Dt") / UNITS[self.units]
        return (Dt - self._offset_nats) / self.lam

    def __repr__(self) -> str:
        return (f"Translation(lam={self.lam:.10g}, mu={np.array2string(self.mu, precision=6)}, "
                f"offset={self.offset:.10g} {self.units}, residual={self.residual:.1e}, "
                f"unique={self.unique})")


def _check_representable(d: np.ndarray, lam: float, sol: Normaliser) -> None:
    """Every pair ``d`` allows keeps a normal float64 likelihood (else the
    log-likelihood problem would forbid it)."""
    log_likelihood = safe_log(sol.nu)[:, None] + safe_log(sol.kernel)
    lost = np.isfinite(d) & (sol.nu[:, None] > 0) & (log_likelihood < LOG_TINY)
    if lost.any():
        x, y = np.argwhere(lost)[0]
        spread = float((d - row_minima(d)[:, None])[np.isfinite(d)].max())
        raise InvalidArgumentError(
            f"lam={lam!r} is too large for this d: P_X|U[{x}, {y}] = "
            f"exp({log_likelihood[x, y]:.1f}) underflows float64, so the log-likelihood "
            f"problem would forbid the pair ({x}, {y}) that d allows. Use lam <= "
            f"{-LOG_TINY / spread:.6g} (or mark far pairs as inf in d).")


def translate(p_x, d, lam, *, units: str = "nats", normalize: bool = False,
              tol: float = TOL) -> Translation:
    r"""Write ``(X, d)`` at ``lam`` as a log-likelihood problem (13)–(21).

    Finds ``mu >= 0`` with

    .. math:: \sum_x \mu_x e^{-\lambda d(x,y)} = 1 \quad \forall y \qquad (13)

    and returns the :class:`Translation` with ``P_{X|U} = diag(mu) exp(-lam d)``, for
    which ``R_ll(lam D - sum_x p_x log mu_x) = R(D)`` (20)–(21).

    How ``mu`` is found: rows are scaled in log space (``mu_x = exp(lam r_x) nu_x``,
    ``r_x = min_y d(x,y)``, so ``0 <= nu <= 1`` and large ``lam d`` does not underflow).
    A square, well-conditioned system (condition number below
    :data:`~rdconvex.section4.normaliser.COND_MAX`) is solved directly (its solution is
    the only candidate). Otherwise Newton's method on the dual of
    ``max sum_x p_x log mu_x`` subject to (13) finds the solution Theorem 3 can use,
    and if it has none an LP (HiGHS) finds the nonnegative ``mu`` closest to solving
    (13) in L1 (see :mod:`rdconvex.section4.normaliser`).

    Parameters
    ----------
    p_x : array_like, shape (n,)
        Source pmf.
    d : array_like, shape (n, m)
        Distortion, entries in ``[0, inf]``.
    lam : float
        ``lam > 0``.
    units : {"nats", "bits"}
        Units of the log-likelihood problem (rates and ``Dt``).
    normalize : bool
        Rescale ``p_x`` to sum to 1.
    tol : float
        Accepted residual ``max_y |sum_x mu_x V[x,y] - 1|``.

    Returns
    -------
    Translation

    Raises
    ------
    NoTranslationError
        (13) has no nonnegative solution at ``lam`` (the message says why), or every
        solution vanishes on a symbol with positive probability.
    InvalidArgumentError
        ``lam <= 0``, or ``lam`` so large that ``P_{X|U}`` underflows float64 on a pair
        ``d`` allows (the log-likelihood problem would forbid it).

    See Also
    --------
    rdconvex.section4.interval.in_interval : whether ``lam`` is in Theorem 3's ``I``.

    Examples
    --------
    >>> import numpy as np, rdconvex as rdc
    >>> tr = rdc.translate([0.8, 0.2], 1 - np.eye(2), lam=2.0)
    >>> tr.mu.round(6).tolist(), round(tr.to_loglik(0.1), 6)
    ([0.880797, 0.880797], 0.326928)
    """
    from ..problems.loglik import LogLikelihood

    units = check_units(units)
    p, d = validated(p_x, d, normalize)
    lam = check_lam(lam)
    sol = solve_normaliser(p, d, lam, check_tol(tol))
    _check_representable(d, lam, sol)
    loglik = LogLikelihood(p, sol.likelihood, units=units, normalize=True)
    with np.errstate(over="ignore"):
        mu = np.exp(sol.log_mu)
    for arr in (mu, sol.log_mu, p, d):
        arr.flags.writeable = False
    return Translation(lam=lam, mu=mu, log_mu=sol.log_mu, loglik=loglik,
                       residual=sol.residual, unique=sol.unique, method=sol.method,
                       units=units, p_x=p, d=d)


__all__ = ["LOG_TINY", "Translation", "translate"]
