"""Word (.docx) tables: three-line journal style, byte-identical on rerun."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from os import PathLike
from typing import Any

import pandas as pd

# per-group statistic columns of a Table 1 frame (machine-readable, not shown in Word)
_STAT_COLUMNS = ("n", "pct", "mean", "sd", "median", "q1", "q3")

_DOCX_EPOCH = (1980, 1, 1, 0, 0, 0)


def _set_cell_border(cell: Any, **edges: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge, size in edges.items():
        el = borders.find(qn(f"w:{edge}"))
        if el is None:
            el = OxmlElement(f"w:{edge}")
            borders.append(el)
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), size)
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")


def _docx_columns(table: pd.DataFrame) -> list[str]:
    fixed = {"row_type", "variable", "label", "level", "overall", "p", "test", "smd",
             "missing", "p_value", "smd_value"}
    stat_prefixes = tuple(f"{s}_" for s in _STAT_COLUMNS)
    groups = [c for c in table.columns if c not in fixed and not c.startswith(stat_prefixes)]
    return ["overall", *groups]


def to_docx(
    table: pd.DataFrame,
    path: str | PathLike[str],
    title: str,
    footnotes: Sequence[str] | None = None,
    font: str = "Arial",
    font_size: float = 9.0,
) -> None:
    """Write a :func:`table_one` result as a three-line Word table.

    Columns: Characteristic, Overall, one per group, p, Test, SMD, Missing.
    The title is written above the table; below it the caller's ``footnotes``
    (for Table 1: ``stats.table1.table_footnotes`` plus study notes). Document properties and zip timestamps are
    fixed, so the same table gives a byte-identical file.
    """
    import datetime as dt

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    value_cols = _docx_columns(table)
    headers = ["Characteristic", "Overall", *value_cols[1:], "p", "Test", "SMD", "Missing"]

    doc = Document()
    fixed_time = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    cp = doc.core_properties
    cp.author = "her2cohort"
    cp.last_modified_by = "her2cohort"
    cp.title = title
    cp.created = fixed_time
    cp.modified = fixed_time
    cp.revision = 1

    normal = doc.styles["Normal"]
    normal.font.name = font
    normal.font.size = Pt(font_size)

    p_title = doc.add_paragraph()
    run = p_title.add_run(title)
    run.bold = True

    tbl = doc.add_table(rows=1, cols=len(headers))
    for j, h in enumerate(headers):
        cell = tbl.rows[0].cells[j]
        cell.text = h
        cell.paragraphs[0].runs[0].bold = True
        _set_cell_border(cell, top="8", bottom="6")

    for _, r in table.iterrows():
        cells = tbl.add_row().cells
        if r["row_type"] == "level":
            char = str(r["level"])
        elif r["row_type"] == "header" and r["level"]:
            char = f"{r['label']}, {r['level']}"
        else:
            char = str(r["label"])
        missing = r["missing"]
        miss_txt = "" if pd.isna(missing) or r["row_type"] != "header" else str(int(missing))
        texts = [char, *[str(r[c]) for c in value_cols], str(r["p"]), str(r["test"]),
                 str(r["smd"]), miss_txt]
        for j, txt in enumerate(texts):
            cells[j].text = txt
            par = cells[j].paragraphs[0]
            if j == 0 and r["row_type"] == "level":
                par.paragraph_format.left_indent = Pt(10)
            if 0 < j < len(texts) and headers[j] not in ("Test",):
                par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for cell in tbl.rows[-1].cells:
        _set_cell_border(cell, bottom="8")

    notes = list(footnotes or [])
    for note in notes:
        par = doc.add_paragraph(note)
        par.paragraph_format.space_after = Pt(0)
        for run in par.runs:
            run.font.size = Pt(font_size - 1)

    buf = io.BytesIO()
    doc.save(buf)
    _write_normalised_zip(buf.getvalue(), path)


def _write_normalised_zip(blob: bytes, path: str | PathLike[str]) -> None:
    """Rewrite a zip with fixed member timestamps (byte-identical reruns)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as zin, zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED
    ) as zout:
        for info in zin.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=_DOCX_EPOCH)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = 0o644 << 16
            zout.writestr(new, zin.read(info.filename))
    with open(path, "wb") as fh:
        fh.write(out.getvalue())
