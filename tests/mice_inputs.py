"""SIMULATED data for the Monte Carlo comparison of impute_mice with R's mice
(tests/test_mice.py, tests/r/mice_mc.R).  ``python tests/mice_inputs.py`` writes
tests/fixtures/r/mice/mc_full.csv (complete data, the truth) and mc_data.csv (the same with
values missing at random)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).parent / "fixtures" / "r" / "mice"
MC_N = 2000
MC_SEED = 20261203
MC_CAT = {"x2": ["no", "yes"], "x3": ["a", "b", "c"]}
MC_MODEL = ["x1", "x2", "x3", "x4"]


def mc_full() -> pd.DataFrame:
    """SIMULATED: x4 ~ N(0,1); x1 | x4 normal; x2 binary on x1, x4; x3 3 levels on x1, x2;
    y binary on all four."""
    rng = np.random.default_rng(MC_SEED)
    n = MC_N
    x4 = rng.normal(size=n)
    x1 = 50 + 8 * (0.5 * x4 + rng.normal(size=n))
    x2 = rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 0.08 * (x1 - 50) + 0.6 * x4)))
    e1 = 0.3 + 0.05 * (x1 - 50) + 0.8 * x2
    e2 = -0.5 + 0.09 * (x1 - 50) - 0.4 * x2
    den = 1 + np.exp(e1) + np.exp(e2)
    u = rng.random(n)
    x3 = np.where(u < 1 / den, 0, np.where(u < (1 + np.exp(e1)) / den, 1, 2))
    lp = -0.4 + 0.05 * (x1 - 50) + 0.7 * x2 + 0.5 * (x3 == 1) - 0.6 * (x3 == 2) + 0.4 * x4
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return pd.DataFrame({"y": y, "x1": x1.round(1), "x2": np.where(x2, "yes", "no"),
                         "x3": np.array(["a", "b", "c"])[x3], "x4": x4.round(4)})


def mc_data() -> pd.DataFrame:
    """mc_full with x1, x2, x3 missing at random (on y and x4): about 25%, 20%, 20%."""
    full = mc_full()
    rng = np.random.default_rng(MC_SEED + 1)
    d = full.copy().astype({"x2": object, "x3": object})
    score = 0.8 * full["y"].to_numpy() + 0.6 * full["x4"].to_numpy()
    for c, base in (("x1", -1.5), ("x2", -1.8), ("x3", -1.8)):
        miss = rng.random(len(d)) < 1 / (1 + np.exp(-(base + score)))
        d.loc[miss, c] = np.nan if c == "x1" else None
    return d


def write() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    mc_full().to_csv(FIXTURES / "mc_full.csv", index=False)
    mc_data().to_csv(FIXTURES / "mc_data.csv", index=False)


if __name__ == "__main__":
    write()


def lindep_keep(x: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """``remove_lindep``'s keep mask for predictors ``cols`` of outcome ``yy`` over the rows with
    ``ry == 1`` of ``x`` (an input written by tests/r/mice_*.R, as mice:::remove.lindep
    receives them: intercept, predictors, outcome)."""
    from her2cohort.stats import mice as mc

    ry = x["ry"].to_numpy() == 1
    design = np.column_stack([np.ones(len(x)), x[cols].to_numpy(), x["yy"].to_numpy()])
    s = design[ry].T @ design[ry]
    ya = np.zeros(design.shape[1])
    ya[-1] = 1.0
    return mc.remove_lindep(s, int(ry.sum()), np.arange(1, len(cols) + 1), ya,
                            np.ones(design.shape[1]))
