"""The broken-input corpus (tests/corpus): each case gives its clear message and exit status,
every problem at once, no traceback, and no row lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from her2cohort.data.config import load_config, salt, vocabularies
from her2cohort.data.ingest import ingest
from her2cohort.data.problems import resolve_actions

ROOT = Path(__file__).resolve().parents[1]
CASES = yaml.safe_load((ROOT / "tests/corpus/cases.yaml").read_text("utf-8"))


def _check(case: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "her2cohort.cli", "check", "--centre",
         f"tests/corpus/{case}/centre.yaml", "--limit", "100"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_message_and_exit_status(case):
    spec = CASES[case]
    res = _check(case)
    out = res.stdout + res.stderr
    assert res.returncode == spec["exit"], out
    assert "Traceback" not in out
    assert f"x {spec['rule']} [" in out, out
    for fragment in spec["messages"]:
        assert fragment in out, f"{fragment!r} missing from:\n{out}"


@pytest.mark.parametrize("case", sorted(c for c, s in CASES.items() if s["exit"] == 0))
def test_no_row_lost(case):
    """Rows in the file = rows passing + rows quarantined, for cases that do not stop the run."""
    from her2cohort.data.config import data_lock
    from her2cohort.data.mapping import load_mapping
    from her2cohort.data.validate import validate

    spec = CASES[case]
    cfg = load_config(ROOT / "config/config.yaml")
    mp = ROOT / f"tests/corpus/{case}/centre.yaml"
    df, problems = ingest([mp], salt=salt(cfg), vocabularies=vocabularies(cfg), base_dir=ROOT)
    resolve_actions(problems)
    assert not [p for p in problems if p.action == "fail"]
    assert len(df) == spec["rows"]
    m = load_mapping(mp)
    clean, quarantined, _ = validate(df, columns_by_centre={m["centre"]: m["columns"]},
                                     vocabularies=vocabularies(cfg), data_lock=data_lock(cfg))
    assert len(quarantined) == spec["quarantined"]
    assert len(clean) + len(quarantined) == spec["rows"]
    assert set(clean["source_row"]).isdisjoint(quarantined["source_row"])


def test_all_problems_reported_at_once():
    """Two defects in different rows and columns are both reported in one run."""
    res = _check("unknown_code")
    assert "2 problem(s) found" in res.stdout + res.stderr


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
    assert "'unknown_key' was unexpected" in res.stderr
    assert "Traceback" not in res.stderr
