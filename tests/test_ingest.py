from pathlib import Path

import pytest
from conftest import SEEDS, TINY_REPORT

from rag.ingest import (
    heading_level,
    load_documents,
    parse_document,
    read_metadata,
    slugify,
    strip_markup,
    topic_of,
)

RAW = (SEEDS / "leshan-government-work-report-excerpt.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report():
    docs = load_documents(SEEDS)
    assert len(docs) == 1
    return docs[0]


def test_emphasis_markers_and_print_artifacts_are_removed(report):
    assert "**" not in report.text
    assert "紧接第1版" not in report.text and "下转第3版" not in report.text
    assert report.text.count("“三零”") == 1


def test_page_break_paragraphs_are_rejoined(report):
    for joined in [
        "推动发展是富民强的第一要务",
        "抓好“一港四梯级”建设",
        "密封放射源生产基地",
        "壮大现代金融业,发展科技金融",
        "强化土壤污染管控和修复",
    ]:
        assert joined in report.text, joined


def test_exactly_five_joins_happen(report):
    raw_paragraphs = [p for p in strip_markup(RAW).split("\n") if p.strip()]
    # title + 5 joins: each join removes one paragraph
    assert len(report.paragraphs) == len(raw_paragraphs) - 5


def test_everything_else_is_verbatim(report):
    # the report's own typos and repeats stay
    assert "扫黑除恶专项斗争斗争" in report.text
    assert report.text.count("加强高标准农田、生猪及蔬菜生产基地等建设") == 3
    # every cleaned paragraph is a substring of the de-emphasised source, or a join of two
    cleaned_source = strip_markup(RAW)
    for p in report.paragraphs:
        piece = report.text[p.start : p.end]
        assert piece in cleaned_source or piece[:20] in cleaned_source


def test_paragraph_offsets_point_into_text(report):
    for p in report.paragraphs:
        piece = report.text[p.start : p.end]
        assert piece and piece == piece.strip()


def test_section_paths_follow_report_structure(report):
    sections = {p.section for p in report.paragraphs if not p.is_heading}
    part2 = "今后五年工作的主要考虑"
    sec1 = "一、落实全面融入成渝地区双城经济圈建设重大任务,奋力打造区域中心城市"
    assert (part2, sec1, "建设区域综合交通枢纽") in sections
    assert (part2, "二、建强先进制造业体系,加快推动传统产业转型升级", "壮大制造业集群") in sections
    assert (part2, "指导思想") in sections
    assert (part2, "主要目标", "经济实力明显增强") in sections
    opening = [p.section for p in report.paragraphs if not p.is_heading][0]
    assert opening == ("过去五年工作回顾（节选开头，标题系据内容补拟）",)
    numbered = {s[1] for s in sections if len(s) > 1 and s[1][1] == "、"}
    assert len(numbered) == 7


def test_section_intro_paragraph_has_no_topic(report):
    intro = next(p for p in report.paragraphs if report.text[p.start :].startswith("进阶升位"))
    assert len(intro.section) == 2


def test_title_comes_from_metadata(report):
    assert report.title == "政府工作报告（节选）"
    assert report.metadata["city"] == "乐山"


@pytest.mark.parametrize(
    "line,level",
    [
        ("一、建强先进制造业体系,加快推动传统产业转型升级", 1),
        ("（三）完善现代服务业体系", 2),
        ("3. 推进教育现代化", 3),
        ("第二章 主要任务", 0),
        ("今后五年工作的主要考虑", 0),
        ("建设区域综合交通枢纽。坚持交通先行。", None),
        ("今后五年全市经济社会发展的主要目标是:", None),
        ("2020年全市生产总值增长4%。", None),
    ],
)
def test_heading_conventions(line, level):
    assert heading_level(line) == level


def test_topic_sentence_rules():
    assert topic_of("建设区域综合交通枢纽。坚持交通先行") == "建设区域综合交通枢纽"
    assert topic_of("——经济实力明显增强。主要经济指标") == "经济实力明显增强"
    assert topic_of("同时,我们也清醒地认识到。") is None
    assert topic_of("没有句号的一段话") is None


def test_tiny_document_structure():
    doc = parse_document(TINY_REPORT, doc_id="tiny", source="tiny.txt")
    assert doc.title == "政府工作报告"
    assert "抓好“一港四梯级”建设。" in doc.text
    assert "紧接" not in doc.text and "下转" not in doc.text
    body = [p for p in doc.paragraphs if not p.is_heading]
    assert body[0].section == ("开篇部分（原文无标题）",)
    assert ("今后五年工作的主要考虑", "一、建设区域中心城市", "建设区域综合交通枢纽") in {
        p.section for p in body
    }


def test_heading_is_not_glued_to_unfinished_paragraph():
    doc = parse_document("第一段没有句号\n\n二、下一节\n\n正文。", doc_id="d", source="d.txt")
    assert doc.text == "第一段没有句号\n\n二、下一节\n\n正文。"


def test_slugify_is_stable_and_safe():
    assert (
        slugify("leshan-government-work-report-excerpt") == "leshan-government-work-report-excerpt"
    )
    assert slugify("乐山报告") == slugify("乐山报告")
    assert slugify("乐山报告").startswith("doc-")


def test_missing_or_empty_seeds_are_clear_errors(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="seeds directory not found"):
        load_documents(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"no \.txt, \.md, \.docx, \.pdf documents"):
        load_documents(tmp_path)


def test_broken_metadata_is_named(tmp_path: Path):
    (tmp_path / "a.txt").write_text("正文。", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="a.meta.json"):
        read_metadata(tmp_path / "a.txt")


def test_many_documents_get_distinct_ids(tmp_path: Path):
    (tmp_path / "a.txt").write_text("甲。", encoding="utf-8")
    (tmp_path / "b.md").write_text("乙。", encoding="utf-8")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    docs = load_documents(tmp_path)
    assert [d.doc_id for d in docs] == ["a", "b"]
