"""Parquet centre files as registries and databases really export them: exotic Arrow types in
mapped and unmapped columns, typed IDs, repeated or unnormalised column names, INT96
timestamps, and numbers at the edges of a float. Each is read as what it holds or is a problem
naming the file, the column and what was expected; nothing stops with a traceback, and no value
is dropped or changed silently.

Every file here is SIMULATED (constructed in the test), not patient data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from her2cohort.data.ingest import ingest
from parquet_centres import ingest_resolved, parquet_centre

IDS = ["a", "b", "c"]


def _ingest(paths):
    df, problems = ingest_resolved(paths)
    return df, [p for p in problems if p.rule != "column_unmapped"]


def _uuids(n: int) -> pa.Array:
    storage = pa.array([uuid.UUID(int=i * 0x0123456789ABCDEF).bytes for i in range(n)],
                       pa.binary(16))
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def test_unmapped_columns_of_any_type_do_not_stop_the_read(tmp_path):
    """A database export carries columns the study does not use: lists, structs, maps, raw
    bytes, times, durations, UUIDs. They are ignored like any unmapped column."""
    table = pa.table({
        "id": IDS, "er": pa.array([10.0, 20.0, 30.0]),
        "tags": pa.array([["a"], [], None]),
        "meta": pa.array([{"k": 1}, None, {"k": 2}]),
        "attrs": pa.array([[("k", "v")], None, []], pa.map_(pa.string(), pa.string())),
        "blob": pa.array([b"\xff\xfe", None, b"\x00"]),
        "at": pa.array([dt.time(1)] * 3, pa.time64("us")),
        "took": pa.array([dt.timedelta(1)] * 3, pa.duration("ms")),
        "nothing": pa.nulls(3),
        "guid": _uuids(3)})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})])
    assert problems == [], [p.message for p in problems]
    assert df["er_pct"].tolist() == [10.0, 20.0, 30.0]


@pytest.mark.parametrize("column, field, what", [
    (pa.array([["3+"], ["0", "1+"], None]), "her2_ihc", "lists of values"),
    (pa.array([{"a": "3+"}, {"a": "0"}, None]), "her2_ihc", "records of several fields"),
    (pa.array([[("a", "3+")], [], None], pa.map_(pa.string(), pa.string())), "her2_ihc",
     "key-value maps"),
    (pa.array([b"3+", b"\xff\xfe", None]), "her2_ihc", "bytes that are not UTF-8 text"),
    (pa.array([dt.time(1, 2), dt.time(3, 4), None], pa.time32("s")), "diagnosis_date",
     "times of day"),
    # a duration in seconds read as a number would be 2592000 months
    (pa.array([dt.timedelta(days=30), dt.timedelta(days=1), None], pa.duration("s")),
     "dfs_time", "durations"),
])
def test_a_mapped_column_that_holds_no_single_values_is_one_column_type_problem(
        tmp_path, column, field, what):
    table = pa.table({"id": IDS, "x": column, "er": pa.array([10.0, 20.0, 30.0])})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", field: "x", "er_pct": "er"})
    df, problems = _ingest([mp])
    (p,) = problems
    # bytes: the row of the first value that is not UTF-8 (the second: row 3); else the header
    row = 3 if what == "bytes that are not UTF-8 text" else 1
    assert (p.rule, p.action, p.row, p.column) == ("column_type", "fail", row, "x")
    assert ("; the first in row 3)" in p.message) == (row == 3)
    assert p.file.endswith("PQ.parquet") and "PQ.yaml" in p.message
    assert f"holds {what} (Parquet type " in p.message and f"'{field}'" in p.message
    assert "expected " in p.message
    # the rest of the file is read: every other problem is found in the same run
    assert df["er_pct"].tolist() == [10.0, 20.0, 30.0]
    assert df[field].isna().all()


def test_an_id_column_of_bytes_stops_the_file_with_its_name(tmp_path):
    table = pa.table({"id": pa.array([b"\x00\x01", b"\xff", b"ab"]), "er": [1.0, 2.0, 3.0]})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})])
    (p,) = problems
    assert (p.rule, p.column) == ("file_parse", "id")
    assert "bytes that are not UTF-8 text (Parquet type binary; the first in row 3)" in p.message
    assert "expected one ID per row" in p.message


@pytest.mark.parametrize("kind, bad", [("binary", 0), ("binary", 4_999), ("binary", 5_000),
                                       ("binary", 19_999), ("large_binary", 12_345),
                                       ("fixed", 12_345)])
def test_the_first_value_that_is_not_utf8_is_found_across_row_groups(tmp_path, kind, bad):
    """Arrow's UTF-8 check names no value: the reader finds the first bad one (here in one of
    four row groups, among 20,000 rows; a later bad value does not move it)."""
    n = 20_000
    values = [b"ab"] * n
    values[bad] = b"\xff\xfe"
    values[min(bad + 7, n - 1)] = b"\xc3\x28"  # a second, later one
    t = {"binary": pa.binary(), "large_binary": pa.large_binary(), "fixed": pa.binary(2)}[kind]
    table = pa.table({"id": pa.array([f"P{i}" for i in range(n)]), "x": pa.array(values, t)})
    mp = parquet_centre(tmp_path, None, {"patient_id": "id", "her2_ihc": "x"},
                        write=lambda f: pq.write_table(table, f, row_group_size=n // 4))
    _, problems = _ingest([mp])
    (p,) = problems
    assert (p.rule, p.row) == ("column_type", bad + 2)
    assert f"; the first in row {bad + 2})" in p.message


@pytest.mark.parametrize("column, what", [
    (pa.array([dt.date(2019, 4, 14), dt.date(2019, 4, 15), dt.date(2019, 4, 16)]), "dates"),
    (pa.array([True, False, True]), "true/false values"),
])
def test_an_id_column_of_dates_or_booleans_stops_the_file_naming_the_mapping(tmp_path, column,
                                                                              what):
    """Dates or true/false values are no patient IDs (most likely the mapping names another
    column): they were read as the IDs '2019-04-14' or 'true'."""
    table = pa.table({"id": column, "er": [1.0, 2.0, 3.0]})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})])
    (p,) = problems
    assert (p.rule, p.column) == ("file_parse", "id")
    assert f"holds {what}" in p.message and "columns: patient_id:" in p.message


def test_uuid_ids_read_as_their_standard_text(tmp_path):
    """Arrow's cast of a UUID to text gives its 16 raw bytes (control characters, or an
    error): the ID is its 8-4-4-4-12 hex form, so it matches the same UUID sent as text."""
    ids = _uuids(3)
    table = pa.table({"id": ids, "er": [1.0, 2.0, 3.0]})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})])
    assert problems == []
    text = [str(uuid.UUID(bytes=b)) for b in ids.storage.to_pylist()]
    (tmp_path / "T.csv").write_text("id,er\n" + "".join(f"{t},{i}\n" for i, t in
                                                        enumerate(text, 1)), "utf-8")
    m = {"centre": "T", "file": str(tmp_path / "T.csv"),
         "columns": {"patient_id": "id", "er_pct": "er"}}
    (tmp_path / "T.yaml").write_text(yaml.safe_dump(m), "utf-8")
    as_text, _ = _ingest([str(tmp_path / "T.yaml")])
    assert df["patient_key"].tolist() == as_text["patient_key"].tolist()


@pytest.mark.parametrize("column", [
    pa.array(["3+", "0", None], pa.large_string()),
    pa.array(["3+", "0", None], pa.string_view()),
    pa.array([b"3+", b"0", None], pa.binary()),
    pa.array([b"3+", b"0 ", None], pa.binary(2)),
    pa.array(["3+", "0", None]).dictionary_encode().cast(pa.dictionary(pa.int8(), pa.string())),
])
def test_text_of_any_arrow_string_type_is_text(tmp_path, column):
    table = pa.table({"id": IDS, "x": column})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "her2_ihc": "x"})])
    assert problems == []
    assert df["her2_ihc"].tolist()[:2] == ["3+", "0"] and df["her2_ihc"].isna().tolist()[2]


@pytest.mark.parametrize("column", [
    pa.array([Decimal("1"), Decimal("3.0"), None], pa.decimal128(5, 1)),
    pa.array([Decimal("1"), Decimal("3"), None], pa.decimal128(38, 30)),
    pa.array([1.0, 3.0, None]),
    pa.array([1, 3, None], pa.int8()),
])
def test_a_typed_code_reads_as_the_code_whatever_the_number_type(tmp_path, column):
    """Grade 1 stored as NUMBER(5,1) is written 1.0 by Arrow; as a float or an integer it is
    1: all are grade 1."""
    table = pa.table({"id": IDS, "g": column})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "grade": "g"})])
    assert problems == [], [p.message for p in problems]
    assert df["grade"].tolist()[:2] == ["1", "3"]


def test_decimals_keep_their_value_without_their_trailing_zeros(tmp_path):
    table = pa.table({"id": IDS, "er": pa.array([Decimal("12.50"), Decimal("100.00"),
                                                  Decimal("0.05")], pa.decimal128(38, 30))})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})])
    assert problems == []
    assert df["er_pct"].tolist() == [12.5, 100.0, 0.05]


def test_a_half_float_reads_as_the_decimal_it_stands_for(tmp_path):
    """float16 0.1 is 0.0999755859375: read as 0.1, the shortest decimal that is the value
    (as float32 columns are), not as 0.099976."""
    x = np.array([12.5, 0.1, 33.3, 1.0], np.float16)
    table = pa.table({"id": IDS + ["d"], "er": pa.array(x), "g": pa.array(x[[3, 3, 3, 3]])})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er",
                                                      "grade": "g"})])
    assert problems == []
    assert df["er_pct"].tolist() == [12.5, 0.1, 33.3, 1.0]
    assert df["grade"].tolist() == ["1"] * 4


def test_the_largest_float_is_kept_not_turned_into_infinity(tmp_path):
    """1e308 is a number (out of range for ER, which validation reports); rounding it to six
    decimals would overflow to infinity."""
    table = pa.table({"id": IDS, "er": pa.array([1e308, -0.0, 5.0])})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})])
    assert problems == []
    assert df["er_pct"].tolist() == [1e308, 0.0, 5.0]


def test_a_float_id_column_with_rounded_ids_and_nan(tmp_path):
    """IDs typed as double: 1.0 is the ID 1; an ID beyond 16 digits was rounded by the export
    (id_mangled, saying so, not blaming Excel); NaN is no ID (missing, not the ID 'nan')."""
    table = pa.table({"id": pa.array([1.0, 1.2345678901234567e17, float("nan"), None,
                                      float("inf")]),
                      "er": [1.0, 2.0, 3.0, 4.0, 5.0]})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})])
    by = {(p.rule, p.row) for p in problems}
    assert by == {("id_mangled", 3), ("missing_required", 4), ("missing_required", 5),
                  ("missing_required", 6)}  # NaN, null and infinity: no ID
    (m,) = [p for p in problems if p.rule == "id_mangled"]
    assert "Parquet type double" in m.message and "Excel" not in m.message
    assert m.value is None  # an ID is never shown


def test_a_repeated_column_name_is_named_not_an_arrow_error(tmp_path):
    """Two columns named 'er' (or 'er' and ' er '): which one is meant cannot be told."""
    def write(f, names):
        pq.write_table(pa.Table.from_arrays([pa.array(IDS), pa.array([1.0, 2.0, 3.0]),
                                             pa.array([4.0, 5.0, 6.0])], names=names), f)

    for names in (["id", "er", "er"], ["id", "er", " er "]):
        mp = parquet_centre(tmp_path, None, {"patient_id": "id", "er_pct": "er"},
                     write=lambda f, n=names: write(f, n))
        _, problems = _ingest([mp])
        assert [(p.rule, p.column, p.row) for p in problems] == \
            [("column_duplicated", "er", 1)], names


def test_column_names_and_text_are_normalised_as_csv_cells_are(tmp_path):
    """A decomposed accent (e + U+0301), a no-break space, a zero-width space: the same
    normalisation as a CSV file's cells and header."""
    table = pa.table({"Patienten-Nr.": ["a\u200b", "b", "c"],
                      " Re\u0301cepteur RE %\t": pa.array([1.0, 2.0, 3.0]),
                      "ihc": ["3+\u00a0", "\u200b0", "2+"],
                      "hist": ["Lobula\u0308r", "IDC", None]})
    mp = parquet_centre(tmp_path, table, {"patient_id": "Patienten-Nr.", "er_pct": "Récepteur RE %",
                                   "her2_ihc": "ihc", "histology": "hist"},
                 values={"histology": {"Lobulär": "ILC"}})
    df, problems = _ingest([mp])
    assert problems == [], [p.message for p in problems]
    assert df["her2_ihc"].tolist() == ["3+", "0", "2+"]
    assert df["histology"].tolist()[:2] == ["ILC", "IDC"]


def test_a_file_without_columns_says_so(tmp_path):
    mp = parquet_centre(tmp_path, pa.table({}), {"patient_id": "id", "er_pct": "er"})
    _, problems = _ingest([mp])
    (p,) = problems
    assert p.rule == "file_empty" and "no columns" in p.message


def test_int96_timestamps_at_the_open_end_are_bad_dates_not_another_year(tmp_path):
    """Older Hive/Impala/Spark exports write timestamps as INT96; read in nanoseconds,
    9999-12-31 wraps around to 1816: read in microseconds it is the open-end marker it is."""
    table = pa.table({"id": IDS, "dx": pa.array([dt.datetime(9999, 12, 31),
                                                 dt.datetime(2019, 1, 2, 10), None],
                                                pa.timestamp("us"))})
    mp = parquet_centre(tmp_path, None, {"patient_id": "id", "diagnosis_date": "dx"},
                 write=lambda f: pq.write_table(table, f, use_deprecated_int96_timestamps=True))
    df, problems = _ingest([mp])
    bad = [p for p in problems if p.rule == "bad_date"]
    assert [(p.row, p.column) for p in bad] == [(2, "dx")]
    assert "in the year 9999" in bad[0].message
    assert df["diagnosis_date"].isna().tolist() == [True, False, True]
    assert str(df["diagnosis_date"][1].date()) == "2019-01-02"


def test_a_damaged_file_says_what_to_do(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": IDS, "er": [1.0, 2.0, 3.0]}), good)
    mp = parquet_centre(tmp_path, None, {"patient_id": "id", "er_pct": "er"},
                 write=lambda f: f.write_bytes(good.read_bytes()[:-20]))
    _, problems = _ingest([mp])
    (p,) = problems
    assert p.rule == "file_parse" and p.file.endswith("PQ.parquet")
    assert "ask the centre to export it again" in p.message


def test_a_true_false_column_is_a_code_not_a_number(tmp_path):
    """A bool column reads as true/false, mapped like any code ('true': 'yes'); mapped to a
    number field it is one column_type problem, not one 'not a number' per row."""
    table = pa.table({"id": IDS, "prior": pa.array([True, False, None]),
                      "er": pa.array([True, False, True])})
    mp = parquet_centre(tmp_path, table, {"patient_id": "id", "prior_therapy": "prior",
                                   "er_pct": "er"},
                 values={"prior_therapy": {"true": "yes", "false": "no"}})
    df, problems = _ingest([mp])
    (p,) = problems
    assert (p.rule, p.column, p.row) == ("column_type", "er", 1)
    assert "holds true/false values (Parquet type bool)" in p.message
    assert df["prior_therapy"].tolist()[:2] == ["yes", "no"]
    assert df["er_pct"].isna().all()


def _encrypted_parquet(path) -> None:
    """A Parquet file with an encrypted footer (magic bytes PARE), written by Arrow's own
    encryption when it is built in, else its first and last bytes."""
    try:
        import base64

        import pyarrow.parquet.encryption as pe

        class Kms(pe.KmsClient):
            def __init__(self, config):
                super().__init__()

            def wrap_key(self, key, master):
                return base64.b64encode(key)

            def unwrap_key(self, wrapped, master):
                return base64.b64decode(wrapped)

        props = pe.CryptoFactory(Kms).file_encryption_properties(
            pe.KmsConnectionConfig(), pe.EncryptionConfiguration(footer_key="f",
                                                                 column_keys={"c": ["er"]}))
        table = pa.table({"id": IDS, "er": [1.0, 2.0, 3.0]})
        with pq.ParquetWriter(path, table.schema, encryption_properties=props) as w:
            w.write_table(table)
    except (ImportError, pa.ArrowException):
        path.write_bytes(b"PARE" + bytes(range(256)) * 4 + b"PARE")


@pytest.mark.parametrize("content, expected", [
    (_encrypted_parquet, "an encrypted Apache Parquet file"),
    (lambda f: f.write_bytes(bytes(range(256)) * 8), "not an Apache Parquet file"),
])
def test_an_encrypted_or_foreign_binary_file_is_told_as_parquet(tmp_path, content, expected):
    """Both were told 'not text and not an .xlsx workbook: ask for a CSV or .xlsx export',
    which says nothing of the Parquet file the mapping expects."""
    mp = parquet_centre(tmp_path, None, {"patient_id": "id", "er_pct": "er"}, write=content)
    _, problems = _ingest([mp])
    (p,) = problems
    assert p.rule == "file_parse" and p.file.endswith("PQ.parquet")
    assert expected in p.message and "xlsx" not in p.message


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_a_negative_zero_is_zero(tmp_path, dtype):
    """-0.0 (left by a computation in the exporting database) is the IHC score 0 and ER 0%,
    not the unknown code '-0'."""
    x = pa.array(np.array([-0.0, 0.0, 3.0], dtype))
    table = pa.table({"id": IDS, "ihc": x, "er": x})
    df, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "her2_ihc": "ihc",
                                                      "er_pct": "er"},
                                    values={"her2_ihc": {"3": "3+"}})])
    assert problems == [], [p.message for p in problems]
    assert df["her2_ihc"].tolist() == ["0", "0", "3+"]
    assert [str(v) for v in df["er_pct"]] == ["0.0", "0.0", "3.0"]


def test_a_column_whose_name_starts_with_an_underscore_is_a_column(tmp_path):
    """A database's _id (or a pandas index saved as __index_level_0__) is a column like any
    other: mapped, it is read; unmapped, it is told as ignored (was 'not in the header')."""
    table = pa.table({"_id": IDS, "_er": [1.0, 2.0, 3.0], "__index_level_0__": [7, 8, 9]})
    df, problems = ingest([parquet_centre(tmp_path, table, {"patient_id": "_id", "er_pct": "_er"})],
                          salt="test-salt")
    assert [(p.rule, p.column) for p in problems] == [("column_unmapped", "__index_level_0__")]
    assert df["er_pct"].tolist() == [1.0, 2.0, 3.0] and df["patient_key"].notna().all()


def test_a_column_named_like_the_row_numbers_is_not_overwritten_silently(tmp_path):
    table = pa.table({"id": IDS, "er": [1.0, 2.0, 3.0], "_row": [7, 8, 9]})
    df, problems = ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})],
                          salt="test-salt")
    assert [(p.rule, p.column) for p in problems] == [("column_unmapped", "_row")]
    assert df["source_row"].tolist() == [2, 3, 4]
    _, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "_row"})])
    (p,) = problems
    assert (p.rule, p.column) == ("file_parse", "_row") and "rename the column" in p.message


@pytest.mark.parametrize("column", [
    pa.array([], pa.float16()), pa.array([], pa.timestamp("us", tz="UTC")),
    pa.ExtensionArray.from_storage(pa.uuid(), pa.array([], pa.binary(16))),
    pa.array([], pa.decimal128(5, 2))])
def test_a_header_only_file_of_typed_columns_is_empty(tmp_path, column):
    """A database export of no records keeps its column types: the file is file_empty, as a
    header-only CSV (a float16 column stopped the read with a numpy error)."""
    table = pa.table({"id": pa.array([], pa.string()), "er": column})
    _, problems = _ingest([parquet_centre(tmp_path, table, {"patient_id": "id", "er_pct": "er"})])
    assert [p.rule for p in problems] == ["file_empty"], [p.message for p in problems]
