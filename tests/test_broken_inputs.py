"""The broken-input corpus (tests/corpus): each case gives its clear message and exit status
(0 usable, 1 data problems that stop, 2 configuration or mapping error), every problem at once,
no traceback, no date or identifier in the output, and no row lost."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from her2cohort.cli import main
from her2cohort.data.config import load_config, salt, vocabularies
from her2cohort.data.ingest import ingest
from her2cohort.data.problems import resolve_actions, to_frame
from her2cohort.data.safety import redact_text

ROOT = Path(__file__).resolve().parents[1]
CASES = yaml.safe_load((ROOT / "tests/corpus/cases.yaml").read_text("utf-8"))


def _args(case: str) -> list[str]:
    spec = CASES[case]
    if spec.get("config"):
        return ["check", "--config", f"tests/corpus/{case}/config.yaml", "--limit", "100"]
    return ["check", "--centre", f"tests/corpus/{case}/centre.yaml", "--limit", "100"]


def _check(case: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "her2cohort.cli", *_args(case)],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)


def _run_in_process(case, capsys, monkeypatch) -> tuple[int, str]:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("HER2COHORT_DEBUG", raising=False)
    code = main(_args(case))  # an exception here is a traceback for the user: the test fails
    out = capsys.readouterr()
    return code, out.out + out.err


def test_corpus_size():
    """The corpus covers at least 60 cases across CSV, TSV, xlsx, encodings and mappings."""
    assert len(CASES) >= 60
    kinds = {p.suffix for c in CASES for p in (ROOT / "tests/corpus" / c).iterdir()}
    assert {".csv", ".tsv", ".xlsx", ".yaml"} <= kinds
    assert {s["exit"] for s in CASES.values()} == {0, 1, 2}


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_message_and_exit_status(case, capsys, monkeypatch):
    spec = CASES[case]
    code, out = _run_in_process(case, capsys, monkeypatch)
    assert code == spec["exit"], out
    assert "Traceback" not in out
    if spec.get("rule"):
        assert f"x {spec['rule']} [" in out, out
    for fragment in spec["messages"]:
        assert fragment in out, f"{fragment!r} missing from:\n{out}"
    # no patient date reaches the console (and so the logs): only the example date 31 Dec 2019
    assert redact_text(out, ids=False, keep_example=True) == out, out
    for fragment in spec.get("forbid", []):
        assert fragment not in out


def _ingest(case):
    cfg = load_config(ROOT / "config/config.yaml")
    mp = ROOT / f"tests/corpus/{case}/centre.yaml"
    df, problems = ingest([mp], salt=salt(cfg), vocabularies=vocabularies(cfg), base_dir=ROOT)
    resolve_actions(problems)
    return cfg, mp, df, problems


@pytest.mark.parametrize("case", sorted(c for c, s in CASES.items()
                                        if s["exit"] == 0 and "rows" in s))
def test_no_row_lost(case, monkeypatch):
    """Rows in the file = rows passing + rows quarantined, for cases that do not stop the run."""
    from her2cohort.data.config import data_lock
    from her2cohort.data.mapping import load_mapping
    from her2cohort.data.validate import validate

    monkeypatch.chdir(ROOT)
    spec = CASES[case]
    cfg, mp, df, problems = _ingest(case)
    assert not [p for p in problems if p.action == "fail"]
    assert len(df) == spec["rows"]
    m = load_mapping(mp)
    clean, quarantined, _ = validate(df, columns_by_centre={m["centre"]: m["columns"]},
                                     vocabularies=vocabularies(cfg), data_lock=data_lock(cfg))
    if spec.get("quarantined") is not None:
        assert len(quarantined) == spec["quarantined"]
    assert len(clean) + len(quarantined) == spec["rows"]
    assert set(clean["source_row"]).isdisjoint(quarantined["source_row"])


def _file_outputs(case, tmp_path) -> str:
    """What a pipeline run writes about this case to results/ and logs/: the problems table
    (results/qc/*problems.csv, as the ingest and validate stages write it) and each stage's
    summary (stdout, copied by Snakemake into logs/)."""
    from her2cohort.data.mapping import MappingError
    from her2cohort.data.problems import format_report
    from her2cohort.stages.common import write_csv

    try:
        cfg, mp, df, problems = _ingest(case)
    except MappingError as e:  # a configuration error: the stage prints it, nothing else
        return f"configuration error: {e}"
    logs = [format_report(problems, "ingest")]
    if not [p for p in problems if p.action == "fail"] and len(df):
        from her2cohort.stages.params import load_study_config
        from her2cohort.stages.validate import validate_with_config

        cfg = load_study_config(ROOT / "config/config.yaml")
        cfg["centres"] = [str(mp)]
        vprobs = validate_with_config(df, cfg)[2]
        logs.append(format_report(vprobs, "validate"))
        problems = problems + vprobs
    out = tmp_path / "problems.csv"
    write_csv(to_frame(problems), out)
    return out.read_text("utf-8") + "\n".join(logs)


@pytest.mark.parametrize("case", sorted(c for c, s in CASES.items() if not s.get("config")))
def test_nothing_sensitive_reaches_results_or_logs(case, tmp_path, monkeypatch):
    """results/ and logs/ follow the redaction rule (config/README.md): no date, no value in
    `forbid` or `forbid_files`; the fragments in `files` (a shape, a short code, a number, a
    range) are there."""
    monkeypatch.chdir(ROOT)
    spec = CASES[case]
    text = _file_outputs(case, tmp_path)
    assert redact_text(text, ids=False, keep_example=True) == text, text
    for fragment in [*spec.get("forbid", []), *spec.get("forbid_files", [])]:
        assert fragment not in text, f"{fragment!r} reaches results/ or logs/:\n{text}"
    for fragment in spec.get("files", []):
        assert fragment in text, f"{fragment!r} missing from results/ and logs/:\n{text}"


FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("case", sorted(c for c, s in CASES.items() if s.get("csv_injection")))
def test_problems_table_is_excel_safe(case, tmp_path, monkeypatch):
    """The problems table as written under results/ holds no cell a spreadsheet would run as a
    formula; a negative number stays a number."""
    from her2cohort.stages.common import write_csv

    monkeypatch.chdir(ROOT)
    cfg, mp, df, problems = _ingest(case)
    if not [p for p in problems if p.action == "fail"]:
        from her2cohort.stages.params import load_study_config
        from her2cohort.stages.validate import validate_with_config

        cfg = load_study_config(ROOT / "config/config.yaml")
        cfg["centres"] = [str(mp)]
        problems += validate_with_config(df, cfg)[2]
    raw_values = [p.value for p in problems if p.value]
    assert any(str(v).startswith(FORMULA) for v in raw_values)
    out = tmp_path / "problems.csv"
    write_csv(to_frame(problems), out)
    cells = [c for row in csv.reader(io.StringIO(out.read_text("utf-8"))) for c in row]
    for c in cells:
        if c.startswith(FORMULA):
            assert c.lstrip("+-").replace(".", "", 1).isdigit(), c
    if case == "negative_number":
        assert "-5" in cells


def test_all_problems_reported_at_once():
    """Two defects in different rows and columns are both reported in one run (subprocess:
    the installed command line, not only the function)."""
    res = _check("unknown_code")
    assert res.returncode == 1
    assert "2 problem(s) found" in res.stdout + res.stderr
    assert "Traceback" not in res.stderr


def test_config_error_exit_status(tmp_path):
    bad = tmp_path / "config.yaml"
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text("utf-8"))
    cfg["pcr"]["definition"] = "ypT0 only"
    cfg["unknown_key"] = 1
    bad.write_text(yaml.safe_dump(cfg), "utf-8")
    res = subprocess.run([sys.executable, "-m", "her2cohort.cli", "check", "--config", str(bad)],
                         cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 2
    assert "pcr/definition: 'ypT0 only' is not one of" in res.stderr
    assert "(top level): unknown key 'unknown_key'" in res.stderr
    assert "Traceback" not in res.stderr


def test_corpus_is_reproducible(tmp_path):
    """make_corpus.py is deterministic: every file (CSV, TSV, xlsx, mappings, cases.yaml)
    regenerates byte for byte (into a temporary folder: the committed files stay untouched while
    other tests read them)."""
    corpus = ROOT / "tests/corpus"

    def snapshot(folder):
        return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts and p.name != "make_corpus.py"}

    before = snapshot(corpus)
    res = subprocess.run([sys.executable, "tests/corpus/make_corpus.py", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
    assert res.returncode == 0, res.stderr
    after = snapshot(tmp_path)
    assert sorted(after) == sorted(before)
    assert [k for k in before if before[k] != after[k]] == []
