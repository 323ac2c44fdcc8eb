"""Rule ``survival``: disease-free survival by group: Kaplan-Meier, log-rank, Cox, follow-up.
Skipped with a stated reason where the data have no DFS."""

from __future__ import annotations

import pandas as pd


def main(*, in_analysis, out_km, out_landmarks, out_logrank, out_cox, out_followup, out_png,
         out_pdf, groups, dfs_origin, dfs_events, landmarks_months, xmax_months,
         her2_guideline, simulated) -> None:
    from ..render.figures import km_plot, save_figure
    from ..stats.survival import cox, km_at, km_table, logrank, reverse_km_followup
    from .common import figure_note, fmt_p, group_setup, palette, skip_outputs, write_csv

    df, labels = group_setup(groups, pd.read_parquet(in_analysis))
    df = df[df["group"].notna()]
    n_all = len(df)
    df = df[df["dfs_months"].notna() & df["dfs_event"].notna()].copy()
    present = [lab for lab in labels if (df["group"] == lab).any()]
    outs = [out_km, out_landmarks, out_logrank, out_cox, out_followup]
    if len(present) < 2 or df["dfs_event"].sum() == 0:
        skip_outputs("DFS", f"{len(df)} of {n_all} analysed patients have DFS data, in "
                     f"{len(present)} group(s), with {int(df['dfs_event'].sum())} events: too "
                     "few for a comparison", outs, [(out_png, out_pdf)])
        return
    df["dfs_event"] = df["dfs_event"].astype(int)
    from_dates = (df["dfs_source"] == "dates").all() if "dfs_source" in df else True
    events_note = (f"DFS from {dfs_origin.replace('_', ' ')}; events: "
                   f"{', '.join(e.replace('_', ' ') for e in dfs_events)}"
                   if from_dates else "DFS as recorded by the centre (time and any event)")
    km = km_table(df, "dfs_months", "dfs_event", "group", group_order=present)
    write_csv(km, out_km)
    write_csv(km_at(df, "dfs_months", "dfs_event", "group", at=tuple(landmarks_months),
                    group_order=present), out_landmarks)
    lr = logrank(df, "dfs_months", "dfs_event", "group")
    write_csv(pd.DataFrame([{"comparison": "DFS by group", "test": lr["test"],
                             "statistic": lr["statistic"], "df": lr["df"], "p": lr["p"],
                             "n_used": len(df), "n_missing": n_all - len(df),
                             "endpoint": events_note}]), out_logrank)
    cat = {"group": present}
    models = [cox(df, "dfs_months", "dfs_event", ["group"], categorical=cat)
              .assign(model="unadjusted")]
    with_pcr = df[df["pcr"].notna()].copy()
    if with_pcr["pcr"].nunique() == 2:
        with_pcr["pCR"] = with_pcr["pcr"].astype(int)
        models.append(cox(with_pcr, "dfs_months", "dfs_event", ["group", "pCR"],
                          categorical=cat).assign(model="adjusted for pCR"))
    write_csv(pd.concat(models, ignore_index=True), out_cox)
    write_csv(pd.DataFrame([reverse_km_followup(df, "dfs_months", "dfs_event")]), out_followup)
    hr = models[0].iloc[0]
    import textwrap

    note = (f"Log-rank {fmt_p(lr['p'])}\nCox HR {hr['hr']:.2f} (95% Wald CI {hr['lower']:.2f}-"
            f"{hr['upper']:.2f})\nreference: {present[0]}\n"
            + textwrap.fill(events_note, 48) + figure_note(simulated))
    xlabel = (f"Months since {dfs_origin.replace('_', ' ')}" if from_dates else "Months")
    fig = km_plot(df, "dfs_months", "dfs_event", "group", group_order=present,
                  xmax=xmax_months, annotation=note, conf_type="log-log", xlabel=xlabel,
                  palette=palette(groups))
    save_figure(fig, out_png, out_pdf)
