"""The indexed documents: summary, text and paragraph outline, table of contents, figures."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..types import CitationKind, Document
from .record import RecordOut


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    chars: int
    metadata: dict[str, str]

    @classmethod
    def of(cls, d: Document) -> DocumentSummary:
        return DocumentSummary(
            doc_id=d.doc_id, title=d.title, source=d.source, chars=len(d.text), metadata=d.metadata
        )


class OutlineItem(RecordOut):
    """A paragraph (:class:`rag.types.Paragraph`) and the section path it sits under."""

    section: list[str]
    start: int
    end: int
    is_heading: bool


class DocumentOut(DocumentSummary):
    text: str
    outline: list[OutlineItem]

    @classmethod
    def of(cls, d: Document) -> DocumentOut:
        outline = [OutlineItem.of(p) for p in d.paragraphs]
        return cls(**dict(DocumentSummary.of(d)), text=d.text, outline=outline)


class OutlineNodeOut(RecordOut):
    """An entry of a report's table of contents (:class:`rag.types.OutlineNode`): a heading,
    or a paragraph under it."""

    label: str
    section: list[str]
    start: int
    end: int
    is_heading: bool
    children: list[OutlineNodeOut] = Field(default_factory=list)


class FigureOut(RecordOut):
    """A sentence of a report that states a figure (:class:`rag.types.FigureSentence`),
    tagged as a target or an achievement."""

    doc_id: str
    section: list[str]
    start: int
    end: int
    sentence: str = Field(description="the exact slice text[start:end] of the cleaned document")
    figures: list[str]
    kind: CitationKind
