"""Needs of the enabled analyses against what one centre mapping records (generic: the list of
needs is built by ``study.requirements``; each need is ``{"fact", "forms", "by"}`` where a form
is a list of canonical fields that together give the fact)."""

from __future__ import annotations

from typing import Any


def split_needs(needs: list[dict[str, Any]], mapped: set[str],
                not_recorded: set[str]) -> tuple[list[dict], list[dict]]:
    """Split needs into (unmet: a mapping error, unsupported: declared not recorded).

    A need is met when every field of one of its forms is mapped. Otherwise it is unsupported
    when the centre declares under ``not_recorded`` a field of it (saying it lacks the fact;
    ``her2cohort check`` then lists the analyses its patients are left out of), and unmet
    (the mapping must map it or declare it) when it declares none."""
    unmet, unsupported = [], []
    for need in needs:
        if any(set(form) <= mapped for form in need["forms"]):
            continue
        fields = {f for form in need["forms"] for f in form}
        if fields & not_recorded:
            unsupported.append(need)
        else:
            unmet.append(need)
    return unmet, unsupported


def describe_forms(need: dict[str, Any]) -> str:
    """'ypt' and 'ypn', or 'pcr' (for messages)."""
    return ", or ".join("'" + "' and '".join(form) + "'" for form in need["forms"])


def unmet_message(path: str, unmet: list[dict[str, Any]]) -> str:
    lines = [(f"{path}: the enabled analyses need facts this mapping neither maps nor declares "
             "not recorded:")]
    for need in unmet:
        lines.append(f"  {need['fact']} (used by {', '.join(need['by'])}): map {describe_forms(need)}"
                     f" under 'columns:', or list the fields under 'not_recorded:' (the "
                     "analysis then runs without this centre), or switch the analysis off under "
                     "'analyses:' in the config")
    return "\n".join(lines)
