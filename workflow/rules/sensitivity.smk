rule sensitivity:
    input:
        in_validated="data/processed/validated.parquet",
        in_quarantine="data/processed/quarantine.parquet",
    output:
        out_csv="results/sensitivity/{variant}.csv",
    log:
        "logs/sensitivity_{variant}.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        variant=lambda wc: wc.variant,
        config=lambda wc: variant_config(config, wc.variant),
        _code=code_version(),
    script:
        "../scripts/run_stage.py"
