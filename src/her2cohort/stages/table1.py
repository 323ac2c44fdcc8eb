"""Rule ``table1``: baseline characteristics by group (CSV and Word)."""

from __future__ import annotations


def main(*, in_analysis, out_csv, out_docx, variables, nonnormal, groups, simulated,
         her2_guideline) -> None:
    import pandas as pd

    from ..render.docx import to_docx
    from ..stats.table1 import table_footnotes, table_one
    from .common import group_setup, simulated_notes, write_csv

    df, labels = group_setup(groups, pd.read_parquet(in_analysis))
    df = df[df["group"].notna()]
    present = [v for v in variables
               if (v["name"] if isinstance(v, dict) else v) in df.columns
               and df[v["name"] if isinstance(v, dict) else v].notna().any()]
    absent = [v["name"] if isinstance(v, dict) else v for v in variables if v not in present]
    tab = table_one(df, "group", present, group_order=labels, nonnormal=nonnormal)
    write_csv(tab, out_csv)
    notes = table_footnotes(tab)
    if absent:
        notes.append(f"Not shown (recorded for no analysed patient): {', '.join(absent)}.")
    notes.append(f"HER2 status by ASCO/CAP {her2_guideline}.")
    notes += simulated_notes(simulated)
    title = f"Table 1. Baseline characteristics by {groups.get('name', 'group')}"
    to_docx(tab, out_docx, title=title, footnotes=notes)
