"""The Chinese keyword channel: jieba tokens scored with BM25 (``bm25s``).

The report's own coined terms (三零, 一网通办, 中国绿色硅谷, 嘉州英才培育计划, …) are
added to jieba's dictionary so they stay whole: every term the documents put in
Chinese quotation marks, plus the packaged list in ``resources/terms.txt``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from importlib import resources

import numpy as np

from .types import Chunk, Document, place_key

log = logging.getLogger(__name__)

_QUOTED = re.compile(r"“([^“”]{2,12})”")
_WORD = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")
# function words that carry no topic; figures and content words stay
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "是",
        "在",
        "有",
        "把",
        "将",
        "对",
        "为",
        "以",
        "等",
        "我们",
        "我",
        "要",
        "就",
        "都",
        "也",
        "并",
        "从",
        "到",
        "被",
        "这",
        "那",
        "什么",
        "哪些",
        "哪个",
        "多少",
        "怎么",
        "怎样",
        "如何",
        "吗",
        "呢",
        "吧",
        "啊",
        "么",
        "有没有",
        "是否",
        "会",
        "能",
        "请问",
        "关于",
        "报告",
        "市",
        "政府",
        "提到",
        "说",
        "里",
    ]
)


def place_words(docs: Iterable[Document]) -> set[str]:
    """The places the documents are about, as written and without their suffix (乐山市,
    乐山): stop words of the keyword channel, as 市 and 政府 are."""
    out = set()
    for d in docs:
        if d.city:
            out |= {d.city, place_key(d.city)}
    return {w for w in out if len(w) >= 2}


def coined_terms(docs: Iterable[Document]) -> set[str]:
    """Terms to keep whole: quoted terms in the documents plus the packaged list."""
    terms = {t for d in docs for t in _QUOTED.findall(d.text) if not re.search(r"[，,。、]", t)}
    packaged = resources.files("rag").joinpath("resources/terms.txt").read_text(encoding="utf-8")
    terms.update(
        line.strip() for line in packaged.splitlines() if line.strip() and not line.startswith("#")
    )
    return terms


class KeywordTokenizer:
    """jieba (search mode) with the coined terms, minus punctuation and stopwords."""

    def __init__(self, terms: Iterable[str] = (), *, stop: Iterable[str] = ()) -> None:
        self._terms = sorted(set(terms))
        # and the places the documents are about: nearly every passage names its own city
        self._stop = STOPWORDS | frozenset(w.lower() for w in stop)
        self._jieba = None

    def _tokenizer(self):  # type: ignore[no-untyped-def]
        if self._jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            for term in self._terms:
                tok.add_word(term, freq=2_000_000)
            self._jieba = tok
        return self._jieba

    def frequency(self, word: str) -> int:
        """How often jieba's general dictionary counts ``word`` (0 when it is not a word)."""
        tok = self._tokenizer()
        tok.check_initialized()
        return int(tok.FREQ.get(word) or 0)

    def words(self, text: str) -> list[str]:
        """Precise-mode segmentation, case kept (for rewriting questions)."""
        return [t for t in self._tokenizer().lcut(text) if t.strip()]

    def __call__(self, text: str) -> list[str]:
        tokens = self._tokenizer().lcut_for_search(text.lower())
        return [t for t in tokens if _WORD.search(t) and t not in self._stop]


class KeywordIndex:
    """BM25 over chunk tokens; ``scores(question)`` gives one score per chunk."""

    def __init__(self, tokenizer: KeywordTokenizer) -> None:
        self.tokenizer = tokenizer
        self._bm25 = None
        self._n = 0
        self.doc_freq: dict[str, int] = {}  # token -> chunks holding it
        self._texts: list[str] = []
        self._phrase_freq: dict[str, int] = {}  # phrase (not a token) -> chunks holding it

    def build(self, chunks: Sequence[Chunk]) -> KeywordIndex:
        import bm25s

        corpus = [self.tokenizer(c.text) or [""] for c in chunks]
        df: dict[str, int] = {}
        for tokens in corpus:
            for t in set(tokens):
                df[t] = df.get(t, 0) + 1
        self.doc_freq = df
        self._texts = [c.text.lower() for c in chunks]
        self._phrase_freq = {}
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        self._bm25, self._n = bm25, len(chunks)
        return self

    def idf(self, token: str) -> float:
        """BM25's inverse document frequency of ``token`` over the chunks (0 when no chunk
        holds it: a word the report does not use says nothing about where to look). A phrase
        the tokenizer splits (产业集群 → 产业, 集群) is counted in the chunks' text."""
        df = self.doc_freq.get(token, 0)
        if not df and len(token) >= 2:
            if token not in self._phrase_freq:
                low = token.lower()
                self._phrase_freq[token] = sum(low in t for t in self._texts)
            df = self._phrase_freq[token]
        if not df:
            return 0.0
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def scores(self, question: str) -> np.ndarray:
        if self._bm25 is None:
            raise RuntimeError("KeywordIndex.build() must be called before scores()")
        tokens = [t for t in self.tokenizer(question) if t in self._bm25.vocab_dict]
        if not tokens:
            return np.zeros(self._n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
