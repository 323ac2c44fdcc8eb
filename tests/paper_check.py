"""Checks of a run's ``paper.html`` as a browser shows it (headless Chromium) and of its
``manuscript.docx``; used by the end-to-end tests of the demo and of the example studies
(tests/test_end_to_end.py, tests/test_studies_e2e.py), which own the pipeline runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI installs it)")
        pytest.skip("chromium is not installed")
    return exe


def chromium_args(profile: Path) -> list[str]:
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=15000"]


def dump_dom(page: Path, profile: Path) -> str:
    res = subprocess.run([*chromium_args(profile), "--dump-dom", f"file://{page.resolve()}"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert "</html>" in res.stdout, res.stderr[-2000:]
    return res.stdout


def prose_all(root) -> str:
    return " ".join(p.text_content() for p in root.xpath("//p"))


def check_paper_dom(dom: str, results: Path) -> dict[str, int]:
    """Every table (``tables/*.html``) and figure (``figures/*.png``) of the run is in the
    page as a numbered item with a caption; numbers run 1..n per kind without gaps; every
    citation link and every "Table N"/"Figure N" of the text resolves to an item; the flow
    diagram is Figure 1. Returns the number of tables and figures."""
    import lxml.html

    root = lxml.html.fromstring(dom)
    items = root.xpath('//*[contains(concat(" ", @class, " "), " item ")]')
    shown: dict[str, str] = {}  # file name -> anchor id
    numbers: dict[str, list[int]] = {"table": [], "figure": []}
    for el in items:
        anchor = el.get("id") or ""
        m = re.fullmatch(r"(table|figure)-(\d+)", anchor)
        assert m, f"an item without a numbered anchor: {anchor!r}"
        kind, n = m.group(1), int(m.group(2))
        numbers[kind].append(n)
        label = f"{kind.capitalize()} {n}."
        if kind == "table":
            cap = el.xpath(".//caption")
            assert cap, f"{anchor} has no caption"
            text = cap[0].text_content().strip()
        else:
            cap = el.xpath(".//figcaption")
            assert cap and el.xpath(".//img[starts-with(@src, 'data:image/png;base64,')]"), \
                f"{anchor} has no caption or no embedded image"
            text = cap[0].text_content().strip()
        assert text.startswith(label) and len(text) > len(label) + 10, (anchor, text)
        for name in (el.get("data-source") or "").split():
            shown[name] = anchor
    for kind, ns in numbers.items():
        assert ns == list(range(1, len(ns) + 1)), (kind, ns)
    from her2cohort.render.paper import not_analysed, read_html_table

    # a table that only says its analysis was not run is named in the text, not numbered
    skipped = [p for p in sorted((results / "tables").glob("*.html"))
               if not_analysed(read_html_table(p)) is not None]
    for p in skipped:
        assert read_html_table(p).title in prose_all(root), f"{p.name} not named in the text"
    expected = sorted(p.name for p in (results / "tables").glob("*.html")
                      if p not in skipped) + sorted(
        p.name for p in (results / "figures").glob("*.png"))
    missing = [n for n in expected if n not in shown]
    assert not missing, f"not in paper.html: {missing}"
    if (results / "figures/flow_diagram.png").exists():
        assert shown["flow_diagram.png"] == "figure-1"
    ids = set(root.xpath("//@id"))
    for href in root.xpath("//a/@href"):
        if href.startswith("#"):
            assert href[1:] in ids, f"link {href} resolves to nothing"
    # every citation in the text names an item that exists (and is a link to it)
    prose = " ".join(p.text_content() for p in root.xpath("//p"))
    for kind, ns in re.findall(r"\b(Table|Figure)s? (\d+(?:(?:, | and )\d+)*)", prose):
        for n in re.findall(r"\d+", ns):
            assert f"{kind.lower()}-{n}" in ids, f"{kind} {n} cited but not in the document"
    for a in root.xpath("//p//a[starts-with(@href, '#table-') or starts-with(@href, '#figure-')]"):
        kind, n = a.get("href")[1:].split("-")
        assert re.fullmatch(rf"(?:{kind.capitalize()}s? )?{n}", a.text_content()), \
            (a.get("href"), a.text_content())
    cited = {a.get("href")[1:] for a in root.xpath("//p//a[starts-with(@href, '#')]")}
    uncited = sorted({el.get("id") for el in items} - cited)
    assert not uncited, f"never cited in the text: {uncited}"
    for heading in ("Methods", "Results", "Contents"):
        assert root.xpath(f"//h2[normalize-space()='{heading}']"), heading
    return {k: len(v) for k, v in numbers.items()}


def check_docx(path: Path, n_tables: int, n_figures: int, outdir: Path) -> list[Path]:
    """The Word manuscript holds every table as a Word table (body 7-10 pt, rows that do
    not split across pages), every figure, Methods and Results; LibreOffice converts it to
    PDF and the pages render as PNG (returned, for a person to look at)."""
    from docx import Document
    from docx.oxml.ns import qn

    doc = Document(str(path))
    assert len(doc.tables) == n_tables
    for t in doc.tables:
        for tr in t._tbl.iter(qn("w:tr")):
            pr = tr.find(qn("w:trPr"))
            assert pr is not None and pr.find(qn("w:cantSplit")) is not None
        sizes = {int(sz.get(qn("w:val"))) / 2 for sz in t._tbl.iter(qn("w:sz"))}
        assert sizes and min(sizes) >= 7 and max(sizes) <= 10, sizes
    pics = doc.element.body.findall(".//" + qn("pic:pic"))
    assert len(pics) == n_figures
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert "Methods" in heads and "Results" in heads
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice or poppler is not installed (CI installs them)")
        pytest.skip("LibreOffice or poppler is not installed")
    outdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(outdir)}  # LibreOffice's profile
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(outdir),
                    str(path)], capture_output=True, timeout=600, check=False, env=env)
    pdf = outdir / (path.stem + ".pdf")
    assert pdf.exists() and pdf.stat().st_size > 10_000
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(outdir / "page")],
                   capture_output=True, timeout=600, check=True)
    pages = sorted(outdir.glob("page-*.png"))
    assert len(pages) >= 1 + n_tables
    return pages
