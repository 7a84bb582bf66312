"""JSON, CSV and HTML forms of the result records of :mod:`rdconvex.results`.

The JSON encoding (docs/api/results.md) is plain and exact:

* a finite float is a JSON number written with ``repr`` (shortest round trip), so it
  reads back to the same float; ``+inf``, ``-inf`` and NaN are the one-key objects
  ``{"float": "inf"}``, ``{"float": "-inf"}`` and ``{"float": "nan"}`` (JSON has no
  such numbers, and ``null`` is kept for ``None``);
* an array is a nested list (markers in place of its non-finite entries); a record
  field declared as an array comes back as one, with the dtype its JSON numbers
  give (``float64`` for ``1.0``, ``int64`` for ``1``, ``bool`` for ``true``);
* a record (a dataclass) is an object of its fields.

Records here are dataclasses; what a record *is* (which class) is the caller's business
(:func:`resolve_kind`). Nothing here imports :mod:`rdconvex.results`.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import html
import importlib
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import InvalidArgumentError

#: The key of the marker object that stands for a non-finite float.
MARKER = "float"
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def to_plain(value: Any, where: str = "value") -> Any:
    """A JSON-ready copy of ``value`` (see the module docstring); a record with a
    ``to_dict`` method writes itself."""
    if isinstance(value, enum.Enum):
        return to_plain(value.value, where)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isfinite(value):
            return value
        return {MARKER: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist(), where)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise InvalidArgumentError(
        f"{where}: a {type(value).__name__} has no JSON form; results hold floats, "
        "ints, strings, arrays, dicts and records only.")


def from_plain(value: Any) -> Any:
    """The inverse of :func:`to_plain` for values: markers become floats; lists stay
    lists, objects stay dicts."""
    if isinstance(value, dict):
        if set(value) == {MARKER}:
            try:
                return _NONFINITE[value[MARKER]]
            except (KeyError, TypeError):
                raise InvalidArgumentError(
                    f"{{{MARKER!r}: {value[MARKER]!r}}} is not a float marker; use "
                    '"inf", "-inf" or "nan".') from None
        return {k: from_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    return value


def array_from_plain(value: Any) -> np.ndarray:
    """An array from its nested-list form."""
    return np.array(from_plain(value))


def arrays_from_plain(value: Any) -> Any:
    """Like :func:`from_plain`, with every list an array: the form of records whose
    lists all are arrays (the certificate record's problem data and points)."""
    if isinstance(value, dict) and set(value) != {MARKER}:
        return {k: arrays_from_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return array_from_plain(value)
    return from_plain(value)


def dumps(data: Mapping, indent: int | None = None) -> str:
    """``data`` (JSON-ready) as JSON text; a stray non-finite float is an error."""
    return json.dumps(data, indent=indent, allow_nan=False)


def loads(text: str | bytes) -> Any:
    """JSON text read strictly (``NaN``/``Infinity`` literals are refused)."""
    def refuse(literal):
        raise InvalidArgumentError(
            f"{literal} is not JSON; write non-finite floats as {{{MARKER!r}: \"inf\"}}.")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"not a JSON document: {exc}") from None


def kind_of(cls: type) -> str:
    """The ``kind`` of a record class: its module and qualified name."""
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve_kind(base: type, kind: str) -> type:
    """The class named ``kind`` among ``base`` and its subclasses, recursively; a class
    of rdconvex whose module is not imported yet is imported first."""
    def family(cls: type) -> Iterator[type]:
        yield cls
        for sub in cls.__subclasses__():
            yield from family(sub)

    module = str(kind).rpartition(".")[0]
    for attempt in range(2):
        for cls in family(base):
            if kind_of(cls) == kind:
                return cls
        if attempt or not module.startswith("rdconvex."):
            break
        try:
            importlib.import_module(module)
        except ImportError:
            break
    raise InvalidArgumentError(
        f"kind={kind!r} names no {base.__name__} class (known: "
        f"{', '.join(sorted({kind_of(c) for c in family(base)}))}); import the module "
        "that defines it first.")


def record_to_dict(record: Any, skip: Iterable[str] = ()) -> dict:
    """The init fields of a dataclass ``record``, JSON-ready, in declaration order."""
    skip = set(skip)
    return {f.name: to_plain(getattr(record, f.name), f.name)
            for f in dataclasses.fields(record) if f.init and f.name not in skip}


def record_from_dict(cls: type, data: Mapping, decoders: Mapping[str, Callable] | None = None,
                     ignore: Iterable[str] = ()) -> Any:
    """``cls(**fields)`` from :func:`record_to_dict`'s form: each field through its
    decoder in ``decoders``, else by its declared type (an array, or a plain value);
    keys in ``ignore`` are skipped, any other unknown key is an error."""
    if not isinstance(data, Mapping):
        raise InvalidArgumentError(
            f"a {cls.__name__} is read from a dict, not a {type(data).__name__}.")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields) - set(ignore))
    if unknown:
        raise InvalidArgumentError(
            f"unknown key(s) {unknown} for {cls.__name__}; its fields are {list(fields)}.")
    missing = [name for name, f in fields.items() if name not in data and
               f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise InvalidArgumentError(f"{cls.__name__} needs the key(s) {missing}.")
    decoders = decoders or {}
    values = {}
    for name, value in data.items():
        if name not in fields or value is None:
            values[name] = value
            continue
        annotation = fields[name].type
        declared = annotation if isinstance(annotation, str) else repr(annotation)
        decode = decoders.get(name) or (array_from_plain if "ndarray" in declared
                                        else from_plain)
        values[name] = decode(value)
    return cls(**{k: v for k, v in values.items() if k in fields})


def write_csv(path: str | os.PathLike, columns: Mapping[str, Sequence], comment: str) -> None:
    """Columns (equal lengths) as CSV after one ``# comment`` line; floats by ``repr``
    (``inf``, ``-inf``, ``nan`` for the non-finite ones)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write(f"# {comment}\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(columns))
        writer.writerows(zip(*columns.values()))


_BADGE = {"optimal": "#2e7d32", "optimal_inaccurate": "#ef6c00",
          "max_iterations": "#ef6c00"}


def badge(status: str) -> str:
    """A coloured status label for notebooks (green optimal, orange certified but wider
    than asked, red no point)."""
    colour = _BADGE.get(str(status), "#c62828")
    return (f'<span style="background:{colour};color:white;border-radius:3px;'
            f'padding:0 4px">{html.escape(str(status))}</span>')


def html_fields(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A two-column table: ``rows`` of (name, cell HTML) under a bold title."""
    body = "".join(f"<tr><th style=\"text-align:left\">{html.escape(name)}</th>"
                   f"<td style=\"text-align:left\">{cell}</td></tr>" for name, cell in rows)
    return f"<div><b>{html.escape(title)}</b><table>{body}</table></div>"


def html_grid(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table with a header row; ``rows`` are already HTML cells."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<div><b>{html.escape(title)}</b><table><tr>{head}</tr>{body}</table></div>"
