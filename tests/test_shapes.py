"""The SIMULATED example shapes besides the demo (``her2cohort simulate --shape trial|registry``).

(a) each simulator is deterministic and writes exactly the committed files; (b) the per-patient
truth agrees with the raw files under the rules it claims (ASCO/CAP 2018 recomputed here
independently, criteria in config order, the two-file join) and the expected counts hold;
(c) ``e2e``: each shape runs through ``snakemake --configfile config/examples/<shape>/...`` in
a copy of the project and its outputs are checked record by record against the truth, and the
statistics against R (``tests/r/shapes.R``, stored in ``tests/fixtures/r/shapes/``) computed
from the truth, never from the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.demo import shapes

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests/fixtures/r/shapes"
RTOL = 5e-7  # project standard: 6 significant digits at full precision



def _one_study_dir(base: Path) -> Path:
    """The study's own folder under ``base`` (results/<study id>/ by default), or ``base``."""
    if (base / "tables").exists() or (base / "analysis.parquet").exists():
        return base
    subs = [p for p in base.iterdir() if p.is_dir() and p.name not in ("qc",)] \
        if base.exists() else []
    return subs[0] if len(subs) == 1 else base


def _R(run: Path) -> Path:
    return _one_study_dir(run / "results")


def _P(run: Path) -> Path:
    return _one_study_dir(run / "data/processed")

def _example(shape: str) -> Path:
    return ROOT / "data/examples" / shape


def _truth(shape: str) -> pd.DataFrame:
    return pd.read_csv(_example(shape) / "truth/truth_SIMULATED.csv",
                       dtype={"patient_id": str, "pcr_truth": str}, keep_default_na=True)


def _expected(shape: str) -> dict:
    return json.loads((_example(shape) / "truth/expected_counts_SIMULATED.json")
                      .read_text("utf-8"))


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- (a) determinism ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", shapes.SHAPES)
def test_simulator_is_deterministic_and_matches_committed_files(shape, tmp_path):
    shapes.simulate_shape(shape, tmp_path / "one")
    shapes.simulate_shape(shape, tmp_path / "two")
    one, two = _digests(tmp_path / "one"), _digests(tmp_path / "two")
    assert one == two
    committed = _digests(_example(shape))
    assert set(committed) == set(one), "committed files differ from what the simulator writes"
    assert committed == one


def test_cli_simulate_shape_writes_the_committed_files(tmp_path, monkeypatch, capsys):
    from her2cohort.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--shape", "trial"]) == 0  # default: data/examples/<shape>
    assert "SIMULATED" in capsys.readouterr().out
    assert _digests(tmp_path / "data/examples/trial") == _digests(_example("trial"))
    assert main(["simulate", "--shape", "registry", "--outdir", "elsewhere"]) == 0
    assert _digests(tmp_path / "elsewhere") == _digests(_example("registry"))
    with pytest.raises(SystemExit):
        main(["simulate", "--shape", "nonsense"])


@pytest.mark.parametrize("shape", shapes.SHAPES)
def test_every_file_says_simulated(shape):
    folder = _example(shape)
    for p in sorted(folder.rglob("*")):
        if p.suffix in (".md", ".json"):
            assert "SIMULATED" in p.read_text("utf-8"), p
        elif p.is_file():
            assert "SIMULATED" in p.name, p
    wb = pd.read_excel(folder / "raw" / shapes.REGISTRY_BASELINE, sheet_name=None, header=None) \
        if shape == "registry" else {}
    if wb:
        assert "SIMULATED" in str(wb["README"].iloc[0, 0])
    cfg = (ROOT / "config/examples" / shape / "config.yaml").read_text("utf-8")
    assert "simulated: true" in cfg and "SIMULATED" in cfg


# --- (b) truth against the raw files and the expected counts ----------------------------------

def _asco2018(ihc: str | None, ratio: float, copies: float) -> tuple[str, str]:
    """(HER2 status, IHC class) per ASCO/CAP 2018 (shared/STUDY.md), written out case by case
    for one record, independently of the package."""
    known = not (np.isnan(ratio) or np.isnan(copies))
    group = None
    if known:
        if ratio >= 2.0:
            group = 1 if copies >= 4.0 else 2
        else:
            group = 3 if copies >= 6.0 else (4 if copies >= 4.0 else 5)
    if ihc is None:  # only ISH group 1 or 5 settles the status; the class stays unknown
        return {1: "positive", 5: "negative"}.get(group, "unknown"), "unknown"
    if ihc == "3+":
        return "positive", "3+"
    if ihc in ("0", "1+"):
        return ("positive", f"{ihc}/ISH+") if group == 1 else ("negative", ihc)
    assert ihc == "2+"
    if group is None:
        return "unknown", "2+/ISH unknown"
    return ("positive", "2+/ISH+") if group in (1, 3) else ("negative", "2+/ISH-")


def _trial_raw() -> pd.DataFrame:
    return pd.read_csv(_example("trial") / "raw" / shapes.TRIAL_FILE, sep="\t", dtype=str,
                       keep_default_na=False)


def test_trial_truth_follows_from_the_raw_export():
    raw = _trial_raw()
    t = _truth("trial")
    assert len(raw) == len(t) == 111
    assert (t["row"] == np.arange(2, len(t) + 2)).all() and (t["file"] == shapes.TRIAL_FILE).all()
    assert (raw["SUBJID"] == t["patient_id"]).all() and raw["SUBJID"].is_unique
    assert set(raw["HER2_IHC"]) == {"", "1+", "2+", "3+", "2-3+"}
    assert (raw["FISH_HER2_CN"] == "1000").sum() == 7  # the sentinel: 5 excluded, 2 IHC 3+
    for rec, (_, r) in zip(t.itertuples(), raw.iterrows()):
        ihc = None if r["HER2_IHC"] in ("", "2-3+") else r["HER2_IHC"]
        copies = np.nan if r["FISH_HER2_CN"] in ("", "1000") else float(r["FISH_HER2_CN"])
        ratio = float(r["FISH_RATIO"]) if r["FISH_RATIO"] else np.nan
        status, klass = _asco2018(ihc, ratio, copies)
        assert (status, klass) == (rec.her2_status_truth, rec.her2_class_truth), rec.patient_id
        pcr = {"Y": "True", "N": "False", "": None}[r["PCR"]]
        assert (pcr if pcr else None) == (rec.pcr_truth if isinstance(rec.pcr_truth, str)
                                          else None)
        # criteria in config order: HER2 negative, class unknown, pCR not assessed
        reason = ("her2_negative" if status == "negative" else
                  "her2_class_unknown" if klass not in ("3+", "2+/ISH+") else
                  "pcr_not_assessed" if pcr is None else "")
        assert reason == (rec.reason if isinstance(rec.reason, str) else ""), rec.patient_id
        assert rec.disposition == ("included" if not reason else "excluded")
        regimen = {"1": "TCbHP", "2": "TCbH", "3": "TH"}[r["ARM"]]
        assert (regimen, {"TCbHP": "dual"}.get(regimen, "single")) == \
            (rec.regimen_truth, rec.anti_her2_truth)
        hr = "positive" if "Pos" in (r["ER"], r["PR"]) else "negative"
        assert hr == rec.hr_truth and int(r["AGE"]) == rec.age_truth


def test_trial_expected_counts():
    t = _truth("trial")
    e = _expected("trial")
    assert e == json.loads(json.dumps(shapes.expected_counts(shapes.build_trial_truth(), "trial")))
    assert e["records"] == 111 and e["quarantined"] == 0 and e["analysed"] == 90
    assert e["excluded_by_criterion"] == {"her2_negative": 8, "her2_class_unknown": 10,
                                          "pcr_not_assessed": 3}
    g = e["groups"]
    assert (g["3+"]["n"], g["3+"]["pcr"]) == (62, 34)
    assert (g["2+/ISH+"]["n"], g["2+/ISH+"]["pcr"]) == (28, 6)
    assert (g["3+"]["hr_positive"], g["2+/ISH+"]["hr_positive"]) == (28, 21)
    assert (g["3+"]["dual_n"], g["3+"]["dual_pcr"], g["3+"]["single_n"],
            g["3+"]["single_pcr"]) == (30, 19, 32, 15)
    assert (g["2+/ISH+"]["dual_n"], g["2+/ISH+"]["dual_pcr"], g["2+/ISH+"]["single_n"],
            g["2+/ISH+"]["single_pcr"]) == (13, 3, 15, 3)
    inc = t[t["disposition"] == "included"]
    for (klass, arm), (n, n_pcr) in shapes.TRIAL_CELLS.items():
        cell = inc[(inc["her2_class_truth"] == klass)
                   & (inc["regimen_truth"] == shapes.TRIAL_ARMS[arm])]
        assert len(cell) == n and (cell["pcr_truth"] == "True").sum() == n_pcr
    # the 'unknown' classes the trial must show: IHC blank / '2-3+' with ISH not settling
    unknown = t[t["reason"] == "her2_class_unknown"]
    assert unknown["her2_status_truth"].value_counts().to_dict() == {"positive": 5,
                                                                     "unknown": 5}


def _registry_raw() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = _example("registry") / "raw"
    base = pd.read_excel(folder / shapes.REGISTRY_BASELINE, sheet_name="baseline", dtype=str,
                         keep_default_na=False)
    out = pd.read_csv(folder / shapes.REGISTRY_OUTCOMES, dtype=str, keep_default_na=False)
    return base, out


def test_registry_truth_follows_from_the_two_files():
    base, out = _registry_raw()
    t = _truth("registry")
    assert len(base) == 296 and len(out) == 294
    ids_b, ids_o = set(base["PatientID"]), set(out["PatientID"])
    assert out["PatientID"].is_unique
    dup = base["PatientID"][base["PatientID"].duplicated()]
    assert len(dup) == 1  # one baseline row exported twice
    rows_b = base.assign(row=np.arange(2, len(base) + 2))
    rows_o = out.assign(row=np.arange(2, len(out) + 2)).set_index("PatientID")
    for rec in t.itertuples():
        pid = rec.patient_id
        if rec.reason == "unmatched_record":
            assert (pid in ids_b) != (pid in ids_o)
            assert rec.only_in == ("baseline" if pid in ids_b else "outcomes")
            continue
        assert pid in ids_b and pid in ids_o
        if rec.reason == "duplicate_id":
            assert pid in set(dup)
            first = rows_b[rows_b["PatientID"] == pid]["row"].min()
            assert rec.row > first and rec.file == shapes.REGISTRY_BASELINE
            continue
        b = rows_b[rows_b["PatientID"] == pid].iloc[0]
        o = rows_o.loc[pid]
        assert b["row"] == rec.row and o["row"] == rec.outcomes_row
        assert b["Age"] == o["Age"] == str(rec.age_truth)
        status = {"HER2+": "positive", "HER2-": "negative"}[b["HER2"]]
        anti = {"trastuzumab": "single", "trastuzumab+pertuzumab": "dual", "none": "none"}[
            b["AntiHER2"]]
        pcr = {"1": "True", "0": "False", "NA": None}[o["pCR"]]
        assert (status, anti) == (rec.her2_status_truth, rec.anti_her2_truth)
        assert pcr == (rec.pcr_truth if isinstance(rec.pcr_truth, str) else None)
        assert {"HR+": "positive", "HR-": "negative", "": None}[b["HR"]] == \
            (rec.hr_truth if isinstance(rec.hr_truth, str) else None)
        reason = ("her2_negative" if status == "negative" else
                  "no_anti_her2" if anti == "none" else
                  "pcr_not_recorded" if pcr is None else "")
        assert reason == (rec.reason if isinstance(rec.reason, str) else ""), pid
        if o["RFS_days"] == "NA":
            assert np.isnan(rec.dfs_months_truth) and o["RFS_event"] == "NA"
        else:
            days = int(o["RFS_days"])
            assert rec.dfs_days_truth == days
            assert rec.dfs_months_truth == pytest.approx(days * 12 / 365.25, abs=5e-7)
            assert int(o["RFS_event"]) == rec.dfs_event_truth


def test_registry_expected_counts():
    t = _truth("registry")
    e = _expected("registry")
    assert e == json.loads(json.dumps(
        shapes.expected_counts(shapes.build_registry_truth(), "registry")))
    assert e["records"] == 298 and e["analysed"] == 280
    assert e["quarantined_by_rule"] == {"duplicate_id": 1, "unmatched_record": 5}
    assert e["excluded_by_criterion"] == {"her2_negative": 4, "no_anti_her2": 5,
                                          "pcr_not_recorded": 3}
    g = e["groups"]
    assert (g["single"]["n"], g["single"]["pcr"], g["dual"]["n"], g["dual"]["pcr"]) == \
        (110, 30, 170, 78)
    r_counts = pd.read_csv(FIXTURES / "registry_dfs_counts.csv").set_index("group")
    for lv in ("single", "dual"):
        assert (g[lv]["dfs_n"], g[lv]["dfs_events"]) == tuple(r_counts.loc[lv, ["n", "events"]])
        assert g[lv]["dfs_missing"] == 1 and g[lv]["hr_missing"] in (1, 2)
    inc = t[t["disposition"] == "included"]
    assert inc["hr_truth"].isna().sum() == shapes.REGISTRY_HR_MISSING
    assert inc["dfs_months_truth"].isna().sum() == shapes.REGISTRY_DFS_MISSING


def test_r_reference_inputs_are_the_truth():
    """The stored R values were computed on the truth: their counts are the expected ones."""
    for shape, name in (("trial", "trial_pcr_rates"), ("registry", "registry_pcr_rates")):
        r = pd.read_csv(FIXTURES / f"{name}.csv", dtype={"group": str}).set_index("group")
        for lv, entry in _expected(shape)["groups"].items():
            assert (r.loc[lv, "n"], r.loc[lv, "events"]) == (entry["n"], entry["pcr"])


@pytest.mark.rref
def test_stored_r_reference_is_what_r_computes_now(tmp_path):
    from rref import rscript

    exe = rscript()
    proc = subprocess.run([exe, "--vanilla", str(ROOT / "tests/r/shapes.R"), str(ROOT),
                           str(tmp_path)], capture_output=True, text=True, check=False,
                          timeout=300)
    if proc.returncode != 0 and "there is no package called" in proc.stderr:
        pytest.skip(f"R package missing: {proc.stderr.strip()[-200:]}")
    assert proc.returncode == 0, proc.stderr
    stored = sorted(p.name for p in FIXTURES.glob("*.csv"))
    assert stored == sorted(p.name for p in tmp_path.glob("*.csv"))
    for name in stored:
        a = pd.read_csv(FIXTURES / name)
        b = pd.read_csv(tmp_path / name)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=RTOL, atol=0)


# --- (c) end to end ---------------------------------------------------------------------------

def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    env.pop("HER2COHORT_SALT", None)
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args],
                          cwd=workdir, capture_output=True, text=True, check=False, env=env,
                          timeout=900)


_RUNS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Run each shape once per module (in a copy of the project) and return its folder."""
    def get(shape: str) -> Path:
        if shape not in _RUNS:
            work = tmp_path_factory.mktemp(f"pipeline_{shape}")
            for item in ("Snakefile", "workflow", "config", "profiles"):
                src = ROOT / item
                (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
            shutil.copytree(_example(shape) / "raw", work / "data/examples" / shape / "raw")
            res = _snakemake(work, "--configfile", f"config/examples/{shape}/config.yaml")
            logs = "".join(f"\n--- {p.name}\n{p.read_text('utf-8')[-3000:]}"
                           for p in sorted((work / "logs").glob("*.log")))
            assert res.returncode == 0, res.stderr[-4000:] + logs
            _RUNS[shape] = work
        return _RUNS[shape]
    return get


def _keys(truth: pd.DataFrame, run: Path, shape: str) -> pd.Series:
    from her2cohort.data.config import load_config
    from her2cohort.data.ingest import pseudonym

    cfg = load_config(run / "config/examples" / shape / "config.yaml")
    salt = cfg["pseudonymisation"]["demo_salt"]
    return pd.Series([pseudonym(p, salt) for p in truth["patient_id"]], index=truth.index)


def _flow_check(run: Path, e: dict) -> None:
    flow = pd.read_csv(_R(run) / "tables/flow.csv").set_index("id")
    assert flow.loc["received", "n_after"] == e["records"]
    assert flow.loc["quarantined", "n_excluded"] == e["quarantined"]
    for crit, n in e["excluded_by_criterion"].items():
        assert flow.loc[crit, "n_excluded"] == n, crit
    assert flow.iloc[-1]["n_after"] == e["analysed"]


def _rates_check(run: Path, shape: str, labels: dict[str, str]) -> None:
    e = _expected(shape)
    rates = pd.read_csv(_R(run) / "tables/pcr_rates.csv")
    main = rates[rates["subset"] == "all"].set_index("group")
    r = pd.read_csv(FIXTURES / f"{shape}_pcr_rates.csv", dtype={"group": str}).set_index("group")
    for lv, label in labels.items():
        assert main.loc[label, ["n", "events"]].astype(int).tolist() == \
            [e["groups"][lv]["n"], e["groups"][lv]["pcr"]]
        # pipeline CSVs hold every double exactly (common.write_csv)
        assert main.loc[label, "pct"] == pytest.approx(
            100 * e["groups"][lv]["pcr"] / e["groups"][lv]["n"], rel=5e-6)
        np.testing.assert_allclose(main.loc[label, ["lower", "upper"]].astype(float),
                                   r.loc[lv, ["lower", "upper"]].astype(float), rtol=5e-6)


def _dispositions_check(truth: pd.DataFrame, run: Path, shape: str) -> pd.DataFrame:
    """Every truth record is analysed/excluded/quarantined as the truth says (by patient key;
    the exported-twice registry patient has one analysed and one quarantined record)."""
    truth = truth.assign(patient_key=_keys(truth, run, shape))
    disp = pd.read_parquet(_P(run) / "dispositions.parquet")
    assert len(disp) == len(truth)  # every record accounted for
    want = truth["disposition"].replace({"included": "analysed"})
    got = disp.groupby(disp["patient_key"].astype(str))["disposition"].agg(sorted)
    exp = want.groupby(truth["patient_key"].astype(str)).agg(sorted)
    assert got.sort_index().to_dict() == exp.sort_index().to_dict()
    exc = truth[truth["disposition"] == "excluded"]
    d_exc = disp[disp["disposition"] == "excluded"].astype({"patient_key": str}) \
        .set_index("patient_key")["reason"]
    assert (d_exc.loc[exc["patient_key"]].to_numpy() == exc["reason"].to_numpy()).all()
    q = pd.read_csv(_R(run) / "qc/quarantine.csv", dtype=str)
    assert len(q) == (truth["disposition"] == "quarantined").sum()
    for rec in truth[truth["disposition"] == "quarantined"].itertuples():
        rules = ";".join(q.loc[q["patient_key"] == rec.patient_key, "reason"]).split(";")
        assert rec.reason in rules, (rec.patient_id, rec.reason, rules)
    return truth


def _analyses_check(run: Path, want: dict[str, tuple[str, int]], n_analysed: int) -> None:
    """results/tables/analyses.csv: which analyses ran (with how many patients) or why not."""
    status = pd.read_csv(_R(run) / "tables/analyses.csv", keep_default_na=False) \
        .set_index("analysis")
    for analysis, (state, n_with_data) in want.items():
        row = status.loc[analysis]
        assert row["status"] == state, (analysis, row.to_dict())
        if state == "run":
            assert (int(row["n_with_data"]), int(row["n_analysed"])) == \
                (n_with_data, n_analysed), analysis
            assert (row["reason"] == "") == (n_with_data == n_analysed), row.to_dict()
        else:
            assert row["reason"], f"{analysis}: not run, and no reason given"


def _no_identifiers(truth: pd.DataFrame, run: Path) -> None:
    ids = set(truth["patient_id"])
    for path in (run / "results").rglob("*.csv"):
        text = path.read_text("utf-8")
        assert not any(f",{i}," in text or f"\n{i}," in text for i in ids), path


@pytest.mark.e2e
def test_trial_end_to_end(pipeline):
    run = pipeline("trial")
    truth = _truth("trial")
    e = _expected("trial")
    _flow_check(run, e)
    truth = _dispositions_check(truth, run, "trial")
    # and by file row: the one-file export keeps its row numbers
    disp = pd.read_parquet(_P(run) / "dispositions.parquet")
    disp["file"] = disp["source_file"].map(lambda s: Path(s).name)
    m = truth.merge(disp, left_on=["file", "row"], right_on=["file", "source_row"],
                    how="outer", indicator=True, suffixes=("", "_pipe"))
    assert (m["_merge"] == "both").all() and (m["patient_key"] == m["patient_key_pipe"]).all()

    ana = pd.read_parquet(_P(run) / "analysis.parquet")
    assert "patient_id" not in ana.columns
    t = truth[truth["disposition"] == "included"].merge(ana, on="patient_key", how="outer",
                                                        indicator=True)
    assert (t["_merge"] == "both").all() and len(t) == e["analysed"]
    assert (t["her2_class"] == t["her2_class_truth"]).all()
    assert (t["hr_status"] == t["hr_truth"]).all()
    assert (t["anti_her2"] == t["anti_her2_truth"]).all()
    assert (t["regimen"] == t["regimen_truth"]).all()
    assert (t["pcr"].astype(bool) == (t["pcr_truth"] == "True")).all()
    np.testing.assert_array_equal(t["age"].astype(float), t["age_truth"].astype(float))

    _rates_check(run, "trial", {"3+": "IHC 3+", "2+/ISH+": "IHC 2+/ISH+"})
    rates = pd.read_csv(_R(run) / "tables/pcr_rates.csv")
    for lv, label in (("3+", "IHC 3+"), ("2+/ISH+", "IHC 2+/ISH+")):
        inner = rates[rates["subset"] == label].set_index("group")
        g = e["groups"][lv]
        for anti in ("single", "dual"):
            assert inner.loc[anti, ["n", "events"]].astype(int).tolist() == \
                [g[f"{anti}_n"], g[f"{anti}_pcr"]]
    tests = pd.read_csv(_R(run) / "tables/pcr_tests.csv")
    r = pd.read_csv(FIXTURES / "trial_pcr_tests.csv").set_index("subset")
    main = tests[tests["subset"] == "all"].iloc[0]
    assert "Fisher" in main["test"]
    assert main["p"] == pytest.approx(r.loc["all", "p"], rel=5e-6)

    t1 = pd.read_csv(_R(run) / "tables/table1.csv")
    n_row = t1[t1["variable"] == "n"].iloc[0]
    assert (int(n_row["n_IHC 3+"]), int(n_row["n_IHC 2+/ISH+"])) == (62, 28)
    hr = t1[(t1["variable"] == "hr_status") & (t1["level"] == "positive")].iloc[0]
    assert (int(hr["n_IHC 3+"]), int(hr["n_IHC 2+/ISH+"])) == (28, 21)
    _analyses_check(run, {"table1": ("run", 90), "pcr": ("run", 90), "her2_loss": ("off", 0),
                          "survival": ("off", 0)}, e["analysed"])
    _no_identifiers(truth, run)


@pytest.mark.e2e
def test_registry_end_to_end(pipeline):
    run = pipeline("registry")
    truth = _truth("registry")
    e = _expected("registry")
    _flow_check(run, e)
    truth = _dispositions_check(truth, run, "registry")
    q = pd.read_csv(_R(run) / "qc/quarantine.csv", dtype=str)
    unmatched = q[q["reason"].str.contains("unmatched_record")]
    assert len(unmatched) == 5
    problems = pd.read_csv(_R(run) / "qc/problems.csv", dtype=str, keep_default_na=False)
    msgs = " ".join(problems.loc[problems["rule"] == "unmatched_record"].astype(str)
                    .agg(" ".join, axis=1))
    assert shapes.REGISTRY_BASELINE in msgs or "baseline" in msgs
    assert shapes.REGISTRY_OUTCOMES in msgs or "outcomes" in msgs

    ana = pd.read_parquet(_P(run) / "analysis.parquet")
    inc = truth[truth["disposition"] == "included"]
    t = inc.merge(ana, on="patient_key", how="outer", indicator=True)
    assert (t["_merge"] == "both").all() and len(t) == e["analysed"]
    assert (t["anti_her2"] == t["anti_her2_truth"]).all()
    assert (t["her2_status"] == t["her2_status_truth"]).all()
    hr_known = t["hr_truth"].notna()
    assert (t.loc[hr_known, "hr_status"] == t.loc[hr_known, "hr_truth"]).all()
    assert t.loc[~hr_known, "hr_status"].isna().all()
    assert (t["pcr"].astype(bool) == (t["pcr_truth"] == "True")).all()
    has_dfs = t["dfs_days_truth"].notna()
    assert t.loc[~has_dfs, "dfs_months"].isna().all()
    # ingestion rounds converted units to 6 decimals (float noise); ties and order are kept
    np.testing.assert_allclose(t.loc[has_dfs, "dfs_months"].astype(float),
                               t.loc[has_dfs, "dfs_days_truth"].astype(float) * 12 / 365.25,
                               rtol=0, atol=5.000001e-7)
    assert (t.loc[has_dfs, "dfs_event"].astype(int)
            == t.loc[has_dfs, "dfs_event_truth"].astype(int)).all()

    labels = {"single": "Trastuzumab", "dual": "Trastuzumab + pertuzumab"}
    _rates_check(run, "registry", labels)
    tests = pd.read_csv(_R(run) / "tables/pcr_tests.csv")
    main = tests[tests["subset"] == "all"].iloc[0]
    r = pd.read_csv(FIXTURES / "registry_pcr_tests.csv").iloc[0]
    assert "Pearson" in main["test"]
    assert main["p"] == pytest.approx(r["p"], rel=5e-6)
    assert main["statistic"] == pytest.approx(r["statistic"], rel=5e-6)

    # DFS: per patient above; per group the KM table and the tests against R on the truth
    km = pd.read_csv(_R(run) / "tables/dfs_km.csv")
    for lv, label in labels.items():
        g = km[km["group"] == label]
        assert int(g["n_event"].sum()) == e["groups"][lv]["dfs_events"]
        assert int(g["n_risk"].max()) == e["groups"][lv]["dfs_n"]
    lr = pd.read_csv(_R(run) / "tables/dfs_logrank.csv").iloc[0]
    r_lr = pd.read_csv(FIXTURES / "registry_dfs_logrank.csv").iloc[0]
    assert lr["statistic"] == pytest.approx(r_lr["statistic"], rel=5e-6)
    assert lr["p"] == pytest.approx(r_lr["p"], rel=5e-6)
    cox = pd.read_csv(_R(run) / "tables/dfs_cox.csv")
    uni = cox[(cox["model"] == "univariable") & (cox["variable"] == "group")
              & ~cox["reference"].astype(bool)].iloc[0]
    r_cox = pd.read_csv(FIXTURES / "registry_dfs_cox.csv").iloc[0]
    for col in ("hr", "lower", "upper", "p"):
        assert uni[col] == pytest.approx(r_cox[col], rel=5e-6), col
    sm = pd.read_csv(_R(run) / "tables/dfs_summary.csv")
    sm = sm[(sm["endpoint"] == "DFS") & (sm["comparison"] == "group")]
    r_lm = pd.read_csv(FIXTURES / "registry_dfs_landmarks.csv")  # conf.type = "log-log"
    for rr in r_lm.itertuples():
        row = sm[sm["group"] == labels[rr.group]].iloc[0]
        t = int(rr.time)
        assert int(row[f"n_risk_{t}"]) == rr.n_risk
        for col in ("surv", "lower", "upper"):
            name = f"surv_{t}" + ("" if col == "surv" else f"_{col}")
            assert row[name] == pytest.approx(getattr(rr, col), rel=5e-6), (rr.group, col)

    t1 = pd.read_csv(_R(run) / "tables/table1.csv")
    n_row = t1[t1["variable"] == "n"].iloc[0]
    assert (int(n_row["n_Trastuzumab"]), int(n_row["n_Trastuzumab + pertuzumab"])) == (110, 170)
    hr = t1[(t1["variable"] == "hr_status") & (t1["level"] == "positive")].iloc[0]
    assert (int(hr["n_Trastuzumab"]), int(hr["n_Trastuzumab + pertuzumab"])) == \
        (e["groups"]["single"]["hr_positive"], e["groups"]["dual"]["hr_positive"])
    hr_rows = t1[t1["variable"] == "hr_status"]
    assert int(hr_rows["missing"].dropna().max()) == shapes.REGISTRY_HR_MISSING  # as na.omit
    n_dfs = e["groups"]["single"]["dfs_n"] + e["groups"]["dual"]["dfs_n"]
    _analyses_check(run, {"table1": ("run", 280), "pcr": ("run", 280),
                          "her2_loss": ("off", 0), "survival: DFS": ("run", n_dfs)}, e["analysed"])
    _no_identifiers(truth, run)


@pytest.mark.e2e
@pytest.mark.parametrize("shape", shapes.SHAPES)
def test_check_accepts_each_example(shape, tmp_path):
    """`her2cohort check` on each example: usable (exit 0), no unmet-field errors, the
    registry's one-file patients reported."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "workflow", tmp_path / "workflow")  # the config schemas
    shutil.copytree(_example(shape) / "raw", tmp_path / "data/examples" / shape / "raw")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    env.pop("HER2COHORT_SALT", None)
    res = subprocess.run([sys.executable, "-m", "her2cohort.cli", "check", "--config",
                          f"config/examples/{shape}/config.yaml"], cwd=tmp_path,
                         capture_output=True, text=True, check=False, env=env, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Traceback" not in out and "required field" not in out
    if shape == "registry":
        assert "unmatched_record" in out
