"""Hazard-ratio forest plot for a Cox model (as R ``survminer::ggforest`` / forestplot).

Takes a tidy table (one row per variable header, reference level or estimated level) and
draws: the labels, a point with its 95% CI on a log axis with a line at HR = 1, and columns
with "HR (95% CI)" and the p-value. Greyscale-safe (black points and lines).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .figures import _new_figure, journal_style

__all__ = ["forest_plot"]

_FONT = 8.0


def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def forest_plot(
    rows: pd.DataFrame,
    title: str | None = None,
    xlabel: str = "Hazard ratio (95% CI, log scale)",
    footnote: str | None = None,
    favours: Sequence[str] | None = None,
) -> Figure:
    """``rows``: columns ``label`` (text), ``kind`` ("header", "reference" or "level"),
    ``hr``, ``lower``, ``upper``, ``p``, optional ``mark`` (e.g. a footnote sign).
    Levels without a finite CI are listed with "not estimable". ``favours`` (left, right)
    labels the two sides of HR = 1."""
    need = {"label", "kind", "hr", "lower", "upper", "p"}
    if need - set(rows.columns):
        raise ValueError(f"forest rows lack column(s) {sorted(need - set(rows.columns))}")
    if rows.empty:
        raise ValueError("no rows to draw")
    n = len(rows)
    finite = rows[(rows["kind"] == "level") & np.isfinite(rows["lower"].astype(float))
                  & np.isfinite(rows["upper"].astype(float))]
    lo = float(min(finite["lower"].min(), 1.0)) if len(finite) else 0.5
    hi = float(max(finite["upper"].max(), 1.0)) if len(finite) else 2.0
    lo, hi = lo / 1.15, hi * 1.15
    foot_h = 0.16 * (footnote.count("\n") + 1) + 0.1 if footnote else 0.0
    height = 0.8 + 0.2 * n + foot_h + (0.25 if title else 0)
    with mpl.rc_context(journal_style()):
        fig = _new_figure((7.0, height), layout="constrained")
        gs = fig.add_gridspec(1, 3, width_ratios=[2.4, 2.6, 1.9])
        ax_l, ax, ax_r = (fig.add_subplot(gs[0, i]) for i in range(3))
        y = np.arange(n)
        for a in (ax_l, ax, ax_r):
            a.set_ylim(n - 0.5, -1.3)
        for a in (ax_l, ax_r):
            a.set_axis_off()
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.axvline(1.0, color="0.35", lw=0.8, ls="--", zorder=1)
        ax.spines["left"].set_visible(False)
        ax.set_yticks([])
        ax_l.text(0, -1, "Variable", fontweight="bold", fontsize=_FONT, va="center")
        ax_r.text(0, -1, "HR (95% CI)", fontweight="bold", fontsize=_FONT, va="center")
        ax_r.text(0.80, -1, "p", fontweight="bold", fontsize=_FONT, va="center", ha="right")
        for yi, r in zip(y, rows.itertuples(index=False), strict=True):
            kind = r.kind
            mark = getattr(r, "mark", "") or ""
            if kind == "header":
                ax_l.text(0, yi, str(r.label) + mark, fontweight="bold", fontsize=_FONT,
                          va="center")
                continue
            ax_l.text(0.06, yi, str(r.label), fontsize=_FONT, va="center")
            if kind == "reference":
                ax_r.text(0, yi, "1 (reference)", fontsize=_FONT, va="center", color="0.3")
                ax.plot([1.0], [yi], marker="D", ms=3.5, mfc="white", mec="0.3", ls="none")
                continue
            ok = all(np.isfinite(float(v)) for v in (r.hr, r.lower, r.upper))
            if not ok:
                ax_r.text(0, yi, "not estimable", fontsize=_FONT, va="center", color="0.3")
                continue
            ax.plot([r.lower, r.upper], [yi, yi], color="black", lw=1.0, zorder=2,
                    solid_capstyle="butt")
            ax.plot([r.hr], [yi], marker="s", ms=4.5, color="black", zorder=3)
            ax_r.text(0, yi, f"{r.hr:.2f} ({r.lower:.2f}-{r.upper:.2f})", fontsize=_FONT,
                      va="center")
            ax_r.text(0.80, yi, _fmt_p(float(r.p)), fontsize=_FONT, va="center", ha="right")
        ax.set_xlabel(xlabel)
        ticks = [v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10) if lo <= v <= hi]
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
        if favours:
            ax.text(0.02, -1, f"\u2190 {favours[0]}", transform=ax.get_yaxis_transform(),
                    fontsize=_FONT - 1, va="center", ha="left", color="0.3")
            ax.text(0.98, -1, f"{favours[1]} \u2192", transform=ax.get_yaxis_transform(),
                    fontsize=_FONT - 1, va="center", ha="right", color="0.3")
        if title:
            fig.suptitle(title, fontsize=9, fontweight="bold", x=0.01, ha="left")
        if footnote:
            fig.text(0.01, 0.0, footnote, ha="left", va="bottom", fontsize=_FONT - 1,
                     color="0.25", linespacing=1.3)
            fig.get_layout_engine().set(rect=(0, foot_h / height, 1, 1 - foot_h / height))
    return fig
