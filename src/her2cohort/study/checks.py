"""Validation rules that need domain knowledge (ASCO/CAP, pathology), handed to the generic
validator of the data layer as extra row rules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.dates import completed_years
from ..data.validate import Rule
from .derive import pcr, residual_invasive
from .her2 import TOTALS_TOLERANCE, classify_her2, ish_from_totals, ish_status


def _with_ish_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the ISH ratio and copies computed from signal totals where not recorded."""
    ish = ish_from_totals(df)
    return df.assign(ish_ratio=ish["ish_ratio"], her2_copies=ish["her2_copies"])


def _ish_computed(df: pd.DataFrame, guideline: str) -> pd.Series:
    d = _with_ish_numbers(df)
    return ish_status(d["her2_ihc"], d["ish_ratio"], d["her2_copies"], d["ish_probe"],
                      guideline=guideline)


def _totals_agree(df: pd.DataFrame, recorded: str, computed: str) -> pd.Series:
    """True unless a recorded ISH number and the one from the signal totals differ by more
    than TOTALS_TOLERANCE (a missing value never disagrees)."""
    ish = ish_from_totals(df)
    given = pd.to_numeric(df[recorded], errors="coerce").astype("float64")
    diff = (given - ish[computed]).abs()
    return ~(diff > TOTALS_TOLERANCE + 1e-9).fillna(False).astype(bool)


def _totals_message(r: pd.Series, recorded: str, computed: str, what: str, how: str) -> str:
    ish = ish_from_totals(pd.DataFrame([r]))
    return (f"{what} recorded as {r[recorded]:g} but the signal totals give {how} = "
            f"{ish[computed].iloc[0]:.2f}; the two forms differ by more than "
            f"{TOTALS_TOLERANCE:g}")


def _disagree(a: pd.Series, b: pd.Series) -> pd.Series:
    """True where both are known and differ (a missing value never disagrees)."""
    a = a.astype("string")
    b = b.astype("string")
    return ~(a.notna() & b.notna() & (a != b)).fillna(False).astype(bool)


def _pct_status(pct: pd.Series, thr: float) -> pd.Series:
    return pd.Series(np.where(pct.isna(), None, np.where(pct >= thr, "positive", "negative")),
                     index=pct.index, dtype="string")


def _both_forms_rules(pcr_definition: str, itc_is_pcr: bool, hr_threshold_pct: float,
                      regimens: dict, her2_guideline: str) -> list[Rule]:
    """Where a centre records one fact in two forms, the two must agree (a QC finding)."""
    thr = hr_threshold_pct

    def pcr_path(df):
        return pcr(df["ypt"], df["ypn"], pcr_definition, itc_is_pcr).map(
            {True: "yes", False: "no"})

    def age_ok(df):
        years = completed_years(df["birth_date"], df["diagnosis_date"]).astype("float64")
        return ~((years - df["age_years"]).abs() >= 1).fillna(False).astype(bool)

    def hr_computed(df):
        er, pr = _pct_status(df["er_pct"], thr), _pct_status(df["pr_pct"], thr)
        out = pd.Series(pd.NA, index=df.index, dtype="string")
        out[((er == "positive") | (pr == "positive")).fillna(False).to_numpy()] = "positive"
        out[((er == "negative") & (pr == "negative")).fillna(False).to_numpy()] = "negative"
        return out

    def her2_computed(df):
        st = classify_her2(_with_ish_numbers(df), guideline=her2_guideline)["her2_status"]
        return st.mask(st == "unknown")

    def regimen_class(df):
        return df["regimen"].map({k: v["anti_her2"] for k, v in regimens.items()})

    return [
        Rule("pcr_inconsistent", "pcr_inconsistent", "pcr",
             lambda df: _disagree(pcr_path(df), df["pcr"]),
             lambda r: f"pCR recorded as '{r['pcr']}' but ypT/ypN ({r['ypt']}, {r['ypn']}) give "
                       f"'{pcr_path(pd.DataFrame([r])).iloc[0]}' under the definition "
                       f"{pcr_definition}"),
        Rule("age_inconsistent", "age_inconsistent", "age_years", age_ok,
             lambda r: f"age {r['age_years']:g} years disagrees with the birth and diagnosis "
                       "dates by a year or more"),
        Rule("receptor_inconsistent", "receptor_inconsistent:er", "er_status",
             lambda df: _disagree(_pct_status(df["er_pct"], thr), df["er_status"]),
             lambda r: f"ER recorded '{r['er_status']}' but ER {r['er_pct']:g}% gives the other "
                       f"status at the {thr:g}% threshold"),
        Rule("receptor_inconsistent", "receptor_inconsistent:pr", "pr_status",
             lambda df: _disagree(_pct_status(df["pr_pct"], thr), df["pr_status"]),
             lambda r: f"PR recorded '{r['pr_status']}' but PR {r['pr_pct']:g}% gives the other "
                       f"status at the {thr:g}% threshold"),
        Rule("receptor_inconsistent", "receptor_inconsistent:hr", "hr_status",
             lambda df: _disagree(hr_computed(df), df["hr_status"]),
             lambda r: f"HR status recorded '{r['hr_status']}' disagrees with ER and PR "
                       f"(threshold {thr:g}%)"),
        Rule("her2_status_inconsistent", "her2_status_inconsistent", "her2_status",
             lambda df: _disagree(her2_computed(df), df["her2_status"]),
             lambda r: f"HER2 status recorded '{r['her2_status']}' disagrees with ASCO/CAP "
                       f"{her2_guideline} applied to IHC and ISH"),
        Rule("ish_totals_inconsistent", "ish_totals_inconsistent:ratio", "ish_ratio",
             lambda df: _totals_agree(df, "ish_ratio", "ratio_from_totals"),
             lambda r: _totals_message(r, "ish_ratio", "ratio_from_totals", "HER2/CEP17 ratio",
                                       "HER2 signals / CEP17 signals")),
        Rule("ish_totals_inconsistent", "ish_totals_inconsistent:copies", "her2_copies",
             lambda df: _totals_agree(df, "her2_copies", "copies_from_totals"),
             lambda r: _totals_message(r, "her2_copies", "copies_from_totals",
                                       "mean HER2 copies per cell",
                                       "HER2 signals / cells counted")),
        Rule("treatment_inconsistent", "treatment_inconsistent", "anti_her2",
             lambda df: _disagree(regimen_class(df), df["anti_her2"]),
             lambda r: f"anti-HER2 class recorded '{r['anti_her2']}' disagrees with regimen "
                       f"'{r['regimen']}' (config regimens:)"),
    ]


# A recorded time (dfs_time, os_time, efs_time, converted to months at ingestion) and the time
# the dates give may differ by up to this many days (a month's rounding, a visit recorded a
# few days apart); beyond it the two forms disagree.
TIME_TOLERANCE_DAYS = 31


def recorded_time_rules(endpoints: dict | None,
                        recorded: dict[str, set[str]] | None = None) -> list[Rule]:
    """Where a record gives an endpoint both as a recorded time and status (``dfs_time`` /
    ``dfs_event``, ``os_time`` / ``os_event``, ``efs_time`` / ``efs_event``, or the pair of
    ``study.endpoints.<id>.recorded``) and as dates, the two must agree under the study's
    definition of the endpoint (origin, events): the same status, and times within
    TIME_TOLERANCE_DAYS (compared in days, whatever unit the centre wrote the time in).

    ``recorded``: centre -> the fields its mapping maps; the dates are compared only at
    centres that record every date the endpoint needs (a recurrence date a centre does not
    record is not a recurrence-free patient)."""
    from ..data.validate import _mapping_code
    from .definition import ORIGIN_FIELDS, ORIGIN_TEXT, RECORDED_PAIRS
    from .derive import DAYS_PER_MONTH
    from .endpoints import endpoint_columns

    rules = []
    for eid, spec in (endpoints or {}).items():
        spec = spec or {}
        rec = spec.get("recorded") or {}
        t_col, e_col = ((rec.get("time"), rec.get("event")) if rec
                        else RECORDED_PAIRS.get(eid, (None, None)))
        if not t_col or not e_col:
            continue
        origin = spec.get("origin", "surgery")
        events = list(spec.get("events") or ["death"])
        needs = {ORIGIN_FIELDS.get(origin, "surgery_date"), "last_contact_date"}
        if events == ["death"]:  # overall survival: the vital status says who died
            needs |= {"vital_status"}
        else:
            needs |= {"recurrence_date", "recurrence_type"}
            if "death" in events:
                needs |= {"death_date"}
        abbr = spec.get("abbreviation", eid.upper())
        dated = {**spec, "form": "dates"}
        cache: dict[str, pd.Series] = {}

        def disagree(df, eid=eid, dated=dated, t_col=t_col, e_col=e_col, needs=needs,
                     cache=cache):
            out = endpoint_columns(df, eid, dated)
            d_t = out[f"{eid}_months"].astype("float64")
            d_e = out[f"{eid}_event"].astype("Int8")
            r_t = pd.to_numeric(df[t_col], errors="coerce").astype("float64")
            r_e = df[e_col].astype("string").map({"event": 1, "censored": 0}).astype("Int8")
            ev_bad = (d_e.notna() & r_e.notna() & (d_e != r_e)).fillna(False).astype(bool)
            gap = ((d_t - r_t).abs() * DAYS_PER_MONTH).round(6)
            t_bad = (gap > TIME_TOLERANCE_DAYS).fillna(False).astype(bool)
            bad = ev_bad | t_bad
            if recorded is not None:
                centres = [c for c, cols in recorded.items() if needs <= set(cols)]
                bad &= _mapping_code(df).isin(centres).to_numpy()
            cache.update(d_t=d_t, d_e=d_e)
            return bad

        def message(r, abbr=abbr, t_col=t_col, e_col=e_col, origin=origin, cache=cache):
            d_t, d_e = cache["d_t"][r.name], cache["d_e"][r.name]
            word = {1: "event", 0: "censored"}
            t = float(r[t_col]) if pd.notna(r[t_col]) else None
            given = (f"{t:.1f} months ({t * DAYS_PER_MONTH:.0f} days)" if t is not None
                     else "no time")
            return (f"{abbr} recorded as {given}, {r[e_col] if pd.notna(r[e_col]) else 'no status'}"
                    f", but the dates give {d_t:.1f} months ({d_t * DAYS_PER_MONTH:.0f} days) "
                    f"from {ORIGIN_TEXT.get(origin, origin)}, {word.get(int(d_e), '?')} under the "
                    f"study's definition of {abbr}; the two forms must have the same status and "
                    f"times within {TIME_TOLERANCE_DAYS} days")

        rules.append(Rule("time_inconsistent", f"time_inconsistent:{eid}", t_col,
                          lambda df, f=disagree: ~f(df), message))
    return rules


def domain_rules(her2_guideline: str = "2018", *, pcr_definition: str = "ypT0/is ypN0",
                 itc_is_pcr: bool = False, hr_threshold_pct: float = 1,
                 regimens: dict | None = None, endpoints: dict | None = None,
                 recorded: dict[str, set[str]] | None = None) -> list[Rule]:
    """Row rules: reported ISH against ASCO/CAP recomputed from ratio and copies (HER2
    classification decides which one is used, config her2.discordance); a HER2 re-test after
    therapy without residual invasive tumour; agreement of two forms of one fact, including
    the study's endpoints recorded as a time and status against the dates
    (:func:`recorded_time_rules`)."""

    def ish_ok(df: pd.DataFrame) -> pd.Series:
        computed = _ish_computed(df, her2_guideline)
        rep = df["ish_result"]
        disagree = (computed.notna() & rep.notna()
                    & (computed.astype("string") != rep)).fillna(False)
        return ~disagree.astype(bool)

    def ish_message(r: pd.Series) -> str:
        one = _with_ish_numbers(pd.DataFrame([r]))
        computed = _ish_computed(one, her2_guideline).iloc[0]
        return (f"reported ISH '{r['ish_result']}' disagrees with ASCO/CAP {her2_guideline} "
                f"from ratio {one['ish_ratio'].iloc[0]} and copies "
                f"{one['her2_copies'].iloc[0]} ('{computed}')")

    return [
        Rule("ish_inconsistent", "ish_inconsistent", "ish_result", ish_ok, ish_message),
        Rule("retest_without_residual", "retest_without_residual", "post_her2_ihc",
             lambda df: ~(df["post_her2_ihc"].notna()
                          & residual_invasive(df["ypt"], df["ypn"]).eq(False)
                          ).fillna(False).astype(bool),
             lambda r: "a HER2 re-test after therapy is recorded but no invasive cancer remains "
                       "(ypT0/is ypN0); it is not used for HER2 loss"),
        *_both_forms_rules(pcr_definition, itc_is_pcr, hr_threshold_pct, regimens or {},
                           her2_guideline),
        *recorded_time_rules(endpoints, recorded),
    ]
