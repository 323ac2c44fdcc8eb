"""Binary-outcome statistics (e.g. pCR rates): rates with CIs and group comparisons.

Generic over a :class:`pandas.DataFrame` and column names, deterministic, and
checked in ``tests/test_proportions.py`` against textbook values and R
(``prop.test(correct=FALSE)``, ``binom.test``, ``chisq.test``, ``fisher.test``).

* ``outcome`` must be coded 0/1 (booleans accepted) without missing values;
  ``group`` must not be missing.  Violations raise :class:`ValueError`
  naming the column and the number of offending rows.
* Every interval carries a ``ci_method`` and every p-value a ``test``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, norm
from statsmodels.stats.proportion import proportion_confint

from .exact import fisher_2x2, fisher_exact
from .grouping import group_labels, outcome01

__all__ = [
    "CI_METHODS",
    "TESTS",
    "TEST_OPTIONS",
    "compare_proportions",
    "odds_ratio",
    "rate_table",
]

CONF_LEVEL = 0.95

#: accepted ``ci`` arguments -> (statsmodels method, reported ci_method)
CI_METHODS: dict[str, tuple[str, str]] = {
    "wilson": ("wilson", "Wilson score"),
    "clopper-pearson": ("beta", "Clopper-Pearson exact"),
}

#: accepted ``test`` arguments -> reported test name
TESTS: dict[str, str] = {
    "pearson": "Pearson chi-square (no continuity correction)",
    "yates": "Pearson chi-square with Yates continuity correction",
    "fisher": "Fisher's exact test (two-sided)",
}
#: ``test="auto"``: Pearson unless an expected count is < 5, then Fisher (as Table 1)
TEST_OPTIONS = (*TESTS, "auto")

OR_METHODS: dict[str, str] = {
    "woolf": "Woolf (logit), 95%",
    "conditional": "conditional MLE, exact (Fisher) 95%",
}


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------
def _outcome(df: pd.DataFrame, outcome: str) -> np.ndarray:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if outcome not in df.columns:
        raise ValueError(f"column not found in data: '{outcome}'")
    y = df[outcome]
    n_missing = int(y.isna().sum())
    if n_missing:
        raise ValueError(f"outcome column '{outcome}' has {n_missing} missing value(s)")
    return outcome01(y, outcome).astype(int)


def _counts(
    df: pd.DataFrame,
    outcome: str,
    group: str | None,
    group_order: Sequence[Any] | None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """events / non_events / n per group, rows in group order. Rows with a missing outcome or
    group are left out, as R's ``table()`` does; ``attrs["n_missing"]`` counts them."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    cols = [c for c in (outcome, group) if c is not None]
    absent = [c for c in cols if c not in df.columns]
    if absent:
        raise ValueError(f"column not found in data: '{absent[0]}'")
    keep = df[cols].notna().all(axis=1).to_numpy()
    n_missing = int((~keep).sum())
    df = df.loc[keep]
    if len(df) == 0:
        raise ValueError(f"no complete rows: every row has a missing value in {cols}")
    y = _outcome(df, outcome)
    labels, levels = group_labels(df, group, group_order, allow_empty=allow_empty)
    lab = pd.Series(labels, dtype=object)
    rows = []
    for lv in levels:
        m = lab.eq(lv).to_numpy(dtype=bool)
        ev = int(y[m].sum())
        n = int(m.sum())
        rows.append({"group": lv, "events": ev, "non_events": n - ev, "n": n})
    out = pd.DataFrame(rows).set_index("group")
    out.index = pd.Index(list(out.index), dtype=object, name="group")
    out.attrs["n_missing"] = n_missing
    return out


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def rate_table(
    df: pd.DataFrame,
    outcome: str,
    group: str | None = None,
    group_order: Sequence[Any] | None = None,
    ci: str = "wilson",
) -> pd.DataFrame:
    """Event rate per group with a 95 % CI.

    ``ci`` is ``"wilson"`` (Wilson score; = R ``prop.test(x, n,
    correct=FALSE)$conf.int``) or ``"clopper-pearson"`` (exact; = R
    ``binom.test(x, n)$conf.int``).  A level in ``group_order`` without rows
    gives n = 0 and NaN rate.

    Columns: ``group, n, events, pct, lower, upper, ci_method`` (pct, lower,
    upper in percent, 0-100).
    """
    key = ci.lower()
    if key not in CI_METHODS:
        raise ValueError(f"unknown ci {ci!r}; choose one of {sorted(CI_METHODS)}")
    sm_method, label = CI_METHODS[key]
    counts = _counts(df, outcome, group, group_order, allow_empty=True)
    rows = []
    for lv, r in counts.iterrows():
        n, ev = int(r["n"]), int(r["events"])
        if n == 0:
            pct = lo = up = np.nan
        else:
            lo, up = proportion_confint(ev, n, alpha=1 - CONF_LEVEL, method=sm_method)
            pct = 100.0 * ev / n
            lo, up = 100.0 * float(lo), 100.0 * float(up)
        rows.append({"group": lv, "n": n, "events": ev, "pct": pct, "lower": lo, "upper": up})
    out = pd.DataFrame(rows)
    out["group"] = out["group"].astype(object)
    out["ci_method"] = f"{label}, 95%"
    out.attrs["n_missing"] = counts.attrs["n_missing"]
    return out


def compare_proportions(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    test: str = "pearson",
    group_order: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Compare event proportions across groups (2 x K table).

    ``test``:

    * ``"pearson"``: Pearson chi-square without continuity correction, 2 x K
      (= R ``chisq.test(tab, correct=FALSE)``);
    * ``"yates"``: Pearson chi-square with Yates' correction, 2 x 2 only
      (= R ``chisq.test(tab)``);
    * ``"fisher"``: Fisher's exact test, two-sided, any number of groups
      (= R ``fisher.test(tab)$p.value``; exact network algorithm of
      :func:`her2cohort.stats.exact.fisher_exact`, whose Monte Carlo fallback for
      infeasible tables is then named in ``test``); ``statistic`` and ``df`` are None;
    * ``"auto"``: ``"pearson"`` when every expected count is >= 5, else ``"fisher"``
      (the rule of Table 1); ``test`` names the test actually used and
      ``test_choice`` says why.

    Returns a dict with ``test`` (full name), ``statistic``, ``df``, ``p``,
    ``table`` (DataFrame of events / non_events / n per group), ``expected``
    (expected events / non_events under independence), ``warning``
    (string when a chi-square test has any expected count < 5, else None) and
    ``test_choice`` (``"requested"`` or the reason for the automatic choice) and
    ``n_missing`` (rows left out for a missing outcome or group, as R's ``table()``).
    """
    key = test.lower()
    if key not in TEST_OPTIONS:
        raise ValueError(f"unknown test {test!r}; choose one of {sorted(TEST_OPTIONS)}")
    if group is None:
        raise ValueError("compare_proportions needs a group column")
    counts = _counts(df, outcome, group, group_order)
    if len(counts) < 2:
        raise ValueError(f"group column '{group}' has fewer than 2 levels")
    if key == "yates" and len(counts) != 2:
        raise ValueError(f"test {test!r} needs exactly 2 groups, got {len(counts)}")
    obs = counts[["events", "non_events"]].to_numpy(dtype=int)
    if (obs.sum(axis=0) == 0).any():
        raise ValueError(
            f"outcome column '{outcome}' is constant: all rows are "
            f"{'events' if obs[:, 1].sum() == 0 else 'non-events'}; no test possible"
        )

    _, _, _, expected = chi2_contingency(obs, correction=False)
    expected_df = pd.DataFrame(expected, index=counts.index, columns=["events", "non_events"])
    warning = None
    choice = "requested"
    if key == "auto":
        n_small = int((expected < 5).sum())
        if n_small:
            key = "fisher"
            choice = (f"auto: Fisher's exact test because {n_small} of {expected.size} "
                      f"expected counts < 5 (min {expected.min():.2f})")
        else:
            key = "pearson"
            choice = "auto: Pearson chi-square because all expected counts >= 5"
    test_name = TESTS[key]
    if key == "fisher":
        # R's two-sided definition (tables with probability <= observed, R's tolerance)
        fres = fisher_exact(obs)
        p = float(fres.p)
        if fres.method.startswith("Monte Carlo"):
            test_name = f"{fres.test}, two-sided"
        statistic, dof = None, None
    else:
        stat, p, dof, _ = chi2_contingency(obs, correction=(key == "yates"))
        statistic, p, dof = float(stat), float(p), int(dof)
        n_small = int((expected < 5).sum())
        if n_small:
            warning = (
                f"{n_small} of {expected.size} expected counts < 5 (min "
                f"{expected.min():.2f}); chi-square approximation may be inaccurate"
                + ("; consider Fisher's exact test" if len(counts) == 2 else "")
            )
    return {
        "test": test_name,
        "test_choice": choice,
        "statistic": statistic,
        "df": dof,
        "p": p,
        "table": counts,
        "expected": expected_df,
        "warning": warning,
        "n_missing": counts.attrs["n_missing"],
    }


def compare_or_reason(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    test: str = "pearson",
    group_order: Sequence[Any] | None = None,
    what: str = "the outcome",
) -> dict[str, Any]:
    """:func:`compare_proportions`, or, where no test is defined on these data (every
    patient with the outcome ``what``, or none; fewer than two groups), a result saying why:
    ``test`` "not tested", ``statistic``/``df`` None, ``p`` NaN and ``warning``
    "not estimable: <reason>" (``"no patient had pCR"``, ``"every patient had pCR"``)."""
    try:
        return compare_proportions(df, outcome, group, test=test, group_order=group_order)
    except ValueError as e:
        d = df if group_order is None else df[df[group].isin(list(group_order))]
        y = pd.to_numeric(d[outcome], errors="coerce").dropna()
        why = (f"no patient had {what}" if len(y) and y.sum() == 0 else
               f"every patient had {what}" if len(y) and y.sum() == len(y) else str(e))
        return {"test": "not tested", "test_choice": "not tested", "statistic": None,
                "df": None, "p": float("nan"), "warning": f"not estimable: {why}"}


def odds_ratio(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    group_order: Sequence[Any] | None = None,
    method: str = "woolf",
) -> dict[str, Any]:
    """Odds ratio of the outcome, second group vs first (reference) group.

    ``method``: ``"woolf"`` (sample OR ad/bc, CI exp(log OR ± 1.96·sqrt(1/a +
    1/b + 1/c + 1/d)); NaN with a warning if a cell is 0) or
    ``"conditional"`` (conditional MLE with exact CI, = R ``fisher.test``
    estimate and conf.int).

    Returns a dict with ``estimate, lower, upper, ci_method, reference,
    comparison, table, warning``.
    """
    key = method.lower()
    if key not in OR_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(OR_METHODS)}")
    counts = _counts(df, outcome, group, group_order)
    if len(counts) != 2:
        raise ValueError(f"odds_ratio needs exactly 2 groups, got {len(counts)}")
    ref, cmp_ = counts.index[0], counts.index[1]
    # rows: comparison, reference; columns: events, non-events  -> OR = ad / bc
    a, b = int(counts.loc[cmp_, "events"]), int(counts.loc[cmp_, "non_events"])
    c, d = int(counts.loc[ref, "events"]), int(counts.loc[ref, "non_events"])
    warning = None
    if key == "woolf":
        if min(a, b, c, d) == 0:
            est = lo = up = np.nan
            warning = "a cell count is 0: Woolf odds ratio undefined (use method='conditional')"
        else:
            est = (a * d) / (b * c)
            se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
            z = norm.ppf(1 - (1 - CONF_LEVEL) / 2)
            lo, up = est * np.exp(-z * se), est * np.exp(z * se)
    else:
        res = fisher_2x2(np.array([[a, b], [c, d]]), conf_level=CONF_LEVEL)
        est, lo, up = res.estimate, res.lower, res.upper
        if min(a + b, c + d, a + c, b + d) == 0:
            # a zero margin (e.g. no events at all): only one table has these margins.  R
            # reports the estimate 0 here (x is at the low end of a one-point support);
            # the odds ratio is undefined, so NaN (with R's CI 0 to Inf), as before.
            est = np.nan
    return {
        "estimate": float(est),
        "lower": float(lo),
        "upper": float(up),
        "ci_method": OR_METHODS[key],
        "reference": ref,
        "comparison": cmp_,
        "table": counts,
        "warning": warning,
        "n_missing": counts.attrs["n_missing"],
    }
