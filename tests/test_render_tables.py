"""Tests for the table renderer (render.tables) and the display tables (render.display)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from her2cohort.render.display import (
    cox_display,
    her2_loss_display,
    rates_display,
    table_one_display,
)
from her2cohort.render.format import EN_DASH, plain_text, sup
from her2cohort.render.tables import (
    DisplayTable,
    column_widths,
    text_width_pt,
    to_html,
    write_docx,
)
from her2cohort.stats.table1 import table_one

NB = "\u00a0"


@pytest.fixture
def t1_df() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 60
    grp = np.array(["3+"] * 40 + ["2+"] * 20)
    meno = rng.choice(["pre", "post"], n).astype(object)
    meno[[0, 1, 45]] = None  # two missing in 3+, one in 2+
    age = rng.normal(50, 10, n)
    age[50] = np.nan
    return pd.DataFrame({"g": grp, "meno": meno, "age": age,
                         "ki": rng.choice(["low", "high"], n)})


T1_VARS = [
    {"name": "age", "label": "Age, years", "type": "continuous"},
    {"name": "meno", "label": "Menopausal status", "type": "categorical",
     "levels": ["pre", "post"],
     "level_labels": {"pre": "Premenopausal", "post": "Postmenopausal"}},
    {"name": "ki", "label": "Ki-67", "type": "categorical", "levels": ["low", "high"]},
]


def _t1(df):
    return table_one(df, "g", T1_VARS, group_order=["3+", "2+"], nonnormal=["age"])


def test_table_one_new_columns_keep_old_numbers(t1_df):
    t = _t1(t1_df)
    hdr = t[(t["variable"] == "meno") & (t["row_type"] == "header")].iloc[0]
    assert (hdr["nmiss_overall"], hdr["nmiss_3+"], hdr["nmiss_2+"]) == (3, 2, 1)
    assert hdr["missing"] == 3
    lev = t[(t["variable"] == "meno") & (t["row_type"] == "level")]
    assert lev["level"].tolist() == ["pre", "post"]  # data values kept
    assert lev["level_label"].tolist() == ["Premenopausal", "Postmenopausal"]
    age = t[t["variable"] == "age"].iloc[0]
    assert (age["nmiss_3+"], age["nmiss_2+"]) == (0, 1)
    # percentages over non-missing, numbers unchanged by the new columns
    n_pre = int(((t1_df["g"] == "3+") & (t1_df["meno"] == "pre")).sum())
    assert lev.iloc[0]["pct_3+"] == pytest.approx(100 * n_pre / 38)
    with pytest.raises(ValueError, match="level_labels"):
        table_one(t1_df, "g", [{**T1_VARS[1], "level_labels": {"peri": "x"}}])


def test_table_one_display_layout(t1_df):
    t = _t1(t1_df)
    d = table_one_display(t, group_labels={"3+": "IHC 3+", "2+": "IHC 2+/ISH+"},
                          extra_notes=["Simulated."])
    assert d.header == [["Characteristic", f"Overall, N{NB}={NB}60", f"IHC 3+, N{NB}={NB}40",
                         f"IHC 2+/ISH+, N{NB}={NB}20", "p-value", "SMD"]]
    rows = d.cells
    first = [r[0] for r in rows]
    assert first == ["Age, years, median (Q1, Q3)", "Unknown", "Menopausal status",
                     "Premenopausal", "Postmenopausal", "Unknown", "Ki-67", "low", "high"]
    assert d.indent == [0, 1, 0, 1, 1, 1, 0, 1, 1]
    # Unknown rows: per group and overall counts
    assert rows[1][1:4] == ["1", "0", "1"]
    assert rows[5][1:4] == ["3", "2", "1"]
    # n (%) with % over non-missing
    lev = t[(t["variable"] == "meno") & (t["level"] == "pre")].iloc[0]
    assert rows[3][2] == f"{int(lev['n_3+'])} ({lev['pct_3+']:.1f}%)"
    # p-values with one mark per test, footnotes in mark order
    assert plain_text(rows[0][4]).endswith("^a")  # Wilcoxon first
    assert plain_text(rows[2][4]).endswith("^b")
    assert plain_text(rows[6][4]).endswith("^b")
    assert d.footnotes[0] == sup("a") + "Wilcoxon rank-sum test"
    assert d.footnotes[1].startswith(sup("b")) and "chi-squared" in d.footnotes[1]
    assert d.footnotes[-1] == "Simulated."
    assert any(f.startswith("Unknown:") for f in d.footnotes)
    # no overall / no SMD
    d2 = table_one_display(t, overall=False, smd=False)
    assert d2.header[0] == ["Characteristic", f"3+, N{NB}={NB}40", f"2+, N{NB}={NB}20",
                            "p-value"]


def test_table_one_display_rejects_old_tables(t1_df):
    t = _t1(t1_df).drop(columns=["nmiss_3+"])
    with pytest.raises(ValueError, match="nmiss"):
        table_one_display(t)


def test_text_width_is_measured_with_font_metrics():
    w1 = text_width_pt("Characteristic", "Arial", 9.0)
    w2 = text_width_pt("Characteristic", "Arial", 18.0)
    assert w2 == pytest.approx(2 * w1, rel=0.02)
    assert text_width_pt("iiii", "Arial", 9) < text_width_pt("MMMM", "Arial", 9)
    assert text_width_pt("Characteristic", "Arial", 9, bold=True) > w1
    # Liberation Sans = Arial metrics: "M" advance is 833/1000 em
    assert text_width_pt("M", "Arial", 10) == pytest.approx(8.33, abs=0.1)


def _wide_table(ncols: int) -> DisplayTable:
    body = pd.DataFrame([["Trastuzumab + pertuzumab", *(["368 (64.0%)"] * (ncols - 1))]] * 3)
    return DisplayTable(body=body, header=[["Characteristic",
                                            *[f"Group {i}, N{NB}={NB}10,000"
                                              for i in range(ncols - 1)]]])


def test_column_widths_fit_without_breaking_words():
    t = _wide_table(5)
    w = column_widths(t, 451.0, "Arial", 9.0)
    assert w is not None and sum(w) == pytest.approx(451.0)
    for j in range(1, 5):  # numbers never wrap
        assert w[j] >= text_width_pt("368 (64.0%)", "Arial", 9.0) + 8
    assert w[0] >= text_width_pt("Trastuzumab + pertuzumab", "Arial", 9.0) + 8
    assert column_widths(_wide_table(12), 451.0, "Arial", 9.0) is None


def test_write_docx_pages_rules_header_and_determinism(tmp_path):
    from docx import Document
    from docx.oxml.ns import qn

    t = DisplayTable(
        body=pd.DataFrame([["A", "1", "0.32" + sup("a")], ["B < C & D", "2", ""]]),
        header=[["", "Group", "Group"], ["Row", "n", "p"]],
        title="Table 9. Test", footnotes=[sup("a") + "Pearson's chi-squared test", "Note."],
        indent=[0, 1])
    p1, p2 = tmp_path / "a.docx", tmp_path / "b.docx"
    info = write_docx(t, p1, page="Letter", orientation="landscape", margins_mm=20)
    write_docx(t, p2, page="Letter", orientation="landscape", margins_mm=20)
    assert hashlib.sha256(p1.read_bytes()).digest() == hashlib.sha256(p2.read_bytes()).digest()
    doc = Document(str(p1))
    sec = doc.sections[0]
    assert (round(sec.page_width.mm, 1), round(sec.page_height.mm, 1)) == (279.4, 215.9)
    assert round(sec.left_margin.mm, 1) == 20.0
    assert sum(info["widths_pt"]) == pytest.approx(info["text_width_pt"])
    tbl = doc.tables[0]
    assert tbl._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    rows = tbl.rows
    assert [rows[i]._tr.trPr.find(qn("w:tblHeader")) is not None for i in range(4)] == [
        True, True, False, False]
    assert rows[0].cells[1].text == "Group" and rows[0].cells[1]._tc is rows[0].cells[2]._tc
    assert rows[2].cells[2].text == "0.32a"
    sup_runs = [r for r in rows[2].cells[2].paragraphs[0].runs if r.font.superscript]
    assert [r.text for r in sup_runs] == ["a"]

    def border(cell, edge):
        el = cell._tc.tcPr.find(qn("w:tcBorders"))
        el = el.find(qn(f"w:{edge}")) if el is not None else None
        return None if el is None else el.get(qn("w:sz"))

    assert border(rows[0].cells[0], "top") == "12"
    assert border(rows[1].cells[0], "bottom") == "6"
    assert border(rows[3].cells[0], "bottom") == "12"
    assert border(rows[2].cells[0], "bottom") is None
    # children of every cell's tcPr in schema order (Word refuses out-of-order XML)
    order = ["tcW", "gridSpan", "vMerge", "tcBorders", "shd", "vAlign"]
    for r in rows:
        for c in r.cells:
            tags = [el.tag.split("}")[1] for el in c._tc.tcPr]
            idx = [order.index(t) for t in tags if t in order]
            assert idx == sorted(idx), tags
    paras = [p.text for p in doc.paragraphs]
    assert paras[0] == "Table 9. Test"
    assert "aPearson's chi-squared test" in paras and "Note." in paras
    with pytest.raises(ValueError, match="page"):
        write_docx(t, tmp_path / "x.docx", page="A5")


def test_write_docx_too_wide_asks_for_landscape(tmp_path):
    with pytest.raises(ValueError, match="landscape"):
        write_docx(_wide_table(12), tmp_path / "w.docx")
    info = write_docx(_wide_table(6), tmp_path / "w.docx", orientation="landscape")
    assert info["font_size"] <= 9.0


def test_html_escapes_and_has_same_content():
    t = DisplayTable(body=pd.DataFrame([["<script>", "1 & 2", "0.32" + sup("a")]]),
                     header=[["Row", "n", "p"]], title="T & <b>", footnotes=[sup("a") + "x"],
                     indent=[1])
    frag = to_html(t)
    assert "<script>" not in frag and "&lt;script&gt;" in frag
    assert "1 &amp; 2" in frag and "0.32<sup>a</sup>" in frag
    assert "<caption>T &amp; &lt;b&gt;</caption>" in frag
    assert frag.startswith("<style>")
    page = to_html(t, full_page=True)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<title>T &amp; &lt;b&gt;</title>" in page
    assert "\x0e" not in page and "\x0f" not in page


def _rates():
    return pd.DataFrame({
        "group": ["IHC 3+", "IHC 2+/ISH+", "single", "dual", "single", "dual"],
        "n": [458, 117, 158, 300, 49, 68], "events": [211, 19, 61, 150, 6, 13],
        "pct": [46.0699, 16.2393, 38.6076, 50.0, 12.2449, 19.1176],
        "lower": [41.5565, 10.6498, 31.3725, 44.378, 5.73483, 11.5273],
        "upper": [50.6486, 23.9753, 46.3835, 55.622, 24.2444, 30.0106],
        "ci_method": "Wilson score, 95%",
        "subset": ["all", "all", "IHC 3+", "IHC 3+", "IHC 2+/ISH+", "IHC 2+/ISH+"],
        "comparison": ["HER2 group", "HER2 group", "anti-HER2", "anti-HER2", "anti-HER2",
                       "anti-HER2"]})


def _tests():
    t = "Pearson chi-square (no continuity correction)"
    return pd.DataFrame({"comparison": ["pCR by HER2 group", "pCR by anti-HER2",
                                        "pCR by anti-HER2"],
                         "subset": ["all", "IHC 3+", "IHC 2+/ISH+"], "test": [t, t, t],
                         "p": [4.14648e-09, 0.0200649, 0.32]})


def test_rates_display():
    d = rates_display(_rates(), _tests(), definition="ypT0/is ypN0",
                      group_labels={"single": "Trastuzumab",
                                    "dual": "Trastuzumab + pertuzumab"},
                      section_labels={"all": "HER2 group",
                                      "IHC 3+": "Anti-HER2 therapy, IHC 3+",
                                      "IHC 2+/ISH+": "Anti-HER2 therapy, IHC 2+/ISH+"})
    rows = [[plain_text(c) for c in r] for r in d.cells]
    assert rows[0] == ["HER2 group", "", "", "<0.001^a"]
    assert rows[1] == ["IHC 3+", "211/458", f"46.1 (41.6{EN_DASH}50.6)", ""]
    assert rows[3] == ["Anti-HER2 therapy, IHC 3+", "", "", "0.020^a"]
    assert rows[8] == ["Trastuzumab + pertuzumab", "13/68", f"19.1 (11.5{EN_DASH}30.0)", ""]
    assert rows[6][3] == "0.32^a"
    assert d.footnotes[0] == sup("a") + "Pearson's chi-squared test"
    assert "pCR: ypT0/is ypN0." in d.footnotes
    assert "CI: confidence interval (Wilson score, 95%)." in d.footnotes


def test_her2_loss_and_cox_display():
    loss = pd.DataFrame({"group": ["IHC 3+", "IHC 2+/ISH+"], "n": [153, 56],
                         "events": [20, 18], "pct": [13.0719, 32.1429],
                         "lower": [8.62385, 21.401], "upper": [19.3289, 45.1774],
                         "ci_method": "Wilson score, 95%", "p": 0.00390217,
                         "test": "Fisher's exact test (two-sided)"})
    d = her2_loss_display(loss)
    rows = [[plain_text(c) for c in r] for r in d.cells]
    assert rows == [["IHC 3+", "20/153", f"13.1 (8.6{EN_DASH}19.3)", "0.004^a"],
                    ["IHC 2+/ISH+", "18/56", f"32.1 (21.4{EN_DASH}45.2)", ""]]
    cox = pd.DataFrame({
        "term": ["group[IHC 2+/ISH+]", "group[IHC 2+/ISH+]", "pcr_int"],
        "hr": [1.18078, 0.866147, 0.276431], "lower": [0.748181, 0.544854, 0.164931],
        "upper": [1.8635, 1.3769, 0.46331], "p": [0.475356, 0.543447, 1.06182e-06],
        "test": "Wald", "ci_method": "Wald, exp(coef ± 1.96·se)", "n": 575, "events": 104,
        "model": ["unadjusted", "adjusted for pCR", "adjusted for pCR"]})
    d = cox_display(cox, term_labels={"pcr_int": "pCR (yes vs no)"},
                    variable_labels={"group": "HER2 group"}, references={"group": "IHC 3+"},
                    model_labels={"unadjusted": "Unadjusted",
                                  "adjusted for pCR": "Adjusted for pCR"})
    assert d.header[0] == ["", "Unadjusted", "Unadjusted", "Adjusted for pCR",
                           "Adjusted for pCR"]
    rows = [[plain_text(c) for c in r] for r in d.cells]
    assert rows[0] == ["HER2 group", "", "", "", ""]
    assert rows[1] == ["IHC 3+", "1 (reference)", "", "1 (reference)", ""]
    assert rows[2] == ["IHC 2+/ISH+", f"1.18 (0.75{EN_DASH}1.86)", "0.48^a",
                       f"0.87 (0.54{EN_DASH}1.38)", "0.54^a"]
    assert rows[3] == ["pCR (yes vs no)", "", "", f"0.28 (0.16{EN_DASH}0.46)", "<0.001^a"]
    assert "pcr_int" not in " ".join(r[0] for r in rows)
    assert d.footnotes[0] == sup("a") + "Wald test"


def test_word_table_has_no_broken_words_when_rendered(t1_df, tmp_path):
    """Render Table 1 with LibreOffice and check every word of every cell comes out whole
    (the old equal-width layout printed "Character istic" and "mastect omy")."""
    import shutil
    import subprocess

    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if soffice is None or pdftotext is None:
        pytest.skip("LibreOffice (soffice) and poppler (pdftotext) are needed to render")
    t = _t1(t1_df)
    d = table_one_display(t, group_labels={"3+": "IHC 3+", "2+": "IHC 2+/ISH+"})
    # long labels that used to break
    d.body.iloc[3, 0] = "Postmenopausal (mastectomy) characteristics"
    path = tmp_path / "t1.docx"
    write_docx(d, path)
    res = subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir",
                          str(tmp_path), str(path)], capture_output=True, timeout=180,
                         check=False)
    assert res.returncode == 0, res.stderr
    txt = subprocess.run([pdftotext, "-layout", str(tmp_path / "t1.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    tokens = set(txt.replace("\u00a0", " ").split())
    words = {w for row in [*d.header, *d.cells] for cell in row
             for w in plain_text(cell, marker="").replace("\u00a0", " ").split()}
    missing = sorted(w for w in words if w not in tokens)
    assert not missing, missing


# ------------------------------------------------------------------ sensitivity table
def _docx_sizes(path) -> tuple[float, set[float]]:
    """The Normal style's font size and every explicit run size of the tables' cells."""
    from docx import Document

    doc = Document(str(path))
    sizes = {r.font.size.pt for t in doc.tables for row in t.rows for c in row.cells
             for p in c.paragraphs for r in p.runs if r.font.size is not None}
    return doc.styles["Normal"].font.size.pt, sizes


def _sensitivity(tmp_path, rows: list[dict], descriptions: dict) -> dict:
    from her2cohort.stages import sensitivity_table

    pd.DataFrame(rows).to_csv(tmp_path / "all.csv", index=False)
    out = {k: str(tmp_path / f"s.{k[4:]}") for k in ("out_csv", "out_html", "out_docx")}
    sensitivity_table.main(in_variants=str(tmp_path / "all.csv"), descriptions=descriptions,
                           simulated=True, **out)
    return out


def _html_rows(path) -> list[list[str]]:
    import html as h
    import re

    text = open(path, encoding="utf-8").read()
    return [[h.unescape(re.sub("<[^>]+>", "", c)) for c in
             re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", text, re.S)]


def test_sensitivity_table_p_where_p_belongs_and_human_headers(tmp_path):
    """Test rows that carry n and events show their p-value (issue 17: '80/458' stood in
    the log-rank rows); the columns are headed by the variants' descriptions, not their
    configuration keys; the Word body is at least 8 pt."""
    rows = []
    for v, shift in (("main", 0), ("efs_distant", 5)):
        rows += [
            {"variant": v, "quantity": "EFS events", "group": "Arm A", "n": 300,
             "events": 80 - shift},
            {"variant": v, "quantity": "EFS events", "group": "Arm B", "n": 117,
             "events": 24},
            {"variant": v, "quantity": "EFS log-rank", "group": "Arm B vs Arm A",
             "estimate": 0.51, "n": 417, "events": 104 - shift, "p": 0.4745,
             "test": "log-rank (Mantel-Haenszel)"},
            {"variant": v, "quantity": "EFS by Regimen: log-rank",
             "group": "Arm A: dual vs single", "estimate": 0.0104, "n": 300,
             "events": 80 - shift, "p": 0.9187, "test": "log-rank (Mantel-Haenszel)"},
            {"variant": v, "quantity": "EFS hazard ratio", "group": "Arm B vs Arm A",
             "estimate": 1.18, "lower": 0.75, "upper": 1.86, "p": 0.4754, "test": "Wald"}]
    desc = {"main": "the study configuration (main analysis)",
            "efs_distant": "events: distant recurrence or death only"}
    out = _sensitivity(tmp_path, rows, desc)
    got = _html_rows(out["out_html"])
    assert got[0] == ["Estimate", "(1) Main analysis",
                      "(2) Events: distant recurrence or death only"]
    by_label = {}
    section = ""
    for r in got[1:]:
        if r[1:] == ["", ""]:
            section = r[0]
        elif len(r) == 3:
            by_label[(section, r[0])] = r[1:]
    assert by_label[("EFS log-rank", "Arm B vs Arm A")] == ["p = 0.47", "p = 0.47"]
    assert by_label[("EFS by Regimen: log-rank", "Arm A: dual vs single")] == ["p = 0.92"] * 2
    assert by_label[("EFS events", "Arm A")] == ["80/300", "75/300"]
    assert by_label[("EFS hazard ratio", "Arm B vs Arm A")][0] == f"1.18 (0.75{EN_DASH}1.86)"
    assert "efs_distant" not in " ".join(got[0])
    normal, runs = _docx_sizes(out["out_docx"])
    assert normal >= 8 and all(s >= 8 for s in runs)
    from docx import Document

    cells = [c.text for t in Document(out["out_docx"]).tables for c in t.rows[0].cells]
    assert "(2) Events: distant recurrence or death only" in cells
    # the description keeps a word that starts in lower case but has capitals ("pCR")
    from her2cohort.stages.sensitivity_table import column_header

    assert column_header("v", {"v": "pCR defined as ypT0 ypN0"}) == "pCR defined as ypT0 ypN0"
    assert column_header("v", {}) == "v"


def test_sensitivity_table_too_many_variants_in_column_blocks_at_8pt(tmp_path):
    """More variants than a landscape page holds at 8 pt: the Word document has the columns
    in blocks (each with the row labels), every variant once, no font below 8 pt."""
    from docx import Document

    n = 14
    rows = [{"variant": f"v{i}", "quantity": f"OS at {j} months (%)",
             "group": "Arm B: dual anti-target therapy", "estimate": 100.0, "lower": 100.0,
             "upper": 100.0} for i in range(n) for j in (12, 36)]
    desc = {f"v{i}": f"alternative number {i} of the definition" for i in range(n)}
    out = _sensitivity(tmp_path, rows, desc)
    doc = Document(out["out_docx"])
    assert len(doc.tables) > 1
    heads = [c.text for t in doc.tables for c in t.rows[0].cells if c.text != "Estimate"]
    assert heads == [f"({i + 1}) Alternative number {i} of the definition" for i in range(n)]
    for t in doc.tables:
        assert t.rows[2].cells[0].text == "Arm B: dual anti-target therapy"
    normal, runs = _docx_sizes(out["out_docx"])
    assert normal >= 8 and all(s >= 8 for s in runs)
    assert doc.sections[0].page_width > doc.sections[0].page_height  # landscape


def test_sensitivity_row_without_group_is_kept(tmp_path):
    """A headline row without a group (a whole-cohort quantity) is shown on its heading
    row, never dropped by the pivot."""
    rows = [{"variant": v, "quantity": "Patients analysed", "group": None, "n": n}
            for v, n in (("main", 575), ("alt", 579))]
    rows += [{"variant": v, "quantity": "Events", "group": "Arm A", "n": 100, "events": 20}
             for v in ("main", "alt")]
    out = _sensitivity(tmp_path, rows, {"alt": "alternative definition"})
    got = _html_rows(out["out_html"])
    assert ["Patients analysed", "575", "579"] in got
    assert ["Arm A", "20/100", "20/100"] in got
