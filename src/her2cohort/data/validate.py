"""Validation of the harmonized table: types, vocabularies, ranges, cross-field rules, duplicates.

Types, vocabularies and ranges are a pandera ``DataFrameSchema``, run lazily so that every
failure in every row is collected; the cross-field rules (``Rule``: a boolean Series per row)
are evaluated directly as vectorised masks (:func:`rule_failures`), since pandera's handling of
a wide check's failures costs a null test of the whole table per rule. Each failure becomes a
``Problem`` naming file, row, patient key, the column as the centre writes it, the value and
the rule; the config decides per rule whether it fails the run, quarantines the row or only
warns.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .dates import completed_years
from .fields import FIELDS
from .problems import BLANKABLE, Problem, quarantine_reasons, resolve_actions


@dataclass(frozen=True)
class Rule:
    """A row-level rule: ``ok(df)`` is True where the row passes (missing values pass)."""

    rule: str
    name: str  # unique check name, e.g. date_order:surgery_date
    column: str  # the field to blame in the report
    ok: Callable[[pd.DataFrame], pd.Series]
    message: Callable[[pd.Series], str]


def _age(df: pd.DataFrame) -> pd.Series:
    return completed_years(df["birth_date"], df["diagnosis_date"])


def _last_contact(df):
    """The last contact date, or the death date where no last contact is recorded (the death
    is the last contact of a patient who died). Works on a frame or one row."""
    last = df["last_contact_date"]
    if isinstance(df, pd.Series):
        return last if pd.notna(last) else df["death_date"]
    return last.where(last.notna(), df["death_date"])


def _before(later: str, earlier: str, later_label: str, earlier_label: str) -> Rule:
    def ok(df):
        return ~(df[later] < df[earlier]).fillna(False)

    def msg(r):
        gap = (r[earlier] - r[later]).days
        return (f"{later_label} is {gap} days before {earlier_label}; expected "
                f"{earlier_label} <= {later_label}")

    return Rule("date_order", f"date_order:{later}>={earlier}", later, ok, msg)


def _not_after_lock(col: str, label: str, lock: pd.Timestamp) -> Rule:
    def ok(df):
        return ~(df[col] > lock).fillna(False)

    def msg(r):
        return f"{label} is {(r[col] - lock).days} days after the data lock date (config " \
               "data_lock_date)"

    return Rule("future_date", f"future_date:{col}", col, ok, msg)


# Values every record needs for the analysis; a blank one sets the record aside.
# (A blank HER2 IHC score is not a defect: ISH alone may settle the status, else the class is
# 'unknown' with its reason and the record is excluded by the criteria, never quarantined.)
ESSENTIAL = ("birth_date", "diagnosis_date", "nst_start_date", "last_contact_date",
             "vital_status", "cm", "regimen")


def _present(col: str, label: str, centres: frozenset[str] | None = None) -> Rule:
    """A blank cell in a column the record's centre maps (``centres``; None = all)."""
    def ok(df):
        present = df[col].notna()
        if col == "last_contact_date":  # the death date is the last contact of who died
            present = present | df["death_date"].notna()
        if centres is None:
            return present
        return present | ~_mapping_code(df).isin(list(centres))

    return Rule("missing_value", f"missing_value:{col}", col, ok,
                lambda r: f"{label} is missing; the enabled analyses need it for every record")


def _records(df: pd.DataFrame, field: str,
             recorded: dict[str, frozenset[str]] | None) -> pd.Series:
    """True for rows whose centre records ``field`` (all rows when unknown)."""
    if recorded is None or field not in recorded:
        return pd.Series(True, index=df.index)
    return _mapping_code(df).isin(list(recorded[field]))


def _mapping_code(df: pd.DataFrame) -> pd.Series:
    """The ``centre:`` code of the mapping that read each record (``centre_mapping``; tables
    without it: ``centre``), the key of ``columns_by_centre``."""
    if "centre_mapping" in df.columns:
        return df["centre_mapping"].fillna(df["centre"])
    return df["centre"]


def cross_field_rules(data_lock: dt.date, age_min: float, age_max: float,
                      essential: dict[str, frozenset[str] | None] | None = None,
                      recorded: dict[str, frozenset[str]] | None = None) -> list[Rule]:
    """Generic row rules. ``essential``: field -> centres whose blank cell is a missing value
    (default: the ESSENTIAL fields at every centre)."""
    lock = pd.Timestamp(data_lock)
    rules = [
        _before("diagnosis_date", "birth_date", "diagnosis", "birth"),
        _before("nst_start_date", "diagnosis_date", "start of neoadjuvant therapy", "diagnosis"),
        _before("surgery_date", "nst_start_date", "surgery", "start of neoadjuvant therapy"),
        _before("last_contact_date", "nst_start_date", "last contact",
                "start of neoadjuvant therapy"),
        _before("last_contact_date", "surgery_date", "last contact", "surgery"),
        _before("recurrence_date", "surgery_date", "recurrence", "surgery"),
        _before("recurrence_date", "diagnosis_date", "recurrence", "diagnosis"),
        _before("death_date", "diagnosis_date", "death", "diagnosis"),
    ]
    rules += [_not_after_lock(f.name, f.label.lower(), lock) for f in FIELDS if f.kind == "date"]
    if essential is None:
        essential = {f: None for f in ESSENTIAL}
    rules += [_present(f.name, f.label, essential[f.name]) for f in FIELDS
              if f.name in essential]
    rules += [
        Rule("recurrence_after_last_contact", "recurrence_after_last_contact", "recurrence_date",
             lambda df: ~(df["recurrence_date"] > _last_contact(df)).fillna(False),
             lambda r: f"recurrence is {(r['recurrence_date'] - _last_contact(r)).days} "
                       "days after the last contact (or death); the last contact cannot "
                       "precede it"),
        Rule("date_order", "date_order:death_date<=last_contact_date", "death_date",
             lambda df: ~(df["death_date"] > df["last_contact_date"]).fillna(False),
             lambda r: "death is after the last contact date; last contact must be on or after "
                       "death"),
        Rule("vital_status_inconsistent", "vital_status_inconsistent", "vital_status",
             lambda df: ((df["vital_status"] == "dead").fillna(False)
                         == df["death_date"].notna()) | df["vital_status"].isna(),
             lambda r: "vital status and death date disagree: 'dead' needs a death date and a "
                       "death date needs 'dead'"),
        Rule("recurrence_inconsistent", "recurrence_inconsistent", "recurrence_type",
             lambda df: df["recurrence_date"].notna() == df["recurrence_type"].notna(),
             lambda r: "recurrence date and recurrence type must both be given or both be "
                       "blank"),
        Rule("pathology_without_surgery", "pathology_without_surgery", "ypt",
             lambda df: ~((df["ypt"].notna() | df["ypn"].notna()) & df["surgery_date"].isna()
                          & _records(df, "surgery_date", recorded)),
             lambda r: "ypT/ypN are recorded but there is no surgery date"),
        Rule("age_out_of_range", "age_out_of_range", "birth_date",
             lambda df: ~_age(df).pipe(lambda a: (a < age_min) | (a > age_max)).fillna(False),
             lambda r: f"age at diagnosis {_age(pd.DataFrame([r])).iloc[0]} years is outside "
                       f"{age_min:g}-{age_max:g}"),
    ]
    return rules


def _text() -> pd.StringDtype:
    """The text dtype of a schema built now: pandas' ``string`` in the storage in force
    (``mode.string_storage``; the pipeline's stages hold text in Arrow, ``stages.run``), as
    the checked frame holds it. pandera's own ``"string"`` is resolved once per process."""
    return pd.StringDtype()


def harmonized_schema(vocabularies: dict[str, list[str]],
                      rules: Sequence[Rule] = ()) -> pa.DataFrameSchema:
    """pandera schema of the harmonized table (one row per record received); ``rules`` become
    wide checks (:func:`validate` evaluates its rules itself, :func:`rule_failures`)."""
    cols: dict[str, pa.Column] = {
        "centre": pa.Column(_text(), nullable=False),
        "centre_mapping": pa.Column(_text(), nullable=True, required=False),
        "source_file": pa.Column(_text(), nullable=False),
        "source_row": pa.Column("int64", pa.Check.ge(1), nullable=False),
        "patient_key": pa.Column(_text(), pa.Check.str_matches(r"^P[0-9a-f]{12}$"),
                                 nullable=False),
    }
    for f in FIELDS:
        if f.kind == "id":
            continue
        if f.kind == "date":
            cols[f.name] = pa.Column("datetime64[ns]", nullable=True)
        elif f.kind == "number":
            checks = []
            if f.low is not None and f.high is not None:
                checks.append(pa.Check.in_range(f.low, f.high, name=f"out_of_range:{f.name}"))
            cols[f.name] = pa.Column("float64", checks, nullable=True)
        else:
            allowed = vocabularies.get(f.name) or list(f.values)
            cols[f.name] = pa.Column(_text(), pa.Check.isin(allowed, name=f"unknown_code:{f.name}"),
                                     nullable=True)
    wide = [pa.Check(r.ok, name=r.name, element_wise=False) for r in rules]
    return pa.DataFrameSchema(cols, checks=wide, strict=True, ordered=False, coerce=False)


def _check_error(err: Exception) -> str:
    """An exception raised by a rule, as pandera reports a failing check function."""
    msg = f'"{err.args[0]}"' if err.args else ""
    return f"{err.__class__.__name__}({msg})"


def rule_failures(df: pd.DataFrame, rules: Sequence[Rule]
                  ) -> list[tuple[Rule, np.ndarray | None, str | None]]:
    """(rule, index labels of the rows that fail it, error) for every rule that fails, in rule
    order; rows in table order. Read as pandera reads a wide check: a row whose every cell is
    blank passes; a rule that raises, or whose result is not a boolean Series on the table's
    rows, fails as a whole (index labels None, ``error`` says why)."""
    blank = np.ones(len(df), dtype=bool)
    for c in df.columns:  # rows whose every cell is blank (stops at the first full column)
        blank &= df[c].isna().to_numpy()
        if not blank.any():
            break
    out: list[tuple[Rule, np.ndarray | None, str | None]] = []
    for rule in rules:
        try:
            ok = rule.ok(df)
            if not isinstance(ok, pd.Series) or not ok.index.equals(df.index):
                out.append((rule, None, "False"))
                continue
            if ok.empty and ok.dtype != bool:
                ok = ok.astype(bool)
            if blank.any():
                ok = ok | blank
            if ok.all():
                continue
            fail = ~ok.to_numpy(dtype=bool)
        except Exception as err:  # noqa: BLE001 - reported as a schema problem, as pandera does
            out.append((rule, None, _check_error(err)))
            continue
        out.append((rule, df.index.to_numpy()[fail], None))
    return out


def _range_message(field: str, value: float) -> str:
    f = next(x for x in FIELDS if x.name == field)
    unit = f" {f.unit}" if f.unit in ("mm", "years", "months") else ""
    pct = "%" if f.unit == "%" else ""
    return (f"{f.label} {value:g}{pct}{unit} is outside the plausible range "
            f"{f.low:g}-{f.high:g}{pct}{unit}")


def duplicates(df: pd.DataFrame, centre_order: list[str]) -> list[tuple[int, int, str]]:
    """(index of later record, index of first record, rule) for every duplicate.

    The first record (centre order in config, then row) is kept; later ones are flagged.
    Same patient ID -> duplicate_id; same birth date + diagnosis date + laterality ->
    duplicate_person.
    """
    rank = _mapping_code(df).map({c: i for i, c in enumerate(centre_order)}).fillna(
        len(centre_order))
    order = pd.DataFrame({"_rank": rank, "source_row": df["source_row"]}).sort_values(
        ["_rank", "source_row"], kind="mergesort").index
    out: list[tuple[int, int, str]] = []
    flagged: set[int] = set()
    ordered = df.loc[order, ["patient_key", "birth_date", "diagnosis_date", "laterality"]]
    for rule, keys in (("duplicate_id", ["patient_key"]),
                       ("duplicate_person", ["birth_date", "diagnosis_date", "laterality"])):
        sub = ordered.dropna(subset=keys).loc[:, keys].assign(_pos=lambda x: x.index)
        firsts = sub.groupby(keys, sort=False)["_pos"].transform("first")
        dup_mask = sub.duplicated(keys, keep="first")
        for i in sub.index[dup_mask]:
            if i in flagged:
                continue
            out.append((int(i), int(firsts[i]), rule))
            flagged.add(int(i))
    return out


def validate(df: pd.DataFrame, *, columns_by_centre: dict[str, dict[str, str]],
             vocabularies: dict[str, list[str]], data_lock: dt.date,
             age_range: tuple[float, float] = (18, 100),
             actions: dict[str, str] | None = None,
             extra_rules: Sequence[Rule] = (),
             needed: set[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[Problem]]:
    """Return (clean rows, quarantined rows with reasons, all problems with their actions).

    ``extra_rules`` are row rules of the study layer (domain knowledge such as ASCO/CAP), run
    with the generic ones so that their actions and quarantine reasons work the same way."""
    essential = None
    if needed is not None:  # requirements follow the analyses: only what is needed, and only
        # at centres that record it (a field a centre does not map is not a blank cell)
        essential = {f: frozenset(c for c, cols in columns_by_centre.items() if f in cols)
                     for f in ESSENTIAL if f in needed}
    recorded = {f.name: frozenset(c for c, cols in columns_by_centre.items() if f.name in cols)
                for f in FIELDS}
    rules = [*cross_field_rules(data_lock, *age_range, essential=essential, recorded=recorded),
             *extra_rules]
    schema = harmonized_schema(vocabularies)
    problems: list[Problem] = []

    def src(centre: str, field: str) -> str:
        return columns_by_centre.get(centre, {}).get(field, field)

    mapping_code = _mapping_code(df)
    cells: dict[int, tuple[int, str]] = {}  # id(problem) -> (row index, field): value rules
    # per-field provenance (centres with several files, data/ingest.py): which file each
    # field came from, and each record's row in every file
    metas = ({m: json.loads(m) for m in df["_src_meta"].dropna().unique()}
             if "_src_meta" in df.columns else {})

    def add(i, field, rule, message, value=None, redact=False, written=False):
        """One problem of record ``i`` about ``field``: named by the file and row the value
        came from (the record's own when that is another file), with the value as written
        there when ``written`` (a converted number)."""
        r = df.loc[i]
        record = (str(r["source_file"]), int(r["source_row"]))
        file, row = record
        meta = metas.get(r["_src_meta"]) if metas and pd.notna(r["_src_meta"]) else None
        if meta and field in meta["fields"]:
            k = meta["fields"][field]
            rk = r.get(f"_src_row_{k}")
            if rk is not None and pd.notna(rk):
                file, row = meta["files"][k], int(rk)
        raw = r.get(f"_raw:{field}") if written else None
        if raw is not None and pd.notna(raw):
            value = str(raw)
        problems.append(Problem(file, row, str(r["patient_key"]),
                                src(str(mapping_code[i]), field), value, rule, message,
                                redact=redact, record=None if (file, row) == record else record))
        cells[id(problems[-1])] = (i, field)

    table = df[[c for c in df.columns if not c.startswith("_")]]
    # cross-field rules first (as when they were pandera's wide checks), rule by rule, rows in
    # table order
    for rule, failed, error in rule_failures(table, rules):
        if failed is None:
            problems.append(Problem("(harmonized table)", None, None, "None", error, "schema",
                                    f"harmonized table fails schema check {rule.name}"))
            continue
        is_date = rule.column.endswith("_date")
        for idx in failed.tolist():
            row = df.loc[idx]
            val = row[rule.column]
            sval = None if pd.isna(val) else (val.date().isoformat() if is_date else str(val))
            add(idx, rule.column, rule.rule, rule.message(row), sval, redact=is_date,
                written=not is_date)
    try:
        schema.validate(table, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        for rec in fc.itertuples(index=False):
            check = str(rec.check)
            idx = rec.index
            column = str(rec.column)
            if check.startswith("in_range"):
                check = f"out_of_range:{column}"
            elif check.startswith("isin"):
                check = f"unknown_code:{column}"
            if idx is None or (isinstance(idx, float) and np.isnan(idx)):
                # schema-level (dtype, column presence): a programming or mapping error
                problems.append(Problem("(harmonized table)", None, None, str(rec.column),
                                        str(rec.failure_case), "schema",
                                        f"harmonized table fails schema check {check}"))
                continue
            idx = int(idx)
            if check.startswith("out_of_range:"):
                field = check.split(":", 1)[1]
                msg = _range_message(field, rec.failure_case)
                raw = df.at[idx, f"_raw:{field}"] if f"_raw:{field}" in df.columns else None
                if raw is not None and pd.notna(raw):
                    if str(raw) != f"{rec.failure_case:g}":
                        msg += f" (written {raw} in the file)"
                add(idx, field, "out_of_range", msg, f"{rec.failure_case:g}", written=True)
            elif check.startswith("unknown_code:"):
                field = check.split(":", 1)[1]
                add(idx, field, "unknown_code", f"value is not an allowed '{field}' code",
                    str(rec.failure_case))
            else:
                add(idx, str(rec.column), "schema", f"fails check {check}",
                    str(rec.failure_case))
    del table

    # duplicates among records not already set aside, so that the copy kept is a clean one
    resolve_actions(problems, actions)
    keys = pd.MultiIndex.from_arrays([df["source_file"].astype(str),
                                      df["source_row"].astype("int64")])
    already = quarantine_reasons(problems)
    set_aside = keys.isin(list(already)) if already else np.zeros(len(df), dtype=bool)
    dup_cols = [c for c in ("centre", "centre_mapping", "source_row", "patient_key",
                            "birth_date", "diagnosis_date", "laterality") if c in df.columns]
    for i, j, rule in duplicates(df.loc[~set_aside, dup_cols], list(columns_by_centre)):
        other = df.loc[j]
        what = ("the same patient ID" if rule == "duplicate_id"
                else "the same birth date, diagnosis date and side")
        add(i, "patient_id" if rule == "duplicate_id" else "birth_date", rule,
            f"{what} as {other['source_file']} row {int(other['source_row'])}, which is kept",
            redact=True)

    resolve_actions(problems, actions)
    reasons = quarantine_reasons(problems)
    qmask = keys.isin(list(reasons)) if reasons else np.zeros(len(df), dtype=bool)
    quarantined = df.loc[qmask, ["centre", "source_file", "source_row", "patient_key"]].copy()
    quarantined["reason"] = [";".join(reasons[k]) for k in keys[qmask]]
    clean = df.loc[~qmask, [c for c in df.columns if not c.startswith("_")]].copy()
    clean = _blank_values(clean, problems, cells)
    return clean, quarantined.reset_index(drop=True), problems


def _blank_values(clean: pd.DataFrame, problems: list[Problem],
                  cells: dict[int, tuple[int, str]]) -> pd.DataFrame:
    """Action ``blank``: the implausible value is set to missing and the patient kept (the
    problem stays in the problems table with its rule, row, column and value). Only value
    rules can blank (``BLANKABLE``); the action of any other rule is checked at config load."""
    by_field: dict[str, list[int]] = {}
    for p in problems:
        if p.action != "blank":
            continue
        i, field = cells.get(id(p), (None, None))
        if i is None or field not in clean.columns:  # pragma: no cover - value rules name one
            continue
        p.message += "; the value is blanked (read as not recorded)"
        if i in clean.index:
            by_field.setdefault(field, []).append(i)
    for field, idx in by_field.items():
        clean.loc[idx, field] = np.nan if clean[field].dtype.kind == "f" else pd.NA
    return clean


def analysis_schema(group_column: str, group_levels: list[str],
                    endpoints: list[str] = ()) -> pa.DataFrameSchema:
    """pandera schema of the analysis-ready table (one row per analysed patient); every
    time-to-event endpoint (``<id>_months``, ``<id>_event``) of the study."""
    times = {}
    for e in endpoints:
        times[f"{e}_months"] = pa.Column("float64", pa.Check.ge(0), nullable=True)
        times[f"{e}_event"] = pa.Column("Int8", pa.Check.isin([0, 1]), nullable=True)
    return pa.DataFrameSchema(
        {
            **times,
            "patient_key": pa.Column(_text(), pa.Check.str_matches(r"^P[0-9a-f]{12}$"),
                                     unique=True, nullable=False),
            "centre": pa.Column(_text(), nullable=False),
            group_column: pa.Column(_text(), pa.Check.isin(group_levels), nullable=False),
            "her2_status": pa.Column(_text(), nullable=False),
            "age": pa.Column("float64", pa.Check.in_range(0, 120), nullable=True),
            "hr_status": pa.Column(_text(), pa.Check.isin(["positive", "negative"]),
                                   nullable=True),
            "anti_her2": pa.Column(_text(), pa.Check.isin(["single", "dual", "none"]),
                                   nullable=True),
            "pcr": pa.Column("boolean", nullable=True),
            "her2_loss": pa.Column("boolean", nullable=True),
            "stage": pa.Column(_text(), pa.Check.isin(
                ["IA", "IB", "IIA", "IIB", "IIIA", "IIIB", "IIIC", "IV"]), nullable=True),
        },
        strict=False,
        coerce=False,
    )


def check_analysis(df: pd.DataFrame, group_column: str, group_levels: list[str],
                   endpoints: list[str] = ()) -> None:
    """Validate the analysis-ready table; raise ValueError listing every failure."""
    try:
        analysis_schema(group_column, group_levels, list(endpoints)).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases.head(50)
        lines = []
        for r in fc.itertuples(index=False):
            where = ""
            if r.index is not None and not pd.isna(r.index) and "source_file" in df:
                row = df.loc[int(r.index)]
                where = f" ({row['source_file']}, row {int(row['source_row'])})"
            lines.append(f"  column {r.column}: check {r.check} failed for value "
                         f"{r.failure_case!r}{where}")
        raise ValueError("the analysis-ready table breaks its schema:\n" + "\n".join(lines)) \
            from None
