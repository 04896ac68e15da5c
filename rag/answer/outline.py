"""A document's outline as a tree of points, for overviews and complete lists.

A *point* is a labelled stretch of the text: a heading (一、… / （一）…) with the paragraphs
under it, a paragraph opened by its topic sentence ("建设区域综合交通枢纽。…"), or a short
stand-alone sentence inside a paragraph that opens one of its parts ("民生保障扎实有力。…").
A point's children are the points directly inside it, in document order. Built from the
paragraphs and section paths that ingestion recovered; nothing here knows any one report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..chunking import split_sentences
from ..ingest import topic_of
from ..types import Document

SUBTOPIC_MAX = 16  # a stand-alone sentence this short, without commas, opens a part


@dataclass
class Point:
    label: str  # the heading or topic sentence, without its final 。
    start: int  # the label's span in the document text (a heading: the heading paragraph)
    end: int
    body_start: int  # the stretch of text the point covers, label included
    body_end: int
    depth: int
    is_heading: bool = False
    children: list[Point] = field(default_factory=list)

    def contains(self, start: int) -> bool:
        return self.body_start <= start < self.body_end

    def walk(self) -> list[Point]:
        """This point's descendants, in document order (outermost first)."""
        out: list[Point] = []
        for child in self.children:
            out += [child, *child.walk()]
        return out

    def path_to(self, start: int) -> list[Point]:
        """This point and its descendants that contain ``start``, outermost first."""
        if not self.contains(start):
            return []
        for child in self.children:
            sub = child.path_to(start)
            if sub:
                return [self, *sub]
        return [self]


def _is_subtopic(sentence: str) -> bool:
    s = sentence.strip()
    return (
        s.endswith("。")
        and 4 <= len(s) <= SUBTOPIC_MAX
        and not re.search(r"[,，、:：;；“”()（）\d]", s)
    )


def _subtopics(doc: Document, start: int, end: int, depth: int) -> list[Point]:
    """The parts of a paragraph opened by short stand-alone sentences (two or more)."""
    spans = split_sentences(doc.text[start:end], start)
    marks = [(s, e) for s, e in spans if _is_subtopic(doc.text[s:e])]
    if len(marks) < 2:
        return []
    out = []
    for i, (s, e) in enumerate(marks):
        body_end = marks[i + 1][0] if i + 1 < len(marks) else end
        label = doc.text[s:e].strip().rstrip("。")
        out.append(Point(label, s, e, s, body_end, depth))
    return out


def build_outline(doc: Document) -> Point:
    """The outline tree of ``doc`` (its root covers the whole text)."""
    root = Point(doc.title or doc.doc_id, 0, 0, 0, len(doc.text), 0, is_heading=True)
    stack: list[tuple[tuple[str, ...], Point]] = [((), root)]
    for p in doc.paragraphs:
        if not p.section:
            continue
        if p.is_heading:
            while len(stack) > 1 and len(stack[-1][0]) >= len(p.section):
                stack.pop()
            label = doc.text[p.start : p.end].strip()
            node = Point(label, p.start, p.end, p.start, p.end, len(p.section), is_heading=True)
            stack[-1][1].children.append(node)
            stack.append((p.section, node))
            continue
        # a body paragraph: close the headings it is not under
        while len(stack) > 1 and p.section[: len(stack[-1][0])] != stack[-1][0]:
            stack.pop()
        text = doc.text[p.start : p.end]
        topic = topic_of(text)
        own = p.section[:-1] if topic and topic == p.section[-1] else p.section
        # a section named by a lead-in or an opening label has no heading paragraph of its own
        for depth in range(len(stack[-1][0]) + 1, len(own) + 1):
            label = own[depth - 1]
            node = Point(label, p.start, p.start, p.start, p.end, depth, is_heading=True)
            stack[-1][1].children.append(node)
            stack.append((own[:depth], node))
        parent = stack[-1][1]
        if topic and p.section and topic == p.section[-1]:
            s = doc.text.index(topic, p.start)
            node = Point(topic, s, s + len(topic) + 1, p.start, p.end, parent.depth + 1)
            node.children = _subtopics(doc, node.end, p.end, node.depth + 1)
            parent.children.append(node)
        else:
            subs = _subtopics(doc, p.start, p.end, parent.depth + 2)
            lead_end = split_sentences(text, p.start)[0][1] if text else p.start
            if subs and subs[0].start >= lead_end:
                # a paragraph whose opening sentence announces its parts ("五年来,…自身建设取得
                # 新成效。政治建设全面加强。…") is a point of its own
                lead = doc.text[p.start : lead_end].strip().rstrip("。")
                node = Point(lead, p.start, lead_end, p.start, p.end, parent.depth + 1)
                node.children = subs
                parent.children.append(node)
            else:
                for sub in subs:
                    sub.depth -= 1
                parent.children.extend(subs)
        for _, open_node in stack:  # the headings above it cover this paragraph too
            open_node.body_end = max(open_node.body_end, p.end)
    return root
