"""The iterative core (numpy, log-safe): Blahut–Arimoto and Sinkhorn.

Importing this package registers the iterative solvers (``"ba"``, ...) with
:mod:`rdconvex.solvers`.
"""

from . import ba  # noqa: F401  (registers "ba")
from .ba import BAProgress, blahut_arimoto, blahut_arimoto_distortion

__all__ = ["BAProgress", "blahut_arimoto", "blahut_arimoto_distortion"]
