r"""Second-order pieces of Blahut–Arimoto on a working set of outputs.

*Projected Newton.* On a working set of outputs the Lagrangian form of the
Blahut–Arimoto objective

.. math::
    h(q) = -\sum_x p_x \log (Kq)_x + \sum_y q_y, \qquad q \ge 0,

has the same minimiser as :math:`f_s` on the simplex (it sums to 1 by itself: at a
stationary point :math:`\sum_y q_y c_y(q) = 1`). Its gradient is :math:`1 - c(q)` and
its Hessian :math:`A^\top A` with :math:`A_{xy} = \sqrt{p_x} K_{xy} / (Kq)_x`. It is
minimised by projected Newton [1]_ with an Armijo search along the projection arc.

*Derivative of the distortion along the curve.* On the strict support :math:`S` of the
optimum at slope :math:`s`, with :math:`W` the Blahut–Arimoto channel and
:math:`b_y = \sum_x p_x u_{xy} (\bar d_x - d(x,y))`, :math:`u_{xy} = K_{xy}/(Kq)_x`,

.. math::
    \frac{dD}{ds} = -\sum_x p_x \operatorname{Var}_{W(\cdot|x)}(d) - b^\top H^{-1} b,

the target-``D`` slope search (:mod:`rdconvex.iterative.ba`) takes Newton steps with it.

References
----------
.. [1] D. P. Bertsekas, "Projected Newton methods for optimization problems with simple
   constraints", SIAM J. Control Optim. 20(2), 1982.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

#: Flops (n k^2) one Newton step may spend on its Hessian; larger working sets are
#: finished by accelerated sweeps instead.
NEWTON_BUDGET = 3e9


def lagrangian(p, Z, q) -> float:
    """``h(q) = -sum p log Z + sum q``; ``inf`` when a row lost all its mass."""
    if not np.all(Z > 0):
        return math.inf
    return float(-(p @ np.log(Z)) + q.sum())


def projected_newton(K, p, q, tol, budget, max_steps=100) -> np.ndarray:
    """Projected Newton (Bertsekas 1982) on ``h(q) = -sum p log Kq + sum q, q >= 0``.

    Outputs at (or, relative to the largest weight, near) zero whose gradient
    pushes outwards are held at zero; Newton's direction on the others is followed
    along the projection arc with an Armijo search. ``budget`` counts the steps.
    """
    sqrt_p = np.sqrt(p)
    Z = K @ q
    h = lagrangian(p, Z, q)
    target = 0.1 * tol
    for _ in range(max_steps):
        if budget.exhausted:
            break
        with np.errstate(divide="ignore", over="ignore"):
            c = K.T @ (p / Z)
        g = 1.0 - c
        positive = q > 0
        kkt = max(float(np.max(np.abs(g[positive]), initial=0.0)),
                  float(np.max(-g[~positive], initial=0.0)))
        if kkt <= target:
            break
        budget.tick()
        residual = float(np.linalg.norm(q - np.maximum(q - g, 0.0)))
        step = None
        # Levenberg–Marquardt damping: H is singular when the working set is larger
        # than the source alphabet or has duplicate columns; the damping vanishes
        # with the gradient, so the local rate stays quadratic.
        damping = min(1.0, kkt)
        for eps in (min(1e-3, residual) * float(q.max()), 0.0):
            active = (q <= eps) & (g > 0)
            step = _newton_step(K, p, q, g, h, active, sqrt_p / Z, damping)
            if step is not None:
                break
        if step is None:
            # No descent along the Newton arc: one BA step instead, with a little
            # mass for violated outputs at zero (a multiplicative step cannot
            # revive them).
            trial = q * c
            revive = (q == 0) & (g < 0)
            trial[revive] = 1e-3 * float(q.max()) * (c[revive] - 1.0)
            Zt = K @ trial
            if not np.all(Zt > 0):
                break
            step = trial, Zt, lagrangian(p, Zt, trial)
        q, Z, h = step
    return q


def _newton_step(K, p, q, g, h, active, row_scale, damping):
    """Armijo search along the projection arc of the Newton direction on the free
    outputs; ``(q, Kq, h)`` of the accepted point, or None."""
    free = np.flatnonzero(~active)
    with np.errstate(over="ignore", invalid="ignore"):
        A = K[:, free] * row_scale[:, None]
        H = A.T @ A
    if not np.all(np.isfinite(H)):  # a subnormal probability's row overflows: plain BA
        return None
    direction = _newton_direction(H, g[free], damping)
    alpha = 1.0
    while alpha >= 1e-10:
        trial = q.copy()
        trial[active] = 0.0
        trial[free] = np.maximum(q[free] + alpha * direction, 0.0)
        Zt = K @ trial
        ht = lagrangian(p, Zt, trial)
        predicted = float(g @ (trial - q))
        # Near the optimum h changes below its rounding: accept a step that does not
        # increase h beyond that; the KKT test decides convergence.
        if predicted < 0 and ht <= h + 1e-4 * predicted + 4e-16 * abs(h):
            return trial, Zt, ht
        alpha *= 0.5
    return None


def _newton_direction(H, g, damping=0.0):
    """``-(H + ridge I)^{-1} g`` by Cholesky, raising the ridge until it factors."""
    scale = float(np.max(np.diag(H), initial=1.0))
    ridge = max(1e-13, 1e-2 * damping) * scale
    for _ in range(6):
        try:
            factor = cho_factor(H + ridge * np.eye(H.shape[0]), check_finite=False)
            direction = -cho_solve(factor, g, check_finite=False)
            if np.all(np.isfinite(direction)):
                return direction
        except (LinAlgError, ValueError):
            pass
        ridge *= 1e3
    return -g / np.maximum(np.diag(H), 1e-300)


def distortion_derivative(p, Z, W, ds, mean, K_strict, d_strict) -> float:
    """``dD/ds`` on the strict support (see the module docstring).

    ``W``, ``ds`` are the channel and distortion on the support, ``mean`` the row means
    of ``d`` under ``W``; ``K_strict``, ``d_strict`` the kernel and distortion columns
    of the strict support.
    """
    variance = np.sum(W * ds * ds, axis=1) - mean * mean
    U = K_strict / Z[:, None]
    b = U.T @ (p * mean) - (U * d_strict).T @ p
    A = K_strict * (np.sqrt(p) / Z)[:, None]
    H = A.T @ A
    try:
        factor = cho_factor(H + 1e-13 * max(np.max(np.diag(H)), 1.0)
                            * np.eye(H.shape[0]), check_finite=False)
        curvature = float(b @ cho_solve(factor, b, check_finite=False))
    except (LinAlgError, ValueError):
        curvature = 0.0
    return -(float(p @ np.maximum(variance, 0.0)) + max(curvature, 0.0))
