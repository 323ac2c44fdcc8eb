"""Centre mappings (config/centres/*.yaml): load, check against the schema and the canonical
fields. A wrong mapping is a configuration error (exit status 2), not a data problem."""

from __future__ import annotations

import functools
import re
from pathlib import Path


from .fields import BY_NAME, FIELDS, UNIT_FACTORS

CENTRE_CODE = re.compile(r"[A-Za-z0-9_-]+")


def load_mapping(path: str | Path) -> dict:
    """Read a centre mapping; its structure is checked against ``centre.schema.yaml``. Read
    and checked once per file version in a process (a Snakemake parse checks the mappings and
    asks each rule's params for them); each caller gets a copy of its own."""
    import copy
    import os

    try:
        st = os.stat(path)
    except OSError:
        return _load_mapping(Path(path))  # says the file cannot be read
    return copy.deepcopy(_load_mapping_version(str(path), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=128)
def _load_mapping_version(path: str, mtime_ns: int, size: int) -> dict:
    return _load_mapping(Path(path))


def _load_mapping(path: Path) -> dict:
    from .config import _schema_at, did_you_mean, read_yaml, schema_path, schema_problems

    mapping = read_yaml(path, MappingError)
    if isinstance(mapping, dict):
        _check_before_schema(mapping, path)
    msgs = schema_problems(mapping or {}, _schema_at(str(schema_path("centre.schema.yaml"))))
    if msgs:
        raise MappingError(f"{path}: the centre mapping is not valid:\n"
                           + "\n".join(f"  {m}" for m in msgs))
    unknown = sorted(set(mapping["columns"]) - set(BY_NAME))
    # 'values: centre:' maps the codes of a 'centre_column:' (not a canonical field)
    unknown_v = sorted(((set(mapping.get("values") or {}) - {"centre"})
                        | set(mapping.get("sentinels") or {})
                        | set(mapping.get("not_recorded") or [])) - set(BY_NAME))
    if unknown or unknown_v:
        named = ", ".join(f"'{u}'{did_you_mean(u, BY_NAME)}" for u in unknown + unknown_v)
        raise MappingError(f"{path}: unknown canonical field(s) {named}; "
                           f"allowed: {', '.join(BY_NAME)}")
    unit_problems = []
    for field_name, unit in (mapping.get("units") or {}).items():
        f = BY_NAME.get(field_name)
        allowed = UNIT_FACTORS.get(f.unit or "", {}) if f is not None else {}
        if not allowed:
            numeric = [x.name for x in FIELDS if x.unit in UNIT_FACTORS]
            unit_problems.append(f"units: '{field_name}' is not a field with convertible units "
                                 f"(allowed: {', '.join(numeric)})")
        elif unit not in allowed:
            unit_problems.append(f"units: {unit!r} for '{field_name}' is not supported "
                                 f"(allowed: {', '.join(allowed)})")
    if unit_problems:
        raise MappingError(f"{path}: " + "; ".join(unit_problems))
    _check_after_schema(mapping, path)
    mapping["_path"] = str(path)
    return mapping


class MappingError(Exception):
    """A centre mapping in config/ is itself wrong (a configuration error, not a data error)."""


# --- mapping mistakes found once, as configuration errors --------------------------------------

def _check_before_schema(mapping: dict, path: Path) -> None:
    """YAML booleans where a code was meant (unquoted no:/yes:/on:/off:), before the schema
    check turns them into a cryptic type error."""
    bools = []
    for field_name, vmap in (mapping.get("values") or {}).items():
        if not isinstance(vmap, dict):
            continue
        for k, v in vmap.items():
            if isinstance(k, bool):
                bools.append(f"values: {field_name}: the key {k} is a YAML boolean (unquoted "
                             f"{'yes/on/true' if k else 'no/off/false'}): quote it, e.g. "
                             f"{'yes' if k else 'no'!r}: ...")
            if isinstance(v, bool):
                bools.append(f"values: {field_name}: {k!r} maps to the YAML boolean {v} (unquoted "
                             f"{'yes/on/true' if v else 'no/off/false'}): quote the target, "
                             f"e.g. {'yes' if v else 'no'!r}")
    for key in ("missing",):
        for v in mapping.get(key) or []:
            if isinstance(v, bool):
                bools.append(f"missing: {v} is a YAML boolean: quote it, e.g. "
                             f"{'yes' if v else 'no'!r}")
    if bools:
        raise MappingError(f"{path}: " + "; ".join(bools))


def _strftime_suggestion(fmt: str) -> str:
    import re

    out = re.sub(r"yyyy|YYYY|mmm|MMM|yy|YY|dd|DD|mm|MM|d|D|m|M",
                 lambda mt: {"yyyy": "%Y", "YYYY": "%Y", "yy": "%y", "YY": "%y", "dd": "%d",
                             "DD": "%d", "d": "%d", "D": "%d", "mm": "%m", "MM": "%m", "m": "%m",
                             "M": "%m", "mmm": "%b", "MMM": "%b"}[mt.group(0)], fmt)
    return out


def _check_after_schema(mapping: dict, path: Path) -> None:
    """Checks that need the canonical fields: value targets, date format, encoding, required
    fields, file kind. Every mistake is listed in one configuration error."""
    import codecs
    import datetime as dt

    errors = []
    for field_name, vmap in (mapping.get("values") or {}).items():
        if field_name == "centre":
            if not mapping.get("centre_column"):
                errors.append("values: centre: maps centre codes, but there is no "
                              "'centre_column:' (the centre of every record is 'centre: "
                              f"{mapping.get('centre')}')")
            for k, v in (vmap or {}).items():
                if v is None or not CENTRE_CODE.fullmatch(str(v)):
                    errors.append(f"values: centre: {k!r} -> {v!r}: a centre code must be "
                                  "letters, digits, '_' or '-'")
            continue
        f = BY_NAME[field_name]
        if not f.values or not isinstance(vmap, dict):
            continue  # regimen: vocabulary from the study config
        for k, v in vmap.items():
            if v is not None and str(v) not in f.values:
                errors.append(f"values: {field_name}: {k!r} -> {v!r}: {v!r} is not a canonical "
                              f"'{field_name}' value; allowed: {', '.join(f.values)} (or null "
                              "for 'not recorded')")
    # the centre's own options, and those of each entry of 'files:' (which fall back to them)
    entries = [("", mapping)] + [(f"files: entry {file_entry_name(e)!r}: ", e)
                                 for e in (mapping.get("files") or [])]
    for where, m in entries:
        fmt = m.get("date_format", "iso" if not where else None)
        if fmt is not None and fmt not in ("iso", "excel", "excel_serial"):
            ok = "%" in fmt
            if ok:
                try:
                    d = dt.date(2019, 12, 31)
                    ok = dt.datetime.strptime(d.strftime(fmt), fmt).date() == d
                except ValueError:
                    ok = False
            if not ok:
                errors.append(f"{where}date_format: {fmt!r} is not a strftime pattern with day, "
                              f"month and year; write it as {_strftime_suggestion(fmt)!r} (or "
                              "excel_serial, iso)")
        enc = m.get("encoding")
        if enc is not None:
            try:
                codecs.lookup(enc)
            except LookupError:
                errors.append(f"{where}encoding: unknown encoding {enc!r}; for example utf-8, "
                              "utf-8-sig, gbk, cp1252, utf-16")
    errors += _duplicate_files(mapping)
    mapped = set(mapping.get("columns") or {})
    not_recorded = mapping.get("not_recorded") or []
    if isinstance(not_recorded, dict):
        not_recorded = list(not_recorded)
    for f in FIELDS:
        if f.required and f.name not in mapped and f.name not in not_recorded:
            errors.append(f"columns: required field '{f.name}' ({f.label}) is not mapped to a "
                          "column")
    h = mapping.get("header_row")
    if h is not None and (not isinstance(h, int) or isinstance(h, bool) or h < 1):
        errors.append(f"header_row: {h!r} must be a row number (1 = first row)")
    if errors:
        raise MappingError(f"{path}: the centre mapping has {len(errors)} mistake(s):\n  "
                           + "\n  ".join(errors))


def file_entry_name(entry: dict) -> str:
    """The name of an entry of ``files:`` (its ``name:``, else the file name without its
    extension), as columns are qualified with it (``name:column``)."""
    return str(entry.get("name") or Path(str(entry.get("file", ""))).stem)


def _duplicate_files(mapping: dict) -> list[str]:
    """The same file (and sheet) listed twice under ``files:``, or two entries with one name:
    one message each (every column would otherwise be reported as in both files)."""
    errors = []
    seen: dict[tuple[str, str | None], int] = {}
    names: dict[str, int] = {}
    for k, e in enumerate(mapping.get("files") or [], start=1):
        f = str(e.get("file", ""))
        key = (str(Path(f).resolve()) if f else f, e.get("sheet", mapping.get("sheet")))
        if key in seen:
            sheet = f" (sheet {key[1]!r})" if key[1] else ""
            errors.append(f"files: entries {seen[key]} and {k} both read {f}{sheet}; list each "
                          "file once")
            continue
        seen[key] = k
        n = file_entry_name(e)
        if n in names:
            errors.append(f"files: entries {names[n]} and {k} have the same name {n!r}; give "
                          "each a distinct 'name:' (columns are qualified as 'name:column')")
        names.setdefault(n, k)
    return errors


def duplicate_centres(paths: list, mappings: list[dict]) -> list[str]:
    """The same mapping listed twice under ``centres:``, or two mappings with the same
    ``centre:`` code: configuration errors (records would be counted twice, or their problems
    reported under the wrong file). Returns one message per mistake."""
    errors = []
    seen: set[Path] = set()
    for p in paths:
        real = Path(p).resolve()
        if real in seen:
            errors.append(f"centres: {p} is listed twice; list each centre mapping once")
        seen.add(real)
    codes: dict[str, str] = {}
    for m in mappings:
        code = m["centre"]
        if code in codes and Path(codes[code]).resolve() != Path(m["_path"]).resolve():
            errors.append(f"centres: {m['_path']} and {codes[code]} both say 'centre: {code}'; "
                          "each centre needs its own code")
        codes.setdefault(code, m["_path"])
    return errors


def load_mappings(paths: list, required: list[dict] | None = None,
                  data_dirs: list[str] | None = None) -> tuple[list[dict], list[str]]:
    """Every centre mapping of ``centres:`` with every mistake in them at once: a mapping that
    cannot be read or is invalid, a field both mapped and declared not recorded, a need of an
    enabled analysis (``required``) a mapping neither maps nor declares, a mapping listed twice
    or two mappings with one centre code. Returns (the mappings that loaded, the mistakes)."""
    from .needs import split_needs, unmet_message

    mappings, errors = [], []
    for mp in paths:
        try:
            mapping = load_mapping(mp)
        except MappingError as e:
            errors.append(str(e))
            continue
        mapped = set(mapping["columns"])
        not_recorded = set(mapping.get("not_recorded") or [])
        both = sorted(mapped & not_recorded)
        if both:
            errors.append(f"{mapping['_path']}: {', '.join(both)} both mapped under 'columns:' "
                          "and listed under 'not_recorded:'; keep one")
        unmet, _ = split_needs(required or [], mapped, not_recorded)
        if unmet:
            errors.append(unmet_message(mapping["_path"], unmet))
        mapping["_data_dirs"] = data_dirs  # read by read_raw, also for each of several files
        mappings.append(mapping)
    return mappings, errors + duplicate_centres(paths, mappings)
