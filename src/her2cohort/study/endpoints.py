"""Time-to-event endpoints besides DFS (study/derive.py): overall survival and event-free
survival, from the recorded dates, per STEEP 2.0 (Tolaney et al., J Clin Oncol 2021) and the
neoadjuvant definitions of NeoSTEEP (Litton et al., J Clin Oncol 2023).

- OS: death from any cause; alive patients are censored at last contact. Time zero is a
  configured date (surgery by default, as DFS).
- EFS (neoadjuvant): from the start of neoadjuvant therapy to progression that precludes
  surgery, recurrence after surgery (the DFS event types configured) or death from any cause.
  Progression before surgery is not a canonical field, so EFS is only defined where every
  patient counted had surgery (then no progression precluded it); :func:`efs_defined` says
  whether it is.

Pure functions of the analysis table: NA where a date needed is missing (left out downstream
as R's na.omit, with counts).
"""

from __future__ import annotations

import pandas as pd

from .derive import DAYS_PER_MONTH, DFS_ORIGINS, dfs

OS_FIELDS = ("vital_status", "death_date", "last_contact_date")


def overall_survival(df: pd.DataFrame, origin: str = "surgery") -> pd.DataFrame:
    """OS months and event (0/1) from ``origin`` (surgery, diagnosis, nst_start): the death
    date for patients who died, last contact otherwise. Columns ``os_months``, ``os_event``;
    NA where the origin, the vital status or the end date is missing."""
    if origin not in DFS_ORIGINS:
        raise ValueError(f"unknown OS origin {origin!r}; allowed: {', '.join(DFS_ORIGINS)}")
    need = [DFS_ORIGINS[origin], *OS_FIELDS]
    absent = [c for c in need if c not in df.columns]
    if absent:
        return pd.DataFrame({"os_months": pd.Series(pd.NA, index=df.index, dtype="Float64"),
                             "os_event": pd.Series(pd.NA, index=df.index, dtype="Int8")})
    dead = (df["vital_status"] == "dead") | df["death_date"].notna()
    known = df["vital_status"].notna() | df["death_date"].notna()
    end = df["death_date"].where(df["death_date"].notna(), df["last_contact_date"])
    months = (end - df[DFS_ORIGINS[origin]]).dt.days / DAYS_PER_MONTH
    ok = known & months.notna()
    return pd.DataFrame({
        "os_months": months.where(ok).astype("float64"),
        "os_event": dead.fillna(False).astype("Int8").where(ok),
    }, index=df.index)


def event_free_survival(df: pd.DataFrame, events: list[str]) -> pd.DataFrame:
    """EFS months and event from the start of neoadjuvant therapy: first recurrence of a type
    in ``events`` or death from any cause; censored at last contact. Columns ``efs_months``,
    ``efs_event``. See :func:`efs_defined` for when it is a valid EFS."""
    need = ["nst_start_date", "recurrence_type", "recurrence_date", "death_date",
            "last_contact_date"]
    if any(c not in df.columns for c in need):
        return pd.DataFrame({"efs_months": pd.Series(pd.NA, index=df.index, dtype="Float64"),
                             "efs_event": pd.Series(pd.NA, index=df.index, dtype="Int8")})
    ev = sorted(set(events) | {"death"})
    out = dfs(df, origin="nst_start", events=ev)
    return pd.DataFrame({"efs_months": out["dfs_months"].astype("float64"),
                         "efs_event": out["dfs_event"]}, index=df.index)


def efs_defined(df: pd.DataFrame) -> tuple[bool, str]:
    """Whether EFS can be computed on these patients, and why not: progression precluding
    surgery is not recorded, so every patient must have had surgery."""
    if "surgery_date" not in df.columns:
        return False, "surgery dates are not recorded"
    no_surgery = int(df["surgery_date"].isna().sum())
    if no_surgery:
        return False, (f"{no_surgery} patient(s) had no surgery and progression precluding "
                       "surgery (an EFS event) is not recorded")
    return True, ""
