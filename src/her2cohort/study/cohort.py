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
    if crit.get("groups") is not None:  # the compared groups (merged levels, booleans)
        return group_labels_of(df, crit["groups"]).isna()
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


def value_text(v: object) -> str:
    """A level value as the text the exposure column is compared in: booleans (and YAML's
    true/false, yes/no) as "yes"/"no", numbers without a trailing .0, text as it is."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def column_text(s: pd.Series) -> pd.Series:
    """A column as text for matching exposure levels (booleans as yes/no; NA stays NA)."""
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "yes", False: "no"}).astype("string")
    if pd.api.types.is_float_dtype(s):
        if bool((s.dropna() % 1 == 0).all()):  # whole numbers: 2.0 reads as "2"
            return s.astype("Int64").astype("string")
    return s.astype("string")


def group_values(groups: dict) -> dict[str, list[str]]:
    """Level id -> the column values (as text) it holds: one, or several for a merged level."""
    given = groups.get("values") or {}
    return {lv: [value_text(v) for v in given.get(lv, [lv])] for lv in groups["levels"]}


def group_labels_of(df: pd.DataFrame, groups: dict) -> pd.Series:
    """Each record's group label (``groups["labels"]``), NA outside the compared levels."""
    labels = groups.get("labels") or {}
    mapping = {v: labels.get(lv, lv) for lv, vals in group_values(groups).items() for v in vals}
    return column_text(df[groups["column"]]).map(mapping).astype("string")


def group_criterion(column: str, levels: list[str], name: str = "group",
                    groups: dict | None = None) -> dict:
    """The last step of every flow: records outside the compared groups (for example HER2
    class unknown) are excluded with that reason, so that the analysed set is the groups."""
    crit = {"id": "not_in_compared_groups", "label": f"{name[0].upper()}{name[1:]} not one "
            f"of the compared groups", "column": column, "op": "not_in",
            "values": list(levels), "always": True}
    if groups is not None:
        crit["groups"] = groups
    return crit


def apply_criteria(derived: pd.DataFrame, quarantined: pd.DataFrame,
                   criteria: list[dict],
                   groups: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (analysed rows, dispositions of every record, flow table). With ``groups``, a
    last step excludes records outside the compared groups, where there are any."""
    if groups is not None:
        last = group_criterion(groups["column"], groups["levels"], groups.get("name", "group"),
                               groups)
        criteria = [*criteria, last]
    keys = ["centre", "source_file", "source_row", "patient_key"]
    disp_parts = [quarantined.loc[:, keys].assign(disposition="quarantined",
                                                  reason=quarantined["reason"])]
    remaining = derived
    n_received = len(derived) + len(quarantined)
    centres = sorted(set(derived["centre"]).union(quarantined["centre"]))
    rows = [{"step": 0, "id": "received", "kind": "start",
             "label": "Records received", "n_before": n_received, "n_excluded": 0,
             "n_after": n_received, "detail": ""}]
    q_reasons = (quarantined["reason"].astype("string").fillna("").str.split(";").explode()
                 .loc[lambda x: x != ""].value_counts().sort_index())
    rows.append({"step": 1, "id": "quarantined", "kind": "quarantine",
                 "label": "Data defects", "n_before": n_received,
                 "n_excluded": len(quarantined), "n_after": len(derived),
                 "detail": _quarantine_detail(q_reasons, len(quarantined))})
    per_centre = [{"id": "received", **_by_centre(pd.concat([derived[["centre"]],
                                                             quarantined[["centre"]]]),
                                                  centres)},
                  {"id": "quarantined", **_by_centre(quarantined, centres)}]
    for step, crit in enumerate(criteria, start=2):
        hit = criterion_mask(remaining, crit)
        if crit.get("always") and not hit.any():
            continue  # the implicit group step is shown only when it excludes someone
        # a criterion on a value a centre does not record (no value at all in its records) is
        # not applied there: the flow table says so instead of excluding everyone
        cols = crit.get("columns") or [crit.get("column")]
        recorded = derived[cols].notna().groupby(derived["centre"]).any().all(axis=1)
        skipped = [] if crit.get("always") else \
            sorted(str(c) for c, ok in recorded.items() if not ok)
        if skipped:
            hit = hit & ~remaining["centre"].isin(skipped).to_numpy()
        excluded = remaining[hit.to_numpy()]
        disp_parts.append(excluded.loc[:, keys].assign(disposition="excluded", reason=crit["id"]))
        rows.append({"step": step, "id": crit["id"], "kind": "exclude", "label": crit["label"],
                     "n_before": len(remaining), "n_excluded": len(excluded),
                     "n_after": len(remaining) - len(excluded),
                     "detail": (f"not applied at {', '.join(skipped)}: not recorded there"
                                if skipped else "")})
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
