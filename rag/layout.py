"""Layout: from a reader's lines or blocks to the body's paragraphs, whatever the format.

What a printed or exported report adds around its text is recognised by its shape and its
repetition, never by a list of one report's strings:

- page-number lines by shape ("— 3 —", "- 3 -", "第 2 页 共 9 页", "Page 3 of 9", "3/9"; a bare
  "3" only where such lines count up through the document);
- running headers and footers by repetition: a short line found next to a page boundary (a
  page-number line, a form feed, a PDF page break) on at least two pages and 30 % of them;
- the byline and date under the title by shape: a line opening with a dash ("——2024年1月9日
  在…会议上"), a date line, a bracketed note with a date or 会议, a "职务　姓名" line.

Paragraphs are rebuilt from the lines: a text file indents its paragraphs (full-width
spaces) and hard-wraps them, or puts one paragraph on a line, or separates wrapped paragraphs
by blank lines; a PDF line continues a paragraph when the line above ran to the right margin
and it is not indented. A paragraph cut by a page break (no sentence-final punctuation, next
block not a heading) is rejoined. Whitespace inside a line is tidied: runs become one space,
and a space next to full-width punctuation goes (it carries nothing in Chinese).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence

from .structure import block_level, ends_sentence, heading_level
from .types import Block, Layout, Line

_WIDE_PUNCT = "，。、；：？！“”‘’（）《》〈〉【】「」『』…％"
_SPACE_RUN = re.compile(r"\s+")
_PUNCT_SPACE = re.compile(rf" (?=[{_WIDE_PUNCT}])|(?<=[{_WIDE_PUNCT}]) ")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_INDENT = re.compile(r"^(?:\u3000|[ \t\u00a0]{2,}|\t)")
_BULLET = re.compile(r"^[•●○◦▪▫■□◆◇►▶➢✓*+\-–]\s+")
_ASCII_WORD_END = re.compile(r"[A-Za-z][,.;:!?]?$")
_ASCII_WORD_START = re.compile(r"^[A-Za-z]")

_CN_NUMERAL = "一二三四五六七八九十百零〇"
_DECORATION = r"[-—–－~·•_=\s]"
_PAGE_NUMBER = re.compile(
    rf"^(?:{_DECORATION}+\d{{1,4}}{_DECORATION}+"
    rf"|第\s*[\d{_CN_NUMERAL}]{{1,4}}\s*页(?:\s*[,，/]?\s*共\s*[\d{_CN_NUMERAL}]{{1,4}}\s*页)?"
    r"|共\s*\d{1,4}\s*页\s*[,，]?\s*第\s*\d{1,4}\s*页"
    r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|\d{1,4}\s*/\s*\d{1,4})$",
    re.IGNORECASE,
)
_BARE_NUMBER = re.compile(r"^\d{1,4}$")
_FURNITURE_MAX = 40  # a running header or footer is a short line
_EDGE_LINES = 2  # lines on each side of a page boundary that may be a header or footer
_REPEAT_SHARE = 0.3

_DATE = (
    r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日"
)
_DATE_LINE = re.compile(rf"^[（(]?\s*(?:{_DATE})\s*[）)]?$")
_BRACKETED = re.compile(r"^[（(].{2,78}[）)]$")
_DASH_LINE = re.compile(r"^[—－]{1,2}|^-{2}")
_PERSON_LINE = re.compile(r"^[\u4e00-\u9fff]{1,10} [\u4e00-\u9fff·]{2,5}$")
_BYLINE_MAX = 80


def tidy(text: str) -> str:
    """One line's text, stripped, inner whitespace runs as one space, none by 。，…"""
    text = _SPACE_RUN.sub(" ", _INVISIBLE.sub("", text)).strip()
    return _PUNCT_SPACE.sub("", text) if " " in text else text


def join_lines(lines: Sequence[str]) -> str:
    """Lines of one paragraph joined: no space in Chinese, one between two ASCII words."""
    out = ""
    for raw in lines:
        line = tidy(raw)
        if not line:
            continue
        if out and _ASCII_WORD_END.search(out) and _ASCII_WORD_START.match(line):
            out += " "
        out += line
    return out


def is_page_number(text: str) -> bool:
    """A page-number line by its shape (a bare number needs the context: see analyse)."""
    return bool(_PAGE_NUMBER.match(text.strip()))


def is_byline(text: str) -> bool:
    """A byline, date or speaker line such as sits under a report's title."""
    t = tidy(text)
    if not t or len(t) > _BYLINE_MAX or "。" in t:
        return False
    if _DASH_LINE.match(t) or _DATE_LINE.match(t):
        return True
    if _BRACKETED.match(t) and (re.search(_DATE, t) or "会议" in t):
        return True
    return bool(_PERSON_LINE.match(t)) and heading_level(t) is None


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _furniture(texts: list[str], pages: list[int]) -> set[int]:
    """Indices of page-number lines and running headers / footers among non-blank ``texts``
    (``pages``: the reader's page of each, all 0 for a text file)."""
    numbers = {i for i, t in enumerate(texts) if is_page_number(t)}
    bare = [i for i, t in enumerate(texts) if _BARE_NUMBER.match(t.strip())]
    values = [int(texts[i].strip()) for i in bare]  # (str.strip takes \x1f; int() does not)
    if len(bare) >= 2 and all(a < b for a, b in zip(values, values[1:], strict=False)):
        numbers.update(bare)
    # page regions: a new one after each page-number line and at each change of page
    region, regions = 0, []
    for i, page in enumerate(pages):
        if i and (page != pages[i - 1] or (i - 1) in numbers):
            region += 1
        regions.append(region)
    n_regions = region + 1
    edges: dict[int, int] = {}  # line index -> its region, for lines next to a boundary
    boundaries = [i for i in range(1, len(texts)) if regions[i] != regions[i - 1]]
    if boundaries and len(set(pages)) > 1:
        boundaries += [0, len(texts)]  # real pages: the first top and the last bottom too
    for b in boundaries:
        before = [i for i in range(b - 1, -1, -1) if i not in numbers][:_EDGE_LINES]
        after = [i for i in range(b, len(texts)) if i not in numbers][:_EDGE_LINES]
        for i in before + after:
            edges[i] = regions[i]
    seen: dict[str, set[int]] = defaultdict(set)
    for i, r in edges.items():  # a header or footer is short and is not a sentence
        if len(texts[i].strip()) <= _FURNITURE_MAX and not ends_sentence(texts[i]):
            seen[_key(texts[i])].add(r)
    need = max(2, math.ceil(_REPEAT_SHARE * n_regions))
    running = {k for k, rs in seen.items() if len(rs) >= need}
    removed = numbers | {
        i for i in edges if _key(texts[i]) in running and not ends_sentence(texts[i])
    }
    first = min((i for i in range(len(texts)) if i not in numbers), default=None)
    if first is not None and first in removed and _is_title_line(texts, first, regions):
        removed.discard(first)
    return removed


def _is_title_line(texts: list[str], first: int, regions: list[int]) -> bool:
    """Whether the document's first line, whose text repeats as a running header, is its
    title all the same: title-shaped, its only copy on the first page, and not followed by
    another title-shaped line (which would be the title under a header on every page)."""
    key = _key(texts[first])
    same_page = [i for i in range(len(texts)) if regions[i] == regions[first]]
    if heading_level(texts[first]) != 0 or sum(_key(texts[i]) == key for i in same_page) > 1:
        return False
    following = same_page[same_page.index(first) + 1 :][:1]
    return not any(heading_level(texts[i]) == 0 and not is_byline(texts[i]) for i in following)


def analyse_lines(lines: Sequence[Line]) -> Layout:
    """The layout of a text file's or a PDF's lines."""
    nonblank = [i for i, line in enumerate(lines) if line.text.strip()]
    removed = {
        nonblank[j]
        for j in _furniture([lines[i].text for i in nonblank], [lines[i].page for i in nonblank])
    }
    furniture = tuple(tidy(lines[i].text) for i in sorted(removed))
    # a blank line next to a removed one was part of the page break, not a paragraph break
    kept: list[Line | None] = []
    for i, line in enumerate(lines):
        if i in removed:
            if kept and kept[-1] is None:
                kept.pop()
            kept.append(_BREAK)
        elif not line.text.strip():
            if kept and kept[-1] is _BREAK:
                continue
            kept.append(None)
        else:
            kept.append(line)
    blocks = _assemble([k for k in kept if k is not _BREAK])
    return _finish(blocks, furniture)


_BREAK = Line("\x00break")  # marks where a furniture line was


def analyse_blocks(blocks: Sequence[Block]) -> Layout:
    """The layout of a Markdown or Word document's blocks (page-number paragraphs and
    running headers left in by a conversion are removed the same way)."""
    texts = [b.text for b in blocks]
    removed = _furniture(texts, [0] * len(texts))
    furniture = tuple(tidy(texts[i]) for i in sorted(removed))
    kept = [
        Block(tidy(b.text), b.kind, b.depth, b.final)
        for i, b in enumerate(blocks)
        if i not in removed
    ]
    return _finish([b for b in kept if b.text], furniture)


def _indented(line: Line) -> bool:
    return line.indent if line.indent is not None else bool(_INDENT.match(line.text))


def _assemble(lines: list[Line | None]) -> list[Block]:
    """Paragraph blocks from lines (``None``: a blank line)."""
    texts = [line for line in lines if line is not None]
    if not texts:
        return []
    if any(line.full is not None for line in texts):
        mode = "pdf"
    else:
        share = sum(map(_indented, texts)) / len(texts)
        mode = "indent" if 0.05 <= share <= 0.95 else "lines"
        if mode == "lines" and _wrapped_groups(lines):
            mode = "groups"
    blocks: list[list[str]] = []
    pages: list[list[int]] = []  # the page of each block's lines
    prev: Line | None = None
    body_started = False
    for line in lines:
        if line is None:
            prev = None
            continue
        if mode == "lines":
            new = True
        elif mode == "groups":
            new = prev is None
        elif mode == "indent":
            body_started = body_started or _indented(line)
            new = prev is None or _indented(line) or not body_started
        else:
            new = prev is None or bool(line.indent) or not prev.full
        if new or not blocks:
            blocks.append([_BULLET.sub("", line.text.strip())])
            pages.append([line.page])
        else:
            blocks[-1].append(line.text)
            pages[-1].append(line.page)
        prev = line
    # which blocks are whole by the layout's own evidence: with indents (text) or geometry
    # (PDF), every paragraph is whole except where a page break may have cut it
    out = []
    for k, (b, pg) in enumerate(zip(blocks, pages, strict=True)):
        text = join_lines(b)
        if not text:
            continue
        if mode == "pdf":
            cut_after = k + 1 < len(blocks) and pages[k + 1][0] != pg[-1]
            cut_before = k > 0 and pages[k - 1][-1] != pg[0]
            final = not (cut_after or cut_before)
        else:
            final = mode == "indent"
        out.append(Block(text, final=final))
    return out


def _wrapped_groups(lines: list[Line | None]) -> bool:
    """Blank-line-separated groups of several lines that mostly stop mid-sentence: hard-wrapped
    paragraphs (one paragraph per group), as a plain-text export writes them."""
    groups: list[list[str]] = [[]]
    for line in lines:
        if line is None:
            if groups[-1]:
                groups.append([])
        else:
            groups[-1].append(line.text)
    multi = [g for g in groups if len(g) > 1]
    filled = [g for g in groups if g]
    if len(filled) < 2 or len(multi) * 2 < len(filled):
        return False
    inner = [t for g in multi for t in g[:-1]]
    return sum(not ends_sentence(t) for t in inner) >= 0.6 * len(inner)


def _finish(blocks: list[Block], furniture: tuple[str, ...]) -> Layout:
    """Set the title and the byline apart, then rejoin paragraphs cut by page breaks."""
    title = ""
    front: list[str] = []
    start = 0
    if blocks and (
        blocks[0].kind == "title"
        or (blocks[0].kind in ("text", "heading") and heading_level(blocks[0].text) == 0)
    ):
        title = blocks[0].text
        start = 1
        while (
            start < len(blocks) and blocks[start].kind == "text" and is_byline(blocks[start].text)
        ):
            front.append(blocks[start].text)
            start += 1
    head = [Block(title, "title", 1, True)] if title else []
    return Layout(
        blocks=tuple(head + _rejoin(blocks[start:])),
        title=title,
        front=tuple(front),
        furniture=furniture,
    )


def _rejoin(blocks: list[Block]) -> list[Block]:
    """A paragraph that ends without sentence-final punctuation goes on in the next block,
    unless that is a heading (a page break cut it; Word and Markdown paragraphs are whole)."""
    out: list[Block] = []
    continues = False
    for block in blocks:
        level = block_level(block)
        if continues and out and level is None and not block.final:
            out[-1] = Block(join_lines([out[-1].text, block.text]), out[-1].kind)
        else:
            out.append(block)
        last = out[-1]
        continues = not last.final and block_level(last) is None and not ends_sentence(last.text)
    return out
