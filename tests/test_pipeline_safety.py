"""Whole-pipeline safety cases (Snakemake in a temporary copy of the project, SIMULATED data):

- row accounting read from the pipeline's own flow table equals the data rows in the raw files;
- no hospital identifier and no date anywhere under results/ or in logs/;
- stop, fix, rerun: a quote that is never closed stops ingestion with the row and column, and
  after the fix a plain rerun finishes with every record;
- interruption: after SIGKILL, `snakemake --unlock && snakemake` is the one command that
  recovers (the profile reruns incomplete files).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from her2cohort.data.mapping import load_mapping
from her2cohort.data.read import read_raw
from conftest import copy_project as _copy_project
from conftest import demo_copy
from conftest import pipeline_env as _env
from her2cohort.data.safety import _DATE, redact_text

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e
JS01 = "data/demo/raw/JS01_SIMULATED_neoadjuvant_her2.csv"


def _snakemake(work: Path, *args: str, cores: str = "2") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", cores, *args],
                          cwd=work, capture_output=True, text=True, check=False, env=_env(),
                          timeout=1200)


def _logs(work: Path) -> str:
    return "".join(f"\n--- {p.name}\n{p.read_text('utf-8')[-3000:]}"
                   for p in sorted((work / "logs").glob("*.log")))


def _raw_rows_and_ids() -> tuple[int, set[str]]:
    """Data rows and hospital IDs in the demo files, read independently of the pipeline's
    harmonization (text cells, header excluded)."""
    n, ids = 0, set()
    for mp in sorted((ROOT / "config/centres").glob("*.yaml")):
        m = load_mapping(mp)
        raw, _ = read_raw(m, ROOT)
        n += len(raw)
        ids |= {v.strip() for v in raw[m["columns"]["patient_id"]] if v.strip()}
    return n, ids


def _texts(folder: Path):
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix in (".csv", ".txt", ".md", ".html", ".log", ".tsv", ".json", ".rst"):
            yield p, p.read_text("utf-8", errors="replace")
        elif p.suffix == ".docx":
            with zipfile.ZipFile(p) as z:
                yield p, z.read("word/document.xml").decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def demo_run(demo_pipeline, tmp_path_factory):
    """A copy of the session's one demo run (tests/conftest.py: these tests write its report)
    and its console output."""
    return demo_copy(demo_pipeline, tmp_path_factory, "pipeline_safety"), demo_pipeline.result


def test_flow_table_accounts_for_every_raw_row(demo_run):
    work, _ = demo_run
    n_raw, _ = _raw_rows_and_ids()
    flow = pd.read_csv(work / "results/tables/flow.csv")
    start = flow[flow["kind"] == "start"].iloc[0]
    assert int(start["n_after"]) == n_raw == 637
    # every step: before - excluded = after, and the chain is unbroken
    assert (flow["n_before"] - flow["n_excluded"] == flow["n_after"]).all()
    assert (flow["n_before"].iloc[1:].to_numpy() == flow["n_after"].iloc[:-1].to_numpy()).all()
    quarantine = pd.read_csv(work / "results/qc/quarantine.csv")
    q_step = flow[flow["kind"] == "quarantine"].iloc[0]
    assert int(q_step["n_excluded"]) == len(quarantine)


def test_no_identifier_or_date_under_results_or_in_logs(demo_run):
    work, res = demo_run
    _, ids = _raw_rows_and_ids()
    assert len(ids) > 600
    # dates of the study configuration (data lock date, recorded in the provenance) are not
    # patient data; every other date-like text is
    config_dates = {m.group(0) for m in _DATE.finditer((ROOT / "config/config.yaml").read_text())}
    checked = 0
    for folder in ("results", "logs"):
        for path, text in _texts(work / folder):
            if path == work / "results/report.html":
                # Snakemake's own report (another test of the shared run writes it there):
                # its bundled scripts and licences hold version numbers and dates;
                # test_report_holds_no_identifier_date_or_formula checks it
                continue
            checked += 1
            dates = {m.group(0) for m in _DATE.finditer(text)} - config_dates
            assert redact_text(" ".join(dates), ids=False, keep_example=True) == " ".join(dates), \
                f"date-like text {sorted(dates)[:3]} in {path}"
            tokens = set(text.replace(",", " ").replace(";", " ").replace('"', " ").split())
            leaked = ids & tokens
            assert not leaked, f"{path} holds hospital IDs {sorted(leaked)[:3]}"
    assert checked >= 10
    console = res.stdout + res.stderr
    assert not ids & set(console.split())


def test_report_holds_no_identifier_date_or_formula(demo_run):
    """The Snakemake HTML report embeds the results tables: no ID, no patient date, and the
    problems and quarantine tables it shows are neutralised against formula injection."""
    work, _ = demo_run
    res = _snakemake(work, "--report", "report.html")
    assert res.returncode == 0, res.stderr[-3000:]
    text = (work / "report.html").read_text("utf-8", errors="replace")
    _, ids = _raw_rows_and_ids()
    assert not [i for i in ids if i in text]
    for name in ("results/qc/problems.csv", "results/qc/quarantine.csv"):
        cells = pd.read_csv(work / name, dtype=str, keep_default_na=False).to_numpy().ravel()
        assert not [c for c in cells if c[:1] in ("=", "@") or
                    (c[:1] in "+-" and not c.lstrip("+-").replace(".", "", 1).isdigit()
                     and c not in ("", "-", "+"))]


def test_stop_fix_rerun(tmp_path):
    """A quote opened in row 100 and never closed stops the run (exit != 0) naming row and
    column; after the fix, a plain rerun up to the flow table (the cohort rule, where every
    record is accounted for; the analyses after it are the shared demo run's) finishes with
    all 637 records."""
    work = _copy_project(tmp_path)
    path = work / JS01
    original = path.read_bytes()
    lines = original.decode("utf-8-sig").split("\r\n")
    header = lines[0].split(";")
    cells = lines[99].split(";")
    cells[header.index("Recurrence site")] = '"see pathology notes'
    lines[99] = ";".join(cells)
    path.write_bytes(("\ufeff" + "\r\n".join(lines)).encode("utf-8"))
    res = _snakemake(work)
    assert res.returncode != 0
    out = res.stdout + res.stderr + _logs(work)
    assert "Traceback" not in _logs(work)
    assert "unclosed_quote" in out
    assert "a quote opened in row 100" in out and "column 'Recurrence site'" in out
    failed = pd.read_csv(work / "results/qc/ingest_problems_FAILED.csv")
    assert (failed["rule"] == "unclosed_quote").any()
    path.write_bytes(original)  # the fix
    res = _snakemake(work, "results/tables/flow.csv")
    assert res.returncode == 0, res.stderr[-3000:] + _logs(work)
    flow = pd.read_csv(work / "results/tables/flow.csv")
    assert int(flow.loc[flow["kind"] == "start", "n_after"].iloc[0]) == 637
    assert not (work / "results/qc/ingest_problems_FAILED.csv").exists()


def test_sigkill_then_unlock_and_rerun(tmp_path):
    """A run killed with SIGKILL (power cut, OOM killer) leaves a lock; `snakemake --unlock`
    then a plain `snakemake` finishes it: no incomplete-files error (profile). The rerun goes
    up to the flow table (the killed jobs are ingestion's and validation's)."""
    work = _copy_project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(),
                            start_new_session=True)
    deadline = time.time() + 600
    target = work / "data/processed/harmonized.parquet"
    while time.time() < deadline and not target.exists() and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)  # a later job is under way
    assert proc.poll() is None, "the pipeline finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    time.sleep(1.0)
    locked = _snakemake(work)
    assert locked.returncode != 0
    assert "lock" in (locked.stdout + locked.stderr).lower()
    res = subprocess.run("snakemake --unlock && snakemake --cores 2 results/tables/flow.csv",
                         shell=True, cwd=work,
                         capture_output=True, text=True, check=False, env=_env(), timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:] + _logs(work)
    flow = pd.read_csv(work / "results/tables/flow.csv")
    assert int(flow.loc[flow["kind"] == "start", "n_after"].iloc[0]) == 637
