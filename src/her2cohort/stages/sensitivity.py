"""Rule ``sensitivity``: one alternative definition (a config variant: pCR definition, DFS
origin or events, HER2 guideline, KM CI type, complete case or multiple imputation, ...) applied from the validated records on: derive,
criteria, headline estimates. One job per variant, so the scheduler runs them in parallel.

A variant derives and selects only what differs from the main analysis
(:func:`sensitivity_source`): one with the main derivation, criteria and groups starts from the
analysis-ready table of the ``cohort`` rule, one with the main derivation only from the
``derive`` rule's table; the others derive from the validated records themselves."""

from __future__ import annotations


def variant_config(config: dict, name: str) -> dict:
    """The study config with the variant's overrides merged in (nested keys replace only
    what they name). ``main`` is the study config itself."""
    from ..data.config import prepare_config
    from ..study.definition import deep_merge

    if name == "main":
        return config
    variants = (config.get("sensitivity") or {}).get("variants") or {}
    return prepare_config(deep_merge(config, variants[name].get("overrides") or {}))


def sensitivity_params(config: dict, name: str) -> dict:
    """What the ``sensitivity`` job of variant ``name`` reads (its rule's params): the
    derivation options, criteria and groups of the variant's config, the pCR test, the KM CI
    type, the landmark of every endpoint's headline estimate, the study definition (``study:``,
    where every word comes from) and, for the adjusted OR and HR, their covariates, imputation
    settings and how missing covariates are handled (``sensitivity.missing_covariates``). An
    edit elsewhere reruns nothing here."""
    from .params import groups_of, stage_params

    cfg = variant_config(config, name)
    surv = cfg.get("survival") or {}
    pcr = cfg.get("pcr") or {}
    levels = {v["name"]: v.get("levels") for v in (cfg.get("table1") or {}).get("variables")
              or [] if isinstance(v, dict) and "name" in v}
    return {
        "variant": name,
        "derive": stage_params(cfg, "derive"),
        "criteria": cfg["criteria"],
        "groups": groups_of(cfg),
        "study": cfg.get("study") or {},
        "pcr_test": str((cfg.get("pcr") or {}).get("test", "pearson")),
        "km_ci": str(surv.get("ci_type", "log")),
        "landmark": float(max(surv.get("landmarks_months") or [60])),
        "min_events": int(surv.get("min_events", 5)),
        "adjusted": {
            "missing": str((cfg.get("sensitivity") or {}).get("missing_covariates",
                                                               "complete_case")),
            # level orders as the response stage takes them (table1.variables), so the
            # imputation codes the levels alike and the main estimates agree with its tables
            "pcr_covariates": [
                {"name": c, "levels": list(levels.get(c) or [])}
                for c in (pcr.get("models") or {}).get("covariates") or []],
            "cox_covariates": list((surv.get("cox") or {}).get("covariates") or []),
            "pcr_method": str((pcr.get("models") or {}).get("method", "auto")),
            "pcr_min_cell": int((pcr.get("models") or {}).get("min_cell", 5)),
            "pcr_imputation": dict(pcr.get("imputation") or {}),
            "cox_imputation": dict(surv.get("imputation") or {}),
            "cox": {k: v for k, v in (surv.get("cox") or {}).items()
                        if k in ("ties", "strata", "variance", "cluster")},
        },
    }


#: What a variant starts from (:func:`sensitivity_source`) -> its rule's inputs (files under
#: the study's folder of patient-level intermediates).
SOURCES = {
    "analysis": {"in_analysis": "analysis.parquet"},
    "derived": {"in_derived": "derived.parquet", "in_quarantine": "quarantine.parquet"},
    "validated": {"in_validated": "validated.parquet", "in_quarantine": "quarantine.parquet"},
}


def sensitivity_source(config: dict, name: str, own: dict | None = None,
                       main: dict | None = None) -> str:
    """Where the job of variant ``name`` starts (a key of :data:`SOURCES`): ``analysis`` when
    the variant derives, selects and groups as the main analysis (its analysed records are the
    ``cohort`` rule's analysis-ready table), ``derived`` when it derives as the main analysis
    but selects or groups otherwise (the ``derive`` rule's table, its criteria applied here),
    else ``validated`` (derived here). Decided from the values the job reads, so that a changed
    override moves the variant to the right start. ``own``: the variant's
    :func:`sensitivity_params`, ``main``: the ``derive`` and ``cohort`` rules' params
    (``{"derive": ..., "cohort": ...}``), where the caller has them already."""
    from .params import stage_params

    own = own or sensitivity_params(config, name)
    main = main or {}
    if own["derive"] != (main.get("derive") or stage_params(config, "derive")):
        return "validated"
    cohort = main.get("cohort") or stage_params(config, "cohort")
    if own["criteria"] != cohort["criteria"] or own["groups"] != cohort["groups"]:
        return "derived"
    return "analysis"


def main(*, out_csv, variant, derive, criteria, groups, study, pcr_test, km_ci, landmark,
         adjusted=None, min_events=5, in_analysis=None, in_derived=None, in_validated=None,
         in_quarantine=None, in_reuse=None, out_blocks=None) -> None:
    """The headline estimates of variant ``variant``, from one of ``in_analysis`` (its
    analysed records), ``in_derived`` or ``in_validated`` (with ``in_quarantine``, for the
    criteria's accounting): see :func:`sensitivity_source`. ``in_reuse``: the main
    analysis' blocks of estimates (its ``out_blocks``): a block whose data and settings are
    the same here is taken from it, not fitted again (headline.Blocks); ``out_blocks``:
    where this variant's blocks are written."""
    import json

    import pandas as pd

    from .columns import parquet_columns
    from .common import write_csv
    from .headline import Blocks, headline

    if in_analysis is not None:  # only the columns the headline estimates read
        analysed = pd.read_parquet(in_analysis, columns=_needed(
            parquet_columns(in_analysis), study, groups, adjusted))
    else:
        analysed = _analysed(in_derived, in_validated, in_quarantine, derive, criteria, groups,
                             study, adjusted)
    reuse = None
    if in_reuse is not None:
        with open(in_reuse, encoding="utf-8") as fh:
            reuse = json.load(fh)
    blocks = Blocks(reuse)
    rows = headline(analysed, study=study, groups=groups, pcr_test=pcr_test, km_ci=km_ci,
                    landmark=landmark, adjusted=adjusted, min_events=min_events, blocks=blocks)
    if reuse is not None:
        print(f"{len(blocks.reused)} of {len(blocks.made)} blocks of estimates taken from the "
              f"main analysis (same data and settings): {', '.join(blocks.reused) or 'none'}")
    if out_blocks is not None:
        with open(out_blocks, "w", encoding="utf-8") as fh:
            json.dump(blocks.made, fh, indent=1)
            fh.write("\n")
    out = pd.DataFrame(rows)
    out.insert(0, "variant", variant)
    write_csv(out, out_csv, digits=17)


def _needed(columns, study: dict, groups: dict, adjusted: dict | None,
            criteria: list[dict] | None = None) -> list[str]:
    """Of ``columns``, those the headline estimates read and, with ``criteria``, those the
    criteria and their accounting read (in their order)."""
    from .columns import RECORD_KEYS, named_in
    from .headline import headline_columns

    need = set(headline_columns(columns, study=study, groups=groups, adjusted=adjusted))
    if criteria is not None:  # as the cohort rule reads them
        need |= {*RECORD_KEYS, *named_in(criteria, groups)}
    return [c for c in columns if c in need]


def _analysed(in_derived, in_validated, in_quarantine, derive, criteria, groups, study,
              adjusted):
    """The variant's analysed records: derived (from ``in_validated``, else read from
    ``in_derived``), then its criteria applied. The criteria and the headline estimates read
    a few columns: the rest is not carried through the criteria's subsets."""
    import pandas as pd

    from ..study.cohort import apply_criteria
    from ..study.derive import derive as derive_records
    from .columns import parquet_columns

    if in_derived is not None:
        derived = pd.read_parquet(in_derived, columns=_needed(
            parquet_columns(in_derived), study, groups, adjusted, criteria))
    else:
        derived = derive_records(pd.read_parquet(in_validated), **derive)
        derived = derived[_needed(derived.columns, study, groups, adjusted, criteria)]
    analysed, _, _ = apply_criteria(derived, pd.read_parquet(in_quarantine), criteria, groups)
    return analysed
