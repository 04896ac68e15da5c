"""Answers and passages: what ``rag ask``, ``rag search``, ``rag eval`` and the API return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..types import Answer, AnswerStatus, CitationKind, Hit, SearchResult
from .record import RecordOut


class ChunkOut(RecordOut):
    """A passage (:class:`rag.types.Chunk`): ``text`` is the slice text[start:end]."""

    chunk_id: str
    doc_id: str
    section: list[str]
    start: int
    end: int
    text: str


class HitOut(ChunkOut):
    rank: int
    score: float

    @classmethod
    def ranked(cls, hits: tuple[Hit, ...]) -> list[HitOut]:
        return [
            cls(rank=i, score=round(h.score, 6), **dict(ChunkOut.of(h.chunk)))
            for i, h in enumerate(hits, start=1)
        ]


class SearchOut(BaseModel):
    question: str
    hits: list[HitOut]
    latency_ms: float

    @classmethod
    def of(cls, r: SearchResult) -> SearchOut:
        return cls(
            question=r.question, hits=HitOut.ranked(r.hits), latency_ms=round(r.latency_ms, 2)
        )


class CitationOut(RecordOut):
    """A quoted sentence (:class:`rag.types.Citation`), marked [n] in the answer."""

    n: int
    doc_id: str
    section: list[str]
    start: int
    end: int
    quote: str = Field(description="the exact slice text[start:end] of the cleaned document")
    kind: CitationKind = Field(description="achievement (done), target (plan) or other")
    document: str = Field(
        description="the document's title (with its year), when several documents are "
        "indexed; else empty"
    )


class AnswerOut(BaseModel):
    """A cited answer, as ``rag ask --json`` prints it and ``rag eval`` stores it."""

    question: str
    answer: str
    direct_answer: str
    refused: bool = Field(description="true only when status is 'refused'")
    status: AnswerStatus = Field(
        description="answered: the report answers it; partial: the report speaks of the "
        "subject but does not give the detail asked (the answer says what it gives and what "
        "it does not); refused: not in the report, or not a question about it"
    )
    reason: str = Field(
        description="why, as a code: evidence_found | detail_missing | not_in_report | "
        "no_passages | instruction | personal_data"
    )
    citations: list[CitationOut]
    hits: list[HitOut]
    engine: str
    model: str
    index_version: str
    latency_ms: float
    timings: dict[str, float]
    notes: list[str]

    @classmethod
    def of(cls, a: Answer) -> AnswerOut:
        return cls(**_answer_fields(a))


class ServedAnswerOut(AnswerOut):
    """An answer the server keeps for a while under an id (for ``POST /api/feedback``)."""

    id: str = Field(description="answer id, for POST /api/feedback")

    @classmethod
    def served(cls, answer_id: str, a: Answer) -> ServedAnswerOut:
        return cls(id=answer_id, **_answer_fields(a))


def _answer_fields(a: Answer) -> dict[str, Any]:
    return {
        "question": a.question,
        "answer": a.answer,
        "direct_answer": a.direct_answer,
        "refused": a.refused,
        "status": a.status,
        "reason": a.reason,
        "citations": [CitationOut.of(c) for c in a.citations],
        "hits": HitOut.ranked(a.hits),
        "engine": a.engine,
        "model": a.model,
        "index_version": a.index_version,
        "latency_ms": round(a.latency_ms, 2),
        "timings": {k: round(v, 2) for k, v in a.timings.items()},
        "notes": list(a.notes),
    }


class DeltaOut(BaseModel):
    """A piece of the answer text (the ``delta`` event of ``POST /api/answer/stream``)."""

    text: str
