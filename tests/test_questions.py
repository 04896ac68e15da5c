"""The small text checks of rag.questions."""

from rag.questions import is_english, longest_run, unsupported_figures


def test_figure_check():
    assert unsupported_figures("26.2万人", ["新增城镇就业26.2万人"]) == []
    assert unsupported_figures("27万人", ["新增城镇就业26.2万人"]) == ["27"]


def test_is_english():
    assert is_english("How many jobs?")
    assert not is_english("森林覆盖率target是多少")
    assert not is_english("<b><i>森林覆盖率</i></b>")


def test_longest_run():
    assert longest_run("森林覆盖率", "提高森林覆盖率到62%") == 5
    assert longest_run("地铁", "森林覆盖率") == 0
