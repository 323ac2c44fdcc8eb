"""Baseline characteristics table ("Table 1"), in the style of R's tableone.

The main entry point is :func:`table_one`, which returns a long-format
:class:`pandas.DataFrame` with one row for the group sizes, one header row per
variable and one row per level of each categorical variable. Every formatted
(string) cell has a machine-readable numeric twin, so downstream code never has
to parse strings:

* formatted: ``overall``, one column per group (named ``str(group value)``),
  ``p``, ``test``, ``smd``;
* numeric: ``p_value``, ``smd_value``, ``missing`` and, for each of
  ``overall`` and every group ``g``: ``n_<g>``, ``pct_<g>``, ``mean_<g>``,
  ``sd_<g>``, ``median_<g>``, ``q1_<g>``, ``q3_<g>`` and ``nmiss_<g>`` (number of
  missing values of the variable in that group, header rows);
* labels: ``level_label`` (display label of a level from the variable's optional
  ``level_labels`` mapping, else the level itself).

Statistical conventions (chosen to match R; every p-value names its test):

* categorical, ``categorical_test="auto"``: Pearson chi-square without
  continuity correction (R ``chisq.test(correct = FALSE)``) when all expected
  counts are >= 5, otherwise Fisher's exact test (R ``fisher.test``), computed
  exactly for any R x C table by :func:`her2cohort.stats.exact.fisher_exact`
  (network algorithm, R's two-sided definition). Only when the exact computation
  would be too large is its Monte Carlo p-value used (as R's
  ``simulate.p.value = TRUE``), and the ``test`` column then says so, e.g.
  "Fisher's exact test (Monte Carlo, B = 2000 replicates, seed 12345)"; there is
  no silent fallback to chi-square. "Pearson chi-square (expected counts < 5)"
  appears only when the chi-square test was requested (``"chisq"``) for a table
  with small expected counts;
* continuous, two groups: Welch t-test (R ``t.test``); non-normal: Wilcoxon
  rank-sum test with normal approximation, tie and continuity correction
  (R ``wilcox.test(exact = FALSE, correct = TRUE)``);
* continuous, more than two groups: one-way ANOVA (R ``oneway.test(var.equal =
  TRUE)``, as tableone); non-normal: Kruskal-Wallis test;
* SMD (two groups only, NaN otherwise), reported as an absolute value like R
  tableone: continuous ``|m1 - m2| / sqrt((s1^2 + s2^2) / 2)``; categorical,
  the multi-level SMD of Yang & Dalton (2012) as in tableone's ``ExtractSmd``
  (generalised inverse of the pooled covariance matrix, first level dropped).

Missing values are excluded from percentages, summary statistics, tests and
SMDs; rows with a missing group are dropped altogether.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "TEST_ANOVA",
    "TEST_CHISQ",
    "TEST_CHISQ_SMALL",
    "TEST_DESCRIPTIONS",
    "TEST_FISHER",
    "TEST_KRUSKAL",
    "TEST_WELCH",
    "TEST_WILCOXON",
    "fisher_exact_rxc",
    "fisher_monte_carlo_note",
    "format_p",
    "smd_categorical",
    "smd_continuous",
    "table_footnotes",
    "table_one",
]

TEST_CHISQ = "Pearson chi-square"
TEST_CHISQ_SMALL = "Pearson chi-square (expected counts < 5)"
TEST_FISHER = "Fisher's exact test"
TEST_WELCH = "Welch t-test"
TEST_WILCOXON = "Wilcoxon rank-sum test"
TEST_ANOVA = "One-way ANOVA"
TEST_KRUSKAL = "Kruskal-Wallis test"

#: Long descriptions of every test name used in the ``test`` column (for footnotes).
TEST_DESCRIPTIONS: dict[str, str] = {
    TEST_CHISQ: "Pearson chi-square test without continuity correction "
    "(all expected counts >= 5).",
    TEST_CHISQ_SMALL: "Pearson chi-square test without continuity correction, as requested; "
    "at least one expected count is < 5, so the p-value is approximate.",
    TEST_FISHER: "Fisher's exact test, two-sided (used when an expected count is < 5).",
    TEST_WELCH: "Welch two-sample t-test (unequal variances), two-sided.",
    TEST_WILCOXON: "Wilcoxon rank-sum (Mann-Whitney U) test, two-sided, normal approximation "
    "with tie and continuity correction.",
    TEST_ANOVA: "One-way analysis of variance (equal variances).",
    TEST_KRUSKAL: "Kruskal-Wallis rank-sum test.",
}

_STATS = ("n", "pct", "mean", "sd", "median", "q1", "q3")
_CATEGORICAL_TESTS = ("auto", "chisq", "fisher")
_FISHER_MC_PREFIX = "Fisher's exact test (Monte Carlo"


# --------------------------------------------------------------------------- formatting


def _fmt_num(x: float, digits: int) -> str:
    if x is None or not np.isfinite(x):
        return "NA"
    out = f"{x:.{digits}f}"
    if out.startswith("-") and float(out) == 0:  # "-0.0" -> "0.0"
        out = out[1:]
    return out


def format_p(p: float, digits: int = 3) -> str:
    """Format a p-value: ``"<0.001"`` below 0.001, else ``digits`` decimals; NaN -> ``""``."""
    if p is None or not np.isfinite(p):
        return ""
    threshold = 10.0 ** (-digits)
    if p < threshold:
        return f"<{threshold:.{digits}f}"
    return f"{p:.{digits}f}"


def _fmt_smd(x: float) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.3f}"


# --------------------------------------------------------------------------- statistics


def smd_continuous(x1: Sequence[float], x2: Sequence[float]) -> float:
    """Absolute standardized mean difference ``|m1 - m2| / sqrt((s1^2 + s2^2) / 2)``.

    Sample variances use ``n - 1``; missing values are dropped (R tableone).
    """
    a = pd.to_numeric(pd.Series(x1), errors="raise").dropna().to_numpy(float)
    b = pd.to_numeric(pd.Series(x2), errors="raise").dropna().to_numpy(float)
    if a.size < 2 or b.size < 2:
        return float("nan")
    v = (a.var(ddof=1) + b.var(ddof=1)) / 2.0
    diff = a.mean() - b.mean()
    if v == 0:
        return 0.0 if diff == 0 else float("inf")
    return float(abs(diff) / math.sqrt(v))


def smd_categorical(counts1: Sequence[float], counts2: Sequence[float]) -> float:
    """Multi-level SMD of Yang & Dalton (2012) from level counts of two groups.

    ``sqrt((T - C)' S^+ (T - C))`` where ``T``/``C`` are the level proportions
    without the first level and ``S`` is the mean of the two multinomial
    covariance matrices; ``S^+`` is the Moore-Penrose inverse (as ``MASS::ginv``
    in R tableone). For a binary variable this is
    ``|p1 - p2| / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2)``.
    """
    c1 = np.asarray(counts1, dtype=float)
    c2 = np.asarray(counts2, dtype=float)
    if c1.shape != c2.shape or c1.ndim != 1:
        raise ValueError("counts1 and counts2 must be 1-D and of equal length")
    if c1.sum() == 0 or c2.sum() == 0 or c1.size < 2:
        return float("nan")
    t = (c1 / c1.sum())[1:]
    c = (c2 / c2.sum())[1:]
    s = (np.diag(t) - np.outer(t, t) + np.diag(c) - np.outer(c, c)) / 2.0
    d = t - c
    if not np.any(d):
        return 0.0
    val = float(d @ np.linalg.pinv(s) @ d)
    return math.sqrt(max(val, 0.0))


def fisher_exact_rxc(table: Any) -> float:
    """Two-sided Fisher exact p-value for any R x C table, as R ``fisher.test``.

    Thin wrapper around :func:`her2cohort.stats.exact.fisher_exact` (exact network
    algorithm; Monte Carlo only when the exact computation is infeasible, see there).
    All-zero rows/columns are dropped; a table with a single non-empty row or column gives 1.
    """
    from .exact import fisher_exact

    return float(fisher_exact(table).p)


def _categorical_test(table: np.ndarray, how: str,
                      fisher: Mapping[str, Any] | None = None) -> tuple[float, str]:
    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return float("nan"), ""
    chi = stats.chi2_contingency(t, correction=False)
    small = bool(np.any(chi.expected_freq < 5))
    if how == "fisher" or (how == "auto" and small):
        from .exact import fisher_exact

        opts = dict(fisher or {})
        res = fisher_exact(t, max_work=opts.get("max_work"), **{k: int(opts[k]) for k in
                                                                 ("B", "seed") if k in opts})
        return float(res.p), res.test  # TEST_FISHER, or the Monte Carlo name with B and seed
    return float(chi.pvalue), TEST_CHISQ_SMALL if small else TEST_CHISQ


def _continuous_test(samples: list[np.ndarray], nonnormal: bool) -> tuple[float, str]:
    samples = [s for s in samples if s.size > 0]
    if len(samples) < 2:
        return float("nan"), ""
    if len(samples) == 2:
        a, b = samples
        if nonnormal:
            res = stats.mannwhitneyu(
                a, b, use_continuity=True, alternative="two-sided", method="asymptotic"
            )
            return float(res.pvalue), TEST_WILCOXON
        if a.size < 2 or b.size < 2:
            return float("nan"), ""
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue), TEST_WELCH
    if nonnormal:
        return float(stats.kruskal(*samples).pvalue), TEST_KRUSKAL
    if any(s.size < 2 for s in samples):
        return float("nan"), ""
    return float(stats.f_oneway(*samples).pvalue), TEST_ANOVA


# --------------------------------------------------------------------------- table


def _sorted_unique(values: Iterable[Any]) -> list[Any]:
    vals = list(pd.unique(pd.Series(list(values)).dropna()))
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=lambda v: (type(v).__name__, str(v)))


def _empty_row(keys: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "row_type": "",
        "variable": "",
        "label": "",
        "level": "",
        "overall": "",
    }
    for k in keys[1:]:
        row[k] = ""
    row.update({"p": "", "test": "", "smd": "", "missing": pd.NA})
    row.update({"p_value": np.nan, "smd_value": np.nan, "level_label": ""})
    for k in keys:
        for s in _STATS:
            row[f"{s}_{k}"] = np.nan
    for k in keys:
        row[f"nmiss_{k}"] = pd.NA
    return row


def _normalise_spec(spec: Mapping[str, Any] | str, nonnormal: set[str]) -> dict[str, Any]:
    if isinstance(spec, str):
        raise TypeError(
            f"variables must be dicts like {{'name': ..., 'type': ...}}, got the string {spec!r}"
        )
    if "name" not in spec:
        raise ValueError(f"variable spec without 'name': {spec!r}")
    kind = spec.get("type")
    if kind not in ("continuous", "categorical"):
        raise ValueError(
            f"variable {spec['name']!r}: type must be 'continuous' or 'categorical', got {kind!r}"
        )
    out = dict(spec)
    out["label"] = str(spec.get("label", spec["name"]))
    out["nonnormal"] = bool(spec.get("nonnormal", False)) or spec["name"] in nonnormal
    test = spec.get("test")
    if test is not None and test not in _CATEGORICAL_TESTS:
        raise ValueError(f"variable {spec['name']!r}: test must be one of {_CATEGORICAL_TESTS}")
    level_labels = spec.get("level_labels")
    if level_labels is not None:
        if not isinstance(level_labels, Mapping):
            raise TypeError(f"variable {spec['name']!r}: level_labels must be a mapping")
        if kind != "categorical":
            raise ValueError(f"variable {spec['name']!r}: level_labels needs type categorical")
        if spec.get("levels") is not None:
            unknown = sorted(set(map(str, level_labels)) - set(map(str, spec["levels"])))
            if unknown:
                raise ValueError(
                    f"variable {spec['name']!r}: level_labels for values not in levels: "
                    f"{unknown}"
                )
        out["level_labels"] = {str(k): str(v) for k, v in level_labels.items()}
    return out


def table_one(
    df: pd.DataFrame,
    group: str,
    variables: Sequence[Mapping[str, Any]],
    group_order: Sequence[Any] | None = None,
    nonnormal: Iterable[str] = (),
    categorical_test: str = "auto",
    digits: int = 1,
    fisher: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Build a tableone-style baseline table in long format.

    Parameters
    ----------
    df
        One row per patient.
    group
        Column with the comparison groups (rows where it is missing are dropped).
    variables
        Ordered list of dicts ``{"name": col, "label": "Age, years",
        "type": "continuous" | "categorical", "levels": [...]}``. ``levels``
        (categorical, optional) fixes the level order; values not listed raise
        ``ValueError``. Without it, the categories of a pandas ``Categorical``
        are used, else the sorted unique values. Optional keys: ``"nonnormal":
        True`` (continuous), ``"test": "auto" | "chisq" | "fisher"``
        (categorical, overrides ``categorical_test``) and ``"level_labels":
        {"pre": "Premenopausal", ...}`` (categorical; display labels, written to
        the ``level_label`` column; ``level`` keeps the data value).
    group_order
        Order of the group columns; defaults to the sorted unique group values.
    nonnormal
        Names of continuous variables summarised as median [Q1, Q3] and tested
        with the Wilcoxon rank-sum (two groups) or Kruskal-Wallis test.
    categorical_test
        ``"auto"`` (chi-square if all expected counts >= 5, else Fisher),
        ``"chisq"`` or ``"fisher"``.
    digits
        Decimals for percentages, means, SDs, medians and quartiles.
    fisher
        Options of Fisher's exact test (config ``table1.fisher``): ``max_work`` (work budget
        of the exact network algorithm, default
        :data:`her2cohort.stats.exact.DEFAULT_MAX_WORK`), ``B`` and ``seed`` of the Monte
        Carlo p-value used beyond it (the ``test`` column then names B and the seed).

    Returns
    -------
    pandas.DataFrame
        Columns ``row_type`` (``"n"``, ``"header"``, ``"level"``), ``variable``,
        ``label``, ``level`` (level name; the statistic for continuous headers),
        ``level_label`` (display label of the level),
        ``overall``, one formatted column per group (named ``str(value)``),
        ``p``, ``test``, ``smd``, ``missing`` (overall count, header rows),
        ``p_value``, ``smd_value`` and numeric ``n_/pct_/mean_/sd_/median_/q1_/q3_``
        columns suffixed with ``overall`` and each group name. ``n_<g>`` is the
        group size on the ``n`` row, the number of non-missing values on header
        rows and the level count on level rows; ``pct_<g>`` is the percent of
        non-missing values on level rows; ``nmiss_<g>`` is the number of
        missing values in group ``g`` (header rows; ``overall`` = ``missing``).
    """
    if categorical_test not in _CATEGORICAL_TESTS:
        raise ValueError(f"categorical_test must be one of {_CATEGORICAL_TESTS}")
    if group not in df.columns:
        raise KeyError(f"group column {group!r} not in DataFrame")
    nonnormal_set = {str(v) for v in nonnormal}
    specs = [_normalise_spec(v, nonnormal_set) for v in variables]
    names = [s["name"] for s in specs]
    missing_cols = [n for n in names if n not in df.columns]
    if missing_cols:
        raise KeyError(f"variables not in DataFrame: {missing_cols}")
    if len(set(names)) != len(names):
        raise ValueError("duplicate variable names")
    unknown_nonnormal = nonnormal_set - set(names)
    if unknown_nonnormal:
        raise ValueError(f"nonnormal names not among variables: {sorted(unknown_nonnormal)}")

    data = df.loc[df[group].notna()]
    present = _sorted_unique(data[group])
    if group_order is None:
        groups = present
    else:
        groups = list(group_order)
        extra = [g for g in present if g not in groups]
        if extra:
            raise ValueError(f"group values not in group_order: {extra}")
        if len(set(map(str, groups))) != len(groups):
            raise ValueError("group_order has duplicates")
    gnames = [str(g) for g in groups]
    reserved = {"overall", "row_type", "variable", "label", "level", "level_label", "p",
                "test", "smd", "missing", "p_value", "smd_value"}
    clash = [g for g in gnames if g in reserved]
    if clash:
        raise ValueError(f"group values clash with output column names: {clash}")
    keys = ["overall", *gnames]
    masks = [np.ones(len(data), dtype=bool)] + [
        (data[group] == g).to_numpy() for g in groups
    ]

    rows: list[dict[str, Any]] = []
    row = _empty_row(keys)
    row.update(row_type="n", variable="n", label="n", level_label="")
    for k, m in zip(keys, masks, strict=True):
        row[k] = str(int(m.sum()))
        row[f"n_{k}"] = int(m.sum())
    rows.append(row)

    for spec in specs:
        col = data[spec["name"]]
        if spec["type"] == "continuous":
            rows.append(_continuous_rows(spec, col, keys, masks, digits))
        else:
            test = spec.get("test") or categorical_test
            rows.extend(_categorical_rows(spec, col, keys, masks, digits, test, fisher))

    out = pd.DataFrame(rows, columns=list(_empty_row(keys).keys()))
    out["missing"] = out["missing"].astype("Int64")
    for k in keys:
        out[f"n_{k}"] = out[f"n_{k}"].astype("Int64")
        out[f"nmiss_{k}"] = out[f"nmiss_{k}"].astype("Int64")
    return out.reset_index(drop=True)


def _continuous_rows(
    spec: dict[str, Any],
    col: pd.Series,
    keys: list[str],
    masks: list[np.ndarray],
    digits: int,
) -> dict[str, Any]:
    try:
        values = pd.to_numeric(col, errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"continuous variable {spec['name']!r} is not numeric") from exc
    nonnormal = spec["nonnormal"]
    row = _empty_row(keys)
    stat = "median [Q1, Q3]" if nonnormal else "mean (SD)"
    row.update(
        row_type="header",
        variable=spec["name"],
        label=spec["label"],
        level=stat,
        level_label=stat,
    )
    samples = []
    for k, m in zip(keys, masks, strict=True):
        x = values[m]
        row[f"nmiss_{k}"] = int(np.isnan(x).sum())
        x = x[~np.isnan(x)]
        if k != "overall":
            samples.append(x)
        row[f"n_{k}"] = int(x.size)
        if x.size:
            mean = float(np.mean(x))
            sd = float(np.std(x, ddof=1)) if x.size > 1 else float("nan")
            med, q1, q3 = (float(v) for v in np.quantile(x, [0.5, 0.25, 0.75]))
        else:
            mean = sd = med = q1 = q3 = float("nan")
        row.update({f"mean_{k}": mean, f"sd_{k}": sd, f"median_{k}": med,
                    f"q1_{k}": q1, f"q3_{k}": q3})
        if nonnormal:
            row[k] = (
                f"{_fmt_num(med, digits)} [{_fmt_num(q1, digits)}, {_fmt_num(q3, digits)}]"
            )
        else:
            row[k] = f"{_fmt_num(mean, digits)} ({_fmt_num(sd, digits)})"
    p, test = _continuous_test(samples, nonnormal)
    smd = smd_continuous(samples[0], samples[1]) if len(samples) == 2 else float("nan")
    row.update(p_value=p, p=format_p(p), test=test, smd_value=smd, smd=_fmt_smd(smd),
               missing=int(np.isnan(values).sum()))
    return row


def _categorical_rows(
    spec: dict[str, Any],
    col: pd.Series,
    keys: list[str],
    masks: list[np.ndarray],
    digits: int,
    test: str,
    fisher: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    notna = col.notna().to_numpy()
    if spec.get("levels") is not None:
        levels = list(spec["levels"])
        if len(set(map(str, levels))) != len(levels):
            raise ValueError(f"variable {spec['name']!r}: duplicate levels")
    elif isinstance(col.dtype, pd.CategoricalDtype):
        levels = list(col.cat.categories)
    else:
        levels = _sorted_unique(col)
    observed = _sorted_unique(col)
    unlisted = [v for v in observed if v not in levels]
    if unlisted:
        raise ValueError(f"variable {spec['name']!r}: values not in levels: {unlisted}")

    # counts[level, key]
    counts = np.zeros((len(levels), len(keys)), dtype=np.int64)
    for i, lev in enumerate(levels):
        is_lev = notna & (col == lev).to_numpy()
        for j, m in enumerate(masks):
            counts[i, j] = int(np.sum(is_lev & m))
    nonmiss = np.array([int(np.sum(notna & m)) for m in masks], dtype=np.int64)

    group_counts = counts[:, 1:]
    p, test_name = _categorical_test(group_counts, test, fisher)
    smd = (
        smd_categorical(group_counts[:, 0], group_counts[:, 1])
        if group_counts.shape[1] == 2
        else float("nan")
    )
    header = _empty_row(keys)
    header.update(
        row_type="header",
        variable=spec["name"],
        label=spec["label"],
        level="n (%)",
        level_label="n (%)",
        p_value=p,
        p=format_p(p),
        test=test_name,
        smd_value=smd,
        smd=_fmt_smd(smd),
        missing=int((~notna).sum()),
    )
    for j, (k, m) in enumerate(zip(keys, masks, strict=True)):
        header[f"n_{k}"] = int(nonmiss[j])
        header[f"nmiss_{k}"] = int(np.sum(~notna & m))
    out = [header]
    level_labels = spec.get("level_labels") or {}
    for i, lev in enumerate(levels):
        row = _empty_row(keys)
        row.update(row_type="level", variable=spec["name"], label=spec["label"],
                   level=str(lev), level_label=level_labels.get(str(lev), str(lev)))
        for j, k in enumerate(keys):
            n = int(counts[i, j])
            pct = 100.0 * n / nonmiss[j] if nonmiss[j] > 0 else float("nan")
            row[f"n_{k}"] = n
            row[f"pct_{k}"] = pct
            row[k] = f"{n} ({_fmt_num(pct, digits)})"
        out.append(row)
    return out


# --------------------------------------------------------------------------- footnotes & docx


def fisher_monte_carlo_note(name: str, max_work: int | None = None) -> str:
    """Footnote for a Monte Carlo Fisher test name ("Fisher's exact test (Monte Carlo, B = 2000
    replicates, seed 12345)"): what was simulated and why (the exact work budget)."""
    import re

    m = re.search(r"B = (\d+) replicates, seed (-?\d+)", name)
    how = (f"from B = {m.group(1)} random tables with the observed margins (seed "
           f"{m.group(2)})" if m else "from random tables with the observed margins")
    budget = f"{max_work:,} work units, " if max_work is not None else ""
    return ("Fisher's exact test, two-sided, Monte Carlo p-value " + how + ", as R "
            "fisher.test(simulate.p.value = TRUE); used because the exact computation needed "
            f"more than its work budget ({budget}configuration table1.fisher.max_work).")


def table_footnotes(table: pd.DataFrame) -> list[str]:
    """Footnotes describing the summaries, every test used in ``table`` and the SMD."""
    notes = [
        (
            "Categorical variables: n (%), percentages of patients with a known value; "
            "continuous variables: mean (SD) or median (Q1, Q3). Unknown: patients with a "
            "missing value, excluded from percentages, summaries, tests and SMD."
        )
    ]
    used = [t for t in pd.unique(table["test"]) if isinstance(t, str) and t]
    for name in used:
        desc = TEST_DESCRIPTIONS.get(name, "")
        if not desc and name.startswith(_FISHER_MC_PREFIX):
            desc = fisher_monte_carlo_note(name)
        notes.append(f"{name}: {desc}" if desc else name)
    if table["smd_value"].notna().any():
        notes.append(
            "SMD: absolute standardized mean difference; for categorical variables the "
            "multi-level SMD of Yang and Dalton (2012)."
        )
    return notes
