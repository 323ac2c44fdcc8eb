"""The paper builders (her2cohort.render.paper, stage paper) on constructed inputs: a
SIMULATED three-group study with one endpoint and no treatment, its tables written by the
table renderer, small PNG figures, and a Results text as rule summary writes it."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from PIL import Image

from her2cohort.render import paper as pp
from her2cohort.render.format import sup
from her2cohort.render.tables import DisplayTable, write_html
from her2cohort.study.definition import from_dict

from paper_check import check_paper_dom

STUDY = {
    "id": "three-groups", "title": "Three regimens in a SIMULATED registry",
    "design": "registry", "population": "patients of a constructed registry",
    "simulated": True,
    "exposure": {"name": "Regimen", "column": "regimen",
                 "levels": [{"id": "A", "label": "Arm A"}, {"id": "B", "label": "Arm B"},
                            {"id": "C", "label": "Arm C"}]},
    "endpoints": {"os": {"name": "Overall survival", "abbreviation": "OS",
                         "origin": "diagnosis", "events": ["death"]}},
    "primary_endpoint": "os",
}
CRITERIA = [{"id": "late", "label": "Diagnosed after 2020", "column": "diagnosis_year",
             "op": "outside", "range": [2000, 2020]},
            {"id": "young", "label": "Younger than 18", "column": "age", "op": "lt",
             "value": 18}]
SOFTWARE = {"python": "3.11.7", "numpy": "2.4.6", "scipy": "1.17.1", "statsmodels": "0.15.0",
            "lifelines": "0.30.3", "pandas": "2.3.3", "her2cohort": "0.1.0",
            "snakemake": "9.27.1"}
MANUSCRIPT = """# Results (generated from results/summary.json; do not edit by hand)

**SIMULATED data: no real patient is represented.**

Of 100 records received from 2 centres, 90 patients were analysed: 30 Arm A, 30 Arm B and \
30 Arm C (4 records were set aside for data defects and 6 excluded by the eligibility \
criteria). No difference in overall survival (OS; from diagnosis; event: death from any \
cause) was detected across Arm A, Arm B and Arm C (log-rank p = 0.52). Median follow-up \
(reverse Kaplan-Meier) was 31.0 months for OS.

P-values: log-rank (Mantel-Haenszel) for OS. Wording follows the p-value.

## Abstract, results sentences

No difference in OS was detected across Arm A, Arm B and Arm C (log-rank p = 0.52).
"""


def _table(title: str, ncol: int = 3, wide: bool = False) -> DisplayTable:
    rows = [["Arm A", "30", "12.5 (1.0–20.0)" + sup("a")], ["Arm B", "30", "10.0"]]
    if wide:
        rows = [r + [f"a long value number {j}, wide" for j in
                     range(ncol - 3)] for r in rows]
    body = pd.DataFrame(rows)
    header = [["", "n", "Estimate"] + [f"Column {j}" for j in range(ncol - 3)]]
    return DisplayTable(body=body, header=header, title=title, indent=[1, 1],
                        footnotes=[sup("a") + "Log-rank test", "SIMULATED data."])


def _png(path, colour, width_px=600, dpi=300):
    Image.new("RGB", (width_px, 300), colour).save(path, dpi=(dpi, dpi))


@pytest.fixture
def run(tmp_path):
    res = tmp_path / "results"
    (res / "tables").mkdir(parents=True)
    (res / "figures").mkdir()
    write_html(_table("Table 1. Baseline characteristics by Regimen"),
               res / "tables/table1.html")
    write_html(_table("Flow of records"), res / "tables/flow.html")
    write_html(_table("Overall survival by group"), res / "tables/os_summary.html")
    write_html(_table("Cox proportional hazards models: overall survival", ncol=7,
                      wide=True), res / "tables/os_cox.html")
    write_html(_table("Sensitivity analyses"), res / "tables/sensitivity.html")
    _png(res / "figures/flow_diagram.png", "white")
    _png(res / "figures/os_km.png", "red", width_px=3000)  # 10 in at 300 dpi: page width
    _png(res / "figures/os_cox_forest.png", "blue")
    _png(res / "figures/os_cox_zph.png", "blue")  # the same bytes: shown once
    (res / "manuscript.md").write_text(MANUSCRIPT, encoding="utf-8")
    (res / "summary.json").write_text(json.dumps({
        "study": STUDY["title"], "simulated": True, "flow": {"centres": 2},
        "choices": {"endpoints": {"os": {"definition": "OS from diagnosis; event: death "
                                                       "from any cause"}}}}))
    (res / "provenance.json").write_text(json.dumps({
        "software": SOFTWARE, "git": {"commit": "0123456789abcdef", "dirty": False}}))
    return res


def _items(res):
    defn = from_dict(STUDY)
    tables = sorted((res / "tables").glob("*.html"))
    figures = sorted((res / "figures").glob("*.png"))
    return defn, pp.collect_items(tables, figures, defn)


def test_items_numbered_in_manuscript_order_with_captions(run):
    _, items = _items(run)
    got = [(it.kind, it.number, it.key) for it in items]
    assert got == [("figure", 1, "flow_diagram"), ("table", 1, "table1"),
                   ("table", 2, "flow"), ("table", 3, "os_summary"), ("figure", 2, "os_km"),
                   ("table", 4, "os_cox"), ("figure", 3, "os_cox_forest"),
                   ("table", 5, "sensitivity")]
    t1 = items[1]
    assert t1.caption == "Baseline characteristics by Regimen"  # its own "Table 1." dropped
    assert t1.table.indent == [1, 1] and t1.table.header[0][1] == "n"
    assert t1.table.cells[0][2] == "12.5 (1.0–20.0)" + sup("a")
    assert t1.table.footnotes == [sup("a") + "Log-rank test", "SIMULATED data."]
    km = items[4]
    assert km.caption.startswith("Kaplan-Meier estimates of overall survival (OS) by "
                                 "Regimen")
    forest = items[6]
    assert [s.rsplit("/", 1)[1] for s in forest.sources] == ["os_cox_forest.png",
                                                             "os_cox_zph.png"]
    assert "identical outputs" in forest.caption


def test_results_cite_every_item_and_every_citation_resolves(run):
    defn, items = _items(run)
    simulated, blocks = pp.parse_results(MANUSCRIPT)
    assert simulated
    assert [b.level for b in blocks] == [0, 0, 2, 0] and blocks[1].note
    body = [b for b in blocks[:2]]
    cited = pp.cite_results(body, items, defn)
    text = [pp._resolve(b.text, items, link=False) for b in cited]
    assert "excluded by the eligibility criteria) (Table 2; Figure 1)." in text[0]
    assert "(log-rank p = 0.52) (Tables 3 and 4; Figures 2 and 3)." in text[0]
    assert "was 31.0 months for OS." in text[0]  # follow-up: its table is cited already
    assert text[1] == "Further results: Tables 1 and 5."
    assert text[2].startswith("P-values")  # the note is left as written


def test_explicit_tokens_resolve_and_unknown_ones_vanish(run):
    defn, items = _items(run)
    blocks = [pp.Block("The hazard ratios ({table:os_cox}; {figure:os_cox_zph}) and "
                       "a figure this run has not ({figure:pcr_forest}).")]
    cited = pp.cite_results(blocks, items, defn)
    # a text with tokens is cited as its author wrote it; what it leaves uncited is listed
    # in one closing sentence, so that every item is cited
    assert cited[0] == blocks[0] and len(cited) == 2
    assert cited[1].text.startswith("Further results: {table:")
    assert "{table:os_cox}" not in cited[1].text and "{table:os_summary}" in cited[1].text
    assert pp._resolve(blocks[0].text, items, link=False) == (
        "The hazard ratios (Table 4; Figure 3) and a figure this run has not.")
    html = pp._resolve(blocks[0].text, items, link=True)
    assert '<a href="#table-4">Table 4</a>' in html


def test_methods_from_the_study_definition_and_config(run):
    summary = json.loads((run / "summary.json").read_text())
    secs = pp.methods_sections(
        study=STUDY, criteria=CRITERIA,
        analyses={"table1": True, "pcr": False, "her2_loss": False, "survival": True},
        survival={"ci_type": "log-log", "landmarks_months": [12, 24], "min_at_risk": 5,
                  "cox": {"ties": "breslow", "variance": "robust",
                          "covariates": [{"name": "group"}, {"name": "age",
                                                             "label": "Age, years"}]},
                  "imputation": {"m": 5, "seed": 7, "iterations": 3},
                  "rmst_horizon_months": 36},
        table1={"nonnormal": ["age"], "variables": [{"name": "age", "label": "Age, years"}]},
        sensitivity={"variants": {"v1": {"description": "OS from surgery"}}},
        data_lock_date="2024-12-31", summary=summary, software=SOFTWARE,
        git={"commit": "0123456789abcdef"})
    heads = [h for h, _ in secs]
    assert heads == ["Design and patients", "Endpoints", "Statistical analysis",
                     "Software and cross-checks with R"]
    text = " ".join(" ".join(" ".join(x) if isinstance(x, list) else x for x in p)
                    for _, p in secs)
    assert "retrospective registry study (registry setting) of patients of a constructed " \
           "registry, from 2 centres; data locked on 2024-12-31" in text
    assert "SIMULATED" in text
    assert "(1) Diagnosed after 2020; (2) Younger than 18" in text
    assert "Regimen: Arm A, Arm B and Arm C, with Arm A as the reference" in text
    assert "Overall survival (primary endpoint): OS from diagnosis; event: death" in text
    assert "one-way analysis of variance" in text and "Kruskal-Wallis test for Age." in text
    assert "log-log scale, reported at 12 and 24 months" in text
    assert "(Regimen and Age), with Breslow ties, robust (sandwich) variance" in text
    assert "Cox models: m = 5, 3 iterations, seed 7" in text
    assert "1 sensitivity analyses: OS from surgery." in text
    assert "Python 3.11.7" in text and "NumPy 2.4.6" in text and "lifelines 0.30.3" in text
    assert ("Analyses ran in Python 3.11.7 with pandas 2.3.3, NumPy 2.4.6, SciPy 1.17.1, "
            "statsmodels 0.15.0, lifelines 0.30.3 and her2cohort 0.1.0 (commit 0123456789), "
            "through Snakemake 9.27.1.") in text
    assert "(adjusted estimates with patients with a missing covariate left out)" in text
    checks = secs[-1][1][-1]  # the list of methods with their R counterparts
    assert isinstance(checks, list) and len(checks) >= 5
    assert any(c.startswith("Cox models and cox.zph:") and c.endswith(
        "checked against R coxph / cox.zph.") for c in checks)
    assert "survfit / survdiff" in text
    # nothing this study does not have
    for word in ("pCR", "neoadjuvant", "trastuzumab", "HER2", "IPTW", "inverse probability",
                 "logistic regression", "IC50"):
        assert word not in text, word


def test_html_is_self_contained_and_complete(run):
    defn, items = _items(run)
    _, blocks = pp.parse_results(MANUSCRIPT)
    results = pp.cite_results(blocks[:2], items, defn)
    methods = [("Design and patients", ["A study."])]
    page = pp.build_html(title=STUDY["title"], simulated=True, methods=methods,
                         results=results, items=items, abstract=["An abstract sentence."])
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)  # nothing fetched
    assert "SIMULATED data: no real patient is represented." in page
    counts = check_paper_dom(page, run)
    assert counts == {"table": 5, "figure": 3}
    # the same check fails on a page that misses an item or cites a number it lacks
    with pytest.raises(AssertionError):
        check_paper_dom(page.replace('data-source="os_cox_forest.png os_cox_zph.png"',
                                     'data-source="os_cox_forest.png"'), run)
    with pytest.raises(AssertionError):
        check_paper_dom(page.replace("<p>A study.</p>", "<p>See Table 9.</p>"), run)


def test_word_manuscript(run, tmp_path):
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn

    defn, items = _items(run)
    _, blocks = pp.parse_results(MANUSCRIPT)
    results = pp.cite_results(blocks[:2], items, defn)
    out = tmp_path / "m.docx"
    pp.build_docx(out, title=STUDY["title"], simulated=True,
                  methods=[("Design and patients", ["A study."])], results=results,
                  items=items)
    doc = Document(str(out))
    assert len(doc.tables) == 5
    texts = [p.text for p in doc.paragraphs]
    assert "SIMULATED data: no real patient is represented." in texts
    assert any("(Table 2; Figure 1)" in t for t in texts)
    assert "Table 4. Cox proportional hazards models: overall survival" in [
        t.rows[0].cells[0].text for t in doc.tables] or any(
        t == "Table 4. Cox proportional hazards models: overall survival" for t in texts)
    # one section per table and per figure; the wide table and the wide figure in landscape
    orient = [s.orientation for s in doc.sections]
    assert len(orient) == 1 + 5 + 3
    assert [i for i, o in enumerate(orient) if o == WD_ORIENT.LANDSCAPE] == [4, 7]
    for t in doc.tables:
        for tr in t._tbl.iter(qn("w:tr")):
            assert tr.find(qn("w:trPr")).find(qn("w:cantSplit")) is not None
        sizes = {int(s.get(qn("w:val"))) / 2 for s in t._tbl.iter(qn("w:sz"))}
        assert sizes and 8 <= min(sizes) and max(sizes) <= 10, sizes
    # figures at their printed width (600 px at 300 dpi = 2 in); one wider than the portrait
    # text width on a landscape page, capped at its text width
    widths = [s.width.inches for s in doc.inline_shapes]
    assert len(widths) == 3
    assert widths[0] == pytest.approx(2.0, abs=0.01)
    assert widths[1] == pytest.approx((297 - 2 * 25.4) / 25.4, abs=0.01)
    legends = [t for t in texts if re.match(r"Figure \d\. ", t)]
    assert [t[:9] for t in legends] == ["Figure 1.", "Figure 2.", "Figure 3."]


def test_stage_writes_both_documents(run, tmp_path):
    from her2cohort.stages import paper

    paper.main(in_tables=sorted(str(p) for p in (run / "tables").glob("*.html")),
               in_figures=sorted(str(p) for p in (run / "figures").glob("*.png")),
               in_manuscript=run / "manuscript.md", in_summary=run / "summary.json",
               in_provenance=run / "provenance.json", out_html=tmp_path / "paper.html",
               out_docx=tmp_path / "manuscript.docx", study=STUDY, criteria=CRITERIA,
               analyses={"table1": True, "pcr": False, "her2_loss": False,
                         "survival": True})
    page = (tmp_path / "paper.html").read_text("utf-8")
    assert check_paper_dom(page, run) == {"table": 5, "figure": 3}
    assert "Abstract: results" in page and "No difference in OS was detected" in page
    assert (tmp_path / "manuscript.docx").stat().st_size > 5000


@pytest.mark.parametrize("shape", ["her2low_registry", "three_arm_trial", "status_only"])
def test_methods_and_captions_of_each_example_study_hold_only_its_words(shape):
    """The Methods and every figure caption the paper of an example study can have, from its
    own config, hold none of the reference study's words it must not print (the list of
    tests/test_studies_e2e.py), without running its pipeline."""
    from pathlib import Path

    from her2cohort.data.config import load_config
    from her2cohort.stages.params import stage_params

    from test_studies_e2e import FORBIDDEN

    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "config/examples" / shape / "config.yaml")
    kw = stage_params(cfg, "paper")
    defn = from_dict(kw["study"])
    secs = pp.methods_sections(
        study=kw["study"], criteria=kw["criteria"], analyses=kw["analyses"], pcr=kw["pcr"],
        survival=kw["survival"], table1=kw["table1"], sensitivity=kw["sensitivity"],
        invitro=kw["invitro"] if kw["invitro_on"] else None, iptw=kw["iptw"],
        data_lock_date=kw["data_lock_date"], software=SOFTWARE,
        summary={"flow": {"centres": 2}, "choices": {}})
    text = " ".join(" ".join(" ".join(x) if isinstance(x, list) else x for x in p)
                    for _, p in secs)
    stems = ["flow_diagram", "pcr_rates", "pcr_forest"] if kw["analyses"]["pcr"] else \
        ["flow_diagram"]
    for e in defn.endpoint_ids:
        stems += [f"{e}_{s}" for s in ("km", "cox_forest", "cox_zph")]
        if defn.treatment:
            stems += [f"{e}_{s}" for s in ("km_treatment", "iptw_love", "iptw_km")]
    text += " ".join(pp.figure_caption(s, defn) for s in stems)
    for c in kw["criteria"]:
        assert c["label"] in text
    hits = [w for w in FORBIDDEN[shape]
            if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text,
                         0 if w[:1].isupper() else re.IGNORECASE)]
    assert not hits, (hits, text)
