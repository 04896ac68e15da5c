"""The chat's HTML, built from the response models and the library's records.

Every piece of text from a report or a user goes through :func:`esc` (``html.escape`` with
quotes) before it is placed in markup, and only into element content or quoted attributes;
the markup around it is fixed here. Nothing here is parsed from the answer text: the status
comes from ``status`` / ``reason``, the tags from each citation's ``kind``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from pandas.io.formats.style import Styler

from rag.answer.documents import document_label
from rag.chunking import split_sentences
from rag.schemas import CitationOut, HitOut, ServedAnswerOut
from rag.types import Document, FigureSentence, OutlineNode, Paragraph

STATUS_ZH = {"answered": "已回答", "partial": "报告只提到部分", "refused": "报告中没有"}
KIND_ZH = {"achievement": "已完成", "target": "目标 · 计划", "other": "其他"}
# what a refusal means to a resident, by reason code (rag/types.py REASONS)
REFUSAL_ZH = {
    "not_in_report": "报告中没有找到关于这个问题的内容。",
    "no_passages": "报告里没有与这个问题相关的段落。",
    "instruction": "这里只回答报告里写了什么，这个请求无法处理。",
    "personal_data": "报告不提供个人的联系方式等个人信息。",
}
PARTIAL_ZH = "报告提到了这个话题，但没有给出您问的细节。"
RATING_ZH = {"up": "感谢反馈！", "down": "感谢反馈，我们会改进。"}
RELATED = 3  # nearest passages shown under a refusal
LONG_DIRECT = 60  # characters: a longer direct answer is set a size smaller


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def where(section: Sequence[str], last: int = 2) -> str:
    """The end of a section path, as a short label (主要目标 › 绿色转型全面提速)."""
    return " › ".join(section[-last:])


@dataclass(frozen=True)
class Span:
    """A stretch of a paragraph to mark: the quote [n] opened ("hl"), another quote of the same
    answer ("also"), or a passage offered next to a refusal ("rel": related, not an answer)."""

    start: int
    end: int
    label: str
    mark: Literal["hl", "also", "rel"] = "hl"

    @property
    def selected(self) -> bool:
        return self.mark != "also"


@dataclass(frozen=True)
class Opening:
    """A paragraph the page can open: under ``key`` (the button that opens it), the paragraph
    of ``doc_id`` holding ``offset``, with ``spans`` marked."""

    key: str
    doc_id: str
    offset: int
    spans: tuple[Span, ...]
    heading: str
    kind: str | None = None


def openings(i: int, t: ServedAnswerOut) -> list[Opening]:
    """What answer ``i`` can open: each quote's paragraph (its other quotes marked too) or, for a
    refusal, the paragraphs of the passages offered as related."""
    if t.status == "refused":
        # passages are offered only when the report was searched and says nothing of it, not
        # next to a request for someone's phone number or an instruction
        if t.reason != "not_in_report":
            return []
        return [
            Opening(
                f"{i}-h{h.rank}",
                h.doc_id,
                h.start,
                (Span(h.start, h.end, "", "rel"),),
                "相关段落（不是答案）",
            )
            for h in t.hits[:RELATED]
        ]
    return [
        Opening(
            f"{i}-c{c.n}",
            c.doc_id,
            c.start,
            tuple(
                Span(o.start, o.end, f"[{o.n}]", "hl" if o.n == c.n else "also")
                for o in t.citations
                if o.doc_id == c.doc_id
            ),
            f"引用 [{c.n}] 所在段落",
            c.kind,
        )
        for c in t.citations
    ]


def figure_opening(f: FigureSentence) -> Opening:
    return Opening("figure", f.doc_id, f.start, (Span(f.start, f.end, ""),), "原文段落", f.kind)


# ---------------------------------------------------------------------------------------------
# The conversation


def conversation(turns: Sequence[ServedAnswerOut], ratings: dict[str, str]) -> str:
    if not turns:
        return (
            '<div class="welcome"><p class="welcome-lead">用日常的话问报告里写了什么。</p>'
            "<p>回答只用报告原文，每句都注明出处，并标出是<b>已完成</b>的成绩还是"
            "<b>目标 · 计划</b>；报告没写的，会直接告诉您。</p></div>"
        )
    return "".join(_turn(i, t, ratings.get(t.id)) for i, t in enumerate(turns))


def _turn(i: int, t: ServedAnswerOut, rating: str | None) -> str:
    status = t.status
    parts = [
        f'<article class="turn" data-turn="{i}" aria-label="第 {i + 1} 问">',
        f'<p class="ask"><span class="ask-label">问</span>{esc(t.question)}</p>',
        f'<section class="reply status-{status}">',
        f'<p class="status"><span class="badge badge-{status}">{STATUS_ZH[status]}</span></p>',
    ]
    if status == "refused":
        parts.append(
            f'<p class="direct">{esc(REFUSAL_ZH.get(t.reason, REFUSAL_ZH["not_in_report"]))}</p>'
        )
        parts.append(_related(i, t.hits[:RELATED]) if t.reason == "not_in_report" else "")
    else:
        lead = t.direct_answer or (PARTIAL_ZH if status == "partial" else "")
        if lead:
            # a long direct answer (a list of points) reads better a size smaller
            size = " direct-long" if len(lead) > LONG_DIRECT else ""
            parts.append(f'<p class="direct{size}">{esc(lead)}</p>')
        else:
            parts.append('<p class="direct direct-none">报告原文如下：</p>')
        parts.append(_quotes(i, t.citations))
    parts.append(_rate(i, rating))
    parts.append("</section></article>")
    return "".join(parts)


def _quotes(i: int, citations: Sequence[CitationOut]) -> str:
    items = [
        '<li class="quote">'
        f'<button type="button" class="cite" data-act="cite" data-key="{i}-c{c.n}" '
        f'aria-pressed="{"true" if k == 0 else "false"}" title="查看原文段落">[{c.n}]</button>'
        f'<div class="quote-body"><span class="tag tag-{c.kind}">{KIND_ZH[c.kind]}</span>'
        f'<span class="quote-text">“{esc(c.quote)}”</span>'
        f"{_document(c.document)}"
        f'<span class="quote-where">{esc(where(c.section))}</span></div></li>'
        for k, c in enumerate(citations)
    ]
    return f'<ol class="quotes" aria-label="报告原文依据">{"".join(items)}</ol>'


def _document(name: str) -> str:
    """The quote's report, named when several are indexed (the citation's ``document``)."""
    return f'<span class="quote-doc">{esc(name)}</span>' if name else ""


def _related(i: int, hits: Sequence[HitOut]) -> str:
    if not hits:
        return ""
    items = [
        '<li class="quote related">'
        f'<button type="button" class="cite" data-act="cite" data-key="{i}-h{h.rank}" '
        f'aria-pressed="false" title="查看原文段落">原文</button>'
        f'<div class="quote-body"><span class="quote-text">{esc(_clip(h.text, 60))}</span>'
        f'<span class="quote-where">{esc(where(h.section))}</span></div></li>'
        for h in hits
    ]
    return (
        '<p class="related-lead">最接近的段落（仅供参考，不是答案）：</p>'
        f'<ol class="quotes">{"".join(items)}</ol>'
    )


# a thumb (24 × 24), pointing up; the 👎 button turns it over
_THUMB = (
    '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"{turn}>'
    '<path fill="currentColor" d="M2 10h4v11H2zM8 21h9.6a2.2 2.2 0 0 0 2.1-1.7l1.6-7'
    'A2.2 2.2 0 0 0 19.2 9.6H14.4l.9-4.3A1.9 1.9 0 0 0 11.9 4L8 10z"/></svg>'
)


def _rate(i: int, rating: str | None) -> str:
    buttons = "".join(
        f'<button type="button" class="rate-btn" data-act="rate" data-turn="{i}" '
        f'data-rating="{r}" aria-pressed="{"true" if rating == r else "false"}">'
        f"{_THUMB.format(turn=turn)}<span>{label}</span></button>"
        for r, label, turn in (
            ("up", "有用", ""),
            ("down", "没用", ' style="transform: rotate(180deg)"'),
        )
    )
    note = RATING_ZH[rating] if rating else "这条回答有帮助吗？"
    return (
        f'<div class="rate" role="group" aria-label="评价这条回答">'
        f'<span class="rate-note">{note}</span>{buttons}</div>'
    )


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + "…"


# ---------------------------------------------------------------------------------------------
# The source panel: the cited paragraph, the quote highlighted, its section as a breadcrumb


def crumbs(doc: Document, section: Sequence[str]) -> str:
    items = "".join(f"<li>{esc(s)}</li>" for s in (doc.title, *section))
    return f'<nav class="crumbs" aria-label="所在章节"><ol>{items}</ol></nav>'


def marked(text: str, start: int, spans: Iterable[Span]) -> str:
    """``text`` (which starts at offset ``start`` of its document) with ``spans`` marked;
    overlapping spans after the first are left unmarked."""
    out, at = [], start
    for s in sorted(spans, key=lambda s: (s.start, not s.selected)):
        if s.start < at or s.end > start + len(text) or s.end <= s.start:
            continue
        out.append(esc(text[at - start : s.start - start]))
        out.append(f'<mark class="{s.mark}">{esc(text[s.start - start : s.end - start])}</mark>')
        if s.label:
            out.append(f'<sup class="{s.mark}-n">{esc(s.label)}</sup>')
        at = s.end
    out.append(esc(text[at - start :]))
    return "".join(out)


def source(o: Opening, doc: Document, para: Paragraph, *, shown: bool = False) -> str:
    """One paragraph view, under ``data-key`` (the button that opens it). A long paragraph
    also comes cut to the highlighted sentence and one on either side, with the whole of it
    behind 展开整段: the phone shows that, the desktop the whole paragraph."""
    text = doc.text[para.start : para.end]
    tag = f'<span class="tag tag-{o.kind}">{KIND_ZH[o.kind]}</span>' if o.kind else ""
    hidden = "" if shown else " hidden"
    whole = marked(text, para.start, o.spans)
    body = f'<p class="src-text">{whole}</p>'
    near = _around(text, para.start, [s for s in o.spans if s.selected])
    if near is not None:
        start, end = near
        cut = (
            ("…" if start > para.start else "")
            + marked(doc.text[start:end], start, o.spans)
            + ("…" if end < para.end else "")
        )
        body = (
            f'<p class="src-text src-whole">{whole}</p>'
            f'<p class="src-text src-near">{cut}</p>'
            f'<details class="src-more"><summary>展开整段</summary>'
            f'<p class="src-text">{whole}</p></details>'
        )
    return (
        f'<section class="src" data-key="{esc(o.key)}"{hidden}>'
        f'<p class="src-head">{esc(o.heading)}{tag}</p>'
        f"{crumbs(doc, para.section)}{body}</section>"
    )


NEAR_MIN_CHARS = 180  # paragraphs longer than this are cut around the quote on a phone


def _around(text: str, start: int, selected: Sequence[Span]) -> tuple[int, int] | None:
    """Offsets of the sentences around the selected span (one before, one after), or None when
    the paragraph is short enough to show whole."""
    if len(text) <= NEAR_MIN_CHARS or not selected:
        return None
    sentences = split_sentences(text, start)
    s, e = selected[0].start, selected[0].end
    first = next((i for i, (_, se) in enumerate(sentences) if se > s), 0)
    last = next((i for i, (ss, _) in reversed(list(enumerate(sentences))) if ss < e), first)
    lo, hi = max(first - 1, 0), min(last + 1, len(sentences) - 1)
    near = (sentences[lo][0], sentences[hi][1])
    return None if near == (start, start + len(text)) else near


SOURCE_HINT = (
    "提问后，这里显示回答所引用的原文段落，引用的句子会高亮。点回答里的 [1] [2] 可以切换。"
)
SOURCE_HINT_REFUSED = "报告中没有这个问题的答案。点回答里的“原文”，可以看最接近的段落。"


def source_empty(*, hidden: bool = False, hint: str = SOURCE_HINT) -> str:
    """What the source panel says when no paragraph is open."""
    attr = " hidden" if hidden else ""
    return f'<div class="src-empty"{attr}><p class="src-head">原文</p><p>{esc(hint)}</p></div>'


# ---------------------------------------------------------------------------------------------
# The report selector, 报告目录 and 目标一览

ALL_REPORTS = ""  # the selector's value for every report
ALL_REPORTS_ZH = "全部报告"


def report_choices(docs: Sequence[Document]) -> list[tuple[str, str]]:
    """The selector's (label, doc_id) pairs: 全部报告, then each report by its title (year),
    with its id when two labels would read the same. Gradio shows labels as text."""
    labels = [document_label(d) for d in docs]
    return [(ALL_REPORTS_ZH, ALL_REPORTS)] + [
        (label if labels.count(label) == 1 else f"{label} · {d.doc_id}", d.doc_id)
        for label, d in zip(labels, docs, strict=True)
    ]


def header(docs: Sequence[Document]) -> str:
    names = [" · ".join(filter(None, [d.metadata.get("city", ""), d.title])) for d in docs]
    shown = "、".join(esc(n) for n in names) or "（报告加载中）"
    return f'<header class="site-head"><h1>报告问答</h1><p class="site-doc">{shown}</p></header>'


def outline(doc: Document, nodes: Sequence[OutlineNode]) -> str:
    note = doc.metadata.get("source_note", "")
    head = f'<h2 class="toc-title">{esc(doc.title)}</h2>'
    if note:
        head += f'<p class="toc-note">{esc(note)}</p>'
    return f'<div class="toc">{head}{"".join(_node(doc, n, 0) for n in nodes)}</div>'


def _node(doc: Document, n: OutlineNode, depth: int) -> str:
    label = f"<summary>{esc(n.label)}</summary>"
    if n.children:
        body = "".join(_node(doc, c, depth + 1) for c in n.children)
        opened = " open" if depth == 0 else ""
        return f'<details class="toc-part toc-d{depth}"{opened}>{label}{body}</details>'
    text = esc(doc.text[n.start : n.end])
    return f'<details class="toc-leaf">{label}<p class="toc-text">{text}</p></details>'


FIGURES_INTRO = (
    '<p class="fig-intro">报告里每一个带数字的句子，标明是<b>已完成</b>的成绩还是'
    "<b>目标 · 计划</b>。点表头的 ⋮ 排序、筛选，用搜索框找词，点一行查看原文。</p>"
)
FIGURE_HEADERS = ["类型", "数字", "原文句子", "所在章节", "出处"]
FIGURE_KINDS = {"全部": None, **{v: k for k, v in KIND_ZH.items()}}
FIGURE_LINK = "查看原文 ›"


# the 类型 cell's colours (the table shows plain text; a pandas Styler adds only CSS)
KIND_CELL = {
    "achievement": "color: #116329; background-color: #dafbe1; font-weight: 600",
    "target": "color: #0a4fb8; background-color: #ddeaff; font-weight: 600",
    "other": "color: #57606a; background-color: #eaeef2",
}
_KIND_CELL_BY_LABEL = {KIND_ZH[k]: v for k, v in KIND_CELL.items()}


def figure_rows(figs: Sequence[FigureSentence]) -> list[list[str]]:
    """Rows of the 目标一览 table (plain strings: the table shows them as text)."""
    return [
        [KIND_ZH[f.kind], "、".join(f.figures), f.sentence, where(f.section), FIGURE_LINK]
        for f in figs
    ]


def figure_table(figs: Sequence[FigureSentence]) -> Styler:
    frame = pd.DataFrame(figure_rows(figs), columns=FIGURE_HEADERS)
    return frame.style.map(lambda v: _KIND_CELL_BY_LABEL.get(v, ""), subset=[FIGURE_HEADERS[0]])
