"""Time-to-event endpoints of the study definition (``study.endpoints``), computed per patient
from the dates or taken as recorded (a duration and a status), and the two reference cases:
overall survival and event-free survival, from the recorded dates, per STEEP 2.0 (Tolaney et al., J Clin Oncol 2021) and the
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

import numpy as np
import pandas as pd

from .derive import DAYS_PER_MONTH, DFS_ORIGINS, dfs

OS_FIELDS = ("vital_status", "death_date", "last_contact_date")


def _recorded(df: pd.DataFrame, time: str, event: str) -> tuple[pd.Series, pd.Series]:
    """A duration (months, converted at ingest) and its status as recorded (event = 1)."""
    if time not in df.columns or event not in df.columns:
        return (pd.Series(np.nan, index=df.index, dtype="float64"),
                pd.Series(pd.NA, index=df.index, dtype="Int8"))
    t = pd.to_numeric(df[time], errors="coerce").astype("float64")
    e = df[event].astype("string").map({"event": 1, "censored": 0}).astype("Int8")
    return t, e


def _dates_else_recorded(months: pd.Series, event: pd.Series, df: pd.DataFrame, time: str,
                         flag: str, name: str) -> pd.DataFrame:
    """Per patient: the endpoint from dates where they give it, else the recorded duration and
    status; ``<name>_source`` says which."""
    given_t, given_e = _recorded(df, time, flag)
    from_dates = months.notna() & event.notna()
    t = months.where(from_dates, given_t)
    e = event.astype("Int8").where(from_dates, given_e)
    ok = t.notna() & e.notna()
    source = np.where(from_dates, "dates", np.where(ok, "recorded time", None)).astype(object)
    return pd.DataFrame({
        f"{name}_months": t.where(ok).astype("float64"),
        f"{name}_event": e.where(ok).astype("Int8"),
        f"{name}_source": pd.array(source, dtype="string"),
    }, index=df.index)


def overall_survival(df: pd.DataFrame, origin: str = "surgery") -> pd.DataFrame:
    """OS months and event (0/1) from ``origin`` (surgery, diagnosis, nst_start): the death
    date for patients who died (it is also their last contact when none is recorded), last
    contact otherwise; where the dates do not give it, ``os_time`` and ``os_event`` as
    recorded. Columns ``os_months``, ``os_event``, ``os_source`` (dates, recorded time); NA
    where neither form is complete."""
    if origin not in DFS_ORIGINS:
        raise ValueError(f"unknown OS origin {origin!r}; allowed: {', '.join(DFS_ORIGINS)}")
    need = [DFS_ORIGINS[origin], *OS_FIELDS]
    if any(c not in df.columns for c in need):
        nothing = pd.Series(np.nan, index=df.index, dtype="float64")
        return _dates_else_recorded(nothing, pd.Series(pd.NA, index=df.index, dtype="Int8"),
                                    df, "os_time", "os_event", "os")
    dead = (df["vital_status"] == "dead") | df["death_date"].notna()
    known = df["vital_status"].notna() | df["death_date"].notna()
    end = df["death_date"].where(df["death_date"].notna(), df["last_contact_date"])
    months = (end - df[DFS_ORIGINS[origin]]).dt.days / DAYS_PER_MONTH
    ok = (known & months.notna()).fillna(False).astype(bool)
    return _dates_else_recorded(months.where(ok).astype("float64"),
                                dead.fillna(False).astype("Int8").where(ok), df,
                                "os_time", "os_event", "os")


def event_free_survival(df: pd.DataFrame, events: list[str]) -> pd.DataFrame:
    """EFS months and event from the start of neoadjuvant therapy: first recurrence of a type
    in ``events`` or death from any cause; censored at last contact (the death date where the
    patient died and no later contact is recorded); where the dates do not give it,
    ``efs_time`` and ``efs_event`` as recorded. Columns ``efs_months``, ``efs_event``,
    ``efs_source``. See :func:`efs_defined` for when it is a valid EFS."""
    need = ["nst_start_date", "recurrence_type", "recurrence_date", "death_date",
            "last_contact_date"]
    if any(c not in df.columns for c in need):
        nothing = pd.Series(np.nan, index=df.index, dtype="float64")
        return _dates_else_recorded(nothing, pd.Series(pd.NA, index=df.index, dtype="Int8"),
                                    df, "efs_time", "efs_event", "efs")
    ev = sorted(set(events) | {"death"})
    out = dfs(df, origin="nst_start", events=ev)
    return _dates_else_recorded(out["dfs_months"].astype("float64"), out["dfs_event"], df,
                                "efs_time", "efs_event", "efs")


ENDPOINT_SPEC_FIELDS = ("surgery_date",)  # read by endpoint_spec (efs_defined), not the endpoints'


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


def endpoint_columns(df: pd.DataFrame, eid: str, spec: dict) -> pd.DataFrame:
    """Columns ``<eid>_months``, ``<eid>_event`` (0/1), ``<eid>_source`` ("dates" or
    "recorded time") and, where recurrences count, ``<eid>_event_type`` of one endpoint
    (``study.endpoints[eid]``: origin, events, form, recorded).

    From the dates: the first event of a type in ``events`` (``death`` = death from any
    cause), else censored at last contact, from ``origin``; an endpoint of death alone is
    overall survival (:func:`overall_survival`). As recorded: the canonical duration (months,
    converted at ingestion) and status (``event``/``censored``) pair. ``form`` ``auto`` takes
    per patient the dates where they give a value and the recorded pair otherwise."""
    from ..study.definition import RECORDED_PAIRS

    origin = spec.get("origin", "surgery")
    events = list(spec.get("events") or ["death"])
    form = spec.get("form", "auto")
    rec = spec.get("recorded") or {}
    t_col, e_col = (rec.get("time"), rec.get("event")) if rec else RECORDED_PAIRS.get(
        eid, (None, None))
    idx = df.index
    na_f = pd.Series(np.nan, index=idx, dtype="float64")
    na_e = pd.Series(pd.NA, index=idx, dtype="Int8")
    death_only = events == ["death"]
    if form in ("auto", "dates"):
        if death_only:
            os_ = overall_survival(df, origin)
            dated = (os_["os_source"] == "dates").fillna(False).to_numpy()
            d_t = os_["os_months"].where(dated)
            d_e = os_["os_event"].astype("Int8").where(dated)
            d_type = None
        else:
            need = [DFS_ORIGINS[origin], "last_contact_date", "recurrence_date",
                    "recurrence_type", "death_date"]
            if all(c in df.columns for c in need):
                out = dfs(df, origin=origin, events=events)
                d_t, d_e = out["dfs_months"].astype("float64"), out["dfs_event"].astype("Int8")
                d_type = out["dfs_event_type"].astype("string")
            else:
                d_t, d_e, d_type = na_f, na_e, None
    else:
        d_t, d_e, d_type = na_f, na_e, None
    if form in ("auto", "recorded") and t_col in df.columns and e_col in df.columns:
        r_t = df[t_col].astype("float64")
        r_e = df[e_col].map({"event": 1, "censored": 0}).astype("Int8")
    else:
        r_t, r_e = na_f, na_e
    from_dates = (d_t.notna() & d_e.notna()).to_numpy()
    from_rec = ~from_dates & (r_t.notna() & r_e.notna()).to_numpy()
    months = np.where(from_dates, d_t.to_numpy(dtype="float64", na_value=np.nan),
                      np.where(from_rec, r_t.to_numpy(dtype="float64", na_value=np.nan),
                               np.nan))
    event = d_e.where(from_dates, r_e.where(from_rec)).astype("Int8")
    source = pd.Series(np.where(from_dates, "dates", np.where(from_rec, "recorded time",
                                                                None)),
                       index=idx, dtype="string")
    out = pd.DataFrame({f"{eid}_months": months, f"{eid}_event": event,
                        f"{eid}_source": source}, index=idx)
    if not death_only:
        etype = d_type.where(from_dates) if d_type is not None else pd.Series(
            pd.NA, index=idx, dtype="string")
        etype = etype.astype("string")
        etype[from_rec & (r_e == 1).fillna(False).to_numpy()] = "any event (type not recorded)"
        out[f"{eid}_event_type"] = etype
    return out


def endpoint_spec(df: pd.DataFrame, ep) -> dict:
    """Time/event columns of endpoint ``ep`` (``definition.Endpoint``) on the analysed
    patients, its axis label and definition as the data give it (dates, recorded, or both),
    or the reason it cannot be analysed (``undefined``). Used by the survival tables and the
    Results text alike."""
    from .definition import ORIGIN_TEXT

    src = df[ep.source] if ep.source in df.columns else pd.Series(dtype="string")
    from_dates = bool((src == "dates").any())
    recorded = bool((src == "recorded time").any())
    spec = {"time": ep.time, "event": ep.event,
            "xlabel": (f"Months since {ORIGIN_TEXT.get(ep.origin, ep.origin)}"
                       if from_dates and not recorded else "Months"),
            "definition": ep.definition(from_dates=from_dates or not recorded,
                                        recorded_too=from_dates and recorded),
            "undefined": ""}
    if ep.time not in df.columns:
        spec["undefined"] = f"{ep.abbreviation} was not derived"
    elif from_dates and ep.origin == "nst_start" and not ep.death_only:
        # progression precluding surgery is not recorded: only where everyone had surgery
        ok, why = efs_defined(df[src == "dates"])
        if not ok:
            spec["undefined"] = f"{ep.abbreviation} not analysed: {why}"
    return spec
