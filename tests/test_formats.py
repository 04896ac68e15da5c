"""The three fictional reports (tests/data/reports, layouts in LAYOUTS.md) in every format.

The .docx and .pdf versions are built at run time (tests/builders.py: Word styles, automatic
numbering and a header part; a PDF drawn with reportlab's built-in STSong-Light, wrapped, with
a running header and page-number footers) and must give the same cleaned text, sections and
chunk offsets as the source file, and the same metadata detected from the text alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import build_docx, build_pdf

from rag.chunking import chunk_document
from rag.ingest import layout_of, load_document
from rag.readers import read_source
from rag.types import Document

REPORTS = Path(__file__).resolve().parent / "data" / "reports"
# how each report is printed: the running header (pages 2…) and the footer's shape
PRINT = {
    "chengchuan-2023.txt": {"header": "澄川市人民政府文件", "footer": "— {n} —"},
    "qinghe-county-2024.txt": {"header": "", "footer": "第 {n} 页 共 {total} 页"},
    "chengchuan-2024.md": {"header": "", "footer": "- {n} -"},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("formats")
    files = {}
    for name, spec in PRINT.items():
        layout = layout_of(read_source(REPORTS / name))
        stem = Path(name).stem
        files[(name, "docx")] = build_docx(layout, out / f"{stem}.docx", **spec)
        files[(name, "pdf")] = build_pdf(layout, out / f"{stem}.pdf", **spec)
    return files


def _shape(doc: Document) -> tuple[object, ...]:
    chunks = chunk_document(doc, size=160, min_size=50)
    return doc.text, doc.paragraphs, [(c.start, c.end, c.section, c.text) for c in chunks]


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
@pytest.mark.parametrize("name", list(PRINT))
def test_every_format_yields_the_same_text_sections_and_chunks(
    built: dict[tuple[str, str], Path], name: str, fmt: str
) -> None:
    source = load_document(REPORTS / name)
    other = load_document(built[(name, fmt)])
    assert other.text == source.text
    assert other.paragraphs == source.paragraphs
    assert _shape(other) == _shape(source)
    assert other.format == fmt and other.sha256 != source.sha256


@pytest.mark.parametrize("fmt", ["source", "docx", "pdf"])
@pytest.mark.parametrize("name", list(PRINT))
def test_title_city_and_year_are_detected_from_the_text(
    built: dict[tuple[str, str], Path], name: str, fmt: str, tmp_path: Path
) -> None:
    path = REPORTS / name
    if fmt == "source":  # without its .meta.json beside it
        path = tmp_path / name
        path.write_bytes((REPORTS / name).read_bytes())
    else:
        path = built[(name, fmt)]
    meta = load_document(path).metadata
    want = json.loads((REPORTS / name).with_suffix(".meta.json").read_text(encoding="utf-8"))
    assert (meta["title"], meta["city"], meta["year"]) == (
        want["title"],
        want["city"],
        want["year"],
    )
    assert meta["kind"] == want["kind"] and meta["date"].startswith(want["year"])


def _sections(doc: Document) -> set[tuple[str, ...]]:
    return {p.section for p in doc.paragraphs if not p.is_heading}


def test_pdf_text_layer_layout_of_chengchuan_2023() -> None:
    doc = load_document(REPORTS / "chengchuan-2023.txt")
    assert "澄川市人民政府文件" not in doc.text and "—" not in doc.text.replace("——", "")
    assert "周承岳" not in doc.text and doc.metadata["running_header"] == "澄川市人民政府文件"
    # sentences cut by a page break (page-number line and header between) are whole again
    assert "全年实施市级重点项目326个，完成投资1168亿元，占年度计划的112.4%。" in doc.text
    assert "组建澄川城市发展集团、澄川产业投资集团两大平台" in doc.text
    assert "\u3000" not in doc.text and "\n" not in doc.text.replace("\n\n", "")
    assert (
        "一、2022年工作回顾",
        "（二）坚持项目为王，发展后劲不断增强",
        "1．重点项目提速推进",
    ) in _sections(doc)
    parts = {s[0] for s in _sections(doc)}
    assert {"一、2022年工作回顾", "二、2023年总体要求和主要目标", "三、2023年重点工作"} <= parts
    assert not any("人民政府文件" in x or "周承岳" in x for s in _sections(doc) for x in s)


def test_newspaper_layout_of_qinghe_county() -> None:
    doc = load_document(REPORTS / "qinghe-county-2024.txt")
    assert "页 共" not in doc.text and "许明澜" not in doc.text
    assert "政府自身建设不断加强。严格落实重大行政决策程序，" in doc.text
    parts = {s[0] for s in _sections(doc)}
    assert parts == {
        "开篇部分（原文无标题）",
        "第一部分 2023年工作回顾",
        "第二部分 2024年工作总体要求和主要目标",
        "第三部分 2024年重点工作",
        "第四部分 加强政府自身建设",
    }
    assert ("第三部分 2024年重点工作", "全力攻坚工业强县") in _sections(doc)


def test_markdown_layout_of_chengchuan_2024() -> None:
    doc = load_document(REPORTS / "chengchuan-2024.md")
    assert "**" not in doc.text and "#" not in doc.text and "|" not in doc.text
    assert "   - " not in doc.text and "\n- " not in doc.text
    assert "\n\n地区生产总值增长 5.5%左右\n\n" in doc.text  # a table row is one paragraph
    section = (
        "一、2023年工作回顾",
        "（二）项目建设和有效需求实现新提升",
        "2. 重大基础设施取得标志性进展：",
    )
    bullets = [p for p in doc.paragraphs if p.section == section and not p.is_heading]
    assert [doc.text[p.start : p.start + 6] for p in bullets] == [
        "澄鹭城际铁路",
        "澄川机场改扩",
        "澄川大道快速",
        "新改建农村公",
    ]
