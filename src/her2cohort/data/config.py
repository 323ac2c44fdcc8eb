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


# libyaml's loader where installed (about 10x faster than the pure-Python one)
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without aliases: ``*name`` (and ``<<: *name``) can expand a few lines into
    gigabytes (the "billion laughs"), so a configuration or mapping may not use them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlAliasError(event.anchor, event.start_mark.line + 1)
        return super().compose_node(parent, index)


class YamlAliasError(Exception):
    def __init__(self, anchor: str, line: int):
        super().__init__(f"line {line}: YAML alias '*{anchor}' is not allowed in a "
                         "configuration or centre mapping (aliases can expand a small file into "
                         "gigabytes); write the values out in full")


def read_yaml(path: str | Path, error: type[Exception] = None) -> Any:
    """A configuration or mapping file as Python objects (safe YAML without aliases).
    Unreadable, invalid or aliased YAML raises ``error`` (ConfigError by default) naming the
    file."""
    error = error or ConfigError
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if _SafeLoader is yaml.SafeLoader:
            return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader subclass)
        # the events first (libyaml), so an alias is refused before anything is expanded
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise YamlAliasError(event.anchor, event.start_mark.line + 1)
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 (libyaml's safe loader)
    except YamlAliasError as e:
        raise error(f"{path}: {e}") from None
    except yaml.YAMLError as e:
        raise error(f"{path}: not valid YAML: {e}") from None
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at position "
                    f"{e.start})") from None
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror})") from None


def expanded_size(obj: Any, limit: int = 1_000_000) -> int:
    """How many values ``obj`` holds once every shared reference is written out (what a
    YAML alias expands to), counted without expanding it and stopped past ``limit``."""
    memo: dict[int, int] = {}

    def size(o: Any) -> int:
        if not isinstance(o, (dict, list)):
            return 1
        key = id(o)
        if key not in memo:
            memo[key] = limit + 1  # a cycle counts as too big
            items = o.values() if isinstance(o, dict) else o
            total = 1
            for v in items:
                total += size(v)
                if total > limit:
                    break
            memo[key] = total
        return memo[key]

    return size(obj)


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
        return yaml.load(fh, Loader=_SafeLoader)  # noqa: S506 (a safe loader)


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
    (``data.upgrade.upgrade_config``), defaults filled from the schema, the output
    folders resolved (``results/<study id>``, ``data/processed/<study id>`` by default)."""
    from .upgrade import upgrade_config

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


# what the schemas' patterns mean, for messages (a raw regular expression helps no one)
_PATTERN_WORDS = {
    "^[A-Za-z0-9_-]+$": "a code of letters, digits, '_' or '-'",
    "^[a-z][a-z0-9_]*$": "a name of lower-case letters, digits and '_', starting with a letter",
    "^[a-z0-9_]+$": "a name of lower-case letters, digits and '_'",
    "\\.ya?ml$": "a .yaml or .yml file",
    "^(?!/)(?!.*\\.\\.)[A-Za-z0-9_./-]+$": "a relative path inside the project folder (no "
    "leading '/', no '..'; letters, digits, '_', '.', '/' and '-')",
    "^\\d{4}-\\d{2}-\\d{2}$": "a date written YYYY-MM-DD (e.g. 2025-06-30)",
}


def did_you_mean(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _error_lines(error) -> list[str]:
    """One JSON-schema error as the user reads it: an unknown key with the closest allowed
    key, a wrong value with its choices."""
    where = "/".join(map(str, error.absolute_path)) or "(top level)"
    sch, value = error.schema, error.instance
    if error.validator == "additionalProperties" and isinstance(value, dict):
        allowed = list(sch.get("properties") or {})
        patterns = list(sch.get("patternProperties") or {})
        import re

        unknown = [k for k in value if k not in allowed
                   and not any(re.search(p, str(k)) for p in patterns)]
        if unknown:
            listed = f"; allowed: {', '.join(allowed)}" if allowed and len(allowed) <= 12 else ""
            return [f"{where}: unknown key '{k}'{did_you_mean(k, allowed)}"
                    + ("" if did_you_mean(k, allowed) else listed) for k in unknown]
    if error.validator == "enum":
        # YAML reads 2018 as a number; the schema accepts both spellings of a choice
        choices = list(dict.fromkeys(str(c) for c in error.validator_value))
        hint = "" if str(value).strip().lstrip("-").replace(".", "").isdigit() else \
            did_you_mean(value, choices)  # a number is not misspelt
        return [f"{where}: {value!r} is not one of the choices: {', '.join(choices)}{hint}"]
    if error.validator == "pattern" and error.validator_value in _PATTERN_WORDS:
        return [f"{where}: {value!r} is not {_PATTERN_WORDS[error.validator_value]}"]
    return [f"{where}: {error.message}"]


def schema_problems(instance: Any, schema: dict | None = None) -> list[str]:
    """Every way ``instance`` breaks the JSON schema (the study config's by default), in
    path order, each on one line ("unknown key 'defintion' (did you mean 'definition'?)")."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema() if schema is None else schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.path])
    return [line for e in errors for line in _error_lines(e)]


def validate_config(cfg: dict, source: str = "config") -> dict:
    """Check ``cfg`` against the JSON schema (the same one Snakemake's validate() uses); the
    study's own consistency rules come on top (``stages.params.config_problems``)."""
    lines = schema_problems(cfg)
    if lines:
        raise ConfigError(f"{source} is not valid ({len(lines)} problem(s)):\n"
                          + "\n".join(f"  {line}" for line in lines))
    return cfg


def load_config(path: str | Path = "config/config.yaml") -> dict:
    cfg = prepare_config(read_yaml(path) or {})
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
