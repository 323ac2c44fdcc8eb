"""Endpoints and derived variables on constructed data with exact expected values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from her2cohort.study.derive import DAYS_PER_MONTH, ajcc8_stage, cut_groups, dfs, pcr

S = pd.Series


def test_pcr_definitions_truth_table():
    ypt = S(["ypT0", "ypTis", "ypT0", "ypT1a", "ypTis", None, "ypT0"], dtype="string")
    ypn = S(["ypN0", "ypN0", "ypN1", "ypN0", "ypN0(i+)", "ypN0", None], dtype="string")
    default = pcr(ypt, ypn)
    assert default.tolist() == [True, True, False, False, False, pd.NA, pd.NA]
    no_dcis = pcr(ypt, ypn, "ypT0 ypN0")
    assert no_dcis.tolist() == [True, False, False, False, False, pd.NA, pd.NA]
    breast = pcr(ypt, ypn, "ypT0/is")
    assert breast.tolist() == [True, True, True, False, True, pd.NA, True]
    itc = pcr(ypt, ypn, itc_is_pcr=True)
    assert itc.tolist()[4] is True
    with pytest.raises(ValueError, match="unknown pCR definition"):
        pcr(ypt, ypn, "ypT0/is ypN0/i+")


def _d(s):
    return pd.Timestamp(dt.date.fromisoformat(s)) if s else pd.NaT


def test_dfs_events_origin_and_censoring():
    df = pd.DataFrame({
        "surgery_date": [_d("2015-01-01")] * 5 + [pd.NaT],
        "diagnosis_date": [_d("2014-07-01")] * 6,
        "recurrence_date": [_d("2016-01-01"), _d("2016-01-01"), pd.NaT, _d("2017-01-01"),
                            _d("2016-06-01"), pd.NaT],
        "recurrence_type": S(["distant", "dcis", None, "local_regional", "second_primary",
                              None], dtype="string"),
        "death_date": [pd.NaT, pd.NaT, _d("2018-01-01"), _d("2016-05-01"), pd.NaT, pd.NaT],
        "last_contact_date": [_d("2019-01-01"), _d("2020-01-01"), _d("2018-01-01"),
                              _d("2017-03-01"), _d("2021-01-01"), _d("2020-01-01")],
    })
    events = ["ipsilateral_breast", "local_regional", "distant", "contralateral_breast",
              "second_primary", "death"]
    out = dfs(df, origin="surgery", events=events)
    days = [365, (pd.Timestamp("2020-01-01") - pd.Timestamp("2015-01-01")).days,
            (pd.Timestamp("2018-01-01") - pd.Timestamp("2015-01-01")).days,
            (pd.Timestamp("2016-05-01") - pd.Timestamp("2015-01-01")).days,
            (pd.Timestamp("2016-06-01") - pd.Timestamp("2015-01-01")).days]
    np.testing.assert_allclose(out["dfs_months"].iloc[:5], np.array(days) / DAYS_PER_MONTH)
    assert out["dfs_event"].tolist()[:5] == [1, 0, 1, 1, 1]  # DCIS is not an event
    assert out["dfs_event_type"].tolist()[:5] == ["distant", pd.NA, "death", "death",
                                                  "second_primary"]
    assert pd.isna(out["dfs_months"].iloc[5])  # no surgery: no DFS from surgery
    # without second primaries and deaths in the event list
    out2 = dfs(df, origin="surgery", events=["distant", "local_regional"])
    assert out2["dfs_event"].tolist()[:5] == [1, 0, 0, 1, 0]
    # origin at diagnosis gives time for the record without surgery
    out3 = dfs(df, origin="diagnosis", events=events)
    assert out3["dfs_months"].iloc[5] == pytest.approx(
        (pd.Timestamp("2020-01-01") - pd.Timestamp("2014-07-01")).days / DAYS_PER_MONTH)


def test_ajcc8_stage_groups():
    t = S(["T1", "T1", "T2", "T2", "T3", "T3", "T1", "T4", "T2", "T1", None])
    n = S(["N0", "N1", "N0", "N1", "N0", "N1", "N2", "N0", "N3", "N0", "N0"])
    m = S(["M0"] * 9 + ["M1", "M0"])
    assert ajcc8_stage(t, n, m).tolist() == ["IA", "IIA", "IIA", "IIB", "IIB", "IIIA", "IIIA",
                                             "IIIB", "IIIC", "IV", pd.NA]


def test_cut_groups_left_closed():
    x = S([39.99, 40.0, 59.99, 60.0, np.nan])
    assert cut_groups(x, [40, 60], ["<40", "40-59", ">=60"]).tolist() == [
        "<40", "40-59", "40-59", ">=60", pd.NA]
