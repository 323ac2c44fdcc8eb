rule validate:
    input:
        in_parquet=P("harmonized.parquet"),
        in_ingest_problems=R("qc/ingest_problems.csv"),
        mappings=config["centres"],
    output:
        out_parquet=P("validated.parquet"),
        out_quarantine=P("quarantine.parquet"),
        out_problems=R("qc/problems.csv"),
        out_quarantine_csv=R("qc/quarantine.csv"),
        out_qc_summary=R("qc/summary.csv"),
        out_qc_summary_html=report(
            R("qc/summary.html"),
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
