"""Rule ``sensitivity_table``: the headline estimates of every sensitivity variant side by
side (CSV at full precision; HTML and Word for the report and the supplement)."""

from __future__ import annotations

MIN_PT = 8.0  # smallest body font of the Word table (journal style: 8-10 pt)


def main(*, in_variants, out_csv, out_html, out_docx, descriptions, simulated) -> None:
    import tempfile
    from pathlib import Path

    import pandas as pd

    from ..render.format import format_estimate, format_p
    from ..render.tables import DisplayTable, combine_docx, write_docx, write_html
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
    long["group"] = long["group"].fillna("") if "group" in long else ""  # pivot drops NaN
    wide = long.pivot_table(index=["quantity", "group"], columns="variant", values="cell",
                            aggfunc="first", sort=False).reindex(columns=order).fillna("")
    wide = wide.reset_index()
    # one column of labels: each quantity a heading row, its groups indented under it (the
    # first column may then wrap between words, which leaves room for the variants)
    rows, indent = [], []
    for quantity, blk in wide.groupby("quantity", sort=False):
        rows.append([quantity, *([""] * len(order))])
        indent.append(0)
        for r in blk.itertuples(index=False, name=None):  # quantity, group, the variants
            if r[1] == "" and len(blk) == 1:  # no group: the values on the heading row
                rows[-1] = [quantity, *r[2:]]
                continue
            rows.append(list(r[1:]))
            indent.append(1)
    # numbered headings, so that a footnote can name the columns it applies to
    heads = [f"({k}) {column_header(v, descriptions)}" for k, v in enumerate(order, 1)]
    notes = ["Columns by variant of the CSV: " + "; ".join(
        f"({k}) {v}" for k, v in enumerate(order, 1)) + "."]
    if "test" in long:
        tests = long.dropna(subset=["test"]).drop_duplicates(["quantity", "test"])
        notes += [f"{r.quantity}: {r.test}" for r in tests.itertuples()]
    if "note" in long:  # how each adjusted estimate was made, once per distinct wording
        noted = long.dropna(subset=["note"])
        for (quantity, note), sub in noted.groupby(["quantity", "note"], sort=False):
            cols = [str(order.index(v) + 1) for v in dict.fromkeys(sub["variant"])]
            where = ("" if len(cols) == len(order) else
                     f" [column{'s' if len(cols) > 1 else ''} {', '.join(cols)}]")
            notes.append(f"{quantity}{where}: {note}")
    notes += simulated_notes(simulated)
    title = "Sensitivity analyses: headline estimates under each alternative definition"

    def display(cols: list[int], part: str = "") -> DisplayTable:
        body = pd.DataFrame([[r[0], *[r[1 + j] for j in cols]] for r in rows])
        return DisplayTable(body, header=[["Estimate", *[heads[j] for j in cols]]],
                            title=title + part, footnotes=notes, indent=indent)

    write_html(display(list(range(len(order)))), out_html)
    # Word: landscape, body at least MIN_PT; too many variants for one page width: the
    # columns in blocks (each with the labels), one block per page, in one document
    n = len(order)
    for size in sorted({-(-n // b) for b in range(1, n + 1)}, reverse=True):
        chunks = [list(range(i, min(i + size, n))) for i in range(0, n, size)]
        try:
            parts = []
            with tempfile.TemporaryDirectory() as tmp:
                for k, cols in enumerate(chunks):
                    part = (f" (columns {cols[0] + 1}-{cols[-1] + 1} of {n})"
                            if len(chunks) > 1 else "")
                    parts.append(Path(tmp) / f"part{k}.docx")
                    write_docx(display(cols, part), parts[-1], orientation="landscape",
                               font_size=9.0, min_font_size=MIN_PT, margins_mm=12.7)
                combine_docx(parts, out_docx)
            return
        except ValueError as e:
            why = str(e)
    print(f"{out_docx}: {why}; the table is in {out_html} and {out_csv}")
    page = DisplayTable(pd.DataFrame([[f"Too wide for a Word page: the table is in "
                                       f"{Path(out_html).name} and {Path(out_csv).name}."]],
                                     columns=[0]),
                        header=[["Sensitivity analyses"]], title=title, footnotes=notes)
    write_docx(page, out_docx, orientation="landscape")


def column_header(variant: str, descriptions: dict) -> str:
    """A variant's column heading: its description from the configuration (first letter
    capitalised unless the first word has capitals of its own, as "pCR"), the main analysis
    as such, else the variant's name."""
    if variant == "main":
        return "Main analysis"
    text = str(descriptions.get(variant) or "").strip()
    if not text:
        return variant
    first = text.split(" ", 1)[0]
    return text if first != first.lower() else text[:1].upper() + text[1:]
