"""Study configuration: loading, schema validation and the few values computed from it."""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path
from typing import Any

import yaml


def schema_path(name: str) -> Path:
    """A schema in workflow/schemas/: under the working directory (a project checkout), else
    beside the source tree (editable install)."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        p = base / "workflow" / "schemas" / name
        if p.exists():
            return p
    raise FileNotFoundError(f"workflow/schemas/{name} not found; run from the project folder")


class ConfigError(Exception):
    """The study configuration is invalid; the message lists every problem."""


def normalise_config(cfg: dict) -> dict:
    """Accept what YAML makes of values written without quotes: a year 2018 for "2018", an
    unquoted date 2025-06-30 for "2025-06-30" (in place; returns ``cfg``)."""
    if isinstance(cfg.get("data_lock_date"), dt.date):
        cfg["data_lock_date"] = cfg["data_lock_date"].isoformat()
    her2 = cfg.get("her2")
    if isinstance(her2, dict) and isinstance(her2.get("guideline"), int):
        her2["guideline"] = str(her2["guideline"])
    return cfg


def _schema() -> dict:
    return _schema_at(str(schema_path("config.schema.yaml")))


@functools.lru_cache(maxsize=4)
def _schema_at(path: str) -> dict:
    """The parsed schema (read once per process; never modified by its users)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def fill_defaults(cfg: dict, schema: dict | None = None) -> dict:
    """Every key the schema gives a ``default`` and the config leaves out is set to it, in
    nested objects too (in place; returns ``cfg``): one set of defaults, visible in
    ``results/config.yaml``. Values of the wrong type are left for validation to report."""
    import copy

    schema = _schema() if schema is None else schema

    def fill(value: Any, sub: dict) -> None:
        if isinstance(value, dict) and "properties" in sub:
            for key, prop in sub["properties"].items():
                if key not in value and "default" in prop:
                    value[key] = copy.deepcopy(prop["default"])
                if key in value:
                    fill(value[key], prop)
            extra = sub.get("additionalProperties")
            if isinstance(extra, dict) and "properties" in extra:
                for key, v in value.items():
                    if key not in sub["properties"]:
                        fill(v, extra)
        elif isinstance(value, dict) and isinstance(sub.get("additionalProperties"), dict):
            for v in value.values():
                fill(v, sub["additionalProperties"])

    fill(cfg, schema)
    return cfg


def prepare_config(cfg: dict) -> dict:
    """What every entry point does to a loaded config before checking it (in place): YAML's
    unquoted years and dates as text, older keys translated into the study definition
    (``study.definition.upgrade_config``), defaults filled from the schema, the output
    folders resolved (``results/<study id>``, ``data/processed/<study id>`` by default)."""
    from ..study.definition import upgrade_config

    if not isinstance(cfg, dict):
        return cfg
    normalise_config(cfg)
    upgrade_config(cfg)
    fill_defaults(cfg)
    # each study's outputs in a folder of its own unless the config names one
    sid = str((cfg.get("study") or {}).get("id") or "study") if isinstance(
        cfg.get("study"), dict) else "study"
    if cfg.get("results_dir") is None:
        cfg["results_dir"] = f"results/{sid}"
    if cfg.get("processed_dir") is None:
        cfg["processed_dir"] = f"data/processed/{sid}"
    return cfg


def validate_config(cfg: dict, source: str = "config") -> dict:
    """Check ``cfg`` against the JSON schema (the same one Snakemake's validate() uses); the
    study's own consistency rules come on top (``stages.params.load_study_config``)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(cfg), key=lambda e: [str(p) for p in e.path])
    lines = [f"  {'/'.join(map(str, e.path)) or '(top level)'}: {e.message}" for e in errors]
    if lines:
        raise ConfigError(f"{source} is not valid ({len(lines)} problem(s)):\n" + "\n".join(lines))
    return cfg


def load_config(path: str | Path = "config/config.yaml") -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = prepare_config(yaml.safe_load(fh) or {})
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror})") from None
    return validate_config(cfg, str(path))


def salt(cfg: dict) -> str:
    """The pseudonymisation salt: from the environment if set, else the demo salt."""
    p = cfg.get("pseudonymisation") or {}
    p = {"salt_env": "HER2COHORT_SALT", "demo_salt": "her2cohort-demo-salt-not-secret", **p}
    value = os.environ.get(p["salt_env"])
    if value:
        return value
    if not cfg["study"].get("simulated", False):
        raise ConfigError(f"set the environment variable {p['salt_env']} to a secret salt: "
                          "real data must not be pseudonymised with the public demo salt")
    return p["demo_salt"]


def data_lock(cfg: dict) -> dt.date:
    v = cfg["data_lock_date"]
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def vocabularies(cfg: dict) -> dict[str, list[str]]:
    """Study-specific vocabularies that extend the canonical fields."""
    return {"regimen": list(cfg["regimens"])}
