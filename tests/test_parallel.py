"""Sweeps and curves run on any executor and give the same certified answers as direct
solves: thread and process pools, and a dask ``LocalCluster`` (2 worker processes)
through ``client.get_executor()``, where results must equal the serial ones to the bit
(certificate records included) and failed solves and dead workers must surface."""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

import rdconvex as rdc
from rdconvex.closed_forms import binary_hamming_rate
from rdconvex.problems.curve import rate_distortion_curve

from .conftest import random_problem


def _problems():
    return [rdc.RateDistortion([1 - p, p], 1 - np.eye(2)) for p in (0.1, 0.2, 0.3, 0.4)]


class _KillsItsWorker:
    """A problem whose solve ends the process it runs in, as a crashed worker would."""

    def solve(self, **_):
        os._exit(3)


def _random_problems(count=6, size=12):
    rng = np.random.default_rng(20261125)
    problems = [rdc.RateDistortion(*random_problem(rng, size, size)) for _ in range(count)]
    return problems, [p.D_min + 0.3 * (p.D_max - p.D_min) for p in problems]


def _same_bits(left: rdc.Result, right: rdc.Result):
    """Equal to the last bit: the point, the certificate and its certificate record
    (everything but the wall-clock ``solve_time``)."""
    fields = ("rate", "distortion", "slope", "D", "status", "solver", "iterations", "units",
              "message", "certificate")
    assert [getattr(left, f) for f in fields] == [getattr(right, f) for f in fields]
    assert np.array_equal(left.channel, right.channel)
    assert np.array_equal(left.output_pmf, right.output_pmf)
    assert json.dumps(left.proof.document(), sort_keys=True) == \
        json.dumps(right.proof.document(), sort_keys=True)


# --------------------------------------------------------- concurrent.futures pools
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


def test_sweep_returns_a_broken_pool():
    """A process that dies mid-task breaks the pool: its exception fills the slots."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        out = rdc.sweep([_KillsItsWorker(), *_problems()], D=0.1, executor=pool,
                        errors="return", chunksize=2)
    assert len(out) == 5 and isinstance(out[0], BrokenProcessPool)
    assert isinstance(out[1], BrokenProcessPool)  # the same chunk


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one"), ({"D": [0.1, 0.2]}, "2 values for 4 problems"),
    ({"D": 0.1, "errors": "ignore"}, "errors="), ({"D": 0.1, "chunksize": 0}, "chunksize="),
    ({"D": 0.1, "chunksize": 2.0}, "chunksize="),
])
def test_sweep_bad_arguments(kwargs, match):
    with pytest.raises(rdc.InvalidArgumentError, match=match):
        rdc.sweep(_problems(), **kwargs)


def test_curve_on_threads_equals_cold_serial_curve():
    problem = rdc.RateDistortion([0.7, 0.3], 1 - np.eye(2))
    with ThreadPoolExecutor(max_workers=2) as pool:
        spread = rate_distortion_curve(problem, num=6, executor=pool)
    serial = rate_distortion_curve(problem, num=6, warm=False)
    for left, right in zip(spread.results, serial.results):
        _same_bits(left, right)
    with pytest.raises(rdc.InvalidArgumentError, match="warm=True"):
        rate_distortion_curve(problem, num=6, executor=pool, warm=True)


# ------------------------------------------------------------------------ dask
# Below the process-pool tests on purpose: those fork, and a fork is safest before the
# cluster's threads (started by the module-scoped fixture on first use) exist.
@pytest.fixture(scope="module")
def dask_client():
    """Two single-threaded worker processes. A task whose worker dies fails at once
    (``allowed-failures`` 0) instead of being retried on the next worker. The
    scheduler's HTTP server takes any free port (``":0"``; ``None`` still tries 8787 and
    warns when a concurrent run holds it)."""
    import dask  # the test extra installs dask[distributed]: missing is a failure
    import distributed

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0",
                                           silence_logs=logging.CRITICAL)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.parametrize("solver, chunksize", [("ba", 1), ("ba", 4), ("clarabel", 1)])
def test_dask_sweep_equals_serial_to_the_bit(dask_client, solver, chunksize):
    problems, Ds = _random_problems()
    serial = rdc.sweep(problems, D=Ds, solver=solver)
    remote = rdc.sweep(problems, D=Ds, solver=solver, executor=dask_client.get_executor(),
                       chunksize=chunksize)
    assert len(remote) == len(serial)
    for left, right in zip(serial, remote):
        _same_bits(left, right)
    assert rdc.check_certificate(remote[0].proof.document()).proven


def test_dask_slope_sweep_of_loglik_problems(dask_client):
    """Log-likelihood problems carry arb balls (from the likelihood) through pickling."""
    rng = np.random.default_rng(7)
    problems = [rdc.LogLikelihood(rng.dirichlet(np.ones(5)),
                                  rng.dirichlet(np.ones(5), size=4).T) for _ in range(3)]
    serial = rdc.sweep(problems, slope=2.0)
    remote = rdc.sweep(problems, slope=2.0, executor=dask_client.get_executor())
    for left, right in zip(serial, remote):
        _same_bits(left, right)


def test_dask_curve_equals_serial_cold_solves(dask_client):
    problem, = _random_problems(count=1, size=20)[0]
    curve = rate_distortion_curve(problem, num=8, solver="ba",
                                  executor=dask_client.get_executor())
    direct = [problem.solve(D=float(D), solver="ba") for D in curve.D]
    for left, right in zip(curve.results, direct):
        _same_bits(left, right)
    serial = rate_distortion_curve(problem, num=8, solver="ba", warm=False)
    for name in ("D", "rate", "lower", "upper", "slope", "distortion"):
        np.testing.assert_array_equal(getattr(curve, name), getattr(serial, name))


def test_dask_failed_solves_surface(dask_client):
    executor = dask_client.get_executor()
    Ds = [0.1, -1.0, 0.1, 0.1]
    out = rdc.sweep(_problems(), D=Ds, executor=executor, errors="return")
    assert isinstance(out[1], rdc.InfeasibleDistortionError)
    assert "D_min" in str(out[1])
    assert all(isinstance(out[i], rdc.Result) for i in (0, 2, 3))
    chunked = rdc.sweep(_problems(), D=Ds, executor=executor, errors="return", chunksize=3)
    assert [type(r) for r in chunked] == [type(r) for r in out]
    with pytest.raises(rdc.InfeasibleDistortionError):
        rdc.sweep(_problems(), D=Ds, executor=executor)
    with pytest.raises(rdc.InfeasibleDistortionError):
        rate_distortion_curve(_problems()[0], D=[0.1, -1.0], executor=executor)


def test_dask_dead_worker_surfaces(dask_client):
    from distributed import KilledWorker

    executor = dask_client.get_executor()
    out = rdc.sweep([_KillsItsWorker()], D=0.1, executor=executor, errors="return")
    assert isinstance(out[0], KilledWorker)
    with pytest.raises(KilledWorker):
        rdc.sweep([_KillsItsWorker()], D=0.2, executor=executor)
    dask_client.wait_for_workers(2, timeout=120)  # the nannies restart them
    again = rdc.sweep(_problems(), D=0.05, executor=executor)
    assert [r.rate for r in again] == pytest.approx(
        [binary_hamming_rate(p, 0.05) for p in (0.1, 0.2, 0.3, 0.4)], abs=1e-7)
