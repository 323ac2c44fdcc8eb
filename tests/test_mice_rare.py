"""her2cohort.stats.mice on rare and perfectly predicted levels, and on pandas Categorical /
nullable / Arrow string columns.

R's mice imputes such data (tests/r/mice_rare.R -> tests/fixtures/r/mice/rare_*.csv): a
dummy seen in a few of 10^4 rows has variance < 1e-4 and ``remove.lindep`` drops it; a
level equal to another column's level is dropped as collinear where both predict; a
separated outcome is fitted on the ``augment``-ed data.  Checked deterministically against
R: the predictors ``remove.lindep`` keeps (also with several dependencies, where R's loop
decides), the augmented ``glm.fit`` of a separated binary outcome with a rare predictor
(relative 5e-7) and the augmented ``nnet::multinom`` of a 3-level outcome with a separated
and a rare level (1e-5: what its optimiser reaches); then the whole imputation runs on the
constructed data as R's did, the row-wise and pattern paths giving the same data sets."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import mice as mc
from mice_inputs import FIXTURES, lindep_keep
from rref import assert_same_as_stored

R_DIR = FIXTURES.parents[2] / "r"


def _read(name):
    return pd.read_csv(FIXTURES / f"{name}.csv")


def _close(a, b, rtol):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    d = np.max(np.abs(a - b) / np.where(b == 0, 1.0, np.abs(b)))
    assert d <= rtol, f"max relative difference {d:.3g} > {rtol}"


def test_remove_lindep_equals_mice_with_rare_duplicate_and_several_dependencies():
    x = _read("rare_lindep_x")
    r = _read("rare_lindep")
    for case, g in r.groupby("case"):
        keep = lindep_keep(x, list(g["column"]))
        np.testing.assert_array_equal(keep.astype(int), g["keep"], err_msg=f"case {case}")
    # case 6: R's loop keeps the pair p1, near1 and drops x0 (its eigen decomposition is
    # that of the first matrix): ours does the same
    assert set(r.loc[(r["case"] == 6) & (r["keep"] == 0), "column"]) == {"lev", "near2", "x0"}


def _logreg_data():
    x = _read("rare_logreg_x")
    ry = x["ry"].to_numpy() == 1
    xx = x[["z", "r", "x"]].to_numpy(dtype=float)
    ax, ay, aw = mc.augment(xx, np.array([0, 1]))
    xa = np.column_stack([np.ones(len(ax)), ax])
    xt = np.ascontiguousarray(np.column_stack([np.ones(len(xx)), xx])[ry].T)
    return x, ry, xt, xa, ay, aw


def test_logreg_fit_separated_with_rare_predictor_equals_glm_fit():
    x, ry, xt, xa, ay, aw = _logreg_data()
    r = _read("rare_logreg")
    y = x["y"].to_numpy(dtype=float)[ry]
    beta, cov, _, _ = mc.logreg_fit(xt, y, np.ones(ry.sum()), None, xa, ay, aw,
                                    epsilon=1e-14, maxit=100)
    _close(beta, r["coef"], 5e-7)
    _close(cov, r[["V1", "z", "r", "x"]].to_numpy(), 5e-7)
    # a warm start far away with a useless covariance (the sampler's, after the imputations
    # moved) used to end on a singular X'WX; now it falls back to R's start
    b2, c2, _, _ = mc.logreg_fit(xt, y, np.ones(ry.sum()), beta * 4.0, xa, ay, aw,
                                 epsilon=1e-14, cov0=cov * 50.0)
    _close(b2, r["coef"], 5e-7)
    _close(c2, r[["V1", "z", "r", "x"]].to_numpy(), 5e-7)


def test_logit_link_is_glm_fits_beyond_30():
    eta = np.array([-800.0, -31.0, -30.0, 0.0, 29.0, 31.0, 800.0])
    mu, vw = mc._logit_mu(eta)
    eps = np.finfo(float).eps
    assert mu[0] == mu[1] == eps / (1 + eps) and mu[-1] == mu[-2] == 1 / (1 + eps)
    assert (vw > 0).all() and np.allclose(vw[[0, 1, 5, 6]], eps, rtol=1e-12)
    np.testing.assert_allclose(vw[2:5], mu[2:5] * (1 - mu[2:5]), rtol=1e-15)


def test_multinom_fit_separated_and_rare_levels_equals_nnet_multinom():
    x, ry, xt, _, _, _ = _logreg_data()
    y = _read("rare_polyreg_y")["y3"].to_numpy() - 1
    r = _read("rare_polyreg")
    xx = x[["z", "r", "x"]].to_numpy(dtype=float)
    ax, ay, aw = mc.augment(xx, np.array([0, 1, 2]))
    xa = np.column_stack([np.ones(len(ax)), ax])
    want = r[["X.Intercept.", "z", "r", "x"]].to_numpy()
    beta, _, hinv = mc.multinom_fit(xt, y[ry], np.ones(ry.sum()), 3, None, xa, ay, aw,
                                    epsilon=1e-15)
    # nnet's BFGS stops short along flat directions: r's coefficient of level 3 (SE 19,
    # r = 1 in 6 rows) differs by 6e-4 relative, 5e-7 of its SE; ours has the higher
    # likelihood.  Criterion: within 1e-5 of max(|R's|, SE)
    se = np.sqrt(np.diag(hinv)).reshape(beta.shape)
    assert np.all(np.abs(beta - want) <= 1e-5 * np.maximum(np.abs(want), se))

    def loglik(b):
        xall = np.vstack([xt.T, xa])
        yall = np.r_[y[ry], ay]
        wall = np.r_[np.ones(ry.sum()), np.full(len(ay), aw)]
        eta = np.column_stack([np.zeros(len(xall)), xall @ b.T])
        lp = eta - np.logaddexp.reduce(eta, axis=1)[:, None]
        return float(wall @ lp[np.arange(len(xall)), yall])

    assert loglik(beta) >= loglik(want) - 1e-12
    # from a far start with a stale H^-1: the overshooting steps are retaken
    b2, _, _ = mc.multinom_fit(xt, y[ry], np.ones(ry.sum()), 3, beta * 3.0, xa, ay, aw,
                               epsilon=1e-15, hinv0=hinv * 100.0)
    _close(b2, beta, 1e-7)


def test_inverse_information_is_scale_free_and_marks_aliased_columns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    a = x.T @ x
    inv, alias = mc._inv_info(a)
    assert not alias.any()
    np.testing.assert_allclose(inv @ a, np.eye(3), atol=1e-12)
    s = np.diag([1e6, 1.0, 1e-7])  # wildly different column scales: still invertible
    inv, alias = mc._inv_info(s @ a @ s)
    assert not alias.any()
    xd = np.column_stack([x, x[:, 1]])  # a column equal to another: the later one aliased
    inv, alias = mc._inv_info(xd.T @ xd)
    np.testing.assert_array_equal(alias, [False, False, False, True])
    assert (inv[3] == 0).all() and (inv[:, 3] == 0).all()


@pytest.mark.parametrize("collapse", [False, True])
def test_rare_level_data_imputes_as_mice_did(collapse):
    """The constructed data of mice_rare.R (a level in 1 of 20000 rows, a level equal to
    another column's level): R's mice ran (rare_mice.csv); ours failed with a singular
    information before; both paths give the same data sets."""
    df = _read("rare_data")
    rm = _read("rare_mice")
    assert (rm["completed"] == 0).all()
    assert list(rm["method"]) == ["polyreg", "logreg", "polyreg", "polyreg"]
    ref = mc.impute_chained(df, m=2, seed=7, n_iter=4, collapse=False)
    got = ref if not collapse else mc.impute_chained(df, m=2, seed=7, n_iter=4,
                                                       collapse=True)
    for a, b in zip(ref, got, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    for d in got:
        assert d.notna().all().all()
        obs = df["c"].notna()
        assert (d.loc[obs, "c"] == df.loc[obs, "c"]).all()


def _rare_frame(seed: int, n: int = 100_000):
    """SIMULATED, 10^5 rows: c2 seen in 3 rows, d's level dz exactly a's a2, x numeric."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    a = np.array(["a0", "a1", "a2"], dtype=object)[
        np.searchsorted([-0.5, 0.5], z + rng.normal(size=n))]
    b = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "yes", "no").astype(object)
    c = np.array(["c0", "c1"], dtype=object)[rng.integers(0, 2, n)]
    rare = rng.choice(n, 3, replace=False)
    c[rare] = "c2"
    d = np.where(a == "a2", "dz", np.where(rng.random(n) < 0.5, "dx", "dy")).astype(object)
    df = pd.DataFrame({"a": a, "b": b, "c": c, "d": d, "x": np.round(z + rng.normal(size=n), 2)})
    for col in df:
        miss = rng.random(n) < 0.15
        if col == "c":
            miss[rare[:1]] = False
        df[col] = df[col].mask(miss)
    df.loc[df[["a", "b", "c", "d"]].isna().all(axis=1), "b"] = "no"
    return df


def test_rare_levels_at_1e5_rows_impute_on_both_paths():
    df = _rare_frame(1)
    cols = ["a", "b", "c", "d"]
    ref = mc.impute_chained(df, cols, m=3, seed=1, n_iter=3, collapse=False)
    got = mc.impute_chained(df, cols, m=3, seed=1, n_iter=3, collapse=True)
    for a, b in zip(ref, got, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    out = mc.impute_chained(df, m=2, seed=1, n_iter=3)  # with the numeric column: row-wise
    assert all(o.notna().all().all() for o in out)


def _typed_frame(seed: int = 0, n: int = 600):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    df = pd.DataFrame({
        "g": np.array(["a", "b", "c"], dtype=object)[np.searchsorted([-0.4, 0.6], z)],
        "h": np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "v", "u").astype(object),
        "k": np.array(["p", "q"], dtype=object)[rng.integers(0, 2, n)],
        "x": np.round(z + rng.normal(size=n), 2)})
    for c in ("g", "h", "k"):
        df[c] = df[c].mask(rng.random(n) < 0.2)
    df.loc[df[["g", "h", "k"]].isna().all(axis=1), "g"] = "a"
    return df


DTYPES = ["category", pd.CategoricalDtype(["c", "b", "a", "unused"], ordered=True),
          "string", "string[pyarrow]"]


@pytest.mark.parametrize("dtype", DTYPES, ids=["category", "ordered-unused", "string",
                                               "arrow"])
@pytest.mark.parametrize("numeric", [False, True])
def test_categorical_and_string_columns_impute_as_object_columns(dtype, numeric):
    if dtype == "string[pyarrow]":
        pytest.importorskip("pyarrow")
    df = _typed_frame()
    if not numeric:
        df = df.drop(columns="x")
    typed = df.astype({c: dtype for c in ("g", "h", "k")}) if isinstance(dtype, str) \
        else df.astype({"g": dtype, "h": "category", "k": "category"})
    for collapse in (False, None):
        ref = mc.impute_chained(df, m=2, seed=4, n_iter=3, collapse=collapse)
        got = mc.impute_chained(typed, m=2, seed=4, n_iter=3, collapse=collapse)
        for a, b in zip(ref, got, strict=True):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
    lv = {"g": ["b", "a", "c"]}  # a given level order works on them too
    ref = mc.impute_chained(df, m=1, seed=4, n_iter=2, categorical=lv)
    got = mc.impute_chained(typed, m=1, seed=4, n_iter=2, categorical=lv)
    pd.testing.assert_frame_equal(ref[0], got[0], check_exact=True)


@pytest.mark.rref
def test_stored_rare_r_output_is_what_r_produces_now(tmp_path):
    from rref import rscript

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([rscript(), "--vanilla", str(R_DIR / "mice_rare.R"), str(tmp_path)],
                          capture_output=True, text=True, timeout=900, check=False, env=env)
    if proc.returncode != 0 and "there is no package called" in proc.stderr:
        pytest.skip("R package mice or nnet not installed")
    assert proc.returncode == 0, proc.stderr
    assert_same_as_stored(tmp_path, FIXTURES)
