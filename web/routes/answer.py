"""POST /api/answer and its Server-Sent Events twin."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from rag.conversation import Turn
from rag.schemas import AnswerRequest, CitationOut, DeltaOut, ServedAnswerOut

from ..deps import ServiceDep
from ..service import Served
from .responses import BODY_ERRORS, DELTA_CHARS, EVENT_STREAM, NOT_READY

router = APIRouter(tags=["answer"])


def _history(req: AnswerRequest) -> list[Turn]:
    return [Turn(t.question, t.answer) for t in req.history]


@router.post("/api/answer", response_model=ServedAnswerOut, responses={**BODY_ERRORS, **NOT_READY})
def post_answer(req: AnswerRequest, service: ServiceDep) -> ServedAnswerOut:
    """A cited answer: direct answer, verbatim quotes with [n] markers, citations (each
    naming its document when several are indexed); `doc_id`, `city`, `year` limit the
    documents it is answered from."""
    s = service.ask(
        req.question, history=_history(req), top_k=req.top_k, where=req.where(), surface="api"
    )
    return ServedAnswerOut.served(s.id, s.answer)


@router.post("/api/answer/stream", responses={200: EVENT_STREAM, **BODY_ERRORS, **NOT_READY})
async def post_answer_stream(req: AnswerRequest, service: ServiceDep) -> EventSourceResponse:
    """Server-Sent Events: every `citation` first, then `delta` pieces of the answer
    text, then `done` with the full answer JSON (citations included)."""
    s = await run_in_threadpool(
        lambda: service.ask(
            req.question,
            history=_history(req),
            top_k=req.top_k,
            where=req.where(),
            surface="stream",
        )
    )
    return EventSourceResponse(_events(s))


def _events(s: Served) -> Iterator[dict[str, str]]:
    for c in s.answer.citations:
        yield {"event": "citation", "data": CitationOut.of(c).model_dump_json()}
    text = s.answer.answer
    for i in range(0, len(text), DELTA_CHARS):
        yield {"event": "delta", "data": DeltaOut(text=text[i : i + DELTA_CHARS]).model_dump_json()}
    yield {"event": "done", "data": ServedAnswerOut.served(s.id, s.answer).model_dump_json()}
