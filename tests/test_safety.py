"""Redaction by rule (data/safety.py, data/problems.py): what of a bad value may reach results/
and logs/, what ``her2cohort check`` shows at the user's desk, and messages that say what is
wrong without the value. All data here are made up (SIMULATED)."""

from __future__ import annotations

import pandas as pd
import pytest

from her2cohort.data.ingest import _bad_date, harmonize
from her2cohort.data.problems import Problem, format_report, resolve_actions, to_frame
from her2cohort.data.read import _sniff
from her2cohort.data.safety import (
    clean_text,
    is_missing_marker,
    lookalike_note,
    shape,
    shapes,
    shown_shape,
    value_for_console,
    value_for_files,
)


@pytest.mark.parametrize("value, expected", [
    ("Wang Fang", "Llll Llll"),
    ("30/02/2013", "dd/dd/dddd"),
    ("2013-02-30", "dddd-dd-dd"),
    ("\u738b\u82b3", "xx"),  # a name in Chinese: letters without case
    ("call 0151 2345 678", "llll dddd dddd ddd"),
    ("B\u200e", "L?"),  # an invisible mark is a '?', never dropped
    ("3+", "d+"),
    ("41275.5", "ddddd.d"),
])
def test_shape_classes(value, expected):
    assert shape(value) == expected


def test_shown_shape_is_cut_and_gives_the_length():
    assert shown_shape("Wang Fang") == "[shape: Llll Llll]"
    long = "Patient refused surgery, see letter"
    assert shown_shape(long) == f"[shape: {shape(long)[:20]}..., {len(long)} chars]"


def test_shapes_of_a_series_match_the_function_and_keep_missing():
    s = pd.Series(["Wang Fang", None, "30/02/2013", "Wang Fang"], dtype="string")
    out = shapes(s)
    assert out.tolist()[0] == "Llll Llll" and out.tolist()[2] == "dd/dd/dddd"
    assert out.tolist()[3] == "Llll Llll" and pd.isna(out.iloc[1])


@pytest.mark.parametrize("value, kind, expected", [
    ("Wang Fang", "code", "[shape: Llll Llll]"),  # fails a vocabulary: shape only
    ("mucinous", "code", "[shape: llllllll]"),  # longer than a short code
    ("B", "code", "B"),  # a short code (1-3 letters, digits, + or -) is shown
    ("3+", "code", "3+"),
    ("cTx", "code", "cTx"),
    ("4821", "code", "[shape: dddd]"),  # 4 digits: an MRN, not a code
    ("4821", "id", "[identifier]"),  # an identifier of any length: never
    ("7", "id", "[identifier]"),
    ("30/02/2013", "date", "[shape: dd/dd/dddd]"),
    ("130", "number", "130"),  # a number of a numeric field out of range: shown
    ("150000", "number", "150000"),  # was '[id]' (5+ digits)
    ("-5", "number", "-5"),
    ("25.5", "number", "25.5"),
    ("about 30", "number", "[shape: lllll dd]"),  # text in a number column
    ("n/a", "marker", "n/a"),  # a missing-value marker is shown: it is no patient data
    ("'0'", "config", "'0'"),  # a sentinel from the mapping
])
def test_value_for_files(value, kind, expected):
    assert value_for_files(value, kind) == expected


@pytest.mark.parametrize("value, kind, expected", [
    ("Wang Fang", "code", "Wang Fang"),  # at the user's desk codes are shown (to map them)
    ("mucinous", "code", "mucinous"),
    ("4821", "code", "[shape: dddd]"),  # MRN-like: never
    ("4821", "id", "[identifier]"),
    ("call 0151 2345 678", "code", "[shape: llll dddd dddd ddd]"),  # 6+ digits: a phone
    ("30/02/2013", "date", "[shape: dd/dd/dddd]"),
    ("12/03/1961", "code", "[shape: dd/dd/dddd]"),  # a date in a code column
    ("B\u200e", "code", "B\\u200e"),  # invisible characters escaped
])
def test_value_for_console(value, kind, expected):
    assert value_for_console(value, kind) == expected


def _p(value, rule="unknown_code", message="value has no mapping for 'histology'", kind=""):
    p = Problem("centre.csv", 4, "Pabc", "Histology", value, rule, message, kind=kind)
    resolve_actions([p])
    return p


def test_problems_table_and_stage_log_show_the_shape_check_shows_the_code():
    p = _p("Wang Fang")
    assert to_frame([p])["value"].tolist() == ["[shape: Llll Llll]"]
    log = format_report([p], "ingest")
    assert "Wang" not in log and "value [shape: Llll Llll]:" in log
    assert "value 'Wang Fang'" in format_report([p], "check", verbatim=True)


def test_a_value_copied_into_a_message_is_replaced_by_its_shape():
    p = _p("Wang Fang", rule="centre_invalid", message="'Wang Fang' is not a centre code")
    assert to_frame([p])["message"].tolist() == ["'[shape: Llll Llll]' is not a centre code"]
    assert "Wang" not in format_report([p], "ingest")


def test_ranges_and_numbers_stay_visible():
    msgs = ["Mean HER2 copies/cell 0.05 is outside the plausible range 0.1-100",
            "HER2 signals counted 150000 is outside the plausible range 1-100000"]
    probs = [_p(v, rule="out_of_range", message=m) for v, m in zip(["0.05", "150000"], msgs)]
    table = to_frame(probs)
    assert table["value"].tolist() == ["0.05", "150000"]
    assert table["message"].tolist() == msgs
    assert all(m in format_report(probs, "validate") for m in msgs)


def test_identifier_problems_never_show_the_value():
    p = _p("JS1-504524", rule="duplicate_id", message="the same patient ID as row 2")
    assert to_frame([p])["value"].tolist() == ["[identifier]"]
    assert "504524" not in format_report([p], "check", verbatim=True)


@pytest.mark.parametrize("value, fmt, fragments, kind", [
    ("30/02/2013", "%d/%m/%Y", ["'dd/dd/dddd' is not a real date", "(day 30 of month 02?)"],
     "date"),
    ("29/02/2019", "%d/%m/%Y", ["day 29 of month 02 in a year that is not a leap year"], "date"),
    ("13/13/2013", "%d/%m/%Y", ["(month 13?)"], "date"),
    ("2013-02-30", "iso", ["(day 30 of month 02?)"], "date"),
    ("05/14/2013", "%d/%m/%Y", ["(month 14?)", "day and month swapped"], "date"),
    ("n/a", "%d/%m/%Y", ["'n/a' in a date column looks like a missing-value marker",
                         "add it under 'missing:' in m.yaml"], "marker"),
    ("43830", "%d/%m/%Y", ["'ddddd' is a number, not a date",
                           "read as an Excel serial date", "date_format: excel_serial"], "date"),
    ("2013.02.01", "%d/%m/%Y", ["'dddd.dd.dd' does not match the format",
                                "expected a date like 31/12/2019"], "date"),
])
def test_bad_date_says_what_is_wrong_without_the_value(value, fmt, fragments, kind):
    msg, got_kind = _bad_date(value, "surgery_date", fmt, "m.yaml")
    assert got_kind == kind
    for f in fragments:
        assert f in msg, msg
    if kind != "marker":
        assert value not in msg


def test_missing_markers():
    assert all(is_missing_marker(v) for v in ("n/a", "NA", " N/A ", "-", "unknown", "\u4e0d\u8be6"))
    assert not any(is_missing_marker(v) for v in ("B", "0", "none of them"))


def test_lookalike_note_does_not_spell_out_a_name():
    assert lookalike_note("\u738b\u82b3", ["left", "right"]) == ""  # a name in Chinese
    assert "CYRILLIC" in lookalike_note("c\u041c1", ["M0", "M1", "cM1"])
    assert "FULLWIDTH DIGIT THREE" in lookalike_note("\uff13+", ["2+", "3+"])


@pytest.mark.parametrize("data, kind", [
    (b"", "empty"),
    (b"PK\x03\x04rest of a zip", "xlsx"),
    ("Patient;Side\r\n1;L\r\n".encode("utf-8"), "text"),
    ("Patient;Réévaluation\r\n".encode("cp1252"), "text"),
    (bytes(range(256)) * 4, "binary"),
])
def test_sniff_by_magic_bytes(tmp_path, data, kind):
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    assert _sniff(path) == kind


# --- property: nothing typed into a coded column reaches results/ or logs/ verbatim ----------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


def _outputs(value: str) -> str:
    """The problems table (as written to results/qc) and the stage summary (logs/) for one
    record whose 'Side' cell holds ``value``."""
    import tempfile
    from pathlib import Path

    from her2cohort.stages.common import write_csv

    raw = pd.DataFrame({"ID": ["ID-1"], "Side": [value], "_row": [2]})
    mapping = {"centre": "XX", "file": "x.csv", "_path": "x.yaml",
               "columns": {"patient_id": "ID", "laterality": "Side"}}
    _, problems = harmonize(raw, mapping, salt="s")
    resolve_actions(problems)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "problems.csv"
        write_csv(to_frame(problems), out)  # as the ingest stage writes results/qc
        table = out.read_text("utf-8")
    return table + format_report(problems, "ingest")


_BASELINE = _outputs("Qzqz Qzqz")


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                          max_size=30))
def test_no_string_typed_into_a_coded_column_is_echoed(text):
    value = clean_text(text).strip()
    # short codes (1-3 ASCII letters, digits, + or -) and missing-value markers are shown by
    # the rule; vocabulary entries are no patient data; a string that is part of every report
    # ('mapping') or equal to its own shape ('llll') cannot be told apart from the report's
    # own words
    hypothesis.assume(len(value) >= 1 and value not in ("left", "right"))
    hypothesis.assume(not is_missing_marker(value))  # 'n/a', 'NULL': shown, with the hint
    hypothesis.assume(value_for_files(value, "code") != value)
    hypothesis.assume(value not in _BASELINE and value not in shown_shape(value))
    assert value not in _outputs(text)


@pytest.mark.parametrize("value, kind", [("20191231", "number"), ("01/01/1900", "config"),
                                         ("2013-02-30", "code")])
def test_dates_are_shapes_whatever_the_kind(value, kind):
    assert value_for_files(value, kind) == shown_shape(value)
    assert value_for_console(value, kind) == shown_shape(value)


def test_internal_error_text_shows_quoted_cells_by_their_shape():
    from her2cohort.data.safety import redact_quoted

    msg = "could not convert string to float: 'Wang Fang' (column 'er_pct', code '3+', 1.5)"
    assert redact_quoted(msg) == ("could not convert string to float: '[shape: Llll Llll]' "
                                  "(column 'er_pct', code '3+', 1.5)")
    assert "[date]" in redact_quoted("bad value 12/03/1961")


def test_a_stage_internal_error_does_not_echo_a_quoted_cell(capsys, monkeypatch):
    """An unexpected exception inside a stage quoting a cell: stderr (logs/) shows its shape."""
    import types

    from her2cohort import stages

    def boom(**_):
        float("Wang Fang")

    monkeypatch.setitem(__import__("sys").modules, "her2cohort.stages.ingest",
                        types.SimpleNamespace(main=boom))
    monkeypatch.delenv("HER2COHORT_DEBUG", raising=False)
    assert stages.run("ingest") == 1
    err = capsys.readouterr().err
    assert "Wang" not in err and "[shape: Llll Llll]" in err
