"""Rule ``response``: pathologic complete response (pCR) and HER2 loss after therapy.

Everything is driven by the ``pcr:`` section of the config (config/README.md) and works for
any two-group cohort; an analysis whose data are absent is skipped with a stated reason in
its tables and figures (never a crash). Missing values as R's ``na.omit``: every table says
how many patients were used of how many.

* rates per group and per level of ``pcr.within_groups`` inside each group, tests by the
  expected-count rule of Table 1 (``pcr.test: auto``), bar figure naming each test used;
* HER2 loss among re-tested residual tumours;
* univariable + multivariable logistic regression (``pcr.models``; Firth by the rule of
  :func:`her2cohort.stats.logistic.choose_method`), with multiple imputation beside the
  complete-case estimates (``pcr.imputation``);
* the within-group comparison as odds ratios with the group x level interaction (LR test);
* continuous predictors (``pcr.continuous``): linear and restricted cubic spline terms,
  nonlinearity LR test, dose-response figure per predictor;
* Mantel-Haenszel OR stratified by ``pcr.strata`` with the Breslow-Day test; trend tests;
* subgroup odds ratios with P-interaction and a forest plot.

Each result goes to a full-precision CSV (``test`` and ``ci_method`` columns) and, where it
is a manuscript table, to Word and HTML (render/response_display.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

Y = "pcr_int"  # 0/1 outcome column used by the models
G = "group"  # column holding the group labels (stages.common.group_setup)

#: how the CI of an odds ratio is named in table footnotes and figure notes
CI_TEXT = {"profile-mass": "profile likelihood (as R confint for a glm)",
           "profile": "profile likelihood", "wald": "Wald"}

_TEST_SHORT = (("Pearson chi-square with Yates", "Yates chi-square"),
               ("Pearson chi-square", "Pearson chi-square"),
               ("Fisher's exact test (Monte Carlo", "Fisher's exact test, Monte Carlo"),
               ("Fisher", "Fisher's exact test"))


def short_test(name: str) -> str:
    """Short name of a test for figure annotations ("Pearson chi-square")."""
    for prefix, short in _TEST_SHORT:
        if str(name).startswith(prefix):
            return short
    return str(name)


class _Labels:
    """Display labels and level orders of variables: ``table1.variables`` (label, levels,
    level_labels), else the canonical field's label, else the column name."""

    def __init__(self, variables: Sequence[Any], groups: dict, group_levels: list[str],
                 treatment: dict | None = None):
        from ..data.fields import BY_NAME

        self.spec = {v["name"]: v for v in variables or [] if isinstance(v, dict)}
        if treatment:  # the study's treatment: its name, arm order and arm labels
            arms = [a for a in treatment.get("arms") or []]
            given = dict(self.spec.get(treatment["column"]) or {})
            given.setdefault("label", treatment.get("name") or treatment["column"])
            given["levels"] = given.get("levels") or [a["id"] for a in arms]
            given["level_labels"] = {**{a["id"]: a.get("label", a["id"]) for a in arms},
                                     **(given.get("level_labels") or {})}
            self.spec[treatment["column"]] = given
        self.by_name = BY_NAME
        self.group_name = groups.get("name") or "Group"
        self.group_levels = group_levels

    def label(self, name: str) -> str:
        if name == G:
            return self.group_name
        if name in self.spec:
            return str(self.spec[name]["label"])
        f = self.by_name.get(name)
        return f.label if f is not None else name

    def level_labels(self, name: str) -> dict:
        return dict(self.spec.get(name, {}).get("level_labels") or {})

    def level(self, name: str, level: Any) -> str:
        return str(self.level_labels(name).get(level, self.level_labels(name).get(str(level),
                                                                                 level)))

    def levels(self, name: str, values: pd.Series) -> list[Any]:
        """Configured order restricted to observed values, then other observed ones sorted."""
        if name == G:
            return [g for g in self.group_levels if (values == g).any()]
        seen = [v for v in pd.unique(values.dropna())]
        given = [v for v in self.spec.get(name, {}).get("levels") or [] if v in seen]
        return given + sorted(v for v in seen if v not in given)


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _cols(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Only the columns an analysis uses: row subsets and conversions then copy those, not
    every column of the patients (registries have 10^5-10^6 rows and ~90 columns)."""
    return df[[c for c in dict.fromkeys(cols) if c in df]]


def _as_object(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """String columns as object with None for missing (what the statistics expect)."""
    out = df.copy()
    for c in cols:
        if c in out and not _is_numeric(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def _p_annotation(tests: list[dict], labels: list[str], within: str, lab: _Labels) -> str:
    """Figure text: each comparison with its p-value and the test actually used."""
    from .common import fmt_p

    lines = []
    for t in tests:
        if t.get("comparison", "").endswith("(pairwise)"):
            continue  # in the table's footnote
        overall = (f"{labels[0]} vs {labels[1]}" if len(labels) == 2
                   else "across " + ", ".join(labels))
        where = (overall if t["subset"] == "all"
                 else f"{lab.label(within)} within {t['subset']}")
        if t["test"] == "not tested":
            lines.append(f"{where}: not tested ({t['warning'].removeprefix('not estimable: ')})")
        else:
            lines.append(f"{where}: {fmt_p(t['p'])} ({short_test(t['test'])})")
    return "\n".join(lines)


def _compare(d: pd.DataFrame, outcome: str, by: str, test: str, levels: Sequence[Any],
             what: str = "pCR") -> dict:
    """The test across ``levels``, or a result saying why there is none (a constant
    outcome): :func:`her2cohort.stats.proportions.compare_or_reason`."""
    from ..stats.proportions import compare_or_reason

    return compare_or_reason(d, outcome, by, test=test, group_order=levels, what=what)


def _no_test_notes(tests: Sequence[dict]) -> list[str]:
    """Table notes for comparisons that could not be tested, with the reason."""
    return [f"{t['comparison']}" + (f" ({t['subset']})" if t.get("subset") not in (None, "all")
                                    else "") + f": not tested ({t['warning']})."
            for t in tests if t.get("test") == "not tested"]


def _test_row(what: str, subset: str, res: dict, n_used: int, n_missing: int) -> dict:
    return {"comparison": what, "subset": subset, "test": res["test"],
            "test_choice": res.get("test_choice", "requested"),
            "statistic": res["statistic"], "df": res.get("df"), "p": res["p"],
            "n_used": n_used, "n_missing": n_missing, "warning": res.get("warning") or ""}


def _docs(disp: Any, docx: str, html: str, page: str, orientation: str) -> None:
    from ..render.tables import write_docx, write_html

    try:
        write_docx(disp, docx, page=page, orientation=orientation)
    except ValueError:  # too wide for portrait: landscape (stated in the log)
        print(f"{docx}: too wide for {page} {orientation}; written in landscape")
        write_docx(disp, docx, page=page, orientation="landscape")
    write_html(disp, html)


def _skip(analysis: str, reason: str, csvs: Sequence[str], docs: Sequence[tuple] = (),
          figures: Sequence[tuple] = (), page: str = "A4", orientation: str = "portrait",
          notes: Sequence[str] = ()) -> None:
    """Write every output of a skipped analysis saying why (tables, Word/HTML, figures)."""
    from ..render.response_display import message_display
    from .common import skip_outputs

    skip_outputs(analysis, reason, list(csvs), list(figures))
    for docx, html in docs:
        _docs(message_display(analysis, reason, notes), docx, html, page, orientation)


def _guarded(analysis: str, csvs: Sequence[str], docs: Sequence[tuple], figures: Sequence[tuple],
             page: str, orientation: str, notes: Sequence[str], fn: Callable[[], None]) -> None:
    """Run one analysis; a statistics precondition that fails (ValueError: e.g. a constant
    outcome) skips it with the message as the reason instead of stopping the rule."""
    try:
        fn()
    except ValueError as e:  # the model's outcome column is pCR: named so, not 'pcr_int'
        why = str(e).replace(f"'{Y}'", "pCR")
        _skip(analysis, f"not estimable: {why}", csvs, docs, figures, page, orientation, notes)


def _fit(d: pd.DataFrame, covs: list[str], cat: dict, ci: str, method: str, min_cell: int,
         splines: dict | None = None):
    """ML or Firth logistic fit by the stated rule (``choose_method``), with the reason."""
    from ..stats.logistic import choose_method, fit_firth, fit_logistic

    cat = {k: v for k, v in cat.items() if k in covs}
    if method == "auto":
        rule = choose_method(d, Y, covs, cat, None, splines, min_cell=min_cell)
        chosen, why = rule["method"], rule["reason"]
    else:
        chosen = "Firth" if method.lower() == "firth" else "ML"
        why = f"{chosen} (requested in config)"
    if chosen == "Firth":
        return fit_firth(d, Y, covs, cat, None, splines,
                         ci="wald" if ci == "wald" else "profile"), why
    return fit_logistic(d, Y, covs, cat, None, splines, ci=ci), why


def _counts(d: pd.DataFrame, by: str, levels: Sequence[Any]) -> dict[Any, tuple[int, int]]:
    return {lv: (int((d[by] == lv).sum()), int(d.loc[d[by] == lv, Y].sum())) for lv in levels}


# --------------------------------------------------------------------------- rates, HER2 loss
def _rates(has, n_all, present, lab, within, pcr_test, pcr_ci, pcr_definition, her2_text,
           simulated, groups, out) -> list[dict]:
    from ..render.display import rates_display
    from ..render.figures import rate_bar_plot, save_figure, shade_styles
    from ..stats.proportions import rate_table
    from .common import figure_note, palette, simulated_notes, write_csv

    rates = [rate_table(has, Y, G, group_order=present, ci=pcr_ci)
             .assign(subset="all", comparison="group")]
    res = _compare(has, Y, G, pcr_test, present)
    tests = [_test_row("pCR by group", "all", res, len(has), n_all - len(has))]
    pairwise_note = ""
    # which groups differ: each pair, with the study's adjustment (none without a test)
    if len(present) > 2 and res["test"] != "not tested":
        from ..stats.kgroups import pairwise_proportions

        adjust = groups.get("pairwise_adjust", "holm")
        pw = pairwise_proportions(has, Y, G, levels=present,
                                  test="fisher" if pcr_test == "fisher" else
                                  "yates" if pcr_test == "yates" else "pearson", adjust=adjust)
        for r in pw.itertuples(index=False):
            tests.append({"comparison": "pCR by group (pairwise)",
                          "subset": f"{r.level_b} vs {r.level_a}", "test": r.test,
                          "test_choice": "pairwise", "statistic": r.statistic, "df": r.df,
                          "p": r.p, "p_adjusted": r.p_adjusted,
                          "adjust_method": r.adjust_method, "n_used": r.n_a + r.n_b,
                          "n_missing": np.nan, "warning": r.warning})
        from ..render.format import format_p

        pairwise_note = (f"Pairwise comparisons ({pw['test'].iloc[0]}; p adjusted by "
                         f"{pw['adjust_method'].iloc[0]}): "
                         + "; ".join(f"{r.level_b} vs {r.level_a} p = {format_p(r.p_adjusted)}"
                                     for r in pw.itertuples(index=False)) + ".")
    within_levels: list[Any] = []
    if within and within in has:
        treat = _cols(has, [Y, G, within])[has[within].notna()]
        within_levels = lab.levels(within, treat[within])
        for g in present:
            sub = treat[treat[G] == g]
            levels = [t for t in within_levels if (sub[within] == t).any()]
            if len(levels) < 2:
                print(f"pCR by {within} in {g}: not compared (levels recorded: "
                      f"{levels or 'none'})")
                continue
            rates.append(rate_table(sub, Y, within, group_order=levels, ci=pcr_ci)
                         .assign(subset=g, comparison=within))
            res = _compare(sub, Y, within, pcr_test, levels)
            n_g = int((has[G] == g).sum())
            row = _test_row(f"pCR by {lab.label(within)}", g, res, len(sub), n_g - len(sub))
            tests.append(row)
    rates = pd.concat(rates, ignore_index=True)
    rates["pcr_definition"] = pcr_definition
    tests_df = pd.DataFrame(tests)
    write_csv(rates, out["out_rates"])
    write_csv(tests_df, out["out_tests"])
    notes = [f"Patients with pCR recorded: {len(has)} of {n_all}."
             + (f" {n_all - len(has)} without it are left out." if n_all > len(has) else "")]
    if pairwise_note:
        notes.append(pairwise_note)
    notes += _no_test_notes(tests)
    if tests_df["test_choice"].str.startswith("auto").any():
        notes.append("Test: Fisher's exact test when an expected count is below 5, else "
                     "Pearson's chi-squared test without continuity correction.")
    notes += simulated_notes(simulated)
    sec = {("group", "all"): lab.group_name}
    for g in present:
        sec[(within, g)] = f"{lab.label(within)}, within {g}"
    disp = rates_display(
        rates, tests_df, title=f"Pathologic complete response (pCR) by {lab.group_name}",
        definition=pcr_definition, group_labels=lab.level_labels(within) if within else None,
        section_labels=sec, extra_notes=notes)
    _docs(disp, out["out_rates_docx"], out["out_rates_html"], out["page"], out["orientation"])

    # figure: overall rate per group, then the within-group levels
    overall = rates[rates["comparison"] == "group"].assign(x=lambda d: d[G], hue="overall")
    inner = rates[rates["comparison"] != "group"].assign(x=lambda d: d["subset"],
                                                          hue=lambda d: d[G])
    plot = pd.concat([overall, inner], ignore_index=True)
    hue_order = ["overall", *[h for h in within_levels if (plot["hue"] == h).any()]]
    ci_name = {"wilson": "Wilson score", "clopper-pearson": "Clopper-Pearson exact"}.get(
        pcr_ci, pcr_ci)
    note = (f"pCR: {pcr_definition}. Error bars: 95% {ci_name} CI. "
            + (f"{her2_text} " if her2_text else "")
            + "n/N above bars; tests as named in the box."
            + figure_note(simulated).replace("\n", " "))
    hue_labels = {"overall": "All patients",
                  **{lv: lab.level(within, lv) for lv in within_levels}}
    fig = rate_bar_plot(plot, x="x", pct="pct", lower="lower", upper="upper", hue="hue",
                        x_order=present, hue_order=hue_order, hue_labels=hue_labels,
                        ylabel="pCR rate (%)", annotation=_p_annotation(tests, present, within,
                                                                        lab),
                        legend_title=None, palette=palette(groups),
                        hue_styles=shade_styles(hue_order), note=note)
    save_figure(fig, out["out_png"], out["out_pdf"])
    return tests


def _her2_loss(df, labels, pcr_ci, her2_guideline, her2_text, simulated, lab, out) -> None:
    from ..render.display import her2_loss_display
    from ..stats.proportions import rate_table
    from .common import simulated_notes, write_csv

    tested = df[df["her2_loss"].notna()].copy() if "her2_loss" in df else df.iloc[:0]
    present = [g for g in labels if (tested[G] == g).any()]
    docs = [(out["out_her2_loss_docx"], out["out_her2_loss_html"])]
    if len(present) < 2:
        _skip("HER2 loss", "no residual tumour re-tested for HER2 after therapy in at least "
              f"two groups ({len(tested)} re-tested patients)", [out["out_her2_loss"]], docs,
              page=out["page"], orientation=out["orientation"])
        return
    tested["loss_int"] = tested["her2_loss"].astype(int)
    loss = rate_table(tested, "loss_int", G, group_order=present, ci=pcr_ci)
    lt = _compare(tested, "loss_int", G, "fisher", present, what="HER2 loss")
    loss["p"] = lt["p"]
    loss["test"] = lt["test"]
    loss["n_total"] = len(df)
    loss["her2_basis"] = her2_text
    if lt["test"] == "not tested":  # why there is no test (a column only then)
        loss["warning"] = lt["warning"]
    write_csv(loss, out["out_her2_loss"])
    notes = [(f"Re-tested residual tumours: {len(tested)} of {len(df)} patients (the others "
             "had no residual invasive tumour or no re-test)."),
             her2_text]
    if lt["test"] == "not tested":
        notes.append(f"HER2 loss by {lab.group_name}: not tested ({lt['warning']}).")
    notes += simulated_notes(simulated)
    disp = her2_loss_display(loss, title=f"HER2 loss after neoadjuvant therapy by "
                             f"{lab.group_name}", extra_notes=notes)
    _docs(disp, *docs[0], out["page"], out["orientation"])


# --------------------------------------------------------------------------- logistic models
def _model_covariates(has: pd.DataFrame, wanted: Sequence[str], lab: _Labels,
                      ) -> tuple[list[str], dict, list[str]]:
    covs, cat, absent = [G], {G: lab.levels(G, has[G])}, []
    for v in wanted:
        if v == G or v in covs:
            continue
        if v not in has or has[v].notna().sum() == 0:
            absent.append(v)
            continue
        s = has[v]
        if not _is_numeric(s):
            lv = lab.levels(v, s)
            if len(lv) < 2:
                absent.append(v)
                continue
            cat[v] = lv
        covs.append(v)
    return covs, cat, absent


def _logistic(has, n_all, lab, models, imputation, simulated, out) -> None:
    from ..render.response_display import logistic_display
    from ..stats.logistic import regression_table
    from .common import simulated_notes, write_csv

    ci = models.get("ci", "profile-mass")
    method = models.get("method", "auto")
    min_cell = int(models.get("min_cell", 5))
    covs, cat, absent = _model_covariates(has, models.get("covariates", []), lab)
    tab = regression_table(has, Y, covs, cat, method=method, ci=ci, min_cell=min_cell,
                           multivariable=len(covs) > 1)
    tab.insert(1, "variable_label", tab["variable"].map(lab.label))
    tab.insert(3, "level_label", [lab.level(v, lv) if r == "level" else None
                                  for v, lv, r in zip(tab["variable"], tab["level"],
                                                      tab["row_type"], strict=True)])
    tab["n_total"] = n_all
    write_csv(tab, out["out_logistic"])
    mi = _imputation(has, covs, cat, imputation, out)
    notes = [(f"Outcome: pCR ({int(has[Y].sum())} of {len(has)} patients with pCR recorded; "
             f"{n_all} analysed).")]
    if absent:
        notes.append("Not in the model (recorded for no patient or one level only): "
                     + ", ".join(lab.label(a) for a in absent) + ".")
    notes.append(f"CI: 95%, {CI_TEXT[ci]}"
                 + ("; Firth models: profile penalised likelihood" if
                    (tab[[c for c in tab if c.endswith('_method')]] == "Firth").any().any()
                    else "") + ".")
    notes += simulated_notes(simulated)
    disp = logistic_display(tab, mi, title="Logistic regression for pCR: univariable and "
                            "multivariable odds ratios", extra_notes=notes)
    _docs(disp, out["out_logistic_docx"], out["out_logistic_html"], out["page"],
          out["orientation"])


def _imputation(has, covs, cat, imputation, out) -> pd.DataFrame | None:
    from ..stats.pooling import pooled_logistic
    from .common import skipped_table, write_csv

    if not imputation.get("enabled", True):
        write_csv(skipped_table("multiple imputation", "switched off (pcr.imputation."
                                "enabled: false)"), out["out_mi"])
        return None
    n_inc = int(has[covs].isna().any(axis=1).sum())
    if n_inc == 0:
        write_csv(skipped_table("multiple imputation", "no missing value in the model's "
                                "variables: the complete-case fit uses every patient"),
                  out["out_mi"])
        return None
    m = int(imputation.get("m", 20))
    seed = int(imputation.get("seed", 1))
    n_iter = int(imputation.get("iterations", 10))
    d = _as_object(has[[Y, *covs]].reset_index(drop=True), covs)
    try:
        res = pooled_logistic(d, Y, covs, cat, m=m, seed=seed, n_iter=n_iter)
    except ValueError as e:
        write_csv(skipped_table("multiple imputation", f"not estimable: {e}"), out["out_mi"])
        return None
    res.insert(0, "n_incomplete", n_inc)
    # a pooled (or complete-case) odds ratio running to 0 or infinity (separation in the
    # imputed data sets) is not estimable: no number, the reason (the survival tables' rule)
    from ..stats.adequacy import ratio_rule

    res = ratio_rule(res, "odds_ratio", "or_lower", "or_upper", "p", note="warning",
                     what="odds ratio")
    if "cc_odds_ratio" in res:
        res = ratio_rule(res, "cc_odds_ratio", "cc_or_lower", "cc_or_upper", "cc_p",
                         note="cc_warning", what="odds ratio")
    res["seed"] = seed
    res["iterations"] = n_iter
    res["method"] = ("chained equations (predictive mean matching with 5 donors for numbers, "
                     "logistic or polytomous regression for categories, as mice's defaults); "
                     "Rubin's rules with Barnard-Rubin df")
    write_csv(res, out["out_mi"])
    return res


# --------------------------------------------------------------------------- within groups
def _within(has, present, lab, within, models, pcr_test, simulated, out) -> None:
    from ..render.response_display import comparison_display
    from ..stats.logistic import interaction_lr_test
    from .common import simulated_notes, write_csv

    ci = models.get("ci", "profile-mass")
    d = (_cols(has, [Y, G, within])[has[within].notna()] if within in has
         else _cols(has, [Y, G]).iloc[:0])
    levels = lab.levels(within, d[within]) if len(d) else []
    if len(levels) < 2:
        raise ValueError(f"'{within}' is recorded with fewer than two levels")
    rows = []
    for g in present:
        sub = d[d[G] == g]
        lv = [x for x in levels if (sub[within] == x).any()]
        cnt = _counts(sub, within, levels)
        base = {"group": g, "variable": within, "reference": levels[0]}
        if len(lv) < 2 or lv[0] != levels[0]:
            for x in levels[1:]:
                rows.append({**base, "comparison": x, "status": "omitted",
                             "reason": f"{within} levels recorded in {g}: {lv}"})
            continue
        test = _compare(sub, Y, within, pcr_test, lv)
        try:
            fit, why = _fit(sub, [within], {within: lv}, ci, models.get("method", "auto"),
                            int(models.get("min_cell", 5)))
            coef = fit.coef.set_index("term")
        except ValueError as e:
            fit, why, coef = None, str(e), None
        for x in lv[1:]:
            r = {**base, "comparison": x, "n_ref": cnt[lv[0]][0], "events_ref": cnt[lv[0]][1],
                 "n_cmp": cnt[x][0], "events_cmp": cnt[x][1], "p": test["p"],
                 "test": test["test"], "n_used": len(sub), "status": "estimated"}
            if coef is not None:
                c = coef.loc[f"{within}[{x}]"]
                r.update(odds_ratio=c["odds_ratio"], or_lower=c["or_lower"],
                         or_upper=c["or_upper"], ci_method=c["ci_method"], method=fit.method,
                         method_reason=why, warning=c.get("warning"))
            else:
                r.update(status="omitted", reason=f"odds ratio not estimable: {why}")
            rows.append(r)
    inter = interaction_lr_test(_as_object(d, [G, within]), Y, G, within,
                                categorical={G: present, within: levels})
    irow = inter.iloc[0]
    rows.append({"group": "interaction", "variable": within, "term": f"{G} x {within}",
                 "statistic": irow["statistic"], "df": irow["df"], "p": irow["p"],
                 "test": irow["test"], "n_used": irow["n_used"], "status": "tested",
                 "warning": irow["warning"]})
    tab = pd.DataFrame(rows)
    tab["n_total"] = len(has)
    write_csv(tab, out["out_within"])
    notes = [f"Odds ratio of pCR, {lab.level(within, x)} vs {lab.level(within, levels[0])}, "
             f"within each {lab.group_name}; 95% CI: {CI_TEXT[ci]}."
             for x in levels[1:2]]
    notes.append(f"Interaction {lab.group_name} x {lab.label(within)}: likelihood-ratio test "
                 f"of glm(pCR ~ group * {within}) vs glm(pCR ~ group + {within}), n = "
                 f"{int(irow['n_used'])}.")
    if len(d) < len(has):
        notes.append(f"{len(has) - len(d)} patients without {lab.label(within)} left out.")
    notes += simulated_notes(simulated)
    disp = comparison_display(tab, title=f"pCR by {lab.label(within)} within each "
                              f"{lab.group_name}", level_labels=lab.level_labels(within),
                              extra_notes=notes)
    _docs(disp, out["out_within_docx"], out["out_within_html"], out["page"], out["orientation"])


# --------------------------------------------------------------------------- continuous
def _continuous(has, present, lab, variables, knots_k, models, groups, simulated, out) -> None:
    from ..render.figures import dose_response_plot, save_figure
    from ..render.response_display import continuous_display
    from ..stats.logistic import fit_logistic, nonlinearity_lr_test, predict_grid
    from .common import figure_note, fmt_p, palette, simulated_notes, write_csv

    ci = models.get("ci", "profile-mass")
    figs = dict(zip(variables, zip(out["out_dose_png"], out["out_dose_pdf"], strict=True),
                    strict=True))
    rows: list[dict] = []
    skipped: list[str] = []
    for x in variables:
        if x not in has or has[x].notna().sum() == 0 or not _is_numeric(has[x]):
            why = f"no patient has {lab.label(x)} recorded"
            skipped.append(f"{lab.label(x)}: {why}")
            rows.append({"variable": x, "scope": "all", "status": "skipped", "reason": why})
            _skip(f"pCR by {lab.label(x)}", why, [], figures=[figs[x]])
            continue
        d = _as_object(_cols(has, [Y, G, x])[has[x].notna()], [G])
        gp = [g for g in present if (d[G] == g).any()]
        adj = [G] if len(gp) > 1 else []
        cat = {G: gp}
        base = {"variable": x, "n_total": len(has), "n_missing": len(has) - len(d)}
        try:
            lin = fit_logistic(d, Y, [x, *adj], cat, ci=ci)
            nl = nonlinearity_lr_test(d, Y, x, nk=knots_k, covariates=adj, categorical=cat)
            knots = [float(k) for k in nl["knots"].iloc[0].split(", ")]
            spl = fit_logistic(d, Y, [x, *adj], cat, splines={x: knots}, ci="wald")
        except ValueError as e:
            why = f"not estimable: {e}".replace(f"'{Y}'", "pCR")
            skipped.append(f"{lab.label(x)}: {why}")
            rows.append({**base, "scope": "all", "status": "skipped", "reason": why})
            _skip(f"pCR by {lab.label(x)}", why, [], figures=[figs[x]])
            continue
        c = lin.coef.set_index("term").loc[x]
        scope = f"all, adjusted for {lab.group_name}" if adj else "all"
        rows.append({**base, "scope": scope, "model": "linear", "n_used": lin.n_used,
                     "events": lin.events, "odds_ratio": c["odds_ratio"],
                     "or_lower": c["or_lower"], "or_upper": c["or_upper"],
                     "ci_method": c["ci_method"],
                     "p": lin.lr.set_index("variable").loc[x, "p"],
                     "test": lin.lr.set_index("variable").loc[x, "test"],
                     "status": "estimated"})
        rows.append({**base, "scope": scope, "model": f"restricted cubic spline, {len(knots)} "
                     "knots", "n_used": spl.n_used, "events": spl.events,
                     "p": spl.lr.set_index("variable").loc[x, "p"],
                     "test": spl.lr.set_index("variable").loc[x, "test"],
                     "p_nonlinear": nl["p"].iloc[0], "test_nonlinear": nl["test"].iloc[0],
                     "knots": nl["knots"].iloc[0], "status": "estimated"})
        for g in gp:
            sub = d[d[G] == g]
            r = {**base, "scope": g, "model": "linear", "n_used": len(sub),
                 "events": int(sub[Y].sum())}
            try:
                f = fit_logistic(sub, Y, [x], ci=ci)
                cg = f.coef.set_index("term").loc[x]
                r.update(odds_ratio=cg["odds_ratio"], or_lower=cg["or_lower"],
                         or_upper=cg["or_upper"], ci_method=cg["ci_method"],
                         p=f.lr.set_index("variable").loc[x, "p"],
                         test=f.lr.set_index("variable").loc[x, "test"], status="estimated",
                         warning="; ".join(f.warnings) or None)
            except ValueError as e:
                r.update(status="omitted", reason=f"not estimable: {e}")
            rows.append(r)
        # dose-response figure: spline model, one curve per group over its own 5th-95th pct
        curves = []
        for g in gp:
            xs = d.loc[d[G] == g, x].to_numpy(float)
            grid = np.linspace(np.quantile(xs, 0.05), np.quantile(xs, 0.95), 100) \
                if xs.size > 1 else xs
            curves.append(predict_grid(spl, x, grid, at={G: g} if adj else None)
                          .assign(**{G: g}))
        curve = pd.concat(curves, ignore_index=True)
        counts = ", ".join(f"{int((d[G] == g).sum())} of {int((has[G] == g).sum())} {g}"
                           for g in present)
        ann = (f"{lab.label(x)}, spline: {fmt_p(rows[-len(gp) - 1]['p'])}\n"
               f"Nonlinearity: {fmt_p(nl['p'].iloc[0])}")
        note = (f"Predicted pCR probability from logistic regression with a restricted cubic "
                f"spline of {lab.label(x)} ({len(knots)} knots: {', '.join(f'{k:.3g}' for k in knots)})"
                + (f" adjusted for {lab.group_name}" if adj else "")
                + f"; band: pointwise 95% Wald CI; curves span the 5th-95th percentile of each "
                f"group. Patients with the value recorded: {counts}. p: likelihood-ratio tests."
                + figure_note(simulated).replace("\n", " "))
        fig = dose_response_plot(curve, x, "prob", "lower", "upper", group=G, group_order=gp,
                                 palette=palette(groups), rug=d[[x, G]], xlabel=lab.label(x),
                                 ylabel="Predicted probability of pCR", annotation=ann,
                                 note=note)
        save_figure(fig, *figs[x])
    tab = pd.DataFrame(rows)
    write_csv(tab, out["out_continuous"])
    notes = [(f"Odds ratio per unit; 95% CI: {CI_TEXT[ci]}. Spline: Harrell restricted cubic "
             "spline; its p-value tests all spline terms, P-nonlinear the spline vs the linear "
             "term (likelihood-ratio tests). Rows 'all' are adjusted for "
             f"{lab.group_name} when both groups have values.")]
    notes += [f"Not analysed: {s}." for s in skipped]
    notes += simulated_notes(simulated)
    disp = continuous_display(tab, title="Continuous predictors of pCR: "
                              + ", ".join(lab.label(v) for v in variables),
                              variable_labels={v: lab.label(v) for v in variables},
                              extra_notes=notes)
    _docs(disp, out["out_continuous_docx"], out["out_continuous_html"], out["page"],
          out["orientation"])


# --------------------------------------------------------------------------- strata, trend
def _strata(has, present, lab, strata, simulated, out) -> None:
    from ..render.response_display import strata_display
    from ..stats.exact import mantel_haenszel
    from ..stats.proportions import odds_ratio
    from .common import simulated_notes, write_csv

    if len(present) != 2:
        raise ValueError("the Mantel-Haenszel odds ratio compares exactly two groups")
    d = _as_object(_cols(has, [Y, G, strata])[has[strata].notna()], [G, strata])
    sizes = d[strata].value_counts()
    small = sorted(str(s) for s in sizes.index[sizes < 2])
    d = d[~d[strata].isin(small)]
    levels = lab.levels(strata, d[strata])
    if len(levels) < 2:
        raise ValueError(f"fewer than two {lab.label(strata)} strata with 2 or more patients")
    mh = mantel_haenszel(d, Y, G, strata, outcome_order=[0, 1], exposure_order=present,
                         strata_order=levels)
    rows = []
    for s in levels:
        sub = d[d[strata] == s]
        cnt = _counts(sub, G, present)
        r = {"stratum": s, "reference": present[0], "comparison": present[1],
             "n_ref": cnt[present[0]][0], "events_ref": cnt[present[0]][1],
             "n_cmp": cnt[present[1]][0], "events_cmp": cnt[present[1]][1]}
        if min(r["n_ref"], r["n_cmp"]) > 0:
            o = odds_ratio(sub, Y, G, group_order=present)
            r.update(odds_ratio=o["estimate"], or_lower=o["lower"], or_upper=o["upper"],
                     ci_method=o["ci_method"], warning=o.get("warning"))
        else:
            r.update(warning="one group absent in this stratum: no odds ratio (contributes "
                     "nothing to the Mantel-Haenszel estimate)")
        rows.append(r)
    cnt = _counts(d, G, present)
    rows.append({"stratum": "Mantel-Haenszel (pooled)", "reference": present[0],
                 "comparison": present[1], "n_ref": cnt[present[0]][0],
                 "events_ref": cnt[present[0]][1], "n_cmp": cnt[present[1]][0],
                 "events_cmp": cnt[present[1]][1], "odds_ratio": mh["estimate"],
                 "or_lower": mh["lower"], "or_upper": mh["upper"], "ci_method": mh["ci_method"],
                 "statistic": mh["statistic"], "df": mh["df"], "p": mh["p"], "test": mh["test"],
                 "bd_statistic": mh["bd_statistic"], "bd_df": mh["bd_df"], "bd_p": mh["bd_p"],
                 "tarone_statistic": mh["tarone_statistic"], "tarone_p": mh["tarone_p"],
                 "bd_test": mh["bd_test"], "n_used": mh["n"], "warning": mh["warning"]})
    tab = pd.DataFrame(rows)
    tab.insert(1, "strata_variable", strata)
    tab["n_total"] = len(has)
    write_csv(tab, out["out_strata"])
    notes = [(f"Odds ratio of pCR, {present[1]} vs {present[0]}, per {lab.label(strata)} "
             "(Woolf logit CI) and pooled (Mantel-Haenszel, Robins-Breslow-Greenland CI).")]
    dropped = len(has) - len(d)
    if dropped:
        notes.append(f"{dropped} patients left out (no {lab.label(strata)} recorded, or a "
                     "stratum of fewer than 2 patients" + (f": {', '.join(small)}" if small
                                                           else "") + ").")
    notes += simulated_notes(simulated)
    disp = strata_display(tab, title=f"pCR by {lab.group_name} stratified by "
                          f"{lab.label(strata)}", stratum_label=lab.label(strata),
                          level_labels=lab.level_labels(strata), extra_notes=notes)
    _docs(disp, out["out_strata_docx"], out["out_strata_html"], out["page"], out["orientation"])


def _cut_labels(breaks: Sequence[float]) -> list[str]:
    b = [float(v) for v in breaks]
    return ([f"<={b[0]:g}"] + [f">{x:g} to {y:g}" for x, y in itertools.pairwise(b)]
            + [f">{b[-1]:g}"])


def _cut(s: pd.Series, breaks: Sequence[float], labels: Sequence[str] | None) -> pd.Series:
    """Right-closed categories (<= b1, (b1, b2], ..., > bk) as R ``cut(right = TRUE)``."""
    b = [float(v) for v in breaks]
    if any(y <= x for x, y in itertools.pairwise(b)):
        raise ValueError(f"breaks {b} must increase")
    if labels is None:
        labels = _cut_labels(b)
    if len(labels) != len(b) + 1:
        raise ValueError(f"{len(labels)} labels for {len(b) + 1} categories")
    cat = pd.cut(s.astype(float), [-math.inf, *b, math.inf], right=True, labels=list(labels))
    return cat.astype(object).where(cat.notna(), None)


def _trend(has, present, lab, specs, pcr_ci, simulated, out) -> None:
    from ..render.response_display import trend_display
    from ..stats.exact import trend_test
    from ..stats.proportions import rate_table
    from .common import simulated_notes, write_csv

    rows: list[dict] = []
    notes: list[str] = []
    for spec in specs:
        v = spec["variable"]
        if v not in has or has[v].notna().sum() == 0:
            notes.append(f"{lab.label(v)}: not analysed (recorded for no patient).")
            rows.append({"variable": v, "status": "skipped",
                         "reason": "recorded for no patient"})
            continue
        d = _cols(has, [Y, G, v])[has[v].notna()].copy()
        if _is_numeric(d[v]):
            if not spec.get("breaks"):
                raise ValueError(f"pcr.trend: '{v}' is numeric: give breaks")
            levels = list(spec.get("labels") or _cut_labels(spec["breaks"]))
            d["category"] = _cut(d[v], spec["breaks"], levels)
        else:
            d["category"] = d[v].astype(object)
            levels = lab.levels(v, d[v])
        scores = spec.get("scores")
        if scores is not None and len(scores) != len(levels):
            raise ValueError(f"pcr.trend: {len(scores)} scores for {len(levels)} categories "
                             f"of '{v}'")
        for scope in ["all", *present]:
            sub = d if scope == "all" else d[d[G] == scope]
            used = [lv for lv in levels if (sub["category"] == lv).any()]
            sc = ([s for s, lv in zip(scores, levels, strict=True) if lv in used]
                  if scores is not None else None)
            base = {"variable": v, "scope": scope, "n_total": len(has) if scope == "all"
                    else int((has[G] == scope).sum())}
            rt = rate_table(sub, Y, "category", group_order=levels, ci=pcr_ci)
            try:
                tr = trend_test(sub, Y, "category", scores=sc, group_order=used)
                res = {"statistic": tr["statistic"], "df": tr["df"], "p": tr["p"],
                       "test": tr["test"], "n_used": tr["n"], "status": "tested",
                       "scores": ", ".join(f"{s:g}" for s in tr["table"]["score"])}
            except ValueError as e:
                res = {"n_used": len(sub), "status": "not tested", "reason": str(e)}
            for _, r in rt.iterrows():
                rows.append({**base, "category": r[G], "n": r["n"], "events": r["events"],
                             "pct": r["pct"], "lower": r["lower"], "upper": r["upper"],
                             "ci_method": r["ci_method"], **res})
    tab = pd.DataFrame(rows)
    write_csv(tab, out["out_trend"])
    notes.append("Trend test scores: 1, 2, ... over the ordered categories unless configured; "
                 "numeric variables cut at the configured breaks (right-closed). Empty "
                 "categories (0/0) are left out of the test.")
    notes += simulated_notes(simulated)
    disp = trend_display(tab, title="pCR across ordered categories",
                         variable_labels={s["variable"]: lab.label(s["variable"])
                                          for s in specs},
                         level_labels={s["variable"]: lab.level_labels(s["variable"])
                                       for s in specs}, extra_notes=notes)
    _docs(disp, out["out_trend_docx"], out["out_trend_html"], out["page"], out["orientation"])


# --------------------------------------------------------------------------- subgroups
def _subgroups(has, present, lab, subgroups, min_n, models, simulated, out) -> None:
    from ..render.figures import forest_plot, save_figure
    from ..render.response_display import add_figure_note, subgroup_display
    from ..stats.logistic import interaction_lr_test
    from .common import figure_note, simulated_notes, write_csv

    if len(present) != 2:
        raise ValueError("subgroup odds ratios compare exactly two groups")
    ci = models.get("ci", "profile-mass")
    method = models.get("method", "auto")
    min_cell = int(models.get("min_cell", 5))
    ref, cmp_ = present
    term = f"{G}[{cmp_}]"
    rows: list[dict] = []
    absent: list[str] = []

    def estimate(sub: pd.DataFrame, base: dict) -> dict:
        cnt = _counts(sub, G, present)
        r = {**base, "n_ref": cnt[ref][0], "events_ref": cnt[ref][1], "n_cmp": cnt[cmp_][0],
             "events_cmp": cnt[cmp_][1]}
        small = [g for g in present if cnt[g][0] < min_n]
        const = [g for g in present if cnt[g][0] >= min_n and cnt[g][1] in (0, cnt[g][0])]
        if small:
            return {**r, "status": "omitted", "reason": f"fewer than {min_n} patients in "
                    + " and ".join(small)}
        if const:
            return {**r, "status": "omitted", "reason": "; ".join(
                f"{'no' if cnt[g][1] == 0 else 'every'} patient with pCR in {g}"
                for g in const)}
        fit, why = _fit(sub, [G], {G: present}, ci, method, min_cell)
        c = fit.coef.set_index("term").loc[term]
        return {**r, "odds_ratio": c["odds_ratio"], "or_lower": c["or_lower"],
                "or_upper": c["or_upper"], "se": c["std_error"], "ci_method": c["ci_method"],
                "method": fit.method, "method_reason": why, "status": "estimated"}

    d_all = _as_object(_cols(has, [Y, G]), [G])
    for v in subgroups:
        if v not in has or has[v].notna().sum() == 0:
            absent.append(v)
            continue
        d = _as_object(_cols(has, [Y, G, v])[has[v].notna()], [G, v])
        levels = lab.levels(v, d[v])
        if len(levels) < 2:
            absent.append(v)
            continue
        try:
            it = interaction_lr_test(d, Y, G, v, categorical={G: present, v: levels}).iloc[0]
            p_int, t_int, n_int = it["p"], it["test"], it["n_used"]
        except ValueError as e:
            p_int, t_int, n_int = np.nan, f"not tested: {e}", len(d)
        for lv in levels:
            rows.append(estimate(d[d[v] == lv], {
                "variable": v, "variable_label": lab.label(v), "level": lv,
                "level_label": lab.level(v, lv), "p_interaction": p_int,
                "test_interaction": t_int, "n_interaction": n_int,
                "n_missing": len(has) - len(d)}))
    overall = estimate(d_all, {"variable": "overall", "variable_label": "Overall",
                               "level": "all", "level_label": "All patients"})
    rows.append(overall)
    tab = pd.DataFrame(rows)
    tab.insert(0, "reference", ref)
    tab.insert(1, "comparison", cmp_)
    tab["n_total"] = len(has)
    if not tab["status"].eq("estimated").any():
        why = sorted(set(tab["reason"].dropna()))
        raise ValueError("no subgroup odds ratio is estimable (" + "; ".join(why)
                         + f"; pcr.subgroup_min_n = {min_n})")
    write_csv(tab, out["out_subgroups"])

    body = tab[tab["variable"] != "overall"].copy()
    for c in ("odds_ratio", "or_lower", "or_upper", "se", "method"):
        if c not in body:  # no level of any subgroup was estimated
            body[c] = np.nan
    marks = {}
    reasons = []
    firth = body["method"].eq("Firth") if "method" in body else pd.Series(False, body.index)
    if firth.any():
        body.loc[firth, "level_label"] = body.loc[firth, "level_label"] + " \u2020"
        reasons.append("\u2020 Firth penalised likelihood (fewer than "
                       f"{min_cell} patients with or without pCR in a group, or separation).")
    for i, r in body.iterrows():
        if r["status"] != "estimated":
            reason = r["reason"]
            if reason not in marks:
                marks[reason] = "*" * (len(marks) + 1) if len(marks) < 3 else \
                    f"({len(marks) + 1})"
                reasons.append(f"{marks[reason]} Not estimated: {reason}.")
            body.loc[i, "level_label"] = f"{r['level_label']} {marks[reason]}"
    for who, col_n, col_e in ((ref, "n_ref", "events_ref"), (cmp_, "n_cmp", "events_cmp")):
        body[f"txt_{who}"] = [f"{int(e)}/{int(n)}" for e, n in zip(body[col_e], body[col_n],
                                                                    strict=True)]
    ov = {"estimate": overall.get("odds_ratio", np.nan), "lower": overall.get("or_lower", np.nan),
          "upper": overall.get("or_upper", np.nan), "label": "Overall",
          f"txt_{ref}": f"{overall['events_ref']}/{overall['n_ref']}",
          f"txt_{cmp_}": f"{overall['events_cmp']}/{overall['n_cmp']}"}
    body = body.rename(columns={"odds_ratio": "estimate", "or_lower": "lower",
                                "or_upper": "upper"})
    fig = forest_plot(body, variable="variable_label", level="level_label", estimate="estimate",
                      text_columns={f"{ref}, pCR/n": f"txt_{ref}",
                                    f"{cmp_}, pCR/n": f"txt_{cmp_}"},
                      se="se", p_interaction="p_interaction", overall=ov,
                      favours=(f"higher pCR odds in {ref}", f"higher pCR odds in {cmp_}"),
                      estimate_header="OR (95% CI)")
    ci_txt = CI_TEXT[ci]
    note = (f"Odds ratio of pCR, {cmp_} vs {ref}, by logistic regression within each subgroup "
            f"(95% CI: {ci_txt}); boxes sized by precision. P-interaction: likelihood-ratio "
            f"test of {lab.group_name} x subgroup variable. "
            + " ".join(reasons) + figure_note(simulated).replace("\n", " "))
    add_figure_note(fig, note)
    save_figure(fig, out["out_forest_png"], out["out_forest_pdf"])
    notes = []
    if absent:
        notes.append("Not analysed (recorded for no patient or one level only): "
                     + ", ".join(lab.label(a) for a in absent) + ".")
    notes += simulated_notes(simulated)
    disp = subgroup_display(tab, title=f"pCR by {lab.group_name} in subgroups",
                            ci_method=f"95%, {CI_TEXT[ci]}", group_name=lab.group_name,
                            min_n=min_n, min_cell=min_cell, extra_notes=notes)
    _docs(disp, out["out_subgroups_docx"], out["out_subgroups_html"], out["page"],
          out["orientation"])


# --------------------------------------------------------------------------- main
def main(*, in_analysis, groups, pcr_definition, pcr_test, pcr_ci, her2_guideline, simulated,
         within_groups=None, models=None, continuous=(), spline_knots=4, strata=None,
         trend=(), subgroups=(), subgroup_min_n=10, imputation=None, variables=(),
         page="A4", orientation="portrait", treatment=None, her2_rule="ASCO/CAP",
         criteria=(), **outputs) -> None:
    from ..study.wording import BASIS_COLUMNS
    from .columns import PCR_FIELDS, read_analysis, stage_params_of
    from .common import group_setup

    # the columns read: those the configuration names (variables: labels and level orders;
    # criteria: whether HER2 is spoken of; neither reads a column)
    reads = stage_params_of({k: v for k, v in locals().items()
                             if k not in ("outputs", "variables", "criteria")})
    models = dict(models or {})
    imputation = dict(imputation or {})
    out = {k: v for k, v in outputs.items() if k.startswith("out_")}
    unknown = sorted(set(outputs) - set(out))
    if unknown:
        raise TypeError(f"unexpected arguments: {unknown}")
    for k in ("out_dose_png", "out_dose_pdf"):
        out[k] = [out[k]] if isinstance(out.get(k), str) else list(out.get(k) or [])
    out["page"], out["orientation"] = page, orientation
    df, labels = group_setup(groups, read_analysis(in_analysis, reads, *PCR_FIELDS,
                                                   *BASIS_COLUMNS))
    df = df[df[G].notna()].copy()
    df[G] = df[G].astype(object)
    lab = _Labels(variables, groups, labels, treatment)
    n_all = len(df)
    from ..study.wording import her2_basis, her2_relevant

    her2_text = her2_basis(df, her2_rule, her2_guideline) if her2_relevant(
        groups, list(criteria)) else ""
    has = df[df["pcr"].notna()].copy() if "pcr" in df else df.iloc[:0].copy()
    has[Y] = has["pcr"].astype(int) if len(has) else pd.Series(dtype=int)
    has = _as_object(has, [c for c in has.columns if c != Y]).reset_index(drop=True)
    present = [g for g in labels if (has[G] == g).any()]
    within = within_groups if (within_groups and within_groups in has
                               and has[within_groups].notna().any()) else None
    simple = {"page": page, "orientation": orientation}
    d = lambda a, b: [(out[a], out[b])]
    pcr_outputs = {
        "pCR": ([out["out_rates"], out["out_tests"]], d("out_rates_docx", "out_rates_html"),
                [(out["out_png"], out["out_pdf"])]),
        "pCR logistic regression": ([out["out_logistic"], out["out_mi"]],
                                    d("out_logistic_docx", "out_logistic_html"), []),
        "pCR within groups": ([out["out_within"]], d("out_within_docx", "out_within_html"), []),
        "pCR by continuous predictors": (
            [out["out_continuous"]], d("out_continuous_docx", "out_continuous_html"),
            list(zip(out["out_dose_png"], out["out_dose_pdf"], strict=True))),
        "pCR stratified": ([out["out_strata"]], d("out_strata_docx", "out_strata_html"), []),
        "pCR trend": ([out["out_trend"]], d("out_trend_docx", "out_trend_html"), []),
        "pCR subgroups": ([out["out_subgroups"]], d("out_subgroups_docx",
                                                    "out_subgroups_html"),
                          [(out["out_forest_png"], out["out_forest_pdf"])]),
    }
    if len(present) < 2:
        why = (f"pCR is recorded for fewer than two groups of analysed patients ({len(has)} "
               f"of {n_all} patients have it)")
        for name, (csvs, docs, figs) in pcr_outputs.items():
            _skip(name, why, csvs, docs, figs, **simple)
    else:
        def run(name: str, fn: Callable[[], None], reason: str | None = None) -> None:
            csvs, docs, figs = pcr_outputs[name]
            if reason:
                _skip(name, reason, csvs, docs, figs, **simple)
            else:
                _guarded(name, csvs, docs, figs, page, orientation, (), fn)

        _rates(has, n_all, present, lab, within, pcr_test, pcr_ci, pcr_definition,
               her2_text, simulated, groups, out)
        run("pCR logistic regression",
            lambda: _logistic(has, n_all, lab, models, imputation, simulated, out))
        run("pCR within groups",
            lambda: _within(has, present, lab, within, models, pcr_test, simulated, out),
            None if within else ("no within-group comparison configured (pcr.within_groups)"
                                 if not within_groups else
                                 f"'{within_groups}' is recorded for no analysed patient"))
        run("pCR by continuous predictors",
            lambda: _continuous(has, present, lab, list(continuous), spline_knots, models,
                                groups, simulated, out),
            None if continuous else "no continuous predictor configured (pcr.continuous)")
        run("pCR stratified",
            lambda: _strata(has, present, lab, strata, simulated, out),
            None if strata and strata in has and has[strata].notna().any() else (
                "no stratification variable configured (pcr.strata)" if not strata else
                f"'{strata}' is recorded for no analysed patient"))
        run("pCR trend", lambda: _trend(has, present, lab, list(trend), pcr_ci, simulated, out),
            None if trend else "no trend variable configured (pcr.trend)")
        run("pCR subgroups",
            lambda: _subgroups(has, present, lab, list(subgroups), int(subgroup_min_n), models,
                               simulated, out),
            None if subgroups else "no subgroup variable configured (pcr.subgroups)")
