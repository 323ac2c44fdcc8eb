"""Plate quality control for plate-reader assays: Z'-factor, signal window, CV, edge effect and
outlier wells.  Generic over arrays / a DataFrame and column names; no I/O.

* :func:`z_prime`: Zhang, Chung & Oldenburg (1999) J Biomol Screen 4:67-73,
  ``Z' = 1 - 3 (sd_pos + sd_neg) / |mean_pos - mean_neg|`` with sample SDs (n - 1).
* :func:`signal_window`: Assay Guidance Manual (Iversen et al. 2006, "HTS assay validation"),
  ``SW = (|mean_hi - mean_lo| - 3 (sd_hi + sd_lo) / sqrt(n)) / (sd_hi / sqrt(n))`` where "hi"
  is the control with the higher mean and ``n`` the replicates per test sample (default 1).
* :func:`cv`: coefficient of variation, sample SD / mean (a fraction, not percent).
* :func:`edge_effect`: mean of the outer wells (first/last row or column of the plate) over the
  mean of the inner wells, with Welch's two-sample t test (R ``t.test(outer, inner)``).
* :func:`outlier_wells`: modified z-score rule of Iglewicz & Hoaglin (1993):
  ``M = 0.6745 (x - median) / MAD`` within each group, outlier when ``|M| > k`` (k = 3.5);
  when MAD = 0 the mean absolute deviation from the median replaces it
  (``M = (x - median) / (1.253314 * MeanAD)``, the usual fallback); groups of fewer than 3
  wells are never flagged (no rule can tell which of two is wrong).

Well-kept libraries do the arithmetic (numpy, scipy.stats.ttest_ind for Welch's test).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "EDGE_TEST",
    "outlier_rule_text",
    "z_prime",
    "signal_window",
    "signal_to_background",
    "cv",
    "edge_effect",
    "outlier_wells",
]

EDGE_TEST = "Welch two-sample t test (outer vs inner wells)"
_MZ_CONST = 0.6745
_MEANAD_CONST = 1.253314
#: plate formats (rows, columns) tried in order for the outer ring when not given
_FORMATS = ((8, 12), (16, 24), (32, 48))


def outlier_rule_text(k: float = 3.5) -> str:
    return (f"modified z-score |0.6745 (x - median) / MAD| > {k:g} within the group "
            "(Iglewicz & Hoaglin 1993; MAD = 0: (x - median) / (1.253314 mean absolute "
            "deviation)); groups of < 3 wells not assessed")


def _arr(v) -> np.ndarray:
    a = np.asarray(v, dtype=float).ravel()
    return a[np.isfinite(a)]


def z_prime(pos, neg) -> float:
    """Z'-factor (Zhang et al. 1999) from positive- and negative-control wells (sample SDs).
    NaN when a control has fewer than 2 finite wells or the two means are equal."""
    p, n = _arr(pos), _arr(neg)
    if p.size < 2 or n.size < 2:
        return math.nan
    sep = abs(p.mean() - n.mean())
    if sep == 0:
        return math.nan
    return float(1.0 - 3.0 * (p.std(ddof=1) + n.std(ddof=1)) / sep)


def signal_window(pos, neg, n: int = 1) -> float:
    """Signal window (Assay Guidance Manual): ``(|mean_hi - mean_lo| - 3 (sd_hi + sd_lo)/sqrt(n))
    / (sd_hi / sqrt(n))``, "hi" the control with the higher mean.  NaN when undefined."""
    p, q = _arr(pos), _arr(neg)
    if p.size < 2 or q.size < 2:
        return math.nan
    hi, lo = (p, q) if p.mean() >= q.mean() else (q, p)
    sd_hi, sd_lo = hi.std(ddof=1), lo.std(ddof=1)
    if sd_hi == 0:
        return math.nan
    r = math.sqrt(n)
    return float((abs(hi.mean() - lo.mean()) - 3 * (sd_hi + sd_lo) / r) / (sd_hi / r))


def signal_to_background(pos, neg) -> float:
    """Ratio of the higher to the lower control mean."""
    p, q = _arr(pos), _arr(neg)
    if p.size == 0 or q.size == 0:
        return math.nan
    hi, lo = max(p.mean(), q.mean()), min(p.mean(), q.mean())
    return float(hi / lo) if lo != 0 else math.nan


def cv(values) -> float:
    """Coefficient of variation (sample SD / mean), a fraction.  NaN for < 2 values or mean 0."""
    a = _arr(values)
    if a.size < 2 or a.mean() == 0:
        return math.nan
    return float(a.std(ddof=1) / a.mean())


def _row_index(s: pd.Series) -> np.ndarray:
    """Plate rows as 0-based integers: letters A..Z, AA..AF (384/1536 plates) or numbers 1..n."""
    if pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(float) - 1
    out = np.full(len(s), np.nan)
    for i, v in enumerate(s.astype(str).str.strip().str.upper()):
        if re.fullmatch(r"[A-Z]{1,2}", v):
            n = 0
            for ch in v:
                n = n * 26 + (ord(ch) - 64)
            out[i] = n - 1
        elif re.fullmatch(r"\d+", v):
            out[i] = int(v) - 1
    return out


def edge_effect(df: pd.DataFrame, *, row: str, col: str, value: str,
                n_rows: int | None = None, n_cols: int | None = None) -> dict:
    """Outer- vs inner-well signal on one plate (use wells that should be equal, e.g. vehicle
    wells or a uniformity plate).

    Outer wells: first or last row or column of the plate.  The plate format is ``n_rows`` x
    ``n_cols`` when given, else the smallest of 8 x 12, 16 x 24, 32 x 48 that holds every well.
    ``row``: letters (A, B, ...) or 1-based numbers; ``col``: 1-based numbers.
    Returns ``ratio`` (mean outer / mean inner), the two means and counts, Welch's ``t``, ``df``,
    ``p`` and ``test``; NaNs (with ``note``) when either set has fewer than 2 wells.
    """
    r = _row_index(df[row])
    c = pd.to_numeric(df[col], errors="coerce").to_numpy(float) - 1
    v = pd.to_numeric(df[value], errors="coerce").to_numpy(float)
    ok = np.isfinite(r) & np.isfinite(c) & np.isfinite(v)
    out = {"ratio": math.nan, "mean_outer": math.nan, "mean_inner": math.nan, "n_outer": 0,
           "n_inner": 0, "t": math.nan, "df": math.nan, "p": math.nan, "test": EDGE_TEST,
           "n_rows": n_rows, "n_cols": n_cols, "note": ""}
    notes = []
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} well(s) without a usable row, column or value left out")
    r, c, v = r[ok], c[ok], v[ok]
    if n_rows is None or n_cols is None:
        need_r = int(r.max()) + 1 if r.size else 0
        need_c = int(c.max()) + 1 if c.size else 0
        fmt = next(((a, b) for a, b in _FORMATS if need_r <= a and need_c <= b), None)
        if fmt is None:
            out["note"] = "; ".join(notes + [f"plate of {need_r} x {need_c} wells is larger "
                                             "than 32 x 48: give n_rows and n_cols"])
            return out
        n_rows = n_rows or fmt[0]
        n_cols = n_cols or fmt[1]
    out["n_rows"], out["n_cols"] = n_rows, n_cols
    outer = (r == 0) | (r == n_rows - 1) | (c == 0) | (c == n_cols - 1)
    vo, vi = v[outer], v[~outer]
    out["n_outer"], out["n_inner"] = int(vo.size), int(vi.size)
    if vo.size < 2 or vi.size < 2:
        out["note"] = "; ".join(notes + ["fewer than 2 outer or inner wells: no test"])
        return out
    out["mean_outer"], out["mean_inner"] = float(vo.mean()), float(vi.mean())
    out["ratio"] = float(vo.mean() / vi.mean()) if vi.mean() != 0 else math.nan
    res = stats.ttest_ind(vo, vi, equal_var=False)
    s1, s2 = vo.var(ddof=1) / vo.size, vi.var(ddof=1) / vi.size
    welch_df = (s1 + s2) ** 2 / (s1 ** 2 / (vo.size - 1) + s2 ** 2 / (vi.size - 1)) \
        if (s1 + s2) > 0 else math.nan
    out.update(t=float(res.statistic), df=float(welch_df), p=float(res.pvalue),
               note="; ".join(notes))
    return out


def outlier_wells(df: pd.DataFrame, *, by: str | Sequence[str] | None, value: str,
                  rule: str = "MAD", k: float = 3.5) -> pd.Series:
    """Flag outlier wells within each group of ``by`` (e.g. plate + line + drug + dose
    replicates) by the modified z-score rule (see :func:`outlier_rule_text`).

    Returns a boolean Series aligned with ``df.index`` (name ``outlier``; the rule in words in
    ``.attrs["rule"]`` and the modified z-scores in ``.attrs["score"]``).  Missing values are
    never flagged (they are missing, not outliers).  Vectorised with groupby transforms.
    """
    if rule.upper() != "MAD":
        raise ValueError(f"rule must be 'MAD' (modified z-score), not {rule!r}")
    keys = [by] if isinstance(by, str) else list(by or [])
    x = pd.to_numeric(df[value], errors="coerce").astype(float)
    if keys:
        grp = x.groupby([df[k] for k in keys], dropna=False, sort=False)
        med = grp.transform("median")
        dev = (x - med).abs()
        dgrp = dev.groupby([df[k] for k in keys], dropna=False, sort=False)
        mad = dgrp.transform("median")
        meanad = dgrp.transform("mean")
        size = grp.transform("count")
    else:
        med = pd.Series(x.median(), index=x.index)
        dev = (x - med).abs()
        mad = pd.Series(dev.median(), index=x.index)
        meanad = pd.Series(dev.mean(), index=x.index)
        size = pd.Series(x.count(), index=x.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(mad > 0, _MZ_CONST * (x - med) / mad,
                         np.where(meanad > 0, (x - med) / (_MEANAD_CONST * meanad), 0.0))
    score = pd.Series(score, index=df.index)
    flag = (score.abs() > k) & (size >= 3) & x.notna()
    flag = flag.astype(bool).rename("outlier")
    flag.attrs["rule"] = outlier_rule_text(k)
    flag.attrs["score"] = score.where(x.notna())
    return flag
