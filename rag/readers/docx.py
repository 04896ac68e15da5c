"""Word (.docx) through python-docx: paragraphs and tables in body order.

A paragraph styled Title / Heading N (or 标题 N, or with an outline level) is a heading of
depth N; Word's automatic numbering is rendered back into the text ("1．", "（一）") from the
numbering part, since the label is not in the runs; table rows become row blocks. Running
headers live in the header parts, apart from the body: they are returned for metadata only.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from ..types import Block

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}
_CN_DIGITS = "零一二三四五六七八九"


def docx_blocks(path: Path) -> tuple[tuple[Block, ...], tuple[str, ...]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    from ..layout import join_lines
    from . import UnreadableDocument

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocument(path, f"not a readable Word .docx file ({exc})") from exc
    numbering = _Numbering(document)
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell is listed once per grid column
                        continue
                    seen.add(id(cell._tc))
                    cells.append(join_lines(cell.text.split("\n")).strip())
                if any(cells):
                    blocks.append(Block(" ".join(c for c in cells if c), kind="row", final=True))
            continue
        text = join_lines(item.text.split("\n"))
        if not text.strip():
            continue
        label, is_bullet = numbering.label(item)
        depth, is_title = _heading_depth(item)
        if is_title:
            blocks.append(Block(text, kind="title", depth=1, final=True))
        elif depth:
            blocks.append(Block(label + text, kind="heading", depth=depth, final=True))
        elif label or is_bullet:
            blocks.append(Block(label + text, kind="item", final=True))
        else:
            blocks.append(Block(text, final=True))
    running = tuple(
        p.text.strip()
        for section in document.sections
        for p in section.header.paragraphs
        if not section.header.is_linked_to_previous and p.text.strip()
    )
    if not blocks:
        raise UnreadableDocument(path, "the Word document has no text")
    return tuple(blocks), running


def _heading_depth(paragraph: Any) -> tuple[int, bool]:
    """(heading depth or 0, is the title) from the paragraph's style or outline level."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() in _TITLE_STYLES:
            return 1, True
        m = _HEADING_STYLE.match(name)
        if m:
            return int(m.group(1)), False
        style = style.base_style
    ppr = paragraph._p.pPr
    if ppr is not None and ppr.outlineLvl is not None:
        return int(ppr.outlineLvl.val) + 1, False
    return 0, False


class _Numbering:
    """Renders Word's list labels: counters per abstract numbering and level, formats
    decimal, Chinese counting, letters and roman numerals; bullets have no label."""

    def __init__(self, document: Any) -> None:
        from docx.oxml.ns import qn

        self._qn = qn
        try:
            self._root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            self._root = None
        self._counters: dict[str, dict[int, int]] = {}
        self._started: set[str] = set()

    def _num_pr(self, paragraph: Any) -> tuple[str, int] | None:
        ppr = paragraph._p.pPr
        style = paragraph.style
        while True:
            num_pr = ppr.numPr if ppr is not None else None
            if num_pr is not None and num_pr.numId is not None:
                ilvl = num_pr.ilvl.val if num_pr.ilvl is not None else 0
                return str(num_pr.numId.val), int(ilvl)
            if style is None:
                return None
            ppr = style.element.pPr
            style = style.base_style

    def label(self, paragraph: Any) -> tuple[str, bool]:
        """(the label text, whether it is a bullet) of a numbered paragraph, else ("", False)."""
        found = self._num_pr(paragraph)
        if found is None or self._root is None or found[0] == "0":
            return "", False
        num_id, ilvl = found
        qn = self._qn
        nums = self._root.xpath(f'./w:num[@w:numId="{num_id}"]')
        if not nums:
            return "", False
        num = nums[0]
        abstract_id = num.find(qn("w:abstractNumId")).get(qn("w:val"))
        abstract = self._root.xpath(f'./w:abstractNum[@w:abstractNumId="{abstract_id}"]')
        if not abstract:
            return "", False
        levels = {int(lv.get(qn("w:ilvl"))): lv for lv in abstract[0].findall(qn("w:lvl"))}
        lvl = levels.get(ilvl)
        if lvl is None:
            return "", False
        fmt = _val(lvl, "w:numFmt", qn) or "decimal"
        if fmt in ("bullet", "none"):
            return "", fmt == "bullet"
        counters = self._counters.setdefault(abstract_id, {})
        if num_id not in self._started:  # a num with a start override restarts the list
            self._started.add(num_id)
            for override in num.findall(qn("w:lvlOverride")):
                start = override.find(qn("w:startOverride"))
                if start is not None:
                    counters[int(override.get(qn("w:ilvl")))] = int(start.get(qn("w:val"))) - 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        start = int(_val(lvl, "w:start", qn) or 1)
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        text = _val(lvl, "w:lvlText", qn) or ""

        def level_value(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            lv = levels.get(k)
            value = counters.get(k, int(_val(lv, "w:start", qn) or 1) if lv is not None else 1)
            return _format(value, (_val(lv, "w:numFmt", qn) if lv is not None else None) or fmt)

        return re.sub(r"%([1-9])", level_value, text), False


def _val(el: Any, tag: str, qn: Any) -> str | None:
    child = el.find(qn(tag))
    return None if child is None else child.get(qn("w:val"))


def _format(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "chineseLegalSimplified"):
        return _chinese(n)
    if fmt == "ideographDigital":
        return "".join(_CN_DIGITS[int(d)] for d in str(n)).replace("零", "〇")
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(d) + 0xFEE0) for d in str(n))
    if fmt in ("lowerLetter", "upperLetter"):
        s = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        s = _roman(n)
        return s.lower() if fmt == "lowerRoman" else s
    if fmt == "decimalEnclosedCircle" and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    return str(n)


def _chinese(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五 (as Word's chineseCounting)."""
    if n < 10:
        return _CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    if rest == 0:
        tail = ""
    elif rest < 10:
        tail = "零" + _CN_DIGITS[rest]
    else:
        tail = _chinese(rest) if rest >= 20 else "一" + _chinese(rest)
    return _CN_DIGITS[hundreds] + "百" + tail


def _roman(n: int) -> str:
    out = ""
    for value, sym in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        while n >= value:
            out += sym
            n -= value
    return out
