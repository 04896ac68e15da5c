"""Question analysis: language, kind of answer, figures."""

import pytest

from rag.questions import (
    asked_unit,
    figures,
    has_figure,
    has_figure_in,
    is_english,
    question_kind,
    unsupported_figures,
)


@pytest.mark.parametrize(
    "q,kind",
    [
        ("新增城镇就业多少人", "figure"),
        ("要培育几个千亿级产业集群", "figure"),
        ("五大产业集群是哪些", "list"),
        ("乐山什么时候修地铁", "when"),
        ("乐山港将升级打造为什么港", "which"),
        ("我家孩子上幼儿园难，政府有什么打算？", "general"),
        ("去政府办事还要跑好几个窗口吗？", "general"),
        ("How many kilometres of expressway will be built?", "figure"),
    ],
)
def test_question_kind(q, kind):
    assert question_kind(q) == kind


def test_figure_helpers():
    assert unsupported_figures("26.2万人", ["新增城镇就业26.2万人"]) == []
    assert unsupported_figures("27万人", ["新增城镇就业26.2万人"]) == ["27"]
    assert has_figure("蝉联五届全国双拥模范城") and has_figure("五年翻一番")
    assert not has_figure("建设美丽宜居城市")
    assert "65%以上" in figures("民生支出比例稳定在65%以上,")


def test_is_english():
    assert is_english("What is the target for forest coverage?")
    assert not is_english("森林覆盖率 target 是多少")


@pytest.mark.parametrize(
    "q,unit",
    [
        ("今年全市一般公共预算收入预计是多少亿元？", "亿元"),
        ("过去五年乐山新增城镇就业多少人？", "人"),
        ("峨眉山景区去年接待了多少万人次游客？", "万人次"),
        ("要培育几个千亿级产业集群？", "个"),
        ("乐山机场的建设总投资是多少？", "元"),  # an amount of money
        ("乐山大佛景区的门票多少钱？", "元"),
        ("城乡居民人均可支配收入分别是2015年的几倍？", "倍"),  # the named unit wins
        ("森林覆盖率要提高到多少？", None),
        ("城镇化率目标是多少？", None),
    ],
)
def test_asked_unit(q, unit):
    assert asked_unit(q) == unit


@pytest.mark.parametrize(
    "text,unit,found",
    [
        ("新增城镇就业26.2万人", "人", True),
        ("力争完成投资800亿元", "元", True),
        ("连续两年获得A级等次", "年", True),
        ("民生支出占一般公共预算支出比例稳定在65%以上", "亿元", False),
        ("统筹“1+3+N”航空网建设", "元", False),
        ("五年来累计办结人大代表建议689件", "人", False),
    ],
)
def test_has_figure_in(text, unit, found):
    assert has_figure_in(text, unit) is found
