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

# What became of a question: answered from the report; only partly (the report speaks of the
# subject but not of the detail asked: "报告提到了…，但没有给出…"); or refused (not in the report,
# or not a question about the report at all).
AnswerStatus = Literal["answered", "partial", "refused"]
# Why, as a stable code (the API's ``reason``): "evidence_found" for answered;
# "detail_missing" for partial; for refused "not_in_report", "no_passages", "instruction"
# (the question tries to change the rules or extract the system's configuration) or
# "personal_data" (contact details of a person).
REASONS = (
    "evidence_found",
    "detail_missing",
    "not_in_report",
    "no_passages",
    "instruction",
    "personal_data",
)


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
    status: AnswerStatus = "answered"
    reason: str = "evidence_found"  # one of REASONS

    def __post_init__(self) -> None:
        if self.refused != (self.status == "refused"):
            raise ValueError(f"refused={self.refused} contradicts status={self.status!r}")
        if self.reason not in REASONS:
            raise ValueError(f"unknown reason code {self.reason!r}; expected one of {REASONS}")
