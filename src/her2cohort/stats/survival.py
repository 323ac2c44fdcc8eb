"""Time-to-event statistics (Kaplan-Meier, log-rank, Cox PH, reverse-KM follow-up).

Every function is generic over a :class:`pandas.DataFrame` and column names, is
deterministic, and is cross-checked against R's ``survival`` package in
``tests/test_survival_vs_r.py``:

=====================  ======================================================
function               R reference
=====================  ======================================================
``km_table``           ``survfit(Surv(time, event) ~ group, conf.type="log-log")``
``km_at``              ``summary(fit, times = at, extend = FALSE)``
``km_median``          ``summary(fit)$table`` / ``print.survfit`` (median, LCL, UCL)
``logrank``            ``survdiff(Surv(time, event) ~ group)``
``cox``                ``coxph(Surv(time, event) ~ ... + strata(...), ties = "efron")``
``reverse_km_followup`` ``survfit(Surv(time, 1 - event) ~ 1)`` median
=====================  ======================================================

The numerical work is done by :mod:`lifelines` wherever lifelines offers it;
the Cox model is :mod:`her2cohort.stats.cox` (R's coxph algorithm).
The few pieces written by hand are marked with a comment explaining what
lifelines lacks (or where its convention differs from R's).

Conventions
-----------
* ``time`` must be non-missing, finite and ``>= 0``; ``event`` must be 0/1
  (booleans accepted).  Violations raise :class:`ValueError` naming the
  column and the number of offending rows.
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
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from scipy.stats import norm

from .cox import TEST_LR, CoxModel
from .grouping import group_labels

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


def _mask(values: np.ndarray, level: Any) -> np.ndarray:
    return np.array([v == level for v in values], dtype=bool)


# ---------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------
def _km_one(t: np.ndarray, e: np.ndarray) -> pd.DataFrame:
    """KM table for one group, one row per distinct observed time (like R survfit)."""
    kmf = KaplanMeierFitter(alpha=1 - CONF_LEVEL).fit(t, event_observed=e)
    et = kmf.event_table
    # lifelines always adds a row at time 0 (and would add timeline points);
    # R reports only the observed times, so keep rows where someone left.
    et = et[et["removed"] > 0]
    times = et.index.to_numpy(dtype=float)
    surv = kmf.survival_function_.iloc[:, 0].reindex(et.index).to_numpy(dtype=float)
    ci = kmf.confidence_interval_survival_function_.reindex(et.index)
    lower = ci.iloc[:, 0].to_numpy(dtype=float).copy()
    upper = ci.iloc[:, 1].to_numpy(dtype=float).copy()

    n_risk = et["at_risk"].to_numpy(dtype=int)
    n_event = et["observed"].to_numpy(dtype=int)
    n_censor = et["censored"].to_numpy(dtype=int)

    # Hand-written: lifelines has no public Greenwood standard error, and its
    # private running sum drops the infinite term when every subject at risk
    # has the event (n == d).  Greenwood: var(log S) = sum d / (n (n - d));
    # SE(S) = S * sqrt(var(log S)).  As in R (summary.survfit), SE is NaN
    # when S == 0 (0 * Inf).
    with np.errstate(divide="ignore", invalid="ignore"):
        incr = np.where(n_risk > n_event, n_event / (n_risk * (n_risk - n_event)), np.inf)
        incr = np.where(n_event == 0, 0.0, incr)
        var_log_s = np.cumsum(incr)
        std_err = surv * np.sqrt(var_log_s)
    std_err = np.where(surv == 0, np.nan, std_err)

    # The log-log interval is undefined at S == 1 and S == 0; lifelines fills
    # 1.0 / 0.0 there, R (survfit_confint) returns NA.  Follow R.
    undefined = (surv >= 1.0) | (surv <= 0.0)
    lower[undefined] = np.nan
    upper[undefined] = np.nan

    return pd.DataFrame(
        {
            "time": times,
            "n_risk": n_risk,
            "n_event": n_event,
            "n_censor": n_censor,
            "surv": surv,
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
        }
    )


def km_table(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None = None,
    group_order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier estimate at every distinct observed time, per group.

    Returns columns ``group, time, n_risk, n_event, n_censor, surv, std_err,
    lower, upper, ci_method`` sorted by group (in ``group_order``) then time.
    ``std_err`` is the Greenwood standard error of S(t) (R:
    ``summary(fit, censored=TRUE)$std.err``); ``lower``/``upper`` are the
    95 % log-log limits (R ``conf.type="log-log"``), NaN where S is 0 or 1.
    """
    t, e = _validate_time_event(df, time, event)
    labels, levels = group_labels(df, group, group_order)
    parts = []
    for lv in levels:
        m = _mask(labels, lv)
        part = _km_one(t[m], e[m])
        part.insert(0, "group", pd.Series([lv] * len(part), dtype=object))
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["ci_method"] = KM_CI_METHOD
    return out


def km_at(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None = None,
    at: Iterable[float] = (36, 60),
    group_order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """KM survival (with 95 % log-log CI) at landmark times.

    Semantics of R ``summary(survfit(...), times=at, extend=FALSE)``: the
    estimate is the step function at the last distinct time ``<= t``; before
    the first time S = 1 with CI (1, 1) and SE 0; beyond the last follow-up
    time of the group R drops the row, here the row is kept with NaN
    estimate and ``n_risk = 0``.  ``n_risk`` is the number with time ``>= t``.

    Columns: ``group, time, surv, std_err, lower, upper, n_risk, ci_method``.
    """
    t, e = _validate_time_event(df, time, event)
    labels, levels = group_labels(df, group, group_order)
    at_arr = np.asarray(list(at), dtype=float)
    if at_arr.size == 0 or np.isnan(at_arr).any():
        raise ValueError("'at' must be a non-empty sequence of numbers without NaN")
    rows = []
    for lv in levels:
        m = _mask(labels, lv)
        tab = _km_one(t[m], e[m])
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
    out["ci_method"] = KM_CI_METHOD
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
) -> pd.DataFrame:
    """Median survival with 95 % CI per group, as R ``print(survfit(...))``.

    median = smallest time with S(t) <= 0.5 (midpoint rule when S is exactly
    0.5 on a flat stretch); CI limits = where the log-log pointwise band
    crosses 0.5 (Brookmeyer & Crowley).  NaN when not reached.

    Columns: ``group, n, events, median, lower, upper, ci_method``.
    """
    t, e = _validate_time_event(df, time, event)
    labels, levels = group_labels(df, group, group_order)
    rows = []
    for lv in levels:
        m = _mask(labels, lv)
        med, lo, up = _median_from_table(_km_one(t[m], e[m]))
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
    out["ci_method"] = KM_MEDIAN_CI_METHOD
    return out


def at_risk(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None,
    times: Iterable[float],
    group_order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Risk table (survminer style): numbers at risk at each time in ``times``.

    Columns: ``group, time, n_risk, cum_events, cum_censored`` where
    ``n_risk`` = #(time >= t), ``cum_events`` = #(time < t and event),
    ``cum_censored`` = #(time < t and censored), so that
    ``n_risk + cum_events + cum_censored`` equals the group size.
    """
    t, e = _validate_time_event(df, time, event)
    labels, levels = group_labels(df, group, group_order)
    t_arr = np.asarray(list(times), dtype=float)
    if t_arr.size == 0 or np.isnan(t_arr).any():
        raise ValueError("'times' must be a non-empty sequence of numbers without NaN")
    rows = []
    for lv in levels:
        m = _mask(labels, lv)
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
    return out


# ---------------------------------------------------------------------------
# log-rank test
# ---------------------------------------------------------------------------
def logrank(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    group_order: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """K-sample log-rank test, equal to R ``survdiff(Surv(time, event) ~ group)``.

    Returns a dict with ``test, statistic, df, p, groups, n, observed,
    expected`` (the last three are dicts keyed by group).
    """
    if group is None:
        raise ValueError("logrank needs a group column")
    t, e = _validate_time_event(df, time, event)
    labels, levels = group_labels(df, group, group_order)
    if len(levels) < 2:
        raise ValueError(f"group column '{group}' has fewer than 2 levels: {levels}")
    codes = np.empty(len(labels), dtype=int)
    for k, lv in enumerate(levels):
        codes[_mask(labels, lv)] = k

    res = multivariate_logrank_test(t, codes, event_observed=e)

    # Hand-written: lifelines' result does not expose the per-group observed
    # and expected event counts reported by survdiff.
    # E_k = sum over event times of d_j * n_kj / n_j.
    event_times = np.unique(t[e == 1])
    d_all = np.array([((t == u) & (e == 1)).sum() for u in event_times], dtype=float)
    n_all = np.array([(t >= u).sum() for u in event_times], dtype=float)
    observed, expected, n_grp = {}, {}, {}
    for k, lv in enumerate(levels):
        mk = codes == k
        n_k = np.array([(t[mk] >= u).sum() for u in event_times], dtype=float)
        observed[lv] = int(e[mk].sum())
        expected[lv] = float(np.sum(d_all * n_k / n_all))
        n_grp[lv] = int(mk.sum())
    return {
        "test": LOGRANK_TEST,
        "statistic": float(res.test_statistic),
        "df": int(res.degrees_of_freedom),
        "p": float(res.p_value),
        "groups": levels,
        "n": n_grp,
        "observed": observed,
        "expected": expected,
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
            levels = list(categorical[c])
            if len(levels) < 2 or len(set(levels)) != len(levels):
                raise ValueError(f"categorical levels for '{c}' must be >= 2 distinct values")
            bad = ~s.isin(levels)
            if bad.any():
                raise ValueError(
                    f"covariate column '{c}' has {int(bad.sum())} value(s) not in its levels "
                    f"{levels}: {sorted(map(str, pd.unique(s[bad])))}"
                )
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
    machine precision).
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
    t, e = _validate_time_event(df, time, event)
    overlap = {time, event} & set(covariates + strata)
    if overlap:
        raise ValueError(f"time/event column(s) used as covariate or stratum: {sorted(overlap)}")

    _design_matrix(df, covariates, categorical)  # validation only (raises on NA, bad levels)
    for s in strata:
        n_missing = int(df[s].isna().sum())
        if n_missing:
            raise ValueError(f"strata column '{s}' has {n_missing} missing value(s)")

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
        }
    )
    return out


# ---------------------------------------------------------------------------
# follow-up
# ---------------------------------------------------------------------------
def reverse_km_followup(df: pd.DataFrame, time: str, event: str) -> dict[str, Any]:
    """Median follow-up by the reverse Kaplan-Meier method.

    The event indicator is swapped (censoring becomes the event) and the
    median of that KM curve is taken with its 95 % log-log CI, as
    R ``survfit(Surv(time, 1 - event) ~ 1)``.
    """
    t, e = _validate_time_event(df, time, event)
    med, lo, up = _median_from_table(_km_one(t, 1 - e))
    return {
        "method": REVERSE_KM_METHOD,
        "median": med,
        "lower": lo,
        "upper": up,
        "ci_method": KM_MEDIAN_CI_METHOD,
        "n": len(t),
        "n_censored": int((e == 0).sum()),
    }
