"""her2cohort.stats.pooling checked against R's mice (stored output of tests/r/pooling.R).

R's mice draws its imputations with R's random-number generator, so they cannot be
reproduced; the check is the ANALYSIS of given completed data: the m completed data sets
made here by ``impute_mice`` (tests/fixtures/r/pooling/lung_imputed.csv, survival::lung)
are analysed by R (glm per data set, ``mice::pool(as.mira(fits))``) and by us
(``fit_logistic`` + ``rubin_pool``).  ``mice::pool.scalar`` checks the generic Rubin's rules
on fixed numbers (incl. dfcom = Inf as for Cox models, and B = 0).  Tolerance 5e-7 relative.
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import logistic as lg
from her2cohort.stats import pooling as pl
from pooling_inputs import (
    COLUMNS,
    COX_MODEL,
    FIXTURES,
    SEED,
    SEX,
    M,
    completed,
    cox_completed,
    lung,
)

RTOL = 5e-7
R_SCRIPT = FIXTURES.parents[2] / "r" / "pooling.R"
MODEL = ["age", "sex", "ph.ecog", "meal.cal", "wt.loss"]


def _close(a, b, rtol: float = RTOL) -> None:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape
    den = np.where(b == 0, 1.0, np.abs(b))
    d = np.max(np.abs(a - b) / den)
    assert d <= rtol, f"max relative difference {d:.3g} > {rtol}"


@pytest.fixture(scope="module")
def stored() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "lung_imputed.csv")


@pytest.fixture(scope="module")
def r_pool() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "pool_lung.csv")


def _fits(long: pd.DataFrame) -> list[lg.LogisticFit]:
    return [lg.fit_logistic(long[long[".imp"] == i], "dead", MODEL, SEX, ci="wald")
            for i in range(1, M + 1)]


def test_rubin_pool_matches_mice_pool_on_the_same_completed_data(stored, r_pool):
    fits = _fits(stored)
    est = np.array([f.params for f in fits])
    cov = np.array([f.cov for f in fits])
    dfcom = fits[0].n_used - est.shape[1]
    res = pl.rubin_pool(est, cov, df_complete=dfcom, names=fits[0].names)
    assert list(res["term"]) == ["(Intercept)", "age", "sex[female]", "ph.ecog", "meal.cal",
                                 "wt.loss"]
    assert (res["m"] == r_pool["m"]).all() and (res["dfcom"] == r_pool["dfcom"]).all()
    for col in ("estimate", "std_error", "statistic", "df", "p", "lower", "upper", "ubar",
                "b", "t", "riv", "lambda", "fmi"):
        _close(res[col], r_pool[col])
    assert (res["test"] == pl.TEST_POOLED).all()
    assert res["ci_method"].iloc[0] == "Rubin's rules, t with Barnard-Rubin df, 95%"
    # variances (m x p) give the same as covariances; the pooled T matrix is kept
    var = np.array([np.diag(c) for c in cov])
    res2 = pl.rubin_pool(est, var, df_complete=dfcom, names=fits[0].names)
    pd.testing.assert_frame_equal(res.drop(columns=[]), res2, check_exact=False, rtol=1e-15)
    np.testing.assert_allclose(np.diag(res.attrs["cov"]), res["t"], rtol=1e-13)
    assert "cov" not in res2.attrs


def test_rubin_pool_matches_mice_pool_scalar():
    r = pd.read_csv(FIXTURES / "pool_scalar.csv")
    for row in r.itertuples():
        q = np.array([float(v) for v in row.q.split(";")])
        u = np.array([float(v) for v in row.u.split(";")])
        res = pl.rubin_pool(q[:, None], u[:, None], df_complete=row.dfcom).iloc[0]
        assert res["m"] == row.m
        _close([res["estimate"], res["ubar"], res["b"], res["t"], res["df"], res["riv"],
                res["fmi"]], [row.qbar, row.ubar, row.b, row.t, row.df, row.riv, row.fmi])
        assert np.isinf(res["dfcom"]) == np.isinf(row.dfcom)


def test_rubin_pool_hand_values_and_errors():
    q = np.array([[1.0, 2.0], [3.0, 2.0]])
    u = np.array([[0.5, 0.1], [1.5, 0.1]])
    res = pl.rubin_pool(q, u, names=["a", "b"])  # df_complete None = large sample
    a = res.iloc[0]
    assert a["estimate"] == 2.0 and a["ubar"] == 1.0 and a["b"] == 2.0
    assert a["t"] == pytest.approx(1 + 1.5 * 2)
    lam = 3 / 4
    assert a["df"] == pytest.approx(1 / lam**2)  # (m - 1) / lambda^2
    b = res.iloc[1]
    assert b["b"] == 0 and b["df"] == pytest.approx(1e8)  # lambda floored at 1e-4 (mice)
    assert b["fmi"] == pytest.approx(2 / (1e8 + 3))
    with pytest.raises(ValueError, match="at least 2"):
        pl.rubin_pool(q[:1], u[:1])
    with pytest.raises(ValueError, match="m x p"):
        pl.rubin_pool(q, u[:, :1])
    with pytest.raises(ValueError, match="finite"):
        pl.rubin_pool(np.array([[1.0], [np.nan]]), np.array([[1.0], [1.0]]))
    with pytest.raises(ValueError, match="names"):
        pl.rubin_pool(q, u, names=["a"])


def test_impute_mice_is_deterministic_and_reproduces_the_stored_data(stored):
    now = completed()
    assert len(now) == M
    for i, d in enumerate(now, start=1):
        s = stored[stored[".imp"] == i].drop(columns=".imp").reset_index(drop=True)
        pd.testing.assert_frame_equal(d.reset_index(drop=True), s, check_dtype=False,
                                      rtol=1e-12)
    raw = lung()
    other = pl.impute_mice(raw, COLUMNS, m=2, seed=SEED + 1, categorical=SEX)
    miss = raw["meal.cal"].isna()
    assert not np.array_equal(other[0].loc[miss, "meal.cal"], now[0].loc[miss, "meal.cal"])
    for d in now:
        assert d[COLUMNS].notna().all().all()
        obs = raw[COLUMNS].notna()
        # observed values untouched; imputed values are observed values (PMM donors)
        for c in COLUMNS:
            assert (d.loc[obs[c], c] == raw.loc[obs[c], c]).all()
            assert set(d.loc[~obs[c], c]) <= set(raw.loc[obs[c], c])
        assert d["inst"].isna().sum() == raw["inst"].isna().sum()  # not an imputation column


def test_pooled_logistic_equals_mice_pool_and_reports_complete_cases(r_pool):
    raw = lung()
    res = pl.pooled_logistic(raw, "dead", MODEL, SEX, m=M, seed=SEED, impute_columns=COLUMNS)
    _close(res["estimate"], r_pool["estimate"])
    _close(res["std_error"], r_pool["std_error"])
    _close(res["df"], r_pool["df"])
    _close(res["p"], r_pool["p"])
    _close(res["or_lower"], np.exp(r_pool["lower"]))
    _close(res["or_upper"], np.exp(r_pool["upper"]))
    _close(res["fmi"], r_pool["fmi"])
    assert (res["n"] == len(raw)).all()
    cc = lg.fit_logistic(raw, "dead", MODEL, SEX)
    assert (res["cc_n"] == cc.n_used).all() and cc.n_used < len(raw)
    _close(res["cc_odds_ratio"], cc.coef["odds_ratio"], rtol=1e-15)
    _close(res["cc_or_lower"], cc.coef["or_lower"], rtol=1e-15)
    assert (res["cc_test"] == "Wald z").all()
    assert res["cc_ci_method"].str.startswith("profile likelihood").all()
    with pytest.raises(ValueError, match="imputation columns"):
        pl.pooled_logistic(raw, "dead", MODEL, SEX, impute_columns=["dead", "age"])


def test_impute_for_cox_reproduces_the_stored_data_and_keeps_observed_values():
    stored = pd.read_csv(FIXTURES / "lung_cox_imputed.csv")
    raw = lung()
    now = cox_completed()
    assert len(now) == M
    for i, d in enumerate(now, start=1):
        s = stored[stored[".imp"] == i].drop(columns=".imp").reset_index(drop=True)
        pd.testing.assert_frame_equal(d.reset_index(drop=True), s, check_dtype=False,
                                      rtol=1e-12)
        assert d[COX_MODEL].notna().all().all()
        assert list(d.columns) == list(raw.columns)  # no helper column left behind
        for c in ("time", "dead", "ph.karno"):  # not imputed
            pd.testing.assert_series_equal(d[c], raw[c])
        for c in COX_MODEL:
            obs = raw[c].notna()
            assert (d.loc[obs, c] == raw.loc[obs, c]).all()
    # the event and the Nelson-Aalen hazard are predictors: other imputations than without
    plain = pl.impute_mice(raw, COX_MODEL, m=M, seed=SEED, categorical=SEX)
    miss = raw["meal.cal"].isna()
    assert any(not np.array_equal(a.loc[miss, "meal.cal"], b.loc[miss, "meal.cal"])
               for a, b in zip(now, plain, strict=True))
    with pytest.raises(ValueError, match="must be complete"):
        pl.impute_for_cox(raw.assign(time=raw["time"].where(raw.index > 0)), "time", "dead",
                          COX_MODEL, SEX)


def test_pooled_cox_equals_mice_pool_of_coxph_fits():
    """The same completed data sets analysed by R (coxph on each, mice::pool) and by us:
    estimates, pooled SE, Barnard-Rubin df with mice's complete-data df for coxph (events -
    coefficients), p, CI, fmi."""
    r = pd.read_csv(FIXTURES / "pool_lung_cox.csv")
    stored = pd.read_csv(FIXTURES / "lung_cox_imputed.csv")
    sets = [stored[stored[".imp"] == i].drop(columns=".imp") for i in range(1, M + 1)]
    res = pl.pooled_cox(sets, "time", "dead", COX_MODEL, SEX)
    assert list(res["term"]) == ["age", "sex[female]", "ph.ecog", "meal.cal", "wt.loss"]
    assert (res["dfcom"] == r["dfcom"]).all() and r["dfcom"].iloc[0] == 165 - 5
    for col in ("estimate", "std_error", "df", "p", "lower", "upper", "ubar", "b", "riv",
                "fmi"):
        _close(res[col], r[col])
    _close(res["hr"], np.exp(r["estimate"]))
    assert (res["n"] == len(lung())).all() and (res["nevent"] == 165).all()
    big = pl.pooled_cox(sets, "time", "dead", COX_MODEL, SEX, df_complete=float("inf"))
    _close(big["estimate"], r["estimate"])
    assert (big["df"] > res["df"]).all()


def test_impute_mice_errors():
    d = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [1.0, np.nan, 2.0]})
    with pytest.raises(ValueError, match="every imputation column missing"):
        pl.impute_mice(d, ["a", "b"])
    with pytest.raises(ValueError, match="not found"):
        pl.impute_mice(d, ["zz"])


@pytest.mark.rref
def test_stored_r_output_is_what_r_produces_now(tmp_path):
    from rref import assert_same_as_stored, rscript

    exe = rscript()
    proc = subprocess.run([exe, "--vanilla", str(R_SCRIPT), str(FIXTURES), str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    if proc.returncode != 0 and "there is no package called" in proc.stderr:
        pytest.skip("R package mice or survival not installed")
    assert proc.returncode == 0, proc.stderr
    assert_same_as_stored(tmp_path, FIXTURES,
                          ("lung.csv", "pool_lung.csv", "pool_lung_cox.csv", "pool_scalar.csv"))
