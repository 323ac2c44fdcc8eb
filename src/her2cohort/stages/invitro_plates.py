"""Rule ``invitro_plates``: read every plate (``invitro: inputs:``), report every problem at
once, apply the plate QC and normalise (:mod:`her2cohort.study.invitro`). Writes the wells
table (every well with its status: used, excluded with rule and reason, or flagged; the
viability of the used ones), the plate QC table and the plate QC maps.

Exit status 1 when a problem whose action is ``fail`` was found (the problems table is kept
as ``<name>_FAILED.csv``); 2 for a configuration error (no inputs configured)."""

from __future__ import annotations

STATUS_ORDER = ("used", "flagged", "excluded")


def main(*, out_wells, out_problems, out_qc, out_qc_html, out_qc_docx, out_accounting,
         out_accounting_html, out_qc_png, out_qc_pdf, inputs, unit="nM", molar_mass=None,
         controls=None, lines=None, qc=None, simulated=False, page="A4") -> None:
    from ..data.config import ConfigError
    from ..data.plates import PLATE_ACTIONS, read_plates
    from ..data.problems import format_report, raise_if_failing, resolve_actions, to_frame
    from ..render.doseresponse import plate_qc_maps
    from ..render.figures import save_figure
    from ..study.invitro import process_wells
    from .common import write_csv, write_problems

    if not inputs:
        raise ConfigError("analyses: invitro is on but invitro: inputs: names no plate file")
    if not lines:
        raise ConfigError("invitro: lines: must give each cell line its class")
    qc = dict(qc or {})
    wells, problems = read_plates(list(inputs), unit=unit, molar_mass=molar_mass or {},
                                  controls=controls or {}, lines=dict(lines))
    actions = {**PLATE_ACTIONS, **(qc.get("actions") or {})}
    resolve_actions(problems, actions)
    print(format_report(problems, "invitro_plates"))
    failing = any(p.action == "fail" for p in problems)
    write_problems(to_frame(problems), out_problems, failing)
    raise_if_failing(problems, "invitro_plates")
    wells, table = process_wells(wells, actions, qc)
    wells = wells.sort_values(["plate", "row", "col"], kind="mergesort").reset_index(drop=True)
    write_csv(wells, out_wells, digits=17)
    write_csv(table, out_qc, digits=17)
    acc = _accounting(wells)
    write_csv(acc, out_accounting)
    # the QC table has twelve columns: its Word page is landscape whatever tables: says
    _qc_tables(table, acc, out_qc_html, out_qc_docx, out_accounting_html, simulated, page)
    note = "SIMULATED data." if simulated else ""
    save_figure(plate_qc_maps(wells, table, note=note), out_qc_png, out_qc_pdf)
    n = wells["status"].value_counts()
    print(f"invitro_plates: {len(wells)} wells on {wells['plate'].nunique()} plates: "
          + ", ".join(f"{n.get(s, 0)} {s}" for s in STATUS_ORDER)
          + f"; {int((table['status'] == 'excluded').sum())} plate(s) failed QC")


def _accounting(wells):
    """Every well counted once: per plate, status, rule (the wells accounting table)."""
    import pandas as pd

    acc = (wells.assign(rule=wells["rule"].where(wells["rule"] != "", "none"))
           .groupby(["plate", "status", "rule"], sort=False).size().rename("wells")
           .reset_index())
    acc["status"] = pd.Categorical(acc["status"], ["used", "flagged", "excluded"])
    acc = acc.sort_values(["plate", "status", "rule"], kind="mergesort")
    acc["status"] = acc["status"].astype(str)
    total = pd.DataFrame([{"plate": "all", "status": s, "rule": "all",
                           "wells": int((wells["status"] == s).sum())}
                          for s in ("used", "flagged", "excluded")]
                         + [{"plate": "all", "status": "total", "rule": "all",
                             "wells": len(wells)}])
    return pd.concat([acc, total], ignore_index=True)


def _qc_tables(table, acc, out_html, out_docx, out_acc_html, simulated, page) -> None:
    import numpy as np
    import pandas as pd

    from ..render.tables import DisplayTable, write_docx, write_html
    from .common import simulated_notes

    def f(v, d=2):
        return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{d}f}"

    body = pd.DataFrame({
        "Plate": table["plate"], "Line(s)": table["lines"],
        "Z'": table["z_prime"].map(f), "Signal window": table["signal_window"].map(f),
        "Vehicle CV, %": (table["vehicle_cv"] * 100).map(lambda v: f(v, 1)),
        "Replicate CV, %": (table["replicate_cv"] * 100).map(lambda v: f(v, 1)),
        "Edge/inner": table["edge_ratio"].map(f),
        "Edge p": table["edge_p"].map(lambda v: "" if not np.isfinite(v) else
                                      ("<0.001" if v < 0.001 else f"{v:.3f}")),
        "Outliers": table["outliers"].astype(str),
        "Wells used": table["wells_used"].astype(str),
        "Excluded": table["wells_excluded"].astype(str),
        "QC": np.where(table["status"] == "excluded", "failed: " + table["reason"], "passed"),
    })
    notes = ["Z'-factor (Zhang et al. 1999): 1 - 3 (SD vehicle + SD negative control) / "
             "|mean vehicle - mean negative control|, negative control = kill wells (blank "
             "wells where a plate has none); a plate below the configured minimum is excluded.",
             "Edge/inner: mean signal of vehicle wells on the plate's edge over those inside "
             "(Welch t test).",
             "Replicate CV: median over the plate's replicate groups (mean viability >= 0.2) "
             "of SD / mean viability.",
             "Outliers: modified z-score rule (|z| > k; replicate wells also far from their "
             "group median in absolute viability)."] + simulated_notes(simulated)
    disp = DisplayTable(body, title="Plate quality control", footnotes=notes)
    write_html(disp, out_html)
    write_docx(disp, out_docx, page=page, orientation="landscape")
    body = acc.rename(columns={"plate": "Plate", "status": "Status", "rule": "Rule",
                               "wells": "Wells"}).astype(str)
    write_html(DisplayTable(body, title="Wells accounting: every well used, flagged or "
                            "excluded with its rule", footnotes=simulated_notes(simulated)),
               out_acc_html)
