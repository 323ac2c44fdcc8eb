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


# --- issue 14: last contact = death date, durations as recorded, ISH signal totals ------------

def _survival_frame():
    # 0: died, no last contact; 1: alive, no last contact; 2: alive with contact;
    # 3: no dates at all but OS/EFS as recorded durations (weeks converted at ingest)
    return pd.DataFrame({
        "surgery_date": [_d("2015-01-01")] * 3 + [pd.NaT],
        "nst_start_date": [_d("2014-09-01")] * 3 + [pd.NaT],
        "recurrence_date": [pd.NaT] * 4,
        "recurrence_type": S([None] * 4, dtype="string"),
        "vital_status": S(["dead", "alive", "alive", None], dtype="string"),
        "death_date": [_d("2017-01-01"), pd.NaT, pd.NaT, pd.NaT],
        "last_contact_date": [pd.NaT, pd.NaT, _d("2019-01-01"), pd.NaT],
        "os_time": [np.nan, np.nan, 99.0, 30.0],
        "os_event": S([None, None, "event", "censored"], dtype="string"),
        "efs_time": [np.nan, np.nan, np.nan, 20.0],
        "efs_event": S([None, None, None, "event"], dtype="string"),
    })


def test_dfs_censors_at_death_when_death_is_not_an_event_and_no_contact():
    df = _survival_frame()
    months_to_death = (pd.Timestamp("2017-01-01") - pd.Timestamp("2015-01-01")).days \
        / DAYS_PER_MONTH
    out = dfs(df, origin="surgery", events=["distant"])
    assert out["dfs_months"].iloc[0] == pytest.approx(months_to_death)
    assert out["dfs_event"].tolist()[:3] == [0, pd.NA, 0]
    assert pd.isna(out["dfs_months"].iloc[1])  # alive without a last contact: unknown
    out = dfs(df, origin="surgery", events=["distant", "death"])
    assert out["dfs_event"].iloc[0] == 1 and out["dfs_event_type"].iloc[0] == "death"


def test_overall_survival_dates_else_recorded_duration():
    from her2cohort.study.endpoints import overall_survival

    out = overall_survival(_survival_frame(), "surgery")
    exp0 = (pd.Timestamp("2017-01-01") - pd.Timestamp("2015-01-01")).days / DAYS_PER_MONTH
    exp2 = (pd.Timestamp("2019-01-01") - pd.Timestamp("2015-01-01")).days / DAYS_PER_MONTH
    assert out["os_months"].iloc[0] == pytest.approx(exp0)
    assert pd.isna(out["os_months"].iloc[1])
    # the dates win where they give OS (row 2's recorded 99 months is not used)
    assert out["os_months"].iloc[2] == pytest.approx(exp2)
    assert out["os_months"].iloc[3] == 30.0
    assert out["os_event"].tolist() == [1, pd.NA, 0, 0]
    assert out["os_source"].tolist() == ["dates", pd.NA, "dates", "recorded time"]


def test_event_free_survival_recorded_duration():
    from her2cohort.study.endpoints import event_free_survival

    out = event_free_survival(_survival_frame(), ["distant"])
    exp0 = (pd.Timestamp("2017-01-01") - pd.Timestamp("2014-09-01")).days / DAYS_PER_MONTH
    assert out["efs_months"].iloc[0] == pytest.approx(exp0)
    assert out["efs_event"].tolist() == [1, pd.NA, 0, 1]
    assert out["efs_months"].iloc[3] == 20.0
    assert out["efs_source"].tolist() == ["dates", pd.NA, "dates", "recorded time"]
    # only the durations recorded (no date columns at all)
    only = _survival_frame()[["os_time", "os_event", "efs_time", "efs_event"]]
    assert event_free_survival(only, [])["efs_months"].iloc[3] == 20.0


def test_ish_from_totals_per_cell_means_and_source():
    from her2cohort.study.her2 import ish_from_totals

    df = pd.DataFrame({
        "her2_signals": [100, np.nan, 90, 60, 80],
        "cep17_signals": [40, np.nan, np.nan, 30, 0],
        "cells_counted": [20, np.nan, 20, 20, 20],
        "ish_ratio": [np.nan, 2.2, np.nan, 2.0, np.nan],
        "her2_copies": [np.nan, 5.0, np.nan, np.nan, np.nan],
    })
    out = ish_from_totals(df)
    assert out["ish_ratio"].tolist()[:4] == [2.5, 2.2, pytest.approx(np.nan, nan_ok=True), 2.0]
    assert out["her2_copies"].tolist() == [5.0, 5.0, 4.5, 3.0, 4.0]
    assert pd.isna(out["ish_ratio"].iloc[4])  # no CEP17 signals: no ratio, never inf
    assert out["ish_source"].tolist() == ["signal totals", "recorded", "signal totals",
                                          "recorded and signal totals", "signal totals"]


def test_ish_totals_disagreeing_with_the_recorded_numbers_is_a_problem():
    from her2cohort.study.checks import domain_rules

    df = pd.DataFrame({
        "her2_signals": [100.0, 100.0, 100.0], "cep17_signals": [40.0, 40.0, 40.0],
        "cells_counted": [20.0, 20.0, 20.0],
        "ish_ratio": [2.5, 2.54, 1.9], "her2_copies": [5.0, 5.0, 6.0],
    })
    rules = {r.name: r for r in domain_rules() if r.rule == "ish_totals_inconsistent"}
    assert rules["ish_totals_inconsistent:ratio"].ok(df).tolist() == [True, True, False]
    assert rules["ish_totals_inconsistent:copies"].ok(df).tolist() == [True, True, False]
    msg = rules["ish_totals_inconsistent:ratio"].message(df.iloc[2])
    assert msg == ("HER2/CEP17 ratio recorded as 1.9 but the signal totals give HER2 signals / "
                   "CEP17 signals = 2.50; the two forms differ by more than 0.05")


def test_derive_uses_ish_totals_and_settles_her2_without_ihc():
    from her2cohort.data.fields import FIELDS
    from her2cohort.study.derive import derive

    n = 3
    cols = {}
    for f in FIELDS:
        if f.kind == "date":
            cols[f.name] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
        elif f.kind == "number":
            cols[f.name] = pd.Series(np.nan, index=range(n), dtype="float64")
        else:
            cols[f.name] = pd.Series(pd.NA, index=range(n), dtype="string")
    df = pd.DataFrame(cols)
    df["her2_signals"] = [100.0, 60.0, 110.0]  # ratio 2.5 copies 5.0 (group 1); 1.5/3.0
    df["cep17_signals"] = [40.0, 40.0, 55.0]   # (group 5); 2.0/5.5 (group 1)
    df["cells_counted"] = [20.0, 20.0, 20.0]
    df["her2_ihc"] = pd.Series([pd.NA, pd.NA, "2+"], dtype="string")
    out = derive(df)
    assert out["ish_ratio"].tolist() == [2.5, 1.5, 2.0]
    assert out["her2_copies"].tolist() == [5.0, 3.0, 5.5]
    assert out["ish_source"].tolist() == ["signal totals"] * 3
    assert out["ish_group"].tolist() == [1, 5, 1]
    assert out["her2_status"].tolist() == ["positive", "negative", "positive"]
    assert out["her2_class"].tolist() == ["unknown", "unknown", "2+/ISH+"]


def test_ish_from_totals_without_any_numbers_is_missing():
    from her2cohort.study.her2 import ish_from_totals

    out = ish_from_totals(pd.DataFrame({"her2_ihc": ["3+", None]}))
    assert out["ish_ratio"].isna().all() and out["her2_copies"].isna().all()
    assert out["ish_source"].isna().all()
