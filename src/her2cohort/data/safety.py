"""Safety of what the pipeline reads and writes: CSV formula injection, redaction of values that
look like identifiers or dates, invisible characters, and the folders centre files may come from.

- ``excel_safe(df)``: neutralises text cells that a spreadsheet would run as a formula (OWASP
  "CSV Injection": cells beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a
  leading single quote). Numeric columns are never touched, and a text cell that is a plain
  number (``-5``, ``+3.2``, ``1e-3``) is left as it is: Excel reads it as a number, not as a
  formula, so negative values stay negative.
- ``redact_text(s)``: replaces substrings that look like dates or hospital identifiers with
  ``[date]`` / ``[id]`` before a message reaches ``results/`` or the console (which
  Snakemake copies into ``logs/``).
- ``shape(s)`` / ``value_for_files(s, kind)``: redaction by rule, not by shape alone. A value of
  a coded or free-text column that fails its vocabulary reaches ``results/`` and ``logs/`` only
  as its shape (``'Wang Fang'`` -> ``[shape: Llll Llll]``, ``'30/02/2013'`` ->
  ``[shape: dd/dd/dddd]``) unless it is a short code (1-3 ASCII letters, digits, ``+``, ``-``);
  identifiers never; numbers of numeric fields and missing-value markers as they are.
  ``value_for_console`` is the same for ``her2cohort check`` at the user's desk, where codes
  are shown so that a mapping can be written (identifiers, dates and MRN-like values never).
- ``clean_text(s)``: the normalisation applied to every cell read from a centre file before codes
  are matched: Unicode NFC, zero-width characters, byte-order marks and NUL removed, no-break and
  other Unicode spaces turned into a plain space. ``show(s)`` prints what is left invisible as an
  escape (``'B\\u200e'``) so a bad value never looks identical to a valid code.
- ``data_dirs(cfg)`` / ``check_inside``: centre files named in a study config (``her2cohort
  check`` and the pipeline) must resolve inside the allowed data folders (config key
  ``data_dirs``, default ``[data/]``) unless their mapping says ``allow_outside_data_dirs: true``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

import pandas as pd

# --- CSV formula injection ---------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?")


def excel_safe_value(v):
    """One cell: a text starting with = + - @ tab or CR gets a leading ' unless it is a number."""
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(v):
        return "'" + v
    return v


def excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells cannot run as spreadsheet formulas (OWASP CSV injection).

    Only object/string columns are looked at; numeric, boolean and date columns are written as
    they are. Vectorised: only cells whose first character is dangerous are rewritten.
    """
    out = None
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        # Python's regular expressions whatever the session's text storage: Arrow's RE2
        # reads \d as ASCII only, Python as any Unicode digit
        text = s.astype(pd.StringDtype("python"))
        risky = text.str[:1].isin(_FORMULA_START).fillna(False).astype(bool)
        if not risky.any():
            continue
        numeric = text.str.fullmatch(_PLAIN_NUMBER.pattern).fillna(False).astype(bool)
        fix = risky & ~numeric
        if not fix.any():
            continue
        if out is None:
            out = df.copy()
        col_vals = out[col].astype(object)
        col_vals[fix] = ("'" + text[fix]).astype(object)
        out[col] = col_vals
    return df if out is None else out


# --- redaction --------------------------------------------------------------------------------

_MONTHS = ("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|january|february|march|april|june|"
           "july|august|september|october|november|december")
_DATE = re.compile(
    r"(?<![\w.])("
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"  # ISO, CJK
    r"|\d{1,2}(?P<dmy>[-/.])\d{1,2}(?P=dmy)\d{2,4}"  # d/m/y, m/d/y (one separator: the
    # range 0.1-100 or 0.01-50 is not a date)
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)\d{2}"  # mixed separators with a 4-digit year
    r"|\d{2}(?P<ymd>[-/])\d{1,2}(?P=ymd)\d{1,2}"  # yy/m/d (not 26.0.1, a version)
    rf"|\d{{1,2}}[- ](?:{_MONTHS})[a-z]*[- ,]*\d{{2,4}}"  # 1-Jan-2019
    rf"|(?:{_MONTHS})[a-z]* \d{{1,2}},? \d{{4}}"  # Jan 1, 2019
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # 20190131
    r")(?![\w])", re.IGNORECASE)
# identifier-like: 5+ digits, optionally with a short letter prefix and a separator; also
# Excel's scientific-notation form of a long number (2.00147E+09)
_ID = re.compile(r"(?<![\w.])((?:[A-Za-z][A-Za-z0-9]{0,4}[-_/]?)?\d{5,}[A-Za-z]?"
                 r"|\d(?:[.,]\d+)?[eE]\+\d{2,})(?![\w])")


def looks_like_date(value: str | None) -> bool:
    """True when a cell value holds something that looks like a date."""
    return isinstance(value, str) and bool(_DATE.search(value))


def looks_sensitive(value: str | None) -> bool:
    """True when a cell value looks like a date or an identifier."""
    if value is None or not isinstance(value, str):
        return False
    return bool(_DATE.search(value) or _ID.search(value))


_EXAMPLE = ("2019-12-31", "31/12/2019", "12/31/2019", "31.12.2019", "31-12-2019", "2019/12/31",
            "20191231", "31-Dec-2019", "Dec 31, 2019")


def _is_example(text: str) -> bool:
    """31 Dec 2019 written in any format (the example messages give, in the user's format)."""
    if text in _EXAMPLE:
        return True
    parts = re.findall(r"\d+", text)
    nums = {int(x) for x in parts}
    return (len(parts) <= 3 and nums <= {2019, 19, 12, 31} and 31 in nums
            and bool(nums & {2019, 19}) and (12 in nums or "Dec" in text))


def redact_text(text: str | None, ids: bool = True, keep_example: bool = False) -> str | None:
    """Replace date-like substrings by ``[date]`` and (with ``ids``) identifier-like ones by
    ``[id]``. Messages use ``ids=False`` (they carry row numbers, not identifiers) and
    ``keep_example`` (the example date 31 Dec 2019 that shows a format is not patient data)."""
    if not isinstance(text, str) or not text:
        return text
    if keep_example:
        out = _DATE.sub(lambda m: m.group(0) if _is_example(m.group(0)) else "[date]", text)
    else:
        out = _DATE.sub("[date]", text)
    if ids:
        out = _ID.sub("[id]", out)
    return out


# --- shapes: what a value looks like, without the value ----------------------------------------
#
# The rule (config/README.md, "What reaches results/ and logs/"): a value of a coded or free-text
# column that fails its vocabulary reaches results/ and logs/ only as its shape, unless it is a
# short code (SHORT_CODE: 1-3 ASCII letters, digits, '+' or '-', not equal to a patient ID);
# identifiers (patient ID values, a cell equal to one) never; dates by their shape; numbers of
# numeric fields as they are; missing-value markers from COMMON_MISSING as they are.

SHAPE_MAX = 20  # characters of a shape shown; the length is given beside a longer one
SHORT_CODE = re.compile(r"[A-Za-z0-9+\-]{1,3}")
# a number as a user types it (a decimal mark, sign, percent, < or >), at most 12 characters
NUMBERISH = re.compile(r"[<>]?=?\s?[+-]?(\d+([.,]\d*)?|[.,]\d+)\s?%?")
# written in a cell to mean "not recorded" (compared lower-case, after stripping)
COMMON_MISSING = frozenset({
    "na", "n/a", "n.a.", "n.a", "#n/a", "nan", "null", "none", "nil", "-", "--", "---", "?",
    "??", "unknown", "unk", "nk", "not known", "not done", "nd", "n.d.", "missing", "blank",
    "/", "\u2014", "\u2013", "\u4e0d\u8be6", "\u65e0", "\u672a\u77e5", "\u672a\u67e5"})


def _char_class(c: str) -> str:
    if c.isdigit():
        return "d"
    if c.isalpha():
        if c.isupper():
            return "L"
        if c.islower():
            return "l"
        return "x"  # a letter without case (Chinese, Japanese, Arabic ...)
    if c.isspace():
        return " "
    if c.isascii() and c.isprintable():
        return c  # ASCII punctuation and symbols are kept: they carry the format, not the data
    return "?"


def shape(value: str) -> str:
    """The shape of a value: ``L`` upper-case letter, ``l`` lower-case letter, ``x`` letter
    without case (e.g. Chinese), ``d`` digit, a space for any white space, ASCII punctuation
    kept, ``?`` anything else (symbols, invisible characters). '30/02/2013' -> 'dd/dd/dddd',
    'Wang Fang' -> 'Llll Llll'. Per value: call it on the few distinct failing values only."""
    return "".join(_char_class(c) for c in str(value))


def shown_shape(value: str) -> str:
    """A shape as reports print it: '[shape: dd/dd/dddd]'; longer than SHAPE_MAX characters it
    is cut and the length given ('[shape: Llll llll llll..., 57 chars]')."""
    s = shape(value)
    if len(s) <= SHAPE_MAX:
        return f"[shape: {s}]"
    return f"[shape: {s[:SHAPE_MAX]}..., {len(s)} chars]"


def shapes(values: pd.Series) -> pd.Series:
    """:func:`shape` of every value of a Series, computed once per distinct value."""
    uniq = values.dropna().unique()
    return values.map(dict(zip(uniq, (shape(v) for v in uniq))))


def is_short_code(value: str) -> bool:
    """1-3 ASCII letters, digits, '+' or '-' (a code such as 'B', '3+', 'G4', 'ypN'): shown."""
    return bool(SHORT_CODE.fullmatch(value))


def is_missing_marker(value: str) -> bool:
    """A usual way of writing 'not recorded' (n/a, NA, -, unknown, ...): COMMON_MISSING."""
    return isinstance(value, str) and value.strip().lower() in COMMON_MISSING


def mrn_like(value: str) -> bool:
    """Digits only, 4 or more of them (a hospital number): never shown from a coded column."""
    return bool(re.fullmatch(r"[A-Za-z]{0,4}[-_/ ]?\d{4,}[A-Za-z]?", value.strip()))


@functools.lru_cache(maxsize=65536)  # a column of one repeated bad value: computed once
def value_for_files(value: str, kind: str) -> str:
    """A problem's value as it may be written to results/ and logs/ (the rule above).

    ``kind``: ``id`` (never shown), ``date`` (shape), ``number`` (shown when it reads as a
    number of at most 12 characters, else shape), ``marker`` (a missing-value marker, shown),
    ``code`` (shown when a short code, else shape), ``config`` (a value from the mapping or
    config, shown), ``lab`` (a value of an in-vitro plate file: no patient's, shown),
    ``""`` (unknown: as ``code``)."""
    value = str(value)
    if kind == "id":
        return "[identifier]"
    if looks_like_date(value):  # a date, even from the mapping (a sentinel): its shape
        return shown_shape(value)
    if kind in ("marker", "config", "lab"):
        return show(value)
    if kind == "number" and len(value) <= 12 and NUMBERISH.fullmatch(value.strip()):
        return value
    if kind in ("code", "") and is_short_code(value):
        return value
    return shown_shape(value)


@functools.lru_cache(maxsize=65536)
def value_for_console(value: str, kind: str) -> str:
    """The value as ``her2cohort check`` prints it at the user's desk: codes and numbers as
    they are (the user needs them to write a mapping), but identifiers never, dates, ID-like
    (MRN-like digits), date-like values and text with 6 or more digits (a phone number) by
    their shape, invisible characters escaped."""
    value = str(value)
    if kind == "id":
        return "[identifier]"
    if kind == "date" or looks_like_date(value):
        return shown_shape(value)
    if kind not in ("config", "lab") and (
            looks_sensitive(value) or (kind in ("code", "") and mrn_like(value))):
        return shown_shape(value)
    if kind != "number" and sum(c.isdigit() for c in value) >= 6:  # a phone number, an ID
        return shown_shape(value)
    return show(value)


_QUOTED = re.compile(r"(['\"])([^'\"\n]+?)\1")
_NAME_LIKE = re.compile(r"[a-z_][a-z0-9_.]*")


def redact_quoted(text: str) -> str:
    """An error text of unknown origin (a library's exception, printed by a stage into logs/)
    with every quoted literal that is not a lower-case name (``'er_pct'``), a short code or a
    number replaced by its shape: such an error may quote a cell (``could not convert string
    to float: 'Wang Fang'``). Dates are redacted as by :func:`redact_text`."""
    def sub(m: re.Match) -> str:
        inner = m.group(2)
        if _NAME_LIKE.fullmatch(inner) or is_short_code(inner) or NUMBERISH.fullmatch(inner):
            return m.group(0)
        return m.group(1) + shown_shape(inner) + m.group(1)

    return redact_text(_QUOTED.sub(sub, text), ids=False)


# --- invisible characters ---------------------------------------------------------------------

_DROP = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\x00\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2000\u2001\u2002\u2003\u2004\u2005"
                                 "\u2006\u2008\u2009\u200a\u205f\u3000"), " ")
_TABLE = {**_DROP, **_SPACES}


def clean_text(text: str) -> str:
    """NFC, zero-width characters / BOM / NUL / soft hyphen removed, Unicode spaces -> ' '."""
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    return unicodedata.normalize("NFC", text.translate(_TABLE))


def show(value: str) -> str:
    """A value as printed in reports: characters that cannot be seen are escaped."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape")
                   .decode("ascii") for c in value)


def lookalike_note(value: str, allowed: list[str]) -> str:
    """For a code that matched nothing: name its non-ASCII characters when every allowed code
    is ASCII (a Cyrillic 'М' or a full-width '３' looks exactly like the Latin one)."""
    if value.isascii() or not all(str(a).isascii() for a in allowed):
        return ""
    odd = dict.fromkeys(c for c in value if not c.isascii())
    # only for a short value whose odd characters look like Latin ones (Cyrillic, Greek,
    # full-width forms): naming every character of a longer text (a name typed in Chinese)
    # would spell the text out in a report
    if len(value) > 6 or len(odd) > 2 or not all(
            unicodedata.normalize("NFKC", c).isascii() or
            unicodedata.name(c, "").startswith(("CYRILLIC", "GREEK")) for c in odd):
        return ""
    # named by code point and name, not printed (the report shows the value by its shape)
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in odd)
    return f" (it contains non-ASCII character(s): {names})"


# --- allowed data folders ---------------------------------------------------------------------

DEFAULT_DATA_DIRS: tuple[str, ...] = ("data",)


def data_dirs(cfg: dict) -> list[str]:
    """The folders centre files may come from: config key ``data_dirs``, default ``[data/]``."""
    return list(cfg.get("data_dirs") or DEFAULT_DATA_DIRS)


def check_inside(path: Path, base_dir: str | Path, mapping: dict,
                 dirs: list[str] | None) -> str | None:
    """None when ``path`` resolves inside an allowed data folder (or the mapping allows any, or
    ``dirs`` is None: a library call that names its files itself); else the sentence that says
    why it is refused. Symbolic links are resolved first, so a link cannot lead outside."""
    if mapping.get("allow_outside_data_dirs") or dirs is None:
        return None
    real = path.resolve()
    roots = [(Path(base_dir) / d).resolve() for d in dirs]
    if any(real == r or r in real.parents for r in roots):
        return None
    allowed = ", ".join(f"{d.rstrip('/')}/" for d in dirs)
    return (f"'file: {mapping['file']}' resolves outside the allowed data folder(s) ({allowed}); "
            "move the file there, add its folder to 'data_dirs:' in the config, or set "
            "'allow_outside_data_dirs: true' in the mapping")
