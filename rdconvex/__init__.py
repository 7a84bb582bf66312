"""rdconvex: certified rate–distortion computations as disciplined convex programs."""

from __future__ import annotations

import importlib

from . import atoms, closed_forms
from .errors import (
    InaccurateSolutionWarning,
    InfeasibleDistortionError,
    InvalidArgumentError,
    InvalidChannelError,
    InvalidDistortionError,
    InvalidDistributionError,
    NoTranslationError,
    ProblemFileError,
    RDConvexError,
    SolverError,
    UnknownSolverError,
)
from .problems.classical import RateDistortion
from .results import Certificate, Result, Status
from .solvers import installed_solvers

from ._version import __version__  # noqa: E402

# Public names defined in modules that load on first use (keeps `import rdconvex` light
# and lets each family live in its own module).
_LAZY = {
    "Curve": "rdconvex.results",
    "GridSource": "rdconvex.problems.grid",
    "GridResult": "rdconvex.problems.grid",
    "verify": "rdconvex.verification",
    "Verification": "rdconvex.verification",
    "LogLikelihood": "rdconvex.problems.loglik",
    "SpecialPoints": "rdconvex.problems.loglik",
    "DMinResult": "rdconvex.problems.loglik",
    "DistortionDecomposition": "rdconvex.problems.loglik",
    "log_loss_rate": "rdconvex.problems.loglik",
    "translate": "rdconvex.section4",
    "Translation": "rdconvex.section4",
    "single_parameter_dual": "rdconvex.section4",
    "single_parameter_bound": "rdconvex.section4",
    "translation_interval": "rdconvex.section4",
    "in_interval": "rdconvex.section4",
    "SingleParameterDual": "rdconvex.section4",
    "LambdaIntervals": "rdconvex.section4",
    "Membership": "rdconvex.section4",
    "RateDistortionPerception": "rdconvex.problems.perception",
    "PerceptionResult": "rdconvex.problems.perception",
    "perception_scheme": "rdconvex.schemes",
    "cp_factor": "rdconvex.schemes",
    "theorem4_scheme": "rdconvex.schemes",
    "PerceptionScheme": "rdconvex.schemes",
    "CPFactorization": "rdconvex.schemes",
    "load_problem": "rdconvex.io",
    "sweep": "rdconvex.parallel",
    "check_certificate": "rdconvex.check",
    "CheckResult": "rdconvex.check",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rdconvex' has no attribute {name!r}")


__all__ = [
    "RateDistortion", "Result", "Certificate", "Status", "installed_solvers", "atoms",
    "closed_forms", "RDConvexError", "InvalidDistributionError", "InvalidDistortionError",
    "InvalidChannelError", "InvalidArgumentError", "InfeasibleDistortionError",
    "UnknownSolverError", "ProblemFileError", "SolverError", "NoTranslationError",
    "InaccurateSolutionWarning",
    *_LAZY,
]
