"""Display (formatted) versions of the pCR model tables, ready for
:mod:`her2cohort.render.tables` (Word and HTML), plus a figure footnote helper.

Each function takes a tidy table exactly as the response stage writes it (full precision,
``test`` and ``ci_method`` columns) and only formats and labels it (no statistics):

* :func:`logistic_display`: univariable + multivariable odds ratios (the result of
  ``stats.logistic.regression_table``), as gtsummary ``tbl_merge(tbl_uvregression(),
  tbl_regression())`` with ``add_global_p()``; optionally the multiple-imputation estimates
  (``stats.pooling.pooled_logistic``) in a third column pair;
* :func:`comparison_display`: a level compared inside each group (e.g. dual vs single
  anti-HER2) with the interaction test;
* :func:`continuous_display`: continuous predictors (linear, spline, nonlinearity);
* :func:`strata_display`: per-stratum and Mantel-Haenszel odds ratios with Breslow-Day;
* :func:`trend_display`: rates over ordered categories with the trend test;
* :func:`subgroup_display`: subgroup odds ratios with P-interaction;
* :func:`message_display`: the table of an analysis that was not run, with the reason;
* :func:`add_figure_note`: a wrapped footnote added under a finished figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .display import TEST_SHORT_NAMES, _Marks
from .format import format_estimate, format_int, format_number, format_p, label_for, sup
from .tables import DisplayTable

__all__ = [
    "add_figure_note",
    "comparison_display",
    "continuous_display",
    "logistic_display",
    "message_display",
    "strata_display",
    "subgroup_display",
    "trend_display",
]

#: gtsummary-style footnote text for the tests named by the model code.
MODEL_TESTS: dict[str, str] = {
    **TEST_SHORT_NAMES,
    "likelihood ratio (chi-square)": "Likelihood-ratio test",
    "penalised likelihood ratio (Firth, chi-square)": "Penalised likelihood-ratio test (Firth)",
    "Wald t, Rubin's rules (Barnard-Rubin df)": (
        "Wald t test pooled by Rubin's rules (Barnard-Rubin degrees of freedom)"),
    "Chi-square test for trend in proportions": (
        "Chi-square test for trend in proportions (prop.trend.test)"),
    "Cochran-Mantel-Haenszel chi-square with continuity correction": (
        "Cochran-Mantel-Haenszel test with continuity correction"),
    "Pearson chi-square with Yates continuity correction": (
        "Pearson's chi-squared test with Yates' continuity correction"),
}


def _na(x: Any) -> bool:
    return x is None or (not isinstance(x, str) and bool(pd.isna(x)))


def _p(p: Any, test: Any, marks: _Marks) -> str:
    txt = format_p(p)
    return txt + sup(marks.mark(test)) if txt else ""


def _or(r: Mapping[str, Any], est: str = "odds_ratio", lo: str = "or_lower",
        hi: str = "or_upper") -> str:
    return format_estimate(r.get(est), r.get(lo), r.get(hi), 2)


def _table(rows: list[list[str]], header: list[list[str]], title: str, notes: list[str],
           indent: list[int]) -> DisplayTable:
    n = len(header[-1])
    return DisplayTable(body=pd.DataFrame(rows, columns=range(n)) if rows else
                        pd.DataFrame([[""] * n], columns=range(n)),
                        header=header, title=title, footnotes=notes,
                        indent=indent if rows else [0])


def message_display(analysis: str, reason: str, notes: Sequence[str] = ()) -> DisplayTable:
    """One-cell table: the analysis was not run, and why."""
    return DisplayTable(body=pd.DataFrame([[f"Not analysed: {reason}."]], columns=[0]),
                        header=[[analysis]], title=analysis, footnotes=list(notes))


def logistic_display(
    table: pd.DataFrame,
    mi: pd.DataFrame | None = None,
    *,
    title: str = "Logistic regression",
    outcome: str = "pCR",
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """``regression_table`` output (+ ``variable_label``, ``level_label``, ``n_total``):
    rows per variable (label row with its likelihood-ratio p-value; one row per level with
    ``events/n``, the reference shown as "1 (reference)"), column pairs OR (95% CI) / p for
    the univariable and multivariable models and, with ``mi``, the pooled multiple-imputation
    estimates per level (Wald t p per coefficient)."""
    marks = _Marks(MODEL_TESTS)
    multi = "multi_or" in table.columns
    mi_terms: dict[tuple[str, str], Mapping[str, Any]] = {}
    if mi is not None:
        for _, r in mi.iterrows():
            mi_terms[(str(r["variable"]), str(r["level"]))] = r
    rows: list[list[str]] = []
    indent: list[int] = []
    n_total = int(table["n_total"].iloc[0]) if "n_total" in table else None
    for var, blk in table.groupby("variable", sort=False):
        head = blk.iloc[0]
        label = str(head["variable_label"])
        if n_total is not None and int(head["uni_n"]) < n_total:
            label += f" (n = {format_int(head['uni_n'])})"
        line = [label, ""]
        numeric = head["row_type"] == "label" and len(blk) == 1
        for pre in ("uni", "multi") if multi else ("uni",):
            est = (_or(head, f"{pre}_or", f"{pre}_lower", f"{pre}_upper")
                   if numeric and not _na(head.get(f"{pre}_or")) else "")
            line += [est, _p(head[f"{pre}_p"], head[f"{pre}_test"], marks)]
        if mi is not None:
            r = mi_terms.get((str(var), "nan")) or mi_terms.get((str(var), "None"))
            line += [_or(r), _p(r["p"], r["test"], marks)] if numeric and r is not None \
                else ["", ""]
        rows.append(line)
        indent.append(0)
        for _, lv in blk.iloc[1:].iterrows():
            lab = lv["level_label"] if isinstance(lv["level_label"], str) else str(lv["level"])
            line = [lab, f"{format_int(lv['uni_events'])}/{format_int(lv['uni_n'])}"]
            for pre in ("uni", "multi") if multi else ("uni",):
                line += ["1 (reference)" if lv["reference"] else
                         _or(lv, f"{pre}_or", f"{pre}_lower", f"{pre}_upper"), ""]
            if mi is not None:
                r = mi_terms.get((str(var), str(lv["level"])))
                line += ["1 (reference)" if lv["reference"] else
                         (_or(r) if r is not None else ""),
                         "" if lv["reference"] or r is None else _p(r["p"], r["test"], marks)]
            rows.append(line)
            indent.append(1)
    top = ["", ""] + ["Univariable"] * 2 + (["Multivariable"] * 2 if multi else [])
    sub = ["Characteristic", f"{outcome}, n/N"] + ["OR (95% CI)", "p-value"] * (
        2 if multi else 1)
    if mi is not None:
        top += ["Multiple imputation"] * 2
        sub += ["OR (95% CI)", "p-value"]
    notes = [("OR: odds ratio; CI: confidence interval. Univariable models use the patients "
             "with that variable recorded (n shown when fewer than all); p-values per "
             "variable are likelihood-ratio tests of all its levels (drop1).")]
    if multi:
        r0 = table.iloc[0]
        notes.append(f"Multivariable model: n = {format_int(r0['multi_n'])}"
                     + (f" of {format_int(n_total)}" if n_total else "")
                     + f" complete cases, {format_int(r0['multi_events'])} events; events per "
                     f"variable {float(table['epv'].iloc[0]):.1f}.")
    if mi is not None:
        r0 = mi.iloc[0]
        notes.append(f"Multiple imputation by chained equations (predictive mean matching "
                     f"for numbers, logistic or polytomous regression for categories), "
                     f"m = {int(r0['m'])}, seed {int(r0['seed'])}, "
                     f"{format_int(r0['n_incomplete'])} patients with a missing covariate "
                     f"imputed; estimates pooled by Rubin's rules, n = {format_int(r0['n'])}.")
    fn = table["footnote"].dropna()
    if len(fn):
        notes.append("Model fitting: " + str(fn.iloc[0]) + ".")
    warn = table["warning"].dropna()
    if len(warn):
        notes.append("Warning: " + str(warn.iloc[0]) + ".")
    return _table(rows, [top, sub], title, [*marks.notes(), *notes, *extra_notes], indent)


def comparison_display(
    table: pd.DataFrame,
    *,
    title: str,
    level_labels: Mapping[Any, str] | None = None,
    outcome: str = "pCR",
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """Within-group comparison rows (``group, reference, comparison, n_ref, events_ref,
    n_cmp, events_cmp, odds_ratio, or_lower, or_upper, p, test``) and the interaction row
    (``group == "interaction"``)."""
    marks = _Marks(MODEL_TESTS)
    rows: list[list[str]] = []
    indent: list[int] = []
    comp = table[table["group"] != "interaction"]
    ref = label_for(comp["reference"].iloc[0], level_labels) if len(comp) else ""
    cmp_ = label_for(comp["comparison"].iloc[0], level_labels) if len(comp) else ""
    for _, r in comp.iterrows():
        if r.get("status") == "omitted" and _na(r.get("n_ref")):
            rows.append([str(r["group"]), "", "", "", str(r.get("reason", ""))])
        else:
            rows.append([str(r["group"]),
                         f"{format_int(r['events_ref'])}/{format_int(r['n_ref'])}",
                         f"{format_int(r['events_cmp'])}/{format_int(r['n_cmp'])}",
                         _or(r) if r.get("status") == "estimated" else "\u2014",
                         _p(r["p"], r["test"], marks)])
        indent.append(0)
    for _, r in table[table["group"] == "interaction"].iterrows():
        rows.append(["Interaction (P-interaction)", "", "", "", _p(r["p"], r["test"], marks)])
        indent.append(0)
    head = ["", f"{ref}, {outcome} n/N", f"{cmp_}, {outcome} n/N",
            f"OR (95% CI), {cmp_} vs {ref}", "p-value"]
    notes = [f"OR: odds ratio of {outcome}."]
    fn = comp.get("method_reason")
    if fn is not None and (comp.get("method") == "Firth").any():
        notes.append("Firth penalised likelihood where stated: "
                     + "; ".join(f"{g}: {w}" for g, w, m in zip(comp["group"], fn,
                                                                 comp["method"], strict=True)
                                 if m == "Firth") + ".")
    return _table(rows, [head], title, [*marks.notes(), *notes, *extra_notes], indent)


def continuous_display(
    table: pd.DataFrame,
    *,
    title: str,
    variable_labels: Mapping[str, str] | None = None,
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """Continuous predictors: per variable, the adjusted linear and spline models and the
    linear model inside each group (n, events, OR per unit, p, P-nonlinear)."""
    marks = _Marks(MODEL_TESTS)
    rows: list[list[str]] = []
    indent: list[int] = []
    for var, blk in table.groupby("variable", sort=False):
        rows.append([label_for(var, variable_labels), "", "", "", ""])
        indent.append(0)
        for _, r in blk.iterrows():
            if r.get("status") == "skipped":
                rows.append([f"not analysed: {r['reason']}", "", "", "", ""])
                indent.append(1)
                continue
            scope = str(r["scope"])
            model = str(r.get("model", ""))
            lab = f"{scope}: {model}" if not model.startswith("restricted") else \
                f"{scope}: spline ({model.split(', ')[-1]})"
            n = f"{format_int(r['events'])}/{format_int(r['n_used'])}" \
                if not _na(r.get("n_used")) else ""
            est = _or(r) if not _na(r.get("odds_ratio")) else (
                "\u2014" if r.get("status") == "omitted" else "")
            pnl = _p(r.get("p_nonlinear"), r.get("test_nonlinear"), marks)
            p = _p(r.get("p"), r.get("test"), marks) if r.get("status") != "omitted" else \
                str(r.get("reason", ""))
            rows.append([lab, n, est, p, pnl])
            indent.append(1)
    head = ["", "pCR, n/N", "OR per unit (95% CI)", "p-value", "P-nonlinear"]
    return _table(rows, [head], title, [*marks.notes(), *extra_notes], indent)


def strata_display(
    table: pd.DataFrame,
    *,
    title: str,
    stratum_label: str = "Stratum",
    level_labels: Mapping[Any, str] | None = None,
    outcome: str = "pCR",
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """Per-stratum counts and odds ratios, then the pooled Mantel-Haenszel row with the CMH
    test and the Breslow-Day homogeneity p-value."""
    marks = _Marks(MODEL_TESTS)
    ref, cmp_ = str(table["reference"].iloc[0]), str(table["comparison"].iloc[0])
    rows: list[list[str]] = []
    indent: list[int] = []
    for _, r in table.iterrows():
        pooled = str(r["stratum"]).startswith("Mantel-Haenszel")
        rows.append([str(r["stratum"]) if pooled else label_for(r["stratum"], level_labels),
                     f"{format_int(r['events_ref'])}/{format_int(r['n_ref'])}",
                     f"{format_int(r['events_cmp'])}/{format_int(r['n_cmp'])}",
                     _or(r), _p(r.get("p"), r.get("test"), marks) if pooled else "",
                     _p(r.get("bd_p"), "Breslow-Day test of homogeneity of odds ratios",
                        marks) if pooled else ""])
        indent.append(0 if pooled else 1)
    head = [stratum_label, f"{ref}, {outcome} n/N", f"{cmp_}, {outcome} n/N",
            f"OR (95% CI), {cmp_} vs {ref}", "p-value", "P-homogeneity"]
    return _table(rows, [head], title, [*marks.notes(), *extra_notes], indent)


def trend_display(
    table: pd.DataFrame,
    *,
    title: str,
    variable_labels: Mapping[str, str] | None = None,
    level_labels: Mapping[str, Mapping[Any, str]] | None = None,
    outcome: str = "pCR",
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """Rates per ordered category (one column block per scope: all, then each group) with
    the trend p-value on the variable's row."""
    marks = _Marks(MODEL_TESTS)
    t = table[table.get("status", pd.Series("", index=table.index)) != "skipped"]
    scopes = list(dict.fromkeys(t["scope"])) if len(t) else []
    rows: list[list[str]] = []
    indent: list[int] = []
    for var, blk in t.groupby("variable", sort=False):
        line = [label_for(var, variable_labels)]
        for s in scopes:
            sb = blk[blk["scope"] == s]
            p = sb["p"].dropna() if "p" in sb else pd.Series(dtype=float)
            line += ["", _p(p.iloc[0], sb["test"].iloc[0], marks) if len(p) else ""]
        rows.append(line)
        indent.append(0)
        for cat in dict.fromkeys(blk["category"]):
            line = [label_for(cat, (level_labels or {}).get(var))]
            for s in scopes:
                c = blk[(blk["scope"] == s) & (blk["category"] == cat)]
                line += [f"{format_int(c['events'].iloc[0])}/{format_int(c['n'].iloc[0])} "
                         f"({format_number(c['pct'].iloc[0], 1)}%)"
                         if len(c) and c["n"].iloc[0] > 0 else "0/0", ""]
            rows.append(line)
            indent.append(1)
    top = [""] + [("All patients" if s == "all" else str(s)) for s in scopes for _ in (0, 1)]
    sub = [""] + [f"{outcome}, n/N (%)", "P-trend"] * len(scopes)
    return _table(rows, [top, sub], title, [*marks.notes(), *extra_notes], indent)


def subgroup_display(
    table: pd.DataFrame,
    *,
    title: str,
    ci_method: str,
    group_name: str = "group",
    min_n: int | None = None,
    min_cell: int = 5,
    outcome: str = "pCR",
    extra_notes: Sequence[str] = (),
) -> DisplayTable:
    """Subgroup rows (``variable_label, level_label, n_ref, events_ref, n_cmp, events_cmp,
    odds_ratio, or_lower, or_upper, p_interaction, test_interaction, status, reason``) with
    an ``overall`` row last; omitted levels carry a footnote with the reason."""
    marks = _Marks(MODEL_TESTS)
    ref, cmp_ = str(table["reference"].iloc[0]), str(table["comparison"].iloc[0])
    reasons: list[str] = []
    rows: list[list[str]] = []
    indent: list[int] = []
    firth = False
    for var, blk in table.groupby("variable", sort=False):
        sub = var != "overall"
        if sub:
            r0 = blk.iloc[0]
            t = r0["test_interaction"]
            p = _p(r0["p_interaction"], t, marks) if not _na(r0["p_interaction"]) else (
                str(t) if isinstance(t, str) else "")
            rows.append([str(r0["variable_label"]), "", "", "", p])
            indent.append(0)
        for _, r in blk.iterrows():
            est = _or(r)
            if r.get("method") == "Firth":
                est += sup("\u2020")
                firth = True
            lab = str(r["level_label"]) if sub else "Overall"
            if r["status"] != "estimated":
                if r["reason"] not in reasons:
                    reasons.append(r["reason"])
                mark = "*" * (reasons.index(r["reason"]) + 1)
                lab += f" {mark}"
                est = "\u2014"
            rows.append([lab, f"{format_int(r['events_ref'])}/{format_int(r['n_ref'])}",
                         f"{format_int(r['events_cmp'])}/{format_int(r['n_cmp'])}", est, ""])
            indent.append(1 if sub else 0)
    head = ["Subgroup", f"{ref}, {outcome} n/N", f"{cmp_}, {outcome} n/N",
            f"OR (95% CI), {cmp_} vs {ref}", "P-interaction"]
    notes = [(f"OR: odds ratio of {outcome} by logistic regression within the subgroup; "
             f"CI: {ci_method}. P-interaction: likelihood-ratio test of {group_name} x "
             "subgroup variable on all patients with it recorded.")]
    notes += [f"{'*' * (i + 1)} Not estimated: {r}"
              + (f" (at least {min_n} patients per group needed)" if min_n and
                 str(r).startswith("fewer") else "") + "." for i, r in enumerate(reasons)]
    if firth:
        notes.append(f"{sup(chr(0x2020))}Firth penalised likelihood (stated rule: separation, or "
                     f"a group with fewer than {min_cell} patients with or without pCR in the subgroup); "
                     "CI by profile penalised likelihood.")
    return _table(rows, [head], title, [*marks.notes(), *notes, *extra_notes], indent)


def add_figure_note(fig: Any, text: str, fontsize: float = 7.0, margin: float = 0.12) -> None:
    """Add a wrapped note under a finished figure without moving anything drawn: the figure
    grows at the bottom and every axes keeps its size and position in inches."""
    import matplotlib as mpl

    from .figures import _Measurer, _style

    w, h = fig.get_size_inches()
    with mpl.rc_context(_style()):
        meas = _Measurer()
        wrapped = meas.wrap(text, w - 2 * margin, fontsize)
        th = meas.size(wrapped, fontsize)[1]
    dh = th + 0.15
    new_h = h + dh
    for ax in fig.axes:
        x0, y0, aw, ah = ax.get_position().bounds
        ax.set_position((x0, (y0 * h + dh) / new_h, aw, ah * h / new_h))
    fig.set_size_inches(w, new_h)
    with mpl.rc_context(_style()):
        fig.text(margin / w, (dh - 0.05) / new_h, wrapped, ha="left", va="top",
                 fontsize=fontsize, linespacing=1.3)
