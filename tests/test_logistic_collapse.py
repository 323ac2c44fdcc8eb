"""Logistic fits on distinct covariate patterns with frequency weights equal the fits on the
patients' rows (her2cohort.stats.logistic._collapse).

The binomial likelihood depends on the data only through the distinct rows of (X, y) and
their numbers, so coefficients, standard errors, deviances, profile-likelihood limits,
drop-one and interaction LR tests, Firth fits, the separation LP and the method rule must
not change when the fitter works on the collapsed rows.  Each test fits the same SIMULATED
data three ways: never collapsed (share 0), collapsed when that halves the rows (the
default) and always weighted (share 2: weights even where every row is distinct), and
compares at 1e-9 relative (floating-point sums in another order; R agreement is checked in
tests/test_logistic.py at 5e-7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import logistic as lg
from her2cohort.stats.pooling import pooled_logistic

RTOL = 1e-9
SHARES = {"never": 0.0, "default": lg._COLLAPSE_SHARE, "always": 2.0}
CAT = {"group": ["3+", "2+ISH+"], "hr": ["neg", "pos"], "regimen": ["T", "TP", "TPx"]}


def _cohort(n: int, seed: int, continuous: str) -> pd.DataFrame:
    """SIMULATED cohort: categorical covariates, an integer age (many ties) and, with
    ``continuous="exact"``, a covariate with distinct values (nothing to collapse)."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({
        "group": rng.choice(CAT["group"], n, p=[0.7, 0.3]).astype(object),
        "hr": rng.choice(CAT["hr"], n).astype(object),
        "regimen": rng.choice(CAT["regimen"], n, p=[0.4, 0.4, 0.2]).astype(object),
        "age": rng.integers(30, 71, n).astype(float),
    })
    if continuous == "exact":
        d["ratio"] = rng.gamma(4.0, 1.5, n)
    eta = (-0.3 + 1.2 * (d["group"] == "3+") - 0.8 * (d["hr"] == "pos")
           + 0.5 * (d["regimen"] == "TP") - 0.02 * (d["age"] - 50))
    if continuous == "exact":
        eta = eta + 0.15 * (d["ratio"] - 6)
    d["pcr"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    d.loc[rng.choice(n, n // 20, replace=False), "hr"] = None  # complete cases as R
    return d


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return _cohort(3000, 11, "ties")


@pytest.fixture(scope="module")
def cohort_exact() -> pd.DataFrame:
    return _cohort(1500, 12, "exact")


def _three_ways(monkeypatch: pytest.MonkeyPatch, fn):
    out = {}
    for name, share in SHARES.items():
        monkeypatch.setattr(lg, "_COLLAPSE_SHARE", share)
        out[name] = fn()
    return out


def _num(df: pd.DataFrame) -> pd.DataFrame:
    return df.select_dtypes("number")


def _same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    other = [c for c in a.columns if c not in _num(a).columns]
    pd.testing.assert_frame_equal(a[other], b[other])
    np.testing.assert_allclose(_num(a).to_numpy(float), _num(b).to_numpy(float), rtol=RTOL,
                               atol=0, equal_nan=True)


def _same_fit(a: lg.LogisticFit, b: lg.LogisticFit) -> None:
    _same_table(a.coef, b.coef)
    _same_table(a.lr, b.lr)
    np.testing.assert_allclose(a.params, b.params, rtol=RTOL)
    np.testing.assert_allclose(a.cov, b.cov, rtol=RTOL)
    assert a.deviance == pytest.approx(b.deviance, rel=1e-12)
    assert (a.n_used, a.events, a.warnings) == (b.n_used, b.events, b.warnings)
    np.testing.assert_array_equal(a.aliased, b.aliased)


def test_collapse_gives_the_distinct_rows_and_their_numbers(cohort):
    fit = lg.fit_logistic(cohort, "pcr", ["group", "hr", "regimen"], CAT, ci="wald")
    X, y = fit._design.X, fit._design.y
    Xc, yc, w = lg._collapse(X, y)
    assert w is not None and w.sum() == len(y) and len(w) <= 2 * 2 * 3 * 2
    rows = pd.DataFrame(np.column_stack([X, y]))
    counts = rows.value_counts()
    assert len(counts) == len(w)
    for i in range(len(w)):
        assert counts[tuple(np.r_[Xc[i], yc[i]])] == w[i]
    # first rows in order of appearance; the same data come back when nothing would shrink
    assert np.array_equal(np.r_[Xc[0], yc[0]], np.r_[X[0], y[0]])
    Xu, yu, wu = lg._collapse(X, y, share=len(w) / len(y))
    assert wu is None and Xu is X and yu is y


@pytest.mark.parametrize("ci", ["profile", "profile-mass", "wald"])
def test_ml_fit_collapsed_equals_uncollapsed(cohort, monkeypatch, ci):
    covs = ["group", "hr", "regimen", "age"]
    fits = _three_ways(monkeypatch, lambda: lg.fit_logistic(
        cohort, "pcr", covs, CAT, [("group", "regimen")], ci=ci))
    monkeypatch.setattr(lg, "_COLLAPSE_SHARE", SHARES["default"])
    des = fits["default"]._design
    assert lg._collapse(des.X, des.y)[2] is not None  # the default really collapses
    assert fits["never"].coef["lower"].notna().all()
    _same_fit(fits["never"], fits["default"])
    _same_fit(fits["never"], fits["always"])


def test_ml_fit_with_distinct_continuous_values(cohort_exact, monkeypatch):
    covs = ["group", "hr", "ratio"]
    fits = _three_ways(monkeypatch, lambda: lg.fit_logistic(cohort_exact, "pcr", covs, CAT,
                                                            ci="profile"))
    monkeypatch.setattr(lg, "_COLLAPSE_SHARE", SHARES["default"])
    des = fits["default"]._design
    assert lg._collapse(des.X, des.y)[2] is None  # nothing to gain: patients' rows
    _same_fit(fits["never"], fits["default"])
    _same_fit(fits["never"], fits["always"])  # weights of 1 change nothing


def test_firth_collapsed_equals_uncollapsed(cohort, monkeypatch):
    small = cohort.iloc[:600]
    fits = _three_ways(monkeypatch, lambda: lg.fit_firth(small, "pcr", ["group", "regimen",
                                                                        "age"], CAT))
    _same_fit(fits["never"], fits["default"])
    _same_fit(fits["never"], fits["always"])


def test_lr_tests_and_method_rule_collapsed_equal_uncollapsed(cohort, monkeypatch):
    inter = _three_ways(monkeypatch, lambda: lg.interaction_lr_test(
        cohort, "pcr", "group", "regimen", ["hr"], CAT))
    nonlin = _three_ways(monkeypatch, lambda: lg.nonlinearity_lr_test(
        cohort, "pcr", "age", 4, ["group"], CAT))
    rule = _three_ways(monkeypatch, lambda: lg.choose_method(
        cohort.iloc[:300], "pcr", ["group", "hr", "regimen"], CAT, [("group", "regimen")],
        min_cell=12))
    for res in (inter, nonlin):
        _same_table(res["never"], res["default"])
        _same_table(res["never"], res["always"])
    assert rule["never"]["method"] == "Firth" and len(rule["never"]["sparse_cells"])
    for k in ("default", "always"):
        assert rule[k]["reason"] == rule["never"]["reason"]
        pd.testing.assert_frame_equal(rule[k]["sparse_cells"], rule["never"]["sparse_cells"])


def test_separation_collapsed_equals_uncollapsed(monkeypatch):
    # SIMULATED: no pCR among 2+ISH+ with regimen TPx (quasi-complete separation)
    d = _cohort(800, 13, "ties")
    d.loc[(d["group"] == "2+ISH+") & (d["regimen"] == "TPx"), "pcr"] = 0
    fits = _three_ways(monkeypatch, lambda: lg.fit_logistic(
        d, "pcr", ["group", "regimen"], CAT, [("group", "regimen")], ci="profile"))
    assert any("separation" in w for w in fits["never"].warnings)
    for k in ("default", "always"):
        assert fits[k].warnings == fits["never"].warnings
        # the separated coefficient drifts (no estimate exists): compare the others
        ok = ~fits["never"].coef["term"].str.contains(":")
        _same_table(fits["never"].coef[ok].reset_index(drop=True),
                    fits[k].coef[ok].reset_index(drop=True))
    X, y = fits["never"]._design.X, fits["never"]._design.y
    Xc, yc, w = lg._collapse(X, y, share=SHARES["default"])
    assert w is not None
    monkeypatch.setattr(lg, "_COLLAPSE_SHARE", SHARES["never"])  # the LP on every patient
    assert lg.detect_separation(X, y) and lg.detect_separation(Xc, yc, weights=w)
    # without the interaction column: no separation either way
    assert not lg.detect_separation(X[:, :4], y)
    assert not lg.detect_separation(Xc[:, :4], yc, weights=w)


def test_pooled_logistic_collapsed_equals_uncollapsed(monkeypatch):
    d = _cohort(400, 14, "ties")[["pcr", "group", "hr", "regimen"]]
    res = _three_ways(monkeypatch, lambda: pooled_logistic(d, "pcr", ["group", "hr",
                                                                      "regimen"], CAT, m=3,
                                                           seed=5, n_iter=3))
    _same_table(res["never"], res["default"])
    _same_table(res["never"], res["always"])


@pytest.mark.parametrize("which", ["_ml_profile_ci", "_mass_profile_ci"])
def test_warm_started_profile_equals_refits_from_zero(cohort, which):
    fit = lg.fit_logistic(cohort, "pcr", ["group", "hr", "regimen", "age"], CAT, ci="wald")
    X, y, w = lg._collapse(fit._design.X[:, ~fit.aliased], fit._design.y)
    se = np.sqrt(np.diag(fit.cov))
    prof = getattr(lg, which)
    cold = prof(X, y, w, fit.params, se, fit.deviance, 0.95, warm=False)
    warm = prof(X, y, w, fit.params, se, fit.deviance, 0.95, warm=True)
    np.testing.assert_allclose(warm, cold, rtol=RTOL)
    assert np.all(np.isfinite(cold)) and np.all(cold[0] < fit.params) and np.all(
        fit.params < cold[1])
