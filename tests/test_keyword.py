"""The keyword channel's tokenizer and BM25 index (rag/keyword.py)."""

import math

import pytest

from rag.keyword import KeywordIndex, KeywordTokenizer
from rag.types import Chunk

TEXTS = ["培育五大产业集群。", "壮大产业规模。", "发展文旅产业。", "建设美丽乡村。"]


@pytest.fixture(scope="module")
def index():
    chunks = [Chunk(f"d:{i}", "d", ("s",), 0, len(t), t) for i, t in enumerate(TEXTS)]
    return KeywordIndex(KeywordTokenizer()).build(chunks)


def bm25_idf(n, df):
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def test_idf_of_a_token_is_bm25s_over_the_chunks(index):
    assert index.idf("产业") == pytest.approx(bm25_idf(4, 3))
    assert index.idf("乡村") == pytest.approx(bm25_idf(4, 1))


def test_a_phrase_the_tokenizer_splits_is_counted_in_the_text(index):
    # whatever jieba makes of 产业集群, one chunk holds the phrase: it is the report's word
    assert index.idf("产业集群") == pytest.approx(bm25_idf(4, 1))
    assert index.idf("五大产业") == pytest.approx(bm25_idf(4, 1))


def test_a_word_no_chunk_holds_weighs_nothing(index):
    assert index.idf("地铁") == 0.0
    assert index.idf("集群产业") == 0.0  # the characters, not in that order
    assert index.idf("群") == 0.0  # one character is no phrase


def test_the_documents_own_places_are_stop_words_of_the_keyword_channel():
    from rag.keyword import KeywordTokenizer, place_words
    from rag.types import Document

    docs = [Document("a", "报告", "x", "0", "a", metadata={"city": "青禾县"})]
    assert place_words(docs) == {"青禾县", "青禾"}
    tok = KeywordTokenizer(stop=place_words(docs))
    assert "青禾" not in tok("青禾的就业目标") and "就业" in tok("青禾的就业目标")
    assert "青禾" in KeywordTokenizer()("青禾的就业目标")  # another collection's word
