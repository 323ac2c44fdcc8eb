"""Shared by the stage modules: deterministic writers, notes, the grouping column, and the
record of an analysis that could not run (skipped with a stated reason)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TABLE_FOOTNOTE_SIMULATED = "SIMULATED data: no real patient is represented."


def full_precision(x: float) -> str:
    """The shortest text that reads back as the same double (Python's ``repr``: 0.1 as
    "0.1", 1/3 as "0.3333333333333333"), whole numbers without ".0"."""
    return repr(float(x)).removesuffix(".0")


def write_csv(df: pd.DataFrame, path: str | Path, digits: int | None = None) -> None:
    """Deterministic CSV, LF line ends, no index. Numbers at full precision (every double
    exactly, :func:`full_precision`), or rounded to ``digits`` significant digits when
    given."""
    from ..data.safety import excel_safe

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df = excel_safe(df)  # text cells cannot run as spreadsheet formulas (CSV injection)
    if digits is None:
        df = _floats_as_text(df)
    df.to_csv(path, index=False, lineterminator="\n",
              float_format=full_precision if digits is None else f"%.{digits}g")


def _floats_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """The float64 columns as the text :func:`full_precision` gives (missing: empty, as
    ``to_csv`` writes them), made column by column in one pass each rather than one
    ``float_format`` call per cell from inside ``to_csv`` (a registry's KM tables have
    10^5 rows)."""
    import numpy as np

    cols = [j for j, dt in enumerate(df.dtypes) if dt == np.float64]
    if not cols:
        return df
    out = df.copy(deep=False)
    for j in cols:
        v = out.iloc[:, j].to_numpy()
        text = np.array(list(map(repr, v.tolist())), dtype=object)
        whole = np.flatnonzero(v == np.trunc(v))  # whole numbers: no ".0"
        if whole.size:
            text[whole] = pd.Series(text[whole], dtype=object).str.removesuffix(".0").to_numpy(
                dtype=object)
        text[np.isnan(v)] = ""
        out.isetitem(j, text)
    return out


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)


def write_problems(table: pd.DataFrame, path: str | Path, failing: bool) -> None:
    """Write the problems table. When the stage fails, Snakemake deletes the declared output,
    so a copy is kept next to it as <name>_FAILED.csv and its path is printed."""
    write_csv(table, path)
    failed = Path(path).with_name(Path(path).stem + "_FAILED.csv")
    if failing:
        write_csv(table, failed)
        print(f"full problems table: {failed}")
    elif failed.exists():
        failed.unlink()


def simulated_notes(simulated: bool) -> list[str]:
    return [TABLE_FOOTNOTE_SIMULATED] if simulated else []


def figure_note(simulated: bool) -> str:
    """Line added to figure annotations when the data are simulated."""
    return "\nSIMULATED data" if simulated else ""


def group_setup(groups: dict, df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Add a ``group`` column holding the configured labels of the grouping levels (every value
    of a merged level gets its label); rows of other levels (or missing) get NA."""
    from ..study.cohort import group_labels_of

    labels = [groups.get("labels", {}).get(lv, lv) for lv in groups["levels"]]
    df = df.copy()
    df["group"] = group_labels_of(df, groups)
    return df, labels


def palette(groups: dict):
    """One colour, line style and hatch per compared group, the same in every figure."""
    from ..render.figures import group_palette

    return group_palette([groups.get("labels", {}).get(lv, lv) for lv in groups["levels"]])


def fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def skipped_table(analysis: str, reason: str) -> pd.DataFrame:
    """The table an analysis writes in place of its results when its inputs are absent."""
    return pd.DataFrame([{"analysis": analysis, "status": "skipped", "reason": reason}])


def skip_outputs(analysis: str, reason: str, csvs: list, figures: list[tuple] = ()) -> None:
    """Write every output of a skipped analysis: tables saying why, figures saying why."""
    print(f"{analysis}: skipped: {reason}")
    for path in csvs:
        write_csv(skipped_table(analysis, reason), path)
    if figures:
        from ..render.figures import save_figure
        from ..render.message import message_figure

        for png, pdf in figures:
            save_figure(message_figure(f"{analysis}: not analysed", reason), png, pdf)


def cox_options(cox_cfg: dict) -> dict:
    """Ties, strata and variance of the Cox models (config ``survival.cox``), as the survival
    stage fits them: ``variance`` model | robust (sandwich) | cluster (by ``cluster``)."""
    variance = cox_cfg.get("variance", "model")
    return {"ties": cox_cfg.get("ties", "efron"), "strata": cox_cfg.get("strata") or None,
            "robust": variance in ("robust", "cluster"),
            "cluster": cox_cfg.get("cluster", "centre") if variance == "cluster" else None}
