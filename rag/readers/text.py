"""Plain text and Markdown: decoding, lines, and Markdown's own blocks (markdown-it-py)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ..types import Block, Line

# UTF-8 first (with or without a BOM), UTF-16 when it says so, then GB18030 (a superset of
# GBK / GB2312, which Chinese government text files are often saved in)
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode(data: bytes, path: Path) -> str:
    """The text of a text file; raises ``UnreadableDocument`` for binary or unknown bytes."""
    from . import UnreadableDocument

    encodings = [enc for bom, enc in _BOMS if data.startswith(bom)] or ["utf-8", "gb18030"]
    for enc in encodings:
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableDocument(path, "not UTF-8 or GB18030 text (undecodable bytes)")
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f")
    if controls > max(2, len(text) // 100):
        raise UnreadableDocument(path, "binary data, not text")
    if not re.search(r"\w", text):
        raise UnreadableDocument(path, "no text in the file (only whitespace or punctuation)")
    return text


def text_lines(text: str) -> tuple[Line, ...]:
    """Lines of a text file; a form feed (as pdftotext writes between pages) starts a page."""
    lines: list[Line] = []
    for page, chunk in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\f")):
        lines.extend(Line(line, page=page) for line in chunk.split("\n"))
    return tuple(lines)


def markdown_blocks(text: str) -> tuple[Block, ...]:
    """Headings (``depth`` = the number of ``#``), paragraphs, list items (an ordered item
    keeps its number: "1. …"), table rows (cells joined by a space); markup dropped."""
    from markdown_it import MarkdownIt

    from ..layout import join_lines

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[Block] = []
    items: list[str] = []  # the open list items' numbers ("" for a bullet)
    item_fresh = False  # the next paragraph is the first of the current item
    row: list[str] | None = None
    heading = 0
    for tok in tokens:
        if tok.type == "heading_open":
            heading = int(tok.tag[1:])
        elif tok.type == "heading_close":
            heading = 0
        elif tok.type == "list_item_open":
            items.append(f"{tok.info}{tok.markup} " if tok.info else "")
            item_fresh = True
        elif tok.type == "list_item_close":
            items.pop()
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close" and row is not None:
            if any(row):
                blocks.append(Block(" ".join(c for c in row if c), kind="row", final=True))
            row = None
        elif tok.type in ("fence", "code_block"):
            blocks.extend(Block(t, final=True) for t in tok.content.split("\n") if t.strip())
        elif tok.type == "inline":
            content = join_lines(_inline_lines(tok))
            if row is not None:
                row.append(content.strip())
            elif heading:
                blocks.append(Block(content, kind="heading", depth=heading, final=True))
            elif items:
                prefix = items[-1] if item_fresh else ""
                blocks.append(Block(prefix + content, kind="item", final=True))
                item_fresh = False
            else:
                blocks.append(Block(content, final=True))
    return tuple(b for b in blocks if b.text.strip())


def _inline_lines(tok) -> list[str]:  # type: ignore[no-untyped-def]
    """An inline token's text without its markup, split where the source broke the line."""
    lines = [""]
    for child in tok.children or []:
        if child.type in ("text", "code_inline"):
            lines[-1] += child.content
        elif child.type in ("softbreak", "hardbreak"):
            lines.append("")
    return lines
