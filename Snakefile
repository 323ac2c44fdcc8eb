# her2cohort: reproducible analysis of a multicentre neoadjuvant HER2-positive cohort.
# Run: snakemake --cores 2   (bundled SIMULATED demo data by default)
# Stages: ingest -> validate -> derive -> cohort -> table1 | response | survival


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/derive.smk"
include: "workflow/rules/cohort.smk"
include: "workflow/rules/table1.smk"
include: "workflow/rules/response.smk"
include: "workflow/rules/survival.smk"


rule all:
    default_target: True
    input:
        "results/qc/problems.csv",
        "results/qc/quarantine.csv",
        "results/tables/flow.csv",
        "results/figures/flow_diagram.png",
        "results/tables/table1.csv",
        "results/tables/table1.docx",
        "results/tables/pcr_rates.csv",
        "results/tables/pcr_tests.csv",
        "results/tables/her2_loss.csv",
        "results/figures/pcr_rates.png",
        "results/tables/dfs_km.csv",
        "results/tables/dfs_logrank.csv",
        "results/tables/dfs_cox.csv",
        "results/figures/dfs_km.png",
