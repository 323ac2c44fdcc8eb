"""her2cohort.stats.exact against R (stored output of tests/r/exact.R) and by construction.

R references (tests/fixtures/r/exact/): fisher.test (p; 2 x 2 conditional MLE odds ratio
and exact CI, also with margins up to 10^6, and R's dhyper there), mantelhaen.test
(correct = TRUE/FALSE, exact = TRUE) on UCBAdmissions, infert and a constructed data set,
the Breslow-Day/Tarone formula written out in R, and prop.trend.test on a constructed data
set and esoph.  Tolerance: relative difference
<= 5e-7 (project standard).  ``test_r_script_reproduces_fixtures`` (rref) re-runs the R
script and checks that the stored output is what R produces now.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rref
from her2cohort.stats import exact as ex
from her2cohort.stats import proportions as pr
from her2cohort.stats.exact import fisher_exact, mantel_haenszel, trend_test
from her2cohort.stats.table1 import TEST_FISHER, table_footnotes, table_one

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "r" / "exact"
R_SCRIPT = HERE / "r" / "exact.R"
REL = 5e-7


def rel_diff(a: float, b: float) -> float:
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def fisher_fixture() -> list[tuple[str, np.ndarray, pd.Series]]:
    tabs = pd.read_csv(FIX / "fisher_tables.csv")
    ref = pd.read_csv(FIX / "fisher.csv").set_index("id")
    out = []
    for _, row in tabs.iterrows():
        counts = np.array(str(row["counts"]).split(), dtype=np.int64)
        t = counts.reshape(int(row["ncol"]), int(row["nrow"])).T  # R is column-major
        out.append((str(row["id"]), t, ref.loc[row["id"]]))
    return out


FISHER = fisher_fixture()


def brute_force_p(t: np.ndarray, rel_tol: float) -> float:
    """Independent check: enumerate every table with the margins of t (small tables only)."""
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    n = int(t.sum())
    lf = [math.lgamma(k + 1) for k in range(n + 1)]
    const = sum(lf[r] for r in rows) + sum(lf[c] for c in cols) - lf[n]

    def logp(tab: list[list[int]]) -> float:
        return const - sum(lf[x] for row in tab for x in row)

    def tables(rows_left: list[int], j: int) -> list[list[list[int]]]:
        if j == len(cols) - 1:
            return [[[r] for r in rows_left]]
        out = []
        for col in itertools.product(*[range(min(r, cols[j]) + 1) for r in rows_left]):
            if sum(col) != cols[j]:
                continue
            rest = [r - x for r, x in zip(rows_left, col, strict=True)]
            for sub in tables(rest, j + 1):
                out.append([[x, *s] for x, s in zip(col, sub, strict=True)])
        return out

    obs = logp(t.tolist())
    return sum(math.exp(lp) for lp in (logp(tb) for tb in tables(list(rows), 0))
               if lp <= obs + rel_tol)


# --------------------------------------------------------------------------- Fisher


@pytest.mark.parametrize("tid, table, ref", FISHER, ids=[f[0] for f in FISHER])
def test_fisher_matches_r(tid, table, ref):
    res = fisher_exact(table)
    assert res.method.startswith("exact"), res.method
    assert res.test == TEST_FISHER
    assert rel_diff(res.p, ref["p"]) <= REL, (res.p, ref["p"])
    # invariance: transposing and permuting rows/columns does not change p (the large tables,
    # a few seconds each: in test_fisher_4x3_n906_exact_within_default_budget)
    for t2 in (table.T, table[::-1], table[:, ::-1]) if table.sum() < 500 else ():
        assert rel_diff(fisher_exact(t2).p, ref["p"]) <= REL
    assert res.n == int(ref["n"])
    if table.shape == (2, 2):
        assert rel_diff(res.estimate, ref["estimate"]) <= REL
        assert rel_diff(res.conf_int[0], ref["conf_low"]) <= REL
        assert rel_diff(res.conf_int[1], ref["conf_high"]) <= REL
        assert res.ci_method.startswith("conditional MLE")
    else:
        assert res.estimate is None


def test_fisher_7x2_n430_is_fast_and_exact():
    (_, table, ref), = [f for f in FISHER if f[0] == "t7x2_n430"]
    assert table.shape == (7, 2) and table.sum() == 430
    fisher_exact(np.array([[1, 2], [3, 4], [5, 6]]))  # imports outside the timing
    t0 = time.process_time()
    res = fisher_exact(table)
    elapsed = time.process_time() - t0
    assert res.method.startswith("exact (network")
    assert rel_diff(res.p, ref["p"]) <= REL
    assert elapsed < 1.0, f"7 x 2, n = 430 took {elapsed:.2f} s CPU"


def test_fisher_4x3_n906_exact_within_default_budget():
    """Issue 17: a 4 x 3 table with n = 906 fell back to Monte Carlo (budget 2e7, ~83 s
    needed); it is now exact with the default budget in a few seconds (R: 17.7 s)."""
    (_, table, ref), = [f for f in FISHER if f[0] == "t4x3_n906_d"]
    assert table.shape == (4, 3) and table.sum() == 906
    fisher_exact(np.array([[1, 2], [3, 4], [5, 6]]))  # imports outside the timing
    t0 = time.process_time()
    res = fisher_exact(table)
    elapsed = time.process_time() - t0
    assert res.method.startswith("exact (network"), res.notes
    flipped = fisher_exact(table[::-1, ::-1].T)  # 3 x 4, rows and columns reversed
    assert rel_diff(flipped.p, ref["p"]) <= REL
    assert res.test == TEST_FISHER
    assert rel_diff(res.p, ref["p"]) <= REL, (res.p, ref["p"])
    assert 0 < res.work < ex.DEFAULT_MAX_WORK / 1.5
    assert elapsed < 30, f"4 x 3, n = 906 took {elapsed:.1f} s CPU"
    # too small a budget: Monte Carlo, named with its B and seed
    mc = fisher_exact(table, max_work=10**6, B=300, seed=5)
    assert mc.method.startswith("Monte Carlo") and mc.B == 300 and mc.seed == 5
    assert "work units" in mc.notes[0]


# ------------------------------------------------------------- 2 x 2 at registry scale

BIG = pd.read_csv(FIX / "fisher_2x2.csv")


def _big_table(row: pd.Series) -> np.ndarray:
    return np.array([[row["x11"], row["x12"]], [row["x21"], row["x22"]]], dtype=np.int64)


@pytest.mark.parametrize("i", range(len(BIG)), ids=list(BIG["id"]))
def test_fisher_2x2_large_margins_match_r(i):
    """fisher.test on 2 x 2 tables with margins up to 10^6 (tests/r/exact.R): the default
    (root to machine precision) equals R with uniroot(tol = 1e-300), and with R's default
    uniroot tolerance the same code gives what R's fisher.test prints (same Brent iterates)."""
    row = BIG.iloc[i]
    t, cl = _big_table(row), float(row["conf_level"])
    ours = ex.fisher_2x2(t, conf_level=cl)
    for got, key in zip(ours, ("p", "estimate", "conf_low", "conf_high"), strict=True):
        ref = row[f"{key}_precise"]
        assert rel_diff(got, ref) <= 1e-10, (key, got, ref)
    as_r = ex.fisher_2x2(t, conf_level=cl, tol=ex.R_UNIROOT_TOL)
    for got, key in zip(as_r, ("p", "estimate", "conf_low", "conf_high"), strict=True):
        assert rel_diff(got, row[key]) <= REL, (key, got, row[key])
    if min(t.sum(axis=0).min(), t.sum(axis=1).min()) > 0 and cl == 0.95:
        res = fisher_exact(t)  # the 2 x 2 branch of fisher_exact is the same code
        assert rel_diff(res.p, row["p_precise"]) <= REL
        assert rel_diff(res.estimate, row["estimate_precise"]) <= REL
        assert rel_diff(res.conf_int[0], row["conf_low_precise"]) <= REL
        assert rel_diff(res.conf_int[1], row["conf_high_precise"]) <= REL


def test_fisher_2x2_edge_cases_as_r():
    """Zero cells: MLE 0 / Inf with CI bound 0 / Inf; zero margins: one table, p = 1,
    estimate 0 (R), CI (0, Inf); R's default tolerance stops at 1/eps for a huge odds
    ratio (the 1/t search ends at t = eps), machine precision does not."""
    by_id = BIG.set_index("id")
    zero_a = ex.fisher_2x2(_big_table(by_id.loc["s_zero_a"]))
    assert zero_a.estimate == 0.0 and zero_a.lower == 0.0 and 0 < zero_a.upper < math.inf
    zero_d = ex.fisher_2x2(_big_table(by_id.loc["s_zero_d"]))
    assert zero_d.estimate == math.inf and zero_d.upper == math.inf and zero_d.lower > 0
    assert rel_diff(zero_a.p, zero_d.p) <= 1e-15
    for tid in ("s_margin0", "s_col0"):
        r = ex.fisher_2x2(_big_table(by_id.loc[tid]))
        assert r == (1.0, 0.0, 0.0, math.inf)
    huge = by_id.loc["e6_huge_or"]
    default = ex.fisher_2x2(_big_table(huge), tol=ex.R_UNIROOT_TOL)
    assert default.estimate == 1 / np.finfo(float).eps == huge["estimate"]
    precise = ex.fisher_2x2(_big_table(huge))
    assert 1e9 < precise.estimate < 1e10 and precise.lower < precise.estimate < precise.upper
    with pytest.raises(ValueError, match="2 x 2"):
        ex.fisher_2x2(np.ones((2, 3), dtype=int))
    with pytest.raises(ValueError, match="conf_level"):
        ex.fisher_2x2(np.ones((2, 2), dtype=int), conf_level=1.0)


def test_fisher_2x2_ties_between_tails():
    """Balanced margins: d(x) and its mirror d(k - x) are equal and both count (R's
    relErr 1 + 1e-7).  R's dhyper is reproduced to a few ulp (dhyper.csv); log-gamma
    differences lose ~1e-9 relative at n = 10^6, two orders below the 1e-7 fuzz, so the
    p-value must still equal R's, with both tails summed."""
    from scipy.stats import hypergeom

    row = BIG.set_index("id").loc["e6_tie"]
    t = _big_table(row)
    r = ex.fisher_2x2(t)
    assert rel_diff(r.p, row["p"]) <= 1e-12
    m, n, k = int(t[:, 0].sum()), int(t[:, 1].sum()), int(t[0].sum())
    one_tail = hypergeom.sf(int(t[0, 0]) - 1, m + n, m, k)
    assert rel_diff(r.p, 2 * one_tail) <= 1e-9  # symmetric: p = 2 P(X >= x)


def test_dhyper_port_matches_r_at_large_margins():
    """_dhyper_log is R's dhyper(log = TRUE) (Loader's algorithm) to a few ulp, also at
    margins 10^6, where log-gamma differences are off by up to ~4e-9."""
    from scipy.special import gammaln

    dh = pd.read_csv(FIX / "dhyper.csv")
    for (m, n, k), g in dh.groupby(["m", "n", "k"], sort=False):
        x = g["x"].to_numpy(float)
        ours = ex._dhyper_log(x, int(m), int(n), int(k))
        ref = g["logd"].to_numpy()
        err = np.abs(ours - ref)
        assert np.all(err <= 8 * np.spacing(np.maximum(np.abs(ref), 1.0))), (m, n, k, err.max())
        lg = (gammaln(m + 1) - gammaln(x + 1) - gammaln(m - x + 1) + gammaln(n + 1)
              - gammaln(k - x + 1) - gammaln(n - k + x + 1) - gammaln(m + n + 1)
              + gammaln(k + 1) + gammaln(m + n - k + 1))
        near = ref > ref.max() - 50  # where the p-value's comparisons happen
        assert err[near].max() <= 1e-13
        if m + n >= 10**6 and k > 1000:  # documents why the port is needed
            assert np.abs(lg - ref)[near].max() > 1e-11


def test_zeroin_is_r_uniroot():
    """_zeroin(tol) follows R's zeroin; on a smooth function it stops within tol, and with
    tol = 0 it reaches machine precision."""
    f = lambda v: v**3 - 2.0  # noqa: E731
    root = 2.0 ** (1 / 3)
    coarse = ex._zeroin(f, 0.0, 2.0, f(0.0), f(2.0), ex.R_UNIROOT_TOL)
    assert abs(coarse - root) <= ex.R_UNIROOT_TOL
    fine = ex._zeroin(f, 0.0, 2.0, f(0.0), f(2.0), 0.0)
    assert abs(fine - root) <= 4 * np.finfo(float).eps * root
    assert ex._zeroin(f, root, 2.0, 0.0, f(2.0), 0.0) == root
    with pytest.raises(ValueError, match="opposite sign"):
        ex._zeroin(f, 2.0, 3.0, f(2.0), f(3.0), 0.0)


def test_fisher_2x2_at_10e6_is_fast():
    """Registry scale: one 2 x 2 table with n = 10^6 (p, MLE, CI) in well under a second
    (scipy's odds_ratio and hypergeom over the support: ~20 s)."""
    t = _big_table(BIG.set_index("id").loc["e6_signif"])
    ex.fisher_2x2(np.array([[1, 2], [3, 4]]))
    t0 = time.process_time()
    ex.fisher_2x2(t)
    elapsed = time.process_time() - t0
    assert elapsed < 2.0, f"2 x 2, n = 10^6 took {elapsed:.2f} s CPU"


def _brute_extremes(rows: np.ndarray, cols: np.ndarray, lf: np.ndarray) -> tuple[float, float]:
    """Largest and smallest weight -sum log x! over all tables with these margins."""
    best, worst = -math.inf, math.inf

    def rec(j: int, rem: np.ndarray, acc: float) -> None:
        nonlocal best, worst
        if j == cols.size - 1:
            w = acc - float(lf[rem].sum())
            best, worst = max(best, w), min(worst, w)
            return
        for x in itertools.product(*[range(int(v) + 1) for v in rem]):
            if sum(x) == cols[j]:
                rec(j + 1, rem - np.array(x), acc - float(lf[list(x)].sum()))

    rec(0, rows.copy(), 0.0)
    return best, worst


@pytest.mark.parametrize("seed", [11, 12])
def test_general_node_bounds_are_the_extremes(seed):
    """Longest/shortest path of 3 x 3 .. 4 x 4 nodes (cycle cancelling, spanning-tree vertices)
    equal the most/least probable table found by full enumeration."""
    rng = np.random.default_rng(seed)
    lf = ex._log_fact(40)
    checked = 0
    while checked < 25:
        R, C = (int(v) for v in rng.integers(3, 5, size=2))
        if R * C > ex._EXACT_BOUND_CELLS:
            continue
        t = rng.multinomial(int(rng.integers(6, 16)),
                            rng.dirichlet(np.ones(R * C))).reshape(R, C)
        rows, cols = t.sum(axis=1), t.sum(axis=0)
        if (cols == 0).any():
            continue
        best, worst = _brute_extremes(rows, cols, lf)
        lp, sp = ex._general_bounds(rows[None, :], cols, lf)
        assert lp[0] == pytest.approx(best, abs=1e-9) and sp[0] == pytest.approx(worst, abs=1e-9)
        checked += 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_fisher_matches_brute_force_enumeration(seed):
    """Random small tables (with zeros, ties, 3+ rows and columns) against full enumeration."""
    rng = np.random.default_rng(seed)
    for _ in range(6):
        shape = tuple(int(v) for v in rng.integers(2, 5, size=2))
        n = int(rng.integers(4, 15))
        t = rng.multinomial(n, rng.dirichlet(np.ones(shape[0] * shape[1]))).reshape(shape)
        t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
        if min(t.shape) < 2:
            continue
        tol = math.log(ex.R_REL_ERR) if t.shape == (2, 2) else ex.FEXACT_TOL
        expected = brute_force_p(t, tol)
        assert rel_diff(fisher_exact(t).p, expected) <= 1e-9, t.tolist()


def test_fisher_degenerate_input():
    with pytest.raises(ValueError, match="2-dimensional"):
        fisher_exact([1, 2, 3])
    with pytest.raises(ValueError, match="non-negative integer"):
        fisher_exact([[1, -1], [2, 3]])
    with pytest.raises(ValueError, match="non-negative integer"):
        fisher_exact([[1.5, 1], [2, 3]])
    with pytest.raises(ValueError, match="at least 2 rows and 2 columns"):
        fisher_exact([[1, 2, 3]])
    with pytest.raises(ValueError, match="all counts are zero"):
        fisher_exact([[0, 0], [0, 0]])
    one_row = fisher_exact([[3, 4, 5], [0, 0, 0]])
    assert one_row.p == 1.0 and one_row.method == "trivial" and one_row.notes


# --------------------------------------------------------------------------- Monte Carlo


MC_TABLES = [
    np.array([[2, 5, 1], [4, 1, 3], [1, 2, 6]]),
    np.array([[3, 1, 0, 2, 4], [1, 4, 2, 0, 1], [0, 2, 5, 3, 1], [2, 0, 1, 4, 3]]),
    np.array([[2, 0, 1, 0], [0, 3, 0, 1], [1, 0, 0, 2], [0, 1, 4, 0], [3, 0, 0, 1]]),
    np.array([[3, 1], [10, 2], [40, 20]]),
    np.array([[13, 55], [6, 43]]),
]


@pytest.mark.parametrize("i", range(len(MC_TABLES)))
def test_monte_carlo_within_3_se_of_exact(i):
    t = MC_TABLES[i]
    exact_p = fisher_exact(t).p
    B = 20000
    mc = fisher_exact(t, simulate=True, B=B, seed=20241123)
    se = math.sqrt(exact_p * (1 - exact_p) / B)
    assert abs(mc.p - exact_p) <= 3 * se + 1 / (B + 1), (mc.p, exact_p)
    assert mc.test == "Fisher's exact test (Monte Carlo, B = 20000 replicates, seed 20241123)"
    assert mc.B == B and mc.seed == 20241123


def test_monte_carlo_deterministic_given_seed():
    t = MC_TABLES[1]
    a = fisher_exact(t, simulate=True, B=500, seed=7)
    b = fisher_exact(t, simulate=True, B=500, seed=7)
    c = fisher_exact(t, simulate=True, B=500, seed=8)
    assert a.p == b.p
    assert a.p != c.p  # different random tables (p on a 1/501 grid)
    assert (a.p * 501) == pytest.approx(round(a.p * 501))


def test_random_tables_keep_margins():
    rng = np.random.default_rng(1)
    rows, cols = np.array([5, 0, 7, 3]), np.array([4, 6, 5])
    sims = ex._random_tables(rows, cols, 300, rng)
    assert (sims >= 0).all()
    assert (sims.sum(axis=2) == rows).all() and (sims.sum(axis=1) == cols).all()


def test_monte_carlo_fallback_when_work_limit_exceeded():
    t = MC_TABLES[1]
    res = fisher_exact(t, max_work=10, seed=99)
    assert res.method.startswith("Monte Carlo")
    assert res.test == "Fisher's exact test (Monte Carlo, B = 2000 replicates, seed 99)"
    assert "work units" in res.notes[0]


def test_large_table_falls_back_quickly():
    # 5 x 5 with n = 600: far beyond the exact budget; must not hang
    t = np.random.default_rng(3).multinomial(600, np.ones(25) / 25).reshape(5, 5)
    t0 = time.process_time()
    res = fisher_exact(t)
    assert res.method.startswith("Monte Carlo")
    assert time.process_time() - t0 < 20


# --------------------------------------------------------------------------- Table 1 / proportions


def _cat_df(table: list[list[int]], groups: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for i, counts in enumerate(table):
        for j, k in enumerate(counts):
            rows += [{"grp": groups[j], "v": f"L{i}"}] * k
    return pd.DataFrame(rows)


def test_table1_sparse_rxc_uses_exact_fisher_and_names_monte_carlo(monkeypatch):
    (_, t, ref), = [f for f in FISHER if f[0] == "t5x4_sparse"]
    df = _cat_df(t.tolist(), ("a", "b", "c", "d"))
    spec = [{"name": "v", "type": "categorical"}]
    h = table_one(df, "grp", spec).query("row_type == 'header'").iloc[0]
    assert h["test"] == TEST_FISHER
    assert rel_diff(h["p_value"], ref["p"]) <= REL
    # too large for the exact budget -> Monte Carlo, and the table says so
    monkeypatch.setattr(ex, "DEFAULT_MAX_WORK", 1)
    tab = table_one(df, "grp", spec)
    h = tab.query("row_type == 'header'").iloc[0]
    assert h["test"] == "Fisher's exact test (Monte Carlo, B = 2000 replicates, seed 12345)"
    assert any("Monte Carlo p-value from B = 2000 random tables with the observed margins "
               "(seed 12345)" in note for note in table_footnotes(tab))


def test_table1_fisher_options_from_config():
    """table_one(fisher=...) (config table1.fisher): work budget, B and seed of the Monte Carlo
    fallback; the test column and the footnote name it."""
    (_, t, ref), = [f for f in FISHER if f[0] == "t4x5"]
    df = _cat_df(t.tolist(), ("a", "b", "c", "d", "e"))
    spec = [{"name": "v", "type": "categorical", "test": "fisher"}]
    h = table_one(df, "grp", spec, fisher={"max_work": 200_000_000}).query(
        "row_type == 'header'").iloc[0]
    assert h["test"] == TEST_FISHER and rel_diff(h["p_value"], ref["p"]) <= REL
    tab = table_one(df, "grp", spec, fisher={"max_work": 1000, "B": 400, "seed": 77})
    h = tab.query("row_type == 'header'").iloc[0]
    assert h["test"] == "Fisher's exact test (Monte Carlo, B = 400 replicates, seed 77)"
    assert h["p_value"] == fisher_exact(t, simulate=True, B=400, seed=77).p
    note = [n for n in table_footnotes(tab) if n.startswith(h["test"])]
    assert note and "table1.fisher.max_work" in note[0] and "B = 400 random tables" in note[0]
    from her2cohort.stats.table1 import fisher_monte_carlo_note

    assert "(1,000 work units, configuration" in fisher_monte_carlo_note(h["test"], 1000)


def _prop_df(counts: list[tuple[str, int, int]]) -> pd.DataFrame:
    rows = [{"group": g, "pcr": int(i < ev)} for g, ev, n in counts for i in range(n)]
    return pd.DataFrame(rows)


def test_compare_proportions_auto():
    big = _prop_df([("g1", 30, 60), ("g2", 20, 55)])
    res = pr.compare_proportions(big, "pcr", "group", test="auto")
    assert res["test"] == pr.TESTS["pearson"]
    assert res["p"] == pr.compare_proportions(big, "pcr", "group", test="pearson")["p"]
    assert res["test_choice"].startswith("auto: Pearson")
    # 2 x 3 with small expected counts -> Fisher for 3 groups; R: fixture t2x3
    (_, t, ref), = [f for f in FISHER if f[0] == "t2x3"]
    small = _prop_df([(f"g{j}", int(t[0, j]), int(t[:, j].sum())) for j in range(3)])
    res = pr.compare_proportions(small, "pcr", "group", test="auto")
    assert res["test"] == pr.TESTS["fisher"]
    assert res["statistic"] is None and res["warning"] is None
    assert "expected counts < 5" in res["test_choice"]
    assert rel_diff(res["p"], ref["p"]) <= REL
    assert pr.compare_proportions(small, "pcr", "group", test="fisher")["p"] == res["p"]
    assert pr.compare_proportions(small, "pcr", "group")["test"] == pr.TESTS["pearson"]


# --------------------------------------------------------------------------- Mantel-Haenszel

MH_FIELDS = ["statistic_corrected", "p_corrected", "statistic_uncorrected", "p_uncorrected",
             "estimate", "lower", "upper", "p_exact", "exact_estimate", "exact_lower",
             "exact_upper", "bd_statistic", "bd_p",
             "tarone_statistic", "tarone_p"]


def mh_inputs() -> dict[str, dict]:
    ucb = pd.read_csv(FIX / "mh_ucb.csv")
    ucb = ucb.loc[ucb.index.repeat(ucb["Freq"])].drop(columns="Freq")
    return {
        # as R's UCBAdmissions array: rows Admit, columns Gender (Male, Female), strata Dept
        "UCBAdmissions": {"df": ucb, "outcome": "Gender", "exposure": "Admit", "strata": "Dept",
                              "outcome_order": ["Male", "Female"]},
        # case (0/1) by any spontaneous abortion (no/yes), strata: education
        "infert": {"df": pd.read_csv(FIX / "mh_infert.csv"), "outcome": "case",
                       "exposure": "spont", "strata": "education"},
        # 4 centres, one without events (zero margin), missing values in each column
        "constructed": {"df": pd.read_csv(FIX / "mh_constructed.csv"), "outcome": "event",
                            "exposure": "exposed", "strata": "centre"},
    }


MH_IN = mh_inputs()


@pytest.mark.parametrize("name", list(MH_IN))
def test_mantel_haenszel_matches_r(name):
    ref = pd.read_csv(FIX / "mh.csv").set_index("dataset").loc[name]
    kw = dict(MH_IN[name])
    res = mantel_haenszel(kw.pop("df"), kw.pop("outcome"), kw.pop("exposure"), kw.pop("strata"),
                          exact=True, **kw)
    for f in MH_FIELDS:
        assert rel_diff(res[f], ref[f]) <= REL, (f, res[f], ref[f])
    assert res["bd_df"] == ref["bd_df"]
    assert res["n"] == ref["n"] and len(res["strata"]) == ref["strata"]
    assert res["statistic"] == res["statistic_corrected"] and res["p"] == res["p_corrected"]
    assert "continuity correction" in res["test"]
    assert "Robins-Breslow-Greenland" in res["ci_method"]


def test_mantel_haenszel_missing_and_zero_margin():
    kw = dict(MH_IN["constructed"])
    res = mantel_haenszel(kw["df"], kw["outcome"], kw["exposure"], kw["strata"])
    assert (res["n"], res["n_missing"], res["n_total"]) == (103, 4, 107)
    tab = res["table"].set_index("stratum")
    assert tab.loc["C", ["x12", "x22"]].sum() == 0  # centre C: no events at all
    assert res["bd_strata_used"] == 3 and res["bd_df"] == 2
    unc = mantel_haenszel(kw["df"], kw["outcome"], kw["exposure"], kw["strata"], correct=False)
    assert unc["p"] == unc["p_uncorrected"] and "without continuity" in unc["test"]
    assert "p_exact" not in unc


def test_breslow_day_matches_statsmodels():
    """Third implementation: statsmodels StratifiedTable.test_equal_odds (BD, Tarone)."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    kw = MH_IN["infert"]
    res = mantel_haenszel(kw["df"], kw["outcome"], kw["exposure"], kw["strata"])
    tabs = [np.array([[r.x11, r.x12], [r.x21, r.x22]]) for r in res["table"].itertuples()]
    st = StratifiedTable(tabs)
    assert rel_diff(res["bd_statistic"], st.test_equal_odds(adjust=False).statistic) <= 1e-9
    assert rel_diff(res["tarone_statistic"], st.test_equal_odds(adjust=True).statistic) <= 1e-9
    assert rel_diff(res["estimate"], st.oddsratio_pooled) <= 1e-12


def test_mantel_haenszel_degenerate_input():
    df = pd.DataFrame({"y": [0, 1, 0, 1, 1, 0, 1], "e": [0, 0, 1, 1, 0, 1, 1],
                       "s": ["a", "a", "a", "a", "b", "b", "c"]})
    with pytest.raises(ValueError, match="sample size in each stratum must be > 1"):
        mantel_haenszel(df, "y", "e", "s")
    with pytest.raises(ValueError, match="at least 2 strata"):
        mantel_haenszel(df[df["s"] == "a"], "y", "e", "s")
    with pytest.raises(ValueError, match="exactly 2 levels"):
        mantel_haenszel(df.assign(y=[0, 1, 2, 1, 1, 0, 1]), "y", "e", "s")
    with pytest.raises(ValueError, match="not found"):
        mantel_haenszel(df, "y", "nope", "s")


# --------------------------------------------------------------------------- trend


def test_trend_matches_r_constructed():
    ref = pd.read_csv(FIX / "trend.csv")
    tc = pd.read_csv(FIX / "trend_constructed.csv")
    df = _prop_df([(r.group, int(r.events), int(r.n)) for r in tc.itertuples()])
    df = df.rename(columns={"pcr": "y"})
    # na.omit: rows with a missing outcome or group are dropped and counted
    data = pd.concat([df, pd.DataFrame({"group": ["d1", None], "y": [np.nan, 1]})],
                     ignore_index=True)
    for (_, r), scores in zip(ref[ref["dataset"] == "constructed"].iterrows(),
                              [None, [0, 1, 2.5, 4]], strict=True):
        res = trend_test(data, "y", "group", scores=scores)
        assert rel_diff(res["statistic"], r["statistic"]) <= REL
        assert rel_diff(res["p"], r["p"]) <= REL
        assert (res["n"], res["n_missing"]) == (len(df), 2)
        assert res["test"] == "Chi-square test for trend in proportions"


def test_trend_matches_r_esoph():
    ref = pd.read_csv(FIX / "trend.csv").set_index("dataset").loc["esoph"]
    es = pd.read_csv(FIX / "trend_esoph.csv")
    long = pd.concat([es.loc[es.index.repeat(es["ncases"])].assign(case=1),
                      es.loc[es.index.repeat(es["ncontrols"])].assign(case=0)])
    order = ["0-39g/day", "40-79", "80-119", "120+"]  # R's ordered factor alcgp
    res = trend_test(long, "case", "alcgp", group_order=order)
    assert rel_diff(res["statistic"], ref["statistic"]) <= REL
    assert rel_diff(res["p"], ref["p"]) <= REL
    long["alcgp"] = pd.Categorical(long["alcgp"], categories=order, ordered=True)
    assert trend_test(long, "case", "alcgp")["p"] == res["p"]
    assert res["table"]["events"].tolist() == [29, 75, 51, 45]


def test_trend_degenerate_input():
    df = pd.DataFrame({"y": [0, 1, 0, 1], "g": ["a", "a", "a", "a"]})
    with pytest.raises(ValueError, match="at least 2 non-empty groups"):
        trend_test(df, "y", "g")
    df = pd.DataFrame({"y": [1, 1, 1, 1], "g": ["a", "a", "b", "b"]})
    with pytest.raises(ValueError, match="constant"):
        trend_test(df, "y", "g")
    df = pd.DataFrame({"y": [0, 1, 0, 1], "g": ["a", "a", "b", "b"]})
    with pytest.raises(ValueError, match="scores are equal"):
        trend_test(df, "y", "g", scores=[2, 2])
    with pytest.raises(ValueError, match="3 scores for 2 groups"):
        trend_test(df, "y", "g", scores=[1, 2, 3])
    with pytest.raises(ValueError, match="0/1"):
        trend_test(df.assign(y=[0, 2, 0, 1]), "y", "g")


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
        a = pd.read_csv(FIX / name)
        b = pd.read_csv(tmp_path / name)
        assert list(a.columns) == list(b.columns), name
        assert a.shape == b.shape, name
        for col in a.columns:
            if pd.api.types.is_numeric_dtype(a[col]):
                np.testing.assert_allclose(b[col], a[col], rtol=1e-10, equal_nan=True,
                                           err_msg=f"{name}:{col}")
            else:
                assert a[col].fillna("").tolist() == b[col].fillna("").tolist(), (name, col)
