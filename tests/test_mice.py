"""her2cohort.stats.mice (the chained-equations imputation behind pooling.impute_mice)
checked against R's mice.

1. Exactly, on small constructed data with R's random draws replayed
   (tests/r/mice_exact.R -> tests/fixtures/r/mice/exact_*.csv): ``.norm.draw``,
   ``matchindex`` (with ties), ``mice.impute.pmm`` end to end, the logistic fit of
   ``mice.impute.logreg`` (``augment`` + ``glm.fit``) and its imputations, ``augment`` for a
   3-level factor, ``remove.lindep``; relative tolerance 5e-7, imputations identical.  The
   multinomial fit of ``polyreg`` against ``nnet::multinom`` run to near convergence (BFGS:
   agreement to 1e-5 relative is what its optimiser reaches).
2. By Monte Carlo (tests/r/mice_mc.R): the same SIMULATED data set (n = 2000, x1 numeric,
   x2 binary, x3 3 levels missing at random) imputed m = 50 times by R's mice (default
   methods, maxit = 10) and by us (m = 50, n_iter = 10), glm(y ~ x1 + x2 + x3 + x4, binomial)
   pooled by Rubin's rules.  Criterion: each pooled estimate within 3 Monte Carlo SEs of R's,
   MC SE = sqrt(B_R / m + B_ours / m) (B = between-imputation variance: the mean of m
   independent chains has MC variance B / m); each pooled SE within 10% of R's; the mean
   imputed value of x1 and the imputed level shares of x2 and x3 within 3 MC SEs (their
   between-imputation variances / m); and both within 2 pooled SEs of the complete-data fit
   (the truth before deletion).
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import mice as mc
from her2cohort.stats.logistic import fit_logistic
from her2cohort.stats.pooling import impute_mice, rubin_pool
from mice_inputs import FIXTURES, MC_CAT, MC_MODEL, lindep_keep, mc_data, mc_full
from rref import assert_same_as_stored

RTOL = 5e-7
R_DIR = FIXTURES.parents[2] / "r"


def _close(a, b, rtol=RTOL):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape
    den = np.where(b == 0, 1.0, np.abs(b))
    d = np.max(np.abs(a - b) / den)
    assert d <= rtol, f"max relative difference {d:.3g} > {rtol}"


def _read(name):
    return pd.read_csv(FIXTURES / f"{name}.csv")


@pytest.fixture(scope="module")
def ex():
    d = _read("exact_x")
    ry = d["ry"].to_numpy() == 1
    x = d[["x1", "x2"]].to_numpy(dtype=float)
    return d, ry, x, np.column_stack([np.ones(len(d)), x])


def test_norm_draw_equals_mice_norm_draw(ex):
    d, ry, _, xx = ex
    r = _read("exact_norm")
    y = d["y1"].to_numpy(dtype=float)
    xo, yo = xx[ry], y[ry]
    coef, beta, sigma = mc.norm_draw(xo.T @ xo, xo.T @ yo, yo @ yo, int(ry.sum()),
                                     r["z"].to_numpy(), r["chi2"].iloc[0])
    _close(coef, r["coef"])
    _close(beta, r["beta"])
    _close(sigma, r["sigma"].iloc[0])


def test_match_index_equals_mice_matchindex_with_ties():
    d = _read("exact_match")
    t = _read("exact_match_t")
    got = mc.match_index(d["d"].to_numpy(), t["t"].to_numpy(), t["h"].to_numpy(),
                         shuffle=d["ishuf"].to_numpy() - 1)
    np.testing.assert_array_equal(got + 1, t["idx"])
    # without ties the shuffle does not matter
    dd = d["d"].to_numpy() + np.arange(len(d)) * 1e-3
    a = mc.match_index(dd, t["t"].to_numpy(), t["h"].to_numpy(), shuffle=None)
    b = mc.match_index(dd, t["t"].to_numpy(), t["h"].to_numpy(),
                       shuffle=d["ishuf"].to_numpy() - 1)
    np.testing.assert_array_equal(a, b)


def test_pmm_equals_mice_impute_pmm(ex):
    d, ry, _, xx = ex
    r = _read("exact_pmm")
    dr = _read("exact_pmm_draws")
    y = d["y1"].to_numpy(dtype=float)
    xo, yo = xx[ry], y[ry]
    z = dr.loc[dr["what"] == "z", "value"].to_numpy()
    chi2 = dr.loc[dr["what"] == "chi2", "value"].iloc[0]
    shuffle = dr.loc[dr["what"] == "ishuf", "value"].to_numpy().astype(int) - 1
    coef, beta, _ = mc.norm_draw(xo.T @ xo, xo.T @ yo, yo @ yo, len(yo), z, chi2)
    pos = mc.match_index(xo @ coef, xx[~ry] @ beta, r["h"].to_numpy(), shuffle)
    np.testing.assert_array_equal(yo[pos], r["imp"])


def test_logreg_fit_and_imputations_equal_mice_logreg(ex):
    d, ry, x, _ = ex
    r = _read("exact_logreg")
    y = d["y2"].to_numpy(dtype=float)
    ax, ay, aw = mc.augment(x, np.array([0, 1]))
    xa = np.column_stack([np.ones(len(ax)), ax])
    xt = np.column_stack([np.ones(len(x)), x])[ry].T
    beta, cov, it, _ = mc.logreg_fit(np.ascontiguousarray(xt), y[ry], np.ones(ry.sum()),
                                  None, xa, ay, aw, epsilon=1e-14, maxit=100)
    _close(beta, r["coef"])
    _close(cov, r[["V1", "x1", "x2"]].to_numpy())
    # mice.impute.logreg itself (glm.fit's default epsilon 1e-8), its draws replayed
    ri = _read("exact_logreg_imp")
    beta, cov, _, _ = mc.logreg_fit(np.ascontiguousarray(xt), y[ry], np.ones(ry.sum()),
                                 None, xa, ay, aw)
    star = beta + np.linalg.cholesky(cov) @ ri["z"].dropna().to_numpy()
    p = 1 / (1 + np.exp(-(np.column_stack([np.ones(len(x)), x])[~ry] @ star)))
    np.testing.assert_array_equal((ri["u"].to_numpy() <= p).astype(int), ri["imp"])
    # a warm start (the sampler's) reaches the same estimate
    b2, c2, _, _ = mc.logreg_fit(np.ascontiguousarray(xt), y[ry], np.ones(ry.sum()),
                                 beta + 0.05, xa, ay, aw, epsilon=1e-14, cov0=cov)
    _close(b2, r["coef"], 1e-9)
    # the sampler's call: the whole design with rows chosen, missing rows weight 0
    big = np.vstack([np.column_stack([np.ones(len(x)), x]).T, np.arange(len(x)) % 7.0])
    b3, c3, _, _ = mc.logreg_fit(np.ascontiguousarray(big[[0, 3, 1, 2]]),
                                 np.where(ry, y, 1.0), ry.astype(float), None, xa, ay, aw,
                                 epsilon=1e-14, rows=np.array([0, 2, 3]))
    _close(b3, r["coef"], 1e-9)
    _close(c3, r[["V1", "x1", "x2"]].to_numpy(), 1e-9)


def test_augment_equals_mice_augment(ex):
    _, _, x, _ = ex
    r = _read("exact_augment")
    rows, codes, w = mc.augment(x, np.array([0, 1, 2]))
    _close(rows, r[["x1", "x2"]].to_numpy(), 1e-14)
    np.testing.assert_array_equal(codes + 1, r["y"])
    assert np.allclose(w, r["w"], rtol=1e-15, atol=0)


def test_multinom_fit_equals_nnet_multinom(ex):
    d, ry, x, _ = ex
    r = _read("exact_polyreg")
    y = d["y3"].map({"a": 0, "b": 1, "c": 2}).to_numpy()
    ax, ay, aw = mc.augment(x, np.array([0, 1, 2]))
    xa = np.column_stack([np.ones(len(ax)), ax])
    xt = np.ascontiguousarray(np.column_stack([np.ones(len(x)), x])[ry].T)
    beta, _, _ = mc.multinom_fit(xt, y[ry], np.ones(ry.sum()), 3, None, xa, ay, aw,
                                 epsilon=1e-15)
    _close(beta, r[["intercept", "x1", "x2"]].to_numpy(), 1e-5)
    big = np.vstack([xt[:1], np.arange(xt.shape[1]) % 5.0, xt[1:]])
    b2, _, _ = mc.multinom_fit(np.ascontiguousarray(big), y[ry], np.ones(ry.sum()), 3, None,
                               xa, ay, aw, epsilon=1e-15, rows=np.array([0, 2, 3]))
    _close(b2, beta, 1e-9)


def test_remove_lindep_equals_mice():
    r = _read("exact_lindep")
    keep = lindep_keep(_read("exact_lindep_x"), list(r["column"]))
    np.testing.assert_array_equal(keep.astype(int), r["keep"])
    assert not keep.all()  # the case removes something


# ------------------------------------------------------------------------------------------
# the sampler
# ------------------------------------------------------------------------------------------

def test_same_seed_same_data_sets_and_observed_values_kept():
    raw = mc_data()
    a = impute_mice(raw, m=3, seed=5, n_iter=3, categorical=MC_CAT)
    b = impute_mice(raw, m=3, seed=5, n_iter=3, categorical=MC_CAT)
    c = impute_mice(raw, m=3, seed=6, n_iter=3, categorical=MC_CAT)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not a[0]["x1"].equals(c[0]["x1"])
    assert not a[0]["x1"].equals(a[1]["x1"])  # chains differ
    for d in a:
        assert d.notna().all().all()
        for col in raw:
            obs = raw[col].notna()
            assert (d.loc[obs, col] == raw.loc[obs, col]).all()
            assert set(d.loc[~obs, col]) <= set(raw.loc[obs, col])
        assert d["x2"].dtype == object and d["y"].dtype == raw["y"].dtype


def test_chain_augmentation_is_mice_augment():
    raw = mc_data()
    cols = list(raw.columns)
    d, specs, scale, lo, hi = mc._design(raw, cols, dict(MC_CAT))
    ch = mc._Chain(d, specs, scale, lo, hi, np.random.default_rng(1), 5)
    v = specs[3]  # x3
    ix = np.r_[0, np.setdiff1d(np.arange(1, d.shape[0]), v.rows)]
    ax, ay, aw = ch._aug(v, ix, np.array([0, 1, 2]))
    rows, codes, w = mc.augment(ch.d[ix[1:]].T, np.array([0, 1, 2]))
    np.testing.assert_allclose(ax[:, 1:], rows, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ay, codes)
    assert aw == w


def test_single_level_and_errors():
    d = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "g": ["x", None, "x", "x"]})
    out = impute_mice(d, m=2, seed=1, n_iter=2, categorical={"g": ["x", "y"]})
    assert (out[0]["g"] == "x").all()
    with pytest.raises(ValueError, match="no observed value"):
        impute_mice(pd.DataFrame({"a": [np.nan, np.nan], "b": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="not in its level order"):
        impute_mice(d, categorical={"g": ["y"]})


# ------------------------------------------------------------------------------------------
# Monte Carlo comparison with R's mice
# ------------------------------------------------------------------------------------------

M_MC = 50


@pytest.fixture(scope="module")
def ours():
    raw = pd.read_csv(FIXTURES / "mc_data.csv", keep_default_na=True)
    pd.testing.assert_frame_equal(raw, pd.read_csv(FIXTURES / "mc_data.csv"))
    sets = impute_mice(raw, m=M_MC, seed=20261203, n_iter=10, categorical=MC_CAT)
    fits = [fit_logistic(s, "y", MC_MODEL, MC_CAT, ci="wald") for s in sets]
    est = np.array([f.params for f in fits])
    cov = np.array([f.cov for f in fits])
    pooled = rubin_pool(est, cov, df_complete=fits[0].n_used - est.shape[1],
                        names=fits[0].names)
    miss = raw.isna()
    per = pd.DataFrame({
        "x1_mean": [s.loc[miss["x1"], "x1"].mean() for s in sets],
        "x2_yes": [(s.loc[miss["x2"], "x2"] == "yes").mean() for s in sets],
        "x3_b": [(s.loc[miss["x3"], "x3"] == "b").mean() for s in sets],
        "x3_c": [(s.loc[miss["x3"], "x3"] == "c").mean() for s in sets],
    })
    return pooled, per


def test_stored_simulated_data_is_what_the_generator_makes():
    stored = pd.read_csv(FIXTURES / "mc_data.csv")
    made = mc_data()
    pd.testing.assert_frame_equal(stored.isna(), made.isna())
    pd.testing.assert_frame_equal(stored.fillna(-1), made.fillna(-1), check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(FIXTURES / "mc_full.csv"), mc_full(),
                                  check_dtype=False)


def test_pooled_logistic_agrees_with_mice_within_monte_carlo_error(ours):
    pooled, _ = ours
    r = _read("mc_mice_pool")
    full = _read("mc_full_fit")
    assert (r["m"] == M_MC).all() and len(pooled) == len(r)
    mcse = np.sqrt(r["b"].to_numpy() / M_MC + pooled["b"].to_numpy() / M_MC)
    z = (pooled["estimate"].to_numpy() - r["estimate"].to_numpy()) / mcse
    report = pd.DataFrame({"term": r["term"], "ours": pooled["estimate"].to_numpy(),
                           "mice": r["estimate"], "mc_se": mcse, "z": z,
                           "se_ours": pooled["std_error"].to_numpy(),
                           "se_mice": r["std_error"], "full": full["estimate"]})
    print("\n" + report.to_string())
    assert (np.abs(z) <= 3).all(), report
    assert (np.abs(pooled["std_error"].to_numpy() / r["std_error"] - 1) <= 0.10).all(), report
    # both near the truth before deletion (complete-data fit)
    for est, se in ((pooled["estimate"].to_numpy(), pooled["std_error"].to_numpy()),
                    (r["estimate"].to_numpy(), r["std_error"].to_numpy())):
        assert (np.abs(est - full["estimate"].to_numpy()) <= 2 * se).all(), report


def test_imputed_values_agree_with_mice_within_monte_carlo_error(ours):
    _, per = ours
    r = _read("mc_mice_imputed")
    rows = []
    for c in per:
        a, b = per[c].to_numpy(), r[c].to_numpy()
        mcse = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        rows.append((c, a.mean(), b.mean(), mcse, (a.mean() - b.mean()) / mcse))
    report = pd.DataFrame(rows, columns=["statistic", "ours", "mice", "mc_se", "z"])
    print("\n" + report.to_string())
    assert (report["z"].abs() <= 3).all(), report


@pytest.mark.rref
def test_stored_r_output_is_what_r_produces_now(tmp_path):
    from rref import rscript

    exe = rscript()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    runs = [[exe, "--vanilla", str(R_DIR / "mice_exact.R"), str(tmp_path)],
            [exe, "--vanilla", str(R_DIR / "mice_mc.R"), str(FIXTURES), str(tmp_path)]]
    for cmd in runs:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False,
                              env=env)
        if proc.returncode != 0 and "there is no package called" in proc.stderr:
            pytest.skip("R package mice or nnet not installed")
        assert proc.returncode == 0, proc.stderr
    assert_same_as_stored(tmp_path, FIXTURES)
