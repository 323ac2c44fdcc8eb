"""Tests for her2cohort.stats.table1 (tableone-style baseline table)."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats.table1 import (
    TEST_ANOVA,
    TEST_CHISQ,
    TEST_CHISQ_SMALL,
    TEST_FISHER,
    TEST_KRUSKAL,
    TEST_WELCH,
    TEST_WILCOXON,
    fisher_exact_rxc,
    format_p,
    smd_categorical,
    smd_continuous,
    table_footnotes,
    table_one,
)

# --------------------------------------------------------------------------- helpers


def run_r(code: str) -> list[float]:
    """Run R code that cat()s numbers separated by newlines; return them as floats."""
    if shutil.which("Rscript") is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("Rscript is required when CI is set but was not found on PATH")
        pytest.skip("Rscript not found on PATH: R reference comparison skipped")
    res = subprocess.run(
        ["Rscript", "--vanilla", "-e", code], capture_output=True, text=True, check=False,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return [float(v) for v in res.stdout.split()]


def r_vec(x) -> str:
    vals = []
    for v in x:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            vals.append("NA")
        elif isinstance(v, str):
            vals.append(f'"{v}"')
        else:
            vals.append(repr(float(v)))
    return "c(" + ", ".join(vals) + ")"


def row(t: pd.DataFrame, variable: str, level: str | None = None) -> pd.Series:
    if level is None:
        sel = (t["variable"] == variable) & (t["row_type"].isin(["header", "n"]))
    else:
        sel = (t["variable"] == variable) & (t["level"] == level) & (t["row_type"] == "level")
    out = t.loc[sel]
    assert len(out) == 1, (variable, level)
    return out.iloc[0]


@pytest.fixture
def small_df() -> pd.DataFrame:
    # group A: 4 patients, group B: 6 patients (one with missing hr and age)
    return pd.DataFrame(
        {
            "grp": ["A"] * 4 + ["B"] * 6,
            "hr": ["pos", "pos", "neg", "pos", "neg", "neg", "pos", "neg", None, "neg"],
            "age": [30.0, 40.0, 50.0, 60.0, 20.0, 30.0, 40.0, 50.0, np.nan, 70.0],
        }
    )


SMALL_VARS = [
    {"name": "age", "label": "Age, years", "type": "continuous"},
    {"name": "hr", "label": "HR status", "type": "categorical", "levels": ["pos", "neg"]},
]


# --------------------------------------------------------------------------- counts & format


def test_structure_counts_and_percentages(small_df):
    t = table_one(small_df, "grp", SMALL_VARS, group_order=["B", "A"])
    assert list(t.columns[:11]) == [
        "row_type", "variable", "label", "level", "overall", "B", "A", "p", "test", "smd",
        "missing",
    ]
    for c in ["p_value", "smd_value", "n_overall", "n_A", "n_B", "pct_A", "mean_B", "q3_A"]:
        assert c in t.columns
    assert list(t["row_type"]) == ["n", "header", "header", "level", "level"]

    n = t.iloc[0]
    assert (n["variable"], n["overall"], n["A"], n["B"]) == ("n", "10", "4", "6")
    assert (n["n_overall"], n["n_A"], n["n_B"]) == (10, 4, 6)

    hr = row(t, "hr")
    assert hr["missing"] == 1
    assert (hr["n_overall"], hr["n_A"], hr["n_B"]) == (9, 4, 5)  # non-missing
    pos = row(t, "hr", "pos")
    neg = row(t, "hr", "neg")
    assert (pos["n_A"], pos["n_B"], pos["n_overall"]) == (3, 1, 4)
    assert (neg["n_A"], neg["n_B"], neg["n_overall"]) == (1, 4, 5)
    assert pos["pct_A"] == pytest.approx(75.0)
    assert pos["pct_B"] == pytest.approx(20.0)  # % of non-missing (1/5)
    assert pos["pct_overall"] == pytest.approx(100 * 4 / 9)
    assert pos["A"] == "3 (75.0)"
    assert pos["B"] == "1 (20.0)"
    assert pos["overall"] == "4 (44.4)"
    assert neg["B"] == "4 (80.0)"


def test_continuous_summaries(small_df):
    t = table_one(small_df, "grp", SMALL_VARS, group_order=["A", "B"], nonnormal=())
    age = row(t, "age")
    assert age["level"] == "mean (SD)"
    assert age["missing"] == 1
    assert age["n_B"] == 5
    a = np.array([30.0, 40, 50, 60])
    assert age["mean_A"] == pytest.approx(45.0)
    assert age["sd_A"] == pytest.approx(a.std(ddof=1))
    assert age["A"] == f"45.0 ({a.std(ddof=1):.1f})"  # "45.0 (12.9)"
    assert age["A"] == "45.0 (12.9)"
    # R quantile type 7 for the medians/quartiles
    assert (age["median_B"], age["q1_B"], age["q3_B"]) == (40.0, 30.0, 50.0)
    assert age["test"] == TEST_WELCH

    t2 = table_one(small_df, "grp", SMALL_VARS, group_order=["A", "B"], nonnormal=["age"],
                   digits=2)
    age2 = row(t2, "age")
    assert age2["level"] == "median [Q1, Q3]"
    assert age2["A"] == "45.00 [37.50, 52.50]"
    assert age2["B"] == "40.00 [30.00, 50.00]"
    assert age2["test"] == TEST_WILCOXON


def test_levels_default_order_and_categorical_dtype():
    df = pd.DataFrame({"g": ["x", "y"] * 5, "v": ["b", "a", "c", "a", "b", "b", "a", "c", "a", "b"]})
    t = table_one(df, "g", [{"name": "v", "type": "categorical"}])
    assert list(t.loc[t.row_type == "level", "level"]) == ["a", "b", "c"]
    assert list(t.columns[5:7]) == ["x", "y"]  # sorted group order
    df["v"] = pd.Categorical(df["v"], categories=["c", "b", "a"])
    t = table_one(df, "g", [{"name": "v", "type": "categorical"}])
    assert list(t.loc[t.row_type == "level", "level"]) == ["c", "b", "a"]
    # a listed level that never occurs is shown with 0 and does not break the test
    t = table_one(df, "g", [{"name": "v", "type": "categorical", "levels": ["a", "b", "c", "d"]}])
    d = row(t, "v", "d")
    assert d["overall"] == "0 (0.0)"
    assert np.isfinite(row(t, "v")["p_value"])


def test_missing_group_rows_are_dropped(small_df):
    df = pd.concat([small_df, pd.DataFrame({"grp": [None], "hr": ["pos"], "age": [99.0]})])
    t = table_one(df, "grp", SMALL_VARS)
    assert t.iloc[0]["n_overall"] == 10
    assert row(t, "age")["mean_overall"] == pytest.approx(small_df["age"].mean())


def test_errors(small_df):
    with pytest.raises(ValueError, match="not in levels"):
        table_one(small_df, "grp", [{"name": "hr", "type": "categorical", "levels": ["pos"]}])
    with pytest.raises(ValueError, match="group_order"):
        table_one(small_df, "grp", SMALL_VARS, group_order=["A"])
    with pytest.raises(ValueError, match="type"):
        table_one(small_df, "grp", [{"name": "hr", "type": "binary"}])
    with pytest.raises(KeyError):
        table_one(small_df, "grp", [{"name": "nope", "type": "categorical"}])
    with pytest.raises(ValueError, match="nonnormal"):
        table_one(small_df, "grp", SMALL_VARS, nonnormal=["typo"])
    with pytest.raises(ValueError, match="categorical_test"):
        table_one(small_df, "grp", SMALL_VARS, categorical_test="exact")


def test_format_p():
    assert format_p(0.0004) == "<0.001"
    assert format_p(0.001) == "0.001"
    assert format_p(0.04449) == "0.044"
    assert format_p(0.5) == "0.500"
    assert format_p(float("nan")) == ""


# --------------------------------------------------------------------------- SMD


def test_smd_hand_computed():
    # continuous: m1 = 10, s1 = 2; m2 = 8, s2 = 4 -> 2 / sqrt((4 + 16) / 2) = 0.632456
    x1 = [8.0, 10.0, 12.0]  # mean 10, sd 2
    x2 = [4.0, 8.0, 12.0]  # mean 8, sd 4
    assert smd_continuous(x1, x2) == pytest.approx(2 / math.sqrt(10), abs=1e-12)
    assert smd_continuous(x2, x1) == pytest.approx(0.6324555320336759)  # absolute value
    # binary: p1 = 0.5, p2 = 0.2 -> 0.3 / sqrt((0.25 + 0.16) / 2) = 0.662589
    assert smd_categorical([50, 50], [80, 20]) == pytest.approx(0.3 / math.sqrt(0.205))
    assert smd_categorical([50, 50], [80, 20]) == pytest.approx(0.6625891564490792)
    # identical distributions -> 0; the first level is the reference and is dropped
    assert smd_categorical([10, 20, 30], [20, 40, 60]) == pytest.approx(0.0)
    # three levels, hand computed: T = (0.3, 0.5), C = (0.5, 0.3) (first level 0.2 both)
    t, c = np.array([0.3, 0.5]), np.array([0.5, 0.3])
    s = (np.diag(t) - np.outer(t, t) + np.diag(c) - np.outer(c, c)) / 2
    d = t - c
    expected = math.sqrt(d @ np.linalg.inv(s) @ d)
    assert smd_categorical([20, 30, 50], [20, 50, 30]) == pytest.approx(expected)
    # S = [[0.23, -0.15], [-0.15, 0.23]] -> d'S^-1 d = 0.08 / 0.38 -> sqrt = 0.458831
    assert expected == pytest.approx(math.sqrt(0.08 / 0.38))


def test_smd_in_table_and_missing_excluded(small_df):
    t = table_one(small_df, "grp", SMALL_VARS, group_order=["A", "B"])
    # hr: A = 3 pos / 1 neg, B = 1 pos / 4 neg (missing excluded)
    pa, pb = 0.75, 0.2
    exp = abs(pa - pb) / math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / 2)
    assert row(t, "hr")["smd_value"] == pytest.approx(exp)
    assert row(t, "hr")["smd"] == f"{exp:.3f}"
    a = np.array([30.0, 40, 50, 60])
    b = np.array([20.0, 30, 40, 50, 70])
    exp_c = abs(a.mean() - b.mean()) / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    assert row(t, "age")["smd_value"] == pytest.approx(exp_c)


def test_smd_na_with_three_groups():
    df = pd.DataFrame({"g": list("abc") * 10, "x": np.arange(30.0), "c": ["u", "v"] * 15})
    t = table_one(df, "g", [{"name": "x", "type": "continuous"},
                            {"name": "c", "type": "categorical"}])
    assert t["smd_value"].isna().all()
    assert (t["smd"] == "").all()
    assert row(t, "x")["test"] == TEST_ANOVA
    t = table_one(df, "g", [{"name": "x", "type": "continuous"}], nonnormal=["x"])
    assert row(t, "x")["test"] == TEST_KRUSKAL


# --------------------------------------------------------------------------- test choice


def _cat_df(table: list[list[int]], groups=("g1", "g2")) -> pd.DataFrame:
    """Patients from a level x group count table."""
    rows = []
    for i, counts in enumerate(table):
        for j, k in enumerate(counts):
            rows += [{"grp": groups[j], "v": f"L{i}"}] * k
    return pd.DataFrame(rows)


def test_auto_test_choice():
    big = _cat_df([[30, 20], [25, 40]])
    t = table_one(big, "grp", [{"name": "v", "type": "categorical"}])
    assert row(t, "v")["test"] == TEST_CHISQ
    small = _cat_df([[2, 9], [8, 1]])  # min expected count 4.5
    t = table_one(small, "grp", [{"name": "v", "type": "categorical"}])
    assert row(t, "v")["test"] == TEST_FISHER
    t = table_one(small, "grp", [{"name": "v", "type": "categorical"}], categorical_test="chisq")
    assert row(t, "v")["test"] == TEST_CHISQ_SMALL
    t = table_one(big, "grp", [{"name": "v", "type": "categorical", "test": "fisher"}])
    assert row(t, "v")["test"] == TEST_FISHER
    # 3 x 3 table with small expected counts: exact Fisher too (the old enumeration had a
    # cap and silently fell back to chi-square here); p = R fisher.test, see
    # tests/fixtures/r/exact/fisher.csv (id t3x3)
    r3 = _cat_df([[2, 5, 1], [4, 1, 3], [1, 2, 6]], groups=("a", "b", "c"))
    t = table_one(r3, "grp", [{"name": "v", "type": "categorical"}])
    assert row(t, "v")["test"] == TEST_FISHER
    assert row(t, "v")["p_value"] == pytest.approx(0.091388183356513109, rel=5e-7)
    # R x 2 with small expected counts: exact Fisher
    r2 = _cat_df([[2, 5], [4, 1], [1, 2]])
    t = table_one(r2, "grp", [{"name": "v", "type": "categorical"}])
    assert row(t, "v")["test"] == TEST_FISHER


def test_fisher_rxc_agrees_with_scipy_2x2_and_is_symmetric():
    from scipy import stats

    tab = np.array([[13, 55], [6, 43]])
    assert fisher_exact_rxc(tab) == pytest.approx(stats.fisher_exact(tab).pvalue)
    t3 = np.array([[3, 1], [10, 2], [40, 20]])
    assert fisher_exact_rxc(t3) == pytest.approx(fisher_exact_rxc(t3.T), rel=1e-12)
    assert fisher_exact_rxc(t3) == pytest.approx(fisher_exact_rxc(t3[:, ::-1]), rel=1e-12)
    # any R x C table now has an exact p-value (was None); R fisher.test, see
    # tests/fixtures/r/exact/fisher.csv (id t3x3_1to9)
    assert fisher_exact_rxc(np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])) == pytest.approx(
        0.98879343567895828, rel=5e-7)
    assert fisher_exact_rxc(np.array([[5, 0], [3, 0]])) == 1.0


def test_study_pcr_example():
    """docs/study.md: 13/68 vs 6/49 -> Pearson 0.320, Fisher 0.447."""
    df = _cat_df([[13, 6], [55, 43]], groups=("TH+P", "TH"))
    v = [{"name": "v", "type": "categorical"}]
    chi = row(table_one(df, "grp", v, categorical_test="chisq"), "v")
    fis = row(table_one(df, "grp", v, categorical_test="fisher"), "v")
    assert chi["p"] == "0.320"
    assert fis["p"] == "0.447"


# --------------------------------------------------------------------------- against R


@pytest.fixture(scope="module")
def r_data() -> pd.DataFrame:
    rng = np.random.default_rng(20240501)
    n1, n2 = 70, 45
    g = np.array(["3+"] * n1 + ["2+"] * n2)
    df = pd.DataFrame(
        {
            "g": g,
            "age": np.round(np.r_[rng.normal(50, 9, n1), rng.normal(54, 13, n2)], 1),
            "ki67": np.r_[rng.integers(5, 90, n1), rng.integers(5, 60, n2)].astype(float),
            "hr": rng.choice(["neg", "pos"], n1 + n2, p=[0.45, 0.55]),
            "stage": rng.choice(["I", "II", "III"], n1 + n2, p=[0.15, 0.55, 0.30]),
            "rare": rng.choice(["no", "yes"], n1 + n2, p=[0.93, 0.07]),
            "ct": rng.choice(["T1", "T2", "T3", "T4"], n1 + n2, p=[0.1, 0.5, 0.3, 0.1]),
        }
    )
    df.loc[[3, 17, 80], "age"] = np.nan
    df.loc[[5, 90], "stage"] = None
    return df


R_VARS = [
    {"name": "age", "label": "Age", "type": "continuous"},
    {"name": "ki67", "label": "Ki-67", "type": "continuous"},
    {"name": "hr", "label": "HR", "type": "categorical", "levels": ["neg", "pos"]},
    {"name": "stage", "label": "Stage", "type": "categorical", "levels": ["I", "II", "III"]},
    {"name": "rare", "label": "Rare", "type": "categorical", "levels": ["no", "yes"]},
    {"name": "ct", "label": "cT", "type": "categorical", "levels": ["T1", "T2", "T3", "T4"]},
]

R_SMD = r"""
ginv <- function(X, tol = sqrt(.Machine$double.eps)) {  # as MASS::ginv
  s <- svd(X); pos <- s$d > max(tol * s$d[1L], 0)
  s$v[, pos, drop = FALSE] %*% ((1 / s$d[pos]) * t(s$u[, pos, drop = FALSE]))
}
smd_cat <- function(x, g, lv, gl) {  # tableone StdDiffMulti (Yang & Dalton 2012)
  ok <- !is.na(x); x <- factor(x[ok], levels = lv); g <- factor(g[ok], levels = gl)
  p <- prop.table(table(g, x), 1)[, -1, drop = FALSE]
  T <- p[1, ]; C <- p[2, ]
  S <- (diag(T, length(T)) - outer(T, T) + diag(C, length(C)) - outer(C, C)) / 2
  sqrt(drop(t(T - C) %*% ginv(S) %*% (T - C)))
}
smd_cont <- function(x, g, gl) {
  a <- x[g == gl[1] & !is.na(x)]; b <- x[g == gl[2] & !is.na(x)]
  abs(mean(a) - mean(b)) / sqrt((var(a) + var(b)) / 2)
}
"""


@pytest.mark.rref
def test_p_values_and_smd_match_r(r_data):
    gl = ["3+", "2+"]
    t = table_one(r_data, "g", R_VARS, group_order=gl, nonnormal=["ki67"])
    code = R_SMD + f"""
g <- {r_vec(r_data["g"])}
gl <- c("3+", "2+")
age <- {r_vec(r_data["age"])}
ki67 <- {r_vec(r_data["ki67"])}
hr <- {r_vec(r_data["hr"])}
stage <- {r_vec(r_data["stage"])}
rare <- {r_vec(r_data["rare"])}
ct <- {r_vec(r_data["ct"])}
tab <- function(x, lv) table(factor(x, levels = lv), factor(g, levels = gl))
out <- c(
  t.test(age[g == "3+"], age[g == "2+"])$p.value,
  wilcox.test(ki67[g == "3+"], ki67[g == "2+"], exact = FALSE, correct = TRUE)$p.value,
  chisq.test(tab(hr, c("neg", "pos")), correct = FALSE)$p.value,
  chisq.test(tab(stage, c("I", "II", "III")), correct = FALSE)$p.value,
  fisher.test(tab(rare, c("no", "yes")))$p.value,
  smd_cont(age, g, gl), smd_cont(ki67, g, gl),
  smd_cat(hr, g, c("neg", "pos"), gl), smd_cat(stage, g, c("I", "II", "III"), gl),
  smd_cat(rare, g, c("no", "yes"), gl), smd_cat(ct, g, c("T1", "T2", "T3", "T4"), gl),
  min(suppressWarnings(chisq.test(tab(rare, c("no", "yes")), correct = FALSE))$expected)
)
cat(sprintf("%.17g", out), sep = "\\n")
"""
    r = run_r(code)
    assert r[11] < 5  # the "rare" variable really has a small expected count
    expected_tests = {
        "age": (TEST_WELCH, r[0]),
        "ki67": (TEST_WILCOXON, r[1]),
        "hr": (TEST_CHISQ, r[2]),
        "stage": (TEST_CHISQ, r[3]),
        "rare": (TEST_FISHER, r[4]),
    }
    for var, (test, p) in expected_tests.items():
        h = row(t, var)
        assert h["test"] == test, var
        assert h["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-14), var
    for var, smd in zip(["age", "ki67", "hr", "stage", "rare", "ct"], r[5:11], strict=True):
        assert row(t, var)["smd_value"] == pytest.approx(smd, rel=1e-9), var


@pytest.mark.rref
def test_fisher_rx2_matches_r():
    tables = [
        [[3, 1], [10, 2], [40, 20]],
        [[300, 60], [120, 50], [30, 5], [8, 2]],
        [[2, 0], [1, 3], [0, 4], [5, 1], [3, 3], [1, 0]],
        [[150, 30], [120, 40], [100, 20], [50, 15], [30, 8], [8, 4]],
        [[13, 6], [55, 43]],
    ]
    code = "out <- c(" + ", ".join(
        f"fisher.test(matrix({r_vec(np.array(tb).T.ravel())}, nrow = {len(tb)}))$p.value"
        for tb in tables
    ) + ')\ncat(sprintf("%.17g", out), sep = "\\n")\n'
    r = run_r(code)
    for tb, p in zip(tables, r, strict=True):
        assert fisher_exact_rxc(np.array(tb)) == pytest.approx(p, rel=1e-8), tb
        assert fisher_exact_rxc(np.array(tb).T) == pytest.approx(p, rel=1e-8), tb


@pytest.mark.rref
def test_three_group_tests_match_r():
    rng = np.random.default_rng(5)
    g = np.repeat(["a", "b", "c"], [20, 25, 15])
    x = np.round(rng.normal(0, 1, 60) + (g == "c"), 2)
    df = pd.DataFrame({"g": g, "x": x, "y": x})
    t = table_one(df, "g", [{"name": "x", "type": "continuous"},
                            {"name": "y", "type": "continuous"}], nonnormal=["y"])
    r = run_r(
        f"g <- {r_vec(g)}; x <- {r_vec(x)}\n"
        "cat(sprintf('%.17g', c(oneway.test(x ~ g, var.equal = TRUE)$p.value, "
        "kruskal.test(x ~ factor(g))$p.value)), sep = '\\n')"
    )
    assert row(t, "x")["p_value"] == pytest.approx(r[0], rel=1e-9)
    assert row(t, "y")["p_value"] == pytest.approx(r[1], rel=1e-9)


# --------------------------------------------------------------------------- determinism & docx


def test_csv_is_byte_identical(r_data, tmp_path):
    a = table_one(r_data, "g", R_VARS, group_order=["3+", "2+"], nonnormal=["ki67"])
    b = table_one(r_data.copy(), "g", R_VARS, group_order=["3+", "2+"], nonnormal=["ki67"])
    pa, pb = tmp_path / "a.csv", tmp_path / "b.csv"
    a.to_csv(pa, index=False)
    b.to_csv(pb, index=False)
    assert pa.read_bytes() == pb.read_bytes()


def test_to_docx(small_df, tmp_path):
    from docx import Document

    from her2cohort.render.docx import to_docx

    t = table_one(small_df, "grp", SMALL_VARS, group_order=["A", "B"])
    path = tmp_path / "table1.docx"
    to_docx(t, path, "Table 1. Baseline characteristics",
            [*table_footnotes(t), "Data are from a test."])
    doc = Document(str(path))
    paras = [p.text for p in doc.paragraphs]
    assert paras[0] == "Table 1. Baseline characteristics"
    assert "Data are from a test." in paras
    # each test named once, as the footnote of its superscript mark on the p-values
    test_notes = [p for p in paras if p[1:].startswith(("Welch", "Fisher"))]
    assert len(test_notes) == 2
    assert not any(p.startswith(f"{TEST_WELCH}:") for p in paras)
    assert any(p.startswith("SMD:") for p in paras)
    assert len(doc.tables) == 1
    cells = [[c.text for c in r.cells] for r in doc.tables[0].rows]
    nb = "\u00a0"
    assert cells[0] == ["Characteristic", f"Overall, N{nb}={nb}10", f"A, N{nb}={nb}4",
                        f"B, N{nb}={nb}6", "p-value", "SMD"]
    assert cells[1][0] == "Age, years, mean (SD)"
    assert cells[1][2] == "45.0 (12.9)"
    from her2cohort.render.format import format_p as style_p

    assert cells[1][4] == style_p(row(t, "age")["p_value"]) + "a"  # Welch: first test, "a"
    assert cells[3][4] == style_p(row(t, "hr")["p_value"]) + "b"
    assert cells[2] == ["Unknown", "1", "0", "1", "", ""]
    assert cells[3][0] == "HR status"
    assert cells[4][:4] == ["pos", "4 (44.4%)", "3 (75.0%)", "1 (20.0%)"]
    # no machine-readable columns leak into the Word table
    assert all(len(r) == 6 for r in cells)

    path2 = tmp_path / "again.docx"
    to_docx(t, path2, "Table 1. Baseline characteristics",
            [*table_footnotes(t), "Data are from a test."])
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(
        path2.read_bytes()
    ).digest()


def test_footnotes_name_every_test(r_data):
    t = table_one(r_data, "g", R_VARS, group_order=["3+", "2+"], nonnormal=["ki67"])
    notes = table_footnotes(t)
    for test in set(t["test"]) - {""}:
        assert any(n.startswith(test + ":") for n in notes), test
