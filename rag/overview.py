"""Overviews of an indexed report: its table of contents, and every sentence with a figure.

Both are read from what ingestion and indexing already computed (paragraph section paths,
the index's sentences), with the answer layer's own grammar of figures
(:func:`rag.answer.figures.figures`) and tagger (:func:`rag.answer.sentence_kind`), so a
sentence is found and tagged here exactly as the answers find and tag it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .answer import sentence_kind
from .answer.figures import FigureKind, figures
from .chunking import sentence_key, split_sentences
from .types import Document, FigureSentence, OutlineNode

if TYPE_CHECKING:
    from .index import Index

LABEL_CHARS = 24  # a paragraph without a name is listed by its opening, cut to this length
# what counts as a figure for 目标一览: amounts, shares, multiples, ranks and dates; not a span
# of years (五年来, 今后五年), a rough standing (前列) or an ordinal (第十四届运动会)
TABLE_KINDS: frozenset[FigureKind] = frozenset(
    {"quantity", "money", "percent", "multiple", "rank", "date"}
)


@dataclass
class _Node:
    label: str
    section: tuple[str, ...]
    start: int
    end: int
    is_heading: bool
    children: list[_Node] = field(default_factory=list)

    def freeze(self) -> OutlineNode:
        # a section that holds a single paragraph and no heading of its own (a topic sentence
        # such as "建设区域综合交通枢纽", a lead-in such as "指导思想") is that paragraph
        if not self.is_heading and len(self.children) == 1 and not self.children[0].children:
            only = self.children[0]
            return OutlineNode(self.label, self.section, only.start, only.end, False)
        return OutlineNode(
            self.label,
            self.section,
            self.start,
            self.end,
            self.is_heading,
            tuple(c.freeze() for c in self.children),
        )


def opening(text: str, limit: int = LABEL_CHARS) -> str:
    """The first sentence of a paragraph, cut to ``limit`` characters (an entry's label)."""
    body = text.lstrip("—-– ")
    spans = split_sentences(body)
    first = body[: spans[0][1]] if spans else body
    first = first.rstrip("。！？；!?;:：,，")
    return first if len(first) <= limit else first[:limit] + "…"


def outline(doc: Document) -> tuple[OutlineNode, ...]:
    """The document's table of contents: its parts and numbered headings, each with the
    paragraphs under it; a paragraph is labelled by the section name it opens (its topic
    sentence) or, when it has none, by its opening words."""
    root = _Node("", (), 0, len(doc.text), True)
    nodes: dict[tuple[str, ...], _Node] = {(): root}

    def node_at(path: tuple[str, ...], start: int) -> _Node:
        if path not in nodes:
            parent = node_at(path[:-1], start)
            nodes[path] = _Node(path[-1], path, start, start, False)
            parent.children.append(nodes[path])
        return nodes[path]

    for p in doc.paragraphs:
        if not p.section:  # the document's own title line
            continue
        if p.is_heading:
            n = node_at(p.section, p.start)
            n.is_heading, n.start, n.end = True, p.start, p.end
        else:
            n = node_at(p.section, p.start)
            n.children.append(
                _Node(opening(doc.text[p.start : p.end]), p.section, p.start, p.end, False)
            )
        # every node on the path now reaches to the end of this paragraph
        for k in range(1, len(p.section) + 1):
            nodes[p.section[:k]].end = max(nodes[p.section[:k]].end, p.end)
    return tuple(c.freeze() for c in root.children)


def figure_sentences(index: Index, doc_id: str | None = None) -> list[FigureSentence]:
    """Every indexed sentence that states a figure (TABLE_KINDS), in document order, once each
    (a sentence the report repeats is listed once), tagged as a target, an achievement or
    other (:func:`rag.answer.sentence_kind`), with its figures as written."""
    out: list[FigureSentence] = []
    seen: set[tuple[str, str]] = set()
    s = index.sentences
    for ci, start, end in zip(s.chunk.tolist(), s.start.tolist(), s.end.tolist(), strict=True):
        chunk = index.chunks[ci]
        if doc_id is not None and chunk.doc_id != doc_id:
            continue
        text = index.documents[chunk.doc_id].text[start:end]
        key = (chunk.doc_id, sentence_key(text))
        found = [f.text.strip() for f in figures(text) if f.kind in TABLE_KINDS]
        if key in seen or not found:
            continue
        seen.add(key)
        out.append(
            FigureSentence(
                doc_id=chunk.doc_id,
                section=chunk.section,
                start=start,
                end=end,
                sentence=text,
                figures=tuple(dict.fromkeys(found)),
                kind=sentence_kind(text, chunk.section),
            )
        )
    return out
