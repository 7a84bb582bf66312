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
    ProblemFileError,
    RDConvexError,
    SolverError,
    UnknownSolverError,
)
from .ratedistortion import RateDistortion
from .results import Certificate, Result, Status
from .solvers import installed_solvers

__version__ = "0.1.0"

# Public names defined in modules that load on first use (keeps `import rdconvex` light
# and lets each family live in its own module).
_LAZY = {
    "Curve": "rdconvex.results",
    "verify": "rdconvex.certify",
    "Verification": "rdconvex.certify",
    "LogLikelihood": "rdconvex.loglik",
    "SpecialPoints": "rdconvex.loglik",
    "DMinResult": "rdconvex.loglik",
    "DistortionDecomposition": "rdconvex.loglik",
    "log_loss_rate": "rdconvex.loglik",
    "translate": "rdconvex.translation",
    "Translation": "rdconvex.translation",
    "single_parameter_dual": "rdconvex.translation",
    "single_parameter_bound": "rdconvex.translation",
    "translation_interval": "rdconvex.translation",
    "in_interval": "rdconvex.translation",
    "NoTranslationError": "rdconvex.translation",
    "SingleParameterDual": "rdconvex.translation",
    "LambdaIntervals": "rdconvex.translation",
    "Membership": "rdconvex.translation",
    "RateDistortionPerception": "rdconvex.perception",
    "perception_scheme": "rdconvex.perception",
    "cp_factor": "rdconvex.perception",
    "theorem4_scheme": "rdconvex.perception",
    "PerceptionResult": "rdconvex.perception",
    "PerceptionScheme": "rdconvex.perception",
    "CPFactorization": "rdconvex.perception",
    "load_problem": "rdconvex.io",
    "sweep": "rdconvex.parallel",
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
    "UnknownSolverError", "ProblemFileError", "SolverError", "InaccurateSolutionWarning",
    *_LAZY,
]
