"""The survival stage's Cox table (stages.survival: cox_table with term tests, the level
counts, render.display.cox_regression_display) against R: per variable the
likelihood-ratio p of all its levels (R anova for the univariable models, drop1 for the
multivariable model), hazard ratios, N and events per level (tests/r/cox_table.R on
survival::lung; a reference level that is not the sorted first)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rref
from her2cohort.render.display import cox_regression_display
from her2cohort.render.format import EN_DASH, format_estimate, format_p, plain_text
from her2cohort.stages.survival import _level_counts
from her2cohort.stats.cox import cox_table

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "r" / "cox_table"
R_SCRIPT = HERE / "r" / "cox_table.R"
REL = 5e-7
VARS = ["ecog", "sex", "age", "wt_loss"]
CAT = {"ecog": ["1", "0", "2"], "sex": ["male", "female"]}


def _r(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / name, keep_default_na=False, na_values=["NA"])


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    lung = pd.read_csv(HERE / "fixtures" / "r" / "kgroups" / "lung.csv")
    ecog = lung["ph_ecog"].map(lambda x: None if pd.isna(x) else str(int(x)))
    return pd.DataFrame({"time": lung["time"].astype(float), "status": lung["status"],
                         "ecog": ecog.astype(object),
                         "sex": np.where(lung["sex"] == 1, "male", "female").astype(object),
                         "age": lung["age"].astype(float),
                         "wt_loss": lung["wt_loss"].astype(float)})


@pytest.fixture(scope="module")
def table(data) -> pd.DataFrame:
    """What the stage builds: the univariable and multivariable models with their term
    tests, then the level counts."""
    parts = [cox_table(data, "time", "status", [v], categorical={v: CAT[v]} if v in CAT
                       else None, multivariable=False, term_tests=True) for v in VARS]
    multi = cox_table(data, "time", "status", VARS, categorical=CAT, term_tests=True)
    parts.append(multi[multi["model"] == "multivariable"])
    t = pd.concat(parts, ignore_index=True)
    _level_counts(t, data, "status", CAT)
    return t


@pytest.mark.rref
def test_r_script_reproduces_fixtures(tmp_path):
    exe = rref.rscript()
    proc = subprocess.run([exe, "--vanilla", str(R_SCRIPT), str(tmp_path)], cwd=HERE.parent,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    for name in ("lr.csv", "hr.csv", "counts.csv"):
        a, b = _r(name), pd.read_csv(tmp_path / name, keep_default_na=False,
                                      na_values=["NA"])
        assert list(a.columns) == list(b.columns) and a.shape == b.shape, name
        for col in a.columns:
            if pd.api.types.is_numeric_dtype(a[col]):
                np.testing.assert_allclose(b[col], a[col], rtol=1e-10, equal_nan=True,
                                           err_msg=f"{name}:{col}")
            else:
                assert a[col].tolist() == b[col].tolist(), (name, col)


def test_lr_p_per_variable_hr_and_counts_match_r(table):
    lr = _r("lr.csv")
    for r in lr.itertuples(index=False):
        got = table[(table["model"] == r.model) & (table["variable"] == r.variable)]
        assert len(got) and (got["lr_df"] == r.df).all(), (r.model, r.variable)
        np.testing.assert_allclose(got["lr_statistic"], r.statistic, rtol=REL)
        np.testing.assert_allclose(got["lr_p"], r.p, rtol=REL)
    hr = _r("hr.csv")
    term = {"ecog0": "ecog[0]", "ecog2": "ecog[2]", "sexfemale": "sex[female]",
            "age": "age", "wt_loss": "wt_loss"}
    for r in hr.itertuples(index=False):
        got = table[(table["model"] == r.model) & (table["term"] == term[r.term])].iloc[0]
        np.testing.assert_allclose([got["hr"], got["lower"], got["upper"], got["p"]],
                                   [r.hr, r.lower, r.upper, r.p], rtol=REL)
        assert (got["n"], got["nevent"]) == (r.n, r.events)
    counts = _r("counts.csv")
    uni = table[table["model"] == "univariable"]
    for r in counts.itertuples(index=False):
        rows = uni[(uni["variable"] == r.variable)
                   & ((uni["level"].astype(str) == str(r.level)) if r.level != "" else True)]
        assert (rows["level_n"] == r.n).all() and (rows["level_events"] == r.events).all()
    # the reference is the first configured level, not the sorted first
    ref = table[table["reference"].astype(bool)]
    assert set(ref["level"]) == {"1", "male"}


def test_display_is_the_logistic_layout_with_r_numbers(table):
    lr = _r("lr.csv").set_index(["model", "variable"])["p"]
    counts = _r("counts.csv")
    d = cox_regression_display(
        table, variable_labels={"ecog": "ECOG performance status", "sex": "Sex",
                                "age": "Age, years", "wt_loss": "Weight loss, kg"},
        level_labels={"ecog": {"0": "ECOG 0", "1": "ECOG 1", "2": "ECOG 2"},
                      "sex": {"male": "Male", "female": "Female"}},
        model_labels={"univariable": "Univariable", "multivariable": "Multivariable"})
    assert d.header[-1] == ["Characteristic", "N", "Events", "HR (95% CI)", "p-value",
                            "HR (95% CI)", "p-value"]
    assert d.header[0][3:] == ["Univariable"] * 2 + ["Multivariable"] * 2
    rows = {r[0]: r for r in ([plain_text(c, marker="^") for c in row] for row in d.cells)}
    # one likelihood-ratio p per variable, on its row; none on the level rows
    p_uni = format_p(lr[("univariable", "ecog")])
    assert rows["ECOG performance status"] == [
        "ECOG performance status", "", "", "", p_uni + "^a", "",
        format_p(lr[("multivariable", "ecog")]) + "^a"]
    n1 = counts[(counts["variable"] == "ecog") & (counts["level"] == "1")].iloc[0]
    assert rows["ECOG 1"] == ["ECOG 1", str(n1["n"]), str(n1["events"]), "1 (reference)", "",
                              "1 (reference)", ""]
    hr = _r("hr.csv").set_index(["model", "term"])
    r2 = hr.loc[("univariable", "ecog2")]
    assert rows["ECOG 2"][3] == format_estimate(r2["hr"], r2["lower"], r2["upper"], 2)
    assert rows["ECOG 2"][4] == "" and EN_DASH in rows["ECOG 2"][3]
    assert rows["Male"][3] == "1 (reference)"
    wl = counts[counts["variable"] == "wt_loss"].iloc[0]
    assert rows["Weight loss, kg"][1:3] == [str(wl["n"]), str(wl["events"])]
    assert rows["Weight loss, kg"][4] == format_p(lr[("univariable", "wt_loss")]) + "^a"
    assert d.footnotes[0].endswith("Likelihood-ratio test of the variable, all its levels "
                                   "jointly (R drop1 / anova for coxph)")
    assert any("Multivariable model: n = 212 of 227 complete cases, 150 events" in f
               for f in d.footnotes)


def test_display_without_lr_tests_shows_the_wald_p_of_each_level(data):
    """Robust variances: R gives no LR test, so each level keeps its Wald p."""
    t = cox_table(data, "time", "status", ["ecog"], categorical={"ecog": CAT["ecog"]},
                  multivariable=False, robust=True)
    _level_counts(t, data, "status", CAT)
    d = cox_regression_display(t)
    rows = [[plain_text(c, marker="^") for c in row] for row in d.cells]
    assert rows[0] == ["ecog", "", "", "", ""]
    assert rows[1][3:] == ["1 (reference)", ""]
    want = t[t["term"] == "ecog[2]"].iloc[0]
    assert rows[3][4] == format_p(want["p"]) + "^a"
    assert "Wald" in d.footnotes[0]
