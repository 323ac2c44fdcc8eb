"""The cross-field rules of data/validate.py evaluated as masks (``rule_failures``): which rows
fail, in which order, and how a rule that cannot be evaluated is reported. Constructed data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from her2cohort.data.validate import Rule, rule_failures


def _rule(name, ok):
    return Rule(name, name, "a", ok, lambda r: name)


def _table():
    return pd.DataFrame({"a": [1.0, 5.0, np.nan, 7.0, 2.0],
                         "b": [2.0, 1.0, 3.0, np.nan, 1.0]},
                        index=[10, 11, 12, 13, 14])


def test_failing_rows_in_rule_then_table_order():
    rules = [_rule("b_before_a", lambda df: ~(df["a"] > df["b"]).fillna(False)),
             _rule("passes", lambda df: pd.Series(True, index=df.index)),
             _rule("a_small", lambda df: ~(df["a"] > 1.5).fillna(False))]
    out = rule_failures(_table(), rules)
    assert [r.name for r, _, _ in out] == ["b_before_a", "a_small"]
    assert out[0][1].tolist() == [11, 14]
    assert out[1][1].tolist() == [11, 13, 14]
    assert all(err is None for _, _, err in out)


def test_row_with_every_cell_blank_passes():
    df = _table()
    df.loc[12, "b"] = np.nan  # row 12: a and b blank
    out = rule_failures(df, [_rule("b_given", lambda d: d["b"].notna())])
    assert out[0][1].tolist() == [13]  # 12 is all blank: passes; 13 fails


def test_rule_that_raises_or_misaligns_is_one_failure_of_the_whole_rule():
    def boom(df):
        raise KeyError("no_such_column")

    out = rule_failures(_table(), [_rule("boom", boom),
                                   _rule("short", lambda df: df["a"].iloc[:2] > 0)])
    assert out[0][1] is None and out[0][2] == "KeyError(\"no_such_column\")"
    assert out[1][1] is None and out[1][2] == "False"


def test_empty_table_has_no_failures():
    out = rule_failures(_table().iloc[:0], [_rule("b_given", lambda d: d["b"].notna())])
    assert out == []
