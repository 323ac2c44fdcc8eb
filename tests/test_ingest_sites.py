"""Issue 14 data layer: a site column, lines skipped below the header, the action ``blank``,
the death date as last contact, ISH signal totals, new canonical fields.

Every file here is SIMULATED (constructed in the test), not patient data.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml

from her2cohort.data.mapping import MappingError, load_mapping
from her2cohort.data.problems import to_frame
from her2cohort.data.safety import redact_text
from her2cohort.data.validate import validate
from parquet_centres import ingest_resolved

LOCK = dt.date(2025, 6, 30)


def _write(tmp_path, name: str, text: str, mapping: dict) -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    m = {"centre": "REG", "file": str(tmp_path / name), **mapping}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    return str(path)


# --- centre_column ---------------------------------------------------------------------------

SITES = """id,site,er
a1,S01,10
a2, S02 ,20
a3,,30
a4,S 03,40
a5,Hosp-4,50
"""


def test_centre_column_gives_each_record_its_site(tmp_path):
    mp = _write(tmp_path, "sites.csv", SITES, {
        "centre_column": "site", "columns": {"patient_id": "id", "er_pct": "er"},
        "values": {"centre": {"Hosp-4": "S04"}}})
    df, problems = ingest_resolved([mp])
    assert df["centre"].tolist() == ["S01", "S02", "REG", "REG", "S04"]
    assert df["centre_mapping"].tolist() == ["REG"] * 5
    bad = [(p.rule, p.file.endswith("sites.csv"), p.row, p.column, p.value, p.action)
           for p in problems if p.rule == "centre_invalid"]
    assert bad == [("centre_invalid", True, 4, "site", None, "quarantine"),
                   ("centre_invalid", True, 5, "site", "S 03", "quarantine")]
    msgs = [p.message for p in problems if p.rule == "centre_invalid"]
    assert "blank" in msgs[0] and "not a centre code" in msgs[1]
    assert not [p for p in problems if p.rule == "column_unmapped"]  # the site column is used


def test_centre_column_missing_from_header_and_values_without_it(tmp_path):
    mp = _write(tmp_path, "nosite.csv", "id,er\na1,10\n", {
        "centre_column": "site", "columns": {"patient_id": "id", "er_pct": "er"}})
    _, problems = ingest_resolved([mp])
    assert [(p.rule, p.column) for p in problems] == [("column_missing", "site")]
    mp = _write(tmp_path, "novalues.csv", "id,er\na1,10\n", {
        "columns": {"patient_id": "id"}, "values": {"centre": {"x": "S1"}}})
    with pytest.raises(MappingError, match="no 'centre_column:'"):
        load_mapping(mp)


def test_validation_looks_columns_up_through_the_mapping(tmp_path):
    # the site codes are not mapping codes: a blank last contact must still be found at every
    # site, named by the centre's own column header
    text = "id,site,last,vital\na1,S01,2020-01-01,alive\na2,S02,,alive\n"
    mp = _write(tmp_path, "v.csv", text, {
        "centre_column": "site",
        "columns": {"patient_id": "id", "last_contact_date": "last", "vital_status": "vital"}})
    df, _ = ingest_resolved([mp])
    cols = {"REG": load_mapping(mp)["columns"]}
    clean, quarantined, problems = validate(df, columns_by_centre=cols, vocabularies={},
                                            data_lock=LOCK, needed={"last_contact_date"})
    assert [(p.rule, p.row, p.column) for p in problems] == [("missing_value", 3, "last")]
    assert quarantined["centre"].tolist() == ["S02"] and clean["centre"].tolist() == ["S01"]


# --- skip_rows_after_header --------------------------------------------------------------------

UNITS = """id,er,size
,%,cm
(notes: sizes measured on imaging)
b1,10,2.5
b2,abc,3
"""


def test_skip_rows_after_header_keeps_the_files_row_numbers(tmp_path):
    mp = _write(tmp_path, "units.csv", UNITS, {
        "skip_rows_after_header": 2, "units": {"tumour_size_mm": "cm"},
        "columns": {"patient_id": "id", "er_pct": "er", "tumour_size_mm": "size"}})
    df, problems = ingest_resolved([mp])
    assert df["source_row"].tolist() == [4, 5]
    assert df["tumour_size_mm"].tolist() == [25.0, 30.0]
    assert [(p.rule, p.row) for p in problems] == [("rows_skipped", None), ("bad_number", 5)]
    assert "rows 2-3" in problems[0].message and problems[0].action == "warn"


def test_without_skip_the_lines_below_the_header_are_records(tmp_path):
    mp = _write(tmp_path, "units2.csv", UNITS, {
        "columns": {"patient_id": "id", "er_pct": "er", "tumour_size_mm": "size"}})
    _, problems = ingest_resolved([mp])
    assert [(p.rule, p.row) for p in problems] == [("file_parse", 3)]  # the notes line


def test_skip_rows_after_header_xlsx_and_per_file(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    for r in (["id", "er"], [None, "%"], ["c1", 15], ["c2", 25]):
        ws.append(r)
    wb.save(tmp_path / "book.xlsx")
    m = {"centre": "XL", "format": "xlsx", "sheet": "data",
         "file": str(tmp_path / "book.xlsx"), "skip_rows_after_header": 1,
         "columns": {"patient_id": "id", "er_pct": "er"}}
    (tmp_path / "xl.yaml").write_text(yaml.safe_dump(m), encoding="utf-8")
    df, problems = ingest_resolved([str(tmp_path / "xl.yaml")])
    assert df["source_row"].tolist() == [3, 4] and df["er_pct"].tolist() == [15.0, 25.0]
    # per file of a centre with several files
    (tmp_path / "base.csv").write_text("id,er\nunit,%\nd1,5\n", encoding="utf-8")
    (tmp_path / "fu.csv").write_text("id,ki\nd1,30\n", encoding="utf-8")
    m = {"centre": "MF", "files": [
        {"name": "base", "file": str(tmp_path / "base.csv"), "skip_rows_after_header": 1},
        {"name": "fu", "file": str(tmp_path / "fu.csv")}],
        "columns": {"patient_id": "id", "er_pct": "er", "ki67_pct": "ki"}}
    (tmp_path / "mf.yaml").write_text(yaml.safe_dump(m), encoding="utf-8")
    df, problems = ingest_resolved([str(tmp_path / "mf.yaml")])
    assert df["source_row"].tolist() == [3]
    assert df["er_pct"].tolist() == [5.0] and df["ki67_pct"].tolist() == [30.0]


# --- action blank and the range message --------------------------------------------------------

ER = "id,er,ki\ne1,150,20\ne2,50,30\ne3,-1,40\n"


def _validate_er(tmp_path, actions):
    mp = _write(tmp_path, "er.csv", ER, {"columns": {"patient_id": "id", "er_pct": "er",
                                                     "ki67_pct": "ki"}})
    df, _ = ingest_resolved([mp])
    return validate(df, columns_by_centre={"REG": load_mapping(mp)["columns"]},
                    vocabularies={}, data_lock=LOCK, needed=set(), actions=actions)


def test_out_of_range_blank_keeps_the_patient_and_names_the_value(tmp_path):
    clean, quarantined, problems = _validate_er(tmp_path, {"out_of_range": "blank"})
    assert len(quarantined) == 0 and len(clean) == 3
    assert clean["er_pct"].isna().tolist() == [True, False, True]
    assert clean["ki67_pct"].tolist() == [20.0, 30.0, 40.0]  # only the bad value goes
    table = to_frame(problems)
    assert table[["row", "column", "value", "rule", "action"]].values.tolist() == [
        [2, "er", "150", "out_of_range", "blank"], [4, "er", "-1", "out_of_range", "blank"]]
    assert table["message"].iloc[0] == ("ER-positive tumour cells 150% is outside the plausible "
                                        "range 0-100%; the value is blanked (read as not "
                                        "recorded)")


def test_out_of_range_default_still_quarantines(tmp_path):
    clean, quarantined, problems = _validate_er(tmp_path, None)
    assert quarantined["source_row"].tolist() == [2, 4] and len(clean) == 1
    assert {p.action for p in problems} == {"quarantine"}


def test_blank_for_a_record_rule_is_a_config_mistake():
    from her2cohort.study.requirements import check_config

    msgs = check_config({"qc": {"actions": {"date_order": "blank", "out_of_range": "blank"}}})
    assert len([m for m in msgs if "blank" in m]) == 1 and "date_order" in msgs[0]


@pytest.mark.parametrize("text", [
    "ER-positive tumour cells 150% is outside the plausible range 0-100%",
    "HER2/CEP17 ratio 60 is outside the plausible range 0.01-50",
    "Mean HER2 copies/cell 0.05 is outside the plausible range 0.1-100",
    "Clinical tumour size 300 mm is outside the plausible range 1-250 mm",
    "value 1.5 and 12.25",
])
def test_ranges_and_plain_numbers_are_not_redacted(text):
    assert redact_text(text, ids=False, keep_example=True) == text
    assert redact_text(text) == text


@pytest.mark.parametrize("text", ["31/12/2018", "3.1.19", "2018-12-31", "12/31-2018",
                                  "1-Jan-2018", "15/1/3"])
def test_dates_are_still_redacted(text):
    assert redact_text(f"on {text}.", ids=False) == "on [date]."


# --- last contact = death date -------------------------------------------------------------------

DEATHS = """id,nst,last,vital,death
f1,2018-01-10,,dead,2020-05-01
f2,2018-01-10,,alive,
f3,2018-01-10,2020-01-01,dead,2020-05-01
f4,2018-01-10,2021-01-01,dead,2020-05-01
"""


def test_death_date_is_the_last_contact_of_who_died(tmp_path):
    mp = _write(tmp_path, "d.csv", DEATHS, {"columns": {
        "patient_id": "id", "nst_start_date": "nst", "last_contact_date": "last",
        "vital_status": "vital", "death_date": "death"}})
    df, _ = ingest_resolved([mp])
    clean, quarantined, problems = validate(
        df, columns_by_centre={"REG": load_mapping(mp)["columns"]}, vocabularies={},
        data_lock=LOCK, needed={"last_contact_date", "vital_status"})
    found = sorted((p.row, p.rule) for p in problems)
    # f1 (died, no last contact) passes; f2 (alive, no last contact) is missing one;
    # f3 (death after the last contact) stays a problem; f4 (contact after death) is fine
    assert found == [(3, "missing_value"), (4, "date_order")]
    assert clean["source_row"].tolist() == [2, 5]


# --- new canonical fields, OS/EFS durations, ISH totals through ingest --------------------------

def test_new_fields_read_with_units(tmp_path):
    text = ("id,sex,prior,pt,pn,pm,ed,os,os_st,efs,efs_st,h,c,n\n"
            "g1,F,no,pT1c,pN0(i+),M0,8,365.25,dead,730.5,event,120,40,20\n")
    mp = _write(tmp_path, "new.csv", text, {
        "columns": {"patient_id": "id", "sex": "sex", "prior_therapy": "prior", "pt": "pt",
                    "pn": "pn", "pm": "pm", "ajcc_edition": "ed", "os_time": "os",
                    "os_event": "os_st", "efs_time": "efs", "efs_event": "efs_st",
                    "her2_signals": "h", "cep17_signals": "c", "cells_counted": "n"},
        "units": {"os_time": "days", "efs_time": "days"},
        "values": {"sex": {"F": "female"}, "os_event": {"dead": "event"}}})
    df, problems = ingest_resolved([mp])
    assert problems == []
    r = df.iloc[0]
    assert (r["sex"], r["prior_therapy"], r["pt"], r["pn"], r["pm"], r["ajcc_edition"]) == \
        ("female", "no", "pT1c", "pN0(i+)", "M0", "8")
    assert r["os_time"] == pytest.approx(12.0) and r["efs_time"] == pytest.approx(24.0)
    assert (r["her2_signals"], r["cep17_signals"], r["cells_counted"]) == (120, 40, 20)
    assert np.isnan(r["ish_ratio"])  # computed in derive, not written into the record
