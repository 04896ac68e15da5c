"""Retrieval: dense top-k (FAISS) fused with the BM25 keyword channel.

Fusion adds a bounded keyword bonus to the cosine (see :func:`fuse`); the weight and the
saturation were chosen by measurement (README, "Choosing the fusion"): the dense channel
carries paraphrases and English, the keyword channel rescues exact phrases (an English
question is looked up by the report's own words for it, :mod:`rag.crosslingual`). Hits that
repeat a sentence already returned are dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from .chunking import sentence_key, split_sentences
from .crosslingual import Glossary
from .keyword import KeywordIndex, KeywordTokenizer, coined_terms
from .questions import is_english
from .types import Chunk, Hit, SearchResult

if TYPE_CHECKING:
    from .config import Settings
    from .embedding import Embedder
    from .index import Index

Mode = Literal["dense", "keyword", "fused"]


class InvalidQuestion(ValueError):
    """The question cannot be searched (empty, too long, not text)."""


def validate_question(question: object, max_chars: int) -> str:
    """Return the stripped question, or raise :class:`InvalidQuestion` saying why."""
    if not isinstance(question, str):
        raise InvalidQuestion(f"question must be a string, got {type(question).__name__}")
    q = question.strip()
    if not q:
        raise InvalidQuestion("question is empty / 问题不能为空")
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

    def warm_up(self) -> Retriever:
        """Build the keyword channel (jieba + BM25) and, for English questions, the
        glossary of the report's words (CC-CEDICT); cheap, but not free."""
        if self.keyword is None:
            tokenizer = KeywordTokenizer(coined_terms(self.index.documents.values()))
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

    def search(
        self, question: str, *, top_k: int | None = None, mode: Mode | None = None
    ) -> SearchResult:
        t0 = time.perf_counter()
        q = validate_question(question, self.settings.max_question_chars)
        top_k = self.settings.top_k if top_k is None else top_k
        if top_k <= 0:
            raise ValueError(f"top_k must be > 0, got {top_k}")
        mode = mode or self.settings.fusion
        n = len(self.index.chunks)
        depth = min(n, max(self.settings.candidates, top_k * 2))
        embed_ms = 0.0
        qv = None
        dense: list[int] = []
        dense_scores: dict[int, float] = {}
        if mode in ("dense", "fused"):
            te = time.perf_counter()
            qv = np.ascontiguousarray(self.embedder.embed_queries([q]), dtype=np.float32)
            embed_ms = (time.perf_counter() - te) * 1000
            scores, ids = self.index.vectors.search(qv, depth)
            dense = [int(i) for i in ids[0] if i >= 0]
            dense_scores = {
                int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0
            }
        keyword: list[int] = []
        kw_scores: np.ndarray | None = None
        if mode in ("keyword", "fused"):
            self.warm_up()
            assert self.keyword is not None
            # an English question is looked up by the report's words for it (crosslingual.py)
            kw_scores = self.keyword.scores(" ".join(self.english_terms(q)) or q)
            order = np.argsort(-kw_scores, kind="stable")[:depth]
            keyword = [int(i) for i in order if kw_scores[i] > 0]

        if mode == "dense":
            ranked = [(i, dense_scores[i]) for i in dense]
        elif mode == "keyword":
            assert kw_scores is not None
            ranked = [(i, float(kw_scores[i])) for i in keyword]
        else:
            assert kw_scores is not None and qv is not None
            missing = [i for i in keyword if i not in dense_scores]
            if missing:  # cosine of keyword-only candidates, from the stored vectors
                vecs = self.index.vectors.reconstruct_batch(np.asarray(missing, dtype=np.int64))
                dense_scores.update(zip(missing, (vecs @ qv[0]).tolist(), strict=True))
            fused = fuse(
                dense_scores,
                {i: float(kw_scores[i]) for i in keyword},
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
