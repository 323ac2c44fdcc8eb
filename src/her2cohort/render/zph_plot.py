"""Scaled Schoenfeld residual plots for the proportional-hazards check (R ``plot(cox.zph(fit))``).

Pure function: arrays / DataFrames in, a matplotlib Figure out (no statistics
imports: the caller passes the ``cox.zph`` residuals and p-values).  The smooth
is R's default for ``plot.cox.zph``: a natural cubic regression spline with
``df = 4`` (intercept included) fitted by least squares, drawn with a
pointwise ±2 standard-error band of that least-squares fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MAX_POINTS", "natural_spline_basis", "point_sample", "zph_figure"]

#: residual points drawn per panel at most; above it a systematic sample (every k-th
#: point in x order) is drawn and the panel says so; the smooth always uses every point
MAX_POINTS = 5000


def point_sample(x: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of a deterministic systematic sample of at most ``max_points`` of ``x``.

    All indices when ``len(x) <= max_points``; otherwise ``max_points`` indices evenly
    spaced along the points sorted by x (ties in input order), so the sample follows
    the distribution of the points along the axis; returned in input order.
    """
    n = len(x)
    if n <= max_points:
        return np.arange(n)
    order = np.argsort(np.asarray(x, dtype=float), kind="stable")
    pick = order[np.linspace(0, n - 1, max_points).round().astype(np.int64)]
    return np.sort(pick)


def natural_spline_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Natural cubic spline basis with intercept (Hastie, Tibshirani & Friedman, eq. 5.4-5.5).

    ``len(knots)`` columns; linear beyond the boundary knots (like R's ``ns``).
    """
    x = np.asarray(x, dtype=float)
    k = np.sort(np.asarray(knots, dtype=float))
    nk = len(k)
    cols = [np.ones_like(x), x]

    def d(j: int) -> np.ndarray:
        return (np.maximum(x - k[j], 0) ** 3 - np.maximum(x - k[-1], 0) ** 3) / (k[-1] - k[j])

    last = d(nk - 2)
    for j in range(nk - 2):
        cols.append(d(j) - last)
    return np.column_stack(cols)


def _smooth(x: np.ndarray, y: np.ndarray, grid: np.ndarray, df: int) -> tuple[np.ndarray, ...]:
    ux = np.unique(x)
    nk = int(min(df, len(ux)))
    if nk < 2:
        fit = np.full(len(grid), np.mean(y))
        return fit, np.full(len(grid), np.nan)
    knots = np.quantile(x, np.linspace(0, 1, nk))
    knots = np.unique(knots)
    if len(knots) < 2:
        return np.full(len(grid), np.mean(y)), np.full(len(grid), np.nan)
    b = natural_spline_basis(x, knots)
    bg = natural_spline_basis(grid, knots)
    coef, *_ = np.linalg.lstsq(b, y, rcond=None)
    fit = bg @ coef
    dof = len(y) - b.shape[1]
    if dof <= 0:
        return fit, np.full(len(grid), np.nan)
    sigma2 = float(np.sum((y - b @ coef) ** 2) / dof)
    cov = sigma2 * np.linalg.pinv(b.T @ b)
    se = np.sqrt(np.einsum("ij,jk,ik->i", bg, cov, bg))
    return fit, se


def zph_figure(
    x: Sequence[float] | np.ndarray,
    y: pd.DataFrame,
    pvalues: Mapping[str, float] | None = None,
    time: Sequence[float] | np.ndarray | None = None,
    transform: str = "km",
    test_label: str = "cox.zph",
    coef: Mapping[str, float] | None = None,
    df: int = 4,
    ncol: int | None = None,
    time_label: str = "Time",
) -> Figure:
    """One panel per column of ``y`` (scaled Schoenfeld residuals, beta(t) scale).

    ``x`` are the transformed event times (``cox.zph``'s ``x``), ``time`` the
    raw event times used to label the axis, ``pvalues`` maps a term to its
    ``cox.zph`` p-value (shown in the panel title), ``coef`` optionally draws
    the fitted coefficient as a horizontal dashed line (the PH assumption).
    Rows with NaN (a term constant within a stratum) are left out per panel.
    Above :data:`MAX_POINTS` residuals a panel draws a systematic sample of them
    (:func:`point_sample`, plus the two y extremes) and its x label says how many of
    how many are shown; the smooth and its band always use every residual.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    xv = np.asarray(x, dtype=float)
    if len(xv) != len(y):
        raise ValueError(f"x has {len(xv)} values but y has {len(y)} rows")
    terms = list(y.columns)
    if not terms:
        raise ValueError("y has no columns to plot")
    ncol = ncol or min(len(terms), 3)
    nrow = int(np.ceil(len(terms) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    grid = np.linspace(np.nanmin(xv), np.nanmax(xv), 200)
    tv = None if time is None else np.asarray(time, dtype=float)
    for ax, term in zip(axes.ravel(), terms, strict=False):
        yy = y[term].to_numpy(dtype=float)
        keep = ~np.isnan(yy) & ~np.isnan(xv)
        xk, yk = xv[keep], yy[keep]
        shown = point_sample(xk)  # registry size: a sample of the points, said in the label
        if len(shown) < len(xk):  # keep the y extremes so the axis range is the full one
            shown = np.union1d(shown, [np.argmin(yk), np.argmax(yk)])
        ax.scatter(xk[shown], yk[shown], s=9, color="0.45", alpha=0.7, linewidths=0)
        sampled = ""
        if len(shown) < len(xk):
            sampled = (f"\n{len(shown):,} of {len(xk):,} residuals shown (systematic sample),"
                       f"\nsmooth fitted to all {len(xk):,}")
        if keep.sum() >= 3:
            fit, se = _smooth(xv[keep], yy[keep], grid, df)
            ax.plot(grid, fit, color="C0", lw=1.8, label=f"natural spline, df={df}")
            if np.isfinite(se).all():
                ax.fill_between(grid, fit - 2 * se, fit + 2 * se, color="C0", alpha=0.18,
                                lw=0, label="±2 SE")
        if coef is not None and term in coef and np.isfinite(coef[term]):
            ax.axhline(coef[term], color="C3", ls="--", lw=1, label="Cox coefficient")
        title = term
        if pvalues is not None and term in pvalues:
            p = pvalues[term]
            ptxt = "NA" if p is None or not np.isfinite(p) else (
                "p < 0.001" if p < 0.001 else f"p = {p:.3f}")
            title = f"{term}\n{test_label} {ptxt}"
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(f"Beta(t) for {term}", fontsize=9)
        if tv is not None and transform != "identity":
            order = np.argsort(xv)
            ticks = np.quantile(xv[keep], [0, 0.25, 0.5, 0.75, 1.0]) if keep.any() else []
            raw = [float(np.interp(t, xv[order], tv[order])) for t in ticks]
            labels = [f"{v:.0f}" if abs(v) >= 10 else f"{v:.3g}" for v in raw]
            ax.set_xticks(ticks)
            ax.set_xticklabels(labels, fontsize=8)
            ax.set_xlabel(f"{time_label} ({transform} scale){sampled}", fontsize=9)
        else:
            ax.set_xlabel((time_label if transform == "identity" else f"{transform}(time)")
                          + sampled, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[len(terms):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7, loc="best", frameon=False)
    fig.tight_layout()
    return fig
