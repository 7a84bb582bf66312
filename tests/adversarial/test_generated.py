"""Generated adversarial cases (hypothesis), each judged against the mpmath reference.

Families (:mod:`tests.adversarial.strategies`): constant offsets ``c + eps M``, scales
1e-12 ... 1e12, near-ties (1 ulp ... 1e-8 relative), subnormal and zero probabilities,
forbidden rings (``D_max = +inf`` and the slope-0 limit), targets at ``D_min`` + k ulp,
``D_min (1 +- 1e-12)``, the problem's own float ``D_min``, near ``D_max`` and mid-range;
``n, m`` in 2..6 (perception: ``n`` in 2..4). Every case is solved by every applicable
solver.

``RDCONVEX_ADVERSARIAL`` unset: a fixed sample (derandomized, the same 44 cases every
run, shared by the solvers; about 15 s). ``RDCONVEX_ADVERSARIAL=full``: random cases,
``FULL_EXAMPLES`` per family and solver (20,400 solves of 20,400 distinct cases; an hour
or two). ``RDCONVEX_ADVERSARIAL=N`` (a number): N random cases per family and solver.

A failure is not raised at the first case: each test collects every failing case of its
family and solver and reports them together (first line of each: what broke).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import rdconvex as rdc

from ..conftest import ALL
from . import strategies

MODE = os.environ.get("RDCONVEX_ADVERSARIAL", "").strip().lower()
PERCEPTION = list(rdc.installed_solvers(task="perfect_perception"))

#: examples per (family, solver) in the default sample and in the full run
SAMPLE_EXAMPLES = {"classical": 24, "loglik": 12, "perception": 8}
FULL_EXAMPLES = {"classical": 3000, "loglik": 1500, "perception": 600}


def _settings(family: str):
    """Sample: derandomized (the same cases every run). ``full``: FULL_EXAMPLES random
    cases. A number N: N random cases per family and solver."""
    if MODE == "full":
        examples, fixed = FULL_EXAMPLES[family], False
    elif MODE.isdigit() and int(MODE) > 0:
        examples, fixed = int(MODE), False
    else:
        examples, fixed = SAMPLE_EXAMPLES[family], True
    return settings(max_examples=examples, deadline=None, derandomize=fixed, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


def _run(family: str, strategy, solver: str, capsys) -> None:
    failures: list[str] = []
    tried = [0]
    errors_before = len(strategies.ALLOWED_ERRORS)

    @_settings(family)
    @given(case=strategy)
    def check(case):
        tried[0] += 1
        problems = strategies.check_case(case, solver)
        if problems:  # one line per failing case: its first problem
            more = f" [+{len(problems) - 1} more problems]" if len(problems) > 1 else ""
            failures.append(problems[0] + more)

    check()
    solver_errors = strategies.ALLOWED_ERRORS[errors_before:]
    with capsys.disabled():
        print(f"\n[adversarial] {family}/{solver}: {tried[0]} generated cases, "
              f"{len(failures)} failing, {len(solver_errors)} documented SolverErrors"
              + (f" (first: {solver_errors[0]})" if solver_errors else ""))
    assert tried[0] > 0
    assert not failures, (f"{len(failures)} of {tried[0]} generated {family} cases fail with "
                          f"{solver}:\n" + "\n".join(failures[:25]))


@pytest.mark.adversarial
@pytest.mark.parametrize("solver", ALL)
def test_generated_classical(solver, capsys):
    """R(D) (and the slope-0 limit on forbidden rings) by every solver."""
    _run("classical", strategies.classical_cases(), solver, capsys)


@pytest.mark.adversarial
@pytest.mark.parametrize("solver", ALL)
def test_generated_loglik(solver, capsys):
    """R_ll(D) and program (8) (rate_at_D_min) by every solver."""
    _run("loglik", strategies.loglik_cases(), solver, capsys)


@pytest.mark.adversarial
@pytest.mark.parametrize("solver", PERCEPTION)
def test_generated_perfect_perception(solver, capsys):
    """R(D, 0) by every perfect-perception solver."""
    _run("perception", strategies.perception_cases(), solver, capsys)
