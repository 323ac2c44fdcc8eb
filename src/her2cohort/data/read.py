"""Reading centre files as text cells: CSV (any delimiter, encoding) and Excel sheets.

Output: a table of strings, one column per header cell, plus ``_row`` (the row number as a
spreadsheet shows it: header = 1). Every problem names the file and, where there is one, the
row; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from .problems import Problem

CSV_SNIFF = (";", ",", "\t", "|")


def read_raw(mapping: dict, base_dir: str | Path = ".") -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read the centre file as text cells; return (table with a ``_row`` column, problems)."""
    rel = mapping["file"]
    path = Path(base_dir) / rel
    if not path.exists():
        return None, [Problem(rel, None, None, None, None, "file_missing",
                              f"file not found (looked for {path}); check 'file:' in "
                              f"{mapping['_path']}")]
    reader = _read_xlsx if mapping.get("format", "csv") == "xlsx" else _read_csv
    df, problems = reader(path, rel, mapping)
    if df is not None and not (df.drop(columns="_row") != "").to_numpy().any():
        where = f"sheet {mapping['sheet']!r}" if mapping.get("sheet") else "the file"
        return None, [Problem(rel, None, None, None, None, "file_empty",
                              f"{where} has a header but no data rows: expected one row per "
                              "patient")]
    return df, problems


def _read_csv(path: Path, rel: str, mapping: dict):
    enc = mapping.get("encoding", "utf-8")
    sep = mapping.get("delimiter", ",")
    try:
        text = path.read_bytes().decode(enc)
    except UnicodeDecodeError as e:
        hint = "utf-8" if enc.lower().replace("-", "") != "utf8" else "gbk or utf-8-sig"
        return None, [Problem(rel, None, None, None, None, "file_encoding",
                              f"cannot be decoded as '{enc}' (byte {e.object[e.start]:#04x} at "
                              f"offset {e.start}); set 'encoding:' in {mapping['_path']} "
                              f"(for example {hint})")]
    except LookupError:
        return None, [Problem(rel, None, None, None, None, "file_encoding",
                              f"unknown encoding '{enc}' in {mapping['_path']}")]
    text = text.lstrip("\ufeff")
    if not text.strip():
        return None, [Problem(rel, None, None, None, None, "file_empty",
                              "the file is empty: expected a header row and one row per patient")]
    lines = text.splitlines()
    header_line = lines[0]
    if sep not in header_line:
        seen = [d for d in CSV_SNIFF if d != sep and d in header_line]
        guess = f"; the header looks {seen[0]!r}-separated" if seen else ""
        return None, [Problem(rel, 1, None, None, header_line[:80], "file_parse",
                              f"the header has no {sep!r} delimiter as the mapping says{guess}; "
                              f"set 'delimiter:' in {mapping['_path']}")]
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows = list(reader)
    header = [h.strip() for h in rows[0]]
    problems: list[Problem] = []
    body = []
    for i, cells in enumerate(rows[1:], start=2):
        if len(cells) != len(header):
            if not any(c.strip() for c in cells):
                body.append([""] * len(header) + [i])
                continue
            problems.append(Problem(rel, i, None, None, None, "file_parse",
                                    f"row has {len(cells)} cells, the header has {len(header)}: "
                                    "a stray delimiter or quote?"))
            continue
        body.append(cells + [i])
    if problems:
        return None, problems
    return pd.DataFrame(body, columns=header + ["_row"]), []


def _cell_text(v, number_format: str | None = None) -> str:
    """An Excel cell as the text a user sees; a percent-formatted number (0.1 shown as 10%) is
    written in percent, as displayed."""
    if v is None:
        return ""
    if number_format and "%" in number_format and isinstance(v, (int, float)) \
            and not isinstance(v, bool):
        v = round(float(v) * 100, 10)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


def _read_xlsx(path: Path, rel: str, mapping: dict):
    import zipfile

    from openpyxl import load_workbook

    sheet = mapping.get("sheet")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        return None, [Problem(rel, None, None, None, None, "file_parse",
                              f"not a readable .xlsx workbook ({type(e).__name__}); "
                              "save it from Excel as .xlsx or export CSV")]
    if sheet is None:
        sheet = wb.sheetnames[0]
    if sheet not in wb.sheetnames:
        names = ", ".join(repr(s) for s in wb.sheetnames)
        wb.close()
        return None, [Problem(rel, None, None, None, sheet, "sheet_missing",
                              f"no sheet named {sheet!r}; the workbook has {names}; set "
                              f"'sheet:' in {mapping['_path']}")]
    ws = wb[sheet]
    rows = [[_cell_text(c.value, getattr(c, "number_format", None)) for c in r]
            for r in ws.iter_rows()]
    wb.close()
    if not rows or not any(c.strip() for c in rows[0]):
        return None, [Problem(rel, None, None, None, sheet, "file_empty",
                              f"sheet {sheet!r} is empty: expected a header row and one row "
                              "per patient")]
    header = [h.strip() for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    problems = []
    for i, r in enumerate(rows[1:], start=2):
        extra = [(k, c) for k, c in enumerate(r[len(header):], start=len(header) + 1)
                 if c.strip()]
        if extra:
            col, value = extra[0]
            problems.append(Problem(rel, i, None, None, value, "file_parse",
                                    f"row has a value in column {col} (beyond the "
                                    f"{len(header)} header columns): a shifted row?"))
    if problems:
        return None, problems
    body = [r[: len(header)] + [""] * (len(header) - len(r)) + [i]
            for i, r in enumerate(rows[1:], start=2)]
    return pd.DataFrame(body, columns=header + ["_row"]), []


