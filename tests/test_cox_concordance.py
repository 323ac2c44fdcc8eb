"""The O(n log^2 n) concordance (stats.cox._concordance) against the pairwise definition.

``_pairwise_concordance`` is the former O(events x n) implementation of survival's
concordance3 (Harrell's C, R's tie rules, infinitesimal-jackknife influence), kept
here only as the oracle.  R agreement itself is checked in tests/test_cox.py
(test_model_tests_n_and_concordance).  The data below are SIMULATED.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats.cox import _concordance


def _pairwise_concordance(time, event, x, strat, w, cluster, reverse):
    """Pairwise version of survival's concordance3 (counts and influence), the oracle."""
    n = len(time)
    cnt = np.zeros(5)  # greater-x, smaller-x, tied.x, tied.y, tied.xy (R's unreversed order)
    infl = np.zeros((n, 5))
    for s in np.unique(strat):
        rows = np.flatnonzero(strat == s)
        ts, es, xs, ws = time[rows], event[rows], x[rows], w[rows]
        ii = np.flatnonzero(es > 0)
        ti, xi = ts[ii][:, None], xs[ii][:, None]
        longer = (ts[None, :] > ti) | ((ts[None, :] == ti) & (es[None, :] == 0))
        tiedy = (ts[None, :] == ti) & (es[None, :] > 0)
        tiedy[np.arange(len(ii)), ii] = False
        gt = longer & (xs[None, :] > xi)
        lt = longer & (xs[None, :] < xi)
        eq = longer & (xs[None, :] == xi)
        txy = tiedy & (xs[None, :] == xi)
        ty = tiedy & ~txy
        wi = ws[ii]
        for k, m in enumerate((gt, lt, eq)):
            mw = m * ws[None, :]
            cnt[k] += wi @ mw.sum(axis=1)
            infl[rows[ii], k] += mw.sum(axis=1)
            infl[rows, k] += wi @ m
        for k, m in ((3, ty), (4, txy)):
            mw = m * ws[None, :]
            cnt[k] += 0.5 * (wi @ mw.sum(axis=1))
    conc, disc, tx = cnt[0], cnt[1], cnt[2]
    npair = conc + disc + tx
    somer = (conc - disc) / npair
    dfb = ((infl[:, 0] - infl[:, 1]) - infl[:, :3].sum(axis=1) * somer) * w / (2 * npair)
    if cluster is not None:
        dfb = pd.Series(dfb).groupby(cluster).sum().to_numpy()
    c = (somer + 1) / 2
    if reverse:
        c = 1 - c
        conc, disc = disc, conc
    return {"concordant": conc, "discordant": disc, "tied.x": tx, "tied.y": cnt[3],
            "tied.xy": cnt[4], "concordance": c, "std": float(np.sqrt(np.sum(dfb**2))), "n": n}


def _data(seed: int, n: int, nstrat: int, weighted: bool, clustered: bool):
    rng = np.random.default_rng(seed)
    time = rng.integers(1, max(3, n // 8), n).astype(float)  # many tied times
    event = (rng.random(n) < 0.6).astype(float)
    x = rng.integers(0, 12, n) * 0.25  # many tied risk scores
    cont = rng.random(n) < 0.3
    x[cont] = rng.normal(size=int(cont.sum()))  # and some untied ones
    strat = rng.integers(0, nstrat, n)
    w = rng.uniform(0.2, 3.0, n) if weighted else np.ones(n)
    cluster = rng.integers(0, max(2, n // 5), n) if clustered else None
    return time, event, x, strat, w, cluster


@pytest.mark.parametrize("seed", range(12))
def test_fast_concordance_equals_pairwise(seed):
    n = [7, 60, 250, 400][seed % 4]
    args = _data(seed, n, nstrat=1 + seed % 3, weighted=seed % 2 == 0, clustered=seed % 3 == 0)
    for reverse in (True, False):
        fast = _concordance(*args, reverse=reverse)
        slow = _pairwise_concordance(*args, reverse=reverse)
        assert fast.keys() == slow.keys()
        for k in slow:
            np.testing.assert_allclose(fast[k], slow[k], rtol=1e-12, atol=0, err_msg=k)
        if n >= 60:  # ties in x, in time, and in both are exercised
            assert min(slow["tied.x"], slow["tied.y"], slow["tied.xy"]) > 0


def test_fast_concordance_continuous_and_single_event():
    rng = np.random.default_rng(99)
    n = 300
    args = (rng.exponential(size=n), (rng.random(n) < 0.5).astype(float), rng.normal(size=n),
            np.zeros(n, dtype=np.int64), rng.uniform(0.5, 2, n), None)
    fast, slow = _concordance(*args, reverse=True), _pairwise_concordance(*args, reverse=True)
    for k in slow:
        np.testing.assert_allclose(fast[k], slow[k], rtol=1e-12, atol=0, err_msg=k)
    # one event, censored rows at the same time count as longer
    t = np.array([1.0, 1.0, 2.0, 0.5])
    e = np.array([1.0, 0.0, 0.0, 0.0])
    x = np.array([0.0, 1.0, -1.0, 3.0])
    args = (t, e, x, np.zeros(4, dtype=np.int64), np.ones(4), None)
    fast = _concordance(*args, reverse=False)
    assert (fast["concordant"], fast["discordant"], fast["tied.x"]) == (1.0, 1.0, 0.0)
    slow = _pairwise_concordance(*args, reverse=False)
    np.testing.assert_allclose(fast["std"], slow["std"], rtol=1e-12)
