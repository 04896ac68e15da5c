"""Retrieval: dense top-k (FAISS or Milvus) fused with the BM25 keyword channel.

Fusion adds a bounded keyword bonus to the cosine (see :func:`fuse`); the weight and the
saturation were chosen by measurement (README, "Choosing the fusion"): the dense channel
carries paraphrases and English, the keyword channel rescues exact phrases (an English
question is looked up by the report's own words for it, :mod:`rag.crosslingual`). Hits that
repeat a sentence already returned are dropped.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from .chunking import sentence_key, split_sentences
from .crosslingual import Glossary
from .keyword import KeywordIndex, KeywordTokenizer, coined_terms, place_words
from .questions import is_english
from .types import Chunk, DocFilter, Hit, SearchResult

_LATIN = re.compile(r"[A-Za-z]{2,}")  # an English word in a Chinese question

if TYPE_CHECKING:
    from .config import Settings
    from .embedding import Embedder
    from .index import Index

Mode = Literal["dense", "keyword", "fused"]


class InvalidQuestion(ValueError):
    """The question cannot be searched (empty, too long, not text)."""


class UnknownDocument(ValueError):
    """A filter names a document id the index does not hold."""


def validate_question(question: object, max_chars: int) -> str:
    """Return the stripped question, or raise :class:`InvalidQuestion` saying why."""
    if not isinstance(question, str):
        raise InvalidQuestion(f"question must be a string, got {type(question).__name__}")
    q = question.strip()
    if not any(unicodedata.category(ch)[0] in "LN" for ch in q):
        # nothing to read: empty, or only spaces, punctuation, emoji, zero-width characters
        raise InvalidQuestion("question is empty (it has no words) / 问题不能为空（没有文字）")
    if len(q) > max_chars:
        raise InvalidQuestion(
            f"question is {len(q)} characters; the limit is {max_chars} (RAG_MAX_QUESTION_CHARS)"
            f" / 问题过长（{len(q)} 字），上限为 {max_chars} 字"
        )
    return q


def fuse(
    dense: dict[int, float], keyword: dict[int, float], *, weight: float, saturation: float
) -> dict[int, float]:
    """Cosine plus a bounded keyword bonus: ``cos + weight * bm25 / (bm25 + saturation)``.

    The bonus never exceeds ``weight``, so an exact phrase lifts a passage (新增城镇就业,
    森林覆盖率) without burying the paraphrases that only the dense channel finds.
    """
    return {
        i: cos + weight * (kw := keyword.get(i, 0.0)) / (kw + saturation)
        for i, cos in dense.items()
    }


def _sentences(chunk: Chunk) -> set[str]:
    return {sentence_key(chunk.text[s:e]) for s, e in split_sentences(chunk.text)}


def dedupe(hits: list[Hit]) -> list[Hit]:
    """Drop a hit whose sentences all came back already in a better-ranked hit."""
    seen: set[str] = set()
    out = []
    for hit in hits:
        sents = _sentences(hit.chunk)
        if sents and sents <= seen:
            continue
        seen |= sents
        out.append(hit)
    return out


@dataclass
class Retriever:
    """Searches one loaded :class:`~rag.index.Index` with one embedder."""

    index: Index
    embedder: Embedder
    settings: Settings
    keyword: KeywordIndex | None = None
    glossary: Glossary | None = None
    _rows: dict[DocFilter, np.ndarray] = field(default_factory=dict, repr=False)

    def warm_up(self) -> Retriever:
        """Build the keyword channel (jieba + BM25) and, for English questions, the
        glossary of the report's words (CC-CEDICT); cheap, but not free."""
        if self.keyword is None:
            docs = self.index.documents.values()
            tokenizer = KeywordTokenizer(coined_terms(docs), stop=place_words(docs))
            self.keyword = KeywordIndex(tokenizer).build(self.index.chunks)
        if self.glossary is None:
            corpus = "\n".join(d.text for d in self.index.documents.values())
            self.glossary = Glossary.load(corpus) if self.settings.crosslingual else Glossary({})
        return self

    def english_terms(self, question: str) -> list[str]:
        """The report's Chinese words for an English question (empty for Chinese)."""
        if not is_english(question):
            return []
        self.warm_up()
        assert self.glossary is not None
        return self.glossary.terms(question)

    def keyword_query(self, question: str) -> str:
        """What the keyword channel looks up: an English question by the report's words for
        it; a Chinese question with English words in it ("GDP目标", "tourism的大目标") by its
        own words plus the report's words for those English ones; else the question."""
        if is_english(question):
            return " ".join(self.english_terms(question)) or question
        if not _LATIN.search(question):
            return question
        self.warm_up()
        assert self.glossary is not None
        return " ".join([question, *self.glossary.terms(question)])

    def rows(self, where: DocFilter | None) -> np.ndarray | None:
        """The chunk rows ``where`` allows (None: all); raises :class:`UnknownDocument`."""
        if not where:
            return None
        unknown = set(where.doc_ids) - set(self.index.documents)
        if unknown:
            raise UnknownDocument(
                f"no document {', '.join(sorted(unknown))} in the index; "
                f"known: {', '.join(sorted(self.index.documents))}"
            )
        if where not in self._rows:
            docs = {d for d, doc in self.index.documents.items() if where.matches(doc)}
            self._rows[where] = np.asarray(
                [i for i, c in enumerate(self.index.chunks) if c.doc_id in docs], np.int64
            )
        return self._rows[where]

    def _keyword(
        self, text: str, depth: int, rows: np.ndarray | None, where: DocFilter | None
    ) -> list[tuple[int, float]]:
        """BM25 top-``depth`` (row, score), best first: from the store when it has its own
        channel (Milvus), else from the in-memory bm25s index."""
        found = self.index.store.keyword(text, depth, where=where)
        if found is not None:
            return sorted(found, key=lambda rs: (-rs[1], rs[0]))
        self.warm_up()
        assert self.keyword is not None
        scores = self.keyword.scores(text)
        if rows is not None:  # other documents' chunks are no candidates
            allowed = np.zeros(len(scores), bool)
            allowed[rows] = True
            scores = np.where(allowed, scores, 0.0).astype(np.float32)
        order = np.argsort(-scores, kind="stable")[:depth]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]

    def search(
        self,
        question: str,
        *,
        top_k: int | None = None,
        mode: Mode | None = None,
        where: DocFilter | None = None,
    ) -> SearchResult:
        """The best passages for ``question``, among the documents ``where`` allows."""
        t0 = time.perf_counter()
        q = validate_question(question, self.settings.max_question_chars)
        top_k = self.settings.top_k if top_k is None else top_k
        if top_k <= 0:
            raise ValueError(f"top_k must be > 0, got {top_k}")
        mode = mode or self.settings.fusion
        rows = self.rows(where)
        n = len(self.index.chunks) if rows is None else len(rows)
        if n == 0:
            return SearchResult(question=q, hits=(), latency_ms=(time.perf_counter() - t0) * 1000)
        depth = min(n, max(self.settings.candidates, top_k * 2))
        embed_ms = 0.0
        qv = None
        dense: list[int] = []
        dense_scores: dict[int, float] = {}
        if mode in ("dense", "fused"):
            te = time.perf_counter()
            qv = np.ascontiguousarray(self.embedder.embed_queries([q]), dtype=np.float32)
            embed_ms = (time.perf_counter() - te) * 1000
            scores, ids = self.index.store.search(qv, depth, rows=rows, where=where)
            dense = [int(i) for i in ids[0] if i >= 0]
            dense_scores = {
                int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0
            }
        kw: dict[int, float] = {}  # keyword candidates, best first
        if mode in ("keyword", "fused"):
            # an English question is looked up by the report's words for it (crosslingual.py)
            kw = dict(self._keyword(self.keyword_query(q), depth, rows, where))
        keyword = list(kw)

        if mode == "dense":
            ranked = [(i, dense_scores[i]) for i in dense]
        elif mode == "keyword":
            ranked = list(kw.items())
        else:
            assert qv is not None
            missing = [i for i in keyword if i not in dense_scores]
            if missing:  # cosine of keyword-only candidates, from the stored vectors
                vecs = self.index.store.vectors(np.asarray(missing, dtype=np.int64))
                dense_scores.update(zip(missing, (vecs @ qv[0]).tolist(), strict=True))
            fused = fuse(
                dense_scores,
                kw,
                weight=self.settings.keyword_weight,
                saturation=self.settings.keyword_saturation,
            )
            ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
        hits = [Hit(chunk=self.index.chunks[i], score=s, channel=mode) for i, s in ranked]
        hits = dedupe(hits)[:top_k]
        total_ms = (time.perf_counter() - t0) * 1000
        return SearchResult(
            question=q,
            hits=tuple(hits),
            latency_ms=total_ms,
            embed_ms=embed_ms,
            search_ms=total_ms - embed_ms,
            query_vector=None if qv is None else qv[0],
        )
