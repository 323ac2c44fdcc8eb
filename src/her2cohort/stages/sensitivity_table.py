"""Rule ``sensitivity_table``: the headline estimates of every sensitivity variant side by
side (CSV at full precision; HTML and Word for the report and the supplement)."""

from __future__ import annotations


def main(*, in_variants, out_csv, out_html, out_docx, descriptions, simulated) -> None:
    from pathlib import Path

    import pandas as pd

    from ..render.format import format_estimate, format_p
    from ..render.tables import DisplayTable, write_docx, write_html
    from .common import simulated_notes, write_csv

    files = [in_variants] if isinstance(in_variants, str) else list(in_variants)
    long = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    write_csv(long, out_csv)
    order = list(dict.fromkeys(long["variant"]))

    def cell(r) -> str:
        note = str(r.get("note") or "") if pd.notna(r.get("note")) else ""
        if pd.notna(r.get("p")) and pd.isna(r.get("lower")):
            # a test row (its statistic, n and events are in the CSV): the p-value
            return format_p(r["p"], prefix=True)
        if pd.notna(r.get("estimate")) and pd.notna(r.get("lower")):
            text = format_estimate(r["estimate"], r["lower"], r["upper"], digits=2 if
                                   r["quantity"].endswith("ratio") else 1)
        elif r["quantity"].endswith(("ratio", "(%)")) and (
                pd.notna(r.get("estimate")) or "not estimable" in note):
            text = "not estimable"  # infinite or undefined: never a bare count in its place
        elif pd.notna(r.get("events")) and pd.notna(r.get("n")):
            text = f"{int(r['events'])}/{int(r['n'])}"
        elif pd.notna(r.get("n")):
            text = f"{int(r['n'])}"
        elif "not estimable" in note:
            text = "not estimable"
        else:
            text = ""
        if pd.notna(r.get("p")) and not text:  # p of a test row; CIs speak for themselves
            text = format_p(r["p"], prefix=True)
        return text

    long["cell"] = long.apply(cell, axis=1)
    wide = long.pivot_table(index=["quantity", "group"], columns="variant", values="cell",
                            aggfunc="first", sort=False).reindex(columns=order).fillna("")
    wide = wide.reset_index()
    body = wide.rename(columns={"quantity": "Estimate", "group": "Group"})
    notes = [f"{v}: {descriptions.get(v, '')}" for v in order]
    if "test" in long:
        tests = long.dropna(subset=["test"]).drop_duplicates(["quantity", "test"])
        notes += [f"{r.quantity}: {r.test}" for r in tests.itertuples()]
    if "note" in long:  # how each adjusted estimate was made, once per distinct wording
        noted = long.dropna(subset=["note"])
        for (quantity, note), sub in noted.groupby(["quantity", "note"], sort=False):
            where = ("" if sub["variant"].nunique() == len(order)
                     else " [" + ", ".join(dict.fromkeys(sub["variant"])) + "]")
            notes.append(f"{quantity}{where}: {note}")
    notes += simulated_notes(simulated)
    disp = DisplayTable(body, title="Sensitivity analyses: headline estimates under each "
                        "alternative definition", footnotes=notes)
    write_html(disp, out_html)
    # many variants with wide cells ("100.0 (100.0–100.0)" in a tiny cohort): narrower
    # margins before giving up, then a page saying where the table is
    for margins in (25.4, 19.05, 12.7):
        try:
            write_docx(disp, out_docx, orientation="landscape", min_font_size=6.0,
                       margins_mm=margins)
            return
        except ValueError as e:
            why = str(e)
    print(f"{out_docx}: {why}; the table is in {out_html} and {out_csv}")
    page = DisplayTable(pd.DataFrame([[f"Too many or too wide columns for a Word page: the "
                                       f"table is in {Path(out_html).name} and "
                                       f"{Path(out_csv).name}."]], columns=[0]),
                        header=[["Sensitivity analyses"]], title=disp.title, footnotes=notes)
    write_docx(page, out_docx, orientation="landscape")
