"""The HTTP API's own bodies: requests (validated strictly), feedback, health, errors."""

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
