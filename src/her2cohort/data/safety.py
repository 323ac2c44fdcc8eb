"""Safety of what the pipeline reads and writes: CSV formula injection, redaction of values that
look like identifiers or dates, invisible characters, and the folders centre files may come from.

- ``excel_safe(df)``: neutralises text cells that a spreadsheet would run as a formula (OWASP
  "CSV Injection": cells beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a
  leading single quote). Numeric columns are never touched, and a text cell that is a plain
  number (``-5``, ``+3.2``, ``1e-3``) is left as it is: Excel reads it as a number, not as a
  formula, so negative values stay negative.
- ``redact_text(s)``: replaces substrings that look like dates or hospital identifiers with
  ``[date]`` / ``[id]`` before a value or a message reaches ``results/`` or the console (which
  Snakemake copies into ``logs/``).
- ``clean_text(s)``: the normalisation applied to every cell read from a centre file before codes
  are matched: Unicode NFC, zero-width characters, byte-order marks and NUL removed, no-break and
  other Unicode spaces turned into a plain space. ``show(s)`` prints what is left invisible as an
  escape (``'B\\u200e'``) so a bad value never looks identical to a valid code.
- ``data_dirs(cfg)`` / ``check_inside``: centre files named in a study config (``her2cohort
  check`` and the pipeline) must resolve inside the allowed data folders (config key
  ``data_dirs``, default ``[data/]``) unless their mapping says ``allow_outside_data_dirs: true``.
"""

from __future__ import annotations

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
        text = s.astype("string")
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
    names = ", ".join(f"'{c}' U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in odd)
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
