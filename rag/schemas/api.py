"""The HTTP API's own bodies: requests (validated strictly), feedback, health, errors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..types import DocFilter

# Request bodies are validated strictly: JSON `true` is not the integer 1, nor "5" the
# integer 5 (lax mode accepted both although the schema says integer / boolean).
STRICT = ConfigDict(extra="forbid", strict=True)


class TurnIn(BaseModel):
    model_config = STRICT
    question: str = Field(max_length=2000)
    answer: str = Field("", max_length=20_000)


_Name = Annotated[str, Field(min_length=1, max_length=200)]
_Year = Annotated[int, Field(ge=1900, le=2099)] | Annotated[str, Field(pattern=r"^(?:19|20)\d{2}$")]


class Scoped(BaseModel):
    """Which documents a question is about (each: one value or a list, any of which matches;
    the three combined with AND; none given: all documents). ``rag ask/search --doc/--city/
    --year`` take the same."""

    model_config = STRICT
    doc_id: _Name | list[_Name] | None = Field(
        None, description="only these documents (GET /api/documents lists the ids)"
    )
    city: _Name | list[_Name] | None = Field(
        None, description="only the reports of this city or county (澄川 matches 澄川市)"
    )
    year: _Year | list[_Year] | None = Field(
        None, description="only the reports of this year, such as 2024"
    )

    @model_validator(mode="after")
    def _check_scope(self) -> Scoped:
        self.where()  # a year that is not one raises here (422)
        return self

    def where(self) -> DocFilter | None:
        """The :class:`rag.types.DocFilter` of these fields (None when none is given)."""
        return DocFilter.of(doc=self.doc_id, city=self.city, year=self.year) or None


class AnswerRequest(Scoped):
    question: str = Field(description="问题 / the question (≤ RAG_MAX_QUESTION_CHARS characters)")
    history: list[TurnIn] = Field(default_factory=list, max_length=20)
    top_k: int | None = Field(None, gt=0, le=50)


class SearchRequest(Scoped):
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
