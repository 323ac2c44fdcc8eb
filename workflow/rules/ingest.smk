rule ingest:
    input:
        mappings=config["centres"],
        raw=centre_files(),
    output:
        out_parquet=P("harmonized.parquet"),
        out_problems=R("qc/ingest_problems.csv"),
    log:
        "logs/ingest.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "ingest"),
    script:
        "../scripts/run_stage.py"
