"""Figures of the in-vitro arm: dose-response curves faceted by cell line, synergy maps of a
drug pair's dose matrix, and plate QC maps (one small map per plate). Tidy frames in, a
matplotlib Figure out; :func:`her2cohort.render.figures.save_figure` writes PNG + PDF."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from .figures import _new_figure, journal_style

__all__ = ["dose_response_grid", "plate_qc_maps", "synergy_maps"]

_FALLBACK = ["#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
ROWS = "ABCDEFGHIJKLMNOP"


def _ll4(x, b, c, d, e):
    """drc's LL.4 curve (the model fitted by stats.doseresponse.fit_ll4)."""
    return c + (d - c) / (1.0 + np.exp(b * (np.log(x) - np.log(e))))


def _reserve_bottom(fig: Figure, inches: float = 0.22) -> None:
    """Keep a strip at the bottom of a constrained-layout figure free for the note."""
    h = fig.get_figheight()
    fig.get_layout_engine().set(rect=(0.0, inches / h, 1.0, 1.0 - inches / h))


def _conc_text(v: float) -> str:
    return f"{v:.3g}" if v < 1000 else f"{v:,.0f}"


def dose_response_grid(points: pd.DataFrame, fits: pd.DataFrame, *, lines: Sequence[str],
                       drugs: Sequence[str], line_class: Mapping[str, str],
                       drug_labels: Mapping[str, str] | None = None,
                       colours: Mapping[str, str] | None = None, unit: str = "nM",
                       note: str = "") -> Figure:
    """One panel per cell line; per drug the mean +/- SD viability per concentration
    (``points``: line, drug, conc, mean, sd, n), the fitted LL.4 curve over the tested range
    and the IC50 marked (``fits``: line, drug, hill, lower, upper, ic50, converged, abs_ic50)
    on a log concentration axis. Vehicle wells (concentration 0) are not drawn on the log axis;
    they anchor the fit's upper asymptote."""
    labels = dict(drug_labels or {})
    colours = {d: (colours or {}).get(d) or _FALLBACK[i % len(_FALLBACK)]
               for i, d in enumerate(drugs)}
    n = len(lines)
    ncol = min(n, 2) if n <= 4 else 3
    nrow = math.ceil(n / ncol)
    with mpl.rc_context(journal_style()):
        fig = _new_figure((3.4 * ncol + 0.4, 2.9 * nrow + 0.9), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrow, ncol, sharex=True, sharey=True)).ravel()
        pos = points[points["conc"] > 0]
        xmin = pos["conc"].min() if len(pos) else 1e-3
        xmax = pos["conc"].max() if len(pos) else 1e3
        for ax, line in zip(axes, lines, strict=False):
            for d in drugs:
                p = pos[(pos["line"] == line) & (pos["drug"] == d)].sort_values("conc")
                if p.empty:
                    continue
                col = colours[d]
                ax.errorbar(p["conc"], p["mean"], yerr=p["sd"].fillna(0), fmt="o", ms=3.2,
                            color=col, elinewidth=0.8, capsize=1.8, lw=0, zorder=3,
                            label=labels.get(d, d))
                f = fits[(fits["line"] == line) & (fits["drug"] == d)]
                if f.empty or not bool(f["converged"].iloc[0]):
                    continue
                r = f.iloc[0]
                x = np.geomspace(p["conc"].min(), p["conc"].max(), 200)
                ax.plot(x, _ll4(x, r["hill"], r["lower"], r["upper"], r["ic50"]), color=col,
                        lw=1.3, zorder=2)
                if p["conc"].min() <= r["ic50"] <= p["conc"].max():
                    y = (r["lower"] + r["upper"]) / 2
                    ax.plot([r["ic50"]], [y], marker="v", ms=6, color=col, mec="white",
                            mew=0.6, zorder=4)
                    ax.vlines(r["ic50"], -0.05, y, color=col, lw=0.6, ls=":", zorder=1)
            ax.axhline(0.5, color="0.75", lw=0.6, ls="--", zorder=0)
            ax.set_xscale("log")
            ax.set_xlim(xmin / 2, xmax * 2)
            ax.set_ylim(-0.05, 1.3)
            ax.set_title(f"{line}  ({line_class.get(line, '')})", fontsize=9, loc="left")
            ax.spines[["top", "right"]].set_visible(False)
        for ax in axes[n:]:
            ax.set_visible(False)
        for ax in axes[(nrow - 1) * ncol:n]:
            ax.set_xlabel(f"Concentration ({unit}, log scale)")
        for ax in axes[::ncol]:
            ax.set_ylabel("Viability (vehicle = 1)")
        handles, labs = [], []
        for ax in axes[:n]:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                if lab not in labs:
                    handles.append(h)
                    labs.append(lab)
        fig.legend(handles, labs, loc="outside upper center", ncol=len(labs), frameon=False,
                   fontsize=8)
        _reserve_bottom(fig)
        fig.text(0.01, 0.005, "Points: mean \u00b1 SD of replicate wells; lines: four-parameter "
                 "log-logistic fit; \u25bc relative IC50." + (f" {note}" if note else ""),
                 fontsize=6.5, color="0.3", ha="left", va="bottom")
    return fig


def synergy_maps(scores: pd.DataFrame, *, lines: Sequence[str], models: Sequence[str],
                 line_class: Mapping[str, str], a_label: str, b_label: str,
                 unit: str = "nM", note: str = "") -> Figure:
    """Heat maps of the synergy score per dose pair (``scores``: line, model, a, b, delta):
    one row per model, one column per line; red = synergy (observed effect above the model's
    expectation), blue = antagonism, on one symmetric colour scale."""
    ncol, nrow = len(lines), len(models)
    lim = float(np.nanmax(np.abs(scores["delta"]))) if len(scores) else 0.1
    lim = max(lim, 0.05)
    norm = TwoSlopeNorm(vmin=-lim, vcenter=0.0, vmax=lim)
    with mpl.rc_context(journal_style()):
        fig = _new_figure((2.35 * ncol + 1.2, 2.3 * nrow + 0.9), layout="constrained")
        axes = np.atleast_2d(fig.subplots(nrow, ncol, squeeze=False))
        im = None
        for i, model in enumerate(models):
            for j, line in enumerate(lines):
                ax = axes[i, j]
                s = scores[(scores["line"] == line) & (scores["model"] == model)]
                if s.empty:
                    ax.set_axis_off()
                    continue
                grid = s.pivot_table(index="b", columns="a", values="delta", aggfunc="mean")
                grid = grid.sort_index(ascending=False)
                im = ax.imshow(grid.to_numpy(float), cmap="RdBu_r", norm=norm, aspect="auto")
                for (yy, xx), v in np.ndenumerate(grid.to_numpy(float)):
                    if np.isfinite(v):
                        ax.text(xx, yy, f"{v * 100:.0f}", ha="center", va="center",
                                fontsize=5.5, color="white" if abs(v) > 0.6 * lim else "0.15")
                ax.set_xticks(range(grid.shape[1]),
                              [_conc_text(v) for v in grid.columns], rotation=90, fontsize=6)
                ax.set_yticks(range(grid.shape[0]), [_conc_text(v) for v in grid.index],
                              fontsize=6)
                if i == 0:
                    ax.set_title(f"{line}\n({line_class.get(line, '')})", fontsize=8)
                if j == 0:
                    ax.set_ylabel(f"{model}\n{b_label} ({unit})", fontsize=7.5)
                if i == nrow - 1:
                    ax.set_xlabel(f"{a_label} ({unit})", fontsize=7.5)
        if im is not None:
            cb = fig.colorbar(im, ax=axes, shrink=0.7, pad=0.02)
            cb.set_label("Synergy score (\u00d7100; > 0 synergy)", fontsize=7)
            cb.ax.tick_params(labelsize=6)
        _reserve_bottom(fig)
        fig.text(0.01, 0.005, f"{a_label} + {b_label}: observed minus expected effect per dose "
                 "pair (numbers \u00d7100)." + (f" {note}" if note else ""),
                 fontsize=6.5, color="0.3", ha="left", va="bottom")
    return fig


def plate_qc_maps(wells: pd.DataFrame, qc: pd.DataFrame, *, note: str = "") -> Figure:
    """One small map per plate: the raw signal of each well (log colour scale), excluded
    wells crossed, flagged wells circled; the title gives the plate, its line(s) and Z',
    a plate that failed QC is titled in red."""
    plates = list(qc["plate"])
    n = len(plates)
    ncol = min(n, 4)
    nrow = math.ceil(n / ncol)
    sig = wells.loc[wells["signal"] > 0, "signal"]
    vmin = float(sig.min()) if len(sig) else 1.0
    vmax = float(sig.max()) if len(sig) else 10.0
    cnorm = mpl.colors.LogNorm(vmin=max(vmin, 1.0), vmax=max(vmax, vmin * 10))
    with mpl.rc_context(journal_style()):
        fig = _new_figure((2.3 * ncol + 0.9, 1.75 * nrow + 0.8), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
        im = None
        for ax, plate in zip(axes, plates, strict=False):
            p = wells[wells["plate"] == plate]
            q = qc[qc["plate"] == plate].iloc[0]
            nr, nc = (16, 24) if int(q["format"]) == 384 else (8, 12)
            grid = np.full((nr, nc), np.nan)
            ri = p["row"].map(ROWS.index).to_numpy()
            ci = p["col"].to_numpy(int) - 1
            grid[ri, ci] = p["signal"].where(p["signal"] > 0).to_numpy(float)
            im = ax.imshow(grid, cmap="viridis", norm=cnorm, aspect="equal")
            ex = p["status"].eq("excluded") & ~p["rule"].isin(["empty", "plate_qc"])
            ax.scatter(p.loc[ex, "col"] - 1, p.loc[ex, "row"].map(ROWS.index), marker="x",
                       s=14 if nr == 8 else 5, color="#E41A1C", lw=1.0)
            fl = p["status"].eq("flagged")
            ax.scatter(p.loc[fl, "col"] - 1, p.loc[fl, "row"].map(ROWS.index), marker="o",
                       s=14 if nr == 8 else 5, facecolors="none", edgecolors="white", lw=0.7)
            em = p["rule"].eq("empty")
            ax.scatter(p.loc[em, "col"] - 1, p.loc[em, "row"].map(ROWS.index), marker=".",
                       s=2, color="0.6")
            zp = q["z_prime"]
            ztxt = f"Z' {zp:.2f}" if np.isfinite(zp) else "Z' n/a"
            failed = q["status"] == "excluded"
            ax.set_title(f"{plate} {q['lines']}\n{ztxt}" + ("  FAILED" if failed else ""),
                         fontsize=6.5, color="#C00000" if failed else "black")
            step = 1 if nr == 8 else 3
            ax.set_xticks(range(0, nc, step * (1 if nc == 12 else 2)),
                          [str(i + 1) for i in range(0, nc, step * (1 if nc == 12 else 2))],
                          fontsize=5)
            ax.set_yticks(range(0, nr, step), [ROWS[i] for i in range(0, nr, step)], fontsize=5)
            ax.tick_params(length=0, pad=1)
            for s in ax.spines.values():
                s.set_visible(True)
                s.set_linewidth(1.6 if failed else 0.4)
                s.set_color("#C00000" if failed else "0.5")
        for ax in axes[n:]:
            ax.set_visible(False)
        if im is not None:
            cb = fig.colorbar(im, ax=axes[:n].tolist(), shrink=0.6, pad=0.01)
            cb.set_label("Raw signal (log scale)", fontsize=7)
            cb.ax.tick_params(labelsize=6)
        _reserve_bottom(fig)
        fig.text(0.01, 0.005, "\u00d7 excluded well (saturated, missing, outlier); \u25cb "
                 "flagged; \u00b7 empty. Red title: plate failed QC, all its wells excluded."
                 + (f" {note}" if note else ""), fontsize=6.5, color="0.3", ha="left",
                 va="bottom")
    return fig
