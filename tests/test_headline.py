"""Headline estimates of the sensitivity variants (stages/headline.py): the group's adjusted OR
and HR by complete case or by multiple imputation, wired to the statistics that are checked
against R elsewhere (fit_logistic, cox, pooled_logistic, pooled_cox)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from her2cohort.stages.headline import headline
from her2cohort.stats.logistic import fit_logistic
from her2cohort.stats.pooling import impute_for_cox, pooled_cox, pooled_logistic
from her2cohort.stats.survival import cox

GROUPS = {"column": "her2_class", "levels": ["3+", "2+/ISH+"],
          "labels": {"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"}}
STUDY = {"exposure": {"name": "HER2 group", "column": "her2_class",
                      "levels": [{"id": "3+", "label": "IHC 3+"},
                                 {"id": "2+/ISH+", "label": "IHC 2+/ISH+"}]},
         "treatment": {"column": "anti_her2", "name": "Anti-HER2 therapy",
                       "arms": [{"id": "single", "label": "Trastuzumab",
                                 "drugs": ["trastuzumab"]},
                                {"id": "dual", "label": "Trastuzumab + pertuzumab",
                                 "drugs": ["trastuzumab", "pertuzumab"]}]},
         "endpoints": {"dfs": {"name": "Disease-free survival", "abbreviation": "DFS"}},
         "primary_endpoint": "pcr"}
IMP = {"m": 4, "seed": 11, "iterations": 3}


def _cohort(n: int = 240, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    her2 = rng.choice(["3+", "2+/ISH+"], n, p=[0.7, 0.3])
    hr = rng.choice(["positive", "negative"], n)
    ct = rng.choice(["T1", "T2", "T3"], n).astype(object)
    ct[rng.random(n) < 0.15] = None
    lin = -0.3 - 1.0 * (her2 == "2+/ISH+") - 0.6 * (hr == "positive")
    pcr = rng.random(n) < 1 / (1 + np.exp(-lin))
    t = rng.exponential(80, n) * np.where(pcr, 2.0, 1.0)
    c = rng.uniform(10, 120, n)
    return pd.DataFrame({
        "her2_class": her2, "hr_status": hr, "ct": ct,
        "pcr": pd.array(pcr, dtype="boolean"), "her2_loss": pd.NA,
        "anti_her2": rng.choice(["single", "dual"], n),
        "dfs_months": np.minimum(t, c), "dfs_event": pd.array(t <= c, dtype="boolean"),
        "never_recorded": np.nan,
    })


def _adjusted(method: str) -> dict:
    return {"missing": method,
            "pcr_covariates": [{"name": "hr_status", "levels": ["negative", "positive"]},
                               {"name": "ct", "levels": ["T1", "T2", "T3"]},
                               "never_recorded"],
            "dfs_covariates": [{"name": "pcr", "levels": ["no", "yes"]},
                               {"name": "ct", "levels": ["T1", "T2", "T3"]}],
            "pcr_imputation": IMP, "dfs_imputation": IMP}


def _row(rows: list[dict], quantity: str) -> dict:
    (row,) = [r for r in rows if r["quantity"] == quantity]
    return row


def _frames(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The model data as built by hand: group labels, pCR 0/1 and yes/no, events 0/1."""
    d = df.copy()
    d["group"] = d["her2_class"].map({"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"})
    d["pcr_int"] = d["pcr"].astype(int)
    d["dfs_event"] = d["dfs_event"].astype(int)
    d["pcr"] = np.where(d["pcr"].astype(bool), "yes", "no").astype(object)
    cat = {"group": ["IHC 3+", "IHC 2+/ISH+"], "hr_status": ["negative", "positive"],
           "ct": ["T1", "T2", "T3"], "pcr": ["no", "yes"]}
    return d, d.reset_index(drop=True), cat


def test_complete_case_equals_the_models_on_complete_rows():
    df = _cohort()
    rows = headline(df, study=STUDY, adjusted=_adjusted("complete_case"))
    d, _, cat = _frames(df)
    n_inc = int(d["ct"].isna().sum())
    assert n_inc > 0
    orow = _row(rows, "Adjusted pCR odds ratio")
    fit = fit_logistic(d.dropna(subset=["ct"]), "pcr_int", ["group", "hr_status", "ct"],
                       categorical={k: cat[k] for k in ("group", "hr_status", "ct")},
                       ci="profile-mass")
    c = fit.coef[fit.coef["variable"] == "group"].iloc[0]
    assert (orow["estimate"], orow["lower"], orow["upper"], orow["p"]) == (
        c["odds_ratio"], c["or_lower"], c["or_upper"], c["p"])
    assert orow["n"] == len(df) - n_inc and orow["group"] == "IHC 2+/ISH+ vs IHC 3+"
    assert "adjusted for hr_status, ct; not in the model: never_recorded" in orow["note"]
    assert f"complete case ({n_inc} incomplete rows left out)" in orow["note"]
    hrow = _row(rows, "Adjusted DFS hazard ratio")
    t = cox(d, "dfs_months", "dfs_event", ["group", "pcr", "ct"],
            categorical={k: cat[k] for k in ("group", "pcr", "ct")})
    assert (hrow["estimate"], hrow["lower"], hrow["upper"]) == tuple(
        t.iloc[0][["hr", "lower", "upper"]])
    assert hrow["n"] == len(df) - n_inc == t.attrs["n"]


def test_multiple_imputation_equals_the_pooled_models():
    df = _cohort()
    rows = headline(df, study=STUDY, adjusted=_adjusted("multiple_imputation"))
    d, flat, cat = _frames(df)
    orow = _row(rows, "Adjusted pCR odds ratio")
    covs = ["group", "hr_status", "ct"]
    res = pooled_logistic(flat[["pcr_int", *covs]], "pcr_int", covs,
                          {k: cat[k] for k in covs}, m=4, seed=11, n_iter=3)
    c = res[res["variable"] == "group"].iloc[0]
    assert orow["estimate"] == pytest.approx(c["odds_ratio"], rel=1e-12)
    assert orow["upper"] == pytest.approx(c["or_upper"], rel=1e-12)
    assert orow["n"] == len(df) and "m = 4" in orow["note"]
    hrow = _row(rows, "Adjusted DFS hazard ratio")
    covs = ["group", "pcr", "ct"]
    sets = impute_for_cox(d, "dfs_months", "dfs_event", covs, {k: cat[k] for k in covs},
                          m=4, seed=11, n_iter=3)
    want = pooled_cox(sets, "dfs_months", "dfs_event", covs, {k: cat[k] for k in covs})
    assert hrow["estimate"] == pytest.approx(want["hr"].iloc[0], rel=1e-12)
    assert hrow["p"] == pytest.approx(want["p"].iloc[0], rel=1e-12)
    cc = _row(headline(df, study=STUDY, adjusted=_adjusted("complete_case")),
              "Adjusted DFS hazard ratio")
    assert hrow["estimate"] != cc["estimate"]  # the imputed rows count


def test_nothing_missing_and_not_estimable_are_said():
    df = _cohort()
    df["ct"] = df["ct"].fillna("T2")
    rows = headline(df, study=STUDY, adjusted=_adjusted("multiple_imputation"))
    orow = _row(rows, "Adjusted pCR odds ratio")
    assert "missing covariate values: none in the covariates used" in orow["note"]
    assert "not in the model: never_recorded (recorded for no patient)" in orow["note"]
    assert orow["n"] == len(df)
    # a covariate equal to the group is aliased (NA, as R's glm) and the group's OR stays
    df["copy"] = df["her2_class"]
    adj = _adjusted("complete_case") | {"pcr_covariates": ["copy"]}
    orow = _row(headline(df, study=STUDY, adjusted=adj), "Adjusted pCR odds ratio")
    crude = _row(headline(df, study=STUDY), "pCR odds ratio")
    assert orow["estimate"] == pytest.approx(crude["estimate"], rel=1e-9)
    # no pCR in one group: separated, Firth's penalised likelihood by the stated rule
    df.loc[df["her2_class"] == "2+/ISH+", "pcr"] = False
    orow = _row(headline(df, study=STUDY, adjusted=_adjusted("complete_case")),
                "Adjusted pCR odds ratio")
    assert "Firth" in orow["note"] and 0 < orow["estimate"] < 0.2 and orow["upper"] < 1


def test_without_adjusted_settings_no_adjusted_rows():
    rows = headline(_cohort(), study=STUDY)
    assert not [r for r in rows if r["quantity"].startswith("Adjusted")]


def _sensitivity_cells(rows: list[dict], tmp_path) -> dict:
    """The rows through the sensitivity table stage: {(quantity, group): cell text}."""
    from her2cohort.stages import sensitivity_table

    pd.DataFrame(rows).assign(variant="main").to_csv(tmp_path / "main.csv", index=False)
    sensitivity_table.main(in_variants=str(tmp_path / "main.csv"),
                           out_csv=str(tmp_path / "s.csv"), out_html=str(tmp_path / "s.html"),
                           out_docx=str(tmp_path / "s.docx"), descriptions={}, simulated=True)
    html = (tmp_path / "s.html").read_text("utf-8")
    return html


def test_no_events_in_one_group_says_so_and_never_shows_a_count_as_the_hr(tmp_path):
    df = _cohort()
    df.loc[df["her2_class"] == "2+/ISH+", "dfs_event"] = False
    rows = headline(df, study=STUDY, adjusted=_adjusted("complete_case"))
    for q in ("Adjusted DFS hazard ratio", "DFS hazard ratio"):
        assert "may be infinite" in _row(rows, q)["note"]
    html = _sensitivity_cells(rows, tmp_path)
    hr_line = html[html.index("Adjusted DFS hazard ratio"):][:400]
    assert "not estimable" in hr_line


def test_constant_covariate_in_cox_is_named():
    df = _cohort().assign(age=50.0)
    adj = _adjusted("complete_case") | {"dfs_covariates": ["age"]}
    note = _row(headline(df, study=STUDY, adjusted=adj), "Adjusted DFS hazard ratio")["note"]
    assert "'age' is constant or collinear" in note


def test_separation_is_not_pooled_by_ml_under_multiple_imputation():
    df = _cohort()
    df.loc[df["her2_class"] == "2+/ISH+", "pcr"] = False
    row = _row(headline(df, study=STUDY, adjusted=_adjusted("multiple_imputation")),
               "Adjusted pCR odds ratio")
    assert "estimate" not in row and "not estimable" in row["note"] and "Firth" in row["note"]


def test_multiple_imputation_when_complete_cases_lack_a_group():
    """Every 2+/ISH+ patient misses cT: no complete case in that group, yet the pooled OR and
    HR are estimable (the complete-case side fit is not needed)."""
    df = _cohort()
    df.loc[df["her2_class"] == "2+/ISH+", "ct"] = None
    rows = headline(df, study=STUDY, adjusted=_adjusted("multiple_imputation"))
    for q in ("Adjusted pCR odds ratio", "Adjusted DFS hazard ratio"):
        r = _row(rows, q)
        assert np.isfinite(r["estimate"]) and r["lower"] < r["estimate"] < r["upper"], r
        assert r["n"] == len(df)


def test_one_level_covariate_is_named_not_silently_dropped():
    df = _cohort()
    df["ct"] = df["ct"].where(df["ct"].isna(), "T2")  # one level, some missing
    row = _row(headline(df, study=STUDY, adjusted=_adjusted("multiple_imputation")),
               "Adjusted pCR odds ratio")
    assert "not in the model: ct (one level only)" in row["note"]


def test_constant_pcr_gives_no_odds_ratio():
    df = _cohort()
    df["pcr"] = pd.array([False] * len(df), dtype="boolean")
    rows = headline(df, study=STUDY, adjusted=_adjusted("complete_case"))
    for q in ("pCR odds ratio", "Adjusted pCR odds ratio", "pCR difference"):
        r = _row(rows, q)
        assert "estimate" not in r and "not estimable" in r["note"], r


def test_test_warnings_reach_the_rows():
    df = _cohort(n=40)
    rows = headline(df, study=STUDY, pcr_test="pearson")
    within = [r for r in rows if r["quantity"] == "pCR by Anti-HER2 therapy (%): test"]
    assert any("expected counts < 5" in (r.get("note") or "") for r in within)


def test_adjusted_hr_uses_the_configured_cox_settings():
    from her2cohort.stats.cox import CoxModel

    df = _cohort().assign(centre=lambda d: np.where(np.arange(len(d)) % 3 == 0, "A", "B"))
    adj = _adjusted("complete_case") | {"dfs_cox": {"ties": "breslow", "strata": "centre",
                                                    "variance": "cluster",
                                                    "cluster": "centre"}}
    row = _row(headline(df, study=STUDY, adjusted=adj), "Adjusted DFS hazard ratio")
    d, _, cat = _frames(df)
    fit = CoxModel(ties="breslow").fit(d, "dfs_months", "dfs_event", ["group", "pcr", "ct"],
                                       categorical={k: cat[k] for k in ("group", "pcr", "ct")},
                                       strata="centre", cluster="centre", robust=True)
    want = fit.summary().iloc[0]
    assert (row["estimate"], row["lower"], row["p"]) == (want["hr"], want["lower"], want["p"])
    assert "stratified by centre" in row["note"] and "cluster-robust" in row["note"]


def test_sensitivity_table_shows_the_p_of_test_rows_and_the_definition_words(tmp_path):
    """A within-group log-rank row carries n and events too: the table shows its p-value, not
    a count; quantities are named from the study definition."""
    html = _sensitivity_cells(headline(_cohort(), study=STUDY), tmp_path)
    # the quantity is a heading row, its groups (comparisons) the rows under it
    start = html.index('DFS by <span class="nw">Anti-HER2</span> therapy: <span class="nw">'
                       'log-rank</span>')
    start = html.index("<tr>", start)
    line = html[start:html.index("</tr>", start)]
    assert "Trastuzumab + pertuzumab vs Trastuzumab" in line
    assert re.search(r">p (=|&lt;|&gt;) [0-9.]+</td>$", line), line
    assert "IHC 3+: Trastuzumab + pertuzumab vs Trastuzumab" in html
