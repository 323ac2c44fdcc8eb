"""The pipeline on deliveries shaped unlike the demo, and on config edits.

- a config edit reruns exactly the rules that read the edited value (and what depends on
  them), for every analysis option the rules declare (stages/params.py);
- a clean delivery (nothing to quarantine) runs end to end;
- a centre without post-therapy HER2 data runs end to end, HER2 loss skipped with its reason;
- configuration mistakes stop Snakemake before any rule with exit status 2 and the choices.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import demo_copy
import yaml

from her2cohort.stages.params import _SPEC, stage_params
from her2cohort.stages.sensitivity import sensitivity_params

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e

# rule -> rules that read its outputs (the DAG of workflow/rules)
DOWNSTREAM = {
    "ingest": ["validate"],
    "validate": ["derive", "cohort", "sensitivity"],
    "derive": ["cohort"],
    # sensitivity: its variants that derive, select and group as the main analysis start
    # from the analysis-ready table (stages/sensitivity.py, sensitivity_source)
    "cohort": ["table1", "response", "her2_loss", "survival", "summary", "paper",
               "sensitivity"],
    "table1": ["paper"], "response": ["paper"], "her2_loss": ["paper"],
    "survival": ["summary", "paper"], "run_config": [], "provenance": ["paper"],
    "sensitivity": ["sensitivity_table"], "sensitivity_table": ["paper"], "summary": ["paper"],
    "invitro_plates": ["invitro_fit", "paper"], "invitro_fit": ["summary", "paper"],
    "paper": [],  # the paper: every table and figure, the Results text
}

# (config path, new value) for every analysis option a rule declares
EDITS = [
    (("her2", "guideline"), "2013"),
    (("her2", "discordance"), "reported"),
    (("derived", "age_cuts"), [50, 65]),
    (("derived", "ki67_cut_pct"), 30),
    (("derived", "hr_positive_threshold_pct"), 10),
    (("pcr", "definition"), "ypT0 ypN0"),
    (("pcr", "itc_is_pcr"), True),
    (("pcr", "test"), "fisher"),
    (("pcr", "ci"), "clopper-pearson"),
    (("study", "endpoints", "dfs", "origin"), "diagnosis"),
    (("study", "endpoints", "dfs", "events"), ["distant", "death"]),
    (("study", "endpoints", "os", "name"), "Overall survival (all causes)"),
    (("survival", "landmarks_months"), [24, 60]),
    (("survival", "xmax_months"), 100),
    (("survival", "min_at_risk"), 5),
    (("survival", "ci_type"), "log-log"),
    (("survival", "landmark_months"), 24),
    (("data_lock_date",), "2025-12-31"),
    (("qc", "age_range"), [18, 99]),
    (("qc", "actions"), {"ish_inconsistent": "quarantine"}),
    (("table1", "nonnormal"), ["age"]),
    (("study", "exposure", "levels"), [{"id": "3+", "label": "HER2 3+"},
                                       {"id": "2+/ISH+", "label": "HER2 2+/ISH+"}]),
    (("study", "treatment", "arms"), [{"id": "single", "label": "H"},
                                      {"id": "dual", "label": "HP"}]),
    (("pcr", "models", "covariates"), ["hr_status", "ct"]),
    (("pcr", "subgroup_min_n"), 20),
    (("pcr", "imputation", "m"), 5),
    (("tables", "orientation"), "landscape"),
    (("sensitivity", "variants", "her2_2013", "overrides"), {"her2": {"discordance": "reported"}}),
]


def _rules_reading(before: dict, after: dict) -> set[str]:
    """Rules whose declared config values differ between two configs."""
    rules = {rule for rule in _SPEC
             if stage_params(before, rule) != stage_params(after, rule)}
    def variants(cfg):
        return {"main", *((cfg.get("sensitivity") or {}).get("variants") or {})}

    for v in variants(before) | variants(after):
        if v not in variants(before) or v not in variants(after) \
                or sensitivity_params(before, v) != sensitivity_params(after, v):
            rules.add("sensitivity")
            if v == "main":
                rules.add("summary")  # the summary reads the main variant's estimates
    return rules


def _closure(rules: set[str]) -> set[str]:
    todo, seen = list(rules), set(rules)
    while todo:
        for d in DOWNSTREAM[todo.pop()]:
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def _smk(work: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    env.pop("HER2COHORT_SALT", None)
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=work,
                          capture_output=True, text=True, check=False, env=env, timeout=timeout)


def _project(tmp: Path, raw: bool = True) -> Path:
    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp / item)
    if raw:
        shutil.copytree(ROOT / "data/demo/raw", tmp / "data/demo/raw")
    return tmp


def _set(cfg: dict, path: tuple[str, ...], value) -> None:
    d = cfg
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value


def _would_run(work: Path) -> set[str]:
    res = _smk(work, "-n", "--quiet", "rules")
    assert res.returncode == 0, res.stderr[-2000:]
    text = res.stdout + res.stderr
    known = set(DOWNSTREAM)
    return {w for w in re.findall(r"^\s*(\w+)\s+\d+\s*$", text, flags=re.MULTILINE) if w in known}


@pytest.fixture(scope="module")
def demo_run(demo_pipeline, tmp_path_factory):
    """A copy of the session's one demo run (tests/conftest.py): these tests edit its config
    for a dry run and put the file back as it was."""
    return demo_copy(demo_pipeline, tmp_path_factory, "pipeline_shapes")


@pytest.mark.parametrize("path,value", EDITS,
                         ids=lambda x: "/".join(x) if isinstance(x, tuple) else None)
def test_config_edit_reruns_exactly_what_reads_it(demo_run, path, value):
    cfg_file = demo_run / "config/config.yaml"
    original = cfg_file.read_text("utf-8")
    try:
        before = yaml.safe_load(original)
        cfg = yaml.safe_load(original)
        _set(cfg, path, value)
        cfg_file.write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")
        reading = _rules_reading(before, cfg)
        assert reading - {"run_config"}, f"no analysis rule reads {path}"
        expected = _closure(reading)
        got = _would_run(demo_run)
        assert got == expected, (path, sorted(got), sorted(expected))
    finally:
        cfg_file.write_text(original, "utf-8")
    assert _would_run(demo_run) == set()


def test_results_hold_the_resolved_config(demo_run):
    saved = yaml.safe_load((demo_run / "results/config.yaml").read_text("utf-8"))
    assert saved["pcr"]["definition"] == "ypT0/is ypN0"
    assert saved["her2"]["guideline"] == "2018"


def _clean_delivery(work: Path, drop_post_her2: bool) -> Path:
    """JS01 and JS04 of the demo with every record the truth quarantines removed."""
    truth = pd.read_csv(ROOT / "data/demo/truth/truth_SIMULATED.csv", dtype=str)
    bad = truth[truth["disposition"] == "quarantined"]
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text("utf-8"))
    centres = []
    for code in ("JS01", "JS04"):
        m = yaml.safe_load((ROOT / f"config/centres/{code}.yaml").read_text("utf-8"))
        src = ROOT / m["file"]
        sep = m.get("delimiter", ",")
        enc = m.get("encoding", "utf-8")
        raw = pd.read_csv(src, sep=sep, dtype=str, keep_default_na=False, encoding=enc)
        rows = set(bad.loc[bad["source_file"] == m["file"], "source_row"].astype(int))
        raw = raw[[(i + 2) not in rows for i in range(len(raw))]]
        if drop_post_her2:
            raw = raw.drop(columns=[m["columns"][f] for f in ("post_her2_ihc", "post_ish_result")
                                    if f in m["columns"]])
            m["columns"] = {k: v for k, v in m["columns"].items()
                            if k not in ("post_her2_ihc", "post_ish_result")}
            m["values"].pop("post_ish_result", None)
            m["not_recorded"] = ["post_her2_ihc", "post_ish_result"]
        out = work / "data/clean" / Path(m["file"]).name
        out.parent.mkdir(parents=True, exist_ok=True)
        raw.to_csv(out, sep=sep, index=False, encoding=enc)
        m["file"] = f"data/clean/{out.name}"
        mp = work / f"config/centres/{code}_clean.yaml"
        mp.write_text(yaml.safe_dump(m, allow_unicode=True, sort_keys=False), "utf-8")
        centres.append(f"config/centres/{code}_clean.yaml")
    cfg["centres"] = centres
    cfg["analyses"]["invitro"] = False  # a clinical delivery: no plates in it
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")
    return work


@pytest.mark.parametrize("drop_post_her2", [False, True], ids=["clean", "no_post_her2"])
def test_clean_delivery_and_centre_without_post_her2(tmp_path, drop_post_her2):
    work = _clean_delivery(_project(tmp_path, raw=False), drop_post_her2)
    res = _smk(work)
    logs = "".join(p.read_text("utf-8")[-2000:] for p in (work / "logs").glob("*.log"))
    assert res.returncode == 0, res.stderr[-3000:] + logs
    flow = pd.read_csv(work / "results/tables/flow.csv")
    assert flow.loc[flow["id"] == "quarantined", "n_excluded"].item() == 0
    received = flow.loc[flow["id"] == "received", "n_after"].item()
    analysed = flow.iloc[-1]["n_after"]
    assert received == flow["n_excluded"].sum() + analysed  # every record accounted for
    rates = pd.read_csv(work / "results/tables/pcr_rates.csv")
    assert set(rates.loc[rates["subset"] == "all", "group"]) == {"IHC 3+", "IHC 2+/ISH+"}
    loss = pd.read_csv(work / "results/tables/her2_loss.csv")
    status = pd.read_csv(work / "results/tables/analyses.csv").set_index("analysis")
    if drop_post_her2:
        assert loss["status"].tolist() == ["skipped"]
        assert "re-tested" in loss["reason"].item()
        assert status.loc["her2_loss", "status"] == "skipped"
    else:
        assert "p" in loss and loss["n"].sum() > 0
        assert status.loc["her2_loss", "status"] == "run"
    assert (work / "results/figures/dfs_km.png").stat().st_size > 10_000


@pytest.mark.parametrize("edit,fragment", [
    ({"table1": {"variables": [{"name": "agee", "label": "Age", "type": "continuous"}]}},
     "'agee' is no canonical field or derived variable"),
    ({"qc": {"age_range": [100, 18], "actions": {}}}, "reversed"),
    ({"groups": {"column": "her2_class", "levels": ["3+", "2+ISH+"], "labels": {}}},
     "level(s) '2+ISH+' do not exist for 'her2_class'"),
    ({"survival": {"cox": {"covariates": [{"name": "grup"}]}}},
     "survival/cox/covariates/0: 'grup' is no canonical field"),
], ids=["unknown_variable", "reversed_range", "unknown_level", "unknown_cox_covariate"])
def test_config_mistakes_stop_before_any_rule(tmp_path, edit, fragment):
    work = _project(tmp_path, raw=False)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text("utf-8"))
    cfg.update(edit)
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")
    res = _smk(work, "-n")
    assert res.returncode == 2, res.stdout[-1000:] + res.stderr[-2000:]
    assert fragment in res.stderr
    assert "Traceback" not in res.stderr


def test_year_written_as_a_number_is_accepted(tmp_path):
    work = _project(tmp_path)
    text = (work / "config/config.yaml").read_text("utf-8")
    text = text.replace('guideline: "2018"', "guideline: 2018")
    text = text.replace('data_lock_date: "2025-06-30"', "data_lock_date: 2025-06-30")
    (work / "config/config.yaml").write_text(text, "utf-8")
    res = _smk(work, "-n")
    assert res.returncode == 0, res.stderr[-2000:]


def _leaves(d: dict, prefix=()):
    for k, v in d.items():
        if isinstance(v, dict) and v and k not in ("regimens", "variants", "actions", "labels",
                                                   "level_labels"):
            yield from _leaves(v, (*prefix, k))
        else:
            yield (*prefix, k), v


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "_edited"
    if isinstance(value, list):
        return value[:-1] if value else ["x"]
    if isinstance(value, dict):
        return {**value, "edited": {"anti_her2": "single", "backbone": "x"}} if value else {"x": 1}
    return "edited"


def test_every_config_option_is_declared_by_a_rule_that_reads_it():
    """Static companion of the dry-run test above: editing any option of config/config.yaml
    changes the declared params of at least one analysis rule (run_config and provenance, which
    record the whole config, and paper, which writes the Methods from it, do not count), so Snakemake reruns what reads it."""
    base = yaml.safe_load((ROOT / "config/config.yaml").read_text("utf-8"))
    unread = []
    for path, value in _leaves(base):
        if path[0] in ("study",) and path[-1] == "title":
            continue
        if path[0] in ("results_dir", "processed_dir"):
            continue  # they move every output: Snakemake makes each file anew at its new path
        cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text("utf-8"))
        _set(cfg, path, _changed(value))
        try:
            # the paper renders whole sections into its Methods: it reads nothing for them
            reading = _rules_reading(base, cfg) - {"run_config", "provenance", "paper"}
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            reading = {f"error: {type(e).__name__}"}  # a value the stages read and reject
        if not reading:
            unread.append("/".join(path))
    assert not unread, f"options no rule declares: {unread}"
