r"""Section IV bounds: the objective of the single-parameter dual (22) as a lower bound.

For ``lam > 0`` and any weights ``mu >= 0`` with ``mu_x > 0`` on the support of ``p``,

.. math::
    R(D) \;\ge\; H(X) + \sum_x p_x \log \mu_x
    - \log \max_y \sum_x \mu_x e^{-\lambda d(x,y)} - \lambda D .

Why: with ``c_x = mu_x / p_x`` this is Csiszár's dual objective [1]_ (Gallager [2]_,
Thm 9.4.1) at slope ``lam``, ``sum_x p_x log c_x - log M - lam D`` with
``M = max_y sum_x p_x c_x e^{-lam d(x,y)}``, a lower bound on ``R(D)`` for every
``c > 0``. When ``mu`` solves (13), ``M = 1`` up to rounding and the bound *is* the
objective of (22) at ``lam``; dividing by ``M`` (the ``- log M`` term) keeps it a bound
in floating point whatever the residual of (13).

Everything is evaluated in the row-scaled form of
:func:`~rdconvex.programs.single_parameter.scaled_kernel`: ``mu_x = e^{lam r_x} nu_x``,
``V'[x,y] = e^{-lam (d(x,y) - r_x)}`` (row maximum 1), so ``lam d`` of any size neither
overflows nor underflows.

References
----------
.. [1] I. Csiszár, "On the computation of rate-distortion functions", IEEE Trans.
   Inf. Theory 20(1), 1974.
.. [2] R. G. Gallager, *Information Theory and Reliable Communication*, Wiley, 1968.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, logsumexp

from ..numerics import safe_log


def dual_objective_bound(p: np.ndarray, D: float, lam: float, nu: np.ndarray,
                         kernel: np.ndarray, row_min: np.ndarray) -> float:
    r"""(22)'s objective at ``lam``, made a lower bound on ``R(D)`` (nats).

    .. math::
        H(X) + \sum_x p_x (\lambda r_x + \log \nu_x)
        - \log \max_y \sum_x \nu_x V'_{xy} - \lambda D \;\le\; R(D)

    Parameters
    ----------
    p : ndarray, shape (n,)
        Source pmf with every entry ``> 0`` (the reduced problem).
    D : float
        Distortion, in the units of ``d``.
    lam : float
        Slope ``lam > 0`` (per unit of ``d``).
    nu : ndarray, shape (n,)
        Row-scaled weights, ``mu_x = exp(lam r_x) nu_x``; ``nu >= 0`` and ``> 0``
        wherever ``p > 0`` (else the bound is ``-inf``).
    kernel : ndarray, shape (n, m)
        ``V'[x,y] = exp(-lam (d[x,y] - r_x))`` (0 on forbidden pairs).
    row_min : ndarray, shape (n,)
        ``r_x = min_y d[x,y]``.

    Returns
    -------
    float
        A lower bound on ``R(D)`` in nats, valid for any such ``nu`` (no optimality and
        no exact solution of (13) needed).

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.programs.single_parameter import scaled_kernel
    >>> p, d, lam = np.array([0.8, 0.2]), 1 - np.eye(2), np.log(9.0)
    >>> r, kernel = scaled_kernel(d, lam)
    >>> nu = np.full(2, 1 / (1 + np.exp(-lam)))      # (13) for Hamming distortion
    >>> round(dual_objective_bound(p, 0.1, lam, nu, kernel, r), 9)   # h(0.2) - h(0.1)
    0.17531945
    """
    support = p > 0
    log_mu = safe_log(nu[support]) + lam * row_min[support]
    log_columns = logsumexp(safe_log(nu)[:, None] + safe_log(kernel), axis=0)
    log_M = float(log_columns.max())
    entropy = float(entr(p).sum())
    return float(entropy + float(p[support] @ log_mu) - log_M - lam * D)


__all__ = ["dual_objective_bound"]
