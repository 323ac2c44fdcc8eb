"""Large centre files: Arrow's CSV reader (files from 1 MB on, when plain) gives exactly what
the exact reader gives, and per-distinct-value harmonizing gives the per-row result."""

from __future__ import annotations

import glob
from pathlib import Path

import pandas as pd
import pytest
import yaml

import her2cohort.data.read as rd
from her2cohort.data.ingest import pseudonym, pseudonyms
from her2cohort.data.mapping import MappingError, load_mapping

ROOT = Path(__file__).resolve().parents[1]


def read_both(mapping: dict, monkeypatch, base=ROOT):
    monkeypatch.setattr(rd, "FAST_CSV_BYTES", 1 << 40)
    exact = rd.read_raw(mapping, base, None)
    used = []
    fast_fn = rd._read_csv_fast

    def spy(*a, **k):
        out = fast_fn(*a, **k)
        used.append(out is not None)
        return out

    monkeypatch.setattr(rd, "FAST_CSV_BYTES", 0)
    monkeypatch.setattr(rd, "_read_csv_fast", spy)
    fast = rd.read_raw(mapping, base, None)
    monkeypatch.setattr(rd, "_read_csv_fast", fast_fn)
    return exact, fast, any(used)


def same(a, b) -> bool:
    (da, pa_), (db, pb) = a, b
    if [str(p) for p in pa_] != [str(p) for p in pb]:
        return False
    if da is None or db is None:
        return da is None and db is None
    return list(da.columns) == list(db.columns) and \
        da.astype(object).astype(str).equals(db.astype(object).astype(str))


def csv_mappings():
    out = []
    for mp in sorted(glob.glob(str(ROOT / "tests/corpus/*/centre*.yaml"))
                     + glob.glob(str(ROOT / "config/centres/*.yaml"))
                     + glob.glob(str(ROOT / "config/examples/*/centres/*.yaml"))):
        try:
            m = load_mapping(mp)
        except MappingError:
            continue
        for spec in m.get("files") or [m]:
            mm = {**m, **spec}
            if mm.get("format", "csv") == "csv" and (ROOT / mm["file"]).is_file():
                out.append(pytest.param(mm, id=str(Path(mp).relative_to(ROOT)) + ":"
                                        + Path(spec["file"]).name))
    return out


@pytest.mark.parametrize("mapping", csv_mappings())
def test_fast_reader_equals_exact_reader(mapping, monkeypatch):
    monkeypatch.chdir(ROOT)
    exact, fast, _ = read_both(mapping, monkeypatch)
    assert same(exact, fast)


def test_fast_reader_is_used_and_falls_back(tmp_path, monkeypatch):
    head = "ID;Date;Note;Code\n"
    rows = [f'P{i:06d};01/02/2019;"a; quoted";{i % 7}\n' for i in range(2000)]
    plain = head + "units;dd/mm/yyyy;;\n" + "".join(rows) + ";;;\n;;;\n"
    multi = head + "".join(rows[:5]) + 'P9;01/02/2019;"two\nlines";1\n' + "".join(rows[5:])
    shifted = head + "".join(rows[:5]) + "P9;01/02/2019;x;1;extra\n" + "".join(rows[5:])
    for name, text, fast_expected in (("plain", plain, True), ("multi", multi, False),
                                      ("shifted", shifted, False)):
        f = tmp_path / f"{name}.csv"
        f.write_text(text, "utf-8")
        m = {"file": str(f), "_path": "m.yaml", "delimiter": ";", "allow_outside_data_dirs": True,
             "columns": {"patient_id": "ID"},
             "skip_rows_after_header": 1 if name == "plain" else 0}
        exact, fast, used = read_both(m, monkeypatch, base="/")
        assert used is fast_expected, name
        assert same(exact, fast), name
    df, problems = fast
    assert isinstance(df, pd.DataFrame) or df is None


def test_plain_file_read_fast_with_skipped_and_trailing_rows(tmp_path, monkeypatch):
    rows = "".join(f"P{i};{i % 3}\n" for i in range(10))
    f = tmp_path / "x.csv"
    f.write_text("ID;Code\nunits;\n" + rows + ";\n;\n", "utf-8")
    m = {"file": str(f), "_path": "m.yaml", "delimiter": ";", "allow_outside_data_dirs": True,
         "columns": {"patient_id": "ID"}, "skip_rows_after_header": 1}
    exact, fast, used = read_both(m, monkeypatch, base="/")
    assert used and same(exact, fast)
    df, problems = fast
    assert list(df["_row"]) == list(range(3, 13))  # the file's own row numbers
    assert [p.rule for p in problems] == ["rows_skipped", "blank_row"]


def test_pseudonyms_equal_pseudonym():
    ids = pd.Series(["A1", " b2 ", None, "A1", "x" * 100, "é"], dtype="string")
    for salt in ("s", "x" * 100, "her2cohort-demo-salt-not-secret"):
        want = [pseudonym(v, salt) if isinstance(v, str) else None for v in ids]
        assert list(pseudonyms(ids, salt)) == want


def test_registry_simulator_csv_and_parquet_read_alike(tmp_path, monkeypatch):
    """`her2cohort simulate --patients N` writes SIMULATED CSV or Parquet centre files; both
    read through their mappings to the same harmonized records, and the records a validation
    must catch are there."""
    from her2cohort.data.ingest import ingest
    from her2cohort.demo.registry import simulate_patients, simulate_registry

    monkeypatch.chdir(ROOT)
    frames = {}
    for fmt in ("csv", "parquet"):
        cfg_path = simulate_registry(tmp_path / fmt, 3000, centres=2, fmt=fmt, seed=7)
        cfg = yaml.safe_load(cfg_path.read_text("utf-8"))
        assert "SIMULATED" in cfg_path.read_text("utf-8")
        df, problems = ingest(cfg["centres"], salt="s", vocabularies={
            "regimen": list(cfg["regimens"])})
        assert not [p for p in problems if p.action == "fail"]
        frames[fmt] = df.drop(columns=["source_file"]).sort_values(
            ["patient_key", "source_row"]).reset_index(drop=True)
    assert len(frames["csv"]) == len(simulate_patients(3000, 2, seed=7))
    pd.testing.assert_frame_equal(frames["csv"], frames["parquet"])
    truth = simulate_patients(3000, 2, seed=7)
    assert (truth["her2_ihc"] == "2+").mean() == pytest.approx(0.2, abs=0.03)


def test_parquet_named_csv_is_told(tmp_path):
    f = tmp_path / "x.csv"
    pd.DataFrame({"ID": ["a"]}).to_parquet(f)
    m = {"file": str(f), "_path": "m.yaml", "allow_outside_data_dirs": True}
    df, problems = rd.read_raw(m, "/", None)
    assert df is None
    assert "the file is an Apache Parquet file although the mapping says 'format: csv': set " \
           "'format: parquet'" in problems[0].message
