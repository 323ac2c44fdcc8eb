"""Rule ``paper``: the paper as one document, ``paper.html`` (self-contained, scrolling:
title, data statement, contents, Methods, Results with resolving table and figure
citations, then every table and figure numbered with its caption, the flow diagram first) and
``manuscript.docx`` (the same text, the tables as Word tables, the figures at their printed
width with legends).

Nothing is recomputed: the Results text is the summary rule's ``manuscript.md``, the tables
are the HTML tables the other rules wrote, the figures their PNGs; the Methods are written
from the study definition and the configuration values below
(:func:`her2cohort.render.paper.methods_sections`). Which tables and figures exist depends on
the study and its analyses: the rule's inputs are exactly those of this run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _paths(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, (str, Path)):
        return [str(v)]
    return [str(x) for x in v]


def main(*, in_tables, in_figures, in_manuscript, in_summary, in_provenance=None,
         out_html, out_docx, study, criteria=(), analyses=None, pcr=None, survival=None,
         table1=None, sensitivity=None, invitro=None, invitro_on=False,
         data_lock_date=None, iptw=None, page="A4") -> None:
    from ..render import paper as pp
    from ..study.definition import from_dict

    defn = from_dict(study)
    summary = json.loads(Path(in_summary).read_text(encoding="utf-8"))
    prov = {}
    if in_provenance and Path(in_provenance).exists():
        prov = json.loads(Path(in_provenance).read_text(encoding="utf-8"))
    t1 = table1 or {}
    labels = {v["name"]: v["label"] for v in t1.get("variables") or []
              if isinstance(v, dict) and "label" in v}
    inv = (invitro or {}) if invitro_on else None
    from ..render.words import refs_in

    # the Results text with its reference tokens (summary.json), else manuscript.md as written
    text = (summary.get("text") or {}).get("manuscript")
    if text is None:
        text = Path(in_manuscript).read_text(encoding="utf-8")
    items = pp.collect_items(
        _paths(in_tables), _paths(in_figures), defn, cited=refs_in(text),
        pcr_definition=(summary.get("choices") or {}).get("pcr_definition"),
        variable_labels=labels,
        landmark_months=(survival or {}).get("landmark_months"),
        smd_threshold=(iptw or {}).get("smd_threshold"),
        drug_labels={k: (d or {}).get("label", k) for k, d in ((inv or {}).get("drugs")
                                                                or {}).items()},
        combinations=(inv or {}).get("combinations") or ())
    simulated_text, blocks = pp.parse_results(pp.from_words_tokens(text))
    simulated = bool(summary.get("simulated", defn.simulated)) or simulated_text
    # the abstract's sentences are their own block under "Abstract, results sentences"
    abstract: list[str] = []
    results: list[pp.Block] = []
    in_abstract = in_methods = False
    for b in blocks:
        if b.level:
            in_abstract = "abstract" in b.text.lower()
            # the summary's Statistical methods paragraph: the paper's Methods say it in full
            in_methods = "methods" in b.text.lower()
            if in_abstract or in_methods:
                continue
        if in_methods:
            continue
        if in_abstract:
            abstract.append(b.text)
        else:
            results.append(b)
    results = pp.cite_results(results, items, defn)
    skipped = pp.not_analysed_text(_paths(in_tables))
    if skipped:  # their one-cell tables are not numbered items: said once, here
        at = next((i for i, b in enumerate(results) if b.level), len(results))
        results.insert(at, pp.Block(skipped))
    methods = pp.methods_sections(
        study=study, criteria=criteria, analyses=analyses, pcr=pcr, survival=survival,
        table1=t1, sensitivity=sensitivity, invitro=inv, data_lock_date=data_lock_date,
        summary=summary, software=prov.get("software") or {}, git=prov.get("git") or {},
        iptw=iptw)
    title = summary.get("study") or defn.title or defn.id
    Path(out_html).parent.mkdir(parents=True, exist_ok=True)
    Path(out_html).write_text(
        pp.build_html(title=title, simulated=simulated, methods=methods, results=results,
                      items=items, abstract=abstract),
        encoding="utf-8", newline="\n")
    pp.build_docx(out_docx, title=title, simulated=simulated, methods=methods,
                  results=results, items=items, abstract=abstract, page=page)
    n_t = sum(it.kind == "table" for it in items)
    n_f = sum(it.kind == "figure" for it in items)
    print(f"paper: {out_html} and {out_docx} ({n_t} tables, {n_f} figures)")
