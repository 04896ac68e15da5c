"""The constraints a question's own words set (rag.answer.asked), on hand-made questions."""

from rag.answer.asked import constraints, place_names


def _words(text: str) -> list[str]:
    import jieba

    return jieba.lcut(text)


def _c(text: str, ask: str | None = None, places: tuple[str, ...] = ()):
    return constraints(text, ask or text, lambda w: w in places, _words)


def test_a_calendar_year_is_asked_and_a_base_year_is_not():
    assert _c("2023年全县新增就业多少人").year == 2023
    assert _c("比2015年增长了多少").year is None
    assert _c("How many jobs were created in 2022?").year == 2022


def test_relative_years_in_chinese_and_english():
    assert _c("去年修了多少路").relative_year == -1
    assert _c("明年要建几所学校").relative_year == 1
    assert _c("What was it three years ago?").relative_year == -3


def test_scope_and_status_come_from_the_part_that_asks():
    assert _c("每年新增多少就业").scope == "annual"
    assert _c("总投资多少").scope == "total"
    assert _c("桥修好了吗").status == "done"
    text = "我家孩子明年要上学了，想问问今后几年要建几所学校"
    c = _c(text, "想问问今后几年要建几所学校")
    assert c.relative_year is None  # 明年 is the resident's situation, not the time asked


def test_places_are_those_the_corpus_names_too():
    assert _c("白沙县的学校有几所", places=("白沙县",)).places == ("白沙县",)
    assert _c("白沙县的学校有几所").places == ()  # the corpus does not name it


def test_place_names_join_a_lone_suffix_and_skip_kinds_of_area():
    assert place_names("白沙 县 的 老旧小区", lambda t: t.split()) == ["白沙县"]
    assert place_names("开发区 和 景区", lambda t: t.split()) == []
