"""Which recorded fields each analysis needs: requirements follow the analyses.

A *need* is one fact an enabled analysis uses (a derived column such as ``pcr`` or
``hr_status``) with the *forms* a centre may record it in: each form is a set of canonical
fields that together give the fact. A centre mapping meets a need when it maps every field of
at least one form, or declares the fact's fields under ``not_recorded:`` (the analyses that
need it then run without that centre's patients, and ``her2cohort check`` says so). A field no
enabled analysis needs is never required.

Imports nothing heavy: the Snakefile reads these requirements when the workflow is parsed.
"""

from __future__ import annotations

from typing import Any

ANALYSES = ("table1", "pcr", "her2_loss", "dfs")

# Origin of DFS time -> the date field it starts from (study/derive.py uses the same).
DFS_ORIGIN_FIELDS = {"surgery": "surgery_date", "diagnosis": "diagnosis_date",
                     "nst_start": "nst_start_date"}

# derived column -> forms (alternatives, each a list of canonical fields). A column not listed
# here is a canonical field itself: its only form is [column].
FORMS: dict[str, list[list[str]]] = {
    "age": [["age_years"], ["birth_date", "diagnosis_date"]],
    "age_group": [["age_years"], ["birth_date", "diagnosis_date"]],
    "diagnosis_year": [["diagnosis_date"]],
    "her2_class": [["her2_ihc"]],
    "her2_status": [["her2_ihc"], ["ish_result"], ["ish_ratio", "her2_copies"],
                    ["her2_status"]],
    "her2_low": [["her2_ihc"]],
    "er_status": [["er_pct"], ["er_status"]],
    "pr_status": [["pr_pct"], ["pr_status"]],
    "hr_status": [["er_pct", "pr_pct"], ["er_status", "pr_status"], ["hr_status"]],
    "ki67_group": [["ki67_pct"]],
    "stage": [["ct", "cn", "cm"]],
    "anti_her2": [["regimen"], ["anti_her2"]],
    "backbone": [["regimen"]],
    "pcr": [["ypt", "ypn"], ["pcr"]],
    "her2_loss": [["post_her2_ihc"]],
    "centre": [[]],
}

# What each analysis uses besides the grouping column, the criteria and Table 1's variables.
ANALYSIS_COLUMNS = {
    "pcr": ["pcr", "anti_her2"],
    "her2_loss": ["her2_loss", "pcr"],
    "dfs": ["dfs"],
}


def forms_of(column: str, dfs_origin: str = "surgery") -> list[list[str]]:
    """The ways a centre can record what ``column`` is derived from."""
    if column in ("dfs", "dfs_months", "dfs_event"):
        origin = DFS_ORIGIN_FIELDS.get(dfs_origin, "surgery_date")
        return [["dfs_time", "dfs_event"],
                [origin, "last_contact_date", "recurrence_date", "recurrence_type",
                 "vital_status"]]
    return FORMS.get(column, [[column]])


def _add(needs: dict[str, dict[str, Any]], column: str, by: str, dfs_origin: str) -> None:
    forms = forms_of(column, dfs_origin)
    if forms == [[]]:
        return
    need = needs.setdefault(column, {"fact": column, "forms": forms, "by": []})
    if by not in need["by"]:
        need["by"].append(by)


def required_fields(cfg: dict) -> list[dict[str, Any]]:
    """Every need of the enabled analyses, the groups and the exclusion criteria, in a stable
    order: ``[{"fact": ..., "forms": [[field, ...], ...], "by": [analysis, ...]}, ...]``."""
    enabled = {a: bool((cfg.get("analyses") or {}).get(a, True)) for a in ANALYSES}
    origin = str((cfg.get("dfs") or {}).get("origin", "surgery"))
    needs: dict[str, dict[str, Any]] = {}
    group_col = (cfg.get("groups") or {}).get("column")
    if group_col:
        _add(needs, group_col, "groups", origin)
    for crit in cfg.get("criteria") or []:
        cols = crit.get("columns") or [crit.get("column")]
        for c in cols:
            if c:
                _add(needs, c, f"criterion {crit.get('id')}", origin)
    if enabled["table1"]:
        for v in (cfg.get("table1") or {}).get("variables") or []:
            name = v["name"] if isinstance(v, dict) else str(v)
            _add(needs, name, "table1", origin)
    for analysis, cols in ANALYSIS_COLUMNS.items():
        if enabled[analysis]:
            for c in cols:
                _add(needs, c, analysis, origin)
    return [needs[k] for k in sorted(needs)]
