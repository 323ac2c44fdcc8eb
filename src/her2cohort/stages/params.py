"""Which configuration values each stage reads: the one place that says so.

Every Snakemake rule declares ``params: **stage_params(config, "<rule>")``, so Snakemake reruns
a rule exactly when a value it reads changes (params are part of Snakemake's rerun triggers),
and the stage function receives those values as keyword arguments, never the whole config.
The CLI (``her2cohort check``) and the tests build their arguments with the same function.

This module imports nothing heavy: the Snakefile imports it when the workflow is parsed.
"""

from __future__ import annotations

import sys

import functools
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
        "endpoints": (("study", "endpoints"), None),  # recorded time/event against the dates
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
        "endpoints": ("study", "endpoints"),
        "not_recorded": None,  # computed: facts each centre declares not recorded
    },
    "cohort": {
        "criteria": ("criteria",),
        "groups": None,  # computed: the study's exposure (study.exposure)
        "analyses": None,
        "simulated": ("study", "simulated"),
        "endpoints": ("study", "endpoints"),
    },
    "table1": {
        "variables": ("table1", "variables"),
        "nonnormal": (("table1", "nonnormal"), []),
        "fisher": (("table1", "fisher"), {}),
        "groups": None,
        "simulated": ("study", "simulated"),
        "her2_guideline": ("her2", "guideline"),
        "her2_rule": ("study", "her2", "name"),
        "criteria": ("criteria",),
        "page": (("tables", "page"), "A4"),
        "orientation": (("tables", "orientation"), "portrait"),
    },
    "response": {
        "groups": None,
        "treatment": ("study", "treatment"),
        "pcr_definition": ("pcr", "definition"),
        "pcr_test": ("pcr", "test"),
        "pcr_ci": ("pcr", "ci"),
        "within_groups": None,  # computed: pcr.within_groups, else the study's treatment
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
        "her2_rule": ("study", "her2", "name"),
        "criteria": ("criteria",),
        "simulated": ("study", "simulated"),
        "page": (("tables", "page"), "A4"),
        "orientation": (("tables", "orientation"), "portrait"),
    },
    "her2_loss": {
        "groups": None,
        "pcr_ci": ("pcr", "ci"),
        "her2_guideline": ("her2", "guideline"),
        "her2_rule": ("study", "her2", "name"),
        "criteria": ("criteria",),
        "simulated": ("study", "simulated"),
        "variables": (("table1", "variables"), []),
        "treatment": ("study", "treatment"),
        "page": (("tables", "page"), "A4"),
        "orientation": (("tables", "orientation"), "portrait"),
    },
    "survival": {
        "groups": None,
        "endpoints": ("study", "endpoints"),
        "treatment": ("study", "treatment"),
        "landmarks_months": ("survival", "landmarks_months"),
        "xmax_months": ("survival", "xmax_months"),
        "min_at_risk": (("survival", "min_at_risk"), 10),
        "simulated": ("study", "simulated"),
        "ci_type": (("survival", "ci_type"), "log"),
        "logrank_strata": (("survival", "logrank_strata"), None),
        "min_events": (("survival", "min_events"), 5),
        "cox": (("survival", "cox"), {}),
        "iptw": None,  # computed: survival.iptw, treatment and levels from study.treatment
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
        "groups": None,
        "study": ("study",),
        "title": ("study", "title"),
        "simulated": ("study", "simulated"),
        "pcr_definition": ("pcr", "definition"),
        "her2_guideline": ("her2", "guideline"),
        "criteria": ("criteria",),
        "invitro_on": (("analyses", "invitro"), False),
        # what the Statistical methods paragraph describes and the text cites
        "analyses": None,
        "pcr": (("pcr",), {}),
        "survival": (("survival",), {}),
        "missing_covariates": (("sensitivity", "missing_covariates"), "complete_case"),
        "descriptions": None,
        "variable_labels": None,
    },
    "paper": {
        "study": ("study",),
        "criteria": ("criteria",),
        "analyses": None,
        "pcr": (("pcr",), {}),
        "survival": (("survival",), {}),
        "iptw": None,
        "table1": (("table1",), {}),
        "sensitivity": (("sensitivity",), {}),
        "invitro_on": (("analyses", "invitro"), False),
        "invitro": (("invitro",), {}),
        "data_lock_date": (("data_lock_date",), None),
        "page": (("tables", "page"), "A4"),
    },
    "sensitivity_table": {
        "descriptions": None,
        "simulated": ("study", "simulated"),
    },
    "invitro_plates": {
        "inputs": (("invitro", "inputs"), []),
        "unit": (("invitro", "unit"), "nM"),
        "molar_mass": (("invitro", "molar_mass_g_per_mol"), {}),
        "controls": (("invitro", "controls"), {}),
        "lines": (("invitro", "lines"), {}),
        "qc": (("invitro", "qc"), {}),
        "simulated": ("study", "simulated"),
        "page": (("tables", "page"), "A4"),
    },
    "invitro_fit": {
        "unit": (("invitro", "unit"), "nM"),
        "lines": (("invitro", "lines"), {}),
        "drugs": (("invitro", "drugs"), {}),
        "combinations": (("invitro", "combinations"), []),
        "ci_level": (("invitro", "ci_level"), 0.95),
        "groups": None,
        "simulated": ("study", "simulated"),
        "page": (("tables", "page"), "A4"),
        "orientation": (("tables", "orientation"), "portrait"),
    },
}

ANALYSES = ("table1", "pcr", "her2_loss", "survival")


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
    given = dict(cfg.get("analyses") or {})
    if "dfs" in given:  # older configs
        given.setdefault("survival", given["dfs"])
    return {a: bool(given.get(a, True)) for a in ANALYSES}


def invitro_on(cfg: dict) -> bool:
    """Whether the in-vitro arm runs (config ``analyses.invitro``; off by default). Kept out
    of :func:`analyses`: the clinical analyses each centre's data support are listed from
    that, and no centre's clinical file holds plates."""
    return bool((cfg.get("analyses") or {}).get("invitro", False))


def groups_of(cfg: dict) -> dict:
    """The compared groups as the stages take them (``Exposure.as_groups``)."""
    from ..study.definition import from_dict
    from ..study.requirements import upgraded

    return from_dict(upgraded(cfg).get("study") or {}).exposure.as_groups()


def not_recorded_by_centre(cfg: dict) -> dict[str, list[str]]:
    """Per centre mapping (its ``centre:`` code): the facts the enabled analyses need that it
    declares not recorded (``not_recorded:``). The derivation leaves them missing for its
    records, so the run says what ``her2cohort check`` says. A mapping that cannot be read is
    left to the ingest stage to report."""
    from ..data.needs import split_needs
    from ..study.requirements import required_fields

    needs = required_fields(cfg)
    out: dict[str, list[str]] = {}
    for path in cfg.get("centres") or []:
        try:
            m = _mapping_facts(str(path))
        except Exception:  # noqa: BLE001 - reported by the ingest stage with its reason
            continue
        _, unsupported = split_needs(needs, m[1], m[2])
        if unsupported:
            out[m[0]] = sorted({n["fact"] for n in unsupported})
    return out


def _mapping_facts(path: str) -> tuple[str, frozenset, frozenset]:
    """A centre mapping's code, mapped fields and fields declared not recorded (the mapping
    read and checked once per file version by ``load_mapping``: every rule's and variant's
    params ask for them)."""
    from ..data.mapping import load_mapping

    m = load_mapping(path)
    return (str(m["centre"]), frozenset(m["columns"]),
            frozenset(m.get("not_recorded") or []))


def treatment_of(cfg: dict) -> dict | None:
    return (cfg.get("study") or {}).get("treatment")


def iptw_of(cfg: dict) -> dict:
    """``survival.iptw`` with the treatment column and [reference, treated] arms taken from
    the study's treatment where not given."""
    iptw = dict(_get(cfg, ("survival", "iptw"), {}) or {})
    tr = treatment_of(cfg) or {}
    if tr:
        iptw.setdefault("treatment", tr["column"])
        iptw.setdefault("levels", [a["id"] for a in tr["arms"][:2]])
    return iptw


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 (first 16 hex digits) of the package's source: a rule's params carry it, so a
    changed or upgraded her2cohort reruns the rules (Snakemake's own code trigger sees only the
    rule's script). Read once per process (every rule's params ask for it)."""
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
    import copy

    from ..data.config import prepare_config

    # the same preparation as at load (older keys set afterwards translated, defaults filled
    # for keys left out), on a copy
    cfg = prepare_config(copy.deepcopy(cfg))
    out: dict[str, Any] = {}
    for key, spec in _SPEC[stage].items():
        if key == "required":
            from ..study.requirements import required_fields  # light: no pandas

            out[key] = required_fields(cfg)
        elif key == "analyses":
            out[key] = analyses(cfg)
        elif key == "groups":
            out[key] = groups_of(cfg)
        elif key == "not_recorded":
            out[key] = not_recorded_by_centre(cfg)
        elif key == "iptw":
            out[key] = iptw_of(cfg)
        elif key == "within_groups":
            wg = _get(cfg, ("pcr", "within_groups"), None)
            out[key] = wg or (treatment_of(cfg) or {}).get("column")
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
    if stage == "survival":  # model variables without levels take Table 1's (the order and
        # reference level of the logistic tables), else the study's own levels; level labels
        # not given take Table 1's
        from ..study.requirements import allowed_levels

        t1 = {v["name"]: v for v in (_get(cfg, ("table1", "variables"), None) or [])
              if isinstance(v, dict) and "name" in v}

        def with_levels(v: dict) -> dict:
            if v["name"] == "group":
                return v
            spec = t1.get(v["name"]) or {}
            if spec.get("level_labels") and not v.get("level_labels"):
                v = {**v, "level_labels": dict(spec["level_labels"])}
            if v.get("levels"):
                return v
            lv = spec.get("levels") or allowed_levels(cfg, v["name"])
            return {**v, "levels": list(lv)} if lv else v

        for part, key in (("cox", "covariates"), ("iptw", "confounders")):
            if out[part].get(key):
                out[part] = {**out[part], key: [with_levels(v) for v in out[part][key]]}
    if "her2_guideline" in out:
        out["her2_guideline"] = str(out["her2_guideline"])  # YAML 2018 and "2018" alike
    return out


# config paths behind the computed keyword arguments
_COMPUTED_READS = {"groups": ["study/exposure"], "not_recorded": ["centres"], "iptw": ["survival/iptw", "study/treatment"],
                   "within_groups": ["pcr/within_groups", "study/treatment"],
                   "analyses": ["analyses"], "variable_labels": ["table1/variables"]}


def options_read_by(stage: str) -> list[str]:
    """Config paths a stage reads (for the documentation and the rerun test)."""
    paths = []
    for key, spec in _SPEC[stage].items():
        if spec is None:
            paths += _COMPUTED_READS.get(key, [])
        elif spec and isinstance(spec[0], tuple):
            paths.append("/".join(spec[0]))
        elif spec:
            paths.append("/".join(spec))
    return paths


def config_problems(cfg: dict, mappings: bool = True,
                    warnings: list[str] | None = None,
                    cache_dir: str | None = None) -> list[str]:
    """Every configuration mistake at once, the same for the Snakefile (before any rule) and
    ``her2cohort check``: the JSON schema (unknown keys with the closest allowed one, values
    with their choices), the study's consistency rules, the centre mappings (``mappings``),
    and each sensitivity variant's config (its overrides merged in) against both, so that a
    misspelt override never runs as the main analysis under the variant's name. A variant
    whose overrides change nothing the estimates read (its column would repeat the main one)
    is added to ``warnings``. ``cfg`` is prepared (``prepare_config``) in place.

    ``cache_dir`` (the Snakefile's: ``.snakemake/her2cohort``): a config found valid is
    remembered there by a digest of its values, the schema and the package's code, the
    inputs of every check but the centre mappings' (read from disk: checked every time), so
    that a run with nothing changed does not check it again."""
    from ..data.config import expanded_size, prepare_config

    if expanded_size(cfg) > 1_000_000:
        return ["(top level): the configuration expands to more than a million values "
                "(YAML aliases?); write the values out in full"]
    prepare_config(cfg)
    digest = _config_digest(cfg) if cache_dir else None
    known = _valid_config(digest, cache_dir)
    if known is not None:
        problems, in_variants = [], []
        if warnings is not None:
            warnings += known
    else:
        found: list[str] = []
        schema, problems, in_variants = _config_values_problems(cfg, found)
        if schema:
            return schema
        if warnings is not None:
            warnings += found
        if not problems and not in_variants:
            _remember_valid_config(digest, cache_dir, found)
    if mappings:
        from ..data.mapping import load_mappings
        from ..data.safety import data_dirs

        problems += load_mappings(cfg["centres"], stage_params(cfg, "ingest")["required"],
                                  data_dirs(cfg))[1]
    return problems + in_variants


def _config_digest(cfg: dict) -> str | None:
    """What the value checks of :func:`config_problems` depend on: the config, the schema,
    the package's code (None when the config cannot be written as JSON)."""
    import hashlib
    import json

    from ..data.config import schema_path

    try:
        text = json.dumps(cfg, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None
    h = hashlib.sha256(text.encode())
    h.update(schema_path("config.schema.yaml").read_bytes())
    h.update(code_version().encode())
    return h.hexdigest()


def _valid_config(digest: str | None, cache_dir: str | None) -> list[str] | None:
    """The warnings of a config remembered as valid under its ``digest``
    (:func:`_remember_valid_config`), or None when it is not remembered."""
    import json
    from pathlib import Path

    if digest is None or cache_dir is None:
        return None
    try:
        return list(json.loads((Path(cache_dir) / f"valid-{digest}.json").read_text(
            encoding="utf-8"))["warnings"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember_valid_config(digest: str | None, cache_dir: str | None,
                           warnings: list[str]) -> None:
    import json
    import os
    from pathlib import Path

    if digest is None or cache_dir is None:
        return
    try:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        # written whole or not at all: two runs in the same folder may remember it at once
        tmp = Path(cache_dir) / f".valid-{digest}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"warnings": warnings}), encoding="utf-8")
        os.replace(tmp, Path(cache_dir) / f"valid-{digest}.json")
    except OSError:
        pass  # a read-only checkout checks again next time


def _config_values_problems(cfg: dict, warnings: list[str]
                            ) -> tuple[list[str], list[str], list[str]]:
    """The checks of :func:`config_problems` that read the config's values only: the
    schema's problems (when there are any, the others are not looked for), the study's
    consistency rules', and each sensitivity variant's."""
    from ..data.config import schema_problems
    from ..study.requirements import check_config

    schema = schema_problems(cfg)
    if schema:
        return schema, [], []
    own_problems = check_config(cfg)
    own = set(own_problems)
    problems: list[str] = []
    variants = (cfg.get("sensitivity") or {}).get("variants") or {}
    if variants:
        from .sensitivity import sensitivity_params, variant_config

        main = {k: v for k, v in sensitivity_params(cfg, "main").items() if k != "variant"}
    for name in variants:
        where = f"sensitivity/variants/{name}"
        variant = variant_config(cfg, name)
        wrong = schema_problems(variant)
        if wrong:
            problems += [f"{where}/overrides (merged into the config): {p}" for p in wrong]
            continue
        # a mistake of the main config is reported once, not again for each variant
        problems += [f"{where}: {p}" for p in check_config(variant) if p not in own]
        reads = {k: v for k, v in sensitivity_params(cfg, name).items() if k != "variant"}
        if reads == main:
            warnings.append(f"{where}: its overrides change nothing the sensitivity estimates "
                            "read, so its column repeats the main analysis (the main config "
                            "already says the same?); override a key they use "
                            "(config/README.md, sensitivity.variants)")
    return [], own_problems, problems


def load_study_config(path: str = "config/config.yaml") -> dict:
    """Load a config and check it as the Snakefile does before any rule (``config_problems``;
    the centre mappings are checked when they are read): ConfigError listing every problem."""
    from ..data.config import ConfigError, read_yaml

    cfg = read_yaml(path) or {}
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys to values")
    warnings: list[str] = []
    problems = config_problems(cfg, mappings=False, warnings=warnings)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if problems:
        raise ConfigError(f"{path} is not valid ({len(problems)} problem(s)):\n  "
                          + "\n  ".join(problems))
    return cfg
