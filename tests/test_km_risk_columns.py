"""render.km: the numbers under a Kaplan-Meier panel stay readable at registry size.

SIMULATED curves with risk tables of a given size (3 to 7 digits); the texts drawn are
measured on the laid-out figure: neighbouring numbers in a row never touch, the x ticks are
the columns shown, and the row labels keep their distance from the first column.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest

mpl.use("Agg")

from her2cohort.render.km import KMPanel, km_figure, tick_times  # noqa: E402

TICKS = tick_times(120, 12)


def _panel(at_start: int, title: str) -> KMPanel:
    """Two groups with ``at_start`` patients each (SIMULATED), risk table on 12-month ticks."""
    curves, risk = [], []
    for g in ("A", "B"):
        t = np.linspace(1, 130, 40)
        s = np.exp(-t / 200)
        curves.append(pd.DataFrame({"group": g, "time": t, "surv": s, "lower": s - 0.02,
                                    "upper": s + 0.02, "n_censor": 1,
                                    "n_risk": np.linspace(at_start, at_start / 10, 40)}))
        risk.append(pd.DataFrame({
            "group": g, "time": TICKS,
            "n_risk": np.linspace(at_start, at_start / 10, len(TICKS)).astype(int),
            "cum_events": np.linspace(0, at_start / 3, len(TICKS)).astype(int)}))
    return KMPanel(curves=pd.concat(curves), risk=pd.concat(risk), groups=["A", "B"],
                   labels={"A": "First arm with a long label", "B": "Second arm"},
                   title=title)


def _drawn(fig):
    """The visible numbers of every risk-table row (extents in pixels), and the row labels."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    rows, labels = [], []
    for ax in fig.axes[1::2]:  # each panel's risk table (added after its curves' axes)
        by_y: dict[float, list] = {}
        for t in ax.texts:
            if t.get_visible() and t.get_text().replace("-", "").isdigit():
                by_y.setdefault(t.get_position()[1], []).append(
                    (t.get_position()[0], t.get_window_extent(r)))
        rows += [sorted(v, key=lambda p: p[0]) for v in by_y.values()]
        labels += [lab.get_window_extent(r) for lab in ax.get_yticklabels()
                   if lab.get_text()]
    return rows, labels


@pytest.mark.parametrize("at_start, panels, every", [
    (300, 2, 1),        # the demo's size: a column on every 12-month tick
    (30_000, 2, 2),     # five digits in two panels: every second tick
    (3_000_000, 2, 2),  # seven digits
    (3_000_000, 1, 2),
])
def test_numbers_never_touch(at_start, panels, every):
    fig = km_figure([_panel(at_start, f"P{j}") for j in range(panels)], xmax=120)
    assert fig.km_ticks == TICKS[::every]
    rows, labels = _drawn(fig)
    for row in rows:
        assert [x for x, _ in row] == fig.km_ticks
        for (_, left), (_, right) in zip(row, row[1:]):
            assert right.x0 > left.x1, "neighbouring numbers overlap"
    for ax in fig.axes[0::2]:
        assert list(ax.get_xticks()) == fig.km_ticks
    first = min(b.x0 for row in rows[:4] for _, b in row[:1])
    assert max(b.x1 for b in labels[:2]) < first, "a row label runs into the first column"


def test_small_tables_keep_every_tick():
    fig = km_figure([_panel(40, "")], xmax=120)
    assert fig.km_ticks == TICKS
    rows, _ = _drawn(fig)
    assert all(len(row) == len(TICKS) for row in rows)
