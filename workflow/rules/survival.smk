rule survival:
    input:
        in_analysis="data/processed/analysis.parquet",
    output:
        out_km="results/tables/dfs_km.csv",
        out_landmarks="results/tables/dfs_landmarks.csv",
        out_logrank="results/tables/dfs_logrank.csv",
        out_cox=report(
            "results/tables/dfs_cox.csv",
            caption="../report/dfs.rst",
            category="Survival",
        ),
        out_followup="results/tables/followup.csv",
        out_png=report(
            "results/figures/dfs_km.png",
            caption="../report/dfs.rst",
            category="Survival",
        ),
        out_pdf="results/figures/dfs_km.pdf",
    log:
        "logs/survival.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "survival"),
    script:
        "../scripts/run_stage.py"
