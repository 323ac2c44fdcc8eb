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
        **{
            k: (lambda wc, k=k: sensitivity_params(config, wc.variant)[k])
            for k in SENSITIVITY_KEYS
        },
        _code=code_version(),
    script:
        "../scripts/run_stage.py"
