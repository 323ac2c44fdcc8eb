rule summary:
    input:
        in_headline="results/sensitivity/main.csv",
        in_flow="results/tables/flow.csv",
        in_analysis="data/processed/analysis.parquet",
        in_followup=followup_tables,
    output:
        out_json="results/summary.json",
        out_md=report(
            "results/manuscript.md",
            caption="../report/manuscript.rst",
            category="Manuscript",
        ),
    log:
        "logs/summary.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "summary"),
    script:
        "../scripts/run_stage.py"
