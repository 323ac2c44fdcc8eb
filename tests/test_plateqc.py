"""her2cohort.stats.plateqc on constructed data with known answers (exact values), and Welch's
test of the edge effect against R's ``t.test`` (live R run through tests/rref.py; skipped
without R unless CI is set).  Data here are constructed/SIMULATED, not lab readings."""

from __future__ import annotations

import math
import string

import numpy as np
import pandas as pd
import pytest

import rref
from her2cohort.stats import plateqc as qc


def test_z_prime_signal_window_cv_exact():
    pos, neg = [1.0, 2.0, 3.0], [10.0, 11.0, 12.0]  # means 2 and 11, sample SDs 1 and 1
    assert qc.z_prime(pos, neg) == pytest.approx(1 - 3 * 2 / 9, rel=1e-15)
    assert qc.z_prime(neg, pos) == qc.z_prime(pos, neg)
    # hi = neg (mean 11, sd 1): (9 - 3 * 2) / 1 = 3; with n = 4 replicates: (9 - 3) / 0.5 = 12
    assert qc.signal_window(pos, neg) == pytest.approx(3.0, rel=1e-15)
    assert qc.signal_window(pos, neg, n=4) == pytest.approx(12.0, rel=1e-15)
    assert qc.signal_to_background(pos, neg) == pytest.approx(5.5, rel=1e-15)
    assert qc.cv([1.0, 2.0, 3.0]) == pytest.approx(0.5, rel=1e-15)
    # undefined cases are NaN, not errors; non-finite wells are ignored
    assert math.isnan(qc.z_prime([1.0], neg)) and math.isnan(qc.z_prime(pos, pos))
    assert math.isnan(qc.cv([1.0])) and math.isnan(qc.cv([-1.0, 1.0]))
    assert qc.z_prime(pos + [np.nan], neg) == qc.z_prime(pos, neg)


def test_z_prime_typical_plate_threshold():
    rng = np.random.default_rng(3)
    good = qc.z_prime(rng.normal(1.0, 0.04, 16), rng.normal(0.05, 0.01, 8))
    bad = qc.z_prime(rng.normal(1.0, 0.2, 16), rng.normal(0.05, 0.1, 8))
    assert good > 0.5 > bad


def _plate(rng, outer_shift=-20.0, rows=8, cols=12):
    r = np.repeat(np.arange(rows), cols)
    c = np.tile(np.arange(cols), rows)
    outer = (r == 0) | (r == rows - 1) | (c == 0) | (c == cols - 1)
    v = 100 + rng.normal(0, 3, r.size) + np.where(outer, outer_shift, 0.0)
    letters = [string.ascii_uppercase[i] for i in r]
    return pd.DataFrame({"row": letters, "col": c + 1, "signal": v, "outer": outer})


def test_edge_effect_counts_ratio_and_welch():
    rng = np.random.default_rng(11)
    p = _plate(rng)
    res = qc.edge_effect(p, row="row", col="col", value="signal")
    assert (res["n_outer"], res["n_inner"], res["n_rows"], res["n_cols"]) == (36, 60, 8, 12)
    vo, vi = p.loc[p["outer"], "signal"], p.loc[~p["outer"], "signal"]
    assert res["ratio"] == pytest.approx(vo.mean() / vi.mean(), rel=1e-14)
    assert res["test"] == qc.EDGE_TEST and res["p"] < 1e-10 and res["ratio"] < 0.9
    # Welch t by hand
    s1, s2 = vo.var() / vo.size, vi.var() / vi.size
    assert res["t"] == pytest.approx((vo.mean() - vi.mean()) / math.sqrt(s1 + s2), rel=1e-12)
    # no edge effect: large p
    flat = qc.edge_effect(_plate(rng, 0.0), row="row", col="col", value="signal")
    assert flat["p"] > 0.01 and abs(flat["ratio"] - 1) < 0.02
    # 384-well plate from the wells present, numeric rows
    big = _plate(rng, rows=16, cols=24)
    big["row"] = big["row"].map(lambda s: ord(s) - 64)
    res384 = qc.edge_effect(big, row="row", col="col", value="signal")
    assert (res384["n_rows"], res384["n_cols"], res384["n_outer"]) == (16, 24, 76)


@pytest.mark.rref
def test_edge_effect_matches_r_t_test():
    p = _plate(np.random.default_rng(5))
    res = qc.edge_effect(p, row="row", col="col", value="signal")
    out = rref.run_r(
        """
        d <- rref_in("plate")
        tt <- t.test(d$signal[d$outer == "True"], d$signal[d$outer == "False"])
        rref_out(data.frame(t = unname(tt$statistic), df = unname(tt$parameter),
                            p = tt$p.value), "welch")
        """,
        inputs={"plate": p}, packages=())
    ref = out["welch"].iloc[0]
    np.testing.assert_allclose([res["t"], res["df"], res["p"]], [ref["t"], ref["df"], ref["p"]],
                               rtol=5e-7)


def test_edge_effect_too_few_wells_says_so():
    p = pd.DataFrame({"row": ["A", "B"], "col": [1, 1], "signal": [1.0, 2.0]})
    res = qc.edge_effect(p, row="row", col="col", value="signal")
    assert math.isnan(res["p"]) and "fewer than 2" in res["note"]


def test_outlier_wells_modified_z_score():
    df = pd.DataFrame({
        "grp": ["a"] * 5 + ["b"] * 2 + ["c"] * 4 + ["d"] * 3,
        "v": [10.0, 10.1, 9.9, 10.05, 30.0,   # a: 30 is an outlier
              1.0, 100.0,                      # b: two wells, never flagged
              5.0, 5.0, 5.0, np.nan,           # c: identical + missing
              1.0, 1.1, 9.0],                  # d: 3 wells, 9 far away
    })
    flag = qc.outlier_wells(df, by="grp", value="v")
    assert flag.dtype == bool and flag.index.equals(df.index) and flag.name == "outlier"
    assert flag.tolist() == [False, False, False, False, True,
                             False, False,
                             False, False, False, False,
                             False, False, True]
    # exact scores: group a median 10.05, |dev| = .05 .05 .15 0 19.95 -> MAD 0.05
    sc = flag.attrs["score"]
    assert sc.iloc[4] == pytest.approx(0.6745 * 19.95 / 0.05, rel=1e-12)
    # group d: median 1.1, |dev| 0.1 0 7.9 -> MAD 0.1, score of 9: 0.6745 * 79
    assert sc.iloc[13] == pytest.approx(0.6745 * 7.9 / 0.1, rel=1e-12)
    assert math.isnan(sc.iloc[10])
    assert "Iglewicz" in flag.attrs["rule"] and "3.5" in flag.attrs["rule"]
    # a larger k flags fewer; MAD = 0 falls back to the mean absolute deviation
    assert qc.outlier_wells(df, by="grp", value="v", k=100).sum() == 1  # 269 vs 53
    z = pd.DataFrame({"g": 1, "v": [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 50.0]})
    fz = qc.outlier_wells(z, by=["g"], value="v")
    # median 2, MAD 0, mean |dev| = 48/7 -> score 48 / (1.253314 * 48/7) = 5.585 > 3.5
    assert fz.tolist() == [False] * 6 + [True]
    assert fz.attrs["score"].iloc[6] == pytest.approx(7 / 1.253314, rel=1e-12)
    with pytest.raises(ValueError):
        qc.outlier_wells(df, by="grp", value="v", rule="IQR")


def test_outlier_wells_vectorised_over_many_groups():
    rng = np.random.default_rng(2)
    n = 20000
    df = pd.DataFrame({"g": np.repeat(np.arange(n // 4), 4), "v": rng.normal(1, 0.01, n)})
    df.loc[df.index[::400], "v"] = 5.0  # one planted outlier in every 100th group
    flag = qc.outlier_wells(df, by="g", value="v")
    assert flag[df.index[::400]].all()
