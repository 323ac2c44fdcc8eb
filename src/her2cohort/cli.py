"""Command line: ``her2cohort simulate`` writes the demo cohort; ``her2cohort check`` reads and
validates the centre files named in a config and reports every problem (exit status 0 = usable,
1 = problems that stop the pipeline, 2 = configuration or mapping error).

The full analysis runs through Snakemake (``snakemake --cores 2``)."""

from __future__ import annotations

import argparse
import os
import sys


# the example studies of the study definition (demo/studies.py); kept here so that the
# parser does not import the simulators
STUDY_SHAPES = ("her2low_registry", "three_arm_trial", "status_only")


def _simulate(args) -> int:
    if args.patients is not None:
        from .demo.registry import simulate_registry

        outdir = args.outdir or f"data/bench/registry_{args.patients}"
        cfg = simulate_registry(outdir, args.patients, args.centres, args.format,
                                seed=20251203 if args.seed is None else args.seed)
        print(f"SIMULATED registry: {args.patients} patients in {args.centres} {args.format} "
              f"centre file(s) under {outdir}; run: snakemake --cores 2 --configfile {cfg}")
        return 0
    if args.shape in STUDY_SHAPES:
        from .demo.studies import SIMULATED_NOTE as NOTE
        from .demo.studies import simulate_study

        outdir = args.outdir or f"data/examples/{args.shape}"
        truth = simulate_study(args.shape, outdir, seed=args.seed)
        note = NOTE.format(shape=args.shape)
    elif args.shape != "demo":
        from .demo.shapes import SIMULATED_NOTE as NOTE
        from .demo.shapes import simulate_shape

        outdir = args.outdir or f"data/examples/{args.shape}"
        truth = simulate_shape(args.shape, outdir, seed=args.seed)
        note = NOTE.format(shape=args.shape)
    else:
        from .demo.simulate import SIMULATED_NOTE, simulate

        outdir = args.outdir or "data/demo"
        truth = simulate(outdir, seed=20250301 if args.seed is None else args.seed)
        note = SIMULATED_NOTE
    counts = truth["disposition"].value_counts()
    print(f"{note}\nwrote {len(truth)} records to {outdir}/raw "
          f"({', '.join(f'{k} {v}' for k, v in counts.items())}); truth in "
          f"{outdir}/truth/")
    return 0


def _support_lines(cfg: dict, needs: list[dict]) -> list[str]:
    """Per centre: the analyses its mapping supports, and why not the others."""
    from .data.mapping import load_mapping
    from .data.needs import describe_forms, split_needs
    from .stages.params import analyses

    on = []
    for a, enabled in analyses(cfg).items():
        if enabled and a == "survival":  # one analysis per endpoint, as the run reports them
            on += [f"survival ({e.get('abbreviation', eid)})"
                   for eid, e in (cfg["study"].get("endpoints") or {}).items()]
        elif enabled:
            on.append(a)
    lines = [("Analyses each centre's data support (config analyses: "
             f"{', '.join(on) or 'none'}):")]
    for mp in cfg["centres"]:
        m = load_mapping(mp)
        _, unsupported = split_needs(needs, set(m["columns"]), set(m.get("not_recorded") or []))
        lost: dict[str, list[str]] = {}
        for need in unsupported:
            for by in need["by"]:
                declared = sorted({f for form in need["forms"] for f in form}
                                  & set(m.get("not_recorded") or []))
                lost.setdefault(by, []).append(
                    f"{need['fact']} (declared not recorded: {', '.join(declared)}; "
                    f"it needs {describe_forms(need)})")
        ok = [a for a in on if a not in lost]
        lines.append(f"  {m['centre']}: {', '.join(ok) if ok else 'no analysis'}")
        for by, facts in sorted(lost.items()):
            what = "its patients are left out of" if by in on else "not recorded for"
            lines.append(f"    {what} {by}: not recorded: {'; '.join(facts)}")
    return lines


def _check(args) -> int:
    import pandas as pd

    from .data.config import ConfigError, salt, vocabularies
    from .data.ingest import ingest
    from .data.mapping import MappingError
    from .data.problems import format_report, quarantine_reasons, resolve_actions
    from .stages.params import load_study_config, stage_params
    from .stages.validate import validate_with_config

    try:
        cfg = load_study_config(args.config)
        if args.centre:
            cfg["centres"] = list(args.centre)
        needs = stage_params(cfg, "ingest")["required"]
        from .data.safety import data_dirs
        df, problems = ingest(cfg["centres"], salt=salt(cfg), vocabularies=vocabularies(cfg),
                              required=needs, data_dirs=data_dirs(cfg))
        resolve_actions(problems, cfg["qc"]["actions"])
        print("\n".join(_support_lines(cfg, needs)))
        if not any(p.action == "fail" for p in problems) and len(df):
            # records ingest already sends to quarantine (a cell not readable, a record of a
            # multi-file centre without its partner) are counted, not validated, as the
            # pipeline does
            reasons = quarantine_reasons(problems)
            keys = pd.MultiIndex.from_arrays([df["source_file"].astype(str),
                                              df["source_row"].astype(int)])
            pre = pd.Series(keys.isin(list(reasons)) if reasons else False, index=df.index)
            clean, quarantined, vprobs = validate_with_config(df.loc[~pre], cfg)
            problems += vprobs
            n_q = int(pre.sum()) + len(quarantined)
            print(f"{len(df)} records read; {n_q} would be quarantined.")
            if len(clean) == 0:
                print("warning: no record would pass validation, so nothing would be "
                      "analysed; see the problems below.")
        elif any(p.action == "fail" for p in problems):
            print("Record checks (ranges, date order, duplicates, consistency) were not run: "
                  "the [fail] problems below stop the pipeline at reading. Fix them and run "
                  "check again to see the rest.")
    except (ConfigError, MappingError) as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # handled in main(): the reader of a pipe left
    except Exception as e:  # no traceback for any input; HER2COHORT_DEBUG=1 shows it
        if os.environ.get("HER2COHORT_DEBUG"):
            raise
        from .data.safety import redact_text

        print(f"check: unexpected error ({type(e).__name__}: {redact_text(str(e))}); please "
              "report it with the output of HER2COHORT_DEBUG=1 her2cohort check",
              file=sys.stderr)
        return 1
    failing = any(p.action == "fail" for p in problems)
    table = None
    if args.problems:
        table = _write_problems_table(problems, args.problems)
        if table is None:
            return 2
    # at the user's desk: codes shown as they are (identifiers, dates never); the stages'
    # summaries go to logs/ and follow the rule for files
    report = format_report(problems, "check", limit=args.limit, verbatim=True, table=table)
    print(report, file=sys.stderr if failing else sys.stdout)
    if table:
        print(f"problems table ({len(problems)} row(s)): {args.problems}",
              file=sys.stderr if failing else sys.stdout)
    return 1 if failing else 0


def _write_problems_table(problems: list, path: str) -> str | None:
    """``check --problems FILE``: every problem, one row each (file, row, pseudonymous patient
    key, column, value, rule, action, message), as the pipeline writes results/<study>/qc/
    problems.csv: values redacted by the rule for files (data/safety.py: identifiers never,
    dates and free text by their shape) and no cell a spreadsheet would run as a formula.
    Returns the phrase naming the table, or None (after a message) when it cannot be written."""
    from .data.problems import to_frame
    from .stages.common import write_csv

    try:
        write_csv(to_frame(problems), path)
    except OSError as e:
        print(f"check: cannot write the problems table {path}: {e.strerror or e}",
              file=sys.stderr)
        return None
    return f"the problems table {path}"


# --- the console of a pipeline run (Snakefile onstart / onsuccess / onerror) ------------------

# Snakemake log events kept off the console during a run (they stay in .snakemake/log/): the
# per-job banners, shell commands ("Shell command: None" for a script rule), "Select jobs to
# execute...", "Execute 1 jobs...", finished jobs and the "n of N steps" progress
_QUIET_EVENTS = ("job_info", "shellcmd", "job_started", "job_finished", "progress",
                 "resources_info", "group_info")


def quiet_console() -> bool:
    """From the Snakefile's ``onstart`` (a real run, not a dry run): Snakemake's console handler
    stops printing per-job chatter; errors, warnings and what each stage sends to the console
    (problem lines, workflow/scripts/run_stage.py) still appear, and the complete log keeps
    everything. HER2COHORT_VERBOSE=1 leaves the console as it is. True when installed."""
    if os.environ.get("HER2COHORT_VERBOSE", "") not in ("", "0"):
        return False
    try:
        from snakemake.logging import logger
    except ImportError:  # pragma: no cover - only called from a Snakefile
        return False

    def keep(record) -> bool:
        if str(getattr(record, "event", "") or "") in _QUIET_EVENTS:
            return False
        return not str(record.msg).startswith("Select jobs to execute")

    installed = False
    for handler in logger.handlers:
        if handler.name == "DefaultStreamHandler":
            handler.addFilter(keep)
            installed = True
    return installed


def _n(x) -> str:
    return f"{int(x):,}".replace(",", " ") if x is not None else "?"


def run_summary(results_dir: str, log_dir: str = "logs") -> str:
    """The short summary a successful run ends with: records read, quarantined, excluded and
    analysed (results/<study>/summary.json, else tables/flow.csv), problems kept by action,
    where the outputs are, and the report command."""
    import csv
    import json
    from collections import Counter
    from pathlib import Path

    res = Path(results_dir)
    flow: dict = {}
    simulated = False
    try:
        summary = json.loads((res / "summary.json").read_text("utf-8"))
        flow, simulated = summary.get("flow") or {}, bool(summary.get("simulated"))
    except (OSError, ValueError):
        pass
    if not flow and (res / "tables/flow.csv").exists():
        with open(res / "tables/flow.csv", encoding="utf-8", newline="") as f:
            steps = list(csv.DictReader(f))
        if steps:
            flow = {"received": steps[0]["n_after"],
                    "quarantined": sum(int(s["n_excluded"]) for s in steps
                                       if s["kind"] == "quarantine"),
                    "excluded": sum(int(s["n_excluded"]) for s in steps
                                    if s["kind"] == "exclude"),
                    "analysed": steps[-1]["n_after"]}
    lines = ["her2cohort: the run finished." + (" SIMULATED data." if simulated else "")]
    if flow:
        centres = f" from {flow['centres']} centre(s)" if flow.get("centres") else ""
        lines.append(f"  {_n(flow.get('received'))} records read{centres}; "
                     f"{_n(flow.get('quarantined'))} quarantined for data defects, "
                     f"{_n(flow.get('excluded'))} excluded by the eligibility criteria, "
                     f"{_n(flow.get('analysed'))} analysed.")
    problems = res / "qc/problems.csv"
    if problems.exists():
        with open(problems, encoding="utf-8", newline="") as f:
            by_action = Counter(row.get("action", "") for row in csv.DictReader(f))
        if by_action:
            said = ", ".join(f"{n} {a}" for a, n in sorted(by_action.items()))
            lines.append(f"  Data problems: {said} (one row each: {problems}; records set "
                         f"aside: {res / 'qc/quarantine.csv'}).")
    if (res / "paper.html").exists():
        lines.append(f"  The paper: {res / 'paper.html'} (open in a browser) and "
                     f"{res / 'manuscript.docx'} (Word).")
    lines.append(f"  Outputs: {res}/ (tables/, figures/, manuscript.md, summary.json); each "
                 f"step's full output: {log_dir}/<step>.log.")
    lines.append(f"  Provenance report (every output with the rule and code behind it): "
                 f"snakemake --report {res}/report.html")
    return "\n".join(lines)


def _fields(args) -> int:
    from .data.config import ConfigError
    from .stages.params import load_study_config
    from .study.requirements import fields_markdown

    try:
        print(fields_markdown(load_study_config(args.config)), end="")
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = argparse.ArgumentParser(prog="her2cohort", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("simulate", help="write a SIMULATED cohort (deterministic)")
    p.add_argument("--shape", choices=("demo", "trial", "registry", *STUDY_SHAPES),
                   default="demo",
                   help="demo: five hospital exports (data/demo); trial: one pCR-only trial "
                        "export; registry: baseline + outcomes files keyed by patient ID; "
                        "her2low_registry: adjuvant HER2-low vs HER2-0 registry, one file with "
                        "six sites; three_arm_trial: trastuzumab / lapatinib / both, pCR and "
                        "EFS; status_only: HER2 final status only, pCR and RFS "
                        "(data/examples/<shape>)")
    p.add_argument("--outdir", default=None,
                   help="output folder (default data/demo or data/examples/<shape>)")
    p.add_argument("--seed", type=int, default=None, help="default: the shape's own seed")
    p.add_argument("--patients", type=int, default=None,
                   help="a registry-sized delivery of this many patients instead of a shape "
                        "(the demo's study and clinical structure; data/bench/registry_<N>)")
    p.add_argument("--centres", type=int, default=4, help="centre files (with --patients)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv",
                   help="centre file format (with --patients)")
    p.set_defaults(func=_simulate)
    p = sub.add_parser("check", help="read and validate the centre files, report all problems")
    p.add_argument("--config", default="config/config.yaml")
    p.add_argument("--centre", action="append",
                   help="check only this centre mapping (repeatable)")
    p.add_argument("--limit", type=int, default=40,
                   help="lines of problems listed in detail (a column failing one rule on "
                        "many rows is one line)")
    p.add_argument("--problems", metavar="FILE", default=None,
                   help="write every problem, one row each, to this CSV (values redacted as "
                        "in results/qc/problems.csv; safe to open in a spreadsheet)")
    p.set_defaults(func=_check)
    p = sub.add_parser("fields", help="the canonical fields and which analyses need them")
    p.add_argument("--config", default="config/config.yaml")
    p.set_defaults(func=_fields)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `her2cohort check | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        if argv is None:  # the command itself, not a caller in the same process (tests)
            import gc

            # what the command built is left out of the garbage collector's later passes:
            # the interpreter's teardown at exit would walk it all again (about 0.4 s)
            gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
