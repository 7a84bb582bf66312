"""Progress bars only where someone watches: on a terminal, never in a log."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def on_terminal() -> bool:
    """Whether standard error is a terminal that redraws a bar in place.

    Not when it is a file or pipe (logs, notebooks, captured output), not on a
    ``TERM=dumb`` terminal, and not under ``CI`` (set by the CI services, some of which
    run jobs under a pseudo-terminal whose every redraw would be a log line)."""
    stream = sys.stderr
    try:
        interactive = stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return interactive and os.environ.get("TERM") != "dumb" and not ci


def progress_bar(iterable: Iterable[T], total: int | None = None, desc: str | None = None,
                 enabled: bool = False, unit: str = "it") -> Iterable[T]:
    """``iterable`` wrapped in a tqdm bar when ``enabled`` and :func:`on_terminal`;
    otherwise ``iterable`` itself, untouched."""
    if not (enabled and on_terminal()):
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr)
