"""Certificates: the only place where a bound on any quantity is computed.

- :mod:`.classical` — R(D) (and R_ll(D), the same program): repaired channel (upper),
  Csiszár dual point (lower), both proven by :mod:`rdconvex.rigorous`.
- :mod:`.screening` — which outputs a screened solve may leave out, certified by their
  dual constraints.
- :mod:`.loglik` — R_ll(D_min) by (8) (decoder channel / dual of (8)), the special-point
  interval (LP duality) and its Farkas certificate of emptiness.
- :mod:`.perception` — R(D, Gamma) and R(D, 0) (repaired feasible channel / support
  function and entropic-OT dual bounds).
- :mod:`.single_parameter` — the objective of (22) at a given lambda, a lower bound on R(D).
"""

from .classical import (
    best_dual_point,
    certify,
    distortion_upper_end,
    lower_bound,
    repair_channel,
)

__all__ = ["best_dual_point", "certify", "distortion_upper_end", "lower_bound",
           "repair_channel"]
