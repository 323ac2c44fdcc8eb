"""Data problems: one record per problem, collected across a whole stage and reported at once.

A problem names the file, the row (as a spreadsheet shows it: the header is row 1), the
patient, the column, the value, the rule broken and what was expected. The config decides per
rule what happens (``qc.actions``): ``fail`` stops the run after every problem has been listed,
``quarantine`` sets the row aside with its reason, ``blank`` (value rules only, ``BLANKABLE``)
sets the implausible value to missing and keeps the record, ``warn`` only reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import pandas as pd

ACTIONS = ("fail", "quarantine", "blank", "warn")
# Rules about one value that the action ``blank`` can set to missing, keeping the record.
BLANKABLE = frozenset({"out_of_range"})

# Default action per rule. File-level problems (unreadable file, missing column, empty file,
# wrong sheet) always fail: there is no row to quarantine.
DEFAULT_ACTIONS: dict[str, str] = {
    # structural, from ingestion
    "file_missing": "fail",
    "file_encoding": "fail",
    "file_empty": "fail",
    "file_parse": "fail",
    "sheet_missing": "fail",
    "column_missing": "fail",
    "column_duplicated": "fail",
    "column_unmapped": "warn",
    "column_type": "fail",  # a typed Parquet date column mapped to a number or code field
    "date_time_of_day": "warn",  # a typed timestamp with times of day read as a date
    "blank_row": "warn",
    "rows_skipped": "warn",
    "centre_invalid": "quarantine",
    "unknown_code": "fail",
    "bad_date": "fail",
    "bad_number": "fail",
    "missing_required": "fail",
    # reading safety (data/read.py): nothing lost silently
    "header": "fail",
    "header_linebreak": "warn",
    "unclosed_quote": "fail",
    "cell_large": "warn",
    "sheet_hidden": "fail",
    "sheet_chart": "warn",
    "sheet_split": "fail",
    "formula_no_value": "fail",
    "merged_cells": "fail",
    "id_mangled": "fail",
    # row-level, from validation
    "missing_value": "quarantine",
    "out_of_range": "quarantine",
    "age_out_of_range": "quarantine",
    "date_order": "quarantine",
    "future_date": "quarantine",
    "recurrence_after_last_contact": "quarantine",
    "vital_status_inconsistent": "quarantine",
    "recurrence_inconsistent": "quarantine",
    "pathology_without_surgery": "quarantine",
    "ish_inconsistent": "warn",
    "retest_without_residual": "warn",
    "duplicate_id": "quarantine",
    "duplicate_person": "quarantine",
    # two forms of one fact disagree (study/checks.py); several files of one centre
    "pcr_inconsistent": "quarantine",
    "age_inconsistent": "quarantine",
    "receptor_inconsistent": "quarantine",
    "her2_status_inconsistent": "quarantine",
    "ish_totals_inconsistent": "quarantine",
    "treatment_inconsistent": "quarantine",
    "unmatched_record": "quarantine",
    "ambiguous_join": "quarantine",
    "blank_id": "quarantine",  # a row of a file of a centre with several files without its ID
    "id_variants": "warn",  # IDs that differ only by case or leading zeros (id_normalise:)
    "time_inconsistent": "quarantine",  # recorded time/event against the dates
    "sentinel": "warn",
    # a sentinel that is also a valid value (ER 0 declared 'not evaluable'); a duration
    # declared in months whose values look like days
    "sentinel_ambiguous": "warn",
    "unit_suspect": "warn",
}
FILE_LEVEL = frozenset(
    {"file_missing", "file_encoding", "file_empty", "file_parse", "sheet_missing",
     "column_missing", "column_duplicated", "column_type", "header", "unclosed_quote",
     "sheet_hidden", "sheet_split"}
)

PROBLEM_COLUMNS = ("file", "row", "patient", "column", "value", "rule", "action", "message")


@dataclass
class Problem:
    file: str
    row: int | None  # spreadsheet row (header = 1); None for file-level problems
    patient: str | None  # pseudonymous patient key where known
    column: str | None  # the column as named in the centre's file
    value: str | None
    rule: str
    message: str  # what is wrong and what was expected, in plain words
    action: str = field(default="")
    redact: bool = False  # value is an identifier or a date: keep it out of results/
    # what the value is, for what may be shown of it (safety.value_for_files): id, date,
    # number, code, marker (a missing-value marker), config (from the mapping); "" = by rule
    kind: str = ""
    # (file, row) of the record the problem sets aside when the cell came from another file
    # of a centre with several files (``file``/``row`` then name the cell); None: the same
    record: tuple[str, int] | None = None


class InputError(Exception):
    """Raised when problems whose action is ``fail`` were found; carries all of them."""

    def __init__(self, problems: list[Problem], stage: str):
        self.problems = problems
        self.stage = stage
        super().__init__(format_report(problems, stage))


def resolve_actions(problems: list[Problem], overrides: dict[str, str] | None = None) -> None:
    actions = {**DEFAULT_ACTIONS, **(overrides or {})}
    for p in problems:
        act = actions.get(p.rule, "fail")
        if p.rule in FILE_LEVEL:
            act = "fail"
        if act == "blank" and p.rule not in BLANKABLE:  # config check names this mistake
            act = "quarantine"
        p.action = act


def to_frame(problems: list[Problem], redacted: bool = True) -> pd.DataFrame:
    """Problems as a table; ``redacted`` (for results/) shows values by the rule of
    ``safety.value_for_files``: identifiers never, dates and failing free-text or coded values
    by their shape, short codes, numbers and missing-value markers as they are."""
    rows = []
    for p in problems:
        d = asdict(p)
        if redacted:
            d["value"] = _safe_value(p)
            d["message"] = redact_message(p.message, p)
        rows.append({k: d[k] for k in PROBLEM_COLUMNS})
    df = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    df["row"] = df["row"].astype("Int64")
    return df.sort_values(["file", "row", "column", "rule"], kind="mergesort",
                          na_position="first").reset_index(drop=True)


# what a rule's value is, where the problem does not say (Problem.kind)
_KIND_BY_RULE = {
    "out_of_range": "number", "time_inconsistent": "number", "age_out_of_range": "number",
    "bad_number": "number",
    "bad_date": "date", "unknown_code": "code", "centre_invalid": "code",
    "duplicate_id": "id", "id_mangled": "id", "ambiguous_join": "id", "unmatched_record": "id",
    "missing_required": "id", "duplicate_person": "date",
    "sentinel": "config", "sentinel_ambiguous": "config", "sheet_missing": "config",
    "sheet_hidden": "config", "sheet_split": "config",
}


def value_kind(p: Problem) -> str:
    """What the problem's value is: Problem.kind, else by rule (a date for ``redact``)."""
    if p.kind:
        return p.kind
    if p.redact:
        return "date" if p.rule not in ("duplicate_id", "id_mangled", "ambiguous_join") \
            else "id"
    return _KIND_BY_RULE.get(p.rule, "")


def _safe_value(p: Problem, verbatim: bool = False) -> str | None:
    """The value as it may be written to results/ and logs/ (``safety.value_for_files``), or,
    with ``verbatim``, printed by ``her2cohort check`` at the user's desk
    (``safety.value_for_console``)."""
    from .safety import value_for_console, value_for_files

    if p.value in (None, ""):
        return p.value
    if verbatim:
        return value_for_console(str(p.value), value_kind(p))
    return value_for_files(str(p.value), value_kind(p))


def redact_message(message: str, p: Problem | None = None, verbatim: bool = False) -> str:
    """A problem message with date-like text redacted (the example date 31 Dec 2019 that
    messages use to show a format is kept); where the problem's own value is not shown, any
    copy of it inside the message is replaced by what is shown (its shape). A copy inside a
    longer word is part of that word (the level 'right' a "did you mean" offers for 'righ'),
    not the value, and stays."""
    import re

    from .safety import redact_text

    if p is not None and isinstance(p.value, str) and len(p.value.strip()) >= 2 \
            and p.value in message:
        shown = _safe_value(p, verbatim)
        if shown != p.value:
            message = re.sub(rf"(?<!\w){re.escape(p.value)}(?!\w)" if p.value[0].isalnum()
                             and p.value[-1].isalnum() else re.escape(p.value),
                             shown.replace("\\", "\\\\"), message)
    return redact_text(message, ids=False, keep_example=True)


# a column failing one rule with one kind of value on this many rows or more is reported as one
# group line (count, first rows, one example); every row stays in the problems table
GROUP_MIN = 10
FIRST_ROWS = 5  # rows named on a group line


def _where(p: Problem) -> str:
    where = p.file + (f", row {p.row}" if p.row is not None else "")
    return where + (f", column '{p.column}'" if p.column else "")


def _shown(value: str | None) -> str:
    if value in (None, ""):
        return ""
    return f", value {value}" if value.startswith("[") else f", value '{value}'"


def _group_keys(problems: list[Problem], values: list[str | None]) -> list[tuple]:
    """(action, file, column, rule, the value's shape) of each problem of one cell: a value
    shown as it is (a short code, a number) is its own key, so that each code stays in view; a
    value not shown (a date, free text) is keyed by its shape, computed once per distinct
    value. A file-level problem stands alone."""
    from .safety import shape

    shapes: dict[str, str] = {}
    keys = []
    for p, value in zip(problems, values):
        if p.row is None:
            keys.append(("", id(p)))
            continue
        if value not in (None, "") and not str(value).startswith("["):
            kind = ("value", str(value))
        elif p.value in (None, ""):
            kind = ("shape", "")
        else:
            raw = str(p.value)
            if raw not in shapes:
                shapes[raw] = shape(raw)
            kind = ("shape", shapes[raw])
        keys.append((p.action, p.file, p.column, p.rule, kind))
    return keys


def _date_guesses(problems: list[Problem]) -> dict[str, tuple[int, int, object]]:
    """Per file with bad dates: (failing date cells, columns, the common format that reads
    most of them) (data/dates.py; the values are looked at, never shown: only their shape)."""
    from .dates import guess_date_format

    by_file: dict[str, list[Problem]] = {}
    for p in problems:
        # an Excel date cell has its own advice in the message (date_format: excel)
        if p.rule == "bad_date" and value_kind(p) == "date" and p.value not in (None, "") \
                and "date_format: excel" not in p.message:
            by_file.setdefault(p.file, []).append(p)
    return {f: (len(ps), len({p.column for p in ps}), guess_date_format([p.value for p in ps]))
            for f, ps in by_file.items()}


def _group_line(group: list[Problem], verbatim: bool, file_guess=None) -> str:
    """One line for many rows of one column failing one rule with one kind of value: the count,
    the first rows, one example (as its shape where the value is not shown) and, for dates, the
    common format that reads them (data/dates.py)."""
    p = group[0]
    rows = [q.row for q in group]
    first = ", ".join(str(r) for r in rows[:FIRST_ROWS])
    more = f" and {len(rows) - FIRST_ROWS} more" if len(rows) > FIRST_ROWS else ""
    value = _safe_value(p, verbatim)
    example = "" if value in (None, "") else (
        f"; values like {value}" if value.startswith("[") else f"; value '{value}'")
    column = f", column '{p.column}'" if p.column else ""
    line = (f"  [{p.action}] {p.file}{column}: {len(group)} rows "
            f"(rows {first}{more}){example}: {redact_message(p.message, p, verbatim)}")
    if p.rule == "bad_date" and value_kind(p) == "date" and "date_format: excel" not in p.message:
        from .dates import guess_date_format

        guess = guess_date_format([q.value for q in group])
        # said once per file above the details, unless this column's dates differ
        if guess is not None and (file_guess is None or guess.formats != file_guess.formats):
            line += f"; {guess.advice()}"
    return line


def format_report(problems: list[Problem], stage: str, limit: int = 40,
                  verbatim: bool = False, table: str | None = "the problems table") -> str:
    """Plain-words summary: counts per rule, then the problems themselves. A stage's summary
    goes to logs/, so values follow the rule for files (``safety.value_for_files``);
    ``verbatim`` (``her2cohort check``, at the user's desk) shows codes as they are.

    A column that fails one rule with one kind of value on ``GROUP_MIN`` rows or more is one
    line (count, first rows, an example; for dates the format that reads them); at most
    ``limit`` lines are listed; a file's dates that fail get one line with the common format
    that reads them. ``table``: where every problem is listed, one row each (the stage's
    problems table; ``her2cohort check --problems FILE``), named on the last line; None: no
    table is written (the line then says how to write one)."""
    if not problems:
        return f"{stage}: no problems found."
    by_action = Counter(p.action for p in problems)
    head = ", ".join(f"{n} {a}" for a, n in sorted(by_action.items()))
    lines = [f"{stage}: {len(problems)} problem(s) found ({head})."]
    by_rule = Counter((p.action, p.rule) for p in problems)
    for (action, rule), n in sorted(by_rule.items()):
        lines.append(f"  {n:5d} x {rule} [{action}]")
    order = sorted(problems, key=lambda p: (ACTIONS.index(p.action) if p.action in ACTIONS
                                            else 9, p.file, p.row or 0))
    shown: dict[tuple, str | None] = {}  # what is shown of a value, once per distinct value
    values = []
    for p in order:
        k = (p.value, p.kind, p.redact, p.rule)  # all that _safe_value reads
        if k not in shown:
            shown[k] = _safe_value(p, verbatim)
        values.append(shown[k])
    keys = _group_keys(order, values)
    groups: dict[tuple, list[Problem]] = {}
    for p, key in zip(order, keys):
        groups.setdefault(key, []).append(p)
    guesses = _date_guesses(order)
    for file, (n, n_cols, guess) in guesses.items():
        if guess is not None and (n >= GROUP_MIN or n_cols > 1):
            lines.append(f"Dates of {file}: {n} cell(s) in {n_cols} column(s) do not read with "
                         f"the mapping's date_format; {guess.advice()}.")
    lines.append("Details:")
    shaped = False
    listed = 0  # problems shown (a group line shows all of its rows)
    entries = 0
    done: set[tuple] = set()
    for p, value, key in zip(order, values, keys):
        group = groups[key]
        if len(group) >= GROUP_MIN:
            if key in done:
                continue
            if entries >= limit:
                break
            done.add(key)
            lines.append(_group_line(group, verbatim, (guesses.get(p.file) or (0, 0, None))[2]))
            listed += len(group)
        else:
            if entries >= limit:
                break
            lines.append(f"  [{p.action}] {_where(p)}{_shown(value)}: "
                         f"{redact_message(p.message, p, verbatim)}")
            listed += 1
        entries += 1
        shaped = shaped or str(value).startswith("[shape:")
    grouped = any(len(g) >= GROUP_MIN for g in groups.values())
    rest = len(order) - listed
    if table is None:
        where = ("a problems table, which 'her2cohort check --problems FILE' writes "
                 "(one row per problem)")
    else:
        where = f"{table} (one row per problem)"
    if rest > 0:
        lines.append(f"  ... and {rest} more: all {len(order)} are listed in {where}.")
    elif grouped:
        lines.append(f"  Every row of the groups above is listed in {where}.")
    if shaped and not verbatim:
        lines.append("Values that may be patient data are shown by their shape (L upper-case, "
                     "l lower-case letter, d digit; config/README.md); 'her2cohort check' shows "
                     "unmapped codes at your desk.")
    return "\n".join(lines)


def did_you_mean_level(value: str, levels) -> str:
    """' (did you mean 'left'?)' for a code close to one level of the vocabulary or one code the
    mapping maps (difflib, compared without case and surrounding space), else ''. Only levels
    are printed, never the value."""
    import difflib

    by_lower: dict[str, str] = {}
    for lv in levels:
        by_lower.setdefault(str(lv).strip().lower(), str(lv))
    word = str(value).strip().lower()
    if not word:
        return ""
    close = difflib.get_close_matches(word, list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def quarantine_reasons(problems: list[Problem]) -> dict[tuple[str, int], list[str]]:
    """(file, row) -> the rules, in order and once each, that quarantine that row."""
    reasons: dict[tuple[str, int], list[str]] = {}
    for p in problems:
        if p.action == "quarantine" and p.row is not None:
            rules = reasons.setdefault(p.record or (p.file, p.row), [])
            if p.rule not in rules:
                rules.append(p.rule)
    return reasons


def raise_if_failing(problems: list[Problem], stage: str) -> None:
    failing = [p for p in problems if p.action == "fail"]
    if failing:
        raise InputError(problems, stage)
