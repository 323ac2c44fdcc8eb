"""Plate QC and normalisation rules (study/invitro.py) on constructed plates with known
answers: exact counts of used, flagged and excluded wells, the Z' decision, the edge check,
the outlier rules and the viability formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2cohort.data.plates import PLATE_ACTIONS
from her2cohort.stats.plateqc import z_prime
from her2cohort.study.invitro import line_classes, normalise, process_wells

ROWS = "ABCDEFGH"


def _plate(plate: str, *, vehicle: float = 1000.0, blank: float = 10.0, edge: float = 1.0,
           sd: float = 0.0, seed: int = 1) -> pd.DataFrame:
    """Column 1 blank (A-D) and kill (E-H); vehicle in column 12 (edge) and D7-G7 (inside);
    rows A-C columns 2-11 one drug in ten doses; the rest empty."""
    rng = np.random.default_rng(seed)
    recs = []
    for r in range(8):
        for c in range(1, 13):
            w = {"plate": plate, "well": f"{ROWS[r]}{c:02d}", "row": ROWS[r], "col": c,
                 "format": 96, "content": "empty", "line": "", "drug": "", "conc": np.nan,
                 "drug2": "", "conc2": np.nan, "signal": 5.0}
            if c == 1:
                w.update(content="blank" if r < 4 else "kill", signal=blank)
            elif c == 12 or (c == 7 and 3 <= r <= 6):
                w.update(content="vehicle", line="L1", signal=vehicle)
            elif r < 3 and 2 <= c <= 11:
                w.update(content="sample", line="L1", drug="d", conc=1000.0 / 3 ** (c - 2),
                         signal=blank + (vehicle - blank) * 0.5)
            recs.append(w)
    df = pd.DataFrame(recs)
    outer = df["row"].isin(["A", "H"]) | df["col"].isin([1, 12])
    df.loc[outer & df["content"].eq("vehicle"), "signal"] *= edge
    df["signal"] = df["signal"] * np.exp(rng.normal(0, sd, len(df))) if sd else df["signal"]
    df["file"] = "constructed.txt"
    df["line_no"] = 1
    df["unit_given"] = "nM"
    df["replicate"] = "1"
    df["signal_raw"] = df["signal"].astype(str)
    df["problem"] = ""
    df["status"] = np.where(df["content"].eq("empty"), "excluded", "used")
    df["rule"] = np.where(df["content"].eq("empty"), "empty", "")
    df["reason"] = ""
    return df


def test_viability_formula_and_z_prime_decision():
    a = _plate("A", sd=0.02, seed=3)
    b = _plate("B", sd=0.40, seed=4)  # noisy: Z' far below 0.5
    wells, qc = process_wells(pd.concat([a, b], ignore_index=True), PLATE_ACTIONS)
    q = qc.set_index("plate")
    veh = a.loc[a["content"] == "vehicle", "signal"]
    kill = a.loc[a["content"] == "kill", "signal"]
    assert q.loc["A", "z_prime"] == pytest.approx(z_prime(veh, kill), rel=1e-12)
    assert q.loc["A", "status"] == "passed" and q.loc["B", "status"] == "excluded"
    assert q.loc["B", "reason"] == f"Z' = {q.loc['B', 'z_prime']:.3f} < 0.5"
    wb = wells[wells["plate"] == "B"]
    assert (wb["status"] == "excluded").all()
    # 46 empty wells; the other 50 excluded by the plate's QC unless an outlier before it
    assert (wb["rule"] == "empty").sum() == 46
    assert set(wb["rule"]) == {"empty", "plate_qc", "outlier"}
    wa = wells[wells["plate"] == "A"]
    s = wa[wa["content"] == "sample"]
    blank = wa.loc[wa["content"] == "blank", "signal"].mean()
    vmean = wa.loc[(wa["content"] == "vehicle") & (wa["status"] != "excluded"), "signal"].mean()
    assert np.allclose(s["viability"], (s["signal"] - blank) / (vmean - blank), rtol=1e-12)


def test_edge_effect_flags_the_edge_sample_wells_only():
    a = _plate("A", edge=1.3, sd=0.01, seed=5)
    wells, qc = process_wells(a, PLATE_ACTIONS)
    assert bool(qc["edge_effect"].iloc[0]) and qc["edge_ratio"].iloc[0] == pytest.approx(1.3,
                                                                                          rel=0.02)
    flagged = wells[wells["status"] == "flagged"]
    # edge sample wells: row A, columns 2-11 (rows B, C are inside)
    assert sorted(flagged["well"]) == [f"A{c:02d}" for c in range(2, 12)]
    assert set(flagged["rule"]) == {"edge_effect"}
    counts = wells["status"].value_counts().to_dict()
    assert counts == {"used": 50 - 10, "excluded": 46, "flagged": 10}


def test_outliers_need_both_rules_and_saturated_wells_follow_their_action():
    a = _plate("A", sd=0.01, seed=6)
    i = a.index[a["well"] == "E12"][0]
    a.loc[i, "signal"] *= 0.5  # a vehicle well at half: far off, excluded
    j = a.index[a["well"] == "A12"][0]
    a.loc[j, ["signal", "signal_raw", "problem"]] = [np.nan, "OVRFLW", "signal_saturated"]
    k = a.index[a["well"] == "B12"][0]
    a.loc[k, "signal"] *= 1.03  # 3% off: the z rule alone would flag it, the distance does not
    wells, qc = process_wells(a, PLATE_ACTIONS)
    ex = wells[(wells["status"] == "excluded") & (wells["rule"] != "empty")]
    assert dict(zip(ex["well"], ex["rule"], strict=True)) == {"A12": "signal_saturated",
                                                              "E12": "outlier"}
    assert ex.set_index("well").loc["A12", "reason"] == "reader value saturated (OVRFLW)"
    assert qc["outliers"].iloc[0] == 1
    wells, _ = process_wells(a, {**PLATE_ACTIONS, "signal_saturated": "warn"})
    w = wells.set_index("well").loc["A12"]
    assert (w["status"], w["rule"]) == ("flagged", "signal_saturated")


def test_blank_wells_stand_in_for_kill_wells_and_z_prime_needs_two_of_each():
    a = _plate("A", sd=0.02, seed=7)
    a.loc[a["content"] == "kill", ["content", "status", "rule"]] = ["empty", "excluded",
                                                                    "empty"]
    b = _plate("B", sd=0.02, seed=8)
    keep = b["well"] == "A12"
    b.loc[(b["content"] == "vehicle") & ~keep, ["content", "status", "rule"]] = [
        "empty", "excluded", "empty"]
    wells, qc = process_wells(pd.concat([a, b], ignore_index=True), PLATE_ACTIONS)
    q = qc.set_index("plate")
    assert q.loc["A", "negative_control"] == "blank" and q.loc["A", "status"] == "passed"
    assert q.loc["B", "status"] == "excluded"
    assert q.loc["B", "reason"] == ("Z' not computable (1 vehicle, 4 kill wells usable; 2 of "
                                    "each needed)")


def test_normalise_uses_kill_wells_where_there_is_no_blank():
    a = _plate("A")
    a.loc[a["content"] == "blank", ["content", "status", "rule"]] = ["empty", "excluded",
                                                                     "empty"]
    a.loc[a["content"] == "kill", "signal"] = 20.0
    out = normalise(a)
    s = out[out["content"] == "sample"]
    assert np.allclose(s["viability"], (505.0 - 20.0) / (1000.0 - 20.0))


def test_line_classes_take_the_exposure_labels():
    groups = {"levels": ["3+", "2+/ISH+"], "labels": {"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"}}
    assert line_classes({"a": "3+", "b": "2+/ISH+", "c": "other"}, groups) == {
        "a": "IHC 3+", "b": "IHC 2+/ISH+", "c": "other"}


def test_fit_stage_says_so_when_no_well_is_left(tmp_path, capsys):
    from her2cohort.stages import run

    wells = _plate("A")
    wells["status"] = "excluded"
    wells["rule"] = "plate_qc"
    wells["viability"] = np.nan
    wells.to_csv(tmp_path / "wells.csv", index=False)
    outs = {k: tmp_path / f"{k}.out" for k in (
        "out_ic50", "out_ic50_html", "out_ic50_docx", "out_comparisons",
        "out_comparisons_html", "out_comparisons_docx", "out_synergy", "out_synergy_pairs",
        "out_synergy_html", "out_synergy_docx", "out_curves_png", "out_curves_pdf",
        "out_synergy_png", "out_synergy_pdf", "out_summary")}
    rc = run("invitro_fit", in_wells=tmp_path / "wells.csv", lines={"L1": "x"}, **outs)
    err = capsys.readouterr().err
    assert rc == 1
    assert "invitro_fit: no usable single-agent wells to fit: every plate failed QC" in err
    assert "Traceback" not in err
