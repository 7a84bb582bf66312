"""Adversarial cases: how one is judged, and hypothesis strategies that generate them.

Judging (:func:`judge`): a solve must raise nothing but the documented typed errors
(``InfeasibleDistortionError`` exactly when the reference says ``D < D_min``;
``SolverError`` where allowed), never return NaN, bracket the reference EXACTLY
(``certificate.lower <= ref.hi`` and ``certificate.upper >= ref.lo``, compared as exact
rationals: no tolerance beyond the reference's own width < 1e-20), report ``"optimal"``
only with ``certificate.gap <= tol`` (default ``DEFAULT_TOL = 1e-6`` nats), and warn
(``InaccurateSolutionWarning``) whenever the status is not ``"optimal"``.

Generation: every input is exactly the problem the reference solves. Probability
vectors and the columns of ``P_{X|U}`` sum to exactly 1 (entries on the 2^-53 grid, one
absorbing entry ``1 - sum(rest)``), except for appended subnormal/tiny masses whose
effect (< 1e-200) is far below the reference width; distortion matrices are whatever
floats ``c + eps * M`` or ``scale * M`` round to. Targets ``D`` sit at ``D_min`` + k ulp,
``D_min (1 +- 1e-12)``, near ``D_max`` and mid-range, from the exact ``D_min``/``D_max``
of the reference.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st
from mpmath import mp, mpf

import rdconvex as rdc

from . import reference as ref

#: Certified gap (nats) an "optimal" status must meet when no tol is given.
DEFAULT_TOL = 1e-6
GRID = 2.0 ** -53
TINY = (5e-324, 2.5e-320, 1e-310, 1e-300, 1e-200, 1e-100)


# ======================================================================== judging
#: First lines of the documented SolverErrors raised (allowed, but counted in reports).
ALLOWED_ERRORS: list[str] = []


@dataclass
class Outcome:
    result: object = None
    error: BaseException | None = None
    warned: list = field(default_factory=list)


def call(fn) -> Outcome:
    """Run ``fn()``; keep its result or exception and the warnings it emitted.

    RuntimeWarnings are recorded rather than raised (the project's pytest configuration
    makes them errors) so that the answer is judged as well; :func:`judge` reports them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=rdc.InaccurateSolutionWarning)
        warnings.filterwarnings("always", category=UserWarning)
        warnings.filterwarnings("always", category=RuntimeWarning)
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 -- judged: only typed errors are allowed
            return Outcome(error=exc, warned=list(caught))
    return Outcome(result=value, warned=list(caught))


def _is_nan(value) -> bool:
    arr = np.asarray(value, dtype=float)
    return bool(np.any(np.isnan(arr)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def judge(outcome: Outcome, truth: ref.Ref, *, tol: float = DEFAULT_TOL,
          allow_solver_error: bool = True) -> list[str]:
    """The ways ``outcome`` breaks the promise ``lower <= truth <= upper`` (empty if none)."""
    runtime = {(str(w.message), w.filename.rsplit('/', 2)[-1], w.lineno): None
               for w in outcome.warned
               if w is not None and issubclass(w.category, RuntimeWarning)}
    problems = [f"RuntimeWarning {message} ({where}:{line}; an error under the project's "
                "filterwarnings)" for message, where, line in runtime]
    if outcome.error is not None:
        exc = outcome.error
        if isinstance(exc, rdc.InfeasibleDistortionError):
            if not truth.infeasible:
                problems.append(f"raised {_first_line(exc)} but D is feasible, truth {truth}")
        elif isinstance(exc, rdc.SolverError) and allow_solver_error:
            ALLOWED_ERRORS.append(_first_line(exc))
            partial = getattr(exc, "partial", None)
            if isinstance(partial, rdc.Result):
                problems += [f"SolverError.partial: {p}" for p in
                             judge(Outcome(result=partial, warned=[None]), truth, tol=tol)]
        else:
            problems.append(f"unexpected exception {_first_line(exc)}")
        return problems
    res = outcome.result
    if truth.infeasible:
        return [*problems, (f"returned a result (rate {res.rate!r}, bounds "
                            f"[{res.certificate.lower!r}, {res.certificate.upper!r}], status "
                            f"{res.status}) for D < D_min, where R = +inf: must raise "
                            "InfeasibleDistortionError")]
    cert = res.certificate
    for name, value in (("rate", res.rate), ("certificate.lower", cert.lower),
                        ("certificate.upper", cert.upper), ("certificate.gap", cert.gap),
                        ("distortion", res.distortion), ("slope", res.slope),
                        ("channel", res.channel), ("output_pmf", res.output_pmf)):
        if _is_nan(value):
            problems.append(f"{name} is NaN")
    lower, upper = float(cert.lower), float(cert.upper)
    with mp.workdps(ref.DPS):
        if not math.isnan(lower) and mpf(lower) > truth.hi:
            problems.append(f"FALSE LOWER BOUND: lower {lower!r} > truth {truth} "
                            f"(by {float(mpf(lower) - truth.hi):.3g})")
        if not math.isnan(upper) and mpf(upper) < truth.lo:
            problems.append(f"FALSE UPPER BOUND: upper {upper!r} < truth {truth} "
                            f"(by {float(truth.lo - mpf(upper)):.3g})")
        gap = mpf(upper) - mpf(lower) if not (math.isnan(lower) or math.isnan(upper)) else None
    status = str(getattr(res.status, "value", res.status))
    if status == "optimal" and (gap is None or gap > tol):
        problems.append(f"status 'optimal' with certified gap {float(gap) if gap is not None else 'NaN'}"
                        f" > tol {tol:g} (bounds [{lower!r}, {upper!r}])")
    if status != "optimal" and not any(
            w is None or issubclass(w.category, rdc.InaccurateSolutionWarning)
            for w in outcome.warned):
        problems.append(f"status {status!r} without an InaccurateSolutionWarning")
    return problems


def describe(outcome: Outcome) -> str:
    if outcome.error is not None:
        return _first_line(outcome.error)
    res = outcome.result
    return (f"bounds [{res.certificate.lower!r}, {res.certificate.upper!r}] status "
            f"{res.status} rate {res.rate!r}")


# ===================================================================== exact inputs
def on_grid(x: float) -> float:
    """``x`` rounded to the 2^-53 grid (every grid point in [0, 1] is a float, and sums
    of grid points below 1 are exact)."""
    return math.ldexp(round(math.ldexp(x, 53)), -53)


def exact_pmf(weights) -> list[float]:
    """A float pmf whose entries sum to exactly 1 (and whose numpy sum is 1.0): the
    normalised ``weights`` on the 2^-53 grid, the largest entry absorbing the rest."""
    w = np.asarray(weights, dtype=float)
    q = [on_grid(v) for v in w / w.sum()]
    big = int(np.argmax(q))
    for i, v in enumerate(q):
        if i != big and w[i] > 0 and v == 0.0:
            q[i] = GRID
    rest = sum(Fraction(v) for i, v in enumerate(q) if i != big)
    q[big] = float(1 - rest)
    assert Fraction(q[big]) == 1 - rest and q[big] > 0
    assert sum(Fraction(v) for v in q) == 1 and float(np.sum(q)) == 1.0
    return q


def column_ok(A: np.ndarray) -> bool:
    """Every column sums to exactly 1, in exact arithmetic and in numpy."""
    return (all(sum(Fraction(float(v)) for v in A[:, u]) == 1 for u in range(A.shape[1]))
            and bool(np.all(A.sum(axis=0) == 1.0)))


# ======================================================================== cases
@dataclass(frozen=True)
class Case:
    """One generated case. ``kind``: "rd" (solve at D), "rd_slope0" (solve(slope=0)
    against the D -> inf limit), "ll" (LogLikelihood.solve at D), "ll_dmin"
    (LogLikelihood.rate_at_D_min), "pp" (R(D, 0)). ``D`` may be the string
    "package_D_min": the problem's own float ``D_min`` is then the target."""

    kind: str
    family: str
    p: tuple
    matrix: tuple          # d, or A for the log-likelihood kinds
    D: object = None

    def arrays(self):
        return np.array(self.p, dtype=float), np.array(self.matrix, dtype=float)

    def __str__(self) -> str:
        with np.printoptions(precision=17, floatmode="unique"):
            p, M = self.arrays()
            return (f"{self.kind}/{self.family}: p={p.tolist()!r}, "
                    f"{'A' if self.kind.startswith('ll') else 'd'}={M.tolist()!r}, D={self.D!r}")


def problem_of(case: Case):
    p, M = case.arrays()
    if case.kind in ("rd", "rd_slope0"):
        return rdc.RateDistortion(p, M)
    if case.kind in ("ll", "ll_dmin"):
        return rdc.LogLikelihood(p, M)
    return rdc.RateDistortionPerception(p, M)


def target_of(case: Case, problem) -> float:
    return float(problem.D_min) if case.D == "package_D_min" else float(case.D)


_REFERENCES: dict = {}


def reference_of(case: Case, D=None) -> ref.Ref:
    """The reference of ``case`` (cached: several solvers share one)."""
    key = (case, D)
    if key not in _REFERENCES:
        p, M = case.p, case.matrix
        if case.kind == "rd":
            value = ref.classical_rate(p, M, D)
        elif case.kind == "rd_slope0":
            value = ref.classical_rate_limit(p, M)
        elif case.kind == "ll":
            value = ref.loglik_rate(p, M, D)
        elif case.kind == "ll_dmin":
            value = ref.loglik_rate_at_D_min(p, M)
        else:
            value = ref.perception_rate(p, M, D)
        _REFERENCES[key] = value
    return _REFERENCES[key]


def solve_case(case: Case, solver: str, **options) -> tuple[Outcome, float | None]:
    """Build the problem and solve it with ``solver``: ``(outcome, D)``; ``D`` is the
    target used (``None`` for the slope-0 and D_min kinds, NaN if the constructor raised)."""
    holder = {"D": math.nan}

    def build_and_solve():
        problem = problem_of(case)
        if case.kind == "rd_slope0":
            holder["D"] = None
            return problem.solve(slope=0.0, solver=solver, **options)
        if case.kind == "ll_dmin":
            holder["D"] = None
            return problem.rate_at_D_min(solver=solver, **options)
        D = target_of(case, problem)
        holder["D"] = D
        if case.kind == "pp":
            return problem.solve(D=D, Gamma=0.0, solver=solver, **options)
        return problem.solve(D=D, solver=solver, **options)

    return call(build_and_solve), holder["D"]


def check_case(case: Case, solver: str, truth: ref.Ref | None = None, *,
               gap_tol: float | None = None, allow_solver_error: bool = True,
               **options) -> list[str]:
    """Solve ``case`` with ``solver`` (``options`` go to the solve, e.g. ``tol``) and
    judge it against ``truth`` or the case's own reference; ``gap_tol`` (default: the
    ``tol`` passed, else :data:`DEFAULT_TOL`) is what an "optimal" status must meet.
    Returns the list of problems, each with the case, solver, outcome and truth."""
    if gap_tol is None:
        gap_tol = options.get("tol") or DEFAULT_TOL
    outcome, D = solve_case(case, solver, **options)
    if D is not None and isinstance(D, float) and math.isnan(D):
        return [f"constructor raised {describe(outcome)} | {case}"]
    truth = reference_of(case, D) if truth is None else truth
    problems = judge(outcome, truth, tol=gap_tol, allow_solver_error=allow_solver_error)
    return [f"{problem} | [{solver}] {case} (D used: {D!r}) | got {describe(outcome)} | "
            f"truth {truth}" for problem in problems]


# ==================================================================== strategies
@st.composite
def pmfs(draw, n: int, allow_zero: bool = True, allow_tiny: bool = True,
         shapes=("random", "uniform", "skewed")):
    shape = draw(st.sampled_from(list(shapes)))
    if shape == "uniform":
        weights = np.ones(n)
    elif shape == "skewed":
        weights = np.array([draw(st.floats(1e-9, 1.0)) for _ in range(n)]) ** 3
    else:
        weights = np.array([draw(st.integers(1, 1000)) for _ in range(n)], dtype=float)
    if allow_zero and n > 2 and draw(st.integers(0, 9)) == 0:
        weights[draw(st.integers(0, n - 1))] = 0.0
        if weights.sum() == 0:
            weights[0] = 1.0
    p = exact_pmf(weights)
    if allow_tiny and draw(st.integers(0, 4)) == 0:  # a subnormal / tiny probability
        i = draw(st.integers(0, n - 1))
        if p[i] < 0.5:
            p[i] = draw(st.sampled_from(TINY))
            p = _repair_after_tiny(p, i)
    return p


def _repair_after_tiny(p, i):
    """After overwriting p[i] with a tiny mass, make the rest sum to exactly 1 again."""
    others = [j for j in range(len(p)) if j != i]
    big = max(others, key=lambda j: p[j])
    rest = sum(Fraction(p[j]) for j in others if j != big)
    p[big] = float(1 - rest)
    assert Fraction(p[big]) == 1 - rest
    return p


SCALES = [1e-12, 1e-9, 1e-6, 1e-3, 1.0, 1e3, 1e6, 1e9, 1e12]
OFFSETS = [0.0, 0.1, 1.0, 3.7, 1e3, 1e6]
EPSILONS = [1.0, 1e-3, 1e-6, 1e-8, 1e-10]


@st.composite
def base_matrices(draw, n: int, m: int):
    kind = draw(st.sampled_from(["integers", "floats", "hamming"]))
    if kind == "hamming":
        M = np.ones((n, m))
        for i in range(min(n, m)):
            M[i, i] = 0.0
        if m > n:
            M[:, n:] = draw(st.sampled_from([0.5, 1.0, 2.0]))
        return M
    if kind == "integers":
        return np.array([[draw(st.integers(0, 9)) for _ in range(m)] for _ in range(n)],
                        dtype=float)
    return np.array([[draw(st.floats(0.0, 1.0)) for _ in range(m)] for _ in range(n)])


def _near_ties(draw, d: np.ndarray) -> np.ndarray:
    """Pull some entries to within 1 ulp ... 1e-8 (relative) of their row minimum."""
    d = d.copy()
    n, m = d.shape
    for _ in range(draw(st.integers(1, n))):
        x = draw(st.integers(0, n - 1))
        y = draw(st.integers(0, m - 1))
        finite = d[x][np.isfinite(d[x])]
        base = float(finite.min())
        how = draw(st.sampled_from(["ulp", "ulps", "rel"]))
        if how == "ulp":
            value = float(np.nextafter(base, math.inf))
        elif how == "ulps":
            value = base
            for _ in range(draw(st.integers(1, 64))):
                value = float(np.nextafter(value, math.inf))
        else:
            value = base * (1 + draw(st.sampled_from([1e-15, 1e-13, 1e-12, 1e-10, 1e-8])))
            if base == 0.0:
                value = draw(st.sampled_from([5e-324, 1e-300, 1e-30]))
        if d[x, y] != base:
            d[x, y] = value
    return d


def _ring(draw, d: np.ndarray) -> np.ndarray:
    """Forbid all but a ring of pairs: x may go to y = x, x+1 (and maybe x+2) mod m."""
    n, m = d.shape
    width = draw(st.integers(1, max(1, min(3, m - 1))))
    shift = draw(st.integers(0, m - 1))
    out = np.full((n, m), np.inf)
    for x in range(n):
        for k in range(width + 1 if width < m else m):
            y = (x + shift + k) % m
            out[x, y] = d[x, y]
    return out


@st.composite
def distortions(draw, n: int, m: int):
    family = draw(st.sampled_from(["offset", "scale", "near-tie", "ring", "offset-tie"]))
    M = draw(base_matrices(n, m))
    if family in ("offset", "offset-tie"):
        c = draw(st.sampled_from(OFFSETS))
        eps = draw(st.sampled_from(EPSILONS))
        d = c + eps * M
    elif family == "scale":
        d = draw(st.sampled_from(SCALES)) * M
    elif family == "near-tie":
        d = draw(st.sampled_from(SCALES)) * (1 + M)
    else:
        d = draw(st.sampled_from([1e-6, 1.0, 1e6])) * M
    if family in ("near-tie", "offset-tie"):
        d = _near_ties(draw, d)
    if family == "ring":
        d = _ring(draw, d)
    return family, d


def _targets(draw, D_min: Fraction, D_max, scale: float):
    """A target D near the interesting points of [D_min, D_max] (exact rationals in)."""
    kinds = ["dmin_ulp", "dmin_rel", "dmin_gap", "mid", "package_D_min"]
    if D_max is not None and D_max > D_min:
        kinds += ["dmax_ulp", "dmax_rel"]
    kind = draw(st.sampled_from(kinds))
    if kind == "package_D_min":
        return "package_D_min"
    if kind == "dmin_ulp":
        D = float(D_min)
        k = draw(st.integers(-3, 8))
        for _ in range(abs(k)):
            D = float(np.nextafter(D, math.copysign(math.inf, k)))
        return D
    if kind == "dmin_rel":
        f = draw(st.sampled_from([1 - 1e-12, 1 + 1e-15, 1 + 1e-12, 1 + 1e-9]))
        return float(D_min * Fraction(f))
    span = (D_max - D_min) if (D_max is not None and D_max > D_min) else Fraction(scale)
    if kind == "dmin_gap":
        theta = draw(st.sampled_from([1e-15, 1e-12, 1e-9, 1e-6, 1e-3]))
        return float(D_min + span * Fraction(theta))
    if kind == "mid":
        theta = draw(st.floats(0.02, 0.98 if D_max is not None else 50.0))
        return float(D_min + span * Fraction(theta))
    if kind == "dmax_ulp":
        D = float(D_max)
        k = draw(st.integers(-3, 3))
        for _ in range(abs(k)):
            D = float(np.nextafter(D, math.copysign(math.inf, k)))
        return D
    f = draw(st.sampled_from([1 - 1e-12, 1 + 1e-12, 1 - 1e-9]))
    return float(D_max * Fraction(f))


@st.composite
def classical_cases(draw):
    n = draw(st.integers(2, 6))
    m = draw(st.integers(2, 6))
    family, d = draw(distortions(n, m))
    p = draw(pmfs(n))
    data = ref.classical_data(p, d)
    finite = d[np.isfinite(d)]
    scale = float(finite.max() - finite.min()) or 1.0
    if family == "ring" and data.D_max is None and draw(st.integers(0, 3)) == 0:
        return Case("rd_slope0", family, tuple(p), as_tuple(d))
    D = _targets(draw, data.D_min, data.D_max, scale)
    if D != "package_D_min" and not (D >= 0 and math.isfinite(D)):
        D = float(data.D_min)
    return Case("rd", family, tuple(p), as_tuple(d), D)


def as_tuple(M):
    return tuple(tuple(float(v) for v in row) for row in np.asarray(M, dtype=float))


@st.composite
def likelihoods(draw, n: int, k: int):
    family = draw(st.sampled_from(["random", "near-tie", "uninformative", "sparse"]))
    cols = []
    for _ in range(k):
        if family == "uninformative":
            delta = draw(st.sampled_from([1e-3, 1e-6, 1e-9, 1e-12, 1e-15]))
            w = 1 + delta * np.array([draw(st.floats(-1, 1)) for _ in range(n)])
        else:
            w = np.array([draw(st.integers(0 if family == "sparse" else 1, 100))
                          for _ in range(n)], dtype=float)
            if w.sum() == 0:
                w[0] = 1.0
        cols.append(exact_pmf(w))
    A = np.array(cols).T
    if family in ("near-tie", "uninformative"):
        A = _likelihood_ties(draw, A)
    if np.any(A.max(axis=1) <= 0):  # a row no u can produce: give it mass in column 0
        A = np.array([exact_pmf(A[:, 0] + (A.max(axis=1) <= 0))] +
                     [A[:, u] for u in range(1, k)]).T
    return family, A


def _likelihood_ties(draw, A: np.ndarray) -> np.ndarray:
    """Move entries to just below their row maximum, keeping every column summing to 1
    exactly (the difference is absorbed by another entry of the same column)."""
    n, k = A.shape
    for _ in range(draw(st.integers(1, n))):
        x = draw(st.integers(0, n - 1))
        u = draw(st.integers(0, k - 1))
        top = float(A[x].max())
        j = draw(st.sampled_from([0, 1, 2, 17, 2 ** 20, 2 ** 27, 2 ** 33]))
        if draw(st.booleans()):
            value = top - j * GRID
        else:
            value = top
            for _ in range(min(j, 8)):
                value = float(np.nextafter(value, 0.0))
        others = [y for y in range(n) if y != x]
        if value <= 0 or not others:
            continue
        absorb = max(others, key=lambda y: A[y, u])
        B = A.copy()
        B[x, u] = value
        B[absorb, u] = float(1 - sum(Fraction(float(B[y, u])) for y in range(n) if y != absorb))
        if B[absorb, u] >= 0 and column_ok(B) and np.all(B.max(axis=1) > 0):
            A = B
    return A


@st.composite
def loglik_cases(draw):
    n = draw(st.integers(2, 6))
    k = draw(st.integers(2, 6))
    family, A = draw(likelihoods(n, k))
    assert column_ok(A)
    p = draw(pmfs(n))
    if draw(st.integers(0, 3)) == 0:
        return Case("ll_dmin", family, tuple(p), as_tuple(A))
    with mp.workdps(ref.DPS):
        D_min = ref.loglik_D_min(p, A)
        _P, _rows, _dp, _Dp, Dp_max = ref._loglik_shifted(p, A, None)
        D_min_q = Fraction(float(D_min)) + Fraction(float(D_min - mpf(float(D_min))))
        D_max_q = (None if Dp_max is None else
                   Fraction(float(D_min + Dp_max)) +
                   Fraction(float(D_min + Dp_max - mpf(float(D_min + Dp_max)))))
    D = _targets(draw, D_min_q, D_max_q, 1.0)
    if D != "package_D_min" and not (D >= 0 and math.isfinite(D)):
        D = float(D_min_q)
    return Case("ll", family, tuple(p), as_tuple(A), D)


@st.composite
def perception_cases(draw):
    """Binary (closed form) and 3- or 4-symbol (Sinkhorn) sources."""
    n = draw(st.integers(2, 4))
    family = draw(st.sampled_from(["hamming", "random", "offset"]))
    c = draw(st.sampled_from(OFFSETS)) if family == "offset" else 0.0
    eps = draw(st.sampled_from(EPSILONS + SCALES))
    d = np.empty((n, n))
    for x in range(n):
        base = 0.0 if family == "hamming" else draw(st.floats(0.0, 1.0))
        for y in range(n):
            extra = (1.0 if family == "hamming" else draw(st.floats(0.05, 2.0))) if x != y else 0.0
            d[x, y] = c + eps * (base + extra)
    strict = all(d[x, y] > d[x, x] for x in range(n) for y in range(n) if y != x)
    if not strict:  # the offset swallowed the increments: use a plain scale instead
        d = eps * (d - c) if c else d
        if not all(d[x, y] > d[x, x] for x in range(n) for y in range(n) if y != x):
            d = 1 - np.eye(n)
    p = draw(pmfs(n, allow_zero=False))
    _P, _dp, D_min, D_ind = ref.perception_data(p, d)
    D = _targets(draw, D_min, D_min + D_ind, float(d.max()))
    if D != "package_D_min" and not (D >= 0 and math.isfinite(D)):
        D = float(D_min)
    return Case("pp", family, tuple(p), as_tuple(d), D)
