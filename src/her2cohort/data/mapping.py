"""Centre mappings (config/centres/*.yaml): load, check against the schema and the canonical
fields. A wrong mapping is a configuration error (exit status 2), not a data problem."""

from __future__ import annotations

from pathlib import Path

import yaml

from .fields import BY_NAME, FIELDS, UNIT_FACTORS


def load_mapping(path: str | Path) -> dict:
    """Read a centre mapping; its structure is checked against ``centre.schema.yaml``."""
    import jsonschema

    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            mapping = yaml.safe_load(fh)
    except yaml.YAMLError as e:
        raise MappingError(f"{path}: not valid YAML: {e}") from None
    except OSError as e:
        raise MappingError(f"{path}: cannot be read ({e.strerror})") from None
    from .config import schema_path

    with open(schema_path("centre.schema.yaml"), encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(mapping or {}), key=lambda e: list(e.path))
    if errors:
        msgs = [f"  {'/'.join(map(str, e.path)) or '(top level)'}: {e.message}" for e in errors]
        raise MappingError(f"{path}: the centre mapping is not valid:\n" + "\n".join(msgs))
    unknown = sorted(set(mapping["columns"]) - set(BY_NAME))
    unknown_v = sorted((set(mapping.get("values") or {}) | set(mapping.get("sentinels") or {})
                        | set(mapping.get("not_recorded") or [])) - set(BY_NAME))
    if unknown or unknown_v:
        raise MappingError(
            f"{path}: unknown canonical field(s) {unknown + unknown_v}; "
            f"allowed: {', '.join(BY_NAME)}"
        )
    unit_problems = []
    for field_name, unit in (mapping.get("units") or {}).items():
        f = BY_NAME.get(field_name)
        allowed = UNIT_FACTORS.get(f.unit or "", {}) if f is not None else {}
        if not allowed:
            numeric = [x.name for x in FIELDS if x.unit in UNIT_FACTORS]
            unit_problems.append(f"units: '{field_name}' is not a field with convertible units "
                                 f"(allowed: {', '.join(numeric)})")
        elif unit not in allowed:
            unit_problems.append(f"units: {unit!r} for '{field_name}' is not supported "
                                 f"(allowed: {', '.join(allowed)})")
    if unit_problems:
        raise MappingError(f"{path}: " + "; ".join(unit_problems))
    mapping["_path"] = str(path)
    return mapping


class MappingError(Exception):
    """A centre mapping in config/ is itself wrong (a configuration error, not a data error)."""


