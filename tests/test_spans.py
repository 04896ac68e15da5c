"""Span finders and evidence helpers on hand-made sentences."""

import pytest

from rag.answer.analysis import Analysis, Constraints
from rag.answer.evidence import base_year, coverage, scope_of, sentence_kind, visible_share
from rag.answer.spans import (
    FINDERS,
    is_change,
    is_list,
    name_spans,
    names_ending,
    place_spans,
    proper_name_spans,
    quantity_spans,
    related,
)


def ask(text, kind, unit=None, topic=()):
    return Analysis(
        question=text,
        text=text,
        ask=text,
        lang="zh",
        answer_type=kind,
        yes_no=False,
        unit=unit,
        constraints=Constraints(),
        topic=tuple(topic),
        focus=tuple(topic),
    )


@pytest.mark.parametrize(
    ("kind", "unit", "sentence", "found"),
    [
        ("quantity", "人", "全县新增就业3.1万人,绿化率45%。", ["3.1万人"]),
        ("quantity", None, "绿化率提高到45%。", ["45%"]),  # 多少 alone: a share answers
        ("quantity", None, "今后五年新建学校。", []),  # a span of years is not "how many"
        ("percent", None, "新增就业3.1万人,绿化率45%。", ["45%"]),
        ("multiple", None, "收入是2019年的1.4倍。", ["1.4倍"]),
        ("money", None, "修路40公里,投资12亿元。", ["12亿元"]),
        ("date", None, "新馆于2025年9月开放。", ["2025年9月"]),
        ("rank", None, "增速居全省第4位。", ["第4位"]),
        ("rank", None, "增速居全省前列。", []),  # a rough standing is not a rank
        ("ordinal", None, "承办第十二届省运会。", ["第十二届"]),
    ],
)
def test_figure_finders(kind, unit, sentence, found):
    spans = FINDERS[kind](sentence, ask("问", kind, unit))
    assert [s.text for s in spans] == found
    for s in spans:
        assert sentence[s.start : s.end] == s.text


def test_how_many_asks_for_a_count():
    a = ask("How many teachers are there?", "quantity")
    assert quantity_spans("教师人数增长12%。", a) == []
    roads = "新建改建干线公路300公里,新开公交线路12条,投资5亿元。"
    lines = quantity_spans(roads, ask("How many bus lines will open?", "quantity"))
    assert [s.text for s in lines] == ["12条"]  # things counted, not a length or money
    km = quantity_spans(roads, ask("How many km of trunk roads?", "quantity"))
    assert "300公里" in [s.text for s in km]  # a measure asked by name
    both = ask("How many lines will open and how much will it cost?", "quantity")
    assert "5亿元" in [s.text for s in quantity_spans(roads, both)]  # money asked too
    hectares = quantity_spans("新增造林2.5万亩。", ask("How many new hectares or mu?", "quantity"))
    assert [s.text for s in hectares] == ["2.5万亩"]


@pytest.mark.parametrize(
    ("kind", "sentence", "instead"),
    [
        ("rank", "综合实力居全省前列。", ["前列"]),  # a standing where a rank was asked
        ("named", "力争新增龙头企业3家。", ["3家"]),  # a count where names were asked
        ("money", "新建道路40公里。", ["40公里"]),  # a quantity where a cost was asked
        ("date", "今后三年建成新城。", ["今后三年"]),  # a period where a date was asked
    ],
)
def test_related_spans_make_a_partial_answer(kind, sentence, instead):
    assert [s.text for s in related(sentence, kind)] == instead


def test_names_proper_and_common():
    spans = name_spans("成功创建国家卫生城市,办好“乐山国际美食节”。", ask("哪个", "named"))
    texts = {s.text: s.kind for s in spans}
    assert texts.get("国家卫生城市") == "term" and texts.get("“乐山国际美食节”") == "name"
    proper = [
        s.text for s in proper_name_spans("以五通桥基地为核心,壮大产业。", ask("哪个", "named"))
    ]
    assert "五通桥基地" in proper


def test_places_other_than_the_asked_one():
    a = ask("博物馆建在哪里", "place", topic=["博物馆"])
    spans = [s.text for s in place_spans("在城北片区建设博物馆。", a)]
    assert "城北片区" in spans


def test_an_enumeration_is_a_list_when_it_has_items():
    assert is_list("光电信息、新型建材、绿色化工")
    assert not is_list("全国、全省")
    assert not is_list("主要指标增速高于全国、全省平均水平")


def test_coverage_weights_words_by_idf_and_ignores_unknown_words():
    idf = {"森林": 2.0, "覆盖率": 3.0, "钱袋子": 0.0}.get
    assert coverage("森林覆盖率提高到58%", ["森林", "覆盖率", "钱袋子"], lambda w: idf(w) or 0) == 1
    assert coverage("森林面积扩大", ["森林", "覆盖率"], lambda w: idf(w) or 0) == pytest.approx(0.4)
    assert coverage("任何句子", ["钱袋子"], lambda w: 0.0) == 0.0
    assert visible_share(["森林", "钱袋子"], lambda w: idf(w) or 0) == 0.5


def test_a_group_of_alternatives_counts_once_weighted_as_its_most_common_member():
    # an English word's renderings: "forest" → 林业 (rare here) / 森林; "coverage" → 覆盖率
    idf = {"林业": 4.0, "森林": 2.0, "覆盖率": 2.0}.get
    groups = [("林业", "森林"), ("覆盖率",)]
    # both renderings of "forest" in one sentence still count one word, not two
    assert coverage("林业森林资源管理", groups, lambda w: idf(w) or 0) == pytest.approx(0.5)
    # the sentence naming both English words wins over one naming two renderings of one
    assert coverage("森林覆盖率提高", groups, lambda w: idf(w) or 0) == 1
    # a group's weight is its most common member's (2.0), not its rarest (4.0)
    assert (
        coverage("林业资源", [("林业", "森林"), ("覆盖率", "盖率")], lambda w: idf(w) or 0) == 0.5
    )
    # single words and one-word groups are the same topic
    assert coverage("森林面积", ["森林", "覆盖率"], lambda w: idf(w) or 0) == coverage(
        "森林面积", [("森林",), ("覆盖率",)], lambda w: idf(w) or 0
    )
    assert visible_share([("林业", "钱袋子"), ("钱袋子",)], lambda w: idf(w) or 0) == 0.5


@pytest.mark.parametrize(
    ("levels", "kind", "year"),
    [
        (["新增就业3.1万人", "五年来,全县新增就业3.1万人。"], "multi_year", None),
        (["新建村道200公里", "新建村道200公里。", "", "今后五年工作"], "multi_year", None),
        (["新增就业1.1万人", "", "", "一、2023年工作回顾"], "year", 2023),
        (["年均增长6%", ""], "annual", None),
        (["收入是2019年的1.4倍", ""], None, None),  # a base year says nothing of the scope
        # this year (the document's, filled in by its caller), though it names a five-year plan
        (["实施三大战略", "", "今年是实施“十四五”规划的关键之年。"], "year", None),
        (["全年新增就业1.2万人", "", "", "今后五年工作"], "multi_year", None),  # 全年 is no 今年
        # a level held in each of N years is each year's; what N years add up to is not
        (["油菜产量连续三年稳定在8万吨以上", ""], "annual", None),
        (["连续4年位居全省前列", ""], "annual", None),
        (["连续三年累计新增就业4万人", ""], "multi_year", None),
        (["连续三年新增就业4万人", ""], "multi_year", None),
    ],
)
def test_scope_of_a_figure(levels, kind, year):
    scope = scope_of(levels)
    if kind is None:
        assert scope is None or scope.kind == "annual"
    else:
        assert scope.kind == kind and scope.year == year


def test_base_year():
    assert base_year("收入是2019年的1.4倍") == 2019
    assert base_year("较2020年下降12%") == 2020
    assert base_year("2023年建成") is None


@pytest.mark.parametrize(
    ("sentence", "section", "kind"),
    [
        ("全县新增就业3.1万人。", ("过去一年工作回顾",), "achievement"),
        ("力争新增就业3万人。", ("2024年重点工作",), "target"),
        ("建成投运新机场。", ("今后五年工作的主要考虑", "一、交通"), "target"),
        ("成功创建国家卫生城市。", ("过去五年工作回顾",), "achievement"),
    ],
)
def test_sentence_kind(sentence, section, kind):
    assert sentence_kind(sentence, section) == kind


def test_names_ending_in_a_head_start_after_the_verb():
    assert names_ending("全域联动,成功创建国家卫生城市。", "城市") == ["国家卫生城市"]
    assert names_ending("获评全国居家和社区养老服务改革试点优秀城市。", "城市") == [
        "全国居家和社区养老服务改革试点优秀城市"
    ]
    assert names_ending("以五通桥基地为核心,联动高新区", "基地") == ["五通桥基地"]


@pytest.mark.parametrize(
    ("sentence", "figure", "change"),
    [
        ("新增床位500张，床位总数达到1300张。", "500张", True),
        ("新增床位500张，床位总数达到1300张。", "1300张", False),
        ("地区生产总值达到260亿元，增长5.9%。", "5.9%", True),
        ("地区生产总值达到260亿元，增长5.9%。", "260亿元", False),
        ("排名前移2位。", "2位", True),
        ("城乡居民收入是2015年的1.5倍。", "1.5倍", True),  # a multiple is a growth
        ("增长的动力更足，全年产值120亿元。", "120亿元", False),  # another clause
    ],
)
def test_a_figure_is_a_change_when_a_change_word_leads_it_in_its_clause(sentence, figure, change):
    spans = [sp for sp in quantity_spans(sentence, ask("多少", "quantity")) if sp.text == figure]
    assert spans, [sp.text for sp in quantity_spans(sentence, ask("多少", "quantity"))]
    assert is_change(sentence, spans[0]) is change


def test_piece_of_is_the_enumerated_item_holding_a_span():
    from rag.answer.spans import Span, piece_of

    s = "推动甲厂二期6月底前竣工投产、乙园区9月底前开工，全年新增企业40家。"
    late = s.index("9月底前")
    ps, pe = piece_of(s, Span(late, late + 4, "9月底前", "date"))
    assert s[ps:pe].rstrip("，") == "乙园区9月底前开工"  # (a clause keeps its comma)
    early = s.index("6月底前")
    ps, pe = piece_of(s, Span(early, early + 4, "6月底前", "date"))
    assert s[ps:pe] == "推动甲厂二期6月底前竣工投产"
    one = "新医院于2024年6月建成投用。"
    at = one.index("2024年6月")
    assert piece_of(one, Span(at, at + 7, "2024年6月", "date")) == (0, len(one))


def test_two_items_are_a_list_only_when_two_are_asked_and_both_are_names():
    from rag.answer.spans import least_items, name_spans

    sentence = "推进省道210白沙至青石公路、省道305沿江公路等项目，坚持因地制宜、特色发展。"
    two = Analysis(
        "哪两条省道",
        "哪两条省道",
        "哪两条省道",
        "zh",
        "list",
        False,
        None,
        Constraints(),
        ("省道",),
    )
    assert least_items(two) == 2
    items = [sp.text for sp in name_spans(sentence, two) if sp.kind == "items"]
    assert any("省道305沿江公路" in t for t in items)
    assert not any("因地制宜" in t for t in items)  # a phrase, not names
    counts = "培育2个以上经济强县、4个以上经济大县。"
    assert not [sp for sp in name_spans(counts, two) if sp.kind == "items"]
