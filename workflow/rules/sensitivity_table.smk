rule sensitivity_table:
    input:
        in_variants=expand(
            "results/sensitivity/{variant}.csv", variant=sensitivity_variants()
        ),
    output:
        out_csv="results/tables/sensitivity.csv",
        out_html=report(
            "results/tables/sensitivity.html",
            caption="../report/sensitivity.rst",
            category="Sensitivity",
        ),
        out_docx="results/tables/sensitivity.docx",
    log:
        "logs/sensitivity_table.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "sensitivity_table"),
    script:
        "../scripts/run_stage.py"
