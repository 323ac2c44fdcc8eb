"""Messages (issue 17, item 5): ``check --problems FILE`` writes the problems table it names;
a column failing one rule on many rows is one line with the count, the first rows, an example
shape and, for dates, the common format that reads the values; "did you mean" for a code close
to a level; a pipeline run's console carries problem lines and warnings only, and ends with a
short summary. Constructed data (SIMULATED); corpus cases wrong_date_format and code_typo in
tests/corpus (test_broken_inputs.py) check the same through ``her2cohort check``."""

from __future__ import annotations

import csv
import io
import json
import logging
import runpy
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from her2cohort.cli import main, quiet_console, run_summary
from her2cohort.data.dates import COMMON_DATE_FORMATS, guess_date_format
from her2cohort.data.problems import (
    GROUP_MIN,
    Problem,
    did_you_mean_level,
    format_report,
    redact_message,
)
from her2cohort.data.safety import redact_text

ROOT = Path(__file__).resolve().parents[1]
FORMULA = ("=", "+", "-", "@", "\t", "\r")


# --- the guessed date format ----------------------------------------------------------------------

def test_guess_iso_dates():
    g = guess_date_format(["2019-03-14", "2020-12-01", "2018-01-31", None, "", " 2017-07-04 "])
    assert g.formats == ("%Y-%m-%d",)
    assert (g.parsed, g.total, g.shape) == (4, 4, "dddd-dd-dd")
    assert g.advice() == ("dates look like dddd-dd-dd: try date_format '%Y-%m-%d' "
                          "(it reads 4 of 4)")


def test_guess_day_first_when_a_day_exceeds_12():
    g = guess_date_format(["13/03/2019", "02/04/2020", "31/12/2018"])
    assert g.formats == ("%d/%m/%Y",) and g.parsed == 3


def test_guess_says_when_day_and_month_cannot_be_told_apart():
    g = guess_date_format(["01/03/2019", "02/04/2020"])
    assert g.formats == ("%d/%m/%Y", "%m/%d/%Y") and g.parsed == 2
    assert "the values do not tell which" in g.advice()


def test_guess_picks_the_format_reading_most_values_and_counts_repeats():
    # 3 ISO (one repeated twice), 1 day-first: ISO reads 3 of 4
    g = guess_date_format(["2019-03-14", "2019-03-14", "2020-01-02", "14.03.2019"])
    assert g.formats == ("%Y-%m-%d",) and (g.parsed, g.total) == (3, 4)


def test_guess_month_names_and_years_outside_range():
    assert guess_date_format(["14-Mar-2019", "01-Feb-2020"]).formats == ("%d-%b-%Y",)
    # 0019 parses as a year with %Y but is outside 1900-2100: not counted
    g = guess_date_format(["0019-03-14"])
    assert g.parsed == 0 and g.formats == ()
    assert "none of the common date formats reads them" in g.advice()


def test_guess_nothing_to_guess():
    assert guess_date_format([]) is None
    assert guess_date_format([None, "", "  "]) is None
    assert "%Y-%m-%d" in COMMON_DATE_FORMATS


# --- grouped report lines -------------------------------------------------------------------------

def _bad_dates(n: int, column: str, start_row: int = 2) -> list[Problem]:
    return [Problem("c.csv", start_row + i, f"P{i}", column,
                    f"20{10 + i % 10}-0{1 + i % 9}-1{i % 10}", "bad_date",
                    "not a valid date: 'dddd-dd-dd' does not match the format; expected a date "
                    "like 31/12/2019 (format %d/%m/%Y)", action="fail",
                    redact=True, kind="date") for i in range(n)]


def test_many_rows_of_one_column_are_one_line():
    problems = _bad_dates(25, "Date of birth") + _bad_dates(2, "Death date", start_row=40)
    out = format_report(problems, "check", verbatim=True)
    details = out.split("Details:\n")[1].splitlines()
    assert details[0].startswith("  [fail] c.csv, column 'Date of birth': 25 rows (rows 2, 3, "
                                 "4, 5, 6 and 20 more); values like [shape: dddd-dd-dd]: ")
    # the two rows of the other column stay one line each, then where every row is listed
    assert [ln.split(":")[0] for ln in details[1:3]] == [
        "  [fail] c.csv, row 40, column 'Death date', value [shape",
        "  [fail] c.csv, row 41, column 'Death date', value [shape"]
    assert len(details) == 4 and "Every row of the groups above is listed in the problems " \
        "table" in details[3]
    # one line for the file's dates, with the format that reads all 27
    assert ("Dates of c.csv: 27 cell(s) in 2 column(s) do not read with the mapping's "
            "date_format; dates look like dddd-dd-dd: try date_format '%Y-%m-%d' (it reads "
            "27 of 27).") in out
    assert redact_text(out, ids=False, keep_example=True) == out  # no date shown
    assert GROUP_MIN == 10 and "rows 2" not in format_report(_bad_dates(9, "X"), "c")


def test_codes_shown_as_they_are_are_grouped_per_code():
    problems = [Problem("c.csv", 2 + i, None, "Side", "B" if i < 12 else "X", "unknown_code",
                        "value has no mapping for 'laterality'", action="fail", kind="code")
                for i in range(24)]
    out = format_report(problems, "check", verbatim=True)
    assert "column 'Side': 12 rows (rows 2, 3, 4, 5, 6 and 7 more); value 'B': value has no" in out
    assert "column 'Side': 12 rows (rows 14, 15, 16, 17, 18 and 7 more); value 'X'" in out


def test_rows_without_a_column_are_grouped_too():
    problems = [Problem("c.csv", 2 + i, None, None, None, "blank_row", "the row is empty",
                        action="warn") for i in range(12)]
    out = format_report(problems, "check")
    assert "  [warn] c.csv: 12 rows (rows 2, 3, 4, 5, 6 and 7 more): the row is empty" in out
    assert "None" not in out


def test_limit_counts_lines_and_names_the_table():
    problems = [Problem("c.csv", 2 + i, None, f"col{i}", "1", "out_of_range", "too big",
                        action="quarantine", kind="number") for i in range(5)]
    out = format_report(problems, "check", limit=2, verbatim=True, table=None)
    assert "... and 3 more: all 5 are listed in a problems table, which 'her2cohort check " \
           "--problems FILE' writes (one row per problem)." in out
    out = format_report(problems, "check", limit=2, table="the problems table p.csv")
    assert "... and 3 more: all 5 are listed in the problems table p.csv" in out


# --- check --problems FILE ------------------------------------------------------------------------

def _check(capsys, monkeypatch, *args) -> tuple[int, str]:
    monkeypatch.chdir(ROOT)
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_check_writes_the_problems_table(tmp_path, capsys, monkeypatch):
    table = tmp_path / "sub" / "problems.csv"
    code, out = _check(capsys, monkeypatch, "--centre",
                       "tests/corpus/wrong_date_format/centre.yaml", "--problems", str(table))
    assert code == 1
    assert f"problems table (66 row(s)): {table}" in out
    assert f"listed in the problems table {table} (one row per problem)" in out
    df = pd.read_csv(table, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["file", "row", "patient", "column", "value", "rule", "action",
                                "message"]
    assert len(df) == 66 and set(df["rule"]) == {"bad_date"} and set(df["action"]) == {"fail"}
    assert set(df["value"]) == {"[shape: dddd-dd-dd]"}  # redacted as in results/qc
    assert df.groupby("column").size().to_dict()["Date of birth"] == 12
    text = table.read_text("utf-8")
    assert redact_text(text, ids=False, keep_example=True) == text
    # 66 problems in 11 lines: 5 columns of 12 rows as one line each, 6 rows of two columns
    # failing on fewer than GROUP_MIN rows one line each; then where every row is
    details = out.split("Details:\n")[1].splitlines()
    assert len(details) == 13 and sum(" 12 rows (rows 2, 3," in ln for ln in details) == 5


def test_check_problems_table_is_excel_safe(tmp_path, capsys, monkeypatch):
    table = tmp_path / "problems.csv"
    _check(capsys, monkeypatch, "--centre", "tests/corpus/formula_injection/centre.yaml",
           "--problems", str(table))
    cells = [c for row in csv.reader(io.StringIO(table.read_text("utf-8"))) for c in row]
    assert len(cells) > 8
    risky = [c for c in cells if c.startswith(FORMULA)
             and not c.lstrip("+-").replace(".", "", 1).isdigit()]
    assert risky == []
    # a value shown as it is (from the mapping) that a spreadsheet would run gets a leading ';
    # a negative number stays a number
    from her2cohort.cli import _write_problems_table

    shown = [Problem("c.csv", 2, None, "ER %", "=1+HYPERLINK(\"x\")", "sentinel", "m",
                     action="warn", kind="config"),
             Problem("c.csv", 3, None, "ER %", "-5", "out_of_range", "m", action="warn",
                     kind="number")]
    assert _write_problems_table(shown, str(table)) == f"the problems table {table}"
    df = pd.read_csv(table, dtype=str)
    assert df["value"].tolist() == ["'=1+HYPERLINK(\"x\")", "-5"]


def test_check_problems_table_without_problems_has_its_header(tmp_path, capsys, monkeypatch):
    table = tmp_path / "problems.csv"
    code, out = _check(capsys, monkeypatch, "--centre", "tests/corpus/cp1252_ok/centre.yaml",
                       "--problems", str(table))
    assert code == 0
    df = pd.read_csv(table, dtype=str)
    assert list(df.columns)[:2] == ["file", "row"]
    assert f"problems table ({len(df)} row(s)): {table}" in out


def test_check_problems_table_that_cannot_be_written(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out = _check(capsys, monkeypatch, "--centre", "tests/corpus/cp1252_ok/centre.yaml",
                       "--problems", str(blocker / "problems.csv"))
    assert code == 2 and "cannot write the problems table" in out and "Traceback" not in out


# --- did you mean, for levels ---------------------------------------------------------------------

def test_did_you_mean_level():
    levels = ["pre", "post", "premenopausal", "postmenopausal"]
    assert did_you_mean_level("postmenopausl", levels) == " (did you mean 'postmenopausal'?)"
    assert did_you_mean_level("Left", ["left", "right", "L", "R"]) == " (did you mean 'left'?)"
    assert did_you_mean_level("B", ["left", "right", "L", "R"]) == ""
    assert did_you_mean_level("  ", ["left"]) == ""


def test_a_suggested_level_containing_the_value_is_not_redacted_into_a_shape():
    p = Problem("c.csv", 2, None, "Side", "righ", "unknown_code",
                "value has no mapping for 'laterality' (did you mean 'right'?)", kind="code")
    assert redact_message(p.message, p) == p.message  # 'righ' appears only inside 'right'
    p = Problem("c.csv", 2, None, "Histology", "Wang Fang", "unknown_code",
                "'Wang Fang' has no mapping", kind="code")
    assert redact_message(p.message, p) == "'[shape: Llll Llll]' has no mapping"


# --- the console of a pipeline run ----------------------------------------------------------------

def _fake_stage(stage, **kwargs):
    print("ingest: 637 records from 5 centre(s) -> data/processed/harmonized.parquet")
    print("validate: 2 problem(s) found (1 quarantine, 1 warn).")
    print("      1 x out_of_range [quarantine]")
    print("  [quarantine] f.csv, row 3, column 'ER %', value '150': outside 0-100%")
    print("Cox MI: no missing value in the model covariates")
    print("warning: no record would pass validation")
    print("validate: stopped", file=sys.stderr)
    return 1 if stage == "validate" else 0


@pytest.mark.parametrize("verbose", ["", "1"])
def test_run_stage_sends_chatter_to_the_log_only(verbose, tmp_path, capfd, monkeypatch):
    import her2cohort.stages

    monkeypatch.setattr(her2cohort.stages, "run", _fake_stage)
    monkeypatch.setenv("HER2COHORT_VERBOSE", verbose)
    log = tmp_path / "validate.log"
    items = types.SimpleNamespace(items=lambda: [])
    sm = types.SimpleNamespace(log=[str(log)], input=items, output=items, params=items,
                               wildcards=items, rule="validate")
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(ROOT / "workflow/scripts/run_stage.py"),
                       init_globals={"snakemake": sm})
    assert stop.value.code == 1
    out, err = capfd.readouterr()
    text = log.read_text("utf-8")
    for line in ("ingest: 637 records", "Cox MI:", "[quarantine] f.csv", "warning: no record",
                 "validate: stopped", "resources: "):
        assert line in text
    assert "validate: stopped" in err
    assert f"rule validate stopped (exit status 1); its full output: {log}" in err
    if verbose:
        assert "ingest: 637 records" in out and "Cox MI" in out
    else:
        assert out.splitlines() == [
            "validate: 2 problem(s) found (1 quarantine, 1 warn).",
            "      1 x out_of_range [quarantine]",
            "  [quarantine] f.csv, row 3, column 'ER %', value '150': outside 0-100%",
            "warning: no record would pass validation"]


def test_quiet_console_drops_job_chatter_and_keeps_errors(monkeypatch):
    from snakemake.logging import logger

    monkeypatch.delenv("HER2COHORT_VERBOSE", raising=False)
    handler = logging.StreamHandler(io.StringIO())
    handler.name = "DefaultStreamHandler"
    logger.addHandler(handler)
    try:
        assert quiet_console()

        def rec(msg, event=None, level=logging.INFO):
            r = logging.LogRecord("snakemake", level, __file__, 1, msg, None, None)
            if event:
                r.event = event
            return r

        assert not handler.filter(rec("rule ingest:", "job_info"))
        assert not handler.filter(rec("Shell command: None", "shellcmd"))
        assert not handler.filter(rec("Select jobs to execute..."))
        assert not handler.filter(rec("Execute 1 jobs...", "job_started"))
        assert not handler.filter(rec("1 of 25 steps (4%) done", "progress"))
        assert handler.filter(rec("Error in rule ingest:", "job_error", logging.ERROR))
        assert handler.filter(rec("Building DAG of jobs..."))
        monkeypatch.setenv("HER2COHORT_VERBOSE", "1")
        assert not quiet_console()
    finally:
        logger.removeHandler(handler)


def test_run_summary(tmp_path):
    res = tmp_path / "results" / "demo"
    (res / "qc").mkdir(parents=True)
    (res / "summary.json").write_text(json.dumps({"simulated": True, "flow": {
        "received": 637, "centres": 5, "quarantined": 11, "excluded": 51, "analysed": 575}}))
    (res / "qc/problems.csv").write_text(
        "file,row,patient,column,value,rule,action,message\n"
        + "a.csv,2,P1,x,1,out_of_range,quarantine,m\n" * 3 + "a.csv,5,P2,y,1,sentinel,warn,m\n")
    text = run_summary(str(res))
    assert text.splitlines() == [
        "her2cohort: the run finished. SIMULATED data.",
        "  637 records read from 5 centre(s); 11 quarantined for data defects, 51 excluded by "
        "the eligibility criteria, 575 analysed.",
        f"  Data problems: 3 quarantine, 1 warn (one row each: {res}/qc/problems.csv; records "
        f"set aside: {res}/qc/quarantine.csv).",
        f"  Outputs: {res}/ (tables/, figures/, manuscript.md, summary.json); each step's full "
        "output: logs/<step>.log.",
        f"  Provenance report (every output with the rule and code behind it): "
        f"snakemake --report {res}/report.html"]
    (res / "paper.html").write_text("<html></html>")
    assert f"  The paper: {res}/paper.html (open in a browser) and {res}/manuscript.docx " \
        "(Word)." in run_summary(str(res)).splitlines()


def test_run_summary_from_the_flow_table(tmp_path):
    """Without summary.json the counts come from tables/flow.csv."""
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables/flow.csv").write_text(
        "step,id,kind,label,n_before,n_excluded,n_after\n"
        "0,received,start,Records received,100,0,100\n"
        "1,quarantined,quarantine,Data defects,100,4,96\n"
        "2,metastatic,exclude,cM1,96,6,90\n"
        "3,no_surgery,exclude,No surgery,90,5,85\n")
    assert "100 records read; 4 quarantined for data defects, 11 excluded by the eligibility " \
           "criteria, 85 analysed." in run_summary(str(tmp_path))


def test_run_stage_in_a_callers_process_leaves_its_garbage_collector_alone(tmp_path, capfd,
                                                                         monkeypatch):
    """run_stage.py freezes the collector only as the job's own process: run in a caller's
    process (here, through runpy) it would keep every object of the caller from the collector
    for the rest of that process."""
    import gc

    import her2cohort.stages

    monkeypatch.setattr(her2cohort.stages, "run", _fake_stage)
    items = types.SimpleNamespace(items=lambda: [])
    sm = types.SimpleNamespace(log=[str(tmp_path / "ingest.log")], input=items, output=items,
                               params=items, wildcards=items, rule="ingest")
    before = gc.get_freeze_count()
    with pytest.raises(SystemExit):
        runpy.run_path(str(ROOT / "workflow/scripts/run_stage.py"),
                       init_globals={"snakemake": sm})
    assert gc.get_freeze_count() == before
