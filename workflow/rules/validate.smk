rule validate:
    input:
        in_parquet="data/processed/harmonized.parquet",
        in_ingest_problems="results/qc/ingest_problems.csv",
        mappings=config["centres"],
    output:
        out_parquet="data/processed/validated.parquet",
        out_quarantine="data/processed/quarantine.parquet",
        out_problems="results/qc/problems.csv",
        out_quarantine_csv="results/qc/quarantine.csv",
        out_qc_summary="results/qc/summary.csv",
        out_qc_summary_html=report(
            "results/qc/summary.html",
            caption="../report/problems.rst",
            category="Data quality",
        ),
    log:
        "logs/validate.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "validate"),
    script:
        "../scripts/run_stage.py"
