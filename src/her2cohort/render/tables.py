"""Generic manuscript table renderer: Word (.docx) and HTML from a display table.

A :class:`DisplayTable` holds already formatted strings (see :mod:`her2cohort.render.format`):
the body, one or more header rows, a title and footnotes. Superscript footnote marks are carried
inside strings (:func:`her2cohort.render.format.sup`) and become real superscripts.

Word output (:func:`write_docx`): three-line journal style (rule above and below the header,
rule under the last row; a short rule under spanning header cells), header rows repeated on
every page, rows never split across pages, page size A4 or Letter in portrait or landscape.
Column widths are computed from the text: every string is measured with the font's own advance
widths (FreeType through matplotlib; Liberation Sans stands in for Arial, with identical
widths), body cells never wrap, header cells wrap only between words, the first column takes
what is left; nothing is ever broken inside a word. When the table cannot fit the text width
even so, the font is made smaller in 0.5 pt steps down to ``min_font_size`` (logged), and
then a ``ValueError`` asks for landscape or fewer columns. Reruns are byte-identical (fixed
document properties, normalised zip).

HTML output (:func:`to_html`, :func:`write_html`): the same content as a fragment (with its own
scoped CSS) or a full page; all text is escaped.
"""

from __future__ import annotations

import functools
import html
import io
import logging
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from .format import split_superscripts

__all__ = [
    "PAGE_SIZES_MM",
    "DisplayTable",
    "column_widths",
    "combine_docx",
    "header_spans",
    "text_width_pt",
    "to_html",
    "write_docx",
    "write_html",
]

log = logging.getLogger("her2cohort.render")

#: Page sizes (width, height) in millimetres, portrait.
PAGE_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}

_DOCX_EPOCH = (1980, 1, 1, 0, 0, 0)
_CELL_PAD_PT = 4.0  # left and right cell margin, each
_SAFETY = 1.03  # 3% on measured text (renderer hinting, bold headers)
_INDENT_PT = 10.0  # per indent level in the first column
_SUP_SCALE = 0.65  # superscript glyphs are drawn at about 2/3 size in Word


@dataclass
class DisplayTable:
    """A table ready to render: strings only.

    ``body``: one column per table column, one row per table row (values are converted with
    ``str``; NaN/None become ``""``). ``header``: list of header rows (each as long as the
    number of columns; default one row with the body's column names). In every header row but
    the last, neighbouring equal non-empty cells form one spanning cell. ``indent``: indent
    level of the first cell of each body row (0 = none). ``align``: per column ``"left"``,
    ``"center"`` or ``"right"`` (default: first left, the rest centred).
    """

    body: pd.DataFrame
    header: list[list[str]] | None = None
    title: str = ""
    footnotes: list[str] = field(default_factory=list)
    indent: list[int] | None = None
    align: list[str] | None = None

    def __post_init__(self) -> None:
        ncol = self.body.shape[1]
        if ncol == 0:
            raise ValueError("a table needs at least one column")
        if self.header is None:
            self.header = [[str(c) for c in self.body.columns]]
        self.header = [[_cell_text(c) for c in row] for row in self.header]
        for row in self.header:
            if len(row) != ncol:
                raise ValueError(f"header row has {len(row)} cells for {ncol} columns")
        if not self.header:
            raise ValueError("at least one header row is needed")
        n = len(self.body)
        self.indent = [0] * n if self.indent is None else [int(i) for i in self.indent]
        if len(self.indent) != n:
            raise ValueError(f"indent has {len(self.indent)} entries for {n} rows")
        self.align = ["left"] + ["center"] * (ncol - 1) if self.align is None else list(
            self.align)
        if len(self.align) != ncol or set(self.align) - {"left", "center", "right"}:
            raise ValueError("align needs one of left/center/right per column")
        self.footnotes = [str(f) for f in self.footnotes]

    @property
    def cells(self) -> list[list[str]]:
        """Body as a list of rows of strings."""
        return [[_cell_text(v) for v in row] for row in self.body.itertuples(index=False)]


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


def header_spans(row: Sequence[str], merge: bool = True) -> list[tuple[int, int, str]]:
    """``(first column, number of columns, text)`` for a header row; neighbouring equal
    non-empty cells are merged when ``merge``."""
    out: list[tuple[int, int, str]] = []
    j = 0
    while j < len(row):
        k = j + 1
        if merge and row[j]:
            while k < len(row) and row[k] == row[j]:
                k += 1
        out.append((j, k - j, row[j]))
        j = k
    return out


# --------------------------------------------------------------------------- measuring


@functools.lru_cache(maxsize=8)
def _ft_font(path: str) -> Any:
    from matplotlib.ft2font import FT2Font

    return FT2Font(path)


@functools.lru_cache(maxsize=100_000)
def _advance_pt(path: str, text: str, size: float) -> float:
    # measured at 1440 dpi (20 units per point) so pixel hinting does not round the widths
    font = _ft_font(path)
    font.set_size(size, 1440)
    font.set_text(text, 0.0)
    return font.get_width_height()[0] / 64.0 / 20.0


def text_width_pt(text: str, font: str = "Arial", size: float = 9.0, bold: bool = False) -> float:
    """Width in points of ``text`` (superscripts at 65% size) in ``font`` at ``size`` pt.

    Lines are measured separately and the widest is returned.
    """
    from .fonts import font_file

    path = font_file(font, bold)
    widest = 0.0
    for line in str(text).split("\n"):
        w = 0.0
        for seg, is_sup in split_superscripts(line):
            w += _advance_pt(path, seg, size * (_SUP_SCALE if is_sup else 1.0))
        widest = max(widest, w)
    return widest


def _longest_word_pt(text: str, font: str, size: float, bold: bool) -> float:
    words = [w for line in str(text).split("\n") for w in line.split(" ")]
    return max((text_width_pt(w, font, size, bold) for w in words), default=0.0)


def column_widths(
    table: DisplayTable, available_pt: float, font: str = "Arial", font_size: float = 9.0,
    *, stretch: bool = True,
) -> list[float] | None:
    """Column widths in points that fit ``available_pt``, or ``None`` if impossible.

    Every body cell keeps its whole text on one line (first column: may wrap between words
    when needed); header cells may wrap between words. ``stretch`` spreads the remaining
    width over the columns so the table spans the text width.
    """
    ncol = table.body.shape[1]
    pad = 2 * _CELL_PAD_PT
    body = table.cells
    header_last = table.header[-1]  # type: ignore[index]

    def meas(t: str, bold: bool = False) -> float:
        return text_width_pt(t, font, font_size, bold) * _SAFETY

    nat = [0.0] * ncol  # natural: everything on one line
    mid = [0.0] * ncol  # body cells on one line, headers wrapped between words
    low = [0.0] * ncol  # minimum: the first column wraps between words too
    for j in range(ncol):
        b = [meas(r[j]) + (_INDENT_PT * table.indent[i] if j == 0 else 0.0)  # type: ignore
             for i, r in enumerate(body)]
        hb = meas(header_last[j], True)
        hw = _longest_word_pt(header_last[j], font, font_size, True) * _SAFETY
        nat[j] = max([*b, hb]) + pad
        mid[j] = max([*b, hw]) + pad
        if j == 0:
            words = [_longest_word_pt(r[0], font, font_size, False) * _SAFETY
                     + _INDENT_PT * table.indent[i]  # type: ignore[index]
                     for i, r in enumerate(body)]
            low[j] = max([*words, hw]) + pad
        else:
            low[j] = mid[j]
    # spanning header cells (upper rows) need room for their longest word
    for row in table.header[:-1]:  # type: ignore[index]
        for j0, span, text in header_spans(row):
            need = _longest_word_pt(text, font, font_size, True) * _SAFETY + pad
            have = sum(low[j0:j0 + span])
            if need > have:
                for j in range(j0, j0 + span):
                    low[j] += (need - have) / span
                    mid[j] = max(mid[j], low[j])
                    nat[j] = max(nat[j], low[j])
    if sum(low) > available_pt:
        return None
    if sum(nat) <= available_pt:
        widths = list(nat)
    elif sum(mid) <= available_pt:
        # headers wrap; the first column keeps its labels on one line; the rest of the
        # width reduces header wrapping in proportion to what each column lacks
        widths = list(mid)
        lack = [n - m for n, m in zip(nat, mid, strict=True)]
        rest, tot = available_pt - sum(mid), sum(lack)
        widths = [w + (rest * lk / tot if tot > 0 else 0.0)
                  for w, lk in zip(widths, lack, strict=True)]
    else:
        # the first column wraps between words as well and takes what is left
        widths = list(low)
        widths[0] = available_pt - sum(low[1:])
    if stretch and sum(widths) < available_pt:
        extra = available_pt - sum(widths)
        # the first column gets a double share: labels breathe, numbers stay close together
        shares = [2.0] + [1.0] * (ncol - 1)
        widths = [w + extra * s / sum(shares) for w, s in zip(widths, shares, strict=True)]
    return widths


# --------------------------------------------------------------------------- Word


def _page_dims_mm(page: str, orientation: str) -> tuple[float, float]:
    if page not in PAGE_SIZES_MM:
        raise ValueError(f"page must be one of {sorted(PAGE_SIZES_MM)}, got {page!r}")
    if orientation not in ("portrait", "landscape"):
        raise ValueError("orientation must be 'portrait' or 'landscape'")
    w, h = PAGE_SIZES_MM[page]
    return (h, w) if orientation == "landscape" else (w, h)


def _add_runs(par: Any, text: str, bold: bool = False, size: float | None = None) -> None:
    from docx.shared import Pt

    for seg, is_sup in split_superscripts(text):
        run = par.add_run(seg)
        run.bold = bold
        if is_sup:
            run.font.superscript = True
        if size is not None:
            run.font.size = Pt(size)


def _set_borders(cell: Any, **edges: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        # CT_TcPr order: ... vMerge, tcBorders, shd, noWrap, tcMar, textDirection, tcFitText,
        # vAlign, hideMark (Word rejects out-of-order children)
        later = [tc_pr.find(qn(f"w:{t}")) for t in ("shd", "noWrap", "tcMar", "textDirection",
                                                     "tcFitText", "vAlign", "hideMark")]
        later = [el for el in later if el is not None]
        if later:
            later[0].addprevious(borders)
        else:
            tc_pr.append(borders)
    for edge in ("top", "left", "bottom", "right"):  # schema order
        if edge not in edges:
            continue
        el = borders.find(qn(f"w:{edge}"))
        if el is None:
            el = OxmlElement(f"w:{edge}")
            borders.append(el)
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), edges[edge])
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")


def _table_properties(tbl: Any, widths_twips: list[int]) -> None:
    """Fixed layout, total width, no table borders, cell margins, grid column widths."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tbl_pr = tbl._tbl.tblPr
    for tag in ("w:tblW", "w:tblLayout", "w:tblCellMar", "w:tblBorders"):
        old = tbl_pr.find(qn(tag))
        if old is not None:
            tbl_pr.remove(old)
    tbl_w = OxmlElement("w:tblW")
    tbl_w.set(qn("w:w"), str(sum(widths_twips)))
    tbl_w.set(qn("w:type"), "dxa")
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    mar = OxmlElement("w:tblCellMar")
    for side, val in (("top", 0), ("left", int(_CELL_PAD_PT * 20)), ("bottom", 0),
                      ("right", int(_CELL_PAD_PT * 20))):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(val))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    # CT_TblPr child order: tblStyle, ..., tblW, jc, ..., tblBorders, ..., tblLayout, tblCellMar
    style = tbl_pr.find(qn("w:tblStyle"))
    idx = list(tbl_pr).index(style) + 1 if style is not None else 0
    tbl_pr.insert(idx, tbl_w)
    look = tbl_pr.find(qn("w:tblLook"))
    if look is not None:
        look.addprevious(layout)
        look.addprevious(mar)
    else:
        tbl_pr.append(layout)
        tbl_pr.append(mar)
    grid = tbl._tbl.tblGrid
    for gc, w in zip(grid.findall(qn("w:gridCol")), widths_twips, strict=True):
        gc.set(qn("w:w"), str(w))


def _row_flags(row: Any, header: bool) -> None:
    from docx.oxml import OxmlElement

    tr_pr = row._tr.get_or_add_trPr()
    cant = OxmlElement("w:cantSplit")
    tr_pr.append(cant)
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))



def new_document(title: str, font: str, size: float):
    """A Word document that is byte-stable (fixed author, dates and revision, so reruns are
    identical) with ``font`` at ``size`` pt as its Normal style, for every script."""
    import datetime as dt

    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    fixed_time = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    cp = doc.core_properties
    cp.author = cp.last_modified_by = "her2cohort"
    cp.title = title
    cp.created = cp.modified = fixed_time
    cp.revision = 1
    normal = doc.styles["Normal"]
    normal.font.name = font
    normal.font.size = Pt(size)
    rfonts = normal.element.get_or_add_rPr().find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), font)
    return doc


def write_docx(table: DisplayTable, path: str | PathLike[str], **layout: Any) -> dict[str, Any]:
    """Write ``table`` as a Word document (one section; title, table, footnotes), laid out by
    :func:`docx_table_document` with ``layout`` (page, orientation, margins, font, sizes).
    Returns the layout used: ``{"font_size", "widths_pt", "text_width_pt"}``."""
    doc, info = docx_table_document(table, **layout)
    buf = io.BytesIO()
    doc.save(buf)
    write_normalised_zip(buf.getvalue(), path)
    return info


def docx_table_document(
    table: DisplayTable,
    *,
    page: str = "A4",
    orientation: str = "portrait",
    margins_mm: float = 25.4,
    font: str = "Arial",
    font_size: float = 9.0,
    min_font_size: float = 7.0,
    stretch: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """A Word document (one section; title, table, footnotes) holding ``table``, not written,
    and the layout used: ``{"font_size", "widths_pt", "text_width_pt"}``
    (:func:`write_docx` writes it; the paper copies the table into its own document).

    ``page`` ``"A4"`` or ``"Letter"``, ``orientation`` ``"portrait"`` or ``"landscape"``,
    ``margins_mm`` all four margins. ``font`` is the font named in the document (Word uses it;
    widths are measured with it or its metric-compatible substitute); ``font_size`` is
    lowered by 0.5 pt down to ``min_font_size`` until the table fits.
    """
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, Twips

    pw, ph = _page_dims_mm(page, orientation)
    avail = (pw - 2 * margins_mm) / 25.4 * 72
    if avail <= 72:
        raise ValueError("margins leave less than one inch of text width")
    size = font_size
    widths = column_widths(table, avail, font, size, stretch=stretch)
    while widths is None and size - 0.5 >= min_font_size - 1e-9:
        size -= 0.5
        widths = column_widths(table, avail, font, size, stretch=stretch)
    if widths is None:
        raise ValueError(
            f"the table does not fit {pw:.0f} mm wide {page} {orientation} even at "
            f"{min_font_size} pt: use orientation='landscape', smaller margins or fewer columns"
        )
    if size != font_size:
        log.info("table %r set in %.1f pt (instead of %.1f pt) to fit the page width",
                 table.title[:40], size, font_size)
    twips = [round(w * 20) for w in widths]

    doc = new_document(table.title, font, size)
    normal = doc.styles["Normal"]
    pf = normal.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing = 1.0

    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE if orientation == "landscape" else WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(pw), Mm(ph)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, side, Mm(margins_mm))

    if table.title:
        par = doc.add_paragraph()
        par.paragraph_format.space_after = Pt(6)
        par.paragraph_format.keep_with_next = True
        _add_runs(par, table.title, bold=True)

    header = table.header or []
    body = table.cells
    ncol = len(twips)
    tbl = doc.add_table(rows=len(header) + len(body), cols=ncol)
    tbl.alignment = WD_TABLE_ALIGNMENT.LEFT
    tbl.autofit = False
    _table_properties(tbl, twips)
    align = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
             "right": WD_ALIGN_PARAGRAPH.RIGHT}
    rows = tbl.rows
    for r in rows:
        for j, c in enumerate(r.cells):
            c.width = Twips(twips[j])

    def fill(cell: Any, text: str, j: int, bold: bool, indent: int = 0,
             center: bool = False) -> None:
        par = cell.paragraphs[0]
        pfmt = par.paragraph_format
        pfmt.space_before = Pt(1.5)
        pfmt.space_after = Pt(1.5)
        pfmt.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else align[table.align[j]]  # type: ignore[index]
        if indent:
            pfmt.left_indent = Pt(_INDENT_PT * indent)
        _add_runs(par, text, bold=bold)

    thick, thin = "12", "6"  # eighths of a point: 1.5 pt and 0.75 pt rules
    for i, hrow in enumerate(header):
        row = rows[i]
        _row_flags(row, header=True)
        last = i == len(header) - 1
        for j0, span, text in header_spans(hrow, merge=not last):
            cell = row.cells[j0]
            if span > 1:
                cell = cell.merge(row.cells[j0 + span - 1])
            fill(cell, text, j0, bold=True, center=span > 1)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
            edges: dict[str, str] = {}
            if i == 0:
                edges["top"] = thick
            if last:
                edges["bottom"] = thin
            elif span > 1 and text:
                edges["bottom"] = "4"  # short rule under a spanning header
            if edges:
                _set_borders(cell, **edges)
    for i, vals in enumerate(body):
        row = rows[len(header) + i]
        _row_flags(row, header=False)
        for j, text in enumerate(vals):
            cell = row.cells[j]
            fill(cell, text, j, bold=False, indent=table.indent[i] if j == 0 else 0)  # type: ignore[index]
            if i == len(body) - 1:
                _set_borders(cell, bottom=thick)
    if not body:
        for cell in rows[len(header) - 1].cells:
            _set_borders(cell, bottom=thick)

    for k, note in enumerate(table.footnotes):
        par = doc.add_paragraph()
        if k == 0:
            par.paragraph_format.space_before = Pt(4)
        _add_runs(par, note, size=max(size - 1.0, 6.0))

    return doc, {"font_size": size, "widths_pt": widths, "text_width_pt": avail}


def combine_docx(parts: Sequence[str | PathLike[str]], path: str | PathLike[str]) -> None:
    """One Word document from several written by :func:`write_docx` with the same page
    settings: the body of each part after the first, on a new page (a table too wide for one
    page, written as column blocks). Byte-identical on reruns."""
    import copy

    from docx import Document
    from docx.enum.text import WD_BREAK

    if not parts:
        raise ValueError("combine_docx needs at least one part")
    doc = Document(str(parts[0]))
    body = doc.element.body
    sect = body[-1] if body[-1].tag.endswith("}sectPr") else None
    for part in parts[1:]:
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        brk = body[-2] if sect is not None else body[-1]
        for el in Document(str(part)).element.body:
            if el.tag.endswith("}sectPr"):
                continue
            brk.addnext(copy.deepcopy(el))
            brk = brk.getnext()
    buf = io.BytesIO()
    doc.save(buf)
    write_normalised_zip(buf.getvalue(), path)


def write_normalised_zip(blob: bytes, path: str | PathLike[str]) -> None:
    """Rewrite a zip (docx/xlsx) with fixed member timestamps and permissions, so reruns give
    byte-identical files."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as zin, zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED
    ) as zout:
        for info in zin.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=_DOCX_EPOCH)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = 0o644 << 16
            zout.writestr(new, zin.read(info.filename))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(out.getvalue())


# --------------------------------------------------------------------------- HTML

TABLE_CSS = """\
table.h2c-table { border-collapse: collapse; font-family: Arial, "Liberation Sans", Helvetica,
  sans-serif; font-size: 10pt; color: #000; margin: 0 0 1em 0; }
table.h2c-table caption { caption-side: top; text-align: left; font-weight: bold;
  padding: 0 0 0.4em 0; }
table.h2c-table th, table.h2c-table td { padding: 0.15em 0.5em; vertical-align: top; }
table.h2c-table thead tr:first-child th { border-top: 1.5px solid #000; }
table.h2c-table thead tr:last-child th { border-bottom: 1px solid #000; }
table.h2c-table thead th.span { border-bottom: 0.5px solid #000; }
table.h2c-table tbody tr:last-child td { border-bottom: 1.5px solid #000; }
table.h2c-table thead th { vertical-align: bottom; }
table.h2c-table td, table.h2c-table span.nw { white-space: nowrap; }
table.h2c-table sup { font-size: 70%; line-height: 0; position: relative; top: -0.45em;
  vertical-align: baseline; }
table.h2c-table td.l, table.h2c-table th.l { text-align: left; }
table.h2c-table td.c, table.h2c-table th.c { text-align: center; }
table.h2c-table td.r, table.h2c-table th.r { text-align: right; }
table.h2c-table tfoot td { font-size: 9pt; white-space: normal; text-align: left;
  padding-top: 0.3em; }
"""


_HYPHENATED = re.compile(r"(\S*-\S*)")


def _html_text(text: str) -> str:
    parts = []
    for seg, is_sup in split_superscripts(text):
        esc = html.escape(seg, quote=True)
        # browsers break after a hyphen ("p-" / "value"); Word output never does (widths)
        esc = _HYPHENATED.sub(r'<span class="nw">\1</span>', esc).replace("\n", "<br>")
        parts.append(f"<sup>{esc}</sup>" if is_sup else esc)
    return "".join(parts)


def to_html(table: DisplayTable, *, full_page: bool = False, css: bool = True) -> str:
    """The table as HTML: a fragment (``<style>`` scoped to ``table.h2c-table`` unless
    ``css=False``) or, with ``full_page``, a complete UTF-8 document. Text is escaped."""
    cls = {"left": "l", "center": "c", "right": "r"}
    lines = ['<table class="h2c-table">']
    if table.title:
        lines.append(f"<caption>{_html_text(table.title)}</caption>")
    lines.append("<thead>")
    header = table.header or []
    for i, hrow in enumerate(header):
        last = i == len(header) - 1
        cells = []
        for j0, span, text in header_spans(hrow, merge=not last):
            a = "c" if span > 1 else cls[table.align[j0]]  # type: ignore[index]
            extra = " span" if span > 1 and text else ""
            colspan = f' colspan="{span}"' if span > 1 else ""
            cells.append(f'<th class="{a}{extra}"{colspan} scope="col">{_html_text(text)}</th>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</thead>")
    lines.append("<tbody>")
    for i, vals in enumerate(table.cells):
        cells = []
        for j, text in enumerate(vals):
            style = ""
            if j == 0 and table.indent[i]:  # type: ignore[index]
                style = f' style="padding-left:{0.5 + 1.2 * table.indent[i]:.1f}em"'  # type: ignore[index]
            cells.append(f'<td class="{cls[table.align[j]]}"{style}>{_html_text(text)}</td>')  # type: ignore[index]
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody>")
    if table.footnotes:
        ncol = table.body.shape[1]
        lines.append("<tfoot>")
        for note in table.footnotes:
            lines.append(f'<tr><td colspan="{ncol}">{_html_text(note)}</td></tr>')
        lines.append("</tfoot>")
    lines.append("</table>")
    frag = "\n".join(lines) + "\n"
    if full_page:
        title = html.escape("".join(s for s, _ in split_superscripts(table.title)) or "Table")
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>{title}</title>\n<style>\nbody {{ margin: 2em; }}\n{TABLE_CSS}"
                f"</style>\n</head>\n<body>\n{frag}</body>\n</html>\n")
    return (f"<style>\n{TABLE_CSS}</style>\n{frag}" if css else frag)


def write_html(table: DisplayTable, path: str | PathLike[str], *, full_page: bool = True) -> None:
    """Write :func:`to_html` output (UTF-8, LF line ends)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(to_html(table, full_page=full_page))
