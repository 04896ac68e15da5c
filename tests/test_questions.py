"""Question analysis: language, kind of answer, figures."""

import pytest

from rag.questions import figures, has_figure, is_english, question_kind, unsupported_figures


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
