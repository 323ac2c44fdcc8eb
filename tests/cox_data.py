"""Input data for tests/test_cox.py and tests/r/cox.R (stored in tests/fixtures/r/cox/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from test_survival_vs_r import make_sim

FIXTURES = Path(__file__).parent / "fixtures" / "r" / "cox"
R_SCRIPT = Path(__file__).parent / "r" / "cox.R"


def make_cox_sim() -> pd.DataFrame:
    """The study-like simulated cohort (tied whole months) plus columns for special cases.

    iptw: inverse-probability-of-treatment weights for arm from a logistic
    propensity on age and stage (non-integer); clu: a cluster id (37 clusters);
    rare: a binary covariate whose 1-group has no event (infinite coefficient);
    age_copy: an exact copy of age (collinear, NA in R).
    """
    d = make_sim()
    lin = -0.3 + 0.03 * (d["age"] - 50) + 0.4 * (d["stage"] == "III")
    ps = 1 / (1 + np.exp(-lin))
    d["iptw"] = np.where(d["arm"] == "B", 1 / ps, 1 / (1 - ps))
    d["clu"] = np.arange(len(d)) % 37 + 1
    idx = np.arange(len(d))
    d["rare"] = ((d["event"] == 0) & (idx % 6 == 0)).astype(int)
    d["age_copy"] = d["age"]
    return d


def load_gbsg2() -> pd.DataFrame:
    from lifelines.datasets import load_gbsg2

    return load_gbsg2()


def write_inputs(folder: Path = FIXTURES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    make_cox_sim().to_csv(folder / "sim.csv", index=False)
    load_gbsg2().to_csv(folder / "gbsg2.csv", index=False)


if __name__ == "__main__":
    write_inputs()
