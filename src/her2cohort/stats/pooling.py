"""Multiple imputation: chained equations and Rubin's rules.

Generic over a :class:`pandas.DataFrame` and column names, deterministic given a seed, no
I/O; checked in ``tests/test_pooling.py`` against R's ``mice::pool()`` /
``mice::pool.scalar()`` on the same completed data sets.

* :func:`rubin_pool` pools any m x p estimates with their variances (or m x p x p
  covariances): Rubin (1987) with the Barnard & Rubin (1999) small-sample degrees of
  freedom, exactly as ``mice::pool()`` (``pool.fitlist`` + ``barnard.rubin`` +
  ``summary.mipo``).  Used for logistic and Cox models alike.
* :func:`impute_mice` makes m completed data sets by chained equations as R's ``mice``
  (PMM for numeric, logreg / polyreg for categorical columns), vectorised in
  :mod:`her2cohort.stats.mice`.
* :func:`pooled_logistic` imputes, fits :func:`her2cohort.stats.logistic.fit_logistic` on
  each completed data set and pools, reported beside the complete-case fit.
* :func:`impute_for_cox` imputes the covariates of a Cox model with the event indicator and
  the Nelson-Aalen cumulative hazard as predictors (White & Royston, Stat Med 2009);
  :func:`pooled_cox` fits :class:`her2cohort.stats.cox.CoxModel` on each completed data set
  and pools as ``mice::pool`` does for ``coxph`` (complete-data df = events - coefficients).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["impute_for_cox", "impute_mice", "pooled_cox", "pooled_logistic", "rubin_pool"]

CONF_LEVEL = 0.95
TEST_POOLED = "Wald t, Rubin's rules (Barnard-Rubin df)"
CI_POOLED = "Rubin's rules, t with Barnard-Rubin df"


def _barnard_rubin(m: int, b: np.ndarray, t: np.ndarray, dfcom: float) -> np.ndarray:
    """Barnard & Rubin (1999) df, as ``mice:::barnard.rubin`` (lambda floored at 1e-4)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (1.0 + 1.0 / m) * b / t
    lam = np.where(lam < 1e-4, 1e-4, lam)
    dfold = (m - 1) / lam**2
    if math.isinf(dfcom):
        return dfold
    dfobs = (dfcom + 1.0) / (dfcom + 3.0) * dfcom * (1.0 - lam)
    return dfold * dfobs / (dfold + dfobs)


def rubin_pool(
    estimates: Any,
    variances: Any,
    df_complete: float | None = None,
    names: Sequence[str] | None = None,
    conf_level: float = CONF_LEVEL,
) -> pd.DataFrame:
    """Pool m completed-data analyses by Rubin's rules.

    ``estimates``: m x p (one row per imputation); ``variances``: m x p squared standard
    errors, or m x p x p covariance matrices (the pooled total covariance
    ``T = Ubar + (1 + 1/m) B`` is then in ``result.attrs["cov"]``).  ``df_complete``: the
    complete-data degrees of freedom (mice uses the model's residual df, n - p, for a glm;
    ``None`` or ``inf`` = large sample; mice 3.13+ uses events - coefficients for a Cox
    model, see :func:`pooled_cox`).

    Per parameter, as ``summary(mice::pool(fits), conf.int = TRUE)``: ``estimate`` (mean),
    ``ubar`` (within), ``b`` (between, variance with m - 1), ``t = ubar + (1 + 1/m) b``,
    ``std_error = sqrt(t)``, ``riv = (1 + 1/m) b / ubar``, ``lambda = (1 + 1/m) b / t``,
    ``df`` (Barnard-Rubin, lambda floored at 1e-4), ``fmi = (riv + 2 / (df + 3)) /
    (riv + 1)``, ``statistic = estimate / std_error``, two-sided ``p`` from t(max(df,
    0.001)), ``lower``/``upper`` = estimate -/+ t_{df} * std_error, plus ``m``, ``dfcom``,
    ``test`` and ``ci_method``.
    """
    from scipy.stats import t as t_dist

    q = np.asarray(estimates, dtype=float)
    if q.ndim == 1:
        q = q[:, None]
    if q.ndim != 2:
        raise ValueError(f"estimates must be m x p, got shape {q.shape}")
    m, p = q.shape
    if m < 2:
        raise ValueError(f"Rubin's rules need at least 2 imputations, got {m}")
    u = np.asarray(variances, dtype=float)
    if u.ndim == 1 and p == 1:
        u = u[:, None]
    if u.ndim == 3:
        if u.shape != (m, p, p):
            raise ValueError(f"covariances must be m x p x p = {(m, p, p)}, got {u.shape}")
        ubar_mat = u.mean(axis=0)
        ubar = np.diag(ubar_mat).copy()
    elif u.ndim == 2:
        if u.shape != (m, p):
            raise ValueError(f"variances must be m x p = {(m, p)}, got {u.shape}")
        ubar_mat = None
        ubar = u.mean(axis=0)
    else:
        raise ValueError(f"variances must be m x p or m x p x p, got shape {u.shape}")
    if not np.all(np.isfinite(q)) or not np.all(np.isfinite(ubar)):
        raise ValueError("estimates and variances must be finite in every imputation")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    dfcom = math.inf if df_complete is None else float(df_complete)
    if dfcom <= 0:
        raise ValueError(f"df_complete must be positive, got {df_complete}")
    if names is None:
        names = [f"x{j + 1}" for j in range(p)]
    names = list(names)
    if len(names) != p:
        raise ValueError(f"{len(names)} names for {p} parameters")
    qbar = q.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    tt = ubar + (1.0 + 1.0 / m) * b
    df = _barnard_rubin(m, b, tt, dfcom)
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1.0 + 1.0 / m) * b / ubar
        lam = (1.0 + 1.0 / m) * b / tt
        fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0)
        se = np.sqrt(tt)
        stat = qbar / se
    p_val = 2.0 * t_dist.sf(np.abs(stat), np.maximum(df, 0.001))
    crit = t_dist.ppf(0.5 + conf_level / 2.0, df)
    out = pd.DataFrame({
        "term": names, "m": m, "estimate": qbar, "ubar": ubar, "b": b, "t": tt,
        "std_error": se, "riv": riv, "lambda": lam, "fmi": fmi, "df": df, "dfcom": dfcom,
        "statistic": stat, "p": p_val, "lower": qbar - crit * se, "upper": qbar + crit * se,
        "test": TEST_POOLED,
        "ci_method": CI_POOLED + f", {100 * conf_level:g}%",
    })
    if ubar_mat is not None:
        bmat = np.cov(q, rowvar=False, ddof=1).reshape(p, p)
        out.attrs["cov"] = ubar_mat + (1.0 + 1.0 / m) * bmat
    return out


def impute_mice(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    m: int = 5,
    seed: int = 0,
    n_iter: int = 10,
    categorical: Mapping[str, Sequence[Any]] | None = None,
    k_pmm: int = 5,
) -> list[pd.DataFrame]:
    """m completed copies of ``df`` by chained equations, as R ``mice(df[columns], m,
    maxit = n_iter)`` with its default methods: see :mod:`her2cohort.stats.mice`.

    Every column in ``columns`` (default: all) takes part and predicts every other; each
    incomplete one is imputed in turn (left to right, ``n_iter`` cycles from random draws of
    the observed values): numeric columns by predictive mean matching (``k_pmm`` donors, 5
    as mice's default ``donors = 5L``; type-1 matching on a Bayesian linear-regression draw),
    categorical columns (non-numeric, or keys of ``categorical`` with their level order) by
    Bayesian logistic regression when they have 2 levels (``logreg``) and by multinomial
    logistic regression with more (``polyreg``), both on data augmented against perfect
    prediction (White, Daniel & Royston 2010), as mice.  Imputed values of a numeric column
    are observed values (PMM donors); of a categorical column observed levels.  Columns
    outside ``columns`` are copied unchanged.  Each of the m data sets is an independent chain
    from its own seed (spawned from ``seed``), so the result is deterministic.  R's mice uses
    another random-number generator: its imputations cannot be reproduced, only their
    distribution (checked by Monte Carlo in tests/test_mice.py) and the analysis of given
    completed data (see :func:`rubin_pool`).

    Rows missing every column cannot be imputed: ValueError.
    """
    from .mice import impute_chained

    return impute_chained(df, columns, m=m, seed=seed, n_iter=n_iter,
                          categorical=categorical, k_pmm=k_pmm)


def pooled_logistic(
    df: pd.DataFrame,
    outcome: str,
    covariates: str | Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    interactions: Sequence[tuple[str, str]] | None = None,
    m: int = 5,
    seed: int = 0,
    impute_columns: Sequence[str] | None = None,
    n_iter: int = 10,
    conf_level: float = CONF_LEVEL,
    complete_case: bool = True,
) -> pd.DataFrame:
    """Logistic regression after multiple imputation, beside the complete-case fit.

    Imputes ``impute_columns`` (default: outcome + covariates) with :func:`impute_mice`,
    fits the ML model of :func:`~her2cohort.stats.logistic.fit_logistic` on each completed
    data set (estimates and covariance only: no per-imputation tables, tests or intervals;
    on the distinct rows with frequency weights when that halves them) and
    pools the log odds ratios with :func:`rubin_pool` (``df_complete`` = n - p, the glm
    residual df, as mice).  = R ``pool(with(imp, glm(y ~ ..., family = binomial)))``
    given the same completed data.

    One row per coefficient: ``term, variable, level, m, n, estimate, std_error, df, fmi,
    riv, lambda, p, test, odds_ratio, or_lower, or_upper, ci_method`` (pooled) and
    ``cc_n, cc_odds_ratio, cc_or_lower, cc_or_upper, cc_p, cc_test, cc_ci_method``
    (complete cases, profile-likelihood CI, Wald p; NaN with ``complete_case=False``, which
    skips that fit).
    """
    from .logistic import _as_list, _ml_core, fit_logistic

    covs = _as_list(covariates)
    cols = list(impute_columns) if impute_columns is not None else [outcome, *covs]
    for c in [outcome, *covs]:
        if c not in cols:
            raise ValueError(f"model variable '{c}' must be among the imputation columns")
    completed = impute_mice(df, cols, m=m, seed=seed, n_iter=n_iter, categorical=categorical)
    ests, covs_ = [], []
    alias = None
    f0 = None
    for d in completed:
        # only the estimates and their covariance are pooled: the ML fit of fit_logistic
        # without its tables, tests and separation check (on the distinct rows when the
        # completed data have fewer patterns than half the patients)
        f = _ml_core(d, outcome, covs, categorical, interactions)
        if alias is None:
            alias, f0 = f.alias, f
        elif not np.array_equal(alias, f.alias):
            raise ValueError("aliased columns differ between imputations; cannot pool")
        ests.append(f.params)
        covs_.append(f.cov)
    keep = ~f0.alias
    des = f0.des
    names = [n for n, k in zip(des.names, keep, strict=True) if k]
    dfcom = des.n_used - int(keep.sum())
    pooled = rubin_pool(np.array(ests), np.array(covs_), df_complete=dfcom, names=names,
                        conf_level=conf_level)
    info = pd.DataFrame({
        "term": names,
        "variable": [t for t, k in zip(des.col_term, keep, strict=True) if k],
        "level": pd.Series([lv for lv, k in zip(des.col_level, keep, strict=True) if k],
                           dtype=object)})
    res = info.merge(pooled, on="term", how="left")
    res["n"] = des.n_used
    with np.errstate(over="ignore"):
        res["odds_ratio"] = np.exp(res["estimate"])
        res["or_lower"] = np.exp(res["lower"])
        res["or_upper"] = np.exp(res["upper"])
    cc_cols = (("cc_odds_ratio", "odds_ratio"), ("cc_or_lower", "or_lower"),
               ("cc_or_upper", "or_upper"), ("cc_p", "p"), ("cc_test", "test"),
               ("cc_ci_method", "ci_method"))
    if complete_case:
        cc = fit_logistic(df, outcome, covs, categorical, interactions, ci="profile",
                          conf_level=conf_level)
        ccc = cc.coef.set_index("term")
        res["cc_n"] = cc.n_used
        for col, src in cc_cols:
            res[col] = [ccc[src].get(t, np.nan) for t in res["term"]]
    else:
        res["cc_n"] = np.nan
        for col, _ in cc_cols:
            res[col] = np.nan
    cols_out = ["term", "variable", "level", "m", "n", "estimate", "std_error", "df", "fmi",
                "riv", "lambda", "p", "test", "odds_ratio", "or_lower", "or_upper",
                "ci_method", "cc_n", "cc_odds_ratio", "cc_or_lower", "cc_or_upper", "cc_p",
                "cc_test", "cc_ci_method"]
    return res[cols_out]


def impute_for_cox(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    m: int = 5,
    seed: int = 0,
    n_iter: int = 10,
) -> list[pd.DataFrame]:
    """m completed copies of ``df`` for a Cox model: the missing values of ``covariates`` are
    imputed by :func:`impute_mice` with the covariates, the event indicator and the
    Nelson-Aalen cumulative hazard at each patient's time as predictors (White & Royston,
    Stat Med 2009;28:1982-98, who show this beats using the time itself). ``time`` and
    ``event`` must be complete. Rows keep their order and index."""
    from .survival import km_table

    covs = list(covariates)
    if df[[time, event]].isna().any().any():
        raise ValueError(f"'{time}' and '{event}' must be complete to impute covariates")
    km = km_table(df, time, event)
    cumhaz = np.r_[0.0, np.cumsum(km["n_event"] / km["n_risk"]).to_numpy()]
    idx = np.searchsorted(km["time"].to_numpy(), df[time].to_numpy(dtype=float), side="right")
    data = df[covs].reset_index(drop=True).copy()
    data["_event"] = df[event].to_numpy(dtype=float)
    data["_cumhaz"] = cumhaz[idx]
    cat = {c: list(v) for c, v in (categorical or {}).items() if c in covs}
    imps = impute_mice(data, columns=list(data.columns), m=m, seed=seed, n_iter=n_iter,
                       categorical=cat)
    out = []
    for imp in imps:
        full = df.copy()
        for c in covs:
            full[c] = imp[c].to_numpy()
        out.append(full)
    return out


def pooled_cox(
    completed: Sequence[pd.DataFrame],
    time: str,
    event: str,
    covariates: Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    ties: str = "efron",
    strata: str | Sequence[str] | None = None,
    cluster: str | None = None,
    robust: bool = False,
    df_complete: float | None = None,
    conf_level: float = CONF_LEVEL,
) -> pd.DataFrame:
    """Fit the Cox model on each completed data set and pool by Rubin's rules, as
    ``summary(mice::pool(with(imp, coxph(...))), conf.int = TRUE)``.

    ``df_complete`` (the complete-data df of the Barnard-Rubin df) defaults to mice's rule for
    ``coxph`` (mice 3.13 and later, ``get.dfcom``): number of events minus number of
    coefficients, at least 1; ``inf`` gives the large-sample pooling.

    One row per term: the :func:`rubin_pool` columns plus ``hr``, ``hr_lower``,
    ``hr_upper``, ``n`` and ``nevent``. A coefficient that is not estimable (singular or
    infinite) in any completed data set stops the pooling with a ValueError."""
    from .cox import CoxModel

    covs = list(covariates)
    cat = {c: list(v) for c, v in (categorical or {}).items() if c in covs}
    model = CoxModel(ties=ties)
    est, var, names, n = [], [], None, None
    for d in completed:
        fit = model.fit(d, time, event, covs, categorical=cat or None, strata=strata,
                        cluster=cluster, robust=robust)
        if fit.singular.any() or fit.infinite.any():
            raise ValueError("a coefficient is not estimable in an imputed data set")
        est.append(fit.coef)
        var.append(fit.var)
        names, n, nevent = fit.terms, fit.n, fit.nevent
    if df_complete is None:
        df_complete = max(nevent - len(names), 1)
    pooled = rubin_pool(np.array(est), np.array(var), df_complete=df_complete, names=names,
                        conf_level=conf_level)
    pooled.attrs = {}  # the pooled covariance matrix stays out of tables
    pooled["hr"] = np.exp(pooled["estimate"])
    pooled["hr_lower"] = np.exp(pooled["lower"])
    pooled["hr_upper"] = np.exp(pooled["upper"])
    pooled["n"] = n
    pooled["nevent"] = nevent
    return pooled
