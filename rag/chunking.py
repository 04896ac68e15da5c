"""Chunking: sentence-aligned windows with exact character offsets.

Chinese is split on 。！？； (and their ASCII forms), a closing quote staying with its
sentence; length is counted in characters. Windows never cross a paragraph, so every
chunk has one section path. A run of identical sentences (the report repeats one three
times) stays inside one chunk, so the same sentence never comes back as several hits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .types import Chunk, Document

CHUNKER_VERSION = 1
_SENTENCE = re.compile(r"[^。！？；!?;]*(?:[。！？；!?;]+[”’」』）)\"']*|$)")
_CLAUSE = re.compile(r"[^，,、：:]*(?:[，,、：:]+|$)")


def split_sentences(text: str, start: int = 0) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the sentences of ``text`` (offsets shifted by ``start``).

    The spans tile the text exactly: joining them gives ``text`` back.
    """
    spans = []
    for m in _SENTENCE.finditer(text):
        if m.end() > m.start():
            spans.append((start + m.start(), start + m.end()))
    return spans


# the unit a direct answer quotes: split after , ; : (not 、, which joins list items)
_ANSWER_CLAUSE = re.compile(r"[^,，;；:：]+[,，;；:：]?")


def split_clauses(text: str, start: int = 0) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the clauses of a sentence (offsets shifted by ``start``)."""
    return [(start + m.start(), start + m.end()) for m in _ANSWER_CLAUSE.finditer(text)]


def clause_text(raw: str) -> str:
    """A clause as an answer shows it: without its trailing punctuation."""
    return raw.rstrip(",，;；:：。").strip()


def _split_long(text: str, span: tuple[int, int], limit: int) -> list[tuple[int, int]]:
    """Split a sentence longer than ``limit`` at clause punctuation (，、：)."""
    s, e = span
    if e - s <= limit:
        return [span]
    pieces: list[tuple[int, int]] = []
    cur = s
    for m in _CLAUSE.finditer(text, s, e):
        if m.end() == m.start():
            continue
        if m.end() - cur > limit and m.start() > cur:
            pieces.append((cur, m.start()))
            cur = m.start()
    pieces.append((cur, e))
    return pieces


def sentence_key(text: str) -> str:
    """Normalized form used to recognise the same sentence twice."""
    return re.sub(r"\s+", "", text)


def chunk_document(doc: Document, *, size: int = 120, min_size: int = 40) -> list[Chunk]:
    """Cut every body paragraph of ``doc`` into windows of at most ~``size`` characters."""
    if size <= 0:
        raise ValueError(f"size must be > 0, got {size}")
    if not 0 <= min_size < size:
        raise ValueError(f"min_size must satisfy 0 <= min_size < size, got {min_size}")
    chunks: list[Chunk] = []
    for para in doc.paragraphs:
        if para.is_heading:
            continue
        for s, e in _windows(doc.text, para.start, para.end, size, min_size):
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}:{len(chunks):04d}",
                    doc_id=doc.doc_id,
                    section=para.section,
                    start=s,
                    end=e,
                    text=doc.text[s:e],
                )
            )
    return chunks


def _units(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Sentences of a paragraph: repeats glued into one unit, overlong ones cut at clauses."""
    runs: list[list[int]] = []  # [start, end, repeats]
    prev_key = None
    for s, e in split_sentences(text[start:end], start):
        key = sentence_key(text[s:e])
        if runs and key == prev_key:
            runs[-1][1] = e  # the same sentence again: keep it with its twin
            runs[-1][2] += 1
        else:
            runs.append([s, e, 1])
        prev_key = key
    out: list[tuple[int, int]] = []
    for s, e, repeats in runs:
        out.extend([(s, e)] if repeats > 1 else _split_long(text, (s, e), 2 * size))
    return out


def _windows(
    text: str, start: int, end: int, size: int, min_size: int
) -> Iterable[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for s, e in _units(text, start, end, size):
        if cur is None:
            cur = (s, e)
        elif e - cur[0] <= size:
            cur = (cur[0], e)
        else:
            windows.append(cur)
            cur = (s, e)
    if cur is not None:
        # a short tail joins the previous window rather than standing alone
        if windows and cur[1] - cur[0] < min_size and cur[1] - windows[-1][0] <= size + min_size:
            windows[-1] = (windows[-1][0], cur[1])
        else:
            windows.append(cur)
    return windows


def chunk_documents(
    docs: Iterable[Document], *, size: int = 120, min_size: int = 40
) -> list[Chunk]:
    out: list[Chunk] = []
    for doc in docs:
        out.extend(chunk_document(doc, size=size, min_size=min_size))
    return out
