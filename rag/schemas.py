"""The JSON shapes of the product: one pydantic model per thing, the only place they are defined.

``rag ask --json``, ``rag search --json``, ``rag eval`` (``results.jsonl``) and the HTTP API all
dump these models; the API's OpenAPI document is generated from them. They live in ``rag`` (not
in ``web``) because the CLI and the eval runner are part of the library: ``web`` imports them,
``rag`` never imports ``web``.

The records of :mod:`rag.types` stay the library's internal data (frozen dataclasses passed between
stages); the ``*Out.of(record)`` constructors here turn a record into its public shape (lists for
tuples, figures rounded), so the mapping is written once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .types import (
    Answer,
    AnswerStatus,
    Chunk,
    Citation,
    CitationKind,
    Document,
    FigureSentence,
    Hit,
    OutlineNode,
    SearchResult,
)

# Request bodies are validated strictly: JSON `true` is not the integer 1, nor "5" the
# integer 5 (lax mode accepted both although the schema says integer / boolean).
STRICT = ConfigDict(extra="forbid", strict=True)

# ---------------------------------------------------------------------------------------------
# What the library answers (CLI, eval, API)


class ChunkOut(BaseModel):
    chunk_id: str
    doc_id: str
    section: list[str]
    start: int
    end: int
    text: str

    @classmethod
    def of(cls, c: Chunk) -> ChunkOut:
        return cls(
            chunk_id=c.chunk_id,
            doc_id=c.doc_id,
            section=list(c.section),
            start=c.start,
            end=c.end,
            text=c.text,
        )


class HitOut(ChunkOut):
    rank: int
    score: float

    @classmethod
    def ranked(cls, hits: tuple[Hit, ...]) -> list[HitOut]:
        return [
            cls(rank=i, score=round(h.score, 6), **ChunkOut.of(h.chunk).model_dump())
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


class CitationOut(BaseModel):
    n: int
    doc_id: str
    section: list[str]
    start: int
    end: int
    quote: str = Field(description="the exact slice text[start:end] of the cleaned document")
    kind: CitationKind = Field(description="achievement (done), target (plan) or other")

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        return cls(
            n=c.n,
            doc_id=c.doc_id,
            section=list(c.section),
            start=c.start,
            end=c.end,
            quote=c.quote,
            kind=c.kind,
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


# ---------------------------------------------------------------------------------------------
# The documents: text, outline, figures


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    chars: int
    metadata: dict[str, str]

    @classmethod
    def of(cls, d: Document) -> DocumentSummary:
        return cls(**_doc_fields(d))


class OutlineItem(BaseModel):
    section: list[str]
    start: int
    end: int
    is_heading: bool


class DocumentOut(DocumentSummary):
    text: str
    outline: list[OutlineItem]

    @classmethod
    def of(cls, d: Document) -> DocumentOut:
        outline = [
            OutlineItem(section=list(p.section), start=p.start, end=p.end, is_heading=p.is_heading)
            for p in d.paragraphs
        ]
        return cls(**_doc_fields(d), text=d.text, outline=outline)


def _doc_fields(d: Document) -> dict[str, Any]:
    return {
        "doc_id": d.doc_id,
        "title": d.title,
        "source": d.source,
        "chars": len(d.text),
        "metadata": d.metadata,
    }


class OutlineNodeOut(BaseModel):
    """An entry of a report's table of contents: a heading, or a paragraph under it."""

    label: str
    section: list[str]
    start: int
    end: int
    is_heading: bool
    children: list[OutlineNodeOut] = Field(default_factory=list)

    @classmethod
    def of(cls, n: OutlineNode) -> OutlineNodeOut:
        return cls(
            label=n.label,
            section=list(n.section),
            start=n.start,
            end=n.end,
            is_heading=n.is_heading,
            children=[cls.of(c) for c in n.children],
        )


class FigureOut(BaseModel):
    """A sentence of a report that carries a figure, tagged as a target or an achievement."""

    doc_id: str
    section: list[str]
    start: int
    end: int
    sentence: str = Field(description="the exact slice text[start:end] of the cleaned document")
    figures: list[str]
    kind: CitationKind

    @classmethod
    def of(cls, f: FigureSentence) -> FigureOut:
        return cls(
            doc_id=f.doc_id,
            section=list(f.section),
            start=f.start,
            end=f.end,
            sentence=f.sentence,
            figures=list(f.figures),
            kind=f.kind,
        )


# ---------------------------------------------------------------------------------------------
# HTTP request bodies and the service's own replies


class TurnIn(BaseModel):
    model_config = STRICT
    question: str = Field(max_length=2000)
    answer: str = Field("", max_length=20_000)


class AnswerRequest(BaseModel):
    model_config = STRICT
    question: str = Field(description="问题 / the question (≤ RAG_MAX_QUESTION_CHARS characters)")
    history: list[TurnIn] = Field(default_factory=list, max_length=20)
    top_k: int | None = Field(None, gt=0, le=50)


class SearchRequest(BaseModel):
    model_config = STRICT
    question: str
    top_k: int = Field(5, gt=0, le=50)


class FeedbackIn(BaseModel):
    model_config = STRICT
    answer_id: str | None = Field(None, max_length=64)
    question: str | None = Field(None, max_length=2000)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


class FeedbackOut(BaseModel):
    id: int
    stored: bool = True


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    ready: bool
    model: str
    engine: str
    index_version: str
    documents: int
    chunks: int
    # query forward passes so far (rag/batching.py): passes, embedded, max_batch, cache_hits;
    # null when query batching is off
    query_embedding: dict[str, int] | None = None


class ErrorOut(BaseModel):
    detail: str | list[dict[str, Any]]


# ---------------------------------------------------------------------------------------------
# OpenAI-compatible chat completions (``POST /v1/chat/completions``)


class ChatMessage(BaseModel):
    model_config = ConfigDict(strict=True)
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=50)
    stream: bool = False
    # other OpenAI fields (temperature, …) are accepted and ignored
    model_config = ConfigDict(extra="allow", strict=True)


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    finish_reason: Literal["stop"] = "stop"
    message: AssistantMessage


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class _CompletionBase(BaseModel):
    id: str
    created: int
    model: str
    citations: list[CitationOut]


class ChatCompletionOut(_CompletionBase):
    """The cited answer as the assistant message; status, reason, direct answer and
    citations as extra fields."""

    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]
    usage: Usage = Field(default_factory=Usage)
    refused: bool
    status: AnswerStatus
    reason: str
    direct_answer: str


class ChunkDelta(BaseModel):
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunkOut(_CompletionBase):
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice]
