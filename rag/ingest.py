"""Ingest: read a report in any format into a cleaned, structured :class:`Document`.

The stages, one module each: a reader per format (:mod:`rag.readers`: .txt, .md, .docx,
.pdf with a text layer) → the layout (:mod:`rag.layout`: page numbers, running headers and
the byline set apart, paragraphs rebuilt) → the structure (:mod:`rag.structure`: section
paths). Cleaning keeps the text verbatim except for what printing adds: ``**`` emphasis and
page-jump notes ("(紧接第1版)"), page furniture, hard line breaks, indents, and the
whitespace tidied inside a line.

Metadata, first found wins: ``<name>.meta.json`` beside the file, then what the caller
passes (the ``--title/--city/--year`` flags), then what the text says (the title line's year
and city, the byline's date and congress, a running header's city).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .layout import analyse_blocks, analyse_lines
from .readers import (
    SUFFIXES,
    DocumentTooLarge,
    IngestError,
    Source,
    UnreadableDocument,
    UnsupportedFormat,
    read_source,
)
from .readers.text import text_lines
from .structure import (
    DEFAULT_OPENING_LABEL,
    build_document,
    ends_sentence,
    heading_level,
    sha256_text,
    strip_markup,
    topic_of,
)
from .types import Block, Document, Layout, Line

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger(__name__)

SOURCE_SUFFIXES = SUFFIXES
META_SUFFIX = ".meta.json"

__all__ = [
    "DEFAULT_OPENING_LABEL",
    "DocumentTooLarge",
    "IngestError",
    "UnreadableDocument",
    "UnsupportedFormat",
    "detect_metadata",
    "ends_sentence",
    "heading_level",
    "load_document",
    "load_documents",
    "parse_document",
    "read_metadata",
    "slugify",
    "strip_markup",
    "topic_of",
]

_ADMIN = r"(?:特别行政区|自治区|自治州|自治县|地区|省|市|州|盟|县|区|旗)"
_PLACE = rf"[\u4e00-\u9fff]{{1,12}}?{_ADMIN}"
_CITY_IN_TITLE = re.compile(rf"({_PLACE})(?:人民)?政府")
_CITY_IN_BYLINE = re.compile(rf"在({_PLACE})第[\u4e00-\u9fff0-9]{{1,4}}届人民代表大会")
_CITY_IN_HEADER = re.compile(rf"^({_PLACE})(?:人民)?(?:政府|人大|委员会)")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_CN_YEAR = re.compile(r"([〇零一二三四五六七八九]{4})年")
_FULL_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_KIND = re.compile(r"(政府工作报告|工作报告|报告|规划纲要|规划|纲要|公报)$")


def slugify(name: str) -> str:
    """A stable, URL-safe document id derived from a file name."""
    slug = re.sub(r"[^0-9A-Za-z]+", "-", name).strip("-").lower()
    if not slug:  # e.g. a purely Chinese file name
        slug = "doc-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    return slug


def _year_of(text: str) -> str:
    m = _YEAR.search(text)
    if m:
        return m.group(1)
    m = _CN_YEAR.search(text)
    if m:
        return "".join(str("〇一二三四五六七八九".index(c.replace("零", "〇"))) for c in m.group(1))
    return ""


def detect_metadata(layout: Layout, running: tuple[str, ...] = ()) -> dict[str, str]:
    """Title, year, city, kind, date and byline as the text gives them (empty ones left out)."""
    title = layout.title
    front = " ".join(layout.front)
    headers = [t for t in (*running, *layout.furniture) if not re.search(r"\d", t)]
    meta = {"title": title, "byline": "\n".join(layout.front)}
    meta["year"] = _year_of(title) or _year_of(front)
    m = _CITY_IN_TITLE.search(_YEAR.sub("", title)) or _CITY_IN_BYLINE.search(front)
    if m is None:
        m = next((h for h in map(_CITY_IN_HEADER.search, headers) if h), None)
    meta["city"] = m.group(1) if m else ""
    kind = _KIND.search(title)
    meta["kind"] = kind.group(1) if kind else ""
    date = _FULL_DATE.search(front)
    meta["date"] = (
        f"{date.group(1)}-{int(date.group(2)):02d}-{int(date.group(3)):02d}" if date else ""
    )
    meta["running_header"] = "；".join(dict.fromkeys(headers))
    return {k: v for k, v in meta.items() if v}


def parse_document(
    raw: str,
    *,
    doc_id: str,
    source: str,
    metadata: dict[str, str] | None = None,
) -> Document:
    """Clean the text of a text file and attach the section path to every paragraph."""
    layout = analyse_lines(text_lines(strip_markup(raw)))
    return build_document(
        layout,
        doc_id=doc_id,
        source=source,
        sha256=sha256_text(raw),
        metadata={**detect_metadata(layout), "format": "txt", **(metadata or {})},
    )


def layout_of(src: Source) -> Layout:
    """The layout of what a reader made of a file."""
    if src.format == "txt":
        return analyse_lines(text_lines(strip_markup(src.text)))
    if src.lines:
        return analyse_lines(
            [Line(strip_markup(ln.text), ln.page, ln.indent, ln.full) for ln in src.lines]
        )
    return analyse_blocks(
        [Block(strip_markup(b.text), b.kind, b.depth, b.final) for b in src.blocks]
    )


def load_document(
    path: Path,
    *,
    doc_id: str | None = None,
    metadata: dict[str, str] | None = None,
    max_bytes: int | None = None,
) -> Document:
    """Read, clean and structure one file; raises :class:`IngestError` saying why not.

    ``metadata`` is what the caller says (flags); a ``<name>.meta.json`` beside the file
    wins over it, and both over what is detected in the text.
    """
    src = read_source(path, max_bytes=max_bytes)
    layout = layout_of(src)
    given = {k: str(v) for k, v in (metadata or {}).items() if v not in (None, "")}
    meta = {**detect_metadata(layout, src.running), "format": src.format, **given}
    meta.update(read_metadata(path))
    doc = build_document(
        layout,
        doc_id=doc_id or slugify(path.stem),
        source=path.name,
        sha256=src.sha256,
        metadata=meta,
    )
    if all(p.is_heading for p in doc.paragraphs):
        raise UnreadableDocument(path, "no body text: only headings, or nothing, was found")
    log.debug("loaded %s: %d chars, %d paragraphs", path.name, len(doc.text), len(doc.paragraphs))
    return doc


def source_files(seeds_dir: Path) -> list[Path]:
    """The documents in ``seeds_dir`` (any supported type), in a stable order."""
    if not seeds_dir.is_dir():
        raise FileNotFoundError(f"seeds directory not found: {seeds_dir} (set RAG_SEEDS_DIR)")
    files = sorted(
        p for p in seeds_dir.iterdir() if p.suffix.lower() in SOURCE_SUFFIXES and p.is_file()
    )
    if not files:
        raise FileNotFoundError(
            f"no {', '.join(SOURCE_SUFFIXES)} documents in {seeds_dir} "
            "(set RAG_SEEDS_DIR or add a document)"
        )
    return files


def source_paths(settings: Settings) -> dict[str, Path]:
    """Every file of the collection by its key: the seeds by name, the documents added with
    ``rag add`` (copied into ``RAG_DATA_DIR/documents``) as ``documents/<name>``."""
    paths = {p.name: p for p in source_files(settings.seeds_dir)}
    added = settings.documents_dir
    if added.is_dir():
        for p in sorted(added.iterdir()):
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUFFIXES:
                paths[f"documents/{p.name}"] = p
    return paths


def read_metadata(path: Path) -> dict[str, str]:
    meta_path = path.with_name(path.stem + META_SUFFIX)
    if not meta_path.exists():
        return {}
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{meta_path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{meta_path}: expected a JSON object of metadata")
    return {str(k): str(v) for k, v in data.items()}


def load_documents(seeds_dir: Path) -> list[Document]:
    """Read, clean and structure every document in ``seeds_dir``."""
    docs = [load_document(path) for path in source_files(seeds_dir)]
    ids = [d.doc_id for d in docs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two seed files map to the same document id: {ids}")
    return docs


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
