"""Requirements follow the analyses; several forms of one fact; several files per centre."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from her2cohort.data.ingest import ingest
from her2cohort.data.mapping import MappingError
from her2cohort.stages.params import load_study_config, stage_params
from her2cohort.study.derive import derive
from her2cohort.study.requirements import check_config, fields_markdown, required_fields

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def cfg():
    return load_study_config(ROOT / "config/config.yaml")


def test_readme_field_table_is_current(cfg):
    text = (ROOT / "config/README.md").read_text("utf-8")
    block = text.split("<!-- fields:start -->\n", 1)[1].split("<!-- fields:end -->", 1)[0]
    assert block == fields_markdown(cfg)
    res = subprocess.run([sys.executable, "-m", "her2cohort.cli", "fields"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0 and res.stdout == block


def test_requirements_follow_enabled_analyses(cfg):
    facts = {n["fact"] for n in required_fields(cfg)}
    assert {"pcr", "her2_loss", "dfs", "her2_class"} <= facts
    cfg["analyses"] = {"table1": False, "pcr": True, "her2_loss": False, "dfs": False}
    cfg["criteria"] = []
    facts = {n["fact"]: n for n in required_fields(cfg)}
    assert set(facts) == {"her2_class", "pcr", "anti_her2"}
    assert facts["pcr"]["forms"] == [["ypt", "ypn"], ["pcr"]]


def _write(tmp: Path, name: str, text: str) -> str:
    (tmp / name).write_text(text, "utf-8")
    return str(tmp / name)


def _trial(tmp: Path, extra: str = "", header="ID\tAge\tER\tPR\tHER2\tratio\tcopies\tpCR\tArm",
           rows=None) -> str:
    rows = rows or ["T1\t45\tPos\tNeg\t3+\t\t\tY\t1", "T2\t61\tNeg\tNeg\t2+\t2.5\t5.1\tN\t2",
                    "T3\t38\tPos\tPos\t\t3.1\t1000\tN\t3", "T4\t50\tNeg\tNeg\t2-3+\t2.6\t6\tY\t1",
                    "T5\t55\tNeg\tPos\t\t1.2\t2.0\tN\t2"]
    _write(tmp, "trial.tsv", "\n".join([header, *rows]) + "\n")
    return _write(tmp, "trial.yaml", f"""
centre: TR
file: {tmp}/trial.tsv
format: csv
delimiter: "\\t"
columns:
  patient_id: ID
  age_years: Age
  er_status: ER
  pr_status: PR
  her2_ihc: HER2
  ish_ratio: ratio
  her2_copies: copies
  pcr: pCR
  regimen: Arm
values:
  er_status: {{Pos: positive, Neg: negative}}
  pr_status: {{Pos: positive, Neg: negative}}
  pcr: {{Y: "yes", N: "no"}}
  her2_ihc: {{"2-3+": ~}}  # ambiguous range: treated as unknown
  regimen: {{"1": TCbHP, "2": TCbH, "3": TH}}
sentinels:
  her2_copies: {{"1000": not evaluable}}
{extra}""")


def _pcr_only(cfg):
    cfg["analyses"] = {"table1": False, "pcr": True, "her2_loss": False, "dfs": False}
    cfg["criteria"] = []
    return cfg


def test_unmet_need_is_one_configuration_error_naming_the_forms(cfg, tmp_path):
    mp = _trial(tmp_path)
    cfg = _pcr_only(cfg)
    cfg["analyses"]["dfs"] = True
    with pytest.raises(MappingError) as e:
        ingest([mp], salt="s", vocabularies={"regimen": list(cfg["regimens"])},
               required=required_fields(cfg))
    msg = str(e.value)
    assert "dfs (used by survival (DFS))" in msg and "'dfs_time' and 'dfs_event'" in msg
    assert "not_recorded" in msg


def test_pcr_only_trial_export(cfg, tmp_path):
    cfg = _pcr_only(cfg)
    mp = _trial(tmp_path)
    df, problems = ingest([mp], salt="s", vocabularies={"regimen": list(cfg["regimens"])},
                          required=required_fields(cfg))
    assert [p.rule for p in problems] == ["sentinel"]
    assert "1 cell(s) hold the sentinel '1000' (not evaluable" in problems[0].message
    assert len(df) == 5 and pd.isna(df.loc[2, "her2_copies"])
    out = derive(df, **stage_params(cfg, "derive"))
    assert out["her2_class"].tolist() == ["3+", "2+/ISH+", "unknown", "unknown", "unknown"]
    # IHC missing: ratio 3.1 with copies not evaluable cannot settle; group 5 (1.2, 2.0) can
    assert out["her2_status"].tolist() == ["positive", "positive", "unknown", "positive",
                                           "negative"]
    assert out.loc[2, "her2_class_reason"] == "IHC score not recorded"
    assert out["pcr"].tolist() == [True, False, False, True, False]
    assert out["pcr_source"].unique().tolist() == ["recorded"]
    assert out["hr_status"].tolist() == ["positive", "negative", "positive", "negative",
                                         "positive"]
    assert out["anti_her2"].tolist() == ["dual", "single", "single", "dual", "single"]
    assert out["age"].tolist() == [45, 61, 38, 50, 55]


def test_both_forms_disagreeing_is_a_qc_finding(cfg, tmp_path):
    from her2cohort.stages.validate import validate_with_config

    cfg = _pcr_only(cfg)
    mp = _trial(tmp_path, header="ID\tAge\tER\tPR\tHER2\tratio\tcopies\tpCR\tArm\typT\typN",
                rows=["T1\t45\tPos\tNeg\t3+\t\t\tY\t1\typT0\typN0",
                      "T2\t61\tNeg\tNeg\t3+\t\t\tY\t2\typT2\typN1"])
    m = yaml.safe_load(Path(mp).read_text("utf-8"))
    m["columns"].update({"ypt": "ypT", "ypn": "ypN"})
    Path(mp).write_text(yaml.safe_dump(m, allow_unicode=True), "utf-8")
    cfg["centres"] = [mp]
    df, _ = ingest([mp], salt="s", vocabularies={"regimen": list(cfg["regimens"])},
                   required=required_fields(cfg))
    _clean, quarantined, problems = validate_with_config(df, cfg)
    assert quarantined["reason"].tolist() == ["pcr_inconsistent"]
    p = next(p for p in problems if p.rule == "pcr_inconsistent")
    assert p.row == 3 and "ypT/ypN (ypT2, ypN1) give 'no'" in p.message


def test_several_files_joined_on_patient_id(cfg, tmp_path):
    cfg["analyses"] = {"table1": False, "pcr": True, "her2_loss": False, "dfs": True}
    cfg["criteria"] = []
    cfg["groups"] = {"column": "anti_her2", "levels": ["single", "dual"], "labels": {}}
    _write(tmp_path, "base.csv", "PID,Age,Tx,HER2\nA,40,dual,positive\nB,50,single,positive\n"
                                 "C,60,dual,positive\n")
    _write(tmp_path, "out.csv", "PID,pCR,days,event\nA,1,730.5,0\nB,0,365.25,1\n"
                                "D,1,100,0\nB,0,1,1\n")
    mp = _write(tmp_path, "reg.yaml", f"""
centre: RG
files:
  - {{name: base, file: {tmp_path}/base.csv, format: csv}}
  - {{name: out, file: {tmp_path}/out.csv, format: csv}}
columns: {{patient_id: PID, age_years: Age, anti_her2: Tx, her2_status: HER2, pcr: pCR,
           dfs_time: days, dfs_event: event}}
units: {{dfs_time: days}}
not_recorded: [os_time, os_event, efs_time, efs_event]
values:
  pcr: {{"1": "yes", "0": "no"}}
  dfs_event: {{"1": event, "0": censored}}
""")
    df, problems = ingest([mp], salt="s", required=required_fields(cfg))
    rules = sorted((p.rule, Path(p.file).name, p.row) for p in problems)
    # B has two outcome rows: its record (base.csv row 3) is ambiguous and quarantined
    assert rules == [("ambiguous_join", "base.csv", 3), ("unmatched_record", "base.csv", 4),
                     ("unmatched_record", "out.csv", 4)]
    unmatched = [p.message for p in problems if p.rule == "unmatched_record"]
    assert any("no row in" in m and "out.csv" in m for m in unmatched)
    assert len(df) == 4  # A, B, C (base) and D (only in outcomes): every record kept
    out = derive(df, **stage_params(cfg, "derive"))
    assert out["dfs_months"].round(6).tolist()[:2] == [24.0, 12.0]
    assert out["dfs_event"].tolist()[:2] == [0, 1]
    assert out["dfs_event_type"].tolist()[1] == "any event (type not recorded)"


def test_check_config_lists_choices(cfg):
    cfg["table1"]["variables"].append({"name": "ki67", "label": "x", "type": "continuous"})
    cfg["criteria"][0]["range"] = [2022, 2013]
    cfg["study"]["exposure"]["levels"] = ["3+", "IHC 2+"]
    problems = check_config(cfg)
    assert any("'ki67' is no canonical field" in p and "ki67_pct" in p for p in problems)
    assert any("range [2022, 2013] is reversed" in p for p in problems)
    assert any("'IHC 2+' do not exist for 'her2_class'" in p and "2+/ISH+" in p
               for p in problems)
