"""Regressions from an adversarial run of broken and awkward deliveries (second session): runs
where nobody is left to analyse, multi-file quarantine counts, look-alike characters, a closed
pipe, and an unexpected error inside a stage. Each once ended in a traceback or a wrong count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from her2cohort.cli import main as cli_main
from her2cohort.data.safety import lookalike_note
from her2cohort.stages import run, run_with_config
from her2cohort.stages.params import groups_of, load_study_config
from her2cohort.study.cohort import apply_criteria

ROOT = Path(__file__).resolve().parents[1]


def _cfg() -> dict:
    return load_study_config(str(ROOT / "config/config.yaml"))


def _derived_columns() -> list[str]:
    cfg = _cfg()
    cols = {"centre", "source_file", "source_row", "patient_key", groups_of(cfg)["column"]}
    for c in cfg["criteria"]:
        cols |= set(c.get("columns") or [c.get("column")])
    return sorted(cols)


def test_every_record_quarantined_gives_a_flow_table_not_a_crash():
    cfg = _cfg()
    derived = pd.DataFrame({c: pd.Series(dtype=object) for c in _derived_columns()})
    quarantined = pd.DataFrame({"centre": ["A"] * 3, "source_file": ["a.csv"] * 3,
                                "source_row": [2, 3, 4], "patient_key": ["k1", "k2", "k3"],
                                "reason": ["out_of_range"] * 3})
    analysed, disp, flow = apply_criteria(derived, quarantined, cfg["criteria"], groups_of(cfg))
    assert len(analysed) == 0 and len(disp) == 3
    q = flow.set_index("id")
    assert q.loc["quarantined", "n_excluded"] == 3 and q.loc["received", "n_before"] == 3
    assert (disp["disposition"] == "quarantined").all()


def test_table1_with_nobody_analysed_is_skipped_with_its_reason(tmp_path):
    cfg = _cfg()
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ("her2_class", "age", "ct")})
    empty.to_parquet(tmp_path / "analysis.parquet")
    out = {k: str(tmp_path / f"t1.{k[4:]}") for k in ("out_csv", "out_docx", "out_html")}
    assert run_with_config("table1", cfg, in_analysis=str(tmp_path / "analysis.parquet"),
                           **out) == 0
    tab = pd.read_csv(out["out_csv"])
    assert tab.loc[0, "status"] == "skipped" and "no patient is analysed" in tab.loc[0, "reason"]
    assert "no patient is analysed" in Path(out["out_html"]).read_text("utf-8")


def test_sensitivity_table_without_any_test_row(tmp_path):
    from her2cohort.stages import sensitivity_table

    pd.DataFrame({"variant": ["main", "main"], "quantity": ["patients", "patients"],
                  "group": ["IHC 3+", "IHC 2+/ISH+"], "n": [1, 1]}).to_csv(
        tmp_path / "main.csv", index=False)
    sensitivity_table.main(in_variants=str(tmp_path / "main.csv"),
                           out_csv=str(tmp_path / "s.csv"), out_html=str(tmp_path / "s.html"),
                           out_docx=str(tmp_path / "s.docx"), descriptions={"main": "main"},
                           simulated=False)
    assert "patients" in (tmp_path / "s.html").read_text("utf-8")


def test_an_internal_error_in_a_stage_is_a_message_not_a_traceback(capsys, monkeypatch):
    monkeypatch.delenv("HER2COHORT_DEBUG", raising=False)
    assert run("table1", unexpected_argument=1) == 1  # TypeError inside the stage call
    err = capsys.readouterr().err
    assert "table1: internal error (TypeError" in err and "defect of her2cohort" in err
    assert "Traceback" not in err


def test_check_counts_the_records_ingest_quarantines(capsys, monkeypatch):
    """The registry example: 5 unmatched records and 1 duplicate ID, as the pipeline's flow."""
    monkeypatch.chdir(ROOT)
    assert cli_main(["check", "--config", "config/examples/registry/config.yaml"]) == 0
    out = capsys.readouterr().out
    assert "298 records read; 6 would be quarantined." in out


def test_check_into_a_closed_pipe_exits_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "her2cohort.cli", "check", "--config",
                             "config/examples/registry/config.yaml"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_lookalike_characters_are_named():
    note = lookalike_note("c\u041c1", ["M0", "M1", "cM1"])
    assert "U+041C CYRILLIC CAPITAL LETTER EM" in note
    assert lookalike_note("cM1", ["M0", "M1"]) == ""
    assert lookalike_note("阳性", ["阳性", "阴性"]) == ""  # the centre writes its codes so


def test_short_dates_are_redacted_and_the_format_example_is_kept():
    from her2cohort.data.safety import redact_text

    assert redact_text("15/1/3 and 15-1-3", ids=False) == "[date] and [date]"
    assert redact_text("numpy 26.0.1", ids=False) == "numpy 26.0.1"  # a version, not a date
    msg = "expected a date like 19/12/31 (format %y/%m/%d)"  # 31 Dec 2019 in the user's format
    assert redact_text(msg, ids=False, keep_example=True) == msg
    assert redact_text("value 03/01/19", ids=False, keep_example=True) == "value [date]"


def test_long_numeric_id_rounded_by_excel_is_id_mangled_not_a_duplicate(tmp_path):
    """Two 19-digit IDs typed into number cells: Excel keeps 15 digits, so both read as
    1.23456789012346E+18. That is id_mangled (the IDs are lost), never 'duplicate_id'."""
    from openpyxl import Workbook

    from her2cohort.data.read import read_raw

    wb = Workbook()
    ws = wb.active
    ws.append(["ID", "age"])
    ws.append([1234567890123456789, 50])
    ws.append([1234567890123456788, 60])
    ws.append([1234567, 70])
    (tmp_path / "data").mkdir()
    wb.save(tmp_path / "data/ids.xlsx")
    mapping = {"centre": "X", "file": "data/ids.xlsx", "format": "xlsx",
               "columns": {"patient_id": "ID", "age_years": "age"}, "_path": "x.yaml"}
    raw, problems = read_raw(mapping, tmp_path)
    mangled = [p for p in problems if p.rule == "id_mangled"]
    assert [p.row for p in mangled] == [2, 3]
    assert list(raw["ID"])[2] == "1234567" and list(raw["age"]) == ["50", "60", "70"]


def test_check_says_when_record_checks_were_not_run(tmp_path, capsys, monkeypatch):
    """A value that cannot be read stops at ingestion; check says the record checks are still
    to come instead of implying the rest is clean."""
    import shutil

    import yaml

    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "workflow/schemas", tmp_path / "workflow/schemas")
    shutil.copytree(ROOT / "data/demo/raw", tmp_path / "data/demo/raw")
    raw = tmp_path / "data/demo/raw/JS04_SIMULATED_registry.tsv"
    lines = raw.read_text("utf-8").splitlines()
    head = lines[0].split("\t")
    m = yaml.safe_load((tmp_path / "config/centres/JS04.yaml").read_text("utf-8"))
    ki = head.index(m["columns"]["ki67_pct"])
    cells = lines[1].split("\t")
    cells[ki] = "12,5,1"  # not a number in any convention
    lines[1] = "\t".join(cells)
    raw.write_text("\n".join(lines) + "\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli_main(["check", "--centre", "config/centres/JS04.yaml"]) == 1
    assert "Record checks (ranges, date order, duplicates, consistency) were not run" in \
        capsys.readouterr().out
