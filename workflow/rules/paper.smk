# The paper as one document (stages/paper.py): every table and figure this study's run
# writes (paper_tables, paper_figures in common.smk), in manuscript order, with the Methods
# and the Results text.
rule paper:
    input:
        in_tables=paper_tables,
        in_figures=paper_figures,
        in_manuscript=R("manuscript.md"),
        in_summary=R("summary.json"),
        in_provenance=R("provenance.json"),
    output:
        out_html=report(
            R("paper.html"),
            caption="../report/paper.rst",
            category="Manuscript",
        ),
        out_docx=R("manuscript.docx"),
    log:
        "logs/paper.log",
    conda:
        "../envs/her2cohort.yaml"
    params:
        **rule_params(config, "paper"),
    script:
        "../scripts/run_stage.py"
