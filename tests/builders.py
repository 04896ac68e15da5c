"""Build .docx and .pdf versions of a report at test time, from its layout (title, byline,
paragraph blocks), each in the format's own way: Word styles, automatic numbering and header
parts; a PDF with a built-in CJK font (reportlab's STSong-Light: no font file), wrapped lines,
2-em indents, a running header and page-number footers drawn on every page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from rag.structure import block_level
from rag.types import Block, Layout

_ITEM_NUMBER = re.compile(r"^(\d{1,2})([.．、])(\s?)")


def _kind(block: Block) -> str:
    if block.kind in ("row", "item"):
        return block.kind
    if block.kind == "title":
        return "title"
    return "heading" if block_level(block) is not None else "text"


# --- Word


def build_docx(layout: Layout, path: Path, *, header: str = "", footer: str = "— {n} —") -> Path:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    section = document.sections[0]
    if header:
        section.header.paragraphs[0].text = header
    before, _, after = footer.partition("{n}")
    fp = section.footer.paragraphs[0]
    fp.add_run(before)
    fp._p.append(
        parse_xml(
            f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'
        )
    )
    fp.add_run(after)
    numbering = document.part.numbering_part.element
    next_id = [900]

    def new_list(fmt_sep: str) -> str:
        """A fresh numbering definition ("%1．"), so each run of items restarts at 1."""
        next_id[0] += 1
        nid = str(next_id[0])
        numbering.append(
            parse_xml(
                f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{nid}"><w:lvl w:ilvl="0">'
                f'<w:start w:val="1"/><w:numFmt w:val="decimal"/>'
                f'<w:lvlText w:val="%1{fmt_sep}"/></w:lvl></w:abstractNum>'
            )
        )
        numbering.append(
            parse_xml(
                f'<w:num {nsdecls("w")} w:numId="{nid}"><w:abstractNumId w:val="{nid}"/></w:num>'
            )
        )
        return nid

    current: str | None = None
    rows: list[list[str]] = []

    def flush_rows() -> None:
        if rows:
            table = document.add_table(rows=len(rows), cols=max(map(len, rows)))
            for r, cells in enumerate(rows):
                for c, text in enumerate(cells):
                    table.cell(r, c).text = text
            rows.clear()

    for block in layout.blocks:
        kind = _kind(block)
        if kind != "row":
            flush_rows()
        if kind == "title":
            document.add_paragraph(block.text, style="Title")
            for line in layout.front:
                p = document.add_paragraph(line)
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            continue
        if kind == "heading":
            level = block_level(block) or 0
            document.add_heading(block.text, level=min(level + 1, 9))
            current = None
        elif kind == "row":
            rows.append(block.text.split(" "))
        elif m := _ITEM_NUMBER.match(block.text):
            if m.group(1) == "1" or current is None:
                current = new_list(m.group(2) + m.group(3))
            p = document.add_paragraph(block.text[m.end() :])
            p._p.get_or_add_pPr().append(
                parse_xml(
                    f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/>'
                    f'<w:numId w:val="{current}"/></w:numPr>'
                )
            )
        elif kind == "item":
            document.add_paragraph(block.text, style="List Bullet")
        else:
            p = document.add_paragraph("\u3000\u3000" + block.text)  # typed indent, as in Word
    flush_rows()
    document.save(str(path))
    return path


# --- PDF

_PAGE_W, _PAGE_H = 595.0, 842.0
_MARGIN = 72.0
_SIZE = 12.0
_LEADING = 20.0
_NO_LINE_START = "，。、；：？！”’）》】…%"
_TOKEN = re.compile(r"[0-9A-Za-z.%+\-/]+|.", re.S)


def _wrap(
    text: str, first_width: float, width: float, measure: Callable[[str], float]
) -> list[str]:
    lines, cur, limit = [], "", first_width
    for tok in _TOKEN.findall(text):
        if cur and measure(cur + tok) > limit and tok not in _NO_LINE_START:
            lines.append(cur)
            cur, limit = "", width
        cur += tok
    if cur:
        lines.append(cur)
    return lines


def build_pdf(
    layout: Layout,
    path: Path,
    *,
    header: str = "",
    footer: str = "— {n} —",
    total_pages: int | None = None,
) -> Path:
    """Draw the report; ``footer`` may use {n} and {total}. Returns ``path``."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))

    def measure(s: str, size: float = _SIZE) -> float:
        return pdfmetrics.stringWidth(s, font, size)

    width = _PAGE_W - 2 * _MARGIN
    # groups of (text, x, size, gap before; -1 marks a table row, kept together), paginated
    groups: list[list[tuple[str, float, float, float]]] = []
    for block in layout.blocks:
        kind = _kind(block)
        if kind == "title":
            group = [(block.text, (_PAGE_W - measure(block.text, 16)) / 2, 16.0, 0.0)]
            group += [(line, (_PAGE_W - measure(line)) / 2, _SIZE, 8.0) for line in layout.front]
            groups.append(group)
        elif kind == "row":
            gap = 12.0 if not groups or groups[-1][0][3] != -1 else 0.0
            row = (block.text, _MARGIN, _SIZE, -1.0)  # -1: a table row, kept together
            if groups and groups[-1] and groups[-1][-1][3] == -1:
                groups[-1].append(row)
            else:
                groups.append([("", 0, 0, gap), row])
        else:
            indent = 2 * _SIZE
            wrapped = _wrap(block.text, width - indent, width, measure)
            group = [(wrapped[0], _MARGIN + indent, _SIZE, 0.0)]
            group += [(line, _MARGIN, _SIZE, 0.0) for line in wrapped[1:]]
            groups.append(group)
    pages: list[list[tuple[str, float, float, float]]] = [[]]
    y = _PAGE_H - _MARGIN
    for group in groups:
        is_table = any(g[3] == -1 for g in group)
        need = _LEADING * len(group) + 12
        if is_table and y - need < _MARGIN and pages[-1]:
            pages.append([])
            y = _PAGE_H - _MARGIN
        if is_table:
            pages[-1].append(("", 0, 0, 12.0))
        for text, x, size, gap in group:
            if y - _LEADING - max(gap, 0) < _MARGIN:
                pages.append([])
                y = _PAGE_H - _MARGIN
            if text:
                y -= max(gap, 0)
                pages[-1].append((text, x, size, y))
                y -= _LEADING if size <= _SIZE else size * 1.8
            elif gap > 0:
                y -= gap
        if is_table:
            y -= 12.0
    total = total_pages or len(pages)
    c = canvas.Canvas(str(path), pagesize=(_PAGE_W, _PAGE_H))
    for n, lines in enumerate(pages, start=1):
        if header and n > 1:
            c.setFont(font, 10)
            c.drawCentredString(_PAGE_W / 2, _PAGE_H - 40, header)
        c.setFont(font, 10)
        c.drawCentredString(_PAGE_W / 2, 40, footer.format(n=n, total=total))
        for text, x, size, y in lines:
            if text:
                c.setFont(font, size)
                c.drawString(x, y, text)
        c.showPage()
    c.save()
    return path
