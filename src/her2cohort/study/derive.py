"""Derived variables and endpoints: HER2 class, pCR, DFS, HER2 loss, age group, HR, stage.

Every choice a study makes (pCR definition, DFS origin and events, cut-offs, regimen classes) is
passed in from ``config/config.yaml``; the functions only apply it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.dates import completed_years
from .her2 import classify_her2, her2_loss, ish_from_totals

DAYS_PER_MONTH = 365.25 / 12

PCR_DEFINITIONS = {
    # name: (allowed ypT, requires ypN0)
    "ypT0/is ypN0": (("ypT0", "ypTis"), True),
    "ypT0 ypN0": (("ypT0",), True),
    "ypT0/is": (("ypT0", "ypTis"), False),
}
DFS_ORIGINS = {"surgery": "surgery_date", "diagnosis": "diagnosis_date",
               "nst_start": "nst_start_date"}


def pcr(ypt: pd.Series, ypn: pd.Series, definition: str = "ypT0/is ypN0",
        itc_is_pcr: bool = False) -> pd.Series:
    """Pathologic complete response as nullable boolean (NA where the needed ypT/ypN is missing).

    ``ypT0/is ypN0`` (default; FDA 2020, NeoSTEEP 2023): no invasive cancer in breast and nodes,
    DCIS allowed. ``ypT0 ypN0``: no DCIS either. ``ypT0/is``: breast only. Isolated tumour cells
    (ypN0(i+)) count as node-negative only when ``itc_is_pcr`` is set.
    """
    if definition not in PCR_DEFINITIONS:
        raise ValueError(f"unknown pCR definition {definition!r}; "
                         f"allowed: {', '.join(PCR_DEFINITIONS)}")
    breast_ok, needs_nodes = PCR_DEFINITIONS[definition]
    ypt = ypt.astype("string")
    ypn = ypn.astype("string")
    result = ypt.isin(breast_ok)
    missing = ypt.isna()
    if needs_nodes:
        node0 = ("ypN0", "ypN0(i+)") if itc_is_pcr else ("ypN0",)
        result = result & ypn.isin(node0)
        missing = missing | ypn.isna()
    return pd.Series(result.astype("boolean"), index=ypt.index).mask(missing.to_numpy())


def dfs(df: pd.DataFrame, *, origin: str = "surgery", events: list[str],
        recurrence_type="recurrence_type", recurrence_date="recurrence_date",
        death_date="death_date", last_contact="last_contact_date") -> pd.DataFrame:
    """DFS time (months) and event (0/1) per STEEP: first qualifying event, else censored at last
    contact (the death date where the patient died and no last contact is recorded).
    ``events`` lists recurrence types that count, plus ``death`` for death from any cause.
    Returns columns dfs_months, dfs_event, dfs_event_type; NA where the origin date is missing."""
    if origin not in DFS_ORIGINS:
        raise ValueError(f"unknown DFS origin {origin!r}; allowed: {', '.join(DFS_ORIGINS)}")
    t0 = df[DFS_ORIGINS[origin]]
    rec_counts = df[recurrence_type].isin([e for e in events if e != "death"]).fillna(False)
    rec = df[recurrence_date].where(rec_counts.to_numpy())
    death = df[death_date] if "death" in events else pd.Series(pd.NaT, index=df.index)
    event_date = pd.concat([rec, death], axis=1).min(axis=1)
    has_event = event_date.notna()
    # a patient who died without a later contact recorded: the death date is the last contact
    last = df[last_contact].where(df[last_contact].notna(), df[death_date])
    end = event_date.where(has_event, last)
    months = (end - t0).dt.days / DAYS_PER_MONTH
    etype = pd.Series(pd.NA, index=df.index, dtype="string")
    is_rec = has_event & rec.notna() & ((rec <= death) | death.isna())
    etype[is_rec] = df.loc[is_rec, recurrence_type]
    etype[has_event & ~is_rec] = "death"
    ok = t0.notna() & end.notna()
    return pd.DataFrame({
        "dfs_months": months.where(ok),
        "dfs_event": has_event.astype("Int8").where(ok),
        "dfs_event_type": etype.where(ok),
    }, index=df.index)


def ajcc8_stage(ct: pd.Series, cn: pd.Series, cm: pd.Series) -> pd.Series:
    """AJCC 8th edition anatomic clinical stage group (T1-4, N0-3, M0/1)."""
    t = ct.astype("string")
    n = cn.astype("string")
    m = cm.astype("string")
    conds = [
        m == "M1",
        n == "N3",
        t == "T4",
        (n == "N2") | ((t == "T3") & (n == "N1")),
        ((t == "T2") & (n == "N1")) | ((t == "T3") & (n == "N0")),
        ((t == "T1") & (n == "N1")) | ((t == "T2") & (n == "N0")),
        (t == "T1") & (n == "N0"),
    ]
    labels = ["IV", "IIIC", "IIIB", "IIIA", "IIB", "IIA", "IA"]
    filled = [c.fillna(False).to_numpy(dtype=bool) for c in conds]
    out = pd.Series(np.select(filled, labels, default=""), index=ct.index, dtype="string")
    return out.mask(out == "")


def residual_invasive(ypt: pd.Series, ypn: pd.Series) -> pd.Series:
    """True where invasive cancer remains in breast or nodes (not ypT0/is ypN0); NA if unknown.
    HER2 loss is only defined for such residual tumour."""
    ypt = ypt.astype("string")
    ypn = ypn.astype("string")
    none_left = ypt.isin(("ypT0", "ypTis")) & (ypn == "ypN0")
    return (~none_left).astype("boolean").mask((ypt.isna() | ypn.isna()).to_numpy())


def cut_groups(x: pd.Series, cuts: list[float], labels: list[str]) -> pd.Series:
    """Left-closed groups: cuts [40, 60] -> <40, 40-59, >=60 (labels given by config)."""
    bins = [-np.inf, *cuts, np.inf]
    out = pd.cut(x, bins=bins, labels=labels, right=False)
    return out.astype("string")


def _first_known(*series: pd.Series) -> pd.Series:
    """Elementwise the first non-missing value (the detailed form first, then the recorded)."""
    out = series[0].copy()
    for other in series[1:]:
        out = out.where(out.notna(), other)
    return out


def _status_from_pct(pct: pd.Series, thr: float) -> pd.Series:
    return pd.Series(np.where(pct.isna(), None, np.where(pct >= thr, "positive", "negative")),
                     index=pct.index, dtype="string")


def settle_her2(her2: pd.DataFrame, ihc: pd.Series, recorded_status: pd.Series,
                copies: pd.Series | None = None, guideline: str = "2018") -> pd.DataFrame:
    """HER2 status where the IHC score is missing, and the reason for an unknown class.

    ``her2`` is :func:`~her2cohort.study.her2.classify_her2` output. Without the IHC score the
    ISH numbers settle the status only where the guideline's ISH call does not depend on IHC
    (``ish_status_computed`` is then already that call):

    - ASCO/CAP 2018, dual probe: group 1 (ratio >= 2.0, copies >= 4.0) positive, group 5
      (ratio < 2.0, copies < 4.0) negative; groups 2-4 need the IHC score (unknown, reason
      "ISH group N needs the IHC score");
    - ASCO/CAP 2013, dual probe: ratio >= 2.0 or copies >= 6.0 positive; ratio < 2.0 and
      copies < 4.0 negative; ratio < 2.0 with 4.0-6.0 copies equivocal (unknown);
    - single probe (both): copies >= 6.0 positive, < 4.0 negative, 4.0-6.0 unknown.

    A final ISH result that is positive (recomputed, or the centre's reported result where
    the numbers do not settle it, per ``her2.discordance``; also a reported positive where the
    numbers give a 2013 equivocal call) is positive whatever the IHC score.
    A negative ISH result settles negative only where the numbers say negative on their own (a
    reported negative ISH of a group 2-4 case needs the IHC score: IHC 3+ is positive). A final
    status recorded by the centre (``her2_status``) is used where nothing else settles it. The
    3+ vs 2+/ISH+ class always needs the IHC score. ``copies`` (mean HER2 copies per cell)
    words the reason of single-probe cases; ``guideline`` that of 2013 equivocal cases."""
    out = her2.copy()
    no_ihc = ihc.isna().to_numpy()
    group = out["ish_group"]
    computed = out["ish_status_computed"].astype("string")
    final = out["ish_status"].astype("string")
    settled = pd.Series(pd.NA, index=out.index, dtype="string")
    # a reported positive ISH counts where the numbers leave the call open (2013 equivocal:
    # the centre's call after re-testing)
    open_call = ~computed.isin(["positive", "negative"]).fillna(False).to_numpy(dtype=bool)
    reported_pos = (out["ish_status_reported"] == "positive").fillna(False).to_numpy()
    pos = ((final == "positive").fillna(False).to_numpy() | (open_call & reported_pos)) & no_ihc
    neg = ((final == "negative") & (computed == "negative")).fillna(False).to_numpy() & no_ihc
    settled[pos] = "positive"
    settled[neg] = "negative"
    status = out["her2_status"].mask(out["her2_status"] == "unknown")
    status = _first_known(status, settled, recorded_status.astype("string"))
    out["her2_status"] = status.fillna("unknown").astype("string")
    reason = pd.Series("", index=out.index, dtype="string")
    cls = out["her2_class"]
    reason[(cls == "unknown").to_numpy() & no_ihc] = "IHC score not recorded"
    # why the status stays unknown without the IHC score (else the class reason above)
    unsettled = no_ihc & (out["her2_status"] == "unknown").to_numpy()
    if guideline == "2013":
        eq = (group == 4).fillna(False).to_numpy() & unsettled
        reason[eq] = ("ISH equivocal under ASCO/CAP 2013 (ratio < 2.0, 4.0-6.0 copies) needs "
                      "the IHC score")
    else:
        for g in (2, 3, 4):
            reason[(group == g).fillna(False).to_numpy() & unsettled] = \
                f"ISH group {g} needs the IHC score"
    if copies is not None:
        c = pd.to_numeric(copies, errors="coerce").astype("float64")
        mid = (group.isna().to_numpy() & (c >= 4.0).to_numpy() & (c < 6.0).to_numpy()
               & unsettled)
        reason[mid] = "single-probe ISH with 4.0-6.0 HER2 copies needs the IHC score"
    reason[(cls == "2+/ISH unknown").to_numpy()] = "IHC 2+ without an ISH result"
    out["her2_class_reason"] = reason.mask(reason == "")
    return out


def derive(df: pd.DataFrame, *, her2_guideline: str = "2018",
           her2_discordance: str = "recompute", age_cuts: list[float] = (40, 60),
           age_labels: list[str] = ("<40", "40-59", ">=60"), ki67_cut_pct: float = 20,
           hr_threshold_pct: float = 1, regimens: dict | None = None,
           pcr_definition: str = "ypT0/is ypN0", itc_is_pcr: bool = False,
           dfs_origin: str = "surgery", dfs_events: list[str] | None = None,
           endpoints: dict | None = None,
           not_recorded: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """Add every derived variable and endpoint to the validated table (same rows).

    Where a fact can be recorded in several forms (study/requirements.py), the detailed form
    is used where present and the recorded one otherwise, per patient: age from birth and
    diagnosis dates else ``age_years``; ER/PR/HR status from percentages else as recorded; pCR
    from ypT/ypN (``pcr_definition``) else as recorded; DFS from dates else from ``dfs_time``
    and ``dfs_event``; anti-HER2 class from the regimen else as recorded. ``*_source`` columns
    say which form each patient's value came from."""
    out = df.copy()
    # ISH numbers recorded as signal totals: per-cell means (ish_source says which)
    ish = ish_from_totals(out)
    for c in ("ish_ratio", "her2_copies", "ish_source"):
        out[c] = ish[c]
    her2 = classify_her2(out, guideline=str(her2_guideline), discordance=her2_discordance)
    her2 = settle_her2(her2, out["her2_ihc"], out["her2_status"], copies=out["her2_copies"],
                       guideline=str(her2_guideline))
    for c in her2.columns:
        out[c] = her2[c]
    exact_age = ((out["diagnosis_date"] - out["birth_date"]).dt.days / 365.25).round(6)
    out["age"] = _first_known(exact_age, out["age_years"]).astype("float64")
    # groups by completed years, so that a 40th birthday on the diagnosis day counts as 40
    years = completed_years(out["birth_date"], out["diagnosis_date"]).astype("float64")
    years = _first_known(years, np.floor(out["age_years"]))
    out["age_group"] = cut_groups(years, list(age_cuts), list(age_labels))
    thr = hr_threshold_pct
    er = _first_known(_status_from_pct(out["er_pct"], thr), out["er_status"].astype("string"))
    pr = _first_known(_status_from_pct(out["pr_pct"], thr), out["pr_status"].astype("string"))
    hr = pd.Series(pd.NA, index=out.index, dtype="string")
    hr[((er == "positive") | (pr == "positive")).fillna(False).to_numpy()] = "positive"
    hr[((er == "negative") & (pr == "negative")).fillna(False).to_numpy()] = "negative"
    out["hr_status"] = _first_known(hr, out["hr_status"].astype("string")).astype("string")
    out["er_status"] = er
    out["pr_status"] = pr
    out["ki67_group"] = cut_groups(out["ki67_pct"], [ki67_cut_pct],
                                   [f"<{ki67_cut_pct:g}%", f">={ki67_cut_pct:g}%"])
    out["stage"] = ajcc8_stage(out["ct"], out["cn"], out["cm"])
    out["diagnosis_year"] = out["diagnosis_date"].dt.year.astype("Int64")
    reg = regimens or {}
    from_regimen = out["regimen"].map({k: v["anti_her2"] for k, v in reg.items()})
    out["anti_her2"] = _first_known(from_regimen.astype("string"),
                                    out["anti_her2"].astype("string")).astype("string")
    out["backbone"] = out["regimen"].map(
        {k: v["backbone"] for k, v in reg.items()}).astype("string")
    from_path = pcr(out["ypt"], out["ypn"], pcr_definition, itc_is_pcr)
    recorded = out["pcr"].map({"yes": True, "no": False}).astype("boolean")
    out["pcr_source"] = pd.Series(np.where(from_path.notna(), "ypT/ypN",
                                           np.where(recorded.notna(), "recorded", None)),
                                  index=out.index, dtype="string")
    out["pcr"] = _first_known(from_path, recorded).astype("boolean")
    post_ish = out["post_ish_result"].astype("string")
    # HER2 loss is defined for residual invasive tumour only (a re-tested DCIS is not counted)
    residual = residual_invasive(out["ypt"], out["ypn"])
    residual = _first_known(residual, (~out["pcr"]).astype("boolean"))
    out["her2_loss"] = her2_loss(out["post_her2_ihc"], post_ish).where(
        residual.fillna(False).to_numpy(dtype=bool), pd.NA)
    from .endpoints import endpoint_columns

    if endpoints is None:
        endpoints = {"dfs": {"origin": dfs_origin, "events": list(dfs_events or ["death"])}} \
            if dfs_events is not None else {}
    for eid, spec in endpoints.items():
        cols = endpoint_columns(out, eid, spec)
        for c in cols.columns:
            out[c] = cols[c]
    _blank_not_recorded(out, not_recorded or {}, list(endpoints))
    return out


def _blank_not_recorded(out: pd.DataFrame, not_recorded: dict[str, list[str]],
                        endpoint_ids: list[str]) -> None:
    """Set each fact a centre declares not recorded to missing for its records (in place)."""
    if not not_recorded:
        return
    mapping = out["centre_mapping"] if "centre_mapping" in out.columns else out["centre"]
    mapping = mapping.fillna(out["centre"]).astype("string")
    for centre, facts in not_recorded.items():
        rows = (mapping == centre).fillna(False).to_numpy()
        if not rows.any():
            continue
        for fact in facts:
            if fact in endpoint_ids:
                for c in (f"{fact}_months", f"{fact}_event", f"{fact}_event_type"):
                    if c in out.columns:
                        out[c] = out[c].mask(rows)  # keeps the column's dtype
                src = f"{fact}_source"
                if src in out.columns:
                    out[src] = out[src].astype("string").mask(rows,
                                                              "not recorded by the centre")
            elif fact in out.columns:
                out[fact] = out[fact].mask(rows)
