"""her2cohort.stats.synergy on constructed dose matrices with known answers (SIMULATED /
constructed data, not lab readings):

* Bliss-independent data (E = E_A + E_B - E_A E_B) give Bliss excess 0 and ZIP delta 0;
* a drug combined with itself (Loewe additivity: E = f(x_A + x_B)) gives Loewe delta 0;
* HSA-exact data (E = max(E_A, E_B)) give HSA delta 0, and a known surplus is returned exactly;
* where the Loewe equation has no solution the pair is NaN with a note;
* on a SIMULATED noisy 6 x 6 matrix, every model agrees with a base-R transcription of the
  same definitions (tests/r/doseresponse.R: nls fits with analytic gradients, uniroot for
  Loewe; output tests/fixtures/r/doseresponse/synergy_ref.csv) to relative difference 5e-7.
  The R script is re-run by tests/test_doseresponse.py::test_r_script_reproduces_fixtures.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import synergy as sy
from her2cohort.stats.doseresponse import ll4

FIX = Path(__file__).parent / "fixtures" / "r" / "doseresponse"
DOSES_A = np.array([0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0])
DOSES_B = np.array([0.0, 0.01, 0.05, 0.25, 1.25, 6.25, 31.25])


def eff_a(x):  # inhibition of A alone: 0 -> 1, IC50 0.5, Hill 1.3
    return 1.0 - ll4(x, 1.3, 0.0, 1.0, 0.5)


def eff_b(x):  # inhibition of B alone: 0 -> 1, IC50 2, Hill 0.9
    return 1.0 - ll4(x, 0.9, 0.0, 1.0, 2.0)


def _grid(surface, reps=1, noise=0.0, seed=0, viability=True):
    A, B = np.meshgrid(DOSES_A, DOSES_B, indexing="ij")
    A, B = np.repeat(A.ravel(), reps), np.repeat(B.ravel(), reps)
    e = surface(A, B)
    if noise:
        e = e + np.random.default_rng(seed).normal(0, noise, e.size)
    return pd.DataFrame({"dose_a": A, "dose_b": B,
                         "resp": 1.0 - e if viability else e})


def bliss_surface(a, b):
    ea, eb = eff_a(a), eff_b(b)
    return ea + eb - ea * eb


def _run(fn, df, **kw):
    return fn(df, a="dose_a", b="dose_b", resp="resp", **kw)


def test_bliss_independent_data_give_zero_bliss_and_zip():
    df = _grid(bliss_surface, reps=3)
    bl = _run(sy.bliss, df)
    assert list(bl.columns) == sy.SYNERGY_COLUMNS
    assert len(bl) == 36 and (bl["n"] == 3).all()
    np.testing.assert_allclose(bl["delta"], 0, atol=1e-14)
    ea, eb = eff_a(bl["a"]), eff_b(bl["b"])
    np.testing.assert_allclose(bl["expected"], ea + eb - ea * eb, rtol=1e-13)
    z = _run(sy.zip, df)
    assert z["model"].iloc[0].startswith("ZIP")
    np.testing.assert_allclose(z["delta"], 0, atol=1e-7)
    np.testing.assert_allclose(z["expected"], bl["expected"], rtol=1e-7)
    assert (z["note"] == "").all()


def test_bliss_known_excess_and_inhibition_input():
    df = _grid(lambda a, b: bliss_surface(a, b) + np.where((a > 0) & (b > 0), 0.05, 0.0),
               viability=False)
    bl = _run(sy.bliss, df, response="inhibition")
    np.testing.assert_allclose(bl["delta"], 0.05, rtol=1e-12)
    # ZIP sees the surplus too (the combination curves cannot follow it exactly)
    z = _run(sy.zip, df, response="inhibition")
    assert z["delta"].mean() > 0.02


def test_hsa_exact_and_known_surplus():
    hsa_surface = lambda a, b: np.maximum(eff_a(a), eff_b(b))  # noqa: E731
    h = _run(sy.hsa, _grid(hsa_surface))
    np.testing.assert_allclose(h["delta"], 0, atol=1e-15)
    h2 = _run(sy.hsa, _grid(lambda a, b: hsa_surface(a, b) - 0.1 * (a > 0) * (b > 0)))
    np.testing.assert_allclose(h2["delta"], -0.1, rtol=1e-12)
    # Bliss data exceed HSA everywhere (both agents add something)
    assert (_run(sy.hsa, _grid(bliss_surface))["delta"] > 0).all()


def test_loewe_drug_with_itself_gives_zero():
    # A and B are the same drug: A alone f(x), B alone f(x), combination f(xa + xb)
    def f(x):
        return 1.0 - ll4(x, 1.3, 0.05, 0.95, 0.5)

    global DOSES_B
    saved = DOSES_B
    DOSES_B = DOSES_A.copy()
    try:
        df = _grid(lambda a, b: f(a + b), reps=2)
    finally:
        DOSES_B = saved
    lo = _run(sy.loewe, df)
    assert len(lo) == 36 and lo["model"].iloc[0].startswith("Loewe")
    np.testing.assert_allclose(lo["expected"], f(lo["a"] + lo["b"]), rtol=1e-8)
    np.testing.assert_allclose(lo["delta"], 0, atol=1e-8)
    assert (lo["note"] == "").all()


def test_loewe_with_two_different_drugs_closed_form():
    # Hill 1 curves from 0 to 1: X_k(y) = e_k y / (1 - y), so x_a/X_a + x_b/X_b = 1 gives
    # y / (1 - y) = x_a / e_a + x_b / e_b
    def fa(x):
        return 1.0 - ll4(x, 1.0, 0.0, 1.0, 0.5)

    def fb(x):
        return 1.0 - ll4(x, 1.0, 0.0, 1.0, 2.0)

    df = _grid(lambda a, b: np.where((a > 0) & (b > 0), 0.5, fa(a) + fb(b)))
    lo = _run(sy.loewe, df)
    s = lo["a"] / 0.5 + lo["b"] / 2.0
    np.testing.assert_allclose(lo["expected"], s / (1 + s), rtol=1e-8)
    np.testing.assert_allclose(lo["delta"], 0.5 - s / (1 + s), rtol=1e-7)


def test_loewe_no_solution_is_nan_with_note():
    # A reaches only 30% inhibition; B reaches 100%.  At high B doses the additive expectation
    # is beyond what A can reach: no solution there.
    def fa(x):
        return 1.0 - ll4(x, 1.5, 0.7, 1.0, 0.5)

    df = _grid(lambda a, b: fa(a) + eff_b(b) - fa(a) * eff_b(b))
    lo = _run(sy.loewe, df)
    missing = lo["expected"].isna()
    assert missing.any() and (~missing).any()
    assert lo.loc[missing, "note"].str.startswith("no Loewe solution").all()
    assert (lo.loc[~missing, "note"] == "").all()
    # the missing pairs are those where B alone already exceeds A's maximum (0.3)
    assert (eff_b(lo.loc[missing, "b"]) > 0.3 - 1e-9).all()
    summ = sy.synergy_summary([lo, _run(sy.bliss, df)])
    row = summ.set_index("model").loc[sy.MODEL_NAMES["loewe"]]
    assert row["n_missing"] == int(missing.sum()) and row["n_pairs"] == int((~missing).sum())


def test_synergy_summary_columns_and_values():
    df = _grid(lambda a, b: bliss_surface(a, b) + 0.04 * (a > 0) * (b > 0))
    frames = [_run(f, df) for f in (sy.bliss, sy.hsa, sy.loewe, sy.zip)]
    s = sy.synergy_summary(frames)
    assert list(s.columns) == ["model", "mean_delta", "max_delta", "n_pairs", "n_missing"]
    assert len(s) == 4 and (s["n_pairs"] + s["n_missing"] == 36).all()
    b = s.set_index("model").loc[sy.MODEL_NAMES["bliss"]]
    assert b["mean_delta"] == pytest.approx(0.04, rel=1e-12)
    assert b["max_delta"] == pytest.approx(0.04, rel=1e-12)


def test_missing_edges_and_failed_fits_say_why():
    df = _grid(bliss_surface)
    no_edge = df[~((df["dose_a"] == 0.1) & (df["dose_b"] == 0))]
    bl = _run(sy.bliss, no_edge)
    gap = bl["a"] == 0.1
    assert bl.loc[gap, "delta"].isna().all()
    assert (bl.loc[gap, "note"] == "no single-agent A well at this dose").all()
    flat = df.copy()
    flat.loc[flat["dose_b"] == 0, "resp"] = 1.0  # A alone does nothing: flat, no fit
    lo = _run(sy.loewe, flat)
    assert lo["delta"].isna().all()
    assert lo["note"].str.startswith("no Loewe expectation: single-agent fit failed").all()
    with pytest.raises(ValueError):
        _run(sy.bliss, df, response="percent")
    empty = _run(sy.bliss, df[(df["dose_a"] == 0) | (df["dose_b"] == 0)])
    assert empty.empty and list(empty.columns) == sy.SYNERGY_COLUMNS


def test_noisy_bliss_matrix_zip_close_to_zero():
    df = _grid(bliss_surface, reps=3, noise=0.02, seed=4)
    z = _run(sy.zip, df)
    assert abs(z["delta"].mean()) < 0.02 and z["delta"].notna().all()
    assert math.isfinite(z["observed"].sum())


def test_all_models_match_r_transcription():
    m = pd.read_csv(FIX / "synergy_matrix.csv")
    ref = pd.read_csv(FIX / "synergy_ref.csv")
    kw = {"a": "dose_a", "b": "dose_b", "resp": "viability"}
    res = {f.__name__: f(m, **kw) for f in (sy.bliss, sy.hsa, sy.loewe, sy.zip_delta)}
    for r in res.values():
        assert r[["a", "b"]].to_numpy().tolist() == ref[["a", "b"]].to_numpy().tolist()
        assert (r["n"] == 2).all()
    rel = {"rtol": 5e-7, "atol": 0}
    np.testing.assert_allclose(res["bliss"]["observed"], ref["observed"], **rel)
    np.testing.assert_allclose(res["bliss"]["expected"], ref["bliss_expected"], **rel)
    np.testing.assert_allclose(res["hsa"]["expected"], ref["hsa_expected"], **rel)
    lo = res["loewe"]
    assert lo["expected"].isna().tolist() == ref["loewe_expected"].isna().tolist()
    assert 0 < lo["expected"].isna().sum() < len(lo)  # the matrix has pairs of both kinds
    np.testing.assert_allclose(lo["expected"], ref["loewe_expected"], equal_nan=True, **rel)
    z = res["zip_delta"]
    np.testing.assert_allclose(z["observed"], ref["zip_observed"], **rel)
    np.testing.assert_allclose(z["expected"], ref["zip_expected"], **rel)
    np.testing.assert_allclose(z["delta"], ref["zip_observed"] - ref["zip_expected"],
                               rtol=1e-6, atol=1e-12)
