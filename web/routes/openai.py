"""POST /v1/chat/completions: the answer API in OpenAI's chat-completions shape."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from sse_starlette.sse import EventSourceResponse

from rag.conversation import Turn
from rag.retrieval import InvalidQuestion
from rag.schemas import CitationOut
from rag.schemas import openai as oa

from ..deps import ServiceDep
from ..service import Served
from .responses import BODY_ERRORS, DELTA_CHARS, EVENT_STREAM, NOT_READY

router = APIRouter(tags=["openai"])


@router.post(
    "/v1/chat/completions",
    response_model=oa.ChatCompletionOut,
    # JSON, or SSE chunks with "stream": true
    responses={200: EVENT_STREAM, **BODY_ERRORS, **NOT_READY},
)
def chat_completions(req: oa.ChatRequest, service: ServiceDep) -> Any:
    """OpenAI-compatible: the cited answer as the assistant message; citations, status and
    reason in extra fields."""
    question, history = from_messages(req.messages)
    s = service.ask(question, history=history, where=req.where(), surface="openai")
    body = completion(s)
    return EventSourceResponse(_chunks(body)) if req.stream else body


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content or ""


def from_messages(messages: list[oa.ChatMessage]) -> tuple[str, list[Turn]]:
    """The last user message is the question; earlier user messages, each with the
    assistant reply after it, are the history."""
    users = [(i, _text(m.content)) for i, m in enumerate(messages) if m.role == "user"]
    if not users:
        raise InvalidQuestion("no user message / 没有用户消息")
    last_i, question = users[-1]
    history = []
    for i, q in users[:-1]:
        reply = next(
            (_text(m.content) for m in messages[i + 1 : last_i] if m.role == "assistant"), ""
        )
        history.append(Turn(q, reply))
    return question, history


def completion(s: Served) -> oa.ChatCompletionOut:
    a = s.answer
    return oa.ChatCompletionOut(
        id=f"chatcmpl-{s.id}",
        created=int(time.time()),
        model=a.model,
        citations=[CitationOut.of(c) for c in a.citations],
        choices=[oa.ChatChoice(message=oa.AssistantMessage(content=a.answer))],
        refused=a.refused,
        status=a.status,
        reason=a.reason,
        direct_answer=a.direct_answer,
    )


def _chunks(body: oa.ChatCompletionOut) -> Iterator[str]:
    head = {"id": body.id, "created": body.created, "model": body.model}
    text = body.choices[0].message.content
    pieces = [
        oa.ChunkDelta(content=text[i : i + DELTA_CHARS]) for i in range(0, len(text), DELTA_CHARS)
    ]
    for delta in pieces:
        choice = oa.ChunkChoice(delta=delta)
        yield oa.ChatCompletionChunkOut(
            **head, citations=body.citations, choices=[choice]
        ).model_dump_json()
    last = oa.ChunkChoice(delta=oa.ChunkDelta(), finish_reason="stop")
    yield oa.ChatCompletionChunkOut(
        **head, citations=body.citations, choices=[last]
    ).model_dump_json()
    yield "[DONE]"
