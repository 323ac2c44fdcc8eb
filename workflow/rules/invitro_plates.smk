rule invitro_plates:
    input:
        invitro_files(),
    output:
        out_wells=R("tables/invitro_wells.csv"),
        out_problems=R("qc/invitro_problems.csv"),
        out_qc=R("tables/invitro_plate_qc.csv"),
        out_qc_docx=R("tables/invitro_plate_qc.docx"),
        out_qc_html=report(
            R("tables/invitro_plate_qc.html"),
            caption="../report/invitro_qc.rst",
            category="In vitro",
            subcategory="Plates",
        ),
        out_accounting=R("tables/invitro_wells_accounting.csv"),
        out_accounting_html=report(
            R("tables/invitro_wells_accounting.html"),
            caption="../report/invitro_qc.rst",
            category="In vitro",
            subcategory="Plates",
        ),
        out_qc_png=report(
            R("figures/invitro_plate_qc.png"),
            caption="../report/invitro_qc.rst",
            category="In vitro",
            subcategory="Plates",
        ),
        out_qc_pdf=R("figures/invitro_plate_qc.pdf"),
    log:
        "logs/invitro_plates.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "invitro_plates"),
    script:
        "../scripts/run_stage.py"
