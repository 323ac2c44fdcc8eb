"""Derived variables and endpoints: HER2 class, pCR, DFS, HER2 loss, age group, HR, stage.

Every choice a study makes (pCR definition, DFS origin and events, cut-offs, regimen classes) is
passed in from ``config/config.yaml``; the functions only apply it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.dates import completed_years
from .her2 import classify_her2, her2_loss

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
    contact. ``events`` lists recurrence types that count, plus ``death`` for death from any cause.
    Returns columns dfs_months, dfs_event, dfs_event_type; NA where the origin date is missing."""
    if origin not in DFS_ORIGINS:
        raise ValueError(f"unknown DFS origin {origin!r}; allowed: {', '.join(DFS_ORIGINS)}")
    t0 = df[DFS_ORIGINS[origin]]
    rec_counts = df[recurrence_type].isin([e for e in events if e != "death"]).fillna(False)
    rec = df[recurrence_date].where(rec_counts.to_numpy())
    death = df[death_date] if "death" in events else pd.Series(pd.NaT, index=df.index)
    event_date = pd.concat([rec, death], axis=1).min(axis=1)
    has_event = event_date.notna()
    end = event_date.where(has_event, df[last_contact])
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


def derive(df: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Add every derived variable and endpoint to the validated table (same rows)."""
    out = df.copy()
    h = cfg["her2"]
    her2 = classify_her2(out, guideline=str(h["guideline"]), discordance=h["discordance"])
    for c in her2.columns:
        out[c] = her2[c]
    out["age"] = ((out["diagnosis_date"] - out["birth_date"]).dt.days / 365.25).round(6)
    d = cfg["derived"]
    # groups by completed years, so that a 40th birthday on the diagnosis day counts as 40
    years = completed_years(out["birth_date"], out["diagnosis_date"]).astype("float64")
    out["age_group"] = cut_groups(years, d["age_cuts"], d["age_labels"])
    thr = d["hr_positive_threshold_pct"]
    er_pos, pr_pos = out["er_pct"] >= thr, out["pr_pct"] >= thr
    hr = pd.Series(pd.NA, index=out.index, dtype="string")
    hr[(er_pos | pr_pos).fillna(False)] = "positive"
    hr[((out["er_pct"] < thr) & (out["pr_pct"] < thr)).fillna(False)] = "negative"
    out["hr_status"] = hr
    out["er_status"] = np.where(out["er_pct"].isna(), None,
                                np.where(er_pos, "positive", "negative"))
    out["er_status"] = out["er_status"].astype("string")
    out["ki67_group"] = cut_groups(out["ki67_pct"], [d["ki67_cut_pct"]],
                                   [f"<{d['ki67_cut_pct']:g}%", f">={d['ki67_cut_pct']:g}%"])
    out["stage"] = ajcc8_stage(out["ct"], out["cn"], out["cm"])
    out["diagnosis_year"] = out["diagnosis_date"].dt.year.astype("Int64")
    reg = cfg["regimens"]
    out["anti_her2"] = out["regimen"].map(
        {k: v["anti_her2"] for k, v in reg.items()}).astype("string")
    out["backbone"] = out["regimen"].map(
        {k: v["backbone"] for k, v in reg.items()}).astype("string")
    p = cfg["pcr"]
    out["pcr"] = pcr(out["ypt"], out["ypn"], p["definition"], p.get("itc_is_pcr", False))
    post_ish = out["post_ish_result"].astype("string")
    # HER2 loss is defined for residual invasive tumour only (a re-tested DCIS is not counted)
    residual = residual_invasive(out["ypt"], out["ypn"]).fillna(False).to_numpy(dtype=bool)
    out["her2_loss"] = her2_loss(out["post_her2_ihc"], post_ish).where(residual, pd.NA)
    s = cfg["dfs"]
    surv = dfs(out, origin=s["origin"], events=s["events"])
    for c in surv.columns:
        out[c] = surv[c]
    return out
