"""Ingest: read seed documents, clean them, and recover their structure.

Cleaning keeps the text verbatim except for three things a newspaper printing adds:
``**`` emphasis markers, page-jump notes such as "(紧接第1版)" / "(下转第3版)", and
paragraphs split by a page break (a body paragraph that ends without sentence-final
punctuation continues in the next one). The structure (parts, numbered sections, named
lead-in subsections, topic sentences) is detected from the report's own conventions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from .types import Document, Paragraph

log = logging.getLogger(__name__)

SOURCE_SUFFIXES = (".txt", ".md")
META_SUFFIX = ".meta.json"
DEFAULT_OPENING_LABEL = "开篇部分（原文无标题）"

_EMPHASIS = re.compile(r"\*\*")
# "(紧接第1版)", "（下转第3版）", "(上接第二版)" ...
_PRINT_ARTIFACT = re.compile(
    r"[(（]\s*(?:紧接|下转|上接|接|转)第\s*[0-9一二三四五六七八九十]+\s*版\s*[)）]"
)
_SENTENCE_FINAL = "。！？；：!?;:…"
_CLOSERS = "”’」』）)】》\"'"
_CN_NUM = "一二三四五六七八九十百零〇"
# level 1: "一、", level 2: "（一）", level 3: "1." / "1、"; "第一章" / "第二部分" are parts
_NUMBERED = (
    (0, re.compile(rf"^第[{_CN_NUM}0-9]+[章部篇编](?:分)?")),
    (1, re.compile(rf"^[{_CN_NUM}]+、")),
    (2, re.compile(rf"^[（(][{_CN_NUM}]+[)）]")),
    (3, re.compile(r"^[0-9]{1,2}[.．、](?![0-9])")),
)
# "今后五年市政府工作的指导思想是:" opens a named subsection ("指导思想")
_LEAD_IN = re.compile(
    r"^[^。；;！？]{0,40}?(指导思想|主要目标|总体要求|基本原则|主要任务|奋斗目标|重点工作)是[:：]"
)
_HEADING_MAX = 60
_TITLE_MAX = 30
_TOPIC_MAX = 20


def slugify(name: str) -> str:
    """A stable, URL-safe document id derived from a file name."""
    slug = re.sub(r"[^0-9A-Za-z]+", "-", name).strip("-").lower()
    if not slug:  # e.g. a purely Chinese file name
        slug = "doc-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    return slug


def strip_markup(text: str) -> str:
    """Remove ``**`` emphasis markers and page-jump notes (until none is left: removing
    one can join the pieces of another, as in ``*(紧接第1版)*``)."""
    while True:
        cleaned = _PRINT_ARTIFACT.sub("", _EMPHASIS.sub("", text))
        if cleaned == text:
            return cleaned
        text = cleaned


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip().rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _SENTENCE_FINAL


def heading_level(line: str) -> int | None:
    """Heading level of a standalone line, or None for body text.

    0: a part (a short title line, or 第X章/部分); 1: 一、; 2: （一）; 3: 1.
    """
    line = line.strip()
    if not line or len(line) > _HEADING_MAX or "。" in line:
        return None
    for level, pattern in _NUMBERED:
        if pattern.match(line):
            return level
    if len(line) <= _TITLE_MAX and not any(c in line for c in "，,；;：:。！？!?"):
        return 0
    return None


def topic_of(paragraph: str) -> str | None:
    """The topic sentence opening a body paragraph ("建设区域综合交通枢纽。"), if any."""
    body = paragraph.lstrip("—-– ")
    end = body.find("。")
    if end <= 0 or end > _TOPIC_MAX:
        return None
    sentence = body[:end]
    if any(c in sentence for c in "，,：:；;、"):
        return None
    return sentence


def _paragraphs(raw: str) -> list[str]:
    """Paragraphs after markup removal, with page-break splits rejoined."""
    lines = [line.strip() for line in strip_markup(raw).replace("\r\n", "\n").split("\n")]
    merged: list[str] = []
    continues = False
    for line in lines:
        if not line:
            continue
        if continues and merged and heading_level(line) is None:
            merged[-1] += line
        else:
            merged.append(line)
        continues = heading_level(merged[-1]) is None and not ends_sentence(merged[-1])
    return merged


@dataclass
class _Outline:
    """Tracks the current section path while walking the paragraphs."""

    opening_label: str
    levels: dict[int, str]

    def path(self) -> tuple[str, ...]:
        return tuple(self.levels[k] for k in sorted(self.levels))

    def enter(self, level: int, label: str) -> None:
        for deeper in [k for k in self.levels if k >= level]:
            del self.levels[deeper]
        self.levels[level] = label


def parse_document(
    raw: str,
    *,
    doc_id: str,
    source: str,
    metadata: dict[str, str] | None = None,
) -> Document:
    """Clean ``raw`` and attach the section path to every paragraph."""
    metadata = dict(metadata or {})
    paras = _paragraphs(raw)
    title = metadata.get("title", "")
    opening = metadata.get("opening_part_label", DEFAULT_OPENING_LABEL)
    outline = _Outline(opening_label=opening, levels={})

    pieces: list[str] = []
    records: list[Paragraph] = []
    offset = 0
    seen_body = False
    section_intro_pending = False
    for i, para in enumerate(paras):
        level = heading_level(para)
        if i == 0 and level == 0 and not seen_body:
            # the first short title line is the document's own title
            title = title or para
            section: tuple[str, ...] = ()
            is_heading = True
        elif level is not None:
            outline.enter(level, para)
            section = outline.path()
            is_heading = True
            section_intro_pending = level >= 1
        else:
            if not seen_body and not outline.levels:
                outline.enter(0, opening)
            seen_body = True
            is_heading = False
            lead = _LEAD_IN.match(para)
            if lead:
                outline.enter(1, lead.group(1))
                section = outline.path()
            elif para.endswith((":", "：")):
                # a lead-in to what follows ("为实现上述目标,…以下工作:") closes a named subsection
                outline.levels = {k: v for k, v in outline.levels.items() if k == 0}
                section = outline.path()
            else:
                topic = None if section_intro_pending else topic_of(para)
                base = outline.path()
                section = base + (topic,) if topic else base
            section_intro_pending = False
        if pieces:
            pieces.append("\n\n")
            offset += 2
        pieces.append(para)
        records.append(
            Paragraph(start=offset, end=offset + len(para), section=section, is_heading=is_heading)
        )
        offset += len(para)

    text = "".join(pieces)
    return Document(
        doc_id=doc_id,
        title=title or source,
        text=text,
        sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        source=source,
        paragraphs=tuple(records),
        metadata=metadata,
    )


def source_files(seeds_dir: Path) -> list[Path]:
    """The documents in ``seeds_dir`` (``.txt`` / ``.md``), in a stable order."""
    if not seeds_dir.is_dir():
        raise FileNotFoundError(f"seeds directory not found: {seeds_dir} (set RAG_SEEDS_DIR)")
    files = sorted(p for p in seeds_dir.iterdir() if p.suffix in SOURCE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(
            f"no .txt or .md documents in {seeds_dir} (set RAG_SEEDS_DIR or add a document)"
        )
    return files


def read_metadata(path: Path) -> dict[str, str]:
    meta_path = path.with_name(path.stem + META_SUFFIX)
    if not meta_path.exists():
        return {}
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{meta_path}: not valid JSON ({exc})") from exc
    return {str(k): str(v) for k, v in data.items()}


def load_documents(seeds_dir: Path) -> list[Document]:
    """Read, clean and structure every document in ``seeds_dir``."""
    docs = []
    for path in source_files(seeds_dir):
        raw = path.read_text(encoding="utf-8")
        doc = parse_document(
            raw, doc_id=slugify(path.stem), source=path.name, metadata=read_metadata(path)
        )
        log.debug(
            "loaded %s: %d chars, %d paragraphs", path.name, len(doc.text), len(doc.paragraphs)
        )
        docs.append(doc)
    ids = [d.doc_id for d in docs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two seed files map to the same document id: {ids}")
    return docs


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
