"""The response stage (rule ``response``) on constructed cohorts: wiring of every pCR analysis
to the statistics functions (numbers equal to a direct call), the expected-count rule, skips
with stated reasons (no ISH numbers, one centre, no within-group variable, sparse subgroups),
Word/HTML tables beside the CSVs, and byte-identical reruns.

The statistics themselves are checked against R in test_logistic.py, test_pooling.py,
test_exact.py and test_proportions.py; here the stage must pass them the right data."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.data.config import load_config
from her2cohort.stages import run_with_config

ROOT = Path(__file__).resolve().parents[1]

TABLES = ["pcr_rates", "pcr_logistic", "pcr_within_groups", "pcr_continuous",
          "pcr_strata", "pcr_trend", "pcr_subgroups"]
KEYS = {"pcr_rates": "rates", "her2_loss": "her2_loss", "pcr_logistic": "logistic",
        "pcr_within_groups": "within", "pcr_continuous": "continuous", "pcr_strata": "strata",
        "pcr_trend": "trend", "pcr_subgroups": "subgroups"}


def _paths(tmp: Path, continuous: list[str]) -> dict:
    p: dict = {"in_analysis": tmp / "analysis.parquet"}
    for t in TABLES:
        k = KEYS[t]
        p[f"out_{k}"] = tmp / f"{t}.csv"
        p[f"out_{k}_docx"] = tmp / f"{t}.docx"
        p[f"out_{k}_html"] = tmp / f"{t}.html"
    p["out_tests"] = tmp / "pcr_tests.csv"
    p["out_mi"] = tmp / "pcr_logistic_mi.csv"
    p["out_png"], p["out_pdf"] = tmp / "pcr_rates.png", tmp / "pcr_rates.pdf"
    p["out_forest_png"], p["out_forest_pdf"] = tmp / "pcr_forest.png", tmp / "pcr_forest.pdf"
    p["out_dose_png"] = [tmp / f"pcr_dose_{v}.png" for v in continuous]
    p["out_dose_pdf"] = [tmp / f"pcr_dose_{v}.pdf" for v in continuous]
    return {k: (v if isinstance(v, list) else str(v)) for k, v in p.items()}


def cohort(n3: int = 300, n2: int = 120, seed: int = 7) -> pd.DataFrame:
    """Two HER2 groups with the columns the stage reads (string codes as the pipeline's)."""
    rng = np.random.default_rng(seed)
    n = n3 + n2
    her2 = np.array(["3+"] * n3 + ["2+/ISH+"] * n2)
    hr = rng.choice(["positive", "negative"], n)
    ct = rng.choice(["T1", "T2", "T3", "T4"], n, p=[0.15, 0.5, 0.2, 0.15])
    cn = rng.choice(["N0", "N1", "N2", "N3"], n, p=[0.3, 0.4, 0.2, 0.1])
    anti = rng.choice(["single", "dual"], n, p=[0.35, 0.65])
    grade = rng.choice(["1", "2", "3"], n, p=[0.1, 0.45, 0.45]).astype(object)
    grade[rng.random(n) < 0.1] = None
    centre = rng.choice(["C1", "C2", "C3", "C4"], n)
    ratio = np.where(her2 == "3+", rng.gamma(6, 1.0, n), rng.uniform(2.0, 5.5, n)).round(2)
    ratio[(her2 == "3+") & (rng.random(n) < 0.5)] = np.nan
    copies = (ratio * rng.uniform(1.8, 2.4, n)).round(1)
    lin = (-0.2 - 1.4 * (her2 == "2+/ISH+") + 0.6 * (hr == "negative") + 0.4 * (anti == "dual")
           + 0.05 * np.nan_to_num(ratio - 4))
    pcr = rng.random(n) < 1 / (1 + np.exp(-lin))
    loss = np.where(~pcr & (rng.random(n) < 0.6), rng.random(n) < np.where(
        her2 == "3+", 0.1, 0.3), None)
    df = pd.DataFrame({
        "her2_class": her2, "pcr": pd.array(pcr, dtype="boolean"),
        "her2_loss": pd.array(loss, dtype="boolean"), "hr_status": hr, "ct": ct, "cn": cn,
        "anti_her2": anti, "grade": grade, "centre": centre, "ki67_group": rng.choice(
            ["<20%", ">=20%"], n, p=[0.2, 0.8]),
        "age_group": rng.choice(["<40", "40-59", ">=60"], n, p=[0.2, 0.6, 0.2]),
        "stage": rng.choice(["IIA", "IIB", "IIIA"], n), "ish_ratio": ratio,
        "her2_copies": copies})
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype("string")
    return df


@pytest.fixture(scope="module")
def cfg():
    c = load_config(ROOT / "config/config.yaml")
    c["pcr"]["imputation"] = {"enabled": True, "m": 5, "seed": 11, "iterations": 5}
    c["study"]["simulated"] = False
    return c


def _run(tmp: Path, df: pd.DataFrame, cfg: dict) -> dict:
    tmp.mkdir(parents=True, exist_ok=True)
    df.to_parquet(tmp / "analysis.parquet", index=False)
    paths = _paths(tmp, list(cfg["pcr"].get("continuous", [])))
    assert run_with_config("response", cfg, **paths) == 0
    return paths


def _model_frame(df: pd.DataFrame) -> pd.DataFrame:
    """What the stage models: group labels, 0/1 pCR, strings as objects with None."""
    d = df[df["pcr"].notna()].copy()
    d["group"] = d["her2_class"].map({"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"}).astype(object)
    d["pcr_int"] = d["pcr"].astype(int)
    for c in d.columns:
        if pd.api.types.is_string_dtype(d[c]) and c != "group":
            d[c] = d[c].astype(object).where(d[c].notna(), None)
    return d.reset_index(drop=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, cfg):
    df = cohort()
    tmp = tmp_path_factory.mktemp("response")
    return df, _run(tmp, df, cfg), cfg


def _csv(paths: dict, key: str) -> pd.DataFrame:
    return pd.read_csv(paths[key])


def test_every_table_has_word_and_html(demo):
    _, paths, _ = demo
    for t in TABLES:
        k = KEYS[t]
        for suffix in ("", "_docx", "_html"):
            assert Path(paths[f"out_{k}{suffix}"]).stat().st_size > 0, (t, suffix)
    html = Path(paths["out_logistic_html"]).read_text("utf-8")
    assert "Univariable" in html and "Multivariable" in html and "Multiple imputation" in html
    assert "Hormone receptor" in html  # labels from table1.variables, not column names
    for png in [paths["out_png"], paths["out_forest_png"], *paths["out_dose_png"]]:
        assert Path(png).stat().st_size > 20_000


def test_rates_and_tests_match_stats(demo):
    from her2cohort.stats.proportions import compare_proportions

    df, paths, _ = demo
    d = _model_frame(df)
    rates = _csv(paths, "out_rates")
    allr = rates[rates["subset"] == "all"].set_index("group")
    for g in ("IHC 3+", "IHC 2+/ISH+"):
        assert allr.loc[g, "n"] == (d["group"] == g).sum()
        assert allr.loc[g, "events"] == d.loc[d["group"] == g, "pcr_int"].sum()
    tests = _csv(paths, "out_tests")
    ref = compare_proportions(d, "pcr_int", "group", test="pearson",
                              group_order=["IHC 3+", "IHC 2+/ISH+"])
    main = tests[tests["subset"] == "all"].iloc[0]
    assert main["p"] == pytest.approx(ref["p"], rel=1e-5)
    assert main["test"] == ref["test"]  # all expected counts >= 5: Pearson


def test_auto_rule_gives_fisher_for_small_expected_counts(tmp_path, cfg):
    df = cohort(n3=200, n2=12, seed=3)
    paths = _run(tmp_path, df, cfg)
    tests = _csv(paths, "out_tests")
    inner = tests[tests["subset"] == "IHC 2+/ISH+"].iloc[0]
    assert inner["test"].startswith("Fisher")
    assert inner["test_choice"].startswith("auto: Fisher")
    main = tests[tests["subset"] == "all"].iloc[0]
    assert "Pearson" in main["test"] or "Fisher" in main["test"]


def test_logistic_table_equals_regression_table(demo):
    from her2cohort.stats.logistic import regression_table

    df, paths, cfg = demo
    d = _model_frame(df)
    m = cfg["pcr"]["models"]
    covs = ["group", *m["covariates"]]
    cat = {"group": ["IHC 3+", "IHC 2+/ISH+"], "hr_status": ["positive", "negative"],
           "ct": ["T1", "T2", "T3", "T4"], "cn": ["N0", "N1", "N2", "N3"],
           "ki67_group": ["<20%", ">=20%"], "anti_her2": ["single", "dual"],
           "grade": ["1", "2", "3"]}
    ref = regression_table(d, "pcr_int", covs, cat, method=m["method"], ci=m["ci"],
                           min_cell=m["min_cell"])
    got = _csv(paths, "out_logistic")
    assert len(got) == len(ref)
    for col in ("uni_or", "uni_lower", "uni_upper", "uni_p", "multi_or", "multi_lower",
                "multi_upper", "multi_p"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-5, equal_nan=True)
    assert (got["uni_n"].to_numpy() == ref["uni_n"].to_numpy()).all()
    assert got["multi_ci_method"].dropna().str.contains("R confint").all()
    assert got["n_total"].iloc[0] == len(d)
    assert got.loc[got["variable"] == "grade", "uni_n"].iloc[0] == d["grade"].notna().sum()


def test_multiple_imputation_beside_complete_cases(demo):
    from her2cohort.stats.pooling import pooled_logistic

    df, paths, cfg = demo
    d = _model_frame(df)
    covs = ["group", *cfg["pcr"]["models"]["covariates"]]
    cat = {"group": ["IHC 3+", "IHC 2+/ISH+"], "hr_status": ["positive", "negative"],
           "ct": ["T1", "T2", "T3", "T4"], "cn": ["N0", "N1", "N2", "N3"],
           "ki67_group": ["<20%", ">=20%"], "anti_her2": ["single", "dual"],
           "grade": ["1", "2", "3"]}
    ref = pooled_logistic(d[["pcr_int", *covs]], "pcr_int", covs, cat, m=5, seed=11, n_iter=5)
    got = _csv(paths, "out_mi")
    np.testing.assert_allclose(got["odds_ratio"], ref["odds_ratio"], rtol=1e-5)
    np.testing.assert_allclose(got["cc_odds_ratio"], ref["cc_odds_ratio"], rtol=1e-5)
    assert got["n_incomplete"].iloc[0] == d["grade"].isna().sum()
    assert (got["m"] == 5).all() and (got["seed"] == 11).all()


def test_within_group_or_and_interaction(demo):
    from her2cohort.stats.logistic import fit_logistic, interaction_lr_test

    df, paths, _ = demo
    d = _model_frame(df)
    got = _csv(paths, "out_within").set_index("group")
    for g in ("IHC 3+", "IHC 2+/ISH+"):
        sub = d[d["group"] == g]
        fit = fit_logistic(sub, "pcr_int", ["anti_her2"], {"anti_her2": ["single", "dual"]},
                           ci="profile-mass")
        c = fit.coef.set_index("term").loc["anti_her2[dual]"]
        assert got.loc[g, "odds_ratio"] == pytest.approx(c["odds_ratio"], rel=1e-5)
        assert got.loc[g, "or_lower"] == pytest.approx(c["or_lower"], rel=1e-5)
        assert got.loc[g, "n_cmp"] == (sub["anti_her2"] == "dual").sum()
    it = interaction_lr_test(d, "pcr_int", "group", "anti_her2",
                             categorical={"group": ["IHC 3+", "IHC 2+/ISH+"],
                                          "anti_her2": ["single", "dual"]})
    assert got.loc["interaction", "p"] == pytest.approx(it["p"].iloc[0], rel=1e-5)
    assert got.loc["interaction", "test"] == "likelihood ratio (chi-square)"


def test_continuous_predictors_and_nonlinearity(demo):
    from her2cohort.stats.logistic import fit_logistic, nonlinearity_lr_test

    df, paths, _ = demo
    d = _model_frame(df)
    d = d[d["ish_ratio"].notna()]
    got = _csv(paths, "out_continuous")
    r = got[(got["variable"] == "ish_ratio") & (got["model"] == "linear")
            & got["scope"].str.startswith("all")].iloc[0]
    cat = {"group": ["IHC 3+", "IHC 2+/ISH+"]}
    fit = fit_logistic(d, "pcr_int", ["ish_ratio", "group"], cat, ci="profile-mass")
    c = fit.coef.set_index("term").loc["ish_ratio"]
    assert r["odds_ratio"] == pytest.approx(c["odds_ratio"], rel=1e-5)
    assert r["n_used"] == len(d) and r["n_missing"] == df["pcr"].notna().sum() - len(d)
    nl = nonlinearity_lr_test(d, "pcr_int", "ish_ratio", nk=4, covariates=["group"],
                              categorical=cat)
    s = got[(got["variable"] == "ish_ratio") & got["model"].str.startswith("restricted")]
    assert s["p_nonlinear"].iloc[0] == pytest.approx(nl["p"].iloc[0], rel=1e-5)


def test_mantel_haenszel_and_trend_match_stats(demo):
    from her2cohort.stats.exact import mantel_haenszel, trend_test

    df, paths, _ = demo
    d = _model_frame(df)
    mh = mantel_haenszel(d, "pcr_int", "group", "centre", outcome_order=[0, 1],
                         exposure_order=["IHC 3+", "IHC 2+/ISH+"])
    got = _csv(paths, "out_strata")
    pooled = got[got["stratum"].str.startswith("Mantel")].iloc[0]
    assert pooled["odds_ratio"] == pytest.approx(mh["estimate"], rel=1e-5)
    assert pooled["bd_p"] == pytest.approx(mh["bd_p"], rel=1e-5)
    assert pooled["p"] == pytest.approx(mh["p"], rel=1e-5)
    assert len(got) == d["centre"].nunique() + 1
    tr = _csv(paths, "out_trend")
    ct = tr[(tr["variable"] == "ct") & (tr["scope"] == "all")]
    ref = trend_test(d, "pcr_int", "ct", group_order=["T1", "T2", "T3", "T4"])
    assert ct["p"].iloc[0] == pytest.approx(ref["p"], rel=1e-5)
    assert ct["events"].tolist() == ref["table"]["events"].tolist()
    ish = tr[(tr["variable"] == "ish_ratio") & (tr["scope"] == "all")]
    assert ish["category"].tolist() == ["<=2.0", "2.1-5.0", "5.1-7.0", ">7.0"]
    assert ish["n"].sum() == d["ish_ratio"].notna().sum()
    cats = pd.cut(d["ish_ratio"], [-np.inf, 2, 5, 7, np.inf], labels=["a", "b", "c", "d"])
    assert ish["n"].tolist() == cats.value_counts(sort=False).tolist()


def test_subgroups_omit_sparse_levels_with_reasons(tmp_path, cfg):
    from her2cohort.stats.logistic import interaction_lr_test

    df = cohort(seed=5)
    # T4 with 4 patients in IHC 2+/ISH+; N3 without pCR in IHC 2+/ISH+
    two = df.index[df["her2_class"] == "2+/ISH+"]
    t4 = df.index[(df["her2_class"] == "2+/ISH+") & (df["ct"] == "T4")]
    df.loc[t4[4:], "ct"] = "T3"
    n3 = two[df.loc[two, "cn"] == "N3"]
    df.loc[n3, "pcr"] = False
    paths = _run(tmp_path, df, cfg)
    got = _csv(paths, "out_subgroups")
    t4row = got[(got["variable"] == "ct") & (got["level"] == "T4")].iloc[0]
    assert t4row["status"] == "omitted" and "fewer than 10" in t4row["reason"]
    n3row = got[(got["variable"] == "cn") & (got["level"] == "N3")].iloc[0]
    assert n3row["status"] == "omitted" and "no patient with pCR in IHC 2+/ISH+" in \
        n3row["reason"]
    assert got["variable"].iloc[-1] == "overall" and got["status"].iloc[-1] == "estimated"
    d = _model_frame(df)
    it = interaction_lr_test(d, "pcr_int", "group", "ct",
                             categorical={"group": ["IHC 3+", "IHC 2+/ISH+"],
                                          "ct": ["T1", "T2", "T3", "T4"]})
    assert t4row["p_interaction"] == pytest.approx(it["p"].iloc[0], rel=1e-5)
    html = Path(paths["out_subgroups_html"]).read_text("utf-8")
    assert "Not estimated: fewer than 10 patients in IHC 2+/ISH+" in html
    assert "no patient with pCR in IHC 2+/ISH+" in html


def test_cohort_without_ish_numbers_centres_or_regimen(tmp_path, cfg):
    df = cohort(seed=9)
    df["ish_ratio"] = np.nan
    df["her2_copies"] = np.nan
    df["centre"] = "C1"
    df["anti_her2"] = pd.array([pd.NA] * len(df), dtype="string")
    paths = _run(tmp_path, df, cfg)
    cont = _csv(paths, "out_continuous")
    assert (cont["status"] == "skipped").all()
    assert cont["reason"].str.contains("no patient has HER2/CEP17 ratio recorded").any()
    for png in paths["out_dose_png"]:
        assert Path(png).stat().st_size > 5_000  # figure saying why
    strata = _csv(paths, "out_strata")
    assert strata["status"].item() == "skipped"
    assert "fewer than two Centre strata" in strata["reason"].item()
    within = _csv(paths, "out_within")
    assert within["status"].item() == "skipped" and "anti_her2" in within["reason"].item()
    trend = _csv(paths, "out_trend")
    assert (trend.loc[trend["variable"] == "ish_ratio", "status"] == "skipped").all()
    assert (trend.loc[trend["variable"] == "ct", "status"] == "tested").any()
    sub = _csv(paths, "out_subgroups")
    assert "anti_her2" not in set(sub["variable"]) and "centre" not in set(sub["variable"])
    logit = _csv(paths, "out_logistic")
    assert "anti_her2" not in set(logit["variable"])
    html = Path(paths["out_logistic_html"]).read_text("utf-8")
    assert "Not in the model (recorded for no patient or one level only)" in html
    assert "Anti-HER2</span> therapy" in html
    assert "Not analysed" in Path(paths["out_strata_html"]).read_text("utf-8")


def test_no_pcr_in_a_group_skips_models_with_reason(tmp_path, cfg):
    df = cohort(seed=2)
    df.loc[df["her2_class"] == "2+/ISH+", "pcr"] = pd.NA
    paths = _run(tmp_path, df, cfg)
    for key in ("out_rates", "out_logistic", "out_subgroups", "out_strata"):
        t = _csv(paths, key)
        assert t["status"].item() == "skipped"
        assert "fewer than two groups" in t["reason"].item()


def test_switches_and_rerun_is_byte_identical(tmp_path, cfg):
    c = copy.deepcopy(cfg)
    c["pcr"]["imputation"]["enabled"] = False
    c["pcr"]["strata"] = None
    c["pcr"]["models"]["ci"] = "wald"
    df = cohort(seed=4)
    paths = _run(tmp_path / "a", df, c)
    mi = _csv(paths, "out_mi")
    assert mi["status"].item() == "skipped" and "switched off" in mi["reason"].item()
    assert "pcr.strata" in _csv(paths, "out_strata")["reason"].item()
    logit = _csv(paths, "out_logistic")
    assert logit["uni_ci_method"].dropna().str.startswith("Wald").all()
    paths2 = _run(tmp_path / "b", df, c)

    def digest(p):
        return hashlib.sha256(Path(p).read_bytes()).hexdigest()

    for k, v in paths.items():
        if k.startswith("out_"):
            for a, b in zip(v if isinstance(v, list) else [v],
                            paths2[k] if isinstance(v, list) else [paths2[k]], strict=True):
                assert digest(a) == digest(b), k


@pytest.mark.e2e
def test_pipeline_on_one_centre_without_ish_numbers(tmp_path):
    """Snakemake end to end on one centre whose file has no ISH ratio or copy number: the
    continuous analyses and the Mantel-Haenszel analysis are skipped with their reasons, every
    declared output exists, the rest runs."""
    import os
    import shutil
    import subprocess
    import sys

    import yaml

    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    m = yaml.safe_load((ROOT / "config/centres/JS01.yaml").read_text("utf-8"))
    (tmp_path / "data/demo/raw").mkdir(parents=True)
    shutil.copy(ROOT / m["file"], tmp_path / m["file"])
    for f in ("ish_ratio", "her2_copies"):
        m["columns"].pop(f)
    m["not_recorded"] = ["ish_ratio", "her2_copies"]
    (tmp_path / "config/centres/JS01_noish.yaml").write_text(
        yaml.safe_dump(m, allow_unicode=True, sort_keys=False), "utf-8")
    cfg = yaml.safe_load((tmp_path / "config/config.yaml").read_text("utf-8"))
    cfg["centres"] = ["config/centres/JS01_noish.yaml"]
    cfg["analyses"]["invitro"] = False  # one clinical centre only (no plate files copied)
    cfg["her2"]["discordance"] = "reported"
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    env.pop("HER2COHORT_SALT", None)
    res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=tmp_path,
                         capture_output=True, text=True, check=False, env=env, timeout=900)
    log = (tmp_path / "logs/response.log").read_text("utf-8") \
        if (tmp_path / "logs/response.log").exists() else ""
    assert res.returncode == 0, res.stderr[-3000:] + log
    cont = pd.read_csv(tmp_path / "results/tables/pcr_continuous.csv")
    assert (cont["status"] == "skipped").all()
    assert cont["reason"].str.contains("no patient has").all()
    strata = pd.read_csv(tmp_path / "results/tables/pcr_strata.csv")
    assert strata["status"].item() == "skipped" and "Centre strata" in strata["reason"].item()
    sub = pd.read_csv(tmp_path / "results/tables/pcr_subgroups.csv")
    assert sub["variable"].iloc[-1] == "overall"
    assert (tmp_path / "results/figures/pcr_dose_ish_ratio.png").stat().st_size > 5_000
    assert (tmp_path / "results/figures/pcr_forest.png").stat().st_size > 20_000
    assert (tmp_path / "results/tables/pcr_logistic.docx").stat().st_size > 5_000


def test_her2_loss_is_its_own_stage(tmp_path):
    """HER2 loss among re-tested residual tumours: its own rule (off with analyses.her2_loss),
    rates with Wilson CI and Fisher's exact test equal to the statistics functions."""
    from her2cohort.stages.params import load_study_config
    from her2cohort.stats.proportions import compare_proportions, rate_table

    cfg = load_study_config(ROOT / "config/config.yaml")
    df = cohort()
    df.to_parquet(tmp_path / "analysis.parquet")
    out = {k: str(tmp_path / f"her2_loss.{k[4:]}") for k in ("out_csv", "out_docx",
                                                                  "out_html")}
    assert run_with_config("her2_loss", cfg, in_analysis=str(tmp_path / "analysis.parquet"),
                           **out) == 0
    loss = pd.read_csv(out["out_csv"])
    t = df[df["her2_loss"].notna()].assign(y=lambda d: d["her2_loss"].astype(int))
    t["g"] = t["her2_class"].map({"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"})
    want = rate_table(t, "y", "g", group_order=["IHC 3+", "IHC 2+/ISH+"], ci="wilson")
    assert loss["events"].tolist() == want["events"].tolist()
    np.testing.assert_allclose(loss["lower"], want["lower"], rtol=5e-6)
    p = compare_proportions(t, "y", "g", test="fisher", group_order=["IHC 3+", "IHC 2+/ISH+"])
    assert loss["p"].iloc[0] == pytest.approx(p["p"], rel=5e-6)
    assert "Fisher" in loss["test"].iloc[0]
    assert "HER2 loss" in Path(out["out_html"]).read_text("utf-8")


def test_no_estimable_subgroup_is_a_reason_not_a_crash(tmp_path, cfg):
    """The documented subgroup_min_n (10) on a cohort too small for any subgroup level (the
    response stage used to crash in the forest plot): the stage finishes, the subgroup table
    and figure say why."""
    c = copy.deepcopy(cfg)
    c["pcr"]["subgroups"] = ["ct"]
    c["pcr"]["subgroup_min_n"] = 10
    c["pcr"]["continuous"] = []
    c["pcr"]["imputation"]["enabled"] = False
    paths = _run(tmp_path, cohort(n3=9, n2=7, seed=3), c)
    sub = _csv(paths, "out_subgroups")
    assert sub["status"].tolist() == ["skipped"]
    assert "no subgroup odds ratio is estimable" in sub["reason"].item()
    assert "fewer than 10 patients" in sub["reason"].item()
    assert Path(paths["out_forest_png"]).stat().st_size > 1000


def test_three_groups_get_an_overall_test_and_adjusted_pairwise_comparisons(tmp_path, cfg):
    """k = 3: the overall r x c test across the groups, then every pair with the study's
    multiplicity adjustment (R pairwise.prop.test(correct = FALSE, p.adjust.method = "holm"),
    checked against R in test_kgroups.py), in pcr_tests.csv and the table's footnote."""
    from her2cohort.stats.kgroups import pairwise_proportions
    from her2cohort.stats.proportions import compare_proportions

    c = copy.deepcopy(cfg)
    c["study"]["exposure"] = {"name": "Clinical T", "column": "ct",
                              "levels": ["T1", "T2", "T3"]}
    c["pcr"]["test"] = "pearson"
    c["pcr"]["continuous"] = []
    c["pcr"]["subgroups"] = []
    c["pcr"]["imputation"]["enabled"] = False
    c["pcr"]["models"]["covariates"] = ["hr_status"]
    df = cohort(seed=11)
    paths = _run(tmp_path, df, c)
    tests = _csv(paths, "out_tests")
    d = df[df["pcr"].notna() & df["ct"].isin(["T1", "T2", "T3"])].assign(
        y=lambda x: x["pcr"].astype(int), g=lambda x: x["ct"].astype(str))
    overall = tests[tests["subset"] == "all"].iloc[0]
    ref = compare_proportions(d, "y", "g", test="pearson", group_order=["T1", "T2", "T3"])
    assert overall["p"] == pytest.approx(ref["p"], rel=1e-5) and overall["df"] == 2
    pw = tests[tests["comparison"] == "pCR by group (pairwise)"].set_index("subset")
    want = pairwise_proportions(d, "y", "g", levels=["T1", "T2", "T3"], test="pearson",
                                adjust="holm")
    assert len(pw) == 3
    for r in want.itertuples(index=False):
        row = pw.loc[f"{r.level_b} vs {r.level_a}"]
        assert row["p_adjusted"] == pytest.approx(r.p_adjusted, rel=1e-5)
        assert row["adjust_method"] == r.adjust_method
    html = Path(paths["out_rates_html"]).read_text("utf-8")
    assert "Pairwise comparisons" in html and "T3 vs T1" in html
