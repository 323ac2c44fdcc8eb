"""Reading SIMULATED viability plates: both layouts (reader grid + plate map; long table),
unit conversion, and the broken-plate cases with their exact messages, all at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.data.plates import (PLATE_ACTIONS, convert_conc, read_grid, read_plates,
                                    well_id)
from her2cohort.data.problems import resolve_actions
from her2cohort.demo.plates import LINES, MOLAR_MASS, simulate_plates

GRID = "plates_SIMULATED_gen5.txt"
MAP = "platemap_SIMULATED.csv"
LONG_COLUMNS = {"plate": "Plate", "well": "Well", "line": "Cell line", "drug": "Compound",
                "conc": "Conc", "drug2": "Compound 2", "conc2": "Conc 2", "unit": "Units",
                "replicate": "Rep", "signal": "RLU"}
CONTROLS = {"vehicle": ["DMSO"], "blank": ["medium"], "kill": ["staurosporine"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plates")
    simulate_plates(out, shape="grid96")
    return out / "raw" / "invitro"


@pytest.fixture(scope="module")
def long384(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plates384")
    simulate_plates(out, shape="long384")
    return out


def _grid(folder: Path, grid=GRID, map_=MAP):
    return [{"layout": "grid", "file": str(folder / grid), "map": str(folder / map_)}]


def test_demo_is_byte_identical_to_the_bundled_files(demo):
    """The committed SIMULATED plates and their truth are what demo/plates.py writes."""
    root = Path(__file__).resolve().parents[1] / "data/demo"
    for name in (GRID, MAP):
        assert (demo / name).read_bytes() == (root / "raw/invitro" / name).read_bytes(), name
    for name in ("invitro_wells_SIMULATED.csv", "invitro_curves_SIMULATED.csv"):
        assert (demo.parents[1] / "truth" / name).read_bytes() == \
            (root / "truth" / name).read_bytes(), name


def test_grid_layout_reads_every_well_of_every_plate(demo):
    wells, problems = read_plates(_grid(demo), lines=LINES)
    truth = pd.read_csv(demo.parents[1] / "truth/invitro_wells_SIMULATED.csv")
    assert len(wells) == 12 * 96 == len(truth)
    assert wells["plate"].nunique() == 12
    m = wells.merge(truth, on=["plate", "well"], suffixes=("", "_t"))
    assert len(m) == len(wells)
    assert (m["content"] == m["content_t"]).all()
    num = m["signal"].notna()
    assert np.allclose(m.loc[num, "signal"], m.loc[num, "signal_t"].astype(float))
    assert set(m.loc[~num & m["content"].ne("empty"), "defect"]) == {"saturated"}
    assert [p.rule for p in problems] == ["signal_saturated", "signal_saturated"]
    p = problems[0]
    assert (p.file, p.row, p.value) == (str(demo / GRID), 13, "OVRFLW")
    assert p.message == ("plate P01, well A12: the reader's value is saturated (above its "
                         "range); the well is excluded, or read the plate again with a lower "
                         "gain")
    assert wells.loc[wells["problem"] != "", "well"].tolist() == ["A12", "B02"]
    sample = wells[wells["content"] == "sample"]
    assert sample["replicate"].eq("1").all()  # one of each well per plate


def test_grid_blocks_are_found_by_their_labels_in_other_reader_formats(tmp_path):
    """EnVision-like CSV (comma, label column after an index column) and a 384-well block."""
    text = ["Plate information", "Plate,Barcode", "Barcode: XY-7", "", ",,1,2,3,4,5,6,7,8,9,"
            "10,11,12"]
    text += [f"x,{r}," + ",".join(str(i * 10 + j) for j in range(12)) for i, r in
             enumerate("ABCDEFGH")]
    text += ["", "Plate name: big", "\t" + "\t".join(map(str, range(1, 25)))]
    text += [r + "\t" + "\t".join("5" for _ in range(24)) for r in "ABCDEFGHIJKLMNOP"]
    f = tmp_path / "reader.csv"
    f.write_text("\n".join(text) + "\n", encoding="utf-8")
    grid, problems = read_grid(f)
    assert problems == []
    assert grid.groupby("plate").size().to_dict() == {"XY-7": 96, "big": 384}
    a = grid[grid["plate"] == "XY-7"].set_index("well")["signal_raw"]
    assert (a["A01"], a["H12"], a["C05"]) == ("0", "81", "24")


def test_long_layout_384_wells_in_ug_per_ml(long384):
    f = long384 / "raw/invitro/plates_SIMULATED_long384.csv"
    spec = [{"layout": "long", "file": str(f), "columns": LONG_COLUMNS}]
    wells, problems = read_plates(spec, lines=LINES, molar_mass=MOLAR_MASS, controls=CONTROLS)
    truth = pd.read_csv(long384 / "truth/invitro_wells_long384_SIMULATED.csv")
    assert len(wells) == len(truth) and set(wells["format"]) == {384}
    assert [p.rule for p in problems] == ["signal_saturated"]
    assert problems[0].value == ">4.0E6"
    m = wells.merge(truth, on=["plate", "well"], suffixes=("", "_t"))
    s = m[m["content"] == "sample"]
    # ug/mL back to nM through the molar mass: the truth's nM doses, to 10 digits
    assert np.allclose(s["conc"], s["conc_t"], rtol=1e-9)
    assert (m["content"] == m["content_t"]).all()  # controls recognised by their drug names
    assert set(wells["replicate"]) == {"1", "2", "3"}


def test_unit_conversion():
    v = pd.Series([1.0, 1.0, 1.0, 1.0, 2.0])
    u = pd.Series(["uM", "µM", "nM", "ug/mL", "mg/mL"])
    d = pd.Series(["x", "x", "x", "ab", "y"])
    out, why = convert_conc(v, u, d, to="nM", molar_mass={"ab": 150000.0})
    assert out.iloc[:4].tolist() == pytest.approx([1000.0, 1000.0, 1.0, 1e6 / 150000.0])
    assert np.isnan(out.iloc[4]) and why.tolist() == ["", "", "", "", "molar_mass"]
    out, why = convert_conc(pd.Series([5.0]), pd.Series(["mol per bucket"]), pd.Series(["x"]))
    assert why.tolist() == ["unit"]
    wid, _, _ = well_id(pd.Series(["a1", "B-07", "P24", "Q1", "A25", "7"]))
    assert wid.tolist()[:3] == ["A01", "B07", "P24"] and wid.iloc[3:].isna().all()


def _copy(demo: Path, tmp_path: Path) -> Path:
    for n in (GRID, MAP):
        shutil.copy(demo / n, tmp_path / n)
    return tmp_path


def _rules(problems):
    return sorted({p.rule for p in problems})


def test_wrong_map_is_reported_both_ways(demo, tmp_path):
    d = _copy(demo, tmp_path)
    m = pd.read_csv(d / MAP, dtype=str, keep_default_na=False)
    m.loc[m["plate"] == "P01", "plate"] = "P99"
    m.to_csv(d / MAP, index=False)
    _, problems = read_plates(_grid(d), lines=LINES)
    msgs = {p.rule: p.message for p in problems}
    assert msgs["plate_not_in_map"].startswith(
        f"plate P01: the reader file has this plate but the plate map {d / MAP} does not")
    assert msgs["map_plate_not_read"].startswith(
        f"plate P99: the plate map names this plate but the reader file {d / GRID} has no "
        "block for it")
    resolve_actions(problems, PLATE_ACTIONS)
    assert {p.action for p in problems if p.rule != "signal_saturated"} == {"fail"}


def test_map_of_a_384_plate_on_a_96_plate(demo, tmp_path):
    d = _copy(demo, tmp_path)
    m = pd.read_csv(d / MAP, dtype=str, keep_default_na=False)
    m.loc[(m["plate"] == "P02") & (m["well"] == "H11"), "well"] = "M13"
    m.to_csv(d / MAP, index=False)
    _, problems = read_plates(_grid(d), lines=LINES)
    p = next(p for p in problems if p.rule == "map_well_outside_plate")
    assert p.message == ("plate P02, well M13: the plate map names a well outside this 96-well "
                         "plate (A01-H12): is it the map of a 384-well plate?")
    assert (p.file, p.value) == (str(d / MAP), "M13")


def test_missing_controls(demo, tmp_path):
    d = _copy(demo, tmp_path)
    m = pd.read_csv(d / MAP, dtype=str, keep_default_na=False)
    gone = (m["plate"] == "P03") & m["content"].isin(["vehicle"])
    m.loc[gone, ["content", "line"]] = ["empty", ""]
    gone = (m["plate"] == "P04") & m["content"].isin(["blank", "kill"])
    m.loc[gone, ["content", "line"]] = ["empty", ""]
    m.to_csv(d / MAP, index=False)
    _, problems = read_plates(_grid(d), lines=LINES)
    msgs = [p.message for p in problems if p.rule == "controls_missing"]
    assert msgs == [
        "plate P03: no vehicle wells; each plate needs vehicle wells (100% viability) and "
        "blank or kill wells (0%) to be normalised",
        "plate P04: no blank or kill wells; each plate needs vehicle wells (100% viability) "
        "and blank or kill wells (0%) to be normalised"]


def test_text_concentration_duplicate_well_and_unknown_line_all_at_once(demo, tmp_path):
    d = _copy(demo, tmp_path)
    m = pd.read_csv(d / MAP, dtype=str, keep_default_na=False)
    i = m.index[(m["plate"] == "P01") & (m["well"] == "A03")][0]
    m.loc[i, "conc"] = "333 nM"
    j = m.index[(m["plate"] == "P01") & (m["well"] == "A04")][0]
    m.loc[j, "conc"] = "1O0"
    k = m.index[(m["plate"] == "P02") & (m["well"] == "B05")][0]
    m.loc[k, "line"] = "SKBR3"
    m = pd.concat([m, m.loc[[i]]], ignore_index=True)  # the well A03 of P01 twice
    m.to_csv(d / MAP, index=False)
    _, problems = read_plates(_grid(d), lines=LINES)
    assert _rules(problems) == ["conc_not_number", "line_unknown", "signal_saturated",
                                "well_duplicated"]
    conc = [p for p in problems if p.rule == "conc_not_number"]
    assert [(p.row, p.column, p.value) for p in conc] == [(4, "conc", "333 nM"),
                                                          (5, "conc", "1O0"),
                                                          (1154, "conc", "333 nM")]
    assert conc[0].message == (
        "plate P01, well A03: concentration of trastuzumab is text, not a number; write the "
        "number alone in column 'conc' and its unit in the unit column")
    dup = [p for p in problems if p.rule == "well_duplicated"]
    assert [p.row for p in dup] == [4, 1154]
    assert dup[1].message == ("plate P01, well A03: the same well appears more than once "
                              "(first on line 4)")
    line = next(p for p in problems if p.rule == "line_unknown")
    assert line.value == "SKBR3" and line.message.startswith(
        "plate P02, well B05: cell line not listed under invitro: lines: (each line needs its "
        "class); lines listed: SK-BR-3-like, BT-474-like")


def test_reader_problems_text_values_and_missing_values(demo, tmp_path):
    d = _copy(demo, tmp_path)
    text = (d / GRID).read_text("utf-8").splitlines()
    row = next(i for i, t in enumerate(text) if t.startswith("B\t"))  # P01 row B
    cells = text[row].split("\t")
    cells[3], cells[4], cells[5] = "Overflow", "n/a", ""
    text[row] = "\t".join(cells)
    (d / GRID).write_text("\n".join(text) + "\n", "utf-8")
    wells, problems = read_plates(_grid(d), lines=LINES)
    got = sorted((p.rule, p.value) for p in problems if "P01, well B0" in p.message)
    assert got == [("signal_missing", None), ("signal_not_number", "n/a"),
                   ("signal_saturated", "Overflow")]
    resolve_actions(problems, PLATE_ACTIONS)
    acts = {p.rule: p.action for p in problems}
    assert acts == {"signal_saturated": "quarantine", "signal_not_number": "fail",
                    "signal_missing": "quarantine"}


def test_no_plate_block_and_missing_file(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("Software Version\t3.11\nno grid here\n", "utf-8")
    grid, problems = read_grid(f)
    assert grid.empty and [p.rule for p in problems] == ["no_plate_block"]
    assert problems[0].message.startswith("no plate block found: expected a row labelled 1 .. "
                                          "12 (or 1 .. 24) followed by rows labelled A .. H")
    _, problems = read_plates([{"layout": "long", "file": str(tmp_path / "absent.csv")}])
    assert [p.rule for p in problems] == ["file_missing"]
