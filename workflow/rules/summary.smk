rule summary:
    input:
        in_headline=R("sensitivity/main.csv"),
        in_flow=R("tables/flow.csv"),
        in_analysis=P("analysis.parquet"),
        in_followup=followup_tables,
        in_invitro=invitro_summary,
    output:
        out_json=R("summary.json"),
        out_md=report(
            R("manuscript.md"),
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
