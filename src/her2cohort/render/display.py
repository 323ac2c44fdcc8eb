"""Display (formatted) versions of the pipeline's tidy result tables, ready for
:mod:`her2cohort.render.tables`.

Each function takes a tidy table exactly as the pipeline writes it (numbers at full precision,
``test`` and ``ci_method`` columns) and returns a :class:`~her2cohort.render.tables.DisplayTable`.
Nothing is recomputed: only formatted (:mod:`her2cohort.render.format`) and labelled.

* :func:`table_one_display`: a ``stats.table1.table_one`` result in the style of R gtsummary
  ``tbl_summary(by = ) |> add_overall() |> add_p()`` plus tableone's SMD column.
* :func:`rates_display`: ``pcr_rates.csv`` + ``pcr_tests.csv`` (and any rate table with
  ``group, n, events, pct, lower, upper, ci_method``, e.g. ``her2_loss.csv``).
* :func:`her2_loss_display`: ``her2_loss.csv`` (rates with their ``p``/``test`` columns).
* :func:`cox_display`: an endpoint's Cox table (``<endpoint>_cox.csv``; one HR column pair per
  model).
* :func:`cox_regression_display`: the survival stage's Cox table (univariable and
  multivariable) in the layout of the logistic table
  (:func:`her2cohort.render.response_display.logistic_display`): N and events per level, the
  reference level as "1 (reference)", one likelihood-ratio p per variable. Titles and labels (the endpoint's name, the groups) are passed in by the stage, from
  the study definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .format import (
    NA_TEXT,
    footnote_mark,
    format_estimate,
    format_int,
    format_n_pct,
    format_number,
    format_p,
    label_for,
    split_term,
    sup,
)
from .tables import DisplayTable

__all__ = [
    "TEST_SHORT_NAMES",
    "cox_display",
    "cox_regression_display",
    "her2_loss_display",
    "rates_display",
    "table_one_display",
]

#: Footnote text for the test names written by the statistics modules (gtsummary wording).
TEST_SHORT_NAMES: dict[str, str] = {
    "Pearson chi-square": "Pearson's chi-squared test",
    "Pearson chi-square (no continuity correction)": "Pearson's chi-squared test",
    "Pearson chi-square (expected counts < 5)": (
        "Pearson's chi-squared test (an expected count < 5; approximate)"),
    "Fisher's exact test": "Fisher's exact test",
    "Fisher's exact test (two-sided)": "Fisher's exact test",
    "Welch t-test": "Welch two-sample t-test",
    "Wilcoxon rank-sum test": "Wilcoxon rank-sum test",
    "One-way ANOVA": "One-way analysis of variance",
    "Kruskal-Wallis test": "Kruskal-Wallis rank-sum test",
    "Wald": "Wald test",
    "likelihood ratio (Cox model with and without the term)": (
        "Likelihood-ratio test of the variable, all its levels jointly (R drop1 / anova for "
        "coxph)"),
}

_FIXED = {"row_type", "variable", "label", "level", "level_label", "overall", "p", "test",
          "smd", "missing", "p_value", "smd_value"}
_STAT_PREFIXES = ("n_", "pct_", "mean_", "sd_", "median_", "q1_", "q3_", "nmiss_")


def _group_keys(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns
            if c not in _FIXED and not str(c).startswith(_STAT_PREFIXES)]


class _Marks:
    """Footnote marks a, b, c... assigned to test names in order of first use."""

    def __init__(self, descriptions: Mapping[str, str] | None, start: int = 0) -> None:
        self.desc = {**TEST_SHORT_NAMES, **(descriptions or {})}
        self.order: list[str] = []
        self.start = start

    def mark(self, test: Any) -> str:
        if not isinstance(test, str) or not test:
            return ""
        if test not in self.order:
            self.order.append(test)
        return footnote_mark(self.start + self.order.index(test))

    def notes(self) -> list[str]:
        return [f"{sup(footnote_mark(self.start + i))}{self.desc.get(t, t)}"
                for i, t in enumerate(self.order)]


def table_one_display(
    table: pd.DataFrame,
    *,
    title: str = "Table 1. Baseline characteristics",
    group_labels: Mapping[Any, str] | None = None,
    overall: bool = True,
    overall_label: str = "Overall",
    smd: bool = True,
    unknown_label: str = "Unknown",
    digits: int = 1,
    p_digits: int = 2,
    smd_digits: int = 2,
    test_descriptions: Mapping[str, str] | None = None,
    notes: Sequence[str] | None = None,
    extra_notes: Sequence[str] = (),
    characteristic_header: str = "Characteristic",
) -> DisplayTable:
    """Table 1 as gtsummary ``tbl_summary(by=) |> add_overall() |> add_p()`` + tableone SMD.

    Header cells ``"IHC 3+, N = 458"`` (``group_labels`` maps the group columns of ``table``
    to display labels), ``"Overall, N = 575"`` first as gtsummary ``add_overall()``, then
    ``"p-value"`` and ``"SMD"``. Categorical variables: a label row carrying the p-value and
    SMD, then one indented row per level (``level_label``, i.e. the spec's ``level_labels``)
    with ``n (%)``, percentages of non-missing values. Continuous variables: one row
    ``"<label>, median (Q1, Q3)"`` or ``"<label>, mean (SD)"``. Every variable with a missing
    value gets an indented ``"Unknown"`` row with the missing count per group and overall.
    p-values are formatted as gtsummary ``style_pvalue(digits = p_digits)`` and carry a
    superscript mark per test; one footnote per test used (``test_descriptions`` overrides
    :data:`TEST_SHORT_NAMES`). ``notes`` replaces the default general footnotes (summary
    statistics, Unknown rows, SMD); ``extra_notes`` are appended last.
    """
    need = {"row_type", "label", "level", "level_label", "p_value", "test", "smd_value",
            "missing"}
    miss = sorted(need - set(table.columns))
    if miss:
        raise ValueError(f"not a table_one result (columns {miss} missing); rerun table_one")
    keys = ["overall", *_group_keys(table)]
    absent = [k for k in keys if f"nmiss_{k}" not in table.columns]
    if absent:
        raise ValueError(f"table_one result without nmiss_ columns for {absent}; rerun it")
    n_row = table.loc[table["row_type"] == "n"]
    if len(n_row) != 1:
        raise ValueError("table_one result must have exactly one 'n' row")
    n_row = n_row.iloc[0]
    shown = keys if overall else keys[1:]
    head = [characteristic_header]
    for k in shown:
        lab = overall_label if k == "overall" else label_for(k, group_labels)
        # "N = 458" never splits across lines (no-break spaces)
        head.append(f"{lab}, N\u00a0=\u00a0{format_int(n_row[f'n_{k}'])}")
    head.append("p-value")
    if smd:
        head.append("SMD")

    marks = _Marks(test_descriptions)
    rows: list[list[str]] = []
    indent: list[int] = []
    any_unknown = False
    any_smd = False
    stats_used: set[str] = set()

    def tail(r: pd.Series) -> list[str]:
        p = format_p(r["p_value"], p_digits)
        out = [p + sup(marks.mark(r["test"])) if p else ""]
        if smd:
            out.append(format_number(r["smd_value"], smd_digits, na=""))
        return out

    body = table.loc[table["row_type"] != "n"]
    if not set(body["row_type"]) <= {"header", "level"}:
        raise ValueError(f"unknown row_type in {sorted(set(body['row_type']))}")
    for _, blk in body.groupby("variable", sort=False):
        r = blk.iloc[0]
        if r["row_type"] != "header":
            raise ValueError(f"variable {r['variable']!r}: first row is not a header row")
        if r["level"] != "n (%)":  # continuous: one row
            nonnormal = str(r["level"]).startswith("median")
            stat = "median (Q1, Q3)" if nonnormal else "mean (SD)"
            stats_used.add(stat)
            vals = []
            for k in shown:
                if pd.isna(r[f"n_{k}"]) or r[f"n_{k}"] == 0:
                    vals.append(NA_TEXT)
                elif nonnormal:
                    vals.append(f"{format_number(r[f'median_{k}'], digits)} "
                                f"({format_number(r[f'q1_{k}'], digits)}, "
                                f"{format_number(r[f'q3_{k}'], digits)})")
                else:
                    vals.append(f"{format_number(r[f'mean_{k}'], digits)} "
                                f"({format_number(r[f'sd_{k}'], digits)})")
            rows.append([f"{r['label']}, {stat}", *vals, *tail(r)])
        else:
            stats_used.add("n (%)")
            rows.append([str(r["label"]), *([""] * len(shown)), *tail(r)])
        indent.append(0)
        any_smd = any_smd or bool(pd.notna(r["smd_value"]))
        for _, lv in blk.iloc[1:].iterrows():
            lab = lv["level_label"] if isinstance(lv["level_label"], str) and lv["level_label"] \
                else str(lv["level"])
            rows.append([lab, *[format_n_pct(lv[f"n_{k}"], lv[f"pct_{k}"], digits)
                                for k in shown], *([""] * (2 if smd else 1))])
            indent.append(1)
        if pd.notna(r["missing"]) and int(r["missing"]) > 0:
            any_unknown = True
            rows.append([unknown_label, *[format_int(r[f"nmiss_{k}"]) for k in shown],
                         *([""] * (2 if smd else 1))])
            indent.append(1)

    if notes is None:
        parts = []
        if "n (%)" in stats_used:
            parts.append("n (%); percentages are of patients with a known value")
        for s in ("median (Q1, Q3)", "mean (SD)"):
            if s in stats_used:
                parts.append(f"{s} as stated in the row")
        general = ["; ".join(parts) + "." if parts else ""]
        if any_unknown:
            general.append(f"{unknown_label}: patients with a missing value (n per column); "
                           "they are not included in percentages, summaries, tests or SMD.")
        if smd and any_smd:
            general.append("SMD: absolute standardized mean difference between the two "
                           "groups (for categorical variables, Yang and Dalton 2012).")
        notes = [g for g in general if g]
    footnotes = [*marks.notes(), *notes, *extra_notes]
    return DisplayTable(body=pd.DataFrame(rows, columns=range(len(head))), header=[head],
                        title=title, footnotes=footnotes, indent=indent)


def _check(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise KeyError(f"{what}: columns {miss} missing")


def _ci_note(methods: pd.Series) -> str:
    used = [m for m in pd.unique(methods.dropna()) if str(m)]
    return "CI: confidence interval (" + "; ".join(str(m) for m in used) + ")." if used else ""


def rates_display(
    rates: pd.DataFrame,
    tests: pd.DataFrame | None = None,
    *,
    title: str = "Pathologic complete response (pCR)",
    outcome: str = "pCR",
    definition: str | None = None,
    group_labels: Mapping[Any, str] | None = None,
    section_labels: Mapping[Any, str] | None = None,
    digits: int = 1,
    p_digits: int = 2,
    test_descriptions: Mapping[str, str] | None = None,
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """Rates with 95% CIs and the test of each comparison (``pcr_rates.csv`` +
    ``pcr_tests.csv``).

    ``rates``: columns ``group, n, events, pct, lower, upper, ci_method`` and optionally
    ``subset`` and ``comparison`` (one block of rows per (comparison, subset), in file order).
    ``tests``: ``comparison, subset, test, p`` (matched to the blocks on ``subset`` in file
    order; the p-value sits on the first row of its block). Block header rows read
    ``section_labels[(comparison, subset)]`` or ``section_labels[subset]``, else e.g.
    ``"anti-HER2, within IHC 3+"``. Columns: group, ``n/N``, ``% (95% CI)``, p-value.
    ``definition`` (e.g. ``"ypT0/is ypN0"``) is named in a footnote.
    """
    _check(rates, ["group", "n", "events", "pct", "lower", "upper", "ci_method"], "rates")
    r = rates.copy()
    if "subset" not in r:
        r["subset"] = "all"
    if "comparison" not in r:
        r["comparison"] = ""
    blocks = list(dict.fromkeys(zip(r["comparison"], r["subset"], strict=True)))
    test_rows = []
    if tests is not None:
        _check(tests, ["subset", "test", "p"], "tests")
        test_rows = list(tests.itertuples(index=False))
    marks = _Marks(test_descriptions)
    rows: list[list[str]] = []
    indent: list[int] = []
    used_tests = list(test_rows)
    for comp, subset in blocks:
        blk = r[(r["comparison"] == comp) & (r["subset"] == subset)]
        t = next((x for x in used_tests if str(x.subset) == str(subset)), None)
        if t is not None:
            used_tests.remove(t)
        p = ""
        if t is not None:
            ptxt = format_p(t.p, p_digits)
            p = ptxt + sup(marks.mark(t.test)) if ptxt else ""
        if len(blocks) > 1:
            sec = None
            if section_labels:
                sec = section_labels.get((comp, subset), section_labels.get(subset))
            if sec is None:
                sec = comp if str(subset) == "all" else f"{comp}, within {subset}"
            rows.append([str(sec), "", "", p])
            indent.append(0)
            p = ""
        for j, row in enumerate(blk.itertuples(index=False)):
            rows.append([label_for(row.group, group_labels),
                         f"{format_int(row.events)}/{format_int(row.n)}",
                         format_estimate(row.pct, row.lower, row.upper, digits),
                         p if j == 0 else ""])
            indent.append(1 if len(blocks) > 1 else 0)
    head = ["", f"{outcome}, n/N", f"{outcome}, % (95% CI)", "p-value"]
    notes = []
    if definition:
        notes.append(f"{outcome}: {definition}.")
    ci = _ci_note(r["ci_method"])
    if ci:
        notes.append(ci)
    return DisplayTable(body=pd.DataFrame(rows, columns=range(4)), header=[head], title=title,
                        footnotes=[*marks.notes(), *notes, *extra_notes], indent=indent)


def her2_loss_display(
    loss: pd.DataFrame,
    *,
    title: str = "HER2 loss after therapy",
    outcome: str = "HER2 loss",
    definition: str | None = (
        "residual tumour re-tested as IHC 0/1+ or IHC 2+/ISH-negative, among patients with "
        "residual tumour re-tested"),
    group_labels: Mapping[Any, str] | None = None,
    digits: int = 1,
    p_digits: int = 2,
    test_descriptions: Mapping[str, str] | None = None,
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """``her2_loss.csv`` (rates per group with one ``p``/``test`` repeated on each row)."""
    _check(loss, ["group", "n", "events", "pct", "lower", "upper", "ci_method", "p", "test"],
           "her2_loss")
    tests = loss[["p", "test"]].drop_duplicates()
    if len(tests) != 1:
        raise ValueError("her2_loss: expected one p-value and test for the whole table")
    t = pd.DataFrame({"subset": ["all"], "test": tests["test"].iloc[0],
                      "p": tests["p"].iloc[0]})
    return rates_display(loss.drop(columns=["p", "test"]), t, title=title, outcome=outcome,
                         definition=definition, group_labels=group_labels, digits=digits,
                         p_digits=p_digits, test_descriptions=test_descriptions,
                         extra_notes=extra_notes)


def cox_display(
    cox: pd.DataFrame,
    *,
    title: str = "Cox proportional hazards models",
    term_labels: Mapping[str, str] | None = None,
    variable_labels: Mapping[str, str] | None = None,
    references: Mapping[str, str] | None = None,
    model_labels: Mapping[str, str] | None = None,
    digits: int = 2,
    p_digits: int = 2,
    test_descriptions: Mapping[str, str] | None = None,
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """An endpoint's Cox table (``<endpoint>_cox.csv``) with one ``HR (95% CI)`` / ``p-value`` column pair per ``model``.

    Terms ``"var[level]"`` are grouped under a row ``variable_labels[var]`` with the
    reference level (``references[var]``) shown as ``"1 (reference)"``; other terms are
    labelled by ``term_labels`` (e.g. ``{"pcr_int": "pCR (yes vs no)"}``), else kept as is.
    A footnote gives each model's n and number of events, the CI method and the test.
    """
    _check(cox, ["term", "hr", "lower", "upper", "p", "test", "ci_method", "model", "n",
                 "events"], "cox")
    models = list(dict.fromkeys(cox["model"]))
    mlab = [label_for(m, model_labels) for m in models]
    marks = _Marks(test_descriptions)
    terms = list(dict.fromkeys(cox["term"]))
    rows: list[list[str]] = []
    indent: list[int] = []
    seen_vars: set[str] = set()
    for term in terms:
        var, level = split_term(term)
        if level is not None:
            if var not in seen_vars:
                seen_vars.add(var)
                rows.append([label_for(var, variable_labels), *([""] * (2 * len(models)))])
                indent.append(0)
                if references and var in references:
                    rows.append([label_for(references[var], term_labels),
                                 *(["1 (reference)", ""] * len(models))])
                    indent.append(1)
            lab, ind = label_for(term, term_labels) if term_labels and term in term_labels \
                else level, 1
        else:
            lab, ind = label_for(term, term_labels), 0
        vals = []
        for m in models:
            sel = cox[(cox["term"] == term) & (cox["model"] == m)]
            if sel.empty:
                vals += ["", ""]
                continue
            s = sel.iloc[0]
            ptxt = format_p(s["p"], p_digits)
            vals += [format_estimate(s["hr"], s["lower"], s["upper"], digits),
                     ptxt + sup(marks.mark(s["test"])) if ptxt else ""]
        rows.append([lab, *vals])
        indent.append(ind)
    header = [["", *[m for m in mlab for _ in range(2)]],
              ["", *(["HR (95% CI)", "p-value"] * len(models))]]
    notes = []
    for m, lab in zip(models, mlab, strict=True):
        s = cox[cox["model"] == m].iloc[0]
        notes.append(f"{lab}: n = {format_int(s['n'])}, {format_int(s['events'])} events.")
    notes.append("HR: hazard ratio; " + _ci_note(cox["ci_method"]))
    if header[0][1:] == [""] * (2 * len(models)):
        header = header[1:]
    return DisplayTable(body=pd.DataFrame(rows, columns=range(1 + 2 * len(models))),
                        header=header, title=title,
                        footnotes=[*marks.notes(), *notes, *extra_notes], indent=indent)


def cox_regression_display(
    cox: pd.DataFrame,
    *,
    title: str = "Cox proportional hazards models",
    variable_labels: Mapping[str, str] | None = None,
    level_labels: Mapping[str, Mapping[Any, str]] | None = None,
    model_labels: Mapping[str, str] | None = None,
    events_label: str = "Events",
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """The survival stage's Cox table (``<endpoint>_cox.csv``: ``model, variable, level,
    reference, hr, lower, upper, p, test, ci_method, n, n_total, nevent, level_n,
    level_events`` and, where computed, ``lr_p, lr_test``) as the logistic table is laid out:
    columns Characteristic, N, Events, then HR (95% CI) / p-value per model; a row per
    variable (its label) and, for a factor, one row per level with its patients and events
    (the univariable model's sample) and the reference level shown as "1 (reference)".

    p-values: the likelihood-ratio test of each variable, all its levels jointly, on the
    variable's row (R ``drop1``/``anova`` for coxph); where the table has no LR test (robust
    variances) the Wald p of each level on the level's row. ``level_labels[variable]`` maps
    levels to their display labels; a level without one is shown as written.
    """
    _check(cox, ["model", "variable", "level", "reference", "hr", "lower", "upper", "p",
                 "test", "ci_method", "n", "nevent", "level_n", "level_events"], "cox")
    models = list(dict.fromkeys(cox["model"]))
    mlab = [label_for(m, model_labels) for m in models]
    marks = _Marks(None)
    has_lr = "lr_p" in cox.columns and cox["lr_p"].notna().any()
    level_labels = level_labels or {}

    def hr_text(r: pd.Series) -> str:
        if bool(r["reference"]):
            return "1 (reference)"
        if pd.isna(r["hr"]):
            return "not estimable"
        return format_estimate(r["hr"], r["lower"], r["upper"], 2)

    def p_text(p: Any, test: Any) -> str:
        txt = format_p(p)
        return txt + sup(marks.mark(test)) if txt else ""

    rows: list[list[str]] = []
    indent: list[int] = []
    for var in dict.fromkeys(cox["variable"]):
        blk = cox[cox["variable"] == var]
        per = {m: blk[blk["model"] == m] for m in models}
        first = blk.iloc[0]
        factor = len(blk[blk["model"] == first["model"]]) > 1 or bool(first["reference"])
        label = label_for(var, variable_labels)
        if not factor:  # a number: one row with its model estimates
            line = [label, format_int(first["level_n"]), format_int(first["level_events"])]
            for m in models:
                r = per[m]
                if r.empty:
                    line += ["", ""]
                    continue
                r0 = r.iloc[0]
                line += [hr_text(r0), p_text(r0["lr_p"], r0["lr_test"]) if has_lr
                         else p_text(r0["p"], r0["test"])]
            rows.append(line)
            indent.append(0)
            continue
        line = [label, "", ""]
        for m in models:
            r = per[m]
            line += ["", p_text(r["lr_p"].iloc[0], r["lr_test"].iloc[0])
                     if has_lr and not r.empty else ""]
        rows.append(line)
        indent.append(0)
        levels = list(dict.fromkeys(blk["level"].astype(str)))
        for lv in levels:
            ref = blk[blk["level"].astype(str) == lv].iloc[0]
            line = [label_for(lv, level_labels.get(var)), format_int(ref["level_n"]),
                    format_int(ref["level_events"])]
            for m in models:
                r = per[m][per[m]["level"].astype(str) == lv]
                if r.empty:
                    line += ["", ""]
                    continue
                r0 = r.iloc[0]
                line += [hr_text(r0), "" if has_lr or bool(r0["reference"])
                         else p_text(r0["p"], r0["test"])]
            rows.append(line)
            indent.append(1)
    top = ["", "", ""] + [lab for lab in mlab for _ in range(2)]
    sub = ["Characteristic", "N", events_label] + ["HR (95% CI)", "p-value"] * len(models)
    notes = ["HR: hazard ratio; " + _ci_note(cox["ci_method"]) + " N and "
             + events_label.lower() + ": patients with the variable recorded (the "
             "univariable model's sample), in each level."]
    for m, lab in zip(models, mlab, strict=True):
        r = cox[cox["model"] == m].iloc[0]
        total = ("" if "n_total" not in cox or pd.isna(r["n_total"])
                 or int(r["n_total"]) == int(r["n"])
                 else f" of {format_int(r['n_total'])}")
        if m == "univariable":
            continue
        notes.append(f"{lab} model: n = {format_int(r['n'])}{total} complete cases, "
                     f"{format_int(r['nevent'])} {events_label.lower()}.")
    return DisplayTable(body=pd.DataFrame(rows, columns=range(len(sub))),
                        header=[top, sub], title=title,
                        footnotes=[*marks.notes(), *notes, *extra_notes], indent=indent)
