"""The headline estimates of one result set, computed from the analysis-ready table: used by
the sensitivity variants (one job each) so that every variant reports the same quantities.
Not a rule of its own."""

from __future__ import annotations

import pandas as pd


def _guarded(rows: list[dict], quantity: str, group: str, make) -> None:
    """Append the row ``make()`` builds; a test or model that is not defined on these data
    (a constant outcome, all events at one time, ...) gives a row saying why instead."""
    try:
        rows.append(make())
    except ValueError as e:
        rows.append({"quantity": quantity, "group": group, "note": f"not estimable: {e}"})


def headline(analysed: pd.DataFrame, *, groups: dict, pcr_test: str = "pearson",
             km_ci: str = "log", landmark: float = 60.0,
             adjusted: dict | None = None) -> list[dict]:
    """Rows ``{quantity, group, estimate, lower, upper, n, events, p, test, ci_method, note}``:
    group sizes, pCR rates and their comparison (test and logistic OR with profile CI), DFS
    events, log-rank p, Cox HR, DFS at ``landmark`` months with a ``km_ci`` CI and, with
    ``adjusted`` (keys ``missing``, ``pcr_covariates``, ``dfs_covariates``, ``pcr_imputation``,
    ``dfs_imputation``), the group's adjusted OR and HR by complete case or by multiple
    imputation."""
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
        vs = where + " vs ".join(label_for(lv) for lv in reversed(levels))

        def test_row() -> dict:
            t = compare_proportions(d, "_y", by, test=test, group_order=levels)
            return {"quantity": f"{name}: test", "group": vs, "p": t["p"], "test": t["test"],
                    "note": t["warning"]}

        _guarded(rows, f"{name}: test", vs, test_row)

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
        def pcr_test_row() -> dict:
            t = compare_proportions(has, "pcr_int", "group", test=pcr_test,
                                    group_order=present)
            return {"quantity": "pCR difference", "group": versus, "p": t["p"],
                    "test": t["test"], "note": t["warning"]}

        _guarded(rows, "pCR difference", versus, pcr_test_row)
        for lab in present:
            sub = has[has["group"] == lab]
            proportion("pCR by anti-HER2 (%)", sub, sub["pcr"].astype(bool), "anti_her2",
                       ["single", "dual"], pcr_test, where=f"{lab}: ")
        crude = {"quantity": "pCR odds ratio", "group": versus, "note": ""}
        try:
            _complete_case_or(crude, has.assign(group=has["group"].astype(object)),
                              ["group"], {"group": present}, adjusted or {})
        except ValueError as e:
            crude["note"] = f"not estimable: {e}"
        crude["note"] = crude["note"].lstrip("; ") or None
        rows.append(crude)
        if adjusted:
            rows.append(_adjusted_or(has, present, adjusted))
    surv = df[df["dfs_months"].notna() & df["dfs_event"].notna()].copy()
    if surv["group"].nunique() == 2 and surv["dfs_event"].sum() > 0:
        surv["dfs_event"] = surv["dfs_event"].astype(int)
        for lab in present:
            sub = surv[surv["group"] == lab]
            rows.append({"quantity": "DFS events", "group": lab, "n": len(sub),
                         "events": int(sub["dfs_event"].sum())})
        def logrank_row() -> dict:
            lr = logrank(surv, "dfs_months", "dfs_event", "group", group_order=present)
            return {"quantity": "DFS log-rank", "group": versus, "estimate": lr["statistic"],
                    "p": lr["p"], "test": lr["test"], "note": lr["warning"]}

        _guarded(rows, "DFS log-rank", versus, logrank_row)
        for lab in present:
            sub = surv[(surv["group"] == lab) & surv["anti_her2"].isin(["single", "dual"])]
            if sub["anti_her2"].nunique() == 2 and sub["dfs_event"].sum() > 0:
                def within_row(sub=sub, lab=lab) -> dict:
                    lr_in = logrank(sub, "dfs_months", "dfs_event", "anti_her2",
                                    group_order=["single", "dual"])
                    return {"quantity": "DFS by anti-HER2: log-rank",
                            "group": f"{lab}: dual vs single", "estimate": lr_in["statistic"],
                            "p": lr_in["p"], "test": lr_in["test"], "n": len(sub),
                            "events": int(sub["dfs_event"].sum()), "note": lr_in["warning"]}

                _guarded(rows, "DFS by anti-HER2: log-rank", f"{lab}: dual vs single",
                         within_row)
        def cox_row() -> dict:
            hr = cox(surv, "dfs_months", "dfs_event", ["group"],
                     categorical={"group": present}).iloc[0]
            return {"quantity": "DFS hazard ratio", "group": versus, "estimate": hr["hr"],
                    "lower": hr["lower"], "upper": hr["upper"], "p": hr["p"],
                    "test": hr["test"], "ci_method": hr["ci_method"],
                    "note": hr["warning"] or None}

        _guarded(rows, "DFS hazard ratio", versus, cox_row)
        at = km_at(surv, "dfs_months", "dfs_event", "group", at=[landmark],
                   group_order=present, conf_type=km_ci)
        for r in at.itertuples(index=False):
            rows.append({"quantity": f"DFS at {landmark:g} months (%)", "group": r.group,
                         "estimate": 100 * r.surv, "lower": 100 * r.lower,
                         "upper": 100 * r.upper, "ci_method": r.ci_method})
        if adjusted:
            rows.append(_adjusted_hr(surv, present, adjusted))
    return rows


def _model_frame(df: pd.DataFrame, specs: list, present: list
                 ) -> tuple[pd.DataFrame, list[str], dict, list[str]]:
    """The group (first) and every configured covariate with data: numbers stay numbers,
    yes/no flags become "no"/"yes", other values are levels (the configured order, then any
    other value seen). A covariate recorded for nobody, or with one level only, is left out
    and named in the fourth item (as the response stage footnotes it)."""
    d = df.copy()
    covs, cat, left_out = ["group"], {"group": list(present)}, []
    for spec in specs or []:
        name = spec["name"] if isinstance(spec, dict) else str(spec)
        if name in covs:
            continue
        if name not in d.columns or d[name].notna().sum() == 0:
            left_out.append(f"{name} (recorded for no patient)")
            continue
        s = d[name]
        if pd.api.types.is_bool_dtype(s) or (s.dtype == object
                                             and set(s.dropna().unique()) <= {True, False}):
            s = s.map({True: "yes", False: "no"}, na_action="ignore")
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            d[name] = s.astype(float)
            covs.append(name)
            continue
        seen = list(pd.unique(s.dropna()))
        want = list((spec.get("levels") if isinstance(spec, dict) else None) or [])
        levels = [v for v in want if v in seen] + sorted(
            (v for v in seen if v not in want), key=str)
        if len(levels) < 2:
            left_out.append(f"{name} (one level only)")
            continue
        d[name] = s.astype(object).where(s.notna(), None)
        covs.append(name)
        cat[name] = levels
    return d, covs, cat, left_out


def _adjusted_row(quantity: str, present: list, d: pd.DataFrame, covs: list,
                  left_out: list[str], method: str) -> dict:
    how = (method.replace("_", " ") if d[covs].isna().any(axis=None)
           else "none in the covariates used")
    note = f"adjusted for {', '.join(covs[1:]) or 'nothing'}"
    if left_out:
        note += f"; not in the model: {', '.join(left_out)}"
    return {"quantity": quantity, "group": f"{present[1]} vs {present[0]}",
            "note": f"{note}; missing covariate values: {how}"}


def _constant_outcome(y: pd.Series, what: str) -> None:
    """An OR needs patients with and without the outcome among those used."""
    if y.nunique(dropna=True) < 2:
        raise ValueError(f"{what} is the same for every patient used ({int(y.sum())} of "
                         f"{int(y.notna().sum())}); no odds ratio")


def _adjusted_or(has: pd.DataFrame, present: list, adjusted: dict) -> dict:
    """The group's pCR odds ratio adjusted for the configured covariates: complete case
    (ML or Firth by ``pcr_method``/``pcr_min_cell`` as the response stage; profile-likelihood
    CI as R's confint, Wald p of the term) or multiple imputation (chained equations, Rubin's
    rules). Pooling is of ML fits only: where the stated rule calls for Firth (separation or
    a sparse cell), the pooled OR is not reported and the note says why."""
    from ..stats.logistic import choose_method
    from ..stats.pooling import pooled_logistic

    method = adjusted.get("missing", "complete_case")
    d, covs, cat, left_out = _model_frame(has, adjusted.get("pcr_covariates") or [], present)
    row = _adjusted_row("Adjusted pCR odds ratio", present, d, covs, left_out, method)
    n_inc = int(d[covs].isna().any(axis=1).sum())
    try:
        _constant_outcome(d["pcr_int"], "pCR")
        if method == "multiple_imputation" and n_inc:
            how = str(adjusted.get("pcr_method", "auto")).lower()
            if how == "auto":  # the stated rule, on the complete cases
                try:
                    rule = choose_method(d, "pcr_int", covs, cat,
                                         min_cell=int(adjusted.get("pcr_min_cell", 5)))
                    how, why = rule["method"].lower(), rule["reason"]
                except ValueError as e:  # e.g. no complete case in a group
                    how = "ml"
                    row["note"] += f"; ML/Firth rule not checkable on complete cases ({e})"
            else:
                why = f"pcr.models.method is {adjusted.get('pcr_method')}"
            if how == "firth":
                raise ValueError(f"pooling of Firth fits is not implemented and ML is not "
                                 f"appropriate here (Firth: {why}); see the complete-case "
                                 "estimate of the main analysis")
            imp = adjusted.get("pcr_imputation") or {}
            res = pooled_logistic(d[["pcr_int", *covs]].reset_index(drop=True), "pcr_int", covs,
                                  cat, m=int(imp.get("m", 20)), seed=int(imp.get("seed", 1)),
                                  n_iter=int(imp.get("iterations", 10)), complete_case=False)
            c = res[res["variable"] == "group"].iloc[0]
            row.update(estimate=c["odds_ratio"], lower=c["or_lower"], upper=c["or_upper"],
                       p=c["p"], test=c["test"], ci_method=c["ci_method"], n=int(c["n"]))
            row["note"] += f" (m = {int(c['m'])}, {n_inc} incomplete rows imputed)"
        else:
            _complete_case_or(row, d, covs, cat, adjusted)
            if n_inc:
                row["note"] += f" ({n_inc} incomplete rows left out)"
    except ValueError as e:
        row["note"] += f"; not estimable: {e}"
    return row


def _complete_case_or(row: dict, d: pd.DataFrame, covs: list, cat: dict, opts: dict) -> int:
    """Fill ``row`` with the group's OR from the complete rows: ML, or Firth's penalised
    likelihood by the rule of the response stage (``opts``: ``pcr_method`` auto | ML | Firth,
    ``pcr_min_cell``); profile-likelihood CI. Returns the number of rows used."""
    from ..stats.logistic import choose_method, fit_firth, fit_logistic

    _constant_outcome(d.dropna(subset=covs)["pcr_int"], "pCR")
    how = str(opts.get("pcr_method", "auto"))
    if how.lower() == "auto":
        rule = choose_method(d, "pcr_int", covs, cat, min_cell=int(opts.get("pcr_min_cell", 5)))
        how = rule["method"]
        if how == "Firth":
            row["note"] += f"; Firth: {rule['reason']}"
    firth = how.lower() == "firth"
    fit = (fit_firth if firth else fit_logistic)(
        d, "pcr_int", covs, categorical=cat, ci="profile" if firth else "profile-mass")
    if fit.warnings:
        row["note"] += "; " + "; ".join(fit.warnings)
    c = fit.coef[fit.coef["variable"] == "group"].iloc[0]
    row.update(estimate=c["odds_ratio"], lower=c["or_lower"], upper=c["or_upper"], p=c["p"],
               test=c["test"], ci_method=c["ci_method"], n=fit.n_used)
    return fit.n_used


def _adjusted_hr(surv: pd.DataFrame, present: list, adjusted: dict) -> dict:
    """The group's DFS hazard ratio adjusted for the configured covariates, with the ties,
    strata and variance of ``survival.cox`` (``adjusted["dfs_cox"]``): complete case, or
    multiple imputation with the event indicator and the Nelson-Aalen cumulative hazard as
    predictors and Rubin's rules (as mice::pool)."""
    from ..stats.cox import CoxModel
    from ..stats.pooling import impute_for_cox, pooled_cox
    from .common import cox_options

    method = adjusted.get("missing", "complete_case")
    d, covs, cat, left_out = _model_frame(surv, adjusted.get("dfs_covariates") or [], present)
    row = _adjusted_row("Adjusted DFS hazard ratio", present, d, covs, left_out, method)
    opts = cox_options(adjusted.get("dfs_cox") or {})
    for key in ("strata", "cluster"):
        if opts[key] and opts[key] not in d.columns:
            row["note"] += f"; {key} column '{opts[key]}' is not in the data: not used"
            opts[key] = None
    if opts["strata"]:
        row["note"] += f"; stratified by {opts['strata']}"
    if opts["robust"]:
        row["note"] += ("; cluster-robust variance by " + opts["cluster"] if opts["cluster"]
                        else "; robust (sandwich) variance")
    n_inc = int(d[covs].isna().any(axis=1).sum())
    try:
        if method == "multiple_imputation" and n_inc:
            imp = adjusted.get("dfs_imputation") or {}
            m = int(imp.get("m", 20))
            completed = impute_for_cox(d, "dfs_months", "dfs_event", covs, cat, m=m,
                                       seed=int(imp.get("seed", 1)),
                                       n_iter=int(imp.get("iterations", 10)))
            c = pooled_cox(completed, "dfs_months", "dfs_event", covs, cat, **opts).iloc[0]
            row.update(estimate=c["hr"], lower=c["hr_lower"], upper=c["hr_upper"], p=c["p"],
                       test=c["test"], ci_method=c["ci_method"], n=int(c["n"]))
            row["note"] += f" (m = {m}, {n_inc} incomplete rows imputed)"
        else:
            fit = CoxModel(ties=opts["ties"]).fit(
                d, "dfs_months", "dfs_event", covs, categorical=cat, strata=opts["strata"],
                cluster=opts["cluster"], robust=opts["robust"])
            summ = fit.summary()
            c = summ.iloc[0]
            row.update(estimate=c["hr"], lower=c["lower"], upper=c["upper"], p=c["p"],
                       test=c["test"], ci_method=c["ci_method"], n=int(fit.n))
            warnings = [w for w in summ["warning"] if w]
            if warnings:
                row["note"] += "; " + "; ".join(warnings)
            if n_inc:
                row["note"] += f" ({n_inc} incomplete rows left out)"
    except ValueError as e:
        row["note"] += f"; not estimable: {e}"
    return row
