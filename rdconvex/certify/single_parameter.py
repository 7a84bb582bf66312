r"""Section IV bounds: the objective of the single-parameter dual (22) as a proven
lower bound on ``R(D)``.

For ``lam > 0`` and any weights ``mu >= 0`` with ``mu_x > 0`` on the support of ``p``,

.. math::
    R(D) \;\ge\; H(X) + \sum_x p_x \log \mu_x
    - \log \max_y \sum_x \mu_x e^{-\lambda d(x,y)} - \lambda D .

Why: with ``c_x = mu_x / p_x`` this is Csiszár's dual objective [1]_ (Gallager [2]_,
Thm 9.4.1) at slope ``lam``, ``sum_x p_x log c_x - log M - lam D`` with
``M = max_y sum_x p_x c_x e^{-lam d(x,y)}``, a lower bound on ``R(D)`` for every
``c > 0``. When ``mu`` solves (13), ``M = 1`` and the bound *is* the objective of (22)
at ``lam``; the ``- log M`` term keeps it a bound whatever the residual of (13).

*Shifted form.* The bound is evaluated by :func:`rdconvex.rigorous.dual_lower_bound`
on the shifted data of the classical problem, ``d'(x,y) = d(x,y) - r_x`` with
``r_x = min_y d(x,y)`` and ``D' = D - D_min``. Shifting moves the constant: since
``mu_x = e^{lam r_x} nu_x`` (the row-scaled weights of
:func:`~rdconvex.programs.single_parameter.scaled_kernel`),

.. math::
    \sum_x p_x \ell_x - \log \max_y \sum_x p_x e^{\ell_x - \lambda d'(x,y)} - \lambda D'
    \quad\text{with}\quad \ell_x = \log \nu_x - \log p_x
    = \log \mu_x - \log p_x - \lambda r_x

is the same number as the display above (the ``lam r_x`` terms cancel against
``lam D_min``), with no offset ever meeting the slope. The evaluation rounds outward
(``p`` normalised exactly, every ``exp``, ``log`` and sum enclosed), so the float
returned is ``<=`` the bound for the problem the input floats define.

References
----------
.. [1] I. Csiszár, "On the computation of rate-distortion functions", IEEE Trans.
   Inf. Theory 20(1), 1974.
.. [2] R. G. Gallager, *Information Theory and Reliable Communication*, Wiley, 1968.
"""

from __future__ import annotations

import numpy as np

from ..numerics import safe_log
from ..rigorous import ShiftedProblem, dual_lower_bound


def dual_point(problem: ShiftedProblem, nu: np.ndarray) -> np.ndarray:
    """Csiszár's ``log c`` on the shifted data for the row-scaled weights ``nu``:
    ``l_x = log nu_x - log p_x`` (``-inf`` where ``nu_x = 0``)."""
    return safe_log(nu) - np.log(problem.p)


def dual_objective_bound(problem: ShiftedProblem, D: float, lam: float,
                         nu: np.ndarray) -> float:
    r"""(22)'s objective at ``lam``, made a proven lower bound on ``R(D)`` (nats).

    .. math::
        H(X) + \sum_x p_x \log \mu_x - \log \max_y \sum_x \mu_x e^{-\lambda d(x,y)}
        - \lambda D \;\le\; R(D), \qquad \mu_x = e^{\lambda r_x} \nu_x

    Parameters
    ----------
    problem : ShiftedProblem
        The shifted data of the reduced classical problem
        (:meth:`rdconvex.rigorous.ShiftedProblem.from_distortion` of ``(p, d)``, every
        ``p_x > 0``).
    D : float
        Distortion, in the units of ``d``.
    lam : float
        Slope ``lam > 0`` (per unit of ``d``).
    nu : ndarray, shape (n,)
        Row-scaled weights, ``mu_x = exp(lam r_x) nu_x`` with ``r_x = min_y d(x,y)``;
        ``nu >= 0`` and ``> 0`` wherever ``p > 0`` (else the bound is ``-inf``).

    Returns
    -------
    float
        A float ``<=`` the bound, so ``<= R(D)`` for the exact ``p`` and ``d``, valid
        for any such ``nu`` (no optimality and no exact solution of (13) needed).

    Examples
    --------
    >>> import numpy as np
    >>> from rdconvex.rigorous import ShiftedProblem
    >>> p, d, lam = np.array([0.8, 0.2]), 1 - np.eye(2), np.log(9.0)
    >>> problem = ShiftedProblem.from_distortion(p, d)
    >>> nu = np.full(2, 1 / (1 + np.exp(-lam)))      # (13) for Hamming distortion
    >>> round(dual_objective_bound(problem, 0.1, lam, nu), 9)   # h(0.2) - h(0.1)
    0.17531945
    """
    return dual_lower_bound(problem, problem.excess_of(D), float(lam),
                            dual_point(problem, np.asarray(nu, dtype=float)))


__all__ = ["dual_objective_bound", "dual_point"]
