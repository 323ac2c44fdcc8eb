"""The paper as one document: a self-contained, scrolling HTML page and a Word manuscript.

Built from what the other rules wrote (never recomputed here): the Results text
(``manuscript.md`` of rule summary), the HTML tables (``tables/*.html``, each with its own
caption and footnotes) and the PNG figures; the Methods are written from the study definition
(:mod:`her2cohort.study.definition`) and the configuration values the analyses read, with the
software versions of the run (``provenance.json``). Every word about the study (group labels,
endpoint names, treatments, drugs, guideline) comes from the study definition or the
configuration; this module holds only the words of the methods themselves.

Tables and figures are numbered in manuscript order (:func:`manuscript_order`; the flow
diagram first), separately for tables and figures. The Results text cites them: explicit
``{table:<file stem>}`` / ``{figure:<file stem>}`` tokens in the text are resolved to
"Table N" / "Figure N"; a text without tokens is cited sentence by sentence
(:func:`cite_results`) and the items no sentence cites are listed at the end, so that every
table and figure is cited and every citation resolves.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from ..study.definition import Study, from_dict
from .format import SUP_CLOSE, SUP_OPEN, split_superscripts
from .tables import DisplayTable, to_html

__all__ = [
    "Item",
    "build_docx",
    "build_html",
    "cite_results",
    "collect_items",
    "figure_caption",
    "manuscript_order",
    "methods_sections",
    "parse_results",
    "read_html_table",
]

TOKEN = re.compile(r"\{(table|figure):([A-Za-z0-9_.+-]+)\}")
# the summary rule's reference tokens (render/words.py REF_FORMAT) in this module's form
_WORDS_TOKEN = re.compile(r"\[\[(table|figure):([A-Za-z0-9_.+-]+)\]\]")


def from_words_tokens(text: str) -> str:
    """``[[table:stem]]`` (the summary's tokenised text) -> ``{table:stem}``."""
    return _WORDS_TOKEN.sub(r"{\1:\2}", text)


# --------------------------------------------------------------------------- items


@dataclass
class Item:
    """One numbered table or figure of the paper.

    ``key``: file stem (``pcr_rates``); ``sources``: the files shown (a figure identical in
    every byte to another is shown once, with every source named); ``table``: the parsed
    table (tables); ``png``: the image bytes (figures)."""

    kind: str  # "table" | "figure"
    key: str
    caption: str
    sources: list[str]
    number: int = 0
    table: DisplayTable | None = None
    png: bytes | None = None
    keys: list[str] = field(default_factory=list)  # every stem it stands for

    @property
    def label(self) -> str:
        return f"{'Table' if self.kind == 'table' else 'Figure'} {self.number}"

    @property
    def anchor(self) -> str:
        return f"{self.kind}-{self.number}"


def manuscript_order(stem: str, kind: str, defn: Study) -> tuple:
    """Sort key of an output in manuscript order: flow diagram, baseline (Table 1), flow
    counts, HER2 loss, response (pCR), each endpoint (the study's primary first), the
    sensitivity analyses, the in-vitro arm; anything else last, in the order given."""
    eps = sorted(defn.endpoint_ids, key=lambda e: e != defn.primary_endpoint)
    fixed = [("figure", "flow_diagram"), ("table", "table1"), ("table", "flow"),
             ("table", "her2_loss"), ("table", "pcr_rates"), ("figure", "pcr_rates"),
             ("table", "pcr_logistic"), ("table", "pcr_within_groups"),
             ("table", "pcr_strata"), ("table", "pcr_trend"), ("table", "pcr_continuous"),
             ("figure", "pcr_dose_*"), ("table", "pcr_subgroups"), ("figure", "pcr_forest")]
    per_ep = [("table", "summary"), ("figure", "km"), ("table", "rmst"), ("table", "cox"),
              ("figure", "cox_forest"), ("figure", "cox_zph"), ("figure", "km_treatment"),
              ("table", "iptw"), ("figure", "iptw_love"), ("figure", "iptw_km"),
              ("table", "landmark_pcr"), ("figure", "km_pcr")]
    for e in eps:
        fixed += [(k, f"{e}_{s}") for k, s in per_ep]
    fixed += [("table", "sensitivity"), ("table", "invitro_wells_accounting"),
              ("table", "invitro_plate_qc"), ("figure", "invitro_plate_qc"),
              ("table", "invitro_ic50"), ("table", "invitro_comparisons"),
              ("figure", "invitro_dose_response"), ("table", "invitro_synergy"),
              ("figure", "invitro_synergy")]
    for i, (k, s) in enumerate(fixed):
        if k == kind and (stem == s or (s.endswith("*") and stem.startswith(s[:-1]))):
            return (i, stem if s.endswith("*") else "")
    return (len(fixed), "")


def _variable_label(name: str, labels: Mapping[str, str]) -> str:
    from .words import variable_label

    return variable_label(name, labels)


def figure_caption(stem: str, defn: Study, *, pcr_definition: str | None = None,
                   variable_labels: Mapping[str, str] | None = None,
                   landmark_months: Any = None, smd_threshold: Any = None,
                   drug_labels: Mapping[str, str] | None = None,
                   combinations: Sequence[Mapping[str, str]] = ()) -> str:
    """A caption for the figure ``stem`` in the study's own words."""
    ex = defn.exposure.name
    tr = defn.treatment
    labels = variable_labels or {}
    pcr = f"pathologic complete response (pCR; {pcr_definition})" if pcr_definition else \
        "pathologic complete response (pCR)"
    if stem == "flow_diagram":
        return ("Flow of records: received from each centre, set aside for data defects, "
                f"excluded by each eligibility criterion in order, and analysed by {ex}.")
    if stem == "pcr_rates":
        within = f", and by {_lower_first(tr.name)} within each group" if tr else ""
        return f"Rates of {pcr} by {ex}{within}, with 95% confidence intervals."
    if stem == "pcr_forest":
        ref, *others = defn.exposure.labels
        cmp = f"{others[0]} versus {ref}" if len(others) == 1 else f"each group versus {ref}"
        return (f"Odds ratio of pCR, {cmp}, within subgroups (95% profile-likelihood "
                "confidence intervals, log scale) with the P-interaction of each subgrouping "
                "variable.")
    if stem.startswith("pcr_dose_"):
        var = _lower_first(_variable_label(stem[len("pcr_dose_"):], labels))
        return (f"Predicted probability of pCR by {var}, per {ex} (logistic regression with "
                "a restricted cubic spline), with 95% confidence bands.")
    if stem.startswith("invitro_"):
        drugs = drug_labels or {}
        pairs = [f"{drugs.get(c['a'], c['a'])} + {drugs.get(c['b'], c['b'])}"
                 for c in combinations if isinstance(c, Mapping) and "a" in c and "b" in c]
        return {
            "invitro_plate_qc": "In-vitro plate quality control: raw signal of every well of "
                                "each plate; crossed wells excluded, a red title marks a plate "
                                "that failed quality control.",
            "invitro_dose_response": "In-vitro drug sensitivity: viability (mean ± SD per "
                                     "concentration) with the fitted four-parameter "
                                     "log-logistic curve per cell line and drug; relative IC50 "
                                     "marked; log concentration axis.",
            "invitro_synergy": "In-vitro drug combination"
                               + (f" ({', '.join(pairs)})" if pairs else "")
                               + ": Bliss and ZIP synergy scores per dose pair and cell line "
                                 "(> 0: more effect than the model of no interaction expects).",
        }.get(stem, stem.replace("_", " "))
    for ep in sorted(defn.endpoints, key=lambda e: -len(e.id)):
        if not stem.startswith(ep.id + "_"):
            continue
        what = stem[len(ep.id) + 1:]
        name = f"{ep.name} ({ep.abbreviation})"
        mid = f"{_lower_first(ep.name)} ({ep.abbreviation})"  # inside a sentence
        arms = " versus ".join(a.label for a in (tr.arms if tr else ()))
        return {
            "km": f"Kaplan-Meier estimates of {mid} by {ex}, with 95% confidence bands and "
                  "the numbers at risk.",
            "km_treatment": f"{name} by {_lower_first(tr.name) if tr else 'treatment'} "
                            f"({arms}) within each {ex} level (Kaplan-Meier).",
            "km_pcr": f"{name} by {pcr}"
                      + (f", landmark at {landmark_months} months" if landmark_months
                         else "") + " (Kaplan-Meier).",
            "cox_forest": f"Hazard ratios for {mid}: univariable and multivariable Cox "
                          "models, 95% confidence intervals, log scale.",
            "cox_zph": f"Proportional-hazards check for {mid}: scaled Schoenfeld residuals "
                       "over time per model term, with a smooth and ±2 SE band.",
            "iptw_love": f"Covariate balance between {arms or 'the treatment arms'} before "
                         "and after inverse probability of treatment weighting ("
                         f"{ep.abbreviation} analysis): absolute standardised mean differences"
                         + (f", threshold {smd_threshold}" if smd_threshold is not None
                            else "") + ".",
            "iptw_km": f"{name} by {_lower_first(tr.name) if tr else 'treatment'} ({arms}), "
                       "weighted by the inverse probability of treatment (weighted "
                       "Kaplan-Meier).",
        }.get(what, f"{name}: {what.replace('_', ' ')}.")
    return stem.replace("_", " ")


_CAPTION_PREFIX = re.compile(r"^\s*(Table|Figure)\s+[0-9A-Za-z]+[.:]\s*")


def read_html_table(path: str | PathLike[str]) -> DisplayTable:
    """The :class:`DisplayTable` of an HTML table written by
    :func:`her2cohort.render.tables.to_html` (caption, header rows with spans, body with
    alignment and indents, footnotes, superscripts). A "Table N." the caption may start with
    is dropped: the paper numbers its tables itself."""
    import lxml.html
    import pandas as pd

    root = lxml.html.fromstring(Path(path).read_text(encoding="utf-8"))
    tables = root.xpath("//table")
    if not tables:
        raise ValueError(f"{path}: no <table> in the file")
    t = tables[0]

    def text(el: Any) -> str:
        out = [el.text or ""]
        for ch in el:
            inner = text(ch)
            if ch.tag == "sup":
                inner = f"{SUP_OPEN}{inner}{SUP_CLOSE}"
            elif ch.tag == "br":
                inner = "\n"
            out.append(inner + (ch.tail or ""))
        return "".join(out)

    cap = t.xpath("./caption")
    title = _CAPTION_PREFIX.sub("", text(cap[0]).strip()) if cap else ""
    header: list[list[str]] = []
    for tr in t.xpath("./thead/tr"):
        row: list[str] = []
        for th in tr.xpath("./th|./td"):
            row += [text(th).strip()] * int(th.get("colspan", "1"))
        header.append(row)
    rows, indent, align = [], [], None
    cls = {"l": "left", "c": "center", "r": "right"}
    for tr in t.xpath("./tbody/tr"):
        cells = tr.xpath("./td|./th")
        vals = []
        for c in cells:
            vals += [text(c).strip()] * int(c.get("colspan", "1"))
        rows.append(vals)
        m = re.search(r"padding-left:\s*([0-9.]+)em", cells[0].get("style", "")) if cells \
            else None
        indent.append(max(0, round((float(m.group(1)) - 0.5) / 1.2)) if m else 0)
        if align is None and cells:
            align = [cls.get((c.get("class") or "c").split()[0], "center") for c in cells]
    ncol = max([len(r) for r in header + rows] or [1])
    header = [r + [""] * (ncol - len(r)) for r in header] or None
    rows = [r + [""] * (ncol - len(r)) for r in rows]
    if align is None or len(align) != ncol:
        align = None
    notes = [text(td).strip() for td in t.xpath("./tfoot/tr/td")]
    body = pd.DataFrame(rows, columns=range(ncol)) if rows else pd.DataFrame(
        columns=range(ncol))
    return DisplayTable(body=body, header=header, title=title, footnotes=notes,
                        indent=indent, align=align)


def not_analysed(table: DisplayTable) -> str | None:
    """The reason of a table that only says its analysis was not run (the one-cell
    "Not analysed: <reason>." table the stages write for a skipped analysis), else None."""
    body = table.body
    if body.shape == (1, 1):
        cell = str(body.iloc[0, 0]).strip()
        if cell.startswith("Not analysed:"):
            return cell.removeprefix("Not analysed:").strip().rstrip(".")
    return None


def not_analysed_text(tables: Sequence[str | PathLike[str]]) -> str | None:
    """One sentence naming the analyses of the run that were not done, with their reasons
    (their tables are not numbered items of the paper), or None."""
    said = []
    for p in tables:
        t = read_html_table(p)
        why = not_analysed(t)
        if why is not None:
            said.append(f"{t.title or Path(p).stem.replace('_', ' ')} ({why})")
    return f"Not analysed: {'; '.join(said)}." if said else None


def collect_items(tables: Sequence[str | PathLike[str]], figures: Sequence[str | PathLike[str]],
                  defn: Study, cited: Sequence[str] = (), **caption_args: Any) -> list[Item]:
    """Every table and figure, numbered as journals number them: in order of first citation
    in the Results text (``cited``: ``"table:<stem>"`` keys in text order, as
    :func:`her2cohort.render.words.refs_in` gives them; the rule of
    :func:`her2cohort.render.words.figure_table_order`, so ``manuscript.md`` and the paper give
    a cited item the same number), then the items the text does not cite in manuscript order.
    A figure whose bytes equal an earlier one's is shown once and names both sources."""
    items: list[Item] = []
    for p in tables:
        p = Path(p)
        t = read_html_table(p)
        if not_analysed(t) is not None:  # named in the Results instead (not_analysed_text)
            continue
        items.append(Item("table", p.stem, t.title or p.stem.replace("_", " "), [str(p)],
                          table=t, keys=[p.stem]))
    seen: dict[str, Item] = {}
    for p in figures:
        p = Path(p)
        data = p.read_bytes()
        h = hashlib.sha256(data).hexdigest()
        if h in seen:
            seen[h].sources.append(str(p))
            seen[h].keys.append(p.stem)
            continue
        it = Item("figure", p.stem, figure_caption(p.stem, defn, **caption_args), [str(p)],
                  png=data, keys=[p.stem])
        seen[h] = it
        items.append(it)
    pos = {id(it): i for i, it in enumerate(items)}
    first = {k: i for i, k in enumerate(dict.fromkeys(cited))}

    def citation(it: Item) -> float:
        return min((first.get(f"{it.kind}:{k}", float("inf")) for k in it.keys),
                   default=float("inf"))

    items.sort(key=lambda it: (citation(it), manuscript_order(it.key, it.kind, defn),
                               pos[id(it)]))
    n = {"table": 0, "figure": 0}
    for it in items:
        n[it.kind] += 1
        it.number = n[it.kind]
        if len(it.keys) > 1:  # one image for several outputs: say so in the caption
            eps = {e.id: e.abbreviation for e in defn.endpoints}
            names = [eps.get(k.split("_", 1)[0], k) for k in it.keys]
            it.caption += f" The same figure for {_join(names)} (identical outputs)."
    return items


# --------------------------------------------------------------------------- Results text


@dataclass
class Block:
    """A piece of the Results text: a heading (``level`` 2) or a paragraph (``level`` 0);
    ``note`` marks the small-print paragraph of tests and intervals. Citations are
    ``{table:<stem>}`` / ``{figure:<stem>}`` tokens inside ``text``."""

    text: str
    level: int = 0
    note: bool = False


def parse_results(md: str) -> tuple[bool, list[Block]]:
    """(simulated, blocks) of ``manuscript.md``: the top heading is dropped, the bold data
    statement is returned as a flag, ``##`` headings become level-2 blocks."""
    simulated = False
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block(" ".join(para).strip()))
            para.clear()

    for line in md.splitlines():
        s = line.strip()
        if s.startswith("# "):
            flush()
            continue
        if s.startswith("## "):
            flush()
            blocks.append(Block(s[3:].strip(), level=2))
            continue
        if s.startswith("**") and s.endswith("**") and "SIMULATED" in s:
            flush()
            simulated = True
            continue
        if not s:
            flush()
            continue
        para.append(s)
    flush()
    # the paragraph after the first one, up to the first heading: tests, intervals, wording
    for i, b in enumerate(blocks):
        if b.level:
            break
        if i == 1:
            b.note = True
    return simulated, blocks


_SENTENCE = re.compile(r"(?<=[.])\s+(?=[A-Z(])")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9+/-]+", text))


def cite_results(blocks: list[Block], items: list[Item], defn: Study) -> list[Block]:
    """``blocks`` with "{table:stem}" / "{figure:stem}" citations.

    A text that already carries such tokens is left as it is. Otherwise each sentence of
    the Results paragraphs cites the first time the outputs of its analysis: the first
    sentence the flow diagram and counts; one naming an endpoint's abbreviation (study
    definition) that endpoint's outputs (with a treatment arm named, the comparison of the
    arms); one about pCR the response outputs; the in-vitro paragraph the in-vitro outputs.
    Whatever no sentence cites is listed in a closing sentence, so every item is cited."""
    by_key = {(it.kind, k): it for it in items for k in it.keys}
    cited: set[int] = set()
    if any(TOKEN.search(b.text) for b in blocks):
        # the text cites by itself: only what it leaves uncited goes in the closing sentence
        for b in blocks:
            for t in TOKEN.finditer(b.text):
                it = by_key.get((t.group(1), t.group(2)))
                if it is not None:
                    cited.add(id(it))
        return _further(list(blocks), items, cited)
    eps = sorted(defn.endpoints, key=lambda e: -len(e.abbreviation))
    arm_words = set()
    if defn.treatment:
        for a in defn.treatment.arms:
            arm_words |= {a.label.lower(), *(d.lower() for d in a.drugs)}

    def refs(keys: list[str]) -> str:
        """Tokens of the items ``keys`` names (a stem: its table, then its figure) that
        no earlier sentence cited."""
        out: dict[str, list[str]] = {"table": [], "figure": []}
        for k in keys:
            for kind in ("table", "figure"):
                it = by_key.get((kind, k))
                if it is not None and id(it) not in cited:
                    cited.add(id(it))
                    out[kind].append(f"{{{kind}:{k}}}")
        return "; ".join(", ".join(v) for v in out.values() if v)

    def topic(sentence: str, first: bool, invitro: bool) -> list[str]:
        low = sentence.lower()
        if invitro:
            if "ic50 ratio" in low:
                return ["invitro_comparisons"]
            if "ic50" in low:
                return ["invitro_ic50", "invitro_dose_response"]
            if "bliss" in low or "synerg" in low:
                return ["invitro_synergy"]
            return ["invitro_wells_accounting", "invitro_plate_qc"]
        if first:
            return ["flow_diagram", "flow"]
        words = _words(sentence)
        arms = any(a in low for a in arm_words)
        for ep in eps:
            if ep.abbreviation in words or ep.name.lower() in low:
                e = ep.id
                if "follow-up" in low:
                    return [f"{e}_summary"]
                if arms:
                    return [f"{e}_km_treatment", f"{e}_iptw", f"{e}_iptw_love",
                            f"{e}_iptw_km"]
                return [f"{e}_summary", f"{e}_km", f"{e}_cox", f"{e}_cox_forest"]
        if "pCR" in words:
            if arms:
                return ["pcr_within_groups"]
            return ["pcr_rates", "pcr_logistic"]
        if "HER2 loss" in sentence:
            return ["her2_loss"]
        if "HR-positive" in sentence or "hormone" in low:
            return ["table1"]
        return []

    out: list[Block] = []
    invitro = False
    first_para = True
    for b in blocks:
        if b.level:
            invitro = "vitro" in b.text.lower()
            out.append(b)
            continue
        if b.note:
            out.append(b)
            continue
        sents = _SENTENCE.split(b.text)
        new = []
        for i, s in enumerate(sents):
            r = refs(topic(s, first_para and i == 0, invitro))
            if r and s.endswith("."):
                s = f"{s[:-1]} ({r})."
            new.append(s)
        first_para = False
        out.append(Block(" ".join(new), b.level, b.note))
    return _further(out, items, cited)


def _further(out: list[Block], items: list[Item], cited: set[int]) -> list[Block]:
    """``out`` with a closing "Further results: Tables 13, 14 ...; Figures ..." sentence
    citing every item no sentence cited (so that every table and figure is cited), after
    the last Results paragraph before the first heading (or at the end)."""
    rest = [it for it in items if id(it) not in cited]
    if rest:
        parts = {"table": [], "figure": []}
        for it in rest:
            parts[it.kind].append(f"{{{it.kind}:{it.key}}}")
        text = "Further results: " + "; ".join(
            ", ".join(v) for v in parts.values() if v) + "."
        at = next((i for i, b in enumerate(out) if b.level), len(out))
        at = max((i for i in range(at) if not out[i].note and not out[i].level), default=0)
        out.insert(at + 1, Block(text))
    return out


def _resolve(text: str, items: list[Item], link: bool) -> str:
    """Tokens to "Table N" (an ``<a href>`` in HTML; ``text`` is already escaped there);
    a token naming no item of the run is removed with its separator."""
    by_key = {(it.kind, k): it for it in items for k in it.keys}

    def link_to(it: Item, text: str) -> str:
        return f'<a href="#{it.anchor}">{text}</a>' if link else text

    def run(m: re.Match) -> str:
        """A run of tokens of one kind: "Table 3", or "Tables 3, 4 and 7" (each number its
        own link); tokens naming nothing of this run are left out."""
        found = []
        for t in TOKEN.finditer(m.group(0)):
            it = by_key.get((t.group(1), t.group(2)))
            if it is not None and it not in found:
                found.append(it)
        if not found:
            return ""
        found.sort(key=lambda it: it.number)
        word = "Table" if found[0].kind == "table" else "Figure"
        if len(found) == 1:
            return link_to(found[0], found[0].label)
        parts = [link_to(found[0], f"{word}s {found[0].number}")]
        parts += [link_to(it, str(it.number)) for it in found[1:]]
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    out = text
    for kind in ("table", "figure"):
        one = rf"\{{{kind}:[A-Za-z0-9_.+-]+\}}"
        out = re.sub(rf"{one}(?:,\s*{one})*", run, out)
    out = re.sub(r"\(\s*([,;]\s*)*\)", "", out)  # citations that named nothing
    out = re.sub(r"\(\s*[,;]\s*", "(", out)
    out = re.sub(r"[,;]\s*\)", ")", out)
    out = re.sub(r"([,;]\s*){2,}", "; ", out)
    return re.sub(r" +([.,;])", r"\1", out)


# --------------------------------------------------------------------------- Methods


def _lower_first(text: str) -> str:
    """"Anti-HER2 therapy" -> "anti-HER2 therapy"; "HER2 group" stays (an acronym)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _short(label: str) -> str:
    """A variable label without its unit ("Age, years" -> "Age"), for lists in running
    text."""
    return label.split(", ")[0]


def _join(items: Sequence[Any], last: str = "and") -> str:
    items = [str(i) for i in items if str(i)]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def _ver(software: Mapping[str, str], name: str, shown: str | None = None) -> str:
    v = software.get(name)
    return f"{shown or name} {v}" if v else (shown or name)


def methods_sections(*, study: Mapping[str, Any], criteria: Sequence[Mapping[str, Any]] = (),
                     analyses: Mapping[str, bool] | None = None,
                     pcr: Mapping[str, Any] | None = None,
                     survival: Mapping[str, Any] | None = None,
                     table1: Mapping[str, Any] | None = None,
                     sensitivity: Mapping[str, Any] | None = None,
                     invitro: Mapping[str, Any] | None = None,
                     data_lock_date: Any = None, summary: Mapping[str, Any] | None = None,
                     software: Mapping[str, str] | None = None,
                     git: Mapping[str, Any] | None = None,
                     iptw: Mapping[str, Any] | None = None) -> list[tuple[str, list[Any]]]:
    """The Methods as (heading, paragraphs), written from the study definition and the
    configuration values the analyses read; software versions from ``provenance.json``.
    A paragraph is a string, or a list of strings for a list of items."""
    defn = from_dict(dict(study))
    on = {"table1": True, "pcr": True, "her2_loss": True, "survival": True,
          **(analyses or {})}
    pcr = pcr or {}
    surv = survival or {}
    sw = software or {}
    summ = summary or {}
    choices = summ.get("choices") or {}
    flow = summ.get("flow") or {}
    t1 = table1 or {}
    labels = {v["name"]: v["label"] for v in t1.get("variables") or []
              if isinstance(v, Mapping) and "label" in v}
    ex = defn.exposure
    out: list[tuple[str, list[str]]] = []

    # -- design and patients
    design = {"neoadjuvant": "a retrospective multicentre cohort study",
              "adjuvant": "a retrospective multicentre cohort study",
              "registry": "a retrospective registry study"}.get(defn.design,
                                                              "a retrospective cohort study")
    p = [f"This is {design} ({defn.design} setting) of {defn.population or 'the patients'}"
         + (f", from {flow['centres']} centres" if flow.get("centres") else "")
         + (f"; data locked on {data_lock_date}" if data_lock_date else "") + "."]
    if defn.simulated:
        p[0] += (" The data analysed here are SIMULATED: no real patient is represented.")
    if criteria:
        crit = "; ".join(f"({i}) {c.get('label', c.get('id'))}"
                         for i, c in enumerate(criteria, 1))
        p.append("Records with data defects were first set aside (quarantined, with the rule "
                 "each failed). The eligibility criteria were then applied in this order, "
                 f"each record being excluded by the first it met: {crit}.")
    levels = _join([f"{lv.label}" for lv in ex.levels])
    grp = (f"Patients were compared by {ex.name}: {levels}, with {ex.levels[0].label} as "
           "the reference")
    if ex.ordered:
        grp += " (ordered levels)"
    her2 = choices.get("her2")
    if her2 and her2 != "as recorded":
        grp += f"; HER2 status was classified from IHC and ISH by {her2}"
    elif her2 == "as recorded":
        grp += "; HER2 status as recorded by the centres"
    p.append(grp + ".")
    if defn.treatment:
        tr = defn.treatment
        arms = _join([a.label + (f" ({_join(list(a.drugs))})" if a.drugs and any(
            d.lower() not in a.label.lower() for d in a.drugs) else "") for a in tr.arms])
        p.append(f"{tr.name} was compared inside each group: {arms}, with "
                 f"{tr.arms[0].label} as the reference.")
    out.append(("Design and patients", p))

    # -- endpoints
    p = []
    if on["pcr"] and pcr.get("definition"):
        itc = " (isolated tumour cells, ypN0(i+), counted as node-negative)" if \
            pcr.get("itc_is_pcr") else ""
        prim = " It was the primary endpoint." if defn.primary_endpoint == "pcr" else ""
        after = f" after {defn.design} therapy" if defn.design in ("neoadjuvant",) else ""
        p.append(f"Pathologic complete response (pCR){after} was defined as "
                 f"{pcr['definition']}{itc}.{prim}")
    eps = choices.get("endpoints") or {}
    if on["survival"]:
        for ep in defn.endpoints:
            d = (eps.get(ep.id) or {}).get("definition") or ep.definition()
            prim = " (primary endpoint)" if defn.primary_endpoint == ep.id else ""
            p.append(f"{ep.name}{prim}: {d}; patients without an event were censored at last "
                     "contact.")
        if defn.endpoints:
            p.append("Follow-up was summarised by the reverse Kaplan-Meier method.")
    if p:
        out.append(("Endpoints", p))

    # -- statistical analysis
    p = []
    if on["table1"]:
        nonnormal = [_short(_variable_label(v, labels)) for v in t1.get("nonnormal") or []]
        two = len(ex.levels) == 2
        p.append("Baseline characteristics were compared between the groups: categorical "
                 "variables as n (%) with Pearson's chi-squared test without continuity "
                 "correction, or Fisher's exact test when an expected count was below 5; "
                 "continuous variables as mean (SD) with "
                 + ("Welch's t-test" if two else "one-way analysis of variance")
                 + (f", and as median (IQR) with the "
                    + ("Wilcoxon rank-sum test" if two else "Kruskal-Wallis test")
                    + f" for {_join(nonnormal)}" if nonnormal else "") + ".")
    if on["pcr"]:
        test = {"auto": "Fisher's exact test when an expected count was below 5, else "
                        "Pearson's chi-squared test without continuity correction",
                "pearson": "Pearson's chi-squared test without continuity correction",
                "yates": "Pearson's chi-squared test with Yates' continuity correction",
                "fisher": "Fisher's exact test"}.get(str(pcr.get("test", "auto")),
                                                     str(pcr.get("test")))
        ci = {"wilson": "Wilson score", "clopper-pearson": "Clopper-Pearson exact"}.get(
            str(pcr.get("ci", "wilson")), str(pcr.get("ci")))
        p.append(f"pCR rates are given with {ci} 95% confidence intervals and compared with "
                 f"{test}.")
        models = pcr.get("models") or {}
        covs = [_short(_variable_label(c, labels)) for c in models.get("covariates") or []]
        cim = {"profile-mass": "profile-likelihood (as R's confint)",
               "profile": "exact profile-likelihood", "wald": "Wald"}.get(
            str(models.get("ci", "profile-mass")), str(models.get("ci")))
        method = str(models.get("method", "auto"))
        firth = (f"Firth's penalised likelihood where the data are separated or a cell has "
                 f"fewer than {models.get('min_cell', 5)} events or non-events"
                 if method == "auto" else "Firth's penalised likelihood" if method == "Firth"
                 else "maximum likelihood")
        p.append(f"Odds ratios of pCR came from logistic regression, univariable and "
                 f"multivariable ({ex.name}"
                 + (f", adjusted for {_join(covs)}" if covs else "")
                 + f"), with {cim} 95% confidence intervals and likelihood-ratio tests; "
                 f"fitted by {firth}.")
        extra = []
        if pcr.get("continuous"):
            names = _join([_short(_variable_label(v, labels)) for v in pcr["continuous"]])
            extra.append(
                f"continuous predictors ({names}) "
                f"entered as linear terms and as restricted cubic splines with "
                f"{pcr.get('spline_knots', 4)} knots (likelihood-ratio test of non-linearity)")
        if pcr.get("strata"):
            strata = _short(_variable_label(pcr["strata"], labels))
            extra.append(
                f"the odds ratio stratified by {strata} by the "
                "Mantel-Haenszel method with the Cochran-Mantel-Haenszel test and the "
                "Breslow-Day test of homogeneity")
        if pcr.get("trend"):
            vs = [_short(_variable_label(t["variable"], labels)) for t in pcr["trend"]
                  if isinstance(t, Mapping)]
            extra.append(f"the chi-squared test for trend in proportions across ordered "
                         f"categories of {_join(vs)}")
        if pcr.get("subgroups"):
            vs = [_short(_variable_label(v, labels)) for v in pcr["subgroups"]]
            extra.append(
                f"subgroup odds ratios by {_join(vs)} with the likelihood-ratio test of "
                f"interaction (levels with fewer than {pcr.get('subgroup_min_n', 10)} "
                "patients in a group not estimated)")
        if extra:
            p.append("Further analyses of pCR: " + "; ".join(extra) + ".")
    if on["survival"] and defn.endpoints:
        ci_type = {"log": "log", "log-log": "log-log", "plain": "plain (linear)"}.get(
            str(surv.get("ci_type", "log")), str(surv.get("ci_type")))
        lm = surv.get("landmarks_months") or []
        strata = surv.get("logrank_strata")
        s = ("Time-to-event endpoints were estimated by the Kaplan-Meier method with "
             f"Greenwood variance and 95% confidence intervals on the {ci_type} scale"
             + (f", reported at {_join([str(m) for m in lm])} months" if lm else "")
             + ", medians with the Brookmeyer-Crowley interval; groups were compared by the "
               "log-rank test" + (f" (also stratified by {strata})" if strata else "")
             + f". Curves stop where fewer than {surv.get('min_at_risk', 10)} patients "
               "remain at risk; with fewer than "
               f"{surv.get('min_events', 5)} events in a comparison, tests and models are not "
               "reported.")
        p.append(s)
        cox = surv.get("cox") or {}
        covs = [_short(c.get("label") or _variable_label(c["name"], labels))
                if c.get("name") != "group" else ex.name
                for c in cox.get("covariates") or [] if isinstance(c, Mapping)]
        var = {"model": "model-based", "robust": "robust (sandwich)",
               "cluster": f"cluster-robust (by {cox.get('cluster', 'cluster')})"}.get(
            str(cox.get("variance", "model")), str(cox.get("variance")))
        p.append("Hazard ratios came from Cox proportional hazards models, univariable and "
                 "multivariable" + (f" ({_join(covs)})" if covs else "")
                 + f", with {cox.get('ties', 'efron').capitalize()} ties, {var} variance"
                 + (f", stratified by {cox['strata']}" if cox.get("strata") else "")
                 + ", Wald 95% confidence intervals and likelihood-ratio tests; proportional "
                   "hazards were checked with the scaled Schoenfeld residual test "
                   f"(cox.zph, {cox.get('zph_transform', 'km')} transform).")
        extra = []
        if surv.get("rmst_horizon_months"):
            extra.append(f"restricted mean survival time up to "
                         f"{surv['rmst_horizon_months']} months")
        if on["pcr"] and surv.get("landmark_months"):
            extra.append(f"a landmark analysis by pCR at {surv['landmark_months']} months "
                         "(patients event-free and followed then, time reset)")
        if extra:
            p.append("Also reported: " + "; ".join(extra) + ".")
        w = iptw or {}
        if defn.treatment and w.get("confounders"):
            tr = defn.treatment
            conf = [_short(c.get("label") or _variable_label(c["name"], labels))
                    for c in w["confounders"]
                    if isinstance(c, Mapping)]
            trunc = w.get("truncate")
            p.append(
                f"{tr.name} was compared inside each group with inverse probability of "
                "treatment weighting: propensity scores by logistic regression on "
                f"{_join(conf)}; {'stabilised' if w.get('stabilised', True) else 'unstabilised'}"
                " average-treatment-effect weights"
                + (f", truncated at the {trunc[0]} and {trunc[1]} quantiles"
                   if isinstance(trunc, (list, tuple)) and len(trunc) == 2 else "")
                + "; balance by absolute standardised mean differences (threshold "
                  f"{w.get('smd_threshold', 0.1)}); weighted Kaplan-Meier curves and a "
                  "weighted Cox model with robust standard errors, with the E-value of its "
                  f"hazard ratio ({'rare' if w.get('rare_outcome') else 'common'} outcome).")
    imp = [("pCR models", pcr.get("imputation") or {}) if on["pcr"] else ("", {}),
           ("Cox models", surv.get("imputation") or {}) if on["survival"] else ("", {})]
    imp = [(what, i) for what, i in imp if what and i and i.get("enabled", True)]
    if imp:
        p.append("Missing covariate values were handled by multiple imputation by chained "
                 "equations (predictive mean matching for numbers, logistic and polytomous "
                 "regression for categories) and pooled by Rubin's rules, beside the "
                 "complete-case models: " + "; ".join(
                     f"{what}: m = {i.get('m')}, {i.get('iterations')} iterations, seed "
                     f"{i.get('seed')}" for what, i in imp) + ".")
    sens = sensitivity or {}
    variants = sens.get("variants") or {}
    if variants:
        mc = {"complete_case": "patients with a missing covariate left out",
              "multiple_imputation": "missing covariates imputed as above"}.get(
            str(sens.get("missing_covariates", "complete_case")),
            str(sens.get("missing_covariates")).replace("_", " "))
        p.append(f"The headline estimates (adjusted estimates with {mc}) were recomputed in "
                 f"{len(variants)} sensitivity "
                 "analyses: " + "; ".join(
                     f"{v.get('description') or k}" for k, v in variants.items()) + ".")
    from .words import ALPHA, hedging_rule

    # the Results text's one wording rule (render/words.py), at the study's level
    p.append("All tests are two-sided. " + hedging_rule(float(study.get("alpha") or ALPHA)))
    out.append(("Statistical analysis", p))

    if invitro:
        drugs = invitro.get("drugs") or {}
        lines = invitro.get("lines") or {}
        lab = {lv.id: lv.label for lv in ex.levels}
        pv = [f"Cell lines ({_join([f'{k} ({lab.get(str(v), v)})' for k, v in lines.items()])})"
              f" were treated with {_join([d.get('label', k) for k, d in drugs.items()])}. "
              "Viability was normalised per plate as (signal - blank) / (vehicle - blank); "
              "plates with a Z'-factor below "
              f"{(invitro.get('qc') or {}).get('z_prime_min', 0.5)} were excluded and "
              "outlying wells flagged by the modified z-score rule. Dose-response curves "
              "were fitted by the four-parameter log-logistic model (relative IC50 with "
              "delta-method confidence intervals, absolute IC50, Hill slope, Emax, AUC); "
              "IC50s were compared by the extra-sum-of-squares F test of a shared IC50, and "
              "drug combinations scored by Bliss independence, highest single agent, Loewe "
              "additivity and zero interaction potency."]
        out.append(("In-vitro experiments", pv))

    # -- software and cross-checks
    py = _ver(sw, "python", "Python")
    libs = [_ver(sw, k, n) for k, n in (("pandas", "pandas"), ("numpy", "NumPy"),
                                         ("scipy", "SciPy"), ("statsmodels", "statsmodels"),
                                         ("lifelines", "lifelines"),
                                         ("matplotlib", "matplotlib")) if k in sw]
    commit = (git or {}).get("commit")
    own = _ver(sw, "her2cohort") + (f" (commit {str(commit)[:10]}"
                                    + (", uncommitted changes" if (git or {}).get("dirty")
                                       else "") + ")" if commit else "")
    p = [f"Analyses ran in {py} with {_join([*libs, own])}, through "
         f"{_ver(sw, 'snakemake', 'Snakemake')}."]
    rows = software_table(sw, on, invitro is not None,
                          weighting=bool(defn.treatment and (iptw or {}).get("confounders")))
    p.append("Each statistic is checked in the test suite against R (relative difference "
             "at most 5e-7, or exact counts):")
    p.append([f"{what[:1].upper()}{what[1:]}: {impl}; checked against R {rfun}."
              for what, impl, rfun in rows])
    out.append(("Software and cross-checks with R", p))
    return out


def software_table(sw: Mapping[str, str], on: Mapping[str, bool],
                   invitro: bool = False, weighting: bool = False) -> list[tuple[str, str, str]]:
    """(method, implementation with its version, the R function it is checked against) of
    every method the enabled analyses use."""
    ours = _ver(sw, "her2cohort") + " (own code)"
    sm, sp = _ver(sw, "statsmodels"), _ver(sw, "scipy", "SciPy")
    rows = []
    if on.get("pcr", True) or on.get("her2_loss", True):
        rows.append(("Wilson and Clopper-Pearson intervals", f"{sm} proportion_confint",
                     "prop.test / binom.test"))
    if on.get("table1", True) or on.get("pcr", True) or on.get("her2_loss", True):
        rows += [("chi-squared tests", f"{sp} chi2_contingency", "chisq.test"),
                 ("Fisher's exact test (any r x c table)", f"{ours}, network algorithm",
                  "fisher.test")]
    if on.get("table1", True):
        rows.append(("Welch's t, Wilcoxon rank-sum, Kruskal-Wallis and ANOVA tests",
                     f"{sp} stats", "t.test / wilcox.test / kruskal.test / oneway.test"))
    if on.get("pcr", True):
        rows += [("logistic regression, profile-likelihood CIs and Firth's method",
                  f"{ours} (the profile intervals of MASS and logistf's penalised tests are "
                  "in no Python library)", "glm / confint / drop1 / logistf's definition"),
                 ("Mantel-Haenszel, Breslow-Day and trend tests", ours,
                  "mantelhaen.test / prop.trend.test"),
                 ("multiple imputation (chained equations) and Rubin's rules",
                  f"{ours} (statsmodels' MICE does not scale to registries)", "mice / pool")]
    if on.get("survival", True):
        rows += [("Kaplan-Meier, log-rank and RMST", f"{ours} with NumPy (lifelines "
                  "has no Greenwood interval on R's scales nor R's variance of the RMST; "
                  f"the curves are drawn with {_ver(sw, 'lifelines')} KaplanMeierFitter)",
                  "survfit / survdiff"),
                 ("Cox models and cox.zph", f"{ours} (R's coxph algorithm; lifelines lacks "
                  "its ties, variances and current zph test)", "coxph / cox.zph")]
        if weighting:
            rows.append(("propensity scores and weights", f"{sm} GLM", "glm / survey"))
    if invitro:
        rows.append(("four-parameter log-logistic fits", f"{ours} with SciPy optimize",
                     "nls / drc LL.4"))
    return rows


# --------------------------------------------------------------------------- HTML

_PAGE_CSS = """
body { font-family: Georgia, "Times New Roman", serif; max-width: 60em; margin: 2em auto;
  padding: 0 1.5em; line-height: 1.5; color: #111; }
h1 { font-size: 1.6em; line-height: 1.25; }
h2 { border-bottom: 1px solid #999; padding-bottom: 0.2em; margin-top: 2em; }
nav.toc ol { padding-left: 1.5em; } nav.toc li { margin: 0.1em 0; }
p.data { border: 2px solid #b00; color: #b00; padding: 0.4em 0.8em; font-weight: bold; }
p.note { font-size: 0.9em; color: #333; }
figure.item, div.item { margin: 2em 0; padding-top: 0.5em; border-top: 1px solid #ddd;
  overflow-x: auto; }
figure.item img { max-width: 100%; height: auto; }
figcaption, p.caption { font-size: 0.95em; }
span.label { font-weight: bold; }
a { color: #04c; }
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def build_html(*, title: str, simulated: bool, methods: list[tuple[str, list[str]]],
               results: list[Block], items: list[Item], abstract: list[str] | None = None,
               provenance_note: str = "") -> str:
    """The whole paper as one self-contained HTML page (images inline as base64 PNG)."""
    toc = ['<li><a href="#methods">Methods</a><ol>']
    toc += [f'<li><a href="#methods-{i}">{_esc(h)}</a></li>'
            for i, (h, _) in enumerate(methods, 1)]
    toc.append('</ol></li><li><a href="#results">Results</a></li>')
    toc.append('<li><a href="#items">Tables and figures</a><ol>')
    toc += [f'<li><a href="#{it.anchor}">{it.label}</a>: {_esc(_plain(it.caption))}</li>'
            for it in items]
    toc.append("</ol></li>")
    body = [f"<h1>{_esc(title)}</h1>"]
    if simulated:
        body.append('<p class="data">SIMULATED data: no real patient is represented. The '
                    'numbers below illustrate the pipeline and describe no real cohort.</p>')
    else:
        body.append('<p class="data" style="border-color:#444;color:#222">Data: the '
                    'patient records of the participating centres as configured for this '
                    'study.</p>')
    if provenance_note:
        body.append(f'<p class="note">{_esc(provenance_note)}</p>')
    body.append('<nav class="toc"><h2 id="contents">Contents</h2><ol>' + "".join(toc)
                + "</ol></nav>")
    if abstract:
        body.append('<h2 id="abstract">Abstract: results</h2>')
        body += [f"<p>{_resolve(_esc(a), items, True)}</p>" for a in abstract]
    body.append('<h2 id="methods">Methods</h2>')
    for i, (h, paras) in enumerate(methods, 1):
        body.append(f'<h3 id="methods-{i}">{_esc(h)}</h3>')
        for p in paras:
            if isinstance(p, list):  # a list of items
                body.append("<ul>" + "".join(f"<li>{_esc(x)}</li>" for x in p) + "</ul>")
            else:
                body.append(f"<p>{_esc(p)}</p>")
    body.append('<h2 id="results">Results</h2>')
    for b in results:
        if b.level:
            body.append(f"<h3>{_esc(b.text)}</h3>")
        else:
            cls = ' class="note"' if b.note else ""
            body.append(f"<p{cls}>{_resolve(_esc(b.text), items, True)}</p>")
    body.append('<h2 id="items">Tables and figures</h2>')
    for it in items:
        src = html.escape(" ".join(Path(s).name for s in it.sources), quote=True)
        if it.kind == "table":
            t = _wrapped(it.table, 40)  # a long text cell in lines, not off the page
            t.title = f"{it.label}. {it.caption}"
            body.append(f'<div class="item table" id="{it.anchor}" data-source="{src}">'
                        f"{to_html(t, css=False)}</div>")
        else:
            b64 = base64.b64encode(it.png or b"").decode("ascii")
            # about its printed size (a CSS inch is smaller than a screen's real inch)
            width = 1.4 * _png_width_in(it.png or b"")
            body.append(
                f'<figure class="item" id="{it.anchor}" data-source="{src}">'
                f'<img src="data:image/png;base64,{b64}" alt="{it.label}" '
                f'style="width:{width:.2f}in;max-width:100%">'
                f'<figcaption><span class="label">{it.label}.</span> '
                f"{_esc(it.caption)}</figcaption></figure>")
    from .tables import TABLE_CSS

    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_esc(title)}</title>\n<style>{_PAGE_CSS}{TABLE_CSS}</style>\n"
            "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _plain(text: str) -> str:
    return "".join(s for s, _ in split_superscripts(text))


# --------------------------------------------------------------------------- Word

_BODY_PT = 11.0


def _png_width_in(png: bytes) -> float:
    """Printed width of a PNG: its pixels over the resolution it was saved at (300 dpi by
    :func:`her2cohort.render.figures.save_figure`)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        dpi = (im.info.get("dpi") or (300, 300))[0] or 300
        return im.size[0] / float(dpi)


def _wrapped(table: DisplayTable, width: int) -> DisplayTable:
    """``table`` with body cells (not the first column) longer than ``width`` characters
    broken into lines between words, for a table too wide for any page on one line each."""
    import textwrap

    body = table.body.copy()
    for j in range(1, body.shape[1]):
        body.iloc[:, j] = [
            "\n".join(textwrap.wrap(str(v), width)) if isinstance(v, str) and len(v) > width
            else v for v in body.iloc[:, j]]
    return DisplayTable(body=body, header=table.header, title=table.title,
                        footnotes=table.footnotes, indent=table.indent, align=table.align)


def _table_docx(table: DisplayTable, page: str) -> tuple[Any, str, float]:
    """(python-docx Document holding the table, orientation, font size): portrait at 9 pt
    when it fits, down to 8 pt; else landscape; else long text cells broken into ever
    shorter lines; 7 pt only for a table no page holds otherwise."""
    from .tables import docx_table_document

    last: Exception | None = None
    tries = [(table, "portrait", 9.0, 8.0), (table, "landscape", 9.0, 8.0)]
    tries += [(_wrapped(table, w), o, 9.0, 8.0) for w in (60, 36)
              for o in ("portrait", "landscape")]
    tries += [(_wrapped(table, w), "landscape", 9.0, 8.0) for w in (24, 16, 12)]
    tries += [(_wrapped(table, 12), "landscape", 8.0, 7.0)]
    for t, orientation, size, smallest in tries:
        try:
            doc, info = docx_table_document(t, page=page, orientation=orientation,
                                            font_size=size, min_font_size=smallest)
        except ValueError as e:
            last = e
            continue
        return doc, orientation, float(info["font_size"])
    raise ValueError(f"table {table.title!r} does not fit a {page} page: {last}")


def _fix_runs(el: Any, size_pt: float, font: str) -> None:
    """Give every run of a copied table its size and font explicitly (the source
    document's Normal style does not come along)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for r in el.iter(qn("w:r")):
        rpr = r.find(qn("w:rPr"))
        if rpr is None:
            rpr = OxmlElement("w:rPr")
            r.insert(0, rpr)
        if rpr.find(qn("w:rFonts")) is None:
            rf = OxmlElement("w:rFonts")
            for a in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
                rf.set(qn(a), font)
            rpr.insert(0, rf)
        if rpr.find(qn("w:sz")) is None:
            sz = OxmlElement("w:sz")
            sz.set(qn("w:val"), str(int(round(size_pt * 2))))
            rpr.append(sz)


def build_docx(path: str | PathLike[str], *, title: str, simulated: bool,
               methods: list[tuple[str, list[str]]], results: list[Block], items: list[Item],
               abstract: list[str] | None = None, page: str = "A4",
               font: str = "Arial") -> None:
    """The Word manuscript: title, data statement, Methods, Results, then each table on its
    own page (a landscape section where it is too wide for portrait; rows never split
    across pages, header rows repeated), then each figure at its printed width with its
    legend under it."""
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.oxml.ns import qn
    from docx.shared import Inches, Mm, Pt

    from .tables import PAGE_SIZES_MM, new_document, write_normalised_zip

    doc = new_document(title, font, _BODY_PT)
    normal = doc.styles["Normal"]
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    for name in ("Title", "Heading 1", "Heading 2"):
        st = doc.styles[name]
        st.font.name = font
        st.element.get_or_add_rPr()
    pw, ph = PAGE_SIZES_MM.get(page, PAGE_SIZES_MM["A4"])
    margin = 25.4

    def portrait(sec: Any) -> None:
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = Mm(pw), Mm(ph)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(sec, side, Mm(margin))

    portrait(doc.sections[0])
    doc.add_heading(title, level=0)
    if simulated:
        par = doc.add_paragraph()
        run = par.add_run("SIMULATED data: no real patient is represented.")
        run.bold = True
    if abstract:
        doc.add_heading("Abstract: results", level=1)
        for a in abstract:
            doc.add_paragraph(_resolve(a, items, False))
    doc.add_heading("Methods", level=1)
    for h, paras in methods:
        doc.add_heading(h, level=2)
        for p in paras:
            for x in p if isinstance(p, list) else [p]:
                doc.add_paragraph(x, style="List Bullet" if isinstance(p, list) else None)
    doc.add_heading("Results", level=1)
    for b in results:
        if b.level:
            doc.add_heading(b.text, level=2)
        else:
            par = doc.add_paragraph()
            run = par.add_run(_resolve(b.text, items, False))
            if b.note:
                run.font.size = Pt(_BODY_PT - 1.5)

    for it in (i for i in items if i.kind == "table"):
        t = copy.copy(it.table)
        t.title = f"{it.label}. {it.caption}"
        src, orientation, size = _table_docx(t, page)
        sec = doc.add_section(WD_SECTION.NEW_PAGE)
        if orientation == "landscape":
            sec.orientation = WD_ORIENT.LANDSCAPE
            sec.page_width, sec.page_height = Mm(ph), Mm(pw)
            for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
                setattr(sec, side, Mm(margin))
        else:
            portrait(sec)
        body = doc.element.body
        sect_pr = body[-1]  # the document's last sectPr stays last
        for el in list(src.element.body):
            if el.tag == qn("w:sectPr"):
                continue
            el = copy.deepcopy(el)
            _fix_runs(el, size, font)
            for p in el.iter(qn("w:p")):  # body-text spacing does not apply in a table
                ppr = p.find(qn("w:pPr"))
                if ppr is not None and ppr.find(qn("w:spacing")) is None:
                    from docx.oxml import OxmlElement

                    sp = OxmlElement("w:spacing")
                    sp.set(qn("w:after"), "0")
                    sp.set(qn("w:line"), "240")
                    sp.set(qn("w:lineRule"), "auto")
                    ppr.append(sp)
            sect_pr.addprevious(el)

    # each figure on its own page at its printed width: portrait where it fits the text
    # width, else a landscape page (and no wider than that page's text width)
    portrait_in = (pw - 2 * margin) / 25.4
    landscape_in = (ph - 2 * margin) / 25.4
    for it in (i for i in items if i.kind == "figure"):
        width = _png_width_in(it.png or b"")
        sec = doc.add_section(WD_SECTION.NEW_PAGE)
        if width > portrait_in + 1e-6:
            sec.orientation = WD_ORIENT.LANDSCAPE
            sec.page_width, sec.page_height = Mm(ph), Mm(pw)
            for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
                setattr(sec, side, Mm(margin))
            width = min(width, landscape_in)
        else:
            portrait(sec)
        par = doc.add_paragraph()
        par.paragraph_format.keep_with_next = True
        par.add_run().add_picture(io.BytesIO(it.png or b""), width=Inches(width))
        # the picture's height must leave room for the legend on the page
        pic = doc.inline_shapes[-1]
        text_h_in = ((pw if width > portrait_in else ph) - 2 * margin) / 25.4 - 1.0
        if pic.height.inches > text_h_in:
            scale = text_h_in / pic.height.inches
            pic.height = Inches(pic.height.inches * scale)
            pic.width = Inches(pic.width.inches * scale)
        leg = doc.add_paragraph()
        r = leg.add_run(f"{it.label}. ")
        r.bold = True
        leg.add_run(it.caption)
    buf = io.BytesIO()
    doc.save(buf)
    write_normalised_zip(buf.getvalue(), path)
