"""Journal-style figures: Kaplan-Meier curves with a risk table, rate bar charts
with confidence intervals, and a STROBE/CONSORT-style flow diagram.

All functions build a :class:`matplotlib.figure.Figure` directly (Agg canvas,
no pyplot, no global rcParams changes: the journal style is applied through a
local ``rc_context``) and return it; nothing is written to disk except by
:func:`save_figure`, which produces a 300 dpi PNG and a vector PDF without
timestamps, so reruns are byte-identical.

Style: sans-serif 8-9 pt (the first installed of Arial, Helvetica, Liberation Sans,
DejaVu Sans; a fallback is logged, see :mod:`her2cohort.render.fonts`), fonts embedded in PDFs
as TrueType (``pdf.fonttype`` 42), no top/right spines, Okabe-Ito colour-blind-safe palette
(:data:`OKABE_ITO`, default group order :data:`DEFAULT_COLORS`).

One style per comparison group in every figure: the caller builds a palette once with
:func:`group_palette` (group level -> :class:`GroupStyle`: colour, line style, hatch, marker, so
figures also read in greyscale) and passes it to :func:`km_plot`, :func:`rate_bar_plot`,
:func:`dose_response_plot`. A second factor inside a group (e.g. anti-HER2 regimen) is shown by
lightness and hatching of the group's own colour (:func:`shade_styles`), never by borrowing
another group's colour.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.image as mpl_image
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch, Polygon, Rectangle

from .fonts import DEFAULT_SANS, resolve_font
from .format import format_estimate, format_int, format_p

__all__ = [
    "DEFAULT_COLORS",
    "DEFAULT_HATCHES",
    "DEFAULT_LINESTYLES",
    "OKABE_ITO",
    "GroupStyle",
    "ShadeStyle",
    "dose_response_plot",
    "flow_diagram",
    "forest_plot",
    "group_palette",
    "journal_style",
    "km_plot",
    "rate_bar_plot",
    "risk_table_counts",
    "RUG_MAX_TICKS",
    "rug_alpha",
    "rug_ticks",
    "save_figure",
    "shade_styles",
]

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}

#: Default colour order for groups (high-contrast Okabe-Ito colours first).
DEFAULT_COLORS: tuple[str, ...] = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)

#: Line styles for groups (solid, dashed, dotted, dash-dot): curves read in greyscale.
DEFAULT_LINESTYLES: tuple[Any, ...] = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (5, 1.5, 1, 1.5)),
                                       (0, (3, 1, 1, 1, 1, 1)), (0, (8, 2)))
#: Hatches for groups' bars and bands (first group plain).
DEFAULT_HATCHES: tuple[str, ...] = ("", "////", "\\\\\\\\", "xxxx", "....", "++++")
_DEFAULT_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P")


@dataclass(frozen=True)
class GroupStyle:
    """How one comparison group is drawn in every figure."""

    color: str
    linestyle: Any = "-"
    hatch: str = ""
    marker: str = "o"


@dataclass(frozen=True)
class ShadeStyle:
    """A level of a factor inside a group: the group colour mixed with white by ``lighten``
    (0 = the group colour, 1 = white) and a hatch."""

    lighten: float = 0.0
    hatch: str = ""


def group_palette(
    levels: Sequence[Any],
    colors: Mapping[Any, str] | Sequence[str] | None = None,
    *,
    linestyles: Mapping[Any, Any] | Sequence[Any] | None = None,
    hatches: Mapping[Any, str] | Sequence[str] | None = None,
    markers: Mapping[Any, str] | Sequence[str] | None = None,
) -> dict[Any, GroupStyle]:
    """Palette ``{level: GroupStyle}`` for the comparison groups, in ``levels`` order.

    Defaults: :data:`DEFAULT_COLORS` (Okabe-Ito blue, vermillion, ...),
    :data:`DEFAULT_LINESTYLES`, :data:`DEFAULT_HATCHES`. Build it once per study (e.g. from the
    config's group levels) and pass the same palette to every figure.
    """
    levels = list(levels)
    if not levels:
        raise ValueError("no group levels")
    if len(set(map(str, levels))) != len(levels):
        raise ValueError("duplicate group levels")
    col = _resolve(levels, colors, DEFAULT_COLORS, "colors")
    ls = _resolve(levels, linestyles, DEFAULT_LINESTYLES, "linestyles")
    ha = _resolve(levels, hatches, DEFAULT_HATCHES, "hatches")
    mk = _resolve(levels, markers, _DEFAULT_MARKERS, "markers")
    return {lv: GroupStyle(str(c), s, str(h), str(m))
            for lv, c, s, h, m in zip(levels, col, ls, ha, mk, strict=True)}


def shade_styles(
    levels: Sequence[Any],
    lighten: Sequence[float] = (0.0, 0.6, 0.3, 0.8),
    hatches: Sequence[str] = ("", "////", "....", "xxxx"),
) -> dict[Any, ShadeStyle]:
    """``{level: ShadeStyle}`` for a factor shown inside each group (e.g. overall, single,
    dual anti-HER2): first level in the full group colour, the next ones lighter and
    hatched."""
    levels = list(levels)
    if len(levels) > min(len(lighten), len(hatches)):
        raise ValueError(f"more than {min(len(lighten), len(hatches))} levels: pass lighten "
                         "and hatches")
    return {lv: ShadeStyle(float(li), str(h))
            for lv, li, h in zip(levels, lighten, hatches, strict=False)}


def _lighten(color: str, amount: float) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    if not 0 <= amount <= 1:
        raise ValueError("lighten must be in [0, 1]")
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _palette_for(
    groups: Sequence[Any],
    palette: Mapping[Any, GroupStyle] | None,
    colors: Mapping[Any, str] | Sequence[str] | None,
) -> list[GroupStyle]:
    if palette is not None:
        missing = [g for g in groups if g not in palette]
        if missing:
            raise ValueError(f"palette has no entry for {missing}")
        return [palette[g] for g in groups]
    if colors is not None:  # colours only: solid lines, as before
        return [GroupStyle(str(c)) for c in _resolve(groups, colors, DEFAULT_COLORS, "colors")]
    return list(group_palette(groups).values())


_BASE_FONT = 8.0

_STYLE: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"],
    "font.size": _BASE_FONT,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": _BASE_FONT,
    "ytick.labelsize": _BASE_FONT,
    "legend.fontsize": _BASE_FONT,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "axes.edgecolor": "black",
    "axes.labelcolor": "black",
    "xtick.color": "black",
    "ytick.color": "black",
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "xtick.major.size": 3.0,
    "ytick.major.size": 3.0,
    "lines.linewidth": 1.2,
    "mathtext.default": "regular",
    "axes.unicode_minus": True,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "her2cohort",
    "hatch.linewidth": 0.6,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "axes.facecolor": "white",
}


def journal_style(font: str | Sequence[str] = DEFAULT_SANS) -> dict[str, Any]:
    """The rcParams used by this module (a copy; use with ``matplotlib.rc_context``).

    ``font.sans-serif`` is the first installed font of ``font`` (fallback logged), then
    DejaVu Sans for glyphs the font lacks.
    """
    style = dict(_STYLE)
    fam = resolve_font(font)
    fams = [fam] + (["DejaVu Sans"] if fam != "DejaVu Sans" else [])
    # concrete family names (not the generic "sans-serif"): text created inside the style
    # keeps its font when drawn outside it, so measured and drawn text agree
    style["font.family"] = fams
    style["font.sans-serif"] = fams
    return style


def _style() -> dict[str, Any]:
    return journal_style()


def _new_figure(figsize: tuple[float, float], layout: str | None = None) -> Figure:
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_figure(
    fig: Figure,
    path_png: str | PathLike[str] | None,
    path_pdf: str | PathLike[str] | None,
    dpi: int = 300,
) -> None:
    """Save ``fig`` as a ``dpi`` PNG and a vector PDF, byte-identical across reruns.

    Timestamps and software-version metadata are removed from both files;
    fonts are embedded as TrueType (``pdf.fonttype`` 42) so text stays
    editable. Either path may be ``None`` to skip that format. Parent
    directories are created.

    The PNG is rendered by one draw at ``dpi`` instead of ``savefig``'s two for a figure with
    a layout engine (one to lay it out, one to render): the Agg canvas is drawn at ``dpi``,
    which runs the layout engine with the same renderer and dpi ``savefig`` lays it out with,
    and its buffer is encoded as ``savefig`` encodes it, so the file is the same. The PDF is
    laid out again in its own units (reusing the PNG's layout would move text by its
    hinting differences and can push the widest label off the page).
    """
    with mpl.rc_context(_style()):
        if path_png is not None:
            Path(path_png).parent.mkdir(parents=True, exist_ok=True)
            _save_png(fig, path_png, dpi)
        if path_pdf is not None:
            Path(path_pdf).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(
                path_pdf,
                format="pdf",
                metadata={
                    "Creator": None,
                    "Producer": None,
                    "CreationDate": None,
                    "ModDate": None,
                },
            )


def _save_png(fig: Figure, path: str | PathLike[str], dpi: int) -> None:
    """``fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})`` with one draw
    instead of two: the Agg canvas is drawn at ``dpi`` (running the layout engine in that
    draw) and its buffer written by :func:`matplotlib.image.imsave`, as ``savefig`` does."""
    rc = mpl.rcParams
    face = rc["savefig.facecolor"]
    canvas = fig.canvas
    if (not isinstance(canvas, FigureCanvasAgg) or rc["savefig.bbox"] == "tight"
            or rc["savefig.transparent"] or rc["savefig.edgecolor"] != "auto"
            or (face != "auto" and not np.allclose(to_rgba(face), fig.get_facecolor()))):
        # a setting savefig applies around its draw: let savefig do it
        fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
        return
    old_dpi = fig.dpi
    try:
        fig.dpi = dpi
        canvas.draw()
        mpl_image.imsave(path, canvas.buffer_rgba(), format="png", origin="upper", dpi=fig.dpi,
                         metadata={"Software": None})
    finally:
        fig.dpi = old_dpi


# --------------------------------------------------------------------------- helpers


def _resolve(
    groups: Sequence[Any],
    given: Mapping[Any, Any] | Sequence[Any] | None,
    default: Sequence[Any],
    what: str,
) -> list[Any]:
    if given is None:
        if len(groups) > len(default):
            raise ValueError(f"more than {len(default)} groups: pass {what} explicitly")
        return list(default[: len(groups)])
    if isinstance(given, Mapping):
        missing = [g for g in groups if g not in given]
        if missing:
            raise ValueError(f"{what} has no entry for {missing}")
        return [given[g] for g in groups]
    if isinstance(given, str):
        raise TypeError(f"{what} must be a mapping or a sequence, not a string")
    vals = list(given)
    if len(vals) != len(groups):
        raise ValueError(f"{what} has {len(vals)} entries for {len(groups)} groups")
    return vals


def _fmt_int(n: int) -> str:
    """Counts as in the tables: separators from 10,000 up (render.format.format_int)."""
    return format_int(n)


def _check_columns(df: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"columns not in DataFrame: {missing}")


# --------------------------------------------------------------------------- Kaplan-Meier


def _prepare_survival(
    df: pd.DataFrame, time: str, event: str, group: str, group_order: Sequence[Any]
) -> pd.DataFrame:
    _check_columns(df, [time, event, group])
    d = df[[time, event, group]].dropna()
    t = pd.to_numeric(d[time], errors="raise").astype(float)
    e = d[event]
    if e.dtype == bool:
        e = e.astype(int)
    e = pd.to_numeric(e, errors="raise")
    if not e.isin([0, 1]).all():
        raise ValueError(f"event column {event!r} must be 0/1 or boolean")
    if (t < 0).any():
        raise ValueError(f"time column {time!r} has negative values")
    extra = sorted({str(g) for g in d[group].unique() if g not in list(group_order)})
    if extra:
        raise ValueError(f"group values not in group_order: {extra}")
    return pd.DataFrame({"time": t.to_numpy(), "event": e.to_numpy(int),
                         "group": d[group].to_numpy()})


def risk_table_counts(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    group_order: Sequence[Any],
    times: Sequence[float],
) -> pd.DataFrame:
    """Numbers at risk: patients per group whose follow-up time is >= each of ``times``.

    Same convention as R ``summary(survfit(...), times = )$n.risk`` (a patient
    with an event or censoring exactly at ``t`` is still at risk at ``t``).
    Rows with a missing time, event or group are dropped, as in :func:`km_plot`.
    Returns an integer DataFrame, index ``group_order``, columns ``times``.
    """
    d = _prepare_survival(df, time, event, group, group_order)
    times_arr = np.asarray(list(times), dtype=float)
    data = {}
    for g in group_order:
        tg = np.sort(d.loc[d["group"] == g, "time"].to_numpy())
        data[g] = tg.size - np.searchsorted(tg, times_arr, side="left")
    out = pd.DataFrame.from_dict(data, orient="index", columns=list(times)).astype(int)
    out.index.name = group
    return out


def _km_confidence(kmf: Any, conf_type: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import norm

    surv = kmf.survival_function_.iloc[:, 0].to_numpy(float)
    if conf_type == "log-log":
        ci = kmf.confidence_interval_
        return ci.iloc[:, 0].to_numpy(float), ci.iloc[:, 1].to_numpy(float)
    if conf_type != "log":
        raise ValueError("conf_type must be 'log' (R survfit default) or 'log-log'")
    et = kmf.event_table
    d = et["observed"].to_numpy(float)
    n = et["at_risk"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (n * (n - d)), 0.0)
        se = np.sqrt(np.cumsum(term))
        z = norm.ppf(1 - alpha / 2)
        lower = surv * np.exp(-z * se)
        upper = np.minimum(1.0, surv * np.exp(z * se))
    bad = ~np.isfinite(se) | (surv <= 0)
    lower[bad] = np.nan
    upper[bad] = np.nan
    return lower, upper


def km_plot(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    group_order: Sequence[Any],
    labels: Mapping[Any, str] | Sequence[str] | None = None,
    colors: Mapping[Any, str] | Sequence[str] | None = None,
    xlabel: str = "Months",
    ylabel: str = "Survival probability",
    break_every: float = 12,
    xmax: float | None = None,
    annotation: str | None = None,
    risk_table: bool = True,
    *,
    ci: bool = True,
    conf_type: str = "log",
    alpha: float = 0.05,
    censor_marks: bool = True,
    annotation_loc: str = "lower left",
    legend_title: str | None = None,
    ymin: float = 0.0,
    figsize: tuple[float, float] | None = None,
    palette: Mapping[Any, GroupStyle] | None = None,
) -> Figure:
    """Kaplan-Meier curves per group with censor marks, 95% CI and a risk table.

    ``palette`` (:func:`group_palette`) gives each group its colour and line style (the same
    in every figure); without it, ``colors`` (solid lines) or the default palette is used.

    survminer-like layout: step curves (lifelines ``KaplanMeierFitter``) with
    ``+`` censor marks (at most one per cell of :data:`her2cohort.render.km.MARK_CELLS`
    over the panel, :func:`her2cohort.render.km.thin_marks`), optional shaded pointwise CI
    (``conf_type="log"`` is R ``survfit``'s default; ``"log-log"`` is lifelines'
    default), legend above the panel, an annotation box (text supplied by the caller, e.g.
    log-rank p and Cox HR) and a "Number at risk" table under the panel whose columns sit
    exactly on the x ticks (``0, break_every, ...`` up to ``xmax``, which
    defaults to the largest time rounded up to a multiple of ``break_every``).

    ``ymin`` truncates the y axis (e.g. 0.5; say so in the legend of the
    figure). The numbers at risk are those of :func:`risk_table_counts`; they are
    attached to the figure as ``fig._her2cohort_risk_table`` (DataFrame, index
    ``group_order``, columns tick times) whether or not the table is drawn.
    """
    from lifelines import KaplanMeierFitter

    from .km import thin_marks

    group_order = list(group_order)
    if not group_order:
        raise ValueError("group_order is empty")
    if break_every is None or break_every <= 0:
        raise ValueError("break_every must be > 0")
    d = _prepare_survival(df, time, event, group, group_order)
    lab = [str(v) for v in _resolve(group_order, labels, [str(g) for g in group_order], "labels")]
    styles = _palette_for(group_order, palette, colors)
    col = [st.color for st in styles]
    if xmax is None:
        tmax = float(d["time"].max()) if len(d) else float(break_every)
        xmax = max(break_every, math.ceil(tmax / break_every - 1e-9) * break_every)
    ticks = np.arange(0, xmax + break_every * 1e-6, break_every)
    if np.allclose(ticks, np.round(ticks)):
        tick_values: list[float] = [int(v) for v in np.rint(ticks)]
    else:
        tick_values = [float(t) for t in ticks]
    counts = risk_table_counts(d, "time", "event", "group", group_order, tick_values)
    counts.index.name = group

    n_groups = len(group_order)
    main_h = 2.9
    table_h = 0.32 + 0.19 * n_groups if risk_table else 0.0
    with mpl.rc_context(_style()):
        meas = _Measurer()
        label_w = max(meas.size(s, _BASE_FONT, "bold")[0] for s in lab) if risk_table else 0.0
        legend_w = sum(meas.size(s, _BASE_FONT)[0] + 0.45 for s in lab) + 0.1 * n_groups
    panel_w = 4.2
    legend_rows = 1 if legend_w <= panel_w else n_groups
    if figsize is None:
        width = max(5.0, panel_w + 0.15 + max(0.55, label_w + 0.15))
        figsize = (width, 0.4 + 0.17 * legend_rows + main_h + table_h
                   + (0.2 if legend_title else 0.0))

    with mpl.rc_context(_style()):
        fig = _new_figure(figsize, layout="constrained")
        fig.get_layout_engine().set(h_pad=0.03, w_pad=0.03, hspace=0.0)
        if risk_table:
            gs = fig.add_gridspec(2, 1, height_ratios=[main_h, table_h])
            ax = fig.add_subplot(gs[0])
            ax_rt = fig.add_subplot(gs[1], sharex=ax)
        else:
            ax = fig.add_subplot(1, 1, 1)
            ax_rt = None

        handles = []
        for g, name, st in zip(group_order, lab, styles, strict=True):
            c = st.color
            sub = d.loc[d["group"] == g]
            handles.append(Line2D([], [], color=c, lw=1.4, ls=st.linestyle, label=name))
            if sub.empty:
                continue
            kmf = KaplanMeierFitter().fit(sub["time"], sub["event"], label=name)
            t = kmf.survival_function_.index.to_numpy(float)
            s = kmf.survival_function_.iloc[:, 0].to_numpy(float)
            if ci:
                lo, hi = _km_confidence(kmf, conf_type, alpha)
                ax.fill_between(t, lo, hi, step="post", color=c, alpha=0.15, lw=0,
                                zorder=1)
            ax.step(t, s, where="post", color=c, lw=1.3, ls=st.linestyle, zorder=3,
                    solid_joinstyle="miter")
            if censor_marks:
                et = kmf.event_table
                cens_t = et.index[et["censored"].to_numpy() > 0].to_numpy(float)
                if cens_t.size:
                    cens_s = kmf.survival_function_.loc[cens_t].iloc[:, 0].to_numpy(float)
                    # one mark per cell of km.MARK_CELLS over the panel, as render.km does:
                    # a few hundred marks per curve, not one per censoring time
                    keep = thin_marks(cens_t, cens_s, (-0.03 * xmax, 1.03 * xmax),
                                      (ymin, 1 + 0.03 * (1 - ymin)))
                    ax.plot(cens_t[keep], cens_s[keep], ls="none", marker="+", ms=4.5,
                            mew=0.8, color=c, zorder=4)

        pad = 0.03 * xmax
        ax.set_xlim(-pad, xmax + pad)
        if not 0 <= ymin < 1:
            raise ValueError("ymin must be in [0, 1)")
        yticks = [v for v in np.round(np.arange(0, 1.0001, 0.1 if ymin >= 0.5 else 0.2), 2)
                  if v >= ymin - 1e-9]
        ax.set_ylim(ymin, 1 + 0.03 * (1 - ymin))
        ax.set_yticks(yticks)
        ax.spines["left"].set_bounds(yticks[0], 1)
        ax.set_xticks(tick_values)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        leg = ax.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=n_groups if legend_rows == 1 else 1,
            frameon=False,
            title=legend_title,
            handlelength=2.6,
            borderaxespad=0.2,
            columnspacing=1.5,
        )
        leg._legend_box.align = "left"
        if annotation:
            xy = {
                "lower left": (0.03, 0.04, "left", "bottom"),
                "lower right": (0.97, 0.04, "right", "bottom"),
                "upper right": (0.97, 0.96, "right", "top"),
                "center left": (0.03, 0.5, "left", "center"),
            }
            if annotation_loc not in xy:
                raise ValueError(f"annotation_loc must be one of {sorted(xy)}")
            x0, y0, ha, va = xy[annotation_loc]
            ax.text(x0, y0, annotation, transform=ax.transAxes, ha=ha, va=va,
                    fontsize=_BASE_FONT, linespacing=1.35, zorder=5,
                    bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "0.55",
                          "lw": 0.6})

        if ax_rt is not None:
            ax_rt.set_ylim(n_groups - 0.5, -0.5)
            for i, g in enumerate(group_order):
                for tv in tick_values:
                    ax_rt.text(tv, i, _fmt_int(counts.loc[g, tv]), ha="center",
                               va="center", fontsize=_BASE_FONT, color="black")
            ax_rt.set_yticks(range(n_groups))
            ax_rt.set_yticklabels(lab)
            for tl, c in zip(ax_rt.get_yticklabels(), col, strict=True):
                tl.set_color(c)
                tl.set_fontweight("bold")
            ax_rt.tick_params(axis="y", length=0, pad=8)
            ax_rt.tick_params(axis="x", length=0, labelbottom=False)
            for sp in ax_rt.spines.values():
                sp.set_visible(False)
            ax_rt.set_title("Number at risk", loc="left", fontsize=_BASE_FONT,
                            fontweight="bold", pad=3)
            ax_rt.patch.set_visible(False)
            # the shared x axis would otherwise hide the main panel's tick labels
            ax.tick_params(axis="x", labelbottom=True)

    fig._her2cohort_risk_table = counts  # type: ignore[attr-defined]
    return fig


# --------------------------------------------------------------------------- rate bars


def rate_bar_plot(
    rates: pd.DataFrame,
    x: str,
    pct: str,
    lower: str,
    upper: str,
    hue: str | None = None,
    *,
    events: str = "events",
    n: str = "n",
    x_order: Sequence[Any] | None = None,
    hue_order: Sequence[Any] | None = None,
    x_labels: Mapping[Any, str] | None = None,
    hue_labels: Mapping[Any, str] | None = None,
    colors: Mapping[Any, str] | Sequence[str] | None = None,
    xlabel: str | None = None,
    ylabel: str = "pCR rate (%)",
    annotation: str | None = None,
    legend_title: str | None = None,
    figsize: tuple[float, float] | None = None,
    palette: Mapping[Any, GroupStyle] | None = None,
    hue_styles: Mapping[Any, ShadeStyle] | None = None,
    note: str | None = None,
) -> Figure:
    """Bar chart of rates (in percent) with 95% CI error bars and ``n/N`` labels.

    ``rates`` has one row per bar with columns ``x``, ``pct``, ``lower``,
    ``upper`` (all percentages, 0-100), ``events`` and ``n``, and optionally
    ``hue`` for grouped bars (e.g. HER2 group x anti-HER2 regimen).

    Colours: with ``palette`` (:func:`group_palette`, keyed by the ``x`` values, i.e. the
    comparison groups) every bar takes its group's colour; ``hue`` levels inside a group are
    shown by ``hue_styles`` (:func:`shade_styles`: lighter tint + hatch of the same colour,
    legend in neutral grey), so groups keep one colour across all figures and the chart reads
    in greyscale. Without ``palette`` and ``colors``, ``group_palette(x_order)`` is used.
    With ``colors`` only (older calls), colours follow ``hue`` when given, else ``x``
    (mapping value -> colour or a list in order).

    ``annotation`` (e.g. test results) is drawn in a box at the top left of the panel; the y
    axis is extended (measured after layout, repeated until it holds) so that the box never
    covers a bar, an error bar or an ``n/N`` label, whatever the sample size. ``note`` (e.g.
    ``"pCR: ypT0/is ypN0. Error bars: 95% Wilson score CI."``) is printed under the panel.
    Bar positions and label texts are attached as ``fig._her2cohort_bars`` (DataFrame).
    """
    cols = [x, pct, lower, upper, events, n] + ([hue] if hue else [])
    _check_columns(rates, cols)
    r = rates.loc[:, cols].copy()
    xs = list(x_order) if x_order is not None else list(pd.unique(r[x]))
    hs = (list(hue_order) if hue_order is not None else list(pd.unique(r[hue]))) if hue else [None]
    key_cols = [x, hue] if hue else [x]
    if r.duplicated(key_cols).any():
        raise ValueError(f"rates has duplicate rows for {key_cols}")
    x_lab = [str((x_labels or {}).get(v, v)) for v in xs]
    h_lab = [str((hue_labels or {}).get(v, v)) for v in hs] if hue else []
    if palette is None and colors is None:
        palette = group_palette(xs)  # groups keep their default colours, as in km_plot
    if palette is not None:
        gstyles = _palette_for(xs, palette, None)
        if hue:
            shades = hue_styles if hue_styles is not None else shade_styles(hs)
            missing = [h for h in hs if h not in shades]
            if missing:
                raise ValueError(f"hue_styles has no entry for {missing}")
            sh = [shades[h] for h in hs]
        else:
            sh = [ShadeStyle(0.0, st.hatch) for st in gstyles]
    else:
        col = _resolve(hs if hue else xs, colors, DEFAULT_COLORS, "colors")

    nh = len(hs)
    group_w = 0.8
    bar_w = group_w / nh

    recs = []
    for i, xv in enumerate(xs):
        for j, hv in enumerate(hs):
            sel = r[x] == xv
            if hue:
                sel &= r[hue] == hv
            if not sel.any():
                continue
            row = r.loc[sel].iloc[0]
            if palette is not None:
                shade = sh[j] if hue else sh[i]
                color: Any = _lighten(gstyles[i].color, shade.lighten)
                hatch = shade.hatch
            else:
                color, hatch = (col[j] if hue else col[i]), ""
            recs.append({
                "x": xv, "hue": hv,
                "pos": i - group_w / 2 + bar_w * (j + 0.5),
                "pct": float(row[pct]), "lower": float(row[lower]), "upper": float(row[upper]),
                "label": f"{_fmt_int(row[events])}/{_fmt_int(row[n])}",
                "color": color, "hatch": hatch,
            })
    bars = pd.DataFrame(recs)
    if bars.empty:
        raise ValueError("no bars to draw")

    with mpl.rc_context(_style()):
        meas = _Measurer()
        if figsize is None:
            # size the panel so that n/N labels of neighbouring bars, the legend and
            # the annotation box all fit (text measured with the renderer)
            label_w = max(meas.size(t, _BASE_FONT)[0] for t in bars["label"])
            xlab_w = max(meas.size(t, _BASE_FONT)[0] for t in x_lab)
            unit = max((label_w + 0.08) / (bar_w * 0.92), xlab_w + 0.15, 0.45)
            ax_w = unit * (len(xs) + 0.2)
            if annotation:
                ax_w = max(ax_w, meas.size(annotation, _BASE_FONT)[0] * 1.06 + 0.35)
            if hue:
                items_w = [meas.size(t, _BASE_FONT)[0] + 0.45 for t in h_lab]
                legend_w = sum(items_w) + 0.15 * (nh - 1)
                if legend_w <= max(ax_w, 4.5):
                    ax_w = max(ax_w, legend_w)
                else:
                    ax_w = max(ax_w, max(items_w))
            figsize = (max(2.4, ax_w + 0.75), 3.0)
            if annotation:
                n_lines = annotation.count("\n") + 1
                ann_h = n_lines * _BASE_FONT * 1.35 / 72 + 0.2
                figsize = (figsize[0], max(figsize[1], 2.0 + 1.6 * ann_h))
        note_txt = meas.wrap(note, figsize[0] - 0.15, _BASE_FONT - 1) if note else None

    top_data = float(np.nanmax(np.fmax(bars["upper"].to_numpy(), bars["pct"].to_numpy())))
    ytop = max(10.0, math.ceil((top_data + 9.0) / 10.0) * 10.0)

    with mpl.rc_context(_style()):
        fig = _new_figure(figsize, layout="constrained")
        ax = fig.add_subplot(1, 1, 1)
        ax.bar(bars["pos"], bars["pct"], width=bar_w * 0.92, color=list(bars["color"]),
               hatch=None, edgecolor="black", linewidth=0.6, zorder=2)
        for patch, h in zip(ax.patches, bars["hatch"], strict=True):
            if h:
                patch.set_hatch(h)
        lo = (bars["pct"] - bars["lower"]).clip(lower=0)
        hi = (bars["upper"] - bars["pct"]).clip(lower=0)
        ax.errorbar(bars["pos"], bars["pct"], yerr=[lo, hi], fmt="none", ecolor="black",
                    elinewidth=0.8, capsize=2.5, capthick=0.8, zorder=3)
        label_artists = []
        for _, b in bars.iterrows():
            ytxt = np.nanmax([b["upper"], b["pct"]]) + 1.5
            label_artists.append(ax.text(b["pos"], ytxt, b["label"], ha="center", va="bottom",
                                         fontsize=_BASE_FONT, zorder=4))
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels(x_lab)
        ax.set_xlim(-0.6, len(xs) - 0.4)
        ax.tick_params(axis="x", length=0)
        ax.set_ylabel(ylabel)
        if xlabel:
            ax.set_xlabel(xlabel)
        if hue:
            if palette is not None:  # regimen legend in neutral grey: lightness + hatch only
                handles = [Patch(facecolor=_lighten("#4D4D4D", s.lighten), hatch=s.hatch or None,
                                 edgecolor="black", linewidth=0.6, label=lab)
                           for s, lab in zip(sh, h_lab, strict=True)]
            else:
                handles = [Patch(facecolor=c, edgecolor="black", linewidth=0.6, label=lab)
                           for c, lab in zip(col, h_lab, strict=True)]
            legend_w = sum(meas.size(t, _BASE_FONT)[0] + 0.45 for t in h_lab)
            one_row = legend_w + 0.15 * (nh - 1) <= figsize[0] - 0.6
            ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                      ncol=nh if one_row else 1, frameon=False,
                      title=legend_title, borderaxespad=0.2, handlelength=1.6,
                      handleheight=1.1)
        if note_txt:
            fig.supxlabel(note_txt, x=0.01, ha="left", fontsize=_BASE_FONT - 1,
                          linespacing=1.3)
        ann = None
        if annotation:
            ann = ax.text(0.03, 0.97, annotation, transform=ax.transAxes, ha="left", va="top",
                          fontsize=_BASE_FONT, linespacing=1.35, zorder=5,
                          bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "0.55",
                                "lw": 0.6})

        def set_y(top: float) -> None:
            ax.set_ylim(0, top)
            step = 20 if top > 50 else 10
            yt = np.arange(0, min(100.0, top) + 0.1, step)
            ax.set_yticks(yt)
            ax.spines["left"].set_bounds(0, yt[-1])

        set_y(ytop)
        if ann is not None:
            # raise the top of the y axis until everything drawn from the data (bars, error
            # bars, n/N labels) lies below the annotation box, measured after layout
            for _ in range(30):
                fig.draw_without_rendering()  # the layout, no pixels
                rend = fig.canvas.get_renderer()
                box = ann.get_bbox_patch().get_window_extent(rend)
                data_top = max(
                    [t.get_window_extent(rend).y1 for t in label_artists]
                    + [ax.transData.transform((0, v))[1]
                       for v in np.fmax(bars["upper"], bars["pct"])]
                )
                if data_top + 2 < box.y0:
                    break
                y_box = ax.transData.inverted().transform((0, box.y0))[1]
                y_need = ax.transData.inverted().transform((0, data_top + 4))[1]
                ytop = ytop * max(1.05, y_need / max(y_box, 1e-9))
                ytop = math.ceil(ytop / 10.0) * 10.0
                set_y(ytop)
            else:  # pragma: no cover - the loop always converges for finite data
                raise RuntimeError("could not place the annotation clear of the bars")
    fig._her2cohort_bars = bars  # type: ignore[attr-defined]
    return fig


# --------------------------------------------------------------------------- flow diagram

_FLOW_FONT = 8.0
_FLOW_PAD_X = 0.09  # inches
_FLOW_PAD_Y = 0.07


class _Measurer:
    """Measures rendered text size in inches with the Agg renderer."""

    def __init__(self, dpi: float = 100.0) -> None:
        self.fig = _new_figure((8, 8))
        self.fig.set_dpi(dpi)
        self.renderer = self.fig.canvas.get_renderer()
        self.dpi = dpi
        self._sizes: dict[tuple[str, float, str, str], tuple[float, float]] = {}

    def size(self, text: str, fontsize: float, weight: str = "normal") -> tuple[float, float]:
        # remembered per text: wrapping measures each accepted line twice, and the font is
        # fixed for a measurer's lifetime except through rcParams (hence the family in the key)
        key = (text, float(fontsize), str(weight),
               str((mpl.rcParams["font.family"], mpl.rcParams["font.sans-serif"])))
        hit = self._sizes.get(key)
        if hit is not None:
            return hit
        t = self.fig.text(0, 0, text, fontsize=fontsize, fontweight=weight, linespacing=1.25)
        bb = t.get_window_extent(self.renderer)
        t.remove()
        self._sizes[key] = out = (bb.width / self.dpi, bb.height / self.dpi)
        return out

    def wrap(self, text: str, width: float, fontsize: float, weight: str = "normal") -> str:
        """Greedy word wrap so that every line is at most ``width`` inches wide.

        ``"n = 123"`` is never split across lines.
        """
        nbsp = "\u00a0"
        text = re.sub(r"\bn = (?=[\d,]+)", f"n{nbsp}={nbsp}", str(text))
        return self._wrap(text, width, fontsize, weight).replace(nbsp, " ")

    def _wrap(self, text: str, width: float, fontsize: float, weight: str) -> str:
        out: list[str] = []
        for para in text.split("\n"):
            words = para.split(" ")
            line = ""
            for word in words:
                cand = word if not line else f"{line} {word}"
                if self.size(cand, fontsize, weight)[0] <= width or not line:
                    line = cand
                else:
                    out.append(line)
                    line = word
                # a single word wider than the box: hard-break it
                while self.size(line, fontsize, weight)[0] > width and len(line) > 1:
                    cut = len(line) - 1
                    while cut > 1 and self.size(line[:cut] + "-", fontsize, weight)[0] > width:
                        cut -= 1
                    out.append(line[:cut] + "-")
                    line = line[cut:]
            out.append(line)
        return "\n".join(out)


def _validate_flow(flow: pd.DataFrame) -> pd.DataFrame:
    _check_columns(flow, ["step", "kind", "label", "n_before", "n_excluded", "n_after"])
    f = flow.sort_values("step", kind="stable").reset_index(drop=True)
    if f.empty or f.loc[0, "kind"] != "start":
        raise ValueError("the first flow row must have kind 'start'")
    bad_kind = sorted(set(f["kind"]) - {"start", "quarantine", "exclude"})
    if bad_kind or (f["kind"] == "start").sum() != 1:
        raise ValueError(f"kind must be one 'start' then 'quarantine'/'exclude' rows: {bad_kind}")
    prev = None
    for _, row in f.iterrows():
        nb, ne, na = int(row["n_before"]), int(row["n_excluded"]), int(row["n_after"])
        if row["kind"] != "start" and na != nb - ne:
            raise ValueError(f"step {row['step']}: n_after {na} != n_before {nb} - {ne}")
        if prev is not None and nb != prev:
            raise ValueError(f"step {row['step']}: n_before {nb} != previous n_after {prev}")
        prev = na
    return f


def flow_diagram(
    flow: pd.DataFrame,
    final_groups: Sequence[tuple[str, int]],
    title: str | None = None,
    *,
    width: float = 6.3,
    side_prefix: Mapping[str, str] | None = None,
) -> Figure:
    """STROBE/CONSORT-style vertical flow chart of cohort selection.

    ``flow`` has ordered rows (``step``) with ``kind`` ("start" first, then
    "exclude" or "quarantine"), ``label``, ``n_before``, ``n_excluded``,
    ``n_after`` and optionally ``detail`` (multi-line text, e.g. a per-reason
    or per-centre breakdown) and ``after_label`` (text of the main box after
    the step, default just ``n = ...``). The start box reads
    ``"<label> (n = N)"``; each later step gives a side box ``"Excluded:
    <label> (n = k)"`` (dashed ``"Quarantined: ..."`` for quarantine rows)
    branching off the main arrow, then a main box with the remaining ``n``;
    ``final_groups`` ``[(name, n), ...]`` become the bottom row of boxes and
    must add up to the last ``n_after``.

    Text is measured with the renderer and word-wrapped to the box widths, and
    the figure height grows with the number of steps, so text never overflows
    its box. Box texts and extents (inches, y downwards) are attached as
    ``fig._her2cohort_flow_boxes`` (list of dicts with ``kind``, ``text``,
    ``box``).
    """
    f = _validate_flow(flow)
    finals = [(str(name), int(k)) for name, k in final_groups]
    if not finals:
        raise ValueError("final_groups is empty")
    last_n = int(f["n_after"].iloc[-1])
    if sum(k for _, k in finals) != last_n:
        raise ValueError(
            f"final_groups add up to {sum(k for _, k in finals)}, but the last step leaves "
            f"{last_n}; add an exclusion step for the difference"
        )
    prefixes = {"exclude": "Excluded", "quarantine": "Quarantined"}
    prefixes.update(side_prefix or {})

    margin = 0.12
    gap_col = 0.3
    n_final = len(finals)
    final_gap = 0.25
    final_w_min = 1.5
    width = max(width, 2 * margin + n_final * final_w_min + (n_final - 1) * final_gap)
    main_w = min(2.5, (width - 2 * margin - gap_col) * 0.45)
    side_w = width - 2 * margin - gap_col - main_w
    main_x0 = margin
    main_cx = main_x0 + main_w / 2
    side_x0 = main_x0 + main_w + gap_col
    min_gap = 0.32  # vertical arrow length between main boxes without a side box
    side_margin = 0.1

    with mpl.rc_context(_style()):
        meas = _Measurer()
        inner_main = main_w - 2 * _FLOW_PAD_X
        inner_side = side_w - 2 * _FLOW_PAD_X

        def box_text(
            text: str, inner: float, weight: str = "normal", detail: str | None = None
        ) -> tuple[str, float]:
            # small safety margin: glyph hinting differs slightly between dpis
            wrapped = meas.wrap(text, inner - 0.04, _FLOW_FONT, weight)
            if detail:
                indent = "    "
                ind_w = meas.size(indent + "x", _FLOW_FONT)[0] - meas.size("x", _FLOW_FONT)[0]
                lines = meas.wrap(detail, inner - 0.04 - ind_w, _FLOW_FONT).split("\n")
                wrapped += "\n" + "\n".join(indent + ln for ln in lines)
            return wrapped, meas.size(wrapped, _FLOW_FONT, weight)[1] + 2 * _FLOW_PAD_Y

        items: list[dict[str, Any]] = []  # boxes in drawing order
        y = margin
        title_h = 0.0
        title_txt = None
        if title:
            title_txt = meas.wrap(title, width - 2 * margin, 9, "bold")
            title_h = meas.size(title_txt, 9, "bold")[1] + 0.15
        y += title_h

        start = f.iloc[0]
        txt, h = box_text(f"{start['label']} (n = {_fmt_int(start['n_after'])})", inner_main)
        items.append({"kind": "start", "text": txt, "box": (main_x0, y, main_x0 + main_w, y + h),
                      "align": "center"})
        y += h
        for _, row in f.iloc[1:].iterrows():
            label = f"{prefixes.get(row['kind'], 'Excluded')}: {row['label']} " \
                    f"(n = {_fmt_int(row['n_excluded'])})"
            detail = row.get("detail") if "detail" in f.columns else None
            detail = detail.strip("\n") if isinstance(detail, str) and detail.strip() else None
            stxt, sh = box_text(label, inner_side, detail=detail)
            seg = max(min_gap, sh + 2 * side_margin)
            sy0 = y + (seg - sh) / 2
            items.append({"kind": str(row["kind"]), "text": stxt,
                          "box": (side_x0, sy0, side_x0 + side_w, sy0 + sh), "align": "left",
                          "branch_y": y + seg / 2, "step": int(row["step"])})
            y += seg
            after = row.get("after_label") if "after_label" in f.columns else None
            n_txt = f"n = {_fmt_int(row['n_after'])}"
            main_label = (f"{after} ({n_txt})" if isinstance(after, str) and after.strip()
                          else n_txt)
            mtxt, mh = box_text(main_label, inner_main)
            items.append({"kind": "main", "text": mtxt,
                          "box": (main_x0, y, main_x0 + main_w, y + mh), "align": "center",
                          "step": int(row["step"])})
            y += mh

        # final groups
        last_bottom = y
        y += 0.42
        avail = width - 2 * margin
        if n_final == 1:  # straight below the main column
            fw, fx0 = main_w, main_x0
        else:
            fw = min(2.3, (avail - (n_final - 1) * final_gap) / n_final)
            total_w = n_final * fw + (n_final - 1) * final_gap
            fx0 = margin + (avail - total_w) / 2
        ftexts = [box_text(f"{name} (n = {_fmt_int(k)})", fw - 2 * _FLOW_PAD_X, "bold")
                  for name, k in finals]
        fh = max(h for _, h in ftexts)
        for i, (ftxt, _) in enumerate(ftexts):
            x0 = fx0 + i * (fw + final_gap)
            items.append({"kind": "final", "text": ftxt, "box": (x0, y, x0 + fw, y + fh),
                          "align": "center", "weight": "bold"})
        y += fh
        height = y + margin

        fig = _new_figure((width, height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.axis("off")

        def arrow(p0: tuple[float, float], p1: tuple[float, float]) -> None:
            ax.add_patch(FancyArrowPatch(p0, p1, arrowstyle="-|>", mutation_scale=8,
                                         lw=0.8, color="black", shrinkA=0, shrinkB=0))

        if title_txt:
            ax.text(margin, margin, title_txt, ha="left", va="top", fontsize=9,
                    fontweight="bold", linespacing=1.25)

        boxes_out = []
        prev_main_bottom = None
        for it in items:
            x0, y0, x1, y1 = it["box"]
            dashed = it["kind"] == "quarantine"
            patch = Rectangle((x0, y0), x1 - x0, y1 - y0, fc="white", ec="black",
                              lw=0.8, ls=(0, (3, 2)) if dashed else "-", zorder=2)
            ax.add_patch(patch)
            if it["align"] == "left":
                tx, ha = x0 + _FLOW_PAD_X, "left"
            else:
                tx, ha = (x0 + x1) / 2, "center"
            text = ax.text(tx, (y0 + y1) / 2, it["text"], ha=ha, va="center",
                           fontsize=_FLOW_FONT, fontweight=it.get("weight", "normal"),
                           linespacing=1.25, multialignment=ha, zorder=3)
            boxes_out.append({"kind": it["kind"], "text": it["text"], "box": it["box"],
                              "patch": patch, "artist": text})
            if it["kind"] in ("start", "main"):
                if prev_main_bottom is not None:
                    arrow((main_cx, prev_main_bottom), (main_cx, y0))
                prev_main_bottom = y1
            elif it["kind"] != "final":
                arrow((main_cx, it["branch_y"]), (x0, it["branch_y"]))

        # branch to final groups
        centres = [(b["box"][0] + b["box"][2]) / 2 for b in boxes_out if b["kind"] == "final"]
        ftop = next(b["box"][1] for b in boxes_out if b["kind"] == "final")
        ymid = last_bottom + 0.2
        if n_final == 1:
            arrow((main_cx, last_bottom), (centres[0], ftop))
        else:
            ax.plot([main_cx, main_cx], [last_bottom, ymid], color="black", lw=0.8,
                    solid_capstyle="butt")
            ax.plot([min(centres), max(centres)], [ymid, ymid], color="black", lw=0.8,
                    solid_capstyle="projecting")
            if not min(centres) <= main_cx <= max(centres):
                ax.plot([main_cx, min(centres) if main_cx < min(centres) else max(centres)],
                        [ymid, ymid], color="black", lw=0.8)
            for cx in centres:
                arrow((cx, ymid), (cx, ftop))

    fig._her2cohort_flow_boxes = boxes_out  # type: ignore[attr-defined]
    return fig


# --------------------------------------------------------------------------- forest plot

_Z975 = 1.959963984540054
_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _tick_text(v: float) -> str:
    return f"{v:g}"


def _forest_ticks(x0: float, x1: float, panel_w: float, meas: _Measurer) -> list[float]:
    """Log-axis ticks 1-2-5, else 1-5, else decades: the densest set whose labels do not
    touch at this panel width (in inches)."""
    sets = [(1.0, 2.0, 5.0), (1.0, 5.0), (1.0,)]
    span = math.log(x1) - math.log(x0)
    for mult in sets:
        ticks = [t for t in _LOG_TICKS if x0 - 1e-12 <= t <= x1 + 1e-12
                 and any(math.isclose(t / 10 ** math.floor(math.log10(t) + 1e-9), m)
                         for m in mult)]
        pos = [panel_w * (math.log(t) - math.log(x0)) / span for t in ticks]
        wid = [meas.size(_tick_text(t), _BASE_FONT)[0] for t in ticks]
        if all(pos[i + 1] - pos[i] >= (wid[i] + wid[i + 1]) / 2 + 0.08
               for i in range(len(ticks) - 1)):
            return ticks
    return ticks


def forest_plot(
    df: pd.DataFrame,
    *,
    variable: str = "variable",
    level: str = "level",
    estimate: str = "or",
    lower: str = "lower",
    upper: str = "upper",
    se: str | None = None,
    text_columns: Mapping[str, str] | None = None,
    p_interaction: str | None = "p_interaction",
    overall: Mapping[str, Any] | None = None,
    variable_labels: Mapping[Any, str] | None = None,
    level_labels: Mapping[Any, str] | None = None,
    estimate_header: str = "OR (95% CI)",
    p_header: str = "P-interaction",
    xlabel: str = "Odds ratio (log scale)",
    ref: float = 1.0,
    favours: tuple[str, str] | None = None,
    xlim: tuple[float, float] | None = None,
    color: str = "black",
    digits: int = 2,
    p_digits: int = 2,
    panel_width: float = 2.0,
    title: str | None = None,
) -> Figure:
    """Subgroup forest plot: one header row per subgrouping variable, one row per level.

    ``df`` has one row per subgroup level, in display order, with columns ``variable``,
    ``level``, ``estimate`` (odds ratio or another ratio), ``lower``, ``upper`` (95% CI),
    optionally ``se`` (SE of the log estimate; default ``(log(upper) - log(lower)) / (2 *
    1.96)``) and ``p_interaction`` (one value per variable, shown on its header row).
    ``text_columns`` ``{"header": column}`` adds columns of caller-formatted text (e.g. n,
    events per group as ``"211/458"``) between the labels and the plot. ``overall``
    (mapping with the same keys: ``estimate``, ``lower``, ``upper`` and the text columns) is
    drawn last as a diamond. Boxes have area proportional to the precision ``1 / SE^2``;
    CI lines beyond ``xlim`` end in an arrow; the log x axis has a line at ``ref``.

    Rows are 0.19 in high and the text columns are measured, so the figure works for 3 or
    40 rows. Row records are attached as ``fig._her2cohort_forest`` (DataFrame with
    ``kind``, ``label``, ``y``, ``estimate``, ``lower``, ``upper``, ``weight``,
    ``marker_size``).
    """
    text_columns = dict(text_columns or {})
    cols = [variable, level, estimate, lower, upper, *text_columns.values()]
    if se:
        cols.append(se)
    if p_interaction and p_interaction in df.columns:
        cols.append(p_interaction)
    _check_columns(df, cols)
    rows: list[dict[str, Any]] = []

    def record(kind: str, label: str, src: Mapping[str, Any] | None, p_txt: str = "") -> None:
        rec: dict[str, Any] = {"kind": kind, "label": label, "p": p_txt,
                               "estimate": np.nan, "lower": np.nan, "upper": np.nan,
                               "se": np.nan, "texts": [""] * len(text_columns), "est_txt": ""}
        if src is not None:
            est = float(src[estimate]) if pd.notna(src[estimate]) else np.nan
            lo = float(src[lower]) if pd.notna(src[lower]) else np.nan
            hi = float(src[upper]) if pd.notna(src[upper]) else np.nan
            if (np.isfinite(est) and est <= 0) or (np.isfinite(lo) and lo <= 0):
                raise ValueError(f"row {label!r}: ratios must be > 0 for a log axis")
            s = float(src[se]) if se and pd.notna(src.get(se)) else (
                (math.log(hi) - math.log(lo)) / (2 * _Z975)
                if np.isfinite(lo) and np.isfinite(hi) and hi > lo else np.nan)
            rec.update(estimate=est, lower=lo, upper=hi, se=s,
                       texts=["" if pd.isna(src.get(c)) else str(src.get(c))
                              for c in text_columns.values()],
                       est_txt=format_estimate(est, lo, hi, digits))
        rows.append(rec)

    for var, blk in df.groupby(variable, sort=False):
        p_txt = ""
        if p_interaction and p_interaction in df.columns:
            pv = blk[p_interaction].dropna()
            p_txt = format_p(pv.iloc[0], p_digits) if len(pv) else ""
        record("header", str((variable_labels or {}).get(var, var)), None, p_txt)
        for _, r in blk.iterrows():
            lab = (level_labels or {}).get((var, r[level]),
                                           (level_labels or {}).get(r[level], r[level]))
            record("level", str(lab), r)
    if overall is not None:
        record("overall", str(overall.get("label", "Overall")), overall)
    fr = pd.DataFrame(rows)
    n = len(fr)

    est_ok = fr["estimate"].notna() & fr["kind"].ne("header")
    if xlim is None:
        lo_all = fr.loc[est_ok, ["lower", "estimate"]].min().min()
        hi_all = fr.loc[est_ok, ["upper", "estimate"]].max().max()
        lo_all = min(lo_all, ref) if np.isfinite(lo_all) else ref / 2
        hi_all = max(hi_all, ref) if np.isfinite(hi_all) else ref * 2
        lo_t = max([t for t in _LOG_TICKS if t <= lo_all and t < ref], default=_LOG_TICKS[0])
        hi_t = min([t for t in _LOG_TICKS if t >= hi_all and t > ref], default=_LOG_TICKS[-1])
        xlim = (lo_t, hi_t)
    x0, x1 = xlim
    if not 0 < x0 < ref < x1:
        raise ValueError("xlim must satisfy 0 < xlim[0] < ref < xlim[1]")

    weights = np.where(fr["se"].to_numpy(float) > 0, 1.0 / fr["se"].to_numpy(float) ** 2, np.nan)
    fr["weight"] = weights
    row_h = 0.19
    max_ms = 0.72 * row_h * 72  # points
    wmax = np.nanmax(weights[fr["kind"].eq("level").to_numpy()]) if np.isfinite(
        weights[fr["kind"].eq("level").to_numpy()]).any() else np.nan
    fr["marker_size"] = [
        max(2.5, max_ms * math.sqrt(w / wmax)) if k == "level" and np.isfinite(w) else np.nan
        for k, w in zip(fr["kind"], weights, strict=True)
    ]

    headers = ["Subgroup", *text_columns.keys()]
    with mpl.rc_context(_style()):
        meas = _Measurer()
        indent = 0.14
        label_w = max([meas.size(h, _BASE_FONT, "bold")[0] for h in headers[:1]]
                      + [meas.size(t, _BASE_FONT, "bold" if k != "level" else "normal")[0]
                         + (indent if k == "level" else 0.0)
                         for t, k in zip(fr["label"], fr["kind"], strict=True)])
        col_w = [max([meas.size(h, _BASE_FONT, "bold")[0]]
                     + [meas.size(r[i], _BASE_FONT)[0] for r in fr["texts"]])
                 for i, h in enumerate(headers[1:])]
        est_w = max([meas.size(estimate_header, _BASE_FONT, "bold")[0]]
                    + [meas.size(t, _BASE_FONT)[0] for t in fr["est_txt"]])
        p_w = max([meas.size(p_header, _BASE_FONT, "bold")[0]]
                  + [meas.size(t, _BASE_FONT)[0] for t in fr["p"]]) if p_interaction else 0.0
        title_h = meas.size(title, 9, "bold")[1] + 0.12 if title else 0.0
    gap = 0.18
    margin = 0.12
    xs_text = [margin]
    for w in [label_w, *col_w]:
        xs_text.append(xs_text[-1] + w + gap)
    panel_x = xs_text[-1]
    est_x = panel_x + panel_width + gap
    p_x = est_x + est_w + gap
    width = p_x + (p_w + margin if p_interaction else margin - gap + 0.0)
    head_h = 0.3
    top = margin + title_h + head_h
    bottom_h = 0.62 if favours else 0.48
    height = top + n * row_h + bottom_h

    with mpl.rc_context(_style()):
        fig = _new_figure((width, height))
        tx = fig.add_axes((0, 0, 1, 1))
        tx.set_xlim(0, width)
        tx.set_ylim(height, 0)
        tx.axis("off")
        ax = fig.add_axes((panel_x / width, (height - top - n * row_h) / height,
                           panel_width / width, n * row_h / height))
        ax.set_xscale("log")
        ax.set_xlim(x0, x1)
        ax.set_ylim(n, 0)
        ax.set_yticks([])
        for sp in ("left", "top", "right"):
            ax.spines[sp].set_visible(False)
        ax.patch.set_visible(False)
        ticks = _forest_ticks(x0, x1, panel_width, meas)
        ax.set_xticks(ticks)
        ax.set_xticklabels([_tick_text(t) for t in ticks])
        ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
        ax.set_xlabel(xlabel, labelpad=3)
        ax.axvline(ref, color="0.35", lw=0.8, zorder=1)

        if title:
            tx.text(margin, margin, title, ha="left", va="top", fontsize=9, fontweight="bold")
        yh = top - head_h / 2
        for h, x in zip(headers, xs_text[:-1], strict=False):
            tx.text(x, yh, h, ha="left", va="center", fontweight="bold", fontsize=_BASE_FONT)
        tx.text(panel_x + panel_width / 2, yh, "", ha="center")
        tx.text(est_x, yh, estimate_header, ha="left", va="center", fontweight="bold",
                fontsize=_BASE_FONT)
        if p_interaction:
            tx.text(p_x, yh, p_header, ha="left", va="center", fontweight="bold",
                    fontsize=_BASE_FONT)
        tx.plot([margin, width - margin], [top - head_h + 0.02, top - head_h + 0.02],
                color="black", lw=0.8)
        tx.plot([margin, width - margin], [top - 0.02, top - 0.02], color="black", lw=0.5)

        ys = []
        for i, r in enumerate(fr.itertuples(index=False)):
            y_in = top + (i + 0.5) * row_h
            ys.append(i + 0.5)
            bold = "bold" if r.kind in ("header", "overall") else "normal"
            tx.text(margin + (indent if r.kind == "level" else 0.0), y_in, r.label, ha="left",
                    va="center", fontsize=_BASE_FONT, fontweight=bold)
            for j, t in enumerate(r.texts):
                tx.text(xs_text[j + 1], y_in, t, ha="left", va="center", fontsize=_BASE_FONT)
            if r.est_txt:
                tx.text(est_x, y_in, r.est_txt, ha="left", va="center", fontsize=_BASE_FONT,
                        fontweight=bold)
            if r.p:
                tx.text(p_x, y_in, r.p, ha="left", va="center", fontsize=_BASE_FONT)
            if r.kind == "header" or not np.isfinite(r.estimate):
                continue
            y = i + 0.5
            lo_c, hi_c = max(r.lower, x0), min(r.upper, x1)
            if r.kind == "overall":
                if np.isfinite(r.lower) and np.isfinite(r.upper):
                    ax.add_patch(Polygon([(lo_c, y), (r.estimate, y - 0.32), (hi_c, y),
                                          (r.estimate, y + 0.32)], closed=True, fc=color,
                                         ec=color, lw=0.6, zorder=3))
                continue
            if np.isfinite(r.lower) and np.isfinite(r.upper):
                ax.plot([lo_c, hi_c], [y, y], color=color, lw=0.9, zorder=2,
                        solid_capstyle="butt")
                if r.lower < x0:
                    ax.plot([x0], [y], marker="<", ms=4, color=color, zorder=2, clip_on=False)
                if r.upper > x1:
                    ax.plot([x1], [y], marker=">", ms=4, color=color, zorder=2, clip_on=False)
            if x0 <= r.estimate <= x1:
                ms = r.marker_size if np.isfinite(r.marker_size) else 3.0
                ax.plot([r.estimate], [y], marker="s", ms=ms, color=color, mew=0, zorder=3)
        fr["y"] = ys
        tx.plot([margin, width - margin], [top + n * row_h, top + n * row_h], color="black",
                lw=0.8)
        if favours:
            kw = {"xycoords": ("data", "axes fraction"), "textcoords": "offset points",
                  "va": "top", "fontsize": _BASE_FONT - 0.5}
            ax.annotate(f"\u2190 {favours[0]}", xy=(ref, 0), xytext=(-3, -29), ha="right", **kw)
            ax.annotate(f"{favours[1]} \u2192", xy=(ref, 0), xytext=(3, -29), ha="left", **kw)
    fig._her2cohort_forest = fr.drop(columns=["texts"])  # type: ignore[attr-defined]
    return fig


# --------------------------------------------------------------------------- dose-response


#: a group's rug draws one tick per value up to this many values; above it the values are
#: binned (:func:`rug_ticks`), so a registry-size rug is at most this many ticks per group
RUG_MAX_TICKS = 2000


def rug_alpha(n: int) -> float:
    """Opacity of one rug tick in a rug of ``n`` values (fainter ticks for larger groups)."""
    return float(min(1.0, max(0.03, 10.0 / math.sqrt(max(n, 1)))))


def rug_ticks(values: np.ndarray, x_range: tuple[float, float],
              max_ticks: int = RUG_MAX_TICKS) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the rug ticks of ``values`` and how many values each tick stands for.

    Up to ``max_ticks`` values: every value, count 1 (the rug as given). Above it, the values
    inside ``x_range`` (the axis; values outside are clipped away by the axes anyway) are
    put in ``max_ticks`` equal bins of the range, one tick per occupied bin, at the mean of
    its values, with their number. A bin is 1/``max_ticks`` of the axis (under a third of
    the 0.5 pt tick width on a 4 inch axis at :data:`RUG_MAX_TICKS`), so drawing each
    binned tick with the opacity of its ticks stacked (``1 - (1 - a)**count``) looks like
    the full rug, without one path per patient.
    """
    v = np.asarray(values, dtype=float)
    if v.size <= max_ticks:
        return v, np.ones(v.size, dtype=np.int64)
    lo, hi = float(x_range[0]), float(x_range[1])
    v = v[(v >= lo) & (v <= hi)]  # also drops NaN
    width = hi - lo if hi > lo else 1.0
    idx = np.minimum(((v - lo) / width * max_ticks).astype(np.int64), max_ticks - 1)
    counts = np.bincount(idx, minlength=max_ticks)
    sums = np.bincount(idx, weights=v, minlength=max_ticks)
    occ = counts > 0
    return sums[occ] / counts[occ], counts[occ].astype(np.int64)


def dose_response_plot(
    curve: pd.DataFrame,
    x: str,
    estimate: str = "estimate",
    lower: str = "lower",
    upper: str = "upper",
    *,
    group: str | None = None,
    group_order: Sequence[Any] | None = None,
    labels: Mapping[Any, str] | None = None,
    palette: Mapping[Any, GroupStyle] | None = None,
    rug: pd.DataFrame | Sequence[float] | np.ndarray | None = None,
    rug_x: str | None = None,
    xlabel: str = "",
    ylabel: str = "Predicted probability",
    ylim: tuple[float, float] | None = (0.0, 1.0),
    annotation: str | None = None,
    note: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Predicted probability (or any fitted value) with its CI band against a continuous
    predictor, with a rug of the observed values.

    ``curve``: one row per grid point (per group, when ``group`` is given) with columns ``x``,
    ``estimate``, ``lower``, ``upper``. Each group is drawn in its :class:`GroupStyle`
    (``palette``; colour + line style, band in a light tint). ``rug``: observed predictor
    values, an array or a DataFrame with column ``rug_x`` (default ``x``) and ``group``; it
    is drawn in its own strip under the panel (one line per group), so it never covers the
    curves; with many patients the ticks get transparent, and above :data:`RUG_MAX_TICKS`
    values a group's ticks are binned (:func:`rug_ticks`: at most that many ticks, each as
    opaque as the ticks it stands for stacked, so it looks the same without a path per
    patient). ``annotation`` goes in a box in the
    top left corner, ``note`` (model, CI method) under the figure.
    """
    _check_columns(curve, [x, estimate, lower, upper] + ([group] if group else []))
    if group:
        groups = list(group_order) if group_order is not None else list(pd.unique(curve[group]))
    else:
        groups = [None]
    styles = _palette_for(groups, palette, None) if group else [
        (palette or {}).get(None, GroupStyle("#000000"))]
    lab = [str((labels or {}).get(g, g)) for g in groups]

    rug_sets: list[np.ndarray] = []
    if rug is not None:
        if isinstance(rug, pd.DataFrame):
            rx = rug_x or x
            _check_columns(rug, [rx] + ([group] if group else []))
            for g in groups:
                sel = rug[group] == g if group else np.ones(len(rug), bool)
                rug_sets.append(pd.to_numeric(rug.loc[sel, rx]).dropna().to_numpy(float))
        else:
            rug_sets = [np.asarray(rug, dtype=float)[np.isfinite(np.asarray(rug, float))]]
    n_rug = len(rug_sets)
    rug_h = 0.14 * n_rug
    if figsize is None:
        figsize = (4.2, 3.0 + rug_h)

    with mpl.rc_context(_style()):
        meas = _Measurer()
        note_txt = meas.wrap(note, figsize[0] - 0.15, _BASE_FONT - 1) if note else None
        fig = _new_figure(figsize, layout="constrained")
        if n_rug:
            gs = fig.add_gridspec(2, 1, height_ratios=[figsize[1] - 0.8 - rug_h, rug_h],
                                  hspace=0.0)
            ax = fig.add_subplot(gs[0])
            ax_r = fig.add_subplot(gs[1], sharex=ax)
        else:
            ax = fig.add_subplot(1, 1, 1)
            ax_r = None
        handles = []
        bands = []
        for g, name, st in zip(groups, lab, styles, strict=True):
            c = curve if g is None else curve[curve[group] == g]
            c = c.sort_values(x)
            xv = c[x].to_numpy(float)
            bands.append(np.column_stack([xv, c[[estimate, lower, upper]].to_numpy(float)]))
            ax.fill_between(xv, c[lower].to_numpy(float), c[upper].to_numpy(float),
                            color=_lighten(st.color, 0.75), alpha=0.6, lw=0, zorder=1)
            ax.plot(xv, c[estimate].to_numpy(float), color=st.color, ls=st.linestyle, lw=1.4,
                    zorder=3)
            handles.append(Line2D([], [], color=st.color, ls=st.linestyle, lw=1.4, label=name))
        if ylim is not None:
            ax.set_ylim(*ylim)
        xmin, xmax = float(curve[x].min()), float(curve[x].max())
        pad = 0.02 * (xmax - xmin) if xmax > xmin else 0.5
        ax.set_xlim(xmin - pad, xmax + pad)  # the rug is clipped to the modelled range
        ax.set_ylabel(ylabel)
        if group:
            ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                      ncol=len(groups), frameon=False, handlelength=2.6, borderaxespad=0.2)
        ann = None
        if annotation:
            ann = ax.text(0.03, 0.97, annotation, transform=ax.transAxes, ha="left", va="top",
                          fontsize=_BASE_FONT, linespacing=1.35, zorder=5,
                          bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "0.55",
                                "lw": 0.6})
        if ax_r is not None:
            from matplotlib.collections import LineCollection

            for k, (vals, st) in enumerate(zip(rug_sets, styles, strict=False)):
                alpha = rug_alpha(vals.size)
                # registry size: binned ticks, each as opaque as its ticks stacked (rug_ticks)
                tx, cnt = rug_ticks(vals, ax.get_xlim(), RUG_MAX_TICKS)
                segs = np.stack([np.column_stack([tx, np.full(tx.size, k + 0.1)]),
                                 np.column_stack([tx, np.full(tx.size, k + 0.9)])], axis=1)
                if vals.size <= RUG_MAX_TICKS:  # every value drawn, as given
                    lc = LineCollection(segs, colors=st.color, linewidths=0.5, alpha=alpha)
                else:
                    rgba = np.tile(np.asarray(to_rgba(st.color), float), (tx.size, 1))
                    rgba[:, 3] = 1.0 - (1.0 - alpha) ** cnt
                    lc = LineCollection(segs, colors=rgba, linewidths=0.5)
                ax_r.add_collection(lc)
            ax_r.set_ylim(n_rug, 0)
            ax_r.set_yticks([])
            for sp in ("left", "right", "top"):
                ax_r.spines[sp].set_visible(False)
            ax.tick_params(axis="x", labelbottom=False)
            ax_r.set_xlabel(xlabel)
        else:
            ax.set_xlabel(xlabel)
        if ann is not None and not _place_clear_of_bands(fig, ax, ann, bands):
            # no free corner: the annotation goes under the figure with the note
            ann.remove()
            extra = meas.wrap(annotation, figsize[0] - 0.15, _BASE_FONT - 1)
            note_txt = f"{extra}\n{note_txt}" if note_txt else extra
        if note_txt:
            fig.supxlabel(note_txt, x=0.01, ha="left", fontsize=_BASE_FONT - 1,
                          linespacing=1.3)
    return fig


def _place_clear_of_bands(fig: Figure, ax: Any, ann: Any, bands: list[np.ndarray]) -> bool:
    """Move ``ann`` to the first axes corner where its box covers no curve or CI band
    (``bands``: arrays of x, estimate, lower, upper); False when every corner is taken."""
    corners = [(0.03, 0.97, "left", "top"), (0.97, 0.97, "right", "top"),
               (0.97, 0.03, "right", "bottom"), (0.03, 0.03, "left", "bottom")]
    for cx, cy, ha, va in corners:
        ann.set_position((cx, cy))
        ann.set_ha(ha)
        ann.set_va(va)
        fig.draw_without_rendering()  # the layout and the box, no pixels
        box = ann.get_bbox_patch().get_window_extent(fig.canvas.get_renderer())
        clear = True
        for b in bands:
            pts = ax.transData.transform(np.column_stack([b[:, 0], b[:, 2]]))
            top = ax.transData.transform(np.column_stack([b[:, 0], b[:, 3]]))[:, 1]
            xs, lo = pts[:, 0], pts[:, 1]
            # x positions inside the box, plus the band edges interpolated at its sides
            grid = np.unique(np.clip(np.r_[xs, box.x0, box.x1], xs.min(), xs.max()))
            grid = grid[(grid >= box.x0) & (grid <= box.x1)]
            if grid.size == 0:
                continue
            ylo = np.interp(grid, xs, np.minimum(lo, top))
            yhi = np.interp(grid, xs, np.maximum(lo, top))
            if np.any((yhi >= box.y0 - 2) & (ylo <= box.y1 + 2)):
                clear = False
                break
        if clear:
            return True
    return False
