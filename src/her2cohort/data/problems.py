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
}
FILE_LEVEL = frozenset(
    {"file_missing", "file_encoding", "file_empty", "file_parse", "sheet_missing",
     "column_missing", "column_duplicated", "header", "unclosed_quote", "sheet_hidden",
     "sheet_split"}
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
    """Problems as a table; ``redacted`` replaces identifier and date values (for results/)."""
    rows = []
    for p in problems:
        d = asdict(p)
        if redacted:
            d["value"] = _safe_value(p)
            d["message"] = redact_message(p.message)
        rows.append({k: d[k] for k in PROBLEM_COLUMNS})
    df = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    df["row"] = df["row"].astype("Int64")
    return df.sort_values(["file", "row", "column", "rule"], kind="mergesort",
                          na_position="first").reset_index(drop=True)


def _safe_value(p: Problem) -> str | None:
    """The value as it may be shown in results/ and on the console (which goes to logs/):
    identifiers and dates redacted, invisible characters escaped."""
    from .safety import redact_text, show

    if p.value in (None, ""):
        return p.value
    if p.redact:
        return "[redacted]"
    return show(redact_text(str(p.value)))


def redact_message(message: str) -> str:
    """A problem message with date-like text redacted (the example date 31 Dec 2019 that
    messages use to show a format is kept)."""
    from .safety import redact_text

    return redact_text(message, ids=False, keep_example=True)


def format_report(problems: list[Problem], stage: str, limit: int = 40) -> str:
    """Plain-words console summary: counts per rule, then the problems themselves."""
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
    lines.append("Details:")
    for p in order[:limit]:
        where = p.file + (f", row {p.row}" if p.row is not None else "")
        if p.column:
            where += f", column '{p.column}'"
        value = _safe_value(p)
        val = "" if value in (None, "") else f", value '{value}'"
        lines.append(f"  [{p.action}] {where}{val}: {redact_message(p.message)}")
    if len(order) > limit:
        lines.append(f"  ... and {len(order) - limit} more (see the problems table).")
    return "\n".join(lines)


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
