"""POST /api/feedback: 👍/👎 on an answer."""

from __future__ import annotations

from fastapi import APIRouter

from rag.schemas import FeedbackIn, FeedbackOut

from ..deps import ServiceDep
from .responses import BODY_ERRORS, NOT_FOUND

router = APIRouter(tags=["feedback"])


@router.post("/api/feedback", response_model=FeedbackOut, responses={**NOT_FOUND, **BODY_ERRORS})
def post_feedback(fb: FeedbackIn, service: ServiceDep) -> FeedbackOut:
    """👍/👎 on an answer (by its id, or by the question); stored durably."""
    stored = service.record_feedback(
        fb.rating, answer_id=fb.answer_id, question=fb.question, comment=fb.comment
    )
    return FeedbackOut(id=stored)
