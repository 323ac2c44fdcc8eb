"""Rule ``validate``: schema, cross-field and domain rules, duplicates; quarantine."""

from __future__ import annotations

import pandas as pd


def validate_records(df: pd.DataFrame, *, centres, regimens, data_lock_date, age_range,
                     qc_actions, her2_guideline, pcr_definition, itc_is_pcr, hr_threshold_pct,
                     required, endpoints=None):
    """Validation with the study's choices: centre column names, vocabularies, domain rules
    (ASCO/CAP, pCR definition, receptor threshold), rule actions. Used by the CLI too."""
    import datetime as dt

    from ..data.mapping import load_mapping
    from ..data.validate import validate
    from ..study.checks import domain_rules

    cols_by_centre, recorded = {}, {}
    for mp in centres:
        m = load_mapping(mp)
        cols_by_centre[m["centre"]] = m["columns"]
        recorded[m["centre"]] = set(m["columns"])
    lock = data_lock_date if isinstance(data_lock_date, dt.date) else \
        dt.date.fromisoformat(str(data_lock_date))
    needed = {f for need in required for form in need["forms"] for f in form}
    return validate(
        df, columns_by_centre=cols_by_centre, vocabularies={"regimen": list(regimens)},
        data_lock=lock, age_range=tuple(age_range), actions=qc_actions,
        needed=needed,
        extra_rules=domain_rules(her2_guideline, pcr_definition=pcr_definition,
                                 itc_is_pcr=itc_is_pcr, hr_threshold_pct=hr_threshold_pct,
                                 regimens=regimens, endpoints=endpoints, recorded=recorded))


def qc_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Problems counted per file, rule and action (the report shows this, not the per-record
    tables)."""
    if table.empty:
        return pd.DataFrame({"file": [], "rule": [], "action": [], "problems": []})
    return (table.groupby(["file", "rule", "action"], sort=True).size()
            .rename("problems").reset_index())


def _write_qc_summary(table: pd.DataFrame, n_pass: int, n_quarantined: int, out_csv,
                      out_html) -> None:
    from ..render.tables import DisplayTable, write_html
    from .common import write_csv

    summary = qc_summary(table)
    write_csv(summary, out_csv)
    body = summary.rename(columns={"file": "File", "rule": "Rule", "action": "Action",
                                   "problems": "Problems"}).astype(str)
    notes = [(f"{n_pass} records pass validation, {n_quarantined} are quarantined. The "
             "per-record tables (results/qc/problems.csv, quarantine.csv) name file, row, "
             "pseudonymous key and rule of every problem.")]
    write_html(DisplayTable(body, title="Data quality: problems per file and rule",
                            footnotes=notes), out_html)


def main(*, in_parquet, in_ingest_problems, out_parquet, out_quarantine, out_problems,
         out_quarantine_csv, out_qc_summary, out_qc_summary_html, **options) -> None:
    from ..data.problems import format_report, raise_if_failing, to_frame
    from .common import write_csv, write_parquet, write_problems

    df = pd.read_parquet(in_parquet)
    pre_q = pd.DataFrame()
    if "_ingest_reason" in df:
        bad = df["_ingest_reason"].fillna("") != ""
        pre_q = df.loc[bad, ["centre", "source_file", "source_row", "patient_key",
                             "_ingest_reason"]].rename(columns={"_ingest_reason": "reason"})
        df = df.loc[~bad].drop(columns="_ingest_reason")
    clean, quarantined, problems = validate_records(df, **options)
    if len(pre_q):
        quarantined = pd.concat([pre_q, quarantined], ignore_index=True)
    ingest_problems = pd.read_csv(in_ingest_problems, dtype=str, keep_default_na=False)
    parts = [t for t in (ingest_problems, to_frame(problems).astype("string").fillna(""))
             if len(t)]
    table = pd.concat(parts, ignore_index=True) if parts else ingest_problems
    print(format_report(problems, "validate"))
    write_problems(table, out_problems, any(p.action == "fail" for p in problems))
    raise_if_failing(problems, "validate")
    write_parquet(clean, out_parquet)
    write_parquet(quarantined, out_quarantine)
    q = quarantined.drop(columns=["centre"]).rename(columns={"source_row": "row",
                                                             "source_file": "file"})
    q["reason"] = q["reason"].astype("string")
    write_csv(q.sort_values(["file", "row"], kind="mergesort"), out_quarantine_csv)
    _write_qc_summary(table, len(clean), len(quarantined), out_qc_summary, out_qc_summary_html)
    print(f"validate: {len(clean)} records pass, {len(quarantined)} quarantined")


def validate_with_config(df: pd.DataFrame, cfg: dict):
    """:func:`validate_records` with the values the rule reads from ``cfg``."""
    from .params import stage_params

    opts = stage_params(cfg, "validate")
    return validate_records(df, **opts)
