"""Group levels shared by the statistics modules: which groups, in which order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

ALL_LABEL = "all"


def group_labels(
    df: pd.DataFrame, group: str | None, group_order: Sequence[Any] | None,
    allow_empty: bool = False,
) -> tuple[np.ndarray, list[Any]]:
    """Return (per-row group label array, ordered list of levels).

    Without ``group`` every row is in one group labelled ``"all"``. Levels are sorted unless
    ``group_order`` is given; missing group values, values outside ``group_order``, duplicated
    levels and (unless ``allow_empty``) levels with no rows are errors naming the column.
    """
    if group is None:
        if group_order is not None:
            raise ValueError("group_order given without group")
        return np.full(len(df), ALL_LABEL, dtype=object), [ALL_LABEL]
    if group not in df.columns:
        raise ValueError(f"column not found in data: '{group}'")
    g = df[group]
    n_missing = int(g.isna().sum())
    if n_missing:
        raise ValueError(f"group column '{group}' has {n_missing} missing value(s)")
    observed = list(pd.unique(g))
    if group_order is None:
        try:
            levels = sorted(observed)
        except TypeError as exc:  # mixed, unorderable types
            raise ValueError(
                f"group column '{group}' has values that cannot be sorted; pass group_order"
            ) from exc
    else:
        levels = list(group_order)
        if len(set(levels)) != len(levels):
            raise ValueError(f"group_order has duplicated levels: {levels}")
        unknown = [v for v in observed if v not in levels]
        if unknown:
            n_bad = int(g.isin(unknown).sum())
            raise ValueError(
                f"group column '{group}' has {n_bad} row(s) with values not in group_order: "
                f"{unknown}"
            )
        empty = [lv for lv in levels if lv not in observed]
        if empty and not allow_empty:
            raise ValueError(f"group_order level(s) with no rows in '{group}': {empty}")
    return g.to_numpy(dtype=object), levels


def check_levels(s: pd.Series, name: str, levels: Sequence[Any],
                 what: str = "covariate column") -> list[Any]:
    """The level order of a categorical variable, checked: at least two distinct levels and
    every value among them (errors name the column, the count and the stray values)."""
    levels = list(levels)
    if len(levels) < 2 or len(set(levels)) != len(levels):
        raise ValueError(f"categorical levels for '{name}' must be >= 2 distinct values")
    bad = ~s.isin(levels)
    if bad.any():
        raise ValueError(
            f"{what} '{name}' has {int(bad.sum())} value(s) not in its levels {levels}: "
            f"{sorted(map(str, pd.unique(s[bad])))}"
        )
    return levels


def outcome01(y: pd.Series, name: str, what: str = "outcome column") -> np.ndarray:
    """A 0/1 (or boolean) column as a float array; anything else is an error naming it."""
    if pd.api.types.is_bool_dtype(y):
        return y.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(y):
        raise ValueError(f"{what} '{name}' must be coded 0/1 (dtype {y.dtype})")
    yf = y.to_numpy(dtype=float)
    bad = int((~np.isin(yf, (0.0, 1.0))).sum())
    if bad:
        raise ValueError(f"{what} '{name}' has {bad} value(s) not in {{0, 1}}")
    return yf
