"""One server: the JSON answer API for staff and the Gradio chat for citizens.

Thin by design: every route calls the same :class:`rag.pipeline.Pipeline`; the model and
the index are loaded (or built) once in the lifespan and kept on ``app.state``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse

from rag.config import Settings, get_settings
from rag.conversation import Turn
from rag.feedback import FeedbackStore
from rag.pipeline import Pipeline
from rag.retrieval import InvalidQuestion
from rag.serialize import answer_json, chunk_json, citation_json, search_json
from rag.types import Answer

from . import schemas
from .guards import BodySizeLimit, RateLimit, require_api_key
from .metrics import Metrics

log = logging.getLogger("rag.web")


class AnswerCache:
    """Recent answers by id, so feedback can name an answer instead of repeating it."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._items: OrderedDict[str, Answer] = OrderedDict()

    def put(self, answer: Answer) -> str:
        answer_id = uuid.uuid4().hex
        self._items[answer_id] = answer
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return answer_id

    def get(self, answer_id: str) -> Answer | None:
        return self._items.get(answer_id)


def get_pipeline(request: Request) -> Pipeline:
    pipe = getattr(request.app.state, "pipeline", None)
    if pipe is None:
        raise HTTPException(503, "index not loaded yet / 索引尚未加载")
    return pipe


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]

_ERROR: dict[str, Any] = {"model": schemas.ErrorOut}
# what every route with a JSON body can answer besides 200: an undecodable body (400, from
# FastAPI), a body over RAG_MAX_BODY_BYTES (413, BodySizeLimit) and an invalid request
# (422: FastAPI's validation list or InvalidQuestion's message, both fit ErrorOut)
BODY_ERRORS: dict[int | str, dict[str, Any]] = {400: _ERROR, 413: _ERROR, 422: _ERROR}
_EVENT_STREAM: dict[str, Any] = {"content": {"text/event-stream": {}}}


def _history(turns: list[schemas.TurnIn]) -> list[Turn]:
    return [Turn(t.question, t.answer) for t in turns]


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.pipeline is None:
            t0 = time.perf_counter()
            app.state.pipeline = await run_in_threadpool(Pipeline(settings).load)
            log.info("ready in %.1fs", time.perf_counter() - t0)
        yield

    app = FastAPI(
        title="报告问答 API",
        description="Cited answers from the 乐山 government work report. Every quote is a "
        "verbatim slice of the cleaned report at the given offsets.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.answers = AnswerCache()
    app.state.feedback = FeedbackStore(settings.feedback_db)
    metrics = Metrics(app)
    app.add_middleware(RateLimit, per_minute=settings.chat_rate_limit, prefix="/gradio_api/")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    @app.exception_handler(InvalidQuestion)
    async def invalid_question(request: Request, exc: InvalidQuestion) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    api_key = Depends(require_api_key)

    def answer(pipe: Pipeline, req: schemas.AnswerRequest) -> tuple[str, Answer]:
        a = pipe.answer(req.question, history=_history(req.history), top_k=req.top_k)
        metrics.observe(a)
        return app.state.answers.put(a), a

    @app.post(
        "/api/answer",
        response_model=schemas.AnswerOut,
        dependencies=[api_key],
        responses=BODY_ERRORS,
    )
    def post_answer(req: schemas.AnswerRequest, pipe: PipelineDep) -> dict[str, Any]:
        """A cited answer: direct answer, verbatim quotes with [n] markers, citations."""
        answer_id, a = answer(pipe, req)
        return {"id": answer_id, **answer_json(a)}

    @app.post(
        "/api/answer/stream",
        dependencies=[api_key],
        responses={200: _EVENT_STREAM, **BODY_ERRORS},
    )
    async def post_answer_stream(
        req: schemas.AnswerRequest, pipe: PipelineDep
    ) -> EventSourceResponse:
        """Server-Sent Events: every `citation` first, then `delta` pieces of the answer
        text, then `done` with the full answer JSON (citations included)."""
        answer_id, a = await run_in_threadpool(answer, pipe, req)
        return EventSourceResponse(_answer_events(answer_id, a))

    @app.post(
        "/api/search",
        response_model=schemas.SearchOut,
        dependencies=[api_key],
        responses=BODY_ERRORS,
    )
    def post_search(req: schemas.SearchRequest, pipe: PipelineDep) -> dict[str, Any]:
        """Ranked passages (dense + keyword), without composing an answer."""
        return search_json(pipe.search(req.question, top_k=req.top_k))

    @app.get("/api/documents", response_model=list[schemas.DocumentSummary], dependencies=[api_key])
    def list_documents(pipe: PipelineDep) -> list[dict[str, Any]]:
        assert pipe.index is not None
        return [_doc_summary(d) for d in pipe.index.documents.values()]

    @app.get(
        "/api/documents/{doc_id}",
        response_model=schemas.DocumentOut,
        dependencies=[api_key],
        responses={404: {"model": schemas.ErrorOut}},
    )
    def get_document(doc_id: str, pipe: PipelineDep) -> dict[str, Any]:
        """The cleaned text (what offsets point into) and its section outline."""
        assert pipe.index is not None
        doc = pipe.index.documents.get(doc_id)
        if doc is None:
            raise HTTPException(404, f"no document {doc_id!r}")
        outline = [
            {"section": list(p.section), "start": p.start, "end": p.end, "is_heading": p.is_heading}
            for p in doc.paragraphs
        ]
        return {**_doc_summary(doc), "text": doc.text, "outline": outline}

    @app.get(
        "/api/chunks/{chunk_id}",
        response_model=schemas.ChunkOut,
        dependencies=[api_key],
        responses={404: {"model": schemas.ErrorOut}},
    )
    def get_chunk(chunk_id: str, pipe: PipelineDep) -> dict[str, Any]:
        assert pipe.index is not None
        c = pipe.index.chunk(chunk_id)
        if c is None:
            raise HTTPException(404, f"no chunk {chunk_id!r}")
        return chunk_json(c)

    @app.post(
        "/api/feedback",
        response_model=schemas.FeedbackOut,
        dependencies=[api_key],
        responses={404: _ERROR, **BODY_ERRORS},
    )
    def post_feedback(fb: schemas.FeedbackIn) -> dict[str, Any]:
        """👍/👎 on an answer (by its id, or by the question); stored durably."""
        return {
            "id": record_feedback(
                app, fb.rating, answer_id=fb.answer_id, question=fb.question, comment=fb.comment
            )
        }

    @app.post(
        "/v1/chat/completions",
        dependencies=[api_key],
        responses={200: _EVENT_STREAM, **BODY_ERRORS},  # JSON, or SSE with "stream": true
    )
    def chat_completions(req: schemas.ChatRequest, pipe: PipelineDep) -> Any:
        """OpenAI-compatible: the cited answer as the assistant message; citations in an
        extra `citations` field."""
        question, history = _from_messages(req.messages)
        a = pipe.answer(question, history=history)
        metrics.observe(a)
        body = _completion(a, app.state.answers.put(a))
        if req.stream:
            return EventSourceResponse(_completion_chunks(body))
        return body

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz", response_model=schemas.ReadyOut, responses={503: {"model": schemas.ErrorOut}}
    )
    def readyz(pipe: PipelineDep) -> dict[str, Any]:
        assert pipe.index is not None and pipe.embedder is not None
        return {
            "ready": True,
            "model": pipe.embedder.model_id,
            "engine": pipe.embedder.engine,
            "index_version": pipe.index.version,
            "documents": len(pipe.index.documents),
            "chunks": len(pipe.index.chunks),
            "query_embedding": getattr(pipe.embedder, "stats", None),
        }

    metrics.expose()

    from .chat import build_chat, mount_chat

    mount_chat(app, build_chat(app))
    return app


def record_feedback(
    app: FastAPI,
    rating: str,
    *,
    answer_id: str | None = None,
    question: str | None = None,
    comment: str | None = None,
) -> int:
    """Store feedback; an answer id brings the question, answer and citations along."""
    a = app.state.answers.get(answer_id) if answer_id else None
    if answer_id and a is None and not question:
        raise HTTPException(404, f"unknown answer id {answer_id!r}; send the question instead")
    if a is None and not (question and question.strip()):
        raise HTTPException(422, "send answer_id or question")
    return app.state.feedback.add(
        question=a.question if a else str(question),
        rating=rating,  # type: ignore[arg-type]
        comment=comment,
        answer_id=answer_id,
        answer=a.answer if a else None,
        citations=[citation_json(c) for c in a.citations] if a else [],
    )


def _doc_summary(doc: Any) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source": doc.source,
        "chars": len(doc.text),
        "metadata": doc.metadata,
    }


def _answer_events(answer_id: str, a: Answer) -> Iterator[dict[str, str]]:
    for c in a.citations:
        yield {"event": "citation", "data": json.dumps(citation_json(c), ensure_ascii=False)}
    text = a.answer
    for i in range(0, len(text), 24):
        yield {"event": "delta", "data": json.dumps({"text": text[i : i + 24]}, ensure_ascii=False)}
    yield {
        "event": "done",
        "data": json.dumps({"id": answer_id, **answer_json(a)}, ensure_ascii=False),
    }


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content or ""


def _from_messages(messages: list[schemas.ChatMessage]) -> tuple[str, list[Turn]]:
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


def _completion(a: Answer, answer_id: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{answer_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": a.model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": a.answer},
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": [citation_json(c) for c in a.citations],
        "refused": a.refused,
        "status": a.status,
        "reason": a.reason,
        "direct_answer": a.direct_answer,
    }


def _completion_chunks(body: dict[str, Any]) -> Iterator[str]:
    chunk = {k: body[k] for k in ("id", "created", "model", "citations")}
    text = body["choices"][0]["message"]["content"]
    for i in range(0, len(text), 24):
        yield json.dumps(
            {
                **chunk,
                "object": "chat.completion.chunk",
                "choices": [
                    {"index": 0, "delta": {"content": text[i : i + 24]}, "finish_reason": None}
                ],
            },
            ensure_ascii=False,
        )
    yield json.dumps(
        {
            **chunk,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    yield "[DONE]"
