rule table1:
    input:
        in_analysis="data/processed/analysis.parquet",
    output:
        out_csv="results/tables/table1.csv",
        out_docx="results/tables/table1.docx",
        out_html=report(
            "results/tables/table1.html",
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
