"""Regression tests for defects found in review: each input once passed silently or crashed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from her2cohort.data.config import load_config, vocabularies
from her2cohort.data.ingest import ingest
from her2cohort.data.mapping import MappingError, load_mapping
from her2cohort.data.problems import resolve_actions
from her2cohort.stages.params import stage_params
from her2cohort.stages.validate import validate_with_config
from her2cohort.study.derive import completed_years, derive

ROOT = Path(__file__).resolve().parents[1]
JS01 = ROOT / "config/centres/JS01.yaml"
JS05 = ROOT / "config/centres/JS05.yaml"
DEMO01 = ROOT / "data/demo/raw/JS01_SIMULATED_neoadjuvant_her2.csv"


def _mapping(tmp_path, base, data_name, **changes) -> Path:
    m = yaml.safe_load(base.read_text("utf-8"))
    m["file"] = str(tmp_path / data_name)
    m.update(changes)
    p = tmp_path / "centre.yaml"
    p.write_text(yaml.safe_dump(m, allow_unicode=True), "utf-8")
    return p


def _csv_lines(n=6):
    return DEMO01.read_text("utf-8-sig").splitlines()[: n + 1]


def _ingest(mp):
    df, problems = ingest([mp], salt="s", vocabularies=vocabularies(load_config(
        ROOT / "config/config.yaml")), base_dir="/")
    resolve_actions(problems)
    return df, problems


def _validate_lines(tmp_path, lines):
    """Write JS01-style lines, ingest and validate them with the study config."""
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", "utf-8")
    mp = _mapping(tmp_path, JS01, "d.csv")
    df, _ = _ingest(mp)
    cfg = load_config(ROOT / "config/config.yaml")
    cfg["centres"] = [str(mp)]
    return df, cfg, *validate_with_config(df, cfg)


def test_header_only_file_is_empty(tmp_path):
    (tmp_path / "d.csv").write_text(_csv_lines(0)[0] + "\n", "utf-8")
    _, problems = _ingest(_mapping(tmp_path, JS01, "d.csv"))
    assert [p.rule for p in problems] == ["file_empty"]
    assert "no data rows" in problems[0].message


def test_full_width_digits_are_reported_not_dropped(tmp_path):
    lines = _csv_lines()
    header = lines[0].split(";")
    cells = lines[2].split(";")
    cells[header.index("ER %")] = "１０"
    lines[2] = ";".join(cells)
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", "utf-8")
    _, problems = _ingest(_mapping(tmp_path, JS01, "d.csv"))
    assert [(p.rule, p.row, p.column) for p in problems] == [("bad_number", 3, "ER %")]


def test_unknown_units_key_is_a_mapping_error(tmp_path):
    mp = _mapping(tmp_path, JS01, "d.csv", units={"tumor_size_mm": "cm"})
    with pytest.raises(MappingError, match="'tumor_size_mm' is not a field"):
        load_mapping(mp)


def test_yaml_syntax_error_exits_2_without_traceback(tmp_path):
    mp = tmp_path / "broken.yaml"
    mp.write_text("centre: X\ncolumns: {a: b\n", "utf-8")
    res = subprocess.run([sys.executable, "-m", "her2cohort.cli", "check", "--centre", str(mp)],
                         cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 2
    assert "not valid YAML" in res.stderr and "Traceback" not in res.stderr


def _xlsx(tmp_path, extra=None, percent=False) -> Path:
    from openpyxl import load_workbook

    wb = load_workbook(ROOT / "data/demo/raw/JS05_SIMULATED_database.xlsx")
    ws = wb["data"]
    ws.delete_rows(8, ws.max_row)
    header = [c.value for c in ws[1]]
    if extra:
        ws.cell(row=3, column=len(header) + 2, value=extra)
    if percent:
        col = header.index("ER") + 1
        ws.cell(row=2, column=col, value=0.1).number_format = "0%"
    path = tmp_path / "d.xlsx"
    wb.save(path)
    return _mapping(tmp_path, JS05, "d.xlsx")


def test_xlsx_cells_beyond_the_header_are_reported(tmp_path):
    _, problems = _ingest(_xlsx(tmp_path, extra="stray"))
    assert [(p.rule, p.row) for p in problems] == [("file_parse", 3)]


def test_xlsx_percent_cells_are_read_as_displayed(tmp_path):
    df, problems = _ingest(_xlsx(tmp_path, percent=True))
    assert not problems
    assert df.loc[df["source_row"] == 2, "er_pct"].iloc[0] == 10.0


def test_duplicate_keeps_the_clean_copy(tmp_path):
    lines = _csv_lines()
    header = lines[0].split(";")
    cells = lines[2].split(";")
    cells[header.index("ER %")] = "150"  # the first copy is defective
    lines = lines[:2] + [";".join(cells)] + lines[3:] + [lines[2]]
    df, _, clean, quarantined, problems = _validate_lines(tmp_path, lines)
    assert quarantined["source_row"].tolist() == [3]
    assert quarantined["reason"].tolist() == ["out_of_range"]
    assert len(clean) + len(quarantined) == len(df)
    assert not [p for p in problems if p.rule.startswith("duplicate")]


def test_retest_after_pcr_is_a_warning_and_not_a_loss(tmp_path):
    """ypTis ypN0 (a pCR) with a re-tested DCIS: warned, her2_loss NA, the pipeline goes on."""
    lines = _csv_lines()
    header = lines[0].split(";")
    cells = lines[2].split(";")
    for col, val in (("ypT", "ypTis"), ("ypN", "ypN0"), ("RCB", "RCB-0"),
                     ("HER2 IHC (residual)", "1+")):
        cells[header.index(col)] = val
    lines[2] = ";".join(cells)
    _, cfg, clean, _, problems = _validate_lines(tmp_path, lines)
    warn = [p for p in problems if p.rule == "retest_without_residual"]
    assert [(p.row, p.action) for p in warn] == [(3, "warn")]
    out = derive(clean, **stage_params(cfg, "derive"))
    row = out[out["source_row"] == 3].iloc[0]
    assert bool(row["pcr"]) is True and pd.isna(row["her2_loss"])


def test_age_on_the_18th_birthday_is_18():
    birth = pd.Series([pd.Timestamp("2000-06-15"), pd.Timestamp("2000-06-16"), pd.NaT])
    diag = pd.Series([pd.Timestamp("2018-06-15")] * 3)
    assert completed_years(birth, diag).tolist() == [18, 17, pd.NA]
    # leap-day birthdays: 29 Feb 2000 turns 18 on 1 Mar 2018
    b = pd.Series([pd.Timestamp("2000-02-29")] * 2)
    d = pd.Series([pd.Timestamp("2018-02-28"), pd.Timestamp("2018-03-01")])
    assert completed_years(b, d).tolist() == [17, 18]
