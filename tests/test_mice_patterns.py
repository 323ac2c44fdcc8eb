"""her2cohort.stats.mice: the fits on distinct code patterns (``impute_chained(collapse=...)``,
``_Patterns``) give the same imputations as the row-wise fits they replace.

The row-wise path (``collapse=False``) is the reference: it is the implementation checked
against R in tests/test_mice.py, kept in the module, so this comparison cannot go stale.  On
randomised SIMULATED data (categorical only; with numeric columns; 2- and k-level columns, a
rare level, a level never observed, a column with one observed level, varied missingness)
the completed data sets must be identical, and the chains' fitted coefficients after every
cycle equal to 1e-10 relative (the sums run over patterns instead of rows: ~1e-13)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import mice as mc


def random_frame(seed: int, n: int = 2000, numeric: bool = False, const: bool = False):
    """SIMULATED: 3-5 correlated categorical columns of 2-5 levels (column c0: a rare level
    when it has more than 2; c1: a level never observed), a binary y (complete for even
    seeds), optionally numeric columns x, w and a column k with one observed level; each
    column missing at random (0-30%, more when the latent z > 0)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    cols, levels = {}, {}
    for j in range(int(rng.integers(3, 6))):
        k = int(rng.integers(2, 6))
        lat = 0.5 * z + rng.normal(size=n)
        code = np.searchsorted(np.linspace(-1.0, 1.0, k - 1) * rng.uniform(0.4, 0.9), lat)
        lv = [f"v{j}_{i}" for i in range(k)]
        if j == 0 and k > 2:
            code = np.where(rng.random(n) < 0.03, k - 1, np.minimum(code, k - 2))
        if j == 1:
            lv = lv + ["never"]
        cols[f"c{j}"] = np.array(lv, dtype=object)[code]
        levels[f"c{j}"] = lv
    cols["y"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    levels["y"] = [0, 1]
    if numeric:
        cols["x"] = np.round(z + rng.normal(size=n), 2)
        cols["w"] = rng.integers(20, 80, n).astype(float)
    if const:
        cols["k"] = np.array(["only"] * n, dtype=object)
        levels["k"] = ["only", "other"]
    df = pd.DataFrame(cols)
    for c in df.columns:
        if c == "y" and seed % 2 == 0:
            continue
        miss = rng.random(n) < rng.uniform(0.0, 0.3) * (0.5 + (z > 0))
        df[c] = df[c].astype(object).where(~miss, None) if df[c].dtype == object \
            else df[c].mask(miss)
    if const:
        df.loc[df.index[:3], "k"] = None
    df.loc[df.isna().all(axis=1), "y"] = 0
    return df, levels


CASES = [(s, False, s == 3) for s in range(8)] + [(s, True, False) for s in (0, 5)]


@pytest.mark.parametrize("seed,numeric,const", CASES)
def test_pattern_fits_give_the_same_data_sets(seed, numeric, const):
    df, lv = random_frame(seed, numeric=numeric, const=const)
    cols = list(df.columns)
    d, specs, *_ = mc._design(df, cols, lv)
    pat = mc._Patterns.build(specs, d.shape[0], d.shape[1], True)
    assert (pat is None) == numeric  # numeric columns keep the row-wise path
    ref = mc.impute_chained(df, cols, m=2, seed=seed, n_iter=4, categorical=lv,
                            collapse=False)
    for collapse in (True, None):
        got = mc.impute_chained(df, cols, m=2, seed=seed, n_iter=4, categorical=lv,
                                collapse=collapse)
        for a, b in zip(ref, got, strict=True):
            pd.testing.assert_frame_equal(a, b, check_exact=True)


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.mark.parametrize("seed", [1, 2, 3, 6])
def test_chains_fit_the_same_coefficients_every_cycle(seed):
    df, lv = random_frame(seed, n=3000, const=seed == 3)
    cols = list(df.columns)
    d, specs, scale, lo, hi = mc._design(df, cols, lv)
    pat = mc._Patterns.build(specs, d.shape[0], d.shape[1], True)
    assert pat is not None and pat.m > 2  # several missingness patterns
    rows = mc._Chain(d, specs, scale, lo, hi, np.random.default_rng(seed), 5)
    pats = mc._Chain(d, specs, scale, lo, hi, np.random.default_rng(seed), 5, pat)
    fitted = 0
    for _ in range(5):
        rows.cycle()
        pats.cycle()
        assert rows.warm.keys() == pats.warm.keys()
        for name, a in rows.warm.items():
            b = pats.warm[name]
            np.testing.assert_array_equal(a[0], b[0])  # the same predictors kept
            for x, y in zip(a[1:], b[1:], strict=True):  # beta, cov / H^-1, deviance
                assert _rel(y, x) < 1e-10, name
            fitted += 1
        for v in specs:
            np.testing.assert_array_equal(rows.completed(v), pats.completed(v))
    assert fitted > 0


def test_fits_on_counts_equal_fits_on_rows():
    """logreg_fit / multinom_fit on distinct rows with frequencies = on the expanded rows,
    from R's start (logistic: mustart per expanded row, its prior weight) and warm."""
    rng = np.random.default_rng(4)
    npat, p = 40, 4
    xp = np.vstack([np.ones(npat), rng.integers(0, 2, (p - 1, npat))]).astype(float)
    yp = rng.integers(0, 3, npat)
    wp = rng.choice([0.5, 1.0, 2.0], npat)  # prior weights
    freq = rng.integers(1, 30, npat)
    rep = np.repeat(np.arange(npat), freq)
    xt, y, w = xp[:, rep], yp[rep], wp[rep]
    ax, ay, aw = mc.augment(xp[1:].T, np.array([0, 1]))
    ax = np.column_stack([np.ones(len(ay)), ax])
    yb, ayb = (y == 1).astype(float), (ay == 1).astype(float)
    a = mc.logreg_fit(xt, yb, w, None, ax, ayb, aw)
    b = mc.logreg_fit(xp, (yp == 1).astype(float), wp, None, ax, ayb, aw, freq=freq)
    assert a[2] == b[2]
    for x_, y_ in zip(a[:2] + a[3:], b[:2] + b[3:], strict=True):
        assert _rel(y_, x_) < 1e-10
    a2 = mc.logreg_fit(xt, yb, w, a[0] * 0.9, ax, ayb, aw, cov0=a[1], dev0=a[3])
    b2 = mc.logreg_fit(xp, (yp == 1).astype(float), wp, a[0] * 0.9, ax, ayb, aw,
                       cov0=a[1], dev0=a[3], freq=freq)
    assert a2[2] == b2[2] and _rel(b2[0], a2[0]) < 1e-10 and _rel(b2[1], a2[1]) < 1e-10
    m1 = mc.multinom_fit(xt, y, w, 3)
    m2 = mc.multinom_fit(xp, yp, wp, 3, freq=freq)
    assert m1[1] == m2[1] and _rel(m2[0], m1[0]) < 1e-10 and _rel(m2[2], m1[2]) < 1e-10


def test_auto_uses_patterns_only_when_the_table_is_small():
    df, lv = random_frame(7, n=20000)
    per_row = mc._Patterns.MAX_CELLS_PER_ROW
    for n in (20000, 20):
        d, specs, *_ = mc._design(df.iloc[:n], list(df.columns), lv)
        pat = mc._Patterns.build(specs, d.shape[0], d.shape[1], True)
        cells = pat.m * pat.k
        assert mc._Patterns.build(specs, d.shape[0], d.shape[1], False) is None
        auto = mc._Patterns.build(specs, d.shape[0], d.shape[1], None)
        assert (auto is None) == (cells > per_row * n)
        assert (auto is None) == (n == 20)


@pytest.mark.parametrize("seed", [0, 1, 2, 4])
def test_a_complete_numeric_column_is_coded_by_its_values(seed):
    """A complete numeric column (the outcome 0/1 as pooled_logistic passes it; a score of a
    few values) is never imputed: the pattern path codes it by its values and gives the
    row-wise path's data sets. With missing values it keeps the row-wise path."""
    df, lv = random_frame(seed)
    lv = {k: v for k, v in lv.items() if k != "y"}  # y numeric: complete for even seeds
    df["score"] = np.random.default_rng(seed).integers(0, 4, len(df)) * 0.5 + 1.0
    cols = list(df.columns)
    d, specs, *_ = mc._design(df, cols, lv)
    pat = mc._Patterns.build(specs, d.shape[0], d.shape[1], True)
    assert (pat is None) == (seed % 2 == 1)
    if pat is not None:
        assert pat.k == np.prod([len(v) for v in lv.values()]) * 2 * 4
    ref = mc.impute_chained(df, cols, m=2, seed=seed, n_iter=4, categorical=lv,
                            collapse=False)
    got = mc.impute_chained(df, cols, m=2, seed=seed, n_iter=4, categorical=lv,
                            collapse=None)
    for a, b in zip(ref, got, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    # many distinct values: row-wise
    df["score"] = np.random.default_rng(seed).normal(size=len(df))
    d, specs, *_ = mc._design(df, cols, lv)
    assert mc._Patterns.build(specs, d.shape[0], d.shape[1], True) is None
