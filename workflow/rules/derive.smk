rule derive:
    input:
        in_parquet="data/processed/validated.parquet",
    output:
        out_parquet="data/processed/derived.parquet",
    log:
        "logs/derive.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "derive"),
    script:
        "../scripts/run_stage.py"
