"""POST /api/search: ranked passages without an answer."""

from __future__ import annotations

from fastapi import APIRouter

from rag.schemas import SearchOut, SearchRequest

from ..deps import ServiceDep
from .responses import BODY_ERRORS, NOT_READY

router = APIRouter(tags=["search"])


@router.post("/api/search", response_model=SearchOut, responses={**BODY_ERRORS, **NOT_READY})
def post_search(req: SearchRequest, service: ServiceDep) -> SearchOut:
    """Ranked passages (dense + keyword), without composing an answer; `doc_id`, `city`,
    `year` limit them to some documents (an unknown `doc_id` is a 422 naming the known)."""
    return SearchOut.of(service.search(req.question, top_k=req.top_k, where=req.where()))
