rule sensitivity_table:
    input:
        in_variants=expand(
            R("sensitivity/{variant}.csv"), variant=sensitivity_variants()
        ),
    output:
        out_csv=R("tables/sensitivity.csv"),
        out_html=report(
            R("tables/sensitivity.html"),
            caption="../report/sensitivity.rst",
            category="Sensitivity",
        ),
        out_docx=R("tables/sensitivity.docx"),
    log:
        "logs/sensitivity_table.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "sensitivity_table"),
    script:
        "../scripts/run_stage.py"
