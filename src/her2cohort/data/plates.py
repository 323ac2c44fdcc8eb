"""Reading cell-viability plates as a lab has them: every well to one canonical table.

Two layouts, each named by an entry of the config's ``invitro: inputs:`` list:

``layout: grid``
    A plate-reader export (Gen5/Synergy, Tecan Magellan/Spark, EnVision and alike): header
    lines the reader writes, then one 8 x 12 (96-well) or 16 x 24 (384-well) block per plate.
    A block is found by its labels: a row holding exactly ``1 .. 12`` (or ``1 .. 24``), then
    rows labelled ``A .. H`` (or ``A .. P``). Cells may be separated by tabs, commas or
    semicolons. The plate's identifier is taken from the nearest header line above the block
    that matches ``plate_id`` (a regular expression with a group ``id``; default: a line
    starting "Plate", "Plate number", "Plate name", "Plate ID" or "Barcode"); without one,
    blocks are numbered 1, 2, ... in file order. The plate map (``map:``, CSV/TSV/Excel) says
    what every well holds: ``plate, well, content, line, drug, conc, drug2, conc2, unit``
    (``content``: sample, vehicle, blank, kill or empty; ``drug2``/``conc2`` for a drug pair);
    other column names are given under ``columns:``.
``layout: long``
    One row per well: ``plate, well, line, drug, conc, unit, replicate, signal`` (and
    optionally ``content``, ``drug2``, ``conc2``), the file's own names under ``columns:``.
    Without a ``content`` column a control is recognised by its drug name (``controls:``).

Every concentration is converted to one molar unit (``unit``, default nM); ``ug/mL`` and other
mass units need the drug's molar mass (``molar_mass_g_per_mol``). Problems are collected across
every file and reported together through :mod:`her2cohort.data.problems`, naming the file, its
line, the plate, the well and the value. Every well ends in the table with a ``status``:
``used``, ``excluded`` (with the ``rule`` and ``reason``) or ``flagged`` (used, with a note).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .problems import Problem


def LabProblem(*args, **kwargs) -> Problem:  # noqa: N802 (a Problem of the lab's files)
    """A problem of a plate file: its values are the lab's (concentrations, readings, well
    names), no patient's, so results/ and logs/ show them as they are (kind "lab")."""
    return Problem(*args, kind="lab", **kwargs)

__all__ = [
    "CANONICAL",
    "CONTENTS",
    "PLATE_ACTIONS",
    "convert_conc",
    "read_grid",
    "read_long",
    "read_map",
    "read_plates",
    "well_id",
]

#: What a well can hold.
CONTENTS = ("sample", "vehicle", "blank", "kill", "empty")

#: Canonical column names of a plate map / long table.
CANONICAL = ("plate", "well", "content", "line", "drug", "conc", "drug2", "conc2", "unit",
             "replicate", "signal")

#: Default actions of the plate rules (config ``invitro: qc: actions:`` overrides them):
#: ``fail`` stops the run after every problem is listed; ``quarantine`` excludes the well with
#: its reason; ``warn`` keeps the well and flags it.
PLATE_ACTIONS: dict[str, str] = {
    "grid_malformed": "fail",
    "no_plate_block": "fail",
    "plate_not_in_map": "fail",
    "map_plate_not_read": "fail",
    "map_well_invalid": "fail",
    "map_well_outside_plate": "fail",
    "well_duplicated": "fail",
    "content_unknown": "fail",
    "conc_not_number": "fail",
    "conc_missing": "fail",
    "unit_unknown": "fail",
    "molar_mass_missing": "fail",
    "line_unknown": "fail",
    "signal_not_number": "fail",
    "signal_saturated": "quarantine",
    "signal_missing": "quarantine",
    "well_not_in_map": "warn",
    "controls_missing": "fail",
}

_MOLAR = {"pm": 1e-3, "nm": 1.0, "um": 1e3, "mm": 1e6, "m": 1e9}  # to nM
_MASS = {"pg/ml": 1e-6, "ng/ml": 1e-3, "ug/ml": 1.0, "mg/ml": 1e3, "mg/l": 1.0,
         "g/l": 1e3, "ug/l": 1e-3, "ng/l": 1e-6}  # to ug/mL
_SATURATED = re.compile(r"^\s*(ovrflw|overflow|over|sat|saturated|>\s*[-+0-9.eE]+|\*+)\s*$",
                        re.IGNORECASE)
_PLATE_ID = (r"^\s*(?:plate(?:\s*(?:number|name|id|no\.?))?|barcode)\s*[:=]?\s*[\t,;]*\s*"
             r"(?P<id>[^\t,;]+?)\s*[\t,;]*\s*$")
_ROWS = "ABCDEFGHIJKLMNOP"
FORMATS = {96: (8, 12), 384: (16, 24)}


def _unit_key(unit: str) -> str:
    u = str(unit).strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "")
    return {"um": "um", "umol/l": "um", "nmol/l": "nm", "mmol/l": "mm", "pmol/l": "pm",
            "mol/l": "m", "ug/ml": "ug/ml", "mcg/ml": "ug/ml"}.get(u, u)


def convert_conc(values: pd.Series, units: pd.Series, drugs: pd.Series, *, to: str = "nM",
                 molar_mass: dict[str, float] | None = None) -> tuple[pd.Series, pd.Series]:
    """Concentrations in ``to`` (a molar unit) from their own units; mass units through the
    drug's molar mass (g/mol). Returns (converted values, reason) with reason "" where the
    conversion was made, else "unit" (unit not known) or "molar_mass" (no molar mass)."""
    molar_mass = {str(k): float(v) for k, v in (molar_mass or {}).items()}
    keys = units.map(_unit_key)
    target = _MOLAR[_unit_key(to)]
    factor = keys.map(_MOLAR).astype(float) / target
    mass = keys.map(_MASS).astype(float)
    mw = drugs.astype(str).map(molar_mass).astype(float)
    # ug/mL = mg/L; / (g/mol) = mmol/m3 = umol/L ... : 1 ug/mL = 1e6 / MW nM
    from_mass = values * mass * 1e6 / mw / target
    out = factor * values
    out = out.where(factor.notna(), from_mass)
    reason = pd.Series("", index=values.index, dtype=object)
    reason[factor.isna() & mass.isna()] = "unit"
    reason[factor.isna() & mass.notna() & mw.isna()] = "molar_mass"
    return out, reason


def well_id(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Well names as ``A01``: (id, row letter, column number); NaN where the text is no well
    name (``A1``, ``a01``, ``A-1`` are read; anything else is not)."""
    m = text.astype(str).str.strip().str.upper().str.extract(r"^([A-P])[\s_-]?0*(\d{1,2})$")
    col = pd.to_numeric(m[1], errors="coerce")
    ok = m[0].notna() & col.between(1, 24)
    wid = (m[0] + col.astype("Int64").astype(str).str.zfill(2)).where(ok)
    return wid, m[0].where(ok), col.where(ok)


def _format_of(rows: pd.Series, cols: pd.Series, given: int | None) -> int:
    if given:
        return int(given)
    big = (rows.fillna("A").map(_ROWS.index) >= 8) | (cols.fillna(1) > 12)
    return 384 if big.any() else 96


# ------------------------------------------------------------------------------ grid files


def _split(line: str) -> list[str]:
    if "\t" in line:
        return line.split("\t")
    if line.count(";") > line.count(","):
        return line.split(";")
    return line.split(",")


def _header_row(cells: list[str]) -> tuple[int, int] | None:
    """(index of the cell holding "1", number of columns) if ``cells`` is a 1..12 / 1..24
    label row, else None."""
    vals = [c.strip() for c in cells]
    while vals and vals[-1] == "":
        vals.pop()
    for start, v in enumerate(vals):
        if v == "1":
            rest = vals[start:]
            for ncol in (24, 12):
                if len(rest) >= ncol and rest[:ncol] == [str(i) for i in range(1, ncol + 1)] \
                        and all(x == "" for x in rest[ncol:]):
                    return start, ncol
            return None
        if v != "" and start > 1:
            return None
    return None


def read_grid(path: str | Path, *, plate_id: str | None = None,
              label: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Every plate block of a reader export: one row per well with ``file, line_no, plate,
    well, row, col, signal_raw, format`` (the text as written). ``label``: how the file is
    named in problems (default its path)."""
    label = label or str(path)
    problems: list[Problem] = []
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        return pd.DataFrame(), [LabProblem(label, None, None, None, None, "file_missing",
                                        f"the plate-reader file cannot be read ({e.strerror})")]
    for enc in ("utf-8-sig", "utf-16", "latin-1"):
        try:
            text = raw.decode(enc)
            if enc == "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                continue
            break
        except UnicodeDecodeError:
            continue
    lines = text.splitlines()
    pid_re = re.compile(plate_id or _PLATE_ID, re.IGNORECASE)
    recs: list[dict] = []
    last_id: str | None = None
    n_block = 0
    i = 0
    while i < len(lines):
        cells = _split(lines[i])
        m = pid_re.match(lines[i])
        if m and _header_row(cells) is None:
            last_id = m.group("id").strip()
        hdr = _header_row(cells)
        if hdr is None:
            i += 1
            continue
        start, ncol = hdr
        nrow = 16 if ncol == 24 else 8
        n_block += 1
        plate = last_id if last_id else str(n_block)
        last_id = None
        for r in range(nrow):
            j = i + 1 + r
            row_cells = _split(lines[j]) if j < len(lines) else []
            lab = row_cells[start - 1].strip().upper() if start >= 1 and len(row_cells) >= start \
                else ""
            if lab != _ROWS[r]:
                problems.append(LabProblem(
                    label, j + 1, None, None, lab or None, "grid_malformed",
                    f"plate {plate}: expected the row labelled {_ROWS[r]} of a "
                    f"{nrow} x {ncol} block here (block header on line {i + 1}); found "
                    f"{'no label' if not lab else repr(lab)}"))
                break
            vals = row_cells[start:start + ncol] + [""] * max(0, start + ncol - len(row_cells))
            for c, v in enumerate(vals[:ncol]):
                recs.append({"file": label, "line_no": j + 1, "plate": plate,
                             "well": f"{_ROWS[r]}{c + 1:02d}", "row": _ROWS[r], "col": c + 1,
                             "signal_raw": v.strip(), "format": nrow * ncol})
        i += 1 + nrow
    if n_block == 0:
        problems.append(LabProblem(
            label, None, None, None, None, "no_plate_block",
            "no plate block found: expected a row labelled 1 .. 12 (or 1 .. 24) followed by "
            "rows labelled A .. H (or A .. P), as a plate reader exports them"))
    return pd.DataFrame(recs), problems


# ------------------------------------------------------------------------------- tables


def _read_table(path: str | Path, label: str, sheet: Any = None) -> tuple[pd.DataFrame | None,
                                                                            list[Problem]]:
    p = Path(path)
    try:
        if p.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(p, sheet_name=sheet or 0, dtype=str, keep_default_na=False)
        else:
            with open(p, encoding="utf-8-sig") as fh:
                first = fh.readline()
            sep = "\t" if "\t" in first else (";" if first.count(";") > first.count(",")
                                              else ",")
            df = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False,
                             encoding="utf-8-sig")
    except OSError as e:
        return None, [LabProblem(label, None, None, None, None, "file_missing",
                              f"the file cannot be read ({e.strerror})")]
    except Exception as e:  # noqa: BLE001 - any parser error is reported with its words
        return None, [LabProblem(label, None, None, None, None, "file_parse",
                              f"the file cannot be parsed as a table ({e})")]
    df.columns = [str(c).strip() for c in df.columns]
    df["line_no"] = np.arange(2, len(df) + 2)
    return df, []


def _rename(df: pd.DataFrame, columns: dict | None, label: str,
            required: tuple[str, ...]) -> tuple[pd.DataFrame, list[Problem]]:
    columns = {str(k): str(v) for k, v in (columns or {}).items()}
    ren = {v: k for k, v in columns.items() if v in df.columns}
    df = df.rename(columns=ren)
    problems = [LabProblem(label, None, None, columns.get(c, c), None, "column_missing",
                        f"column '{columns.get(c, c)}' (the {c}) is not in the file; columns "
                        f"found: {', '.join(map(str, df.columns.drop('line_no')))}")
                for c in required if c not in df.columns]
    return df, problems


def _where(df: pd.DataFrame) -> pd.Series:
    return "plate " + df["plate"].astype(str) + ", well " + df["well_text"].astype(str)


def _problems(df: pd.DataFrame, mask: pd.Series, rule: str, column: str | None,
              value_col: str | None, message: pd.Series | str) -> list[Problem]:
    """One Problem per flagged row (vectorised text, one constructor call per row)."""
    sub = df[mask]
    if sub.empty:
        return []
    msg = message[mask] if isinstance(message, pd.Series) else pd.Series(message,
                                                                         index=sub.index)
    text = _where(sub) + ": " + msg.astype(str)
    vals = sub[value_col].astype(str).tolist() if value_col else [None] * len(sub)
    return [LabProblem(f, int(r), None, column, v, rule, t) for f, r, v, t in
            zip(sub["file"], sub["line_no"], vals, text, strict=True)]


def _standardise(df: pd.DataFrame, *, label: str, unit: str, molar_mass: dict,
                 controls: dict, lines: dict | None, default_unit: str | None,
                 names: dict) -> tuple[pd.DataFrame, list[Problem]]:
    """Contents, wells, concentrations of a plate map or long table (canonical columns)."""
    problems: list[Problem] = []
    df = df.copy()
    df["file"] = label
    df["plate"] = df["plate"].astype(str).str.strip()
    df["well_text"] = df["well"].astype(str).str.strip()
    df["well"], df["row"], df["col"] = well_id(df["well_text"])
    problems += _problems(df, df["well"].isna(), "map_well_invalid", names.get("well", "well"),
                          "well_text", "not a well name; expected a letter A-P and a number "
                          "1-24, such as B03")
    for c in ("drug", "drug2", "line", "conc", "conc2", "unit", "replicate"):
        if c not in df.columns:
            df[c] = ""
        df[c] = df[c].astype(str).str.strip()
    # content: the column if given, else recognised from the drug's name
    ctrl = {str(k).strip().lower(): role for role, names_ in (controls or {}).items()
            for k in ([names_] if isinstance(names_, str) else names_)}
    if "content" in df.columns and (df["content"].astype(str).str.strip() != "").any():
        content = df["content"].astype(str).str.strip().str.lower()
        content = content.replace({"": "empty", "control": "vehicle", "dmso": "vehicle",
                                   "medium": "blank", "treated": "sample",
                                   "positive": "kill", "negative": "vehicle"})
        bad = ~content.isin(CONTENTS)
        problems += _problems(df, bad, "content_unknown", names.get("content", "content"),
                              "content", "content not known; expected one of "
                              + ", ".join(CONTENTS))
    else:
        content = df["drug"].str.lower().map(ctrl).fillna("sample")
        content = content.where(df["drug"] != "", "empty")
    df["content"] = content
    sample = df["content"] == "sample"
    # concentrations: numbers with a unit; text is reported, never guessed
    units = df["unit"].where(df["unit"] != "", default_unit or "")
    out_conc = {}
    for c, d in (("conc", "drug"), ("conc2", "drug2")):
        needed = sample & (df[d] != "")
        raw = df[c].str.replace(",", ".", regex=False)
        num = pd.to_numeric(raw, errors="coerce")
        col = names.get(c, c)
        txt = needed & (df[c] != "") & num.isna()
        problems += _problems(df, txt, "conc_not_number", col, c, pd.Series(
            "concentration of " + df[d] + " is text, not a number; write the number alone in "
            f"column '{col}' and its unit in the unit column", index=df.index))
        problems += _problems(df, needed & (df[c] == ""), "conc_missing", col, None,
                              pd.Series("no concentration for " + df[d], index=df.index))
        conv, why = convert_conc(num, units, df[d], to=unit, molar_mass=molar_mass)
        ok = needed & num.notna()
        problems += _problems(df, ok & (why == "unit"), "unit_unknown", names.get("unit", "unit"),
                              "unit", f"unit not known; expected nM, uM, pM, mM or a mass "
                              "concentration such as ug/mL (with the drug's molar mass)")
        problems += _problems(df, ok & (why == "molar_mass"), "molar_mass_missing",
                              names.get("unit", "unit"), "unit", pd.Series(
                                  "a mass concentration of " + df[d] + " needs its molar mass: "
                                  "add it under invitro: molar_mass_g_per_mol:",
                                  index=df.index))
        out_conc[c] = conv.where(ok)
    df["conc"] = out_conc["conc"]
    df["conc2"] = out_conc["conc2"]
    df["unit_given"] = units
    if lines is not None:
        unknown = sample & ~df["line"].isin(list(lines)) | (
            df["content"].isin(["vehicle", "kill"]) & (df["line"] != "")
            & ~df["line"].isin(list(lines)))
        problems += _problems(df, unknown, "line_unknown", names.get("line", "line"), "line",
                              "cell line not listed under invitro: lines: (each line needs "
                              "its class); lines listed: " + ", ".join(map(str, lines)))
    dup = df["well"].notna() & df.duplicated(["plate", "well"], keep=False)
    first_line = df[dup].groupby(["plate", "well"])["line_no"].transform("min")
    problems += _problems(df, dup, "well_duplicated", names.get("well", "well"), "well_text",
                          pd.Series("the same well appears more than once (first on line "
                                    + first_line.astype("Int64").astype(str) + ")",
                                    index=df.index).where(dup, ""))
    return df, problems


def read_map(path: str | Path, *, columns: dict | None = None, sheet: Any = None,
             unit: str = "nM", molar_mass: dict | None = None, controls: dict | None = None,
             lines: dict | None = None, default_unit: str | None = None,
             label: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """A plate map: one row per well with canonical columns (see the module text)."""
    label = label or str(path)
    df, problems = _read_table(path, label, sheet)
    if df is None:
        return pd.DataFrame(), problems
    df, miss = _rename(df, columns, label, ("plate", "well"))
    if miss:
        return pd.DataFrame(), problems + miss
    names = {k: str(v) for k, v in (columns or {}).items()}
    df, more = _standardise(df, label=label, unit=unit, molar_mass=molar_mass or {},
                            controls=controls or {}, lines=lines, default_unit=default_unit,
                            names=names)
    return df, problems + more


def _signal(df: pd.DataFrame, col: str | None) -> tuple[pd.Series, list[Problem]]:
    """Numbers from the reader's text: saturated values (OVRFLW, Overflow, >4.0) and other
    text are reported (rules ``signal_saturated``, ``signal_not_number``); the rule is also
    written to the well's ``problem`` column (in place), so that its action reaches the well."""
    raw = df["signal_raw"].astype(str).str.strip()
    num = pd.to_numeric(raw.str.replace(",", ".", regex=False)
                        .where(~raw.str.contains(r"^\d{1,3}(?:,\d{3})+$"),
                               raw.str.replace(",", "", regex=False)), errors="coerce")
    mapped = df["content"].ne("empty") & df["content"].notna()
    sat = raw.str.match(_SATURATED) & mapped
    bad = mapped & (raw != "") & num.isna() & ~sat
    missing = mapped & (raw == "")
    df["problem"] = ""
    df.loc[sat, "problem"] = "signal_saturated"
    df.loc[bad, "problem"] = "signal_not_number"
    df.loc[missing, "problem"] = "signal_missing"
    problems = _problems(df, sat, "signal_saturated", col, "signal_raw",
                         "the reader's value is saturated (above its range); the well is "
                         "excluded, or read the plate again with a lower gain")
    problems += _problems(df, bad, "signal_not_number", col, "signal_raw",
                          "the reading is not a number")
    problems += _problems(df, missing, "signal_missing", col, None,
                          "the plate map names this well but the reader file has no value")
    return num, problems


def read_long(path: str | Path, *, columns: dict | None = None, sheet: Any = None,
              unit: str = "nM", molar_mass: dict | None = None, controls: dict | None = None,
              lines: dict | None = None, default_unit: str | None = None,
              plate_format: int | None = None,
              label: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """A long table: one row per well (see the module text)."""
    label = label or str(path)
    df, problems = _read_table(path, label, sheet)
    if df is None:
        return pd.DataFrame(), problems
    df, miss = _rename(df, columns, label, ("plate", "well", "signal"))
    if miss:
        return pd.DataFrame(), problems + miss
    names = {k: str(v) for k, v in (columns or {}).items()}
    df, more = _standardise(df, label=label, unit=unit, molar_mass=molar_mass or {},
                            controls=controls or {}, lines=lines, default_unit=default_unit,
                            names=names)
    df["signal_raw"] = df["signal"].astype(str)
    df["signal"], sig = _signal(df, names.get("signal", "signal"))
    df["format"] = _format_of(df["row"], df["col"], plate_format)
    return _accounting(df), problems + more + sig


def _accounting(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["status"] = "used"
    df["rule"] = ""
    df["reason"] = ""
    empty = df["content"].eq("empty")
    df.loc[empty, ["status", "rule", "reason"]] = ["excluded", "empty",
                                                   "empty well (nothing in it per the map)"]
    return df


def read_plates(inputs: list[dict], *, unit: str = "nM", molar_mass: dict | None = None,
                controls: dict | None = None, lines: dict | None = None,
                base: str | Path = ".") -> tuple[pd.DataFrame, list[Problem]]:
    """Every configured input (``invitro: inputs:``) to one table of wells, plus every
    problem found. Columns: ``file, line_no, plate, well, row, col, format, content, line,
    drug, conc, drug2, conc2, unit_given, replicate, signal_raw, signal, status, rule,
    reason``; concentrations in ``unit``."""
    frames, problems = [], []
    for spec in inputs:
        kw = dict(unit=unit, molar_mass=molar_mass, controls=controls, lines=lines,
                  columns=spec.get("columns"), sheet=spec.get("sheet"),
                  default_unit=spec.get("unit"))
        path = Path(base) / spec["file"]
        if spec.get("layout", "long") == "long":
            df, pr = read_long(path, label=spec["file"], plate_format=spec.get("format"), **kw)
            problems += pr
            if not df.empty:
                frames.append(df)
            continue
        grid, pr = read_grid(path, plate_id=spec.get("plate_id"), label=spec["file"])
        problems += pr
        mp, pr = read_map(Path(base) / spec["map"], label=spec["map"], **kw)
        problems += pr
        if grid.empty or mp.empty:
            continue
        df, pr = _join(grid, mp, spec, unit)
        problems += pr
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["file", "plate", "well", "status"]), problems
    wells = pd.concat(frames, ignore_index=True)
    problems += _controls(wells)
    wells["replicate"] = _replicates(wells)
    keep = ["file", "line_no", "plate", "well", "row", "col", "format", "content", "line",
            "drug", "conc", "drug2", "conc2", "unit_given", "replicate", "signal_raw", "signal",
            "problem", "status", "rule", "reason"]
    return wells[keep].reset_index(drop=True), problems


def _join(grid: pd.DataFrame, mp: pd.DataFrame, spec: dict, unit: str) -> tuple[pd.DataFrame,
                                                                              list[Problem]]:
    """Reader wells joined to their plate-map entries; a plate or well on one side only is
    reported (a wrong or mismatched map)."""
    problems: list[Problem] = []
    read_plates_ = list(dict.fromkeys(grid["plate"]))
    map_plates = list(dict.fromkeys(mp["plate"]))
    for p in read_plates_:
        if p not in map_plates:
            problems.append(LabProblem(spec["file"], None, None, None, p, "plate_not_in_map",
                                    f"plate {p}: the reader file has this plate but the plate "
                                    f"map {spec['map']} does not (map plates: "
                                    f"{', '.join(map_plates[:12])})"))
    for p in map_plates:
        if p not in read_plates_:
            problems.append(LabProblem(spec["map"], None, None, "plate", p, "map_plate_not_read",
                                    f"plate {p}: the plate map names this plate but the reader "
                                    f"file {spec['file']} has no block for it (plates read: "
                                    f"{', '.join(read_plates_[:12])})"))
    fmt = grid.groupby("plate")["format"].first()
    mp = mp[mp["well"].notna()].drop_duplicates(["plate", "well"])
    rows, cols = FORMATS[96]
    outside = mp["plate"].map(fmt).eq(96) & ((mp["row"].map(_ROWS.index) >= rows)
                                             | (mp["col"] > cols))
    problems += _problems(mp, outside, "map_well_outside_plate", "well", "well_text",
                          "the plate map names a well outside this 96-well plate (A01-H12): "
                          "is it the map of a 384-well plate?")
    mp = mp[~outside].drop(columns=["file", "line_no", "row", "col"])
    df = grid.merge(mp, on=["plate", "well"], how="left", indicator=True)
    df["content"] = df["content"].astype(object)
    unmapped = (df["_merge"] == "left_only") & df["plate"].isin(map_plates)
    has_value = df["signal_raw"].astype(str).str.strip() != ""
    df["well_text"] = df["well"]
    problems += _problems(df, unmapped & has_value, "well_not_in_map", None, "signal_raw",
                          "the reader has a value for this well but the plate map does not "
                          "say what it holds; the well is not used")
    df.loc[df["_merge"] == "left_only", "content"] = "empty"
    df = df.drop(columns="_merge")
    df["signal"], sig = _signal(df, None)
    for c in ("drug", "drug2", "line", "replicate", "unit_given"):
        df[c] = df[c].fillna("")
    df = _accounting(df)
    df.loc[unmapped & has_value, ["status", "rule", "reason"]] = [
        "excluded", "well_not_in_map", "not in the plate map"]
    return df, problems + sig


def _controls(wells: pd.DataFrame) -> list[Problem]:
    """Each plate needs vehicle wells and blank or kill wells to be normalised and checked."""
    out = []
    has = wells.groupby("plate")["content"].agg(lambda s: set(s))
    first = wells.groupby("plate")["file"].first()
    for plate, contents in has.items():
        missing = [c for c in ("vehicle",) if c not in contents]
        if not ({"blank", "kill"} & contents):
            missing.append("blank or kill")
        if missing and "sample" in contents:
            out.append(LabProblem(first[plate], None, None, None, None, "controls_missing",
                               f"plate {plate}: no {' and no '.join(missing)} wells; each "
                               "plate needs vehicle wells (100% viability) and blank or kill "
                               "wells (0%) to be normalised"))
    return out


def _replicates(wells: pd.DataFrame) -> pd.Series:
    """The replicate number as given, else the order of the well among the wells of the
    same line, drug(s) and concentration(s) on its plate (1, 2, ...)."""
    given = wells["replicate"].astype(str).str.strip()
    keys = ["plate", "content", "line", "drug", "conc", "drug2", "conc2"]
    order = (wells.assign(conc=wells["conc"].fillna(-1), conc2=wells["conc2"].fillna(-1))
             .groupby(keys, dropna=False).cumcount() + 1).astype(str)
    return given.where(given != "", order)
