"""her2cohort.stats.kgroups / adequacy and the k-group parts of cox_table against R.

R references: stored output of tests/r/kgroups.R in tests/fixtures/r/kgroups/
(chisq.test, fisher.test, prop.trend.test, pairwise.prop.test, p.adjust, survdiff with
3 groups and strata, log-rank trend from survdiff's obs/exp/var, coxph score tests,
anova/drop1 of coxph with a 3-level factor, drop1 of glm).  Data: SIMULATED proportions
(props3, props4, small3, made in the R script) and survival::lung with ph.ecog 0/1/2.
Tolerance: relative difference <= 5e-7.  ``test_r_script_reproduces_fixtures`` re-runs R.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rref
from her2cohort.stats import kgroups as kg
from her2cohort.stats.adequacy import cox_epv, events_per_variable, logistic_epv
from her2cohort.stats.cox import CoxModel, cox_table
from her2cohort.stats.logistic import fit_logistic, lr_tests

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "r" / "kgroups"
R_SCRIPT = HERE / "r" / "kgroups.R"
REL = 5e-7


def close(a, b, rel=REL):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rel,
                               atol=0, equal_nan=True)


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / name)


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = _read("lung.csv")
    assert d["ph_ecog"].isna().sum() == 1 and set(d["ph_ecog"].dropna()) == {0, 1, 2}
    return d


@pytest.fixture(scope="module")
def lung_cc(lung) -> pd.DataFrame:
    d = lung.dropna(subset=["ph_ecog"]).copy()
    d["ph_ecog"] = d["ph_ecog"].astype(int)
    return d


# --------------------------------------------------------------------------- R re-run
@pytest.mark.rref
def test_r_script_reproduces_fixtures(tmp_path):
    exe = rref.rscript()
    proc = subprocess.run([exe, "--vanilla", str(R_SCRIPT), str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    stored = sorted(p.name for p in FIX.glob("*.csv"))
    assert stored == sorted(p.name for p in tmp_path.glob("*.csv"))
    for name in stored:
        a, b = pd.read_csv(FIX / name), pd.read_csv(tmp_path / name)
        assert list(a.columns) == list(b.columns) and a.shape == b.shape, name
        for col in a.columns:
            if pd.api.types.is_numeric_dtype(a[col]):
                np.testing.assert_allclose(b[col], a[col], rtol=1e-10, equal_nan=True,
                                           err_msg=f"{name}:{col}")
            else:
                assert a[col].fillna("").tolist() == b[col].fillna("").tolist(), (name, col)


# --------------------------------------------------------------------------- proportions
OVERALL = _read("overall.csv") if (FIX / "overall.csv").exists() else pd.DataFrame()


@pytest.mark.parametrize("data_id", ["props3", "props4", "small3"])
@pytest.mark.parametrize("test", ["pearson", "fisher"])
def test_compare_k_proportions_matches_r(data_id, test):
    d = _read(f"{data_id}.csv")
    ref = OVERALL[(OVERALL["id"] == data_id) & (OVERALL["test"] == test)].iloc[0]
    res = kg.compare_k_proportions(d, "y", "grp", test=test)
    assert list(res.columns) == kg.TEST_COLUMNS
    row = res.iloc[0]
    close(row["p"], ref["p"])
    assert row["n_groups"] == d["grp"].nunique() and row["n"] == len(d)
    if test == "pearson":
        close(row["statistic"], ref["statistic"])
        assert row["df"] == ref["df"] == d["grp"].nunique() - 1
        assert row["test"].startswith("Pearson chi-square (no continuity")
    else:
        assert np.isnan(row["statistic"]) and row["test"].startswith("Fisher")


def test_compare_k_proportions_auto_names_choice():
    small = _read("small3.csv")
    res = kg.compare_k_proportions(small, "y", "grp", levels=["C", "B", "A"]).iloc[0]
    ref = OVERALL[(OVERALL["id"] == "small3") & (OVERALL["test"] == "fisher")].iloc[0]
    assert res["test"].startswith("Fisher") and "expected counts < 5" in res["test_choice"]
    close(res["p"], ref["p"])  # level order does not change the test
    big = kg.compare_k_proportions(_read("props3.csv"), "y", "grp").iloc[0]
    assert big["test"].startswith("Pearson") and "all expected counts >= 5" in big["test_choice"]


def test_contingency_test_3x3_matches_r():
    d = _read("props3.csv")
    for test in ("pearson", "fisher"):
        ref = OVERALL[(OVERALL["id"] == "props3_cat3") & (OVERALL["test"] == test)].iloc[0]
        res = kg.contingency_test(d, "cat3", "grp", test=test).iloc[0]
        close(res["p"], ref["p"])
        if test == "pearson":
            close(res["statistic"], ref["statistic"])
            assert res["df"] == 4
    tab = kg.contingency_test(d, "cat3", "grp").attrs["table"]
    assert tab.shape == (3, 3) and tab.to_numpy().sum() == len(d)


def test_contingency_test_missing_and_bad_levels():
    d = _read("props3.csv").astype({"cat3": object})
    d.loc[[0, 5], "cat3"] = None
    res = kg.contingency_test(d, "cat3", "grp", test="pearson").iloc[0]
    assert res["n_missing"] == 2 and res["n"] == len(d) - 2
    with pytest.raises(ValueError, match="not in its levels"):
        kg.contingency_test(d, "cat3", "grp", variable_levels=["x", "y"])
    with pytest.raises(ValueError, match="no rows"):
        kg.contingency_test(d, "cat3", "grp", group_levels=["A", "B", "C", "Z"])
    with pytest.raises(ValueError, match="2 x 2"):
        kg.contingency_test(d, "cat3", "grp", test="yates")


@pytest.mark.parametrize("data_id", ["props3", "props4", "small3"])
def test_proportion_trend_matches_r(data_id):
    d = _read(f"{data_id}.csv")
    k = d["grp"].nunique()
    for tid, scores in (("trend", None), ("trend_scores_0134", [0, 1, 3, 4][:k])):
        ref = OVERALL[(OVERALL["id"] == data_id) & (OVERALL["test"] == tid)].iloc[0]
        res = kg.proportion_trend(d, "y", "grp", scores=scores).iloc[0]
        close([res["statistic"], res["p"]], [ref["statistic"], ref["p"]])
        assert res["df"] == 1 and "Cochran-Armitage" in res["test"]
        assert ("scores 1.." in res["test"]) == (scores is None)


def test_proportion_trend_direction():
    d = _read("props3.csv")  # 30%, 51%, 73%
    assert kg.proportion_trend(d, "y", "grp").iloc[0]["direction"] == "increasing"
    assert kg.proportion_trend(d, "y", "grp", levels=["C", "B", "A"]
                               ).iloc[0]["direction"] == "decreasing"


PAIRS = _read("pairwise_prop.csv") if (FIX / "pairwise_prop.csv").exists() else pd.DataFrame()


@pytest.mark.parametrize("data_id", ["props3", "props4", "small3"])
@pytest.mark.parametrize("test", ["pearson", "yates", "fisher"])
@pytest.mark.parametrize("adjust", ["holm", "bonferroni", "none"])
def test_pairwise_proportions_matches_r(data_id, test, adjust):
    d = _read(f"{data_id}.csv")
    ref = PAIRS[(PAIRS["id"] == data_id) & (PAIRS["test"] == test)
                & (PAIRS["adjust"] == adjust)].set_index(["level_a", "level_b"])
    res = kg.pairwise_proportions(d, "y", "grp", test=test, adjust=adjust)
    assert list(res.columns) == kg.PAIRWISE_COLUMNS
    k = d["grp"].nunique()
    assert len(res) == k * (k - 1) // 2 == len(ref)
    got = res.set_index(["level_a", "level_b"]).loc[ref.index]
    close(got["p_adjusted"], ref["p_adjusted"])
    assert (res["adjust_method"] == kg.ADJUST_METHODS[adjust]).all()
    if adjust == "none":
        close(res["p"], res["p_adjusted"])
    # counts per pair are the group counts
    n = d.groupby("grp")["y"].agg(["size", "sum"])
    assert (res["n_a"].to_numpy() == n.loc[res["level_a"], "size"].to_numpy()).all()
    assert (res["events_b"].to_numpy() == n.loc[res["level_b"], "sum"].to_numpy()).all()


def test_pairwise_undefined_pair_is_nan_and_not_counted():
    res = kg.pairwise_proportions(_read("props4.csv"), "y", "grp", test="pearson",
                                  adjust="bonferroni")
    cd = res[(res["level_a"] == "C") & (res["level_b"] == "D")].iloc[0]
    assert np.isnan(cd["p"]) and np.isnan(cd["p_adjusted"]) and "undefined" in cd["warning"]
    ok = res["p"].notna()
    close(res.loc[ok, "p_adjusted"], np.minimum(res.loc[ok, "p"] * ok.sum(), 1.0), rel=1e-15)


def test_p_adjust_matches_r():
    r = _read("padjust.csv")
    for m in ("holm", "bonferroni"):
        close(kg.p_adjust(r["p"], m), r[m])
    close(kg.p_adjust(r["p"], "none"), r["p"], rel=0)
    with pytest.raises(ValueError, match="unknown adjust"):
        kg.p_adjust([0.1], "BH-typo")


# --------------------------------------------------------------------------- survival
def test_logrank_overall_k3_matches_survdiff(lung):
    ref = _read("logrank.csv").set_index("model")
    for model, strata in (("plain", None), ("strata_sex", "sex")):
        res = kg.logrank_overall(lung, "time", "status", "ph_ecog", strata=strata).iloc[0]
        close([res["statistic"], res["p"]], ref.loc[model, ["statistic", "p"]])
        assert res["df"] == 2 and res["n"] == ref.loc[model, "n"] and res["n_missing"] == 1
        assert res["events"] == int(lung.dropna(subset=["ph_ecog"])["status"].sum())
        assert ("stratified" in res["test"]) == (strata is not None)


@pytest.mark.parametrize("strata", [None, "sex"])
def test_pairwise_logrank_matches_r(lung_cc, strata):
    r = _read("pairwise_logrank.csv")
    r = r[r["strata"] == ("none" if strata is None else strata)].reset_index(drop=True)
    for adjust in ("holm", "bonferroni", "none"):
        res = kg.pairwise_logrank(lung_cc, "time", "status", "ph_ecog", levels=[0, 1, 2],
                                  adjust=adjust, strata=strata)
        assert res[["level_a", "level_b"]].to_numpy().tolist() == \
            r[["level_a", "level_b"]].to_numpy().tolist()
        close(res["statistic"], r["statistic"])
        close(res["p"], r["p"])
        close(res["p_adjusted"], r["p"] if adjust == "none" else r[adjust])
        assert (res["df"] == 1).all()
    sub = lung_cc[lung_cc["ph_ecog"].isin([0, 2])]
    row = res.iloc[1]
    assert row["n_a"] == (sub["ph_ecog"] == 0).sum() and row["n_b"] == (sub["ph_ecog"] == 2).sum()
    assert row["events_a"] + row["events_b"] == sub["status"].sum()


def test_pairwise_logrank_undefined_pair():
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8, 9], "e": [1, 0, 1, 0, 0, 0, 0, 0, 0],
                      "g": list("AAABBBCCC")})  # SIMULATED: no events in B and C
    res = kg.pairwise_logrank(d, "t", "e", "g", adjust="holm")
    bc = res.iloc[2]
    assert np.isnan(bc["p"]) and np.isnan(bc["p_adjusted"]) and "undefined" in bc["warning"]
    assert res["p"].notna().sum() == 2


def test_logrank_trend_matches_r(lung):
    ref = _read("trend.csv").set_index("id")
    cases = {
        "logrank": {"method": "logrank"},
        "logrank_strata_sex": {"method": "logrank", "strata": "sex"},
        "logrank_scores_013": {"method": "logrank", "scores": [0, 1, 3]},
        "cox_efron": {"method": "cox-score"},
        "cox_breslow": {"method": "cox-score", "ties": "breslow"},
        "cox_efron_strata_sex": {"method": "cox-score", "strata": "sex"},
        "cox_efron_scores_013": {"method": "cox-score", "scores": [0, 1, 3]},
    }
    for rid, kw in cases.items():
        res = kg.logrank_trend(lung, "time", "status", "ph_ecog", levels=[0, 1, 2], **kw)
        row = res.iloc[0]
        close([row["statistic"], row["p"]], ref.loc[rid, ["statistic", "p"]])
        assert row["df"] == 1 and row["direction"] == "increasing"
        name = "Cox score test for trend" if kw["method"] == "cox-score" else \
            "log-rank test for trend"
        assert name in row["test"]
        assert ("scores 1..3" in row["test"]) == ("scores" not in kw)
    rev = kg.logrank_trend(lung, "time", "status", "ph_ecog", levels=[2, 1, 0]).iloc[0]
    close(rev["statistic"], ref.loc["logrank", "statistic"])
    assert rev["direction"] == "decreasing"


def test_logrank_trend_two_groups_equals_logrank(lung_cc):
    d = lung_cc[lung_cc["ph_ecog"] < 2]
    trend = kg.logrank_trend(d, "time", "status", "ph_ecog").iloc[0]
    overall = kg.logrank_overall(d, "time", "status", "ph_ecog").iloc[0]
    close(trend["statistic"], overall["statistic"], rel=1e-12)


# --------------------------------------------------------------------------- Cox LR
def test_cox_exposure_test_matches_anova_and_drop1(lung):
    ref = _read("cox_lr.csv")
    lv = [1, 0, 2]
    specs = {
        "uni": {},
        "multi": {"covariates": ["age", "sex", "wt_loss"]},
        "multi_strata": {"covariates": ["age", "wt_loss"], "strata": "sex"},
        "multi_breslow": {"covariates": ["age", "sex"], "ties": "breslow"},
    }
    for model, kw in specs.items():
        r = ref[(ref["model"] == model) & (ref["variable"] == "ecog")].iloc[0]
        res = kg.cox_exposure_test(lung, "time", "status", "ph_ecog", lv, **kw).iloc[0]
        close([res["statistic"], res["p"], res["loglik_full"]],
              [r["statistic"], r["p"], r["loglik"]])
        assert res["df"] == 2 and res["n"] == r["n"] and res["events"] == r["events"]
        assert res["n_missing"] == len(lung) - r["n"]
        assert res["levels"] == "1 | 0 | 2"
        assert res["test"] == kg.COX_LR_TEST


def test_cox_term_tests_every_term_matches_drop1(lung):
    ref = _read("cox_lr.csv")
    r = ref[ref["model"] == "multi"].set_index("variable")
    res = kg.cox_term_tests(lung, "time", "status", ["ph_ecog", "age", "sex", "wt_loss"],
                            categorical={"ph_ecog": [1, 0, 2]}).set_index("variable")
    res.index = res.index.str.replace("ph_ecog", "ecog")
    close(res.loc[r.index, "statistic"], r["statistic"])
    close(res.loc[r.index, "p"], r["p"])
    assert res.loc[r.index, "df"].tolist() == r["df"].tolist()
    close(res["epv"], 150 / 5, rel=1e-15)
    assert not res["epv_below"].any()


def test_cox_factor_terms_match_r(lung):
    ref = _read("cox_coef.csv")
    r = ref[ref["model"] == "multi"]
    tab = cox_table(lung, "time", "status", ["ph_ecog", "age", "sex", "wt_loss"],
                    categorical={"ph_ecog": [1, 0, 2]}, term_tests=True)
    m = tab[(tab["model"] == "multivariable") & ~tab["reference"]]
    close(m["coef"], r["coef"])
    close(m["se"], r["se"])
    close(m["p"], r["p"])
    assert m["term"].tolist()[:2] == ["ph_ecog[0]", "ph_ecog[2]"]
    # term-level LR test in the table = drop1 (multivariable) and anova (univariable)
    lr = _read("cox_lr.csv")
    drop = lr[(lr["model"] == "multi") & (lr["variable"] == "ecog")].iloc[0]
    uni = lr[(lr["model"] == "uni")].iloc[0]
    mv = tab[(tab["model"] == "multivariable") & (tab["variable"] == "ph_ecog")]
    uv = tab[(tab["model"] == "univariable") & (tab["variable"] == "ph_ecog")]
    assert len(mv) == 3  # reference row + 2 terms, all carrying the term test
    close(mv["lr_p"], [drop["p"]] * 3)
    close(uv["lr_statistic"], [uni["statistic"]] * 3)
    assert (mv["lr_df"] == 2).all() and (tab["lr_test"] == kg.COX_LR_TEST).all()
    # epv per model: events / estimated coefficients of that model
    close(mv["epv"], [150 / 5] * 3, rel=1e-15)
    close(uv["epv"], [163 / 2] * 3, rel=1e-15)


def test_cox_table_term_tests_refused_for_robust(lung_cc):
    with pytest.raises(ValueError, match="robust"):
        cox_table(lung_cc, "time", "status", ["ph_ecog"], categorical={"ph_ecog": [0, 1, 2]},
                  robust=True, term_tests=True)
    plain = cox_table(lung_cc, "time", "status", ["age"])
    assert "lr_p" not in plain.columns and "epv" in plain.columns


# --------------------------------------------------------------------------- logistic
def test_logistic_k_level_lr_test_matches_drop1(lung):
    ref = _read("glm_drop1.csv").set_index("variable")
    fit = fit_logistic(lung, "status", ["ph_ecog", "age"], categorical={"ph_ecog": [1, 0, 2]},
                       ci="wald")
    lr = lr_tests(fit).set_index("variable")
    close(lr.loc["ph_ecog", ["statistic", "p"]], ref.loc["ecog", ["lrt", "p"]])
    close(lr.loc["age", ["statistic", "p"]], ref.loc["age", ["lrt", "p"]])
    assert lr.loc["ph_ecog", "df"] == 2
    e = logistic_epv(fit)
    minor = min(fit.events, fit.n_used - fit.events)
    assert e["epv"] == minor / 3 and e["limiting"] == "non-events"


# --------------------------------------------------------------------------- EPV
def test_events_per_variable():
    e = events_per_variable(45, 5)
    assert e["epv"] == 9.0 and e["below_threshold"] and "9.0 < 10" in e["note"]
    assert "45 events / 5 coefficients" in e["note"] and "1995" in e["note"]
    ok = events_per_variable(50, 5)
    assert ok["epv"] == 10.0 and not ok["below_threshold"] and ok["note"] is None
    lg = events_per_variable(80, 4, n_nonevents=20, threshold=5)
    assert lg["epv"] == 5.0 and lg["limiting"] == "non-events" and not lg["below_threshold"]
    assert events_per_variable(12, 4, n_nonevents=20)["limiting"] == "events"
    none = events_per_variable(10, 0)
    assert np.isnan(none["epv"]) and not none["below_threshold"]
    for bad in ((-1, 2), (2.5, 1), (3, -2)):
        with pytest.raises(ValueError, match="whole number"):
            events_per_variable(*bad)


def test_cox_epv_of_fit(lung_cc):
    fit = CoxModel().fit(lung_cc, "time", "status", ["ph_ecog", "age"],
                         categorical={"ph_ecog": [0, 1, 2]})
    e = cox_epv(fit, threshold=60)
    assert e["epv"] == fit.nevent / 3 and e["below_threshold"]
