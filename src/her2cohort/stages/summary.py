"""Rule ``summary``: every headline number at full precision with stable keys
(``results/summary.json``), and the Results paragraph and the abstract's results sentence written
from those numbers (``results/manuscript.md``), so that text can never drift from numbers.

The numbers are the main analysis's headline estimates (``results/sensitivity/main.csv``, the
same computation every sensitivity variant makes) plus the flow and follow-up tables."""

from __future__ import annotations

import math
import re


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9+]+", "_", text.lower()).strip("_")


def _num(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return v
    return v


def estimates(long) -> dict:
    """{key: record} with key ``<quantity>/<group>`` in slug form (stable across runs)."""
    import pandas as pd

    out = {}
    for r in long.to_dict("records"):
        key = f"{slug(r['quantity'])}/{slug(str(r['group']))}"
        rec = {k: _num(v) for k, v in r.items() if k != "variant" and not pd.isna(v)}
        for k in ("n", "events"):
            if k in rec:
                rec[k] = int(rec[k])
        out[key] = rec
    return out


def _pct(x: float) -> str:
    return f"{x:.1f}%"


def _p(p: float) -> str:
    from ..render.format import format_p

    text = format_p(p)  # gtsummary style_pvalue
    return f"p {text[0]} {text[1:]}" if text.startswith(("<", ">")) else f"p = {text}"


def _ci(r: dict, digits: int = 2, unit: str = "") -> str:
    """'0.23 (95% CI 0.13–0.38)' or with a unit '84.2% (95% CI 80.5–88.0%)'."""
    from ..render.format import format_number

    f = lambda x: format_number(x, digits) + unit
    return f"{f(r['estimate'])} (95% CI {f(r['lower'])}\u2013{f(r['upper'])})"


def manuscript(est: dict, *, groups: list[str], flow: dict, followup: dict | None,
               choices: dict, simulated: bool) -> str:
    """The Results paragraph and abstract sentence; every number comes from ``est``."""
    g1, g2 = groups
    s1, s2 = slug(g1), slug(g2)
    vs = slug(f"{g2} vs {g1}")
    get = est.get
    parts = []
    tests_used: dict[str, set[str]] = {}

    def used(test: str, what: str) -> None:
        tests_used.setdefault(test, set()).add(what)

    n1, n2 = get(f"patients/{s1}", {}).get("n", 0), get(f"patients/{s2}", {}).get("n", 0)
    parts.append(
        f"Of {flow['received']} records received from {flow['centres']} centre"
        f"{'s' if flow['centres'] != 1 else ''}, {flow['analysed']} patients were analysed: "
        f"{n1} {g1} and {n2} {g2} ({flow['quarantined']} records were set aside for data "
        f"defects and {flow['excluded']} excluded by the eligibility criteria).")
    hr1, hr2 = get(f"hr_positive/{s1}"), get(f"hr_positive/{s2}")
    hrt = get(f"hr_positive_test/{vs}")
    if hr1 and hr2 and hrt:
        more = "higher" if hr2["estimate"] > hr1["estimate"] else "lower"
        parts.append(f"Compared with {g1}, the {g2} group had a {more} proportion of "
                     f"HR-positive tumours ({_pct(hr1['estimate'])} vs {_pct(hr2['estimate'])}; "
                     f"{_p(hrt['p'])}).")
        used(hrt["test"], "HR status")
    p1, p2 = get(f"pcr_rate/{s1}"), get(f"pcr_rate/{s2}")
    pt, orr = get(f"pcr_difference/{vs}"), get(f"pcr_odds_ratio/{vs}")
    if p1 and p2 and pt:
        text = (f"pCR ({choices['pcr_definition']}) was achieved in {_pct(p1['estimate'])} "
                f"({p1['events']}/{p1['n']}) of {g1} and {_pct(p2['estimate'])} "
                f"({p2['events']}/{p2['n']}) of {g2} patients ({_p(pt['p'])}")
        if orr:
            text += f"; odds ratio {_ci(orr)}"
        parts.append(text + ").")
        used(pt["test"], "pCR")
    for g, s in ((g2, s2), (g1, s1)):
        single = get(f"pcr_by_anti_her2/{s}_single")
        dual = get(f"pcr_by_anti_her2/{s}_dual")
        t = get(f"pcr_by_anti_her2_test/{s}_dual_vs_single")
        if single and dual and t:
            parts.append(f"Within {g}, pCR was {_pct(dual['estimate'])} ({dual['events']}/"
                         f"{dual['n']}) with trastuzumab plus pertuzumab and "
                         f"{_pct(single['estimate'])} ({single['events']}/{single['n']}) with "
                         f"trastuzumab alone ({_p(t['p'])}).")
            used(t["test"], "pCR by anti-HER2 therapy")
    l1, l2 = get(f"her2_loss_after_therapy/{s1}"), get(f"her2_loss_after_therapy/{s2}")
    lt = get(f"her2_loss_after_therapy_test/{vs}")
    if l1 and l2 and lt:
        parts.append(f"Among residual tumours re-tested after therapy, HER2 loss occurred in "
                     f"{_pct(l1['estimate'])} ({l1['events']}/{l1['n']}) of {g1} and "
                     f"{_pct(l2['estimate'])} ({l2['events']}/{l2['n']}) of {g2} "
                     f"({_p(lt['p'])}).")
        used(lt["test"], "HER2 loss")
    lr, hr = get(f"dfs_log_rank/{vs}"), get(f"dfs_hazard_ratio/{vs}")
    if lr and hr:
        direction = "worse" if hr["estimate"] > 1 else "better"
        signif = lr["p"] < 0.05
        text = (f"Disease-free survival ({choices['dfs']}) {'was' if signif else 'tended to be'}"
                f" {direction} in {g2} than in {g1} (hazard ratio {_ci(hr)}; log-rank "
                f"{_p(lr['p'])}")
        if not signif:
            text += ", not significant"
        five = [get(k) for k in est if k.startswith("dfs_at_")]
        d1 = next((v for k, v in est.items() if k.startswith("dfs_at_") and k.endswith(s1)),
                  None)
        d2 = next((v for k, v in est.items() if k.startswith("dfs_at_") and k.endswith(s2)),
                  None)
        if d1 and d2 and five:
            months = re.search(r"(\d+(\.\d+)?)", d1["quantity"]).group(1)
            text += f"; {months}-month DFS {_ci(d1, 1, '%')} vs {_ci(d2, 1, '%')}"
        parts.append(text + ").")
        used(lr["test"], "DFS")
        for g, s in ((g2, s2), (g1, s1)):
            t = get(f"dfs_by_anti_her2_log_rank/{s}_dual_vs_single")
            if t:
                parts.append(f"Within {g}, DFS did not differ significantly between dual and "
                             f"single anti-HER2 therapy ({_p(t['p'])})." if t["p"] >= 0.05
                             else f"Within {g}, DFS differed between dual and single anti-HER2 "
                             f"therapy ({_p(t['p'])}).")
    if followup:
        parts.append(f"Median follow-up was {followup['median']:.1f} months (reverse "
                     "Kaplan-Meier).")
    methods = "; ".join(f"{test} ({', '.join(sorted(w))})"
                        for test, w in sorted(tests_used.items()))
    ci_note = ("Intervals: Wilson score 95% CI for proportions, profile-likelihood 95% CI for "
               "odds ratios, Wald 95% CI for hazard ratios.")
    abstract = ""
    if p1 and p2 and pt:
        abstract = (f"Compared with {g1}, {g2} tumours had a lower pCR rate "
                    if p2["estimate"] < p1["estimate"] else
                    f"Compared with {g1}, {g2} tumours had a higher pCR rate ")
        abstract += (f"({_pct(p2['estimate'])} vs {_pct(p1['estimate'])}; {_p(pt['p'])})")
        if lr and hr:
            abstract += (f", and disease-free survival {'' if lr['p'] < 0.05 else 'tended to be '}"
                         f"{'worse' if hr['estimate'] > 1 else 'better'} (hazard ratio "
                         f"{_ci(hr)}; {_p(lr['p'])})")
        abstract += "."
    head = "# Results (generated from results/summary.json; do not edit by hand)\n\n"
    if simulated:
        head += "**SIMULATED demo data: no real patient is represented.**\n\n"
    return (head + " ".join(parts) + "\n\n"
            + f"P-values: {methods}. {ci_note} HER2 status by ASCO/CAP "
              f"{choices['her2_guideline']}.\n\n"
            + "## Abstract, results sentence\n\n" + abstract + "\n")


def main(*, in_headline, in_flow, in_followup=None, out_json, out_md, groups, title,
         simulated, pcr_definition, her2_guideline, study=None) -> None:
    import json
    from pathlib import Path

    import pandas as pd

    long = pd.read_csv(in_headline)
    est = estimates(long)
    flow = pd.read_csv(in_flow)
    received = int(flow.loc[flow["id"] == "received", "n_after"].iloc[0])
    quarantined = int(flow.loc[flow["id"] == "quarantined", "n_excluded"].iloc[0])
    analysed = int(flow["n_after"].iloc[-1])
    centres = len([c for c in flow.columns if c.startswith("n_") and c not in
                   ("n_before", "n_excluded", "n_after")])
    flow_d = {"received": received, "quarantined": quarantined, "analysed": analysed,
              "excluded": received - quarantined - analysed, "centres": centres}
    followup = None
    if isinstance(in_followup, (list, tuple)):
        in_followup = in_followup[0] if in_followup else None
    if in_followup and Path(in_followup).exists():
        fu = pd.read_csv(in_followup)
        if "median" in fu:
            followup = {k: _num(v) for k, v in fu.iloc[0].to_dict().items()
                        if not pd.isna(v)}
    labels = [groups.get("labels", {}).get(lv, lv) for lv in groups["levels"]]
    dfs = ((study or {}).get("endpoints") or {}).get("dfs") or {}
    choices = {"pcr_definition": pcr_definition, "her2_guideline": her2_guideline,
               "dfs": f"from {dfs.get('origin', 'surgery').replace('_', ' ')}; events "
                      f"{', '.join(e.replace('_', ' ') for e in dfs.get('events', []))}"}
    doc = {"study": title, "simulated": simulated, "groups": labels, "choices": choices,
           "flow": flow_d, "followup": followup, "estimates": est}
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    with open(out_json, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    text = manuscript(est, groups=labels, flow=flow_d, followup=followup, choices=choices,
                      simulated=simulated)
    Path(out_md).write_text(text, encoding="utf-8", newline="\n")
    print(text)
