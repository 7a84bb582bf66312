r"""Completely positive factorisations ``V ≈ B B^T`` with ``B >= 0`` (Lemma 1).

Theorem 4 needs the kernel ``V = exp(-lam d)`` to be completely positive; Lemma 1 gives
two exact or near-exact families (the Hamming kernel, a Gaussian kernel on a finite
point set), and a numerical symmetric NMF covers the rest (evidence, not proof).
:func:`cp_factor` finds ``B`` and reports how well ``B B^T`` matches ``V``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import erfc, erfcinv

from .._validation import check_scalar
from ..errors import InvalidArgumentError


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
