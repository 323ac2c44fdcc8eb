"""Regenerate the broken-input corpus from the SIMULATED demo files.

Run from the project folder: python tests/corpus/make_corpus.py
Each case folder holds one centre file and its mapping; tests/corpus/cases.yaml says which
exit status and which message `her2cohort check --centre <mapping>` must give.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
N = 12  # data rows kept per case


def js01_lines() -> list[str]:
    text = (ROOT / "data/demo/raw/JS01_SIMULATED_neoadjuvant_her2.csv").read_text("utf-8-sig")
    return text.splitlines()[: N + 1]


def mapping(name: str, base: str, filename: str, **changes) -> None:
    m = yaml.safe_load((ROOT / "config/centres" / f"{base}.yaml").read_text("utf-8"))
    m["file"] = f"tests/corpus/{name}/{filename}"
    m.update(changes)
    (HERE / name / "centre.yaml").write_text(
        f"# broken-input case '{name}' (SIMULATED data)\n"
        + yaml.safe_dump(m, allow_unicode=True, sort_keys=False), "utf-8")


def case(name: str) -> Path:
    d = HERE / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def write(d: Path, lines: list[str], enc: str = "utf-8") -> None:
    (d / "data.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode(enc))


def main() -> None:
    lines = js01_lines()
    header = lines[0].split(";")

    d = case("wrong_delimiter")  # file written with commas, mapping says ';'
    write(d, [ln.replace(",", ".").replace(";", ",") for ln in lines])
    mapping("wrong_delimiter", "JS01", "data.csv")

    d = case("unknown_code")  # 'B' for bilateral has no mapping
    rows = [ln.split(";") for ln in lines]
    side = header.index("Side")
    rows[4][side] = "B"
    rows[9][header.index("Histology")] = "mucinous"
    write(d, [";".join(r) for r in rows])
    mapping("unknown_code", "JS01", "data.csv")

    d = case("missing_column")  # the cN column was dropped from the export
    cn = header.index("cN")
    write(d, [";".join(c for i, c in enumerate(ln.split(";")) if i != cn) for ln in lines])
    mapping("missing_column", "JS01", "data.csv")

    d = case("swapped_day_month")  # exported as month/day/year, mapping says day/month/year
    rows = [ln.split(";") for ln in lines]
    date_cols = [header.index(c) for c in ("Date of birth", "Diagnosis date", "NAT start",
                                           "Surgery date", "Last follow-up")]
    for r in rows[1:]:
        for c in date_cols:
            if r[c]:
                dd, mm, yy = r[c].split("/")
                r[c] = f"{mm}/{dd}/{yy}"
    write(d, [";".join(r) for r in rows])
    mapping("swapped_day_month", "JS01", "data.csv")

    d = case("impossible_dates")  # surgery before diagnosis, last contact before surgery
    rows = [ln.split(";") for ln in lines]
    rows[3][header.index("Surgery date")] = "01/01/2010"
    rows[6][header.index("Last follow-up")] = rows[6][header.index("NAT start")]
    write(d, [";".join(r) for r in rows])
    mapping("impossible_dates", "JS01", "data.csv")

    d = case("duplicate_patient")  # row 5 exported twice
    write(d, lines + [lines[4]])
    mapping("duplicate_patient", "JS01", "data.csv")

    d = case("empty_file")
    (d / "data.csv").write_bytes(b"")
    mapping("empty_file", "JS01", "data.csv")

    d = case("wrong_sheet")  # mapping names a sheet that is not in the workbook
    wb = load_workbook(ROOT / "data/demo/raw/JS05_SIMULATED_database.xlsx")
    ws = wb["data"]
    ws.delete_rows(N + 2, ws.max_row)
    wb.save(d / "data.xlsx")
    mapping("wrong_sheet", "JS05", "data.xlsx", sheet="Sheet1")

    d = case("non_utf8")  # a GBK export read as UTF-8
    gbk = (ROOT / "data/demo/raw/JS03_SIMULATED_gbk.csv").read_bytes().split(b"\r\n")[: N + 1]
    (d / "data.csv").write_bytes(b"\r\n".join(gbk) + b"\r\n")
    mapping("non_utf8", "JS03", "data.csv", encoding="utf-8")

    d = case("bad_number")  # decimal point in a decimal-comma file, text in a number column
    rows = [ln.split(";") for ln in lines]
    rows[2][header.index("Ki67 %")] = "about 30"
    rows[5][header.index("Tumour size (mm)")] = "25.5"
    write(d, [";".join(r) for r in rows])
    mapping("bad_number", "JS01", "data.csv")

    d = case("missing_value")  # a record without a diagnosis date
    rows = [ln.split(";") for ln in lines]
    rows[8][header.index("Diagnosis date")] = ""
    write(d, [";".join(r) for r in rows])
    mapping("missing_value", "JS01", "data.csv")


if __name__ == "__main__":
    main()
