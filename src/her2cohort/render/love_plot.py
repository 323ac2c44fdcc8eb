"""Love plot: absolute standardised mean differences before and after weighting.

Takes the balance DataFrame (columns ``variable``, ``level``, ``smd_unweighted``,
``smd_weighted``, as produced by the statistics layer's balance table) and returns a
:class:`matplotlib.figure.Figure` in the journal style of :mod:`.figures`; save it with
:func:`.figures.save_figure`.  Layout as R cobalt's ``love.plot(abs = TRUE)``: one row per
covariate (level), open circles before and filled circles after weighting, a dashed line
at the balance threshold (0.1, Austin 2009).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .figures import DEFAULT_COLORS, _new_figure, journal_style

__all__ = ["love_plot"]

_REQUIRED = ("variable", "level", "smd_unweighted", "smd_weighted")


def _labels(balance: pd.DataFrame, labels: dict[str, str] | None) -> list[str]:
    names = labels or {}
    out = []
    for var, lv in zip(balance["variable"], balance["level"], strict=True):
        base = names.get(str(var), str(var))
        out.append(base if lv is None or (isinstance(lv, float) and np.isnan(lv))
                   else f"{base}: {lv}")
    return out


def love_plot(
    balance: pd.DataFrame,
    threshold: float | None = None,
    labels: dict[str, str] | None = None,
    sort: bool = True,
    series_labels: Sequence[str] = ("Unweighted", "Weighted (IPTW)"),
    title: str | None = None,
) -> Figure:
    """Dot plot of absolute SMDs before and after weighting.

    ``threshold`` defaults to the balance table's ``threshold`` column (else 0.1);
    ``labels`` maps variable names to display names; ``sort`` orders rows by the
    unweighted SMD (largest at the top).  Rows whose weighted SMD is NaN show only the
    unweighted point.
    """
    missing = [c for c in _REQUIRED if c not in balance.columns]
    if missing:
        raise ValueError(f"balance table lacks column(s) {missing}")
    if len(balance) == 0:
        raise ValueError("balance table has no rows")
    if threshold is None:
        threshold = (
            float(balance["threshold"].iloc[0]) if "threshold" in balance.columns else 0.1
        )
    tab = balance.reset_index(drop=True)
    if sort:
        tab = tab.iloc[np.argsort(tab["smd_unweighted"].to_numpy(), kind="stable")]
    names = _labels(tab, labels)
    y = np.arange(len(tab))
    before = tab["smd_unweighted"].to_numpy(float)
    after = tab["smd_weighted"].to_numpy(float)
    height = 1.2 + 0.22 * len(tab)
    with mpl.rc_context(journal_style()):
        fig = _new_figure((4.5, height), layout="constrained")
        ax = fig.add_subplot()
        for yi in y:
            ax.axhline(yi, color="0.9", linewidth=0.5, zorder=0)
        ax.axvline(threshold, color="0.3", linestyle="--", linewidth=0.8, zorder=1)
        ax.axvline(0, color="black", linewidth=0.6, zorder=1)
        c0, c1 = DEFAULT_COLORS[1], DEFAULT_COLORS[0]
        ax.scatter(before, y, s=22, facecolors="white", edgecolors=c0, linewidths=1.0,
                   zorder=3)
        ok = ~np.isnan(after)
        ax.scatter(after[ok], y[ok], s=22, color=c1, zorder=4)
        ax.set_yticks(y, names)
        ax.set_ylim(-0.7, len(tab) - 0.3)
        xmax = np.nanmax(np.concatenate([before, after, [threshold]]))
        ax.set_xlim(0, xmax * 1.08 + 0.02)
        ax.set_xlabel("Absolute standardised mean difference")
        handles = [
            Line2D([], [], marker="o", linestyle="", markerfacecolor="white",
                   markeredgecolor=c0, label=series_labels[0]),
            Line2D([], [], marker="o", linestyle="", color=c1, label=series_labels[1]),
            Line2D([], [], linestyle="--", color="0.3", label=f"Threshold {threshold:g}"),
        ]
        ax.legend(handles=handles, loc="lower right")
        if title:
            ax.set_title(title)
    return fig
