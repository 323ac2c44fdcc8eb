"""Word output of Table 1 (kept for the existing stage call; the renderer is
:mod:`her2cohort.render.tables`, the layout :func:`her2cohort.render.display.table_one_display`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import pandas as pd

from .display import table_one_display
from .tables import write_docx, write_normalised_zip

__all__ = ["to_docx", "write_normalised_zip"]


def to_docx(
    table: pd.DataFrame,
    path: str | PathLike[str],
    title: str,
    footnotes: Sequence[str] | None = None,
    font: str = "Arial",
    font_size: float = 9.0,
    *,
    group_labels: Mapping[Any, str] | None = None,
    page: str = "A4",
    orientation: str = "portrait",
) -> None:
    """Write a ``table_one`` result as a gtsummary-style three-line Word table.

    ``footnotes`` as produced by ``stats.table1.table_footnotes`` (plus study notes): a note
    ``"<test name>: <description>"`` for a test used in the table becomes the text of that
    test's footnote mark; every other note is printed below the table as given. Layout and
    page options as :func:`her2cohort.render.display.table_one_display` and
    :func:`her2cohort.render.tables.write_docx`.
    """
    tests = {t for t in pd.unique(table["test"]) if isinstance(t, str) and t}
    descriptions: dict[str, str] = {}
    notes: list[str] = []
    for note in footnotes or ():
        name, sep, desc = str(note).partition(": ")
        if sep and name in tests:
            descriptions[name] = desc
        else:
            notes.append(str(note))
    disp = table_one_display(table, title=title, group_labels=group_labels,
                             test_descriptions=descriptions,
                             notes=notes if footnotes is not None else None)
    write_docx(disp, path, page=page, orientation=orientation, font=font, font_size=font_size)
