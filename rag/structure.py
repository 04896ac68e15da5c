"""Structure: section paths from the report's own conventions, over a layout's blocks.

Parts (a short title line, 第X章 / 第X部分), numbered sections (一、 / （一） / 1.), numbered
items that open with a topic sentence ("1．重点项目提速推进。…"), named lead-ins ("…的指导思想
是:") and the topic sentence that opens a paragraph ("建设区域综合交通枢纽。"). A heading the
format marks (Word's Heading N, Markdown's #) is a heading whatever its shape; a list item or
a table row is always body text. The cleaned text is the blocks joined by blank lines; every
paragraph records its ``[start, end)`` offsets into it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .types import Block, Document, Layout, Paragraph

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
_ITEM_TOPIC_MAX = 30


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


def numbered_level(line: str) -> int | None:
    """The level of the section number ``line`` opens with (0–3), if any."""
    for level, pattern in _NUMBERED:
        if pattern.match(line):
            return level
    return None


def heading_level(line: str) -> int | None:
    """Heading level of a standalone line, or None for body text.

    0: a part (a short title line, or 第X章/部分); 1: 一、; 2: （一）; 3: 1.
    A short unnumbered line is a part only without inner spaces ("市长 周承岳" and the
    cells of a table row are not).
    """
    line = line.strip()
    if not line or len(line) > _HEADING_MAX or "。" in line:
        return None
    level = numbered_level(line)
    if level is not None:
        return level
    if (
        len(line) <= _TITLE_MAX
        and not any(c in line for c in "，,；;：:。！？!?")
        and not re.search(r"\s", line)
    ):
        return 0
    return None


def block_level(block: Block) -> int | None:
    """The heading level of a block: by its shape, or by the format's heading depth."""
    if block.kind == "row":
        return None
    if block.kind == "item":  # a numbered item is read by its shape, as in a text file
        return heading_level(block.text) if numbered_level(block.text) is not None else None
    if block.kind == "title":
        return 0
    if block.kind == "heading":
        level = numbered_level(block.text)
        return level if level is not None else min(max(block.depth - 1, 0), 3)
    return heading_level(block.text)


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


def numbered_item(paragraph: str) -> tuple[int, str] | None:
    """(level, label) of a body paragraph that opens with a section number: the label is the
    number and its topic ("1．重点项目提速推进。全年…" → (3, "1．重点项目提速推进"); "2. 重大
    基础设施取得标志性进展：" → (3, "2. 重大基础设施取得标志性进展")), or the number alone when
    no short topic follows it."""
    level = numbered_level(paragraph)
    if level is None or level == 0:
        return None
    m = _NUMBERED[level][1].match(paragraph)
    assert m is not None
    rest = paragraph[m.end() :]
    end = min((i for i in (rest.find("。"), rest.find("："), rest.find(":")) if i > 0), default=-1)
    if end <= 0 or end > _ITEM_TOPIC_MAX or any(c in rest[:end] for c in "，,；;"):
        return level, paragraph[: m.end()].rstrip()
    return level, paragraph[: m.end() + end].rstrip()


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


def build_document(
    layout: Layout,
    *,
    doc_id: str,
    source: str,
    sha256: str,
    metadata: dict[str, str] | None = None,
) -> Document:
    """Attach the section path to every block of ``layout`` and lay out the cleaned text."""
    metadata = dict(metadata or {})
    title = metadata.get("title", "")
    outline = _Outline(
        opening_label=metadata.get("opening_part_label", DEFAULT_OPENING_LABEL), levels={}
    )
    pieces: list[str] = []
    records: list[Paragraph] = []
    offset = 0
    seen_body = False
    section_intro_pending = False
    synthetic: str | None = None  # the opening label, while it heads the outline
    for i, block in enumerate(layout.blocks):
        para = block.text
        level = block_level(block)
        if i == 0 and block.kind == "title":
            title = title or para  # the document's own title line
            section: tuple[str, ...] = ()
            is_heading = True
        elif level is not None:
            if synthetic is not None and outline.levels.get(0) is synthetic:
                del outline.levels[0]  # the opening label covers only what precedes a heading
            outline.enter(level, para)
            section = outline.path()
            is_heading = True
            section_intro_pending = level >= 1
        else:
            if not seen_body and not outline.levels:
                synthetic = outline.opening_label
                outline.enter(0, synthetic)
            seen_body = True
            is_heading = False
            lead = _LEAD_IN.match(para)
            item = numbered_item(para) if block.kind != "row" else None
            if item:
                outline.enter(*item)
                section = outline.path()
            elif lead:
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

    return Document(
        doc_id=doc_id,
        title=title or source,
        text="".join(pieces),
        sha256=sha256,
        source=source,
        paragraphs=tuple(records),
        metadata=metadata,
    )


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
