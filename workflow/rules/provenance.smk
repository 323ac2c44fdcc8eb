rule provenance:
    input:
        in_mappings=config["centres"],
        in_raw=centre_files(),
    output:
        out_json=R("provenance.json"),
    log:
        "logs/provenance.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "provenance"),
        # a new commit or a dirty tree reruns this rule (read when the workflow is parsed)
        git=git_state(),
    script:
        "../scripts/run_stage.py"
