"""Kaplan-Meier figures drawn from precomputed curves (survminer ``ggsurvplot`` layout).

The statistics layer computes the curves (R ``survfit``) and the risk table; this module only
draws them, so the figure shows exactly the numbers in the tables. One or more panels side by
side, each with: step curves with pointwise CI bands, ``+`` censor marks, a legend above the
panel, an annotation box (test and method text supplied by the caller) and a risk table under
the panel: number at risk with the cumulative number of events in brackets, columns on the x
ticks (survminer ``risk.table = "nrisk_cumevents"``).

Greyscale-safe: each group has its own colour *and* line style (``LINE_STYLES``), and the
legend and the risk-table labels carry both.

Curves stop where few patients remain at risk: with ``min_at_risk = m`` (default 10; 0 or
None = off) each curve (line, CI band and censor marks) is drawn only up to the last
observed time at which at least m patients were at risk (:func:`km_truncation`); the risk
table is not affected.  The truncation times are on the returned figure as
``fig.km_truncation`` (a DataFrame, one row per panel and group) so that the caption can
state them (:func:`truncation_note` gives a neutral sentence).
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

__all__ = ["DEFAULT_MIN_AT_RISK", "LINE_STYLES", "KMPanel", "km_figure", "km_truncation",
           "thin_marks", "truncation_note"]

#: solid, dashed, dotted, dash-dot: distinguishable without colour
LINE_STYLES: tuple[Any, ...] = ("-", (0, (5, 2)), (0, (1.2, 1.2)), (0, (6, 2, 1.2, 2)))

_FONT = 8.0
#: the width of a digit of the risk tables' numbers, in points (0.56 em in Arial and its
#: metric twins)
_DIGIT_PT = 0.56 * (_FONT - 0.5)
#: curves are drawn while at least this many patients are at risk
DEFAULT_MIN_AT_RISK = 10


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


def km_truncation(curves: pd.DataFrame, min_at_risk: int | None,
                  groups: Sequence[Any] | None = None) -> pd.DataFrame:
    """Where each curve stops when drawn only while >= ``min_at_risk`` patients are at risk.

    ``curves`` are KM tables with ``group, time, n_risk`` (R ``summary(survfit,
    censored=TRUE)``: ``n_risk`` at a time = number at risk just before it).  The number at
    risk is >= m up to and including the last time t_i with ``n_risk >= m`` and < m after
    it, so the curve is drawn on [0, t_i].  One row per group (in ``groups`` order, default
    the order of appearance): ``group``, ``min_at_risk``, ``truncated_at`` (t_i; NaN when
    the curve is drawn in full, i.e. never fewer than m at risk at an observed time; 0 when
    the group starts with fewer than m patients: nothing is drawn), ``last_time`` (last
    observed time of the curve), ``n_risk_after`` (number at risk just after t_i; NaN when
    not truncated).  ``min_at_risk`` 0 or None: nothing is truncated.

    Weighted curves (IPTW): their ``n_risk`` is a weighted sum; give the curves an
    ``n_risk_unweighted`` column (patients at risk) and it is used instead.
    """
    if min_at_risk is not None and (int(min_at_risk) != min_at_risk or min_at_risk < 0):
        raise ValueError(f"min_at_risk must be a whole number >= 0 or None, got {min_at_risk!r}")
    m = int(min_at_risk or 0)
    col = "n_risk_unweighted" if "n_risk_unweighted" in curves.columns else "n_risk"
    if m and col not in curves.columns:
        raise ValueError("KM curves need an 'n_risk' column to stop at min_at_risk "
                         f"(columns: {list(curves.columns)})")
    groups = list(pd.unique(curves["group"])) if groups is None else list(groups)
    rows = []
    for g in groups:
        sub = curves[curves["group"] == g].sort_values("time", kind="stable")
        t = sub["time"].to_numpy(float)
        last = float(t[-1]) if len(t) else np.nan
        cut = after = np.nan
        if m and len(t):
            nr = sub[col].to_numpy(float)
            ok = np.flatnonzero(nr >= m)
            if ok.size == 0:
                cut, after = 0.0, float(nr[0])
            elif ok[-1] < len(t) - 1:
                cut, after = float(t[ok[-1]]), float(nr[ok[-1] + 1])
        rows.append({"group": g, "min_at_risk": m, "truncated_at": cut, "last_time": last,
                     "n_risk_after": after})
    out = pd.DataFrame(rows, columns=["group", "min_at_risk", "truncated_at", "last_time",
                                      "n_risk_after"])
    out["group"] = out["group"].astype(object)
    return out


def truncation_note(trunc: pd.DataFrame, labels: Mapping[Any, str] | None = None,
                    unit: str = "months", digits: int = 1) -> str | None:
    """A caption sentence for :func:`km_truncation` / ``fig.km_truncation``, or None when
    no curve was truncated.  Example: "Curves are shown while at least 10 patients are at
    risk (A: up to 21.4 months; B: up to 18.0 months)." """
    cut = trunc[trunc["truncated_at"].notna()]
    if cut.empty:
        return None
    m = int(cut["min_at_risk"].iloc[0])
    parts = []
    for _, r in cut.iterrows():
        lab = str((labels or {}).get(r["group"], r["group"]))
        if "panel" in r.index and isinstance(r.get("panel_title"), str) and r["panel_title"]:
            lab = f"{r['panel_title']}, {lab}"
        parts.append(f"{lab}: not shown, fewer than {m} patients from the start"
                     if r["truncated_at"] == 0 else
                     f"{lab}: up to {r['truncated_at']:.{digits}f} {unit}")
    return (f"Curves are shown while at least {m} patients are at risk ("
            + "; ".join(parts) + ").")


#: censor marks are kept at most once per cell of this grid over a panel's plotting area
#: (x: the axis range, y: survival 0-1.03). A mark is 4.5 pt wide (about 19 pixels at 300
#: dpi, 1/60 of a 4-inch panel), so a cell of half a mark's width (x) and 1% of survival
#: (y) keeps a mark wherever patients were censored while marks no longer fuse into a solid
#: band along a curve at registry size (a pixel-sized grid kept up to 2,000 overlapping marks
#: per curve and drew the curve as a thick band at 10^5 patients). At most about 250 marks
#: per curve instead of the number of censored patients (hundreds of thousands of PDF
#: markers at registry size).
MARK_CELLS = (120, 100)


def thin_marks(time: np.ndarray, surv: np.ndarray, x_range: tuple[float, float],
               y_range: tuple[float, float] = (0.0, 1.03),
               cells: tuple[int, int] = MARK_CELLS) -> np.ndarray:
    """Boolean mask keeping the first mark (in the given order) of each grid cell.

    The grid divides ``x_range`` x ``y_range`` into ``cells`` (nx, ny) equal cells;
    marks outside the ranges keep their own cells (nothing is dropped for lying outside).
    """
    t = np.asarray(time, dtype=float)
    v = np.asarray(surv, dtype=float)
    keep = np.zeros(len(t), dtype=bool)
    if not len(t):
        return keep
    dx = (x_range[1] - x_range[0]) / cells[0]
    dy = (y_range[1] - y_range[0]) / cells[1]
    ix = np.floor((t - x_range[0]) / dx).astype(np.int64)
    iy = np.floor((v - y_range[0]) / dy).astype(np.int64)
    _, first = np.unique(np.stack([ix, iy], axis=1), axis=0, return_index=True)
    keep[first] = True
    return keep


def _steps(sub: pd.DataFrame, col: str, start: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.r_[0.0, sub["time"].to_numpy(float)]
    v = np.r_[start, sub[col].to_numpy(float)]
    return t, v


def _draw(ax: Any, ax_rt: Any, p: KMPanel, ticks: list[float], xmax: float, ci: bool,
          xlabel: str, ylabel: str | None, ci_label: str | None,
          row_labels: bool = True, trunc: pd.DataFrame | None = None) -> list[list[Any]]:
    groups = list(p.groups)
    labels = {g: str((p.labels or {}).get(g, g)) for g in groups}
    colors = {g: (p.colors or {}).get(g, DEFAULT_COLORS[i % len(DEFAULT_COLORS)])
              for i, g in enumerate(groups)}
    styles = {g: (p.linestyles or {}).get(g, LINE_STYLES[i % len(LINE_STYLES)])
              for i, g in enumerate(groups)}
    handles = []
    for g in groups:
        sub = p.curves[p.curves["group"] == g].sort_values("time", kind="stable")
        if trunc is not None:
            cut = trunc.loc[trunc["group"] == g, "truncated_at"]
            if len(cut) and pd.notna(cut.iloc[0]):
                sub = sub[sub["time"] <= cut.iloc[0]] if cut.iloc[0] > 0 else sub.iloc[:0]
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
            ct, cs = cens["time"].to_numpy(float), cens["surv"].to_numpy(float)
            keep = thin_marks(ct, cs, (-0.03 * xmax, 1.03 * xmax))  # see MARK_CELLS
            ax.plot(ct[keep], cs[keep], ls="none", marker="+", ms=4.5, mew=0.8,
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
    table: list[list[Any]] = []  # the numbers' texts, a row per group and table, on the ticks
    ax_rt.set_ylim(2 * n + 1.6, -0.6)
    ax_rt.set_xlim(-pad, xmax + pad)
    head = blended_transform_factory(ax_rt.transAxes, ax_rt.transData)
    for key, title, col in (("risk", "Number at risk", "n_risk"),
                            ("events", "Cumulative number of events", "cum_events")):
        ax_rt.text(0.0, rows_y[key][0] - 1, title, transform=head, ha="left", va="center",
                   fontsize=_FONT, fontweight="bold")
        for i, g in enumerate(groups):
            r = p.risk[p.risk["group"] == g].set_index("time")
            row = []
            for tv in ticks:
                txt = str(int(r.loc[tv, col])) if tv in r.index else "-"
                row.append(ax_rt.text(tv, rows_y[key][i], txt, ha="center", va="center",
                                      fontsize=_FONT - 0.5))
            table.append(row)
    ax_rt.set_yticks(rows_y["risk"] + rows_y["events"])
    ax_rt.set_yticklabels([labels[g] for g in groups] * 2 if row_labels else [])
    for tl, g in zip(ax_rt.get_yticklabels(), groups * 2, strict=True):
        tl.set_color(colors[g])
        tl.set_fontweight("bold")
    # the first column's numbers are centred on the axis start and reach left of it: the row
    # labels keep their distance from the widest (half its width)
    first = max((len(row[0].get_text()) for row in table), default=0)
    ax_rt.tick_params(axis="y", length=0, pad=max(10.0, 0.5 * first * _DIGIT_PT + 3))
    ax_rt.tick_params(axis="x", length=0, labelbottom=False)
    for sp in ax_rt.spines.values():
        sp.set_visible(False)
    return table


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
    min_at_risk: int | None = DEFAULT_MIN_AT_RISK,
) -> Figure:
    """Kaplan-Meier panels side by side, each with its risk table; ``footnote`` (e.g. the
    endpoint definition and the CI method) is printed under the figure. The ticks are
    ``0, break_every, ...`` up to ``xmax``; the risk tables must hold those times.

    ``min_at_risk`` (default 10; 0 or None = off): each curve is drawn only up to the last
    time with at least that many patients at risk (the curves need ``n_risk``); the risk
    table is unchanged.  The returned figure has ``km_truncation``: the rows of
    :func:`km_truncation` for every panel, with ``panel`` (0-based) and ``panel_title``."""
    if not panels:
        raise ValueError("no panel to draw")
    truncs = []
    for j, p in enumerate(panels):
        tr = km_truncation(p.curves, min_at_risk, p.groups)
        tr.insert(0, "panel_title", p.title or "")
        tr.insert(0, "panel", j)
        truncs.append(tr)
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
    tables = []
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
            tables.append((ax, ax_rt, _draw(ax, ax_rt, p, ticks, xmax, ci, xlabel,
                                             ylabel if j == 0 else None, ci_label,
                                             row_labels=not same, trunc=truncs[j])))
        if footnote:
            fig.text(0.01, 0.0, footnote, ha="left", va="bottom", fontsize=_FONT - 1,
                     color="0.25", linespacing=1.3)
            fig.get_layout_engine().set(rect=(0, foot_h / height, 1, 1 - foot_h / height))
        every = _risk_columns_every(fig, tables, ticks)
        if every > 1:  # numbers too wide for every tick: every k-th column, and its tick
            for ax, _, rows in tables:
                ax.set_xticks(ticks[::every])
                for row in rows:
                    for i, text in enumerate(row):
                        text.set_visible(i % every == 0)
    fig.km_ticks = ticks[::every]  # type: ignore[attr-defined]
    fig.km_truncation = pd.concat(truncs, ignore_index=True)  # type: ignore[attr-defined]
    return fig


def _risk_columns_every(fig: Figure, tables: list, ticks: list) -> int:
    """Every how many ticks the risk tables show a column: the smallest k at which, in every
    row of every panel, neighbouring numbers on every k-th tick keep a gap of half a digit,
    measured on the laid-out figure. 1 but for registry-sized counts: at 10^5 patients
    five-digit numbers on 12-month ticks ran into each other in two panels side by side."""
    if len(ticks) < 3:
        return 1
    renderer = fig.canvas.get_renderer()
    # measured on a trial layout; the axes are put back where they were, so that the saved
    # files are laid out from the same start as without the trial (byte-identical figures;
    # the public set_position would also take the axes out of the layout)
    before = [(ax, ax.get_position(original=True), ax.get_position()) for ax in fig.axes]
    fig.get_layout_engine().execute(fig)
    gap = 0.5 * _DIGIT_PT * fig.dpi / 72  # half a digit, in pixels
    rows = []
    for _, ax_rt, table in tables:
        x = ax_rt.transData.transform(np.c_[ticks, np.zeros(len(ticks))])[:, 0]
        for row in table:
            w = np.array([t.get_window_extent(renderer).width for t in row])
            rows.append((x, w))
    for ax, original, active in before:
        ax._set_position(original, which="original")
        ax._set_position(active, which="active")
    for every in range(1, len(ticks) - 1):
        if all(np.all(np.diff(x[::every]) >= (w[::every][1:] + w[::every][:-1]) / 2 + gap)
               for x, w in rows):
            return every
    return len(ticks) - 1


def tick_times(xmax: float, break_every: float = 12) -> list[float]:
    """The x ticks of :func:`km_figure` (times of the risk table)."""
    n = math.floor(xmax / break_every + 1e-9)
    return [break_every * i for i in range(n + 1)]
