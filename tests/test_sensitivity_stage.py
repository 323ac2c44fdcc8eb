"""The sensitivity stage starts each variant where its definitions first differ from the main
analysis (stages/sensitivity.py, sensitivity_source): from the cohort rule's analysis-ready
table, from the derive rule's table, or from the validated records. Every start a variant may
take gives the same file, byte for byte, as deriving from the validated records."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from her2cohort.data.config import load_config
from her2cohort.stages import run
from her2cohort.stages.params import stage_params
from her2cohort.stages.sensitivity import SOURCES, sensitivity_params, sensitivity_source

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "config/config.yaml")


def _with_variants(cfg: dict, variants: dict) -> dict:
    c = copy.deepcopy(cfg)
    c["sensitivity"]["variants"] = {k: {"description": k, "overrides": v}
                                    for k, v in variants.items()}
    return c


def _later_period(cfg: dict) -> list[dict]:
    """The study's criteria with the diagnosis period starting two years later."""
    crit = copy.deepcopy(cfg["criteria"])
    period = next(c for c in crit if c["id"] == "outside_period")
    period["range"] = [period["range"][0] + 2, period["range"][1]]
    return crit


def test_each_variant_starts_where_its_definitions_differ(cfg):
    got = {v: sensitivity_source(cfg, v)
           for v in ["main", *cfg["sensitivity"]["variants"]]}
    assert got == {"main": "analysis", "km_ci_log_log": "analysis",
                   "multiple_imputation": "analysis", "pcr_ypT0_ypN0": "validated",
                   "pcr_breast_only": "validated", "her2_2013": "validated",
                   "dfs_from_diagnosis": "validated", "dfs_distant_or_death": "validated"}
    levels = copy.deepcopy(cfg["study"]["exposure"]["levels"])
    levels[0]["label"] = "HER2 3+"
    c = _with_variants(cfg, {
        "later": {"criteria": _later_period(cfg)},
        "relabelled": {"study": {"exposure": {"levels": levels}}},
        "both": {"criteria": _later_period(cfg), "her2": {"guideline": "2013"}},
        "test": {"pcr": {"test": "fisher"}}})
    assert [sensitivity_source(c, v) for v in ("later", "relabelled", "both", "test")] == \
        ["derived", "derived", "validated", "analysis"]
    # the main analysis' own derivation changed: a variant reading the same values still
    # starts from its (re-derived) tables
    c["derived"]["ki67_cut_pct"] = 30
    assert sensitivity_source(c, "later") == "derived"
    assert sensitivity_source(c, "main") == "analysis"


@pytest.fixture(scope="module")
def demo_tables(cfg, tmp_path_factory):
    """The demo's validated, derived and analysis-ready tables, made by the stages as the
    pipeline runs them (paths as the rules name them under the processed folder)."""
    tmp = tmp_path_factory.mktemp("sensitivity")
    proc, res = tmp / "processed", tmp / "results"
    steps = {
        "ingest": {"out_parquet": proc / "harmonized.parquet",
                   "out_problems": res / "ingest_problems.csv"},
        "validate": {"in_parquet": proc / "harmonized.parquet",
                     "in_ingest_problems": res / "ingest_problems.csv",
                     "out_parquet": proc / "validated.parquet",
                     "out_quarantine": proc / "quarantine.parquet",
                     "out_problems": res / "problems.csv",
                     "out_quarantine_csv": res / "quarantine.csv",
                     "out_qc_summary": res / "qc_summary.csv",
                     "out_qc_summary_html": res / "qc_summary.html"},
        "derive": {"in_parquet": proc / "validated.parquet",
                   "out_parquet": proc / "derived.parquet"},
        "cohort": {"in_derived": proc / "derived.parquet",
                   "in_quarantine": proc / "quarantine.parquet",
                   "out_analysis": proc / "analysis.parquet",
                   "out_dispositions": proc / "dispositions.parquet",
                   "out_flow": res / "flow.csv", "out_flow_html": res / "flow.html",
                   "out_analyses": res / "analyses.csv", "out_flow_png": res / "flow.png",
                   "out_flow_pdf": res / "flow.pdf"},
    }
    here = os.getcwd()
    os.chdir(ROOT)  # the centre mappings name their files relative to the project
    try:
        for stage, files in steps.items():
            status = run(stage, **{k: str(v) for k, v in files.items()},
                         **stage_params(cfg, stage))
            assert status == 0, stage
    finally:
        os.chdir(here)
    return proc


def _estimates(cfg: dict, variant: str, source: str, proc: Path, out: Path) -> bytes:
    files = {k: str(proc / v) for k, v in SOURCES[source].items()}
    status = run("sensitivity", out_csv=str(out), **files, **sensitivity_params(cfg, variant))
    assert status == 0
    return out.read_bytes()


@pytest.mark.parametrize("variant", ["main", "later"])
def test_every_start_gives_the_estimates_derived_from_the_validated_records(
        cfg, demo_tables, tmp_path, variant):
    c = _with_variants(cfg, {"later": {"criteria": _later_period(cfg)}})
    own = sensitivity_source(c, variant)
    starts = ["analysis", "derived", "validated"]
    starts = starts[starts.index(own):]
    got = {s: _estimates(c, variant, s, demo_tables, tmp_path / f"{s}.csv") for s in starts}
    assert len(starts) == (3 if variant == "main" else 2)
    assert all(b == got["validated"] for b in got.values())
    assert got["validated"].count(b"\n") > 20  # the estimates themselves, not an empty file
    if variant == "later":  # its criteria apply: not the main analysis' estimates
        assert got["validated"].replace(b"later,", b"main,") != _estimates(
            c, "main", "analysis", demo_tables, tmp_path / "main.csv")


def _with_reuse(cfg: dict, variant: str, proc: Path, out: Path, reuse: Path | None,
                blocks: Path) -> bytes:
    files = {k: str(proc / v) for k, v in SOURCES[sensitivity_source(cfg, variant)].items()}
    if reuse is not None:
        files["in_reuse"] = str(reuse)
    status = run("sensitivity", out_csv=str(out), out_blocks=str(blocks), **files,
                 **sensitivity_params(cfg, variant))
    assert status == 0
    return out.read_bytes()


#: Variants of the demo config beside the configured ones, each changing one setting a block
#: reads (and so that block's estimates): the pCR test, the landmark, the events rule, the
#: Cox ties, the pCR model's covariates, the DFS covariates' imputation under MI.
EXTRA = {
    "fisher": {"pcr": {"test": "fisher"}},
    "landmark_36": {"survival": {"landmarks_months": [36]}},
    "min_events_400": {"survival": {"min_events": 400}},
    "breslow": {"survival": {"cox": {"ties": "breslow"}}},
    "fewer_covariates": {"pcr": {"models": {"covariates": ["hr_status"]}}},
    "mi_m5": {"sensitivity": {"missing_covariates": "multiple_imputation"},
              "pcr": {"imputation": {"m": 5}}},
}


def test_a_variant_takes_over_only_the_main_blocks_its_change_leaves_alone(
        cfg, demo_tables, tmp_path):
    """Each variant's estimates with the main analysis' blocks taken over are byte for byte
    those computed in full; a block is taken over only where its data and settings are the
    main analysis' (the variant's own change is always recomputed)."""
    import json

    c = copy.deepcopy(cfg)
    c["sensitivity"]["variants"].update(
        {k: {"description": k, "overrides": v} for k, v in EXTRA.items()})
    main_blocks = tmp_path / "main.blocks.json"
    main = _with_reuse(c, "main", demo_tables, tmp_path / "main.csv", None, main_blocks)
    made = json.loads(main_blocks.read_text())
    assert {"baseline", "pcr", "pcr_adjusted", "dfs", "dfs_landmark",
            "dfs_adjusted"} <= set(made)
    reused = {}
    for variant in c["sensitivity"]["variants"]:
        full = _with_reuse(c, variant, demo_tables, tmp_path / f"{variant}.csv", None,
                           tmp_path / f"{variant}.full.json")
        blocks = tmp_path / f"{variant}.json"
        got = _with_reuse(c, variant, demo_tables, tmp_path / f"{variant}.reuse.csv",
                          main_blocks, blocks)
        assert got == full, variant
        assert full.replace(f"\n{variant},".encode(), b"\nmain,") != main, variant
        mine = json.loads(blocks.read_text())
        assert mine == json.loads((tmp_path / f"{variant}.full.json").read_text()), variant
        reused[variant] = sorted(k for k in mine if mine[k] == made.get(k))
    eps = [e for e in ("dfs", "os", "efs") if e in made]
    tail = [f"{e}{s}" for e in eps for s in ("", "_landmark", "_adjusted")]
    # what each change leaves alone is taken over, and nothing else
    assert reused["km_ci_log_log"] == sorted(
        ["baseline", "pcr", "pcr_adjusted", "pcr_by_treatment",
         *(f"{e}{s}" for e in eps for s in ("", "_adjusted"))])
    assert reused["landmark_36"] == reused["km_ci_log_log"]
    assert reused["fisher"] == sorted(["pcr_adjusted", *tail])
    assert reused["breslow"] == sorted(
        ["baseline", "pcr", "pcr_adjusted", "pcr_by_treatment",
         *(f"{e}{s}" for e in eps for s in ("", "_landmark"))])
    assert reused["fewer_covariates"] == sorted(
        ["baseline", "pcr", "pcr_by_treatment", *tail])
    assert set(reused["multiple_imputation"]) >= {"baseline", "pcr", "pcr_by_treatment",
                                                  *(f"{e}{s}" for e in eps
                                                    for s in ("", "_landmark"))}
    assert "pcr_adjusted" not in reused["multiple_imputation"]
    assert not {"pcr", "pcr_adjusted", "pcr_by_treatment"} & set(reused["pcr_ypT0_ypN0"])
    assert not {"dfs", "dfs_landmark", "dfs_adjusted"} & set(reused["dfs_from_diagnosis"])
    assert {"pcr", "os", "os_landmark"} <= set(reused["dfs_from_diagnosis"])
    assert reused["her2_2013"] == []
