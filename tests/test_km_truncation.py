"""render.km: curves stop where fewer than ``min_at_risk`` patients remain at risk.

Exact counts on constructed (SIMULATED) data and on survival::lung (ph.ecog 0/1/2, from
tests/fixtures/r/kgroups/lung.csv); the numbers at risk are checked against an independent
count (#(time >= t)), and the drawn lines against the truncation times.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest

mpl.use("Agg")

from her2cohort.render.km import (  # noqa: E402
    KMPanel,
    km_figure,
    km_truncation,
    tick_times,
    truncation_note,
)
from her2cohort.stats.km_summary import risk_table  # noqa: E402
from her2cohort.stats.survival import km_table  # noqa: E402

LUNG = Path(__file__).parent / "fixtures" / "r" / "kgroups" / "lung.csv"


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = pd.read_csv(LUNG).dropna(subset=["ph_ecog"])
    d["ph_ecog"] = d["ph_ecog"].astype(int)
    d["months"] = d["time"] / 30.4375
    return d


def test_truncation_constructed():
    # SIMULATED: group A 12 patients at times 1..12 (all events): 10 at risk just before
    # t = 3, 9 after it -> stops at 3; group B 5 patients: never 10 -> nothing drawn;
    # group C 30 patients, last 10 all censored at 50 -> drawn in full
    d = pd.DataFrame({
        "t": [*range(1, 13), *range(1, 6), *range(1, 21), *[50] * 10],
        "e": [1] * 12 + [1] * 5 + [1] * 20 + [0] * 10,
        "g": ["A"] * 12 + ["B"] * 5 + ["C"] * 30,
    })
    km = km_table(d, "t", "e", "g")
    tr = km_truncation(km, 10, ["A", "B", "C"]).set_index("group")
    assert tr.loc["A", "truncated_at"] == 3.0 and tr.loc["A", "n_risk_after"] == 9
    assert tr.loc["B", "truncated_at"] == 0.0 and tr.loc["B", "n_risk_after"] == 5
    assert np.isnan(tr.loc["C", "truncated_at"]) and tr.loc["C", "last_time"] == 50
    assert (tr["min_at_risk"] == 10).all()
    off = km_truncation(km, 0)
    assert off["truncated_at"].isna().all()
    assert km_truncation(km, None)["truncated_at"].isna().all()
    note = truncation_note(tr.reset_index(), {"A": "Arm A"})
    assert note == ("Curves are shown while at least 10 patients are at risk (Arm A: up to "
                    "3.0 months; B: not shown, fewer than 10 patients from the start).")
    assert truncation_note(off) is None
    with pytest.raises(ValueError, match="n_risk"):
        km_truncation(km.drop(columns="n_risk"), 10)
    with pytest.raises(ValueError, match="whole number"):
        km_truncation(km, -1)


@pytest.mark.parametrize("m", [5, 10, 20])
def test_truncation_matches_counts(lung, m):
    km = km_table(lung, "months", "status", "ph_ecog")
    tr = km_truncation(km, m, [0, 1, 2])
    for _, r in tr.iterrows():
        t = lung.loc[lung["ph_ecog"] == r["group"], "months"].to_numpy()
        cut = r["truncated_at"]
        assert (t >= cut).sum() >= m          # at least m at risk at the cut
        assert (t > cut).sum() < m            # fewer than m just after it
        assert r["n_risk_after"] == (t > cut).sum()
        # the cut is an observed time of that group
        assert cut in set(t)


def test_figure_draws_up_to_truncation_and_keeps_risk_table(lung):
    km = km_table(lung, "months", "status", "ph_ecog")
    ticks = tick_times(36, 6)
    rt = risk_table(lung, "months", "status", "ph_ecog", ticks)
    panel = KMPanel(curves=km, risk=rt, groups=[0, 1, 2], title="ECOG")
    fig = km_figure([panel], xmax=36, break_every=6)  # default min_at_risk = 10
    tr = fig.km_truncation
    assert list(tr.columns) == ["panel", "panel_title", "group", "min_at_risk",
                                "truncated_at", "last_time", "n_risk_after"]
    assert (tr["min_at_risk"] == 10).all() and tr["truncated_at"].notna().all()
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_drawstyle().startswith("steps")]
    assert len(lines) == 3
    ends = sorted(float(np.max(ln.get_xdata())) for ln in lines)
    assert ends == pytest.approx(sorted(tr["truncated_at"]), rel=1e-12)
    full = km_figure([panel], xmax=36, break_every=6, min_at_risk=None)
    ends_full = sorted(float(np.max(ln.get_xdata())) for ln in full.axes[0].get_lines()
                       if ln.get_drawstyle().startswith("steps"))
    assert ends_full == pytest.approx(sorted(tr["last_time"]), rel=1e-12)
    # risk tables identical with and without truncation
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == [t.get_text() for t in full.axes[1].texts]
    assert "9" in texts  # ECOG 2 at 12 months: 9 at risk, still shown in the table


def test_unweighted_count_used_when_given():
    # SIMULATED: weights 0.5 halve n_risk; the unweighted column decides
    d = pd.DataFrame({"t": range(1, 13), "e": 1, "g": "A", "w": 0.5})
    km = km_table(d, "t", "e", "g", weights="w")
    assert km_truncation(km, 10).iloc[0]["truncated_at"] == 0.0  # weighted: 6 < 10
    km["n_risk_unweighted"] = 12 - np.arange(12)
    assert km_truncation(km, 10).iloc[0]["truncated_at"] == 3.0
