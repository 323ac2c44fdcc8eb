rule invitro_fit:
    input:
        in_wells=R("tables/invitro_wells.csv"),
    output:
        out_ic50=R("tables/invitro_ic50.csv"),
        out_ic50_docx=R("tables/invitro_ic50.docx"),
        out_ic50_html=report(
            R("tables/invitro_ic50.html"),
            caption="../report/invitro_ic50.rst",
            category="In vitro",
            subcategory="Drug sensitivity",
        ),
        out_comparisons=R("tables/invitro_comparisons.csv"),
        out_comparisons_docx=R("tables/invitro_comparisons.docx"),
        out_comparisons_html=report(
            R("tables/invitro_comparisons.html"),
            caption="../report/invitro_ic50.rst",
            category="In vitro",
            subcategory="Drug sensitivity",
        ),
        out_synergy=R("tables/invitro_synergy.csv"),
        out_synergy_pairs=R("tables/invitro_synergy_pairs.csv"),
        out_synergy_docx=R("tables/invitro_synergy.docx"),
        out_synergy_html=report(
            R("tables/invitro_synergy.html"),
            caption="../report/invitro_synergy.rst",
            category="In vitro",
            subcategory="Combination",
        ),
        out_curves_png=report(
            R("figures/invitro_dose_response.png"),
            caption="../report/invitro_ic50.rst",
            category="In vitro",
            subcategory="Drug sensitivity",
        ),
        out_curves_pdf=R("figures/invitro_dose_response.pdf"),
        out_synergy_png=report(
            R("figures/invitro_synergy.png"),
            caption="../report/invitro_synergy.rst",
            category="In vitro",
            subcategory="Combination",
        ),
        out_synergy_pdf=R("figures/invitro_synergy.pdf"),
        out_summary=R("invitro/summary.json"),
    log:
        "logs/invitro_fit.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "invitro_fit"),
    script:
        "../scripts/run_stage.py"
