"""OpenAI-compatible chat completions (``POST /v1/chat/completions``), JSON and stream chunks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..types import AnswerStatus
from .answers import CitationOut
from .api import Scoped


class ChatMessage(BaseModel):
    model_config = ConfigDict(strict=True)
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(Scoped):
    """OpenAI's request, plus the answer API's ``doc_id`` / ``city`` / ``year`` (an OpenAI
    client sends them as extra body fields)."""

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
