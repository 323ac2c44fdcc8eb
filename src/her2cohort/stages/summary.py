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

    def __init__(self, est: dict, defn, pcr_definition: str | None, alpha: float = w.ALPHA,
                 outputs: list[str] | None = None):
        self.est = est
        self.defn = defn
        self.labels = defn.exposure.labels
        self.pcr_definition = pcr_definition
        self.alpha = alpha
        #: keys (``"table:<stem>"``) of the tables and figures the text may cite; None: any
        self.outputs = None if outputs is None else set(outputs)
        self.tests: dict[str, list[str]] = {}
        self.intervals: dict[str, str] = {}
        self.adjusted: dict[str, str] = {}  # "odds ratios" / "hazard ratios" -> its note
        self.not_compared: list[str] = []  # "<what>: <why>" of each comparison not made

    def cite(self, *keys: str) -> str:
        """`` ([[table:x]]; [[figure:y]])`` of the keys among the run's outputs."""
        return w.cite(k for k in keys if self.outputs is None or k in self.outputs)

    @staticmethod
    def cited(text: str, refs: str) -> str:
        """``text`` (a sentence ending in ".") with the citation ``refs`` before its stop."""
        return text[:-1] + refs + "." if refs and text.endswith(".") else text + refs

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
                prefix: str = "", refs: str = "") -> str | None:
        """One sentence comparing a rate across groups (``found``: (name, record) in the
        configured order; ``phrases``: how each name reads after the value, e.g. "in IHC 3+"
        or "with trastuzumab"), worded by the test's p-value (:func:`words.evidence`: a
        direction only where p < alpha); ``refs``: the citation (:meth:`cite`)."""
        if len(found) < 2 or not test:
            return None
        if test.get("p") is None:  # no test defined on these data: the rates and why
            why = str(test.get("note") or "")
            if "not estimable" not in why:
                return None
            why = why.split("not estimable: ", 1)[1]
            self.not_compared.append(f"{subject}: {why}")
            listed = w.join(f"{self.rate_value(r, counts)} {phrases[g]}" for g, r in found)
            text = self.cited(f"{subject} was {listed}; not compared ({why}).", refs)
            return prefix + text if prefix else w.upper_first(text)
        ev = w.evidence(test["p"], self.alpha)
        stats = w.p_text(test["p"]) + (f"; {extra}" if extra else "")
        vals = [self.rate_value(r, counts) for _, r in found]
        (a, ra), (b, rb) = found[0], found[-1]
        if len(found) == 2 and ev == "difference" and ra.get("estimate") is not None \
                and rb.get("estimate") is not None and ra["estimate"] != rb["estimate"]:
            way = "higher" if rb["estimate"] > ra["estimate"] else "lower"
            text = (f"compared with {a}, {subject} was {way} {phrases[b]}: {vals[0]} vs "
                    f"{vals[1]} ({stats}).")
        else:
            listed = w.join(f"{v} {phrases[g]}" for v, (g, _) in zip(vals, found, strict=True))
            clause = ("the groups differed significantly" if ev == "difference" else
                      "the groups did not differ significantly")
            text = f"{subject} was {listed}; {clause} ({stats})."
        text = self.cited(text, refs)
        return prefix + text if prefix else w.upper_first(text)

    def group_phrases(self, names: list[str]) -> dict[str, str]:
        return {g: f"in {g}" for g in names}

    def ratio_list(self, quantity: str, what: str, kind: str, names: list[str],
                   adjusted: str | None = None) -> str:
        """``"crude odds ratio 0.23 (95% CI 0.13–0.38); adjusted odds ratio 0.28 (95% CI
        0.16–0.48), p < 0.001"`` (two groups) or ``"crude odds ratios versus A: B 1.20 (95% CI
        ...), C 0.85 (...); adjusted: B ..., C ..."``; the adjusted estimates (``adjusted``:
        their quantity key) where the estimates have them; empty without a crude estimate."""
        ref = names[0]

        def found(q: str) -> list[tuple[str, dict]]:
            return [(g, r) for g in names[1:]
                    if (r := self.get(q, f"{g} vs {ref}")) and r.get("estimate") is not None]

        recs = found(quantity)
        if not recs:
            return ""
        adj = found(adjusted) if adjusted else []
        for _, r in recs + adj:
            self.interval(kind, r)
        if adj:
            note = str(adj[0][1].get("note") or "")
            self.adjusted.setdefault(kind, note.split(";", 1)[0])

        def ci(r: dict, p: bool = False) -> str:
            text = w.ci_text(r["estimate"], r.get("lower"), r.get("upper"))
            return text + (f", {w.p_text(r['p'])}" if p and r.get("p") is not None else "")

        crude = "crude " if adj else ""
        if len(names) == 2:
            text = f"{crude}{what} {ci(recs[0][1])}"
            return text + (f"; adjusted {what} {ci(adj[0][1], True)}" if adj else "")
        text = f"{crude}{what}s versus {ref}: " + ", ".join(f"{g} {ci(r)}" for g, r in recs)
        return text + ("; adjusted: " + ", ".join(f"{g} {ci(r, True)}" for g, r in adj)
                       if adj else "")

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
                f"defects and {flow['excluded']} excluded by the eligibility criteria)"
                f"{self.cite('figure:flow_diagram')}.")
        empty = [g for g, k in counts if not k]
        if counts and len(counts) - len(empty) < 2:  # the headline compares nothing
            why = f"no {w.join(empty, 'or')} patient was analysed"
            self.not_compared.append(why)
            text += f" The groups were not compared: {why}."
        else:
            text += self.direction()
        return text

    def direction(self) -> str:
        """The direction of every odds and hazard ratio, named once."""
        ratios = [what for what, pat in (("odds ratios", "odds_ratio/"),
                                         ("hazard ratios", "hazard_ratio/"))
                  if any(pat in k and r.get("estimate") is not None
                         for k, r in self.est.items())]
        if not ratios:
            return ""
        ref, rest = self.labels[0], self.labels[1:]
        whom = rest[0] if len(rest) == 1 else "each other group"
        return f" {w.upper_first(w.join(ratios))} compare {whom} with {ref} (reference)."

    def baseline(self) -> list[str]:
        out = []
        for quantity, subject, what, table in (
                ("hr_positive", "the proportion of HR-positive tumours", "HR status",
                 "table:table1"),
                ("her2_loss_after_therapy", "HER2 loss after therapy (among residual tumours "
                 "re-tested)", "HER2 loss", "table:her2_loss")):
            found = self.rates(quantity, self.labels)
            test = self.get(f"{quantity}_test", self.across([g for g, _ in found])) \
                if len(found) >= 2 else None
            s = self.compare(subject, found, self.group_phrases([g for g, _ in found]), test,
                             counts=quantity != "hr_positive", refs=self.cite(table))
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
        ors = self.ratio_list("pcr_odds_ratio", "odds ratio", "odds ratios", names,
                              "adjusted_pcr_odds_ratio")
        subject = f"pCR ({self.pcr_definition})" if self.pcr_definition else "pCR"
        s = self.compare(subject, found, {g: f"in {g}" for g in names}, test, ors,
                         refs=self.cite("table:pcr_rates", "table:pcr_logistic",
                                        "figure:pcr_rates"))
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
                                 prefix=f"Within {g}, ",
                                 refs=self.cite("table:pcr_within_groups"))
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
        ev = w.evidence(test["p"], self.alpha)
        what = "log-rank " if test is lr else "Wald "
        stats = what + w.p_text(test["p"])
        a = names[0]
        out = []
        adj = [(g, r) for g in names[1:]
               if (r := self.get(f"adjusted_{eid}_hazard_ratio", f"{g} vs {names[0]}"))
               and r.get("estimate") is not None]
        refs = "" if abstract else self.cite(f"figure:{eid}_km", f"table:{eid}_cox")
        for _, r in adj:
            self.interval("hazard ratios", r)
        if adj:
            self.adjusted.setdefault("hazard ratios",
                                     str(adj[0][1].get("note") or "").split(";", 1)[0])
        hr = lambda r, p=False: (w.ci_text(r["estimate"], r.get("lower"), r.get("upper"))
                                 + (f", {w.p_text(r['p'])}" if p and r.get("p") is not None
                                    else ""))
        crude = "crude " if adj else ""
        if len(names) == 2:
            b = names[1]
            hr_text = ""
            if hrs:
                r = hrs[0][1]
                hr_text = f"; {crude}hazard ratio {hr(r)}"
                self.interval("hazard ratios", r)
                self.used(r if test is not lr else None, ab)
            if adj:
                hr_text += f"; adjusted hazard ratio {hr(adj[0][1], True)}"
            if ev == "difference" and hrs and hrs[0][1]["estimate"] != 1:
                way = "worse" if hrs[0][1]["estimate"] > 1 else "better"
                s = f"Compared with {a}, {first} was {way} in {b} ({stats}{hr_text})."
            elif ev == "difference":
                s = (f"{w.upper_first(first)} differed significantly between {a} and {b} "
                     f"({stats}{hr_text}).")
            else:
                s = (f"{w.upper_first(first)} did not differ significantly between {a} and {b}"
                     f" ({stats}{hr_text}).")
            s = self.cited(s, refs)
        else:
            clause = "differed significantly" if ev == "difference" else \
                "did not differ significantly"
            groups = w.join(names)
            s = self.cited(f"{w.upper_first(first)} {clause} across {groups} ({stats}).", refs)
            if hrs:
                lrt = self.get(f"{eid}_cox_likelihood_ratio_test", self.across(names))
                listed = ", ".join(f"{g} {hr(r)}" for g, r in hrs)
                s += f" {w.upper_first(crude + 'hazard ratios')} versus {a}: {listed}"
                if lrt and lrt.get("p") is not None:
                    s += f" (Cox likelihood-ratio {w.p_text(lrt['p'])})"
                    self.used(lrt, ab)
                if adj:
                    s += "; adjusted: " + ", ".join(f"{g} {hr(r, True)}" for g, r in adj)
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
                    ev_t = w.evidence(t["p"], self.alpha)
                    between = "between" if len(arms) == 2 else "among"
                    verb = "differed significantly" if ev_t == "difference" else \
                        "did not differ significantly"
                    out.append(self.cited(
                        f"Within {g}, {ab} {verb} {between} {drugs} (log-rank "
                        f"{w.p_text(t['p'])}).", self.cite(f"figure:{eid}_km_treatment")))
                    self.used(t, f"{ab} by {w.lower_first(tr.name)}")
                    break
        return out

    def methods(self) -> str:
        """The tests behind the printed p-values and the methods behind the intervals."""
        parts = []
        if self.tests:
            parts.append("P-values came from these tests: " + "; ".join(
                f"{test} for {w.join(whats)}" for test, whats in self.tests.items()) + ".")
        if self.intervals:
            by_method: dict[str, list[str]] = {}
            for kind, method in self.intervals.items():
                by_method.setdefault(method, []).append(kind)
            parts.append("95% confidence intervals: " + "; ".join(
                f"{method} for {w.join(kinds)}" for method, kinds in by_method.items()) + ".")
        return " ".join(parts)


def _labels(names: list, labels: dict) -> str:
    """Covariates by their labels (``{"name": ..., "label": ...}`` entries or names)."""
    out = []
    for c in names:
        name = c.get("name") if isinstance(c, dict) else str(c)
        if name == "group":
            continue
        lab = str((c.get("label") if isinstance(c, dict) else None)
                  or w.variable_label(name, labels))
        lab = lab.split(",", 1)[0]  # "Age, years" -> "Age"
        first = lab.split(" ", 1)[0]
        out.append(lab if any(ch.isdigit() or ch == "-" for ch in first) else
                   w.lower_first(lab))
    return w.join(out)


def _ordinal(x: float) -> str:
    """``1`` -> ``"1st"``, ``99`` -> ``"99th"``, ``2.5`` -> ``"2.5th"``."""
    text = w.num_sig(x, 3).rstrip("0").rstrip(".") if x != int(x) else str(int(x))
    if text.isdigit() and int(text) % 100 not in (11, 12, 13):
        return text + {1: "st", 2: "nd", 3: "rd"}.get(int(text) % 10, "th")
    return text + "th"


def _software() -> str:
    """The Python libraries behind the statistics, with their versions."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    libs = []
    for lib in ("numpy", "pandas", "scipy", "statsmodels", "lifelines"):
        try:
            libs.append(f"{lib} {version(lib)}")
        except PackageNotFoundError:
            continue
    try:
        own = f"her2cohort {version('her2cohort')} "
    except PackageNotFoundError:
        own = "her2cohort "
    return (f"Analyses were run with {own}in Python {platform.python_version()}"
            + (f" ({w.join(libs)})" if libs else "") + "; every statistic is checked in the "
            "package's tests against R to a relative difference of at most 5e-7.")


def statistical_methods(wr: _Writer, *, settings: dict | None = None,
                        her2_note: str = "") -> str:
    """The Statistical methods paragraph: the comparison and its reference, the tests and
    interval methods behind the printed numbers (``wr``, after the Results were written), the
    models, missing-data handling, weighting and sensitivity analyses of the configuration
    (``settings``: ``pcr``, ``survival``, ``missing_covariates``, ``descriptions``,
    ``variable_labels``, ``analyses``; each sentence only where its analysis ran), the wording
    rule and the software. Every word of the study comes from the study definition."""
    st = settings or {}
    defn = wr.defn
    labels = st.get("variable_labels") or {}
    on = st.get("analyses") or {}
    ex = defn.exposure
    ref = ex.labels[0]
    out = [f"{w.upper_first(w.join(ex.labels))} were compared, with {ref} as the reference"
           + (" and the groups in their stated order" if ex.ordered else "") + "; tests "
           f"were two-sided with a significance level of {wr.alpha:g}."]
    if her2_note:
        out.append(her2_note)
    methods = wr.methods()
    if methods:
        out.append(methods)
    pcr = st.get("pcr") or {}
    if pcr.get("test") == "auto" and any("pCR" in x for v in wr.tests.values() for x in v):
        out.append("Proportions were compared by the chi-square test, or by Fisher's exact "
                   "test where an expected count was below 5.")
    if "odds ratios" in wr.intervals:
        models = pcr.get("models") or {}
        s = "Odds ratios of pCR" + (f" ({wr.pcr_definition})" if wr.pcr_definition else "") \
            + " came from logistic regression"
        adj = wr.adjusted.get("odds ratios")
        covs = _labels(models.get("covariates") or [], labels)
        if adj and covs:
            s += f", crude and adjusted for {covs}"
        how = str(models.get("method", "auto"))
        if how.lower() == "auto":
            s += (f"; Firth's penalised likelihood replaced maximum likelihood where the "
                  f"outcome was separated or a cell had fewer than {models.get('min_cell', 5)} "
                  "events")
        elif how.lower() == "firth":
            s += " by Firth's penalised likelihood"
        out.append(s + ".")
    surv = st.get("survival") or {}
    eps = [e for e in defn.endpoints if f"{e.id}_events/{slug(ex.labels[0])}" in wr.est]
    if eps:
        s = (f"{w.join(e.abbreviation for e in eps)} {'was' if len(eps) == 1 else 'were'} "
             f"estimated by the Kaplan-Meier method (confidence intervals on the "
             f"{surv.get('ci_type', 'log')} scale) and compared by the log-rank test")
        if "hazard ratios" in wr.intervals:
            cox = surv.get("cox") or {}
            s += (f"; hazard ratios came from Cox proportional-hazards models "
                  f"({cox.get('ties', 'efron').capitalize()} ties)")
            covs = _labels(cox.get("covariates") or [], labels)
            if wr.adjusted.get("hazard ratios") and covs:
                s += f", crude and adjusted for {covs}"
            if cox.get("strata"):
                s += f", stratified by {labels.get(cox['strata'], cox['strata'])}"
            if cox.get("variance") == "robust":
                s += ", with robust (sandwich) variance"
            elif cox.get("variance") == "cluster":
                s += (f", with cluster-robust variance by "
                      f"{labels.get(cox.get('cluster'), cox.get('cluster'))}")
            s += (f"; proportional hazards were checked with scaled Schoenfeld residuals "
                  f"({cox.get('zph_transform', 'km')} time transform)")
        s += (f". No test or model is reported for a comparison with fewer than "
              f"{surv.get('min_events', 5)} events. Follow-up was summarised by the reverse "
              "Kaplan-Meier method.")
        out.append(s)
    missing = st.get("missing_covariates")
    if wr.adjusted and missing:
        imp = (surv.get("imputation") or pcr.get("imputation") or {})
        mi = (f"multiple imputation by chained equations (m = {imp.get('m', 20)}, "
              f"{imp.get('iterations', 10)} iterations, seed {imp.get('seed', 1)}) pooled by "
              "Rubin's rules")
        descriptions = st.get("descriptions") or {}
        mi_variant = any("imput" in str(d).lower() for k, d in descriptions.items()
                         if k != "main")
        if missing == "multiple_imputation":
            out.append(f"Missing covariate values in the adjusted models were handled by {mi}.")
        else:
            out.append("Adjusted models used the patients with every covariate recorded "
                       "(complete case)" + (f"; a sensitivity analysis used {mi} instead"
                                            if mi_variant else "") + ".")
    iptw = surv.get("iptw") or {}
    tr = defn.treatment
    if eps and tr is not None and iptw.get("confounders") and on.get("survival", True):
        arms = w.join(w.drugs_text(a.label, a.drugs) for a in tr.arms)
        trunc = iptw.get("truncate")
        s = (f"Within each {w.lower_first(ex.name)}, {w.lower_first(tr.name)} ({arms}) was "
             f"also compared with inverse probability of treatment weights from a logistic "
             f"propensity model of {_labels(iptw['confounders'], labels)}"
             + (" (stabilised weights" if iptw.get("stabilised", True) else " (weights")
             + (f", truncated at the {_ordinal(100 * trunc[0])} and "
                f"{_ordinal(100 * trunc[1])} percentiles" if trunc else "")
             + f"); balance was judged by standardised mean differences below "
               f"{iptw.get('smd_threshold', 0.1):g}.")
        out.append(s)
    descriptions = {k: v for k, v in (st.get("descriptions") or {}).items() if k != "main"}
    if descriptions:
        out.append("Sensitivity analyses repeated the headline estimates with one change "
                   "each: " + "; ".join(str(d) for d in descriptions.values())
                   + wr.cite("table:sensitivity") + ".")
    out.append(w.hedging_rule(wr.alpha))
    out.append(_software())
    return " ".join(out)


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
               simulated: bool | None = None, alpha: float | None = None,
               outputs: list[str] | None = None, settings: dict | None = None,
               resolve: bool = True) -> str:
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
    own line, as from dates). ``simulated`` defaults to ``study.simulated``. ``alpha``: the
    significance level of the wording rule (default ``study.alpha``, else
    :data:`words.ALPHA`). ``outputs``: keys (``"table:<stem>"``, ``"figure:<stem>"``) of the
    run's tables and figures the text may cite (default :func:`planned_outputs` with every
    analysis on); ``settings``: the configuration the Statistical methods paragraph describes
    (:func:`statistical_methods`). With ``resolve`` (default) the references are numbered by
    :func:`words.figure_table_order`; without, the text keeps the ``[[table:<stem>]]`` tokens
    for a document that numbers its tables and figures itself."""
    from ..study.definition import from_dict

    defn = from_dict(study)
    simulated = defn.simulated if simulated is None else simulated
    alpha = float(alpha if alpha is not None else study.get("alpha") or w.ALPHA)
    if outputs is None:
        st = settings or {}
        outputs = planned_outputs(defn, st.get("analyses"),
                                  bool(set(st.get("descriptions") or {}) - {"main"}))
    wr = _Writer(est, defn, pcr_definition, alpha, outputs)
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
    her2_note = ""
    if her2_classified and her2_guideline:
        her2_note = f"HER2 status was classified by {defn.her2_rule_name} {her2_guideline}."
    elif her2_as_recorded:
        her2_note = "HER2 status was taken as recorded by the centres."
    methods = statistical_methods(wr, settings=settings, her2_note=her2_note)
    abstract_wr = _Writer(est, defn, None, alpha, [])
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
    text = (head + " ".join(parts) + "\n\n## Statistical methods\n\n" + methods + "\n\n"
            + "## Abstract, results sentences\n\n" + " ".join(abstract) + "\n")
    return resolve_text(text, outputs) if resolve else text


def planned_outputs(defn, analyses: dict | None = None, sensitivity: bool = True,
                    invitro: bool = False) -> list[str]:
    """Keys (``"<kind>:<stem>"``) of the tables and figures the Results text can cite, in
    manuscript order, for the analyses switched on (``analyses``: config ``analyses:``; None:
    all): the flow diagram, Table 1, HER2 loss, pCR, each endpoint, sensitivity, in vitro."""
    on = {"table1": True, "pcr": True, "her2_loss": True, "survival": True,
          **(analyses or {})}
    out = ["figure:flow_diagram"]
    if on["table1"]:
        out.append("table:table1")
    if on["her2_loss"]:
        out.append("table:her2_loss")
    if on["pcr"]:
        out += ["table:pcr_rates", "table:pcr_logistic", "figure:pcr_rates"]
        if defn.treatment is not None:
            out.append("table:pcr_within_groups")
    if on["survival"]:
        for ep in sorted(defn.endpoints, key=lambda e: e.id != defn.primary_endpoint):
            out += [f"figure:{ep.id}_km", f"table:{ep.id}_cox"]
            if defn.treatment is not None:
                out.append(f"figure:{ep.id}_km_treatment")
    if sensitivity:
        out.append("table:sensitivity")
    if invitro or on.get("invitro"):
        out += ["table:invitro_ic50", "table:invitro_comparisons",
                "figure:invitro_dose_response", "table:invitro_synergy",
                "figure:invitro_synergy"]
    return out


def resolve_text(text: str, outputs: list[str]) -> str:
    """``text`` with its table and figure references numbered by the one rule
    (:func:`words.figure_table_order`: order of first citation, then the rest)."""
    return w.resolve_refs(text, w.figure_table_order(outputs, w.refs_in(text)))


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

    from ..study.endpoints import ENDPOINT_SPEC_FIELDS, endpoint_spec
    from ..study.wording import BASIS_COLUMNS, her2_basis, her2_relevant
    from .columns import endpoint_prefixes, read_columns

    # the columns read: the HER2 wording's and the endpoints' (time, source, what EFS needs)
    df = read_columns(in_analysis, {*BASIS_COLUMNS, *ENDPOINT_SPEC_FIELDS},
                      endpoint_prefixes({ep.id: None for ep in defn.endpoints}))
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
         in_analysis=None, criteria=(), in_invitro=None, invitro_on=False, analyses=None,
         pcr=None, survival=None, missing_covariates=None, descriptions=None,
         variable_labels=None) -> None:
    """``study``: the config's ``study:`` section; ``groups`` and ``title`` are taken from it
    when not given (older callers pass them). With ``in_analysis`` (the analysed patients),
    the HER2 wording and the endpoint definitions follow the data. ``analyses``, ``pcr``,
    ``survival``, ``missing_covariates`` (``sensitivity.missing_covariates``),
    ``descriptions`` (of the sensitivity variants) and ``variable_labels``: what the
    Statistical methods paragraph describes and which tables and figures the text cites.

    ``manuscript.md`` has its table and figure references numbered
    (:func:`words.figure_table_order`); ``summary.json`` keeps the text with the
    ``[[table:<stem>]]`` / ``[[figure:<stem>]]`` tokens under ``text`` for a document that
    numbers them itself (:func:`words.resolve_refs`)."""
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
               "hedging": w.hedging_rule(float((study or {}).get("alpha") or w.ALPHA))}
    doc = {"study": title or defn.title, "simulated": simulated, "groups": labels,
           "choices": choices, "flow": flow_d, "followup": followup, "estimates": est}
    invitro = _invitro(in_invitro) if invitro_on else None
    if invitro is not None:  # the in-vitro arm (analyses: invitro), its own numbers
        doc["invitro"] = invitro
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    settings = {"analyses": {**(analyses or {}), "invitro": invitro is not None},
                "pcr": pcr or {}, "survival": survival or {},
                "missing_covariates": missing_covariates, "descriptions": descriptions or {},
                "variable_labels": variable_labels or {}}
    outputs = planned_outputs(defn, analyses, bool(set(descriptions or {}) - {"main"}),
                              invitro is not None)
    text = manuscript(est, study=study, flow=flow_d, followup=followup,
                      pcr_definition=pcr_definition, her2_guideline=her2_guideline,
                      her2_classified=her2_classified, her2_as_recorded=her2_as_recorded,
                      endpoint_definitions=endpoint_definitions, simulated=simulated,
                      outputs=outputs, settings=settings, resolve=False)
    if invitro is not None:
        from .invitro_fit import results_paragraph

        para = results_paragraph(invitro)
        refs = w.cite(k for k in outputs if k.split(":", 1)[1].startswith("invitro_"))
        stop = para.find(". ")
        para = para[:stop] + refs + para[stop:] if stop > 0 else _Writer.cited(para, refs)
        text += "\n## In vitro\n\n" + para + "\n"
    doc["text"] = {"manuscript": text, "outputs": outputs,
                   "references": w.REF_FORMAT, "numbering": "words.figure_table_order"}
    with open(out_json, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    text = resolve_text(text, outputs)
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
