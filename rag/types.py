"""Typed records passed between the pipeline's stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Channel = Literal["dense", "keyword", "fused"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the cleaned text, with the section path it sits under."""

    start: int
    end: int
    section: tuple[str, ...]
    is_heading: bool = False


@dataclass(frozen=True)
class Document:
    """A cleaned source document: ``text`` is what the service serves and cites."""

    doc_id: str
    title: str
    text: str
    sha256: str  # of the raw source file
    source: str  # file name inside the seeds directory
    paragraphs: tuple[Paragraph, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned window of a document: ``text == doc.text[start:end]``."""

    chunk_id: str
    doc_id: str
    section: tuple[str, ...]
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    channel: Channel


@dataclass(frozen=True)
class SearchResult:
    question: str
    hits: tuple[Hit, ...]
    latency_ms: float
    embed_ms: float = 0.0
    search_ms: float = 0.0
    # the question's embedding (None in keyword-only mode); answer composition reuses it
    query_vector: Any = field(default=None, compare=False, repr=False)


CitationKind = Literal["achievement", "target", "other"]


@dataclass(frozen=True)
class Citation:
    """A quoted source sentence: ``quote == documents[doc_id].text[start:end]``."""

    n: int
    doc_id: str
    section: tuple[str, ...]
    start: int
    end: int
    quote: str
    kind: CitationKind = "other"


@dataclass(frozen=True)
class Answer:
    """What the pipeline returns for one question (the API / eval JSON shape)."""

    question: str
    answer: str
    direct_answer: str
    refused: bool
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    engine: str
    model: str
    index_version: str
    latency_ms: float
    timings: dict[str, float] = field(default_factory=dict, hash=False, compare=False)
    notes: tuple[str, ...] = ()
