"""Words from numbers (render/words.py) and the Results text (stages/summary.py manuscript) on
constructed studies: three groups, an OS-only study, a comparison by HR status, no treatment,
the hedging rule, a Wilson bound of 0, JSON without non-finite numbers, the demo's reference
sentences; and the headline of a three-group comparison against R (tests/r/headline_k3.R on
survival::lung, stored in tests/fixtures/r/headline/). All data here are constructed or R's own
(lung); none is a patient's."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.render import words as w
from her2cohort.stages.headline import headline
from her2cohort.stages.summary import estimates, manuscript
from her2cohort.stats.logistic import fit_logistic
from her2cohort.stats.proportions import compare_proportions
from her2cohort.stats.survival import cox, km_at, logrank

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "r" / "headline"
FLOW = {"received": 100, "centres": 1, "analysed": 90, "quarantined": 4, "excluded": 6}
FORBIDDEN = ("DFS", "isease-free", "trastuzumab", "pertuzumab", "ASCO", "HER2", "anti-HER2",
             "tended")

DEMO_STUDY = {
    "title": "HER2 IHC 2+/ISH+ versus IHC 3+", "simulated": True,
    "exposure": {"name": "HER2 group", "column": "her2_class",
                 "levels": [{"id": "3+", "label": "IHC 3+"},
                            {"id": "2+/ISH+", "label": "IHC 2+/ISH+"}]},
    "treatment": {"column": "anti_her2", "name": "Anti-HER2 therapy",
                  "arms": [{"id": "single", "label": "Trastuzumab", "drugs": ["trastuzumab"]},
                           {"id": "dual", "label": "Trastuzumab + pertuzumab",
                            "drugs": ["trastuzumab", "pertuzumab"]}]},
    "endpoints": {"dfs": {"name": "Disease-free survival", "abbreviation": "DFS",
                          "events": ["distant", "death"]}},
    "primary_endpoint": "pcr", "her2": {"name": "ASCO/CAP"}}


def _surv(rng, n, scale=100.0):
    t = rng.exponential(scale, n)
    c = rng.uniform(10, 120, n)
    return np.minimum(t, c), (t <= c).astype(int)


def _demo_frame() -> pd.DataFrame:
    """The demo's published counts (575 = 458 IHC 3+ + 117 IHC 2+/ISH+; pCR 211/458 and
    19/117; HR-positive 223/458 and 89/117; inside 2+/ISH+ pCR 13/68 dual vs 6/49 single)."""
    def block(cls, n, pcr, hrpos, arm):
        return pd.DataFrame({"her2_class": cls, "pcr": np.arange(n) < pcr,
                             "hr_status": np.where(np.arange(n) < hrpos, "positive",
                                                   "negative"), "anti_her2": arm})
    d = pd.concat([block("3+", 300, 150, 150, "dual"), block("3+", 158, 61, 73, "single"),
                   block("2+/ISH+", 68, 13, 50, "dual"), block("2+/ISH+", 49, 6, 39, "single")],
                  ignore_index=True)
    d["dfs_months"], d["dfs_event"] = _surv(np.random.default_rng(5), len(d))
    return d


def _text(df: pd.DataFrame, study: dict, **kw) -> tuple[list[dict], str]:
    """Headline rows and the manuscript without the statement of the hedging rule (which
    names every wording)."""
    rows = headline(df, study=study)
    text = manuscript(estimates(pd.DataFrame(rows)), study=study, flow=FLOW, **kw)
    assert w.HEDGING_RULE in text
    return rows, text.replace(w.HEDGING_RULE, "")


def _row(rows, key):
    (r,) = [r for r in rows if r["key"] == key]
    return r


# --- words ---------------------------------------------------------------------------------
def test_hedging_rule_boundaries():
    assert [w.evidence(p) for p in (0.001, 0.0499, 0.05, 0.07, 0.0999, 0.10, 0.91, 1.0)] == [
        "difference", "difference", "none", "none", "none", "none", "none", "none"]
    assert w.evidence(float("nan")) is None and w.evidence(None) is None
    assert [w.evidence(p, alpha=0.01) for p in (0.0099, 0.01, 0.03)] == [
        "difference", "none", "none"]
    assert "p < 0.05" in w.HEDGING_RULE and "p < 0.01" in w.hedging_rule(0.01)


def test_numbers_zero_lists_and_names():
    assert w.num(-0.0, 1) == "0" and w.num(1e-17, 1) == "0" and w.num(-1e-15, 2) == "0"
    assert w.num(0.04, 1) == "0.0"  # a small number that is not zero keeps its decimals
    assert w.pct(0.0) == "0%" and w.pct(46.069869) == "46.1%"
    assert w.ci_text(0.0, -1e-17, 26.5, 1, "%") == "0% (95% CI 0%\u201326.5%)"
    assert w.ci_text(-0.14, -0.61, 0.32) == "-0.14 (95% CI -0.61 to 0.32)"
    assert w.ci_text(float("inf"), 1.0, float("inf")) == "infinite (95% CI 1.00\u2013infinite)"
    assert w.join(["A"]) == "A" and w.join(["A", "B"]) == "A and B"
    assert w.join(["A", "B", "C"]) == "A, B and C"
    assert w.drugs_text("Trastuzumab + pertuzumab", ["trastuzumab", "pertuzumab"]) == \
        "trastuzumab plus pertuzumab"
    assert w.drugs_text("Lapatinib") == "lapatinib" and w.drugs_text("T-DXd") == "T-DXd"
    assert w.upper_first("pCR was") == "pCR was" and w.upper_first("overall") == "Overall"
    assert w.endpoint_first("Overall survival", "OS", "OS from surgery; event: death") == \
        "overall survival (OS; from surgery; event: death)"
    assert w.p_text(0.0004) == "p < 0.001" and w.p_text(0.3200004) == "p = 0.32"


# --- the demo ------------------------------------------------------------------------------
def test_demo_reference_sentences():
    d = _demo_frame()
    rows, text = _text(d, DEMO_STUDY, pcr_definition="ypT0/is ypN0", her2_guideline="2018",
                       her2_classified=True)
    assert "patients were analysed: 458 IHC 3+ and 117 IHC 2+/ISH+ (" in text
    assert ("Compared with IHC 3+, pCR (ypT0/is ypN0) was lower in IHC 2+/ISH+: 46.1% (211/458) "
            "vs 16.2% (19/117) (p < 0.001; odds ratio ") in text
    assert ("Within IHC 2+/ISH+, pCR was 12.2% (6/49) with trastuzumab and 19.1% (13/68) with "
            "trastuzumab plus pertuzumab; the groups did not differ significantly (p = 0.32) "
            "(Table 4).") in text
    assert ("Compared with IHC 3+, the proportion of HR-positive tumours was higher in "
            "IHC 2+/ISH+: 48.7% vs 76.1% (p < 0.001) (Table 1).") in text
    assert "HER2 status was classified by ASCO/CAP 2018." in text
    # the direction of the ratios is named once, the reference first everywhere
    assert text.count("compare IHC 2+/ISH+ with IHC 3+ (reference)") == 1
    assert "between IHC 2+/ISH+ and IHC 3+" not in text and "IHC 2+/ISH+ vs IHC 3+" not in text
    assert "(Figure 1)" in text and "(Tables 2 and 3; Figure 2)" in text and "[[" not in text
    assert "Pearson chi-square" in text and "log-rank" in text
    # the keys summary.json always had (tests/expected/published.yaml)
    est = estimates(pd.DataFrame(rows))
    assert est["pcr_by_anti_her2/ihc_2+_ish+_dual"]["events"] == 13
    assert est["pcr_by_anti_her2/ihc_2+_ish+_single"]["n"] == 49
    assert est["pcr_rate/ihc_2+_ish+"]["estimate"] == pytest.approx(100 * 19 / 117, rel=1e-12)
    for key in ("dfs_log_rank/ihc_2+_ish+_vs_ihc_3+", "dfs_hazard_ratio/ihc_2+_ish+_vs_ihc_3+",
                "hr_positive_test/ihc_2+_ish+_vs_ihc_3+", "pcr_difference/ihc_2+_ish+_vs_ihc_3+",
                "dfs_events/ihc_3+", "dfs_at_60_months/ihc_3+"):
        assert key in est, key
    # the p-value is Pearson's on 13/68 vs 6/49 (docs: 0.320)
    t = _row(rows, "pcr_by_anti_her2_test/ihc_2+_ish+_dual_vs_single")
    sub = d[d["her2_class"] == "2+/ISH+"].assign(y=lambda x: x["pcr"].astype(int))
    assert t["p"] == compare_proportions(sub, "y", "anti_her2", group_order=["single", "dual"])["p"]
    # HER2 wording only when HER2 was classified here
    _, text = _text(d, DEMO_STUDY, pcr_definition="ypT0/is ypN0", her2_guideline="2018")
    assert "ASCO" not in text


# --- three groups --------------------------------------------------------------------------
THREE = {"exposure": {"name": "Arm", "column": "arm",
                      "levels": [{"id": "a", "label": "Arm A"}, {"id": "b", "label": "Arm B"},
                                 {"id": "c", "label": "Arm C"}]},
         "endpoints": {"efs": {"name": "Event-free survival", "abbreviation": "EFS"}},
         "primary_endpoint": "efs"}


def _three() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 240
    arm = np.repeat(["a", "b", "c"], n // 3)
    t = rng.exponential(np.select([arm == "a", arm == "b"], [60.0, 90.0], 150.0))
    c = rng.uniform(10, 120, n)
    return pd.DataFrame({"arm": arm, "pcr": rng.random(n) < np.select(
        [arm == "a", arm == "b"], [0.2, 0.3], 0.5), "efs_months": np.minimum(t, c),
        "efs_event": (t <= c).astype(int)})


def test_three_groups_equal_the_stats_functions():
    df = _three()
    rows = headline(df, study=THREE)
    d = df.assign(group=df["arm"].map({"a": "Arm A", "b": "Arm B", "c": "Arm C"}))
    order = ["Arm A", "Arm B", "Arm C"]
    lr = logrank(d, "efs_months", "efs_event", "group", group_order=order)
    r = _row(rows, "efs_log_rank/across_arm_a_arm_b_arm_c")
    assert (r["p"], r["estimate"], r["test"]) == (lr["p"], lr["statistic"], lr["test"])
    fit = cox(d, "efs_months", "efs_event", ["group"], categorical={"group": order})
    for lab, (_, c) in zip(order[1:], fit.iterrows(), strict=True):
        h = _row(rows, f"efs_hazard_ratio/{w.slug(lab)}_vs_arm_a")
        assert (h["estimate"], h["lower"], h["upper"], h["p"]) == (
            c["hr"], c["lower"], c["upper"], c["p"])
    t = _row(rows, "efs_cox_likelihood_ratio_test/across_arm_a_arm_b_arm_c")
    assert t["p"] == fit.attrs["lr_p"] and "2 df" in t["test"]
    d["y"] = d["pcr"].astype(int)
    p = _row(rows, "pcr_difference/across_arm_a_arm_b_arm_c")
    assert p["p"] == compare_proportions(d, "y", "group", group_order=order)["p"]
    lf = fit_logistic(d, "y", ["group"], categorical={"group": order}, ci="profile-mass")
    coef = lf.coef[lf.coef["variable"] == "group"].set_index("level")
    for lab in order[1:]:
        o = _row(rows, f"pcr_odds_ratio/{w.slug(lab)}_vs_arm_a")
        assert o["estimate"] == coef.loc[lab, "odds_ratio"] and o["n"] == len(d)
    at = km_at(d, "efs_months", "efs_event", "group", at=[60], group_order=order)
    assert [_row(rows, f"efs_at_60_months/{w.slug(g)}")["estimate"] for g in order] == \
        list(100 * at["surv"])


def test_three_groups_in_sentences():
    rows, text = _text(_three(), THREE)
    assert "Arm A, Arm B and Arm C" in text
    assert "Hazard ratios versus Arm A: Arm B " in text and "Arm C " in text
    assert "odds ratios versus Arm A: Arm B " in text
    assert re.search(r"in Arm A, .* in Arm B and .* in Arm C", text)
    assert "Cox likelihood-ratio p" in text
    assert "likelihood ratio, Cox model (2 df) for EFS" in text
    assert "Event-free survival (EFS; from surgery; event: death from any cause) differed " \
        "significantly across Arm A, Arm B and Arm C (log-rank p < 0.001) (Figure 3; " \
        "Table 3)." in text
    assert "compare each other group with Arm A (reference)" in text
    for word in FORBIDDEN[:-1]:
        assert word not in text, word


def test_adjusted_estimates_have_k_minus_1_rows():
    df = _three().assign(age=lambda x: np.linspace(30, 70, len(x)))
    rows = headline(df, study=THREE, adjusted={"missing": "complete_case",
                                               "pcr_covariates": ["age"],
                                               "cox_covariates": ["age"]})
    for q in ("Adjusted pCR odds ratio", "Adjusted EFS hazard ratio"):
        got = [r for r in rows if r["quantity"] == q]
        assert [r["group"] for r in got] == ["Arm B vs Arm A", "Arm C vs Arm A"]
        assert all(np.isfinite(r["estimate"]) and "adjusted for age" in r["note"] for r in got)
    d = df.assign(group=df["arm"].map({"a": "Arm A", "b": "Arm B", "c": "Arm C"}))
    fit = cox(d, "efs_months", "efs_event", ["group", "age"],
              categorical={"group": ["Arm A", "Arm B", "Arm C"]})
    got = [r["estimate"] for r in rows if r["quantity"] == "Adjusted EFS hazard ratio"]
    assert got == list(fit["hr"].iloc[:2])


# --- a study without what the reference study has ------------------------------------------
def test_os_only_study_has_no_pcr_no_drug_no_her2_words():
    rng = np.random.default_rng(2)
    n = 120
    os_m, os_e = _surv(rng, n)
    df = pd.DataFrame({"arm": np.repeat(["x", "y"], n // 2), "os_months": os_m,
                       "os_event": os_e, "hr_status": rng.choice(["positive", "negative"], n),
                       "anti_her2": "dual"})
    study = {"exposure": {"column": "arm", "levels": [{"id": "x", "label": "Control"},
                                                      {"id": "y", "label": "Exercise"}]},
             "treatment": None,
             "endpoints": {"os": {"name": "Overall survival", "abbreviation": "OS",
                                  "events": ["death"]}}, "primary_endpoint": "os"}
    rows, text = _text(df, study, her2_guideline="2018")
    assert not [r for r in rows if "pcr" in r["key"] or "anti" in r["key"]]
    assert "pCR" not in text and "odds ratio" not in text
    assert "Overall survival (OS; from surgery; event: death from any cause)" in text
    for word in FORBIDDEN:
        assert word not in text, word
    # the sentence about hazard-ratio intervals needs a hazard ratio
    df["os_event"] = 0
    _, text = _text(df, study)
    assert "hazard ratio" not in text.lower() and "Wald" not in text
    assert "No overall survival (OS; from surgery" in text


def test_comparison_by_hr_status_has_no_hr_positive_row():
    rng = np.random.default_rng(3)
    n = 100
    df = pd.DataFrame({"hr_status": np.repeat(["negative", "positive"], n // 2),
                       "pcr": rng.random(n) < 0.4})
    study = {"exposure": {"column": "hr_status",
                          "levels": [{"id": "negative", "label": "HR-negative"},
                                     {"id": "positive", "label": "HR-positive"}]},
             "endpoints": {}, "primary_endpoint": "pcr"}
    rows, text = _text(df, study)
    assert not [r for r in rows if r["key"].startswith("hr_positive")]
    assert "proportion of HR-positive" not in text and "100.0%" not in text
    assert "log-rank" not in text and "hazard" not in text and "survival" not in text


def test_no_treatment_means_no_within_group_comparison():
    d = _demo_frame()
    study = {**DEMO_STUDY, "treatment": None}
    rows, text = _text(d, study)
    assert not [r for r in rows if "anti_her2" in r["key"]]
    for word in ("trastuzumab", "pertuzumab", "Within", "anti-HER2"):
        assert word not in text, word


# --- hedging -------------------------------------------------------------------------------
def _est(p: float, hr: float) -> dict:
    """Two-group estimates as summary.json holds them (constructed: only the p and HR
    matter)."""
    vs = "b_vs_a"
    rec = lambda **k: k
    return {"patients/a": rec(n=50), "patients/b": rec(n=50),
            "os_events/a": rec(n=50, events=20, quantity="OS events"),
            "os_events/b": rec(n=50, events=22, quantity="OS events"),
            f"os_log_rank/{vs}": rec(p=p, test="log-rank (Mantel-Haenszel)"),
            f"os_hazard_ratio/{vs}": rec(estimate=hr, lower=hr / 2, upper=hr * 2, p=p,
                                         test="Wald", ci_method="Wald")}


OS_AB = {"exposure": {"column": "g", "levels": [{"id": "a", "label": "A"},
                                                {"id": "b", "label": "B"}]},
         "endpoints": {"os": {"name": "Overall survival", "abbreviation": "OS"}},
         "primary_endpoint": "os"}


def test_p_091_is_no_difference_without_direction():
    text = manuscript(_est(0.91, 1.08), study=OS_AB, flow=FLOW).replace(w.HEDGING_RULE, "")
    body = text.split("\n\n")[1] + text.split("## Abstract")[1]
    assert "Overall survival (OS; from surgery; event: death from any cause) did not differ " \
        "significantly between A and B (log-rank p = 0.91; hazard ratio" in body
    for word in ("tended", "worse", "better", "differed"):
        assert word not in body, word


def test_p_007_has_no_direction_and_p_003_states_it():
    text = manuscript(_est(0.07, 1.5), study=OS_AB, flow=FLOW).replace(w.HEDGING_RULE, "")
    assert "OS; from surgery; event: death from any cause) did not differ significantly " \
        "between A and B (log-rank p = 0.070; hazard ratio 1.50 (95% CI 0.75\u20133.00))" in text
    for word in ("tended", "worse", "better", "Compared with"):
        assert word not in text, word
    # the rule's level comes from the study (study.alpha): at 0.10, p = 0.07 states it
    text = manuscript(_est(0.07, 1.5), study={**OS_AB, "alpha": 0.1}, flow=FLOW)
    assert "Compared with A, overall survival (OS" in text and "was worse in B" in text
    assert "p < 0.1;" in text
    text = manuscript(_est(0.03, 0.6), study=OS_AB, flow=FLOW).replace(w.HEDGING_RULE, "")
    assert "was better in B (log-rank p = 0.030; hazard ratio 0.60" in text
    assert "tended" not in text
    # values in the order the sentence reads: A before B everywhere
    assert "20 in A and 22 in B" in text.replace("OS events in ", "in ")


def test_rate_hedging_and_wilson_zero():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 30, "pcr": [False] * 12 + list(
        rng.random(30) < 0.3)})
    study = {**OS_AB, "endpoints": {}, "primary_endpoint": "pcr"}
    rows, text = _text(df, study)
    r = _row(rows, "pcr_rate/a")
    assert r["events"] == 0 and abs(r["lower"]) < 1e-9
    assert "0% (0/12)" in text and "-0" not in text and "0.0%" not in text


# --- summary.json --------------------------------------------------------------------------
def test_json_has_no_non_finite_numbers():
    long = pd.DataFrame([{"key": "os_hazard_ratio/b_vs_a", "quantity": "OS hazard ratio",
                          "group": "B vs A", "estimate": np.inf, "lower": 1.2,
                          "upper": np.inf, "p": np.nan, "note": "may be infinite"},
                         {"quantity": "patients", "group": "IHC 2+/ISH+", "n": 117.0}])
    est = estimates(long)
    rec = est["os_hazard_ratio/b_vs_a"]
    assert rec["estimate"] is None and rec["upper"] is None and "p" not in rec
    assert "estimate, upper not finite (infinite): stored as null" in rec["note"]
    assert est["patients/ihc_2+_ish+"] == {"quantity": "patients", "group": "IHC 2+/ISH+",
                                           "n": 117}
    json.dumps(est, allow_nan=False)


# --- against R -----------------------------------------------------------------------------
def _lung3() -> tuple[pd.DataFrame, dict]:
    lung = pd.read_csv(HERE / "fixtures" / "r" / "km" / "lung.csv")
    lung = lung[lung["ph.ecog"].isin([0, 1, 2])].copy()
    lung["ecog"] = lung["ph.ecog"].astype(int).astype(str)
    lung["os_months"], lung["os_event"] = lung["time"], lung["event"]
    lung["pcr"] = lung["sex"] == 2  # a constructed binary outcome (as the R script)
    study = {"exposure": {"column": "ecog", "levels": [
        {"id": "0", "label": "ECOG 0"}, {"id": "1", "label": "ECOG 1"},
        {"id": "2", "label": "ECOG 2"}]},
        "endpoints": {"os": {"name": "Overall survival", "abbreviation": "OS"}},
        "primary_endpoint": "os"}
    return lung, study


def test_three_group_headline_equals_r():
    lung, study = _lung3()
    ref = pd.read_csv(FIX / "lung3.csv", dtype={"value": str}).set_index("key")["value"]
    ref = ref.astype(float)
    rows = headline(lung, study=study, landmark=365)
    rel = lambda a, b: abs(a - b) <= 5e-7 * abs(b)
    across = "across_ecog_0_ecog_1_ecog_2"
    lr = _row(rows, f"os_log_rank/{across}")
    assert rel(lr["estimate"], ref["logrank_chisq"]) and rel(lr["p"], ref["logrank_p"])
    for j in (1, 2):
        h = _row(rows, f"os_hazard_ratio/ecog_{j}_vs_ecog_0")
        for ours, key in ((h["estimate"], "hr"), (h["lower"], "hr_lower"),
                          (h["upper"], "hr_upper"), (h["p"], "hr_p")):
            assert rel(ours, ref[f"{key}_{j}"]), (key, j, ours)
        o = _row(rows, f"pcr_odds_ratio/ecog_{j}_vs_ecog_0")
        for ours, key in ((o["estimate"], "or"), (o["lower"], "or_lower"),
                          (o["upper"], "or_upper")):
            assert rel(ours, ref[f"{key}_{j}"]), (key, j, ours)
    t = _row(rows, f"os_cox_likelihood_ratio_test/{across}")
    assert rel(t["estimate"], ref["cox_lr_chisq"]) and rel(t["p"], ref["cox_lr_p"])
    for j in range(3):
        s = _row(rows, f"os_at_365_months/ecog_{j}")
        for ours, key in ((s["estimate"], "surv365"), (s["lower"], "surv365_lower"),
                          (s["upper"], "surv365_upper")):
            assert rel(ours / 100, ref[f"{key}_{j}"]), (key, j)
    assert rel(_row(rows, f"pcr_difference/{across}")["p"], ref["chisq_p"])


@pytest.mark.rref
def test_stored_headline_reference_is_what_r_gives_now():
    from rref import rscript

    exe = rscript()
    with tempfile.TemporaryDirectory(prefix="rref_headline_") as tmp:
        proc = subprocess.run([exe, "--vanilla", str(HERE / "r" / "headline_k3.R"),
                               str(HERE / "fixtures" / "r" / "km" / "lung.csv"), tmp],
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        new = pd.read_csv(Path(tmp) / "lung3.csv")
        old = pd.read_csv(FIX / "lung3.csv")
        pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-12, atol=0)


def test_summary_main_writes_json_and_text(tmp_path):
    """The rule's entry point: headline CSV, flow and per-endpoint follow-up tables in,
    summary.json (finite numbers, keys from the rows) and manuscript.md out."""
    from her2cohort.stages import summary

    d = _demo_frame()
    rows = headline(d, study=DEMO_STUDY)
    pd.DataFrame(rows).assign(variant="main").to_csv(tmp_path / "main.csv", index=False)
    pd.DataFrame([
        {"id": "received", "n_before": 600, "n_excluded": 0, "n_after": 600, "n_A": 300,
         "n_B": 300},
        {"id": "quarantined", "n_before": 600, "n_excluded": 10, "n_after": 590, "n_A": 295,
         "n_B": 295},
        {"id": "not_in_compared_groups", "n_before": 590, "n_excluded": 15, "n_after": 575,
         "n_A": 290, "n_B": 285}]).to_csv(tmp_path / "flow.csv", index=False)
    pd.DataFrame([{"endpoint": "DFS", "group": "all patients", "median": 51.25},
                  {"endpoint": "DFS", "group": "IHC 3+", "median": 50.0}]).to_csv(
        tmp_path / "dfs_followup.csv", index=False)
    summary.main(in_headline=str(tmp_path / "main.csv"), in_flow=str(tmp_path / "flow.csv"),
                 in_followup=[str(tmp_path / "dfs_followup.csv")],
                 out_json=str(tmp_path / "summary.json"), out_md=str(tmp_path / "m.md"),
                 study=DEMO_STUDY, pcr_definition="ypT0/is ypN0", her2_guideline="2018",
                 her2_classified=True)
    doc = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert doc["groups"] == ["IHC 3+", "IHC 2+/ISH+"] and doc["simulated"] is True
    assert doc["estimates"]["pcr_rate/ihc_3+"]["events"] == 211
    assert doc["choices"]["endpoints"]["dfs"]["abbreviation"] == "DFS"
    assert doc["followup"] == {"dfs": {"endpoint": "DFS", "group": "all patients",
                                       "median": 51.25}}
    text = (tmp_path / "m.md").read_text("utf-8")
    assert "Of 600 records received from 2 centres, 575 patients were analysed" in text
    assert "Median follow-up (reverse Kaplan-Meier) was 51.3 months for DFS." in text
    assert "SIMULATED" in text and "HER2 status was classified by ASCO/CAP 2018." in text
    # the numbered text in manuscript.md, the tokens in summary.json for the paper document
    assert "[[" not in text and "(Figure 1)" in text
    tokens = doc["text"]["manuscript"]
    assert "[[figure:flow_diagram]]" in tokens and "[[table:pcr_logistic]]" in tokens
    assert summary.resolve_text(tokens, doc["text"]["outputs"]) == text


def test_few_events_follow_the_tables_rule_and_no_infinite_ratio():
    """A tiny cohort (12 patients, 3 events, all in one group): the headline follows
    survival.min_events as the survival tables do (no log-rank, no hazard ratio, no adjusted
    hazard ratio) and the Results text says why instead of printing 'hazard ratio 0'."""
    study = {"title": "t", "exposure": {"name": "HR status", "column": "hr_status",
                                        "levels": ["negative", "positive"]},
             "endpoints": {"os": {"name": "Overall survival", "abbreviation": "OS",
                                  "events": ["death"]}}, "primary_endpoint": "os"}
    df = pd.DataFrame({"hr_status": ["negative"] * 7 + ["positive"] * 5,
                       "os_months": [5.0, 9, 12, 20, 30, 31, 40, 6, 14, 22, 35, 50],
                       "os_event": pd.array([1, 1, 1, 0, 0, 0, 0] + [0] * 5, dtype="Int8")})
    rows = headline(df, study=study, min_events=5)
    lr = next(r for r in rows if r["quantity"] == "OS log-rank")
    assert "p" not in lr and lr["note"] == ("not estimable: 3 event(s) < "
                                            "survival.min_events (5)")
    hr = next(r for r in rows if r["quantity"] == "OS hazard ratio")
    assert "not estimable" in hr["note"] and not np.isfinite(hr.get("estimate", np.nan))
    text = manuscript(estimates(pd.DataFrame(rows)), study=study, flow={**FLOW, "analysed": 12})
    assert "OS was not compared (3 event(s) < survival.min_events (5))" in text
    assert "hazard ratio 0" not in text and "log-rank p" not in text
    # with the rule off (min_events 1) the ratio still runs to 0: not estimable, not a number
    rows = headline(df, study=study, min_events=1)
    hr = next(r for r in rows if r["quantity"] == "OS hazard ratio")
    assert np.isnan(hr["estimate"]) and "runs to 0 or infinity" in hr["note"]
    assert json.dumps(estimates(pd.DataFrame(rows)), allow_nan=False)


def test_ordered_levels_get_a_trend_test_in_the_text():
    from her2cohort.stats.kgroups import logrank_trend, proportion_trend

    rng = np.random.default_rng(3)
    n = 300
    grade = rng.choice(["1", "2", "3"], n)
    df = pd.DataFrame({"grade": grade, "pcr": rng.random(n) < np.select(
        [grade == "1", grade == "2"], [0.15, 0.3], 0.45)})
    df["rfs_months"], df["rfs_event"] = _surv(rng, n)
    study = {"title": "t", "exposure": {"name": "Grade", "column": "grade",
                                        "levels": ["1", "2", "3"], "ordered": True},
             "endpoints": {"rfs": {"name": "Relapse-free survival", "abbreviation": "RFS",
                                   "events": ["distant", "death"]}}}
    rows = headline(df, study=study)
    trend = next(r for r in rows if r["quantity"] == "RFS log-rank trend")
    want = logrank_trend(df.assign(g=df["grade"]), "rfs_months", "rfs_event", "g",
                         levels=["1", "2", "3"]).iloc[0]
    assert trend["p"] == pytest.approx(want["p"], rel=1e-12)
    ptrend = next(r for r in rows if r["quantity"] == "pCR trend")
    want = proportion_trend(df.assign(y=df["pcr"].astype(int)), "y", "grade",
                            levels=["1", "2", "3"]).iloc[0]
    assert ptrend["p"] == pytest.approx(want["p"], rel=1e-12)
    text = manuscript(estimates(pd.DataFrame(rows)), study=study, flow=FLOW)
    assert "log-rank test for trend gave" in text and "test for trend in proportions" in text


# --- table and figure references, the numbering rule -------------------------------------
def test_reference_tokens_numbering_and_fallback():
    assert w.ref("table", "pcr_logistic") == "[[table:pcr_logistic]]"
    assert w.cite(["figure:dfs_km", "table:dfs_cox"]) == " ([[figure:dfs_km]]; [[table:dfs_cox]])"
    assert w.cite([]) == ""
    with pytest.raises(ValueError):
        w.ref("plot", "x")
    text = ("A" + w.cite(["figure:flow_diagram"]) + ". B" + w.cite(
        ["table:pcr_rates", "table:pcr_logistic", "figure:pcr_rates"]) + ". C"
        + w.cite(["table:not_made"]) + ". D" + w.cite(["table:not_made", "figure:dfs_km"])
        + ".")
    assert w.refs_in(text) == ["figure:flow_diagram", "table:pcr_rates", "table:pcr_logistic",
                               "figure:pcr_rates", "table:not_made", "figure:dfs_km"]
    # cited first (in order of first citation), then the others as listed; tables and
    # figures counted apart; a key not made gets no number
    outputs = ["figure:flow_diagram", "table:table1", "table:pcr_logistic", "table:pcr_rates",
               "figure:pcr_rates", "figure:dfs_km", "table:sensitivity"]
    numbers = w.figure_table_order(outputs, w.refs_in(text))
    assert numbers == {"figure:flow_diagram": "Figure 1", "table:pcr_rates": "Table 1",
                       "table:pcr_logistic": "Table 2", "figure:pcr_rates": "Figure 2",
                       "figure:dfs_km": "Figure 3", "table:table1": "Table 3",
                       "table:sensitivity": "Table 4"}
    assert w.resolve_refs(text, numbers) == (
        "A (Figure 1). B (Tables 1 and 2; Figure 2). C. D (Figure 3).")
    # unknown tokens are dropped, never printed, also outside a citation
    assert w.resolve_refs("see [[table:x]] and (p = 0.3) [[figure:y]].", {}) == \
        "see  and (p = 0.3) ."
    assert w.resolve_refs("x ([[table:a]]; [[table:b]]; [[table:c]]).",
                          {"table:a": "Table 1", "table:b": "Table 2", "table:c": "Table 5"}) \
        == "x (Tables 1, 2 and 5)."


def test_significant_digits_one_formatter():
    from her2cohort.render.format import format_sig

    assert [format_sig(x) for x in (0.012345, 1.2345, 123.45, 12345.6, 9.996, -0.5678)] == [
        "0.0123", "1.23", "123", "12,346", "10.0", "-0.568"]
    assert w.num_sig(0.31622) == "0.316" and w.num_sig(1000.0) == "1000"
    assert w.ci_text(2.0371, 1.6011, 2.592, sig=3) == "2.04 (95% CI 1.60\u20132.59)"
    assert w.ci_text(0.31622, 0.2891, 0.3472, sig=3) == "0.316 (95% CI 0.289\u20130.347)"
    assert w.ci_text(99.773, 81.439, 122.233, sig=3) == "99.8 (95% CI 81.4\u2013122.2)"


def _with_adjusted(est: dict, p_adj: float = 0.49) -> dict:
    return {**est, "adjusted_os_hazard_ratio/b_vs_a": {
        "estimate": 0.85, "lower": 0.53, "upper": 1.36, "p": p_adj, "test": "Wald",
        "ci_method": "Wald", "note": "adjusted for age, stage; missing covariate values: "
        "none in the covariates used"}}


def test_adjusted_beside_crude_and_the_methods_paragraph():
    settings = {"survival": {"ci_type": "log", "min_events": 5,
                             "cox": {"covariates": [{"name": "group"},
                                                    {"name": "age", "label": "Age, years"},
                                                    {"name": "stage", "label": "Stage"}],
                                     "ties": "efron", "zph_transform": "km"},
                             "imputation": {"m": 20, "seed": 7, "iterations": 10}},
                "missing_covariates": "complete_case",
                "descriptions": {"main": "main", "mi": "Adjusted HR with missing covariates "
                                                      "imputed"}}
    text = manuscript(_with_adjusted(_est(0.47, 1.18)), study=OS_AB, flow=FLOW,
                      settings=settings)
    assert ("did not differ significantly between A and B (log-rank p = 0.47; crude hazard "
            "ratio 1.18 (95% CI 0.59\u20132.36); adjusted hazard ratio 0.85 (95% CI "
            "0.53\u20131.36), p = 0.49) (Figure 2; Table 1).") in text
    methods = text.split("## Statistical methods\n\n", 1)[1].split("\n\n", 1)[0]
    for part in ("A and B were compared, with A as the reference", "significance level of 0.05",
                 "tests: log-rank (Mantel-Haenszel) for OS", "Wald for hazard ratios",
                 "Cox proportional-hazards models (Efron ties), crude and adjusted for age and "
                 "stage", "scaled Schoenfeld residuals", "fewer than 5 events",
                 "(complete case); a sensitivity analysis used multiple imputation by chained "
                 "equations (m = 20, 10 iterations, seed 7) pooled by Rubin's rules instead",
                 "Sensitivity analyses repeated the headline estimates with one change each: "
                 "Adjusted HR with missing covariates imputed (Table 2).",
                 w.HEDGING_RULE, "Python", "against R"):
        assert part in methods, part
    for word in ("pCR", "odds ratio", "weights", "HER2", "Wilson"):
        assert word not in methods, word
    # the abstract cites nothing
    assert "(Figure" not in text.split("## Abstract")[1]


def test_planned_outputs_follow_the_analyses_and_study():
    from her2cohort.stages.summary import planned_outputs
    from her2cohort.study.definition import from_dict

    demo = planned_outputs(from_dict(DEMO_STUDY))
    assert demo[0] == "figure:flow_diagram" and "table:pcr_within_groups" in demo
    assert "figure:dfs_km_treatment" in demo and "table:invitro_ic50" not in demo
    os_only = planned_outputs(from_dict(OS_AB), {"pcr": False, "her2_loss": False},
                              sensitivity=False)
    assert os_only == ["figure:flow_diagram", "table:table1", "figure:os_km", "table:os_cox"]
