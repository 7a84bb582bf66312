"""Plotting helpers (matplotlib is imported lazily: it is the optional ``plot`` extra)."""

from __future__ import annotations

import numpy as np

#: The certified band is drawn where ``upper - lower`` exceeds this fraction of the
#: plotted rate range: about a line width on a figure a few inches tall.
VISIBLE_GAP = 2e-3


def pyplot(headless: bool = False):
    """``matplotlib.pyplot``, with a clear error when the ``plot`` extra is missing;
    ``headless=True`` selects the Agg backend first (files only, no screen)."""
    try:
        import matplotlib

        if headless:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'rdconvex[plot]'") from None
    return plt


def figure_formats() -> list[str]:
    """The file extensions matplotlib can write (``png``, ``pdf``, ``svg``, ...)."""
    pyplot(headless=True)
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def save_figure(fig, path, formats=None, dpi: int = 150) -> list:
    """Save ``fig`` at ``path`` (folders created), and once more per extra format in
    ``formats`` (e.g. ``("png", "pdf")`` writes ``name.png`` and ``name.pdf``); returns
    the paths written."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    targets = [path] if not formats else [path.with_suffix("." + f) for f in formats]
    for target in targets:
        fig.savefig(target, dpi=dpi)
    return targets


def axis_labels(ax, quantity: str = "rate", units: str | None = None,
                distortion_units: str | None = None) -> None:
    """Name the quantity and the units on both axes, e.g. ``R_ll(D) [bits]`` against
    ``D [bits]``."""
    ax.set_xlabel("D" + (f" [{distortion_units}]" if distortion_units else ""))
    ax.set_ylabel(quantity + (f" [{units}]" if units else ""))


def plot_curve(curve, ax=None, *, label=None, band: bool = True, band_alpha: float = 0.3,
               quantity: str = "R(D)", distortion_units: str | None = None,
               **line_kwargs):
    r"""Draw a :class:`~rdconvex.results.Curve`: the certified rates against ``D``.

    The band ``[lower, upper]`` is shaded wherever it is visibly wider than the line
    (more than ``VISIBLE_GAP`` of the rate range); elsewhere the line *is* the band.

    Parameters
    ----------
    curve : Curve
        The curve to draw.
    ax : matplotlib Axes, optional
        Where to draw (default: the current axes).
    label : str, optional
        Legend label of the line.
    band : bool
        Shade the certified band where it is visible.
    band_alpha : float
        Opacity of the band.
    quantity : str
        What the curve is, for the vertical axis (default ``R(D)``; e.g.
        ``$R_{\ell\ell}(D)$`` or ``$R(D, \Gamma)$``), labelled with the curve's units.
    distortion_units : str, optional
        Units of ``D`` for the horizontal axis (e.g. ``"bits"`` for a log-likelihood
        problem, ``"units of d"`` for a distortion matrix).
    **line_kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = pyplot().gca()
    D, rate = np.asarray(curve.D), np.asarray(curve.rate)
    (line,) = ax.plot(D, rate, label=label, **line_kwargs)
    if band and D.size:
        gap = np.asarray(curve.upper) - np.asarray(curve.lower)
        span = float(np.ptp(np.concatenate([curve.lower, curve.upper]))) or 1.0
        visible = gap > VISIBLE_GAP * span
        if visible.any():
            # Widen the mask by one point so isolated wide points still get a patch.
            shown = visible | np.r_[visible[1:], False] | np.r_[False, visible[:-1]]
            ax.fill_between(D, curve.lower, curve.upper, where=shown, color=line.get_color(),
                            alpha=band_alpha, linewidth=0,
                            label=None if label is None else f"{label}: certified band")
    axis_labels(ax, quantity, curve.units, distortion_units)
    return ax
