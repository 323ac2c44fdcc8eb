"""Headline estimates of the sensitivity variants (stages/headline.py): the group's adjusted OR
and HR by complete case or by multiple imputation, wired to the statistics that are checked
against R elsewhere (fit_logistic, cox, pooled_logistic, pooled_cox)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2cohort.stages.headline import headline
from her2cohort.stats.logistic import fit_logistic
from her2cohort.stats.pooling import impute_for_cox, pooled_cox, pooled_logistic
from her2cohort.stats.survival import cox

GROUPS = {"column": "her2_class", "levels": ["3+", "2+/ISH+"],
          "labels": {"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"}}
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
    rows = headline(df, groups=GROUPS, adjusted=_adjusted("complete_case"))
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
    assert "adjusted for hr_status, ct;" in orow["note"]  # never_recorded left out
    assert f"complete case ({n_inc} incomplete rows left out)" in orow["note"]
    hrow = _row(rows, "Adjusted DFS hazard ratio")
    t = cox(d, "dfs_months", "dfs_event", ["group", "pcr", "ct"],
            categorical={k: cat[k] for k in ("group", "pcr", "ct")})
    assert (hrow["estimate"], hrow["lower"], hrow["upper"]) == tuple(
        t.iloc[0][["hr", "lower", "upper"]])
    assert hrow["n"] == len(df) - n_inc == t.attrs["n"]


def test_multiple_imputation_equals_the_pooled_models():
    df = _cohort()
    rows = headline(df, groups=GROUPS, adjusted=_adjusted("multiple_imputation"))
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
    cc = _row(headline(df, groups=GROUPS, adjusted=_adjusted("complete_case")),
              "Adjusted DFS hazard ratio")
    assert hrow["estimate"] != cc["estimate"]  # the imputed rows count


def test_nothing_missing_and_not_estimable_are_said():
    df = _cohort()
    df["ct"] = df["ct"].fillna("T2")
    rows = headline(df, groups=GROUPS, adjusted=_adjusted("multiple_imputation"))
    orow = _row(rows, "Adjusted pCR odds ratio")
    assert "none (every patient has every covariate)" in orow["note"]
    assert orow["n"] == len(df)
    # a covariate equal to the group is aliased (NA, as R's glm) and the group's OR stays
    df["copy"] = df["her2_class"]
    adj = _adjusted("complete_case") | {"pcr_covariates": ["copy"]}
    orow = _row(headline(df, groups=GROUPS, adjusted=adj), "Adjusted pCR odds ratio")
    crude = _row(headline(df, groups=GROUPS), "pCR odds ratio")
    assert orow["estimate"] == pytest.approx(crude["estimate"], rel=1e-9)
    # no pCR in one group: separated, Firth's penalised likelihood by the stated rule
    df.loc[df["her2_class"] == "2+/ISH+", "pcr"] = False
    orow = _row(headline(df, groups=GROUPS, adjusted=_adjusted("complete_case")),
                "Adjusted pCR odds ratio")
    assert "Firth" in orow["note"] and 0 < orow["estimate"] < 0.2 and orow["upper"] < 1


def test_without_adjusted_settings_no_adjusted_rows():
    rows = headline(_cohort(), groups=GROUPS)
    assert not [r for r in rows if r["quantity"].startswith("Adjusted")]
