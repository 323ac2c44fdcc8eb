"""Rule ``table1``: baseline characteristics by group: CSV (full precision, test per row),
Word and HTML (journal style: N in the header, Unknown rows per group, test footnotes)."""

from __future__ import annotations


def main(*, in_analysis, out_csv, out_docx, out_html, variables, nonnormal, groups, simulated,
         her2_guideline, page, orientation) -> None:
    import pandas as pd

    from ..render.display import table_one_display
    from ..render.tables import write_docx, write_html
    from ..stats.table1 import table_one
    from .common import group_setup, simulated_notes, write_csv

    df, labels = group_setup(groups, pd.read_parquet(in_analysis))
    df = df[df["group"].notna()]
    name = lambda v: v["name"] if isinstance(v, dict) else v
    present = [v for v in variables if name(v) in df.columns and df[name(v)].notna().any()]
    absent = [name(v) for v in variables if v not in present]
    tab = table_one(df, "group", present, group_order=labels, nonnormal=nonnormal)
    write_csv(tab, out_csv)
    notes = []
    if absent:
        notes.append(f"Not shown (recorded for no analysed patient): {', '.join(absent)}.")
    if groups["column"].startswith("her2"):
        notes.append(f"HER2 status by ASCO/CAP {her2_guideline}.")
    notes += simulated_notes(simulated)
    title = f"Table 1. Baseline characteristics by {groups.get('name', 'group')}"
    disp = table_one_display(tab, title=title, extra_notes=notes)
    write_docx(disp, out_docx, page=page, orientation=orientation)
    write_html(disp, out_html)
