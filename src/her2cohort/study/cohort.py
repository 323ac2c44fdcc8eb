"""Inclusion and exclusion: criteria from config applied in order, with a flow of counts.

Every record received ends in exactly one place: quarantined (a data defect, with its rules),
excluded (the first criterion it meets, in config order) or analysed. ``flow`` counts them per
step, overall and per centre, and the identity received = analysed + excluded + quarantined is
checked here before anything is written.
"""

from __future__ import annotations

import pandas as pd

OPS = ("in", "not_in", "missing", "any_missing", "outside")


def criterion_mask(df: pd.DataFrame, crit: dict) -> pd.Series:
    """True where the record meets the exclusion criterion (missing values never match ``in``)."""
    op = crit["op"]
    if op == "any_missing":
        cols = crit["columns"]
        return df[cols].isna().any(axis=1)
    col = df[crit["column"]]
    if op == "in":
        return col.isin(crit["values"]).fillna(False).astype(bool)
    if op == "not_in":
        return (~col.isin(crit["values"])).fillna(True).astype(bool) | col.isna()
    if op == "missing":
        return col.isna()
    if op == "outside":
        lo, hi = crit["range"]
        return ((col < lo) | (col > hi)).fillna(False).astype(bool)
    raise ValueError(f"criterion {crit.get('id')}: unknown op {op!r}; allowed: {', '.join(OPS)}")


def apply_criteria(derived: pd.DataFrame, quarantined: pd.DataFrame,
                   criteria: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (analysed rows, dispositions of every record, flow table)."""
    keys = ["centre", "source_file", "source_row", "patient_key"]
    disp_parts = [quarantined.loc[:, keys].assign(disposition="quarantined",
                                                  reason=quarantined["reason"])]
    remaining = derived
    n_received = len(derived) + len(quarantined)
    centres = sorted(set(derived["centre"]).union(quarantined["centre"]))
    rows = [{"step": 0, "id": "received", "kind": "start",
             "label": "Records received", "n_before": n_received, "n_excluded": 0,
             "n_after": n_received, "detail": ""}]
    q_reasons = quarantined["reason"].str.split(";").explode().value_counts().sort_index()
    rows.append({"step": 1, "id": "quarantined", "kind": "quarantine",
                 "label": "Data defects", "n_before": n_received,
                 "n_excluded": len(quarantined), "n_after": len(derived),
                 "detail": _quarantine_detail(q_reasons, len(quarantined))})
    per_centre = [{"id": "received", **_by_centre(pd.concat([derived, quarantined]), centres)},
                  {"id": "quarantined", **_by_centre(quarantined, centres)}]
    for step, crit in enumerate(criteria, start=2):
        hit = criterion_mask(remaining, crit)
        excluded = remaining[hit.to_numpy()]
        disp_parts.append(excluded.loc[:, keys].assign(disposition="excluded", reason=crit["id"]))
        rows.append({"step": step, "id": crit["id"], "kind": "exclude", "label": crit["label"],
                     "n_before": len(remaining), "n_excluded": len(excluded),
                     "n_after": len(remaining) - len(excluded), "detail": ""})
        per_centre.append({"id": crit["id"], **_by_centre(excluded, centres)})
        remaining = remaining[~hit.to_numpy()]
    disp_parts.append(remaining.loc[:, keys].assign(disposition="analysed", reason=""))
    per_centre.append({"id": "analysed", **_by_centre(remaining, centres)})
    dispositions = pd.concat(disp_parts, ignore_index=True).sort_values(
        ["source_file", "source_row"], kind="mergesort").reset_index(drop=True)
    flow = pd.DataFrame(rows)
    flow_centre = pd.DataFrame(per_centre)
    n_acc = len(dispositions)
    if n_acc != n_received or dispositions.duplicated(["source_file", "source_row"]).any():
        raise AssertionError(f"row accounting broken: {n_received} received, {n_acc} accounted")
    return remaining.reset_index(drop=True), dispositions, flow.merge(flow_centre, on="id")


def _quarantine_detail(rule_counts: pd.Series, n_records: int) -> str:
    """Records per rule; says so when a record broke several rules (counts then exceed n)."""
    text = "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in rule_counts.items())
    if rule_counts.sum() > n_records:
        text += " (records per rule; a record may break several)"
    return text


def _by_centre(df: pd.DataFrame, centres: list[str]) -> dict[str, int]:
    counts = df["centre"].value_counts()
    return {f"n_{c}": int(counts.get(c, 0)) for c in centres}
