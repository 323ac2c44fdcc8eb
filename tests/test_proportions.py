"""her2cohort.stats.proportions: textbook values and R (stats) cross-checks.

R references: prop.test(correct = FALSE)$conf.int (Wilson), binom.test()$conf.int
(Clopper-Pearson), chisq.test(correct = FALSE / TRUE), fisher.test (p, conditional
MLE odds ratio and its exact CI).  One Rscript call for the module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rref
from her2cohort.stats import proportions as pr
from her2cohort.stats.exact import R_UNIROOT_TOL, fisher_2x2
from rref import run_r

# dataset -> list of (group, events, n); groups sort in the listed order
COUNTS: dict[str, list[tuple[str, int, int]]] = {
    "tb1": [("g1", 13, 68), ("g2", 6, 49)],
    "tb2": [("g1", 211, 458), ("g2", 19, 117)],
    "k3": [("g1", 12, 40), ("g2", 20, 45), ("g3", 5, 30)],
    "small": [("g1", 1, 6), ("g2", 4, 7)],
    "zero": [("g1", 0, 10), ("g2", 12, 12)],
}
TWO_BY_TWO = [k for k, v in COUNTS.items() if len(v) == 2]


def expand(counts: list[tuple[str, int, int]]) -> pd.DataFrame:
    """Individual-level data from (group, events, n) counts, deterministically shuffled."""
    rows = [{"group": g, "pcr": int(i < ev)} for g, ev, n in counts for i in range(n)]
    df = pd.DataFrame(rows)
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)


DATA = {name: expand(c) for name, c in COUNTS.items()}

R_CODE = r"""
# fisher.test() finds the conditional MLE and its CI with uniroot()'s default
# tol (~1.2e-4), so R's own estimate is only good to ~1e-4 (worse after the
# 1/t inversion used for large odds ratios).  fisher_tight is the very same R
# code with uniroot(tol = 1e-12): the precise reference.
fisher_tight <- fisher.test
environment(fisher_tight) <- list2env(
  list(uniroot = function(f, interval, ...) stats::uniroot(f, interval, ..., tol = 1e-12)),
  parent = environment(fisher.test))
d <- rref_in("long")
rates <- list(); tests <- list(); ors <- list()
for (nm in unique(d$dataset)) {
  x <- d[d$dataset == nm, ]
  lv <- sort(unique(x$group))
  tab <- table(factor(x$group, levels = lv), factor(x$pcr, levels = c(1, 0)))
  for (g in lv) {
    ev <- tab[g, 1]; n <- sum(tab[g, ])
    w <- prop.test(ev, n, correct = FALSE)$conf.int
    cp <- binom.test(ev, n)$conf.int
    rates[[paste(nm, g)]] <- data.frame(dataset = nm, group = g, n = n, events = ev,
                                        wilson_lower = w[1], wilson_upper = w[2],
                                        cp_lower = cp[1], cp_upper = cp[2])
  }
  pe <- suppressWarnings(chisq.test(tab, correct = FALSE))
  tests[[paste(nm, "pearson")]] <- data.frame(dataset = nm, test = "pearson",
                                              statistic = unname(pe$statistic),
                                              df = unname(pe$parameter), p = pe$p.value,
                                              min_expected = min(pe$expected))
  if (length(lv) == 2) {
    ya <- suppressWarnings(chisq.test(tab, correct = TRUE))
    tests[[paste(nm, "yates")]] <- data.frame(dataset = nm, test = "yates",
                                              statistic = unname(ya$statistic),
                                              df = unname(ya$parameter), p = ya$p.value,
                                              min_expected = min(ya$expected))
    fi <- fisher.test(tab)
    tests[[paste(nm, "fisher")]] <- data.frame(dataset = nm, test = "fisher", statistic = NA,
                                               df = NA, p = fi$p.value,
                                               min_expected = min(pe$expected))
    # odds ratio of the second group vs the first (reference): rows (g2, g1)
    rtab <- tab[c(2, 1), ]
    fr <- fisher.test(rtab)
    ft <- fisher_tight(rtab)
    a <- rtab[1, 1]; b <- rtab[1, 2]; c <- rtab[2, 1]; dd <- rtab[2, 2]
    or_w <- (a * dd) / (b * c)
    se_w <- sqrt(1 / a + 1 / b + 1 / c + 1 / dd)
    ors[[nm]] <- data.frame(dataset = nm, cond = unname(fr$estimate),
                            cond_lower = fr$conf.int[1], cond_upper = fr$conf.int[2],
                            tight = unname(ft$estimate), tight_lower = ft$conf.int[1],
                            tight_upper = ft$conf.int[2], tight_p = ft$p.value, p = fr$p.value,
                            woolf = or_w, woolf_lower = exp(log(or_w) - qnorm(0.975) * se_w),
                            woolf_upper = exp(log(or_w) + qnorm(0.975) * se_w))
  }
}
rref_out(do.call(rbind, rates), "rates")
rref_out(do.call(rbind, tests), "tests")
rref_out(do.call(rbind, ors), "odds_ratios")
"""


@pytest.fixture(scope="module")
def r():
    long = pd.concat([df.assign(dataset=name) for name, df in DATA.items()], ignore_index=True)
    return run_r(R_CODE, inputs={"long": long}, packages=())


# ---------------------------------------------------------------------------
# textbook values (no R)
# ---------------------------------------------------------------------------
def test_textbook_13_of_68_vs_6_of_49():
    df = DATA["tb1"]
    pe = pr.compare_proportions(df, "pcr", "group", test="pearson")
    ya = pr.compare_proportions(df, "pcr", "group", test="yates")
    fi = pr.compare_proportions(df, "pcr", "group", test="fisher")
    assert round(pe["p"], 3) == 0.320
    assert round(ya["p"], 3) == 0.459
    assert round(fi["p"], 3) == 0.447
    assert pe["test"] == "Pearson chi-square (no continuity correction)"
    assert ya["test"] == "Pearson chi-square with Yates continuity correction"
    assert fi["test"] == "Fisher's exact test (two-sided)"
    assert pe["df"] == ya["df"] == 1 and fi["df"] is None and fi["statistic"] is None
    assert pe["statistic"] == pytest.approx(0.98894504, abs=1e-7)
    assert pe["table"].loc["g1", "events"] == 13 and pe["table"].loc["g2", "n"] == 49
    assert pe["warning"] is None  # smallest expected count = 7.7


def test_textbook_211_of_458_vs_19_of_117():
    res = pr.compare_proportions(DATA["tb2"], "pcr", "group")
    assert res["p"] < 0.001
    assert res["statistic"] == pytest.approx(34.5537, abs=1e-4)


def test_rate_table_by_hand():
    out = pr.rate_table(DATA["tb1"], "pcr", "group")
    assert list(out.columns) == ["group", "n", "events", "pct", "lower", "upper", "ci_method"]
    assert list(out["n"]) == [68, 49] and list(out["events"]) == [13, 6]
    np.testing.assert_allclose(out["pct"], [100 * 13 / 68, 100 * 6 / 49], rtol=1e-14)
    assert set(out["ci_method"]) == {"Wilson score, 95%"}
    # Wilson score interval in closed form for 13/68
    z, n, p = 1.959963984540054, 68, 13 / 68
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert out["lower"].iloc[0] == pytest.approx(100 * (centre - half), rel=1e-12)
    assert out["upper"].iloc[0] == pytest.approx(100 * (centre + half), rel=1e-12)
    overall = pr.rate_table(DATA["tb1"], "pcr")
    assert overall["group"].tolist() == ["all"] and overall["events"].iloc[0] == 19


def test_rate_table_empty_level_and_order():
    out = pr.rate_table(
        DATA["tb1"], "pcr", "group", group_order=["g2", "g1", "g9"], ci="clopper-pearson"
    )
    assert out["group"].tolist() == ["g2", "g1", "g9"]
    assert out["n"].iloc[2] == 0 and np.isnan(out[["pct", "lower", "upper"]].iloc[2]).all()
    assert set(out["ci_method"]) == {"Clopper-Pearson exact, 95%"}


def test_small_expected_counts_warn_and_fisher_does_not():
    res = pr.compare_proportions(DATA["small"], "pcr", "group")
    assert res["warning"] is not None and "expected counts < 5" in res["warning"]
    assert pr.compare_proportions(DATA["small"], "pcr", "group", test="fisher")["warning"] is None


def test_odds_ratio_woolf_by_hand_and_zero_cell():
    res = pr.odds_ratio(DATA["tb1"], "pcr", "group")  # g2 vs g1
    assert res["reference"] == "g1" and res["comparison"] == "g2"
    assert res["estimate"] == pytest.approx((6 * 55) / (43 * 13), rel=1e-14)
    res = pr.odds_ratio(DATA["zero"], "pcr", "group")
    assert np.isnan(res["estimate"]) and "cell count is 0" in res["warning"]


def test_odds_ratio_conditional_zero_cell_and_no_events():
    """Conditional OR (R fisher.test's code, :func:`fisher_2x2`): a zero cell gives R's MLE 0
    or Inf with the CI bound 0 or Inf; with no events at all (a zero margin) the odds ratio
    is undefined: NaN (R prints 0) with R's CI 0 to Inf."""
    res = pr.odds_ratio(DATA["zero"], "pcr", "group", method="conditional")  # g2 all events
    r = fisher_2x2(np.array([[12, 0], [0, 10]]))
    assert res["estimate"] == r.estimate == np.inf and res["upper"] == np.inf
    assert res["lower"] == r.lower and 0 < r.lower < np.inf
    none = expand([("g1", 0, 7), ("g2", 0, 3)])
    res = pr.odds_ratio(none, "pcr", "group", method="conditional")
    assert np.isnan(res["estimate"]) and res["lower"] == 0 and res["upper"] == np.inf
    assert fisher_2x2(np.array([[0, 3], [0, 7]])) == (1.0, 0.0, 0.0, np.inf)  # R


def test_missing_outcome_or_group_left_out_and_counted_as_r_table():
    """R's table() drops NA: rates, tests and the odds ratio equal those on the complete rows,
    and the number left out is reported."""
    df = DATA["tb1"].copy()
    bad = df.assign(pcr=df["pcr"].where(df.index >= 3),
                    group=df["group"].where((df.index < 3) | (df.index >= 7)))
    kept = bad.dropna(subset=["pcr", "group"])
    assert len(df) - len(kept) == 7
    got, ref = pr.rate_table(bad, "pcr", "group"), pr.rate_table(kept, "pcr", "group")
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert got.attrs["n_missing"] == 7 and ref.attrs["n_missing"] == 0
    for test in ("pearson", "fisher", "yates"):
        got = pr.compare_proportions(bad, "pcr", "group", test=test)
        ref = pr.compare_proportions(kept, "pcr", "group", test=test)
        assert got["p"] == ref["p"] and got["n_missing"] == 7 and ref["n_missing"] == 0
    got, ref = pr.odds_ratio(bad, "pcr", "group"), pr.odds_ratio(kept, "pcr", "group")
    assert got["estimate"] == ref["estimate"] and got["n_missing"] == 7


def test_validation_errors():
    df = DATA["tb1"].copy()
    bad = df.assign(pcr=df["pcr"].where(df.index >= 2, 2))
    with pytest.raises(ValueError, match=r"'pcr' has 2 value\(s\) not in \{0, 1\}"):
        pr.compare_proportions(bad, "pcr", "group")
    with pytest.raises(ValueError, match="no complete rows"):
        pr.rate_table(df.assign(pcr=np.nan), "pcr", "group")
    # Fisher is no longer limited to 2 x 2 (exact R x C test), Yates still is
    with pytest.raises(ValueError, match="exactly 2 groups"):
        pr.compare_proportions(DATA["k3"], "pcr", "group", test="yates")
    with pytest.raises(ValueError, match="unknown test"):
        pr.compare_proportions(df, "pcr", "group", test="g-test")
    with pytest.raises(ValueError, match="unknown ci"):
        pr.rate_table(df, "pcr", "group", ci="wald")


# ---------------------------------------------------------------------------
# against R
# ---------------------------------------------------------------------------
@pytest.mark.rref
@pytest.mark.parametrize("name", list(COUNTS))
@pytest.mark.parametrize("ci, prefix", [("wilson", "wilson"), ("clopper-pearson", "cp")])
def test_rate_ci_matches_r(r, name, ci, prefix):
    ours = pr.rate_table(DATA[name], "pcr", "group", ci=ci)
    ref = r["rates"][r["rates"]["dataset"] == name].reset_index(drop=True)
    assert ours["group"].tolist() == ref["group"].tolist()
    np.testing.assert_array_equal(ours["n"], ref["n"])
    np.testing.assert_array_equal(ours["events"], ref["events"])
    np.testing.assert_allclose(ours["lower"], 100 * ref[f"{prefix}_lower"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours["upper"], 100 * ref[f"{prefix}_upper"], rtol=1e-10, atol=1e-12)


@pytest.mark.rref
@pytest.mark.parametrize(
    "name, test",
    [(n, "pearson") for n in COUNTS] + [(n, t) for n in TWO_BY_TWO for t in ("yates", "fisher")],
)
def test_tests_match_r(r, name, test):
    ours = pr.compare_proportions(DATA[name], "pcr", "group", test=test)
    ref = r["tests"].set_index(["dataset", "test"]).loc[(name, test)]
    assert ours["p"] == pytest.approx(ref["p"], rel=1e-9, abs=1e-15)
    if test == "fisher":
        assert ours["statistic"] is None and ours["df"] is None
    else:
        assert ours["statistic"] == pytest.approx(ref["statistic"], rel=1e-10)
        assert ours["df"] == ref["df"]
        # R's chisq.test warns exactly when an expected count is < 5
        assert (ours["warning"] is not None) == (ref["min_expected"] < 5)
    assert ours["expected"].to_numpy().min() == pytest.approx(ref["min_expected"], rel=1e-12)


@pytest.mark.rref
@pytest.mark.parametrize("name", TWO_BY_TWO)
def test_odds_ratio_matches_r(r, name):
    ref = r["odds_ratios"].set_index("dataset").loc[name]
    cond = pr.odds_ratio(DATA[name], "pcr", "group", method="conditional")
    assert cond["ci_method"].startswith("conditional MLE")
    ours = [cond["estimate"], cond["lower"], cond["upper"]]
    # precise reference: R's fisher.test code with uniroot(tol = 1e-12)
    assert ref["tight_p"] == ref["p"]  # the wrapper changes only the root finding
    np.testing.assert_allclose(
        ours, [ref["tight"], ref["tight_lower"], ref["tight_upper"]], rtol=1e-9
    )
    # R's default fisher.test (uniroot tol ~1.2e-4) agrees only to ~1e-2 relative
    np.testing.assert_allclose(ours, [ref["cond"], ref["cond_lower"], ref["cond_upper"]], rtol=1e-2)
    # ... and the same code with R's uniroot tolerance prints exactly what R prints
    tab = cond["table"]
    cmp_, ref_g = cond["comparison"], cond["reference"]
    t = np.array([[tab.loc[cmp_, "events"], tab.loc[cmp_, "non_events"]],
                  [tab.loc[ref_g, "events"], tab.loc[ref_g, "non_events"]]])
    as_r = fisher_2x2(t, tol=R_UNIROOT_TOL)
    np.testing.assert_allclose([as_r.estimate, as_r.lower, as_r.upper],
                               [ref["cond"], ref["cond_lower"], ref["cond_upper"]], rtol=5e-7)
    assert as_r.p == pytest.approx(ref["p"], rel=5e-7)
    woolf = pr.odds_ratio(DATA[name], "pcr", "group", method="woolf")
    expected = [ref["woolf"], ref["woolf_lower"], ref["woolf_upper"]]
    if np.isfinite(expected).all():
        np.testing.assert_allclose(
            [woolf["estimate"], woolf["lower"], woolf["upper"]], expected, rtol=1e-12
        )
    else:
        assert np.isnan(woolf["estimate"])


# ---------------------------------------------------------------------------
# the R helper itself
# ---------------------------------------------------------------------------
def test_rref_skips_without_r_but_fails_under_ci(monkeypatch):
    monkeypatch.setattr(rref.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Rscript not found"):
        run_r("1")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        run_r("1")
