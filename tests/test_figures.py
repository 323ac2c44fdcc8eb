"""Tests for her2cohort.render.figures (KM plot with risk table, rate bars, flow diagram)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from her2cohort.render import figures
from her2cohort.render.figures import (
    flow_diagram,
    forest_plot,
    km_plot,
    rate_bar_plot,
    risk_table_counts,
    save_figure,
)

GROUPS = ["IHC 3+", "IHC 2+/ISH+"]
COLORS = {"IHC 3+": "#0072B2", "IHC 2+/ISH+": "#D55E00"}


@pytest.fixture(scope="module")
def surv_df() -> pd.DataFrame:
    """~575 patients, 458 vs 117, DFS months 0-120 with ~15% events."""
    rng = np.random.default_rng(11)
    g = np.array(["IHC 3+"] * 458 + ["IHC 2+/ISH+"] * 117)
    t_ev = rng.exponential(1 / np.where(g == "IHC 3+", 0.0018, 0.0025))
    t_c = rng.uniform(3, 120, g.size)
    return pd.DataFrame(
        {
            "her2": g,
            "months": np.round(np.minimum(t_ev, t_c), 1),
            "event": (t_ev <= t_c).astype(int),
        }
    )


def _step(step: int, kind: str, label: str, n_before: int, n_excluded: int,
          detail: str | None = None) -> dict:
    return {"step": step, "kind": kind, "label": label, "n_before": n_before,
            "n_excluded": n_excluded, "n_after": n_before - n_excluded, "detail": detail}


@pytest.fixture(scope="module")
def flow_df() -> pd.DataFrame:
    return pd.DataFrame(
        [
            _step(0, "start", "Records received from 5 centres", 650, 0),
            _step(1, "quarantine", "Conflicting duplicate records", 650, 6,
                  "Centre B: 4\nCentre D: 2"),
            _step(2, "exclude", "Metastatic at diagnosis", 644, 12),
            _step(3, "exclude", "HER2-negative under ASCO/CAP 2018", 632, 21),
            _step(4, "exclude", "No anti-HER2 therapy", 611, 15),
            _step(5, "exclude", "No surgery", 596, 9),
            _step(6, "exclude", "Bilateral cancer", 587, 4),
            _step(7, "exclude", "Previous malignancy", 583, 8),
        ]
    )


def _rates(hue: bool = False) -> pd.DataFrame:
    if hue:
        df = pd.DataFrame({"her2": ["IHC 3+", "IHC 3+", "IHC 2+/ISH+", "IHC 2+/ISH+"],
                           "reg": ["H", "HP", "H", "HP"], "events": [80, 131, 6, 13],
                           "n": [200, 258, 49, 68]})
    else:
        df = pd.DataFrame({"her2": GROUPS, "events": [211, 19], "n": [458, 117]})
    df["pct"] = 100 * df["events"] / df["n"]
    se = np.sqrt(df["pct"] * (100 - df["pct"]) / df["n"])
    df["lower"] = (df["pct"] - 1.96 * se).clip(lower=0)
    df["upper"] = df["pct"] + 1.96 * se
    return df


# --------------------------------------------------------------------------- saving


def test_save_figure_is_byte_identical(surv_df, tmp_path):
    fig = km_plot(surv_df, "months", "event", "her2", GROUPS, colors=COLORS,
                  annotation="Log-rank p = 0.21\nHR 1.31 (95% CI 0.85-2.02), Cox")
    save_figure(fig, tmp_path / "a.png", tmp_path / "a.pdf")
    save_figure(fig, tmp_path / "b.png", tmp_path / "b.pdf")
    # a rebuilt figure (a rerun of the pipeline) gives the same bytes too
    fig2 = km_plot(surv_df, "months", "event", "her2", GROUPS, colors=COLORS,
                   annotation="Log-rank p = 0.21\nHR 1.31 (95% CI 0.85-2.02), Cox")
    save_figure(fig2, tmp_path / "sub" / "c.png", tmp_path / "sub" / "c.pdf")
    for ext in ("png", "pdf"):
        digests = {
            hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
            for name in (f"a.{ext}", f"b.{ext}", f"sub/c.{ext}")
        }
        assert len(digests) == 1, ext
    pdf = (tmp_path / "a.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"CreationDate" not in pdf and b"ModDate" not in pdf
    png = (tmp_path / "a.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert b"Software" not in png and b"matplotlib" not in png.lower()


def test_save_figure_png_is_the_file_savefig_writes(surv_df, tmp_path):
    """The PNG is drawn once (layout engine run in that draw) instead of savefig's two draws;
    the bytes must be those savefig writes (each figure built twice, one saved each way),
    for a constrained-layout figure, a plain one and one without an Agg canvas."""
    from her2cohort.render.message import message_figure

    def bare() -> Figure:
        with mpl.rc_context(figures.journal_style()):
            f = Figure(figsize=(2, 1), layout="constrained")  # no Agg canvas: savefig itself
            f.add_subplot().plot([0, 1], [1, 0])
        return f

    builds = {
        "km": lambda: km_plot(surv_df, "months", "event", "her2", GROUPS, colors=COLORS,
                              annotation="Log-rank p = 0.21"),
        "msg": lambda: message_figure("Not analysed", "no patients"),
        "bare": bare,
    }
    for name, build in builds.items():
        ref = build()
        with mpl.rc_context(figures.journal_style()):
            ref.savefig(tmp_path / f"{name}_ref.png", format="png", dpi=300,
                        metadata={"Software": None})
        f = build()
        assert (f.get_layout_engine() is None) == (name == "msg")
        save_figure(f, tmp_path / f"{name}.png", None)
        assert (tmp_path / f"{name}.png").read_bytes() == \
            (tmp_path / f"{name}_ref.png").read_bytes(), name
        assert f.dpi == 100  # the figure's own dpi is restored


def test_png_is_300_dpi(surv_df, tmp_path):
    from PIL import Image

    fig = km_plot(surv_df, "months", "event", "her2", GROUPS)
    save_figure(fig, tmp_path / "k.png", None)
    with Image.open(tmp_path / "k.png") as im:
        w, h = im.size
        assert im.info["dpi"][0] == pytest.approx(300, abs=0.1)
    fw, fh = fig.get_size_inches()
    assert (w, h) == (round(fw * 300), round(fh * 300))


def test_no_global_state(surv_df, flow_df):
    import matplotlib.pyplot as plt

    before = dict(mpl.rcParams)
    n_figs = len(plt.get_fignums())
    km_plot(surv_df, "months", "event", "her2", GROUPS)
    rate_bar_plot(_rates(), "her2", "pct", "lower", "upper")
    flow_diagram(flow_df, [("IHC 3+", 458), ("IHC 2+/ISH+", 117)])
    after = dict(mpl.rcParams)
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}
    assert len(plt.get_fignums()) == n_figs


# --------------------------------------------------------------------------- Kaplan-Meier


def test_risk_table_counts_direct():
    df = pd.DataFrame({
        "t": [0.0, 5, 12, 12, 13, 30, 40, 7, 24, 25, np.nan],
        "e": [1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        "g": ["a"] * 7 + ["b"] * 4,
    })
    rt = risk_table_counts(df, "t", "e", "g", ["a", "b"], [0, 12, 24, 36])
    # at risk at t = number with follow-up time >= t (NaN row dropped)
    assert rt.loc["a"].tolist() == [7, 5, 2, 1]
    assert rt.loc["b"].tolist() == [3, 2, 2, 0]
    assert list(rt.columns) == [0, 12, 24, 36]


def test_km_plot_risk_table_matches_counts_and_ticks(surv_df):
    fig = km_plot(surv_df, "months", "event", "her2", GROUPS, colors=COLORS,
                  break_every=12, annotation="Log-rank p = 0.21")
    assert isinstance(fig, Figure)
    rt = fig._her2cohort_risk_table
    ticks = list(range(0, 121, 12))
    assert list(rt.columns) == ticks
    for g in GROUPS:
        tg = surv_df.loc[surv_df["her2"] == g, "months"].to_numpy()
        assert rt.loc[g].tolist() == [int((tg >= t).sum()) for t in ticks]
    assert rt.loc["IHC 3+", 0] == 458 and rt.loc["IHC 2+/ISH+", 0] == 117
    pd.testing.assert_frame_equal(
        rt, risk_table_counts(surv_df, "months", "event", "her2", GROUPS, ticks)
    )

    ax, ax_rt = fig.axes[0], fig.axes[1]
    # the drawn numbers are the counts, one per group row and x tick, centred on the ticks
    assert list(ax.get_xticks()) == ticks
    drawn = {(round(t.get_position()[0], 6), t.get_position()[1]): t.get_text()
             for t in ax_rt.texts}
    assert len(drawn) == len(GROUPS) * len(ticks)
    for i, g in enumerate(GROUPS):
        for tv in ticks:
            assert drawn[(tv, i)] == f"{rt.loc[g, tv]:,}"
    assert all(t.get_ha() == "center" for t in ax_rt.texts)
    # same x axis for curves and table -> numbers are aligned with the ticks
    assert ax_rt.get_xlim() == ax.get_xlim()
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    b_main, b_rt = ax.get_window_extent(r), ax_rt.get_window_extent(r)
    assert b_main.x0 == pytest.approx(b_rt.x0) and b_main.x1 == pytest.approx(b_rt.x1)
    # group labels in group colours
    labels = {t.get_text(): t.get_color() for t in ax_rt.get_yticklabels()}
    assert labels == COLORS
    # annotation text is drawn
    assert any(t.get_text() == "Log-rank p = 0.21" for t in ax.texts)
    # nothing drawn outside the figure
    fb = fig.bbox
    for t in [*ax.texts, *ax_rt.texts, *ax_rt.get_yticklabels(), ax.xaxis.label,
              ax.yaxis.label]:
        bb = t.get_window_extent(r)
        assert bb.x0 >= fb.x0 - 1 and bb.x1 <= fb.x1 + 1, t.get_text()
        assert bb.y0 >= fb.y0 - 1 and bb.y1 <= fb.y1 + 1, t.get_text()


def test_km_plot_options_and_validation(surv_df):
    df = surv_df.copy()
    df["event"] = df["event"].astype(bool)
    df.loc[0, "months"] = np.nan
    fig = km_plot(df, "months", "event", "her2", GROUPS, labels=["3+", "2+/ISH+"],
                  risk_table=False, ci=False, xmax=60, break_every=6, ymin=0.5,
                  conf_type="log-log")
    assert len(fig.axes) == 1
    assert fig._her2cohort_risk_table.loc["IHC 3+", 0] == 457
    assert list(fig._her2cohort_risk_table.columns) == list(range(0, 61, 6))
    with pytest.raises(ValueError, match="group_order"):
        km_plot(surv_df, "months", "event", "her2", ["IHC 3+"])
    bad = surv_df.assign(event=2)
    with pytest.raises(ValueError, match="0/1"):
        km_plot(bad, "months", "event", "her2", GROUPS)
    with pytest.raises(ValueError, match="colors"):
        km_plot(surv_df, "months", "event", "her2", GROUPS, colors={"IHC 3+": "k"})


def test_km_log_confidence_interval_hand_computed():
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit([1, 2, 3, 4, 5], [1, 1, 0, 1, 1])
    lo, hi = figures._km_confidence(kmf, "log", 0.05)
    # t = 1: S = 0.8, var(log S) = 1 / (5 * 4) -> 0.8 * exp(-1.959964 * sqrt(0.05))
    i = list(kmf.survival_function_.index).index(1.0)
    z = 1.959963984540054
    assert lo[i] == pytest.approx(0.8 * np.exp(-z * np.sqrt(0.05)))
    assert hi[i] == pytest.approx(min(1.0, 0.8 * np.exp(z * np.sqrt(0.05))))
    assert np.isnan(lo[-1])  # S = 0 at the last time: no log CI (R gives NA)


@pytest.mark.rref
def test_km_log_confidence_interval_matches_r_survfit():
    if shutil.which("Rscript") is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("Rscript is required when CI is set but was not found on PATH")
        pytest.skip("Rscript not found on PATH: R reference comparison skipped")
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(3)
    t = np.round(rng.exponential(30, 60), 0) + 1
    e = rng.integers(0, 2, 60)
    code = (
        "suppressMessages(library(survival))\n"
        f"t <- c({', '.join(map(str, t))}); e <- c({', '.join(map(str, e))})\n"
        "f <- survfit(Surv(t, e) ~ 1)\n"
        "cat(sprintf('%.17g', c(f$lower, f$upper)), sep = '\\n')"
    )
    res = subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True,
                         text=True, check=False, timeout=120)
    assert res.returncode == 0, res.stderr
    vals = np.array([float(v) if v != "NA" else np.nan for v in res.stdout.split()])
    r_lo, r_hi = np.split(vals, 2)
    kmf = KaplanMeierFitter().fit(t, e)
    lo, hi = figures._km_confidence(kmf, "log", 0.05)
    # lifelines' timeline starts at 0; R's survfit times are the observed times
    np.testing.assert_allclose(lo[1:], r_lo, rtol=1e-10)
    np.testing.assert_allclose(hi[1:], r_hi, rtol=1e-10)


# --------------------------------------------------------------------------- rate bars


def test_rate_bar_plot_labels_and_annotation():
    rates = _rates()
    fig = rate_bar_plot(rates, "her2", "pct", "lower", "upper", colors=COLORS,
                        annotation="p < 0.001, Pearson chi-square")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "211/458" in texts and "19/117" in texts
    assert "p < 0.001, Pearson chi-square" in texts
    assert [t.get_text() for t in ax.get_xticklabels()] == GROUPS
    assert ax.get_ylabel() == "pCR rate (%)"
    bars = fig._her2cohort_bars
    assert bars["label"].tolist() == ["211/458", "19/117"]
    assert bars["color"].tolist() == [COLORS[g] for g in GROUPS]
    # labels sit above the upper CI limits; the annotation box clears everything
    for t in ax.texts:
        if "/" in t.get_text():
            b = bars.loc[bars["label"] == t.get_text()].iloc[0]
            assert t.get_position()[1] > b["upper"]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ann = next(t for t in ax.texts if t.get_text().startswith("p <"))
    ann_bb = ann.get_bbox_patch().get_window_extent(r)
    for t in ax.texts:
        if t is not ann:
            assert not ann_bb.overlaps(t.get_window_extent(r)), t.get_text()


def test_rate_bar_plot_with_hue_has_no_overlapping_labels(tmp_path):
    fig = rate_bar_plot(_rates(hue=True), "her2", "pct", "lower", "upper", hue="reg",
                        x_order=GROUPS, hue_order=["H", "HP"],
                        hue_labels={"H": "Trastuzumab", "HP": "Trastuzumab + pertuzumab"},
                        annotation="Within IHC 2+/ISH+: p = 0.320 (Pearson chi-square)")
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["Trastuzumab",
                                                         "Trastuzumab + pertuzumab"]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if "/" in t.get_text() and "p =" not in t.get_text()]
    assert sorted(t.get_text() for t in labels) == sorted(["80/200", "131/258", "6/49",
                                                          "13/68"])
    boxes = [t.get_window_extent(r) for t in labels]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j])
    fb = fig.bbox
    for artist in [*ax.texts, legend]:
        bb = artist.get_window_extent(r)
        assert bb.x0 >= fb.x0 - 1 and bb.x1 <= fb.x1 + 1
        assert bb.y1 <= fb.y1 + 1
    save_figure(fig, tmp_path / "r.png", tmp_path / "r.pdf")
    assert (tmp_path / "r.png").stat().st_size > 0 and (tmp_path / "r.pdf").stat().st_size > 0


def test_rate_bar_plot_validation():
    r = _rates()
    with pytest.raises(KeyError):
        rate_bar_plot(r.drop(columns="events"), "her2", "pct", "lower", "upper")
    with pytest.raises(ValueError, match="duplicate"):
        rate_bar_plot(pd.concat([r, r]), "her2", "pct", "lower", "upper")


# --------------------------------------------------------------------------- flow diagram


def _assert_text_inside_boxes(fig: Figure) -> None:
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    for b in fig._her2cohort_flow_boxes:
        tb = b["artist"].get_window_extent(r)
        pb = b["patch"].get_window_extent(r)
        assert tb.x0 >= pb.x0 and tb.x1 <= pb.x1, b["text"]
        assert tb.y0 >= pb.y0 and tb.y1 <= pb.y1, b["text"]
    # boxes never overlap each other and stay inside the figure
    fb = fig.bbox
    pbs = [b["patch"].get_window_extent(r) for b in fig._her2cohort_flow_boxes]
    for i, p in enumerate(pbs):
        assert p.x0 >= fb.x0 and p.x1 <= fb.x1 and p.y0 >= fb.y0 and p.y1 <= fb.y1
        for q in pbs[i + 1:]:
            assert not p.overlaps(q)


def test_flow_diagram_texts_contain_counts(flow_df, tmp_path):
    fig = flow_diagram(flow_df, [("IHC 3+", 458), ("IHC 2+/ISH+", 117)],
                       title="Figure 1. Patient selection")
    boxes = fig._her2cohort_flow_boxes
    texts = [b["text"].replace("\n", " ") for b in boxes]
    assert texts[0] == "Records received from 5 centres (n = 650)"
    assert "Quarantined: Conflicting duplicate records (n = 6)" in texts[1]
    assert "Centre B: 4" in texts[1]
    assert "Excluded: Metastatic at diagnosis (n = 12)" in texts
    main = [t for b, t in zip(boxes, texts, strict=True) if b["kind"] == "main"]
    assert main == [f"n = {k}" for k in flow_df["n_after"].iloc[1:]]
    finals = [t for b, t in zip(boxes, texts, strict=True) if b["kind"] == "final"]
    assert finals == ["IHC 3+ (n = 458)", "IHC 2+/ISH+ (n = 117)"]
    assert sum(b["kind"] in ("exclude", "quarantine") for b in boxes) == 7
    # every box text is drawn
    drawn = {t.get_text() for t in fig.axes[0].texts}
    assert {b["text"] for b in boxes} <= drawn
    _assert_text_inside_boxes(fig)
    save_figure(fig, tmp_path / "f1.png", tmp_path / "f1.pdf")
    save_figure(fig, tmp_path / "f2.png", tmp_path / "f2.pdf")
    assert (tmp_path / "f1.png").read_bytes() == (tmp_path / "f2.png").read_bytes()
    assert (tmp_path / "f1.pdf").read_bytes() == (tmp_path / "f2.pdf").read_bytes()


def test_flow_diagram_many_steps_long_text_never_overflows():
    rows = [_step(0, "start", "Records received from 12 centres", 5000, 0)]
    n = 5000
    for i in range(1, 21):
        k = 10 * i
        label = (
            f"Reason {i}: a deliberately long exclusion criterion with "
            "pneumonoultramicroscopicsilicovolcanoconiosisandmoreandmore in it"
            if i % 4 == 0 else f"Reason {i}"
        )
        detail = "Centre A: 1\nCentre B: 2\nCentre C: 3" if i % 3 == 0 else None
        rows.append(_step(i, "exclude", label, n, k, detail))
        n -= k
    flow = pd.DataFrame(rows)
    finals = [("A group with a rather long descriptive name", n - 1000), ("B", 600),
              ("C", 400)]
    fig = flow_diagram(flow, finals)
    _assert_text_inside_boxes(fig)
    short = flow_diagram(flow.iloc[:3], [("All", int(flow["n_after"].iloc[2]))])
    _assert_text_inside_boxes(short)
    assert fig.get_size_inches()[1] > 3 * short.get_size_inches()[1]
    texts = [b["text"] for b in fig._her2cohort_flow_boxes]
    assert texts[-4] == "n = 2900"  # separators only from 10,000 up (as in the tables)
    assert any("(n = 1900)" in t for t in texts)  # "(n = ...)" is never split


def test_flow_diagram_validation(flow_df):
    bad = flow_df.copy()
    bad.loc[2, "n_after"] = 630
    with pytest.raises(ValueError, match="n_after"):
        flow_diagram(bad, [("IHC 3+", 458), ("IHC 2+/ISH+", 117)])
    with pytest.raises(ValueError, match="final_groups"):
        flow_diagram(flow_df, [("IHC 3+", 458), ("IHC 2+/ISH+", 100)])
    with pytest.raises(ValueError, match="start"):
        flow_diagram(flow_df.iloc[1:], [("IHC 3+", 458), ("IHC 2+/ISH+", 117)])


@pytest.mark.parametrize("n_lines", [1, 3, 5, 7])
def test_rate_bar_plot_annotation_box_never_covers_bar_labels(n_lines):
    """The annotation box grows with its lines; bars and n/N labels stay below it."""
    text = "\n".join(f"Comparison {i}: p = 0.{i:03d}" for i in range(n_lines))
    fig = rate_bar_plot(_rates(hue=True), "her2", "pct", "lower", "upper", hue="reg",
                        x_order=GROUPS, hue_order=["H", "HP"], annotation=text)
    ax = fig.axes[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    note = next(t for t in ax.texts if t.get_text() == text)
    note_box = note.get_bbox_patch().get_window_extent(r)
    labels = [t for t in ax.texts if t is not note]
    assert len(labels) == 4
    for t in labels:
        assert not t.get_window_extent(r).overlaps(note_box), (n_lines, t.get_text())
    for patch in ax.patches:
        if patch is not note.get_bbox_patch():
            assert not patch.get_window_extent(r).overlaps(note_box)


# --------------------------------------------------------------------------- palette, fonts


def test_group_palette_defaults_and_validation():
    from her2cohort.render.figures import DEFAULT_COLORS, group_palette

    pal = figures.group_palette(GROUPS)
    assert [pal[g].color for g in GROUPS] == list(DEFAULT_COLORS[:2])
    assert pal["IHC 3+"].linestyle != pal["IHC 2+/ISH+"].linestyle
    assert pal["IHC 3+"].hatch != pal["IHC 2+/ISH+"].hatch
    pal2 = group_palette(GROUPS, colors=COLORS)
    assert {g: pal2[g].color for g in GROUPS} == COLORS
    with pytest.raises(ValueError, match="duplicate"):
        group_palette(["a", "a"])
    with pytest.raises(ValueError, match="colors"):
        group_palette(GROUPS, colors={"IHC 3+": "k"})


def _overall_and_regimen(scale: int = 1) -> pd.DataFrame:
    """pCR overall per HER2 group plus single/dual inside each group (pipeline numbers)."""
    rows = [("IHC 3+", "overall", 211, 458), ("IHC 2+/ISH+", "overall", 19, 117),
            ("IHC 3+", "single", 61, 158), ("IHC 3+", "dual", 150, 300),
            ("IHC 2+/ISH+", "single", 6, 49), ("IHC 2+/ISH+", "dual", 13, 68)]
    df = pd.DataFrame(rows, columns=["her2", "reg", "events", "n"])
    df["events"] *= scale
    df["n"] *= scale
    p = df["events"] / df["n"]
    se = np.sqrt(p * (1 - p) / df["n"])
    df["pct"] = 100 * p
    df["lower"] = 100 * (p - 1.96 * se).clip(lower=0)
    df["upper"] = 100 * (p + 1.96 * se)
    return df


def test_same_group_same_colour_in_every_figure(surv_df):
    from matplotlib.colors import to_hex

    pal = figures.group_palette(GROUPS)
    km = km_plot(surv_df, "months", "event", "her2", GROUPS, palette=pal)
    lines = [ln for ln in km.axes[0].get_lines() if len(ln.get_xdata()) > 5]
    drawn = {to_hex(ln.get_color()) for ln in lines}
    assert drawn == {pal[g].color.lower() for g in GROUPS}
    legend = {t.get_text(): h for t, h in zip(km.axes[0].get_legend().get_texts(),
                                             km.axes[0].get_legend().legend_handles,
                                             strict=True)}
    assert legend["IHC 2+/ISH+"].get_linestyle() != legend["IHC 3+"].get_linestyle()
    fig = rate_bar_plot(_overall_and_regimen(), "her2", "pct", "lower", "upper", hue="reg",
                        x_order=GROUPS, hue_order=["overall", "single", "dual"], palette=pal)
    bars = fig._her2cohort_bars
    for g in GROUPS:
        sub = bars[bars["x"] == g].set_index("hue")
        assert to_hex(sub.loc["overall", "color"]) == pal[g].color.lower()
        # regimen: lighter tints of the SAME group colour, hatched, never the other group's
        for h in ("single", "dual"):
            c = np.array(mpl.colors.to_rgb(sub.loc[h, "color"]))
            base = np.array(mpl.colors.to_rgb(pal[g].color))
            t = (c - base) / (1 - base + 1e-12)
            assert np.allclose(t, t[0], atol=1e-6) and 0 < t[0] < 1
            assert sub.loc[h, "hatch"]
    other = {pal[g].color.lower() for g in GROUPS}
    assert {to_hex(c) for c in bars.loc[bars["hue"] != "overall", "color"]}.isdisjoint(other)
    # in greyscale the three bars of a group still differ: luminance and hatch
    sub = bars[bars["x"] == "IHC 2+/ISH+"]
    lums = sorted(float(np.dot(mpl.colors.to_rgb(c), [0.299, 0.587, 0.114]))
                  for c in sub["color"])
    assert min(np.diff(lums)) > 0.1, lums
    assert sub["hatch"].nunique() == 3
    # without palette or colours the same default palette is used (group colours by x)
    dflt = rate_bar_plot(_overall_and_regimen(), "her2", "pct", "lower", "upper", hue="reg",
                         x_order=GROUPS, hue_order=["overall", "single", "dual"])
    pd.testing.assert_series_equal(dflt._her2cohort_bars["color"].map(to_hex),
                                   bars["color"].map(to_hex))
    # regimen legend in neutral grey, so it does not claim a group colour
    handles = fig.axes[0].get_legend().legend_handles
    for hnd in handles:
        r, g_, b = hnd.get_facecolor()[:3]
        assert r == pytest.approx(g_) == pytest.approx(b)


@pytest.mark.parametrize("scale", [1 / 15, 1, 60])
def test_pcr_bars_annotation_never_covers_data_small_and_large(scale):
    """30 patients (scale 1/15 of 458 ... rounded) up to ~30,000: box clear of all data."""
    df = _overall_and_regimen(1)
    if scale < 1:  # about 30 patients in all
        df = pd.DataFrame({"her2": ["IHC 3+", "IHC 2+/ISH+"] * 3,
                           "reg": ["overall", "overall", "single", "single", "dual", "dual"],
                           "events": [12, 1, 5, 0, 7, 1], "n": [24, 6, 10, 3, 14, 3]})
        p = df["events"] / df["n"]
        df["pct"] = 100 * p
        # Wilson-like wide intervals
        df["lower"] = 100 * (p - 0.35).clip(lower=0)
        df["upper"] = 100 * (p + 0.35).clip(upper=1)
    else:
        df = _overall_and_regimen(int(scale))
    ann = ("IHC 3+ vs IHC 2+/ISH+: p < 0.001\nSingle vs dual, IHC 3+: p = 0.020\n"
           "Single vs dual, IHC 2+/ISH+: p = 0.32\nPearson's chi-squared test")
    fig = rate_bar_plot(df, "her2", "pct", "lower", "upper", hue="reg", x_order=GROUPS,
                        hue_order=["overall", "single", "dual"],
                        palette=figures.group_palette(GROUPS), annotation=ann,
                        note="pCR: ypT0/is ypN0. Error bars: 95% Wilson score CI.")
    ax = fig.axes[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    note = next(t for t in ax.texts if t.get_text() == ann)
    box = note.get_bbox_patch().get_window_extent(r)
    others = [t for t in ax.texts if t is not note]
    assert len(others) == 6
    for t in others:
        assert not t.get_window_extent(r).overlaps(box), t.get_text()
    for patch in ax.patches:
        if patch is not note.get_bbox_patch():
            assert not patch.get_window_extent(r).overlaps(box)
    for coll in ax.collections:  # error bars
        for seg in coll.get_segments():
            top = ax.transData.transform(seg).max(axis=0)[1]
            assert top < box.y0
    if scale == 60:
        assert "12,660/27,480" in [t.get_text() for t in others]
    # the pCR definition and CI method are printed under the panel, inside the figure
    foot = fig._supxlabel
    assert foot.get_text().startswith("pCR: ypT0/is ypN0.")
    fb = fig.bbox
    bb = foot.get_window_extent(r)
    assert bb.x0 >= fb.x0 - 1 and bb.x1 <= fb.x1 + 1 and bb.y0 >= fb.y0 - 1


def test_font_is_installed_logged_and_embedded(tmp_path, caplog):
    import logging

    from matplotlib import font_manager

    from her2cohort.render.fonts import resolve_font

    style = figures.journal_style()
    fam = style["font.family"][0]
    path = font_manager.findfont(font_manager.FontProperties(family=fam),
                                 fallback_to_default=False)
    assert font_manager.get_font(path).family_name == fam
    with caplog.at_level(logging.INFO, logger="her2cohort.render"):
        got = resolve_font(("No Such Font 123",))
    assert got == "DejaVu Sans"
    assert any("No Such Font 123" in rec.getMessage() for rec in caplog.records)
    fig = rate_bar_plot(_rates(), "her2", "pct", "lower", "upper", annotation="p < 0.001")
    save_figure(fig, None, tmp_path / "f.pdf")
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert b"/FontFile2" in pdf  # TrueType embedded (pdf.fonttype 42)
    assert b"/Type3" not in pdf
    assert fam.replace(" ", "").encode() in pdf


# --------------------------------------------------------------------------- forest, dose


def _forest_df(n_vars: int, levels: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n_vars):
        for k in range(levels):
            lor, se = rng.normal(1.4, 0.4), rng.uniform(0.15, 0.9)
            rows.append({"variable": f"Variable {v}", "level": f"Level {v}.{k}",
                         "n": str(int(rng.integers(20, 500))),
                         "ev": f"{int(rng.integers(1, 20))}/{int(rng.integers(20, 40))}",
                         "or": float(np.exp(lor)), "lower": float(np.exp(lor - 1.96 * se)),
                         "upper": float(np.exp(lor + 1.96 * se)), "se": se,
                         "p_interaction": float(rng.uniform()) if k == 0 else np.nan})
    return pd.DataFrame(rows)


def _assert_texts_apart_and_inside(fig: Figure) -> None:
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in ax.texts if t.get_text()]
    boxes = [t.get_window_extent(r) for t in texts]
    fb = fig.bbox
    for t, b in zip(texts, boxes, strict=True):
        assert b.x0 >= fb.x0 - 1 and b.x1 <= fb.x1 + 1, t.get_text()
        assert b.y0 >= fb.y0 - 1 and b.y1 <= fb.y1 + 1, t.get_text()
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    labels = [t for t in fig.axes[1].get_xticklabels() if t.get_text()]
    lb = [t.get_window_extent(r) for t in labels]
    for i in range(len(lb) - 1):
        assert not lb[i].overlaps(lb[i + 1])


@pytest.mark.parametrize(("n_vars", "levels"), [(1, 2), (10, 3)])
def test_forest_plot_3_and_40_rows(n_vars, levels, tmp_path):
    from matplotlib.patches import Polygon

    df = _forest_df(n_vars, levels)
    overall = {"label": "All patients", "or": 4.39, "lower": 2.6, "upper": 7.4, "n": "575",
               "ev": "230/575"}
    fig = forest_plot(df, text_columns={"n": "n", "pCR": "ev"}, se="se", overall=overall,
                      favours=("IHC 2+/ISH+ better", "IHC 3+ better"))
    fr = fig._her2cohort_forest
    assert len(fr) == n_vars * (levels + 1) + 1  # headers + levels + overall
    assert fr["kind"].tolist()[0] == "header" and fr["kind"].tolist()[-1] == "overall"
    _assert_texts_apart_and_inside(fig)
    ax = fig.axes[1]
    assert ax.get_xscale() == "log"
    # reference line at 1
    assert any(np.allclose(ln.get_xdata(), [1, 1]) for ln in ax.get_lines())
    # box area proportional to precision 1/SE^2 (side ~ sqrt(weight)), above the minimum size
    lv = fr[fr["kind"] == "level"]
    w = 1 / df["se"].to_numpy() ** 2
    assert np.allclose(lv["weight"], w)
    big = lv["marker_size"] > 2.5
    ratio = lv.loc[big, "marker_size"] / np.sqrt(lv.loc[big, "weight"])
    assert np.allclose(ratio, ratio.iloc[0])
    squares = [ln for ln in ax.get_lines() if ln.get_marker() == "s"]
    assert len(squares) == len(lv)
    # the overall row is a diamond
    assert sum(isinstance(p, Polygon) for p in ax.patches) == 1
    # text: OR (95% CI) with en dash, P-interaction on the header rows only
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "4.39 (2.60\u20137.40)" in texts and "P-interaction" in texts
    hdr = fr[fr["kind"] == "header"]
    assert (hdr["p"] != "").all() and (fr.loc[fr["kind"] == "level", "p"] == "").all()
    h = fig.get_size_inches()[1]
    assert h == pytest.approx(0.12 + 0.3 + len(fr) * 0.19 + 0.62)
    save_figure(fig, tmp_path / "forest.png", tmp_path / "forest.pdf")


def test_forest_plot_clipped_intervals_and_validation():
    df = _forest_df(1, 3)
    df.loc[0, "upper"] = 500.0
    fig = forest_plot(df, xlim=(0.1, 50))
    arrows = [ln for ln in fig.axes[1].get_lines() if ln.get_marker() == ">"]
    assert len(arrows) == 1
    with pytest.raises(ValueError, match="> 0"):
        forest_plot(df.assign(lower=-1.0))
    with pytest.raises(ValueError, match="xlim"):
        forest_plot(df, xlim=(2, 10))


def test_dose_response_plot_rug_band_and_clear_annotation():
    from scipy.special import expit

    from her2cohort.render.figures import dose_response_plot

    x = np.linspace(1, 12, 60)
    curve = pd.concat([pd.DataFrame({"ratio": x, "g": g, "estimate": expit(-2 + 0.3 * x + d),
                                     "lower": expit(-2.4 + 0.3 * x + d),
                                     "upper": expit(-1.6 + 0.3 * x + d)})
                       for g, d in (("IHC 3+", 0.3), ("IHC 2+/ISH+", -0.5))])
    rng = np.random.default_rng(2)
    rug = pd.DataFrame({"ratio": np.r_[rng.gamma(4, 1.5, 300), rng.gamma(2, 1.2, 80)],
                        "g": ["IHC 3+"] * 300 + ["IHC 2+/ISH+"] * 80})
    pal = figures.group_palette(GROUPS)
    fig = dose_response_plot(curve, "ratio", group="g", group_order=GROUPS, palette=pal,
                             rug=rug, xlabel="HER2/CEP17 ratio",
                             annotation="Logistic regression, natural spline (3 df)",
                             note="Band: 95% pointwise CI.")
    ax, ax_r = fig.axes
    lo, hi = ax.get_xlim()
    assert 0.7 < lo < 1 and 12 < hi < 12.3  # the modelled range, not the rug's
    segs = [c.get_segments() for c in ax_r.collections]
    assert [len(s) for s in segs] == [300, 80]
    lines = [ln for ln in ax.get_lines()]
    assert [mpl.colors.to_hex(ln.get_color()) for ln in lines] == [pal[g].color.lower()
                                                                  for g in GROUPS]
    # the annotation box covers no curve or band
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    box = ax.texts[0].get_bbox_patch().get_window_extent(r)
    for c in ax.collections:
        for path in c.get_paths():
            verts = ax.transData.transform(path.vertices)
            inside = ((verts[:, 0] > box.x0) & (verts[:, 0] < box.x1)
                      & (verts[:, 1] > box.y0) & (verts[:, 1] < box.y1))
            assert not inside.any()
    # a band filling the whole panel leaves no free corner: the annotation moves to the note
    full = curve.assign(lower=0.0, upper=1.0)
    fig2 = dose_response_plot(full, "ratio", group="g", group_order=GROUPS, palette=pal,
                              annotation="Model text", note="Note.")
    assert not fig2.axes[0].texts
    assert fig2._supxlabel.get_text() == "Model text\nNote."


# --------------------------------------------------------------------------- rug at registry size


def test_rug_ticks_every_value_up_to_the_cap():
    v = np.array([3.0, 1.0, 1.0, 2.5])
    x, n = figures.rug_ticks(v, (0.0, 4.0), max_ticks=4)
    assert x.tolist() == [3.0, 1.0, 1.0, 2.5]  # as given, input order, duplicates kept
    assert n.tolist() == [1, 1, 1, 1]


def test_rug_ticks_bins_exact_counts_and_means():
    # 7 values > cap 2: bins [0, 0.5) and [0.5, 1]; 5.0 lies outside the axis and is dropped
    v = np.array([0.05, 0.05, 0.2, 0.55, 0.55, 1.0, 5.0])
    x, n = figures.rug_ticks(v, (0.0, 1.0), max_ticks=2)
    assert n.tolist() == [3, 3]
    assert x == pytest.approx([0.1, 0.7], rel=1e-15)
    # the right edge of the axis belongs to the last bin; empty bins give no tick
    x, n = figures.rug_ticks(np.r_[np.full(10, 0.01), 1.0], (0.0, 1.0), max_ticks=4)
    assert n.tolist() == [10, 1] and x.tolist() == pytest.approx([0.01, 1.0])


def test_rug_ticks_registry_size_is_bounded():
    v = np.random.default_rng(5).gamma(4, 1.5, 200_000)
    x, n = figures.rug_ticks(v, (1.0, 12.0))
    inside = int(((v >= 1.0) & (v <= 12.0)).sum())
    assert len(x) <= figures.RUG_MAX_TICKS == 2000
    assert int(n.sum()) == inside
    assert np.all(np.diff(x) > 0) and x.min() >= 1.0 and x.max() <= 12.0


def _dose_fig(n_big: int, n_small: int = 80):
    from scipy.special import expit

    x = np.linspace(1, 12, 60)
    curve = pd.concat([pd.DataFrame({"ratio": x, "g": g, "estimate": expit(-2 + 0.3 * x + d),
                                     "lower": expit(-2.4 + 0.3 * x + d),
                                     "upper": expit(-1.6 + 0.3 * x + d)})
                       for g, d in (("IHC 3+", 0.3), ("IHC 2+/ISH+", -0.5))])
    rng = np.random.default_rng(2)
    rug = pd.DataFrame({"ratio": np.r_[rng.gamma(4, 1.5, n_big), rng.gamma(2, 1.2, n_small)],
                        "g": ["IHC 3+"] * n_big + ["IHC 2+/ISH+"] * n_small})
    return figures.dose_response_plot(curve, "ratio", group="g", group_order=GROUPS,
                                      palette=figures.group_palette(GROUPS), rug=rug,
                                      xlabel="ratio", note="Note.")


def test_dose_response_rug_is_binned_above_the_cap_and_looks_the_same(monkeypatch):
    fig = _dose_fig(100_000)
    ax, ax_r = fig.axes
    big, small = ax_r.collections
    lo, hi = ax.get_xlim()
    ref = np.random.default_rng(2).gamma(4, 1.5, 100_000)
    inside = int(((ref >= lo) & (ref <= hi)).sum())
    assert len(big.get_segments()) <= 2000 and len(small.get_segments()) == 80
    a = figures.rug_alpha(100_000)
    _, cnt = figures.rug_ticks(ref, (lo, hi))
    assert int(cnt.sum()) == inside
    assert big.get_colors()[:, 3] == pytest.approx(1 - (1 - a) ** cnt)
    assert small.get_alpha() == pytest.approx(figures.rug_alpha(80))
    # the binned rug looks like the full one (every value a tick) at 300 dpi
    monkeypatch.setattr(figures, "RUG_MAX_TICKS", 10**9)
    full = _dose_fig(100_000)
    assert len(full.axes[1].collections[0].get_segments()) == 100_000
    monkeypatch.undo()

    def strip(f):
        f.set_dpi(300)
        f.canvas.draw()
        img = np.asarray(f.canvas.buffer_rgba())[..., :3].astype(float)
        r = f.axes[1].get_window_extent()
        return img[img.shape[0] - int(r.y1):img.shape[0] - int(r.y0), int(r.x0):int(r.x1)]

    d = np.abs(strip(fig) - strip(full))
    assert d.mean() < 2.0 and np.quantile(d, 0.999) < 40  # of 255


def test_km_plot_censor_marks_are_thinned_at_registry_size():
    from her2cohort.render.km import MARK_CELLS, thin_marks

    n = 100_000
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 120, n)  # distinct censoring times: one per patient
    df = pd.DataFrame({"her2": "IHC 3+", "months": t, "event": (rng.random(n) < 0.05)})
    fig = km_plot(df, "months", "event", "her2", ["IHC 3+"], ci=False, risk_table=False)
    marks = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "+"]
    assert len(marks) == 1
    shown = len(marks[0].get_xdata())
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(df["months"], df["event"])
    et = kmf.event_table
    ct = et.index[et["censored"].to_numpy() > 0].to_numpy(float)
    cs = kmf.survival_function_.loc[ct].iloc[:, 0].to_numpy(float)
    assert len(ct) > 90_000
    assert shown == int(thin_marks(ct, cs, (-3.6, 123.6)).sum())
    assert shown <= MARK_CELLS[0] * 10  # one per x cell and the few survival cells it spans
