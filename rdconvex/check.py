"""Independent checker for rdconvex certificate files (docs/certificate-format.md).

What is proven. Read the file's floats as the exact reals they denote, with ``p =
problem.p / sum(problem.p)`` exactly, ``d`` the distortions (``null`` forbidden; for
``"A"``: ``d = -log A``, ``A = 0`` forbidden) and ``R`` the quantity the file names --
R(D), R(D, 0) or R(D, Gamma) -- of these data at its parameters. ``lower_proven`` means
``claimed lower <= R`` and ``upper_proven`` means ``R <= claimed upper`` (a ``null``
claim is trivially proven). Assumed: only the correctness of arb (with its python-flint
binding) and Python's exact reading of floats. Each bound is re-derived from the file's
point in ball arithmetic (``arb``, PRECISION bits, outward rounding at every operation),
and a claim is accepted only on the correct side of the whole ball of its bound. The
bounds are weak-duality facts valid at *any* point (no optimality is assumed):

* R(D) >= sum_x p_x l_x - log max_y sum_x p_x exp(l_x - s d'(x,y)) - s D' for all s >= 0
  and real l (Csiszár, Studia Sci. Math. Hungar. 9, 1974); this also bounds R(D, Gamma).
* R(D, 0) >= the entropic optimal-transport weak dual at any f, g and lam >= 0.
* R(D) <= I(p, W) for a channel W with E d <= D (and gamma(p, pW) <= Gamma for R(D,
  Gamma)); R(D, 0) <= KL(J || p p^T), J the exact rounding of the file's coupling onto
  the couplings of (p, p) (Altschuler, Weed, Rigollet, NeurIPS 2017, Alg. 2), if <J,d> <= D.

Only the standard library and ``flint`` are imported: audit (or copy) this file alone."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from functools import reduce
from operator import mul
from pathlib import Path

import flint
from flint import arb, arb_mat, fmpq

FORMAT, VERSION = "rdconvex-certificate", 1
QUANTITIES = ("rate_distortion", "perfect_perception", "perception")
DIVERGENCES = ("tv", "kl", "reverse_kl", "hellinger", "chi2")
PRECISION = 128          #: bits of every ball's midpoint
ZERO = arb(0)


class MalformedCertificateError(ValueError):
    """The document is not a format-1 certificate; the one-line message names the field."""

@dataclass(frozen=True)
class CheckResult:
    """Verdict of :func:`check_certificate`; enclosures are outward-rounded ``(lo, hi)``."""

    lower_proven: bool
    upper_proven: bool
    lower_enclosure: tuple[float, float] | None
    upper_enclosure: tuple[float, float] | None
    claimed_lower: float | None
    claimed_upper: float | None
    message: str

    @property
    def proven(self) -> bool:
        """Both claims proven."""
        return self.lower_proven and self.upper_proven


def _fail(where: str, what: str):
    raise MalformedCertificateError(f"{where}: {what}")


def _get(mapping, key: str, where: str = ""):
    """``mapping[key]`` and its dotted name; missing keys and non-objects are malformed."""
    if not isinstance(mapping, dict):
        _fail(where or "document", "expected a JSON object")
    name = f"{where}.{key}" if where else key
    if key not in mapping:
        _fail(name, "missing")
    return mapping[key], name


def _number(value, where: str, null_ok=False, low=None, high=None):
    """One finite float (exact ints accepted), or None where ``null`` is allowed."""
    if value is None and null_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(where, f"expected a number, got {'null' if value is None else type(value).__name__}")
    number = float(value) if isinstance(value, float) or abs(value) < 2 ** 1000 else math.nan
    if number != value or not math.isfinite(number):      # NaN, +-inf, inexact int
        _fail(where, f"{value!r} is not a finite float")
    if (low is not None and number < low) or (high is not None and number > high):
        _fail(where, f"{value!r} is outside [{low}, {'inf' if high is None else high}]")
    return number


def _vector(value, where: str, length=None, null_ok=False, low=None, high=None) -> list:
    """A list of numbers; a fast path for plain floats, else entry by entry (names it)."""
    if not isinstance(value, (list, tuple)):
        _fail(where, "expected a list")
    if (length is not None and len(value) != length) or not value:
        _fail(where, f"has length {len(value)}, expected {length or 'at least 1'}")
    kinds = set(map(type, value))
    if kinds <= ({float, type(None)} if null_ok else {float}):
        numbers = [v for v in value if v is not None] if type(None) in kinds else value
        if (all(map(math.isfinite, numbers)) and (low is None or min(numbers, default=low) >= low)
                and (high is None or max(numbers, default=high) <= high)):
            return value
    return [_number(v, f"{where}[{i}]", null_ok, low, high) for i, v in enumerate(value)]


def _matrix(value, where: str, rows: int, cols=None, **bounds) -> list:
    if not isinstance(value, (list, tuple)) or len(value) != rows:
        _fail(where, f"expected a list of {rows} rows")
    cols = cols or (len(value[0]) if isinstance(value[0], (list, tuple)) else None)
    return [_vector(row, f"{where}[{i}]", cols, **bounds) for i, row in enumerate(value)]


@dataclass(frozen=True)
class _Data:
    """The parsed problem. Rows keep the file's floats; p and the shifts are balls."""

    quantity: str
    kind: str       # "d" (distortions, None forbidden) or "A" (likelihoods, 0 forbidden)
    rows: list
    m: int
    p: list         # p_x / sum p, exactly 0 where p_x = 0
    active: list    # the x with p_x > 0; every other row is ignored
    best: dict      # x -> the float min_y d(x, y) over allowed y, or max_y A(x, y)
    shift: dict     # x -> r_x = best (d) or -log best (A), a ball
    excess: arb     # D' = D - sum_x p_x r_x (None: D = +inf)
    raw_p: list     # the file's p
    D: object       # the file's D: a float, "D_min" or None (+inf)


def _problem(doc: dict, quantity: str) -> _Data:
    problem = _get(doc, "problem")[0]
    p = _vector(*_get(problem, "p", "problem"), low=0.0)
    if abs(math.fsum(p) - 1.0) > 1e-9:        # a sanity check; bounds use p / sum p
        _fail("problem.p", f"sums to {math.fsum(p)!r}, not 1 (within 1e-9)")
    kind = "A" if quantity == "rate_distortion" and "A" in problem else "d"
    if kind == "A" and "d" in problem:
        _fail("problem", "give either 'd' or 'A', not both")
    raw, name = _get(problem, kind, "problem")
    bounds = {"high": 1.0} if kind == "A" else {"null_ok": True}
    rows = _matrix(raw, name, len(p), low=0.0, **bounds)
    if quantity != "rate_distortion" and len(rows[0]) != len(p):
        _fail(name, f"must be square for {quantity}, got {len(p)} x {len(rows[0])}")
    total = sum(map(arb, p), ZERO)
    normalised = [arb(v) / total if v > 0 else ZERO for v in p]
    active, best, shift = [x for x, v in enumerate(p) if v > 0], {}, {}
    for x in active:
        allowed = [v for v in rows[x] if v is not None and (kind == "d" or v > 0)]
        if not allowed:
            _fail(f"{name}[{x}]", "no allowed pair in a row with p_x > 0")
        best[x] = min(allowed) if kind == "d" else max(allowed)
        shift[x] = arb(best[x]) if kind == "d" else -arb(best[x]).log()
    # D = null is +inf: the curve's limit (slope 0 where every output forbids some x);
    # D = "D_min" is D_min exactly (D' = 0, which a float cannot say when D_min is
    # irrational, e.g. for likelihoods).
    D, where = _get(_get(doc, "parameters")[0], "D", "parameters")
    d_min = sum((normalised[x] * shift[x] for x in active), ZERO)
    if D == "D_min":
        excess = ZERO
    else:
        D = _number(D, where, null_ok=True)
        excess = None if D is None else D - d_min
    return _Data(quantity, kind, rows, len(rows[0]), normalised, active, best, shift, excess,
                 p, D)


def _load(source) -> dict:
    if isinstance(source, dict):
        return source
    reject = lambda name: _fail("document", f"{name} is not a number (write null for +inf)")
    try:
        return json.loads(Path(source).read_text(encoding="utf-8"), parse_constant=reject)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedCertificateError(f"document: not JSON text ({exc})") from None


def _parse(doc):
    """Validate the whole document: (problem, parameters, dual, primal, claims)."""
    if _get(doc, "format")[0] != FORMAT:
        _fail("format", f"expected {FORMAT!r}")
    version = _get(doc, "version")[0]
    if isinstance(version, bool) or version != VERSION:
        _fail("version", f"{version!r} is not supported (expected {VERSION})")
    quantity = _get(doc, "quantity")[0]
    if quantity not in QUANTITIES:
        _fail("quantity", f"unknown quantity {quantity!r}, expected one of {QUANTITIES}")
    data = _problem(doc, quantity)
    n, params = len(data.rows), {}
    if quantity == "perception":
        parameters = _get(doc, "parameters")[0]
        params["Gamma"] = _number(*_get(parameters, "Gamma", "parameters"), low=0.0)
        params["divergence"], name = _get(parameters, "divergence", "parameters")
        if params["divergence"] not in DIVERGENCES:
            _fail(name, f"unknown divergence {params['divergence']!r}")
    dual = _get(doc, "dual")[0]
    point = {"slope": _number(*_get(dual, "slope", "dual"), null_ok=True, low=0.0)}
    for key in ("f", "g") if quantity == "perfect_perception" else ("log_c",):
        point[key] = _vector(*_get(dual, key, "dual"), n, null_ok=True)
        for x in data.active:
            if point[key][x] is None:
                _fail(f"dual.{key}[{x}]", "null where p_x > 0")
    key = "coupling" if quantity == "perfect_perception" else "channel"
    plan = _matrix(*_get(_get(doc, "primal")[0], key, "primal"), n, data.m, low=0.0)
    claims = [_number(*_get(doc, key), null_ok=True) for key in ("lower", "upper")]
    if not isinstance(doc.get("units", ""), str):
        _fail("units", "expected a string")
    return data, params, point, plan, claims


def _shifted(data: _Data, x: int, columns) -> list:
    """d'(x, y) = d(x, y) - r_x as balls for ``columns``: exactly 0 where d(x, y) is the
    row's best float, None where forbidden; for A, d' = log(max_u A[x,u] / A[x,y])."""
    row, best, shift = data.rows[x], data.best[x], data.shift[x]
    if data.kind == "d":
        return [None if (v := row[y]) is None else ZERO if v == best else arb(v) - shift
                for y in columns]
    top = arb(best)
    return [None if (v := row[y]) == 0 else ZERO if v == best else (top / v).log()
            for y in columns]


def _slope_times_excess(slope, data: _Data):
    """(s D', None), or (None, reason) for s = +inf with D' not exactly 0 or D = +inf
    with s > 0 (0 * inf counts as 0)."""
    if slope is not None and data.excess is not None:
        return arb(slope) * data.excess, None
    exact = data.excess is not None and data.excess.is_exact() and data.excess.is_zero()
    zero = slope == 0 if slope is not None else exact
    return (ZERO, None) if zero else (None, "s D' needs s = 0 or D' = 0 exactly")


def _xlogx(t: arb) -> arb:
    """t log t (0 log 0 = 0) for a ball ``t`` whose exact value is known to be >= 0."""
    if t > 0:
        return t * t.log()
    top = t.upper()
    if not top > 0:
        return ZERO
    # on [0, top]: t log t lies in [top log top, 0] if top <= 1/e (it decreases there),
    # else in [-1/e, max(0, top log top)], and -1/e > -0.375
    return (ZERO if top < 0.25 else arb(-0.375)).union(top * top.log()).union(ZERO)


def _lower_rd(data: _Data, slope, log_c: list):
    """L = sum_x p_x l_x - log max_y S_y - s D',  S_y = sum_x exp(c_x - s d'(x,y)),
    c_x = l_x + log p_x; forbidden pairs contribute 0. At s = +inf, exp(-s d') is 1
    exactly where d' = 0 (float equality with the row's best) and 0 elsewhere. The
    ball max of the S_y contains max_y S_y, so L's ball contains the exact L."""
    sdp, reason = _slope_times_excess(slope, data)
    if sdp is None:
        return None, reason
    columns, s = [ZERO] * data.m, arb(slope if slope is not None else 0)
    for x in data.active:
        c, row = data.p[x].log() + log_c[x], data.rows[x]
        if slope is None:
            terms = [c.exp() if v == data.best[x] else ZERO for v in row]
        elif data.kind == "d":   # c_x - s (d - r_x) with d the exact float
            base = c + s * data.shift[x]
            terms = [ZERO if v is None else (base - s * v).exp() for v in row]
        else:
            terms = [ZERO if v is None else (c - s * v).exp()
                     for v in _shifted(data, x, range(data.m))]
        columns = [a + t for a, t in zip(columns, terms)]
    largest = reduce(lambda a, b: a.max(b), columns)
    linear = sum((data.p[x] * log_c[x] for x in data.active), ZERO)
    return linear - largest.log() - sdp, None


def _upper_rd(data: _Data, channel: list):
    """I(p, W) for the channel W_x / S_x, S_x = sum_y W_xy, and q = p W:

        I = sum_x p_x [ (1/S_x) sum_y W_xy log W_xy - log S_x ] - sum_y q_y log q_y,

    and E = sum_x (p_x / S_x) sum_y W_xy d'(x,y), which must be proven <= D'. Returns
    (I, q, reason); reason is None when W is admissible and E <= D' is proven."""
    forbidden = None if data.kind == "d" else 0.0
    plan = arb_mat([channel[x] for x in data.active])
    totals = (plan * arb_mat(data.m, 1, [1] * data.m)).entries()
    info, distortion, weights, support = ZERO, ZERO, [], set()
    for x, total in zip(data.active, totals):
        w, row, best = channel[x], data.rows[x], data.best[x]
        used = [y for y, v in enumerate(w) if v > 0]
        banned = [y for y in used if row[y] == forbidden]
        if banned or not used:
            return None, None, (f"channel puts mass {w[banned[0]]!r} on forbidden pair "
                                f"({x}, {banned[0]})" if used else f"channel row {x} is zero")
        weights.append(data.p[x] / total)
        masses = [w[y] for y in used]
        entropy = sum(map(mul, masses, [arb(v).log() for v in masses]), ZERO)
        costly = [y for y in used if row[y] != best]           # d' = 0 exactly elsewhere
        cost = sum(map(mul, [w[y] for y in costly], _shifted(data, x, costly)), ZERO)
        info += data.p[x] * (entropy / total - total.log())
        distortion += weights[-1] * cost
        support.update(used)
    product = arb_mat([weights]) * plan
    q = [product[0, y] if y in support else ZERO for y in range(data.m)]
    info -= sum((_xlogx(q[y]) for y in support), ZERO)
    if all(channel[x] == channel[data.active[0]] for x in data.active):
        info = ZERO     # one row repeated: Y is independent of X, I = 0 exactly
    if data.excess is not None and not distortion <= data.excess:
        gap = float((distortion - data.excess).upper())
        return info, q, f"distortion not proven feasible: E[d'] may exceed D' by {gap:.3g}"
    return info, q, None


def _divergence(name: str, p: list, q: list):
    """gamma(p, q) as a ball (definitions in docs/perception.md); None when it is +inf."""
    pairs = list(zip(p, q))
    if name == "tv":
        return sum((abs(a - b) for a, b in pairs), ZERO) / 2
    if name == "hellinger":
        return 1 - sum(((a * b).sqrt() for a, b in pairs if not (a * b).is_zero()), ZERO)
    if name == "kl":
        if any(not a.is_zero() and b.is_zero() for a, b in pairs):
            return None
        return sum((a * (a / b).log() for a, b in pairs if not a.is_zero()), ZERO)
    if any(a.is_zero() and not b.is_zero() for a, b in pairs):
        return None
    if name == "reverse_kl":
        return sum((b * (b / a).log() for a, b in pairs if not b.is_zero()), ZERO)
    return sum(((b - a) * (b - a) / a for a, b in pairs if not a.is_zero()), ZERO)  # chi2


def _lower_ot(data: _Data, slope, f: list, g: list):
    """L = sum p f + sum p g - lam D' + 1 - sum_xy p_x p_y exp(f_x + g_y - lam d'(x,y))
    (the entropic optimal-transport weak dual; forbidden pairs contribute 0)."""
    sdp, reason = _slope_times_excess(slope, data)
    if sdp is None:
        return None, reason
    act, total = data.active, ZERO
    a = {x: data.p[x].log() + f[x] for x in act}
    b = {y: data.p[y].log() + g[y] for y in act}
    for x in act:
        for y, shifted in zip(act, _shifted(data, x, act)):
            if shifted is not None and slope is not None:
                total += (a[x] + b[y] - slope * shifted).exp()
            elif shifted is not None and data.rows[x][y] == data.best[x]:
                total += (a[x] + b[y]).exp()       # lam = +inf: only where d' = 0
    linear = sum((data.p[x] * (f[x] + g[x]) for x in act), ZERO)
    return linear - sdp + 1 - total, None


def _q(value: float) -> fmpq:
    """The float as the exact rational it denotes."""
    return fmpq(*float(value).as_integer_ratio())


def _round_coupling(data: _Data, coupling: list) -> tuple[list, list]:
    """The rounding J' (Altschuler-Weed-Rigollet) of J onto the couplings of (p, p), in
    EXACT rationals (rows and columns with p = 0 dropped), and p as rationals:

        J1 = diag(min(1, p / J 1)) J,   J2 = J1 diag(min(1, p / J1^T 1)),
        J' = J2 + e_r e_c^T / |e_r|_1,  e_r = p - J2 1 >= 0,  e_c = p - J2^T 1 >= 0."""
    act = data.active
    weights = [_q(v) for v in data.raw_p]
    total = sum((weights[x] for x in act), fmpq(0))
    p = [weights[x] / total for x in act]
    plan = [[_q(coupling[x][y]) for y in act] for x in act]
    for i, row in enumerate(plan):
        mass = sum(row, fmpq(0))
        if mass > p[i]:
            plan[i] = [v * p[i] / mass for v in row]
    for j in range(len(act)):
        mass = sum((row[j] for row in plan), fmpq(0))
        if mass > p[j]:
            for row in plan:
                row[j] = row[j] * p[j] / mass
    e_r = [a - sum(row, fmpq(0)) for a, row in zip(p, plan)]
    e_c = [a - sum((row[j] for row in plan), fmpq(0)) for j, a in enumerate(p)]
    deficit = sum(e_r, fmpq(0))
    if deficit > 0:
        plan = [[v + e_r[i] * e_c[j] / deficit for j, v in enumerate(row)]
                for i, row in enumerate(plan)]
    return plan, p


def _upper_ot(data: _Data, coupling: list):
    """KL(J' || p p^T) = sum_xy J'_xy log(J'_xy / (p_x p_y)) (each ratio an exact
    rational, so J' = p p^T gives exactly 0), and <J', d'>, decided exactly against D'
    for distortion data (both are rationals), in balls otherwise. Returns (KL, reason)."""
    act = data.active
    rounded, p = _round_coupling(data, coupling)
    info = ZERO
    for i, row in enumerate(rounded):
        for j, v in enumerate(row):
            if v != 0:
                info += arb(v) * arb(v / (p[i] * p[j])).log()
    distortion, exact, ball = fmpq(0), data.kind == "d", ZERO
    for i, x in enumerate(act):
        best = data.best[x]
        for j, y in enumerate(act):
            v, cost = rounded[i][j], data.rows[x][y]
            if cost is None:
                if v != 0:
                    return info, (f"rounded coupling puts mass on forbidden pair ({x}, {y}) "
                                  f"(entry {coupling[x][y]!r} before rounding)")
            elif v != 0 and cost != best:
                if exact:
                    distortion += v * (_q(cost) - _q(best))
                else:
                    ball += arb(v) * _shifted(data, x, [y])[0]
    if data.excess is None:
        return info, None
    if exact:
        proven = distortion <= _exact_excess(data, p)
        ball = arb(distortion)
    else:
        proven = ball <= data.excess
    if not proven:
        gap = float((ball - data.excess).upper())
        return info, f"distortion not proven feasible: <J', d'> may exceed D' by {gap:.3g}"
    return info, None


def _exact_excess(data: _Data, p: list) -> fmpq:
    """D' = D - sum_x p_x r_x exactly (distortion data; ``p`` the exact active pmf)."""
    if data.D == "D_min":
        return fmpq(0)
    return _q(data.D) - sum((a * _q(data.best[x]) for a, x in zip(p, data.active)), fmpq(0))


def _enclosure(ball):
    """Floats (lo, hi) around ``ball``: the float nearest each end, stepped outward until
    arb confirms it; None for a non-finite ball."""
    if ball is None or not ball.is_finite():
        return None
    ends = []
    for end, step in ((ball.lower(), -math.inf), (ball.upper(), math.inf)):
        value = float(end)
        while math.isfinite(value) and not (
                arb(value) <= ball if step < 0 else arb(value) >= ball):
            value = math.nextafter(value, step)
        ends.append(value)
    return tuple(ends)


def _judge(side: str, claim, ball, reason):
    """(proven, text): a lower claim must be <= the whole ball, an upper claim >= it."""
    if claim is None:
        return True, f"no {side} claim"
    if side == "lower" and claim <= 0:   # every quantity here is >= 0 (I(X;Y), KL)
        return True, f"lower {claim!r} proven (every rate is >= 0)"
    if reason or ball is None or not ball.is_finite():
        return False, f"{side} {claim!r} NOT PROVEN: {reason or 'the bound is not finite'}"
    (lo, hi), lower = _enclosure(ball), side == "lower"
    shown = f"[{lo:.12g}, {hi:.12g}]"
    if not (arb(claim) <= ball if lower else arb(claim) >= ball):
        return False, (f"{side} {claim!r} NOT PROVEN: {'above' if lower else 'below'} the "
                       f"certified bound {shown} by {claim - lo if lower else hi - claim:.3g}")
    return True, f"{side} {claim!r} proven (bound in {shown})"


def check_certificate(source) -> CheckResult:
    """Prove, or fail to prove, the claims of a certificate file (str or Path) or of its
    parsed JSON document: whether each claim is proven, the outward-rounded enclosures
    of the two re-derived bounds and a one-line message (which claim failed, by how
    much). Raises MalformedCertificateError (malformed document) or OSError (unreadable)."""
    doc = _load(source)
    with flint.ctx.workprec(PRECISION):
        data, params, point, plan, (lower, upper) = _parse(doc)
        slope = point["slope"]
        if data.quantity == "perfect_perception":
            low, low_reason = _lower_ot(data, slope, point["f"], point["g"])
            high, high_reason = _upper_ot(data, plan)
        else:
            low, low_reason = _lower_rd(data, slope, point["log_c"])
            high, q, high_reason = _upper_rd(data, plan)
            if data.quantity == "perception" and high_reason is None:
                gamma = _divergence(params["divergence"], data.p, q)
                if gamma is None or not gamma <= arb(params["Gamma"]):
                    shown = "inf" if gamma is None else f"{float(gamma.upper()):.6g}"
                    high_reason = (f"{params['divergence']}(p, q) <= {params['Gamma']!r} "
                                   f"not proven (upper end {shown})")
        lower_ok, lower_text = _judge("lower", lower, low, low_reason)
        upper_ok, upper_text = _judge("upper", upper, high, high_reason)
        verdict = "PROVEN" if lower_ok and upper_ok else "NOT PROVEN"
        return CheckResult(lower_ok, upper_ok, _enclosure(low), _enclosure(high), lower,
                           upper, f"{verdict}: {data.quantity}: {lower_text}; {upper_text}")


def main(argv=None) -> int:
    """``rdconvex check FILE``: one line; exit 0 proven, 1 not proven, 2 malformed."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: rdconvex check FILE  (docs/certificate-format.md)", file=sys.stderr)
        return 2
    try:
        result = check_certificate(argv[0])
    except MalformedCertificateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {argv[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(result.message)
    return 0 if result.proven else 1


if __name__ == "__main__":
    sys.exit(main())
