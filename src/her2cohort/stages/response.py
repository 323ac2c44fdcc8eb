"""Rule ``response``: pCR rates and tests by group and by single vs dual anti-HER2 inside each
group; HER2 loss after therapy. Skipped with a stated reason where the data lack them."""

from __future__ import annotations

import pandas as pd

HUE_LABELS = {"single": "Single anti-HER2 (trastuzumab)",
              "dual": "Dual anti-HER2 (trastuzumab + pertuzumab)"}


def _test_row(what: str, subset: str, res: dict, n_used: int, n_missing: int) -> dict:
    return {"comparison": what, "subset": subset, "test": res["test"],
            "statistic": res["statistic"], "df": res.get("df"), "p": res["p"],
            "n_used": n_used, "n_missing": n_missing, "warning": res.get("warning") or ""}


def _p_annotation(tests: list[dict], labels: list[str]) -> str:
    """Figure text naming each comparison and its test."""
    from .common import fmt_p

    lines = []
    for t in tests:
        if t["subset"] == "all":
            lines.append(f"{labels[0]} vs {labels[1]}: {fmt_p(t['p'])}")
        else:
            lines.append(f"Single vs dual in {t['subset']}: {fmt_p(t['p'])}")
    lines.append(f"Test: {tests[0]['test']}" if tests else "")
    return "\n".join(lines)


def main(*, in_analysis, out_rates, out_tests, out_her2_loss, out_png, out_pdf, groups,
         pcr_definition, pcr_test, pcr_ci, her2_guideline, simulated) -> None:
    from ..render.figures import rate_bar_plot, save_figure
    from ..stats.proportions import compare_proportions, rate_table
    from .common import figure_note, group_setup, palette, skip_outputs, write_csv

    df, labels = group_setup(groups, pd.read_parquet(in_analysis))
    df = df[df["group"].notna()]
    n_all = len(df)
    has = df[df["pcr"].notna()].copy()
    present = [lab for lab in labels if (has["group"] == lab).any()]
    if len(present) < 2:
        skip_outputs("pCR", "pCR is recorded for fewer than two groups of analysed patients "
                     f"({len(has)} of {n_all} patients have it)", [out_rates, out_tests],
                     [(out_png, out_pdf)])
    else:
        has["pcr_int"] = has["pcr"].astype(int)
        rates = [rate_table(has, "pcr_int", "group", group_order=present, ci=pcr_ci)
                 .assign(subset="all", comparison="group")]
        res = compare_proportions(has, "pcr_int", "group", test=pcr_test, group_order=present)
        tests = [_test_row("pCR by group", "all", res, len(has), n_all - len(has))]
        treat = has[has["anti_her2"].isin(["single", "dual"])]
        for lab in present:
            sub = treat[treat["group"] == lab]
            levels = [t for t in ("single", "dual") if (sub["anti_her2"] == t).any()]
            if len(levels) < 2:
                print(f"pCR by anti-HER2 in {lab}: not compared (only {levels or 'no'} "
                      "treatment recorded)")
                continue
            rates.append(rate_table(sub, "pcr_int", "anti_her2", group_order=levels,
                                    ci=pcr_ci).assign(subset=lab, comparison="anti-HER2"))
            res = compare_proportions(sub, "pcr_int", "anti_her2", test=pcr_test,
                                      group_order=levels)
            n_lab = int((has["group"] == lab).sum())
            tests.append(_test_row("pCR by anti-HER2 (single vs dual)", lab, res, len(sub),
                                   n_lab - len(sub)))
        rates = pd.concat(rates, ignore_index=True)
        rates["pcr_definition"] = pcr_definition
        write_csv(rates, out_rates)
        write_csv(pd.DataFrame(tests), out_tests)
        overall = rates[rates["comparison"] == "group"].assign(x=lambda d: d["group"],
                                                               hue="overall")
        regimen = rates[rates["comparison"] == "anti-HER2"].assign(x=lambda d: d["subset"],
                                                                   hue=lambda d: d["group"])
        plot = pd.concat([overall, regimen], ignore_index=True)
        hue_order = ["overall", *[h for h in ("single", "dual") if (plot["hue"] == h).any()]]
        ci_name = {"wilson": "Wilson score", "clopper-pearson": "Clopper-Pearson exact"}.get(
            pcr_ci, pcr_ci)
        note = (f"pCR: {pcr_definition}. Error bars: 95% {ci_name} CI. "
                f"HER2: ASCO/CAP {her2_guideline}." + figure_note(simulated).replace("\n", " "))
        fig = rate_bar_plot(plot, x="x", pct="pct", lower="lower", upper="upper", hue="hue",
                            x_order=present, hue_order=hue_order,
                            hue_labels={"overall": "All patients", **HUE_LABELS},
                            ylabel="pCR rate (%)", annotation=_p_annotation(tests, present),
                            legend_title=None, palette=palette(groups), note=note)
        save_figure(fig, out_png, out_pdf)

    # HER2 loss after therapy among residual tumours re-tested
    tested = df[df["her2_loss"].notna()].copy()
    t_present = [lab for lab in labels if (tested["group"] == lab).any()]
    if len(t_present) < 2:
        skip_outputs("HER2 loss", "no residual tumour re-tested for HER2 after therapy in at "
                     f"least two groups ({len(tested)} re-tested patients)", [out_her2_loss])
        return
    tested["her2_loss_int"] = tested["her2_loss"].astype(int)
    loss = rate_table(tested, "her2_loss_int", "group", group_order=t_present, ci=pcr_ci)
    lt = compare_proportions(tested, "her2_loss_int", "group", test="fisher",
                             group_order=t_present)
    loss["p"] = lt["p"]
    loss["test"] = lt["test"]
    loss["her2_guideline"] = f"ASCO/CAP {her2_guideline}"
    write_csv(loss, out_her2_loss)
