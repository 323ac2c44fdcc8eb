"""Comparisons of k >= 2 groups: overall tests, pairwise tests with a stated p-value
adjustment, and trend tests for ordered groups.

Generic over a :class:`pandas.DataFrame` and column names, no I/O, tidy tables out; every
p-value names its test (``test``) and every adjusted p-value its method
(``adjust_method``).  Checked against R in ``tests/test_kgroups.py`` (stored output of
``tests/r/kgroups.R``):

=============================  ===========================================================
function                       R reference
=============================  ===========================================================
``compare_k_proportions``      ``chisq.test(table(y, g), correct = FALSE)``, ``fisher.test``
``contingency_test``           the same for an r x c table of two categorical columns
``proportion_trend``           ``prop.trend.test(x, n, score)`` (Cochran-Armitage)
``pairwise_proportions``       ``pairwise.prop.test(x, n, correct = FALSE/TRUE,
                               p.adjust.method = )``; Fisher: ``fisher.test`` per pair +
                               ``p.adjust``
``logrank_overall``            ``survdiff(Surv(t, e) ~ g [+ strata(s)])`` (k - 1 df)
``pairwise_logrank``           ``survdiff`` per pair + ``p.adjust`` (survminer's
                               ``pairwise_survdiff``)
``logrank_trend``              log-rank trend: (s'(O - E))^2 / s'Vs from ``survdiff``'s
                               ``obs``, ``exp``, ``var``; or the Cox score test
                               ``coxph(Surv(t, e) ~ as.numeric(g))$score``
``cox_term_tests``             ``drop1(coxph(...), test = "Chisq")`` (LR test per term)
``cox_exposure_test``          ``anova(coxph(Surv(t, e) ~ g))`` / ``drop1`` in a
                               multivariable model
``p_adjust``                   ``p.adjust(p, method)`` (statsmodels ``multipletests``)
=============================  ===========================================================

Logistic regression with a k-level exposure needs nothing new here:
:func:`her2cohort.stats.logistic.lr_tests` is R's ``drop1(fit, test = "LRT")`` with all
k - 1 columns of a factor tested jointly (checked against R for 3- and 6-level factors in
``tests/test_logistic.py``, and for a 3-level exposure in ``tests/test_kgroups.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2, chi2_contingency

from .adequacy import EPV_THRESHOLD
# cox_term_tests lives with the Cox model (cox_table uses it); re-exported here
from .cox import COX_LR_TEST, CoxModel, cox_term_tests
from .exact import fisher_exact
from .proportions import TESTS as PROPORTION_TESTS
from .proportions import _counts, compare_proportions
from .survival import logrank

__all__ = [
    "ADJUST_METHODS",
    "COX_LR_TEST",
    "compare_k_proportions",
    "contingency_test",
    "cox_exposure_test",
    "cox_term_tests",
    "logrank_overall",
    "logrank_trend",
    "p_adjust",
    "pairwise_logrank",
    "pairwise_proportions",
    "proportion_trend",
]

#: accepted ``adjust`` arguments -> reported adjust_method
ADJUST_METHODS: dict[str, str] = {
    "holm": "Holm (step-down Bonferroni)",
    "bonferroni": "Bonferroni",
    "none": "none (unadjusted)",
}
LOGRANK_TREND_TEST = "log-rank test for trend"
COX_SCORE_TREND_TEST = "Cox score test for trend"

TEST_COLUMNS = ["test", "statistic", "df", "p", "n", "n_groups", "n_missing", "test_choice",
                "warning"]
PAIRWISE_COLUMNS = ["level_a", "level_b", "statistic", "df", "p", "p_adjusted", "test",
                    "adjust_method", "n_a", "n_b", "events_a", "events_b", "warning"]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _adjust_key(adjust: str) -> str:
    key = str(adjust).lower()
    if key not in ADJUST_METHODS:
        raise ValueError(f"unknown adjust {adjust!r}; choose one of {sorted(ADJUST_METHODS)}")
    return key


def p_adjust(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values as R ``p.adjust(p, method)``: NaN stays NaN and is not counted
    among the tests (R's default ``n`` is the number of non-NA p-values)."""
    from statsmodels.stats.multitest import multipletests

    key = _adjust_key(method)
    arr = np.asarray(p, dtype=float)
    if key == "none":
        return arr.copy()
    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr)
    if ok.any():
        out[ok] = multipletests(arr[ok], method=key)[1]
    return out


def _scores_text(scores: Sequence[float] | None, k: int) -> str:
    if scores is None:
        return f"scores 1..{k}"
    return "scores " + ", ".join(f"{float(s):g}" for s in scores)


def _one_row(**kw: Any) -> pd.DataFrame:
    return pd.DataFrame([kw])


# ---------------------------------------------------------------------------
# proportions
# ---------------------------------------------------------------------------
def compare_k_proportions(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    levels: Sequence[Any] | None = None,
    test: str = "auto",
) -> pd.DataFrame:
    """Overall test that a 0/1 outcome has the same proportion in k >= 2 groups (2 x k).

    ``test``: ``"pearson"`` (chi-square without continuity correction, k - 1 df; = R
    ``chisq.test(table(y, g), correct = FALSE)``), ``"fisher"`` (two-sided exact test of
    the 2 x k table; = R ``fisher.test``), ``"yates"`` (2 groups only) or ``"auto"``
    (Pearson when every expected count is >= 5, else Fisher; ``test_choice`` says why).
    ``levels`` fixes the group order (default: sorted); a level without rows is an error.
    Rows with a missing outcome or group are left out and counted (``n_missing``).

    One row with columns ``test, statistic, df, p, n, n_groups, n_missing, test_choice,
    warning`` (statistic and df NaN for Fisher).  ``attrs["table"]``: events, non_events
    and n per group.  Thin wrapper of
    :func:`her2cohort.stats.proportions.compare_proportions`.
    """
    res = compare_proportions(df, outcome, group, test=test, group_order=levels)
    tab = res["table"]
    out = _one_row(test=res["test"],
                   statistic=np.nan if res["statistic"] is None else res["statistic"],
                   df=np.nan if res["df"] is None else res["df"], p=res["p"],
                   n=int(tab["n"].sum()), n_groups=len(tab), n_missing=res["n_missing"],
                   test_choice=res["test_choice"], warning=res["warning"] or "")
    out.attrs["table"] = tab
    return out


def contingency_test(
    df: pd.DataFrame,
    variable: str,
    group: str,
    variable_levels: Sequence[Any] | None = None,
    group_levels: Sequence[Any] | None = None,
    test: str = "auto",
) -> pd.DataFrame:
    """Test of independence of two categorical columns (r x c table, rows = ``variable``).

    ``test``: ``"pearson"`` (= R ``chisq.test(table(v, g))``; no continuity correction,
    which R applies to 2 x 2 tables only: use ``"yates"`` for that), ``"fisher"`` (= R
    ``fisher.test``), ``"yates"`` (2 x 2 only) or ``"auto"`` (Pearson when every expected
    count is >= 5, else Fisher).  Level orders default to sorted values; a value outside a
    given order, or a level without rows, is an error.  Rows with a missing value in either
    column are left out and counted.

    One row with columns ``test, statistic, df, p, n, n_groups, n_missing, test_choice,
    warning``; ``attrs["table"]`` holds the counts (rows: variable levels, columns: groups).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    for c in (variable, group):
        if c not in df.columns:
            raise ValueError(f"column not found in data: '{c}'")
    key = str(test).lower()
    if key not in (*PROPORTION_TESTS, "auto"):
        raise ValueError(f"unknown test {test!r}; choose one of "
                         f"{sorted((*PROPORTION_TESTS, 'auto'))}")
    keep = df[[variable, group]].notna().all(axis=1)
    n_missing = int((~keep).sum())
    d = df.loc[keep, [variable, group]]

    def order(col: str, given: Sequence[Any] | None) -> list[Any]:
        seen = list(pd.unique(d[col]))
        if given is None:
            try:
                return sorted(seen)
            except TypeError as exc:
                raise ValueError(f"column '{col}' has values that cannot be sorted; "
                                 "pass its levels") from exc
        lv = list(given)
        stray = [v for v in seen if v not in lv]
        if stray:
            raise ValueError(f"column '{col}' has {int(d[col].isin(stray).sum())} row(s) with "
                             f"values not in its levels {lv}: {stray}")
        empty = [v for v in lv if v not in seen]
        if empty:
            raise ValueError(f"level(s) with no rows in '{col}': {empty}")
        return lv

    rl, cl = order(variable, variable_levels), order(group, group_levels)
    if len(rl) < 2 or len(cl) < 2:
        raise ValueError(f"need >= 2 levels in '{variable}' and in '{group}' "
                         f"(got {len(rl)} and {len(cl)})")
    tab = pd.crosstab(d[variable], d[group]).reindex(index=rl, columns=cl, fill_value=0)
    obs = tab.to_numpy(dtype=int)
    if key == "yates" and obs.shape != (2, 2):
        raise ValueError(f"test 'yates' needs a 2 x 2 table, got {obs.shape[0]} x {obs.shape[1]}")
    expected = chi2_contingency(obs, correction=False)[3]
    n_small = int((expected < 5).sum())
    choice = "requested"
    if key == "auto":
        key = "fisher" if n_small else "pearson"
        choice = (f"auto: Fisher's exact test because {n_small} of {expected.size} expected "
                  f"counts < 5 (min {expected.min():.2f})" if n_small else
                  "auto: Pearson chi-square because all expected counts >= 5")
    warning = ""
    if key == "fisher":
        fres = fisher_exact(obs)
        name = PROPORTION_TESTS["fisher"]
        if fres.method.startswith("Monte Carlo"):
            name = f"{fres.test}, two-sided"
        stat, dof, p = np.nan, np.nan, float(fres.p)
    else:
        stat, p, dof, _ = chi2_contingency(obs, correction=(key == "yates"))
        stat, p, dof, name = float(stat), float(p), int(dof), PROPORTION_TESTS[key]
        if n_small:
            warning = (f"{n_small} of {expected.size} expected counts < 5 (min "
                       f"{expected.min():.2f}); chi-square approximation may be inaccurate")
    out = _one_row(test=name, statistic=stat, df=dof, p=p, n=int(obs.sum()),
                   n_groups=len(cl), n_missing=n_missing, test_choice=choice, warning=warning)
    out.attrs["table"] = tab
    return out


def proportion_trend(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    levels: Sequence[Any] | None = None,
    scores: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Chi-square test for trend of a 0/1 outcome across ordered groups (Cochran-Armitage
    without continuity correction; = R ``prop.trend.test(x, n, score)``), 1 df.

    ``levels`` gives the order (default sorted); ``scores`` default to 1..k in that order.
    One row with ``test, statistic, df, p, n, n_groups, n_missing, test_choice, warning,
    direction`` (``"increasing"`` when the proportion rises with the score, else
    ``"decreasing"``, ``"none"`` when flat).  Uses
    :func:`her2cohort.stats.exact.trend_test`.
    """
    from .exact import trend_test

    res = trend_test(df, outcome, group, scores, group_order=levels)
    tab = res["table"]
    p_k = tab["events"] / tab["n"]
    w = tab["n"].to_numpy(float)
    sc = tab["score"].to_numpy(float)
    cov = float(np.sum(w * (sc - np.average(sc, weights=w)) * (p_k - np.average(p_k,
                                                                                weights=w))))
    direction = "increasing" if cov > 0 else "decreasing" if cov < 0 else "none"
    out = _one_row(test=f"{res['test']} (Cochran-Armitage, no continuity correction; "
                        f"{_scores_text(scores, len(tab))})",
                   statistic=res["statistic"], df=1, p=res["p"], n=res["n"],
                   n_groups=len(tab), n_missing=res["n_missing"], test_choice="requested",
                   warning="", direction=direction)
    out.attrs["table"] = tab
    return out


def pairwise_proportions(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    levels: Sequence[Any] | None = None,
    test: str = "pearson",
    adjust: str = "holm",
) -> pd.DataFrame:
    """All pairwise comparisons of a 0/1 outcome between k groups, p-values adjusted.

    ``test`` per pair: ``"pearson"`` (chi-square, no continuity correction; = R
    ``pairwise.prop.test(x, n, correct = FALSE)``), ``"yates"`` (with Yates' correction;
    R's default ``correct = TRUE``) or ``"fisher"`` (two-sided exact, ``fisher.test`` per
    pair).  ``adjust``: ``"holm"``, ``"bonferroni"`` or ``"none"`` over the k(k-1)/2 pairs
    (= R ``p.adjust``; a pair whose test is undefined, e.g. no events in either group, has
    NaN p and is not counted, as R).

    One row per pair (``level_a`` before ``level_b`` in the level order), columns
    ``level_a, level_b, statistic, df, p, p_adjusted, test, adjust_method, n_a, n_b,
    events_a, events_b, warning``.
    """
    key = str(test).lower()
    if key not in PROPORTION_TESTS:
        raise ValueError(f"unknown test {test!r}; choose one of {sorted(PROPORTION_TESTS)}")
    akey = _adjust_key(adjust)
    counts = _counts(df, outcome, group, levels)
    if len(counts) < 2:
        raise ValueError(f"group column '{group}' has fewer than 2 levels")
    rows = []
    for a, b in itertools.combinations(counts.index, 2):
        obs = counts.loc[[a, b], ["events", "non_events"]].to_numpy(dtype=int)
        stat = dof = p = np.nan
        warning = ""
        if key == "fisher":
            p = float(fisher_exact(obs).p)
        elif (obs.sum(axis=0) == 0).any():
            warning = "outcome constant in this pair: chi-square test undefined (R: NaN)"
        else:
            s, pv, dd, exp_ = chi2_contingency(obs, correction=(key == "yates"))
            stat, p, dof = float(s), float(pv), int(dd)
            if (exp_ < 5).any():
                warning = (f"expected count < 5 (min {exp_.min():.2f}); chi-square "
                           "approximation may be inaccurate")
        rows.append({"level_a": a, "level_b": b, "statistic": stat, "df": dof, "p": p,
                     "n_a": int(obs[0].sum()), "n_b": int(obs[1].sum()),
                     "events_a": int(obs[0, 0]), "events_b": int(obs[1, 0]),
                     "warning": warning})
    out = pd.DataFrame(rows)
    out["p_adjusted"] = p_adjust(out["p"].to_numpy(), akey)
    out["test"] = PROPORTION_TESTS[key]
    out["adjust_method"] = ADJUST_METHODS[akey]
    out.attrs["n_missing"] = counts.attrs["n_missing"]
    return out[PAIRWISE_COLUMNS]


# ---------------------------------------------------------------------------
# time to event
# ---------------------------------------------------------------------------
def logrank_overall(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    levels: Sequence[Any] | None = None,
    strata: str | None = None,
) -> pd.DataFrame:
    """k-group log-rank test (k - 1 df), optionally stratified; = R
    ``survdiff(Surv(time, event) ~ group [+ strata(strata)])``.

    One row with ``test, statistic, df, p, n, n_groups, n_missing, test_choice, warning,
    events``; ``attrs["table"]`` is survdiff's per-group table (n, observed, expected, ...).
    Wrapper of :func:`her2cohort.stats.survival.logrank` (levels without rows are skipped).
    """
    res = logrank(df, time, event, group, group_order=levels, strata=strata)
    tab = res["table"]
    out = _one_row(test=res["test"], statistic=res["statistic"], df=res["df"], p=res["p"],
                   n=res["n_used"], n_groups=len(res["groups"]), n_missing=res["n_missing"],
                   test_choice="requested", warning=res["warning"],
                   events=int(tab["observed"].sum()))
    out.attrs["table"] = tab
    return out


def pairwise_logrank(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    levels: Sequence[Any] | None = None,
    adjust: str = "holm",
    strata: str | None = None,
) -> pd.DataFrame:
    """Log-rank test for every pair of groups, p-values adjusted over the pairs.

    Each pair is a two-group ``survdiff`` on the rows of those two groups (as survminer's
    ``pairwise_survdiff``), stratified by ``strata`` if given; ``adjust`` is ``"holm"``,
    ``"bonferroni"`` or ``"none"`` (= R ``p.adjust``; undefined pairs are NaN and not
    counted).  Columns ``level_a, level_b, statistic, df, p, p_adjusted, test,
    adjust_method, n_a, n_b, events_a, events_b, warning``.
    """
    akey = _adjust_key(adjust)
    if group not in df.columns:
        raise ValueError(f"column not found in data: '{group}'")
    if levels is None:
        overall = logrank(df, time, event, group, strata=strata)
        levels = overall["groups"]
    levels = list(levels)
    if len(levels) < 2:
        raise ValueError(f"need at least 2 levels of '{group}', got {levels}")
    gcol = df[group]
    rows = []
    test = None
    for a, b in itertools.combinations(levels, 2):
        sub = df.loc[gcol.isin([a, b]).to_numpy()]
        row: dict[str, Any] = {"level_a": a, "level_b": b}
        try:
            r = logrank(sub, time, event, group, group_order=[a, b], strata=strata)
        except ValueError as exc:
            row.update(statistic=np.nan, df=np.nan, p=np.nan, n_a=int((gcol == a).sum()),
                       n_b=int((gcol == b).sum()), events_a=np.nan, events_b=np.nan,
                       warning=f"log-rank test undefined for this pair: {exc}")
        else:
            test = r["test"]
            row.update(statistic=r["statistic"], df=r["df"], p=r["p"],
                       n_a=r["n"].get(a, 0), n_b=r["n"].get(b, 0),
                       events_a=r["observed"].get(a, 0), events_b=r["observed"].get(b, 0),
                       warning=r["warning"])
        rows.append(row)
    out = pd.DataFrame(rows)
    out["p_adjusted"] = p_adjust(out["p"].to_numpy(), akey)
    from .survival import LOGRANK_TEST

    out["test"] = test or (LOGRANK_TEST if strata is None
                           else f"stratified {LOGRANK_TEST} by '{strata}'")
    out["adjust_method"] = ADJUST_METHODS[akey]
    return out[PAIRWISE_COLUMNS]


def logrank_trend(
    df: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    levels: Sequence[Any] | None = None,
    scores: Sequence[float] | None = None,
    strata: str | None = None,
    method: str = "logrank",
    ties: str = "efron",
) -> pd.DataFrame:
    """Test for a trend in survival across ordered groups, 1 df.

    ``levels`` gives the order (default sorted), ``scores`` the score of each level
    (default 1..k in that order).  ``method``:

    * ``"logrank"``: the log-rank test for trend, U = sum_k s_k (O_k - E_k) and
      V = s' V s with survdiff's observed, expected and (hypergeometric) variance matrix,
      chi-square = U^2 / V (stratified: O, E and V summed over strata).  R has no function
      for it; the reference is written from ``survdiff(...)$obs``, ``$exp``, ``$var``.
    * ``"cox-score"``: the score (log-rank type) test of ``coxph(Surv(time, event) ~ score
      [+ strata(s)], ties = ties)`` with the group entered as its numeric score, "Cox score
      test for trend"; = R ``coxph(...)$score``.  With tied event times it differs slightly
      from ``"logrank"`` (Efron/Breslow information instead of the hypergeometric one).

    One row: ``test, statistic, df, p, n, n_groups, n_missing, test_choice, warning,
    events, direction`` (``"increasing"``: more events than expected at higher scores,
    i.e. worse survival with higher score; ``"decreasing"``; ``"none"``).
    """
    key = str(method).lower()
    if key not in ("logrank", "cox-score"):
        raise ValueError(f"unknown method {method!r}; choose 'logrank' or 'cox-score'")
    res = logrank(df, time, event, group, group_order=levels, strata=strata)
    used = list(res["groups"])
    all_levels = list(levels) if levels is not None else used
    if scores is None:
        score_of = {lv: float(i + 1) for i, lv in enumerate(all_levels)}
    else:
        if len(scores) != len(all_levels):
            raise ValueError(f"{len(scores)} scores for {len(all_levels)} levels {all_levels}")
        score_of = {lv: float(s) for lv, s in zip(all_levels, scores, strict=True)}
    s = np.array([score_of[lv] for lv in used])
    if np.ptp(s) == 0:
        raise ValueError("all scores are equal: trend test undefined")
    tab = res["table"]
    what = _scores_text(scores, len(all_levels))
    warning = res["warning"]
    if key == "logrank":
        o_e = tab["o_minus_e"].to_numpy(float)
        u = float(s @ o_e)
        v = float(s @ res["variance"] @ s)
        stat = u * u / v if v > 0 else np.nan
        if not v > 0:
            warning = (warning + "; " if warning else "") + "zero variance: test undefined"
        test = f"{LOGRANK_TREND_TEST} ({what}; survdiff O - E and variance)"
        if strata is not None:
            test = f"stratified {test} by '{strata}'"
        sign = u
    else:
        cols = [time, event, group] + ([strata] if strata else [])
        d = df.loc[df[cols].notna().all(axis=1).to_numpy()]
        d = d.loc[d[group].isin(used).to_numpy()]
        sc = d[group].map(score_of).astype(float)
        name = "__trend_score__"
        d = d.assign(**{name: sc})
        fit = CoxModel(ties=ties).fit(d, time, event, [name], strata=strata)
        stat = float(fit.score_test)
        test = f"{COX_SCORE_TREND_TEST} ({what}; {ties} ties)"
        if strata is not None:
            test = f"{test}, stratified by '{strata}'"
        sign = float(fit.coef[0])
    direction = "increasing" if sign > 0 else "decreasing" if sign < 0 else "none"
    out = _one_row(test=test, statistic=stat, df=1, p=float(chi2.sf(stat, 1)),
                   n=res["n_used"], n_groups=len(used), n_missing=res["n_missing"],
                   test_choice="requested", warning=warning,
                   events=int(tab["observed"].sum()), direction=direction)
    out.attrs["table"] = tab.assign(score=s)
    return out


def cox_exposure_test(
    df: pd.DataFrame,
    time: str,
    event: str,
    exposure: str,
    levels: Sequence[Any],
    covariates: Sequence[str] = (),
    categorical: Mapping[str, Sequence[Any]] | None = None,
    strata: str | Sequence[str] | None = None,
    ties: str = "efron",
    epv_threshold: float = EPV_THRESHOLD,
) -> pd.DataFrame:
    """Overall likelihood-ratio test of a k-level exposure in a Cox model (k - 1 df).

    The exposure enters as a factor with ``levels`` (first = reference, k - 1 treatment-coded
    terms), adjusted for ``covariates`` (``categorical`` gives their level orders) and
    stratified by ``strata``.  Without covariates = R ``anova(coxph(Surv(time, event) ~
    factor(exposure, levels)))``; with them = the exposure's row of ``drop1(fit, test =
    "Chisq")``.  The hazard ratios of the k - 1 terms are in
    :func:`her2cohort.stats.cox.cox_table` (or ``CoxModel().fit(...).summary()``).

    One row: the columns of :func:`cox_term_tests` plus ``levels`` (the level order, as a
    " | "-joined string) and ``adjusted_for`` (comma-joined covariates, "" if none).
    """
    covs = [c for c in covariates if c != exposure]
    cat = dict(categorical or {})
    cat[exposure] = list(levels)
    out = cox_term_tests(df, time, event, [exposure, *covs], categorical=cat, strata=strata,
                         ties=ties, epv_threshold=epv_threshold)
    out = out.iloc[[0]].reset_index(drop=True)
    out["levels"] = " | ".join(map(str, levels))
    out["adjusted_for"] = ", ".join(covs)
    return out
