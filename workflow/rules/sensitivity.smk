rule sensitivity:
    input:
        unpack(sensitivity_inputs),
    output:
        out_csv=R("sensitivity/{variant}.csv"),
        out_blocks=P("sensitivity/{variant}.blocks.json"),
    log:
        "logs/sensitivity_{variant}.log",
    # the main analysis' job first: the other variants take over its blocks of estimates
    priority: 1
    conda:
        "../envs/her2cohort.yaml"
    params:
        **{
            k: (lambda wc, k=k: sensitivity_param(wc.variant, k))
            for k in SENSITIVITY_KEYS
        },
        _code=code_version(),
    script:
        "../scripts/run_stage.py"
