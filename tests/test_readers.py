"""Readers: bad input is refused naming the file and why; encodings; Word numbering."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest import load_document
from rag.readers import (
    DocumentTooLarge,
    IngestError,
    UnreadableDocument,
    UnsupportedFormat,
    read_source,
)
from rag.readers.docx import _chinese, _format

BODY = "某县2024年政府工作报告\n\n一、工作回顾\n\n经济运行稳中向好。全年增长6%。\n"


def test_unsupported_type_names_the_accepted_ones(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(
        UnsupportedFormat, match=r"report.xlsx: .*\.xlsx.*\.txt, \.md, \.docx, \.pdf"
    ):
        read_source(path)


@pytest.mark.parametrize(
    "name,data,says",
    [
        ("empty.txt", b"", "the file is empty"),
        ("blank.md", b"  \n\n\t\n", "the file is empty"),
        ("binary.txt", b"\x00\x01\x02abc\x03" * 100, "binary data"),
        ("random.txt", bytes(range(256)) * 4, "undecodable"),
        ("latin.txt", "caf\xe9 ".encode("latin-1") * 3 + b"\xff\xfe\xfd", "undecodable"),
        ("dots.txt", "。。。，，，".encode(), "no text"),
        ("broken.docx", b"this is not a zip file", "not a readable Word .docx"),
        ("broken.pdf", b"%PDF-1.4 garbage garbage", "not a readable PDF"),
        ("headings.txt", "标题\n\n一、只有标题\n".encode(), "no body text"),
    ],
)
def test_bad_files_are_refused_with_the_file_and_the_reason(
    tmp_path: Path, name: str, data: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UnreadableDocument, match=says) as err:
        load_document(path)
    assert str(err.value).startswith(name + ":")
    assert isinstance(err.value, IngestError) and err.value.path == path


def test_a_pdf_without_a_text_layer_is_refused(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    c.rect(100, 100, 300, 500, fill=1)  # a picture of a page, no text
    c.showPage()
    c.save()
    with pytest.raises(UnreadableDocument, match="scan.pdf: the PDF has no text layer"):
        load_document(path)


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text(BODY * 50, encoding="utf-8")
    with pytest.raises(DocumentTooLarge, match="RAG_MAX_UPLOAD_BYTES"):
        load_document(path, max_bytes=1000)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030", "gbk"])
def test_text_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes(BODY.encode(encoding))
    doc = load_document(path)
    assert doc.text.startswith("某县2024年政府工作报告") and "全年增长6%。" in doc.text
    assert doc.metadata["city"] == "某县"


def test_metadata_order_meta_json_then_flags_then_text(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text(BODY, encoding="utf-8")
    assert load_document(path).metadata["year"] == "2024"
    flagged = load_document(path, metadata={"year": "2023", "city": "某市"}).metadata
    assert (flagged["year"], flagged["city"]) == ("2023", "某市")
    (tmp_path / "r.meta.json").write_text('{"year": "2022"}', encoding="utf-8")
    both = load_document(path, metadata={"year": "2023", "city": "某市"}).metadata
    assert (both["year"], both["city"], both["title"]) == ("2022", "某市", "某县2024年政府工作报告")


def _docx_with_numbering(path: Path, fmt: str, text: str, items: int) -> Path:
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    d = docx.Document()
    d.add_heading("某县2024年政府工作报告", level=0)
    d.add_heading("一、工作回顾", level=1)
    numbering = d.part.numbering_part.element
    numbering.append(
        parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="77"><w:lvl w:ilvl="0">'
            f'<w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/>'
            "</w:lvl></w:abstractNum>"
        )
    )
    numbering.append(
        parse_xml(f'<w:num {nsdecls("w")} w:numId="77"><w:abstractNumId w:val="77"/></w:num>')
    )
    for i in range(items):
        p = d.add_paragraph(f"第{i + 1}项工作推进有力。全年完成任务。")
        p._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="77"/></w:numPr>')
        )
    d.add_paragraph("各项工作都在推进。", style="List Bullet")
    d.save(str(path))
    return path


@pytest.mark.parametrize(
    "fmt,text,labels",
    [
        ("decimal", "%1．", ["1．", "2．", "3．"]),
        ("chineseCounting", "（%1）", ["（一）", "（二）", "（三）"]),
        ("decimal", "%1.", ["1.", "2.", "3."]),
    ],
)
def test_word_automatic_numbering_is_rendered_into_the_text(
    tmp_path: Path, fmt: str, text: str, labels: list[str]
) -> None:
    doc = load_document(_docx_with_numbering(tmp_path / "n.docx", fmt, text, 3))
    starts = [doc.text[p.start : p.end] for p in doc.paragraphs if not p.is_heading]
    assert [s[: len(labels[0])] for s in starts[:3]] == labels
    assert starts[3] == "各项工作都在推进。"  # a bullet: no label
    sections = [p.section for p in doc.paragraphs if not p.is_heading]
    assert sections[0][-1] == labels[0] + "第1项工作推进有力"
    assert doc.title == "某县2024年政府工作报告"


def test_number_formats() -> None:
    assert [_chinese(n) for n in (1, 10, 11, 20, 35, 100, 105, 110, 121)] == [
        "一", "十", "十一", "二十", "三十五", "一百", "一百零五", "一百一十", "一百二十一",
    ]  # fmt: skip
    assert _format(3, "lowerLetter") == "c" and _format(4, "upperRoman") == "IV"
    assert _format(12, "decimalFullWidth") == "１２" and _format(2, "decimalEnclosedCircle") == "②"
