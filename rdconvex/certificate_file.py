"""Writing certificate files (docs/certificate-format.md): the format-1 document from
plain values or arrays, floats by ``repr`` so they read back exactly. Proving them is
:mod:`rdconvex.check`'s job (which imports nothing of rdconvex)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .check import FORMAT, VERSION, MalformedCertificateError


def _plain(value, where: str, strict: bool = True):
    """JSON-ready copy: ``tolist()``, +inf -> None, NaN and -inf rejected (or None)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}.{k}", strict) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, where, strict) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        if value == math.inf or not strict:
            return None
        raise MalformedCertificateError(f"{where}: {value!r} cannot be written")
    return value


def make_document(quantity, problem, parameters, primal, dual, lower, upper,
                  units: str = "nats", versions=None, info=None) -> dict:
    """A format-1 certificate document from plain values or arrays (``tolist()``):
    ``+inf`` becomes ``null``, ``lower = -inf``/``upper = +inf`` (or None) no claim; NaN
    or -inf in the data raises :class:`MalformedCertificateError`."""
    lower = None if lower is None or lower == -math.inf else _plain(float(lower), "lower")
    upper = None if upper is None else _plain(float(upper), "upper")
    return {"format": FORMAT, "version": VERSION, "quantity": quantity,
            "problem": _plain(problem, "problem"),
            "parameters": _plain(parameters, "parameters"),
            "primal": _plain(primal, "primal"), "dual": _plain(dual, "dual"),
            "lower": lower, "upper": upper,
            "units": units, "versions": _plain(versions or {}, "versions", strict=False),
            "info": _plain(info or {}, "info", strict=False)}


def write_document(doc: dict, path) -> None:
    """Write ``doc`` as JSON (floats by ``repr``, so they read back exactly)."""
    Path(path).write_text(json.dumps(doc, allow_nan=False) + "\n", encoding="utf-8")
