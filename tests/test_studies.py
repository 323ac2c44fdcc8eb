"""The three SIMULATED example studies of the study definition (``her2cohort simulate --shape
her2low_registry|three_arm_trial|status_only``, ``her2cohort.demo.studies``).

(a) each simulator is deterministic and writes exactly the committed files; (b) the per-record
truth follows from the raw files under the rules it claims (HER2-low/HER2-0 from IHC and the ISH
result, recomputed here independently; criteria in config order; duplicates and impossible
values quarantined; pCR recorded or from ypT/ypN; endpoint days -> months) and the dispositions
add up; (c) the R reference values (``tests/r/studies.R`` -> ``tests/fixtures/r/studies_*.csv``)
were computed on the truth and are what R computes now. The pipeline end to end comes after the
study-definition merge (``tests/test_studies_e2e.py``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from her2cohort.demo import studies

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests/fixtures/r"
RTOL = 5e-7


def _example(shape: str) -> Path:
    return ROOT / "data/examples" / shape


def _truth(shape: str) -> pd.DataFrame:
    return pd.read_csv(_example(shape) / "truth/truth_SIMULATED.csv",
                       dtype={"patient_id": str, "group_truth": str, "pcr_truth": str,
                              "reason": str, "site": str},
                       keep_default_na=False, na_values={"time_days_truth": [""]})


def _expected(shape: str) -> dict:
    return json.loads((_example(shape) / "truth/expected_counts_SIMULATED.json")
                      .read_text("utf-8"))


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- (a) determinism ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", studies.STUDIES)
def test_simulator_is_deterministic_and_matches_committed_files(shape, tmp_path):
    studies.simulate_study(shape, tmp_path / "one")
    studies.simulate_study(shape, tmp_path / "two")
    one, two = _digests(tmp_path / "one"), _digests(tmp_path / "two")
    assert one == two
    assert _digests(_example(shape)) == one, "committed files differ from the simulator's"


def test_another_seed_gives_other_data_with_the_same_design(tmp_path):
    a = studies.build_three_arm_trial_truth()
    b = studies.build_three_arm_trial_truth(seed=1)
    assert not a["patient_id"].equals(b["patient_id"])
    assert studies.expected_counts(a, "three_arm_trial")["groups"]["C"]["pcr"] == \
        studies.expected_counts(b, "three_arm_trial")["groups"]["C"]["pcr"] == 75


def test_cli_simulates_each_study(tmp_path, monkeypatch, capsys):
    from her2cohort.cli import STUDY_SHAPES, main

    assert STUDY_SHAPES == studies.STUDIES
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--shape", "status_only"]) == 0  # default data/examples/<shape>
    assert "SIMULATED" in capsys.readouterr().out
    assert _digests(tmp_path / "data/examples/status_only") == _digests(_example("status_only"))
    for shape in ("her2low_registry", "three_arm_trial"):
        assert main(["simulate", "--shape", shape, "--outdir", f"out_{shape}"]) == 0
        assert _digests(tmp_path / f"out_{shape}") == _digests(_example(shape))
    with pytest.raises(ValueError, match="unknown study shape"):
        studies.simulate_study("nonsense")


@pytest.mark.parametrize("shape", studies.STUDIES)
def test_every_file_says_simulated(shape):
    for p in sorted(_example(shape).rglob("*")):
        if p.suffix in (".md", ".json"):
            assert "SIMULATED" in p.read_text("utf-8"), p
        elif p.is_file():
            assert "SIMULATED" in p.name, p
    cfg = (ROOT / "config/examples" / shape / "config.yaml").read_text("utf-8")
    assert "simulated: true" in cfg and "SIMULATED" in cfg


# --- (b) dispositions and truth against the raw files -----------------------------------------

@pytest.mark.parametrize("shape", studies.STUDIES)
def test_dispositions_add_up(shape):
    t = _truth(shape)
    e = _expected(shape)
    assert e == json.loads(json.dumps(studies.expected_counts(t, shape)))
    assert set(t["disposition"]) <= {"analysed", "excluded", "quarantined"}
    assert len(t) == e["records"] == \
        e["analysed"] + sum(e["excluded_by_criterion"].values()) + e["quarantined"]
    assert (t["disposition"] == "analysed").sum() == e["analysed"]
    assert ((t["disposition"] == "analysed") == (t["reason"] == "")).all()
    assert set(t.loc[t["disposition"] == "excluded", "reason"]) == set(studies.CRITERIA[shape])
    assert sum(g["n"] for g in e["groups"].values()) == e["analysed"]
    ana = t[t["disposition"] == "analysed"]
    assert set(ana["group_truth"]) == set(studies.LEVELS[shape])
    assert ana["time_months_truth"].notna().all() and ana["event_truth"].isin([0, 1]).all()
    assert t["patient_id"].duplicated().sum() == e["quarantined_by_rule"]["duplicate_id"]


def test_design_counts():
    e = _expected("her2low_registry")
    assert (e["records"], e["analysed"]) == (805, 719)
    assert e["excluded_by_criterion"] == {"male": 7, "prior_therapy": 12, "her2_positive": 58,
                                          "her2_class_unknown": 6}
    assert e["quarantined_by_rule"] == {"duplicate_id": 2, "out_of_range": 1}
    assert {k: v["n"] for k, v in e["groups"].items()} == {"0": 320, "low": 399}
    e = _expected("three_arm_trial")
    assert (e["records"], e["analysed"]) == (462, 455)
    assert {k: (v["n"], v["pcr_n"], v["pcr"]) for k, v in e["groups"].items()} == \
        {arm: cell for arm, cell in studies.TRI_CELLS.items()}
    e = _expected("status_only")
    assert (e["records"], e["analysed"]) == (510, 500)
    assert {k: (v["n"], v["pcr"]) for k, v in e["groups"].items()} == \
        {"negative": (270, 54), "positive": (230, 104)}


def _her2_class(ihc: pd.Series, ish: pd.Series) -> pd.Series:
    """HER2 class per ASCO/CAP 2018 from the IHC score and a reported ISH result (no numbers),
    written out here independently of study/her2.py."""
    return pd.Series(np.select(
        [ihc == "3+", (ihc == "2+") & (ish == "pos"), (ihc == "2+") & (ish == "neg"),
         ihc == "2+", (ihc == "1+") & (ish == "pos"), (ihc == "0") & (ish == "pos"),
         ihc == "1+", ihc == "0"],
        ["3+", "2+/ISH+", "2+/ISH-", "2+/ISH unknown", "1+/ISH+", "0/ISH+", "1+", "0"],
        "unknown"), index=ihc.index)


def _check_endpoint_days(t: pd.DataFrame, days: pd.Series, flag: pd.Series) -> None:
    assert (days.astype(int).to_numpy() == t["time_days_truth"].astype(int).to_numpy()).all()
    np.testing.assert_allclose(t["time_months_truth"], days.astype(int) * 12 / 365.25,
                               rtol=0, atol=5.000001e-7)
    assert (flag.astype(int).to_numpy() == t["event_truth"].to_numpy()).all()


def test_her2low_registry_truth_follows_from_the_raw_file():
    path = _example("her2low_registry") / "raw" / studies.REG_FILE
    lines = path.read_text("utf-8").split("\n")
    assert lines[1].startswith("id,code,F/M,years")  # the units line
    assert lines[2].startswith("SIMULATED DATA") and lines[2].endswith(",,,")  # notes line
    raw = pd.read_csv(path, skiprows=[1, 2], dtype=str, keep_default_na=False)
    t = _truth("her2low_registry")
    assert len(raw) == len(t) == 805
    assert (t["row"] == np.arange(4, len(t) + 4)).all()  # line numbers, header = line 1
    assert (raw["PATIENT_ID"] == t["patient_id"]).all() and (raw["SITE"] == t["site"]).all()
    assert sorted(raw["SITE"].unique()) == ["S01", "S02", "S03", "S04", "S05", "S06"]
    assert (raw["PATIENT_ID"].str.slice(0, 3) == raw["SITE"]).all()
    assert set(raw["SEX"]) == {"F", "M"} and set(raw["PRIOR_TX"]) == {"Y", "N"}
    assert set(raw["HER2_IHC"]) == {"0", "1+", "2+", "3+"} and set(raw["ISH"]) == \
        {"pos", "neg", ""}
    assert set(raw["PT"]) <= {"pT1", "pT2", "pT3", "pT4"} and set(raw["PM"]) == {"pM0"}
    klass = _her2_class(raw["HER2_IHC"], raw["ISH"])
    assert (klass == t["her2_class_truth"]).all()
    status = np.where(klass.isin(["3+", "2+/ISH+", "1+/ISH+", "0/ISH+"]), "positive",
                      np.where(klass.isin(["0", "1+", "2+/ISH-"]), "negative", "unknown"))
    assert (status == t["her2_status_truth"]).all()
    # quarantined first (validation), then the criteria in config order
    age = pd.to_numeric(raw["AGE"])
    dup = raw["PATIENT_ID"].duplicated(keep="first")
    bad_age = ~age.between(0, 120)
    reason = np.select(
        [dup, bad_age, raw["SEX"] == "M", raw["PRIOR_TX"] == "Y", status == "positive",
         ~klass.isin(["0", "1+", "2+/ISH-"])],
        ["duplicate_id", "out_of_range", "male", "prior_therapy", "her2_positive",
         "her2_class_unknown"], "")
    assert (reason == t["reason"]).all()
    disp = np.select([dup | bad_age, reason != ""], ["quarantined", "excluded"], "analysed")
    assert (disp == t["disposition"]).all()
    assert (age[~bad_age] == t.loc[~bad_age, "age_truth"]).all()
    level = klass.map({"0": "0", "1+": "low", "2+/ISH-": "low"}).fillna("")
    assert (level == t["group_truth"]).all()
    _check_endpoint_days(t, raw["OS_DAYS"], raw["VITAL"])
    # an exported-twice row is an exact copy of the row before it
    copies = np.flatnonzero(dup)
    assert (raw.iloc[copies].to_numpy() == raw.iloc[copies - 1].to_numpy()).all()


def test_three_arm_trial_truth_follows_from_the_raw_file():
    raw = pd.read_csv(_example("three_arm_trial") / "raw" / studies.TRI_FILE, dtype=str,
                      keep_default_na=False)
    t = _truth("three_arm_trial")
    assert len(raw) == len(t) == 462
    assert (t["row"] == np.arange(2, len(t) + 2)).all()
    assert (raw["PATNO"] == t["patient_id"]).all()
    assert (raw["ARM"] == t["arm_truth"]).all() and set(raw["ARM"]) == {"A", "B", "C"}
    assert (raw["ARM"].map(studies.TRI_ARMS) == t["regimen_truth"]).all()
    # pCR: as recorded, else ypT0/is ypN0 from the pathology; the two forms agree where both
    from_path = np.where(raw["YPT"] == "", "",
                         np.where(raw["YPT"].isin(["0", "is"]) & (raw["YPN"] == "0"),
                                  "True", "False"))
    recorded = raw["PCR"].map({"Y": "True", "N": "False", "": ""})
    both = (recorded != "") & (from_path != "")
    assert (recorded[both] == from_path[both]).all()
    assert ((raw["YPT"] == "") == (raw["YPN"] == "")).all()
    pcr = np.where(recorded != "", recorded, from_path)
    assert (pcr == t["pcr_truth"]).all()
    form = np.select([recorded != "", from_path != ""], ["recorded", "ypt_ypn"], "not_assessed")
    assert (form == t["pcr_form"]).all()
    assert (t["pcr_form"] == "ypt_ypn").sum() > 20  # the derived form is exercised
    ana = t["disposition"] == "analysed"
    assert ((t["pcr_form"] == "not_assessed") & ana).sum() == \
        sum(n - a for n, a, _ in studies.TRI_CELLS.values())  # never operated: no pathology
    # ypN+ with ypT0/is: not a pCR (nodes alone)
    assert ((raw["YPT"].isin(["0", "is"])) & (raw["YPN"] != "0") & (raw["YPN"] != "")).any()
    dup = raw["PATNO"].duplicated(keep="first")
    reason = np.select([dup, raw["HER2_CENTRAL"] == "NEG"], ["duplicate_id", "her2_negative"],
                       "")
    assert (reason == t["reason"]).all()
    assert (np.select([dup, reason != ""], ["quarantined", "excluded"], "analysed")
            == t["disposition"]).all()
    assert (raw["ARM"] == t["group_truth"]).all()
    np.testing.assert_array_equal(raw["EFS_MO"].astype(float), t["time_months_truth"])
    assert (raw["EFS_MO"].str.fullmatch(r"\d+\.\d")).all()
    assert (raw["EFS_EVENT"].astype(int).to_numpy() == t["event_truth"].to_numpy()).all()


def test_status_only_truth_follows_from_the_raw_file():
    raw = pd.read_csv(_example("status_only") / "raw" / studies.STA_FILE, sep=";", dtype=str,
                      keep_default_na=False)
    t = _truth("status_only")
    assert list(raw.columns) == ["id", "age", "her2_final", "hr", "pcr", "rfs_days",
                                 "rfs_status"]  # no IHC, no ISH, no treatment
    assert len(raw) == len(t) == 510
    assert (t["row"] == np.arange(2, len(t) + 2)).all()
    assert (raw["id"] == t["patient_id"]).all()
    assert set(raw["her2_final"]) == {"positive", "negative", ""}
    dup = raw["id"].duplicated(keep="first")
    reason = np.select([dup, raw["her2_final"] == "", raw["pcr"] == ""],
                       ["duplicate_id", "her2_status_missing", "pcr_not_recorded"], "")
    assert (reason == t["reason"]).all()
    assert (np.select([dup, reason != ""], ["quarantined", "excluded"], "analysed")
            == t["disposition"]).all()
    assert (raw["her2_final"] == t["group_truth"]).all()
    assert (raw["pcr"].map({"1": "True", "0": "False", "": ""}) == t["pcr_truth"]).all()
    _check_endpoint_days(t, raw["rfs_days"], raw["rfs_status"])


def test_effects_are_realistic():
    """The simulated effects the brief asks for, as realised in the analysed records."""
    e = _expected("three_arm_trial")["groups"]
    rates = {k: v["pcr"] / v["pcr_n"] for k, v in e.items()}
    assert rates["A"] == pytest.approx(0.30, abs=0.01)
    assert rates["B"] == pytest.approx(0.25, abs=0.01)
    assert rates["C"] == pytest.approx(0.50, abs=0.01)
    e = _expected("status_only")["groups"]
    assert e["positive"]["pcr"] / e["positive"]["n"] == pytest.approx(0.45, abs=0.01)
    assert e["negative"]["pcr"] / e["negative"]["n"] == pytest.approx(0.20, abs=0.01)
    cox = pd.read_csv(FIXTURES / "studies_her2low_registry_cox.csv")
    assert 0.8 < cox.loc[0, "hr"] < 1.0


# --- (c) R reference ---------------------------------------------------------------------------

def _fixture(shape: str, what: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"studies_{shape}_{what}.csv", dtype={"group": str})


@pytest.mark.parametrize("shape", studies.STUDIES)
def test_r_reference_was_computed_on_the_truth(shape):
    r = _fixture(shape, "counts").set_index("group")
    e = _expected(shape)
    assert list(r.index) == list(studies.LEVELS[shape])
    for lv, g in e["groups"].items():
        assert (r.loc[lv, "n"], r.loc[lv, "events"], r.loc[lv, "endpoint_n"]) == \
            (g["n"], g["events"], g["endpoint_n"])
        if "pcr" in g:
            assert (r.loc[lv, "pcr_n"], r.loc[lv, "pcr"]) == (g["pcr_n"], g["pcr"])
    has_pcr = (FIXTURES / f"studies_{shape}_pcr_tests.csv").exists()
    assert has_pcr == (shape != "her2low_registry")
    cox = _fixture(shape, "cox")
    assert len(cox) == len(studies.LEVELS[shape]) - 1  # k - 1 terms
    assert _fixture(shape, "logrank").loc[0, "df"] == len(studies.LEVELS[shape]) - 1
    km = _fixture(shape, "km")
    assert sorted(set(km["time"])) == [12, 36, 60]
    assert len(km) == 3 * len(studies.LEVELS[shape])


@pytest.mark.parametrize("shape", ("three_arm_trial", "status_only"))
def test_pcr_chi_square_agrees_with_scipy(shape):
    """An independent check of the stored R test on the r x c table (scipy, no correction)."""
    t = _truth(shape)
    a = t[(t["disposition"] == "analysed") & t["pcr_truth"].isin(["True", "False"])]
    tab = pd.crosstab(a["group_truth"], a["pcr_truth"]).loc[list(studies.LEVELS[shape])]
    stat, p, dof, _ = chi2_contingency(tab.to_numpy(), correction=False)
    r = _fixture(shape, "pcr_tests").iloc[0]
    assert r["test"].startswith("Pearson") and r["df"] == dof
    assert stat == pytest.approx(r["statistic"], rel=RTOL)
    assert p == pytest.approx(r["p"], rel=RTOL)


@pytest.mark.rref
def test_stored_r_reference_is_what_r_computes_now(tmp_path):
    from rref import rscript

    exe = rscript()
    proc = subprocess.run([exe, "--vanilla", str(ROOT / "tests/r/studies.R"), str(ROOT),
                           str(tmp_path)], capture_output=True, text=True, check=False,
                          timeout=300)
    if proc.returncode != 0 and "there is no package called" in proc.stderr:
        pytest.skip(f"R package missing: {proc.stderr.strip()[-200:]}")
    assert proc.returncode == 0, proc.stderr
    stored = sorted(p.name for p in FIXTURES.glob("studies_*.csv"))
    assert len(stored) == 17
    assert stored == sorted(p.name for p in tmp_path.glob("*.csv"))
    for name in stored:
        a = pd.read_csv(FIXTURES / name)
        b = pd.read_csv(tmp_path / name)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=RTOL, atol=0)
