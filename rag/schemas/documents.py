"""The indexed documents: summary, text and paragraph outline, table of contents, figures;
adding and removing documents (what ``rag add --json`` / ``rag remove --json`` print and
``POST`` / ``DELETE /api/documents`` return)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..collection import AddOutcome, AddStatus, Change, documents
from ..types import CitationKind, Document
from .record import RecordOut

if TYPE_CHECKING:
    from ..index import Index


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


class DocumentListed(DocumentSummary):
    """A row of ``GET /api/documents`` and of ``rag documents --json``: the summary and the
    collection's record of it (:class:`rag.collection.DocumentInfo`, same field names)."""

    city: str
    year: str
    kind: str
    format: str
    chunks: int
    sha256: str
    added: str
    origin: Literal["seed", "added"]

    @classmethod
    def all(cls, index: Index) -> list[DocumentListed]:
        """Every document of ``index``, in index order."""
        own = set(cls.model_fields) - set(DocumentSummary.model_fields)
        return [
            cls(
                **dict(DocumentSummary.of(index.documents[info.doc_id])),
                **{k: getattr(info, k) for k in own},
            )
            for info in documents(index)
        ]


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


class DocumentFields(BaseModel):
    """What an upload says about its document(s) (the form fields of
    ``POST /api/documents``; the ``--title/--city/--year`` flags of ``rag add``). A
    ``.meta.json`` beside a file wins over them, and they over what the text says."""

    model_config = ConfigDict(extra="forbid", strict=True)
    title: str | None = Field(None, min_length=1, max_length=200, description="one file only")
    city: str | None = Field(None, min_length=1, max_length=50)
    year: str | None = Field(None, pattern=r"^(?:19|20)\d{2}$", description="such as 2024")


class AddOutcomeOut(BaseModel):
    """What became of one file (:class:`rag.collection.AddOutcome`)."""

    file: str = Field(description="the file's name as given")
    status: AddStatus
    doc_id: str = Field(
        description="added: the new document's id; duplicate: the id of the document it "
        "duplicates; rejected: empty"
    )
    reason: str = Field(description="why it is a duplicate or was rejected; else empty")
    chars: int
    chunks: int

    @classmethod
    def of(cls, o: AddOutcome) -> AddOutcomeOut:
        return cls(
            file=o.path.name,
            status=o.status,
            doc_id=o.doc_id,
            reason=o.reason,
            chars=o.chars,
            chunks=o.chunks,
        )


class ChangeOut(BaseModel):
    """One add or remove (:class:`rag.collection.Change`)."""

    index_version: str = Field(description="the index version served from now on")
    embedded: int = Field(
        description="texts embedded by this change: chunks, sentences and clauses of the new "
        "documents only (a remove embeds nothing)"
    )
    texts: int = Field(description="texts of the whole collection in that version")
    seconds: float
    removed: list[str]
    documents: list[AddOutcomeOut]

    @classmethod
    def of(cls, c: Change) -> ChangeOut:
        return cls(
            index_version=c.index_version,
            embedded=c.embedded,
            texts=c.texts,
            seconds=round(c.seconds, 3),
            removed=list(c.removed),
            documents=[AddOutcomeOut.of(o) for o in c.outcomes],
        )
