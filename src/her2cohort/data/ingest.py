"""Ingest and harmonize: read each centre's raw file through its mapping in ``config/centres``.

The mapping gives the file format (CSV with any delimiter, decimal mark and encoding, or an
Excel sheet), the column names, the value vocabularies, the date format and the units. Nothing
is guessed: a value with no mapping, an unparseable date or number, a missing column are all
problems, collected for every file and row before anything is reported.

Output: one row per data row received, canonical field names (``her2cohort.data.fields``), the
provenance columns ``centre``, ``source_file``, ``source_row`` and a pseudonymous
``patient_key`` in place of the hospital identifier.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .fields import FIELDS, PROVENANCE, UNIT_FACTORS, Field
from .mapping import MappingError, load_mappings
from .problems import DEFAULT_ACTIONS, Problem
from .read import read_raw
from .safety import (is_missing_marker, looks_like_date, looks_sensitive, lookalike_note,
                     mrn_like, shape)

EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's serial day 0 (1900 date system, after the leap bug)


def pseudonym(patient_id: str, salt: str) -> str:
    """Stable pseudonymous key from the hospital ID (HMAC-SHA256, first 12 hex digits).

    The key depends on the ID alone, not the centre, so the same ID sent by two centres maps to
    the same key and can be flagged as a possible duplicate without keeping the ID.
    """
    mac = hmac.new(salt.encode("utf-8"), patient_id.strip().encode("utf-8"), hashlib.sha256)
    return "P" + mac.hexdigest()[:12]


def pseudonyms(ids: pd.Series, salt: str) -> pd.Series:
    """``pseudonym`` of every ID (missing stays missing), once per distinct ID, through the
    one-shot C implementation of HMAC (``hmac.digest``)."""
    key = salt.encode("utf-8")

    def per_value(u: pd.Series) -> pd.Series:
        return pd.Series(["P" + hmac.digest(key, v.strip().encode("utf-8"), "sha256").hex()[:12]
                          for v in u], index=u.index, dtype="string")

    return _per_value(ids, per_value)[0].astype(object).where(ids.notna(), None)
# --- patient IDs: normalisation (``id_normalise:``) and the hint when it is missing ------------

def id_rule(mapping: dict) -> dict[str, str]:
    """The centre's ID normalisation (``id_normalise:``), defaults filled: surrounding spaces
    are always removed; ``case`` keep/upper/lower (default keep); ``leading_zeros`` keep/strip
    (default keep)."""
    rule = mapping.get("id_normalise") or {}
    return {"case": rule.get("case", "keep"), "leading_zeros": rule.get("leading_zeros", "keep")}


def normalise_ids(ids: pd.Series, rule: dict[str, str]) -> pd.Series:
    """IDs made comparable by the centre's rule (vectorised); missing values stay missing and
    an ID of zeros only keeps one zero."""
    s = ids.astype("string").str.strip()
    if rule.get("case") == "upper":
        s = s.str.upper()
    elif rule.get("case") == "lower":
        s = s.str.lower()
    if rule.get("leading_zeros") == "strip":
        z = s.str.lstrip("0")
        s = z.mask(((z == "") & (s != "")).fillna(False).astype(bool), "0")
    return s


def id_shape(ids: pd.Series) -> pd.Series:
    """An ID shown by its shape only (digit -> d, letter -> a, other characters kept), so
    that messages never echo an identifier."""
    s = ids.astype("string").str.replace(r"[^\W\d_]", "a", regex=True)
    return s.str.replace(r"\d", "d", regex=True)


_ID_FIX = {"case": ("differ only by upper/lower case", "{case: upper}"),
           "zeros": ("differ only by leading zeros", "{leading_zeros: strip}"),
           "both": ("differ only by case and leading zeros",
                    "{case: upper, leading_zeros: strip}")}


def _distinct_per_key(key: pd.Series, values: pd.Series) -> np.ndarray:
    """For each element, the number of distinct ``values`` among the elements with its
    ``key`` (a vectorised groupby-nunique-transform, on integer codes)."""
    k, _ = pd.factorize(key)
    v, uniq = pd.factorize(values)
    pairs = np.unique(k.astype(np.int64) * (len(uniq) + 1) + v)
    counts = np.bincount(pairs // (len(uniq) + 1), minlength=int(k.max()) + 1 if len(k) else 0)
    return counts[k]


def id_variant_problems(ids: pd.Series, files: pd.Series, rows: pd.Series, rule: dict,
                        mapping: dict, column: str) -> list[Problem]:
    """IDs of different records that differ only by case or leading zeros, which the centre's
    ``id_normalise:`` does not cover: one hint per kind, naming the rule to set and an
    example pair by file and row (IDs shown by their shape only). Vectorised."""
    ids = ids.astype("string")
    ok = ids.notna()
    if not ok.any():
        return []
    full = normalise_ids(ids[ok], {"case": "upper", "leading_zeros": "strip"})
    cand = _distinct_per_key(full, ids[ok]) > 1  # records whose IDs the wider rule makes one
    if not cand.any():
        return []
    sub = ids[ok][cand]
    key = full[cand]
    by_case = _distinct_per_key(key, normalise_ids(sub, {**rule, "case": "upper"}))
    by_zero = _distinct_per_key(key, normalise_ids(sub, {**rule, "leading_zeros": "strip"}))
    kind = pd.Series(np.where(by_zero == 1, "zeros", np.where(by_case == 1, "case", "both")),
                     index=sub.index)
    problems = []
    for k, idx in kind.groupby(kind).groups.items():
        what, fix = _ID_FIX[k]
        group = sub[(key == key[idx].iloc[0]).to_numpy()]  # an example: two different IDs
        a = group.index[0]
        b = group.index[(group != group.iloc[0]).to_numpy()][0]
        n = int(key[idx].nunique())
        shp = id_shape(sub.loc[[a, b]])
        problems.append(Problem(
            str(files[a]), int(rows[a]), None, column, None, "id_variants",
            f"{n} patient ID(s) {what} from another record's ID (e.g. an ID shaped "
            f"{shp[a]!s} in {files[a]} row {int(rows[a])} and one shaped {shp[b]!s} in "
            f"{files[b]} row {int(rows[b])}), so they are counted as different patients: if "
            f"they are the same patient, set id_normalise: {fix} in {mapping['_path']}"))
    return problems


# --- harmonizing ------------------------------------------------------------------------------

def _problem(rel, row, key, column, value, rule, message, redact=False, kind="",
             record=None) -> Problem:
    return Problem(rel, int(row), key, column, value, rule, message, redact=redact, kind=kind,
                   record=record)


def _per_value(values: pd.Series, fn) -> tuple[pd.Series, ...]:
    """``fn`` applied once per distinct value, its results spread back over the rows: a
    registry's million cells hold a few thousand distinct dates, codes and numbers, so the
    work is on those (``fn`` takes a Series of the distinct non-missing values and returns
    Series on the same index; a missing cell gets missing, or False for a boolean result)."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    results = fn(pd.Series(np.asarray(uniq, dtype=object), dtype=values.dtype
                           if not isinstance(values.dtype, pd.CategoricalDtype) else "string"))
    out = []
    for r in (results if isinstance(results, tuple) else (results,)):
        arr = r.array if isinstance(r.dtype, pd.api.extensions.ExtensionDtype) else \
            r.to_numpy()
        fill = False if r.dtype == bool else None
        taken = pd.api.extensions.take(arr, codes, allow_fill=True, fill_value=fill)
        out.append(pd.Series(taken, index=values.index))
    return tuple(out)


#: the dates a table of dates can hold (pandas' nanosecond timestamps): 1677-09-22 .. 2262-04-11
DATE_RANGE = (pd.Timestamp.min.ceil("D").date(), pd.Timestamp.max.floor("D").date())


def _read_date(v: str, fmt: str) -> dt.date:
    """One text date read with ``fmt`` (ValueError or OverflowError when it is none)."""
    if fmt == "excel_serial":
        if not re.fullmatch(r"\d{1,6}(\.\d+)?", v):  # time part: date part used
            raise ValueError(v)
        return EXCEL_EPOCH + dt.timedelta(days=int(float(v)))
    if fmt in ("iso", "excel"):
        return dt.date.fromisoformat(v)
    return dt.datetime.strptime(v, fmt).date()


def _out_of_range_year(value: str, fmt: str) -> int | None:
    """The year of a value that reads as a date outside :data:`DATE_RANGE` (such as a
    database's open-end date 9999-12-31), else None."""
    try:
        d = _read_date(value, fmt)
    except (ValueError, OverflowError):
        # a year of five digits, which no format reads: a typed timestamp of 9999-12-31
        # late in the day, moved to its time zone's 10000-01-01
        m = re.fullmatch(r"(\d{5,})-\d{2}-\d{2}", value) if fmt in ("iso", "excel") else None
        return int(m.group(1)) if m else None
    return d.year if not DATE_RANGE[0] <= d <= DATE_RANGE[1] else None


def _parse_dates(values: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series]:
    """Parse unique text values; return (dates, mask of unparseable non-missing values). A
    date outside :data:`DATE_RANGE` is unparseable (reported, :func:`_bad_date`)."""
    uniq = values.dropna().unique()
    parsed: dict[str, pd.Timestamp | None] = {}
    for v in uniq:
        try:
            d = _read_date(v, fmt)
            parsed[v] = pd.Timestamp(d) if DATE_RANGE[0] <= d <= DATE_RANGE[1] else None
        except (ValueError, OverflowError):
            parsed[v] = None
    out = values.map(parsed)
    bad = values.notna() & out.isna()
    return pd.to_datetime(out), bad


def _swapped_format(fmt: str) -> str | None:
    if "%d" in fmt and "%m" in fmt:
        return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    return None


def _parses(value: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


_FMT_PART = {"%d": r"(?P<d>\d{1,2})", "%m": r"(?P<m>\d{1,2})", "%Y": r"(?P<Y>\d{4})",
             "%y": r"(?P<y>\d{2})", "%b": r"[A-Za-z]{3}", "%B": r"[A-Za-z]+"}


def _format_regex(fmt: str) -> re.Pattern | None:
    """The shape of a strptime format as a regex with groups d, m, Y/y (None: not simple)."""
    if fmt in ("iso", "excel"):
        fmt = "%Y-%m-%d"
    out, i = "", 0
    while i < len(fmt):
        if fmt[i] == "%":
            part = _FMT_PART.get(fmt[i:i + 2])
            if part is None:
                return None
            out += part
            i += 2
        else:
            out += re.escape(fmt[i])
            i += 1
    return re.compile(out)


def _impossible_part(value: str, fmt: str) -> str | None:
    """For a value that has the format's shape but is no date: which part cannot be ('day 30
    of month 02'); None when the value does not have the format's shape."""
    import calendar

    rx = _format_regex(fmt)
    m = rx.fullmatch(value) if rx is not None else None
    if m is None:
        return None
    parts = m.groupdict()
    month = int(parts["m"]) if parts.get("m") else None
    day = int(parts["d"]) if parts.get("d") else None
    year = int(parts["Y"]) if parts.get("Y") else (2000 + int(parts["y"]) if parts.get("y")
                                                    else 2000)
    if month is not None and not 1 <= month <= 12:
        return f"month {month:02d}"
    if day is not None and month is not None:
        last = calendar.monthrange(max(year, 1), month)[1]
        if day == 0 or day > last:
            leap = (" in a year that is not a leap year" if month == 2 and day == 29 else "")
            return f"day {day:02d} of month {month:02d}{leap}"
    if day is not None and not 1 <= day <= 31:
        return f"day {day:02d}"
    if year == 0:
        return "year 0000"
    return None


def _bad_date(value: str, field: str, fmt: str, mapping_path: str) -> tuple[str, str]:
    """(message, value kind) for a date cell that cannot be read: says what is wrong without
    the value (its shape, a missing-value marker, an Excel serial, an impossible day)."""
    shp = shape(value)
    expected = f"expected {_date_example(fmt)}"
    if is_missing_marker(value):
        return (f"'{value}' in a date column looks like a missing-value marker that the mapping "
                f"does not declare: if it means 'not recorded', add it under 'missing:' in "
                f"{mapping_path} (e.g. missing: ['', '{value}']); else {expected}"), "marker"
    swapped = _swapped_format(fmt)
    hint = ""
    if swapped and _parses(value, swapped):
        hint = "; it reads as a date with day and month swapped: check the format"
    if fmt != "excel_serial" and re.fullmatch(r"\d{4,5}(\.\d+)?", value) \
            and 3653 <= float(value) <= 73050:  # 1910-01-01 .. 2099-12-31
        return (f"'{shp}' is a number, not a date, for '{field}': read as an Excel serial date "
                "(Excel's day count, as a date cell not formatted as a date is exported); "
                "format the column as dates and export again, or set 'date_format: "
                f"excel_serial' in {mapping_path} if the whole column holds such numbers; "
                f"{expected}"), "date"
    year = _out_of_range_year(value, fmt)
    if year is not None:
        return (f"'{shp}' reads as a date in the year {year}, outside the years a record can "
                f"hold for '{field}' ({DATE_RANGE[0].year + 1} to {DATE_RANGE[1].year - 1}): "
                "such a date is often a database's marker for an open end or an unknown date; "
                f"if it means not recorded, add it under 'missing:' in {mapping_path}; else "
                f"{expected}"), "date"
    wrong = _impossible_part(value, fmt) if fmt != "excel_serial" else None
    if wrong is not None:
        return (f"'{shp}' is not a real date for '{field}' ({wrong}?): it has the format's "
                f"shape, but no such date exists; {expected}{hint}"), "date"
    return (f"not a valid date for '{field}': '{shp}' does not match the format; "
            f"{expected}{hint}"), "date"


def _code_hint(value: str, is_id: bool) -> str:
    """What a value in a coded column seems to be, without the value."""
    if is_id:
        return (" (the value is one of this file's patient IDs: an identifier typed into the "
                "wrong column?)")
    if mrn_like(value):
        return (" (the value looks like a hospital number, not a code: typed into the wrong "
                "column?)")
    if looks_like_date(value):
        return " (the value looks like a date, not a code: typed into the wrong column?)"
    if looks_sensitive(value):
        return " (the value looks like an identifier, not a code: typed into the wrong column?)"
    return ""


def _near_level(value: str, allowed, vmap: dict) -> str:
    """' (did you mean 'left'?)': the level or mapped code closest to an unmapped code."""
    from .problems import did_you_mean_level

    return did_you_mean_level(value, [*allowed, *vmap])


def _date_example(fmt: str) -> str:
    if fmt == "excel_serial":
        return "an Excel serial day number such as 43830"
    if fmt in ("iso", "excel"):
        return "a date cell or a text date like 2019-12-31"
    return f"a date like {dt.date(2019, 12, 31).strftime(fmt)} (format {fmt})"


def _parse_numbers(values: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    other = "." if decimal == "," else ","
    # ASCII digits only: full-width digits (common with Chinese input methods) are reported,
    # not silently turned into missing values
    pattern = rf"[+-]?([0-9]+(\{decimal}[0-9]*)?|\{decimal}[0-9]+)"
    text = values.str.strip()
    ok = text.str.fullmatch(pattern).fillna(False) & ~text.str.contains(
        re.escape(other), regex=True).fillna(False)
    ok = ok.astype(bool)
    num = pd.to_numeric(text.where(ok).str.replace(decimal, ".", regex=False), errors="coerce")
    bad = values.notna().astype(bool) & (~ok | num.isna())
    return num.astype("float64"), bad


def _typed_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The text of a typed Parquet number column (Arrow's own: '12.5', '1e-7', '2.50', 'nan')
    as numbers; returns (numbers, mask of NaN and infinities). Read back by Arrow, which reads
    its shortest round-trip text to the very float written (pandas' to_numeric is at times one
    unit in the last place off); whatever the mapping's ``decimal`` says."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values.to_numpy(dtype=object, na_value=None), pa.string())
    try:
        num = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # not Arrow's text after all: read what can be read
        num = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(num)
    bad = values.notna().to_numpy(dtype=bool) & ~ok
    return (pd.Series(np.where(ok, num, np.nan), index=values.index),
            pd.Series(bad, index=values.index))


def _time_of_day_note(t: dict, rel: str, column: str, field: str) -> Problem:
    """A typed timestamp column with times of day feeding a date field: the date is read (as
    for Excel date-time cells) and one note per column says so, since a time just before
    midnight can be a date shifted by a time-zone conversion on export."""
    zone = t["type"].partition("tz=")[2].rstrip("]")
    where = (f"the calendar date in the column's time zone {zone}" if zone else
             "the date as stored (the column has no time zone)")
    return Problem(rel, t["first_row"], None, column, None, "date_time_of_day",
                   f"{t['timed']} value(s) of this column (Parquet type {t['type']}) have a "
                   f"time of day, the first in row {t['first_row']}: '{field}' is a date, so "
                   f"{where} is read and the time dropped; if the times are near midnight "
                   "(such as 23:00 or 22:00), the dates may have been shifted by a time-zone "
                   "conversion on export: compare a few records with the source")


def harmonize(raw: pd.DataFrame, mapping: dict, *, salt: str,
              vocabularies: dict[str, list[str]] | None = None,
              required: list[dict] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Map one centre's raw text table onto the canonical fields; collect every problem.

    ``raw`` is one file as read by ``read.read_raw``, or several files of one centre joined on
    the patient ID (``join_files``): then ``mapping["_sources"]`` gives, per mapped column,
    the file it came from and the column holding that file's row numbers."""
    rel = mapping.get("file") or mapping["files"][0]["file"]
    centre = mapping["centre"]
    cols_map: dict[str, str] = mapping["columns"]
    value_maps: dict[str, dict] = mapping.get("values", {}) or {}
    sentinels: dict[str, dict] = mapping.get("sentinels", {}) or {}
    missing = {str(m).strip() for m in mapping.get("missing", [""])} | {""}
    units = mapping.get("units", {}) or {}
    decimal = mapping.get("decimal", ".")
    date_fmt = mapping.get("date_format", "iso")
    vocab = {f.name: list(f.values) for f in FIELDS if f.kind == "code"}
    vocab.update(vocabularies or {})
    problems: list[Problem] = []
    sources: dict[str, tuple[str, str]] = mapping.get("_sources") or {}
    # several files: which entry of 'files:' each joined column came from, and the options of
    # each entry (its own, else the centre's)
    file_of: dict[str, int] = mapping.get("_file_of") or {}
    file_opts: list[dict] = mapping.get("_file_opts") or []
    several = bool(file_opts)
    # typed Parquet columns (read.typed_column): their text is Arrow's, not the centre's
    typed: dict[str, dict] = raw.attrs.get("typed") or {}

    def where(src: str) -> tuple[str, str]:
        """(file, row column) of a source column."""
        return sources.get(src, (rel, "_row"))

    def option(src: str, key: str, default):
        """A reading option for the cells of column ``src``: its file's own, else the
        centre's."""
        k = file_of.get(src)
        return (file_opts[k] if k is not None else mapping).get(key, default)

    def shown(src: str) -> str:
        """A source column as the centre's file names it (without the file entry's prefix
        that a centre of several files gives it)."""
        return src.split(":", 1)[-1] if several else src

    def set_where(src: str, key: str) -> str:
        """Where to set option ``key`` for column ``src``."""
        k = file_of.get(src)
        if k is None or not several:
            return f"in {mapping['_path']}"
        from .mapping import file_entry_name
        return f"under the files: entry {file_entry_name(file_opts[k])!r} in {mapping['_path']}"

    # the reader's own columns (row numbers, and the file of each record of several files);
    # a centre's column may start with '_' too (a database's _id)
    header = [c for c in raw.columns
              if c not in ("_row", "_file") and not c.startswith(("_row:", "_file:"))]
    dupes = sorted({c for c in header if header.count(c) > 1})
    for c in dupes:
        problems.append(Problem(rel, 1, None, c, None, "column_duplicated",
                                f"column {c!r} appears more than once in the header"))
    for f in FIELDS:
        src = cols_map.get(f.name)
        if src is None and f.required:
            problems.append(Problem(rel, None, None, None, None, "column_missing",
                                    f"the mapping {mapping['_path']} maps no column to required "
                                    f"field '{f.name}' ({f.label})"))
        elif src is not None and src not in header:
            near = [shown(h) for h in header
                    if h.split(":", 1)[-1].lower().replace(" ", "") ==
                    shown(src).lower().replace(" ", "")]
            hint = f"; did you mean {near[0]!r}?" if near else ""
            rule = "column_missing"
            where_ = "not in the header"
            if src in (mapping.get("_unplaced") or ()):  # unqualified, in no file
                where_ = ("in none of the centre's files ("
                          f"{', '.join(o['file'] for o in file_opts)})")
            problems.append(Problem(where(src)[0], 1, None, shown(src), None, rule,
                                    f"expected column {shown(src)!r} (field '{f.name}', {f.label}) "
                                    f"is {where_}{hint}"))
    centre_col = mapping.get("centre_column")
    if centre_col is not None and centre_col not in header:
        named = centre_col.split(":", 1)[-1] if centre_col in sources else centre_col
        problems.append(Problem(where(centre_col)[0], 1, None, named, None, "column_missing",
                                f"expected column {named!r} (centre_column: each record's "
                                "centre code) is not in the header"))
    if any(p.rule in ("column_missing", "column_duplicated") for p in problems):
        return pd.DataFrame(), problems
    used = set(cols_map.values()) | ({centre_col} if centre_col else set())
    file_named = {}
    if several:
        from .mapping import file_entry_name
        file_named = {file_entry_name(o): o["file"] for o in file_opts}
    for c in header:
        if c not in used:
            name, _, col = c.partition(":")
            if name in file_named:  # a column of one of several files: that file
                problems.append(Problem(file_named[name], 1, None, col, None, "column_unmapped",
                                        "column is not mapped to any field and is ignored"))
                continue
            problems.append(Problem(where(c)[0], 1, None, c.split(":", 1)[-1] if c in sources
                                    else c, None, "column_unmapped",
                                    "column is not mapped to any field and is ignored"))

    # cells: strip, missing markers -> NA
    text = {}
    for field_name, src in cols_map.items():
        def clean(u: pd.Series) -> pd.Series:
            u = u.astype(str).str.strip()
            return u.where(~u.isin(missing)).astype("string")

        text[field_name] = _per_value(raw[src], clean)[0]
        for value, meaning in (sentinels.get(field_name) or {}).items():
            hit = text[field_name] == str(value).strip()
            n = int(hit.fillna(False).sum())
            if n:
                problems.append(Problem(where(src)[0], None, None, shown(src), str(value),
                                        "sentinel",
                                        f"{n} cell(s) hold the sentinel {value!r} "
                                        f"({meaning}, as the mapping says): read as not "
                                        "recorded"))
                valid = _sentinel_is_valid(field_name, str(value).strip(), mapping, vocabularies)
                if valid:
                    problems.append(Problem(
                        where(src)[0], None, None, src, str(value), "sentinel_ambiguous",
                        f"the sentinel {value!r} ({meaning}) is also a valid value of "
                        f"'{field_name}' ({valid}): its {n} cell(s) are read as not recorded, "
                        "although some may be real values; check with the centre, and declare "
                        "a sentinel that no real value can take"))
            text[field_name] = text[field_name].mask(hit.fillna(False))
    rule_ids = id_rule(mapping)
    if rule_ids != {"case": "keep", "leading_zeros": "keep"}:  # (cells are already stripped)
        text["patient_id"] = normalise_ids(text["patient_id"], rule_ids)
    rows = raw["_row"].astype(int)
    blank = pd.concat(text.values(), axis=1).isna().all(axis=1)
    for r in rows[blank]:
        problems.append(Problem(rel, int(r), None, None, None, "blank_row",
                                "blank row ignored (no values in any mapped column)"))
    keep = ~blank
    if not keep.all():
        rows = rows[keep]
        text = {k: v[keep] for k, v in text.items()}

    out = pd.DataFrame(index=rows.index)
    out["centre"] = centre
    out["centre_mapping"] = centre
    if centre_col is not None:
        codes, probs = _centre_codes(raw.loc[rows.index], centre_col, mapping, missing,
                                     where(centre_col))
        out["centre"] = codes
        problems.extend(probs)
    out["source_file"] = raw.loc[rows.index, "_file"] if "_file" in raw else rel
    out["source_row"] = rows.astype("int64")
    cell_file = {f: where(src)[0] for f, src in cols_map.items()}
    row_cols = {c: raw.loc[rows.index, c] for c in {where(src)[1] for src in cols_map.values()}}
    cell_rows = {f: row_cols[where(src)[1]] for f, src in cols_map.items()}
    ids = text["patient_id"]
    keys = pseudonyms(ids, salt)
    out["patient_key"] = keys
    id_cache: list = []

    def id_values():
        """The file's patient IDs (a cell equal to one is never shown): computed once, and
        only when some cell failed its rule."""
        if not id_cache:
            id_cache.append(ids.dropna().unique())
        return id_cache[0]
    id_shown = shown(cols_map["patient_id"])
    if several:
        # a row without its ID cannot be joined to the other files' rows (join_files never
        # matches blank IDs): a record of its own, set aside with its reason
        for f_, r_ in zip(out.loc[ids.isna(), "source_file"], rows[ids.isna()]):
            problems.append(Problem(str(f_), int(r_), None, id_shown, None, "blank_id",
                                    "the patient ID is blank: the row cannot be joined to the "
                                    "rows of the centre's other files (a blank ID is never "
                                    "matched) and is set aside; fill in the ID"))
    else:
        for r in rows[ids.isna()]:
            problems.append(_problem(rel, r, None, cols_map["patient_id"], None,
                                     "missing_required",
                                     "patient identifier is missing: every row needs one"))
    problems += id_variant_problems(ids, out["source_file"], out["source_row"], rule_ids,
                                    mapping, id_shown)

    def cell(frel, row, i, src, value, rule, message, redact=False, kind=""):
        """A problem of one cell: its own file and row; the record it belongs to when that
        is another file's row."""
        record = None
        if several:
            record = (str(out.at[i, "source_file"]), int(out.at[i, "source_row"]))
            record = None if record == (frel, int(row)) else record
        return _problem(frel, row, keys[i], shown(src), value,
                        rule, message, redact=redact, kind=kind, record=record)

    if several:  # per-field provenance: the record's row in each file, and which file holds
        # each field, for validation to name the cell a problem is about
        from .mapping import file_entry_name
        names = [file_entry_name(o) for o in file_opts]
        for k, n in enumerate(names):
            out[f"_src_row_{k}"] = pd.to_numeric(raw.loc[rows.index, f"_row:{n}"]).astype(
                "Int64")
        out["_src_meta"] = json.dumps({
            "files": [o["file"] for o in file_opts],
            "fields": {f: file_of[src] for f, src in cols_map.items() if src in file_of}},
            sort_keys=True)

    for f in FIELDS:
        if f.kind == "id":
            continue
        src = cols_map.get(f.name)
        if src is None:
            out[f.name] = _empty(f, len(out), out.index)
            continue
        vals = text[f.name]
        frel = cell_file[f.name]
        frows = cell_rows[f.name]
        t = typed.get(src) or {}
        if (t.get("kind") == "date" and f.kind != "date") or t.get("kind") == "other" or \
                (t.get("kind") == "bool" and f.kind != "code"):
            # a date column mapped to a number or code field, a true/false column mapped to
            # a number or date field, or a column of values that are no single cell (lists,
            # durations, ...): one problem for the column instead of one per cell (which
            # would not say why)
            expected = {"number": "numbers", "date": "dates"}.get(f.kind, "codes")
            if t["kind"] == "date":
                fix = (f"map the column to a date field or correct 'columns: {f.name}:' in "
                       f"{mapping['_path']}")
            else:
                fix = (f"ask the centre to export it as {expected} (one value per cell), or "
                       f"correct 'columns: {f.name}:' in {mapping['_path']}")
            # where the reader found the first offending value (bytes that are not UTF-8),
            # the problem is that row's
            row, where = (1, "") if t["kind"] != "other" or t.get("first_row") is None else \
                (t["first_row"], f"; the first in row {t['first_row']}")
            problems.append(Problem(
                frel, row, None, shown(src), None, "column_type",
                f"column {shown(src)!r} holds {t['what']} (Parquet type {t['type']}{where}), "
                f"but is mapped to '{f.name}' ({f.label}), a {f.kind} field: expected "
                f"{expected}; {fix}"))
            out[f.name] = _empty(f, len(out), out.index)
            continue
        if f.kind == "date":
            # a typed date column was written as ISO dates by the reader: date_format
            # describes the text dates a centre types, and does not apply to it
            fmt = "iso" if t.get("kind") == "date" else option(src, "date_format", date_fmt)
            if t.get("timed"):
                problems.append(_time_of_day_note(t, frel, shown(src), f.name))
            parsed, bad = _per_value(vals, lambda u: _parse_dates(u, fmt))
            parsed = pd.to_datetime(parsed)
            out[f.name] = parsed
            excel = option(src, "format", "csv") == "xlsx" and fmt not in ("iso", "excel")
            said = {v: _bad_date(v, f.name, fmt, mapping["_path"])
                    for v in vals[bad].unique()}  # once per distinct failing value
            for i in vals.index[bad]:
                msg, kind = said[vals[i]]
                if excel and _parses(vals[i], "%Y-%m-%d"):
                    msg += ("; the cell is an Excel date cell: set date_format: excel "
                            f"{set_where(src, 'date_format')}")
                problems.append(cell(frel, frows[i], i, src, vals[i], "bad_date", msg,
                                     redact=kind != "marker", kind=kind))
        elif f.kind == "number":
            unit = units.get(f.name, f.unit)
            factor = UNIT_FACTORS.get(f.unit or "", {}).get(unit, 1.0 if unit == f.unit else None)
            if factor is None:
                allowed = ", ".join(UNIT_FACTORS.get(f.unit or "", {f.unit: 1}))
                raise MappingError(f"{mapping['_path']}: unit {unit!r} for '{f.name}' is not "
                                   f"supported; allowed: {allowed}")
            dec = option(src, "decimal", decimal)
            how_set = ("as set in the mapping" if not several else
                       f"the mark read for {frel}; if it differs, set decimal: "
                       f"{set_where(src, 'decimal')}")
            if t.get("kind") == "number":  # Arrow's text: a decimal point whatever `decimal`
                num, bad = _per_value(vals, _typed_numbers)
            else:
                num, bad = _per_value(vals, lambda u: _parse_numbers(u, dec))
            num = num.astype("float64")
            if f.integer:
                frac = num.notna() & (num % 1 != 0)
                for i in vals.index[frac]:
                    problems.append(cell(frel, frows[i], i, src, vals[i], "bad_number",
                                         f"'{f.name}' must be a whole number"))
            # a patient ID typed into a number column: never shown, never read as a number
            # (only where it is no plausible value: a small centre's ID 12 and ER 12 differ)
            outside = ~num.between(f.low, f.high) if f.low is not None else num.isna()
            cand = (bad | (outside & num.notna())).astype(bool)
            is_id = pd.Series(False, index=vals.index)
            if cand.any():  # looked up among the few implausible cells only
                is_id[cand] = vals[cand].isin(id_values()).to_numpy(dtype=bool)
            for i in vals.index[is_id]:
                problems.append(cell(
                    frel, frows[i], i, src, vals[i], "bad_number",
                    f"not a plausible number for '{f.name}': the value is one of this file's "
                    "patient IDs (an identifier typed into the wrong column?)", kind="id"))
            num = num.mask(is_id)
            bad = bad & ~is_id
            # round away float noise from unit conversion (0.7 cm * 10 = 7.000000000000001);
            # from 1e15 on a float has no decimals to round, and rounding a number near the
            # largest float (a typed 1e308) would overflow to infinity
            scaled = num * factor
            small = scaled.abs() < 1e15
            out[f.name] = scaled.where(~small, scaled.where(small).round(6))
            if factor != 1.0:  # converted: validation shows the value as written (kept
                # only for converted fields, to keep a registry-sized table small)
                out[f"_raw:{f.name}"] = vals.where(num.notna())
            for i in vals.index[bad]:
                if t.get("kind") == "number":  # NaN or infinity: Arrow's text of any other
                    # value of a typed column reads as a number
                    what = "NaN, not a number" if vals[i] == "nan" else "an infinity"
                    problems.append(cell(
                        frel, frows[i], i, src, vals[i], "bad_number",
                        f"'{vals[i]}' ({what}) in a column of Parquet type {t['type']} is no "
                        f"value for '{f.name}': if it means 'not recorded', add it under "
                        f"'missing:' in {mapping['_path']} (a null needs nothing: it is read as "
                        "not recorded)", kind="marker"))
                    continue
                if is_missing_marker(vals[i]):
                    problems.append(cell(
                        frel, frows[i], i, src, vals[i], "bad_number",
                        f"'{vals[i]}' in a number column looks like a missing-value marker "
                        "that the mapping does not declare: if it means 'not recorded', add it "
                        f"under 'missing:' in {mapping['_path']}", kind="marker"))
                    continue
                problems.append(cell(frel, frows[i], i, src, vals[i], "bad_number",
                                     f"not a number for '{f.name}': expected digits with "
                                     f"decimal mark {dec!r} ({how_set})"))
        else:  # code
            vmap = {str(k).strip(): v for k, v in (value_maps.get(f.name) or {}).items()}
            allowed = vocab.get(f.name, [])

            def code(u: pd.Series, vmap=vmap, allowed=allowed) -> tuple[pd.Series, pd.Series]:
                m = u.map(lambda v: vmap.get(v, v) if isinstance(v, str) else v)
                # a value mapped to null (YAML ~) means "not recorded"
                m = m.where(~u.isin([k for k, v in vmap.items() if v is None]))
                m = m.map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v)
                          else str(v)).astype("string")
                return m, (m.notna() & ~m.isin(allowed)).astype(bool)

            mapped, bad = _per_value(vals, code)
            # a patient ID typed into a coded column is never shown (vectorised: isin)
            is_id = vals[bad].isin(id_values()) if bad.any() else vals[bad].notna()
            # the closest level, once per distinct unmapped code
            near = {v: _near_level(str(v), allowed, vmap) for v in vals[bad].unique()}
            for i in vals.index[bad]:
                if is_missing_marker(vals[i]):
                    problems.append(cell(
                        frel, frows[i], i, src, vals[i], "unknown_code",
                        f"'{vals[i]}' looks like a missing-value marker that the mapping does "
                        f"not declare: if it means 'not recorded', add it under 'missing:' in "
                        f"{mapping['_path']}; else map it under 'values: {f.name}:'",
                        kind="marker"))
                    continue
                problems.append(cell(
                    frel, frows[i], i, src, vals[i], "unknown_code",
                    f"value has no mapping for '{f.name}'"
                    f"{_code_hint(str(vals[i]), bool(is_id[i])) or near[vals[i]]}"
                    f"{lookalike_note(str(vals[i]), [*allowed, *vmap])}; expected one of "
                    f"{', '.join(allowed)} or a mapping for it under 'values: {f.name}:' in "
                    f"{mapping['_path']}", kind="id" if is_id[i] else "code"))
            out[f.name] = pd.Series(mapped.where(~bad), dtype="string")
    problems += _durations_in_days(out, cols_map, units, mapping, where)
    return out, problems


def _sentinel_is_valid(field_name: str, value: str, mapping: dict,
                       vocabularies: dict | None) -> str | None:
    """Why a sentinel is also a valid value of its field (a number inside the plausible range,
    or a code of the vocabulary), or None."""
    f = next((x for x in FIELDS if x.name == field_name), None)
    if f is None:
        return None
    if f.kind == "number":
        try:
            x = float(value.replace(mapping.get("decimal", "."), "."))
        except ValueError:
            return None
        if f.low is not None and f.low <= x <= f.high:
            pct = "%" if f.unit == "%" else ""
            return f"{f.label}, plausible range {f.low:g}-{f.high:g}{pct}"
        return None
    if f.kind == "code":
        vmap = {str(k).strip(): v for k, v in
                ((mapping.get("values") or {}).get(field_name) or {}).items()}
        allowed = (vocabularies or {}).get(field_name, list(f.values))
        if value in allowed or (value in vmap and vmap[value] is not None):
            return f"a code that the vocabulary or the mapping reads as a {f.label} value"
    return None


def _durations_in_days(out: pd.DataFrame, cols_map: dict, units: dict, mapping: dict,
                       where) -> list[Problem]:
    """A duration declared in months whose values look like days: the median above 200
    months, or about 30 times the median time from NST start to last contact (vectorised)."""
    found = []
    ref = None
    for f in FIELDS:
        if f.unit != "months" or f.name not in cols_map or f.name not in out:
            continue
        if units.get(f.name, f.unit) != "months":
            continue
        if ref is None and {"nst_start_date", "last_contact_date"} <= set(cols_map):
            ref = (out["last_contact_date"] - out["nst_start_date"]).dt.days / 30.4375
        x = out[f.name]
        if x.notna().sum() < 3:
            continue
        med = float(x.median())
        ratio = None
        if ref is not None:
            both = x.notna() & ref.notna() & (ref > 0)
            if both.sum() >= 3:
                ratio = float(x[both].median()) / float(ref[both].median())
        if not (med > 200 or (ratio is not None and 20 <= ratio <= 45)):
            continue
        why = f"the median is {med:.0f}" + (", more than 200 months (16.7 years)"
                                            if med > 200 else "")
        if ratio is not None:
            why += (f", {ratio:.0f} times the median time from NST start to last contact in "
                    "months")
        src = cols_map[f.name]
        found.append(Problem(where(src)[0], None, None, src, None, "unit_suspect",
                             f"'{f.name}' is declared in months, but its values look like "
                             f"days: {why}; if they are days, set 'units: {{{f.name}: days}}' "
                             f"in {mapping['_path']}"))
    return found


def _centre_codes(raw: pd.DataFrame, column: str, mapping: dict, missing: set[str],
                  src: tuple[str, str]) -> tuple[pd.Series, list[Problem]]:
    """Each record's centre code from ``centre_column`` (mapped by ``values: centre:``).

    A blank cell or a code that is not letters, digits, '_' or '-' is a problem
    ``centre_invalid`` naming the file and row (the record keeps the mapping's own code so
    that it can be set aside with its reason)."""
    from .mapping import CENTRE_CODE

    rel, row_col = src
    shown = column.split(":", 1)[-1]
    vmap = {str(k).strip(): v for k, v in ((mapping.get("values") or {}).get("centre")
                                           or {}).items()}
    text = raw[column].astype(str).str.strip()
    text = text.where(~text.isin(missing))
    codes = text.map(lambda v: vmap.get(v, v) if isinstance(v, str) else v)
    valid = codes.astype("string").str.fullmatch(CENTRE_CODE.pattern).fillna(False)
    valid = valid.astype(bool)
    problems = []
    for i in codes.index[~valid]:
        value = text[i]
        if not isinstance(value, str):
            msg = ("the centre code is blank: every record needs its centre (centre_column: "
                   f"{shown!r} in {mapping['_path']})")
        else:  # the value itself is in the problem's value column, shown by the rule
            msg = ("the value is not a centre code: expected letters, digits, '_' or '-', or "
                   f"a mapping for it under 'values: centre:' in {mapping['_path']}")
        problems.append(Problem(rel, int(raw.at[i, row_col]), None, shown,
                                value if isinstance(value, str) else None, "centre_invalid",
                                msg))
    out = codes.where(valid, mapping["centre"]).astype("string")
    return out, problems


def _empty(f: Field, n: int, index) -> pd.Series:
    if f.kind == "date":
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if f.kind == "number":
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.Series(pd.NA, index=index, dtype="string")


# ``centre_mapping``: the ``centre:`` code of the mapping that read the record (the same as
# ``centre`` unless the mapping has a ``centre_column:``); validation finds the record's column
# names through it
CANONICAL_COLUMNS = (*PROVENANCE, "centre_mapping", "patient_key",
                     *(f.name for f in FIELDS if f.kind != "id"))


# join key of a row without an ID: never equal to another row's (IDs are stripped, so none
# starts with a space)
BLANK_ID = " blank:"
_HEADER_ADVICE = re.compile(r"set 'header_row: (\d+)' in (\S+)")


def join_files(mapping: dict, base_dir: str | Path = ".") -> tuple[pd.DataFrame | None,
                                                                   dict, list[Problem]]:
    """Read every file of a centre (``files:``) and join them on the patient ID.

    Returns (joined raw table, mapping with ``columns`` rewritten to the joined column names
    and ``_sources``, problems). Each record keeps the file and row it came from (the first
    file that has the patient); a patient present in one file and absent from another is a
    problem ``unmatched_record`` naming both; a second row with the same ID inside a file is
    ``duplicate_id`` (the first is joined).

    IDs are compared after the centre's ``id_normalise:`` rule (:func:`normalise_ids`). A row
    whose ID is blank (or a ``missing:`` marker) is never joined to another row: it becomes a
    record of its own, which :func:`harmonize` reports as ``blank_id``. Each entry's reading
    options (``decimal``, ``date_format``, ``header_row``, ``encoding``, ``sheet``, ...) are
    its own, else the centre's: the returned mapping carries them (``_file_opts``) and the
    entry of each joined column (``_file_of``), so that cells are parsed and every problem is
    named by the file, row and column they came from."""
    from .mapping import file_entry_name

    specs = mapping["files"]
    id_col = mapping["columns"].get("patient_id")
    problems: list[Problem] = []
    tables = []
    opts = []  # each entry's reading options: its own, else the centre's
    for spec in specs:
        sub = {**{k: v for k, v in mapping.items() if k not in ("files",)}, **spec}
        raw, probs = read_raw(sub, base_dir)
        for p in probs:  # advice about one file's options applies to its entry only
            p.message = _HEADER_ADVICE.sub(
                lambda m, e=spec: (f"set 'header_row: {m.group(1)}' under the files: entry "
                                   f"{file_entry_name(e)!r} ({e['file']}) in {m.group(2)}, "
                                   "for that file only"), p.message)
        problems.extend(probs)
        if raw is None:
            return None, mapping, problems
        tables.append((spec, raw))
        opts.append(sub)
    if any(DEFAULT_ACTIONS.get(p.rule, "fail") != "warn" for p in problems):
        return None, mapping, problems
    # which file holds each mapped column (qualified 'name:column' or unique by header)
    names = [file_entry_name(spec) for spec, _ in tables]
    columns, sources, errors, file_of, unplaced = {}, {}, [], {}, set()
    to_place = dict(mapping["columns"])
    if mapping.get("centre_column"):
        to_place["centre_column"] = mapping["centre_column"]
    for field_name, src in to_place.items():
        if field_name == "patient_id":
            continue
        qualified = ":" in src and src.split(":", 1)[0] in names
        if qualified:
            k = names.index(src.split(":", 1)[0])
            col = src.split(":", 1)[1]
            holders = [k] if col in tables[k][1].columns else []
        else:
            col = src
            holders = [k for k, (_, raw) in enumerate(tables) if col in raw.columns]
        if len(holders) > 1:
            errors.append(f"column {col!r} (field '{field_name}') is in "
                          f"{' and '.join(names[k] for k in holders)}: write it as "
                          f"'{names[holders[0]]}:{col}'")
            continue
        if not qualified:
            k = holders[0] if holders else 0
        if not holders and not qualified:
            unplaced.add(f"{names[k]}:{col}")
        columns[field_name] = f"{names[k]}:{col}"
        sources[f"{names[k]}:{col}"] = (tables[k][0]["file"], f"_row:{names[k]}")
        file_of[f"{names[k]}:{col}"] = k
    if errors:
        raise MappingError(f"{mapping['_path']}: " + "; ".join(errors))
    joined = None
    ambiguous: dict[str, list[str]] = {}
    rule = id_rule(mapping)
    missing = {str(m).strip() for m in mapping.get("missing", [""])} | {""}
    typed = {}  # typed Parquet columns (read.typed_column) under their joined names
    for k, ((spec, raw), name) in enumerate(zip(tables, names)):
        rel = spec["file"]
        typed.update({f"{name}:{c}": t for c, t in raw.attrs.get("typed", {}).items()})
        if id_col not in raw.columns:
            problems.append(Problem(rel, 1, None, id_col, None, "column_missing",
                                    f"the patient ID column {id_col!r} is not in this file; "
                                    "every file of a centre needs it to join the tables"))
            continue
        t = raw.rename(columns={c: f"{name}:{c}" for c in raw.columns if c != "_row"})
        t = t.rename(columns={"_row": f"_row:{name}"})
        ids = normalise_ids(raw[id_col].astype(str), rule)
        # a blank ID (or a missing marker) is never joined: each such row gets a key of its
        # own, so it becomes a record by itself (harmonize reports it as blank_id)
        blank = ids.str.strip().isin(missing).fillna(True).astype(bool)
        t["_id"] = ids.where(~blank, BLANK_ID + str(k) + ":" + raw["_row"].astype(str))
        t[f"_file:{name}"] = rel
        if joined is not None:
            # a second row for one patient in a later table: which one belongs to the record
            # cannot be told; the record is quarantined (below) and the first row joined. In the
            # first table every row is a record (a repeated ID is validation's duplicate_id).
            dup = t["_id"].duplicated(keep=False)
            for pid, rows_ in t.loc[dup].groupby("_id")[f"_row:{name}"]:
                ambiguous.setdefault(pid, []).append(
                    f"{rel} has {len(rows_)} rows for this patient (rows "
                    f"{', '.join(str(int(r)) for r in sorted(rows_))})")
            t = t.loc[~t["_id"].duplicated()]
        joined = t if joined is None else joined.merge(t, on="_id", how="outer", sort=False)
    if joined is None or any(p.rule == "column_missing" for p in problems):
        return None, mapping, problems
    # provenance of each record: the first file that has it
    joined["_file"] = pd.NA
    joined["_row"] = np.nan
    for name in names:
        take = joined["_file"].isna() & joined[f"_row:{name}"].notna()
        joined.loc[take, "_file"] = joined.loc[take, f"_file:{name}"]
        joined.loc[take, "_row"] = joined.loc[take, f"_row:{name}"]
    for pid, what in ambiguous.items():
        for f_, r_ in zip(joined.loc[joined["_id"] == pid, "_file"],
                          joined.loc[joined["_id"] == pid, "_row"]):
            problems.append(Problem(str(f_), int(r_), None, id_col, None, "ambiguous_join",
                                    "; ".join(what) + ": which one belongs to this record "
                                    "cannot be told; keep one row per patient in each table",
                                    redact=True))
    is_blank = joined["_id"].str.startswith(BLANK_ID).fillna(False).astype(bool)
    present = {n: joined[f"_row:{n}"].notna() for n in names}
    for n in names:
        absent = ~present[n] & ~is_blank  # a blank ID is its own problem (blank_id)
        for f_, r_ in zip(joined.loc[absent, "_file"], joined.loc[absent, "_row"]):
            problems.append(Problem(str(f_), int(r_), None, id_col, None, "unmatched_record",
                                    f"this patient ID has no row in {tables[names.index(n)][0]['file']}"
                                    f" (table '{n}'); every table of the centre should have "
                                    "each patient"))
    joined = joined.sort_values(["_file", "_row"], kind="mergesort").reset_index(drop=True)
    joined["_row"] = joined["_row"].astype(int)
    first = names[0]
    id_src = f"{first}:{id_col}"
    joined[id_src] = joined["_id"].mask(
        joined["_id"].str.startswith(BLANK_ID).fillna(False).astype(bool), "")
    columns["patient_id"] = id_src
    joined = joined.drop(columns=["_id", *(f"{n}:{id_col}" for n in names[1:])])
    for c in joined.columns:  # a large file's categorical columns take '' for "no row"
        if not c.startswith("_") and isinstance(joined[c].dtype, pd.CategoricalDtype) and \
                "" not in joined[c].cat.categories:
            joined[c] = joined[c].cat.add_categories("")
    joined = joined.fillna({c: "" for c in joined.columns if not c.startswith("_")})
    joined.attrs["typed"] = typed  # set here: pandas keeps attrs through few operations
    centre_col = columns.pop("centre_column", None)
    new = {**mapping, "columns": columns, "_sources": sources, "file": specs[0]["file"],
           "_file_of": file_of, "_file_opts": opts, "_unplaced": unplaced}
    if centre_col is not None:
        new["centre_column"] = centre_col
    return joined, new, problems


def ingest(mapping_paths: list[str | Path], *, salt: str, base_dir: str | Path = ".",
           vocabularies: dict[str, list[str]] | None = None,
           required: list[dict] | None = None,
           data_dirs: list[str] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and harmonize every centre; return the stacked table and all problems.
    ``data_dirs``: folders the centre files must lie in (``data/safety.py``; None: any).

    ``required``: the needs of the enabled analyses (``study.requirements.required_fields``);
    a mapping that neither maps nor declares ``not_recorded`` a needed fact is a configuration
    error, reported for every mapping at once."""
    frames, problems = [], []
    mappings, errors = load_mappings(mapping_paths, required, data_dirs)
    if errors:
        raise MappingError("\n".join(errors))
    for mapping in mappings:
        if mapping.get("files"):
            raw, mapping, probs = join_files(mapping, base_dir)
        else:
            raw, probs = read_raw(mapping, base_dir)
        problems.extend(probs)
        if raw is None:
            continue
        df, probs = harmonize(raw, mapping, salt=salt, vocabularies=vocabularies)
        problems.extend(probs)
        if len(df):
            frames.append(df)
    cols = list(CANONICAL_COLUMNS)
    if frames:
        out = pd.concat(frames, ignore_index=True)
    else:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    for c in ("centre", "centre_mapping", "source_file", "patient_key"):
        out[c] = out[c].astype("string")
    # per-field provenance of centres with several files, and numbers as written where they
    # were converted (validation names the cell and shows the value as the centre wrote it)
    extra = sorted(c for c in out.columns if c.startswith(("_src_row_", "_raw:")))
    for c in extra:
        out[c] = out[c].astype("Int64" if c.startswith("_src_row_") else "string")
    if "_src_meta" in out.columns:
        extra.append("_src_meta")
        out["_src_meta"] = out["_src_meta"].astype("string").astype("category")
    return out.loc[:, cols + extra], problems
