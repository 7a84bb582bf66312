"""Reference instances of the log-likelihood family, with where each number comes from,
and float64 evaluators written independently of the code under test.

References (all independent of the code under test):
* Fig. 3 instance, X ~ Ber(0.25), A = BSC(0.1): D_min = -log 0.9, D_max = 0.75(-log 0.9)
  + 0.25(-log 0.1); the only consistent P_U solves A Q = p: Q = (0.8125, 0.1875), and
  D* = h(0.1) (both columns have entropy h(0.1)).
* Fig. 4 instance, X ~ Ber(0.35), A columns (.8,.2), (.4,.6), (.2,.8): consistent Q =
  (a, b, c) satisfy .6a + .2b = .45 and a + b + c = 1, i.e. a = .75 - b/3, c = .25 - 2b/3,
  b in [0, .375]; D*(b) = h(.2) + b (h(.4) - h(.2)), so [D1, D2] = [h(.2), h(.2) +
  .375 (h(.4) - h(.2))], attained at (.75, 0, .25) and (.625, .375, 0).
* A tied instance (CYCLIC): T(0) = {0,1}, T(1) = {1,2}, T(2) = {0,2}, p = (.5,.3,.2).
  Q = (.4, .6, 0) satisfies the KKT conditions of (8) (sum_{x: u in T(x)} p_x / sum_{T(x)} Q
  = 1 for every u), so R_ll(D_min) = .3 log(1/.6) + .2 log(1/.4).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import entr, rel_entr

from rdconvex.closed_forms import binary_entropy as h

LN2 = math.log(2.0)
FIG3 = dict(p_x=[0.75, 0.25], p_x_given_u=[[0.9, 0.1], [0.1, 0.9]])
FIG4 = dict(p_x=[0.65, 0.35], p_x_given_u=[[0.8, 0.4, 0.2], [0.2, 0.6, 0.8]])
CYCLIC = dict(p_x=[0.5, 0.3, 0.2],
              p_x_given_u=[[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0.4, 0.2, 0.4]])
CYCLIC_RATE = 0.3 * math.log(1 / 0.6) + 0.2 * math.log(1 / 0.4)
#: The cyclic instance as arrays, with its exact maximum-likelihood sets T(x) of (8).
CYCLIC_P = np.array(CYCLIC["p_x"])
CYCLIC_A = np.array(CYCLIC["p_x_given_u"])
CYCLIC_TIES = CYCLIC_A >= CYCLIC_A.max(axis=1, keepdims=True)
# Zeros in A (forbidden pairs) and a zero-probability source symbol.
SPARSE = dict(p_x=[0.6, 0.4, 0.0],
              p_x_given_u=[[0.5, 0.0, 0.3], [0.5, 0.6, 0.0], [0.0, 0.4, 0.7]])

#: Fig. 4's special-point interval in nats (see the module docstring).
FIG4_D1 = h(0.2)
FIG4_D2 = h(0.2) + 0.375 * (h(0.4) - h(0.2))


def entropy(p) -> float:
    return float(np.sum(entr(np.asarray(p, dtype=float))))


def mutual_information(p, W) -> float:
    """Independent float64 evaluation of I(X;Y) = sum p W log(W / q)."""
    p, W = np.asarray(p, dtype=float), np.asarray(W, dtype=float)
    q = p @ W
    keep = p > 0
    return float(np.sum(p[keep, None] * rel_entr(W[keep], q[None, :])))


def program8_value(p, ties, Q) -> float:
    """Objective of (8) at Q, in nats."""
    mass = (np.asarray(ties) * Q[None, :]).sum(axis=1)
    keep = np.asarray(p) > 0
    return float(-np.asarray(p)[keep] @ np.log(mass[keep]))


def random_instance(seed: int, n: int, k: int, consistent: bool):
    """Dirichlet columns; when ``consistent`` the source is A Q for a random P_U, so
    special points exist."""
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.ones(n), size=k).T
    if consistent:
        p = A @ rng.dirichlet(np.ones(k))
    else:
        p = rng.dirichlet(np.ones(n))
    return p / p.sum(), A
