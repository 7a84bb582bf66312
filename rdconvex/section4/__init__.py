r"""Section IV: a general ``(X, d)`` as a log-likelihood problem, and the dual (22).

- :mod:`.normaliser` — the normalising ``mu`` of (13) (linear solve, Newton, LP).
- :mod:`.translation` — :func:`translate` / :class:`Translation`, (13)–(21).
- :mod:`.interval` — the set ``I`` of Theorem 3: :func:`in_interval` /
  :class:`Membership`, :func:`translation_interval` / :class:`LambdaIntervals`.
- :mod:`.dual` — the single-parameter dual (22): :func:`single_parameter_dual` /
  :class:`SingleParameterDual`, :func:`single_parameter_bound`.

The bound itself is computed in :mod:`rdconvex.certify.single_parameter`; the printable
programs are in :mod:`rdconvex.programs.single_parameter`.
"""

from ..errors import NoTranslationError
from ._common import TOL
from .dual import SingleParameterDual, single_parameter_bound, single_parameter_dual
from .interval import (
    GRID,
    XTOL,
    LambdaIntervals,
    Membership,
    default_lam_range,
    in_interval,
    translation_interval,
)
from .normaliser import COND_MAX
from .translation import Translation, translate

__all__ = ["translate", "Translation", "NoTranslationError", "in_interval", "Membership",
           "translation_interval", "LambdaIntervals", "default_lam_range",
           "single_parameter_bound", "single_parameter_dual", "SingleParameterDual",
           "TOL", "COND_MAX", "GRID", "XTOL"]
