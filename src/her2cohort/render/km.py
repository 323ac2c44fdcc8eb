"""Kaplan-Meier figures drawn from precomputed curves (survminer ``ggsurvplot`` layout).

The statistics layer computes the curves (R ``survfit``) and the risk table; this module only
draws them, so the figure shows exactly the numbers in the tables. One or more panels side by
side, each with: step curves with pointwise CI bands, ``+`` censor marks, a legend above the
panel, an annotation box (test and method text supplied by the caller) and a risk table under
the panel: number at risk with the cumulative number of events in brackets, columns on the x
ticks (survminer ``risk.table = "nrisk_cumevents"``).

Greyscale-safe: each group has its own colour *and* line style (``LINE_STYLES``), and the
legend and the risk-table labels carry both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .figures import DEFAULT_COLORS, _new_figure, journal_style

__all__ = ["LINE_STYLES", "KMPanel", "km_figure"]

#: solid, dashed, dotted, dash-dot: distinguishable without colour
LINE_STYLES: tuple[Any, ...] = ("-", (0, (5, 2)), (0, (1.2, 1.2)), (0, (6, 2, 1.2, 2)))

_FONT = 8.0


@dataclass
class KMPanel:
    """One panel: ``curves`` (columns ``group, time, surv, lower, upper, n_censor``, as R
    ``summary(survfit, censored=TRUE)``), ``risk`` (``group, time, n_risk, cum_events``, at the
    x ticks), the groups in order with their display labels, colours and line styles."""

    curves: pd.DataFrame
    risk: pd.DataFrame
    groups: Sequence[Any]
    labels: Mapping[Any, str] | None = None
    colors: Mapping[Any, str] | None = None
    linestyles: Mapping[Any, Any] | None = None
    title: str | None = None
    annotation: str | None = None
    annotation_loc: str = "lower left"
    extra: dict[str, Any] = field(default_factory=dict)


def _steps(sub: pd.DataFrame, col: str, start: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.r_[0.0, sub["time"].to_numpy(float)]
    v = np.r_[start, sub[col].to_numpy(float)]
    return t, v


def _draw(ax: Any, ax_rt: Any, p: KMPanel, ticks: list[float], xmax: float, ci: bool,
          xlabel: str, ylabel: str | None, ci_label: str | None,
          row_labels: bool = True) -> None:
    groups = list(p.groups)
    labels = {g: str((p.labels or {}).get(g, g)) for g in groups}
    colors = {g: (p.colors or {}).get(g, DEFAULT_COLORS[i % len(DEFAULT_COLORS)])
              for i, g in enumerate(groups)}
    styles = {g: (p.linestyles or {}).get(g, LINE_STYLES[i % len(LINE_STYLES)])
              for i, g in enumerate(groups)}
    handles = []
    for g in groups:
        sub = p.curves[p.curves["group"] == g].sort_values("time", kind="stable")
        c, ls = colors[g], styles[g]
        handles.append(Line2D([], [], color=c, ls=ls, lw=1.4, label=labels[g]))
        if sub.empty:
            continue
        t, s = _steps(sub, "surv", 1.0)
        if ci:
            _, lo = _steps(sub, "lower", 1.0)
            _, hi = _steps(sub, "upper", 1.0)
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(t, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan),
                            step="post", color=c, alpha=0.14, lw=0, zorder=1)
        last = float(sub["time"].max())
        ax.step(np.r_[t, last], np.r_[s, s[-1]], where="post", color=c, ls=ls, lw=1.3,
                zorder=3)
        cens = sub[sub["n_censor"] > 0]
        if len(cens):
            ax.plot(cens["time"], cens["surv"], ls="none", marker="+", ms=4.5, mew=0.8,
                    color=c, zorder=4)
    if ci and ci_label:
        handles.append(mpl.patches.Patch(color="0.6", alpha=0.35, lw=0, label=ci_label))
    pad = 0.03 * xmax
    ax.set_xlim(-pad, xmax + pad)
    ax.set_ylim(0, 1.03)
    ax.set_yticks(np.round(np.arange(0, 1.0001, 0.2), 1))
    ax.spines["left"].set_bounds(0, 1)
    ax.set_xticks(ticks)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=1,
              frameon=False, handlelength=2.6, borderaxespad=0.2,
              title=p.title, title_fontproperties={"weight": "bold", "size": 8.5},
              alignment="left")
    if p.annotation:
        xy = {"lower left": (0.03, 0.04, "left", "bottom"),
              "lower right": (0.97, 0.04, "right", "bottom"),
              "upper right": (0.97, 0.96, "right", "top")}[p.annotation_loc]
        ax.text(xy[0], xy[1], p.annotation, transform=ax.transAxes, ha=xy[2], va=xy[3],
                fontsize=_FONT - 0.5, linespacing=1.3, zorder=5,
                bbox={"boxstyle": "round,pad=0.35", "fc": "white", "ec": "0.55", "lw": 0.6})
    # risk tables under the panel: numbers at risk, then cumulative events, on the ticks
    from matplotlib.transforms import blended_transform_factory

    n = len(groups)
    rows_y = {"risk": [1 + i for i in range(n)], "events": [n + 2 + i for i in range(n)]}
    ax_rt.set_ylim(2 * n + 1.6, -0.6)
    ax_rt.set_xlim(-pad, xmax + pad)
    head = blended_transform_factory(ax_rt.transAxes, ax_rt.transData)
    for key, title, col in (("risk", "Number at risk", "n_risk"),
                            ("events", "Cumulative number of events", "cum_events")):
        ax_rt.text(0.0, rows_y[key][0] - 1, title, transform=head, ha="left", va="center",
                   fontsize=_FONT, fontweight="bold")
        for i, g in enumerate(groups):
            r = p.risk[p.risk["group"] == g].set_index("time")
            for tv in ticks:
                txt = str(int(r.loc[tv, col])) if tv in r.index else "-"
                ax_rt.text(tv, rows_y[key][i], txt, ha="center", va="center",
                           fontsize=_FONT - 0.5)
    ax_rt.set_yticks(rows_y["risk"] + rows_y["events"])
    ax_rt.set_yticklabels([labels[g] for g in groups] * 2 if row_labels else [])
    for tl, g in zip(ax_rt.get_yticklabels(), groups * 2, strict=True):
        tl.set_color(colors[g])
        tl.set_fontweight("bold")
    ax_rt.tick_params(axis="y", length=0, pad=10)
    ax_rt.tick_params(axis="x", length=0, labelbottom=False)
    for sp in ax_rt.spines.values():
        sp.set_visible(False)


def _wrap(text: str, width_in: float) -> str:
    import textwrap

    chars = max(40, int(width_in * 19))
    return "\n".join(textwrap.fill(line, chars) for line in text.split("\n"))


def km_figure(
    panels: Sequence[KMPanel],
    xmax: float,
    break_every: float = 12,
    xlabel: str = "Months",
    ylabel: str = "Survival probability",
    ci: bool = True,
    ci_label: str | None = None,
    footnote: str | None = None,
    panel_width: float = 4.0,
) -> Figure:
    """Kaplan-Meier panels side by side, each with its risk table; ``footnote`` (e.g. the
    endpoint definition and the CI method) is printed under the figure. The ticks are
    ``0, break_every, ...`` up to ``xmax``; the risk tables must hold those times."""
    if not panels:
        raise ValueError("no panel to draw")
    ticks_arr = np.arange(0, xmax + break_every * 1e-6, break_every)
    ticks = [int(v) if float(v).is_integer() else float(v) for v in ticks_arr]
    n_rows = max(len(p.groups) for p in panels)
    main_h, table_h = 2.7, 0.3 + 0.34 * n_rows + 0.2
    legend_h = 0.22 * (n_rows + (1 if ci and ci_label else 0)) + (0.2 if any(
        p.title for p in panels) else 0)
    width = 1.1 + panel_width * len(panels)
    if footnote:
        footnote = _wrap(footnote, width)
    foot_h = 0.15 * (footnote.count("\n") + 1) + 0.1 if footnote else 0.0
    height = legend_h + main_h + table_h + foot_h + 0.35
    with mpl.rc_context(journal_style()):
        fig = _new_figure((width, height), layout="constrained")
        fig.get_layout_engine().set(h_pad=0.03, w_pad=0.06, hspace=0.0, wspace=0.08)
        gs = fig.add_gridspec(2, len(panels), height_ratios=[main_h + legend_h, table_h])
        for j, p in enumerate(panels):
            ax = fig.add_subplot(gs[0, j])
            ax_rt = fig.add_subplot(gs[1, j])
            same = j > 0 and list(p.groups) == list(panels[0].groups) and [
                (p.labels or {}).get(g, g) for g in p.groups] == [
                (panels[0].labels or {}).get(g, g) for g in p.groups] and (
                p.colors or {}) == (panels[0].colors or {})
            _draw(ax, ax_rt, p, ticks, xmax, ci, xlabel, ylabel if j == 0 else None,
                  ci_label, row_labels=not same)
        if footnote:
            fig.text(0.01, 0.0, footnote, ha="left", va="bottom", fontsize=_FONT - 1,
                     color="0.25", linespacing=1.3)
            fig.get_layout_engine().set(rect=(0, foot_h / height, 1, 1 - foot_h / height))
    return fig


def tick_times(xmax: float, break_every: float = 12) -> list[float]:
    """The x ticks of :func:`km_figure` (times of the risk table)."""
    n = math.floor(xmax / break_every + 1e-9)
    return [break_every * i for i in range(n + 1)]
