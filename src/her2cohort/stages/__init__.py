"""Pipeline stages: file in, file out. Each Snakemake rule calls one of these through
``workflow/scripts/run_stage.py``; the CLI calls them too. All statistics live in the modules
they import; a stage only reads, calls and writes.

Private, patient-level intermediates (Parquet, pseudonymous keys) go to ``data/processed/``;
``results/`` receives aggregates only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from ..data.problems import InputError, format_report, raise_if_failing, to_frame

TABLE_FOOTNOTE_SIMULATED = "SIMULATED demo data: no real patient is represented."


def _write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Deterministic CSV: fixed float format, LF line ends, no index."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")


def _write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)


def _write_problems(table: pd.DataFrame, path: str | Path, failing: bool) -> None:
    """Write the problems table. When the stage fails, Snakemake deletes the declared output,
    so a copy is kept next to it as <name>_FAILED.csv and its path is printed."""
    _write_csv(table, path)
    failed = Path(path).with_name(Path(path).stem + "_FAILED.csv")
    if failing:
        _write_csv(table, failed)
        print(f"full problems table: {failed}")
    elif failed.exists():
        failed.unlink()


def _simulated_note(cfg: dict) -> list[str]:
    return [TABLE_FOOTNOTE_SIMULATED] if cfg["study"].get("simulated") else []


def _figure_note(cfg: dict) -> str:
    """Line added to figure annotations when the data are simulated."""
    return "\nSIMULATED demo data" if cfg["study"].get("simulated") else ""


# --- data stages ------------------------------------------------------------------------------

def ingest_stage(cfg: dict, *, out_parquet, out_problems) -> None:
    from ..data.config import salt, vocabularies
    from ..data.ingest import ingest
    from ..data.problems import quarantine_reasons, resolve_actions

    df, problems = ingest(cfg["centres"], salt=salt(cfg), vocabularies=vocabularies(cfg))
    resolve_actions(problems, cfg["qc"]["actions"])
    print(format_report(problems, "ingest"))
    _write_problems(to_frame(problems), out_problems,
                    any(p.action == "fail" for p in problems))
    raise_if_failing(problems, "ingest")
    reasons = quarantine_reasons(problems)
    if reasons:  # a cell could not be read; the row goes to quarantine with its reason
        keys = zip(df["source_file"].astype(str), df["source_row"].astype(int))
        df["_ingest_reason"] = [";".join(reasons.get(k, [])) for k in keys]
    _write_parquet(df, out_parquet)
    print(f"ingest: {len(df)} records from {df['centre'].nunique()} centre(s) -> {out_parquet}")


def validate_with_config(df: pd.DataFrame, cfg: dict):
    """Run validation with the study config: centre column names, vocabularies, rule actions."""
    from ..data.config import data_lock, vocabularies
    from ..data.ingest import load_mapping
    from ..data.validate import validate
    from ..study.checks import domain_rules

    cols_by_centre = {}
    for mp in cfg["centres"]:
        m = load_mapping(mp)
        cols_by_centre[m["centre"]] = m["columns"]
    return validate(
        df, columns_by_centre=cols_by_centre, vocabularies=vocabularies(cfg),
        data_lock=data_lock(cfg), age_range=tuple(cfg["qc"]["age_range"]),
        actions=cfg["qc"]["actions"],
        extra_rules=domain_rules(str(cfg["her2"]["guideline"])))


def validate_stage(cfg: dict, *, in_parquet, in_ingest_problems, out_parquet, out_quarantine,
                   out_problems, out_quarantine_csv) -> None:
    df = pd.read_parquet(in_parquet)
    pre_q = pd.DataFrame()
    if "_ingest_reason" in df:
        bad = df["_ingest_reason"].fillna("") != ""
        pre_q = df.loc[bad, ["centre", "source_file", "source_row", "patient_key",
                             "_ingest_reason"]].rename(columns={"_ingest_reason": "reason"})
        df = df.loc[~bad].drop(columns="_ingest_reason")
    clean, quarantined, problems = validate_with_config(df, cfg)
    if len(pre_q):
        quarantined = pd.concat([pre_q, quarantined], ignore_index=True)
    ingest_problems = pd.read_csv(in_ingest_problems, dtype=str, keep_default_na=False)
    parts = [t for t in (ingest_problems, to_frame(problems).astype("string").fillna(""))
             if len(t)]
    table = pd.concat(parts, ignore_index=True) if parts else ingest_problems
    print(format_report(problems, "validate"))
    _write_problems(table, out_problems, any(p.action == "fail" for p in problems))
    raise_if_failing(problems, "validate")
    _write_parquet(clean, out_parquet)
    _write_parquet(quarantined, out_quarantine)
    q = quarantined.drop(columns=["centre"]).rename(columns={"source_row": "row",
                                                             "source_file": "file"})
    _write_csv(q.sort_values(["file", "row"], kind="mergesort"), out_quarantine_csv)
    print(f"validate: {len(clean)} records pass, {len(quarantined)} quarantined")


def derive_stage(cfg: dict, *, in_parquet, out_parquet) -> None:
    from ..study.derive import derive

    df = pd.read_parquet(in_parquet)
    _write_parquet(derive(df, cfg), out_parquet)


def cohort_stage(cfg: dict, *, in_derived, in_quarantine, out_analysis, out_dispositions,
                 out_flow, out_flow_png, out_flow_pdf) -> None:
    from ..data.validate import check_analysis
    from ..render.figures import flow_diagram, save_figure
    from ..study.cohort import apply_criteria

    derived = pd.read_parquet(in_derived)
    quarantined = pd.read_parquet(in_quarantine)
    analysed, dispositions, flow = apply_criteria(derived, quarantined, cfg["criteria"])
    g = cfg["groups"]
    check_analysis(analysed, g["column"], g["levels"])
    _write_parquet(analysed, out_analysis)
    _write_parquet(dispositions, out_dispositions)
    _write_csv(flow, out_flow)
    counts = analysed[g["column"]].value_counts()
    final = [(g["labels"].get(lv, lv), int(counts.get(lv, 0))) for lv in g["levels"]]
    n_centres = derived["centre"].nunique()
    title = "Flow of records" + (" (SIMULATED demo data)" if cfg["study"]["simulated"] else "")
    flow_fig = flow.copy()
    flow_fig.loc[flow_fig["kind"] == "start", "label"] = f"Records received from {n_centres} centres"
    fig = flow_diagram(flow_fig, final, title=title)
    save_figure(fig, out_flow_png, out_flow_pdf)
    print(flow.to_string(index=False))


# --- analysis stages --------------------------------------------------------------------------

def _group_setup(cfg: dict, df: pd.DataFrame):
    g = cfg["groups"]
    labels = [g["labels"].get(lv, lv) for lv in g["levels"]]
    df = df.copy()
    df["group"] = df[g["column"]].map(dict(zip(g["levels"], labels)))
    return df, labels


def table1_stage(cfg: dict, *, in_analysis, out_csv, out_docx) -> None:
    from ..render.docx import to_docx
    from ..stats.table1 import table_footnotes, table_one

    df, labels = _group_setup(cfg, pd.read_parquet(in_analysis))
    t1 = cfg["table1"]
    tab = table_one(df, "group", t1["variables"], group_order=labels,
                    nonnormal=t1.get("nonnormal", ()))
    _write_csv(tab, out_csv)
    notes = table_footnotes(tab) + _simulated_note(cfg)
    to_docx(tab, out_docx, title="Table 1. Baseline characteristics by HER2 group",
            footnotes=notes)


def response_stage(cfg: dict, *, in_analysis, out_rates, out_tests, out_her2_loss, out_png,
                   out_pdf) -> None:
    from ..render.figures import rate_bar_plot, save_figure
    from ..stats.proportions import compare_proportions, rate_table

    df, labels = _group_setup(cfg, pd.read_parquet(in_analysis))
    p = cfg["pcr"]
    df["pcr_int"] = df["pcr"].astype(int)
    rates = [rate_table(df, "pcr_int", "group", group_order=labels, ci=p["ci"])
             .assign(subset="all", comparison="HER2 group")]
    tests = []
    res = compare_proportions(df, "pcr_int", "group", test=p["test"], group_order=labels)
    tests.append(_test_row("pCR by HER2 group", "all", res))
    for lab in labels:
        sub = df[df["group"] == lab]
        rates.append(rate_table(sub, "pcr_int", "anti_her2", group_order=["single", "dual"],
                                ci=p["ci"]).assign(subset=lab, comparison="anti-HER2"))
        res = compare_proportions(sub, "pcr_int", "anti_her2", test=p["test"],
                                  group_order=["single", "dual"])
        tests.append(_test_row("pCR by anti-HER2 (single vs dual)", lab, res))
    rates = pd.concat(rates, ignore_index=True)
    _write_csv(rates, out_rates)
    _write_csv(pd.DataFrame(tests), out_tests)
    # HER2 loss after NST among residual tumours re-tested
    tested = df[df["her2_loss"].notna()].copy()
    tested["her2_loss_int"] = tested["her2_loss"].astype(int)
    loss = rate_table(tested, "her2_loss_int", "group", group_order=labels, ci=p["ci"])
    lt = compare_proportions(tested, "her2_loss_int", "group", test="fisher",
                             group_order=labels)
    loss["p"] = lt["p"]
    loss["test"] = lt["test"]
    _write_csv(loss, out_her2_loss)
    plot = rates[rates["comparison"] == "anti-HER2"].copy()
    fig = rate_bar_plot(plot, x="subset", pct="pct", lower="lower", upper="upper",
                        hue="group", x_order=labels, hue_order=["single", "dual"],
                        hue_labels={"single": "Single anti-HER2 (trastuzumab)",
                                    "dual": "Dual anti-HER2 (trastuzumab + pertuzumab)"},
                        ylabel="pCR rate (%), 95% CI", annotation=_p_annotation(tests, labels) + _figure_note(cfg),
                        legend_title=None)
    save_figure(fig, out_png, out_pdf)


def _test_row(what: str, subset: str, res: dict) -> dict:
    return {"comparison": what, "subset": subset, "test": res["test"],
            "statistic": res["statistic"], "df": res.get("df"), "p": res["p"],
            "warning": res.get("warning") or ""}


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _p_annotation(tests: list[dict], labels: list[str]) -> str:
    """Figure text naming each comparison and its test."""
    head = tests[0]
    lines = [f"{labels[0]} vs {labels[1]}: {_fmt_p(head['p'])}"]
    lines += [f"Single vs dual in {t['subset']}: {_fmt_p(t['p'])}" for t in tests[1:]]
    lines.append(f"Test: {head['test']}")
    return "\n".join(lines)


def survival_stage(cfg: dict, *, in_analysis, out_km, out_landmarks, out_logrank, out_cox,
                   out_followup, out_png, out_pdf) -> None:
    from ..render.figures import km_plot, save_figure
    from ..stats.survival import cox, km_at, km_table, logrank, reverse_km_followup

    df, labels = _group_setup(cfg, pd.read_parquet(in_analysis))
    s = cfg["dfs"]
    df = df[df["dfs_months"].notna()].copy()
    df["dfs_event"] = df["dfs_event"].astype(int)
    df["pcr_int"] = df["pcr"].astype(int)
    km = km_table(df, "dfs_months", "dfs_event", "group", group_order=labels)
    _write_csv(km, out_km)
    _write_csv(km_at(df, "dfs_months", "dfs_event", "group", at=tuple(s["landmarks_months"]),
                     group_order=labels), out_landmarks)
    lr = logrank(df, "dfs_months", "dfs_event", "group")
    _write_csv(pd.DataFrame([{"comparison": "DFS by HER2 group", "test": lr["test"],
                              "statistic": lr["statistic"], "df": lr["df"], "p": lr["p"]}]),
               out_logrank)
    cat = {"group": labels}
    uni = cox(df, "dfs_months", "dfs_event", ["group"], categorical=cat).assign(model="unadjusted")
    adj = cox(df, "dfs_months", "dfs_event", ["group", "pcr_int"], categorical=cat) \
        .assign(model="adjusted for pCR")
    cx = pd.concat([uni, adj], ignore_index=True)
    _write_csv(cx, out_cox)
    fu = reverse_km_followup(df, "dfs_months", "dfs_event")
    _write_csv(pd.DataFrame([fu]), out_followup)
    hr = uni.iloc[0]
    note = (f"Log-rank {_fmt_p(lr['p'])}\nCox HR {hr['hr']:.2f} (95% Wald CI {hr['lower']:.2f}-"
            f"{hr['upper']:.2f})\nreference: {labels[0]}" + _figure_note(cfg))
    fig = km_plot(df, "dfs_months", "dfs_event", "group", group_order=labels,
                  xmax=s["xmax_months"], annotation=note, conf_type="log-log",
                  xlabel=f"Months since {s['origin'].replace('_', ' ')}")
    save_figure(fig, out_png, out_pdf)


STAGES = {
    "ingest": ingest_stage,
    "validate": validate_stage,
    "derive": derive_stage,
    "cohort": cohort_stage,
    "table1": table1_stage,
    "response": response_stage,
    "survival": survival_stage,
}


def run(stage: str, cfg: dict, **paths) -> int:
    """Run one stage; data problems end with a plain message and exit status 1, no traceback."""
    from ..data.config import ConfigError
    from ..data.ingest import MappingError

    try:
        STAGES[stage](cfg, **paths)
    except InputError as e:  # the stage has already printed its report
        print(f"\n{e.stage}: stopped because of the problem(s) marked [fail] above. Fix the data "
              "or the centre mapping, or change the rule's action under qc: actions: in "
              "config/config.yaml.", file=sys.stderr)
        return 1
    except (ConfigError, MappingError) as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # a schema or statistics precondition failed: say it plainly
        if os.environ.get("HER2COHORT_DEBUG"):
            raise
        print(f"{stage}: {e}\n(set HER2COHORT_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1
    return 0
