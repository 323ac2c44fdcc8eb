"""Stage functions on small inputs: config-driven actions, row accounting, schemas, determinism."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from her2cohort.data.config import load_config
from her2cohort.stages import run_with_config as run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def cfg():
    return load_config(ROOT / "config/config.yaml")


def _paths(tmp):
    return {
        "ingest": {"out_parquet": tmp / "h.parquet", "out_problems": tmp / "ip.csv"},
        "validate": {"in_parquet": tmp / "h.parquet", "in_ingest_problems": tmp / "ip.csv",
                     "out_parquet": tmp / "v.parquet", "out_quarantine": tmp / "q.parquet",
                     "out_problems": tmp / "p.csv", "out_quarantine_csv": tmp / "q.csv",
                     "out_qc_summary": tmp / "s.csv", "out_qc_summary_html": tmp / "s.html"},
    }


def test_unreadable_cells_fail_by_default(cfg, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    cfg["centres"] = ["tests/corpus/bad_number/centre.yaml"]
    assert run("ingest", cfg, **_paths(tmp_path)["ingest"]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    # the stage's report goes to logs/: text in a number column only by its shape, a number
    # as it is (config/README.md, "What reaches results/ and logs/")
    assert "row 3, column 'Ki67 %', value [shape: lllll dd]" in out
    assert "about 30" not in out
    assert "row 6, column 'Tumour size (mm)', value '25.5'" in out
    assert "stopped because of the problem(s) marked [fail]" in captured.err
    assert "Traceback" not in out
    assert (tmp_path / "ip_FAILED.csv").exists()
    problems = pd.read_csv(tmp_path / "ip.csv")
    assert sorted(problems["row"]) == [3, 6] and set(problems["action"]) == {"fail"}


def test_config_can_quarantine_unreadable_cells(cfg, tmp_path, monkeypatch):
    """qc.actions turns a failing rule into quarantine: the rows are set aside, none is lost."""
    monkeypatch.chdir(ROOT)
    cfg = copy.deepcopy(cfg)
    cfg["centres"] = ["tests/corpus/bad_number/centre.yaml"]
    cfg["qc"]["actions"] = {"bad_number": "quarantine"}
    p = _paths(tmp_path)
    assert run("ingest", cfg, **p["ingest"]) == 0
    assert run("validate", cfg, **p["validate"]) == 0
    clean = pd.read_parquet(tmp_path / "v.parquet")
    q = pd.read_csv(tmp_path / "q.csv")
    assert sorted(q["row"]) == [3, 6]
    assert set(q["reason"]) == {"bad_number"}
    assert len(clean) + len(q) == 12
    assert "patient_id" not in clean.columns and "patient_key" in clean.columns


def test_analysis_schema_rejects_bad_rows():
    from her2cohort.data.validate import check_analysis

    df = pd.DataFrame({
        "patient_key": pd.array(["P0123456789ab", "P0123456789ab"], dtype="string"),
        "centre": pd.array(["A", "A"], dtype="string"),
        "her2_class": pd.array(["3+", "2+/ISH-"], dtype="string"),
        "her2_status": pd.array(["positive", "positive"], dtype="string"),
        "age": [50.0, 40.0],
        "hr_status": pd.array(["positive", None], dtype="string"),
        "anti_her2": pd.array(["dual", "single"], dtype="string"),
        "pcr": pd.array([True, False], dtype="boolean"),
        "her2_loss": pd.array([None, True], dtype="boolean"),
        "dfs_months": [12.0, -1.0],
        "dfs_event": pd.array([0, 1], dtype="Int8"),
        "stage": pd.array(["IIA", "IIIC"], dtype="string"),
    })
    with pytest.raises(ValueError) as e:
        check_analysis(df, "her2_class", ["3+", "2+/ISH+"], ["dfs"])
    msg = str(e.value)
    assert "patient_key" in msg and "her2_class" in msg and "dfs_months" in msg


def test_simulator_reproduces_the_committed_demo_files(tmp_path):
    """The committed demo data are exactly what `her2cohort simulate` writes (byte-identical)."""
    from her2cohort.demo.simulate import simulate

    simulate(tmp_path / "demo")
    committed = sorted((ROOT / "data/demo").rglob("*.*"))
    committed = [p for p in committed if p.suffix in (".csv", ".tsv", ".xlsx")
                 and "invitro" not in p.name and "invitro" not in p.parts]  # demo/plates.py
    assert len(committed) == 7
    for p in committed:
        rel = p.relative_to(ROOT / "data/demo")
        new = tmp_path / "demo" / rel
        if rel.parts[0] == "truth":  # truth names files by their path under the output folder
            continue
        assert hashlib.sha256(new.read_bytes()).hexdigest() == \
            hashlib.sha256(p.read_bytes()).hexdigest(), rel


def test_simulated_truth_hits_published_counts():
    from her2cohort.demo.simulate import build_truth

    t = build_truth()
    inc = t[t["disposition"] == "included"]
    assert len(inc) == 575
    assert inc["her2_class_truth"].value_counts().to_dict() == {"3+": 458, "2+/ISH+": 117}
    hr = inc[inc["hr_truth"] == "positive"]["her2_class_truth"].value_counts().to_dict()
    assert hr == {"3+": 223, "2+/ISH+": 89}
    pcr = inc[inc["pcr_truth"]]["her2_class_truth"].value_counts().to_dict()
    assert pcr == {"3+": 211, "2+/ISH+": 19}


def test_write_csv_keeps_every_double_exactly(tmp_path):
    """README: CSVs at full precision. Every double reads back identical, in its shortest
    form (0.1 as 0.1), whole numbers without '.0'; digits= still rounds when asked."""
    import numpy as np

    from her2cohort.stages.common import write_csv

    vals = [0.1, 1 / 3, 2 / 3 * 1e-9, 458.0, 1234567.0, 0.474546123456789, -2.5e20, np.nan]
    write_csv(pd.DataFrame({"x": vals, "k": list("abcdefgh")}), tmp_path / "a.csv")
    text = (tmp_path / "a.csv").read_text("utf-8")
    back = pd.read_csv(tmp_path / "a.csv", float_precision="round_trip")["x"].tolist()
    assert all(a == b or (np.isnan(a) and np.isnan(b)) for a, b in zip(vals, back, strict=True))
    assert text.splitlines()[1:6] == ["0.1,a", "0.3333333333333333,b",
                                      "6.666666666666666e-10,c", "458,d", "1234567,e"]
    write_csv(pd.DataFrame({"x": [1 / 3]}), tmp_path / "b.csv", digits=6)
    assert (tmp_path / "b.csv").read_text("utf-8") == "x\n0.333333\n"



def test_centre_mapping_read_and_checked_once_per_file_version(tmp_path, monkeypatch):
    """A Snakemake parse checks the centre mappings and each rule's params ask for them: a
    mapping is read and checked once per file version in a process; every caller gets a copy
    of its own; an edited file is read again; a mapping with a mistake says so every time."""
    import os

    from her2cohort.data import mapping as mp

    path = tmp_path / "JS01.yaml"
    text = (ROOT / "config/centres/JS01.yaml").read_text("utf-8")
    path.write_text(text, "utf-8")
    calls = []
    real = mp._load_mapping
    monkeypatch.setattr(mp, "_load_mapping", lambda p: calls.append(p) or real(p))
    mp._load_mapping_version.cache_clear()

    first = mp.load_mapping(path)
    first["columns"].clear()
    again = mp.load_mapping(path)
    assert again["columns"] and again == real(path)
    assert len(calls) == 1

    def edit(new: str) -> None:
        st = path.stat()
        path.write_text(new, "utf-8")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))

    edit(text + "not_recorded: [ki67_pct]\n")
    assert mp.load_mapping(path)["not_recorded"] == ["ki67_pct"]
    assert len(calls) == 2
    edit(text + "not_recorded: [ki67_percent]\n")
    for _ in range(2):
        with pytest.raises(mp.MappingError, match="ki67_percent"):
            mp.load_mapping(path)
    assert len(calls) == 4
