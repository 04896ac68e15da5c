"""Readers: one per source format, each turning a file into lines or blocks.

Text files and PDF text layers come out as :class:`~rag.types.Line` s (a PDF's with the page
and the indent / right-margin facts its glyph positions give); Markdown and Word come out as
:class:`~rag.types.Block` s, since the format itself says where a paragraph, a heading, a list
item or a table row is. :mod:`rag.layout` takes it from there, the same way for every format.

A file that cannot become a document raises an :class:`IngestError` naming the file and why:
:class:`UnsupportedFormat` (not one of :data:`SUFFIXES`), :class:`DocumentTooLarge`, or
:class:`UnreadableDocument` (empty, undecodable, broken, a PDF without a text layer).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..types import Block, Line

SUFFIXES = (".txt", ".md", ".docx", ".pdf")


class IngestError(ValueError):
    """A file cannot become a document; ``path`` names it and ``reason`` says why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class UnsupportedFormat(IngestError):
    """The file's type is not one the readers take (``accepted`` lists those)."""

    accepted = SUFFIXES

    def __init__(self, path: Path | str) -> None:
        suffix = Path(path).suffix or "(no suffix)"
        super().__init__(path, f"unsupported file type {suffix}; accepted: {', '.join(SUFFIXES)}")


class UnreadableDocument(IngestError):
    """The file has the right type but no usable text (empty, undecodable, broken, scanned)."""


class DocumentTooLarge(IngestError):
    """The file is over the size limit (``RAG_MAX_UPLOAD_BYTES``)."""


@dataclass(frozen=True)
class Source:
    """What a reader made of one file: ``lines`` (txt, pdf) or ``blocks`` (md, docx)."""

    path: Path
    format: str
    sha256: str  # of the file's bytes
    lines: tuple[Line, ...] = ()
    blocks: tuple[Block, ...] = ()
    # running headers the format keeps apart from the body (Word's header parts)
    running: tuple[str, ...] = field(default=())
    text: str = ""  # the decoded text of a text file (ingest strips its markup as a whole)


def read_source(path: Path, *, max_bytes: int | None = None) -> Source:
    """Read ``path`` with the reader for its suffix; raises :class:`IngestError`."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFormat(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableDocument(path, f"cannot read the file ({exc.strerror or exc})") from exc
    if max_bytes is not None and size > max_bytes:
        raise DocumentTooLarge(
            path, f"{size:,} bytes is over the limit of {max_bytes:,} (RAG_MAX_UPLOAD_BYTES)"
        )
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableDocument(path, "the file is empty")
    digest = hashlib.sha256(data).hexdigest()
    fmt = suffix[1:]
    if fmt in ("txt", "md"):
        from .text import decode, markdown_blocks, text_lines

        text = decode(data, path)
        if fmt == "md":
            return Source(path, fmt, digest, blocks=markdown_blocks(text), text=text)
        return Source(path, fmt, digest, lines=text_lines(text), text=text)
    if fmt == "docx":
        from .docx import docx_blocks

        blocks, running = docx_blocks(path)
        return Source(path, fmt, digest, blocks=blocks, running=running)
    from .pdf import pdf_lines

    return Source(path, fmt, digest, lines=pdf_lines(path))
