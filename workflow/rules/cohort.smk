rule cohort:
    input:
        in_derived="data/processed/derived.parquet",
        in_quarantine="data/processed/quarantine.parquet",
    output:
        out_analysis="data/processed/analysis.parquet",
        out_dispositions="data/processed/dispositions.parquet",
        out_flow="results/tables/flow.csv",
        out_flow_html=report(
            "results/tables/flow.html",
            caption="../report/flow.rst",
            category="Cohort",
        ),
        out_analyses="results/tables/analyses.csv",
        out_flow_png=report(
            "results/figures/flow_diagram.png",
            caption="../report/flow.rst",
            category="Cohort",
        ),
        out_flow_pdf="results/figures/flow_diagram.pdf",
    log:
        "logs/cohort.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "cohort"),
    script:
        "../scripts/run_stage.py"
