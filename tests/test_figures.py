"""The Chinese grammar of figures, dates and units, on hand-made sentences."""

import pytest

from rag.answer.figures import chinese_number, figures, has_unit, parse_number, unit_base


@pytest.mark.parametrize(
    ("text", "value"),
    [("五", 5), ("十", 10), ("十四", 14), ("二十六", 26), ("两千", 2000), ("一百零五", 105)],
)
def test_chinese_numerals(text, value):
    assert chinese_number(text) == value


def test_not_a_numeral():
    assert chinese_number("五年来") is None
    assert chinese_number("") is None


def test_magnitudes():
    assert parse_number("26.2", "万") == 262_000
    assert parse_number("3200", "亿") == 3.2e11
    assert parse_number("三", "万") == 30_000


def kinds(text):
    return [(f.text, f.kind) for f in figures(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("全县新增就业3.1万人", [("3.1万人", "quantity")]),
        ("投资120亿元建设新城", [("120亿元", "money")]),
        ("绿化率稳定在45%以上", [("45%以上", "percent")]),
        ("产值是2019年的2.3倍", [("2019年", "date"), ("2.3倍", "multiple")]),
        ("工业产值五年翻一番", [("五年", "period"), ("翻一番", "multiple")]),
        ("连续四届获评先进县", [("四届", "quantity")]),
        ("增速居全省第4位", [("第4位", "rank")]),
        ("综合排名进入全省前列", [("前列", "standing")]),
        ("承办省第十二届运动会", [("第十二届", "ordinal")]),
        ("三年行动(2021—2023年)圆满完成", [("三年行动", "period"), ("2021—2023年", "date")]),
        ("2024年6月建成投产", [("2024年6月", "date")]),
        ("落实长江“十年禁渔”计划", [("十年", "period")]),  # a programme's span of years
        ("今年是关键之年", []),
    ],
)
def test_figure_kinds(text, expected):
    assert kinds(text) == expected


def test_a_manner_of_speaking_is_not_a_figure():
    # 一批 / 一个 say "some", not a count
    assert figures("每年新办一批实事,建成一个中心") == []
    assert kinds("建成两个中心") == [("两个", "quantity")]


def test_qualifiers_before_and_after():
    (f,) = figures("确保失业率控制在5%以内")
    assert f.qualifier == "以内" and f.lead == "控制在" and f.value == 5.0
    (g,) = figures("力争培育3个以上龙头企业")
    assert g.qualifier == "以上" and g.unit == "个"


def test_units_without_magnitude():
    (f,) = figures("新增就业3.1万人")
    assert unit_base(f.unit) == "人" and has_unit(f, "人") and not has_unit(f, "元")
    (k,) = figures("新建道路40km")
    assert has_unit(k, "公里")


def test_percent_and_multiple_are_their_own_units():
    (p,) = figures("占比达到30%")
    assert has_unit(p, "%") and not has_unit(p, "倍")


def test_offsets_are_slices():
    text = "新增就业3.1万人,投资120亿元。"
    for f in figures(text):
        assert text[f.start : f.end] == f.text
