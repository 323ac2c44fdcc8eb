def _dose_figures(ext):
    """One dose-response figure per continuous predictor (config pcr.continuous)."""
    return expand(
        "results/figures/pcr_dose_{var}." + ext,
        var=config["pcr"].get("continuous", []),
    )


rule response:
    input:
        in_analysis="data/processed/analysis.parquet",
    output:
        out_rates=report(
            "results/tables/pcr_rates.csv",
            caption="../report/pcr.rst",
            category="Response",
        ),
        out_tests="results/tables/pcr_tests.csv",
        out_rates_docx="results/tables/pcr_rates.docx",
        out_rates_html=report(
            "results/tables/pcr_rates.html",
            caption="../report/pcr.rst",
            category="Response",
        ),
        out_her2_loss=report(
            "results/tables/her2_loss.csv",
            caption="../report/her2_loss.rst",
            category="Response",
        ),
        out_her2_loss_docx="results/tables/her2_loss.docx",
        out_her2_loss_html="results/tables/her2_loss.html",
        out_png=report(
            "results/figures/pcr_rates.png",
            caption="../report/pcr.rst",
            category="Response",
        ),
        out_pdf="results/figures/pcr_rates.pdf",
        out_logistic=report(
            "results/tables/pcr_logistic.csv",
            caption="../report/pcr_logistic.rst",
            category="Response",
        ),
        out_logistic_docx="results/tables/pcr_logistic.docx",
        out_logistic_html="results/tables/pcr_logistic.html",
        out_mi="results/tables/pcr_logistic_mi.csv",
        out_within=report(
            "results/tables/pcr_within_groups.csv",
            caption="../report/pcr_within.rst",
            category="Response",
        ),
        out_within_docx="results/tables/pcr_within_groups.docx",
        out_within_html="results/tables/pcr_within_groups.html",
        out_continuous=report(
            "results/tables/pcr_continuous.csv",
            caption="../report/pcr_continuous.rst",
            category="Response",
        ),
        out_continuous_docx="results/tables/pcr_continuous.docx",
        out_continuous_html="results/tables/pcr_continuous.html",
        out_dose_png=_dose_figures("png"),
        out_dose_pdf=_dose_figures("pdf"),
        out_strata=report(
            "results/tables/pcr_strata.csv",
            caption="../report/pcr_strata.rst",
            category="Response",
        ),
        out_strata_docx="results/tables/pcr_strata.docx",
        out_strata_html="results/tables/pcr_strata.html",
        out_trend=report(
            "results/tables/pcr_trend.csv",
            caption="../report/pcr_trend.rst",
            category="Response",
        ),
        out_trend_docx="results/tables/pcr_trend.docx",
        out_trend_html="results/tables/pcr_trend.html",
        out_subgroups=report(
            "results/tables/pcr_subgroups.csv",
            caption="../report/pcr_subgroups.rst",
            category="Response",
        ),
        out_subgroups_docx="results/tables/pcr_subgroups.docx",
        out_subgroups_html="results/tables/pcr_subgroups.html",
        out_forest_png=report(
            "results/figures/pcr_forest.png",
            caption="../report/pcr_subgroups.rst",
            category="Response",
        ),
        out_forest_pdf="results/figures/pcr_forest.pdf",
    log:
        "logs/response.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "response"),
    script:
        "../scripts/run_stage.py"
