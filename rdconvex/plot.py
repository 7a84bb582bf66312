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


def plot_curve(curve, ax=None, *, label=None, band: bool = True, band_alpha: float = 0.3,
               **line_kwargs):
    """Draw a :class:`~rdconvex.results.Curve`: the certified rates against ``D``.

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
    ax.set_xlabel("D")
    ax.set_ylabel(f"R(D) [{curve.units}]")
    return ax
