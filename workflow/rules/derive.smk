rule derive:
    input:
        in_parquet=P("validated.parquet"),
    output:
        out_parquet=P("derived.parquet"),
    log:
        "logs/derive.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "derive"),
    script:
        "../scripts/run_stage.py"
