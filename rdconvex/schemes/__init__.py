"""Schemes of Section V: the perfect-perception scheme (36), Theorem 4 made concrete
(:mod:`.theorem4`) and completely positive factorisations, Lemma 1 (:mod:`.cp_factor`)."""

from .cp_factor import CPFactorization, cp_factor
from .theorem4 import (
           PerceptionScheme,
           Theorem4Scheme,
           perception_scheme,
           theorem4_scheme,
)

__all__ = ["CPFactorization", "PerceptionScheme", "Theorem4Scheme", "cp_factor",
           "perception_scheme", "theorem4_scheme"]
