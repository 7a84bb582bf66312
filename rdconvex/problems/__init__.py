"""Problems: thin classes over the shared layers, one ``finish`` (:mod:`.base`)."""

from .classical import RateDistortion

__all__ = ["RateDistortion"]
