"""Reading centre files as text cells: CSV (any delimiter, encoding) and Excel sheets.

Output: a table of strings, one column per header cell, plus ``_row`` (the row number as a
spreadsheet shows it: the header row, 1 unless the mapping sets ``header_row``, is followed by
its data rows). Every problem names the file and, where there is one, the row; nothing is
dropped silently: the number of records read always equals the number of data rows in the file,
and where the two could differ (a quote that is never closed, a merged cell, a formula without a
stored value, rows on a second sheet) a problem says where and why.

What is normalised (documented, nothing else is changed):
- every cell: Unicode NFC; zero-width characters, byte-order marks, NUL and soft hyphens
  removed; no-break and other Unicode spaces read as a plain space (``safety.clean_text``);
- header cells: runs of white space (including line breaks inside a header cell) read as one
  space, leading/trailing spaces removed;
- Excel date-time cells: the date part (a time of day is not used by any field); Parquet
  timestamps: the date in their own time zone, their type kept for harmonizing
  (``_read_parquet``);
- trailing empty columns without a header (an Excel artefact) and empty rows after the last
  record are ignored, with one summary line.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .problems import Problem
from .safety import check_inside, clean_text

CSV_SNIFF = (";", ",", "\t", "|")
LARGE_CELL = 128 * 1024  # the csv module's default field limit; larger cells are reported
HEADER_SEARCH = 20  # rows looked at when the header is not on the expected row
FAST_CSV_BYTES = 1 << 20  # text files from 1 MB on are read by Arrow when they are plain
_WS = re.compile(r"\s+")
_INVISIBLE_CHARS = ("\u200b\u200c\u200d\u2060\ufeff\x00\u00ad\u00a0\u202f\u205f\u3000"
                    + "".join(map(chr, range(0x2000, 0x200B))))
_SCI = re.compile(r"\d(?:[.,]\d+)?[eE]\+?\d{1,3}")


def _p(rel, rule, message, row=None, column=None, value=None) -> Problem:
    return Problem(rel, row, None, column, value, rule, message)


def read_raw(mapping: dict, base_dir: str | Path = ".", data_dirs: list[str] | None = None
             ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read the centre file as text cells; return (table with a ``_row`` column, problems).

    Raises ``MappingError`` (a configuration error) when ``file:`` names a folder or, with
    ``data_dirs`` (folders relative to ``base_dir``), a path outside them."""
    from .mapping import MappingError

    rel = mapping["file"]
    path = Path(base_dir) / rel
    dirs = data_dirs if data_dirs is not None else mapping.get("_data_dirs")
    refused = check_inside(path, base_dir, mapping, dirs)
    if refused:
        raise MappingError(f"{mapping['_path']}: {refused}")
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.is_file())[:5]
        listing = f" (it holds {', '.join(inside)})" if inside else ""
        raise MappingError(f"{mapping['_path']}: 'file: {rel}' names a folder, not a file"
                           f"{listing}; give the path of the centre's export file")
    if not path.exists():
        return None, [_p(rel, "file_missing", f"file not found (looked for {path}); check "
                                              f"'file:' in {mapping['_path']}")]
    fmt = mapping.get("format", "csv")
    kind = _sniff(path)
    if kind == "empty":  # 0 bytes: not a text file, not a workbook; say so for either format
        what = ", not an .xlsx workbook (an export or a copy that failed)" if fmt == "xlsx" \
            else ""
        return None, [_p(rel, "file_empty", f"the file is empty (0 bytes){what}: expected a "
                                            "header row and one row per patient; ask the "
                                            "centre to export it again")]
    wrong = _wrong_kind(kind, fmt, mapping)
    if wrong:
        return None, [_p(rel, "file_parse", wrong)]
    reader = {"xlsx": _read_xlsx, "parquet": _read_parquet}.get(fmt, _read_csv)
    try:
        df, problems = reader(path, rel, mapping)
    except (OSError, MemoryError) as e:
        return None, [_p(rel, "file_parse", f"cannot be read ({type(e).__name__}: {e})")]
    if df is not None and not any((df[c] != "").any() for c in df.columns if c != "_row"):
        where = f"sheet {mapping['sheet']!r}" if mapping.get("sheet") else "the file"
        return None, problems + [_p(rel, "file_empty", f"{where} has a header but no data rows: "
                                                       "expected one row per patient")]
    if df is not None:
        problems += _check_ids(df, rel, mapping)
    return df, problems


# --- what the file really is ------------------------------------------------------------------

_CONTROL = bytes([*range(1, 9), 11, *range(14, 26), *range(27, 32)])  # not in any text file


def _sniff(path: Path) -> str:
    """'xlsx' (zip: the magic bytes PK\\x03\\x04, whatever the file's name), 'xls' (OLE2:
    Excel 97-2003 or an encrypted workbook), 'pdf', 'parquet' (PAR1), 'parquet_encrypted'
    (PARE: an encrypted footer), 'empty' (0 bytes), 'binary' or 'text', from the first
    bytes."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PARE"):
        return "parquet_encrypted"  # Parquet with an encrypted footer
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 text
    if b"\x00" in head and head.count(b"\x00") > len(head) // 4:
        return "binary"
    # control bytes other than tab, line breaks, form feed, NUL (reported per cell) and ESC:
    # a damaged or encrypted file, not text
    if len(head) - len(head.translate(None, _CONTROL)) > max(2, len(head) // 100):
        return "binary"
    return "text"


def _wrong_kind(kind: str, fmt: str, mapping: dict) -> str | None:
    m = mapping["_path"]
    if kind == "xls":
        return ("the file is an old Excel 97-2003 workbook (.xls) or a password-protected "
                "workbook, which cannot be read: open it in Excel and save it as .xlsx "
                f"(without password) or export CSV, then set 'file:' and 'format:' in {m}")
    if kind == "pdf":
        return "the file is a PDF document, not a table: ask the centre for a CSV or .xlsx export"
    if kind == "parquet_encrypted":
        return ("the file is an encrypted Apache Parquet file (it starts with the bytes PARE): "
                "it cannot be read without the keys it was encrypted with; ask the centre to "
                "export it again without Parquet encryption (send it over a secure channel "
                "instead)")
    if kind == "binary" and fmt == "parquet":
        return ("the file is not an Apache Parquet file: it does not start with the bytes PAR1 "
                "that every Parquet file starts with, and it is not text; it may be damaged "
                "(an interrupted copy or download) or of another format: ask the centre for "
                f"the file again, or set 'format:' in {m} to what it is")
    if kind == "binary" and fmt == "xlsx":
        return ("the file is not an .xlsx workbook: it does not start with the bytes PK that "
                "every .xlsx file (a zip archive) starts with, and it is not text; it may be "
                "damaged (an interrupted copy or download) or encrypted: ask the centre for the "
                "file again, as .xlsx without password or as CSV")
    if kind == "binary":
        return "the file is not text and not an .xlsx workbook: ask for a CSV or .xlsx export"
    if (kind == "parquet") != (fmt == "parquet"):
        what = {"parquet": "an Apache Parquet file", "xlsx": "an Excel workbook (.xlsx)",
                "text": "a text file (CSV or TSV)"}.get(kind, "not a Parquet file")
        return (f"the file is {what} although the mapping says 'format: {fmt}': set 'format: "
                f"{'parquet' if kind == 'parquet' else 'csv or xlsx'}' in {m}")
    if kind == "xlsx" and fmt != "xlsx":
        return (f"the file is an Excel workbook (.xlsx) although the mapping says 'format: "
                f"{fmt}': set 'format: xlsx' (and 'sheet:') in {m}, or export it as CSV")
    if kind == "text" and fmt == "xlsx":
        return ("the file is a text file (CSV or TSV), not an .xlsx workbook, although the "
                f"mapping says 'format: xlsx': set 'format: csv' and 'delimiter:' in {m}")
    return None


# --- CSV ----------------------------------------------------------------------------------------

def _decode(data: bytes, enc: str, rel: str, mapping: dict):
    """Decode with the mapping's encoding; on failure say where (row, column) and what the bytes
    look like (UTF-16, GBK, Western European cp1252, UTF-8)."""
    m = mapping["_path"]
    low = enc.lower().replace("-", "").replace("_", "")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and not low.startswith("utf16"):
        order = "FF FE" if data.startswith(b"\xff\xfe") else "FE FF"
        return None, _p(rel, "file_encoding",
                        f"the file is UTF-16 text (it starts with the byte-order mark {order}), "
                        f"not '{enc}': set 'encoding: utf-16' in {m}")
    if data.startswith(b"\xef\xbb\xbf") and not low.startswith("utf8"):
        data = data[3:]  # a UTF-8 byte-order mark in front of text in another encoding
    try:
        return data.decode(enc), None
    except UnicodeDecodeError as e:
        pos = e.start
    except LookupError:
        return None, _p(rel, "file_encoding", f"unknown encoding '{enc}' in {m}")
    line_start = data.rfind(b"\n", 0, pos) + 1
    row = data.count(b"\n", 0, pos) + 1
    sep = mapping.get("delimiter", ",").encode("ascii", "replace")
    first = data.split(b"\n", 1)[0].decode(enc, errors="replace").lstrip("\ufeff")
    header = [h.strip() for h in first.split(sep.decode())]
    k = data.count(sep, line_start, pos)
    col = header[k] if k < len(header) else f"column {k + 1}"
    hint = _encoding_hint(data[3:] if data.startswith(b"\xef\xbb\xbf") else data, enc)
    if data.startswith(b"\xef\xbb\xbf") and "gbk" in hint:
        hint = ("the file starts with a UTF-8 byte-order mark but the text behind it is GBK "
                "(Chinese Windows text; a badly converted file): set 'encoding: gbk' in the "
                "mapping (the mark is then ignored)")
    return None, Problem(rel, row, None, col, None, "file_encoding",
                         f"cannot be decoded as '{enc}': byte {data[pos]:#04x} in row {row}, "
                         f"column '{col}' (byte offset {pos}); {hint}")


def _encoding_hint(data: bytes, enc: str) -> str:
    """What the bytes look like: utf-8, gbk (Chinese) or cp1252 (Western European)."""
    candidates = []
    for cand in ("utf-8", "gbk", "cp1252"):
        if cand.replace("-", "") == enc.lower().replace("-", "").replace("_", ""):
            continue
        try:
            data.decode(cand)
        except UnicodeDecodeError:
            continue
        candidates.append(cand)
    b = np.frombuffer(data, dtype=np.uint8)
    high = b >= 0x80
    # Western European letters in cp1252 are bytes 0xC0-0xFF (À-ÿ) in short runs between ASCII
    # letters; Chinese GBK text is long runs of pairs, many bytes in 0xA1-0xBF
    starts = int((high & ~np.roll(high, 1)).sum())
    letters = int((b >= 0xC0).sum())
    western = bool(high.any()) and letters >= 0.9 * high.sum() and high.sum() <= 2.5 * starts
    if "utf-8" in candidates:
        pick = "utf-8 (or utf-8-sig)"
    elif western and "cp1252" in candidates:
        pick = "cp1252 (Western European Windows text: accents such as é, ü)"
    elif "gbk" in candidates:
        pick = "gbk (Chinese Windows text)"
    elif "cp1252" in candidates:
        pick = "cp1252"
    else:
        pick = "the encoding the file was saved in"
    return f"the bytes look like {pick}: set 'encoding:' in the mapping"


def _clean_whole(text: str) -> str:
    """safety.clean_text for a whole file, fast when there is nothing to change."""
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    import unicodedata

    if any(c in text for c in _INVISIBLE_CHARS):  # str.__contains__: fast, unlike a regex
        text = clean_text(text)
    elif not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def _header_cells(cells: list[str]) -> list[str]:
    return [_WS.sub(" ", h).strip() for h in cells]


def _expected_columns(mapping: dict) -> set[str]:
    """Mapped column names (for a centre with several files, 'table:column' also as 'column')."""
    cols = [v for v in (mapping.get("columns") or {}).values() if isinstance(v, str)]
    if isinstance(mapping.get("centre_column"), str):
        cols.append(mapping["centre_column"])
    return {_WS.sub(" ", c).strip() for v in cols for c in (v, v.split(":", 1)[-1])}


def _find_header(rows: list[list[str]], mapping: dict, first: int) -> str | None:
    """None when row ``first`` (0-based) holds the header; else one sentence saying where the
    header seems to be and how to set it."""
    expected = _expected_columns(mapping)
    if not expected or first >= len(rows):
        return None
    here = set(_header_cells(rows[first])) & expected
    m = mapping["_path"]
    best, best_n = None, len(here)
    for i in range(len(rows[:HEADER_SEARCH])):
        n = len(set(_header_cells(rows[i])) & expected)
        if n > best_n:
            best, best_n = i, n
    # row `first` is the header unless another row holds clearly more mapped names (a file of
    # a centre with several files holds only some of them: one is enough)
    if here and (best is None or best_n < max(2 * len(here), len(here) + 2)):
        return None
    if best is not None and best_n >= max(2, len(here) + 1):
        above = "a title line" if best > first else "rows"
        cells = [c for c in rows[first] if c.strip()] if first < len(rows) else []
        if len(cells) == 1 and cells[0].lower().startswith("sep="):
            hint = cells[0] if len(cells[0]) > 4 else "sep=" + mapping.get("delimiter", ",")
            above = f"Excel's delimiter hint '{hint}'"
        return (f"the header seems to be on row {best + 1}, not row {first + 1} (row "
                f"{first + 1} holds {above}, with {len(here)} of the {len(expected)} mapped "
                f"column names): set 'header_row: {best + 1}' in {m}")
    return (f"no header found: none of the first {min(len(rows), HEADER_SEARCH)} rows holds "
            f"the mapped column names (row {first + 1} has {len(here)} of {len(expected)}); "
            f"the file may have no header row: add one, or fix 'columns:' in {m}")


def _read_csv(path: Path, rel: str, mapping: dict):
    enc = mapping.get("encoding", "utf-8")
    sep = mapping.get("delimiter", ",")
    m = mapping["_path"]
    text, bad = _decode(path.read_bytes(), enc, rel, mapping)
    if bad is not None:
        return None, [bad]
    text = _clean_whole(text)
    if not text.strip():
        return None, [_p(rel, "file_empty",
                         "the file is empty: expected a header row and one row per patient")]
    if len(text) >= FAST_CSV_BYTES:
        fast = _read_csv_fast(text, sep, rel, mapping)
        if fast is not None:
            return fast
    try:
        rows, ends = _parse(text, sep, LARGE_CELL)
        big = False
    except csv.Error:
        big = True  # a cell over 128 KB (or another error, reported below)
    if big:
        try:
            rows, ends = _parse(text, sep, max(len(text) + 1, LARGE_CELL))
        except csv.Error as e:
            return None, [_p(rel, "file_parse", f"cannot be parsed as CSV: {e}")]
    h = int(mapping.get("header_row", 1)) - 1
    if h >= len(rows):
        return None, [_p(rel, "header", f"'header_row: {h + 1}' is beyond the end of the file "
                                        f"({len(rows)} rows)")]
    header_line = sep.join(rows[h])
    if sep not in header_line and len(rows[h]) == 1:
        seen = [d for d in CSV_SNIFF if d != sep and d in header_line]
        if seen or not _find_header(rows, mapping, h) or "header_row" in mapping:
            guess = f"; the header looks {seen[0]!r}-separated" if seen else ""
            return None, [_p(rel, "file_parse",
                             f"the header has no {sep!r} delimiter as the mapping says{guess}; "
                             f"set 'delimiter:' in {m}", row=h + 1)]
    where = _find_header(rows, mapping, h)
    if where:
        return None, [_p(rel, "header", where, row=h + 1)]
    header = _header_cells(rows[h])
    problems: list[Problem] = []
    if any("\n" in c or "\r" in c for c in rows[h]):
        problems.append(_p(rel, "header_linebreak", "header cells contain line breaks; they "
                           "are read as spaces (e.g. 'Date of birth')", row=h + 1))
    body = rows[h + 1:]
    starts = [ends[h] + 1] + [e + 1 for e in ends[h + 1:-1]]
    swallowed = _swallowed(body, starts, ends[h + 1:], header, sep, rel, h)
    if swallowed:
        return None, swallowed
    return _table(header, body, h, rel, problems, sep=sep, big=big, skip=_skip(mapping))


def _read_csv_fast(text: str, sep: str, rel: str, mapping: dict):
    """A large CSV in which every record is one line, read by Arrow's CSV reader into one
    categorical column per header cell (a registry's 10^6 records in seconds and a fraction of
    the memory of Python strings). Returns None, so that the exact reader above runs with all
    its messages, whenever the file is not plain: a header not where the mapping says, a
    record over several lines or of the wrong width, an empty line, a very large cell."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    h = int(mapping.get("header_row", 1)) - 1
    n_head = h + HEADER_SEARCH + 2  # lines the header checks look at
    after: list[int] = []  # offset just past each of the first lines
    while len(after) < n_head and (nxt := text.find("\n", after[-1] if after else 0)) >= 0:
        after.append(nxt + 1)
    if len(after) <= h:
        return None
    cut, start = after[h] - 1, after[h]  # the header line's end, the first line below it
    head_end = after[-1] if len(after) == n_head else len(text)
    try:
        rows, ends = _parse(text[:head_end], sep, LARGE_CELL)
    except csv.Error:
        return None
    if len(rows) <= h or ends[h] != h + 1 or _find_header(rows, mapping, h) \
            or sep not in text[:cut] or any("\n" in c or "\r" in c for c in rows[h]):
        return None
    header = _header_cells(rows[h])
    width = len(header)
    invalid: list = []

    def on_invalid(row) -> str:
        invalid.append(row)
        return "skip"

    body = text[start:]
    n_lines = body.count("\n") + (bool(body) and not body.endswith("\n"))
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(width)],
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=False,
                                             ignore_empty_lines=False,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(width)},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, ValueError):
        return None
    if invalid or table.num_rows != n_lines:
        return None  # a record over several lines, a shifted row, an empty line
    longest = [pc.max(pc.utf8_length(c)).as_py() or 0 for c in table.columns]
    if max(longest, default=0) > LARGE_CELL:
        return None
    named = width
    while named and header[named - 1] == "":
        named -= 1
    blank = None
    for i, col in enumerate(table.columns):
        empty = pc.equal(pc.utf8_trim_whitespace(col), "")
        if i >= named and not pc.all(empty).as_py():
            return None  # a value beyond the header's columns: the exact reader says where
        blank = empty if blank is None else pc.and_(blank, empty)
    problems: list[Problem] = []
    names = [c if c else f"(unnamed column {i + 1})" for i, c in enumerate(header[:named])]
    skip = min(_skip(mapping), table.num_rows)
    if skip:
        rows_ = f"row {h + 2}" if skip == 1 else f"rows {h + 2}-{h + 1 + skip}"
        problems.append(_p(rel, "rows_skipped", f"{rows_} below the header skipped "
                                                f"(skip_rows_after_header: {_skip(mapping)})"))
    blank_np = np.asarray(blank) if blank is not None else np.zeros(table.num_rows, bool)
    n = table.num_rows
    nonblank = np.flatnonzero(~blank_np[skip:])
    n = skip + (int(nonblank[-1]) + 1 if len(nonblank) else 0)
    if n < table.num_rows:  # empty rows after the last record: formatting only
        problems.append(_p(rel, "blank_row", f"{table.num_rows - n} empty row(s) after the last "
                                             f"record (row {h + 1 + n}) ignored"))
    table = table.slice(skip, n - skip)
    df = pd.DataFrame({name: table.column(i).dictionary_encode().to_pandas()
                       for i, name in enumerate(names)})
    df["_row"] = np.arange(h + 2 + skip, h + 2 + n)
    return df, problems


def _parse(text: str, sep: str, limit: int) -> tuple[list[list[str]], list[int]]:
    """csv.reader over the text; also the physical line on which each record ends (computed
    only when some record spans several lines: as many records as lines means none does)."""
    import io

    csv.field_size_limit(limit)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    n_lines = text.count("\n") + (not text.endswith("\n"))
    if len(rows) == n_lines and "\r" not in text.replace("\r\n", "\n"):
        return rows, list(range(1, len(rows) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows, ends = [], []
    for cells in reader:
        rows.append(cells)
        ends.append(reader.line_num)
    return rows, ends


def _swallowed(body, starts, ends, header, sep, rel, h) -> list[Problem]:
    """A record spanning several physical lines whose cell holds lines that look like rows: a
    quote opened in a free-text cell and never closed (or closed only many rows later)."""
    out: list[Problem] = []
    if not body or ends[-1] - starts[0] + 1 == len(body):
        return out  # every record on its own line: nothing can have been swallowed
    need = max(2, (len(header) - 1) // 2)
    for k, (cells, start, end) in enumerate(zip(body, starts, ends)):
        if end == start:
            continue
        for j, c in enumerate(cells):
            if "\n" not in c and "\r" not in c:
                continue
            inner = c.splitlines()
            rowlike = sum(1 for ln in inner[1:] if ln.count(sep) >= need)
            if rowlike or (len(cells) < len(header) and k == len(body) - 1):
                col = header[j] if j < len(header) else f"column {j + 1}"
                out.append(Problem(
                    rel, h + 2 + k, None, col, None, "unclosed_quote",
                    f"a quote opened in row {h + 2 + k} (line {start} of the file), column "
                    f"'{col}', is never closed; {len(inner) - 1} following lines were read "
                    f"into this cell ({rowlike} of them look like data rows), so those records "
                    "would be lost: close or remove the quote (\") in that cell and export "
                    "again"))
                break
    return out


def _skip(mapping: dict) -> int:
    """Lines directly below the header that are not records (``skip_rows_after_header``)."""
    return int(mapping.get("skip_rows_after_header") or 0)


def _table(header: list[str], body: list[list[str]], h: int, rel: str, problems: list[Problem],
           sep: str | None = None, big: bool = False, skip: int = 0):
    """Rows of text cells -> DataFrame with ``_row``; unnamed empty trailing columns dropped,
    trailing empty rows summarised once, long or short rows reported. The first ``skip`` rows
    below the header (a units or notes line) are left out, named in one note; row numbers stay
    the file's own."""
    if skip:
        n_skip = min(skip, len(body))
        rows_ = f"row {h + 2}" if n_skip == 1 else f"rows {h + 2}-{h + 1 + n_skip}"
        if n_skip:
            problems.append(_p(rel, "rows_skipped", f"{rows_} below the header skipped "
                                                    f"(skip_rows_after_header: {skip})"))
        body = body[n_skip:]
        h += n_skip  # the first record is on row h + 2, as without skipped rows
    width = len(header)
    while width and header[width - 1] == "":
        width -= 1
    names = [c if c else f"(unnamed column {i + 1})" for i, c in enumerate(header[:width])]
    # empty rows after the last record: formatting only
    n = len(body)
    while n and not any(c.strip() for c in body[n - 1]):
        n -= 1
    if n < len(body):
        problems.append(_p(rel, "blank_row", f"{len(body) - n} empty row(s) after the last "
                                             f"record (row {h + 1 + n}) ignored"))
    body = body[:n]
    raw_width = len(header)
    bad: list[Problem] = []
    if {len(r) for r in body} != {raw_width} or width < raw_width:
        fixed = []
        for i, cells in enumerate(body, start=h + 2):
            blank = not any(c.strip() for c in cells)
            if sep is not None and len(cells) != raw_width and not blank:
                bad.append(Problem(
                    rel, i, None, None, None, "file_parse",
                    f"row has {len(cells)} cells, the header has {raw_width}: a shifted row "
                    "(stray delimiter or quote)?"))
                continue
            extra = [k for k, c in enumerate(cells[width:], start=width + 1) if c.strip()]
            if extra:
                bad.append(Problem(
                    rel, i, None, None, None, "file_parse",
                    f"row has a value in column {extra[0]}, beyond the {width} header columns "
                    "(a column without a header): a shifted row?"))
                continue
            fixed.append(cells[:width] + [""] * (width - len(cells)))
        body = fixed
    if bad:
        return None, problems + bad
    large = [(i, j) for i, r in enumerate(body) for j, c in enumerate(r)
             if len(c) > LARGE_CELL] if big else []
    for i, j in large:
        problems.append(Problem(rel, h + 2 + i, None, names[j], None, "cell_large",
                                f"cell of {len(body[i][j]) // 1024} KB accepted as text"))
    df = pd.DataFrame(body, columns=names) if body else pd.DataFrame(columns=names)
    df["_row"] = np.arange(h + 2, h + 2 + len(df))
    return df, problems


def _check_ids(df: pd.DataFrame, rel: str, mapping: dict) -> list[Problem]:
    """Patient IDs that Excel turned into scientific notation (2.00147E+09): the digits after the
    sixth are lost, so different patients look like duplicates."""
    src = (mapping.get("columns") or {}).get("patient_id")
    if not isinstance(src, str) or src not in df.columns:
        return []
    ids = df[src].astype(str).str.strip()
    sci = ids.str.fullmatch(_SCI.pattern)
    t = (df.attrs.get("typed") or {}).get(src) or {}
    if t.get("type") in ("double", "float", "halffloat"):
        # a Parquet float keeps about 16 digits: a longer ID was rounded by the export (Arrow
        # writes it as 1.2345678901234568e+17), whatever program made the file
        sci = sci | ids.str.contains("e", regex=False)
        why = (f"the patient ID column is stored as floating-point numbers (Parquet type "
               f"{t['type']}), which keep only 15-16 digits: this ID is longer and was "
               "rounded (it reads in scientific notation), so IDs are lost and different "
               "patients look like duplicates; ask the centre to export the ID column as text "
               "or as whole numbers (int64)")
    else:
        why = ("the patient ID is in scientific notation (like 2.00147E+09): Excel turned a "
               "long number into a rounded one, so IDs are lost and different patients "
               "look like duplicates; export the ID column as text (format the column as "
               "Text, or export from the source system)")
    if not sci.any():
        return []
    return [Problem(rel, int(r), None, src, None, "id_mangled", why, redact=True)
            for r in df.loc[sci, "_row"]]


# --- Parquet -----------------------------------------------------------------------------------

def _read_parquet(path: Path, rel: str, mapping: dict):
    """A Parquet centre file (a registry's or database's export): every column as the text a
    user would see (dates as 2019-12-31, numbers as 35 or 2.5, null as an empty cell), one
    categorical column each, rows numbered as if the header were row 1.

    A column's Arrow type is not lost: ``df.attrs["typed"]`` maps each date, timestamp or
    number column to ``typed_column(...)``, so that harmonizing reads its text as the dates or
    numbers it was (``date_format`` and ``decimal`` describe text a centre typed, and a typed
    column has none). A timestamp is its calendar date in its own time zone (as stored when
    it has none); its time of day is dropped, and how many values had one is kept.

    Column names and text values are normalised as CSV cells are (``safety.clean_text``). A
    column whose values are no single cell (a list, struct or map; times of day, durations;
    bytes that are not UTF-8 text) is ``typed_column('other', ...)``: harmonizing reports it
    as ``column_type`` when the mapping uses it, and ignores it (as every unmapped column)
    when not; a duplicated column name is kept twice, for harmonizing to report."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        # ParquetFile, not read_table: the latter refuses a schema with a repeated column name
        # (which is reported by name below); INT96 timestamps (older Hive/Impala/Spark
        # exports) read in microseconds, since nanoseconds wrap a date such as 9999-12-31
        # around to another year
        table = pq.ParquetFile(path, coerce_int96_timestamp_unit="us").read()
    except (pa.ArrowException, OSError) as e:
        return None, [_p(rel, "file_parse", f"cannot be read as Parquet ({e}): the file may be "
                                            "damaged (an interrupted copy), encrypted or "
                                            "written by a program whose Parquet features "
                                            "cannot be read; ask the centre to export it "
                                            "again, without encryption")]
    if table.num_columns == 0:
        return None, [_p(rel, "file_empty", f"the Parquet file has no columns ({table.num_rows} "
                                            "row(s)): expected the mapped columns, one row per "
                                            "patient; ask the centre to export it again")]
    mapped = _expected_columns(mapping)
    id_src = (mapping.get("columns") or {}).get("patient_id")
    problems: list[Problem] = []
    notes: list[Problem] = []
    names, cols, typed = [], [], {}
    for name, col in zip(table.column_names, table.columns):
        head = _header_cells([clean_text(name)])[0]
        arrow_type = str(col.type)
        if head in ("_row", "_file") or head.startswith(("_row:", "_file:")):
            # the reader's own names (row numbers, a record's file): the column would be
            # overwritten by them
            if head in mapped:
                problems.append(_p(rel, "file_parse", f"column {head!r} cannot be read: the "
                                                      "name is one the program uses for its row "
                                                      "numbers; rename the column in the export",
                                   column=head))
            else:
                notes.append(_p(rel, "column_unmapped", "column is not mapped to any field and "
                                                        "is ignored", row=1, column=head))
            continue
        text, kind, timed, first = _parquet_text(col, pa, pc)
        if head == id_src and pa.types.is_floating(col.type):
            # a NaN or infinity in a float ID column is no ID (Arrow would write it as the ID
            # 'nan' or 'inf')
            text = pc.if_else(pc.invert(pc.is_finite(col)), pa.scalar(None, pa.string()), text)
        what = text if kind == "other" else _KIND_WHAT.get(kind)
        if kind in ("other", "date", "bool") and head == id_src:
            # without its IDs no row of the file can be used: the file stops here. Dates or
            # true/false values are no IDs either: most likely the mapping names another column
            fix = ("ask the centre to export it as text" if kind == "other" else
                   "check that 'columns: patient_id:' in "
                   f"{mapping.get('_path', 'the centre mapping')} names the ID column")
            where = "" if kind != "other" or first is None else \
                f"; the first in row {first + 2}"
            problems.append(_p(rel, "file_parse", f"the patient ID column holds {what} (Parquet "
                                                  f"type {arrow_type}{where}): expected one ID "
                                                  f"per row, as text or whole numbers; {fix}",
                               column=head))
            continue
        if kind == "other":
            text = pa.nulls(table.num_rows, pa.string())  # not read; unmapped: ignored
            if head not in mapped:
                kind = None
        text = pc.fill_null(text, "")
        s = text.dictionary_encode().to_pandas()
        if pa.types.is_string(text.type) and _needs_cleaning(s.cat.categories):
            s = s.map(clean_text).astype("category")  # once per distinct value
        names.append(head)
        cols.append(s)
        if kind is not None:
            typed[head] = typed_column(kind, arrow_type, what, timed,
                                       None if first is None else first + 2)
    if problems:
        return None, problems + notes
    # built by position: a repeated column name stays twice (harmonizing reports it)
    df = pd.concat(cols, axis=1, ignore_index=True)
    df.columns = names
    df["_row"] = np.arange(2, 2 + len(df))
    df.attrs["typed"] = typed
    return df, notes


def _needs_cleaning(values: pd.Index) -> bool:
    """Whether distinct text values hold a character ``clean_text`` changes: only non-ASCII
    text or a NUL can (one check of their concatenation, at C speed)."""
    joined = "".join(values)
    return not joined.isascii() or "\x00" in joined


_OTHER = (("is_list", "lists of values"), ("is_large_list", "lists of values"),
          ("is_fixed_size_list", "lists of values"), ("is_struct", "records of several fields"),
          ("is_map", "key-value maps"), ("is_union", "values of mixed types"),
          ("is_time", "times of day"), ("is_duration", "durations"),
          ("is_interval", "calendar intervals"))


def _parquet_text(col, pa, pc):
    """(the text of a Parquet column, its kind 'date', 'number', 'other' or None, the number
    of timestamps with a time of day, the 0-based index of the first value a message is about:
    the first with a time of day, or the first bytes that are not UTF-8). For kind 'other' the
    text is what the column holds instead (for the message). Vectorised."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if hasattr(pa, "UuidType") and isinstance(t, pa.UuidType):
        return _uuid_text(col, pa), None, 0, None
    if isinstance(t, pa.BaseExtensionType):  # (JSON, bool8, ...): read as what it stores
        col = pa.chunked_array([c.storage for c in col.chunks], t.storage_type)
        t = col.type
    for test, what in _OTHER:
        if getattr(pa.types, test, lambda _: False)(t):
            # a time is no date and a duration has a unit no field has: read as text, a
            # time of day (01:02:00) would be a bad date and a duration in seconds a number
            # of months
            return what, "other", 0, None
    kind, timed, first = _typed_kind(t), 0, None
    if pa.types.is_timestamp(t):
        col, timed, first = _timestamp_dates(col, pa, pc)
    elif pa.types.is_float16(t):
        # Arrow writes a half float's binary value (0.1 as 0.099976); the shortest decimal
        # that is the value is what was meant, as for float32
        col = _half_text(col, pa)
    elif pa.types.is_floating(t):
        # a negative zero (left by a computation in the exporting database) is 0, not the
        # code '-0': adding +0.0 turns -0.0 into 0.0 and changes no other value
        col = pc.add(col, pa.scalar(0.0, t))
    try:
        text = pc.cast(col, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as e:
        if any(getattr(pa.types, f"is_{b}", lambda _: False)(t) for b in
               ("binary", "large_binary", "fixed_size_binary", "binary_view")):
            first = _first_not_utf8(col, pa) if isinstance(e, pa.ArrowInvalid) else None
            return "bytes that are not UTF-8 text", "other", 0, first
        return f"values of type {t}", "other", 0, None
    if pa.types.is_decimal(t) and t.scale > 0:
        # a decimal is written with its scale (1.0, 2.50): a float of the same value reads
        # as 1 and 2.5, and so does a code typed as 1 (grade, IHC score)
        text = pc.replace_substring_regex(text, r"(\.[0-9]*?)0+$", r"\1")
        text = pc.replace_substring_regex(text, r"\.$", "")
    return text, kind, timed, first


def _first_not_utf8(col, pa) -> int:
    """The 0-based index of the first value of a binary column whose cast to text failed as
    not UTF-8, for the message. Arrow checks UTF-8 only in a cast, which names no value: a
    prefix of the column casts exactly when the first bad value lies beyond it, so halving the
    prefix finds that value in log2(n) casts."""
    lo, hi = 0, len(col)  # col[:lo] casts, col[:hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            col.slice(0, mid).cast(pa.string())
            lo = mid
        except pa.ArrowInvalid:
            hi = mid
    return hi - 1


def _half_text(col, pa):
    """A float16 column as the shortest decimal text of each value (numpy's), nulls kept."""
    arr = col.combine_chunks() if hasattr(col, "combine_chunks") else col
    if len(arr) == 0:  # a header-only export: numpy's text functions fail on no values
        return pa.array([], pa.string())
    num = arr.to_numpy(zero_copy_only=False)
    half = np.asarray(num, np.float16) + np.float16(0)  # -0.0 is 0 (as in _parquet_text)
    text = np.char.replace(half.astype(str), ".0e", "e")
    text = np.where(np.char.endswith(text, ".0"), np.char.rstrip(text, "0"), text)
    text = np.char.rstrip(text, ".")
    return pa.array(text, pa.string(), mask=arr.is_null().to_numpy(zero_copy_only=False))


def _uuid_text(col, pa):
    """A UUID column as its standard text (8-4-4-4-12 hex digits), nulls kept: cast to text,
    Arrow would give the 16 raw bytes."""
    arr = pa.chunked_array([c.storage for c in col.chunks], col.type.storage_type
                           ).combine_chunks()
    n = len(arr)
    raw = np.frombuffer(arr.buffers()[1], np.uint8, count=16 * n,
                        offset=16 * arr.offset).reshape(n, 16)
    hexd = np.array(list("0123456789abcdef"))
    chars = np.full((n, 36), "-", dtype="<U1")
    pos = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
    chars[:, pos[0::2]] = hexd[raw >> 4]
    chars[:, pos[1::2]] = hexd[raw & 15]
    return pa.array(chars.view("<U36").ravel(), pa.string(),
                    mask=arr.is_null().to_numpy(zero_copy_only=False))


#: what a column of a typed kind holds, as messages say it ('other' columns say their own)
_KIND_WHAT = {"date": "dates", "bool": "true/false values", "number": "numbers"}


def typed_column(kind: str, arrow_type: str, what: str | None, timed: int = 0,
                 first_row: int | None = None) -> dict:
    """What harmonizing needs to know of a typed Parquet column: ``kind`` 'date', 'number',
    'bool' (true/false: a code, no number or date) or 'other' (values that are no single
    cell), ``what`` it holds in words (for messages), its Arrow type as written in the file,
    for timestamps how many values had a time of day, and the row of the first value a
    message is about (the first with a time of day; the first bytes that are not UTF-8)."""
    return {"kind": kind, "type": arrow_type, "what": what, "timed": timed,
            "first_row": first_row}


def _typed_kind(t) -> str | None:
    import pyarrow as pa

    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return "date"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_boolean(t):
        return "bool"
    return None


def _timestamp_dates(col, pa, pc):
    """(the calendar dates of a timestamp column in its own time zone, the number of values
    with a time of day, the 0-based index of the first such value or None). Vectorised."""
    if col.type.tz is not None:
        # the wall-clock time in the column's zone: 2019-03-04T23:30+01:00 is 2019-03-04
        col = pc.local_timestamp(col)
    day = pc.cast(col, pa.date32())
    timed = pc.not_equal(pc.cast(day, col.type), col)  # null where the value is null
    n = pc.sum(timed).as_py() or 0
    first = pc.index(timed, True).as_py() if n else None
    return day, n, first


# --- Excel --------------------------------------------------------------------------------------

def _cell_text(v, number_format: str | None = None) -> str:
    """An Excel cell as the text a user sees; a percent-formatted number (0.1 shown as 10%) is
    written in percent, as displayed; a date-time gives its date part."""
    if v is None:
        return ""
    if number_format and "%" in number_format and isinstance(v, (int, float)) \
            and not isinstance(v, bool):
        v = round(float(v) * 100, 10)
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        # Excel keeps 15 significant digits: a whole number beyond that was rounded (a long ID
        # typed into a number cell); keep Excel's own scientific form so it is caught
        # (id_mangled in the ID column, bad_number elsewhere) instead of inventing digits
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return clean_text(str(v))


_CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?(?:/>|>(.*?)</c>)', re.DOTALL)
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _xml_checks(ws) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """(formula cells without a stored value, merged ranges) from the sheet's XML."""
    try:
        src = ws._get_source()
        xml = src.read()
        src.close()
    except (AttributeError, KeyError, OSError):  # unusual layout: checks skipped, not the file
        return [], []
    formulas = []
    if b"<f" in xml:
        for mt in _CELL.finditer(xml):
            inner = mt.group(3) or b""
            if b"<f" in inner and not re.search(rb"<v>[^<]", inner):
                formulas.append((int(mt.group(2)), _col_index(mt.group(1))))
    merges = [(int(a2), _col_index(a1), int(b2), _col_index(b1))
              for a1, a2, b1, b2 in _MERGE.findall(xml)]
    return formulas, merges


def _read_xlsx(path: Path, rel: str, mapping: dict):
    import zipfile

    from openpyxl import load_workbook

    from openpyxl.utils.exceptions import InvalidFileException

    m = mapping["_path"]
    sheet = mapping.get("sheet")
    # opened as a file object: openpyxl refuses a path whose name does not end in .xlsx (an
    # .xlsx saved as data.csv), although the bytes (PK\x03\x04) say what the file is
    fh = open(path, "rb")
    try:
        try:
            wb = load_workbook(fh, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many types for damaged workbooks
            if not isinstance(e, (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError,
                                  AttributeError, IndexError, InvalidFileException)):
                raise
            return None, [_p(rel, "file_parse",
                             "the file starts like an .xlsx workbook (a zip archive) but is not "
                             f"a readable .xlsx workbook ({type(e).__name__}): it may be damaged "
                             "or not "
                             "an Excel file (e.g. an .ods or .docx); save it from Excel as "
                             ".xlsx or export CSV")]
        try:
            return _read_sheet(wb, sheet, rel, m, mapping)
        finally:
            wb.close()
    finally:
        fh.close()


def _read_sheet(wb, sheet, rel, m, mapping):
    problems: list[Problem] = []
    charts = {getattr(c, "title", None) for c in wb.chartsheets}
    tables = [s for s in wb.sheetnames if s not in charts]
    names = ", ".join(repr(s) for s in wb.sheetnames)
    if sheet is None:
        if not tables:
            return None, [_p(rel, "sheet_missing", f"the workbook has no worksheet with a "
                                                   f"table, only chart sheets ({names})")]
        sheet = tables[0]
        if wb.sheetnames[0] in charts:
            problems.append(_p(rel, "sheet_chart",
                               f"the first sheet {wb.sheetnames[0]!r} is a chart; the first "
                               f"worksheet {sheet!r} is read (set 'sheet:' in {m} to choose)"))
        if getattr(wb[sheet], "sheet_state", "visible") != "visible":
            visible = [s for s in tables if wb[s].sheet_state == "visible"]
            return None, [_p(rel, "sheet_hidden",
                             f"the first sheet {sheet!r} is hidden and would be read by default; "
                             f"the visible sheet(s): {', '.join(map(repr, visible)) or 'none'}; "
                             f"set 'sheet:' in {m} to the sheet that holds the data",
                             value=sheet)]
    if sheet not in wb.sheetnames:
        return None, [_p(rel, "sheet_missing", f"no sheet named {sheet!r}; the workbook has "
                                               f"{names}; set 'sheet:' in {m}", value=sheet)]
    if sheet in charts:
        return None, [_p(rel, "sheet_missing", f"sheet {sheet!r} is a chart, not a table; the "
                                               f"workbook has {names}; set 'sheet:' in {m}",
                         value=sheet)]
    ws = wb[sheet]
    rows = [[_cell_text(c.value, getattr(c, "number_format", None)) for c in r]
            for r in ws.iter_rows()]
    if not rows or not any(c.strip() for r in rows[:HEADER_SEARCH] for c in r):
        return None, [_p(rel, "file_empty", f"sheet {sheet!r} is empty: expected a header row "
                                            "and one row per patient", value=sheet)]
    h = int(mapping.get("header_row", 1)) - 1
    if h >= len(rows):
        return None, [_p(rel, "header", f"'header_row: {h + 1}' is beyond the last row of "
                                        f"sheet {sheet!r} ({len(rows)} rows)")]
    where = _find_header(rows, mapping, h)
    if where:
        return None, [_p(rel, "header", f"sheet {sheet!r}: {where}", row=h + 1)]
    if not any(c.strip() for c in rows[h]):
        return None, [_p(rel, "file_empty", f"sheet {sheet!r} is empty: expected a header row "
                                            "and one row per patient", value=sheet)]
    header = _header_cells(rows[h])
    if any("\n" in c or "\r" in c for c in rows[h]):
        problems.append(_p(rel, "header_linebreak", "header cells contain line breaks; they "
                           "are read as spaces", row=h + 1))
    width = len(header)
    while width and header[width - 1] == "":
        width -= 1
    formulas, merges = _xml_checks(ws)
    skip = _skip(mapping)
    first_record = h + 2 + skip  # spreadsheet row of the first record
    last = len(rows)
    while last > h + 1 and not any(c.strip() for c in rows[last - 1]):
        last -= 1
    mapped = _expected_columns(mapping)  # unmapped columns are ignored: so are their cells
    for r, c in formulas:
        if first_record <= r <= last and c <= width and header[c - 1] in mapped:
            problems.append(Problem(rel, r, None, header[c - 1], None, "formula_no_value",
                                    "the cell holds a formula without a stored result (the "
                                    "workbook was written by a program and never opened in "
                                    "Excel), so its value is unknown, not 'not recorded': open "
                                    "and save it in Excel, or export the values"))
    for r1, c1, r2, c2 in merges:
        if r2 < first_record or c1 > width or not mapped & set(header[c1 - 1:c2]):
            continue  # merged header cells are the header's business; unmapped ones ignored
        col = header[c1 - 1]
        span = (f"rows {max(r1, first_record)}-{r2}" if r2 > r1 else f"row {r1}") + \
               (f", columns {c1}-{c2}" if c2 > c1 else "")
        problems.append(Problem(rel, max(r1, first_record), None, col, None, "merged_cells",
                                f"merged cells ({span}): only the first cell holds the value, "
                                "the others would be read as 'not recorded'; unmerge them and "
                                "fill the value into every row"))
    problems += _split_sheets(wb, sheet, tables, header[:width], rel, m)
    body = rows[h + 1:]
    return _table(header, body, h, rel, problems, sep=None, skip=skip)


def _split_sheets(wb, sheet, tables, header, rel, m) -> list[Problem]:
    """Other worksheets with the same header and data rows: records split over sheets."""
    out = []
    for other in tables:
        if other == sheet:
            continue
        it = wb[other].iter_rows(values_only=True)
        first = next(it, None)
        if first is None:
            continue
        cells = _header_cells([_cell_text(v) for v in first])
        while cells and cells[-1] == "":
            cells.pop()
        if cells != header:
            continue
        n = sum(1 for r in it if any(v not in (None, "") for v in r))
        if n:
            out.append(_p(rel, "sheet_split",
                          f"sheet {other!r} has the same header as sheet {sheet!r} and {n} "
                          f"data row(s) that are not read: records split over two sheets? "
                          f"Put all records on one sheet (or map the other sheet in a second "
                          f"centre file); 'sheet:' in {m} names the sheet read", value=other))
    return out
