"""Reading only the columns a stage reads (stages/columns.py): the columns kept are read exactly
as the whole file reads them, and the rows copied file-to-file are the file pandas writes."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt

from her2cohort.stages.columns import (endpoint_prefixes, named_in, read_analysis,
                                       read_columns, take_rows)
from her2cohort.stages.common import write_parquet


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "centre": pd.array(["A", "B", None, "A"], dtype="string"),
        "patient_key": pd.array(["P1", "P2", "P3", "P4"], dtype="string"),
        "ct": pd.array(["T1", None, "T3", "T2"], dtype="string"),
        "pcr": pd.array([True, None, False, True], dtype="boolean"),
        "dfs_months": [1.5, 2.0, None, 4.25],
        "dfs_event": pd.array([0, 1, None, 1], dtype="Int8"),
        "dfsx": [1.0, 2.0, 3.0, 4.0],
        "os_months": [1.0, 2.0, 3.0, 4.0],
        "ish_ratio": [2.1, None, 5.0, 7.5],
        "when": pd.to_datetime(["2020-01-01", None, "2021-02-03", "2022-03-04"]),
    })


def test_named_in_walks_nested_values_and_keys():
    params = {"cox": {"covariates": [{"name": "ct", "label": "Clinical T"}], "strata": None},
              "groups": {"column": "her2_class", "levels": ["3+", "2+/ISH+"]},
              "min_events": 5, "trend": [{"variable": "ish_ratio", "breaks": [2, 5]}]}
    assert named_in(params) == {"cox", "covariates", "name", "ct", "label", "Clinical T",
                                "strata", "groups", "column", "her2_class", "levels", "3+",
                                "2+/ISH+", "min_events", "trend", "variable", "ish_ratio",
                                "breaks"}


def test_read_columns_keeps_file_order_and_dtypes(tmp_path):
    df = _table()
    path = tmp_path / "t.parquet"
    write_parquet(df, path)
    got = read_columns(path, {"pcr", "centre", "no_such_column"}, endpoint_prefixes({"dfs": {}}))
    # dfs_ prefix: dfs_months and dfs_event, not dfsx; file order, not the order asked
    assert list(got.columns) == ["centre", "pcr", "dfs_months", "dfs_event"]
    pdt.assert_frame_equal(got, pd.read_parquet(path)[list(got.columns)])


def test_read_analysis_takes_the_columns_the_params_name(tmp_path):
    path = tmp_path / "t.parquet"
    write_parquet(_table(), path)
    got = read_analysis(path, {"covariates": [{"name": "ct"}], "endpoints": {"os": {}}},
                        "pcr")
    # ct (params), os_* (endpoints), pcr (extra); not the rest
    assert list(got.columns) == ["ct", "pcr", "os_months"]


def test_take_rows_writes_the_file_pandas_writes(tmp_path):
    df = _table()
    src, ours, theirs = tmp_path / "all.parquet", tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(df, src)
    rows = [0, 2, 3]
    take_rows(src, rows, ours)
    write_parquet(pd.read_parquet(src).iloc[rows].reset_index(drop=True), theirs)
    assert ours.read_bytes() == theirs.read_bytes()
    pdt.assert_frame_equal(pd.read_parquet(ours), df.iloc[rows].reset_index(drop=True))
