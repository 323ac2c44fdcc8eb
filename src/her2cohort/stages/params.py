"""Which configuration values each stage reads: the one place that says so.

Every Snakemake rule declares ``params: **stage_params(config, "<rule>")``, so Snakemake reruns
a rule exactly when a value it reads changes (params are part of Snakemake's rerun triggers),
and the stage function receives those values as keyword arguments, never the whole config.
The CLI (``her2cohort check``) and the tests build their arguments with the same function.

This module imports nothing heavy: the Snakefile imports it when the workflow is parsed.
"""

from __future__ import annotations

from typing import Any

# stage -> {keyword: path in the config (tuple of keys), or (path, default)}
_SPEC: dict[str, dict[str, Any]] = {
    "ingest": {
        "centres": ("centres",),
        "data_dirs": (("data_dirs",), ["data/"]),
        "salt_env": ("pseudonymisation", "salt_env"),
        "demo_salt": ("pseudonymisation", "demo_salt"),
        "simulated": ("study", "simulated"),
        "regimens": ("regimens",),
        "qc_actions": ("qc", "actions"),
        "required": None,  # computed: fields the enabled analyses need
    },
    "validate": {
        "centres": ("centres",),
        "regimens": ("regimens",),
        "data_lock_date": ("data_lock_date",),
        "age_range": ("qc", "age_range"),
        "qc_actions": ("qc", "actions"),
        "her2_guideline": ("her2", "guideline"),
        "pcr_definition": ("pcr", "definition"),
        "itc_is_pcr": (("pcr", "itc_is_pcr"), False),
        "hr_threshold_pct": ("derived", "hr_positive_threshold_pct"),
        "required": None,
    },
    "derive": {
        "her2_guideline": ("her2", "guideline"),
        "her2_discordance": ("her2", "discordance"),
        "age_cuts": ("derived", "age_cuts"),
        "age_labels": ("derived", "age_labels"),
        "ki67_cut_pct": ("derived", "ki67_cut_pct"),
        "hr_threshold_pct": ("derived", "hr_positive_threshold_pct"),
        "regimens": ("regimens",),
        "pcr_definition": ("pcr", "definition"),
        "itc_is_pcr": (("pcr", "itc_is_pcr"), False),
        "dfs_origin": ("dfs", "origin"),
        "dfs_events": ("dfs", "events"),
    },
    "cohort": {
        "criteria": ("criteria",),
        "groups": ("groups",),
        "analyses": None,
        "simulated": ("study", "simulated"),
    },
    "table1": {
        "variables": ("table1", "variables"),
        "nonnormal": (("table1", "nonnormal"), []),
        "groups": ("groups",),
        "simulated": ("study", "simulated"),
        "her2_guideline": ("her2", "guideline"),
        "page": (("tables", "page"), "A4"),
        "orientation": (("tables", "orientation"), "portrait"),
    },
    "response": {
        "groups": ("groups",),
        "pcr_definition": ("pcr", "definition"),
        "pcr_test": ("pcr", "test"),
        "pcr_ci": ("pcr", "ci"),
        "within_groups": (("pcr", "within_groups"), "anti_her2"),
        "models": (("pcr", "models"), {}),
        "continuous": (("pcr", "continuous"), []),
        "spline_knots": (("pcr", "spline_knots"), 4),
        "strata": (("pcr", "strata"), None),
        "trend": (("pcr", "trend"), []),
        "subgroups": (("pcr", "subgroups"), []),
        "subgroup_min_n": (("pcr", "subgroup_min_n"), 10),
        "imputation": (("pcr", "imputation"), {}),
        "variables": (("table1", "variables"), []),
        "her2_guideline": ("her2", "guideline"),
        "simulated": ("study", "simulated"),
        "page": (("tables", "page"), "A4"),
        "orientation": (("tables", "orientation"), "portrait"),
    },
    "survival": {
        "groups": ("groups",),
        "dfs_origin": ("dfs", "origin"),
        "dfs_events": ("dfs", "events"),
        "landmarks_months": ("dfs", "landmarks_months"),
        "xmax_months": ("dfs", "xmax_months"),
        "her2_guideline": ("her2", "guideline"),
        "simulated": ("study", "simulated"),
        "endpoints": (("survival", "endpoints"), ["os", "efs"]),
        "os_origin": (("survival", "os_origin"), "surgery"),
        "ci_type": (("survival", "ci_type"), "log"),
        "logrank_strata": (("survival", "logrank_strata"), None),
        "min_events": (("survival", "min_events"), 5),
        "cox": (("survival", "cox"), {}),
        "iptw": (("survival", "iptw"), {}),
        "imputation": (("survival", "imputation"), {}),
        "landmark_months": (("survival", "landmark_months"), 12),
        "rmst_horizon_months": (("survival", "rmst_horizon_months"), 60),
        "pcr_definition": ("pcr", "definition"),
        "variable_labels": None,  # computed: Table 1 labels of the model variables
    },
    "run_config": {
        "config": (),
    },
    "provenance": {
        "config": (),
    },
    "summary": {
        "groups": ("groups",),
        "title": ("study", "title"),
        "simulated": ("study", "simulated"),
        "pcr_definition": ("pcr", "definition"),
        "her2_guideline": ("her2", "guideline"),
        "dfs_origin": ("dfs", "origin"),
        "dfs_events": ("dfs", "events"),
    },
    "sensitivity_table": {
        "descriptions": None,
        "simulated": ("study", "simulated"),
    },
}

ANALYSES = ("table1", "pcr", "her2_loss", "dfs")


def _get(cfg: dict, path: tuple, default: Any = KeyError) -> Any:
    value: Any = cfg
    for key in path:
        if not isinstance(value, dict) or key not in value:
            if default is KeyError:
                raise KeyError("/".join(path))
            return default
        value = value[key]
    return value


def analyses(cfg: dict) -> dict[str, bool]:
    """Which analyses are switched on (config ``analyses:``; all on by default)."""
    given = cfg.get("analyses") or {}
    return {a: bool(given.get(a, True)) for a in ANALYSES}


def code_version() -> str:
    """SHA-256 (first 16 hex digits) of the package's source: a rule's params carry it, so a
    changed or upgraded her2cohort reruns the rules (Snakemake's own code trigger sees only the
    rule's script)."""
    import hashlib
    from pathlib import Path

    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def rule_params(cfg: dict, stage: str) -> dict[str, Any]:
    """What a Snakemake rule declares as ``params``: the config values its stage reads, plus
    ``_code`` (:func:`code_version`, not passed on to the stage)."""
    return {**stage_params(cfg, stage), "_code": code_version()}


def stage_params(cfg: dict, stage: str) -> dict[str, Any]:
    """The configuration values ``stage`` reads, as keyword arguments."""
    out: dict[str, Any] = {}
    for key, spec in _SPEC[stage].items():
        if key == "required":
            from ..study.requirements import required_fields  # light: no pandas

            out[key] = required_fields(cfg)
        elif key == "analyses":
            out[key] = analyses(cfg)
        elif key == "config":
            out[key] = cfg
        elif key == "descriptions":
            variants = (cfg.get("sensitivity") or {}).get("variants") or {}
            out[key] = {"main": "the study configuration (main analysis)",
                        **{k: v.get("description", "") for k, v in variants.items()}}
        elif key == "variable_labels":
            out[key] = {v["name"]: v["label"] for v in
                        (_get(cfg, ("table1", "variables"), None) or [])
                        if isinstance(v, dict) and "label" in v}
        elif spec and isinstance(spec[0], tuple):
            out[key] = _get(cfg, spec[0], spec[1])
        else:
            out[key] = _get(cfg, spec)
    if stage in ("table1", "response"):  # categorical levels not written in the config follow the study's
        # own (age groups, Ki-67 cut-off), so editing the cut-off reruns Table 1 with new levels
        from ..study.requirements import allowed_levels

        out["variables"] = [
            {**v, "levels": list(allowed_levels(cfg, v["name"]) or [])}
            if v.get("type") == "categorical" and not v.get("levels")
            and allowed_levels(cfg, v["name"]) else v
            for v in out["variables"]]
    if stage == "survival":  # model variables without levels take the study's own levels
        from ..study.requirements import allowed_levels

        def with_levels(v: dict) -> dict:
            if v.get("levels") or v["name"] == "group":
                return v
            lv = allowed_levels(cfg, v["name"])
            return {**v, "levels": list(lv)} if lv else v

        for part, key in (("cox", "covariates"), ("iptw", "confounders")):
            if out[part].get(key):
                out[part] = {**out[part], key: [with_levels(v) for v in out[part][key]]}
    if "her2_guideline" in out:
        out["her2_guideline"] = str(out["her2_guideline"])  # YAML 2018 and "2018" alike
    return out


def options_read_by(stage: str) -> list[str]:
    """Config paths a stage reads (for the documentation and the rerun test)."""
    paths = []
    for spec in _SPEC[stage].values():
        if spec and isinstance(spec[0], tuple):
            paths.append("/".join(spec[0]))
        elif spec:
            paths.append("/".join(spec))
    return paths


def load_study_config(path: str = "config/config.yaml") -> dict:
    """Load a config, check it against the schema and the study's consistency rules (the
    same checks the Snakefile runs before any rule): ConfigError listing every problem."""
    from ..data.config import ConfigError, load_config
    from ..study.requirements import check_config

    cfg = load_config(path)
    problems = check_config(cfg)
    if problems:
        raise ConfigError(f"{path} is not valid ({len(problems)} problem(s)):\n  "
                          + "\n  ".join(problems))
    return cfg
