"""The survival stage: wiring, skipping and numbers against the statistics functions.

The statistics are checked against R in test_km.py, test_cox.py and test_weighting.py; here
the stage's tables must hold exactly what those functions return on the analysed cohort, the
demo must behave as the reference study reported, and cohorts the demo is not (no dates, no
treatment recorded, few events, a group without events) must be skipped or footnoted with a
reason, never crash.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.stages import run_with_config
from her2cohort.stages.params import groups_of, load_study_config, stage_params

ROOT = Path(__file__).resolve().parents[1]
RULE = (ROOT / "workflow/rules/survival.smk").read_text("utf-8")
# the rule runs once per endpoint (wildcard {endpoint}); most tests run the DFS job
COMMON = (ROOT / "workflow/rules/common.smk").read_text("utf-8")
_OPTIONAL = COMMON[COMMON.index("def survival_optional_outputs"):]
TEMPLATES = {k: "results/" + v for k, v in re.findall(
    r'(out_\w+)=(?:report\(\s*)?R\(f?"([^"]+)"\)', RULE + _OPTIONAL)}
TEMPLATES.update({k: f"results/figures/{{endpoint}}_{name}.png" for k, name in re.findall(
    r'(out_\w+)=_survival_figure\("(\w+)"', _OPTIONAL)})
OUTPUTS = {k: v.replace("{endpoint}", "dfs") for k, v in TEMPLATES.items()}
RTOL = 5e-7  # project standard; CSVs hold every double exactly (common.write_csv)


def _paths(base: Path, endpoint: str = "dfs") -> dict[str, str]:
    return {k: str(base / v.replace("{endpoint}", endpoint)) for k, v in TEMPLATES.items()}


def _run(cfg: dict, analysis: Path, out: Path, endpoint: str = "dfs",
         **edits) -> dict[str, str]:
    cfg = {**cfg, "survival": {**cfg.get("survival", {}), **edits}}
    paths = _paths(out, endpoint)
    assert run_with_config("survival", cfg, in_analysis=str(analysis), endpoint=endpoint,
                           **paths) == 0
    return paths


@pytest.fixture(scope="module")
def cfg():
    return load_study_config(str(ROOT / "config/config.yaml"))


@pytest.fixture(scope="module")
def demo(demo_pipeline):
    """The session's one demo run (tests/conftest.py); read only here."""
    return demo_pipeline.work


@pytest.fixture(scope="module")
def analysed(demo, cfg):
    from her2cohort.stages.common import group_setup

    df, _ = group_setup(groups_of(cfg), pd.read_parquet(demo / "data/processed/analysis.parquet"))
    df["dfs_event"] = df["dfs_event"].astype(int)
    return df


def _csv(base: Path, key: str) -> pd.DataFrame:
    return pd.read_csv(base / OUTPUTS[key])


def test_every_declared_output_is_written(demo):
    for path in OUTPUTS.values():
        assert (demo / path).stat().st_size > 0, path


def test_demo_behaves_as_the_reference_study(demo):
    tests = _csv(demo, "out_logrank")
    main = tests[(tests["endpoint"] == "DFS") & (tests["comparison"] == "group")].iloc[0]
    assert 0.05 < main["p"] and main["test"] == "log-rank (Mantel-Haenszel)"
    cox = _csv(demo, "out_cox")
    hr = cox[(cox["model"] == "univariable") & (cox["term"] == "group[IHC 2+/ISH+]")].iloc[0]
    assert hr["hr"] > 1 and hr["p"] > 0.05  # worse, not significant
    summary = _csv(demo, "out_summary")
    dfs = summary[(summary["endpoint"] == "DFS") & (summary["comparison"] == "group")]
    s60 = dfs.set_index("group")["surv_60"]
    assert s60["IHC 2+/ISH+"] < s60["IHC 3+"]
    regimen = tests[(tests["endpoint"] == "DFS") & (tests["comparison"] == "anti_her2")]
    assert set(regimen["subset"]) == {"IHC 3+", "IHC 2+/ISH+"}
    assert (regimen["p"] > 0.2).all(), regimen[["subset", "p"]]  # far from significant
    iptw = _csv(demo, "out_iptw")
    weighted = iptw[iptw["analysis"] == "IPTW-weighted Cox (robust SE)"]
    assert len(weighted) == 2 and (weighted["p"] > 0.2).all()
    assert (weighted["max_smd_after"] < 0.1).all()  # balance reached


def test_tables_hold_what_the_statistics_functions_return(demo, analysed, cfg):
    from her2cohort.stats.cox import CoxModel, cox_table, cox_zph
    from her2cohort.stats.km_summary import km_summary_table, rmst_difference
    from her2cohort.stats.survival import logrank, reverse_km_followup

    order = ["IHC 3+", "IHC 2+/ISH+"]
    lr = logrank(analysed, "dfs_months", "dfs_event", "group", group_order=order)
    got = _csv(demo, "out_logrank").iloc[0]
    np.testing.assert_allclose([got["statistic"], got["p"]], [lr["statistic"], lr["p"]],
                               rtol=RTOL)
    want = km_summary_table(analysed, "dfs_months", "dfs_event", "group", landmarks=[36, 60],
                            group_order=order, conf_type="log")
    summ = _csv(demo, "out_summary")
    summ = summ[(summ["endpoint"] == "DFS") & (summ["comparison"] == "group")]
    for col in ("n", "events", "surv_36", "surv_36_lower", "surv_60", "surv_60_upper"):
        np.testing.assert_allclose(summ[col], want[col], rtol=RTOL, err_msg=col)
    assert (summ["ci_method"] == want["ci_method"]).all()
    assert summ["ci_method"].str.startswith("log (R survfit default)").all()
    fu = _csv(demo, "out_followup")
    assert fu["group"].iloc[0] == "all patients"  # first row: the whole cohort
    for i, sub in ((0, analysed), (1, analysed[analysed["group"] == "IHC 3+"])):
        ref = reverse_km_followup(sub, "dfs_months", "dfs_event", conf_type="log")
        row = fu.iloc[i]
        np.testing.assert_allclose([row["median"], row["lower"], row["upper"]],
                                   [ref["median"], ref["lower"], ref["upper"]], rtol=RTOL)
    # Cox: multivariable model as configured
    d = analysed.copy()
    d["pcr"] = np.where(d["pcr"].astype(bool), "yes", "no")
    # the levels as configured; hormone receptor without its own takes Table 1's order
    cat = {"group": order, "pcr": ["no", "yes"], "hr_status": ["positive", "negative"],
           "ct": ["T1", "T2", "T3", "T4"], "cn": ["N0", "N1", "N2", "N3"]}
    assert {v["name"]: v.get("levels") for v in stage_params(cfg, "survival")["cox"][
        "covariates"] if v["name"] != "group"} == {k: v for k, v in cat.items() if k != "group"}
    for c in ("hr_status", "ct", "cn"):
        d[c] = d[c].astype(object)
    want = cox_table(d, "dfs_months", "dfs_event", list(cat), categorical=cat)
    got = _csv(demo, "out_cox")
    np.testing.assert_allclose(got["hr"], want["hr"], rtol=RTOL)
    np.testing.assert_allclose(got["p"].fillna(-1), want["p"].fillna(-1), rtol=RTOL)
    fit = CoxModel().fit(d, "dfs_months", "dfs_event", list(cat), categorical=cat)
    z = cox_zph(fit).table
    zph = _csv(demo, "out_zph")
    np.testing.assert_allclose(zph["p"], z["p"], rtol=RTOL)
    flagged = got[got["footnote"].fillna("").str.contains("cox.zph")]
    assert set(flagged["variable"]) == set(z.loc[(z["p"] < 0.05) & (z["term"] != "GLOBAL"),
                                                 "term"])
    mv = got[got["model"] == "multivariable"]
    np.testing.assert_allclose(mv["concordance"].iloc[0], fit.concordance()["concordance"],
                               rtol=RTOL)
    # RMST difference by group at the configured horizon
    rd = rmst_difference(analysed, "dfs_months", "dfs_event", "group", 60, group_order=order)
    rm = _csv(demo, "out_rmst")
    row = rm[(rm["comparison"] == "group") & (rm["row"] == "difference")].iloc[0]
    np.testing.assert_allclose([row["diff"], row["lower"], row["upper"]],
                               rd[["diff", "lower", "upper"]].iloc[0], rtol=RTOL)


def test_iptw_numbers_match_the_weighting_functions(demo, analysed):
    from her2cohort.stats.cox import CoxModel
    from her2cohort.stats.weighting import iptw

    sub = analysed[analysed["group"] == "IHC 2+/ISH+"].copy()
    sub["treated"] = (sub["anti_her2"] == "dual").astype(int)
    cat = {"hr_status": ["negative", "positive"], "ct": ["T1", "T2", "T3", "T4"],
           "cn": ["N0", "N1", "N2", "N3"]}
    for c in cat:
        sub[c] = sub[c].astype(object)
    w = iptw(sub, "treated", ["age", *cat], categorical=cat, treated_level=1,
             stabilised=True, truncate=(0.01, 0.99))
    sub["w"] = w["weight"]
    fit = CoxModel().fit(sub, "dfs_months", "dfs_event", ["treated"], weights="w",
                         robust=True)
    s = fit.summary().iloc[0]
    got = _csv(demo, "out_iptw")
    row = got[(got["subset"] == "IHC 2+/ISH+")
              & (got["analysis"] == "IPTW-weighted Cox (robust SE)")].iloc[0]
    np.testing.assert_allclose([row["hr"], row["lower"], row["upper"], row["p"]],
                               [s["hr"], s["lower"], s["upper"], s["p"]], rtol=RTOL)
    assert "robust" in row["test"]
    ev = got[(got["subset"] == "IHC 2+/ISH+") & got["analysis"].str.startswith("E-value")]
    assert len(ev) == 2 and (ev["evalue"] >= 1).all()
    assert ev["ci_method"].str.contains("common outcome").all()


def test_rerun_gives_identical_tables(demo, cfg, tmp_path):
    paths = _run(cfg, demo / "data/processed/analysis.parquet", tmp_path)
    for key, rel in OUTPUTS.items():
        if rel.endswith(".csv"):
            a = hashlib.sha256(Path(paths[key]).read_bytes()).hexdigest()
            b = hashlib.sha256((demo / rel).read_bytes()).hexdigest()
            assert a == b, rel


def test_ci_type_and_strata_options(demo, cfg, tmp_path):
    from her2cohort.stats.survival import logrank

    paths = _run(cfg, demo / "data/processed/analysis.parquet", tmp_path, ci_type="log-log",
                 logrank_strata="centre",
                 cox={**cfg["survival"]["cox"], "variance": "cluster", "ties": "breslow",
                      "strata": "hr_status",
                      "covariates": [{"name": "group"}, {"name": "pcr", "levels": ["no", "yes"]}]})
    summ = pd.read_csv(paths["out_summary"])
    assert summ["ci_method"].str.startswith("log-log").all()
    tests = pd.read_csv(paths["out_logrank"])
    strat = tests[tests["test"].str.startswith("stratified")]
    assert len(strat) == len(tests) / 2  # one stratified row beside each plain test
    df = pd.read_parquet(demo / "data/processed/analysis.parquet")
    df["group"] = df["her2_class"].map({"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"})
    df["dfs_event"] = df["dfs_event"].astype(int)
    lr = logrank(df, "dfs_months", "dfs_event", "group", ["IHC 3+", "IHC 2+/ISH+"],
                 strata="centre")
    np.testing.assert_allclose(strat.iloc[0]["p"], lr["p"], rtol=RTOL)
    cox = pd.read_csv(paths["out_cox"])
    assert (cox["variance"] == "cluster-robust by centre").all()
    assert (cox["ties"] == "breslow").all() and (cox["strata"] == "hr_status").all()
    assert cox["test"].str.contains("robust").all()
    from her2cohort.stats.cox import cox_table

    d = df.copy()
    d["pcr"] = np.where(d["pcr"].astype(bool), "yes", "no")
    want = cox_table(d, "dfs_months", "dfs_event", ["group", "pcr"],
                     categorical={"group": ["IHC 3+", "IHC 2+/ISH+"], "pcr": ["no", "yes"]},
                     strata="hr_status", cluster="centre", robust=True, ties="breslow")
    np.testing.assert_allclose(cox["hr"], want["hr"], rtol=RTOL)
    np.testing.assert_allclose(cox["robust_se"].fillna(-1), want["robust_se"].fillna(-1),
                               rtol=RTOL)


def _variant(demo: Path, tmp: Path, change) -> Path:
    df = pd.read_parquet(demo / "data/processed/analysis.parquet")
    df = change(df)
    path = tmp / "analysis.parquet"
    df.to_parquet(path, index=False)
    return path


def test_cohort_without_dates(demo, cfg, tmp_path):
    """DFS recorded as time and event only: the DFS job runs on it, the OS job (no dates, no
    recorded OS) writes every output saying why it did not run."""
    def change(df):
        df = df.copy()
        for c in ("surgery_date", "last_contact_date", "recurrence_date", "death_date",
                  "nst_start_date", "diagnosis_date"):
            df[c] = pd.NaT
        df["vital_status"] = pd.NA
        df["dfs_source"] = "recorded time"
        for e in ("os", "efs"):  # what derive gives without dates or a recorded pair
            df[f"{e}_months"] = np.nan
            df[f"{e}_event"] = pd.array([pd.NA] * len(df), dtype="Int8")
            df[f"{e}_source"] = pd.array([pd.NA] * len(df), dtype="string")
        return df

    analysis = _variant(demo, tmp_path, change)
    paths = _run(cfg, analysis, tmp_path / "out")
    tests = pd.read_csv(paths["out_logrank"])
    assert set(tests["endpoint"]) == {"DFS"}
    assert tests["n_used"].iloc[0] == 575
    os_paths = _run(cfg, analysis, tmp_path / "out", endpoint="os")
    for key in ("out_km", "out_logrank", "out_cox"):
        t = pd.read_csv(os_paths[key])
        assert t["status"].tolist() == ["skipped"]
        assert "0 of 575 analysed patients have OS data" in t["reason"].item()
    assert Path(os_paths["out_png"]).stat().st_size > 1000


def test_cohort_without_treatment(demo, cfg, tmp_path):
    def change(df):
        df = df.copy()
        df["anti_her2"] = pd.array([pd.NA] * len(df), dtype="string")
        return df

    paths = _run(cfg, _variant(demo, tmp_path, change), tmp_path / "out")
    for key in ("out_iptw", "out_balance"):
        t = pd.read_csv(paths[key])
        assert t["status"].tolist() == ["skipped"]
        assert "anti_her2" in t["reason"].item()
    tests = pd.read_csv(paths["out_logrank"])
    assert "anti_her2" not in set(tests["comparison"])
    assert pd.read_csv(paths["out_cox"])["hr"].notna().any()


def test_few_events_and_a_group_without_events(demo, cfg, tmp_path):
    def change(df):
        df = df.copy()
        two_plus = df["her2_class"] == "2+/ISH+"
        df.loc[two_plus, "dfs_event"] = 0
        return df

    paths = _run(cfg, _variant(demo, tmp_path, change), tmp_path / "out")
    cox = pd.read_csv(paths["out_cox"])
    row = cox[(cox["model"] == "univariable") & (cox["term"] == "group[IHC 2+/ISH+]")].iloc[0]
    assert np.isnan(row["lower"]) and "infinite" in row["footnote"]

    def few(df):
        df = df.copy()
        keep = df.index[df["dfs_event"] == 1][:3].union(df.index[df["dfs_event"] == 0][:60])
        return df.loc[keep]

    (tmp_path / "few").mkdir()
    paths = _run(cfg, _variant(demo, tmp_path / "few", few), tmp_path / "out_few")
    tests = pd.read_csv(paths["out_logrank"])
    assert tests["p"].isna().all()
    assert tests["warning"].str.contains("min_events").all()
    assert pd.read_csv(paths["out_cox"])["status"].tolist() == ["skipped"]


def test_declared_params_are_the_stage_arguments(cfg):
    params = stage_params(cfg, "survival")
    assert params["ci_type"] == "log"
    levels = {v["name"]: v.get("levels") for v in params["cox"]["covariates"]}
    assert levels["ct"] == ["T1", "T2", "T3", "T4"]
    no_section = {k: v for k, v in cfg.items() if k != "survival"}
    defaults = stage_params(no_section, "survival")
    assert defaults["ci_type"] == "log" and defaults["rmst_horizon_months"] == 60


def test_multiple_imputation_pools_the_cox_models(demo, cfg, tmp_path):
    from her2cohort.stats.cox import CoxModel
    from her2cohort.stats.pooling import impute_mice, rubin_pool
    from her2cohort.stats.survival import km_table

    rng = np.random.default_rng(1)

    def change(df):
        df = df.copy()
        for c in ("ct", "hr_status"):
            df.loc[rng.random(len(df)) < 0.12, c] = pd.NA
        return df

    analysis = _variant(demo, tmp_path, change)
    paths = _run(cfg, analysis, tmp_path / "out", imputation={"m": 3, "seed": 7,
                                                               "iterations": 5})
    mi = pd.read_csv(paths["out_cox_mi"])
    mv = mi[mi["model"] == "multivariable"]
    assert (mv["cc_n"] < mv["n"]).all() and (mv["n"] == 575).all()
    assert set(mi.loc[mi["model"] == "univariable", "variable"]) == {"ct", "hr_status"}
    assert (mv["m"] == 3).all() and mv["test"].notna().all()
    # the same steps by hand: covariates, event and Nelson-Aalen hazard imputed, Rubin pooled
    df = pd.read_parquet(analysis)
    df["group"] = df["her2_class"].map({"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"})
    df["dfs_event"] = df["dfs_event"].astype(int)
    df["pcr"] = np.where(df["pcr"].astype(bool), "yes", "no")
    cat = {"group": ["IHC 3+", "IHC 2+/ISH+"], "pcr": ["no", "yes"],
           "hr_status": ["positive", "negative"], "ct": ["T1", "T2", "T3", "T4"],
           "cn": ["N0", "N1", "N2", "N3"]}
    for c in cat:
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    km = km_table(df, "dfs_months", "dfs_event", conf_type="log")
    h = np.r_[0.0, np.cumsum(km["n_event"] / km["n_risk"])]
    data = df[list(cat)].copy()
    data["_event"] = df["dfs_event"].astype(float)
    data["_cumhaz"] = h[np.searchsorted(km["time"], df["dfs_months"], side="right")]
    imps = impute_mice(data, columns=list(data.columns), m=3, seed=7, n_iter=5,
                       categorical=cat)
    est, var = [], []
    for imp in imps:
        full = df.copy()
        for c in cat:
            full[c] = imp[c].to_numpy()
        fit = CoxModel().fit(full, "dfs_months", "dfs_event", list(cat), categorical=cat)
        est.append(fit.coef)
        var.append(fit.var)
    # complete-data df as mice::pool takes it for coxph: events - coefficients
    want = rubin_pool(np.array(est), np.array(var), names=fit.terms,
                      df_complete=fit.nevent - len(fit.terms))
    np.testing.assert_allclose(mv["estimate"], want["estimate"], rtol=RTOL)
    np.testing.assert_allclose(mv["p"], want["p"], rtol=RTOL)


def _trial_export(demo: Path, work: Path, treatment: bool) -> None:
    """A registry-style export built from the demo cohort: one file, no dates (DFS as time in
    months and an event flag), treatment class recorded or not at all."""
    a = pd.read_parquet(demo / "data/processed/analysis.parquet")
    out = pd.DataFrame({
        "ID": [f"P{i:04d}" for i in range(len(a))],
        "Age": a["age"].round(0).astype(int), "HER2": a["her2_ihc"].astype(str),
        "ratio": a["ish_ratio"], "copies": a["her2_copies"], "ER": a["er_pct"],
        "PR": a["pr_pct"], "cT": a["ct"], "cN": a["cn"], "cM": a["cm"],
        "pCR": np.where(a["pcr"].astype(bool), "Y", "N"),
        "months": a["dfs_months"].round(4), "event": a["dfs_event"].astype(int),
        "centre_code": a["centre"]})
    columns = {"patient_id": "ID", "age_years": "Age", "her2_ihc": "HER2", "ish_ratio": "ratio",
               "her2_copies": "copies", "er_pct": "ER", "pr_pct": "PR", "ct": "cT",
               "cn": "cN", "cm": "cM", "pcr": "pCR", "dfs_time": "months",
               "dfs_event": "event"}
    mapping = {"centre": "REG", "file": "data/trial/export.csv", "format": "csv",
               "columns": columns,
               "values": {"pcr": {"Y": "yes", "N": "no"},
                          "dfs_event": {"1": "event", "0": "censored"}},
               "units": {"dfs_time": "months"},
               # the export records DFS only: OS and EFS are declared not recorded
               "not_recorded": ["os_time", "os_event", "efs_time", "efs_event"]}
    if treatment:
        out["Tx"] = a["anti_her2"].astype(str)
        columns["anti_her2"] = "Tx"
    else:
        mapping["not_recorded"] += ["anti_her2", "regimen"]
    (work / "data/trial").mkdir(parents=True)
    out.to_csv(work / "data/trial/export.csv", index=False)
    import yaml

    (work / "config/centres/REG.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False),
                                                  "utf-8")
    cfg = yaml.safe_load((work / "config/config.yaml").read_text("utf-8"))
    cfg["centres"] = ["config/centres/REG.yaml"]
    cfg["analyses"] = {"table1": False, "pcr": True, "her2_loss": False, "survival": True}
    keep = {"metastatic", "her2_not_positive"} | ({"no_anti_her2"} if treatment else set())
    cfg["criteria"] = [c for c in cfg["criteria"] if c["id"] in keep]
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")


@pytest.mark.parametrize("treatment", [True, False], ids=["no_dates", "no_dates_no_treatment"])
def test_pipeline_on_an_export_without_dates(demo, tmp_path, treatment):
    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    _trial_export(demo, tmp_path, treatment)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    env.pop("HER2COHORT_SALT", None)
    res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=tmp_path,
                         capture_output=True, text=True, check=False, env=env, timeout=900)
    log = tmp_path / "logs/survival_dfs.log"
    assert res.returncode == 0, res.stderr[-3000:] + (log.read_text() if log.exists() else "")
    tests = _csv(tmp_path, "out_logrank")
    assert set(tests["endpoint"]) == {"DFS"}
    for ep in ("os", "efs"):  # OS and EFS need dates (or a recorded pair): skipped, with why
        t = pd.read_csv(tmp_path / f"results/tables/{ep}_logrank.csv")
        assert t["status"].tolist() == ["skipped"] and "have " in t["reason"].item()
    main = tests[tests["comparison"] == "group"].iloc[0]
    assert main["n_used"] == 575 and main["p"] > 0.05
    iptw = _csv(tmp_path, "out_iptw")
    if treatment:
        assert set(tests["comparison"]) == {"group", "anti_her2", "pCR"}
        assert (iptw["analysis"] == "IPTW-weighted Cox (robust SE)").sum() == 2
    else:
        assert set(tests["comparison"]) == {"group", "pCR"}
        assert iptw["status"].tolist() == ["skipped"]
    assert (tmp_path / OUTPUTS["out_png"]).stat().st_size > 10_000


def test_headline_adjusted_hr_is_the_survival_tables(demo, cfg, tmp_path):
    """The adjusted hazard ratio of summary.json (headline) equals the survival table's
    multivariable one, also after a legal level edit that leaves values outside the configured
    levels (the review found 0.847 in summary.json vs 0.969 in the table: the headline kept
    those patients, the table treats such values as missing)."""
    import copy

    from her2cohort.stages.headline import headline
    from her2cohort.stages.sensitivity import sensitivity_params

    c = copy.deepcopy(cfg)
    for v in c["survival"]["cox"]["covariates"]:
        if v["name"] == "ct":
            v["levels"] = ["T1", "T2", "T3"]  # T4 patients: ct missing in the models
    analysis = demo / "data/processed/analysis.parquet"
    paths = _run(c, analysis, tmp_path / "out")
    cox = pd.read_csv(paths["out_cox"])
    table = cox[(cox["model"] == "multivariable") & (cox["term"] == "group[IHC 2+/ISH+]")]
    sp = sensitivity_params(c, "main")
    rows = headline(pd.read_parquet(analysis), study=sp["study"], groups=sp["groups"],
                    adjusted=sp["adjusted"], min_events=sp["min_events"])
    adj = next(r for r in rows if r["quantity"] == "Adjusted DFS hazard ratio")
    assert adj["estimate"] == pytest.approx(table["hr"].item(), rel=RTOL)
    assert adj["lower"] == pytest.approx(table["lower"].item(), rel=RTOL)
    assert adj["n"] == table["n"].item()
    assert "outside the configured levels" in adj["note"]
    plain = headline(pd.read_parquet(analysis), study=sp["study"], groups=sp["groups"],
                     adjusted=sensitivity_params(cfg, "main")["adjusted"])
    assert next(r for r in plain if r["quantity"] == "Adjusted DFS hazard ratio")[
        "estimate"] != pytest.approx(adj["estimate"], rel=1e-3)


def _html_rows(path: Path) -> list[list[str]]:
    import html as h

    text = path.read_text("utf-8")
    return [[h.unescape(re.sub("<[^>]+>", "", c)) for c in
             re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", text, re.S)]


def test_cox_table_has_the_logistic_layout_levels_and_lr_p(demo, cfg):
    """Issue 17: the Cox table has N and events per level, a likelihood-ratio p per
    variable and the reference levels and labels of the logistic table (Table 1's level
    order and level_labels where the covariate gives none)."""
    from docx import Document

    from her2cohort.render.format import format_p

    cox = _csv(demo, "out_cox")
    uni = cox[cox["model"] == "univariable"]
    rows = _html_rows(demo / OUTPUTS["out_cox_html"])
    assert rows[1][:3] == ["Characteristic", "N", "Events"]
    t1 = {v["name"]: v for v in cfg["table1"]["variables"]}
    labels = {v["name"]: v["label"] for v in cfg["survival"]["cox"]["covariates"]}
    checked = 0
    for name, spec in t1.items():
        if name not in labels or not spec.get("levels") or "levels" in next(
                v for v in cfg["survival"]["cox"]["covariates"] if v["name"] == name):
            continue
        i = next(k for k, r in enumerate(rows) if r[0].rstrip("\u2020") == labels[name])
        ref = spec["levels"][0]
        ref_label = (spec.get("level_labels") or {}).get(ref, ref)
        blk = uni[uni["variable"] == name]
        assert blk.loc[blk["reference"], "level"].item() == ref
        assert rows[i + 1][0] == ref_label and rows[i + 1][3::2] == ["1 (reference)"] * 2
        n = blk.loc[blk["reference"], ["level_n", "level_events"]].iloc[0]
        assert rows[i + 1][1:3] == [str(n["level_n"]), str(n["level_events"])]
        assert rows[i][4].startswith(format_p(blk["lr_p"].iloc[0]))  # LR p on the variable
        assert blk["level_n"].sum() == blk["n"].iloc[0]
        checked += 1
    assert checked >= 2  # hormone receptor and clinical T/N in the demo
    # the RMST table shows the CSV's difference and its p; the landmark table its counts
    from her2cohort.render.format import format_estimate

    rmst = _csv(demo, "out_rmst")
    d = rmst[(rmst["comparison"] == "group") & (rmst["row"] == "difference")].iloc[0]
    diff = next(r for r in _html_rows(demo / OUTPUTS["out_rmst_html"])
                if r[0].startswith("Difference"))
    assert diff[4:] == [format_estimate(d["diff"], d["lower"], d["upper"], 1),
                        f"{d['p']:.3f}"]
    lm = _csv(demo, "out_landmark")
    rows = [r for r in _html_rows(demo / OUTPUTS["out_landmark_html"])[1:] if len(r) == 8]
    assert [r[1:6] for r in rows] == [
        [str(x) for x in r] for r in lm[["n", "event_before", "censored_before",
                                         "at_landmark", "events"]].itertuples(index=False)]
    for key in ("out_cox_docx", "out_summary_docx", "out_iptw_docx", "out_rmst_docx",
                "out_landmark_docx"):
        doc = Document(str(demo / OUTPUTS[key]))
        assert doc.styles["Normal"].font.size.pt >= 8 and len(doc.tables) == 1, key
