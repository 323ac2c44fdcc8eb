"""Which recorded fields each analysis needs: requirements follow the analyses.

A *need* is one fact an enabled analysis uses (a derived column such as ``pcr`` or
``hr_status``) with the *forms* a centre may record it in: each form is a set of canonical
fields that together give the fact. A centre mapping meets a need when it maps every field of
at least one form, or declares the fact's fields under ``not_recorded:`` (the analyses that
need it then run without that centre's patients, and ``her2cohort check`` says so). A field no
enabled analysis needs is never required.

Imports nothing heavy: the Snakefile reads these requirements when the workflow is parsed.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..data.config import did_you_mean

ANALYSES = ("table1", "pcr", "her2_loss", "survival")

# Origin of DFS time -> the date field it starts from (study/derive.py uses the same).
DFS_ORIGIN_FIELDS = {"surgery": "surgery_date", "diagnosis": "diagnosis_date",
                     "nst_start": "nst_start_date"}

# derived column -> forms (alternatives, each a list of canonical fields). A column not listed
# here is a canonical field itself: its only form is [column].
FORMS: dict[str, list[list[str]]] = {
    "age": [["age_years"], ["birth_date", "diagnosis_date"]],
    "age_group": [["age_years"], ["birth_date", "diagnosis_date"]],
    "diagnosis_year": [["diagnosis_date"]],
    "her2_class": [["her2_ihc"]],
    "her2_status": [["her2_ihc"], ["ish_result"], ["ish_ratio", "her2_copies"],
                    ["her2_signals", "cep17_signals", "cells_counted"], ["her2_status"]],
    # ISH numbers: as recorded, or from the signal totals (study/her2.py ish_from_totals)
    "ish_ratio": [["ish_ratio"], ["her2_signals", "cep17_signals"]],
    "her2_copies": [["her2_copies"], ["her2_signals", "cells_counted"]],
    "her2_low": [["her2_ihc"]],
    "er_status": [["er_pct"], ["er_status"]],
    "pr_status": [["pr_pct"], ["pr_status"]],
    "hr_status": [["er_pct", "pr_pct"], ["er_status", "pr_status"], ["hr_status"]],
    "ki67_group": [["ki67_pct"]],
    "stage": [["ct", "cn", "cm"]],
    "anti_her2": [["regimen"], ["anti_her2"]],
    "backbone": [["regimen"]],
    "pcr": [["ypt", "ypn"], ["pcr"]],
    "her2_loss": [["post_her2_ihc"]],
    "centre": [[]],
}

# What each analysis uses besides the grouping column, the criteria, Table 1's variables, the
# treatment of the study definition and (survival) its endpoints.
ANALYSIS_COLUMNS = {
    "pcr": ["pcr"],
    "her2_loss": ["her2_loss", "pcr"],
    "survival": [],
}


def _endpoints(cfg: dict) -> dict[str, dict]:
    study = cfg.get("study") if isinstance(cfg.get("study"), dict) else {}
    eps = study.get("endpoints") if isinstance(study.get("endpoints"), dict) else {}
    return {k: v for k, v in eps.items() if isinstance(v, dict)}


def endpoint_forms(eid: str, ep: dict) -> list[list[str]]:
    """The ways a centre can record endpoint ``eid`` (``study.endpoints``)."""
    from .definition import endpoint_from

    return endpoint_from(eid, ep).forms()


def forms_of(column: str, dfs_origin: str = "surgery",
             endpoints: dict | None = None) -> list[list[str]]:
    """The ways a centre can record what ``column`` is derived from."""
    for eid, ep in (endpoints or {}).items():
        if column in (eid, f"{eid}_months", f"{eid}_event"):
            return endpoint_forms(eid, ep)
    if column in ("dfs", "dfs_months", "dfs_event"):
        origin = DFS_ORIGIN_FIELDS.get(dfs_origin, "surgery_date")
        return [["dfs_time", "dfs_event"],
                [origin, "last_contact_date", "recurrence_date", "recurrence_type",
                 "vital_status"]]
    if column in ("os", "os_months", "os_event"):
        # the last contact of a patient who died is the death date (study/endpoints.py)
        origin = DFS_ORIGIN_FIELDS.get(dfs_origin, "surgery_date")
        return [["os_time", "os_event"], [origin, "vital_status", "death_date",
                                          "last_contact_date"]]
    if column in ("efs", "efs_months", "efs_event"):
        return [["efs_time", "efs_event"],
                ["nst_start_date", "last_contact_date", "recurrence_date", "recurrence_type",
                 "vital_status"]]
    return FORMS.get(column, [[column]])


def _add(needs: dict[str, dict[str, Any]], column: str, by: str, dfs_origin: str,
         endpoints: dict | None = None) -> None:
    forms = forms_of(column, dfs_origin, endpoints)
    if forms == [[]]:
        return
    need = needs.setdefault(column, {"fact": column, "forms": forms, "by": []})
    if by not in need["by"]:
        need["by"].append(by)


def required_fields(cfg: dict) -> list[dict[str, Any]]:
    """Every need of the enabled analyses, the groups and the exclusion criteria, in a stable
    order: ``[{"fact": ..., "forms": [[field, ...], ...], "by": [analysis, ...]}, ...]``."""
    cfg = upgraded(cfg)
    analyses = dict(cfg.get("analyses") or {})
    if "dfs" in analyses:  # older configs
        analyses.setdefault("survival", analyses["dfs"])
    enabled = {a: bool(analyses.get(a, True)) for a in ANALYSES}
    eps = _endpoints(cfg)
    origin = str((eps.get("dfs") or {}).get("origin", "surgery"))
    needs: dict[str, dict[str, Any]] = {}
    group_col = exposure_column(cfg)
    if group_col:
        _add(needs, group_col, "groups", origin, eps)
    if enabled["survival"]:
        for eid, ep in eps.items():
            _add(needs, eid, f"survival ({ep.get('abbreviation', eid)})", origin, eps)
    treat = treatment_column(cfg)
    if treat and enabled["pcr"]:
        _add(needs, treat, "pcr", origin, eps)
    for crit in cfg.get("criteria") or []:
        cols = crit.get("columns") or [crit.get("column")]
        for c in cols:
            if c:
                _add(needs, c, f"criterion {crit.get('id')}", origin, eps)
    if enabled["table1"]:
        for v in (cfg.get("table1") or {}).get("variables") or []:
            name = v["name"] if isinstance(v, dict) else str(v)
            _add(needs, name, "table1", origin, eps)
    for analysis, cols in ANALYSIS_COLUMNS.items():
        if enabled[analysis]:
            for c in cols:
                _add(needs, c, analysis, origin, eps)
    return [needs[k] for k in sorted(needs)]


def upgraded(cfg: dict) -> dict:
    """``cfg`` in the current form (older keys set after loading translated, on a copy)."""
    from .definition import has_legacy_keys, upgrade_config

    if isinstance(cfg, dict) and has_legacy_keys(cfg):
        import copy

        return upgrade_config(copy.deepcopy(cfg))
    return cfg


def exposure_column(cfg: dict) -> str | None:
    study = cfg.get("study") if isinstance(cfg.get("study"), dict) else {}
    ex = study.get("exposure") if isinstance(study.get("exposure"), dict) else {}
    return ex.get("column") or (cfg.get("groups") or {}).get("column")


def treatment_column(cfg: dict) -> str | None:
    study = cfg.get("study") if isinstance(cfg.get("study"), dict) else {}
    tr = study.get("treatment") if isinstance(study.get("treatment"), dict) else {}
    return tr.get("column")


# Columns the derivation adds (study/derive.py, study/her2.py); with the canonical fields they
# are what criteria, groups, Table 1 variables and models may name.
DERIVED_COLUMNS = (
    "age", "age_group", "diagnosis_year", "ish_group", "ish_status", "ish_status_computed",
    "ish_status_reported", "ish_discordant", "her2_status", "her2_class", "her2_class_reason",
    "her2_low", "her2_ultralow", "er_status", "pr_status", "hr_status", "ki67_group", "stage",
    "anti_her2", "backbone", "pcr", "pcr_source", "her2_loss", "dfs_months", "dfs_event",
    "dfs_event_type", "dfs_source", "ish_source", "centre",
)
HER2_CLASSES = ("3+", "2+/ISH+", "2+/ISH-", "2+/ISH unknown", "1+/ISH+", "0/ISH+", "1+", "0",
                "unknown")
_DERIVED_LEVELS = {
    "her2_class": HER2_CLASSES, "her2_status": ("positive", "negative", "unknown"),
    "hr_status": ("positive", "negative"), "er_status": ("positive", "negative"),
    "pr_status": ("positive", "negative"), "anti_her2": ("single", "dual", "none"),
    "stage": ("IA", "IB", "IIA", "IIB", "IIIA", "IIIB", "IIIC", "IV"),
}


def known_columns(cfg: dict | None = None) -> list[str]:
    """Canonical fields and derived variables (with ``cfg``, its endpoints' columns too)."""
    from ..data.fields import FIELDS

    eps = [f"{eid}_{x}" for eid in _endpoints(cfg or {})
           for x in ("months", "event", "source")]
    return sorted({f.name for f in FIELDS if f.kind != "id"} | set(DERIVED_COLUMNS) | set(eps))


def allowed_levels(cfg: dict, column: str) -> tuple[str, ...] | None:
    """The values a column can take, where they are fixed (None: free or numeric)."""
    from ..data.fields import BY_NAME

    derived = cfg.get("derived") or {}
    if column in _DERIVED_LEVELS:
        return _DERIVED_LEVELS[column]
    if column in ("her2_low", "her2_ultralow", "pcr", "her2_loss"):
        return ("no", "yes")
    if column == "age_group":
        return tuple(derived.get("age_labels") or ())
    if column == "ki67_group":
        cut = derived.get("ki67_cut_pct", 20)
        return (f"<{cut:g}%", f">={cut:g}%")
    if column == "regimen":
        return tuple(cfg.get("regimens") or ())
    f = BY_NAME.get(column)
    if f is not None and f.kind == "code" and f.values:
        return tuple(f.values)
    return None


def check_config(cfg: dict) -> list[str]:
    """Mistakes the JSON schema cannot see, each with the valid choices: names that are no
    field or derived variable, levels that do not exist, reversed ranges."""
    cfg = upgraded(cfg)
    problems: list[str] = []
    known = known_columns(cfg)
    choice = f"choose one of: {', '.join(known)}"

    def col_ok(where: str, name: str | None) -> bool:
        if name and name not in known:
            problems.append(f"{where}: '{name}' is no canonical field or derived variable"
                            f"{did_you_mean(name, known)}; {choice}")
            return False
        return bool(name)

    def levels_ok(where: str, column: str, levels) -> None:
        allowed = allowed_levels(cfg, column)
        if allowed is None or not levels:
            return
        bad = [str(v) for v in levels if str(v) not in allowed]
        if bad:
            hints = "".join(did_you_mean(b, allowed) for b in bad)
            problems.append(f"{where}: level(s) {', '.join(map(repr, bad))} do not exist for "
                            f"'{column}'{hints}; its levels are {', '.join(allowed)}")

    qc = cfg.get("qc") or {}
    from ..data.problems import BLANKABLE

    for rule, action in (qc.get("actions") or {}).items():
        if action == "blank" and rule not in BLANKABLE:
            problems.append(f"qc/actions/{rule}: 'blank' sets one implausible value to missing "
                            f"and works only for {', '.join(sorted(BLANKABLE))}; choose fail, "
                            "quarantine or warn")
    lo_hi = qc.get("age_range") or [0, 1]
    if len(lo_hi) == 2 and lo_hi[0] >= lo_hi[1]:
        problems.append(f"qc/age_range: {lo_hi} is reversed or empty; write [lowest, highest]")
    derived = cfg.get("derived") or {}
    cuts = list(derived.get("age_cuts") or [])
    if any(b <= a for a, b in itertools.pairwise(cuts)):
        problems.append(f"derived/age_cuts: {cuts} must increase")
    labels = derived.get("age_labels") or []
    if cuts and len(labels) != len(cuts) + 1:
        problems.append(f"derived/age_labels: {len(cuts)} cut(s) make {len(cuts) + 1} groups, "
                        f"but {len(labels)} label(s) are given")
    surv = cfg.get("survival") or {}
    xmax = surv.get("xmax_months")
    for lm in surv.get("landmarks_months") or []:
        if xmax is not None and lm > xmax:
            problems.append(f"survival/landmarks_months: {lm} is beyond survival/xmax_months "
                            f"{xmax}")
    study = cfg.get("study") if isinstance(cfg.get("study"), dict) else {}
    ex = study.get("exposure") if isinstance(study.get("exposure"), dict) else {}
    if col_ok("study/exposure/column", ex.get("column")):
        ids, values = [], []
        for lv in ex.get("levels") or []:
            lv = lv if isinstance(lv, dict) else {"id": lv}
            ids.append(str(lv.get("id")))
            values += [("yes" if v else "no") if isinstance(v, bool) else v
                       for v in (lv.get("values") or [lv.get("id")])]
        levels_ok("study/exposure/levels", ex["column"], values)
        if len(set(ids)) < len(ids):
            problems.append(f"study/exposure/levels: level ids {ids} repeat; give each level "
                            "its own id")
        seen = [str(v) for v in values]
        twice = sorted({v for v in seen if seen.count(v) > 1})
        if twice:
            problems.append(f"study/exposure/levels: value(s) {twice} belong to more than one "
                            "level")
    tr = study.get("treatment") if isinstance(study.get("treatment"), dict) else None
    if tr and col_ok("study/treatment/column", tr.get("column")):
        levels_ok("study/treatment/arms", tr["column"],
                  [a.get("id") for a in tr.get("arms") or [] if isinstance(a, dict)])
    eps = _endpoints(cfg)
    primary = study.get("primary_endpoint", "pcr")
    if primary not in ("pcr", *eps):
        problems.append(f"study/primary_endpoint: '{primary}' is neither pcr nor an endpoint "
                        f"of study/endpoints ({', '.join(eps) or 'none defined'})")
    for eid, ep in eps.items():
        rec = ep.get("recorded") or {}
        if ep.get("form") == "recorded" and not rec and eid not in ("dfs", "os", "efs"):
            problems.append(f"study/endpoints/{eid}: form 'recorded' needs 'recorded: {{time, "
                            "event}}' (the canonical duration and status fields, e.g. "
                            "dfs_time and dfs_event)")
    for i, crit in enumerate(cfg.get("criteria") or []):
        where = f"criteria/{i} ({crit.get('id')})"
        op = crit.get("op")
        if op == "any_missing":
            if not crit.get("columns"):
                problems.append(f"{where}: op any_missing needs 'columns:'")
            for c in crit.get("columns") or []:
                col_ok(where, c)
            continue
        if not crit.get("column"):
            problems.append(f"{where}: op {op} needs 'column:'")
            continue
        if not col_ok(where, crit["column"]):
            continue
        if op in ("in", "not_in"):
            if not crit.get("values"):
                problems.append(f"{where}: op {op} needs 'values:'")
            levels_ok(where, crit["column"], crit.get("values"))
        if op == "outside":
            rng = crit.get("range")
            if not rng:
                problems.append(f"{where}: op outside needs 'range: [low, high]'")
            elif rng[0] > rng[1]:
                problems.append(f"{where}: range {rng} is reversed; write [low, high]")
    for part, key in (("cox", "covariates"), ("iptw", "confounders")):
        for i, v in enumerate((surv.get(part) or {}).get(key) or []):
            where = f"survival/{part}/{key}/{i}"
            if v.get("name") != "group" and col_ok(where, v.get("name")):
                levels_ok(where, v["name"], [("yes" if x else "no") if isinstance(x, bool)
                                             else x for x in v.get("levels") or []])
    pcr = cfg.get("pcr") if isinstance(cfg.get("pcr"), dict) else {}
    models = pcr.get("models") if isinstance(pcr.get("models"), dict) else {}
    for key, names in (("models/covariates", models.get("covariates")),
                       ("continuous", pcr.get("continuous")),
                       ("subgroups", pcr.get("subgroups")),
                       ("trend", [t.get("variable") for t in pcr.get("trend") or []
                                  if isinstance(t, dict)])):
        for i, name in enumerate(names or []):
            if name != "group":
                col_ok(f"pcr/{key}/{i}", name)
    for key in ("strata", "within_groups"):
        col_ok(f"pcr/{key}", pcr.get(key))
    for where, name in (("survival/logrank_strata", surv.get("logrank_strata")),
                        ("survival/cox/strata", (surv.get("cox") or {}).get("strata")),
                        ("survival/cox/cluster", (surv.get("cox") or {}).get("cluster")),
                        ("survival/iptw/treatment", (surv.get("iptw") or {}).get("treatment"))):
        col_ok(where, name)
    iptw_cfg = surv.get("iptw") or {}
    if iptw_cfg.get("treatment") and iptw_cfg.get("levels"):
        levels_ok("survival/iptw/levels", iptw_cfg["treatment"], iptw_cfg["levels"])
    t1 = cfg.get("table1") or {}
    names = []
    for i, v in enumerate(t1.get("variables") or []):
        where = f"table1/variables/{i}"
        names.append(v.get("name"))
        if col_ok(where, v.get("name")) and v.get("type") == "categorical":
            levels_ok(where, v["name"], v.get("levels"))
    for n in t1.get("nonnormal") or []:
        if n not in names:
            problems.append(f"table1/nonnormal: '{n}' is not a Table 1 variable; the variables "
                            f"are {', '.join(str(x) for x in names)}")
    return problems


def fields_markdown(cfg: dict) -> str:
    """The canonical fields as a Markdown table (config/README.md holds it; a test keeps the
    two identical): meaning, accepted forms, and which analyses of ``cfg`` need each."""
    from ..data.fields import FIELDS, UNIT_FACTORS

    needs = required_fields(cfg)
    used: dict[str, list[str]] = {}
    for need in needs:
        for form in need["forms"]:
            alt = [f for f in form]
            for f in form:
                others = [o for o in alt if o != f]
                how = need["fact"] + (f" (with {', '.join(others)})" if others else "")
                if len(need["forms"]) > 1:
                    how += " or other forms"
                used.setdefault(f, []).append(f"{how}: {', '.join(need['by'])}")
    rows = ["| field | kind | meaning | accepted values | needed for (default config) |",
            "|---|---|---|---|---|"]
    for f in FIELDS:
        if f.kind == "code":
            accepted = ", ".join(f"`{v}`" for v in f.values) or "codes of config `regimens`"
        elif f.kind == "number":
            units = ", ".join(UNIT_FACTORS.get(f.unit or "", {f.unit: 1}))
            rng = f" ({f.low:g}-{f.high:g})" if f.low is not None else ""
            accepted = f"number in {f.unit}{rng}; units: {units}"
        elif f.kind == "date":
            accepted = "date (`date_format`)"
        else:
            accepted = "text (pseudonymised)"
        need = "; ".join(used.get(f.name, [])) or ("always" if f.required else "-")
        rows.append(f"| `{f.name}` | {f.kind} | {f.label} | {accepted} | {need} |")
    return "\n".join(rows) + "\n"
