"""``solver="ba"``: the certified fast Blahut–Arimoto of :mod:`rdconvex.iterative.ba`."""

from __future__ import annotations

from .._validation import check_warm_start
from ..errors import InvalidArgumentError
from ..iterative import ba as _ba
from .base import RateDistortionAdapter


class BlahutArimoto(RateDistortionAdapter):
    """Blahut–Arimoto at a slope, or at a target ``D`` by a safeguarded slope search."""

    NAME = "ba"
    MODULE = ""
    DEFAULT_TOL = _ba.DEFAULT_TOL
    DEFAULT_MAX_ITER = _ba.DEFAULT_MAX_ITER
    #: The returned (slope, q) already closes the gap to ``tol``: certify without
    #: polishing (which would cost dozens of log-space passes).
    certify_options = {"polish": 0, "refine_slope": False}

    def solve_rate_distortion(self, p, d, *, D=None, slope=None, tol=None, max_iter=None,
                              solver_options=None, callback=None, warm_start=None):
        if (D is None) == (slope is None):
            raise InvalidArgumentError("give exactly one of D=... or slope=....")
        warm_slope, warm_q = check_warm_start(warm_start, d.shape[1])
        if slope is not None:
            return _ba.blahut_arimoto(p, d, slope, tol=tol, max_iter=max_iter,
                                      callback=callback, output_pmf=warm_q,
                                      solver_options=solver_options)
        return _ba.blahut_arimoto_distortion(p, d, D, tol=tol, max_iter=max_iter,
                                             callback=callback, slope=warm_slope,
                                             output_pmf=warm_q, solver_options=solver_options)
