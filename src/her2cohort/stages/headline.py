"""The headline estimates of one result set, computed from the analysis-ready table: used by
the sensitivity variants (one job each) so that every variant reports the same quantities.
Not a rule of its own."""

from __future__ import annotations

import pandas as pd


def headline(analysed: pd.DataFrame, *, groups: dict, pcr_test: str = "pearson",
             km_ci: str = "log", landmark: float = 60.0) -> list[dict]:
    """Rows ``{quantity, group, estimate, lower, upper, n, events, p, test, ci_method}``: group
    sizes, pCR rates and their comparison (test and logistic OR with profile CI), DFS events,
    log-rank p, Cox HR, and DFS at ``landmark`` months with a ``km_ci`` CI."""
    from ..stats.logistic import fit_logistic
    from ..stats.proportions import compare_proportions, rate_table
    from ..stats.survival import cox, km_at, logrank
    from .common import group_setup

    df, labels = group_setup(groups, analysed)
    df = df[df["group"].notna()]
    present = [lab for lab in labels if (df["group"] == lab).any()]
    rows = [{"quantity": "patients", "group": lab, "n": int((df["group"] == lab).sum())}
            for lab in labels]
    if len(present) < 2:
        return rows
    versus = f"{present[1]} vs {present[0]}"

    def proportion(name: str, data: pd.DataFrame, flag: pd.Series, by: str, order: list,
                   test: str, label_for=lambda x: x, where: str = "") -> None:
        """Rate per level of ``by`` with Wilson CI, and the test across levels."""
        d = data.assign(_y=flag.astype(int))
        d = d[d[by].isin(order)]
        levels = [lv for lv in order if (d[by] == lv).any()]
        if len(levels) < 2:
            return
        for r in rate_table(d, "_y", by, group_order=levels, ci="wilson").itertuples(
                index=False):
            rows.append({"quantity": name, "group": where + label_for(r.group),
                         "estimate": r.pct, "lower": r.lower, "upper": r.upper, "n": r.n,
                         "events": r.events, "ci_method": "Wilson score 95%"})
        t = compare_proportions(d, "_y", by, test=test, group_order=levels)
        rows.append({"quantity": f"{name}: test", "group": where + " vs ".join(
            label_for(lv) for lv in reversed(levels)), "p": t["p"], "test": t["test"]})

    hr = df[df["hr_status"].notna()]
    if len(hr):
        proportion("HR-positive (%)", hr, hr["hr_status"] == "positive", "group", present,
                   pcr_test)
    loss = df[df["her2_loss"].notna()]
    if len(loss):
        proportion("HER2 loss after therapy (%)", loss, loss["her2_loss"].astype(bool),
                   "group", present, "fisher")
    has = df[df["pcr"].notna()].copy()
    if has["group"].nunique() == 2:
        has["pcr_int"] = has["pcr"].astype(int)
        for r in rate_table(has, "pcr_int", "group", group_order=present,
                            ci="wilson").itertuples(index=False):
            rows.append({"quantity": "pCR rate (%)", "group": r.group, "estimate": r.pct,
                         "lower": r.lower, "upper": r.upper, "n": r.n, "events": r.events,
                         "ci_method": "Wilson score 95%"})
        t = compare_proportions(has, "pcr_int", "group", test=pcr_test, group_order=present)
        rows.append({"quantity": "pCR difference", "group": f"{present[1]} vs {present[0]}",
                     "p": t["p"], "test": t["test"]})
        for lab in present:
            sub = has[has["group"] == lab]
            proportion("pCR by anti-HER2 (%)", sub, sub["pcr"].astype(bool), "anti_her2",
                       ["single", "dual"], pcr_test, where=f"{lab}: ")
        fit = fit_logistic(has, "pcr_int", ["group"], categorical={"group": present},
                           ci="profile-mass")
        c = fit.coef[fit.coef["term"] != "(Intercept)"].iloc[0]
        rows.append({"quantity": "pCR odds ratio", "group": f"{present[1]} vs {present[0]}",
                     "estimate": c["odds_ratio"], "lower": c["or_lower"], "upper": c["or_upper"],
                     "p": c["p"], "test": c["test"], "ci_method": c["ci_method"]})
    surv = df[df["dfs_months"].notna() & df["dfs_event"].notna()].copy()
    if surv["group"].nunique() == 2 and surv["dfs_event"].sum() > 0:
        surv["dfs_event"] = surv["dfs_event"].astype(int)
        for lab in present:
            sub = surv[surv["group"] == lab]
            rows.append({"quantity": "DFS events", "group": lab, "n": len(sub),
                         "events": int(sub["dfs_event"].sum())})
        lr = logrank(surv, "dfs_months", "dfs_event", "group", group_order=present)
        rows.append({"quantity": "DFS log-rank", "group": versus,
                     "estimate": lr["statistic"], "p": lr["p"], "test": lr["test"]})
        for lab in present:
            sub = surv[(surv["group"] == lab) & surv["anti_her2"].isin(["single", "dual"])]
            if sub["anti_her2"].nunique() == 2 and sub["dfs_event"].sum() > 0:
                lr_in = logrank(sub, "dfs_months", "dfs_event", "anti_her2",
                                group_order=["single", "dual"])
                rows.append({"quantity": "DFS by anti-HER2: log-rank",
                             "group": f"{lab}: dual vs single", "estimate": lr_in["statistic"],
                             "p": lr_in["p"], "test": lr_in["test"], "n": len(sub),
                             "events": int(sub["dfs_event"].sum())})
        hr = cox(surv, "dfs_months", "dfs_event", ["group"],
                 categorical={"group": present}).iloc[0]
        rows.append({"quantity": "DFS hazard ratio", "group": f"{present[1]} vs {present[0]}",
                     "estimate": hr["hr"], "lower": hr["lower"], "upper": hr["upper"],
                     "p": hr["p"], "test": hr.get("test", "Wald"),
                     "ci_method": hr.get("ci_method", "Wald")})
        at = km_at(surv, "dfs_months", "dfs_event", "group", at=[landmark],
                   group_order=present, conf_type=km_ci)
        for r in at.itertuples(index=False):
            rows.append({"quantity": f"DFS at {landmark:g} months (%)", "group": r.group,
                         "estimate": 100 * r.surv, "lower": 100 * r.lower,
                         "upper": 100 * r.upper, "ci_method": r.ci_method})
    return rows
