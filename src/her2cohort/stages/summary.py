"""Rule ``summary``: every headline number at full precision with stable keys
(``results/summary.json``), and the Results paragraph and the abstract's results sentences
written from those numbers and the study definition (``results/manuscript.md``), so that text can
never drift from numbers and never names what the study does not define.

The numbers are the main analysis's headline estimates (``results/sensitivity/main.csv``, the
same computation every sensitivity variant makes, :mod:`her2cohort.stages.headline`) plus the
flow and follow-up tables. The words: group labels, endpoint names, treatment arms and drugs
come from ``study:``; sentences are made by :mod:`her2cohort.render.words` (one number format,
one hedging rule: :data:`her2cohort.render.words.HEDGING_RULE`). A sentence is written only
for an analysis whose result is in the estimates."""

from __future__ import annotations

import math
from typing import Any

from ..render import words as w
from ..render.words import slug

__all__ = ["estimates", "main", "manuscript", "slug"]


def _finite(v: Any) -> tuple[Any, bool]:
    """(JSON value, was it non-finite): NaN and +-inf become None."""
    if isinstance(v, float) and not math.isfinite(v):
        return None, True
    try:
        import numpy as np

        if isinstance(v, np.generic):
            v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                return None, True
    except ImportError:  # pragma: no cover
        pass
    return v, False


def estimates(long) -> dict:
    """{key: record}: the row's ``key`` (``<quantity>/<group>`` in slug form; stable across
    runs), else the slugs of its quantity and group. Missing values are left out; an infinite
    value is stored as null with a ``note`` saying so (JSON has no infinity)."""
    import pandas as pd

    out = {}
    for r in long.to_dict("records"):
        key = r.get("key")
        if not isinstance(key, str) or not key:
            key = f"{slug(r['quantity'])}/{slug(str(r['group']))}"
        rec, infinite = {}, []
        for k, v in r.items():
            if k in ("variant", "key") or (not isinstance(v, str) and pd.isna(v)):
                continue
            v, bad = _finite(v)
            if bad:
                infinite.append(k)
            rec[k] = v
        for k in ("n", "events"):
            if rec.get(k) is not None:
                rec[k] = int(rec[k])
        if infinite:
            msg = f"{', '.join(infinite)} not finite (infinite): stored as null"
            rec["note"] = f"{rec['note']}; {msg}" if rec.get("note") else msg
        out[key] = rec
    return out


class _Writer:
    """Builds the sentences of one Results paragraph from the estimates and the study."""

    def __init__(self, est: dict, defn, pcr_definition: str | None):
        self.est = est
        self.defn = defn
        self.labels = defn.exposure.labels
        self.pcr_definition = pcr_definition
        self.tests: dict[str, list[str]] = {}
        self.intervals: dict[str, str] = {}
        self.not_compared: list[str] = []  # "<what>: <why>" of each comparison not made

    # -- bookkeeping ----------------------------------------------------------------------
    def get(self, quantity: str, group: str) -> dict | None:
        return self.est.get(f"{quantity}/{slug(group)}")

    def used(self, rec: dict | None, what: str) -> None:
        """Name the test behind a p-value printed in the text."""
        if rec and rec.get("test") and rec.get("p") is not None:
            whats = self.tests.setdefault(str(rec["test"]), [])
            if what not in whats:
                whats.append(what)

    def interval(self, kind: str, rec: dict | None) -> None:
        if rec and rec.get("ci_method") and rec.get("lower") is not None:
            self.intervals.setdefault(kind, str(rec["ci_method"]))

    def rates(self, quantity: str, names: list[str]) -> list[tuple[str, dict]]:
        return [(g, r) for g in names if (r := self.get(quantity, g)) and r.get("n")]

    # -- proportions ----------------------------------------------------------------------
    def rate_value(self, r: dict, counts: bool = True) -> str:
        text = w.pct(r.get("estimate"))
        return f"{text} ({w.count_text(r['events'], r['n'])})" if counts else text

    def compare(self, subject: str, found: list[tuple[str, dict]], phrases: dict[str, str],
                test: dict | None, extra: str = "", counts: bool = True,
                prefix: str = "") -> str | None:
        """One sentence comparing a rate across groups (``found``: (name, record) in the
        configured order; ``phrases``: how each name reads after the value, e.g. "in IHC 3+"
        or "with trastuzumab"), hedged by the test's p-value."""
        if len(found) < 2 or not test:
            return None
        if test.get("p") is None:  # no test defined on these data: the rates and why
            why = str(test.get("note") or "")
            if "not estimable" not in why:
                return None
            why = why.split("not estimable: ", 1)[1]
            self.not_compared.append(f"{subject}: {why}")
            listed = w.join(f"{self.rate_value(r, counts)} {phrases[g]}" for g, r in found)
            text = f"{subject} was {listed}; not compared ({why})."
            return prefix + text if prefix else w.upper_first(text)
        ev = w.evidence(test["p"])
        stats = w.p_text(test["p"]) + (f"; {extra}" if extra else "")
        vals = [self.rate_value(r, counts) for _, r in found]
        (a, ra), (b, rb) = found[0], found[-1]
        if len(found) == 2 and ev in ("difference", "trend") and ra.get("estimate") is not None \
                and rb.get("estimate") is not None and ra["estimate"] != rb["estimate"]:
            way = "higher" if rb["estimate"] > ra["estimate"] else "lower"
            verb = "was" if ev == "difference" else "tended to be"
            text = (f"compared with {a}, {subject} {verb} {way} {phrases[b]}: {vals[0]} vs "
                    f"{vals[1]} ({stats}).")
        else:
            listed = w.join(f"{v} {phrases[g]}" for v, (g, _) in zip(vals, found, strict=True))
            clause = {"difference": "it differed across the groups" if len(found) > 2 else
                      "the groups differed",
                      "trend": "it tended to differ across the groups" if len(found) > 2 else
                      "the groups tended to differ",
                      "none": "no difference was detected"}[ev]
            text = f"{subject} was {listed}; {clause} ({stats})."
        return prefix + text if prefix else w.upper_first(text)

    def group_phrases(self, names: list[str]) -> dict[str, str]:
        return {g: f"in {g}" for g in names}

    def ratio_list(self, quantity: str, what: str, kind: str, names: list[str]) -> str:
        """``"odds ratio 0.23 (95% CI 0.13–0.38)"`` (two groups) or ``"odds ratios versus A:
        B 1.20 (95% CI ...), C 0.85 (...)"``; empty without an estimate."""
        ref = names[0]
        recs = [(g, r) for g in names[1:]
                if (r := self.get(quantity, f"{g} vs {ref}")) and r.get("estimate") is not None]
        if not recs:
            return ""
        for _, r in recs:
            self.interval(kind, r)
        ci = lambda r: w.ci_text(r["estimate"], r.get("lower"), r.get("upper"))
        if len(names) == 2:
            return f"{what} {ci(recs[0][1])}"
        return f"{what}s versus {ref}: " + ", ".join(f"{g} {ci(r)}" for g, r in recs)

    def across(self, names: list[str]) -> str:
        return " vs ".join(reversed(names)) if len(names) == 2 else "across " + ", ".join(names)

    # -- sentences --------------------------------------------------------------------------
    def flow(self, flow: dict) -> str:
        counts = [(g, r["n"]) for g in self.labels if (r := self.get("patients", g))]
        centres = flow["centres"]
        n = flow["analysed"]
        got = flow["received"]
        text = (f"Of {got} record{'' if got == 1 else 's'} received from {centres} centre"
                f"{'s' if centres != 1 else ''}, {n} patient{' was' if n == 1 else 's were'} "
                f"analysed: {w.join(f'{n} {g}' for g, n in counts)} ({flow['quarantined']} "
                f"record{' was' if flow['quarantined'] == 1 else 's were'} set aside for data "
                f"defects and {flow['excluded']} excluded by the eligibility criteria).")
        empty = [g for g, k in counts if not k]
        if counts and len(counts) - len(empty) < 2:  # the headline compares nothing
            why = f"no {w.join(empty, 'or')} patient was analysed"
            self.not_compared.append(why)
            text += f" The groups were not compared: {why}."
        return text

    def baseline(self) -> list[str]:
        out = []
        for quantity, subject, what in (
                ("hr_positive", "the proportion of HR-positive tumours", "HR status"),
                ("her2_loss_after_therapy", "HER2 loss after therapy (among residual tumours "
                 "re-tested)", "HER2 loss")):
            found = self.rates(quantity, self.labels)
            test = self.get(f"{quantity}_test", self.across([g for g, _ in found])) \
                if len(found) >= 2 else None
            s = self.compare(subject, found, self.group_phrases([g for g, _ in found]), test,
                             counts=quantity != "hr_positive")
            if s:
                out.append(s)
                self.used(test, what)
                for _, r in found:
                    self.interval("proportions", r)
        return out

    def pcr(self) -> list[str]:
        found = self.rates("pcr_rate", self.labels)
        if len(found) < 2:
            return []
        names = [g for g, _ in found]
        test = self.get("pcr_difference", self.across(names))
        ors = self.ratio_list("pcr_odds_ratio", "odds ratio", "odds ratios", names)
        subject = f"pCR ({self.pcr_definition})" if self.pcr_definition else "pCR"
        s = self.compare(subject, found, {g: f"in {g}" for g in names}, test, ors)
        if not s:
            return []
        self.used(test, "pCR")
        for _, r in found:
            self.interval("proportions", r)
        trend = self.get("pcr_trend", self.across(names))
        if trend and trend.get("p") is not None:  # ordered levels
            s += (f" Across the ordered groups, the test for trend in proportions gave "
                  f"{w.p_text(trend['p'])}.")
            self.used(trend, "pCR trend")
        out = [s]
        tr = self.defn.treatment
        if tr is not None:
            key = f"pcr_by_{slug(tr.column)}"
            for g in self.labels:
                arms = [(a, r) for a in tr.arms
                        if (r := self.est.get(f"{key}/{slug(g + '_' + a.id)}")) and r.get("n")]
                if len(arms) < 2:
                    continue
                ids = self.across([a.id for a, _ in arms])
                t = self.est.get(f"{key}_test/{slug(g + '_' + ids)}")
                named = [(w.drugs_text(a.label, a.drugs), r) for a, r in arms]
                s = self.compare("pCR", named, {n: f"with {n}" for n, _ in named}, t,
                                 prefix=f"Within {g}, ")
                if s:
                    out.append(s)
                    self.used(t, f"pCR by {w.lower_first(tr.name)}")
                    for _, r in arms:
                        self.interval("proportions", r)
        return out

    def endpoint(self, ep, definition: str | None, abstract: bool = False) -> list[str]:
        eid, ab = ep.id, ep.abbreviation
        events = [(g, r) for g in self.labels if (r := self.est.get(f"{eid}_events/{slug(g)}"))]
        if len(events) < 2:
            return []
        names = [g for g, _ in events]
        first = ab if abstract else w.endpoint_first(ep.name, ab, definition)
        if sum(int(r.get("events", 0)) for _, r in events) == 0:
            self.not_compared.append(f"{ab}: no events")
            return [] if abstract else [f"No {first} event was observed; {ab} was not compared."]
        lr = self.get(f"{eid}_log_rank", self.across(names))
        hrs = [(g, r) for g in names[1:]
               if (r := self.get(f"{eid}_hazard_ratio", f"{g} vs {names[0]}"))
               and r.get("estimate") is not None]
        test = lr if lr and lr.get("p") is not None else (
            hrs[0][1] if len(names) == 2 and hrs and hrs[0][1].get("p") is not None else None)
        ev_counts = w.join(f"{int(r['events'])} in {g}" for g, r in events)
        n_with = sum(int(r.get("n") or 0) for _, r in events)
        n_all = getattr(self, "n_analysed", 0)
        subset = (f" {ab} data were available for {n_with} of the {n_all} patients analysed."
                  if n_all and n_with < n_all else "")
        if test is None:  # too few events for a test (the survival tables say the same)
            if abstract:
                return []
            why = str((lr or {}).get("note") or "no test is defined on these data")
            why = why.removeprefix("not estimable: ")
            self.not_compared.append(f"{ab}: {why}")
            return [f"There were {ev_counts.replace(' in ', f' {first} events in ', 1)}; "
                    f"{ab} was not compared ({why}).{subset}"]
        ev = w.evidence(test["p"])
        what = "log-rank " if test is lr else "Wald "
        stats = what + w.p_text(test["p"])
        a = names[0]
        out = []
        if len(names) == 2:
            b = names[1]
            hr_text = ""
            if hrs:
                r = hrs[0][1]
                ci = w.ci_text(r["estimate"], r.get("lower"), r.get("upper"))
                hr_text = f"hazard ratio {ci}; "
                self.interval("hazard ratios", r)
                self.used(r if test is not lr else None, ab)
            if ev in ("difference", "trend") and hrs and hrs[0][1]["estimate"] != 1:
                way = "worse" if hrs[0][1]["estimate"] > 1 else "better"
                verb = "was" if ev == "difference" else "tended to be"
                s = f"Compared with {a}, {first} {verb} {way} in {b} ({hr_text}{stats})."
            elif ev in ("difference", "trend"):
                verb = "differed" if ev == "difference" else "tended to differ"
                s = f"{w.upper_first(first)} {verb} between {a} and {b} ({hr_text}{stats})."
            else:
                s = (f"No difference in {first} was detected between {a} and {b} "
                     f"({hr_text}{stats}).")
        else:
            clause = {"difference": "differed", "trend": "tended to differ"}.get(ev)
            groups = w.join(names)
            s = (f"{w.upper_first(first)} {clause} across {groups} ({stats})." if clause else
                 f"No difference in {first} was detected across {groups} ({stats}).")
            if hrs:
                lrt = self.get(f"{eid}_cox_likelihood_ratio_test", self.across(names))
                listed = ", ".join(
                    f"{g} {w.ci_text(r['estimate'], r.get('lower'), r.get('upper'))}"
                    for g, r in hrs)
                s += f" Hazard ratios versus {a}: {listed}"
                if lrt and lrt.get("p") is not None:
                    s += f" (Cox likelihood-ratio {w.p_text(lrt['p'])})"
                    self.used(lrt, ab)
                s += "."
                for _, r in hrs:
                    self.interval("hazard ratios", r)
        self.used(test if test is lr else None, ab)
        trend = self.get(f"{eid}_log_rank_trend", self.across(names))
        if trend and trend.get("p") is not None:  # ordered levels
            s += (f" Across the ordered groups, the log-rank test for trend gave "
                  f"{w.p_text(trend['p'])}.")
            self.used(trend, f"{ab} trend")
        out.append(s)
        if abstract:
            return out
        out.append(f"There were {ev_counts.replace(' in ', f' {ab} events in ', 1)}."
                   + subset)
        marks = [(g, r) for g in names for k, r in self.est.items()
                 if k.startswith(f"{eid}_at_") and k.endswith("/" + slug(g))]
        marks = [(g, r) for g, r in marks if r.get("estimate") is not None]
        if len(marks) == len(names):
            months = marks[0][1]["quantity"].split(" at ", 1)[1].split(" months")[0]
            listed = w.join(f"{w.ci_text(r['estimate'], r.get('lower'), r.get('upper'), 1, '%')}"
                            f" in {g}" for g, r in marks)
            out.append(f"At {months} months, {ab} was {listed}.")
            for _, r in marks:
                self.interval(f"Kaplan-Meier survival at {months} months", r)
        tr = self.defn.treatment
        if tr is not None:
            key = f"{eid}_by_{slug(tr.column)}_log_rank"
            for g in names:
                for arms in _arm_subsets(tr.arms):
                    t = self.est.get(f"{key}/{slug(g + '_' + self.across([x.id for x in arms]))}")
                    if not t or t.get("p") is None:
                        continue
                    drugs = w.join([w.drugs_text(x.label, x.drugs) for x in arms])
                    ev_t = w.evidence(t["p"])
                    between = "between" if len(arms) == 2 else "among"
                    if ev_t == "none":
                        out.append(f"Within {g}, no difference in {ab} was detected {between} "
                                   f"{drugs} (log-rank {w.p_text(t['p'])}).")
                    else:
                        verb = "differed" if ev_t == "difference" else "tended to differ"
                        out.append(f"Within {g}, {ab} {verb} {between} {drugs} (log-rank "
                                   f"{w.p_text(t['p'])}).")
                    self.used(t, f"{ab} by {w.lower_first(tr.name)}")
                    break
        return out

    def methods(self) -> str:
        parts = []
        if self.tests:
            parts.append("P-values: " + "; ".join(
                f"{test} for {w.join(whats)}" for test, whats in self.tests.items()) + ".")
        if self.intervals:
            by_method: dict[str, list[str]] = {}
            for kind, method in self.intervals.items():
                by_method.setdefault(method, []).append(kind)
            parts.append("Intervals: " + "; ".join(
                f"{method} for {w.join(kinds)}" for method, kinds in by_method.items()) + ".")
        return " ".join(parts)


def _arm_subsets(arms) -> list[tuple]:
    """Every arm set a within-group test can have been made on (all arms first, then the sets
    with an arm missing from a group), largest first."""
    from itertools import combinations

    arms = tuple(arms)
    return [c for k in range(len(arms), 1, -1) for c in combinations(arms, k)]


def manuscript(est: dict, *, study: dict, flow: dict, followup: dict | None = None,
               pcr_definition: str | None = None, her2_guideline: str | None = None,
               her2_classified: bool = False, her2_as_recorded: bool = False,
               endpoint_definitions: dict[str, str] | None = None,
               simulated: bool | None = None) -> str:
    """The Results paragraph, its statistical-methods note and the abstract's results
    sentences; every number comes from ``est`` (:func:`estimates`), every word from ``study``
    (the config's ``study:`` section).

    ``flow``: received, centres, analysed, quarantined, excluded. ``followup``: the reverse
    Kaplan-Meier median follow-up, ``{"median": ...}`` or per endpoint ``{id: {"median":
    ...}}``. ``pcr_definition``: the pCR definition in words (e.g. "ypT0/is ypN0").
    ``her2_classified``: HER2 was classified here from IHC/ISH by ``study.her2.name``
    ``her2_guideline`` (then, and only then, "HER2 status by ASCO/CAP 2018" is written);
    ``her2_as_recorded``: the exposure is a HER2 status as the centres recorded it.
    ``endpoint_definitions``: {endpoint id: definition in words} (default: the definition's
    own line, as from dates). ``simulated`` defaults to ``study.simulated``."""
    from ..study.definition import from_dict

    defn = from_dict(study)
    simulated = defn.simulated if simulated is None else simulated
    wr = _Writer(est, defn, pcr_definition)
    wr.n_analysed = int(flow.get("analysed") or 0)
    parts = [wr.flow(flow)]
    parts += wr.baseline()
    pcr = wr.pcr()
    parts += pcr
    eps = sorted(defn.endpoints, key=lambda e: e.id != defn.primary_endpoint)
    defs = endpoint_definitions or {}
    for ep in eps:
        parts += wr.endpoint(ep, defs.get(ep.id, ep.definition()))
    fu = followup or {}
    if "median" in fu:
        if fu["median"] is not None:
            parts.append(f"Median follow-up was {w.num(fu['median'], 1)} months (reverse "
                         "Kaplan-Meier).")
    else:
        listed = [(ep.abbreviation, fu[ep.id]["median"]) for ep in eps
                  if isinstance(fu.get(ep.id), dict) and fu[ep.id].get("median") is not None
                  and f"{ep.id}_events/{slug(defn.exposure.labels[0])}" in est]
        if listed:
            parts.append("Median follow-up (reverse Kaplan-Meier) was " + w.join(
                f"{w.num(m, 1)} months for {ab}" for ab, m in listed) + ".")
    notes = [wr.methods()]
    if her2_classified and her2_guideline:
        notes.append(f"HER2 status by {defn.her2_rule_name} {her2_guideline}.")
    elif her2_as_recorded:
        notes.append("HER2 status as recorded by the centres.")
    notes.append(w.HEDGING_RULE)
    abstract_wr = _Writer(est, defn, None)
    abstract = []
    if pcr:
        abstract += abstract_wr.pcr()[:1]
    for ep in eps:
        abstract += abstract_wr.endpoint(ep, None, abstract=True)
    if defn.primary_endpoint != "pcr" and pcr:
        abstract = abstract[1:] + abstract[:1]
    if not abstract:  # nothing was compared: say so, and why, rather than leave it empty
        abstract = [f"{w.join(defn.exposure.labels)} could not be compared on these data"
                    + (f" ({'; '.join(dict.fromkeys(wr.not_compared))})."
                       if wr.not_compared else ".")]
    head = "# Results (generated from results/summary.json; do not edit by hand)\n\n"
    if simulated:
        head += "**SIMULATED data: no real patient is represented.**\n\n"
    return (head + " ".join(parts) + "\n\n" + " ".join(n for n in notes if n) + "\n\n"
            + "## Abstract, results sentences\n\n" + " ".join(abstract) + "\n")


def _followups(paths) -> dict | None:
    """Median follow-up per endpoint from ``<id>_followup.csv`` tables (first row: all
    patients), or one ``{"median": ...}`` from a single older ``followup.csv``."""
    from pathlib import Path

    import pandas as pd

    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: dict = {}
    for p in paths or []:
        p = Path(p)
        if not p.exists():
            continue
        fu = pd.read_csv(p)
        if "median" not in fu or fu.empty or ("status" in fu and "median" not in fu):
            continue
        rec = {k: _finite(v)[0] for k, v in fu.iloc[0].to_dict().items()
               if not (not isinstance(v, str) and pd.isna(v))}
        if p.stem.endswith("_followup"):
            out[p.stem[: -len("_followup")]] = rec
        else:
            return rec
    return out or None


def _from_data(in_analysis, defn, groups: dict, criteria) -> tuple[bool, bool, dict]:
    """What the analysed patients' data say: whether HER2 was classified from IHC/ISH for
    every patient, recorded as a status for every patient (neither when mixed, or when the
    study does not use HER2), and how each endpoint was obtained (dates or as recorded)."""
    import pandas as pd

    from ..study.wording import her2_basis, her2_relevant
    from ..study.endpoints import endpoint_spec

    df = pd.read_parquet(in_analysis)
    classified = as_recorded = False
    if her2_relevant(groups, list(criteria or [])):
        text = her2_basis(df, "", "")
        classified = text.startswith("HER2 status by") and "where" not in text
        as_recorded = text == "HER2 status as recorded by the centres."
    defs = {ep.id: endpoint_spec(df, ep)["definition"] for ep in defn.endpoints
            if ep.time in df.columns}
    return classified, as_recorded, defs


def main(*, in_headline, in_flow, in_followup=None, out_json, out_md, study, simulated=None,
         pcr_definition=None, her2_guideline=None, her2_classified=False,
         her2_as_recorded=False, endpoint_definitions=None, groups=None, title=None,
         in_analysis=None, criteria=(), in_invitro=None, invitro_on=False) -> None:
    """``study``: the config's ``study:`` section; ``groups`` and ``title`` are taken from it
    when not given (older callers pass them). With ``in_analysis`` (the analysed patients),
    the HER2 wording and the endpoint definitions follow the data."""
    import json
    from pathlib import Path

    import pandas as pd

    from ..study.definition import from_dict

    defn = from_dict(study)
    if in_analysis is not None and Path(in_analysis).exists():
        her2_classified, her2_as_recorded, endpoint_definitions = _from_data(
            in_analysis, defn, groups or defn.exposure.as_groups(), criteria)
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
    followup = _followups(in_followup)
    labels = defn.exposure.labels
    simulated = defn.simulated if simulated is None else bool(simulated)
    choices = {"pcr_definition": pcr_definition,
               "her2": (f"{defn.her2_rule_name} {her2_guideline}" if her2_classified
                        and her2_guideline else "as recorded" if her2_as_recorded else None),
               "endpoints": {ep.id: {"name": ep.name, "abbreviation": ep.abbreviation,
                                     "definition": (endpoint_definitions or {}).get(
                                         ep.id, ep.definition())}
                             for ep in defn.endpoints},
               "hedging": w.HEDGING_RULE}
    doc = {"study": title or defn.title, "simulated": simulated, "groups": labels,
           "choices": choices, "flow": flow_d, "followup": followup, "estimates": est}
    invitro = _invitro(in_invitro) if invitro_on else None
    if invitro is not None:  # the in-vitro arm (analyses: invitro), its own numbers
        doc["invitro"] = invitro
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    with open(out_json, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    text = manuscript(est, study=study, flow=flow_d, followup=followup,
                      pcr_definition=pcr_definition, her2_guideline=her2_guideline,
                      her2_classified=her2_classified, her2_as_recorded=her2_as_recorded,
                      endpoint_definitions=endpoint_definitions, simulated=simulated)
    if invitro is not None:
        from .invitro_fit import results_paragraph

        text += "\n## In vitro\n\n" + results_paragraph(invitro) + "\n"
    Path(out_md).write_text(text, encoding="utf-8", newline="\n")
    print(text)


def _invitro(path) -> dict | None:
    """The in-vitro summary (``invitro/summary.json`` of rule invitro_fit), if given."""
    import json

    paths = [path] if isinstance(path, str) else list(path or [])
    if not paths:
        return None
    with open(paths[0], encoding="utf-8") as fh:
        return json.load(fh)
