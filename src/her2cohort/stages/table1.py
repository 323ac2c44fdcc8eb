"""Rule ``table1``: baseline characteristics by group: CSV (full precision, test per row),
Word and HTML (journal style: N in the header, Unknown rows per group, test footnotes)."""

from __future__ import annotations


def main(*, in_analysis, out_csv, out_docx, out_html, variables, nonnormal, groups, simulated,
         her2_guideline, page, orientation, her2_rule="ASCO/CAP", criteria=(), fisher=None) -> None:
    from .columns import read_analysis, stage_params_of

    # the columns read: those the configuration names (criteria: whether HER2 is spoken of)
    reads = stage_params_of({k: v for k, v in locals().items() if k != "criteria"})
    import pandas as pd

    from ..render.display import table_one_display
    from ..render.tables import write_docx, write_html
    from ..stats.table1 import table_one
    from ..study.wording import BASIS_COLUMNS
    from .common import group_setup, simulated_notes, write_csv

    df, labels = group_setup(groups, read_analysis(in_analysis, reads, *BASIS_COLUMNS))
    df = df[df["group"].notna()]
    name = lambda v: v["name"] if isinstance(v, dict) else v
    # the exposure itself is the columns, not a row (100% vs 0% has no test or SMD)
    exposure = [v for v in variables if name(v) == groups["column"]]
    variables = [v for v in variables if name(v) != groups["column"]]
    present = [v for v in variables if name(v) in df.columns and df[name(v)].notna().any()]
    absent = [name(v) for v in variables if v not in present]
    title = f"Table 1. Baseline characteristics by {groups.get('name', 'group')}"
    if df.empty or not present:
        from ..render.tables import DisplayTable
        from .common import skipped_table

        reason = ("no patient is analysed (see results/tables/flow.csv)" if df.empty else
                  "no Table 1 variable is recorded for any analysed patient")
        print(f"table1: skipped: {reason}")
        skipped = skipped_table("Table 1", reason)
        write_csv(skipped, out_csv)
        disp = DisplayTable(skipped.rename(columns=str.capitalize), title=title,
                            footnotes=simulated_notes(simulated))
        write_docx(disp, out_docx, page=page, orientation=orientation)
        write_html(disp, out_html)
        return
    shown = {name(v) for v in present}
    tab = table_one(df, "group", present, group_order=labels,
                    nonnormal=[v for v in nonnormal or [] if v in shown], fisher=fisher)
    write_csv(tab, out_csv)
    notes = []
    if absent:
        notes.append(f"Not shown (recorded for no analysed patient): {', '.join(absent)}.")
    if exposure:
        notes.append(f"{groups.get('name') or groups['column']} defines the columns: not "
                     "repeated as a row.")
    from ..study.wording import her2_basis, her2_relevant

    if her2_relevant(groups, list(criteria)):
        notes.append(her2_basis(df, her2_rule, her2_guideline))
    notes += simulated_notes(simulated)
    from ..stats.exact import DEFAULT_MAX_WORK
    from ..stats.table1 import fisher_monte_carlo_note

    budget = (fisher or {}).get("max_work", DEFAULT_MAX_WORK)
    mc_tests = {t: fisher_monte_carlo_note(t, budget) for t in pd.unique(tab["test"])
                if isinstance(t, str) and t.startswith("Fisher's exact test (Monte Carlo")}
    disp = table_one_display(tab, title=title, extra_notes=notes, test_descriptions=mc_tests)
    write_docx(disp, out_docx, page=page, orientation=orientation)
    write_html(disp, out_html)
