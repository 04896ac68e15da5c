import pytest
from conftest import SEEDS, STORES, FakeEmbedder, on_store

from rag.config import Settings
from rag.index import build_index
from rag.retrieval import InvalidQuestion, Retriever, dedupe, fuse, validate_question
from rag.types import Chunk, Hit


@pytest.fixture(scope="module", params=STORES)
def retriever(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("d")
    settings = on_store(Settings(seeds_dir=SEEDS, data_dir=root), request.param, root)
    emb = FakeEmbedder()
    return Retriever(index=build_index(settings, emb), embedder=emb, settings=settings).warm_up()


def test_fuse_adds_a_bounded_keyword_bonus():
    fused = fuse({1: 0.80, 2: 0.82, 3: 0.70}, {1: 10.0, 3: 1000.0}, weight=0.1, saturation=10)
    assert fused[1] == pytest.approx(0.80 + 0.1 * 0.5)
    assert fused[2] == pytest.approx(0.82)
    assert 0.70 < fused[3] < 0.80  # the bonus never exceeds the weight
    assert max(fused, key=fused.get) == 1


def test_keyword_weight_zero_equals_dense(retriever):
    s = retriever.settings.model_copy(update={"keyword_weight": 0.0})
    r0 = Retriever(
        index=retriever.index, embedder=retriever.embedder, settings=s, keyword=retriever.keyword
    )
    q = "新增城镇就业多少人"
    fused = [h.chunk.chunk_id for h in r0.search(q, mode="fused").hits]
    dense = [h.chunk.chunk_id for h in r0.search(q, mode="dense").hits]
    assert fused == dense


@pytest.mark.parametrize(
    "question,needle",
    [
        ("新增城镇就业", "新增城镇就业26.2万人"),
        ("森林覆盖率", "森林覆盖率提高到62%"),
        ("嘉州英才培育计划", "嘉州英才培育计划"),
    ],
)
def test_keyword_channel_finds_exact_phrases(retriever, question, needle):
    hits = retriever.search(question, mode="keyword", top_k=3).hits
    assert needle in hits[0].chunk.text


def test_search_returns_ranked_hits_with_provenance(retriever):
    res = retriever.search("森林覆盖率提高到多少", top_k=5)
    assert 0 < len(res.hits) <= 5
    scores = [h.score for h in res.hits]
    assert scores == sorted(scores, reverse=True)
    doc = retriever.index.documents[res.hits[0].chunk.doc_id]
    for h in res.hits:
        assert doc.text[h.chunk.start : h.chunk.end] == h.chunk.text
        assert h.chunk.section
    assert res.latency_ms > 0


def test_the_same_sentence_is_never_two_hits(retriever):
    res = retriever.search("高标准农田 米袋子 菜篮子 货足价稳", top_k=10)
    assert sum("货足价稳" in h.chunk.text for h in res.hits) == 1


def test_dedupe_drops_hits_already_covered():
    a = Chunk("d:1", "d", ("s",), 0, 10, "甲乙。丙丁。")
    b = Chunk("d:2", "d", ("s",), 10, 13, "甲乙。")
    c = Chunk("d:3", "d", ("s",), 13, 19, "甲乙。戊己。")
    hits = [Hit(a, 1.0, "fused"), Hit(b, 0.9, "fused"), Hit(c, 0.8, "fused")]
    assert [h.chunk.chunk_id for h in dedupe(hits)] == ["d:1", "d:3"]


@pytest.mark.parametrize("bad", ["", "   \n\t ", None, 42])
def test_bad_questions_are_rejected(bad):
    with pytest.raises(InvalidQuestion):
        validate_question(bad, 500)


def test_huge_question_is_rejected_with_the_limit(retriever):
    with pytest.raises(InvalidQuestion, match="500"):
        retriever.search("乐" * 100_000)


def test_markup_question_is_just_text(retriever):
    res = retriever.search("<script>alert(1)</script> 森林覆盖率", top_k=3)
    assert res.hits


def test_english_question_does_not_break_keyword_channel(retriever):
    assert retriever.keyword.scores("What is the forest coverage target?").shape == (
        len(retriever.index.chunks),
    )


def test_top_k_must_be_positive(retriever):
    with pytest.raises(ValueError, match="top_k"):
        retriever.search("森林", top_k=-1)
