"""Study choices in config change the cohort exactly as the truth file predicts."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

from her2cohort.data.config import load_config, salt, vocabularies
from her2cohort.data.ingest import ingest
from her2cohort.stages.params import stage_params
from her2cohort.stages.validate import validate_with_config
from her2cohort.study.cohort import apply_criteria
from her2cohort.study.derive import derive

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def validated():
    cfg = load_config(ROOT / "config/config.yaml")
    df, _ = ingest(cfg["centres"], salt=salt(cfg), vocabularies=vocabularies(cfg), base_dir=ROOT)
    clean, quarantined, _ = validate_with_config(df, cfg)
    truth = pd.read_csv(ROOT / "data/demo/truth/truth_SIMULATED.csv")
    return cfg, clean, quarantined, truth


def _cohort(cfg, clean, quarantined):
    analysed, _, flow = apply_criteria(derive(clean, **stage_params(cfg, "derive")), quarantined, cfg["criteria"])
    return analysed, flow


def test_default_cohort(validated):
    cfg, clean, quarantined, _ = validated
    analysed, _ = _cohort(cfg, clean, quarantined)
    assert analysed["her2_class"].value_counts().to_dict() == {"3+": 458, "2+/ISH+": 117}


@pytest.mark.parametrize(("section", "key", "value"), [("her2", "guideline", "2013"),
                                                       ("her2", "discordance", "reported")])
def test_group2_cases_enter_under_2013_rule_or_reported_results(validated, section, key, value):
    """IHC 2+ ISH group 2 (ratio >= 2, copies < 4) is positive by ASCO/CAP 2013 and was reported
    positive by its centres; 2018 recomputation excludes it. Truth: her2_negative_group2."""
    cfg, clean, quarantined, truth = validated
    n_group2 = int((truth["reason"] == "her2_negative_group2").sum())
    assert n_group2 == 4
    cfg2 = copy.deepcopy(cfg)
    cfg2[section][key] = value
    analysed, flow = _cohort(cfg2, clean, quarantined)
    counts = analysed["her2_class"].value_counts().to_dict()
    assert counts == {"3+": 458, "2+/ISH+": 117 + n_group2}
    assert flow.set_index("id").loc["her2_not_positive", "n_excluded"] == 16 - n_group2


def test_dfs_origin_at_diagnosis_lengthens_every_time(validated):
    cfg, clean, quarantined, _ = validated
    a, _ = _cohort(cfg, clean, quarantined)
    cfg2 = copy.deepcopy(cfg)
    cfg2["study"]["endpoints"]["dfs"]["origin"] = "diagnosis"
    b, _ = _cohort(cfg2, clean, quarantined)
    m = a.merge(b, on="patient_key", suffixes=("_s", "_d"))
    gap = (m["surgery_date_s"] - m["diagnosis_date_s"]).dt.days / (365.25 / 12)
    assert ((m["dfs_months_d"] - m["dfs_months_s"] - gap).abs() < 1e-9).all()
    assert (m["dfs_event_d"] == m["dfs_event_s"]).all()
