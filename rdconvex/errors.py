"""Typed errors and warnings.

Every bad input raises a subclass of :class:`RDConvexError` (itself a
:class:`ValueError`, so ``except ValueError`` keeps working) whose message names the
argument, says what is wrong and how to fix it.
"""

from __future__ import annotations


class RDConvexError(ValueError):
    """Base class of every error rdconvex raises on purpose."""


class InvalidDistributionError(RDConvexError):
    """A probability vector (``p_x``, an output pmf, a column of ``P_{X|U}``) is invalid."""


class InvalidDistortionError(RDConvexError):
    """A distortion matrix has the wrong shape, negative/NaN entries or an impossible row."""


class InvalidChannelError(RDConvexError):
    """A channel ``W_{Y|X}`` (or ``P_{X|U}``) is not a valid stochastic matrix."""


class InvalidArgumentError(RDConvexError):
    """A scalar argument (``D``, ``slope``, ``units``, ``tol``, ...) is invalid."""


class InfeasibleDistortionError(RDConvexError):
    """The requested distortion is below ``D_min``: no channel attains it."""


class UnknownSolverError(RDConvexError):
    """The requested solver is unknown or not installed."""


class ProblemFileError(RDConvexError):
    """A problem file cannot be read or has an invalid field."""


class NoTranslationError(RDConvexError):
    """Section IV: (13) has no usable nonnegative solution at this ``lam``, or the set
    ``I`` of Theorem 3 is empty on the searched range."""


class SolverError(RDConvexError):
    """A solver failed to return a usable point.

    ``partial`` carries whatever the solver had (a :class:`~rdconvex.Result` with a
    failure status, or ``None`` when it had nothing).
    """

    def __init__(self, message: str, partial=None):
        super().__init__(message)
        self.partial = partial


class InaccurateSolutionWarning(UserWarning):
    """A solver stopped short of its tolerance; the answer is certified but loose."""
