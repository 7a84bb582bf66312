"""The independent certificate checker (rdconvex/check.py, docs/certificate-format.md).

Reference values come from closed forms evaluated with mpmath at 50 digits on the
*normalised* pmf the checker uses (p / sum p, exactly); the dual and primal points are
derived from the same closed forms, independently of rdconvex's solvers:

* R(D) = h(p_1) - h(D) for a Bernoulli source and Hamming loss, D <= min(p) (Berger
  1971, Example 2.7.1); optimal slope s = log((1 - D) / D), output pmf
  q_1 = (p_1 - D) / (1 - 2D), channel W(y|x) = q_y e^{-s d(x,y)} / sum_y' q_y' e^{-s d(x,y')}
  and log c_x = -log sum_y q_y e^{-s d(x,y)}.
* R(D, 0) = 2 h(p_1) - H(J) with J = [[p_0 - a, a], [a, p_1 - a]], a = D / 2, for
  D <= 2 p_0 p_1 (docs/perception.md); the Sinkhorn form J = diag(e^f) p p^T
  e^{-lam d} diag(e^g) gives f = g and lam in closed form from J.
"""

from __future__ import annotations

import ast
import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

from rdconvex.certificate_file import make_document, write_document
from rdconvex.check import (
    CheckResult,
    MalformedCertificateError,
    check_certificate,
    main,
)

mpmath.mp.dps = 50
mpf = mpmath.mpf
HAMMING = [[0.0, 1.0], [1.0, 0.0]]


def normalised(p):
    total = sum(mpf(v) for v in p)
    return [mpf(v) / total for v in p]


def h(t):
    return -t * mpmath.log(t) - (1 - t) * mpmath.log(1 - t)


def hamming_point(p, D):
    """Closed-form slope, log c and optimal channel of R(D) for a binary Hamming source."""
    p0, p1 = normalised(p)
    D = mpf(D)
    q = [(p0 - D) / (1 - 2 * D), (p1 - D) / (1 - 2 * D)]
    slope = mpmath.log((1 - D) / D)
    kernel = [[mpmath.exp(-slope * (x != y)) for y in range(2)] for x in range(2)]
    z = [sum(q[y] * kernel[x][y] for y in range(2)) for x in range(2)]
    channel = [[float(q[y] * kernel[x][y] / z[x]) for y in range(2)] for x in range(2)]
    return float(slope), [float(-mpmath.log(v)) for v in z], channel


def bsc_document(p=(0.7, 0.3), D=0.1, lower_shift=-1e-12, upper_shift=1e-12):
    """R(D) certificate: dual at D, channel optimal at D (1 - 1e-13) (so E d < D surely)."""
    truth = h(normalised(p)[1]) - h(mpf(D))
    slope, log_c, _ = hamming_point(p, D)
    channel = hamming_point(p, D * (1 - 1e-13))[2]
    doc = make_document("rate_distortion", {"p": list(p), "d": HAMMING}, {"D": D},
                        {"channel": channel}, {"slope": slope, "log_c": log_c},
                        float(truth + lower_shift), float(truth + upper_shift))
    return doc, truth


def run_main(capsys, doc, tmp_path):
    path = tmp_path / "cert.json"
    write_document(doc, path)
    code = main([str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


# ------------------------------------------------------------------ closed forms
def test_hamming_closed_form_is_proven(capsys, tmp_path):
    doc, truth = bsc_document()
    result = check_certificate(doc)
    assert isinstance(result, CheckResult) and result.proven, result.message
    assert result.lower_enclosure[0] <= truth <= result.upper_enclosure[1]
    assert truth - result.lower_enclosure[0] < 1e-14          # the dual is optimal
    assert result.upper_enclosure[1] - truth < 1e-12
    code, out = run_main(capsys, doc, tmp_path)
    assert code == 0 and out.startswith("PROVEN") and out.count("\n") == 1


def test_tampered_lower_is_rejected(capsys, tmp_path):
    doc, _ = bsc_document(lower_shift=1e-6)
    result = check_certificate(doc)
    assert not result.lower_proven and result.upper_proven
    code, out = run_main(capsys, doc, tmp_path)
    assert code == 1 and out.startswith("NOT PROVEN") and "lower" in out and "by 1e-06" in out


def test_tampered_upper_is_rejected(capsys, tmp_path):
    doc, _ = bsc_document(upper_shift=-1e-6)
    result = check_certificate(doc)
    assert result.lower_proven and not result.upper_proven
    code, out = run_main(capsys, doc, tmp_path)
    assert code == 1 and "upper" in out and "NOT PROVEN" in out


def test_file_round_trip_and_null_claims(tmp_path):
    doc, _ = bsc_document()
    doc["lower"], doc["upper"] = None, None
    write_document(doc, tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text()) == doc
    result = check_certificate(tmp_path / "c.json")
    assert result.proven and result.claimed_lower is None and result.claimed_upper is None
    assert result.lower_enclosure is not None and result.upper_enclosure is not None


def test_likelihood_input():
    """d = -log A for A a binary symmetric likelihood: d' = K * Hamming, K = log((1-e)/e),
    D' = D + log(1 - e), so R_A(D) = R_Hamming(D' / K) and the slope is s_H / K."""
    e, p = 0.2, (0.7, 0.3)
    K = mpmath.log((1 - mpf(e)) / mpf(e))
    D = 0.35
    delta = (mpf(D) + mpmath.log(1 - mpf(e))) / K
    truth = h(normalised(p)[1]) - h(delta)
    slope, log_c, _ = hamming_point(p, delta)
    channel = hamming_point(p, delta * (1 - mpf("1e-13")))[2]
    doc = make_document("rate_distortion", {"p": list(p), "A": [[1 - e, e], [e, 1 - e]]},
                        {"D": D}, {"channel": channel},
                        {"slope": float(mpf(slope) / K), "log_c": log_c},
                        float(truth - mpf("1e-12")), float(truth + mpf("1e-12")))
    result = check_certificate(doc)
    assert result.proven, result.message
    assert result.lower_enclosure[0] <= truth <= result.upper_enclosure[1]


def test_slope_null_at_d_min():
    """At D = D_min = 0: R = H(p), dual l = -log p at s = +inf, the identity channel."""
    p = [0.7, 0.3]
    truth = -sum(v * mpmath.log(v) for v in normalised(p))
    doc = make_document("rate_distortion", {"p": p, "d": HAMMING}, {"D": 0.0},
                        {"channel": [[1.0, 0.0], [0.0, 1.0]]},
                        {"slope": math.inf, "log_c": [-math.log(v) for v in p]},
                        float(truth) - 1e-12, float(truth) + 1e-12)
    assert doc["dual"]["slope"] is None
    result = check_certificate(doc)
    assert result.proven, result.message
    doc["parameters"]["D"] = 0.05                  # D' > 0: s = +inf proves nothing
    result = check_certificate(doc)
    assert not result.lower_proven and "D'" in result.message and result.upper_proven


def perfect_perception_document(p=(0.7, 0.3), D=0.1, shrink=1e-13):
    """R(D, 0): the dual (f, g, lam) read off the optimal J; the coupling at a (1 - shrink)."""
    p0, p1 = normalised(p)
    a = mpf(D) / 2
    J = [[p0 - a, a], [a, p1 - a]]
    truth = sum(v * mpmath.log(v) for row in J for v in row) - 2 * (   # KL(J || p p^T)
        p0 * mpmath.log(p0) + p1 * mpmath.log(p1))
    f = [mpmath.log(J[0][0] / p0 ** 2) / 2, mpmath.log(J[1][1] / p1 ** 2) / 2]
    lam = f[0] + f[1] - mpmath.log(a / (p0 * p1))
    b = a * (1 - mpf(shrink))
    coupling = [[float(p0 - b), float(b)], [float(b), float(p1 - b)]]
    doc = make_document("perfect_perception", {"p": list(p), "d": HAMMING}, {"D": D},
                        {"coupling": coupling},
                        {"slope": float(lam), "f": [float(v) for v in f],
                         "g": [float(v) for v in f]},
                        float(truth - mpf("1e-12")), float(truth + mpf("1e-12")))
    return doc, truth


def test_perfect_perception_closed_form():
    doc, truth = perfect_perception_document()
    assert abs(truth - mpf("0.2955728910")) < 1e-10           # docs/perception.md
    result = check_certificate(doc)
    assert result.proven, result.message
    assert result.lower_enclosure[0] <= truth <= result.upper_enclosure[1]
    assert result.upper_enclosure[1] - result.lower_enclosure[0] < 1e-12


def test_perfect_perception_rounding_keeps_a_valid_upper_bound():
    """A coupling with visibly wrong marginals is rounded onto the couplings of (p, p)
    first; the bound it gives is still an upper bound on R(D, 0)."""
    doc, truth = perfect_perception_document(D=0.1, shrink=0.2)
    doc["primal"]["coupling"] = [[v * 0.97 for v in row] for row in doc["primal"]["coupling"]]
    doc["upper"] = None
    result = check_certificate(doc)
    assert result.upper_enclosure[0] >= truth


def test_perfect_perception_slope_null():
    """D = 0: J = diag(p) (exact, p dyadic), f = g = -log(p)/2 at lam = +inf give H(p)."""
    p = [0.75, 0.25]
    truth = -sum(mpf(v) * mpmath.log(mpf(v)) for v in p)
    f = [-math.log(v) / 2 for v in p]
    doc = make_document("perfect_perception", {"p": p, "d": HAMMING}, {"D": 0.0},
                        {"coupling": [[0.75, 0.0], [0.0, 0.25]]},
                        {"slope": None, "f": f, "g": f}, float(truth) - 1e-12,
                        float(truth) + 1e-12)
    result = check_certificate(doc)
    assert result.proven, result.message


# --------------------------------------------------------------------- perception
def perception_document(divergence, Gamma):
    doc, truth = bsc_document()
    doc["quantity"] = "perception"
    doc["parameters"].update(Gamma=Gamma, divergence=divergence)
    return doc, truth


def test_perception_tv_closed_form():
    """Gamma = 0.06 admits the classical optimum (q = Ber(0.25), TV 0.05): R(D, G) = R(D)."""
    doc, _ = perception_document("tv", 0.06)
    assert check_certificate(doc).proven
    doc["parameters"]["Gamma"] = 0.01
    result = check_certificate(doc)
    assert result.lower_proven and not result.upper_proven and "tv(p, q)" in result.message


@pytest.mark.parametrize("divergence", ["tv", "kl", "reverse_kl", "hellinger", "chi2"])
def test_perception_divergences_against_mpmath(divergence):
    """Channel sending everything to y = 0 (q = (1, 0), I = 0) at D = 0.5: each divergence
    of (p, q) is proven <= its mpmath value + 1e-12 and not <= value - 1e-12."""
    p0, p1 = normalised((0.7, 0.3))
    value = {"tv": p1, "kl": mpmath.inf, "reverse_kl": -mpmath.log(p0),
             "hellinger": 1 - mpmath.sqrt(p0), "chi2": p1 ** 2 / p0 + p1}[divergence]
    for Gamma, proven in ((value + mpf("1e-12"), True), (value - mpf("1e-12"), False)):
        if mpmath.isinf(value):
            Gamma, proven = 100.0, False
        doc = make_document("perception", {"p": [0.7, 0.3], "d": HAMMING},
                            {"D": 0.5, "Gamma": float(Gamma), "divergence": divergence},
                            {"channel": [[1.0, 0.0], [1.0, 0.0]]},
                            {"slope": 0.0, "log_c": [0.0, 0.0]}, None, 1e-15)
        assert check_certificate(doc).upper_proven is proven


# ------------------------------------------------------------------ malformed files
def _set(doc, path, value):
    *parents, last = path
    for key in parents:
        doc = doc[key]
    if value is DELETE:
        del doc[last]
    else:
        doc[last] = value


DELETE = object()
MALFORMED = [
    (("format",), DELETE, "format"),
    (("format",), "other", "format"),
    (("version",), 2, "version"),
    (("version",), True, "version"),
    (("quantity",), "capacity", "quantity"),
    (("problem",), DELETE, "problem"),
    (("problem", "p"), DELETE, r"problem\.p"),
    (("problem", "p"), [-0.1, 1.1], r"problem\.p\[0\]"),
    (("problem", "p"), [0.6, 0.3], r"problem\.p: sums"),
    (("problem", "p"), [float("nan"), 1.0], r"problem\.p\[0\]"),
    (("problem", "p"), "0.7 0.3", r"problem\.p"),
    (("problem", "d"), [[0.0, 1.0], [1.0, 0.0, 1.0]], r"problem\.d\[1\]"),
    (("problem", "d"), [[0.0, -1.0], [1.0, 0.0]], r"problem\.d\[0\]\[1\]"),
    (("problem", "d"), [["0", 1.0], [1.0, 0.0]], r"problem\.d\[0\]\[0\]"),
    (("problem", "d"), [[False, 1.0], [1.0, 0.0]], r"problem\.d\[0\]\[0\]"),
    (("problem", "d"), [[None, None], [1.0, 0.0]], r"problem\.d\[0\]: no allowed"),
    (("problem", "d"), [[0.0, 1.0]], r"problem\.d"),
    (("problem", "A"), [[1.0, 0.5], [0.5, 1.0]], r"either 'd' or 'A'"),
    (("parameters", "D"), DELETE, r"parameters\.D"),
    (("parameters", "D"), "0.1", r"parameters\.D"),
    (("parameters",), [0.1], "parameters"),
    (("dual", "slope"), -1.0, r"dual\.slope"),
    (("dual", "log_c"), [0.1], r"dual\.log_c"),
    (("dual", "log_c"), [None, 0.1], r"dual\.log_c\[0\]"),
    (("dual",), DELETE, "dual"),
    (("primal", "channel"), DELETE, r"primal\.channel"),
    (("primal", "channel"), [[0.9, 0.1], [-0.1, 1.1]], r"primal\.channel\[1\]\[0\]"),
    (("primal", "channel"), [[0.9, 0.1]], r"primal\.channel"),
    (("lower",), "0.28", "lower"),
    (("upper",), DELETE, "upper"),
    (("upper",), float("inf"), "upper"),
    (("units",), 3, "units"),
]


@pytest.mark.parametrize(("path", "value", "match"), MALFORMED,
                         ids=[f"{'.'.join(c[0])}={c[1]!r}"[:40] for c in MALFORMED])
def test_malformed_documents(path, value, match, capsys, tmp_path):
    doc, _ = bsc_document()
    _set(doc, path, value)
    with pytest.raises(MalformedCertificateError, match=match):
        check_certificate(doc)
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(doc))                    # NaN/Infinity written as such
    assert main([str(file)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("error: ") and out.err.count("\n") == 1
    assert "Traceback" not in out.err


@pytest.mark.parametrize(("quantity", "change", "match"), [
    ("perception", {"divergence": "wasserstein"}, r"parameters\.divergence"),
    ("perception", {"Gamma": -0.1}, r"parameters\.Gamma"),
    ("perfect_perception", {}, r"dual\.f"),
])
def test_malformed_quantity_parameters(quantity, change, match):
    doc, _ = perception_document("tv", 0.1)
    doc["quantity"] = quantity
    doc["parameters"].update(change)
    with pytest.raises(MalformedCertificateError, match=match):
        check_certificate(doc)


def test_non_square_distortion_for_perception():
    doc, _ = perception_document("tv", 0.1)
    doc["problem"]["d"] = [[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]]
    doc["primal"]["channel"] = [[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]]
    with pytest.raises(MalformedCertificateError, match="square"):
        check_certificate(doc)


@pytest.mark.parametrize("text", ["{", "[1, 2]", '{"format": NaN}', "\udcff"])
def test_unparsable_files(text, capsys, tmp_path):
    file = tmp_path / "bad.json"
    file.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert main([str(file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_unreadable_path_and_usage(capsys, tmp_path):
    assert main([str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read")
    assert main([]) == 2 and main(["a", "b"]) == 2


# --------------------------------------------------------------- inadmissible points
@pytest.mark.parametrize("quantity", ["rate_distortion", "perfect_perception"])
def test_mass_on_forbidden_pair(quantity):
    d = [[0.0, None], [1.0, 0.0]]
    if quantity == "rate_distortion":
        doc = make_document(quantity, {"p": [0.5, 0.5], "d": d}, {"D": 0.5},
                            {"channel": [[0.9, 0.1], [0.5, 0.5]]},
                            {"slope": 0.0, "log_c": [0.0, 0.0]}, None, 10.0)
    else:      # exact marginals would need no correction; 0.7/0.3 leave a tiny one
        doc = make_document(quantity, {"p": [0.7, 0.3], "d": d}, {"D": 0.5},
                            {"coupling": [[0.7, 0.0], [0.0, 0.3]]},
                            {"slope": 0.0, "f": [0.0, 0.0], "g": [0.0, 0.0]}, None, 10.0)
    result = check_certificate(doc)
    assert not result.upper_proven and "forbidden pair (0, 1)" in result.message


def test_forbidden_likelihood_pair():
    doc = make_document("rate_distortion", {"p": [0.5, 0.5], "A": [[1.0, 0.0], [0.5, 1.0]]},
                        {"D": 1.0}, {"channel": [[0.5, 0.5], [0.5, 0.5]]},
                        {"slope": 1.0, "log_c": [0.0, 0.0]}, None, 10.0)
    result = check_certificate(doc)
    assert not result.upper_proven and "forbidden pair (0, 1)" in result.message


def test_distortion_infeasible_channel():
    doc, _ = bsc_document(D=0.1)
    doc["primal"]["channel"] = hamming_point((0.7, 0.3), 0.2)[2]   # distortion 0.2 > D
    doc["upper"] = 10.0
    result = check_certificate(doc)
    assert result.lower_proven and not result.upper_proven
    assert "distortion not proven feasible" in result.message


# ------------------------------------------------------------------ random problem
def blahut_arimoto(p, d, slope, iterations=400):
    """Plain Blahut-Arimoto at a fixed slope: channel and log c from the output pmf."""
    kernel = np.exp(-slope * (d - d.min(axis=1, keepdims=True)))
    q = np.full(d.shape[1], 1.0 / d.shape[1])
    for _ in range(iterations):
        q = q * (kernel.T @ (p / (kernel @ q)))
    channel = kernel * q
    return channel / channel.sum(axis=1, keepdims=True), -np.log(kernel @ q)


def test_random_problem_enclosures_bracket_and_are_narrow():
    rng = np.random.default_rng(20261130)
    p = rng.dirichlet(np.ones(30))
    d = rng.random((30, 40))
    channel, log_c = blahut_arimoto(p, d, slope=8.0)
    D = float(p @ (channel * d).sum(axis=1)) * (1 + 1e-9)
    doc = make_document("rate_distortion", {"p": p, "d": d}, {"D": D}, {"channel": channel},
                        {"slope": np.float64(8.0), "log_c": log_c}, None, None)
    result = check_certificate(doc)
    assert result.proven
    (l_lo, l_hi), (u_lo, u_hi) = result.lower_enclosure, result.upper_enclosure
    assert l_hi <= u_lo + 1e-15
    assert l_hi - l_lo < 1e-12 and u_hi - u_lo < 1e-12
    assert u_lo - l_hi < 1e-3                        # a decent point
    doc["lower"], doc["upper"] = l_lo, u_hi
    assert check_certificate(doc).proven
    doc["lower"] = l_hi + 1e-9
    assert not check_certificate(doc).lower_proven


# ----------------------------------------------------------------------- writing
def test_make_document_converts_arrays_and_infinities():
    d = np.array([[0.0, np.inf], [1.0, 0.0]])
    doc = make_document("rate_distortion", {"p": np.array([0.5, 0.5]), "d": d},
                        {"D": np.float64(0.5)}, {"channel": np.eye(2)},
                        {"slope": np.inf, "log_c": np.zeros(2)}, -np.inf, np.inf,
                        versions={"rdconvex": "0"}, info={"time": float("nan")})
    assert doc["problem"]["d"] == [[0.0, None], [1.0, 0.0]]
    assert doc["dual"]["slope"] is None and doc["lower"] is None and doc["upper"] is None
    assert doc["info"] == {"time": None} and type(doc["parameters"]["D"]) is float
    assert json.loads(json.dumps(doc)) == doc
    with pytest.raises(MalformedCertificateError, match="problem"):
        make_document("rate_distortion", {"p": [float("nan")]}, {}, {}, {}, None, None)


def test_module_imports_only_stdlib_and_flint():
    source = Path(__file__).resolve().parents[1] / "rdconvex" / "check.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"flint", "__future__"}


def test_python_dash_m(tmp_path):
    doc, _ = bsc_document()
    write_document(doc, tmp_path / "c.json")
    run = subprocess.run([sys.executable, "-m", "rdconvex.check", str(tmp_path / "c.json")],
                         capture_output=True, text=True, cwd=Path(__file__).parents[1],
                         check=False)
    assert run.returncode == 0 and run.stdout.startswith("PROVEN"), run.stderr


def test_result_is_frozen():
    result = check_certificate(bsc_document()[0])
    with pytest.raises(AttributeError):
        result.lower_proven = False
    assert copy.copy(result) == result


def test_D_null_is_the_flat_limit_and_needs_slope_zero():
    # 3-cycle, one forbidden pair per row: R(D) -> ln(3/2) as D -> inf (uniform p).
    d = [[0.0, 1.0, None], [None, 0.0, 1.0], [1.0, None, 0.0]]
    W = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]]
    third = 1 / 3
    doc = make_document("rate_distortion", {"p": [third] * 3, "d": d}, {"D": None},
                        {"channel": W}, {"slope": 0.0, "log_c": [math.log(1.5)] * 3},
                        math.log(1.5) - 1e-12, math.log(1.5) + 1e-12)
    assert check_certificate(doc).proven
    doc["dual"]["slope"] = 1.0
    assert not check_certificate(doc).lower_proven


def test_lower_claims_at_most_zero_and_constant_channels_are_exact():
    doc = make_document("rate_distortion", {"p": [0.7, 0.3], "d": [[0.0, 1.0], [1.0, 0.0]]},
                        {"D": 0.5}, {"channel": [[1.0, 0.0], [1.0, 0.0]]},
                        {"slope": 0.0, "log_c": [0.0, 0.0]}, 0.0, 0.0)
    assert check_certificate(doc).proven


def test_D_min_written_exactly():
    # Non-dyadic p and row minima: no float D makes D' exactly 0 in balls.
    d = [[0.1, 0.5, 1.0], [0.7, 0.2, 0.3], [1.0, 1.0, 0.4]]
    W = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    p = [0.2, 0.3, 0.5]
    entropy = -sum(x * math.log(x) for x in p)
    doc = make_document("rate_distortion", {"p": p, "d": d}, {"D": "D_min"},
                        {"channel": W}, {"slope": None, "log_c": [-math.log(x) for x in p]},
                        entropy - 1e-12, entropy + 1e-12)
    assert check_certificate(doc).proven
