"""The headline estimates of one result set, computed from the analysis-ready table: used by
the sensitivity variants (one job each) so that every variant reports the same quantities, and
by the summary (``summary.json``, the Results text). Not a rule of its own.

Every name comes from the study definition (``study:``): the compared groups (k >= 2 levels of
the exposure, the first the reference), the endpoints (every ``study.endpoints`` entry, by its
abbreviation), the treatment compared inside each group (its arms; none without
``study.treatment``). Each row carries a stable ``key`` (``<quantity>/<group>`` in slug form;
treatment arms and endpoints by their ids) for ``summary.json``."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from ..render.words import slug
from ..stats.adequacy import ratio_not_estimable, too_few_events

#: Baseline proportions shown per group: (column, value counted, quantity). Left out when the
#: column is the exposure itself (a comparison by HR status has no "HR-positive" row).
BASELINE_PROPORTIONS = (("hr_status", "positive", "HR-positive (%)"),)


def frame_digest(frame: pd.DataFrame) -> str:
    """A digest of ``frame``'s contents: column names, dtypes, values and missing cells in row
    order (equal digests: equal frames). Text and categories by their codes of first
    appearance and the values coded, numbers by their bytes: about 0.05 s per column of a
    million rows."""
    h = hashlib.sha256()
    for name in frame.columns:
        s = frame[name]
        h.update(f"{name!r}:{s.dtype}:{len(s)};".encode())
        h.update(s.isna().to_numpy(dtype=bool).tobytes())
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            h.update(s.to_numpy(dtype="float64", na_value=0.0).tobytes())
        else:
            codes, uniques = pd.factorize(s)
            h.update(codes.astype(np.int64).tobytes())
            h.update(repr([(type(v).__name__, v) for v in uniques]).encode())
    return h.hexdigest()


def _plain(value):
    """A row value as plain Python (numpy scalars as int, float, bool; missing as None or
    NaN), so that a block's rows read back from JSON are the rows it made."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if value is pd.NA:
        return None
    raise TypeError(f"headline row value of type {type(value).__name__}: {value!r}")


class Blocks:
    """The rows of :func:`headline`, made block by block. ``reuse``: blocks made for another
    result set (``{name: {"fingerprint", "rows"}}``; the sensitivity variants take the main
    analysis'): a block whose fingerprint (its data's :func:`frame_digest` and every setting
    it reads) is the same gets those rows instead of computing them again. ``made``: every
    block of this call, for the others to reuse; ``reused``: the names taken over."""

    def __init__(self, reuse: dict | None = None) -> None:
        self.reuse = reuse or {}
        self.made: dict[str, dict] = {}
        self.reused: list[str] = []

    def run(self, rows: list[dict], name: str, digest: str, settings: dict, make) -> None:
        """Append block ``name``'s rows to ``rows``: ``make()`` appends them unless the block
        of ``reuse`` has the same data (``digest``) and ``settings``."""
        fingerprint = hashlib.sha256(
            (digest + json.dumps(settings, sort_keys=True, default=repr)).encode()).hexdigest()
        start = len(rows)
        old = self.reuse.get(name)
        if old is not None and old["fingerprint"] == fingerprint:
            rows.extend(json.loads(json.dumps(old["rows"])))
            self.reused.append(name)
        else:
            make()
            rows[start:] = [_plain(r) for r in rows[start:]]
        self.made[name] = {"fingerprint": fingerprint,
                           "rows": json.loads(json.dumps(rows[start:]))}


def _guarded(rows: list[dict], quantity: str, group: str, make, key: str | None = None) -> None:
    """Append the row ``make()`` builds; a test or model that is not defined on these data
    (a constant outcome, all events at one time, ...) gives a row saying why instead."""
    try:
        rows.append(make())
    except ValueError as e:
        rows.append({"quantity": quantity, "group": group, "note": f"not estimable: {e}",
                     **({"key": key} if key else {})})


def _across(levels: list[str]) -> str:
    """The group cell of a test across levels: ``"B vs A"`` for two levels (the compared level
    first, as an effect estimate reads), ``"across A, B, C"`` for more."""
    return " vs ".join(reversed(levels)) if len(levels) == 2 else "across " + ", ".join(levels)


def _events01(s: pd.Series) -> pd.Series:
    """An event column (0/1, bool or boolean) as integers; missing stays missing."""
    return pd.to_numeric(s.astype("Float64"), errors="coerce")


def headline(analysed: pd.DataFrame, *, study: dict, groups: dict | None = None,
             pcr_test: str = "pearson", km_ci: str = "log", landmark: float = 60.0,
             adjusted: dict | None = None, min_events: int = 5,
             blocks: Blocks | None = None) -> list[dict]:
    """Rows ``{key, quantity, group, estimate, lower, upper, n, events, p, test, ci_method,
    note}`` for the study ``study`` (the config's ``study:`` section; ``groups`` defaults to
    its exposure's groups):

    * group sizes; baseline proportions (HR-positive) unless the exposure is that variable; HER2
      loss after therapy where re-tested;
    * pCR (where recorded): rate per group (Wilson CI), the test across the k groups
      (``pcr_test``), the odds ratio of each level vs the reference (k - 1 rows, logistic,
      profile CI) and, inside each group, the rate per treatment arm and their test;
    * per endpoint of ``study.endpoints`` (columns ``<id>_months``, ``<id>_event``): events per
      group, the k-group log-rank test, the Cox hazard ratio of each level vs the reference
      (k - 1 rows, Wald CI) and, for k > 2, the likelihood-ratio test of the k - 1 terms;
      survival at ``landmark`` months (``km_ci`` CI); inside each group the log-rank test
      across treatment arms;
    * with ``adjusted`` (keys ``missing``, ``pcr_covariates``, ``cox_covariates`` (older:
      ``dfs_covariates``), ``pcr_imputation``, ``cox_imputation`` (``dfs_imputation``),
      ``cox`` (``dfs_cox``), ``pcr_method``, ``pcr_min_cell``): the adjusted OR and HR of
      each level vs the reference, by complete case or by multiple imputation.

    The rules of the survival tables hold here too: with fewer than ``min_events`` events
    (``survival.min_events``) no test or model of that comparison is reported, and a hazard
    ratio running to 0 or infinity (a group without events) is "not estimable", never a
    number.

    ``blocks`` (:class:`Blocks`): the rows are made block by block (baseline proportions, pCR,
    adjusted OR, and per endpoint its tests and hazard ratios, its landmark survival, its
    adjusted HR); a block whose data and settings are those of a block in ``blocks.reuse`` (the
    main analysis' blocks) takes that block's rows instead of fitting again, and every block
    made is recorded in ``blocks.made``.
    """
    from ..stats.proportions import compare_or_reason, rate_table
    from ..stats.survival import cox, km_at, logrank
    from ..study.definition import from_dict
    from .common import group_setup

    defn = from_dict(study)
    groups = groups or defn.exposure.as_groups()
    exposure_column = groups["column"]
    # only the columns read below: every subset and model frame is then a copy of a few
    # columns, not of the whole analysis-ready table
    df, labels = group_setup(groups, analysed[_columns_read(analysed.columns, defn, groups,
                                                            adjusted)])
    df = df[df["group"].notna()]
    blocks = blocks or Blocks()
    present = [lab for lab in labels if (df["group"] == lab).any()]
    rows = [{"quantity": "patients", "group": lab, "n": int((df["group"] == lab).sum())}
            for lab in labels]
    if len(present) < 2:
        return _keyed(rows)
    ref = present[0]
    vs = {lab: f"{lab} vs {ref}" for lab in present[1:]}

    def proportion(name: str, data: pd.DataFrame, flag: pd.Series, by: str, order: list,
                   test: str, label_for=lambda x: x, where: str = "",
                   key: tuple[str, str] | None = None, what: str = "the outcome") -> None:
        """Rate per level of ``by`` with Wilson CI, and the test across levels. ``key``:
        (quantity key, prefix of the group key) when the levels are ids (treatment arms)."""
        d = data.assign(_y=flag.astype(int))
        d = d[d[by].isin(order)]
        levels = [lv for lv in order if (d[by] == lv).any()]
        if len(levels) < 2:
            return
        for r in rate_table(d, "_y", by, group_order=levels, ci="wilson").itertuples(
                index=False):
            row = {"quantity": name, "group": where + label_for(r.group),
                   "estimate": r.pct, "lower": r.lower, "upper": r.upper, "n": r.n,
                   "events": r.events, "ci_method": "Wilson score 95%"}
            if key:
                row["key"] = f"{key[0]}/{slug(key[1] + '_' + str(r.group))}"
            rows.append(row)
        across = where + _across([label_for(lv) for lv in levels])
        tkey = (f"{key[0]}_test/{slug(key[1] + '_' + _across([str(lv) for lv in levels]))}"
                if key else None)

        def test_row() -> dict:
            t = compare_or_reason(d, "_y", by, test=test, group_order=levels, what=what)
            out = ({"quantity": f"{name}: test", "group": across, "note": t["warning"]}
                   if t["test"] == "not tested" else
                   {"quantity": f"{name}: test", "group": across, "p": t["p"],
                    "test": t["test"], "note": t["warning"]})
            return {**out, "key": tkey} if tkey else out

        _guarded(rows, f"{name}: test", across, test_row, tkey)

    # every block's settings: the groups, the words of the study other than its endpoints
    # (the treatment and its arms), the levels present
    context = {"groups": groups, "study": {k: v for k, v in study.items() if k != "endpoints"},
               "present": present}

    def baseline() -> None:
        for column, value, name in BASELINE_PROPORTIONS:
            if column == exposure_column or column not in df:
                continue
            sub = df[df[column].notna()]
            if len(sub):
                proportion(name, sub, sub[column] == value, "group", present, pcr_test,
                           what=f"{value} {column}")
        if "her2_loss" in df and exposure_column != "her2_loss":
            loss = df[df["her2_loss"].notna()]
            if len(loss):
                proportion("HER2 loss after therapy (%)", loss, loss["her2_loss"].astype(bool),
                           "group", present, "fisher", what="HER2 loss")

    base_cols = [c for c in ("group", "her2_loss", *(c for c, _, _ in BASELINE_PROPORTIONS))
                 if c in df]
    blocks.run(rows, "baseline", frame_digest(df[base_cols]),
               {**context, "pcr_test": pcr_test}, baseline)
    tr = defn.treatment
    if tr is not None and (tr.column not in df or tr.column == exposure_column):
        tr = None
    if "pcr" in df and exposure_column != "pcr":
        has = df[df["pcr"].notna()].copy()
        with_pcr = [lab for lab in present if (has["group"] == lab).any()]
        if len(with_pcr) >= 2:
            def digest(*more) -> str:  # of the columns a pCR block reads
                return frame_digest(has[["group", "pcr", *(c for c in more if c in has)]])

            # the crude OR follows the adjusted models' ML/Firth rule
            rule = {k: (adjusted or {}).get(k) for k in ("pcr_method", "pcr_min_cell")}
            blocks.run(rows, "pcr", digest(), {**context, "with_pcr": with_pcr,
                                             "pcr_test": pcr_test, **rule},
                       lambda: _pcr_rows(rows, has, with_pcr, pcr_test, rate_table,
                                         compare_or_reason, bool(groups.get("ordered")),
                                         adjusted))
            if adjusted:
                names = [spec["name"] if isinstance(spec, dict) else str(spec)
                         for spec in adjusted.get("pcr_covariates") or []]
                blocks.run(rows, "pcr_adjusted", digest(*names),
                           {**context, "with_pcr": with_pcr,
                            **{k: v for k, v in adjusted.items()
                               if k == "missing" or k.startswith("pcr_")}},
                           lambda: _pcr_adjusted_rows(rows, has, with_pcr, adjusted))

            def by_treatment() -> None:
                for lab in with_pcr:
                    sub = has[has["group"] == lab]
                    proportion(f"pCR by {tr.name} (%)", sub, sub["pcr"].astype(bool),
                               tr.column, tr.ids, pcr_test, label_for=tr.label,
                               where=f"{lab}: ", key=(f"pcr_by_{slug(tr.column)}", lab),
                               what="pCR")

            if tr is not None:
                blocks.run(rows, "pcr_by_treatment", digest(tr.column),
                           {**context, "with_pcr": with_pcr, "pcr_test": pcr_test},
                           by_treatment)
    for ep in defn.endpoints:
        if ep.time not in df or ep.event not in df:
            continue  # not computed for these data (its fields are not recorded)
        # the endpoint's rows read its own columns, the treatment and the Cox models' ones:
        # its subsets copy only those
        keep = {"group", ep.time, ep.event, ep.source, *_cox_columns(adjusted)}
        if tr is not None:
            keep.add(tr.column)
        _endpoint_rows(rows, df[[c for c in df.columns if c in keep]], ep, present, tr, km_ci,
                       landmark, adjusted, cox, km_at, logrank, min_events,
                       bool(groups.get("ordered")), blocks=blocks, context=context)
    return _keyed(rows)


def headline_columns(columns, *, study: dict, groups: dict | None = None,
                     adjusted: dict | None = None) -> list[str]:
    """Of ``columns`` (an analysis-ready table's), those :func:`headline` reads, in order."""
    from ..study.definition import from_dict

    defn = from_dict(study)
    return _columns_read(columns, defn, groups or defn.exposure.as_groups(), adjusted)


def _columns_read(columns, defn, groups: dict, adjusted: dict | None) -> list[str]:
    """The ``columns`` that :func:`headline` reads (in their order): the exposure, the
    baseline proportions, pCR and HER2 loss, the treatment, every endpoint's time, event and
    data source, the adjusted models' covariates and their strata and cluster columns."""
    want = {groups["column"], "pcr", "her2_loss", *(c for c, _, _ in BASELINE_PROPORTIONS)}
    if defn.treatment is not None:
        want.add(defn.treatment.column)
    for ep in defn.endpoints:
        want |= {ep.time, ep.event, ep.source}
    adj = adjusted or {}
    for spec in adj.get("pcr_covariates") or []:
        want.add(spec["name"] if isinstance(spec, dict) else str(spec))
    want |= _cox_columns(adjusted)
    return [c for c in columns if c in want]


def _cox_columns(adjusted: dict | None) -> set:
    """The columns the adjusted Cox models read: their covariates, strata and cluster."""
    adj = adjusted or {}
    want = {spec["name"] if isinstance(spec, dict) else str(spec)
            for spec in adj.get("cox_covariates", adj.get("dfs_covariates")) or []}
    cox_cfg = adj.get("cox", adj.get("dfs_cox")) or {}
    for key, default in (("strata", None), ("cluster", "centre")):
        named = cox_cfg.get(key, default)
        want |= set(named) if isinstance(named, (list, tuple)) else {named}
    return want


def _keyed(rows: list[dict]) -> list[dict]:
    """Every row with its ``key`` (first column): ``<quantity>/<group>`` in slug form unless
    the row was given one (rows named by ids)."""
    return [{"key": r.get("key") or f"{slug(r['quantity'])}/{slug(r['group'])}",
             **{k: v for k, v in r.items() if k != "key"}} for r in rows]


def _pcr_rows(rows, has, present, pcr_test, rate_table, compare_or_reason,
              ordered: bool = False, adjusted: dict | None = None) -> None:
    """pCR per group, the test across the groups, the crude odds ratio of each level vs the
    reference (ML or Firth by the rule of ``adjusted``'s ``pcr_method``, ``pcr_min_cell``)."""
    has["pcr_int"] = has["pcr"].astype(int)
    for r in rate_table(has, "pcr_int", "group", group_order=present,
                        ci="wilson").itertuples(index=False):
        rows.append({"quantity": "pCR rate (%)", "group": r.group, "estimate": r.pct,
                     "lower": r.lower, "upper": r.upper, "n": r.n, "events": r.events,
                     "ci_method": "Wilson score 95%"})
    across = _across(present)

    def pcr_test_row() -> dict:
        t = compare_or_reason(has, "pcr_int", "group", test=pcr_test, group_order=present,
                              what="pCR")
        if t["test"] == "not tested":
            return {"quantity": "pCR difference", "group": across, "note": t["warning"]}
        return {"quantity": "pCR difference", "group": across, "p": t["p"],
                "test": t["test"], "note": t["warning"]}

    _guarded(rows, "pCR difference", across, pcr_test_row)
    if ordered and len(present) > 2:
        from ..stats.kgroups import proportion_trend

        def trend_row() -> dict:
            t = proportion_trend(has, "pcr_int", "group", levels=present).iloc[0]
            return {"key": f"pcr_trend/{slug(across)}", "quantity": "pCR trend",
                    "group": across, "estimate": t["statistic"], "p": t["p"],
                    "test": t["test"], "note": t["warning"] or None}

        _guarded(rows, "pCR trend", across, trend_row, f"pcr_trend/{slug(across)}")
    d = has.assign(group=has["group"].astype(object))
    crude = _level_rows("pCR odds ratio", present)
    try:
        _complete_case_or(crude, d, ["group"], {"group": present}, adjusted or {})
    except ValueError as e:
        for r in crude:
            r["note"] += f"; not estimable: {e}"
    for r in crude:
        r["note"] = r["note"].lstrip("; ") or None
    # an odds ratio running to 0 or infinity: not estimable (rows without one keep theirs)
    for r in crude:
        if pd.notna(r.get("estimate", np.nan)):
            _finite_ratio(r, "odds ratio")
    rows.extend(crude)


def _pcr_adjusted_rows(rows, has, present, adjusted: dict) -> None:
    """The adjusted odds ratio of each level vs the reference."""
    has = has.assign(pcr_int=has["pcr"].astype(int))
    adj = _adjusted_or(has, present, adjusted)
    for r in adj:
        if pd.notna(r.get("estimate", np.nan)):
            _finite_ratio(r, "odds ratio")
    rows.extend(adj)


def _endpoint_rows(rows, df, ep, present, tr, km_ci, landmark, adjusted, cox, km_at,
                   logrank, min_events: int = 5, ordered: bool = False, *,
                   blocks: Blocks | None = None, context: dict | None = None) -> None:
    """Events, log-rank, Cox HR (k - 1 rows; LR test for k > 2), within-group treatment
    log-rank, survival at the landmark and adjusted HR of one endpoint: the last three as
    blocks of ``blocks`` (:class:`Blocks`, with the settings ``context`` they share)."""
    ab, eid = ep.abbreviation, ep.id
    surv = df[df[ep.time].notna() & df[ep.event].notna()].copy()
    surv[ep.event] = _events01(surv[ep.event]).astype(int)
    in_group = {lab: (surv["group"] == lab).to_numpy(dtype=bool) for lab in present}
    have = [lab for lab in present if in_group[lab].any()]
    if len(have) < 2:
        return
    source = ""
    if ep.source in surv:
        counts = surv[ep.source].astype("string").fillna("not stated").value_counts()
        source = "; ".join(f"{k}: {int(v)}" for k, v in sorted(counts.items()))
    events = surv[ep.event].to_numpy()
    for lab in have:
        rows.append({"key": f"{eid}_events/{slug(lab)}", "quantity": f"{ab} events",
                     "group": lab, "n": int(in_group[lab].sum()),
                     "events": int(events[in_group[lab]].sum()),
                     **({"note": f"data source: {source}"} if source else {})})
    across = _across(have)
    n_events = int(surv[ep.event].sum())
    # the survival tables' rule (stats.adequacy.too_few_events): no test or model below it
    few = too_few_events(n_events, min_events)
    few = f"not estimable: {few}" if few else ""
    if n_events == 0:
        rows.append({"key": f"{eid}_log_rank/{slug(across)}", "quantity": f"{ab} log-rank",
                     "group": across, "note": few})
        return
    blocks = blocks or Blocks()
    # every block's settings: the endpoint, the groups with it (and the shared ones)
    shared = {**(context or {}), "endpoint": repr(ep), "have": have}
    times = ["group", ep.time, ep.event]

    def tests() -> None:

        def logrank_row() -> dict:
            lr = logrank(surv, ep.time, ep.event, "group", group_order=have)
            return {"key": f"{eid}_log_rank/{slug(across)}", "quantity": f"{ab} log-rank",
                    "group": across, "estimate": lr["statistic"], "p": lr["p"], "test": lr["test"],
                    "note": lr["warning"] or None}

        if few:
            rows.append({"key": f"{eid}_log_rank/{slug(across)}", "quantity": f"{ab} log-rank",
                         "group": across, "note": few})
        else:
            _guarded(rows, f"{ab} log-rank", across, logrank_row,
                     f"{eid}_log_rank/{slug(across)}")
            if ordered and len(have) > 2:
                from ..stats.kgroups import logrank_trend

                def trend_row() -> dict:
                    t = logrank_trend(surv, ep.time, ep.event, "group", levels=have).iloc[0]
                    return {"key": f"{eid}_log_rank_trend/{slug(across)}",
                            "quantity": f"{ab} log-rank trend", "group": across,
                            "estimate": t["statistic"], "p": t["p"], "test": t["test"],
                            "note": t["warning"] or None}

                _guarded(rows, f"{ab} log-rank trend", across, trend_row,
                         f"{eid}_log_rank_trend/{slug(across)}")
        if tr is not None:
            for lab in have:
                sub = surv[in_group[lab] & surv[tr.column].isin(tr.ids).to_numpy(dtype=bool)]
                arms = [a for a in tr.ids if (sub[tr.column] == a).any()]
                if len(arms) < 2 or too_few_events(sub[ep.event].sum(), min_events):
                    continue  # too few events for a test (survival.min_events), as the tables
                grp = f"{lab}: {_across([tr.label(a) for a in arms])}"
                key = f"{eid}_by_{slug(tr.column)}_log_rank/{slug(lab + '_' + _across(arms))}"

                def within_row(sub=sub, arms=arms, grp=grp, key=key) -> dict:
                    lr_in = logrank(sub, ep.time, ep.event, tr.column, group_order=arms)
                    return {"key": key, "quantity": f"{ab} by {tr.name}: log-rank", "group": grp,
                            "estimate": lr_in["statistic"], "p": lr_in["p"],
                            "test": lr_in["test"], "n": len(sub),
                            "events": int(sub[ep.event].sum()), "note": lr_in["warning"] or None}

                _guarded(rows, f"{ab} by {tr.name}: log-rank", grp, within_row, key)
        hr_rows = _level_rows(f"{ab} hazard ratio", have, key=f"{eid}_hazard_ratio")
        try:
            if few:
                raise ValueError(few.removeprefix("not estimable: "))
            fit = cox(surv, ep.time, ep.event, ["group"], categorical={"group": have})
            for row, (_, c) in zip(hr_rows, fit.iterrows(), strict=True):
                row.update(estimate=c["hr"], lower=c["lower"], upper=c["upper"], p=c["p"],
                           test=c["test"], ci_method=c["ci_method"], note=c["warning"] or None)
                _finite_ratio(row)
            rows.extend(hr_rows)
            if len(have) > 2:
                a = fit.attrs
                rows.append({"key": f"{eid}_cox_likelihood_ratio_test/{slug(across)}",
                             "quantity": f"{ab} Cox likelihood-ratio test", "group": across,
                             "estimate": a["lr_statistic"], "p": a["lr_p"],
                             "test": f"likelihood ratio, Cox model ({a['lr_df']} df)"})
        except ValueError as e:
            for row in hr_rows:
                row["note"] = f"not estimable: {e}"
            rows.extend(hr_rows)

    blocks.run(rows, f"{eid}", frame_digest(surv[times + ([tr.column] if tr else [])]),
               {**shared, "min_events": min_events, "ordered": ordered}, tests)

    def at_landmark() -> None:
        try:
            at = km_at(surv, ep.time, ep.event, "group", at=[landmark], group_order=have,
                       conf_type=km_ci)
            for r in at.itertuples(index=False):
                q = f"{ab} at {landmark:g} months (%)"
                rows.append({"key": f"{eid}_at_{slug(f'{landmark:g}')}_months/{slug(r.group)}",
                             "quantity": q, "group": r.group, "estimate": 100 * r.surv,
                             "lower": 100 * r.lower, "upper": 100 * r.upper,
                             "ci_method": r.ci_method, "n_risk": int(r.n_risk),
                             **({} if pd.notna(r.surv) else
                                {"note": "not estimable: nobody followed that long"})})
        except ValueError as e:
            rows.append({"quantity": f"{ab} at {landmark:g} months (%)", "group": across,
                         "note": f"not estimable: {e}"})

    blocks.run(rows, f"{eid}_landmark", frame_digest(surv[times]),
               {**shared, "km_ci": km_ci, "landmark": landmark}, at_landmark)
    if not adjusted:
        return

    def adjusted_hr() -> None:
        adj = _adjusted_hr(surv, have, adjusted, ep)
        for row in adj:
            if few:
                for k in ("estimate", "lower", "upper", "p"):
                    row.pop(k, None)
                row["note"] = few
            else:
                _finite_ratio(row)
        rows.extend(adj)

    blocks.run(rows, f"{eid}_adjusted",
               frame_digest(surv[times + [c for c in surv.columns if c in _cox_columns(adjusted)
                                          and c not in times]]),
               {**shared, "min_events": min_events,
                **{k: v for k, v in adjusted.items()
                   if k == "missing" or not k.startswith("pcr_")}}, adjusted_hr)


def _finite_ratio(row: dict, what: str = "hazard ratio") -> None:
    """A ratio running to 0 or infinity (no events in a group: the likelihood has no
    maximum) is not estimable: no estimate, interval or Wald p (in place). The rule of the
    survival tables' Cox rows (:func:`her2cohort.stats.adequacy.ratio_not_estimable`)."""
    if "estimate" not in row:
        return
    why = ratio_not_estimable(row.get("estimate"), row.get("lower"), row.get("upper"), what)
    if why:
        for k in ("estimate", "lower", "upper", "p"):
            row[k] = np.nan
        row["note"] = f"not estimable: {why}" + (f"; {row['note']}" if row.get("note") else "")


def _level_rows(quantity: str, present: list, note: str = "", key: str | None = None
                ) -> list[dict]:
    """One row per non-reference level (``"<level> vs <reference>"``)."""
    out = []
    for lab in present[1:]:
        group = f"{lab} vs {present[0]}"
        out.append({"quantity": quantity, "group": group, "note": note,
                    **({"key": f"{key}/{slug(group)}"} if key else {})})
    return out


def _model_frame(df: pd.DataFrame, specs: list, present: list,
                 outside_missing: bool = False
                 ) -> tuple[pd.DataFrame, list[str], dict, list[str]]:
    """The group (first) and every configured covariate with data: numbers stay numbers,
    yes/no flags become "no"/"yes", other values are levels (the configured order, then any
    other value seen). A covariate recorded for nobody, or with one level only, is left out
    and named in the fourth item (as the response stage footnotes it). With
    ``outside_missing`` (the Cox models, as the survival stage fits them) values outside a
    covariate's configured levels are missing (left out as R's na.omit, or imputed), so that
    the adjusted hazard ratio here is the survival table's."""
    d = df.copy()
    covs, cat, left_out = ["group"], {"group": list(present)}, []
    for spec in specs or []:
        name = spec["name"] if isinstance(spec, dict) else str(spec)
        if name in covs:
            continue
        if name not in d.columns:
            left_out.append(f"{name} (recorded for no patient)")
            continue
        s = d[name]
        known = s.notna()
        if not known.any():
            left_out.append(f"{name} (recorded for no patient)")
            continue
        if pd.api.types.is_bool_dtype(s) or (s.dtype == object
                                             and set(s[known].unique()) <= {True, False}):
            s = s.map({True: "yes", False: "no"}, na_action="ignore")
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            d[name] = s.astype(float)
            covs.append(name)
            continue
        want = [("yes" if x else "no") if isinstance(x, bool) else x for x in
                ((spec.get("levels") if isinstance(spec, dict) else None) or [])]
        if outside_missing and want:
            outside = known & ~s.astype(object).isin(want)
            if outside.any():
                left_out.append(f"{name}: {int(outside.sum())} value(s) outside the "
                                f"configured levels {want} treated as missing")
                s = s.where(~outside)
                known = known & ~outside
        seen = list(pd.unique(s[known]))
        levels = [v for v in want if v in seen] + sorted(
            (v for v in seen if v not in want), key=str)
        if len(levels) < 2:
            left_out.append(f"{name} (one level only)")
            continue
        d[name] = s.astype(object).where(known, None)
        covs.append(name)
        cat[name] = levels
    return d, covs, cat, left_out


def _constant_outcome(y: pd.Series, what: str) -> None:
    """An OR needs patients with and without the outcome among those used."""
    if y.nunique(dropna=True) < 2:
        raise ValueError(f"{what} is the same for every patient used ({int(y.sum())} of "
                         f"{int(y.notna().sum())}); no odds ratio")


def _adjusted_rows(quantity: str, present: list, d: pd.DataFrame, covs: list,
                   left_out: list[str], method: str, key: str) -> list[dict]:
    how = (method.replace("_", " ") if d[covs].isna().any(axis=None)
           else "none in the covariates used")
    note = f"adjusted for {', '.join(covs[1:]) or 'nothing'}"
    if left_out:
        note += f"; not in the model: {', '.join(left_out)}"
    return _level_rows(quantity, present, f"{note}; missing covariate values: {how}", key)


def _note_all(rows: list[dict], text: str) -> None:
    for r in rows:
        r["note"] += text


def _fill(rows: list[dict], table: pd.DataFrame, present: list, cols: dict) -> None:
    """Copy the group's k - 1 terms of a fitted model (``table`` has a ``level`` column with
    the group labels) into ``rows``; ``cols`` maps row keys to table columns."""
    by_level = table.set_index("level")
    for row, lab in zip(rows, present[1:], strict=True):
        if lab not in by_level.index:
            row["note"] += "; not estimable: level not in the model"
            continue
        c = by_level.loc[lab]
        row.update({k: (c[v] if v in c.index else None) for k, v in cols.items()})
        if "n" in row and row["n"] is not None:
            row["n"] = int(row["n"])


def _group_terms(table: pd.DataFrame) -> pd.DataFrame:
    """The ``group[<level>]`` terms of a Cox table, with the level in a ``level`` column."""
    t = table[table["term"].astype(str).str.startswith("group[")].copy()
    t["level"] = t["term"].astype(str).str.slice(6, -1)
    return t


def _adjusted_or(has: pd.DataFrame, present: list, adjusted: dict) -> list[dict]:
    """The pCR odds ratio of each level vs the reference adjusted for the configured
    covariates: complete case (ML or Firth by ``pcr_method``/``pcr_min_cell`` as the response
    stage; profile-likelihood CI as R's confint, Wald p of the term) or multiple imputation
    (chained equations, Rubin's rules). Pooling is of ML fits only: where the stated rule calls
    for Firth (separation or a sparse cell), the pooled OR is not reported and the note says
    why."""
    from ..stats.logistic import choose_method
    from ..stats.pooling import pooled_logistic

    method = adjusted.get("missing", "complete_case")
    d, covs, cat, left_out = _model_frame(has, adjusted.get("pcr_covariates") or [], present)
    rows = _adjusted_rows("Adjusted pCR odds ratio", present, d, covs, left_out, method,
                          "adjusted_pcr_odds_ratio")
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
                    _note_all(rows, f"; ML/Firth rule not checkable on complete cases ({e})")
            else:
                why = f"pcr.models.method is {adjusted.get('pcr_method')}"
            if how == "firth":
                raise ValueError(f"pooling of Firth fits is not implemented and ML is not "
                                 f"appropriate here (Firth: {why}); see the complete-case "
                                 "estimate of the main analysis")
            imp = adjusted.get("pcr_imputation") or {}
            m = int(imp.get("m", 20))
            res = pooled_logistic(d[["pcr_int", *covs]].reset_index(drop=True), "pcr_int", covs,
                                  cat, m=m, seed=int(imp.get("seed", 1)),
                                  n_iter=int(imp.get("iterations", 10)), complete_case=False)
            _fill(rows, res[res["variable"] == "group"], present,
                  {"estimate": "odds_ratio", "lower": "or_lower", "upper": "or_upper",
                   "p": "p", "test": "test", "ci_method": "ci_method", "n": "n"})
            _note_all(rows, f" (m = {m}, {n_inc} incomplete rows imputed)")
        else:
            _complete_case_or(rows, d, covs, cat, adjusted)
            if n_inc:
                _note_all(rows, f" ({n_inc} incomplete rows left out)")
    except ValueError as e:
        _note_all(rows, f"; not estimable: {e}")
    return rows


def _complete_case_or(rows: list[dict], d: pd.DataFrame, covs: list, cat: dict,
                      opts: dict) -> int:
    """Fill ``rows`` (one per non-reference level of the group) with the group's ORs from the
    complete rows: ML, or Firth's penalised likelihood by the rule of the response stage
    (``opts``: ``pcr_method`` auto | ML | Firth, ``pcr_min_cell``); profile-likelihood CI.
    Returns the number of rows used."""
    from ..stats.logistic import choose_method, fit_firth, fit_logistic

    _constant_outcome(d.dropna(subset=covs)["pcr_int"], "pCR")
    how = str(opts.get("pcr_method", "auto"))
    if how.lower() == "auto":
        rule = choose_method(d, "pcr_int", covs, cat, min_cell=int(opts.get("pcr_min_cell", 5)))
        how = rule["method"]
        if how == "Firth":
            _note_all(rows, f"; Firth: {rule['reason']}")
    firth = how.lower() == "firth"
    fit = (fit_firth if firth else fit_logistic)(
        d, "pcr_int", covs, categorical=cat, ci="profile" if firth else "profile-mass")
    if fit.warnings:
        _note_all(rows, "; " + "; ".join(fit.warnings))
    _fill(rows, fit.coef[fit.coef["variable"] == "group"], cat["group"],
          {"estimate": "odds_ratio", "lower": "or_lower", "upper": "or_upper", "p": "p",
           "test": "test", "ci_method": "ci_method"})
    for r in rows:
        r["n"] = int(fit.n_used)
    return fit.n_used


def _adjusted_hr(surv: pd.DataFrame, present: list, adjusted: dict, ep) -> list[dict]:
    """The hazard ratio of each level vs the reference for endpoint ``ep``, adjusted for the
    configured covariates, with the ties, strata and variance of ``survival.cox``
    (``adjusted["cox"]``): complete case, or multiple imputation with the event indicator
    and the Nelson-Aalen cumulative hazard as predictors and Rubin's rules (as mice::pool)."""
    from ..stats.cox import CoxModel
    from ..stats.pooling import impute_for_cox, pooled_cox
    from .common import cox_options

    method = adjusted.get("missing", "complete_case")
    specs = adjusted.get("cox_covariates", adjusted.get("dfs_covariates")) or []
    d, covs, cat, left_out = _model_frame(surv, specs, present, outside_missing=True)
    rows = _adjusted_rows(f"Adjusted {ep.abbreviation} hazard ratio", present, d, covs,
                          left_out, method, f"adjusted_{ep.id}_hazard_ratio")
    opts = cox_options(adjusted.get("cox", adjusted.get("dfs_cox")) or {})
    for key in ("strata", "cluster"):
        if opts[key] and opts[key] not in d.columns:
            _note_all(rows, f"; {key} column '{opts[key]}' is not in the data: not used")
            opts[key] = None
    if opts["strata"]:
        _note_all(rows, f"; stratified by {opts['strata']}")
    if opts["robust"]:
        _note_all(rows, "; cluster-robust variance by " + opts["cluster"] if opts["cluster"]
                  else "; robust (sandwich) variance")
    n_inc = int(d[covs].isna().any(axis=1).sum())
    try:
        if method == "multiple_imputation" and n_inc:
            imp = adjusted.get("cox_imputation", adjusted.get("dfs_imputation")) or {}
            m = int(imp.get("m", 20))
            completed = impute_for_cox(d, ep.time, ep.event, covs, cat, m=m,
                                       seed=int(imp.get("seed", 1)),
                                       n_iter=int(imp.get("iterations", 10)))
            res = pooled_cox(completed, ep.time, ep.event, covs, cat, **opts)
            _fill(rows, _group_terms(res), present,
                  {"estimate": "hr", "lower": "hr_lower", "upper": "hr_upper", "p": "p",
                   "test": "test", "ci_method": "ci_method", "n": "n"})
            _note_all(rows, f" (m = {m}, {n_inc} incomplete rows imputed)")
        else:
            fit = CoxModel(ties=opts["ties"]).fit(
                d, ep.time, ep.event, covs, categorical=cat, strata=opts["strata"],
                cluster=opts["cluster"], robust=opts["robust"])
            summ = fit.summary()
            _fill(rows, _group_terms(summ), present,
                  {"estimate": "hr", "lower": "lower", "upper": "upper", "p": "p",
                   "test": "test", "ci_method": "ci_method"})
            for r in rows:
                r["n"] = int(fit.n)
            warnings = [w for w in summ["warning"] if w]
            if warnings:
                _note_all(rows, "; " + "; ".join(warnings))
            if n_inc:
                _note_all(rows, f" ({n_inc} incomplete rows left out)")
    except ValueError as e:
        _note_all(rows, f"; not estimable: {e}")
    return rows
