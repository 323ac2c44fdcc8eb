rule her2_loss:
    input:
        in_analysis=P("analysis.parquet"),
    output:
        out_csv=R("tables/her2_loss.csv"),
        out_docx=R("tables/her2_loss.docx"),
        out_html=report(
            R("tables/her2_loss.html"),
            caption="../report/her2_loss.rst",
            category="Response",
        ),
    log:
        "logs/her2_loss.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "her2_loss"),
    script:
        "../scripts/run_stage.py"
