"""Request and response models of the HTTP API (separate from the library's records)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Request bodies are validated strictly: JSON `true` is not the integer 1, nor "5" the
# integer 5 (lax mode accepted both although the schema says integer / boolean).
STRICT = ConfigDict(extra="forbid", strict=True)


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


class HitOut(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    section: list[str]
    start: int
    end: int
    text: str
    score: float


class CitationOut(BaseModel):
    n: int
    doc_id: str
    section: list[str]
    start: int
    end: int
    quote: str
    kind: Literal["achievement", "target", "other"]


class AnswerOut(BaseModel):
    id: str = Field(description="answer id, for POST /api/feedback")
    question: str
    answer: str
    direct_answer: str
    refused: bool = Field(description="true only when status is 'refused'")
    status: Literal["answered", "partial", "refused"] = Field(
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


class SearchOut(BaseModel):
    question: str
    hits: list[HitOut]
    latency_ms: float


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    chars: int
    metadata: dict[str, str]


class OutlineItem(BaseModel):
    section: list[str]
    start: int
    end: int
    is_heading: bool


class DocumentOut(DocumentSummary):
    text: str
    outline: list[OutlineItem]


class ChunkOut(BaseModel):
    chunk_id: str
    doc_id: str
    section: list[str]
    start: int
    end: int
    text: str


class FeedbackIn(BaseModel):
    model_config = STRICT
    answer_id: str | None = Field(None, max_length=64)
    question: str | None = Field(None, max_length=2000)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


class FeedbackOut(BaseModel):
    id: int
    stored: bool = True


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


class ErrorOut(BaseModel):
    detail: str | list[dict[str, Any]]
