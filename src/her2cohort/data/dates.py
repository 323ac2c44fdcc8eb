"""Date arithmetic shared by validation and derivation."""

from __future__ import annotations

import pandas as pd


def completed_years(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Age in completed years on a date (a birthday counts on the day itself)."""
    b = pd.to_datetime(birth)
    d = pd.to_datetime(on)
    before = (d.dt.month < b.dt.month) | ((d.dt.month == b.dt.month) & (d.dt.day < b.dt.day))
    years = d.dt.year - b.dt.year - before.astype("Int64")
    return years.astype("Int64").where(b.notna() & d.notna())
