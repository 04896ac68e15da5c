"""PDF text layers through pdfplumber (pdfminer.six): lines with what their positions say.

For each text line: its page; whether it starts right of the body's left margin (the first
line of a paragraph, or a centred title); whether it runs to the right margin (a wrapped
line: the paragraph goes on). A vertical gap wider than the usual line spacing becomes a
blank line. A PDF whose pages hold no text (a scan) is refused: it needs OCR first.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

from ..types import Line

# a line starting this many ems right of the margin is indented (a paragraph's 2-em indent,
# or a centred line); one ending within this many ems of the right margin is full
_INDENT_EM = 0.8
_FULL_EM = 1.5
# a gap between lines this many times the usual one is a paragraph break
_GAP_RATIO = 1.8


def pdf_lines(path: Path) -> tuple[Line, ...]:
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    from . import UnreadableDocument

    try:
        with pdfplumber.open(str(path)) as pdf:
            pages = [_page_lines(page) for page in pdf.pages]
    except (PdfminerException, PDFSyntaxError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableDocument(path, f"not a readable PDF ({exc or type(exc).__name__})") from exc
    rows = [row for page in pages for row in page]
    chars = sum(len(r["text"].strip()) for r in rows)
    if chars == 0:
        raise UnreadableDocument(
            path, "the PDF has no text layer (a scanned image?); run OCR on it first"
        )
    if sum(r["text"].count("(cid:") for r in rows) * 5 > chars:
        raise UnreadableDocument(
            path, "the PDF's fonts have no Unicode map: its text is unreadable"
        )
    em = statistics.median(r["size"] for r in rows)
    left = statistics.median(min(r["x0"] for r in page) for page in pages if page)
    right = _right_margin([r["x1"] for r in rows], em)
    gaps = [
        b["top"] - a["bottom"]
        for page in pages
        for a, b in zip(page, page[1:], strict=False)
        if b["top"] > a["bottom"]
    ]
    usual_gap = statistics.median(gaps) if gaps else em
    out: list[Line] = []
    flat = [(pno, r) for pno, page in enumerate(pages) for r in page]
    for k, (pno, r) in enumerate(flat):
        if k and flat[k - 1][0] == pno:
            prev = flat[k - 1][1]
            if r["top"] - prev["bottom"] > max(_GAP_RATIO * usual_gap, usual_gap + 0.5 * em):
                out.append(Line("", page=pno))
        # full: the line stopped because the next line's first word would not fit after it
        room = right - r["x1"]
        nxt = flat[k + 1][1]["text"] if k + 1 < len(flat) else ""
        out.append(
            Line(
                r["text"],
                page=pno,
                indent=r["x0"] - left >= _INDENT_EM * r["size"],
                full=room <= max(_FULL_EM, _first_word_ems(nxt) + 0.5) * r["size"],
            )
        )
    return tuple(out)


_FIRST_WORD = re.compile(r"^\s*(?:[0-9A-Za-z.,%+\-/]+|.)[”’）)】》，。、；：？！…%]*")


def _first_word_ems(text: str) -> float:
    """The width, in ems, of what cannot be broken at the start of ``text`` (an ASCII run,
    or one character with the closing punctuation that must stay with it)."""
    m = _FIRST_WORD.match(text)
    word = m.group(0).strip() if m else ""
    return sum(0.55 if c.isascii() else 1.0 for c in word)


def _page_lines(page: Any) -> list[dict[str, Any]]:
    rows = []
    for line in page.extract_text_lines(strip=True, return_chars=True):
        if not line["text"].strip():
            continue
        sizes = [c.get("size", 0) for c in line["chars"] if c.get("text", "").strip()]
        rows.append(
            {
                "text": line["text"],
                "x0": line["x0"],
                "x1": line["x1"],
                "top": line["top"],
                "bottom": line["bottom"],
                "size": statistics.median(sizes) if sizes else 10.0,
            }
        )
    return sorted(rows, key=lambda r: (round(r["top"], 1), r["x0"]))


def _right_margin(x1s: list[float], em: float) -> float:
    """The body's right edge: where most wrapped lines end (the right end of the largest
    cluster of line ends lying within one em of each other)."""
    ends = sorted(x1s)
    best, best_n, j = ends[-1], 0, 0
    for i, x in enumerate(ends):
        while x - ends[j] > em:
            j += 1
        if i - j + 1 >= best_n:
            best, best_n = x, i - j + 1
    return best
