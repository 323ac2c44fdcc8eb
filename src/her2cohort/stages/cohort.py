"""Rule ``cohort``: exclusion criteria in order, flow table and diagram, and which analyses
the analysed patients' data support."""

from __future__ import annotations

import numpy as np
import pandas as pd

ROW = "__row_of_records__"  # the record's row in the derived table (no column is so named)

# analysis -> (derived columns it needs, what to say when none of the patients has them)
ANALYSIS_INPUTS = {
    "table1": ([], ""),
    "pcr": (["pcr"], "no analysed patient has pCR recorded (pcr, or ypT and ypN)"),
    "her2_loss": (["her2_loss"], ("no analysed patient has residual tumour re-tested for HER2 "
                                 "after therapy (post_her2_ihc)")),
}


def analysis_inputs(endpoints: dict | None) -> dict[str, tuple[list[str], str]]:
    """What each analysis needs; the time-to-event analysis per endpoint of the study."""
    out = dict(ANALYSIS_INPUTS)
    if not endpoints:  # said once, so that a reader sees the analysis and why it is absent
        out["survival"] = ([None], "no time-to-event endpoint is defined (study: endpoints:)")
    for eid, ep in (endpoints or {}).items():
        abbr = ep.get("abbreviation", eid)
        out[f"survival: {abbr}"] = (
            [f"{eid}_months", f"{eid}_event"],
            f"no analysed patient has {abbr} data (dates, or its recorded time and event)")
    return out


def analysis_status(analysed: pd.DataFrame, analyses: dict[str, bool],
                    endpoints: dict | None = None) -> pd.DataFrame:
    """One row per analysis (one per endpoint for the time-to-event analyses): enabled, run or
    skipped, patients with its data, and why."""
    rows = []
    for name, (cols, why) in analysis_inputs(endpoints).items():
        enabled = analyses.get(name.split(":")[0], True)
        if any(c is None or c not in analysed.columns for c in cols):  # nothing to use
            have = pd.Series(False, index=analysed.index)
        elif cols:
            have = analysed[cols].notna().all(axis=1)
        else:
            have = pd.Series(True, index=analysed.index)
        n = int(have.sum())
        if not enabled:
            status, reason = "off", "switched off in config (analyses:)"
        elif len(analysed) == 0:
            status, reason = "skipped", "no patient is analysed"
        elif n == 0:
            status, reason = "skipped", why
        else:
            status = "run"
            reason = "" if n == len(analysed) else \
                f"{len(analysed) - n} of {len(analysed)} analysed patients lack its data " \
                "(left out, as R's na.omit)"
        rows.append({"analysis": name, "enabled": enabled, "status": status,
                     "n_with_data": n, "n_analysed": len(analysed), "reason": reason})
    return pd.DataFrame(rows)


def flow_display(flow: pd.DataFrame, status: pd.DataFrame, simulated: bool):
    """The flow table and the analyses' status as one HTML-ready table."""
    from ..render.tables import DisplayTable

    centres = [c for c in flow.columns if c.startswith("n_") and c not in
               ("n_before", "n_excluded", "n_after")]
    body = pd.DataFrame({
        "Step": flow["label"],
        "Records": [str(int(a if k in ("start",) else e)) for a, e, k in
                    zip(flow["n_after"], flow["n_excluded"], flow["kind"])],
        "Remaining": flow["n_after"].astype(int).astype(str),
        **{c[2:]: flow[c].astype(int).astype(str) for c in centres},
        "Detail": flow["detail"].fillna(""),
    })
    notes = [f"{r.analysis}: {r.status}" + (f" ({r.reason})" if r.reason else "")
             for r in status.itertuples() if r.enabled]  # analyses switched off: not named
    extra = ["SIMULATED data: no real patient is represented."] if simulated else []
    return DisplayTable(body, title="Flow of records: received, quarantined, excluded by each "
                        "criterion, analysed (per centre in the centre columns)",
                        footnotes=["Analyses: " + "; ".join(notes), *extra])


def main(*, in_derived, in_quarantine, out_analysis, out_dispositions, out_flow, out_flow_html,
         out_analyses, out_flow_png, out_flow_pdf, criteria, groups, analyses,
         simulated, endpoints=None) -> None:
    from ..data.validate import analysis_schema, check_analysis
    from ..render.figures import flow_diagram, save_figure
    from ..study.cohort import apply_criteria, column_text, group_labels_of, group_values
    from .columns import RECORD_KEYS, endpoint_prefixes, named_in, read_columns, take_rows
    from .common import write_csv, write_parquet

    col = groups["column"]
    levels = [v for vs in group_values(groups).values() for v in vs]
    # The criteria, the checks and the counts below read a few columns: the records are read
    # with those only (the whole table as text is ~3 GB at 10^6 records) and the analysed
    # rows of every column are copied from the file to the analysis-ready table at the end.
    reads = {*named_in(criteria, groups), *RECORD_KEYS,
             *analysis_schema(col, levels, list(endpoints or {})).columns,
             *(c for cols, _ in analysis_inputs(endpoints).values() for c in cols if c)}
    derived = read_columns(in_derived, reads, endpoint_prefixes(endpoints))
    derived[ROW] = np.arange(len(derived))
    quarantined = pd.read_parquet(in_quarantine)
    analysed, dispositions, flow = apply_criteria(derived, quarantined, criteria, groups)
    rows = analysed.pop(ROW).to_numpy()
    check_analysis(analysed.assign(**{col: column_text(analysed[col])}), col, levels,
                   list(endpoints or {}))
    take_rows(in_derived, rows, out_analysis)
    write_parquet(dispositions, out_dispositions)
    write_csv(flow, out_flow)
    status = analysis_status(analysed, analyses, endpoints)
    write_csv(status, out_analyses)
    from ..render.tables import write_html

    write_html(flow_display(flow, status, simulated), out_flow_html)
    counts = group_labels_of(analysed, groups).value_counts()
    final = [(lab, int(counts.get(lab, 0))) for lab in
             [groups.get("labels", {}).get(lv, lv) for lv in groups["levels"]]]
    n_centres = pd.concat([derived["centre"], quarantined["centre"]]).nunique()
    title = "Flow of records" + (" (SIMULATED data)" if simulated else "")
    flow_fig = flow.copy()
    flow_fig.loc[flow_fig["kind"] == "start", "label"] = \
        f"Records received from {n_centres} centre{'s' if n_centres != 1 else ''}"
    fig = flow_diagram(flow_fig, final, title=title)
    save_figure(fig, out_flow_png, out_flow_pdf)
    print(flow.to_string(index=False))
    print(status.to_string(index=False))
