"""Older config keys translated into the study definition at load (``groups:``, ``dfs:``,
``survival: {endpoints, os_origin}``, ``analyses: {dfs}``), and the merge of a sensitivity
variant's overrides. Plain dictionaries only: the data layer's config loading calls it before
the schema check, so it lives below the study definition (``study.definition`` re-exports it).
"""

from __future__ import annotations

import copy

# the order in which events are listed (study.definition.EVENT_TEXT has their words)
EVENT_ORDER = ("ipsilateral_breast", "local_regional", "distant", "contralateral_breast",
               "second_primary", "dcis", "death")

# The reference study's endpoints, as older configs named them.
_LEGACY_ENDPOINTS = {
    "dfs": {"name": "Disease-free survival", "abbreviation": "DFS"},
    "os": {"name": "Overall survival", "abbreviation": "OS", "events": ["death"]},
    "efs": {"name": "Event-free survival", "abbreviation": "EFS", "origin": "nst_start"},
}


def upgrade_config(cfg: dict) -> dict:
    """Translate the keys of older configs into the study definition (in place; returns
    ``cfg``): ``groups:`` -> ``study.exposure``; ``dfs: {origin, events}`` and
    ``survival: {endpoints, os_origin}`` -> ``study.endpoints``; ``analyses.dfs`` ->
    ``analyses.survival``; the treatment compared inside groups from ``survival.iptw``.
    A config already in the new form is left as it is."""
    study = cfg.setdefault("study", {}) if isinstance(cfg.get("study", {}), dict) else None
    if study is None:
        return cfg
    groups = cfg.get("groups")
    if isinstance(groups, dict):  # an older config, or an older-style variant override
        labels = groups.get("labels") or {}
        old = study.get("exposure") if isinstance(study.get("exposure"), dict) else {}
        study["exposure"] = {
            **{k: v for k, v in old.items() if k not in ("name", "column", "levels")},
            "name": groups.get("name") or old.get("name") or "Group",
            "column": groups.get("column", old.get("column")),
            "levels": [{"id": lv, "label": labels.get(lv, lv)}
                       for lv in (groups.get("levels") or [])]}
        cfg.pop("groups")
    dfs = cfg.get("dfs")
    surv = cfg.get("survival") if isinstance(cfg.get("survival"), dict) else {}
    d = dfs if isinstance(dfs, dict) else {}
    if "endpoints" not in study and (isinstance(dfs, dict) or isinstance(
            surv.get("endpoints"), list)):
        eps: dict[str, dict] = {}
        if "origin" in d or "events" in d:
            eps["dfs"] = {**_LEGACY_ENDPOINTS["dfs"], "origin": d.get("origin", "surgery"),
                          "events": list(d.get("events") or ["death"])}
        for extra in surv.get("endpoints") or []:
            if extra == "os":
                eps["os"] = {**_LEGACY_ENDPOINTS["os"],
                             "origin": surv.get("os_origin", "surgery")}
            elif extra == "efs":
                events = sorted(set(d.get("events") or []) | {"death"},
                                key=EVENT_ORDER.index)
                eps["efs"] = {**_LEGACY_ENDPOINTS["efs"], "events": events}
        study["endpoints"] = eps
    elif isinstance(study.get("endpoints"), dict):
        # an older-style override merged onto a new-style config (a sensitivity variant)
        eps = study["endpoints"]
        if isinstance(eps.get("dfs"), dict):
            eps["dfs"].update({k: d[k] for k in ("origin", "events") if k in d})
            if "events" in d and isinstance(eps.get("efs"), dict):
                eps["efs"]["events"] = sorted(set(d["events"]) | {"death"},
                                              key=EVENT_ORDER.index)
        if isinstance(eps.get("os"), dict) and "os_origin" in surv:
            eps["os"]["origin"] = surv["os_origin"]
    if isinstance(dfs, dict):
        for k in ("origin", "events"):
            dfs.pop(k, None)
        if isinstance(cfg.get("survival"), dict):
            for k in ("landmarks_months", "xmax_months"):
                if k in dfs:  # the older key was written on purpose: it wins
                    cfg["survival"][k] = dfs[k]
        else:
            cfg["survival"] = {k: dfs[k] for k in ("landmarks_months", "xmax_months")
                               if k in dfs}
        cfg.pop("dfs")
    if isinstance(cfg.get("survival"), dict):
        cfg["survival"].pop("endpoints", None)
        cfg["survival"].pop("os_origin", None)
    an = cfg.get("analyses")
    if isinstance(an, dict) and "dfs" in an:  # the older name wins: it was set on purpose
        an["survival"] = an.pop("dfs")
    iptw = (cfg.get("survival") or {}).get("iptw") if isinstance(cfg.get("survival"),
                                                                    dict) else None
    if "treatment" not in study and isinstance(iptw, dict) and iptw.get("treatment"):
        study["treatment"] = {"column": iptw["treatment"], "name": iptw["treatment"],
                              "arms": [{"id": a, "label": a}
                                       for a in iptw.get("levels") or []]}
    return cfg


LEGACY_KEYS = ("groups", "dfs")


def has_legacy_keys(cfg: dict) -> bool:
    """Whether ``cfg`` still holds keys of the older config form (set after loading, or an
    older-style override)."""
    surv = cfg.get("survival") if isinstance(cfg.get("survival"), dict) else {}
    an = cfg.get("analyses") if isinstance(cfg.get("analyses"), dict) else {}
    return (any(k in cfg for k in LEGACY_KEYS) or "endpoints" in surv or "os_origin" in surv
            or "dfs" in an)


def deep_merge(base: dict, over: dict) -> dict:
    """``base`` with ``over`` merged in (nested keys replace only what they name)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else copy.deepcopy(v)
    return out
