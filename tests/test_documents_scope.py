"""Questions over several documents: the documents a question names, comparisons, and
citations that name their document — on two small hand-made reports of a made-up county."""

import pytest
from conftest import FAKE_RULES, FakeEmbedder

from rag.answer.analysis import Analyzer
from rag.answer.documents import (
    cities_named,
    comparison,
    document_label,
    report_not_held,
    scope_filter,
)
from rag.answer.normalize import Lexicon
from rag.config import Settings
from rag.index import build_index
from rag.keyword import KeywordTokenizer
from rag.pipeline import Pipeline
from rag.types import Document

R2023 = """2023年石砚县政府工作报告

一、2022年工作回顾

全县新增城镇就业4100人，地区生产总值增长5.2%。

二、2023年主要目标

地区生产总值增长6%左右，城镇新增就业4500人以上。
"""

R2024 = """2024年石砚县政府工作报告

一、2023年工作回顾

全县新增城镇就业4620人，地区生产总值增长6.3%。

二、2024年主要目标

地区生产总值增长5.5%左右，城镇新增就业4800人以上。
"""

MEADOW = """2024年鹿溪县政府工作报告

一、2023年工作回顾

全县新增城镇就业3900人，地区生产总值增长4.8%。
"""


def _doc(doc_id, city, year, title="报告"):
    return Document(doc_id, title, "x", "0", doc_id, metadata={"city": city, "year": year})


def test_the_cities_a_question_names():
    docs = [_doc("a", "石砚县", "2023"), _doc("b", "鹿溪县", "2024")]
    assert cities_named("鹿溪县和石砚县的就业", docs) == ["鹿溪县", "石砚县"]
    assert cities_named("石砚的就业", docs) == ["石砚县"]  # without its suffix
    assert cities_named("全县的就业", docs) == []


@pytest.fixture(scope="module")
def analyze():
    tok = KeywordTokenizer()
    return Analyzer(tokens=tok, words=tok.words, frequency=tok.frequency)


def test_a_report_named_by_its_year_limits_the_documents(analyze):
    docs = [_doc("a", "石砚县", "2023"), _doc("b", "石砚县", "2024")]
    f = scope_filter(analyze("2023年的报告里新增就业多少人？"), docs)
    assert f is not None and f.years == ("2023",)
    # a plain year is about the evidence, not the document (a 2024 report tells 2023's news)
    assert scope_filter(analyze("2023年新增就业多少人？"), docs) is None
    assert scope_filter(analyze("2023年的报告里新增就业多少人？"), docs[:1]) is None  # one doc


def test_a_city_spelt_in_pinyin_in_an_english_question_limits_the_documents():
    tok = KeywordTokenizer()
    lexicon = Lexicon.build([R2024, MEADOW], lambda t: tok.words(t) + tok(t), english={"jobs"})
    analyze = Analyzer(tokens=tok, words=tok.words, frequency=tok.frequency, lexicon=lexicon)
    docs = [_doc("a", "石砚县", "2024"), _doc("b", "鹿溪县", "2024")]
    f = scope_filter(analyze("How many new jobs did Luxi create?"), docs)
    assert f is not None and f.cities == ("鹿溪县",)


def test_a_report_of_a_place_the_collection_does_not_hold(analyze):
    docs = [_doc("a", "石砚县", "2024"), _doc("b", "鹿溪县", "2024")]
    assert report_not_held(analyze("白沙县今年的政府工作报告说了什么？"), docs) == "白沙县"
    assert report_not_held(analyze("鹿溪县的政府工作报告说了什么？"), docs) is None
    assert report_not_held(analyze("请问今年的政府工作报告里就业目标是多少？"), docs) is None
    unknown = [_doc("a", "", "2024")]  # a document that does not say its place: cannot tell
    assert report_not_held(analyze("白沙县今年的政府工作报告说了什么？"), unknown) is None


def test_comparisons(analyze):
    docs = [_doc("a", "石砚县", "2023"), _doc("b", "鹿溪县", "2024")]
    by_city = comparison(analyze("石砚县和鹿溪县新增就业分别是多少？"), docs)
    assert [i.label for i in by_city] == ["石砚县", "鹿溪县"] and by_city[0].where
    by_year = comparison(analyze("2023年和2024年的增长目标分别是多少？"), docs)
    assert [(i.label, i.year) for i in by_year] == [("2023年", 2023), ("2024年", 2024)]
    assert comparison(analyze("2023年新增就业多少人？"), docs) == []


def test_a_document_label_has_its_year():
    assert document_label(_doc("a", "石砚县", "2023", "2023年石砚县政府工作报告")).endswith("报告")
    assert document_label(_doc("a", "石砚县", "2023", "政府工作报告")) == "政府工作报告（2023）"


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    seeds = tmp_path_factory.mktemp("seeds")
    for name, text, city, year in [
        ("shiyan-2023", R2023, "石砚县", "2023"),
        ("shiyan-2024", R2024, "石砚县", "2024"),
        ("luxi-2024", MEADOW, "鹿溪县", "2024"),
    ]:
        (seeds / f"{name}.txt").write_text(text, encoding="utf-8")
        (seeds / f"{name}.meta.json").write_text(
            f'{{"city": "{city}", "year": "{year}", "fictional": "true"}}', encoding="utf-8"
        )
    settings = Settings(seeds_dir=seeds, data_dir=tmp_path_factory.mktemp("d"), chunk_size=60)
    emb = FakeEmbedder()
    index = build_index(settings, emb)
    return Pipeline(settings, embedder=emb, index=index, rules=FAKE_RULES).load()


def test_a_question_naming_a_city_cites_only_its_reports(pipe):
    a = pipe.answer("鹿溪县新增城镇就业多少人？")
    docs = {c.doc_id for c in a.citations}
    assert docs == {"luxi-2024"} and "3900人" in a.direct_answer
    assert a.citations[0].document.startswith("2024年鹿溪县")  # several documents: named


def test_comparing_two_years_gives_a_cited_line_for_each(pipe):
    a = pipe.answer("石砚县2023年和2024年的地区生产总值增长目标分别是多少？")
    assert a.direct_answer.startswith("2023年：") and "；2024年：" in a.direct_answer
    assert "6%左右" in a.direct_answer and "5.5%左右" in a.direct_answer
    assert {c.doc_id for c in a.citations} == {"shiyan-2023", "shiyan-2024"}
    assert [c.n for c in a.citations] == list(range(1, len(a.citations) + 1))


def test_comparing_two_cities_searches_each_city(pipe):
    a = pipe.answer("石砚县和鹿溪县2023年新增城镇就业分别是多少？")
    assert "石砚县：" in a.direct_answer and "鹿溪县：" in a.direct_answer
    assert "4620人" in a.direct_answer and "3900人" in a.direct_answer
