# her2cohort: reproducible analysis of a multicentre neoadjuvant HER2-positive cohort.
# Run: snakemake --cores 2   (bundled SIMULATED demo data by default)
# Stages: ingest -> validate -> derive -> cohort -> table1 | response | survival

import gc

# What Snakemake has built so far (its modules and plugins, pandas: some 140,000 objects) is
# left out of the garbage collector's later passes: the interpreter's teardown at exit would
# otherwise walk them all again (0.35 s of a run with nothing to do; benchmarks/bench_demo.py).
gc.freeze()

# The study config by default; `--configfile other.yaml` replaces it instead of merging into it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/derive.smk"
include: "workflow/rules/cohort.smk"
include: "workflow/rules/table1.smk"
include: "workflow/rules/response.smk"
include: "workflow/rules/her2_loss.smk"
include: "workflow/rules/survival.smk"
include: "workflow/rules/run_config.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/sensitivity_table.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/invitro_plates.smk"
include: "workflow/rules/invitro_fit.smk"


# A quiet console (profiles/default: no host banner, no shell commands): per-job banners and
# progress go to the complete log only; problem lines, warnings and errors still appear, and a
# short summary ends the run. HER2COHORT_VERBOSE=1 shows everything.
# The jobs of a local run fork from one process that has imported the scientific stack once
# (her2cohort.stages.warm; HER2COHORT_WARM=0 turns it off; not with --sdm conda/apptainer,
# whose jobs run their rule's own Python).
onstart:
    from her2cohort.cli import quiet_console
    from her2cohort.stages import warm

    quiet_console()
    warm.start(workflow.local_exec, workflow.deployment_settings.deployment_method)


onsuccess:
    from her2cohort.cli import run_summary
    from her2cohort.stages import warm

    warm.stop()
    # outputs of a removed sensitivity variant, endpoint or analysis are not left behind
    remove_stale_outputs(config)
    print(run_summary(RESULTS), flush=True)


onerror:
    from her2cohort.stages import warm

    warm.stop()
    print(
        "her2cohort: the run stopped. The [fail] lines and the error above say why; each "
        "step's full output is in logs/<step>.log. To list every data problem at once: "
        f"her2cohort check --config {(workflow.configfiles or ['config/config.yaml'])[0]} "
        "--problems problems.csv",
        flush=True,
    )


rule all:
    default_target: True
    input:
        R("qc/problems.csv"),
        R("qc/quarantine.csv"),
        R("qc/summary.html"),
        R("tables/flow.csv"),
        R("tables/flow.html"),
        R("tables/analyses.csv"),
        R("figures/flow_diagram.png"),
        analysis_targets(),
        R("paper.html"),
        R("manuscript.docx"),
