"""Kaplan-Meier summaries: summary table, risk table, RMST, landmark analysis.

Generic (DataFrame + column names in, tidy DataFrames out, no I/O), built on
:mod:`her2cohort.stats.survival` and checked against R's ``survival`` in ``tests/test_km.py``:

========================  ===============================================================
function                  R reference
========================  ===============================================================
``km_summary_table``      ``print(survfit)`` (median, CI) + ``summary(survfit, times=)``
``risk_table``            ``summary(survfit, times=, extend=TRUE)``; cumulative columns as
                          survminer's risk table (``cum.n.event``, ``cum.n.censor``)
``rmst``                  ``print(survfit, rmean=tau)``: ``rmean``, ``se(rmean)``
``rmst_difference``       difference of two ``rmean`` values, normal approximation
``landmark``              ``survfit``/``survdiff`` on ``subset(d, time > L)``, time - L
========================  ===============================================================

Rows with a missing value in a variable involved are dropped first (R ``na.omit``) and
the numbers used / missing are reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .grouping import group_labels
from .survival import (
    DEFAULT_CONF_TYPE,
    Z95,
    _at_times,
    _check_conf_type,
    _complete_cases,
    _km_at_rows,
    _km_core,
    _km_groups,
    _km_median_rows,
    _km_one,
    _masks,
    _validate_time_event,
    km_ci_method,
    km_median,
    km_median_ci_method,
    km_table,
    logrank,
)

__all__ = [
    "RMST_CI_METHOD",
    "RMST_DIFF_CI_METHOD",
    "RMST_DIFF_TEST",
    "km_summary_table",
    "landmark",
    "risk_table",
    "rmst",
    "rmst_difference",
]

RMST_CI_METHOD = "normal approximation: rmean ± 1.96·se(rmean) (R survfit rmean variance)"
RMST_DIFF_CI_METHOD = (
    "normal approximation, independent groups: diff ± 1.96·sqrt(se1^2 + se2^2)"
)
RMST_DIFF_TEST = "z test of RMST difference (normal approximation, independent groups)"


def _times(values: Iterable[float], what: str) -> np.ndarray:
    arr = np.asarray(list(values), dtype=float)
    if arr.size == 0 or np.isnan(arr).any():
        raise ValueError(f"'{what}' must be a non-empty sequence of numbers without NaN")
    return arr


def _label(x: float) -> str:
    return f"{x:g}"


def km_summary_table(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None = None,
    landmarks: Iterable[float] = (36, 60),
    group_order: Sequence[Any] | None = None,
    conf_type: str = DEFAULT_CONF_TYPE,
) -> pd.DataFrame:
    """One row per group: n, events, median (95 % CI) and S(t) (95 % CI) at landmarks.

    R: ``print(survfit(..., conf.type=))`` for ``n``, ``events``, ``median``,
    ``0.95LCL``, ``0.95UCL``; ``summary(fit, times=landmarks)`` for the landmark
    survival.  Columns: ``group, n_total, n_missing, n, events, median, median_lower,
    median_upper`` then, per landmark L, ``surv_L, surv_L_lower, surv_L_upper,
    n_risk_L`` (NaN beyond the group's last follow-up time), then ``ci_method``
    (landmark survival) and ``median_ci_method``.  ``n_total``/``n_missing`` count the
    rows before/removed by ``na.omit`` over time, event and group.
    """
    _check_conf_type(conf_type)
    lms = _times(landmarks, "landmarks")
    n_total = len(df)
    data, n_missing = _complete_cases(df, [time, event, group])
    # km_median and km_at of the same data: each group's KM table made once for both
    t, e, levels, masks, _ = _km_groups(data, time, event, group, group_order)
    tabs = [_km_one(t[m], e[m], conf_type) for m in masks]
    med = _km_median_rows(e, levels, masks, tabs, conf_type)
    at = _km_at_rows(t, levels, masks, tabs, _at_times(lms), conf_type)
    out = pd.DataFrame(
        {
            "group": med["group"].astype(object),
            "n_total": n_total,
            "n_missing": n_missing,
            "n": med["n"],
            "events": med["events"],
            "median": med["median"],
            "median_lower": med["lower"],
            "median_upper": med["upper"],
        }
    )
    for lm in lms:
        sub = at[at["time"] == lm].set_index("group")
        key = _label(lm)
        for src, dst in (("surv", ""), ("lower", "_lower"), ("upper", "_upper")):
            out[f"surv_{key}{dst}"] = sub.loc[list(out["group"]), src].to_numpy()
        out[f"n_risk_{key}"] = sub.loc[list(out["group"]), "n_risk"].to_numpy()
    out["ci_method"] = km_ci_method(conf_type)
    out["median_ci_method"] = km_median_ci_method(conf_type)
    return out


def risk_table(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None,
    times: Iterable[float],
    group_order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Numbers at risk with events and censorings, as R ``summary(fit, times=, extend=TRUE)``.

    For each requested time t (sorted ascending): ``n_risk`` = #(time >= t);
    ``n_event`` / ``n_censor`` = events / censorings with time in (previous t, t]
    (the first interval starts at -inf), as R's ``n.event`` / ``n.censor``;
    ``cum_events`` / ``cum_censored`` = their running sums = #(time <= t), as survminer's
    ``cum.n.event`` / ``cum.n.censor``.  Note that an event at exactly t is both at risk
    and counted as an event at t (R's convention).  Rows with NA are dropped first
    (``n_missing`` column).
    """
    t_arr = np.unique(_times(times, "times"))
    data, n_missing = _complete_cases(df, [time, event, group])
    t, e = _validate_time_event(data, time, event)
    labels, levels = group_labels(data, group, group_order)
    parts = []
    for lv, m in zip(levels, _masks(labels, levels), strict=True):
        tg = np.sort(t[m])
        ev = np.sort(t[m][e[m] == 1])
        ce = np.sort(t[m][e[m] == 0])
        cum_e = np.searchsorted(ev, t_arr, side="right")
        cum_c = np.searchsorted(ce, t_arr, side="right")
        parts.append(
            pd.DataFrame(
                {
                    "group": pd.Series([lv] * len(t_arr), dtype=object),
                    "time": t_arr,
                    "n_risk": tg.size - np.searchsorted(tg, t_arr, side="left"),
                    "n_event": np.diff(cum_e, prepend=0),
                    "n_censor": np.diff(cum_c, prepend=0),
                    "cum_events": cum_e,
                    "cum_censored": cum_c,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["n_missing"] = n_missing
    return out


def _rmean(t: np.ndarray, e: np.ndarray, tau: float) -> tuple[float, float]:
    """Restricted mean and its SE up to ``tau``: R ``survival:::survmean`` (start.time 0).

    Area under the KM step function on [0, tau]; variance
    sum_k h_k A_k^2 with h_k = d_k / (n_k (n_k - d_k)) (0 when n_k = d_k) and A_k the area
    under the curve from t_k to tau, over distinct times t_k <= tau.  Written by hand:
    lifelines' ``restricted_mean_survival_time`` gives the mean but not R's variance.
    """
    k = _km_core(t, e)
    time, surv, n, d = k["time"], k["surv"], k["n_risk"], k["n_event"]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    keep = time <= tau
    if not keep.any():
        return float(tau), 0.0
    tt = np.append(time[keep], tau)
    ss = np.append(surv[keep], surv[keep][-1])
    hh = np.append(hh[keep], 0.0)
    delta = np.diff(np.concatenate(([0.0], tt)))
    rect = delta * np.concatenate(([1.0], ss[:-1]))
    area_after = np.cumsum(rect[1:][::-1])  # area from t_k to tau, last k first
    var = float(np.sum(area_after**2 * hh[::-1][1:]))
    return float(rect.sum()), float(np.sqrt(var))


def rmst(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str | None,
    tau: float,
    group_order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Restricted mean survival time up to ``tau`` per group, as R ``print(fit, rmean=tau)``.

    Columns ``group, tau, n, events, rmst, se, lower, upper, ci_method, warning,
    n_total, n_missing``; ``rmst``/``se`` equal R's ``rmean``/``se(rmean)``
    (``summary(fit, rmean=tau)$table``).  Beyond a group's last follow-up time the curve
    is carried forward flat, as R does; ``warning`` says so when ``tau`` exceeds it.
    """
    tau = float(tau)
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number, got {tau}")
    n_total = len(df)
    data, n_missing = _complete_cases(df, [time, event, group])
    t, e = _validate_time_event(data, time, event)
    labels, levels = group_labels(data, group, group_order)
    rows = []
    for lv, m in zip(levels, _masks(labels, levels), strict=True):
        mean, se = _rmean(t[m], e[m], tau)
        last = float(t[m].max())
        rows.append(
            {
                "group": lv,
                "tau": tau,
                "n": int(m.sum()),
                "events": int(e[m].sum()),
                "rmst": mean,
                "se": se,
                "lower": mean - Z95 * se,
                "upper": mean + Z95 * se,
                "ci_method": RMST_CI_METHOD,
                "warning": (
                    f"tau {tau:g} beyond last follow-up {last:g}: curve carried forward flat"
                    if tau > last
                    else ""
                ),
                "n_total": n_total,
                "n_missing": n_missing,
            }
        )
    out = pd.DataFrame(rows)
    out["group"] = out["group"].astype(object)
    return out


def rmst_difference(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    tau: float,
    group_order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Difference in RMST (second group minus first) with 95 % CI and two-sided p.

    The group's estimates are independent, so var(diff) = se1^2 + se2^2; CI and
    z test by the normal approximation (as survRM2's ``rmst2`` unadjusted contrast).
    Exactly two groups are needed.  Columns ``contrast, tau, rmst_1, rmst_2, diff, se,
    lower, upper, z, p, test, ci_method, warning``.
    """
    from scipy.stats import norm

    per = rmst(df, time, event, group, tau, group_order)
    if len(per) != 2:
        raise ValueError(f"rmst_difference needs exactly 2 groups, got {list(per['group'])}")
    a, b = per.iloc[0], per.iloc[1]
    diff = b["rmst"] - a["rmst"]
    se = float(np.hypot(a["se"], b["se"]))
    z = diff / se if se > 0 else float("nan")
    warn = "; ".join(w for w in per["warning"] if w)
    if se == 0:
        warn = "; ".join(x for x in (warn, "standard error is 0: test undefined") if x)
    return pd.DataFrame(
        [
            {
                "contrast": f"{b['group']} - {a['group']}",
                "tau": float(tau),
                "rmst_1": a["rmst"],
                "rmst_2": b["rmst"],
                "diff": diff,
                "se": se,
                "lower": diff - Z95 * se,
                "upper": diff + Z95 * se,
                "z": z,
                "p": float(2 * norm.sf(abs(z))) if se > 0 else float("nan"),
                "test": RMST_DIFF_TEST,
                "ci_method": RMST_DIFF_CI_METHOD,
                "warning": warn,
            }
        ]
    )


def landmark(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    landmark_time: float,
    group_order: Sequence[Any] | None = None,
    conf_type: str = DEFAULT_CONF_TYPE,
) -> dict[str, Any]:
    """Landmark analysis (Anderson, Cain & Gelber 1983; Dafni 2011).

    Keeps patients event-free and still under follow-up after the landmark
    (``time > landmark_time``: an event or censoring at or before it excludes), resets
    time to ``time - landmark_time`` and runs Kaplan-Meier and the log-rank test on
    that subset (R: ``d2 <- subset(d, time > L); d2$time <- d2$time - L``, then
    ``survfit``/``survdiff``).  The group (e.g. pCR) is taken as recorded; it must be
    known by the landmark for the analysis to be free of immortal-time bias.

    Returns a dict: ``data`` (the landmark subset with reset time), ``counts`` (per
    group: ``n``, ``event_before``, ``censored_before``, ``at_landmark``), ``km``
    (:func:`km_table`), ``median`` (:func:`km_median`), ``logrank`` (:func:`logrank`),
    ``landmark_time``, ``n_total``, ``n_missing``.
    """
    lt = float(landmark_time)
    if not np.isfinite(lt) or lt < 0:
        raise ValueError(f"landmark_time must be a finite number >= 0, got {landmark_time}")
    n_total = len(df)
    data, n_missing = _complete_cases(df, [time, event, group])
    t, e = _validate_time_event(data, time, event)
    labels, levels = group_labels(data, group, group_order)
    keep = t > lt
    counts = pd.DataFrame(
        [
            {
                "group": lv,
                "n": int(m.sum()),
                "event_before": int((m & ~keep & (e == 1)).sum()),
                "censored_before": int((m & ~keep & (e == 0)).sum()),
                "at_landmark": int((m & keep).sum()),
            }
            for lv, m in zip(levels, _masks(labels, levels), strict=True)
        ]
    )
    counts["group"] = counts["group"].astype(object)
    sub = data.loc[keep].copy()
    sub[time] = sub[time].astype(float) - lt
    present = [lv for lv in levels if lv in set(sub[group])]
    if not present:
        raise ValueError(f"no patient is event-free and under follow-up at landmark {lt:g}")
    km = km_table(sub, time, event, group, present, conf_type=conf_type)
    med = km_median(sub, time, event, group, present, conf_type=conf_type)
    lr = logrank(sub, time, event, group, present) if len(present) >= 2 else None
    return {
        "data": sub,
        "counts": counts,
        "km": km,
        "median": med,
        "logrank": lr,
        "landmark_time": lt,
        "n_total": n_total,
        "n_missing": n_missing,
    }
