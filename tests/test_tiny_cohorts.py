"""Tiny and degenerate cohorts (issue 18): 1-10 patients, one group empty, no events, fewer
events than survival.min_events, a group without events, every or no patient with pCR, one
centre, a constant covariate. Every analysis says why it is not estimable; the headline
follows the tables' rules (one function each: stats.adequacy.too_few_events and
ratio_not_estimable); nothing non-finite reaches JSON.

Unit tests call the functions and stages on constructed DataFrames (exact counts); the two
whole-pipeline runs (marked e2e, shared by a session fixture) use the first rows of the
bundled SIMULATED demo centre JS01: all data here are SIMULATED or constructed."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from her2cohort.stages import run_with_config
from her2cohort.stages.headline import headline
from her2cohort.stages.summary import estimates, manuscript
from her2cohort.stats.adequacy import ratio_not_estimable, ratio_rule, too_few_events
from her2cohort.stats.proportions import compare_or_reason, compare_proportions

ROOT = Path(__file__).resolve().parents[1]
STUDY = {"title": "t", "simulated": True,
         "exposure": {"name": "HER2 group", "column": "her2_class",
                      "levels": [{"id": "3+", "label": "IHC 3+"},
                                 {"id": "2+/ISH+", "label": "IHC 2+/ISH+"}]},
         "endpoints": {"dfs": {"name": "Disease-free survival", "abbreviation": "DFS"}},
         "primary_endpoint": "pcr"}
FLOW = {"received": 5, "centres": 1, "analysed": 5, "quarantined": 0, "excluded": 0}
FEW_1 = "1 event(s) < survival.min_events (5)"


def _strict_json(path: Path):
    """json.load refusing NaN/Infinity tokens (allow_nan=False semantics)."""
    def refuse(token):
        raise AssertionError(f"{path}: non-finite JSON token {token}")

    return json.loads(Path(path).read_text("utf-8"), parse_constant=refuse)


def _five(pcr=(True, False, False, True, False), events=(0, 0, 1, 0, 0)) -> pd.DataFrame:
    """5 patients, 3 IHC 3+ and 2 IHC 2+/ISH+ (constructed)."""
    return pd.DataFrame({
        "her2_class": ["3+", "3+", "3+", "2+/ISH+", "2+/ISH+"],
        "pcr": pd.array(list(pcr), dtype="boolean"),
        "hr_status": ["positive", "negative", "positive", "positive", "negative"],
        "dfs_months": [12.0, 30.0, 18.0, 40.0, 7.0],
        "dfs_event": pd.array(list(events), dtype="Int8")})


# ------------------------------------------------------------------------------ the rules
def test_min_events_rule_wording():
    assert too_few_events(0, 5) == "no events"
    assert too_few_events(1, 5) == FEW_1
    assert too_few_events(4, 5) == "4 event(s) < survival.min_events (5)"
    assert too_few_events(5, 5) is None
    assert too_few_events(np.int64(2), 1) is None


def test_ratio_rule_refuses_ratios_running_to_0_or_infinity():
    assert ratio_not_estimable(4.2e9, 0.0, math.inf).startswith(
        "the hazard ratio runs to 0 or infinity")
    assert ratio_not_estimable(1.2e-9, math.nan, math.nan).startswith(
        "the hazard ratio runs to 0 or infinity")
    assert ratio_not_estimable(1.5, 0.0, math.inf) == (
        "the confidence interval of the hazard ratio runs to 0 or infinity")
    assert ratio_not_estimable(math.nan) is not None
    assert ratio_not_estimable(1.5, 0.5, 4.0) is None
    assert ratio_not_estimable(2.0) is None  # no interval given: not judged on one
    assert "odds ratio" in ratio_not_estimable(1e7, what="odds ratio")
    t = pd.DataFrame({"or": [3.0, 1e8, np.nan, 2.0], "lo": [1.0, 0.0, np.nan, 0.0],
                      "hi": [9.0, np.inf, np.nan, np.inf], "p": [0.04, 1.0, np.nan, 0.9],
                      "warning": [None, "may be infinite", "aliased", None]})
    out = ratio_rule(t, "or", "lo", "hi", "p", what="odds ratio")
    assert out["or"].tolist()[0] == 3.0 and out["or"].isna().tolist() == [False, True, True,
                                                                          True]
    assert out.at[1, "warning"].startswith("not estimable: the odds ratio runs to 0")
    assert out.at[1, "warning"].endswith("; may be infinite")
    assert out.at[2, "warning"] == "aliased"  # no estimate: its own reason stays
    assert out.at[3, "warning"] == ("not estimable: the confidence interval of the odds "
                                    "ratio runs to 0 or infinity")
    assert not np.isinf(out[["or", "lo", "hi"]].to_numpy(float)).any()


def test_survival_stage_and_headline_use_the_same_rule():
    from her2cohort.stages.survival import _Run

    run = _Run.__new__(_Run)
    run.min_events = 5
    assert run.few(1) == too_few_events(1, 5) == FEW_1
    rows = headline(_five(), study=STUDY, min_events=5)
    for q in ("DFS log-rank", "DFS hazard ratio"):
        (r,) = [r for r in rows if r["quantity"] == q]
        assert r["note"] == f"not estimable: {FEW_1}" and "estimate" not in r and "p" not in r
    # no events at all: the same function's reason
    rows = headline(_five(events=(0, 0, 0, 0, 0)), study=STUDY, min_events=5)
    (r,) = [r for r in rows if r["quantity"] == "DFS log-rank"]
    assert r["note"] == "not estimable: no events"
    assert not [r for r in rows if r["quantity"] == "DFS hazard ratio"]


def test_cox_table_follows_the_ratio_rule():
    """7 patients, every event in IHC 3+: the Cox coefficient runs off (R coxph: 'Loglik
    converged before variable 1'); the table says not estimable instead of 1.2e-09 (NR-NR)."""
    from her2cohort.stages.survival import _ratio_rule
    from her2cohort.stats.cox import cox_table

    d = pd.DataFrame({"group": ["A"] * 5 + ["B"] * 2,
                      "t": [5.0, 9, 12, 20, 30, 40, 50], "e": [1, 1, 1, 1, 1, 0, 0]})
    table = cox_table(d, "t", "e", ["group"], categorical={"group": ["A", "B"]},
                      multivariable=False)
    row = table[table["term"] == "group[B]"].index[0]
    assert table.at[row, "hr"] < 1e-6  # what the fit leaves: a number that means nothing
    _ratio_rule(table)
    assert np.isnan(table.at[row, "hr"]) and np.isnan(table.at[row, "p"])
    assert table.at[row, "warning"].startswith("not estimable: the hazard ratio runs to 0")
    assert table.loc[table["reference"].astype(bool), "hr"].tolist() == [1.0]


# ------------------------------------------------------------------------------ constant pCR
def test_constant_outcome_gives_a_reason_not_an_error():
    d = pd.DataFrame({"g": ["a", "a", "b", "b"], "y": [1, 1, 1, 1]})
    r = compare_or_reason(d, "y", "g", test="fisher", group_order=["a", "b"], what="pCR")
    assert r["test"] == "not tested" and np.isnan(r["p"])
    assert r["warning"] == "not estimable: every patient had pCR"
    r = compare_or_reason(d.assign(y=0), "y", "g", group_order=["a", "b"], what="pCR")
    assert r["warning"] == "not estimable: no patient had pCR"
    mixed = d.assign(y=[1, 0, 0, 0])
    assert compare_or_reason(mixed, "y", "g", test="fisher")["p"] == pytest.approx(
        compare_proportions(mixed, "y", "g", test="fisher")["p"], rel=1e-12)


def test_headline_and_text_with_every_patient_with_pcr():
    rows = headline(_five(pcr=(True,) * 5), study=STUDY, min_events=5)
    (t,) = [r for r in rows if r["quantity"] == "pCR difference"]
    assert t["note"] == "not estimable: every patient had pCR" and "p" not in t
    text = manuscript(estimates(pd.DataFrame(rows)), study=STUDY, flow=FLOW)
    assert ("pCR was 100.0% (3/3) in IHC 3+ and 100.0% (2/2) in IHC 2+/ISH+; not compared "
            "(every patient had pCR).") in text
    assert f"DFS was not compared ({FEW_1})" in text
    assert "nan" not in text.lower() and "inf" not in text.replace("infinity", "")


def test_text_with_one_group_empty_says_so_and_the_abstract_is_not_empty():
    df = _five()
    df["her2_class"] = "3+"
    rows = headline(df, study=STUDY, min_events=5)
    text = manuscript(estimates(pd.DataFrame(rows)), study=STUDY,
                      flow={**FLOW, "received": 1, "analysed": 1})
    assert "Of 1 record received from 1 centre, 1 patient was analysed" in text
    assert "The groups were not compared: no IHC 2+/ISH+ patient was analysed." in text
    abstract = text.split("## Abstract, results sentences", 1)[1].strip()
    assert abstract == ("IHC 3+ and IHC 2+/ISH+ could not be compared on these data (no "
                        "IHC 2+/ISH+ patient was analysed).")


def _response_paths(tmp: Path, continuous: list[str]) -> dict:
    keys = {"pcr_rates": "rates", "pcr_logistic": "logistic", "pcr_within_groups": "within",
            "pcr_continuous": "continuous", "pcr_strata": "strata", "pcr_trend": "trend",
            "pcr_subgroups": "subgroups"}
    p: dict = {"in_analysis": str(tmp / "analysis.parquet")}
    for t, k in keys.items():
        for suffix, ext in (("", "csv"), ("_docx", "docx"), ("_html", "html")):
            p[f"out_{k}{suffix}"] = str(tmp / f"{t}.{ext}")
    p["out_tests"], p["out_mi"] = str(tmp / "pcr_tests.csv"), str(tmp / "pcr_mi.csv")
    p["out_png"], p["out_pdf"] = str(tmp / "pcr_rates.png"), str(tmp / "pcr_rates.pdf")
    p["out_forest_png"], p["out_forest_pdf"] = str(tmp / "forest.png"), str(tmp / "forest.pdf")
    p["out_dose_png"] = [str(tmp / f"dose_{v}.png") for v in continuous]
    p["out_dose_pdf"] = [str(tmp / f"dose_{v}.pdf") for v in continuous]
    return p


@pytest.mark.parametrize("pcr,why", [(True, "every patient had pCR"),
                                     (False, "no patient had pCR")])
def test_response_stage_with_constant_pcr_writes_every_output(tmp_path, pcr, why):
    """Before: 'response: outcome column pcr_int is constant' and no outputs (exit 1)."""
    from her2cohort.stages.params import load_study_config

    cfg = load_study_config(ROOT / "config/config.yaml")
    df = _five(pcr=(pcr,) * 5).assign(
        anti_her2=["single", "dual", "single", "dual", "single"], ct="T2", cn="N1",
        centre="JS01", ki67_group=">=20%", grade="3", age_group="40-59", stage="IIB",
        ish_ratio=[np.nan, 4.3, 6.0, 2.5, 3.1], her2_copies=[np.nan, 8.9, 12.2, 5.0, 6.1],
        her2_loss=pd.array([False, pd.NA, False, False, pd.NA], dtype="boolean"))
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype("string")
    df.to_parquet(tmp_path / "analysis.parquet", index=False)
    paths = _response_paths(tmp_path, list(cfg["pcr"]["continuous"]))
    assert run_with_config("response", cfg, **paths) == 0
    for v in paths.values():
        for f in (v if isinstance(v, list) else [v]):
            assert Path(f).stat().st_size > 0, f
    tests = pd.read_csv(paths["out_tests"])
    overall = tests[tests["subset"] == "all"].iloc[0]
    assert overall["test"] == "not tested" and np.isnan(overall["p"])
    assert overall["warning"] == f"not estimable: {why}"
    rates = pd.read_csv(paths["out_rates"])
    assert rates.loc[rates["subset"] == "all", "n"].tolist() == [3, 2]
    assert f"not tested (not estimable: {why})" in Path(paths["out_rates_html"]).read_text(
        "utf-8")
    # HER2 loss: nobody lost HER2 (3 re-tested): rates, and why there is no test
    out = {k: str(tmp_path / f"her2_loss.{k[4:]}") for k in ("out_csv", "out_docx",
                                                                  "out_html")}
    assert run_with_config("her2_loss", cfg, in_analysis=paths["in_analysis"], **out) == 0
    loss = pd.read_csv(out["out_csv"])
    assert loss["events"].tolist() == [0, 0] and loss["n"].tolist() == [2, 1]
    assert set(loss["warning"]) == {"not estimable: no patient had HER2 loss"}


# ------------------------------------------------------------------------------ JSON, Word
def test_provenance_json_refuses_non_finite_numbers(tmp_path):
    from her2cohort.stages import provenance

    raw = tmp_path / "raw.csv"
    raw.write_text("a\n1\n", "utf-8")
    cfg = {"survival": {"xmax_months": math.inf, "x": [math.nan, -math.inf, 1.5]}}
    out = tmp_path / "provenance.json"
    provenance.main(in_mappings=[], in_raw=[str(raw)], out_json=str(out), config=cfg,
                    git={"commit": None, "dirty": None})
    doc = _strict_json(out)
    assert doc["config"]["survival"] == {"xmax_months": ".inf", "x": [".nan", "-.inf", 1.5]}


def test_sensitivity_word_table_too_wide_still_written(tmp_path):
    """8 variants of a tiny cohort ('100.0 (100.0–100.0)' in every cell) did not fit A4
    landscape at 6 pt: the rule stopped. Narrower margins, else a page naming the HTML."""
    from docx import Document

    from her2cohort.stages import sensitivity_table

    rows = [{"variant": f"variant_number_{i}", "key": f"q{j}/g", "quantity": f"DFS at {j} "
             "months (%)", "group": "IHC 2+/ISH+: Trastuzumab + pertuzumab",
             "estimate": 100.0, "lower": 100.0, "upper": 100.0}
            for i in range(14) for j in range(3)]
    pd.DataFrame(rows).to_csv(tmp_path / "all.csv", index=False)
    out = {k: str(tmp_path / f"s.{k[4:]}") for k in ("out_csv", "out_html", "out_docx")}
    sensitivity_table.main(in_variants=str(tmp_path / "all.csv"), descriptions={},
                           simulated=True, **out)
    text = "\n".join(c.text for t in Document(out["out_docx"]).tables for r in t.rows
                     for c in r.cells)
    assert "s.html" in text or "100.0 (100.0–100.0)" in text


# ------------------------------------------------------------------------------ pipeline
# (name, data rows of the demo centre JS01, 0 = the first after the header): what each is
COHORTS = {
    # 5 IHC 3+ patients, no IHC 2+/ISH+, no DFS/OS/EFS event (all censored), one centre
    "five_one_group_no_events": [1, 2, 9, 12, 13],
    # 1 IHC 3+ and 1 IHC 2+/ISH+, neither with pCR nor HER2 loss, 1 DFS event (< 5), cT2 both
    "two_no_pcr_one_event": [1, 5],
}
_RUNS: dict[str, tuple[Path, subprocess.CompletedProcess]] = {}


def _project(work: Path, rows: list[int]) -> None:
    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    raw = ROOT / "data/demo/raw/JS01_SIMULATED_neoadjuvant_her2.csv"
    lines = raw.read_bytes().split(b"\n")
    (work / "data/demo/raw").mkdir(parents=True)
    (work / "data/demo/raw" / raw.name).write_bytes(
        b"\n".join([lines[0], *(lines[i + 1] for i in rows)]) + b"\n")
    cfg = yaml.safe_load((work / "config/config.yaml").read_text("utf-8"))
    cfg["centres"] = ["config/centres/JS01.yaml"]
    cfg["analyses"]["invitro"] = False  # clinical records only: no plates copied
    (work / "config/tiny.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    def get(name: str) -> Path:
        if name not in _RUNS:
            work = tmp_path_factory.mktemp(name)
            _project(work, COHORTS[name])
            env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
            env.pop("HER2COHORT_SALT", None)
            res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2",
                                  "--configfile", "config/tiny.yaml"], cwd=work,
                                 capture_output=True, text=True, check=False, env=env,
                                 timeout=1800)
            _RUNS[name] = (work, res)
        work, res = _RUNS[name]
        assert res.returncode == 0, res.stderr[-4000:]
        return work
    return get


def _no_traceback_and_strict_json(work: Path) -> None:
    for log in (work / "logs").glob("*.log"):
        text = log.read_text("utf-8")
        assert "Traceback" not in text and "internal error" not in text, log
    found = list((work / "results").rglob("*.json"))
    assert {p.name for p in found} >= {"summary.json", "provenance.json"}
    for p in found:
        _strict_json(p)
    for p in (work / "results").rglob("*.csv"):
        cells = pd.read_csv(p, dtype=str, keep_default_na=False).to_numpy().ravel()
        assert not {"inf", "-inf", "nan", "NaN"} & set(cells), p


@pytest.mark.e2e
def test_five_patients_one_group_no_events(tiny_run):
    work = tiny_run("five_one_group_no_events")
    _no_traceback_and_strict_json(work)
    res = work / "results"
    md = (res / "manuscript.md").read_text("utf-8")
    assert ("Of 5 records received from 1 centre, 5 patients were analysed: 5 IHC 3+ and 0 "
            "IHC 2+/ISH+") in md
    assert "The groups were not compared: no IHC 2+/ISH+ patient was analysed." in md
    assert md.rstrip().endswith("IHC 3+ and IHC 2+/ISH+ could not be compared on these "
                                "data (no IHC 2+/ISH+ patient was analysed).")
    rates = pd.read_csv(res / "tables/pcr_rates.csv")
    assert rates["status"].tolist() == ["skipped"]
    assert "fewer than two groups" in rates["reason"].item()
    for ep in ("dfs", "os", "efs"):
        for t in ("cox", "logrank", "km"):
            skipped = pd.read_csv(res / f"tables/{ep}_{t}.csv")
            assert "in 1 group(s), with 0 events" in skipped["reason"].item(), (ep, t)
    est = _strict_json(res / "summary.json")["estimates"]
    assert est["patients/ihc_2+_ish+"]["n"] == 0 and est["patients/ihc_3+"]["n"] == 5


@pytest.mark.e2e
def test_two_patients_no_pcr_and_one_event(tiny_run):
    """The issue's crashes: the response rule stopped on a constant pCR (and her2_loss on a
    constant HER2 loss); the headline reported a DFS hazard ratio the table refused."""
    work = tiny_run("two_no_pcr_one_event")
    _no_traceback_and_strict_json(work)
    res = work / "results"
    cox = pd.read_csv(res / "tables/dfs_cox.csv")
    assert cox["reason"].tolist() == [f"not estimable: {FEW_1}"]
    lr = pd.read_csv(res / "tables/dfs_logrank.csv")
    assert lr["p"].isna().all() and (lr["warning"] == f"{FEW_1}: test not reported").all()
    est = _strict_json(res / "summary.json")["estimates"]
    for key in ("dfs_hazard_ratio/ihc_2+_ish+_vs_ihc_3+",
                "adjusted_dfs_hazard_ratio/ihc_2+_ish+_vs_ihc_3+",
                "dfs_log_rank/ihc_2+_ish+_vs_ihc_3+"):
        assert est[key]["note"] == f"not estimable: {FEW_1}", key
        assert "estimate" not in est[key] and "p" not in est[key]
    assert est["pcr_difference/ihc_2+_ish+_vs_ihc_3+"]["note"] == (
        "not estimable: no patient had pCR")
    tests = pd.read_csv(res / "tables/pcr_tests.csv")
    assert tests["warning"].tolist() == ["not estimable: no patient had pCR"]
    loss = pd.read_csv(res / "tables/her2_loss.csv")
    assert set(loss["warning"]) == {"not estimable: no patient had HER2 loss"}
    notes = pd.read_csv(res / "tables/dfs_notes.csv")
    assert "Cox: 'ct' left out: only ['T2'] level observed" in set(
        notes["analysis"] + ": " + notes["note"])
    md = (res / "manuscript.md").read_text("utf-8")
    assert ("pCR (ypT0/is ypN0) was 0% (0/1) in IHC 3+ and 0% (0/1) in IHC 2+/ISH+; not "
            "compared (no patient had pCR) (Tables 3 and 4; Figure 2).") in md
    assert f"DFS was not compared ({FEW_1})." in md
    assert "No overall survival (OS; from surgery; event: death from any cause) event was " \
           "observed; OS was not compared." in md
    assert "hazard ratio" not in md and "log-rank p" not in md


def test_headline_odds_ratio_follows_the_ratio_rule(monkeypatch):
    """A pooled or ML odds ratio running off (5.3e15, CI 0-inf, seen in a 10-patient cohort)
    is not estimable in the headline too, never a number."""
    from her2cohort.stages import headline as hl

    def runaway(rows, *args, **kwargs):
        for r in rows:
            r.update(estimate=5.3e15, lower=0.0, upper=math.inf, p=1.0, test="Wald",
                     ci_method="Wald")

    monkeypatch.setattr(hl, "_complete_case_or", runaway)
    rows = headline(_five(), study=STUDY, min_events=5)
    (r,) = [r for r in rows if r["quantity"] == "pCR odds ratio"]
    assert np.isnan(r["estimate"]) and np.isnan(r["p"])
    assert r["note"].startswith("not estimable: the odds ratio runs to 0 or infinity")
    assert json.dumps(estimates(pd.DataFrame(rows)), allow_nan=False)
