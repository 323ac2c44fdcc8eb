"""Rule ``survival``: time-to-event analyses of one endpoint of the study definition
(``study.endpoints``; one Snakemake job per endpoint, wildcard ``endpoint``), with every name
taken from the definition:

- Kaplan-Meier by group, by the study's treatment arms inside each group and by pCR; CI type
  ``survival.ci_type`` named on every table and figure; risk tables with cumulative events;
  log-rank tests (k groups; stratified by ``survival.logrank_strata`` as an option);
  reverse-KM follow-up per group; summary table (n, events, median, S at the landmarks).
- Cox: univariable and multivariable HRs in one table (``survival.cox``), PH check by cox.zph
  (per term and global; violations footnoted), scaled Schoenfeld plots, forest plot.
- The treatment arms inside each group: crude, then IPTW (``survival.iptw``): balance table
  and love plot, weighted KM, weighted Cox with robust SE, E-value.
- Multiple imputation with Rubin's rules for the Cox models (``survival.imputation``).
- Landmark analysis by pCR; RMST difference at ``survival.rmst_horizon_months``.

Whatever the data cannot support (no dates, no treatment, too few events, a group without
events) is skipped or footnoted with the reason; missing values are left out as R's na.omit,
with counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PCR_LABELS = {"no": "No pCR", "yes": "pCR"}
CI_TYPE_TEXT = {"log": "log", "log-log": "log-log", "plain": "plain (linear)"}
# Groups keep their study-wide colour and line style (common.palette); a factor inside a group
# (regimen) is drawn in the group's own colour, the second level lighter and dashed; pCR (not
# a group) in black and bluish green. Line styles differ everywhere, for greyscale.
PCR_COLORS = {"no": "#000000", "yes": "#009E73"}
PCR_STYLES = {"no": "-", "yes": (0, (5, 2))}
INNER_LIGHTEN = (0.0, 0.45)
INNER_STYLES = ("-", (0, (5, 2)))
ZPH_ALPHA = 0.05


# --------------------------------------------------------------------------- helpers
def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "p not reported"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _label_of(v: dict, variable_labels: dict) -> str:
    return v.get("label") or variable_labels.get(v["name"], v["name"])


class _Notes:
    """Footnotes collected while the analyses run (printed to the log and written out)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, analysis: str, note: str) -> None:
        print(f"{analysis}: {note}")
        self.rows.append({"analysis": analysis, "note": note})


def _complete(df: pd.DataFrame, time: str, event: str) -> pd.DataFrame:
    # the row filter is already a copy; a shallow copy of it (not a second deep copy of
    # the whole frame) detaches it for the column assignments below
    d = df[df[time].notna() & df[event].notna()].copy(deep=False)
    d[time] = d[time].astype(float)
    d[event] = d[event].astype(int)
    return d


# --------------------------------------------------------------------------- main
def main(*, in_analysis, endpoint, out_km, out_summary, out_summary_html, out_summary_docx,
         out_cox_html, out_cox_docx, out_rmst_html, out_rmst_docx, out_risk, out_logrank,
         out_followup, out_cox, out_zph, out_cox_mi, out_rmst, out_notes, out_png, out_pdf,
         out_zph_png, out_zph_pdf, out_forest_png,
         out_forest_pdf, groups, endpoints, treatment, landmarks_months, xmax_months,
         min_at_risk, simulated, ci_type, logrank_strata, min_events, cox, iptw, imputation,
         landmark_months, rmst_horizon_months, pcr_definition, variable_labels,
         out_iptw_html=None, out_iptw=None, out_balance=None, out_treatment_png=None,
         out_treatment_pdf=None, out_love_png=None, out_love_pdf=None, out_iptw_png=None,
         out_iptw_pdf=None, out_landmark=None, out_pcr_png=None, out_pcr_pdf=None,
         out_iptw_docx=None, out_landmark_html=None, out_landmark_docx=None) -> None:
    """The treatment outputs (``out_iptw*``, ``out_treatment_*``, ``out_love_*``,
    ``out_balance``) exist only for a study with a treatment, the pCR ones (``out_pcr_*``,
    ``out_landmark``) only for a study analysing pCR: without them those comparisons are not
    made (the rule declares them accordingly)."""
    from .columns import (CLUSTER_DEFAULT, ENDPOINT_SPEC_FIELDS, PCR_FIELDS, read_analysis,
                          stage_params_of)

    # the columns read: those the configuration names (variable_labels: labels only), of
    # this job's endpoint only
    reads = stage_params_of({k: v for k, v in locals().items() if k != "variable_labels"})
    reads["endpoints"] = {endpoint: (endpoints or {}).get(endpoint)}
    from ..study.definition import Endpoint, from_dict
    from .common import group_setup, palette, skip_outputs, write_csv

    study = from_dict({"exposure": {"column": groups["column"], "levels": groups["levels"]},
                       "endpoints": endpoints, "treatment": treatment})
    ep: Endpoint = study.endpoint(endpoint)
    run = _Run(locals())
    tables_out = {k: v for k, v in locals().items() if k.startswith("out_")
                  and k.endswith(("_html", "_docx"))}
    run.ep = ep
    run.treatment = study.treatment
    # only the columns the analyses read (those the configuration names, of this job's
    # endpoint): a registry frame has dozens more, which every row filter below would copy
    df, labels = group_setup(groups, read_analysis(
        in_analysis, reads, *PCR_FIELDS, *CLUSTER_DEFAULT, *ENDPOINT_SPEC_FIELDS))
    df = df[df["group"].notna()]
    run.labels = labels
    run.n_all = len(df)
    from ..study.endpoints import endpoint_spec

    spec = endpoint_spec(df, ep)
    run.spec = spec
    T, E = ep.time, ep.event
    run.T, run.E = T, E
    all_tables = [t for t in (out_km, out_summary, out_risk, out_logrank, out_followup,
                              out_cox, out_zph, out_cox_mi, out_iptw, out_balance,
                              out_landmark, out_rmst, out_notes) if t]
    all_figs = [f for f in ((out_png, out_pdf), (out_treatment_png, out_treatment_pdf),
                            (out_pcr_png, out_pcr_pdf), (out_zph_png, out_zph_pdf),
                            (out_forest_png, out_forest_pdf), (out_love_png, out_love_pdf),
                            (out_iptw_png, out_iptw_pdf)) if f[0]]
    run.pcr_on = out_pcr_png is not None
    run.treatment_on = out_treatment_png is not None
    if spec["undefined"]:
        skip_outputs(ep.abbreviation, spec["undefined"], all_tables, all_figs)
        run.journal_tables(tables_out, skipped=spec["undefined"])
        return
    d_ep = _complete(df, T, E)
    present = [lab for lab in labels if (d_ep["group"] == lab).any()]
    if len(present) < 2 or d_ep[E].sum() == 0:
        why = (f"{len(d_ep)} of {run.n_all} analysed patients have {ep.abbreviation} data, in "
               f"{len(present)} group(s), with {int(d_ep[E].sum())} events: too few "
               "for a comparison")
        skip_outputs(ep.abbreviation, why, all_tables, all_figs)
        run.journal_tables(tables_out, skipped=why)
        return
    run.df = df
    run.d = d_ep  # the patients with the endpoint recorded (shared: never changed in place)
    run.present = present
    run.palette = palette(groups)
    run.by_group(out_png, out_pdf)
    if run.treatment_on:
        run.by_treatment(out_treatment_png, out_treatment_pdf)
    if run.pcr_on:
        run.by_pcr(out_pcr_png, out_pcr_pdf)
    run.cox_models(out_zph_png, out_zph_pdf, out_forest_png, out_forest_pdf)
    run.cox_mi()
    if run.treatment_on:
        run.iptw_all(out_love_png, out_love_pdf, out_iptw_png, out_iptw_pdf)
    run.landmark_rmst()
    for path, rows, name in (
            (out_km, run.km, "km"), (out_summary, run.summary, "summary"),
            (out_risk, run.risk, "risk"), (out_logrank, run.tests, "tests"),
            (out_followup, run.followup, "followup"), (out_cox, run.cox_rows, "cox"),
            (out_zph, run.zph_rows, "zph"), (out_cox_mi, run.mi_rows, "mi"),
            (out_iptw, run.iptw_rows, "iptw"), (out_balance, run.balance_rows, "balance"),
            (out_landmark, run.landmark_rows, "landmark"), (out_rmst, run.rmst_rows, "rmst")):
        if path is None:  # not an output of this study (no treatment, or no pCR)
            continue
        reason = run.why.get(name) or run.why.get(
            {"balance": "iptw", "zph": "cox"}.get(name, ""), "no result (see the notes)")
        table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
            [{"status": "skipped", "reason": reason}])
        write_csv(table, path)
    write_csv(pd.DataFrame(run.notes.rows or [{"analysis": "", "note": ""}]), out_notes)
    run.journal_tables(tables_out)


class _Run:
    """The state of one run of the stage: options, data, collected tables and notes."""

    def __init__(self, opts: dict) -> None:
        self.o = opts
        self.ci_type = opts["ci_type"]
        self.min_events = int(opts["min_events"])
        self.notes = _Notes()
        self.km: list[pd.DataFrame] = []
        self.summary: list[pd.DataFrame] = []
        self.risk: list[pd.DataFrame] = []
        self.tests: list[pd.DataFrame] = []
        self.followup: list[pd.DataFrame] = []
        self.cox_rows: list[pd.DataFrame] = []
        self.zph_rows: list[pd.DataFrame] = []
        self.mi_rows: list[pd.DataFrame] = []
        self.iptw_rows: list[pd.DataFrame] = []
        self.balance_rows: list[pd.DataFrame] = []
        self.landmark_rows: list[pd.DataFrame] = []
        self.rmst_rows: list[pd.DataFrame] = []
        self.why: dict[str, str] = {}
        self.ticks_every = 12.0

    def few(self, events: int) -> str | None:
        """Why ``events`` events are too few for a test or model (survival.min_events; the
        rule the headline estimates follow too), or None."""
        from ..stats.adequacy import too_few_events

        return too_few_events(events, self.min_events)

    # ----------------------------------------------------------------- common pieces
    @property
    def ci_text(self) -> str:
        return f"95% CI: {CI_TYPE_TEXT[self.ci_type]} transformation (Greenwood variance)"

    def footnote(self, definition: str, *extra: str) -> str:
        from .common import figure_note

        lines = [definition, f"Shaded bands: pointwise {self.ci_text}; + censored"]
        lines += [x for x in extra if x]
        return "\n".join(lines) + figure_note(self.o["simulated"])

    def _curves(self, d: pd.DataFrame, time: str, event: str, by: str, levels: list,
                tags: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
        """KM table, summary, risk table, follow-up rows for one comparison."""
        from ..render.km import tick_times
        from ..stats.km_summary import km_summary_table, risk_table
        from ..stats.survival import km_table, reverse_km_followup

        tags = dict(tags)
        n_total = tags.pop("_n_total", len(d))
        km = km_table(d, time, event, by, group_order=levels, conf_type=self.ci_type)
        self.km.append(km.assign(**tags).pipe(_front, tags))
        summ = km_summary_table(d, time, event, by, landmarks=self.o["landmarks_months"],
                                group_order=levels, conf_type=self.ci_type)
        summ["n_total"] = n_total
        summ["n_missing"] = summ["n_total"] - len(d)
        summ["median_text"] = [_ci_text(m, lo, up, 1, "not reached") for m, lo, up in zip(
            summ["median"], summ["median_lower"], summ["median_upper"], strict=True)]
        for lm in self.o["landmarks_months"]:
            k = f"{lm:g}"
            summ[f"surv_{k}_text"] = [_ci_text(100 * v, 100 * lo, 100 * up, 1, "")
                                      for v, lo, up in zip(summ[f"surv_{k}"],
                                                           summ[f"surv_{k}_lower"],
                                                           summ[f"surv_{k}_upper"],
                                                           strict=True)]
        self.summary.append(summ.assign(**tags).pipe(_front, tags))
        ticks = tick_times(self.o["xmax_months"], self.ticks_every)
        rt = risk_table(d, time, event, by, ticks, group_order=levels)
        self.risk.append(rt.assign(**tags).pipe(_front, tags))
        fu = []
        if tags.get("comparison") == "group":  # the whole cohort first (manuscript text)
            r = reverse_km_followup(d, time, event, conf_type=self.ci_type)
            fu.append({"group": "all patients", **r})
        for lv in levels:
            r = reverse_km_followup(d[d[by] == lv], time, event, conf_type=self.ci_type)
            fu.append({"group": lv, **r})
        self.followup.append(pd.DataFrame(fu).assign(**tags).pipe(_front, tags))
        return km, rt

    def _logrank(self, d: pd.DataFrame, time: str, event: str, by: str, levels: list,
                 tags: dict, n_total: int) -> dict:
        """Log-rank (and stratified log-rank when configured) rows; returns the plain one."""
        from ..stats.survival import logrank

        strata = self.o["logrank_strata"]
        out = {}
        for s in [None] + ([strata] if strata else []):
            row = {**tags, "test": "", "statistic": np.nan, "df": np.nan, "p": np.nan,
                   "n_used": len(d), "n_missing": n_total - len(d), "events": 0,
                   "warning": ""}
            events = int(d[event].sum())
            row["events"] = events
            if s is not None and s not in d.columns:
                row.update(test=f"stratified log-rank by '{s}'",
                           warning=f"strata column '{s}' is not in the data")
            elif self.few(events):
                row.update(test="log-rank (Mantel-Haenszel)" if s is None else
                           f"stratified log-rank by '{s}'",
                           warning=f"{self.few(events)}: test not reported")
            else:
                try:
                    lr = logrank(d, time, event, by, group_order=levels, strata=s)
                    row.update(test=lr["test"], statistic=lr["statistic"], df=lr["df"],
                               p=lr["p"], n_used=lr["n_used"],
                               n_missing=n_total - lr["n_used"], warning=lr["warning"])
                except ValueError as e:
                    row.update(test="log-rank", warning=str(e))
            out[s] = row
            self.tests.append(pd.DataFrame([row]))
        return out

    def _k_group_tests(self, d: pd.DataFrame, tags: dict) -> None:
        """More than two groups: pairwise log-rank tests with the study's multiplicity
        adjustment (``study.exposure.pairwise_adjust``); ordered levels: the log-rank test for
        trend (scores 1..k)."""
        groups = self.o["groups"]
        if len(self.present) < 3 or self.few(d[self.E].sum()):
            return
        from ..stats.kgroups import logrank_trend, pairwise_logrank

        adjust = groups.get("pairwise_adjust", "holm")
        try:
            pw = pairwise_logrank(d, self.T, self.E, "group", levels=self.present,
                                  adjust=adjust)
        except ValueError as e:
            self.notes.add(f"{self.ep.abbreviation} pairwise", f"not computed: {e}")
            return
        for r in pw.itertuples(index=False):
            self.tests.append(pd.DataFrame([{
                **tags, "comparison": "group (pairwise)",
                "subset": f"{r.level_b} vs {r.level_a}", "test": r.test,
                "statistic": r.statistic, "df": r.df, "p": r.p, "p_adjusted": r.p_adjusted,
                "adjust_method": r.adjust_method, "n_used": r.n_a + r.n_b,
                "events": r.events_a + r.events_b, "warning": r.warning}]))
        if groups.get("ordered"):
            try:
                t = logrank_trend(d, self.T, self.E, "group", levels=self.present).iloc[0]
            except ValueError as e:
                self.notes.add(f"{self.ep.abbreviation} trend", f"not computed: {e}")
                return
            self.tests.append(pd.DataFrame([{
                **tags, "comparison": "group (trend)", "test": t["test"],
                "statistic": t["statistic"], "df": t["df"], "p": t["p"], "n_used": t["n"],
                "events": t["events"], "warning": t["warning"]}]))

    def _test_text(self, rows: dict) -> str:
        lines = []
        for s, r in rows.items():
            name = "Log-rank" if s is None else f"Stratified log-rank ({s})"
            lines.append(f"{name} {_fmt_p(r['p'])}")
        return "\n".join(lines)

    def _save(self, fig: Any, png: str, pdf: str) -> None:
        from ..render.figures import save_figure

        save_figure(fig, png, pdf)

    def _message(self, png: str, pdf: str, title: str, reason: str) -> None:
        from ..render.message import message_figure

        self._save(message_figure(title, reason), png, pdf)

    # ----------------------------------------------------------------- KM by group
    def by_group(self, png, pdf) -> None:
        from ..render.km import KMPanel, km_figure

        colors = {g: st.color for g, st in self.palette.items()}
        styles = {g: st.linestyle for g, st in self.palette.items()}
        ep, spec = self.ep, self.spec
        d = self.d
        tags = {"endpoint": ep.abbreviation, "comparison": "group", "subset": "all",
                "_n_total": self.n_all}
        _, rt = self._curves(d, self.T, self.E, "group", self.present, tags)
        tags.pop("_n_total", None)
        lr = self._logrank(d, self.T, self.E, "group", self.present, tags, self.n_all)
        self._k_group_tests(d, tags)
        panel = KMPanel(
            curves=self.km[-1], risk=rt, groups=self.present, colors=colors,
            linestyles=styles,
            annotation=self._test_text(lr) + f"\nn = {len(d)}, events = "
            f"{int(d[self.E].sum())}")
        extra = [self._missing_text(d), self._truncation([panel])]
        fig = km_figure([panel], xmax=self.o["xmax_months"], xlabel=spec["xlabel"],
                        ylabel=f"{ep.name} probability", ci_label=f"95% CI ({self.ci_type})",
                        footnote=self.footnote(spec["definition"], *extra),
                        min_at_risk=self.o.get("min_at_risk"))
        self._save(fig, png, pdf)

    def _truncation(self, panels: list) -> str:
        """The caption sentence saying where curves stop (``survival.min_at_risk``)."""
        from ..render.km import km_truncation, truncation_note

        m = int(self.o.get("min_at_risk") or 0)
        notes = []
        for p in panels:
            t = km_truncation(p.curves, m, groups=list(p.groups))
            labels = {g: str((p.labels or {}).get(g, g)) for g in p.groups}
            note = truncation_note(t, labels)
            if note:
                notes.append((f"{p.title}: " if p.title else "") + note)
        return "\n".join(notes)

    def _missing_text(self, d: pd.DataFrame) -> str:
        n_miss = self.n_all - len(d)
        return (f"{n_miss} of {self.n_all} patients without follow-up data left out"
                if n_miss else "")

    # ----------------------------------------------------------------- by regimen
    def _inner_styles(self, group: str, levels: list[str]) -> dict:
        """Colours and line styles of a factor inside ``group``: the group's colour, the
        second level lighter and dashed."""
        from matplotlib.colors import to_hex, to_rgb

        base = to_rgb(self.palette[group].color)
        colors, styles = {}, {}
        for i, lv in enumerate(levels):
            a = INNER_LIGHTEN[i % len(INNER_LIGHTEN)]
            colors[lv] = to_hex(tuple(c + (1 - c) * a for c in base))
            styles[lv] = INNER_STYLES[i % len(INNER_STYLES)]
        return {"colors": colors, "linestyles": styles}

    def _treatment(self) -> tuple[str | None, list[str]]:
        """The treatment column and [reference, treated] arms (``survival.iptw``, by default
        the study's treatment); (None, []) when the study defines no treatment."""
        cfg = self.o["iptw"]
        if not cfg.get("treatment"):
            return None, []
        return cfg["treatment"], list(cfg.get("levels") or [])

    def _arm_label(self, arm: str) -> str:
        tr = self.treatment
        if tr is not None and tr.column == self._treatment()[0]:
            return tr.label(arm)
        return str(arm)

    @property
    def treatment_name(self) -> str:
        tr = self.treatment
        treat = self._treatment()[0]
        return tr.name if tr is not None and tr.column == treat else str(treat)

    def by_treatment(self, png: str, pdf: str) -> None:
        from ..render.km import KMPanel, km_figure

        treat, levels = self._treatment()
        abbr = self.ep.abbreviation
        d0 = self.d
        panels = []
        if treat is None:
            why = "the study defines no treatment (study: treatment:)"
            self.notes.add(f"{abbr} by treatment", f"not analysed: {why}")
            self._message(png, pdf, f"{abbr} by treatment: not analysed", why)
            self.why["iptw"] = why
            return
        title = f"{abbr} by {self.treatment_name.lower()}"
        if treat not in d0.columns or d0[treat].isin(levels).sum() == 0:
            why = f"no analysed patient has '{treat}' recorded as {' or '.join(levels)}"
            self.notes.add(title, f"not analysed: {why}")
            self._message(png, pdf, f"{title}: not analysed", why)
            self.why["iptw"] = why
            return
        for lab in self.present:
            sub = d0[(d0["group"] == lab)]
            n_lab = len(sub)
            sub = sub[sub[treat].isin(levels)].copy()
            sub[treat] = sub[treat].astype(str)
            lv = [t for t in levels if (sub[treat] == t).any()]
            if len(lv) < 2:
                self.notes.add(f"{abbr} by {treat} in {lab}",
                               f"not compared: only {lv or 'no'} treatment recorded")
                continue
            tags = {"endpoint": abbr, "comparison": treat, "subset": lab, "_n_total": n_lab}
            km, rt = self._curves(sub, self.T, self.E, treat, lv, tags)
            tags.pop("_n_total", None)
            lr = self._logrank(sub, self.T, self.E, treat, lv, tags, n_lab)
            panels.append(KMPanel(
                curves=km, risk=rt, groups=lv, title=lab,
                labels={t: self._arm_label(t) for t in lv},
                **self._inner_styles(lab, lv),
                annotation=self._test_text(lr) + f"\nn = {len(sub)}, events = "
                f"{int(sub[self.E].sum())}"))
        if not panels:
            why = "no group has two treatment arms recorded"
            self._message(png, pdf, f"{title}: not analysed", why)
            return
        fig = km_figure(panels, xmax=self.o["xmax_months"], xlabel=self.spec["xlabel"],
                        ylabel=f"{self.ep.name} probability",
                        ci_label=f"95% CI ({self.ci_type})",
                        footnote=self.footnote(self.spec["definition"],
                                               "Crude (unadjusted) comparison inside each "
                                               "group; adjusted (IPTW) results in "
                                               f"{self.ep.id}_iptw.csv",
                                               self._truncation(panels)),
                        min_at_risk=self.o.get("min_at_risk"))
        self._save(fig, png, pdf)

    # ----------------------------------------------------------------- by pCR
    def _pcr_frame(self) -> pd.DataFrame:
        """The patients with the endpoint and pCR recorded, with ``pcr_status`` no/yes
        (made once; callers do not change it)."""
        if getattr(self, "_pcr", None) is None:
            d = self.d
            d = d[d["pcr"].notna()].copy()
            d["pcr_status"] = np.where(d["pcr"].astype(bool), "yes", "no")
            self._pcr = d
        return self._pcr

    def by_pcr(self, png: str, pdf: str) -> None:
        from ..render.km import KMPanel, km_figure

        d = self._pcr_frame()
        lv = [v for v in ("no", "yes") if (d["pcr_status"] == v).any()]
        if len(lv) < 2:
            why = f"pCR known for {len(d)} patients, with {len(lv)} outcome level(s)"
            self.notes.add(f"{self.ep.abbreviation} by pCR", f"not analysed: {why}")
            self._message(png, pdf, f"{self.ep.abbreviation} by pCR: not analysed", why)
            self.why["landmark"] = why
            return
        n_total = len(self.d)
        tags = {"endpoint": self.ep.abbreviation, "comparison": "pCR", "subset": "all",
                "_n_total": n_total}
        km, rt = self._curves(d, self.T, self.E, "pcr_status", lv, tags)
        tags.pop("_n_total", None)
        lr = self._logrank(d, self.T, self.E, "pcr_status", lv, tags, n_total)
        panel = KMPanel(curves=km, risk=rt, groups=lv, labels=PCR_LABELS, colors=PCR_COLORS,
                        linestyles=PCR_STYLES,
                        annotation=self._test_text(lr)
                        + f"\nn = {len(d)}, events = {int(d[self.E].sum())}")
        fig = km_figure([panel], xmax=self.o["xmax_months"], xlabel=self.spec["xlabel"],
                        ylabel=f"{self.ep.name} probability",
                        ci_label=f"95% CI ({self.ci_type})",
                        footnote=self.footnote(self.spec["definition"],
                                               f"pCR: {self._pcr_definition()}",
                                               self._truncation([panel])),
                        min_at_risk=self.o.get("min_at_risk"))
        self._save(fig, png, pdf)

    def _pcr_definition(self) -> str:
        src = self.df.get("pcr_source")
        if src is not None and (src == "recorded").any():
            return (f"{self.o['pcr_definition']} where ypT/ypN are recorded, else as recorded "
                    "by the centre")
        return self.o["pcr_definition"]

    # ----------------------------------------------------------------- Cox models
    def _model_frame(self, d: pd.DataFrame, variables: list[dict], what: str
                     ) -> tuple[pd.DataFrame, list[str], dict[str, list], dict[str, str]]:
        """Model columns: booleans as no/yes, values outside the levels set to NA (noted),
        levels not observed dropped; variables without data or with one level left out."""
        d = d.copy()
        covs, cat, labels = [], {}, {}
        for v in variables:
            name = v["name"]
            col = "group" if name == "group" else name
            label = _label_of(v, self.o["variable_labels"]) if name != "group" else (
                v.get("label") or self.o["groups"].get("name") or "Group")
            if col not in d.columns or d[col].notna().sum() == 0:
                self.notes.add(what, f"'{name}' left out: not recorded for any patient")
                continue
            s = d[col]
            if pd.api.types.is_bool_dtype(s):
                s = s.map({True: "yes", False: "no"}).astype("string")
            levels = v.get("levels")
            if name == "group":
                levels = [lab for lab in self.labels if (s == lab).any()]
            if levels is not None or not pd.api.types.is_numeric_dtype(s):
                # YAML reads unquoted no/yes as booleans: take them as the "no"/"yes" levels
                levels = [{True: "yes", False: "no"}.get(x, str(x)) if isinstance(x, bool)
                          else str(x)
                          for x in (levels or sorted(s.dropna().astype(str).unique()))]
                s = s.astype("string")
                outside = s.notna() & ~s.isin(levels)
                if outside.any():
                    self.notes.add(what, f"'{name}': {int(outside.sum())} value(s) outside the "
                                         f"configured levels {levels} treated as missing")
                s = s.where(~outside)
                levels = [lv for lv in levels if (s == lv).any()]
                if len(levels) < 2:
                    self.notes.add(what, f"'{name}' left out: only {levels or 'no'} level "
                                         "observed")
                    continue
                cat[col] = levels
                d[col] = s.astype(object).where(s.notna(), None)
            else:
                d[col] = s.astype(float)
            covs.append(col)
            labels[col] = label
        return d, covs, cat, labels

    def _cox_options(self) -> dict:
        from .common import cox_options

        return cox_options(self.o["cox"])

    def cox_models(self, zph_png, zph_pdf, forest_png, forest_pdf) -> None:
        from ..render.forest import forest_plot
        from ..render.zph_plot import zph_figure
        from ..stats.cox import CoxModel, cox_table, cox_zph
        from .common import figure_note

        what = "Cox"
        variables = self.o["cox"].get("covariates") or [{"name": "group"}]
        base = self.d
        d, covs, cat, labels = self._model_frame(base, variables, what)
        opts = self._cox_options()
        for key in ("strata", "cluster"):
            if opts[key] and opts[key] not in d.columns:
                self.notes.add(what, f"{key} column '{opts[key]}' is not in the data: not used")
                opts[key] = None
        if opts["cluster"] is None and self.o["cox"].get("variance") == "cluster":
            opts["robust"] = True
        self.cox_meta = {"covs": covs, "cat": cat, "labels": labels, "opts": opts, "data": d}
        skip = [(zph_png, zph_pdf, "Proportional hazards check"),
                (forest_png, forest_pdf, "Hazard ratios")]
        events = int(d[self.E].sum())
        if not covs or self.few(events):
            why = ("no covariate has data" if not covs else
                   f"not estimable: {self.few(events)}")
            self.why.update(cox=why, zph=why, mi=why)
            self.notes.add(what, f"not fitted ({why})")
            for png, pdf, title in skip:
                self._message(png, pdf, f"{title}: not analysed", why)
            return
        ties = opts["ties"]
        kw = {"strata": opts["strata"], "cluster": opts["cluster"], "robust": opts["robust"]}
        # likelihood-ratio test of each variable (all its terms: the global p of a factor, R
        # drop1); not defined with robust variances
        lr_ok = not opts["robust"]
        uni = []
        for c in covs:
            try:
                uni.append(cox_table(d, self.T, self.E, [c],
                                     categorical={c: cat[c]} if c in cat else None,
                                     ties=ties, multivariable=False, term_tests=lr_ok, **kw))
            except ValueError as e:
                self.notes.add(what, f"univariable model of '{c}' not fitted: {e}")
        parts = list(uni)
        fit = None
        if len(covs) > 1:
            try:
                # the univariable models are above; the table's own fit is the model
                t, fits = cox_table(d, self.T, self.E, covs, categorical=cat, ties=ties,
                                    term_tests=lr_ok, univariable=False, return_fits=True,
                                    **kw)
                parts.append(t[t["model"] == "multivariable"])
                fit = fits["multivariable"]
            except ValueError as e:
                self.notes.add(what, f"multivariable model not fitted: {e}")
        else:
            fit = CoxModel(ties=ties).fit(d, self.T, self.E, covs, categorical=cat,
                                          **kw)
        if not parts:
            self.why["cox"] = "no model could be fitted (see survival_notes.csv)"
            for png, pdf, title in skip:
                self._message(png, pdf, f"{title}: not analysed", self.why["cox"])
            return
        table = pd.concat(parts, ignore_index=True)
        table.insert(2, "label", table["variable"].map(labels))
        _ratio_rule(table)
        table["ties"] = ties
        table["strata"] = opts["strata"] or ""
        table["variance"] = ("cluster-robust by " + opts["cluster"] if opts["cluster"] else
                             "robust (sandwich)" if opts["robust"] else "model-based")
        table["hr_text"] = [
            "1 (reference)" if ref else _ci_text(h, lo, up, 2, "not estimable")
            for h, lo, up, ref in zip(table["hr"], table["lower"], table["upper"],
                                      table["reference"].astype(bool), strict=True)]
        table["p_text"] = [_p_text(p) for p in table["p"]]
        table["zph_p"] = np.nan
        table["footnote"] = ""
        table["concordance"] = np.nan
        table["concordance_se"] = np.nan
        zph_terms: dict[str, float] = {}
        if fit is not None:
            conc = fit.concordance()
            mv = table["model"] == ("multivariable" if len(covs) > 1 else "univariable")
            table.loc[mv, "concordance"] = conc["concordance"]
            table.loc[mv, "concordance_se"] = conc["std"]
            try:
                z = cox_zph(fit, transform=self.o["cox"].get("zph_transform", "km"))
                zt = z.table.copy()
                zt.insert(0, "label", zt["term"].map(lambda t: labels.get(t, t)))
                zt["model"] = "multivariable" if len(covs) > 1 else "univariable"
                zt["violation"] = zt["p"] < ZPH_ALPHA
                self.zph_rows.append(zt)
                zph_terms = dict(zip(zt["term"], zt["p"], strict=True))
                for term, p in zph_terms.items():
                    if term == "GLOBAL":
                        continue
                    rows = mv & (table["variable"] == term)
                    table.loc[rows, "zph_p"] = p
                    if p < ZPH_ALPHA:
                        table.loc[rows & ~table["reference"].astype(bool), "footnote"] = (
                            f"proportional hazards doubtful: cox.zph ({z.transform}) "
                            f"p = {p:.3f}")
                ynames = {c: labels.get(c, c) for c in z.y.columns}
                fig = zph_figure(z.x, z.y.rename(columns=ynames),
                                 pvalues={ynames[k]: v for k, v in zph_terms.items()
                                          if k in ynames},
                                 time=z.time, transform=z.transform,
                                 test_label="cox.zph",
                                 time_label=self.spec["xlabel"])
                fig.suptitle("Scaled Schoenfeld residuals, multivariable Cox model of "
                             f"{self.ep.abbreviation} "
                             f"(global cox.zph {_fmt_p(zph_terms.get('GLOBAL', np.nan))}, "
                             f"{z.transform} transform)"
                             + figure_note(self.o["simulated"]).replace("\n", "; "),
                             fontsize=10)
                fig.tight_layout()
                self._save(fig, zph_png, zph_pdf)
            except (ValueError, np.linalg.LinAlgError) as e:
                self.notes.add(what, f"cox.zph not computed: {e}")
                self._message(zph_png, zph_pdf, "Proportional hazards check: not computed",
                              str(e))
        else:
            self._message(zph_png, zph_pdf, "Proportional hazards check: not computed",
                          "no multivariable model")
        bad_warn = table["warning"].fillna("") != ""
        table.loc[bad_warn, "footnote"] = (table.loc[bad_warn, "footnote"] + "; "
                                           + table.loc[bad_warn, "warning"]).str.strip("; ")
        _level_counts(table, d, self.E, cat)
        self.cox_rows.append(table)
        # forest plot of the multivariable model
        mv = table[table["model"] == table["model"].iloc[-1]]
        rows = []
        for var in dict.fromkeys(mv["variable"]):
            r = mv[mv["variable"] == var]
            mark = " *" if (r["zph_p"] < ZPH_ALPHA).any() else ""
            if var in cat:
                rows.append({"label": labels[var], "kind": "header", "hr": np.nan,
                             "lower": np.nan, "upper": np.nan, "p": np.nan, "mark": mark})
                for x in r.itertuples(index=False):
                    rows.append({"label": x.level, "kind": "reference" if x.reference
                                 else "level", "hr": x.hr, "lower": x.lower,
                                 "upper": x.upper, "p": x.p, "mark": ""})
            else:
                x = r.iloc[0]
                rows.append({"label": labels[var] + mark, "kind": "level", "hr": x["hr"],
                             "lower": x["lower"], "upper": x["upper"], "p": x["p"],
                             "mark": ""})
        first = mv.iloc[0]
        foot = [(f"{first['model'].capitalize()} Cox model of {self.ep.abbreviation}, n = {int(first['n'])}, "
                f"events = {int(first['nevent'])}; ties: {ties}; "
                f"{table['variance'].iloc[-1]} variance; {first['ci_method']}")]
        if opts["strata"]:
            foot.append(f"stratified by {opts['strata']}")
        if fit is not None:
            conc = fit.concordance()
            foot.append(f"Concordance {conc['concordance']:.3f} (SE {conc['std']:.3f})")
        if (mv["zph_p"] < ZPH_ALPHA).any():
            foot.append(f"* cox.zph p < {ZPH_ALPHA}: proportional hazards doubtful")

        fig = forest_plot(pd.DataFrame(rows), favours=("lower hazard", "higher hazard"),
                          footnote="\n".join(foot) + figure_note(self.o["simulated"]))
        self._save(fig, forest_png, forest_pdf)
        self.cox_fit = fit

    # ----------------------------------------------------------------- imputation
    def cox_mi(self) -> None:
        import importlib.util

        meta = getattr(self, "cox_meta", None)
        cfg = self.o["imputation"]
        m = int(cfg.get("m", 20))
        if meta is None or not meta["covs"] or "cox" in self.why:
            self.why.setdefault("mi", self.why.get("cox", "no Cox model"))
            return
        if m == 0:
            self.why["mi"] = "switched off (survival.imputation.m = 0)"
            return
        if importlib.util.find_spec("her2cohort.stats.pooling") is None:
            self.why["mi"] = ("multiple imputation is not available in this version "
                              "(her2cohort.stats.pooling missing): complete-case results only")
            self.notes.add("Cox MI", self.why["mi"])
            return
        self._cox_mi(meta, m, int(cfg.get("seed", 0)), int(cfg.get("iterations", 10)))

    def _cox_mi(self, meta: dict, m: int, seed: int, n_iter: int) -> None:
        """Impute the missing covariates m times (chained equations; the event indicator and
        the Nelson-Aalen cumulative hazard as predictors, White & Royston, Stat Med 2009),
        fit every Cox model of the table on each completed data set and pool by Rubin's
        rules; the complete-case estimates are put beside."""
        from ..stats.pooling import impute_for_cox, pooled_cox

        d, covs, cat = meta["data"], meta["covs"], meta["cat"]
        n_miss = int(d[covs].isna().any(axis=1).sum())
        if n_miss == 0:
            self.why["mi"] = ("no missing value in the model covariates: the complete-case "
                              "models use every patient, imputation not needed")
            self.notes.add("Cox MI", self.why["mi"])
            return
        try:
            imps = impute_for_cox(d, self.T, self.E, covs, cat, m=m, seed=seed,
                                  n_iter=n_iter)
        except ValueError as e:
            self.why["mi"] = f"imputation failed: {e}"
            self.notes.add("Cox MI", self.why["mi"])
            return
        opts = meta["opts"]
        kw = {"ties": opts["ties"], "strata": opts["strata"], "cluster": opts["cluster"],
              "robust": opts["robust"]}
        # univariable models of complete covariates are the complete-case ones: not repeated
        specs = [("univariable", [c]) for c in covs if d[c].isna().any()]
        if len(covs) > 1:
            specs.append(("multivariable", covs))
        cc = pd.concat(self.cox_rows, ignore_index=True) if self.cox_rows else pd.DataFrame()
        for label, cs in specs:
            try:
                pooled = pooled_cox(imps, self.T, self.E, cs, cat, **kw)
            except ValueError as e:
                self.notes.add("Cox MI", f"{label} model of {', '.join(cs)} not pooled: {e}")
                continue
            pooled.insert(0, "model", label)
            pooled.insert(1, "variable", [next(c for c in cs if t == c or t.startswith(c + "["))
                                          for t in pooled["term"]])
            pooled.insert(2, "label", pooled["variable"].map(meta["labels"]))
            pooled["n"] = len(d)
            pooled["n_imputed_rows"] = int(d[cs].isna().any(axis=1).sum())
            if len(cc):
                ref = cc[cc["model"] == label].set_index("term")
                for col in ("hr", "lower", "upper", "p", "n"):
                    pooled[f"cc_{col}"] = pooled["term"].map(ref[col]) if col in ref else np.nan
            pooled["imputation"] = (
                f"chained equations (predictive mean matching for numbers, logistic or "
                f"polytomous regression for categories), m = {m}, {n_iter} iterations, "
                f"seed {seed}; predictors: the model covariates, the event indicator and the "
                "Nelson-Aalen cumulative hazard; pooled by Rubin's rules, Barnard-Rubin df "
                "with complete-data df = events - coefficients (as mice::pool for coxph)")
            self.mi_rows.append(pooled)

    # ----------------------------------------------------------------- IPTW
    def iptw_all(self, love_png, love_pdf, km_png, km_pdf) -> None:
        from ..render.km import KMPanel, km_figure
        from ..render.love_plot import love_plot
        from .common import figure_note

        treat, levels = self._treatment()
        if "iptw" in self.why:
            for png, pdf, t in ((love_png, love_pdf, "Covariate balance"),
                                (km_png, km_pdf, f"IPTW-weighted {self.ep.abbreviation}")):
                self._message(png, pdf, f"{t}: not analysed", self.why["iptw"])
            return
        panels, loves = [], []
        for lab in self.present:
            res = self._iptw_one(lab, treat, levels)
            if res is None:
                continue
            km, rt, lv, bal, note = res
            panels.append(KMPanel(curves=km, risk=rt, groups=lv, title=lab,
                                  labels={t: self._arm_label(t) for t in lv},
                                  **self._inner_styles(lab, lv), annotation=note))
            loves.append((lab, bal))
        if not panels:
            why = self.why.get("iptw", "no group could be weighted (see survival_notes.csv)")
            self.why.setdefault("iptw", why)
            for png, pdf, t in ((love_png, love_pdf, "Covariate balance"),
                                (km_png, km_pdf, f"IPTW-weighted {self.ep.abbreviation}")):
                self._message(png, pdf, f"{t}: not analysed", why)
            return
        cfg = self.o["iptw"]
        # weighted curves: not cut at survival.min_at_risk (their numbers at risk are sums
        # of weights); the unweighted numbers are in the risk table
        fig = km_figure(panels, xmax=self.o["xmax_months"], xlabel=self.spec["xlabel"],
                        ylabel=f"Weighted {self.ep.name} probability", ci_label=f"95% CI ({self.ci_type})",
                        footnote=self._iptw_footnote(cfg, weighted_km=True), min_at_risk=0)
        self._save(fig, km_png, km_pdf)
        # one love plot, the groups in blocks (rows "group: covariate")
        blocks = []
        for lab, b in loves:
            b = b.copy()
            b["variable"] = lab + ": " + b["label"]
            blocks.append(b.iloc[::-1])
        bal = pd.concat(blocks[::-1], ignore_index=True)
        fig = love_plot(bal, threshold=float(cfg.get("smd_threshold", 0.1)), sort=False,
                        title=f"Covariate balance (IPTW): {self._arm_label(levels[1])} vs "
                              f"{self._arm_label(levels[0])}\n{self.treatment_name} inside "
                              "each group" + figure_note(self.o["simulated"]))
        self._save(fig, love_png, love_pdf)

    def _confounder_labels(self) -> dict[str, str]:
        return {v["name"]: _label_of(v, self.o["variable_labels"])
                for v in self.o["iptw"].get("confounders") or []}

    def _iptw_footnote(self, cfg: dict, weighted_km: bool = False) -> str:
        conf = ", ".join(self._confounder_labels().values())
        trunc = cfg.get("truncate", [0.01, 0.99])
        lines = [self.spec["definition"],
                 f"Propensity score (logistic regression) on: {conf}",
                 ("Stabilised" if cfg.get("stabilised", True) else "Unstabilised")
                 + " ATE weights" + (f", trimmed at the {trunc[0]:g}/{trunc[1]:g} quantiles"
                                     if trunc else "")]
        if weighted_km:
            lines.append(f"Weighted Kaplan-Meier; bands: pointwise 95% CI, "
                         f"{CI_TYPE_TEXT[self.ci_type]} transformation, robust "
                         "(infinitesimal-jackknife) variance; + censored; risk table: "
                         "unweighted numbers")
        from .common import figure_note

        return "\n".join(lines) + figure_note(self.o["simulated"])

    def _iptw_one(self, lab: str, treat: str, levels: list[str]):
        from ..render.km import tick_times
        from ..stats.cox import CoxModel
        from ..stats.evalue import evalue_hr
        from ..stats.km_summary import risk_table
        from ..stats.survival import km_table
        from ..stats.weighting import balance_table, iptw

        cfg = self.o["iptw"]
        what = f"IPTW in {lab}"
        d0 = self.d
        d0 = d0[(d0["group"] == lab) & d0[treat].isin(levels)].copy()
        d0[treat] = d0[treat].astype(str)
        lv = [t for t in levels if (d0[treat] == t).any()]
        row = {"subset": lab, "comparison": f"{levels[1]} vs {levels[0]} (reference)",
               "n": len(d0), "events": int(d0[self.E].sum())}
        if len(lv) < 2:
            self.notes.add(what, f"not analysed: only {lv or 'no'} treatment recorded")
            return None
        if self.few(row["events"]):
            self.notes.add(what, f"not analysed: {self.few(row['events'])}")
            self.iptw_rows.append(pd.DataFrame([{**row, "analysis": "not analysed",
                                                 "warning": self.few(row["events"])}]))
            return None
        d0["treated"] = (d0[treat] == levels[1]).astype(int)
        d, covs, cat, labels = self._model_frame(d0, cfg.get("confounders") or [], what)
        if not covs:
            self.notes.add(what, "not analysed: no confounder has data")
            return None
        d = d[d[covs].notna().all(axis=1)].copy()
        n_cc = len(d)
        # crude Cox on the same patients
        rows = []
        ties = self._cox_options()["ties"]
        try:
            crude = CoxModel(ties=ties).fit(d, self.T, self.E, ["treated"])
            s = crude.summary().iloc[0]
            rows.append({**row, "analysis": "crude Cox", "n_used": crude.n,
                         "events_used": crude.nevent, "hr": s["hr"], "lower": s["lower"],
                         "upper": s["upper"], "p": s["p"], "test": s["test"],
                         "ci_method": s["ci_method"], "warning": s["warning"]})
        except ValueError as e:
            rows.append({**row, "analysis": "crude Cox", "warning": str(e)})
        trunc = cfg.get("truncate", [0.01, 0.99])
        try:
            w = iptw(d, "treated", covs, categorical=cat, treated_level=1,
                     stabilised=bool(cfg.get("stabilised", True)),
                     truncate=tuple(trunc) if trunc else None)
        except ValueError as e:
            self.notes.add(what, f"weights not estimated: {e}")
            rows.append({**row, "analysis": "IPTW", "warning": str(e)})
            self.iptw_rows.append(pd.DataFrame(rows))
            return None
        d["iptw"] = w["weight"]
        bal = balance_table(d, "treated", covs, categorical=cat, weights="iptw",
                            treated_level=1, threshold=float(cfg.get("smd_threshold", 0.1)))
        bal.insert(0, "subset", lab)
        bal["label"] = bal["variable"].map(labels)
        self.balance_rows.append(bal)
        fit = CoxModel(ties=ties).fit(d, self.T, self.E, ["treated"],
                                      weights="iptw", robust=True)
        s = fit.summary().iloc[0]
        wrow = {**row, "analysis": "IPTW-weighted Cox (robust SE)", "n_used": fit.n,
                "events_used": fit.nevent, "hr": s["hr"], "lower": s["lower"],
                "upper": s["upper"], "p": s["p"], "test": s["test"],
                "ci_method": s["ci_method"], "warning": s["warning"],
                "weights": w.attrs["weight_method"],
                "weight_min": float(w["weight"].min()), "weight_max": float(w["weight"].max()),
                "n_truncated": w.attrs["n_truncated"],
                "max_smd_before": float(bal["smd_unweighted"].max()),
                "max_smd_after": float(bal["smd_weighted"].max())}
        rows.append(wrow)
        rare = bool(cfg.get("rare_outcome", False))
        if all(np.isfinite([s["hr"], s["lower"], s["upper"]])):
            ev = evalue_hr(float(s["hr"]), float(s["lower"]), float(s["upper"]),
                           rare_outcome=rare)
            for e in ev.itertuples(index=False):
                rows.append({**row, "analysis": f"E-value ({e.quantity})", "hr": e.hr,
                             "evalue": e.evalue, "ci_method": e.method,
                             "warning": "" if rare else
                             "outcome assumed common (survival.iptw.rare_outcome: false)"})
        for r in rows:
            r["n_complete_confounders"] = n_cc
        self.iptw_rows.append(pd.DataFrame(rows))
        # weighted KM
        km = km_table(d, self.T, self.E, treat, group_order=lv,
                      conf_type=self.ci_type, weights="iptw")
        self.km.append(km.assign(endpoint=self.ep.abbreviation, comparison=f"{treat} (IPTW-weighted)",
                                 subset=lab).pipe(_front, {"endpoint": 0, "comparison": 0,
                                                           "subset": 0}))
        rt = risk_table(d, self.T, self.E, treat,
                        tick_times(self.o["xmax_months"], self.ticks_every), group_order=lv)
        smd_after = wrow["max_smd_after"]
        note = (f"Weighted Cox HR {s['hr']:.2f} ({s['lower']:.2f}-{s['upper']:.2f}), "
                f"{_fmt_p(s['p'])}\n(robust SE; {self._arm_label(levels[1])} vs {self._arm_label(levels[0])})\n"
                f"Max |SMD| after weighting {smd_after:.2f}")
        return km, rt, lv, bal, note

    # ----------------------------------------------------------------- journal tables
    def _level_labels(self) -> dict[str, dict[str, str]]:
        """Display labels of the Cox model's factor levels: the covariate's ``level_labels``
        (Table 1's where the covariate gives none, as the logistic tables), the treatment's
        arm labels, "No"/"Yes" for a yes/no variable; else the level as written."""
        specs = {v["name"]: v for v in self.o["cox"].get("covariates") or []}
        treat = self._treatment()[0]
        out: dict[str, dict[str, str]] = {}
        for var, levels in self.cox_meta["cat"].items():
            given = {str(k): str(x) for k, x in
                     (specs.get(var, {}).get("level_labels") or {}).items()}
            lab: dict[str, str] = {}
            for lv in map(str, levels):
                if lv in given:
                    lab[lv] = given[lv]
                elif var == treat:
                    lab[lv] = self._arm_label(lv)
                elif lv in ("no", "yes"):
                    lab[lv] = lv.capitalize()
            out[var] = lab
        return out

    def journal_tables(self, out: dict[str, str | None], skipped: str = "") -> None:
        """HTML (report) and Word versions of the summary, Cox, IPTW, RMST and landmark
        tables; ``out``: the stage's output paths (``out_summary_html``, ...); a table whose
        paths are None is not an output of the study."""
        from ..render.display import cox_regression_display
        from ..render.format import sup
        from ..render.tables import DisplayTable

        sim = ["SIMULATED data: no real patient is represented."] if self.o[
            "simulated"] else []

        def note_table(title: str, why: str) -> DisplayTable:
            return DisplayTable(pd.DataFrame([["not analysed", why]]),
                                header=[["Status", "Reason"]], title=title, footnotes=sim)

        def write(disp: DisplayTable, name: str, landscape: bool = False) -> None:
            _write_table(disp, out.get(f"out_{name}_html"), out.get(f"out_{name}_docx"),
                         landscape)

        group_name = self.o["groups"].get("name") or "Group"
        # summary: one block per endpoint and comparison
        title = f"{self.ep.name} by {group_name}: events, median and landmark estimates"
        if skipped or not self.summary:
            write(note_table(title, skipped or "no result"), "summary")
        else:
            summ = pd.concat(self.summary, ignore_index=True)
            tests = pd.concat(self.tests, ignore_index=True) if self.tests else pd.DataFrame()
            lms = [f"{x:g}" for x in self.o["landmarks_months"]]
            rows, indent = [], []
            for (ep, comp, sub), blk in summ.groupby(["endpoint", "comparison", "subset"],
                                                     sort=False):
                name = {"group": f"by {group_name}", "pCR": "by pCR",
                        self._treatment()[0]: f"by {self.treatment_name}"}.get(
                    comp, f"by {comp}")
                head = f"{ep} {name}" + ("" if sub == "all" else f", {sub}")
                t = tests[(tests["endpoint"] == ep) & (tests["comparison"] == comp)
                          & (tests["subset"] == sub)] if len(tests) else tests
                rows.append([head, "", "", "", *([""] * len(lms)),
                             _p_text(t["p"].iloc[0]) if len(t) else ""])
                indent.append(0)
                for r in blk.itertuples(index=False):
                    lab = PCR_LABELS.get(r.group, self._arm_label(r.group)) \
                        if comp != "group" else r.group
                    rows.append([lab, str(int(r.n)), str(int(r.events)), r.median_text,
                                 *[getattr(r, f"surv_{k}_text") for k in lms], ""])
                    indent.append(1)
            header = [["", "n", "Events", "Median, months (95% CI)",
                       *[f"{k} months, % (95% CI)" for k in lms], "Log-rank p"]]
            foot = [(f"Kaplan-Meier estimates; pointwise {self.ci_text}; median CI: "
                    "Brookmeyer-Crowley. NR: not reached. Log-rank: Mantel-Haenszel test "
                    "(R survdiff)."), self.spec["definition"] + "."]
            disp = DisplayTable(pd.DataFrame(rows), header=header, title=title,
                                footnotes=foot + sim, indent=indent)
            write(disp, "summary")
        # Cox
        title = f"Cox proportional hazards models: {self.ep.name.lower()}"
        cox = pd.concat(self.cox_rows, ignore_index=True) if self.cox_rows else None
        if skipped or cox is None:
            disp = note_table(title, skipped or self.why.get("cox", "no model"))
        else:
            meta = self.cox_meta
            flagged = set(cox.loc[cox["footnote"].fillna("").str.contains("cox.zph"),
                                  "variable"])
            vlabels = {v: meta["labels"].get(v, v) + (sup("†") if v in flagged else "")
                       for v in meta["labels"]}
            extra = []
            if flagged:
                extra.append(sup("†") + " Proportional hazards doubtful in the multivariable "
                             "model (cox.zph p < 0.05): "
                             + "; ".join(f"{meta['labels'].get(v, v)} p = "
                                         f"{cox.loc[cox['variable'] == v, 'zph_p'].dropna().iloc[0]:.3f}"
                                         for v in sorted(flagged)) + ".")
            opts = meta["opts"]
            extra.append(f"Ties: {opts['ties']}; variance: {cox['variance'].iloc[0]}"
                         + (f"; stratified by {opts['strata']}" if opts["strata"] else "")
                         + ". Univariable models on the complete cases of each covariate, the "
                         "multivariable model on complete cases of all.")
            from ..stats.adequacy import events_per_variable

            for model, blk in cox.groupby("model", sort=False):
                if "epv_below" in blk and blk["epv_below"].fillna(False).astype(bool).any():
                    r = blk.iloc[0]
                    n_par = int(round(r["nevent"] / r["epv"])) if r["epv"] else 0
                    note = events_per_variable(int(r["nevent"]), n_par)["note"]
                    if note and model == "multivariable":
                        extra.append(f"Multivariable model: {note}.")
                    elif note:
                        extra.append(f"Univariable models with {note}.")
                        break
            mvc = cox["concordance"].dropna()
            if len(mvc):
                extra.append(f"Concordance (Harrell's C) of the multivariable model "
                             f"{mvc.iloc[0]:.3f} (SE {cox['concordance_se'].dropna().iloc[0]:.3f}).")
            disp = cox_regression_display(
                cox, title=title, variable_labels=vlabels, level_labels=self._level_labels(),
                model_labels={"univariable": "Univariable", "multivariable": "Multivariable"},
                extra_notes=extra + sim)
        write(disp, "cox")
        self._rmst_table(out, skipped, note_table, sim)
        self._landmark_table(out, skipped, note_table, sim)
        # IPTW
        if out.get("out_iptw_html") is None:  # the study has no treatment to compare
            return
        treat, levels = self._treatment()
        title = (f"{self.ep.name}: {self._arm_label(levels[1])} versus "
                 f"{self._arm_label(levels[0])} inside each group, crude and IPTW"
                 if treat else f"{self.ep.name}: treatment arms inside each group")
        iptw = pd.concat(self.iptw_rows, ignore_index=True) if self.iptw_rows else None
        if skipped or iptw is None or "hr" not in iptw:
            write(note_table(title, skipped or self.why.get("iptw", "no result")), "iptw")
            return
        rows = []
        for sub, blk in iptw.groupby("subset", sort=False):
            def pick(name: str, blk=blk) -> pd.Series | None:
                r = blk[blk["analysis"] == name]
                return r.iloc[0] if len(r) else None
            crude, w = pick("crude Cox"), pick("IPTW-weighted Cox (robust SE)")
            ev = pick("E-value (estimate)")
            ev_ci = pick("E-value (CI limit closer to 1)")

            def hr(r: pd.Series | None) -> str:
                return "" if r is None else _ci_text(r["hr"], r["lower"], r["upper"], 2,
                                                      "not estimable")
            rows.append([sub, str(int(blk["n"].iloc[0])), str(int(blk["events"].iloc[0])),
                         hr(crude), _p_text(crude["p"]) if crude is not None else "",
                         hr(w), _p_text(w["p"]) if w is not None else "",
                         "" if ev is None else f"{ev['evalue']:.2f} ({ev_ci['evalue']:.2f})",
                         "" if w is None else f"{w['max_smd_before']:.2f} / "
                                              f"{w['max_smd_after']:.2f}"])
        cfg = self.o["iptw"]
        header = [[group_name, "n", "Events", "Crude HR (95% CI)", "p", "IPTW HR (95% CI)", "p",
                   "E-value (CI)", "Max |SMD| before / after"]]
        foot = [(f"HR of {self._arm_label(levels[1])} vs {self._arm_label(levels[0])} "
                 f"({self.treatment_name}); Cox models, "
                 f"{self._cox_options()['ties']} ties; IPTW: weighted Cox model with robust "
                 "(sandwich) SE."),
                self._iptw_footnote(cfg).split("\n")[1] + "; "
                + self._iptw_footnote(cfg).split("\n")[2] + ".",
                "E-value (VanderWeele & Ding 2017) of the IPTW HR and of its CI limit closer "
                "to 1; outcome assumed "
                + ("rare (RR = HR)." if cfg.get("rare_outcome", False) else
                   "common (square-root conversion of the HR)."),
                ("SMD: absolute standardised mean difference; balance threshold "
                f"{cfg.get('smd_threshold', 0.1):g}.")]
        write(DisplayTable(pd.DataFrame(rows), header=header, title=title,
                           footnotes=foot + sim), "iptw", landscape=True)

    def _rmst_table(self, out: dict, skipped: str, note_table: Any, sim: list[str]) -> None:
        """RMST per group (and by pCR) with the difference and its z test."""
        from ..render.format import format_estimate
        from ..render.tables import DisplayTable

        tau = float(self.o["rmst_horizon_months"])
        title = f"{self.ep.name}: restricted mean survival time (RMST) to {tau:g} months"
        html, docx = out.get("out_rmst_html"), out.get("out_rmst_docx")
        if skipped or not self.rmst_rows:
            why = skipped or "; ".join(r["note"] for r in self.notes.rows
                                       if r["analysis"].startswith("RMST")) or "no result"
            _write_table(note_table(title, why), html, docx)
            return
        t = pd.concat(self.rmst_rows, ignore_index=True)
        group_name = self.o["groups"].get("name") or "Group"
        rows, indent = [], []
        for comp, blk in t.groupby("comparison", sort=False):
            def lab(g: str, comp=comp) -> str:
                return PCR_LABELS.get(g, g) if comp == "pCR" else g
            rows.append([f"{self.ep.abbreviation} by "
                         + (group_name if comp == "group" else comp), "", "", "", "", ""])
            indent.append(0)
            for r in blk[blk["row"] == "group"].itertuples(index=False):
                rows.append([lab(r.group), str(int(r.n)), str(int(r.events)),
                             _ci_text(r.rmst, r.lower, r.upper, 1, "not estimable"), "", ""])
                indent.append(1)
            for r in blk[blk["row"] == "difference"].itertuples(index=False):
                a, _, b = str(r.contrast).partition(" - ")
                rows.append([f"Difference, {lab(a)} \u2212 {lab(b)}", "", "", "",
                             format_estimate(r.diff, r.lower, r.upper, 1)
                             if np.isfinite(r.diff) else "not estimable", _p_text(r.p)])
                indent.append(1)
        header = [["", "n", "Events", "RMST, months (95% CI)", "Difference, months (95% CI)",
                   "p"]]
        g = t[t["row"] == "group"].iloc[0]
        d = t[t["row"] == "difference"]
        foot = [f"RMST: area under the Kaplan-Meier curve up to {tau:g} months; CI: "
                f"{g['ci_method']}."]
        if len(d):
            foot.append(f"Difference: {d['ci_method'].iloc[0]}; p: {d['test'].iloc[0]}.")
        foot.append(self.spec["definition"] + ".")
        _write_table(DisplayTable(pd.DataFrame(rows), header=header, title=title,
                                  footnotes=foot + sim, indent=indent), html, docx)

    def _landmark_table(self, out: dict, skipped: str, note_table: Any,
                        sim: list[str]) -> None:
        """The endpoint by pCR among patients event-free and followed at the landmark."""
        from ..render.tables import DisplayTable

        html, docx = out.get("out_landmark_html"), out.get("out_landmark_docx")
        if html is None and docx is None:  # the study does not analyse pCR
            return
        L = float(self.o["landmark_months"])
        title = f"{self.ep.name} by pCR from the {L:g}-month landmark"
        if skipped or not self.landmark_rows:
            why = skipped or self.why.get("landmark", "no result")
            _write_table(note_table(title, why), html, docx)
            return
        t = pd.concat(self.landmark_rows, ignore_index=True)
        rows = []
        for i, r in enumerate(t.itertuples(index=False)):
            if pd.isna(r.median):
                lo = f"{r.lower:.1f}" if pd.notna(r.lower) else "NR"
                up = f"{r.upper:.1f}" if pd.notna(r.upper) else "NR"
                med = f"NR ({lo}\u2013{up})"
            else:
                med = _ci_text(r.median, r.lower, r.upper, 1, "NR")
            rows.append([r.group, str(int(r.n)), str(int(r.event_before)),
                         str(int(r.censored_before)), str(int(r.at_landmark)),
                         str(int(r.events)), med, _p_text(r.p) if i == 0 else ""])
        header = [["", "n", f"Events before {L:g} months", f"Censored before {L:g} months",
                   "At the landmark", "Events after", "Median from the landmark, months "
                   "(95% CI)", "Log-rank p"]]
        r0 = t.iloc[0]
        foot = [f"Patients event-free and under follow-up at {L:g} months, time reset to the "
                f"landmark. NR: not reached. Median CI: {r0['ci_method']}; p: {r0['test']}"
                + (f" ({r0['warning']})" if isinstance(r0["warning"], str) and r0["warning"]
                   else "") + ".",
                f"pCR: {self._pcr_definition()}.", self.spec["definition"] + "."]
        _write_table(DisplayTable(pd.DataFrame(rows), header=header, title=title,
                                  footnotes=foot + sim), html, docx)

    # ----------------------------------------------------------------- landmark, RMST
    def landmark_rmst(self) -> None:
        from ..stats.km_summary import landmark, rmst, rmst_difference

        tau = float(self.o["rmst_horizon_months"])
        L = float(self.o["landmark_months"])
        d = self.d
        pcr_frame = (self._pcr_frame() if self.pcr_on and "landmark" not in self.why
                     else None)
        for by, frame, levels in (("group", d, self.present),
                                  ("pCR", pcr_frame, ["no", "yes"])):
            if frame is None:
                continue
            col = "group" if by == "group" else "pcr_status"
            lv = [x for x in levels if (frame[col] == x).any()]
            if len(lv) < 2:
                continue
            n_ev = int(frame[self.E].sum())
            if self.few(n_ev):
                self.notes.add(f"RMST by {by}", f"not reported: {self.few(n_ev)}")
                continue
            try:
                per = rmst(frame, self.T, self.E, col, tau, group_order=lv)
                diff = rmst_difference(frame, self.T, self.E, col, tau,
                                       group_order=lv)
            except ValueError as e:
                self.notes.add(f"RMST by {by}", f"not computed: {e}")
                continue
            per.insert(0, "comparison", by)
            diff.insert(0, "comparison", by)
            self.rmst_rows += [per.assign(row="group"), diff.assign(row="difference")]
        if "landmark" in self.why or not self.pcr_on:
            return
        frame = self._pcr_frame()
        try:
            res = landmark(frame, self.T, self.E, "pcr_status", L,
                           group_order=["no", "yes"], conf_type=self.ci_type)
        except ValueError as e:
            self.why["landmark"] = str(e)
            self.notes.add(f"Landmark {self.ep.abbreviation} by pCR", f"not computed: {e}")
            return
        out = res["counts"].merge(res["median"][["group", "events", "median", "lower",
                                                 "upper", "ci_method"]],
                                  on="group", how="left")
        lr = res["logrank"]
        events = int(res["data"][self.E].sum())
        out["landmark_months"] = L
        if lr is not None and not self.few(events):
            out["test"], out["statistic"], out["p"] = lr["test"], lr["statistic"], lr["p"]
            out["warning"] = lr["warning"]
        else:
            out["test"], out["statistic"], out["p"] = "log-rank", np.nan, np.nan
            out["warning"] = (f"{events} event(s) after the landmark: test not reported"
                              if lr is not None else "one pCR level left at the landmark")
        out["group"] = out["group"].map(PCR_LABELS)
        out["note"] = (f"patients event-free and under follow-up at {L:g} months; time reset "
                       "to the landmark")
        self.landmark_rows.append(out)


def _write_table(disp: Any, html: str | None, docx: str | None,
                 landscape: bool = False) -> None:
    """A display table as HTML and Word (body 8-9 pt: portrait where it fits, else
    landscape, else narrower margins; a table wider than all of them gets a page naming
    the HTML)."""
    from ..render.tables import DisplayTable, write_docx, write_html

    if html:
        write_html(disp, html)
    if not docx:
        return
    tries = ([] if landscape else [("portrait", 25.4)]) + [("landscape", 25.4),
                                                           ("landscape", 12.7)]
    for orientation, margins in tries:
        try:
            write_docx(disp, docx, orientation=orientation, margins_mm=margins,
                       font_size=9.0, min_font_size=8.0)
            return
        except ValueError:
            continue
    from pathlib import Path

    write_docx(DisplayTable(pd.DataFrame([[f"Too wide for a Word page: the table is in "
                                           f"{Path(html).name if html else 'the CSV'}."]]),
                            header=[[disp.title or "Table"]], title=disp.title,
                            footnotes=disp.footnotes), docx, orientation="landscape")


def _level_counts(table: pd.DataFrame, d: pd.DataFrame, event: str, cat: dict) -> None:
    """Columns ``level_n`` and ``level_events`` of a Cox table (in place): the patients with
    the variable recorded (each level of a factor) and their events, i.e. the univariable
    model's sample, counted in the model frame ``d``."""
    table["level_n"] = np.nan
    table["level_events"] = np.nan
    for var in dict.fromkeys(table["variable"]):
        rows = table["variable"] == var
        has = d[var].notna()
        if var in cat:
            # counts per distinct value (missing: code -1), then per value as text
            codes, uniq = pd.factorize(d[var])
            ok = codes >= 0
            n_u = np.bincount(codes[ok], minlength=len(uniq))
            ev_u = np.bincount(codes[ok], weights=d[event].to_numpy(dtype=float)[ok],
                               minlength=len(uniq))
            n: dict[str, int] = {}
            ev: dict[str, float] = {}
            for u, k, e in zip(uniq, n_u.tolist(), ev_u.tolist(), strict=True):
                n[str(u)] = n.get(str(u), 0) + k
                ev[str(u)] = ev.get(str(u), 0) + e
            lv = table.loc[rows, "level"].astype(str)
            table.loc[rows, "level_n"] = lv.map(n).fillna(0).to_numpy()
            table.loc[rows, "level_events"] = lv.map(ev).fillna(0).to_numpy()
        else:
            table.loc[rows, "level_n"] = int(has.sum())
            table.loc[rows, "level_events"] = int(d.loc[has, event].sum())
    table["level_n"] = table["level_n"].astype(int)
    table["level_events"] = table["level_events"].astype(int)


def _ratio_rule(table: pd.DataFrame) -> None:
    """A hazard ratio running to 0 or infinity (or with such an interval) is not estimable:
    no HR, interval or p in its row, the reason in ``warning`` (in place). The one rule of
    the headline estimates too (:func:`her2cohort.stats.adequacy.ratio_rule`); ``coef`` and
    ``se`` stay as the model left them."""
    from ..stats.adequacy import ratio_rule

    judged = ratio_rule(table, "hr", "lower", "upper", "p",
                        rows=~table["reference"].astype(bool))
    for c in ("hr", "lower", "upper", "p", "warning"):
        table[c] = judged[c]


def _ci_text(v: float, lo: float, up: float, digits: int, missing: str) -> str:
    """'89.6 (86.7-92.5)' for tables; NR for a limit not reached."""
    if v is None or not np.isfinite(v):
        return missing
    def f(x: float) -> str:
        return f"{x:.{digits}f}" if x is not None and np.isfinite(x) else "NR"
    return f"{f(v)} ({f(lo)}\u2013{f(up)})"


def _p_text(p: float) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _front(df: pd.DataFrame, tags: dict) -> pd.DataFrame:
    keys = [k for k in tags if not k.startswith("_")]
    return df[keys + [c for c in df.columns if c not in keys]]
