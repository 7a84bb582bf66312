"""Certificates: the only place where a bound on any quantity is computed.

- :mod:`.classical` — R(D) (and R_ll(D), the same program): repaired channel (upper),
  Csiszár dual point (lower).
- :mod:`.screening` — which outputs a screened solve may leave out, certified by their
  dual constraints.
"""

from .classical import best_lower_bound, certify, lower_bound, lower_bounds, repair_channel

__all__ = ["best_lower_bound", "certify", "lower_bound", "lower_bounds", "repair_channel"]
