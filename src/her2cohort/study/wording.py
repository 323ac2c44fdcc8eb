"""Domain sentences that depend on the data as well as the study definition: how the HER2
status of the analysed patients was established."""

from __future__ import annotations

import pandas as pd

HER2_COLUMNS = ("her2_class", "her2_status", "her2_low", "her2_ultralow")
_DETAIL = ("her2_ihc", "ish_ratio", "her2_copies", "ish_result")
BASIS_COLUMNS = _DETAIL  # the columns her2_basis reads


def her2_relevant(groups: dict, criteria: list[dict] | None = None) -> bool:
    """Whether the study speaks of HER2 status: the exposure or a criterion uses it."""
    cols = {groups.get("column")}
    for c in criteria or []:
        cols |= {c.get("column"), *(c.get("columns") or [])}
    return bool(cols & set(HER2_COLUMNS))


def her2_basis(df: pd.DataFrame, rule_name: str, guideline: str) -> str:
    """'HER2 status by ASCO/CAP 2018.' when every patient's status came from IHC/ISH,
    'HER2 status as recorded by the centres.' when none did, both with counts when mixed."""
    have = [c for c in _DETAIL if c in df.columns]
    n = len(df)
    k = int(df[have].notna().any(axis=1).sum()) if have and n else 0
    rule = f"{rule_name} {guideline}".strip()
    if n and k == n:
        return f"HER2 status by {rule}."
    if k == 0:
        return "HER2 status as recorded by the centres."
    return (f"HER2 status by {rule} where IHC or ISH results were recorded ({k} of {n} "
            "patients), else as recorded by the centres.")
