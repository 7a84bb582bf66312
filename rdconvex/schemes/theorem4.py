r"""The perfect-perception scheme of Section V (36) and Theorem 4 made concrete.

Pass ``X`` through any ``P_{Z|X}``, then compress ``Z`` under the log-likelihood loss
``-log P_{Z|X}`` at ``H(Z|X)``: end to end ``W_XY = P_XZ diag(1/P_Z) P_XZ^T``, symmetric
with both marginals ``p`` (:func:`perception_scheme`). Theorem 4: when ``exp(-lam d)``
is completely positive the scheme is optimal for ``R(D, 0)``; :func:`theorem4_scheme`
builds the optimal ``P_{Z|X}`` from the Sinkhorn optimum and a CP factor
(:func:`rdconvex.schemes.cp_factor.cp_factor`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import UNITS, check_channel, check_distortion, check_pmf, check_units
from ..atoms import expected_distortion, mutual_information_value
from ..errors import InvalidChannelError, InvalidDistortionError
from ..numerics import log_kernel
from ..problems.perception import PerceptionResult, RateDistortionPerception
from .cp_factor import CPFactorization, cp_factor

#: ``perfect_perception`` of a scheme: ``max |q - p|`` within this (a float check of the
#: scheme's own arithmetic; the certified statements are the ``R(D, 0)`` results').
SCHEME_MARGINAL_TOL = 1e-12


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
        ``perception_error <= SCHEME_MARGINAL_TOL`` (1e-12).
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
        perfect_perception=error <= SCHEME_MARGINAL_TOL, units=units)



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
        The multiplier of the optimum ``J* = diag(a) V diag(a)``, ``V = exp(-lam (d -
        min d))``.
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
    result, (lam, f, g) = rdp._solve_perfect(D)
    src = rdp.source
    support = src.support
    if f is None:  # rate 0: the independent coupling, lam = 0
        f, g = np.zeros(support.size), np.zeros(p.size)
    # Sinkhorn's potentials are on the shifted data d - r_x; with one global shift c the
    # kernel stays symmetric: J* = diag(a) exp(-lam (d - c)) diag(a).
    finite = d_full[np.isfinite(d_full)]
    shift = float(finite.min()) if finite.size else 0.0
    row_potential = f + lam * (src.exact.reference - shift)
    a = np.zeros(p.size)
    a[support] = p[support] * np.exp(0.5 * (row_potential + g[support]))
    V = np.exp(log_kernel(d_full - shift, lam))
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
    return Theorem4Scheme(scheme=scheme, result=result, factor=factor, lam=lam, a=a,
                          joint_error=float(np.max(np.abs(scheme.joint - J_star))))
