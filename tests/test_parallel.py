"""Sweeps run on any executor and give the same certified answers as direct solves."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.closed_forms import binary_hamming_rate


def _problems():
    return [rdc.RateDistortion([1 - p, p], 1 - np.eye(2)) for p in (0.1, 0.2, 0.3, 0.4)]


def test_sweep_in_process_pool():
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = rdc.sweep(_problems(), D=0.05, executor=pool, solver="clarabel")
    for p, res in zip((0.1, 0.2, 0.3, 0.4), results):
        assert res.rate == pytest.approx(binary_hamming_rate(p, 0.05), abs=1e-6)
        assert res.certificate.gap <= 1e-6


def test_sweep_per_problem_targets_and_threads():
    Ds = [0.01, 0.02, 0.03, 0.04]
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = rdc.sweep(_problems(), D=Ds, executor=pool)
    direct = rdc.sweep(_problems(), D=Ds)
    assert [r.rate for r in threaded] == pytest.approx([r.rate for r in direct], abs=1e-9)


def test_sweep_errors_return_and_raise():
    probs = _problems()
    out = rdc.sweep(probs, D=[0.1, -1.0, 0.1, 0.1], errors="return")
    assert isinstance(out[1], rdc.InfeasibleDistortionError)
    assert isinstance(out[0], rdc.Result)
    with pytest.raises(rdc.InfeasibleDistortionError):
        rdc.sweep(probs, D=[0.1, -1.0, 0.1, 0.1])


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one"), ({"D": [0.1, 0.2]}, "2 values for 4 problems"),
    ({"D": 0.1, "errors": "ignore"}, "errors="),
])
def test_sweep_bad_arguments(kwargs, match):
    with pytest.raises(rdc.InvalidArgumentError, match=match):
        rdc.sweep(_problems(), **kwargs)
