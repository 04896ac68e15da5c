"""The layout stage on small hand-made inputs: page numbers by shape, running headers by
repetition, bylines by shape, paragraphs rebuilt from hard-wrapped, indented or PDF lines."""

from __future__ import annotations

import pytest

from rag.ingest import detect_metadata, parse_document
from rag.layout import analyse_blocks, analyse_lines, is_byline, is_page_number, join_lines, tidy
from rag.readers.text import text_lines
from rag.types import Block, Line


def _layout(text: str):  # type: ignore[no-untyped-def]
    return analyse_lines(text_lines(text))


def _texts(layout) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.text for b in layout.blocks]


@pytest.mark.parametrize(
    "line",
    ["— 3 —", "- 12 -", "－7－", "·5·", "第 2 页 共 9 页", "第2页", "第三页", "共 9 页 第 2 页",
     "Page 3 of 9", "p. 4", "3/9", " — 10 — "],
)  # fmt: skip
def test_page_number_shapes(line: str) -> None:
    assert is_page_number(line)


@pytest.mark.parametrize(
    "line", ["3", "2023年", "一、总体要求", "第一部分　工作回顾", "增长3%", "(3)", "3．推进教育"]
)
def test_not_page_numbers(line: str) -> None:
    assert not is_page_number(line)


def test_bare_numbers_are_page_numbers_only_when_they_count_up() -> None:
    counting = "标题\n\n第一段。\n1\n第二段。\n2\n第三段。\n3\n"
    assert _texts(_layout(counting)) == ["标题", "第一段。", "第二段。", "第三段。"]
    assert _layout(counting).furniture == ("1", "2", "3")
    lonely = "标题\n\n全年新增企业\n\n12\n\n家。\n"
    assert "12" in "".join(_texts(_layout(lonely)))


def test_a_bare_number_with_a_control_character_beside_it_is_read() -> None:
    """str.strip() takes a unit separator (\\x1f) that int() does not (found by hypothesis)."""
    text = "标题\n\n第一段。\n1\x1f\n第二段。\n2\x1f\n第三段。\n"
    assert _texts(_layout(text)) == ["标题", "第一段。", "第二段。", "第三段。"]


def _paged(header: str | None, n: int, footer: str = "— {n} —") -> str:
    pages = []
    for i in range(1, n + 1):
        lines = [header] if header and i > 1 else []
        lines += [f"第{i}页的第一句话说了一件事。", f"第{i}页的第二句话说了另一件事。"]
        lines.append(footer.format(n=i))
        pages.append("\n".join(lines))
    return "报告标题\n" + "\n".join(pages) + "\n"


@pytest.mark.parametrize("n", [3, 5, 9])
def test_a_header_repeated_after_each_page_number_is_removed(n: int) -> None:
    layout = _layout(_paged("某某县人民政府文件", n))
    assert not any("人民政府文件" in t for t in _texts(layout))
    assert layout.furniture.count("某某县人民政府文件") == n - 1
    assert len([f for f in layout.furniture if f.startswith("—")]) == n
    assert len(layout.blocks) == 1 + 2 * n  # the title and every sentence, nothing else


def test_a_line_seen_once_at_a_page_edge_is_kept() -> None:
    text = "报告标题\n第一句话。\n— 1 —\n只出现一次的短行\n第二句话。\n— 2 —\n第三句话。\n— 3 —\n"
    assert "只出现一次的短行" in _texts(_layout(text))


def test_a_repeated_line_away_from_page_edges_is_kept() -> None:
    body = "\n".join(f"第{i}句话。\n同一行\n第{i}句又一话。\n第{i}句再一话。" for i in range(4))
    text = "标题\n" + body + "\n— 1 —\n尾句。\n— 2 —\n"
    assert _texts(_layout(text)).count("同一行") == 4


def test_a_footer_with_a_changing_number_is_found_on_pdf_pages() -> None:
    lines = [Line("报告标题", 0, indent=True, full=False)]
    for page in range(4):
        lines += [
            Line(f"第{page}页的话说完了。", page, indent=True, full=False),
            Line(f"澄川市统计局 第{page + 1}期", page, indent=True, full=False),
        ]
    layout = analyse_lines(lines)
    assert _texts(layout) == ["报告标题"] + [f"第{p}页的话说完了。" for p in range(4)]
    # a plain text file without page numbers or form feeds has no page edges to look at
    plain = "\n".join(line.text for line in lines)
    assert sum("统计局" in t for t in _texts(_layout(plain))) == 4


def test_page_numbers_of_several_shapes_in_one_file() -> None:
    text = "标题\n\n甲段。\n\n— 1 —\n\n乙段。\n\n第 2 页 共 3 页\n\n丙段。\n\nPage 3 of 3\n"
    layout = _layout(text)
    assert _texts(layout) == ["标题", "甲段。", "乙段。", "丙段。"]
    assert len(layout.furniture) == 3


def test_byline_and_date_under_the_title_become_front_matter() -> None:
    text = (
        "2025年某某市政府工作报告\n"
        "——2025年1月8日在某某市第五届人民代表大会第四次会议上\n"
        "市长　张三\n"
        "（2025年1月8日）\n"
        "各位代表：\n"
        "现在我代表市人民政府向大会报告工作。\n"
    )
    layout = _layout(text)
    assert layout.title == "2025年某某市政府工作报告"
    assert layout.front == (
        "——2025年1月8日在某某市第五届人民代表大会第四次会议上",
        "市长 张三",
        "（2025年1月8日）",
    )
    assert _texts(layout)[1:] == ["各位代表：", "现在我代表市人民政府向大会报告工作。"]
    meta = detect_metadata(layout)
    assert (meta["year"], meta["city"], meta["date"], meta["kind"]) == (
        "2025",
        "某某市",
        "2025-01-08",
        "政府工作报告",
    )


@pytest.mark.parametrize(
    "line,byline",
    [
        ("——在全县经济工作会议上的讲话", True),
        ("2024年1月9日", True),
        ("二〇二四年一月九日", True),
        ("（2024年1月9日在县第十八届人民代表大会第三次会议上）", True),
        ("县长　许明澜", True),
        ("——经济实力明显增强。", False),
        ("今后五年工作的主要考虑", False),
        ("第一部分　工作回顾", False),
        ("各位代表：", False),
    ],
)
def test_byline_shapes(line: str, byline: bool) -> None:
    assert is_byline(line) is byline


def test_a_byline_is_not_a_section_of_the_body() -> None:
    doc = parse_document(
        "某县2024年政府工作报告\n\n县长　某某\n\n一、工作回顾\n\n经济运行稳中向好。全年增长6%。\n",
        doc_id="d",
        source="d.txt",
    )
    assert "某某" not in doc.text
    assert {p.section for p in doc.paragraphs if not p.is_heading} == {("一、工作回顾",)}
    assert doc.metadata["city"] == "某县" and doc.metadata["year"] == "2024"


def test_hard_wrapped_indented_paragraphs_are_rejoined() -> None:
    text = (
        "标题\n"
        "\u3000\u3000一、总体要求\n"
        "\u3000\u3000全年地区生产总值增长\n"
        "6%左右，城镇新增就业5万\n"
        "人以上。\n"
        "\u3000\u3000第二段从这里开始，\n"
        "到这里结束。\n"
    )
    assert _texts(_layout(text)) == [
        "标题",
        "一、总体要求",
        "全年地区生产总值增长6%左右，城镇新增就业5万人以上。",
        "第二段从这里开始，到这里结束。",
    ]


def test_a_page_break_inside_a_wrapped_sentence_is_repaired() -> None:
    text = (
        "标题\n\u3000\u3000第一段说完了。\n\u3000\u3000全年实施重点项目326个，完成投资\n"
        "— 1 —\n某某市人民政府文件\n1168亿元。\n\u3000\u3000第三段。\n— 2 —\n某某市人民政府文件\n"
        "\u3000\u3000第四段。\n— 3 —\n某某市人民政府文件\n\u3000\u3000第五段。\n"
    )
    assert "全年实施重点项目326个，完成投资1168亿元。" in _texts(_layout(text))


def test_blank_separated_wrapped_paragraphs_are_joined() -> None:
    text = "标题\n\n第一段的前半句\n接着是后半句。\n\n第二段的前半句\n接着也是后半句。\n"
    assert _texts(_layout(text)) == [
        "标题",
        "第一段的前半句接着是后半句。",
        "第二段的前半句接着也是后半句。",
    ]


def test_pdf_lines_continue_when_the_line_above_is_full() -> None:
    lines = [
        Line("标题", 0, indent=True, full=False),
        Line("第一段第一行写满了", 0, indent=True, full=True),
        Line("第一段第二行没写满。", 0, indent=False, full=False),
        Line("第二段不缩进也另起。", 0, indent=False, full=False),
        Line("第三段在页末写满了", 0, indent=True, full=True),
        Line("第三段在下一页接着写。", 1, indent=False, full=False),
    ]
    assert _texts(analyse_lines(lines)) == [
        "标题",
        "第一段第一行写满了第一段第二行没写满。",
        "第二段不缩进也另起。",
        "第三段在页末写满了第三段在下一页接着写。",
    ]


def test_whitespace_inside_lines_is_tidied() -> None:
    assert tidy("  第一部分\u30002023年工作回顾 ") == "第一部分 2023年工作回顾"
    assert tidy("新台阶。 全年增长") == "新台阶。全年增长"
    assert tidy("a\u200bb") == "ab"
    assert (
        join_lines(["全年增长", "4.6%，", "PM2.5 and the", "report"])
        == "全年增长4.6%，PM2.5 and the report"
    )


def test_blocks_from_word_or_markdown_lose_page_furniture_too() -> None:
    blocks = [Block("标题", "title", final=True)]
    for i in range(1, 4):
        blocks += [Block(f"第{i}段。", final=True), Block(f"— {i} —", final=True)]
    layout = analyse_blocks(blocks)
    assert _texts(layout) == ["标题", "第1段。", "第2段。", "第3段。"]


def test_a_title_repeated_as_the_running_header_stays_the_title() -> None:
    pages = ["某市2024年政府工作报告", "各位代表：", "第一页的话。", "— 1 —"]
    for i in (2, 3, 4):
        pages += ["某市2024年政府工作报告", f"第{i}页的话。", f"— {i} —"]
    layout = _layout("\n".join(pages))
    assert layout.title == "某市2024年政府工作报告"
    assert _texts(layout).count("某市2024年政府工作报告") == 1
