rule cohort:
    input:
        in_derived=P("derived.parquet"),
        in_quarantine=P("quarantine.parquet"),
    output:
        out_analysis=P("analysis.parquet"),
        out_dispositions=P("dispositions.parquet"),
        out_flow=R("tables/flow.csv"),
        out_flow_html=report(
            R("tables/flow.html"),
            caption="../report/flow.rst",
            category="Cohort",
        ),
        out_analyses=R("tables/analyses.csv"),
        out_flow_png=report(
            R("figures/flow_diagram.png"),
            caption="../report/flow.rst",
            category="Cohort",
        ),
        out_flow_pdf=R("figures/flow_diagram.pdf"),
    log:
        "logs/cohort.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "cohort"),
    script:
        "../scripts/run_stage.py"
