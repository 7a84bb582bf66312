"""Claims for ``rdconvex verify``: read from a path, inline JSON or standard input, in
every form rdconvex writes and the plain forms another tool can write (docs/verify.md).

Accepted (JSON unless said otherwise; every form may carry ``"units"`` and ``"Gamma"``):

* ``{"D": 0.1, "rate": 0.2858}`` -- a rate; ``{"D": 0.1, "channel": [[...]]}`` (with an
  optional ``"rate"``) -- a channel;
* ``{"curve": {"D": [...], "rate": [...]}}`` or ``{"D": [...], "rate": [...]}`` -- a
  curve (the latter is what ``rdconvex curve --json`` writes);
* ``{"results": [...]}`` -- what ``rdconvex solve --json`` writes (a rate claim per
  result), also a bare list of result objects, or one ``Result.to_dict()``;
* CSV with a header naming ``D`` and ``rate`` (``rdconvex curve --csv``), comment lines
  ``# ...`` ignored but for ``# provenance: {json}``.

``null`` (and ``{"float": "inf"}``) stands for ``+inf``. Everything malformed raises
:class:`~rdconvex.errors.InvalidArgumentError` with a one-line message.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidArgumentError

#: Keys a hand-written claim may have (records written by rdconvex may have more).
CLAIM_KEYS = ("D", "rate", "channel", "curve", "units", "Gamma", "provenance")
_RATE_COLUMNS = ("rate", "rate_nats", "rate_bits")
_EXAMPLE = '\'{"D": 0.1, "rate": 0.2858}\''


@dataclass(frozen=True)
class Claim:
    """A parsed claim: the keyword arguments of :func:`rdconvex.verify` for it (``D`` and
    ``rate``/``channel``, or ``curve``), its units and budget, where it came from and the
    provenance it carried (if any)."""

    arguments: dict
    units: str | None = None
    Gamma: float | None = None
    form: str = "rate"
    source: str = ""
    provenance: dict = field(default_factory=dict)


def read_claim(claim: str, stdin=None) -> Claim:
    """Parse ``claim``: ``-`` (standard input), inline JSON (text starting with ``{`` or
    ``[``) or the path of a JSON or CSV file."""
    if claim == "-":
        if stdin is None:
            raise InvalidArgumentError("CLAIM is '-' but there is no standard input.")
        return parse_claim(stdin.read(), "standard input")
    if claim.lstrip()[:1] in ("{", "["):
        return parse_claim(claim, "the inline claim")
    path = Path(claim)
    if path.is_dir():
        raise InvalidArgumentError(f"{path}: is a directory; CLAIM is a file, inline JSON "
                                   f"such as {_EXAMPLE}, or - for standard input.")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgumentError(f"{path}: no such claim file; CLAIM is a file, inline "
                                   f"JSON such as {_EXAMPLE}, or - for standard input.") from None
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"{path}: not UTF-8 text; a claim is JSON or CSV.") from None
    except OSError as exc:
        raise InvalidArgumentError(f"{path}: cannot read it: {exc.strerror or exc}.") from None
    return parse_claim(text, str(path))


def parse_claim(text: str, source: str = "claim") -> Claim:
    """A :class:`Claim` from JSON or CSV text (see the module docstring)."""
    if not text.strip():
        raise InvalidArgumentError(f"{source}: empty; give a claim such as {_EXAMPLE}.")
    if text.lstrip()[:1] not in ("{", "["):
        return _csv_claim(text, source)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidArgumentError(f"{source}: not valid JSON: {exc}.") from None
    return _json_claim(data, source)


def _fail(source: str, what: str):
    raise InvalidArgumentError(f"{source}: {what}")


def _number(value, where: str, source: str) -> float:
    """A claimed number: ``null`` and ``{"float": "inf"}`` are ``+inf``."""
    if value is None:
        return math.inf
    if isinstance(value, dict) and set(value) == {"float"}:
        marked = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}.get(value["float"])
        if marked is not None:
            return marked
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(source, f"{where} must be a number, got {value!r}.")
    return float(value)


def _numbers(values, where: str, source: str) -> list[float]:
    if not isinstance(values, list):
        return [_number(values, where, source)]
    return [_number(v, f"{where}[{i}]", source) for i, v in enumerate(values)]


def _units(value, source: str) -> str | None:
    if value is None or value in ("nats", "bits"):
        return value
    return _fail(source, f'"units" must be "nats" or "bits", got {value!r}.')


def _budget(data: dict, provenance: dict, source: str):
    value = data.get("Gamma", provenance.get("Gamma"))
    return None if value is None else _number(value, '"Gamma"', source)


def _json_claim(data, source: str) -> Claim:
    if isinstance(data, list):
        return _results_claim({"results": data}, source)
    if not isinstance(data, dict):
        _fail(source, f"a claim is a JSON object such as {_EXAMPLE}, got {data!r}.")
    if "results" in data:
        return _results_claim(data, source)
    provenance = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    written = "kind" in data or bool(provenance)  # a record rdconvex wrote: extra keys ok
    unknown = sorted(set(data) - set(CLAIM_KEYS))
    if unknown and not written:
        _fail(source, f"unknown key(s) {unknown}; a claim has D and rate and/or channel, or "
                      f"curve (valid keys: {', '.join(CLAIM_KEYS)}).")
    units = _units(data.get("units", provenance.get("units")), source)
    Gamma = _budget(data, provenance, source)
    common = {"units": units, "Gamma": Gamma, "source": source, "provenance": provenance}
    if "curve" in data:
        curve = data["curve"]
        if not isinstance(curve, dict) or "D" not in curve or "rate" not in curve:
            _fail(source, 'curve must be {"D": [...], "rate": [...]}.')
        if "units" in curve:
            common["units"] = _units(curve["units"], source)
        return Claim({"curve": (_numbers(curve["D"], "curve.D", source),
                                _numbers(curve["rate"], "curve.rate", source))},
                     form="curve", **common)
    if "D" not in data or not ({"rate", "channel"} & set(data)):
        _fail(source, f"expected keys D and rate and/or channel (or curve), got "
                      f"{sorted(data)}; e.g. {_EXAMPLE}.")
    if isinstance(data["D"], list):
        if "rate" not in data:
            _fail(source, 'a curve needs "rate" next to its list of "D".')
        return Claim({"curve": (_numbers(data["D"], "D", source),
                                _numbers(data["rate"], "rate", source))}, form="curve",
                     **common)
    arguments = {"D": _number(data["D"], "D", source)}
    if "rate" in data:
        arguments["rate"] = _number(data["rate"], "rate", source)
    if "channel" in data and not written:
        arguments["channel"] = data["channel"]
    form = "channel" if "channel" in arguments else "rate"
    return Claim(arguments, form=form, **common)


def _results_claim(data: dict, source: str) -> Claim:
    """What ``rdconvex solve --json`` writes: one rate claim per result."""
    results = data["results"]
    if not isinstance(results, list) or not results:
        _fail(source, '"results" must be a non-empty list of results (rdconvex solve '
                      '--json).')
    provenance = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    D, rates, units, budgets = [], [], set(), set()
    for i, result in enumerate(results):
        if not isinstance(result, dict) or "D" not in result or "rate" not in result:
            _fail(source, f"results[{i}] must be an object with D and rate.")
        D.append(_number(result["D"], f"results[{i}].D", source))
        rates.append(_number(result["rate"], f"results[{i}].rate", source))
        units.add(_units(result.get("units", provenance.get("units")), source))
        if "Gamma" in result:
            budgets.add(_number(result["Gamma"], f"results[{i}].Gamma", source))
    if len(units) > 1 or len(budgets) > 1:
        _fail(source, "the results mix units or budgets Gamma; verify them one at a time.")
    common = {"units": units.pop(), "source": source, "provenance": provenance,
              "Gamma": budgets.pop() if budgets else _budget(data, provenance, source)}
    if len(D) == 1:
        return Claim({"D": D[0], "rate": rates[0]}, form="solve output", **common)
    return Claim({"curve": (D, rates)}, form="solve output", **common)


def _csv_claim(text: str, source: str) -> Claim:
    """A curve as CSV: a header with D and a rate column, one row per point."""
    provenance, rows = {}, []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if "provenance:" in stripped:
                try:
                    provenance = json.loads(stripped.split("provenance:", 1)[1])
                except json.JSONDecodeError as exc:
                    _fail(source, f"the provenance comment is not valid JSON: {exc}.")
        elif stripped:
            rows.append(line)
    if not isinstance(provenance, dict):
        provenance = {}
    table = list(csv.reader(rows))
    if len(table) < 2:
        _fail(source, "not JSON, and not a CSV table with a header (D,rate,...) and at least "
                      f"one row; give e.g. {_EXAMPLE}.")
    header = [name.strip() for name in table[0]]
    rate_column = next((name for name in _RATE_COLUMNS if name in header), None)
    if "D" not in header or rate_column is None:
        _fail(source, f"the CSV header {header} needs a column D and a column rate.")
    units = provenance.get("units")
    if rate_column != "rate":
        units = rate_column.split("_", 1)[1]
    D, rates = [], []
    for number, row in enumerate(table[1:], start=2):
        if len(row) != len(header):
            _fail(source, f"CSV row {number} has {len(row)} fields, the header {len(header)}.")
        record = dict(zip(header, (cell.strip() for cell in row)))
        try:
            D.append(float(record["D"]))
            rates.append(float(record[rate_column]))
        except ValueError:
            _fail(source, f"CSV row {number}: D and {rate_column} must be numbers.")
        if record.get("units"):
            units = record["units"]
    return Claim({"curve": (D, rates)}, units=_units(units, source),
                 Gamma=_budget({}, provenance, source), form="CSV", source=source,
                 provenance=provenance)
