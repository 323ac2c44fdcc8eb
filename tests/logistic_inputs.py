"""Constructed inputs for the logistic-regression R checks (tests/r/logistic.R).

``python tests/logistic_inputs.py`` writes them into tests/fixtures/r/logistic/;
``tests/test_logistic.py`` checks that the stored files are what this code makes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).parent / "fixtures" / "r" / "logistic"

HER2 = ["IHC 3+", "IHC 2+ISH+"]
HR = ["negative", "positive"]
REGIMEN = ["single", "dual"]


def make_cohort(seed: int = 20260501) -> pd.DataFrame:
    """A study-like cohort: 458 IHC 3+ and 117 IHC 2+ISH+, HR status more often positive in
    2+ISH+, single vs dual anti-HER2, age with a curved effect, a few missing values."""
    rng = np.random.default_rng(seed)
    n3, n2 = 458, 117
    her2 = np.array([HER2[0]] * n3 + [HER2[1]] * n2, dtype=object)
    rng.shuffle(her2)
    is2 = her2 == HER2[1]
    hr = np.where(rng.random(n3 + n2) < np.where(is2, 0.761, 0.487), HR[1], HR[0]).astype(object)
    regimen = np.where(rng.random(n3 + n2) < 0.58, REGIMEN[1], REGIMEN[0]).astype(object)
    age = np.round(rng.normal(50, 10, n3 + n2)).clip(24, 80)
    ki67 = np.round(rng.uniform(5, 90, n3 + n2))
    lp = (0.25 - 1.4 * is2 - 0.8 * (hr == HR[1]) + 0.35 * (regimen == REGIMEN[1])
          + 0.25 * is2 * (regimen == REGIMEN[1]) - 0.0015 * (age - 48) ** 2
          + 0.006 * (ki67 - 40))
    pcr = (rng.random(n3 + n2) < 1 / (1 + np.exp(-lp))).astype(float)
    df = pd.DataFrame({"pcr": pcr, "her2": her2, "hr": hr, "regimen": regimen, "age": age,
                       "ki67": ki67})
    df.loc[rng.choice(len(df), 9, replace=False), "hr"] = np.nan
    df.loc[rng.choice(len(df), 6, replace=False), "age"] = np.nan
    df.loc[rng.choice(len(df), 4, replace=False), "pcr"] = np.nan
    return df


def make_sparse() -> pd.DataFrame:
    """Small hand-made data: regimen 'dual' in the 2+ISH+ group has no pCR (quasi-complete
    separation for the interaction model) and few events overall."""
    rows = []
    for her2, regimen, events, n in [
        ("IHC 3+", "single", 9, 20), ("IHC 3+", "dual", 13, 22),
        ("IHC 2+ISH+", "single", 2, 11), ("IHC 2+ISH+", "dual", 0, 9),
    ]:
        rows += [{"pcr": 1.0, "her2": her2, "regimen": regimen}] * events
        rows += [{"pcr": 0.0, "her2": her2, "regimen": regimen}] * (n - events)
    return pd.DataFrame(rows)


def write() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    make_cohort().to_csv(FIXTURES / "cohort.csv", index=False, float_format="%.17g")
    make_sparse().to_csv(FIXTURES / "sparse.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    write()
