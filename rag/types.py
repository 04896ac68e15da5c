"""Typed records passed between the pipeline's stages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Channel = Literal["dense", "keyword", "fused"]


BlockKind = Literal["text", "title", "heading", "item", "row"]


@dataclass(frozen=True)
class Line:
    """One line of a source as its reader sees it (a text file's line, a PDF text line).

    ``indent`` and ``full`` are known for PDFs from the glyph positions (first line of a
    paragraph / the line runs to the right margin, so the paragraph goes on); for text files
    they are ``None`` and :mod:`rag.layout` reads the indent from the leading whitespace.
    """

    text: str
    page: int = 0
    indent: bool | None = None
    full: bool | None = None


@dataclass(frozen=True)
class Block:
    """A paragraph-sized piece of a source, before its structure is recovered.

    ``kind`` says what the format itself marks: a title or heading style (Word, Markdown:
    ``depth`` 1 is the top level), a list item or a table row (always body text); ``text``
    means the shape decides (:func:`rag.ingest.heading_level`). ``final`` blocks are whole
    paragraphs by the format's own word (Word, Markdown): no page-break join.
    """

    text: str
    kind: BlockKind = "text"
    depth: int = 0
    final: bool = False


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

    # what a UI names a document by (metadata from <name>.meta.json, flags, or the text)
    @property
    def city(self) -> str:
        return self.metadata.get("city", "")

    @property
    def year(self) -> str:
        return self.metadata.get("year", "")

    @property
    def kind(self) -> str:
        return self.metadata.get("kind", "")

    @property
    def format(self) -> str:
        """The source format: txt, md, docx or pdf."""
        return self.metadata.get("format", self.source.rsplit(".", 1)[-1].lower())


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
    # the document's title (and year), when several documents are indexed; else ""
    document: str = ""


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


# administrative suffixes a place name may be written with or without (澄川 = 澄川市)
_PLACE_SUFFIX = re.compile(r"(?:特别行政区|自治区|自治州|自治县|地区|省|市|州|盟|县|区|旗)$")


def place_key(name: str) -> str:
    """A place name for comparison: whitespace and one trailing 市/县/区/省… removed."""
    name = re.sub(r"\s+", "", name)
    short = _PLACE_SUFFIX.sub("", name)
    return short if len(short) >= 2 else name


def _values(value: str | int | Iterable[str | int] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int):
        value = [value]
    return tuple(sorted({str(v).strip() for v in value if str(v).strip()}))


@dataclass(frozen=True)
class DocFilter:
    """Which documents a search may return: any of ``doc_ids``, any of ``cities``, any of
    ``years`` (each empty tuple: no limit; the three are combined with AND). Cities compare
    without their 市/县/区 suffix (``澄川`` matches ``澄川市``)."""

    doc_ids: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    years: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for year in self.years:
            if not re.fullmatch(r"(?:19|20)\d{2}", year):
                raise ValueError(f"year must be a four-digit year such as 2024, got {year!r}")

    @classmethod
    def of(
        cls,
        *,
        doc: str | Iterable[str] | None = None,
        city: str | Iterable[str] | None = None,
        year: str | int | Iterable[str | int] | None = None,
    ) -> DocFilter:
        return cls(doc_ids=_values(doc), cities=_values(city), years=_values(year))

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.cities or self.years)

    def matches(self, doc: Document) -> bool:
        if self.doc_ids and doc.doc_id not in self.doc_ids:
            return False
        if self.cities and place_key(doc.city) not in {place_key(c) for c in self.cities}:
            return False
        return not self.years or doc.year in self.years


@dataclass(frozen=True)
class Layout:
    """A source's body as paragraph-sized blocks, with what the layout set apart.

    ``blocks`` starts with the title block when there is one (it stays in the text, as a
    heading); ``front`` holds the byline and date lines under the title and ``furniture``
    every running header / footer and page-number line removed, in source order: neither is
    in the text, so neither can become a section or a quote; their facts become metadata.
    """

    blocks: tuple[Block, ...]
    title: str = ""
    front: tuple[str, ...] = ()
    furniture: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutlineNode:
    """An entry of a document's table of contents (rag.overview.outline): a heading with the
    entries under it, or a body paragraph (``label`` is its topic sentence or its opening)."""

    label: str
    section: tuple[str, ...]
    start: int
    end: int
    is_heading: bool
    children: tuple[OutlineNode, ...] = ()


@dataclass(frozen=True)
class FigureSentence:
    """A sentence with a figure (rag.overview.figure_sentences):
    ``sentence == documents[doc_id].text[start:end]``, tagged like a citation."""

    doc_id: str
    section: tuple[str, ...]
    start: int
    end: int
    sentence: str
    figures: tuple[str, ...]
    kind: CitationKind
