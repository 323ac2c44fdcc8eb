"""her2cohort.stats.logistic checked against R (stored output of tests/r/logistic.R).

Data sets (tests/fixtures/r/logistic/):

* ``infert``     - R's datasets::infert, case ~ spontaneous + induced + education + age;
* ``esoph_bin``  - R's esoph expanded to one row per subject (case 0/1), ~ agegp + alcgp +
  tobgp (agegp 25-34 has 1 case: a sparse cell);
* ``cohort``     - constructed study-like cohort (tests/logistic_inputs.py) with missing
  values: pCR ~ HER2 group + HR status + regimen + age, HER2 x regimen interaction, a
  restricted cubic spline for age, univariable models;
* ``sparse``     - hand-made: no pCR in one HER2 x regimen cell (separation);
* ``sex2``, ``endometrial`` - Firth reference data with published logistf output
  (firth_published.json names the sources).

R values: glm (epsilon 1e-14), confint() (MASS profile), exact profile limits (uniroot),
drop1/anova LRT, predict(se.fit = TRUE), and for Firth the penalised log-likelihood maximised
by optim() (logistf is not installed).  Tolerance: relative 5e-7 (GUIDE); published logistf
values: 1e-5 (logistf's own convergence criteria, see firth_published.json).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import logistic as lg
from logistic_inputs import FIXTURES, make_cohort, make_sparse

RTOL = 5e-7
HERE = Path(__file__).parent
R_SCRIPT = HERE / "r" / "logistic.R"

COHORT_CAT = {
    "her2": ["IHC 3+", "IHC 2+ISH+"],
    "hr": ["negative", "positive"],
    "regimen": ["single", "dual"],
}
ESOPH_CAT = {
    "agegp": ["25-34", "35-44", "45-54", "55-64", "65-74", "75+"],
    "alcgp": ["0-39g/day", "40-79", "80-119", "120+"],
    "tobgp": ["0-9g/day", "10-19", "20-29", "30+"],
}
INFERT_CAT = {"education": ["0-5yrs", "6-11yrs", "12+ yrs"]}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{name}.csv", keep_default_na=True)


def _rel(a, b) -> float:
    """Largest relative difference (absolute where the reference is exactly 0)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    den = np.where(b[ok] == 0, 1.0, np.abs(b[ok]))
    return float(np.max(np.abs(a[ok] - b[ok]) / den)) if ok.any() else 0.0


def _close(a, b, rtol: float = RTOL) -> None:
    assert _rel(a, b) <= rtol, f"max relative difference {_rel(a, b):.3g} > {rtol}"


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return {n: _read(n) for n in ("infert", "esoph_bin", "cohort", "sparse", "sex2",
                                  "endometrial")}


@pytest.fixture(scope="module")
def r() -> dict[str, pd.DataFrame]:
    return {n: _read(n) for n in ("glm_coef", "glm_drop1", "glm_models", "glm_anova",
                                  "rcs_knots", "rcs_basis", "rcs_predict", "firth")}


MODELS = {
    # name: (data, outcome, covariates, categorical, interactions, splines, row filter)
    "infert": ("infert", "case", ["spontaneous", "induced", "education", "age"], INFERT_CAT,
               None, None),
    "esoph": ("esoph_bin", "case", ["agegp", "alcgp", "tobgp"], ESOPH_CAT, None, None),
    "cohort_main": ("cohort", "pcr", ["her2", "hr", "regimen", "age"], COHORT_CAT, None, None),
    "cohort_uni_her2": ("cohort", "pcr", ["her2"], COHORT_CAT, None, None),
    "cohort_uni_hr": ("cohort", "pcr", ["hr"], COHORT_CAT, None, None),
    "cohort_uni_regimen": ("cohort", "pcr", ["regimen"], COHORT_CAT, None, None),
    "cohort_uni_age": ("cohort", "pcr", ["age"], COHORT_CAT, None, None),
    "cohort_int": ("cohort", "pcr", ["her2", "regimen", "hr"], COHORT_CAT,
                   [("her2", "regimen")], None),
    "sparse_main": ("sparse", "pcr", ["her2", "regimen"], COHORT_CAT, None, None),
}


def _fit(data, name, ci="profile"):
    ds, outcome, covs, cat, inter, spl = MODELS[name]
    cat = {k: v for k, v in cat.items() if k in covs}
    return lg.fit_logistic(data[ds], outcome, covs, cat, inter, spl, ci=ci)


def _rcoef(r, name):
    return r["glm_coef"][r["glm_coef"]["model"] == name].reset_index(drop=True)


# --------------------------------------------------------------------------- inputs
def test_constructed_inputs_are_what_the_generator_makes(data):
    pd.testing.assert_frame_equal(make_cohort(), data["cohort"], check_dtype=False)
    pd.testing.assert_frame_equal(make_sparse(), data["sparse"], check_dtype=False)


# --------------------------------------------------------------------------- ML vs glm
@pytest.mark.parametrize("name", sorted(MODELS))
def test_glm_coefficients_wald_and_exact_profile_limits(data, r, name):
    fit = _fit(data, name)
    rc = _rcoef(r, name)
    assert len(fit.coef) == len(rc)
    _close(fit.coef["estimate"], rc["estimate"])
    _close(fit.coef["std_error"], rc["std_error"])
    _close(fit.coef["statistic"], rc["statistic"])
    _close(fit.coef["p"], rc["p"])
    _close(fit.coef["lower"], rc["exact_lower"])
    _close(fit.coef["upper"], rc["exact_upper"])
    _close(fit.coef["or_lower"], np.exp(rc["exact_lower"]))
    assert (fit.coef["test"] == "Wald z").all()
    assert fit.coef["ci_method"].str.startswith("profile likelihood").all()
    rm = r["glm_models"].set_index("model").loc[name]
    assert fit.n_used == rm["n"]
    _close([fit.deviance], [rm["deviance"]])


@pytest.mark.parametrize("name", ["infert", "esoph", "cohort_main", "cohort_int"])
def test_profile_mass_reproduces_r_confint(data, r, name):
    fit = _fit(data, name, ci="profile-mass")
    rc = _rcoef(r, name)
    _close(fit.coef["lower"], rc["confint_lower"])
    _close(fit.coef["upper"], rc["confint_upper"])
    assert "MASS" in fit.coef["ci_method"].iloc[0]


def test_exact_profile_differs_from_mass_interpolation_only_slightly(data, r):
    # MASS interpolates a spline through a coarse profile: ~1e-4 relative from the root
    rc = _rcoef(r, "infert")
    d = _rel(rc["exact_upper"], rc["confint_upper"])
    assert 1e-7 < d < 1e-3


@pytest.mark.parametrize("name", sorted(MODELS))
def test_lr_per_variable_matches_drop1(data, r, name):
    fit = _fit(data, name, ci="wald")
    rd = r["glm_drop1"][r["glm_drop1"]["model"] == name].reset_index(drop=True)
    lr = fit.lr[fit.lr["p"].notna()].reset_index(drop=True)
    assert list(lr["df"]) == list(rd["df"])
    _close(lr["deviance_reduced"], rd["deviance"])
    _close(lr["statistic"], rd["lrt"])
    _close(lr["p"], rd["p"])
    assert (fit.lr["test"] == lg.TEST_LR).all()


def test_wald_ci(data, r):
    fit = _fit(data, "infert", ci="wald")
    rc = _rcoef(r, "infert")
    z = 1.959963984540054
    _close(fit.coef["lower"], rc["estimate"] - z * rc["std_error"])
    assert fit.coef["ci_method"].iloc[0].startswith("Wald")


def test_missing_values_na_omit_counts(data):
    fit = _fit(data, "cohort_main", ci="wald")
    d = data["cohort"]
    cc = d[["pcr", "her2", "hr", "regimen", "age"]].dropna()
    assert fit.n_total == len(d) == 575
    assert fit.n_used == len(cc)
    assert fit.n_missing == len(d) - len(cc)
    assert fit.events == int(cc["pcr"].sum())
    miss = fit.missing.set_index("variable")["n_missing"]
    assert miss.to_dict() == {"pcr": 4, "her2": 0, "hr": 9, "regimen": 0, "age": 6}


def test_interaction_lr_test_matches_anova(data, r):
    ra = r["glm_anova"].set_index("model")
    res = lg.interaction_lr_test(data["cohort"], "pcr", "her2", "regimen", covariates=["hr"],
                                 categorical=COHORT_CAT)
    row = res.iloc[0]
    exp = ra.loc["cohort_int"]
    assert row["df"] == exp["df"] and row["n_used"] == exp["n"] and row["n_total"] == 575
    _close([row["deviance_full"], row["deviance_reduced"], row["statistic"], row["p"]],
           [exp["deviance_full"], exp["deviance_reduced"], exp["statistic"], exp["p"]])
    assert row["test"] == lg.TEST_LR and row["term"] == "her2:regimen"


def test_interaction_lr_test_under_separation(data, r):
    # 0 events in one cell: ML deviance converges to its limit; R's anova gives the same LR
    res = lg.interaction_lr_test(data["sparse"], "pcr", "her2", "regimen",
                                 categorical=COHORT_CAT)
    exp = r["glm_anova"].set_index("model").loc["sparse_int"]
    assert abs(res["statistic"].iloc[0] - exp["statistic"]) < 1e-6
    assert abs(res["p"].iloc[0] - exp["p"]) < 1e-7


def test_firth_interaction_test_is_the_penalised_lr_of_r(data, r):
    res = lg.interaction_lr_test(data["sparse"], "pcr", "her2", "regimen",
                                 categorical=COHORT_CAT, method="Firth").iloc[0]
    rf = r["firth"][r["firth"]["model"] == "sparse_int"]
    _close([res["p"]], [rf["p"].iloc[3]])  # interaction coefficient fixed at 0
    assert res["test"] == lg.TEST_PLR and res["df"] == 1 and res["method"] == "Firth"


def test_empty_interaction_cell_is_aliased_and_not_tested(data):
    d = data["cohort"]
    d = d[~((d["her2"] == "IHC 2+ISH+") & (d["regimen"] == "single"))]
    fit = lg.fit_logistic(d, "pcr", ["her2", "regimen"], COHORT_CAT, [("her2", "regimen")],
                          ci="wald")
    row = fit.coef.set_index("term").loc["her2[IHC 2+ISH+]:regimen[dual]"]
    assert np.isnan(row["estimate"]) and "aliased" in row["warning"]
    assert any("aliased" in w for w in fit.warnings)
    res = lg.interaction_lr_test(d, "pcr", "her2", "regimen", categorical=COHORT_CAT).iloc[0]
    assert res["df"] == 0 and np.isnan(res["p"]) and "aliased" in res["warning"]


def test_regression_table_with_spline_row(data):
    tab = lg.regression_table(data["cohort"], "pcr", ["her2", "age"], COHORT_CAT,
                              splines={"age": 4}, ci="wald")
    age = tab[tab["variable"] == "age"].iloc[0]
    assert np.isnan(age["multi_or"]) and "restricted cubic spline, 4 knots" in \
        age["multi_estimate"]
    fit = lg.fit_logistic(data["cohort"], "pcr", ["her2", "age"], COHORT_CAT,
                          splines={"age": 4}, ci="wald")
    assert age["multi_p"] == fit.lr.set_index("variable").loc["age", "p"]
    assert fit.lr.set_index("variable").loc["age", "df"] == 3


def test_ml_profile_under_separation_gives_nan_with_warning(data):
    fit = lg.fit_logistic(data["sparse"], "pcr", ["her2", "regimen"], COHORT_CAT,
                          [("her2", "regimen")])
    row = fit.coef.set_index("term").loc["her2[IHC 2+ISH+]:regimen[dual]"]
    assert np.isnan(row["lower"]) and np.isfinite(row["upper"])
    assert "separation" in row["warning"]
    assert any("separation" in w for w in fit.warnings)


# --------------------------------------------------------------------------- splines
def test_rcs_knots_basis_fit_nonlinearity_and_prediction(data, r):
    d = data["cohort"]
    knots = lg.rcs_knots(d["age"], 4)
    _close(knots, r["rcs_knots"]["knot"], rtol=1e-15)
    rb = r["rcs_basis"]
    _close(lg.rcs_basis(rb["age"], knots), rb[["age1", "age2"]].to_numpy(), rtol=1e-13)
    fit = lg.fit_logistic(d, "pcr", ["her2", "hr", "age"], COHORT_CAT, splines={"age": 4})
    rc = _rcoef(r, "cohort_rcs")
    _close(fit.coef["estimate"], rc["estimate"])
    _close(fit.coef["std_error"], rc["std_error"])
    _close(fit.coef["lower"], rc["exact_lower"])
    _close(fit.coef["upper"], rc["exact_upper"])
    assert list(fit.coef["term"][-3:]) == ["age", "age'", "age''"]
    # overall LR test of age (3 columns) = drop1 of the three columns jointly is not in R's
    # output; the nonlinearity test is anova(linear, spline)
    nl = lg.nonlinearity_lr_test(d, "pcr", "age", 4, covariates=["her2", "hr"],
                                 categorical=COHORT_CAT).iloc[0]
    exp = r["glm_anova"].set_index("model").loc["cohort_rcs_nonlinear"]
    assert nl["df"] == exp["df"] == 2
    _close([nl["statistic"], nl["p"], nl["deviance_full"], nl["deviance_reduced"]],
           [exp["statistic"], exp["p"], exp["deviance_full"], exp["deviance_reduced"]])
    rp = r["rcs_predict"]
    pr = lg.predict_grid(fit, "age", rp["age"], at={"her2": "IHC 3+", "hr": "negative"})
    for col in ("linear_predictor", "se_link", "prob", "lower", "upper"):
        _close(pr[col], rp[col])
    assert pr["ci_method"].iloc[0].startswith("Wald on the logit scale")


def test_rcs_knots_small_and_tied_inputs():
    assert list(lg.rcs_knots([1, 2, 3, 4, 5, 6, 7], 5)) == [2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="< 6"):
        lg.rcs_knots([1, 2, 3], 4)
    x = np.r_[np.zeros(20), np.arange(1, 81)]  # 20 % at the minimum -> first knot moves in
    k = lg.rcs_knots(x, 4)
    assert k[0] == 1.0 and len(k) == 4


def test_predict_grid_defaults(data):
    fit = lg.fit_logistic(data["cohort"], "pcr", ["her2", "age"], COHORT_CAT, ci="wald")
    pr = lg.predict_grid(fit, "age", n_points=11)
    assert len(pr) == 11 and (pr["her2"] == "IHC 3+").all()
    assert ((pr["lower"] < pr["prob"]) & (pr["prob"] < pr["upper"])).all()
    with pytest.raises(ValueError, match="not a numeric"):
        lg.predict_grid(fit, "her2")


# --------------------------------------------------------------------------- Firth
FIRTH_SPECS = {
    "sex2": ("sex2", "case", ["age", "oc", "vic", "vicl", "vis", "dia"], None, None),
    "endometrial": ("endometrial", "HG", ["NV", "PI", "EH"], None, None),
    "sparse_int": ("sparse", "pcr", ["her2", "regimen"], COHORT_CAT, [("her2", "regimen")]),
}


@pytest.mark.parametrize("name", sorted(FIRTH_SPECS))
def test_firth_equals_penalised_ml_maximised_in_r(data, r, name):
    ds, outcome, covs, cat, inter = FIRTH_SPECS[name]
    fit = lg.fit_firth(data[ds], outcome, covs, cat, inter)
    rf = r["firth"][r["firth"]["model"] == name].reset_index(drop=True)
    _close(fit.coef["estimate"], rf["estimate"])
    _close(fit.coef["lower"], rf["lower"])
    _close(fit.coef["upper"], rf["upper"])
    _close(fit.coef["p"], rf["p"])
    _close([-fit.deviance / 2], [rf["pen_loglik"].iloc[0]], rtol=1e-12)
    assert (fit.coef["test"] == lg.TEST_PLR).all()
    assert fit.method == "Firth"


def test_firth_matches_published_logistf_output(data):
    pub = json.loads((FIXTURES / "firth_published.json").read_text())
    s = pub["sex2"]
    covs = ["age", "oc", "vic", "vicl", "vis", "dia"]
    fit = lg.fit_firth(data["sex2"], "case", covs)
    _close(fit.coef["estimate"], s["coef"], rtol=1e-6)
    _close(fit.coef["std_error"], s["se"], rtol=1e-5)
    _close(fit.coef["lower"], s["lower95"], rtol=2e-5)
    _close(fit.coef["upper"], s["upper95"], rtol=2e-5)
    _close(fit.coef["p"], s["p"], rtol=1e-5)
    chisq = fit.lr["statistic"].to_numpy()
    _close(chisq, s["chisq"][1:], rtol=1e-5)
    fit90 = lg.fit_firth(data["sex2"], "case", covs, conf_level=0.9)
    _close(fit90.coef["lower"], s["lower90"], rtol=2e-5)
    _close(fit90.coef["upper"], s["upper90"], rtol=2e-5)
    assert "90%" in fit90.coef["ci_method"].iloc[0]
    # overall penalised LR test (logistf: 49.09064 on 6 df): fix all slopes at 0
    des = fit._design
    _, pl_null, _ = lg._firth_newton(des.X, des.y, free=np.r_[True, np.zeros(6, bool)])
    lr_all = 2 * (-fit.deviance / 2 - pl_null)
    _close([lr_all], [s["overall_lr"]], rtol=1e-6)
    e = pub["endometrial"]
    fe = lg.fit_firth(data["endometrial"], "HG", ["NV", "PI", "EH"])
    _close(fe.coef["estimate"], e["coef"], rtol=1e-6)
    _close(fe.coef["lower"], e["lower95"], rtol=2e-5)
    _close(fe.coef["upper"], e["upper95"], rtol=2e-5)


def test_firth_wald_option(data):
    fit = lg.fit_firth(data["sex2"], "case", ["age", "vic"], ci="wald")
    c = fit.coef
    _close(c["upper"] - c["estimate"], 1.959963984540054 * c["std_error"], rtol=1e-12)
    assert c["ci_method"].iloc[0].startswith("Wald from penalised fit")


# --------------------------------------------------------------------------- method rule
def test_choose_method_rules(data):
    sep = lg.choose_method(data["endometrial"], "HG", ["NV", "PI", "EH"])
    assert sep["method"] == "Firth" and sep["separation"] and "separation" in sep["reason"]
    sp = lg.choose_method(data["esoph_bin"], "case", ["agegp", "alcgp"], ESOPH_CAT)
    assert sp["method"] == "Firth" and not sp["separation"]
    cells = sp["sparse_cells"]
    # agegp 25-34: 1 case of 116; 35-44: 9 cases; alcgp all >= 5
    assert cells[["variable", "level", "events"]].values.tolist() == [["agegp", "25-34", 1]]
    assert "agegp=25-34: 1 events / 115 non-events" in sp["reason"]
    ok = lg.choose_method(data["cohort"], "pcr", ["her2", "hr", "regimen"], COHORT_CAT)
    assert ok["method"] == "ML" and ok["sparse_cells"].empty
    inter = lg.choose_method(data["sparse"], "pcr", ["her2", "regimen"], COHORT_CAT,
                             [("her2", "regimen")])
    assert inter["separation"]
    strict = lg.choose_method(data["cohort"], "pcr", ["her2", "regimen"], COHORT_CAT,
                              [("her2", "regimen")], min_cell=10)
    assert strict["method"] == "Firth"  # 2+ISH+ x single: 7 events


def test_detect_separation_simple():
    x = np.array([[1, 0], [1, 1], [1, 2], [1, 3]], float)
    assert lg.detect_separation(x, np.array([0, 0, 1, 1]))  # complete
    assert lg.detect_separation(x, np.array([0, 1, 1, 1]))  # complete at 0.5
    assert not lg.detect_separation(x, np.array([0, 1, 0, 1]))


# --------------------------------------------------------------------------- table
def test_regression_table_against_r_models(data, r):
    covs = ["her2", "hr", "regimen", "age"]
    tab = lg.regression_table(data["cohort"], "pcr", covs, COHORT_CAT)
    d1 = r["glm_drop1"]
    # univariable: OR and exact profile limits and LR p of each single-covariate model
    for v in covs:
        rc = _rcoef(r, f"cohort_uni_{v}")
        rows = tab[tab["variable"] == v]
        est_rows = rows[rows["uni_estimate"].isin(["OR", "OR per unit"])]
        _close(est_rows["uni_or"], np.exp(rc["estimate"][1:]))
        _close(est_rows["uni_lower"], np.exp(rc["exact_lower"][1:]))
        _close(est_rows["uni_upper"], np.exp(rc["exact_upper"][1:]))
        rp = d1[d1["model"] == f"cohort_uni_{v}"]["p"]
        _close(rows[rows["row_type"] == "label"]["uni_p"], rp)
        n_uni = r["glm_models"].set_index("model").loc[f"cohort_uni_{v}", "n"]
        assert (rows[rows["row_type"] == "label"]["uni_n"] == n_uni).all()
    rc = _rcoef(r, "cohort_main")
    est = tab[tab["multi_estimate"].isin(["OR", "OR per unit"])]
    _close(est["multi_or"], np.exp(rc["estimate"][1:]))
    _close(est["multi_upper"], np.exp(rc["exact_upper"][1:]))
    _close(tab[tab["row_type"] == "label"]["multi_p"], d1[d1["model"] == "cohort_main"]["p"])
    ref = tab[tab["reference"]]
    assert list(ref["level"]) == ["IHC 3+", "negative", "single"]
    assert (ref["uni_estimate"] == "Ref").all() and (ref["multi_or"] == 1).all()
    # counts per level are exact
    cc = data["cohort"].dropna(subset=["pcr", "her2"])
    lv = tab[(tab["variable"] == "her2") & (tab["row_type"] == "level")]
    assert list(lv["uni_n"]) == [int((cc["her2"] == g).sum()) for g in COHORT_CAT["her2"]]
    assert list(lv["uni_events"]) == [int(cc.loc[cc["her2"] == g, "pcr"].sum())
                                      for g in COHORT_CAT["her2"]]
    assert (tab["multi_method"].dropna() == "ML").all()
    assert (tab["multi_test"].dropna() == lg.TEST_LR).all()
    n_m = r["glm_models"].set_index("model").loc["cohort_main", "n"]
    ev = data["cohort"][["pcr"] + covs].dropna()["pcr"].sum()
    assert tab["epv"].iloc[0] == pytest.approx(min(ev, n_m - ev) / 4, rel=1e-15)
    assert tab["warning"].isna().all()  # EPV > 10 here


def test_regression_table_small_data_uses_firth_and_warns_epv(data):
    e = data["endometrial"]
    tab = lg.regression_table(e, "HG", ["NV", "PI", "EH"])
    assert (tab["multi_method"] == "Firth").all()
    assert list(tab["uni_method"]) == ["Firth", "ML", "ML"]  # only NV separates alone
    assert "multivariable model: Firth penalised likelihood: (quasi-)complete separation" \
        in tab["footnote"].iloc[0]
    assert tab["epv"].iloc[0] == 10.0  # 30 events / 3 coefficients: no warning at 10
    assert tab["warning"].isna().all()
    fe = lg.fit_firth(e, "HG", ["NV", "PI", "EH"])
    _close(tab["multi_or"], fe.coef["odds_ratio"][1:], rtol=1e-15)
    _close(tab["multi_p"], fe.lr["p"], rtol=1e-15)
    small = e.iloc[:40]  # 12 events
    tab2 = lg.regression_table(small, "HG", ["NV", "PI", "EH"], method="ML", ci="wald")
    assert tab2["epv"].iloc[0] == pytest.approx(min(small["HG"].sum(), 28) / 3)
    assert "events per variable 3.3 < 10 (10 events / 3 coefficients" in tab2["warning"].iloc[0]
    assert "Peduzzi" in tab2["warning"].iloc[0]
    assert (tab2["uni_method"] == "ML").all()
    assert tab2["uni_ci_method"].str.startswith("Wald").all()


# --------------------------------------------------------------------------- errors
def test_errors_are_clear(data):
    d = data["cohort"].assign(bad=2.0)
    with pytest.raises(ValueError, match="not in"):
        lg.fit_logistic(d, "bad", ["age"])
    with pytest.raises(ValueError, match="unknown ci"):
        lg.fit_logistic(data["cohort"], "pcr", ["age"], ci="exact")
    with pytest.raises(ValueError, match="not found"):
        lg.fit_logistic(data["cohort"], "pcr", ["nope"])
    with pytest.raises(ValueError, match="values not in its level order"):
        lg.fit_logistic(data["cohort"], "pcr", ["her2"], {"her2": ["IHC 3+"]})
    with pytest.raises(ValueError, match="constant"):
        lg.fit_logistic(data["cohort"].assign(pcr=1.0), "pcr", ["age"])


# --------------------------------------------------------------------------- R re-run
@pytest.mark.rref
def test_stored_r_output_is_what_r_produces_now(tmp_path):
    from rref import assert_same_as_stored, rscript

    exe = rscript()
    proc = subprocess.run([exe, "--vanilla", str(R_SCRIPT), str(FIXTURES), str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    outputs = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert len(outputs) == 10
    assert_same_as_stored(tmp_path, FIXTURES, outputs, atol=1e-12)
    assert shutil.which(exe)
