rule run_config:
    output:
        out_yaml=R("config.yaml"),
    log:
        "logs/run_config.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "run_config"),
    script:
        "../scripts/run_stage.py"
