"""The indexed documents: summary, text and paragraph outline, table of contents, figures."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..types import CitationKind, Document, FigureSentence, OutlineNode


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    chars: int
    metadata: dict[str, str]

    @classmethod
    def of(cls, d: Document) -> DocumentSummary:
        return cls(**_doc_fields(d))


class OutlineItem(BaseModel):
    section: list[str]
    start: int
    end: int
    is_heading: bool


class DocumentOut(DocumentSummary):
    text: str
    outline: list[OutlineItem]

    @classmethod
    def of(cls, d: Document) -> DocumentOut:
        outline = [
            OutlineItem(section=list(p.section), start=p.start, end=p.end, is_heading=p.is_heading)
            for p in d.paragraphs
        ]
        return cls(**_doc_fields(d), text=d.text, outline=outline)


def _doc_fields(d: Document) -> dict[str, Any]:
    return {
        "doc_id": d.doc_id,
        "title": d.title,
        "source": d.source,
        "chars": len(d.text),
        "metadata": d.metadata,
    }


class OutlineNodeOut(BaseModel):
    """An entry of a report's table of contents: a heading, or a paragraph under it."""

    label: str
    section: list[str]
    start: int
    end: int
    is_heading: bool
    children: list[OutlineNodeOut] = Field(default_factory=list)

    @classmethod
    def of(cls, n: OutlineNode) -> OutlineNodeOut:
        return cls(
            label=n.label,
            section=list(n.section),
            start=n.start,
            end=n.end,
            is_heading=n.is_heading,
            children=[cls.of(c) for c in n.children],
        )


class FigureOut(BaseModel):
    """A sentence of a report that carries a figure, tagged as a target or an achievement."""

    doc_id: str
    section: list[str]
    start: int
    end: int
    sentence: str = Field(description="the exact slice text[start:end] of the cleaned document")
    figures: list[str]
    kind: CitationKind

    @classmethod
    def of(cls, f: FigureSentence) -> FigureOut:
        return cls(
            doc_id=f.doc_id,
            section=list(f.section),
            start=f.start,
            end=f.end,
            sentence=f.sentence,
            figures=list(f.figures),
            kind=f.kind,
        )
