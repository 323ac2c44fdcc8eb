"""Completed data sets for the pooling R check (tests/r/pooling.R).

``python tests/pooling_inputs.py`` reads lung.csv (written by tests/r/pooling.R from
survival::lung) and writes the m completed data sets made by ``impute_mice`` as
lung_imputed.csv, and those made by ``impute_for_cox`` for a Cox model of survival time as
lung_cox_imputed.csv (long format, column ``.imp`` = 1..m).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from her2cohort.stats.pooling import impute_for_cox, impute_mice

FIXTURES = Path(__file__).parent / "fixtures" / "r" / "pooling"
COLUMNS = ["dead", "age", "sex", "ph.ecog", "ph.karno", "pat.karno", "meal.cal", "wt.loss"]
SEX = {"sex": ["male", "female"]}
M = 5
SEED = 2026
COX_MODEL = ["age", "sex", "ph.ecog", "meal.cal", "wt.loss"]


def lung() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "lung.csv")


def completed() -> list[pd.DataFrame]:
    return impute_mice(lung(), COLUMNS, m=M, seed=SEED, categorical=SEX)


def cox_completed() -> list[pd.DataFrame]:
    return impute_for_cox(lung(), "time", "dead", COX_MODEL, SEX, m=M, seed=SEED)


def write() -> None:
    for name, sets in (("lung_imputed.csv", completed()),
                       ("lung_cox_imputed.csv", cox_completed())):
        long = pd.concat([d.assign(**{".imp": i + 1}) for i, d in enumerate(sets)])
        long.to_csv(FIXTURES / name, index=False, float_format="%.17g")


if __name__ == "__main__":
    write()
