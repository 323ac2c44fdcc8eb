"""Typed columns of Parquet centre files: Arrow dates and timestamps are dates whatever the
mapping's ``date_format`` says (it describes text dates), numbers are numbers whatever its
``decimal`` says, text columns keep being parsed by both, and a date column mapped to a field
that is not a date is one problem naming the file, the column and its type.

Every file here is SIMULATED (constructed in the test), not patient data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from parquet_centres import ingest_resolved, parquet_centre

TEXT_FORMATS = ("%d/%m/%Y", "iso", "excel_serial")


def _iso(s: pd.Series) -> list:
    return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in s]


D = [dt.date(2019, 12, 31), None, dt.date(2020, 2, 29), dt.date(1960, 1, 2)]
WANT = ["2019-12-31", None, "2020-02-29", "1960-01-02"]


def _typed(kind: str) -> pa.Array:
    if kind == "date32":
        return pa.array(D, pa.date32())
    if kind == "date64":
        return pa.array(D, pa.date64())
    midnight = [None if d is None else dt.datetime.combine(d, dt.time()) for d in D]
    if kind == "timestamp[us]":
        return pa.array(midnight, pa.timestamp("us"))
    # midnight in Paris: 23:00 or 22:00 UTC the day before (the stored instant)
    return pa.array(pd.Series(midnight).dt.tz_localize("Europe/Paris"),
                    pa.timestamp("ns", tz="Europe/Paris"))


@pytest.mark.parametrize("kind", ["date32", "date64", "timestamp[us]",
                                  "timestamp[ns, tz=Europe/Paris]"])
def test_typed_dates_are_dates_whatever_the_date_format(tmp_path, kind):
    table = pa.table({"id": ["a", "b", "c", "d"], "dx": _typed(kind)})
    for fmt in TEXT_FORMATS:
        mp = parquet_centre(tmp_path, table, {"patient_id": "id", "diagnosis_date": "dx"},
                     date_format=fmt)
        df, problems = ingest_resolved([mp])
        assert problems == [], (fmt, [p.message for p in problems])
        # the null is missing, as a blank text date is
        assert _iso(df["diagnosis_date"]) == WANT, fmt
        assert df["diagnosis_date"].dtype == "datetime64[ns]"


def test_timestamps_give_the_date_in_their_own_zone_and_a_time_of_day_is_told(tmp_path):
    paris = pd.Series(pd.to_datetime(["2019-03-04T23:30:00+01:00", "2019-03-05T00:30:00+01:00",
                                      None, "2019-03-06T00:00:00+01:00"], utc=True))
    naive = [dt.datetime(2019, 3, 4, 23, 30), dt.datetime(2019, 3, 5), None,
             dt.datetime(2019, 3, 6, 8, 15)]
    table = pa.table({"id": ["a", "b", "c", "d"],
                      "dx": pa.array(paris.dt.tz_convert("Europe/Paris"),
                                     pa.timestamp("ns", tz="Europe/Paris")),
                      "nst": pa.array(naive, pa.timestamp("us")),
                      "last": pa.array(paris, pa.timestamp("ms", tz="UTC"))})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", "diagnosis_date": "dx",
                                         "nst_start_date": "nst", "last_contact_date": "last"},
                 date_format="%d/%m/%Y")
    df, problems = ingest_resolved([mp])
    assert _iso(df["diagnosis_date"]) == ["2019-03-04", "2019-03-05", None, "2019-03-06"]
    assert _iso(df["nst_start_date"]) == ["2019-03-04", "2019-03-05", None, "2019-03-06"]
    # the same instants in UTC: 22:30, 23:30 and 23:00 UTC are the day before
    assert _iso(df["last_contact_date"]) == ["2019-03-04", "2019-03-04", None, "2019-03-05"]
    notes = {p.column: p for p in problems}
    assert set(notes) == {"dx", "nst", "last"}
    assert {p.rule for p in problems} == {"date_time_of_day"}
    assert {p.action for p in problems} == {"warn"}
    dx, nst, last = notes["dx"], notes["nst"], notes["last"]
    assert dx.file.endswith("PQ.parquet") and (dx.row, nst.row, last.row) == (2, 2, 2)
    assert "2 value(s)" in dx.message and "timestamp[ns, tz=Europe/Paris]" in dx.message
    assert "2 value(s)" in nst.message and "timestamp[us]" in nst.message
    assert "3 value(s)" in last.message and "time zone UTC" in last.message
    assert "'diagnosis_date'" in dx.message


def test_text_dates_in_parquet_keep_the_date_format_beside_typed_ones(tmp_path):
    table = pa.table({"id": ["a", "b"], "dx": pa.array(D[:1] * 2, pa.date32()),
                      "nst": ["02/01/2020", "2020-01-02"]})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", "diagnosis_date": "dx",
                                         "nst_start_date": "nst"}, date_format="%d/%m/%Y")
    df, problems = ingest_resolved([mp])
    assert _iso(df["diagnosis_date"]) == ["2019-12-31", "2019-12-31"]
    assert _iso(df["nst_start_date"]) == ["2020-01-02", None]
    (p,) = problems
    assert (p.rule, p.row, p.column, p.value) == ("bad_date", 3, "nst", "2020-01-02")
    assert "format %d/%m/%Y" in p.message


def test_a_csv_centre_and_a_parquet_centre_read_alike(tmp_path):
    """One ingest: a CSV centre (text dates dd/mm/yyyy, decimal commas) and a Parquet centre
    (typed dates and numbers) under the same text options give the same records."""
    (tmp_path / "CSV.csv").write_text(
        "id;dx;last;er;ratio;cycles\n"
        "a;31/12/2019;04/03/2021;0,3;2,25;6\n"
        "b;;05/03/2021;12,5;;4\n", encoding="utf-8")
    options = {"delimiter": ";", "decimal": ",", "date_format": "%d/%m/%Y"}
    cols = {"patient_id": "id", "diagnosis_date": "dx", "last_contact_date": "last",
            "er_pct": "er", "ish_ratio": "ratio", "cycles": "cycles"}
    csv = tmp_path / "CSV.yaml"
    csv.write_text(yaml.safe_dump({"centre": "CSV", "file": str(tmp_path / "CSV.csv"),
                                   "columns": cols, **options}), encoding="utf-8")
    table = pa.table({
        "id": ["a", "b"],
        "dx": pa.array([dt.date(2019, 12, 31), None], pa.date32()),
        "last": pa.array(pd.to_datetime(["2021-03-04", "2021-03-05"]).tz_localize(
            "Europe/Paris"), pa.timestamp("ns", tz="Europe/Paris")),
        "er": pa.array([0.1 + 0.2, 12.5], pa.float64()),
        "ratio": pa.array([Decimal("2.25"), None], pa.decimal128(5, 2)),
        "cycles": pa.array([6, 4], pa.int64())})
    pqm = parquet_centre(tmp_path, table, cols, **options)
    df, problems = ingest_resolved([str(csv), pqm])
    assert problems == [], [p.message for p in problems]
    by = {c: g.drop(columns=["centre", "centre_mapping", "source_file"]).reset_index(drop=True)
          for c, g in df.groupby("centre")}
    pd.testing.assert_frame_equal(by["CSV"], by["PQ"])
    assert _iso(by["PQ"]["diagnosis_date"]) == ["2019-12-31", None]
    assert by["PQ"]["er_pct"].tolist() == [0.3, 12.5]
    assert by["PQ"]["ish_ratio"].tolist()[0] == 2.25 and pd.isna(by["PQ"]["ish_ratio"][1])


@pytest.mark.parametrize("decimal", [",", "."])
def test_typed_numbers_are_read_exactly_whatever_the_decimal_mark(tmp_path, decimal):
    rng = np.random.default_rng(5)
    x = np.round(rng.uniform(0, 100, 2000), 3)  # three decimals, as a lab reports them
    x[:4] = [0.1 + 0.2, 12.5, 1e-7, 99.999]
    n = len(x)
    table = pa.table({"id": [f"p{i}" for i in range(n)],
                      "er": pa.array(x, pa.float64()),
                      "pr": pa.array(x.astype(np.float32), pa.float32()),
                      "ki": pa.array([Decimal(f"{v:.3f}") for v in x], pa.decimal128(6, 3)),
                      "signals": pa.array(np.arange(1, n + 1) * 50, pa.int32())})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er", "pr_pct": "pr",
                                         "ki67_pct": "ki", "her2_signals": "signals"},
                 decimal=decimal)
    df, problems = ingest_resolved([mp])
    assert problems == [], [p.message for p in problems][:3]
    # every number is read as the value it holds, to the 6 decimals every number is kept to
    # (as a CSV cell's text is)
    np.testing.assert_array_equal(df["er_pct"].to_numpy(), np.round(x, 6))
    np.testing.assert_array_equal(df["ki67_pct"].to_numpy(), np.round(x, 6))
    # a float32 is read as the shortest decimal that is that float32 (0.1, not 0.100000001)
    want32 = np.array([float(str(v)) for v in x.astype(np.float32)])
    np.testing.assert_array_equal(df["pr_pct"].to_numpy(), np.round(want32, 6))
    assert df["er_pct"][0] == 0.3 and df["er_pct"][1] == 12.5 and df["pr_pct"][1] == 12.5
    np.testing.assert_array_equal(df["her2_signals"].to_numpy(), np.arange(1, n + 1) * 50.0)


def test_a_typed_nan_is_named_with_its_type(tmp_path):
    table = pa.table({"id": ["a", "b", "c"], "er": pa.array([10.0, np.nan, None],
                                                             from_pandas=False)})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"}, decimal=",")
    df, problems = ingest_resolved([mp])
    (p,) = problems
    assert (p.rule, p.row, p.column, p.value, p.action) == ("bad_number", 3, "er", "nan",
                                                             "fail")
    assert "Parquet type double" in p.message and "NaN" in p.message
    assert "missing:" in p.message and "PQ.yaml" in p.message
    assert df["er_pct"][0] == 10.0


def test_a_date_column_mapped_to_a_number_or_code_field_is_one_problem(tmp_path):
    table = pa.table({"id": ["a", "b"],
                      "size": pa.array(D[:2], pa.date32()),
                      "grade": pa.array([dt.datetime(2019, 1, 1), None], pa.timestamp("us")),
                      "dx": pa.array(D[:2], pa.date32())})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", "tumour_size_mm": "size",
                                         "grade": "grade", "diagnosis_date": "dx"},
                 date_format="%d/%m/%Y", decimal=",")
    df, problems = ingest_resolved([mp])
    by = {p.column: p for p in problems}
    assert set(by) == {"size", "grade"} and len(problems) == 2
    size, grade = by["size"], by["grade"]
    assert {p.rule for p in problems} == {"column_type"}
    assert {p.action for p in problems} == {"fail"}
    assert size.file.endswith("PQ.parquet") and size.row == 1
    assert "date32[day]" in size.message and "'tumour_size_mm'" in size.message
    assert "timestamp[us]" in grade.message and "'grade'" in grade.message
    assert "PQ.yaml" in size.message
    assert _iso(df["diagnosis_date"]) == ["2019-12-31", None]


def test_typed_dates_in_a_centre_with_several_files(tmp_path):
    """A Parquet file among a centre's files (files:): its typed dates are dates, the CSV's
    text dates are parsed with the centre's date_format."""
    (tmp_path / "base.csv").write_text("id;dx\nc1;31/12/2019\nc2;01/02/2018\n", "utf-8")
    pq.write_table(pa.table({"id": ["c2", "c1"],
                             "last": pa.array([dt.date(2021, 3, 4), dt.date(2020, 1, 2)],
                                              pa.date32())}), tmp_path / "out.parquet")
    m = {"centre": "MF", "delimiter": ";", "date_format": "%d/%m/%Y",
         "files": [{"name": "base", "file": str(tmp_path / "base.csv")},
                   {"name": "out", "file": str(tmp_path / "out.parquet"),
                    "format": "parquet"}],
         "columns": {"patient_id": "id", "diagnosis_date": "dx", "last_contact_date": "last"}}
    mp = tmp_path / "mf.yaml"
    mp.write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    df, problems = ingest_resolved([str(mp)])
    assert problems == [], [p.message for p in problems]
    assert _iso(df["diagnosis_date"]) == ["2019-12-31", "2018-02-01"]
    assert _iso(df["last_contact_date"]) == ["2020-01-02", "2021-03-04"]


@pytest.mark.parametrize("fmt, text, year", [
    ("%d/%m/%Y", "31/12/9999", 9999),   # a database's open end
    ("%d/%m/%Y", "01/01/0001", 1),
    ("iso", "9999-12-31", 9999),
    ("excel_serial", "999999", 4637),   # Excel's serial day 999999
])
def test_dates_outside_the_storable_years_are_problems_not_crashes(tmp_path, fmt, text, year):
    """A date pandas cannot hold (before 1677-09-22 or after 2262-04-11) is a bad_date problem
    that says so and how to declare a marker, not an unexpected error; declared under
    ``missing:`` it is not recorded. (CSV and typed Parquet dates alike: a typed date is read
    through the same text.)"""
    f = tmp_path / "C.csv"
    f.write_text(f"id,dx\na,{text}\nb,\n", encoding="utf-8")
    m = {"centre": "C", "file": str(f), "columns": {"patient_id": "id", "diagnosis_date": "dx"},
         "date_format": fmt}
    path = tmp_path / "C.yaml"
    path.write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    df, problems = ingest_resolved([str(path)])
    bad = [p for p in problems if p.rule == "bad_date"]
    assert [(p.row, p.column) for p in bad] == [(2, "dx")]
    assert f"in the year {year}, outside the years a record can hold" in bad[0].message
    assert "add it under 'missing:'" in bad[0].message
    m["missing"] = ["", text]
    path.write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    df, problems = ingest_resolved([str(path)])
    assert [p for p in problems if p.rule == "bad_date"] == []
    assert df["diagnosis_date"].isna().all()


def test_a_typed_open_end_date_is_a_problem(tmp_path):
    table = pa.table({"id": ["a", "b"], "dx": pa.array([dt.date(9999, 12, 31),
                                                         dt.date(2019, 1, 2)], pa.date32())})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", "diagnosis_date": "dx"})
    df, problems = ingest_resolved([mp])
    assert [(p.row, p.rule) for p in problems] == [(2, "bad_date")]
    assert "in the year 9999" in problems[0].message
    assert _iso(df["diagnosis_date"]) == [None, "2019-01-02"]


def test_an_open_end_timestamp_moved_past_the_year_9999_by_its_zone_is_told(tmp_path):
    """9999-12-31T23:30 UTC is 10000-01-01 in Berlin: the out-of-range message with the
    year, not 'does not match the format'."""
    ts = pa.array(pd.Series(pd.to_datetime(["2019-01-02T10:00:00", "2019-01-03T10:00:00"])
                            ).dt.tz_localize("UTC"), pa.timestamp("us", tz="UTC"))
    late = pa.array([dt.datetime(9999, 12, 31, 23, 30)], pa.timestamp("us")).cast(
        pa.timestamp("us", tz="Europe/Berlin"))
    col = pa.concat_arrays([late, ts.cast(pa.timestamp("us", tz="Europe/Berlin"))])
    table = pa.table({"id": ["a", "b", "c"], "dx": col})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", "diagnosis_date": "dx"})
    df, problems = ingest_resolved([mp])
    bad = [p for p in problems if p.rule == "bad_date"]
    assert [p.row for p in bad] == [2]
    assert "in the year 10000, outside the years a record can hold" in bad[0].message
    assert _iso(df["diagnosis_date"]) == [None, "2019-01-02", "2019-01-03"]
