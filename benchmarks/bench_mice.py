"""Benchmark of the multiple imputation (stats.pooling.impute_mice): seconds for m = 20
imputations of 10 cycles on SIMULATED registry-like data (8 columns: a complete binary outcome
and group, age with 10% missing, hormone receptor 15%, cT and cN (4 levels) 20%, grade
(3 levels) 25%, Ki-67 group 30%; missingness depends on the outcome and the group: MAR), for
n = 10^3 ... 10^5 (10^6 with --big), against the previous implementation (statsmodels
MICEData, PMM on every column) up to 10^4 (--old-max).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mice.py [--big] [--m 20] [--iter 10]
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mice.py --categorical --sizes 1000000

``--categorical``: every column categorical (no age; anti-HER2 therapy single/dual added,
each covariate 5-15% missing, independently), the case in which the logistic and multinomial
models are fitted on the distinct code patterns with their counts (stats.mice._Patterns);
"old" is then the row-wise path of the same function (``collapse=False``: the same data
sets, checked equal here).

Measured 2026-12-03 (commit a2e54f2, 2-core machine shared with other jobs, load 4-5, so wall >
CPU; seconds):

            n   new wall   new cpu   old wall   old cpu
         1000       1.40      0.90     118.51     34.52
        10000      10.00      2.43     439.02    190.31
       100000      36.62     19.76
      1000000     371.11    250.16

--categorical --sizes 1000000 --old-max 1000000, measured 2026-12-04 (2-core machine
shared, one run; old = collapse=False, its 20 data sets checked identical; seconds):

            n   new wall   new cpu   old wall   old cpu
      1000000       7.92       7.71     153.15     151.37
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

CAT = {"group": ["IHC 3+", "IHC 2+/ISH+"], "hr_status": ["negative", "positive"],
       "ct": ["T1", "T2", "T3", "T4"], "cn": ["N0", "N1", "N2", "N3"],
       "grade": ["1", "2", "3"], "ki67_group": ["<20%", ">=20%"]}


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    """SIMULATED patients (not real data)."""
    rng = np.random.default_rng(seed)
    group = rng.random(n) < 0.35
    age = rng.normal(52, 11, n).round()
    hr = rng.random(n) < 0.55 + 0.1 * group
    ct = np.minimum(rng.poisson(1.0 + 0.3 * ~hr, n), 3)
    cn = np.minimum(rng.poisson(0.8 + 0.2 * ct, n), 3)
    grade = np.clip(np.rint(1.8 + 0.4 * ~hr + rng.normal(0, 0.6, n)), 1, 3).astype(int)
    ki67 = rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.8 * (grade == 3) + 0.5 * ~hr)))
    lp = -0.6 - 0.7 * group + 0.9 * ~hr - 0.02 * (age - 52) - 0.2 * ct + 0.5 * ki67
    pcr = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    df = pd.DataFrame({
        "pcr": pcr,
        "group": np.where(group, "IHC 2+/ISH+", "IHC 3+"),
        "age": age,
        "hr_status": np.where(hr, "positive", "negative"),
        "ct": np.array(CAT["ct"])[ct],
        "cn": np.array(CAT["cn"])[cn],
        "grade": np.array(CAT["grade"])[grade - 1],
        "ki67_group": np.where(ki67, ">=20%", "<20%"),
    }).astype({c: object for c in CAT})
    base = 0.6 * pcr + 0.4 * group
    for c, frac in (("age", 0.10), ("hr_status", 0.15), ("ct", 0.20), ("cn", 0.20),
                    ("grade", 0.25), ("ki67_group", 0.30)):
        pr = frac * (0.7 + base) / (0.7 + base.mean())
        miss = rng.random(n) < pr
        df[c] = df[c].where(~miss, None) if df[c].dtype == object else df[c].mask(miss)
    return df


CAT_ONLY = {"pcr": [0, 1], "group": ["IHC 3+", "IHC 2+/ISH+"],
            "hr_status": ["negative", "positive"], "ct": ["T1", "T2", "T3", "T4"],
            "cn": ["N0", "N1", "N2", "N3"], "ki67_group": ["<20%", ">=20%"],
            "anti_her2": ["single", "dual"], "grade": ["1", "2", "3"]}


def simulate_categorical(n: int, seed: int = 7) -> pd.DataFrame:
    """SIMULATED patients (not real data), categorical columns only."""
    rng = np.random.default_rng(seed)
    group = rng.random(n) < 0.35
    hr = rng.random(n) < 0.55 + 0.1 * group
    ct = np.minimum(rng.poisson(1.0 + 0.3 * ~hr, n), 3)
    cn = np.minimum(rng.poisson(0.8 + 0.2 * ct, n), 3)
    grade = np.clip(np.rint(1.8 + 0.4 * ~hr + rng.normal(0, 0.6, n)), 1, 3).astype(int)
    ki67 = rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.8 * (grade == 3) + 0.5 * ~hr)))
    dual = rng.random(n) < 0.4 + 0.2 * (ct >= 2)
    lp = -0.6 - 0.7 * group + 0.9 * ~hr - 0.2 * ct + 0.5 * ki67 + 0.3 * dual
    pcr = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    c = CAT_ONLY
    df = pd.DataFrame({
        "pcr": pcr, "group": np.where(group, c["group"][1], c["group"][0]),
        "hr_status": np.where(hr, "positive", "negative"), "ct": np.array(c["ct"])[ct],
        "cn": np.array(c["cn"])[cn], "ki67_group": np.where(ki67, ">=20%", "<20%"),
        "anti_her2": np.where(dual, "dual", "single"),
        "grade": np.array(c["grade"])[grade - 1]})
    df = df.astype({k: object for k in df.columns if k != "pcr"})
    for k, frac in (("hr_status", .05), ("ct", .10), ("cn", .12), ("ki67_group", .15),
                    ("anti_her2", .07), ("grade", .13)):
        df[k] = df[k].where(~(rng.random(n) < frac), None)
    return df


def old_impute(df, m, seed, n_iter):
    """The previous implementation (statsmodels MICEData, PMM on codes), for comparison."""
    from statsmodels.imputation.mice import MICEData

    cols = list(df.columns)
    safe = {c: f"v{i}" for i, c in enumerate(cols)}
    enc = pd.DataFrame({safe[c]: (df[c].map({v: float(i) for i, v in enumerate(CAT[c])})
                                  if c in CAT else df[c].astype(float)) for c in cols})
    seeds = np.random.SeedSequence(seed).spawn(m)
    for i in range(m):
        imp = MICEData(enc, k_pmm=5, rng=np.random.default_rng(seeds[i]))
        for c in cols:
            if df[c].isna().any():
                rhs = [f"C({safe[o]})" if o in CAT else safe[o] for o in cols if o != c]
                imp.set_imputer(safe[c], formula=" + ".join(rhs))
        imp.update_all(n_iter)


def main() -> None:
    from her2cohort.stats.mice import impute_chained
    from her2cohort.stats.pooling import impute_mice

    ap = argparse.ArgumentParser()
    ap.add_argument("--big", action="store_true", help="also n = 10^6")
    ap.add_argument("--m", type=int, default=20)
    ap.add_argument("--iter", type=int, default=10)
    ap.add_argument("--old-max", type=int, default=10_000)
    ap.add_argument("--sizes", type=str, default="")
    ap.add_argument("--categorical", action="store_true",
                    help="categorical columns only; old = the row-wise fits")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")] if a.sizes else \
        [1_000, 10_000, 100_000] + ([1_000_000] if a.big else [])
    print(f"m = {a.m}, {a.iter} iterations, 8 columns (6 incomplete"
          f"{', all categorical' if a.categorical else ''}), one BLAS thread")
    print("wall = elapsed seconds, cpu = this process's CPU seconds (differs from wall when "
          "the machine is shared)")
    print(f"{'n':>9}  {'new wall':>9}  {'new cpu':>9}  {'old wall':>9}  {'old cpu':>9}  "
          f"{'new cpu per 10^5 rows':>22}")
    for n in sizes:
        df = simulate_categorical(n) if a.categorical else simulate(n)
        t0, c0 = time.perf_counter(), time.process_time()
        if a.categorical:
            sets = impute_chained(df, list(df.columns), m=a.m, seed=1, n_iter=a.iter,
                                  categorical=CAT_ONLY)
        else:
            impute_mice(df, m=a.m, seed=1, n_iter=a.iter, categorical=CAT)
        new, newc = time.perf_counter() - t0, time.process_time() - c0
        old = oldc = float("nan")
        if n <= a.old_max:
            t0, c0 = time.perf_counter(), time.process_time()
            if a.categorical:
                ref = impute_chained(df, list(df.columns), m=a.m, seed=1, n_iter=a.iter,
                                     categorical=CAT_ONLY, collapse=False)
            else:
                old_impute(df, a.m, 1, a.iter)
            old, oldc = time.perf_counter() - t0, time.process_time() - c0
            if a.categorical:
                for x, y in zip(sets, ref, strict=True):
                    pd.testing.assert_frame_equal(x, y, check_exact=True)
        print(f"{n:>9}  {new:>9.2f}  {newc:>9.2f}  {old:>9.2f}  {oldc:>9.2f}  "
              f"{newc / n * 1e5:>22.2f}", flush=True)


if __name__ == "__main__":
    main()
