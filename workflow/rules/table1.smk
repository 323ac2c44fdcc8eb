rule table1:
    input:
        in_analysis=P("analysis.parquet"),
    output:
        out_csv=R("tables/table1.csv"),
        out_docx=R("tables/table1.docx"),
        out_html=report(
            R("tables/table1.html"),
            caption="../report/table1.rst",
            category="Baseline",
        ),
    log:
        "logs/table1.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "table1"),
    script:
        "../scripts/run_stage.py"
