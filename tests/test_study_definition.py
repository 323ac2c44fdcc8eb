"""The study definition (config ``study:``): typed objects, defaults from the schema, older
keys translated, merged and boolean exposure levels, endpoints as declared objects, and facts a
centre does not record left missing (check and run agree)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from her2cohort.data.config import ConfigError, fill_defaults, load_config, prepare_config
from her2cohort.stages.params import (groups_of, load_study_config, not_recorded_by_centre,
                                      stage_params)
from her2cohort.study.cohort import apply_criteria, group_labels_of
from her2cohort.study.definition import from_dict, has_legacy_keys, upgrade_config
from her2cohort.study.endpoints import endpoint_columns
from her2cohort.study.requirements import check_config, required_fields

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def cfg():
    return load_study_config(ROOT / "config/config.yaml")


def _minimal(tmp_path: Path, **study) -> Path:
    """The smallest config: a title, an exposure, one centre; everything else by default."""
    doc = {"study": {"title": "t", "exposure": {"column": "her2_status",
                                                "levels": ["negative", "positive"]}, **study},
           "centres": ["config/centres/JS01.yaml"], "data_lock_date": "2024-01-01"}
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(doc), "utf-8")
    return p


def test_keys_left_out_take_the_schema_defaults(tmp_path):
    cfg = load_config(_minimal(tmp_path))
    # documented defaults (config/README.md), not "off"
    assert cfg["analyses"] == {"table1": True, "pcr": True, "her2_loss": True,
                               "survival": True, "invitro": False}
    assert cfg["pcr"]["test"] == "auto" and cfg["pcr"]["ci"] == "wilson"
    assert cfg["pcr"]["models"]["covariates"] == ["hr_status", "ct", "cn", "ki67_group",
                                                  "grade"]
    assert cfg["survival"]["cox"]["ties"] == "efron"
    assert cfg["survival"]["min_at_risk"] == 10
    assert cfg["pseudonymisation"]["salt_env"] == "HER2COHORT_SALT"
    assert cfg["study"]["design"] == "neoadjuvant" and cfg["study"]["treatment"] is None
    assert cfg["study"]["endpoints"] == {} and cfg["study"]["primary_endpoint"] == "pcr"
    # the stages see the same values
    assert stage_params(cfg, "response")["pcr_test"] == "auto"


def test_filled_defaults_never_overwrite_given_values(tmp_path):
    cfg = load_config(_minimal(tmp_path))
    cfg["pcr"]["test"] = "fisher"
    cfg["survival"]["cox"]["ties"] = "breslow"
    again = prepare_config(copy.deepcopy(cfg))
    assert again == cfg


def test_analyses_switched_off_need_none_of_their_keys(tmp_path):
    p = _minimal(tmp_path)
    doc = yaml.safe_load(p.read_text("utf-8"))
    doc["analyses"] = {"pcr": False, "her2_loss": False, "survival": False}
    p.write_text(yaml.safe_dump(doc), "utf-8")
    cfg = load_config(p)  # no pcr:, survival:, dfs:, groups: sections at all
    facts = {n["fact"] for n in required_fields(cfg)}
    assert "pcr" not in facts and not any(f in facts for f in ("dfs", "os"))


def test_invalid_study_values_are_configuration_errors(tmp_path):
    p = _minimal(tmp_path, design="phase 3", primary_endpoint="pfs")
    with pytest.raises(ConfigError, match="design"):
        load_config(p)
    cfg = load_config(_minimal(tmp_path, primary_endpoint="pfs"))
    assert any("primary_endpoint: 'pfs'" in x for x in check_config(cfg))


def test_older_config_keys_are_translated(cfg):
    old = copy.deepcopy(cfg)
    old.pop("study")
    old["study"] = {"title": "t", "simulated": True}
    old["groups"] = {"name": "HER2 group", "column": "her2_class",
                     "levels": ["3+", "2+/ISH+"], "labels": {"3+": "IHC 3+"}}
    old["dfs"] = {"origin": "diagnosis", "events": ["distant", "death"],
                  "landmarks_months": [24], "xmax_months": 96}
    old["survival"] = {**old["survival"], "endpoints": ["os"], "os_origin": "diagnosis"}
    old["analyses"] = {"dfs": False}
    assert has_legacy_keys(old)
    new = prepare_config(old)
    assert not has_legacy_keys(new)
    ex = new["study"]["exposure"]
    assert ex["column"] == "her2_class"
    assert [lv["label"] for lv in ex["levels"]] == ["IHC 3+", "2+/ISH+"]
    eps = new["study"]["endpoints"]
    assert set(eps) == {"dfs", "os"}
    assert eps["dfs"]["origin"] == "diagnosis" and eps["dfs"]["events"] == ["distant", "death"]
    assert eps["os"]["origin"] == "diagnosis" and eps["os"]["events"] == ["death"]
    assert new["survival"]["landmarks_months"] == [24] and new["survival"]["xmax_months"] == 96
    assert new["analyses"]["survival"] is False
    assert check_config(new) == []


def test_older_style_variant_override_reaches_the_endpoint(cfg):
    from her2cohort.stages.sensitivity import variant_config

    c = copy.deepcopy(cfg)
    c["sensitivity"]["variants"] = {"v": {"overrides": {"dfs": {"origin": "diagnosis"}}}}
    v = variant_config(c, "v")
    assert v["study"]["endpoints"]["dfs"]["origin"] == "diagnosis"
    assert v["study"]["endpoints"]["os"]["origin"] == "surgery"  # untouched
    assert stage_params(v, "derive")["endpoints"]["dfs"]["origin"] == "diagnosis"


def test_typed_study_definition(cfg):
    s = from_dict(cfg["study"])
    assert s.exposure.labels == ["IHC 3+", "IHC 2+/ISH+"]
    assert s.treatment.ids == ["single", "dual"]
    assert s.treatment.label("dual") == "Trastuzumab + pertuzumab"
    assert s.endpoint_ids == ["dfs", "os", "efs"]
    dfs = s.endpoint("dfs")
    assert (dfs.time, dfs.event, dfs.recorded) == ("dfs_months", "dfs_event",
                                                   ("dfs_time", "dfs_event"))
    assert s.endpoint("os").death_only and not dfs.death_only
    assert dfs.forms()[0] == ["dfs_time", "dfs_event"]
    with pytest.raises(KeyError, match="rfs"):
        s.endpoint("rfs")


# --------------------------------------------------------------------------- exposures
def test_merged_levels_and_three_arms():
    groups = from_dict({"exposure": {"column": "her2_class", "levels": [
        {"id": "zero", "label": "HER2-0", "values": ["0"]},
        {"id": "low", "label": "HER2-low", "values": ["1+", "2+/ISH-"]}]}}).exposure.as_groups()
    df = pd.DataFrame({"her2_class": pd.array(["0", "1+", "2+/ISH-", "3+", None],
                                              dtype="string")})
    assert group_labels_of(df, groups).tolist()[:4] == ["HER2-0", "HER2-low", "HER2-low",
                                                        pd.NA] or \
        group_labels_of(df, groups).isna().tolist() == [False, False, False, True, True]
    assert group_labels_of(df, groups).tolist()[:3] == ["HER2-0", "HER2-low", "HER2-low"]
    three = from_dict({"exposure": {"column": "regimen", "levels": ["T", "L", "TL"]}})
    assert len(three.exposure.as_groups()["levels"]) == 3


def test_boolean_exposure_column_is_compared_as_yes_no():
    """Grouping by the derived her2_low (a nullable boolean) used to crash the cohort stage."""
    groups = from_dict({"exposure": {"column": "her2_low", "levels": [
        {"id": False, "label": "HER2-0"}, {"id": True, "label": "HER2-low"}]}}
                       ).exposure.as_groups()
    df = pd.DataFrame({"her2_low": pd.array([True, False, None, True], dtype="boolean"),
                       "centre": ["A"] * 4, "source_file": ["f"] * 4,
                       "source_row": [2, 3, 4, 5], "patient_key": list("abcd")})
    assert group_labels_of(df, groups).tolist()[:2] == ["HER2-low", "HER2-0"]
    q = pd.DataFrame(columns=["centre", "source_file", "source_row", "patient_key", "reason"])
    analysed, disp, _ = apply_criteria(df, q, [], groups)
    assert len(analysed) == 3
    assert disp.loc[disp["source_row"] == 4, "reason"].item() == "not_in_compared_groups"


def test_exposure_levels_checked_against_the_column(cfg):
    c = copy.deepcopy(cfg)
    c["study"]["exposure"]["levels"] = [{"id": "a", "values": ["3+"]},
                                        {"id": "b", "values": ["3+", "2+/ISH+", "5+"]}]
    problems = check_config(c)
    assert any("'5+' do not exist for 'her2_class'" in p for p in problems)
    assert any("belong to more than one level" in p for p in problems)


# --------------------------------------------------------------------------- endpoints
def _dates_frame() -> pd.DataFrame:
    d = pd.to_datetime
    return pd.DataFrame({
        "surgery_date": d(["2020-01-01", "2020-01-01", "2020-01-01", pd.NaT]),
        "diagnosis_date": d(["2019-10-01"] * 4),
        "nst_start_date": d(["2019-11-01"] * 4),
        "last_contact_date": d(["2023-01-01", "2022-01-01", pd.NaT, pd.NaT]),
        "recurrence_date": d([pd.NaT, "2021-01-01", pd.NaT, pd.NaT]),
        "recurrence_type": pd.array([None, "distant", None, None], dtype="string"),
        "death_date": d([pd.NaT, pd.NaT, "2021-07-01", pd.NaT]),
        "vital_status": pd.array(["alive", "alive", "dead", None], dtype="string"),
        "os_time": [np.nan, np.nan, np.nan, 30.0],
        "os_event": pd.array([None, None, None, "censored"], dtype="string"),
    })


def test_endpoint_from_dates_else_recorded_with_its_source():
    df = _dates_frame()
    out = endpoint_columns(df, "os", {"origin": "surgery", "events": ["death"]})
    months = 365.25 / 12
    np.testing.assert_allclose(out["os_months"].to_numpy()[:3],
                               [1096 / months, 731 / months, 547 / months])
    assert out["os_event"].tolist() == [0, 0, 1, 0]
    assert out["os_source"].tolist() == ["dates", "dates", "dates", "recorded time"]
    assert out["os_months"].iloc[3] == 30.0
    only_dates = endpoint_columns(df, "os", {"events": ["death"], "form": "dates"})
    assert only_dates["os_months"].isna().tolist() == [False, False, False, True]


def test_relapse_free_survival_recorded_as_a_named_pair():
    df = pd.DataFrame({"dfs_time": [12.0, 30.0, np.nan],
                       "dfs_event": pd.array(["event", "censored", None], dtype="string")})
    out = endpoint_columns(df, "rfs", {"events": ["distant", "death"], "form": "recorded",
                                       "recorded": {"time": "dfs_time", "event": "dfs_event"}})
    assert out["rfs_months"].tolist()[:2] == [12.0, 30.0] and np.isnan(out["rfs_months"][2])
    assert out["rfs_event"].tolist()[:2] == [1, 0]
    assert out["rfs_event_type"].tolist()[0] == "any event (type not recorded)"


def test_a_fact_a_centre_does_not_record_is_not_computed(cfg, tmp_path):
    """Recurrence fields declared not recorded: DFS is not computed from deaths alone (it
    would be OS under the name DFS); check and the derivation say the same."""
    m = yaml.safe_load((ROOT / "config/centres/JS01.yaml").read_text("utf-8"))
    for f in ("recurrence_date", "recurrence_type"):
        m["columns"].pop(f, None)
    m["not_recorded"] = sorted(set(m.get("not_recorded") or []) |
                               {"recurrence_date", "recurrence_type", "dfs_time", "dfs_event"})
    path = tmp_path / "JS01.yaml"
    path.write_text(yaml.safe_dump(m), "utf-8")
    c = copy.deepcopy(cfg)
    c["centres"] = [str(path)]
    nr = not_recorded_by_centre(c)
    assert "dfs" in nr[m["centre"]] and "efs" in nr[m["centre"]]
    assert "os" not in nr[m["centre"]]
    from her2cohort.study.derive import _blank_not_recorded

    df = _dates_frame().assign(centre=m["centre"], centre_mapping=m["centre"])
    for eid in ("dfs", "os"):
        cols = endpoint_columns(df, eid, c["study"]["endpoints"][eid])
        df[cols.columns] = cols
    assert df["dfs_months"].notna().sum() == 3
    _blank_not_recorded(df, nr, ["dfs", "os", "efs"])
    assert df["dfs_months"].isna().all() and df["dfs_event"].isna().all()
    assert (df["dfs_source"] == "not recorded by the centre").all()
    assert df["os_months"].notna().sum() == 4  # OS stays
    assert df["dfs_months"].dtype == np.float64 and str(df["dfs_event"].dtype) == "Int8"


def test_every_endpoint_is_a_need_with_its_forms(cfg):
    needs = {n["fact"]: n for n in required_fields(cfg)}
    assert needs["os"]["forms"] == [["os_time", "os_event"],
                                    ["surgery_date", "last_contact_date", "vital_status"]]
    assert needs["dfs"]["by"] == ["survival (DFS)"]
    c = copy.deepcopy(cfg)
    c["study"]["endpoints"] = {"rfs": {"name": "Relapse-free survival", "abbreviation": "RFS",
                                       "form": "recorded",
                                       "recorded": {"time": "dfs_time", "event": "dfs_event"}}}
    needs = {n["fact"]: n for n in required_fields(c)}
    assert needs["rfs"]["forms"] == [["dfs_time", "dfs_event"]]
    assert groups_of(c)["column"] == "her2_class"


# --------------------------------------------------------------------------- outputs per study
def test_each_study_has_its_own_output_folders(tmp_path):
    cfg = load_config(_minimal(tmp_path, id="her2-low"))
    assert (cfg["results_dir"], cfg["processed_dir"]) == ("results/her2-low",
                                                          "data/processed/her2-low")
    demo = load_study_config(ROOT / "config/config.yaml")  # the demo names its folders
    assert (demo["results_dir"], demo["processed_dir"]) == ("results", "data/processed")
    p = _minimal(tmp_path)
    doc = yaml.safe_load(p.read_text("utf-8"))
    doc["results_dir"] = "../elsewhere"
    p.write_text(yaml.safe_dump(doc), "utf-8")
    with pytest.raises(ConfigError, match="results_dir"):
        load_config(p)


def test_outputs_the_configuration_no_longer_produces(tmp_path):
    from her2cohort.stages.outputs import stale_outputs

    res = tmp_path / "results"
    names = ["tables/dfs_km.csv", "tables/os_km.csv", "tables/os_iptw_balance.csv",
             "figures/os_iptw_km.png", "figures/dfs_iptw_km.png", "tables/pcr_rates.csv",
             "figures/pcr_forest.png", "tables/followup.csv", "tables/survival_summary.csv",
             "sensitivity/main.csv", "sensitivity/gone.csv", "sensitivity/kept.csv",
             "tables/table1.csv", "tables/flow.csv"]
    for n in names:
        (res / n).parent.mkdir(parents=True, exist_ok=True)
        (res / n).write_text("x")
    on = {"table1": True, "pcr": True, "her2_loss": True, "survival": True}
    stale = {str(p.relative_to(res)) for p in stale_outputs(res, ["dfs"], ["main", "kept"], on)}
    assert stale == {"tables/os_km.csv", "tables/os_iptw_balance.csv", "figures/os_iptw_km.png",
                     "tables/followup.csv", "tables/survival_summary.csv",
                     "sensitivity/gone.csv"}
    off = {**on, "pcr": False, "survival": False}
    stale = {str(p.relative_to(res)) for p in stale_outputs(res, ["dfs"], ["main"], off)}
    assert {"tables/dfs_km.csv", "figures/dfs_iptw_km.png", "tables/pcr_rates.csv",
            "figures/pcr_forest.png", "sensitivity/kept.csv"} <= stale
    assert "tables/table1.csv" not in stale and "tables/flow.csv" not in stale


def test_event_order_of_the_upgrade_is_the_definitions():
    """data.upgrade orders translated events as the study definition lists them."""
    from her2cohort.data.upgrade import EVENT_ORDER
    from her2cohort.study.definition import EVENT_TEXT

    assert tuple(EVENT_TEXT) == EVENT_ORDER
