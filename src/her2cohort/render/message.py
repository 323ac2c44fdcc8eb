"""A figure that says why there is no figure (an analysis skipped for lack of data)."""

from __future__ import annotations

import textwrap

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def message_figure(title: str, message: str, width: float = 5.0) -> Figure:
    """A small figure holding a title and a wrapped message, in place of a plot."""
    fig = Figure(figsize=(width, 1.6))
    FigureCanvasAgg(fig)
    fig.text(0.05, 0.75, title, fontsize=10, fontweight="bold", va="center")
    fig.text(0.05, 0.42, textwrap.fill(message, 80), fontsize=8, va="center")
    return fig
