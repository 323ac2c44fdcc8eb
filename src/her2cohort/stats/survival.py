"""Time-to-event statistics (Kaplan-Meier, log-rank, Cox PH, reverse-KM follow-up).

Every function is generic over a :class:`pandas.DataFrame` and column names, is
deterministic, and is cross-checked against R's ``survival`` package in
``tests/test_survival_vs_r.py``:

=====================  ======================================================
function               R reference
=====================  ======================================================
``km_table``           ``survfit(Surv(time, event) ~ group, conf.type=,
                       weights=)``, ``summary(fit, censored=TRUE)``
``km_at``              ``summary(fit, times = at, extend = FALSE)``
``km_median``          ``summary(fit)$table`` / ``print.survfit`` (median, LCL, UCL)
``logrank``            ``survdiff(Surv(time, event) ~ group [+ strata(s)])``
``cox``                ``coxph(Surv(time, event) ~ ... + strata(...), ties = "efron")``
``reverse_km_followup`` ``survfit(Surv(time, 1 - event) ~ 1)`` median
=====================  ======================================================

KM confidence intervals: ``conf_type`` is ``"log"`` (R's default), ``"log-log"`` or
``"plain"`` exactly as ``survfit(conf.type=)``; the default here is ``"log-log"``
(:data:`DEFAULT_CONF_TYPE`, what the pipeline has always reported) and every table names
the type in ``ci_method``.  Summary table, risk table, RMST and landmark analysis are in
:mod:`her2cohort.stats.km_summary`.

The Cox model is :mod:`her2cohort.stats.cox` (R's coxph algorithm).
The few pieces written by hand are marked with a comment explaining what
lifelines lacks (or where its convention differs from R's).

Conventions
-----------
* ``time`` must be non-missing, finite and ``>= 0``; ``event`` must be 0/1
  (booleans accepted).  Violations raise :class:`ValueError` naming the
  column and the number of offending rows.  ``logrank`` instead drops rows with
  a missing time, event, group or stratum first (R ``na.omit``) and counts them.
* Confidence intervals are two-sided 95 %.  Every table carries a
  ``ci_method`` column and every test result a ``test`` entry.
* Group order is the sorted unique values unless ``group_order`` is given.
  Without a group the single group is labelled ``"all"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from .cox import TEST_LR, CoxModel
from .grouping import check_levels, group_labels

__all__ = [
    "COX_CI_METHOD",
    "KM_CI_METHOD",
    "LOGRANK_TEST",
    "REVERSE_KM_METHOD",
    "at_risk",
    "cox",
    "km_at",
    "km_median",
    "km_table",
    "logrank",
    "reverse_km_followup",
]

CONF_LEVEL = 0.95
#: two-sided 95 % normal quantile, identical to R's ``qnorm(0.975)``
Z95 = float(norm.ppf(1 - (1 - CONF_LEVEL) / 2))

KM_CI_METHOD = "log-log (Greenwood variance), 95%"
KM_MEDIAN_CI_METHOD = "Brookmeyer-Crowley: log-log 95% pointwise band crossing 0.5"
COX_CI_METHOD = "Wald, exp(coef ± 1.96·se)"
LOGRANK_TEST = "log-rank (Mantel-Haenszel)"
REVERSE_KM_METHOD = "reverse Kaplan-Meier (Schemper & Smith 1996)"

# Tolerance used by R's print.survfit (survival:::survmean, minmin) when
# deciding whether a survival curve is at/below 0.5.
_R_MEDIAN_TOL = np.sqrt(np.finfo(float).eps)


# ---------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------
def _require_columns(df: pd.DataFrame, columns: Iterable[str | None]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"column(s) not found in data: {missing}")


def _complete_cases(df: pd.DataFrame, columns: Sequence[str | None]) -> tuple[pd.DataFrame, int]:
    """R ``na.omit`` on the named columns: (complete rows, number of rows dropped).

    The result holds the named columns only (callers use no other): a registry frame
    has dozens more, which a row filter of the whole frame would copy every call.
    """
    cols = list(dict.fromkeys(c for c in columns if c is not None))
    _require_columns(df, cols)
    sub = df[cols]
    keep = sub.notna().all(axis=1).to_numpy()
    return (sub if keep.all() else sub.loc[keep]), int((~keep).sum())


def _omit(df: pd.DataFrame, *columns: str | None) -> tuple[pd.DataFrame, int]:
    """R's default ``na.action = na.omit``: rows with a missing value in any of ``columns``
    are left out; the count goes into the result's ``attrs["n_missing"]``."""
    _require_columns(df, columns)
    if len(df) == 0:
        raise ValueError("data has no rows")
    kept, dropped = _complete_cases(df, columns)
    if len(kept) == 0:
        raise ValueError(
            f"no complete rows: all {len(df)} row(s) have a missing value in "
            f"{[c for c in columns if c is not None]}"
        )
    return kept, dropped


def _validate_time_event(df: pd.DataFrame, time: str, event: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (time as float array, event as int array) or raise ValueError."""
    _require_columns(df, [time, event])
    if len(df) == 0:
        raise ValueError("data has no rows")

    t_raw = df[time]
    if pd.api.types.is_bool_dtype(t_raw) or not (
        pd.api.types.is_numeric_dtype(t_raw) or t_raw.isna().all()
    ):
        raise ValueError(f"time column '{time}' must be numeric (dtype {t_raw.dtype})")
    t = t_raw.to_numpy(dtype=float, na_value=np.nan)
    n_missing = int(np.isnan(t).sum())
    if n_missing:
        raise ValueError(f"time column '{time}' has {n_missing} missing value(s)")
    n_inf = int(np.isinf(t).sum())
    if n_inf:
        raise ValueError(f"time column '{time}' has {n_inf} non-finite value(s)")
    n_neg = int((t < 0).sum())
    if n_neg:
        raise ValueError(f"time column '{time}' has {n_neg} negative value(s); times must be >= 0")

    e_raw = df[event]
    n_missing = int(e_raw.isna().sum())
    if n_missing:
        raise ValueError(f"event column '{event}' has {n_missing} missing value(s)")
    if pd.api.types.is_bool_dtype(e_raw):
        e = e_raw.to_numpy(dtype=int)
    else:
        if not pd.api.types.is_numeric_dtype(e_raw):
            raise ValueError(
                f"event column '{event}' must be coded 0/1 (dtype {e_raw.dtype} is not numeric)"
            )
        e_float = e_raw.to_numpy(dtype=float)
        bad = int((~np.isin(e_float, (0.0, 1.0))).sum())
        if bad:
            raise ValueError(f"event column '{event}' has {bad} value(s) not in {{0, 1}}")
        e = e_float.astype(int)
    return t, e


def _masks(values: np.ndarray, levels: Sequence[Any]) -> list[np.ndarray]:
    """Per level, the rows whose value equals it (``pd.Series(values).eq(level)``), through
    one factorize of ``values``: each distinct value is compared with the level, not every
    row (missing values match no level)."""
    codes, uniq = pd.factorize(pd.Series(values, dtype=object))
    u = pd.Series(np.asarray(uniq, dtype=object), dtype=object)
    out = []
    for lv in levels:
        hit = np.flatnonzero(u.eq(lv).to_numpy(dtype=bool))
        out.append(codes == hit[0] if len(hit) == 1 else np.isin(codes, hit))
    return out


# ---------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------
#: confidence-interval transformations of R ``survfit(conf.type=...)``
CONF_TYPES = ("log", "log-log", "plain")
#: the default of the functions below; R's own default is "log" (kept as "log-log" here
#: because the pipeline's tables and figures have used it so far)
DEFAULT_CONF_TYPE = "log-log"

_KM_CI_DESCRIPTION = {
    "log": "log (R survfit default): exp(log S ± 1.96·se(log S))",
    "log-log": "log-log",
    "plain": "plain (linear): S ± 1.96·se(S), clipped to [0, 1]",
}


def km_ci_method(conf_type: str = DEFAULT_CONF_TYPE, variance: str = "Greenwood") -> str:
    """The ``ci_method`` text of a KM table for a CI type and a variance estimator."""
    _check_conf_type(conf_type)
    if conf_type == "log-log" and variance == "Greenwood":
        return KM_CI_METHOD
    return f"{_KM_CI_DESCRIPTION[conf_type]} ({variance} variance), 95%"


def km_median_ci_method(conf_type: str = DEFAULT_CONF_TYPE) -> str:
    """The ``ci_method`` text of a KM median for a CI type (Brookmeyer-Crowley)."""
    _check_conf_type(conf_type)
    if conf_type == "log-log":
        return KM_MEDIAN_CI_METHOD
    return f"Brookmeyer-Crowley: {conf_type} 95% pointwise band crossing 0.5"


def _check_conf_type(conf_type: str) -> None:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES} (R survfit), got {conf_type!r}")


def _km_core(
    t: np.ndarray, e: np.ndarray, w: np.ndarray | None = None, robust: bool = False
) -> dict[str, np.ndarray]:
    """Kaplan-Meier at each distinct time with the variance of log S(t).

    Hand-written (numpy) rather than lifelines: lifelines has no Greenwood standard
    error, no non-log-log intervals and no robust variance for weighted data.

    * unweighted / frequency weights: Greenwood, var(log S) = sum d / (n (n - d)),
      infinite when n == d (S = 0), as R ``survfit``;
    * ``robust``: infinitesimal-jackknife variance (R ``survfit(weights=, robust=TRUE)``,
      the default there for non-integer weights).  With U_i the derivative of log S(t)
      with respect to w_i, var(log S(t)) = sum_i w_i^2 U_i(t)^2 where
      U_i(t) = -A(min(t, t_i)) + delta_i 1[t_i <= t] / (n(t_i) - d(t_i)) and
      A(s) = sum_{t_j <= s} d_j / (n_j (n_j - d_j)).
    """
    w_arr = np.ones(len(t)) if w is None else np.asarray(w, dtype=float)
    order = np.argsort(t, kind="mergesort")
    ts, es, ws = t[order], e[order], w_arr[order]
    times, inverse = np.unique(ts, return_inverse=True)
    removed = np.bincount(inverse, weights=ws, minlength=len(times))
    d = np.bincount(inverse, weights=ws * es, minlength=len(times))
    n_censor = removed - d
    # at risk = total weight with time >= t_j
    n = np.cumsum(removed[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(d > 0, 1.0 - d / n, 1.0))
        incr = np.where(n > d, d / (n * (n - d)), np.inf)
        incr = np.where(d == 0, 0.0, incr)
        a_cum = np.cumsum(incr)
    if not robust:
        var_log_s = a_cum
    else:
        # subjects still at risk after t_k contribute A(t_k)^2 * sum w^2; those who
        # left at or before t_k contribute w_i^2 (A(t_i) - c_i)^2 (cumulative sum)
        w2 = ws**2
        w2_after = np.cumsum(np.bincount(inverse, weights=w2, minlength=len(times))[::-1])[::-1]
        w2_after = np.append(w2_after[1:], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(es == 1, 1.0 / (n - d)[inverse], 0.0)
            left = np.bincount(inverse, weights=w2 * (a_cum[inverse] - c) ** 2,
                               minlength=len(times))
            var_log_s = a_cum**2 * w2_after + np.cumsum(left)
        var_log_s = np.where(np.isfinite(a_cum), var_log_s, np.inf)
    return {
        "time": times.astype(float),
        "n_risk": n,
        "n_event": d,
        "n_censor": n_censor,
        "surv": surv,
        "var_log_s": var_log_s,
    }


def _conf_limits(
    surv: np.ndarray, se_log: np.ndarray, conf_type: str, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits exactly as R ``survival:::survfit_confint`` (logse = TRUE).

    ``se_log`` is the standard error of log S (equivalently of the cumulative hazard).
    log: exp(log S ± z se), upper capped at 1, NA where S = 0; log-log:
    exp(-exp(log(-log S) ∓ z se / log S)), NA where S is 0 or 1; plain: S ± z S se,
    clipped to [0, 1], NA where S = 0 (0 · Inf).
    """
    _check_conf_type(conf_type)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            lower = np.exp(np.log(xx) - z * se_log)
            upper = np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
        elif conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            temp1 = np.log(-np.log(xx))
            temp2 = z * se_log / np.log(xx)
            lower = np.exp(-np.exp(temp1 - temp2))
            upper = np.exp(-np.exp(temp1 + temp2))
        else:
            half = z * se_log * surv
            lower = np.maximum(surv - half, 0.0)
            upper = np.minimum(surv + half, 1.0)
            bad = np.isnan(half)
            lower[bad] = np.nan
            upper[bad] = np.nan
    return lower, upper


def _km_one(
    t: np.ndarray,
    e: np.ndarray,
    conf_type: str = DEFAULT_CONF_TYPE,
    w: np.ndarray | None = None,
    robust: bool = False,
) -> pd.DataFrame:
    """KM table for one group, one row per distinct observed time (like R survfit)."""
    k = _km_core(t, e, w, robust)
    surv = k["surv"]
    se_log = np.sqrt(k["var_log_s"])
    with np.errstate(invalid="ignore"):
        std_err = surv * se_log
    # As in R (summary.survfit), SE is NaN when S == 0 (0 * Inf).
    std_err = np.where(surv == 0, np.nan, std_err)
    lower, upper = _conf_limits(surv, se_log, conf_type)
    counts = int if w is None else float
    return pd.DataFrame(
        {
            "time": k["time"],
            "n_risk": k["n_risk"].astype(counts),
            "n_event": k["n_event"].astype(counts),
            "n_censor": k["n_censor"].astype(counts),
            "surv": surv,
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
        }
    )


def _weights(df: pd.DataFrame, weights: str | None, robust: bool | None) -> tuple:
    """(weights array or None, robust flag, variance name) following R survfit's rule."""
    if weights is None:
        if robust:
            raise ValueError("robust=True needs a weights column")
        return None, False, "Greenwood"
    _require_columns(df, [weights])
    w_raw = df[weights]
    if pd.api.types.is_bool_dtype(w_raw) or not pd.api.types.is_numeric_dtype(w_raw):
        raise ValueError(f"weights column '{weights}' must be numeric (dtype {w_raw.dtype})")
    w = w_raw.to_numpy(dtype=float, na_value=np.nan)
    n_bad = int((~np.isfinite(w)).sum())
    if n_bad:
        raise ValueError(f"weights column '{weights}' has {n_bad} missing or non-finite value(s)")
    n_neg = int((w < 0).sum())
    if n_neg:
        raise ValueError(f"weights column '{weights}' has {n_neg} negative value(s)")
    if robust is None:  # R survfit: robust variance by default for non-integer weights
        robust = bool((w != np.round(w)).any())
    variance = "infinitesimal-jackknife (robust)" if robust else "Greenwood, frequency-weighted"
    return w, bool(robust), variance


def km_table(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None = None,
    group_order: Sequence[Any] | None = None,
    conf_type: str = DEFAULT_CONF_TYPE,
    weights: str | None = None,
    robust: bool | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier estimate at every distinct observed time, per group.

    R: ``survfit(Surv(time, event) ~ group, conf.type=conf_type, weights=w)`` and
    ``summary(fit, censored=TRUE)``.  Returns columns ``group, time, n_risk, n_event,
    n_censor, surv, std_err, lower, upper, ci_method`` sorted by group (in
    ``group_order``) then time.  ``std_err`` is the standard error of S(t) (R
    ``summary(fit)$std.err``); ``lower``/``upper`` are 95 % limits of type ``conf_type``
    (``"log"``, ``"log-log"`` or ``"plain"``; NaN where R gives NA).

    ``weights`` names a column of case weights (weighted KM, e.g. IPTW).  The counts
    become weighted sums.  Variance as R: Greenwood on the weighted counts when all
    weights are whole numbers, otherwise the infinitesimal-jackknife (robust) variance;
    ``robust`` forces one or the other.  ``ci_method`` names the variance used.
    """
    _check_conf_type(conf_type)
    df, n_missing = _omit(df, time, event, group, weights)
    t, e = _validate_time_event(df, time, event)
    w, rob, variance = _weights(df, weights, robust)
    labels, levels = group_labels(df, group, group_order)
    parts = []
    for lv, m in zip(levels, _masks(labels, levels), strict=True):
        part = _km_one(t[m], e[m], conf_type, None if w is None else w[m], rob)
        part.insert(0, "group", pd.Series([lv] * len(part), dtype=object))
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["ci_method"] = km_ci_method(conf_type, variance)
    out.attrs["n_missing"] = n_missing
    return out


def km_at(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None = None,
    at: Iterable[float] = (36, 60),
    group_order: Sequence[Any] | None = None,
    conf_type: str = DEFAULT_CONF_TYPE,
) -> pd.DataFrame:
    """KM survival (with 95 % CI of type ``conf_type``) at landmark times.

    Semantics of R ``summary(survfit(...), times=at, extend=FALSE)``: the
    estimate is the step function at the last distinct time ``<= t``; before
    the first time S = 1 with CI (1, 1) and SE 0; beyond the last follow-up
    time of the group R drops the row, here the row is kept with NaN
    estimate and ``n_risk = 0``.  ``n_risk`` is the number with time ``>= t``.

    Columns: ``group, time, surv, std_err, lower, upper, n_risk, ci_method``.
    """
    _check_conf_type(conf_type)
    t, e, levels, masks, n_missing = _km_groups(df, time, event, group, group_order)
    at_arr = _at_times(at)
    tabs = [_km_one(t[m], e[m], conf_type) for m in masks]
    out = _km_at_rows(t, levels, masks, tabs, at_arr, conf_type)
    out.attrs["n_missing"] = n_missing
    return out


def _km_groups(df: pd.DataFrame, time: str, event: str, group: str | None,
               group_order: Sequence[Any] | None) -> tuple:
    """(time, event, levels, rows of each level, rows dropped): R's na.omit, the checks of
    time and event, the group levels, as every KM summary starts."""
    df, n_missing = _omit(df, time, event, group)
    t, e = _validate_time_event(df, time, event)
    labels, levels = group_labels(df, group, group_order)
    return t, e, levels, _masks(labels, levels), n_missing


def _at_times(at: Iterable[float]) -> np.ndarray:
    at_arr = np.asarray(list(at), dtype=float)
    if at_arr.size == 0 or np.isnan(at_arr).any():
        raise ValueError("'at' must be a non-empty sequence of numbers without NaN")
    return at_arr


def _km_at_rows(t: np.ndarray, levels: list, masks: list[np.ndarray], tabs: list[pd.DataFrame],
                at_arr: np.ndarray, conf_type: str) -> pd.DataFrame:
    """The :func:`km_at` table from each group's KM table (``_km_one``)."""
    rows = []
    for lv, m, tab in zip(levels, masks, tabs, strict=True):
        tg = t[m]
        ktimes = tab["time"].to_numpy()
        for a in at_arr:
            n_risk = int((tg >= a).sum())
            idx = np.searchsorted(ktimes, a, side="right") - 1
            if a > ktimes[-1]:
                surv = se = lo = up = np.nan
            elif idx < 0:
                surv, se, lo, up = 1.0, 0.0, 1.0, 1.0
            else:
                r = tab.iloc[idx]
                surv, se, lo, up = r["surv"], r["std_err"], r["lower"], r["upper"]
            rows.append(
                {
                    "group": lv,
                    "time": float(a),
                    "surv": surv,
                    "std_err": se,
                    "lower": lo,
                    "upper": up,
                    "n_risk": n_risk,
                }
            )
    out = pd.DataFrame(rows)
    out["group"] = out["group"].astype(object)
    out["ci_method"] = km_ci_method(conf_type)
    return out


def _r_minmin(y: np.ndarray, x: np.ndarray) -> float:
    """First x where the curve y is <= 0.5, exactly as R's print.survfit.

    Hand-written: lifelines' ``median_survival_time_`` has no tolerance and no
    midpoint rule.  R (survival:::survmean, inner ``minmin``): if the curve is
    exactly 0.5 on a flat stretch, the median is the midpoint between the
    start of that stretch and the next time the curve drops further.
    """
    keep = ~np.isnan(y) & (y < 0.5 + _R_MEDIAN_TOL)
    if not keep.any():
        return float("nan")
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - 0.5) < _R_MEDIAN_TOL and (yk < yk[0]).any():
        return float((xk[0] + xk[np.nonzero(yk < yk[0])[0][0]]) / 2)
    return float(xk[0])


def _median_from_table(tab: pd.DataFrame) -> tuple[float, float, float]:
    x = tab["time"].to_numpy(dtype=float)
    return (
        _r_minmin(tab["surv"].to_numpy(dtype=float), x),
        _r_minmin(tab["lower"].to_numpy(dtype=float), x),
        _r_minmin(tab["upper"].to_numpy(dtype=float), x),
    )


def km_median(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None = None,
    group_order: Sequence[Any] | None = None,
    conf_type: str = DEFAULT_CONF_TYPE,
) -> pd.DataFrame:
    """Median survival with 95 % CI per group, as R ``print(survfit(..., conf.type=))``.

    median = smallest time with S(t) <= 0.5 (midpoint rule when S is exactly
    0.5 on a flat stretch); CI limits = where the pointwise band of type
    ``conf_type`` crosses 0.5 (Brookmeyer & Crowley 1982).  NaN when not reached.

    Columns: ``group, n, events, median, lower, upper, ci_method``.
    """
    _check_conf_type(conf_type)
    t, e, levels, masks, n_missing = _km_groups(df, time, event, group, group_order)
    tabs = [_km_one(t[m], e[m], conf_type) for m in masks]
    out = _km_median_rows(e, levels, masks, tabs, conf_type)
    out.attrs["n_missing"] = n_missing
    return out


def _km_median_rows(e: np.ndarray, levels: list, masks: list[np.ndarray],
                    tabs: list[pd.DataFrame], conf_type: str) -> pd.DataFrame:
    """The :func:`km_median` table from each group's KM table (``_km_one``)."""
    rows = []
    for lv, m, tab in zip(levels, masks, tabs, strict=True):
        med, lo, up = _median_from_table(tab)
        rows.append(
            {
                "group": lv,
                "n": int(m.sum()),
                "events": int(e[m].sum()),
                "median": med,
                "lower": lo,
                "upper": up,
            }
        )
    out = pd.DataFrame(rows)
    out["group"] = out["group"].astype(object)
    out["ci_method"] = km_median_ci_method(conf_type)
    return out


def at_risk(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None,
    times: Iterable[float],
    group_order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Risk table: numbers at risk at each time in ``times``.

    Events / censorings AT a time t are not yet counted here (time < t), unlike R's
    ``summary(fit, times=)`` and survminer, which count them (time <= t): for those
    semantics use :func:`her2cohort.stats.km_summary.risk_table`.

    Columns: ``group, time, n_risk, cum_events, cum_censored`` where
    ``n_risk`` = #(time >= t), ``cum_events`` = #(time < t and event),
    ``cum_censored`` = #(time < t and censored), so that
    ``n_risk + cum_events + cum_censored`` equals the group size.
    """
    df, n_missing = _omit(df, time, event, group)
    t, e = _validate_time_event(df, time, event)
    labels, levels = group_labels(df, group, group_order)
    t_arr = np.asarray(list(times), dtype=float)
    if t_arr.size == 0 or np.isnan(t_arr).any():
        raise ValueError("'times' must be a non-empty sequence of numbers without NaN")
    rows = []
    for lv, m in zip(levels, _masks(labels, levels), strict=True):
        tg, eg = t[m], e[m]
        for a in t_arr:
            before = tg < a
            rows.append(
                {
                    "group": lv,
                    "time": float(a),
                    "n_risk": int((tg >= a).sum()),
                    "cum_events": int((before & (eg == 1)).sum()),
                    "cum_censored": int((before & (eg == 0)).sum()),
                }
            )
    out = pd.DataFrame(rows)
    out["group"] = out["group"].astype(object)
    out.attrs["n_missing"] = n_missing
    return out


# ---------------------------------------------------------------------------
# log-rank test
# ---------------------------------------------------------------------------
def _logrank_pieces(
    t: np.ndarray, e: np.ndarray, codes: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance matrix of one stratum (R ``survdiff.fit``, rho = 0).

    E_k = sum_j d_j n_kj / n_j;  V_kl = sum_j d_j (n_j - d_j) / (n_j - 1) ·
    n_kj / n_j · (1[k = l] - n_lj / n_j)   (Mantel-Haenszel hypergeometric variance).
    """
    event_times = np.unique(t[e == 1])
    observed = np.bincount(codes, weights=e, minlength=k).astype(float)
    if event_times.size == 0:
        return observed, np.zeros(k), np.zeros((k, k))
    n_kj = np.empty((k, event_times.size))
    for g in range(k):
        tg = np.sort(t[codes == g])
        n_kj[g] = tg.size - np.searchsorted(tg, event_times, side="left")
    idx = np.searchsorted(event_times, t[e == 1])
    d_j = np.bincount(idx, minlength=event_times.size).astype(float)
    n_j = n_kj.sum(axis=0)
    expected = (n_kj * (d_j / n_j)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_j > 1, d_j * (n_j - d_j) / (n_j - 1), 0.0)
    frac = n_kj / n_j
    var = np.diag((frac * factor).sum(axis=1)) - (frac * factor) @ frac.T
    return observed, expected, var


def logrank(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    group_order: Sequence[Any] | None = None,
    strata: str | None = None,
) -> dict[str, Any]:
    """K-sample log-rank test, equal to R ``survdiff(Surv(time, event) ~ group)``.

    With ``strata`` the stratified test of R
    ``survdiff(Surv(time, event) ~ group + strata(strata))``: observed, expected and
    variance are summed over strata.  Rows with a missing time, event, group or
    stratum are dropped first (R ``na.omit``) and counted.

    Undefined tests are never reported as chi-square 0 / p 1:

    * fewer than 2 groups with data: ValueError (R: "There is only 1 group");
    * singular variance (e.g. every subject has the event at the same time): ValueError
      (R: ``solve`` "system is exactly singular");
    * fewer than 2 groups with expected events > 0 (e.g. no events): statistic and p are
      NaN and ``warning`` says why (R prints chisq 0 on <= 0 df with p NA).

    Returns a dict with ``test, statistic, df, p, groups, n, observed, expected``
    (the last three dicts keyed by group), ``table`` (a DataFrame with ``group, n,
    observed, expected, o_minus_e, oe2_over_e, oe2_over_v`` as printed by survdiff),
    ``variance`` (k x k variance matrix of O - E over ``groups``, summed over strata; R
    ``survdiff(...)$var``), ``n_total, n_used, n_missing, strata, warning``.
    """
    if group is None:
        raise ValueError("logrank needs a group column")
    n_total = len(df)
    df, n_missing = _complete_cases(df, [time, event, group, strata])
    t, e = _validate_time_event(df, time, event)
    labels, levels = group_labels(df, group, group_order, allow_empty=True)
    masks = [(lv, m) for lv, m in zip(levels, _masks(labels, levels), strict=True) if m.any()]
    levels = [lv for lv, _ in masks]
    if len(levels) < 2:
        raise ValueError(
            f"log-rank test undefined: group column '{group}' has fewer than 2 levels "
            f"with data: {levels}"
        )
    k = len(levels)
    codes = np.empty(len(labels), dtype=int)
    for j, (_, m) in enumerate(masks):
        codes[m] = j

    observed = np.zeros(k)
    expected = np.zeros(k)
    var = np.zeros((k, k))
    strata_values = [None] if strata is None else list(pd.unique(df[strata]))
    for sv_ in strata_values:
        m = np.ones(len(t), dtype=bool) if sv_ is None else (df[strata] == sv_).to_numpy()
        o_s, e_s, v_s = _logrank_pieces(t[m], e[m], codes[m], k)
        observed += o_s
        expected += e_s
        var += v_s

    # as survdiff: only groups with expected > 0 enter the statistic
    use = expected > 0
    warning = ""
    if use.sum() < 2:
        stat, dfree, p = float("nan"), int(use.sum()) - 1, float("nan")
        warning = (
            "log-rank test undefined: fewer than 2 groups have expected events > 0 "
            f"(events: {int(e.sum())})"
        )
    else:
        diff = (observed - expected)[use][1:]
        vv = var[np.ix_(use, use)][1:, 1:]
        if np.linalg.cond(vv) * np.finfo(float).eps >= 1 or not np.all(np.isfinite(vv)):
            raise ValueError(
                "log-rank test undefined: the variance matrix is singular (zero variance, "
                "e.g. all events at one time with everyone at risk having the event)"
            )
        stat = float(diff @ np.linalg.solve(vv, diff))
        dfree = int(use.sum()) - 1
        p = float(chi2.sf(stat, dfree))
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame(
            {
                "group": pd.Series(levels, dtype=object),
                "n": np.bincount(codes, minlength=k),
                "observed": observed.astype(int),
                "expected": expected,
                "o_minus_e": observed - expected,
                "oe2_over_e": (observed - expected) ** 2 / expected,
                "oe2_over_v": (observed - expected) ** 2 / np.diag(var),
            }
        )
    test = LOGRANK_TEST if strata is None else f"stratified {LOGRANK_TEST} by '{strata}'"
    return {
        "test": test,
        "statistic": stat,
        "df": dfree,
        "p": p,
        "groups": levels,
        "n": dict(zip(levels, table["n"].astype(int).tolist(), strict=True)),
        "observed": dict(zip(levels, table["observed"].astype(int).tolist(), strict=True)),
        "expected": dict(zip(levels, expected.tolist(), strict=True)),
        "table": table,
        "variance": var,
        "n_total": n_total,
        "n_used": len(t),
        "n_missing": n_missing,
        "strata": strata,
        "warning": warning,
    }


# ---------------------------------------------------------------------------
# Cox proportional hazards
# ---------------------------------------------------------------------------
def _design_matrix(
    df: pd.DataFrame, covariates: Sequence[str], categorical: dict[str, Sequence[Any]]
) -> pd.DataFrame:
    """Numeric design matrix with R-style treatment coding for categoricals."""
    cols: dict[str, np.ndarray] = {}
    for c in covariates:
        s = df[c]
        n_missing = int(s.isna().sum())
        if n_missing:
            raise ValueError(
                f"covariate column '{c}' has {n_missing} missing value(s); "
                "Cox models are fitted on complete cases only - filter or impute first"
            )
        if c in categorical:
            levels = check_levels(s, c, categorical[c])
            for lv in levels:
                if not (s == lv).any():
                    raise ValueError(f"covariate column '{c}' has no rows with level {lv!r}")
            for lv in levels[1:]:
                cols[f"{c}[{lv}]"] = (s == lv).to_numpy(dtype=float)
        else:
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                cols[c] = s.to_numpy(dtype=float)
            else:
                raise ValueError(
                    f"covariate column '{c}' is not numeric (dtype {s.dtype}); "
                    "declare it in `categorical` with its level order"
                )
    return pd.DataFrame(cols, index=df.index)


def cox(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: list[str],
    strata: list[str] | None = None,
    categorical: dict[str, list] | None = None,
) -> pd.DataFrame:
    """Cox proportional-hazards model, Efron ties, equal to R ``coxph(ties="efron")``.

    ``categorical`` maps a covariate to its level order; the first level is
    the reference and the others become ``col[level]`` indicator terms
    (treatment coding, like R factors).  ``strata`` are stratification
    columns (separate baseline hazards, R ``strata()``).

    Returns one row per term with columns ``term, coef, se, hr, lower, upper,
    z, p, test, ci_method, n, events``.  Model-level results are in
    ``.attrs``: ``n, events, loglik, loglik_null, lr_test, lr_statistic,
    lr_df, lr_p, ties, strata``.  ``warning`` is empty unless a coefficient is
    not estimable (collinear: NaN) or may be infinite (no events in a group:
    se, z, p and CI NaN), as R's coxph warnings.  Fitted by
    :class:`her2cohort.stats.cox.CoxModel` (R's Newton-Raphson, polished to
    machine precision).  Rows with a missing value in time, event, a covariate or a stratum
    are left out (R's ``na.omit``); ``attrs["n_missing"]`` counts them.
    """
    covariates = list(covariates)
    if not covariates:
        raise ValueError("cox needs at least one covariate")
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"duplicated covariates: {covariates}")
    strata = list(strata) if strata else []
    categorical = dict(categorical or {})
    stray = [c for c in categorical if c not in covariates]
    if stray:
        raise ValueError(f"categorical column(s) not listed in covariates: {stray}")
    _require_columns(df, [*covariates, *strata])
    overlap = {time, event} & set(covariates + strata)
    if overlap:
        raise ValueError(f"time/event column(s) used as covariate or stratum: {sorted(overlap)}")
    df, n_missing = _omit(df, time, event, *covariates, *strata)
    t, e = _validate_time_event(df, time, event)
    _design_matrix(df, covariates, categorical)  # validation only (bad levels, types)

    # Hand-written fit (stats/cox.py): lifelines' convergence is looser than
    # coxph's and it lacks R's diagnostics; this matches coxph to < 5e-7.
    data = df.assign(**{time: t, event: e})
    fit = CoxModel(ties="efron").fit(
        data, time, event, covariates, categorical=categorical, strata=strata or None,
        robust=False,
    )
    summ = fit.summary()
    tests = fit.tests().set_index("test")
    n_obs, n_events = fit.n, fit.nevent
    out = pd.DataFrame(
        {
            "term": summ["term"],
            "coef": summ["coef"],
            "se": summ["se"],
            "hr": summ["hr"],
            "lower": summ["lower"],
            "upper": summ["upper"],
            "z": summ["z"],
            "p": summ["p"],
            "test": "Wald",
            "ci_method": COX_CI_METHOD,
            "n": n_obs,
            "events": n_events,
            "warning": summ["warning"],
        }
    )
    lr = tests.loc[TEST_LR]
    out.attrs.update(
        {
            "n": n_obs,
            "events": n_events,
            "loglik": fit.loglik[1],
            "loglik_null": fit.loglik[0],
            "lr_test": "likelihood ratio",
            "lr_statistic": float(lr["statistic"]),
            "lr_df": int(lr["df"]),
            "lr_p": float(lr["p"]),
            "ties": "efron",
            "strata": strata,
            "n_missing": n_missing,
        }
    )
    return out


# ---------------------------------------------------------------------------
# follow-up
# ---------------------------------------------------------------------------
def reverse_km_followup(
    df: pd.DataFrame, time: str, event: str, conf_type: str = DEFAULT_CONF_TYPE
) -> dict[str, Any]:
    """Median follow-up by the reverse Kaplan-Meier method.

    The event indicator is swapped (censoring becomes the event) and the
    median of that KM curve is taken with its 95 % CI of type ``conf_type``, as
    R ``survfit(Surv(time, 1 - event) ~ 1, conf.type=conf_type)``.
    """
    _check_conf_type(conf_type)
    df, n_missing = _omit(df, time, event)
    t, e = _validate_time_event(df, time, event)
    med, lo, up = _median_from_table(_km_one(t, 1 - e, conf_type))
    return {
        "method": REVERSE_KM_METHOD,
        "median": med,
        "lower": lo,
        "upper": up,
        "ci_method": km_median_ci_method(conf_type),
        "n": len(t),
        "n_censored": int((e == 0).sum()),
        "n_missing": n_missing,
    }
