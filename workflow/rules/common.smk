import os
import sys

import yaml
from snakemake.utils import min_version

from her2cohort.data.config import ConfigError, read_yaml
from her2cohort.stages.outputs import remove_stale_outputs
from her2cohort.stages.params import (
    analyses,
    code_version,
    config_problems,
    invitro_on,
    rule_params,
    stage_params,
)
from her2cohort.stages.provenance import git_state
from her2cohort.stages.sensitivity import (
    SOURCES as SENSITIVITY_SOURCES,
    sensitivity_params,
    sensitivity_source,
)

min_version("9.19")

# One BLAS thread per job: parallel jobs on a 2-core machine must not oversubscribe it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def _config_problems():
    """Every configuration mistake at once (her2cohort.stages.params.config_problems, as
    `her2cohort check`): the config files as YAML without aliases, the JSON schema
    (workflow/schemas), the study's consistency rules, the centre mappings and each
    sensitivity variant."""
    problems = []
    for path in workflow.configfiles:
        try:
            read_yaml(path)
        except ConfigError as e:
            problems.append(str(e))
    if problems:
        return problems
    warnings = []
    # a config found valid is remembered (by a digest of its values, the schema and the
    # code) under .snakemake/, so that a run with nothing changed does not check it again
    problems = config_problems(
        config, warnings=warnings, cache_dir=os.path.join(".snakemake", "her2cohort")
    )
    for w in warnings:
        sys.stderr.write(f"warning: {w}\n")
    return problems


_problems = _config_problems()
if _problems:
    # exit status 2 = configuration error, before any rule runs (as `her2cohort check`)
    sys.stderr.write(
        f"configuration error: config is not valid ({len(_problems)} problem(s)):\n  "
        + "\n  ".join(p.strip() for p in _problems)
        + "\n"
    )
    sys.exit(2)

_SENSITIVITY = {}
_SOURCE = {}


def variant_params(variant):
    """What a sensitivity job reads (sensitivity_params), computed once per variant and
    parse."""
    if variant not in _SENSITIVITY:
        _SENSITIVITY[variant] = sensitivity_params(config, variant)
    return _SENSITIVITY[variant]


def sensitivity_param(variant, key):
    """One value a sensitivity job reads."""
    return variant_params(variant)[key]


SENSITIVITY_KEYS = tuple(variant_params("main"))


def sensitivity_inputs(wildcards):
    """What a sensitivity job starts from (her2cohort.stages.sensitivity.sensitivity_source):
    the analysis-ready table where the variant derives, selects and groups as the main
    analysis, the derived table where it only derives so, else the validated records; and,
    but for the main analysis, its blocks of estimates, taken over where a block's data and
    settings are the same (her2cohort.stages.headline.Blocks)."""
    if not _SOURCE:
        main = {s: stage_params(config, s) for s in ("derive", "cohort")}
        for v in sensitivity_variants():
            _SOURCE[v] = sensitivity_source(config, v, own=variant_params(v), main=main)
    source = _SOURCE[wildcards.variant]
    files = {k: P(v) for k, v in SENSITIVITY_SOURCES[source].items()}
    if wildcards.variant != "main":
        files["in_reuse"] = P("sensitivity/main.blocks.json")
    return files


# Where this study's outputs go (config results_dir, processed_dir; by default
# results/<study id>/ and data/processed/<study id>/), so that two studies never mix.
RESULTS = config["results_dir"].rstrip("/")
PROCESSED = config["processed_dir"].rstrip("/")


def R(path):
    """A path under this study's results folder."""
    return f"{RESULTS}/{path}"


def P(path):
    """A path under this study's folder of private, patient-level intermediates."""
    return f"{PROCESSED}/{path}"


def centre_files():
    """Raw files of every centre (``file:`` or ``files:``): a changed file reruns ingestion.
    A mapping that cannot be read is reported by the ingest stage itself."""
    files = []
    for mapping in config["centres"]:
        try:
            with open(mapping, encoding="utf-8") as fh:
                m = (
                    yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                    or {}
                )
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(m, dict):
            specs = m.get("files") or [m]
            files += [s["file"] for s in specs if isinstance(s, dict) and "file" in s]
    return [f for f in files if os.path.isfile(f)]


def sensitivity_variants():
    """The main analysis and every configured variant (config ``sensitivity: variants:``)."""
    return ["main", *((config.get("sensitivity") or {}).get("variants") or {})]


def endpoint_ids():
    """The time-to-event endpoints of the study definition (study: endpoints:)."""
    return list(config["study"].get("endpoints") or {})


def _survival_figure(name, caption):
    return report(
        R(f"figures/{{endpoint}}_{name}.png"),
        caption=f"../report/{caption}",
        category="Survival",
        subcategory="{endpoint}",
    )


def survival_optional_outputs():
    """Survival outputs that only a study with a treatment (study: treatment:) or
    with pCR (analyses: pcr:) has, so that no other study's report holds them."""
    out = {}
    if config["study"].get("treatment"):
        out.update(
            out_iptw_html=report(
                R("tables/{endpoint}_iptw.html"),
                caption="../report/survival_iptw.rst",
                category="Survival",
                subcategory="{endpoint}",
            ),
            out_iptw_docx=R("tables/{endpoint}_iptw.docx"),
            out_iptw=R("tables/{endpoint}_iptw.csv"),
            out_balance=R("tables/{endpoint}_iptw_balance.csv"),
            out_treatment_png=_survival_figure("km_treatment", "survival_iptw.rst"),
            out_treatment_pdf=R("figures/{endpoint}_km_treatment.pdf"),
            out_love_png=_survival_figure("iptw_love", "survival_iptw.rst"),
            out_love_pdf=R("figures/{endpoint}_iptw_love.pdf"),
            out_iptw_png=_survival_figure("iptw_km", "survival_iptw.rst"),
            out_iptw_pdf=R("figures/{endpoint}_iptw_km.pdf"),
        )
    if analyses(config)["pcr"]:
        out.update(
            out_landmark=R("tables/{endpoint}_landmark_pcr.csv"),
            out_landmark_html=report(
                R("tables/{endpoint}_landmark_pcr.html"),
                caption="../report/survival_pcr.rst",
                category="Survival",
                subcategory="{endpoint}",
            ),
            out_landmark_docx=R("tables/{endpoint}_landmark_pcr.docx"),
            out_pcr_png=_survival_figure("km_pcr", "survival_pcr.rst"),
            out_pcr_pdf=R("figures/{endpoint}_km_pcr.pdf"),
        )
    return out


def followup_tables(wildcards=None):
    """The follow-up table of every endpoint, when the time-to-event analyses run."""
    if not analyses(config)["survival"]:
        return []
    return [R(f"tables/{e}_followup.csv") for e in endpoint_ids()]


def pcr_dose_figures(ext):
    """One dose-response figure per continuous predictor of pCR (config pcr.continuous)."""
    return expand(
        R(f"figures/pcr_dose_{{var}}.{ext}"),
        var=config["pcr"].get("continuous", []),
    )


def invitro_files():
    """Plate-reader files, plate maps and long tables of the in-vitro arm (a changed file
    reruns it); a missing one is reported by the stage itself."""
    files = []
    for spec in (config.get("invitro") or {}).get("inputs") or []:
        files += [spec[k] for k in ("file", "map") if isinstance(spec.get(k), str)]
    return [f for f in files if os.path.isfile(f)]


def invitro_summary(wildcards=None):
    """The in-vitro numbers the Results text reports, when the in-vitro arm runs."""
    return [R("invitro/summary.json")] if invitro_on(config) else []


def invitro_targets():
    """Outputs of the in-vitro arm (config ``analyses: invitro:``)."""
    if not invitro_on(config):
        return []
    tables = [
        "invitro_plate_qc",
        "invitro_ic50",
        "invitro_comparisons",
        "invitro_synergy",
    ]
    figures = ["invitro_plate_qc", "invitro_dose_response", "invitro_synergy"]
    return (
        [R(f"tables/{t}.{ext}") for t in tables for ext in ("csv", "docx", "html")]
        + [R(f"figures/{f}.{ext}") for f in figures for ext in ("png", "pdf")]
        + [
            R("tables/invitro_wells.csv"),
            R("tables/invitro_wells_accounting.html"),
            R("qc/invitro_problems.csv"),
            R("invitro/summary.json"),
        ]
    )


def analysis_targets():
    """Outputs of the enabled analyses (config ``analyses:``)."""
    on = analyses(config)
    targets = [
        R("config.yaml"),
        R("provenance.json"),
        R("summary.json"),
        R("manuscript.md"),
    ]
    if (config.get("sensitivity") or {}).get("variants"):
        targets += [R("tables/sensitivity.csv"), R("tables/sensitivity.html")]
    if on["table1"]:
        targets += [
            R("tables/table1.csv"),
            R("tables/table1.docx"),
            R("tables/table1.html"),
        ]
    if on["her2_loss"]:
        targets += [R(f"tables/her2_loss.{ext}") for ext in ("csv", "docx", "html")]
    if on["pcr"]:
        tables = ["pcr_rates", "pcr_logistic", "pcr_within_groups"]
        tables += ["pcr_continuous", "pcr_strata", "pcr_trend", "pcr_subgroups"]
        targets += [
            R(f"tables/{t}.{ext}") for t in tables for ext in ("csv", "docx", "html")
        ]
        targets += [
            R("tables/pcr_tests.csv"),
            R("tables/pcr_logistic_mi.csv"),
            R("figures/pcr_rates.png"),
            R("figures/pcr_forest.png"),
        ]
        targets += pcr_dose_figures("png")
    if on["survival"]:
        for e in endpoint_ids():
            targets += [
                R(f"tables/{e}_km.csv"),
                R(f"tables/{e}_logrank.csv"),
                R(f"tables/{e}_cox.csv"),
                R(f"figures/{e}_km.png"),
            ]
    return targets + invitro_targets()


def paper_tables(wildcards=None):
    """The HTML tables of this run (which depend on the study and its analyses)."""
    on = analyses(config)
    names = ["flow"]
    if on["table1"]:
        names.append("table1")
    if on["her2_loss"]:
        names.append("her2_loss")
    if on["pcr"]:
        names += ["pcr_rates", "pcr_logistic", "pcr_within_groups", "pcr_continuous"]
        names += ["pcr_strata", "pcr_trend", "pcr_subgroups"]
    if on["survival"]:
        for e in endpoint_ids():
            names += [f"{e}_summary", f"{e}_cox", f"{e}_rmst"]
            if config["study"].get("treatment"):
                names.append(f"{e}_iptw")
            if on["pcr"]:
                names.append(f"{e}_landmark_pcr")
    if (config.get("sensitivity") or {}).get("variants"):
        names.append("sensitivity")
    if invitro_on(config):
        names += ["invitro_wells_accounting", "invitro_plate_qc", "invitro_ic50"]
        names += ["invitro_comparisons", "invitro_synergy"]
    return [R(f"tables/{n}.html") for n in names]


def paper_figures(wildcards=None):
    """The PNG figures of this run."""
    on = analyses(config)
    names = ["flow_diagram"]
    if on["pcr"]:
        names += ["pcr_rates", "pcr_forest"]
        names += [f"pcr_dose_{v}" for v in config["pcr"].get("continuous", [])]
    if on["survival"]:
        for e in endpoint_ids():
            names += [f"{e}_km", f"{e}_cox_forest", f"{e}_cox_zph"]
            if config["study"].get("treatment"):
                names += [f"{e}_km_treatment", f"{e}_iptw_love", f"{e}_iptw_km"]
            if on["pcr"]:
                names.append(f"{e}_km_pcr")
    if invitro_on(config):
        names += ["invitro_plate_qc", "invitro_dose_response", "invitro_synergy"]
    return [R(f"figures/{n}.png") for n in names]
