"""Inverse probability of treatment weighting (IPTW) and covariate balance.

Generic (DataFrame + column names in, tidy DataFrames out, no I/O):

* :func:`propensity_scores` - logistic regression of treatment on confounders
  (statsmodels GLM, binomial, logit link; R ``glm(treat ~ ..., family = binomial)``);
* :func:`iptw` - ATE weights 1/ps (treated) and 1/(1 - ps) (control), optionally
  stabilised with the marginal treatment probability in the numerator
  (Robins, Hernan & Brumback 2000; Hernan & Robins, *Causal Inference: What If*, 12.3),
  optionally truncated at percentiles of the weight distribution (Cole & Hernan 2008);
* :func:`balance_table` - absolute standardised mean differences before and after
  weighting for every continuous confounder and every level of a categorical one,
  with weighted means and weighted variances as R tableone ``svyCreateTableOne`` /
  survey ``svymean`` and ``svyvar`` (Austin & Stuart 2015);
* :func:`weighted_km` - weighted Kaplan-Meier (R ``survfit(..., weights = w)``).
  A weighted log-rank test is not standard and is not provided; the weighted Cox model
  with robust SE lives in the Cox module.

Missing values: rows with a missing treatment or confounder are dropped (R ``na.omit``)
and counted (``n_total``, ``n_used``, ``n_missing`` in ``.attrs``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .grouping import check_levels

__all__ = [
    "PS_METHOD",
    "SMD_METHOD",
    "balance_table",
    "iptw",
    "propensity_scores",
    "weighted_km",
]

PS_METHOD = "logistic regression (binomial GLM, logit link)"
SMD_METHOD = (
    "absolute standardised mean difference: |m1 - m0| / sqrt((v1 + v0) / 2); weighted "
    "means, weighted variances (survey::svyvar: sum w(x-m)^2 / sum w · n/(n-1)); "
    "categorical levels as proportions with v = p(1 - p)"
)


def _treatment(s: pd.Series, treated_level: Any, name: str) -> np.ndarray:
    levels = list(pd.unique(s))
    if treated_level not in levels:
        raise ValueError(f"treated_level {treated_level!r} not found in '{name}': {levels}")
    if len(levels) != 2:
        raise ValueError(f"treatment column '{name}' must have exactly 2 values, has {levels}")
    return (s == treated_level).to_numpy(dtype=float)


def _design(
    df: pd.DataFrame, confounders: Sequence[str], categorical: Mapping[str, Sequence[Any]]
) -> tuple[pd.DataFrame, list[tuple[str, Any, str]]]:
    """Indicator columns for categoricals (all levels) and numeric columns.

    Returns (matrix with one column per continuous variable and per categorical level,
    list of (variable, level or None, column name)).
    """
    cols: dict[str, np.ndarray] = {}
    terms: list[tuple[str, Any, str]] = []
    for c in confounders:
        s = df[c]
        if c in categorical:
            levels = check_levels(s, c, categorical[c], what="confounder")
            for lv in levels:
                name = f"{c}[{lv}]"
                cols[name] = (s == lv).to_numpy(dtype=float)
                terms.append((c, lv, name))
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols[c] = s.to_numpy(dtype=float)
            terms.append((c, None, c))
        else:
            raise ValueError(
                f"confounder '{c}' is not numeric (dtype {s.dtype}); declare it in "
                "`categorical` with its level order"
            )
    return pd.DataFrame(cols, index=df.index), terms


def _complete(df: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) not found in data: {missing}")
    keep = df[list(columns)].notna().all(axis=1)
    return df.loc[keep], int((~keep).sum())


def propensity_scores(
    df: pd.DataFrame,
    treatment: str,
    confounders: Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    treated_level: Any = 1,
) -> pd.DataFrame:
    """P(treated | confounders) by logistic regression, R ``glm(family = binomial)``.

    Categoricals use treatment coding with the first listed level as reference.  Returns a
    DataFrame indexed like the complete-case rows of ``df`` with ``treated`` (0/1) and
    ``ps``; ``.attrs`` holds ``coefficients`` (term, coef, se), ``method``, ``n_total``,
    ``n_used``, ``n_missing``.  Raises ValueError on complete separation (ps of 0 or 1).
    """
    # the GLM class itself, not statsmodels.api (which imports every model and the formula
    # machinery: about a second per job)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    categorical = dict(categorical or {})
    confounders = list(confounders)
    if not confounders:
        raise ValueError("propensity_scores needs at least one confounder")
    stray = [c for c in categorical if c not in confounders]
    if stray:
        raise ValueError(f"categorical column(s) not listed in confounders: {stray}")
    data, n_missing = _complete(df, [treatment, *confounders])
    if len(data) == 0:
        raise ValueError("no complete cases for the propensity model")
    z = _treatment(data[treatment], treated_level, treatment)
    x, terms = _design(data, confounders, categorical)
    refs = {f"{c}[{categorical[c][0]}]" for c in categorical}
    x = x[[name for _, _, name in terms if name not in refs]]
    x.insert(0, "(Intercept)", 1.0)
    with warnings.catch_warnings():
        # separation is reported below as a ValueError
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        fit = GLM(z, x, family=families.Binomial()).fit(tol=1e-12, maxiter=100)
    ps = np.asarray(fit.fittedvalues, dtype=float)
    if (ps < 1e-10).any() or (ps > 1 - 1e-10).any():
        raise ValueError(
            "propensity model separates treated and control (fitted probabilities 0 or 1): "
            "weights would be infinite; simplify the model"
        )
    out = pd.DataFrame({"treated": z.astype(int), "ps": ps}, index=data.index)
    out.attrs.update(
        {
            "coefficients": pd.DataFrame(
                {"term": list(x.columns), "coef": np.asarray(fit.params),
                 "se": np.asarray(fit.bse)}
            ),
            "method": PS_METHOD,
            "n_total": len(df),
            "n_used": len(data),
            "n_missing": n_missing,
        }
    )
    return out


def iptw(
    df: pd.DataFrame,
    treatment: str,
    confounders: Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    treated_level: Any = 1,
    stabilised: bool = True,
    truncate: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """ATE inverse-probability-of-treatment weights.

    Unstabilised: 1/ps for treated, 1/(1 - ps) for controls.  Stabilised (Robins,
    Hernan & Brumback 2000): P(T=1)/ps and P(T=0)/(1 - ps) with the marginal
    (sample) treatment proportion.  ``truncate=(0.01, 0.99)`` sets weights below / above
    the 1st / 99th percentile of the weights (R ``quantile(w, type = 7)``) to those
    percentiles (Cole & Hernan 2008).

    Returns the :func:`propensity_scores` frame with ``weight_raw`` (before truncation)
    and ``weight``; ``.attrs`` adds ``weight_method``, ``truncation_bounds``,
    ``n_truncated``.
    """
    out = propensity_scores(df, treatment, confounders, categorical, treated_level)
    z, ps = out["treated"].to_numpy(dtype=float), out["ps"].to_numpy()
    if stabilised:
        p1 = z.mean()
        w = np.where(z == 1, p1 / ps, (1 - p1) / (1 - ps))
        method = "stabilised ATE weights: P(T=t) / P(T=t | X)"
    else:
        w = np.where(z == 1, 1 / ps, 1 / (1 - ps))
        method = "ATE weights: 1 / P(T=t | X)"
    out["weight_raw"] = w
    bounds: tuple[float, float] | None = None
    n_trunc = 0
    if truncate is not None:
        lo_q, hi_q = (float(q) for q in truncate)
        if not 0 <= lo_q < hi_q <= 1:
            raise ValueError(f"truncate must be (lower, upper) quantiles in [0, 1], got {truncate}")
        lo, hi = np.quantile(w, [lo_q, hi_q])
        n_trunc = int(((w < lo) | (w > hi)).sum())
        w = np.clip(w, lo, hi)
        bounds = (float(lo), float(hi))
        method += f", truncated at the {lo_q:.3g} and {hi_q:.3g} quantiles"
    out["weight"] = w
    out.attrs.update(
        {"weight_method": method, "truncation_bounds": bounds, "n_truncated": n_trunc}
    )
    return out


def _wmean_var(x: np.ndarray, w: np.ndarray, binary: bool) -> tuple[float, float]:
    """Weighted mean and variance as survey::svymean / svyvar (binary: p(1 - p))."""
    sw = w.sum()
    m = float((w * x).sum() / sw)
    if binary:
        return m, m * (1 - m)
    n = int((w != 0).sum())
    v = float((w * (x - m) ** 2).sum() / sw * n / (n - 1)) if n > 1 else float("nan")
    return m, v


def _smd(m1: float, v1: float, m0: float, v0: float) -> float:
    den = np.sqrt((v1 + v0) / 2)
    if den == 0:
        return 0.0 if m1 == m0 else float("inf")
    return float(abs(m1 - m0) / den)


def balance_table(
    df: pd.DataFrame,
    treatment: str,
    confounders: Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    weights: str | None = None,
    treated_level: Any = 1,
    threshold: float = 0.1,
) -> pd.DataFrame:
    """Covariate balance before and after weighting (absolute SMD).

    One row per continuous confounder and per level of each categorical confounder:
    ``variable, level, type, mean_treated, mean_control, smd_unweighted,
    mean_treated_weighted, mean_control_weighted, smd_weighted, imbalanced_unweighted,
    imbalanced_weighted, threshold, method``.  Means of categorical levels are
    proportions.  SMD = |m1 - m0| / sqrt((v1 + v0) / 2) with weighted means and
    variances as survey/tableone (``svyCreateTableOne``, ``smd = TRUE``): for a continuous
    variable v = sum w (x - m)^2 / sum w · n/(n - 1), n = rows with non-zero weight (the
    ordinary sample variance when w = 1); for a level, v = p(1 - p).  ``imbalanced_*`` is
    SMD > ``threshold`` (0.1, Austin 2009).  Without ``weights`` only the unweighted
    columns are filled.
    """
    categorical = dict(categorical or {})
    cols = [treatment, *confounders] + ([weights] if weights else [])
    data, n_missing = _complete(df, cols)
    z = _treatment(data[treatment], treated_level, treatment)
    x, terms = _design(data, list(confounders), categorical)
    w = (
        data[weights].to_numpy(dtype=float)
        if weights
        else np.full(len(data), np.nan)
    )
    if weights and ((w < 0).any() or not np.isfinite(w).all()):
        raise ValueError(f"weights column '{weights}' must be finite and >= 0")
    t1, t0 = z == 1, z == 0
    rows = []
    for var, level, name in terms:
        xi = x[name].to_numpy()
        binary = level is not None
        m1, v1 = _wmean_var(xi[t1], np.ones(t1.sum()), binary)
        m0, v0 = _wmean_var(xi[t0], np.ones(t0.sum()), binary)
        row = {
            "variable": var,
            "level": level,
            "type": "level" if binary else "continuous",
            "mean_treated": m1,
            "mean_control": m0,
            "smd_unweighted": _smd(m1, v1, m0, v0),
        }
        if weights:
            wm1, wv1 = _wmean_var(xi[t1], w[t1], binary)
            wm0, wv0 = _wmean_var(xi[t0], w[t0], binary)
            row.update(
                mean_treated_weighted=wm1,
                mean_control_weighted=wm0,
                smd_weighted=_smd(wm1, wv1, wm0, wv0),
            )
        else:
            row.update(
                mean_treated_weighted=np.nan, mean_control_weighted=np.nan, smd_weighted=np.nan
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["level"] = out["level"].astype(object)
    out["imbalanced_unweighted"] = out["smd_unweighted"] > threshold
    out["imbalanced_weighted"] = out["smd_weighted"] > threshold
    out["threshold"] = threshold
    out["method"] = SMD_METHOD
    out.attrs.update({"n_total": len(df), "n_used": len(data), "n_missing": n_missing})
    return out


def weighted_km(
    df: pd.DataFrame,
    time: str,
    event: str,
    weights: str,
    group: str | None = None,
    group_order: Sequence[Any] | None = None,
    conf_type: str = "log-log",
    robust: bool | None = None,
) -> pd.DataFrame:
    """Weighted Kaplan-Meier, R ``survfit(Surv(time, event) ~ group, weights = w)``.

    Thin wrapper of :func:`her2cohort.stats.survival.km_table` with ``weights``: counts
    are weighted sums; the variance is the infinitesimal-jackknife (robust) one when any
    weight is non-integer (R's default), Greenwood otherwise; ``ci_method`` says which.
    """
    from .survival import km_table

    return km_table(
        df, time, event, group, group_order, conf_type=conf_type, weights=weights,
        robust=robust,
    )
